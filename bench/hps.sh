#!/usr/bin/env bash
# HPS clearances (issue 5) load test on PostgreSQL: 50,000 requests across
# 200 teams of 50 (cmd/benchseed -data hps), thot fresh per endpoint, hey
# at c=50 as the three reading scopes — a member (own requests), a team
# lead (the team's, by membership) and an administrator (all).
#
#   bench/hps.sh
#
# Environment: as bench/custody.sh (PG_URL, PORT, DURATION, WARMUP, KEEP_DB).
# Output: bench/results/hps-<UTC timestamp>/summary.md.
set -euo pipefail
suite=hps
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

seed -data hps
# The seeded users of team 1: its lead and a member (see benchseed/hps.go).
lead=hps-1000000@bench.example.org
member=hps-1000001@bench.example.org
password="Bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$password" | "$thot" user create --email bench@example.org --superuser --password-stdin >/dev/null
for u in "$lead" "$member"; do
	printf '%s\n' "$password" | "$thot" user set-password --password-stdin "$u" >/dev/null
done
start_thot
admin_token="$(login bench@example.org "$password")"
lead_token="$(login "$lead" "$password")"
member_token="$(login "$member" "$password")"
[[ -n "$admin_token" && -n "$lead_token" && -n "$member_token" ]] || die "no token"
# One request of the lead's team, for the single read.
one="$(curl -fsS -H "Authorization: Bearer $lead_token" "http://127.0.0.1:$port/api/hps/requests/?page=1&page_size=1" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["id"])')"
stop_thot

begin_summary "HPS load test"
echo "== load"
token=$member_token timed "/api/hps/requests/" "list, own (member): \`/api/hps/requests/\`"
token=$lead_token timed "/api/hps/requests/?page=1&page_size=50" "list, team (lead): \`/api/hps/requests/?page=1&page_size=50\`"
token=$admin_token timed "/api/hps/requests/?page=1&page_size=50" "list, all (admin): \`/api/hps/requests/?page=1&page_size=50\`"
token=$admin_token timed "/api/v1/hps/?page=1&per_page=50" "list, all (admin), FastAPI: \`/api/v1/hps/?page=1&per_page=50\`"
token=$member_token timed "/api/hps/requests/stats/" "stats, own (member)"
token=$lead_token timed "/api/hps/requests/stats/" "stats, team (lead)"
token=$admin_token timed "/api/hps/requests/stats/" "stats, all (admin)"
token=$lead_token timed "/api/hps/requests/$one/" "single read (lead): \`/api/hps/requests/{id}/\`"
end_summary

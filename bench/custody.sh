#!/usr/bin/env bash
# Custody (issue 4) load test on PostgreSQL with the legacy baseline's data
# set: seeds a throwaway database, starts thot on it, logs in, and loads
# the custody read endpoints with hey. See bench/README.md and
# ../shared/spec/legacy-baseline.md (same method: fresh server per
# endpoint, warm-up, timed run, peak RSS = the server's VmHWM).
#
#   bench/custody.sh
#
# Environment:
#   PG_URL    PostgreSQL server to create the throwaway database on, loopback
#             only (default postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)
#   PORT      thot's port on 127.0.0.1 (default 18090)
#   DURATION  timed run per endpoint for the c=50 endpoints (default 20s)
#   WARMUP    warm-up per endpoint (default 3s)
#   FULL_N    requests of the full-inventory run at c=10 (default 100)
#   KEEP_DB   1 to keep the database afterwards (its name is printed)
#
# Output: bench/results/custody-<UTC timestamp>/summary.md (printed at the
# end) plus load.sh's and hey's reports per endpoint.
set -euo pipefail
suite=custody
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

seed -data custody
password="Bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$password" | "$thot" user create --email bench@example.org --superuser --password-stdin >/dev/null
start_thot
token="$(login bench@example.org "$password")"
[[ -n "$token" ]] || die "no token"
stop_thot

begin_summary "custody load test"
echo "== load"
timed /api/inventario/resumen/
timed "/api/inventario/?codigo_producto=CT-00042"
timed /api/albaranes/2500/
timed /api/albaranes/2500/movimientos/
fixed /api/inventario/ 1 20
fixed /api/inventario/ 10 "$full_n"
end_summary

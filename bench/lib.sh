# Shared by the PostgreSQL load scripts (custody.sh, hps.sh): a throwaway
# database, the build, a fresh thot per endpoint, hey runs and the summary
# table. Source it after setting `suite` (used in names); see README.md.
# shellcheck shell=bash

die() {
	echo "${suite}.sh: $*" >&2
	exit 2
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
pg_url="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
port="${PORT:-18090}"
duration="${DURATION:-20s}"
warmup="${WARMUP:-3s}"
full_n="${FULL_N:-100}"

[[ "$port" =~ ^[0-9]+$ && "$port" -ge 1024 && "$port" -le 65535 ]] || die "PORT must be 1024..65535"
[[ "$full_n" =~ ^[0-9]+$ && "$full_n" -ge 10 && "$full_n" -le 2000 ]] || die "FULL_N must be 10..2000"
[[ "$pg_url" =~ ^postgres(ql)?://([^@/]*@)?(127\.[0-9]+\.[0-9]+\.[0-9]+|localhost|\[::1\])(:[0-9]+)?/ ]] ||
	die "PG_URL must point at a PostgreSQL server on this machine (127.0.0.1, localhost or [::1])"
for tool in psql go curl hey python3; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is needed"
done

unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY='*' no_proxy='*'

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
out="$here/results/${suite}-$stamp"
mkdir -p "$out"
dbname="thot_${suite}_bench_$(date -u +%Y%m%d%H%M%S)_$$"
base="${pg_url%%\?*}"
base="${base%/*}"
query=""
[[ "$pg_url" == *\?* ]] && query="?${pg_url#*\?}"
db_url="$base/$dbname$query"
data="$(mktemp -d)"
thot_pid=""

stop_thot() {
	if [[ -n "$thot_pid" ]]; then
		kill -INT "$thot_pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$thot_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$thot_pid" 2>/dev/null || true
		wait "$thot_pid" 2>/dev/null || true
		thot_pid=""
	fi
}
cleanup() {
	stop_thot
	if [[ "${KEEP_DB:-}" != 1 ]]; then
		psql -X -q -w "$pg_url" -c "DROP DATABASE IF EXISTS $dbname" >/dev/null 2>&1 || true
	else
		echo "kept database $dbname"
	fi
	rm -rf "$data"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== database $dbname"
psql -X -q -w "$pg_url" -c "CREATE DATABASE $dbname" >/dev/null

echo "== build"
(cd "$root" && make -s build)
thot="$root/bin/thot"

seed() { # seed ARGS…: migrate and load a data set with cmd/benchseed
	echo "== seed (migrations + data set)"
	(cd "$root" && go run ./internal/benchseed/cmd/benchseed -url "$db_url" "$@") | tee -a "$out/seed.txt"
}

secret="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export THOT_DATABASE_URL="$db_url" THOT_DATA_DIR="$data" THOT_SECRET_KEY="$secret" THOT_ADDR="127.0.0.1:$port" THOT_LOG_LEVEL=warn
start_thot() {
	"$thot" serve >>"$out/thot.log" 2>&1 &
	thot_pid=$!
	for _ in $(seq 100); do
		if curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null; then
			return 0
		fi
		kill -0 "$thot_pid" 2>/dev/null || die "thot exited (see $out/thot.log)"
		sleep 0.1
	done
	die "thot did not become ready (see $out/thot.log)"
}

hwm_kb() { awk '$1 == "VmHWM:" {print $2}' "/proc/$1/status" 2>/dev/null || true; }

# login EMAIL PASSWORD: prints an access token (thot must be running).
login() {
	curl -fsS -H 'Content-Type: application/json' -d "{\"username\":\"$1\",\"password\":\"$2\"}" \
		"http://127.0.0.1:$port/api/token/" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access"])'
}

# begin_summary TITLE: starts $out/summary.md.
begin_summary() {
	summary="$out/summary.md"
	{
		echo "# $1, $stamp"
		echo
		echo "PostgreSQL $(psql -X -w -At "$pg_url" -c 'SHOW server_version'), $(nproc) cores, hey $(dpkg-query -W -f '${Version}' hey 2>/dev/null || echo '?'), git $(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo '?')"
		echo "data: $(cat "$out/seed.txt")"
		echo
		echo "| endpoint | c | req/s | p50 ms | p99 ms | 2xx | other | errors | bytes/response | peak RSS (VmHWM) |"
		echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	} >"$summary"
}

# end_summary: notes and prints the summary.
end_summary() {
	{
		echo
		echo "hey asks for gzip (Go's default): bodies of 4 KiB or more are compressed by thot; bytes/response is the uncompressed size (curl)."
		echo "Full reports: $out"
	} >>"$summary"
	echo
	cat "$summary"
}

# A fresh server per endpoint, as the baseline did, so VmHWM is that run's peak.
# timed PATH [LABEL]: a timed c=50 run with the bearer $token.
timed() {
	local path="$1" label="${2:-\`$1\`}" dir
	start_thot
	local bytes
	bytes="$(curl -sS -o /dev/null -w "%{size_download} (%{http_code})" -H "Authorization: Bearer $token" "http://127.0.0.1:$port$path" || echo -)"
	THOT_URL="http://127.0.0.1:$port" TOKEN="$token" C=50 DURATION="$duration" WARMUP="$warmup" \
		"$here/load.sh" "$path" >"$out/load.txt" 2>&1 || { cat "$out/load.txt"; die "load.sh failed for $path"; }
	dir="$(awk '$1 == "results:" {print $2}' "$out/load.txt")"
	local row
	row="$(grep -F "| $path |" "$dir/summary.md" | head -1)"
	IFS='|' read -r _ _ rps p50 p99 ok other errs _ <<<"$row"
	printf '| %s | 50 | %s | %s | %s | %s | %s | %s | %s | %s MB |\n' "$label" "${rps// /}" "${p50// /}" "${p99// /}" "${ok// /}" "${other// /}" "${errs// /}" \
		"$bytes" "$(awk -v k="$(hwm_kb "$thot_pid")" 'BEGIN {printf "%.1f", k / 1024}')" >>"$summary"
	cp -r "$dir" "$out/$(printf '%s' "$label" | tr -c 'A-Za-z0-9._-' '_')"
	rm -rf "$dir"
	stop_thot
}

fixed() { # fixed PATH C N: a fixed number of requests (the full list is too big for a timed window)
	local path="$1" c="$2" n="$3" report
	report="$out/full_c${c}.txt"
	start_thot
	local bytes
	bytes="$(curl -sS -o /dev/null -w "%{size_download} (%{http_code})" -H "Authorization: Bearer $token" "http://127.0.0.1:$port$path" || echo -)"
	timeout 900 hey -disable-redirects -n "$n" -c "$c" -t 120 -H "Authorization: Bearer $token" "http://127.0.0.1:$port$path" >"$report" 2>&1
	local rps p50 p99 ok other
	rps="$(awk '$1 == "Requests/sec:" {printf "%.2f", $2}' "$report")"
	p50="$(awk '($1 == "50%" || $1 == "50%%") && $2 == "in" {printf "%.2f", $3 * 1000}' "$report")"
	p99="$(awk '($1 == "99%" || $1 == "99%%") && $2 == "in" {printf "%.2f", $3 * 1000}' "$report")"
	[[ -n "$p99" ]] || p99="max $(awk '$1 == "Slowest:" {printf "%.2f", $2 * 1000}' "$report")"
	ok="$(awk '/^Status code distribution:/ {s = 1; next} s && /^ *\[2[0-9][0-9]\]/ {n += $2} END {print n + 0}' "$report")"
	other="$(awk '/^Status code distribution:/ {s = 1; next} s && /^ *\[[0-9]+\]/ && !/^ *\[2[0-9][0-9]\]/ {n += $2} END {print n + 0}' "$report")"
	printf '| `%s` (n=%s) | %s | %s | %s | %s | %s | %s | - | %s | %s MB |\n' "$path" "$n" "$c" "$rps" "$p50" "$p99" "$ok" "$other" "$bytes" \
		"$(awk -v k="$(hwm_kb "$thot_pid")" 'BEGIN {printf "%.1f", k / 1024}')" >>"$summary"
	stop_thot
}


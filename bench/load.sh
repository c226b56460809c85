#!/usr/bin/env bash
# HTTP load test of a thot server running on this machine. See bench/README.md.
#
#   bench/load.sh [PATH...]        default paths: /healthz /readyz
#
# Environment:
#   THOT_URL   base URL, loopback only (default http://127.0.0.1:8080)
#   TOKEN      optional bearer token (sent as "Authorization: Bearer ...")
#   PATHS      space-separated paths, used when no PATH argument is given
#   C          concurrent workers (default 50, 1..1000)
#   DURATION   measured time per path, e.g. 20s or 1m (default 20s, at most 10m)
#   WARMUP     warm-up per path before measuring (default 3s, at most 1m)
#   THOT_PID   server pid: sample its RSS and report its peak (VmHWM)
#
# Output: bench/results/<UTC timestamp>/ with one hey report per path,
# meta.txt, summary.md (printed at the end) and rss.tsv when THOT_PID is set.
set -euo pipefail

die() {
	echo "load.sh: $*" >&2
	exit 2
}

url="${THOT_URL:-http://127.0.0.1:8080}"
url="${url%/}"
conc="${C:-50}"
duration="${DURATION:-20s}"
warmup="${WARMUP:-3s}"
pid="${THOT_PID:-}"
token="${TOKEN:-}"

if (($#)); then
	paths=("$@")
else
	read -r -a paths <<<"${PATHS:-/healthz /readyz}"
fi
((${#paths[@]})) || die "no paths to load"

# --- checks: everything is bounded and stays on this machine -----------------

# seconds DURATION: "20s", "1m", "90" -> whole seconds, or empty if unparsable.
seconds() {
	local d="$1"
	if [[ "$d" =~ ^([0-9]+)s?$ ]]; then
		echo "${BASH_REMATCH[1]}"
	elif [[ "$d" =~ ^([0-9]+)m$ ]]; then
		echo $((BASH_REMATCH[1] * 60))
	fi
}

dur_s="$(seconds "$duration")"
[[ -n "$dur_s" && "$dur_s" -ge 1 && "$dur_s" -le 600 ]] ||
	die "DURATION must be 1s..10m (like 20s or 2m), got '$duration'"
warm_s="$(seconds "$warmup")"
[[ -n "$warm_s" && "$warm_s" -le 60 ]] || die "WARMUP must be 0s..1m, got '$warmup'"
[[ "$conc" =~ ^[0-9]+$ && "$conc" -ge 1 && "$conc" -le 1000 ]] ||
	die "C must be a whole number 1..1000, got '$conc'"
((${#paths[@]} <= 50)) || die "at most 50 paths per run"

# Loopback only: 127.0.0.0/8, localhost or [::1].
[[ "$url" =~ ^https?://([^/?#]*)(/[^?#]*)?$ ]] || die "THOT_URL must look like http://127.0.0.1:8080[/prefix], got '$url'"
authority="${BASH_REMATCH[1]}"
[[ "$authority" != *@* ]] || die "THOT_URL must not contain user info"
if [[ "$authority" =~ ^\[([^]]+)\](:[0-9]+)?$ ]]; then
	host="[${BASH_REMATCH[1]}]"
elif [[ "$authority" =~ ^([^:]+)(:[0-9]+)?$ ]]; then
	host="${BASH_REMATCH[1]}"
else
	die "cannot read the host of THOT_URL '$url'"
fi
host="${host,,}"
loopback=0
case "$host" in
localhost | "[::1]") loopback=1 ;;
*)
	if [[ "$host" =~ ^127\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] &&
		((10#${BASH_REMATCH[1]} <= 255 && 10#${BASH_REMATCH[2]} <= 255 && 10#${BASH_REMATCH[3]} <= 255)); then
		loopback=1
	fi
	;;
esac
((loopback)) || die "refusing non-loopback host '$host': only 127.0.0.0/8, localhost and [::1] may be loaded"

for p in "${paths[@]}"; do
	[[ "$p" == /* && "$p" != *[[:space:]]* ]] || die "each path must start with / and have no spaces, got '$p'"
done

if [[ -n "$pid" ]]; then
	[[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/status" ]] || die "THOT_PID=$pid is not a running process"
fi

# --- tools ---------------------------------------------------------------------
if ! command -v hey >/dev/null 2>&1; then
	[[ $(id -u) -eq 0 ]] || die "hey is not installed (Debian package 'hey'); install it or run as root"
	echo "installing hey (Debian package)"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends hey </dev/null
fi
command -v curl >/dev/null 2>&1 || die "curl is needed for the pre-flight check"

# No proxy may take the requests elsewhere.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY='*' no_proxy='*'

headers=()
curl_auth=()
if [[ -n "$token" ]]; then
	headers=(-H "Authorization: Bearer $token")
	curl_auth=(-H "Authorization: Bearer $token")
fi

# --- run -----------------------------------------------------------------------
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
out="$here/results/$stamp"
mkdir -p "$out"

sampler=""
stop_sampler() {
	if [[ -n "$sampler" ]]; then
		kill "$sampler" 2>/dev/null || true
		wait "$sampler" 2>/dev/null || true
		sampler=""
	fi
}
trap stop_sampler EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

status_kb() { # status_kb PID FIELD -> kB value or empty
	awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null || true
}

if [[ -n "$pid" ]]; then
	printf 'unix_ms\tvmrss_kb\n' >"$out/rss.tsv"
	# Bounded: stops with the script, or after warm-up + runs + a margin.
	limit=$(((warm_s + dur_s + 40) * ${#paths[@]} * 2))
	(
		end=$((SECONDS + limit))
		while ((SECONDS < end)) && [[ -r "/proc/$pid/status" ]]; do
			printf '%s\t%s\n' "$(date +%s%3N)" "$(status_kb "$pid" VmRSS)" >>"$out/rss.tsv"
			sleep 0.5
		done
	) &
	sampler=$!
fi

{
	echo "date:      $stamp"
	echo "url:       $url"
	echo "paths:     ${paths[*]}"
	echo "C:         $conc"
	echo "duration:  ${dur_s}s (warm-up ${warm_s}s)"
	echo "token:     $([[ -n "$token" ]] && echo yes || echo no)"
	echo "thot_pid:  ${pid:-none}"
	echo "hey:       $(dpkg-query -W -f '${Version}' hey 2>/dev/null || echo '?')"
	echo "cpus:      $(nproc)"
	echo "kernel:    $(uname -sr)"
	echo "git:       $(git -C "$here" describe --tags --always --dirty 2>/dev/null || echo '?')"
	if [[ -n "$pid" ]]; then
		echo "rss_start: $(status_kb "$pid" VmRSS) kB"
		echo "hwm_start: $(status_kb "$pid" VmHWM) kB"
	fi
} | tee "$out/meta.txt"

# ms SECONDS_AS_TEXT -> milliseconds with 2 decimals
ms() { awk -v s="$1" 'BEGIN { if (s == "") print "-"; else printf "%.2f", s * 1000 }'; }

summary="$out/summary.md"
{
	echo "| path | req/s | p50 ms | p99 ms | 2xx | other status | errors |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
} >"$summary"

failed=0
for p in "${paths[@]}"; do
	target="$url$p"
	name="$(printf '%s' "$p" | tr -c 'A-Za-z0-9._-' '_' | sed 's/^_*//')"
	report="$out/${name:-root}.txt"

	code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${curl_auth[@]}" "$target" || true)"
	echo
	echo "== $p (pre-flight status $code)"
	if ((warm_s > 0)); then
		timeout $((warm_s + 30)) hey -disable-redirects -z "${warm_s}s" -c "$conc" "${headers[@]}" "$target" >/dev/null 2>&1 || true
	fi
	if ! timeout $((dur_s + 60)) hey -disable-redirects -z "${dur_s}s" -c "$conc" "${headers[@]}" "$target" >"$report" 2>&1; then
		echo "hey failed for $p (see $report)" >&2
		failed=1
	fi

	rps="$(awk '$1 == "Requests/sec:" {printf "%.1f", $2}' "$report")"
	p50="$(awk '($1 == "50%" || $1 == "50%%") && $2 == "in" {print $3}' "$report")"
	p99="$(awk '($1 == "99%" || $1 == "99%%") && $2 == "in" {print $3}' "$report")"
	ok2xx="$(awk '/^Status code distribution:/ {s = 1; next} s && /^ *\[2[0-9][0-9]\]/ {n += $2} s && /^$/ {s = 0} END {print n + 0}' "$report")"
	other="$(awk '/^Status code distribution:/ {s = 1; next} s && /^ *\[[0-9]+\]/ && !/^ *\[2[0-9][0-9]\]/ {n += $2} s && /^$/ {s = 0} END {print n + 0}' "$report")"
	errs="$(awk '/^Error distribution:/ {s = 1; next} s && /^ *\[[0-9]+\]/ {n += substr($1, 2, length($1) - 2)} END {print n + 0}' "$report")"
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$p" "${rps:--}" "$(ms "$p50")" "$(ms "$p99")" "$ok2xx" "$other" "$errs" >>"$summary"
	echo "req/s ${rps:--}  p50 $(ms "$p50") ms  p99 $(ms "$p99") ms  2xx $ok2xx  other $other  errors $errs"
done

stop_sampler
if [[ -n "$pid" ]]; then
	{
		echo
		if [[ -r "/proc/$pid/status" ]]; then
			echo "server pid $pid: peak RSS (VmHWM, since the process started) $(status_kb "$pid" VmHWM) kB;" \
				"RSS now $(status_kb "$pid" VmRSS) kB;" \
				"highest sampled RSS during this run $(awk 'NR > 1 && $2 > m {m = $2} END {print m + 0}' "$out/rss.tsv") kB"
		else
			echo "server pid $pid exited during the run"
			failed=1
		fi
	} >>"$summary"
fi

echo
echo "results: $out"
echo
cat "$summary"
exit "$failed"

#!/usr/bin/env bash
# Side-by-side throughput of bloomgate and nginx (plain keep-alive proxy_pass) in front of the
# same nginx `return 200` backend, driven by the same load generator (wrk), interleaved,
# REPS repetitions. The target runs on TARGET_CPU, the load generator and the backend on
# LOAD_CPU. Prints a Markdown table; writes it to perf/results/DATE-compare.md.
#
#   perf/compare.sh [--seconds 10] [--connections 64] [--reps 3]
#
# Needs: nginx and wrk (Debian packages: apt-get install nginx-light wrk), a release build.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=10 CONNECTIONS=64 REPS=3 TARGET_CPU=0 LOAD_CPU=1
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_PER_RUN=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds N] [--connections N] [--reps N]" >&2; exit 2 ;;
  esac
done
for tool in nginx wrk; do
  command -v "$tool" >/dev/null || { echo "compare.sh: $tool is missing (apt-get install nginx-light wrk)" >&2; exit 2; }
done

DIR=$(mktemp -d /tmp/bloomgate-compare.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; return 1; }

cargo build --release -q -p proxy
BACKEND=$(free_port) NGINX=$(free_port) BLOOMGATE=$(free_port)
sed "s|@PORT@|$BACKEND|; s|@DIR@|$DIR|g" perf/peers/nginx-backend.conf > "$DIR/backend.conf"
CPUMASK=$(python3 -c "print(bin(1 << $TARGET_CPU)[2:])")
sed "s|@PORT@|$NGINX|; s|@BACKEND@|$BACKEND|; s|@DIR@|$DIR|g; s|@CPUMASK@|$CPUMASK|" perf/peers/nginx-proxy.conf > "$DIR/proxy.conf"
cat > "$DIR/bloomgate.json" <<JSON
{"version": 3, "port": $BLOOMGATE, "listen_ip": "127.0.0.1", "timeout": "5s",
 "extra_config": {"router": {"disable_access_log": true}},
 "endpoints": [{"endpoint": "/", "backend": [{"host": ["http://127.0.0.1:$BACKEND"], "url_pattern": "/"}]}]}
JSON
taskset -c "$LOAD_CPU" nginx -c "$DIR/backend.conf" -p "$DIR" & PIDS+=($!)
nginx -c "$DIR/proxy.conf" -p "$DIR" & PIDS+=($!)
taskset -c "$TARGET_CPU,$LOAD_CPU" target/release/bloomgate run -c "$DIR/bloomgate.json" --cores 1 2>"$DIR/bloomgate.log" & PIDS+=($!)
wait_port "$BACKEND"; wait_port "$NGINX"; wait_port "$BLOOMGATE"

for port in "$NGINX" "$BLOOMGATE"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")
  [ "$code" = 200 ] || { echo "target on $port answered $code, not 200" >&2; exit 1; }
done

run() { # name port -> "rps p50 p99 p999" (ms)
  taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency "http://127.0.0.1:$2/" > "$DIR/$1.wrk"
  awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {print rps, p50, p99}' "$DIR/$1.wrk"
}
cpu_of() { ps -o cputimes= -p "$1" | tr -d ' '; }

declare -A RPS P50 P99
for rep in $(seq "$REPS"); do
  for target in nginx bloomgate; do
    port=$([ "$target" = nginx ] && echo "$NGINX" || echo "$BLOOMGATE")
    read -r rps p50 p99 < <(run "$target" "$port")
    RPS[$target]+="$rps "; P50[$target]+="$p50 "; P99[$target]+="$p99 "
    echo "rep $rep $target: $rps req/s, p50 $p50, p99 $p99" >&2
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
spread() { tr ' ' '\n' | grep -v '^$' | sort -g | awk 'NR==1{min=$1} {max=$1} END {print min "–" max}'; }
OUT="perf/results/$(date +%F)-compare.md"
{
  echo "# bloomgate vs nginx proxy_pass — $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)"
  echo
  echo "Command: \`perf/compare.sh --seconds $SECONDS_PER_RUN --connections $CONNECTIONS --reps $REPS\`"
  echo "Target on CPU $TARGET_CPU (bloomgate: 1 data core), wrk and the nginx backend on CPU $LOAD_CPU; $(nproc) CPUs, $(uname -r)."
  echo
  echo "| target | requests/s (median) | spread | p50 | p99 |"
  echo "|---|---|---|---|---|"
  for target in nginx bloomgate; do
    echo "| $target | $(echo "${RPS[$target]}" | median) | $(echo "${RPS[$target]}" | spread) | $(echo "${P50[$target]}" | median) | $(echo "${P99[$target]}" | median) |"
  done
  n=$(echo "${RPS[nginx]}" | median); b=$(echo "${RPS[bloomgate]}" | median)
  echo
  echo "Ratio bloomgate / nginx (medians): $(awk -v b="$b" -v n="$n" 'BEGIN {printf "%.2f", b/n}')"
} | tee "$OUT"

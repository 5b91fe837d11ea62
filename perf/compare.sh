#!/usr/bin/env bash
# Gateways side by side, in front of the same nginx `return 200` backend:
#
#   nginx      keep-alive proxy_pass, no auth: the ceiling   (perf/peers/nginx-proxy.conf)
#   haproxy    HAProxy 2.6: Bearer token, alg HS256, jwt_verify, exp, jti in a 1M-entry map
#                                                             (perf/peers/haproxy-jwt.cfg)
#   bloomgate  one data core, HS256 + exp + jti in its filter holding the same 1M revocations
#                                                             (perf/peers/bloomgate-bench.json)
#
# Before anything is timed each target must answer right: nginx 200; the JWT gateways a valid
# token 200 and a revoked, expired, bad-signature or missing token 401 (curl, then a short
# loadtest run checking every answer). Then each target is driven by `loadtest` (closed loop,
# valid HS256 tokens, 1000 distinct per core, 1 s warm-up) and by `wrk` (one fixed valid token
# in a header), interleaved, REPS times. Targets run on TARGET_CPU (bloomgate: `--cores 1`, its
# idle admin core lands on the other CPU), the load generator and the backend on LOAD_CPU.
# CPU seconds are the target's user+system time from /proc over the measured window.
# Prints a Markdown table; writes it to perf/results/DATE-compare[-hello].md (...-ab-TIME.md for
# a run with --baseline or --only).
#
#   perf/compare.sh [--seconds 10] [--connections 64] [--reps 3] [--revocations 1000000]
#                   [--baseline BIN] [--only nginx,haproxy,bloomgate,baseline]
#                   [--backend nginx|hello] [--rate R]
#
# --baseline BIN adds a fourth target, `baseline`: another bloomgate binary (an earlier build)
# served and checked the same way, interleaved with the others, for an A/B in one run.
# --only keeps the named targets (default: all).
# --rate R drives every target open loop at R requests/s with loadtest alone (wrk cannot hold
# a rate): latency at the same offered load, where the load CPU is as busy for every target.
# --backend hello serves with loadtest's `hello_server` example (one `event` loop, `200 ok`)
# instead of nginx `return 200`: it costs the shared load CPU less per request, so that CPU
# saturates later (with nginx as the backend, wrk and the backend keep it 100% busy while
# bloomgate's CPU is still 4% idle).
#
# Needs: nginx, haproxy (2.6+), wrk, curl, python3 (apt-get install nginx-light haproxy wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
source perf/bench-lib.sh

SECONDS_PER_RUN=10 CONNECTIONS=64 REPS=3 REVOCATIONS=1000000 TARGET_CPU=0 LOAD_CPU=1 WARMUP=1
BASELINE_BIN="" ONLY= BACKEND=nginx RATE=
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_PER_RUN=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --revocations) REVOCATIONS=$2; shift 2 ;;
    --baseline) BASELINE_BIN=$(realpath "$2"); shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --backend) BACKEND=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds N] [--connections N] [--reps N] [--revocations N] [--baseline BIN] [--only T,T] [--backend nginx|hello] [--rate R]" >&2; exit 2 ;;
  esac
done
for tool in nginx haproxy wrk curl python3 taskset; do
  command -v "$tool" >/dev/null || { echo "compare.sh: $tool is missing (apt-get install nginx-light haproxy wrk curl)" >&2; exit 2; }
done

DIR=$(mktemp -d /tmp/bloomgate-compare.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cargo build --release -q --locked -p proxy --bin bloomgate
cargo build --release -q --locked -p loadtest --bin loadtest --example hello_server
case "$BACKEND" in nginx|hello) ;; *) echo "--backend: nginx or hello" >&2; exit 2 ;; esac
BLOOMGATE_BIN=$TARGET_DIR/release/bloomgate
LOADTEST=$TARGET_DIR/release/loadtest
CLK_TCK=$(getconf CLK_TCK)

echo "generating $REVOCATIONS revoked jtis" >&2
gen_revocations "$REVOCATIONS"
start_backend "$LOAD_CPU" "$BACKEND"

# nginx, plain proxy_pass.
NGINX_PORT=$(free_port)
CPUMASK=$(python3 -c "print(bin(1 << $TARGET_CPU)[2:])")
sed "s|@PORT@|$NGINX_PORT|; s|@BACKEND@|$BACKEND_PORT|; s|@DIR@|$DIR|g; s|@CPUMASK@|$CPUMASK|" \
  perf/peers/nginx-proxy.conf > "$DIR/proxy.conf"
taskset -c "$TARGET_CPU" nginx -c "$DIR/proxy.conf" -p "$DIR" &
NGINX_PID=$!; PIDS+=("$NGINX_PID")
# HAProxy with the revoked map.
HAPROXY_PORT=$(free_port)
sed "s|@PORT@|$HAPROXY_PORT|; s|@BACKEND@|$BACKEND_PORT|; s|@DIR@|$DIR|g" \
  perf/peers/haproxy-jwt.cfg > "$DIR/haproxy.cfg"
haproxy -c -q -f "$DIR/haproxy.cfg"
taskset -c "$TARGET_CPU" haproxy -db -f "$DIR/haproxy.cfg" 2>"$DIR/haproxy.log" &
HAPROXY_PID=$!; PIDS+=("$HAPROXY_PID")
# bloomgate with the bench config, the same revocations through its RPC port.
start_bench_gateway "$BLOOMGATE_BIN" "$TARGET_CPU,$LOAD_CPU"
wait_port "$NGINX_PORT" "$NGINX_PID"; wait_port "$HAPROXY_PORT" "$HAPROXY_PID"

TARGETS=(nginx haproxy bloomgate)
declare -A PORT=([nginx]=$NGINX_PORT [haproxy]=$HAPROXY_PORT [bloomgate]=$GATEWAY_PORT)
declare -A PID=([nginx]=$NGINX_PID [haproxy]=$HAPROXY_PID [bloomgate]=$BLOOMGATE_PID)
if [ -n "$BASELINE_BIN" ]; then
  start_bench_gateway "$BASELINE_BIN" "$TARGET_CPU,$LOAD_CPU"
  TARGETS+=(baseline) PORT[baseline]=$GATEWAY_PORT PID[baseline]=$BLOOMGATE_PID
fi
if [ -n "$ONLY" ]; then
  KEPT=()
  for target in "${TARGETS[@]}"; do [[ ",$ONLY," == *",$target,"* ]] && KEPT+=("$target"); done
  TARGETS=("${KEPT[@]}")
fi
URL() { echo "http://127.0.0.1:${PORT[$1]}$BENCH_PATH"; }
TOKEN_FLAGS=(--jwt-alg HS256 --jwt-key "jwk:$BENCH_JWK" --claims "$BENCH_CLAIMS")

# The answers, checked before anything is timed.
expect "nginx (no token)" "$NGINX_PORT" 200
expect "nginx (valid token)" "$NGINX_PORT" 200 "$(mint valid)"
echo "check: nginx answers 200" >&2
check_jwt_gateway haproxy "$HAPROXY_PORT"
check_jwt_gateway bloomgate "${PORT[bloomgate]}"
[ -z "$BASELINE_BIN" ] || check_jwt_gateway baseline "${PORT[baseline]}"
for target in haproxy bloomgate ${BASELINE_BIN:+baseline}; do
  timeout 60 "$LOADTEST" --cpus "$LOAD_CPU" -c 4 -n 400 --tokens 50 "${TOKEN_FLAGS[@]}" \
    --mix valid=1,expired=1,badsig=1,none=1 "$(URL "$target")" > "$DIR/check-$target.txt" \
    || { cat "$DIR/check-$target.txt" >&2; echo "check failed: $target, loadtest's mix" >&2; exit 1; }
done
echo "check: loadtest's valid/expired/badsig/none tokens get 200/401/401/401 from haproxy and bloomgate" >&2
WRK_TOKEN=$(mint valid)

# Clock ticks the hypervisor took from all CPUs (`steal` in /proc/stat).
steal_ticks() { awk '/^cpu[0-9]/ {s += $9} END {print s}' /proc/stat; }
# "busy total" clock ticks of the load CPU (the generator and the backend share it: when it is
# 100% busy, the target's rate is capped by the load side, not by the target).
load_ticks() { awk -v c="cpu$LOAD_CPU" '$1 == c {print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }
# load_busy "BEFORE" "AFTER" -> the load CPU's busy fraction in between.
load_busy() { python3 -c "b0, t0 = map(int, '$1'.split()); b1, t1 = map(int, '$2'.split()); print(f'{(b1 - b0) / max(t1 - t0, 1):.3f}')"; }

# run_loadtest TARGET -> "rps p50 p99 p999 cpu_s requests steal_s load_busy" (latencies in µs).
run_loadtest() {
  local json=$DIR/$1.json before after lpid steal load
  timeout $((SECONDS_PER_RUN + WARMUP + 30)) "$LOADTEST" --cpus "$LOAD_CPU" -c "$CONNECTIONS" ${RATE:+-R "$RATE"} \
    -d "${SECONDS_PER_RUN}s" --warmup "${WARMUP}s" "${TOKEN_FLAGS[@]}" --json "$json" \
    "$(URL "$1")" > "$DIR/$1.loadtest.txt" 2>&1 &
  lpid=$!
  sleep "$WARMUP"
  before=$(cpu_ticks "${PID[$1]}") steal=$(steal_ticks) load=$(load_ticks)
  wait "$lpid" || { cat "$DIR/$1.loadtest.txt" >&2; echo "loadtest against $1 failed" >&2; return 1; }
  after=$(cpu_ticks "${PID[$1]}") steal=$(($(steal_ticks) - steal)) load=$(load_busy "$load" "$(load_ticks)")
  python3 - "$json" "$((after - before))" "$CLK_TCK" "$steal" "$load" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); c = r["latency_us"]["corrected"]; tck = int(sys.argv[3])
print(r["requests_per_s"], c["p50"], c["p99"], c["p99_9"], int(sys.argv[2]) / tck, r["responses"], int(sys.argv[4]) / tck, sys.argv[5])
PY
}

# run_wrk TARGET -> "rps p50 p99 - cpu_s requests steal_s load_busy" (latencies in µs).
run_wrk() {
  local out=$DIR/$1.wrk before after steal load
  before=$(cpu_ticks "${PID[$1]}") steal=$(steal_ticks) load=$(load_ticks)
  timeout $((SECONDS_PER_RUN + 30)) taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" \
    -d"${SECONDS_PER_RUN}s" --latency -H "Authorization: Bearer $WRK_TOKEN" "$(URL "$1")" > "$out"
  after=$(cpu_ticks "${PID[$1]}") steal=$(($(steal_ticks) - steal)) load=$(load_busy "$load" "$(load_ticks)")
  if grep -q 'Non-2xx' "$out"; then cat "$out" >&2; echo "wrk: $1 answered non-2xx" >&2; return 1; fi
  python3 - "$out" "$((after - before))" "$CLK_TCK" "$steal" "$load" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def us(v):
    n, unit = re.match(r"([\d.]+)(us|ms|s)", v).groups()
    return float(n) * {"us": 1, "ms": 1e3, "s": 1e6}[unit]
pct = {m[0]: us(m[1]) for m in re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M)}
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
reqs = int(re.search(r"(\d+) requests in", text).group(1))
tck = int(sys.argv[3])
print(rps, pct["50"], pct["99"], "-", int(sys.argv[2]) / tck, reqs, int(sys.argv[4]) / tck, sys.argv[5])
PY
}

TOOLS=(loadtest wrk); [ -z "$RATE" ] || TOOLS=(loadtest)
# A run whose target was not kept busy (< 90% of the window: the load generator or the machine
# held it back) or that lost more than 1% of the CPUs' time to the hypervisor is flagged.
declare -A RESULTS
FLAGGED=()
for rep in $(seq "$REPS"); do
  for target in "${TARGETS[@]}"; do
    for tool in "${TOOLS[@]}"; do
      line=$("run_$tool" "$target")
      RESULTS[$target,$tool]+="$line"$'\n'
      read -r rps p50 p99 p999 cpu reqs steal load <<<"$line"
      echo "rep $rep $target $tool: $rps req/s, p50 ${p50}µs, p99 ${p99}µs, p99.9 ${p999}µs, CPU ${cpu}s for $reqs requests, steal ${steal}s, load CPU busy $load" >&2
      if awk -v c="$cpu" -v s="$steal" -v t="$SECONDS_PER_RUN" -v n="$(nproc)" -v open="${RATE:+1}" 'BEGIN {exit !((!open && c < 0.9 * t) || s > 0.01 * t * n)}'; then
        FLAGGED+=("rep $rep $target/$tool (target busy ${cpu} s of ${SECONDS_PER_RUN}, steal ${steal} s)")
      fi
    done
  done
done

# summary TARGET TOOL -> one Markdown row: medians, the requests/s spread, CPU per request.
summary() {
  printf '%s' "${RESULTS[$1,$2]}" | python3 -c '
import statistics, sys
target, tool = sys.argv[1], sys.argv[2]
rows = [l.split() for l in sys.stdin if l.strip()]
col = lambda i: [float(r[i]) for r in rows if r[i] != "-"]
med = lambda i: statistics.median(col(i)) if col(i) else None
fmt = lambda v: "–" if v is None else (f"{v / 1000:.2f} ms" if v >= 1000 else f"{v:.0f} µs")
rps = col(0)
cpu_per_req = statistics.median(float(r[4]) / int(r[5]) * 1e6 for r in rows)
print(f"| {target} | {tool} | {statistics.median(rps):,.0f} | {min(rps):,.0f}–{max(rps):,.0f} | "
      f"{fmt(med(1))} | {fmt(med(2))} | {fmt(med(3))} | {med(4):.2f} | {cpu_per_req:.1f} | {med(7) * 100:.0f}% |")
' "$1" "$2"
}
median_rps() { printf '%s' "${RESULTS[$1,$2]}" | python3 -c 'import statistics,sys; print(statistics.median(float(l.split()[0]) for l in sys.stdin if l.strip()))'; }
ratio() { python3 -c "print(f'{$(median_rps "$1" "$3") / $(median_rps "$2" "$3"):.2f}')"; }

mkdir -p perf/results
# An A/B or partial run does not replace the day's full comparison.
SUFFIX=""; [ "$BACKEND" = nginx ] || SUFFIX="-$BACKEND"
[ -z "$RATE" ] || SUFFIX="$SUFFIX-rate-$RATE"
[ -z "$BASELINE_BIN$ONLY" ] || SUFFIX="$SUFFIX-ab-$(date +%H%M%S)"
OUT="perf/results/$(date +%F)-compare$SUFFIX.md"
if COMMIT=$(git rev-parse --short HEAD 2>/dev/null); then
  [ -z "$(git status --porcelain --untracked-files=no)" ] || COMMIT="$COMMIT + uncommitted changes"
else
  COMMIT="unknown (not a git checkout)"
fi
CPU_MODEL=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
{
  echo "# Gateways side by side — $(date -u +%FT%TZ), commit $COMMIT"
  echo
  echo "Command: \`perf/compare.sh --seconds $SECONDS_PER_RUN --connections $CONNECTIONS --reps $REPS --revocations $REVOCATIONS${BASELINE_BIN:+ --baseline $BASELINE_BIN}${ONLY:+ --only $ONLY}$([ "$BACKEND" = nginx ] || echo " --backend $BACKEND")${RATE:+ --rate $RATE}\`"
  echo
  echo "Machine: $(nproc) CPUs ($CPU_MODEL), $(uname -r); $(nginx -v 2>&1 | sed 's/.*: //'), HAProxy $(haproxy -v | sed -n '1s/HAProxy version \([^ ]*\).*/\1/p'), wrk $(wrk -v 2>&1 | sed -n '1s/wrk \([^ ]*\).*/\1/p'), $(rustc --version | cut -d' ' -f1-2)."
  echo "Each target on CPU $TARGET_CPU (bloomgate: 1 data core; its idle admin core on CPU $LOAD_CPU), the load generator and the backend ($([ "$BACKEND" = nginx ] && echo "nginx \`return 200\`" || echo "loadtest's \`hello_server\`")) on CPU $LOAD_CPU."
  echo "$CONNECTIONS keep-alive connections, $([ -z "$RATE" ] && echo "closed loop" || echo "open loop at $RATE requests/s"), ${SECONDS_PER_RUN} s per run (loadtest: after 1 s of warm-up), targets and tools interleaved, $REPS repetitions."
  echo "loadtest sends valid HS256 tokens (1000 distinct, \`jti\` never revoked) to every target; wrk sends one fixed valid token."
  echo "HAProxy and bloomgate hold the same $REVOCATIONS revoked \`jti\`s (a map / the filter, N=1e6, P=1e-7). nginx checks nothing."
  echo
  echo "| target | load | requests/s (median) | spread (min–max) | p50 | p99 | p99.9 | CPU s (median) | CPU µs/request | load CPU busy |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  for target in "${TARGETS[@]}"; do
    for tool in "${TOOLS[@]}"; do summary "$target" "$tool"; done
  done
  echo
  echo "Percentiles are medians over the repetitions (loadtest: HDR histogram, closed loop so corrected = raw; wrk: its --latency table, no p99.9)."
  echo "CPU s: the target's user+system time over the measured window (nginx: master and worker), from /proc; CPU µs/request = that / requests answered."
  echo "Load CPU busy: CPU $LOAD_CPU (load generator and backend) over the same window, median; near 100% the load side, not the target, sets the rate."
  echo
  if [ ${#FLAGGED[@]} -eq 0 ]; then
    echo "Every run$([ -z "$RATE" ] && echo " kept its target busy >= 90% of the window, and") lost <= 1% of CPU time to the hypervisor."
  else
    echo "Flagged runs (target busy < 90% of the window, or > 1% steal; they are in the medians): $(IFS=';'; echo "${FLAGGED[*]}" | sed 's/;/; /g')."
  fi
  echo
  has() { [[ " ${TARGETS[*]} " == *" $1 "* ]]; }
  for other in haproxy nginx baseline; do
    if has bloomgate && has "$other" && [ -z "$RATE" ]; then
      echo "Ratio of median requests/s, bloomgate / $other: $(ratio bloomgate "$other" loadtest) (loadtest), $(ratio bloomgate "$other" wrk) (wrk)."
    fi
  done
  [ -z "$RATE" ] || echo "Open loop at $RATE requests/s (loadtest -R): compare the latency columns; a target that could not keep the rate answered fewer."

} | tee "$OUT"
echo "wrote $OUT" >&2

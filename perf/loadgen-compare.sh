#!/usr/bin/env bash
# loadtest beside wrk, closed loop, same connections, against the same fast backend (nginx
# `return 200` pinned to BACKEND_CPU), each generator pinned to GEN_CPU, interleaved REPS
# times. Prints per run requests/s, the generator's CPU per request (user+system, GNU time) and
# how busy the backend was; then the median ratios loadtest / wrk. When the backend is near
# 100% busy, requests/s measures the backend, and CPU per request is the generators' figure.
#
#   perf/loadgen-compare.sh [--seconds 10] [--connections 16] [--reps 3] [--baseline BIN]
#                           [--backend nginx|hello]
#
# --baseline BIN interleaves a third generator, another loadtest binary (an earlier build).
# --backend hello serves with loadtest's `hello_server` example instead of nginx: cheaper per
# request than nginx here, so that the generator, not the backend, is what runs out of CPU.
#
# Needs nginx, wrk and GNU time (apt-get install nginx-light wrk time).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=10 CONNS=16 REPS=3 GEN_CPU=0 BACKEND_CPU=1 BASELINE= BACKEND=nginx
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECS=$2; shift 2 ;;
    --connections) CONNS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --baseline) BASELINE=$(realpath "$2"); shift 2 ;;
    --backend) BACKEND=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds N] [--connections N] [--reps N] [--baseline BIN] [--backend nginx|hello]" >&2; exit 2 ;;
  esac
done
DIR=$(mktemp -d /tmp/bloomgate-loadgen.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cargo build --release -q --locked -p loadtest --bin loadtest --example hello_server
case "$BACKEND" in
  nginx)
    sed "s|@PORT@|$PORT|; s|@DIR@|$DIR|g" perf/peers/nginx-backend.conf > "$DIR/backend.conf"
    taskset -c "$BACKEND_CPU" nginx -c "$DIR/backend.conf" -p "$DIR" & PIDS+=($!) ;;
  hello)
    taskset -c "$BACKEND_CPU" target/release/examples/hello_server "$PORT" "$BACKEND_CPU" 2>/dev/null & PIDS+=($!) ;;
  *) echo "--backend: nginx or hello" >&2; exit 2 ;;
esac
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && break; sleep 0.1; done
source perf/bench-lib.sh  # cpu_ticks
CLK_TCK=$(getconf CLK_TCK)
BACKEND_PID=${PIDS[0]}

# measure RUN ARGS... -> "requests/s generator-CPU-µs-per-request backend-busy-%" for one run
# of a generator (RUN leaves requests/s, the request count and GNU time's user and system
# seconds in $DIR/rps, $DIR/count and $DIR/time).
measure() {
  local before after
  before=$(cpu_ticks "$BACKEND_PID")
  "$@"
  after=$(cpu_ticks "$BACKEND_PID")
  python3 - "$DIR" "$((after - before))" "$CLK_TCK" "$SECS" <<'PY'
import sys
d, ticks, tck, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
user, system = map(float, open(f"{d}/time").read().split()[-2:])
rps, count = float(open(f"{d}/rps").read()), int(open(f"{d}/count").read())
print(f"{rps:.0f} {(user + system) / count * 1e6:.2f} {100 * ticks / tck / secs:.0f}")
PY
}
# One loadtest run (no warm-up, like wrk), BIN given.
loadtest_run() {
  /usr/bin/time -f '%U %S' -o "$DIR/time" \
    "$1" --cpus "$GEN_CPU" -c "$CONNS" -d "${SECS}s" --json "$DIR/l.json" "http://127.0.0.1:$PORT/" >/dev/null 2>&1
  python3 -c "import json; r = json.load(open('$DIR/l.json')); open('$DIR/rps', 'w').write(str(r['requests_per_s'])); open('$DIR/count', 'w').write(str(r['responses']))"
}
wrk_run() {
  /usr/bin/time -f '%U %S' -o "$DIR/time" \
    taskset -c "$GEN_CPU" wrk -t1 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$PORT/" > "$DIR/wrk.txt"
  awk '/Requests\/sec/ {print $2}' "$DIR/wrk.txt" > "$DIR/rps"
  awk '/requests in/ {print $1}' "$DIR/wrk.txt" > "$DIR/count"
}
L=() W=() B=()
for rep in $(seq "$REPS"); do
  l=$(measure loadtest_run target/release/loadtest)
  w=$(measure wrk_run)
  line="rep $rep (req/s, generator CPU µs/request, backend busy %): loadtest $l; wrk $w"
  if [ -n "$BASELINE" ]; then
    b=$(measure loadtest_run "$BASELINE")
    line="$line; baseline $b"
    B+=("$b")
  fi
  echo "$line"
  L+=("$l"); W+=("$w")
done
python3 - "$REPS" "${L[@]}" "${W[@]}" "${B[@]}" <<'PY'
import statistics, sys
reps = int(sys.argv[1]); runs = [tuple(map(float, x.split())) for x in sys.argv[2:]]
l, w, b = runs[:reps], runs[reps:2 * reps], runs[2 * reps:]
med = lambda rows, i: statistics.median(r[i] for r in rows)
print(f"median requests/s: loadtest {med(l, 0):.0f}, wrk {med(w, 0):.0f}, ratio {med(l, 0) / med(w, 0):.2f} "
      f"(pairs {', '.join(f'{x[0] / y[0]:.2f}' for x, y in zip(l, w))})")
print(f"median generator CPU per request: loadtest {med(l, 1):.2f} µs, wrk {med(w, 1):.2f} µs; "
      f"requests per CPU-second, loadtest / wrk: {med(w, 1) / med(l, 1):.2f}")
print(f"median backend busy: {med(l, 2):.0f}% under loadtest, {med(w, 2):.0f}% under wrk")
if b:
    print(f"baseline: {med(b, 0):.0f} req/s, {med(b, 1):.2f} µs/request; loadtest / baseline {med(l, 0) / med(b, 0):.2f} (req/s)")
PY

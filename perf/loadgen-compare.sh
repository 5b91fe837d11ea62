#!/usr/bin/env bash
# loadtest beside wrk, closed loop, same connections, against the same fast backend (nginx
# `return 200` pinned to BACKEND_CPU), each generator pinned to GEN_CPU, interleaved REPS
# times. Prints requests/s per run and the median ratio loadtest / wrk.
#
#   perf/loadgen-compare.sh [--seconds 10] [--connections 16] [--reps 3]
#
# Needs nginx and wrk (apt-get install nginx-light wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=10 CONNS=16 REPS=3 GEN_CPU=0 BACKEND_CPU=1
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECS=$2; shift 2 ;;
    --connections) CONNS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds N] [--connections N] [--reps N]" >&2; exit 2 ;;
  esac
done
DIR=$(mktemp -d /tmp/bloomgate-loadgen.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed "s|@PORT@|$PORT|; s|@DIR@|$DIR|g" perf/peers/nginx-backend.conf > "$DIR/backend.conf"
taskset -c "$BACKEND_CPU" nginx -c "$DIR/backend.conf" -p "$DIR" & PIDS+=($!)
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && break; sleep 0.1; done
cargo build --release -q -p loadtest
L=() W=()
for rep in $(seq "$REPS"); do
  l=$(target/release/loadtest --cpus "$GEN_CPU" -c "$CONNS" -d "${SECS}s" --warmup 1s --json "$DIR/l.json" "http://127.0.0.1:$PORT/" >/dev/null 2>&1; python3 -c "import json;print(json.load(open('$DIR/l.json'))['requests_per_s'])")
  w=$(taskset -c "$GEN_CPU" wrk -t1 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$PORT/" | awk '/Requests\/sec/ {print $2}')
  echo "rep $rep: loadtest $l req/s, wrk $w req/s"
  L+=("$l"); W+=("$w")
done
python3 - "${L[@]}" -- "${W[@]}" <<'PY'
import statistics, sys
a = sys.argv[1:]; i = a.index('--'); l = [float(x) for x in a[:i]]; w = [float(x) for x in a[i+1:]]
print(f"median loadtest {statistics.median(l):.0f} req/s, wrk {statistics.median(w):.0f} req/s, ratio {statistics.median(l)/statistics.median(w):.2f}")
print("pairwise ratios:", ", ".join(f"{x/y:.2f}" for x, y in zip(l, w)))
PY

#!/usr/bin/env bash
# One-command CPU flamegraph of bloomgate under load (docs/PROFILING.md says how to read it).
#
#   perf/flamegraph.sh [--seconds 10] [--out FILE.svg] [--config FILE [--path /p]]
#                      [--connections 64] [--folded FILE]
#   perf/flamegraph.sh --bench NAME [--filter TEXT] [--seconds 5] [--out FILE.svg] [--folded FILE]
#
# Gateway mode: builds `bloomgate` with `--profile profiling` (release code, full debug info)
# and `loadtest` in release; starts the nginx `return 200` backend on CPU 1; runs the gateway
# with one data core on CPU 0 with the bench config (perf/peers/bloomgate-bench.json: an
# HS256-protected endpoint, `auth/revoker` filled with 1M revocations through
# `bloomgate rpc ... add-batch`) or with `--config FILE` (used as is, `@BACKEND@` replaced by the
# backend's port; nothing revoked; loaded at `--path`, default /protected, and answers that are
# not 200 are reported, not fatal); checks its answers; drives it with loadtest (valid HS256
# tokens from perf/peers/bench-jwk.json, closed loop, from CPU 1); after 2 s of load, records
# the gateway's process with `perf record -e cpu-clock --call-graph dwarf` for `--seconds`;
# folds the stacks with inferno-collapse-perf and draws them with inferno-flamegraph.
#
# Bench mode: builds the divan bench `perf/benches/NAME.rs` with `--profile profiling` and
# records it running (`--filter TEXT`: only the benchmarks whose name contains TEXT, as divan
# filters; each runs about `--seconds`).
#
# Prints the heaviest leaf functions; fails if more than 5% of the samples end in an unnamed
# frame. `--folded FILE` keeps the folded stacks (for inferno-diff-folded). Installs inferno with
# `cargo install --locked inferno` (crates.io) when its commands are missing.
#
# Needs: linux perf (`perf record -e cpu-clock` must work: root, or perf_event_paranoid <= 1),
# nginx, curl, python3. Default output: perf/results/DATE-flamegraph.svg (DATE-bench-NAME.svg).
set -euo pipefail
cd "$(dirname "$0")/.."
source perf/bench-lib.sh

SECS="" OUT="" FOLDED="" CONFIG_FILE="" BENCH="" FILTER="" CONNECTIONS=64 FREQ=999 TARGET_CPU=0 LOAD_CPU=1
usage() { echo "usage: $0 [--seconds N] [--out FILE.svg] [--config FILE [--path /p]] [--connections N] [--folded FILE] | --bench NAME [--filter TEXT] [--seconds N] [--out FILE.svg] [--folded FILE]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --folded) FOLDED=$2; shift 2 ;;
    --config) CONFIG_FILE=$(realpath "$2"); shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --path) BENCH_PATH=$2; shift 2 ;;
    --bench) BENCH=$2; shift 2 ;;
    --filter) FILTER=$2; shift 2 ;;
    *) usage ;;
  esac
done
[ -z "$BENCH" ] || [ -z "$CONFIG_FILE" ] || usage
if [ -n "$BENCH" ]; then
  SECS=${SECS:-5}
  OUT=${OUT:-perf/results/$(date +%F)-bench-$BENCH.svg}
  [ -f "perf/benches/$BENCH.rs" ] || { echo "flamegraph.sh: no perf/benches/$BENCH.rs" >&2; exit 2; }
else
  SECS=${SECS:-10}
  OUT=${OUT:-perf/results/$(date +%F)-flamegraph.svg}
fi
case "$SECS" in '' | *[!0-9]*) usage ;; esac
for tool in perf python3 taskset; do
  command -v "$tool" >/dev/null || { echo "flamegraph.sh: $tool is missing (apt-get install linux-perf)" >&2; exit 2; }
done
perf record -q -e cpu-clock -o /dev/null -- true 2>/dev/null \
  || { echo "flamegraph.sh: perf record -e cpu-clock does not work here (root, or sysctl kernel.perf_event_paranoid=1)" >&2; exit 2; }

export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
if ! command -v inferno-collapse-perf >/dev/null || ! command -v inferno-flamegraph >/dev/null; then
  echo "flamegraph.sh: installing inferno from crates.io" >&2
  cargo install --locked inferno
fi

DIR=$(mktemp -d /tmp/bloomgate-flamegraph.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# `--call-graph dwarf` copies 16 KiB of stack per sample: deep enough for the executor
# under the request path, 16 MB per 1000 samples.
RECORD=(perf record -q -e cpu-clock -F "$FREQ" --call-graph dwarf,16384 -o "$DIR/perf.data")

if [ -n "$BENCH" ]; then
  EXE=$(cargo bench --profile profiling --locked -p perf --bench "$BENCH" --no-run --message-format=json \
    | python3 -c 'import json,sys; print([m["executable"] for m in map(json.loads, sys.stdin) if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["bench"]][-1])')
  TITLE="perf/benches/$BENCH.rs${FILTER:+ ($FILTER)} — cpu-clock, $(date +%F)"
  ARGS=(--bench --min-time "$SECS" --max-time "$SECS")
  [ -z "$FILTER" ] || ARGS+=("$FILTER")
  echo "recording $EXE ${ARGS[*]}" >&2
  timeout 1800 "${RECORD[@]}" -- "$EXE" "${ARGS[@]}" >&2
else
  cargo build --profile profiling -q --locked -p proxy --bin bloomgate
  cargo build --release -q --locked -p loadtest --bin loadtest
  BLOOMGATE_BIN=$TARGET_DIR/profiling/bloomgate
  LOADTEST=$TARGET_DIR/release/loadtest
  if [ -z "$CONFIG_FILE" ]; then
    echo "generating 1000000 revoked jtis" >&2
    gen_revocations 1000000
  fi
  start_backend "$LOAD_CPU"
  start_bench_gateway "$BLOOMGATE_BIN" "$TARGET_CPU,$LOAD_CPU"
  if [ -z "$CONFIG_FILE" ]; then check_jwt_gateway bloomgate "$GATEWAY_PORT"; fi
  TITLE="bloomgate, 1 data core, $CONNECTIONS connections of valid HS256 tokens — cpu-clock, $(date +%F)"
  timeout $((SECS + 60)) "$LOADTEST" --cpus "$LOAD_CPU" -c "$CONNECTIONS" -d "$((SECS + 4))s" \
    --jwt-alg HS256 --jwt-key "jwk:$BENCH_JWK" --claims "$BENCH_CLAIMS" \
    "http://127.0.0.1:$GATEWAY_PORT$BENCH_PATH" > "$DIR/loadtest.txt" 2>&1 &
  LOAD_PID=$!
  PIDS+=("$LOAD_PID")
  sleep 2
  echo "recording bloomgate (pid $BLOOMGATE_PID) for ${SECS}s" >&2
  timeout $((SECS + 60)) "${RECORD[@]}" -p "$BLOOMGATE_PID" -- sleep "$SECS"
  status=0
  wait "$LOAD_PID" || status=$?
  if [ "$status" = 1 ] && [ -n "$CONFIG_FILE" ]; then
    echo "flamegraph.sh: note: some answers were not 200 (your config):" >&2
    grep -E '^  (valid|errors)' "$DIR/loadtest.txt" >&2 || true
  elif [ "$status" != 0 ]; then
    cat "$DIR/loadtest.txt" >&2; echo "flamegraph.sh: loadtest failed" >&2; exit 1
  fi
  sed -n '/requests/p; /p50/,/raw/p' "$DIR/loadtest.txt" >&2
fi

echo "folding stacks" >&2
mkdir -p "$(dirname "$OUT")"
FOLDED=${FOLDED:-$DIR/stacks.folded}
timeout 1800 perf script -i "$DIR/perf.data" 2>/dev/null | inferno-collapse-perf --all > "$FOLDED"
inferno-flamegraph --title "$TITLE" --colors rust --minwidth 0.05 < "$FOLDED" > "$OUT"

# Where the time went: by component (each sample to the innermost frame that names one), the
# heaviest leaf functions (self time), and how much ends in an unnamed frame. With cpu-clock the
# folded counts are nanoseconds of CPU time.
python3 - "$FOLDED" <<'PY'
import collections, sys
KERNEL = [("__libc_send", "kernel: send (TCP over loopback, waking the peer)"),
          ("__libc_recv", "kernel: recv"),
          ("asm_sysvec_", "kernel: interrupts and IPIs"),
          ("asm_common_interrupt", "kernel: interrupts and IPIs"),
          ("io_uring", "kernel: io_uring submit/wait"),
          ("clock_gettime", "kernel: clock (vDSO)")]
CRATES = [("proxy::jwt", "bloomgate: JWT"), ("proxy::http", "bloomgate: HTTP codec"),
          ("proxy::router", "bloomgate: router"), ("proxy::event", "bloomgate: event loop"),
          ("proxy::", "bloomgate: other"),
          ("bloom::", "bloomgate: filter"), ("ring::", "ring"), ("ring_core_", "ring"),
          ("simd_json::", "simd-json"), ("httparse::", "httparse"), ("glommio::", "glommio")]
def component(frames):
    if frames[-1].endswith("_[k]"):
        for key, name in KERNEL:
            if any(key in f for f in frames):
                return name
        return "kernel: other"
    for f in reversed(frames):
        for key, name in CRATES:
            if f.startswith(key) or f.startswith("<" + key):
                return name
    return "other user space (libc, std)"
by_component, self_time, total = collections.Counter(), collections.Counter(), 0
for line in open(sys.argv[1]):
    stack, _, n = line.rstrip("\n").rpartition(" ")
    n = int(n); total += n
    frames = stack.split(";")
    self_time[frames[-1]] += n
    by_component[component(frames)] += n
print(f"{total / 1e9:.2f} s of CPU sampled; by component:", file=sys.stderr)
for name, n in by_component.most_common():
    print(f"  {100 * n / total:5.1f}%  {name}", file=sys.stderr)
print("heaviest leaf functions (self time):", file=sys.stderr)
for name, n in self_time.most_common(15):
    print(f"  {100 * n / total:5.1f}%  {name[:110]}", file=sys.stderr)
unknown = sum(n for name, n in self_time.items() if name.startswith("[unknown]") or name.startswith("0x"))
print(f"  unnamed leaf frames: {100 * unknown / max(total, 1):.1f}%", file=sys.stderr)
if total == 0 or unknown / total > 0.05:
    sys.exit("flamegraph.sh: too many unnamed frames (or no samples): is debug info missing?")
PY
echo "wrote $OUT ($(du -h "$OUT" | cut -f1))" >&2

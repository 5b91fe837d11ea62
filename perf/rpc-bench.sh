#!/usr/bin/env bash
# RPC inserts into a live gateway (issue 5): keys/s through admin::rpc::client::Client::add into
# `bloomgate run --cores 1` (N=1e7, P=1e-7) alone and under an open-loop loadtest; the data
# plane's requests/s and p99 with and without the inserts; the time from an `Added` to the first
# 401. Builds the release binaries, runs `rpc-report` (perf/src/bin/rpc-report.rs, which starts
# and stops every process on 127.0.0.1), and writes perf/results/DATE-rpc.md.
#
#   perf/rpc-bench.sh [rpc-report flags]      e.g. --keys 5000000 --rate 10000 --reps 3
#   perf/rpc-bench.sh --help                  the flags
#
# Takes at most LIMIT seconds (default 1800). Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT=${LIMIT:-1800}
BIN="${CARGO_TARGET_DIR:-target}/release"
case "${1:-}" in -h|--help) cargo build --release -q -p perf --bin rpc-report; exec "$BIN/rpc-report" --help ;; esac
# One build per target kind: `--bin X` would apply to every package of a combined command.
cargo build --release -q --locked -p proxy --bin bloomgate
cargo build --release -q --locked -p loadtest --bin loadtest --example hello_server
cargo build --release -q --locked -p perf --bin rpc-report
OUT="perf/results/$(date +%F)-rpc.md"
LOG=$(mktemp /tmp/bloomgate-rpc-bench.XXXXXX)
PID=
cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    # The report stops its processes when it ends normally; if it is cut short, stop them here.
    for child in $(pgrep -P "$PID" || true); do kill -TERM "$child" 2>/dev/null || true; done
    kill -TERM "$PID" 2>/dev/null || true
  fi
  rm -f "$LOG"
}
trap cleanup EXIT INT TERM
"$BIN/rpc-report" "$@" >"$LOG" &
PID=$!
SECONDS=0
while kill -0 "$PID" 2>/dev/null; do
  if [ "$SECONDS" -ge "$LIMIT" ]; then echo "rpc-bench.sh: over ${LIMIT}s, stopping" >&2; exit 1; fi
  sleep 1
done
wait "$PID"
PID=
{
  echo "# rpc-report — $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)"
  echo
  echo "Command: \`perf/rpc-bench.sh $*\`; $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(uname -r)."
  echo
  echo '```'
  cat "$LOG"
  echo '```'
} > "$OUT"
echo "rpc-bench.sh: JSON lines in $OUT" >&2

#!/usr/bin/env bash
# Revoke Server propagation (issue 6): POST /tokens/jti/{v} on `bloomgate revoker` → 401 on
# every registered gateway (p50/p99), and a batch through POST /tokens/jti → revoked on every
# gateway (values/s). Builds the release binaries, runs `propagation-report`
# (perf/src/bin/propagation-report.rs, which starts and stops every process on 127.0.0.1), and
# writes perf/results/DATE-propagation-GATEWAYS.md.
#
#   perf/propagation.sh [propagation-report flags]   e.g. --gateways 16 --batch 0
#   perf/propagation.sh --help                       the flags
#
# Takes at most LIMIT seconds (default 1200). Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT=${LIMIT:-1200}
BIN="${CARGO_TARGET_DIR:-target}/release"
case "${1:-}" in -h|--help) cargo build --release -q -p perf --bin propagation-report; exec "$BIN/propagation-report" --help ;; esac
# One build per target kind: `--bin X` would apply to every package of a combined command.
cargo build --release -q --locked -p proxy --bin bloomgate
cargo build --release -q --locked -p loadtest --bin loadtest --example hello_server
cargo build --release -q --locked -p perf --bin propagation-report
GATEWAYS=3
args=("$@")
for i in "${!args[@]}"; do
  [ "${args[$i]}" = --gateways ] && GATEWAYS=${args[$((i + 1))]:-3}
done
OUT="perf/results/$(date +%F)-propagation-$GATEWAYS.md"
LOG=$(mktemp /tmp/bloomgate-propagation.XXXXXX)
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
"$BIN/propagation-report" "$@" >"$LOG" &
PID=$!
SECONDS=0
while kill -0 "$PID" 2>/dev/null; do
  if [ "$SECONDS" -ge "$LIMIT" ]; then echo "propagation.sh: over ${LIMIT}s, stopping" >&2; exit 1; fi
  sleep 1
done
wait "$PID"
PID=
{
  echo "# propagation-report — $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)"
  echo
  echo "Command: \`perf/propagation.sh $*\`; $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(uname -r)."
  echo
  echo '```'
  cat "$LOG"
  echo '```'
} > "$OUT"
echo "propagation.sh: JSON lines in $OUT" >&2

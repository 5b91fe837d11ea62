#!/usr/bin/env bash
# What persistence costs (issue 7): acknowledged revocations/s on `bloomgate revoker` with
# `bloomgate/persistence` on against off (64 closed-loop clients, p50/p99 of POST → 201), and a
# gateway's start-up with a snapshot of 1e7 keys against an empty directory. Builds the release
# binaries, runs `persist-report` (perf/src/bin/persist-report.rs, which starts and stops every
# process on 127.0.0.1 and keeps its files under $TMPDIR, default /tmp: it must be a disk, not
# tmpfs), and writes perf/results/DATE-persist.md.
#
#   perf/persist.sh [persist-report flags]    e.g. --seconds 5 --reps 3 --startup-keys 1e7
#   perf/persist.sh --help                    the flags
#
# Takes at most LIMIT seconds (default 1200). Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT=${LIMIT:-1200}
BIN="${CARGO_TARGET_DIR:-target}/release"
case "${1:-}" in -h|--help) cargo build --release -q --locked -p perf --bin persist-report; exec "$BIN/persist-report" --help ;; esac
# One build per target kind: `--bin X` would apply to every package of a combined command.
cargo build --release -q --locked -p proxy --bin bloomgate
cargo build --release -q --locked -p loadtest --bin loadtest --example hello_server
cargo build --release -q --locked -p perf --bin persist-report
OUT="perf/results/$(date +%F)-persist.md"
LOG=$(mktemp /tmp/bloomgate-persist.XXXXXX)
ERR=$(mktemp /tmp/bloomgate-persist-err.XXXXXX)
PGID=
TAIL=
cleanup() {
  # The report stops its processes and removes its scratch directory when it ends normally. It
  # runs in its own process group, so that if it is cut short, or aborts on a panic and leaves
  # its children behind, whatever is left of the group is stopped here (SIGTERM, then SIGKILL
  # after 10 s) and its scratch directory removed.
  if [ -n "$PGID" ]; then
    if pgrep -g "$PGID" >/dev/null; then
      kill -TERM -- "-$PGID" 2>/dev/null || true
      for _ in $(seq 100); do pgrep -g "$PGID" >/dev/null || break; sleep 0.1; done
      kill -KILL -- "-$PGID" 2>/dev/null || true
    fi
    rm -rf "${TMPDIR:-/tmp}/bloomgate-perf-persist-$PGID"
  fi
  if [ -n "$TAIL" ]; then kill "$TAIL" 2>/dev/null || true; fi
  rm -f "$LOG" "$ERR"
}
trap cleanup EXIT INT TERM
setsid "$BIN/persist-report" "$@" >"$LOG" 2>"$ERR" &
PID=$!
PGID=$PID
# Progress on the terminal as it comes; all of it goes into the results file too.
tail -n +1 -f --pid="$PID" "$ERR" >&2 &
TAIL=$!
SECONDS=0
while kill -0 "$PID" 2>/dev/null; do
  if [ "$SECONDS" -ge "$LIMIT" ]; then echo "persist.sh: over ${LIMIT}s, stopping" >&2; exit 1; fi
  sleep 1
done
STATUS=0
wait "$PID" || STATUS=$?
wait "$TAIL" || true
TAIL=
if [ "$STATUS" -ne 0 ]; then echo "persist.sh: persist-report failed ($STATUS)" >&2; exit "$STATUS"; fi
{
  echo "# persist-report — $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)"
  echo
  echo "Command: \`perf/persist.sh $*\`; $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(uname -r)."
  echo
  echo '```'
  cat "$ERR"
  echo '```'
  echo
  echo '```'
  cat "$LOG"
  echo '```'
} > "$OUT"
echo "persist.sh: summary and JSON lines in $OUT" >&2

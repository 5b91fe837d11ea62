# Shared by perf/propagation.sh, perf/rpc-bench.sh and perf/persist.sh (sourced, not run):
# build the release binaries a report binary drives, run it bounded in time, and write its
# output to a dated results file.

# The binaries every report starts. One build per target kind: `--bin X` in a combined command
# would apply to every package and leave `bloomgate` stale.
build_report() {
  cargo build --release -q --locked -p proxy --bin bloomgate
  cargo build --release -q --locked -p loadtest --bin loadtest --example hello_server
  cargo build --release -q --locked -p perf --bin "$1"
}

# run_report NAME OUT LIMIT SCRIPT [ARGS...]: runs "$BIN/NAME ARGS" for at most LIMIT seconds,
# its progress (stderr) on the terminal as it comes, then writes OUT: the command (as SCRIPT
# ARGS), the machine, the progress and summary, and the JSON lines (stdout). The report runs in
# its own process group: if it is cut short, or aborts on a panic (`panic = "abort"` in
# release, so its processes are not stopped by their drops), whatever is left of the group is
# stopped here (SIGTERM, then SIGKILL after 10 s) and its scratch directories removed.
run_report() {
  local name=$1 out=$2 limit=$3 script=$4
  shift 4
  REPORT_LOG=$(mktemp "/tmp/bloomgate-$name.XXXXXX")
  REPORT_ERR=$(mktemp "/tmp/bloomgate-$name-err.XXXXXX")
  REPORT_PGID=
  REPORT_TAIL=
  trap report_cleanup EXIT INT TERM
  setsid "$BIN/$name" "$@" >"$REPORT_LOG" 2>"$REPORT_ERR" &
  local pid=$!
  REPORT_PGID=$pid
  tail -n +1 -f --pid="$pid" "$REPORT_ERR" >&2 &
  REPORT_TAIL=$!
  SECONDS=0
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$limit" ]; then echo "$script: over ${limit}s, stopping" >&2; exit 1; fi
    sleep 1
  done
  local status=0
  wait "$pid" || status=$?
  wait "$REPORT_TAIL" || true
  REPORT_TAIL=
  if [ "$status" -ne 0 ]; then echo "$script: $name failed ($status)" >&2; exit "$status"; fi
  {
    echo "# $name — $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)"
    echo
    echo "Command: \`$script $*\`; $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(uname -r)."
    echo
    echo '```'
    cat "$REPORT_ERR"
    echo '```'
    echo
    echo '```'
    cat "$REPORT_LOG"
    echo '```'
  } > "$out"
  echo "$script: summary and JSON lines in $out" >&2
}

report_cleanup() {
  if [ -n "${REPORT_PGID:-}" ]; then
    if pgrep -g "$REPORT_PGID" >/dev/null; then
      kill -TERM -- "-$REPORT_PGID" 2>/dev/null || true
      for _ in $(seq 100); do pgrep -g "$REPORT_PGID" >/dev/null || break; sleep 0.1; done
      kill -KILL -- "-$REPORT_PGID" 2>/dev/null || true
    fi
    rm -rf "${TMPDIR:-/tmp}"/bloomgate-perf-*-"$REPORT_PGID"
  fi
  if [ -n "${REPORT_TAIL:-}" ]; then kill "$REPORT_TAIL" 2>/dev/null || true; fi
  rm -f "${REPORT_LOG:-}" "${REPORT_ERR:-}"
}

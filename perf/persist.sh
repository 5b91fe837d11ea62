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
source perf/report-lib.sh
build_report persist-report
run_report persist-report "perf/results/$(date +%F)-persist.md" "$LIMIT" perf/persist.sh "$@"

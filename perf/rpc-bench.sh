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
source perf/report-lib.sh
build_report rpc-report
run_report rpc-report "perf/results/$(date +%F)-rpc.md" "$LIMIT" perf/rpc-bench.sh "$@"

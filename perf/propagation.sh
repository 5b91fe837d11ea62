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
source perf/report-lib.sh
build_report propagation-report
GATEWAYS=3
args=("$@")
for i in "${!args[@]}"; do
  [ "${args[$i]}" = --gateways ] && GATEWAYS=${args[$((i + 1))]:-3}
done
run_report propagation-report "perf/results/$(date +%F)-propagation-$GATEWAYS.md" "$LIMIT" \
  perf/propagation.sh "$@"

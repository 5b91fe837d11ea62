#!/usr/bin/env bash
# What moving the Revoke Server onto the `event` loop would give issue 7: `persist-report`
# (revocations/s with persistence on against off, 64 closed-loop clients) against
# perf/examples/revoker_probe/, the least a revoker does per revocation on one event loop with
# group commit through a sync thread, once per way of forming groups (see its main.rs).
#
#   perf/revoker-probe.sh [--reps 3] [--seconds 5]
#
# Prints persist-report's lines for each variant (the probe's own "probe:" lines included).
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=3 SECONDS_PER_RUN=5
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS=$2; shift 2 ;;
    --seconds) SECONDS_PER_RUN=$2; shift 2 ;;
    *) echo "usage: $0 [--reps N] [--seconds N]" >&2; exit 2 ;;
  esac
done
cargo build --release -q --locked -p perf --example revoker_probe --bin persist-report
TARGET_DIR=$(realpath "${CARGO_TARGET_DIR:-target}")
DIR=$(mktemp -d /tmp/bloomgate-probe.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
for variant in "handover:PROBE_GROUPS=handover" "cohort:PROBE_GROUPS=cohort" "sync-cohort:PROBE_GROUPS=sync-cohort"; do
  name=${variant%%:*} env=${variant#*:}
  mkdir -p "$DIR/$name"
  printf '#!/bin/sh\nexec env %s "%s" "$@"\n' "$env" "$TARGET_DIR/release/examples/revoker_probe" > "$DIR/$name/bloomgate"
  chmod +x "$DIR/$name/bloomgate"
  echo "== probe, groups: $name ($env)"
  "$TARGET_DIR/release/persist-report" --reps "$REPS" --seconds "$SECONDS_PER_RUN" --startup-keys 0 \
    --bin-dir "$DIR/$name" 2>&1 | grep -v '^{'
done

#!/usr/bin/env bash
# The link-time no-panic proof, and its control experiment.
#
# 1. Builds the freestanding LTO binary: the link succeeds only if no panic
#    path survives optimisation (its panic handler calls an undefined
#    symbol), then runs it (all-zero inputs, exit status 0).
# 2. Builds it again with a deliberately reachable panic (feature
#    `panic-control`): that link MUST fail, naming the undefined symbol,
#    otherwise the proof could not fail and proves nothing.
set -euo pipefail
cd "$(dirname "$0")"
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/../../target}/no-panic"

CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release --target x86_64-unknown-linux-gnu
"$TARGET_DIR/x86_64-unknown-linux-gnu/release/no-panic"
echo "no-panic: linked and ran (exit 0): no panic reachable from the entry points"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release --target x86_64-unknown-linux-gnu \
    --features panic-control >"$log" 2>&1; then
  echo "no-panic control: a reachable panic LINKED; the proof is broken"
  exit 1
fi
if ! grep -q "paravisor_panic_path_reachable" "$log"; then
  cat "$log"
  echo "no-panic control: the build failed, but not on the undefined panic symbol"
  exit 1
fi
echo "no-panic control: a reachable panic fails the link, as it must"

# The code size of each entry point (docs/CODE_SIZE.md), printed for CI.
./size.sh

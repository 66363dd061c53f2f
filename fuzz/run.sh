#!/usr/bin/env bash
# Build every cargo-fuzz target and run each for a bounded time.
#
# Usage: fuzz/run.sh [SECONDS_PER_TARGET]   (default 25; env FUZZ_SECONDS)
#
# Needs the nightly toolchain (`cargo +nightly`); installs cargo-fuzz when it
# is missing. Without nightly it says so LOUDLY and exits 0: the caller
# decides whether that is acceptable. Corpora are seeded from the project's
# fixtures into a fresh folder (fuzz/seed_corpora.py); the inputs kept in
# fuzz/regressions/<target>/ are replayed first. A crash fails the run and
# prints the artifact path. Ends with a table of executions per target.
set -euo pipefail
cd "$(dirname "$0")"

SECONDS_PER_TARGET="${1:-${FUZZ_SECONDS:-25}}"

if ! cargo +nightly --version >/dev/null 2>&1; then
  {
    echo
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    echo "!!  NO NIGHTLY TOOLCHAIN: THE FUZZ TARGETS WERE NEITHER BUILT NOR RUN  !!"
    echo "!!  (cargo-fuzz needs nightly; install it with rustup to fuzz)         !!"
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    echo
  } | tee /dev/stderr
  exit 0
fi
cargo +nightly --version
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
cargo +nightly fuzz --version

TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/../target}/fuzz"
cargo +nightly fuzz build --target-dir "$TARGET_DIR"

CORPUS="$(mktemp -d)"
trap 'rm -rf "$CORPUS"' EXIT
python3 seed_corpora.py "$CORPUS"

declare -A DICT=([elf_load]=dict/elf.dict [arm64_image]=dict/image.dict [layout_readers]=dict/layout.dict)
SUMMARY=""
for target in $(cargo +nightly fuzz list); do
  mkdir -p "$CORPUS/$target"
  extra=()
  if [ -d "regressions/$target" ]; then extra+=("regressions/$target"); fi
  # igvm_diff's seeds are whole IGVM files (up to 175 KiB).
  max_len=65536
  if [ "$target" = igvm_diff ]; then max_len=262144; fi
  flags=(-max_total_time="$SECONDS_PER_TARGET" -max_len="$max_len" -rss_limit_mb=4096 -print_final_stats=1)
  if [ -n "${DICT[$target]:-}" ]; then flags+=(-dict="${DICT[$target]}"); fi
  echo "---- fuzz $target (${SECONDS_PER_TARGET}s) ----"
  log="$CORPUS/$target.log"
  if ! cargo +nightly fuzz run --target-dir "$TARGET_DIR" "$target" "$CORPUS/$target" "${extra[@]}" \
      -- "${flags[@]}" >"$log" 2>&1; then
    grep -E "panicked at|^[^ ].*(assert|overflow|not mapped|outside|overlap)|Test unit written|SUMMARY" -A1 "$log" | head -n 20
    echo "FUZZ CRASH in $target: see the 'Test unit written to' line above (fuzz/artifacts/$target/)"
    exit 1
  fi
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  cov="$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)"
  printf '%-16s %12s executions  %s\n' "$target" "${runs:-?}" "$cov"
  SUMMARY+="$(printf '%-16s %12s executions in %ss, %s' "$target" "${runs:-?}" "$SECONDS_PER_TARGET" "$cov")"$'\n'
done
echo
echo "fuzz summary (no crash):"
printf '%s' "$SUMMARY"

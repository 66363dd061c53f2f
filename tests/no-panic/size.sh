#!/usr/bin/env bash
# Code size of each entry point, as a number (docs/CODE_SIZE.md).
#
# The no-panic binary is built once per entry-point feature with
# `--no-default-features --features <group>` (same LTO release profile and
# freestanding flags as the proof), and once with no group at all. The
# figure of a group is the `.text` bytes its binary has beyond the empty
# one: the machine code that entry point pulls in, its callees included.
#
# Usage: size.sh [group ...]   (default: every group below)
set -euo pipefail
cd "$(dirname "$0")"
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/../../target}/no-panic-size"
BIN="$TARGET_DIR/x86_64-unknown-linux-gnu/release/no-panic"

# group: what it measures
GROUPS_ALL=(
  "load-x64:full x86-64 load (load_openhcl_x64 into GuestMemoryImporter)"
  "load-arm64:full AArch64 load (load_openhcl_arm64 into GuestMemoryImporter)"
  "x86:x86-64 page-table builder (build_identity_map, sizing helpers)"
  "x86-walker:x86-64 page-table walker"
  "arm64:AArch64 page-table builder (identity build, table space)"
  "arm64-walker:AArch64 page-table walker"
  "elf:ELF loader (plan_static_elf, import, load_static_elf)"
  "image:arm64 Image loader (plan_arm64_image, import)"
)

text_bytes() {
  # .text section size of the freestanding binary, in bytes.
  size -A "$1" | awk '$1 == ".text" { print $2 }'
}

build() {
  # $@: extra cargo arguments. Quiet on success, the log on failure.
  local log
  log="$(mktemp)"
  if ! CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release --target x86_64-unknown-linux-gnu \
      --no-default-features "$@" >"$log" 2>&1; then
    cat "$log"
    rm -f "$log"
    echo "code size: build failed: $*" >&2
    exit 1
  fi
  rm -f "$log"
}

wanted=("$@")
build
empty="$(text_bytes "$BIN")"
printf 'code size (.text bytes beyond the empty freestanding binary, %s bytes; x86_64, LTO, opt-level 3):\n' "$empty"
for entry in "${GROUPS_ALL[@]}"; do
  group="${entry%%:*}"
  what="${entry#*:}"
  if [ "${#wanted[@]}" -ne 0 ] && ! printf '%s\n' "${wanted[@]}" | grep -qx "$group"; then
    continue
  fi
  build --features "$group"
  total="$(text_bytes "$BIN")"
  printf '  %-13s %8d  %s\n' "$group" "$((total - empty))" "$what"
done

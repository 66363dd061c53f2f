#!/usr/bin/env bash
# Builds the AArch64 test shim (ELF), the test kernel (flat arm64 Image) and
# the QEMU reset stub with the GNU cross binutils (binutils-aarch64-linux-gnu).
# Usage: build.sh OUT_DIR   -> OUT_DIR/{shim.elf,kernel.Image,reset-stub.bin}
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:?usage: build.sh OUT_DIR}"
prefix="${AARCH64_CROSS_PREFIX:-aarch64-linux-gnu-}"
for tool in as ld objcopy; do
    command -v "${prefix}${tool}" >/dev/null || {
        echo "build.sh: ${prefix}${tool} not found (apt-get install binutils-aarch64-linux-gnu)" >&2
        exit 127
    }
done
mkdir -p "$out"
"${prefix}as" -o "$out/shim.o" "$here/shim.s"
"${prefix}ld" -nostdlib -static -z max-page-size=4096 -z noexecstack --no-warn-rwx-segments --build-id=none \
    -T "$here/shim.ld" -o "$out/shim.elf" "$out/shim.o"
"${prefix}as" -o "$out/kernel.o" "$here/kernel.s"
"${prefix}ld" -nostdlib -static --build-id=none -Ttext=0 -e _head -o "$out/kernel.elf" "$out/kernel.o"
"${prefix}objcopy" -O binary "$out/kernel.elf" "$out/kernel.Image"
"${prefix}as" -o "$out/reset-stub.o" "$here/reset-stub.s"
"${prefix}ld" -nostdlib -static --build-id=none -Ttext=0 -e _reset -o "$out/reset-stub.elf" "$out/reset-stub.o"
"${prefix}objcopy" -O binary "$out/reset-stub.elf" "$out/reset-stub.bin"

#!/usr/bin/env bash
# Boots a real x86-64 paravisor image under KVM with the `paravisor` CLI:
# builds the freestanding test shim and the test kernel, writes a load
# manifest next to them (isolation none, default base, 64 MiB of VTL2
# memory, a 1 MiB initrd from the golden fixtures) and runs
# `paravisor boot`, which streams the shim's CHECK lines and the kernel's
# line from COM1.
#
#   tests/boot-shim/boot-demo.sh [OUTDIR]      (default: target/boot-demo)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/target/boot-demo}"
mkdir -p "$out"

(
  cd "$root/tests/boot-shim"
  env -u RUSTFLAGS CARGO_TARGET_DIR="$out/shim-target" \
    cargo build --quiet --release --target x86_64-unknown-linux-gnu
)
cp "$out/shim-target/x86_64-unknown-linux-gnu/release/boot-shim" "$out/shim.elf"
cc -nostdlib -static-pie -Wl,--build-id=none -o "$out/kernel.elf" \
  "$root/tests/test-kernel/kernel.S"
cp "$root/tests/golden/fixtures/initrd-1m.bin" "$out/initrd.bin"

cat > "$out/manifest.json" <<JSON
{
  "format": "paravisor-load-manifest/1",
  "arch": "x86_64",
  "isolation": { "type": "none", "paravisor_present": true, "shared_gpa_boundary_bits": null },
  "kernel": "kernel.elf",
  "shim": "shim.elf",
  "sidecar": null,
  "initrd": "initrd.bin",
  "command_line": { "type": "static", "value": "console=ttyS0 shimtest.policy=static" },
  "memory_page_base": null,
  "memory_page_count": 16384,
  "vtl0": { "pcat": true, "uefi": null, "linux": null }
}
JSON

cd "$root"
cargo run --quiet -p paravisor-cli -- boot "$out/manifest.json"

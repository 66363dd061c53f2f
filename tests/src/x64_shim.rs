//! The x86-64 test shim (`tests/boot-shim`), built for the host target
//! with its own freestanding link flags by the boot tests that load it
//! under QEMU (`boot_linux`).

use crate::cargo_build::build_release;
use crate::workspace_root;
use std::path::Path;

/// Builds the shim (its own `.cargo/config.toml`) into
/// `out/boot-shim-target` and returns the ELF file.
pub fn build_x64_shim(out: &Path) -> Result<Vec<u8>, String> {
    build_release(
        "tests/boot-shim",
        &workspace_root().join("tests/boot-shim"),
        "x86_64-unknown-linux-gnu",
        &out.join("boot-shim-target"),
        "boot-shim",
    )
}

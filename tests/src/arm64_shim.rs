//! The Rust AArch64 test shim (`tests/arm64-shim/rust`), built for
//! `aarch64-unknown-none` by the boot tests that load it (`boot_qemu`,
//! `boot_linux`).

use crate::cargo_build::build_release;
use crate::workspace_root;
use std::path::Path;

/// Builds the Rust shim (its own `.cargo/config.toml`:
/// `aarch64-unknown-none`) into `out/rust-shim-target` and returns the ELF
/// file.
pub fn build_rust_shim(out: &Path) -> Result<Vec<u8>, String> {
    build_release(
        "tests/arm64-shim/rust",
        &workspace_root().join("tests/arm64-shim/rust"),
        "aarch64-unknown-none",
        &out.join("rust-shim-target"),
        "arm64-boot-shim",
    )
}

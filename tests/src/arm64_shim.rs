//! The Rust AArch64 test shim (`tests/arm64-shim/rust`), built for
//! `aarch64-unknown-none` by the boot tests that load it (`boot_qemu`,
//! `boot_linux`).

use crate::cargo_build::build_release;
use crate::cargo_build::build_release_with;
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

/// The Rust shim built for ABI profile `abi` (its cargo feature
/// `abi-<name with - for .>`: it reads that profile's shim parameters), into
/// `out/rust-shim-target` like [`build_rust_shim`]. The build and the read
/// of its output hold one lock, so builds for two profiles cannot mix up
/// their outputs.
pub fn build_rust_shim_for(out: &Path, abi: paravisor_layout::Abi) -> Result<Vec<u8>, String> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if abi == paravisor_layout::Abi::default() {
        return build_rust_shim(out);
    }
    let feature = format!("abi-{}", abi.name().replace('.', "-"));
    build_release_with(
        "tests/arm64-shim/rust",
        &workspace_root().join("tests/arm64-shim/rust"),
        "aarch64-unknown-none",
        &out.join("rust-shim-target"),
        "arm64-boot-shim",
        &["--features", &feature],
    )
}

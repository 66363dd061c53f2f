//! The Rust AArch64 test shim (`tests/arm64-shim/rust`), built for
//! `aarch64-unknown-none` by the boot tests that load it (`boot_qemu`,
//! `boot_linux`).

use crate::workspace_root;
use std::path::Path;
use std::process::Command;

/// Builds the Rust shim with its own `.cargo/config.toml`
/// (`aarch64-unknown-none`) into `out/rust-shim-target` and returns the ELF
/// file; flags of the outer build must not leak in.
pub fn build_rust_shim(out: &Path) -> Result<Vec<u8>, String> {
    let dir = workspace_root().join("tests/arm64-shim/rust");
    let target_dir = out.join("rust-shim-target");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(&dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_MAKEFLAGS")
        .env("CARGO_TARGET_DIR", &target_dir)
        .args(["build", "--release", "--target", "aarch64-unknown-none"])
        .output()
        .map_err(|e| format!("cannot run cargo for tests/arm64-shim/rust: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building tests/arm64-shim/rust failed ({}; `rustup target add aarch64-unknown-none` installs the target): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let path = target_dir.join("aarch64-unknown-none/release/arm64-boot-shim");
    std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
}

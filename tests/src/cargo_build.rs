//! Building the freestanding programs the boot tests put into guests (the
//! AArch64 test shim, the Linux `/init`): each is its own cargo package with
//! its own `.cargo/config.toml`, built by a nested `cargo build --release`.

use std::path::Path;
use std::process::Command;

/// Builds the package in `package_dir` (a folder of the workspace, named in
/// messages as `name`) for `target` into `target_dir` and returns the
/// release executable `bin`. The package's `.cargo/config.toml` is found
/// from the current directory; flags of the outer build must not leak in.
pub fn build_release(
    name: &str,
    package_dir: &Path,
    target: &str,
    target_dir: &Path,
    bin: &str,
) -> Result<Vec<u8>, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(package_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_MAKEFLAGS")
        .env("CARGO_TARGET_DIR", target_dir)
        .args(["build", "--release", "--target", target])
        .output()
        .map_err(|e| format!("cannot run cargo to build {name}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building {name} for {target} failed ({}); `rustup target add {target}` may be missing:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let exe = target_dir.join(target).join("release").join(bin);
    std::fs::read(&exe).map_err(|e| format!("{}: {e}", exe.display()))
}

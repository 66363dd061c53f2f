//! Nested cargo builds for the tests: the freestanding programs the boot
//! tests put into guests (the AArch64 test shim, the Linux `/init`; each is
//! its own cargo package with its own `.cargo/config.toml`), and the
//! `paravisor` binary of another package of the workspace.

use crate::workspace_root;
use serde_json::Value;
use std::path::Path;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// `target/` of the running test binary (it is `target/<profile>/deps/…`), or
/// the workspace's target/ when that cannot be told.
pub fn test_target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(PathBuf::from))
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Path of the freshly built `paravisor` binary (`paravisor-cli`).
/// `CARGO_BIN_EXE_paravisor` exists only in that package's own tests, so
/// this asks cargo to build it (a no-op when it is up to date) and takes the
/// executable path from cargo's JSON messages: it works with any
/// `CARGO_TARGET_DIR` and profile. Panics when the build fails.
pub fn paravisor_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut command = Command::new(cargo);
        command
            .current_dir(workspace_root())
            .args(["build", "-p", "paravisor-cli", "--bin", "paravisor"])
            .args(["--message-format", "json-render-diagnostics"]);
        if !cfg!(debug_assertions) {
            command.arg("--release");
        }
        let out = command.output().expect("run cargo build");
        assert!(
            out.status.success(),
            "cargo build -p paravisor-cli failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|m| m["reason"] == "compiler-artifact")
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo reported no paravisor executable")
    })
}

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
    build_release_with(name, package_dir, target, target_dir, bin, &[])
}

/// [`build_release`] with more cargo arguments (`extra`, e.g. features).
pub fn build_release_with(
    name: &str,
    package_dir: &Path,
    target: &str,
    target_dir: &Path,
    bin: &str,
    extra: &[&str],
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
        .args(extra)
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

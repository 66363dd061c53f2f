//! The boot_linux tests' initramfs: `tests/linux-init` (a freestanding
//! static `/init`, built here for the guest architecture) in a `newc` cpio
//! archive with the mount points it uses and `/dev/console`.

use crate::cpio::Cpio;
use crate::kernels::KernelArch;
use crate::workspace_root;
use std::path::PathBuf;
use std::process::Command;

/// The line `/init` prints starts with this.
pub const INIT_MARKER: &str = "PARAVISOR-LINUX-INIT ";

/// The Rust target `/init` is built for.
pub fn init_target(arch: KernelArch) -> &'static str {
    match arch {
        KernelArch::X86_64 => "x86_64-unknown-linux-gnu",
        KernelArch::Aarch64 => "aarch64-unknown-none",
    }
}

/// target/ of the running test binary (it is target/<profile>/deps/…), or
/// the workspace's target/ when that cannot be told.
fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(PathBuf::from))
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Builds `/init` for `arch` (cargo, release) and returns the executable.
pub fn build_init(arch: KernelArch) -> Result<Vec<u8>, String> {
    let dir = workspace_root().join("tests").join("linux-init");
    let target_root = target_dir().join("linux-init");
    let target = init_target(arch);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        // The package's .cargo/config.toml is found from the current
        // directory; flags of the outer build must not leak in.
        .current_dir(&dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_MAKEFLAGS")
        .env("CARGO_TARGET_DIR", &target_root)
        .args(["build", "--release", "--target", target])
        .output()
        .map_err(|e| format!("cannot run cargo to build tests/linux-init: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building tests/linux-init for {target} failed ({}); `rustup target add {target}` may be missing:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let exe = target_root.join(target).join("release").join("linux-init");
    std::fs::read(&exe).map_err(|e| format!("{}: {e}", exe.display()))
}

/// The initramfs for `arch`: `/init`, `/proc`, `/sys`, `/dev/console`.
pub fn initramfs(arch: KernelArch) -> Result<Vec<u8>, String> {
    let init = build_init(arch)?;
    let mut cpio = Cpio::new();
    cpio.directory("dev");
    // /dev/console (5:1): the kernel opens it for init's standard streams.
    cpio.char_device("dev/console", 5, 1);
    cpio.directory("proc");
    cpio.directory("sys");
    cpio.file("init", 0o755, &init);
    Ok(cpio.finish())
}

//! The boot_linux tests' initramfs: `tests/linux-init` (a freestanding
//! static `/init`, built here for the guest architecture) in a `newc` cpio
//! archive with the mount points it uses and `/dev/console`.

use crate::cargo_build::build_release;
use crate::cpio::Cpio;
use crate::kernels::KernelArch;
use crate::workspace_root;
use std::path::PathBuf;

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
    build_release(
        "tests/linux-init",
        &workspace_root().join("tests").join("linux-init"),
        init_target(arch),
        &target_dir().join("linux-init"),
        "linux-init",
    )
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

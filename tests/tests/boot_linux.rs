//! Boots real Debian Linux kernels from the loader's image, under QEMU (TCG).
//!
//! The kernels are Debian's packaged ones (`tests/linux/kernels.json`,
//! fetched and cached by `paravisor_tests::kernels`; `PARAVISOR_LINUX_X64` /
//! `PARAVISOR_LINUX_ARM64` name other kernel files), the initramfs holds
//! our `/init` (`tests/linux-init`), which prints one line with what the
//! kernel saw and powers the machine off. Not being able to get a kernel
//! fails the tests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "boot_linux/aarch64.rs"]
mod aarch64;
#[path = "boot_linux/x86_64.rs"]
mod x86_64;

use paravisor_tests::EM_X86_64;
use paravisor_tests::initramfs::INIT_MARKER;
use paravisor_tests::initramfs::InitReport;
use paravisor_tests::initramfs::initramfs;
use paravisor_tests::kernels::KernelArch;
use paravisor_tests::kernels::kernel;
use std::path::Path;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Instant;

/// /init's line on `console`, parsed; panics with `context` (what the
/// console was and how the guest ended) when it is missing or malformed.
fn require_init_report(console: &str, context: &str) -> InitReport {
    InitReport::find(console)
        .unwrap_or_else(|| panic!("/init's line ({INIT_MARKER}…) not on the console{context}"))
        .unwrap_or_else(|e| panic!("{e}{context}"))
}

/// A folder below the test's temporary folder for the files of a
/// `paravisor boot` manifest.
struct CliFiles(PathBuf);

impl CliFiles {
    fn new(folder: &str) -> Self {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    /// Writes `bytes` to the file `name` in the folder; returns its path.
    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

/// What `paravisor boot` did.
struct CliBoot {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    /// The command, its status and time, stdout and stderr, for assertion
    /// messages.
    report: String,
    /// /init's line on stdout.
    init: InitReport,
}

/// Runs `paravisor boot MANIFEST ARGS` to its end; panics (with the
/// report) when /init's line is not on its stdout.
fn paravisor_boot(manifest: &Path, args: &[&str]) -> CliBoot {
    let started = Instant::now();
    let out = std::process::Command::new(paravisor_tests::cargo_build::paravisor_bin())
        .arg("boot")
        .arg(manifest)
        .args(args)
        .output()
        .expect("run paravisor boot");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let command = format!("paravisor boot {} {}", manifest.display(), args.join(" "));
    let ended = format!(
        "{:?} after {:.1} s",
        out.status,
        started.elapsed().as_secs_f64()
    );
    eprintln!("{command}: {ended}");
    let report = format!(
        "\n---- {command}: {ended}\n---- stdout ----\n{stdout}\n---- stderr ----\n{stderr}"
    );
    let init = require_init_report(&stdout, &report);
    CliBoot {
        status: out.status,
        stdout,
        stderr,
        report,
        init,
    }
}

/// The kernel file of `arch` (see `paravisor_tests::kernels`), printed
/// with its description, size and path.
fn kernel_bytes(arch: KernelArch) -> (String, Vec<u8>) {
    let k = kernel(arch).unwrap_or_else(|e| panic!("no {arch:?} kernel: {e}"));
    let bytes = std::fs::read(&k.path).unwrap();
    println!(
        "{}: {} bytes at {}",
        k.description,
        bytes.len(),
        k.path.display()
    );
    (k.description, bytes)
}

#[test]
fn x86_64_kernel_is_a_vmlinux_elf() {
    let (description, bytes) = kernel_bytes(KernelArch::X86_64);
    assert_eq!(&bytes[..4], b"\x7fELF", "{description}");
    assert_eq!(u16::from_le_bytes([bytes[18], bytes[19]]), EM_X86_64);
}

#[test]
fn aarch64_kernel_is_an_image() {
    let (description, bytes) = kernel_bytes(KernelArch::Aarch64);
    assert_eq!(&bytes[56..60], b"ARM\x64", "{description}");
}

#[test]
fn initramfs_holds_an_init_for_each_architecture() {
    for (arch, machine) in [(KernelArch::X86_64, 62u16), (KernelArch::Aarch64, 183)] {
        let cpio = initramfs(arch).unwrap();
        let at = cpio
            .windows(6)
            .position(|w| w == b"init\0\0")
            .expect("the /init entry");
        let elf = &cpio[at + 6..];
        assert_eq!(&elf[..4], b"\x7fELF", "{arch:?}");
        assert_eq!(u16::from_le_bytes([elf[18], elf[19]]), machine, "{arch:?}");
        if let Some(dir) = std::env::var_os("PARAVISOR_KEEP_INITRAMFS") {
            std::fs::write(
                std::path::Path::new(&dir).join(format!("{arch:?}.cpio")),
                &cpio,
            )
            .unwrap();
        }
    }
}

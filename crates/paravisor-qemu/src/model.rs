//! paravisor-boot's boot model for AArch64 under QEMU: the image, its
//! importer, the run configuration and what a run returns.

use crate::virt::Aarch64Registers;
use paravisor_boot::ExitReason;
use paravisor_boot::RunnerOptions;
use std::path::PathBuf;
use std::time::Duration;

/// The emulator binary looked up in `PATH` by default.
pub const QEMU_BINARY: &str = "qemu-system-aarch64";

/// Environment variable naming the emulator binary to use instead of
/// [`QEMU_BINARY`].
pub const QEMU_ENV: &str = "PARAVISOR_QEMU";

/// Everything needed to boot under QEMU: RAM, its initial contents and the
/// AArch64 registers.
pub type BootImage = paravisor_boot::BootImage<Aarch64Registers>;

/// Records what `load_openhcl_arm64` imports
/// ([`paravisor_boot::BootImageImporter`] with the registers the reset
/// stub sets); [`zero_filled_image`](paravisor_boot::BootImageImporter::zero_filled_image)
/// is what [`boot_aarch64`](crate::boot_aarch64) boots.
pub type BootImageImporter = paravisor_boot::BootImageImporter<Aarch64Registers>;

/// How to run QEMU (default time limit 60 s).
pub type RunConfig = paravisor_boot::RunConfig<QemuOptions>;

/// The QEMU runner's own options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QemuOptions {
    /// The emulator binary (default: the `PARAVISOR_QEMU` environment
    /// variable if set, else [`QEMU_BINARY`] looked up in `PATH`).
    pub qemu: PathBuf,
    /// The CPU model (default `cortex-a57`, which has EL2 and the CRC32
    /// instructions).
    pub cpu: String,
    /// Folder for the bios and RAM files; a fresh folder under the system
    /// temporary folder when `None`. Removed after the run unless
    /// `keep_files` is set.
    pub work_dir: Option<PathBuf>,
    /// Keep the generated files (for debugging).
    pub keep_files: bool,
}

impl Default for QemuOptions {
    fn default() -> Self {
        Self {
            qemu: std::env::var_os(QEMU_ENV)
                .map_or_else(|| PathBuf::from(QEMU_BINARY), PathBuf::from),
            cpu: "cortex-a57".to_owned(),
            work_dir: None,
            keep_files: false,
        }
    }
}

impl RunnerOptions for QemuOptions {
    const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
}

/// The result of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    /// Every byte the guest wrote to the semihosting console.
    pub console: Vec<u8>,
    /// QEMU's own diagnostics (standard error).
    pub qemu_stderr: String,
    /// Why QEMU stopped.
    pub exit: ExitReason,
    /// The command line that was run, for error messages.
    pub command: String,
}

impl RunOutcome {
    /// The console output as text (invalid UTF-8 replaced).
    pub fn console_text(&self) -> String {
        String::from_utf8_lossy(&self.console).into_owned()
    }
}

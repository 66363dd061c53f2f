//! paravisor-boot's boot model for x86-64 under KVM: the image, its
//! importer, the run configuration and what a run returns.

use paravisor_boot::ExitReason;
use paravisor_boot::X64Registers;
use std::time::Duration;

/// Everything needed to boot under KVM: RAM, its initial contents and the
/// x86-64 registers.
pub type BootImage = paravisor_boot::BootImage<X64Registers>;

/// Records a paravisor load for a KVM boot ([`paravisor_boot::BootImageImporter`]
/// with the registers KVM sets).
pub type BootImageImporter = paravisor_boot::BootImageImporter<X64Registers>;

/// How to run under KVM (default time limit 10 s).
pub type RunConfig = paravisor_boot::RunConfig<KvmOptions>;

/// The KVM runner's own options: none besides the shared ones of
/// [`paravisor_boot::RunConfig`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KvmOptions;

impl paravisor_boot::RunnerOptions for KvmOptions {
    const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
}

/// The result of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    /// Every byte written to port 0x3F8.
    pub serial: Vec<u8>,
    /// Why the vCPU stopped.
    pub exit: ExitReason,
    /// RIP when the vCPU stopped (`None` if it could not be read).
    pub final_rip: Option<u64>,
}

impl RunOutcome {
    /// The serial output as text (invalid UTF-8 replaced).
    pub fn serial_text(&self) -> String {
        String::from_utf8_lossy(&self.serial).into_owned()
    }
}

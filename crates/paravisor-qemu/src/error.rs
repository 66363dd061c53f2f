//! Errors of the QEMU runner.

use std::path::PathBuf;

/// Errors of the runner (not of the guest: those show in the
/// [`RunOutcome`](crate::RunOutcome)).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The emulator could not be started.
    #[error(
        "cannot run QEMU `{qemu}` ({reason}); install it (Debian: apt-get install qemu-system-arm qemu-system-x86) or set PARAVISOR_SKIP_QEMU=1 to skip the AArch64 boot tests"
    )]
    QemuUnavailable {
        /// The binary that was tried.
        qemu: PathBuf,
        /// What failed.
        reason: String,
    },
    /// A register the stub must set was not imported.
    #[error(
        "register {name} was not set; the reset stub needs every register the loader imports (docs/abi.md §7.6 for AArch64, §4 for x86-64)"
    )]
    MissingRegister {
        /// The register.
        name: &'static str,
    },
    /// A page range wraps around the address space.
    #[error("range at {gpa:#x} of {size:#x} bytes overflows the address space")]
    RangeOverflow {
        /// Start.
        gpa: u64,
        /// Size.
        size: u64,
    },
    /// Two imported ranges overlap.
    #[error("imported data at {second:#x} overlaps data imported at {first:#x}")]
    Overlap {
        /// Start of the earlier range.
        first: u64,
        /// Start of the overlapping range.
        second: u64,
    },
    /// Data is imported into the reset stub's page (GPA 0..0x1000).
    #[error("data at {gpa:#x} overlaps the reset stub page at GPA 0 of the virt machine")]
    ResetStubConflict {
        /// Start of the data.
        gpa: u64,
    },
    /// Data overlaps the start of RAM, where QEMU puts its device tree.
    #[error(
        "data at {gpa:#x} of {size:#x} bytes overlaps QEMU's device tree in the first {reserved:#x} bytes of RAM at {ram_base:#x}"
    )]
    DeviceTreeConflict {
        /// Start.
        gpa: u64,
        /// Size.
        size: u64,
        /// Bytes reserved for the device tree.
        reserved: u64,
        /// Start of RAM.
        ram_base: u64,
    },
    /// Data lies neither in the first flash bank nor in RAM of `virt`.
    #[error(
        "data at {gpa:#x} of {size:#x} bytes is neither below {flash_end:#x} (flash bank 0) nor in RAM from {ram_base:#x} on the virt machine"
    )]
    NotGuestMemory {
        /// Start.
        gpa: u64,
        /// Size.
        size: u64,
        /// End of flash bank 0.
        flash_end: u64,
        /// Start of RAM.
        ram_base: u64,
    },
    /// A required RAM range lies below the RAM of `virt`.
    #[error(
        "RAM range at {gpa:#x} of {size:#x} bytes starts below the virt machine's RAM at {ram_base:#x}"
    )]
    RamBelowBase {
        /// Start.
        gpa: u64,
        /// Size.
        size: u64,
        /// Start of RAM.
        ram_base: u64,
    },
    /// Data or RAM the x86-64 `pc` machine cannot hold where it must go.
    #[error(
        "range at {gpa:#x} of {size:#x} bytes is not plain RAM of the x86-64 pc machine (the legacy hole 0xA0000..0x100000, or past 3 GiB)"
    )]
    NotPcRam {
        /// Start.
        gpa: u64,
        /// Size.
        size: u64,
    },
    /// No page of the image's required RAM is free for the x86-64
    /// trampoline.
    #[error(
        "no free page in the image's RAM ranges (VTL2 memory) for the x86-64 trampoline, which must run where the imported page tables map it"
    )]
    NoTrampolinePage,
    /// Writing the bios or RAM files failed.
    #[error("cannot write QEMU input file {path}: {source}")]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Waiting for QEMU failed.
    #[error("waiting for QEMU failed: {0}")]
    Wait(std::io::Error),
    /// The host's device tree could not be written.
    #[error("cannot write the host device tree: {0}")]
    HostDeviceTree(String),
    /// The image has no device-tree parameter for the host's device tree.
    #[error(
        "the image has no device-tree parameter (parameter type DeviceTree, docs/abi.md §1.2) to hold the host's /chosen/bootargs"
    )]
    NoDeviceTreeParameter,
}

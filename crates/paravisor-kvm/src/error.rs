//! Errors of the KVM runner.

/// Errors of the runner (not of the guest: those are [`ExitReason`](paravisor_boot::ExitReason)s).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `/dev/kvm` could not be opened or used.
    #[error(
        "KVM is not usable on this machine ({reason}); /dev/kvm must exist and be read-writable"
    )]
    KvmUnavailable {
        /// What failed.
        reason: String,
    },
    /// A KVM ioctl failed.
    #[error("KVM call {call} failed: {errno}")]
    Kvm {
        /// Which call.
        call: &'static str,
        /// The error number.
        errno: kvm_ioctls::Error,
    },
    /// A RAM range wraps around the address space.
    #[error("RAM range at {gpa:#x} of size {size:#x} overflows the address space")]
    RangeOverflow {
        /// Start.
        gpa: u64,
        /// Size.
        size: u64,
    },
    /// A RAM range is empty or not page aligned.
    #[error("RAM range at {gpa:#x} of size {size:#x} is empty or not 4 KiB aligned")]
    RangeUnaligned {
        /// Start.
        gpa: u64,
        /// Size.
        size: u64,
    },
    /// Host memory for guest RAM could not be mapped.
    #[error("could not map {size:#x} bytes of host memory for guest RAM: {source}")]
    HostMemory {
        /// Requested size.
        size: u64,
        /// The OS error.
        source: std::io::Error,
    },
    /// Page data does not fit in guest RAM.
    #[error("page data at {gpa:#x} ({len:#x} bytes) is not inside guest RAM")]
    PageOutsideRam {
        /// Start of the data.
        gpa: u64,
        /// Length of the data.
        len: u64,
    },
    /// The watchdog could not be set up.
    #[error("could not set up the watchdog: {0}")]
    Watchdog(String),
}

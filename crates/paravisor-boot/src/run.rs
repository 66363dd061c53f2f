//! How to run a boot image, and why the guest stopped.

use std::time::Duration;

/// Defaults of a runner's [`RunConfig`], and its own options.
pub trait RunnerOptions: Clone + Default {
    /// The default time limit.
    const DEFAULT_TIMEOUT: Duration;
}

/// Default limit of captured console bytes ([`RunConfig::max_serial_bytes`]).
pub const DEFAULT_MAX_SERIAL_BYTES: usize = 1 << 20;

/// How to run a boot image; `O` holds the runner's own options (for QEMU:
/// the emulator binary, CPU model and work folder).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunConfig<O> {
    /// Stop the guest after this long.
    pub timeout: Duration,
    /// Stop once this many console bytes (serial port or semihosting
    /// console) were captured.
    pub max_serial_bytes: usize,
    /// The runner's own options.
    pub runner: O,
}

impl<O: RunnerOptions> Default for RunConfig<O> {
    fn default() -> Self {
        Self {
            timeout: O::DEFAULT_TIMEOUT,
            max_serial_bytes: DEFAULT_MAX_SERIAL_BYTES,
            runner: O::default(),
        }
    }
}

/// Why the guest stopped. Each runner reports the reasons its machine can
/// give (KVM: a halted vCPU, a shutdown, an entry failure...; QEMU: the
/// emulator's exit status).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExitReason {
    /// The guest executed HLT (with interrupts off: it is done).
    Halted,
    /// The emulator exited with this status (for a guest that ends with
    /// Arm semihosting `SYS_EXIT`, its status; 1 for an emulator error).
    Exited(i32),
    /// The emulator was killed by a signal.
    Signaled,
    /// The guest powered the machine off in a way the runner recognises
    /// but the machine cannot carry out, and the runner ended it (an x86-64
    /// Linux kernel without ACPI prints `reboot: Power down` and halts).
    PoweredOff,
    /// The time limit passed.
    TimedOut,
    /// The guest shut down: a triple fault (for example an unmapped
    /// instruction fetch with no IDT).
    Shutdown,
    /// The hardware refused to enter the guest (invalid register state).
    FailEntry {
        /// Hardware entry failure reason (VMX exit reason / SVM code).
        reason: u64,
    },
    /// The hypervisor reported an internal error (for example an emulation
    /// failure).
    InternalError {
        /// KVM's sub-error code.
        suberror: u32,
    },
    /// The guest touched a guest-physical address that is not RAM.
    UnexpectedMmio {
        /// The address.
        gpa: u64,
        /// Whether it was a write.
        write: bool,
    },
    /// The console output limit ([`RunConfig::max_serial_bytes`]) was
    /// reached.
    SerialLimit,
    /// Any other exit, described.
    Other(String),
}

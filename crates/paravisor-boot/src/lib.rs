//! The boot-image model shared by the boot runners (`paravisor-kvm` for
//! x86-64 under KVM, `paravisor-qemu` for AArch64 under QEMU).
//!
//! A loader hands its importer pages, registers and memory requirements; a
//! runner needs guest RAM, its initial contents and the boot processor's
//! registers. This crate is the bridge, written once for every
//! architecture:
//!
//! * [`BootImage`] — RAM ranges, page data and a register set `R` (each
//!   runner names the registers it can set, e.g. `X64Registers`,
//!   `Aarch64Registers`, by implementing [`BootRegisters`]);
//! * [`BootImageImporter`] — a [`paravisor_loader::ParavisorImporter`] that
//!   records a load (checking the image rules as the calls arrive), refuses
//!   registers the runner cannot set, and turns the recording into a
//!   [`BootImage`];
//! * [`RunConfig`] — how long to run and how much console output to keep,
//!   plus the runner's own options;
//! * [`ExitReason`] — why the guest stopped.
//!
//! ```
//! use paravisor_boot::{BootImageImporter, BootRegisters, PageData};
//! use paravisor_loader::{ImportPages, IsolationConfig, IsolationType, PageAcceptance,
//!     ParavisorImporter};
//! use vp_regs::aarch64::Aarch64Register;
//!
//! /// A runner that can set only PC.
//! #[derive(Clone, Debug, Default, PartialEq, Eq)]
//! struct PcOnly {
//!     pc: Option<u64>,
//! }
//!
//! impl BootRegisters for PcOnly {
//!     type Register = Aarch64Register;
//!     const HAS_VP_CONTEXT_PAGE: bool = false;
//!     fn set(&mut self, register: &Aarch64Register) -> bool {
//!         match *register {
//!             Aarch64Register::Pc(pc) => self.pc = Some(pc),
//!             _ => return false,
//!         }
//!         true
//!     }
//! }
//!
//! let mut importer = BootImageImporter::<PcOnly>::new(IsolationConfig {
//!     isolation_type: IsolationType::None,
//!     paravisor_present: true,
//!     shared_gpa_boundary_bits: None,
//! });
//! importer.import_pages(0x40, 1, "code", PageAcceptance::Exclusive, &[0xAA])?;
//! importer.import_vp_register(Aarch64Register::Pc(0x4_0000))?;
//! assert!(importer.import_vp_register(Aarch64Register::X0(0)).is_err());
//! let image = importer.into_image();
//! assert_eq!(image.pages, vec![PageData { gpa: 0x4_0000, data: vec![0xAA] }]);
//! assert_eq!(image.registers.pc, Some(0x4_0000));
//! # Ok::<(), paravisor_boot::ImportError>(())
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

mod importer;

pub use importer::BootImageImporter;
pub use importer::ImportError;

use std::time::Duration;

/// Bytes of guest memory at one guest-physical address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageData {
    /// Guest-physical address of the first byte.
    pub gpa: u64,
    /// The bytes (any length; memory not covered stays zero).
    pub data: Vec<u8>,
}

/// One range of guest-physical memory that must be RAM,
/// `[gpa, gpa + size)` (for example all of VTL2 memory, of which the loader
/// imports only a part).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RamRange {
    /// First guest-physical address.
    pub gpa: u64,
    /// Size in bytes.
    pub size: u64,
}

impl RamRange {
    /// One past the last byte, or `None` when it overflows.
    pub fn end(&self) -> Option<u64> {
        self.gpa.checked_add(self.size)
    }
}

/// Everything needed to boot: RAM, its initial contents and the boot
/// processor's registers `R`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BootImage<R> {
    /// Ranges that must be RAM besides the imported page data (for example
    /// all of VTL2 memory).
    pub ram: Vec<RamRange>,
    /// Initial memory contents.
    pub pages: Vec<PageData>,
    /// Boot processor register state.
    pub registers: R,
}

/// The register set a runner can give its boot processor, filled from the
/// registers a loader imports.
pub trait BootRegisters: Clone + Default {
    /// The loader's register type (`vp_regs::x86_64::X86Register`,
    /// `vp_regs::aarch64::Aarch64Register`).
    type Register: paravisor_host::register::SummaryRegister + Copy + std::fmt::Debug;

    /// Whether the architecture has an SNP VP-context (VMSA) page; when it
    /// has none, [`BootImageImporter`] refuses `set_vp_context_page`.
    const HAS_VP_CONTEXT_PAGE: bool;

    /// Sets `register`; `false` (nothing changed) for a register this
    /// runner cannot set.
    fn set(&mut self, register: &Self::Register) -> bool;
}

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

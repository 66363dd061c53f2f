//! The boot-image model shared by the boot runners (`paravisor-kvm` for
//! x86-64 under KVM, `paravisor-qemu` for AArch64 and x86-64 under QEMU).
//!
//! A loader hands its importer pages, registers and memory requirements; a
//! runner needs guest RAM, its initial contents and the boot processor's
//! registers. This crate is the bridge, written once for every
//! architecture:
//!
//! * [`BootImage`] — RAM ranges, page data and a register set `R` (each
//!   runner names the registers it can set by implementing
//!   [`BootRegisters`]: [`X64Registers`], shared by the KVM and QEMU x86-64
//!   runners, or `paravisor_qemu::Aarch64Registers`);
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

mod image;
mod importer;
mod run;
mod x86_64;

pub use image::BootImage;
pub use image::BootRegisters;
pub use image::PageData;
pub use image::RamRange;
pub use importer::BootImageImporter;
pub use importer::ImportError;
pub use run::DEFAULT_MAX_SERIAL_BYTES;
pub use run::ExitReason;
pub use run::RunConfig;
pub use run::RunnerOptions;
pub use x86_64::X64Registers;

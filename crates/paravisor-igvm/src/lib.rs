//! Host-side IGVM writer for paravisor loads: the files, launch measurements
//! and measurement documents OpenVMM's `igvmfilegen` writes, byte for byte.
//!
//! Used by the `paravisor igvm` and `paravisor inspect` commands and by the
//! golden tests. Unlike the loader crates this crate uses `std`: it is a
//! host tool, not firmware. It still has no panic reachable from its inputs.
//!
//! How it fits together (`spec/igvm.md` is the reference for every byte):
//!
//! * [`config`]: the build config `paravisor-igvm-config/1` (formats.md §4).
//! * [`guest::GuestBuilder`]: the importer state of one guest (platform) —
//!   one method per importer call (§4), finalised into headers and
//!   directives (§5) with its VP context ([`vp_context`], §6) and launch
//!   measurement ([`measure`], §10).
//! * [`adapter::IgvmImporter`]: the facade's `ParavisorImporter` over a
//!   `GuestBuilder`; [`build_from_config`] runs the paravisor loader for
//!   every guest of a config.
//! * [`build::assemble`]: merges the guests (§7) and serialises through the
//!   `igvm` crate (§8); [`IgvmBuild::write`] writes the file and the
//!   measurement documents (§10.5).
//! * [`inspect()`]: parses any IGVM file and recomputes its measurements.
//!
//! Where igvmfilegen panics (§12) this crate returns an [`IgvmError`]
//! (VTL2 memory of 4 GiB or more, TDX page tables above 4 GiB, SNP without
//! a shared GPA boundary, error pages, too many imported regions) or writes
//! a correct file (an empty initrd: a 0-page import imports nothing).
//!
//! # Example
//!
//! One VBS guest with one measured page and two registers, built in
//! memory, measured, serialised and inspected:
//!
//! ```
//! use paravisor_igvm::guest::{GuestArch, GuestBuilder, GuestIsolation, GuestSettings};
//! use paravisor_igvm::measure::MeasuredPlatform;
//! use elf_static_loader::PageAcceptance;
//! use igvm::registers::X86Register;
//!
//! let mut guest = GuestBuilder::new(GuestSettings {
//!     arch: GuestArch::X64,
//!     isolation: GuestIsolation::Vbs { enable_debug: false },
//!     max_vtl: 2,
//!     guest_svn: 1,
//! })?;
//! guest.import_pages(0x100, 1, "kernel", PageAcceptance::Exclusive, b"hello")?;
//! guest.import_x64_register(X86Register::Rip(0x10_0000))?;
//! guest.import_x64_register(X86Register::Cr3(0x20_0000))?;
//! let output = guest.finish()?;
//! let measurement = output.measurement.clone().unwrap();
//! assert_eq!(measurement.platform, MeasuredPlatform::Vbs);
//!
//! let build = paravisor_igvm::assemble(GuestArch::X64, vec![output])?;
//! let report = paravisor_igvm::inspect(&build.file_bytes)?;
//! assert!(report.round_trip_identical);
//! assert!(report.to_string().contains(&measurement.digest_hex()));
//! assert!(build.measurement_documents()[0].1.contains("\"vbs_isvsvn\":1"));
//! # Ok::<(), paravisor_igvm::IgvmError>(())
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

pub mod adapter;
pub mod build;
pub mod config;
pub mod diff;
pub mod error;
pub mod guest;
pub mod inspect;
pub mod measure;
pub mod vp_context;

pub use adapter::IgvmImporter;
pub use adapter::build_from_config;
pub use build::IgvmBuild;
pub use build::assemble;
pub use config::IgvmConfig;
pub use error::IgvmError;
pub use guest::GuestBuilder;
pub use inspect::Inspection;
pub use inspect::inspect;

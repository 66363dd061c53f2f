//! Host tooling around the `no_std` paravisor loader (`paravisor-loader`):
//! everything a host program needs to drive a load and look at what it
//! imported, none of which firmware needs.
//!
//! * [`manifest`] — the load manifest `paravisor-load-manifest/1`
//!   (docs/formats.md §1): reading one, its input files, running it into a
//!   summary;
//! * [`load`] — the architecture of a load and [`load_openhcl`], the one
//!   place that picks the x86-64 or AArch64 loader;
//! * [`summary`] — the image summary `paravisor-image-summary/1`
//!   (docs/formats.md §2–§3) and the importer that makes it;
//! * [`recording`] — the recording importer: every call in order, with owned
//!   page data (the boot runners and the tests use it);
//! * [`rules`] — the image rules of docs/formats.md §3 rule 3, checked in one
//!   place ([`ImageRules`]) by every importer above;
//! * [`register`] — registers by name and value, as summaries show them;
//! * `bench` (feature `bench`) — the copy baseline of a load, shared by
//!   `paravisor bench` and the load benchmark.
//!
//! ```
//! use paravisor_host::summary::SummaryImporter;
//! use paravisor_host::{Arch, load_openhcl};
//! use paravisor_loader::{CommandLine, IsolationConfig, IsolationType, LoadInputs, Vtl0Config};
//!
//! let inputs = LoadInputs {
//!     abi: paravisor_loader::Abi::default(),
//!     kernel: b"not an ELF",
//!     shim: b"not an ELF",
//!     sidecar: None,
//!     initrd: None,
//!     command_line: CommandLine::Static(""),
//!     memory_page_base: None,
//!     memory_page_count: 0x4000,
//!     vtl0: Vtl0Config::default(),
//!     abi: paravisor_loader::Abi::default(),
//! };
//! let isolation = IsolationConfig {
//!     isolation_type: IsolationType::None,
//!     paravisor_present: true,
//!     shared_gpa_boundary_bits: None,
//! };
//! let mut importer = SummaryImporter::new(Arch::Aarch64, isolation);
//! // Planning fails before anything is imported.
//! let result = load_openhcl(Arch::Aarch64, &mut importer, &inputs);
//! assert!(result.is_err());
//! assert!(!importer.imported_anything());
//! assert!(!importer.finish(result).ok());
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

#[cfg(feature = "bench")]
pub mod bench;
pub mod load;
pub mod manifest;
pub mod recording;
pub mod register;
pub mod rules;
pub mod summary;

pub use load::Arch;
pub use load::PlannedImage;
pub use load::load_openhcl;
pub use load::load_openhcl_with_buffer;
pub use rules::ImageRuleError;
pub use rules::ImageRules;

//! The OpenHCL paravisor loader: [`load_openhcl_x64`] and
//! [`load_openhcl_arm64`], the importer trait they talk to
//! ([`ParavisorImporter`]), and two importers.
//!
//! This is the crate users call. It composes the workspace's lower crates —
//! `elf-static-loader` (kernel, shim, sidecar, arm64 `Image`),
//! `x86-pagetables` / `arm64-pagetables` (identity maps), `snp-cpuid`,
//! `paravisor-layout` (every structure the boot shim reads) and `vp-regs` —
//! into the original OpenVMM loaders: for the same inputs the importer sees
//! the same pages, tags, acceptances, bytes, registers, parameter areas and
//! relocation records, in the same order.
//!
//! **Plan, then import.** Each load first computes and checks the whole
//! image ([`X64Layout::plan`], [`Arm64Layout::plan`]): every address, and
//! the image itself as data, an [`ImagePlan`] listing every importer call
//! in order. It then builds the page tables into a caller buffer, checks
//! that no two imports of the plan overlap, and only then applies the plan
//! ([`ImagePlan::apply`], the only code that calls an importer). A load that fails with
//! [`Error::Layout`] imported nothing. Every assert and panic of the
//! original is a [`LayoutError`].
//!
//! `no_std` and allocation-free. Importer shipped: [`GuestMemoryImporter`]
//! (writes into RAM the caller provides); the `std` feature adds
//! `load_openhcl_x64_alloc` / `load_openhcl_arm64_alloc`, which allocate the
//! page-table buffer. Host tooling (the load manifest, the image summary,
//! the recording importer) lives in the `paravisor-host` crate.
//!
//! ```
//! use paravisor_loader::{GuestMemoryImporter, IsolationConfig, IsolationType, LoadInputs,
//!     CommandLine, Vtl0Config, load_openhcl_x64};
//!
//! let iso = IsolationConfig {
//!     isolation_type: IsolationType::None,
//!     paravisor_present: true,
//!     shared_gpa_boundary_bits: None,
//! };
//! let inputs = LoadInputs {
//!     abi: paravisor_loader::Abi::default(),
//!     kernel: b"not an ELF",
//!     shim: b"not an ELF",
//!     sidecar: None,
//!     initrd: None,
//!     command_line: CommandLine::Static("console=ttyS0"),
//!     memory_page_base: None,
//!     memory_page_count: 0x4000,
//!     vtl0: Vtl0Config::default(),
//! };
//! let mut ram = [0u8; 4096];
//! let mut importer = GuestMemoryImporter::new(0, &mut ram, iso);
//! let mut tables = [0u8; 3 * 4096];
//! // An invalid kernel is a layout error, found before anything is imported.
//! let err = load_openhcl_x64(&mut importer, &inputs, &mut tables).unwrap_err();
//! assert!(matches!(err, paravisor_loader::Error::Layout(_)));
//! assert_eq!(importer.pages_written(), 0);
//! ```

#![no_std]
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

pub mod arm64;
pub mod error;
pub mod guest_memory;
pub mod importer;
pub mod inputs;
pub mod memory;
mod overlap;
pub mod place;
pub mod plan;
mod structs;
pub mod vtl0;
pub mod x64;

pub use arm64::Arm64Layout;
pub use arm64::load_openhcl_arm64;
#[cfg(feature = "std")]
pub use arm64::load_openhcl_arm64_alloc;
pub use elf_static_loader::image::InitrdInfo;
pub use elf_static_loader::image::KernelInfo;
pub use error::Error;
pub use error::LayoutError;
pub use guest_memory::GuestMemoryImporter;
pub use importer::ImportPages;
pub use importer::IsolationConfig;
pub use importer::IsolationType;
pub use importer::PAGE_SIZE;
pub use importer::PageAcceptance;
pub use importer::PageTableRelocation;
pub use importer::ParameterAreaIndex;
pub use importer::ParameterType;
pub use importer::ParavisorImporter;
pub use importer::RelocationRegion;
pub use importer::StartupMemoryType;
pub use inputs::CommandLine;
pub use inputs::LoadInputs;
pub use inputs::Vtl0Config;
pub use inputs::Vtl0Linux;
pub use inputs::Vtl0Region;
pub use inputs::Vtl0Uefi;
pub use paravisor_layout::Abi;
pub use plan::ImagePlan;
pub use x64::X64Layout;
pub use x64::load_openhcl_x64;
#[cfg(feature = "std")]
pub use x64::load_openhcl_x64_alloc;

#![doc = include_str!("../README.md")]
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
mod x64_tables;

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

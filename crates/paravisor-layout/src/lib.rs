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

#[cfg(test)]
extern crate std;

mod abi;
mod bytes;
mod config;
mod constants;
mod error;
mod shim;

pub use abi::Abi;
pub use abi::AbiFacts;
pub use abi::EXPECTED_PAGE_HASH_MAX_COUNT;
pub use abi::PARAVISOR_MEASURED_VTL2_CONFIG_PAGE_HASHES_PAGE_INDEX;
pub use abi::PARAVISOR_MEASURED_VTL2_CONFIG_PAGE_HASHES_SIZE_PAGES;
pub use abi::PageHashesArea;
pub use abi::ShimParamsLayout;
pub use abi::UnknownAbi;
pub use config::CommandLinePolicy;
pub use config::IMPORTED_REGION_DESCRIPTORS_PER_PAGE;
pub use config::ImportedRegionDescriptor;
pub use config::ImportedRegions;
pub use config::ImportedRegionsPage;
pub use config::ImportedRegionsPageHeader;
pub use config::LinuxInfo;
pub use config::PageRegionDescriptor;
pub use config::ParavisorCommandLine;
pub use config::ParavisorMeasuredVtl0Config;
pub use config::ParavisorMeasuredVtl2Config;
pub use config::ParavisorMeasuredVtl2ConfigWithPolicy;
pub use config::SupportedVtl0LoadInfo;
pub use config::UefiInfo;
pub use constants::*;
pub use error::LayoutError;
pub use shim::MemoryVtlType;
pub use shim::PersistedStateHeader;
pub use shim::ShimParamsBytes;
pub use shim::ShimParamsRaw;
pub use shim::ShimParamsRawNoPageTables;
pub use shim::SupportedIsolationType;

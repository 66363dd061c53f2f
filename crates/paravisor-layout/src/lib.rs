//! The OpenHCL paravisor's VTL2 memory layout and every structure its boot
//! shim reads.
//!
//! Who uses it: the paravisor loader (`paravisor-loader`) writes these
//! structures into guest pages; a boot shim reads them back. Every size,
//! offset and constant comes from `spec/abi.md` §1 – §3 and is asserted at
//! compile time. All structures are `#[repr(C)]` with zerocopy's
//! `IntoBytes`/`FromBytes`, so writing one is `as_bytes()`.
//!
//! Read-side helpers never panic: every `read_from`/`parse` takes a byte
//! slice and returns a [`LayoutError`] for short buffers or wrong magic;
//! [`ParavisorCommandLine::command_line`] checks the stored length and UTF-8;
//! [`PageRegionDescriptor::valid`] turns a zero page count into `None`;
//! [`ImportedRegionsPage::regions`] stops at the first empty descriptor or
//! the end of the page.
//!
//! # Example
//!
//! ```
//! use paravisor_layout::CommandLinePolicy;
//! use paravisor_layout::ParavisorCommandLine;
//! use paravisor_layout::ParavisorMeasuredVtl2Config;
//! use zerocopy::IntoBytes;
//!
//! // Loader side: build the command-line page.
//! let page = ParavisorCommandLine::new(CommandLinePolicy::STATIC, "console=ttyS0")?;
//! let bytes = page.as_bytes();
//! assert_eq!(bytes.len(), 4096);
//!
//! // Shim side: read it back from raw memory.
//! let read = ParavisorCommandLine::read_from(bytes)?;
//! assert_eq!(read.command_line()?, "console=ttyS0");
//!
//! // Magic numbers are checked.
//! let vtl2 = ParavisorMeasuredVtl2Config::new(46);
//! assert_eq!(&vtl2.as_bytes()[..8], b"2LTVLCHO");
//! assert!(ParavisorMeasuredVtl2Config::read_from(&[0u8; 16]).is_err());
//! # Ok::<(), paravisor_layout::LayoutError>(())
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

#[cfg(test)]
extern crate std;

mod abi;
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

/// Copies a `T` out of the start of `bytes`; trailing bytes are ignored.
fn read_prefix<T: zerocopy::FromBytes>(
    bytes: &[u8],
    structure: &'static str,
) -> Result<T, LayoutError> {
    T::read_from_prefix(bytes)
        .map(|(value, _rest)| value)
        .map_err(|_| LayoutError::BufferTooSmall {
            structure,
            needed: core::mem::size_of::<T>(),
            actual: bytes.len(),
        })
}

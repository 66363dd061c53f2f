//! Allocation-free x86-64 identity-map page tables: exact sizing, a
//! byte-for-byte re-implementation of the OpenHCL paravisor loader's
//! `PageTableBuilder`, and a walker that reads tables back.
//!
//! Used by the paravisor loader (which imports the tables as measured pages,
//! so their bytes must equal the original's) and by boot shims without an
//! allocator (which build or walk tables in place).
//!
//! * [`IdentityMapConfig`] says what to map: a 2 MiB-aligned region, an
//!   optional local map, an optional confidential (C-) bit, the TDX
//!   reset-vector page, and opt-in extensions (more ranges, 1 GiB pages,
//!   read-only / no-execute ranges, regions above 512 GiB).
//! * [`required_tables`] gives the exact number of 4 KiB tables;
//!   [`build_identity_map`] writes them into a caller buffer.
//! * [`PageTableWalker`] translates addresses and iterates mappings.
//! * [`paravisor`] holds the paravisor's configurations and its region-size
//!   formula.
//!
//! Every invalid input is a [`PageTableError`]; nothing here panics.
//!
//! ```
//! use x86_pagetables::{build_identity_map, required_tables, IdentityMapConfig, PageTableWalker};
//!
//! // 64 MiB at 128 MiB, tables at 0x0849_3000 (worked-example.md §7).
//! let config = IdentityMapConfig::new(0x0849_3000, 0x0800_0000, 0x0400_0000);
//! let tables = required_tables(&config)?;
//! assert_eq!(tables, 3); // PML4, PDPT, PD
//! let mut region = [0u8; 7 * 4096]; // the paravisor reserves 7 pages
//! let used = build_identity_map(&config, &mut region)?;
//! assert_eq!(used, 3 * 4096);
//! assert_eq!(region[..8], [0x23, 0x40, 0x49, 0x08, 0, 0, 0, 0]);
//!
//! let walker = PageTableWalker::new(&region, 0x0849_3000, 0x0849_3000, None)?;
//! let t = walker.translate(0x0812_3456)?;
//! assert_eq!(t.pa, 0x0812_3456);
//! assert_eq!(walker.regions().count(), 1);
//! # Ok::<(), Box<dyn core::error::Error>>(())
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

mod align;
mod builder;
mod config;
pub mod entry;
mod error;
pub mod paravisor;
mod ranges;
pub mod walker;

pub use align::X64_1GB_PAGE_SIZE;
pub use align::X64_LARGE_PAGE_SIZE;
pub use align::X64_PAGE_SIZE;
pub use align::align_up_to_1_gb_page_size;
pub use align::align_up_to_large_page_size;
pub use align::align_up_to_page_size;
pub use align::calculate_pde_table_count;
pub use builder::ENTRIES_PER_TABLE;
pub use builder::PageTable;
pub use builder::TABLE_SIZE;
pub use builder::build_identity_map;
pub use builder::build_identity_map_tables;
pub use builder::required_tables;
pub use config::IdentityMapConfig;
pub use config::IdentityRange;
pub use config::MAX_MAPPED_REGION_SIZE;
pub use config::MemoryRange;
pub use config::PHYSICAL_ADDRESS_LIMIT;
pub use config::RESET_VECTOR_PAGE_GPA;
pub use config::VIRTUAL_ADDRESS_LIMIT;
pub use entry::PageSize;
pub use error::PageTableError;
pub use error::WalkError;
pub use paravisor::ParavisorIsolation;
pub use paravisor::paravisor_page_table_region_pages;
pub use ranges::PAGE_TABLE_MAX_BYTES;
pub use ranges::PAGE_TABLE_MAX_COUNT;
pub use ranges::SortedRangesConfig;
pub use ranges::build_sorted_ranges;
pub use ranges::required_sorted_range_tables;
pub use walker::MappedRegion;
pub use walker::PageTableWalker;
pub use walker::Translation;

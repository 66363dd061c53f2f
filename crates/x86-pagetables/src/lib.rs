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

mod align;
mod builder;
mod config;
pub mod entry;
mod error;
pub mod paravisor;
mod ranges;
mod table;
pub mod walker;
mod writer;

pub use align::X64_1GB_PAGE_SIZE;
pub use align::X64_LARGE_PAGE_SIZE;
pub use align::X64_PAGE_SIZE;
pub use align::align_up_to_1_gb_page_size;
pub use align::align_up_to_large_page_size;
pub use align::align_up_to_page_size;
pub use align::calculate_pde_table_count;
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
pub use paravisor::LeafPolicy;
pub use paravisor::ParavisorIsolation;
pub use paravisor::ParavisorRanges;
pub use paravisor::paravisor_page_table_region_pages;
pub use ranges::PAGE_TABLE_MAX_BYTES;
pub use ranges::PAGE_TABLE_MAX_COUNT;
pub use ranges::SortedRangesConfig;
pub use ranges::build_sorted_ranges;
pub use ranges::required_sorted_range_tables;
pub use table::ENTRIES_PER_TABLE;
pub use table::PageTable;
pub use table::TABLE_SIZE;
pub use walker::MappedRegion;
pub use walker::PageTableWalker;
pub use walker::Translation;
pub use walker::WalkError;

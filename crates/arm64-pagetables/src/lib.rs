//! Allocation-free AArch64 stage-1 translation tables (4 KiB granule, 48-bit
//! input addresses): the paravisor's identity map, byte for byte as the
//! original OpenVMM `build_identity_page_tables_aarch64`, the general mapping
//! core underneath it, an exact size query, and a walker that reads tables
//! back.
//!
//! Who uses it: the paravisor loader facade (`paravisor-loader`) builds the
//! VTL2 identity map into the 15-page page-table area it imports as
//! "underhill-page-tables"; tests and tools walk imported tables to check
//! them.
//!
//! * [`build_identity_page_tables_aarch64`] and
//!   [`required_identity_table_bytes`]: the paravisor's map
//!   (`algorithms.md` §5).
//! * [`Arm64TableSpace`]: tables in a caller-provided buffer, allocated from a
//!   bump pointer in first-need order, root pre-filled with 0xFE;
//!   [`Arm64TableSpace::map_range`] maps with chosen
//!   [`Arm64MappingAttributes`] and refuses overlaps; [`required_tables`]
//!   sizes a mapping before building.
//! * [`Arm64TableWalker`]: translate a VA or iterate all mappings from table
//!   bytes and TTBR0_EL1; corrupt tables give errors.
//!
//! The MAIR types (memory attributes and their indirection register) live in
//! `vp-regs` and are re-exported here as [`MemoryAttributeEl1`] and
//! [`MemoryAttributeIndirectionEl1`].
//!
//! Every condition on which the original panics is an
//! [`Arm64PageTableError`] here. Nothing allocates.
//!
//! # Example
//!
//! ```
//! use arm64_pagetables::Arm64PageSize;
//! use arm64_pagetables::Arm64TableWalker;
//! use arm64_pagetables::build_identity_page_tables_aarch64;
//! use arm64_pagetables::required_identity_table_bytes;
//! use vp_regs::aarch64::paravisor::MAIR_EL1;
//!
//! // The paravisor's 15-page area at 0x4068_3000, mapping 128 MiB at 1 GiB.
//! let (table_gpa, start, size) = (0x4068_3000, 0x4000_0000, 0x800_0000);
//! let needed = required_identity_table_bytes(start, size)?;
//! let mut area = [0u8; 15 * 4096];
//! let used = build_identity_page_tables_aarch64(table_gpa, start, size, &MAIR_EL1, &mut area)?;
//! assert_eq!(used, needed);
//!
//! // Walk it back from TTBR0_EL1 = the area's GPA.
//! let walker = Arm64TableWalker::new(&area, table_gpa, table_gpa)?;
//! let hit = walker.translate(0x4123_4567)?.expect("mapped");
//! assert_eq!(hit.pa, 0x4123_4567);
//! assert_eq!(hit.mapping.size, Arm64PageSize::Large);
//! assert_eq!(walker.translate(0x4800_0000)?, None);
//! assert_eq!(walker.mappings().count(), 64);
//! # Ok::<(), arm64_pagetables::Arm64PageTableError>(())
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

mod address;
mod descriptor;
mod error;
mod identity;
mod space;
mod walker;

#[cfg(test)]
mod tests;

pub use address::Arm64PageSize;
pub use address::DESCRIPTOR_ADDRESS_LIMIT;
pub use address::ENTRIES_PER_TABLE;
pub use address::TABLE_SIZE;
pub use address::is_canonical;
pub use descriptor::Arm64AccessPermissions;
pub use descriptor::Arm64MappingAttributes;
pub use descriptor::Arm64NoExecute;
pub use descriptor::Arm64Shareability;
pub use descriptor::AttrIndx;
pub use descriptor::DESCRIPTOR_ACCESS_FLAG;
pub use descriptor::DESCRIPTOR_NOT_GLOBAL;
pub use descriptor::DESCRIPTOR_PXN;
pub use descriptor::DESCRIPTOR_TABLE_OR_PAGE;
pub use descriptor::DESCRIPTOR_UXN;
pub use descriptor::DESCRIPTOR_VALID;
pub use descriptor::ROOT_TABLE_FILL;
pub use error::Arm64PageTableError;
pub use identity::build_identity_page_tables_aarch64;
pub use identity::required_identity_table_bytes;
pub use identity::write_back_index;
pub use space::Arm64TableSpace;
pub use space::required_tables;
pub use vp_regs::aarch64::MemoryAttributeEl1;
pub use vp_regs::aarch64::MemoryAttributeIndirectionEl1;
pub use walker::Arm64Mapping;
pub use walker::Arm64Mappings;
pub use walker::Arm64TableWalker;
pub use walker::Arm64Translation;

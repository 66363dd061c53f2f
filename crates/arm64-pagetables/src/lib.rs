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

mod address;
mod chunks;
mod descriptor;
mod error;
mod fresh;
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

//! Stage-1 translation-table descriptors (`docs/abi.md` §7.7): the table
//! descriptor written at levels 0–2 and the block (levels 1, 2) / page
//! (level 3) descriptor, with the leaf attributes a caller can choose.

use crate::address::OUTPUT_ADDRESS_MASK;
use crate::error::Arm64PageTableError;

/// Bit 0 of every descriptor: valid.
pub const DESCRIPTOR_VALID: u64 = 1 << 0;
/// Bit 1: table (levels 0–2) or page (level 3); clear for a block.
pub const DESCRIPTOR_TABLE_OR_PAGE: u64 = 1 << 1;
/// Bit 10: access flag (AF).
pub const DESCRIPTOR_ACCESS_FLAG: u64 = 1 << 10;
/// Bit 11: not global (nG).
pub const DESCRIPTOR_NOT_GLOBAL: u64 = 1 << 11;
/// Bit 53: privileged execute-never (PXN).
pub const DESCRIPTOR_PXN: u64 = 1 << 53;
/// Bit 54: unprivileged execute-never (UXN).
pub const DESCRIPTOR_UXN: u64 = 1 << 54;

const ATTR_INDEX_SHIFT: u32 = 2;
const ACCESS_PERMISSIONS_SHIFT: u32 = 6;
const SHAREABILITY_SHIFT: u32 = 8;

/// Byte value of every byte of a root table before any entry is written: the
/// original pre-fills the level-0 table with 0xFE, so an unused root entry
/// reads 0xFEFE_FEFE_FEFE_FEFE (bit 0 clear: invalid). Part of the measured
/// image (`docs/abi.md` §7.7).
pub const ROOT_TABLE_FILL: u8 = 0xFE;

/// An index into MAIR_EL1 (AttrIndx, descriptor bits 2..=4): 0..=7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AttrIndx(u8);

impl AttrIndx {
    /// AttrIndx `index`, or an error when it does not fit the 3-bit field.
    pub const fn new(index: u8) -> Result<Self, Arm64PageTableError> {
        if index < 8 {
            Ok(Self(index))
        } else {
            Err(Arm64PageTableError::InvalidAttrIndx { index })
        }
    }

    /// The index, 0..=7.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for AttrIndx {
    type Error = Arm64PageTableError;

    fn try_from(index: u8) -> Result<Self, Self::Error> {
        Self::new(index)
    }
}

/// Data access permissions, AP\[2:1\] (descriptor bits 6..=7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arm64AccessPermissions {
    /// AP = 0: EL1 read/write, no EL0 access (what the paravisor uses).
    PrivilegedReadWrite,
    /// AP = 1: read/write at EL1 and EL0.
    ReadWrite,
    /// AP = 2: EL1 read-only, no EL0 access.
    PrivilegedReadOnly,
    /// AP = 3: read-only at EL1 and EL0.
    ReadOnly,
}

impl Arm64AccessPermissions {
    const fn bits(self) -> u64 {
        match self {
            Self::PrivilegedReadWrite => 0,
            Self::ReadWrite => 1,
            Self::PrivilegedReadOnly => 2,
            Self::ReadOnly => 3,
        }
    }

    const fn from_bits(bits: u64) -> Self {
        match bits & 3 {
            0 => Self::PrivilegedReadWrite,
            1 => Self::ReadWrite,
            2 => Self::PrivilegedReadOnly,
            _ => Self::ReadOnly,
        }
    }
}

/// Shareability, SH\[1:0\] (descriptor bits 8..=9). The encoding 1 is
/// reserved and is never written; the walker reports it as an invalid
/// descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arm64Shareability {
    /// SH = 0.
    NonShareable,
    /// SH = 2.
    OuterShareable,
    /// SH = 3 (what the paravisor uses).
    InnerShareable,
}

impl Arm64Shareability {
    const fn bits(self) -> u64 {
        match self {
            Self::NonShareable => 0,
            Self::OuterShareable => 2,
            Self::InnerShareable => 3,
        }
    }

    const fn from_bits(bits: u64) -> Option<Self> {
        match bits & 3 {
            0 => Some(Self::NonShareable),
            2 => Some(Self::OuterShareable),
            3 => Some(Self::InnerShareable),
            _ => None,
        }
    }
}

/// Execute-never choice, as the original's `Arm64NoExecute` (`docs/abi.md` §7.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arm64NoExecute {
    /// UXN 0, PXN 0: executable at EL0 and EL1.
    Off,
    /// UXN 1, PXN 0: not executable at EL0 (what the paravisor uses).
    UserOnly,
    /// UXN 0, PXN 1: not executable at EL1.
    PrivilegedOnly,
    /// UXN 1, PXN 1: never executable.
    Full,
}

impl Arm64NoExecute {
    const fn bits(self) -> u64 {
        match self {
            Self::Off => 0,
            Self::UserOnly => DESCRIPTOR_UXN,
            Self::PrivilegedOnly => DESCRIPTOR_PXN,
            Self::Full => DESCRIPTOR_UXN | DESCRIPTOR_PXN,
        }
    }

    const fn from_descriptor(descriptor: u64) -> Self {
        match (
            descriptor & DESCRIPTOR_UXN != 0,
            descriptor & DESCRIPTOR_PXN != 0,
        ) {
            (false, false) => Self::Off,
            (true, false) => Self::UserOnly,
            (false, true) => Self::PrivilegedOnly,
            (true, true) => Self::Full,
        }
    }
}

/// The attributes of a block or page mapping a caller chooses.
///
/// Every leaf descriptor written also has AF = 1 (without it QEMU faults
/// unless hardware access-flag management, TCR_EL1.HA, is enabled) and
/// nG = 0, as in the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Arm64MappingAttributes {
    /// MAIR_EL1 index of the memory type (AttrIndx).
    pub attr_index: AttrIndx,
    /// Data access permissions (AP).
    pub access: Arm64AccessPermissions,
    /// Shareability (SH).
    pub shareability: Arm64Shareability,
    /// Execute-never bits (UXN, PXN).
    pub no_execute: Arm64NoExecute,
}

impl Arm64MappingAttributes {
    /// The paravisor's attributes for normal memory at `attr_index`: EL1
    /// read/write, inner shareable, not executable at EL0 (`docs/abi.md` §7.7).
    pub const fn paravisor(attr_index: AttrIndx) -> Self {
        Self {
            attr_index,
            access: Arm64AccessPermissions::PrivilegedReadWrite,
            shareability: Arm64Shareability::InnerShareable,
            no_execute: Arm64NoExecute::UserOnly,
        }
    }

    /// The descriptor bits these attributes set, plus AF (no address, no
    /// valid/type bits).
    pub(crate) const fn leaf_bits(self) -> u64 {
        ((self.attr_index.0 as u64) << ATTR_INDEX_SHIFT)
            | (self.access.bits() << ACCESS_PERMISSIONS_SHIFT)
            | (self.shareability.bits() << SHAREABILITY_SHIFT)
            | DESCRIPTOR_ACCESS_FLAG
            | self.no_execute.bits()
    }

    /// Decodes the attributes of a leaf descriptor; `None` for the reserved
    /// shareability encoding 1.
    pub(crate) const fn from_leaf_descriptor(descriptor: u64) -> Option<Self> {
        let Some(shareability) = Arm64Shareability::from_bits(descriptor >> SHAREABILITY_SHIFT)
        else {
            return None;
        };
        Some(Self {
            attr_index: AttrIndx(((descriptor >> ATTR_INDEX_SHIFT) & 7) as u8),
            access: Arm64AccessPermissions::from_bits(descriptor >> ACCESS_PERMISSIONS_SHIFT),
            shareability,
            no_execute: Arm64NoExecute::from_descriptor(descriptor),
        })
    }
}

/// A table descriptor (levels 0–2) pointing at the table at `table_gpa`:
/// `table_gpa | 0x3` (`docs/abi.md` §7.7). `table_gpa` is 4 KiB-aligned and below
/// 2^47 (checked by the caller).
pub(crate) const fn table_descriptor(table_gpa: u64) -> u64 {
    (table_gpa & OUTPUT_ADDRESS_MASK) | DESCRIPTOR_VALID | DESCRIPTOR_TABLE_OR_PAGE
}

/// A block (level 1 or 2) or page (level 3) descriptor for `output_gpa`.
/// For the paravisor's attributes: `GPA | 0x0040_0000_0000_070D` for blocks,
/// `GPA | 0x0040_0000_0000_070F` for pages (`docs/abi.md` §7.7).
pub(crate) const fn leaf_descriptor(
    output_gpa: u64,
    level: u8,
    attributes: Arm64MappingAttributes,
) -> u64 {
    let page_bit = if level == 3 {
        DESCRIPTOR_TABLE_OR_PAGE
    } else {
        0
    };
    (output_gpa & OUTPUT_ADDRESS_MASK) | DESCRIPTOR_VALID | page_bit | attributes.leaf_bits()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAVISOR: Arm64MappingAttributes = Arm64MappingAttributes::paravisor(AttrIndx(3));

    #[test]
    fn paravisor_block_and_page_descriptors_match_the_spec() {
        // docs/abi.md §7.7: block = GPA | 0x0040_0000_0000_070D, page = GPA |
        // 0x0040_0000_0000_070F, table = GPA | 0x3.
        assert_eq!(
            leaf_descriptor(0x4000_0000, 1, PARAVISOR),
            0x0040_0000_4000_070D
        );
        assert_eq!(
            leaf_descriptor(0x0820_0000, 2, PARAVISOR),
            0x0040_0000_0820_070D
        );
        assert_eq!(
            leaf_descriptor(0x0820_1000, 3, PARAVISOR),
            0x0040_0000_0820_170F
        );
        assert_eq!(table_descriptor(0x0868_4000), 0x0868_4003);
    }

    #[test]
    fn no_execute_values_set_uxn_and_pxn_as_the_spec_says() {
        // docs/abi.md §7.7: Off (0, 0), UserOnly (UXN), PrivilegedOnly (PXN),
        // Full (both); UXN is bit 54, PXN bit 53.
        let with = |no_execute| Arm64MappingAttributes {
            no_execute,
            ..PARAVISOR
        };
        assert_eq!(with(Arm64NoExecute::Off).leaf_bits() >> 53, 0);
        assert_eq!(with(Arm64NoExecute::UserOnly).leaf_bits() >> 53, 2);
        assert_eq!(with(Arm64NoExecute::PrivilegedOnly).leaf_bits() >> 53, 1);
        assert_eq!(with(Arm64NoExecute::Full).leaf_bits() >> 53, 3);
    }

    #[test]
    fn leaf_attributes_round_trip_through_a_descriptor() {
        for index in 0..8 {
            for access in [
                Arm64AccessPermissions::PrivilegedReadWrite,
                Arm64AccessPermissions::ReadWrite,
                Arm64AccessPermissions::PrivilegedReadOnly,
                Arm64AccessPermissions::ReadOnly,
            ] {
                for shareability in [
                    Arm64Shareability::NonShareable,
                    Arm64Shareability::OuterShareable,
                    Arm64Shareability::InnerShareable,
                ] {
                    for no_execute in [
                        Arm64NoExecute::Off,
                        Arm64NoExecute::UserOnly,
                        Arm64NoExecute::PrivilegedOnly,
                        Arm64NoExecute::Full,
                    ] {
                        let attributes = Arm64MappingAttributes {
                            attr_index: AttrIndx::new(index).unwrap(),
                            access,
                            shareability,
                            no_execute,
                        };
                        let descriptor = leaf_descriptor(0x20_0000, 2, attributes);
                        assert_eq!(
                            Arm64MappingAttributes::from_leaf_descriptor(descriptor),
                            Some(attributes)
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn attr_indx_above_7_is_an_error() {
        assert_eq!(AttrIndx::new(7).map(AttrIndx::get), Ok(7));
        assert_eq!(
            AttrIndx::new(8),
            Err(Arm64PageTableError::InvalidAttrIndx { index: 8 })
        );
    }

    #[test]
    fn reserved_shareability_is_not_decoded() {
        assert_eq!(
            Arm64MappingAttributes::from_leaf_descriptor(0x0000_0000_0000_0501),
            None
        );
    }
}

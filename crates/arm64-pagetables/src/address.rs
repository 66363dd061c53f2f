//! Translation-granule geometry: page sizes, level index fields and the
//! canonical-address rule for a 4 KiB granule with 48-bit input addresses
//! (`docs/abi.md` §7.7, `VirtualAddress`).

/// Size of one translation table and of the smallest page: 4 KiB.
pub const TABLE_SIZE: usize = 4096;

/// Number of 8-byte descriptors in one translation table.
pub const ENTRIES_PER_TABLE: usize = 512;

/// One past the largest output address (or next-table address) a descriptor
/// can hold: the PFN fields are 35 bits wide (bits 12..=46), so every address
/// written into a descriptor must be below 2^47 (`docs/abi.md` §7.7).
pub const DESCRIPTOR_ADDRESS_LIMIT: u64 = 1 << 47;

/// Mask of the output-address / next-table-address bits 47..=12 of a
/// descriptor, as the hardware reads them with a 48-bit output address.
pub(crate) const OUTPUT_ADDRESS_MASK: u64 = 0x0000_FFFF_FFFF_F000;

/// Page (leaf) sizes of the 4 KiB granule, named as in the original
/// (`page_table::aarch64::Arm64PageSize`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Arm64PageSize {
    /// 4 KiB page, a level-3 page descriptor.
    Small,
    /// 2 MiB block, a level-2 block descriptor.
    Large,
    /// 1 GiB block, a level-1 block descriptor.
    Huge,
}

impl Arm64PageSize {
    /// The size in bytes: 0x1000, 0x20_0000 or 0x4000_0000.
    pub const fn bytes(self) -> u64 {
        match self {
            Self::Small => 0x1000,
            Self::Large => 0x20_0000,
            Self::Huge => 0x4000_0000,
        }
    }

    /// The translation level whose descriptor maps a page of this size:
    /// 3, 2 or 1.
    pub const fn leaf_level(self) -> u8 {
        match self {
            Self::Small => 3,
            Self::Large => 2,
            Self::Huge => 1,
        }
    }

    /// The page size mapped by a leaf descriptor at `level` (1, 2 or 3).
    pub const fn from_leaf_level(level: u8) -> Option<Self> {
        match level {
            1 => Some(Self::Huge),
            2 => Some(Self::Large),
            3 => Some(Self::Small),
            _ => None,
        }
    }
}

impl From<Arm64PageSize> for u64 {
    fn from(size: Arm64PageSize) -> u64 {
        size.bytes()
    }
}

/// Bit position of the lowest VA bit indexed at `level` (0..=3): 39, 30, 21,
/// 12. Each entry of a level-`level` table covers `1 << level_shift(level)`
/// bytes of VA.
pub(crate) const fn level_shift(level: u8) -> u32 {
    match level {
        0 => 39,
        1 => 30,
        2 => 21,
        _ => 12,
    }
}

/// The 9-bit index of `va` at `level` (level 0: bits 39..=47, level 1:
/// 30..=38, level 2: 21..=29, level 3: 12..=20).
pub(crate) const fn level_index(va: u64, level: u8) -> usize {
    ((va >> level_shift(level)) & 0x1FF) as usize
}

/// Whether `va` is canonical for 48-bit input addresses: bits 63..=47 all
/// equal to bit 47 (`docs/abi.md` §7.7).
pub const fn is_canonical(va: u64) -> bool {
    let upper = va >> 47;
    upper == 0 || upper == (u64::MAX >> 47)
}

/// Whether `value` is a multiple of `align` (a power of two).
pub(crate) const fn is_aligned(value: u64, align: u64) -> bool {
    value & (align.wrapping_sub(1)) == 0
}

/// Distance from `value` up to the next multiple of `align` (a power of
/// two); 0 when `value` is already aligned. Never overflows, also near the
/// top of the address space.
pub(crate) const fn gap_to_boundary(value: u64, align: u64) -> u64 {
    value.wrapping_neg() & align.wrapping_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_indices_follow_the_spec_bit_ranges() {
        // docs/abi.md §7.7: 12..=20 level 3, 21..=29 level 2, 30..=38 level 1,
        // 39..=47 level 0.
        let va = (0x1A5 << 39) | (0x0F3 << 30) | (0x101 << 21) | (0x1FF << 12) | 0xABC;
        assert_eq!(level_index(va, 0), 0x1A5);
        assert_eq!(level_index(va, 1), 0x0F3);
        assert_eq!(level_index(va, 2), 0x101);
        assert_eq!(level_index(va, 3), 0x1FF);
    }

    #[test]
    fn canonical_means_bits_63_to_47_equal() {
        assert!(is_canonical(0));
        assert!(is_canonical(0x0000_7FFF_FFFF_FFFF));
        assert!(!is_canonical(0x0000_8000_0000_0000));
        assert!(!is_canonical(0x7FFF_8000_0000_0000));
        assert!(is_canonical(0xFFFF_8000_0000_0000));
        assert!(!is_canonical(0xFFFF_7FFF_FFFF_FFFF));
        assert!(is_canonical(u64::MAX));
    }

    #[test]
    fn gap_to_boundary_is_zero_when_aligned_and_never_overflows() {
        assert_eq!(gap_to_boundary(0x4000_0000, 0x4000_0000), 0);
        assert_eq!(gap_to_boundary(0x3FE0_0000, 0x4000_0000), 0x20_0000);
        assert_eq!(
            gap_to_boundary(0xFFFF_FFFF_FFE0_0000, 0x4000_0000),
            0x20_0000
        );
    }

    #[test]
    fn page_sizes_match_the_spec() {
        assert_eq!(u64::from(Arm64PageSize::Small), 0x1000);
        assert_eq!(u64::from(Arm64PageSize::Large), 0x20_0000);
        assert_eq!(u64::from(Arm64PageSize::Huge), 0x4000_0000);
        for size in [
            Arm64PageSize::Small,
            Arm64PageSize::Large,
            Arm64PageSize::Huge,
        ] {
            assert_eq!(
                Arm64PageSize::from_leaf_level(size.leaf_level()),
                Some(size)
            );
        }
    }
}

//! x86-64 page-table entry bits and the encodings the builder writes
//! (docs/abi.md §4.6).

/// Bit 0: the entry is present.
pub const PRESENT: u64 = 1 << 0;
/// Bit 1: writes allowed.
pub const READ_WRITE: u64 = 1 << 1;
/// Bit 2: user-mode access allowed (never set by the builder).
pub const USER: u64 = 1 << 2;
/// Bit 5: accessed.
pub const ACCESSED: u64 = 1 << 5;
/// Bit 6: dirty (leaves only).
pub const DIRTY: u64 = 1 << 6;
/// Bit 7: page size (PS): the PDPTE or PDE is a 1 GiB or 2 MiB leaf.
pub const PAGE_SIZE: u64 = 1 << 7;
/// Bit 63: no-execute (only with EFER.NXE; the original never sets it).
pub const NO_EXECUTE: u64 = 1 << 63;
/// Address field of an entry, bits 12..=51, before removing a C-bit.
pub const ADDRESS_MASK: u64 = 0x000F_FFFF_FFFF_F000;

/// Non-leaf entry (PML4E, PDPTE, PDE → table): P | RW | A = 0x23.
pub const NON_LEAF_FLAGS: u64 = PRESENT | READ_WRITE | ACCESSED;
/// 1 GiB or 2 MiB leaf: P | RW | A | D | PS = 0xE3.
pub const LARGE_LEAF_FLAGS: u64 = PRESENT | READ_WRITE | ACCESSED | DIRTY | PAGE_SIZE;
/// 4 KiB leaf (PTE): P | RW | A | D = 0x63.
pub const PAGE_LEAF_FLAGS: u64 = PRESENT | READ_WRITE | ACCESSED | DIRTY;

/// The lowest and highest bit accepted as a confidential (C-) bit: a
/// physical-address bit of the entry's address field.
pub const CONFIDENTIAL_BIT_RANGE: core::ops::RangeInclusive<u8> = 12..=51;

/// The address field mask with the confidential bit removed (docs/abi.md §4.6).
///
/// Returns `None` if `confidential_bit` is outside [`CONFIDENTIAL_BIT_RANGE`].
pub const fn address_mask(confidential_bit: Option<u8>) -> Option<u64> {
    match confidential_bit {
        None => Some(ADDRESS_MASK),
        Some(bit) if bit >= 12 && bit <= 51 => Some(ADDRESS_MASK & !(1u64 << bit)),
        Some(_) => None,
    }
}

/// The value OR-ed into every entry for a confidential bit (0 if none).
///
/// Returns `None` if `confidential_bit` is outside [`CONFIDENTIAL_BIT_RANGE`].
pub const fn confidential_mask(confidential_bit: Option<u8>) -> Option<u64> {
    match confidential_bit {
        None => Some(0),
        Some(bit) if bit >= 12 && bit <= 51 => Some(1u64 << bit),
        Some(_) => None,
    }
}

/// The page size of a leaf entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PageSize {
    /// 4 KiB page (PTE).
    Size4KiB,
    /// 2 MiB page (PDE with PS).
    Size2MiB,
    /// 1 GiB page (PDPTE with PS).
    Size1GiB,
}

impl PageSize {
    /// The page size in bytes.
    pub const fn bytes(self) -> u64 {
        match self {
            PageSize::Size4KiB => crate::X64_PAGE_SIZE,
            PageSize::Size2MiB => crate::X64_LARGE_PAGE_SIZE,
            PageSize::Size1GiB => crate::X64_1GB_PAGE_SIZE,
        }
    }
}

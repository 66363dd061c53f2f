//! The crate's error type.

/// Why a table space could not be created, a range could not be mapped, or
/// tables could not be walked.
///
/// Every variant carries the offending values. Where the original panics
/// (`docs/algorithms.md` §9 rows 14, 15, 20 and 22) this crate returns one of
/// these instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Arm64PageTableError {
    /// The identity map's start GPA is not 2 MiB-aligned (the original
    /// panics "start_gpa not 2mb aligned").
    #[error("identity map start GPA {start_gpa:#x} is not 2 MiB-aligned")]
    IdentityStartMisaligned {
        /// The rejected start GPA.
        start_gpa: u64,
    },
    /// The identity map's size is not a multiple of 2 MiB (the original
    /// panics "size not 2mb aligned").
    #[error("identity map size {size:#x} is not a multiple of 2 MiB")]
    IdentitySizeMisaligned {
        /// The rejected size.
        size: u64,
    },
    /// The MAIR has no Normal_WriteBack (0xFF) attribute, which the identity
    /// map uses for every mapping.
    #[error("MAIR_EL1 {mair:#018x} has no Normal_WriteBack (0xff) attribute")]
    MissingWriteBack {
        /// The MAIR, packed (Attr*n* = byte *n*).
        mair: u64,
    },
    /// An AttrIndx above 7 (the field is 3 bits wide).
    #[error("AttrIndx {index} does not fit the 3-bit descriptor field (maximum 7)")]
    InvalidAttrIndx {
        /// The rejected index.
        index: u8,
    },
    /// The page-table area's GPA is not 4 KiB-aligned.
    #[error("page-table area GPA {gpa:#x} is not 4 KiB-aligned")]
    MisalignedTableArea {
        /// The rejected GPA.
        gpa: u64,
    },
    /// The page-table area's length is not a multiple of 4 KiB.
    #[error("page-table area length {len:#x} is not a multiple of 4 KiB")]
    InvalidTableAreaSize {
        /// The rejected length in bytes.
        len: usize,
    },
    /// The page-table area is empty: there is no room for the root table.
    #[error("page-table area is empty: the root table needs 4 KiB")]
    EmptyTableArea,
    /// The page-table area runs past the end of the 64-bit address space.
    #[error("page-table area at {gpa:#x} of {len:#x} bytes runs past the end of the address space")]
    TableAreaOverflow {
        /// The area's GPA.
        gpa: u64,
        /// The area's length in bytes.
        len: usize,
    },
    /// A table that must be allocated would lie at or above 2^47: its address
    /// does not fit the 35-bit next-table PFN field (the original panics in
    /// the bitfield setter).
    #[error(
        "translation table at GPA {table_gpa:#x} does not fit the 35-bit next-table PFN field (must be below 0x8000_0000_0000)"
    )]
    TableAddressTooLarge {
        /// GPA of the table that would be allocated.
        table_gpa: u64,
    },
    /// A physical (output) address that is not aligned as required.
    #[error("physical address {pa:#x} is not aligned to {alignment:#x}")]
    MisalignedPhysAddress {
        /// The rejected address.
        pa: u64,
        /// The required alignment.
        alignment: u64,
    },
    /// A virtual address that is not aligned as required.
    #[error("virtual address {va:#x} is not aligned to {alignment:#x}")]
    MisalignedVirtAddress {
        /// The rejected address.
        va: u64,
        /// The required alignment.
        alignment: u64,
    },
    /// A mapping size that is not a multiple of 4 KiB.
    #[error("mapping size {size:#x} is not a multiple of 4 KiB")]
    InvalidMappingSize {
        /// The rejected size.
        size: u64,
    },
    /// A mapping of size 0.
    #[error("mapping is empty (size 0)")]
    EmptyMapping,
    /// A virtual address whose bits 63..=47 are not all equal to bit 47, or a
    /// range that crosses from the lower into the upper canonical half.
    #[error(
        "virtual address {va:#x} is not canonical for 48-bit addresses (bits 63..=47 must all equal bit 47)"
    )]
    NonCanonicalVirtAddress {
        /// The first non-canonical address of the range.
        va: u64,
    },
    /// A range whose end does not fit in 64 bits.
    #[error("range at {start:#x} of {size:#x} bytes runs past the end of the 64-bit address space")]
    RangeOverflow {
        /// Start of the range.
        start: u64,
        /// Size of the range.
        size: u64,
    },
    /// An output address at or above 2^47: it does not fit the 35-bit output
    /// PFN field (the original panics in the bitfield setter).
    #[error(
        "physical range {pa:#x}..={last:#x} does not fit the 35-bit output PFN field (must be below 0x8000_0000_0000)"
    )]
    PhysAddressTooLarge {
        /// Start of the physical range.
        pa: u64,
        /// Last byte of the physical range.
        last: u64,
    },
    /// The range overlaps an existing mapping.
    #[error("virtual address {va:#x} is already mapped (valid descriptor at level {level})")]
    AlreadyMapped {
        /// First VA of the overlapping translation-table entry.
        va: u64,
        /// Level of the valid block or page descriptor found there.
        level: u8,
    },
    /// The table area is too small for the tables the mapping needs.
    #[error("page-table area of {available} tables is too small: {required} tables are needed")]
    OutOfMemory {
        /// Tables (4 KiB each, root included) that would be in use.
        required: u64,
        /// Tables that fit the area.
        available: u64,
    },
    /// The output buffer is too small for the table area it must describe.
    #[error("output buffer of {len:#x} bytes is too small: {required:#x} bytes are needed")]
    BufferTooSmall {
        /// Bytes needed.
        required: usize,
        /// Bytes given.
        len: usize,
    },
    /// TTBR0_EL1's base address is not 4 KiB-aligned.
    #[error("TTBR0_EL1 {ttbr0:#x} does not hold a 4 KiB-aligned table address")]
    MisalignedTtbr0 {
        /// The rejected register value.
        ttbr0: u64,
    },
    /// A table address (from TTBR0 or a table descriptor) outside the table
    /// bytes, or not 4 KiB-aligned.
    #[error("level-{level} table at GPA {table_gpa:#x} lies outside the table bytes")]
    TableOutOfBounds {
        /// GPA of the table.
        table_gpa: u64,
        /// Its level.
        level: u8,
    },
    /// A descriptor that no valid 4 KiB-granule table holds: a level-0
    /// block, a level-3 descriptor with bit 1 clear, or reserved
    /// shareability (SH = 1).
    #[error("invalid level-{level} descriptor {descriptor:#018x} for VA {va:#x}")]
    InvalidDescriptor {
        /// The descriptor.
        descriptor: u64,
        /// Its level.
        level: u8,
        /// First VA the entry translates.
        va: u64,
    },
    /// A block or page descriptor whose output address is not aligned to its
    /// size.
    #[error(
        "level-{level} block/page descriptor {descriptor:#018x} for VA {va:#x} has a misaligned output address"
    )]
    MisalignedOutputAddress {
        /// The descriptor.
        descriptor: u64,
        /// Its level.
        level: u8,
        /// First VA the entry translates.
        va: u64,
    },
    /// The tables reference a table more than once (a loop back to an
    /// ancestor, or more table references than the bytes hold tables).
    #[error(
        "level-{level} table at GPA {table_gpa:#x} is reached more than once (loop or shared table)"
    )]
    TableLoop {
        /// GPA of the table reached again.
        table_gpa: u64,
        /// The level at which it was reached.
        level: u8,
    },
}

//! The error of sizing and building identity maps (a walk fails with
//! [`WalkError`](crate::walker::WalkError), defined with the walker).

/// Why an identity map cannot be sized or built.
///
/// Every panic of the original `PageTableBuilder` (docs/algorithms.md §9 rows 3–8)
/// is one of these variants, and so is every check this crate adds (overflow,
/// address-space limits, buffer size).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PageTableError {
    /// The mapped region has size 0 (original: "size not set").
    #[error("mapped region at {start:#x} has size 0 (nothing to map)")]
    EmptyRegion {
        /// Start GPA of the mapped region.
        start: u64,
    },
    /// The mapped region is larger than 512 GiB and the limit was not lifted
    /// (original: "more than 512 gb size not supported").
    #[error(
        "mapped region at {start:#x} has size {size:#x}, more than the {limit:#x} (512 GiB) the original supports"
    )]
    RegionTooLarge {
        /// Start GPA of the mapped region.
        start: u64,
        /// Requested size in bytes.
        size: u64,
        /// The limit, 512 GiB.
        limit: u64,
    },
    /// The mapped region's size is not a multiple of 2 MiB.
    #[error("mapped region at {start:#x} has size {size:#x}, which is not 2 MiB aligned")]
    RegionSizeUnaligned {
        /// Start GPA of the mapped region.
        start: u64,
        /// Size in bytes.
        size: u64,
    },
    /// The mapped region's start is not 2 MiB aligned.
    #[error("mapped region start {start:#x} (size {size:#x}) is not 2 MiB aligned")]
    RegionStartUnaligned {
        /// Start GPA of the mapped region.
        start: u64,
        /// Size in bytes.
        size: u64,
    },
    /// The local map's VA is not 2 MiB aligned.
    #[error("local map address {va:#x} (size {size:#x}) is not 2 MiB aligned")]
    LocalMapStartUnaligned {
        /// Local map VA.
        va: u64,
        /// Local map size.
        size: u64,
    },
    /// The local map's size is not a multiple of 2 MiB.
    #[error("local map at {va:#x} has size {size:#x}, which is not 2 MiB aligned")]
    LocalMapSizeUnaligned {
        /// Local map VA.
        va: u64,
        /// Local map size.
        size: u64,
    },
    /// The local map has size 0.
    #[error("local map at {va:#x} has size 0")]
    LocalMapEmpty {
        /// Local map VA.
        va: u64,
    },
    /// The local map overlaps the mapped region.
    #[error(
        "local map [{va:#x}, +{size:#x}) overlaps the mapped region [{region_start:#x}, +{region_size:#x})"
    )]
    LocalMapOverlap {
        /// Local map VA.
        va: u64,
        /// Local map size.
        size: u64,
        /// Mapped region start.
        region_start: u64,
        /// Mapped region size.
        region_size: u64,
    },
    /// An additional range has size 0.
    #[error("additional range at {start:#x} has size 0")]
    RangeEmpty {
        /// Start of the range.
        start: u64,
    },
    /// An additional range's start or size is not 4 KiB aligned.
    #[error("additional range [{start:#x}, +{size:#x}) is not 4 KiB aligned")]
    RangeUnaligned {
        /// Start of the range.
        start: u64,
        /// Size of the range.
        size: u64,
    },
    /// `start + size` of a range does not fit in 64 bits.
    #[error("range [{start:#x}, +{size:#x}) overflows the 64-bit address space")]
    RangeOverflow {
        /// Start of the range.
        start: u64,
        /// Size of the range.
        size: u64,
    },
    /// A range ends above what 4-level paging can translate (2^48): the PML4
    /// index would wrap around.
    #[error("range [{start:#x}, +{size:#x}) ends above {limit:#x}, beyond 4-level paging")]
    BeyondAddressSpace {
        /// Start of the range.
        start: u64,
        /// Size of the range.
        size: u64,
        /// The limit, 2^48.
        limit: u64,
    },
    /// An address would be mapped twice (original: the "PD entry must not be
    /// present" assert, e.g. a TDX 3 GiB map covering the reset vector).
    #[error("address {va:#x} is mapped twice (overlapping ranges)")]
    AlreadyMapped {
        /// First address mapped twice.
        va: u64,
    },
    /// The page-table GPA is not 4 KiB aligned.
    #[error("page-table base {gpa:#x} is not 4 KiB aligned")]
    TableBaseUnaligned {
        /// Page-table base GPA.
        gpa: u64,
    },
    /// The tables would not fit below the physical address limit (2^52, or
    /// the confidential bit when configured), or their byte size overflows.
    #[error("{tables} tables at {gpa:#x} end above the physical address limit {limit:#x}")]
    TableRegionOverflow {
        /// Page-table base GPA.
        gpa: u64,
        /// Number of tables needed.
        tables: u64,
        /// The physical address limit.
        limit: u64,
    },
    /// The confidential bit is not an address bit (must be 12..=51).
    #[error("confidential bit {bit} is not a physical address bit (12..=51)")]
    ConfidentialBitInvalid {
        /// The configured bit.
        bit: u8,
    },
    /// A mapped address has the confidential bit set, so the entry could not
    /// tell the address from the C-bit.
    #[error("range [{start:#x}, +{size:#x}) reaches the confidential bit {bit}")]
    ConfidentialBitCollision {
        /// The configured bit.
        bit: u8,
        /// Start of the range.
        start: u64,
        /// Size of the range.
        size: u64,
    },
    /// A range of a sorted-ranges map starts below the previous one
    /// (original, release/1.7.2511 on: `UnsortedMappings`).
    #[error(
        "range at {start:#x} starts below the previous range at {previous_start:#x} (unsorted mappings)"
    )]
    UnsortedRanges {
        /// Start of the previous range.
        previous_start: u64,
        /// Start of this range.
        start: u64,
    },
    /// A range of a sorted-ranges map starts before the previous one ends
    /// (original: `OverlappingMappings`, "the page table builder was invoked
    /// with overlapping mappings").
    #[error(
        "range at {start:#x} overlaps the previous range, which ends at {previous_end:#x} (overlapping mappings)"
    )]
    OverlappingRanges {
        /// End of the previous range.
        previous_end: u64,
        /// Start of this range.
        start: u64,
    },
    /// A range covers a whole 512 GiB-aligned 512 GiB, which the greedy leaf
    /// policy would map with a PML4 leaf, which x86-64 does not have
    /// (original: panic "cannot insert a leaf entry into a PML4 table").
    #[error("range covers the 512 GiB at {va:#x}, which would need a PML4 leaf entry")]
    Pml4Leaf {
        /// The 512 GiB-aligned address.
        va: u64,
    },
    /// The map needs more tables than the builder's fixed work buffer holds
    /// (original: `PAGE_TABLE_MAX_COUNT` = 20, `NotEnoughMemory`).
    #[error("the mappings need {needed} page tables, more than the {max} the builder holds")]
    TooManyTables {
        /// Tables needed.
        needed: u64,
        /// The limit.
        max: usize,
    },
    /// The output buffer is smaller than the tables.
    #[error("output buffer holds {available} bytes, the tables need {needed}")]
    BufferTooSmall {
        /// Bytes needed (tables × 4096).
        needed: usize,
        /// Bytes provided.
        available: usize,
    },
}

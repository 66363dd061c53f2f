//! What to map: [`IdentityMapConfig`] and its ranges.

use crate::X64_LARGE_PAGE_SIZE;
use crate::X64_PAGE_SIZE;

/// GPA of the TDX reset-vector page (page 0xFFFFF), mapped with one 4 KiB
/// page when [`IdentityMapConfig::map_reset_vector`] is set.
pub const RESET_VECTOR_PAGE_GPA: u64 = 0xFFFF_F000;

/// The original's limit on the mapped region's size: 512 GiB (exactly 512
/// GiB is allowed). Lifted by [`IdentityMapConfig::allow_more_than_512_gib`].
pub const MAX_MAPPED_REGION_SIZE: u64 = 0x80_0000_0000;

/// The end of what 4-level paging translates: every range must end at or
/// below 2^48 (above, the original's PML4 index silently wraps around).
pub const VIRTUAL_ADDRESS_LIMIT: u64 = 1 << 48;

/// The end of the physical address space an entry can name (bits 12..=51).
pub const PHYSICAL_ADDRESS_LIMIT: u64 = 1 << 52;

/// A range of guest addresses, `[start, start + size)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemoryRange {
    /// First address.
    pub start: u64,
    /// Size in bytes.
    pub size: u64,
}

impl MemoryRange {
    /// A range `[start, start + size)`.
    pub const fn new(start: u64, size: u64) -> Self {
        Self { start, size }
    }
}

/// An additional identity-mapped range (beyond the original): 4 KiB aligned,
/// mapped with the largest pages its alignment allows, with its own access
/// rights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdentityRange {
    /// First address (4 KiB aligned).
    pub start: u64,
    /// Size in bytes (4 KiB aligned, not 0).
    pub size: u64,
    /// Leaves allow writes (bit 1). Default true.
    pub writable: bool,
    /// Leaves allow execution (bit 63 clear). Default true. Clearing it sets
    /// the NX bit, which the guest must enable with EFER.NXE.
    pub executable: bool,
}

impl IdentityRange {
    /// A writable, executable range, like the original's.
    pub const fn new(start: u64, size: u64) -> Self {
        Self {
            start,
            size,
            writable: true,
            executable: true,
        }
    }

    /// The same range, read-only (leaves without the RW bit).
    pub const fn read_only(self) -> Self {
        Self {
            writable: false,
            ..self
        }
    }

    /// The same range, not executable (leaves with the NX bit, bit 63).
    pub const fn no_execute(self) -> Self {
        Self {
            executable: false,
            ..self
        }
    }

    /// The range `[start, start + size)` without its access rights.
    pub const fn range(&self) -> MemoryRange {
        MemoryRange::new(self.start, self.size)
    }
}

/// What the identity map contains and where its tables live.
///
/// The first five fields are the original `PageTableBuilder`'s configuration
/// (docs/algorithms.md §4.2); with the other fields left at their defaults
/// (as [`IdentityMapConfig::new`] sets them) the output is byte for byte the
/// original's. The remaining fields are opt-in extensions.
///
/// Ranges are mapped in this order, which fixes the table allocation order:
/// the mapped region, the local map, the reset-vector page, then the
/// additional ranges in slice order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdentityMapConfig<'a> {
    /// GPA of table 0 (the PML4); table *n* lives at this + n × 4096. 4 KiB
    /// aligned.
    pub page_table_gpa: u64,
    /// The identity-mapped region: start and size 2 MiB aligned, size not 0
    /// and at most 512 GiB (unless lifted). Mapped with 2 MiB pages.
    pub mapped_region: MemoryRange,
    /// An optional second identity-mapped region (the paravisor's "local
    /// map"): 2 MiB aligned, not 0, not overlapping the mapped region.
    pub local_map: Option<MemoryRange>,
    /// A bit set in every entry written (SNP: 51), 12..=51.
    pub confidential_bit: Option<u8>,
    /// Map the TDX reset-vector page [`RESET_VECTOR_PAGE_GPA`] with one 4 KiB
    /// page.
    pub map_reset_vector: bool,
    /// Extension: more ranges, mapped after the original's (4 KiB aligned,
    /// any size, access rights per range). Empty by default.
    pub additional_ranges: &'a [IdentityRange],
    /// Extension: use 1 GiB pages (PDPTE leaves) where a range covers a whole
    /// 1 GiB-aligned GiB. Off by default (the original never does).
    pub use_1gb_pages: bool,
    /// Extension: allow a mapped region larger than 512 GiB. Off by default.
    pub allow_more_than_512_gib: bool,
}

impl IdentityMapConfig<'static> {
    /// The original's `PageTableBuilder::new(page_table_gpa)
    /// .with_mapped_region(start, size)`: no local map, no confidential bit,
    /// no reset vector, no extensions.
    pub const fn new(page_table_gpa: u64, start: u64, size: u64) -> Self {
        Self {
            page_table_gpa,
            mapped_region: MemoryRange::new(start, size),
            local_map: None,
            confidential_bit: None,
            map_reset_vector: false,
            additional_ranges: &[],
            use_1gb_pages: false,
            allow_more_than_512_gib: false,
        }
    }
}

impl<'a> IdentityMapConfig<'a> {
    /// Adds the local map `[va, va + size)`.
    pub const fn with_local_map(self, va: u64, size: u64) -> Self {
        Self {
            local_map: Some(MemoryRange::new(va, size)),
            ..self
        }
    }

    /// Sets the confidential bit (SNP: 51) in every entry.
    pub const fn with_confidential_bit(self, bit: u8) -> Self {
        Self {
            confidential_bit: Some(bit),
            ..self
        }
    }

    /// Maps (or not) the TDX reset-vector page with a 4 KiB page.
    pub const fn with_reset_vector(self, map_reset_vector: bool) -> Self {
        Self {
            map_reset_vector,
            ..self
        }
    }

    /// Extension: maps these ranges too, after the original's.
    pub const fn with_additional_ranges<'b>(
        self,
        additional_ranges: &'b [IdentityRange],
    ) -> IdentityMapConfig<'b> {
        IdentityMapConfig {
            page_table_gpa: self.page_table_gpa,
            mapped_region: self.mapped_region,
            local_map: self.local_map,
            confidential_bit: self.confidential_bit,
            map_reset_vector: self.map_reset_vector,
            additional_ranges,
            use_1gb_pages: self.use_1gb_pages,
            allow_more_than_512_gib: self.allow_more_than_512_gib,
        }
    }

    /// Extension: uses 1 GiB pages where alignment allows.
    pub const fn with_1gb_pages(self, use_1gb_pages: bool) -> Self {
        Self {
            use_1gb_pages,
            ..self
        }
    }

    /// Extension: allows a mapped region larger than 512 GiB.
    pub const fn with_more_than_512_gib(self, allow: bool) -> Self {
        Self {
            allow_more_than_512_gib: allow,
            ..self
        }
    }

    /// The number of range slots [`Self::range_at`] can return.
    pub(crate) fn range_slots(&self) -> usize {
        self.additional_ranges.len().saturating_add(3)
    }

    /// The `i`-th range in mapping order (slots 1 and 2 may be empty).
    pub(crate) fn range_at(&self, i: usize) -> Option<IdentityRange> {
        match i {
            0 => Some(IdentityRange::new(
                self.mapped_region.start,
                self.mapped_region.size,
            )),
            1 => self.local_map.map(|r| IdentityRange::new(r.start, r.size)),
            2 => self
                .map_reset_vector
                .then_some(IdentityRange::new(RESET_VECTOR_PAGE_GPA, X64_PAGE_SIZE)),
            _ => self.additional_ranges.get(i.wrapping_sub(3)).copied(),
        }
    }

    /// All ranges in mapping order.
    pub fn ranges(&self) -> impl Iterator<Item = IdentityRange> + '_ {
        (0..self.range_slots()).filter_map(|i| self.range_at(i))
    }
}

/// Whether `a` is a multiple of 2 MiB.
pub(crate) const fn is_large_aligned(a: u64) -> bool {
    a & (X64_LARGE_PAGE_SIZE - 1) == 0
}

/// Whether `a` is a multiple of 4 KiB.
pub(crate) const fn is_page_aligned(a: u64) -> bool {
    a & (X64_PAGE_SIZE - 1) == 0
}

/// `[start, end)` of a validated range (end ≤ 2^48, start < end).
pub(crate) fn bounds(r: &IdentityRange) -> (u64, u64) {
    (r.start, r.start.saturating_add(r.size))
}

//! The sorted-ranges builder of OpenVMM release/1.7.2511 and later
//! (docs/abi-versions.md §3.4): a sorted list of ranges, each mapped with the
//! largest leaf its alignment and remaining size allow (1 GiB, 2 MiB, 4 KiB),
//! into at most [`PAGE_TABLE_MAX_COUNT`] tables.
//!
//! Differences from [`build_identity_map`](crate::build_identity_map) (the
//! seed's builder): the ranges come in address order (so the tables are
//! allocated in that order), 1 GiB leaves are used, a size-0 range maps
//! nothing, the table count is capped, and the original's checks are
//! errors: unsorted or overlapping ranges, a range whose end wraps, a
//! 512 GiB chunk that would need a PML4 leaf.

use crate::IdentityRange;
use crate::MemoryRange;
use crate::PageTableError;
use crate::X64_PAGE_SIZE;
use crate::builder::count_tables_of;
use crate::builder::range_end;
use crate::config::PHYSICAL_ADDRESS_LIMIT;
use crate::config::is_page_aligned;
use crate::entry;
use crate::table::TABLE_SIZE;
use crate::writer::Writer;

/// Most tables the sorted-ranges builder uses (`PAGE_TABLE_MAX_COUNT`).
pub const PAGE_TABLE_MAX_COUNT: usize = 20;
/// Bytes of [`PAGE_TABLE_MAX_COUNT`] tables (`PAGE_TABLE_MAX_BYTES`).
pub const PAGE_TABLE_MAX_BYTES: usize = PAGE_TABLE_MAX_COUNT * TABLE_SIZE;
/// What one PML4 entry spans: 512 GiB.
const PML4_ENTRY_SPAN: u64 = 1 << 39;

/// What a sorted-ranges identity map contains and where its tables live.
///
/// ```
/// use x86_pagetables::{MemoryRange, PageTableWalker, SortedRangesConfig, build_sorted_ranges};
///
/// // 4 GiB at 128 MiB: 448 × 2 MiB, 3 × 1 GiB, 64 × 2 MiB (docs/abi-versions.md G3).
/// let ranges = [MemoryRange::new(0x0800_0000, 0x1_0000_0000)];
/// let config = SortedRangesConfig::new(0x1000_0000, &ranges);
/// let mut out = [0u8; 8 * 4096];
/// let used = build_sorted_ranges(&config, &mut out)?;
/// assert_eq!(used, 4 * 4096); // PML4, PDPT, 2 PDs
/// let walker = PageTableWalker::new(&out[..used], 0x1000_0000, 0x1000_0000, None)?;
/// assert_eq!(walker.translate(0x4000_1234)?.pa, 0x4000_1234);
/// # Ok::<(), Box<dyn core::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortedRangesConfig<'a> {
    /// GPA of table 0 (the PML4), 4 KiB aligned.
    pub page_table_gpa: u64,
    /// The ranges, sorted by start, disjoint, 4 KiB aligned; size 0 allowed.
    pub ranges: &'a [MemoryRange],
    /// A bit set in every entry written (SNP: 51), 12..=51.
    pub confidential_bit: Option<u8>,
}

impl<'a> SortedRangesConfig<'a> {
    /// Maps `ranges` with tables at `page_table_gpa`, no confidential bit.
    pub const fn new(page_table_gpa: u64, ranges: &'a [MemoryRange]) -> Self {
        Self {
            page_table_gpa,
            ranges,
            confidential_bit: None,
        }
    }

    /// Sets the confidential bit (SNP: 51) in every entry.
    pub const fn with_confidential_bit(self, bit: u8) -> Self {
        Self {
            confidential_bit: Some(bit),
            ..self
        }
    }

    /// The `i`-th non-empty range, as the shared writer takes it.
    fn range_at(&self, i: usize) -> Option<IdentityRange> {
        self.ranges
            .get(i)
            .filter(|r| r.size != 0)
            .map(|r| IdentityRange::new(r.start, r.size))
    }
}

/// Validates `config` and counts its tables (at most
/// [`PAGE_TABLE_MAX_COUNT`]).
fn plan(config: &SortedRangesConfig<'_>) -> Result<(usize, (u64, u64)), PageTableError> {
    let bit = config.confidential_bit;
    let (Some(confidential), Some(address_mask)) =
        (entry::confidential_mask(bit), entry::address_mask(bit))
    else {
        return Err(PageTableError::ConfidentialBitInvalid {
            bit: bit.unwrap_or(0),
        });
    };
    let mut previous: Option<(u64, u64)> = None;
    for r in config.ranges {
        let end = r
            .start
            .checked_add(r.size)
            .ok_or(PageTableError::RangeOverflow {
                start: r.start,
                size: r.size,
            })?;
        if let Some((previous_start, previous_end)) = previous {
            if r.start < previous_start {
                return Err(PageTableError::UnsortedRanges {
                    previous_start,
                    start: r.start,
                });
            }
            if r.start < previous_end {
                return Err(PageTableError::OverlappingRanges {
                    previous_end,
                    start: r.start,
                });
            }
        }
        previous = Some((r.start, end));
        if r.size == 0 {
            continue;
        }
        if !is_page_aligned(r.start) || !is_page_aligned(r.size) {
            return Err(PageTableError::RangeUnaligned {
                start: r.start,
                size: r.size,
            });
        }
        range_end(r.start, r.size, bit)?;
        // The first 512 GiB-aligned address in the range, if a whole 512 GiB
        // from there fits: the greedy walk would want a PML4 leaf there.
        let first = r.start.checked_next_multiple_of(PML4_ENTRY_SPAN);
        if let Some(va) =
            first.filter(|va| va.checked_add(PML4_ENTRY_SPAN).is_some_and(|e| e <= end))
        {
            return Err(PageTableError::Pml4Leaf { va });
        }
    }
    if !is_page_aligned(config.page_table_gpa) {
        return Err(PageTableError::TableBaseUnaligned {
            gpa: config.page_table_gpa,
        });
    }
    let tables = count_tables_of(config.ranges.len(), |i| config.range_at(i), true);
    let max = PAGE_TABLE_MAX_COUNT;
    if tables > max as u64 {
        return Err(PageTableError::TooManyTables {
            needed: tables,
            max,
        });
    }
    let limit = match bit {
        Some(bit) => 1u64 << bit,
        None => PHYSICAL_ADDRESS_LIMIT,
    };
    let table_end = tables
        .checked_mul(X64_PAGE_SIZE)
        .and_then(|bytes| config.page_table_gpa.checked_add(bytes));
    if table_end.is_none_or(|end| end > limit) {
        return Err(PageTableError::TableRegionOverflow {
            gpa: config.page_table_gpa,
            tables,
            limit,
        });
    }
    // At most 20.
    let tables = usize::try_from(tables).unwrap_or(max);
    Ok((tables, (confidential, address_mask)))
}

/// The exact number of tables [`build_sorted_ranges`] will use, after
/// validating `config` completely.
pub fn required_sorted_range_tables(
    config: &SortedRangesConfig<'_>,
) -> Result<usize, PageTableError> {
    plan(config).map(|(tables, _)| tables)
}

/// Builds the sorted-ranges identity map into `out` and returns the bytes
/// used (tables × 4096); the rest of `out` is zeroed. On error `out` is
/// left untouched.
pub fn build_sorted_ranges(
    config: &SortedRangesConfig<'_>,
    out: &mut [u8],
) -> Result<usize, PageTableError> {
    let (tables, masks) = plan(config)?;
    let needed = tables.saturating_mul(TABLE_SIZE);
    if out.len() < needed {
        return Err(PageTableError::BufferTooSmall {
            needed,
            available: out.len(),
        });
    }
    let mut writer = Writer::new(out, config.page_table_gpa, tables, masks, true);
    for i in 0..config.ranges.len() {
        if let Some(range) = config.range_at(i) {
            writer.link(&range)?;
        }
    }
    Ok(writer.bytes_used())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IdentityMapConfig;
    use crate::PageSize;
    use crate::PageTableWalker;
    use crate::build_identity_map;
    use std::vec;
    use std::vec::Vec;

    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;

    fn build(config: &SortedRangesConfig<'_>) -> (Vec<u8>, usize) {
        let mut out = vec![0xAAu8; PAGE_TABLE_MAX_BYTES];
        let used = build_sorted_ranges(config, &mut out).unwrap();
        assert_eq!(required_sorted_range_tables(config).unwrap() * 4096, used);
        assert!(out[used..].iter().all(|&b| b == 0));
        (out, used)
    }

    /// Leaf counts per page size, from the walker.
    fn leaves(tables: &[u8], gpa: u64, bit: Option<u8>) -> [usize; 3] {
        let walker = PageTableWalker::new(tables, gpa, gpa, bit).unwrap();
        let mut n = [0; 3];
        for t in walker.mappings() {
            let t = t.unwrap();
            assert_eq!(t.va, t.pa, "identity");
            let i = match t.page_size {
                PageSize::Size4KiB => 0,
                PageSize::Size2MiB => 1,
                PageSize::Size1GiB => 2,
            };
            n[i] += 1;
        }
        n
    }

    /// docs/abi-versions.md G3, `x64-none-reloc-512g-uefi`: 0x8000000 +
    /// 512 GiB is 448 × 2 MiB, 511 × 1 GiB, 64 × 2 MiB in 5 tables, flags 0xE3.
    #[test]
    fn greedy_leaves_map_512_gib_in_5_tables() {
        let ranges = [MemoryRange::new(0x0800_0000, 512 * GIB)];
        let config = SortedRangesConfig::new(0x0829_5000, &ranges);
        let (out, used) = build(&config);
        assert_eq!(used, 5 * 4096);
        assert_eq!(leaves(&out[..used], 0x0829_5000, None), [0, 448 + 64, 511]);
        let walker = PageTableWalker::new(&out[..used], 0x0829_5000, 0x0829_5000, None).unwrap();
        let t = walker.translate(0x40_0000_0000).unwrap();
        assert_eq!(
            (t.pa, t.page_size, t.flags),
            (0x40_0000_0000, PageSize::Size1GiB, 0xE3)
        );
        let t = walker.translate(0x80_0700_0000).unwrap();
        assert_eq!((t.page_size, t.flags), (PageSize::Size2MiB, 0xE3));
        assert!(walker.translate(0x80_0800_0000).is_err());
        assert!(walker.translate(0x7FF_F000).is_err());
    }

    /// G3: `x64-none-fixed-512g-cross-4g` style, 4 GiB at 4 GiB → 4 × 1 GiB
    /// in 2 tables plus the PML4.
    #[test]
    fn aligned_gibs_are_1_gib_leaves() {
        let ranges = [MemoryRange::new(4 * GIB, 4 * GIB)];
        let (out, used) = build(&SortedRangesConfig::new(0x1000, &ranges));
        assert_eq!(used, 2 * 4096);
        assert_eq!(leaves(&out[..used], 0x1000, None), [0, 0, 4]);
    }

    /// G2, `x64-tdx47-nobase-64m-uefi`: local map, 64 MiB of VTL2 memory and
    /// the reset-vector page in 5 tables (1 + 32 × 2 MiB + 4 KiB).
    #[test]
    fn tdx_ranges_take_5_tables_in_address_order() {
        let ranges = [
            MemoryRange::new(0x20_0000, 0x20_0000),
            MemoryRange::new(0x0800_0000, 64 * MIB),
            MemoryRange::new(0xFFFF_F000, 0x1000),
        ];
        let gpa = 0x0849_5000;
        let (out, used) = build(&SortedRangesConfig::new(gpa, &ranges));
        assert_eq!(used, 5 * 4096);
        assert_eq!(leaves(&out[..used], gpa, None), [1, 33, 0]);
        let entry = |table: usize, index: usize| {
            let at = table * 4096 + index * 8;
            u64::from_le_bytes(out[at..at + 8].try_into().unwrap())
        };
        // Tables in first-touch order: PML4, PDPT, PD for GiB 0 (local map
        // and VTL2 memory), PD for GiB 3, PT for the reset vector.
        assert_eq!(entry(0, 0), (gpa + 0x1000) | 0x23);
        assert_eq!(entry(1, 0), (gpa + 0x2000) | 0x23);
        assert_eq!(entry(1, 3), (gpa + 0x3000) | 0x23);
        assert_eq!(entry(2, 1), 0x20_0000 | 0xE3);
        assert_eq!(entry(2, 64), 0x0800_0000 | 0xE3);
        assert_eq!(entry(3, 511), (gpa + 0x4000) | 0x23);
        assert_eq!(entry(4, 511), 0xFFFF_F000 | 0x63);
    }

    #[test]
    fn snp_bit_51_is_in_every_entry() {
        let ranges = [
            MemoryRange::new(0x20_0000, 0x20_0000),
            MemoryRange::new(0x1_0000_0000, 4 * GIB),
        ];
        let config = SortedRangesConfig::new(0x1000, &ranges).with_confidential_bit(51);
        let (out, used) = build(&config);
        for word in out[..used].chunks(8) {
            let e = u64::from_le_bytes(word.try_into().unwrap());
            assert!(e == 0 || e & (1 << 51) != 0, "{e:#x}");
        }
        assert_eq!(leaves(&out[..used], 0x1000, Some(51)), [0, 1, 4]);
    }

    /// Without a 1 GiB opportunity and with one range, the bytes are the
    /// seed builder's.
    #[test]
    fn one_range_below_a_gib_equals_the_seed_builder() {
        let ranges = [MemoryRange::new(0x0800_0000, 64 * MIB)];
        let (out, used) = build(&SortedRangesConfig::new(0x0849_3000, &ranges));
        let mut seed = vec![0u8; PAGE_TABLE_MAX_BYTES];
        let seed_used = build_identity_map(
            &IdentityMapConfig::new(0x0849_3000, 0x0800_0000, 64 * MIB),
            &mut seed,
        )
        .unwrap();
        assert_eq!((used, &out[..used]), (seed_used, &seed[..seed_used]));
    }

    /// G3b: a size-0 range maps nothing (the seed builder panicked).
    #[test]
    fn empty_range_maps_nothing() {
        let ranges = [MemoryRange::new(0x0800_0000, 0)];
        let (out, used) = build(&SortedRangesConfig::new(0x1000, &ranges));
        assert_eq!(used, 4096);
        assert!(out.iter().all(|&b| b == 0));
    }

    /// G2/G3b: the errors of the original, as errors.
    #[test]
    fn unsorted_overlapping_wrapping_and_pml4_leaf_are_errors() {
        let mut out = vec![0x55u8; PAGE_TABLE_MAX_BYTES];
        let mut check = |ranges: &[MemoryRange], expected: PageTableError| {
            let config = SortedRangesConfig::new(0x1000, ranges);
            assert_eq!(build_sorted_ranges(&config, &mut out), Err(expected));
            assert_eq!(required_sorted_range_tables(&config), Err(expected));
        };
        check(
            &[
                MemoryRange::new(0x0800_0000, 0x20_0000),
                MemoryRange::new(0x20_0000, 0x20_0000),
            ],
            PageTableError::UnsortedRanges {
                previous_start: 0x0800_0000,
                start: 0x20_0000,
            },
        );
        // `x64-tdx47-nobase-4g-linux-initrd1m-sidecar`: 4 GiB at 128 MiB
        // contains the reset-vector page.
        check(
            &[
                MemoryRange::new(0x0800_0000, 4 * GIB),
                MemoryRange::new(0xFFFF_F000, 0x1000),
            ],
            PageTableError::OverlappingRanges {
                previous_end: 0x1_0800_0000,
                start: 0xFFFF_F000,
            },
        );
        // `adv-x64-base-top-64m`: the end wraps past 2^64.
        check(
            &[MemoryRange::new(0u64.wrapping_sub(2 * MIB), 64 * MIB)],
            PageTableError::RangeOverflow {
                start: 0u64.wrapping_sub(2 * MIB),
                size: 64 * MIB,
            },
        );
        // `err-x64-1t-pagetable-panics`: 1 TiB at 128 MiB holds the 512 GiB
        // at 512 GiB.
        check(
            &[MemoryRange::new(0x0800_0000, 1024 * GIB)],
            PageTableError::Pml4Leaf { va: 512 * GIB },
        );
        // 18 separate 4 KiB pages in 18 PTs: 21 tables.
        let pages: Vec<MemoryRange> = (0..18)
            .map(|i| MemoryRange::new(0x1000 + i * 2 * MIB, 0x1000))
            .collect();
        check(
            &pages,
            PageTableError::TooManyTables {
                needed: 21,
                max: 20,
            },
        );
        assert!(out.iter().all(|&b| b == 0x55), "untouched on error");
        let pages = &pages[..17];
        assert_eq!(
            required_sorted_range_tables(&SortedRangesConfig::new(0x1000, pages)),
            Ok(20)
        );
    }
}

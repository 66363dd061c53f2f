//! Sizing ([`required_tables`]) and building ([`build_identity_map`]) of an
//! identity map, byte for byte the original `PageTableBuilder`'s
//! (docs/algorithms.md §4.2).
//!
//! Both first validate the whole configuration; building then writes into
//! the caller's buffer only if everything (including the buffer size) is
//! valid.
//!
//! Sizing is analytic: a table is allocated on the first touch of its slot
//! (one PDPT per 512 GiB, one PD per GiB, one PT per 2 MiB that a range
//! touches at that level), so the table count is 1 (PML4) plus the number
//! of distinct slots at each level, counted without allocating.

use crate::IdentityMapConfig;
use crate::IdentityRange;
use crate::PageTableError;
use crate::X64_1GB_PAGE_SIZE;
use crate::X64_LARGE_PAGE_SIZE;
use crate::X64_PAGE_SIZE;
use crate::config::MAX_MAPPED_REGION_SIZE;
use crate::config::PHYSICAL_ADDRESS_LIMIT;
use crate::config::VIRTUAL_ADDRESS_LIMIT;
use crate::config::bounds;
use crate::config::is_large_aligned;
use crate::config::is_page_aligned;
use crate::entry;
use crate::table::PageTable;
use crate::table::TABLE_SIZE;
use crate::writer::Writer;
use zerocopy::IntoBytes;

/// What validation found: the exact number of tables, and the entry masks.
#[derive(Debug, Clone, Copy)]
struct Plan {
    tables: usize,
    confidential: u64,
    address_mask: u64,
}

/// Checks one range's arithmetic and address-space limits.
pub(crate) fn range_end(
    start: u64,
    size: u64,
    confidential_bit: Option<u8>,
) -> Result<u64, PageTableError> {
    let end = start
        .checked_add(size)
        .ok_or(PageTableError::RangeOverflow { start, size })?;
    if end > VIRTUAL_ADDRESS_LIMIT {
        return Err(PageTableError::BeyondAddressSpace {
            start,
            size,
            limit: VIRTUAL_ADDRESS_LIMIT,
        });
    }
    if let Some(bit) = confidential_bit {
        // Every mapped address must be below the C-bit, or the entry's
        // address field could not hold it apart from the C-bit.
        if let Some(limit) = 1u64.checked_shl(u32::from(bit))
            && end > limit
        {
            return Err(PageTableError::ConfidentialBitCollision { bit, start, size });
        }
    }
    Ok(end)
}

/// Validates `config` in the original's check order (docs/algorithms.md §4.2
/// step 1), then this crate's own checks, and counts the tables.
fn plan(config: &IdentityMapConfig<'_>) -> Result<Plan, PageTableError> {
    let start = config.mapped_region.start;
    let size = config.mapped_region.size;
    // The original's panics, in its order.
    if size == 0 {
        return Err(PageTableError::EmptyRegion { start });
    }
    if size > MAX_MAPPED_REGION_SIZE && !config.allow_more_than_512_gib {
        return Err(PageTableError::RegionTooLarge {
            start,
            size,
            limit: MAX_MAPPED_REGION_SIZE,
        });
    }
    if !is_large_aligned(size) {
        return Err(PageTableError::RegionSizeUnaligned { start, size });
    }
    if !is_large_aligned(start) {
        return Err(PageTableError::RegionStartUnaligned { start, size });
    }
    let confidential = entry::confidential_mask(config.confidential_bit);
    let address_mask = entry::address_mask(config.confidential_bit);
    let (Some(confidential), Some(address_mask)) = (confidential, address_mask) else {
        return Err(PageTableError::ConfidentialBitInvalid {
            bit: config.confidential_bit.unwrap_or(0),
        });
    };
    let end = range_end(start, size, config.confidential_bit)?;
    if let Some(local) = config.local_map {
        let (va, lsize) = (local.start, local.size);
        if !is_large_aligned(va) {
            return Err(PageTableError::LocalMapStartUnaligned { va, size: lsize });
        }
        if !is_large_aligned(lsize) {
            return Err(PageTableError::LocalMapSizeUnaligned { va, size: lsize });
        }
        if lsize == 0 {
            return Err(PageTableError::LocalMapEmpty { va });
        }
        let lend = range_end(va, lsize, config.confidential_bit)?;
        if lend > start && va < end {
            return Err(PageTableError::LocalMapOverlap {
                va,
                size: lsize,
                region_start: start,
                region_size: size,
            });
        }
    }
    if config.map_reset_vector {
        // Fixed, valid page; checked for the C-bit only.
        range_end(
            crate::RESET_VECTOR_PAGE_GPA,
            X64_PAGE_SIZE,
            config.confidential_bit,
        )?;
    }
    for r in config.additional_ranges {
        if r.size == 0 {
            return Err(PageTableError::RangeEmpty { start: r.start });
        }
        if !is_page_aligned(r.start) || !is_page_aligned(r.size) {
            return Err(PageTableError::RangeUnaligned {
                start: r.start,
                size: r.size,
            });
        }
        range_end(r.start, r.size, config.confidential_bit)?;
    }
    // Every range is now non-empty and its end is at most 2^48.
    check_disjoint(config)?;
    if !is_page_aligned(config.page_table_gpa) {
        return Err(PageTableError::TableBaseUnaligned {
            gpa: config.page_table_gpa,
        });
    }
    let tables = count_tables(config);
    let limit = match config.confidential_bit {
        Some(bit) => 1u64 << bit,
        None => PHYSICAL_ADDRESS_LIMIT,
    };
    let overflow = PageTableError::TableRegionOverflow {
        gpa: config.page_table_gpa,
        tables,
        limit,
    };
    let table_end = tables
        .checked_mul(X64_PAGE_SIZE)
        .and_then(|bytes| config.page_table_gpa.checked_add(bytes))
        .ok_or(overflow)?;
    if table_end > limit {
        return Err(overflow);
    }
    let tables = usize::try_from(tables).map_err(|_| overflow)?;
    tables.checked_mul(TABLE_SIZE).ok_or(overflow)?;
    Ok(Plan {
        tables,
        confidential,
        address_mask,
    })
}

/// Fails with [`PageTableError::AlreadyMapped`] if two ranges share an
/// address (the original's "PD entry must not be present" assert).
fn check_disjoint(config: &IdentityMapConfig<'_>) -> Result<(), PageTableError> {
    let n = config.range_slots();
    for i in 0..n {
        let Some(a) = config.range_at(i) else {
            continue;
        };
        for j in 0..i {
            let Some(b) = config.range_at(j) else {
                continue;
            };
            // Ends were checked not to overflow.
            let a_end = a.start.saturating_add(a.size);
            let b_end = b.start.saturating_add(b.size);
            if a.start < b_end && b.start < a_end {
                return Err(PageTableError::AlreadyMapped {
                    va: a.start.max(b.start),
                });
            }
        }
    }
    Ok(())
}

/// The parts of `[a, b)` that 1 GiB leaves do not cover (so need PDs): the
/// whole range, or the head and tail around the 1 GiB-aligned middle.
fn pd_parts(a: u64, b: u64, use_1gb_pages: bool) -> [Option<(u64, u64)>; 2] {
    if use_1gb_pages {
        let up = a.saturating_add(X64_1GB_PAGE_SIZE - 1) & !(X64_1GB_PAGE_SIZE - 1);
        let down = b & !(X64_1GB_PAGE_SIZE - 1);
        if up < down {
            return [(a < up).then_some((a, up)), (down < b).then_some((down, b))];
        }
    }
    [Some((a, b)), None]
}

/// The parts of `[c, d)` that 2 MiB leaves do not cover (so need PTs).
fn pt_parts(c: u64, d: u64) -> [Option<(u64, u64)>; 2] {
    let up = c.saturating_add(X64_LARGE_PAGE_SIZE - 1) & !(X64_LARGE_PAGE_SIZE - 1);
    let down = d & !(X64_LARGE_PAGE_SIZE - 1);
    if up > down {
        // Inside one 2 MiB slot, not covering it: all 4 KiB pages.
        return [Some((c, d)), None];
    }
    [(c < up).then_some((c, up)), (down < d).then_some((down, d))]
}

/// Slot interval (inclusive) of the byte range `[a, b)` (a < b) at `shift`.
fn slots(a: u64, b: u64, shift: u32) -> (u64, u64) {
    (a >> shift, b.saturating_sub(1) >> shift)
}

/// The number of distinct slots in the union of `n` inclusive intervals,
/// without allocating: the intervals are visited in (start, index) order by
/// selection, then merged in one sweep. O(n²) interval evaluations.
fn union_len(n: usize, interval: impl Fn(usize) -> Option<(u64, u64)>) -> u64 {
    let mut previous: Option<(u64, usize)> = None;
    let mut covered_end: Option<u64> = None;
    let mut total: u64 = 0;
    loop {
        let mut best: Option<(u64, usize, u64)> = None;
        for i in 0..n {
            let Some((lo, hi)) = interval(i) else {
                continue;
            };
            let after_previous = previous.is_none_or(|p| (lo, i) > p);
            let before_best = best.is_none_or(|(bl, bi, _)| (lo, i) < (bl, bi));
            if after_previous && before_best {
                best = Some((lo, i, hi));
            }
        }
        let Some((lo, i, hi)) = best else {
            return total;
        };
        previous = Some((lo, i));
        match covered_end {
            Some(end) if lo <= end => {
                if hi > end {
                    total = total.saturating_add(hi.saturating_sub(end));
                    covered_end = Some(hi);
                }
            }
            _ => {
                total = total.saturating_add(hi.saturating_sub(lo).saturating_add(1));
                covered_end = Some(hi);
            }
        }
    }
}

/// 1 (PML4) + distinct PDPT, PD and PT slots over all (validated) ranges.
fn count_tables(config: &IdentityMapConfig<'_>) -> u64 {
    count_tables_of(
        config.range_slots(),
        |i| config.range_at(i),
        config.use_1gb_pages,
    )
}

/// 1 (PML4) + distinct PDPT, PD and PT slots over the `n` ranges
/// `range_at(0..n)` (each validated and non-empty, or `None`), with 1 GiB
/// leaves where `use_1gb_pages` allows them.
pub(crate) fn count_tables_of(
    n: usize,
    range_at: impl Fn(usize) -> Option<IdentityRange>,
    g1: bool,
) -> u64 {
    let pdpts = union_len(n, |i| {
        let (a, b) = bounds(&range_at(i)?);
        Some(slots(a, b, 39))
    });
    let pds = union_len(n.saturating_mul(2), |k| {
        let (a, b) = bounds(&range_at(k / 2)?);
        let (c, d) = pd_parts(a, b, g1).get(k % 2).copied()??;
        Some(slots(c, d, 30))
    });
    let pts = union_len(n.saturating_mul(4), |k| {
        let (a, b) = bounds(&range_at(k / 4)?);
        let (c, d) = pd_parts(a, b, g1).get((k / 2) % 2).copied()??;
        let (e, f) = pt_parts(c, d).get(k % 2).copied()??;
        Some(slots(e, f, 21))
    });
    1u64.saturating_add(pdpts)
        .saturating_add(pds)
        .saturating_add(pts)
}

/// The exact number of 4 KiB tables [`build_identity_map`] will use for
/// `config`, after validating it completely.
///
/// Every configuration error [`build_identity_map`] can report (except
/// [`PageTableError::BufferTooSmall`]) is reported here too.
pub fn required_tables(config: &IdentityMapConfig<'_>) -> Result<usize, PageTableError> {
    plan(config).map(|p| p.tables)
}

/// Builds the identity map described by `config` into `out` and returns the
/// number of bytes used (tables × 4096).
///
/// `out` may hold anything and may be larger than needed: on success the
/// whole of `out` is written — the tables (in allocation order, table *n* at
/// byte n × 4096) followed by zeros — so it can be imported as the complete
/// page-table region. On error `out` is left untouched.
///
/// With the extensions off, the bytes equal the original `PageTableBuilder`
/// output (docs/algorithms.md §4.2, docs/abi.md §4.6).
pub fn build_identity_map(
    config: &IdentityMapConfig<'_>,
    out: &mut [u8],
) -> Result<usize, PageTableError> {
    let plan = plan(config)?;
    // `plan` checked that this product fits.
    let needed = plan.tables.saturating_mul(TABLE_SIZE);
    if out.len() < needed {
        return Err(PageTableError::BufferTooSmall {
            needed,
            available: out.len(),
        });
    }
    let mut writer = Writer::new(
        out,
        config.page_table_gpa,
        plan.tables,
        (plan.confidential, plan.address_mask),
        config.use_1gb_pages,
    );
    for range in config.ranges() {
        writer.link(&range)?;
    }
    Ok(writer.bytes_used())
}

/// [`build_identity_map`] into a slice of [`PageTable`]s; returns the number
/// of tables used.
pub fn build_identity_map_tables(
    config: &IdentityMapConfig<'_>,
    out: &mut [PageTable],
) -> Result<usize, PageTableError> {
    build_identity_map(config, out.as_mut_bytes()).map(|bytes| bytes / TABLE_SIZE)
}

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
use crate::config::is_large_aligned;
use crate::config::is_page_aligned;
use crate::entry;
use zerocopy::FromBytes;
use zerocopy::Immutable;
use zerocopy::IntoBytes;
use zerocopy::KnownLayout;
use zerocopy::LittleEndian;
use zerocopy::U64;

/// Bytes in one table.
pub const TABLE_SIZE: usize = 4096;
/// Entries in one table.
pub const ENTRIES_PER_TABLE: usize = 512;

/// One 4 KiB x86-64 page table: 512 entries, 4 KiB aligned.
///
/// [`build_identity_map_tables`] writes into a slice of these; the entries
/// are stored little-endian (the bytes the guest reads), which is the
/// native `u64` value on an x86-64 host.
#[derive(Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C, align(4096))]
pub struct PageTable {
    /// The 512 entries.
    pub entries: [u64; ENTRIES_PER_TABLE],
}

impl PageTable {
    /// A table with every entry 0 (not present).
    pub const ZERO: Self = Self {
        entries: [0; ENTRIES_PER_TABLE],
    };
}

impl core::fmt::Debug for PageTable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Only the present entries: 512 zeros help nobody.
        let mut map = f.debug_map();
        for (i, e) in self.entries.iter().enumerate() {
            if *e != 0 {
                map.entry(&i, &format_args!("{e:#x}"));
            }
        }
        map.finish()
    }
}

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

/// `[start, end)` of a validated range (end ≤ 2^48, start < end).
fn bounds(r: &IdentityRange) -> (u64, u64) {
    (r.start, r.start.saturating_add(r.size))
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

/// Writes entries into the output while linking ranges.
pub(crate) struct Writer<'o> {
    out: &'o mut [u8],
    page_table_gpa: u64,
    used: usize,
    capacity: usize,
    confidential: u64,
    address_mask: u64,
    use_1gb_pages: bool,
    /// Every table numbered at or above this has had nothing written into
    /// it since `out` was zeroed (tables are numbered in allocation order).
    pristine_from: usize,
}

/// The index of `va` in the table at the level whose entries span
/// `1 << shift` bytes.
const fn index(va: u64, shift: u32) -> usize {
    ((va >> shift) & 0x1FF) as usize
}

impl<'o> Writer<'o> {
    /// Zeroes `out` and starts with table 0 (the PML4) allocated; at most
    /// `capacity` tables; `(confidential, address_mask)` from
    /// [`entry::confidential_mask`] / [`entry::address_mask`].
    pub(crate) fn new(
        out: &'o mut [u8],
        page_table_gpa: u64,
        capacity: usize,
        (confidential, address_mask): (u64, u64),
        use_1gb_pages: bool,
    ) -> Self {
        out.fill(0);
        Self {
            out,
            page_table_gpa,
            used: 1, // Table 0, the PML4, all zero.
            capacity,
            confidential,
            address_mask,
            use_1gb_pages,
            pristine_from: 0,
        }
    }

    /// Bytes of the tables allocated so far.
    pub(crate) fn bytes_used(&self) -> usize {
        self.used.saturating_mul(TABLE_SIZE)
    }

    fn too_small(&self) -> PageTableError {
        PageTableError::BufferTooSmall {
            needed: self.capacity.saturating_add(1).saturating_mul(TABLE_SIZE),
            available: self.out.len(),
        }
    }

    /// The `count` 8-byte entries starting at `(table, index)`.
    fn entries(
        &mut self,
        table: usize,
        index: usize,
        count: usize,
    ) -> Result<&mut [u8], PageTableError> {
        let start = table
            .checked_mul(TABLE_SIZE)
            .and_then(|t| t.checked_add(index.checked_mul(8)?));
        let end = start.and_then(|s| s.checked_add(count.checked_mul(8)?));
        let err = self.too_small();
        match (start, end) {
            (Some(s), Some(e)) => self.out.get_mut(s..e).ok_or(err),
            _ => Err(err),
        }
    }

    /// Follows entry `(table, index)` to the next-level table, allocating it
    /// (docs/algorithms.md §4.2 step 3.1) if the entry is not present.
    fn next_table(&mut self, table: usize, index: usize, va: u64) -> Result<usize, PageTableError> {
        let new_table = self.used;
        let new_gpa = u64::try_from(new_table)
            .ok()
            .and_then(|n| n.checked_mul(X64_PAGE_SIZE))
            .and_then(|o| o.checked_add(self.page_table_gpa));
        let capacity = self.capacity;
        let (confidential, mask, base) =
            (self.confidential, self.address_mask, self.page_table_gpa);
        let too_small = self.too_small();
        let slot = self.entries(table, index, 1)?;
        let bytes: [u8; 8] = slot.try_into().map_err(|_| too_small)?;
        let entry = u64::from_le_bytes(bytes);
        if entry & entry::PRESENT == 0 {
            let new_gpa = new_gpa.ok_or(too_small)?;
            if new_table >= capacity {
                return Err(too_small);
            }
            let value = new_gpa | entry::NON_LEAF_FLAGS | confidential;
            slot.copy_from_slice(&value.to_le_bytes());
            self.pristine_from = self.pristine_from.max(table.saturating_add(1));
            self.used = new_table.saturating_add(1);
            return Ok(new_table);
        }
        if entry & entry::PAGE_SIZE != 0 {
            // A leaf is in the way. Validation rules this out (ranges are
            // disjoint); kept as the original's assert, as an error.
            return Err(PageTableError::AlreadyMapped { va });
        }
        // A table this writer allocated: its number from its address.
        (entry & mask)
            .checked_sub(base)
            .map(|offset| offset / X64_PAGE_SIZE)
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n < self.used)
            .ok_or(PageTableError::AlreadyMapped { va })
    }

    /// Writes `count` leaves mapping `va`, `va + step`, … into `(table,
    /// index..)`; each entry must be empty.
    fn fill(
        &mut self,
        table: usize,
        index: usize,
        count: usize,
        va: u64,
        step: u64,
        flags: u64,
    ) -> Result<(), PageTableError> {
        let pristine = table >= self.pristine_from;
        self.pristine_from = self.pristine_from.max(table.saturating_add(1));
        let too_small = self.too_small();
        let entries = <[U64<LittleEndian>]>::mut_from_bytes(self.entries(table, index, count)?)
            .map_err(|_| too_small)?;
        // The original's "entry must not be present" assert. Validation
        // already rules it out (ranges are disjoint); checked once per run,
        // without an early exit, so it vectorises — and skipped for a table
        // nothing was written into since it was zeroed (a fresh leaf table:
        // one pass over it instead of two).
        if !pristine && entries.iter().fold(0u64, |acc, e| acc | e.get()) != 0 {
            let first = entries.iter().position(|e| e.get() != 0).unwrap_or(0);
            let offset = (first as u64).saturating_mul(step);
            return Err(PageTableError::AlreadyMapped {
                va: va.saturating_add(offset),
            });
        }
        let mut address = va;
        for e in entries {
            *e = U64::new(address | flags);
            // Ranges end at or below 2^48: no overflow.
            address = address.wrapping_add(step);
        }
        Ok(())
    }

    /// The original's `link(from, to, large)` generalised: walks `range` in
    /// ascending VA order, allocating tables on first touch, choosing the
    /// largest page the alignment and remaining size allow.
    pub(crate) fn link(&mut self, range: &IdentityRange) -> Result<(), PageTableError> {
        let (mut va, end) = bounds(range);
        let strip = if range.writable { 0 } else { entry::READ_WRITE };
        let nx = if range.executable {
            0
        } else {
            entry::NO_EXECUTE
        };
        let leaf_bits = self.confidential | nx;
        let large = (entry::LARGE_LEAF_FLAGS & !strip) | leaf_bits;
        let small = (entry::PAGE_LEAF_FLAGS & !strip) | leaf_bits;
        while va < end {
            let remaining = end.saturating_sub(va);
            let pdpt = self.next_table(0, index(va, 39), va)?;
            let i = index(va, 30);
            if self.use_1gb_pages
                && va.is_multiple_of(X64_1GB_PAGE_SIZE)
                && remaining >= X64_1GB_PAGE_SIZE
            {
                let count = run_length(remaining / X64_1GB_PAGE_SIZE, i);
                self.fill(pdpt, i, count, va, X64_1GB_PAGE_SIZE, large)?;
                va = advance(va, count, X64_1GB_PAGE_SIZE);
                continue;
            }
            let pd = self.next_table(pdpt, i, va)?;
            let i = index(va, 21);
            if is_large_aligned(va) && remaining >= X64_LARGE_PAGE_SIZE {
                let count = run_length(remaining / X64_LARGE_PAGE_SIZE, i);
                self.fill(pd, i, count, va, X64_LARGE_PAGE_SIZE, large)?;
                va = advance(va, count, X64_LARGE_PAGE_SIZE);
                continue;
            }
            let pt = self.next_table(pd, i, va)?;
            let i = index(va, 12);
            let count = run_length(remaining / X64_PAGE_SIZE, i);
            self.fill(pt, i, count, va, X64_PAGE_SIZE, small)?;
            va = advance(va, count, X64_PAGE_SIZE);
        }
        Ok(())
    }
}

/// Leaves to write in one table: as many as remain, up to the table's end.
fn run_length(pages_remaining: u64, index: usize) -> usize {
    let room = ENTRIES_PER_TABLE.saturating_sub(index);
    usize::try_from(pages_remaining).map_or(room, |p| p.min(room))
}

/// `va + count × step`; at most the range end (≤ 2^48), so it cannot overflow.
fn advance(va: u64, count: usize, step: u64) -> u64 {
    va.saturating_add((count as u64).saturating_mul(step))
}

//! Writing the entries of an identity map into table bytes, shared by both
//! builders ([`build_identity_map`](crate::build_identity_map) and
//! [`build_sorted_ranges`](crate::build_sorted_ranges)).

use crate::IdentityRange;
use crate::PageTableError;
use crate::X64_1GB_PAGE_SIZE;
use crate::X64_LARGE_PAGE_SIZE;
use crate::X64_PAGE_SIZE;
use crate::config::bounds;
use crate::config::is_large_aligned;
use crate::entry;
use crate::table::ENTRIES_PER_TABLE;
use crate::table::TABLE_SIZE;
use zerocopy::FromBytes;
use zerocopy::LittleEndian;
use zerocopy::U64;

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

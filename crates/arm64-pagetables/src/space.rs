//! The general mapping core: a table space over a caller-provided buffer,
//! tables taken from a bump pointer, and `map_range` with the original's
//! page-size choice (`docs/algorithms.md` §5).
//!
//! Each `map_range` first *plans* (walks the existing tables without writing,
//! finds overlaps and counts the tables it will need) and only then writes,
//! so a failed call leaves the table space exactly as it was.

use crate::address::DESCRIPTOR_ADDRESS_LIMIT;
use crate::address::OUTPUT_ADDRESS_MASK;
use crate::address::TABLE_SIZE;
use crate::address::is_aligned;
use crate::address::is_canonical;
use crate::address::level_index;
use crate::address::level_shift;
use crate::chunks::Chunks;
use crate::chunks::SIZE_4K;
use crate::descriptor::Arm64MappingAttributes;
use crate::descriptor::DESCRIPTOR_TABLE_OR_PAGE;
use crate::descriptor::DESCRIPTOR_VALID;
use crate::descriptor::ROOT_TABLE_FILL;
use crate::descriptor::leaf_descriptor;
use crate::descriptor::table_descriptor;
use crate::error::Arm64PageTableError;

pub(crate) const TABLE_BYTES: u64 = TABLE_SIZE as u64;
/// One past the last address of the lower canonical half.
pub(crate) const LOWER_HALF_END: u64 = 1 << 47;

/// A stage-1 translation-table area (4 KiB granule, 48-bit input addresses)
/// over a caller-provided buffer at GPA `page_table_gpa`.
///
/// The root (level-0) table is the first 4 KiB, pre-filled with 0xFE as in
/// the original; further tables are taken from a bump pointer in the order
/// they are first needed and zeroed when taken. Bytes past
/// [`used_len`](Self::used_len) are left as the caller gave them (see
/// [`zero_unused`](Self::zero_unused)).
#[derive(Debug)]
pub struct Arm64TableSpace<'a> {
    buffer: &'a mut [u8],
    page_table_gpa: u64,
    /// Bytes in use from the start of `buffer` (the bump pointer minus the
    /// area's GPA); always a non-zero multiple of 4 KiB, at most the length.
    used: usize,
}

impl<'a> Arm64TableSpace<'a> {
    /// Creates a table space over `buffer` (the area size R is its length) at
    /// GPA `page_table_gpa`, and fills the root table with 0xFE.
    ///
    /// Errors as the original's table-space creation: `page_table_gpa` not
    /// 4 KiB-aligned ([`MisalignedTableArea`]), a length that is not a
    /// multiple of 4 KiB ([`InvalidTableAreaSize`]) or 0
    /// ([`EmptyTableArea`]); and an area running past 2^64
    /// ([`TableAreaOverflow`]). On error nothing is written.
    ///
    /// [`MisalignedTableArea`]: Arm64PageTableError::MisalignedTableArea
    /// [`InvalidTableAreaSize`]: Arm64PageTableError::InvalidTableAreaSize
    /// [`EmptyTableArea`]: Arm64PageTableError::EmptyTableArea
    /// [`TableAreaOverflow`]: Arm64PageTableError::TableAreaOverflow
    pub fn new(page_table_gpa: u64, buffer: &'a mut [u8]) -> Result<Self, Arm64PageTableError> {
        let len = buffer.len();
        if !is_aligned(page_table_gpa, TABLE_BYTES) {
            return Err(Arm64PageTableError::MisalignedTableArea {
                gpa: page_table_gpa,
            });
        }
        if !len.is_multiple_of(TABLE_SIZE) {
            return Err(Arm64PageTableError::InvalidTableAreaSize { len });
        }
        if len == 0 {
            return Err(Arm64PageTableError::EmptyTableArea);
        }
        let overflow = Arm64PageTableError::TableAreaOverflow {
            gpa: page_table_gpa,
            len,
        };
        u64::try_from(len)
            .ok()
            .and_then(|len| page_table_gpa.checked_add(len))
            .ok_or(overflow)?;
        let root = buffer
            .get_mut(..TABLE_SIZE)
            .ok_or(Arm64PageTableError::EmptyTableArea)?;
        root.fill(ROOT_TABLE_FILL);
        Ok(Self {
            buffer,
            page_table_gpa,
            used: TABLE_SIZE,
        })
    }

    /// GPA of the area, which is also the root table's GPA (TTBR0_EL1's base
    /// address).
    pub fn page_table_gpa(&self) -> u64 {
        self.page_table_gpa
    }

    /// Bytes in use: (1 + tables allocated) × 4096. This is the length the
    /// original returns.
    pub fn used_len(&self) -> usize {
        self.used
    }

    /// Number of tables the area can hold (its length / 4096).
    pub fn capacity_tables(&self) -> usize {
        self.buffer.len() / TABLE_SIZE
    }

    /// The tables built so far: the first [`used_len`](Self::used_len)
    /// bytes.
    pub fn tables(&self) -> &[u8] {
        self.buffer.get(..self.used).unwrap_or_default()
    }

    /// Zeroes the unused rest of the area, so the whole buffer is the image
    /// a caller imports.
    pub fn zero_unused(&mut self) {
        if let Some(rest) = self.buffer.get_mut(self.used..) {
            rest.fill(0);
        }
    }

    /// Maps `size` bytes of VA from `virt` to PA `phys` with `attributes`,
    /// choosing 1 GiB, 2 MiB and 4 KiB pages exactly as the original
    /// `map_range` does (`docs/algorithms.md` §5).
    ///
    /// Errors: `phys` not 4 KiB-aligned, `size` not a multiple of 4 KiB or 0,
    /// `virt` not 4 KiB-aligned or not canonical (all as the original); a
    /// range that overflows 64 bits, crosses the canonical hole, or whose PA
    /// does not fit the 35-bit output PFN field; an overlap with an existing
    /// mapping ([`AlreadyMapped`](Arm64PageTableError::AlreadyMapped)); not
    /// enough room for the tables needed
    /// ([`OutOfMemory`](Arm64PageTableError::OutOfMemory)) or a table that
    /// would lie at or above 2^47. On error the table space is unchanged.
    pub fn map_range(
        &mut self,
        phys: u64,
        virt: u64,
        size: u64,
        attributes: Arm64MappingAttributes,
    ) -> Result<(), Arm64PageTableError> {
        validate_range(phys, virt, size)?;
        let tables = TableView {
            bytes: self.tables(),
            gpa: self.page_table_gpa,
        };
        let mut plan = Plan::default();
        for chunk in Chunks::new(phys, virt, size) {
            plan.level(
                Some(&tables),
                0,
                Some(0),
                chunk.virt,
                chunk.virt_last,
                chunk.leaf,
            )?;
        }
        let used_tables = (self.used / TABLE_SIZE) as u64;
        let required = used_tables.saturating_add(plan.new_tables);
        let available = self.capacity_tables() as u64;
        if required > available {
            return Err(Arm64PageTableError::OutOfMemory {
                required,
                available,
            });
        }
        if plan.new_tables > 0 {
            // Every table to be allocated must fit the next-table PFN field:
            // report the first one that does not.
            let end = required
                .checked_mul(TABLE_BYTES)
                .and_then(|bytes| bytes.checked_add(self.page_table_gpa));
            if end.is_none_or(|end| end > DESCRIPTOR_ADDRESS_LIMIT) {
                let first_new = self.page_table_gpa.saturating_add(self.used as u64);
                return Err(Arm64PageTableError::TableAddressTooLarge {
                    table_gpa: first_new.max(DESCRIPTOR_ADDRESS_LIMIT),
                });
            }
        }
        for chunk in Chunks::new(phys, virt, size) {
            self.apply_level(
                0,
                0,
                false,
                chunk.virt,
                chunk.virt_last,
                chunk.phys,
                chunk.leaf,
                attributes,
            )?;
        }
        Ok(())
    }

    /// Writes the entries of the level-`level` table at byte offset `table`
    /// that translate `first..=last`, mapping `first` to `phys`; leaves are
    /// at level `leaf`. Allocates missing tables in ascending-VA order.
    /// `fresh`: the table was taken by this `map_range`.
    #[expect(clippy::too_many_arguments, reason = "one walk state, kept flat")]
    fn apply_level(
        &mut self,
        level: u8,
        table: usize,
        fresh: bool,
        first: u64,
        last: u64,
        phys: u64,
        leaf: u8,
        attributes: Arm64MappingAttributes,
    ) -> Result<(), Arm64PageTableError> {
        if level == leaf {
            return self.write_leaves(table, fresh, first, last, phys, level, attributes);
        }
        let span_mask = entry_span_mask(level);
        let mut va = first;
        loop {
            let entry_last = (va | span_mask).min(last);
            let pa = offset_address(phys, first, va);
            let entry = entry_offset(table, level_index(va, level));
            let descriptor = self.read(entry)?;
            let (child, child_fresh) = if descriptor & DESCRIPTOR_VALID == 0 {
                let (offset, gpa) = self.allocate()?;
                self.write(entry, table_descriptor(gpa))?;
                (offset, true)
            } else if descriptor & DESCRIPTOR_TABLE_OR_PAGE != 0 {
                let view = TableView {
                    bytes: self.tables(),
                    gpa: self.page_table_gpa,
                };
                (view.child(descriptor, next_level(level))?, false)
            } else {
                return Err(Arm64PageTableError::AlreadyMapped { va, level });
            };
            self.apply_level(
                next_level(level),
                child,
                child_fresh,
                va,
                entry_last,
                pa,
                leaf,
                attributes,
            )?;
            if entry_last >= last {
                return Ok(());
            }
            va = entry_last.wrapping_add(1);
        }
    }

    /// Writes the level-`level` leaf descriptors of the table at byte offset
    /// `table` for `first..=last` (whole entries of one table), mapping
    /// `first` to `phys`. Entries of an existing table are checked again
    /// for overlaps; a `fresh` table (taken by this call, all zero) is not
    /// read, which keeps the loop free of loads from just-zeroed memory.
    #[expect(clippy::too_many_arguments, reason = "one walk state, kept flat")]
    fn write_leaves(
        &mut self,
        table: usize,
        fresh: bool,
        first: u64,
        last: u64,
        phys: u64,
        level: u8,
        attributes: Arm64MappingAttributes,
    ) -> Result<(), Arm64PageTableError> {
        let shift = level_shift(level);
        let step = 1u64 << shift;
        // At most 511: `first..=last` lies within one table.
        let count = (last.wrapping_sub(first) >> shift) as usize;
        let start = entry_offset(table, level_index(first, level));
        let error = self.corrupt(start);
        let end = count
            .checked_add(1)
            .and_then(|count| count.checked_mul(8))
            .and_then(|len| start.checked_add(len))
            .ok_or(error)?;
        let slots = self
            .buffer
            .get_mut(..self.used)
            .and_then(|used| used.get_mut(start..end))
            .ok_or(error)?;
        let template = leaf_descriptor(0, level, attributes);
        // `slots` is a whole number of 8-byte entries (`end - start` is).
        let (slots, _) = slots.as_chunks_mut::<8>();
        if !fresh {
            // Check the whole run before writing any of it.
            let mut va = first;
            for slot in slots.iter() {
                if u64::from_le_bytes(*slot) & DESCRIPTOR_VALID != 0 {
                    return Err(Arm64PageTableError::AlreadyMapped { va, level });
                }
                va = va.wrapping_add(step);
            }
        }
        // One branch-free pass over the run (vectorizes).
        let mut pa = phys;
        for slot in slots.iter_mut() {
            *slot = (template | (pa & OUTPUT_ADDRESS_MASK)).to_le_bytes();
            pa = pa.wrapping_add(step);
        }
        Ok(())
    }

    /// Takes the next table from the bump pointer and zeroes it; returns its
    /// byte offset and GPA.
    fn allocate(&mut self) -> Result<(usize, u64), Arm64PageTableError> {
        let offset = self.used;
        let out_of_memory = Arm64PageTableError::OutOfMemory {
            required: ((offset / TABLE_SIZE) as u64).saturating_add(1),
            available: self.capacity_tables() as u64,
        };
        let end = offset.checked_add(TABLE_SIZE).ok_or(out_of_memory)?;
        let gpa = u64::try_from(offset)
            .ok()
            .and_then(|offset| self.page_table_gpa.checked_add(offset))
            .ok_or(out_of_memory)?;
        if gpa >= DESCRIPTOR_ADDRESS_LIMIT {
            return Err(Arm64PageTableError::TableAddressTooLarge { table_gpa: gpa });
        }
        self.buffer
            .get_mut(offset..end)
            .ok_or(out_of_memory)?
            .fill(0);
        self.used = end;
        Ok((offset, gpa))
    }

    fn read(&self, offset: usize) -> Result<u64, Arm64PageTableError> {
        read_descriptor(self.tables(), offset).ok_or(self.corrupt(offset))
    }

    fn write(&mut self, offset: usize, descriptor: u64) -> Result<(), Arm64PageTableError> {
        let error = self.corrupt(offset);
        let end = offset.checked_add(8).ok_or(error)?;
        let slot = self.buffer.get_mut(offset..end).ok_or(error)?;
        slot.copy_from_slice(&descriptor.to_le_bytes());
        Ok(())
    }

    /// The error for a descriptor offset outside the used area (not reachable
    /// through this API: every offset comes from a table this space took).
    fn corrupt(&self, offset: usize) -> Arm64PageTableError {
        Arm64PageTableError::TableOutOfBounds {
            table_gpa: self
                .page_table_gpa
                .saturating_add((offset & !(TABLE_SIZE - 1)) as u64),
            level: 0,
        }
    }
}

/// Number of tables (root included) that mapping `size` bytes from `virt` to
/// `phys` into an empty table space needs, with the original's page-size
/// choice; the used length is this × 4096.
///
/// Errors as [`Arm64TableSpace::map_range`] for invalid ranges.
pub fn required_tables(phys: u64, virt: u64, size: u64) -> Result<u64, Arm64PageTableError> {
    validate_range(phys, virt, size)?;
    let mut plan = Plan::default();
    for chunk in Chunks::new(phys, virt, size) {
        plan.level(None, 0, None, chunk.virt, chunk.virt_last, chunk.leaf)?;
    }
    Ok(plan.new_tables.saturating_add(1))
}

/// The checks of the original `map_range` (in its order), then this crate's
/// range checks that replace the original's later panics.
fn validate_range(phys: u64, virt: u64, size: u64) -> Result<(), Arm64PageTableError> {
    if !is_aligned(phys, SIZE_4K) {
        return Err(Arm64PageTableError::MisalignedPhysAddress {
            pa: phys,
            alignment: SIZE_4K,
        });
    }
    if !is_aligned(size, SIZE_4K) {
        return Err(Arm64PageTableError::InvalidMappingSize { size });
    }
    if size == 0 {
        return Err(Arm64PageTableError::EmptyMapping);
    }
    if !is_aligned(virt, SIZE_4K) {
        return Err(Arm64PageTableError::MisalignedVirtAddress {
            va: virt,
            alignment: SIZE_4K,
        });
    }
    if !is_canonical(virt) {
        return Err(Arm64PageTableError::NonCanonicalVirtAddress { va: virt });
    }
    // size > 0 here.
    let span = size.wrapping_sub(1);
    let virt_last = virt
        .checked_add(span)
        .ok_or(Arm64PageTableError::RangeOverflow { start: virt, size })?;
    let phys_last = phys
        .checked_add(span)
        .ok_or(Arm64PageTableError::RangeOverflow { start: phys, size })?;
    if !is_canonical(virt_last) || (virt_last >> 47) != (virt >> 47) {
        // A lower-half range running past the lower canonical half (an
        // upper-half range that does not overflow 64 bits stays canonical):
        // report its first non-canonical address, 2^47.
        return Err(Arm64PageTableError::NonCanonicalVirtAddress { va: LOWER_HALF_END });
    }
    if phys_last >= DESCRIPTOR_ADDRESS_LIMIT {
        return Err(Arm64PageTableError::PhysAddressTooLarge {
            pa: phys,
            last: phys_last,
        });
    }
    Ok(())
}

/// Mask of the VA bits below one entry's span at `level`.
pub(crate) const fn entry_span_mask(level: u8) -> u64 {
    (1u64 << level_shift(level)).wrapping_sub(1)
}

const fn next_level(level: u8) -> u8 {
    level.saturating_add(1)
}

/// `base + (va - first)`; `va >= first` and the sum is within a validated
/// range, so neither operation wraps.
const fn offset_address(base: u64, first: u64, va: u64) -> u64 {
    base.wrapping_add(va.wrapping_sub(first))
}

pub(crate) const fn entry_offset(table: usize, index: usize) -> usize {
    // index < 512, table is a 4 KiB offset within a slice: no overflow.
    table.wrapping_add(index.wrapping_mul(8))
}

pub(crate) fn read_descriptor(bytes: &[u8], offset: usize) -> Option<u64> {
    let end = offset.checked_add(8)?;
    let raw: [u8; 8] = bytes.get(offset..end)?.try_into().ok()?;
    Some(u64::from_le_bytes(raw))
}

/// Read access to built tables, resolving table descriptors to offsets.
struct TableView<'b> {
    bytes: &'b [u8],
    gpa: u64,
}

impl TableView<'_> {
    fn read(&self, table: usize, index: usize) -> Result<u64, Arm64PageTableError> {
        read_descriptor(self.bytes, entry_offset(table, index)).ok_or(
            Arm64PageTableError::TableOutOfBounds {
                table_gpa: self.gpa.saturating_add(table as u64),
                level: 0,
            },
        )
    }

    /// Byte offset of the level-`level` table a table descriptor points at.
    fn child(&self, descriptor: u64, level: u8) -> Result<usize, Arm64PageTableError> {
        let table_gpa = descriptor & OUTPUT_ADDRESS_MASK;
        let error = Arm64PageTableError::TableOutOfBounds { table_gpa, level };
        let offset = table_gpa
            .checked_sub(self.gpa)
            .and_then(|offset| usize::try_from(offset).ok())
            .ok_or(error)?;
        match offset.checked_add(TABLE_SIZE) {
            Some(end) if end <= self.bytes.len() => Ok(offset),
            _ => Err(error),
        }
    }
}

/// The dry run of a `map_range`: overlaps found and tables counted without
/// writing.
#[derive(Default)]
struct Plan {
    /// Tables the mapping will allocate.
    new_tables: u64,
    /// For each level 1..=3: the entry (VA >> shift of its parent level) under
    /// which this plan last allocated a table of that level. Mapping runs in
    /// ascending VA, so a table allocated earlier can only be reached again
    /// while it is the last one allocated at its level.
    fresh: [Option<u64>; 4],
}

impl Plan {
    /// Plans the entries of a level-`level` table that translate
    /// `first..=last`. `table` is the byte offset of an existing table in
    /// `tables`, or `None` for a table this plan allocates (all its entries
    /// are invalid).
    fn level(
        &mut self,
        tables: Option<&TableView<'_>>,
        level: u8,
        table: Option<usize>,
        first: u64,
        last: u64,
        leaf: u8,
    ) -> Result<(), Arm64PageTableError> {
        if level >= leaf && table.is_none() {
            // New leaf table: nothing to check, nothing to allocate.
            return Ok(());
        }
        let span_mask = entry_span_mask(level);
        let mut va = first;
        loop {
            let entry_last = (va | span_mask).min(last);
            let mut child = None;
            if let (Some(tables), Some(table)) = (tables, table) {
                let descriptor = tables.read(table, level_index(va, level))?;
                if descriptor & DESCRIPTOR_VALID != 0 {
                    if level >= leaf || descriptor & DESCRIPTOR_TABLE_OR_PAGE == 0 {
                        return Err(Arm64PageTableError::AlreadyMapped { va, level });
                    }
                    child = Some(tables.child(descriptor, next_level(level))?);
                }
            }
            if level < leaf {
                let entry = va >> level_shift(level);
                if child.is_none()
                    && let Some(slot) = self.fresh.get_mut(usize::from(next_level(level)))
                    && *slot != Some(entry)
                {
                    *slot = Some(entry);
                    self.new_tables = self.new_tables.saturating_add(1);
                }
                self.level(tables, next_level(level), child, va, entry_last, leaf)?;
            }
            if entry_last >= last {
                return Ok(());
            }
            va = entry_last.wrapping_add(1);
        }
    }
}

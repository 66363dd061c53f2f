//! The identity builder's fast path for a fresh table area: one ascending
//! pass that writes each byte once (`docs/algorithms.md` §5).

use crate::address::DESCRIPTOR_ADDRESS_LIMIT;
use crate::address::OUTPUT_ADDRESS_MASK;
use crate::address::TABLE_SIZE;
use crate::address::is_aligned;
use crate::address::level_index;
use crate::address::level_shift;
use crate::chunks::Chunk;
use crate::chunks::Chunks;
use crate::chunks::SIZE_4K;
use crate::descriptor::Arm64MappingAttributes;
use crate::descriptor::ROOT_TABLE_FILL;
use crate::descriptor::leaf_descriptor;
use crate::descriptor::table_descriptor;
use crate::space::LOWER_HALF_END;
use crate::space::TABLE_BYTES;
use crate::space::entry_offset;
use crate::space::entry_span_mask;

/// Fast path of the identity builder for a fresh area: writes the tables of
/// mapping `size` bytes at `start` (PA = VA) into `out` directly, in one
/// ascending pass with no planning and no reads, each byte written once
/// (root 0xFE fill, then per table: zero outside its leaf run, leaves, table
/// descriptors). Produces exactly what [`Arm64TableSpace::new`](crate::Arm64TableSpace::new) +
/// [`map_range`](crate::Arm64TableSpace::map_range) + [`zero_unused`](crate::Arm64TableSpace::zero_unused)
/// produce. Returns `None` whenever that path would report an error or the
/// map leaves this path's shape (the caller then runs the general path,
/// which rewrites every byte of `out`).
pub(crate) fn build_identity_fresh(
    page_table_gpa: u64,
    start: u64,
    size: u64,
    attributes: Arm64MappingAttributes,
    out: &mut [u8],
) -> Option<usize> {
    let len = out.len();
    if size == 0
        || len == 0
        || !len.is_multiple_of(TABLE_SIZE)
        || !is_aligned(page_table_gpa, TABLE_BYTES)
        || !is_aligned(start, SIZE_4K)
        || !is_aligned(size, SIZE_4K)
    {
        return None;
    }
    // Every table GPA of the area fits the next-table field, and the whole
    // range is canonical (lower half) and within the output PFN field.
    let area_end = page_table_gpa.checked_add(u64::try_from(len).ok()?)?;
    let end = start.checked_add(size)?;
    if area_end > DESCRIPTOR_ADDRESS_LIMIT || end > DESCRIPTOR_ADDRESS_LIMIT || end > LOWER_HALF_END
    {
        return None;
    }
    out.get_mut(..TABLE_SIZE)?.fill(ROOT_TABLE_FILL);
    let mut writer = FreshWriter {
        out,
        gpa: page_table_gpa,
        used: TABLE_SIZE,
        level1: None,
        level2: None,
    };
    for chunk in Chunks::new(start, start, size) {
        writer.chunk(chunk, attributes)?;
    }
    let used = writer.used;
    writer.out.get_mut(used..)?.fill(0);
    Some(used)
}

/// The cursor of [`build_identity_fresh`]: the bump pointer and the last
/// level-1 and level-2 tables taken (key: the VA's entry at the parent level,
/// offset). Mapping ascends, so only these can be reached again.
struct FreshWriter<'o> {
    out: &'o mut [u8],
    gpa: u64,
    used: usize,
    level1: Option<(u64, usize)>,
    level2: Option<(u64, usize)>,
}

impl FreshWriter<'_> {
    fn chunk(&mut self, chunk: Chunk, attributes: Arm64MappingAttributes) -> Option<()> {
        if chunk.leaf != 1 && chunk.leaf != 2 {
            return None;
        }
        let mut va = chunk.virt;
        loop {
            // One level-1 table's worth (512 GiB) at a time.
            let piece_last = (va | entry_span_mask(0)).min(chunk.virt_last);
            let key0 = va >> level_shift(0);
            let level1 = match self.level1 {
                Some((key, offset)) if key == key0 => offset,
                _ => {
                    let offset = self.take(None)?;
                    self.write(entry_offset(0, level_index(va, 0)), self.table_gpa(offset)?)?;
                    self.level1 = Some((key0, offset));
                    offset
                }
            };
            if chunk.leaf == 1 {
                self.leaves(level1, va, piece_last, 1, attributes)?;
            } else {
                let mut gib = va;
                loop {
                    // One level-2 table's worth (1 GiB), always a new table.
                    let gib_last = (gib | entry_span_mask(1)).min(piece_last);
                    let key1 = gib >> level_shift(1);
                    if self.level2.is_some_and(|(key, _)| key == key1) {
                        return None;
                    }
                    let first = level_index(gib, 2);
                    let last = level_index(gib_last, 2);
                    let level2 = self.take(Some((first, last)))?;
                    self.write(
                        entry_offset(level1, level_index(gib, 1)),
                        self.table_gpa(level2)?,
                    )?;
                    self.level2 = Some((key1, level2));
                    self.leaves(level2, gib, gib_last, 2, attributes)?;
                    if gib_last >= piece_last {
                        break;
                    }
                    gib = gib_last.wrapping_add(1);
                }
            }
            if piece_last >= chunk.virt_last {
                return Some(());
            }
            va = piece_last.wrapping_add(1);
        }
    }

    /// Takes the next table; zeroes it, or with `Some((first, last))` only
    /// the entries outside `first..=last` (the caller writes those).
    fn take(&mut self, leaves: Option<(usize, usize)>) -> Option<usize> {
        let offset = self.used;
        let end = offset.checked_add(TABLE_SIZE)?;
        let table = self.out.get_mut(offset..end)?;
        match leaves {
            None => table.fill(0),
            Some((first, last)) => {
                let (before, rest) = table.split_at_mut_checked(first.checked_mul(8)?)?;
                before.fill(0);
                let run = last.checked_sub(first)?.checked_add(1)?.checked_mul(8)?;
                rest.get_mut(run..)?.fill(0);
            }
        }
        self.used = end;
        Some(offset)
    }

    fn table_gpa(&self, offset: usize) -> Option<u64> {
        let gpa = self.gpa.checked_add(u64::try_from(offset).ok()?)?;
        Some(table_descriptor(gpa))
    }

    fn write(&mut self, offset: usize, descriptor: u64) -> Option<()> {
        let slot = self.out.get_mut(offset..offset.checked_add(8)?)?;
        slot.copy_from_slice(&descriptor.to_le_bytes());
        Some(())
    }

    /// Writes the level-`level` leaves of the table at `table` for
    /// `first..=last` (identity: PA = VA).
    fn leaves(
        &mut self,
        table: usize,
        first: u64,
        last: u64,
        level: u8,
        attributes: Arm64MappingAttributes,
    ) -> Option<()> {
        let start = entry_offset(table, level_index(first, level));
        let end = entry_offset(table, level_index(last, level)).checked_add(8)?;
        let slots = self.out.get_mut(start..end)?;
        fill_leaves(
            slots,
            leaf_descriptor(0, level, attributes),
            first,
            1u64 << level_shift(level),
        );
        Some(())
    }
}

/// Writes consecutive leaf descriptors `template | pa` into `slots` (whole
/// 8-byte entries), `pa` starting at `phys` and advancing by `step`.
///
/// `phys` is `step`-aligned and every `pa` lies below 2^47 (the caller
/// validated the range), so `pa` only has bits 12..=46, which `template`
/// never has: `template | (pa + step)` is `(template | pa) + step`, and the
/// loop is one add and one store per entry (it vectorizes).
fn fill_leaves(slots: &mut [u8], template: u64, phys: u64, step: u64) {
    let (slots, _) = slots.as_chunks_mut::<8>();
    let mut descriptor = template | (phys & OUTPUT_ADDRESS_MASK);
    for slot in slots.iter_mut() {
        *slot = descriptor.to_le_bytes();
        descriptor = descriptor.wrapping_add(step);
    }
}

//! Reading translation tables back: translate one VA, or iterate every
//! mapping in ascending VA order, from the table bytes, their GPA and
//! TTBR0_EL1. Corrupt tables yield errors; no input makes the walker panic
//! or run unboundedly.

use crate::address::Arm64PageSize;
use crate::address::ENTRIES_PER_TABLE;
use crate::address::OUTPUT_ADDRESS_MASK;
use crate::address::TABLE_SIZE;
use crate::address::is_aligned;
use crate::address::is_canonical;
use crate::address::level_index;
use crate::address::level_shift;
use crate::descriptor::Arm64MappingAttributes;
use crate::descriptor::DESCRIPTOR_TABLE_OR_PAGE;
use crate::descriptor::DESCRIPTOR_VALID;
use crate::error::Arm64PageTableError;
use crate::space::read_descriptor;

/// TTBR0_EL1.BADDR: bits 47..=1 (bit 0 is CnP, which the walker ignores).
const TTBR_BADDR_MASK: u64 = 0x0000_FFFF_FFFF_FFFE;

/// One block or page mapping found in the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arm64Mapping {
    /// First VA of the block or page (sign-extended from bit 47).
    pub va: u64,
    /// Output address of the block or page.
    pub pa: u64,
    /// Block or page size.
    pub size: Arm64PageSize,
    /// The leaf descriptor's attributes.
    pub attributes: Arm64MappingAttributes,
    /// The raw descriptor (for bits not decoded, e.g. AF and nG).
    pub descriptor: u64,
}

/// The result of translating one VA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arm64Translation {
    /// The physical address the VA translates to.
    pub pa: u64,
    /// The block or page that contains the VA.
    pub mapping: Arm64Mapping,
}

/// A read-only view of stage-1 tables (4 KiB granule, 48-bit VAs, walk
/// starting at level 0), as the hardware would walk them from TTBR0_EL1.
///
/// VAs index the root with bits 39..=47 like the builder, so upper-half
/// (sign-extended) VAs use root entries 256..=511. With the paravisor's
/// T0SZ = 17 the hardware only reaches root entries 0..=255.
#[derive(Debug, Clone, Copy)]
pub struct Arm64TableWalker<'a> {
    tables: &'a [u8],
    tables_gpa: u64,
    root: usize,
}

impl<'a> Arm64TableWalker<'a> {
    /// A walker over `tables` (a whole number of 4 KiB tables) that lie at
    /// GPA `tables_gpa`, with the root table at TTBR0_EL1's base address.
    ///
    /// Errors: `tables` empty or not a multiple of 4 KiB, `tables_gpa` not
    /// 4 KiB-aligned or the bytes running past 2^64, TTBR0's base address not
    /// 4 KiB-aligned, or the root table not inside `tables`.
    pub fn new(tables: &'a [u8], tables_gpa: u64, ttbr0: u64) -> Result<Self, Arm64PageTableError> {
        let len = tables.len();
        if !is_aligned(tables_gpa, TABLE_SIZE as u64) {
            return Err(Arm64PageTableError::MisalignedTableArea { gpa: tables_gpa });
        }
        if !len.is_multiple_of(TABLE_SIZE) {
            return Err(Arm64PageTableError::InvalidTableAreaSize { len });
        }
        if len == 0 {
            return Err(Arm64PageTableError::EmptyTableArea);
        }
        u64::try_from(len)
            .ok()
            .and_then(|len| tables_gpa.checked_add(len))
            .ok_or(Arm64PageTableError::TableAreaOverflow {
                gpa: tables_gpa,
                len,
            })?;
        let root_gpa = ttbr0 & TTBR_BADDR_MASK;
        if !is_aligned(root_gpa, TABLE_SIZE as u64) {
            return Err(Arm64PageTableError::MisalignedTtbr0 { ttbr0 });
        }
        let mut walker = Self {
            tables,
            tables_gpa,
            root: 0,
        };
        walker.root = walker.table_offset(root_gpa, 0)?;
        Ok(walker)
    }

    /// Translates `va`: `Ok(None)` when an invalid descriptor (bit 0 clear,
    /// such as a 0xFE-filled root entry) is reached.
    ///
    /// Errors: `va` not canonical, a table descriptor pointing outside the
    /// table bytes, an invalid descriptor or a misaligned output address.
    pub fn translate(&self, va: u64) -> Result<Option<Arm64Translation>, Arm64PageTableError> {
        if !is_canonical(va) {
            return Err(Arm64PageTableError::NonCanonicalVirtAddress { va });
        }
        let mut table = self.root;
        for level in 0..=3u8 {
            let descriptor = self.read(table, level_index(va, level), level)?;
            if descriptor & DESCRIPTOR_VALID == 0 {
                return Ok(None);
            }
            if level < 3 && descriptor & DESCRIPTOR_TABLE_OR_PAGE != 0 {
                table =
                    self.table_offset(descriptor & OUTPUT_ADDRESS_MASK, level.saturating_add(1))?;
                continue;
            }
            let entry_va = va & !entry_mask(level);
            let mapping = decode_leaf(descriptor, level, entry_va)?;
            return Ok(Some(Arm64Translation {
                pa: mapping.pa | (va & entry_mask(level)),
                mapping,
            }));
        }
        // Level 3 always returns above; kept for totality.
        Ok(None)
    }

    /// Every block and page mapping, in ascending VA order.
    ///
    /// The iterator yields an error and then stops on a corrupt descriptor,
    /// a table outside the bytes, a table descriptor pointing back at one of
    /// its ancestors, or more table references than the bytes hold tables
    /// (so shared tables and loops end after a bounded walk).
    pub fn mappings(&self) -> Arm64Mappings<'a> {
        Arm64Mappings {
            walker: *self,
            stack: [(self.root, 0); 4],
            depth: 0,
            table_visits: 0,
            done: false,
        }
    }

    fn read(&self, table: usize, index: usize, level: u8) -> Result<u64, Arm64PageTableError> {
        let offset = table.checked_add(index.saturating_mul(8));
        offset
            .and_then(|offset| read_descriptor(self.tables, offset))
            .ok_or(Arm64PageTableError::TableOutOfBounds {
                table_gpa: self.tables_gpa.saturating_add(table as u64),
                level,
            })
    }

    /// Byte offset of the level-`level` table at `table_gpa`, which must be
    /// a whole table inside the bytes.
    fn table_offset(&self, table_gpa: u64, level: u8) -> Result<usize, Arm64PageTableError> {
        let error = Arm64PageTableError::TableOutOfBounds { table_gpa, level };
        let offset = table_gpa
            .checked_sub(self.tables_gpa)
            .and_then(|offset| usize::try_from(offset).ok())
            .ok_or(error)?;
        match offset.checked_add(TABLE_SIZE) {
            Some(end) if end <= self.tables.len() && offset % TABLE_SIZE == 0 => Ok(offset),
            _ => Err(error),
        }
    }
}

/// Iterator over the mappings of an [`Arm64TableWalker`], depth first in
/// ascending VA order; see [`Arm64TableWalker::mappings`].
#[derive(Debug, Clone)]
pub struct Arm64Mappings<'a> {
    walker: Arm64TableWalker<'a>,
    /// Per level: (table byte offset, index of the next entry to read).
    stack: [(usize, usize); 4],
    depth: usize,
    /// Tables entered below the root so far.
    table_visits: usize,
    done: bool,
}

impl Arm64Mappings<'_> {
    /// The first VA of the entry just read at the current depth
    /// (sign-extended from bit 47).
    fn current_va(&self) -> u64 {
        let mut va = 0u64;
        for (level, &(_, next)) in (0u8..).zip(self.stack.iter().take(self.depth.saturating_add(1)))
        {
            let index = (next.saturating_sub(1) & (ENTRIES_PER_TABLE - 1)) as u64;
            va |= index << level_shift(level);
        }
        if va & (1 << 47) != 0 {
            va |= 0xFFFF_0000_0000_0000;
        }
        va
    }

    fn step(&mut self) -> Result<Option<Arm64Mapping>, Arm64PageTableError> {
        loop {
            let Some(&(table, next)) = self.stack.get(self.depth) else {
                return Ok(None);
            };
            if next >= ENTRIES_PER_TABLE {
                if self.depth == 0 {
                    return Ok(None);
                }
                self.depth = self.depth.saturating_sub(1);
                continue;
            }
            if let Some(frame) = self.stack.get_mut(self.depth) {
                frame.1 = next.saturating_add(1);
            }
            let level = self.depth as u8;
            let descriptor = self.walker.read(table, next, level)?;
            if descriptor & DESCRIPTOR_VALID == 0 {
                continue;
            }
            let va = self.current_va();
            if level < 3 && descriptor & DESCRIPTOR_TABLE_OR_PAGE != 0 {
                let child_level = level.saturating_add(1);
                let table_gpa = descriptor & OUTPUT_ADDRESS_MASK;
                let child = self.walker.table_offset(table_gpa, child_level)?;
                self.table_visits = self.table_visits.saturating_add(1);
                let ancestors = self.stack.iter().take(self.depth.saturating_add(1));
                let loops = ancestors.clone().any(|&(offset, _)| offset == child);
                // Without shared tables, each of the N tables but the root is
                // entered at most once.
                let too_many = self.table_visits >= self.walker.tables.len() / TABLE_SIZE;
                if loops || too_many {
                    return Err(Arm64PageTableError::TableLoop {
                        table_gpa,
                        level: child_level,
                    });
                }
                self.depth = self.depth.saturating_add(1);
                if let Some(frame) = self.stack.get_mut(self.depth) {
                    *frame = (child, 0);
                }
                continue;
            }
            return decode_leaf(descriptor, level, va).map(Some);
        }
    }
}

impl Iterator for Arm64Mappings<'_> {
    type Item = Result<Arm64Mapping, Arm64PageTableError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(Some(mapping)) => Some(Ok(mapping)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(error) => {
                self.done = true;
                Some(Err(error))
            }
        }
    }
}

impl core::iter::FusedIterator for Arm64Mappings<'_> {}

/// Mask of the VA bits below one entry's span at `level`.
const fn entry_mask(level: u8) -> u64 {
    (1u64 << level_shift(level)).wrapping_sub(1)
}

/// Decodes a valid non-table descriptor at `level` translating from `va`.
fn decode_leaf(descriptor: u64, level: u8, va: u64) -> Result<Arm64Mapping, Arm64PageTableError> {
    let invalid = Arm64PageTableError::InvalidDescriptor {
        descriptor,
        level,
        va,
    };
    let size = Arm64PageSize::from_leaf_level(level).ok_or(invalid)?;
    let is_page = descriptor & DESCRIPTOR_TABLE_OR_PAGE != 0;
    if is_page != (level == 3) {
        return Err(invalid);
    }
    let attributes = Arm64MappingAttributes::from_leaf_descriptor(descriptor).ok_or(invalid)?;
    let pa = descriptor & OUTPUT_ADDRESS_MASK;
    if !is_aligned(pa, size.bytes()) {
        return Err(Arm64PageTableError::MisalignedOutputAddress {
            descriptor,
            level,
            va,
        });
    }
    Ok(Arm64Mapping {
        va,
        pa,
        size,
        attributes,
        descriptor,
    })
}

//! Reading x86-64 4-level page tables back: [`PageTableWalker`] translates a
//! virtual address and iterates every mapping in ascending VA order.
//!
//! The walker reads arbitrary bytes safely: a table outside the given bytes,
//! a loop, a table referenced twice, or reserved bits (PS in a PML4E,
//! address bits below a large page's size) are errors, never a panic, and
//! iteration examines at most 512 entries per table in the given bytes, so
//! it always terminates. It is `no_std` and allocation-free, so a boot shim
//! can walk its own live tables.

use crate::PageSize;
use crate::WalkError;
use crate::X64_1GB_PAGE_SIZE;
use crate::X64_LARGE_PAGE_SIZE;
use crate::builder::ENTRIES_PER_TABLE;
use crate::builder::TABLE_SIZE;
use crate::entry;
use core::iter::FusedIterator;

/// A level of the 4-level hierarchy, named by the table at that level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// Page-map level 4 (the root, pointed to by CR3).
    Pml4,
    /// Page-directory-pointer table (entries map 1 GiB).
    Pdpt,
    /// Page directory (entries map 2 MiB).
    Pd,
    /// Page table (entries map 4 KiB).
    Pt,
}

/// The levels from the root down.
const LEVELS: [Level; 4] = [Level::Pml4, Level::Pdpt, Level::Pd, Level::Pt];

impl Level {
    /// The shift of the VA bits indexing a table at this level.
    pub const fn shift(self) -> u32 {
        match self {
            Level::Pml4 => 39,
            Level::Pdpt => 30,
            Level::Pd => 21,
            Level::Pt => 12,
        }
    }

    /// The index of `va` in a table at this level: (VA >> shift) & 0x1FF.
    pub const fn index(self, va: u64) -> usize {
        ((va >> self.shift()) & 0x1FF) as usize
    }
}

impl core::fmt::Display for Level {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Level::Pml4 => "PML4",
            Level::Pdpt => "PDPT",
            Level::Pd => "PD",
            Level::Pt => "PT",
        })
    }
}

/// A translation: where a VA (or a whole leaf page) maps, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Translation {
    /// The virtual address (for iteration: the first VA of the page).
    pub va: u64,
    /// The physical address `va` maps to (for iteration: the page's start).
    pub pa: u64,
    /// The size of the leaf page.
    pub page_size: PageSize,
    /// The leaf entry's bits outside its address field (present, RW, A, D,
    /// PS, PAT, NX, software bits, and the confidential bit if configured).
    pub flags: u64,
    /// Writes allowed: RW set at every level.
    pub writable: bool,
    /// Execution allowed: NX clear at every level.
    pub executable: bool,
    /// The leaf has the configured confidential bit (false if none).
    pub confidential: bool,
}

/// A run of contiguous leaves with the same access rights (see
/// [`PageTableWalker::regions`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MappedRegion {
    /// First virtual address.
    pub va: u64,
    /// Physical address of `va`.
    pub pa: u64,
    /// Size in bytes.
    pub size: u64,
    /// Writes allowed.
    pub writable: bool,
    /// Execution allowed.
    pub executable: bool,
    /// Leaves carry the confidential bit.
    pub confidential: bool,
}

/// Reads page tables held in a byte slice that starts at a known GPA.
#[derive(Debug, Clone, Copy)]
pub struct PageTableWalker<'a> {
    tables: &'a [u8],
    base_gpa: u64,
    root_gpa: u64,
    address_mask: u64,
    confidential: u64,
}

/// Sign-extends bit 47 of a 48-bit VA (canonical form).
const fn canonical(va: u64) -> u64 {
    if va & (1 << 47) != 0 {
        va | 0xFFFF_0000_0000_0000
    } else {
        va
    }
}

/// Entry `index` of a 4096-byte table (0 if out of range, which cannot
/// happen for index < 512).
fn read_entry(table: &[u8], index: usize) -> u64 {
    let start = index.saturating_mul(8);
    table
        .get(start..start.saturating_add(8))
        .and_then(|s| <[u8; 8]>::try_from(s).ok())
        .map_or(0, u64::from_le_bytes)
}

impl<'a> PageTableWalker<'a> {
    /// A walker over `tables`, whose first byte is at `base_gpa` (4 KiB
    /// aligned), starting at the PML4 named by `cr3` (its flag bits and the
    /// confidential bit are ignored). `confidential_bit` (12..=51) is
    /// removed from the address field of every entry (SNP: 51).
    pub fn new(
        tables: &'a [u8],
        base_gpa: u64,
        cr3: u64,
        confidential_bit: Option<u8>,
    ) -> Result<Self, WalkError> {
        if !base_gpa.is_multiple_of(crate::X64_PAGE_SIZE) {
            return Err(WalkError::BaseUnaligned { base_gpa });
        }
        let mask = entry::address_mask(confidential_bit);
        let confidential = entry::confidential_mask(confidential_bit);
        let (Some(address_mask), Some(confidential)) = (mask, confidential) else {
            return Err(WalkError::ConfidentialBitInvalid {
                bit: confidential_bit.unwrap_or_default(),
            });
        };
        Ok(Self {
            tables,
            base_gpa,
            root_gpa: cr3 & address_mask,
            address_mask,
            confidential,
        })
    }

    /// The 4096 bytes of the table at `gpa`, used at `level`.
    fn table(&self, gpa: u64, level: Level) -> Result<&'a [u8], WalkError> {
        let out_of_bounds = WalkError::TableOutOfBounds {
            level,
            table_gpa: gpa,
            base_gpa: self.base_gpa,
            len: self.tables.len(),
        };
        let offset = gpa
            .checked_sub(self.base_gpa)
            .and_then(|o| usize::try_from(o).ok())
            .ok_or(out_of_bounds)?;
        let end = offset.checked_add(TABLE_SIZE).ok_or(out_of_bounds)?;
        self.tables.get(offset..end).ok_or(out_of_bounds)
    }

    /// For a leaf entry: (page start PA, page size, flags), or the
    /// reserved-bits error.
    fn leaf(
        &self,
        level: Level,
        table_gpa: u64,
        index: usize,
        entry: u64,
    ) -> Result<(u64, PageSize, u64), WalkError> {
        let reserved = WalkError::ReservedBits {
            level,
            table_gpa,
            index,
            entry,
        };
        let (size, reserved_bits) = match level {
            Level::Pml4 => return Err(reserved),
            Level::Pdpt => (PageSize::Size1GiB, (X64_1GB_PAGE_SIZE - 1) & !0x1FFF),
            Level::Pd => (PageSize::Size2MiB, (X64_LARGE_PAGE_SIZE - 1) & !0x1FFF),
            Level::Pt => (PageSize::Size4KiB, 0),
        };
        if entry & self.address_mask & reserved_bits != 0 {
            return Err(reserved);
        }
        let address_bits = self.address_mask & !size.bytes().wrapping_sub(1);
        Ok((entry & address_bits, size, entry & !address_bits))
    }

    /// Translates `va` (canonical) through the tables.
    pub fn translate(&self, va: u64) -> Result<Translation, WalkError> {
        let top = va >> 47;
        if top != 0 && top != 0x1_FFFF {
            return Err(WalkError::NonCanonical { va });
        }
        let mut path = [0u64; 4];
        let mut table_gpa = self.root_gpa;
        let mut writable = true;
        let mut executable = true;
        for (depth, level) in LEVELS.into_iter().enumerate() {
            if path.get(..depth).is_some_and(|p| p.contains(&table_gpa)) {
                return Err(WalkError::Loop { level, table_gpa });
            }
            let table = self.table(table_gpa, level)?;
            let index = level.index(va);
            let entry = read_entry(table, index);
            if entry & entry::PRESENT == 0 {
                return Err(WalkError::NotMapped { va, level });
            }
            writable &= entry & entry::READ_WRITE != 0;
            executable &= entry & entry::NO_EXECUTE == 0;
            if level == Level::Pt || entry & entry::PAGE_SIZE != 0 {
                let (base, page_size, flags) = self.leaf(level, table_gpa, index, entry)?;
                return Ok(Translation {
                    va,
                    pa: base | (va & page_size.bytes().wrapping_sub(1)),
                    page_size,
                    flags,
                    writable,
                    executable,
                    confidential: self.confidential != 0 && entry & self.confidential != 0,
                });
            }
            if let Some(slot) = path.get_mut(depth) {
                *slot = table_gpa;
            }
            table_gpa = entry & self.address_mask;
        }
        // Not reached: the PT level always returns above.
        Err(WalkError::NotMapped {
            va,
            level: Level::Pt,
        })
    }

    /// Every leaf mapping, in ascending (canonical) VA order.
    pub fn mappings(&self) -> Mappings<'a> {
        let tables = (self.tables.len() / TABLE_SIZE) as u64;
        Mappings {
            walker: *self,
            table_gpa: [self.root_gpa, 0, 0, 0],
            next_index: [0; 4],
            writable: [true; 4],
            executable: [true; 4],
            depth: 0,
            examined: 0,
            limit: tables.saturating_mul(ENTRIES_PER_TABLE as u64),
            done: false,
        }
    }

    /// The mappings merged into maximal runs that are contiguous in VA and
    /// PA with the same access rights, in ascending VA order.
    pub fn regions(&self) -> Regions<'a> {
        Regions {
            inner: self.mappings(),
            pending: None,
        }
    }
}

/// Iterator over leaf mappings (see [`PageTableWalker::mappings`]). After an
/// error it yields nothing more.
#[derive(Debug, Clone)]
pub struct Mappings<'a> {
    walker: PageTableWalker<'a>,
    table_gpa: [u64; 4],
    next_index: [usize; 4],
    writable: [bool; 4],
    executable: [bool; 4],
    depth: usize,
    examined: u64,
    limit: u64,
    done: bool,
}

impl Mappings<'_> {
    fn fail(&mut self, error: WalkError) -> Option<Result<Translation, WalkError>> {
        self.done = true;
        Some(Err(error))
    }

    /// The VA of entry `index` at `depth`, the levels above at their current
    /// entries.
    fn va(&self, depth: usize, index: usize) -> u64 {
        let mut va = 0u64;
        for (d, level) in LEVELS.into_iter().enumerate().take(depth) {
            let i = self
                .next_index
                .get(d)
                .copied()
                .unwrap_or(0)
                .saturating_sub(1);
            va |= (i as u64) << level.shift();
        }
        let shift = LEVELS.get(depth).map_or(12, |l| l.shift());
        canonical(va | ((index as u64) << shift))
    }
}

impl Iterator for Mappings<'_> {
    type Item = Result<Translation, WalkError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let d = self.depth;
            let (Some(&level), Some(&table_gpa), Some(&index)) =
                (LEVELS.get(d), self.table_gpa.get(d), self.next_index.get(d))
            else {
                self.done = true;
                return None;
            };
            if index >= ENTRIES_PER_TABLE {
                if d == 0 {
                    self.done = true;
                    return None;
                }
                self.depth = d.saturating_sub(1);
                continue;
            }
            if let Some(n) = self.next_index.get_mut(d) {
                *n = index.saturating_add(1);
            }
            self.examined = self.examined.saturating_add(1);
            if self.examined > self.limit {
                return self.fail(WalkError::SharedTables { limit: self.limit });
            }
            let table = match self.walker.table(table_gpa, level) {
                Ok(t) => t,
                Err(e) => return self.fail(e),
            };
            let entry = read_entry(table, index);
            if entry & entry::PRESENT == 0 {
                continue;
            }
            let writable =
                self.writable.get(d).copied().unwrap_or(false) && entry & entry::READ_WRITE != 0;
            let executable =
                self.executable.get(d).copied().unwrap_or(false) && entry & entry::NO_EXECUTE == 0;
            if level == Level::Pt || entry & entry::PAGE_SIZE != 0 {
                let (pa, page_size, flags) = match self.walker.leaf(level, table_gpa, index, entry)
                {
                    Ok(leaf) => leaf,
                    Err(e) => return self.fail(e),
                };
                let confidential_mask = self.walker.confidential;
                return Some(Ok(Translation {
                    va: self.va(d, index),
                    pa,
                    page_size,
                    flags,
                    writable,
                    executable,
                    confidential: confidential_mask != 0 && entry & confidential_mask != 0,
                }));
            }
            let child = entry & self.walker.address_mask;
            let child_depth = d.saturating_add(1);
            let Some(&child_level) = LEVELS.get(child_depth) else {
                self.done = true;
                return None;
            };
            if self
                .table_gpa
                .get(..=d)
                .is_some_and(|path| path.contains(&child))
            {
                return self.fail(WalkError::Loop {
                    level: child_level,
                    table_gpa: child,
                });
            }
            if let Err(e) = self.walker.table(child, child_level) {
                return self.fail(e);
            }
            if let (Some(t), Some(n), Some(w), Some(x)) = (
                self.table_gpa.get_mut(child_depth),
                self.next_index.get_mut(child_depth),
                self.writable.get_mut(child_depth),
                self.executable.get_mut(child_depth),
            ) {
                *t = child;
                *n = 0;
                *w = writable;
                *x = executable;
            }
            self.depth = child_depth;
        }
        None
    }
}

impl FusedIterator for Mappings<'_> {}

/// Iterator over merged runs of mappings (see [`PageTableWalker::regions`]).
#[derive(Debug, Clone)]
pub struct Regions<'a> {
    inner: Mappings<'a>,
    pending: Option<MappedRegion>,
}

impl Iterator for Regions<'_> {
    type Item = Result<MappedRegion, WalkError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.inner.next() {
                None => return self.pending.take().map(Ok),
                Some(Err(e)) => {
                    // Report what was merged so far only through the error.
                    self.pending = None;
                    return Some(Err(e));
                }
                Some(Ok(t)) => {
                    let size = t.page_size.bytes();
                    let next = MappedRegion {
                        va: t.va,
                        pa: t.pa,
                        size,
                        writable: t.writable,
                        executable: t.executable,
                        confidential: t.confidential,
                    };
                    let Some(mut current) = self.pending.take() else {
                        self.pending = Some(next);
                        continue;
                    };
                    let contiguous = current.va.checked_add(current.size) == Some(next.va)
                        && current.pa.checked_add(current.size) == Some(next.pa)
                        && (current.writable, current.executable, current.confidential)
                            == (next.writable, next.executable, next.confidential);
                    if contiguous {
                        current.size = current.size.saturating_add(size);
                        self.pending = Some(current);
                    } else {
                        self.pending = Some(next);
                        return Some(Ok(current));
                    }
                }
            }
        }
    }
}

impl FusedIterator for Regions<'_> {}

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
use crate::X64_1GB_PAGE_SIZE;
use crate::X64_LARGE_PAGE_SIZE;
use crate::entry;
use crate::table::ENTRIES_PER_TABLE;
use crate::table::TABLE_SIZE;
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

/// Why a page-table walk failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WalkError {
    /// The table bytes' base GPA is not 4 KiB aligned.
    #[error("table base GPA {base_gpa:#x} is not 4 KiB aligned")]
    BaseUnaligned {
        /// The base GPA given.
        base_gpa: u64,
    },
    /// The confidential bit is not an address bit (12..=51).
    #[error("confidential bit {bit} is not a physical address bit (12..=51)")]
    ConfidentialBitInvalid {
        /// The configured bit.
        bit: u8,
    },
    /// The virtual address is not canonical for 4-level paging.
    #[error("virtual address {va:#x} is not canonical (bits 63..=47 differ)")]
    NonCanonical {
        /// The address.
        va: u64,
    },
    /// The entry for `va` at `level` is not present.
    #[error("virtual address {va:#x} is not mapped: {level} entry not present")]
    NotMapped {
        /// The address.
        va: u64,
        /// Level of the non-present entry.
        level: Level,
    },
    /// A table lies (partly) outside the given bytes.
    #[error(
        "{level} table at {table_gpa:#x} is outside the given tables [{base_gpa:#x}, +{len:#x})"
    )]
    TableOutOfBounds {
        /// Level of the table.
        level: Level,
        /// GPA of the table.
        table_gpa: u64,
        /// Base GPA of the given bytes.
        base_gpa: u64,
        /// Length of the given bytes.
        len: usize,
    },
    /// An entry has reserved bits set (PS in a PML4E, or address bits below
    /// the page size in a large leaf).
    #[error("{level} table at {table_gpa:#x} entry {index} = {entry:#x} has reserved bits set")]
    ReservedBits {
        /// Level of the table holding the entry.
        level: Level,
        /// GPA of that table.
        table_gpa: u64,
        /// Entry index.
        index: usize,
        /// Entry value.
        entry: u64,
    },
    /// A non-leaf entry points back to a table already on the walk's path.
    #[error("{level} table at {table_gpa:#x} is already on the walk path (loop)")]
    Loop {
        /// Level the table would be used at.
        level: Level,
        /// GPA of the table.
        table_gpa: u64,
    },
    /// Iteration examined more entries than a tree of the given tables can
    /// hold: some table is referenced more than once.
    #[error("more than {limit} entries examined: a table is referenced more than once")]
    SharedTables {
        /// 512 × the number of tables in the given bytes.
        limit: u64,
    },
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
            let table = match self.walker.table(table_gpa, level) {
                Ok(t) => t,
                Err(e) => return self.fail(e),
            };
            self.examined = self.examined.saturating_add(1);
            if self.examined > self.limit {
                return self.fail(WalkError::SharedTables { limit: self.limit });
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;
    use std::vec::Vec;

    const BASE: u64 = 0x10_0000;

    /// `n` zero tables at BASE with the given (table, index, value) entries.
    fn tables<const N: usize>(entries: &[(usize, usize, u64)]) -> [[u8; TABLE_SIZE]; N] {
        let mut t = [[0u8; TABLE_SIZE]; N];
        for &(table, index, value) in entries {
            t[table][index * 8..index * 8 + 8].copy_from_slice(&value.to_le_bytes());
        }
        t
    }

    fn flat<const N: usize>(t: &[[u8; TABLE_SIZE]; N]) -> &[u8] {
        t.as_flattened()
    }

    fn gpa(table: u64) -> u64 {
        BASE + table * 0x1000
    }

    #[test]
    fn translates_a_4_kib_leaf_with_effective_rights() {
        let t = tables::<4>(&[
            (0, 0, gpa(1) | 0x23),
            (1, 0, gpa(2) | 0x21), // read-only PDPTE
            (2, 0, gpa(3) | 0x23 | entry::NO_EXECUTE),
            (3, 5, 0x7000_5000 | 0x63),
        ]);
        let w = PageTableWalker::new(flat(&t), BASE, gpa(0) | 0x18, None).unwrap();
        let tr = w.translate(0x5123).unwrap();
        assert_eq!(tr.pa, 0x7000_5123);
        assert_eq!(tr.page_size, PageSize::Size4KiB);
        assert_eq!(tr.flags, 0x63);
        assert!(!tr.writable && !tr.executable && !tr.confidential);
        assert_eq!(
            w.translate(0x6000),
            Err(WalkError::NotMapped {
                va: 0x6000,
                level: Level::Pt
            })
        );
        assert_eq!(
            w.translate(1 << 39),
            Err(WalkError::NotMapped {
                va: 1 << 39,
                level: Level::Pml4
            })
        );
    }

    #[test]
    fn rejects_bad_walker_parameters_and_non_canonical_addresses() {
        assert_eq!(
            PageTableWalker::new(&[], 0x800, 0, None).unwrap_err(),
            WalkError::BaseUnaligned { base_gpa: 0x800 }
        );
        assert_eq!(
            PageTableWalker::new(&[], 0, 0, Some(60)).unwrap_err(),
            WalkError::ConfidentialBitInvalid { bit: 60 }
        );
        let w = PageTableWalker::new(&[], 0, 0, None).unwrap();
        assert_eq!(
            w.translate(0x0000_8000_0000_0000),
            Err(WalkError::NonCanonical {
                va: 0x0000_8000_0000_0000
            })
        );
        // CR3 outside the (empty) bytes.
        assert!(matches!(
            w.translate(0),
            Err(WalkError::TableOutOfBounds {
                level: Level::Pml4,
                ..
            })
        ));
        assert!(matches!(
            w.mappings().next(),
            Some(Err(WalkError::TableOutOfBounds { .. }))
        ));
    }

    #[test]
    fn a_pointer_outside_the_bytes_is_an_error() {
        let t = tables::<2>(&[(0, 0, gpa(1) | 0x23), (1, 0, gpa(2) | 0x23)]);
        let w = PageTableWalker::new(flat(&t), BASE, gpa(0), None).unwrap();
        let expected = WalkError::TableOutOfBounds {
            level: Level::Pd,
            table_gpa: gpa(2),
            base_gpa: BASE,
            len: 2 * TABLE_SIZE,
        };
        assert_eq!(w.translate(0), Err(expected));
        let mut m = w.mappings();
        assert_eq!(m.next(), Some(Err(expected)));
        assert_eq!(m.next(), None);
        // Below the base too.
        let t = tables::<1>(&[(0, 0, 0x1000 | 0x23)]);
        let w = PageTableWalker::new(flat(&t), BASE, gpa(0), None).unwrap();
        assert!(matches!(
            w.translate(0),
            Err(WalkError::TableOutOfBounds { .. })
        ));
    }

    #[test]
    fn a_loop_is_an_error() {
        // PML4[0] -> PDPT whose entry 0 points back at the PML4.
        let t = tables::<2>(&[(0, 0, gpa(1) | 0x23), (1, 0, gpa(0) | 0x23)]);
        let w = PageTableWalker::new(flat(&t), BASE, gpa(0), None).unwrap();
        let expected = WalkError::Loop {
            level: Level::Pd,
            table_gpa: gpa(0),
        };
        assert_eq!(w.translate(0), Err(expected));
        assert_eq!(w.mappings().next(), Some(Err(expected)));
        // Self-reference.
        let t = tables::<1>(&[(0, 3, gpa(0) | 0x23)]);
        let w = PageTableWalker::new(flat(&t), BASE, gpa(0), None).unwrap();
        assert!(matches!(w.translate(3 << 39), Err(WalkError::Loop { .. })));
    }

    #[test]
    fn a_table_referenced_twice_stops_iteration() {
        // PML4[0] and PML4[1] share a PDPT full of present PD pointers to a
        // PD full of 2 MiB leaves: a DAG, not a tree.
        let mut entries = vec![(0, 0, gpa(1) | 0x23), (0, 1, gpa(1) | 0x23)];
        for i in 0..512 {
            entries.push((1, i, gpa(2) | 0x23));
        }
        let t = tables::<3>(&entries);
        let w = PageTableWalker::new(flat(&t), BASE, gpa(0), None).unwrap();
        // The PD is empty, so translation just reports "not mapped".
        assert!(matches!(w.translate(0), Err(WalkError::NotMapped { .. })));
        let last = w.mappings().last();
        assert_eq!(last, Some(Err(WalkError::SharedTables { limit: 3 * 512 })));
    }

    #[test]
    fn reserved_bits_are_errors() {
        // PS in a PML4E.
        let t = tables::<1>(&[(0, 0, 0x80 | 0x23)]);
        let w = PageTableWalker::new(flat(&t), BASE, gpa(0), None).unwrap();
        assert!(matches!(
            w.translate(0),
            Err(WalkError::ReservedBits {
                level: Level::Pml4,
                ..
            })
        ));
        // A 2 MiB leaf with address bit 13 set.
        let t = tables::<3>(&[
            (0, 0, gpa(1) | 0x23),
            (1, 0, gpa(2) | 0x23),
            (2, 0, 0x2000 | 0xE3),
        ]);
        let w = PageTableWalker::new(flat(&t), BASE, gpa(0), None).unwrap();
        let expected = WalkError::ReservedBits {
            level: Level::Pd,
            table_gpa: gpa(2),
            index: 0,
            entry: 0x20E3,
        };
        assert_eq!(w.translate(0), Err(expected));
        assert_eq!(w.mappings().next(), Some(Err(expected)));
        // PAT (bit 12) in a 2 MiB leaf is allowed and reported in the flags.
        let t = tables::<3>(&[
            (0, 0, gpa(1) | 0x23),
            (1, 0, gpa(2) | 0x23),
            (2, 0, 0x40_0000 | 0x1000 | 0xE3),
        ]);
        let w = PageTableWalker::new(flat(&t), BASE, gpa(0), None).unwrap();
        let tr = w.translate(0x1_2345).unwrap();
        assert_eq!((tr.pa, tr.flags), (0x41_2345, 0x10E3));
    }

    #[test]
    fn the_confidential_bit_is_removed_from_addresses() {
        let c = 1u64 << 51;
        let t = tables::<3>(&[
            (0, 0, gpa(1) | 0x23 | c),
            (1, 0, gpa(2) | 0x23 | c),
            (2, 1, 0x20_0000 | 0xE3 | c),
        ]);
        let w = PageTableWalker::new(flat(&t), BASE, gpa(0), Some(51)).unwrap();
        let tr = w.translate(0x20_0010).unwrap();
        assert_eq!(tr.pa, 0x20_0010);
        assert!(tr.confidential);
        assert_eq!(tr.flags, 0xE3 | c);
        // Without the C-bit configured, bit 51 is part of the address.
        let w = PageTableWalker::new(flat(&t), BASE, gpa(0), None).unwrap();
        assert!(matches!(
            w.translate(0x20_0000),
            Err(WalkError::TableOutOfBounds { .. })
        ));
    }

    #[test]
    fn regions_merge_contiguous_leaves_and_split_on_rights() {
        let t = tables::<4>(&[
            (0, 0, gpa(1) | 0x23),
            (1, 0, gpa(2) | 0x23),
            (2, 0, gpa(3) | 0x23),
            (2, 1, 0x20_0000 | 0xE3),
            (2, 2, 0x40_0000 | 0xE1),
            (3, 510, 0x1F_E000 | 0x63),
            (3, 511, 0x1F_F000 | 0x63),
        ]);
        let w = PageTableWalker::new(flat(&t), BASE, gpa(0), None).unwrap();
        let r: Vec<_> = w.regions().collect();
        assert_eq!(
            r,
            [
                Ok(MappedRegion {
                    va: 0x1F_E000,
                    pa: 0x1F_E000,
                    size: 0x20_2000,
                    writable: true,
                    executable: true,
                    confidential: false
                }),
                Ok(MappedRegion {
                    va: 0x40_0000,
                    pa: 0x40_0000,
                    size: 0x20_0000,
                    writable: false,
                    executable: true,
                    confidential: false
                }),
            ]
        );
    }
}

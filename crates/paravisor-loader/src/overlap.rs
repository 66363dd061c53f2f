//! Up-front overlap checks: two imports must never touch the same page
//! (formats.md §3 rule 3). The fixed imports of a layout are few (at most
//! [`MAX_FIXED`]) and are checked pairwise; ELF segments are checked against
//! them one by one, without storing anything.

use crate::error::LayoutError;
use elf_static_loader::elf::StaticElfPlan;

/// Most fixed (non-ELF) imports a layout has.
pub(crate) const MAX_FIXED: usize = 24;

/// A page range a layout will import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageRange {
    pub(crate) tag: &'static str,
    pub(crate) page_base: u64,
    pub(crate) page_count: u64,
}

impl PageRange {
    fn end(&self) -> u64 {
        self.page_base.saturating_add(self.page_count)
    }

    fn overlaps(&self, other: &Self) -> bool {
        self.page_count != 0
            && other.page_count != 0
            && self.page_base < other.end()
            && other.page_base < self.end()
    }

    fn error(&self, other: &Self) -> LayoutError {
        LayoutError::ImportsOverlap {
            first: self.tag,
            first_page: self.page_base,
            first_count: self.page_count,
            second: other.tag,
            second_page: other.page_base,
            second_count: other.page_count,
        }
    }
}

/// A fixed-capacity list of the fixed imports of a layout.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FixedImports {
    ranges: [PageRange; MAX_FIXED],
    len: usize,
}

impl FixedImports {
    pub(crate) const fn new() -> Self {
        Self {
            ranges: [PageRange {
                tag: "",
                page_base: 0,
                page_count: 0,
            }; MAX_FIXED],
            len: 0,
        }
    }

    /// Adds a range (0-page ranges are ignored, as importers ignore them).
    pub(crate) fn push(&mut self, tag: &'static str, page_base: u64, page_count: u64) {
        if page_count == 0 {
            return;
        }
        if let Some(slot) = self.ranges.get_mut(self.len) {
            *slot = PageRange {
                tag,
                page_base,
                page_count,
            };
            self.len = self.len.saturating_add(1);
        }
    }

    fn as_slice(&self) -> &[PageRange] {
        self.ranges.get(..self.len).unwrap_or(&[])
    }

    /// Checks the fixed ranges pairwise.
    pub(crate) fn check_pairwise(&self) -> Result<(), LayoutError> {
        let list = self.as_slice();
        for (i, a) in list.iter().enumerate() {
            for b in list.get(i.saturating_add(1)..).unwrap_or(&[]) {
                if a.overlaps(b) {
                    return Err(a.error(b));
                }
            }
        }
        Ok(())
    }

    /// Checks one range against every fixed range.
    pub(crate) fn check_against(&self, range: &PageRange) -> Result<(), LayoutError> {
        for f in self.as_slice() {
            if f.overlaps(range) {
                return Err(f.error(range));
            }
        }
        Ok(())
    }

    /// Checks every segment of an ELF plan against every fixed range.
    pub(crate) fn check_elf(
        &self,
        plan: &StaticElfPlan<'_>,
        tag: &'static str,
    ) -> Result<(), LayoutError> {
        for segment in plan.segments() {
            self.check_against(&PageRange {
                tag,
                page_base: segment.page_base,
                page_count: segment.page_count,
            })?;
        }
        Ok(())
    }
}

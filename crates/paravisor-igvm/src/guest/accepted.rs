//! Acceptance tracking (`docs/igvm.md` §4.1, §5.1): the page ranges a
//! guest accepted, which may not overlap, and their imported-regions
//! descriptors.

use crate::error::IgvmError;
use elf_static_loader::PageAcceptance;
use std::collections::BTreeMap;

/// Highest exclusive end page whose GPA still fits in 64 bits.
const MAX_END_PAGE: u64 = 1 << 52;

/// An accepted range: pages `[base, end)` with its tag and acceptance.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AcceptedRange {
    /// Exclusive end page.
    end: u64,
    /// The import's tag.
    tag: String,
    /// How the pages were accepted.
    acceptance: PageAcceptance,
}

/// The accepted ranges of one guest, by first page.
#[derive(Debug, Clone, Default)]
pub(super) struct AcceptedRanges {
    ranges: BTreeMap<u64, AcceptedRange>,
}

impl AcceptedRanges {
    /// Records pages `[page_base, page_base + page_count)` as accepted,
    /// rejecting overlap with any earlier range.
    pub(super) fn accept(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &str,
        acceptance: PageAcceptance,
    ) -> Result<(), IgvmError> {
        let end = page_base
            .checked_add(page_count)
            .filter(|end| *end <= MAX_END_PAGE)
            .ok_or(IgvmError::AddressOverflow {
                what: "page import",
                base: page_base,
                len: page_count,
            })?;
        if let Some((other_base, other)) = self.ranges.range(..end).next_back()
            && other.end > page_base
        {
            return Err(IgvmError::Overlap {
                tag: tag.to_owned(),
                base: page_base,
                end,
                acceptance: format!("{acceptance:?}"),
                other_tag: other.tag.clone(),
                other_base: *other_base,
                other_end: other.end,
            });
        }
        self.ranges.insert(
            page_base,
            AcceptedRange {
                end,
                tag: tag.to_owned(),
                acceptance,
            },
        );
        Ok(())
    }

    /// `(first page, page count, accepted)` of every range in ascending
    /// order; shared pages are not accepted (`docs/igvm.md` §5.1).
    pub(super) fn descriptors(&self) -> impl Iterator<Item = (u64, u64, u8)> + '_ {
        self.ranges.iter().map(|(base, r)| {
            let accepted = u8::from(r.acceptance != PageAcceptance::Shared);
            (*base, r.end.saturating_sub(*base), accepted)
        })
    }

    /// `(first page, end page, tag)` of every range in ascending order.
    pub(super) fn tagged(&self) -> Vec<(u64, u64, String)> {
        self.ranges
            .iter()
            .map(|(base, r)| (*base, r.end, r.tag.clone()))
            .collect()
    }
}

//! The up-front overlap check, and the end of every load: two page imports
//! of a plan must never touch the same page (docs/formats.md §3 rule 3). It runs over the plan's own
//! list of regions ([`ImagePlan::for_each_region`]), ELF segments
//! included, pairwise, without storing anything.

use crate::error::Error;
use crate::error::LayoutError;
use crate::importer::ParavisorImporter;
use crate::plan::ImagePlan;
use crate::plan::PlannedRegion;
use crate::plan::RegionKind;

/// The tag of an import region ("" for other regions, which are never
/// compared).
fn tag(region: &PlannedRegion) -> &'static str {
    match region.kind {
        RegionKind::Import { tag, .. } => tag,
        _ => "",
    }
}

impl<R: Copy> ImagePlan<'_, R> {
    /// Checks that no two page imports of the plan (ELF segments included)
    /// touch the same page (docs/formats.md §3 rule 3).
    pub fn check_overlaps(&self) -> Result<(), LayoutError> {
        check(self)
    }
}

/// Checks every pair of page imports of `plan`; the first overlapping pair
/// in plan order is the error.
fn check<R: Copy>(plan: &ImagePlan<'_, R>) -> Result<(), LayoutError> {
    let mut first_index = 0usize;
    plan.for_each_region(|first| {
        let index = first_index;
        first_index = first_index.saturating_add(1);
        if !first.is_import() {
            return Ok(());
        }
        let mut second_index = 0usize;
        plan.for_each_region(|second| {
            let later = second_index > index;
            second_index = second_index.saturating_add(1);
            if later && second.is_import() && first.pages.overlaps(&second.pages) {
                return Err(LayoutError::ImportsOverlap {
                    first: tag(&first),
                    first_page: first.pages.base,
                    first_count: first.pages.count,
                    second: tag(&second),
                    second_page: second.pages.base,
                    second_count: second.pages.count,
                });
            }
            Ok(())
        })
    })
}

/// The end of every load, on both architectures: check the plan for
/// overlapping imports, then apply it with the first `used` bytes of
/// `page_table_buffer` as the page tables.
pub(crate) fn check_and_apply<R: Copy, I: ParavisorImporter<R>>(
    plan: &ImagePlan<'_, R>,
    importer: &mut I,
    page_table_buffer: &[u8],
    used: usize,
) -> Result<(), Error<I::Error>> {
    plan.check_overlaps()?;
    let tables = page_table_buffer.get(..used).unwrap_or(&[]);
    plan.apply(importer, tables).map_err(Error::Importer)
}

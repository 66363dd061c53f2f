//! The up-front overlap check: two page imports of a plan must never touch
//! the same page (docs/formats.md §3 rule 3). It runs over the plan's own
//! list of regions ([`ImagePlan::for_each_region`]), ELF segments
//! included, pairwise, without storing anything.

use crate::error::LayoutError;
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

/// Checks every pair of page imports of `plan`; the first overlapping pair
/// in plan order is the error.
pub(crate) fn check<R: Copy>(plan: &ImagePlan<'_, R>) -> Result<(), LayoutError> {
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

//! Relocation records (`docs/igvm.md` §4.7, §4.8): relocatable regions and
//! the page-table relocation region, which may not overlap.

use super::state::GuestBuilder;
use crate::error::IgvmError;
use igvm::IgvmInitializationHeader;
use igvm::hv_defs::Vtl;
use paravisor_loader::PAGE_SIZE;
use paravisor_loader::PageTableRelocation;
use paravisor_loader::RelocationRegion;

impl GuestBuilder {
    /// Records a relocatable byte range, rejecting overlap.
    fn add_relocatable(&mut self, gpa: u64, size: u64) -> Result<(), IgvmError> {
        let end = gpa.checked_add(size).ok_or(IgvmError::Relocation {
            reason: "region overflows the address space",
            gpa,
            size,
        })?;
        if self
            .relocatable
            .iter()
            .any(|(start, stop)| gpa < *stop && *start < end)
        {
            return Err(IgvmError::Relocation {
                reason: "region overlaps an earlier relocation or page-table region",
                gpa,
                size,
            });
        }
        self.relocatable.push((gpa, end));
        Ok(())
    }

    /// `relocation_region` (§4.7).
    pub fn relocation_region(&mut self, region: RelocationRegion) -> Result<(), IgvmError> {
        let RelocationRegion {
            gpa,
            size_bytes: size,
            alignment,
            minimum_gpa,
            maximum_gpa,
            apply_rip_offset,
            apply_gdtr_offset,
            vp_index,
        } = region;
        let err = |reason| IgvmError::Relocation { reason, gpa, size };
        if self
            .relocatable
            .iter()
            .any(|(start, stop)| gpa < *stop && *start < gpa.saturating_add(size))
        {
            return Err(err(
                "region overlaps an earlier relocation or page-table region",
            ));
        }
        if !size.is_multiple_of(PAGE_SIZE) {
            return Err(err("size is not a multiple of 4096"));
        }
        if alignment == 0 || !alignment.is_multiple_of(PAGE_SIZE) {
            return Err(err("alignment is not a multiple of 4096"));
        }
        if !gpa.is_multiple_of(alignment)
            || !minimum_gpa.is_multiple_of(alignment)
            || !maximum_gpa.is_multiple_of(alignment)
        {
            return Err(err(
                "gpa, minimum or maximum is not a multiple of the alignment",
            ));
        }
        self.add_relocatable(gpa, size)?;
        self.initialization
            .push(IgvmInitializationHeader::RelocatableRegion {
                compatibility_mask: 1,
                relocation_alignment: alignment,
                relocation_region_gpa: gpa,
                relocation_region_size: size,
                minimum_relocation_gpa: minimum_gpa,
                maximum_relocation_gpa: maximum_gpa,
                is_vtl2: self.vtl == Vtl::Vtl2,
                apply_rip_offset,
                apply_gdtr_offset,
                vp_index,
                vtl: self.vtl,
            });
        Ok(())
    }

    /// `page_table_relocation` (§4.8).
    pub fn page_table_relocation(
        &mut self,
        relocation: PageTableRelocation,
    ) -> Result<(), IgvmError> {
        let PageTableRelocation {
            gpa,
            size_pages,
            used_pages,
            vp_index,
        } = relocation;
        let size = size_pages.checked_mul(PAGE_SIZE);
        let used_size = used_pages.checked_mul(PAGE_SIZE);
        let (Some(size), Some(used_size)) = (size, used_size) else {
            return Err(IgvmError::Relocation {
                reason: "page-table region size overflows",
                gpa,
                size: size_pages,
            });
        };
        let err = |reason| IgvmError::Relocation { reason, gpa, size };
        if self.page_table_region {
            return Err(err("a page-table relocation region was already recorded"));
        }
        if used_pages > size_pages {
            return Err(err("more pages used than reserved"));
        }
        self.add_relocatable(gpa, size)?;
        self.page_table_region = true;
        self.initialization
            .push(IgvmInitializationHeader::PageTableRelocationRegion {
                compatibility_mask: 1,
                gpa,
                size,
                used_size,
                vp_index,
                vtl: self.vtl,
            });
        Ok(())
    }
}

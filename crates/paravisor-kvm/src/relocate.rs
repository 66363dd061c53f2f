//! Relocating a recorded x86-64 image the way a VMM does before it boots
//! it: VTL2 memory moves as a whole, the page tables are rebuilt at their
//! new place, and RIP / GDTR move as the relocation record says.
//!
//! The loader describes relocation with one relocation region (start of
//! VTL2 memory, size up to the page tables, 2 MiB alignment, allowed GPA
//! range, whether RIP and GDTR follow) and one page-table relocation record
//! (where the page-table region is, how many pages it has and uses);
//! `docs/algorithms.md` §7.1 step 27. Everything else the shim needs is
//! relative to its own load base, so it keeps working after the move.

use crate::model::BootImage;
use paravisor_boot::RamRange;
use paravisor_loader::PAGE_SIZE;
use paravisor_loader::PageTableRelocation;
use paravisor_loader::RelocationRegion;
use x86_pagetables::IdentityMapConfig;

/// Why a relocation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelocateError {
    /// The image has no relocation record, or more than one.
    #[error(
        "the image has {regions} relocation regions and {page_tables} page-table relocation records; exactly one of each is supported"
    )]
    Records {
        /// Relocation regions.
        regions: usize,
        /// Page-table relocation records.
        page_tables: usize,
    },
    /// The new base breaks the record's alignment or bounds.
    #[error(
        "new base {new_base:#x} is not allowed: alignment {alignment:#x}, range [{minimum:#x}, {maximum:#x}) for {size:#x} bytes"
    )]
    NotAllowed {
        /// Requested base.
        new_base: u64,
        /// Required alignment.
        alignment: u64,
        /// Lowest allowed base.
        minimum: u64,
        /// End of the allowed range.
        maximum: u64,
        /// Size of the region.
        size: u64,
    },
    /// The relocation region is not the start of VTL2 memory.
    #[error("relocation region at {region:#x} is not the start of VTL2 memory {memory:?}")]
    NotVtl2Memory {
        /// The region's GPA.
        region: u64,
        /// The VTL2 memory range.
        memory: Option<RamRange>,
    },
    /// The page-table region is not inside VTL2 memory.
    #[error("page-table region at {gpa:#x} ({pages} pages) is not inside VTL2 memory")]
    PageTablesOutside {
        /// Its GPA.
        gpa: u64,
        /// Its size in pages.
        pages: u64,
    },
    /// Rebuilding the page tables failed.
    #[error("rebuilding the page tables: {0}")]
    PageTables(x86_pagetables::PageTableError),
    /// The rebuilt tables need more pages than the region has.
    #[error("rebuilt page tables need {needed:#x} bytes, the region has {available:#x}")]
    PageTablesTooLarge {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: u64,
    },
}

/// Moves `image` so that VTL2 memory (`vtl2_memory`, which must start at
/// the relocation region) starts at `new_base`, and returns the moved image.
pub fn relocate_x64(
    image: &BootImage,
    vtl2_memory: RamRange,
    regions: &[RelocationRegion],
    page_tables: &[PageTableRelocation],
    new_base: u64,
) -> Result<BootImage, RelocateError> {
    let ([region], [tables]) = (regions, page_tables) else {
        return Err(RelocateError::Records {
            regions: regions.len(),
            page_tables: page_tables.len(),
        });
    };
    let not_allowed = RelocateError::NotAllowed {
        new_base,
        alignment: region.alignment,
        minimum: region.minimum_gpa,
        maximum: region.maximum_gpa,
        size: vtl2_memory.size,
    };
    let new_end = new_base.checked_add(vtl2_memory.size);
    if region.alignment == 0
        || !new_base.is_multiple_of(region.alignment)
        || new_base < region.minimum_gpa
        || new_end.is_none_or(|end| end > region.maximum_gpa)
    {
        return Err(not_allowed);
    }
    let memory_end = vtl2_memory.end().ok_or(RelocateError::NotVtl2Memory {
        region: region.gpa,
        memory: Some(vtl2_memory),
    })?;
    if region.gpa != vtl2_memory.gpa || region.size_bytes > vtl2_memory.size {
        return Err(RelocateError::NotVtl2Memory {
            region: region.gpa,
            memory: Some(vtl2_memory),
        });
    }
    let table_bytes = tables.size_pages.saturating_mul(PAGE_SIZE);
    if tables.gpa < vtl2_memory.gpa || tables.gpa.saturating_add(table_bytes) > memory_end {
        return Err(RelocateError::PageTablesOutside {
            gpa: tables.gpa,
            pages: tables.size_pages,
        });
    }
    let inside = |gpa: u64| gpa >= vtl2_memory.gpa && gpa < memory_end;
    let moved = |gpa: u64| gpa.wrapping_sub(vtl2_memory.gpa).wrapping_add(new_base);

    let mut out = image.clone();
    for page in &mut out.pages {
        if inside(page.gpa) {
            page.gpa = moved(page.gpa);
        }
    }
    for ram in &mut out.ram {
        if inside(ram.gpa) {
            ram.gpa = moved(ram.gpa);
        }
    }

    // New identity map of the moved VTL2 memory, in the moved page-table
    // region, replacing the old tables' bytes.
    let new_tables_gpa = moved(tables.gpa);
    let config = IdentityMapConfig::new(new_tables_gpa, new_base, vtl2_memory.size);
    let mut bytes = vec![0u8; usize::try_from(table_bytes).unwrap_or(usize::MAX)];
    let used = x86_pagetables::build_identity_map(&config, &mut bytes)
        .map_err(RelocateError::PageTables)?;
    if used as u64 > table_bytes {
        return Err(RelocateError::PageTablesTooLarge {
            needed: used,
            available: table_bytes,
        });
    }
    let table_end = new_tables_gpa.saturating_add(table_bytes);
    out.pages
        .retain(|p| p.gpa < new_tables_gpa || p.gpa >= table_end);
    out.pages.push(paravisor_boot::PageData {
        gpa: new_tables_gpa,
        data: bytes,
    });

    let r = &mut out.registers;
    r.cr3 = Some(new_tables_gpa);
    if region.apply_rip_offset {
        r.rip = r.rip.map(moved);
    }
    if region.apply_gdtr_offset
        && let Some(gdtr) = &mut r.gdtr
    {
        gdtr.base = moved(gdtr.base);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PageData;
    use crate::TableRegister;
    use x86_pagetables::PageSize;
    use x86_pagetables::PageTableWalker;

    const MIB: u64 = 1 << 20;
    const BASE: u64 = 128 * MIB;

    /// A 64 MiB VTL2 image at 128 MiB with its tables at +3 MiB (7 pages),
    /// a code page, and the VTL0 config page at GPA 0 (never moved).
    fn recorded() -> (BootImage, RamRange, RelocationRegion, PageTableRelocation) {
        let tables_gpa = BASE + 3 * MIB;
        let mut tables = vec![0u8; 7 * 4096];
        let config = IdentityMapConfig::new(tables_gpa, BASE, 64 * MIB);
        let used = x86_pagetables::build_identity_map(&config, &mut tables).unwrap();
        let mut image = BootImage::default();
        image.pages.push(PageData {
            gpa: 0,
            data: vec![0x30],
        });
        image.pages.push(PageData {
            gpa: BASE + 2 * MIB,
            data: vec![0xF4],
        });
        image.pages.push(PageData {
            gpa: tables_gpa,
            data: tables,
        });
        image.registers.rip = Some(BASE + 2 * MIB);
        image.registers.cr3 = Some(tables_gpa);
        image.registers.gdtr = Some(TableRegister {
            base: BASE + 0x2000,
            limit: 0x1F,
        });
        let region = RelocationRegion {
            gpa: BASE,
            size_bytes: 3 * MIB,
            alignment: 2 * MIB,
            minimum_gpa: BASE,
            maximum_gpa: 1 << 48,
            apply_rip_offset: true,
            apply_gdtr_offset: true,
            vp_index: 0,
        };
        let tables = PageTableRelocation {
            gpa: tables_gpa,
            size_pages: 7,
            used_pages: used as u64 / 4096,
            vp_index: 0,
        };
        (
            image,
            RamRange {
                gpa: BASE,
                size: 64 * MIB,
            },
            region,
            tables,
        )
    }

    #[test]
    fn moved_image_maps_its_new_place_and_keeps_vtl0_pages() {
        let (image, memory, region, tables) = recorded();
        let new_base = 1024 * MIB - 32 * MIB; // straddles 1 GiB afterwards
        let moved = relocate_x64(&image, memory, &[region], &[tables], new_base).unwrap();
        let r = &moved.registers;
        assert_eq!(r.rip, Some(new_base + 2 * MIB));
        assert_eq!(r.gdtr.map(|g| g.base), Some(new_base + 0x2000));
        let cr3 = new_base + 3 * MIB;
        assert_eq!(r.cr3, Some(cr3));
        assert!(moved.pages.iter().any(|p| p.gpa == 0 && p.data == [0x30]));
        assert!(moved.pages.iter().any(|p| p.gpa == new_base + 2 * MIB));
        let tables = moved.pages.iter().find(|p| p.gpa == cr3).unwrap();
        let walker = PageTableWalker::new(&tables.data, cr3, cr3, None).unwrap();
        let mut va = new_base;
        while va < new_base + 64 * MIB {
            let t = walker.translate(va).unwrap();
            assert_eq!((t.pa, t.page_size), (va, PageSize::Size2MiB));
            va += 2 * MIB;
        }
        assert!(
            walker.translate(BASE).is_err(),
            "the old place is not mapped"
        );
    }

    #[test]
    fn bases_outside_the_record_are_refused() {
        let (image, memory, region, tables) = recorded();
        for bad in [BASE + 4096, 64 * MIB, (1 << 48) - 2 * MIB] {
            assert!(matches!(
                relocate_x64(&image, memory, &[region], &[tables], bad),
                Err(RelocateError::NotAllowed { .. })
            ));
        }
        assert!(matches!(
            relocate_x64(&image, memory, &[], &[tables], BASE),
            Err(RelocateError::Records {
                regions: 0,
                page_tables: 1
            })
        ));
    }
}

//! How the x86-64 paravisor loader configures and sizes its identity map
//! (algorithms.md §7 steps 22–26).

use crate::IdentityMapConfig;
use crate::PageTableError;
use crate::calculate_pde_table_count;
use paravisor_layout::PARAVISOR_LOCAL_MAP_SIZE;
use paravisor_layout::PARAVISOR_LOCAL_MAP_VA;
/// Size identity-mapped on TDX regardless of VTL2 memory: 3 GiB. (The TDX
/// kernel starts APs through the ACPI mailbox and assumes all kernel RAM is
/// identity-mapped in the mailbox stub's page table.)
pub const TDX_IDENTITY_MAP_SIZE: u64 = 0xC000_0000;
/// The SNP confidential (C-) bit the paravisor sets in every entry.
pub const SNP_CONFIDENTIAL_BIT: u8 = 51;
/// Base page count of the paravisor's page-table region.
pub const PAGE_TABLE_BASE_PAGE_COUNT: u64 = 5;
/// Extra page-table pages on TDX, for the 4 KiB reset-vector mapping.
pub const TDX_RESET_VECTOR_PAGE_COUNT: u64 = 3;

/// The isolation type, as far as the x86-64 page tables care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParavisorIsolation {
    /// No isolation.
    None,
    /// VBS (software isolation): like `None` for the page tables.
    Vbs,
    /// AMD SEV-SNP: local map and confidential bit 51.
    Snp,
    /// Intel TDX: 3 GiB map, local map and the reset-vector page.
    Tdx,
}

impl IdentityMapConfig<'static> {
    /// The configuration the paravisor loader builds (algorithms.md §7 steps
    /// 22, 23 and 26): VTL2 memory `[memory_start, memory_start +
    /// memory_size)` (3 GiB from `memory_start` on TDX), the local map
    /// `[2 MiB, 4 MiB)` on SNP and TDX, C-bit 51 on SNP, the reset-vector page
    /// on TDX.
    pub const fn paravisor(
        page_table_gpa: u64,
        memory_start: u64,
        memory_size: u64,
        isolation: ParavisorIsolation,
    ) -> Self {
        let mapping_size = match isolation {
            ParavisorIsolation::Tdx => TDX_IDENTITY_MAP_SIZE,
            _ => memory_size,
        };
        let config = IdentityMapConfig::new(page_table_gpa, memory_start, mapping_size);
        match isolation {
            ParavisorIsolation::None | ParavisorIsolation::Vbs => config,
            ParavisorIsolation::Snp => config
                .with_local_map(PARAVISOR_LOCAL_MAP_VA, PARAVISOR_LOCAL_MAP_SIZE)
                .with_confidential_bit(SNP_CONFIDENTIAL_BIT),
            ParavisorIsolation::Tdx => config
                .with_local_map(PARAVISOR_LOCAL_MAP_VA, PARAVISOR_LOCAL_MAP_SIZE)
                .with_reset_vector(true),
        }
    }
}

/// The page count the paravisor reserves for its page-table region
/// (algorithms.md §7 step 24):
///
/// 5 + 2 × `calculate_pde_table_count(mapped region)` + (local map ?
/// `calculate_pde_table_count(local map)` : 0) + (reset vector ? 3 : 0).
///
/// Why: 5 = 1 PML4 + up to 2 PDPTs (a region above 1 GiB may straddle a 512
/// GiB boundary and need two PML4 entries) + 2 spare pages; one PD per GiB
/// mapped, doubled, so the shim's relocation code that rebuilds the tables
/// never has to reclaim pages from tables left without valid entries; TDX
/// needs up to 3 more tables (PDPT, PD, PT) to map the reset vector with a
/// 4 KiB page. The region is larger than [`crate::required_tables`]; the
/// unused pages are imported as zeros.
///
/// Only the original's fields count (`page_table_gpa` does not, so the
/// region can be sized before it is placed): the extensions (additional
/// ranges, more than 512 GiB) are not covered by this formula.
pub fn paravisor_page_table_region_pages(
    config: &IdentityMapConfig<'_>,
) -> Result<u64, PageTableError> {
    let region = config.mapped_region;
    let overflow = PageTableError::RangeOverflow {
        start: region.start,
        size: region.size,
    };
    let mut pages = calculate_pde_table_count(region.start, region.size)?
        .checked_mul(2)
        .and_then(|p| p.checked_add(PAGE_TABLE_BASE_PAGE_COUNT))
        .ok_or(overflow)?;
    if let Some(local) = config.local_map {
        pages = pages
            .checked_add(calculate_pde_table_count(local.start, local.size)?)
            .ok_or(overflow)?;
    }
    if config.map_reset_vector {
        pages = pages
            .checked_add(TDX_RESET_VECTOR_PAGE_COUNT)
            .ok_or(overflow)?;
    }
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn region_pages_match_the_worked_example_and_appendix() {
        // worked-example.md §3 step 24: 5 + 2 × 1 = 7.
        let none = IdentityMapConfig::paravisor(
            0x0849_3000,
            128 * MIB,
            64 * MIB,
            ParavisorIsolation::None,
        );
        assert_eq!(paravisor_page_table_region_pages(&none), Ok(7));
        // Appendix A: SNP 5 + 2 + 1 = 8, TDX 5 + (2 × 4 + 1) + 3 = 17.
        let snp =
            IdentityMapConfig::paravisor(0x0869_3000, 128 * MIB, 64 * MIB, ParavisorIsolation::Snp);
        assert_eq!(paravisor_page_table_region_pages(&snp), Ok(8));
        let tdx =
            IdentityMapConfig::paravisor(0x0869_3000, 128 * MIB, 64 * MIB, ParavisorIsolation::Tdx);
        assert_eq!(paravisor_page_table_region_pages(&tdx), Ok(17));
    }

    #[test]
    fn paravisor_configs_carry_the_isolation_specific_parts() {
        let snp =
            IdentityMapConfig::paravisor(0x1000, 128 * MIB, 64 * MIB, ParavisorIsolation::Snp);
        assert_eq!(snp.confidential_bit, Some(51));
        assert!(!snp.map_reset_vector);
        assert_eq!(
            snp.local_map,
            Some(crate::MemoryRange::new(0x20_0000, 0x20_0000))
        );
        let tdx =
            IdentityMapConfig::paravisor(0x1000, 128 * MIB, 64 * MIB, ParavisorIsolation::Tdx);
        assert_eq!(tdx.mapped_region.size, 0xC000_0000);
        assert_eq!(tdx.confidential_bit, None);
        assert!(tdx.map_reset_vector);
        let vbs =
            IdentityMapConfig::paravisor(0x1000, 128 * MIB, 64 * MIB, ParavisorIsolation::Vbs);
        assert_eq!(vbs, IdentityMapConfig::new(0x1000, 128 * MIB, 64 * MIB));
    }
}

//! How the x86-64 paravisor loader configures and sizes its identity map
//! (docs/algorithms.md §7 steps 22–26).

use crate::IdentityMapConfig;
use crate::MemoryRange;
use crate::PageTableError;
use crate::SortedRangesConfig;
use crate::X64_PAGE_SIZE;
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
    /// The configuration the paravisor loader builds (docs/algorithms.md §7 steps
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
/// (docs/algorithms.md §7 step 24):
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

/// How the paravisor loader turns its [`IdentityMapConfig`] into tables
/// (docs/abi-versions.md §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeafPolicy {
    /// The seed's builder: the mapped region, the local map and the reset
    /// vector in that order, 2 MiB leaves (4 KiB for the reset vector)
    /// ([`crate::build_identity_map`]).
    Fixed2MiB,
    /// The builder of release/1.7.2511 and later: the same ranges sorted by
    /// address, each address with the largest leaf that fits, at most
    /// [`crate::PAGE_TABLE_MAX_COUNT`] tables, a size-0 region allowed
    /// ([`crate::build_sorted_ranges`]).
    Largest,
}

/// The paravisor's ranges (mapped region, local map, reset-vector page)
/// sorted by start, as release/1.7.2511 and later pass them to their builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParavisorRanges {
    ranges: [MemoryRange; 3],
    len: usize,
}

impl ParavisorRanges {
    /// The ranges of `config` (its additional ranges are not the
    /// paravisor's and are ignored), sorted by start.
    pub fn of(config: &IdentityMapConfig<'_>) -> Self {
        // Absent ranges start at u64::MAX, so they sort last.
        let absent = MemoryRange::new(u64::MAX, 0);
        let mut len: usize = 1;
        let mut present = |range: Option<MemoryRange>| {
            len = len.saturating_add(usize::from(range.is_some()));
            range.unwrap_or(absent)
        };
        let mut a = config.mapped_region;
        let mut b = present(config.local_map);
        let mut c = present(config.map_reset_vector.then_some(MemoryRange::new(
            crate::RESET_VECTOR_PAGE_GPA,
            X64_PAGE_SIZE,
        )));
        // A sorting network for three.
        if b.start < a.start {
            core::mem::swap(&mut a, &mut b);
        }
        if c.start < b.start {
            core::mem::swap(&mut b, &mut c);
        }
        if b.start < a.start {
            core::mem::swap(&mut a, &mut b);
        }
        Self {
            ranges: [a, b, c],
            len,
        }
    }

    /// The sorted ranges.
    pub fn as_slice(&self) -> &[MemoryRange] {
        self.ranges.get(..self.len).unwrap_or(&[])
    }
}

impl LeafPolicy {
    /// The exact number of tables [`LeafPolicy::build`] writes for `config`.
    pub fn required_tables(self, config: &IdentityMapConfig<'_>) -> Result<usize, PageTableError> {
        match self {
            Self::Fixed2MiB => crate::required_tables(config),
            Self::Largest => {
                let ranges = ParavisorRanges::of(config);
                crate::required_sorted_range_tables(&sorted_config(config, &ranges))
            }
        }
    }

    /// Builds `config` into `out` with this policy; returns the bytes used.
    pub fn build(
        self,
        config: &IdentityMapConfig<'_>,
        out: &mut [u8],
    ) -> Result<usize, PageTableError> {
        match self {
            Self::Fixed2MiB => crate::build_identity_map(config, out),
            Self::Largest => {
                let ranges = ParavisorRanges::of(config);
                crate::build_sorted_ranges(&sorted_config(config, &ranges), out)
            }
        }
    }
}

fn sorted_config<'r>(
    config: &IdentityMapConfig<'_>,
    ranges: &'r ParavisorRanges,
) -> SortedRangesConfig<'r> {
    SortedRangesConfig {
        page_table_gpa: config.page_table_gpa,
        ranges: ranges.as_slice(),
        confidential_bit: config.confidential_bit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn region_pages_match_the_worked_example_and_appendix() {
        // docs/worked-example.md §3 step 24: 5 + 2 × 1 = 7.
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
    fn paravisor_ranges_are_sorted_by_start() {
        let tdx =
            IdentityMapConfig::paravisor(0x1000, 128 * MIB, 64 * MIB, ParavisorIsolation::Tdx);
        let ranges = ParavisorRanges::of(&tdx);
        assert_eq!(
            ranges.as_slice(),
            &[
                MemoryRange::new(0x20_0000, 0x20_0000),
                MemoryRange::new(128 * MIB, 0xC000_0000),
                MemoryRange::new(0xFFFF_F000, 0x1000),
            ]
        );
        // VTL2 memory at 0: the region comes before the local map.
        let snp = IdentityMapConfig::paravisor(0x1000, 0, 2 * MIB, ParavisorIsolation::Snp);
        assert_eq!(
            ParavisorRanges::of(&snp).as_slice(),
            &[
                MemoryRange::new(0, 2 * MIB),
                MemoryRange::new(0x20_0000, 0x20_0000)
            ]
        );
        let none = IdentityMapConfig::new(0x1000, 128 * MIB, 64 * MIB);
        assert_eq!(ParavisorRanges::of(&none).as_slice().len(), 1);
        // `err-x64-tdx-fixed1g-resetvector` (docs/abi-versions.md G2): the
        // seed's 3 GiB from 1 GiB covers the reset vector, an error with
        // either builder; 64 MiB from 1 GiB does not.
        let mut at_1g =
            IdentityMapConfig::paravisor(0x1000, 1 << 30, 64 * MIB, ParavisorIsolation::Tdx);
        assert!(matches!(
            LeafPolicy::Largest.required_tables(&at_1g),
            Err(PageTableError::OverlappingRanges { .. })
        ));
        assert!(LeafPolicy::Fixed2MiB.required_tables(&at_1g).is_err());
        at_1g.mapped_region.size = 64 * MIB;
        // PML4, PDPT, a PD each for GiB 0 (local map), 1 and 3, a PT.
        assert_eq!(LeafPolicy::Largest.required_tables(&at_1g), Ok(6));
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

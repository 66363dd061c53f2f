//! The x86-64 identity map of each ABI profile: which ranges step 26 maps
//! (the seed's 3 GiB on TDX, docs/abi-versions.md G2) and with which leaves
//! (docs/abi-versions.md G3). The tables themselves are built by
//! `x86-pagetables`; this module only picks its configuration.

use crate::importer::IsolationType;
use crate::memory::Vtl2Memory;
use paravisor_layout::AbiFacts;
use x86_pagetables::IdentityMapConfig;
use x86_pagetables::LeafPolicy;
use x86_pagetables::MemoryRange;
use x86_pagetables::ParavisorIsolation;

/// The page-table crate's view of the isolation type.
fn page_table_isolation(isolation: IsolationType) -> ParavisorIsolation {
    match isolation {
        IsolationType::None => ParavisorIsolation::None,
        IsolationType::Vbs => ParavisorIsolation::Vbs,
        IsolationType::Snp => ParavisorIsolation::Snp,
        IsolationType::Tdx => ParavisorIsolation::Tdx,
    }
}

/// The identity-map configuration of step 26 for tables at `page_tables`:
/// the seed maps 3 GiB on TDX, later profiles VTL2 memory only
/// (docs/abi-versions.md G2).
pub(crate) fn identity_map_config(
    page_tables: u64,
    memory: &Vtl2Memory,
    isolation: IsolationType,
    facts: &AbiFacts,
) -> IdentityMapConfig<'static> {
    let mut config = IdentityMapConfig::paravisor(
        page_tables,
        memory.start,
        memory.size,
        page_table_isolation(isolation),
    );
    if !facts.x64_tdx_maps_3_gib {
        config.mapped_region = MemoryRange::new(memory.start, memory.size);
    }
    config
}

/// The page-table builder of a profile (docs/abi-versions.md G3).
pub(crate) const fn leaf_policy(facts: &AbiFacts) -> LeafPolicy {
    if facts.x64_largest_leaves {
        LeafPolicy::Largest
    } else {
        LeafPolicy::Fixed2MiB
    }
}

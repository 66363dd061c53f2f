//! One guest (platform) of an IGVM file: the importer state igvmfilegen keeps
//! while a paravisor loader runs (`docs/igvm.md` §3–§6) and its finalisation
//! into headers, directives and a launch measurement.
//!
//! [`GuestBuilder`] has one method per importer call, taking the facade's
//! types (`paravisor_loader::ParameterType`, `StartupMemoryType`,
//! `RelocationRegion`, `PageTableRelocation`). The facade's importer trait
//! is implemented on top of it by a thin adapter ([`crate::adapter`]). By
//! concept: `settings` (what the build config says about the guest),
//! `pages` (page imports and acceptance tracking), `vp` (VP contexts),
//! `relocation` (relocation records), `finish` (finalisation and
//! measurement).

mod finish;
mod pages;
mod relocation;
mod settings;
#[cfg(test)]
mod tests;
mod vp;

pub use settings::GuestArch;
pub use settings::GuestIsolation;
pub use settings::GuestSettings;
pub use settings::InjectionType;

use crate::error::IgvmError;
use crate::measure::Measurement;
use crate::vp_context::RegisterList;
use igvm::IgvmDirectiveHeader;
use igvm::IgvmInitializationHeader;
use igvm::IgvmPlatformHeader;
use igvm::hv_defs::Vtl;
use pages::AcceptedRange;
use std::collections::BTreeMap;
use vp::VpBuilder;

/// Page size in bytes.
const PAGE_SIZE: u64 = 4096;
/// Page size as a `usize`.
const PAGE: usize = 4096;
/// Highest exclusive end page whose GPA still fits in 64 bits.
const MAX_END_PAGE: u64 = 1 << 52;
/// The SNP policy debug bit (bit 19).
const SNP_POLICY_DEBUG: u64 = 1 << 19;

/// The output of one finalised guest: what goes into the IGVM file, and its
/// launch measurement.
#[derive(Debug, Clone)]
pub struct GuestOutput {
    /// The platform header (mask 0x1).
    pub platform: IgvmPlatformHeader,
    /// Initialization headers.
    pub initialization: Vec<IgvmInitializationHeader>,
    /// Directives in file order.
    pub directives: Vec<IgvmDirectiveHeader>,
    /// The launch measurement (x64 SNP, TDX and VBS guests only).
    pub measurement: Option<Measurement>,
}

/// The importer state of one guest.
#[derive(Debug, Clone)]
pub struct GuestBuilder {
    /// The guest's settings.
    settings: GuestSettings,
    /// The importer's VTL (2 with a paravisor).
    vtl: Vtl,
    /// Accepted ranges by first page.
    accepted: BTreeMap<u64, AcceptedRange>,
    /// Relocation and page-table regions as byte ranges `[start, end)`.
    relocatable: Vec<(u64, u64)>,
    /// Whether a page-table relocation region was recorded.
    page_table_region: bool,
    /// Initialization headers.
    initialization: Vec<IgvmInitializationHeader>,
    /// Directives other than page data, in call order.
    directives: Vec<IgvmDirectiveHeader>,
    /// Page data, appended at finalisation.
    page_data: Vec<IgvmDirectiveHeader>,
    /// Parameter areas: (page_base, page_count) → index.
    areas: BTreeMap<(u64, u64), u32>,
    /// Number of parameter areas created.
    area_count: u32,
    /// The VP-context builder.
    vp: VpBuilder,
    /// The imported-regions page.
    imported_regions_page: Option<u64>,
}

impl GuestBuilder {
    /// Creates the state of one guest (`spec/igvm.md` §3): checks the
    /// settings, creates the initial initialization headers and the
    /// VP-context builder.
    pub fn new(settings: GuestSettings) -> Result<Self, IgvmError> {
        let vtl = match settings.max_vtl {
            0 => Vtl::Vtl0,
            2 => Vtl::Vtl2,
            other => {
                return Err(IgvmError::MaxVtl {
                    guest: 0,
                    max_vtl: other,
                });
            }
        };
        let paravisor = vtl == Vtl::Vtl2;
        let mut initialization = Vec::new();
        let vp = match (settings.arch, settings.isolation) {
            (GuestArch::X64, GuestIsolation::None | GuestIsolation::Vbs { .. }) => {
                VpBuilder::Vbs(RegisterList::X64(Vec::new()))
            }
            (GuestArch::Aarch64, GuestIsolation::None | GuestIsolation::Vbs { .. }) => {
                VpBuilder::Vbs(RegisterList::Aarch64(Vec::new()))
            }
            (
                GuestArch::X64,
                GuestIsolation::Snp {
                    shared_gpa_boundary_bits,
                    policy,
                    enable_debug,
                    ..
                },
            ) => {
                let bits = shared_gpa_boundary_bits
                    .ok_or(IgvmError::SnpSharedGpaBoundaryMissing { guest: 0 })?;
                if bits > 63 {
                    return Err(IgvmError::SharedGpaBoundaryBits { bits });
                }
                if !paravisor {
                    // igvmfilegen's non-paravisor SNP path (enlightened UEFI
                    // with a low-memory validation trampoline) is not part of
                    // the paravisor loader's output.
                    return Err(IgvmError::VpContextPage {
                        reason: "SNP without a paravisor (max_vtl 0) is not supported",
                    });
                }
                let policy = if enable_debug {
                    policy | SNP_POLICY_DEBUG
                } else {
                    policy & !SNP_POLICY_DEBUG
                };
                initialization.push(IgvmInitializationHeader::GuestPolicy {
                    policy,
                    compatibility_mask: 1,
                });
                VpBuilder::Snp {
                    registers: Vec::new(),
                    vmsa_page: None,
                }
            }
            (
                GuestArch::X64,
                GuestIsolation::Tdx {
                    enable_debug,
                    sept_ve_disable,
                },
            ) => {
                if !paravisor {
                    return Err(IgvmError::VpContextPage {
                        reason: "TDX without a paravisor (max_vtl 0) is not supported",
                    });
                }
                let policy = u64::from(enable_debug) | (u64::from(sept_ve_disable) << 1);
                if policy != 0 {
                    initialization.push(IgvmInitializationHeader::GuestPolicy {
                        policy,
                        compatibility_mask: 1,
                    });
                }
                VpBuilder::Tdx(Vec::new())
            }
            (
                GuestArch::Aarch64,
                iso @ (GuestIsolation::Snp { .. } | GuestIsolation::Tdx { .. }),
            ) => {
                return Err(IgvmError::IsolationArch {
                    isolation: iso.name(),
                    arch: "aarch64",
                });
            }
        };
        Ok(Self {
            settings,
            vtl,
            accepted: BTreeMap::new(),
            relocatable: Vec::new(),
            page_table_region: false,
            initialization,
            directives: Vec::new(),
            page_data: Vec::new(),
            areas: BTreeMap::new(),
            area_count: 0,
            vp,
            imported_regions_page: None,
        })
    }

    /// The guest's settings.
    pub fn settings(&self) -> &GuestSettings {
        &self.settings
    }

    /// Whether a paravisor is present (max_vtl 2).
    pub fn paravisor_present(&self) -> bool {
        self.vtl == Vtl::Vtl2
    }
}

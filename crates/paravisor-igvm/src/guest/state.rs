//! The builder of one guest: its settings, the importer state igvmfilegen
//! keeps (`docs/igvm.md` §3) and the output of a finalised guest. The
//! importer calls are implemented by concept in the sibling modules.

use super::accepted::AcceptedRanges;
use super::settings::GuestArch;
use super::settings::GuestIsolation;
use super::settings::GuestSettings;
use super::vp::VpBuilder;
use crate::error::IgvmError;
use crate::measure::Measurement;
use crate::vp_context::RegisterList;
use igvm::IgvmDirectiveHeader;
use igvm::IgvmInitializationHeader;
use igvm::IgvmPlatformHeader;
use igvm::hv_defs::Vtl;
use igvm::registers::AArch64Register;
use igvm::registers::X86Register;
use paravisor_loader::PAGE_SIZE;
use std::collections::BTreeMap;

/// Page size as a `usize`.
pub(super) const PAGE: usize = PAGE_SIZE as usize;
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
    /// Every page range the loader imported or accepted, in address order:
    /// (first page, end page, tag). The file does not record tags; `diff`
    /// names page ranges with them.
    pub regions: Vec<(u64, u64, String)>,
}

/// The importer state of one guest.
#[derive(Debug, Clone)]
pub struct GuestBuilder {
    /// The guest's settings.
    pub(super) settings: GuestSettings,
    /// The importer's VTL (2 with a paravisor).
    pub(super) vtl: Vtl,
    /// Accepted ranges by first page.
    pub(super) accepted: AcceptedRanges,
    /// Relocation and page-table regions as byte ranges `[start, end)`.
    pub(super) relocatable: Vec<(u64, u64)>,
    /// Whether a page-table relocation region was recorded.
    pub(super) page_table_region: bool,
    /// Initialization headers.
    pub(super) initialization: Vec<IgvmInitializationHeader>,
    /// Directives other than page data, in call order.
    pub(super) directives: Vec<IgvmDirectiveHeader>,
    /// Page data, appended at finalisation.
    pub(super) page_data: Vec<IgvmDirectiveHeader>,
    /// Parameter areas: (page_base, page_count) → index.
    pub(super) areas: BTreeMap<(u64, u64), u32>,
    /// Number of parameter areas created.
    pub(super) area_count: u32,
    /// The VP-context builder.
    pub(super) vp: VpBuilder,
    /// The imported-regions page.
    pub(super) imported_regions_page: Option<u64>,
}

impl GuestBuilder {
    /// Creates the state of one guest (`docs/igvm.md` §3): checks the
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
            accepted: AcceptedRanges::default(),
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

    /// `import_vp_register` with an x86-64 register (§4.4).
    pub fn import_x64_register(&mut self, reg: X86Register) -> Result<(), IgvmError> {
        self.vp.import_x64_register(reg)
    }

    /// `import_vp_register` with an AArch64 register (§4.4).
    pub fn import_aarch64_register(&mut self, reg: AArch64Register) -> Result<(), IgvmError> {
        self.vp.import_aarch64_register(reg)
    }

    /// `set_vp_context_page` (§4.6): SNP only, once.
    pub fn set_vp_context_page(&mut self, page_base: u64) -> Result<(), IgvmError> {
        self.vp.set_vp_context_page(page_base)
    }
}

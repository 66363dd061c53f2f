//! One guest (platform) of an IGVM file: the importer state igvmfilegen keeps
//! while a paravisor loader runs (`spec/igvm.md` §3–§6) and its finalisation
//! into headers, directives and a launch measurement.
//!
//! [`GuestBuilder`] has one method per importer call. The facade's importer
//! trait is implemented on top of it by a thin adapter ([`crate::adapter`]).

use crate::error::IgvmError;
use crate::measure::MeasuredPlatform;
use crate::measure::Measurement;
use crate::measure::snp_launch_digest;
use crate::measure::tdx_mrtd;
use crate::measure::vbs_boot_digest;
use crate::vp_context::RegisterList;
use crate::vp_context::TDX_RESET_PAGE;
use crate::vp_context::VMSA_SIZE;
use crate::vp_context::snp_vmsa;
use crate::vp_context::tdx_reset_page;
use elf_static_loader::PageAcceptance;
use igvm::IgvmDirectiveHeader;
use igvm::IgvmInitializationHeader;
use igvm::IgvmPlatformHeader;
use igvm::hv_defs::Vtl;
use igvm::registers::AArch64Register;
use igvm::registers::X86Register;
use igvm_defs::IGVM_VHS_PARAMETER;
use igvm_defs::IGVM_VHS_PARAMETER_INSERT;
use igvm_defs::IGVM_VHS_SUPPORTED_PLATFORM;
use igvm_defs::IgvmPageDataFlags;
use igvm_defs::IgvmPageDataType;
use igvm_defs::IgvmPlatformType;
use sha2::Digest;
use sha2::Sha384;
use std::collections::BTreeMap;

/// Page size in bytes.
const PAGE_SIZE: u64 = 4096;
/// Page size as a `usize`.
const PAGE: usize = 4096;
/// Highest exclusive end page whose GPA still fits in 64 bits.
const MAX_END_PAGE: u64 = 1 << 52;
/// The SNP policy debug bit (bit 19).
const SNP_POLICY_DEBUG: u64 = 1 << 19;

/// Guest architecture (`guest_arch` of the build config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GuestArch {
    /// x86-64 (IGVM revision 1).
    X64,
    /// AArch64 (IGVM revision 2).
    Aarch64,
}

impl GuestArch {
    /// The config name (`x64`, `aarch64`).
    pub fn name(self) -> &'static str {
        match self {
            Self::X64 => "x64",
            Self::Aarch64 => "aarch64",
        }
    }
}

/// SNP interrupt injection type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum InjectionType {
    /// Normal injection.
    #[default]
    Normal,
    /// Restricted injection.
    Restricted,
}

/// Isolation of one guest, with its platform settings (`isolation_type` of
/// the build config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GuestIsolation {
    /// No isolation (written as a VSM_ISOLATION platform, not measured).
    None,
    /// Hyper-V VBS.
    Vbs {
        /// Debug build.
        enable_debug: bool,
    },
    /// AMD SEV-SNP.
    Snp {
        /// The shared GPA boundary bit (required).
        shared_gpa_boundary_bits: Option<u8>,
        /// The SNP guest policy (bit 19 replaced by `enable_debug`).
        policy: u64,
        /// Debug build.
        enable_debug: bool,
        /// Interrupt injection type.
        injection_type: InjectionType,
    },
    /// Intel TDX.
    Tdx {
        /// Debug build.
        enable_debug: bool,
        /// SEPT #VE disable.
        sept_ve_disable: bool,
    },
}

impl GuestIsolation {
    /// Lower-case name (`none`, `vbs`, `snp`, `tdx`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Vbs { .. } => "vbs",
            Self::Snp { .. } => "snp",
            Self::Tdx { .. } => "tdx",
        }
    }

    /// The shared GPA boundary bits igvmfilegen reports to the loader
    /// (`spec/igvm.md` §3.3): SNP its config value, TDX 47, others none.
    pub fn shared_gpa_boundary_bits(&self) -> Option<u8> {
        match self {
            Self::Snp {
                shared_gpa_boundary_bits,
                ..
            } => *shared_gpa_boundary_bits,
            Self::Tdx { .. } => Some(47),
            Self::None | Self::Vbs { .. } => None,
        }
    }
}

/// One guest of the build config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GuestSettings {
    /// File architecture.
    pub arch: GuestArch,
    /// Isolation and platform settings.
    pub isolation: GuestIsolation,
    /// 2 with a paravisor, 0 without.
    pub max_vtl: u8,
    /// SVN for the measurement document.
    pub guest_svn: u32,
}

/// Kind of startup memory the loader checks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequiredMemoryKind {
    /// Plain RAM.
    Ram,
    /// RAM VTL2 can protect.
    Vtl2ProtectableRam,
}

/// Host parameter types (`IgvmParameterType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParameterKind {
    /// VP count.
    VpCount,
    /// ACPI SRAT.
    Srat,
    /// ACPI MADT.
    Madt,
    /// MMIO ranges.
    MmioRanges,
    /// Memory map.
    MemoryMap,
    /// Command line.
    CommandLine,
    /// ACPI SLIT.
    Slit,
    /// ACPI PPTT.
    Pptt,
    /// Device tree.
    DeviceTree,
}

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

/// The VP-context builder chosen by isolation (`spec/igvm.md` §3.4).
#[derive(Debug, Clone)]
enum VpBuilder {
    /// none / VBS: a VBS register list.
    Vbs(RegisterList),
    /// SNP: registers for the VMSA and the VMSA page.
    Snp {
        /// Registers in import order.
        registers: Vec<X86Register>,
        /// The page set by `set_vp_context_page`.
        vmsa_page: Option<u64>,
    },
    /// TDX: registers for the reset page.
    Tdx(Vec<X86Register>),
}

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

    /// Records pages `[page_base, page_base + page_count)` as accepted,
    /// rejecting overlap with any earlier range.
    fn accept(
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
        if let Some((other_base, other)) = self.accepted.range(..end).next_back()
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
        self.accepted.insert(
            page_base,
            AcceptedRange {
                end,
                tag: tag.to_owned(),
                acceptance,
            },
        );
        Ok(())
    }

    /// `import_pages` (`spec/igvm.md` §4.1). A call with no pages imports
    /// nothing (igvmfilegen panics on it; its data must be empty).
    pub fn import_pages(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &str,
        acceptance: PageAcceptance,
        data: &[u8],
    ) -> Result<(), IgvmError> {
        self.import_pages_at_offset(page_base, page_count, tag, acceptance, 0, data)
    }

    /// The single `import_pages` call (`spec/igvm.md` §4.1) whose data is
    /// `leading_zeros` zero bytes followed by `data` (an ELF segment that
    /// starts inside a page, `algorithms.md` §2 step 10.3), without building
    /// that data: each page's chunk is cut from the zeros and `data`
    /// directly. Same pages, page data and accepted range (one
    /// imported-regions descriptor) as the concatenated call.
    pub fn import_pages_at_offset(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &str,
        acceptance: PageAcceptance,
        leading_zeros: usize,
        data: &[u8],
    ) -> Result<(), IgvmError> {
        let len = leading_zeros.checked_add(data.len());
        let too_large = || IgvmError::DataTooLarge {
            tag: tag.to_owned(),
            page_base,
            page_count,
            len: len.unwrap_or(usize::MAX),
        };
        let capacity = page_count.checked_mul(PAGE_SIZE).ok_or_else(too_large)?;
        if len
            .and_then(|len| u64::try_from(len).ok())
            .is_none_or(|len| len > capacity)
        {
            return Err(too_large());
        }
        if page_count == 0 {
            return Ok(());
        }
        let (data_type, flags) = match acceptance {
            PageAcceptance::Exclusive => (IgvmPageDataType::NORMAL, IgvmPageDataFlags::new()),
            PageAcceptance::ExclusiveUnmeasured => (
                IgvmPageDataType::NORMAL,
                IgvmPageDataFlags::new().with_unmeasured(true),
            ),
            PageAcceptance::Shared => (
                IgvmPageDataType::NORMAL,
                IgvmPageDataFlags::new().with_shared(true),
            ),
            PageAcceptance::SecretsPage => (IgvmPageDataType::SECRETS, IgvmPageDataFlags::new()),
            PageAcceptance::CpuidPage => (IgvmPageDataType::CPUID_DATA, IgvmPageDataFlags::new()),
            PageAcceptance::CpuidExtendedStatePage => {
                (IgvmPageDataType::CPUID_XF, IgvmPageDataFlags::new())
            }
            PageAcceptance::VpContext => {
                let mut vmsa = vec![0u8; leading_zeros];
                vmsa.extend_from_slice(data);
                return self.import_vmsa(page_base, page_count, tag, &vmsa);
            }
            PageAcceptance::ErrorPage => {
                return Err(IgvmError::Acceptance {
                    tag: tag.to_owned(),
                    acceptance: "ErrorPage".into(),
                    reason: "error pages cannot be written to an IGVM file",
                });
            }
        };
        let gpa_base = page_base
            .checked_mul(PAGE_SIZE)
            .ok_or(IgvmError::AddressOverflow {
                what: "page import",
                base: page_base,
                len: page_count,
            })?;
        self.accept(page_base, page_count, tag, acceptance)?;
        // The data is `zeros_left` zeros, then `rest`; each page takes the
        // next min(4096, remaining) bytes of it.
        let mut zeros_left = leading_zeros;
        let mut rest = data;
        let mut gpa = gpa_base;
        for _ in 0..page_count {
            let zeros = zeros_left.min(PAGE);
            let (bytes, after) = rest
                .split_at_checked(PAGE.saturating_sub(zeros))
                .unwrap_or((rest, &[]));
            zeros_left = zeros_left.saturating_sub(zeros);
            rest = after;
            let mut chunk = vec![0u8; zeros];
            chunk.extend_from_slice(bytes);
            self.page_data.push(IgvmDirectiveHeader::PageData {
                gpa,
                compatibility_mask: 1,
                flags,
                data_type,
                data: chunk,
            });
            // The end page was checked to be at most 2^52, so this cannot
            // overflow; saturate to stay panic-free regardless.
            gpa = gpa.saturating_add(PAGE_SIZE);
        }
        Ok(())
    }

    /// An import with acceptance VpContext: the SNP VMSA (§4.1 step 3).
    fn import_vmsa(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &str,
        data: &[u8],
    ) -> Result<(), IgvmError> {
        let reject = |reason| IgvmError::Acceptance {
            tag: tag.to_owned(),
            acceptance: "VpContext".into(),
            reason,
        };
        if !matches!(self.vp, VpBuilder::Snp { .. }) {
            return Err(reject("vpcontext acceptance only supported on SNP"));
        }
        if page_count != 1 || data.len() != VMSA_SIZE {
            return Err(reject("a VMSA is one page with 0x670 bytes of data"));
        }
        let mut page = [0u8; PAGE];
        if let Some(dst) = page.get_mut(..VMSA_SIZE) {
            dst.copy_from_slice(data);
        }
        use zerocopy::FromBytes;
        let vmsa = igvm::snp_defs::SevVmsa::read_from_prefix(&page[..])
            .map(|(v, _)| v)
            .map_err(|_| reject("VMSA layout"))?;
        let gpa = page_base
            .checked_mul(PAGE_SIZE)
            .ok_or(IgvmError::AddressOverflow {
                what: "VMSA",
                base: page_base,
                len: 1,
            })?;
        self.accept(page_base, 1, tag, PageAcceptance::VpContext)?;
        self.directives.push(IgvmDirectiveHeader::SnpVpContext {
            gpa,
            compatibility_mask: 1,
            vp_index: 0,
            vmsa: Box::new(vmsa),
        });
        Ok(())
    }

    /// `create_parameter_area` (§4.2); returns the area index.
    pub fn create_parameter_area(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &str,
        initial_data: &[u8],
    ) -> Result<u32, IgvmError> {
        let number_of_bytes =
            page_count
                .checked_mul(PAGE_SIZE)
                .ok_or(IgvmError::AddressOverflow {
                    what: "parameter area",
                    base: page_base,
                    len: page_count,
                })?;
        if u64::try_from(initial_data.len()).map_or(true, |len| len > number_of_bytes) {
            return Err(IgvmError::DataTooLarge {
                tag: tag.to_owned(),
                page_base,
                page_count,
                len: initial_data.len(),
            });
        }
        if page_count == 0 {
            return Err(IgvmError::AddressOverflow {
                what: "parameter area of no pages",
                base: page_base,
                len: 0,
            });
        }
        self.accept(
            page_base,
            page_count,
            tag,
            PageAcceptance::ExclusiveUnmeasured,
        )?;
        let index = self.area_count;
        self.area_count = index
            .checked_add(1)
            .ok_or(IgvmError::UnknownParameterArea { index })?;
        self.areas.insert((page_base, page_count), index);
        self.directives.push(IgvmDirectiveHeader::ParameterArea {
            number_of_bytes,
            parameter_area_index: index,
            initial_data: initial_data.to_vec(),
        });
        Ok(index)
    }

    /// `import_parameter` (§4.3).
    pub fn import_parameter(
        &mut self,
        area: u32,
        byte_offset: u32,
        kind: ParameterKind,
    ) -> Result<(), IgvmError> {
        if area >= self.area_count {
            return Err(IgvmError::UnknownParameterArea { index: area });
        }
        let p = IGVM_VHS_PARAMETER {
            parameter_area_index: area,
            byte_offset,
        };
        self.directives.push(match kind {
            ParameterKind::VpCount => IgvmDirectiveHeader::VpCount(p),
            ParameterKind::Srat => IgvmDirectiveHeader::Srat(p),
            ParameterKind::Madt => IgvmDirectiveHeader::Madt(p),
            ParameterKind::MmioRanges => IgvmDirectiveHeader::MmioRanges(p),
            ParameterKind::MemoryMap => IgvmDirectiveHeader::MemoryMap(p),
            ParameterKind::CommandLine => IgvmDirectiveHeader::CommandLine(p),
            ParameterKind::Slit => IgvmDirectiveHeader::Slit(p),
            ParameterKind::Pptt => IgvmDirectiveHeader::Pptt(p),
            ParameterKind::DeviceTree => IgvmDirectiveHeader::DeviceTree(p),
        });
        Ok(())
    }

    /// `import_vp_register` with an x86-64 register (§4.4).
    pub fn import_x64_register(&mut self, reg: X86Register) -> Result<(), IgvmError> {
        match &mut self.vp {
            VpBuilder::Vbs(list) => list.push_x64(reg),
            VpBuilder::Snp { registers, .. } | VpBuilder::Tdx(registers) => {
                if registers
                    .iter()
                    .any(|r| std::mem::discriminant(r) == std::mem::discriminant(&reg))
                {
                    return Err(IgvmError::DuplicateRegister {
                        register: format!("{reg:x?}"),
                    });
                }
                registers.push(reg);
                Ok(())
            }
        }
    }

    /// `import_vp_register` with an AArch64 register (§4.4).
    pub fn import_aarch64_register(&mut self, reg: AArch64Register) -> Result<(), IgvmError> {
        match &mut self.vp {
            VpBuilder::Vbs(list) => list.push_aarch64(reg),
            VpBuilder::Snp { .. } | VpBuilder::Tdx(_) => Err(IgvmError::UnsupportedRegister {
                register: format!("{reg:x?}"),
                platform: "x86-64",
            }),
        }
    }

    /// `verify_startup_memory_available` (§4.5): a RequiredMemory directive.
    pub fn verify_startup_memory_available(
        &mut self,
        page_base: u64,
        page_count: u64,
        kind: RequiredMemoryKind,
    ) -> Result<(), IgvmError> {
        let too_large = IgvmError::RequiredMemoryTooLarge {
            page_base,
            page_count,
        };
        let number_of_bytes = page_count
            .checked_mul(PAGE_SIZE)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or(too_large)?;
        let gpa = page_base
            .checked_mul(PAGE_SIZE)
            .ok_or(IgvmError::AddressOverflow {
                what: "required memory",
                base: page_base,
                len: page_count,
            })?;
        self.directives.push(IgvmDirectiveHeader::RequiredMemory {
            gpa,
            compatibility_mask: 1,
            number_of_bytes,
            vtl2_protectable: kind == RequiredMemoryKind::Vtl2ProtectableRam,
        });
        Ok(())
    }

    /// `set_vp_context_page` (§4.6): SNP only, once.
    pub fn set_vp_context_page(&mut self, page_base: u64) -> Result<(), IgvmError> {
        match &mut self.vp {
            VpBuilder::Snp { vmsa_page, .. } => {
                if vmsa_page.is_some() {
                    return Err(IgvmError::VpContextPage {
                        reason: "the VMSA page was already set",
                    });
                }
                *vmsa_page = Some(page_base);
                Ok(())
            }
            _ => Err(IgvmError::VpContextPage {
                reason: "only SNP has a VP context page",
            }),
        }
    }

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
    #[allow(clippy::too_many_arguments)]
    pub fn relocation_region(
        &mut self,
        gpa: u64,
        size: u64,
        alignment: u64,
        minimum_gpa: u64,
        maximum_gpa: u64,
        apply_rip_offset: bool,
        apply_gdtr_offset: bool,
        vp_index: u16,
    ) -> Result<(), IgvmError> {
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
        gpa: u64,
        size_pages: u64,
        used_pages: u64,
        vp_index: u16,
    ) -> Result<(), IgvmError> {
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

    /// `set_imported_regions_config_page` (§4.9): the last call wins.
    pub fn set_imported_regions_config_page(&mut self, page_base: u64) {
        self.imported_regions_page = Some(page_base);
    }

    /// The platform header of this guest (§3.1).
    fn platform_header(&self) -> IgvmPlatformHeader {
        let (platform_type, shared_gpa_boundary) = match self.settings.isolation {
            GuestIsolation::None | GuestIsolation::Vbs { .. } => {
                (IgvmPlatformType::VSM_ISOLATION, 0)
            }
            GuestIsolation::Snp {
                shared_gpa_boundary_bits,
                ..
            } => (
                IgvmPlatformType::SEV_SNP,
                // Checked in `new` to be at most 63.
                shared_gpa_boundary_bits
                    .and_then(|b| 1u64.checked_shl(b.into()))
                    .unwrap_or(0),
            ),
            GuestIsolation::Tdx { .. } => (IgvmPlatformType::TDX, 1 << 47),
        };
        IgvmPlatformHeader::SupportedPlatform(IGVM_VHS_SUPPORTED_PLATFORM {
            compatibility_mask: 1,
            highest_vtl: self.vtl as u8,
            platform_type,
            platform_version: 1,
            shared_gpa_boundary,
        })
    }

    /// The imported-regions page (§5.1). Sorts `page_data` by GPA.
    fn imported_regions_page(&mut self, config_page: u64) -> Result<Vec<u8>, IgvmError> {
        let mut descriptors: Vec<(u64, u64, u8)> = self
            .accepted
            .iter()
            .map(|(base, r)| {
                let accepted = u8::from(r.acceptance != PageAcceptance::Shared);
                (*base, r.end.saturating_sub(*base), accepted)
            })
            .collect();
        descriptors.push((config_page, 1, 1));
        descriptors.sort_by_key(|d| d.0);

        self.page_data.sort_by_key(|d| match d {
            IgvmDirectiveHeader::PageData { gpa, .. } => *gpa,
            _ => 0,
        });
        let mut hasher = Sha384::new();
        let zero_page = [0u8; PAGE];
        for d in &self.page_data {
            if let IgvmDirectiveHeader::PageData {
                flags,
                data_type,
                data,
                ..
            } = d
                && *data_type == IgvmPageDataType::NORMAL
                && flags.shared()
            {
                hasher.update(data);
                hasher.update(zero_page.get(data.len()..).unwrap_or_default());
            }
        }
        let count = descriptors.len();
        let bytes = count.saturating_mul(24).saturating_add(48);
        if bytes > PAGE {
            return Err(IgvmError::TooManyImportedRegions { count, bytes });
        }
        let mut page = Vec::with_capacity(bytes);
        page.extend_from_slice(&hasher.finalize());
        for (base, pages, accepted) in descriptors {
            page.extend_from_slice(&base.to_le_bytes());
            page.extend_from_slice(&pages.to_le_bytes());
            page.push(accepted);
            page.extend_from_slice(&[0u8; 7]);
        }
        Ok(page)
    }

    /// Finalises the guest (§5) and measures it (§10).
    pub fn finish(mut self) -> Result<GuestOutput, IgvmError> {
        // 1. The VP context.
        match std::mem::replace(&mut self.vp, VpBuilder::Tdx(Vec::new())) {
            VpBuilder::Vbs(list) => {
                if !list.is_empty() {
                    self.directives.push(match list {
                        RegisterList::X64(registers) => IgvmDirectiveHeader::X64VbsVpContext {
                            vtl: self.vtl,
                            registers,
                            compatibility_mask: 1,
                        },
                        RegisterList::Aarch64(registers) => {
                            IgvmDirectiveHeader::AArch64VbsVpContext {
                                vtl: self.vtl,
                                registers,
                                compatibility_mask: 1,
                            }
                        }
                    });
                }
            }
            VpBuilder::Snp {
                registers,
                vmsa_page,
            } => {
                if let Some(page) = vmsa_page {
                    let restricted = matches!(
                        self.settings.isolation,
                        GuestIsolation::Snp {
                            injection_type: InjectionType::Restricted,
                            ..
                        }
                    );
                    let vmsa = snp_vmsa(&registers, restricted)?;
                    // import_vmsa needs the SNP builder back in place.
                    self.vp = VpBuilder::Snp {
                        registers: Vec::new(),
                        vmsa_page: None,
                    };
                    self.import_pages(
                        page,
                        1,
                        "vp-context-page",
                        PageAcceptance::VpContext,
                        &vmsa,
                    )?;
                }
            }
            VpBuilder::Tdx(registers) => {
                let page = tdx_reset_page(&registers)?;
                self.import_pages(
                    TDX_RESET_PAGE,
                    1,
                    "vp-context-page",
                    PageAcceptance::Exclusive,
                    &page,
                )?;
            }
        }

        // 2. The imported-regions page.
        if let Some(config_page) = self.imported_regions_page {
            let bytes = self.imported_regions_page(config_page)?;
            self.import_pages(
                config_page,
                1,
                "loader-imported-regions",
                PageAcceptance::Exclusive,
                &bytes,
            )?;
        }

        // 3. Parameter inserts, ascending by (page_base, page_count).
        for ((page_base, _), index) in &self.areas {
            self.directives.push(IgvmDirectiveHeader::ParameterInsert(
                IGVM_VHS_PARAMETER_INSERT {
                    gpa: page_base.saturating_mul(PAGE_SIZE),
                    compatibility_mask: 1,
                    parameter_area_index: *index,
                },
            ));
        }

        // 4. Page data.
        let platform = self.platform_header();
        let mut directives = self.directives;
        directives.append(&mut self.page_data);

        let measurement = measure_guest(&self.settings, &self.initialization, &directives)?;
        Ok(GuestOutput {
            platform,
            initialization: self.initialization,
            directives,
            measurement,
        })
    }
}

/// The launch measurement of a finalised guest (§10): x64 SNP, TDX and VBS.
fn measure_guest(
    settings: &GuestSettings,
    initialization: &[IgvmInitializationHeader],
    directives: &[IgvmDirectiveHeader],
) -> Result<Option<Measurement>, IgvmError> {
    if settings.arch != GuestArch::X64 {
        return Ok(None);
    }
    let (platform, digest, debug) = match settings.isolation {
        GuestIsolation::None => return Ok(None),
        GuestIsolation::Vbs { enable_debug } => (
            MeasuredPlatform::Vbs,
            vbs_boot_digest(directives, 1)?.to_vec(),
            enable_debug,
        ),
        GuestIsolation::Snp { enable_debug, .. } => (
            MeasuredPlatform::Snp,
            snp_launch_digest(initialization, directives, 1)?.to_vec(),
            enable_debug,
        ),
        GuestIsolation::Tdx { enable_debug, .. } => (
            MeasuredPlatform::Tdx,
            tdx_mrtd(directives, 1)?.to_vec(),
            enable_debug,
        ),
    };
    Ok(Some(Measurement {
        platform,
        digest,
        svn: settings.guest_svn,
        debug,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vbs() -> GuestBuilder {
        GuestBuilder::new(GuestSettings {
            arch: GuestArch::X64,
            isolation: GuestIsolation::Vbs {
                enable_debug: false,
            },
            max_vtl: 2,
            guest_svn: 1,
        })
        .unwrap()
    }

    fn snp(bits: Option<u8>, debug: bool) -> Result<GuestBuilder, IgvmError> {
        GuestBuilder::new(GuestSettings {
            arch: GuestArch::X64,
            isolation: GuestIsolation::Snp {
                shared_gpa_boundary_bits: bits,
                policy: 0x3001F,
                enable_debug: debug,
                injection_type: InjectionType::Normal,
            },
            max_vtl: 2,
            guest_svn: 1,
        })
    }

    const EX: PageAcceptance = PageAcceptance::Exclusive;

    #[test]
    fn snp_policy_debug_bit_follows_enable_debug() {
        // spec/igvm.md §3.2: 0x3001F → 0x3001F (debug false) / 0xB001F (true).
        for (debug, policy) in [(false, 0x3001F), (true, 0xB001F)] {
            let out = snp(Some(46), debug).unwrap().finish().unwrap();
            assert_eq!(
                out.initialization,
                vec![IgvmInitializationHeader::GuestPolicy {
                    policy,
                    compatibility_mask: 1
                }]
            );
            let IgvmPlatformHeader::SupportedPlatform(p) = out.platform;
            assert_eq!(p.shared_gpa_boundary, 1 << 46);
            assert_eq!(p.platform_type, IgvmPlatformType::SEV_SNP);
            assert_eq!(out.measurement.unwrap().debug, debug);
        }
        assert!(matches!(
            snp(None, false),
            Err(IgvmError::SnpSharedGpaBoundaryMissing { .. })
        ));
    }

    #[test]
    fn tdx_policy_header_only_when_non_zero() {
        // §3.2: bit 0 enable_debug, bit 1 sept_ve_disable; none when 0.
        for (debug, sept, expected) in [
            (false, true, Some(2)),
            (true, false, Some(1)),
            (false, false, None),
        ] {
            let g = GuestBuilder::new(GuestSettings {
                arch: GuestArch::X64,
                isolation: GuestIsolation::Tdx {
                    enable_debug: debug,
                    sept_ve_disable: sept,
                },
                max_vtl: 2,
                guest_svn: 1,
            })
            .unwrap();
            let out = g.finish().unwrap();
            let policies: Vec<u64> = out
                .initialization
                .iter()
                .filter_map(|h| match h {
                    IgvmInitializationHeader::GuestPolicy { policy, .. } => Some(*policy),
                    _ => None,
                })
                .collect();
            assert_eq!(policies, expected.into_iter().collect::<Vec<_>>());
            // The reset page is always imported at GPA 0xFFFFF000 (§5 step 1).
            assert!(out.directives.iter().any(|d| matches!(
                d,
                IgvmDirectiveHeader::PageData {
                    gpa: 0xFFFF_F000,
                    ..
                }
            )));
        }
    }

    #[test]
    fn overlapping_imports_and_areas_are_errors() {
        let mut g = vbs();
        g.import_pages(0x100, 4, "a", EX, &[]).unwrap();
        assert!(matches!(
            g.import_pages(0x103, 1, "b", EX, &[]),
            Err(IgvmError::Overlap {
                other_base: 0x100,
                other_end: 0x104,
                ..
            })
        ));
        assert!(matches!(
            g.create_parameter_area(0xFF, 2, "p", &[]),
            Err(IgvmError::Overlap { .. })
        ));
        g.import_pages(0x104, 1, "c", EX, &[]).unwrap();
        g.import_pages(0xFF, 1, "d", EX, &[]).unwrap();
    }

    #[test]
    fn pages_past_the_data_carry_empty_data() {
        // §4.1 step 4: a short data fills the first pages; the rest are empty.
        let mut g = vbs();
        g.import_pages(0x10, 3, "k", EX, &[7u8; 5000]).unwrap();
        let out = g.finish().unwrap();
        let lens: Vec<(u64, usize)> = out
            .directives
            .iter()
            .filter_map(|d| match d {
                IgvmDirectiveHeader::PageData { gpa, data, .. } => Some((*gpa, data.len())),
                _ => None,
            })
            .collect();
        assert_eq!(lens, vec![(0x10000, 4096), (0x11000, 904), (0x12000, 0)]);
    }

    #[test]
    fn bad_import_calls_are_errors_not_panics() {
        let mut g = vbs();
        assert!(matches!(
            g.import_pages(1, 1, "big", EX, &[0; 4097]),
            Err(IgvmError::DataTooLarge { len: 4097, .. })
        ));
        assert!(g.import_pages(1, 0, "zero", EX, &[1]).is_err());
        g.import_pages(1, 0, "zero", EX, &[]).unwrap();
        assert!(matches!(
            g.import_pages(2, 1, "e", PageAcceptance::ErrorPage, &[]),
            Err(IgvmError::Acceptance { .. })
        ));
        assert!(matches!(
            g.import_pages(2, 1, "v", PageAcceptance::VpContext, &[0; VMSA_SIZE]),
            Err(IgvmError::Acceptance { .. })
        ));
        assert!(g.import_pages(u64::MAX, 2, "wrap", EX, &[]).is_err());
        assert!(g.import_pages(1 << 52, 1, "high", EX, &[]).is_err());
        assert!(matches!(
            g.import_parameter(0, 0, ParameterKind::Slit),
            Err(IgvmError::UnknownParameterArea { index: 0 })
        ));
        assert!(matches!(
            g.set_vp_context_page(3),
            Err(IgvmError::VpContextPage { .. })
        ));
        g.import_x64_register(X86Register::Rip(1)).unwrap();
        assert!(matches!(
            g.import_x64_register(X86Register::Rip(2)),
            Err(IgvmError::DuplicateRegister { .. })
        ));
        // VTL2 memory of 4 GiB (§4.5, §12).
        assert!(matches!(
            g.verify_startup_memory_available(0x8000, 0x10_0000, RequiredMemoryKind::Ram),
            Err(IgvmError::RequiredMemoryTooLarge { .. })
        ));
        g.verify_startup_memory_available(0x8000, 0xF_FFFF, RequiredMemoryKind::Ram)
            .unwrap();
    }

    #[test]
    fn relocation_records_are_checked_like_igvmfilegen() {
        // §4.7 and §4.8.
        let mut g = vbs();
        assert!(
            g.relocation_region(0x20_0000, 0x1001, 0x20_0000, 0, 0, true, true, 0)
                .is_err()
        );
        assert!(
            g.relocation_region(0x20_0000, 0x1000, 0x800, 0, 0, true, true, 0)
                .is_err()
        );
        assert!(
            g.relocation_region(0x20_1000, 0x1000, 0x20_0000, 0, 0, true, true, 0)
                .is_err()
        );
        g.relocation_region(
            0x20_0000,
            0x10_0000,
            0x20_0000,
            0x20_0000,
            0x4000_0000,
            true,
            true,
            0,
        )
        .unwrap();
        assert!(g.page_table_relocation(0x28_0000, 2, 1, 0).is_err()); // overlaps
        assert!(g.page_table_relocation(0x40_0000, 1, 2, 0).is_err()); // used > size
        g.page_table_relocation(0x40_0000, 4, 2, 0).unwrap();
        assert!(g.page_table_relocation(0x50_0000, 4, 2, 0).is_err()); // second call
    }

    #[test]
    fn at_most_168_imported_region_descriptors_fit() {
        // §5.1: 48 + 24 × n ≤ 4096, the page's own descriptor included.
        for (ranges, ok) in [(167u64, true), (168, false)] {
            let mut g = vbs();
            for i in 0..ranges {
                g.import_pages(0x1000 + 2 * i, 1, "r", EX, &[]).unwrap();
            }
            g.set_imported_regions_config_page(0x10);
            let r = g.finish();
            assert_eq!(r.is_ok(), ok, "{ranges} ranges");
            if !ok {
                assert!(matches!(
                    r,
                    Err(IgvmError::TooManyImportedRegions { count: 169, .. })
                ));
            }
        }
    }

    #[test]
    fn imported_regions_page_lists_every_call_and_hashes_shared_pages() {
        // §5.1: one descriptor per call (adjacent calls not merged), shared
        // ranges not accepted, SHA-384 over the shared NORMAL pages.
        let mut g = vbs();
        g.import_pages(0x20, 1, "a", PageAcceptance::Shared, b"xyz")
            .unwrap();
        g.import_pages(0x21, 1, "a", PageAcceptance::Shared, &[])
            .unwrap();
        g.create_parameter_area(0x30, 2, "p", &[]).unwrap();
        g.set_imported_regions_config_page(0x10);
        let out = g.finish().unwrap();
        let Some(IgvmDirectiveHeader::PageData {
            gpa: 0x10000, data, ..
        }) = out.directives.last()
        else {
            panic!("imported-regions page is not last");
        };
        let mut shared = vec![0u8; 8192];
        shared[..3].copy_from_slice(b"xyz");
        assert_eq!(&data[..48], &Sha384::digest(&shared)[..]);
        let d: Vec<(u64, u64, u8)> = data[48..]
            .chunks_exact(24)
            .map(|c| {
                (
                    u64::from_le_bytes(c[0..8].try_into().unwrap()),
                    u64::from_le_bytes(c[8..16].try_into().unwrap()),
                    c[16],
                )
            })
            .collect();
        assert_eq!(
            d,
            vec![(0x10, 1, 1), (0x20, 1, 0), (0x21, 1, 0), (0x30, 2, 1)]
        );
        // Parameter insert precedes the page data (§5 order).
        let insert = out
            .directives
            .iter()
            .position(|d| matches!(d, IgvmDirectiveHeader::ParameterInsert(_)))
            .unwrap();
        let first_page = out
            .directives
            .iter()
            .position(|d| matches!(d, IgvmDirectiveHeader::PageData { .. }))
            .unwrap();
        assert!(insert < first_page);
    }

    #[test]
    fn unsupported_platform_combinations_are_errors() {
        let settings = |arch, isolation, max_vtl| GuestSettings {
            arch,
            isolation,
            max_vtl,
            guest_svn: 0,
        };
        let tdx = GuestIsolation::Tdx {
            enable_debug: false,
            sept_ve_disable: false,
        };
        assert!(matches!(
            GuestBuilder::new(settings(GuestArch::Aarch64, tdx, 2)),
            Err(IgvmError::IsolationArch { .. })
        ));
        assert!(GuestBuilder::new(settings(GuestArch::X64, tdx, 0)).is_err());
        assert!(matches!(
            GuestBuilder::new(settings(GuestArch::X64, GuestIsolation::None, 1)),
            Err(IgvmError::MaxVtl { max_vtl: 1, .. })
        ));
    }
}

//! The image as data: an [`ImagePlan`] is the ordered list of everything a
//! load tells its importer ([`Step`]), plus the structures the loader built
//! for it. It is computed before anything is imported
//! ([`crate::X64Layout::plan`], [`crate::Arm64Layout::plan`]); then
//! `ImagePlan::check_overlaps` (`overlap.rs`) runs over the list, and
//! [`ImagePlan::apply`] hands it to an importer, the only code that makes
//! importer calls. `paravisor layout` prints its rows ([`ImagePlan::for_each_region`]).
//!
//! Adding a region to an image means adding one step where the layout is
//! planned (`x64.rs`, `arm64.rs`, or `place.rs` for both): the import, the
//! overlap check and the layout map all follow from it.
//!
//! Where an ABI profile (docs/abi-versions.md) would differ, each decision
//! has one home: the shim-parameter bytes are [`Structures::shim_params`]
//! (read through [`ImagePlan::built_bytes`]); the configuration-region size
//! is `CONFIG_REGION_PAGES` in `ShimAreas::place` (`place.rs`), which also
//! appends the parameter areas and the VTL2 configuration, and where a new
//! announced area would be one more step; the x86-64 identity-map
//! configuration (leaf sizes included) is `identity_map_config` in `x64_tables.rs`;
//! the AArch64 kernel and initrd placement is `place_kernel_and_initrd` in
//! `arm64.rs`.

use crate::importer::PAGE_SIZE;
use crate::importer::PageAcceptance;
use crate::importer::PageTableRelocation;
use crate::importer::ParameterType;
use crate::importer::ParavisorImporter;
use crate::importer::RelocationRegion;
use crate::importer::StartupMemoryType;
use elf_static_loader::elf::StaticElfPlan;
use elf_static_loader::image::Arm64ImagePlan;
use paravisor_layout::ParavisorMeasuredVtl0Config;
use paravisor_layout::ParavisorMeasuredVtl2Config;
use paravisor_layout::ShimParamsBytes;
use paravisor_layout::ShimParamsLayout;
use paravisor_layout::ShimParamsRaw;
use zerocopy::IntoBytes;

/// Most steps an image has (x86-64 with SNP, a sidecar, an initrd and every
/// VTL0 page needs 40).
pub const MAX_STEPS: usize = 48;

/// A range of 4 KiB pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageRange {
    /// First page number.
    pub base: u64,
    /// Number of pages.
    pub count: u64,
}

impl PageRange {
    /// The pages holding `[address, address + bytes)` where `address` is
    /// page aligned (`bytes` rounded up to whole pages).
    pub const fn of_bytes(address: u64, bytes: u64) -> Self {
        Self {
            base: address / PAGE_SIZE,
            count: bytes.div_ceil(PAGE_SIZE),
        }
    }

    /// The single page `page`.
    pub const fn one(page: u64) -> Self {
        Self {
            base: page,
            count: 1,
        }
    }

    /// The page after the last.
    pub const fn end(&self) -> u64 {
        self.base.saturating_add(self.count)
    }

    /// Whether two non-empty ranges share a page.
    pub const fn overlaps(&self, other: &Self) -> bool {
        self.count != 0 && other.count != 0 && self.base < other.end() && other.base < self.end()
    }
}

/// A structure the loader builds and imports (its bytes live in the plan,
/// or, for the page tables, in the caller's buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Built {
    /// The paravisor command-line page (docs/abi.md §3.2).
    CommandLine,
    /// The shim parameters (docs/abi.md §2).
    ShimParams,
    /// The x86-64 GDT (`vp_regs::x86_64::paravisor::GDT`).
    Gdt,
    /// The identity-map page tables, built into the caller's buffer.
    PageTables,
    /// The SNP CPUID page (`snp_cpuid::create_snp_cpuid_page`).
    SnpCpuidPage,
    /// The VTL0 Linux command line with its NUL.
    Vtl0LinuxCommandLine,
    /// The measured VTL0 configuration (docs/abi.md §3.3).
    MeasuredVtl0Config,
    /// The measured VTL2 configuration (docs/abi.md §3.4).
    MeasuredVtl2Config,
}

/// Where the bytes of a page import come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageData<'a> {
    /// Zero pages (no data).
    Zeros,
    /// A slice of a caller input (initrd, UEFI VP context).
    Input(&'a [u8]),
    /// A structure the loader builds.
    Built(Built),
}

/// One `import_pages` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageImport<'a> {
    /// The import's tag.
    pub tag: &'static str,
    /// The pages imported.
    pub pages: PageRange,
    /// How the pages are accepted.
    pub acceptance: PageAcceptance,
    /// Where the bytes come from.
    pub data: PageData<'a>,
}

/// A region the layout places but does not import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unimported {
    /// The persisted-state region at the start of VTL2 memory.
    PersistedState,
    /// The bounce buffer (SNP and TDX).
    BounceBuffer,
    /// The x86-64 VTL2 reserved region, used (imported) on SNP only.
    Vtl2Reserved,
}

/// A parameter area and the one parameter placed at its byte 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ParameterArea {
    /// The area's tag.
    pub tag: &'static str,
    /// The area's pages.
    pub pages: PageRange,
    /// The parameter the host writes there.
    pub parameter: ParameterType,
}

/// One thing a load tells its importer, in order.
#[derive(Debug, Clone, Copy)]
pub enum Step<'a, R> {
    /// `verify_startup_memory_available`: VTL2 memory.
    StartupMemory {
        /// VTL2 memory.
        pages: PageRange,
        /// Ram or Vtl2ProtectableRam.
        memory_type: StartupMemoryType,
    },
    /// Placed, not imported (no importer call).
    Unimported {
        /// Which region.
        region: Unimported,
        /// Its pages.
        pages: PageRange,
    },
    /// One page import.
    Import(PageImport<'a>),
    /// The `PT_LOAD` segments of a planned ELF file, each one import.
    Elf {
        /// Tag of every segment.
        tag: &'static str,
        /// Acceptance of every segment.
        acceptance: PageAcceptance,
        /// The planned file.
        plan: StaticElfPlan<'a>,
    },
    /// An arm64 `Image` and its initrd (two imports).
    Arm64Image {
        /// The planned image.
        plan: Arm64ImagePlan<'a>,
        /// The initrd bytes.
        initrd: &'a [u8],
    },
    /// The relocatable region.
    RelocationRegion(RelocationRegion),
    /// The page tables the host rebuilds on relocation; the used pages are
    /// those of the built tables.
    PageTableRelocation {
        /// GPA of the page-table region.
        gpa: u64,
        /// Pages reserved.
        size_pages: u64,
    },
    /// One boot-processor register.
    Register(R),
    /// A parameter area and its parameter.
    ParameterArea(ParameterArea),
    /// The VP-context page (SNP VMSA).
    VpContextPage(u64),
    /// The page where the importer writes the imported regions.
    ImportedRegionsPage(u64),
    /// main's expected-page-hashes area (docs/abi-versions.md G6): announced
    /// by its first page, not imported.
    ExpectedPageHashes(PageRange),
}

/// The structures a plan imports, built while planning.
#[derive(Debug, Clone, Copy)]
pub struct Structures {
    /// The command-line page.
    pub command_line: [u8; PAGE_SIZE as usize],
    /// Base the shim-parameter offsets are relative to (the shim's lowest
    /// address).
    pub shim_base: u64,
    /// The shim parameters (every field of every profile).
    pub shim_params: ShimParamsRaw,
    /// The shim parameters in the profile's layout, as imported.
    pub shim_params_bytes: ShimParamsBytes,
    /// The measured VTL0 configuration.
    pub vtl0_config: ParavisorMeasuredVtl0Config,
    /// The measured VTL2 configuration.
    pub vtl2_config: ParavisorMeasuredVtl2Config,
    /// Import the VTL2 configuration as a whole zero-padded page
    /// (`main-1488a37b`).
    pub vtl2_config_as_page: bool,
    vtl0_linux_command_line: [u8; PAGE_SIZE as usize],
    vtl0_linux_command_line_len: usize,
}

impl Structures {
    /// Empty structures (filled while planning).
    pub(crate) const fn new() -> Self {
        Self {
            command_line: [0; PAGE_SIZE as usize],
            shim_base: 0,
            shim_params: crate::structs::EMPTY_SHIM_PARAMS,
            shim_params_bytes: ShimParamsBytes::EMPTY,
            vtl0_config: crate::structs::measured_vtl0_config_empty(),
            vtl2_config: ParavisorMeasuredVtl2Config::new(0),
            vtl2_config_as_page: false,
            vtl0_linux_command_line: [0; PAGE_SIZE as usize],
            vtl0_linux_command_line_len: 0,
        }
    }

    /// Stores the shim parameters, and their bytes in `layout`.
    pub(crate) fn set_shim_params(&mut self, params: ShimParamsRaw, layout: ShimParamsLayout) {
        self.shim_params = params;
        self.shim_params_bytes = layout.encode(&params);
    }

    /// Stores the VTL0 Linux command line and its NUL (`text` at most 4095
    /// bytes, checked by the caller; a longer one is cut).
    pub(crate) fn set_vtl0_linux_command_line(&mut self, text: &[u8]) {
        let len = text.len().min((PAGE_SIZE as usize).saturating_sub(1));
        if let (Some(dst), Some(src)) =
            (self.vtl0_linux_command_line.get_mut(..len), text.get(..len))
        {
            dst.copy_from_slice(src);
        }
        // The NUL: the buffer is zeroed, so it is already there.
        self.vtl0_linux_command_line_len = len.saturating_add(1);
    }

    /// The VTL0 Linux command line with its NUL.
    pub fn vtl0_linux_command_line(&self) -> &[u8] {
        self.vtl0_linux_command_line
            .get(..self.vtl0_linux_command_line_len)
            .unwrap_or(&[])
    }
}

/// The whole image, planned: the ordered steps and the built structures.
#[derive(Debug, Clone, Copy)]
pub struct ImagePlan<'a, R> {
    steps: [Option<Step<'a, R>>; MAX_STEPS],
    len: usize,
    /// The structures the plan imports.
    pub structures: Structures,
}

impl<'a, R: Copy> ImagePlan<'a, R> {
    /// An empty plan.
    pub(crate) const fn new() -> Self {
        Self {
            steps: [None; MAX_STEPS],
            len: 0,
            structures: Structures::new(),
        }
    }

    /// Appends a step. The capacity covers every layout (the largest, x86-64
    /// SNP with a sidecar, an initrd, UEFI and Linux, has 40 steps); a step
    /// beyond it is an error, never a silent loss.
    pub(crate) fn push(&mut self, step: Step<'a, R>) -> Result<(), crate::LayoutError> {
        let slot = self
            .steps
            .get_mut(self.len)
            .ok_or(crate::LayoutError::TooManySteps { max: MAX_STEPS })?;
        *slot = Some(step);
        self.len = self.len.saturating_add(1);
        Ok(())
    }

    /// Appends a page import.
    pub(crate) fn import(
        &mut self,
        tag: &'static str,
        pages: PageRange,
        acceptance: PageAcceptance,
        data: PageData<'a>,
    ) -> Result<(), crate::LayoutError> {
        self.push(Step::Import(PageImport {
            tag,
            pages,
            acceptance,
            data,
        }))
    }

    /// The steps, in import order.
    pub fn steps(&self) -> impl Iterator<Item = &Step<'a, R>> + '_ {
        self.steps.get(..self.len).unwrap_or(&[]).iter().flatten()
    }

    /// The bytes of a built structure (`page_tables`: the built tables).
    pub fn built_bytes<'s>(&'s self, built: Built, page_tables: &'s [u8]) -> BuiltBytes<'s> {
        let s = &self.structures;
        match built {
            Built::CommandLine => BuiltBytes::Slice(&s.command_line),
            Built::ShimParams => BuiltBytes::Slice(s.shim_params_bytes.as_bytes()),
            Built::Gdt => BuiltBytes::Slice(vp_regs::x86_64::paravisor::GDT.as_bytes()),
            Built::PageTables => BuiltBytes::Slice(page_tables),
            Built::SnpCpuidPage => BuiltBytes::SnpCpuidPage,
            Built::Vtl0LinuxCommandLine => BuiltBytes::Slice(s.vtl0_linux_command_line()),
            Built::MeasuredVtl0Config => BuiltBytes::Slice(s.vtl0_config.as_bytes()),
            Built::MeasuredVtl2Config if s.vtl2_config_as_page => {
                BuiltBytes::ZeroPaddedPage(s.vtl2_config.as_bytes())
            }
            Built::MeasuredVtl2Config => BuiltBytes::Slice(s.vtl2_config.as_bytes()),
        }
    }

    /// Hands the plan to `importer`, step by step: the only code that calls
    /// an importer. `page_tables` are the tables built for this plan. Only
    /// the importer can fail here.
    pub fn apply<I: ParavisorImporter<R>>(
        &self,
        importer: &mut I,
        page_tables: &[u8],
    ) -> Result<(), I::Error> {
        for step in self.steps() {
            match *step {
                Step::StartupMemory { pages, memory_type } => importer
                    .verify_startup_memory_available(pages.base, pages.count, memory_type)?,
                Step::Unimported { .. } => {}
                Step::Import(import) => {
                    let built;
                    let data: &[u8] = match import.data {
                        PageData::Zeros => &[],
                        PageData::Input(bytes) => bytes,
                        PageData::Built(b) => match self.built_bytes(b, page_tables) {
                            BuiltBytes::Slice(bytes) => bytes,
                            BuiltBytes::SnpCpuidPage => {
                                built = BuiltPage::Cpuid(snp_cpuid::create_snp_cpuid_page());
                                built.as_bytes()
                            }
                            BuiltBytes::ZeroPaddedPage(bytes) => {
                                let mut page = [0u8; PAGE_SIZE as usize];
                                if let Some(dst) = page.get_mut(..bytes.len()) {
                                    dst.copy_from_slice(bytes);
                                }
                                built = BuiltPage::Padded(page);
                                built.as_bytes()
                            }
                        },
                    };
                    importer.import_pages(
                        import.pages.base,
                        import.pages.count,
                        import.tag,
                        import.acceptance,
                        data,
                    )?
                }
                Step::Elf {
                    tag,
                    acceptance,
                    plan,
                } => plan.import(importer, acceptance, tag)?,
                Step::Arm64Image { plan, initrd } => plan.import(importer, initrd)?,
                Step::RelocationRegion(region) => importer.relocation_region(region)?,
                Step::PageTableRelocation { gpa, size_pages } => {
                    importer.page_table_relocation(PageTableRelocation {
                        gpa,
                        size_pages,
                        used_pages: page_tables.len() as u64 / PAGE_SIZE,
                        vp_index: 0,
                    })?
                }
                Step::Register(register) => importer.import_vp_register(register)?,
                Step::ParameterArea(area) => {
                    let index = importer.create_parameter_area(
                        area.pages.base,
                        u32::try_from(area.pages.count).unwrap_or(u32::MAX),
                        area.tag,
                    )?;
                    importer.import_parameter(index, 0, area.parameter)?
                }
                Step::VpContextPage(page) => importer.set_vp_context_page(page)?,
                Step::ImportedRegionsPage(page) => importer.set_imported_regions_config_page(page),
                Step::ExpectedPageHashes(pages) => {
                    importer.set_expected_page_hashes_config_page(pages.base)
                }
            }
        }
        Ok(())
    }

    /// Calls `f` with every region of the image, in step order: each page
    /// import (one per ELF segment), each placed-but-unimported region, each
    /// parameter area (numbered in creation order), the VP-context page and
    /// the imported-regions page. 0-page imports are left out (importers
    /// ignore them). Stops at the first error of `f`.
    pub fn for_each_region<E>(
        &self,
        mut f: impl FnMut(PlannedRegion) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut emit = |region: PlannedRegion| {
            if region.pages.count == 0 {
                Ok(())
            } else {
                f(region)
            }
        };
        let mut areas = 0u32;
        for step in self.steps() {
            match *step {
                Step::Import(i) => emit(PlannedRegion::import(i.tag, i.acceptance, i.pages))?,
                Step::Elf {
                    tag,
                    acceptance,
                    ref plan,
                } => {
                    for s in plan.segments() {
                        let pages = PageRange {
                            base: s.page_base,
                            count: s.page_count,
                        };
                        emit(PlannedRegion::import(tag, acceptance, pages))?;
                    }
                }
                Step::Arm64Image { ref plan, .. } => {
                    for i in plan.imports() {
                        let pages = PageRange {
                            base: i.page_base,
                            count: i.page_count,
                        };
                        emit(PlannedRegion::import(i.tag, i.acceptance, pages))?;
                    }
                }
                Step::Unimported { region, pages } => emit(PlannedRegion {
                    pages,
                    kind: RegionKind::Unimported(region),
                })?,
                Step::ParameterArea(area) => {
                    emit(PlannedRegion {
                        pages: area.pages,
                        kind: RegionKind::ParameterArea {
                            tag: area.tag,
                            index: areas,
                        },
                    })?;
                    areas = areas.saturating_add(1);
                }
                Step::VpContextPage(page) => emit(PlannedRegion {
                    pages: PageRange::one(page),
                    kind: RegionKind::VpContextPage,
                })?,
                Step::ImportedRegionsPage(page) => emit(PlannedRegion {
                    pages: PageRange::one(page),
                    kind: RegionKind::ImportedRegionsPage,
                })?,
                Step::ExpectedPageHashes(pages) => emit(PlannedRegion {
                    pages,
                    kind: RegionKind::ExpectedPageHashes,
                })?,
                Step::StartupMemory { .. }
                | Step::RelocationRegion(_)
                | Step::PageTableRelocation { .. }
                | Step::Register(_) => {}
            }
        }
        Ok(())
    }
}

/// A built structure's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltBytes<'s> {
    /// Bytes held by the plan (or the caller's page tables).
    Slice(&'s [u8]),
    /// The SNP CPUID page, built when the plan is applied (it is constant).
    SnpCpuidPage,
    /// These bytes, imported as a whole page padded with zeros.
    ZeroPaddedPage(&'s [u8]),
}

/// A page built while the plan is applied (one at a time, on the stack).
#[expect(
    clippy::large_enum_variant,
    reason = "a short-lived local, never moved or stored"
)]
enum BuiltPage {
    Cpuid(snp_cpuid::HvPspCpuidPage),
    Padded([u8; PAGE_SIZE as usize]),
}

impl BuiltPage {
    fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Cpuid(page) => page.as_bytes(),
            Self::Padded(page) => page,
        }
    }
}

/// What a region of the layout is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionKind {
    /// Pages imported with a tag and an acceptance.
    Import {
        /// The tag.
        tag: &'static str,
        /// The acceptance.
        acceptance: PageAcceptance,
    },
    /// Placed, not imported.
    Unimported(Unimported),
    /// A parameter area (the host fills it).
    ParameterArea {
        /// The area's tag.
        tag: &'static str,
        /// Its number (creation order).
        index: u32,
    },
    /// The VP-context page.
    VpContextPage,
    /// The imported-regions page.
    ImportedRegionsPage,
    /// main's expected-page-hashes area (measured, not imported).
    ExpectedPageHashes,
}

/// One row of the layout: pages and what they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedRegion {
    /// The pages.
    pub pages: PageRange,
    /// What they are.
    pub kind: RegionKind,
}

impl PlannedRegion {
    /// Whether the region is a page import (the overlap rule's subject).
    pub fn is_import(&self) -> bool {
        matches!(self.kind, RegionKind::Import { .. })
    }

    fn import(tag: &'static str, acceptance: PageAcceptance, pages: PageRange) -> Self {
        Self {
            pages,
            kind: RegionKind::Import { tag, acceptance },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_ranges_round_up_and_overlap_only_when_sharing_a_page() {
        assert_eq!(
            PageRange::of_bytes(0x8000_0000, 0x1001),
            PageRange {
                base: 0x8_0000,
                count: 2
            }
        );
        let a = PageRange { base: 10, count: 2 };
        assert!(a.overlaps(&PageRange::one(11)));
        assert!(!a.overlaps(&PageRange::one(12)));
        assert!(!a.overlaps(&PageRange { base: 11, count: 0 }));
    }

    #[test]
    fn a_plan_refuses_a_step_beyond_its_capacity() {
        let mut plan = ImagePlan::<'_, u64>::new();
        for i in 0..MAX_STEPS {
            plan.push(Step::Register(i as u64)).unwrap();
        }
        assert_eq!(
            plan.push(Step::Register(0)),
            Err(crate::LayoutError::TooManySteps { max: MAX_STEPS })
        );
        assert_eq!(plan.steps().count(), MAX_STEPS);
    }
}

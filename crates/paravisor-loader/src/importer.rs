//! The importer interface of the paravisor loaders.
//!
//! A loader never writes guest memory or VP state itself: it describes the
//! image to a [`ParavisorImporter`], which may write guest RAM
//! (`GuestMemoryImporter`), build an IGVM file, or
//! summarise the image (`paravisor_host::summary::SummaryImporter`).
//!
//! The trait extends the page-import interface of `elf-static-loader`
//! ([`ImportPages`]) with what only the paravisor needs: the isolation
//! configuration, the startup-memory check, parameter areas, VP registers,
//! the SNP VMSA page, relocation records and the imported-regions page.

pub use elf_static_loader::ImportPages;
pub use elf_static_loader::PAGE_SIZE;
pub use elf_static_loader::PageAcceptance;

// Three crates below the facade name a 4 KiB page, each for its own fact:
// the importer's page (`elf_static_loader::PAGE_SIZE`, the one used above
// the facade), the Hyper-V page of the shim ABI
// (`paravisor_layout::HV_PAGE_SIZE`) and the x86-64 architectural page
// (`x86_pagetables::X64_PAGE_SIZE`). The facade composes them, so it is
// where their agreement is checked: at compile time.
const _: () = assert!(PAGE_SIZE == paravisor_layout::HV_PAGE_SIZE);
const _: () = assert!(PAGE_SIZE == x86_pagetables::X64_PAGE_SIZE);

/// Isolation architecture of the guest (`IsolationType` in the original).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IsolationType {
    /// No isolation.
    None,
    /// Virtualization-based security (VBS).
    Vbs,
    /// AMD SEV-SNP.
    Snp,
    /// Intel TDX.
    Tdx,
}

impl IsolationType {
    /// The lower-case name used in manifests and summaries (`none`, `vbs`,
    /// `snp`, `tdx`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Vbs => "vbs",
            Self::Snp => "snp",
            Self::Tdx => "tdx",
        }
    }

    /// SNP and TDX: the hardware-isolated types, which get a bounce buffer,
    /// a local map and shared (host-visible) kernel and initrd pages.
    pub const fn is_hardware_isolated(self) -> bool {
        matches!(self, Self::Snp | Self::Tdx)
    }
}

/// The isolation configuration the importer was created for
/// (`IsolationConfig` in the original).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IsolationConfig {
    /// The isolation architecture.
    pub isolation_type: IsolationType,
    /// Whether a paravisor (VTL2) is present.
    pub paravisor_present: bool,
    /// The shared-GPA boundary (vTOM) bit, if any.
    pub shared_gpa_boundary_bits: Option<u8>,
}

impl IsolationConfig {
    /// The memory VTL2 needs at startup: RAM VTL2 can protect when a
    /// paravisor is present, plain RAM otherwise.
    pub const fn startup_memory_type(&self) -> StartupMemoryType {
        if self.paravisor_present {
            StartupMemoryType::Vtl2ProtectableRam
        } else {
            StartupMemoryType::Ram
        }
    }
}

/// Kind of memory the startup-memory check asks for
/// (`StartupMemoryType` in the original).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StartupMemoryType {
    /// Plain RAM (no paravisor present).
    Ram,
    /// RAM that VTL2 can protect from lower VTLs (paravisor present).
    Vtl2ProtectableRam,
}

impl StartupMemoryType {
    /// The lower snake-case name used in summaries.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ram => "ram",
            Self::Vtl2ProtectableRam => "vtl2_protectable_ram",
        }
    }
}

/// Kind of host-provided parameter placed in a parameter area
/// (`IgvmParameterType` in the original).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParameterType {
    /// Number of virtual processors.
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

impl ParameterType {
    /// The lower snake-case name used in summaries.
    pub const fn name(self) -> &'static str {
        match self {
            Self::VpCount => "vp_count",
            Self::Srat => "srat",
            Self::Madt => "madt",
            Self::MmioRanges => "mmio_ranges",
            Self::MemoryMap => "memory_map",
            Self::CommandLine => "command_line",
            Self::Slit => "slit",
            Self::Pptt => "pptt",
            Self::DeviceTree => "device_tree",
        }
    }
}

/// Handle of a parameter area, returned by
/// [`ParavisorImporter::create_parameter_area`] (areas are numbered 0, 1, 2,
/// … in creation order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParameterAreaIndex(pub u32);

/// A region the host may relocate as a whole (`relocation_region` in the
/// original), with the VP state that must follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RelocationRegion {
    /// Current GPA of the region.
    pub gpa: u64,
    /// Size of the region in bytes.
    pub size_bytes: u64,
    /// Required alignment of a new GPA.
    pub alignment: u64,
    /// Lowest allowed GPA.
    pub minimum_gpa: u64,
    /// Highest allowed GPA.
    pub maximum_gpa: u64,
    /// Whether RIP (x86-64) or PC (AArch64) moves with the region.
    pub apply_rip_offset: bool,
    /// Whether the GDTR base moves with the region.
    pub apply_gdtr_offset: bool,
    /// The VP whose registers are adjusted.
    pub vp_index: u16,
}

/// Page tables the host must rebuild when it relocates the image
/// (`page_table_relocation` in the original).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageTableRelocation {
    /// GPA of the page-table region.
    pub gpa: u64,
    /// Pages reserved for page tables.
    pub size_pages: u64,
    /// Pages used by the tables the loader built.
    pub used_pages: u64,
    /// The VP whose CR3 / TTBR0 follows the tables.
    pub vp_index: u16,
}

/// Everything a paravisor loader tells its importer, for VP registers of
/// type `R` ([`vp_regs::x86_64::X86Register`] or
/// [`vp_regs::aarch64::Aarch64Register`]).
///
/// Every method but [`isolation_config`](Self::isolation_config) and
/// [`set_imported_regions_config_page`](Self::set_imported_regions_config_page)
/// may fail with the importer's error, which the loader returns at once as
/// `Error::Importer`. The loaders check the whole layout before the
/// first call that imports anything, so an importer error is the only way a
/// load can stop half-way.
pub trait ParavisorImporter<R>: ImportPages {
    /// The isolation configuration of the image being built. Called first.
    fn isolation_config(&self) -> IsolationConfig;

    /// Checks that `page_count` pages at `page_base` exist as memory of
    /// `memory_type`. A check only: nothing is imported.
    fn verify_startup_memory_available(
        &mut self,
        page_base: u64,
        page_count: u64,
        memory_type: StartupMemoryType,
    ) -> Result<(), Self::Error>;

    /// Reserves `page_count` pages at `page_base` for host-provided
    /// parameters and returns the area's handle.
    fn create_parameter_area(
        &mut self,
        page_base: u64,
        page_count: u32,
        tag: &'static str,
    ) -> Result<ParameterAreaIndex, Self::Error>;

    /// Places a parameter of type `parameter` at `byte_offset` in `area`.
    fn import_parameter(
        &mut self,
        area: ParameterAreaIndex,
        byte_offset: u32,
        parameter: ParameterType,
    ) -> Result<(), Self::Error>;

    /// Sets one register of the boot processor.
    fn import_vp_register(&mut self, register: R) -> Result<(), Self::Error>;

    /// Names the page that holds the VP context (the SNP VMSA).
    fn set_vp_context_page(&mut self, page_base: u64) -> Result<(), Self::Error>;

    /// Records a region the host may relocate.
    fn relocation_region(&mut self, region: RelocationRegion) -> Result<(), Self::Error>;

    /// Records page tables the host must rebuild on relocation.
    fn page_table_relocation(&mut self, relocation: PageTableRelocation)
    -> Result<(), Self::Error>;

    /// Names the page where the importer writes the list of imported
    /// regions when it finalises the image.
    fn set_imported_regions_config_page(&mut self, page_base: u64);

    /// Names the first page of the measured expected-page-hashes area
    /// (docs/abi-versions.md §3.3, group G6). Only the `main-1488a37b` profile
    /// calls it, once, after
    /// [`set_imported_regions_config_page`](Self::set_imported_regions_config_page);
    /// nothing is imported there. The default ignores it: an importer that
    /// builds files for the earlier profiles needs nothing from it.
    fn set_expected_page_hashes_config_page(&mut self, page_base: u64) {
        let _ = page_base;
    }
}

impl<R, T: ParavisorImporter<R> + ?Sized> ParavisorImporter<R> for &mut T {
    fn isolation_config(&self) -> IsolationConfig {
        (**self).isolation_config()
    }
    fn verify_startup_memory_available(
        &mut self,
        page_base: u64,
        page_count: u64,
        memory_type: StartupMemoryType,
    ) -> Result<(), Self::Error> {
        (**self).verify_startup_memory_available(page_base, page_count, memory_type)
    }
    fn create_parameter_area(
        &mut self,
        page_base: u64,
        page_count: u32,
        tag: &'static str,
    ) -> Result<ParameterAreaIndex, Self::Error> {
        (**self).create_parameter_area(page_base, page_count, tag)
    }
    fn import_parameter(
        &mut self,
        area: ParameterAreaIndex,
        byte_offset: u32,
        parameter: ParameterType,
    ) -> Result<(), Self::Error> {
        (**self).import_parameter(area, byte_offset, parameter)
    }
    fn import_vp_register(&mut self, register: R) -> Result<(), Self::Error> {
        (**self).import_vp_register(register)
    }
    fn set_vp_context_page(&mut self, page_base: u64) -> Result<(), Self::Error> {
        (**self).set_vp_context_page(page_base)
    }
    fn relocation_region(&mut self, region: RelocationRegion) -> Result<(), Self::Error> {
        (**self).relocation_region(region)
    }
    fn page_table_relocation(
        &mut self,
        relocation: PageTableRelocation,
    ) -> Result<(), Self::Error> {
        (**self).page_table_relocation(relocation)
    }
    fn set_imported_regions_config_page(&mut self, page_base: u64) {
        (**self).set_imported_regions_config_page(page_base)
    }
    fn set_expected_page_hashes_config_page(&mut self, page_base: u64) {
        (**self).set_expected_page_hashes_config_page(page_base)
    }
}

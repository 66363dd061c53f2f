//! Harness for the full paravisor loads: arbitrary configurations and
//! inputs (fixtures patched by the fuzzer, or raw bytes), a recording
//! `ParavisorImporter`, and the invariants every load must keep.

use arbitrary::Arbitrary;
use elf_static_loader::ImportPages;
use elf_static_loader::PAGE_SIZE;
use elf_static_loader::PageAcceptance;
use paravisor_loader::Abi;
use paravisor_loader::CommandLine;
use paravisor_loader::IsolationConfig;
use paravisor_loader::IsolationType;
use paravisor_loader::LoadInputs;
use paravisor_loader::PageTableRelocation;
use paravisor_loader::ParameterAreaIndex;
use paravisor_loader::ParameterType;
use paravisor_loader::ParavisorImporter;
use paravisor_loader::RelocationRegion;
use paravisor_loader::StartupMemoryType;
use paravisor_loader::Vtl0Config;
use paravisor_loader::Vtl0Linux;
use paravisor_loader::Vtl0Region;
use paravisor_loader::Vtl0Uefi;
use std::borrow::Cow;

use crate::Import;

/// A file: one of the project's fixtures with bytes patched, or raw bytes.
#[derive(Debug, Arbitrary)]
pub enum FileChoice {
    /// The fixture, with (offset modulo length, value) patches.
    Fixture(Vec<(u32, u8)>),
    /// Arbitrary bytes.
    Raw(Vec<u8>),
}

impl FileChoice {
    /// The bytes, starting from `fixture` (borrowed when unpatched: the
    /// arm64 `Image` fixture is 2 MiB).
    pub fn bytes(&self, fixture: &'static [u8]) -> Cow<'static, [u8]> {
        match self {
            FileChoice::Fixture(patches) if patches.is_empty() => Cow::Borrowed(fixture),
            FileChoice::Fixture(patches) => {
                let mut bytes = fixture.to_vec();
                if !bytes.is_empty() {
                    for &(offset, value) in patches.iter().take(16) {
                        let len = bytes.len();
                        bytes[offset as usize % len] = value;
                    }
                }
                Cow::Owned(bytes)
            }
            FileChoice::Raw(bytes) => Cow::Owned(bytes.clone()),
        }
    }
}

/// A VTL0 region.
#[derive(Debug, Arbitrary)]
pub struct Region {
    gpa: u64,
    size: u64,
}

/// The configuration of one load.
#[derive(Debug, Arbitrary)]
pub struct LoadConfig {
    isolation: u8,
    paravisor_present: bool,
    shared_gpa_boundary_bits: Option<u8>,
    /// None: default base; Some((raw, value)).
    memory_page_base: Option<(bool, u64)>,
    raw_memory_page_count: bool,
    memory_pages: u32,
    host_appendable: bool,
    command_line_len: u16,
    initrd_len: Option<u16>,
    sidecar: bool,
    pcat: bool,
    uefi: Option<(u64, u64, u16)>,
    linux: Option<(u16, Region, u64, Option<Region>)>,
    /// Make the importer fail at this call (counting every call).
    fail_at: Option<u8>,
    kernel: FileChoice,
    shim: FileChoice,
    sidecar_file: FileChoice,
    /// The ABI profile: `Abi::ALL[abi % 4]`.
    abi: u8,
}

/// Owned inputs; [`Owned::inputs`] borrows them as `LoadInputs`.
pub struct Owned {
    kernel: Cow<'static, [u8]>,
    shim: Cow<'static, [u8]>,
    sidecar: Option<Cow<'static, [u8]>>,
    initrd: Option<Vec<u8>>,
    command_line: String,
    host_appendable: bool,
    memory_page_base: Option<u64>,
    memory_page_count: u64,
    pcat: bool,
    vp_context: Vec<u8>,
    uefi: Option<(u64, u64)>,
    linux_command_line: Vec<u8>,
    linux: Option<(Vtl0Region, u64, Option<Vtl0Region>)>,
    /// The isolation configuration the importer reports.
    pub isolation: IsolationConfig,
    /// Fail the importer at this call.
    pub fail_at: Option<usize>,
    /// The ABI profile (docs/abi-versions.md).
    pub abi: Abi,
}

/// Fixture files a load starts from.
pub struct Fixtures {
    /// The kernel (ELF on x86-64, `Image` on AArch64).
    pub kernel: &'static [u8],
    /// The shim.
    pub shim: &'static [u8],
    /// The sidecar (x86-64).
    pub sidecar: &'static [u8],
}

impl LoadConfig {
    /// Materialises the inputs.
    pub fn owned(&self, fixtures: &'static Fixtures) -> Owned {
        let isolation_type = match self.isolation % 4 {
            0 => IsolationType::None,
            1 => IsolationType::Vbs,
            2 => IsolationType::Snp,
            _ => IsolationType::Tdx,
        };
        let memory_page_base = self.memory_page_base.map(|(raw, value)| {
            if raw {
                value
            } else {
                // 2 MiB aligned, below 64 GiB.
                value % 32768 * 512
            }
        });
        let memory_page_count = if self.raw_memory_page_count {
            u64::from(self.memory_pages)
        } else {
            // 2 MiB .. 4 GiB, in 2 MiB steps.
            (u64::from(self.memory_pages % 2048) + 1) * 512
        };
        let pattern = |n: usize, seed: u8| -> Vec<u8> {
            (0..n)
                .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
                .collect()
        };
        Owned {
            kernel: self.kernel.bytes(fixtures.kernel),
            shim: self.shim.bytes(fixtures.shim),
            sidecar: self
                .sidecar
                .then(|| self.sidecar_file.bytes(fixtures.sidecar)),
            initrd: self.initrd_len.map(|len| pattern(usize::from(len), 7)),
            command_line: "c".repeat(usize::from(self.command_line_len % 5000)),
            host_appendable: self.host_appendable,
            memory_page_base,
            memory_page_count,
            pcat: self.pcat,
            vp_context: self
                .uefi
                .map(|(_, _, len)| pattern(usize::from(len % 5000), 3))
                .unwrap_or_default(),
            uefi: self.uefi.map(|(base, size, _)| (base, size)),
            linux_command_line: self
                .linux
                .as_ref()
                .map(|(len, ..)| b"x".repeat(usize::from(*len % 5000)))
                .unwrap_or_default(),
            linux: self.linux.as_ref().map(|(_, kernel, entry, initrd)| {
                (
                    Vtl0Region {
                        gpa: kernel.gpa,
                        size: kernel.size,
                    },
                    *entry,
                    initrd.as_ref().map(|r| Vtl0Region {
                        gpa: r.gpa,
                        size: r.size,
                    }),
                )
            }),
            isolation: IsolationConfig {
                isolation_type,
                paravisor_present: self.paravisor_present,
                shared_gpa_boundary_bits: self.shared_gpa_boundary_bits,
            },
            fail_at: self.fail_at.map(usize::from),
            abi: Abi::ALL[usize::from(self.abi) % Abi::ALL.len()],
        }
    }
}

impl Owned {
    /// Whether the load has an initrd file (maybe empty).
    pub fn has_initrd(&self) -> bool {
        self.initrd.is_some()
    }

    /// The inputs as the loaders take them.
    pub fn inputs(&self) -> LoadInputs<'_> {
        LoadInputs {
            abi: self.abi,
            kernel: &self.kernel,
            shim: &self.shim,
            sidecar: self.sidecar.as_deref(),
            initrd: self.initrd.as_deref(),
            command_line: if self.host_appendable {
                CommandLine::HostAppendable(&self.command_line)
            } else {
                CommandLine::Static(&self.command_line)
            },
            memory_page_base: self.memory_page_base,
            memory_page_count: self.memory_page_count,
            vtl0: Vtl0Config {
                pcat: self.pcat,
                uefi: self.uefi.map(|(firmware_base, total_size)| Vtl0Uefi {
                    firmware_base,
                    total_size,
                    vp_context: &self.vp_context,
                }),
                linux: self
                    .linux
                    .map(|(kernel, kernel_entrypoint, initrd)| Vtl0Linux {
                        command_line: &self.linux_command_line,
                        kernel,
                        kernel_entrypoint,
                        initrd,
                    }),
            },
        }
    }
}

/// The recording importer's error: the planned failure.
#[derive(Debug)]
pub struct PlannedFailure;

impl core::fmt::Display for PlannedFailure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("planned importer failure")
    }
}

/// Records every call a paravisor loader makes.
#[derive(Debug)]
pub struct LoadRecorder<R> {
    isolation: IsolationConfig,
    fail_at: Option<usize>,
    /// Calls made (all kinds, `isolation_config` excluded).
    pub calls: usize,
    /// Page imports; `data` is kept for imports of at most one page.
    pub imports: Vec<(Import, Option<Vec<u8>>)>,
    /// Registers, in order.
    pub registers: Vec<R>,
    /// Parameter areas (page base, page count, tag).
    pub areas: Vec<(u64, u32, &'static str)>,
    /// Other records (relocation, page-table relocation, VP context page,
    /// imported-regions page).
    pub records: usize,
    /// The startup-memory checks.
    pub startup_checks: Vec<(u64, u64, StartupMemoryType)>,
    /// The relocation region, if recorded.
    pub relocation: Option<RelocationRegion>,
    /// The page-table relocation, if recorded.
    pub page_table_relocation: Option<PageTableRelocation>,
}

impl<R> LoadRecorder<R> {
    /// A recorder for `isolation`, failing at call `fail_at`.
    pub fn new(isolation: IsolationConfig, fail_at: Option<usize>) -> Self {
        Self {
            isolation,
            fail_at,
            calls: 0,
            imports: Vec::new(),
            registers: Vec::new(),
            areas: Vec::new(),
            records: 0,
            startup_checks: Vec::new(),
            relocation: None,
            page_table_relocation: None,
        }
    }

    fn call(&mut self) -> Result<(), PlannedFailure> {
        let n = self.calls;
        self.calls += 1;
        if self.fail_at == Some(n) {
            Err(PlannedFailure)
        } else {
            Ok(())
        }
    }

    /// True when nothing was imported or recorded (startup checks aside).
    pub fn nothing_imported(&self) -> bool {
        self.imports.is_empty()
            && self.registers.is_empty()
            && self.areas.is_empty()
            && self.records == 0
    }

    /// The imports without data.
    pub fn plain_imports(&self) -> Vec<Import> {
        self.imports.iter().map(|(i, _)| i.clone()).collect()
    }

    /// The first import with `tag`.
    pub fn import(&self, tag: &str) -> Option<&(Import, Option<Vec<u8>>)> {
        self.imports.iter().find(|(i, _)| i.tag == tag)
    }
}

impl<R> ImportPages for LoadRecorder<R> {
    type Error = PlannedFailure;

    fn import_pages(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &'static str,
        acceptance: PageAcceptance,
        data: &[u8],
    ) -> Result<(), PlannedFailure> {
        self.call()?;
        let mut check = crate::Recorder::default();
        let Ok(()) = check.import_pages(page_base, page_count, tag, acceptance, data);
        let keep = (data.len() <= PAGE_SIZE as usize).then(|| data.to_vec());
        self.imports
            .extend(check.imports.into_iter().map(|i| (i, keep.clone())));
        Ok(())
    }
}

impl<R> ParavisorImporter<R> for LoadRecorder<R> {
    fn isolation_config(&self) -> IsolationConfig {
        self.isolation
    }

    fn verify_startup_memory_available(
        &mut self,
        page_base: u64,
        page_count: u64,
        memory_type: StartupMemoryType,
    ) -> Result<(), PlannedFailure> {
        self.call()?;
        self.startup_checks
            .push((page_base, page_count, memory_type));
        Ok(())
    }

    fn create_parameter_area(
        &mut self,
        page_base: u64,
        page_count: u32,
        tag: &'static str,
    ) -> Result<ParameterAreaIndex, PlannedFailure> {
        self.call()?;
        self.areas.push((page_base, page_count, tag));
        Ok(ParameterAreaIndex(self.areas.len() as u32 - 1))
    }

    fn import_parameter(
        &mut self,
        area: ParameterAreaIndex,
        _byte_offset: u32,
        _parameter: ParameterType,
    ) -> Result<(), PlannedFailure> {
        self.call()?;
        assert!(
            (area.0 as usize) < self.areas.len(),
            "parameter for unknown area {area:?}"
        );
        Ok(())
    }

    fn import_vp_register(&mut self, register: R) -> Result<(), PlannedFailure> {
        self.call()?;
        self.registers.push(register);
        Ok(())
    }

    fn set_vp_context_page(&mut self, _page_base: u64) -> Result<(), PlannedFailure> {
        self.call()?;
        self.records += 1;
        Ok(())
    }

    fn relocation_region(&mut self, region: RelocationRegion) -> Result<(), PlannedFailure> {
        self.call()?;
        self.records += 1;
        self.relocation = Some(region);
        Ok(())
    }

    fn page_table_relocation(
        &mut self,
        relocation: PageTableRelocation,
    ) -> Result<(), PlannedFailure> {
        self.call()?;
        self.records += 1;
        self.page_table_relocation = Some(relocation);
        Ok(())
    }

    fn set_imported_regions_config_page(&mut self, _page_base: u64) {
        self.records += 1;
    }
}

/// Asserts that every non-empty import lies in one of `allowed` (byte
/// ranges).
pub fn assert_imports_allowed(imports: &[Import], allowed: &[(u64, u64)]) {
    for i in imports.iter().filter(|i| i.page_count > 0) {
        let start = i.page_base * PAGE_SIZE;
        let end = i.end_page() * PAGE_SIZE;
        assert!(
            allowed
                .iter()
                .any(|&(low, high)| low <= start && end <= high),
            "import {i:?} ([{start:#x}, {end:#x})) outside the allowed ranges {allowed:x?}"
        );
    }
}

/// Asserts that `addresses` are strictly ascending (each a named address).
pub fn assert_ascending(addresses: &[(&str, u64)]) {
    for pair in addresses.windows(2) {
        assert!(
            pair[0].1 < pair[1].1,
            "layout order: {} {:#x} is not below {} {:#x}",
            pair[0].0,
            pair[0].1,
            pair[1].0,
            pair[1].1
        );
    }
}

/// The shim parameters as the boot shim of `abi` reads them from the
/// imported bytes (`ShimParamsLayout::read`), checked against the loader's
/// values (`expected`, without the page-table fields from release-1.7.2511
/// on) and the structure size of the profile (docs/abi-versions.md §3.1).
pub fn read_shim_params(
    abi: Abi,
    data: &[u8],
    expected: paravisor_layout::ShimParamsRaw,
) -> paravisor_layout::ShimParamsRaw {
    let layout = abi.facts().shim_params;
    assert_eq!(data.len(), layout.size(), "{abi}: shim-parameter size");
    let params = layout
        .read(data)
        .unwrap_or_else(|e| panic!("shim params unreadable: {e}"));
    let mut want = expected;
    if layout == paravisor_layout::ShimParamsLayout::WithoutPageTables {
        want.page_tables_start = 0;
        want.page_tables_size = 0;
    }
    assert_eq!(params, want, "{abi}: shim parameters");
    assert_eq!(
        params.parameter_region_size,
        abi.facts().config_region_size(),
        "{abi}: parameter region size"
    );
    params
}

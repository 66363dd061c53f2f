//! Cross-crate property tests of whole paravisor loads, read back from guest
//! memory: for random valid configurations (isolation, VTL2 placement and
//! size, command line, initrd, sidecar, VTL0 configuration) the x86-64 and
//! AArch64 loads into `GuestMemoryImporter` give
//! - regions that are disjoint, in the order of docs/algorithms.md §7.2 (x86-64)
//!   and of the arm64 layout at the end of §8, inside VTL2 memory;
//! - imports that never share a page and lie in VTL2 memory or the VTL0
//!   configuration pages;
//! - shim parameters (read from guest RAM with `paravisor-layout`) that
//!   point at the regions they name: the command-line page reads back the
//!   command line, the initrd offset the initrd bytes and their CRC-32, the
//!   page-table offset the tables CR3 / TTBR0_EL1 name;
//! - page tables (walked from guest RAM with the `x86-pagetables` and
//!   `arm64-pagetables` walkers) that map exactly VTL2 memory, identity, plus
//!   the local map on SNP/TDX and the reset-vector page on TDX (3 GiB from
//!   the VTL2 start on TDX, docs/algorithms.md §7.1 step 23);
//! - size queries (`required_tables`, `required_identity_table_bytes`,
//!   `paravisor_page_table_region_pages`) equal to the space the tables use
//!   and the region the layout reserves;
//! - the SNP CPUID page and the measured configs readable with their
//!   readers.

use arm64_pagetables::Arm64TableWalker;
use elf_static_loader::ImportPages;
use elf_static_loader::PageAcceptance;
use paravisor_layout::ParavisorCommandLine;
use paravisor_layout::ParavisorMeasuredVtl0Config;
use paravisor_layout::ParavisorMeasuredVtl2Config;
use paravisor_layout::ShimParamsRaw;
use paravisor_loader::CommandLine;
use paravisor_loader::GuestMemoryImporter;
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
use paravisor_loader::guest_memory::GuestMemoryError;
use paravisor_loader::guest_memory::RecordedRegister;
use paravisor_tests::fixture;
use proptest::prelude::*;
use snp_cpuid::CpuidPageReader;
use vp_regs::aarch64::Aarch64Register;
use vp_regs::x86_64::X86Register;
use x86_pagetables::PageTableWalker;

const PAGE: u64 = 4096;
const MIB2: u64 = 0x20_0000;
/// docs/abi.md §3: the parameter region is 106 pages; page 105 holds the
/// measured VTL2 config.
const PARAMETER_REGION_SIZE: u64 = 106 * PAGE;
const VTL2_CONFIG_PAGE_INDEX: u64 = 105;
/// docs/algorithms.md §8 step 18: 15 page-table pages on AArch64.
const ARM64_TABLE_PAGES: u64 = 15;

/// Forwards every call to the guest-memory importer and records the page
/// imports, so disjointness and placement can be checked.
struct Tap<'m> {
    inner: GuestMemoryImporter<'m>,
    imports: Vec<(u64, u64, &'static str)>,
}

impl ImportPages for Tap<'_> {
    type Error = GuestMemoryError;

    fn import_pages(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &'static str,
        acceptance: PageAcceptance,
        data: &[u8],
    ) -> Result<(), Self::Error> {
        self.imports.push((page_base, page_count, tag));
        self.inner
            .import_pages(page_base, page_count, tag, acceptance, data)
    }
}

macro_rules! tap_importer {
    ($R:ty) => {
        impl ParavisorImporter<$R> for Tap<'_> {
            fn isolation_config(&self) -> IsolationConfig {
                ParavisorImporter::<$R>::isolation_config(&self.inner)
            }
            fn verify_startup_memory_available(
                &mut self,
                page_base: u64,
                page_count: u64,
                memory_type: StartupMemoryType,
            ) -> Result<(), Self::Error> {
                ParavisorImporter::<$R>::verify_startup_memory_available(
                    &mut self.inner,
                    page_base,
                    page_count,
                    memory_type,
                )
            }
            fn create_parameter_area(
                &mut self,
                page_base: u64,
                page_count: u32,
                tag: &'static str,
            ) -> Result<ParameterAreaIndex, Self::Error> {
                ParavisorImporter::<$R>::create_parameter_area(
                    &mut self.inner,
                    page_base,
                    page_count,
                    tag,
                )
            }
            fn import_parameter(
                &mut self,
                area: ParameterAreaIndex,
                byte_offset: u32,
                parameter: ParameterType,
            ) -> Result<(), Self::Error> {
                ParavisorImporter::<$R>::import_parameter(
                    &mut self.inner,
                    area,
                    byte_offset,
                    parameter,
                )
            }
            fn import_vp_register(&mut self, register: $R) -> Result<(), Self::Error> {
                self.inner.import_vp_register(register)
            }
            fn set_vp_context_page(&mut self, page_base: u64) -> Result<(), Self::Error> {
                ParavisorImporter::<$R>::set_vp_context_page(&mut self.inner, page_base)
            }
            fn relocation_region(&mut self, region: RelocationRegion) -> Result<(), Self::Error> {
                ParavisorImporter::<$R>::relocation_region(&mut self.inner, region)
            }
            fn page_table_relocation(
                &mut self,
                relocation: PageTableRelocation,
            ) -> Result<(), Self::Error> {
                ParavisorImporter::<$R>::page_table_relocation(&mut self.inner, relocation)
            }
            fn set_imported_regions_config_page(&mut self, page_base: u64) {
                ParavisorImporter::<$R>::set_imported_regions_config_page(
                    &mut self.inner,
                    page_base,
                )
            }
        }
    };
}

tap_importer!(X86Register);
tap_importer!(Aarch64Register);

/// A random valid configuration.
#[derive(Debug, Clone)]
struct Case {
    isolation: IsolationType,
    vtom: Option<u8>,
    /// VTL2 memory page base (2 MiB aligned, at or above 16 MiB), or the
    /// default.
    base: Option<u64>,
    /// VTL2 memory in pages (32 MiB .. 256 MiB).
    count: u64,
    command_line: String,
    host_appendable: bool,
    initrd: Option<Vec<u8>>,
    sidecar: bool,
    pcat: bool,
    uefi: bool,
    linux: bool,
}

fn case(arm64: bool) -> impl Strategy<Value = Case> {
    let isolation = if arm64 {
        prop_oneof![Just(IsolationType::None), Just(IsolationType::Vbs)].boxed()
    } else {
        prop_oneof![
            Just(IsolationType::None),
            Just(IsolationType::Vbs),
            Just(IsolationType::Snp),
            Just(IsolationType::Tdx)
        ]
        .boxed()
    };
    (
        isolation,
        proptest::option::of(1u8..52),
        proptest::option::of((8u64..512).prop_map(|k| k * 512)),
        (16u64..=128).prop_map(|m| m * 512),
        "[ -~]{0,300}",
        any::<bool>(),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20_000)),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            move |(
                isolation,
                vtom,
                base,
                count,
                command_line,
                host_appendable,
                initrd,
                sidecar,
                pcat,
                uefi,
                linux,
            )| {
                let (pcat, uefi) = if arm64 {
                    // AArch64 needs UEFI or Linux and has no PCAT (§8 step 1).
                    (false, uefi || !linux)
                } else {
                    (pcat, uefi)
                };
                Case {
                    isolation,
                    vtom,
                    base,
                    count,
                    command_line,
                    host_appendable,
                    initrd,
                    sidecar: sidecar && !arm64,
                    pcat,
                    uefi,
                    linux,
                }
            },
        )
}

/// Files a case loads.
struct Files {
    kernel: Vec<u8>,
    shim: Vec<u8>,
    sidecar: Vec<u8>,
    vp_context: Vec<u8>,
}

fn inputs<'a>(case: &'a Case, files: &'a Files) -> LoadInputs<'a> {
    LoadInputs {
        abi: paravisor_loader::Abi::default(),
        kernel: &files.kernel,
        shim: &files.shim,
        sidecar: case.sidecar.then_some(&files.sidecar[..]),
        initrd: case.initrd.as_deref(),
        command_line: if case.host_appendable {
            CommandLine::HostAppendable(&case.command_line)
        } else {
            CommandLine::Static(&case.command_line)
        },
        memory_page_base: case.base,
        memory_page_count: case.count,
        vtl0: Vtl0Config {
            pcat: case.pcat,
            uefi: case.uefi.then_some(Vtl0Uefi {
                firmware_base: 0x10_0000,
                total_size: 0x40_0000,
                vp_context: &files.vp_context,
            }),
            linux: case.linux.then_some(Vtl0Linux {
                command_line: b"console=ttyS0",
                kernel: Vtl0Region {
                    gpa: 0x20_0000,
                    size: 0x12_3456,
                },
                kernel_entrypoint: 0x20_1000,
                initrd: Some(Vtl0Region {
                    gpa: 0x80_0000,
                    size: 0x1234,
                }),
            }),
        },
    }
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), bit by bit: the
/// shim parameters' `initrd_crc` (docs/abi.md §2).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn bytes_at(ram: &[u8], gpa: u64, len: u64) -> &[u8] {
    &ram[gpa as usize..(gpa + len) as usize]
}

/// Regions `(name, start, end)` must follow each other without overlap.
fn check_order(regions: &[(&str, u64, u64)]) -> Result<(), TestCaseError> {
    for pair in regions.windows(2) {
        let ((a, a_start, a_end), (b, b_start, _)) = (pair[0], pair[1]);
        prop_assert!(a_start <= a_end, "{a} is backwards");
        prop_assert!(
            a_end <= b_start,
            "{a} ends at {a_end:#x} after {b} starts at {b_start:#x}"
        );
    }
    Ok(())
}

/// No two imports share a page; each lies in one of `allowed`.
fn check_imports(
    imports: &[(u64, u64, &'static str)],
    allowed: &[(u64, u64)],
) -> Result<(), TestCaseError> {
    let mut sorted: Vec<_> = imports.iter().filter(|i| i.1 > 0).collect();
    sorted.sort();
    for pair in sorted.windows(2) {
        prop_assert!(
            pair[0].0 + pair[0].1 <= pair[1].0,
            "imports overlap: {:?} {:?}",
            pair[0],
            pair[1]
        );
    }
    for &&(base, count, tag) in &sorted {
        let (start, end) = (base * PAGE, (base + count) * PAGE);
        prop_assert!(
            allowed.iter().any(|&(lo, hi)| lo <= start && end <= hi),
            "{tag} [{start:#x}, {end:#x}) outside {allowed:x?}"
        );
    }
    Ok(())
}

/// The checks common to both architectures on the shim parameters.
fn check_common_params(
    ram: &[u8],
    params: &ShimParamsRaw,
    shim_base: u64,
    case: &Case,
    start: u64,
    size: u64,
) -> Result<u64, TestCaseError> {
    let at = |offset: i64| shim_base.wrapping_add(offset as u64);
    prop_assert_eq!(at(params.memory_start_offset), start);
    prop_assert_eq!(params.memory_size, size);
    prop_assert_eq!(at(params.used_start), start);
    prop_assert_eq!(at(params.persisted_state_region_offset), start);
    prop_assert_eq!(params.persisted_state_region_size, MIB2);
    // The command-line page reads back the command line.
    let page = ParavisorCommandLine::read_from(bytes_at(ram, at(params.cmdline_offset), PAGE))
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(page.command_line(), Ok(case.command_line.as_str()));
    prop_assert_eq!(page.policy.0, u16::from(case.host_appendable));
    // The initrd offset names the initrd bytes; the CRC is theirs.
    let initrd = case.initrd.as_deref().unwrap_or_default();
    prop_assert_eq!(params.initrd_size, initrd.len() as u64);
    prop_assert_eq!(params.initrd_crc, crc32(initrd));
    if !initrd.is_empty() {
        prop_assert!(bytes_at(ram, at(params.initrd_offset), initrd.len() as u64) == initrd);
    }
    // The measured VTL2 config at page 105 of the parameter region.
    let parameter_region = at(params.parameter_region_offset);
    prop_assert_eq!(params.parameter_region_size, PARAMETER_REGION_SIZE);
    let vtl2 = ParavisorMeasuredVtl2Config::read_from(bytes_at(
        ram,
        parameter_region + VTL2_CONFIG_PAGE_INDEX * PAGE,
        16,
    ))
    .map_err(|e| TestCaseError::fail(e.to_string()))?;
    Ok(u64::from(vtl2.vtom_offset_bit))
}

fn load_x64(case: &Case, files: &Files) -> Result<(), TestCaseError> {
    let iso = IsolationConfig {
        isolation_type: case.isolation,
        paravisor_present: true,
        shared_gpa_boundary_bits: case.vtom,
    };
    let inputs = inputs(case, files);
    let start = case.base.unwrap_or(0x8000) * PAGE;
    let size = case.count * PAGE;
    let end = start + size;
    let mut ram = vec![0u8; end as usize];
    let mut tap = Tap {
        inner: GuestMemoryImporter::new(0, &mut ram, iso),
        imports: Vec::new(),
    };
    let mut tables = vec![0u8; 64 * PAGE as usize];
    let layout = paravisor_loader::load_openhcl_x64(&mut tap, &inputs, &mut tables)
        .map_err(|e| TestCaseError::fail(format!("valid case failed: {e}")))?;
    let Tap { inner, imports } = tap;
    // `inner` borrows the RAM; copy out what is needed before reading it.
    let registers: Vec<X86Register> = inner
        .registers()
        .filter_map(|r| match r {
            RecordedRegister::X86(r) => Some(r),
            RecordedRegister::Aarch64(_) => None,
        })
        .collect();
    let relocation = inner.page_table_relocation();

    prop_assert_eq!((layout.memory.start, layout.memory.size), (start, size));
    check_imports(&imports, &[(start, end), (0, 3 * PAGE)])?;

    // docs/algorithms.md §7.2.
    let isolated = case.isolation.is_hardware_isolated();
    let table_bytes = layout.page_table_pages * PAGE;
    let mut regions = vec![("persisted", start, start + MIB2)];
    if isolated {
        prop_assert_eq!(layout.bounce_buffer, Some(start + MIB2));
        regions.push(("bounce", start + MIB2, start + 2 * MIB2));
    }
    regions.push(("kernel", layout.kernel.start, layout.kernel.end));
    if case.sidecar {
        prop_assert_eq!(layout.sidecar_base % MIB2, 0);
        regions.push((
            "sidecar",
            layout.sidecar_base,
            layout.sidecar_base + layout.sidecar_size,
        ));
    }
    regions.push(("shim", layout.shim_base, layout.shim_end));
    if let Some(paravisor_loader::InitrdInfo {
        gpa: base,
        size: len,
    }) = layout.initrd
    {
        regions.push(("initrd", base, base + len.div_ceil(PAGE) * PAGE));
    }
    regions.extend([
        ("gdt", layout.gdt, layout.gdt + PAGE),
        ("shim params", layout.shim_params, layout.shim_params + PAGE),
        (
            "command line",
            layout.command_line,
            layout.command_line + PAGE,
        ),
        (
            "reserved",
            layout.reserved_region,
            layout.reserved_region + 4 * PAGE,
        ),
        (
            "parameters",
            layout.shim_areas.parameter_region,
            layout.shim_areas.parameter_region + PARAMETER_REGION_SIZE,
        ),
        (
            "log",
            layout.shim_areas.log_buffer,
            layout.shim_areas.log_buffer + 2 * PAGE,
        ),
        (
            "heap",
            layout.shim_areas.heap,
            layout.shim_areas.heap + 16 * PAGE,
        ),
        (
            "page tables",
            layout.page_tables,
            layout.page_tables + table_bytes,
        ),
        ("end", layout.used_end, end),
    ]);
    check_order(&regions)?;

    // Shim parameters, from guest RAM.
    let params = ShimParamsRaw::read_from(bytes_at(&ram, layout.shim_params, PAGE))
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(params, layout.shim_params());
    let at = |offset: i64| layout.shim_base.wrapping_add(offset as u64);
    let vtom = check_common_params(&ram, &params, layout.shim_base, case, start, size)?;
    prop_assert_eq!(vtom, u64::from(case.vtom.unwrap_or(0)));
    prop_assert_eq!(at(params.kernel_entry_offset), layout.kernel_entry);
    prop_assert!((layout.kernel.start..layout.kernel.end).contains(&layout.kernel_entry));
    prop_assert_eq!(at(params.used_end), layout.used_end);
    prop_assert_eq!(
        at(params.vtl2_reserved_region_offset),
        layout.reserved_region
    );
    prop_assert_eq!(at(params.log_buffer_start), layout.shim_areas.log_buffer);
    prop_assert_eq!(at(params.heap_start_offset), layout.shim_areas.heap);
    prop_assert_eq!(params.page_tables_size, table_bytes);
    if case.sidecar {
        prop_assert_eq!(at(params.sidecar_offset), layout.sidecar_base);
        let entry = at(params.sidecar_entry_offset);
        prop_assert!(
            entry >= layout.sidecar_base && entry < layout.sidecar_base + params.sidecar_size
        );
    } else {
        prop_assert_eq!(params.sidecar_size, 0);
    }
    if isolated {
        prop_assert_eq!(at(params.bounce_buffer_start), start + MIB2);
        prop_assert_eq!(params.bounce_buffer_size, MIB2);
    } else {
        prop_assert_eq!(
            (params.bounce_buffer_start, params.bounce_buffer_size),
            (0, 0)
        );
    }

    // Registers: CR3 names the page tables the parameters name, RIP the
    // shim entry, RSI the parameters.
    let cr3 = registers.iter().find_map(|r| match r {
        X86Register::Cr3(v) => Some(*v),
        _ => None,
    });
    prop_assert_eq!(cr3, Some(at(params.page_tables_start)));
    let rip = registers.iter().find_map(|r| match r {
        X86Register::Rip(v) => Some(*v),
        _ => None,
    });
    prop_assert_eq!(rip, Some(layout.shim_entry));
    let rsi = registers.iter().find_map(|r| match r {
        X86Register::Rsi(v) => Some(*v),
        _ => None,
    });
    prop_assert_eq!(rsi.map(|o| layout.shim_base + o), Some(layout.shim_params));

    // Page tables, walked from guest RAM.
    let table_gpa = at(params.page_tables_start);
    let config = layout.page_table_config();
    let used =
        x86_pagetables::required_tables(&config).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(
        x86_pagetables::paravisor_page_table_region_pages(&config),
        Ok(layout.page_table_pages),
        "the region formula (docs/algorithms.md §7.1 step 24) is the reserved size"
    );
    prop_assert!((used as u64) <= layout.page_table_pages);
    let region = bytes_at(&ram, table_gpa, table_bytes);
    prop_assert!(
        region[used * PAGE as usize..].iter().all(|&b| b == 0),
        "bytes past required_tables() are not zero: the size query is not exact"
    );
    prop_assert!(
        region[(used - 1) * PAGE as usize..used * PAGE as usize]
            .iter()
            .any(|&b| b != 0)
    );
    if let Some(relocation) = relocation {
        prop_assert_eq!(relocation.used_pages, used as u64);
        prop_assert_eq!(relocation.size_pages, layout.page_table_pages);
    }
    let bit = (case.isolation == IsolationType::Snp).then_some(51);
    let walker = PageTableWalker::new(region, table_gpa, table_gpa, bit)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mapping = if case.isolation == IsolationType::Tdx {
        0xC000_0000
    } else {
        size
    };
    let mut expected = vec![(start, mapping)];
    if isolated {
        expected.push((MIB2, MIB2));
    }
    if case.isolation == IsolationType::Tdx {
        expected.push((0xFFFF_F000, PAGE));
    }
    expected.sort();
    let mut seen: Vec<(u64, u64)> = Vec::new();
    for r in walker.regions() {
        let r = r.map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(r.va, r.pa, "not an identity map");
        prop_assert!(r.writable && r.executable);
        prop_assert_eq!(r.confidential, bit.is_some());
        match seen.last_mut() {
            Some(last) if last.0 + last.1 == r.va => last.1 += r.size,
            _ => seen.push((r.va, r.size)),
        }
    }
    // Adjacent expected ranges merge too (the local map ends where 4 MiB
    // starts; VTL2 memory may start there).
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (s, z) in expected {
        match merged.last_mut() {
            Some(last) if last.0 + last.1 == s => last.1 += z,
            _ => merged.push((s, z)),
        }
    }
    prop_assert_eq!(seen, merged, "the tables do not map exactly VTL2 memory");

    // SNP: the CPUID page in the reserved region is readable and is the
    // paravisor's default page (docs/abi.md §6).
    if case.isolation == IsolationType::Snp {
        let page = bytes_at(&ram, layout.reserved_region + PAGE, PAGE);
        let reader = CpuidPageReader::new(page).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(reader.page() == &snp_cpuid::create_snp_cpuid_page());
    }

    // The measured VTL0 config on page 0 (x86-64): bit 0 UEFI, 1 PCAT, 2
    // Linux (docs/abi.md §3.4).
    let vtl0 = ParavisorMeasuredVtl0Config::read_from(bytes_at(&ram, 0, PAGE))
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(vtl0.uefi().is_some(), case.uefi);
    prop_assert_eq!(vtl0.linux().is_some(), case.linux);
    Ok(())
}

fn load_arm64(case: &Case, files: &Files) -> Result<(), TestCaseError> {
    let iso = IsolationConfig {
        isolation_type: case.isolation,
        paravisor_present: true,
        shared_gpa_boundary_bits: case.vtom,
    };
    let inputs = inputs(case, files);
    let start = case.base.unwrap_or(0x8000) * PAGE;
    let size = case.count * PAGE;
    let end = start + size;
    let mut ram = vec![0u8; end as usize];
    let mut tap = Tap {
        inner: GuestMemoryImporter::new(0, &mut ram, iso),
        imports: Vec::new(),
    };
    let mut tables = vec![0u8; (ARM64_TABLE_PAGES * PAGE) as usize];
    let layout = paravisor_loader::load_openhcl_arm64(&mut tap, &inputs, &mut tables)
        .map_err(|e| TestCaseError::fail(format!("valid case failed: {e}")))?;
    let Tap { inner, imports } = tap;
    // `inner` borrows the RAM; copy out what is needed before reading it.
    let registers: Vec<Aarch64Register> = inner
        .registers()
        .filter_map(|r| match r {
            RecordedRegister::Aarch64(r) => Some(r),
            RecordedRegister::X86(_) => None,
        })
        .collect();

    check_imports(&imports, &[(start, end), (0x1000 * PAGE, 0x1002 * PAGE)])?;

    // The arm64 layout at the end of docs/algorithms.md §8.
    let paravisor_loader::KernelInfo {
        gpa: kernel_base,
        size: kernel_size,
        entrypoint: kernel_entry,
    } = layout.kernel;
    prop_assert_eq!(kernel_base, start + MIB2);
    let paravisor_loader::InitrdInfo {
        gpa: initrd,
        size: initrd_len,
    } = layout.initrd;
    prop_assert_eq!(initrd % MIB2, 0);
    let table_bytes = ARM64_TABLE_PAGES * PAGE;
    check_order(&[
        ("persisted", start, start + MIB2),
        ("kernel", kernel_base, kernel_entry + kernel_size),
        ("initrd", initrd, initrd + initrd_len),
        ("shim", layout.shim_base, layout.shim_end),
        (
            "command line",
            layout.command_line,
            layout.command_line + PAGE,
        ),
        ("shim params", layout.shim_params, layout.shim_params + PAGE),
        (
            "parameters",
            layout.shim_areas.parameter_region,
            layout.shim_areas.parameter_region + PARAMETER_REGION_SIZE,
        ),
        (
            "log",
            layout.shim_areas.log_buffer,
            layout.shim_areas.log_buffer + 2 * PAGE,
        ),
        (
            "heap",
            layout.shim_areas.heap,
            layout.shim_areas.heap + 16 * PAGE,
        ),
        (
            "page tables",
            layout.page_tables,
            layout.page_tables + table_bytes,
        ),
        ("end", layout.used_end, end),
    ])?;
    prop_assert_eq!(layout.shim_base % PAGE, 0);

    let params = ShimParamsRaw::read_from(bytes_at(&ram, layout.shim_params, PAGE))
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(params, layout.shim_params());
    let at = |offset: i64| layout.shim_base.wrapping_add(offset as u64);
    let vtom = check_common_params(&ram, &params, layout.shim_base, case, start, size)?;
    prop_assert_eq!(
        vtom,
        0,
        "AArch64 always stores vtom_offset_bit 0 (§8 step 28)"
    );
    prop_assert_eq!(at(params.kernel_entry_offset), kernel_entry);
    prop_assert_eq!(at(params.initrd_offset), initrd);
    prop_assert_eq!(at(params.used_end), layout.used_end);
    prop_assert_eq!(at(params.log_buffer_start), layout.shim_areas.log_buffer);
    prop_assert_eq!(at(params.heap_start_offset), layout.shim_areas.heap);
    prop_assert_eq!((params.page_tables_start, params.page_tables_size), (0, 0));
    prop_assert_eq!(
        (params.sidecar_size, params.vtl2_reserved_region_size),
        (0, 0)
    );

    let reg = |f: fn(&Aarch64Register) -> Option<u64>| registers.iter().find_map(f);
    let ttbr0 = reg(|r| match r {
        Aarch64Register::Ttbr0El1(v) => Some(*v),
        _ => None,
    });
    prop_assert_eq!(ttbr0, Some(layout.page_tables));
    prop_assert_eq!(
        reg(|r| match r {
            Aarch64Register::Pc(v) => Some(*v),
            _ => None,
        }),
        Some(layout.shim_entry)
    );
    prop_assert_eq!(
        reg(|r| match r {
            Aarch64Register::X0(v) => Some(*v),
            _ => None,
        })
        .map(|o| layout.shim_base + o),
        Some(layout.shim_params)
    );

    // Page tables from guest RAM: exactly VTL2 memory, identity; the size
    // query equals the bytes used, which stay below the 15-page area.
    let needed = arm64_pagetables::required_identity_table_bytes(start, size)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(
        (needed as u64) < table_bytes,
        "§8 step 23: strictly below the area"
    );
    let area = bytes_at(&ram, layout.page_tables, table_bytes);
    prop_assert!(
        area[needed..].iter().all(|&b| b == 0),
        "size query not exact"
    );
    let walker = Arm64TableWalker::new(area, layout.page_tables, layout.page_tables)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut seen: Vec<(u64, u64)> = Vec::new();
    for m in walker.mappings() {
        let m = m.map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(m.va, m.pa, "not an identity map");
        match seen.last_mut() {
            Some(last) if last.0 + last.1 == m.va => last.1 += m.size.bytes(),
            _ => seen.push((m.va, m.size.bytes())),
        }
    }
    prop_assert_eq!(
        seen,
        vec![(start, size)],
        "the tables do not map exactly VTL2 memory"
    );

    // The measured VTL0 config at page 0x1000: UEFI only (Linux is ignored
    // on AArch64, §8 step 22).
    let vtl0 = ParavisorMeasuredVtl0Config::read_from(bytes_at(&ram, 0x1000 * PAGE, PAGE))
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(vtl0.uefi().is_some(), case.uefi);
    prop_assert!(vtl0.linux().is_none());
    Ok(())
}

fn x64_files() -> Files {
    Files {
        kernel: fixture("kernel-x64.elf"),
        shim: fixture("shim-x64.elf"),
        sidecar: fixture("sidecar-x64.elf"),
        vp_context: fixture("uefi-vp-context.bin"),
    }
}

fn arm64_files() -> Files {
    Files {
        kernel: fixture("Image-arm64"),
        shim: fixture("shim-arm64.elf"),
        sidecar: Vec::new(),
        vp_context: fixture("uefi-vp-context.bin"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn x64_layout_is_ordered_disjoint_and_read_back_from_guest_memory(case in case(false)) {
        load_x64(&case, &x64_files())?;
    }

    #[test]
    fn arm64_layout_is_ordered_disjoint_and_read_back_from_guest_memory(case in case(true)) {
        load_arm64(&case, &arm64_files())?;
    }
}

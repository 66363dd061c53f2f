//! Property tests of the ABI profiles (docs/abi-versions.md): for random
//! valid configurations and every profile, the x86-64 and AArch64 loads give
//! - imports that never share a page, regions in the profile's order, the
//!   parameter region sized for the profile, everything inside VTL2 memory;
//! - shim parameters that the shim-side reader of that profile
//!   (`ShimParamsLayout::read`) reads back as the loader's values (without
//!   the page-table fields from release-1.7.2511 on) and that point at the
//!   regions they name;
//! - page tables, walked from CR3 / TTBR0_EL1 with the walkers, that map
//!   exactly VTL2 memory (3 GiB on TDX at the seed only), the local map and
//!   the reset-vector page, with the profile's leaves (2 MiB at the seed,
//!   the largest that fits later);
//! - AArch64 without an initrd: the boot shim right after the kernel from
//!   release-1.8.2607 on, after the 2 MiB-aligned empty initrd before;
//! - the expected-page-hashes page announced at main-1488a37b only.

use arm64_pagetables::Arm64TableWalker;
use paravisor_host::recording::Call;
use paravisor_host::recording::RecordingImporter;
use paravisor_layout::Abi;
use paravisor_layout::ParavisorCommandLine;
use paravisor_layout::ParavisorMeasuredVtl2Config;
use paravisor_layout::ShimParamsLayout;
use paravisor_layout::ShimParamsRaw;
use paravisor_loader::CommandLine;
use paravisor_loader::IsolationConfig;
use paravisor_loader::IsolationType;
use paravisor_loader::LoadInputs;
use paravisor_loader::Vtl0Config;
use paravisor_loader::Vtl0Uefi;
use paravisor_tests::fixture;
use proptest::prelude::*;
use vp_regs::aarch64::Aarch64Register;
use vp_regs::x86_64::X86Register;
use x86_pagetables::PageSize;
use x86_pagetables::PageTableWalker;

const PAGE: u64 = 4096;
const MIB2: u64 = 0x20_0000;
const GIB: u64 = 1 << 30;
/// docs/abi-versions.md §3.3: the measured VTL2 config is page 105, the
/// accepted-memory page 104, main's page hashes start at 106.
const VTL2_CONFIG_PAGE_INDEX: u64 = 105;
const IMPORTED_REGIONS_PAGE_INDEX: u64 = 104;
const PAGE_HASHES_PAGE_INDEX: u64 = 106;
/// docs/abi-versions.md §3.3: 106 pages, 362 at main.
fn config_region_pages(abi: Abi) -> u64 {
    if abi == Abi::Main1488a37b { 362 } else { 106 }
}
/// The TDX reset-vector page.
const RESET_VECTOR: u64 = 0xFFFF_F000;

#[derive(Debug, Clone)]
struct Case {
    abi: Abi,
    isolation: IsolationType,
    base: Option<u64>,
    count: u64,
    command_line: String,
    initrd: Option<Vec<u8>>,
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
    // VTL2 memory: 32 MiB .. 256 MiB, or whole GiBs (1 GiB leaves).
    let count = prop_oneof![
        (16u64..=128).prop_map(|m| m * 512),
        (1u64..=5).prop_map(|g| g * (GIB / PAGE)),
    ];
    (
        proptest::sample::select(Abi::ALL.to_vec()),
        isolation,
        proptest::option::of((8u64..2048).prop_map(|k| k * 512)),
        count,
        "[ -~]{0,100}",
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..9000)),
    )
        .prop_map(|(abi, isolation, base, count, command_line, initrd)| Case {
            abi,
            isolation,
            base,
            count,
            command_line,
            initrd,
        })
}

struct Files {
    kernel: Vec<u8>,
    shim: Vec<u8>,
    vp_context: Vec<u8>,
}

fn inputs<'a>(case: &'a Case, files: &'a Files) -> LoadInputs<'a> {
    LoadInputs {
        abi: case.abi,
        kernel: &files.kernel,
        shim: &files.shim,
        sidecar: None,
        initrd: case.initrd.as_deref(),
        command_line: CommandLine::Static(&case.command_line),
        memory_page_base: case.base,
        memory_page_count: case.count,
        vtl0: Vtl0Config {
            pcat: false,
            uefi: Some(Vtl0Uefi {
                firmware_base: 0x10_0000,
                total_size: 0x40_0000,
                vp_context: &files.vp_context,
            }),
            linux: None,
        },
    }
}

/// The guest memory the imports wrote: `len` bytes at `gpa` (zeros where
/// nothing was imported or past an import's data).
fn read<R>(calls: &[Call<R>], gpa: u64, len: u64) -> Vec<u8> {
    let mut out = vec![0u8; len as usize];
    for call in calls {
        let Call::ImportPages(i) = call else { continue };
        let (start, end) = (i.gpa(), i.gpa() + i.data.len() as u64);
        let (lo, hi) = (start.max(gpa), end.min(gpa + len));
        if lo < hi {
            out[(lo - gpa) as usize..(hi - gpa) as usize]
                .copy_from_slice(&i.data[(lo - start) as usize..(hi - start) as usize]);
        }
    }
    out
}

/// No two page imports share a page; every one lies in `allowed`.
fn check_imports<R>(calls: &[Call<R>], allowed: &[(u64, u64)]) -> Result<(), TestCaseError> {
    let mut pages: Vec<(u64, u64, &str)> = calls
        .iter()
        .filter_map(|c| match c {
            Call::ImportPages(i) if i.page_count > 0 => {
                Some((i.page_base, i.page_base + i.page_count, i.tag))
            }
            _ => None,
        })
        .collect();
    pages.sort();
    for w in pages.windows(2) {
        prop_assert!(w[0].1 <= w[1].0, "{} and {} overlap", w[0].2, w[1].2);
    }
    for (s, e, tag) in pages {
        prop_assert!(
            allowed.iter().any(|&(a, b)| s * PAGE >= a && e * PAGE <= b),
            "{tag} outside VTL2 memory and the VTL0 pages"
        );
    }
    Ok(())
}

/// The shim parameters as the shim of `abi` reads them, checked against
/// the loader's values, the command line and the parameter region.
fn read_params<R>(
    calls: &[Call<R>],
    abi: Abi,
    page: u64,
    expected: ShimParamsRaw,
) -> Result<ShimParamsRaw, TestCaseError> {
    let import = calls
        .iter()
        .find_map(|c| match c {
            Call::ImportPages(i) if i.tag == "underhill-shim-params" => Some(i),
            _ => None,
        })
        .ok_or_else(|| TestCaseError::fail("no shim parameters"))?;
    prop_assert_eq!(import.gpa(), page);
    let layout = abi.facts().shim_params;
    let size = if layout == ShimParamsLayout::WithPageTables {
        208
    } else {
        192
    };
    prop_assert_eq!(import.data.len(), size, "§3.1 structure size");
    let params = layout
        .read(&read(calls, page, PAGE))
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut want = expected;
    if layout == ShimParamsLayout::WithoutPageTables {
        want.page_tables_start = 0;
        want.page_tables_size = 0;
    }
    prop_assert_eq!(params, want);
    prop_assert_eq!(
        params.parameter_region_size,
        config_region_pages(abi) * PAGE
    );
    Ok(params)
}

/// The config-region calls: the imported-regions page, then (main only)
/// the expected-page-hashes page.
fn check_config_calls<R>(calls: &[Call<R>], abi: Abi, region: u64) -> Result<(), TestCaseError> {
    let config_page = region / PAGE;
    let tail: Vec<String> = calls
        .iter()
        .filter_map(|c| match c {
            Call::ImportedRegionsPage(p) => Some(format!("regions {p:#x}")),
            Call::ExpectedPageHashesPage(p) => Some(format!("hashes {p:#x}")),
            _ => None,
        })
        .collect();
    let mut want = vec![format!(
        "regions {:#x}",
        config_page + IMPORTED_REGIONS_PAGE_INDEX
    )];
    if abi == Abi::Main1488a37b {
        want.push(format!(
            "hashes {:#x}",
            config_page + PAGE_HASHES_PAGE_INDEX
        ));
    }
    prop_assert_eq!(tail, want);
    let vtl2 = ParavisorMeasuredVtl2Config::read_from(&read(
        calls,
        region + VTL2_CONFIG_PAGE_INDEX * PAGE,
        PAGE,
    ))
    .map_err(|e| TestCaseError::fail(e.to_string()));
    prop_assert!(vtl2.is_ok(), "{:?}", vtl2);
    Ok(())
}

impl Case {
    fn isolation(&self) -> IsolationConfig {
        IsolationConfig {
            isolation_type: self.isolation,
            paravisor_present: true,
            shared_gpa_boundary_bits: None,
        }
    }

    /// VTL2 memory start (the default base without a page base).
    fn start(&self) -> u64 {
        self.base.unwrap_or(0x8000) * PAGE
    }
}

/// The layout of a successful load; `None` when VTL2 memory is too small
/// for this profile's layout (an input error, not a failure); a failure for
/// any other error.
fn valid<T, E: std::fmt::Display + std::fmt::Debug>(
    result: Result<T, paravisor_loader::Error<E>>,
) -> Result<Option<T>, TestCaseError> {
    match result {
        Ok(layout) => Ok(Some(layout)),
        Err(paravisor_loader::Error::Layout(paravisor_loader::LayoutError::NotEnoughMemory {
            ..
        })) => Ok(None),
        Err(e) => Err(TestCaseError::fail(format!("valid case failed: {e}"))),
    }
}

fn ordered(regions: &[(&str, u64, u64)]) -> Result<(), TestCaseError> {
    for w in regions.windows(2) {
        prop_assert!(w[0].1 <= w[0].2, "{} is inverted", w[0].0);
        prop_assert!(w[0].2 <= w[1].1, "{} ends after {} starts", w[0].0, w[1].0);
    }
    Ok(())
}

fn load_x64(case: &Case, files: &Files) -> Result<(), TestCaseError> {
    let (iso, start, size) = (case.isolation(), case.start(), case.count * PAGE);
    let end = start + size;
    let tdx = case.isolation == IsolationType::Tdx;
    let seed = case.abi == Abi::Seed95f63b08;
    let mapping = if tdx && seed { 0xC000_0000 } else { size };
    // A map that covers the reset-vector page is an error (G2), not a
    // valid input.
    prop_assume!(!(tdx && start <= RESET_VECTOR && RESET_VECTOR < start + mapping));
    let mut importer = RecordingImporter::<X86Register>::new(iso);
    let layout = paravisor_loader::load_openhcl_x64_alloc(&mut importer, &inputs(case, files));
    let Some(layout) = valid(layout)? else {
        return Ok(());
    };
    let calls = importer.into_calls();
    check_imports(&calls, &[(start, end), (0, 3 * PAGE)])?;

    let areas = layout.shim_areas;
    let region_end = areas.parameter_region + config_region_pages(case.abi) * PAGE;
    let tables_end = layout.page_tables + layout.page_table_pages * PAGE;
    ordered(&[
        ("kernel", layout.kernel.start, layout.kernel.end),
        ("shim", layout.shim_base, layout.shim_end),
        ("gdt", layout.gdt, layout.gdt + PAGE),
        ("params", layout.shim_params, layout.shim_params + PAGE),
        ("cmdline", layout.command_line, layout.command_line + PAGE),
        (
            "reserved",
            layout.reserved_region,
            layout.reserved_region + 4 * PAGE,
        ),
        ("parameters", areas.parameter_region, region_end),
        ("log", areas.log_buffer, areas.log_buffer + 2 * PAGE),
        ("heap", areas.heap, areas.heap + 16 * PAGE),
        ("page tables", layout.page_tables, tables_end),
        ("end", layout.used_end, end),
    ])?;
    prop_assert_eq!(areas.log_buffer, region_end);
    prop_assert_eq!(layout.used_end, tables_end);

    let params = read_params(&calls, case.abi, layout.shim_params, layout.shim_params())?;
    let at = |offset: i64| layout.shim_base.wrapping_add(offset as u64);
    prop_assert_eq!(at(params.used_end), layout.used_end);
    prop_assert_eq!(at(params.parameter_region_offset), areas.parameter_region);
    prop_assert_eq!(at(params.log_buffer_start), areas.log_buffer);
    let cmdline = ParavisorCommandLine::read_from(&read(&calls, at(params.cmdline_offset), PAGE))
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(cmdline.command_line(), Ok(case.command_line.as_str()));
    check_config_calls(&calls, case.abi, areas.parameter_region)?;

    // The tables, found as a shim of this profile finds them: from CR3 to
    // the end of the used memory.
    let cr3 = calls.iter().find_map(|c| match c {
        Call::Register(X86Register::Cr3(v)) => Some(*v),
        _ => None,
    });
    prop_assert_eq!(cr3, Some(layout.page_tables));
    let tables = read(
        &calls,
        layout.page_tables,
        at(params.used_end) - layout.page_tables,
    );
    let bit = (case.isolation == IsolationType::Snp).then_some(51);
    let walker = PageTableWalker::new(&tables, layout.page_tables, layout.page_tables, bit)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut expected = vec![(start, start + mapping)];
    if case.isolation.is_hardware_isolated() {
        expected.push((MIB2, 2 * MIB2));
    }
    if tdx {
        expected.push((RESET_VECTOR, RESET_VECTOR + PAGE));
    }
    expected.sort();
    let mut seen: Vec<(u64, u64)> = Vec::new();
    for t in walker.mappings() {
        let t = t.map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(t.va, t.pa, "not an identity map");
        prop_assert_eq!(t.confidential, bit.is_some());
        let range = expected
            .iter()
            .find(|r| r.0 <= t.va && t.va < r.1)
            .ok_or_else(|| TestCaseError::fail(format!("{:#x} mapped", t.va)))?;
        let fits = |s: u64| t.va % s == 0 && t.va + s <= range.1;
        let leaf = if !seed && fits(GIB) {
            PageSize::Size1GiB
        } else if fits(MIB2) {
            PageSize::Size2MiB
        } else {
            PageSize::Size4KiB
        };
        prop_assert_eq!(t.page_size, leaf, "leaf at {:#x} ({})", t.va, case.abi);
        let bytes = t.page_size.bytes();
        match seen.last_mut() {
            Some(last) if last.1 == t.va => last.1 += bytes,
            _ => seen.push((t.va, t.va + bytes)),
        }
    }
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (s, e) in expected {
        match merged.last_mut() {
            Some(last) if last.1 == s => last.1 = e,
            _ => merged.push((s, e)),
        }
    }
    prop_assert_eq!(
        seen,
        merged,
        "the tables do not map exactly what the profile maps"
    );
    Ok(())
}

fn load_arm64(case: &Case, files: &Files) -> Result<(), TestCaseError> {
    let (iso, start, size) = (case.isolation(), case.start(), case.count * PAGE);
    let end = start + size;
    let mut importer = RecordingImporter::<Aarch64Register>::new(iso);
    let layout = paravisor_loader::load_openhcl_arm64_alloc(&mut importer, &inputs(case, files));
    let Some(layout) = valid(layout)? else {
        return Ok(());
    };
    let calls = importer.into_calls();
    check_imports(&calls, &[(start, end), (0x1000 * PAGE, 0x1002 * PAGE)])?;

    // G5: without an initrd file, from release-1.8.2607 on, no initrd and
    // the shim right after the kernel (K + image size); else the initrd
    // (maybe empty) at the next 2 MiB boundary after the kernel and the
    // shim after it.
    let k = layout.kernel;
    prop_assert_eq!(k.gpa, start + MIB2);
    let follows_kernel =
        case.initrd.is_none() && matches!(case.abi, Abi::Release1_8_2607 | Abi::Main1488a37b);
    let params = read_params(&calls, case.abi, layout.shim_params, layout.shim_params())?;
    let at = |offset: i64| layout.shim_base.wrapping_add(offset as u64);
    if follows_kernel {
        prop_assert_eq!(layout.shim_base, k.gpa + k.size);
        prop_assert_eq!((at(params.initrd_offset), params.initrd_size), (0, 0));
        prop_assert!(
            !calls
                .iter()
                .any(|c| matches!(c, Call::ImportPages(i) if i.tag == "linux-initrd")),
            "no initrd import"
        );
    } else {
        let initrd = layout.initrd;
        prop_assert_eq!(initrd.gpa % MIB2, 0);
        prop_assert!(initrd.gpa >= k.entrypoint + k.size);
        prop_assert_eq!(
            layout.shim_base,
            (initrd.gpa + initrd.size).div_ceil(PAGE) * PAGE
        );
        prop_assert_eq!(at(params.initrd_offset), initrd.gpa);
        let bytes = case.initrd.as_deref().unwrap_or_default();
        prop_assert!(read(&calls, initrd.gpa, bytes.len() as u64) == bytes);
    }
    let areas = layout.shim_areas;
    let region_end = areas.parameter_region + config_region_pages(case.abi) * PAGE;
    ordered(&[
        ("shim", layout.shim_base, layout.shim_end),
        ("cmdline", layout.command_line, layout.command_line + PAGE),
        ("params", layout.shim_params, layout.shim_params + PAGE),
        ("parameters", areas.parameter_region, region_end),
        ("log", areas.log_buffer, areas.log_buffer + 2 * PAGE),
        ("heap", areas.heap, areas.heap + 16 * PAGE),
        (
            "page tables",
            layout.page_tables,
            layout.page_tables + 15 * PAGE,
        ),
        ("end", layout.used_end, end),
    ])?;
    prop_assert_eq!(areas.log_buffer, region_end);
    prop_assert_eq!(at(params.used_end), layout.used_end);
    check_config_calls(&calls, case.abi, areas.parameter_region)?;

    let ttbr0 = calls.iter().find_map(|c| match c {
        Call::Register(Aarch64Register::Ttbr0El1(v)) => Some(*v),
        _ => None,
    });
    prop_assert_eq!(ttbr0, Some(layout.page_tables));
    let tables = read(&calls, layout.page_tables, 15 * PAGE);
    let walker = Arm64TableWalker::new(&tables, layout.page_tables, layout.page_tables)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut seen: Vec<(u64, u64)> = Vec::new();
    for m in walker.mappings() {
        let m = m.map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(m.va, m.pa, "not an identity map");
        match seen.last_mut() {
            Some(last) if last.1 == m.va => last.1 += m.size.bytes(),
            _ => seen.push((m.va, m.va + m.size.bytes())),
        }
    }
    prop_assert_eq!(
        seen,
        vec![(start, end)],
        "the tables do not map exactly VTL2 memory"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn x64_image_of_every_profile_is_ordered_disjoint_and_read_back(case in case(false)) {
        let files = Files {
            kernel: fixture("kernel-x64.elf"),
            shim: fixture("shim-x64.elf"),
            vp_context: fixture("uefi-vp-context.bin"),
        };
        load_x64(&case, &files)?;
    }

    #[test]
    fn arm64_image_of_every_profile_is_ordered_disjoint_and_read_back(case in case(true)) {
        let files = Files {
            kernel: fixture("Image-arm64"),
            shim: fixture("shim-arm64.elf"),
            vp_context: fixture("uefi-vp-context.bin"),
        };
        load_arm64(&case, &files)?;
    }
}

//! The whole x86-64 paravisor load (`load_openhcl_x64`) with arbitrary
//! configuration and inputs: the project's kernel, shim and sidecar
//! fixtures patched by the fuzzer (or raw bytes), any isolation, VTL2
//! memory, command line, initrd and VTL0 configuration, and an importer that
//! may fail at any call.
//!
//! Invariants:
//! * an error from the layout means nothing was imported (no page, register,
//!   parameter area or record); an importer error stops the load at once;
//! * on success every import lies inside VTL2 memory or the VTL0 pages 0..3
//!   (measured config, UEFI VP context, VTL0 command line), no two imports
//!   overlap, the regions are in the order of docs/algorithms.md §7.2 and end
//!   inside VTL2 memory;
//! * the imported shim parameters equal the layout's and point at the
//!   imports they name; CR3, RIP and RSI name the page tables, the shim entry
//!   and the shim parameters;
//! * the page tables map exactly VTL2 memory (3 GiB on TDX), plus the local
//!   map on SNP/TDX and the reset-vector page on TDX.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paravisor_fuzz::assert_disjoint;
use paravisor_fuzz::load::Fixtures;
use paravisor_fuzz::load::LoadConfig;
use paravisor_fuzz::load::LoadRecorder;
use paravisor_fuzz::load::assert_imports_allowed;
use paravisor_fuzz::load::read_shim_params;
use paravisor_fuzz::page_up;
use paravisor_layout::ShimParamsLayout;
use paravisor_loader::Abi;
use paravisor_loader::Error;
use paravisor_loader::IsolationType;
use paravisor_loader::X64Layout;
use paravisor_loader::load_openhcl_x64;
use vp_regs::x86_64::X86Register;
use x86_pagetables::PageTableWalker;

static FIXTURES: Fixtures = Fixtures {
    kernel: include_bytes!("../../tests/golden/fixtures/kernel-x64.elf"),
    shim: include_bytes!("../../tests/golden/fixtures/shim-x64.elf"),
    sidecar: include_bytes!("../../tests/golden/fixtures/sidecar-x64.elf"),
};

/// Largest page-table buffer tried (bigger VTL2 memory is planned only).
const MAX_TABLE_BYTES: u64 = 1 << 20;
const MIB2: u64 = 0x20_0000;
/// First non-canonical address of the lower half (48-bit VAs).
const CANONICAL_LIMIT: u64 = 1 << 47;

fuzz_target!(|config: LoadConfig| {
    let owned = config.owned(&FIXTURES);
    let inputs = owned.inputs();
    let planned = X64Layout::plan(owned.isolation, &inputs);
    let table_bytes = match &planned {
        Ok(layout) => layout.page_table_region_size(),
        Err(_) => 8 * 4096,
    };
    if table_bytes > MAX_TABLE_BYTES {
        return;
    }
    let mut tables = vec![0u8; table_bytes as usize];
    let mut recorder = LoadRecorder::<X86Register>::new(owned.isolation, owned.fail_at);
    let layout = match load_openhcl_x64(&mut recorder, &inputs, &mut tables) {
        Err(Error::Layout(error)) => {
            assert!(
                recorder.nothing_imported(),
                "layout error {error} after imports"
            );
            return;
        }
        Err(Error::Importer(_)) => {
            assert_eq!(
                Some(recorder.calls - 1),
                owned.fail_at,
                "importer error not at once"
            );
            return;
        }
        Ok(layout) => layout,
    };
    assert!(planned.is_ok(), "plan failed but load succeeded");
    if let Some(fail_at) = owned.fail_at {
        assert!(fail_at >= recorder.calls, "importer failure ignored");
    }

    let imports = recorder.plain_imports();
    let (start, size) = (layout.memory.start, layout.memory.size);
    let end = start + size;
    assert_disjoint(&imports);
    assert_imports_allowed(&imports, &[(start, end), (0, 3 * 4096)]);

    // Order of docs/algorithms.md §7.2, each region ending at or before the next.
    let isolated = layout.isolation.isolation_type.is_hardware_isolated();
    let mut regions: Vec<(&str, u64, u64)> = vec![("persisted", start, start + MIB2)];
    if isolated {
        let bounce = layout
            .bounce_buffer
            .unwrap_or_else(|| panic!("no bounce buffer"));
        regions.push(("bounce buffer", bounce, bounce + MIB2));
    } else {
        assert!(layout.bounce_buffer.is_none());
    }
    regions.push(("kernel", layout.kernel.start, layout.kernel.end));
    if layout.sidecar_size > 0 {
        assert_eq!(layout.sidecar_base % MIB2, 0, "sidecar not 2 MiB aligned");
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
        regions.push(("initrd", base, base + page_up(len)));
    }
    regions.extend([
        ("gdt", layout.gdt, layout.gdt + 0x1000),
        (
            "shim params",
            layout.shim_params,
            layout.shim_params + 0x1000,
        ),
        (
            "command line",
            layout.command_line,
            layout.command_line + 0x1000,
        ),
        (
            "reserved",
            layout.reserved_region,
            layout.reserved_region + 0x4000,
        ),
        (
            "parameters",
            layout.shim_areas.parameter_region,
            layout.shim_areas.parameter_region + owned.abi.facts().config_region_size(),
        ),
        (
            "log",
            layout.shim_areas.log_buffer,
            layout.shim_areas.log_buffer + 0x2000,
        ),
        (
            "heap",
            layout.shim_areas.heap,
            layout.shim_areas.heap + 0x1_0000,
        ),
        (
            "page tables",
            layout.page_tables,
            layout.page_tables + table_bytes,
        ),
    ]);
    for pair in regions.windows(2) {
        let ((a, _, a_end), (b, b_start, _)) = (pair[0], pair[1]);
        assert!(
            a_end <= b_start,
            "{a} ends at {a_end:#x} after {b} starts at {b_start:#x}"
        );
    }
    assert_eq!(layout.shim_areas.end_of_underhill_mem, layout.page_tables);
    assert_eq!(layout.used_end, layout.page_tables + table_bytes);
    assert!(
        layout.used_end <= end,
        "used end {:#x} past VTL2 memory",
        layout.used_end
    );

    // The shim parameters, as imported.
    let (_, data) = recorder
        .import("underhill-shim-params")
        .unwrap_or_else(|| panic!("no params"));
    let params = read_shim_params(
        owned.abi,
        data.as_deref().unwrap_or_default(),
        layout.shim_params(),
    );
    let seed_params = owned.abi.facts().shim_params == ShimParamsLayout::WithPageTables;
    let at = |offset: i64| layout.shim_base.wrapping_add(offset as u64);
    let page_of = |tag: &str| {
        recorder
            .import(tag)
            .map(|(i, _)| i.page_base * 4096)
            .unwrap_or_else(|| panic!("no {tag}"))
    };
    assert_eq!(at(params.memory_start_offset), start);
    assert_eq!(params.memory_size, size);
    assert_eq!(at(params.kernel_entry_offset), layout.kernel_entry);
    assert_eq!(at(params.cmdline_offset), page_of("underhill-command-line"));
    if seed_params {
        assert_eq!(
            at(params.page_tables_start),
            page_of("underhill-page-tables")
        );
        assert_eq!(params.page_tables_size, table_bytes);
    }
    assert_eq!(
        at(params.log_buffer_start),
        page_of("ohcl-boot-shim-log-buffer")
    );
    assert_eq!(at(params.heap_start_offset), page_of("ohcl-boot-shim-heap"));
    assert_eq!(at(params.used_start), start);
    assert_eq!(at(params.used_end), layout.used_end);
    assert_eq!(at(params.persisted_state_region_offset), start);
    assert_eq!(
        at(params.parameter_region_offset),
        layout.shim_areas.parameter_region
    );
    if layout.initrd.is_some_and(|initrd| initrd.size > 0) {
        assert_eq!(at(params.initrd_offset), page_of("underhill-initrd"));
    }
    if layout.isolation.isolation_type == IsolationType::Snp {
        assert_eq!(
            page_of("underhill-snp-cpuid-page"),
            layout.reserved_region + 0x1000
        );
    }

    // Registers.
    let register = |f: fn(&X86Register) -> Option<u64>| {
        recorder
            .registers
            .iter()
            .find_map(f)
            .unwrap_or_else(|| panic!("register missing"))
    };
    assert_eq!(
        register(|r| if let X86Register::Cr3(v) = r {
            Some(*v)
        } else {
            None
        }),
        layout.page_tables
    );
    assert_eq!(
        register(|r| if let X86Register::Rip(v) = r {
            Some(*v)
        } else {
            None
        }),
        layout.shim_entry
    );
    assert_eq!(
        register(|r| if let X86Register::Rsi(v) = r {
            Some(*v)
        } else {
            None
        }),
        layout.shim_params - layout.shim_base
    );

    // The page tables map exactly VTL2 memory (+ local map, reset vector).
    let mapping = layout.page_table_mapping_size;
    if start + mapping > CANONICAL_LIMIT {
        // Finding (fuzz/regressions/README.md, load_x64 #1): VTL2 memory
        // reaching above 2^47 is accepted, as by the original, but 4-level
        // paging cannot identity-map it: those VAs are not canonical.
        return;
    }
    let config = layout.page_table_config();
    let walker = PageTableWalker::new(
        &tables,
        layout.page_tables,
        layout.page_tables,
        config.confidential_bit,
    )
    .unwrap_or_else(|e| panic!("walker refused the tables: {e}"));
    assert_eq!(
        mapping,
        // 3 GiB on TDX at the seed only (docs/abi-versions.md G2).
        if layout.isolation.isolation_type == IsolationType::Tdx && owned.abi == Abi::Seed95f63b08 {
            0xC000_0000
        } else {
            size
        }
    );
    for va in [start, start + mapping / 2, start + mapping - 1] {
        let t = walker
            .translate(va)
            .unwrap_or_else(|e| panic!("{va:#x} not mapped: {e}"));
        assert_eq!(t.pa, va);
    }
    let mut expected = u128::from(mapping);
    if isolated {
        expected += u128::from(MIB2);
    }
    if layout.isolation.isolation_type == IsolationType::Tdx {
        expected += 4096;
    }
    let mut mapped: u128 = 0;
    for region in walker.regions() {
        let region = region.unwrap_or_else(|e| panic!("walk: {e}"));
        assert_eq!(region.va, region.pa);
        mapped += u128::from(region.size);
    }
    assert_eq!(
        mapped, expected,
        "page tables map more or less than VTL2 memory"
    );
});

//! The whole AArch64 paravisor load (`load_openhcl_arm64`) with arbitrary
//! configuration and inputs: the project's `Image` and shim fixtures
//! patched by the fuzzer (or raw bytes), any isolation, VTL2 memory, command
//! line, initrd and VTL0 configuration, and an importer that may fail at any
//! call.
//!
//! Invariants:
//! * an error from the layout means nothing was imported; an importer error
//!   stops the load at once;
//! * on success every import lies inside VTL2 memory or the VTL0 pages
//!   0x1000 and 0x1001, no two imports overlap, the regions are in the order
//!   of the arm64 layout (end of docs/algorithms.md §8) and end inside VTL2
//!   memory;
//! * the imported shim parameters equal the layout's and point at the
//!   imports they name; X0, PC and TTBR0_EL1 name the shim parameters, the
//!   shim entry and the page tables;
//! * the page tables map exactly VTL2 memory, identity.
#![no_main]

use arm64_pagetables::Arm64TableWalker;
use libfuzzer_sys::fuzz_target;
use paravisor_fuzz::assert_disjoint;
use paravisor_fuzz::load::Fixtures;
use paravisor_fuzz::load::LoadConfig;
use paravisor_fuzz::load::LoadRecorder;
use paravisor_fuzz::load::assert_imports_allowed;
use paravisor_fuzz::load::read_shim_params;
use paravisor_fuzz::page_up;
use paravisor_loader::Error;
use paravisor_loader::load_openhcl_arm64;
use vp_regs::aarch64::Aarch64Register;

static FIXTURES: Fixtures = Fixtures {
    kernel: include_bytes!("../../tests/golden/fixtures/Image-arm64"),
    shim: include_bytes!("../../tests/golden/fixtures/shim-arm64.elf"),
    sidecar: &[],
};

const MIB2: u64 = 0x20_0000;
const TABLE_BYTES: u64 = 15 * 4096;

fuzz_target!(|config: LoadConfig| {
    let owned = config.owned(&FIXTURES);
    let inputs = owned.inputs();
    let mut tables = vec![0u8; TABLE_BYTES as usize];
    let mut recorder = LoadRecorder::<Aarch64Register>::new(owned.isolation, owned.fail_at);
    let layout = match load_openhcl_arm64(&mut recorder, &inputs, &mut tables) {
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
    if let Some(fail_at) = owned.fail_at {
        assert!(fail_at >= recorder.calls, "importer failure ignored");
    }

    let imports = recorder.plain_imports();
    let (start, size) = (layout.memory.start, layout.memory.size);
    let end = start + size;
    let paravisor_loader::KernelInfo {
        gpa: kernel_base,
        size: kernel_size,
        entrypoint: kernel_entry,
    } = layout.kernel;
    // docs/abi-versions.md G5: from release-1.8.2607 on, without an initrd
    // file the shim follows the kernel at K + image size; the `Image` itself
    // stays at K + text_offset, which may even lie outside VTL2 memory
    // (`adv-image-a64-textoffset-2p63`: the original accepts it).
    let follows_kernel =
        owned.abi.facts().arm64_shim_follows_kernel_without_initrd && !owned.has_initrd();
    assert_disjoint(&imports);
    let mut allowed = vec![(start, end), (0x1000 * 4096, 0x1002 * 4096)];
    if follows_kernel {
        allowed.push((kernel_entry & !0xFFF, kernel_entry + kernel_size));
    }
    assert_imports_allowed(&imports, &allowed);
    assert_eq!(kernel_base, start + MIB2);
    let paravisor_loader::InitrdInfo {
        gpa: initrd,
        size: initrd_len,
    } = layout.initrd;
    assert_eq!(initrd % MIB2, 0);
    let (kernel_row, initrd_row) = if follows_kernel {
        // The shim is loaded at offset K + image size; its lowest address
        // is that offset plus its lowest PT_LOAD address, which a patched
        // shim may make non-zero (as in the original, where the shim base
        // is `minimum_address_used`).
        assert!(
            layout.shim_base >= kernel_base + kernel_size,
            "G5 placement: shim at {:#x} below the kernel's end {:#x}",
            layout.shim_base,
            kernel_base + kernel_size
        );
        assert_eq!((initrd, initrd_len), (0, 0), "G5: no initrd");
        let placed = (kernel_base, kernel_base + kernel_size);
        (
            ("kernel", placed.0, placed.1),
            ("initrd", placed.1, placed.1),
        )
    } else {
        (
            ("kernel", kernel_base, kernel_entry + kernel_size),
            ("initrd", initrd, initrd + page_up(initrd_len)),
        )
    };
    let regions = [
        ("persisted", start, start + MIB2),
        kernel_row,
        initrd_row,
        ("shim", layout.shim_base, layout.shim_end),
        (
            "command line",
            layout.command_line,
            layout.command_line + 0x1000,
        ),
        (
            "shim params",
            layout.shim_params,
            layout.shim_params + 0x1000,
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
            layout.page_tables + TABLE_BYTES,
        ),
    ];
    for pair in regions.windows(2) {
        let ((a, _, a_end), (b, b_start, _)) = (pair[0], pair[1]);
        assert!(
            a_end <= b_start,
            "{a} ends at {a_end:#x} after {b} starts at {b_start:#x}"
        );
    }
    assert_eq!(layout.shim_areas.end_of_underhill_mem, layout.page_tables);
    assert_eq!(layout.used_end, layout.page_tables + TABLE_BYTES);
    assert!(
        layout.used_end <= end,
        "used end {:#x} past VTL2 memory",
        layout.used_end
    );

    let (_, data) = recorder
        .import("underhill-shim-params")
        .unwrap_or_else(|| panic!("no params"));
    let params = read_shim_params(
        owned.abi,
        data.as_deref().unwrap_or_default(),
        layout.shim_params(),
    );
    let at = |offset: i64| layout.shim_base.wrapping_add(offset as u64);
    let page_of = |tag: &str| {
        recorder
            .import(tag)
            .map(|(i, _)| i.page_base * 4096)
            .unwrap_or_else(|| panic!("no {tag}"))
    };
    assert_eq!(at(params.memory_start_offset), start);
    assert_eq!(params.memory_size, size);
    assert_eq!(at(params.kernel_entry_offset), kernel_entry);
    assert_eq!(at(params.cmdline_offset), page_of("underhill-command-line"));
    assert_eq!(
        at(params.log_buffer_start),
        page_of("ohcl-boot-shim-log-buffer")
    );
    assert_eq!(at(params.heap_start_offset), page_of("ohcl-boot-shim-heap"));
    assert_eq!(at(params.used_start), start);
    assert_eq!(at(params.used_end), layout.used_end);
    assert_eq!(at(params.initrd_offset), initrd);
    assert_eq!(params.initrd_size, initrd_len);
    assert_eq!((params.page_tables_start, params.page_tables_size), (0, 0));

    let register = |f: fn(&Aarch64Register) -> Option<u64>| {
        recorder
            .registers
            .iter()
            .find_map(f)
            .unwrap_or_else(|| panic!("register missing"))
    };
    let ttbr0 = register(|r| {
        if let Aarch64Register::Ttbr0El1(v) = r {
            Some(*v)
        } else {
            None
        }
    });
    assert_eq!(ttbr0, layout.page_tables);
    assert_eq!(
        register(|r| if let Aarch64Register::Pc(v) = r {
            Some(*v)
        } else {
            None
        }),
        layout.shim_entry
    );
    assert_eq!(
        register(|r| if let Aarch64Register::X0(v) = r {
            Some(*v)
        } else {
            None
        }),
        layout.shim_params - layout.shim_base
    );

    let walker = Arm64TableWalker::new(&tables, layout.page_tables, ttbr0)
        .unwrap_or_else(|e| panic!("walker refused the tables: {e}"));
    for va in [start, start + size / 2, end - 1] {
        let t = walker
            .translate(va)
            .unwrap_or_else(|e| panic!("walk {va:#x}: {e}"))
            .unwrap_or_else(|| panic!("{va:#x} not mapped"));
        assert_eq!(t.pa, va);
    }
    let mapped: u128 = walker
        .mappings()
        .map(|m| u128::from(m.unwrap_or_else(|e| panic!("walk: {e}")).size.bytes()))
        .sum();
    assert_eq!(
        mapped,
        u128::from(size),
        "page tables map more or less than VTL2 memory"
    );
});

//! ELF64 loading (`plan_static_elf`, `StaticElfPlan::import`,
//! `load_static_elf`) with an arbitrary file and placement.
//!
//! Input: start_address (u64 LE), load_offset (u64 LE), a flags byte (bit 0:
//! assume_pic, bit 1: AArch64 instead of x86-64), then the file.
//!
//! Invariants: an invalid file imports nothing; a plan's imports are exactly
//! its segments, disjoint, inside [minimum_address_used,
//! next_available_address) rounded out to pages, never below the page of
//! start_address, with no more data than pages; `load_static_elf` returns
//! the plan's info and makes the same calls.
#![no_main]

use elf_static_loader::ElfMachine;
use elf_static_loader::PageAcceptance;
use elf_static_loader::load_static_elf;
use elf_static_loader::plan_static_elf;
use libfuzzer_sys::fuzz_target;
use paravisor_fuzz::Bytes;
use paravisor_fuzz::Recorder;
use paravisor_fuzz::assert_disjoint;
use paravisor_fuzz::assert_within;
use paravisor_fuzz::page_down;
use paravisor_fuzz::page_up;

fuzz_target!(|data: &[u8]| {
    let mut input = Bytes::new(data);
    let start_address = input.u64();
    let load_offset = input.u64();
    let flags = input.u8();
    let assume_pic = flags & 1 != 0;
    let machine = if flags & 2 != 0 {
        ElfMachine::Aarch64
    } else {
        ElfMachine::X86_64
    };
    let elf = input.rest();

    let planned = plan_static_elf(elf, machine, start_address, load_offset, assume_pic);
    let mut loaded = Recorder::default();
    let result = load_static_elf(
        &mut loaded,
        elf,
        machine,
        start_address,
        load_offset,
        assume_pic,
        PageAcceptance::Exclusive,
        "fuzz",
    );
    let plan = match planned {
        Err(error) => {
            assert!(result.is_err(), "plan failed ({error}) but load succeeded");
            assert!(loaded.imports.is_empty(), "error {error} after imports");
            return;
        }
        Ok(plan) => plan,
    };
    let info = plan.info();
    assert_eq!(
        result.ok(),
        Some(info),
        "load_static_elf and the plan disagree"
    );

    let mut imported = Recorder::default();
    let Ok(()) = plan.import(&mut imported, PageAcceptance::Exclusive, "fuzz");
    assert_eq!(
        imported.imports, loaded.imports,
        "two imports of one plan differ"
    );
    assert_disjoint(&imported.imports);

    let segments: Vec<_> = plan.segments().collect();
    let imported_segments = segments.iter().filter(|s| s.page_count > 0).count();
    if imported_segments > 0 {
        assert!(
            info.minimum_address_used <= info.next_available_address,
            "{info:?}"
        );
        assert_within(
            &imported.imports,
            page_down(info.minimum_address_used),
            page_up(info.next_available_address),
        );
        assert_within(&imported.imports, page_down(start_address), u64::MAX);
    } else {
        assert!(imported.imports.is_empty());
    }
    // Each segment is imported as exactly its pages, with its file bytes.
    let pages: u64 = imported.imports.iter().map(|i| i.page_count).sum();
    let planned_pages: u64 = segments.iter().map(|s| s.page_count).sum();
    assert_eq!(pages, planned_pages);
    for s in &segments {
        assert!(s.file_bytes.len() as u64 <= s.memory_size, "{s:?}");
        assert!(s.address >= start_address, "{s:?}");
        assert_eq!(s.page_base, s.address >> 12);
    }
});

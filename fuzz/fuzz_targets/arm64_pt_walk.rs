//! AArch64 table walker (`Arm64TableWalker`) over hostile bytes: raw bytes,
//! or the paravisor identity map corrupted by the input.
//!
//! Input: a mode byte (bit 0: build-and-corrupt), tables GPA (u64 LE),
//! TTBR0 (u64 LE), then the table bytes (raw mode) or a region selector and
//! corruptions.
//!
//! Invariants: no panic and bounded work on any bytes; mappings are
//! ascending, aligned to their size, and each translates back to itself.
#![no_main]

use arm64_pagetables::Arm64TableWalker;
use arm64_pagetables::build_identity_page_tables_aarch64;
use libfuzzer_sys::fuzz_target;
use paravisor_fuzz::Bytes;
use paravisor_fuzz::corrupt_entries;

const MAX_LEAVES: usize = 1 << 16;

fuzz_target!(|data: &[u8]| {
    let mut input = Bytes::new(data);
    let mode = input.u8();
    let mut tables_gpa = input.u64();
    let mut ttbr0 = input.u64();
    let tables: Vec<u8> = if mode & 1 == 0 {
        let raw = input.rest();
        raw[..raw.len() & !0xFFF].to_vec()
    } else {
        tables_gpa &= !0xFFF;
        let start = u64::from(input.u16()) << 21;
        let size = (u64::from(input.u16() % 2048) + 1) << 21;
        let mut area = vec![0u8; 15 * 4096];
        let mair = vp_regs::aarch64::paravisor::MAIR_EL1;
        let Ok(used) =
            build_identity_page_tables_aarch64(tables_gpa, start, size, &mair, &mut area)
        else {
            return;
        };
        area.truncate(used);
        if mode & 2 == 0 {
            ttbr0 = tables_gpa;
        }
        let corruptions = usize::from(input.u8() % 8);
        corrupt_entries(&mut area, &mut input, corruptions);
        area
    };
    let Ok(walker) = Arm64TableWalker::new(&tables, tables_gpa, ttbr0) else {
        return;
    };
    let mut previous_end: Option<u64> = None;
    for (n, mapping) in walker.mappings().enumerate() {
        if n >= MAX_LEAVES {
            break;
        }
        let Ok(mapping) = mapping else {
            break;
        };
        let size = mapping.size.bytes();
        assert_eq!(mapping.va % size, 0, "{mapping:?}");
        if let Some(end) = previous_end {
            assert!(mapping.va >= end, "mappings not ascending: {mapping:?}");
        }
        previous_end = Some(mapping.va.wrapping_add(size));
        if n < 64 {
            let t = walker
                .translate(mapping.va)
                .unwrap_or_else(|e| panic!("yielded {mapping:?} does not translate: {e}"))
                .unwrap_or_else(|| panic!("yielded {mapping:?} translates to nothing"));
            assert_eq!(t.mapping, mapping, "translate disagrees with mappings");
            assert_eq!(t.pa, mapping.pa);
        }
    }
    for _ in 0..4 {
        let _ = walker.translate(input.u64());
    }
});

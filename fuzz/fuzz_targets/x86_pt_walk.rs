//! x86-64 page-table walker (`PageTableWalker`) over hostile table bytes:
//! raw bytes, or tables the builder made and the input then corrupts.
//!
//! Input: a mode byte (bit 0: build-and-corrupt), base GPA (u64 LE), CR3
//! (u64 LE), confidential bit (u8, 0 = none), then either the table bytes
//! (raw mode) or a region start/size selector and corruptions (see
//! `paravisor_fuzz::corrupt_entries`).
//!
//! Invariants: no panic and bounded work on any bytes (loops, shared tables,
//! out-of-range pointers); `mappings()` yields leaves in ascending VA order
//! and each yielded leaf translates back to itself with `translate`;
//! `regions()` covers exactly the bytes `mappings()` yields.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paravisor_fuzz::Bytes;
use paravisor_fuzz::corrupt_entries;
use x86_pagetables::IdentityMapConfig;
use x86_pagetables::PageTableWalker;
use x86_pagetables::build_identity_map;
use x86_pagetables::required_tables;

/// Cap on leaves checked per input (keeps each run fast).
const MAX_LEAVES: usize = 1 << 16;

fuzz_target!(|data: &[u8]| {
    let mut input = Bytes::new(data);
    let mode = input.u8();
    let mut base_gpa = input.u64();
    let mut cr3 = input.u64();
    let bit = input.u8();
    let confidential_bit = (bit != 0).then_some(bit);

    let tables: Vec<u8> = if mode & 1 == 0 {
        input.rest().to_vec()
    } else {
        // Valid tables first, then damage.
        let start = u64::from(input.u16()) << 21;
        let size = (u64::from(input.u8()) + 1) << 21;
        base_gpa &= !0xFFF;
        let mut config = IdentityMapConfig::new(base_gpa, start, size);
        if mode & 2 != 0 {
            config = config.with_local_map(0x20_0000, 0x20_0000);
        }
        if mode & 4 != 0 {
            config = config.with_reset_vector(true);
        }
        if mode & 8 != 0 {
            config = config.with_1gb_pages(true);
        }
        if let Some(bit) = confidential_bit {
            config = config.with_confidential_bit(bit);
        }
        let Ok(count) = required_tables(&config) else {
            return;
        };
        let mut tables = vec![0u8; count * 4096];
        if build_identity_map(&config, &mut tables).is_err() {
            return;
        }
        if mode & 16 == 0 {
            cr3 = base_gpa;
        }
        let corruptions = usize::from(input.u8() % 8);
        corrupt_entries(&mut tables, &mut input, corruptions);
        tables
    };

    let Ok(walker) = PageTableWalker::new(&tables, base_gpa, cr3, confidential_bit) else {
        return;
    };
    let mut previous_end: Option<u64> = None;
    let mut leaf_bytes: u128 = 0;
    let mut complete = true;
    for (n, leaf) in walker.mappings().enumerate() {
        if n >= MAX_LEAVES {
            complete = false;
            break;
        }
        let Ok(leaf) = leaf else {
            complete = false;
            break;
        };
        let size = leaf.page_size.bytes();
        assert_eq!(
            leaf.va % size,
            0,
            "leaf VA not aligned to its size: {leaf:?}"
        );
        if let Some(end) = previous_end {
            assert!(leaf.va >= end, "mappings not ascending: {leaf:?}");
        }
        previous_end = Some(leaf.va.wrapping_add(size));
        leaf_bytes += u128::from(size);
        if n < 64 {
            let t = walker
                .translate(leaf.va)
                .unwrap_or_else(|e| panic!("yielded leaf {leaf:?} does not translate: {e}"));
            assert_eq!(t, leaf, "translate disagrees with mappings");
        }
    }
    if complete {
        let mut region_bytes: u128 = 0;
        for region in walker.regions() {
            let Ok(region) = region else {
                panic!("regions() failed where mappings() did not");
            };
            region_bytes += u128::from(region.size);
        }
        assert_eq!(region_bytes, leaf_bytes, "regions and mappings disagree");
    }
    // Random translations must not panic either.
    for _ in 0..4 {
        let _ = walker.translate(input.u64());
    }
});

//! The sorted-ranges x86-64 builder of release/1.7.2511 and later
//! (`build_sorted_ranges`, docs/abi-versions.md §3.4) with random ranges,
//! read back with `PageTableWalker`.
//!
//! Invariants: the size query and the builder agree (same error, or the
//! same table count, at most 20); a failed build leaves the buffer untouched;
//! unsorted or overlapping ranges are refused; the walker finds exactly the
//! ranges identity-mapped (nothing else), each leaf the largest its address
//! alignment and remaining range allow, with the confidential bit.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use x86_pagetables::MemoryRange;
use x86_pagetables::PAGE_TABLE_MAX_BYTES;
use x86_pagetables::PageSize;
use x86_pagetables::PageTableWalker;
use x86_pagetables::SortedRangesConfig;
use x86_pagetables::build_sorted_ranges;
use x86_pagetables::required_sorted_range_tables;

const GIB: u64 = 1 << 30;
const MIB2: u64 = 1 << 21;

/// A value: mostly 4 KiB-page, 2 MiB or 1 GiB multiples, sometimes raw.
#[derive(Debug, Arbitrary)]
enum Value {
    Pages(u16),
    Large(u16),
    Gib(u8),
    Raw(u64),
}

impl Value {
    fn get(&self) -> u64 {
        match *self {
            Value::Pages(x) => u64::from(x) << 12,
            Value::Large(x) => u64::from(x) << 21,
            Value::Gib(x) => u64::from(x % 64) << 30,
            Value::Raw(x) => x,
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Input {
    page_table_gpa: u32,
    /// (gap after the previous range, size): sorted when gaps are used.
    ranges: Vec<(Value, Value)>,
    /// Use the values as absolute starts instead (may be unsorted).
    absolute: bool,
    snp: bool,
}

fuzz_target!(|input: Input| {
    let mut at = 0u64;
    let ranges: Vec<MemoryRange> = input
        .ranges
        .iter()
        .take(6)
        .map(|(a, size)| {
            let start = if input.absolute {
                a.get()
            } else {
                at.wrapping_add(a.get())
            };
            at = start.wrapping_add(size.get());
            MemoryRange::new(start, size.get())
        })
        .collect();
    let gpa = u64::from(input.page_table_gpa) << 12;
    let mut config = SortedRangesConfig::new(gpa, &ranges);
    if input.snp {
        config = config.with_confidential_bit(51);
    }
    let mut buffer = vec![0xA5u8; PAGE_TABLE_MAX_BYTES];
    let required = required_sorted_range_tables(&config);
    let built = build_sorted_ranges(&config, &mut buffer);
    let used = match (required, built) {
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "size query and builder disagree");
            assert!(buffer.iter().all(|&b| b == 0xA5), "failed build wrote");
            return;
        }
        (Ok(tables), Ok(used)) => {
            assert!(tables <= 20);
            assert_eq!(used, tables * 4096);
            used
        }
        (a, b) => panic!("size query {a:?}, builder {b:?}"),
    };
    for pair in ranges.windows(2) {
        let end = pair[0].start + pair[0].size;
        assert!(pair[1].start >= end, "unsorted/overlapping accepted");
    }
    assert!(buffer[used..].iter().all(|&b| b == 0), "tail not zeroed");
    let bit = config.confidential_bit;
    let walker = match PageTableWalker::new(&buffer[..used], gpa, gpa, bit) {
        Ok(w) => w,
        Err(e) => panic!("walker refused built tables: {e}"),
    };
    let mut expected: u128 = 0;
    for r in &ranges {
        expected += u128::from(r.size);
    }
    let mut mapped: u128 = 0;
    for t in walker.mappings() {
        let t = t.unwrap_or_else(|e| panic!("walk: {e}"));
        // VAs at or above 2^47 are reached sign-extended; compare the low 48 bits.
        let va = t.va & ((1 << 48) - 1);
        assert_eq!(va, t.pa, "not an identity map");
        assert_eq!(t.confidential, bit.is_some());
        let r = ranges
            .iter()
            .find(|r| r.start <= t.pa && t.pa < r.start + r.size)
            .unwrap_or_else(|| panic!("{:#x} mapped outside the ranges", t.pa));
        let end = r.start + r.size;
        let greedy = if t.pa % GIB == 0 && t.pa + GIB <= end {
            PageSize::Size1GiB
        } else if t.pa % MIB2 == 0 && t.pa + MIB2 <= end {
            PageSize::Size2MiB
        } else {
            PageSize::Size4KiB
        };
        assert_eq!(t.page_size, greedy, "leaf at {:#x}", t.pa);
        mapped += u128::from(t.page_size.bytes());
    }
    assert_eq!(mapped, expected, "mapped more or less than the ranges");
});

//! Property tests: for random valid configurations the walker reads back
//! exactly the requested mappings (and nothing more), `required_tables`
//! equals the tables used, and the walker survives arbitrary bytes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use proptest::prelude::*;
use x86_pagetables::IdentityMapConfig;
use x86_pagetables::IdentityRange;
use x86_pagetables::MappedRegion;
use x86_pagetables::PageSize;
use x86_pagetables::PageTableError;
use x86_pagetables::PageTableWalker;
use x86_pagetables::ParavisorIsolation;
use x86_pagetables::WalkError;
use x86_pagetables::build_identity_map;
use x86_pagetables::calculate_pde_table_count;
use x86_pagetables::paravisor_page_table_region_pages;
use x86_pagetables::required_tables;

const KIB4: u64 = 0x1000;
const MIB2: u64 = 0x20_0000;
const GIB: u64 = 0x4000_0000;

#[derive(Debug, Clone)]
struct Case {
    page_table_gpa: u64,
    start: u64,
    size: u64,
    local_map: Option<(u64, u64)>,
    confidential_bit: Option<u8>,
    reset_vector: bool,
    extras: Vec<IdentityRange>,
    use_1gb_pages: bool,
}

fn overlaps(a: (u64, u64), b: (u64, u64)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

impl Case {
    /// Drops the optional parts that would overlap earlier ranges, so every
    /// case is valid (the generators would otherwise be rejected too often).
    fn make_disjoint(mut self) -> Self {
        let mut taken = vec![(self.start, self.start + self.size)];
        if let Some((va, size)) = self.local_map {
            if overlaps((va, va + size), taken[0]) {
                self.local_map = None;
            } else {
                taken.push((va, va + size));
            }
        }
        let reset = (0xFFFF_F000, 0x1_0000_0000);
        if self.reset_vector {
            if taken.iter().any(|t| overlaps(*t, reset)) {
                self.reset_vector = false;
            } else {
                taken.push(reset);
            }
        }
        let mut extras = Vec::new();
        for r in self.extras {
            let range = (r.start, r.start + r.size);
            if !taken.iter().any(|t| overlaps(*t, range)) {
                taken.push(range);
                extras.push(r);
            }
        }
        self.extras = extras;
        self
    }

    /// The requested ranges: (start, end, writable, executable).
    fn requested(&self) -> Vec<(u64, u64, bool, bool)> {
        let mut v = vec![(self.start, self.start + self.size, true, true)];
        if let Some((va, size)) = self.local_map {
            v.push((va, va + size, true, true));
        }
        if self.reset_vector {
            v.push((0xFFFF_F000, 0x1_0000_0000, true, true));
        }
        for r in &self.extras {
            v.push((r.start, r.start + r.size, r.writable, r.executable));
        }
        v
    }
}

fn case() -> impl Strategy<Value = Case> {
    let start = prop_oneof![
        (0u64..2048).prop_map(|k| k * MIB2),
        (0u64..(1 << 25)).prop_map(|k| k * MIB2),
        // Around the 512 GiB boundary (PML4 entry 0 / 1).
        ((512 * 512 - 600)..(512 * 512 + 8u64)).prop_map(|k| k * MIB2),
    ];
    let size = prop_oneof![
        (1u64..=64).prop_map(|k| k * MIB2),
        (1u64..=2048).prop_map(|k| k * MIB2),
    ];
    let local_map =
        proptest::option::of(((0u64..4096), (1u64..=4)).prop_map(|(k, n)| (k * MIB2, n * MIB2)));
    let confidential_bit = proptest::option::of(prop_oneof![Just(51u8), Just(47u8)]);
    let extra = (
        0u64..(1 << 23),
        prop_oneof![
            (1u64..=1100),
            (1u64..=8).prop_map(|k| k * 512),
            (1u64..=3).prop_map(|k| k * 262_144)
        ],
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(page, pages, writable, executable)| IdentityRange {
            start: page * KIB4,
            size: pages * KIB4,
            writable,
            executable,
        });
    (
        (0u64..(1 << 20)).prop_map(|p| p * KIB4),
        start,
        size,
        local_map,
        confidential_bit,
        any::<bool>(),
        proptest::collection::vec(extra, 0..4),
        any::<bool>(),
    )
        .prop_map(
            |(
                page_table_gpa,
                start,
                size,
                local_map,
                confidential_bit,
                reset_vector,
                extras,
                use_1gb_pages,
            )| {
                Case {
                    page_table_gpa,
                    start,
                    size,
                    local_map,
                    confidential_bit,
                    reset_vector,
                    extras,
                    use_1gb_pages,
                }
                .make_disjoint()
            },
        )
}

/// Sorted, merged expected regions (identity maps: va = pa).
fn expected_regions(case: &Case) -> Vec<MappedRegion> {
    let mut ranges = case.requested();
    ranges.sort();
    let mut out: Vec<MappedRegion> = Vec::new();
    for (start, end, writable, executable) in ranges {
        if let Some(last) = out.last_mut()
            && last.va + last.size == start
            && (last.writable, last.executable) == (writable, executable)
        {
            last.size += end - start;
            continue;
        }
        out.push(MappedRegion {
            va: start,
            pa: start,
            size: end - start,
            writable,
            executable,
            confidential: case.confidential_bit.is_some(),
        });
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn walker_sees_exactly_the_requested_ranges_and_required_tables_is_exact(case in case()) {
        let mut config = IdentityMapConfig::new(case.page_table_gpa, case.start, case.size)
            .with_reset_vector(case.reset_vector)
            .with_additional_ranges(&case.extras)
            .with_1gb_pages(case.use_1gb_pages);
        if let Some((va, size)) = case.local_map {
            config = config.with_local_map(va, size);
        }
        if let Some(bit) = case.confidential_bit {
            config = config.with_confidential_bit(bit);
        }
        let tables = required_tables(&config).unwrap();
        let mut buffer = vec![0xCCu8; (tables + 2) * 4096];
        let used = build_identity_map(&config, &mut buffer).unwrap();
        prop_assert_eq!(used, tables * 4096);
        prop_assert!(buffer[used..].iter().all(|b| *b == 0));

        // Walk only the used tables: any pointer past them is an error.
        let walker = PageTableWalker::new(
            &buffer[..used],
            case.page_table_gpa,
            case.page_table_gpa,
            case.confidential_bit,
        ).unwrap();
        let regions: Vec<_> = walker.regions().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(regions, expected_regions(&case));

        // Every table is used, and every entry carries the C-bit.
        let c = case.confidential_bit.map_or(0, |b| 1u64 << b);
        for table in buffer[..used].chunks_exact(4096) {
            let mut present = 0;
            for e in table.chunks_exact(8) {
                let e = u64::from_le_bytes(e.try_into().unwrap());
                if e != 0 {
                    present += 1;
                    prop_assert_eq!(e & c, c);
                    prop_assert_eq!(e & 1, 1);
                }
            }
            prop_assert!(present > 0, "an empty table was allocated");
        }

        // Page sizes and entry bits: the original's encodings.
        for m in walker.mappings() {
            let m = m.unwrap();
            if !case.use_1gb_pages {
                prop_assert_ne!(m.page_size, PageSize::Size1GiB);
            }
            let rw = if m.writable { 0x2 } else { 0 };
            let nx = if m.executable { 0 } else { 1u64 << 63 };
            let expected_flags = match m.page_size {
                PageSize::Size4KiB => 0x61 | rw | nx | c,
                _ => 0xE1 | rw | nx | c,
            };
            prop_assert_eq!(m.flags, expected_flags);
        }

        // Spot translations: inside every range, and just past its end.
        for (start, end, _, _) in case.requested() {
            let mid = start + (end - start) / 2 + 0x123;
            if mid < end {
                prop_assert_eq!(walker.translate(mid).unwrap().pa, mid);
            }
            prop_assert_eq!(walker.translate(end - 1).unwrap().pa, end - 1);
            let covered = case.requested().iter().any(|r| r.0 <= end && end < r.1);
            if !covered {
                let not_mapped = matches!(walker.translate(end), Err(WalkError::NotMapped { .. }));
                prop_assert!(not_mapped);
            }
        }
    }

    #[test]
    fn paravisor_region_formula_always_covers_the_tables_built(
        start in prop_oneof![(0u64..2048).prop_map(|k| k * MIB2), (0u64..(1 << 24)).prop_map(|k| k * MIB2)],
        size in (1u64..=32768).prop_map(|k| k * MIB2),
        isolation in prop_oneof![
            Just(ParavisorIsolation::None),
            Just(ParavisorIsolation::Vbs),
            Just(ParavisorIsolation::Snp),
            Just(ParavisorIsolation::Tdx),
        ],
    ) {
        let config = IdentityMapConfig::paravisor(1 << 45, start, size, isolation);
        let mapped_end = start + config.mapped_region.size;
        let isolated = matches!(isolation, ParavisorIsolation::Snp | ParavisorIsolation::Tdx);
        match required_tables(&config) {
            Ok(tables) => {
                let pages = paravisor_page_table_region_pages(&config).unwrap();
                prop_assert!(tables as u64 <= pages, "{} tables > {} pages", tables, pages);
            }
            // docs/algorithms.md §9 row 6: local map [2 MiB, 4 MiB) overlap.
            Err(PageTableError::LocalMapOverlap { .. }) => {
                prop_assert!(isolated && start < 4 * 0x10_0000 && mapped_end > 2 * 0x10_0000);
            }
            // §9 row 7: TDX with S in [1 GiB, 4 GiB - 2 MiB].
            Err(PageTableError::AlreadyMapped { va }) => {
                prop_assert_eq!(isolation, ParavisorIsolation::Tdx);
                prop_assert_eq!(va, 0xFFFF_F000);
                prop_assert!((GIB..=4 * GIB - MIB2).contains(&start));
            }
            // §9 row 4: more than 512 GiB is impossible here (≤ 64 GiB).
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }

    #[test]
    fn pde_table_count_is_the_number_of_gib_slots_touched(
        start in prop_oneof![0u64..(4 * GIB), 0u64..(1 << 47)],
        size in prop_oneof![1u64..(2 * GIB), 1u64..(1 << 40)],
    ) {
        // A brute-force model: distinct 1 GiB slots of [start, start + size).
        let slots = ((start + size - 1) >> 30) - (start >> 30) + 1;
        prop_assert_eq!(calculate_pde_table_count(start, size).unwrap(), slots);
    }

    #[test]
    fn walker_never_panics_and_terminates_on_arbitrary_bytes(
        tables in 1usize..=6,
        tail in 0usize..64,
        raw in proptest::collection::vec((0u8..64, any::<u64>(), 0usize..6, any::<u16>()), 6 * 512 + 8),
        density in 0u8..4,
        noise in any::<bool>(),
        layered in any::<bool>(),
        cr3_table in 0u64..5,
        cbit in proptest::option::of(prop_oneof![Just(51u8), Just(47u8), Just(12u8)]),
        vas in proptest::collection::vec(any::<u64>(), 8),
    ) {
        let base = 0x7_0000_0000u64;
        let len = tables * 4096 + tail;
        let mut bytes = vec![0u8; len];
        // Mostly empty entries; pointers into the given tables with random
        // low bits (PS included), sometimes only to later tables ("layered",
        // so walks reach leaves instead of loops); optionally random noise.
        let pointer_threshold = 1u8 << density;
        for (i, chunk) in bytes.chunks_mut(8).enumerate() {
            let (kind, random, target, low) = raw[i % raw.len()];
            let table = i / 512;
            let target = if layered && table + 1 < tables {
                table + 1 + target % (tables - table - 1)
            } else {
                target % tables
            };
            let value = if noise && kind == 63 {
                random
            } else if kind < pointer_threshold {
                // PS (bit 7) in one pointer of 8.
                let ps = if low & 0x7000 == 0 { 0x80 } else { 0 };
                (base + target as u64 * 4096) | u64::from(low & 0x17F) | ps | 1
            } else {
                0
            };
            let le = value.to_le_bytes();
            chunk.copy_from_slice(&le[..chunk.len()]);
        }
        // CR3 inside the tables, except one case in five.
        let cr3 = base + if cr3_table == 4 { tables as u64 * 4096 } else { (cr3_table % tables as u64) * 4096 };
        let walker = PageTableWalker::new(&bytes, base, cr3, cbit).unwrap();
        let mut count = 0u64;
        for item in walker.mappings() {
            count += 1;
            prop_assert!(count <= 512 * tables as u64 + 1);
            if item.is_err() {
                break;
            }
        }
        for va in vas {
            let _ = walker.translate(va);
            let _ = walker.translate(va & 0x7FFF_FFFF_FFFF);
        }
        let _ = walker.regions().count();
    }
}

/// Random sorted, disjoint, 4 KiB-aligned ranges (some empty), built with the
/// sorted-ranges builder (docs/abi-versions.md §3.4).
fn sorted_ranges() -> impl Strategy<Value = Vec<x86_pagetables::MemoryRange>> {
    // (gap, size) pairs in 4 KiB pages, mostly around 2 MiB and 1 GiB
    // boundaries so every leaf size shows up.
    let pages = prop_oneof![
        0u64..4,
        0u64..1024,
        Just(GIB / KIB4 - 512),
        Just(GIB / KIB4),
        (1u64..4).prop_map(|g| g * GIB / KIB4 + 512),
    ];
    proptest::collection::vec((pages.clone(), pages), 1..5).prop_map(|pairs| {
        let mut at = 0u64;
        pairs
            .into_iter()
            .map(|(gap, size)| {
                at += gap * KIB4;
                let r = x86_pagetables::MemoryRange::new(at, size * KIB4);
                at += size * KIB4;
                r
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The walker reads back exactly the ranges, identity-mapped, with the
    /// largest leaf each address's alignment and remaining size allow.
    #[test]
    fn sorted_ranges_read_back_with_greedy_leaves(ranges in sorted_ranges(), snp in any::<bool>()) {
        let gpa = 0x10_0000_0000u64;
        let mut config = x86_pagetables::SortedRangesConfig::new(gpa, &ranges);
        if snp {
            config = config.with_confidential_bit(51);
        }
        let tables = match x86_pagetables::required_sorted_range_tables(&config) {
            Ok(t) => t,
            Err(PageTableError::TooManyTables { needed, max: 20 }) => {
                prop_assert!(needed > 20);
                return Ok(());
            }
            Err(e) => panic!("{e}"),
        };
        let mut out = vec![0u8; x86_pagetables::PAGE_TABLE_MAX_BYTES];
        let used = x86_pagetables::build_sorted_ranges(&config, &mut out).unwrap();
        prop_assert_eq!(used, tables * 4096);
        let walker = PageTableWalker::new(&out[..used], gpa, gpa, config.confidential_bit).unwrap();
        let mut expected: Vec<(u64, u64)> = Vec::new();
        for r in ranges.iter().filter(|r| r.size > 0) {
            match expected.last_mut() {
                Some(last) if last.1 == r.start => last.1 += r.size,
                _ => expected.push((r.start, r.start + r.size)),
            }
        }
        let got: Vec<(u64, u64)> = walker
            .regions()
            .map(|m| {
                let m: MappedRegion = m.unwrap();
                prop_assert_eq!(m.va, m.pa);
                Ok((m.va, m.va + m.size))
            })
            .collect::<Result<_, TestCaseError>>()?;
        prop_assert_eq!(got, expected);
        for t in walker.mappings() {
            let t = t.unwrap();
            let range = ranges.iter().find(|r| r.start <= t.va && t.va < r.start + r.size).unwrap();
            let end = range.start + range.size;
            let greedy = if t.va % GIB == 0 && t.va + GIB <= end {
                PageSize::Size1GiB
            } else if t.va % MIB2 == 0 && t.va + MIB2 <= end {
                PageSize::Size2MiB
            } else {
                PageSize::Size4KiB
            };
            prop_assert_eq!(t.page_size, greedy, "leaf at {:#x}", t.va);
        }
    }
}

//! Pins the original `PageTableBuilder` output for the paravisor's
//! configurations. Every expected value is stated from the spec
//! (docs/worked-example.md §7 and Appendix A, docs/algorithms.md §4.2) or from the
//! golden summaries the original loader produced (tests/golden/summaries),
//! never computed by the code under test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use sha2::Digest;
use x86_pagetables::IdentityMapConfig;
use x86_pagetables::ParavisorIsolation;
use x86_pagetables::build_identity_map;
use x86_pagetables::paravisor_page_table_region_pages;
use x86_pagetables::required_tables;

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

/// Entry `index` of table `table` in `bytes`.
fn entry(bytes: &[u8], table: usize, index: usize) -> u64 {
    let o = table * 4096 + index * 8;
    u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap())
}

/// Builds `config` into a region of `pages` pages pre-filled with garbage
/// (the builder must zero what it does not use), returns (region, used).
fn build(config: &IdentityMapConfig<'_>, pages: usize) -> (Vec<u8>, usize) {
    let mut region = vec![0xA5u8; pages * 4096];
    let used = build_identity_map(config, &mut region).unwrap();
    assert_eq!(used, required_tables(config).unwrap() * 4096);
    assert!(
        region[used..].iter().all(|b| *b == 0),
        "unused pages not zero"
    );
    (region, used)
}

/// Asserts that exactly the `expected` (table, index, value) entries are
/// non-zero in the first `tables` tables.
fn assert_entries(bytes: &[u8], tables: usize, expected: &[(usize, usize, u64)]) {
    for t in 0..tables {
        for i in 0..512 {
            let want = expected
                .iter()
                .find(|(et, ei, _)| *et == t && *ei == i)
                .map_or(0, |e| e.2);
            assert_eq!(entry(bytes, t, i), want, "table {t} entry {i}");
        }
    }
}

#[test]
fn worked_example_64_mib_at_128_mib_matches_the_spec_byte_for_byte() {
    // docs/worked-example.md §7: region 0x0849_3000, 7 pages, 3 built.
    let config = IdentityMapConfig::paravisor(
        0x0849_3000,
        0x0800_0000,
        0x0400_0000,
        ParavisorIsolation::None,
    );
    assert_eq!(paravisor_page_table_region_pages(&config), Ok(7));
    assert_eq!(required_tables(&config), Ok(3));
    let (bytes, used) = build(&config, 7);
    assert_eq!(used, 0x3000);
    assert_eq!(bytes[..8], [0x23, 0x40, 0x49, 0x08, 0, 0, 0, 0]);
    let mut expected = vec![(0, 0, 0x0849_4023), (1, 0, 0x0849_5023)];
    for k in 0..32u64 {
        expected.push((2, 64 + k as usize, (0x0800_0000 + k * 0x20_0000) | 0xE3));
    }
    // Spot values from the spec's table of the 32 leaves.
    assert!(expected.contains(&(2, 64, 0x0800_00E3)));
    assert!(expected.contains(&(2, 95, 0x0BE0_00E3)));
    assert_eq!(entry(&bytes, 2, 80), 0x0A00_00E3);
    assert_entries(&bytes, 3, &expected);
}

#[test]
fn snp_64_mib_sets_c_bit_51_in_every_entry_and_maps_the_local_map() {
    // docs/worked-example.md Appendix A, SNP: tables at 0x0869_3000, 8 pages, 3 used.
    let config = IdentityMapConfig::paravisor(
        0x0869_3000,
        0x0800_0000,
        0x0400_0000,
        ParavisorIsolation::Snp,
    );
    assert_eq!(paravisor_page_table_region_pages(&config), Ok(8));
    let (bytes, used) = build(&config, 8);
    assert_eq!(used, 3 * 4096);
    let mut expected = vec![
        (0, 0, 0x0008_0000_0869_4023),
        (1, 0, 0x0008_0000_0869_5023),
        (2, 1, 0x0008_0000_0020_00E3),
    ];
    for k in 0..32u64 {
        expected.push((2, 64 + k as usize, 0x0008_0000_0800_00E3 + k * 0x20_0000));
    }
    assert!(expected.contains(&(2, 95, 0x0008_0000_0BE0_00E3)));
    assert_entries(&bytes, 3, &expected);
}

#[test]
fn tdx_3_gib_with_local_map_and_reset_vector_uses_7_tables() {
    // docs/worked-example.md Appendix A, TDX: tables at 0x0869_3000, 17 pages,
    // 7 used; PD3 entry 511 -> table 6 (0x0869_9023); table 6 entry 511 =
    // 0xFFFF_F063; no C-bit.
    let config = IdentityMapConfig::paravisor(
        0x0869_3000,
        0x0800_0000,
        0x0400_0000,
        ParavisorIsolation::Tdx,
    );
    assert_eq!(paravisor_page_table_region_pages(&config), Ok(17));
    let (bytes, used) = build(&config, 17);
    assert_eq!(used, 7 * 4096);
    let mut expected = vec![
        (0, 0, 0x0869_4023),
        (1, 0, 0x0869_5023),
        (1, 1, 0x0869_6023),
        (1, 2, 0x0869_7023),
        (1, 3, 0x0869_8023),
        (2, 1, 0x0020_00E3), // local map at 2 MiB, in PD0
        (5, 511, 0x0869_9023),
        (6, 511, 0xFFFF_F063),
    ];
    // 0x0800_0000 .. 0xC7FF_FFFF: PD0 entries 64..=511, PD1, PD2 full,
    // PD3 entries 0..=63.
    for gib in 0..4u64 {
        let (first, last) = match gib {
            0 => (64, 511),
            3 => (0, 63),
            _ => (0, 511),
        };
        for i in first..=last {
            expected.push((2 + gib as usize, i, (gib * GIB + i as u64 * 2 * MIB) | 0xE3));
        }
    }
    assert_entries(&bytes, 7, &expected);
}

#[test]
fn two_gib_at_1_gib_minus_2_mib_allocates_pds_in_va_order() {
    // docs/algorithms.md §4.2: PML4, PDPT, then PDs for GiB 0, 1, 2 (5 tables).
    let start = GIB - 2 * MIB;
    let config = IdentityMapConfig::new(0x10_0000, start, 2 * GIB);
    assert_eq!(required_tables(&config), Ok(5));
    let (bytes, _) = build(&config, 5);
    let mut expected = vec![
        (0, 0, 0x10_1023),
        (1, 0, 0x10_2023),
        (1, 1, 0x10_3023),
        (1, 2, 0x10_4023),
        (2, 511, 0x3FE0_00E3),
    ];
    for i in 0..512u64 {
        expected.push((3, i as usize, (GIB + i * 2 * MIB) | 0xE3));
    }
    // The map ends at 3 GiB - 2 MiB: PD2 entries 0..=510.
    for i in 0..511u64 {
        expected.push((4, i as usize, (2 * GIB + i * 2 * MIB) | 0xE3));
    }
    assert_entries(&bytes, 5, &expected);
}

/// (name, page-table GPA = CR3, memory start, memory size, isolation,
/// region pages, SHA-256 of the whole region) from tests/golden/cases and
/// tests/golden/summaries (the original loader's output).
const GOLDEN: &[(&str, u64, u64, u64, ParavisorIsolation, usize, &str)] = &[
    (
        "x64-none-fixed256m-64m-pcat-uefi",
        0x1029_5000,
        256 * MIB,
        64 * MIB,
        ParavisorIsolation::None,
        7,
        "3b1e89842f803db2b2192a5eab6cdeb1339bfeac578892623c26125edbedcdf0",
    ),
    (
        "x64-none-reloc-1g-cross-sidecar-initrd5000",
        0x0849_2000,
        128 * MIB,
        GIB,
        ParavisorIsolation::None,
        9,
        "9f27600e116d086566e355d5c30787b4d0927cfa1fb7f6b5bea89de228d3be77",
    ),
    (
        "x64-none-reloc-64m-pcat",
        0x0829_5000,
        128 * MIB,
        64 * MIB,
        ParavisorIsolation::None,
        7,
        "222e888ff68a88bbc7480c0b0e565ce5eb01fb512e1eccdff0ebe1f0e00c7813",
    ),
    (
        "x64-vbs-nobase-64m-linux-initrd",
        0x0839_5000,
        128 * MIB,
        64 * MIB,
        ParavisorIsolation::Vbs,
        7,
        "c4c8c8bce2cbb7f514ba56df2c4413392a6859e322cbac4f7c3e2c5195a4c0cb",
    ),
    (
        "x64-snp46-nobase-64m-uefi",
        0x0849_5000,
        128 * MIB,
        64 * MIB,
        ParavisorIsolation::Snp,
        8,
        "46e95fae134d1eedcdb7f2c84c94b66ebfb78cfd93a5db4e8383de8a6cbf6371",
    ),
    (
        "x64-tdx47-nobase-64m-uefi",
        0x0849_5000,
        128 * MIB,
        64 * MIB,
        ParavisorIsolation::Tdx,
        17,
        "bf2f608651d9c7280bc7a721d047e0348cbd76f55dfc51a03fc4164335028868",
    ),
];

#[test]
fn whole_page_table_regions_hash_like_the_originals_golden_imports() {
    for &(name, gpa, start, size, isolation, pages, sha) in GOLDEN {
        let config = IdentityMapConfig::paravisor(gpa, start, size, isolation);
        assert_eq!(
            paravisor_page_table_region_pages(&config),
            Ok(pages as u64),
            "{name}: region pages"
        );
        let (bytes, _) = build(&config, pages);
        let digest = sha2::Sha256::digest(&bytes);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, sha, "{name}: page-table region bytes differ");
    }
}

#[test]
fn one_gib_at_128_mib_crosses_into_a_second_pd() {
    // Golden case x64-none-reloc-1g-cross: 5 + 2 × 2 = 9 pages, 4 used
    // (page_table_relocation used_pages 4).
    let config =
        IdentityMapConfig::paravisor(0x0849_2000, 128 * MIB, GIB, ParavisorIsolation::None);
    assert_eq!(required_tables(&config), Ok(4));
}

//! Every invalid configuration is a typed error (the original's panics,
//! docs/algorithms.md §9 rows 3–8, and this crate's own checks), and the opt-in
//! extensions produce the entries they promise.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use x86_pagetables::IdentityMapConfig;
use x86_pagetables::IdentityRange;
use x86_pagetables::PageSize;
use x86_pagetables::PageTable;
use x86_pagetables::PageTableError as E;
use x86_pagetables::PageTableWalker;
use x86_pagetables::ParavisorIsolation;
use x86_pagetables::build_identity_map;
use x86_pagetables::build_identity_map_tables;
use x86_pagetables::required_tables;

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

fn entry(bytes: &[u8], table: usize, index: usize) -> u64 {
    let o = table * 4096 + index * 8;
    u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap())
}

/// The error of `config`, from both `required_tables` and
/// `build_identity_map` (which must then leave the buffer untouched).
fn error_of(config: &IdentityMapConfig<'_>) -> E {
    let sized = required_tables(config).unwrap_err();
    let mut buffer = vec![0x5Au8; 64 * 4096];
    let built = build_identity_map(config, &mut buffer).unwrap_err();
    assert_eq!(sized, built);
    assert!(buffer.iter().all(|b| *b == 0x5A), "buffer written on error");
    built
}

#[test]
fn the_originals_size_and_alignment_panics_are_errors() {
    // §9 row 3: size 0 ("size not set").
    assert_eq!(
        error_of(&IdentityMapConfig::new(0, 128 * MIB, 0)),
        E::EmptyRegion { start: 128 * MIB }
    );
    // §9 row 4: more than 512 GiB; exactly 512 GiB is allowed.
    assert_eq!(
        error_of(&IdentityMapConfig::new(0, 0, 512 * GIB + 2 * MIB)),
        E::RegionTooLarge {
            start: 0,
            size: 512 * GIB + 2 * MIB,
            limit: 512 * GIB
        }
    );
    // 512 GiB from 0: PML4, PDPT, 512 PDs.
    assert_eq!(
        required_tables(&IdentityMapConfig::new(0, 0, 512 * GIB)),
        Ok(514)
    );
    // §9 row 5: size / start not 2 MiB aligned.
    assert_eq!(
        error_of(&IdentityMapConfig::new(0, 0, 3 * MIB)),
        E::RegionSizeUnaligned {
            start: 0,
            size: 3 * MIB
        }
    );
    assert_eq!(
        error_of(&IdentityMapConfig::new(0, MIB, 2 * MIB)),
        E::RegionStartUnaligned {
            start: MIB,
            size: 2 * MIB
        }
    );
    // The original checks size before start.
    assert!(matches!(
        error_of(&IdentityMapConfig::new(0, MIB, MIB)),
        E::RegionSizeUnaligned { .. }
    ));
}

#[test]
fn local_map_errors_follow_the_originals_checks() {
    let base = IdentityMapConfig::new(0, 128 * MIB, 64 * MIB);
    assert_eq!(
        error_of(&base.with_local_map(MIB, 2 * MIB)),
        E::LocalMapStartUnaligned {
            va: MIB,
            size: 2 * MIB
        }
    );
    assert_eq!(
        error_of(&base.with_local_map(2 * MIB, MIB)),
        E::LocalMapSizeUnaligned {
            va: 2 * MIB,
            size: MIB
        }
    );
    assert_eq!(
        error_of(&base.with_local_map(2 * MIB, 0)),
        E::LocalMapEmpty { va: 2 * MIB }
    );
    assert_eq!(
        error_of(&base.with_local_map(190 * MIB, 4 * MIB)),
        E::LocalMapOverlap {
            va: 190 * MIB,
            size: 4 * MIB,
            region_start: 128 * MIB,
            region_size: 64 * MIB
        }
    );
    // Touching but not overlapping is fine.
    assert!(required_tables(&base.with_local_map(192 * MIB, 2 * MIB)).is_ok());
}

#[test]
fn snp_and_tdx_with_memory_at_2_mib_or_0_overlap_the_local_map() {
    // §9 row 6: SNP/TDX with S = 2 MiB, or S = 0 and mapped size > 2 MiB.
    for isolation in [ParavisorIsolation::Snp, ParavisorIsolation::Tdx] {
        let at_2m = IdentityMapConfig::paravisor(GIB, 2 * MIB, 64 * MIB, isolation);
        assert!(matches!(error_of(&at_2m), E::LocalMapOverlap { .. }));
        let at_0 = IdentityMapConfig::paravisor(GIB, 0, 64 * MIB, isolation);
        assert!(matches!(error_of(&at_0), E::LocalMapOverlap { .. }));
    }
    // S = 0 with exactly 2 MiB (SNP) does not overlap [2 MiB, 4 MiB).
    let snp = IdentityMapConfig::paravisor(GIB, 0, 2 * MIB, ParavisorIsolation::Snp);
    assert_eq!(required_tables(&snp), Ok(3));
}

#[test]
fn tdx_map_covering_the_reset_vector_is_already_mapped() {
    // §9 row 7: TDX with S in [1 GiB, 4 GiB - 2 MiB].
    for start in [GIB, 2 * GIB, 4 * GIB - 2 * MIB] {
        let config =
            IdentityMapConfig::paravisor(8 * GIB, start, 64 * MIB, ParavisorIsolation::Tdx);
        assert_eq!(
            error_of(&config),
            E::AlreadyMapped { va: 0xFFFF_F000 },
            "S = {start:#x}"
        );
    }
    for start in [GIB - 2 * MIB, 4 * GIB] {
        let config =
            IdentityMapConfig::paravisor(8 * GIB, start, 64 * MIB, ParavisorIsolation::Tdx);
        assert!(required_tables(&config).is_ok(), "S = {start:#x}");
    }
}

#[test]
fn overflow_address_space_and_table_base_errors() {
    let start = 0xFFFF_FFFF_FFE0_0000; // the last 2 MiB-aligned address
    assert_eq!(start % (2 * MIB), 0);
    assert_eq!(
        error_of(&IdentityMapConfig::new(0, start, 4 * MIB)),
        E::RangeOverflow {
            start,
            size: 4 * MIB
        }
    );
    // Above 2^48 the PML4 index would wrap.
    assert_eq!(
        error_of(&IdentityMapConfig::new(0, (1 << 48) - 2 * MIB, 4 * MIB)),
        E::BeyondAddressSpace {
            start: (1 << 48) - 2 * MIB,
            size: 4 * MIB,
            limit: 1 << 48
        }
    );
    assert!(required_tables(&IdentityMapConfig::new(0, (1 << 48) - 2 * MIB, 2 * MIB)).is_ok());
    // §9 row 8: an unaligned table base.
    assert_eq!(
        error_of(&IdentityMapConfig::new(0x1234, 0, 2 * MIB)),
        E::TableBaseUnaligned { gpa: 0x1234 }
    );
    // Tables above the physical address space.
    assert!(matches!(
        error_of(&IdentityMapConfig::new((1 << 52) - 0x2000, 0, 2 * MIB)),
        E::TableRegionOverflow { tables: 3, .. }
    ));
}

#[test]
fn confidential_bit_must_be_an_address_bit_above_every_mapping() {
    let base = IdentityMapConfig::new(GIB, 0, 2 * MIB);
    for bit in [0u8, 11, 52, 63, 64, 255] {
        assert_eq!(
            error_of(&base.with_confidential_bit(bit)),
            E::ConfidentialBitInvalid { bit }
        );
    }
    // Bit 30: mapping [0, 2 MiB) is fine but the tables at 1 GiB are not.
    assert!(matches!(
        error_of(&base.with_confidential_bit(30)),
        E::TableRegionOverflow { .. }
    ));
    let low_tables = IdentityMapConfig::new(0x10_0000, 2 * GIB, 2 * MIB).with_confidential_bit(31);
    assert_eq!(
        error_of(&low_tables),
        E::ConfidentialBitCollision {
            bit: 31,
            start: 2 * GIB,
            size: 2 * MIB
        }
    );
}

#[test]
fn too_small_buffers_are_errors_and_left_untouched() {
    let config = IdentityMapConfig::new(0x0849_3000, 128 * MIB, 64 * MIB);
    for len in [0usize, 1, 4096, 3 * 4096 - 1] {
        let mut buffer = vec![0x77u8; len];
        assert_eq!(
            build_identity_map(&config, &mut buffer),
            Err(E::BufferTooSmall {
                needed: 3 * 4096,
                available: len
            })
        );
        assert!(buffer.iter().all(|b| *b == 0x77));
    }
    let mut exact = vec![0u8; 3 * 4096];
    assert_eq!(build_identity_map(&config, &mut exact), Ok(3 * 4096));
}

#[test]
fn additional_ranges_are_validated() {
    let base = IdentityMapConfig::new(0, 128 * MIB, 64 * MIB);
    let empty = [IdentityRange::new(0x1000, 0)];
    assert_eq!(
        error_of(&base.with_additional_ranges(&empty)),
        E::RangeEmpty { start: 0x1000 }
    );
    let unaligned = [IdentityRange::new(0x1800, 0x1000)];
    assert!(matches!(
        error_of(&base.with_additional_ranges(&unaligned)),
        E::RangeUnaligned { .. }
    ));
    let overlapping = [IdentityRange::new(190 * MIB, 4 * MIB)];
    assert_eq!(
        error_of(&base.with_additional_ranges(&overlapping)),
        E::AlreadyMapped { va: 190 * MIB }
    );
    let two = [
        IdentityRange::new(0x1000, 0x3000),
        IdentityRange::new(0x3000, 0x1000),
    ];
    assert_eq!(
        error_of(&base.with_additional_ranges(&two)),
        E::AlreadyMapped { va: 0x3000 }
    );
}

#[test]
fn page_table_slices_get_the_same_bytes() {
    let config =
        IdentityMapConfig::paravisor(0x0869_3000, 128 * MIB, 64 * MIB, ParavisorIsolation::Tdx);
    let mut tables = vec![PageTable::ZERO; 17];
    tables[16].entries[3] = 99; // garbage to be cleared
    assert_eq!(build_identity_map_tables(&config, &mut tables), Ok(7));
    // docs/worked-example.md Appendix A.
    assert_eq!(tables[6].entries[511], 0xFFFF_F063);
    assert_eq!(tables[5].entries[511], 0x0869_9023);
    assert_eq!(tables[16], PageTable::ZERO);
}

#[test]
fn one_gib_pages_replace_pds_where_aligned() {
    // [1 GiB - 2 MiB, 3 GiB + 4 KiB): head in PD0, GiB 1 and 2 as 1 GiB
    // leaves, tail 4 KiB in a PD3 + PT.
    let ranges = [IdentityRange::new(3 * GIB, 0x1000)];
    let config = IdentityMapConfig::new(0x1_0000_0000, GIB - 2 * MIB, 2 * GIB + 2 * MIB)
        .with_additional_ranges(&ranges)
        .with_1gb_pages(true);
    assert_eq!(required_tables(&config), Ok(5)); // PML4, PDPT, PD0, PD3, PT
    let mut bytes = vec![0u8; 5 * 4096];
    build_identity_map(&config, &mut bytes).unwrap();
    assert_eq!(entry(&bytes, 0, 0), 0x1_0000_1023);
    assert_eq!(entry(&bytes, 1, 0), 0x1_0000_2023);
    assert_eq!(entry(&bytes, 2, 511), 0x3FE0_00E3);
    assert_eq!(entry(&bytes, 1, 1), 0x4000_00E3); // 1 GiB leaf, docs/abi.md §4.6
    assert_eq!(entry(&bytes, 1, 2), 0x8000_00E3);
    assert_eq!(entry(&bytes, 1, 3), 0x1_0000_3023);
    assert_eq!(entry(&bytes, 3, 0), 0x1_0000_4023);
    assert_eq!(entry(&bytes, 4, 0), 0xC000_0063);
    let walker = PageTableWalker::new(&bytes, 0x1_0000_0000, 0x1_0000_0000, None).unwrap();
    let t = walker.translate(GIB + 0x1234_5678).unwrap();
    assert_eq!((t.pa, t.page_size), (GIB + 0x1234_5678, PageSize::Size1GiB));
}

#[test]
fn read_only_and_no_execute_ranges_clear_rw_and_set_nx_in_leaves_only() {
    let ranges = [
        IdentityRange::new(0x20_0000, 0x20_0000).read_only(),
        IdentityRange::new(0x40_0000, 0x1000).no_execute(),
        IdentityRange::new(0x40_1000, 0x1000)
            .read_only()
            .no_execute(),
    ];
    let config = IdentityMapConfig::new(0x100_0000, 128 * MIB, 2 * MIB)
        .with_additional_ranges(&ranges)
        .with_confidential_bit(51);
    let mut bytes = vec![0u8; required_tables(&config).unwrap() * 4096];
    build_identity_map(&config, &mut bytes).unwrap();
    let c = 1u64 << 51;
    // Table 2 is the PD for GiB 0; table 3 the PT for [4 MiB, 6 MiB).
    assert_eq!(entry(&bytes, 2, 1), 0x20_0000 | 0xE1 | c);
    assert_eq!(entry(&bytes, 2, 2), 0x100_3023 | c);
    assert_eq!(entry(&bytes, 3, 0), 0x40_0000 | 0x63 | c | 1 << 63);
    assert_eq!(entry(&bytes, 3, 1), 0x40_1000 | 0x61 | c | 1 << 63);
    let walker = PageTableWalker::new(&bytes, 0x100_0000, 0x100_0000, Some(51)).unwrap();
    let t = walker.translate(0x40_1abc).unwrap();
    assert!(!t.writable && !t.executable && t.confidential);
    assert_eq!(t.pa, 0x40_1abc);
    let t = walker.translate(0x20_0000).unwrap();
    assert!(!t.writable && t.executable);
}

#[test]
fn regions_above_512_gib_span_several_pml4_entries() {
    let start = 511 * GIB;
    let size = 1025 * GIB; // 511 GiB .. 1536 GiB: PML4 entries 0, 1, 2
    let config = IdentityMapConfig::new(0, start, size);
    assert!(matches!(error_of(&config), E::RegionTooLarge { .. }));
    let lifted = config.with_more_than_512_gib(true);
    // PML4 + 3 PDPTs + 1025 PDs.
    assert_eq!(required_tables(&lifted), Ok(1 + 3 + 1025));
    let with_1g = lifted.with_1gb_pages(true);
    assert_eq!(required_tables(&with_1g), Ok(1 + 3));
    let mut bytes = vec![0u8; 4 * 4096];
    build_identity_map(&with_1g, &mut bytes).unwrap();
    let walker = PageTableWalker::new(&bytes, 0, 0, None).unwrap();
    let regions: Vec<_> = walker.regions().collect::<Result<_, _>>().unwrap();
    assert_eq!(regions.len(), 1);
    assert_eq!((regions[0].va, regions[0].size), (start, size));
}

#[test]
fn mappings_above_2_pow_47_are_reported_with_canonical_addresses() {
    let config = IdentityMapConfig::new(0, 1 << 47, 2 * MIB);
    let mut bytes = vec![0u8; 3 * 4096];
    build_identity_map(&config, &mut bytes).unwrap();
    let walker = PageTableWalker::new(&bytes, 0, 0, None).unwrap();
    let m: Vec<_> = walker.mappings().collect::<Result<_, _>>().unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!((m[0].va, m[0].pa), (0xFFFF_8000_0000_0000, 1 << 47));
    assert_eq!(
        walker.translate(0xFFFF_8000_0000_1000).unwrap().pa,
        (1 << 47) + 0x1000
    );
}

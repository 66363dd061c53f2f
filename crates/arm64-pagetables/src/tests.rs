//! Crate-level tests: the original's output pinned for the paravisor's
//! configurations, errors for every invalid input, and property tests that
//! read built tables back with the walker.

extern crate std;

use std::vec;
use std::vec::Vec;

use proptest::prelude::*;
use sha2::Digest;
use sha2::Sha256;
use vp_regs::aarch64::MemoryAttributeEl1;
use vp_regs::aarch64::MemoryAttributeIndirectionEl1;
use vp_regs::aarch64::paravisor::MAIR_EL1;

use crate::*;

const PAGE: usize = 4096;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
/// The paravisor's page-table area: 15 pages (`docs/algorithms.md` §8 step 23).
const PARAVISOR_AREA: usize = 15 * PAGE;
/// The paravisor's block descriptor bits (`docs/abi.md` §7.7).
const BLOCK_BITS: u64 = 0x0040_0000_0000_070D;
/// The paravisor's page descriptor bits (`docs/abi.md` §7.7).
const PAGE_BITS: u64 = 0x0040_0000_0000_070F;
const ROOT_FILL: u64 = 0xFEFE_FEFE_FEFE_FEFE;

fn entry(bytes: &[u8], table: usize, index: usize) -> u64 {
    let offset = table * PAGE + index * 8;
    u64::from_le_bytes(bytes[offset..offset + 8].try_into().unwrap())
}

fn sha256_hex(bytes: &[u8]) -> std::string::String {
    use std::fmt::Write;
    Sha256::digest(bytes)
        .iter()
        .fold(std::string::String::new(), |mut s, b| {
            write!(s, "{b:02x}").unwrap();
            s
        })
}

fn build_paravisor(table_gpa: u64, start: u64, size: u64) -> (Vec<u8>, usize) {
    // Garbage in the area: the builder must overwrite it all.
    let mut area = vec![0xA5u8; PARAVISOR_AREA];
    let len =
        build_identity_page_tables_aarch64(table_gpa, start, size, &MAIR_EL1, &mut area).unwrap();
    (area, len)
}

fn paravisor_attributes() -> Arm64MappingAttributes {
    Arm64MappingAttributes::paravisor(AttrIndx::new(3).unwrap())
}

type Run = (u64, u64, u64, Arm64MappingAttributes);

/// Appends `run`, merging it into the last run when it continues it in VA
/// and PA with equal attributes.
fn push_merged(runs: &mut Vec<Run>, run: Run) {
    if let Some(last) = runs.last_mut()
        && last.0 + last.2 == run.0
        && last.1 + last.2 == run.1
        && last.3 == run.3
    {
        last.2 += run.2;
    } else {
        runs.push(run);
    }
}

/// Collects the walker's mappings, merging runs that continue each other in
/// VA and PA with equal attributes, into (va, pa, size, attributes).
fn coalesced(walker: &Arm64TableWalker<'_>) -> Vec<Run> {
    let mut runs = Vec::new();
    for mapping in walker.mappings() {
        let mapping = mapping.unwrap();
        push_merged(
            &mut runs,
            (
                mapping.va,
                mapping.pa,
                mapping.size.bytes(),
                mapping.attributes,
            ),
        );
    }
    runs
}

// ---------------------------------------------------------------------------
// The original's output for the paravisor's configurations
// ---------------------------------------------------------------------------

/// docs/algorithms.md §5 example and golden case a64-none-reloc-64m-uefi: 64 MiB at
/// 128 MiB, tables at 0x868_3000.
#[test]
fn paravisor_64m_at_128m_matches_the_original() {
    let table_gpa = 0x868_3000;
    let (area, len) = build_paravisor(table_gpa, 0x800_0000, 64 * MIB);
    assert_eq!(len, 0x3000);
    // Root entry 0 → table 1; entries 1..=511 keep the 0xFE fill.
    assert_eq!(entry(&area, 0, 0), (table_gpa + 0x1000) | 0x3);
    for index in 1..512 {
        assert_eq!(entry(&area, 0, index), ROOT_FILL, "root entry {index}");
    }
    // Level-1 entry 0 → table 2; the rest zero.
    assert_eq!(entry(&area, 1, 0), (table_gpa + 0x2000) | 0x3);
    for index in 1..512 {
        assert_eq!(entry(&area, 1, index), 0, "level-1 entry {index}");
    }
    // Level-2 entries 64..=95 = 2 MiB blocks GPA | 0x0040_0000_0000_070D.
    for index in 0..512u64 {
        let expected = if (64..=95).contains(&index) {
            (index * 2 * MIB) | BLOCK_BITS
        } else {
            0
        };
        assert_eq!(
            entry(&area, 2, index as usize),
            expected,
            "level-2 entry {index}"
        );
    }
    assert!(area[len..].iter().all(|&b| b == 0));
    // The whole 15-page import, as recorded in
    // tests/golden/summaries/a64-none-reloc-64m-uefi.summary.json.
    assert_eq!(
        sha256_hex(&area),
        "3883b2256c7ae8f8e2478c4d90882cdff7f2e552f56d13eee71a48a4f3eabc91"
    );
}

/// Golden case a64-vbs-fixed1g-128m-linux: 128 MiB at 1 GiB, tables at
/// 0x4068_3000.
#[test]
fn paravisor_128m_at_1g_matches_the_original() {
    let table_gpa = 0x4068_3000;
    let (area, len) = build_paravisor(table_gpa, GIB, 128 * MIB);
    assert_eq!(len, 0x3000);
    assert_eq!(entry(&area, 0, 0), (table_gpa + 0x1000) | 0x3);
    assert_eq!(entry(&area, 0, 1), ROOT_FILL);
    assert_eq!(entry(&area, 1, 0), 0);
    assert_eq!(entry(&area, 1, 1), (table_gpa + 0x2000) | 0x3);
    for index in 0..64u64 {
        assert_eq!(
            entry(&area, 2, index as usize),
            (GIB + index * 2 * MIB) | BLOCK_BITS
        );
    }
    assert_eq!(entry(&area, 2, 64), 0);
    assert_eq!(
        sha256_hex(&area),
        "84220d4e781a41d8d1224001d0ff13997797f4548f12a2ec2097043ae85137fa"
    );
}

/// docs/algorithms.md §5 example: 3 GiB + 2 MiB at 1 GiB − 2 MiB.
#[test]
fn paravisor_1g_blocks_follow_a_2m_head() {
    let table_gpa = 0x1_0000_0000;
    let (area, len) = build_paravisor(table_gpa, GIB - 2 * MIB, 3 * GIB + 2 * MIB);
    assert_eq!(len, 0x3000);
    assert_eq!(entry(&area, 0, 0), (table_gpa + 0x1000) | 0x3);
    assert_eq!(entry(&area, 1, 0), (table_gpa + 0x2000) | 0x3);
    assert_eq!(entry(&area, 2, 511), 0x3FE0_0000 | BLOCK_BITS);
    assert_eq!(entry(&area, 2, 510), 0);
    for index in 1..=3u64 {
        assert_eq!(entry(&area, 1, index as usize), (index * GIB) | BLOCK_BITS);
    }
    assert_eq!(entry(&area, 1, 4), 0);
}

#[test]
fn size_query_matches_the_spec_examples() {
    assert_eq!(
        required_identity_table_bytes(0x800_0000, 64 * MIB),
        Ok(0x3000)
    );
    assert_eq!(required_identity_table_bytes(GIB, 128 * MIB), Ok(0x3000));
    assert_eq!(
        required_identity_table_bytes(GIB - 2 * MIB, 3 * GIB + 2 * MIB),
        Ok(0x3000)
    );
    // 1 GiB-aligned and a multiple of 1 GiB: root and one level-1 table.
    assert_eq!(required_identity_table_bytes(GIB, 64 * GIB), Ok(0x2000));
}

#[test]
fn mair_write_back_index_is_3_for_the_paravisor() {
    // docs/abi.md §7.5: index_of(Normal_WriteBack) = 3.
    assert_eq!(write_back_index(&MAIR_EL1).map(AttrIndx::get), Ok(3));
    let mut mair = MAIR_EL1;
    mair.0[6] = MemoryAttributeEl1::NormalWriteBack;
    assert_eq!(write_back_index(&mair).map(AttrIndx::get), Ok(3));
}

// ---------------------------------------------------------------------------
// Errors where the original panics
// ---------------------------------------------------------------------------

fn identity(
    table_gpa: u64,
    start: u64,
    size: u64,
    pages: usize,
) -> Result<usize, Arm64PageTableError> {
    let mut area = vec![0u8; pages * PAGE];
    build_identity_page_tables_aarch64(table_gpa, start, size, &MAIR_EL1, &mut area)
}

#[test]
fn identity_rejects_unaligned_start_and_size() {
    assert_eq!(
        identity(0x1000, 0x10_0000, 2 * MIB, 15),
        Err(Arm64PageTableError::IdentityStartMisaligned {
            start_gpa: 0x10_0000
        })
    );
    assert_eq!(
        identity(0x1000, 2 * MIB, 3 * MIB, 15),
        Err(Arm64PageTableError::IdentitySizeMisaligned { size: 3 * MIB })
    );
}

#[test]
fn identity_rejects_empty_maps_and_bad_areas() {
    assert_eq!(
        identity(0x1000, 2 * MIB, 0, 15),
        Err(Arm64PageTableError::EmptyMapping)
    );
    assert_eq!(
        identity(0x1800, 2 * MIB, 2 * MIB, 15),
        Err(Arm64PageTableError::MisalignedTableArea { gpa: 0x1800 })
    );
    assert_eq!(
        identity(0x1000, 2 * MIB, 2 * MIB, 0),
        Err(Arm64PageTableError::EmptyTableArea)
    );
    let mut odd = vec![0u8; 3 * PAGE + 8];
    assert_eq!(
        build_identity_page_tables_aarch64(0x1000, 2 * MIB, 2 * MIB, &MAIR_EL1, &mut odd),
        Err(Arm64PageTableError::InvalidTableAreaSize { len: 3 * PAGE + 8 })
    );
    assert_eq!(
        identity(u64::MAX - 0xFFF, 2 * MIB, 2 * MIB, 2),
        Err(Arm64PageTableError::TableAreaOverflow {
            gpa: u64::MAX - 0xFFF,
            len: 2 * PAGE
        })
    );
}

#[test]
fn identity_without_write_back_is_an_error() {
    let mair = MemoryAttributeIndirectionEl1([MemoryAttributeEl1::DeviceNGnRnE; 8]);
    let mut area = vec![0u8; PARAVISOR_AREA];
    assert_eq!(
        build_identity_page_tables_aarch64(0x1000, 2 * MIB, 2 * MIB, &mair, &mut area),
        Err(Arm64PageTableError::MissingWriteBack { mair: 0 })
    );
}

#[test]
fn identity_reaching_2_pow_47_is_an_error() {
    // The last 2 MiB below 2^47 is fine; crossing 2^47 is not canonical.
    let top = 1u64 << 47;
    assert_eq!(identity(0x1000, top - 2 * MIB, 2 * MIB, 15), Ok(0x3000));
    assert_eq!(
        identity(0x1000, top - 2 * MIB, 4 * MIB, 15),
        Err(Arm64PageTableError::NonCanonicalVirtAddress { va: top })
    );
    assert_eq!(
        identity(0x1000, top, 2 * MIB, 15),
        Err(Arm64PageTableError::NonCanonicalVirtAddress { va: top })
    );
    assert_eq!(
        required_identity_table_bytes(top, 2 * MIB),
        Err(Arm64PageTableError::NonCanonicalVirtAddress { va: top })
    );
}

#[test]
fn identity_out_of_memory_when_the_area_is_too_small() {
    // 64 MiB at 128 MiB needs 3 tables (docs/algorithms.md §5).
    assert_eq!(
        identity(0x1000, 0x800_0000, 64 * MIB, 2),
        Err(Arm64PageTableError::OutOfMemory {
            required: 3,
            available: 2
        })
    );
    assert_eq!(identity(0x1000, 0x800_0000, 64 * MIB, 3), Ok(0x3000));
}

#[test]
fn tables_above_2_pow_47_are_an_error() {
    // Root at 2^47 − 4 KiB: the first allocated table would be at 2^47.
    let table_gpa = (1u64 << 47) - 0x1000;
    assert_eq!(
        identity(table_gpa, 2 * MIB, 2 * MIB, 4),
        Err(Arm64PageTableError::TableAddressTooLarge { table_gpa: 1 << 47 })
    );
}

#[test]
fn map_range_checks_alignment_in_the_original_order() {
    let mut area = vec![0u8; 4 * PAGE];
    let mut space = Arm64TableSpace::new(0x1000, &mut area).unwrap();
    let attributes = paravisor_attributes();
    assert_eq!(
        space.map_range(0x800, 0x2000, 0x1000, attributes),
        Err(Arm64PageTableError::MisalignedPhysAddress {
            pa: 0x800,
            alignment: 0x1000
        })
    );
    assert_eq!(
        space.map_range(0x1000, 0x2000, 0x1800, attributes),
        Err(Arm64PageTableError::InvalidMappingSize { size: 0x1800 })
    );
    assert_eq!(
        space.map_range(0x1000, 0x2000, 0, attributes),
        Err(Arm64PageTableError::EmptyMapping)
    );
    assert_eq!(
        space.map_range(0x1000, 0x2010, 0x1000, attributes),
        Err(Arm64PageTableError::MisalignedVirtAddress {
            va: 0x2010,
            alignment: 0x1000
        })
    );
    assert_eq!(
        space.map_range(0x1000, 0x0001_0000_0000_0000, 0x1000, attributes),
        Err(Arm64PageTableError::NonCanonicalVirtAddress {
            va: 0x0001_0000_0000_0000
        })
    );
    assert_eq!(
        space.map_range(0x1000, u64::MAX - 0xFFF, 0x2000, attributes),
        Err(Arm64PageTableError::RangeOverflow {
            start: u64::MAX - 0xFFF,
            size: 0x2000
        })
    );
    assert_eq!(
        space.map_range((1 << 47) - 0x1000, 0, 0x2000, attributes),
        Err(Arm64PageTableError::PhysAddressTooLarge {
            pa: (1 << 47) - 0x1000,
            last: (1 << 47) + 0xFFF
        })
    );
    assert_eq!(space.used_len(), PAGE);
}

#[test]
fn overlap_is_already_mapped_and_changes_nothing() {
    let mut area = vec![0u8; 8 * PAGE];
    let mut space = Arm64TableSpace::new(0x10_0000, &mut area).unwrap();
    let attributes = paravisor_attributes();
    space
        .map_range(0x4000_0000, 0x4000_0000, 4 * MIB, attributes)
        .unwrap();
    let before = (space.tables().to_vec(), space.used_len());
    // Starts before the mapping (needs a new level-3 table), ends inside it.
    assert_eq!(
        space.map_range(0x3FFF_F000, 0x3FFF_F000, 0x2000, attributes),
        Err(Arm64PageTableError::AlreadyMapped {
            va: 0x4000_0000,
            level: 2
        })
    );
    assert_eq!((space.tables().to_vec(), space.used_len()), before);
    // A 4 KiB page inside a 2 MiB block.
    assert_eq!(
        space.map_range(0x1000, 0x4010_0000, 0x1000, attributes),
        Err(Arm64PageTableError::AlreadyMapped {
            va: 0x4010_0000,
            level: 2
        })
    );
    assert_eq!((space.tables().to_vec(), space.used_len()), before);
    // A 1 GiB block where a table (holding 2 MiB blocks) already is.
    assert_eq!(
        space.map_range(0, 0x4000_0000, GIB, attributes),
        Err(Arm64PageTableError::AlreadyMapped {
            va: 0x4000_0000,
            level: 1
        })
    );
    assert_eq!((space.tables().to_vec(), space.used_len()), before);
}

#[test]
fn four_kib_pages_use_level_3_descriptors() {
    let mut area = vec![0u8; 8 * PAGE];
    let mut space = Arm64TableSpace::new(0x10_0000, &mut area).unwrap();
    space
        .map_range(0x20_1000, 0x20_1000, 0x2000, paravisor_attributes())
        .unwrap();
    // Root, level 1, level 2, level 3.
    assert_eq!(space.used_len(), 0x4000);
    let tables = space.tables();
    assert_eq!(entry(tables, 3, 1), 0x20_1000 | PAGE_BITS);
    assert_eq!(entry(tables, 3, 2), 0x20_2000 | PAGE_BITS);
    assert_eq!(entry(tables, 3, 0), 0);
}

#[test]
fn unaligned_4k_runs_stop_at_the_next_1g_boundary_first() {
    // docs/algorithms.md §5: a 4 KiB run goes to the next 1 GiB boundary when it
    // lies within the range, even past 2 MiB boundaries.
    let mut area = vec![0u8; 600 * PAGE];
    let mut space = Arm64TableSpace::new(0x8000_0000, &mut area).unwrap();
    space
        .map_range(0x1000, 0x1000, GIB, paravisor_attributes())
        .unwrap();
    let walker = Arm64TableWalker::new(space.tables(), 0x8000_0000, 0x8000_0000).unwrap();
    let mut count = 0u64;
    for mapping in walker.mappings() {
        assert_eq!(mapping.unwrap().size, Arm64PageSize::Small);
        count += 1;
    }
    assert_eq!(count, GIB / 0x1000);
}

// ---------------------------------------------------------------------------
// Walker on corrupt tables
// ---------------------------------------------------------------------------

fn put(bytes: &mut [u8], table: usize, index: usize, value: u64) {
    let offset = table * PAGE + index * 8;
    bytes[offset..offset + 8].copy_from_slice(&value.to_le_bytes());
}

#[test]
fn walker_reads_fe_root_entries_as_invalid() {
    let bytes = vec![0xFEu8; PAGE];
    let walker = Arm64TableWalker::new(&bytes, 0x1000, 0x1000).unwrap();
    assert_eq!(walker.translate(0), Ok(None));
    assert_eq!(walker.mappings().count(), 0);
}

#[test]
fn walker_errors_on_tables_outside_the_bytes() {
    let mut bytes = vec![0u8; 2 * PAGE];
    put(&mut bytes, 0, 0, 0x9000 | 3);
    let walker = Arm64TableWalker::new(&bytes, 0x1000, 0x1000).unwrap();
    let error = Arm64PageTableError::TableOutOfBounds {
        table_gpa: 0x9000,
        level: 1,
    };
    assert_eq!(walker.translate(0x1234), Err(error));
    let all: Vec<_> = walker.mappings().collect();
    assert_eq!(all, vec![Err(error)]);
    assert_eq!(
        Arm64TableWalker::new(&bytes, 0x1000, 0x3000).err(),
        Some(Arm64PageTableError::TableOutOfBounds {
            table_gpa: 0x3000,
            level: 0
        })
    );
    assert_eq!(
        Arm64TableWalker::new(&bytes, 0x1000, 0x1800).err(),
        Some(Arm64PageTableError::MisalignedTtbr0 { ttbr0: 0x1800 })
    );
}

#[test]
fn walker_errors_on_loops() {
    let mut bytes = vec![0u8; PAGE];
    put(&mut bytes, 0, 5, 0x1000 | 3);
    let walker = Arm64TableWalker::new(&bytes, 0x1000, 0x1000).unwrap();
    let all: Vec<_> = walker.mappings().collect();
    assert_eq!(
        all,
        vec![Err(Arm64PageTableError::TableLoop {
            table_gpa: 0x1000,
            level: 1
        })]
    );
    // translate follows at most four levels and ends: 5 << 39 goes root[5]
    // → root (as level 1) → root[0], which is invalid.
    assert_eq!(walker.translate(5 << 39), Ok(None));
    // (5 << 39) | (5 << 30) | (5 << 21) | (5 << 12) goes round four times and
    // reads root[5] as a level-3 page descriptor for the root's own GPA.
    let va = (5 << 39) | (5 << 30) | (5 << 21) | (5 << 12) | 0x123;
    assert_eq!(walker.translate(va).unwrap().unwrap().pa, 0x1123);
}

#[test]
fn walker_errors_on_shared_tables_beyond_the_table_count() {
    // Two root entries share one level-1 table: 2 tables, 2 table visits.
    let mut bytes = vec![0u8; 2 * PAGE];
    put(&mut bytes, 0, 0, 0x2000 | 3);
    put(&mut bytes, 0, 1, 0x2000 | 3);
    put(&mut bytes, 1, 0, 0x4000_0000 | BLOCK_BITS);
    let walker = Arm64TableWalker::new(&bytes, 0x1000, 0x1000).unwrap();
    let all: Vec<_> = walker.mappings().collect();
    assert_eq!(all.len(), 2);
    assert!(all[0].is_ok());
    assert_eq!(
        all[1],
        Err(Arm64PageTableError::TableLoop {
            table_gpa: 0x2000,
            level: 1
        })
    );
}

#[test]
fn walker_rejects_invalid_descriptors() {
    let mut bytes = vec![0u8; 4 * PAGE];
    // Level-0 block.
    put(&mut bytes, 0, 0, BLOCK_BITS);
    // Level-1 block with a misaligned output address.
    put(&mut bytes, 0, 1, 0x2000 | 3);
    put(&mut bytes, 1, 0, 0x20_0000 | BLOCK_BITS);
    // Level-3 entry with bit 1 clear.
    put(&mut bytes, 1, 1, 0x3000 | 3);
    put(&mut bytes, 2, 0, 0x4000 | 3);
    put(&mut bytes, 3, 0, 0x5000 | 0x401);
    let walker = Arm64TableWalker::new(&bytes, 0x1000, 0x1000).unwrap();
    assert_eq!(
        walker.translate(0),
        Err(Arm64PageTableError::InvalidDescriptor {
            descriptor: BLOCK_BITS,
            level: 0,
            va: 0
        })
    );
    let va1 = 1u64 << 39;
    assert_eq!(
        walker.translate(va1 + 0x1234),
        Err(Arm64PageTableError::MisalignedOutputAddress {
            descriptor: 0x20_0000 | BLOCK_BITS,
            level: 1,
            va: va1
        })
    );
    assert_eq!(
        walker.translate(va1 + GIB),
        Err(Arm64PageTableError::InvalidDescriptor {
            descriptor: 0x5000 | 0x401,
            level: 3,
            va: va1 + GIB
        })
    );
}

#[test]
fn walker_iterates_the_paravisor_map_in_ascending_order() {
    let table_gpa = 0x868_3000;
    let (area, _) = build_paravisor(table_gpa, 0x800_0000, 64 * MIB);
    let walker = Arm64TableWalker::new(&area, table_gpa, table_gpa).unwrap();
    let mappings: Vec<_> = walker.mappings().map(Result::unwrap).collect();
    assert_eq!(mappings.len(), 32);
    for (i, mapping) in mappings.iter().enumerate() {
        let va = 0x800_0000 + i as u64 * 2 * MIB;
        assert_eq!(mapping.va, va);
        assert_eq!(mapping.pa, va);
        assert_eq!(mapping.size, Arm64PageSize::Large);
        assert_eq!(mapping.descriptor, va | BLOCK_BITS);
        assert_eq!(mapping.attributes, paravisor_attributes());
    }
}

#[test]
fn upper_half_addresses_use_root_entries_256_and_up() {
    let mut area = vec![0u8; 4 * PAGE];
    let mut space = Arm64TableSpace::new(0x1000, &mut area).unwrap();
    let va = 0xFFFF_8000_0000_0000;
    space
        .map_range(0x4000_0000, va, GIB, paravisor_attributes())
        .unwrap();
    assert_eq!(entry(space.tables(), 0, 256), 0x2000 | 3);
    let walker = Arm64TableWalker::new(space.tables(), 0x1000, 0x1000).unwrap();
    assert_eq!(
        walker.translate(va + 0x1234).unwrap().unwrap().pa,
        0x4000_1234
    );
    let all: Vec<_> = walker.mappings().map(Result::unwrap).collect();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].va, va);
    // The top of the address space.
    let mut area = vec![0u8; 4 * PAGE];
    let mut space = Arm64TableSpace::new(0x1000, &mut area).unwrap();
    space
        .map_range(
            0x20_0000,
            u64::MAX - 0x1F_FFFF,
            2 * MIB,
            paravisor_attributes(),
        )
        .unwrap();
    let walker = Arm64TableWalker::new(space.tables(), 0x1000, 0x1000).unwrap();
    assert_eq!(walker.translate(u64::MAX).unwrap().unwrap().pa, 0x3F_FFFF);
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

fn attributes_strategy() -> impl Strategy<Value = Arm64MappingAttributes> {
    (0u8..8, 0usize..4, 0usize..3, 0usize..4).prop_map(|(index, access, share, xn)| {
        Arm64MappingAttributes {
            attr_index: AttrIndx::new(index).unwrap(),
            access: [
                Arm64AccessPermissions::PrivilegedReadWrite,
                Arm64AccessPermissions::ReadWrite,
                Arm64AccessPermissions::PrivilegedReadOnly,
                Arm64AccessPermissions::ReadOnly,
            ][access],
            shareability: [
                Arm64Shareability::NonShareable,
                Arm64Shareability::OuterShareable,
                Arm64Shareability::InnerShareable,
            ][share],
            no_execute: [
                Arm64NoExecute::Off,
                Arm64NoExecute::UserOnly,
                Arm64NoExecute::PrivilegedOnly,
                Arm64NoExecute::Full,
            ][xn],
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The identity map walks back as exactly [start, start + size) → itself,
    /// the size query equals the used length, and the rest is zero.
    #[test]
    fn identity_walks_back_exactly_and_the_size_query_matches(
        start_2m in 0u64..(1 << 20),   // up to 2 TiB
        size_2m in 1u64..2048,         // up to 4 GiB
        table_page in 1u64..(1 << 20),
    ) {
        let (start, size) = (start_2m * 2 * MIB, size_2m * 2 * MIB);
        let table_gpa = table_page * 0x1000;
        let needed = required_identity_table_bytes(start, size).unwrap();
        let mut area = vec![0x5Au8; needed + PAGE];
        let used = build_identity_page_tables_aarch64(table_gpa, start, size, &MAIR_EL1, &mut area).unwrap();
        prop_assert_eq!(used, needed);
        prop_assert!(area[used..].iter().all(|&b| b == 0));
        let walker = Arm64TableWalker::new(&area[..used], table_gpa, table_gpa).unwrap();
        prop_assert_eq!(coalesced(&walker), vec![(start, start, size, paravisor_attributes())]);
        // Too small by one table: OutOfMemory, as the original's panic.
        let mut small = vec![0u8; needed - PAGE];
        let result = build_identity_page_tables_aarch64(table_gpa, start, size, &MAIR_EL1, &mut small);
        let is_out_of_memory = matches!(result, Err(Arm64PageTableError::OutOfMemory { .. }));
        prop_assert!(is_out_of_memory);
    }

    /// The identity builder's one-pass path writes exactly the bytes of the
    /// general path (`new` + `map_range` + `zero_unused`), over a dirty
    /// buffer, for ranges crossing 1 GiB and 512 GiB boundaries.
    #[test]
    fn identity_fast_path_matches_the_general_path_byte_for_byte(
        start_2m in 0u64..(1 << 19),   // up to 1 TiB
        size_2m in 1u64..(1 << 19),    // up to 1 TiB
        table_page in 1u64..(1 << 20),
        spare in 0usize..3,
    ) {
        let (start, size) = (start_2m * 2 * MIB, size_2m * 2 * MIB);
        let table_gpa = table_page * 0x1000;
        let needed = required_identity_table_bytes(start, size).unwrap();
        let mut fast = vec![0xA5u8; needed + spare * PAGE];
        let used = build_identity_page_tables_aarch64(table_gpa, start, size, &MAIR_EL1, &mut fast).unwrap();
        let mut general = vec![0x3Cu8; needed + spare * PAGE];
        let mut space = Arm64TableSpace::new(table_gpa, &mut general).unwrap();
        space.map_range(start, start, size, paravisor_attributes()).unwrap();
        space.zero_unused();
        prop_assert_eq!(space.used_len(), used);
        prop_assert!(fast == general);
    }

    /// Several disjoint ranges with arbitrary PA and attributes walk back as
    /// exactly the requested mappings; for the first range, the size query
    /// equals the space used.
    #[test]
    fn map_range_walks_back_exactly_the_requested_ranges(
        ranges in proptest::collection::vec(
            (0usize..3, 0u64..64, 1u64..2048, 0usize..3, 0u64..(1 << 16), attributes_strategy()),
            1..5,
        ),
        gaps in proptest::collection::vec(0u64..3, 5),
    ) {
        // Ranges laid out in ascending VA with random gaps. Units of 4 KiB,
        // 2 MiB or 1 GiB keep the page count (and the test) small while
        // reaching every page size and the 4 KiB → 2 MiB → 1 GiB transitions.
        let table_gpa = 0x7000_0000_0000;
        let mut area = vec![0u8; 1024 * PAGE];
        let mut space = Arm64TableSpace::new(table_gpa, &mut area).unwrap();
        let mut va = 0x1000u64 * 17;
        let mut expected = Vec::new();
        for (i, &(unit_kind, offset_units, count, pa_kind, pa_base, attributes)) in ranges.iter().enumerate() {
            let (unit, count) = match unit_kind {
                0 => (0x1000, count % 512 + 1),
                1 => (2 * MIB, count),
                _ => (GIB, count % 64 + 1),
            };
            // Start on a unit boundary: an unaligned start would put up to
            // 1 GiB in 4 KiB pages (the original's choice).
            va = va.next_multiple_of(unit) + gaps[i] * GIB + offset_units * unit;
            let size = count * unit;
            let pa = match pa_kind {
                // Identity.
                0 => va,
                // Same offset within 1 GiB, elsewhere: blocks stay possible.
                1 => pa_base * GIB + va % GIB,
                // Any page (4 KiB-aligned), which usually forces 4 KiB pages.
                _ if unit == 0x1000 => pa_base * 0x1000 * 3,
                _ => pa_base * GIB + va % GIB,
            };
            let before = space.used_len();
            space.map_range(pa, va, size, attributes).unwrap();
            if i == 0 {
                prop_assert_eq!(
                    required_tables(pa, va, size).unwrap() as usize * PAGE,
                    space.used_len()
                );
            }
            prop_assert!(space.used_len() >= before);
            expected.push((va, pa, size, attributes));
            va += size;
        }
        let walker = Arm64TableWalker::new(space.tables(), table_gpa, table_gpa).unwrap();
        let runs = coalesced(&walker);
        // Adjacent requested ranges that continue each other merge too.
        let mut merged = Vec::new();
        for range in expected {
            push_merged(&mut merged, range);
        }
        prop_assert_eq!(runs, merged);
    }

    /// Mapping any range that overlaps an existing one fails with
    /// AlreadyMapped and leaves the tables as they were.
    #[test]
    fn overlapping_map_fails_and_changes_nothing(
        first_page in 0u64..4096,
        first_pages in 1u64..4096,
        second_page in 0u64..4096,
        second_pages in 1u64..4096,
    ) {
        let mut area = vec![0u8; 64 * PAGE];
        let mut space = Arm64TableSpace::new(0x1000, &mut area).unwrap();
        let attributes = paravisor_attributes();
        let base = 0x4000_0000u64;
        space.map_range(base + first_page * 0x1000, base + first_page * 0x1000, first_pages * 0x1000, attributes).unwrap();
        let before = (space.tables().to_vec(), space.used_len());
        let (a0, a1) = (first_page, first_page + first_pages);
        let (b0, b1) = (second_page, second_page + second_pages);
        let overlaps = a0 < b1 && b0 < a1;
        let result = space.map_range(base + b0 * 0x1000, base + b0 * 0x1000, second_pages * 0x1000, attributes);
        if overlaps {
            let already = matches!(result, Err(Arm64PageTableError::AlreadyMapped { .. }));
            prop_assert!(already, "{:?}", result);
            prop_assert_eq!((space.tables().to_vec(), space.used_len()), before);
        } else {
            prop_assert_eq!(result, Ok(()));
        }
    }

    /// Random table bytes with some pointers into the area: the walker never
    /// panics, and iteration ends.
    #[test]
    fn walker_never_panics_on_random_tables(
        entries in proptest::collection::vec((0u8..6, 0u64..6, any::<u64>()), 1..(4 * 512)),
        ttbr_page in 0u64..6,
        vas in proptest::collection::vec(any::<u64>(), 8),
    ) {
        let table_gpa = 0x10_0000u64;
        let tables = entries.len().div_ceil(512).max(1);
        let mut bytes = vec![0u8; tables * PAGE];
        for (i, &(kind, target, noise)) in entries.iter().enumerate() {
            let value = match kind {
                // A table pointer, maybe out of the area.
                0 | 1 => (table_gpa + target * 0x1000) | 3 | (noise & 0xFFF0_0000_0000_0FFC),
                // A block or page with random attributes and address.
                2 => (noise & !2) | 1,
                3 => noise | 3,
                4 => 0xFEFE_FEFE_FEFE_FEFE,
                _ => noise,
            };
            bytes[i * 8..i * 8 + 8].copy_from_slice(&value.to_le_bytes());
        }
        if let Ok(walker) = Arm64TableWalker::new(&bytes, table_gpa, table_gpa + ttbr_page * 0x1000) {
            let mut count = 0usize;
            for item in walker.mappings() {
                count += 1;
                prop_assert!(count <= tables * 512 + 1);
                if let Ok(mapping) = item {
                    prop_assert!(is_canonical(mapping.va));
                }
            }
            for va in vas {
                let _ = walker.translate(va);
                let _ = walker.translate(va & 0x0000_7FFF_FFFF_FFFF);
            }
        }
    }
}

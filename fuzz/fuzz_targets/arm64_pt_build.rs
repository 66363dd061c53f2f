//! AArch64 table builders with random configurations: the paravisor identity
//! map (`build_identity_page_tables_aarch64`, `required_identity_table_bytes`)
//! and sequences of `Arm64TableSpace::map_range` calls with random
//! attributes, read back with `Arm64TableWalker`.
//!
//! Invariants: the size queries equal the space used; a failed call leaves
//! the table bytes unchanged; after each successful map_range the walker
//! translates the range's first, middle and last byte to the requested PA
//! with the requested attributes; the mapped bytes add up to the sizes of
//! the successful calls (overlaps are refused).
#![no_main]

use arbitrary::Arbitrary;
use arm64_pagetables::Arm64AccessPermissions;
use arm64_pagetables::Arm64MappingAttributes;
use arm64_pagetables::Arm64NoExecute;
use arm64_pagetables::Arm64Shareability;
use arm64_pagetables::Arm64TableSpace;
use arm64_pagetables::Arm64TableWalker;
use arm64_pagetables::AttrIndx;
use arm64_pagetables::MemoryAttributeIndirectionEl1;
use arm64_pagetables::TABLE_SIZE;
use arm64_pagetables::build_identity_page_tables_aarch64;
use arm64_pagetables::required_identity_table_bytes;
use arm64_pagetables::required_tables;
use libfuzzer_sys::fuzz_target;

/// TTBR0_EL1's base address holds bits 47..=1.
const TTBR0_LIMIT: u64 = 1 << 48;

#[derive(Debug, Arbitrary)]
enum Addr {
    /// A multiple of 2 MiB below 2^46.
    Large(u32),
    /// A multiple of 4 KiB below 2^46.
    Page(u32),
    /// Anything.
    Raw(u64),
}

impl Addr {
    fn get(&self) -> u64 {
        match *self {
            Addr::Large(x) => u64::from(x % (1 << 25)) << 21,
            Addr::Page(x) => u64::from(x) << 12,
            Addr::Raw(x) => x,
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Size {
    Large(u16),
    Page(u16),
    Gib(u8),
    Raw(u64),
}

impl Size {
    fn get(&self) -> u64 {
        match *self {
            Size::Large(x) => (u64::from(x % 4096) + 1) << 21,
            Size::Page(x) => (u64::from(x % 4096) + 1) << 12,
            Size::Gib(x) => (u64::from(x % 64) + 1) << 30,
            Size::Raw(x) => x,
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Map {
    phys: Addr,
    /// None: identity.
    virt: Option<Addr>,
    size: Size,
    attr_index: u8,
    access: u8,
    shareability: u8,
    no_execute: u8,
}

#[derive(Debug, Arbitrary)]
struct Input {
    identity_table_gpa: Addr,
    identity_start: Addr,
    identity_size: Size,
    mair: u64,
    identity_pages: u8,
    space_gpa: Addr,
    space_pages: u8,
    maps: Vec<Map>,
}

fn attributes(map: &Map) -> Option<Arm64MappingAttributes> {
    Some(Arm64MappingAttributes {
        attr_index: AttrIndx::new(map.attr_index % 9).ok()?,
        access: match map.access % 4 {
            0 => Arm64AccessPermissions::PrivilegedReadWrite,
            1 => Arm64AccessPermissions::ReadWrite,
            2 => Arm64AccessPermissions::PrivilegedReadOnly,
            _ => Arm64AccessPermissions::ReadOnly,
        },
        shareability: match map.shareability % 3 {
            0 => Arm64Shareability::NonShareable,
            1 => Arm64Shareability::OuterShareable,
            _ => Arm64Shareability::InnerShareable,
        },
        no_execute: match map.no_execute % 4 {
            0 => Arm64NoExecute::Off,
            1 => Arm64NoExecute::UserOnly,
            2 => Arm64NoExecute::PrivilegedOnly,
            _ => Arm64NoExecute::Full,
        },
    })
}

fuzz_target!(|input: Input| {
    identity(&input);
    spaces(&input);
});

/// The paravisor's identity map.
fn identity(input: &Input) {
    let gpa = input.identity_table_gpa.get();
    let (start, size) = (input.identity_start.get(), input.identity_size.get());
    let mair = MemoryAttributeIndirectionEl1::from_u64(input.mair)
        .unwrap_or(vp_regs::aarch64::paravisor::MAIR_EL1);
    let pages = usize::from(input.identity_pages % 32) + 1;
    let mut area = vec![0xA5u8; pages * TABLE_SIZE];
    let built = build_identity_page_tables_aarch64(gpa, start, size, &mair, &mut area);
    let needed = required_identity_table_bytes(start, size);
    match (&built, &needed) {
        (Ok(used), Ok(needed)) => {
            assert_eq!(used, needed, "required_identity_table_bytes is not exact");
            assert!(area[*used..].iter().all(|&b| b == 0), "tail not zeroed");
            let walker = Arm64TableWalker::new(&area, gpa, gpa)
                .unwrap_or_else(|e| panic!("walker refused built tables: {e}"));
            for va in [start, start + size / 2, start + (size - 1)] {
                let t = walker
                    .translate(va)
                    .unwrap_or_else(|e| panic!("walk of {va:#x}: {e}"))
                    .unwrap_or_else(|| panic!("{va:#x} not mapped"));
                assert_eq!(t.pa, va, "not an identity map");
            }
            let mapped: u128 = walker
                .mappings()
                .map(|m| u128::from(m.map_or(0, |m| m.size.bytes())))
                .sum();
            assert_eq!(mapped, u128::from(size));
        }
        // The area too small (or misplaced, or no write-back attribute in
        // MAIR) is an error the size query cannot see.
        (Err(_), Ok(_)) => {}
        (Ok(used), Err(e)) => panic!("built {used} bytes, size query failed: {e}"),
        (Err(_), Err(_)) => {}
    }
}

/// map_range sequences.
fn spaces(input: &Input) {
    let gpa = input.space_gpa.get();
    let pages = usize::from(input.space_pages % 64) + 1;
    let mut buffer = vec![0u8; pages * TABLE_SIZE];
    let Ok(mut space) = Arm64TableSpace::new(gpa, &mut buffer) else {
        return;
    };
    let mut mapped: u128 = 0;
    for (n, map) in input.maps.iter().take(8).enumerate() {
        let Some(attributes) = attributes(map) else {
            continue;
        };
        let phys = map.phys.get();
        let virt = map.virt.as_ref().map_or(phys, Addr::get);
        let size = map.size.get();
        let before = space.tables().to_vec();
        let used_before = space.used_len();
        let needed = required_tables(phys, virt, size);
        match space.map_range(phys, virt, size, attributes) {
            Err(_) => {
                assert_eq!(
                    space.tables(),
                    &before[..],
                    "failed map_range changed tables"
                );
                assert_eq!(space.used_len(), used_before);
            }
            Ok(()) => {
                let needed =
                    needed.unwrap_or_else(|e| panic!("map_range ok, required_tables: {e}"));
                if n == 0 {
                    assert_eq!(
                        space.used_len() as u64,
                        needed * TABLE_SIZE as u64,
                        "required_tables is not exact"
                    );
                }
                mapped += u128::from(size);
                let walker = Arm64TableWalker::new(space.tables(), gpa, gpa)
                    .unwrap_or_else(|e| panic!("walker refused built tables: {e}"));
                for offset in [0, size / 2, size - 1] {
                    let t = walker
                        .translate(virt + offset)
                        .unwrap_or_else(|e| panic!("walk: {e}"))
                        .unwrap_or_else(|| panic!("{:#x} not mapped", virt + offset));
                    assert_eq!(t.pa, phys + offset);
                    assert_eq!(t.mapping.attributes, attributes);
                }
            }
        }
    }
    if gpa >= TTBR0_LIMIT {
        // TTBR0_EL1.BADDR cannot name this root (bits 47..=1 only), and no
        // table can be allocated at or above 2^47, so nothing was mapped.
        assert_eq!(mapped, 0);
        return;
    }
    let walker = Arm64TableWalker::new(space.tables(), gpa, gpa)
        .unwrap_or_else(|e| panic!("walker refused built tables: {e}"));
    let total: u128 = walker
        .mappings()
        .map(|m| u128::from(m.unwrap_or_else(|e| panic!("walk: {e}")).size.bytes()))
        .sum();
    assert_eq!(
        total, mapped,
        "mapped bytes differ from the successful calls"
    );
}

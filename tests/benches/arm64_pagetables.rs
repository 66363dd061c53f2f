//! Benchmark: building AArch64 stage-1 tables (64 MiB, 4 GiB and 64 GiB
//! maps) beside a `memset` (`fill(0)`) of the same output size, measured in
//! the same run.
//!
//! The identity rows use `build_identity_page_tables_aarch64` with the
//! paravisor's MAIR and an area of exactly `required_identity_table_bytes`
//! (so no unused tail is zeroed). The `map_range` rows use the general API
//! with PA offset from VA, which forces 2 MiB blocks or 4 KiB pages: the
//! table-heavy cases.
//!
//! Run: `cargo bench -p paravisor-tests --bench arm64_pagetables`

mod common;

use common::measure;
use std::hint::black_box;
use std::time::Duration;

use arm64_pagetables::Arm64MappingAttributes;
use arm64_pagetables::Arm64TableSpace;
use arm64_pagetables::AttrIndx;
use arm64_pagetables::build_identity_page_tables_aarch64;
use arm64_pagetables::required_identity_table_bytes;
use arm64_pagetables::required_tables;
use vp_regs::aarch64::paravisor::MAIR_EL1;

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

/// One benchmark row: a map to build.
struct Case {
    name: &'static str,
    table_gpa: u64,
    phys: u64,
    virt: u64,
    size: u64,
    /// `build_identity_page_tables_aarch64` (phys = virt) or `map_range`.
    identity: bool,
}

fn main() {
    let cases = [
        Case {
            name: "identity 64 MiB @ 128 MiB",
            table_gpa: 0x868_3000,
            phys: 128 * MIB,
            virt: 128 * MIB,
            size: 64 * MIB,
            identity: true,
        },
        Case {
            name: "identity 4 GiB @ 128 MiB",
            table_gpa: 0x1_0868_3000,
            phys: 128 * MIB,
            virt: 128 * MIB,
            size: 4 * GIB,
            identity: true,
        },
        Case {
            name: "identity 64 GiB @ 1 GiB",
            table_gpa: 0x10_4068_3000,
            phys: GIB,
            virt: GIB,
            size: 64 * GIB,
            identity: true,
        },
        Case {
            name: "identity 64 GiB @ 2 MiB",
            table_gpa: 0x10_4068_3000,
            phys: 2 * MIB,
            virt: 2 * MIB,
            size: 64 * GIB,
            identity: true,
        },
        Case {
            name: "map_range 64 GiB, 2 MiB",
            table_gpa: 0x20_0000_0000,
            phys: GIB + 2 * MIB,
            virt: GIB,
            size: 64 * GIB,
            identity: false,
        },
        Case {
            name: "map_range 4 GiB, 4 KiB",
            table_gpa: 0x20_0000_0000,
            phys: GIB + 0x1000,
            virt: GIB,
            size: 4 * GIB,
            identity: false,
        },
    ];
    let attributes = Arm64MappingAttributes::paravisor(AttrIndx::new(3).expect("AttrIndx 3"));
    println!(
        "{:<27} {:>7} {:>10} {:>12} {:>12} {:>8} {:>12}",
        "map", "tables", "bytes", "build", "fill(0)", "ratio", "size query"
    );
    for case in cases {
        let bytes = if case.identity {
            required_identity_table_bytes(case.virt, case.size).expect("valid map")
        } else {
            required_tables(case.phys, case.virt, case.size).expect("valid map") as usize * 4096
        };
        let mut out = vec![0u8; bytes];
        let mut scratch = vec![0u8; bytes];
        let build = measure(
            || {
                let used = if case.identity {
                    build_identity_page_tables_aarch64(
                        black_box(case.table_gpa),
                        black_box(case.virt),
                        black_box(case.size),
                        &MAIR_EL1,
                        black_box(&mut out),
                    )
                    .expect("fits")
                } else {
                    let mut space =
                        Arm64TableSpace::new(black_box(case.table_gpa), black_box(&mut out))
                            .expect("area");
                    space
                        .map_range(
                            black_box(case.phys),
                            black_box(case.virt),
                            black_box(case.size),
                            attributes,
                        )
                        .expect("fits");
                    space.used_len()
                };
                assert_eq!(used, bytes);
                black_box(&out);
            },
            Duration::from_millis(200),
            11,
        );
        let memset = measure(
            || {
                black_box(&mut scratch).fill(0);
                black_box(&scratch);
            },
            Duration::from_millis(200),
            11,
        );
        let sizing = measure(
            || {
                let size = if case.identity {
                    required_identity_table_bytes(black_box(case.virt), black_box(case.size))
                        .expect("valid")
                } else {
                    required_tables(
                        black_box(case.phys),
                        black_box(case.virt),
                        black_box(case.size),
                    )
                    .expect("valid") as usize
                };
                black_box(size);
            },
            Duration::from_millis(100),
            11,
        );
        println!(
            "{:<27} {:>7} {:>10} {:>12?} {:>12?} {:>7.1}x {:>12?}",
            case.name,
            bytes / 4096,
            bytes,
            build,
            memset,
            build.as_secs_f64() / memset.as_secs_f64(),
            sizing
        );
    }
}

//! Benchmark: building x86-64 identity maps (64 MiB, 4 GiB, 512 GiB) beside
//! a `memset` (`fill(0)`) of the same output size, measured in the same run.
//!
//! Run: `cargo bench -p paravisor-tests --bench x86_pagetables`

mod common;

use common::measure;
use std::hint::black_box;
use std::time::Duration;
use x86_pagetables::IdentityMapConfig;
use x86_pagetables::build_identity_map;
use x86_pagetables::required_tables;

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

fn main() {
    let cases = [
        (
            "64 MiB at 128 MiB",
            IdentityMapConfig::new(0x0849_3000, 128 * MIB, 64 * MIB),
        ),
        (
            "4 GiB at 128 MiB",
            IdentityMapConfig::new(0x1_2000_0000, 128 * MIB, 4 * GIB),
        ),
        (
            "512 GiB at 0",
            IdentityMapConfig::new(0x80_0000_0000, 0, 512 * GIB),
        ),
    ];
    println!(
        "{:<20} {:>7} {:>10} {:>14} {:>14} {:>8} {:>14}",
        "map", "tables", "bytes", "build", "fill(0)", "ratio", "required_tables"
    );
    for (name, config) in cases {
        let tables = required_tables(&config).expect("valid config");
        let bytes = tables * 4096;
        let mut out = vec![0u8; bytes];
        let mut scratch = vec![0u8; bytes];
        let build = measure(
            || {
                let used =
                    build_identity_map(black_box(&config), black_box(&mut out)).expect("fits");
                black_box(used);
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
                black_box(required_tables(black_box(&config)).expect("valid"));
            },
            Duration::from_millis(100),
            11,
        );
        println!(
            "{:<20} {:>7} {:>10} {:>14?} {:>14?} {:>7.1}x {:>14?}",
            name,
            tables,
            bytes,
            build,
            memset,
            build.as_secs_f64() / memset.as_secs_f64(),
            sizing
        );
    }
}

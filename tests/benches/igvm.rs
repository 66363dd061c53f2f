//! Benchmark: building IGVM files (`paravisor_igvm::build_from_config`) for a
//! realistic image, beside the hashing baseline a measured build cannot
//! avoid, measured in the same run on the same bytes.
//!
//! Inputs: the big inputs of `tests/src/big_inputs.rs` (~40 MiB x86-64
//! kernel ELF, 64 MiB initrd, sidecar, 512 MiB VTL2 at the default base,
//! VTL0 UEFI), written to a temporary folder once. Cases: x86-64 with
//! isolation none (not measured) and SNP (SNP launch digest: SHA-384 of
//! every measured page; the kernel, initrd and sidecar are shared pages,
//! hashed once more for the imported-regions page).
//!
//! Baseline: one SHA-384 pass (the `sha2` crate the builder uses) over the
//! kernel, initrd and sidecar bytes. Printed: medians and `build / sha384`.
//!
//! Run: `cargo bench -p paravisor-tests --bench igvm [-- --iterations N]`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use paravisor_tests::big_inputs;
use sha2::Digest;
use std::hint::black_box;
use std::time::Duration;
use std::time::Instant;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let iterations = std::env::args()
        .skip_while(|a| a != "--iterations")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(5usize);
    let dir = std::env::temp_dir().join(format!("paravisor-igvm-bench-{}", std::process::id()));
    big_inputs::write_all(&dir).unwrap();
    let inputs = big_inputs::BigInputs::new();
    let hashed: Vec<&[u8]> = vec![&inputs.kernel_x64, &inputs.initrd, &inputs.sidecar_x64];
    let hashed_mib = hashed.iter().map(|b| b.len()).sum::<usize>() as f64 / big_inputs::MIB as f64;

    let cases = [
        ("x64-none-512m", "x64-none-512m.json", "\"none\""),
        (
            "x64-snp-512m",
            "x64-snp-512m.json",
            r#"{"snp": {"shared_gpa_boundary_bits": 46, "policy": 196639, "enable_debug": false, "injection_type": "normal"}}"#,
        ),
    ];
    println!(
        "igvm build ({iterations} iterations, medians; baseline SHA-384 of {hashed_mib:.1} MiB)"
    );
    println!(
        "{:<16} {:>12} {:>12} {:>10} {:>12}",
        "case", "build", "sha384", "ratio", "file MiB"
    );
    for (name, manifest, isolation) in cases {
        let config = dir.join(format!("{name}.config.json"));
        std::fs::write(
            &config,
            format!(
                r#"{{"format": "paravisor-igvm-config/1", "guest_arch": "x64", "guest_configs": [
                    {{"guest_svn": 1, "max_vtl": 2, "isolation_type": {isolation}, "load_manifest": "{manifest}"}}]}}"#
            ),
        )
        .unwrap();
        let (mut build, mut base) = (Vec::new(), Vec::new());
        let mut size = 0;
        for _ in 0..iterations {
            let t = Instant::now();
            let b = paravisor_igvm::build_from_config(&config).unwrap();
            build.push(t.elapsed());
            size = b.file_bytes.len();
            black_box(b);
            let t = Instant::now();
            let mut h = sha2::Sha384::new();
            for part in &hashed {
                h.update(part);
            }
            black_box(h.finalize());
            base.push(t.elapsed());
        }
        let (b, s) = (median(build), median(base));
        println!(
            "{name:<16} {:>10.1}ms {:>10.1}ms {:>10.2} {:>12.1}",
            b.as_secs_f64() * 1e3,
            s.as_secs_f64() * 1e3,
            b.as_secs_f64() / s.as_secs_f64(),
            size as f64 / big_inputs::MIB as f64
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

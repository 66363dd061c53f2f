//! Timing helper shared by the micro-benchmarks (`elf_loader`,
//! `x86_pagetables`, `arm64_pagetables`).

use std::time::Duration;
use std::time::Instant;

/// Median time per call of `f`, over `rounds` rounds of a batch sized to take
/// about `target` each.
pub fn measure(mut f: impl FnMut(), target: Duration, rounds: usize) -> Duration {
    // Calibrate the batch size.
    let mut batch = 1u32;
    loop {
        let start = Instant::now();
        for _ in 0..batch {
            f();
        }
        if start.elapsed() >= target / 4 || batch >= 1 << 24 {
            break;
        }
        batch *= 2;
    }
    let mut samples: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..batch {
                f();
            }
            start.elapsed() / batch
        })
        .collect();
    samples.sort();
    samples[rounds / 2]
}

//! `paravisor bench MANIFEST [--iterations N] [--json]`: what a manifest's
//! kernel and initrd cost to load, beside the memory-bandwidth baselines.
//!
//! The manifest's input files are memory-mapped. One untimed load into a
//! planning importer records where every imported byte comes from (a range
//! of an input file, or a small page the loader built) and where it goes,
//! and how much guest RAM the image spans (GPA 0 to the end of the highest
//! page imported or checked). Then, `N` times and interleaved (after one
//! warm-up round that faults the RAM in):
//! - the load into [`GuestMemoryImporter`] writing that RAM;
//! - `crc32fast::hash` of the initrd (the loader's one pass over it);
//! - a `copy_from_slice` of every imported byte from the same source to
//!   the same destination.
//!
//! Prints a table of medians, or with `--json` exactly one JSON object:
//! `{"load_ms", "crc_ms", "copy_ms", "ratio": load/(crc+copy),
//! "bytes_imported", "iterations"}`. `bytes_imported` is the sum of the
//! data bytes handed to `import_pages` (the zero fill of page tails is not
//! counted).

use crate::exit::EXIT_LOAD_FAILED;
use crate::exit::EXIT_OK;
use crate::exit::EXIT_USAGE;
use crate::exit::Outcome;
use paravisor_host::Arch;
use paravisor_host::bench::CopyPlanner;
use paravisor_host::bench::input_files;
use paravisor_host::bench::load;
use paravisor_host::bench::median;
use paravisor_host::bench::ms;
use paravisor_host::bench::page_table_bytes;
use paravisor_loader::GuestMemoryImporter;
use paravisor_loader::IsolationConfig;
use paravisor_loader::LoadInputs;
use std::hint::black_box;
use std::process::ExitCode;
use std::time::Duration;
use std::time::Instant;

/// Iterations when `--iterations` is not given.
const DEFAULT_ITERATIONS: usize = 10;
/// Most guest RAM the probe allocates (the image must lie below this GPA).
const MAX_RAM_BYTES: u64 = 64 << 30;

/// Medians of one probe.
struct Probe {
    load: Duration,
    crc: Duration,
    copy: Duration,
    bytes_imported: u64,
    initrd_bytes: usize,
    ram_bytes: u64,
}

/// Measures `iterations` rounds; the error as text (load failures start
/// with "load failed").
fn probe(
    arch: Arch,
    isolation: IsolationConfig,
    inputs: &LoadInputs<'_>,
    iterations: usize,
) -> Result<Probe, String> {
    let files = input_files(inputs);
    let table_bytes =
        page_table_bytes(arch, isolation, inputs).map_err(|e| format!("load failed: {e}"))?;
    let mut tables = vec![0u8; usize::try_from(table_bytes).map_err(|e| e.to_string())?];

    let mut planner = CopyPlanner::new(isolation, &files);
    load(arch, &mut planner, inputs, &mut tables).map_err(|e| format!("load failed: {e}"))?;
    if planner.end > MAX_RAM_BYTES {
        return Err(format!(
            "the image reaches GPA {:#x}; this probe backs guest RAM from GPA 0 with one \
             buffer of at most {MAX_RAM_BYTES:#x} bytes",
            planner.end
        ));
    }
    let ram_len = usize::try_from(planner.end).map_err(|e| e.to_string())?;
    let mut ram = vec![0u8; ram_len];
    let initrd = inputs.initrd.unwrap_or(&[]);

    let mut t_load = Vec::with_capacity(iterations);
    let mut t_crc = Vec::with_capacity(iterations);
    let mut t_copy = Vec::with_capacity(iterations);
    // Round 0 is the warm-up (faults the RAM in); it is not counted.
    for round in 0..=iterations {
        let start = Instant::now();
        {
            let mut guest = GuestMemoryImporter::new(0, &mut ram, isolation);
            load(arch, &mut guest, black_box(inputs), &mut tables)
                .map_err(|e| format!("load failed: {e}"))?;
            black_box(guest.pages_written());
        }
        let load_time = start.elapsed();

        let start = Instant::now();
        black_box(crc32fast::hash(black_box(initrd)));
        let crc_time = start.elapsed();

        let start = Instant::now();
        planner.replay(&mut ram);
        let copy_time = start.elapsed();

        if round > 0 {
            t_load.push(load_time);
            t_crc.push(crc_time);
            t_copy.push(copy_time);
        }
    }
    Ok(Probe {
        load: median(t_load),
        crc: median(t_crc),
        copy: median(t_copy),
        bytes_imported: planner.data_bytes,
        initrd_bytes: initrd.len(),
        ram_bytes: planner.end,
    })
}

/// Exit statuses, shown under `--help`.
pub(crate) const EXIT_STATUS: &str = "\
Exit status: 0 measured; 2 the load failed; 1 the manifest cannot be read or
parsed, the image does not fit the probe's RAM, or a usage error.";

/// Arguments of `paravisor bench`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The load manifest (paravisor-load-manifest/1).
    manifest: String,
    /// Timed rounds (after one warm-up round).
    #[arg(short = 'n', long, value_name = "N", default_value_t = DEFAULT_ITERATIONS,
          value_parser = positive_count)]
    iterations: usize,
    /// Print exactly one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

/// Parses `--iterations`: a whole number, at least 1.
fn positive_count(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("--iterations needs a positive whole number".to_owned()),
    }
}

pub(crate) fn run(args: Args) -> Outcome {
    let manifest_path = args.manifest.as_str();
    let iterations = args.iterations;
    let json = args.json;
    let Some((manifest, files)) = crate::files::load(manifest_path) else {
        return ExitCode::from(EXIT_USAGE);
    };
    let files = files.as_files();
    let inputs = manifest.inputs(&files);
    let p = match probe(manifest.arch, manifest.isolation, &inputs, iterations) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("paravisor: {manifest_path}: {e}");
            let code = if e.starts_with("load failed") {
                EXIT_LOAD_FAILED
            } else {
                EXIT_USAGE
            };
            return ExitCode::from(code);
        }
    };
    let base = p.crc.saturating_add(p.copy).as_secs_f64();
    let ratio = if base > 0.0 {
        p.load.as_secs_f64() / base
    } else {
        0.0
    };
    if json {
        let v = serde_json::json!({
            "load_ms": ms(p.load),
            "crc_ms": ms(p.crc),
            "copy_ms": ms(p.copy),
            "ratio": ratio,
            "bytes_imported": p.bytes_imported,
            "iterations": iterations,
        });
        println!("{v}");
    } else {
        let mib = |b: u64| b as f64 / f64::from(1u32 << 20);
        println!(
            "paravisor bench: {} ({}, isolation {}), medians of {iterations} iterations",
            manifest_path,
            manifest.arch.name(),
            manifest.isolation.isolation_type.name()
        );
        println!(
            "  imported data {:.1} MiB, initrd {:.1} MiB, guest RAM GPA 0..{:#x}",
            mib(p.bytes_imported),
            mib(p.initrd_bytes as u64),
            p.ram_bytes
        );
        println!("  {:<40} {:>10.3} ms", "load into guest memory", ms(p.load));
        println!("  {:<40} {:>10.3} ms", "crc32fast(initrd)", ms(p.crc));
        println!(
            "  {:<40} {:>10.3} ms",
            "copy_from_slice of every imported byte",
            ms(p.copy)
        );
        println!("  {:<40} {:>10.3}", "ratio load / (crc + copy)", ratio);
    }
    ExitCode::from(EXIT_OK)
}

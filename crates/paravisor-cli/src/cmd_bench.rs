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

use crate::EXIT_LOAD_FAILED;
use crate::EXIT_OK;
use crate::EXIT_USAGE;
use crate::Outcome;
use crate::args::Args;
use paravisor_loader::GuestMemoryImporter;
use paravisor_loader::ImportPages;
use paravisor_loader::IsolationConfig;
use paravisor_loader::LoadInputs;
use paravisor_loader::PAGE_SIZE;
use paravisor_loader::PageAcceptance;
use paravisor_loader::PageTableRelocation;
use paravisor_loader::ParameterAreaIndex;
use paravisor_loader::ParameterType;
use paravisor_loader::ParavisorImporter;
use paravisor_loader::RelocationRegion;
use paravisor_loader::StartupMemoryType;
use paravisor_loader::X64Layout;
use paravisor_loader::summary::Arch;
use std::convert::Infallible;
use std::hint::black_box;
use std::process::ExitCode;
use std::time::Duration;
use std::time::Instant;
use vp_regs::aarch64::Aarch64Register;
use vp_regs::x86_64::X86Register;

/// Iterations when `--iterations` is not given.
const DEFAULT_ITERATIONS: usize = 10;
/// Most guest RAM the probe allocates (the image must lie below this GPA).
const MAX_RAM_BYTES: u64 = 64 << 30;

/// Where the bytes of one import come from.
enum Source {
    /// `len` bytes at `start` of input file number `file`.
    Input {
        file: usize,
        start: usize,
        len: usize,
    },
    /// A page the loader built (command line, shim parameters, tables...).
    Owned(Vec<u8>),
}

/// The untimed planning importer: records every import's destination and
/// source, and the extent of guest RAM the image needs.
struct CopyPlanner<'i> {
    isolation: IsolationConfig,
    inputs: &'i [&'i [u8]],
    copies: Vec<(usize, Source)>,
    data_bytes: u64,
    /// End (bytes) of the highest page imported or checked.
    end: u64,
}

impl CopyPlanner<'_> {
    fn extend_to(&mut self, page_base: u64, page_count: u64) {
        let end = page_base
            .saturating_add(page_count)
            .saturating_mul(PAGE_SIZE);
        self.end = self.end.max(end);
    }
}

impl ImportPages for CopyPlanner<'_> {
    type Error = Infallible;

    fn import_pages(
        &mut self,
        page_base: u64,
        page_count: u64,
        _tag: &'static str,
        _acceptance: PageAcceptance,
        data: &[u8],
    ) -> Result<(), Infallible> {
        self.extend_to(page_base, page_count);
        self.data_bytes = self.data_bytes.saturating_add(data.len() as u64);
        if data.is_empty() {
            return Ok(());
        }
        let p = data.as_ptr() as usize;
        let source = self
            .inputs
            .iter()
            .enumerate()
            .find_map(|(file, input)| {
                let base = input.as_ptr() as usize;
                let start = p.checked_sub(base)?;
                (start.checked_add(data.len())? <= input.len()).then_some(Source::Input {
                    file,
                    start,
                    len: data.len(),
                })
            })
            .unwrap_or_else(|| Source::Owned(data.to_vec()));
        let dst = usize::try_from(page_base.saturating_mul(PAGE_SIZE)).unwrap_or(usize::MAX);
        self.copies.push((dst, source));
        Ok(())
    }
}

impl<R> ParavisorImporter<R> for CopyPlanner<'_> {
    fn isolation_config(&self) -> IsolationConfig {
        self.isolation
    }
    fn verify_startup_memory_available(
        &mut self,
        page_base: u64,
        page_count: u64,
        _memory_type: StartupMemoryType,
    ) -> Result<(), Infallible> {
        self.extend_to(page_base, page_count);
        Ok(())
    }
    fn create_parameter_area(
        &mut self,
        page_base: u64,
        page_count: u32,
        _tag: &'static str,
    ) -> Result<ParameterAreaIndex, Infallible> {
        self.extend_to(page_base, page_count.into());
        Ok(ParameterAreaIndex(0))
    }
    fn import_parameter(
        &mut self,
        _area: ParameterAreaIndex,
        _byte_offset: u32,
        _parameter: ParameterType,
    ) -> Result<(), Infallible> {
        Ok(())
    }
    fn import_vp_register(&mut self, _register: R) -> Result<(), Infallible> {
        Ok(())
    }
    fn set_vp_context_page(&mut self, _page_base: u64) -> Result<(), Infallible> {
        Ok(())
    }
    fn relocation_region(&mut self, _region: RelocationRegion) -> Result<(), Infallible> {
        Ok(())
    }
    fn page_table_relocation(
        &mut self,
        _relocation: PageTableRelocation,
    ) -> Result<(), Infallible> {
        Ok(())
    }
    fn set_imported_regions_config_page(&mut self, _page_base: u64) {}
}

/// Runs the loader for `arch`; the error as text.
fn load<I>(
    arch: Arch,
    importer: &mut I,
    inputs: &LoadInputs<'_>,
    tables: &mut [u8],
) -> Result<(), String>
where
    I: ParavisorImporter<X86Register> + ParavisorImporter<Aarch64Register>,
{
    match arch {
        Arch::X86_64 => paravisor_loader::load_openhcl_x64(importer, inputs, tables)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Arch::Aarch64 => paravisor_loader::load_openhcl_arm64(importer, inputs, tables)
            .map(|_| ())
            .map_err(|e| e.to_string()),
    }
}

/// The median of `samples` (the upper one of an even count).
fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples
        .get(samples.len() / 2)
        .copied()
        .unwrap_or(Duration::ZERO)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

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
    let files: Vec<&[u8]> = [
        Some(inputs.kernel),
        Some(inputs.shim),
        inputs.sidecar,
        inputs.initrd,
        inputs.vtl0.uefi.map(|u| u.vp_context),
    ]
    .into_iter()
    .flatten()
    .collect();
    let table_bytes = match arch {
        Arch::X86_64 => X64Layout::plan(isolation, inputs)
            .map_err(|e| format!("load failed: {e}"))?
            .page_table_region_size(),
        Arch::Aarch64 => paravisor_loader::arm64::ARM64_PAGE_TABLE_PAGES.saturating_mul(PAGE_SIZE),
    };
    let mut tables = vec![0u8; usize::try_from(table_bytes).map_err(|e| e.to_string())?];

    let mut planner = CopyPlanner {
        isolation,
        inputs: &files,
        copies: Vec::new(),
        data_bytes: 0,
        end: 0,
    };
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
        for (dst, source) in &planner.copies {
            let src: &[u8] = match source {
                Source::Input { file, start, len } => files
                    .get(*file)
                    .and_then(|f| f.get(*start..start.saturating_add(*len)))
                    .unwrap_or(&[]),
                Source::Owned(bytes) => bytes,
            };
            if let Some(d) = ram.get_mut(*dst..dst.saturating_add(src.len())) {
                d.copy_from_slice(black_box(src));
            }
        }
        black_box(&ram);
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

pub(crate) fn run(args: &[String]) -> Outcome {
    let json = args.iter().any(|a| a == "--json");
    let rest: Vec<String> = args.iter().filter(|a| *a != "--json").cloned().collect();
    let args = match Args::parse(&rest, &["--iterations", "-n"]) {
        Ok(a) => a,
        Err(e) => return crate::usage_error(&e),
    };
    let manifest_path = match args.one_positional("MANIFEST") {
        Ok(p) => p,
        Err(e) => return crate::usage_error(&e),
    };
    let iterations = match args.option(&["--iterations", "-n"]) {
        None => DEFAULT_ITERATIONS,
        Some(n) => match n.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                return crate::usage_error(&format!(
                    "--iterations needs a positive whole number, got `{n}`"
                ));
            }
        },
    };
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

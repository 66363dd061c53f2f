//! Benchmark (issue 11): full paravisor loads of a realistic image beside
//! the memory-bandwidth baselines, measured in the same run on the same
//! bytes.
//!
//! Inputs (built in memory, deterministic: `tests/src/big_inputs.rs`): a
//! ~40 MiB x86-64 kernel ELF, a 64 MiB initrd, a sidecar, the boot shims, a
//! 40 MiB arm64 `Image`; 512 MiB of VTL2 memory at the default base, VTL0
//! UEFI. Cases: x86-64 with isolation none and SNP, AArch64 with none.
//!
//! For each case, over the same iterations (interleaved, medians):
//! - (a) the load into an importer that only records the slices it is
//!   given, against `crc32fast::hash` of the initrd alone (the one pass over
//!   input bytes a loader cannot avoid): `load / crc`, target <= 1.2;
//! - (b) the load into `GuestMemoryImporter` writing into a RAM buffer that
//!   covers GPA 0 to the end of VTL2 memory (pre-faulted), against crc plus a
//!   `copy_from_slice` of every imported data byte from the same source to
//!   the same destination: `load / (crc + copy)`, target <= 1.3. The
//!   importer also zero-fills page tails (.bss, heap, log buffer); those
//!   bytes are shown in the `fill` column and are not in the baseline.
//!
//! crc32fast is built with its `std` feature here (runtime CPU detection:
//! PCLMULQDQ on x86-64), so the loader's CRC and the baseline use the same
//! code.
//!
//! Run: `cargo bench -p paravisor-tests --bench load [-- --iterations N]`
//! Other modes (used by `tests/perf/cli_summary.sh`):
//! - `-- --write-inputs DIR`: write the inputs and manifests into DIR;
//! - `-- --sha256 FILE...`: SHA-256 (the `sha2` crate the summary uses) of
//!   each file, read in 1 MiB chunks: the CLI summary's hashing baseline.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use paravisor_host::Arch;
use paravisor_host::bench::CopyPlanner;
use paravisor_host::bench::input_files;
use paravisor_host::bench::median;
use paravisor_host::bench::ms;
use paravisor_host::bench::page_table_bytes;
use paravisor_loader::CommandLine;
use paravisor_loader::GuestMemoryImporter;
use paravisor_loader::ImportPages;
use paravisor_loader::IsolationConfig;
use paravisor_loader::IsolationType;
use paravisor_loader::LoadInputs;
use paravisor_loader::PageAcceptance;
use paravisor_loader::PageTableRelocation;
use paravisor_loader::ParameterAreaIndex;
use paravisor_loader::ParameterType;
use paravisor_loader::ParavisorImporter;
use paravisor_loader::RelocationRegion;
use paravisor_loader::StartupMemoryType;
use paravisor_loader::Vtl0Config;
use paravisor_loader::Vtl0Uefi;
/// The copy baseline, shared with `paravisor bench`.
use paravisor_tests::big_inputs::BigInputs;
use paravisor_tests::big_inputs::MIB;
use paravisor_tests::big_inputs::VTL2_PAGES;
use std::convert::Infallible;
use std::hint::black_box;
use std::io::Read;
use std::time::Duration;
use std::time::Instant;
use vp_regs::aarch64::Aarch64Register;
use vp_regs::x86_64::X86Register;

/// One `import_pages` call as (a) records it: the slice, not its bytes.
#[derive(Clone, Copy)]
#[allow(dead_code)]
struct SliceRecord {
    page_base: u64,
    page_count: u64,
    tag: &'static str,
    acceptance: PageAcceptance,
    ptr: usize,
    len: usize,
}

/// Importer (a): records every call's arguments (slices as pointer and
/// length) in a vector reserved up front, and counts the other calls.
struct SliceRecorder {
    isolation: IsolationConfig,
    calls: Vec<SliceRecord>,
    others: u64,
}

impl SliceRecorder {
    fn new(isolation: IsolationConfig) -> Self {
        Self {
            isolation,
            calls: Vec::with_capacity(256),
            others: 0,
        }
    }
}

impl ImportPages for SliceRecorder {
    type Error = Infallible;

    fn import_pages(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &'static str,
        acceptance: PageAcceptance,
        data: &[u8],
    ) -> Result<(), Infallible> {
        self.calls.push(SliceRecord {
            page_base,
            page_count,
            tag,
            acceptance,
            ptr: data.as_ptr() as usize,
            len: data.len(),
        });
        Ok(())
    }
}

impl<R> ParavisorImporter<R> for SliceRecorder {
    fn isolation_config(&self) -> IsolationConfig {
        self.isolation
    }
    fn verify_startup_memory_available(
        &mut self,
        _: u64,
        _: u64,
        _: StartupMemoryType,
    ) -> Result<(), Infallible> {
        self.others += 1;
        Ok(())
    }
    fn create_parameter_area(
        &mut self,
        _: u64,
        _: u32,
        _: &'static str,
    ) -> Result<ParameterAreaIndex, Infallible> {
        self.others += 1;
        Ok(ParameterAreaIndex(self.others as u32))
    }
    fn import_parameter(
        &mut self,
        _: ParameterAreaIndex,
        _: u32,
        _: ParameterType,
    ) -> Result<(), Infallible> {
        self.others += 1;
        Ok(())
    }
    fn import_vp_register(&mut self, register: R) -> Result<(), Infallible> {
        black_box(&register);
        self.others += 1;
        Ok(())
    }
    fn set_vp_context_page(&mut self, _: u64) -> Result<(), Infallible> {
        self.others += 1;
        Ok(())
    }
    fn relocation_region(&mut self, _: RelocationRegion) -> Result<(), Infallible> {
        self.others += 1;
        Ok(())
    }
    fn page_table_relocation(&mut self, _: PageTableRelocation) -> Result<(), Infallible> {
        self.others += 1;
        Ok(())
    }
    fn set_imported_regions_config_page(&mut self, _: u64) {
        self.others += 1;
    }
}

/// The load into `importer`. Panics on a load error (the inputs are known
/// good).
fn load<I>(arch: Arch, importer: &mut I, inputs: &LoadInputs<'_>, tables: &mut [u8])
where
    I: ParavisorImporter<X86Register> + ParavisorImporter<Aarch64Register>,
{
    paravisor_host::bench::load(arch, importer, inputs, tables).expect("load");
}

/// One benchmark case's results.
struct Row {
    name: &'static str,
    data_bytes: u64,
    fill_bytes: u64,
    recorder: Duration,
    guest: Duration,
    crc: Duration,
    copy: Duration,
}

fn bench_case(
    name: &'static str,
    arch: Arch,
    isolation: IsolationConfig,
    inputs: &LoadInputs<'_>,
    iterations: usize,
) -> Row {
    let files = input_files(inputs);
    let table_bytes = page_table_bytes(arch, isolation, inputs).expect("plan");
    let mut tables = vec![0u8; table_bytes as usize];

    // The copy baseline and the RAM size, from one untimed load.
    let mut planner = CopyPlanner::new(isolation, &files);
    load(arch, &mut planner, inputs, &mut tables);
    let mut ram = vec![0u8; planner.end as usize];
    // Pre-fault every page, as guest RAM would be.
    ram.fill(1);
    let initrd = inputs.initrd.unwrap_or(&[]);

    let mut recorder = SliceRecorder::new(isolation);
    let (mut t_rec, mut t_guest, mut t_crc, mut t_copy) = (vec![], vec![], vec![], vec![]);
    // One warm-up round, then `iterations` measured rounds.
    for round in 0..=iterations {
        recorder.calls.clear();
        let start = Instant::now();
        load(arch, &mut recorder, black_box(inputs), &mut tables);
        let rec = start.elapsed();
        black_box(recorder.calls.len());

        let start = Instant::now();
        {
            let mut guest = GuestMemoryImporter::new(0, &mut ram, isolation);
            load(arch, &mut guest, black_box(inputs), &mut tables);
            black_box(guest.pages_written());
        }
        let guest = start.elapsed();

        let start = Instant::now();
        black_box(crc32fast::hash(black_box(initrd)));
        let crc = start.elapsed();

        let start = Instant::now();
        planner.replay(&mut ram);
        let copy = start.elapsed();

        if round > 0 {
            t_rec.push(rec);
            t_guest.push(guest);
            t_crc.push(crc);
            t_copy.push(copy);
        }
    }
    Row {
        name,
        data_bytes: planner.data_bytes,
        fill_bytes: planner.fill_bytes,
        recorder: median(t_rec),
        guest: median(t_guest),
        crc: median(t_crc),
        copy: median(t_copy),
    }
}

fn print_rows(rows: &[Row], iterations: usize) {
    println!(
        "medians of {iterations} iterations; {} CPUs; crc32fast over the initrd ({} MiB)",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        64
    );
    println!(
        "{:<14} {:>9} {:>8} | {:>9} {:>8} {:>6} | {:>9} {:>8} {:>9} {:>6}",
        "case",
        "data MiB",
        "fill MiB",
        "(a) load",
        "crc",
        "a/crc",
        "(b) load",
        "copy",
        "crc+copy",
        "b/(c+c)"
    );
    for r in rows {
        println!(
            "{:<14} {:>9.1} {:>8.1} | {:>7.2}ms {:>6.2}ms {:>6.3} | {:>7.2}ms {:>6.2}ms {:>7.2}ms {:>6.3}",
            r.name,
            r.data_bytes as f64 / MIB as f64,
            r.fill_bytes as f64 / MIB as f64,
            ms(r.recorder),
            ms(r.crc),
            r.recorder.as_secs_f64() / r.crc.as_secs_f64(),
            ms(r.guest),
            ms(r.copy),
            ms(r.crc + r.copy),
            r.guest.as_secs_f64() / (r.crc + r.copy).as_secs_f64(),
        );
    }
}

fn sha256_files(paths: &[String]) {
    use sha2::Digest;
    let mut buf = vec![0u8; MIB];
    let mut total = 0u64;
    for path in paths {
        let mut file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut hasher = sha2::Sha256::new();
        loop {
            let n = file
                .read(&mut buf)
                .unwrap_or_else(|e| panic!("{path}: {e}"));
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            total += n as u64;
        }
        let digest = hasher.finalize();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        println!("{hex}  {path}");
    }
    println!("{total} bytes");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--write-inputs") {
        let dir = args.get(i + 1).expect("--write-inputs DIR");
        paravisor_tests::big_inputs::write_all(std::path::Path::new(dir)).expect("write inputs");
        println!("wrote inputs and manifests into {dir}");
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--sha256") {
        sha256_files(&args[i + 1..]);
        return;
    }
    let iterations = args
        .iter()
        .position(|a| a == "--iterations")
        .and_then(|i| args.get(i + 1))
        .map_or(15, |n| n.parse().expect("--iterations N"));

    let big = BigInputs::new();
    let uefi = Vtl0Config {
        pcat: false,
        uefi: Some(Vtl0Uefi {
            firmware_base: 0x10_0000,
            total_size: 0x7e_0000,
            vp_context: &big.vp_context,
        }),
        linux: None,
    };
    let x64 = LoadInputs {
        abi: paravisor_loader::Abi::default(),
        kernel: &big.kernel_x64,
        shim: &big.shim_x64,
        sidecar: Some(&big.sidecar_x64),
        initrd: Some(&big.initrd),
        command_line: CommandLine::Static("console=ttyS0,115200 panic=-1 reboot=t"),
        memory_page_base: None,
        memory_page_count: VTL2_PAGES,
        vtl0: uefi,
    };
    let arm64 = LoadInputs {
        kernel: &big.image_arm64,
        shim: &big.shim_arm64,
        sidecar: None,
        ..x64
    };
    let iso = |isolation_type, bits| IsolationConfig {
        isolation_type,
        paravisor_present: true,
        shared_gpa_boundary_bits: bits,
    };
    let rows = [
        bench_case(
            "x86-64 none",
            Arch::X86_64,
            iso(IsolationType::None, None),
            &x64,
            iterations,
        ),
        bench_case(
            "x86-64 SNP",
            Arch::X86_64,
            iso(IsolationType::Snp, Some(46)),
            &x64,
            iterations,
        ),
        bench_case(
            "AArch64 none",
            Arch::Aarch64,
            iso(IsolationType::None, None),
            &arm64,
            iterations,
        ),
    ];
    print_rows(&rows, iterations);
}

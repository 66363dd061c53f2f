//! x86-64: Debian's `vmlinux` as the loader's kernel, `tests/boot-shim`
//! as the shim (its Linux hand-off: zero page, e820 map, RSI), booted by
//! `paravisor-qemu`'s x86-64 runner under qemu-system-x86_64 (TCG).

use super::CliFiles;
use super::EM_X86_64;
use super::paravisor_boot;
use super::require_init_report;
use paravisor_kvm::BootImage;
use paravisor_kvm::BootImageImporter;
use paravisor_kvm::relocate_x64;
use paravisor_loader::CommandLine;
use paravisor_loader::IsolationType;
use paravisor_loader::LoadInputs;
use paravisor_loader::load_openhcl_x64_alloc;
use paravisor_qemu::ExitReason;
use paravisor_qemu::RunOutcome;
use paravisor_qemu::X64RunConfig;
use paravisor_qemu::boot_x64_qemu;
use paravisor_tests::cargo_build::test_target_dir;
use paravisor_tests::initramfs::InitReport;
use paravisor_tests::initramfs::initramfs;
use paravisor_tests::isolation;
use paravisor_tests::kernels::Kernel;
use paravisor_tests::kernels::KernelArch;
use paravisor_tests::kernels::kernel;
use paravisor_tests::x64_shim::build_x64_shim;
use std::sync::OnceLock;
use std::time::Duration;
use std::time::Instant;

const MIB: u64 = 1 << 20;
/// docs/abi.md §1.2: PARAVISOR_DEFAULT_MEMORY_BASE_ADDRESS.
const DEFAULT_BASE: u64 = 0x0800_0000;

/// Everything an x86-64 boot needs, built or fetched once per test binary.
struct X64Inputs {
    kernel: Kernel,
    vmlinux: Vec<u8>,
    shim: Vec<u8>,
    initrd: Vec<u8>,
    /// A tiny sidecar ELF: placed by the loader, never run.
    sidecar: Vec<u8>,
}

fn x64_inputs() -> &'static X64Inputs {
    static INPUTS: OnceLock<X64Inputs> = OnceLock::new();
    INPUTS.get_or_init(|| {
        let kernel = kernel(KernelArch::X86_64)
            .unwrap_or_else(|e| panic!("cannot get the x86-64 Linux kernel: {e}"));
        X64Inputs {
            vmlinux: std::fs::read(&kernel.path)
                .unwrap_or_else(|e| panic!("{}: {e}", kernel.path.display())),
            kernel,
            shim: build_x64_shim(&test_target_dir().join("boot-linux"))
                .unwrap_or_else(|e| panic!("{e}")),
            initrd: initramfs(KernelArch::X86_64).unwrap_or_else(|e| panic!("{e}")),
            sidecar: paravisor_tests::elf64(EM_X86_64, 0, &[(0, 0x1000, &[0xF4])]),
        }
    })
}

/// One x86-64 boot.
struct X64Case<'a> {
    name: &'a str,
    isolation: IsolationType,
    memory_page_base: Option<u64>,
    memory_size: u64,
    sidecar: bool,
    command_line: CommandLine<'a>,
}

impl<'a> X64Case<'a> {
    fn new(name: &'a str, command_line: &'a str) -> Self {
        Self {
            name,
            isolation: IsolationType::None,
            memory_page_base: None,
            memory_size: 256 * MIB,
            sidecar: false,
            command_line: CommandLine::Static(command_line),
        }
    }

    fn memory_start(&self) -> u64 {
        self.memory_page_base.map_or(DEFAULT_BASE, |p| p * 0x1000)
    }

    fn text(&self) -> &'a str {
        match self.command_line {
            CommandLine::Static(t) | CommandLine::HostAppendable(t) => t,
        }
    }

    fn load(&self) -> BootImageImporter {
        let i = x64_inputs();
        let inputs = LoadInputs {
            kernel: &i.vmlinux,
            shim: &i.shim,
            sidecar: self.sidecar.then_some(i.sidecar.as_slice()),
            initrd: Some(&i.initrd),
            command_line: self.command_line,
            memory_page_base: self.memory_page_base,
            memory_page_count: self.memory_size / 0x1000,
            vtl0: Default::default(),
            abi: paravisor_loader::Abi::default(),
        };
        let mut importer = BootImageImporter::new(isolation(self.isolation, None));
        load_openhcl_x64_alloc(&mut importer, &inputs)
            .unwrap_or_else(|e| panic!("{}: load failed: {e}", self.name));
        importer
    }
}

/// Boots `image` under qemu-system-x86_64 (TCG); prints the console.
fn boot_x64(name: &str, image: &BootImage, timeout: Duration) -> RunOutcome {
    let config = X64RunConfig {
        timeout,
        ..X64RunConfig::default()
    };
    let started = Instant::now();
    let outcome = boot_x64_qemu(image, &config, &mut |_| {})
        .unwrap_or_else(|e| panic!("{name}: could not run QEMU: {e}"));
    println!(
        "---- {name}: {} ----\n---- console ({:.1} s, {:?}) ----\n{}\n---- {name}: QEMU stderr ----\n{}",
        x64_inputs().kernel.description,
        started.elapsed().as_secs_f64(),
        outcome.exit,
        outcome.console_text(),
        outcome.qemu_stderr
    );
    outcome
}

/// The RAM the shim handed over: its `SHIM: e820 [a, b) RAM` lines.
fn shim_e820_ram(console: &str) -> Vec<(u64, u64)> {
    console
        .lines()
        .filter_map(|l| l.strip_prefix("SHIM: e820 [")?.strip_suffix(") RAM"))
        .map(|r| {
            let (a, b) = r.split_once(", ").unwrap();
            let hex = |t: &str| u64::from_str_radix(t.trim_start_matches("0x"), 16).unwrap();
            (hex(a), hex(b))
        })
        .collect()
}

/// Requires /init's line: the exact command line, the initrd's size, the
/// memory the shim described (VTL2 memory [start, start + size) minus what
/// the image keeps for itself, plus conventional memory), and a MemTotal
/// that fits in it.
fn assert_linux_boots(case: &X64Case<'_>, image: &BootImage, vtl2_start: u64) {
    let outcome = boot_x64(case.name, image, Duration::from_secs(120));
    let console = outcome.console_text();
    let context = format!(
        "{}: console:\n{console}\nQEMU: {}",
        case.name, outcome.qemu_stderr
    );
    let report = require_init_report(&console, &format!(" ({:?}); {context}", outcome.exit));
    assert_eq!(report.cmdline, case.text(), "{context}");
    assert_eq!(
        report.initrd_bytes,
        x64_inputs().initrd.len() as u64,
        "{context}"
    );
    assert_eq!(report.initrd_from, "boot_params", "{context}");
    // The kernel keeps page 0 for itself (it is the BIOS's on a PC).
    let mut expected = shim_e820_ram(&console);
    assert_eq!(expected.first(), Some(&(0, 0xA_0000)), "{context}");
    expected[0].0 = 0x1000;
    assert_eq!(report.system_ram, expected, "{context}");
    let vtl2_end = vtl2_start + case.memory_size;
    assert_eq!(
        report.system_ram.last().map(|r| r.1),
        Some(vtl2_end),
        "RAM must reach the end of VTL2 memory; {context}"
    );
    assert_eq!(
        report.system_ram.get(1).map(|r| r.0),
        Some(vtl2_start + 2 * MIB),
        "VTL2 RAM starts after the persisted region; {context}"
    );
    let ram: u64 = report.system_ram.iter().map(|(a, b)| b - a).sum();
    assert_eq!(report.system_ram_bytes, ram, "{context}");
    let memtotal = report.memtotal_kib * 1024;
    assert!(
        memtotal <= ram && memtotal >= ram - 96 * MIB,
        "MemTotal {memtotal:#x} not within 96 MiB below the RAM {ram:#x}; {context}"
    );
    assert_eq!(outcome.exit, ExitReason::PoweredOff, "{context}");
}

fn boot_case(case: &X64Case<'_>) {
    let image = case.load().into_image();
    assert_linux_boots(case, &image, case.memory_start());
}

#[test]
fn x64_none_default_base_boots_linux() {
    boot_case(&X64Case::new(
        "x86-64 none, default base",
        "console=ttyS0 paravisor.case=default-base",
    ));
}

#[test]
fn x64_relocated_image_boots_linux() {
    let case = X64Case::new(
        "x86-64 none, relocated to 262 MiB",
        "console=ttyS0 paravisor.case=relocated",
    );
    let recorded = case.load();
    let vtl2 = recorded.startup_memory()[0];
    assert_eq!(vtl2.gpa, DEFAULT_BASE);
    let new_base = 262 * MIB;
    let image = relocate_x64(
        &recorded.image(),
        vtl2,
        &recorded.relocation_regions(),
        &recorded.page_table_relocations(),
        new_base,
    )
    .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    assert_linux_boots(&case, &image, new_base);
}

#[test]
fn x64_explicit_base_across_1gib_boots_linux() {
    // [960 MiB, 1216 MiB) straddles 1 GiB.
    let mut case = X64Case::new(
        "x86-64 none, 960 MiB across 1 GiB, sidecar",
        "console=ttyS0 paravisor.case=across-1gib",
    );
    case.memory_page_base = Some(960 * MIB / 0x1000);
    case.sidecar = true;
    boot_case(&case);
}

#[test]
fn x64_vbs_layout_boots_linux() {
    let mut case = X64Case::new("x86-64 VBS", "console=ttyS0 paravisor.case=vbs");
    case.isolation = IsolationType::Vbs;
    boot_case(&case);
}

#[test]
fn x64_sidecar_host_appendable_command_line_boots_linux() {
    let mut case = X64Case::new("x86-64 none, sidecar, host-appendable command line", "");
    case.sidecar = true;
    case.command_line = CommandLine::HostAppendable(
        "console=ttyS0 paravisor.case=host-appendable shimtest.policy=append_chosen",
    );
    boot_case(&case);
}

/// A broken image must not reach /init.
fn assert_no_init(name: &str, image: &BootImage, timeout: Duration) -> String {
    let outcome = boot_x64(name, image, timeout);
    let console = outcome.console_text();
    assert!(
        InitReport::find(&console).is_none(),
        "{name}: a broken image reached /init:\n{console}"
    );
    console
}

#[test]
fn x64_wrong_kernel_entry_offset_does_not_reach_init() {
    let case = X64Case::new("x86-64 broken: kernel entry + 0x40", "console=ttyS0");
    let mut image = case.load().into_image();
    // The shim parameter page is at shim base + RSI; shim base = RIP - the
    // shim's ELF entry (it is linked at 0). kernel_entry_offset is its
    // first field (docs/abi.md §2).
    let shim_entry = u64::from_le_bytes(x64_inputs().shim[24..32].try_into().unwrap());
    let params = image.registers.rip.unwrap() - shim_entry + image.registers.rsi.unwrap();
    let page = image
        .pages
        .iter_mut()
        .find(|p| p.gpa == params)
        .expect("the shim parameter page");
    let entry = i64::from_le_bytes(page.data[..8].try_into().unwrap());
    page.data[..8].copy_from_slice(&(entry + 0x40).to_le_bytes());
    let console = assert_no_init(case.name, &image, Duration::from_secs(40));
    assert!(
        console.contains("SHIM: all "),
        "the shim's checks must still pass:\n{console}"
    );
}

#[test]
fn x64_truncated_initrd_fails_its_crc_and_does_not_reach_init() {
    let case = X64Case::new("x86-64 broken: initrd truncated", "console=ttyS0");
    let mut image = case.load().into_image();
    let initrd = &x64_inputs().initrd;
    let page = image
        .pages
        .iter_mut()
        .find(|p| &p.data == initrd)
        .expect("the initrd import");
    page.data.truncate(initrd.len() - 100);
    // The shim reports the failed check within a second and halts; QEMU
    // idles then, so the time limit ends the run.
    let console = assert_no_init(case.name, &image, Duration::from_secs(10));
    assert!(console.contains("CHECK initrd-crc FAIL"), "{console}");
}

/// `paravisor boot MANIFEST --accel tcg` boots an x86-64 manifest with
/// Debian's kernel: the console (the shim's lines, the kernel's log, /init's
/// line) streams to stdout and the command exits 0 when the kernel powers
/// off.
#[test]
fn x64_paravisor_boot_runs_a_manifest_to_init() {
    let i = x64_inputs();
    let files = CliFiles::new("boot-linux-x86_64-cli");
    let line = "console=ttyS0 paravisor.case=cli";
    let manifest = serde_json::json!({
        "format": "paravisor-load-manifest/1",
        "arch": "x86_64",
        "isolation": { "type": "none", "paravisor_present": true, "shared_gpa_boundary_bits": null },
        "kernel": i.kernel.path,
        "shim": files.write("boot-shim.elf", &i.shim),
        "sidecar": null,
        "initrd": files.write("initramfs.cpio", &i.initrd),
        "command_line": { "type": "static", "value": line },
        "memory_page_base": DEFAULT_BASE / 0x1000,
        "memory_page_count": 256 * MIB / 0x1000,
        "vtl0": { "pcat": false, "uefi": null, "linux": null }
    });
    let manifest_path = files.write("manifest.json", manifest.to_string().as_bytes());
    let cli = paravisor_boot(&manifest_path, &["--accel", "tcg", "--timeout", "120"]);
    let report = &cli.report;
    assert_eq!(cli.init.cmdline, line, "{report}");
    assert_eq!(cli.init.initrd_bytes, i.initrd.len() as u64, "{report}");
    assert!(cli.stdout.contains("CHECK initrd-crc OK"), "{report}");
    assert_eq!(cli.status.code(), Some(0), "{report}");
    assert!(
        cli.stderr.contains("paravisor: guest powered off"),
        "{report}"
    );
}

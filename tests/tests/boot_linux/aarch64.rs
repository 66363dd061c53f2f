//! AArch64 cases: Debian's arm64 `Image` and our `/init`, placed by
//! `load_openhcl_arm64` with the Rust test shim (`tests/arm64-shim/rust`),
//! booted under `qemu-system-aarch64 -M virt` (TCG) by `paravisor-qemu`.
//! The shim checks the image, builds the kernel's device tree from it
//! (`/memory` = VTL2 memory, `/chosen` = command line and initrd) and
//! enters the kernel with the MMU off (`tests/arm64-shim/README.md`, "The
//! hand-off"). Each case asserts what `/init` reports: the exact command
//! line, the RAM the kernel was given (exactly the VTL2 range), the memory
//! it manages and the initramfs size.

use super::CliFiles;
use super::paravisor_boot;
use super::require_init_report;
use paravisor_loader::CommandLine;
use paravisor_loader::IsolationType;
use paravisor_loader::LoadInputs;
use paravisor_loader::Vtl0Config;
use paravisor_loader::Vtl0Uefi;
use paravisor_qemu::BootImageImporter;
use paravisor_qemu::LINUX_CONSOLE_ARGS;
use paravisor_qemu::RunConfig;
use paravisor_qemu::RunOutcome;
use paravisor_tests::initramfs::INIT_MARKER;
use paravisor_tests::initramfs::initramfs;
use paravisor_tests::isolation;
use paravisor_tests::kernels::KernelArch;
use paravisor_tests::kernels::kernel;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;
use std::time::Instant;

const PAGE: u64 = 4096;
const MIB: u64 = 1 << 20;

/// What every AArch64 case boots: the kernel `Image`, the initramfs and the
/// Rust shim, made once per run.
struct Inputs {
    kernel: Vec<u8>,
    kernel_description: String,
    initramfs: Vec<u8>,
    shim: Vec<u8>,
}

fn inputs() -> &'static Inputs {
    static INPUTS: OnceLock<Result<Inputs, String>> = OnceLock::new();
    let made = INPUTS.get_or_init(|| {
        let k = kernel(KernelArch::Aarch64)?;
        let kernel = std::fs::read(&k.path).map_err(|e| format!("{}: {e}", k.path.display()))?;
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("arm64-shim");
        Ok(Inputs {
            kernel,
            kernel_description: k.description,
            initramfs: initramfs(KernelArch::Aarch64)?,
            shim: paravisor_tests::arm64_shim::build_rust_shim(&out)?,
        })
    });
    match made {
        Ok(inputs) => inputs,
        Err(e) => panic!("AArch64 Linux boot inputs: {e}"),
    }
}

/// One boot.
#[derive(Clone)]
struct Case {
    name: &'static str,
    isolation: IsolationType,
    /// VTL2 memory base and size.
    memory: (u64, u64),
    /// The image's command line.
    command_line: String,
    /// Whether the host may append to it (policy `APPEND_CHOSEN`).
    host_appendable: bool,
    /// What the host (the VMM) puts in `/chosen/bootargs` of its device
    /// tree; `None`: no host device tree.
    host_bootargs: Option<&'static str>,
}

/// The command line of most cases: the console (`LINUX_CONSOLE_ARGS`), a
/// reboot (so QEMU exits) on panic, and words the kernel ignores but passes
/// to `/proc/cmdline`.
fn command_line(words: &str) -> String {
    format!("{LINUX_CONSOLE_ARGS} panic=-1 {words}")
}

impl Case {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            isolation: IsolationType::None,
            memory: (0x4800_0000, 256 * MIB),
            command_line: command_line("paravisor.case=static ünïcödé"),
            host_appendable: false,
            host_bootargs: None,
        }
    }

    /// What `/proc/cmdline` must say.
    fn expected_cmdline(&self) -> String {
        match self.host_bootargs {
            Some(host) if self.host_appendable => format!("{} {host}", self.command_line),
            _ => self.command_line.clone(),
        }
    }
}

fn load(case: &Case, inputs: &Inputs) -> BootImageImporter {
    let vp_context =
        std::fs::read(paravisor_tests::golden_dir().join("fixtures/uefi-vp-context.bin"))
            .expect("uefi-vp-context.bin fixture");
    let load_inputs = LoadInputs {
        kernel: &inputs.kernel,
        shim: &inputs.shim,
        sidecar: None,
        initrd: Some(&inputs.initramfs),
        command_line: if case.host_appendable {
            CommandLine::HostAppendable(&case.command_line)
        } else {
            CommandLine::Static(&case.command_line)
        },
        memory_page_base: Some(case.memory.0 / PAGE),
        memory_page_count: case.memory.1 / PAGE,
        vtl0: Vtl0Config {
            pcat: false,
            uefi: Some(Vtl0Uefi {
                firmware_base: 0x10_0000,
                total_size: 0x7E_0000,
                vp_context: &vp_context,
            }),
            linux: None,
        },
        abi: paravisor_loader::Abi::default(),
    };
    let mut importer = BootImageImporter::new(isolation(case.isolation, None));
    let mut tables = vec![0u8; 15 * PAGE as usize];
    paravisor_loader::load_openhcl_arm64(&mut importer, &load_inputs, &mut tables)
        .unwrap_or_else(|e| panic!("{}: load failed: {e}", case.name));
    importer
}

/// Boots what `importer` recorded (with the case's host device tree) and
/// returns the outcome; the console is printed when the test fails later
/// (every assertion message carries it).
fn boot(case: &Case, importer: &BootImageImporter, timeout: Duration) -> RunOutcome {
    let mut image = importer.zero_filled_image();
    if let Some(host) = case.host_bootargs {
        paravisor_qemu::with_host_bootargs(&mut image, importer, host)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    }
    let config = RunConfig {
        timeout,
        ..RunConfig::default()
    };
    let started = Instant::now();
    let outcome = paravisor_qemu::boot_aarch64(&image, &config)
        .unwrap_or_else(|e| panic!("{}: runner error: {e}", case.name));
    eprintln!(
        "{}: {:?} after {:.1} s ({})",
        case.name,
        outcome.exit,
        started.elapsed().as_secs_f64(),
        inputs().kernel_description
    );
    outcome
}

/// The console and QEMU's diagnostics, for assertion messages.
fn console_report(case: &Case, outcome: &RunOutcome) -> String {
    format!(
        "\n---- {} console ----\n{}\n---- QEMU stderr ----\n{}\n---- exit {:?}; {}",
        case.name,
        outcome.console_text(),
        outcome.qemu_stderr,
        outcome.exit,
        outcome.command
    )
}

/// Loads and boots `case` and asserts what `/init` saw.
fn boot_and_check(case: &Case) {
    let inputs = inputs();
    let importer = load(case, inputs);
    let outcome = boot(case, &importer, paravisor_qemu::LINUX_TIMEOUT);
    let report = console_report(case, &outcome);
    let console = outcome.console_text();
    let init = require_init_report(&console, &report);
    assert_eq!(
        init.cmdline,
        case.expected_cmdline(),
        "{}: /proc/cmdline{report}",
        case.name
    );
    // The RAM the kernel was given is exactly VTL2 memory (the shim's
    // /memory node), as /proc/iomem's top-level "System RAM".
    let (base, size) = case.memory;
    assert_eq!(
        init.system_ram,
        [(base, base + size)],
        "{}: System RAM{report}",
        case.name
    );
    assert_eq!(init.system_ram_bytes, size, "{}{report}", case.name);
    // MemTotal: what the kernel manages of it — less than the range by at
    // most the kernel image, the memory reserved at boot and the page
    // structures, so more than half of it here.
    let memtotal = init.memtotal_kib * 1024;
    assert!(
        memtotal < size && memtotal > size / 2,
        "{}: MemTotal {memtotal:#x} not within ({:#x}, {size:#x}){report}",
        case.name,
        size / 2
    );
    // The initramfs the kernel was handed (the device tree's
    // linux,initrd-start/end) is the one given to the loader, whole.
    assert_eq!(
        init.initrd_bytes,
        inputs.initramfs.len() as u64,
        "{}: initrd size{report}",
        case.name
    );
    assert_eq!(init.initrd_from, "devicetree", "{}{report}", case.name);
    // The shim's checks all passed on the way.
    assert!(
        console.contains("INFO failed_checks 0x0000000000000000"),
        "{}: shim checks failed{report}",
        case.name
    );
}

#[test]
fn aarch64_boots_with_isolation_none() {
    boot_and_check(&Case::new("aarch64-none"));
}

#[test]
fn aarch64_boots_with_vbs_isolation() {
    let mut case = Case::new("aarch64-vbs");
    case.isolation = IsolationType::Vbs;
    boot_and_check(&case);
}

/// VTL2 memory at another base, across the 2 GiB line (a 1 GiB block
/// boundary of the loader's tables), and of another size.
#[test]
fn aarch64_boots_at_an_explicit_base_across_2gib() {
    let mut case = Case::new("aarch64-base-0x7fe00000");
    case.memory = (0x7FE0_0000, 192 * MIB);
    boot_and_check(&case);
}

/// VTL2 memory above 4 GiB (the loader's tables need a second level-1
/// entry; the kernel has no memory below 4 GiB at all).
#[test]
fn aarch64_boots_above_4gib() {
    let mut case = Case::new("aarch64-base-0x100200000");
    case.memory = (0x1_0020_0000, 256 * MIB);
    boot_and_check(&case);
}

/// A host-appendable command line: the shim appends the host's
/// `/chosen/bootargs` from the device tree the VMM (the runner) put in the
/// device-tree parameter area.
#[test]
fn aarch64_host_appendable_command_line_gets_the_host_bootargs() {
    let mut case = Case::new("aarch64-host-appendable");
    case.command_line = command_line("paravisor.case=appendable");
    case.host_appendable = true;
    case.host_bootargs = Some("paravisor.host=appended quiet");
    boot_and_check(&case);
}

/// A static command line is not appended to, even when the host offers
/// bootargs.
#[test]
fn aarch64_static_command_line_ignores_the_host_bootargs() {
    let mut case = Case::new("aarch64-static-with-host-tree");
    case.host_bootargs = Some("paravisor.host=must-not-appear");
    boot_and_check(&case);
}

/// A time limit for the broken boots, which fail fast (the shim reports an
/// exception, or the kernel panics and QEMU exits on the reboot).
const BROKEN_TIMEOUT: Duration = Duration::from_secs(60);

/// Loads `case`, breaks the shim parameters with `corrupt`, boots, and
/// requires that `/init` is never reached; returns the console.
fn boot_broken(case: &Case, corrupt: impl Fn(&mut Vec<u8>)) -> (String, String) {
    let inputs = inputs();
    let mut importer = load(case, inputs);
    let params = importer
        .imports_mut()
        .find(|i| i.tag == "underhill-shim-params")
        .expect("the shim parameters");
    corrupt(&mut params.data);
    let outcome = boot(case, &importer, BROKEN_TIMEOUT);
    let report = console_report(case, &outcome);
    let console = outcome.console_text();
    assert!(
        !console.contains(INIT_MARKER.trim_end()),
        "{}: a broken image reached /init{report}",
        case.name
    );
    (console, report)
}

/// A kernel entry 4 KiB before the `Image` header: the shim's kernel-image
/// check fails, the hand-off jumps there anyway (as OpenHCL's shim would)
/// and the CPU runs into zero memory, an undefined instruction, whose
/// exception the shim's vectors (still VBAR_EL1) report. (4 KiB past the
/// header instead lands inside the kernel, which hangs silently until the
/// time limit.)
#[test]
fn aarch64_wrong_kernel_entry_does_not_reach_init() {
    let case = Case::new("aarch64-broken-entry");
    let (console, report) = boot_broken(&case, |params| {
        // kernel_entry_offset: i64 at byte 0 of ShimParamsRaw (docs/abi.md §2).
        let entry = i64::from_le_bytes(params[0..8].try_into().unwrap()) - 0x1000;
        params[0..8].copy_from_slice(&entry.to_le_bytes());
    });
    assert!(
        console.contains("CHECK kernel-image FAIL"),
        "{}: the shim did not notice{report}",
        case.name
    );
    // ESR_EL1.EC = 0 (unknown reason: an undefined instruction).
    assert!(
        console.contains("EXCEPTION") && console.contains("INFO esr_el1 0x0000000002000000"),
        "{}: no undefined-instruction exception{report}",
        case.name
    );
}

/// An initrd cut to half its length in the shim parameters: the CRC check
/// fails, the kernel gets a truncated initramfs (the device tree's
/// `linux,initrd-end` comes from the same parameters), cannot run `/init`
/// and panics (`panic=-1`: QEMU exits on the reboot).
#[test]
fn aarch64_truncated_initrd_does_not_reach_init() {
    let case = Case::new("aarch64-truncated-initrd");
    let (console, report) = boot_broken(&case, |params| {
        // initrd_size: u64 at byte 24 of ShimParamsRaw (docs/abi.md §2).
        let size = u64::from_le_bytes(params[24..32].try_into().unwrap()) / 2;
        params[24..32].copy_from_slice(&size.to_le_bytes());
    });
    assert!(
        console.contains("CHECK initrd-crc FAIL"),
        "{}: the shim did not notice{report}",
        case.name
    );
    assert!(
        console.contains("Kernel panic - not syncing"),
        "{}: the kernel did not stop on the truncated initramfs{report}",
        case.name
    );
}

/// `paravisor boot MANIFEST --host-bootargs TEXT` boots an AArch64 manifest
/// with a real kernel: the manifest names the kernel, the Rust shim, the
/// initramfs, a host-appendable command line and VTL2 memory in the RAM of
/// `virt`; the CLI puts the host's bootargs where a VMM does, streams the
/// console (the shim's lines, then the kernel's and `/init`'s) and exits 0
/// when QEMU does.
#[test]
fn aarch64_paravisor_boot_runs_a_manifest_to_init() {
    let inputs = inputs();
    let files = CliFiles::new("boot-linux-aarch64-cli");
    let line = command_line("paravisor.case=cli");
    let (base, size) = (0x4800_0000u64, 256 * MIB);
    let manifest = serde_json::json!({
        "format": "paravisor-load-manifest/1",
        "arch": "aarch64",
        "isolation": { "type": "none", "paravisor_present": true, "shared_gpa_boundary_bits": null },
        "kernel": files.write("Image", &inputs.kernel),
        "shim": files.write("arm64-boot-shim.elf", &inputs.shim),
        "sidecar": null,
        "initrd": files.write("initramfs.cpio", &inputs.initramfs),
        "command_line": { "type": "host_appendable", "value": line },
        "memory_page_base": base / PAGE,
        "memory_page_count": size / PAGE,
        "vtl0": {
            "pcat": false,
            "uefi": {
                "firmware_base": 0x10_0000,
                "total_size": 0x7E_0000,
                "vp_context": paravisor_tests::golden_dir().join("fixtures/uefi-vp-context.bin"),
            },
            "linux": null
        }
    });
    let manifest_path = files.write("manifest.json", manifest.to_string().as_bytes());
    let cli = paravisor_boot(
        &manifest_path,
        &["--timeout", "120", "--host-bootargs", "paravisor.host=cli"],
    );
    let (init, report) = (&cli.init, &cli.report);
    assert_eq!(
        init.cmdline,
        format!("{line} paravisor.host=cli"),
        "/proc/cmdline{report}"
    );
    assert_eq!(init.system_ram, [(base, base + size)], "{report}");
    assert_eq!(init.initrd_bytes, inputs.initramfs.len() as u64, "{report}");
    assert_eq!(cli.status.code(), Some(0), "{report}");
    assert!(
        cli.stderr.contains("QEMU exit status 0"),
        "paravisor boot's exit line{report}"
    );
}

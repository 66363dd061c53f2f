//! AArch64 boot tests: load the paravisor for AArch64 with the real loader
//! (`load_openhcl_arm64`), boot the result under QEMU (`paravisor-qemu`),
//! and require every check line of the AArch64 test shim plus the test
//! kernel's lines.
//!
//! Every case boots with two shims that make the same checks under the
//! same names: the `no_std` Rust shim (`tests/arm64-shim/rust`, built for
//! `aarch64-unknown-none`, linking `paravisor-layout`, `arm64-pagetables`
//! and `crc32fast`) and the assembly shim (`tests/arm64-shim/shim.s`), an
//! independent reader that shares no code with the loader. The test kernel
//! `Image` and the reset stub are assembled by `tests/arm64-shim/build.sh`
//! with the GNU cross binutils. If QEMU, the binutils or the
//! `aarch64-unknown-none` target are missing the tests fail, unless
//! `PARAVISOR_SKIP_QEMU=1` is set, in which case each test prints loudly
//! that it was skipped.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use paravisor_host::recording::PageImport;
use paravisor_loader::Abi;
use paravisor_loader::CommandLine;
use paravisor_loader::IsolationConfig;
use paravisor_loader::IsolationType;
use paravisor_loader::LoadInputs;
use paravisor_loader::Vtl0Config;
use paravisor_loader::Vtl0Linux;
use paravisor_loader::Vtl0Region;
use paravisor_loader::Vtl0Uefi;
use paravisor_qemu::BootImageImporter;
use paravisor_qemu::ExitReason;
use paravisor_qemu::QemuOptions;
use paravisor_qemu::RunConfig;
use paravisor_qemu::RunOutcome;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

const PAGE: u64 = 4096;

/// Every check the shim makes, in the order it prints them.
const SHIM_CHECKS: [&str; 18] = [
    "el1h",
    "sctlr-el1",
    "tcr-el1",
    "mair-el1",
    "vbar-el1",
    "shim-params",
    "param-offsets",
    "isolation",
    "ttbr0-el1",
    "identity-map",
    "identity-map-at",
    "cmdline",
    "initrd-crc",
    "kernel-image",
    "log-buffer-writable",
    "heap-writable",
    "vtl2-measured-config",
    "vtl0-measured-config",
];

const KERNEL_LINE: &str = "TEST-KERNEL: reached the AArch64 test kernel";

// ---------------------------------------------------------------------------
// Artifacts: shim, kernel Image and reset stub, assembled once per run.

struct Artifacts {
    asm_shim: Vec<u8>,
    /// `None` only when the `aarch64-unknown-none` target could not be
    /// installed and `PARAVISOR_SKIP_ARM64_RUST_SHIM=1` says so (CI sets it
    /// after a failed `rustup target add`, with a loud notice).
    rust_shim: Option<Vec<u8>>,
    kernel: Vec<u8>,
    reset_stub: Vec<u8>,
}

/// Which test shim boots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shim {
    /// `tests/arm64-shim/rust` (links the workspace crates).
    Rust,
    /// `tests/arm64-shim/shim.s`.
    Asm,
}

/// Set by CI when `rustup target add aarch64-unknown-none` failed: the Rust
/// shim is then skipped (loudly, per test) and the assembly shim still runs.
const SKIP_RUST_SHIM_ENV: &str = "PARAVISOR_SKIP_ARM64_RUST_SHIM";

impl Artifacts {
    fn shim(&self, shim: Shim) -> &[u8] {
        match shim {
            Shim::Rust => self.rust_shim.as_deref().unwrap_or_default(),
            Shim::Asm => &self.asm_shim,
        }
    }

    /// The shims every boot runs with: both, or only the assembly shim when
    /// the Rust shim's target is unavailable (announced loudly).
    fn shims(&self, test: &str) -> Vec<Shim> {
        if self.rust_shim.is_some() {
            vec![Shim::Rust, Shim::Asm]
        } else {
            eprintln!(
                "*** {test}: Rust AArch64 shim SKIPPED ({SKIP_RUST_SHIM_ENV}=1: aarch64-unknown-none is not installed); only the assembly shim ran ***"
            );
            vec![Shim::Asm]
        }
    }
}

fn build_artifacts() -> Result<Artifacts, String> {
    let root = paravisor_tests::workspace_root();
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("arm64-shim");
    let output = Command::new("bash")
        .arg(root.join("tests/arm64-shim/build.sh"))
        .arg(&out)
        .output()
        .map_err(|e| format!("cannot run tests/arm64-shim/build.sh: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "tests/arm64-shim/build.sh failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let read = |name: &str| std::fs::read(out.join(name)).map_err(|e| format!("{name}: {e}"));
    Ok(Artifacts {
        asm_shim: read("shim.elf")?,
        rust_shim: match paravisor_tests::arm64_shim::build_rust_shim(&out) {
            Ok(shim) => Some(shim),
            Err(e) if std::env::var(SKIP_RUST_SHIM_ENV).is_ok_and(|v| v == "1") => {
                eprintln!("*** Rust AArch64 shim not built ({SKIP_RUST_SHIM_ENV}=1): {e} ***");
                None
            }
            Err(e) => return Err(e),
        },
        kernel: read("kernel.Image")?,
        reset_stub: read("reset-stub.bin")?,
    })
}

/// The artifacts, or `None` (after a loud notice) when QEMU or the cross
/// binutils are missing and `PARAVISOR_SKIP_QEMU=1` is set. Panics with the
/// reason otherwise.
fn setup(test: &str) -> Option<&'static Artifacts> {
    static ARTIFACTS: OnceLock<Result<Artifacts, String>> = OnceLock::new();
    match paravisor_qemu::qemu_or_skip(test, &RunConfig::default()) {
        Ok(true) => {}
        Ok(false) => return None,
        Err(e) => panic!("{test}: {e}"),
    }
    match ARTIFACTS.get_or_init(build_artifacts) {
        Ok(a) => Some(a),
        Err(e) if std::env::var(paravisor_qemu::SKIP_QEMU_ENV).is_ok_and(|v| v == "1") => {
            eprintln!(
                "*** SKIPPED {test}: cannot build the AArch64 shims: {e} (PARAVISOR_SKIP_QEMU=1 is set) ***"
            );
            None
        }
        Err(e) => panic!(
            "{test}: cannot build the AArch64 shims ({e}); install binutils-aarch64-linux-gnu and the aarch64-unknown-none Rust target, or set PARAVISOR_SKIP_QEMU=1"
        ),
    }
}

/// The single import with `tag`.
fn import_mut<'a>(importer: &'a mut BootImageImporter, tag: &str) -> &'a mut PageImport {
    let mut found = importer.imports_mut().filter(|i| i.tag == tag);
    let import = found
        .next()
        .unwrap_or_else(|| panic!("no import tagged {tag}"));
    assert!(found.next().is_none(), "several imports tagged {tag}");
    import
}

// ---------------------------------------------------------------------------
// Loading and booting.

/// VTL2 memory base used by the tests: inside the RAM of `virt`
/// (0x4000_0000 on), 2 MiB aligned.
const VTL2_BASE: u64 = 0x4800_0000;
/// 64 MiB of VTL2 memory.
const VTL2_PAGES: u64 = 0x4000;

#[derive(Clone, Copy)]
enum Vtl0 {
    Uefi,
    Linux,
}

#[derive(Clone)]
struct Case {
    name: &'static str,
    /// The ABI profile of the image; the Rust shim is built for it.
    abi: Abi,
    shim: Shim,
    vtl0: Vtl0,
    initrd: Option<Vec<u8>>,
    command_line: CommandLine<'static>,
    memory_base: u64,
    memory_pages: u64,
    isolation: IsolationType,
}

impl Case {
    fn new(name: &'static str, vtl0: Vtl0) -> Self {
        Self {
            name,
            abi: Abi::default(),
            shim: Shim::Rust,
            vtl0,
            initrd: None,
            command_line: CommandLine::Static("console=ttyAMA0 panic=-1"),
            memory_base: VTL2_BASE,
            memory_pages: VTL2_PAGES,
            isolation: IsolationType::None,
        }
    }
}

/// Deterministic initrd bytes of an odd length (so the CRC tail path runs).
fn initrd_bytes(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 24) as u8
        })
        .collect()
}

fn load(case: &Case, artifacts: &Artifacts) -> BootImageImporter {
    let vp_context =
        std::fs::read(paravisor_tests::golden_dir().join("fixtures/uefi-vp-context.bin"))
            .expect("uefi-vp-context.bin fixture");
    let vtl0 = match case.vtl0 {
        Vtl0::Uefi => Vtl0Config {
            pcat: false,
            uefi: Some(Vtl0Uefi {
                firmware_base: 0x10_0000,
                total_size: 0x7E_0000,
                vp_context: &vp_context,
            }),
            linux: None,
        },
        Vtl0::Linux => Vtl0Config {
            pcat: false,
            uefi: None,
            linux: Some(Vtl0Linux {
                command_line: b"console=ttyAMA0 root=/dev/vda",
                kernel: Vtl0Region {
                    gpa: 0x20_0000,
                    size: 0x40_0000,
                },
                kernel_entrypoint: 0x20_0000,
                initrd: None,
            }),
        },
    };
    let shim = if case.abi == Abi::default() || case.shim == Shim::Asm {
        artifacts.shim(case.shim).to_vec()
    } else {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("arm64-shim");
        paravisor_tests::arm64_shim::build_rust_shim_for(&out, case.abi)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name))
    };
    let inputs = LoadInputs {
        abi: case.abi,
        kernel: &artifacts.kernel,
        shim: &shim,
        sidecar: None,
        initrd: case.initrd.as_deref(),
        command_line: case.command_line,
        memory_page_base: Some(case.memory_base / PAGE),
        memory_page_count: case.memory_pages,
        vtl0,
    };
    let mut importer = BootImageImporter::new(IsolationConfig {
        isolation_type: case.isolation,
        paravisor_present: true,
        shared_gpa_boundary_bits: None,
    });
    let mut tables = vec![0u8; 15 * PAGE as usize];
    paravisor_loader::load_openhcl_arm64(&mut importer, &inputs, &mut tables)
        .unwrap_or_else(|e| panic!("{}/{:?}: load failed: {e}", case.name, case.shim));
    importer
}

fn boot(case: &Case, importer: &BootImageImporter) -> RunOutcome {
    // PARAVISOR_QEMU_KEEP=DIR keeps QEMU's input files in DIR/<case>-<shim>
    // for debugging (the command line is printed on failure).
    let config = match std::env::var_os("PARAVISOR_QEMU_KEEP") {
        Some(dir) => RunConfig {
            runner: QemuOptions {
                work_dir: Some(PathBuf::from(dir).join(format!("{}-{:?}", case.name, case.shim))),
                keep_files: true,
                ..QemuOptions::default()
            },
            ..RunConfig::default()
        },
        None => RunConfig::default(),
    };
    let outcome = paravisor_qemu::boot_aarch64(&importer.zero_filled_image(), &config)
        .unwrap_or_else(|e| panic!("{}/{:?}: runner error: {e}", case.name, case.shim));
    eprintln!(
        "---- {}/{:?} console ----\n{}---- QEMU stderr ----\n{}---- exit: {:?}",
        case.name,
        case.shim,
        outcome.console_text(),
        outcome.qemu_stderr,
        outcome.exit
    );
    outcome
}

/// The verdict of the line `CHECK <name> OK|FAIL[ <detail>]`.
fn verdict(console: &str, name: &str) -> Option<&'static str> {
    console.lines().find_map(|line| {
        let rest = line.strip_prefix("CHECK ")?.strip_prefix(name)?;
        let verdict = rest.strip_prefix(' ')?;
        let word = verdict.split(' ').next()?;
        match word {
            "OK" => Some("OK"),
            "FAIL" => Some("FAIL"),
            _ => None,
        }
    })
}

fn info(console: &str, name: &str) -> Option<u64> {
    console.lines().find_map(|line| {
        let value = line
            .strip_prefix("INFO ")?
            .strip_prefix(name)?
            .strip_prefix(" 0x")?;
        u64::from_str_radix(value, 16).ok()
    })
}

/// Boots `case` with both shims and requires every shim check, the
/// kernel's lines and a clean exit.
fn boot_and_require_all(case: &Case) {
    let Some(artifacts) = setup(case.name) else {
        return;
    };
    for shim in artifacts.shims(case.name) {
        let mut case = case.clone();
        case.shim = shim;
        boot_one_and_require_all(&case);
    }
}

fn boot_one_and_require_all(case: &Case) {
    let Some(artifacts) = setup(case.name) else {
        return;
    };
    let importer = load(case, artifacts);
    let outcome = boot(case, &importer);
    let console = outcome.console_text();
    for name in SHIM_CHECKS.iter().chain(&["kernel-load-address"]) {
        assert_eq!(
            verdict(&console, name),
            Some("OK"),
            "{}/{:?}: check {name} did not pass; console:\n{console}\nQEMU: {}\n{}",
            case.name,
            case.shim,
            outcome.command,
            outcome.qemu_stderr
        );
    }
    assert!(
        console.lines().any(|l| l == KERNEL_LINE),
        "{}: kernel not reached",
        case.name
    );
    assert_eq!(info(&console, "failed_checks"), Some(0), "{}", case.name);
    assert!(
        !console.contains("EXCEPTION"),
        "{}: exception:\n{console}",
        case.name
    );
    assert_eq!(outcome.exit, ExitReason::Exited(0), "{}", case.name);
    // The Rust shim hands off as the arm64 boot protocol asks (x0 = its
    // device tree, MMU and D-cache off, DAIF masked; the test kernel
    // checks); the assembly shim enters the kernel with x0 = 0.
    match case.shim {
        Shim::Rust => assert_eq!(
            verdict(&console, "kernel-handoff"),
            Some("OK"),
            "{}: hand-off:\n{console}",
            case.name
        ),
        Shim::Asm => assert!(
            console.contains("INFO kernel_handoff none"),
            "{}: assembly shim hand-off:\n{console}",
            case.name
        ),
    }

    // What the shim saw is what the test asked for.
    let cmdline = format!("CMDLINE [{}]", case.command_line.text());
    assert!(
        console.lines().any(|l| l == cmdline),
        "{}: expected {cmdline}",
        case.name
    );
    let initrd_len = case.initrd.as_ref().map_or(0, Vec::len) as u64;
    assert_eq!(
        info(&console, "initrd_size"),
        Some(initrd_len),
        "{}",
        case.name
    );
    assert_eq!(
        info(&console, "vtl2_start"),
        Some(case.memory_base),
        "{}",
        case.name
    );
    assert_eq!(
        info(&console, "vtl2_end"),
        Some(case.memory_base + case.memory_pages * PAGE),
        "{}",
        case.name
    );
    // supported_vtl0: bit 0 for UEFI; Linux is not recorded on AArch64
    // (docs/algorithms.md §8 step 22).
    let supported = match case.vtl0 {
        Vtl0::Uefi => 1,
        Vtl0::Linux => 0,
    };
    assert_eq!(
        info(&console, "vtl0_supported"),
        Some(supported),
        "{}",
        case.name
    );
    // The kernel runs at VTL2 start + 2 MiB (text_offset 0).
    assert_eq!(
        info(&console, "kernel_entry"),
        Some(case.memory_base + 0x20_0000),
        "{}",
        case.name
    );
}

#[test]
fn boots_every_abi_profile_with_a_rust_shim_built_for_it() {
    // docs/abi-versions.md: each later profile's image (without an initrd,
    // so from release-1.8.2607 on the shim follows the kernel, G5), read by
    // the Rust shim built for that profile.
    let names = [
        "abi-release-1.7.2511",
        "abi-release-1.8.2607",
        "abi-main-1488a37b",
    ];
    for (abi, name) in Abi::ALL.into_iter().skip(1).zip(names) {
        let Some(artifacts) = setup(name) else {
            return;
        };
        if artifacts.rust_shim.is_none() {
            eprintln!("*** {name}: Rust AArch64 shim SKIPPED ({SKIP_RUST_SHIM_ENV}=1) ***");
            continue;
        }
        let mut case = Case::new(name, Vtl0::Uefi);
        case.abi = abi;
        boot_one_and_require_all(&case);
    }
}

#[test]
fn boots_uefi_without_initrd() {
    boot_and_require_all(&Case::new("uefi-no-initrd", Vtl0::Uefi));
}

#[test]
fn boots_uefi_with_initrd() {
    let mut case = Case::new("uefi-initrd", Vtl0::Uefi);
    case.initrd = Some(initrd_bytes(0x10_0003));
    boot_and_require_all(&case);
}

#[test]
fn boots_linux_without_initrd() {
    let mut case = Case::new("linux-no-initrd", Vtl0::Linux);
    case.command_line = CommandLine::HostAppendable("console=ttyAMA0 ünïcödé ✓ 𝄞");
    boot_and_require_all(&case);
}

#[test]
fn boots_linux_with_initrd() {
    let mut case = Case::new("linux-initrd", Vtl0::Linux);
    case.initrd = Some(initrd_bytes(5001));
    case.command_line = CommandLine::HostAppendable("");
    boot_and_require_all(&case);
}

/// VBS isolation: the same image as no isolation on AArch64
/// (supported_isolation_type 1 either way, docs/abi.md §2.1).
#[test]
fn boots_vbs_uefi_with_initrd() {
    let mut case = Case::new("vbs-uefi-initrd", Vtl0::Uefi);
    case.isolation = IsolationType::Vbs;
    case.initrd = Some(initrd_bytes(0x2_0001));
    boot_and_require_all(&case);
}

/// VTL2 memory from 2 MiB below 2 GiB to 2 MiB above 3 GiB: a 2 MiB block,
/// a 1 GiB block and another level-2 table (docs/algorithms.md §5, second
/// example), walked by the shim.
#[test]
fn boots_memory_with_a_1gib_block() {
    let mut case = Case::new("uefi-1gib-block", Vtl0::Uefi);
    case.memory_base = 0x7FE0_0000;
    case.memory_pages = (0x4000_0000 + 0x40_0000) / PAGE;
    case.initrd = Some(initrd_bytes(777));
    // The case really has a 1 GiB block: the used tables hold exactly
    // three block descriptors (low bits 0x70D, docs/abi.md §7.7): 2 MiB, 1 GiB
    // and 2 MiB, as in docs/algorithms.md §5's second example.
    if let Some(artifacts) = setup(case.name) {
        let mut importer = load(&case, artifacts);
        let tables = &import_mut(&mut importer, "underhill-page-tables").data;
        let mut blocks: Vec<u64> = tables
            .chunks_exact(8)
            .map(|e| u64::from_le_bytes(e.try_into().unwrap()))
            .filter(|e| e & 0xFFF == 0x70D)
            .map(|e| e & 0x0000_FFFF_FFFF_F000)
            .collect();
        blocks.sort_unstable();
        assert_eq!(blocks, [0x7FE0_0000, 0x8000_0000, 0xC000_0000]);
    }
    boot_and_require_all(&case);
}

/// Loads `case`, breaks the image with `corrupt`, boots it with each shim,
/// and returns the console outputs (the shims must still reach the
/// kernel). Empty when skipped.
fn boot_broken(case: &Case, corrupt: impl Fn(&mut BootImageImporter)) -> Vec<(Shim, String)> {
    let Some(artifacts) = setup(case.name) else {
        return Vec::new();
    };
    artifacts
        .shims(case.name)
        .into_iter()
        .map(|shim| {
            let mut case = case.clone();
            case.shim = shim;
            let mut importer = load(&case, artifacts);
            corrupt(&mut importer);
            let console = boot(&case, &importer).console_text();
            assert!(
                console.lines().any(|l| l == KERNEL_LINE),
                "{}/{shim:?}: kernel not reached:\n{console}",
                case.name
            );
            (shim, console)
        })
        .collect()
}

/// Clearing the descriptor of the last 2 MiB of VTL2 memory must make both
/// identity checks fail (and only them).
#[test]
fn cleared_descriptor_fails_the_identity_checks() {
    let case = Case::new("broken-descriptor", Vtl0::Uefi);
    let last = case.memory_base + case.memory_pages * PAGE - 0x20_0000;
    for (shim, console) in boot_broken(&case, |importer| {
        // A 2 MiB block descriptor is GPA | 0x0040_0000_0000_070D (docs/abi.md §7.7).
        let descriptor = (last | 0x0040_0000_0000_070D).to_le_bytes();
        let tables = import_mut(importer, "underhill-page-tables");
        let at = tables
            .data
            .chunks_exact(8)
            .position(|e| e == descriptor)
            .expect("block descriptor of the last 2 MiB");
        tables.data[at * 8..at * 8 + 8].fill(0);
    }) {
        let at = format!("{shim:?}: {console}");
        assert_eq!(verdict(&console, "identity-map"), Some("FAIL"), "{at}");
        assert_eq!(verdict(&console, "identity-map-at"), Some("FAIL"), "{at}");
        assert_eq!(info(&console, "not_identity_mapped"), Some(last), "{at}");
        for name in SHIM_CHECKS
            .iter()
            .filter(|n| !n.starts_with("identity-map"))
        {
            assert_eq!(verdict(&console, name), Some("OK"), "{name}: {at}");
        }
        assert_eq!(info(&console, "failed_checks"), Some(2), "{at}");
    }
}

/// A wrong `initrd_crc` in the shim parameters must fail the CRC check.
#[test]
fn wrong_initrd_crc_fails_the_crc_check() {
    let mut case = Case::new("broken-initrd-crc", Vtl0::Linux);
    case.initrd = Some(initrd_bytes(4099));
    for (shim, console) in boot_broken(&case, |importer| {
        // initrd_crc: u32 at byte 32 of ShimParamsRaw (docs/abi.md §2).
        import_mut(importer, "underhill-shim-params").data[32] ^= 1;
    }) {
        assert_eq!(
            verdict(&console, "initrd-crc"),
            Some("FAIL"),
            "{shim:?}: {console}"
        );
        assert_eq!(
            info(&console, "failed_checks"),
            Some(1),
            "{shim:?}: {console}"
        );
    }
}

/// A wrong magic in the measured VTL0 configuration (GPA 0x100_0000) must
/// fail the VTL0 config check.
#[test]
fn wrong_vtl0_magic_fails_the_vtl0_check() {
    let case = Case::new("broken-vtl0-magic", Vtl0::Uefi);
    for (shim, console) in boot_broken(&case, |importer| {
        import_mut(importer, "underhill-measured-config").data[0] ^= 0xFF;
    }) {
        let at = format!("{shim:?}: {console}");
        assert_eq!(
            verdict(&console, "vtl0-measured-config"),
            Some("FAIL"),
            "{at}"
        );
        assert_eq!(info(&console, "failed_checks"), Some(1), "{at}");
    }
}

/// Inconsistent parameters stop the boot visibly: a command-line offset
/// 1 GiB past VTL2 memory fails `param-offsets`. The Rust shim then refuses
/// to read through the parameters and exits with status 2; the assembly
/// shim reads the command line there anyway and takes a data abort, which
/// its vectors report (ESR, ELR, FAR) before exiting with status 3 — so
/// the exception path is proven too.
#[test]
fn inconsistent_parameters_stop_the_boot() {
    let case = Case::new("broken-cmdline-offset", Vtl0::Uefi);
    let Some(artifacts) = setup(case.name) else {
        return;
    };
    for shim in artifacts.shims(case.name) {
        let mut case = case.clone();
        case.shim = shim;
        let mut importer = load(&case, artifacts);
        // cmdline_offset: i64 at byte 8 of ShimParamsRaw (docs/abi.md §2).
        let params = &mut import_mut(&mut importer, "underhill-shim-params").data;
        let offset = i64::from_le_bytes(params[8..16].try_into().unwrap()) + 0x4000_0000;
        params[8..16].copy_from_slice(&offset.to_le_bytes());
        let outcome = boot(&case, &importer);
        let console = outcome.console_text();
        let at = format!("{shim:?}: {console}");
        assert_eq!(verdict(&console, "param-offsets"), Some("FAIL"), "{at}");
        assert!(!console.contains(KERNEL_LINE), "{at}");
        match shim {
            Shim::Rust => {
                assert!(console.contains("SHIM: FATAL"), "{at}");
                assert_eq!(outcome.exit, ExitReason::Exited(2), "{at}");
            }
            Shim::Asm => {
                let esr = info(&console, "esr_el1").unwrap_or_else(|| panic!("no report: {at}"));
                // ESR_EL1.EC = 0x25: data abort without a change in exception level.
                assert_eq!(esr >> 26, 0x25, "{at}");
                assert!(console.lines().any(|l| l.starts_with("EXCEPTION")), "{at}");
                assert_eq!(outcome.exit, ExitReason::Exited(3), "{at}");
            }
        }
    }
}

/// The runner's embedded reset stub is the assembled `reset-stub.s`.
#[test]
fn embedded_reset_stub_matches_its_source() {
    let Some(artifacts) = setup("reset-stub") else {
        return;
    };
    let code: Vec<u8> = paravisor_qemu::RESET_STUB_CODE
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    assert_eq!(&artifacts.reset_stub[..code.len()], &code[..]);
    assert!(
        artifacts.reset_stub[code.len()..].iter().all(|&b| b == 0),
        "reset-stub.s has code the runner does not embed"
    );
    assert_eq!(
        artifacts.reset_stub.len(),
        paravisor_qemu::RESET_STUB_REGS_OFFSET + 64
    );
}

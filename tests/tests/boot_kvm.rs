//! Boots the x86-64 paravisor image for real under KVM.
//!
//! Each test loads the freestanding test shim (`tests/boot-shim`, built here
//! for the host target with its own link flags) and the test kernel
//! (`tests/test-kernel/kernel.S`, assembled here) with `load_openhcl_x64`,
//! boots the result on one KVM vCPU (`paravisor-kvm`), and requires every
//! `CHECK <name> OK` line of the shim plus the kernel's line, printed from
//! the address the loader placed the kernel at (docs/algorithms.md §7.1
//! step 8: VTL2 memory start + 2 MiB, plus the ELF entry offset).
//!
//! The broken-image tests clear one page-table entry or corrupt the initrd
//! and require the matching `CHECK ... FAIL` line: the checks can fail.
//!
//! Without a usable /dev/kvm these tests fail, unless PARAVISOR_SKIP_KVM=1
//! is set; then each prints that it was skipped. The one test whose tables
//! hold 1 GiB leaves boots the same shim and kernel under QEMU (TCG) with
//! `paravisor-qemu` instead, and fails without qemu-system-x86_64.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use paravisor_kvm::BootImage;
use paravisor_kvm::BootImageImporter;
use paravisor_kvm::ExitReason;
use paravisor_kvm::RunConfig;
use paravisor_kvm::RunOutcome;
use paravisor_kvm::boot_x64;
use paravisor_kvm::kvm_or_skip;
use paravisor_kvm::relocate_x64;
use paravisor_loader::Abi;
use paravisor_loader::CommandLine;
use paravisor_loader::IsolationConfig;
use paravisor_loader::IsolationType;
use paravisor_loader::LoadInputs;
use paravisor_loader::Vtl0Config;
use paravisor_loader::Vtl0Linux;
use paravisor_loader::Vtl0Region;
use paravisor_loader::Vtl0Uefi;
use paravisor_loader::load_openhcl_x64_alloc;
use paravisor_qemu::X64RunConfig;
use paravisor_qemu::boot_x64_qemu;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::sync::OnceLock;
use std::time::Duration;

const MIB: u64 = 1 << 20;
/// docs/abi.md §1.2: PARAVISOR_DEFAULT_MEMORY_BASE_ADDRESS.
const DEFAULT_BASE: u64 = 0x0800_0000;

/// Every check the shim reports (tests/boot-shim/src/checks.rs), in order.
const CHECKS: [&str; 14] = [
    "relocations",
    "shim-params",
    "isolation",
    "param-offsets",
    "registers",
    "identity-map",
    "gdt",
    "cmdline",
    "initrd-crc",
    "log-buffer-writable",
    "heap-writable",
    "reserved-region",
    "vtl2-measured-config",
    "vtl0-measured-config",
];

const KERNEL_LINE: &str = "TEST-KERNEL: reached the kernel entry point at 0x";

struct Artifacts {
    shim: Vec<u8>,
    kernel: Vec<u8>,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// target/ of this test run (the test binary is target/<profile>/deps/…).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_path_buf()
}

fn run(cmd: &mut Command, what: &str) {
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Builds the shim (freestanding, host target, its own .cargo/config.toml)
/// and assembles the test kernel, once per test binary.
fn artifacts() -> &'static Artifacts {
    static ARTIFACTS: OnceLock<Artifacts> = OnceLock::new();
    ARTIFACTS.get_or_init(|| {
        let out = target_dir().join("boot-kvm");
        std::fs::create_dir_all(&out).unwrap();
        let shim_dir = repo().join("tests").join("boot-shim");
        let shim_target = out.join("boot-shim-target");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        run(
            Command::new(cargo)
                // The shim's .cargo/config.toml is found from the current
                // directory; flags from the outer build must not leak in.
                .current_dir(&shim_dir)
                .env_remove("RUSTFLAGS")
                .env_remove("CARGO_ENCODED_RUSTFLAGS")
                .env_remove("CARGO_BUILD_RUSTFLAGS")
                .env_remove("CARGO_MAKEFLAGS")
                .env("CARGO_TARGET_DIR", &shim_target)
                .args(["build", "--release", "--target", "x86_64-unknown-linux-gnu"]),
            "building tests/boot-shim",
        );
        let shim_path = shim_target
            .join("x86_64-unknown-linux-gnu")
            .join("release")
            .join("boot-shim");
        let kernel_path = out.join("test-kernel.elf");
        let kernel_src = repo().join("tests").join("test-kernel").join("kernel.S");
        run(
            Command::new("cc")
                .args(["-nostdlib", "-static-pie", "-Wl,--build-id=none", "-o"])
                .arg(&kernel_path)
                .arg(&kernel_src),
            "assembling tests/test-kernel/kernel.S",
        );
        Artifacts {
            shim: std::fs::read(&shim_path).unwrap(),
            kernel: std::fs::read(&kernel_path).unwrap(),
        }
    })
}

/// The test shim built for `abi` (cargo feature `abi-<name with - for .>`
/// of tests/boot-shim): it reads that profile's shim parameters. Built once
/// per profile, into the same target folder (only the shim crate differs),
/// under a lock so that a build and the read of its output stay together.
fn shim_for(abi: Abi) -> Vec<u8> {
    if abi == Abi::default() {
        return artifacts().shim.clone();
    }
    static SHIMS: Mutex<Vec<(Abi, Vec<u8>)>> = Mutex::new(Vec::new());
    let mut shims = SHIMS.lock().unwrap();
    if let Some((_, shim)) = shims.iter().find(|(a, _)| *a == abi) {
        return shim.clone();
    }
    artifacts();
    let shim_target = target_dir().join("boot-kvm").join("boot-shim-target");
    let feature = format!("abi-{}", abi.name().replace('.', "-"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(
        Command::new(cargo)
            .current_dir(repo().join("tests").join("boot-shim"))
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_BUILD_RUSTFLAGS")
            .env_remove("CARGO_MAKEFLAGS")
            .env("CARGO_TARGET_DIR", &shim_target)
            .args(["build", "--release", "--target", "x86_64-unknown-linux-gnu"])
            .args(["--features", &feature]),
        "building tests/boot-shim for an ABI profile",
    );
    let path = shim_target
        .join("x86_64-unknown-linux-gnu")
        .join("release")
        .join("boot-shim");
    let shim = std::fs::read(path).unwrap();
    shims.push((abi, shim.clone()));
    shim
}

fn read_u64(bytes: &[u8], offset: usize) -> u64 {
    u64::from_le_bytes(bytes[offset..offset + 8].try_into().unwrap())
}

/// One boot configuration.
struct Case<'a> {
    name: &'a str,
    /// The ABI profile of the image (docs/abi-versions.md).
    abi: Abi,
    /// The profile the shim was built for (normally `abi`).
    shim_abi: Abi,
    isolation: IsolationType,
    memory_page_base: Option<u64>,
    memory_size: u64,
    sidecar: bool,
    initrd: Option<&'a [u8]>,
    command_line: CommandLine<'a>,
    vtl0: Vtl0Config<'a>,
}

impl<'a> Case<'a> {
    fn new(name: &'a str) -> Self {
        Self {
            name,
            abi: Abi::default(),
            shim_abi: Abi::default(),
            isolation: IsolationType::None,
            memory_page_base: None,
            memory_size: 64 * MIB,
            sidecar: false,
            initrd: None,
            command_line: CommandLine::Static("console=ttyS0 shimtest.policy=static"),
            vtl0: Vtl0Config::default(),
        }
    }

    fn memory_start(&self) -> u64 {
        self.memory_page_base
            .map_or(DEFAULT_BASE, |page| page * 0x1000)
    }

    /// Where the kernel entry must be: the kernel's lowest page lands at
    /// VTL2 start + 2 MiB (after the persisted region), and our kernel is
    /// linked at 0, so entry = that + e_entry.
    fn expected_kernel_entry(&self) -> u64 {
        self.memory_start() + 2 * MIB + read_u64(&artifacts().kernel, 24)
    }

    fn load(&self) -> BootImage {
        self.load_recorded().into_image()
    }

    fn load_recorded(&self) -> BootImageImporter {
        let a = artifacts();
        let shim = shim_for(self.shim_abi);
        let inputs = LoadInputs {
            abi: self.abi,
            kernel: &a.kernel,
            shim: &shim,
            // The sidecar is only placed, never run: the test kernel will do.
            sidecar: self.sidecar.then_some(a.kernel.as_slice()),
            initrd: self.initrd,
            command_line: self.command_line,
            memory_page_base: self.memory_page_base,
            memory_page_count: self.memory_size / 0x1000,
            vtl0: self.vtl0,
        };
        let mut importer = BootImageImporter::new(IsolationConfig {
            isolation_type: self.isolation,
            paravisor_present: true,
            shared_gpa_boundary_bits: None,
        });
        load_openhcl_x64_alloc(&mut importer, &inputs)
            .unwrap_or_else(|e| panic!("{}: load failed: {e}", self.name));
        importer
    }
}

/// Boots `image`; `None` when KVM is unusable and skipping is allowed.
fn boot(name: &str, image: &BootImage) -> Option<RunOutcome> {
    match kvm_or_skip(name) {
        Ok(true) => {}
        Ok(false) => return None,
        Err(e) => panic!(
            "{name}: {e}. The KVM boot tests need /dev/kvm; set PARAVISOR_SKIP_KVM=1 to skip them on a machine without it."
        ),
    }
    let config = RunConfig {
        timeout: Duration::from_secs(30),
        ..RunConfig::default()
    };
    let outcome = boot_x64(image, &config, &mut |_| {})
        .unwrap_or_else(|e| panic!("{name}: could not run the VM: {e}"));
    println!("---- {name}: serial output ----\n{}", outcome.serial_text());
    println!(
        "---- {name}: exit {:?} at RIP {:x?}",
        outcome.exit, outcome.final_rip
    );
    Some(outcome)
}

/// Requires every check line OK and the kernel line at the expected entry.
fn assert_boots(case: &Case<'_>) -> RunOutcome {
    let image = case.load();
    let Some(outcome) = boot(case.name, &image) else {
        return RunOutcome {
            serial: Vec::new(),
            exit: ExitReason::Other("skipped".into()),
            final_rip: None,
        };
    };
    let text = outcome.serial_text();
    assert_checks_and_kernel_line(case, &text);
    assert_eq!(outcome.exit, ExitReason::Halted, "{}: {text}", case.name);
    outcome
}

/// Requires every check line OK, none FAIL, and the kernel's line at the
/// expected entry in the serial output `text`.
fn assert_checks_and_kernel_line(case: &Case<'_>, text: &str) {
    for check in CHECKS {
        let ok = format!("CHECK {check} OK");
        assert!(
            text.lines().any(|l| l.starts_with(&ok)),
            "{}: no `{ok}` line; serial output:\n{text}",
            case.name
        );
    }
    assert!(
        !text.contains(" FAIL"),
        "{}: a check failed; serial output:\n{text}",
        case.name
    );
    let kernel_line = format!("{KERNEL_LINE}{:016x}", case.expected_kernel_entry());
    assert!(
        text.lines().any(|l| l == kernel_line),
        "{}: no `{kernel_line}` line; serial output:\n{text}",
        case.name
    );
}

fn initrd(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[test]
fn isolation_none_default_base_boots() {
    assert_boots(&Case::new("none, default base"));
}

#[test]
fn isolation_none_explicit_base_boots() {
    let mut case = Case::new("none, base 256 MiB");
    case.memory_page_base = Some(256 * MIB / 0x1000);
    assert_boots(&case);
}

#[test]
fn vbs_layout_boots() {
    let initrd = initrd(5000);
    let mut case = Case::new("vbs, initrd");
    case.isolation = IsolationType::Vbs;
    case.initrd = Some(&initrd);
    assert_boots(&case);
}

#[test]
fn sidecar_and_initrd_boot() {
    let initrd = initrd(MIB as usize + 123);
    let mut case = Case::new("none, sidecar + 1 MiB initrd");
    case.sidecar = true;
    case.initrd = Some(&initrd);
    assert_boots(&case);
}

#[test]
fn sidecar_without_initrd_boots() {
    let mut case = Case::new("none, sidecar, no initrd");
    case.sidecar = true;
    assert_boots(&case);
}

#[test]
fn empty_initrd_boots() {
    let mut case = Case::new("none, empty initrd");
    case.initrd = Some(&[]);
    assert_boots(&case);
}

#[test]
fn host_appendable_command_line_boots() {
    let mut case = Case::new("none, host-appendable command line");
    case.command_line =
        CommandLine::HostAppendable("console=ttyS0 shimtest.policy=append_chosen läuft");
    let text = assert_boots(&case).serial_text();
    if !text.is_empty() {
        assert!(text.contains("CHECK cmdline OK policy 1 len 50 "), "{text}");
    }
}

#[test]
fn static_command_line_reports_policy_and_length() {
    let text = assert_boots(&Case::new("none, static command line")).serial_text();
    if !text.is_empty() {
        // docs/abi.md §3.1: STATIC = 0; the line is 36 bytes.
        assert!(text.contains("CHECK cmdline OK policy 0 len 36 "), "{text}");
    }
}

#[test]
fn every_abi_profile_boots_with_a_shim_built_for_it() {
    // docs/abi-versions.md: each later profile's image, read by a shim of
    // that profile (its shim-parameter layout and parameter-region size).
    // 64 MiB: no 1 GiB leaf (this machine's KVM, PVM, faults on a 1 GiB
    // PDPTE leaf; later_profiles_with_a_1gib_leaf_boot_under_qemu_tcg boots
    // those under QEMU).
    let initrd = initrd(5000);
    for abi in Abi::ALL.into_iter().skip(1) {
        let name = format!("{abi}, initrd, 1 GiB at 1 GiB");
        let mut case = Case::new(&name);
        case.abi = abi;
        case.shim_abi = abi;
        case.initrd = Some(&initrd);
        assert_boots(&case);
    }
}

/// docs/abi-versions.md G3 for real: each later profile's image whose
/// VTL2 memory, [960 MiB, 2112 MiB), holds the whole aligned GiB
/// [1 GiB, 2 GiB), so its tables map that GiB with one 1 GiB leaf and the
/// rest with 2 MiB leaves. This machine's KVM (PVM) cannot run such tables
/// (docs/TESTING.md), so these boot under QEMU (TCG, `-cpu max`, which has
/// 1 GiB pages) with `paravisor-qemu`'s x86-64 runner. The test kernel
/// halts after its line, so each run ends at the time limit.
#[test]
fn later_profiles_with_a_1gib_leaf_boot_under_qemu_tcg() {
    let initrd = initrd(5000);
    for abi in Abi::ALL.into_iter().skip(1) {
        let name = format!("{abi}, initrd, [960 MiB, 2112 MiB), QEMU TCG");
        let mut case = one_gib_leaf_case(&name, abi);
        case.initrd = Some(&initrd);
        let image = case.load();
        one_gib_leaf_entry(&name, &image);
        let (text, exit) = boot_tcg(&name, &image);
        assert_checks_and_kernel_line(&case, &text);
        // The shim's walker saw the 1 GiB leaf: 512 of the 576 2 MiB pages
        // translate through it, the others through 2 MiB leaves.
        let walked = format!(
            "CHECK identity-map OK 576 2 MiB pages of [{:#x}, {:#x}) identity mapped by CR3 {:#x} (512 of them in 1 GiB leaves)",
            960 * MIB,
            2112 * MIB,
            image.registers.cr3.unwrap()
        );
        assert!(text.contains(&walked), "{name}: no `{walked}`:\n{text}");
        assert_eq!(exit, ExitReason::TimedOut, "{name}: {text}");
    }
}

#[test]
fn cleared_1gib_leaf_fails_the_identity_map_check_under_qemu_tcg() {
    let name = "broken: 1 GiB leaf cleared, QEMU TCG";
    let mut image = one_gib_leaf_case(name, Abi::Release1_7_2511).load();
    let (tables, pos) = one_gib_leaf_entry(name, &image);
    image.pages[tables].data[pos..pos + 8].fill(0);
    let (text, _) = boot_tcg(name, &image);
    assert!(
        text.contains("CHECK identity-map FAIL VA 0x40000000: "),
        "{name}: no identity-map FAIL for the cleared leaf:\n{text}"
    );
    assert!(text.contains("CHECK gdt OK"), "{name}: {text}");
    assert!(!text.contains(KERNEL_LINE), "{name}: {text}");
}

/// VTL2 memory [960 MiB, 2112 MiB) at `abi`: it holds the whole aligned GiB
/// [1 GiB, 2 GiB), which the profile's tables map with one 1 GiB leaf, and
/// 2 MiB leaves around it.
fn one_gib_leaf_case(name: &str, abi: Abi) -> Case<'_> {
    let mut case = Case::new(name);
    case.abi = abi;
    case.shim_abi = abi;
    case.memory_page_base = Some(960 * MIB / 0x1000);
    case.memory_size = 1152 * MIB;
    case
}

/// Where the leaf for [1 GiB, 2 GiB) is in the page-table import (index of
/// the import, byte offset): address | PS | D | A | RW | P = 0xE3
/// (docs/abi.md §4.6), at the PDPT level.
fn one_gib_leaf_entry(name: &str, image: &BootImage) -> (usize, usize) {
    const LEAF: u64 = (1 << 30) | 0xE3;
    let cr3 = image.registers.cr3.unwrap();
    let tables = image.pages.iter().position(|p| p.gpa == cr3).unwrap();
    let pos = image.pages[tables]
        .data
        .chunks_exact(8)
        .position(|e| u64::from_le_bytes(e.try_into().unwrap()) == LEAF)
        .unwrap_or_else(|| {
            panic!("{name}: no 1 GiB leaf entry {LEAF:#x} in the tables at CR3 {cr3:#x}")
        });
    (tables, pos * 8)
}

/// Boots `image` under QEMU (TCG, `-cpu max`: it has 1 GiB pages); the
/// test kernel and a failing shim halt, so the run ends at the time limit.
fn boot_tcg(name: &str, image: &BootImage) -> (String, ExitReason) {
    let config = X64RunConfig {
        timeout: Duration::from_secs(15),
        ..X64RunConfig::default()
    };
    let outcome = boot_x64_qemu(image, &config, &mut |_| {})
        .unwrap_or_else(|e| panic!("{name}: could not run QEMU: {e}"));
    let text = outcome.console_text();
    println!(
        "---- {name}: console ({:?}) ----\n{text}\n---- QEMU stderr ----\n{}",
        outcome.exit, outcome.qemu_stderr
    );
    (text, outcome.exit)
}

#[test]
fn a_seed_shim_misreads_a_later_profile() {
    // The reason for the profiles: a shim of another version misreads the
    // parameters (main-1488a37b's image, the seed's 208-byte layout).
    let mut case = Case::new("main-1488a37b image, seed shim");
    case.abi = Abi::Main1488a37b;
    let text = boot_broken(case.name, &case.load());
    if !text.is_empty() {
        assert!(text.contains("CHECK param-offsets FAIL"), "{text}");
    }
}

#[test]
fn memory_crossing_a_1gib_boundary_boots() {
    // [960 MiB, 1088 MiB) straddles 1 GiB: two page directories.
    let mut case = Case::new("none, 128 MiB across 1 GiB");
    case.memory_page_base = Some(960 * MIB / 0x1000);
    case.memory_size = 128 * MIB;
    case.sidecar = true;
    assert_boots(&case);
}

#[test]
fn one_gib_at_the_default_base_boots() {
    // [128 MiB, 1152 MiB): crosses 1 GiB, 512 2 MiB pages to walk.
    let initrd = initrd(5000);
    let mut case = Case::new("none, 1 GiB at the default base");
    case.memory_size = 1024 * MIB;
    case.initrd = Some(&initrd);
    assert_boots(&case);
}

#[test]
fn vtl0_linux_and_pcat_config_boots() {
    let mut case = Case::new("vbs, VTL0 PCAT + Linux");
    case.isolation = IsolationType::Vbs;
    case.vtl0 = Vtl0Config {
        pcat: true,
        uefi: None,
        linux: Some(Vtl0Linux {
            command_line: b"console=ttyS0",
            kernel: Vtl0Region {
                gpa: 0x20_0000,
                size: 0x10_0000,
            },
            kernel_entrypoint: 0x20_0000,
            initrd: None,
        }),
    };
    let text = assert_boots(&case).serial_text();
    if !text.is_empty() {
        // docs/abi.md §3.5: PCAT bit 1 | Linux bit 2.
        assert!(text.contains("supported_vtl0 0x6"), "{text}");
    }
}

#[test]
fn vtl0_uefi_config_boots() {
    let vp_context = [0x5Au8; 64];
    let mut case = Case::new("none, explicit base, VTL0 UEFI");
    case.memory_page_base = Some(512 * MIB / 0x1000);
    case.vtl0 = Vtl0Config {
        pcat: false,
        uefi: Some(Vtl0Uefi {
            firmware_base: 0x10_0000,
            total_size: 0x40_0000,
            vp_context: &vp_context,
        }),
        linux: None,
    };
    let text = assert_boots(&case).serial_text();
    if !text.is_empty() {
        // docs/abi.md §3.5: UEFI bit 0.
        assert!(text.contains("supported_vtl0 0x1"), "{text}");
    }
}

/// Boots a deliberately broken image; returns the serial text (empty when
/// skipped).
fn boot_broken(name: &str, image: &BootImage) -> String {
    let Some(outcome) = boot(name, image) else {
        return String::new();
    };
    let text = outcome.serial_text();
    assert!(
        !text.contains(KERNEL_LINE),
        "{name}: the shim started the kernel despite a failed check:\n{text}"
    );
    assert_eq!(outcome.exit, ExitReason::Halted, "{name}: {text}");
    text
}

#[test]
fn cleared_page_table_entry_fails_the_identity_map_check() {
    let case = Case::new("broken: last PDE cleared");
    let mut image = case.load();
    // The 2 MiB leaf for the last 2 MiB of VTL2 memory: address | 0xE3
    // (docs/abi.md §4.6). Clear it in the page-table import.
    let last = case.memory_start() + case.memory_size - 2 * MIB;
    let cr3 = image.registers.cr3.unwrap();
    let tables = image.pages.iter_mut().find(|p| p.gpa == cr3).unwrap();
    let pos = tables
        .data
        .chunks_exact(8)
        .position(|e| u64::from_le_bytes(e.try_into().unwrap()) == last | 0xE3)
        .expect("the leaf entry for the last 2 MiB page");
    tables.data[pos * 8..pos * 8 + 8].fill(0);
    let text = boot_broken(case.name, &image);
    if !text.is_empty() {
        let expected = format!("CHECK identity-map FAIL VA {last:#x}: ");
        assert!(text.contains(&expected), "no `{expected}` line:\n{text}");
        assert!(text.contains("CHECK gdt OK"), "{text}");
    }
}

#[test]
fn corrupted_initrd_fails_the_crc_check() {
    let initrd = initrd(5000);
    let mut case = Case::new("broken: initrd byte flipped");
    case.initrd = Some(&initrd);
    let mut image = case.load();
    let page = image
        .pages
        .iter_mut()
        .find(|p| p.data.len() == 5000 && p.data == initrd)
        .expect("the initrd import");
    page.data[4321] ^= 0x40;
    let text = boot_broken(case.name, &image);
    if !text.is_empty() {
        assert!(
            text.contains("CHECK initrd-crc FAIL 5000 bytes at "),
            "{text}"
        );
        assert!(text.contains("CHECK identity-map OK"), "{text}");
    }
}

#[test]
fn shim_is_a_freestanding_position_independent_elf() {
    let shim = &artifacts().shim;
    // ELF64, little-endian, ET_DYN (3), EM_X86_64 (62).
    assert_eq!(&shim[..6], b"\x7fELF\x02\x01");
    assert_eq!(u16::from_le_bytes([shim[16], shim[17]]), 3);
    assert_eq!(u16::from_le_bytes([shim[18], shim[19]]), 62);
}

#[test]
fn wrong_vtl0_config_magic_fails_its_check() {
    let case = Case::new("broken: VTL0 config magic");
    let mut image = case.load();
    // docs/abi.md §3.5: the measured VTL0 config is imported at GPA 0.
    let config = image.pages.iter_mut().find(|p| p.gpa == 0).unwrap();
    config.data[0] ^= 0xFF;
    let text = boot_broken(case.name, &image);
    if !text.is_empty() {
        assert!(
            text.contains("CHECK vtl0-measured-config FAIL at GPA 0: "),
            "{text}"
        );
        assert!(text.contains("CHECK vtl2-measured-config OK"), "{text}");
    }
}

/// Relocates a default-base image as a VMM would (docs/algorithms.md §7.1
/// step 27: one relocation region from VTL2 memory start, 2 MiB alignment,
/// minimum 128 MiB; one page-table relocation record) and boots it.
fn boot_relocated(case: &Case<'_>, new_base: u64) {
    let recorded = case.load_recorded();
    assert_eq!(recorded.relocation_regions().len(), 1, "{}", case.name);
    let vtl2 = recorded.startup_memory()[0];
    assert_eq!(vtl2.gpa, DEFAULT_BASE);
    let image = relocate_x64(
        &recorded.image(),
        vtl2,
        &recorded.relocation_regions(),
        &recorded.page_table_relocations(),
        new_base,
    )
    .unwrap();
    assert_eq!(
        image.registers.rip,
        recorded
            .image()
            .registers
            .rip
            .map(|r| r - DEFAULT_BASE + new_base)
    );
    let Some(outcome) = boot(case.name, &image) else {
        return;
    };
    let text = outcome.serial_text();
    for check in CHECKS {
        assert!(
            text.contains(&format!("CHECK {check} OK")),
            "{}: {check}:\n{text}",
            case.name
        );
    }
    assert!(!text.contains(" FAIL"), "{}:\n{text}", case.name);
    let entry = new_base + 2 * MIB + read_u64(&artifacts().kernel, 24);
    let kernel_line = format!("{KERNEL_LINE}{entry:016x}");
    assert!(
        text.lines().any(|l| l == kernel_line),
        "{}: no `{kernel_line}`:\n{text}",
        case.name
    );
    let memory = format!(
        "VTL2 memory [{:#x}, {:#x})",
        new_base,
        new_base + case.memory_size
    );
    assert!(
        text.contains(&memory),
        "{}: no `{memory}`:\n{text}",
        case.name
    );
    assert_eq!(outcome.exit, ExitReason::Halted);
}

#[test]
fn relocated_default_base_image_boots() {
    // 128 MiB -> 262 MiB: a multiple of 2 MiB, not of 4 MiB or 1 GiB.
    let initrd = initrd(5000);
    let mut case = Case::new("relocated to 262 MiB");
    case.initrd = Some(&initrd);
    case.sidecar = true;
    boot_relocated(&case, 262 * MIB);
}

#[test]
fn relocated_across_a_1gib_boundary_boots() {
    // 64 MiB moved to [992 MiB, 1056 MiB): the rebuilt tables need two
    // page directories, within the region's 5 + 2 x 1 pages.
    boot_relocated(&Case::new("relocated across 1 GiB"), 992 * MIB);
}

#[test]
fn relocation_refuses_a_base_the_record_does_not_allow() {
    let recorded = Case::new("relocation bounds").load_recorded();
    let vtl2 = recorded.startup_memory()[0];
    for bad in [DEFAULT_BASE + 0x1000, 64 * MIB] {
        assert!(
            relocate_x64(
                &recorded.image(),
                vtl2,
                &recorded.relocation_regions(),
                &recorded.page_table_relocations(),
                bad,
            )
            .is_err(),
            "base {bad:#x} accepted"
        );
    }
}

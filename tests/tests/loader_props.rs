//! Property tests of the loaders over random VTL2 ranges, isolation types,
//! command lines, initrds and VTL0 configurations:
//! - a failed load made no importer call at all;
//! - a successful load always gives a valid image summary (no overlapping
//!   imports, no data longer than its pages, no register twice: docs/formats.md
//!   §3 rule 3 is checked up front, never discovered by the importer);
//! - every page outside the VTL0 configuration lies inside VTL2 memory.

use paravisor_host::Arch;
use paravisor_host::summary::SummaryImporter;
use paravisor_loader::CommandLine;
use paravisor_loader::IsolationType;
use paravisor_loader::LoadInputs;
use paravisor_loader::Vtl0Config;
use paravisor_loader::Vtl0Linux;
use paravisor_loader::Vtl0Region;
use paravisor_loader::Vtl0Uefi;
use paravisor_tests::Call;
use paravisor_tests::fixture;
use paravisor_tests::isolation;
use paravisor_tests::record_load;
use paravisor_tests::worked_example_kernel;
use paravisor_tests::worked_example_shim;
use proptest::prelude::*;

const VTL0_TAGS: [&str; 3] = [
    "underhill-measured-config",
    "openhcl-uefi-vp-context",
    "underhill-vtl0-linux-command-line",
];

#[derive(Debug, Clone)]
struct Case {
    iso: IsolationType,
    base: Option<u64>,
    count: u64,
    cmdline: usize,
    initrd: Option<usize>,
    pcat: bool,
    uefi: Option<usize>,
    linux: Option<usize>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop_oneof![
            Just(IsolationType::None),
            Just(IsolationType::Vbs),
            Just(IsolationType::Snp),
            Just(IsolationType::Tdx)
        ],
        prop_oneof![
            4 => Just(None),
            4 => (0u64..4096).prop_map(|k| Some(k * 512)),
            1 => (0u64..1 << 20).prop_map(Some)
        ],
        prop_oneof![8 => (0u64..80).prop_map(|m| m * 512), 1 => 0u64..0x8000],
        0usize..4200,
        proptest::option::of(0usize..20_000),
        any::<bool>(),
        proptest::option::of(0usize..4200),
        proptest::option::of(0usize..4200),
    )
        .prop_map(
            |(iso, base, count, cmdline, initrd, pcat, uefi, linux)| Case {
                iso,
                base,
                count,
                cmdline,
                initrd,
                pcat,
                uefi,
                linux,
            },
        )
}

fn check(arch: Arch, kernel: &[u8], shim: &[u8], c: &Case) -> Result<(), TestCaseError> {
    let cmdline = "c".repeat(c.cmdline);
    let initrd: Vec<u8> = (0..c.initrd.unwrap_or(0)).map(|i| i as u8).collect();
    let vp = vec![0x5Au8; c.uefi.unwrap_or(0)];
    let vtl0_cl = vec![b'l'; c.linux.unwrap_or(0)];
    let inputs = LoadInputs {
        abi: paravisor_loader::Abi::default(),
        kernel,
        shim,
        sidecar: None,
        initrd: c.initrd.map(|_| initrd.as_slice()),
        command_line: CommandLine::Static(&cmdline),
        memory_page_base: c.base,
        memory_page_count: c.count,
        vtl0: Vtl0Config {
            pcat: c.pcat,
            uefi: c.uefi.map(|_| Vtl0Uefi {
                firmware_base: 0,
                total_size: 0x83_0000,
                vp_context: &vp,
            }),
            linux: c.linux.map(|_| Vtl0Linux {
                command_line: &vtl0_cl,
                kernel: Vtl0Region {
                    gpa: 0x20_0000,
                    size: 0x1234,
                },
                kernel_entrypoint: 0x20_0100,
                initrd: None,
            }),
        },
    };
    let iso = isolation(
        c.iso,
        if c.iso == IsolationType::Snp {
            Some(46)
        } else {
            None
        },
    );
    let (loaded, calls) = record_load(arch, iso, &inputs);
    let mut summary = SummaryImporter::new(arch, iso);
    let summarized = match arch {
        Arch::X86_64 => {
            let r = paravisor_loader::load_openhcl_x64_alloc(&mut summary, &inputs);
            summary.finish(r)
        }
        Arch::Aarch64 => {
            let r = paravisor_loader::load_openhcl_arm64_alloc(&mut summary, &inputs);
            summary.finish(r)
        }
    };
    match loaded {
        Err(e) => {
            prop_assert!(calls.is_empty(), "{e}: calls {:?}", calls);
            prop_assert!(!summarized.ok());
        }
        Ok(()) => {
            prop_assert!(
                summarized.ok(),
                "valid load, invalid summary: {:?}",
                summarized.error
            );
            let start = c.base.map_or(0x8000, |b| b);
            let end = start + c.count;
            for call in &calls {
                if let Call::ImportPages(base, count, tag, _, _) = call
                    && *count > 0
                    && !VTL0_TAGS.contains(tag)
                {
                    prop_assert!(
                        *base >= start && base + count <= end,
                        "{tag} pages {base:#x}+{count:#x} outside VTL2 {start:#x}..{end:#x}"
                    );
                }
            }
            let expected_registers = if arch == Arch::X86_64 { 15 } else { 8 };
            prop_assert_eq!(summarized.registers.len(), expected_registers);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn x64_loads_are_valid_or_import_nothing(c in case()) {
        let (k, s) = (worked_example_kernel(), worked_example_shim());
        check(Arch::X86_64, &k, &s, &c)?;
    }

    #[test]
    fn arm64_loads_are_valid_or_import_nothing(c in case()) {
        let (k, s) = (fixture("Image-arm64"), fixture("shim-arm64.elf"));
        check(Arch::Aarch64, &k, &s, &c)?;
    }
}

/// Loads `kernel`/`shim` (x86-64 unless `arm64`) into both a recording and
/// a summary importer: no panic; a failed load made no call; a successful
/// one gives a valid summary.
fn load_never_panics(kernel: &[u8], shim: &[u8], arm64: bool) -> Result<(), TestCaseError> {
    let vp = fixture("uefi-vp-context.bin");
    let inputs = LoadInputs {
        abi: paravisor_loader::Abi::default(),
        kernel,
        shim,
        sidecar: None,
        initrd: None,
        command_line: CommandLine::Static("console=ttyS0"),
        memory_page_base: None,
        memory_page_count: 0x8000,
        vtl0: Vtl0Config {
            pcat: false,
            uefi: Some(Vtl0Uefi {
                firmware_base: 0,
                total_size: 0x83_0000,
                vp_context: &vp,
            }),
            linux: None,
        },
    };
    let iso = isolation(IsolationType::None, None);
    let arch = if arm64 { Arch::Aarch64 } else { Arch::X86_64 };
    let (loaded, calls) = record_load(arch, iso, &inputs);
    let mut summary = SummaryImporter::new(arch, iso);
    let summarized = if arm64 {
        let r = paravisor_loader::load_openhcl_arm64_alloc(&mut summary, &inputs);
        summary.finish(r)
    } else {
        let r = paravisor_loader::load_openhcl_x64_alloc(&mut summary, &inputs);
        summary.finish(r)
    };
    match loaded {
        Err(e) => prop_assert!(calls.is_empty(), "{e}: {:?}", calls),
        Ok(()) => prop_assert!(summarized.ok(), "{:?}", summarized.error),
    }
    Ok(())
}

/// `bytes` with up to 8 bytes of its first `window` bytes replaced.
fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8)], window: usize) -> Vec<u8> {
    let window = window.min(bytes.len());
    for &(at, value) in edits {
        bytes[at % window] = value;
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn corrupted_elf_headers_never_panic_and_import_nothing_on_error(
        kernel_edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
        shim_edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
    ) {
        // The ELF and program headers live in the first 64 + 56 × n bytes.
        let kernel = mutate(fixture("kernel-x64.elf"), &kernel_edits, 64 + 56 * 4);
        let shim = mutate(fixture("shim-x64.elf"), &shim_edits, 64 + 56 * 4);
        load_never_panics(&kernel, &shim, false)?;
    }

    #[test]
    fn corrupted_arm64_images_never_panic_and_import_nothing_on_error(
        image_edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
    ) {
        let image = mutate(fixture("Image-arm64"), &image_edits, 64);
        load_never_panics(&image, &fixture("shim-arm64.elf"), true)?;
    }
}

//! Every error path of the paravisor loaders returns a typed error before
//! the first import: a recording importer sees no call at all apart from
//! `isolation_config` (not even the startup-memory check). An importer
//! failure stops the load at once.

use paravisor_loader::CommandLine;
use paravisor_loader::Error;
use paravisor_loader::IsolationType;
use paravisor_loader::LayoutError;
use paravisor_loader::LoadInputs;
use paravisor_loader::Vtl0Config;
use paravisor_loader::Vtl0Linux;
use paravisor_loader::Vtl0Region;
use paravisor_loader::Vtl0Uefi;
use paravisor_loader::load_openhcl_arm64;
use paravisor_loader::load_openhcl_x64;
use paravisor_tests::EM_AARCH64;
use paravisor_tests::EM_X86_64;
use paravisor_tests::RecordingImporter;
use paravisor_tests::arm64_image;
use paravisor_tests::elf64;
use paravisor_tests::failing::FailingError;
use paravisor_tests::failing::FailingImporter;
use paravisor_tests::fixture;
use paravisor_tests::isolation;
use paravisor_tests::worked_example_kernel;
use paravisor_tests::worked_example_shim;

const BIG: usize = 64 * 4096;

fn x64_inputs<'a>(kernel: &'a [u8], shim: &'a [u8]) -> LoadInputs<'a> {
    LoadInputs {
        abi: paravisor_loader::Abi::default(),
        kernel,
        shim,
        sidecar: None,
        initrd: None,
        command_line: CommandLine::Static("console=ttyS0"),
        memory_page_base: None,
        memory_page_count: 0x4000,
        vtl0: Vtl0Config::default(),
    }
}

/// Runs an x64 load expected to fail with a layout error; checks that no
/// call was made and returns the error.
fn x64_fails(iso: IsolationType, inputs: &LoadInputs<'_>) -> LayoutError {
    x64_fails_with_buffer(iso, inputs, BIG)
}

fn x64_fails_with_buffer(
    iso: IsolationType,
    inputs: &LoadInputs<'_>,
    buffer: usize,
) -> LayoutError {
    let mut importer = RecordingImporter::new(isolation(iso, None));
    let mut tables = vec![0u8; buffer];
    let err = load_openhcl_x64(&mut importer, inputs, &mut tables).expect_err("load must fail");
    assert!(
        importer.calls().is_empty(),
        "calls made before {err}: {:?}",
        importer.calls()
    );
    match err {
        Error::Layout(e) => e,
        Error::Importer(e) => panic!("unexpected importer error {e}"),
    }
}

fn arm64_fails(iso: IsolationType, inputs: &LoadInputs<'_>) -> LayoutError {
    arm64_fails_with_buffer(iso, inputs, BIG)
}

fn arm64_fails_with_buffer(
    iso: IsolationType,
    inputs: &LoadInputs<'_>,
    buffer: usize,
) -> LayoutError {
    let mut importer = RecordingImporter::new(isolation(iso, None));
    let mut tables = vec![0u8; buffer];
    let err = load_openhcl_arm64(&mut importer, inputs, &mut tables).expect_err("load must fail");
    assert!(
        importer.calls().is_empty(),
        "calls made before {err}: {:?}",
        importer.calls()
    );
    match err {
        Error::Layout(e) => e,
        Error::Importer(e) => panic!("unexpected importer error {e}"),
    }
}

#[test]
fn x64_memory_errors_import_nothing() {
    let (k, s) = (worked_example_kernel(), worked_example_shim());
    let base = x64_inputs(&k, &s);
    // Start 4 KiB: not 2 MiB aligned (MemoryUnaligned in the original).
    let e = x64_fails(
        IsolationType::None,
        &LoadInputs {
            memory_page_base: Some(1),
            ..base
        },
    );
    assert!(
        matches!(
            e,
            LayoutError::MemoryUnaligned {
                what: "start",
                value: 0x1000
            }
        ),
        "{e}"
    );
    // One page: size not 2 MiB aligned.
    let e = x64_fails(
        IsolationType::None,
        &LoadInputs {
            memory_page_count: 1,
            ..base
        },
    );
    assert!(
        matches!(
            e,
            LayoutError::MemoryUnaligned {
                what: "size",
                value: 0x1000
            }
        ),
        "{e}"
    );
    // Base page × 4096 overflows.
    let e = x64_fails(
        IsolationType::None,
        &LoadInputs {
            memory_page_base: Some(u64::MAX),
            ..base
        },
    );
    assert!(matches!(e, LayoutError::MemoryBaseOverflow { .. }), "{e}");
    // Start + size beyond 2^64.
    let e = x64_fails(
        IsolationType::None,
        &LoadInputs {
            memory_page_base: Some(0xF_FFFF_FFFF_FE00),
            memory_page_count: 0x200,
            ..base
        },
    );
    assert!(matches!(e, LayoutError::MemorySizeOverflow { .. }), "{e}");
    // 2 MiB of VTL2 memory: the worked example needs 0x49_A000 bytes.
    let e = x64_fails(
        IsolationType::None,
        &LoadInputs {
            memory_page_count: 0x200,
            ..base
        },
    );
    assert!(
        matches!(
            e,
            LayoutError::NotEnoughMemory {
                required: 0x49_A000,
                available: 0x20_0000,
                ..
            }
        ),
        "{e}"
    );
    // 0 pages: the original panics ("size not set"); here NotEnoughMemory.
    let e = x64_fails(
        IsolationType::None,
        &LoadInputs {
            memory_page_count: 0,
            ..base
        },
    );
    assert!(matches!(e, LayoutError::NotEnoughMemory { .. }), "{e}");
    // More than 512 GiB: the original panics in the page-table builder.
    let e = x64_fails(
        IsolationType::None,
        &LoadInputs {
            memory_page_count: (512 << 18) + 512,
            ..base
        },
    );
    assert!(matches!(e, LayoutError::PageTables(_)), "{e}");
}

#[test]
fn x64_isolation_page_table_panics_are_errors() {
    let (k, s) = (worked_example_kernel(), worked_example_shim());
    let base = x64_inputs(&k, &s);
    // SNP with VTL2 at 2 MiB: the local map (2 MiB at 2 MiB) overlaps
    // (docs/algorithms.md §9 row 6).
    let e = x64_fails(
        IsolationType::Snp,
        &LoadInputs {
            memory_page_base: Some(0x200),
            ..base
        },
    );
    assert!(matches!(e, LayoutError::PageTables(_)), "{e}");
    // TDX with VTL2 at 1 GiB: the 3 GiB map covers the reset-vector 2 MiB
    // (row 7).
    let e = x64_fails(
        IsolationType::Tdx,
        &LoadInputs {
            memory_page_base: Some(0x4_0000),
            ..base
        },
    );
    assert!(matches!(e, LayoutError::PageTables(_)), "{e}");
}

#[test]
fn x64_input_errors_import_nothing() {
    let (k, s) = (worked_example_kernel(), worked_example_shim());
    let base = x64_inputs(&k, &s);
    let long = "x".repeat(4093);
    let e = x64_fails(
        IsolationType::None,
        &LoadInputs {
            command_line: CommandLine::Static(&long),
            ..base
        },
    );
    assert!(
        matches!(
            e,
            LayoutError::CommandLineTooLong {
                len: 4093,
                max: 4092
            }
        ),
        "{e}"
    );
    let e = x64_fails(
        IsolationType::None,
        &LoadInputs {
            kernel: b"garbage",
            ..base
        },
    );
    assert!(matches!(e, LayoutError::Kernel(_)), "{e}");
    let arm_shim = elf64(EM_AARCH64, 0, &[(0, 0x1000, &[1])]);
    let e = x64_fails(
        IsolationType::None,
        &LoadInputs {
            shim: &arm_shim,
            ..base
        },
    );
    assert!(matches!(e, LayoutError::Shim(_)), "{e}");
    let e = x64_fails(
        IsolationType::None,
        &LoadInputs {
            sidecar: Some(b"\x7fELF"),
            ..base
        },
    );
    assert!(matches!(e, LayoutError::Sidecar(_)), "{e}");
    // A shim without PT_LOAD: the original underflows computing RSI.
    let empty_shim = elf64(EM_X86_64, 0, &[]);
    let e = x64_fails(
        IsolationType::None,
        &LoadInputs {
            shim: &empty_shim,
            ..base
        },
    );
    assert!(
        matches!(e, LayoutError::NoLoadSegments { what: "boot shim" }),
        "{e}"
    );
    // A page-table buffer of one page (three are needed).
    let e = x64_fails_with_buffer(IsolationType::None, &base, 4096);
    assert!(matches!(e, LayoutError::PageTables(_)), "{e}");
}

fn linux<'a>(command_line: &'a [u8], initrd_gpa: u64) -> Vtl0Linux<'a> {
    Vtl0Linux {
        command_line,
        kernel: Vtl0Region {
            gpa: 0x20_0000,
            size: 0x1234,
        },
        kernel_entrypoint: 0x20_0100,
        initrd: Some(Vtl0Region {
            gpa: initrd_gpa,
            size: 0x2001,
        }),
    }
}

#[test]
fn x64_vtl0_errors_import_nothing() {
    let (k, s) = (worked_example_kernel(), worked_example_shim());
    let base = x64_inputs(&k, &s);
    // VTL0 command line 4096 bytes + NUL overflows its page (docs/formats.md §3
    // rule 3).
    let long = vec![b'a'; 4096];
    let vtl0 = Vtl0Config {
        linux: Some(linux(&long, 0x80_0000)),
        ..Vtl0Config::default()
    };
    let e = x64_fails(IsolationType::None, &LoadInputs { vtl0, ..base });
    assert!(
        matches!(
            e,
            LayoutError::Vtl0CommandLineTooLong {
                len: 4096,
                max: 4095
            }
        ),
        "{e}"
    );
    // A NUL inside the command line.
    let vtl0 = Vtl0Config {
        linux: Some(linux(b"root=\0x", 0x80_0000)),
        ..Vtl0Config::default()
    };
    let e = x64_fails(IsolationType::None, &LoadInputs { vtl0, ..base });
    assert!(
        matches!(e, LayoutError::Vtl0CommandLineNul { offset: 5 }),
        "{e}"
    );
    // Unaligned VTL0 initrd (MemoryUnaligned in the original, found only
    // after almost everything was imported).
    let vtl0 = Vtl0Config {
        linux: Some(linux(b"root=/dev/sda", 0x80_0800)),
        ..Vtl0Config::default()
    };
    let e = x64_fails(IsolationType::None, &LoadInputs { vtl0, ..base });
    assert!(
        matches!(e, LayoutError::Vtl0InitrdUnaligned { gpa: 0x80_0800 }),
        "{e}"
    );
    // UEFI VP context over 4096 bytes.
    let vp = vec![0u8; 4097];
    let vtl0 = Vtl0Config {
        uefi: Some(Vtl0Uefi {
            firmware_base: 0,
            total_size: 0x83_0000,
            vp_context: &vp,
        }),
        ..Vtl0Config::default()
    };
    let e = x64_fails(IsolationType::None, &LoadInputs { vtl0, ..base });
    assert!(
        matches!(
            e,
            LayoutError::UefiVpContextTooLarge {
                len: 4097,
                max: 4096
            }
        ),
        "{e}"
    );
}

#[test]
fn x64_limits_that_still_fit_load() {
    // The largest values that fit: 4092-byte command line, 4095-byte VTL0
    // command line (+ NUL), 4096-byte VP context.
    let (k, s) = (worked_example_kernel(), worked_example_shim());
    let cl = "c".repeat(4092);
    let vtl0_cl = vec![b'v'; 4095];
    let vp = vec![0xAAu8; 4096];
    let inputs = LoadInputs {
        command_line: CommandLine::HostAppendable(&cl),
        vtl0: Vtl0Config {
            pcat: true,
            uefi: Some(Vtl0Uefi {
                firmware_base: 0,
                total_size: 0x83_0000,
                vp_context: &vp,
            }),
            linux: Some(linux(&vtl0_cl, 0x80_0000)),
        },
        ..x64_inputs(&k, &s)
    };
    let mut importer = RecordingImporter::new(isolation(IsolationType::None, None));
    let mut tables = vec![0u8; BIG];
    load_openhcl_x64(&mut importer, &inputs, &mut tables).unwrap();
    assert!(!importer.imports().is_empty());
}

fn arm64_inputs<'a>(kernel: &'a [u8], shim: &'a [u8], vp: &'a [u8]) -> LoadInputs<'a> {
    LoadInputs {
        abi: paravisor_loader::Abi::default(),
        kernel,
        shim,
        sidecar: None,
        initrd: None,
        command_line: CommandLine::Static("console=ttyAMA0"),
        memory_page_base: None,
        memory_page_count: 0x4000,
        vtl0: Vtl0Config {
            pcat: false,
            uefi: Some(Vtl0Uefi {
                firmware_base: 0,
                total_size: 0x83_0000,
                vp_context: vp,
            }),
            linux: None,
        },
    }
}

#[test]
fn arm64_asserts_and_panics_are_errors_that_import_nothing() {
    let (k, s, vp) = (
        fixture("Image-arm64"),
        fixture("shim-arm64.elf"),
        fixture("uefi-vp-context.bin"),
    );
    let base = arm64_inputs(&k, &s, &vp);
    let pcat = Vtl0Config {
        pcat: true,
        ..base.vtl0
    };
    let e = arm64_fails(IsolationType::None, &LoadInputs { vtl0: pcat, ..base });
    assert!(matches!(e, LayoutError::PcatOnArm64), "{e}");
    let e = arm64_fails(
        IsolationType::None,
        &LoadInputs {
            vtl0: Vtl0Config::default(),
            ..base
        },
    );
    assert!(matches!(e, LayoutError::NoVtl0ImageOnArm64), "{e}");
    // The original panics only after the kernel, initrd, shim, command
    // line, log and heap were imported (docs/algorithms.md §9 row 13).
    for iso in [IsolationType::Snp, IsolationType::Tdx] {
        let e = arm64_fails(iso, &base);
        assert!(
            matches!(e, LayoutError::IsolationNotSupportedOnArm64 { isolation } if isolation == iso),
            "{e}"
        );
    }
    let e = arm64_fails(
        IsolationType::None,
        &LoadInputs {
            sidecar: Some(&s),
            ..base
        },
    );
    assert!(matches!(e, LayoutError::SidecarOnArm64), "{e}");
}

#[test]
fn arm64_input_errors_import_nothing() {
    let (k, s, vp) = (
        fixture("Image-arm64"),
        fixture("shim-arm64.elf"),
        fixture("uefi-vp-context.bin"),
    );
    let base = arm64_inputs(&k, &s, &vp);
    let mut bad = k.clone();
    bad[56] = b'X';
    let e = arm64_fails(
        IsolationType::None,
        &LoadInputs {
            kernel: &bad,
            ..base
        },
    );
    assert!(matches!(e, LayoutError::Arm64Kernel(_)), "{e}");
    let x64_shim = worked_example_shim();
    let e = arm64_fails(
        IsolationType::None,
        &LoadInputs {
            shim: &x64_shim,
            ..base
        },
    );
    assert!(matches!(e, LayoutError::Shim(_)), "{e}");
    let e = arm64_fails(
        IsolationType::None,
        &LoadInputs {
            memory_page_count: 0x200,
            ..base
        },
    );
    assert!(matches!(e, LayoutError::NotEnoughMemory { .. }), "{e}");
    // A page-table buffer of two pages (three are needed).
    let e = arm64_fails_with_buffer(IsolationType::None, &base, 2 * 4096);
    assert!(matches!(e, LayoutError::Arm64PageTables(_)), "{e}");
}

#[test]
fn arm64_kernel_over_the_measured_config_page_is_rejected() {
    // VTL2 at 0: the kernel lands at 2 MiB (page 0x200); 0xE01 pages of
    // image reach the measured-config page at 16 MiB (page 0x1000) but not
    // the VP-context page after it. The original silently produces
    // overlapping imports (docs/formats.md §3 rule 3).
    let kernel = arm64_image(0, 0xE01 * 4096, &[0; 64]);
    let (s, vp) = (fixture("shim-arm64.elf"), fixture("uefi-vp-context.bin"));
    let inputs = LoadInputs {
        memory_page_base: Some(0),
        memory_page_count: 0x1_0000,
        ..arm64_inputs(&kernel, &s, &vp)
    };
    let e = arm64_fails(IsolationType::None, &inputs);
    match e {
        LayoutError::ImportsOverlap { first, second, .. } => {
            let tags = [first, second];
            assert!(tags.contains(&"linux-kernel"), "{e}");
            assert!(tags.contains(&"underhill-measured-config"), "{e}");
        }
        other => panic!("expected an overlap, got {other}"),
    }
    // A smaller kernel at the same base does not reach page 0x1000.
    let kernel = arm64_image(0, 0x80_0000, &[0; 64]);
    let inputs = LoadInputs {
        kernel: &kernel,
        ..inputs
    };
    let mut importer = RecordingImporter::new(isolation(IsolationType::None, None));
    let mut tables = vec![0u8; BIG];
    load_openhcl_arm64(&mut importer, &inputs, &mut tables).unwrap();
}

#[test]
fn an_importer_failure_stops_the_load_at_that_call() {
    let (k, s) = (worked_example_kernel(), worked_example_shim());
    let inputs = x64_inputs(&k, &s);
    // A complete load, to count its calls.
    let mut importer = RecordingImporter::new(isolation(IsolationType::None, None));
    let mut tables = vec![0u8; BIG];
    load_openhcl_x64(&mut importer, &inputs, &mut tables).unwrap();
    let total = importer.calls().len();
    assert_eq!(total, 35, "docs/worked-example.md §4 lists 35 calls");
    // set_imported_regions_config_page (the last call) cannot fail.
    for fail_at in 0..total - 1 {
        let mut importer = FailingImporter::new(isolation(IsolationType::None, None), fail_at);
        let err = load_openhcl_x64(&mut importer, &inputs, &mut tables).unwrap_err();
        assert!(
            matches!(err, Error::Importer(FailingError::Injected { call: i }) if i == fail_at),
            "{err}"
        );
        assert_eq!(
            importer.calls().len(),
            fail_at + 1,
            "calls continued after the failure"
        );
    }
}

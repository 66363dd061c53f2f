//! The worked example of docs/worked-example.md, checked call by call and
//! byte by byte: the importer calls in order (§4), and the guest memory the
//! no_std guest-memory importer writes (§5 shim parameters, §6 command
//! line, §7 page tables, §8 GDT and registers, §9 measured configs). All
//! expected numbers are the spec's.

use paravisor_loader::CommandLine;
use paravisor_loader::GuestMemoryImporter;
use paravisor_loader::IsolationType;
use paravisor_loader::LoadInputs;
use paravisor_loader::PageAcceptance::Exclusive;
use paravisor_loader::PageTableRelocation;
use paravisor_loader::ParameterType;
use paravisor_loader::RelocationRegion;
use paravisor_loader::StartupMemoryType;
use paravisor_loader::Vtl0Config;
use paravisor_loader::guest_memory::RecordedRegister;
use paravisor_loader::load_openhcl_arm64;
use paravisor_loader::load_openhcl_x64;
use paravisor_tests::Call;
use paravisor_tests::RecordingImporter;
use paravisor_tests::calls;
use paravisor_tests::fixture;
use paravisor_tests::isolation;
use paravisor_tests::worked_example_kernel;
use paravisor_tests::worked_example_shim;
use vp_regs::x86_64::X86Register;

fn inputs<'a>(kernel: &'a [u8], shim: &'a [u8]) -> LoadInputs<'a> {
    LoadInputs {
        abi: paravisor_loader::Abi::default(),
        kernel,
        shim,
        sidecar: None,
        initrd: None,
        command_line: CommandLine::Static("console=ttyS0"),
        memory_page_base: None,
        memory_page_count: 16384,
        vtl0: Vtl0Config::default(),
    }
}

#[test]
fn x64_importer_calls_match_worked_example_section_4() {
    let (k, s) = (worked_example_kernel(), worked_example_shim());
    let mut importer = RecordingImporter::new(isolation(IsolationType::None, None));
    let mut tables = vec![0u8; 7 * 4096];
    load_openhcl_x64(&mut importer, &inputs(&k, &s), &mut tables).unwrap();
    let mut expected = vec![
        Call::VerifyStartupMemory(0x8000, 0x4000, StartupMemoryType::Vtl2ProtectableRam),
        Call::ImportPages(0x8200, 0x200, "underhill-kernel", Exclusive, 3),
        Call::ImportPages(0x8400, 0x10, "underhill-boot-shim", Exclusive, 0x1100),
        Call::ImportPages(0x8412, 1, "underhill-command-line", Exclusive, 4096),
        Call::ImportPages(0x8481, 2, "ohcl-boot-shim-log-buffer", Exclusive, 0),
        Call::ImportPages(0x8483, 0x10, "ohcl-boot-shim-heap", Exclusive, 0),
        Call::RelocationRegion(RelocationRegion {
            gpa: 0x0800_0000,
            size_bytes: 0x49_3000,
            alignment: 0x20_0000,
            minimum_gpa: 0x0800_0000,
            maximum_gpa: 0x1_0000_0000_0000,
            apply_rip_offset: true,
            apply_gdtr_offset: true,
            vp_index: 0,
        }),
        Call::PageTableRelocation(PageTableRelocation {
            gpa: 0x0849_3000,
            size_pages: 7,
            used_pages: 3,
            vp_index: 0,
        }),
        Call::ImportPages(0x8411, 1, "underhill-shim-params", Exclusive, 208),
        Call::ImportPages(0x8493, 7, "underhill-page-tables", Exclusive, 0x3000),
        Call::ImportPages(0x8410, 1, "underhill-gdt", Exclusive, 32),
    ];
    for r in [
        "gdtr", "ds", "es", "fs", "gs", "ss", "cs", "tr", "cr0", "cr3", "cr4", "efer", "pat",
        "rsi", "rip",
    ] {
        expected.push(Call::Register(r));
    }
    expected.extend([
        Call::CreateParameterArea(0x8417, 20, "underhill-slit"),
        Call::ImportParameter(0, 0, ParameterType::Slit),
        Call::CreateParameterArea(0x842B, 20, "underhill-pptt"),
        Call::ImportParameter(1, 0, ParameterType::Pptt),
        Call::CreateParameterArea(0x843F, 64, "underhill-device-tree"),
        Call::ImportParameter(2, 0, ParameterType::DeviceTree),
        Call::ImportPages(0, 1, "underhill-measured-config", Exclusive, 112),
        Call::ImportPages(0x8480, 1, "underhill-vtl2-measured-config", Exclusive, 16),
        Call::ImportedRegionsPage(0x847F),
    ]);
    assert_eq!(calls(&importer), expected);
}

fn u64_at(ram: &[u8], gpa: usize) -> u64 {
    u64::from_le_bytes(ram[gpa..gpa + 8].try_into().unwrap())
}

#[test]
fn x64_guest_memory_matches_worked_example_sections_5_to_9() {
    let (k, s) = (worked_example_kernel(), worked_example_shim());
    // Guest RAM from GPA 0 to the end of VTL2 memory (0x0C00_0000).
    let mut ram = vec![0xCCu8; 0x0C00_0000];
    let mut importer = GuestMemoryImporter::new(0, &mut ram, isolation(IsolationType::None, None));
    let mut tables = vec![0u8; 7 * 4096];
    load_openhcl_x64(&mut importer, &inputs(&k, &s), &mut tables).unwrap();

    // §8.2 registers, in import order.
    let regs: Vec<X86Register> = importer
        .registers()
        .map(|r| match r {
            RecordedRegister::X86(r) => r,
            RecordedRegister::Aarch64(r) => panic!("arm64 register {r:?}"),
        })
        .collect();
    assert_eq!(regs.len(), 15);
    assert_eq!(regs[9], X86Register::Cr3(0x0849_3000));
    assert_eq!(regs[13], X86Register::Rsi(0x1_1000));
    assert_eq!(regs[14], X86Register::Rip(0x0840_1000));
    assert_eq!(importer.imported_regions_config_page(), Some(0x847F));
    let ram = importer.ram();

    // §5 shim parameters at 0x0841_1000.
    let p = 0x0841_1000;
    let expected: [(usize, u64); 25] = [
        (0, 0xFFFF_FFFF_FFE0_0000),
        (8, 0x1_2000),
        (16, 0xFFFF_FFFF_F7C0_0000),
        (24, 0),
        (32, 0x0000_0001_0000_0000),
        (40, 0xFFFF_FFFF_FFC0_0000),
        (48, 0x0400_0000),
        (56, 0x1_7000),
        (64, 0x6_A000),
        (72, 0x1_3000),
        (80, 0x4000),
        (88, 0),
        (96, 0),
        (104, 0xFFFF_FFFF_F7C0_0000),
        (112, 0xFFFF_FFFF_FFC0_0000),
        (120, 0x9_A000),
        (128, 0),
        (136, 0),
        (144, 0x9_3000),
        (152, 0x7000),
        (160, 0x8_1000),
        (168, 0x2000),
        (176, 0x8_3000),
        (184, 0x1_0000),
        (192, 0xFFFF_FFFF_FFC0_0000),
    ];
    for (off, value) in expected {
        assert_eq!(u64_at(ram, p + off), value, "shim params offset {off}");
    }
    assert_eq!(u64_at(ram, p + 200), 0x20_0000);
    assert!(ram[p + 208..p + 4096].iter().all(|&b| b == 0));

    // §6 command line at 0x0841_2000.
    let c = 0x0841_2000;
    assert_eq!(&ram[c..c + 4], &[0, 0, 0x0D, 0]);
    assert_eq!(&ram[c + 4..c + 17], b"console=ttyS0");
    assert!(ram[c + 17..c + 4096].iter().all(|&b| b == 0));

    // §7 page tables at 0x0849_3000: PML4[0], PDPT[0], PD[64..=95]; the
    // four unused pages are zero.
    let t = 0x0849_3000;
    assert_eq!(&ram[t..t + 8], &[0x23, 0x40, 0x49, 0x08, 0, 0, 0, 0]);
    assert_eq!(u64_at(ram, t + 0x1000), 0x0849_5023);
    for k in 0..32u64 {
        assert_eq!(
            u64_at(ram, t + 0x2200 + 8 * k as usize),
            (0x0800_0000 + k * 0x20_0000) | 0xE3
        );
    }
    let nonzero = ram[t..t + 0x7000].iter().filter(|&&b| b != 0).count();
    // 2 pointers (4 non-zero bytes each) + 32 leaves (4 non-zero bytes each:
    // 0xE3, 0x00 or xx, ...). Count entries instead of bytes:
    let entries = (0..0x7000 / 8)
        .filter(|i| u64_at(ram, t + 8 * i) != 0)
        .count();
    assert_eq!(entries, 34, "{nonzero} non-zero bytes");

    // §8.1 GDT at 0x0841_0000.
    let g = 0x0841_0000;
    assert_eq!(
        &ram[g..g + 32],
        &[
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 0, 0x9B, 0xA0, 0,
            0xFF, 0xFF, 0, 0, 0, 0x93, 0xC0, 0
        ]
    );

    // §9 measured configs: page 0 and page 0x8480.
    assert_eq!(
        &ram[0..8],
        &[0x30, 0x4C, 0x54, 0x56, 0x4C, 0x43, 0x48, 0x4F]
    );
    assert!(ram[8..4096].iter().all(|&b| b == 0));
    let v = 0x0848_0000;
    assert_eq!(
        &ram[v..v + 16],
        &[
            0x32, 0x4C, 0x54, 0x56, 0x4C, 0x43, 0x48, 0x4F, 0, 0, 0, 0, 0, 0, 0, 0
        ]
    );
    // The persisted region was not written (still the 0xCC fill).
    assert!(ram[0x0800_0000..0x0820_0000].iter().all(|&b| b == 0xCC));
}

#[test]
fn guest_memory_importer_rejects_writes_outside_its_ram() {
    let (k, s) = (worked_example_kernel(), worked_example_shim());
    // RAM covering only the first 64 MiB: VTL2 (128 MiB..) is outside, so
    // the startup-memory check fails and nothing is written.
    let mut ram = vec![0u8; 0x0400_0000];
    let mut importer = GuestMemoryImporter::new(0, &mut ram, isolation(IsolationType::None, None));
    let mut tables = vec![0u8; 7 * 4096];
    let err = load_openhcl_x64(&mut importer, &inputs(&k, &s), &mut tables).unwrap_err();
    assert!(err.to_string().contains("outside guest RAM"), "{err}");
    assert_eq!(importer.pages_written(), 0);
}

#[test]
fn arm64_import_order_matches_the_worked_example_appendix() {
    let (k, s, vp) = (
        fixture("Image-arm64"),
        fixture("shim-arm64.elf"),
        fixture("uefi-vp-context.bin"),
    );
    let inputs = LoadInputs {
        abi: paravisor_loader::Abi::default(),
        kernel: &k,
        shim: &s,
        sidecar: None,
        initrd: None,
        command_line: CommandLine::Static("console=ttyAMA0"),
        memory_page_base: None,
        memory_page_count: 0x4000,
        vtl0: Vtl0Config {
            pcat: false,
            uefi: Some(paravisor_loader::Vtl0Uefi {
                firmware_base: 0,
                total_size: 0x83_0000,
                vp_context: &vp,
            }),
            linux: None,
        },
    };
    let mut importer = RecordingImporter::new(isolation(IsolationType::None, None));
    let mut tables = vec![0u8; 15 * 4096];
    load_openhcl_arm64(&mut importer, &inputs, &mut tables).unwrap();
    // "verify memory; linux-kernel; linux-initrd; underhill-boot-shim;
    // underhill-command-line; log; heap; underhill-shim-params;
    // openhcl-uefi-vp-context; underhill-measured-config; relocation_region;
    // page_table_relocation; underhill-page-tables; 8 registers; 3 parameter
    // areas (+ parameters); underhill-vtl2-measured-config; imported-regions
    // page."
    let names: Vec<String> = calls(&importer)
        .iter()
        .map(|c| match c {
            Call::VerifyStartupMemory(..) => "verify".to_string(),
            Call::ImportPages(_, _, tag, _, _) => tag.to_string(),
            Call::CreateParameterArea(_, _, tag) => format!("area {tag}"),
            Call::ImportParameter(..) => "parameter".to_string(),
            Call::Register(r) => format!("reg {r}"),
            Call::VpContextPage(_) => "vp context".to_string(),
            Call::RelocationRegion(r) => format!("relocation gdtr={}", r.apply_gdtr_offset),
            Call::PageTableRelocation(r) => {
                format!("pt relocation {}/{}", r.used_pages, r.size_pages)
            }
            Call::ImportedRegionsPage(_) => "imported regions".to_string(),
            Call::ExpectedPageHashesPage(_) => "expected page hashes".to_string(),
        })
        .collect();
    let shim_imports = names.iter().filter(|n| *n == "underhill-boot-shim").count();
    let mut expected: Vec<String> = ["verify", "linux-kernel", "linux-initrd"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    expected.extend(std::iter::repeat_n(
        "underhill-boot-shim".to_string(),
        shim_imports,
    ));
    expected.extend(
        [
            "underhill-command-line",
            "ohcl-boot-shim-log-buffer",
            "ohcl-boot-shim-heap",
            "underhill-shim-params",
            "openhcl-uefi-vp-context",
            "underhill-measured-config",
            "relocation gdtr=false",
            "pt relocation 3/15",
            "underhill-page-tables",
            "reg x0",
            "reg pc",
            "reg cpsr",
            "reg sctlr_el1",
            "reg tcr_el1",
            "reg mair_el1",
            "reg ttbr0_el1",
            "reg vbar_el1",
            "area underhill-slit",
            "parameter",
            "area underhill-pptt",
            "parameter",
            "area underhill-device-tree",
            "parameter",
            "underhill-vtl2-measured-config",
            "imported regions",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    assert!(shim_imports >= 1);
    assert_eq!(names, expected);
    // The empty initrd is a 0-page call, as in the original.
    assert!(
        calls(&importer)
            .iter()
            .any(|c| matches!(c, Call::ImportPages(_, 0, "linux-initrd", _, 0)))
    );
}

//! Calls to every library entry point, each group behind a cargo feature
//! (all on by default) so that a failing link can be narrowed down.
//!
//! Every input comes through [`opaque`], so the optimiser must assume any
//! value: any file bytes, lengths, addresses and configurations. Results go
//! back through [`opaque`] so that nothing is optimised away.

use core::hint::black_box as opaque;

/// Size of the opaque "file" buffers.
const FILE_BYTES: usize = 0x1_0000;
/// Size of the opaque page-table buffers.
const TABLE_BYTES: usize = 32 * 4096;

/// Runs every group.
pub(crate) fn run() {
    #[cfg(feature = "elf")]
    elf();
    #[cfg(feature = "image")]
    image();
    #[cfg(feature = "x86")]
    x86();
    #[cfg(feature = "x86-walker")]
    x86_walker();
    #[cfg(feature = "arm64")]
    arm64();
    #[cfg(feature = "arm64-walker")]
    arm64_walker();
    #[cfg(feature = "cpuid")]
    cpuid();
    #[cfg(feature = "layout")]
    layout();
    #[cfg(feature = "load-x64")]
    load_x64();
    #[cfg(feature = "plan-x64")]
    plan_x64();
    #[cfg(feature = "load-arm64")]
    load_arm64();
    #[cfg(feature = "plan-arm64")]
    plan_arm64();
    #[cfg(feature = "panic-control")]
    panic_control();
}

/// The control experiment: an indexing panic reachable from an opaque
/// index. Built with `--features panic-control`, the link must FAIL;
/// `.ci/run` checks that it does, so a proof that cannot fail is noticed.
#[cfg(feature = "panic-control")]
#[inline(never)]
fn panic_control() {
    let mut buffer = [0u8; FILE_BYTES];
    let bytes = file(&mut buffer);
    #[expect(clippy::indexing_slicing, reason = "the point of the control")]
    opaque(bytes[opaque(FILE_BYTES)]);
}

/// Bytes the optimiser knows nothing about: content and length.
fn file(buffer: &mut [u8; FILE_BYTES]) -> &[u8] {
    opaque(&mut *buffer);
    opaque(&buffer[..])
}

/// An importer that accepts (or, opaquely, refuses) every page.
#[cfg(any(feature = "elf", feature = "image"))]
struct Sink;

/// The sink's error.
#[cfg(any(feature = "elf", feature = "image"))]
#[derive(Debug)]
struct Refused;

#[cfg(any(feature = "elf", feature = "image"))]
impl core::fmt::Display for Refused {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("refused")
    }
}

#[cfg(any(feature = "elf", feature = "image"))]
impl elf_static_loader::ImportPages for Sink {
    type Error = Refused;

    fn import_pages(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &'static str,
        acceptance: elf_static_loader::PageAcceptance,
        data: &[u8],
    ) -> Result<(), Refused> {
        opaque((page_base, page_count, tag, acceptance, data));
        if opaque(false) { Err(Refused) } else { Ok(()) }
    }
}

/// `plan_static_elf`, `StaticElfPlan::{info, segments, import}`,
/// `load_static_elf`, for both machines.
#[cfg(feature = "elf")]
#[inline(never)]
fn elf() {
    use elf_static_loader::ElfMachine;
    use elf_static_loader::PageAcceptance;

    let mut buffer = [0u8; FILE_BYTES];
    let elf = file(&mut buffer);
    for machine in [ElfMachine::X86_64, ElfMachine::Aarch64] {
        let machine = opaque(machine);
        let (start, offset, pic) = (opaque(0u64), opaque(0u64), opaque(false));
        match elf_static_loader::plan_static_elf(elf, machine, start, offset, pic) {
            Ok(plan) => {
                opaque(plan.info());
                opaque(plan.effective_load_offset());
                opaque(plan.reloc_bias());
                for segment in plan.segments() {
                    opaque(segment);
                }
                opaque(
                    plan.import(&mut Sink, PageAcceptance::Exclusive, "elf")
                        .is_ok(),
                );
            }
            Err(error) => {
                opaque(error);
            }
        }
        let loaded = elf_static_loader::load_static_elf(
            &mut Sink,
            elf,
            machine,
            opaque(0),
            opaque(0),
            opaque(true),
            opaque(PageAcceptance::Shared),
            "elf",
        );
        opaque(loaded.is_ok());
    }
}

/// `plan_arm64_image`, `Arm64ImagePlan::{kernel, initrd, import}`,
/// `load_arm64_image`.
#[cfg(feature = "image")]
#[inline(never)]
fn image() {
    let mut buffer = [0u8; FILE_BYTES];
    let image = file(&mut buffer);
    let mut initrd_buffer = [0u8; FILE_BYTES];
    let initrd = file(&mut initrd_buffer);
    match elf_static_loader::plan_arm64_image(image, opaque(0), opaque(0)) {
        Ok(plan) => {
            opaque((plan.kernel(), plan.initrd()));
            opaque(plan.import(&mut Sink, initrd).is_ok());
        }
        Err(error) => {
            opaque(error);
        }
    }
    let loaded = elf_static_loader::load_arm64_image(&mut Sink, image, opaque(0), initrd);
    opaque(loaded.is_ok());
}

/// `required_tables`, `build_identity_map`, `build_identity_map_tables`,
/// `paravisor_page_table_region_pages`, `calculate_pde_table_count`, the
/// alignment helpers and `IdentityMapConfig::paravisor` (the walker is
/// [`x86_walker`]).
#[cfg(feature = "x86")]
#[inline(never)]
fn x86() {
    use x86_pagetables::IdentityMapConfig;
    use x86_pagetables::IdentityRange;
    use x86_pagetables::PageTable;
    use x86_pagetables::ParavisorIsolation;

    let extra = opaque([
        IdentityRange::new(0, 0),
        IdentityRange::new(0, 0).read_only(),
    ]);
    let mut config = IdentityMapConfig::new(opaque(0), opaque(0), opaque(0))
        .with_reset_vector(opaque(false))
        .with_1gb_pages(opaque(false))
        .with_more_than_512_gib(opaque(false))
        .with_additional_ranges(&extra);
    if opaque(false) {
        config = config.with_local_map(opaque(0), opaque(0));
    }
    if opaque(false) {
        config = config.with_confidential_bit(opaque(51));
    }
    let config = opaque(config);
    opaque(x86_pagetables::required_tables(&config).ok());
    opaque(x86_pagetables::paravisor_page_table_region_pages(&config).ok());
    let paravisor = IdentityMapConfig::paravisor(
        opaque(0),
        opaque(0),
        opaque(0),
        opaque(ParavisorIsolation::Snp),
    );
    opaque(x86_pagetables::paravisor_page_table_region_pages(&paravisor).ok());
    opaque(x86_pagetables::calculate_pde_table_count(opaque(0), opaque(0)).ok());
    opaque(x86_pagetables::align_up_to_page_size(opaque(0)));
    opaque(x86_pagetables::align_up_to_large_page_size(opaque(0)));
    opaque(x86_pagetables::align_up_to_1_gb_page_size(opaque(0)));

    let mut tables = [0u8; TABLE_BYTES];
    opaque(x86_pagetables::build_identity_map(&config, opaque(&mut tables[..])).ok());
    let mut typed = [PageTable::ZERO; 4];
    opaque(x86_pagetables::build_identity_map_tables(&paravisor, opaque(&mut typed[..])).ok());
}

/// The x86-64 walker's `new`, `translate`, `mappings` and `regions` over
/// opaque table bytes.
#[cfg(feature = "x86-walker")]
#[inline(never)]
fn x86_walker() {
    use x86_pagetables::PageTableWalker;

    let mut tables = [0u8; TABLE_BYTES];
    opaque(&mut tables);
    let bit = if opaque(false) {
        Some(opaque(51))
    } else {
        None
    };
    if let Ok(walker) = PageTableWalker::new(opaque(&tables[..]), opaque(0), opaque(0), bit) {
        opaque(walker.translate(opaque(0)).ok());
        for mapping in walker.mappings() {
            opaque(mapping.ok());
        }
        for region in walker.regions() {
            opaque(region.ok());
        }
    }
}

/// `build_identity_page_tables_aarch64`, `required_identity_table_bytes`,
/// `write_back_index`, `Arm64TableSpace::{new, map_range, zero_unused,
/// tables}`, `required_tables`, MAIR decoding, and the walker's `new`,
/// `translate` and `mappings`.
#[cfg(feature = "arm64")]
#[inline(never)]
fn arm64() {
    use arm64_pagetables::Arm64AccessPermissions;
    use arm64_pagetables::Arm64MappingAttributes;
    use arm64_pagetables::Arm64NoExecute;
    use arm64_pagetables::Arm64Shareability;
    use arm64_pagetables::Arm64TableSpace;
    use arm64_pagetables::AttrIndx;
    use arm64_pagetables::MemoryAttributeIndirectionEl1;

    let mair = MemoryAttributeIndirectionEl1::from_u64(opaque(0))
        .unwrap_or(vp_regs::aarch64::paravisor::MAIR_EL1);
    opaque(arm64_pagetables::write_back_index(&mair).ok());
    let mut area = [0u8; TABLE_BYTES];
    let built = arm64_pagetables::build_identity_page_tables_aarch64(
        opaque(0),
        opaque(0),
        opaque(0),
        &mair,
        opaque(&mut area[..]),
    );
    opaque(built.ok());
    opaque(arm64_pagetables::required_identity_table_bytes(opaque(0), opaque(0)).ok());
    opaque(arm64_pagetables::required_tables(opaque(0), opaque(0), opaque(0)).ok());

    let mut buffer = [0u8; TABLE_BYTES];
    if let Ok(mut space) = Arm64TableSpace::new(opaque(0), opaque(&mut buffer[..])) {
        if let Ok(attr_index) = AttrIndx::new(opaque(0)) {
            let attributes = opaque(Arm64MappingAttributes {
                attr_index,
                access: Arm64AccessPermissions::ReadOnly,
                shareability: Arm64Shareability::OuterShareable,
                no_execute: Arm64NoExecute::Full,
            });
            for _ in 0..opaque(2) {
                let mapped = space.map_range(opaque(0), opaque(0), opaque(0), attributes);
                opaque(mapped.ok());
            }
        }
        opaque((
            space.used_len(),
            space.capacity_tables(),
            space.page_table_gpa(),
        ));
        opaque(space.tables());
        space.zero_unused();
    }
}

/// The AArch64 walker's `new`, `translate` and `mappings` over opaque table
/// bytes.
#[cfg(feature = "arm64-walker")]
#[inline(never)]
fn arm64_walker() {
    use arm64_pagetables::Arm64TableWalker;

    let mut area = [0u8; TABLE_BYTES];
    opaque(&mut area);
    if let Ok(walker) = Arm64TableWalker::new(opaque(&area[..]), opaque(0), opaque(0)) {
        opaque(walker.translate(opaque(0)).ok());
        for mapping in walker.mappings() {
            opaque(mapping.ok());
        }
    }
}

/// `create_snp_cpuid_page`, `CpuidPageReader::{new, from_page, leaf,
/// leaves, page}`.
#[cfg(feature = "cpuid")]
#[inline(never)]
fn cpuid() {
    use snp_cpuid::CpuidPageReader;
    use zerocopy::IntoBytes;

    let page = opaque(snp_cpuid::create_snp_cpuid_page());
    opaque(page.as_bytes());
    opaque(CpuidPageReader::from_page(page).ok());
    let mut buffer = [0u8; FILE_BYTES];
    let bytes = file(&mut buffer);
    if let Ok(reader) = CpuidPageReader::new(bytes) {
        opaque(reader.leaf(opaque(0), opaque(0)));
        opaque(reader.leaves());
        opaque(reader.page());
    }
}

/// The shim-side readers of `paravisor-layout` and the command-line page
/// builder.
#[cfg(feature = "layout")]
#[inline(never)]
fn layout() {
    use paravisor_layout::CommandLinePolicy;
    use paravisor_layout::ImportedRegionsPage;
    use paravisor_layout::PageRegionDescriptor;
    use paravisor_layout::ParavisorCommandLine;
    use paravisor_layout::ParavisorMeasuredVtl0Config;
    use paravisor_layout::ParavisorMeasuredVtl2Config;
    use paravisor_layout::PersistedStateHeader;
    use paravisor_layout::ShimParamsRaw;

    let mut buffer = [0u8; FILE_BYTES];
    let bytes = file(&mut buffer);
    if let Ok(page) = ParavisorCommandLine::read_from(bytes) {
        opaque(page.command_line().ok());
    }
    let text = core::str::from_utf8(bytes).unwrap_or_default();
    if let Ok(page) = ParavisorCommandLine::new(CommandLinePolicy(opaque(0)), text) {
        opaque(page.command_line().ok());
    }
    opaque(ShimParamsRaw::read_from(bytes).ok());
    if let Ok(config) = ParavisorMeasuredVtl0Config::read_from(bytes) {
        opaque((config.uefi(), config.linux()));
    }
    opaque(ParavisorMeasuredVtl2Config::read_from(bytes).ok());
    opaque(PersistedStateHeader::read_from(bytes).ok());
    if let Ok(page) = ImportedRegionsPage::parse(bytes) {
        for region in page.regions() {
            opaque(region.is_accepted());
        }
    }
    let descriptor = PageRegionDescriptor::new(opaque(0), opaque(0));
    opaque((descriptor.valid(), descriptor.address_range()));
}

/// Opaque inputs for a full paravisor load: every byte, length, address
/// and option unknown to the optimiser.
#[cfg(any(
    feature = "load-x64",
    feature = "load-arm64",
    feature = "plan-x64",
    feature = "plan-arm64"
))]
fn load_inputs<'a>(files: &'a mut [[u8; FILE_BYTES]; 5]) -> paravisor_loader::LoadInputs<'a> {
    use paravisor_loader::CommandLine;
    use paravisor_loader::LoadInputs;
    use paravisor_loader::Vtl0Config;
    use paravisor_loader::Vtl0Linux;
    use paravisor_loader::Vtl0Region;
    use paravisor_loader::Vtl0Uefi;

    opaque(&mut *files);
    let [kernel, shim, sidecar, initrd, extra] = &*files;
    let text = core::str::from_utf8(opaque(&extra[..])).unwrap_or_default();
    let some = |bytes: &'a [u8]| {
        if opaque(true) {
            Some(opaque(bytes))
        } else {
            None
        }
    };
    let region = || Vtl0Region {
        gpa: opaque(0),
        size: opaque(0),
    };
    opaque(LoadInputs {
        abi: paravisor_loader::Abi::default(),
        kernel: opaque(&kernel[..]),
        shim: opaque(&shim[..]),
        sidecar: some(&sidecar[..]),
        initrd: some(&initrd[..]),
        command_line: if opaque(true) {
            CommandLine::Static(text)
        } else {
            CommandLine::HostAppendable(text)
        },
        memory_page_base: if opaque(true) { Some(opaque(0)) } else { None },
        memory_page_count: opaque(0),
        vtl0: Vtl0Config {
            pcat: opaque(false),
            uefi: if opaque(true) {
                Some(Vtl0Uefi {
                    firmware_base: opaque(0),
                    total_size: opaque(0),
                    vp_context: opaque(&extra[..]),
                })
            } else {
                None
            },
            linux: if opaque(true) {
                Some(Vtl0Linux {
                    command_line: opaque(&extra[..]),
                    kernel: region(),
                    kernel_entrypoint: opaque(0),
                    initrd: if opaque(true) { Some(region()) } else { None },
                })
            } else {
                None
            },
        },
    })
}

/// An opaque isolation configuration.
#[cfg(any(
    feature = "load-x64",
    feature = "load-arm64",
    feature = "plan-x64",
    feature = "plan-arm64"
))]
fn isolation() -> paravisor_loader::IsolationConfig {
    use paravisor_loader::IsolationType;
    opaque(paravisor_loader::IsolationConfig {
        isolation_type: opaque(IsolationType::Snp),
        paravisor_present: opaque(true),
        shared_gpa_boundary_bits: if opaque(true) { Some(opaque(46)) } else { None },
    })
}

/// `load_openhcl_x64` into the guest-memory importer (plan, tables,
/// overlap check, import) and the importer's read-back.
#[cfg(feature = "load-x64")]
#[inline(never)]
fn load_x64() {
    use paravisor_loader::GuestMemoryImporter;

    let mut files = [[0u8; FILE_BYTES]; 5];
    let inputs = load_inputs(&mut files);
    let mut ram = [0u8; 4 * FILE_BYTES];
    let mut importer = GuestMemoryImporter::new(opaque(0), opaque(&mut ram[..]), isolation());
    let mut tables = [0u8; TABLE_BYTES];
    let loaded =
        paravisor_loader::load_openhcl_x64(&mut importer, &inputs, opaque(&mut tables[..]));
    opaque(loaded.is_ok());
    opaque(importer.pages_written());
    for register in importer.registers() {
        opaque(register);
    }
    for area in importer.parameter_areas() {
        opaque(area);
    }
    opaque((
        importer.vp_context_page(),
        importer.relocation_region(),
        importer.page_table_relocation(),
        importer.imported_regions_config_page(),
    ));
    opaque(importer.ram());
}

/// The x86-64 layout's own entry points (`X64Layout::{plan,
/// build_page_tables, check_overlaps, shim_params, registers}` and the
/// plan's rows, `ImagePlan::for_each_region`).
#[cfg(feature = "plan-x64")]
#[inline(never)]
fn plan_x64() {
    use paravisor_loader::X64Layout;

    let mut files = [[0u8; FILE_BYTES]; 5];
    let inputs = load_inputs(&mut files);
    let mut tables = [0u8; TABLE_BYTES];
    if let Ok(layout) = X64Layout::plan(isolation(), &inputs) {
        opaque(layout.page_table_region_size());
        opaque(layout.shim_params());
        if let Ok(used) = layout.build_page_tables(opaque(&mut tables[..])) {
            opaque(used);
            opaque(layout.check_overlaps().is_ok());
            opaque(layout.registers());
            let rows = layout.image.for_each_region(|region| {
                opaque(region);
                if opaque(false) { Err(()) } else { Ok(()) }
            });
            opaque(rows.is_ok());
        }
    }
}

/// `load_openhcl_arm64` into the guest-memory importer (plan, tables,
/// overlap check, import) and the importer's read-back.
#[cfg(feature = "load-arm64")]
#[inline(never)]
fn load_arm64() {
    use paravisor_loader::GuestMemoryImporter;

    let mut files = [[0u8; FILE_BYTES]; 5];
    let inputs = load_inputs(&mut files);
    let mut ram = [0u8; 4 * FILE_BYTES];
    let mut importer = GuestMemoryImporter::new(opaque(0), opaque(&mut ram[..]), isolation());
    let mut tables = [0u8; TABLE_BYTES];
    let loaded =
        paravisor_loader::load_openhcl_arm64(&mut importer, &inputs, opaque(&mut tables[..]));
    opaque(loaded.is_ok());
    opaque(importer.pages_written());
    for register in importer.registers() {
        opaque(register);
    }
    opaque(importer.ram());
}

/// The AArch64 layout's own entry points (`Arm64Layout::{plan,
/// build_page_tables, check_overlaps, shim_params, registers}`).
#[cfg(feature = "plan-arm64")]
#[inline(never)]
fn plan_arm64() {
    use paravisor_loader::Arm64Layout;

    let mut files = [[0u8; FILE_BYTES]; 5];
    let inputs = load_inputs(&mut files);
    let mut tables = [0u8; TABLE_BYTES];
    if let Ok(layout) = Arm64Layout::plan(isolation(), &inputs) {
        opaque(layout.page_table_region_size());
        opaque(layout.shim_params());
        opaque(layout.build_page_tables(opaque(&mut tables[..])).is_ok());
        opaque(layout.check_overlaps().is_ok());
        opaque(layout.registers());
    }
}

//! `load_openhcl_x64`: plan the whole x86-64 image (docs/algorithms.md
//! §7.1 steps 1–38 and every check) as an [`ImagePlan`], then apply it.

use crate::error::Error;
use crate::error::LayoutError;
use crate::importer::IsolationConfig;
use crate::importer::IsolationType;
use crate::importer::PAGE_SIZE;
use crate::importer::PageAcceptance;
use crate::importer::ParavisorImporter;
use crate::inputs::LoadInputs;
use crate::memory::Cursor;
use crate::memory::LARGE_PAGE_SIZE;
use crate::memory::Vtl2Memory;
use crate::place::AddressRange;
use crate::place::ElfPlacement;
use crate::place::GdtrRelocation;
use crate::place::ShimAreas;
use crate::place::plan_elf;
use crate::plan::Built;
use crate::plan::ImagePlan;
use crate::plan::PageData;
use crate::plan::PageRange;
use crate::plan::Step;
use crate::plan::Unimported;
use crate::structs::ShimRegion;
use crate::structs::ShimSidecar;
use crate::vtl0::LinuxDirectBoot;
use crate::vtl0::PlannedVtl0;
use crate::x64_tables::identity_map_config;
use crate::x64_tables::leaf_policy;
use elf_static_loader::elf::ElfMachine;
use elf_static_loader::elf::StaticElfPlan;
use elf_static_loader::image::InitrdInfo;
use paravisor_layout as abi;
use paravisor_layout::Abi;
use paravisor_layout::ShimParamsRaw;
use vp_regs::x86_64::X86Register;
use vp_regs::x86_64::paravisor as regs;
use x86_pagetables::IdentityMapConfig;
use x86_pagetables::LeafPolicy;

/// Every address of an x86-64 paravisor image (docs/algorithms.md §7.2),
/// computed and checked without importing anything, and the image itself
/// as a plan.
#[derive(Debug, Clone, Copy)]
pub struct X64Layout<'a> {
    /// The isolation configuration.
    pub isolation: IsolationConfig,
    /// Whether relocation records are emitted (no base given, no isolation).
    pub with_relocation: bool,
    /// VTL2 memory.
    pub memory: Vtl2Memory,
    /// Acceptance of the kernel and initrd pages (Shared on SNP/TDX).
    pub kernel_acceptance: PageAcceptance,
    /// Persisted-state region (2 MiB at the start of VTL2 memory).
    pub persisted_region: u64,
    /// Bounce buffer (SNP/TDX).
    pub bounce_buffer: Option<u64>,
    /// Kernel: lowest address, next free address.
    pub kernel: AddressRange,
    /// Kernel entry point.
    pub kernel_entry: u64,
    /// Sidecar base (2 MiB aligned; the shim's load offset when absent).
    pub sidecar_base: u64,
    /// Sidecar size in bytes (0 when absent).
    pub sidecar_size: u64,
    /// Sidecar entry point (0 when absent).
    pub sidecar_entry: u64,
    /// Shim: lowest address (the base every shim offset is relative to).
    pub shim_base: u64,
    /// Shim: next free address.
    pub shim_end: u64,
    /// Shim entry point.
    pub shim_entry: u64,
    /// Initrd: base and length in bytes (None when absent).
    pub initrd: Option<InitrdInfo>,
    /// GDT page.
    pub gdt: u64,
    /// Shim-parameter page.
    pub shim_params: u64,
    /// Command-line page.
    pub command_line: u64,
    /// Reserved region (4 pages).
    pub reserved_region: u64,
    /// Parameter region (106 pages), log buffer, heap, end of the
    /// relocatable part.
    pub shim_areas: ShimAreas,
    /// Size of the identity map (VTL2 size; 3 GiB on TDX at the seed).
    pub page_table_mapping_size: u64,
    /// The ABI profile the image is built for.
    pub abi: Abi,
    /// Page-table region start.
    pub page_tables: u64,
    /// Page-table region size in pages.
    pub page_table_pages: u64,
    /// End of everything placed (page tables included).
    pub used_end: u64,
    /// The VTL0 measured configuration.
    pub vtl0: PlannedVtl0<'a>,
    /// The image: every step in import order and the structures it imports.
    pub image: ImagePlan<'a, X86Register>,
}

impl<'a> X64Layout<'a> {
    /// Plans an x86-64 load (docs/algorithms.md §7.1 steps 1–38 and every
    /// check). Pure: nothing is imported.
    pub fn plan(isolation: IsolationConfig, inputs: &LoadInputs<'a>) -> Result<Self, LayoutError> {
        let facts = inputs.abi.facts();
        let iso = isolation.isolation_type;
        let isolated = iso.is_hardware_isolated();
        let mut image = ImagePlan::new();
        // Step 1: VBS, SNP and TDX never get relocation.
        let with_relocation = inputs.memory_page_base.is_none() && iso == IsolationType::None;
        // Steps 2-3.
        let memory = Vtl2Memory::new(
            inputs.memory_page_base,
            inputs.memory_page_count,
            isolation.startup_memory_type(),
        )?;
        // Step 5.
        let kernel_acceptance = if isolated {
            PageAcceptance::Shared
        } else {
            PageAcceptance::Exclusive
        };

        // Step 6.
        let mut at = Cursor::at(memory.start);
        let persisted_region = at.take(abi::PERSISTED_REGION_SIZE, "persisted-state region")?;
        // Step 7.
        let bounce_buffer = if isolated {
            Some(at.take(abi::BOUNCE_BUFFER_SIZE, "bounce buffer")?)
        } else {
            None
        };

        // Step 8: kernel, PIC, at the cursor.
        let kernel = plan_elf(
            inputs.kernel,
            ElfMachine::X86_64,
            ElfPlacement::Relocated { at: at.next() },
        )
        .map_err(LayoutError::Kernel)?;
        let kernel_info = kernel.info();
        if kernel_info.minimum_address_used == u64::MAX {
            return Err(LayoutError::NoLoadSegments { what: "kernel" });
        }
        at.skip_to(kernel_info.next_available_address);
        // Step 9.
        if !at.next().is_multiple_of(PAGE_SIZE) {
            return Err(LayoutError::KernelEndUnaligned { end: at.next() });
        }

        // Step 10-11: sidecar at the next 2 MiB boundary.
        let mut sidecar_size = 0;
        let mut sidecar_entry = 0;
        let sidecar = match inputs.sidecar {
            Some(elf) => {
                at.align(LARGE_PAGE_SIZE, "sidecar")?;
                let base = at.next();
                let plan = plan_elf(
                    elf,
                    ElfMachine::X86_64,
                    ElfPlacement::Offset { load_offset: base },
                )
                .map_err(LayoutError::Sidecar)?;
                let info = plan.info();
                sidecar_size = info.next_available_address.checked_sub(base).ok_or(
                    LayoutError::AddressOverflow {
                        what: "sidecar",
                        at: base,
                    },
                )?;
                sidecar_entry = info.entrypoint;
                Some(plan)
            }
            None => None,
        };
        let sidecar_base = at.take(sidecar_size, "sidecar")?;

        // Step 12: shim, non-PIC, at the cursor.
        let shim = plan_elf(
            inputs.shim,
            ElfMachine::X86_64,
            ElfPlacement::Offset {
                load_offset: at.next(),
            },
        )
        .map_err(LayoutError::Shim)?;
        let shim_info = shim.info();
        if shim_info.minimum_address_used == u64::MAX {
            return Err(LayoutError::NoLoadSegments { what: "boot shim" });
        }
        let shim_base = shim_info.minimum_address_used;
        at.skip_to(shim_info.next_available_address);
        let shim_end = at.next();

        // Step 13: initrd.
        let initrd = match inputs.initrd {
            Some(bytes) => {
                let size = bytes.len() as u64;
                let pages = crate::memory::align_up(size, PAGE_SIZE, "initrd")?;
                let gpa = at.take(pages, "initrd")?;
                Some(InitrdInfo { gpa, size })
            }
            None => None,
        };

        // Steps 14-21.
        let gdt = at.take(PAGE_SIZE, "GDT")?;
        let shim_params = at.take(PAGE_SIZE, "shim parameters")?;
        crate::structs::command_line_page(
            &inputs.command_line,
            &mut image.structures.command_line,
        )?;
        let command_line = at.take(PAGE_SIZE, "command line")?;
        let reserved_region =
            at.take(abi::PARAVISOR_RESERVED_VTL2_REGION_SIZE, "reserved region")?;
        let shim_areas = ShimAreas::place(&mut at, &facts)?;

        // Steps 22-25: page-table region.
        let config = identity_map_config(at.next(), &memory, iso, &facts);
        let page_table_pages = x86_pagetables::paravisor_page_table_region_pages(&config)
            .map_err(LayoutError::PageTables)?;
        let page_tables = at.take_pages(page_table_pages, "page tables")?;
        let used_end = at.next();

        // Step 28, checked before anything is built or imported.
        memory.check_fits(used_end)?;

        // Step 36: the VTL0 configuration (x86-64 pages 0, 1, 2).
        let vtl0 = crate::vtl0::plan_vtl0(
            &inputs.vtl0,
            abi::PARAVISOR_VTL0_MEASURED_CONFIG_BASE_PAGE_X64,
            LinuxDirectBoot::Recorded,
        )?;

        let mut layout = Self {
            isolation,
            with_relocation,
            memory,
            kernel_acceptance,
            persisted_region,
            bounce_buffer,
            kernel: AddressRange {
                start: kernel_info.minimum_address_used,
                end: kernel_info.next_available_address,
            },
            kernel_entry: kernel_info.entrypoint,
            sidecar_base,
            sidecar_size,
            sidecar_entry,
            shim_base,
            shim_end,
            shim_entry: shim_info.entrypoint,
            initrd,
            gdt,
            shim_params,
            command_line,
            reserved_region,
            shim_areas,
            page_table_mapping_size: config.mapped_region.size,
            abi: inputs.abi,
            page_tables,
            page_table_pages,
            used_end,
            vtl0,
            image,
        };
        // Step 29: the shim parameters, with the initrd CRC.
        let initrd_crc = crc32fast::hash(inputs.initrd.unwrap_or(&[]));
        layout.image.structures.shim_base = shim_base;
        let params = layout.compute_shim_params(initrd_crc);
        layout
            .image
            .structures
            .set_shim_params(params, facts.shim_params);
        layout.push_steps(inputs, kernel, sidecar, shim)?;
        Ok(layout)
    }

    /// The import order of the original (steps 4, 8, 10, 12, 13, 16, 19,
    /// 20, 27, 30–38), with the regions placed but not imported.
    fn push_steps(
        &mut self,
        inputs: &LoadInputs<'a>,
        kernel: StaticElfPlan<'a>,
        sidecar: Option<StaticElfPlan<'a>>,
        shim: StaticElfPlan<'a>,
    ) -> Result<(), LayoutError> {
        let registers = self.registers();
        let plan = &mut self.image;
        let snp = self.isolation.isolation_type == IsolationType::Snp;
        // Step 4 and the regions that are not imported.
        crate::place::push_startup(plan, &self.memory)?;
        if let Some(base) = self.bounce_buffer {
            plan.push(Step::Unimported {
                region: Unimported::BounceBuffer,
                pages: PageRange::of_bytes(base, abi::BOUNCE_BUFFER_SIZE),
            })?;
        }
        let reserved = PageRange::of_bytes(
            self.reserved_region,
            abi::PARAVISOR_RESERVED_VTL2_REGION_SIZE,
        );
        if !snp {
            plan.push(Step::Unimported {
                region: Unimported::Vtl2Reserved,
                pages: reserved,
            })?;
        }
        // Steps 8, 10, 12.
        plan.push(Step::Elf {
            tag: "underhill-kernel",
            acceptance: self.kernel_acceptance,
            plan: kernel,
        })?;
        if let Some(sidecar) = sidecar {
            plan.push(Step::Elf {
                tag: "sidecar-kernel",
                acceptance: PageAcceptance::Exclusive,
                plan: sidecar,
            })?;
        }
        crate::place::push_boot_shim(plan, shim)?;
        // Step 13.
        if let (Some(initrd), Some(bytes)) = (self.initrd, inputs.initrd) {
            plan.import(
                "underhill-initrd",
                PageRange::of_bytes(initrd.gpa, initrd.size),
                self.kernel_acceptance,
                PageData::Input(bytes),
            )?;
        }
        // Steps 16, 19-20.
        self.shim_areas
            .push_command_line_log_and_heap(plan, self.command_line)?;
        // Step 27.
        let page_tables = PageRange {
            base: self.page_tables / PAGE_SIZE,
            count: self.page_table_pages,
        };
        if self.with_relocation {
            crate::place::push_relocation(
                plan,
                &self.memory,
                self.shim_areas.end_of_underhill_mem,
                GdtrRelocation::Moves,
                page_tables,
            )?;
        }
        // Steps 30-32.
        for (tag, pages, built) in [
            (
                "underhill-shim-params",
                PageRange::one(self.shim_params / PAGE_SIZE),
                Built::ShimParams,
            ),
            ("underhill-page-tables", page_tables, Built::PageTables),
            (
                "underhill-gdt",
                PageRange::one(self.gdt / PAGE_SIZE),
                Built::Gdt,
            ),
        ] {
            plan.import(
                tag,
                pages,
                PageAcceptance::Exclusive,
                PageData::Built(built),
            )?;
        }
        // Step 33.
        for register in registers {
            plan.push(Step::Register(register))?;
        }
        // Step 34.
        self.shim_areas.push_parameter_areas(plan)?;
        // Step 35.
        if snp {
            let page = |index: u64| reserved.base.wrapping_add(index);
            plan.import(
                "underhill-snp-secrets-page",
                PageRange {
                    base: page(abi::PARAVISOR_RESERVED_VTL2_SNP_SECRETS_PAGE_INDEX),
                    count: abi::PARAVISOR_RESERVED_VTL2_SNP_SECRETS_SIZE_PAGES,
                },
                PageAcceptance::SecretsPage,
                PageData::Zeros,
            )?;
            let cpuid = page(abi::PARAVISOR_RESERVED_VTL2_SNP_CPUID_PAGE_INDEX);
            plan.import(
                "underhill-snp-cpuid-page",
                PageRange::one(cpuid),
                PageAcceptance::CpuidPage,
                PageData::Built(Built::SnpCpuidPage),
            )?;
            plan.import(
                "underhill-snp-cpuid-extended-state-page",
                PageRange::one(cpuid.wrapping_add(1)),
                PageAcceptance::CpuidExtendedStatePage,
                PageData::Zeros,
            )?;
            plan.push(Step::VpContextPage(page(
                abi::PARAVISOR_RESERVED_VTL2_SNP_VMSA_PAGE_INDEX,
            )))?;
        }
        // Step 36.
        self.vtl0.push(plan)?;
        // Steps 37-38.
        self.shim_areas
            .push_vtl2_config(plan, self.isolation.shared_gpa_boundary_bits.unwrap_or(0))
    }

    /// Size of the page-table region in bytes.
    pub fn page_table_region_size(&self) -> u64 {
        self.page_table_pages.saturating_mul(PAGE_SIZE)
    }

    /// The identity-map configuration of step 26 (built with
    /// [`Self::leaf_policy`]).
    pub fn page_table_config(&self) -> IdentityMapConfig<'static> {
        identity_map_config(
            self.page_tables,
            &self.memory,
            self.isolation.isolation_type,
            &self.abi.facts(),
        )
    }

    /// How the profile builds the tables (docs/abi-versions.md G3).
    pub const fn leaf_policy(&self) -> LeafPolicy {
        leaf_policy(&self.abi.facts())
    }

    /// The exact number of tables [`Self::build_page_tables`] writes.
    pub fn required_page_tables(&self) -> Result<usize, LayoutError> {
        self.leaf_policy()
            .required_tables(&self.page_table_config())
            .map_err(LayoutError::PageTables)
    }

    /// Builds the page tables into `buffer` (step 26) and returns the bytes
    /// used, checking that they fit the region.
    pub fn build_page_tables(&self, buffer: &mut [u8]) -> Result<usize, LayoutError> {
        let config = self.page_table_config();
        let used = self
            .leaf_policy()
            .build(&config, buffer)
            .map_err(LayoutError::PageTables)?;
        let used_u64 = used as u64;
        if !used_u64.is_multiple_of(PAGE_SIZE) || used_u64 > self.page_table_region_size() {
            return Err(LayoutError::PageTablesTooLarge {
                used: used_u64,
                region: self.page_table_region_size(),
            });
        }
        Ok(used)
    }

    /// The shim parameters (step 29, docs/abi.md §2).
    pub fn shim_params(&self) -> ShimParamsRaw {
        self.image.structures.shim_params
    }

    fn compute_shim_params(&self, initrd_crc: u32) -> ShimParamsRaw {
        let initrd = self.initrd.unwrap_or(InitrdInfo { gpa: 0, size: 0 });
        crate::structs::shim_params(crate::structs::ShimParamsInput {
            shim_base: self.shim_base,
            kernel_entry: self.kernel_entry,
            command_line: self.command_line,
            initrd: ShimRegion {
                start: initrd.gpa,
                size: initrd.size,
            },
            initrd_crc,
            isolation: self.isolation.isolation_type,
            memory: ShimRegion {
                start: self.memory.start,
                size: self.memory.size,
            },
            parameter_region: self.shim_areas.parameter_region(),
            reserved_region: Some(ShimRegion {
                start: self.reserved_region,
                size: abi::PARAVISOR_RESERVED_VTL2_REGION_SIZE,
            }),
            sidecar: Some(ShimSidecar {
                base: self.sidecar_base,
                size: self.sidecar_size,
                entry: self.sidecar_entry,
            }),
            used_end: self.used_end,
            bounce_buffer: self.bounce_buffer.map(|start| ShimRegion {
                start,
                size: abi::BOUNCE_BUFFER_SIZE,
            }),
            page_tables: Some(ShimRegion {
                start: self.page_tables,
                size: self.page_table_region_size(),
            }),
            log_buffer: self.shim_areas.log_buffer(),
            heap: self.shim_areas.heap(),
            persisted_region: crate::place::persisted_region(&self.memory),
        })
    }

    /// Checks that no two imports of the plan touch the same page.
    pub fn check_overlaps(&self) -> Result<(), LayoutError> {
        self.image.check_overlaps()
    }

    /// The boot processor's registers (step 33), in import order.
    pub fn registers(&self) -> [X86Register; 15] {
        regs::boot_registers(regs::BootAddresses {
            gdt: self.gdt,
            page_tables: self.page_tables,
            // shim_params > shim_base: the shim's pages come first.
            shim_params_offset: self.shim_params.wrapping_sub(self.shim_base),
            shim_entry: self.shim_entry,
        })
    }
}

/// Loads the OpenHCL paravisor for x86-64 through `importer`.
///
/// The whole layout is planned and checked first ([`X64Layout::plan`], the
/// page tables built into `page_table_buffer`, overlaps checked); only then
/// does the first import happen, so on [`Error::Layout`] nothing was
/// imported. `page_table_buffer` must hold the tables the layout uses (at
/// most [`X64Layout::page_table_region_size`] bytes; 3 pages for a
/// non-isolated VTL2 below 1 GiB).
///
/// Call order: `isolation_config` first (as the original); then the whole
/// plan is computed without any importer call; then
/// `verify_startup_memory_available` (a check, not an import) and every
/// import in the original's order. So on success the importer sees the same
/// calls, in the same order, with the same data, as with the original
/// `load_openhcl_x64` (each ELF segment arrives through
/// [`ImportPages::import_pages_at_offset`](elf_static_loader::ImportPages::import_pages_at_offset),
/// whose default splits a segment that starts inside a page into two
/// adjacent imports); on a layout error it sees no call but
/// `isolation_config`.
pub fn load_openhcl_x64<'a, I: ParavisorImporter<X86Register>>(
    importer: &mut I,
    inputs: &LoadInputs<'a>,
    page_table_buffer: &mut [u8],
) -> Result<X64Layout<'a>, Error<I::Error>> {
    let layout = X64Layout::plan(importer.isolation_config(), inputs)?;
    let used = layout.build_page_tables(page_table_buffer)?;
    crate::overlap::check_and_apply(&layout.image, importer, page_table_buffer, used)?;
    Ok(layout)
}

/// [`load_openhcl_x64`] with a page-table buffer allocated for the call
/// (`std` feature).
#[cfg(feature = "std")]
pub fn load_openhcl_x64_alloc<'a, I: ParavisorImporter<X86Register>>(
    importer: &mut I,
    inputs: &LoadInputs<'a>,
) -> Result<X64Layout<'a>, Error<I::Error>> {
    extern crate std;
    let layout = X64Layout::plan(importer.isolation_config(), inputs)?;
    // Allocate what the builder will use, not the whole reserved region: the
    // region is sized from the mapped size before the builder rejects a
    // mapping over 512 GiB (docs/algorithms.md §4.2 step 1.2), so for such an
    // input it can be gigabytes. A configuration the builder rejects gets an
    // empty buffer and the builder's typed error.
    let tables = layout.required_page_tables().unwrap_or(0);
    let len = tables
        .saturating_mul(PAGE_SIZE as usize)
        .min(usize::try_from(layout.page_table_region_size()).unwrap_or(usize::MAX));
    let mut buffer = std::vec![0u8; len];
    load_openhcl_x64(importer, inputs, &mut buffer)
}

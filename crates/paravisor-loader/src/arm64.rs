//! `load_openhcl_arm64`: plan the whole AArch64 image (docs/algorithms.md
//! §8 and every check) as an [`ImagePlan`], then apply it.

use crate::error::Error;
use crate::error::LayoutError;
use crate::importer::IsolationConfig;
use crate::importer::IsolationType;
use crate::importer::PAGE_SIZE;
use crate::importer::PageAcceptance;
use crate::importer::ParavisorImporter;
use crate::inputs::LoadInputs;
use crate::memory::Cursor;
use crate::memory::Vtl2Memory;
use crate::place::ElfPlacement;
use crate::place::GdtrRelocation;
use crate::place::ShimAreas;
use crate::plan::Built;
use crate::plan::ImagePlan;
use crate::plan::PageData;
use crate::plan::PageRange;
use crate::plan::Step;
use crate::structs::ShimRegion;
use crate::vtl0::LinuxDirectBoot;
use crate::vtl0::PlannedVtl0;
use elf_static_loader::elf::ElfMachine;
use elf_static_loader::image::Arm64ImagePlan;
use elf_static_loader::image::InitrdInfo;
use elf_static_loader::image::KernelInfo;
use paravisor_layout as abi;
use paravisor_layout::ShimParamsRaw;
use vp_regs::aarch64::Aarch64Register;

/// AArch64 page-table region: 5 base + 10 dynamic pages.
pub const ARM64_PAGE_TABLE_PAGES: u64 = 15;

/// Every address of an AArch64 paravisor image, computed and checked
/// without importing anything, and the image itself as a plan.
#[derive(Debug, Clone, Copy)]
pub struct Arm64Layout<'a> {
    /// The isolation configuration.
    pub isolation: IsolationConfig,
    /// Whether relocation records are emitted (no base given).
    pub with_relocation: bool,
    /// VTL2 memory.
    pub memory: Vtl2Memory,
    /// Persisted-state region (2 MiB at the start).
    pub persisted_region: u64,
    /// Kernel base (`K`, 2 MiB after the start), size (page aligned) and
    /// entry point (`K + text_offset`).
    pub kernel: KernelInfo,
    /// Initrd GPA and length (always present; length 0 without an initrd).
    pub initrd: InitrdInfo,
    /// Shim: lowest address.
    pub shim_base: u64,
    /// Shim: next free address.
    pub shim_end: u64,
    /// Shim entry point.
    pub shim_entry: u64,
    /// Command-line page.
    pub command_line: u64,
    /// Shim-parameter page.
    pub shim_params: u64,
    /// Parameter region (106 pages), log buffer, heap, end of the
    /// relocatable part.
    pub shim_areas: ShimAreas,
    /// Page-table region (15 pages).
    pub page_tables: u64,
    /// End of everything placed.
    pub used_end: u64,
    /// The VTL0 measured configuration.
    pub vtl0: PlannedVtl0<'a>,
    /// The image: every step in import order and the structures it imports.
    pub image: ImagePlan<'a, Aarch64Register>,
}

impl<'a> Arm64Layout<'a> {
    /// Plans an AArch64 load (docs/algorithms.md §8 steps 1–29 and every
    /// check). Pure: nothing is imported.
    pub fn plan(isolation: IsolationConfig, inputs: &LoadInputs<'a>) -> Result<Self, LayoutError> {
        let facts = inputs.abi.facts();
        // Step 1 (asserts in the original).
        if inputs.vtl0.pcat {
            return Err(LayoutError::PcatOnArm64);
        }
        if inputs.vtl0.uefi.is_none() && inputs.vtl0.linux.is_none() {
            return Err(LayoutError::NoVtl0ImageOnArm64);
        }
        // Step 20's panic, checked first.
        if !matches!(
            isolation.isolation_type,
            IsolationType::None | IsolationType::Vbs
        ) {
            return Err(LayoutError::IsolationNotSupportedOnArm64 {
                isolation: isolation.isolation_type,
            });
        }
        if inputs.sidecar.is_some() {
            return Err(LayoutError::SidecarOnArm64);
        }
        let mut image = ImagePlan::new();
        // Step 3: isolation is not considered.
        let with_relocation = inputs.memory_page_base.is_none();
        // Steps 4-5.
        let memory = Vtl2Memory::new(
            inputs.memory_page_base,
            inputs.memory_page_count,
            isolation.startup_memory_type(),
        )?;
        // Step 7.
        let mut at = Cursor::at(memory.start);
        let persisted_region = at.take(abi::PERSISTED_REGION_SIZE, "persisted-state region")?;
        // Steps 8-10: kernel and initrd; the shim follows.
        let initrd_bytes = inputs.initrd.unwrap_or(&[]);
        let kernel_image = place_kernel_and_initrd(
            inputs.kernel,
            inputs.initrd,
            facts.arm64_shim_follows_kernel_without_initrd,
            &mut at,
        )?;
        let kernel = kernel_image.kernel();
        let initrd = kernel_image.initrd();
        // Step 11.
        let shim = crate::place::plan_elf(
            inputs.shim,
            ElfMachine::Aarch64,
            ElfPlacement::Offset {
                load_offset: at.next(),
            },
        )
        .map_err(LayoutError::Shim)?;
        let shim_info = shim.info();
        if shim_info.minimum_address_used == u64::MAX {
            return Err(LayoutError::NoLoadSegments { what: "boot shim" });
        }
        at.skip_to(shim_info.next_available_address);
        // Steps 12-17.
        let command_line = at.next();
        crate::structs::command_line_page(
            &inputs.command_line,
            &mut image.structures.command_line,
        )?;
        at.take(PAGE_SIZE, "command line")?;
        let shim_params = at.take(PAGE_SIZE, "shim parameters")?;
        let shim_areas = ShimAreas::place(&mut at, &facts)?;
        // Step 18.
        let page_tables = at.take_pages(ARM64_PAGE_TABLE_PAGES, "page tables")?;
        let used_end = at.next();
        // Step 19.
        memory.check_fits(used_end)?;
        // Step 26: TTBR0_EL1 must hold the table address.
        if page_tables >= vp_regs::aarch64::TranslationBaseEl1::BADDR_LIMIT {
            return Err(LayoutError::Ttbr0OutOfRange { gpa: page_tables });
        }
        // Step 22: UEFI only; Linux is ignored on AArch64.
        let vtl0 = crate::vtl0::plan_vtl0(
            &inputs.vtl0,
            abi::PARAVISOR_VTL0_MEASURED_CONFIG_BASE_PAGE_AARCH64,
            LinuxDirectBoot::Ignored,
        )?;
        let mut layout = Self {
            isolation,
            with_relocation,
            memory,
            persisted_region,
            kernel,
            initrd,
            shim_base: shim_info.minimum_address_used,
            shim_end: shim_info.next_available_address,
            shim_entry: shim_info.entrypoint,
            command_line,
            shim_params,
            shim_areas,
            page_tables,
            used_end,
            vtl0,
            image,
        };
        // Step 20: the shim parameters, with the initrd CRC.
        let initrd_crc = crc32fast::hash(initrd_bytes);
        layout.image.structures.shim_base = layout.shim_base;
        let params = layout.compute_shim_params(initrd_crc);
        layout
            .image
            .structures
            .set_shim_params(params, facts.shim_params);
        // The import order of the original (steps 6, 8, 11, 12, 15, 16,
        // 21, 22, 24-29).
        let registers = layout.registers();
        let plan = &mut layout.image;
        crate::place::push_startup(plan, &layout.memory)?;
        plan.push(Step::Arm64Image {
            plan: kernel_image,
            initrd: initrd_bytes,
        })?;
        crate::place::push_boot_shim(plan, shim)?;
        layout
            .shim_areas
            .push_command_line_log_and_heap(plan, command_line)?;
        plan.import(
            "underhill-shim-params",
            PageRange::one(shim_params / PAGE_SIZE),
            PageAcceptance::Exclusive,
            PageData::Built(Built::ShimParams),
        )?;
        layout.vtl0.push(plan)?;
        let tables = PageRange {
            base: page_tables / PAGE_SIZE,
            count: ARM64_PAGE_TABLE_PAGES,
        };
        if with_relocation {
            crate::place::push_relocation(
                plan,
                &layout.memory,
                layout.shim_areas.end_of_underhill_mem,
                GdtrRelocation::Absent,
                tables,
            )?;
        }
        plan.import(
            "underhill-page-tables",
            tables,
            PageAcceptance::Exclusive,
            PageData::Built(Built::PageTables),
        )?;
        for register in registers {
            plan.push(Step::Register(register))?;
        }
        layout.shim_areas.push_parameter_areas(plan)?;
        layout.shim_areas.push_vtl2_config(plan, 0)?;
        Ok(layout)
    }

    /// Size of the page-table region in bytes (15 pages).
    pub fn page_table_region_size(&self) -> u64 {
        ARM64_PAGE_TABLE_PAGES * PAGE_SIZE
    }

    /// Builds the identity page tables into `buffer` (step 23) and returns
    /// the bytes used (at most 14 of the 15 pages, as the original asserts).
    pub fn build_page_tables(&self, buffer: &mut [u8]) -> Result<usize, LayoutError> {
        let region = self.page_table_region_size();
        // The table area is the region (15 pages) or the caller's buffer if
        // smaller; tables that do not fit are an `OutOfMemory` error.
        let area_len = buffer
            .len()
            .min(usize::try_from(region).unwrap_or(usize::MAX));
        let area = buffer.get_mut(..area_len).unwrap_or(&mut []);
        let used = arm64_pagetables::build_identity_page_tables_aarch64(
            self.page_tables,
            self.memory.start,
            self.memory.size,
            &vp_regs::aarch64::paravisor::MAIR_EL1,
            area,
        )
        .map_err(LayoutError::Arm64PageTables)?;
        let used_u64 = used as u64;
        if !used_u64.is_multiple_of(PAGE_SIZE) || used_u64 >= region {
            return Err(LayoutError::PageTablesTooLarge {
                used: used_u64,
                region,
            });
        }
        Ok(used)
    }

    /// The shim parameters (step 20, docs/abi.md §2).
    pub fn shim_params(&self) -> ShimParamsRaw {
        self.image.structures.shim_params
    }

    fn compute_shim_params(&self, initrd_crc: u32) -> ShimParamsRaw {
        crate::structs::shim_params(crate::structs::ShimParamsInput {
            shim_base: self.shim_base,
            kernel_entry: self.kernel.entrypoint,
            command_line: self.command_line,
            initrd: ShimRegion {
                start: self.initrd.gpa,
                size: self.initrd.size,
            },
            initrd_crc,
            isolation: self.isolation.isolation_type,
            memory: ShimRegion {
                start: self.memory.start,
                size: self.memory.size,
            },
            parameter_region: self.shim_areas.parameter_region(),
            reserved_region: None,
            sidecar: None,
            used_end: self.used_end,
            bounce_buffer: None,
            page_tables: None,
            log_buffer: self.shim_areas.log_buffer(),
            heap: self.shim_areas.heap(),
            persisted_region: crate::place::persisted_region(&self.memory),
        })
    }

    /// Checks that no two imports of the plan touch the same page (for
    /// example a kernel that reaches the measured-config page at 16 MiB).
    pub fn check_overlaps(&self) -> Result<(), LayoutError> {
        self.image.check_overlaps()
    }

    /// The boot processor's registers (step 26), in import order.
    pub fn registers(&self) -> [Aarch64Register; 8] {
        vp_regs::aarch64::paravisor::boot_registers(vp_regs::aarch64::paravisor::BootAddresses {
            shim_params_offset: self.shim_params.wrapping_sub(self.shim_base),
            shim_entry: self.shim_entry,
            page_tables: self.page_tables,
        })
    }
}

/// The AArch64 placement rule (steps 8–10): the kernel `Image` at `at` plus
/// its text offset, the initrd (empty without one) at the next 2 MiB
/// boundary after it; `at` moves to the page after the initrd, where the
/// boot shim goes. With `shim_follows_kernel` (release-1.8.2607 on,
/// docs/abi-versions.md G5) and no initrd there is none at all and `at`
/// moves to the end of the kernel image (`K + image size`: no text offset,
/// no 2 MiB alignment).
fn place_kernel_and_initrd<'a>(
    image: &'a [u8],
    initrd: Option<&[u8]>,
    shim_follows_kernel: bool,
    at: &mut Cursor,
) -> Result<Arm64ImagePlan<'a>, LayoutError> {
    let initrd_len = initrd.map_or(0, |bytes| bytes.len() as u64);
    let plan = elf_static_loader::image::plan_arm64_image(image, at.next(), initrd_len)
        .map_err(LayoutError::Arm64Kernel)?;
    if shim_follows_kernel && initrd.is_none() {
        let kernel = plan.kernel();
        *at = Cursor::at(kernel.gpa);
        at.take(kernel.size, "kernel")?;
        return Ok(plan.without_initrd());
    }
    let placed = plan.initrd();
    *at = Cursor::at(placed.gpa);
    at.take(placed.size, "initrd")?;
    at.align(PAGE_SIZE, "boot shim")?;
    Ok(plan)
}

/// Loads the OpenHCL paravisor for AArch64 through `importer`.
///
/// Planned and checked first ([`Arm64Layout::plan`], page tables built into
/// `page_table_buffer`, overlaps checked); on [`Error::Layout`] nothing was
/// imported. `page_table_buffer` must hold the tables used (at most 14
/// pages; 3 for VTL2 memory below 1 GiB). PCAT, a missing VTL0 image and
/// SNP/TDX isolation — asserts and panics in the original — are errors.
///
/// Call order as for [`crate::load_openhcl_x64`]. The original calls
/// `isolation_config` a second time while filling the shim parameters; here
/// it is called once (it has no side effects).
pub fn load_openhcl_arm64<'a, I: ParavisorImporter<Aarch64Register>>(
    importer: &mut I,
    inputs: &LoadInputs<'a>,
    page_table_buffer: &mut [u8],
) -> Result<Arm64Layout<'a>, Error<I::Error>> {
    let layout = Arm64Layout::plan(importer.isolation_config(), inputs)?;
    let used = layout.build_page_tables(page_table_buffer)?;
    crate::overlap::check_and_apply(&layout.image, importer, page_table_buffer, used)?;
    Ok(layout)
}

/// [`load_openhcl_arm64`] with a page-table buffer allocated for the call
/// (`std` feature).
#[cfg(feature = "std")]
pub fn load_openhcl_arm64_alloc<'a, I: ParavisorImporter<Aarch64Register>>(
    importer: &mut I,
    inputs: &LoadInputs<'a>,
) -> Result<Arm64Layout<'a>, Error<I::Error>> {
    extern crate std;
    let mut buffer = std::vec![0u8; (ARM64_PAGE_TABLE_PAGES * PAGE_SIZE) as usize];
    load_openhcl_arm64(importer, inputs, &mut buffer)
}

//! `load_openhcl_arm64`: plan the whole AArch64 layout (algorithms.md §8
//! and every check), then import in the original's order.

use crate::error::Error;
use crate::error::LayoutError;
use crate::importer::IsolationConfig;
use crate::importer::IsolationType;
use crate::importer::PAGE_SIZE;
use crate::importer::PageAcceptance;
use crate::importer::ParavisorImporter;
use crate::inputs::LoadInputs;
use crate::layout::PlannedVtl0;
use crate::layout::RelocationRecords;
use crate::layout::Vtl2Memory;
use crate::layout::add;
use crate::layout::command_line_page;
use crate::layout::import_command_line_log_and_heap;
use crate::layout::import_parameter_areas;
use crate::layout::plan_vtl0;
use crate::overlap::FixedImports;
use crate::structs;
use crate::x64::HEAP_SIZE;
use crate::x64::LOG_BUFFER_SIZE;
use crate::x64::PERSISTED_REGION_SIZE;
use elf_static_loader::elf::ElfMachine;
use elf_static_loader::elf::StaticElfPlan;
use elf_static_loader::image::Arm64ImagePlan;
use paravisor_layout::ShimParamsRaw;
use vp_regs::aarch64::Aarch64Register;
use zerocopy::IntoBytes;

/// AArch64 page-table region: 5 base + 10 dynamic pages.
pub const ARM64_PAGE_TABLE_PAGES: u64 = 15;
/// TTBR0_EL1.BADDR holds 48 bits.
const TTBR0_LIMIT: u64 = 1 << 48;

/// Every address of an AArch64 paravisor image, computed and checked
/// without importing anything.
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
    pub kernel: (u64, u64, u64),
    /// Initrd GPA and length (always present; length 0 without an initrd).
    pub initrd: (u64, u64),
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
    /// Parameter region (106 pages).
    pub parameter_region: u64,
    /// Log buffer (2 pages).
    pub log_buffer: u64,
    /// Heap (16 pages).
    pub heap: u64,
    /// End of the relocatable part (page tables excluded).
    pub end_of_underhill_mem: u64,
    /// Page-table region (15 pages).
    pub page_tables: u64,
    /// End of everything placed.
    pub used_end: u64,
    /// The VTL0 measured configuration.
    pub vtl0: PlannedVtl0,
    image: Arm64ImagePlan<'a>,
    shim: StaticElfPlan<'a>,
    initrd_bytes: &'a [u8],
    initrd_crc: u32,
    command_line_page: [u8; PAGE_SIZE as usize],
}

impl<'a> Arm64Layout<'a> {
    /// Plans an AArch64 load (algorithms.md §8 steps 1–19 and the checks of
    /// the later steps). Pure: nothing is imported.
    pub fn plan(isolation: IsolationConfig, inputs: &LoadInputs<'a>) -> Result<Self, LayoutError> {
        inputs.check_abi()?;
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
        // Step 3: isolation is not considered.
        let with_relocation = inputs.memory_page_base.is_none();
        // Steps 4-5.
        let memory = Vtl2Memory::new(
            inputs.memory_page_base,
            inputs.memory_page_count,
            isolation.paravisor_present,
        )?;
        // Step 7.
        let persisted_region = memory.start;
        let next = add(
            memory.start,
            PERSISTED_REGION_SIZE,
            "persisted-state region",
        )?;
        // Steps 8-9: kernel and initrd.
        let initrd_bytes = inputs.initrd.unwrap_or(&[]);
        let image = elf_static_loader::image::plan_arm64_image(
            inputs.kernel,
            next,
            initrd_bytes.len() as u64,
        )
        .map_err(LayoutError::Arm64Kernel)?;
        let kernel = image.kernel();
        let initrd = image.initrd();
        let next = add(initrd.gpa, initrd.size, "initrd")?;
        // Step 10.
        let next = crate::layout::align_up(next, PAGE_SIZE, "boot shim")?;
        // Step 11.
        let shim = elf_static_loader::elf::plan_static_elf(
            inputs.shim,
            ElfMachine::Aarch64,
            0,
            next,
            false,
        )
        .map_err(LayoutError::Shim)?;
        let shim_info = shim.info();
        if shim_info.minimum_address_used == u64::MAX {
            return Err(LayoutError::NoLoadSegments { what: "boot shim" });
        }
        let mut next = shim_info.next_available_address;
        // Steps 12-16.
        let command_line = next;
        let command_line_page = command_line_page(&inputs.command_line)?;
        next = add(next, PAGE_SIZE, "command line")?;
        let shim_params = next;
        next = add(next, PAGE_SIZE, "shim parameters")?;
        let parameter_region = next;
        next = add(
            next,
            crate::layout::PARAMETER_REGION_SIZE,
            "parameter region",
        )?;
        let log_buffer = next;
        next = add(next, LOG_BUFFER_SIZE, "log buffer")?;
        let heap = next;
        next = add(next, HEAP_SIZE, "heap")?;
        // Step 17.
        let end_of_underhill_mem = next;
        // Step 18.
        let page_tables = next;
        next = add(next, ARM64_PAGE_TABLE_PAGES * PAGE_SIZE, "page tables")?;
        let used_end = next;
        // Step 19.
        memory.check_fits(used_end)?;
        // Step 26: TTBR0_EL1 must hold the table address.
        if page_tables >= TTBR0_LIMIT {
            return Err(LayoutError::Ttbr0OutOfRange { gpa: page_tables });
        }
        // Step 20.
        let initrd_crc = crc32fast::hash(initrd_bytes);
        // Step 22: UEFI only; Linux is ignored on AArch64.
        let vtl0 = plan_vtl0(
            &inputs.vtl0,
            paravisor_layout::PARAVISOR_VTL0_MEASURED_CONFIG_BASE_PAGE_AARCH64,
            false,
        )?;
        Ok(Self {
            isolation,
            with_relocation,
            memory,
            persisted_region,
            kernel: (kernel.gpa, kernel.size, kernel.entrypoint),
            initrd: (initrd.gpa, initrd.size),
            shim_base: shim_info.minimum_address_used,
            shim_end: shim_info.next_available_address,
            shim_entry: shim_info.entrypoint,
            command_line,
            shim_params,
            parameter_region,
            log_buffer,
            heap,
            end_of_underhill_mem,
            page_tables,
            used_end,
            vtl0,
            image,
            shim,
            initrd_bytes,
            initrd_crc,
            command_line_page,
        })
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

    /// The shim parameters (step 20, abi.md §2).
    pub fn shim_params(&self) -> ShimParamsRaw {
        structs::shim_params(structs::ShimParamsInput {
            shim_base: self.shim_base,
            kernel_entry: self.kernel.2,
            command_line: self.command_line,
            initrd: self.initrd.0,
            initrd_size: self.initrd.1,
            initrd_crc: self.initrd_crc,
            isolation: self.isolation.isolation_type,
            memory_start: self.memory.start,
            memory_size: self.memory.size,
            parameter_region: self.parameter_region,
            reserved_region: None,
            sidecar: None,
            used_end: self.used_end,
            bounce_buffer: None,
            page_tables: None,
            log_buffer: self.log_buffer,
            heap: self.heap,
        })
    }

    /// Checks that no two imports of the plan touch the same page (for
    /// example a kernel that reaches the measured-config page at 16 MiB).
    pub fn check_overlaps(&self) -> Result<(), LayoutError> {
        let mut fixed = FixedImports::new();
        fixed.push(
            "linux-kernel",
            self.kernel.2 / PAGE_SIZE,
            self.kernel.1 / PAGE_SIZE,
        );
        fixed.push(
            "linux-initrd",
            self.initrd.0 / PAGE_SIZE,
            self.initrd.1.div_ceil(PAGE_SIZE),
        );
        fixed.push("underhill-command-line", self.command_line / PAGE_SIZE, 1);
        fixed.push("underhill-shim-params", self.shim_params / PAGE_SIZE, 1);
        fixed.push("ohcl-boot-shim-log-buffer", self.log_buffer / PAGE_SIZE, 2);
        fixed.push("ohcl-boot-shim-heap", self.heap / PAGE_SIZE, 16);
        fixed.push(
            "underhill-page-tables",
            self.page_tables / PAGE_SIZE,
            ARM64_PAGE_TABLE_PAGES,
        );
        self.vtl0.push_imports(&mut fixed);
        fixed.push(
            "underhill-vtl2-measured-config",
            (self.parameter_region / PAGE_SIZE)
                .saturating_add(crate::layout::MEASURED_VTL2_CONFIG_PAGE_INDEX),
            1,
        );
        fixed.check_pairwise()?;
        fixed.check_elf(&self.shim, "underhill-boot-shim")
    }

    /// Imports the planned image in the original's order (§8 steps 6, 8,
    /// 11, 12, 15, 16, 21, 22, 24–29). Only the importer can fail here.
    pub fn import<I: ParavisorImporter<Aarch64Register>>(
        &self,
        importer: &mut I,
        page_tables: &[u8],
    ) -> Result<(), I::Error> {
        importer.verify_startup_memory_available(
            self.memory.start / PAGE_SIZE,
            self.memory.page_count,
            self.memory.startup_type,
        )?;
        self.image.import(importer, self.initrd_bytes)?;
        self.shim
            .import(importer, PageAcceptance::Exclusive, "underhill-boot-shim")?;
        import_command_line_log_and_heap(
            importer,
            self.command_line,
            &self.command_line_page,
            self.log_buffer,
            self.heap,
        )?;
        let shim_params = self.shim_params();
        importer.import_pages(
            self.shim_params / PAGE_SIZE,
            1,
            "underhill-shim-params",
            PageAcceptance::Exclusive,
            shim_params.as_bytes(),
        )?;
        self.vtl0.import(importer)?;
        if self.with_relocation {
            RelocationRecords {
                memory_start: self.memory.start,
                end_of_underhill_mem: self.end_of_underhill_mem,
                apply_gdtr_offset: false,
                page_tables: self.page_tables,
                page_table_pages: ARM64_PAGE_TABLE_PAGES,
                used_page_table_pages: page_tables.len() as u64 / PAGE_SIZE,
            }
            .import(importer)?;
        }
        importer.import_pages(
            self.page_tables / PAGE_SIZE,
            ARM64_PAGE_TABLE_PAGES,
            "underhill-page-tables",
            PageAcceptance::Exclusive,
            page_tables,
        )?;
        for register in self.registers() {
            importer.import_vp_register(register)?;
        }
        import_parameter_areas(importer, self.parameter_region / PAGE_SIZE)?;
        let vtl2 = structs::measured_vtl2_config(0);
        crate::layout::import_vtl2_config(
            importer,
            self.parameter_region / PAGE_SIZE,
            vtl2.as_bytes(),
        )
    }

    /// The boot processor's registers (step 26), in import order.
    pub fn registers(&self) -> [Aarch64Register; 8] {
        use vp_regs::aarch64::paravisor as a;
        [
            Aarch64Register::X0(self.shim_params.wrapping_sub(self.shim_base)),
            Aarch64Register::Pc(self.shim_entry),
            Aarch64Register::Cpsr(a::CPSR.into_bits()),
            Aarch64Register::SctlrEl1(a::SCTLR_EL1.into_bits()),
            Aarch64Register::TcrEl1(a::TCR_EL1.into_bits()),
            Aarch64Register::MairEl1(a::MAIR_EL1.to_u64()),
            Aarch64Register::Ttbr0El1(self.page_tables),
            Aarch64Register::VbarEl1(a::VBAR_EL1),
        ]
    }
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
    layout.check_overlaps()?;
    let tables = page_table_buffer.get(..used).unwrap_or(&[]);
    layout.import(importer, tables).map_err(Error::Importer)?;
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

//! `load_openhcl_x64`: plan the whole x86-64 layout (algorithms.md §7.1
//! steps 1–26 and every check), then import in the original's order.

use crate::error::Error;
use crate::error::LayoutError;
use crate::importer::IsolationConfig;
use crate::importer::IsolationType;
use crate::importer::PAGE_SIZE;
use crate::importer::PageAcceptance;
use crate::importer::ParavisorImporter;
use crate::inputs::LoadInputs;
use crate::layout::LARGE_PAGE;
use crate::layout::PlannedVtl0;
use crate::layout::RelocationRecords;
use crate::layout::Vtl2Memory;
use crate::layout::add;
use crate::layout::command_line_page;
use crate::layout::import_command_line_log_and_heap;
use crate::layout::import_parameter_areas;
use crate::layout::pages;
use crate::layout::plan_vtl0;
use crate::overlap::FixedImports;
use crate::structs;
use elf_static_loader::elf::ElfMachine;
use elf_static_loader::elf::StaticElfPlan;
use paravisor_layout::ShimParamsRaw;
use vp_regs::x86_64::SegmentRegister;
use vp_regs::x86_64::TableRegister;
use vp_regs::x86_64::X86Register;
use zerocopy::IntoBytes;

/// Size of the persisted-state region at the start of VTL2 memory.
pub const PERSISTED_REGION_SIZE: u64 = paravisor_layout::PERSISTED_REGION_SIZE;
/// Size of the bounce buffer (SNP/TDX only).
pub const BOUNCE_BUFFER_SIZE: u64 = paravisor_layout::BOUNCE_BUFFER_SIZE;
/// Boot-shim log buffer size.
pub const LOG_BUFFER_SIZE: u64 = paravisor_layout::SHIM_LOG_BUFFER_SIZE;
/// Boot-shim heap size.
pub const HEAP_SIZE: u64 = paravisor_layout::SHIM_HEAP_SIZE;
/// x86-64 VTL2 reserved region size (4 pages; SNP VMSA, CPUID, secrets).
pub const RESERVED_REGION_SIZE: u64 = paravisor_layout::PARAVISOR_RESERVED_VTL2_REGION_SIZE;
/// TDX identity map size (3 GiB).
pub const TDX_MAPPING_SIZE: u64 = 0xC000_0000;
/// SNP confidential bit in page-table entries.
pub const SNP_CONFIDENTIAL_BIT: u8 = 51;
/// Highest GPA the host may relocate the image to.
pub use crate::layout::RELOCATION_MAXIMUM_GPA;
/// Page-table pages every x86-64 layout reserves before the PD tables.
const PAGE_TABLE_BASE_PAGES: u64 = 5;
/// Extra page-table pages on TDX (reset-vector 4 KiB mapping).
const PAGE_TABLE_TDX_EXTRA_PAGES: u64 = 3;

/// A planned x86-64 sidecar.
#[derive(Debug, Clone, Copy)]
pub struct PlannedSidecar<'a> {
    plan: StaticElfPlan<'a>,
}

/// Every address of an x86-64 paravisor image (algorithms.md §7.2), computed
/// and checked without importing anything.
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
    pub kernel_range: (u64, u64),
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
    pub initrd: Option<(u64, u64)>,
    /// GDT page.
    pub gdt: u64,
    /// Shim-parameter page.
    pub shim_params: u64,
    /// Command-line page.
    pub command_line: u64,
    /// Reserved region (4 pages).
    pub reserved_region: u64,
    /// Parameter region (106 pages).
    pub parameter_region: u64,
    /// Log buffer (2 pages).
    pub log_buffer: u64,
    /// Heap (16 pages).
    pub heap: u64,
    /// End of the relocatable part (page tables excluded).
    pub end_of_underhill_mem: u64,
    /// Size of the identity map (VTL2 size, 3 GiB on TDX).
    pub page_table_mapping_size: u64,
    /// Page-table region start.
    pub page_tables: u64,
    /// Page-table region size in pages.
    pub page_table_pages: u64,
    /// End of everything placed (page tables included).
    pub used_end: u64,
    /// The VTL0 measured configuration.
    pub vtl0: PlannedVtl0,
    kernel: StaticElfPlan<'a>,
    sidecar: Option<PlannedSidecar<'a>>,
    shim: StaticElfPlan<'a>,
    initrd_bytes: &'a [u8],
    initrd_crc: u32,
    command_line_page: [u8; PAGE_SIZE as usize],
}

impl<'a> X64Layout<'a> {
    /// Plans an x86-64 load (algorithms.md §7.1 steps 1–25 and the checks of
    /// the later steps). Pure: nothing is imported.
    pub fn plan(isolation: IsolationConfig, inputs: &LoadInputs<'a>) -> Result<Self, LayoutError> {
        inputs.check_abi()?;
        let iso = isolation.isolation_type;
        let isolated = iso.is_hardware_isolated();
        // Step 1: VBS, SNP and TDX never get relocation.
        let with_relocation = inputs.memory_page_base.is_none() && iso == IsolationType::None;
        // Steps 2-3.
        let memory = Vtl2Memory::new(
            inputs.memory_page_base,
            inputs.memory_page_count,
            isolation.paravisor_present,
        )?;
        // Step 5.
        let kernel_acceptance = if isolated {
            PageAcceptance::Shared
        } else {
            PageAcceptance::Exclusive
        };

        // Step 6.
        let persisted_region = memory.start;
        let mut off = add(
            memory.start,
            PERSISTED_REGION_SIZE,
            "persisted-state region",
        )?;
        // Step 7.
        let bounce_buffer = if isolated {
            let base = off;
            off = add(off, BOUNCE_BUFFER_SIZE, "bounce buffer")?;
            Some(base)
        } else {
            None
        };

        // Step 8: kernel, PIC, at `off`.
        let kernel = elf_static_loader::elf::plan_static_elf(
            inputs.kernel,
            ElfMachine::X86_64,
            off,
            0,
            true,
        )
        .map_err(LayoutError::Kernel)?;
        let kernel_info = kernel.info();
        if kernel_info.minimum_address_used == u64::MAX {
            return Err(LayoutError::NoLoadSegments { what: "kernel" });
        }
        off = kernel_info.next_available_address;
        // Step 9.
        if off % PAGE_SIZE != 0 {
            return Err(LayoutError::KernelEndUnaligned { end: off });
        }

        // Step 10-11: sidecar at the next 2 MiB boundary.
        let (sidecar, sidecar_size, sidecar_entry) = match inputs.sidecar {
            Some(elf) => {
                off = crate::layout::align_up(off, LARGE_PAGE, "sidecar")?;
                let plan =
                    elf_static_loader::elf::plan_static_elf(elf, ElfMachine::X86_64, 0, off, false)
                        .map_err(LayoutError::Sidecar)?;
                let info = plan.info();
                let size = info.next_available_address.checked_sub(off).ok_or(
                    LayoutError::AddressOverflow {
                        what: "sidecar",
                        at: off,
                    },
                )?;
                (Some(PlannedSidecar { plan }), size, info.entrypoint)
            }
            None => (None, 0, 0),
        };
        let sidecar_base = off;
        off = add(off, sidecar_size, "sidecar")?;

        // Step 12: shim, non-PIC, at `off`.
        let shim =
            elf_static_loader::elf::plan_static_elf(inputs.shim, ElfMachine::X86_64, 0, off, false)
                .map_err(LayoutError::Shim)?;
        let shim_info = shim.info();
        if shim_info.minimum_address_used == u64::MAX {
            return Err(LayoutError::NoLoadSegments { what: "boot shim" });
        }
        let shim_base = shim_info.minimum_address_used;
        off = shim_info.next_available_address;
        let shim_end = off;

        // Step 13: initrd.
        let initrd = match inputs.initrd {
            Some(bytes) => {
                let len = bytes.len() as u64;
                let base = off;
                let aligned = crate::layout::align_up(len, PAGE_SIZE, "initrd")?;
                off = add(off, aligned, "initrd")?;
                Some((base, len))
            }
            None => None,
        };
        let initrd_bytes = inputs.initrd.unwrap_or(&[]);

        // Steps 14-20.
        let gdt = off;
        off = add(off, PAGE_SIZE, "GDT")?;
        let shim_params = off;
        off = add(off, PAGE_SIZE, "shim parameters")?;
        let command_line = off;
        let command_line_page = command_line_page(&inputs.command_line)?;
        off = add(off, PAGE_SIZE, "command line")?;
        let reserved_region = off;
        off = add(off, RESERVED_REGION_SIZE, "reserved region")?;
        let parameter_region = off;
        off = add(
            off,
            crate::layout::PARAMETER_REGION_SIZE,
            "parameter region",
        )?;
        let log_buffer = off;
        off = add(off, LOG_BUFFER_SIZE, "log buffer")?;
        let heap = off;
        off = add(off, HEAP_SIZE, "heap")?;
        // Step 21.
        let end_of_underhill_mem = off;

        // Steps 22-25: page-table region.
        let page_table_mapping_size = if iso == IsolationType::Tdx {
            TDX_MAPPING_SIZE
        } else {
            memory.size
        };
        let pde = x86_pagetables::calculate_pde_table_count(memory.start, page_table_mapping_size)
            .map_err(LayoutError::PageTables)?;
        let local_map_pages = if isolated {
            x86_pagetables::calculate_pde_table_count(
                paravisor_layout::PARAVISOR_LOCAL_MAP_VA,
                paravisor_layout::PARAVISOR_LOCAL_MAP_SIZE,
            )
            .map_err(LayoutError::PageTables)?
        } else {
            0
        };
        let extra = if iso == IsolationType::Tdx {
            PAGE_TABLE_TDX_EXTRA_PAGES
        } else {
            0
        };
        let page_table_pages = pde
            .checked_mul(2)
            .and_then(|d| d.checked_add(PAGE_TABLE_BASE_PAGES))
            .and_then(|d| d.checked_add(local_map_pages))
            .and_then(|d| d.checked_add(extra))
            .ok_or(LayoutError::AddressOverflow {
                what: "page tables",
                at: off,
            })?;
        let page_tables = off;
        off = add(off, pages(page_table_pages, "page tables")?, "page tables")?;
        let used_end = off;

        // Step 28, checked before anything is built or imported.
        memory.check_fits(used_end)?;

        // Step 29: the initrd CRC.
        let initrd_crc = crc32fast::hash(initrd_bytes);

        // Step 36: the VTL0 configuration (x86-64 pages 0, 1, 2).
        let vtl0 = plan_vtl0(
            &inputs.vtl0,
            paravisor_layout::PARAVISOR_VTL0_MEASURED_CONFIG_BASE_PAGE_X64,
            true,
        )?;

        Ok(Self {
            isolation,
            with_relocation,
            memory,
            kernel_acceptance,
            persisted_region,
            bounce_buffer,
            kernel_range: (
                kernel_info.minimum_address_used,
                kernel_info.next_available_address,
            ),
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
            parameter_region,
            log_buffer,
            heap,
            end_of_underhill_mem,
            page_table_mapping_size,
            page_tables,
            page_table_pages,
            used_end,
            vtl0,
            kernel,
            sidecar,
            shim,
            initrd_bytes,
            initrd_crc,
            command_line_page,
        })
    }

    /// Size of the page-table region in bytes.
    pub fn page_table_region_size(&self) -> u64 {
        self.page_table_pages.saturating_mul(PAGE_SIZE)
    }

    /// The identity-map configuration of step 26.
    pub fn page_table_config(&self) -> x86_pagetables::IdentityMapConfig<'static> {
        let iso = self.isolation.isolation_type;
        let mut config = x86_pagetables::IdentityMapConfig::new(
            self.page_tables,
            self.memory.start,
            self.page_table_mapping_size,
        );
        if iso.is_hardware_isolated() {
            config = config.with_local_map(
                paravisor_layout::PARAVISOR_LOCAL_MAP_VA,
                paravisor_layout::PARAVISOR_LOCAL_MAP_SIZE,
            );
        }
        if iso == IsolationType::Snp {
            config = config.with_confidential_bit(SNP_CONFIDENTIAL_BIT);
        }
        config.with_reset_vector(iso == IsolationType::Tdx)
    }

    /// Builds the page tables into `buffer` (step 26) and returns the bytes
    /// used, checking that they fit the region.
    pub fn build_page_tables(&self, buffer: &mut [u8]) -> Result<usize, LayoutError> {
        let config = self.page_table_config();
        let used =
            x86_pagetables::build_identity_map(&config, buffer).map_err(LayoutError::PageTables)?;
        let used_u64 = used as u64;
        if !used_u64.is_multiple_of(PAGE_SIZE) || used_u64 > self.page_table_region_size() {
            return Err(LayoutError::PageTablesTooLarge {
                used: used_u64,
                region: self.page_table_region_size(),
            });
        }
        Ok(used)
    }

    /// The shim parameters (step 29, abi.md §2).
    pub fn shim_params(&self) -> ShimParamsRaw {
        let isolated = self.bounce_buffer.is_some();
        structs::shim_params(structs::ShimParamsInput {
            shim_base: self.shim_base,
            kernel_entry: self.kernel_entry,
            command_line: self.command_line,
            initrd: self.initrd.map(|(b, _)| b).unwrap_or(0),
            initrd_size: self.initrd.map(|(_, l)| l).unwrap_or(0),
            initrd_crc: self.initrd_crc,
            isolation: self.isolation.isolation_type,
            memory_start: self.memory.start,
            memory_size: self.memory.size,
            parameter_region: self.parameter_region,
            reserved_region: Some((self.reserved_region, RESERVED_REGION_SIZE)),
            sidecar: Some((self.sidecar_base, self.sidecar_size, self.sidecar_entry)),
            used_end: self.used_end,
            bounce_buffer: if isolated {
                Some((self.bounce_buffer.unwrap_or(0), BOUNCE_BUFFER_SIZE))
            } else {
                None
            },
            page_tables: Some((self.page_tables, self.page_table_region_size())),
            log_buffer: self.log_buffer,
            heap: self.heap,
        })
    }

    /// Checks that no two imports of the plan touch the same page.
    pub fn check_overlaps(&self, page_table_used: usize) -> Result<(), LayoutError> {
        let _ = page_table_used;
        let mut fixed = FixedImports::new();
        if let Some((base, len)) = self.initrd {
            fixed.push(
                "underhill-initrd",
                base / PAGE_SIZE,
                len.div_ceil(PAGE_SIZE),
            );
        }
        fixed.push("underhill-gdt", self.gdt / PAGE_SIZE, 1);
        fixed.push("underhill-shim-params", self.shim_params / PAGE_SIZE, 1);
        fixed.push("underhill-command-line", self.command_line / PAGE_SIZE, 1);
        if self.isolation.isolation_type == IsolationType::Snp {
            fixed.push(
                "underhill-snp-reserved-pages",
                (self.reserved_region / PAGE_SIZE).wrapping_add(1),
                3,
            );
        }
        fixed.push("ohcl-boot-shim-log-buffer", self.log_buffer / PAGE_SIZE, 2);
        fixed.push("ohcl-boot-shim-heap", self.heap / PAGE_SIZE, 16);
        fixed.push(
            "underhill-page-tables",
            self.page_tables / PAGE_SIZE,
            self.page_table_pages,
        );
        self.vtl0.push_imports(&mut fixed);
        fixed.push(
            "underhill-vtl2-measured-config",
            (self.parameter_region / PAGE_SIZE)
                .wrapping_add(crate::layout::MEASURED_VTL2_CONFIG_PAGE_INDEX),
            1,
        );
        fixed.check_pairwise()?;
        fixed.check_elf(&self.kernel, "underhill-kernel")?;
        if let Some(sidecar) = &self.sidecar {
            fixed.check_elf(&sidecar.plan, "sidecar-kernel")?;
        }
        fixed.check_elf(&self.shim, "underhill-boot-shim")
    }

    /// Imports the planned image (steps 4, 8, 10, 12, 13, 16, 19, 20,
    /// 27, 30–38) in the original's order. Only the importer can fail here.
    pub fn import<I: ParavisorImporter<X86Register>>(
        &self,
        importer: &mut I,
        page_tables: &[u8],
    ) -> Result<(), I::Error> {
        // Step 4.
        importer.verify_startup_memory_available(
            self.memory.start / PAGE_SIZE,
            self.memory.page_count,
            self.memory.startup_type,
        )?;
        // Step 8.
        self.kernel
            .import(importer, self.kernel_acceptance, "underhill-kernel")?;
        // Step 10.
        if let Some(sidecar) = &self.sidecar {
            sidecar
                .plan
                .import(importer, PageAcceptance::Exclusive, "sidecar-kernel")?;
        }
        // Step 12.
        self.shim
            .import(importer, PageAcceptance::Exclusive, "underhill-boot-shim")?;
        // Step 13.
        if let Some((base, len)) = self.initrd {
            importer.import_pages(
                base / PAGE_SIZE,
                len.div_ceil(PAGE_SIZE),
                "underhill-initrd",
                self.kernel_acceptance,
                self.initrd_bytes,
            )?;
        }
        // Steps 16, 19-20.
        import_command_line_log_and_heap(
            importer,
            self.command_line,
            &self.command_line_page,
            self.log_buffer,
            self.heap,
        )?;
        // Step 27.
        if self.with_relocation {
            RelocationRecords {
                memory_start: self.memory.start,
                end_of_underhill_mem: self.end_of_underhill_mem,
                apply_gdtr_offset: true,
                page_tables: self.page_tables,
                page_table_pages: self.page_table_pages,
                used_page_table_pages: page_tables.len() as u64 / PAGE_SIZE,
            }
            .import(importer)?;
        }
        // Step 30.
        let shim_params = self.shim_params();
        importer.import_pages(
            self.shim_params / PAGE_SIZE,
            1,
            "underhill-shim-params",
            PageAcceptance::Exclusive,
            shim_params.as_bytes(),
        )?;
        // Step 31.
        importer.import_pages(
            self.page_tables / PAGE_SIZE,
            self.page_table_pages,
            "underhill-page-tables",
            PageAcceptance::Exclusive,
            page_tables,
        )?;
        // Step 32.
        let gdt = structs::paravisor_gdt();
        importer.import_pages(
            self.gdt / PAGE_SIZE,
            1,
            "underhill-gdt",
            PageAcceptance::Exclusive,
            gdt.as_bytes(),
        )?;
        // Step 33.
        for register in self.registers(page_tables) {
            importer.import_vp_register(register)?;
        }
        // Step 34.
        import_parameter_areas(importer, self.parameter_region / PAGE_SIZE)?;
        // Step 35.
        if self.isolation.isolation_type == IsolationType::Snp {
            let reserved_page = self.reserved_region / PAGE_SIZE;
            importer.import_pages(
                reserved_page
                    .wrapping_add(paravisor_layout::PARAVISOR_RESERVED_VTL2_SNP_SECRETS_PAGE_INDEX),
                paravisor_layout::PARAVISOR_RESERVED_VTL2_SNP_SECRETS_SIZE_PAGES,
                "underhill-snp-secrets-page",
                PageAcceptance::SecretsPage,
                &[],
            )?;
            let cpuid = snp_cpuid::create_snp_cpuid_page();
            importer.import_pages(
                reserved_page
                    .wrapping_add(paravisor_layout::PARAVISOR_RESERVED_VTL2_SNP_CPUID_PAGE_INDEX),
                1,
                "underhill-snp-cpuid-page",
                PageAcceptance::CpuidPage,
                cpuid.as_bytes(),
            )?;
            importer.import_pages(
                reserved_page
                    .wrapping_add(paravisor_layout::PARAVISOR_RESERVED_VTL2_SNP_CPUID_PAGE_INDEX)
                    .wrapping_add(1),
                1,
                "underhill-snp-cpuid-extended-state-page",
                PageAcceptance::CpuidExtendedStatePage,
                &[],
            )?;
            importer.set_vp_context_page(
                reserved_page
                    .wrapping_add(paravisor_layout::PARAVISOR_RESERVED_VTL2_SNP_VMSA_PAGE_INDEX),
            )?;
        }
        // Step 36.
        self.vtl0.import(importer)?;
        // Steps 37-38.
        let vtl2 =
            structs::measured_vtl2_config(self.isolation.shared_gpa_boundary_bits.unwrap_or(0));
        crate::layout::import_vtl2_config(
            importer,
            self.parameter_region / PAGE_SIZE,
            vtl2.as_bytes(),
        )
    }

    /// The boot processor's registers (step 33), in import order.
    pub fn registers(&self, _page_tables: &[u8]) -> [X86Register; 15] {
        let data = SegmentRegister {
            base: 0,
            limit: 0xFFFF_FFFF,
            selector: structs::DATA_SELECTOR,
            attributes: vp_regs::x86_64::X64_DEFAULT_DATA_SEGMENT_ATTRIBUTES.into_bits(),
        };
        let code = SegmentRegister {
            base: 0,
            limit: 0xFFFF_FFFF,
            selector: structs::CODE_SELECTOR,
            attributes: vp_regs::x86_64::X64_DEFAULT_CODE_SEGMENT_ATTRIBUTES.into_bits(),
        };
        let tr = SegmentRegister {
            base: 0,
            limit: 0xFFFF,
            selector: 0,
            attributes: vp_regs::x86_64::X64_BUSY_TSS_SEGMENT_ATTRIBUTES.into_bits(),
        };
        use vp_regs::x86_64 as x;
        [
            X86Register::Gdtr(TableRegister {
                base: self.gdt,
                limit: structs::GDT_LIMIT,
            }),
            X86Register::Ds(data),
            X86Register::Es(data),
            X86Register::Fs(data),
            X86Register::Gs(data),
            X86Register::Ss(data),
            X86Register::Cs(code),
            X86Register::Tr(tr),
            X86Register::Cr0(x::X64_CR0_PG | x::X64_CR0_PE | x::X64_CR0_NE),
            X86Register::Cr3(self.page_tables),
            X86Register::Cr4(x::X64_CR4_PAE | x::X64_CR4_MCE | x::X64_CR4_OSXSAVE),
            X86Register::Efer(x::X64_EFER_LMA | x::X64_EFER_LME | x::X64_EFER_NXE),
            X86Register::Pat(x::X86X_MSR_DEFAULT_PAT),
            // shim_params > shim_base: the shim's pages come first.
            X86Register::Rsi(self.shim_params.wrapping_sub(self.shim_base)),
            X86Register::Rip(self.shim_entry),
        ]
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
    layout.check_overlaps(used)?;
    let tables = page_table_buffer.get(..used).unwrap_or(&[]);
    layout.import(importer, tables).map_err(Error::Importer)?;
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
    // mapping over 512 GiB (algorithms.md §4.2 step 1.2), so for such an
    // input it can be gigabytes. A configuration the builder rejects gets an
    // empty buffer and the builder's typed error.
    let tables = x86_pagetables::required_tables(&layout.page_table_config()).unwrap_or(0);
    let len = tables
        .saturating_mul(PAGE_SIZE as usize)
        .min(usize::try_from(layout.page_table_region_size()).unwrap_or(usize::MAX));
    let mut buffer = std::vec![0u8; len];
    load_openhcl_x64(importer, inputs, &mut buffer)
}

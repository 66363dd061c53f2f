//! The placement and import steps both architectures share, written once:
//! the shim's working areas (parameter region, log buffer, heap), their
//! imports, the parameter areas, the VTL2 measured configuration and the
//! relocation records (docs/algorithms.md §7.1 and §8).

use crate::error::LayoutError;
use crate::importer::PAGE_SIZE;
use crate::importer::PageAcceptance;
use crate::importer::ParameterType;
use crate::importer::RelocationRegion;
use crate::memory::Cursor;
use crate::memory::LARGE_PAGE_SIZE;
use crate::memory::Vtl2Memory;
use crate::plan::Built;
use crate::plan::ImagePlan;
use crate::plan::PageData;
use crate::plan::PageRange;
use crate::plan::ParameterArea;
use crate::plan::Step;
use crate::structs::ShimRegion;
use elf_static_loader::elf::ElfMachine;
use elf_static_loader::elf::StaticElfPlan;
use paravisor_layout as abi;

/// Highest GPA (exclusive) a relocatable image may be moved to: 2^48.
pub const RELOCATION_MAXIMUM_GPA: u64 = 1 << 48;

/// The parameter areas at the start of the configuration region: page
/// index, page count, tag and the parameter the host writes at byte 0
/// (docs/algorithms.md §7.1 step 34).
const PARAMETER_AREAS: [(u64, u64, &str, ParameterType); 3] = [
    (
        abi::PARAVISOR_CONFIG_SLIT_PAGE_INDEX,
        abi::PARAVISOR_CONFIG_SLIT_SIZE_PAGES,
        "underhill-slit",
        ParameterType::Slit,
    ),
    (
        abi::PARAVISOR_CONFIG_PPTT_PAGE_INDEX,
        abi::PARAVISOR_CONFIG_PPTT_SIZE_PAGES,
        "underhill-pptt",
        ParameterType::Pptt,
    ),
    (
        abi::PARAVISOR_CONFIG_DEVICE_TREE_PAGE_INDEX,
        abi::PARAVISOR_CONFIG_DEVICE_TREE_SIZE_PAGES,
        "underhill-device-tree",
        ParameterType::DeviceTree,
    ),
];

/// The shim's working areas, placed after the shim parameters on both
/// architectures (x86-64 steps 18–21, AArch64 steps 14–17).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShimAreas {
    /// The configuration (parameter) region.
    pub parameter_region: u64,
    /// Its pages: 106, or 362 with main's expected-page-hashes area
    /// (docs/abi-versions.md §3.3).
    pub parameter_region_pages: u64,
    /// main's expected-page-hashes area inside it (G6), if the profile has it.
    pub page_hashes: Option<abi::PageHashesArea>,
    /// Whether the measured VTL2 config is imported as a whole page (G6).
    pub vtl2_config_as_page: bool,
    /// The boot-shim log buffer.
    pub log_buffer: u64,
    /// The boot-shim heap.
    pub heap: u64,
    /// End of the relocatable part (the page tables follow).
    pub end_of_underhill_mem: u64,
}

impl ShimAreas {
    /// Places the parameter region (sized for the profile), the log buffer
    /// and the heap at `cursor`.
    pub(crate) fn place(cursor: &mut Cursor, facts: &abi::AbiFacts) -> Result<Self, LayoutError> {
        let parameter_region_pages = facts.config_region_page_count();
        let parameter_region = cursor.take_pages(parameter_region_pages, "parameter region")?;
        let log_buffer = cursor.take(abi::SHIM_LOG_BUFFER_SIZE, "log buffer")?;
        let heap = cursor.take(abi::SHIM_HEAP_SIZE, "heap")?;
        Ok(Self {
            parameter_region,
            parameter_region_pages,
            page_hashes: facts.page_hashes,
            vtl2_config_as_page: facts.vtl2_config_with_policy,
            log_buffer,
            heap,
            end_of_underhill_mem: cursor.next(),
        })
    }

    /// The parameter region as the shim parameters describe it.
    pub(crate) fn parameter_region(&self) -> ShimRegion {
        ShimRegion {
            start: self.parameter_region,
            size: self.parameter_region_pages.saturating_mul(PAGE_SIZE),
        }
    }

    /// The log buffer as the shim parameters describe it.
    pub(crate) fn log_buffer(&self) -> ShimRegion {
        ShimRegion {
            start: self.log_buffer,
            size: abi::SHIM_LOG_BUFFER_SIZE,
        }
    }

    /// The heap as the shim parameters describe it.
    pub(crate) fn heap(&self) -> ShimRegion {
        ShimRegion {
            start: self.heap,
            size: abi::SHIM_HEAP_SIZE,
        }
    }

    fn config_page(&self) -> u64 {
        self.parameter_region / PAGE_SIZE
    }

    /// Appends the command-line page, then the log buffer and heap (zero
    /// pages, imported so the shim can use them before it accepts memory):
    /// x86-64 steps 16, 19–20, AArch64 steps 12, 15–16, in that order.
    pub(crate) fn push_command_line_log_and_heap<R: Copy>(
        &self,
        plan: &mut ImagePlan<'_, R>,
        command_line: u64,
    ) -> Result<(), LayoutError> {
        plan.import(
            "underhill-command-line",
            PageRange::one(command_line / PAGE_SIZE),
            PageAcceptance::Exclusive,
            PageData::Built(Built::CommandLine),
        )?;
        plan.import(
            "ohcl-boot-shim-log-buffer",
            PageRange::of_bytes(self.log_buffer, abi::SHIM_LOG_BUFFER_SIZE),
            PageAcceptance::Exclusive,
            PageData::Zeros,
        )?;
        plan.import(
            "ohcl-boot-shim-heap",
            PageRange::of_bytes(self.heap, abi::SHIM_HEAP_SIZE),
            PageAcceptance::Exclusive,
            PageData::Zeros,
        )
    }

    /// Appends the three parameter areas (x86-64 step 34).
    pub(crate) fn push_parameter_areas<R: Copy>(
        &self,
        plan: &mut ImagePlan<'_, R>,
    ) -> Result<(), LayoutError> {
        for (index, count, tag, parameter) in PARAMETER_AREAS {
            plan.push(Step::ParameterArea(ParameterArea {
                tag,
                pages: PageRange {
                    base: self.config_page().wrapping_add(index),
                    count,
                },
                parameter,
            }))?;
        }
        Ok(())
    }

    /// Appends the VTL2 measured config and names the imported-regions page
    /// (x86-64 steps 37–38).
    pub(crate) fn push_vtl2_config<R: Copy>(
        &self,
        plan: &mut ImagePlan<'_, R>,
        vtom_offset_bit: u8,
    ) -> Result<(), LayoutError> {
        plan.structures.vtl2_config = abi::ParavisorMeasuredVtl2Config::new(vtom_offset_bit);
        plan.structures.vtl2_config_as_page = self.vtl2_config_as_page;
        plan.import(
            "underhill-vtl2-measured-config",
            PageRange {
                base: self
                    .config_page()
                    .wrapping_add(abi::PARAVISOR_MEASURED_VTL2_CONFIG_PAGE_INDEX),
                count: abi::PARAVISOR_MEASURED_VTL2_CONFIG_SIZE_PAGES,
            },
            PageAcceptance::Exclusive,
            PageData::Built(Built::MeasuredVtl2Config),
        )?;
        plan.push(Step::ImportedRegionsPage(self.config_page().wrapping_add(
            abi::PARAVISOR_MEASURED_VTL2_CONFIG_ACCEPTED_MEMORY_PAGE_INDEX,
        )))?;
        // main-1488a37b: announce the expected-page-hashes area (G6).
        if let Some(area) = self.page_hashes {
            plan.push(Step::ExpectedPageHashes(PageRange {
                base: self.config_page().wrapping_add(area.page_index),
                count: area.page_count,
            }))?;
        }
        Ok(())
    }
}

/// Whether relocating the image moves the GDTR base (only x86-64 has one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GdtrRelocation {
    /// The GDTR base moves with the image.
    Moves,
    /// There is no GDTR.
    Absent,
}

/// Appends the two relocation records of a relocatable image (x86-64 step
/// 27, AArch64 step 24): VTL2 memory up to `end_of_underhill_mem` (the page
/// tables excluded) may move by multiples of 2 MiB within [default base,
/// 2^48), and the page-table region is rebuilt where it lands.
pub(crate) fn push_relocation<R: Copy>(
    plan: &mut ImagePlan<'_, R>,
    memory: &Vtl2Memory,
    end_of_underhill_mem: u64,
    gdtr: GdtrRelocation,
    page_tables: PageRange,
) -> Result<(), LayoutError> {
    plan.push(Step::RelocationRegion(RelocationRegion {
        gpa: memory.start,
        size_bytes: end_of_underhill_mem.saturating_sub(memory.start),
        alignment: LARGE_PAGE_SIZE,
        minimum_gpa: abi::PARAVISOR_DEFAULT_MEMORY_BASE_ADDRESS,
        maximum_gpa: RELOCATION_MAXIMUM_GPA,
        apply_rip_offset: true,
        apply_gdtr_offset: gdtr == GdtrRelocation::Moves,
        vp_index: 0,
    }))?;
    plan.push(Step::PageTableRelocation {
        gpa: page_tables.base.saturating_mul(PAGE_SIZE),
        size_pages: page_tables.count,
    })
}

/// Appends the boot shim's segments (x86-64 step 12, AArch64 step 11).
pub(crate) fn push_boot_shim<'a, R: Copy>(
    plan: &mut ImagePlan<'a, R>,
    shim: StaticElfPlan<'a>,
) -> Result<(), LayoutError> {
    plan.push(Step::Elf {
        tag: "underhill-boot-shim",
        acceptance: PageAcceptance::Exclusive,
        plan: shim,
    })
}

/// Appends the startup-memory check and the persisted-state region (both
/// architectures' first steps).
pub(crate) fn push_startup<R: Copy>(
    plan: &mut ImagePlan<'_, R>,
    memory: &Vtl2Memory,
) -> Result<(), LayoutError> {
    plan.push(Step::StartupMemory {
        pages: memory.pages(),
        memory_type: memory.startup_type,
    })?;
    plan.push(Step::Unimported {
        region: crate::plan::Unimported::PersistedState,
        pages: PageRange::of_bytes(memory.start, abi::PERSISTED_REGION_SIZE),
    })
}

/// The persisted-state region as the shim parameters describe it.
pub(crate) fn persisted_region(memory: &Vtl2Memory) -> ShimRegion {
    ShimRegion {
        start: memory.start,
        size: abi::PERSISTED_REGION_SIZE,
    }
}

/// A range of guest addresses `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressRange {
    /// First byte.
    pub start: u64,
    /// The byte after the last.
    pub end: u64,
}

/// How an ELF file is placed (the original's `start_address`, `load_offset`
/// and `assume_pic`, named).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ElfPlacement {
    /// Position independent, moved to start at `at`.
    Relocated {
        /// Lowest address.
        at: u64,
    },
    /// At its own addresses plus `load_offset`.
    Offset {
        /// Added to every `p_paddr`.
        load_offset: u64,
    },
}

/// Plans an ELF file.
pub(crate) fn plan_elf(
    elf: &[u8],
    machine: ElfMachine,
    placement: ElfPlacement,
) -> Result<StaticElfPlan<'_>, elf_static_loader::elf::ElfError> {
    match placement {
        ElfPlacement::Relocated { at } => {
            elf_static_loader::elf::plan_static_elf(elf, machine, at, 0, true)
        }
        ElfPlacement::Offset { load_offset } => {
            elf_static_loader::elf::plan_static_elf(elf, machine, 0, load_offset, false)
        }
    }
}

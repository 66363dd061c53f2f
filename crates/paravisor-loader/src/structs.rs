//! Filling the shim-facing structures of `paravisor-layout` (abi.md §2–§3)
//! and the x86-64 GDT (abi.md §4.4).

use crate::error::LayoutError;
use crate::importer::IsolationType;
use crate::importer::PAGE_SIZE;
use crate::inputs::CommandLine;
use crate::inputs::Vtl0Linux;
use crate::inputs::Vtl0Uefi;
use paravisor_layout::CommandLinePolicy;
use paravisor_layout::LinuxInfo;
use paravisor_layout::PageRegionDescriptor;
use paravisor_layout::ParavisorCommandLine;
use paravisor_layout::ParavisorMeasuredVtl0Config;
use paravisor_layout::ParavisorMeasuredVtl2Config;
use paravisor_layout::ShimParamsRaw;
use paravisor_layout::SupportedIsolationType;
use paravisor_layout::UefiInfo;
use vp_regs::x86_64::GdtEntry;

/// GDT index of the 64-bit code segment.
const CODE_INDEX: u16 = 2;
/// GDT index of the data segment.
const DATA_INDEX: u16 = 3;
/// Code selector: index 2, RPL 0 = 0x10.
pub(crate) const CODE_SELECTOR: u16 = CODE_INDEX << 3;
/// Data selector: index 3, RPL 0 = 0x18.
pub(crate) const DATA_SELECTOR: u16 = DATA_INDEX << 3;
/// GDTR limit: 4 entries × 8 bytes − 1.
pub(crate) const GDT_LIMIT: u16 = 4 * 8 - 1;

/// The paravisor's 4-entry GDT: two null entries, 64-bit code (0x10), data
/// (0x18); limit 0xFFFF with the attributes of abi.md §4.2.
pub(crate) fn paravisor_gdt() -> [GdtEntry; 4] {
    let code = GdtEntry::new(
        0,
        0xFFFF,
        vp_regs::x86_64::X64_DEFAULT_CODE_SEGMENT_ATTRIBUTES,
    )
    .unwrap_or(GdtEntry::NULL);
    let data = GdtEntry::new(
        0,
        0xFFFF,
        vp_regs::x86_64::X64_DEFAULT_DATA_SEGMENT_ATTRIBUTES,
    )
    .unwrap_or(GdtEntry::NULL);
    [GdtEntry::NULL, GdtEntry::NULL, code, data]
}

/// The paravisor command line (abi.md §3.2).
pub(crate) fn command_line(
    command_line: &CommandLine<'_>,
) -> Result<ParavisorCommandLine, LayoutError> {
    let (text, policy) = match command_line {
        CommandLine::Static(t) => (t.as_bytes(), CommandLinePolicy::STATIC),
        CommandLine::HostAppendable(t) => (t.as_bytes(), CommandLinePolicy::APPEND_CHOSEN),
    };
    let max = paravisor_layout::COMMAND_LINE_SIZE;
    let too_long = LayoutError::CommandLineTooLong {
        len: text.len(),
        max,
    };
    let mut static_command_line = [0u8; paravisor_layout::COMMAND_LINE_SIZE];
    static_command_line
        .get_mut(..text.len())
        .ok_or(too_long.clone())?
        .copy_from_slice(text);
    Ok(ParavisorCommandLine {
        policy,
        static_command_line_len: u16::try_from(text.len()).map_err(|_| too_long)?,
        static_command_line,
    })
}

/// A measured VTL0 config with only the magic set.
pub(crate) fn measured_vtl0_config_empty() -> ParavisorMeasuredVtl0Config {
    ParavisorMeasuredVtl0Config {
        magic: ParavisorMeasuredVtl0Config::MAGIC,
        supported_vtl0: paravisor_layout::SupportedVtl0LoadInfo::new(),
        uefi_info: UefiInfo {
            firmware: PageRegionDescriptor::EMPTY,
            vtl0_vp_context: PageRegionDescriptor::EMPTY,
        },
        linux_info: LinuxInfo {
            kernel_region: PageRegionDescriptor::EMPTY,
            kernel_entrypoint: 0,
            initrd_region: PageRegionDescriptor::EMPTY,
            initrd_size: 0,
            command_line: PageRegionDescriptor::EMPTY,
        },
    }
}

pub(crate) fn set_pcat(config: &mut ParavisorMeasuredVtl0Config, pcat: bool) {
    if pcat {
        config.supported_vtl0.set_pcat_supported(true);
    }
}

pub(crate) fn set_uefi(
    config: &mut ParavisorMeasuredVtl0Config,
    uefi: &Vtl0Uefi<'_>,
    vp_page: u64,
) {
    config.supported_vtl0.set_uefi_supported(true);
    config.uefi_info = UefiInfo {
        firmware: PageRegionDescriptor {
            base_page_number: uefi.firmware_base / PAGE_SIZE,
            page_count: uefi.total_size / PAGE_SIZE,
        },
        vtl0_vp_context: PageRegionDescriptor {
            base_page_number: vp_page,
            page_count: 1,
        },
    };
}

/// `ceil(size / 4096)` without overflow (= align_up_to_page_size(size) /
/// 4096 wherever the original does not overflow).
fn page_count(size: u64, what: &'static str) -> Result<u64, LayoutError> {
    size.checked_add(PAGE_SIZE - 1)
        .map(|s| s / PAGE_SIZE)
        .ok_or(LayoutError::AddressOverflow { what, at: size })
}

pub(crate) fn set_linux(
    config: &mut ParavisorMeasuredVtl0Config,
    linux: &Vtl0Linux<'_>,
    command_line_page: u64,
) -> Result<(), LayoutError> {
    config.supported_vtl0.set_linux_direct_supported(true);
    let (initrd_region, initrd_size) = match &linux.initrd {
        Some(initrd) => (
            PageRegionDescriptor {
                base_page_number: initrd.gpa / PAGE_SIZE,
                page_count: page_count(initrd.size, "VTL0 initrd")?,
            },
            initrd.size,
        ),
        None => (PageRegionDescriptor::EMPTY, 0),
    };
    config.linux_info = LinuxInfo {
        kernel_region: PageRegionDescriptor {
            base_page_number: linux.kernel.gpa / PAGE_SIZE,
            page_count: page_count(linux.kernel.size, "VTL0 kernel")?,
        },
        kernel_entrypoint: linux.kernel_entrypoint,
        initrd_region,
        initrd_size,
        command_line: PageRegionDescriptor {
            base_page_number: command_line_page,
            page_count: 1,
        },
    };
    Ok(())
}

pub(crate) fn measured_vtl2_config(vtom_offset_bit: u8) -> ParavisorMeasuredVtl2Config {
    ParavisorMeasuredVtl2Config {
        magic: ParavisorMeasuredVtl2Config::MAGIC,
        vtom_offset_bit,
        padding: [0; 7],
    }
}

/// What the shim parameters are computed from.
pub(crate) struct ShimParamsInput {
    pub(crate) shim_base: u64,
    pub(crate) kernel_entry: u64,
    pub(crate) command_line: u64,
    pub(crate) initrd: u64,
    pub(crate) initrd_size: u64,
    pub(crate) initrd_crc: u32,
    pub(crate) isolation: IsolationType,
    pub(crate) memory_start: u64,
    pub(crate) memory_size: u64,
    pub(crate) parameter_region: u64,
    /// (start, size); None on AArch64 (both 0).
    pub(crate) reserved_region: Option<(u64, u64)>,
    /// (base, size, entry); None on AArch64 (all 0).
    pub(crate) sidecar: Option<(u64, u64, u64)>,
    pub(crate) used_end: u64,
    /// (start, size) on SNP/TDX.
    pub(crate) bounce_buffer: Option<(u64, u64)>,
    /// (start, region size) on x86-64; None on AArch64 (both 0).
    pub(crate) page_tables: Option<(u64, u64)>,
    pub(crate) log_buffer: u64,
    pub(crate) heap: u64,
}

/// The shim parameters (abi.md §2): offsets relative to the shim base,
/// computed wrapping and reinterpreted as i64 (algorithms.md §1.4).
pub(crate) fn shim_params(p: ShimParamsInput) -> ShimParamsRaw {
    let off = |addr: u64| addr.wrapping_sub(p.shim_base) as i64;
    let supported_isolation_type = match p.isolation {
        IsolationType::None | IsolationType::Vbs => SupportedIsolationType::VBS,
        IsolationType::Snp => SupportedIsolationType::SNP,
        IsolationType::Tdx => SupportedIsolationType::TDX,
    };
    let (reserved_offset, reserved_size) = match p.reserved_region {
        Some((start, size)) => (off(start), size),
        None => (0, 0),
    };
    let (sidecar_offset, sidecar_size, sidecar_entry_offset) = match p.sidecar {
        Some((base, size, entry)) => (off(base), size, off(entry)),
        None => (0, 0, 0),
    };
    let (bounce_buffer_start, bounce_buffer_size) = match p.bounce_buffer {
        Some((start, size)) => (off(start), size),
        None => (0, 0),
    };
    let (page_tables_start, page_tables_size) = match p.page_tables {
        Some((start, size)) => (off(start), size),
        None => (0, 0),
    };
    ShimParamsRaw {
        kernel_entry_offset: off(p.kernel_entry),
        cmdline_offset: off(p.command_line),
        initrd_offset: off(p.initrd),
        initrd_size: p.initrd_size,
        initrd_crc: p.initrd_crc,
        supported_isolation_type,
        memory_start_offset: off(p.memory_start),
        memory_size: p.memory_size,
        parameter_region_offset: off(p.parameter_region),
        parameter_region_size: crate::layout::PARAMETER_REGION_SIZE,
        vtl2_reserved_region_offset: reserved_offset,
        vtl2_reserved_region_size: reserved_size,
        sidecar_offset,
        sidecar_size,
        sidecar_entry_offset,
        used_start: off(p.memory_start),
        used_end: off(p.used_end),
        bounce_buffer_start,
        bounce_buffer_size,
        page_tables_start,
        page_tables_size,
        log_buffer_start: off(p.log_buffer),
        log_buffer_size: crate::x64::LOG_BUFFER_SIZE,
        heap_start_offset: off(p.heap),
        heap_size: crate::x64::HEAP_SIZE,
        persisted_state_region_offset: off(p.memory_start),
        persisted_state_region_size: crate::x64::PERSISTED_REGION_SIZE,
    }
}

//! Filling the shim-facing structures of `paravisor-layout` (docs/abi.md
//! §2–§3). The x86-64 GDT and register values come from
//! `vp_regs::x86_64::paravisor`, the sizes from `paravisor-layout`.

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
use paravisor_layout::ShimParamsRaw;
use paravisor_layout::SupportedIsolationType;
use paravisor_layout::UefiInfo;

/// The paravisor command line (docs/abi.md §3.2).
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

/// The paravisor command-line page (docs/abi.md §3.2) written into `page`.
pub(crate) fn command_line_page(
    command_line: &CommandLine<'_>,
    page: &mut [u8; PAGE_SIZE as usize],
) -> Result<(), LayoutError> {
    let built = self::command_line(command_line)?;
    let bytes = zerocopy::IntoBytes::as_bytes(&built);
    if let Some(dst) = page.get_mut(..bytes.len()) {
        dst.copy_from_slice(bytes);
    }
    Ok(())
}

/// A measured VTL0 config with only the magic set.
pub(crate) const fn measured_vtl0_config_empty() -> ParavisorMeasuredVtl0Config {
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

/// A region the shim parameters describe: its first byte and its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ShimRegion {
    pub(crate) start: u64,
    pub(crate) size: u64,
}

/// The sidecar as the shim parameters describe it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ShimSidecar {
    pub(crate) base: u64,
    pub(crate) size: u64,
    pub(crate) entry: u64,
}

/// What the shim parameters are computed from. Regions an architecture
/// does not have are `None` (offset and size 0).
pub(crate) struct ShimParamsInput {
    pub(crate) shim_base: u64,
    pub(crate) kernel_entry: u64,
    pub(crate) command_line: u64,
    pub(crate) initrd: ShimRegion,
    pub(crate) initrd_crc: u32,
    pub(crate) isolation: IsolationType,
    pub(crate) memory: ShimRegion,
    pub(crate) parameter_region: ShimRegion,
    /// x86-64 only.
    pub(crate) reserved_region: Option<ShimRegion>,
    /// x86-64 only (base = the shim's load offset, size 0 when absent).
    pub(crate) sidecar: Option<ShimSidecar>,
    pub(crate) used_end: u64,
    /// SNP and TDX only.
    pub(crate) bounce_buffer: Option<ShimRegion>,
    /// x86-64 only (start, region size).
    pub(crate) page_tables: Option<ShimRegion>,
    pub(crate) log_buffer: ShimRegion,
    pub(crate) heap: ShimRegion,
    pub(crate) persisted_region: ShimRegion,
}

/// Shim parameters with every field 0 (replaced while planning).
pub(crate) const EMPTY_SHIM_PARAMS: ShimParamsRaw = ShimParamsRaw {
    kernel_entry_offset: 0,
    cmdline_offset: 0,
    initrd_offset: 0,
    initrd_size: 0,
    initrd_crc: 0,
    supported_isolation_type: SupportedIsolationType(0),
    memory_start_offset: 0,
    memory_size: 0,
    parameter_region_offset: 0,
    parameter_region_size: 0,
    vtl2_reserved_region_offset: 0,
    vtl2_reserved_region_size: 0,
    sidecar_offset: 0,
    sidecar_size: 0,
    sidecar_entry_offset: 0,
    used_start: 0,
    used_end: 0,
    bounce_buffer_start: 0,
    bounce_buffer_size: 0,
    page_tables_start: 0,
    page_tables_size: 0,
    log_buffer_start: 0,
    log_buffer_size: 0,
    heap_start_offset: 0,
    heap_size: 0,
    persisted_state_region_offset: 0,
    persisted_state_region_size: 0,
};

/// The shim parameters (docs/abi.md §2): offsets relative to the shim
/// base, computed wrapping and reinterpreted as i64 (docs/algorithms.md
/// §1.4).
pub(crate) fn shim_params(p: ShimParamsInput) -> ShimParamsRaw {
    let off = |addr: u64| addr.wrapping_sub(p.shim_base) as i64;
    let region = |r: Option<ShimRegion>| r.map_or((0, 0), |r| (off(r.start), r.size));
    let supported_isolation_type = match p.isolation {
        IsolationType::None | IsolationType::Vbs => SupportedIsolationType::VBS,
        IsolationType::Snp => SupportedIsolationType::SNP,
        IsolationType::Tdx => SupportedIsolationType::TDX,
    };
    let (reserved_offset, reserved_size) = region(p.reserved_region);
    let (sidecar_offset, sidecar_size, sidecar_entry_offset) = match p.sidecar {
        Some(s) => (off(s.base), s.size, off(s.entry)),
        None => (0, 0, 0),
    };
    let (bounce_buffer_start, bounce_buffer_size) = region(p.bounce_buffer);
    let (page_tables_start, page_tables_size) = region(p.page_tables);
    ShimParamsRaw {
        kernel_entry_offset: off(p.kernel_entry),
        cmdline_offset: off(p.command_line),
        initrd_offset: off(p.initrd.start),
        initrd_size: p.initrd.size,
        initrd_crc: p.initrd_crc,
        supported_isolation_type,
        memory_start_offset: off(p.memory.start),
        memory_size: p.memory.size,
        parameter_region_offset: off(p.parameter_region.start),
        parameter_region_size: p.parameter_region.size,
        vtl2_reserved_region_offset: reserved_offset,
        vtl2_reserved_region_size: reserved_size,
        sidecar_offset,
        sidecar_size,
        sidecar_entry_offset,
        used_start: off(p.memory.start),
        used_end: off(p.used_end),
        bounce_buffer_start,
        bounce_buffer_size,
        page_tables_start,
        page_tables_size,
        log_buffer_start: off(p.log_buffer.start),
        log_buffer_size: p.log_buffer.size,
        heap_start_offset: off(p.heap.start),
        heap_size: p.heap.size,
        persisted_state_region_offset: off(p.persisted_region.start),
        persisted_state_region_size: p.persisted_region.size,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_page_holds_policy_length_and_text() {
        // docs/worked-example.md §6.
        let mut page = [0xAA; PAGE_SIZE as usize];
        command_line_page(&CommandLine::Static("console=ttyS0"), &mut page).unwrap();
        assert_eq!(&page[..4], &[0, 0, 0x0D, 0]);
        assert_eq!(&page[4..17], b"console=ttyS0");
        let mut page = [0; PAGE_SIZE as usize];
        command_line_page(&CommandLine::HostAppendable(""), &mut page).unwrap();
        assert_eq!(&page[..4], &[1, 0, 0, 0]);
    }
}

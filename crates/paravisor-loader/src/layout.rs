//! Layout pieces shared by both architectures: VTL2 memory, checked address
//! arithmetic, the command-line page, the VTL0 measured configuration, the
//! parameter region.

use crate::error::LayoutError;
use crate::importer::PAGE_SIZE;
use crate::importer::PageAcceptance;
use crate::importer::PageTableRelocation;
use crate::importer::ParameterType;
use crate::importer::ParavisorImporter;
use crate::importer::RelocationRegion;
use crate::importer::StartupMemoryType;
use crate::inputs::CommandLine;
use crate::inputs::Vtl0Config;
use crate::overlap::FixedImports;
use crate::structs;
use paravisor_layout::ParavisorMeasuredVtl0Config;
use zerocopy::IntoBytes;

/// 2 MiB: the alignment of VTL2 memory and of its relocation.
pub(crate) const LARGE_PAGE: u64 = 0x20_0000;

/// Highest GPA (exclusive) a relocatable image may be moved to: 2^48.
pub const RELOCATION_MAXIMUM_GPA: u64 = 1 << 48;

/// Size of the parameter region (106 pages).
pub const PARAMETER_REGION_SIZE: u64 =
    paravisor_layout::PARAVISOR_VTL2_CONFIG_REGION_PAGE_COUNT_MAX * PAGE_SIZE;
/// Page index of the VTL2 measured config in the parameter region (105).
pub const MEASURED_VTL2_CONFIG_PAGE_INDEX: u64 =
    paravisor_layout::PARAVISOR_MEASURED_VTL2_CONFIG_PAGE_INDEX;
/// Page index of the imported-regions page in the parameter region (104).
pub const IMPORTED_REGIONS_PAGE_INDEX: u64 =
    paravisor_layout::PARAVISOR_MEASURED_VTL2_CONFIG_ACCEPTED_MEMORY_PAGE_INDEX;

/// Checked `a + b` while placing `what`.
pub(crate) fn add(a: u64, b: u64, what: &'static str) -> Result<u64, LayoutError> {
    a.checked_add(b)
        .ok_or(LayoutError::AddressOverflow { what, at: a })
}

/// `pages × 4096`, checked.
pub(crate) fn pages(count: u64, what: &'static str) -> Result<u64, LayoutError> {
    count
        .checked_mul(PAGE_SIZE)
        .ok_or(LayoutError::AddressOverflow { what, at: count })
}

/// `a` rounded up to a multiple of `align` (a power of two), checked.
pub(crate) fn align_up(a: u64, align: u64, what: &'static str) -> Result<u64, LayoutError> {
    let mask = align.wrapping_sub(1);
    a.checked_add(mask)
        .map(|v| v & !mask)
        .ok_or(LayoutError::AddressOverflow { what, at: a })
}

/// VTL2 memory: where it is and how the startup-memory check names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vtl2Memory {
    /// First byte.
    pub start: u64,
    /// Size in bytes.
    pub size: u64,
    /// Size in pages.
    pub page_count: u64,
    /// Ram or Vtl2ProtectableRam (paravisor present).
    pub startup_type: StartupMemoryType,
}

impl Vtl2Memory {
    /// Computes and checks VTL2 memory (algorithms.md §7.1 steps 2–3, §8
    /// steps 4–5): the start defaults to 128 MiB; start and size must be
    /// 2 MiB aligned; the range must fit in 64 bits.
    pub fn new(
        page_base: Option<u64>,
        page_count: u64,
        paravisor_present: bool,
    ) -> Result<Self, LayoutError> {
        let start = match page_base {
            Some(page_base) => page_base
                .checked_mul(PAGE_SIZE)
                .ok_or(LayoutError::MemoryBaseOverflow { page_base })?,
            None => paravisor_layout::PARAVISOR_DEFAULT_MEMORY_BASE_ADDRESS,
        };
        let size = page_count
            .checked_mul(PAGE_SIZE)
            .filter(|size| start.checked_add(*size).is_some())
            .ok_or(LayoutError::MemorySizeOverflow { start, page_count })?;
        if start % LARGE_PAGE != 0 {
            return Err(LayoutError::MemoryUnaligned {
                what: "start",
                value: start,
            });
        }
        if size % LARGE_PAGE != 0 {
            return Err(LayoutError::MemoryUnaligned {
                what: "size",
                value: size,
            });
        }
        Ok(Self {
            start,
            size,
            page_count,
            startup_type: if paravisor_present {
                StartupMemoryType::Vtl2ProtectableRam
            } else {
                StartupMemoryType::Ram
            },
        })
    }

    /// The end of VTL2 memory (checked to fit at construction).
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.size)
    }

    /// `NotEnoughMemory` unless everything up to `used_end` fits.
    pub fn check_fits(&self, used_end: u64) -> Result<(), LayoutError> {
        if used_end > self.end() {
            return Err(LayoutError::NotEnoughMemory {
                required: used_end.saturating_sub(self.start),
                end: used_end,
                available: self.size,
            });
        }
        Ok(())
    }
}

/// The paravisor command-line page (abi.md §3.2): policy, length, text.
pub(crate) fn command_line_page(
    command_line: &CommandLine<'_>,
) -> Result<[u8; PAGE_SIZE as usize], LayoutError> {
    let page = structs::command_line(command_line)?;
    let mut out = [0u8; PAGE_SIZE as usize];
    let bytes = page.as_bytes();
    if let Some(dst) = out.get_mut(..bytes.len()) {
        dst.copy_from_slice(bytes);
    }
    Ok(out)
}

/// Most bytes of a VTL0 Linux command line (its page holds it and a NUL).
pub const VTL0_COMMAND_LINE_MAX: usize = PAGE_SIZE as usize - 1;

/// The VTL0 measured configuration and the pages that go with it, planned.
#[derive(Debug, Clone, Copy)]
pub struct PlannedVtl0 {
    /// Page of the measured config (0 on x86-64, 0x1000 on AArch64).
    pub config_page: u64,
    /// The measured configuration.
    pub config: ParavisorMeasuredVtl0Config,
    /// UEFI VP-context page and length.
    pub uefi_vp_context_page: Option<u64>,
    /// VTL0 Linux command-line page.
    pub linux_command_line_page: Option<u64>,
    uefi_vp_context: [u8; PAGE_SIZE as usize],
    uefi_vp_context_len: usize,
    linux_command_line: [u8; PAGE_SIZE as usize],
    linux_command_line_len: usize,
}

/// Plans the VTL0 measured configuration at `config_page` (algorithms.md
/// §7.1 step 36, §8 step 22). `record_linux` is false on AArch64, where the
/// original ignores Linux direct boot.
pub(crate) fn plan_vtl0(
    vtl0: &Vtl0Config<'_>,
    config_page: u64,
    record_linux: bool,
) -> Result<PlannedVtl0, LayoutError> {
    let mut planned = PlannedVtl0 {
        config_page,
        config: structs::measured_vtl0_config_empty(),
        uefi_vp_context_page: None,
        linux_command_line_page: None,
        uefi_vp_context: [0; PAGE_SIZE as usize],
        uefi_vp_context_len: 0,
        linux_command_line: [0; PAGE_SIZE as usize],
        linux_command_line_len: 0,
    };
    let mut free_page = add(config_page, 1, "VTL0 configuration")?;
    structs::set_pcat(&mut planned.config, vtl0.pcat);
    if let Some(uefi) = &vtl0.uefi {
        let len = uefi.vp_context.len();
        let dst =
            planned
                .uefi_vp_context
                .get_mut(..len)
                .ok_or(LayoutError::UefiVpContextTooLarge {
                    len,
                    max: PAGE_SIZE as usize,
                })?;
        dst.copy_from_slice(uefi.vp_context);
        planned.uefi_vp_context_len = len;
        let vp_page = free_page;
        free_page = add(free_page, 1, "VTL0 configuration")?;
        planned.uefi_vp_context_page = Some(vp_page);
        structs::set_uefi(&mut planned.config, uefi, vp_page);
    }
    if let (true, Some(linux)) = (record_linux, &vtl0.linux) {
        if let Some(offset) = linux.command_line.iter().position(|&b| b == 0) {
            return Err(LayoutError::Vtl0CommandLineNul { offset });
        }
        let len = linux.command_line.len();
        if len > VTL0_COMMAND_LINE_MAX {
            return Err(LayoutError::Vtl0CommandLineTooLong {
                len,
                max: VTL0_COMMAND_LINE_MAX,
            });
        }
        if let Some(initrd) = linux.initrd.filter(|i| !i.gpa.is_multiple_of(PAGE_SIZE)) {
            return Err(LayoutError::Vtl0InitrdUnaligned { gpa: initrd.gpa });
        }
        if let Some(dst) = planned.linux_command_line.get_mut(..len) {
            dst.copy_from_slice(linux.command_line);
        }
        // The NUL: the buffer is zeroed, so it is already there.
        planned.linux_command_line_len = len.saturating_add(1);
        planned.linux_command_line_page = Some(free_page);
        structs::set_linux(&mut planned.config, linux, free_page)?;
    }
    Ok(planned)
}

impl PlannedVtl0 {
    /// Adds the VTL0 imports to the overlap check.
    pub(crate) fn push_imports(&self, fixed: &mut FixedImports) {
        if let Some(page) = self.uefi_vp_context_page {
            fixed.push("openhcl-uefi-vp-context", page, 1);
        }
        if let Some(page) = self.linux_command_line_page {
            fixed.push("underhill-vtl0-linux-command-line", page, 1);
        }
        fixed.push("underhill-measured-config", self.config_page, 1);
    }

    /// The UEFI VP-context bytes.
    pub fn uefi_vp_context(&self) -> &[u8] {
        self.uefi_vp_context
            .get(..self.uefi_vp_context_len)
            .unwrap_or(&[])
    }

    /// The VTL0 Linux command line with its NUL.
    pub fn linux_command_line(&self) -> &[u8] {
        self.linux_command_line
            .get(..self.linux_command_line_len)
            .unwrap_or(&[])
    }

    /// Imports the VP context, the command line and the measured config, in
    /// the original's order.
    pub(crate) fn import<R, I: ParavisorImporter<R>>(
        &self,
        importer: &mut I,
    ) -> Result<(), I::Error> {
        if let Some(page) = self.uefi_vp_context_page {
            importer.import_pages(
                page,
                1,
                "openhcl-uefi-vp-context",
                PageAcceptance::Exclusive,
                self.uefi_vp_context(),
            )?;
        }
        if let Some(page) = self.linux_command_line_page {
            importer.import_pages(
                page,
                1,
                "underhill-vtl0-linux-command-line",
                PageAcceptance::Exclusive,
                self.linux_command_line(),
            )?;
        }
        importer.import_pages(
            self.config_page,
            1,
            "underhill-measured-config",
            PageAcceptance::Exclusive,
            self.config.as_bytes(),
        )
    }
}

/// Imports the shim's command-line page, then its log buffer and heap (zero
/// pages, imported so the shim can use them before it accepts memory):
/// algorithms.md §7.1 steps 16, 19–20 and §8 steps 12, 15–16, in that order
/// on both architectures.
pub(crate) fn import_command_line_log_and_heap<R, I: ParavisorImporter<R>>(
    importer: &mut I,
    command_line: u64,
    command_line_page: &[u8],
    log_buffer: u64,
    heap: u64,
) -> Result<(), I::Error> {
    importer.import_pages(
        command_line / PAGE_SIZE,
        1,
        "underhill-command-line",
        PageAcceptance::Exclusive,
        command_line_page,
    )?;
    importer.import_pages(
        log_buffer / PAGE_SIZE,
        paravisor_layout::SHIM_LOG_BUFFER_PAGE_COUNT,
        "ohcl-boot-shim-log-buffer",
        PageAcceptance::Exclusive,
        &[],
    )?;
    importer.import_pages(
        heap / PAGE_SIZE,
        paravisor_layout::SHIM_HEAP_PAGE_COUNT,
        "ohcl-boot-shim-heap",
        PageAcceptance::Exclusive,
        &[],
    )
}

/// The two relocation records of a relocatable image (algorithms.md §7.1
/// step 27, §8 step 24): VTL2 memory up to `end_of_underhill_mem` (the page
/// tables excluded) may move by multiples of 2 MiB within
/// [default base, 2^48), and the page-table region is rebuilt where it lands.
/// Only x86-64 has a GDTR to move.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RelocationRecords {
    pub(crate) memory_start: u64,
    pub(crate) end_of_underhill_mem: u64,
    pub(crate) apply_gdtr_offset: bool,
    pub(crate) page_tables: u64,
    pub(crate) page_table_pages: u64,
    pub(crate) used_page_table_pages: u64,
}

impl RelocationRecords {
    /// Hands both records to the importer.
    pub(crate) fn import<R, I: ParavisorImporter<R>>(
        &self,
        importer: &mut I,
    ) -> Result<(), I::Error> {
        importer.relocation_region(RelocationRegion {
            gpa: self.memory_start,
            size_bytes: self.end_of_underhill_mem.saturating_sub(self.memory_start),
            alignment: LARGE_PAGE,
            minimum_gpa: paravisor_layout::PARAVISOR_DEFAULT_MEMORY_BASE_ADDRESS,
            maximum_gpa: RELOCATION_MAXIMUM_GPA,
            apply_rip_offset: true,
            apply_gdtr_offset: self.apply_gdtr_offset,
            vp_index: 0,
        })?;
        importer.page_table_relocation(PageTableRelocation {
            gpa: self.page_tables,
            size_pages: self.page_table_pages,
            used_pages: self.used_page_table_pages,
            vp_index: 0,
        })
    }
}

/// Creates the three parameter areas of the parameter region starting at
/// page `config_page` (algorithms.md §7.1 step 34).
pub(crate) fn import_parameter_areas<R, I: ParavisorImporter<R>>(
    importer: &mut I,
    config_page: u64,
) -> Result<(), I::Error> {
    use paravisor_layout as l;
    let areas = [
        (
            l::PARAVISOR_CONFIG_SLIT_PAGE_INDEX,
            l::PARAVISOR_CONFIG_SLIT_SIZE_PAGES,
            "underhill-slit",
            ParameterType::Slit,
        ),
        (
            l::PARAVISOR_CONFIG_PPTT_PAGE_INDEX,
            l::PARAVISOR_CONFIG_PPTT_SIZE_PAGES,
            "underhill-pptt",
            ParameterType::Pptt,
        ),
        (
            l::PARAVISOR_CONFIG_DEVICE_TREE_PAGE_INDEX,
            l::PARAVISOR_CONFIG_DEVICE_TREE_SIZE_PAGES,
            "underhill-device-tree",
            ParameterType::DeviceTree,
        ),
    ];
    for (index, count, tag, parameter) in areas {
        let area = importer.create_parameter_area(
            config_page.wrapping_add(index),
            u32::try_from(count).unwrap_or(u32::MAX),
            tag,
        )?;
        importer.import_parameter(area, 0, parameter)?;
    }
    Ok(())
}

/// Imports the VTL2 measured config and names the imported-regions page
/// (algorithms.md §7.1 steps 37–38).
pub(crate) fn import_vtl2_config<R, I: ParavisorImporter<R>>(
    importer: &mut I,
    config_page: u64,
    vtl2_config: &[u8],
) -> Result<(), I::Error> {
    importer.import_pages(
        config_page.wrapping_add(MEASURED_VTL2_CONFIG_PAGE_INDEX),
        paravisor_layout::PARAVISOR_MEASURED_VTL2_CONFIG_SIZE_PAGES,
        "underhill-vtl2-measured-config",
        PageAcceptance::Exclusive,
        vtl2_config,
    )?;
    importer
        .set_imported_regions_config_page(config_page.wrapping_add(IMPORTED_REGIONS_PAGE_INDEX));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::Vtl0Linux;
    use crate::inputs::Vtl0Region;
    use crate::inputs::Vtl0Uefi;

    #[test]
    fn vtl2_memory_defaults_to_128_mib_and_checks_alignment() {
        // abi.md §1.2: PARAVISOR_DEFAULT_MEMORY_BASE_ADDRESS = 0x0800_0000.
        let m = Vtl2Memory::new(None, 0x4000, true).unwrap();
        assert_eq!(
            (m.start, m.size, m.end()),
            (0x0800_0000, 0x0400_0000, 0x0C00_0000)
        );
        assert_eq!(m.startup_type, StartupMemoryType::Vtl2ProtectableRam);
        assert_eq!(
            Vtl2Memory::new(None, 0x4000, false).unwrap().startup_type,
            StartupMemoryType::Ram
        );
        assert_eq!(
            Vtl2Memory::new(Some(0x100), 0x200, true),
            Err(LayoutError::MemoryUnaligned {
                what: "start",
                value: 0x10_0000
            })
        );
        assert!(m.check_fits(0x0C00_0000).is_ok());
        assert!(matches!(
            m.check_fits(0x0C00_1000),
            Err(LayoutError::NotEnoughMemory {
                required: 0x0400_1000,
                ..
            })
        ));
    }

    #[test]
    fn vtl0_pages_follow_the_original_free_page_order() {
        // worked-example.md §9: UEFI VP context at page 1, the Linux command
        // line at page 2 when UEFI is also given (1 otherwise).
        let vp = [7u8; 16];
        let linux = Vtl0Linux {
            command_line: b"root=/dev/sda",
            kernel: Vtl0Region {
                gpa: 0x20_0000,
                size: 0x1234,
            },
            kernel_entrypoint: 0x20_0100,
            initrd: Some(Vtl0Region {
                gpa: 0x80_0000,
                size: 0x2001,
            }),
        };
        let uefi = Vtl0Uefi {
            firmware_base: 0,
            total_size: 0x83_0000,
            vp_context: &vp,
        };
        let both = Vtl0Config {
            pcat: true,
            uefi: Some(uefi),
            linux: Some(linux),
        };
        let p = plan_vtl0(&both, 0, true).unwrap();
        assert_eq!(
            (p.uefi_vp_context_page, p.linux_command_line_page),
            (Some(1), Some(2))
        );
        assert_eq!(p.linux_command_line(), b"root=/dev/sda\0");
        let bytes = p.config.as_bytes();
        assert_eq!(bytes.len(), 112);
        assert_eq!(bytes[8], 0x07); // UEFI | PCAT | Linux
        let only_linux = Vtl0Config {
            linux: Some(linux),
            ..Vtl0Config::default()
        };
        let p = plan_vtl0(&only_linux, 0, true).unwrap();
        assert_eq!(p.linux_command_line_page, Some(1));
        // §9 variation: linux_info = {kernel {0x200, 2}, entry 0x20_0100,
        // initrd {0x800, 3}, size 0x2001, cmdline {1, 1}} at bytes 48..=111.
        let b = p.config.as_bytes();
        let word = |i: usize| u64::from_le_bytes(b[48 + 8 * i..56 + 8 * i].try_into().unwrap());
        let words: [u64; 8] = core::array::from_fn(word);
        assert_eq!(words, [0x200, 2, 0x20_0100, 0x800, 3, 0x2001, 1, 1]);
        // AArch64 ignores Linux (no bit 2, no command-line page).
        let p = plan_vtl0(&only_linux, 0x1000, false).unwrap();
        assert_eq!(p.linux_command_line_page, None);
        assert_eq!(p.config.as_bytes()[8], 0);
    }

    #[test]
    fn command_line_page_holds_policy_length_and_text() {
        // worked-example.md §6.
        let page = command_line_page(&CommandLine::Static("console=ttyS0")).unwrap();
        assert_eq!(&page[..4], &[0, 0, 0x0D, 0]);
        assert_eq!(&page[4..17], b"console=ttyS0");
        let page = command_line_page(&CommandLine::HostAppendable("")).unwrap();
        assert_eq!(&page[..4], &[1, 0, 0, 0]);
    }
}

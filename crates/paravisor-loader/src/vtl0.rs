//! The VTL0 measured configuration and the pages that go with it
//! (docs/algorithms.md §7.1 step 36, §8 step 22).

use crate::error::LayoutError;
use crate::importer::PAGE_SIZE;
use crate::importer::PageAcceptance;
use crate::inputs::Vtl0Config;
use crate::plan::Built;
use crate::plan::ImagePlan;
use crate::plan::PageData;
use crate::plan::PageRange;
use crate::structs;
use paravisor_layout::ParavisorMeasuredVtl0Config;

/// Most bytes of a VTL0 Linux command line (its page holds it and a NUL).
pub const VTL0_COMMAND_LINE_MAX: usize = PAGE_SIZE as usize - 1;

/// Whether the measured configuration records VTL0 Linux direct boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinuxDirectBoot {
    /// Recorded, with a command-line page (x86-64).
    Recorded,
    /// Ignored, as the original does on AArch64.
    Ignored,
}

/// The VTL0 measured configuration and the pages that go with it, planned.
#[derive(Debug, Clone, Copy)]
pub struct PlannedVtl0<'a> {
    /// Page of the measured config (0 on x86-64, 0x1000 on AArch64).
    pub config_page: u64,
    /// The measured configuration.
    pub config: ParavisorMeasuredVtl0Config,
    /// UEFI VP-context page.
    pub uefi_vp_context_page: Option<u64>,
    /// The UEFI VP-context bytes (at most one page).
    pub uefi_vp_context: &'a [u8],
    /// VTL0 Linux command-line page.
    pub linux_command_line_page: Option<u64>,
    /// The VTL0 Linux command line, without its NUL (at most
    /// [`VTL0_COMMAND_LINE_MAX`] bytes).
    pub linux_command_line: Option<&'a [u8]>,
}

/// Plans the VTL0 measured configuration at `config_page`.
pub(crate) fn plan_vtl0<'a>(
    vtl0: &Vtl0Config<'a>,
    config_page: u64,
    linux_direct_boot: LinuxDirectBoot,
) -> Result<PlannedVtl0<'a>, LayoutError> {
    let mut planned = PlannedVtl0 {
        config_page,
        config: structs::measured_vtl0_config_empty(),
        uefi_vp_context_page: None,
        uefi_vp_context: &[],
        linux_command_line_page: None,
        linux_command_line: None,
    };
    let mut free_page = crate::memory::Cursor::at(config_page);
    free_page.take(1, "VTL0 configuration")?;
    structs::set_pcat(&mut planned.config, vtl0.pcat);
    if let Some(uefi) = &vtl0.uefi {
        let len = uefi.vp_context.len();
        if len > PAGE_SIZE as usize {
            return Err(LayoutError::UefiVpContextTooLarge {
                len,
                max: PAGE_SIZE as usize,
            });
        }
        planned.uefi_vp_context = uefi.vp_context;
        let vp_page = free_page.take(1, "VTL0 configuration")?;
        planned.uefi_vp_context_page = Some(vp_page);
        structs::set_uefi(&mut planned.config, uefi, vp_page);
    }
    if let (LinuxDirectBoot::Recorded, Some(linux)) = (linux_direct_boot, &vtl0.linux) {
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
        let page = free_page.next();
        planned.linux_command_line = Some(linux.command_line);
        planned.linux_command_line_page = Some(page);
        structs::set_linux(&mut planned.config, linux, page)?;
    }
    Ok(planned)
}

impl<'a> PlannedVtl0<'a> {
    /// Appends the VP context, the command line and the measured config, in
    /// the original's order, and stores the structures they import.
    pub(crate) fn push<R: Copy>(&self, plan: &mut ImagePlan<'a, R>) -> Result<(), LayoutError> {
        plan.structures.vtl0_config = self.config;
        if let Some(page) = self.uefi_vp_context_page {
            plan.import(
                "openhcl-uefi-vp-context",
                PageRange::one(page),
                PageAcceptance::Exclusive,
                PageData::Input(self.uefi_vp_context),
            )?;
        }
        if let (Some(page), Some(text)) = (self.linux_command_line_page, self.linux_command_line) {
            plan.structures.set_vtl0_linux_command_line(text);
            plan.import(
                "underhill-vtl0-linux-command-line",
                PageRange::one(page),
                PageAcceptance::Exclusive,
                PageData::Built(Built::Vtl0LinuxCommandLine),
            )?;
        }
        plan.import(
            "underhill-measured-config",
            PageRange::one(self.config_page),
            PageAcceptance::Exclusive,
            PageData::Built(Built::MeasuredVtl0Config),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::Vtl0Linux;
    use crate::inputs::Vtl0Region;
    use crate::inputs::Vtl0Uefi;
    use zerocopy::IntoBytes;

    #[test]
    fn vtl0_pages_follow_the_original_free_page_order() {
        // docs/worked-example.md §9: UEFI VP context at page 1, the Linux command
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
        let p = plan_vtl0(&both, 0, LinuxDirectBoot::Recorded).unwrap();
        assert_eq!(
            (p.uefi_vp_context_page, p.linux_command_line_page),
            (Some(1), Some(2))
        );
        assert_eq!(p.linux_command_line, Some(&b"root=/dev/sda"[..]));
        let bytes = p.config.as_bytes();
        assert_eq!(bytes.len(), 112);
        assert_eq!(bytes[8], 0x07); // UEFI | PCAT | Linux
        let only_linux = Vtl0Config {
            linux: Some(linux),
            ..Vtl0Config::default()
        };
        let p = plan_vtl0(&only_linux, 0, LinuxDirectBoot::Recorded).unwrap();
        assert_eq!(p.linux_command_line_page, Some(1));
        // §9 variation: linux_info = {kernel {0x200, 2}, entry 0x20_0100,
        // initrd {0x800, 3}, size 0x2001, cmdline {1, 1}} at bytes 48..=111.
        let b = p.config.as_bytes();
        let word = |i: usize| u64::from_le_bytes(b[48 + 8 * i..56 + 8 * i].try_into().unwrap());
        let words: [u64; 8] = core::array::from_fn(word);
        assert_eq!(words, [0x200, 2, 0x20_0100, 0x800, 3, 0x2001, 1, 1]);
        // AArch64 ignores Linux (no bit 2, no command-line page).
        let p = plan_vtl0(&only_linux, 0x1000, LinuxDirectBoot::Ignored).unwrap();
        assert_eq!(p.linux_command_line_page, None);
        assert_eq!(p.config.as_bytes()[8], 0);
    }
}

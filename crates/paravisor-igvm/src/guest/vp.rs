//! VP contexts (`docs/igvm.md` §3.4, §4.4, §4.6, §5 step 1): the builder
//! isolation chooses (a VBS register list, the SNP VMSA, the TDX reset
//! page), the register imports and the VP-context page.

use super::GuestBuilder;
use super::GuestIsolation;
use super::InjectionType;
use crate::error::IgvmError;
use crate::vp_context::RegisterList;
use crate::vp_context::TDX_RESET_PAGE;
use crate::vp_context::snp_vmsa;
use crate::vp_context::tdx_reset_page;
use elf_static_loader::PageAcceptance;
use igvm::IgvmDirectiveHeader;
use igvm::registers::AArch64Register;
use igvm::registers::X86Register;

/// The VP-context builder chosen by isolation (`spec/igvm.md` §3.4).
#[derive(Debug, Clone)]
pub(super) enum VpBuilder {
    /// none / VBS: a VBS register list.
    Vbs(RegisterList),
    /// SNP: registers for the VMSA and the VMSA page.
    Snp {
        /// Registers in import order.
        registers: Vec<X86Register>,
        /// The page set by `set_vp_context_page`.
        vmsa_page: Option<u64>,
    },
    /// TDX: registers for the reset page.
    Tdx(Vec<X86Register>),
}

impl GuestBuilder {
    /// `import_vp_register` with an x86-64 register (§4.4).
    pub fn import_x64_register(&mut self, reg: X86Register) -> Result<(), IgvmError> {
        match &mut self.vp {
            VpBuilder::Vbs(list) => list.push_x64(reg),
            VpBuilder::Snp { registers, .. } | VpBuilder::Tdx(registers) => {
                if registers
                    .iter()
                    .any(|r| std::mem::discriminant(r) == std::mem::discriminant(&reg))
                {
                    return Err(IgvmError::DuplicateRegister {
                        register: format!("{reg:x?}"),
                    });
                }
                registers.push(reg);
                Ok(())
            }
        }
    }

    /// `import_vp_register` with an AArch64 register (§4.4).
    pub fn import_aarch64_register(&mut self, reg: AArch64Register) -> Result<(), IgvmError> {
        match &mut self.vp {
            VpBuilder::Vbs(list) => list.push_aarch64(reg),
            VpBuilder::Snp { .. } | VpBuilder::Tdx(_) => Err(IgvmError::UnsupportedRegister {
                register: format!("{reg:x?}"),
                platform: "x86-64",
            }),
        }
    }

    /// `set_vp_context_page` (§4.6): SNP only, once.
    pub fn set_vp_context_page(&mut self, page_base: u64) -> Result<(), IgvmError> {
        match &mut self.vp {
            VpBuilder::Snp { vmsa_page, .. } => {
                if vmsa_page.is_some() {
                    return Err(IgvmError::VpContextPage {
                        reason: "the VMSA page was already set",
                    });
                }
                *vmsa_page = Some(page_base);
                Ok(())
            }
            _ => Err(IgvmError::VpContextPage {
                reason: "only SNP has a VP context page",
            }),
        }
    }

    /// Finalisation step 1 (`docs/igvm.md` §5): the VP context as a
    /// directive or page.
    pub(super) fn finish_vp_context(&mut self) -> Result<(), IgvmError> {
        match std::mem::replace(&mut self.vp, VpBuilder::Tdx(Vec::new())) {
            VpBuilder::Vbs(list) => {
                if !list.is_empty() {
                    self.directives.push(match list {
                        RegisterList::X64(registers) => IgvmDirectiveHeader::X64VbsVpContext {
                            vtl: self.vtl,
                            registers,
                            compatibility_mask: 1,
                        },
                        RegisterList::Aarch64(registers) => {
                            IgvmDirectiveHeader::AArch64VbsVpContext {
                                vtl: self.vtl,
                                registers,
                                compatibility_mask: 1,
                            }
                        }
                    });
                }
            }
            VpBuilder::Snp {
                registers,
                vmsa_page,
            } => {
                if let Some(page) = vmsa_page {
                    let restricted = matches!(
                        self.settings.isolation,
                        GuestIsolation::Snp {
                            injection_type: InjectionType::Restricted,
                            ..
                        }
                    );
                    let vmsa = snp_vmsa(&registers, restricted)?;
                    // import_vmsa needs the SNP builder back in place.
                    self.vp = VpBuilder::Snp {
                        registers: Vec::new(),
                        vmsa_page: None,
                    };
                    self.import_pages(
                        page,
                        1,
                        "vp-context-page",
                        PageAcceptance::VpContext,
                        &vmsa,
                    )?;
                }
            }
            VpBuilder::Tdx(registers) => {
                let page = tdx_reset_page(&registers)?;
                self.import_pages(
                    TDX_RESET_PAGE,
                    1,
                    "vp-context-page",
                    PageAcceptance::Exclusive,
                    &page,
                )?;
            }
        }
        Ok(())
    }
}

//! VP contexts (`docs/igvm.md` §3.4, §4.4, §4.6, §5 step 1): the builder
//! isolation chooses (a VBS register list, the SNP VMSA, the TDX reset
//! page), the register imports and the VP-context page.

use crate::error::IgvmError;
use crate::vp_context::RegisterList;
use igvm::registers::AArch64Register;
use igvm::registers::X86Register;

/// The VP-context builder chosen by isolation (`docs/igvm.md` §3.4).
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

impl VpBuilder {
    /// `import_vp_register` with an x86-64 register (§4.4).
    pub(super) fn import_x64_register(&mut self, reg: X86Register) -> Result<(), IgvmError> {
        match self {
            Self::Vbs(list) => list.push_x64(reg),
            Self::Snp { registers, .. } | Self::Tdx(registers) => {
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
    pub(super) fn import_aarch64_register(
        &mut self,
        reg: AArch64Register,
    ) -> Result<(), IgvmError> {
        match self {
            Self::Vbs(list) => list.push_aarch64(reg),
            Self::Snp { .. } | Self::Tdx(_) => Err(IgvmError::UnsupportedRegister {
                register: format!("{reg:x?}"),
                platform: "x86-64",
            }),
        }
    }

    /// `set_vp_context_page` (§4.6): SNP only, once.
    pub(super) fn set_vp_context_page(&mut self, page_base: u64) -> Result<(), IgvmError> {
        match self {
            Self::Snp { vmsa_page, .. } => {
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
}

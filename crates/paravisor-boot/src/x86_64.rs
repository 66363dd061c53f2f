//! [`X64Registers`]: the x86-64 register set the boot runners give their
//! boot processor (KVM through `kvm_sregs`/`kvm_regs`, QEMU through its
//! reset stub and trampoline), filled from the registers a loader imports.

use crate::image::BootRegisters;
use vp_regs::x86_64::SegmentRegister;
use vp_regs::x86_64::TableRegister;
use vp_regs::x86_64::X86Register;

/// The x86-64 register state of the boot processor. Every field that is
/// `Some` is set exactly; a `None` field keeps the runner's reset value
/// (general purpose registers: zero). `rflags` defaults to 2 (bit 1 is
/// reserved, set).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)] // Field names are the architectural register names.
pub struct X64Registers {
    pub rip: Option<u64>,
    pub rsi: Option<u64>,
    pub rsp: Option<u64>,
    pub rbp: Option<u64>,
    pub r8: Option<u64>,
    pub r9: Option<u64>,
    pub r10: Option<u64>,
    pub r11: Option<u64>,
    pub r12: Option<u64>,
    pub rflags: Option<u64>,
    pub cr0: Option<u64>,
    pub cr3: Option<u64>,
    pub cr4: Option<u64>,
    pub efer: Option<u64>,
    pub pat: Option<u64>,
    pub gdtr: Option<TableRegister>,
    pub idtr: Option<TableRegister>,
    pub cs: Option<SegmentRegister>,
    pub ds: Option<SegmentRegister>,
    pub es: Option<SegmentRegister>,
    pub fs: Option<SegmentRegister>,
    pub gs: Option<SegmentRegister>,
    pub ss: Option<SegmentRegister>,
    pub tr: Option<SegmentRegister>,
}

impl BootRegisters for X64Registers {
    type Register = X86Register;
    const HAS_VP_CONTEXT_PAGE: bool = true;

    /// Sets the field of `register`; `false` for a register the runners
    /// do not set (the MTRRs).
    fn set(&mut self, register: &X86Register) -> bool {
        match *register {
            X86Register::Gdtr(t) => self.gdtr = Some(t),
            X86Register::Idtr(t) => self.idtr = Some(t),
            X86Register::Cs(s) => self.cs = Some(s),
            X86Register::Ds(s) => self.ds = Some(s),
            X86Register::Es(s) => self.es = Some(s),
            X86Register::Fs(s) => self.fs = Some(s),
            X86Register::Gs(s) => self.gs = Some(s),
            X86Register::Ss(s) => self.ss = Some(s),
            X86Register::Tr(s) => self.tr = Some(s),
            X86Register::Cr0(v) => self.cr0 = Some(v),
            X86Register::Cr3(v) => self.cr3 = Some(v),
            X86Register::Cr4(v) => self.cr4 = Some(v),
            X86Register::Efer(v) => self.efer = Some(v),
            X86Register::Pat(v) => self.pat = Some(v),
            X86Register::Rbp(v) => self.rbp = Some(v),
            X86Register::Rip(v) => self.rip = Some(v),
            X86Register::Rsi(v) => self.rsi = Some(v),
            X86Register::Rsp(v) => self.rsp = Some(v),
            X86Register::R8(v) => self.r8 = Some(v),
            X86Register::R9(v) => self.r9 = Some(v),
            X86Register::R10(v) => self.r10 = Some(v),
            X86Register::R11(v) => self.r11 = Some(v),
            X86Register::R12(v) => self.r12 = Some(v),
            X86Register::Rflags(v) => self.rflags = Some(v),
            _ => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::importer::BootImageImporter;
    use crate::importer::ImportError;
    use paravisor_host::ImageRuleError;
    use paravisor_loader::IsolationConfig;
    use paravisor_loader::IsolationType;
    use paravisor_loader::ParavisorImporter;

    #[test]
    fn registers_are_recorded_once() {
        let mut i = BootImageImporter::<X64Registers>::new(IsolationConfig {
            isolation_type: IsolationType::None,
            paravisor_present: true,
            shared_gpa_boundary_bits: None,
        });
        i.import_vp_register(X86Register::Rip(0x1234)).unwrap();
        i.import_vp_register(X86Register::Cs(SegmentRegister {
            base: 0,
            limit: 0xFFFF_FFFF,
            selector: 0x10,
            attributes: 0xA09B,
        }))
        .unwrap();
        assert_eq!(
            i.import_vp_register(X86Register::Rip(0)),
            Err(ImportError::ImageRule(ImageRuleError::DuplicateRegister {
                name: "rip"
            }))
        );
        let r = i.image().registers;
        assert_eq!(r.rip, Some(0x1234));
        assert_eq!(
            r.cs.map(|cs| (cs.selector, cs.attributes)),
            Some((0x10, 0xA09B))
        );
        assert!(matches!(
            i.import_vp_register(X86Register::MtrrDefType(0)),
            Err(ImportError::UnsupportedRegister(_))
        ));
    }
}

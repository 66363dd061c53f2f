//! The x86-64 boot register state a loader hands to its importer, and its
//! translation into KVM's `kvm_sregs` / `kvm_regs` / MSR records.

use kvm_bindings::kvm_dtable;
use kvm_bindings::kvm_segment;
use paravisor_boot::BootRegisters;
use vp_regs::x86_64::SegmentRegister;
use vp_regs::x86_64::TableRegister;
use vp_regs::x86_64::X86Register;

/// MSR index of IA32_PAT.
pub const MSR_IA32_PAT: u32 = 0x277;

/// The x86-64 register state of the boot processor. Every field that is
/// `Some` is set exactly; a `None` field keeps KVM's reset value (general
/// purpose registers: zero). `rflags` defaults to 2 (bit 1 is reserved, set).
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

    /// Sets the field of `register`; `false` for a register KVM's runner
    /// does not set (the MTRRs).
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

/// Decodes a segment register into KVM's split-out form. The attribute bits
/// are those of `docs/abi.md` §4.2; bits 8..=11 (the limit nibble of a GDT
/// entry) are not attributes and are ignored.
pub fn kvm_segment_from(seg: &SegmentRegister) -> kvm_segment {
    let a = seg.attributes;
    let bit = |n: u16| -> u8 { u8::from(a & (1 << n) != 0) };
    let present = bit(7);
    kvm_segment {
        base: seg.base,
        limit: seg.limit,
        selector: seg.selector,
        type_: (a & 0xF) as u8,
        s: bit(4),
        dpl: ((a >> 5) & 0x3) as u8,
        present,
        avl: bit(12),
        l: bit(13),
        db: bit(14),
        g: bit(15),
        // A segment that is not present is unusable (VMX access-rights bit 16).
        unusable: u8::from(present == 0),
        padding: 0,
    }
}

/// Re-encodes a KVM segment into the 16-bit attribute word (the inverse of
/// [`kvm_segment_from`]).
pub fn attributes_of(seg: &kvm_segment) -> u16 {
    u16::from(seg.type_ & 0xF)
        | u16::from(seg.s & 1) << 4
        | u16::from(seg.dpl & 3) << 5
        | u16::from(seg.present & 1) << 7
        | u16::from(seg.avl & 1) << 12
        | u16::from(seg.l & 1) << 13
        | u16::from(seg.db & 1) << 14
        | u16::from(seg.g & 1) << 15
}

/// Converts a table register into KVM's form.
pub fn kvm_dtable_from(table: &TableRegister) -> kvm_dtable {
    kvm_dtable {
        base: table.base,
        limit: table.limit,
        padding: [0; 3],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BootImageImporter;
    use crate::ImportError;
    use paravisor_host::ImageRuleError;
    use paravisor_loader::IsolationConfig;
    use paravisor_loader::IsolationType;
    use paravisor_loader::ParavisorImporter;

    #[test]
    fn registers_are_recorded_once() {
        let mut i = BootImageImporter::new(IsolationConfig {
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

    // Values from docs/abi.md §4.2.
    #[test]
    fn code_segment_attributes_decode_to_long_mode_code() {
        let seg = kvm_segment_from(&SegmentRegister {
            base: 0,
            limit: 0xFFFF_FFFF,
            selector: 0x10,
            attributes: 0xA09B,
        });
        assert_eq!(
            (
                seg.type_,
                seg.s,
                seg.dpl,
                seg.present,
                seg.avl,
                seg.l,
                seg.db,
                seg.g
            ),
            (0xB, 1, 0, 1, 0, 1, 0, 1)
        );
        assert_eq!(seg.unusable, 0);
    }

    #[test]
    fn data_segment_attributes_decode_to_flat_read_write() {
        let seg = kvm_segment_from(&SegmentRegister {
            base: 0,
            limit: 0xFFFF_FFFF,
            selector: 0x18,
            attributes: 0xC093,
        });
        assert_eq!(
            (seg.type_, seg.s, seg.dpl, seg.present, seg.l, seg.db, seg.g),
            (0x3, 1, 0, 1, 0, 1, 1)
        );
    }

    #[test]
    fn busy_tss_attributes_decode_to_system_segment() {
        let seg = kvm_segment_from(&SegmentRegister {
            base: 0,
            limit: 0xFFFF,
            selector: 0,
            attributes: 0x008B,
        });
        assert_eq!((seg.type_, seg.s, seg.present, seg.g), (0xB, 0, 1, 0));
    }

    #[test]
    fn attribute_words_round_trip() {
        for attributes in [0xA09B_u16, 0xC093, 0x008B, 0x0000, 0xF0FF] {
            let seg = kvm_segment_from(&SegmentRegister {
                attributes,
                ..Default::default()
            });
            assert_eq!(attributes_of(&seg), attributes & !0x0F00);
        }
    }
}

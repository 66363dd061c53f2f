//! The translation of the x86-64 boot register state
//! ([`paravisor_boot::X64Registers`]) into KVM's `kvm_sregs` / `kvm_regs` /
//! MSR records.

use kvm_bindings::kvm_dtable;
use kvm_bindings::kvm_segment;
use vp_regs::x86_64::SegmentRegister;
use vp_regs::x86_64::TableRegister;

/// MSR index of IA32_PAT.
pub const MSR_IA32_PAT: u32 = 0x277;

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

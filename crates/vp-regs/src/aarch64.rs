//! AArch64 registers, their bitfields, MAIR encodings and the values the
//! paravisor loader sets (docs/abi.md §7).

mod mair;

pub use mair::MemoryAttributeEl1;
pub use mair::MemoryAttributeIndirectionEl1;

use crate::VpRegsError;
use bitfield_struct::bitfield;

/// One AArch64 register value handed to the importer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aarch64Register {
    /// PC: the entry point.
    Pc(u64),
    /// X0.
    X0(u64),
    /// X1.
    X1(u64),
    /// X2.
    X2(u64),
    /// X3.
    X3(u64),
    /// X4.
    X4(u64),
    /// X5.
    X5(u64),
    /// X6.
    X6(u64),
    /// X7.
    X7(u64),
    /// CPSR (PSTATE as SPSR bits, see [`Cpsr64`]).
    Cpsr(u64),
    /// SCTLR_EL1 (see [`SctlrEl1`]).
    SctlrEl1(u64),
    /// TCR_EL1 (see [`TranslationControlEl1`]).
    TcrEl1(u64),
    /// MAIR_EL1 (see [`MemoryAttributeIndirectionEl1`]).
    MairEl1(u64),
    /// TTBR0_EL1 (see [`TranslationBaseEl1`]).
    Ttbr0El1(u64),
    /// TTBR1_EL1 (see [`TranslationBaseEl1`]).
    Ttbr1El1(u64),
    /// VBAR_EL1.
    VbarEl1(u64),
}

impl Aarch64Register {
    /// The lower-case register name used as the key in an image summary
    /// (docs/formats.md §2 and §3 rule 7): `"pc"`, `"x0"`, `"cpsr"`,
    /// `"sctlr_el1"`, ...
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Pc(_) => "pc",
            Self::X0(_) => "x0",
            Self::X1(_) => "x1",
            Self::X2(_) => "x2",
            Self::X3(_) => "x3",
            Self::X4(_) => "x4",
            Self::X5(_) => "x5",
            Self::X6(_) => "x6",
            Self::X7(_) => "x7",
            Self::Cpsr(_) => "cpsr",
            Self::SctlrEl1(_) => "sctlr_el1",
            Self::TcrEl1(_) => "tcr_el1",
            Self::MairEl1(_) => "mair_el1",
            Self::Ttbr0El1(_) => "ttbr0_el1",
            Self::Ttbr1El1(_) => "ttbr1_el1",
            Self::VbarEl1(_) => "vbar_el1",
        }
    }

    /// The register's 64-bit value.
    pub const fn value(&self) -> u64 {
        match *self {
            Self::Pc(v)
            | Self::X0(v)
            | Self::X1(v)
            | Self::X2(v)
            | Self::X3(v)
            | Self::X4(v)
            | Self::X5(v)
            | Self::X6(v)
            | Self::X7(v)
            | Self::Cpsr(v)
            | Self::SctlrEl1(v)
            | Self::TcrEl1(v)
            | Self::MairEl1(v)
            | Self::Ttbr0El1(v)
            | Self::Ttbr1El1(v)
            | Self::VbarEl1(v) => v,
        }
    }
}

// ---------------------------------------------------------------------------
// CPSR (docs/abi.md §7.1)
// ---------------------------------------------------------------------------

/// Saved program status (SPSR_ELx / PSTATE) layout (docs/abi.md §7.1).
///
/// `with_el` and `with_btype` (2 bits each) panic on values that do not fit;
/// use `with_el_checked` / `with_btype_checked` for caller-supplied values.
#[bitfield(u64)]
#[derive(PartialEq, Eq, Hash)]
pub struct Cpsr64 {
    /// SP: 1 = use SP_ELx.
    pub sp: bool,
    #[bits(1)]
    _reserved0: u8,
    /// EL: exception level (bits 2..=3).
    #[bits(2)]
    pub el: u8,
    /// nRW: 1 = AArch32 state.
    pub aa32: bool,
    #[bits(1)]
    _reserved1: u8,
    /// F: FIQ mask.
    pub f: bool,
    /// I: IRQ mask.
    pub i: bool,
    /// A: SError mask.
    pub a: bool,
    /// D: debug mask.
    pub d: bool,
    /// BTYPE (bits 10..=11).
    #[bits(2)]
    pub btype: u8,
    /// SSBS.
    pub ssbs: bool,
    #[bits(7)]
    _reserved2: u8,
    /// IL: illegal execution state.
    pub il: bool,
    /// SS: software step.
    pub ss: bool,
    /// PAN: privileged access never.
    pub pan: bool,
    /// UAO: user access override.
    pub uao: bool,
    /// DIT: data-independent timing.
    pub dit: bool,
    /// TCO: tag check override.
    pub tco: bool,
    #[bits(2)]
    _reserved3: u8,
    /// V flag.
    pub v: bool,
    /// C flag.
    pub c: bool,
    /// Z flag.
    pub z: bool,
    /// N flag.
    pub n: bool,
    /// Bits 32..=63 (RES0).
    pub res0: u32,
}

// ---------------------------------------------------------------------------
// SCTLR_EL1 (docs/abi.md §7.2)
// ---------------------------------------------------------------------------

/// System control register for EL1 (docs/abi.md §7.2).
///
/// `with_tcf0`, `with_tcf` (2 bits) and `with_twedel` (4 bits) panic on values
/// that do not fit; use their `_checked` twins for caller-supplied values.
#[bitfield(u64)]
#[derive(PartialEq, Eq, Hash)]
pub struct SctlrEl1 {
    /// M: stage-1 MMU enable.
    pub m: bool,
    /// A: alignment check.
    pub a: bool,
    /// C: data cacheable.
    pub c: bool,
    /// SA: SP alignment check at EL1.
    pub sa: bool,
    /// SA0: SP alignment check at EL0.
    pub sa0: bool,
    /// CP15BEN.
    pub cp15ben: bool,
    /// nAA.
    pub n_aa: bool,
    /// ITD.
    pub itd: bool,
    /// SED.
    pub sed: bool,
    /// UMA.
    pub uma: bool,
    /// EnRCTX.
    pub en_rctx: bool,
    /// EOS (RES1 without FEAT_ExS).
    pub eos: bool,
    /// I: instruction cacheable.
    pub i: bool,
    /// EnDB.
    pub en_db: bool,
    /// DZE.
    pub dze: bool,
    /// UCT.
    pub uct: bool,
    /// nTWI.
    pub n_twi: bool,
    #[bits(1)]
    _reserved0: u8,
    /// nTWE.
    pub n_twe: bool,
    /// WXN.
    pub wxn: bool,
    /// TSCXT (RES1 without FEAT_CSV2).
    pub tscxt: bool,
    /// IESB.
    pub iesb: bool,
    /// EIS (RES1 without FEAT_ExS).
    pub eis: bool,
    /// SPAN (RES1 without FEAT_PAN).
    pub span: bool,
    /// E0E.
    pub e0e: bool,
    /// EE.
    pub ee: bool,
    /// UCI.
    pub uci: bool,
    /// EnDA.
    pub en_da: bool,
    /// nTLSMD (RES1 without FEAT_LSMAOC).
    pub n_tlsmd: bool,
    /// LSMAOE (RES1 without FEAT_LSMAOC).
    pub lsmaoe: bool,
    /// EnIB.
    pub en_ib: bool,
    /// EnIA.
    pub en_ia: bool,
    /// CMOW.
    pub cmow: bool,
    /// MSCEn.
    pub msc_en: bool,
    #[bits(1)]
    _reserved1: u8,
    /// BT0.
    pub bt0: bool,
    /// BT1.
    pub bt1: bool,
    /// ITFSB.
    pub itfsb: bool,
    /// TCF0 (bits 38..=39).
    #[bits(2)]
    pub tcf0: u8,
    /// TCF (bits 40..=41).
    #[bits(2)]
    pub tcf: u8,
    /// ATA0.
    pub ata0: bool,
    /// ATA.
    pub ata: bool,
    /// DSSBS.
    pub dssbs: bool,
    /// TWEDEn.
    pub twed_en: bool,
    /// TWEDEL (bits 46..=49).
    #[bits(4)]
    pub twedel: u8,
    /// TMT0.
    pub tmt0: bool,
    /// TMT.
    pub tmt: bool,
    /// TME0.
    pub tme0: bool,
    /// TME.
    pub tme: bool,
    /// EnASR.
    pub en_asr: bool,
    /// EnAS0.
    pub en_as0: bool,
    /// EnALS.
    pub en_als: bool,
    /// EPAN.
    pub epan: bool,
    /// TCSO0.
    pub tcso0: bool,
    /// TCSO.
    pub tcso: bool,
    /// EnTP2.
    pub en_tp2: bool,
    /// NMI.
    pub nmi: bool,
    /// SPINTMASK.
    pub spintmask: bool,
    /// TIDCP.
    pub tidcp: bool,
}

// ---------------------------------------------------------------------------
// TCR_EL1 (docs/abi.md §7.3)
// ---------------------------------------------------------------------------

/// TCR_EL1.TG0: the TTBR0 translation granule (2 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TranslationGranule0 {
    /// 4 KiB granule (TG_4KB = 0).
    Tg4Kb = 0,
    /// 64 KiB granule (TG_64KB = 1).
    Tg64Kb = 1,
    /// 16 KiB granule (TG_16KB = 2).
    Tg16Kb = 2,
    /// Encoding 3, reserved by the architecture (only produced when reading
    /// a raw value).
    Reserved3 = 3,
}

impl TranslationGranule0 {
    /// The 2-bit encoding.
    pub const fn into_bits(self) -> u8 {
        self as u8
    }

    /// Decodes the low 2 bits of `bits` (higher bits are ignored).
    pub const fn from_bits(bits: u8) -> Self {
        match bits & 0b11 {
            0 => Self::Tg4Kb,
            1 => Self::Tg64Kb,
            2 => Self::Tg16Kb,
            _ => Self::Reserved3,
        }
    }
}

/// TCR_EL1.TG1: the TTBR1 translation granule (2 bits). Note the encodings
/// differ from [`TranslationGranule0`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TranslationGranule1 {
    /// Invalid (TG_INVALID = 0).
    Invalid = 0,
    /// 16 KiB granule (TG_16KB = 1).
    Tg16Kb = 1,
    /// 4 KiB granule (TG_4KB = 2).
    Tg4Kb = 2,
    /// 64 KiB granule (TG_64KB = 3).
    Tg64Kb = 3,
}

impl TranslationGranule1 {
    /// The 2-bit encoding.
    pub const fn into_bits(self) -> u8 {
        self as u8
    }

    /// Decodes the low 2 bits of `bits` (higher bits are ignored).
    pub const fn from_bits(bits: u8) -> Self {
        match bits & 0b11 {
            0 => Self::Invalid,
            1 => Self::Tg16Kb,
            2 => Self::Tg4Kb,
            _ => Self::Tg64Kb,
        }
    }
}

/// TCR_EL1.IPS: intermediate physical address size (3 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum IntermPhysAddrSize {
    /// 32 bits, 4 GB (0).
    Ipa32Bits4Gb = 0,
    /// 36 bits, 64 GB (1).
    Ipa36Bits64Gb = 1,
    /// 40 bits, 1 TB (2).
    Ipa40Bits1Tb = 2,
    /// 42 bits, 4 TB (3).
    Ipa42Bits4Tb = 3,
    /// 44 bits, 16 TB (4).
    Ipa44Bits16Tb = 4,
    /// 48 bits, 256 TB (5).
    Ipa48Bits256Tb = 5,
    /// 52 bits, 4 PB (6).
    Ipa52Bits4Pb = 6,
    /// 56 bits, 64 PB (7).
    Ipa56Bits64Pb = 7,
}

impl IntermPhysAddrSize {
    /// The 3-bit encoding.
    pub const fn into_bits(self) -> u8 {
        self as u8
    }

    /// Decodes the low 3 bits of `bits` (higher bits are ignored).
    pub const fn from_bits(bits: u8) -> Self {
        match bits & 0b111 {
            0 => Self::Ipa32Bits4Gb,
            1 => Self::Ipa36Bits64Gb,
            2 => Self::Ipa40Bits1Tb,
            3 => Self::Ipa42Bits4Tb,
            4 => Self::Ipa44Bits16Tb,
            5 => Self::Ipa48Bits256Tb,
            6 => Self::Ipa52Bits4Pb,
            _ => Self::Ipa56Bits64Pb,
        }
    }
}

/// Translation control register for EL1 (docs/abi.md §7.3).
///
/// The granule and IPS fields are enumerations that cover every bit
/// pattern, so their setters cannot panic. `with_t0sz`/`with_t1sz` (6 bits)
/// and the 2-bit `irgn*`/`orgn*`/`sh*` setters panic on values that do not
/// fit; use their `_checked` twins for caller-supplied values.
#[bitfield(u64)]
#[derive(PartialEq, Eq, Hash)]
pub struct TranslationControlEl1 {
    /// T0SZ: TTBR0 region size is 2^(64 − T0SZ) bytes.
    #[bits(6)]
    pub t0sz: u8,
    #[bits(1)]
    _reserved0: u8,
    /// EPD0: disable TTBR0 walks.
    pub epd0: bool,
    /// IRGN0: inner cacheability of TTBR0 walks.
    #[bits(2)]
    pub irgn0: u8,
    /// ORGN0: outer cacheability of TTBR0 walks.
    #[bits(2)]
    pub orgn0: u8,
    /// SH0: shareability of TTBR0 walks.
    #[bits(2)]
    pub sh0: u8,
    /// TG0: TTBR0 granule.
    #[bits(2)]
    pub tg0: TranslationGranule0,
    /// T1SZ.
    #[bits(6)]
    pub t1sz: u8,
    /// A1: ASID from TTBR1.
    pub a1: bool,
    /// EPD1: disable TTBR1 walks.
    pub epd1: bool,
    /// IRGN1.
    #[bits(2)]
    pub irgn1: u8,
    /// ORGN1.
    #[bits(2)]
    pub orgn1: u8,
    /// SH1.
    #[bits(2)]
    pub sh1: u8,
    /// TG1: TTBR1 granule.
    #[bits(2)]
    pub tg1: TranslationGranule1,
    /// IPS: intermediate physical address size.
    #[bits(3)]
    pub ips: IntermPhysAddrSize,
    #[bits(1)]
    _reserved1: u8,
    /// AS: ASID size (1 = 16-bit ASIDs).
    pub asid_size: bool,
    /// TBI0.
    pub tbi0: bool,
    /// TBI1.
    pub tbi1: bool,
    /// HA: hardware access flag.
    pub ha: bool,
    /// HD: hardware dirty state.
    pub hd: bool,
    /// HPD0.
    pub hpd0: bool,
    /// HPD1.
    pub hpd1: bool,
    /// HWU059.
    pub hwu059: bool,
    /// HWU060.
    pub hwu060: bool,
    /// HWU061.
    pub hwu061: bool,
    /// HWU062.
    pub hwu062: bool,
    /// HWU159.
    pub hwu159: bool,
    /// HWU160.
    pub hwu160: bool,
    /// HWU161.
    pub hwu161: bool,
    /// HWU162.
    pub hwu162: bool,
    /// TBID0.
    pub tbid0: bool,
    /// TBID1.
    pub tbid1: bool,
    /// NFD0.
    pub nfd0: bool,
    /// NFD1.
    pub nfd1: bool,
    /// E0PD0.
    pub e0pd0: bool,
    /// E0PD1.
    pub e0pd1: bool,
    /// TCMA0.
    pub tcma0: bool,
    /// TCMA1.
    pub tcma1: bool,
    /// DS.
    pub ds: bool,
    /// MTX0.
    pub mtx0: bool,
    /// MTX1.
    pub mtx1: bool,
    #[bits(2)]
    _reserved2: u8,
}

// ---------------------------------------------------------------------------
// TTBRn_EL1 (docs/abi.md §7.4)
// ---------------------------------------------------------------------------

/// Translation table base register (TTBR0_EL1 / TTBR1_EL1, docs/abi.md §7.4).
///
/// `baddr` has no public setter: build a value with the checked
/// [`TranslationBaseEl1::try_new`]. (The original panics when a base of
/// 2^48 or more is set.)
#[bitfield(u64)]
#[derive(PartialEq, Eq, Hash)]
pub struct TranslationBaseEl1 {
    /// BADDR: table base address (bits 0..=47; CnP is not modelled, bit 0 is
    /// part of BADDR).
    #[bits(48, access = RO)]
    pub baddr: u64,
    /// ASID.
    pub asid: u16,
}

impl TranslationBaseEl1 {
    /// Exclusive upper bound of BADDR: 2^48.
    pub const BADDR_LIMIT: u64 = 1 << 48;

    /// A TTBR value with base `baddr` and `asid`.
    ///
    /// Errors when `baddr` ≥ 2^48.
    pub const fn try_new(baddr: u64, asid: u16) -> Result<Self, VpRegsError> {
        if baddr >= Self::BADDR_LIMIT {
            return Err(VpRegsError::TranslationBaseTooLarge { baddr });
        }
        Ok(Self::from_bits(baddr).with_asid(asid))
    }
}

pub mod paravisor;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paravisor_cpsr_is_0x5() {
        assert_eq!(paravisor::CPSR.into_bits(), 0x5);
    }

    #[test]
    fn paravisor_sctlr_el1_is_0x30d0_1805() {
        assert_eq!(paravisor::SCTLR_EL1.into_bits(), 0x0000_0000_30D0_1805);
    }

    #[test]
    fn paravisor_tcr_el1_is_0x5_8080_3511() {
        assert_eq!(paravisor::TCR_EL1.into_bits(), 0x0000_0005_8080_3511);
    }

    #[test]
    fn paravisor_mair_el1_is_0xffbb_4400_with_write_back_at_3() {
        assert_eq!(paravisor::MAIR_EL1.to_u64(), 0x0000_0000_FFBB_4400);
        assert_eq!(u64::from(paravisor::MAIR_EL1), 0xFFBB_4400);
        assert_eq!(paravisor::NORMAL_WRITE_BACK_ATTR_INDEX, 3);
        assert_eq!(
            paravisor::MAIR_EL1.index_of(MemoryAttributeEl1::NormalWriteBack),
            Some(3)
        );
        // First match: Device_nGnRnE is at 0 and again at 4..=7.
        assert_eq!(
            paravisor::MAIR_EL1.index_of(MemoryAttributeEl1::DeviceNGnRnE),
            Some(0)
        );
        assert_eq!(paravisor::VBAR_EL1, 0);
        let no_write_back = MemoryAttributeIndirectionEl1([MemoryAttributeEl1::DeviceNGnRnE; 8]);
        assert_eq!(
            no_write_back.index_of(MemoryAttributeEl1::NormalWriteBack),
            None
        );
        let last = MemoryAttributeIndirectionEl1::from_u64(0xFF00_0000_0000_0000).unwrap();
        assert_eq!(last.index_of(MemoryAttributeEl1::NormalWriteBack), Some(7));
    }

    #[test]
    fn memory_attribute_bytes_match_abi_7_5() {
        assert_eq!(MemoryAttributeEl1::DeviceNGnRnE.into_bits(), 0x00);
        assert_eq!(MemoryAttributeEl1::NormalNonCacheable.into_bits(), 0x44);
        assert_eq!(MemoryAttributeEl1::NormalWriteThrough.into_bits(), 0xBB);
        assert_eq!(MemoryAttributeEl1::NormalWriteBack.into_bits(), 0xFF);
        for byte in 0..=u8::MAX {
            let decoded = MemoryAttributeEl1::try_from(byte);
            match byte {
                0x00 | 0x44 | 0xBB | 0xFF => assert_eq!(decoded.unwrap().into_bits(), byte),
                _ => assert_eq!(
                    decoded,
                    Err(VpRegsError::UnsupportedMemoryAttribute { byte, index: 0 })
                ),
            }
        }
    }

    #[test]
    fn mair_from_u64_reports_first_bad_byte() {
        assert_eq!(
            MemoryAttributeIndirectionEl1::from_u64(0xFFBB_4400).unwrap(),
            paravisor::MAIR_EL1
        );
        assert_eq!(
            MemoryAttributeIndirectionEl1::from_u64(0x1200_FFBB_4400),
            Err(VpRegsError::UnsupportedMemoryAttribute {
                byte: 0x12,
                index: 5
            })
        );
    }

    #[test]
    fn ttbr0_is_the_page_table_gpa_and_rejects_2_pow_48() {
        let ttbr = paravisor::ttbr0_el1(0x0000_FFFF_FFFF_F000).unwrap();
        assert_eq!(ttbr.into_bits(), 0x0000_FFFF_FFFF_F000);
        assert_eq!(ttbr.baddr(), 0x0000_FFFF_FFFF_F000);
        assert_eq!(ttbr.asid(), 0);
        assert_eq!(
            paravisor::ttbr0_el1(0x1_0000_0000_0000),
            Err(VpRegsError::TranslationBaseTooLarge {
                baddr: 0x1_0000_0000_0000
            })
        );
        let with_asid = TranslationBaseEl1::try_new(0x1000, 0xABCD).unwrap();
        assert_eq!(with_asid.into_bits(), 0xABCD_0000_0000_1000);
    }

    #[test]
    fn cpsr_fields_sit_at_abi_7_1_bits() {
        assert_eq!(Cpsr64::new().with_sp(true).into_bits(), 1);
        assert_eq!(Cpsr64::new().with_el(3).into_bits(), 0b11 << 2);
        assert_eq!(Cpsr64::new().with_aa32(true).into_bits(), 1 << 4);
        let daif = Cpsr64::new()
            .with_f(true)
            .with_i(true)
            .with_a(true)
            .with_d(true);
        // The Linux direct-boot value in docs/abi.md §7.1: 0x3C5 = EL1h + DAIF.
        assert_eq!(daif.with_sp(true).with_el(1).into_bits(), 0x3C5);
        assert_eq!(Cpsr64::new().with_btype(3).into_bits(), 0b11 << 10);
        assert_eq!(Cpsr64::new().with_ssbs(true).into_bits(), 1 << 12);
        assert_eq!(Cpsr64::new().with_il(true).into_bits(), 1 << 20);
        assert_eq!(Cpsr64::new().with_tco(true).into_bits(), 1 << 25);
        assert_eq!(Cpsr64::new().with_v(true).into_bits(), 1 << 28);
        assert_eq!(Cpsr64::new().with_n(true).into_bits(), 1 << 31);
        assert_eq!(
            Cpsr64::new().with_res0(u32::MAX).into_bits(),
            0xFFFF_FFFF_0000_0000
        );
        assert!(Cpsr64::new().with_el_checked(4).is_err());
    }

    #[test]
    fn sctlr_fields_sit_at_abi_7_2_bits() {
        assert_eq!(SctlrEl1::new().with_m(true).into_bits(), 0x1);
        assert_eq!(SctlrEl1::new().with_c(true).into_bits(), 0x4);
        assert_eq!(SctlrEl1::new().with_eos(true).into_bits(), 0x800);
        assert_eq!(SctlrEl1::new().with_i(true).into_bits(), 0x1000);
        assert_eq!(SctlrEl1::new().with_n_twe(true).into_bits(), 1 << 18);
        assert_eq!(SctlrEl1::new().with_tscxt(true).into_bits(), 0x10_0000);
        assert_eq!(SctlrEl1::new().with_eis(true).into_bits(), 0x40_0000);
        assert_eq!(SctlrEl1::new().with_span(true).into_bits(), 0x80_0000);
        assert_eq!(SctlrEl1::new().with_n_tlsmd(true).into_bits(), 0x1000_0000);
        assert_eq!(SctlrEl1::new().with_lsmaoe(true).into_bits(), 0x2000_0000);
        assert_eq!(SctlrEl1::new().with_bt0(true).into_bits(), 1 << 35);
        assert_eq!(SctlrEl1::new().with_tcf0(3).into_bits(), 0b11 << 38);
        assert_eq!(SctlrEl1::new().with_tcf(3).into_bits(), 0b11 << 40);
        assert_eq!(SctlrEl1::new().with_twedel(0xF).into_bits(), 0xF << 46);
        assert_eq!(SctlrEl1::new().with_tmt0(true).into_bits(), 1 << 50);
        assert_eq!(SctlrEl1::new().with_tidcp(true).into_bits(), 1 << 63);
    }

    #[test]
    fn tcr_fields_sit_at_abi_7_3_bits() {
        assert_eq!(
            TranslationControlEl1::new().with_t0sz(0x3F).into_bits(),
            0x3F
        );
        assert_eq!(
            TranslationControlEl1::new().with_epd0(true).into_bits(),
            1 << 7
        );
        assert_eq!(
            TranslationControlEl1::new().with_irgn0(3).into_bits(),
            0b11 << 8
        );
        assert_eq!(
            TranslationControlEl1::new().with_orgn0(3).into_bits(),
            0b11 << 10
        );
        assert_eq!(
            TranslationControlEl1::new().with_sh0(3).into_bits(),
            0b11 << 12
        );
        assert_eq!(
            TranslationControlEl1::new()
                .with_tg0(TranslationGranule0::Tg16Kb)
                .into_bits(),
            2 << 14
        );
        assert_eq!(
            TranslationControlEl1::new().with_t1sz(0x3F).into_bits(),
            0x3F << 16
        );
        assert_eq!(
            TranslationControlEl1::new().with_a1(true).into_bits(),
            1 << 22
        );
        assert_eq!(
            TranslationControlEl1::new().with_epd1(true).into_bits(),
            1 << 23
        );
        assert_eq!(
            TranslationControlEl1::new()
                .with_tg1(TranslationGranule1::Tg64Kb)
                .into_bits(),
            3 << 30
        );
        assert_eq!(
            TranslationControlEl1::new()
                .with_ips(IntermPhysAddrSize::Ipa56Bits64Pb)
                .into_bits(),
            7 << 32
        );
        assert_eq!(
            TranslationControlEl1::new()
                .with_asid_size(true)
                .into_bits(),
            1 << 36
        );
        assert_eq!(
            TranslationControlEl1::new().with_ds(true).into_bits(),
            1 << 59
        );
        assert_eq!(
            TranslationControlEl1::new().with_mtx1(true).into_bits(),
            1 << 61
        );
    }

    #[test]
    fn granule_and_ips_encodings_match_abi_7_3() {
        assert_eq!(TranslationGranule0::Tg4Kb.into_bits(), 0);
        assert_eq!(TranslationGranule0::Tg64Kb.into_bits(), 1);
        assert_eq!(TranslationGranule0::Tg16Kb.into_bits(), 2);
        assert_eq!(TranslationGranule1::Invalid.into_bits(), 0);
        assert_eq!(TranslationGranule1::Tg16Kb.into_bits(), 1);
        assert_eq!(TranslationGranule1::Tg4Kb.into_bits(), 2);
        assert_eq!(TranslationGranule1::Tg64Kb.into_bits(), 3);
        let ips = [
            IntermPhysAddrSize::Ipa32Bits4Gb,
            IntermPhysAddrSize::Ipa36Bits64Gb,
            IntermPhysAddrSize::Ipa40Bits1Tb,
            IntermPhysAddrSize::Ipa42Bits4Tb,
            IntermPhysAddrSize::Ipa44Bits16Tb,
            IntermPhysAddrSize::Ipa48Bits256Tb,
            IntermPhysAddrSize::Ipa52Bits4Pb,
            IntermPhysAddrSize::Ipa56Bits64Pb,
        ];
        for (code, ips) in ips.iter().enumerate() {
            assert_eq!(usize::from(ips.into_bits()), code);
            assert_eq!(IntermPhysAddrSize::from_bits(code as u8), *ips);
        }
        for code in 0..4u8 {
            assert_eq!(TranslationGranule0::from_bits(code).into_bits(), code);
            assert_eq!(TranslationGranule1::from_bits(code).into_bits(), code);
        }
    }

    #[test]
    fn register_names_match_formats_2() {
        let cases = [
            (Aarch64Register::Pc(0), "pc"),
            (Aarch64Register::X0(0), "x0"),
            (Aarch64Register::X1(0), "x1"),
            (Aarch64Register::X2(0), "x2"),
            (Aarch64Register::X3(0), "x3"),
            (Aarch64Register::X4(0), "x4"),
            (Aarch64Register::X5(0), "x5"),
            (Aarch64Register::X6(0), "x6"),
            (Aarch64Register::X7(0), "x7"),
            (Aarch64Register::Cpsr(0), "cpsr"),
            (Aarch64Register::SctlrEl1(0), "sctlr_el1"),
            (Aarch64Register::TcrEl1(0), "tcr_el1"),
            (Aarch64Register::MairEl1(0), "mair_el1"),
            (Aarch64Register::Ttbr0El1(0), "ttbr0_el1"),
            (Aarch64Register::Ttbr1El1(0), "ttbr1_el1"),
            (Aarch64Register::VbarEl1(0), "vbar_el1"),
        ];
        for (i, (reg, name)) in cases.iter().enumerate() {
            assert_eq!(reg.name(), *name);
            for (other, _) in &cases[..i] {
                assert_ne!(reg.name(), other.name());
            }
        }
        assert_eq!(
            Aarch64Register::TcrEl1(0x5_8080_3511).value(),
            0x5_8080_3511
        );
    }

    proptest::proptest! {
        #[test]
        fn ttbr_try_new_never_panics_and_round_trips(baddr: u64, asid: u16) {
            match TranslationBaseEl1::try_new(baddr, asid) {
                Ok(ttbr) => {
                    proptest::prop_assert!(baddr < 1 << 48);
                    proptest::prop_assert_eq!(ttbr.baddr(), baddr);
                    proptest::prop_assert_eq!(ttbr.asid(), asid);
                }
                Err(err) => {
                    proptest::prop_assert!(baddr >= 1 << 48);
                    proptest::prop_assert_eq!(err, VpRegsError::TranslationBaseTooLarge { baddr });
                }
            }
        }

        #[test]
        fn mair_from_u64_never_panics_and_round_trips(value: u64) {
            if let Ok(mair) = MemoryAttributeIndirectionEl1::from_u64(value) {
                proptest::prop_assert_eq!(mair.to_u64(), value);
            }
        }

        #[test]
        fn raw_bitfields_round_trip(value: u64) {
            proptest::prop_assert_eq!(TranslationControlEl1::from_bits(value).into_bits(), value);
            proptest::prop_assert_eq!(SctlrEl1::from_bits(value).into_bits(), value);
            proptest::prop_assert_eq!(Cpsr64::from_bits(value).into_bits(), value);
            proptest::prop_assert_eq!(TranslationBaseEl1::from_bits(value).into_bits(), value);
        }
    }
}

//! x86-64 registers, control-register bits, segment descriptors and the
//! values the paravisor loader sets (docs/abi.md §4).

use crate::VpRegsError;
use bitfield_struct::bitfield;
use zerocopy::FromBytes;
use zerocopy::Immutable;
use zerocopy::IntoBytes;
use zerocopy::KnownLayout;

// ---------------------------------------------------------------------------
// Register records (docs/abi.md §4.5)
// ---------------------------------------------------------------------------

/// A descriptor-table register (GDTR or IDTR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TableRegister {
    /// Linear base address of the table.
    pub base: u64,
    /// Table limit: size in bytes minus one.
    pub limit: u16,
}

/// A segment register (CS, DS, ES, FS, GS, SS or TR) with its hidden part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SegmentRegister {
    /// Segment base address.
    pub base: u64,
    /// Segment limit in bytes (already scaled by the granularity bit).
    pub limit: u32,
    /// Segment selector.
    pub selector: u16,
    /// Segment attributes ([`SegmentAttributes`] bits).
    pub attributes: u16,
}

/// One x86-64 register value handed to the importer.
///
/// The kinds are the ones the original importer accepts (docs/abi.md §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum X86Register {
    /// GDTR.
    Gdtr(TableRegister),
    /// IDTR.
    Idtr(TableRegister),
    /// CS.
    Cs(SegmentRegister),
    /// DS.
    Ds(SegmentRegister),
    /// ES.
    Es(SegmentRegister),
    /// FS.
    Fs(SegmentRegister),
    /// GS.
    Gs(SegmentRegister),
    /// SS.
    Ss(SegmentRegister),
    /// TR (task register).
    Tr(SegmentRegister),
    /// CR0.
    Cr0(u64),
    /// CR3 (page-table root).
    Cr3(u64),
    /// CR4.
    Cr4(u64),
    /// IA32_EFER MSR.
    Efer(u64),
    /// IA32_PAT MSR.
    Pat(u64),
    /// RBP.
    Rbp(u64),
    /// RIP.
    Rip(u64),
    /// RSI.
    Rsi(u64),
    /// RSP.
    Rsp(u64),
    /// R8.
    R8(u64),
    /// R9.
    R9(u64),
    /// R10.
    R10(u64),
    /// R11.
    R11(u64),
    /// R12.
    R12(u64),
    /// RFLAGS.
    Rflags(u64),
    /// IA32_MTRR_DEF_TYPE.
    MtrrDefType(u64),
    /// IA32_MTRR_PHYSBASE0.
    MtrrPhysBase0(u64),
    /// IA32_MTRR_PHYSMASK0.
    MtrrPhysMask0(u64),
    /// IA32_MTRR_PHYSBASE1.
    MtrrPhysBase1(u64),
    /// IA32_MTRR_PHYSMASK1.
    MtrrPhysMask1(u64),
    /// IA32_MTRR_PHYSBASE2.
    MtrrPhysBase2(u64),
    /// IA32_MTRR_PHYSMASK2.
    MtrrPhysMask2(u64),
    /// IA32_MTRR_PHYSBASE3.
    MtrrPhysBase3(u64),
    /// IA32_MTRR_PHYSMASK3.
    MtrrPhysMask3(u64),
    /// IA32_MTRR_PHYSBASE4.
    MtrrPhysBase4(u64),
    /// IA32_MTRR_PHYSMASK4.
    MtrrPhysMask4(u64),
    /// IA32_MTRR_FIX64K_00000.
    MtrrFix64k00000(u64),
    /// IA32_MTRR_FIX16K_80000.
    MtrrFix16k80000(u64),
    /// IA32_MTRR_FIX4K_E0000.
    MtrrFix4kE0000(u64),
    /// IA32_MTRR_FIX4K_E8000.
    MtrrFix4kE8000(u64),
    /// IA32_MTRR_FIX4K_F0000.
    MtrrFix4kF0000(u64),
    /// IA32_MTRR_FIX4K_F8000.
    MtrrFix4kF8000(u64),
}

impl X86Register {
    /// The lower-case register name used as the key in an image summary
    /// (docs/formats.md §2 and §3 rule 7), for example `"rip"`, `"gdtr"`,
    /// `"mtrr_phys_base0"`, `"mtrr_fix64k_00000"`.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Gdtr(_) => "gdtr",
            Self::Idtr(_) => "idtr",
            Self::Cs(_) => "cs",
            Self::Ds(_) => "ds",
            Self::Es(_) => "es",
            Self::Fs(_) => "fs",
            Self::Gs(_) => "gs",
            Self::Ss(_) => "ss",
            Self::Tr(_) => "tr",
            Self::Cr0(_) => "cr0",
            Self::Cr3(_) => "cr3",
            Self::Cr4(_) => "cr4",
            Self::Efer(_) => "efer",
            Self::Pat(_) => "pat",
            Self::Rbp(_) => "rbp",
            Self::Rip(_) => "rip",
            Self::Rsi(_) => "rsi",
            Self::Rsp(_) => "rsp",
            Self::R8(_) => "r8",
            Self::R9(_) => "r9",
            Self::R10(_) => "r10",
            Self::R11(_) => "r11",
            Self::R12(_) => "r12",
            Self::Rflags(_) => "rflags",
            Self::MtrrDefType(_) => "mtrr_def_type",
            Self::MtrrPhysBase0(_) => "mtrr_phys_base0",
            Self::MtrrPhysMask0(_) => "mtrr_phys_mask0",
            Self::MtrrPhysBase1(_) => "mtrr_phys_base1",
            Self::MtrrPhysMask1(_) => "mtrr_phys_mask1",
            Self::MtrrPhysBase2(_) => "mtrr_phys_base2",
            Self::MtrrPhysMask2(_) => "mtrr_phys_mask2",
            Self::MtrrPhysBase3(_) => "mtrr_phys_base3",
            Self::MtrrPhysMask3(_) => "mtrr_phys_mask3",
            Self::MtrrPhysBase4(_) => "mtrr_phys_base4",
            Self::MtrrPhysMask4(_) => "mtrr_phys_mask4",
            Self::MtrrFix64k00000(_) => "mtrr_fix64k_00000",
            Self::MtrrFix16k80000(_) => "mtrr_fix16k_80000",
            Self::MtrrFix4kE0000(_) => "mtrr_fix4k_e0000",
            Self::MtrrFix4kE8000(_) => "mtrr_fix4k_e8000",
            Self::MtrrFix4kF0000(_) => "mtrr_fix4k_f0000",
            Self::MtrrFix4kF8000(_) => "mtrr_fix4k_f8000",
        }
    }
}

// ---------------------------------------------------------------------------
// Control registers and MSRs (docs/abi.md §4.1)
// ---------------------------------------------------------------------------

/// CR0.PE (bit 0): protection enable.
pub const X64_CR0_PE: u64 = 0x1;
/// CR0.MP (bit 1): monitor coprocessor.
pub const X64_CR0_MP: u64 = 0x2;
/// CR0.EM (bit 2): x87 emulation.
pub const X64_CR0_EM: u64 = 0x4;
/// CR0.TS (bit 3): task switched.
pub const X64_CR0_TS: u64 = 0x8;
/// CR0.ET (bit 4): extension type.
pub const X64_CR0_ET: u64 = 0x10;
/// CR0.NE (bit 5): numeric error.
pub const X64_CR0_NE: u64 = 0x20;
/// CR0.WP (bit 16): write protect.
pub const X64_CR0_WP: u64 = 0x1_0000;
/// CR0.AM (bit 18): alignment mask.
pub const X64_CR0_AM: u64 = 0x4_0000;
/// CR0.NW (bit 29): not write-through.
pub const X64_CR0_NW: u64 = 0x2000_0000;
/// CR0.CD (bit 30): cache disable.
pub const X64_CR0_CD: u64 = 0x4000_0000;
/// CR0.PG (bit 31): paging.
pub const X64_CR0_PG: u64 = 0x8000_0000;

/// CR4.VME (bit 0).
pub const X64_CR4_VME: u64 = 0x1;
/// CR4.PVI (bit 1).
pub const X64_CR4_PVI: u64 = 0x2;
/// CR4.TSD (bit 2).
pub const X64_CR4_TSD: u64 = 0x4;
/// CR4.DE (bit 3).
pub const X64_CR4_DE: u64 = 0x8;
/// CR4.PSE (bit 4).
pub const X64_CR4_PSE: u64 = 0x10;
/// CR4.PAE (bit 5): physical address extension.
pub const X64_CR4_PAE: u64 = 0x20;
/// CR4.MCE (bit 6): machine-check enable.
pub const X64_CR4_MCE: u64 = 0x40;
/// CR4.PGE (bit 7).
pub const X64_CR4_PGE: u64 = 0x80;
/// CR4.PCE (bit 8).
pub const X64_CR4_PCE: u64 = 0x100;
/// CR4.OSFXSR (bit 9).
pub const X64_CR4_FXSR: u64 = 0x200;
/// CR4.OSXMMEXCPT (bit 10).
pub const X64_CR4_XMMEXCPT: u64 = 0x400;
/// CR4.UMIP (bit 11).
pub const X64_CR4_UMIP: u64 = 0x800;
/// CR4.LA57 (bit 12).
pub const X64_CR4_LA57: u64 = 0x1000;
/// CR4.VMXE (bit 13).
pub const X64_CR4_VMXE: u64 = 0x2000;
/// CR4.FSGSBASE (bit 16).
pub const X64_CR4_RWFSGS: u64 = 0x1_0000;
/// CR4.PCIDE (bit 17).
pub const X64_CR4_PCIDE: u64 = 0x2_0000;
/// CR4.OSXSAVE (bit 18).
pub const X64_CR4_OSXSAVE: u64 = 0x4_0000;
/// CR4.SMEP (bit 20).
pub const X64_CR4_SMEP: u64 = 0x10_0000;
/// CR4.SMAP (bit 21).
pub const X64_CR4_SMAP: u64 = 0x20_0000;
/// CR4.CET (bit 23).
pub const X64_CR4_CET: u64 = 0x80_0000;

/// EFER.SCE (bit 0): syscall enable.
pub const X64_EFER_SCE: u64 = 0x1;
/// EFER.LME (bit 8): long mode enable.
pub const X64_EFER_LME: u64 = 0x100;
/// EFER.LMA (bit 10): long mode active.
pub const X64_EFER_LMA: u64 = 0x400;
/// EFER.NXE (bit 11): no-execute enable.
pub const X64_EFER_NXE: u64 = 0x800;
/// EFER.SVME (bit 12).
pub const X64_EFER_SVME: u64 = 0x1000;
/// EFER.FFXSR (bit 14).
pub const X64_EFER_FFXSR: u64 = 0x4000;

/// The architectural reset value of IA32_PAT: PA0..PA7 = WB, WT, UC-, UC,
/// WB, WT, UC-, UC.
pub const X86X_MSR_DEFAULT_PAT: u64 = 0x0007_0406_0007_0406;

// ---------------------------------------------------------------------------
// Segments (docs/abi.md §4.2 – §4.4)
// ---------------------------------------------------------------------------

/// Segment attributes as a VMCS/VMSA-style 16-bit field (docs/abi.md §4.2).
///
/// Bits 8..=11 are reserved: they correspond to limit\[19:16\] once the
/// attributes are split into a [`GdtEntry`].
///
/// `with_segment_type` (4 bits) and `with_descriptor_privilege_level`
/// (2 bits) panic on values that do not fit; use their `_checked` twins for
/// caller-supplied values.
#[bitfield(u16)]
#[derive(PartialEq, Eq, Hash)]
pub struct SegmentAttributes {
    /// Descriptor type (bits 0..=3).
    #[bits(4)]
    pub segment_type: u8,
    /// S: 1 = code or data segment, 0 = system segment.
    pub non_system_segment: bool,
    /// DPL (bits 5..=6).
    #[bits(2)]
    pub descriptor_privilege_level: u8,
    /// P: present.
    pub present: bool,
    #[bits(4)]
    _reserved: u8,
    /// AVL: available for software.
    pub available: bool,
    /// L: 64-bit code segment.
    pub long: bool,
    /// D/B: default operation size.
    pub default: bool,
    /// G: limit granularity (4 KiB units).
    pub granularity: bool,
}

/// Flat 64-bit code segment: type 0xB (execute/read, accessed), S, P, L, G;
/// DPL 0 = **0xA09B**.
pub const X64_DEFAULT_CODE_SEGMENT_ATTRIBUTES: SegmentAttributes = SegmentAttributes::new()
    .with_segment_type(0xB)
    .with_non_system_segment(true)
    .with_present(true)
    .with_long(true)
    .with_granularity(true);

/// Flat data segment: type 0x3 (read/write, accessed), S, P, D/B, G; DPL 0
/// = **0xC093**.
pub const X64_DEFAULT_DATA_SEGMENT_ATTRIBUTES: SegmentAttributes = SegmentAttributes::new()
    .with_segment_type(0x3)
    .with_non_system_segment(true)
    .with_present(true)
    .with_default(true)
    .with_granularity(true);

/// 64-bit busy TSS: type 0xB, P, S = 0 = **0x008B**.
pub const X64_BUSY_TSS_SEGMENT_ATTRIBUTES: SegmentAttributes = SegmentAttributes::new()
    .with_segment_type(0xB)
    .with_present(true);

/// A segment selector (docs/abi.md §4.3).
///
/// `with_rpl` (2 bits) and `with_index` (13 bits) panic on values that do
/// not fit; [`SegmentSelector::from_gdt_index`] is the checked constructor.
#[bitfield(u16)]
#[derive(PartialEq, Eq, Hash)]
pub struct SegmentSelector {
    /// RPL: requested privilege level.
    #[bits(2)]
    pub rpl: u8,
    /// TI: table indicator (0 = GDT, 1 = LDT).
    pub ti: bool,
    /// Descriptor index in the table.
    #[bits(13)]
    pub index: u16,
}

impl SegmentSelector {
    /// The selector of GDT entry `index` with privilege `rpl` (TI = 0):
    /// `index << 3 | rpl`.
    ///
    /// Errors when `index` > 8191 or `rpl` > 3.
    pub const fn from_gdt_index(index: u16, rpl: u8) -> Result<Self, VpRegsError> {
        let Ok(selector) = Self::new().with_index_checked(index) else {
            return Err(VpRegsError::SelectorIndexTooLarge { index });
        };
        match selector.with_rpl_checked(rpl) {
            Ok(selector) => Ok(selector),
            Err(()) => Err(VpRegsError::SelectorRplTooLarge { rpl }),
        }
    }
}

/// A legacy 8-byte code/data segment descriptor in the GDT (docs/abi.md §4.4).
///
/// Built with [`GdtEntry::new`] (checked) or read back with
/// [`base`](Self::base), [`limit`](Self::limit) and
/// [`attributes`](Self::attributes).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, IntoBytes, FromBytes, Immutable, KnownLayout,
)]
pub struct GdtEntry {
    /// Limit bits 0..=15.
    pub limit_low: u16,
    /// Base bits 0..=15.
    pub base_low: u16,
    /// Base bits 16..=23.
    pub base_middle: u8,
    /// Low byte of the [`SegmentAttributes`].
    pub attr_low: u8,
    /// High byte of the [`SegmentAttributes`]; its low nibble is
    /// limit\[19:16\].
    pub attr_high: u8,
    /// Base bits 24..=31.
    pub base_high: u8,
}

static_assertions::const_assert_eq!(core::mem::size_of::<GdtEntry>(), 8);
static_assertions::const_assert_eq!(core::mem::offset_of!(GdtEntry, limit_low), 0);
static_assertions::const_assert_eq!(core::mem::offset_of!(GdtEntry, base_low), 2);
static_assertions::const_assert_eq!(core::mem::offset_of!(GdtEntry, base_middle), 4);
static_assertions::const_assert_eq!(core::mem::offset_of!(GdtEntry, attr_low), 5);
static_assertions::const_assert_eq!(core::mem::offset_of!(GdtEntry, attr_high), 6);
static_assertions::const_assert_eq!(core::mem::offset_of!(GdtEntry, base_high), 7);

impl GdtEntry {
    /// The all-zero (null) descriptor.
    pub const NULL: Self = Self {
        limit_low: 0,
        base_low: 0,
        base_middle: 0,
        attr_low: 0,
        attr_high: 0,
        base_high: 0,
    };

    /// A descriptor with a 32-bit `base`, a 20-bit `limit` and `attributes`.
    ///
    /// Errors when `limit` > 0xF_FFFF or when the attributes' reserved bits
    /// 8..=11 (the slot of limit\[19:16\]) are set.
    pub const fn new(
        base: u32,
        limit: u32,
        attributes: SegmentAttributes,
    ) -> Result<Self, VpRegsError> {
        if limit > 0xF_FFFF {
            return Err(VpRegsError::GdtLimitTooLarge { limit });
        }
        let attributes = attributes.into_bits();
        if attributes & 0x0F00 != 0 {
            return Err(VpRegsError::GdtAttributesReserved { attributes });
        }
        Ok(Self::from_parts(base, limit, attributes))
    }

    /// Splits the fields; callers guarantee `limit` ≤ 0xF_FFFF and
    /// `attributes & 0x0F00 == 0` (everything is masked anyway).
    const fn from_parts(base: u32, limit: u32, attributes: u16) -> Self {
        let [base0, base1, base2, base3] = base.to_le_bytes();
        let [limit0, limit1, limit2, _] = limit.to_le_bytes();
        let [attr_low, attr_high] = attributes.to_le_bytes();
        Self {
            limit_low: u16::from_le_bytes([limit0, limit1]),
            base_low: u16::from_le_bytes([base0, base1]),
            base_middle: base2,
            attr_low,
            attr_high: (attr_high & 0xF0) | (limit2 & 0x0F),
            base_high: base3,
        }
    }

    /// The 32-bit segment base.
    pub const fn base(&self) -> u32 {
        let [b0, b1] = self.base_low.to_le_bytes();
        u32::from_le_bytes([b0, b1, self.base_middle, self.base_high])
    }

    /// The 20-bit segment limit.
    pub const fn limit(&self) -> u32 {
        let [l0, l1] = self.limit_low.to_le_bytes();
        u32::from_le_bytes([l0, l1, self.attr_high & 0x0F, 0])
    }

    /// The segment attributes (bits 8..=11 zero).
    pub const fn attributes(&self) -> SegmentAttributes {
        SegmentAttributes::from_bits(u16::from_le_bytes([self.attr_low, self.attr_high & 0xF0]))
    }

    /// The descriptor as the little-endian u64 the CPU reads.
    pub const fn to_u64(&self) -> u64 {
        let [l0, l1] = self.limit_low.to_le_bytes();
        let [b0, b1] = self.base_low.to_le_bytes();
        u64::from_le_bytes([
            l0,
            l1,
            b0,
            b1,
            self.base_middle,
            self.attr_low,
            self.attr_high,
            self.base_high,
        ])
    }
}

// ---------------------------------------------------------------------------
// The paravisor loader's values
// ---------------------------------------------------------------------------

/// The x86-64 register values the paravisor loader sets (docs/abi.md §4.1, §4.4,
/// §4.5), for every isolation type.
pub mod paravisor {
    use super::GdtEntry;
    use super::SegmentRegister;
    use super::SegmentSelector;
    use super::TableRegister;
    use super::X64_BUSY_TSS_SEGMENT_ATTRIBUTES;
    use super::X64_CR0_NE;
    use super::X64_CR0_PE;
    use super::X64_CR0_PG;
    use super::X64_CR4_MCE;
    use super::X64_CR4_OSXSAVE;
    use super::X64_CR4_PAE;
    use super::X64_DEFAULT_CODE_SEGMENT_ATTRIBUTES;
    use super::X64_DEFAULT_DATA_SEGMENT_ATTRIBUTES;
    use super::X64_EFER_LMA;
    use super::X64_EFER_LME;
    use super::X64_EFER_NXE;
    use super::X86Register;
    use super::X86X_MSR_DEFAULT_PAT;

    /// What the boot processor's registers depend on in one image.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct BootAddresses {
        /// GPA of the GDT page (GDTR.base).
        pub gdt: u64,
        /// GPA of the PML4 (CR3).
        pub page_tables: u64,
        /// RSI: the shim parameters' offset from the shim base.
        pub shim_params_offset: u64,
        /// RIP: the shim's entry point.
        pub shim_entry: u64,
    }

    /// The boot processor's registers, in the loader's import order: GDTR,
    /// DS, ES, FS, GS, SS, CS, TR, CR0, CR3, CR4, EFER, PAT, RSI, RIP.
    pub const fn boot_registers(image: BootAddresses) -> [X86Register; 15] {
        let data = DATA_SEGMENT;
        [
            X86Register::Gdtr(TableRegister {
                base: image.gdt,
                limit: GDTR_LIMIT,
            }),
            X86Register::Ds(data),
            X86Register::Es(data),
            X86Register::Fs(data),
            X86Register::Gs(data),
            X86Register::Ss(data),
            X86Register::Cs(CODE_SEGMENT),
            X86Register::Tr(TR_SEGMENT),
            X86Register::Cr0(CR0),
            X86Register::Cr3(image.page_tables),
            X86Register::Cr4(CR4),
            X86Register::Efer(EFER),
            X86Register::Pat(PAT),
            X86Register::Rsi(image.shim_params_offset),
            X86Register::Rip(image.shim_entry),
        ]
    }

    /// CR0 = PG | PE | NE = **0x8000_0021**.
    pub const CR0: u64 = X64_CR0_PG | X64_CR0_PE | X64_CR0_NE;
    /// CR4 = PAE | MCE | OSXSAVE = **0x0004_0060**.
    pub const CR4: u64 = X64_CR4_PAE | X64_CR4_MCE | X64_CR4_OSXSAVE;
    /// EFER = LMA | LME | NXE = **0x0D00**.
    pub const EFER: u64 = X64_EFER_LMA | X64_EFER_LME | X64_EFER_NXE;
    /// PAT = the architectural default **0x0007_0406_0007_0406**.
    pub const PAT: u64 = X86X_MSR_DEFAULT_PAT;

    /// GDT index of the 64-bit code descriptor (indices 0 and 1 are null).
    pub const LINEAR_CODE64_DESCRIPTOR_INDEX: u16 = 2;
    /// GDT index of the data descriptor.
    pub const LINEAR_DATA_DESCRIPTOR_INDEX: u16 = 3;
    /// Number of GDT entries the loader writes.
    pub const GDT_ENTRY_COUNT: usize = 4;

    /// The paravisor GDT (32 bytes): two null entries, then a flat 64-bit
    /// code descriptor (limit 0xFFFF, attributes 0xA09B) and a flat data
    /// descriptor (limit 0xFFFF, attributes 0xC093), base 0.
    pub const GDT: [GdtEntry; GDT_ENTRY_COUNT] = [
        GdtEntry::NULL,
        GdtEntry::NULL,
        GdtEntry::from_parts(0, 0xFFFF, X64_DEFAULT_CODE_SEGMENT_ATTRIBUTES.into_bits()),
        GdtEntry::from_parts(0, 0xFFFF, X64_DEFAULT_DATA_SEGMENT_ATTRIBUTES.into_bits()),
    ];

    /// GDTR.limit = 4 × 8 − 1 = **0x1F** (GDTR.base is the GDT page GPA).
    pub const GDTR_LIMIT: u16 = 0x1F;

    /// CS selector: GDT index 2, RPL 0 = **0x0010**.
    pub const CODE_SELECTOR: SegmentSelector =
        SegmentSelector::new().with_index(LINEAR_CODE64_DESCRIPTOR_INDEX);
    /// DS/ES/FS/GS/SS selector: GDT index 3, RPL 0 = **0x0018**.
    pub const DATA_SELECTOR: SegmentSelector =
        SegmentSelector::new().with_index(LINEAR_DATA_DESCRIPTOR_INDEX);

    /// CS: selector 0x10, base 0, limit 0xFFFF_FFFF, attributes 0xA09B.
    pub const CODE_SEGMENT: SegmentRegister = SegmentRegister {
        base: 0,
        limit: 0xFFFF_FFFF,
        selector: CODE_SELECTOR.into_bits(),
        attributes: X64_DEFAULT_CODE_SEGMENT_ATTRIBUTES.into_bits(),
    };

    /// DS, ES, FS, GS and SS: selector 0x18, base 0, limit 0xFFFF_FFFF,
    /// attributes 0xC093.
    pub const DATA_SEGMENT: SegmentRegister = SegmentRegister {
        base: 0,
        limit: 0xFFFF_FFFF,
        selector: DATA_SELECTOR.into_bits(),
        attributes: X64_DEFAULT_DATA_SEGMENT_ATTRIBUTES.into_bits(),
    };

    /// TR in its reset-default state: selector 0, base 0, limit 0xFFFF,
    /// attributes 0x008B (a workaround for a host that zeroes TR when a
    /// higher VTL is enabled).
    pub const TR_SEGMENT: SegmentRegister = SegmentRegister {
        base: 0,
        limit: 0xFFFF,
        selector: 0,
        attributes: X64_BUSY_TSS_SEGMENT_ATTRIBUTES.into_bits(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerocopy::IntoBytes;

    #[test]
    fn control_register_bits_match_abi_4_1() {
        assert_eq!(X64_CR0_PE, 0x1);
        assert_eq!(X64_CR0_NE, 0x20);
        assert_eq!(X64_CR0_PG, 0x8000_0000);
        assert_eq!(X64_CR0_MP, 0x2);
        assert_eq!(X64_CR0_EM, 0x4);
        assert_eq!(X64_CR0_TS, 0x8);
        assert_eq!(X64_CR0_ET, 0x10);
        assert_eq!(X64_CR0_WP, 0x1_0000);
        assert_eq!(X64_CR0_AM, 0x4_0000);
        assert_eq!(X64_CR0_NW, 0x2000_0000);
        assert_eq!(X64_CR0_CD, 0x4000_0000);
        assert_eq!(X64_CR4_PAE, 0x20);
        assert_eq!(X64_CR4_MCE, 0x40);
        assert_eq!(X64_CR4_OSXSAVE, 0x4_0000);
        assert_eq!(X64_CR4_VME, 0x1);
        assert_eq!(X64_CR4_PVI, 0x2);
        assert_eq!(X64_CR4_TSD, 0x4);
        assert_eq!(X64_CR4_DE, 0x8);
        assert_eq!(X64_CR4_PSE, 0x10);
        assert_eq!(X64_CR4_PGE, 0x80);
        assert_eq!(X64_CR4_PCE, 0x100);
        assert_eq!(X64_CR4_FXSR, 0x200);
        assert_eq!(X64_CR4_XMMEXCPT, 0x400);
        assert_eq!(X64_CR4_UMIP, 0x800);
        assert_eq!(X64_CR4_LA57, 0x1000);
        assert_eq!(X64_CR4_VMXE, 0x2000);
        assert_eq!(X64_CR4_RWFSGS, 0x1_0000);
        assert_eq!(X64_CR4_PCIDE, 0x2_0000);
        assert_eq!(X64_CR4_SMEP, 0x10_0000);
        assert_eq!(X64_CR4_SMAP, 0x20_0000);
        assert_eq!(X64_CR4_CET, 0x80_0000);
        assert_eq!(X64_EFER_SCE, 0x1);
        assert_eq!(X64_EFER_LME, 0x100);
        assert_eq!(X64_EFER_LMA, 0x400);
        assert_eq!(X64_EFER_NXE, 0x800);
        assert_eq!(X64_EFER_SVME, 0x1000);
        assert_eq!(X64_EFER_FFXSR, 0x4000);
        assert_eq!(X86X_MSR_DEFAULT_PAT, 0x0007_0406_0007_0406);
    }

    #[test]
    fn paravisor_control_registers_match_abi_4_1() {
        assert_eq!(paravisor::CR0, 0x8000_0021);
        assert_eq!(paravisor::CR4, 0x0004_0060);
        assert_eq!(paravisor::EFER, 0x0D00);
        assert_eq!(paravisor::PAT, 0x0007_0406_0007_0406);
    }

    #[test]
    fn segment_attribute_constants_match_abi_4_2() {
        assert_eq!(X64_DEFAULT_CODE_SEGMENT_ATTRIBUTES.into_bits(), 0xA09B);
        assert_eq!(X64_DEFAULT_DATA_SEGMENT_ATTRIBUTES.into_bits(), 0xC093);
        assert_eq!(X64_BUSY_TSS_SEGMENT_ATTRIBUTES.into_bits(), 0x008B);
    }

    #[test]
    fn segment_attribute_fields_sit_at_abi_4_2_bits() {
        let a = SegmentAttributes::from_bits(0xFFFF);
        assert_eq!(a.segment_type(), 0xF);
        assert_eq!(
            SegmentAttributes::new()
                .with_non_system_segment(true)
                .into_bits(),
            1 << 4
        );
        assert_eq!(
            SegmentAttributes::new()
                .with_descriptor_privilege_level(3)
                .into_bits(),
            0b11 << 5
        );
        assert_eq!(
            SegmentAttributes::new().with_present(true).into_bits(),
            1 << 7
        );
        assert_eq!(
            SegmentAttributes::new().with_available(true).into_bits(),
            1 << 12
        );
        assert_eq!(
            SegmentAttributes::new().with_long(true).into_bits(),
            1 << 13
        );
        assert_eq!(
            SegmentAttributes::new().with_default(true).into_bits(),
            1 << 14
        );
        assert_eq!(
            SegmentAttributes::new().with_granularity(true).into_bits(),
            1 << 15
        );
    }

    #[test]
    fn selectors_match_abi_4_3() {
        assert_eq!(paravisor::CODE_SELECTOR.into_bits(), 0x0010);
        assert_eq!(paravisor::DATA_SELECTOR.into_bits(), 0x0018);
        assert_eq!(
            SegmentSelector::from_gdt_index(2, 0).unwrap().into_bits(),
            0x0010
        );
        assert_eq!(
            SegmentSelector::from_gdt_index(3, 0).unwrap().into_bits(),
            0x0018
        );
        assert_eq!(
            SegmentSelector::from_gdt_index(3, 3).unwrap().into_bits(),
            0x001B
        );
        assert_eq!(
            SegmentSelector::from_gdt_index(8191, 0)
                .unwrap()
                .into_bits(),
            0xFFF8
        );
    }

    #[test]
    fn selector_rejects_out_of_range_values() {
        assert_eq!(
            SegmentSelector::from_gdt_index(8192, 0),
            Err(VpRegsError::SelectorIndexTooLarge { index: 8192 })
        );
        assert_eq!(
            SegmentSelector::from_gdt_index(1, 4),
            Err(VpRegsError::SelectorRplTooLarge { rpl: 4 })
        );
    }

    #[test]
    fn paravisor_gdt_bytes_match_abi_4_4() {
        let expected: [u8; 32] = [
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // null
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // null
            0xFF, 0xFF, 0x00, 0x00, 0x00, 0x9B, 0xA0, 0x00, // code, selector 0x10
            0xFF, 0xFF, 0x00, 0x00, 0x00, 0x93, 0xC0, 0x00, // data, selector 0x18
        ];
        assert_eq!(paravisor::GDT.as_bytes(), &expected);
        assert_eq!(paravisor::GDT[2].to_u64(), 0x00A0_9B00_0000_FFFF);
        assert_eq!(paravisor::GDT[3].to_u64(), 0x00C0_9300_0000_FFFF);
        assert_eq!(paravisor::GDTR_LIMIT, 0x1F);
        assert_eq!(
            usize::from(paravisor::GDTR_LIMIT) + 1,
            core::mem::size_of_val(&paravisor::GDT)
        );
    }

    #[test]
    fn checked_gdt_entry_equals_paravisor_entries() {
        let code = GdtEntry::new(0, 0xFFFF, X64_DEFAULT_CODE_SEGMENT_ATTRIBUTES).unwrap();
        let data = GdtEntry::new(0, 0xFFFF, X64_DEFAULT_DATA_SEGMENT_ATTRIBUTES).unwrap();
        assert_eq!(code, paravisor::GDT[2]);
        assert_eq!(data, paravisor::GDT[3]);
    }

    #[test]
    fn gdt_entry_rejects_bad_limit_and_attributes() {
        assert_eq!(
            GdtEntry::new(0, 0x10_0000, X64_DEFAULT_CODE_SEGMENT_ATTRIBUTES),
            Err(VpRegsError::GdtLimitTooLarge { limit: 0x10_0000 })
        );
        assert_eq!(
            GdtEntry::new(0, 0, SegmentAttributes::from_bits(0x0100)),
            Err(VpRegsError::GdtAttributesReserved { attributes: 0x0100 })
        );
    }

    #[test]
    fn paravisor_segment_registers_match_abi_4_5() {
        let SegmentRegister {
            base,
            limit,
            selector,
            attributes,
        } = paravisor::DATA_SEGMENT;
        assert_eq!(
            (base, limit, selector, attributes),
            (0, 0xFFFF_FFFF, 0x0018, 0xC093)
        );
        let SegmentRegister {
            base,
            limit,
            selector,
            attributes,
        } = paravisor::CODE_SEGMENT;
        assert_eq!(
            (base, limit, selector, attributes),
            (0, 0xFFFF_FFFF, 0x0010, 0xA09B)
        );
        let SegmentRegister {
            base,
            limit,
            selector,
            attributes,
        } = paravisor::TR_SEGMENT;
        assert_eq!(
            (base, limit, selector, attributes),
            (0, 0x0000_FFFF, 0x0000, 0x008B)
        );
    }

    #[test]
    fn register_names_match_formats_2() {
        let t = TableRegister::default();
        let s = SegmentRegister::default();
        let cases = [
            (X86Register::Gdtr(t), "gdtr"),
            (X86Register::Idtr(t), "idtr"),
            (X86Register::Cs(s), "cs"),
            (X86Register::Ds(s), "ds"),
            (X86Register::Es(s), "es"),
            (X86Register::Fs(s), "fs"),
            (X86Register::Gs(s), "gs"),
            (X86Register::Ss(s), "ss"),
            (X86Register::Tr(s), "tr"),
            (X86Register::Cr0(0), "cr0"),
            (X86Register::Cr3(0), "cr3"),
            (X86Register::Cr4(0), "cr4"),
            (X86Register::Efer(0), "efer"),
            (X86Register::Pat(0), "pat"),
            (X86Register::Rbp(0), "rbp"),
            (X86Register::Rip(0), "rip"),
            (X86Register::Rsi(0), "rsi"),
            (X86Register::Rsp(0), "rsp"),
            (X86Register::R8(0), "r8"),
            (X86Register::R9(0), "r9"),
            (X86Register::R10(0), "r10"),
            (X86Register::R11(0), "r11"),
            (X86Register::R12(0), "r12"),
            (X86Register::Rflags(0), "rflags"),
            (X86Register::MtrrDefType(0), "mtrr_def_type"),
            (X86Register::MtrrPhysBase0(0), "mtrr_phys_base0"),
            (X86Register::MtrrPhysMask0(0), "mtrr_phys_mask0"),
            (X86Register::MtrrPhysBase1(0), "mtrr_phys_base1"),
            (X86Register::MtrrPhysMask1(0), "mtrr_phys_mask1"),
            (X86Register::MtrrPhysBase2(0), "mtrr_phys_base2"),
            (X86Register::MtrrPhysMask2(0), "mtrr_phys_mask2"),
            (X86Register::MtrrPhysBase3(0), "mtrr_phys_base3"),
            (X86Register::MtrrPhysMask3(0), "mtrr_phys_mask3"),
            (X86Register::MtrrPhysBase4(0), "mtrr_phys_base4"),
            (X86Register::MtrrPhysMask4(0), "mtrr_phys_mask4"),
            (X86Register::MtrrFix64k00000(0), "mtrr_fix64k_00000"),
            (X86Register::MtrrFix16k80000(0), "mtrr_fix16k_80000"),
            (X86Register::MtrrFix4kE0000(0), "mtrr_fix4k_e0000"),
            (X86Register::MtrrFix4kE8000(0), "mtrr_fix4k_e8000"),
            (X86Register::MtrrFix4kF0000(0), "mtrr_fix4k_f0000"),
            (X86Register::MtrrFix4kF8000(0), "mtrr_fix4k_f8000"),
        ];
        for (i, (reg, name)) in cases.iter().enumerate() {
            assert_eq!(reg.name(), *name);
            // Names are unique: an image summary keys registers by name.
            for (other, other_name) in &cases[..i] {
                assert_ne!(reg.name(), other.name(), "{name} vs {other_name}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn gdt_entry_round_trips_base_limit_attributes(
            base: u32,
            limit in 0u32..=0xF_FFFF,
            attrs: u16,
        ) {
            let attrs = SegmentAttributes::from_bits(attrs & !0x0F00);
            let entry = GdtEntry::new(base, limit, attrs).unwrap();
            proptest::prop_assert_eq!(entry.base(), base);
            proptest::prop_assert_eq!(entry.limit(), limit);
            proptest::prop_assert_eq!(entry.attributes(), attrs);
            proptest::prop_assert_eq!(entry.to_u64().to_le_bytes(), entry.as_bytes());
        }

        #[test]
        fn gdt_entry_new_never_panics(base: u32, limit: u32, attrs: u16) {
            let _ = GdtEntry::new(base, limit, SegmentAttributes::from_bits(attrs));
        }

        #[test]
        fn selector_is_index_shl_3_or_rpl(index in 0u16..8192, rpl in 0u8..4) {
            let sel = SegmentSelector::from_gdt_index(index, rpl).unwrap();
            proptest::prop_assert_eq!(sel.into_bits(), (index << 3) | u16::from(rpl));
        }
    }
}

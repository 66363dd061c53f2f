//! The AArch64 register values the paravisor loader sets (docs/abi.md §7.1 –
//! §7.6).

use super::Aarch64Register;
use super::Cpsr64;
use super::IntermPhysAddrSize;
use super::SctlrEl1;
use super::TranslationBaseEl1;
use super::TranslationControlEl1;
use super::TranslationGranule0;
use super::TranslationGranule1;
use super::mair::MemoryAttributeEl1;
use super::mair::MemoryAttributeIndirectionEl1;
use crate::VpRegsError;

/// What the boot processor's registers depend on in one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootAddresses {
    /// X0: the shim parameters' offset from the shim base.
    pub shim_params_offset: u64,
    /// PC: the shim's entry point.
    pub shim_entry: u64,
    /// TTBR0_EL1: GPA of the page tables (below 2^48, checked by the
    /// loader).
    pub page_tables: u64,
}

/// The boot processor's registers, in the loader's import order: X0,
/// PC, CPSR, SCTLR_EL1, TCR_EL1, MAIR_EL1, TTBR0_EL1, VBAR_EL1.
pub const fn boot_registers(image: BootAddresses) -> [Aarch64Register; 8] {
    [
        Aarch64Register::X0(image.shim_params_offset),
        Aarch64Register::Pc(image.shim_entry),
        Aarch64Register::Cpsr(CPSR.into_bits()),
        Aarch64Register::SctlrEl1(SCTLR_EL1.into_bits()),
        Aarch64Register::TcrEl1(TCR_EL1.into_bits()),
        Aarch64Register::MairEl1(MAIR_EL1.to_u64()),
        Aarch64Register::Ttbr0El1(image.page_tables),
        Aarch64Register::VbarEl1(VBAR_EL1),
    ]
}

/// CPSR: SP = 1, EL = 1 (EL1h), exceptions unmasked = **0x5**.
pub const CPSR: Cpsr64 = Cpsr64::new().with_sp(true).with_el(1);

/// SCTLR_EL1: M, C, I plus the RES1 bits EOS, TSCXT, EIS, SPAN, nTLSMD,
/// LSMAOE = **0x30D0_1805**.
pub const SCTLR_EL1: SctlrEl1 = SctlrEl1::new()
    .with_m(true)
    .with_c(true)
    .with_eos(true)
    .with_i(true)
    .with_tscxt(true)
    .with_eis(true)
    .with_span(true)
    .with_n_tlsmd(true)
    .with_lsmaoe(true);

/// TCR_EL1 = **0x5_8080_3511**: T0SZ 17 (47-bit TTBR0 space),
/// IRGN0/ORGN0 write-back write-allocate, SH0 inner shareable, TG0 4 KiB,
/// EPD1 (no TTBR1 walks), TG1 4 KiB (required despite EPD1 because of
/// erratum #822227), IPS 48 bits.
pub const TCR_EL1: TranslationControlEl1 = TranslationControlEl1::new()
    .with_t0sz(0x11)
    .with_irgn0(1)
    .with_orgn0(1)
    .with_sh0(3)
    .with_tg0(TranslationGranule0::Tg4Kb)
    .with_epd0(false)
    .with_epd1(true)
    .with_tg1(TranslationGranule1::Tg4Kb)
    .with_ips(IntermPhysAddrSize::Ipa48Bits256Tb);

/// MAIR_EL1 = [Device_nGnRnE, Normal_NonCacheable, Normal_WriteThrough,
/// Normal_WriteBack, Device_nGnRnE × 4] = **0xFFBB_4400**.
pub const MAIR_EL1: MemoryAttributeIndirectionEl1 = MemoryAttributeIndirectionEl1([
    MemoryAttributeEl1::DeviceNGnRnE,
    MemoryAttributeEl1::NormalNonCacheable,
    MemoryAttributeEl1::NormalWriteThrough,
    MemoryAttributeEl1::NormalWriteBack,
    MemoryAttributeEl1::DeviceNGnRnE,
    MemoryAttributeEl1::DeviceNGnRnE,
    MemoryAttributeEl1::DeviceNGnRnE,
    MemoryAttributeEl1::DeviceNGnRnE,
]);

/// AttrIndx of normal write-back memory in [`MAIR_EL1`] (first match) =
/// **3**; every page-table descriptor uses it.
pub const NORMAL_WRITE_BACK_ATTR_INDEX: u8 =
    match MAIR_EL1.index_of(MemoryAttributeEl1::NormalWriteBack) {
        Some(index) => index,
        None => 0xFF, // unreachable: MAIR_EL1 contains Normal_WriteBack
    };

/// VBAR_EL1 = 0 (no vector table; the shim sets its own).
pub const VBAR_EL1: u64 = 0;

/// TTBR0_EL1 = the page-table region GPA, ASID 0.
///
/// Errors when the GPA is 2^48 or above (the original panics).
pub const fn ttbr0_el1(page_table_gpa: u64) -> Result<TranslationBaseEl1, VpRegsError> {
    TranslationBaseEl1::try_new(page_table_gpa, 0)
}

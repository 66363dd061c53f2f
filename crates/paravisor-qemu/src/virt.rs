//! QEMU's AArch64 `virt` machine as the runner uses it: its memory map,
//! the reset stub at GPA 0 and the registers the stub sets.

use crate::error::Error;
use paravisor_boot::BootRegisters;
use vp_regs::aarch64::Aarch64Register;

/// First byte of RAM on QEMU's `virt` machine.
pub const VIRT_RAM_BASE: u64 = 0x4000_0000;

/// Bytes at the start of RAM that QEMU fills with its device tree when it
/// boots firmware (`-bios`): imported data may not go there.
pub const VIRT_DTB_RESERVED: u64 = 0x20_0000;

/// Size of the first flash bank of `virt` (GPA 0 up to this), which the
/// `-bios` image fills.
pub const VIRT_FLASH0_SIZE: u64 = 0x400_0000;

/// Machine code of the reset stub (`tests/arm64-shim/reset-stub.s`,
/// assembled), placed at GPA 0. It reads the register block at
/// [`RESET_STUB_REGS_OFFSET`] (see [`Aarch64Registers::stub_block`]), sets
/// HCR_EL2.RW, CPTR_EL2 (no FP traps), CNTHCTL_EL2 (EL1 timer access),
/// MAIR_EL1, TCR_EL1, TTBR0_EL1, VBAR_EL1, SCTLR_EL1, SPSR_EL2 = CPSR,
/// ELR_EL2 = PC, invalidates the EL1 TLBs, loads X0 and `ERET`s.
pub const RESET_STUB_CODE: [u32; 29] = [
    0x1000_0809, // adr   x9, regs
    0xd2b0_0001, // mov   x1, #0x80000000
    0xd51c_1101, // msr   hcr_el2, x1
    0xd286_7fe1, // mov   x1, #0x33ff
    0xd51c_1141, // msr   cptr_el2, x1
    0xd280_0061, // mov   x1, #0x3
    0xd51c_e101, // msr   cnthctl_el2, x1
    0xd51c_e07f, // msr   cntvoff_el2, xzr
    0xf940_1521, // ldr   x1, [x9, #40]
    0xd518_a201, // msr   mair_el1, x1
    0xf940_1121, // ldr   x1, [x9, #32]
    0xd518_2041, // msr   tcr_el1, x1
    0xf940_1921, // ldr   x1, [x9, #48]
    0xd518_2001, // msr   ttbr0_el1, x1
    0xf940_1d21, // ldr   x1, [x9, #56]
    0xd518_c001, // msr   vbar_el1, x1
    0xf940_0d21, // ldr   x1, [x9, #24]
    0xd518_1001, // msr   sctlr_el1, x1
    0xf940_0921, // ldr   x1, [x9, #16]
    0xd51c_4001, // msr   spsr_el2, x1
    0xf940_0521, // ldr   x1, [x9, #8]
    0xd51c_4021, // msr   elr_el2, x1
    0xd50c_879f, // tlbi  alle1
    0xd503_3f9f, // dsb   sy
    0xd503_3fdf, // isb
    0xf940_0120, // ldr   x0, [x9]
    0xd280_0001, // mov   x1, #0x0
    0xd280_0009, // mov   x9, #0x0
    0xd69f_03e0, // eret
];

/// Byte offset of the register block in the reset stub page.
pub const RESET_STUB_REGS_OFFSET: usize = 0x100;

/// The reset stub page: [`RESET_STUB_CODE`] followed, at
/// [`RESET_STUB_REGS_OFFSET`], by `registers`' block.
pub fn reset_stub_page(registers: &[u64; 8]) -> Vec<u8> {
    let mut page: Vec<u8> = RESET_STUB_CODE
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    page.resize(RESET_STUB_REGS_OFFSET, 0);
    page.extend(registers.iter().flat_map(|r| r.to_le_bytes()));
    page
}

/// The boot processor's registers, as the AArch64 paravisor loader imports
/// them (docs/abi.md §7.6). Every one must be set: the loader sets all of them,
/// and a boot with a missing register would silently use QEMU's reset value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Aarch64Registers {
    /// X0 (shim-parameter offset from the shim base).
    pub x0: Option<u64>,
    /// PC (shim entry point).
    pub pc: Option<u64>,
    /// CPSR (PSTATE in SPSR layout).
    pub cpsr: Option<u64>,
    /// SCTLR_EL1.
    pub sctlr_el1: Option<u64>,
    /// TCR_EL1.
    pub tcr_el1: Option<u64>,
    /// MAIR_EL1.
    pub mair_el1: Option<u64>,
    /// TTBR0_EL1.
    pub ttbr0_el1: Option<u64>,
    /// VBAR_EL1.
    pub vbar_el1: Option<u64>,
}

impl Aarch64Registers {
    /// The paravisor loader's fixed values (docs/abi.md §7.6: CPSR 0x5, SCTLR_EL1
    /// 0x30D0_1805, TCR_EL1 0x5_8080_3511, MAIR_EL1 0xFFBB_4400, VBAR_EL1 0)
    /// with the given PC, X0 and TTBR0_EL1 — for hand-built images.
    pub const fn paravisor_defaults(pc: u64, x0: u64, ttbr0_el1: u64) -> Self {
        Self {
            x0: Some(x0),
            pc: Some(pc),
            cpsr: Some(0x5),
            sctlr_el1: Some(0x30D0_1805),
            tcr_el1: Some(0x5_8080_3511),
            mair_el1: Some(0xFFBB_4400),
            ttbr0_el1: Some(ttbr0_el1),
            vbar_el1: Some(0),
        }
    }

    /// The register block the reset stub reads: X0, PC, CPSR, SCTLR_EL1,
    /// TCR_EL1, MAIR_EL1, TTBR0_EL1, VBAR_EL1 (8 bytes each, in this order).
    pub fn stub_block(&self) -> Result<[u64; 8], Error> {
        let need =
            |value: Option<u64>, name: &'static str| value.ok_or(Error::MissingRegister { name });
        Ok([
            need(self.x0, "x0")?,
            need(self.pc, "pc")?,
            need(self.cpsr, "cpsr")?,
            need(self.sctlr_el1, "sctlr_el1")?,
            need(self.tcr_el1, "tcr_el1")?,
            need(self.mair_el1, "mair_el1")?,
            need(self.ttbr0_el1, "ttbr0_el1")?,
            need(self.vbar_el1, "vbar_el1")?,
        ])
    }
}

impl BootRegisters for Aarch64Registers {
    type Register = Aarch64Register;
    const HAS_VP_CONTEXT_PAGE: bool = false;

    /// Sets the field of `register`; `false` for a register the reset
    /// stub does not set.
    fn set(&mut self, register: &Aarch64Register) -> bool {
        let slot = match register {
            Aarch64Register::X0(_) => &mut self.x0,
            Aarch64Register::Pc(_) => &mut self.pc,
            Aarch64Register::Cpsr(_) => &mut self.cpsr,
            Aarch64Register::SctlrEl1(_) => &mut self.sctlr_el1,
            Aarch64Register::TcrEl1(_) => &mut self.tcr_el1,
            Aarch64Register::MairEl1(_) => &mut self.mair_el1,
            Aarch64Register::Ttbr0El1(_) => &mut self.ttbr0_el1,
            Aarch64Register::VbarEl1(_) => &mut self.vbar_el1,
            _ => return false,
        };
        *slot = Some(register.value());
        true
    }
}

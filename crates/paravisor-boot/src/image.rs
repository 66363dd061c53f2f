//! The boot image: RAM, its initial contents and the boot processor's
//! registers, and the register sets runners can give their processor.

/// Bytes of guest memory at one guest-physical address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageData {
    /// Guest-physical address of the first byte.
    pub gpa: u64,
    /// The bytes (any length; memory not covered stays zero).
    pub data: Vec<u8>,
}

/// One range of guest-physical memory that must be RAM,
/// `[gpa, gpa + size)` (for example all of VTL2 memory, of which the loader
/// imports only a part).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RamRange {
    /// First guest-physical address.
    pub gpa: u64,
    /// Size in bytes.
    pub size: u64,
}

impl RamRange {
    /// One past the last byte, or `None` when it overflows.
    pub fn end(&self) -> Option<u64> {
        self.gpa.checked_add(self.size)
    }
}

/// Everything needed to boot: RAM, its initial contents and the boot
/// processor's registers `R`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BootImage<R> {
    /// Ranges that must be RAM besides the imported page data (for example
    /// all of VTL2 memory).
    pub ram: Vec<RamRange>,
    /// Initial memory contents.
    pub pages: Vec<PageData>,
    /// Boot processor register state.
    pub registers: R,
}

/// The register set a runner can give its boot processor, filled from the
/// registers a loader imports.
pub trait BootRegisters: Clone + Default {
    /// The loader's register type (`vp_regs::x86_64::X86Register`,
    /// `vp_regs::aarch64::Aarch64Register`).
    type Register: paravisor_host::register::SummaryRegister + Copy + std::fmt::Debug;

    /// Whether the architecture has an SNP VP-context (VMSA) page; when it
    /// has none, [`crate::BootImageImporter`] refuses `set_vp_context_page`.
    const HAS_VP_CONTEXT_PAGE: bool;

    /// Sets `register`; `false` (nothing changed) for a register this
    /// runner cannot set.
    fn set(&mut self, register: &Self::Register) -> bool;
}

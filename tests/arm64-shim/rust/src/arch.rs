//! AArch64 system-register reads, address translation, the MMU-off read
//! of the VTL0 configuration, and the jump to the kernel.

use core::arch::asm;

macro_rules! read_sysreg {
    ($name:ident, $reg:literal) => {
        /// Reads the system register of the same name.
        pub fn $name() -> u64 {
            let value: u64;
            // SAFETY: reading an EL1 system register has no side effects.
            unsafe { asm!(concat!("mrs {}, ", $reg), out(reg) value, options(nomem, nostack)) };
            value
        }
    };
}

read_sysreg!(sctlr_el1, "sctlr_el1");
read_sysreg!(tcr_el1, "tcr_el1");
read_sysreg!(mair_el1, "mair_el1");
read_sysreg!(ttbr0_el1, "ttbr0_el1");
read_sysreg!(esr_el1, "esr_el1");
read_sysreg!(elr_el1, "elr_el1");
read_sysreg!(far_el1, "far_el1");

/// The MMU's own translation of `va` for an EL1 read (`AT S1E1R`): the
/// physical address, or `None` if the translation faults.
pub fn translate_el1_read(va: u64) -> Option<u64> {
    let par: u64;
    // SAFETY: AT only writes PAR_EL1; it never faults.
    unsafe {
        asm!("at s1e1r, {va}", "isb", "mrs {par}, par_el1", va = in(reg) va, par = out(reg) par,
            options(nostack));
    }
    if par & 1 != 0 {
        None
    } else {
        Some((par & 0x0000_FFFF_FFFF_F000) | (va & 0xFFF))
    }
}

/// Reads `N` 8-byte words at physical address `pa` with the MMU briefly
/// off (for memory the loader's tables do not map). Everything runs in
/// registers: with the MMU off every access is Device memory.
pub fn read_words_mmu_off<const N: usize>(pa: u64) -> [u64; N] {
    let mut words = [0u64; N];
    let out = words.as_mut_ptr();
    // SAFETY: the shim runs identity mapped, so instruction fetch goes on
    // at the same addresses with the MMU off. The loop only reads `pa`
    // (aligned words, the caller's choice of readable memory) and writes
    // the local array, whose address is identity mapped too. SCTLR_EL1 is
    // restored before returning.
    unsafe {
        asm!(
            "mrs {sctlr}, sctlr_el1",
            "bic {tmp}, {sctlr}, #1",
            "dsb sy",
            "msr sctlr_el1, {tmp}",
            "isb",
            "2:",
            "cbz {n}, 3f",
            "ldr {tmp}, [{src}], #8",
            "str {tmp}, [{dst}], #8",
            "sub {n}, {n}, #1",
            "b 2b",
            "3:",
            "dsb sy",
            "msr sctlr_el1, {sctlr}",
            "isb",
            sctlr = out(reg) _,
            tmp = out(reg) _,
            n = inout(reg) N => _,
            src = inout(reg) pa => _,
            dst = inout(reg) out => _,
            options(nostack),
        );
    }
    words
}

/// Enters the kernel at `entry` with X0 = 0 (no device tree).
///
/// # Safety
/// `entry` must be executable code that never returns.
pub unsafe fn jump_to_kernel(entry: u64) -> ! {
    // SAFETY: the caller guarantees `entry` is the kernel's entry point.
    unsafe {
        asm!("mov x0, xzr", "mov x1, xzr", "mov x2, xzr", "mov x3, xzr", "br x4",
            in("x4") entry, options(noreturn));
    }
}

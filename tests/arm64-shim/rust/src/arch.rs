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

/// Enters a kernel `Image` at `entry` the way the arm64 boot protocol
/// asks (Linux `Documentation/arch/arm64/booting.rst`): the device tree at
/// `dtb` (`dtb_size` bytes) cleaned to the point of coherency, interrupts
/// masked (DAIF), the MMU and the D-cache off (SCTLR_EL1.M and .C clear),
/// the I-cache invalidated, x0 = `dtb`, x1 = x2 = x3 = 0.
///
/// # Safety
/// `entry` must be a kernel entry that never returns, and the code running
/// this must be identity mapped (it goes on fetching at the same addresses
/// once the MMU is off).
pub unsafe fn enter_image(entry: u64, dtb: u64, dtb_size: u64) -> ! {
    // SAFETY: cache maintenance by VA of the tree (mapped, written by the
    // shim), then the MMU off under identity-mapped code; the caller
    // guarantees `entry`.
    unsafe {
        asm!(
            "msr daifset, #0xf",
            // Clean and invalidate the tree to PoC, 64 bytes at a time
            // (the smallest cache line of any Armv8 CPU is 16 bytes;
            // CTR_EL0.DminLine of the Cortex-A57 is 64 bytes).
            // x9 = end, x10 = line, x11 = SCTLR_EL1 (scratch: no return).
            "add x9, x20, x21",
            "bic x10, x20, #63",
            "2:",
            "dc civac, x10",
            "add x10, x10, #64",
            "cmp x10, x9",
            "b.lo 2b",
            "dsb sy",
            "mrs x11, sctlr_el1",
            "bic x11, x11, #1",        // M: MMU off
            "bic x11, x11, #(1 << 2)", // C: D-cache off
            "msr sctlr_el1, x11",
            "isb",
            "ic iallu",
            "tlbi vmalle1",
            "dsb sy",
            "isb",
            "mov x0, x20",
            "mov x1, xzr",
            "mov x2, xzr",
            "mov x3, xzr",
            "br x22",
            in("x20") dtb,
            in("x21") dtb_size,
            in("x22") entry,
            options(noreturn),
        );
    }
}

//! The few privileged x86-64 instructions the shim needs.

use core::arch::asm;

/// Writes one byte to an I/O port.
pub fn outb(port: u16, value: u8) {
    // SAFETY: port output has no memory effects; the shim runs at CPL 0.
    unsafe {
        asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags))
    };
}

/// Reads CR0.
pub fn cr0() -> u64 {
    let v: u64;
    // SAFETY: reading a control register at CPL 0 has no side effects.
    unsafe { asm!("mov {}, cr0", out(reg) v, options(nomem, nostack, preserves_flags)) };
    v
}

/// Reads CR3.
pub fn cr3() -> u64 {
    let v: u64;
    // SAFETY: reading a control register at CPL 0 has no side effects.
    unsafe { asm!("mov {}, cr3", out(reg) v, options(nomem, nostack, preserves_flags)) };
    v
}

/// Reloads CR3 with its own value, flushing non-global TLB entries.
pub fn flush_tlb() {
    // SAFETY: rewriting CR3 with its current value keeps the same tables.
    unsafe {
        asm!("mov rax, cr3", "mov cr3, rax", out("rax") _, options(nostack, preserves_flags))
    };
}

/// Reads a model-specific register.
pub fn rdmsr(msr: u32) -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: the MSRs read (EFER, PAT) exist on every x86-64 processor.
    unsafe {
        asm!("rdmsr", in("ecx") msr, out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags))
    };
    u64::from(hi) << 32 | u64::from(lo)
}

/// The segment selectors currently loaded: CS, DS, ES, FS, GS, SS, TR.
pub fn selectors() -> [u16; 7] {
    let (cs, ds, es, fs, gs, ss, tr): (u16, u16, u16, u16, u16, u16, u16);
    // SAFETY: reading segment selectors and the task register has no side
    // effects.
    unsafe {
        asm!(
            "mov {0:x}, cs", "mov {1:x}, ds", "mov {2:x}, es", "mov {3:x}, fs",
            "mov {4:x}, gs", "mov {5:x}, ss", "str {6:x}",
            out(reg) cs, out(reg) ds, out(reg) es, out(reg) fs,
            out(reg) gs, out(reg) ss, out(reg) tr,
            options(nomem, nostack, preserves_flags),
        )
    };
    [cs, ds, es, fs, gs, ss, tr]
}

/// GDTR as (base, limit).
pub fn gdtr() -> (u64, u16) {
    let mut buf = [0u8; 10];
    // SAFETY: SGDT stores 10 bytes into the buffer.
    unsafe { asm!("sgdt [{}]", in(reg) buf.as_mut_ptr(), options(nostack, preserves_flags)) };
    let limit = u16::from_le_bytes([buf[0], buf[1]]);
    let mut base = [0u8; 8];
    base.copy_from_slice(&buf[2..10]);
    (u64::from_le_bytes(base), limit)
}

/// Halts forever.
pub fn halt() -> ! {
    loop {
        // SAFETY: interrupts are off; HLT stops the vCPU.
        unsafe { asm!("cli", "hlt", options(nomem, nostack)) };
    }
}

/// Enters the kernel at `entry` (64-bit code, same privilege level) with
/// RSI = `boot_params` (the Linux x86 64-bit boot protocol) and never
/// returns.
pub fn enter_kernel(entry: u64, boot_params: u64) -> ! {
    // SAFETY: the caller checked that `entry` lies in the kernel image the
    // loader placed in identity-mapped VTL2 memory; interrupts are off.
    unsafe { asm!("cli", "jmp {}", in(reg) entry, in("rsi") boot_params, options(noreturn)) }
}

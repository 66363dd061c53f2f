//! Entry point: record the state the loader handed over, stack, vectors,
//! self-relocation, then the checks, then the hand-off to the kernel.
//!
//! The shim is a static PIE linked at 0 and loaded at a page-aligned base
//! (`docs/algorithms.md` §8 step 11), so before any Rust code uses a pointer
//! stored in data it applies its own `R_AARCH64_RELATIVE` relocations.

use crate::arch;
use crate::checks;
use crate::console;
use crate::handoff;
use crate::println;
use core::arch::global_asm;

/// Size of the shim's stack (in .bss, so imported as zero pages).
const STACK_SIZE: usize = 64 * 1024;

#[repr(C, align(16))]
struct Stack([u8; STACK_SIZE]);

#[unsafe(no_mangle)]
static mut SHIM_STACK: Stack = Stack([0; STACK_SIZE]);

/// What the entry code saw before it changed anything.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct EntryState {
    /// Load base: run-time address of the first byte (link address 0).
    pub base: u64,
    /// X0 at entry: shim parameter page offset from `base`.
    pub params_offset: u64,
    /// VBAR_EL1 at entry (before the shim installs its vectors).
    pub vbar_el1: u64,
    /// CurrentEL at entry.
    pub current_el: u64,
    /// SPSel at entry.
    pub spsel: u64,
    /// DAIF at entry.
    pub daif: u64,
    /// Number of relocation records of a type the shim cannot apply.
    pub unsupported_relocations: u64,
}

global_asm!(
    ".section .text.entry, \"ax\"",
    ".globl _start",
    "_start:",
    // Keep what the loader handed over in callee-saved registers.
    "    mov x19, x0",
    "    mrs x20, vbar_el1",
    "    mrs x21, currentel",
    "    mrs x22, spsel",
    "    mrs x23, daif",
    // The loader leaves CPACR_EL1 at its reset value, which traps FP/SIMD;
    // compiled Rust uses SIMD registers (memcpy, formatting), so allow them
    // (CPACR_EL1.FPEN = 0b11) before the first Rust instruction.
    "    mov x1, #(3 << 20)",
    "    msr cpacr_el1, x1",
    "    isb",
    "    adrp x1, {stack}",
    "    add x1, x1, :lo12:{stack}",
    "    mov x2, #{stack_size}",
    "    add sp, x1, x2",
    "    adrp x1, shim_vectors",
    "    add x1, x1, :lo12:shim_vectors",
    "    msr vbar_el1, x1",
    "    isb",
    "    adrp x0, __shim_base",
    "    add x0, x0, :lo12:__shim_base",
    "    adrp x1, _DYNAMIC",
    "    add x1, x1, :lo12:_DYNAMIC",
    "    bl {relocate}",
    // EntryState on the stack, then entry_main(&state).
    "    sub sp, sp, #64",
    "    adrp x1, __shim_base",
    "    add x1, x1, :lo12:__shim_base",
    "    stp x1, x19, [sp, #0]",
    "    stp x20, x21, [sp, #16]",
    "    stp x22, x23, [sp, #32]",
    "    str x0, [sp, #48]",
    "    mov x0, sp",
    "    bl {main}",
    "2:  wfi",
    "    b 2b",
    // Exception vectors: 16 entries of 0x80 bytes, each calling
    // `exception(index)`.
    ".balign 0x800",
    ".globl shim_vectors",
    "shim_vectors:",
    ".irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15",
    ".balign 0x80",
    "    mov x0, #\\i",
    "    b 4f",
    ".endr",
    // A fresh stack (the fault may have been a stack fault), then report.
    "4:  adrp x1, {stack}",
    "    add x1, x1, :lo12:{stack}",
    "    mov x2, #{stack_size}",
    "    add sp, x1, x2",
    "    b {exception}",
    stack = sym SHIM_STACK,
    stack_size = const STACK_SIZE,
    relocate = sym relocate,
    main = sym entry_main,
    exception = sym exception,
);

const DT_NULL: u64 = 0;
const DT_RELA: u64 = 7;
const DT_RELASZ: u64 = 8;
const DT_RELAENT: u64 = 9;
const R_AARCH64_RELATIVE: u64 = 1027;

/// Applies the image's `R_AARCH64_RELATIVE` relocations for load base
/// `base`; returns how many records had another type (0 expected).
///
/// Runs before relocation, so it only uses its arguments, the stack and
/// plain arithmetic: no data that holds pointers.
///
/// # Safety
/// `dynamic` is the run-time address of this image's `_DYNAMIC` and `base`
/// the run-time address of its first byte; called once, first thing.
unsafe extern "C" fn relocate(base: u64, dynamic: *const u64) -> u64 {
    let (mut rela, mut relasz, mut relaent) = (0u64, 0u64, 24u64);
    let mut entry = dynamic;
    loop {
        // SAFETY: the dynamic section is a DT_NULL-terminated array of
        // (tag, value) pairs inside the loaded image.
        let (tag, value) = unsafe { (entry.read(), entry.add(1).read()) };
        match tag {
            DT_NULL => break,
            DT_RELA => rela = value,
            DT_RELASZ => relasz = value,
            DT_RELAENT => relaent = value,
            _ => {}
        }
        // SAFETY: not past DT_NULL, which ends the array.
        entry = unsafe { entry.add(2) };
    }
    let mut unsupported = 0;
    if relaent == 0 {
        return 0;
    }
    let count = relasz / relaent;
    let mut i = 0;
    while i < count {
        let record = (base + rela + i * relaent) as *const u64;
        // SAFETY: record i of the RELA table inside the loaded image.
        let (offset, info, addend) =
            unsafe { (record.read(), record.add(1).read(), record.add(2).read()) };
        if info & 0xFFFF_FFFF == R_AARCH64_RELATIVE {
            // SAFETY: a relative relocation names a word inside the image.
            unsafe { ((base + offset) as *mut u64).write(base.wrapping_add(addend)) };
        } else {
            unsupported += 1;
        }
        i += 1;
    }
    unsupported
}

/// Rust entry: runs the checks, then hands off to the kernel (device tree,
/// MMU off, x0 = the tree: `handoff`).
extern "C" fn entry_main(state: &EntryState) -> ! {
    println!("SHIM: AArch64 test shim (Rust) started");
    match checks::run(state) {
        Some(handoff) => {
            let e = handoff::enter_kernel(&handoff);
            println!("SHIM: FATAL: cannot build the device tree: {}", e);
            console::exit(2)
        }
        None => {
            println!("SHIM: FATAL: cannot find the kernel");
            console::exit(2)
        }
    }
}

/// Reports an exception and exits with status 3.
extern "C" fn exception(vector: u64) -> ! {
    println!("EXCEPTION: the shim took an exception");
    println!("INFO vector {:#018x}", vector);
    println!("INFO esr_el1 {:#018x}", arch::esr_el1());
    println!("INFO elr_el1 {:#018x}", arch::elr_el1());
    println!("INFO far_el1 {:#018x}", arch::far_el1());
    console::exit(3)
}

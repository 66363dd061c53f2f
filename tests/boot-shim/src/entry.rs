//! Entry point: stack, SSE, self-relocation, then `shim_main`.
//!
//! The loader enters the shim in 64-bit mode with paging on (identity map),
//! interrupts off, no stack, and RSI = the offset of the shim parameter page
//! from the shim's load base (`docs/algorithms.md` §7.1 step 33.14). The shim
//! is a static PIE linked at 0 and loaded at some page-aligned base (step
//! 12), so before any Rust code touches a pointer stored in data it applies
//! its own `R_X86_64_RELATIVE` relocations.

use core::arch::global_asm;

/// Size of the shim's stack (in .bss, so imported as zero pages).
const STACK_SIZE: usize = 64 * 1024;

#[repr(C, align(16))]
struct Stack([u8; STACK_SIZE]);

#[unsafe(no_mangle)]
static mut SHIM_STACK: Stack = Stack([0; STACK_SIZE]);

/// What the entry code saw before it changed anything.
#[derive(Clone, Copy)]
pub struct EntryState {
    /// Load base: run-time address of the ELF header (link address 0).
    pub base: u64,
    /// RSI at entry: shim parameter page offset from `base`.
    pub params_offset: u64,
    /// CR4 at entry.
    pub cr4: u64,
    /// RFLAGS at entry.
    pub rflags: u64,
    /// Number of relocation records of a type the shim cannot apply.
    pub unsupported_relocations: u64,
}

global_asm!(
    ".section .text.entry, \"ax\"",
    ".globl _start",
    "_start:",
    // Keep what the loader handed over in callee-saved registers.
    "    mov r12, rsi",
    "    mov r13, cr4",
    "    lea rsp, [rip + {stack} + {stack_size}]",
    "    pushfq",
    "    pop r14",
    "    lea rdi, [rip + __ehdr_start]",
    "    lea rsi, [rip + _DYNAMIC]",
    "    call {relocate}",
    // shim_main(base, params_offset, cr4, rflags, unsupported_relocations)
    "    mov r8, rax",
    "    lea rdi, [rip + __ehdr_start]",
    "    mov rsi, r12",
    "    mov rdx, r13",
    "    mov rcx, r14",
    "    call {main}",
    "2:  cli",
    "    hlt",
    "    jmp 2b",
    stack = sym SHIM_STACK,
    stack_size = const STACK_SIZE,
    relocate = sym relocate,
    main = sym entry_main,
);

const DT_NULL: u64 = 0;
const DT_RELA: u64 = 7;
const DT_RELASZ: u64 = 8;
const DT_RELAENT: u64 = 9;
const R_X86_64_RELATIVE: u64 = 8;

/// Applies the image's `R_X86_64_RELATIVE` relocations for load base
/// `base`; returns how many records had another type (0 expected).
///
/// Runs before relocation, so it only uses its arguments, the stack and
/// plain arithmetic: no data that holds pointers.
///
/// # Safety
/// `dynamic` is the run-time address of this image's `_DYNAMIC` and `base`
/// the run-time address of its first byte; called once, first thing.
unsafe extern "C" fn relocate(base: u64, dynamic: *const u64) -> u64 {
    let mut rela = 0u64;
    let mut relasz = 0u64;
    let mut relaent = 24u64;
    let mut entry = dynamic;
    loop {
        // SAFETY: the dynamic section is a DT_NULL-terminated array of
        // (tag, value) pairs inside this loaded image.
        let (tag, value) = unsafe { (entry.read_volatile(), entry.add(1).read_volatile()) };
        match tag {
            DT_NULL => break,
            DT_RELA => rela = value,
            DT_RELASZ => relasz = value,
            DT_RELAENT => relaent = value,
            _ => {}
        }
        // SAFETY: still inside the array: the terminator was not reached.
        entry = unsafe { entry.add(2) };
    }
    if relaent == 0 {
        return u64::MAX;
    }
    let count = relasz / relaent;
    let mut unsupported = 0u64;
    let mut i = 0u64;
    while i < count {
        let record = base
            .wrapping_add(rela)
            .wrapping_add(i.wrapping_mul(relaent)) as *const u64;
        // SAFETY: record i of the RELA table named by the dynamic section,
        // inside this loaded image.
        let (offset, info, addend) = unsafe {
            (
                record.read_volatile(),
                record.add(1).read_volatile(),
                record.add(2).read_volatile(),
            )
        };
        if info & 0xFFFF_FFFF == R_X86_64_RELATIVE {
            let target = base.wrapping_add(offset) as *mut u64;
            // SAFETY: the linker emitted this record for a pointer-sized slot
            // inside this image's writable data.
            unsafe { target.write_volatile(base.wrapping_add(addend)) };
        } else {
            unsupported = unsupported.wrapping_add(1);
        }
        i = i.wrapping_add(1);
    }
    unsupported
}

extern "C" fn entry_main(
    base: u64,
    params_offset: u64,
    cr4: u64,
    rflags: u64,
    unsupported_relocations: u64,
) -> ! {
    crate::shim_main(EntryState {
        base,
        params_offset,
        cr4,
        rflags,
        unsupported_relocations,
    })
}

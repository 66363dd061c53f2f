//! Link-time proof that no panic is reachable from the library entry points.
//!
//! A freestanding binary (no std, no libc) that calls every public entry
//! point of the loader crates with inputs the optimiser cannot see
//! ([`core::hint::black_box`]): table builders and walkers, the ELF and
//! `Image` loaders, the layout readers, the CPUID reader, and the full
//! x86-64 and AArch64 loads into the guest-memory importer. Its panic handler calls [`paravisor_panic_path_reachable`],
//! a symbol that is defined nowhere. Built with `lto = true` and
//! `codegen-units = 1`, the link succeeds only if the optimiser removed
//! every call to the panic handler, that is, if no panic is reachable from
//! any input.
//!
//! Build (from this folder): `cargo build --release`. A link error naming
//! `paravisor_panic_path_reachable` means a panic path survived; build with
//! `--no-default-features --features <group>` to find which entry point
//! keeps it. The binary also runs (`target/x86_64-unknown-linux-gnu/release/
//! no-panic`, exit status 0) on all-zero inputs.
//!
//! The same groups measure code size: `size.sh` builds the binary once per
//! group and reports the `.text` bytes each adds (docs/CODE_SIZE.md).

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod entry_points;
mod mem;

use core::arch::asm;
use core::arch::global_asm;
use core::panic::PanicInfo;

unsafe extern "C" {
    /// Defined nowhere, on purpose: any surviving reference fails the link.
    fn paravisor_panic_path_reachable() -> !;
}

#[panic_handler]
fn panic(_info: &PanicInfo<'_>) -> ! {
    // SAFETY: never executed in a binary that links: the symbol does not
    // exist, so a reachable call is a link error, which is the point.
    unsafe { paravisor_panic_path_reachable() }
}

// The process entry point: align the stack, call `entry`.
global_asm!(
    ".globl _start",
    "_start:",
    "    xor ebp, ebp",
    "    and rsp, -16",
    "    call {entry}",
    "    ud2",
    entry = sym entry,
);

extern "C" fn entry() -> ! {
    entry_points::run();
    exit(0)
}

/// Linux `exit_group(code)`.
fn exit(code: i32) -> ! {
    // SAFETY: exit_group (231) takes one integer argument and does not
    // return; no memory is touched.
    unsafe {
        asm!("syscall", in("rax") 231, in("rdi") code, options(noreturn, nostack));
    }
}

//! A test boot shim for the x86-64 paravisor image.
//!
//! The loader places this shim in VTL2 memory and starts the boot processor
//! in it (`docs/algorithms.md` §7). It checks what it was given, reports one
//! line per check on COM1 (`CHECK <name> OK <detail>` or
//! `CHECK <name> FAIL <detail>`), and, if every check passed, jumps to the
//! kernel entry point. The KVM boot tests (`tests/tests/boot_kvm.rs`)
//! require every check line and the test kernel's line.
//!
//! It is `#![no_std]`, `#![no_main]`, position independent and linked
//! freestanding (see `.cargo/config.toml`), and it uses the workspace's own
//! crates — `paravisor-layout` to read its parameters, `x86-pagetables`'
//! walker to inspect the live page tables, `snp-cpuid`'s reader on the
//! reserved region, `crc32fast` for the initrd — so
//! building it is also the proof that those crates need neither `std` nor an
//! allocator.

#![no_std]
#![no_main]

mod arch;
mod checks;
mod entry;
mod linux;
mod mem;
mod serial;

use core::panic::PanicInfo;

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    println!("CHECK panic FAIL {}", info);
    println!("SHIM: panicked; halting");
    arch::halt()
}

/// Called by the entry code with the state the loader handed over.
pub fn shim_main(state: entry::EntryState) -> ! {
    println!(
        "SHIM: test boot shim running, load base {:#x}, RSI {:#x}",
        state.base, state.params_offset
    );
    let outcome = checks::run(&state);
    if outcome.failed == 0
        && let (Some(kernel_entry), Some(layout)) = (outcome.kernel_entry, &outcome.layout)
    {
        let boot_params = linux::build_boot_params(layout);
        println!(
            "SHIM: all {} checks passed; jumping to the kernel entry point at {:#x} with RSI {:#x}",
            outcome.passed, kernel_entry, boot_params
        );
        arch::enter_kernel(kernel_entry, boot_params);
    }
    println!(
        "SHIM: {} checks passed, {} FAILED; not starting the kernel",
        outcome.passed, outcome.failed
    );
    arch::halt()
}

//! AArch64 test boot shim for the paravisor loader's QEMU boot test, in
//! `no_std` Rust, linking the workspace's own crates: `paravisor-layout`
//! reads the shim parameters, command line and measured configs;
//! `arm64-pagetables`' walker reads the live translation tables;
//! `crc32fast` checks the initrd. So the same code demonstrably runs inside
//! an AArch64 boot shim.
//!
//! Entered at EL1h with the MMU on through the loader's identity tables,
//! X0 = offset of the shim parameters from the shim's lowest address
//! (`docs/algorithms.md` §8 step 26). Prints one line `CHECK <name> OK|FAIL
//! <detail>` per check through Arm semihosting (the loader's tables do not
//! map the UART), then hands off to the kernel as OpenHCL's shim does: a
//! device tree it builds (`handoff`), the MMU off, x0 = the tree. The check
//! names are the assembly shim's (`../shim.s`), which the tests also accept.

#![no_std]
#![no_main]

mod arch;
mod checks;
mod console;
mod entry;
mod fdt;
mod handoff;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    println!("CHECK panic FAIL {}", info);
    console::exit(4)
}

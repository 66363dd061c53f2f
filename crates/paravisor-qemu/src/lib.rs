//! Boots a loaded paravisor image under QEMU emulation: AArch64 on
//! `qemu-system-aarch64 -M virt` (below), x86-64 on `qemu-system-x86_64
//! -M pc` ([`boot_x64_qemu`]: a reset stub and a trampoline set the
//! imported long-mode state; for kernels that the build machines' KVM
//! cannot run, such as a stock Linux).
//!
//! KVM cannot run AArch64 guests on the x86-64 build machines; QEMU's TCG
//! can. This crate takes what the AArch64 loader imported — guest pages and
//! the boot processor's registers — and runs it on `qemu-system-aarch64 -M
//! virt,virtualization=on`:
//!
//! * pages inside the machine's RAM (which starts at [`VIRT_RAM_BASE`],
//!   0x4000_0000; its first [`VIRT_DTB_RESERVED`] bytes hold QEMU's device
//!   tree) are placed with QEMU's generic loader
//!   (`-device loader,file=…,addr=…,force-raw=on`), one file per run of
//!   adjacent pages;
//! * pages below 64 MiB — the first flash bank of `virt`, where the AArch64
//!   measured VTL0 configuration lives (GPA 0x100_0000) — go into the
//!   `-bios` image, which QEMU maps read-only at GPA 0 (the guest only
//!   reads them);
//! * GPA 0 (the reset address) holds a small stub ([`RESET_STUB_CODE`])
//!   that plays the VMM: the CPU resets at EL2, the stub sets SCTLR_EL1,
//!   TCR_EL1, MAIR_EL1, TTBR0_EL1, VBAR_EL1 and X0 to the imported values,
//!   puts CPSR in SPSR_EL2 and PC in ELR_EL2, and enters EL1 with `ERET`.
//!   The MMU of EL1 is therefore already on when the first guest
//!   instruction is fetched, as when a hypervisor starts a vCPU (the stub
//!   itself is not mapped by the loader's tables, so it cannot run at EL1
//!   and switch the MMU on under its own feet);
//! * the test shims talk through Arm semihosting (the PL011 UART is not
//!   mapped by the loader's identity tables) and end the run with
//!   semihosting `SYS_EXIT`, whose status becomes QEMU's exit status; the
//!   PL011 UART (`console=ttyAMA0` of a real kernel the shim hands off to)
//!   shares the same console, and a real kernel ends the run by powering
//!   off through PSCI. The machine is `virt,virtualization=on,gic-version=2`,
//!   the one the Rust shim's device tree describes
//!   (`tests/arm64-shim/README.md`, "The hand-off"). The console bytes are
//!   captured.
//!
//! [`BootImageImporter`] records what `load_openhcl_arm64` imports and turns
//! it into the [`BootImage`] that [`boot_aarch64`] boots. Used by the
//! AArch64 boot tests (`tests/tests/boot_qemu.rs`).
//!
//! ```
//! use paravisor_qemu::{plan, Aarch64Registers, BootImage, PageData, VIRT_RAM_BASE};
//! let image = BootImage {
//!     ram: vec![],
//!     pages: vec![
//!         PageData { gpa: VIRT_RAM_BASE + 0x40_0000, data: vec![0xAA; 4096] },
//!         PageData { gpa: 0x100_0000, data: vec![0x55; 112] },
//!     ],
//!     registers: Aarch64Registers::paravisor_defaults(0x4020_0000, 0x1000, 0x4030_0000),
//! };
//! let plan = plan(&image)?;
//! assert_eq!(plan.ram_chunks.len(), 1);
//! assert_eq!(plan.bios.get(0x100_0000), Some(&0x55));
//! assert!(plan.ram_mib >= 128);
//! # Ok::<(), paravisor_qemu::Error>(())
//! ```

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

mod error;
mod linux;
mod model;
mod plan;
mod runner;
mod virt;
mod x64;

pub use error::Error;
pub use linux::LINUX_CONSOLE_ARGS;
pub use linux::LINUX_TIMEOUT;
pub use linux::device_tree_parameter_gpa;
pub use linux::host_device_tree;
pub use linux::with_host_bootargs;
pub use model::BootImage;
pub use model::BootImageImporter;
pub use model::QEMU_BINARY;
pub use model::QEMU_ENV;
pub use model::QemuOptions;
pub use model::RunConfig;
pub use model::RunOutcome;
pub use paravisor_boot::ExitReason;
pub use paravisor_boot::ImportError;
pub use paravisor_boot::PageData;
pub use paravisor_boot::RamRange;
pub use plan::QemuPlan;
pub use plan::plan;
pub use runner::SKIP_QEMU_ENV;
pub use runner::boot_aarch64;
pub use runner::boot_aarch64_streaming;
pub use runner::qemu_available;
pub use runner::qemu_or_skip;
pub use virt::Aarch64Registers;
pub use virt::RESET_STUB_CODE;
pub use virt::RESET_STUB_REGS_OFFSET;
pub use virt::VIRT_DTB_RESERVED;
pub use virt::VIRT_FLASH0_SIZE;
pub use virt::VIRT_RAM_BASE;
pub use virt::reset_stub_page;
pub use x64::LINUX_POWER_OFF_LINES;
pub use x64::QEMU_X64_BINARY;
pub use x64::QEMU_X64_ENV;
pub use x64::QemuX64Options;
pub use x64::TRAMPOLINE_REGS_OFFSET;
pub use x64::X64_RAM_LIMIT;
pub use x64::X64BootImage;
pub use x64::X64Plan;
pub use x64::X64RunConfig;
pub use x64::boot_x64_qemu;
pub use x64::plan_x64;
pub use x64::x64_reset_stub_page;
pub use x64::x64_trampoline_page;

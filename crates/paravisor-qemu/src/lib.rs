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

mod linux;
mod plan;
mod runner;
mod x64;

pub use linux::LINUX_CONSOLE_ARGS;
pub use linux::LINUX_TIMEOUT;
pub use linux::device_tree_parameter_gpa;
pub use linux::host_device_tree;
pub use linux::with_host_bootargs;
pub use paravisor_boot::ExitReason;
pub use paravisor_boot::ImportError;
pub use paravisor_boot::PageData;
pub use paravisor_boot::RamRange;
pub use plan::QemuPlan;
pub use plan::plan;
pub use runner::QEMU_BINARY;
pub use runner::QEMU_ENV;
pub use runner::SKIP_QEMU_ENV;
pub use runner::boot_aarch64;
pub use runner::boot_aarch64_streaming;
pub use runner::qemu_available;
pub use runner::qemu_or_skip;
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

use paravisor_boot::BootRegisters;
use paravisor_boot::RunnerOptions;
use std::path::PathBuf;
use std::time::Duration;
use vp_regs::aarch64::Aarch64Register;

/// First byte of RAM on QEMU's `virt` machine.
pub const VIRT_RAM_BASE: u64 = 0x4000_0000;

/// Bytes at the start of RAM that QEMU fills with its device tree when it
/// boots firmware (`-bios`): imported data may not go there.
pub const VIRT_DTB_RESERVED: u64 = 0x20_0000;

/// Size of the first flash bank of `virt` (GPA 0 up to this), which the
/// `-bios` image fills.
pub const VIRT_FLASH0_SIZE: u64 = 0x400_0000;

/// Machine code of the reset stub (`tests/arm64-shim/reset-stub.s`,
/// assembled), placed at GPA 0. It reads the register block at
/// [`RESET_STUB_REGS_OFFSET`] (see [`Aarch64Registers::stub_block`]), sets
/// HCR_EL2.RW, CPTR_EL2 (no FP traps), CNTHCTL_EL2 (EL1 timer access),
/// MAIR_EL1, TCR_EL1, TTBR0_EL1, VBAR_EL1, SCTLR_EL1, SPSR_EL2 = CPSR,
/// ELR_EL2 = PC, invalidates the EL1 TLBs, loads X0 and `ERET`s.
pub const RESET_STUB_CODE: [u32; 29] = [
    0x1000_0809, // adr   x9, regs
    0xd2b0_0001, // mov   x1, #0x80000000
    0xd51c_1101, // msr   hcr_el2, x1
    0xd286_7fe1, // mov   x1, #0x33ff
    0xd51c_1141, // msr   cptr_el2, x1
    0xd280_0061, // mov   x1, #0x3
    0xd51c_e101, // msr   cnthctl_el2, x1
    0xd51c_e07f, // msr   cntvoff_el2, xzr
    0xf940_1521, // ldr   x1, [x9, #40]
    0xd518_a201, // msr   mair_el1, x1
    0xf940_1121, // ldr   x1, [x9, #32]
    0xd518_2041, // msr   tcr_el1, x1
    0xf940_1921, // ldr   x1, [x9, #48]
    0xd518_2001, // msr   ttbr0_el1, x1
    0xf940_1d21, // ldr   x1, [x9, #56]
    0xd518_c001, // msr   vbar_el1, x1
    0xf940_0d21, // ldr   x1, [x9, #24]
    0xd518_1001, // msr   sctlr_el1, x1
    0xf940_0921, // ldr   x1, [x9, #16]
    0xd51c_4001, // msr   spsr_el2, x1
    0xf940_0521, // ldr   x1, [x9, #8]
    0xd51c_4021, // msr   elr_el2, x1
    0xd50c_879f, // tlbi  alle1
    0xd503_3f9f, // dsb   sy
    0xd503_3fdf, // isb
    0xf940_0120, // ldr   x0, [x9]
    0xd280_0001, // mov   x1, #0x0
    0xd280_0009, // mov   x9, #0x0
    0xd69f_03e0, // eret
];

/// Byte offset of the register block in the reset stub page.
pub const RESET_STUB_REGS_OFFSET: usize = 0x100;

/// The reset stub page: [`RESET_STUB_CODE`] followed, at
/// [`RESET_STUB_REGS_OFFSET`], by `registers`' block.
pub fn reset_stub_page(registers: &[u64; 8]) -> Vec<u8> {
    let mut page: Vec<u8> = RESET_STUB_CODE
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    page.resize(RESET_STUB_REGS_OFFSET, 0);
    page.extend(registers.iter().flat_map(|r| r.to_le_bytes()));
    page
}

/// The boot processor's registers, as the AArch64 paravisor loader imports
/// them (docs/abi.md §7.6). Every one must be set: the loader sets all of them,
/// and a boot with a missing register would silently use QEMU's reset value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Aarch64Registers {
    /// X0 (shim-parameter offset from the shim base).
    pub x0: Option<u64>,
    /// PC (shim entry point).
    pub pc: Option<u64>,
    /// CPSR (PSTATE in SPSR layout).
    pub cpsr: Option<u64>,
    /// SCTLR_EL1.
    pub sctlr_el1: Option<u64>,
    /// TCR_EL1.
    pub tcr_el1: Option<u64>,
    /// MAIR_EL1.
    pub mair_el1: Option<u64>,
    /// TTBR0_EL1.
    pub ttbr0_el1: Option<u64>,
    /// VBAR_EL1.
    pub vbar_el1: Option<u64>,
}

impl Aarch64Registers {
    /// The paravisor loader's fixed values (docs/abi.md §7.6: CPSR 0x5, SCTLR_EL1
    /// 0x30D0_1805, TCR_EL1 0x5_8080_3511, MAIR_EL1 0xFFBB_4400, VBAR_EL1 0)
    /// with the given PC, X0 and TTBR0_EL1 — for hand-built images.
    pub const fn paravisor_defaults(pc: u64, x0: u64, ttbr0_el1: u64) -> Self {
        Self {
            x0: Some(x0),
            pc: Some(pc),
            cpsr: Some(0x5),
            sctlr_el1: Some(0x30D0_1805),
            tcr_el1: Some(0x5_8080_3511),
            mair_el1: Some(0xFFBB_4400),
            ttbr0_el1: Some(ttbr0_el1),
            vbar_el1: Some(0),
        }
    }

    /// The register block the reset stub reads: X0, PC, CPSR, SCTLR_EL1,
    /// TCR_EL1, MAIR_EL1, TTBR0_EL1, VBAR_EL1 (8 bytes each, in this order).
    pub fn stub_block(&self) -> Result<[u64; 8], Error> {
        let need =
            |value: Option<u64>, name: &'static str| value.ok_or(Error::MissingRegister { name });
        Ok([
            need(self.x0, "x0")?,
            need(self.pc, "pc")?,
            need(self.cpsr, "cpsr")?,
            need(self.sctlr_el1, "sctlr_el1")?,
            need(self.tcr_el1, "tcr_el1")?,
            need(self.mair_el1, "mair_el1")?,
            need(self.ttbr0_el1, "ttbr0_el1")?,
            need(self.vbar_el1, "vbar_el1")?,
        ])
    }
}

impl BootRegisters for Aarch64Registers {
    type Register = Aarch64Register;
    const HAS_VP_CONTEXT_PAGE: bool = false;

    /// Sets the field of `register`; `false` for a register the reset
    /// stub does not set.
    fn set(&mut self, register: &Aarch64Register) -> bool {
        let slot = match register {
            Aarch64Register::X0(_) => &mut self.x0,
            Aarch64Register::Pc(_) => &mut self.pc,
            Aarch64Register::Cpsr(_) => &mut self.cpsr,
            Aarch64Register::SctlrEl1(_) => &mut self.sctlr_el1,
            Aarch64Register::TcrEl1(_) => &mut self.tcr_el1,
            Aarch64Register::MairEl1(_) => &mut self.mair_el1,
            Aarch64Register::Ttbr0El1(_) => &mut self.ttbr0_el1,
            Aarch64Register::VbarEl1(_) => &mut self.vbar_el1,
            _ => return false,
        };
        *slot = Some(register.value());
        true
    }
}

/// Everything needed to boot under QEMU: RAM, its initial contents and the
/// AArch64 registers.
pub type BootImage = paravisor_boot::BootImage<Aarch64Registers>;

/// Records what `load_openhcl_arm64` imports
/// ([`paravisor_boot::BootImageImporter`] with the registers the reset
/// stub sets); [`zero_filled_image`](paravisor_boot::BootImageImporter::zero_filled_image)
/// is what [`boot_aarch64`] boots.
pub type BootImageImporter = paravisor_boot::BootImageImporter<Aarch64Registers>;

/// How to run QEMU (default time limit 60 s).
pub type RunConfig = paravisor_boot::RunConfig<QemuOptions>;

/// The QEMU runner's own options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QemuOptions {
    /// The emulator binary (default: the `PARAVISOR_QEMU` environment
    /// variable if set, else [`QEMU_BINARY`] looked up in `PATH`).
    pub qemu: PathBuf,
    /// The CPU model (default `cortex-a57`, which has EL2 and the CRC32
    /// instructions).
    pub cpu: String,
    /// Folder for the bios and RAM files; a fresh folder under the system
    /// temporary folder when `None`. Removed after the run unless
    /// `keep_files` is set.
    pub work_dir: Option<PathBuf>,
    /// Keep the generated files (for debugging).
    pub keep_files: bool,
}

impl Default for QemuOptions {
    fn default() -> Self {
        Self {
            qemu: std::env::var_os(QEMU_ENV)
                .map_or_else(|| PathBuf::from(QEMU_BINARY), PathBuf::from),
            cpu: "cortex-a57".to_owned(),
            work_dir: None,
            keep_files: false,
        }
    }
}

impl RunnerOptions for QemuOptions {
    const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
}

/// The result of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    /// Every byte the guest wrote to the semihosting console.
    pub console: Vec<u8>,
    /// QEMU's own diagnostics (standard error).
    pub qemu_stderr: String,
    /// Why QEMU stopped.
    pub exit: ExitReason,
    /// The command line that was run, for error messages.
    pub command: String,
}

impl RunOutcome {
    /// The console output as text (invalid UTF-8 replaced).
    pub fn console_text(&self) -> String {
        String::from_utf8_lossy(&self.console).into_owned()
    }
}

/// Errors of the runner (not of the guest: those show in the
/// [`RunOutcome`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The emulator could not be started.
    #[error(
        "cannot run QEMU `{qemu}` ({reason}); install it (Debian: apt-get install qemu-system-arm qemu-system-x86) or set PARAVISOR_SKIP_QEMU=1 to skip the AArch64 boot tests"
    )]
    QemuUnavailable {
        /// The binary that was tried.
        qemu: PathBuf,
        /// What failed.
        reason: String,
    },
    /// A register the stub must set was not imported.
    #[error(
        "register {name} was not set; the reset stub needs every register the loader imports (docs/abi.md §7.6 for AArch64, §4 for x86-64)"
    )]
    MissingRegister {
        /// The register.
        name: &'static str,
    },
    /// A page range wraps around the address space.
    #[error("range at {gpa:#x} of {size:#x} bytes overflows the address space")]
    RangeOverflow {
        /// Start.
        gpa: u64,
        /// Size.
        size: u64,
    },
    /// Two imported ranges overlap.
    #[error("imported data at {second:#x} overlaps data imported at {first:#x}")]
    Overlap {
        /// Start of the earlier range.
        first: u64,
        /// Start of the overlapping range.
        second: u64,
    },
    /// Data is imported into the reset stub's page (GPA 0..0x1000).
    #[error("data at {gpa:#x} overlaps the reset stub page at GPA 0 of the virt machine")]
    ResetStubConflict {
        /// Start of the data.
        gpa: u64,
    },
    /// Data overlaps the start of RAM, where QEMU puts its device tree.
    #[error(
        "data at {gpa:#x} of {size:#x} bytes overlaps QEMU's device tree in the first {reserved:#x} bytes of RAM at {ram_base:#x}"
    )]
    DeviceTreeConflict {
        /// Start.
        gpa: u64,
        /// Size.
        size: u64,
        /// Bytes reserved for the device tree.
        reserved: u64,
        /// Start of RAM.
        ram_base: u64,
    },
    /// Data lies neither in the first flash bank nor in RAM of `virt`.
    #[error(
        "data at {gpa:#x} of {size:#x} bytes is neither below {flash_end:#x} (flash bank 0) nor in RAM from {ram_base:#x} on the virt machine"
    )]
    NotGuestMemory {
        /// Start.
        gpa: u64,
        /// Size.
        size: u64,
        /// End of flash bank 0.
        flash_end: u64,
        /// Start of RAM.
        ram_base: u64,
    },
    /// A required RAM range lies below the RAM of `virt`.
    #[error(
        "RAM range at {gpa:#x} of {size:#x} bytes starts below the virt machine's RAM at {ram_base:#x}"
    )]
    RamBelowBase {
        /// Start.
        gpa: u64,
        /// Size.
        size: u64,
        /// Start of RAM.
        ram_base: u64,
    },
    /// Data or RAM the x86-64 `pc` machine cannot hold where it must go.
    #[error(
        "range at {gpa:#x} of {size:#x} bytes is not plain RAM of the x86-64 pc machine (the legacy hole 0xA0000..0x100000, or past 3 GiB)"
    )]
    NotPcRam {
        /// Start.
        gpa: u64,
        /// Size.
        size: u64,
    },
    /// No page of the image's required RAM is free for the x86-64
    /// trampoline.
    #[error(
        "no free page in the image's RAM ranges (VTL2 memory) for the x86-64 trampoline, which must run where the imported page tables map it"
    )]
    NoTrampolinePage,
    /// Writing the bios or RAM files failed.
    #[error("cannot write QEMU input file {path}: {source}")]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Waiting for QEMU failed.
    #[error("waiting for QEMU failed: {0}")]
    Wait(std::io::Error),
    /// The host's device tree could not be written.
    #[error("cannot write the host device tree: {0}")]
    HostDeviceTree(String),
    /// The image has no device-tree parameter for the host's device tree.
    #[error(
        "the image has no device-tree parameter (parameter type DeviceTree, docs/abi.md §1.2) to hold the host's /chosen/bootargs"
    )]
    NoDeviceTreeParameter,
}

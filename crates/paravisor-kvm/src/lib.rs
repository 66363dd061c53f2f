//! Boots a loaded x86-64 paravisor image for real, under KVM.
//!
//! Identical image summaries prove a loader matches the original; only a
//! real boot proves the image works. This crate takes what a loader
//! imported — pages of guest memory and the boot processor's registers — and
//! runs it on one KVM vCPU:
//!
//! * guest RAM is one anonymous host mapping per merged RAM range (every
//!   imported page, plus any range the caller names, such as the whole of
//!   VTL2 memory), each a KVM memory slot;
//! * every register the loader imported is set exactly (CR0/CR3/CR4, EFER,
//!   PAT, GDTR, all segment registers including TR with their attributes,
//!   RIP, RSI, …), RFLAGS is 2 unless given;
//! * the vCPU runs until it executes HLT, faults fatally, or a time limit
//!   passes (a watchdog thread kicks it out of `KVM_RUN` with a signal);
//! * bytes written to the serial port 0x3F8 are captured and streamed to
//!   a callback; reading the line-status register (0x3FD) says "transmitter
//!   empty", so polling drivers work.
//!
//! Guest code must not rely on SSE arithmetic: on hosts whose KVM is the
//! software PVM implementation (no VMX/SVM, as on these build machines),
//! guest code that is not PVM-aware runs in KVM's instruction emulator,
//! which reports SSE instructions such as `xorps` as an emulation failure
//! ([`ExitReason::InternalError`] with sub-error 1).
//!
//! Used by the boot tests (`tests/tests/boot_kvm.rs`) and by `paravisor boot`.
//! This is the only crate besides the test shim that uses `unsafe` (host
//! memory mappings and the signal used to stop the vCPU), each block with a
//! `// SAFETY:` reason.
//!
//! ```
//! use paravisor_kvm::{BootImage, ExitReason, PageData, RunConfig, SegmentRegister};
//! use paravisor_kvm::{X64Registers, boot_x64, kvm_or_skip};
//! // Real mode, CS base 0: `mov al, 'A'; mov dx, 0x3f8; out dx, al; hlt` at 0x1000.
//! let image = BootImage {
//!     ram: vec![],
//!     pages: vec![PageData { gpa: 0x1000, data: vec![0xB0, b'A', 0xBA, 0xF8, 0x03, 0xEE, 0xF4] }],
//!     registers: X64Registers {
//!         cs: Some(SegmentRegister { base: 0, limit: 0xFFFF, selector: 0, attributes: 0x9B }),
//!         rip: Some(0x1000),
//!         ..Default::default()
//!     },
//! };
//! if kvm_or_skip("doc example")? {
//!     let outcome = boot_x64(&image, &RunConfig::default(), &mut |bytes| {
//!         print!("{}", String::from_utf8_lossy(bytes));
//!     })?;
//!     assert_eq!(outcome.exit, ExitReason::Halted);
//!     assert_eq!(outcome.serial, b"A");
//! }
//! # Ok::<(), paravisor_kvm::Error>(())
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
mod memory;
mod model;
mod registers;
mod relocate;
mod runner;

pub use error::Error;
pub use memory::merge_ranges;
pub use model::BootImage;
pub use model::BootImageImporter;
pub use model::KvmOptions;
pub use model::RunConfig;
pub use model::RunOutcome;
pub use paravisor_boot::ImportError;
pub use registers::MSR_IA32_PAT;
pub use registers::attributes_of;
pub use registers::kvm_dtable_from;
pub use registers::kvm_segment_from;
pub use relocate::RelocateError;
pub use relocate::relocate_x64;
pub use runner::SERIAL_PORT;
pub use runner::SKIP_KVM_ENV;
pub use runner::boot_x64;
pub use runner::kvm_available;
pub use runner::kvm_or_skip;
pub use vp_regs::x86_64::SegmentRegister;
pub use vp_regs::x86_64::TableRegister;

pub use paravisor_boot::ExitReason;
pub use paravisor_boot::PageData;
pub use paravisor_boot::RamRange;
pub use paravisor_boot::X64Registers;

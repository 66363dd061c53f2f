//! Zero-copy static ELF64 and arm64 flat `Image` loading through a page
//! importer.
//!
//! The paravisor loader (`paravisor-loader`, the facade) uses this crate to
//! place the paravisor kernel, the boot shim and the sidecar (ELF64 files)
//! and the AArch64 kernel (a flat `Image`) in guest memory, exactly as the
//! original OpenVMM loader does (`spec/algorithms.md` §2 and §3).
//!
//! Loading is split in two:
//! * **plan** ([`plan_static_elf`], [`plan_arm64_image`]): parse and check
//!   every header, compute every address, with no importer call. Every
//!   malformed input is an [`ElfError`] or [`ImageError`];
//! * **import** ([`StaticElfPlan::import`], [`Arm64ImagePlan::import`]): hand
//!   the pages to an [`ImportPages`] implementation. This can only fail
//!   through the importer, so an invalid file never imports anything.
//!
//! The crate is `no_std` without an allocator; inputs are byte slices and the
//! importer receives slices of them. An ELF segment is one
//! [`ImportPages::import_pages_at_offset`] call, like the original's one
//! `import_pages` call; its default implementation passes the first page of
//! a segment that starts inside a page through a 4 KiB stack buffer.
//!
//! ```
//! use elf_static_loader::{ElfMachine, ImportPages, PageAcceptance, plan_static_elf};
//!
//! // A minimal ELF64 x86-64 file: header, one PT_LOAD, 4 bytes of code.
//! let mut elf = vec![0u8; 0x80];
//! elf[..8].copy_from_slice(b"\x7fELF\x02\x01\x01\x00");
//! elf[18..20].copy_from_slice(&62u16.to_le_bytes()); // e_machine: x86-64
//! elf[24..32].copy_from_slice(&0x10u64.to_le_bytes()); // e_entry
//! elf[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
//! elf[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
//! elf[56..58].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
//! let ph = &mut elf[64..120];
//! ph[0..4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
//! ph[8..16].copy_from_slice(&0x78u64.to_le_bytes()); // p_offset
//! ph[32..40].copy_from_slice(&4u64.to_le_bytes()); // p_filesz
//! ph[40..48].copy_from_slice(&0x2000u64.to_le_bytes()); // p_memsz (.bss)
//! elf[0x78..0x7c].copy_from_slice(&[0xf4, 0x90, 0x90, 0x90]);
//!
//! // Plan: a shim-like load at 0x100000 (not PIC, load offset 0x100000).
//! let plan = plan_static_elf(&elf, ElfMachine::X86_64, 0, 0x100000, false)?;
//! let info = plan.info();
//! assert_eq!(info.minimum_address_used, 0x100000);
//! assert_eq!(info.next_available_address, 0x102000);
//! assert_eq!(info.entrypoint, 0x100010);
//!
//! // Import: one call, 2 pages at page 0x100, the 4 file bytes as data.
//! struct Print;
//! impl ImportPages for Print {
//!     type Error = core::convert::Infallible;
//!     fn import_pages(
//!         &mut self,
//!         page_base: u64,
//!         page_count: u64,
//!         tag: &'static str,
//!         _acceptance: PageAcceptance,
//!         data: &[u8],
//!     ) -> Result<(), Self::Error> {
//!         assert_eq!((page_base, page_count, tag, data), (0x100, 2, "shim", &[0xf4, 0x90, 0x90, 0x90][..]));
//!         Ok(())
//!     }
//! }
//! plan.import(&mut Print, PageAcceptance::Exclusive, "shim").unwrap();
//! # Ok::<(), elf_static_loader::ElfError>(())
//! ```

#![no_std]
#![forbid(unsafe_code)]
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

pub mod elf;
pub mod image;
pub mod import;

#[cfg(test)]
mod test_support;

pub use elf::ElfError;
pub use elf::ElfMachine;
pub use elf::LoadError;
pub use elf::LoadInfo;
pub use elf::LoadSegment;
pub use elf::StaticElfPlan;
pub use elf::load_static_elf;
pub use elf::plan_static_elf;
pub use image::Arm64ImageInfo;
pub use image::Arm64ImagePlan;
pub use image::ImageError;
pub use image::InitrdInfo;
pub use image::KernelInfo;
pub use image::LoadImageError;
pub use image::load_arm64_image;
pub use image::plan_arm64_image;
pub use import::ImportPages;
pub use import::PAGE_SIZE;
pub use import::PageAcceptance;

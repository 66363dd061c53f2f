//! Errors of the paravisor loaders.
//!
//! [`LayoutError`] is everything found while planning — before the first
//! import — so a load that fails with it imported nothing.
//! [`Error::Importer`] is the only error that can occur after the first
//! import.

use crate::importer::IsolationType;
use arm64_pagetables::Arm64PageTableError;
use elf_static_loader::elf::ElfError;
use elf_static_loader::image::ImageError;
use x86_pagetables::PageTableError;

/// What is wrong with the inputs or the layout they lead to. Returned before
/// anything is imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// `memory_page_base × 4096` does not fit in 64 bits.
    #[error("VTL2 memory base page {page_base:#x} is beyond the 64-bit address space")]
    MemoryBaseOverflow {
        /// The page number given.
        page_base: u64,
    },
    /// `memory_page_count × 4096`, or the end of VTL2 memory, does not fit in
    /// 64 bits.
    #[error(
        "VTL2 memory of {page_count:#x} pages at {start:#x} ends beyond the 64-bit address space"
    )]
    MemorySizeOverflow {
        /// Start of VTL2 memory.
        start: u64,
        /// The page count given.
        page_count: u64,
    },
    /// The VTL2 memory start or size is not a multiple of 2 MiB
    /// (`MemoryUnaligned` in the original).
    #[error("VTL2 memory {what} {value:#x} is not 2 MiB aligned")]
    MemoryUnaligned {
        /// "start" or "size".
        what: &'static str,
        /// The value.
        value: u64,
    },
    /// The image needs more VTL2 memory than given (`NotEnoughMemory`).
    #[error(
        "the image needs {required:#x} bytes of VTL2 memory (up to {end:#x}) but only {available:#x} bytes are available"
    )]
    NotEnoughMemory {
        /// Bytes needed from the start of VTL2 memory.
        required: u64,
        /// End address needed.
        end: u64,
        /// VTL2 memory size.
        available: u64,
    },
    /// An address computation overflowed while placing `what`.
    #[error("address overflow while placing the {what} (at {at:#x})")]
    AddressOverflow {
        /// What was being placed.
        what: &'static str,
        /// The address reached before the overflow.
        at: u64,
    },
    /// The paravisor command line is longer than its page allows
    /// (`CommandLineSize`).
    #[error("paravisor command line is {len} bytes, at most {max} fit")]
    CommandLineTooLong {
        /// Its length.
        len: usize,
        /// The limit (4092).
        max: usize,
    },
    /// The x86-64 kernel ELF is invalid or cannot be placed.
    #[error("kernel: {0}")]
    Kernel(ElfError),
    /// The sidecar ELF is invalid or cannot be placed.
    #[error("sidecar: {0}")]
    Sidecar(ElfError),
    /// The boot shim ELF is invalid or cannot be placed.
    #[error("boot shim: {0}")]
    Shim(ElfError),
    /// The AArch64 kernel `Image` is invalid or cannot be placed.
    #[error("kernel Image: {0}")]
    Arm64Kernel(ImageError),
    /// An ELF that must be loaded has no `PT_LOAD` segment.
    #[error("{what} ELF has no PT_LOAD segment")]
    NoLoadSegments {
        /// "kernel" or "boot shim".
        what: &'static str,
    },
    /// The kernel does not end on a page boundary.
    #[error("kernel ends at {end:#x}, which is not page aligned")]
    KernelEndUnaligned {
        /// Its next free address.
        end: u64,
    },
    /// The VTL0 Linux command line does not fit in its page with its NUL.
    #[error("VTL0 Linux command line is {len} bytes, at most {max} fit (plus the NUL)")]
    Vtl0CommandLineTooLong {
        /// Its length.
        len: usize,
        /// The limit (4095).
        max: usize,
    },
    /// The VTL0 Linux command line contains a NUL byte.
    #[error("VTL0 Linux command line contains a NUL byte at offset {offset}")]
    Vtl0CommandLineNul {
        /// Offset of the NUL.
        offset: usize,
    },
    /// The UEFI VP context does not fit in its page.
    #[error("UEFI VP context is {len} bytes, at most {max} fit in its page")]
    UefiVpContextTooLarge {
        /// Its length.
        len: usize,
        /// The limit (4096).
        max: usize,
    },
    /// The VTL0 Linux initrd GPA is not page aligned (`MemoryUnaligned`).
    #[error("VTL0 initrd GPA {gpa:#x} is not page aligned")]
    Vtl0InitrdUnaligned {
        /// The GPA.
        gpa: u64,
    },
    /// The x86-64 page tables cannot be built.
    #[error("page tables: {0}")]
    PageTables(PageTableError),
    /// The AArch64 page tables cannot be built.
    #[error("page tables: {0}")]
    Arm64PageTables(Arm64PageTableError),
    /// The caller's page-table buffer is smaller than the tables.
    #[error("page-table buffer of {provided:#x} bytes is too small: {needed:#x} bytes are needed")]
    PageTableBufferTooSmall {
        /// Bytes needed.
        needed: u64,
        /// Bytes provided.
        provided: u64,
    },
    /// A plan needs more steps than `plan::MAX_STEPS` (no layout
    /// does: the largest has 40).
    #[error("the image plan needs more than {max} steps")]
    TooManySteps {
        /// The capacity.
        max: usize,
    },
    /// The built tables do not leave a free page in their region (AArch64:
    /// the original asserts that the region is strictly larger).
    #[error("page tables use {used:#x} bytes, the region holds {region:#x}")]
    PageTablesTooLarge {
        /// Bytes used.
        used: u64,
        /// Region size.
        region: u64,
    },
    /// TTBR0_EL1 cannot hold the page-table address (≥ 2^48).
    #[error("page-table address {gpa:#x} does not fit in TTBR0_EL1 (48 bits)")]
    Ttbr0OutOfRange {
        /// The address.
        gpa: u64,
    },
    /// Two imports would touch the same page.
    #[error(
        "\"{first}\" (pages {first_page:#x}+{first_count}) overlaps \"{second}\" (pages {second_page:#x}+{second_count})"
    )]
    ImportsOverlap {
        /// Tag of one import.
        first: &'static str,
        /// Its first page.
        first_page: u64,
        /// Its page count.
        first_count: u64,
        /// Tag of the other.
        second: &'static str,
        /// Its first page.
        second_page: u64,
        /// Its page count.
        second_count: u64,
    },
    /// AArch64 has no PCAT BIOS (the original asserts).
    #[error("PCAT is not supported on AArch64")]
    PcatOnArm64,
    /// AArch64 needs UEFI or Linux for VTL0 (the original asserts).
    #[error("AArch64 needs a UEFI or Linux VTL0 configuration")]
    NoVtl0ImageOnArm64,
    /// AArch64 supports isolation none and VBS only (the original panics).
    #[error("isolation {} is not supported on AArch64 (only none and vbs)", isolation.name())]
    IsolationNotSupportedOnArm64 {
        /// The isolation type.
        isolation: IsolationType,
    },
    /// AArch64 has no sidecar.
    #[error("a sidecar is not supported on AArch64")]
    SidecarOnArm64,
}

/// A failed load: a layout error (nothing imported) or an importer error.
#[derive(Debug, thiserror::Error)]
pub enum Error<E: core::fmt::Debug + core::fmt::Display> {
    /// The inputs are invalid or do not fit; nothing was imported.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// The importer failed; the calls before it were made.
    #[error("importer: {0}")]
    Importer(E),
}

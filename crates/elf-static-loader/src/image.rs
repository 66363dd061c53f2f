//! The arm64 flat `Image` loader (`load_kernel_and_initrd_arm64` of the
//! original, `docs/algorithms.md` §3; header format `docs/abi.md` §7.8).
//!
//! The paravisor always passes an initrd (possibly empty), placed after the
//! kernel (`AfterKernel`), and never a device tree, so this loader handles
//! exactly that case.
//!
//! Differences from the original, all on inputs it panics on or lets the
//! importer reject: a kernel start that is not 2 MiB aligned is an error
//! (the original asserts, §9 row 21); overflowing address arithmetic is an
//! error (§9 row 18); a file longer than the page-aligned image size is an
//! error (the original's importer rejects the data).

use crate::import::ImportPages;
use crate::import::PAGE_SHIFT;
use crate::import::PAGE_SIZE;
use crate::import::PageAcceptance;

/// Size of the arm64 `Image` header in bytes.
pub const ARM64_IMAGE_HEADER_SIZE: usize = 64;
/// The header magic at offset 56: "ARM\x64".
pub const ARM64_IMAGE_MAGIC: [u8; 4] = *b"ARM\x64";
/// Tag of the kernel import.
pub const KERNEL_TAG: &str = "linux-kernel";
/// Tag of the initrd import.
pub const INITRD_TAG: &str = "linux-initrd";

/// 2 MiB: the kernel start and the initrd must be aligned to it.
const LARGE_PAGE_SIZE: u64 = 0x20_0000;

/// `flags` bit 0: the kernel is big endian.
const FLAG_BIG_ENDIAN: u64 = 1 << 0;
/// `flags` bits 1..=2: the kernel's page size.
const FLAG_PAGE_SIZE_SHIFT: u32 = 1;
const FLAG_PAGE_SIZE_MASK: u64 = 0b11;
/// Page-size field value for 4 KiB pages.
const PAGE_SIZE_4K: u64 = 1;
/// `flags` bit 3: the kernel may be placed anywhere in physical memory.
const FLAG_PHYS_PLACEMENT_ANYWHERE: u64 = 1 << 3;

/// Where the kernel was placed (`KernelInfo` of the original).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KernelInfo {
    /// The 2 MiB-aligned base the kernel was placed at (K).
    pub gpa: u64,
    /// The page-aligned kernel size (`image_size`, or the file length when it
    /// is 0), not counting `text_offset`.
    pub size: u64,
    /// The entry point, `K + text_offset`.
    pub entrypoint: u64,
}

/// Where the initrd was placed (`InitrdInfo` of the original).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InitrdInfo {
    /// The initrd address: the kernel end rounded up to 2 MiB.
    pub gpa: u64,
    /// The initrd length in bytes (not page aligned).
    pub size: u64,
}

/// Kernel and initrd locations returned by [`load_arm64_image`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Arm64ImageInfo {
    /// The kernel.
    pub kernel: KernelInfo,
    /// The initrd (present even when empty, as in the original).
    pub initrd: InitrdInfo,
}

/// What is wrong with an arm64 `Image` or with where it was asked to go.
/// The comment on each variant names the original's error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// (An assert in the original.) The kernel start is not 2 MiB aligned.
    #[error("kernel start address {kernel_minimum_start:#x} is not 2 MiB aligned")]
    UnalignedKernelStart {
        /// The requested kernel start address.
        kernel_minimum_start: u64,
    },
    /// ReadKernelImage: the file is shorter than the 64-byte header.
    #[error("arm64 Image is {file_len} bytes, shorter than the 64-byte Image header")]
    TruncatedHeader {
        /// Length of the file.
        file_len: usize,
    },
    /// BadImageMagic: bytes 56..60 are not "ARM\x64".
    #[error("arm64 Image magic is {magic:02x?}, expected \"ARM\\x64\" [41, 52, 4d, 64]")]
    BadMagic {
        /// Bytes 56..60 of the file.
        magic: [u8; 4],
    },
    /// BigEndianKernelImage: `flags` bit 0 is set.
    #[error("arm64 Image is big endian (flags {flags:#x}, bit 0 set)")]
    BigEndianKernel {
        /// The header's `flags`.
        flags: u64,
    },
    /// FourKibPageImageIsRequired: `flags` bits 1..=2 are not 1 (4 KiB).
    #[error("arm64 Image page size field is {page_size} (flags {flags:#x}), expected 1 (4 KiB)")]
    UnsupportedPageSize {
        /// `flags` bits 1..=2 (0 unspecified, 2 16 KiB, 3 64 KiB).
        page_size: u64,
        /// The header's `flags`.
        flags: u64,
    },
    /// LowMemoryKernel: `flags` bit 3 ("may be placed anywhere") is clear.
    #[error(
        "arm64 Image must be loaded low in memory (flags {flags:#x}, bit 3 clear); only relocatable kernels are supported"
    )]
    LowMemoryKernel {
        /// The header's `flags`.
        flags: u64,
    },
    /// (Overflow in the original.) `K + text_offset` overflows.
    #[error("kernel start {kernel_minimum_start:#x} + text_offset {text_offset:#x} overflows")]
    LoadAddressOverflow {
        /// The requested kernel start address.
        kernel_minimum_start: u64,
        /// The header's `text_offset`.
        text_offset: u64,
    },
    /// (Overflow in the original.) The kernel size cannot be page aligned.
    #[error("arm64 Image size {image_size:#x} cannot be rounded up to a page")]
    ImageSizeOverflow {
        /// The kernel size before rounding (`image_size` or the file length).
        image_size: u64,
    },
    /// (Rejected by the importer in the original.) The file is longer than
    /// the page-aligned image size.
    #[error(
        "arm64 Image file is {file_len:#x} bytes, longer than its page-aligned image size {kernel_size:#x}"
    )]
    FileLongerThanImage {
        /// Length of the file.
        file_len: usize,
        /// The page-aligned kernel size.
        kernel_size: u64,
    },
    /// (Overflow in the original.) The kernel end overflows.
    #[error(
        "kernel at {load_address:#x} with size {kernel_size:#x} extends beyond the 64-bit address space"
    )]
    KernelEndOverflow {
        /// `K + text_offset`.
        load_address: u64,
        /// The page-aligned kernel size.
        kernel_size: u64,
    },
    /// (Overflow in the original.) The initrd cannot be placed after the
    /// kernel.
    #[error(
        "initrd of {initrd_len:#x} bytes cannot be placed after the kernel end {kernel_end:#x} (address overflow)"
    )]
    InitrdPlacementOverflow {
        /// The kernel end address.
        kernel_end: u64,
        /// The initrd length.
        initrd_len: u64,
    },
}

/// Error of [`load_arm64_image`]: the input was invalid (nothing imported),
/// or the importer failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadImageError<E: core::fmt::Debug + core::fmt::Display> {
    /// The `Image` or its placement is invalid; nothing was imported.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// The importer rejected a page import.
    #[error("the importer rejected a page import: {0}")]
    Import(E),
}

/// One page import of an [`Arm64ImagePlan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageImport {
    /// First page.
    pub page_base: u64,
    /// Number of pages (0 for an empty initrd, which importers ignore).
    pub page_count: u64,
    /// [`KERNEL_TAG`] or [`INITRD_TAG`].
    pub tag: &'static str,
    /// Always `Exclusive`.
    pub acceptance: PageAcceptance,
}

/// A checked plan to load an arm64 `Image` and its initrd.
#[derive(Clone, Copy)]
pub struct Arm64ImagePlan<'a> {
    image: &'a [u8],
    kernel: KernelInfo,
    initrd: InitrdInfo,
    initrd_page_count: u64,
    /// `false` after [`Arm64ImagePlan::without_initrd`]: no initrd call.
    has_initrd: bool,
}

/// Checks an arm64 `Image` header and places the kernel at
/// `kernel_minimum_start + text_offset` and an initrd of `initrd_len` bytes
/// at the next 2 MiB boundary after the kernel (`docs/algorithms.md` §3).
pub fn plan_arm64_image(
    image: &[u8],
    kernel_minimum_start: u64,
    initrd_len: u64,
) -> Result<Arm64ImagePlan<'_>, ImageError> {
    if kernel_minimum_start & (LARGE_PAGE_SIZE - 1) != 0 {
        return Err(ImageError::UnalignedKernelStart {
            kernel_minimum_start,
        });
    }
    let truncated = ImageError::TruncatedHeader {
        file_len: image.len(),
    };
    let header = image
        .first_chunk::<ARM64_IMAGE_HEADER_SIZE>()
        .ok_or(truncated)?;
    let field = |offset: usize| {
        header
            .get(offset..)
            .and_then(|bytes| bytes.first_chunk::<8>())
            .map(|bytes| u64::from_le_bytes(*bytes))
            .ok_or(truncated)
    };
    let text_offset = field(8)?;
    let image_size = field(16)?;
    let flags = field(24)?;
    let magic = *header
        .get(56..)
        .and_then(|bytes| bytes.first_chunk::<4>())
        .ok_or(truncated)?;

    if magic != ARM64_IMAGE_MAGIC {
        return Err(ImageError::BadMagic { magic });
    }
    if flags & FLAG_BIG_ENDIAN != 0 {
        return Err(ImageError::BigEndianKernel { flags });
    }
    let page_size = (flags >> FLAG_PAGE_SIZE_SHIFT) & FLAG_PAGE_SIZE_MASK;
    if page_size != PAGE_SIZE_4K {
        return Err(ImageError::UnsupportedPageSize { page_size, flags });
    }
    if flags & FLAG_PHYS_PLACEMENT_ANYWHERE == 0 {
        return Err(ImageError::LowMemoryKernel { flags });
    }

    let load_address =
        kernel_minimum_start
            .checked_add(text_offset)
            .ok_or(ImageError::LoadAddressOverflow {
                kernel_minimum_start,
                text_offset,
            })?;
    let file_len = u64::try_from(image.len()).unwrap_or(u64::MAX);
    let unaligned_size = if image_size != 0 {
        image_size
    } else {
        file_len
    };
    let kernel_size = align_up(unaligned_size, PAGE_SIZE).ok_or(ImageError::ImageSizeOverflow {
        image_size: unaligned_size,
    })?;
    if file_len > kernel_size {
        return Err(ImageError::FileLongerThanImage {
            file_len: image.len(),
            kernel_size,
        });
    }
    let kernel_end =
        load_address
            .checked_add(kernel_size)
            .ok_or(ImageError::KernelEndOverflow {
                load_address,
                kernel_size,
            })?;

    let placement_overflow = ImageError::InitrdPlacementOverflow {
        kernel_end,
        initrd_len,
    };
    let initrd_gpa = align_up(kernel_end, LARGE_PAGE_SIZE).ok_or(placement_overflow)?;
    let initrd_pages_size = align_up(initrd_len, PAGE_SIZE).ok_or(placement_overflow)?;
    // The initrd's pages must fit below 2^64 too.
    initrd_gpa
        .checked_add(initrd_pages_size)
        .ok_or(placement_overflow)?;

    Ok(Arm64ImagePlan {
        image,
        kernel: KernelInfo {
            gpa: kernel_minimum_start,
            size: kernel_size,
            entrypoint: load_address,
        },
        initrd: InitrdInfo {
            gpa: initrd_gpa,
            size: initrd_len,
        },
        initrd_page_count: initrd_pages_size >> PAGE_SHIFT,
        has_initrd: true,
    })
}

/// Loads an arm64 `Image` and its initrd: [`plan_arm64_image`], then
/// [`Arm64ImagePlan::import`]. Nothing is imported when the input is invalid.
pub fn load_arm64_image<I: ImportPages>(
    importer: &mut I,
    image: &[u8],
    kernel_minimum_start: u64,
    initrd: &[u8],
) -> Result<Arm64ImageInfo, LoadImageError<I::Error>> {
    let initrd_len = u64::try_from(initrd.len()).unwrap_or(u64::MAX);
    let plan = plan_arm64_image(image, kernel_minimum_start, initrd_len)?;
    plan.import(importer, initrd)
        .map_err(LoadImageError::Import)?;
    Ok(Arm64ImageInfo {
        kernel: plan.kernel(),
        initrd: plan.initrd(),
    })
}

impl core::fmt::Debug for Arm64ImagePlan<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The file bytes are left out: they can be megabytes.
        f.debug_struct("Arm64ImagePlan")
            .field("file_len", &self.image.len())
            .field("kernel", &self.kernel)
            .field("initrd", &self.initrd)
            .field("initrd_page_count", &self.initrd_page_count)
            .field("has_initrd", &self.has_initrd)
            .finish()
    }
}

impl Arm64ImagePlan<'_> {
    /// Where the kernel goes.
    pub fn kernel(&self) -> KernelInfo {
        self.kernel
    }

    /// Where the initrd goes ({0, 0} without one).
    pub fn initrd(&self) -> InitrdInfo {
        self.initrd
    }

    /// The plan without an initrd, as the loaders of OpenVMM
    /// release/1.8.2607 on load an `Image` when no initrd is given
    /// (docs/abi-versions.md G5): [`initrd`](Self::initrd) is {0, 0} and
    /// [`import`](Self::import) makes the kernel call only.
    pub fn without_initrd(self) -> Self {
        Self {
            initrd: InitrdInfo { gpa: 0, size: 0 },
            initrd_page_count: 0,
            has_initrd: false,
            ..self
        }
    }

    /// Imports the kernel ("linux-kernel", Exclusive, the whole file as data,
    /// `kernel.size / 4096` pages from the page holding the entry point) and
    /// then the initrd ("linux-initrd", Exclusive), as the original does.
    ///
    /// `initrd` must be the bytes whose length was passed to
    /// [`plan_arm64_image`] (a longer slice would be data longer than the
    /// planned pages, which the importer rejects).
    ///
    /// Like the original, an empty initrd is still imported, as a call with
    /// `page_count` 0 at the initrd address; importers ignore such calls
    /// (the summary importer of `docs/formats.md` lists no pages for it).
    pub fn import<I: ImportPages>(&self, importer: &mut I, initrd: &[u8]) -> Result<(), I::Error> {
        let [kernel, initrd_import] = self.imports();
        let initrd_import = self.has_initrd.then_some((initrd_import, initrd));
        for (import, data) in core::iter::once((kernel, self.image)).chain(initrd_import) {
            importer.import_pages(
                import.page_base,
                import.page_count,
                import.tag,
                import.acceptance,
                data,
            )?;
        }
        Ok(())
    }

    /// The two imports [`import`](Self::import) makes, in order: the kernel
    /// (the whole file as data) and the initrd.
    pub fn imports(&self) -> [ImageImport; 2] {
        [
            ImageImport {
                page_base: self.kernel.entrypoint >> PAGE_SHIFT,
                page_count: self.kernel.size >> PAGE_SHIFT,
                tag: KERNEL_TAG,
                acceptance: PageAcceptance::Exclusive,
            },
            ImageImport {
                page_base: self.initrd.gpa >> PAGE_SHIFT,
                page_count: self.initrd_page_count,
                tag: INITRD_TAG,
                acceptance: PageAcceptance::Exclusive,
            },
        ]
    }
}

/// Rounds `value` up to a multiple of the power of two `alignment`.
fn align_up(value: u64, alignment: u64) -> Option<u64> {
    let mask = alignment.checked_sub(1)?;
    Some(value.checked_add(mask)? & !mask)
}

#[cfg(test)]
mod tests;

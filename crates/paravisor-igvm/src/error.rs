//! The crate's error type.

use std::path::PathBuf;

/// Everything that can stop an IGVM build, a measurement or an inspection.
///
/// Where igvmfilegen panics (`docs/igvm.md` §12) this crate returns one of
/// these instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IgvmError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The build config is not valid JSON of the expected shape.
    #[error("invalid IGVM build config {path}: {message}")]
    Config {
        /// The config file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// The build config names an unknown format.
    #[error("{path}: unknown format {format:?}, expected \"paravisor-igvm-config/1\"")]
    ConfigFormat {
        /// The config file.
        path: PathBuf,
        /// The format string found.
        format: String,
    },
    /// A guest config disagrees with its load manifest.
    #[error("guest {guest} ({manifest}): {message}")]
    ManifestMismatch {
        /// Index of the guest in `guest_configs`.
        guest: usize,
        /// The load manifest.
        manifest: PathBuf,
        /// What disagrees.
        message: String,
    },
    /// The config lists no guest.
    #[error("the build config lists no guest")]
    NoGuests,
    /// `max_vtl` is neither 0 nor 2.
    #[error("guest {guest}: max_vtl {max_vtl} is not supported (0 or 2)")]
    MaxVtl {
        /// Index of the guest.
        guest: usize,
        /// The value found.
        max_vtl: u8,
    },
    /// SNP or TDX on AArch64.
    #[error("isolation {isolation} is not supported on {arch}")]
    IsolationArch {
        /// The isolation type.
        isolation: &'static str,
        /// The architecture.
        arch: &'static str,
    },
    /// An SNP guest without a shared GPA boundary (igvmfilegen panics).
    #[error("SNP guest {guest}: shared_gpa_boundary_bits is required")]
    SnpSharedGpaBoundaryMissing {
        /// Index of the guest.
        guest: usize,
    },
    /// A shared GPA boundary of 64 bits or more.
    #[error("shared GPA boundary bits {bits} out of range (at most 63)")]
    SharedGpaBoundaryBits {
        /// The value found.
        bits: u8,
    },
    /// The loader failed.
    #[error("guest {guest}: the paravisor loader failed: {message}")]
    Loader {
        /// Index of the guest.
        guest: usize,
        /// The loader's error.
        message: String,
    },
    /// Two accepted ranges overlap.
    #[error(
        "{tag} at pages {base:#x}..{end:#x} ({acceptance}) overlaps {other_tag} at pages {other_base:#x}..{other_end:#x}"
    )]
    Overlap {
        /// The new range's tag.
        tag: String,
        /// First page of the new range.
        base: u64,
        /// End page (exclusive) of the new range.
        end: u64,
        /// Acceptance of the new range.
        acceptance: String,
        /// The earlier range's tag.
        other_tag: String,
        /// First page of the earlier range.
        other_base: u64,
        /// End page (exclusive) of the earlier range.
        other_end: u64,
    },
    /// An import whose data is longer than its pages.
    #[error("{tag}: {len} bytes of data do not fit in {page_count} pages at page {page_base:#x}")]
    DataTooLarge {
        /// The import's tag.
        tag: String,
        /// First page.
        page_base: u64,
        /// Number of pages.
        page_count: u64,
        /// Length of the data.
        len: usize,
    },
    /// Page data of a directive longer than one page.
    #[error("page data at {gpa:#x} has {len} bytes, more than one page")]
    PageDataTooLarge {
        /// The page's GPA.
        gpa: u64,
        /// Length of the data.
        len: usize,
    },
    /// An address computation overflowed 64 bits.
    #[error("{what}: range at {base:#x} of {len:#x} overflows the address space")]
    AddressOverflow {
        /// What was computed.
        what: &'static str,
        /// Start of the range.
        base: u64,
        /// Size or offset of the range.
        len: u64,
    },
    /// An acceptance this writer does not support in this place.
    #[error("{tag}: acceptance {acceptance} is not supported here: {reason}")]
    Acceptance {
        /// The import's tag.
        tag: String,
        /// The acceptance.
        acceptance: String,
        /// Why.
        reason: &'static str,
    },
    /// Startup memory of 4 GiB or more: the RequiredMemory directive holds a
    /// 32-bit size (igvmfilegen panics "startup memory request overflowed u32").
    #[error(
        "required memory at page {page_base:#x}: {page_count:#x} pages (4 GiB or more) do not fit the IGVM RequiredMemory directive's 32-bit size"
    )]
    RequiredMemoryTooLarge {
        /// First page.
        page_base: u64,
        /// Number of pages.
        page_count: u64,
    },
    /// A parameter usage names an area that was not created.
    #[error("parameter area {index} does not exist")]
    UnknownParameterArea {
        /// The area index.
        index: u32,
    },
    /// A parameter area too large to measure.
    #[error("parameter area {index} has {size:#x} bytes, more than the 4 GiB measured")]
    ParameterAreaTooLarge {
        /// The area index.
        index: u32,
        /// Its size in bytes.
        size: u64,
    },
    /// A register imported twice.
    #[error("register {register} imported twice")]
    DuplicateRegister {
        /// The register.
        register: String,
    },
    /// A register the platform's VP context cannot hold.
    #[error("register {register} is not supported in a {platform} VP context")]
    UnsupportedRegister {
        /// The register.
        register: String,
        /// The platform.
        platform: &'static str,
    },
    /// A register with a value the platform cannot take.
    #[error("{platform} VP context: {message}")]
    RegisterValue {
        /// The platform.
        platform: &'static str,
        /// What was wrong.
        message: String,
    },
    /// TDX: CR3 at or above 4 GiB cannot be loaded by the 32-bit reset
    /// trampoline (igvmfilegen panics "cr3 must fit in u32").
    #[error("TDX: CR3 {cr3:#x} is at or above 4 GiB; the reset trampoline loads it in 32-bit mode")]
    TdxCr3Above4Gib {
        /// The CR3 value.
        cr3: u64,
    },
    /// `set_vp_context_page` on a platform without a VMSA, or twice.
    #[error("set_vp_context_page: {reason}")]
    VpContextPage {
        /// Why.
        reason: &'static str,
    },
    /// A relocation or page-table relocation record the file cannot carry.
    #[error("relocation record: {reason} (gpa {gpa:#x}, size {size:#x})")]
    Relocation {
        /// Why.
        reason: &'static str,
        /// The region's GPA.
        gpa: u64,
        /// The region's size in bytes.
        size: u64,
    },
    /// The imported-regions page cannot hold all descriptors.
    #[error(
        "imported-regions page: {count} descriptors need {bytes} bytes, more than one page (at most 168)"
    )]
    TooManyImportedRegions {
        /// Number of descriptors, the page itself included.
        count: usize,
        /// Bytes needed.
        bytes: usize,
    },
    /// VBS measurement of page data that is not NORMAL.
    #[error("VBS measurement: page data at {gpa:#x} has type {data_type}, only NORMAL is measured")]
    VbsPageDataType {
        /// The page's GPA.
        gpa: u64,
        /// The data type.
        data_type: u16,
    },
    /// An SNP platform without a guest policy.
    #[error("SNP measurement: no guest policy for compatibility mask {mask:#x}")]
    MissingSnpPolicy {
        /// The platform's mask.
        mask: u32,
    },
    /// An error while building one guest of a config.
    #[error("guest {guest} ({manifest}): {source}")]
    Guest {
        /// Index of the guest in `guest_configs`.
        guest: usize,
        /// Its load manifest.
        manifest: PathBuf,
        /// The error.
        source: Box<IgvmError>,
    },
    /// An IGVM file whose structure is broken (found before parsing).
    #[error("malformed IGVM file: {what}")]
    Malformed {
        /// What is wrong.
        what: &'static str,
    },
    /// A header's file offset outside the file data section.
    #[error(
        "malformed IGVM file: header type {header_type:#x} has file offset {file_offset:#x}, outside the file data (from {data_start:#x})"
    )]
    FileOffset {
        /// The variable-header type.
        header_type: u32,
        /// The offset found.
        file_offset: u32,
        /// Where file data starts.
        data_start: u32,
    },
    /// The file would be 4 GiB or larger; IGVM sizes and offsets are 32-bit.
    #[error("the IGVM file would need up to {bytes:#x} bytes; IGVM files are limited to 4 GiB")]
    FileTooLarge {
        /// Upper bound of the file size.
        bytes: u64,
    },
    /// The `igvm` crate rejected the file.
    #[error("IGVM {what}: {source}")]
    Igvm {
        /// What was being done (build, merge, serialise, parse).
        what: &'static str,
        /// The crate's error.
        source: igvm::Error,
    },
}

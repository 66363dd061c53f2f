//! What can be wrong with an ELF file or its placement, and the error of a
//! load (the file's, or the importer's).

/// What is wrong with an ELF file, or with where it was asked to be loaded.
///
/// `index` fields are indices into the program-header table. The comment on
/// each variant names the original's error kind (`docs/algorithms.md` §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ElfError {
    /// ReadFileHeader: the file is shorter than the 64-byte ELF64 header.
    #[error("ELF file is {file_len} bytes, shorter than the 64-byte ELF64 file header")]
    TruncatedFileHeader {
        /// Length of the file.
        file_len: usize,
    },
    /// InvalidFileHeader: `e_ident[0..4]` is not 7F 'E' 'L' 'F'.
    #[error("not an ELF file: magic is {magic:02x?}, expected [7f, 45, 4c, 46]")]
    BadMagic {
        /// The first four bytes of the file.
        magic: [u8; 4],
    },
    /// InvalidFileHeader: `e_ident[EI_CLASS]` is not ELFCLASS64 (2).
    #[error("ELF class is {class}, expected 2 (ELFCLASS64): only ELF64 files can be loaded")]
    WrongClass {
        /// `e_ident[EI_CLASS]`.
        class: u8,
    },
    /// InvalidFileHeader: `e_ident[EI_DATA]` is neither 1 nor 2.
    #[error("ELF data encoding is {data}, expected 1 (little endian) or 2 (big endian)")]
    BadDataEncoding {
        /// `e_ident[EI_DATA]`.
        data: u8,
    },
    /// InvalidFileHeader: `e_ident[EI_VERSION]` is not EV_CURRENT (1).
    #[error("ELF ident version is {version}, expected 1 (EV_CURRENT)")]
    BadIdentVersion {
        /// `e_ident[EI_VERSION]`.
        version: u8,
    },
    /// BigEndianElfOnLittle: the file is big endian.
    #[error("ELF file is big endian (ELFDATA2MSB); only little-endian files can be loaded")]
    BigEndian,
    /// TargetMachineMismatch: `e_machine` is not the importer's architecture.
    #[error("ELF e_machine is {e_machine}, expected {expected} for this architecture")]
    WrongMachine {
        /// `e_machine` of the file.
        e_machine: u16,
        /// The value the architecture requires (62 x86-64, 183 arm64).
        expected: u16,
    },
    /// InvalidProgramHeader: `e_phnum` is 0xFFFF (count in section 0) but
    /// there are no section headers (`e_shoff` = 0).
    #[error("ELF e_phnum is 0xffff (extended count in section header 0) but e_shoff is 0")]
    MissingSectionHeaderZero,
    /// InvalidProgramHeader: section header 0 is needed and `e_shentsize` is
    /// not 64.
    #[error("ELF e_shentsize is {e_shentsize}, expected 64")]
    BadSectionHeaderEntrySize {
        /// `e_shentsize`.
        e_shentsize: u16,
    },
    /// InvalidProgramHeader: section header 0 lies outside the file.
    #[error(
        "ELF section header 0 at e_shoff {e_shoff:#x} (64 bytes) is outside the {file_len}-byte file"
    )]
    SectionHeaderZeroOutOfFile {
        /// `e_shoff`.
        e_shoff: u64,
        /// Length of the file.
        file_len: usize,
    },
    /// InvalidProgramHeader: `e_phentsize` is not 56.
    #[error("ELF e_phentsize is {e_phentsize}, expected 56")]
    BadProgramHeaderEntrySize {
        /// `e_phentsize`.
        e_phentsize: u16,
    },
    /// InvalidProgramHeader: the program-header table lies (partly) outside
    /// the file.
    #[error(
        "ELF program headers ({count} x 56 bytes at e_phoff {e_phoff:#x}) are outside the {file_len}-byte file"
    )]
    ProgramHeadersOutOfFile {
        /// `e_phoff`.
        e_phoff: u64,
        /// Number of program headers (`e_phnum`, or `sh_info` of section 0).
        count: u64,
        /// Length of the file.
        file_len: usize,
    },
    /// (Overflow in the original, §9 row 18.) The position-independent load
    /// offset `start_address - lowest_paddr + load_offset` overflows.
    #[error(
        "PIC load offset overflows: start address {start_address:#x} - lowest p_paddr {lowest_paddr:#x} + load offset {load_offset:#x}"
    )]
    PicLoadOffsetOverflow {
        /// The requested start address.
        start_address: u64,
        /// The lowest `p_paddr` of the `PT_LOAD` headers.
        lowest_paddr: u64,
        /// The caller's load offset.
        load_offset: u64,
    },
    /// InvalidEntryAddress: `e_entry` + effective load offset overflows.
    #[error("ELF entry point overflows: e_entry {e_entry:#x} + load offset {load_offset:#x}")]
    EntryAddressOverflow {
        /// `e_entry`.
        e_entry: u64,
        /// The effective load offset.
        load_offset: u64,
    },
    /// InvalidEntryAddress: the entry point is below the start address.
    #[error(
        "ELF entry point {entry:#x} (e_entry {e_entry:#x} + load offset {load_offset:#x}) is below the start address {start_address:#x}"
    )]
    EntryBelowStart {
        /// The entry point with the load offset applied.
        entry: u64,
        /// `e_entry`.
        e_entry: u64,
        /// The effective load offset.
        load_offset: u64,
        /// The requested start address.
        start_address: u64,
    },
    /// LoadOffsetOverflow: `p_paddr` + effective load offset overflows.
    #[error(
        "program header {index}: p_paddr {p_paddr:#x} + load offset {load_offset:#x} overflows"
    )]
    LoadOffsetOverflow {
        /// Program-header index.
        index: usize,
        /// `p_paddr`.
        p_paddr: u64,
        /// The effective load offset.
        load_offset: u64,
    },
    /// InvalidProgramHeaderMemoryOffset: a segment starts below the start
    /// address.
    #[error(
        "program header {index}: segment address {address:#x} is below the start address {start_address:#x}"
    )]
    SegmentBelowStart {
        /// Program-header index.
        index: usize,
        /// The segment's guest address.
        address: u64,
        /// The requested start address.
        start_address: u64,
    },
    /// (Overflow in the original, §9 row 18.) The segment's page range
    /// extends beyond the 64-bit address space.
    #[error(
        "program header {index}: segment at {address:#x} with p_memsz {p_memsz:#x} extends beyond the 64-bit address space"
    )]
    SegmentSizeOverflow {
        /// Program-header index.
        index: usize,
        /// The segment's guest address.
        address: u64,
        /// `p_memsz`.
        p_memsz: u64,
    },
    /// (Underflow in the original, §9 row 16.) `assume_pic` is set and the
    /// file has no `PT_LOAD` header.
    #[error("position-independent ELF has no PT_LOAD program header")]
    NoLoadableSegments,
    /// (Underflow in the original.) With `assume_pic`, the lowest segment
    /// page lies below an unaligned start address, so the relocation bias
    /// would be negative.
    #[error(
        "lowest segment page {lowest_page_address:#x} is below the (unaligned) start address {start_address:#x}"
    )]
    RelocBiasUnderflow {
        /// The lowest segment page address.
        lowest_page_address: u64,
        /// The requested start address.
        start_address: u64,
    },
    /// RelocBiasOverflow: removing the relocation bias from a segment address
    /// underflows (cannot happen once the first pass succeeded; kept for
    /// completeness).
    #[error(
        "program header {index}: segment address {address:#x} is below the relocation bias {reloc_bias:#x}"
    )]
    RelocBiasOverflow {
        /// Program-header index.
        index: usize,
        /// The segment's guest address before the bias is removed.
        address: u64,
        /// The relocation bias.
        reloc_bias: u64,
    },
    /// (Underflow in the original.) The entry point is below the relocation
    /// bias.
    #[error("ELF entry point {entry:#x} is below the relocation bias {reloc_bias:#x}")]
    EntryBelowRelocBias {
        /// The entry point with the load offset applied.
        entry: u64,
        /// The relocation bias.
        reloc_bias: u64,
    },
    /// ReadKernelImage: a segment's file bytes lie (partly) outside the file.
    #[error(
        "program header {index}: file range p_offset {p_offset:#x} + p_filesz {p_filesz:#x} is outside the {file_len}-byte file"
    )]
    SegmentOutOfFile {
        /// Program-header index.
        index: usize,
        /// `p_offset`.
        p_offset: u64,
        /// `p_filesz`.
        p_filesz: u64,
        /// Length of the file.
        file_len: usize,
    },
    /// (Rejected by the importer in the original.) A segment has more file
    /// bytes than memory bytes.
    #[error("program header {index}: p_filesz {p_filesz:#x} is larger than p_memsz {p_memsz:#x}")]
    FileSizeAboveMemorySize {
        /// Program-header index.
        index: usize,
        /// `p_filesz`.
        p_filesz: u64,
        /// `p_memsz`.
        p_memsz: u64,
    },
    /// (Rejected by the importer in the original.) Two segments use the same
    /// page.
    #[error(
        "program headers {first} and {second} overlap: pages {first_page_base:#x}+{first_page_count:#x} and {second_page_base:#x}+{second_page_count:#x}"
    )]
    OverlappingSegments {
        /// Index of the earlier program header.
        first: usize,
        /// First page number of the earlier segment.
        first_page_base: u64,
        /// Page count of the earlier segment.
        first_page_count: u64,
        /// Index of the later program header.
        second: usize,
        /// First page number of the later segment.
        second_page_base: u64,
        /// Page count of the later segment.
        second_page_count: u64,
    },
}

/// Error of [`load_static_elf`](super::load_static_elf): the file was invalid (nothing imported), or
/// the importer failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError<E: core::fmt::Debug + core::fmt::Display> {
    /// The file or the requested placement is invalid; nothing was imported.
    #[error(transparent)]
    Elf(#[from] ElfError),
    /// The importer rejected a page import.
    #[error("the importer rejected a page import: {0}")]
    Import(E),
}

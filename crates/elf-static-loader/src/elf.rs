//! Static ELF64 loading (`load_static_elf` of the original, `docs/algorithms.md` §2).
//!
//! [`plan_static_elf`] performs every check of the original (steps 1–9) and
//! the per-segment checks of step 10, plus the checks the original leaves to
//! the importer or to a panic (file ranges, `p_filesz > p_memsz`, overlapping
//! segments, arithmetic overflow). [`StaticElfPlan::import`] then hands the
//! segments to an importer and can only fail through the importer.
//!
//! Differences from the original, all on inputs the original rejects late
//! (after earlier segments were imported) or panics on:
//! * `p_filesz > p_memsz` is an error even when the extra bytes would still
//!   fit in the last imported page (the original imports them), and even for
//!   a segment with no pages (the original drops its bytes).
//! * Two segments whose page ranges share a page are an error (the original's
//!   importer rejects the second import).
//! * `assume_pic` with no `PT_LOAD` header is an error (the original
//!   underflows, `docs/algorithms.md` §9 row 16); so is a lowest segment page below
//!   an unaligned `start_address` (the relocation bias would underflow).
//! * Overflowing address arithmetic is an error (§9 row 18) and nothing is
//!   allocated, so a huge `p_filesz` cannot abort (§9 row 19).

use core::cmp::max;
use core::cmp::min;

use object::LittleEndian;
use object::elf::ELFCLASS64;
use object::elf::ELFDATA2LSB;
use object::elf::ELFDATA2MSB;
use object::elf::ELFMAG;
use object::elf::EM_AARCH64;
use object::elf::EM_X86_64;
use object::elf::EV_CURRENT;
use object::elf::FileHeader64;
use object::elf::PN_XNUM;
use object::elf::PT_LOAD;
use object::elf::ProgramHeader64;
use object::elf::SectionHeader64;
use object::pod;

mod error;

pub use error::ElfError;
pub use error::LoadError;

use crate::import::ImportPages;
use crate::import::PAGE_SHIFT;
use crate::import::PAGE_SIZE;
use crate::import::PageAcceptance;

type Ehdr = FileHeader64<LittleEndian>;
type Phdr = ProgramHeader64<LittleEndian>;
type Shdr = SectionHeader64<LittleEndian>;

const LE: LittleEndian = LittleEndian;

/// Size of an ELF64 file header in bytes.
pub const ELF64_HEADER_SIZE: usize = 64;
/// Size of an ELF64 program header (`e_phentsize`) in bytes.
pub const ELF64_PROGRAM_HEADER_SIZE: usize = 56;
/// Size of an ELF64 section header (`e_shentsize`) in bytes.
pub const ELF64_SECTION_HEADER_SIZE: usize = 64;

/// Offset of an address within its 4 KiB page.
const PAGE_OFFSET_MASK: u64 = PAGE_SIZE - 1;

/// The architecture an ELF file must be built for (`e_machine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ElfMachine {
    /// `EM_X86_64` (62), for x86-64 importers.
    X86_64,
    /// `EM_AARCH64` (183), for arm64 importers.
    Aarch64,
}

impl ElfMachine {
    /// The `e_machine` value this architecture requires.
    pub const fn e_machine(self) -> u16 {
        match self {
            Self::X86_64 => EM_X86_64,
            Self::Aarch64 => EM_AARCH64,
        }
    }
}

/// Where a static ELF was placed (`LoadInfo` of the original).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LoadInfo {
    /// The lowest page address used by a `PT_LOAD` segment (`u64::MAX` when
    /// a non-PIC file has no `PT_LOAD`, as in the original).
    pub minimum_address_used: u64,
    /// The page-aligned end of the highest segment (the effective load offset
    /// when a non-PIC file has no `PT_LOAD`, as in the original).
    pub next_available_address: u64,
    /// The entry point, relocated like the segments.
    pub entrypoint: u64,
}

/// One `PT_LOAD` segment as it will be imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadSegment<'a> {
    /// Index of the program header.
    pub index: usize,
    /// Guest physical address of the segment's first byte.
    pub address: u64,
    /// First page number (`address / 4096`).
    pub page_base: u64,
    /// Number of pages (`((address mod 4096) + p_memsz + 4095) / 4096`);
    /// 0 means the segment is not imported.
    pub page_count: u64,
    /// The segment's file bytes (`p_filesz` bytes at `p_offset`), a slice of
    /// the input.
    pub file_bytes: &'a [u8],
    /// `p_memsz`.
    pub memory_size: u64,
}

/// A checked plan to load a static ELF: every address is computed and every
/// check is done; [`import`](Self::import) can only fail through the
/// importer.
#[derive(Clone, Copy)]
pub struct StaticElfPlan<'a> {
    elf: &'a [u8],
    program_headers: &'a [Phdr],
    start_address: u64,
    /// The effective load offset `L` (§2 step 6).
    load_offset: u64,
    reloc_bias: u64,
    info: LoadInfo,
}

/// Checks an ELF64 file and computes where its segments go (`docs/algorithms.md`
/// §2 steps 1–9 and the checks of step 10), without importing anything.
///
/// `start_address`, `load_offset` and `assume_pic` have the original's
/// meaning: segments land at `p_paddr + L - reloc_bias`, where `L` is
/// `load_offset`, raised for a PIC file whose lowest `p_paddr` is below
/// `start_address`, and `reloc_bias` moves a PIC file whose lowest page is
/// above `start_address` down to it.
///
/// Errors are reported in the original's order: file header, program-header
/// table, load offset, entry point, the first pass over `PT_LOAD` headers,
/// the relocation bias, then each segment in file order (address, file
/// range, `p_filesz <= p_memsz`, pages, overlap with an earlier segment).
///
/// Cost: linear in the number of program headers when the `PT_LOAD`
/// segments are in ascending address order (as linkers emit them); a
/// segment below an earlier one is compared with every earlier segment, so
/// a file listing many segments in descending order costs quadratic time
/// (no allocation is used to sort them).
pub fn plan_static_elf<'a>(
    elf: &'a [u8],
    machine: ElfMachine,
    start_address: u64,
    load_offset: u64,
    assume_pic: bool,
) -> Result<StaticElfPlan<'a>, ElfError> {
    // Steps 1-5: file header and program-header table.
    let header = read_file_header(elf, machine)?;
    let program_headers = read_program_headers(elf, header)?;

    // Step 6: effective load offset.
    let load_offset = if assume_pic {
        let lowest_paddr = program_headers
            .iter()
            .filter(|ph| ph.p_type.get(LE) == PT_LOAD)
            .map(|ph| ph.p_paddr.get(LE))
            .min()
            .unwrap_or(u64::MAX);
        match start_address.checked_sub(lowest_paddr) {
            Some(raise) if raise > 0 => {
                raise
                    .checked_add(load_offset)
                    .ok_or(ElfError::PicLoadOffsetOverflow {
                        start_address,
                        lowest_paddr,
                        load_offset,
                    })?
            }
            _ => load_offset,
        }
    } else {
        load_offset
    };

    // Step 7: entry point, before any bias is removed.
    let e_entry = header.e_entry.get(LE);
    let entry = e_entry
        .checked_add(load_offset)
        .ok_or(ElfError::EntryAddressOverflow {
            e_entry,
            load_offset,
        })?;
    if entry < start_address {
        return Err(ElfError::EntryBelowStart {
            entry,
            e_entry,
            load_offset,
            start_address,
        });
    }

    // Step 8: first pass, the extent of the image.
    let mut lowest = u64::MAX;
    let mut last = load_offset;
    let mut any_load = false;
    for (index, ph) in program_headers.iter().enumerate() {
        if ph.p_type.get(LE) != PT_LOAD {
            continue;
        }
        any_load = true;
        let address = offset_address(index, ph, load_offset)?;
        if address < start_address {
            return Err(ElfError::SegmentBelowStart {
                index,
                address,
                start_address,
            });
        }
        let span = page_span(index, address, ph.p_memsz.get(LE))?;
        lowest = min(lowest, span.first_page_address);
        last = max(last, span.end_address);
    }

    // Step 9: relocation bias.
    let reloc_bias = if assume_pic {
        if !any_load {
            return Err(ElfError::NoLoadableSegments);
        }
        lowest
            .checked_sub(start_address)
            .ok_or(ElfError::RelocBiasUnderflow {
                lowest_page_address: lowest,
                start_address,
            })?
    } else {
        0
    };

    let mut plan = StaticElfPlan {
        elf,
        program_headers,
        start_address,
        load_offset,
        reloc_bias,
        info: LoadInfo {
            minimum_address_used: 0,
            next_available_address: 0,
            entrypoint: 0,
        },
    };

    // Step 10 checks: every segment as it will be imported.
    let mut end_page_so_far = 0u64;
    for (index, ph) in program_headers.iter().enumerate() {
        let Some(segment) = plan.segment(index, ph)? else {
            continue;
        };
        if segment.page_count == 0 {
            continue;
        }
        // `page_span` checked that this cannot overflow.
        let end_page = segment.page_base.saturating_add(segment.page_count);
        if segment.page_base < end_page_so_far {
            // Out of order, or overlapping: compare with every earlier
            // segment (segments in ascending order never get here).
            if let Some(earlier) = plan.segments().take_while(|s| s.index < index).find(|s| {
                s.page_count > 0
                    && s.page_base < end_page
                    && segment.page_base < s.page_base.saturating_add(s.page_count)
            }) {
                return Err(ElfError::OverlappingSegments {
                    first: earlier.index,
                    first_page_base: earlier.page_base,
                    first_page_count: earlier.page_count,
                    second: index,
                    second_page_base: segment.page_base,
                    second_page_count: segment.page_count,
                });
            }
        }
        end_page_so_far = max(end_page_so_far, end_page);
    }

    // Step 11: the result, with the bias removed. `lowest` and `last` are
    // at least `start_address + reloc_bias` when there is a PT_LOAD (PIC),
    // and the bias is 0 otherwise.
    let unbias = |value: u64| value.checked_sub(reloc_bias);
    plan.info = LoadInfo {
        minimum_address_used: unbias(lowest).unwrap_or(lowest),
        next_available_address: unbias(last).unwrap_or(last),
        entrypoint: unbias(entry).ok_or(ElfError::EntryBelowRelocBias { entry, reloc_bias })?,
    };
    Ok(plan)
}

/// Loads a static ELF64 file: [`plan_static_elf`], then
/// [`StaticElfPlan::import`]. Nothing is imported when the file is invalid.
#[expect(
    clippy::too_many_arguments,
    reason = "mirrors the original's signature"
)]
pub fn load_static_elf<I: ImportPages>(
    importer: &mut I,
    elf: &[u8],
    machine: ElfMachine,
    start_address: u64,
    load_offset: u64,
    assume_pic: bool,
    acceptance: PageAcceptance,
    tag: &'static str,
) -> Result<LoadInfo, LoadError<I::Error>> {
    let plan = plan_static_elf(elf, machine, start_address, load_offset, assume_pic)?;
    plan.import(importer, acceptance, tag)
        .map_err(LoadError::Import)?;
    Ok(plan.info())
}

impl core::fmt::Debug for StaticElfPlan<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The file bytes are left out: they can be megabytes.
        f.debug_struct("StaticElfPlan")
            .field("file_len", &self.elf.len())
            .field("program_headers", &self.program_headers.len())
            .field("start_address", &self.start_address)
            .field("load_offset", &self.load_offset)
            .field("reloc_bias", &self.reloc_bias)
            .field("info", &self.info)
            .finish()
    }
}

impl<'a> StaticElfPlan<'a> {
    /// Where the file goes: lowest page, next free address, entry point.
    pub fn info(&self) -> LoadInfo {
        self.info
    }

    /// The effective load offset `L` (`docs/algorithms.md` §2 step 6).
    pub fn effective_load_offset(&self) -> u64 {
        self.load_offset
    }

    /// The relocation bias removed from every address (§2 step 9; 0 unless
    /// `assume_pic`).
    pub fn reloc_bias(&self) -> u64 {
        self.reloc_bias
    }

    /// The `PT_LOAD` segments in file order, as they will be imported
    /// (including segments with no pages, which are not imported).
    pub fn segments(&self) -> impl Iterator<Item = LoadSegment<'a>> + '_ {
        self.program_headers
            .iter()
            .enumerate()
            // The plan checked every segment: errors cannot occur here.
            .filter_map(|(index, ph)| self.segment(index, ph).ok().flatten())
    }

    /// Imports the segments in file order: exactly one
    /// [`ImportPages::import_pages_at_offset`] call per `PT_LOAD` with at
    /// least one page, equivalent to the original's single `import_pages`
    /// call (`docs/algorithms.md` §2 step 10): `page_base`, `page_count`, and
    /// `(address mod 4096)` leading zeros followed by the file bytes (a
    /// slice of the input, never copied here). Importers that keep the
    /// default implementation of that method receive it as at most two
    /// `import_pages` calls (the first page through a 4 KiB buffer, then
    /// the rest as a slice of the input).
    pub fn import<I: ImportPages>(
        &self,
        importer: &mut I,
        acceptance: PageAcceptance,
        tag: &'static str,
    ) -> Result<(), I::Error> {
        for segment in self.segments() {
            import_segment(importer, &segment, acceptance, tag)?;
        }
        Ok(())
    }

    /// Step 10 for one program header: `None` for a non-`PT_LOAD` header.
    fn segment(&self, index: usize, ph: &Phdr) -> Result<Option<LoadSegment<'a>>, ElfError> {
        if ph.p_type.get(LE) != PT_LOAD {
            return Ok(None);
        }
        let offset_address = offset_address(index, ph, self.load_offset)?;
        let address =
            offset_address
                .checked_sub(self.reloc_bias)
                .ok_or(ElfError::RelocBiasOverflow {
                    index,
                    address: offset_address,
                    reloc_bias: self.reloc_bias,
                })?;
        if address < self.start_address {
            return Err(ElfError::SegmentBelowStart {
                index,
                address,
                start_address: self.start_address,
            });
        }
        let p_offset = ph.p_offset.get(LE);
        let p_filesz = ph.p_filesz.get(LE);
        let p_memsz = ph.p_memsz.get(LE);
        // Nothing is read when p_filesz is 0, whatever p_offset is.
        let file_bytes = if p_filesz == 0 {
            &[][..]
        } else {
            usize::try_from(p_offset)
                .ok()
                .zip(usize::try_from(p_filesz).ok())
                .and_then(|(start, len)| self.elf.get(start..)?.get(..len))
                .ok_or(ElfError::SegmentOutOfFile {
                    index,
                    p_offset,
                    p_filesz,
                    file_len: self.elf.len(),
                })?
        };
        if p_filesz > p_memsz {
            return Err(ElfError::FileSizeAboveMemorySize {
                index,
                p_filesz,
                p_memsz,
            });
        }
        let span = page_span(index, address, p_memsz)?;
        Ok(Some(LoadSegment {
            index,
            address,
            page_base: span.page_base,
            page_count: span.page_count,
            file_bytes,
            memory_size: p_memsz,
        }))
    }
}

/// Steps 1-4: reads and checks the file header.
fn read_file_header(elf: &[u8], machine: ElfMachine) -> Result<&Ehdr, ElfError> {
    let (header, _) = pod::from_bytes::<Ehdr>(elf).map_err(|()| ElfError::TruncatedFileHeader {
        file_len: elf.len(),
    })?;
    let ident = &header.e_ident;
    if ident.magic != ELFMAG {
        return Err(ElfError::BadMagic { magic: ident.magic });
    }
    if ident.class != ELFCLASS64 {
        return Err(ElfError::WrongClass { class: ident.class });
    }
    if ident.data != ELFDATA2LSB && ident.data != ELFDATA2MSB {
        return Err(ElfError::BadDataEncoding { data: ident.data });
    }
    if ident.version != EV_CURRENT {
        return Err(ElfError::BadIdentVersion {
            version: ident.version,
        });
    }
    if ident.data == ELFDATA2MSB {
        return Err(ElfError::BigEndian);
    }
    let e_machine = header.e_machine.get(LE);
    if e_machine != machine.e_machine() {
        return Err(ElfError::WrongMachine {
            e_machine,
            expected: machine.e_machine(),
        });
    }
    Ok(header)
}

/// Step 5: the program-header table, checked like `object`'s
/// `FileHeader::program_headers`.
fn read_program_headers<'a>(elf: &'a [u8], header: &Ehdr) -> Result<&'a [Phdr], ElfError> {
    let e_phoff = header.e_phoff.get(LE);
    if e_phoff == 0 {
        return Ok(&[]);
    }
    let e_phnum = header.e_phnum.get(LE);
    let count = if e_phnum < PN_XNUM {
        u64::from(e_phnum)
    } else {
        u64::from(section_header_zero(elf, header)?.sh_info.get(LE))
    };
    if count == 0 {
        return Ok(&[]);
    }
    let e_phentsize = header.e_phentsize.get(LE);
    if usize::from(e_phentsize) != ELF64_PROGRAM_HEADER_SIZE {
        return Err(ElfError::BadProgramHeaderEntrySize { e_phentsize });
    }
    let out_of_file = ElfError::ProgramHeadersOutOfFile {
        e_phoff,
        count,
        file_len: elf.len(),
    };
    let start = usize::try_from(e_phoff).map_err(|_| out_of_file)?;
    let count = usize::try_from(count).map_err(|_| out_of_file)?;
    let table = elf.get(start..).ok_or(out_of_file)?;
    let (headers, _) = pod::slice_from_bytes::<Phdr>(table, count).map_err(|()| out_of_file)?;
    Ok(headers)
}

/// Section header 0, needed when `e_phnum` is `PN_XNUM`.
fn section_header_zero<'a>(elf: &'a [u8], header: &Ehdr) -> Result<&'a Shdr, ElfError> {
    let e_shoff = header.e_shoff.get(LE);
    if e_shoff == 0 {
        return Err(ElfError::MissingSectionHeaderZero);
    }
    let e_shentsize = header.e_shentsize.get(LE);
    if usize::from(e_shentsize) != ELF64_SECTION_HEADER_SIZE {
        return Err(ElfError::BadSectionHeaderEntrySize { e_shentsize });
    }
    let out_of_file = ElfError::SectionHeaderZeroOutOfFile {
        e_shoff,
        file_len: elf.len(),
    };
    let start = usize::try_from(e_shoff).map_err(|_| out_of_file)?;
    let (section, _) =
        pod::from_bytes::<Shdr>(elf.get(start..).ok_or(out_of_file)?).map_err(|()| out_of_file)?;
    Ok(section)
}

/// `p_paddr + L` (steps 8.1 and 10.1).
fn offset_address(index: usize, ph: &Phdr, load_offset: u64) -> Result<u64, ElfError> {
    let p_paddr = ph.p_paddr.get(LE);
    p_paddr
        .checked_add(load_offset)
        .ok_or(ElfError::LoadOffsetOverflow {
            index,
            p_paddr,
            load_offset,
        })
}

/// The pages of a segment (steps 8.3 and 10.4).
struct PageSpan {
    page_base: u64,
    page_count: u64,
    first_page_address: u64,
    /// `(page_base + page_count) * 4096`.
    end_address: u64,
}

fn page_span(index: usize, address: u64, p_memsz: u64) -> Result<PageSpan, ElfError> {
    let overflow = ElfError::SegmentSizeOverflow {
        index,
        address,
        p_memsz,
    };
    let first_page_address = address & !PAGE_OFFSET_MASK;
    let page_count = (address & PAGE_OFFSET_MASK)
        .checked_add(p_memsz)
        .and_then(|bytes| bytes.checked_add(PAGE_OFFSET_MASK))
        .ok_or(overflow)?
        >> PAGE_SHIFT;
    let end_address = page_count
        .checked_mul(PAGE_SIZE)
        .and_then(|bytes| bytes.checked_add(first_page_address))
        .ok_or(overflow)?;
    Ok(PageSpan {
        page_base: address >> PAGE_SHIFT,
        page_count,
        first_page_address,
        end_address,
    })
}

/// Imports one segment (step 10.5): the original's single call, as one
/// [`ImportPages::import_pages_at_offset`] call with the file bytes as a
/// slice of the input.
fn import_segment<I: ImportPages>(
    importer: &mut I,
    segment: &LoadSegment<'_>,
    acceptance: PageAcceptance,
    tag: &'static str,
) -> Result<(), I::Error> {
    let LoadSegment {
        address,
        page_base,
        page_count,
        file_bytes,
        ..
    } = *segment;
    if page_count == 0 {
        return Ok(());
    }
    // Below 4096, so the conversion cannot fail.
    let leading_zeros = usize::try_from(address & PAGE_OFFSET_MASK).unwrap_or(0);
    importer.import_pages_at_offset(
        page_base,
        page_count,
        tag,
        acceptance,
        leading_zeros,
        file_bytes,
    )
}

#[cfg(test)]
mod tests;

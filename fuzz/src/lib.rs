//! Shared harness code for the fuzz targets: a little-endian input reader, a
//! page importer that records every call and checks the import contract, and
//! the invariant checks the targets share.
//!
//! The targets check invariants, not only "no crash": imports lie inside the
//! range the loader said it would use, no two imports overlap, an error
//! means nothing was imported, a size query equals the space used, and a
//! walker reads back what a builder built.

pub mod load;

use elf_static_loader::ImportPages;
use elf_static_loader::PAGE_SIZE;
use elf_static_loader::PageAcceptance;

/// Reads fixed-size little-endian values from the front of a fuzz input;
/// missing bytes read as zero, so every input decodes.
#[derive(Debug, Clone, Copy)]
pub struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        out
    }

    /// The next u64 (little endian).
    pub fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }

    /// The next u32 (little endian).
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }

    /// The next u16 (little endian).
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take())
    }

    /// The next byte.
    pub fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }

    /// Everything not read yet.
    pub fn rest(self) -> &'a [u8] {
        self.data
    }
}

/// One recorded `import_pages` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// First page number.
    pub page_base: u64,
    /// Number of pages.
    pub page_count: u64,
    /// The tag.
    pub tag: &'static str,
    /// The acceptance.
    pub acceptance: PageAcceptance,
    /// Length of the data passed.
    pub data_len: usize,
}

impl Import {
    /// One past the last page (the contract makes this fit: checked on
    /// record).
    pub fn end_page(&self) -> u64 {
        self.page_base + self.page_count
    }
}

/// An importer that records every call and checks the `ImportPages`
/// contract the loaders promise: data no longer than the pages, a page range
/// that does not run past 2^64 bytes.
#[derive(Debug, Default)]
pub struct Recorder {
    /// Every call, in order.
    pub imports: Vec<Import>,
}

impl ImportPages for Recorder {
    type Error = core::convert::Infallible;

    fn import_pages(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &'static str,
        acceptance: PageAcceptance,
        data: &[u8],
    ) -> Result<(), Self::Error> {
        let bytes = page_count
            .checked_mul(PAGE_SIZE)
            .unwrap_or_else(|| panic!("{tag}: {page_count} pages overflow a u64 byte count"));
        page_base
            .checked_add(page_count)
            .and_then(|end| end.checked_mul(PAGE_SIZE))
            .or((page_count == 0).then_some(0))
            .unwrap_or_else(|| {
                panic!("{tag}: pages {page_base:#x} + {page_count:#x} run past 2^64 bytes")
            });
        assert!(
            data.len() as u64 <= bytes,
            "{tag}: {} data bytes for {page_count} pages at page {page_base:#x}",
            data.len()
        );
        self.imports.push(Import {
            page_base,
            page_count,
            tag,
            acceptance,
            data_len: data.len(),
        });
        Ok(())
    }
}

/// Asserts that no two non-empty imports share a page.
pub fn assert_disjoint(imports: &[Import]) {
    let mut ranges: Vec<&Import> = imports.iter().filter(|i| i.page_count > 0).collect();
    ranges.sort_by_key(|i| i.page_base);
    for pair in ranges.windows(2) {
        assert!(
            pair[0].end_page() <= pair[1].page_base,
            "imports overlap: {:?} and {:?}",
            pair[0],
            pair[1]
        );
    }
}

/// Asserts that every non-empty import lies in `[low, high)` (byte
/// addresses, page-rounded outwards by the caller).
pub fn assert_within(imports: &[Import], low: u64, high: u64) {
    for i in imports.iter().filter(|i| i.page_count > 0) {
        let start = i.page_base * PAGE_SIZE;
        let end = i.end_page() * PAGE_SIZE;
        assert!(
            low <= start && end <= high,
            "import {i:?} ([{start:#x}, {end:#x})) outside the planned range [{low:#x}, {high:#x})"
        );
    }
}

/// `value` rounded down to a page.
pub fn page_down(value: u64) -> u64 {
    value & !(PAGE_SIZE - 1)
}

/// `value` rounded up to a page (saturating at the last page).
pub fn page_up(value: u64) -> u64 {
    value
        .checked_add(PAGE_SIZE - 1)
        .map_or(page_down(u64::MAX), page_down)
}

/// Applies up to `count` corruptions read from `input` to `bytes`: each is an
/// offset (u32, reduced modulo the length, aligned to 8) and a u64 that is
/// XORed into the 8-byte entry there. Used by the walker targets to start
/// from valid tables and damage them.
pub fn corrupt_entries(bytes: &mut [u8], input: &mut Bytes<'_>, count: usize) {
    if bytes.len() < 8 {
        return;
    }
    for _ in 0..count {
        let offset = (input.u32() as usize % (bytes.len() / 8)) * 8;
        let xor = input.u64();
        let entry = &mut bytes[offset..offset + 8];
        let value = u64::from_le_bytes(entry.try_into().unwrap_or_default()) ^ xor;
        entry.copy_from_slice(&value.to_le_bytes());
    }
}

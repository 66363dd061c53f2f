//! Test helpers: an ELF64 builder and a recording importer with a model of
//! guest memory.

extern crate std;

use std::collections::BTreeMap;
use std::fmt;
use std::string::String;
use std::vec;
use std::vec::Vec;

use object::elf::PT_LOAD;

use crate::import::ImportPages;
use crate::import::PageAcceptance;

pub(crate) use object::elf::PT_GNU_STACK;
pub(crate) use object::elf::PT_NOTE;

/// One program header to build.
#[derive(Debug, Clone)]
pub(crate) struct Seg {
    pub(crate) p_type: u32,
    pub(crate) paddr: u64,
    pub(crate) data: Vec<u8>,
    pub(crate) memsz: u64,
    /// Overrides the file offset the builder chooses (and the data is then
    /// not written).
    pub(crate) offset: Option<u64>,
    /// Overrides `p_filesz` (default: `data.len()`).
    pub(crate) filesz: Option<u64>,
}

impl Seg {
    /// A PT_LOAD segment with `data` as file bytes and `memsz` memory bytes.
    pub(crate) fn load(paddr: u64, data: Vec<u8>, memsz: u64) -> Self {
        Self {
            p_type: PT_LOAD,
            paddr,
            data,
            memsz,
            offset: None,
            filesz: None,
        }
    }

    /// A non-PT_LOAD header with out-of-file values the loader must ignore.
    pub(crate) fn other(p_type: u32) -> Self {
        Self {
            p_type,
            paddr: 0,
            data: Vec::new(),
            memsz: u64::MAX,
            offset: Some(u64::MAX),
            filesz: Some(u64::MAX),
        }
    }
}

/// Deterministic pattern bytes (never all zero), distinct per `seed`.
pub(crate) fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) | 1)
        .collect()
}

/// Builds a little-endian ELF64 file: header, program headers at 64, then
/// the segment bytes, each at a 16-byte aligned file offset.
pub(crate) fn build_elf(machine: u16, entry: u64, segs: &[Seg]) -> Vec<u8> {
    let phoff = 64usize;
    let mut cursor = phoff + 56 * segs.len();
    let mut offsets = Vec::new();
    for s in segs {
        cursor = (cursor + 15) & !15;
        offsets.push(cursor);
        if s.offset.is_none() {
            cursor += s.data.len();
        }
    }
    let mut out = vec![0u8; cursor];
    out[..8].copy_from_slice(b"\x7fELF\x02\x01\x01\x00");
    put16(&mut out, 16, 2); // e_type ET_EXEC (ignored)
    put16(&mut out, 18, machine);
    put32(&mut out, 20, 1); // e_version
    put64(&mut out, 24, entry);
    put64(&mut out, 32, if segs.is_empty() { 0 } else { phoff as u64 });
    put16(&mut out, 52, 64); // e_ehsize
    put16(&mut out, 54, 56);
    put16(&mut out, 56, segs.len() as u16);
    put16(&mut out, 58, 64); // e_shentsize
    for (i, (s, &off)) in segs.iter().zip(&offsets).enumerate() {
        let ph = phoff + 56 * i;
        let p_offset = s.offset.unwrap_or(off as u64);
        if s.offset.is_none() {
            out[off..off + s.data.len()].copy_from_slice(&s.data);
        }
        put32(&mut out, ph, s.p_type);
        put32(&mut out, ph + 4, 7); // p_flags (ignored)
        put64(&mut out, ph + 8, p_offset);
        put64(
            &mut out,
            ph + 16,
            s.paddr.wrapping_add(0xffff_ffff_8000_0000),
        ); // p_vaddr (ignored)
        put64(&mut out, ph + 24, s.paddr);
        put64(&mut out, ph + 32, s.filesz.unwrap_or(s.data.len() as u64));
        put64(&mut out, ph + 40, s.memsz);
        put64(&mut out, ph + 48, 0x1000); // p_align (ignored)
    }
    out
}

pub(crate) fn put16(buf: &mut [u8], offset: usize, value: u16) {
    buf[offset..offset + 2].copy_from_slice(&value.to_le_bytes());
}

pub(crate) fn put32(buf: &mut [u8], offset: usize, value: u32) {
    buf[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
}

pub(crate) fn put64(buf: &mut [u8], offset: usize, value: u64) {
    buf[offset..offset + 8].copy_from_slice(&value.to_le_bytes());
}

/// One recorded `import_pages` or `import_pages_at_offset` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Call {
    pub(crate) page_base: u64,
    pub(crate) page_count: u64,
    pub(crate) tag: &'static str,
    pub(crate) acceptance: PageAcceptance,
    /// Zero bytes before `data` (0 for `import_pages`).
    pub(crate) leading_zeros: usize,
    pub(crate) data: Vec<u8>,
    /// Where `data` pointed: lets tests check that it was a slice of the
    /// input (zero copy).
    pub(crate) data_ptr: usize,
}

impl Call {
    /// The data of the equivalent single `import_pages` call:
    /// `leading_zeros` zeros, then `data`.
    pub(crate) fn full_data(&self) -> Vec<u8> {
        let mut full = vec![0u8; self.leading_zeros];
        full.extend_from_slice(&self.data);
        full
    }
}

/// Records every call, `import_pages_at_offset` as one call (it overrides
/// the default split); can fail the `fail_at`-th call (0-based).
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    pub(crate) calls: Vec<Call>,
    pub(crate) fail_at: Option<usize>,
}

/// The recorder's error.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refused(pub(crate) usize);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "call {} refused", self.0)
    }
}

impl Recorder {
    fn record(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &'static str,
        acceptance: PageAcceptance,
        leading_zeros: usize,
        data: &[u8],
    ) -> Result<(), Refused> {
        if self.fail_at == Some(self.calls.len()) {
            return Err(Refused(self.calls.len()));
        }
        self.calls.push(Call {
            page_base,
            page_count,
            tag,
            acceptance,
            leading_zeros,
            data: data.to_vec(),
            data_ptr: data.as_ptr() as usize,
        });
        Ok(())
    }
}

impl ImportPages for Recorder {
    type Error = Refused;

    fn import_pages(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &'static str,
        acceptance: PageAcceptance,
        data: &[u8],
    ) -> Result<(), Refused> {
        self.record(page_base, page_count, tag, acceptance, 0, data)
    }

    fn import_pages_at_offset(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &'static str,
        acceptance: PageAcceptance,
        leading_zeros: usize,
        data: &[u8],
    ) -> Result<(), Refused> {
        self.record(page_base, page_count, tag, acceptance, leading_zeros, data)
    }
}

/// A recorder that keeps the default `import_pages_at_offset`, so it sees
/// the calls that method makes.
#[derive(Debug, Default)]
pub(crate) struct DefaultSplit(pub(crate) Recorder);

impl ImportPages for DefaultSplit {
    type Error = Refused;

    fn import_pages(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &'static str,
        acceptance: PageAcceptance,
        data: &[u8],
    ) -> Result<(), Refused> {
        self.0
            .import_pages(page_base, page_count, tag, acceptance, data)
    }
}

/// Guest memory as the calls leave it: page number -> 4096 bytes.
pub(crate) type Memory = BTreeMap<u64, Vec<u8>>;

/// Applies the calls like an importer: whole pages, data (after the leading
/// zeros) zero-padded; fails on data longer than the pages and on a page
/// imported twice.
pub(crate) fn memory_of(calls: &[Call]) -> Result<Memory, String> {
    let mut memory = Memory::new();
    for call in calls {
        let data = call.full_data();
        if data.len() as u128 > u128::from(call.page_count) * 4096 {
            return Err(std::format!("data longer than pages: {call:x?}"));
        }
        for i in 0..call.page_count {
            let start = (i * 4096) as usize;
            let mut page = vec![0u8; 4096];
            if start < data.len() {
                let end = data.len().min(start + 4096);
                page[..end - start].copy_from_slice(&data[start..end]);
            }
            if memory.insert(call.page_base + i, page).is_some() {
                return Err(std::format!(
                    "page {:#x} imported twice",
                    call.page_base + i
                ));
            }
        }
    }
    Ok(memory)
}

/// Reads `len` bytes at guest address `address` (absent pages read as
/// `None`).
pub(crate) fn read(memory: &Memory, address: u64, len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(len);
    for i in 0..len as u64 {
        let a = address + i;
        out.push(memory.get(&(a / 4096))?[(a % 4096) as usize]);
    }
    Some(out)
}

//! A flattened device tree (devicetree specification v0.4, chapter 5)
//! writer and a small reader, enough for the hand-off: the writer builds the
//! kernel's tree into a caller's buffer; the reader finds one property of
//! one node in a tree the host left in memory.
//!
//! Layout written: 40-byte header, the memory reservation block (only its
//! terminating entry), the structure block, the strings block. Every call
//! checks the room left and reports [`FdtError`]; nothing panics.

use core::fmt;

const FDT_MAGIC: u32 = 0xD00D_FEED;
const FDT_BEGIN_NODE: u32 = 1;
const FDT_END_NODE: u32 = 2;
const FDT_PROP: u32 = 3;
const FDT_NOP: u32 = 4;
const FDT_END: u32 = 9;
const HEADER_SIZE: usize = 40;
/// One all-zero reservation entry ends the (empty) reservation block.
const RESERVATION_BLOCK_SIZE: usize = 16;
const VERSION: u32 = 17;
const LAST_COMPATIBLE_VERSION: u32 = 16;

/// Why a tree could not be written or read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdtError {
    /// The output buffer (or the strings table) is full.
    Full,
    /// A node was closed that was not open, or the tree was finished with
    /// nodes still open.
    Unbalanced,
    /// The tree read is not a valid flattened device tree.
    Malformed,
}

impl fmt::Display for FdtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FdtError::Full => "device tree buffer full",
            FdtError::Unbalanced => "device tree nodes not balanced",
            FdtError::Malformed => "malformed device tree",
        })
    }
}

/// Room for property names (every distinct name once).
const STRINGS_CAPACITY: usize = 512;

/// Builds a tree in `out`: [`FdtWriter::begin_node`] /
/// [`FdtWriter::end_node`] around properties, then [`FdtWriter::finish`].
pub struct FdtWriter<'a> {
    out: &'a mut [u8],
    /// Next free byte of the structure block (an offset into `out`).
    at: usize,
    strings: [u8; STRINGS_CAPACITY],
    strings_len: usize,
    depth: usize,
}

impl<'a> FdtWriter<'a> {
    /// A writer filling `out` (which should be zero: padding is not
    /// written).
    pub fn new(out: &'a mut [u8]) -> Result<Self, FdtError> {
        let at = HEADER_SIZE + RESERVATION_BLOCK_SIZE;
        out.get_mut(..at).ok_or(FdtError::Full)?.fill(0);
        Ok(Self {
            out,
            at,
            strings: [0; STRINGS_CAPACITY],
            strings_len: 0,
            depth: 0,
        })
    }

    fn bytes(&mut self, data: &[u8]) -> Result<(), FdtError> {
        let end = self.at.checked_add(data.len()).ok_or(FdtError::Full)?;
        self.out
            .get_mut(self.at..end)
            .ok_or(FdtError::Full)?
            .copy_from_slice(data);
        self.at = end;
        Ok(())
    }

    fn u32(&mut self, value: u32) -> Result<(), FdtError> {
        self.bytes(&value.to_be_bytes())
    }

    /// Zero bytes up to the next 4-byte boundary.
    fn pad(&mut self) -> Result<(), FdtError> {
        while !self.at.is_multiple_of(4) {
            self.bytes(&[0])?;
        }
        Ok(())
    }

    /// Offset of `name` in the strings block, adding it if new.
    fn string(&mut self, name: &str) -> Result<u32, FdtError> {
        let used = self.strings.get(..self.strings_len).unwrap_or(&[]);
        let mut start = 0;
        for s in used.split(|&b| b == 0) {
            if s == name.as_bytes() {
                return u32::try_from(start).map_err(|_| FdtError::Full);
            }
            start += s.len() + 1;
        }
        let offset = self.strings_len;
        let end = offset
            .checked_add(name.len())
            .and_then(|e| e.checked_add(1))
            .ok_or(FdtError::Full)?;
        let slot = self.strings.get_mut(offset..end).ok_or(FdtError::Full)?;
        if let Some((nul, text)) = slot.split_last_mut() {
            text.copy_from_slice(name.as_bytes());
            *nul = 0;
        }
        self.strings_len = end;
        u32::try_from(offset).map_err(|_| FdtError::Full)
    }

    /// Opens node `name` (the root is `""`).
    pub fn begin_node(&mut self, name: &str) -> Result<(), FdtError> {
        self.u32(FDT_BEGIN_NODE)?;
        self.bytes(name.as_bytes())?;
        self.bytes(&[0])?;
        self.pad()?;
        self.depth += 1;
        Ok(())
    }

    /// Closes the innermost open node.
    pub fn end_node(&mut self) -> Result<(), FdtError> {
        self.depth = self.depth.checked_sub(1).ok_or(FdtError::Unbalanced)?;
        self.u32(FDT_END_NODE)
    }

    /// Property `name` with raw value `value`.
    pub fn prop(&mut self, name: &str, value: &[u8]) -> Result<(), FdtError> {
        let name_offset = self.string(name)?;
        let len = u32::try_from(value.len()).map_err(|_| FdtError::Full)?;
        self.u32(FDT_PROP)?;
        self.u32(len)?;
        self.u32(name_offset)?;
        self.bytes(value)?;
        self.pad()
    }

    /// Property of big-endian 32-bit cells.
    pub fn prop_cells(&mut self, name: &str, cells: &[u32]) -> Result<(), FdtError> {
        let name_offset = self.string(name)?;
        let len = cells
            .len()
            .checked_mul(4)
            .and_then(|l| u32::try_from(l).ok())
            .ok_or(FdtError::Full)?;
        self.u32(FDT_PROP)?;
        self.u32(len)?;
        self.u32(name_offset)?;
        for &cell in cells {
            self.u32(cell)?;
        }
        Ok(())
    }

    /// Property of one big-endian 64-bit value (two cells).
    pub fn prop_u64(&mut self, name: &str, value: u64) -> Result<(), FdtError> {
        self.prop(name, &value.to_be_bytes())
    }

    /// Property holding NUL-terminated strings, one after the other (a
    /// string list such as `compatible`).
    pub fn prop_strings(&mut self, name: &str, strings: &[&str]) -> Result<(), FdtError> {
        let name_offset = self.string(name)?;
        let len = strings
            .iter()
            .try_fold(0usize, |sum, s| sum.checked_add(s.len())?.checked_add(1))
            .and_then(|l| u32::try_from(l).ok())
            .ok_or(FdtError::Full)?;
        self.u32(FDT_PROP)?;
        self.u32(len)?;
        self.u32(name_offset)?;
        for s in strings {
            self.bytes(s.as_bytes())?;
            self.bytes(&[0])?;
        }
        self.pad()
    }

    /// Property holding one string made of `parts` joined by single spaces
    /// (empty parts skipped), NUL-terminated.
    pub fn prop_joined(&mut self, name: &str, parts: &[&str]) -> Result<(), FdtError> {
        let name_offset = self.string(name)?;
        let len_at = self.at.checked_add(4).ok_or(FdtError::Full)?;
        self.u32(FDT_PROP)?;
        self.u32(0)?;
        self.u32(name_offset)?;
        let start = self.at;
        let mut first = true;
        for part in parts.iter().filter(|p| !p.is_empty()) {
            if !first {
                self.bytes(b" ")?;
            }
            self.bytes(part.as_bytes())?;
            first = false;
        }
        self.bytes(&[0])?;
        let len = u32::try_from(self.at - start).map_err(|_| FdtError::Full)?;
        self.out
            .get_mut(len_at..len_at + 4)
            .ok_or(FdtError::Full)?
            .copy_from_slice(&len.to_be_bytes());
        self.pad()
    }

    /// Ends the structure block, appends the strings and writes the header.
    /// Returns the tree's total size.
    pub fn finish(mut self) -> Result<usize, FdtError> {
        if self.depth != 0 {
            return Err(FdtError::Unbalanced);
        }
        self.u32(FDT_END)?;
        let struct_start = HEADER_SIZE + RESERVATION_BLOCK_SIZE;
        let struct_size = self.at - struct_start;
        let strings_start = self.at;
        let strings = self.strings;
        self.bytes(strings.get(..self.strings_len).unwrap_or(&[]))?;
        let total = self.at;
        let word = |v: usize| u32::try_from(v).map_err(|_| FdtError::Full);
        let header = [
            FDT_MAGIC,
            word(total)?,
            word(struct_start)?,
            word(strings_start)?,
            word(HEADER_SIZE)?,
            VERSION,
            LAST_COMPATIBLE_VERSION,
            0, // boot_cpuid_phys
            word(self.strings_len)?,
            word(struct_size)?,
        ];
        for (i, value) in header.iter().enumerate() {
            self.out
                .get_mut(i * 4..i * 4 + 4)
                .ok_or(FdtError::Full)?
                .copy_from_slice(&value.to_be_bytes());
        }
        Ok(total)
    }
}

fn be32(data: &[u8], at: usize) -> Result<u32, FdtError> {
    data.get(at..at.checked_add(4).ok_or(FdtError::Malformed)?)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes)
        .ok_or(FdtError::Malformed)
}

fn align4(at: usize) -> Result<usize, FdtError> {
    at.checked_add(3).map(|a| a & !3).ok_or(FdtError::Malformed)
}

/// The NUL-terminated string at `at` in `data`, without its NUL.
fn c_string(data: &[u8], at: usize) -> Result<&[u8], FdtError> {
    let rest = data.get(at..).ok_or(FdtError::Malformed)?;
    let len = rest
        .iter()
        .position(|&b| b == 0)
        .ok_or(FdtError::Malformed)?;
    rest.get(..len).ok_or(FdtError::Malformed)
}

/// The value of property `prop` of the node at `path` (node names from the
/// root, e.g. `["chosen"]`) in the tree `tree`; `Ok(None)` if `tree` does
/// not start with the device-tree magic (no tree) or the property is not
/// there.
pub fn find_property<'t>(
    tree: &'t [u8],
    path: &[&str],
    prop: &str,
) -> Result<Option<&'t [u8]>, FdtError> {
    if be32(tree, 0).ok() != Some(FDT_MAGIC) {
        return Ok(None);
    }
    let total = usize::try_from(be32(tree, 4)?).map_err(|_| FdtError::Malformed)?;
    let tree = tree.get(..total).ok_or(FdtError::Malformed)?;
    let struct_start = usize::try_from(be32(tree, 8)?).map_err(|_| FdtError::Malformed)?;
    let strings_start = usize::try_from(be32(tree, 12)?).map_err(|_| FdtError::Malformed)?;
    let strings = tree.get(strings_start..).ok_or(FdtError::Malformed)?;
    // depth = open nodes; matched = how many leading path elements the open
    // nodes match (matched == depth - 1 while inside the path).
    let (mut at, mut depth, mut matched) = (struct_start, 0usize, 0usize);
    loop {
        let token = be32(tree, at)?;
        at += 4;
        match token {
            FDT_BEGIN_NODE => {
                let name = c_string(tree, at)?;
                at = align4(at + name.len() + 1)?;
                // The root (depth 0) always matches; below it, compare the
                // name with the path element of its depth.
                if depth == matched
                    && (depth == 0 || path.get(depth - 1).is_some_and(|p| p.as_bytes() == name))
                {
                    matched = depth + 1;
                }
                depth += 1;
            }
            FDT_END_NODE => {
                // An end without a begin (found by fuzzing).
                if depth == 0 {
                    return Err(FdtError::Malformed);
                }
                if matched == depth {
                    if matched == path.len() + 1 {
                        return Ok(None);
                    }
                    matched -= 1;
                }
                depth -= 1;
            }
            FDT_PROP => {
                let len = usize::try_from(be32(tree, at)?).map_err(|_| FdtError::Malformed)?;
                let name_offset =
                    usize::try_from(be32(tree, at + 4)?).map_err(|_| FdtError::Malformed)?;
                let value_at = at + 8;
                let end = value_at.checked_add(len).ok_or(FdtError::Malformed)?;
                let value = tree.get(value_at..end).ok_or(FdtError::Malformed)?;
                if depth == matched
                    && matched == path.len() + 1
                    && c_string(strings, name_offset)? == prop.as_bytes()
                {
                    return Ok(Some(value));
                }
                at = align4(end)?;
            }
            FDT_NOP => {}
            FDT_END => return Ok(None),
            _ => return Err(FdtError::Malformed),
        }
    }
}

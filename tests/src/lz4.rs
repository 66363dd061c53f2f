//! A decoder for the LZ4 "legacy" frame format, the one the Linux kernel
//! build uses for an LZ4-compressed x86 `bzImage` payload (and `lz4 -l`
//! writes): the magic `02 21 4C 18`, then blocks of a little-endian u32
//! compressed size followed by that many bytes in the LZ4 block format,
//! each decompressing to at most 8 MiB. The kernel build appends the
//! decompressed size as a little-endian u32; decoding stops at anything that
//! cannot be a block (a size larger than the input left) or at a new magic.

/// The legacy frame magic (little endian 0x184C2102).
pub const LEGACY_MAGIC: [u8; 4] = [0x02, 0x21, 0x4C, 0x18];

/// Why the input could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Lz4Error {
    /// The input does not start with [`LEGACY_MAGIC`].
    #[error("not an LZ4 legacy frame (no magic 02 21 4C 18)")]
    NoMagic,
    /// A block ends in the middle of a sequence.
    #[error("LZ4 block at input offset {block:#x} is truncated")]
    Truncated {
        /// Offset of the block in the input.
        block: usize,
    },
    /// A match refers to bytes before the start of the output.
    #[error(
        "LZ4 block at input offset {block:#x}: match offset {offset} reaches before the output"
    )]
    BadOffset {
        /// Offset of the block in the input.
        block: usize,
        /// The match offset.
        offset: usize,
    },
}

/// Decodes a legacy LZ4 frame.
pub fn decompress_legacy(input: &[u8]) -> Result<Vec<u8>, Lz4Error> {
    let mut rest = input.strip_prefix(&LEGACY_MAGIC).ok_or(Lz4Error::NoMagic)?;
    let mut out = Vec::with_capacity(input.len().saturating_mul(3));
    while let Some((size, body)) = rest.split_first_chunk::<4>() {
        if *size == LEGACY_MAGIC {
            rest = body;
            continue;
        }
        let size = u32::from_le_bytes(*size) as usize;
        if size > body.len() {
            break;
        }
        let (block, after) = body.split_at(size);
        let block_offset = input.len() - body.len();
        decompress_block(block, &mut out).map_err(|e| match e {
            BlockError::Truncated => Lz4Error::Truncated {
                block: block_offset,
            },
            BlockError::BadOffset(offset) => Lz4Error::BadOffset {
                block: block_offset,
                offset,
            },
        })?;
        rest = after;
    }
    Ok(out)
}

enum BlockError {
    Truncated,
    BadOffset(usize),
}

/// A length: the 4-bit field, plus extension bytes while the field is 15
/// and each byte 255.
fn length(field: u8, input: &[u8], pos: &mut usize) -> Result<usize, BlockError> {
    let mut len = usize::from(field);
    if field == 15 {
        loop {
            let b = *input.get(*pos).ok_or(BlockError::Truncated)?;
            *pos += 1;
            len += usize::from(b);
            if b != 255 {
                break;
            }
        }
    }
    Ok(len)
}

/// Decodes one LZ4 block (sequences of literals and matches), appending to
/// `out` (matches may reach back into earlier blocks' output).
fn decompress_block(input: &[u8], out: &mut Vec<u8>) -> Result<(), BlockError> {
    let mut pos = 0;
    while pos < input.len() {
        let token = input[pos];
        pos += 1;
        let literals = length(token >> 4, input, &mut pos)?;
        let end = pos.checked_add(literals).ok_or(BlockError::Truncated)?;
        out.extend_from_slice(input.get(pos..end).ok_or(BlockError::Truncated)?);
        pos = end;
        if pos == input.len() {
            // The last sequence has literals only.
            break;
        }
        let offset = input.get(pos..pos + 2).ok_or(BlockError::Truncated)?;
        let offset = usize::from(u16::from_le_bytes([offset[0], offset[1]]));
        pos += 2;
        let match_len = length(token & 0xF, input, &mut pos)? + 4;
        if offset == 0 || offset > out.len() {
            return Err(BlockError::BadOffset(offset));
        }
        let from = out.len() - offset;
        if offset >= match_len {
            out.extend_from_within(from..from + match_len);
        } else {
            // Overlapping match: byte by byte, repeating the pattern.
            for i in 0..match_len {
                let b = out[from + i];
                out.push(b);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(blocks: &[&[u8]], trailer: &[u8]) -> Vec<u8> {
        let mut f = LEGACY_MAGIC.to_vec();
        for b in blocks {
            f.extend_from_slice(&(b.len() as u32).to_le_bytes());
            f.extend_from_slice(b);
        }
        f.extend_from_slice(trailer);
        f
    }

    #[test]
    fn literals_and_an_overlapping_match() {
        // Token 0x3_2: 3 literals "abc", match offset 3 length 2 + 4 = 6;
        // then a final literal-only sequence "Z".
        let block: &[u8] = &[0x32, b'a', b'b', b'c', 3, 0, 0x10, b'Z'];
        let out = decompress_legacy(&frame(&[block], &13u32.to_le_bytes())).unwrap();
        assert_eq!(out, b"abcabcabcZ");
    }

    #[test]
    fn long_lengths_use_extension_bytes() {
        // 15 + 5 = 20 literals 'x'; match offset 1, length 15 + 255 + 1 + 4
        // = 275 copies of 'x'; last sequence: 1 literal.
        let mut block = vec![0xFF, 5];
        block.extend_from_slice(&[b'x'; 20]);
        block.extend_from_slice(&[1, 0, 255, 1]);
        block.extend_from_slice(&[0x10, b'.']);
        let out = decompress_legacy(&frame(&[&block], &[])).unwrap();
        assert_eq!(out.len(), 20 + 275 + 1);
        assert!(out[..295].iter().all(|&b| b == b'x'));
        assert_eq!(out[295], b'.');
    }

    #[test]
    fn matches_reach_into_the_previous_block() {
        let first: &[u8] = &[0x40, b'w', b'x', b'y', b'z'];
        let second: &[u8] = &[0x00, 4, 0, 0x00];
        let out = decompress_legacy(&frame(&[first, second], &[])).unwrap();
        assert_eq!(out, b"wxyzwxyz");
    }

    #[test]
    fn bad_input_is_an_error() {
        assert_eq!(
            decompress_legacy(b"\x28\xb5\x2f\xfd"),
            Err(Lz4Error::NoMagic)
        );
        let truncated: &[u8] = &[0x50, b'a'];
        assert!(matches!(
            decompress_legacy(&frame(&[truncated], &[])),
            Err(Lz4Error::Truncated { block: 8 })
        ));
        let far: &[u8] = &[0x10, b'a', 9, 0, 0x00];
        assert!(matches!(
            decompress_legacy(&frame(&[far], &[])),
            Err(Lz4Error::BadOffset { offset: 9, .. })
        ));
    }
}

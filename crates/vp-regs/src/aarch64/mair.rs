//! MAIR_EL1 (docs/abi.md §7.5): the memory attribute encodings the loader
//! uses and the register built from eight of them.

use crate::VpRegsError;

/// One MAIR_EL1 attribute (Attr*n*) among the encodings the loader uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MemoryAttributeEl1 {
    /// Device-nGnRnE memory (0x00).
    DeviceNGnRnE = 0x00,
    /// Normal memory, inner and outer non-cacheable (0x44).
    NormalNonCacheable = 0x44,
    /// Normal memory, inner and outer write-through, read/write-allocate
    /// (0xBB).
    NormalWriteThrough = 0xBB,
    /// Normal memory, inner and outer write-back, read/write-allocate
    /// (0xFF).
    NormalWriteBack = 0xFF,
}

impl MemoryAttributeEl1 {
    /// The attribute byte.
    pub const fn into_bits(self) -> u8 {
        self as u8
    }

    /// Decodes an attribute byte; `index` is only used in the error.
    const fn decode(byte: u8, index: u8) -> Result<Self, VpRegsError> {
        match byte {
            0x00 => Ok(Self::DeviceNGnRnE),
            0x44 => Ok(Self::NormalNonCacheable),
            0xBB => Ok(Self::NormalWriteThrough),
            0xFF => Ok(Self::NormalWriteBack),
            _ => Err(VpRegsError::UnsupportedMemoryAttribute { byte, index }),
        }
    }
}

impl TryFrom<u8> for MemoryAttributeEl1 {
    type Error = VpRegsError;

    /// Errors ([`VpRegsError::UnsupportedMemoryAttribute`], index 0) for any
    /// byte other than 0x00, 0x44, 0xBB, 0xFF.
    fn try_from(byte: u8) -> Result<Self, Self::Error> {
        Self::decode(byte, 0)
    }
}

impl From<MemoryAttributeEl1> for u8 {
    fn from(attr: MemoryAttributeEl1) -> Self {
        attr.into_bits()
    }
}

/// MAIR_EL1: eight attributes, Attr*n* in byte *n* (bits 8n..=8n+7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemoryAttributeIndirectionEl1(pub [MemoryAttributeEl1; 8]);

impl MemoryAttributeIndirectionEl1 {
    /// The index (AttrIndx) of the first entry equal to `attr`, if any.
    pub const fn index_of(&self, attr: MemoryAttributeEl1) -> Option<u8> {
        let mut rest: &[MemoryAttributeEl1] = &self.0;
        let mut index: u8 = 0;
        while let [first, tail @ ..] = rest {
            if *first as u8 == attr as u8 {
                return Some(index);
            }
            rest = tail;
            // At most 8 iterations: cannot wrap.
            index = index.wrapping_add(1);
        }
        None
    }

    /// The register value: little-endian packing of the eight bytes.
    pub const fn to_u64(&self) -> u64 {
        let [a0, a1, a2, a3, a4, a5, a6, a7] = self.0;
        u64::from_le_bytes([
            a0 as u8, a1 as u8, a2 as u8, a3 as u8, a4 as u8, a5 as u8, a6 as u8, a7 as u8,
        ])
    }

    /// Decodes a register value.
    ///
    /// Errors with the first byte (lowest Attr*n*) that is not one of the
    /// four supported encodings.
    pub const fn from_u64(value: u64) -> Result<Self, VpRegsError> {
        /// Early-returns the decoding error of one byte.
        macro_rules! attr {
            ($byte:expr, $index:expr) => {
                match MemoryAttributeEl1::decode($byte, $index) {
                    Ok(attr) => attr,
                    Err(err) => return Err(err),
                }
            };
        }
        let [b0, b1, b2, b3, b4, b5, b6, b7] = value.to_le_bytes();
        Ok(Self([
            attr!(b0, 0),
            attr!(b1, 1),
            attr!(b2, 2),
            attr!(b3, 3),
            attr!(b4, 4),
            attr!(b5, 5),
            attr!(b6, 6),
            attr!(b7, 7),
        ]))
    }
}

impl From<MemoryAttributeIndirectionEl1> for u64 {
    fn from(mair: MemoryAttributeIndirectionEl1) -> Self {
        mair.to_u64()
    }
}

impl TryFrom<u64> for MemoryAttributeIndirectionEl1 {
    type Error = VpRegsError;

    fn try_from(value: u64) -> Result<Self, Self::Error> {
        Self::from_u64(value)
    }
}

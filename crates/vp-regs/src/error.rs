//! The crate's error type.

/// A register value that cannot be encoded.
///
/// Each variant carries the offending value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VpRegsError {
    /// `TTBRn_EL1.BADDR` is 48 bits wide; the address does not fit.
    #[error(
        "translation table base address {baddr:#x} does not fit the 48-bit TTBR BADDR field (must be below 0x1_0000_0000_0000)"
    )]
    TranslationBaseTooLarge {
        /// The rejected base address.
        baddr: u64,
    },
    /// A byte that is not one of the four MAIR attribute encodings this crate
    /// models (0x00, 0x44, 0xBB, 0xFF).
    #[error(
        "memory attribute byte {byte:#04x} at MAIR index {index} is not supported (expected 0x00, 0x44, 0xbb or 0xff)"
    )]
    UnsupportedMemoryAttribute {
        /// The rejected byte.
        byte: u8,
        /// Its position (Attr*n*) in MAIR_EL1; 0 when converting a lone byte.
        index: u8,
    },
    /// A GDT index does not fit the 13-bit selector index field.
    #[error("GDT index {index} does not fit the 13-bit segment selector index (maximum 8191)")]
    SelectorIndexTooLarge {
        /// The rejected index.
        index: u16,
    },
    /// A requested privilege level above 3.
    #[error("requested privilege level {rpl} does not fit the 2-bit RPL field (maximum 3)")]
    SelectorRplTooLarge {
        /// The rejected RPL.
        rpl: u8,
    },
    /// A GDT segment limit above 20 bits.
    #[error("segment limit {limit:#x} does not fit the 20-bit GDT limit field (maximum 0xfffff)")]
    GdtLimitTooLarge {
        /// The rejected limit.
        limit: u32,
    },
    /// Segment attributes with bits 8..=11 set: in a GDT entry these bits
    /// hold limit\[19:16\].
    #[error(
        "segment attributes {attributes:#06x} have reserved bits 8..=11 set (they hold limit[19:16] in a GDT entry)"
    )]
    GdtAttributesReserved {
        /// The rejected attributes.
        attributes: u16,
    },
}

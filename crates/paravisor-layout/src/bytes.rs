//! Reading the fixed layouts out of byte buffers.

use crate::error::LayoutError;

/// Copies a `T` out of the start of `bytes`; trailing bytes are ignored.
pub(crate) fn read_prefix<T: zerocopy::FromBytes>(
    bytes: &[u8],
    structure: &'static str,
) -> Result<T, LayoutError> {
    T::read_from_prefix(bytes)
        .map(|(value, _rest)| value)
        .map_err(|_| LayoutError::BufferTooSmall {
            structure,
            needed: core::mem::size_of::<T>(),
            actual: bytes.len(),
        })
}

//! The crate's error type.

/// What went wrong while building or reading a paravisor structure.
///
/// Each variant carries the offending values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// The command line does not fit the static command-line array.
    #[error("command line is {len} bytes; the paravisor command line holds at most {max} bytes")]
    CommandLineTooLong {
        /// Length of the rejected command line in bytes.
        len: usize,
        /// The capacity ([`COMMAND_LINE_SIZE`](crate::COMMAND_LINE_SIZE)).
        max: usize,
    },
    /// A stored `static_command_line_len` larger than the array.
    #[error("paravisor command line length field is {len}, above the array size {max}")]
    CommandLineLengthInvalid {
        /// The stored length.
        len: u16,
        /// The capacity ([`COMMAND_LINE_SIZE`](crate::COMMAND_LINE_SIZE)).
        max: usize,
    },
    /// The stored command line is not valid UTF-8.
    #[error("paravisor command line is not valid UTF-8 (valid up to byte {valid_up_to} of {len})")]
    CommandLineNotUtf8 {
        /// Number of leading bytes that are valid UTF-8.
        valid_up_to: usize,
        /// The stored length.
        len: u16,
    },
    /// A byte buffer shorter than the structure read from it.
    #[error("{structure} needs {needed} bytes but only {actual} were given")]
    BufferTooSmall {
        /// Name of the structure.
        structure: &'static str,
        /// Size of the structure in bytes.
        needed: usize,
        /// Length of the buffer.
        actual: usize,
    },
    /// A structure whose magic number is wrong.
    #[error("{structure} magic is {found:#018x}, expected {expected:#018x}")]
    BadMagic {
        /// Name of the structure.
        structure: &'static str,
        /// The magic the structure must carry.
        expected: u64,
        /// The magic that was read.
        found: u64,
    },
}

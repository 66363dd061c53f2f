//! One x86-64 page table: its size, entry count and in-memory form.

use zerocopy::FromBytes;
use zerocopy::Immutable;
use zerocopy::IntoBytes;
use zerocopy::KnownLayout;

/// Bytes in one table.
pub const TABLE_SIZE: usize = 4096;
/// Entries in one table.
pub const ENTRIES_PER_TABLE: usize = 512;

/// One 4 KiB x86-64 page table: 512 entries, 4 KiB aligned.
///
/// [`build_identity_map_tables`](crate::build_identity_map_tables) writes
/// into a slice of these; the entries are stored little-endian (the bytes
/// the guest reads), which is the native `u64` value on an x86-64 host.
#[derive(Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C, align(4096))]
pub struct PageTable {
    /// The 512 entries.
    pub entries: [u64; ENTRIES_PER_TABLE],
}

impl PageTable {
    /// A table with every entry 0 (not present).
    pub const ZERO: Self = Self {
        entries: [0; ENTRIES_PER_TABLE],
    };
}

impl core::fmt::Debug for PageTable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Only the present entries: 512 zeros help nobody.
        let mut map = f.debug_map();
        for (i, e) in self.entries.iter().enumerate() {
            if *e != 0 {
                map.entry(&i, &format_args!("{e:#x}"));
            }
        }
        map.finish()
    }
}

//! The shim parameter page and the small enumerations around it (docs/abi.md §2,
//! `loader_defs::shim` in the original).

use crate::LayoutError;
use crate::ShimParamsLayout;
use crate::bytes::read_prefix;
use core::mem::offset_of;
use core::mem::size_of;
use static_assertions::const_assert_eq;
use zerocopy::FromBytes;
use zerocopy::Immutable;
use zerocopy::IntoBytes;
use zerocopy::KnownLayout;

/// The isolation the IGVM file is built for (open enum, u32, docs/abi.md §2.1).
///
/// There is deliberately no "None" value: the file for no isolation and for
/// VBS is the same, and the shim queries CPUID at run time. Unknown values
/// read from memory are kept as they are.
#[repr(transparent)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, IntoBytes, FromBytes, Immutable, KnownLayout)]
pub struct SupportedIsolationType(pub u32);

impl SupportedIsolationType {
    /// No hardware isolation or VBS.
    pub const VBS: Self = Self(1);
    /// AMD SEV-SNP.
    pub const SNP: Self = Self(2);
    /// Intel TDX.
    pub const TDX: Self = Self(3);
}

/// Memory-range types of the shim's memory map (open enum, u32, docs/abi.md §2.2;
/// reference only, not written by the loader).
#[repr(transparent)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, IntoBytes, FromBytes, Immutable, KnownLayout)]
pub struct MemoryVtlType(pub u32);

impl MemoryVtlType {
    /// VTL0 memory.
    pub const VTL0: Self = Self(0);
    /// VTL2 RAM.
    pub const VTL2_RAM: Self = Self(1);
    /// VTL2 config region.
    pub const VTL2_CONFIG: Self = Self(2);
    /// Sidecar image.
    pub const VTL2_SIDECAR_IMAGE: Self = Self(3);
    /// Sidecar node memory.
    pub const VTL2_SIDECAR_NODE: Self = Self(4);
    /// VTL0 MMIO.
    pub const VTL0_MMIO: Self = Self(5);
    /// VTL2 MMIO.
    pub const VTL2_MMIO: Self = Self(6);
    /// VTL2 reserved region.
    pub const VTL2_RESERVED: Self = Self(7);
    /// VTL2 GPA pool.
    pub const VTL2_GPA_POOL: Self = Self(8);
    /// TDX page tables in VTL2.
    pub const VTL2_TDX_PAGE_TABLES: Self = Self(9);
    /// Boot-shim log buffer.
    pub const VTL2_BOOTSHIM_LOG_BUFFER: Self = Self(10);
    /// Persisted-state header.
    pub const VTL2_PERSISTED_STATE_HEADER: Self = Self(11);
    /// Persisted-state protobuf payload.
    pub const VTL2_PERSISTED_STATE_PROTOBUF: Self = Self(12);
}

/// The shim parameter page (docs/abi.md §2): 208 bytes at the start of the page
/// tagged "underhill-shim-params"; the rest of the page is zero.
///
/// Every `*_offset` / `*_start` field is relative to the shim's lowest loaded
/// address (`shim_base`), computed with wrapping subtraction and stored as a
/// two's-complement i64.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, IntoBytes, FromBytes, Immutable, KnownLayout)]
pub struct ShimParamsRaw {
    /// Kernel entry point − shim_base.
    pub kernel_entry_offset: i64,
    /// Command-line page GPA − shim_base.
    pub cmdline_offset: i64,
    /// Initrd GPA − shim_base (0 − shim_base on x86-64 without initrd).
    pub initrd_offset: i64,
    /// Initrd length in bytes (0 if none).
    pub initrd_size: u64,
    /// CRC-32 (IEEE) of the initrd bytes (0 for none).
    pub initrd_crc: u32,
    /// The isolation the image is built for.
    pub supported_isolation_type: SupportedIsolationType,
    /// VTL2 memory start − shim_base.
    pub memory_start_offset: i64,
    /// VTL2 memory size in bytes.
    pub memory_size: u64,
    /// Parameter region start − shim_base.
    pub parameter_region_offset: i64,
    /// Parameter region size (0x6A000).
    pub parameter_region_size: u64,
    /// VTL2 reserved region start − shim_base (0 on AArch64).
    pub vtl2_reserved_region_offset: i64,
    /// VTL2 reserved region size (0x4000 on x86-64, 0 on AArch64).
    pub vtl2_reserved_region_size: u64,
    /// Sidecar base − shim_base.
    pub sidecar_offset: i64,
    /// Sidecar size in bytes (0 if absent).
    pub sidecar_size: u64,
    /// Sidecar entry − shim_base.
    pub sidecar_entry_offset: i64,
    /// Start of the memory the loader used − shim_base.
    pub used_start: i64,
    /// End of the memory the loader used (including page tables) − shim_base.
    pub used_end: i64,
    /// Bounce buffer GPA − shim_base (x86-64 SNP/TDX; else 0).
    pub bounce_buffer_start: i64,
    /// Bounce buffer size (0x20_0000 on x86-64 SNP/TDX; else 0).
    pub bounce_buffer_size: u64,
    /// Page-table region start − shim_base (0 on AArch64).
    pub page_tables_start: i64,
    /// Page-table region size in bytes (0 on AArch64).
    pub page_tables_size: u64,
    /// Log buffer GPA − shim_base.
    pub log_buffer_start: i64,
    /// Log buffer size (0x2000).
    pub log_buffer_size: u64,
    /// Heap GPA − shim_base.
    pub heap_start_offset: i64,
    /// Heap size (0x1_0000).
    pub heap_size: u64,
    /// Persisted-state region start (= VTL2 memory start) − shim_base.
    pub persisted_state_region_offset: i64,
    /// Persisted-state region size (0x20_0000).
    pub persisted_state_region_size: u64,
}

const_assert_eq!(size_of::<ShimParamsRaw>(), 208);
const_assert_eq!(offset_of!(ShimParamsRaw, kernel_entry_offset), 0x00);
const_assert_eq!(offset_of!(ShimParamsRaw, cmdline_offset), 0x08);
const_assert_eq!(offset_of!(ShimParamsRaw, initrd_offset), 0x10);
const_assert_eq!(offset_of!(ShimParamsRaw, initrd_size), 0x18);
const_assert_eq!(offset_of!(ShimParamsRaw, initrd_crc), 0x20);
const_assert_eq!(offset_of!(ShimParamsRaw, supported_isolation_type), 0x24);
const_assert_eq!(offset_of!(ShimParamsRaw, memory_start_offset), 0x28);
const_assert_eq!(offset_of!(ShimParamsRaw, memory_size), 0x30);
const_assert_eq!(offset_of!(ShimParamsRaw, parameter_region_offset), 0x38);
const_assert_eq!(offset_of!(ShimParamsRaw, parameter_region_size), 0x40);
const_assert_eq!(offset_of!(ShimParamsRaw, vtl2_reserved_region_offset), 0x48);
const_assert_eq!(offset_of!(ShimParamsRaw, vtl2_reserved_region_size), 0x50);
const_assert_eq!(offset_of!(ShimParamsRaw, sidecar_offset), 0x58);
const_assert_eq!(offset_of!(ShimParamsRaw, sidecar_size), 0x60);
const_assert_eq!(offset_of!(ShimParamsRaw, sidecar_entry_offset), 0x68);
const_assert_eq!(offset_of!(ShimParamsRaw, used_start), 0x70);
const_assert_eq!(offset_of!(ShimParamsRaw, used_end), 0x78);
const_assert_eq!(offset_of!(ShimParamsRaw, bounce_buffer_start), 0x80);
const_assert_eq!(offset_of!(ShimParamsRaw, bounce_buffer_size), 0x88);
const_assert_eq!(offset_of!(ShimParamsRaw, page_tables_start), 0x90);
const_assert_eq!(offset_of!(ShimParamsRaw, page_tables_size), 0x98);
const_assert_eq!(offset_of!(ShimParamsRaw, log_buffer_start), 0xA0);
const_assert_eq!(offset_of!(ShimParamsRaw, log_buffer_size), 0xA8);
const_assert_eq!(offset_of!(ShimParamsRaw, heap_start_offset), 0xB0);
const_assert_eq!(offset_of!(ShimParamsRaw, heap_size), 0xB8);
const_assert_eq!(
    offset_of!(ShimParamsRaw, persisted_state_region_offset),
    0xC0
);
const_assert_eq!(offset_of!(ShimParamsRaw, persisted_state_region_size), 0xC8);

impl ShimParamsRaw {
    /// Reads the parameters from the start of `bytes` (trailing bytes, such
    /// as the rest of the page, are ignored).
    pub fn read_from(bytes: &[u8]) -> Result<Self, LayoutError> {
        read_prefix(bytes, "ShimParamsRaw")
    }
}

/// The shim parameter page from OpenVMM release/1.7.2511 on
/// (docs/abi-versions.md §3.1, group G1): [`ShimParamsRaw`] without
/// `page_tables_start` / `page_tables_size`, 192 bytes; every later field
/// moves down by 16 bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, IntoBytes, FromBytes, Immutable, KnownLayout)]
pub struct ShimParamsRawNoPageTables {
    /// Kernel entry point − shim_base.
    pub kernel_entry_offset: i64,
    /// Command-line page GPA − shim_base.
    pub cmdline_offset: i64,
    /// Initrd GPA − shim_base.
    pub initrd_offset: i64,
    /// Initrd length in bytes (0 if none).
    pub initrd_size: u64,
    /// CRC-32 (IEEE) of the initrd bytes (0 for none).
    pub initrd_crc: u32,
    /// The isolation the image is built for.
    pub supported_isolation_type: SupportedIsolationType,
    /// VTL2 memory start − shim_base.
    pub memory_start_offset: i64,
    /// VTL2 memory size in bytes.
    pub memory_size: u64,
    /// Parameter region start − shim_base.
    pub parameter_region_offset: i64,
    /// Parameter region size.
    pub parameter_region_size: u64,
    /// VTL2 reserved region start − shim_base.
    pub vtl2_reserved_region_offset: i64,
    /// VTL2 reserved region size.
    pub vtl2_reserved_region_size: u64,
    /// Sidecar base − shim_base.
    pub sidecar_offset: i64,
    /// Sidecar size in bytes.
    pub sidecar_size: u64,
    /// Sidecar entry − shim_base.
    pub sidecar_entry_offset: i64,
    /// Start of the memory the loader used − shim_base.
    pub used_start: i64,
    /// End of the memory the loader used − shim_base.
    pub used_end: i64,
    /// Bounce buffer GPA − shim_base.
    pub bounce_buffer_start: i64,
    /// Bounce buffer size.
    pub bounce_buffer_size: u64,
    /// Log buffer GPA − shim_base.
    pub log_buffer_start: i64,
    /// Log buffer size.
    pub log_buffer_size: u64,
    /// Heap GPA − shim_base.
    pub heap_start_offset: i64,
    /// Heap size.
    pub heap_size: u64,
    /// Persisted-state region start − shim_base.
    pub persisted_state_region_offset: i64,
    /// Persisted-state region size.
    pub persisted_state_region_size: u64,
}

const_assert_eq!(size_of::<ShimParamsRawNoPageTables>(), 192);
const_assert_eq!(
    offset_of!(ShimParamsRawNoPageTables, kernel_entry_offset),
    0
);
const_assert_eq!(offset_of!(ShimParamsRawNoPageTables, initrd_crc), 32);
const_assert_eq!(
    offset_of!(ShimParamsRawNoPageTables, supported_isolation_type),
    36
);
const_assert_eq!(
    offset_of!(ShimParamsRawNoPageTables, bounce_buffer_size),
    136
);
const_assert_eq!(offset_of!(ShimParamsRawNoPageTables, log_buffer_start), 144);
const_assert_eq!(offset_of!(ShimParamsRawNoPageTables, log_buffer_size), 152);
const_assert_eq!(
    offset_of!(ShimParamsRawNoPageTables, heap_start_offset),
    160
);
const_assert_eq!(offset_of!(ShimParamsRawNoPageTables, heap_size), 168);
const_assert_eq!(
    offset_of!(ShimParamsRawNoPageTables, persisted_state_region_offset),
    176
);
const_assert_eq!(
    offset_of!(ShimParamsRawNoPageTables, persisted_state_region_size),
    184
);

impl ShimParamsRawNoPageTables {
    /// Reads the parameters from the start of `bytes` (trailing bytes are
    /// ignored).
    pub fn read_from(bytes: &[u8]) -> Result<Self, LayoutError> {
        read_prefix(bytes, "ShimParamsRawNoPageTables")
    }
}

impl From<&ShimParamsRaw> for ShimParamsRawNoPageTables {
    /// Drops `page_tables_start` / `page_tables_size`.
    fn from(p: &ShimParamsRaw) -> Self {
        Self {
            kernel_entry_offset: p.kernel_entry_offset,
            cmdline_offset: p.cmdline_offset,
            initrd_offset: p.initrd_offset,
            initrd_size: p.initrd_size,
            initrd_crc: p.initrd_crc,
            supported_isolation_type: p.supported_isolation_type,
            memory_start_offset: p.memory_start_offset,
            memory_size: p.memory_size,
            parameter_region_offset: p.parameter_region_offset,
            parameter_region_size: p.parameter_region_size,
            vtl2_reserved_region_offset: p.vtl2_reserved_region_offset,
            vtl2_reserved_region_size: p.vtl2_reserved_region_size,
            sidecar_offset: p.sidecar_offset,
            sidecar_size: p.sidecar_size,
            sidecar_entry_offset: p.sidecar_entry_offset,
            used_start: p.used_start,
            used_end: p.used_end,
            bounce_buffer_start: p.bounce_buffer_start,
            bounce_buffer_size: p.bounce_buffer_size,
            log_buffer_start: p.log_buffer_start,
            log_buffer_size: p.log_buffer_size,
            heap_start_offset: p.heap_start_offset,
            heap_size: p.heap_size,
            persisted_state_region_offset: p.persisted_state_region_offset,
            persisted_state_region_size: p.persisted_state_region_size,
        }
    }
}

impl From<&ShimParamsRawNoPageTables> for ShimParamsRaw {
    /// The seed layout with `page_tables_start` / `page_tables_size` 0.
    fn from(p: &ShimParamsRawNoPageTables) -> Self {
        Self {
            kernel_entry_offset: p.kernel_entry_offset,
            cmdline_offset: p.cmdline_offset,
            initrd_offset: p.initrd_offset,
            initrd_size: p.initrd_size,
            initrd_crc: p.initrd_crc,
            supported_isolation_type: p.supported_isolation_type,
            memory_start_offset: p.memory_start_offset,
            memory_size: p.memory_size,
            parameter_region_offset: p.parameter_region_offset,
            parameter_region_size: p.parameter_region_size,
            vtl2_reserved_region_offset: p.vtl2_reserved_region_offset,
            vtl2_reserved_region_size: p.vtl2_reserved_region_size,
            sidecar_offset: p.sidecar_offset,
            sidecar_size: p.sidecar_size,
            sidecar_entry_offset: p.sidecar_entry_offset,
            used_start: p.used_start,
            used_end: p.used_end,
            bounce_buffer_start: p.bounce_buffer_start,
            bounce_buffer_size: p.bounce_buffer_size,
            page_tables_start: 0,
            page_tables_size: 0,
            log_buffer_start: p.log_buffer_start,
            log_buffer_size: p.log_buffer_size,
            heap_start_offset: p.heap_start_offset,
            heap_size: p.heap_size,
            persisted_state_region_offset: p.persisted_state_region_offset,
            persisted_state_region_size: p.persisted_state_region_size,
        }
    }
}

/// The shim parameters as one [`ShimParamsLayout`] writes them: the bytes the
/// loader imports as the `underhill-shim-params` page (zero-padded by the
/// importer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShimParamsBytes {
    bytes: [u8; size_of::<ShimParamsRaw>()],
    len: usize,
}

impl ShimParamsBytes {
    /// No bytes (before the parameters are computed).
    pub const EMPTY: Self = Self {
        bytes: [0; size_of::<ShimParamsRaw>()],
        len: 0,
    };

    /// The structure's bytes (208 or 192).
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&self.bytes)
    }
}

impl ShimParamsLayout {
    /// Size of the structure in bytes: 208 or 192.
    pub const fn size(self) -> usize {
        match self {
            Self::WithPageTables => size_of::<ShimParamsRaw>(),
            Self::WithoutPageTables => size_of::<ShimParamsRawNoPageTables>(),
        }
    }

    /// Writes `params` in this layout (the page-table fields are dropped by
    /// [`ShimParamsLayout::WithoutPageTables`]).
    pub fn encode(self, params: &ShimParamsRaw) -> ShimParamsBytes {
        let mut bytes = [0u8; size_of::<ShimParamsRaw>()];
        let reduced;
        let src = match self {
            Self::WithPageTables => params.as_bytes(),
            Self::WithoutPageTables => {
                reduced = ShimParamsRawNoPageTables::from(params);
                reduced.as_bytes()
            }
        };
        let len = src.len();
        if let Some(dst) = bytes.get_mut(..len) {
            dst.copy_from_slice(src);
        }
        ShimParamsBytes { bytes, len }
    }

    /// Reads parameters written in this layout from the start of `bytes`
    /// (a shim built for this layout); with
    /// [`ShimParamsLayout::WithoutPageTables`] the page-table fields read as 0.
    pub fn read(self, bytes: &[u8]) -> Result<ShimParamsRaw, LayoutError> {
        match self {
            Self::WithPageTables => ShimParamsRaw::read_from(bytes),
            Self::WithoutPageTables => {
                ShimParamsRawNoPageTables::read_from(bytes).map(|p| ShimParamsRaw::from(&p))
            }
        }
    }
}

/// Header of the persisted-state region (docs/abi.md §2.3; reference only: the
/// loader reserves the region but never writes it).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, IntoBytes, FromBytes, Immutable, KnownLayout)]
pub struct PersistedStateHeader {
    /// [`PersistedStateHeader::MAGIC`].
    pub magic: u64,
    /// GPA of the protobuf region.
    pub protobuf_base: u64,
    /// Length of the protobuf region in bytes.
    pub protobuf_region_len: u64,
    /// Length of the protobuf payload in bytes.
    pub protobuf_payload_len: u64,
}

const_assert_eq!(size_of::<PersistedStateHeader>(), 32);
const_assert_eq!(offset_of!(PersistedStateHeader, magic), 0);
const_assert_eq!(offset_of!(PersistedStateHeader, protobuf_base), 8);
const_assert_eq!(offset_of!(PersistedStateHeader, protobuf_region_len), 16);
const_assert_eq!(offset_of!(PersistedStateHeader, protobuf_payload_len), 24);

impl PersistedStateHeader {
    /// ASCII "OHCLPHDR" read as a little-endian u64 (so the bytes in memory
    /// spell "OHCLPHDR"): 0x5244_4850_4C43_484F.
    pub const MAGIC: u64 = u64::from_le_bytes(*b"OHCLPHDR");

    /// Reads a header from the start of `bytes` and checks its magic.
    pub fn read_from(bytes: &[u8]) -> Result<Self, LayoutError> {
        let header: Self = read_prefix(bytes, "PersistedStateHeader")?;
        if header.magic != Self::MAGIC {
            return Err(LayoutError::BadMagic {
                structure: "PersistedStateHeader",
                expected: Self::MAGIC,
                found: header.magic,
            });
        }
        Ok(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerocopy::FromZeros;

    #[test]
    fn isolation_and_memory_types_match_abi_2() {
        assert_eq!(SupportedIsolationType::VBS.0, 1);
        assert_eq!(SupportedIsolationType::SNP.0, 2);
        assert_eq!(SupportedIsolationType::TDX.0, 3);
        let vtl = [
            MemoryVtlType::VTL0,
            MemoryVtlType::VTL2_RAM,
            MemoryVtlType::VTL2_CONFIG,
            MemoryVtlType::VTL2_SIDECAR_IMAGE,
            MemoryVtlType::VTL2_SIDECAR_NODE,
            MemoryVtlType::VTL0_MMIO,
            MemoryVtlType::VTL2_MMIO,
            MemoryVtlType::VTL2_RESERVED,
            MemoryVtlType::VTL2_GPA_POOL,
            MemoryVtlType::VTL2_TDX_PAGE_TABLES,
            MemoryVtlType::VTL2_BOOTSHIM_LOG_BUFFER,
            MemoryVtlType::VTL2_PERSISTED_STATE_HEADER,
            MemoryVtlType::VTL2_PERSISTED_STATE_PROTOBUF,
        ];
        for (value, vtl) in vtl.iter().enumerate() {
            assert_eq!(vtl.0 as usize, value);
        }
    }

    #[test]
    fn shim_params_bytes_are_little_endian_at_abi_2_offsets() {
        let mut params = ShimParamsRaw::new_zeroed();
        params.kernel_entry_offset = -1;
        params.initrd_crc = 0xAABB_CCDD;
        params.supported_isolation_type = SupportedIsolationType::SNP;
        params.parameter_region_size = 0x6A000;
        params.persisted_state_region_size = 0x20_0000;
        let bytes = params.as_bytes();
        assert_eq!(bytes.len(), 208);
        assert_eq!(&bytes[0x00..0x08], &[0xFF; 8]);
        assert_eq!(&bytes[0x20..0x24], &[0xDD, 0xCC, 0xBB, 0xAA]);
        assert_eq!(&bytes[0x24..0x28], &[2, 0, 0, 0]);
        assert_eq!(&bytes[0x40..0x48], &[0x00, 0xA0, 0x06, 0, 0, 0, 0, 0]);
        assert_eq!(&bytes[0xC8..0xD0], &[0, 0, 0x20, 0, 0, 0, 0, 0]);
        let mut page = [0u8; 4096];
        page[..208].copy_from_slice(bytes);
        assert_eq!(ShimParamsRaw::read_from(&page), Ok(params));
    }

    #[test]
    fn shim_params_read_rejects_short_buffer() {
        assert_eq!(
            ShimParamsRaw::read_from(&[0; 207]),
            Err(LayoutError::BufferTooSmall {
                structure: "ShimParamsRaw",
                needed: 208,
                actual: 207
            })
        );
    }

    /// docs/abi-versions.md §3.1 and the G1 example: PIN writes
    /// page_tables_start @144, page_tables_size @152, log_buffer_start @160;
    /// release-1.7.2511 writes log_buffer_start @144, 192 bytes in all.
    #[test]
    fn no_page_tables_layout_moves_the_tail_down_by_16_bytes() {
        let mut params = ShimParamsRaw::new_zeroed();
        params.bounce_buffer_size = 0x11;
        params.page_tables_start = 0x18_8000;
        params.page_tables_size = 0x7000;
        params.log_buffer_start = 0x17_6000;
        params.persisted_state_region_size = 0x20_0000;
        let seed = ShimParamsLayout::WithPageTables.encode(&params);
        assert_eq!(seed.as_bytes(), params.as_bytes());
        assert_eq!(seed.as_bytes().len(), 208);
        assert_eq!(&seed.as_bytes()[144..152], &0x18_8000u64.to_le_bytes());
        assert_eq!(&seed.as_bytes()[160..168], &0x17_6000u64.to_le_bytes());
        let later = ShimParamsLayout::WithoutPageTables.encode(&params);
        let b = later.as_bytes();
        assert_eq!(b.len(), 192);
        assert_eq!(ShimParamsLayout::WithoutPageTables.size(), 192);
        assert_eq!(&b[..144], &params.as_bytes()[..144]);
        assert_eq!(&b[136..144], &0x11u64.to_le_bytes());
        assert_eq!(&b[144..152], &0x17_6000u64.to_le_bytes());
        assert_eq!(&b[184..192], &0x20_0000u64.to_le_bytes());
        assert_eq!(&b[144..], &params.as_bytes()[160..]);
        // Read back by a shim of each layout.
        let mut page = [0u8; 4096];
        page[..192].copy_from_slice(b);
        let read = ShimParamsLayout::WithoutPageTables.read(&page).unwrap();
        let mut expected = params;
        expected.page_tables_start = 0;
        expected.page_tables_size = 0;
        assert_eq!(read, expected);
        assert_eq!(
            ShimParamsLayout::WithPageTables.read(seed.as_bytes()),
            Ok(params)
        );
        assert_eq!(
            ShimParamsLayout::WithoutPageTables.read(&page[..191]),
            Err(LayoutError::BufferTooSmall {
                structure: "ShimParamsRawNoPageTables",
                needed: 192,
                actual: 191
            })
        );
    }

    #[test]
    fn persisted_state_magic_reads_ohclphdr_in_memory() {
        assert_eq!(PersistedStateHeader::MAGIC, 0x5244_4850_4C43_484F);
        let header = PersistedStateHeader {
            magic: PersistedStateHeader::MAGIC,
            protobuf_base: 1,
            protobuf_region_len: 2,
            protobuf_payload_len: 3,
        };
        assert_eq!(&header.as_bytes()[..8], b"OHCLPHDR");
        assert_eq!(
            PersistedStateHeader::read_from(header.as_bytes()),
            Ok(header)
        );
        let bad = PersistedStateHeader::new_zeroed();
        assert_eq!(
            PersistedStateHeader::read_from(bad.as_bytes()),
            Err(LayoutError::BadMagic {
                structure: "PersistedStateHeader",
                expected: 0x5244_4850_4C43_484F,
                found: 0
            })
        );
    }
}

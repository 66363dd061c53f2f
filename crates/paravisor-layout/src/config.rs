//! Paravisor configuration structures (docs/abi.md §3, `loader_defs::paravisor`
//! in the original): command line, page-region descriptors, measured
//! configs and the imported-regions page.

use crate::COMMAND_LINE_SIZE;
use crate::HV_PAGE_SIZE;
use crate::LayoutError;
use crate::bytes::read_prefix;
use bitfield_struct::bitfield;
use core::mem::offset_of;
use core::mem::size_of;
use static_assertions::const_assert_eq;
use zerocopy::FromBytes;
use zerocopy::FromZeros;
use zerocopy::Immutable;
use zerocopy::IntoBytes;
use zerocopy::KnownLayout;

// ---------------------------------------------------------------------------
// Command line (docs/abi.md §3.1, §3.2)
// ---------------------------------------------------------------------------

/// How the paravisor treats its command line (open enum, u16, docs/abi.md §3.1).
#[repr(transparent)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, IntoBytes, FromBytes, Immutable, KnownLayout)]
pub struct CommandLinePolicy(pub u16);

impl CommandLinePolicy {
    /// Use the static command line only.
    pub const STATIC: Self = Self(0);
    /// The host may append to the static command line through the device
    /// tree's `/chosen` node.
    pub const APPEND_CHOSEN: Self = Self(1);
}

/// The paravisor command-line page (docs/abi.md §3.2): exactly one page, tag
/// "underhill-command-line".
///
/// The command line is stored without a NUL terminator; a 4092-byte line
/// fills the array completely.
#[repr(C)]
#[derive(Debug, Clone, PartialEq, Eq, Hash, IntoBytes, FromBytes, Immutable, KnownLayout)]
pub struct ParavisorCommandLine {
    /// The policy.
    pub policy: CommandLinePolicy,
    /// Length of the command line in bytes (≤ [`COMMAND_LINE_SIZE`]).
    pub static_command_line_len: u16,
    /// The command-line bytes, then zeros.
    pub static_command_line: [u8; COMMAND_LINE_SIZE],
}

const_assert_eq!(size_of::<ParavisorCommandLine>(), HV_PAGE_SIZE as usize);
const_assert_eq!(offset_of!(ParavisorCommandLine, policy), 0);
const_assert_eq!(offset_of!(ParavisorCommandLine, static_command_line_len), 2);
const_assert_eq!(offset_of!(ParavisorCommandLine, static_command_line), 4);

impl ParavisorCommandLine {
    /// Builds the page for `command_line` with `policy`.
    ///
    /// Errors when the command line is longer than [`COMMAND_LINE_SIZE`]
    /// (4092) bytes.
    pub fn new(policy: CommandLinePolicy, command_line: &str) -> Result<Self, LayoutError> {
        let bytes = command_line.as_bytes();
        let too_long = LayoutError::CommandLineTooLong {
            len: bytes.len(),
            max: COMMAND_LINE_SIZE,
        };
        let len = u16::try_from(bytes.len()).map_err(|_| too_long)?;
        let mut page = Self::new_zeroed();
        page.static_command_line
            .get_mut(..bytes.len())
            .ok_or(too_long)?
            .copy_from_slice(bytes);
        page.policy = policy;
        page.static_command_line_len = len;
        Ok(page)
    }

    /// Reads the page from the start of `bytes` (no validation; see
    /// [`command_line`](Self::command_line)).
    pub fn read_from(bytes: &[u8]) -> Result<Self, LayoutError> {
        read_prefix(bytes, "ParavisorCommandLine")
    }

    /// The command line, checked: the stored length must be at most
    /// [`COMMAND_LINE_SIZE`] and the bytes valid UTF-8.
    pub fn command_line(&self) -> Result<&str, LayoutError> {
        let len = self.static_command_line_len;
        let bytes = self.static_command_line.get(..usize::from(len)).ok_or(
            LayoutError::CommandLineLengthInvalid {
                len,
                max: COMMAND_LINE_SIZE,
            },
        )?;
        core::str::from_utf8(bytes).map_err(|err| LayoutError::CommandLineNotUtf8 {
            valid_up_to: err.valid_up_to(),
            len,
        })
    }
}

// ---------------------------------------------------------------------------
// Page-region descriptors and VTL0 load info (docs/abi.md §3.3, §3.4)
// ---------------------------------------------------------------------------

/// A range of guest pages (docs/abi.md §3.3); `page_count` 0 means "no region".
#[repr(C)]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, IntoBytes, FromBytes, Immutable, KnownLayout,
)]
pub struct PageRegionDescriptor {
    /// First page number (GPA / 4096).
    pub base_page_number: u64,
    /// Number of pages; 0 = region not valid.
    pub page_count: u64,
}

const_assert_eq!(size_of::<PageRegionDescriptor>(), 16);
const_assert_eq!(offset_of!(PageRegionDescriptor, base_page_number), 0);
const_assert_eq!(offset_of!(PageRegionDescriptor, page_count), 8);

impl PageRegionDescriptor {
    /// No region: {0, 0}.
    pub const EMPTY: Self = Self {
        base_page_number: 0,
        page_count: 0,
    };

    /// A region of `page_count` pages starting at page `base_page_number`.
    pub const fn new(base_page_number: u64, page_count: u64) -> Self {
        Self {
            base_page_number,
            page_count,
        }
    }

    /// The region, or `None` when `page_count` is 0.
    pub const fn valid(self) -> Option<Self> {
        if self.page_count == 0 {
            None
        } else {
            Some(self)
        }
    }

    /// The region's GPA range in bytes, or `None` when the region is empty
    /// or its end does not fit in a u64.
    pub const fn address_range(self) -> Option<core::ops::Range<u64>> {
        if self.page_count == 0 {
            return None;
        }
        let Some(start) = self.base_page_number.checked_mul(HV_PAGE_SIZE) else {
            return None;
        };
        let Some(end_page) = self.base_page_number.checked_add(self.page_count) else {
            return None;
        };
        let Some(end) = end_page.checked_mul(HV_PAGE_SIZE) else {
            return None;
        };
        Some(start..end)
    }
}

/// Where the VTL0 UEFI firmware and its VP context live (docs/abi.md §3.4).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, IntoBytes, FromBytes, Immutable, KnownLayout,
)]
pub struct UefiInfo {
    /// The firmware image.
    pub firmware: PageRegionDescriptor,
    /// The VTL0 VP-context page.
    pub vtl0_vp_context: PageRegionDescriptor,
}

const_assert_eq!(size_of::<UefiInfo>(), 32);
const_assert_eq!(offset_of!(UefiInfo, firmware), 0);
const_assert_eq!(offset_of!(UefiInfo, vtl0_vp_context), 16);

/// Where a directly booted VTL0 Linux lives (docs/abi.md §3.4).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, IntoBytes, FromBytes, Immutable, KnownLayout,
)]
pub struct LinuxInfo {
    /// The kernel image.
    pub kernel_region: PageRegionDescriptor,
    /// Kernel entry point GPA.
    pub kernel_entrypoint: u64,
    /// The initrd ([`PageRegionDescriptor::EMPTY`] if none).
    pub initrd_region: PageRegionDescriptor,
    /// Initrd size in bytes.
    pub initrd_size: u64,
    /// The NUL-terminated VTL0 command-line page.
    pub command_line: PageRegionDescriptor,
}

const_assert_eq!(size_of::<LinuxInfo>(), 64);
const_assert_eq!(offset_of!(LinuxInfo, kernel_region), 0);
const_assert_eq!(offset_of!(LinuxInfo, kernel_entrypoint), 16);
const_assert_eq!(offset_of!(LinuxInfo, initrd_region), 24);
const_assert_eq!(offset_of!(LinuxInfo, initrd_size), 40);
const_assert_eq!(offset_of!(LinuxInfo, command_line), 48);

// ---------------------------------------------------------------------------
// Measured configs (docs/abi.md §3.5, §3.6)
// ---------------------------------------------------------------------------

/// Which VTL0 boot methods the image supports (u64 bitfield, docs/abi.md §3.5).
#[bitfield(u64)]
#[derive(PartialEq, Eq, Hash, IntoBytes, FromBytes, Immutable, KnownLayout)]
pub struct SupportedVtl0LoadInfo {
    /// UEFI firmware is loaded.
    pub uefi_supported: bool,
    /// PCAT BIOS is supported.
    pub pcat_supported: bool,
    /// A Linux kernel is loaded for direct boot.
    pub linux_direct_supported: bool,
    /// Bits 3..=63 (reserved, zero).
    #[bits(61)]
    _reserved: u64,
}

/// The measured VTL0 config (docs/abi.md §3.5): 112 bytes at page 0 (x86-64) or
/// page 0x1000 (AArch64), tag "underhill-measured-config".
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, IntoBytes, FromBytes, Immutable, KnownLayout)]
pub struct ParavisorMeasuredVtl0Config {
    /// [`ParavisorMeasuredVtl0Config::MAGIC`].
    pub magic: u64,
    /// Supported VTL0 boot methods.
    pub supported_vtl0: SupportedVtl0LoadInfo,
    /// UEFI placement (meaningful when `uefi_supported`).
    pub uefi_info: UefiInfo,
    /// Linux placement (meaningful when `linux_direct_supported`).
    pub linux_info: LinuxInfo,
}

const_assert_eq!(size_of::<ParavisorMeasuredVtl0Config>(), 112);
const_assert_eq!(offset_of!(ParavisorMeasuredVtl0Config, magic), 0);
const_assert_eq!(offset_of!(ParavisorMeasuredVtl0Config, supported_vtl0), 8);
const_assert_eq!(offset_of!(ParavisorMeasuredVtl0Config, uefi_info), 16);
const_assert_eq!(offset_of!(ParavisorMeasuredVtl0Config, linux_info), 48);

impl ParavisorMeasuredVtl0Config {
    /// The u64 whose big-endian spelling is ASCII "OHCLVTL0"; stored
    /// little-endian, the bytes in memory read "0LTVLCHO".
    pub const MAGIC: u64 = 0x4F48_434C_5654_4C30;

    /// A config with the right magic.
    pub const fn new(
        supported_vtl0: SupportedVtl0LoadInfo,
        uefi_info: UefiInfo,
        linux_info: LinuxInfo,
    ) -> Self {
        Self {
            magic: Self::MAGIC,
            supported_vtl0,
            uefi_info,
            linux_info,
        }
    }

    /// Reads a config from the start of `bytes` and checks its magic.
    pub fn read_from(bytes: &[u8]) -> Result<Self, LayoutError> {
        let config: Self = read_prefix(bytes, "ParavisorMeasuredVtl0Config")?;
        check_magic("ParavisorMeasuredVtl0Config", Self::MAGIC, config.magic)?;
        Ok(config)
    }

    /// The UEFI info, when UEFI is supported.
    pub const fn uefi(&self) -> Option<&UefiInfo> {
        if self.supported_vtl0.uefi_supported() {
            Some(&self.uefi_info)
        } else {
            None
        }
    }

    /// The Linux info, when Linux direct boot is supported.
    pub const fn linux(&self) -> Option<&LinuxInfo> {
        if self.supported_vtl0.linux_direct_supported() {
            Some(&self.linux_info)
        } else {
            None
        }
    }
}

/// The measured VTL2 config (docs/abi.md §3.6): 16 bytes at page index 105 of
/// the parameter region, tag "underhill-vtl2-measured-config".
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, IntoBytes, FromBytes, Immutable, KnownLayout)]
pub struct ParavisorMeasuredVtl2Config {
    /// [`ParavisorMeasuredVtl2Config::MAGIC`].
    pub magic: u64,
    /// The VTOM bit (`shared_gpa_boundary_bits`) on x86-64, or 0.
    pub vtom_offset_bit: u8,
    /// Zeros.
    pub padding: [u8; 7],
}

const_assert_eq!(size_of::<ParavisorMeasuredVtl2Config>(), 16);
const_assert_eq!(offset_of!(ParavisorMeasuredVtl2Config, magic), 0);
const_assert_eq!(offset_of!(ParavisorMeasuredVtl2Config, vtom_offset_bit), 8);
const_assert_eq!(offset_of!(ParavisorMeasuredVtl2Config, padding), 9);

impl ParavisorMeasuredVtl2Config {
    /// The u64 whose big-endian spelling is ASCII "OHCLVTL2"; memory bytes
    /// `32 4C 54 56 4C 43 48 4F`.
    pub const MAGIC: u64 = 0x4F48_434C_5654_4C32;

    /// A config with the right magic and zero padding.
    pub const fn new(vtom_offset_bit: u8) -> Self {
        Self {
            magic: Self::MAGIC,
            vtom_offset_bit,
            padding: [0; 7],
        }
    }

    /// Reads a config from the start of `bytes` and checks its magic.
    pub fn read_from(bytes: &[u8]) -> Result<Self, LayoutError> {
        let config: Self = read_prefix(bytes, "ParavisorMeasuredVtl2Config")?;
        check_magic("ParavisorMeasuredVtl2Config", Self::MAGIC, config.magic)?;
        Ok(config)
    }
}

/// The measured VTL2 config of `main-1488a37b` (docs/abi-versions.md §3.2):
/// [`ParavisorMeasuredVtl2Config`] plus the size of a product policy stored
/// inline after it, 24 bytes. With no policy (the only case this loader
/// supports) its page holds the same bytes as the 16-byte seed structure.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, IntoBytes, FromBytes, Immutable, KnownLayout)]
pub struct ParavisorMeasuredVtl2ConfigWithPolicy {
    /// The seed's 16 bytes (magic, VTOM bit, padding).
    pub base: ParavisorMeasuredVtl2Config,
    /// Bytes of the product policy stored at
    /// [`Self::PRODUCT_POLICY_INLINE_OFFSET`] (0: none).
    pub product_policy_size: u32,
    /// Zeros.
    pub reserved: [u8; 4],
}

const_assert_eq!(size_of::<ParavisorMeasuredVtl2ConfigWithPolicy>(), 24);
const_assert_eq!(
    offset_of!(ParavisorMeasuredVtl2ConfigWithPolicy, product_policy_size),
    16
);
const_assert_eq!(
    offset_of!(ParavisorMeasuredVtl2ConfigWithPolicy, reserved),
    20
);

impl ParavisorMeasuredVtl2ConfigWithPolicy {
    /// Where an inline product policy starts in the page
    /// (`PRODUCT_POLICY_INLINE_OFFSET`).
    pub const PRODUCT_POLICY_INLINE_OFFSET: usize = 24;
    /// Most bytes of an inline product policy
    /// (`PRODUCT_POLICY_MAX_SIZE_BYTES`: the rest of the page).
    pub const PRODUCT_POLICY_MAX_SIZE_BYTES: usize =
        HV_PAGE_SIZE as usize - Self::PRODUCT_POLICY_INLINE_OFFSET;

    /// A config with the right magic and no product policy.
    pub const fn new(vtom_offset_bit: u8) -> Self {
        Self {
            base: ParavisorMeasuredVtl2Config::new(vtom_offset_bit),
            product_policy_size: 0,
            reserved: [0; 4],
        }
    }

    /// Reads a config from the start of `bytes` and checks its magic.
    pub fn read_from(bytes: &[u8]) -> Result<Self, LayoutError> {
        let config: Self = read_prefix(bytes, "ParavisorMeasuredVtl2ConfigWithPolicy")?;
        check_magic(
            "ParavisorMeasuredVtl2ConfigWithPolicy",
            ParavisorMeasuredVtl2Config::MAGIC,
            config.base.magic,
        )?;
        Ok(config)
    }
}

fn check_magic(structure: &'static str, expected: u64, found: u64) -> Result<(), LayoutError> {
    if found == expected {
        Ok(())
    } else {
        Err(LayoutError::BadMagic {
            structure,
            expected,
            found,
        })
    }
}

// ---------------------------------------------------------------------------
// Imported regions (docs/abi.md §3.7, §3.8)
// ---------------------------------------------------------------------------

/// One imported range of guest pages (docs/abi.md §3.7); `page_count` 0
/// terminates a list.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, IntoBytes, FromBytes, Immutable, KnownLayout,
)]
pub struct ImportedRegionDescriptor {
    /// First page number.
    pub base_page_number: u64,
    /// Number of pages; 0 ends the list.
    pub page_count: u64,
    /// 1 = accepted during import, 0 = not (Shared).
    pub accepted: u8,
    /// Zeros.
    pub padding: [u8; 7],
}

const_assert_eq!(size_of::<ImportedRegionDescriptor>(), 24);
const_assert_eq!(offset_of!(ImportedRegionDescriptor, base_page_number), 0);
const_assert_eq!(offset_of!(ImportedRegionDescriptor, page_count), 8);
const_assert_eq!(offset_of!(ImportedRegionDescriptor, accepted), 16);
const_assert_eq!(offset_of!(ImportedRegionDescriptor, padding), 17);

impl ImportedRegionDescriptor {
    /// The all-zero descriptor (a list terminator).
    pub const EMPTY: Self = Self {
        base_page_number: 0,
        page_count: 0,
        accepted: 0,
        padding: [0; 7],
    };

    /// A descriptor for `page_count` pages at `base_page_number`.
    pub const fn new(base_page_number: u64, page_count: u64, accepted: bool) -> Self {
        Self {
            base_page_number,
            page_count,
            accepted: accepted as u8,
            padding: [0; 7],
        }
    }

    /// Whether the range was accepted during import (any non-zero byte
    /// counts as accepted).
    pub const fn is_accepted(&self) -> bool {
        self.accepted != 0
    }
}

/// Header of the imported-regions page (docs/abi.md §3.8): a SHA-384 digest.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, IntoBytes, FromBytes, Immutable, KnownLayout)]
pub struct ImportedRegionsPageHeader {
    /// SHA-384 over the Shared "normal" page data, sorted by GPA, each page
    /// zero-extended to 4 KiB.
    pub sha384_hash: [u8; 48],
}

const_assert_eq!(size_of::<ImportedRegionsPageHeader>(), 48);

/// How many descriptors fit in the imported-regions page after its header:
/// (4096 − 48) / 24 = 168.
pub const IMPORTED_REGION_DESCRIPTORS_PER_PAGE: usize = (HV_PAGE_SIZE as usize
    - size_of::<ImportedRegionsPageHeader>())
    / size_of::<ImportedRegionDescriptor>();

/// A read view of the imported-regions page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportedRegionsPage<'a> {
    /// The page header.
    pub header: ImportedRegionsPageHeader,
    descriptors: &'a [u8],
}

impl<'a> ImportedRegionsPage<'a> {
    /// Parses a page. Only the first 4096 bytes of `page` are considered; a
    /// shorter slice is read as far as it goes.
    ///
    /// Errors only when `page` is shorter than the 48-byte header.
    pub fn parse(page: &'a [u8]) -> Result<Self, LayoutError> {
        let page = page.get(..HV_PAGE_SIZE as usize).unwrap_or(page);
        let (header, descriptors) =
            ImportedRegionsPageHeader::read_from_prefix(page).map_err(|_| {
                LayoutError::BufferTooSmall {
                    structure: "ImportedRegionsPageHeader",
                    needed: size_of::<ImportedRegionsPageHeader>(),
                    actual: page.len(),
                }
            })?;
        Ok(Self {
            header,
            descriptors,
        })
    }

    /// The descriptors, in page order, up to (not including) the first one
    /// with `page_count` 0 or the end of the page.
    pub fn regions(&self) -> ImportedRegions<'a> {
        ImportedRegions {
            rest: self.descriptors,
        }
    }
}

/// Iterator over an imported-regions page's descriptors; see
/// [`ImportedRegionsPage::regions`].
#[derive(Debug, Clone)]
pub struct ImportedRegions<'a> {
    rest: &'a [u8],
}

impl Iterator for ImportedRegions<'_> {
    type Item = ImportedRegionDescriptor;

    fn next(&mut self) -> Option<Self::Item> {
        let Ok((descriptor, rest)) = ImportedRegionDescriptor::read_from_prefix(self.rest) else {
            self.rest = &[];
            return None;
        };
        if descriptor.page_count == 0 {
            self.rest = &[];
            return None;
        }
        self.rest = rest;
        Some(descriptor)
    }
}

impl core::iter::FusedIterator for ImportedRegions<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/abi-versions.md §3.2: main's 24-byte structure starts with the
    /// seed's 16 bytes; with no policy the rest is zero, so the zero-padded
    /// page is the seed's.
    #[test]
    fn vtl2_config_with_policy_is_the_seed_struct_then_zeros() {
        let main = ParavisorMeasuredVtl2ConfigWithPolicy::new(47);
        let seed = ParavisorMeasuredVtl2Config::new(47);
        assert_eq!(main.as_bytes().len(), 24);
        assert_eq!(&main.as_bytes()[..16], seed.as_bytes());
        assert_eq!(&main.as_bytes()[16..], &[0; 8]);
        assert_eq!(
            ParavisorMeasuredVtl2ConfigWithPolicy::PRODUCT_POLICY_MAX_SIZE_BYTES,
            4072
        );
        assert_eq!(
            ParavisorMeasuredVtl2ConfigWithPolicy::read_from(main.as_bytes()),
            Ok(main)
        );
        assert!(ParavisorMeasuredVtl2ConfigWithPolicy::read_from(&[0u8; 24]).is_err());
        assert!(ParavisorMeasuredVtl2ConfigWithPolicy::read_from(seed.as_bytes()).is_err());
    }

    #[test]
    fn command_line_policy_values_match_abi_3_1() {
        assert_eq!(CommandLinePolicy::STATIC.0, 0);
        assert_eq!(CommandLinePolicy::APPEND_CHOSEN.0, 1);
    }

    #[test]
    fn command_line_page_layout_matches_abi_3_2() {
        let page =
            ParavisorCommandLine::new(CommandLinePolicy::APPEND_CHOSEN, "console=ttyS0").unwrap();
        let bytes = page.as_bytes();
        assert_eq!(bytes.len(), 4096);
        assert_eq!(&bytes[0..2], &[1, 0]);
        assert_eq!(&bytes[2..4], &[13, 0]);
        assert_eq!(&bytes[4..17], b"console=ttyS0");
        assert!(bytes[17..].iter().all(|&b| b == 0), "no NUL, zeros after");
        assert_eq!(page.command_line(), Ok("console=ttyS0"));
    }

    #[test]
    fn command_line_of_4092_bytes_fills_the_array_and_4093_is_rejected() {
        let full = "a".repeat(4092);
        let page = ParavisorCommandLine::new(CommandLinePolicy::STATIC, &full).unwrap();
        assert_eq!(page.static_command_line_len, 4092);
        assert_eq!(&page.as_bytes()[4..], full.as_bytes());
        assert_eq!(page.command_line(), Ok(full.as_str()));
        let over = "a".repeat(4093);
        assert_eq!(
            ParavisorCommandLine::new(CommandLinePolicy::STATIC, &over),
            Err(LayoutError::CommandLineTooLong {
                len: 4093,
                max: 4092
            })
        );
        let huge = "a".repeat(70_000);
        assert_eq!(
            ParavisorCommandLine::new(CommandLinePolicy::STATIC, &huge),
            Err(LayoutError::CommandLineTooLong {
                len: 70_000,
                max: 4092
            })
        );
    }

    #[test]
    fn command_line_reader_rejects_bad_length_and_utf8() {
        let mut page = ParavisorCommandLine::new(CommandLinePolicy::STATIC, "ok").unwrap();
        page.static_command_line_len = 4093;
        assert_eq!(
            page.command_line(),
            Err(LayoutError::CommandLineLengthInvalid {
                len: 4093,
                max: 4092
            })
        );
        page.static_command_line_len = 3;
        page.static_command_line[2] = 0xFF;
        assert_eq!(
            page.command_line(),
            Err(LayoutError::CommandLineNotUtf8 {
                valid_up_to: 2,
                len: 3
            })
        );
    }

    #[test]
    fn page_region_descriptor_as_option_and_range() {
        assert_eq!(PageRegionDescriptor::EMPTY.valid(), None);
        assert_eq!(PageRegionDescriptor::new(5, 0).valid(), None);
        let region = PageRegionDescriptor::new(0x100, 2);
        assert_eq!(region.valid(), Some(region));
        assert_eq!(region.address_range(), Some(0x10_0000..0x10_2000));
        assert_eq!(PageRegionDescriptor::new(u64::MAX, 1).address_range(), None);
        assert_eq!(
            PageRegionDescriptor::new(1 << 51, 1).address_range(),
            Some(1 << 63..(1 << 63) + 0x1000)
        );
        assert_eq!(PageRegionDescriptor::new(1 << 52, 1).address_range(), None);
    }

    #[test]
    fn vtl0_magic_bytes_in_memory_are_0ltvlcho() {
        assert_eq!(ParavisorMeasuredVtl0Config::MAGIC, 0x4F48_434C_5654_4C30);
        assert_eq!(
            ParavisorMeasuredVtl0Config::MAGIC,
            5_712_890_122_464_414_768
        );
        let config = ParavisorMeasuredVtl0Config::new(
            SupportedVtl0LoadInfo::new(),
            UefiInfo::default(),
            LinuxInfo::default(),
        );
        assert_eq!(
            &config.as_bytes()[..8],
            &[0x30, 0x4C, 0x54, 0x56, 0x4C, 0x43, 0x48, 0x4F]
        );
        assert_eq!(&config.as_bytes()[..8], b"0LTVLCHO");
    }

    #[test]
    fn vtl2_magic_bytes_in_memory_match_abi_3_6() {
        assert_eq!(ParavisorMeasuredVtl2Config::MAGIC, 0x4F48_434C_5654_4C32);
        assert_eq!(
            ParavisorMeasuredVtl2Config::MAGIC,
            5_712_890_122_464_414_770
        );
        let config = ParavisorMeasuredVtl2Config::new(46);
        assert_eq!(
            config.as_bytes(),
            &[
                0x32, 0x4C, 0x54, 0x56, 0x4C, 0x43, 0x48, 0x4F, 46, 0, 0, 0, 0, 0, 0, 0
            ]
        );
        assert_eq!(
            ParavisorMeasuredVtl2Config::read_from(config.as_bytes()),
            Ok(config)
        );
        let mut bad = config;
        bad.magic = ParavisorMeasuredVtl0Config::MAGIC;
        assert_eq!(
            ParavisorMeasuredVtl2Config::read_from(bad.as_bytes()),
            Err(LayoutError::BadMagic {
                structure: "ParavisorMeasuredVtl2Config",
                expected: 0x4F48_434C_5654_4C32,
                found: 0x4F48_434C_5654_4C30
            })
        );
    }

    #[test]
    fn supported_vtl0_bits_match_abi_3_5() {
        assert_eq!(
            SupportedVtl0LoadInfo::new()
                .with_uefi_supported(true)
                .into_bits(),
            1
        );
        assert_eq!(
            SupportedVtl0LoadInfo::new()
                .with_pcat_supported(true)
                .into_bits(),
            2
        );
        assert_eq!(
            SupportedVtl0LoadInfo::new()
                .with_linux_direct_supported(true)
                .into_bits(),
            4
        );
    }

    #[test]
    fn vtl0_config_round_trips_with_fields_at_abi_offsets() {
        let uefi = UefiInfo {
            firmware: PageRegionDescriptor::new(0x11, 0x22),
            vtl0_vp_context: PageRegionDescriptor::new(0x33, 1),
        };
        let linux = LinuxInfo {
            kernel_region: PageRegionDescriptor::new(0x44, 0x55),
            kernel_entrypoint: 0x66,
            initrd_region: PageRegionDescriptor::EMPTY,
            initrd_size: 0x77,
            command_line: PageRegionDescriptor::new(0x88, 1),
        };
        let config = ParavisorMeasuredVtl0Config::new(
            SupportedVtl0LoadInfo::new().with_linux_direct_supported(true),
            uefi,
            linux,
        );
        let bytes = config.as_bytes();
        assert_eq!(bytes.len(), 112);
        assert_eq!(bytes[8], 4);
        assert_eq!(bytes[16], 0x11);
        assert_eq!(bytes[24], 0x22);
        assert_eq!(bytes[32], 0x33);
        assert_eq!(bytes[48], 0x44);
        assert_eq!(bytes[56], 0x55);
        assert_eq!(bytes[64], 0x66);
        assert_eq!(bytes[88], 0x77);
        assert_eq!(bytes[96], 0x88);
        let read = ParavisorMeasuredVtl0Config::read_from(bytes).unwrap();
        assert_eq!(read, config);
        assert_eq!(read.uefi(), None);
        assert_eq!(read.linux(), Some(&linux));
        assert!(matches!(
            ParavisorMeasuredVtl0Config::read_from(&bytes[..111]),
            Err(LayoutError::BufferTooSmall {
                needed: 112,
                actual: 111,
                ..
            })
        ));
    }

    fn page_with(descriptors: &[ImportedRegionDescriptor]) -> [u8; 4096] {
        let mut page = [0u8; 4096];
        page[..48].copy_from_slice(&[0xAB; 48]);
        for (i, d) in descriptors.iter().enumerate() {
            let off = 48 + 24 * i;
            page[off..off + 24].copy_from_slice(d.as_bytes());
        }
        page
    }

    #[test]
    fn imported_region_descriptor_bytes_match_abi_3_7() {
        let d = ImportedRegionDescriptor::new(0x0102, 3, true);
        assert_eq!(
            d.as_bytes(),
            &[
                2, 1, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0
            ]
        );
        assert!(d.is_accepted());
        assert!(!ImportedRegionDescriptor::new(1, 1, false).is_accepted());
        assert_eq!(ImportedRegionDescriptor::EMPTY.as_bytes(), &[0; 24]);
    }

    #[test]
    fn imported_regions_stop_at_first_zero_page_count() {
        let list = [
            ImportedRegionDescriptor::new(0x10, 1, true),
            ImportedRegionDescriptor::new(0x20, 4, false),
            ImportedRegionDescriptor::EMPTY,
            ImportedRegionDescriptor::new(0x30, 1, true),
        ];
        let page = page_with(&list);
        let parsed = ImportedRegionsPage::parse(&page).unwrap();
        assert_eq!(parsed.header.sha384_hash, [0xAB; 48]);
        let mut it = parsed.regions();
        assert_eq!(it.next(), Some(list[0]));
        assert_eq!(it.next(), Some(list[1]));
        assert_eq!(it.next(), None);
        assert_eq!(it.next(), None);
    }

    #[test]
    fn imported_regions_stop_at_end_of_page() {
        assert_eq!(IMPORTED_REGION_DESCRIPTORS_PER_PAGE, 168);
        let full: [ImportedRegionDescriptor; 168] =
            core::array::from_fn(|i| ImportedRegionDescriptor::new(i as u64, 1, true));
        let page = page_with(&full);
        // Bytes past the page must not be read even when the slice is longer.
        let mut longer = [0xFFu8; 8192];
        longer[..4096].copy_from_slice(&page);
        let parsed = ImportedRegionsPage::parse(&longer).unwrap();
        assert!(parsed.regions().eq(full.iter().copied()));
        // A truncated page yields only the whole descriptors it holds.
        let parsed = ImportedRegionsPage::parse(&page[..48 + 24 * 2 + 10]).unwrap();
        assert_eq!(parsed.regions().count(), 2);
        assert!(matches!(
            ImportedRegionsPage::parse(&page[..47]),
            Err(LayoutError::BufferTooSmall {
                needed: 48,
                actual: 47,
                ..
            })
        ));
    }

    proptest::proptest! {
        #[test]
        fn hostile_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..5000)) {
            if let Ok(page) = ParavisorCommandLine::read_from(&bytes) {
                let _ = page.command_line();
            }
            if let Ok(config) = ParavisorMeasuredVtl0Config::read_from(&bytes) {
                let _ = (config.uefi(), config.linux());
                let _ = config.uefi_info.firmware.address_range();
                let _ = config.linux_info.kernel_region.valid();
            }
            let _ = ParavisorMeasuredVtl2Config::read_from(&bytes);
            let _ = crate::ShimParamsRaw::read_from(&bytes);
            let _ = crate::PersistedStateHeader::read_from(&bytes);
            if let Ok(page) = ImportedRegionsPage::parse(&bytes) {
                let n = page.regions().count();
                proptest::prop_assert!(n <= IMPORTED_REGION_DESCRIPTORS_PER_PAGE);
            }
        }

        #[test]
        fn hostile_command_line_pages_never_panic(policy: u16, len: u16, fill: u8) {
            let mut page = ParavisorCommandLine::new_zeroed();
            page.policy = CommandLinePolicy(policy);
            page.static_command_line_len = len;
            page.static_command_line = [fill; COMMAND_LINE_SIZE];
            match page.command_line() {
                Ok(s) => proptest::prop_assert_eq!(s.len(), usize::from(len)),
                Err(_) => proptest::prop_assert!(len > 4092 || fill >= 0x80),
            }
        }

        #[test]
        fn command_line_round_trips(s in "\\PC{0,1200}") {
            match ParavisorCommandLine::new(CommandLinePolicy::APPEND_CHOSEN, &s) {
                Ok(page) => {
                    let read = ParavisorCommandLine::read_from(page.as_bytes()).unwrap();
                    proptest::prop_assert_eq!(read.command_line().unwrap(), s.as_str());
                    proptest::prop_assert_eq!(read.policy, CommandLinePolicy::APPEND_CHOSEN);
                }
                Err(_) => proptest::prop_assert!(s.len() > 4092),
            }
        }

        #[test]
        fn imported_regions_read_back_what_was_written(
            entries in proptest::collection::vec((proptest::num::u64::ANY, 1u64.., proptest::bool::ANY), 0..=168)
        ) {
            let list: std::vec::Vec<_> = entries
                .iter()
                .map(|&(b, c, a)| ImportedRegionDescriptor::new(b, c, a))
                .collect();
            let page = page_with(&list);
            let parsed = ImportedRegionsPage::parse(&page).unwrap();
            proptest::prop_assert!(parsed.regions().eq(list.iter().copied()));
        }
    }
}

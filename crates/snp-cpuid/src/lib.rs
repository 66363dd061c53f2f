#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

#[cfg(test)]
extern crate std;

use core::mem::offset_of;
use core::mem::size_of;
use static_assertions::const_assert_eq;
use zerocopy::FromBytes;
use zerocopy::FromZeros;
use zerocopy::Immutable;
use zerocopy::IntoBytes;
use zerocopy::KnownLayout;

/// Maximum number of leaves in the CPUID page (`HV_PSP_CPUID_LEAF_COUNT_MAX`).
pub const HV_PSP_CPUID_LEAF_COUNT_MAX: usize = 64;

/// One CPUID leaf of the SNP CPUID page (`HV_PSP_CPUID_LEAF`, 48 bytes,
/// docs/abi.md §6.1).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, IntoBytes, FromBytes, Immutable, KnownLayout,
)]
pub struct HvPspCpuidLeaf {
    /// Input EAX (leaf).
    pub eax_in: u32,
    /// Input ECX (subleaf).
    pub ecx_in: u32,
    /// Input XCR0 (XFEM) for the XSAVE leaves.
    pub xfem_in: u64,
    /// Input IA32_XSS.
    pub xss_in: u64,
    /// Output EAX.
    pub eax_out: u32,
    /// Output EBX.
    pub ebx_out: u32,
    /// Output ECX.
    pub ecx_out: u32,
    /// Output EDX.
    pub edx_out: u32,
    /// Reserved, must be zero.
    pub reserved_z: u64,
}

const_assert_eq!(size_of::<HvPspCpuidLeaf>(), 48);
const_assert_eq!(offset_of!(HvPspCpuidLeaf, eax_in), 0);
const_assert_eq!(offset_of!(HvPspCpuidLeaf, ecx_in), 4);
const_assert_eq!(offset_of!(HvPspCpuidLeaf, xfem_in), 8);
const_assert_eq!(offset_of!(HvPspCpuidLeaf, xss_in), 16);
const_assert_eq!(offset_of!(HvPspCpuidLeaf, eax_out), 24);
const_assert_eq!(offset_of!(HvPspCpuidLeaf, ebx_out), 28);
const_assert_eq!(offset_of!(HvPspCpuidLeaf, ecx_out), 32);
const_assert_eq!(offset_of!(HvPspCpuidLeaf, edx_out), 36);
const_assert_eq!(offset_of!(HvPspCpuidLeaf, reserved_z), 40);

/// The SNP CPUID page (`HV_PSP_CPUID_PAGE`, 3088 bytes, docs/abi.md §6.2).
#[repr(C)]
#[derive(Debug, Clone, PartialEq, Eq, Hash, IntoBytes, FromBytes, Immutable, KnownLayout)]
pub struct HvPspCpuidPage {
    /// Number of valid leaves (≤ 64).
    pub count: u32,
    /// Reserved, must be zero.
    pub reserved_z1: u32,
    /// Reserved, must be zero.
    pub reserved_z2: u64,
    /// The leaves; only the first `count` are meaningful.
    pub cpuid_leaf_info: [HvPspCpuidLeaf; HV_PSP_CPUID_LEAF_COUNT_MAX],
}

const_assert_eq!(size_of::<HvPspCpuidPage>(), 3088);
const_assert_eq!(offset_of!(HvPspCpuidPage, count), 0);
const_assert_eq!(offset_of!(HvPspCpuidPage, reserved_z1), 4);
const_assert_eq!(offset_of!(HvPspCpuidPage, reserved_z2), 8);
const_assert_eq!(offset_of!(HvPspCpuidPage, cpuid_leaf_info), 16);

/// CPUID function (leaf) numbers (open enum, u32, docs/abi.md §5): the values
/// that occur in the SNP paravisor leaf list.
#[repr(transparent)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, IntoBytes, FromBytes, Immutable, KnownLayout)]
pub struct CpuidFunction(pub u32);

impl CpuidFunction {
    /// Vendor and maximum basic leaf.
    pub const VENDOR_AND_MAX_FUNCTION: Self = Self(0x0000_0000);
    /// Version and feature bits.
    pub const VERSION_AND_FEATURES: Self = Self(0x0000_0001);
    /// MONITOR/MWAIT.
    pub const MONITOR_MWAIT: Self = Self(0x0000_0005);
    /// Structured extended features.
    pub const EXTENDED_FEATURES: Self = Self(0x0000_0007);
    /// Direct cache access parameters.
    pub const DIRECT_CACHE_ACCESS_PARAMETERS: Self = Self(0x0000_0009);
    /// Architectural performance monitoring.
    pub const PERFORMANCE_MONITORING: Self = Self(0x0000_000A);
    /// Extended topology enumeration.
    pub const EXTENDED_TOPOLOGY_ENUMERATION: Self = Self(0x0000_000B);
    /// Processor extended state (XSAVE) enumeration.
    pub const EXTENDED_STATE_ENUMERATION: Self = Self(0x0000_000D);
    /// Maximum extended leaf.
    pub const EXTENDED_MAX_FUNCTION: Self = Self(0x8000_0000);
    /// Extended version and feature bits.
    pub const EXTENDED_VERSION_AND_FEATURES: Self = Self(0x8000_0001);
    /// Brand string, part 1.
    pub const EXTENDED_BRANDING_STRING1: Self = Self(0x8000_0002);
    /// Brand string, part 2.
    pub const EXTENDED_BRANDING_STRING2: Self = Self(0x8000_0003);
    /// Brand string, part 3.
    pub const EXTENDED_BRANDING_STRING3: Self = Self(0x8000_0004);
    /// L1 cache and TLB parameters.
    pub const EXTENDED_L1_CACHE_PARAMETERS: Self = Self(0x8000_0005);
    /// L2/L3 cache and TLB parameters.
    pub const EXTENDED_L2_CACHE_PARAMETERS: Self = Self(0x8000_0006);
    /// Power management and RAS.
    pub const EXTENDED_POWER_MANAGEMENT: Self = Self(0x8000_0007);
    /// Address sizes.
    pub const EXTENDED_ADDRESS_SPACE_SIZES: Self = Self(0x8000_0008);
    /// SVM revision and features.
    pub const EXTENDED_SVM_VERSION_AND_FEATURES: Self = Self(0x8000_000A);
    /// 1 GiB-page TLB identifiers.
    pub const EXTENDED_TLB_1GB_IDENTIFIERS: Self = Self(0x8000_0019);
    /// Performance optimisation identifiers.
    pub const EXTENDED_OPTIMIZATION_IDENTIFIERS: Self = Self(0x8000_001A);
    /// Cache topology.
    pub const CACHE_TOPOLOGY_DEFINITION: Self = Self(0x8000_001D);
    /// Processor topology.
    pub const PROCESSOR_TOPOLOGY_DEFINITION: Self = Self(0x8000_001E);
    /// SEV capabilities.
    pub const EXTENDED_SEV_FEATURES: Self = Self(0x8000_001F);
}

/// A (leaf, subleaf) pair the CPUID page must contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CpuidLeafInfo {
    /// The leaf (input EAX).
    pub function: CpuidFunction,
    /// The subleaf (input ECX).
    pub index: u32,
}

impl CpuidLeafInfo {
    const fn new(function: CpuidFunction, index: u32) -> Self {
        Self { function, index }
    }
}

/// The leaves the paravisor's SNP CPUID page requests, in page order
/// (docs/abi.md §6.3). The extended SEV leaf must be first.
pub const SNP_REQUIRED_CPUID_LEAF_LIST_PARAVISOR: [CpuidLeafInfo; 35] = {
    use CpuidFunction as F;
    [
        CpuidLeafInfo::new(F::EXTENDED_SEV_FEATURES, 0),
        CpuidLeafInfo::new(F::VENDOR_AND_MAX_FUNCTION, 0),
        CpuidLeafInfo::new(F::VERSION_AND_FEATURES, 0),
        CpuidLeafInfo::new(F::EXTENDED_MAX_FUNCTION, 0),
        CpuidLeafInfo::new(F::MONITOR_MWAIT, 0),
        CpuidLeafInfo::new(F::DIRECT_CACHE_ACCESS_PARAMETERS, 0),
        CpuidLeafInfo::new(F::PERFORMANCE_MONITORING, 0),
        CpuidLeafInfo::new(F::EXTENDED_FEATURES, 0),
        CpuidLeafInfo::new(F::EXTENDED_TOPOLOGY_ENUMERATION, 0),
        CpuidLeafInfo::new(F::EXTENDED_TOPOLOGY_ENUMERATION, 1),
        CpuidLeafInfo::new(F::EXTENDED_VERSION_AND_FEATURES, 0),
        CpuidLeafInfo::new(F::EXTENDED_L1_CACHE_PARAMETERS, 0),
        CpuidLeafInfo::new(F::EXTENDED_L2_CACHE_PARAMETERS, 0),
        CpuidLeafInfo::new(F::EXTENDED_POWER_MANAGEMENT, 0),
        CpuidLeafInfo::new(F::EXTENDED_ADDRESS_SPACE_SIZES, 0),
        CpuidLeafInfo::new(F::EXTENDED_SVM_VERSION_AND_FEATURES, 0),
        CpuidLeafInfo::new(F::PROCESSOR_TOPOLOGY_DEFINITION, 0),
        // XSAVE leaves. The original notes these arguably belong in the
        // extended-state page with XFEM = 3; it uses XFEM = 1 (see
        // `create_snp_cpuid_page`).
        CpuidLeafInfo::new(F::EXTENDED_STATE_ENUMERATION, 0),
        CpuidLeafInfo::new(F::EXTENDED_STATE_ENUMERATION, 1),
        CpuidLeafInfo::new(F::EXTENDED_STATE_ENUMERATION, 2),
        CpuidLeafInfo::new(F::EXTENDED_STATE_ENUMERATION, 3),
        CpuidLeafInfo::new(F::EXTENDED_STATE_ENUMERATION, 4),
        CpuidLeafInfo::new(F::EXTENDED_STATE_ENUMERATION, 5),
        CpuidLeafInfo::new(F::EXTENDED_STATE_ENUMERATION, 6),
        CpuidLeafInfo::new(F::EXTENDED_STATE_ENUMERATION, 7),
        CpuidLeafInfo::new(F::EXTENDED_STATE_ENUMERATION, 8),
        CpuidLeafInfo::new(F::EXTENDED_BRANDING_STRING1, 0),
        CpuidLeafInfo::new(F::EXTENDED_BRANDING_STRING2, 0),
        CpuidLeafInfo::new(F::EXTENDED_BRANDING_STRING3, 0),
        CpuidLeafInfo::new(F::EXTENDED_TLB_1GB_IDENTIFIERS, 0),
        CpuidLeafInfo::new(F::EXTENDED_OPTIMIZATION_IDENTIFIERS, 0),
        CpuidLeafInfo::new(F::CACHE_TOPOLOGY_DEFINITION, 0),
        CpuidLeafInfo::new(F::CACHE_TOPOLOGY_DEFINITION, 1),
        CpuidLeafInfo::new(F::CACHE_TOPOLOGY_DEFINITION, 2),
        CpuidLeafInfo::new(F::CACHE_TOPOLOGY_DEFINITION, 3),
    ]
};

const_assert_eq!(SNP_REQUIRED_CPUID_LEAF_LIST_PARAVISOR.len(), 35);
// The list must fit in the page.
static_assertions::const_assert!(
    SNP_REQUIRED_CPUID_LEAF_LIST_PARAVISOR.len() <= HV_PSP_CPUID_LEAF_COUNT_MAX
);

/// XFEM (XCR0) input for the XSAVE leaves: x87 only (1). The original's TODO
/// says XFEM = 3 and the extended-state page would arguably be right; the
/// loader uses 1 and so do we, for identical output.
pub const XSAVE_LEAF_XFEM_IN: u64 = 1;

/// The paravisor's default CPUID page (docs/algorithms.md §6): one leaf per entry
/// of [`SNP_REQUIRED_CPUID_LEAF_LIST_PARAVISOR`], in order, with
/// `xfem_in` = 1 for leaf 0xD and every other field zero; `count` = 35.
pub fn create_snp_cpuid_page() -> HvPspCpuidPage {
    let mut page = HvPspCpuidPage::new_zeroed();
    let mut count: u32 = 0;
    for (slot, info) in page
        .cpuid_leaf_info
        .iter_mut()
        .zip(SNP_REQUIRED_CPUID_LEAF_LIST_PARAVISOR.iter())
    {
        slot.eax_in = info.function.0;
        slot.ecx_in = info.index;
        if info.function == CpuidFunction::EXTENDED_STATE_ENUMERATION {
            slot.xfem_in = XSAVE_LEAF_XFEM_IN;
        }
        // At most 35 iterations (the zip stops at the shorter list).
        count = count.saturating_add(1);
    }
    page.count = count;
    page
}

/// Why a CPUID page was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CpuidPageError {
    /// The byte buffer is shorter than a CPUID page.
    #[error("CPUID page needs {needed} bytes but only {actual} were given")]
    BufferTooSmall {
        /// 3088.
        needed: usize,
        /// Length of the buffer.
        actual: usize,
    },
    /// `count` is above the 64 leaves the page holds.
    #[error("CPUID page count is {count}, above the maximum of {max} leaves")]
    CountTooLarge {
        /// The stored count.
        count: u32,
        /// [`HV_PSP_CPUID_LEAF_COUNT_MAX`].
        max: usize,
    },
    /// A reserved header field is non-zero.
    #[error("CPUID page header field {field} is {value:#x}; it is reserved and must be zero")]
    HeaderReservedNonZero {
        /// `"reserved_z1"` or `"reserved_z2"`.
        field: &'static str,
        /// The stored value.
        value: u64,
    },
    /// A leaf's `reserved_z` is non-zero.
    #[error("CPUID page leaf {index} has reserved_z = {value:#x}; it must be zero")]
    LeafReservedNonZero {
        /// Index of the leaf in the page.
        index: usize,
        /// The stored value.
        value: u64,
    },
}

/// A validated CPUID page.
///
/// Validation (done once by [`new`](Self::new)): the buffer holds at least
/// 3088 bytes, `count` ≤ 64, `reserved_z1` and `reserved_z2` are zero, and
/// `reserved_z` of each of the first `count` leaves is zero. Leaves past
/// `count` are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuidPageReader {
    page: HvPspCpuidPage,
}

impl CpuidPageReader {
    /// Validates the CPUID page at the start of `bytes` (trailing bytes,
    /// such as the rest of the 4 KiB page, are ignored) and keeps a copy.
    pub fn new(bytes: &[u8]) -> Result<Self, CpuidPageError> {
        let (page, _rest) = HvPspCpuidPage::read_from_prefix(bytes).map_err(|_| {
            CpuidPageError::BufferTooSmall {
                needed: size_of::<HvPspCpuidPage>(),
                actual: bytes.len(),
            }
        })?;
        Self::from_page(page)
    }

    /// Validates an already typed page.
    pub fn from_page(page: HvPspCpuidPage) -> Result<Self, CpuidPageError> {
        let too_large = CpuidPageError::CountTooLarge {
            count: page.count,
            max: HV_PSP_CPUID_LEAF_COUNT_MAX,
        };
        let count = usize::try_from(page.count).map_err(|_| too_large)?;
        if count > HV_PSP_CPUID_LEAF_COUNT_MAX {
            return Err(too_large);
        }
        if page.reserved_z1 != 0 {
            return Err(CpuidPageError::HeaderReservedNonZero {
                field: "reserved_z1",
                value: u64::from(page.reserved_z1),
            });
        }
        if page.reserved_z2 != 0 {
            return Err(CpuidPageError::HeaderReservedNonZero {
                field: "reserved_z2",
                value: page.reserved_z2,
            });
        }
        let used = page.cpuid_leaf_info.get(..count).ok_or(too_large)?;
        if let Some((index, leaf)) = used
            .iter()
            .enumerate()
            .find(|(_, leaf)| leaf.reserved_z != 0)
        {
            return Err(CpuidPageError::LeafReservedNonZero {
                index,
                value: leaf.reserved_z,
            });
        }
        Ok(Self { page })
    }

    /// The validated page.
    pub fn page(&self) -> &HvPspCpuidPage {
        &self.page
    }

    /// The first `count` leaves.
    pub fn leaves(&self) -> &[HvPspCpuidLeaf] {
        let count = usize::try_from(self.page.count).unwrap_or(0);
        // `count` ≤ 64 was checked in `from_page`; `get` keeps this total.
        self.page.cpuid_leaf_info.get(..count).unwrap_or(&[])
    }

    /// The first leaf with input `eax` and `ecx`, if any.
    pub fn leaf(&self, eax: u32, ecx: u32) -> Option<&HvPspCpuidLeaf> {
        self.leaves()
            .iter()
            .find(|leaf| leaf.eax_in == eax && leaf.ecx_in == ecx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    /// docs/abi.md §6.3, transcribed: (eax_in, ecx_in, xfem_in) per index.
    const SPEC_TABLE: [(u32, u32, u64); 35] = [
        (0x8000_001F, 0, 0),
        (0x0000_0000, 0, 0),
        (0x0000_0001, 0, 0),
        (0x8000_0000, 0, 0),
        (0x0000_0005, 0, 0),
        (0x0000_0009, 0, 0),
        (0x0000_000A, 0, 0),
        (0x0000_0007, 0, 0),
        (0x0000_000B, 0, 0),
        (0x0000_000B, 1, 0),
        (0x8000_0001, 0, 0),
        (0x8000_0005, 0, 0),
        (0x8000_0006, 0, 0),
        (0x8000_0007, 0, 0),
        (0x8000_0008, 0, 0),
        (0x8000_000A, 0, 0),
        (0x8000_001E, 0, 0),
        (0x0000_000D, 0, 1),
        (0x0000_000D, 1, 1),
        (0x0000_000D, 2, 1),
        (0x0000_000D, 3, 1),
        (0x0000_000D, 4, 1),
        (0x0000_000D, 5, 1),
        (0x0000_000D, 6, 1),
        (0x0000_000D, 7, 1),
        (0x0000_000D, 8, 1),
        (0x8000_0002, 0, 0),
        (0x8000_0003, 0, 0),
        (0x8000_0004, 0, 0),
        (0x8000_0019, 0, 0),
        (0x8000_001A, 0, 0),
        (0x8000_001D, 0, 0),
        (0x8000_001D, 1, 0),
        (0x8000_001D, 2, 0),
        (0x8000_001D, 3, 0),
    ];

    #[test]
    fn cpuid_function_values_match_abi_5() {
        use CpuidFunction as F;
        let table = [
            (F::VENDOR_AND_MAX_FUNCTION, 0x0000_0000),
            (F::VERSION_AND_FEATURES, 0x0000_0001),
            (F::MONITOR_MWAIT, 0x0000_0005),
            (F::EXTENDED_FEATURES, 0x0000_0007),
            (F::DIRECT_CACHE_ACCESS_PARAMETERS, 0x0000_0009),
            (F::PERFORMANCE_MONITORING, 0x0000_000A),
            (F::EXTENDED_TOPOLOGY_ENUMERATION, 0x0000_000B),
            (F::EXTENDED_STATE_ENUMERATION, 0x0000_000D),
            (F::EXTENDED_MAX_FUNCTION, 0x8000_0000),
            (F::EXTENDED_VERSION_AND_FEATURES, 0x8000_0001),
            (F::EXTENDED_BRANDING_STRING1, 0x8000_0002),
            (F::EXTENDED_BRANDING_STRING2, 0x8000_0003),
            (F::EXTENDED_BRANDING_STRING3, 0x8000_0004),
            (F::EXTENDED_L1_CACHE_PARAMETERS, 0x8000_0005),
            (F::EXTENDED_L2_CACHE_PARAMETERS, 0x8000_0006),
            (F::EXTENDED_POWER_MANAGEMENT, 0x8000_0007),
            (F::EXTENDED_ADDRESS_SPACE_SIZES, 0x8000_0008),
            (F::EXTENDED_SVM_VERSION_AND_FEATURES, 0x8000_000A),
            (F::EXTENDED_TLB_1GB_IDENTIFIERS, 0x8000_0019),
            (F::EXTENDED_OPTIMIZATION_IDENTIFIERS, 0x8000_001A),
            (F::CACHE_TOPOLOGY_DEFINITION, 0x8000_001D),
            (F::PROCESSOR_TOPOLOGY_DEFINITION, 0x8000_001E),
            (F::EXTENDED_SEV_FEATURES, 0x8000_001F),
        ];
        for (function, value) in table {
            assert_eq!(function.0, value);
        }
    }

    #[test]
    fn leaf_list_matches_abi_6_3_in_order() {
        assert_eq!(SNP_REQUIRED_CPUID_LEAF_LIST_PARAVISOR.len(), 35);
        for (info, (eax, ecx, _)) in SNP_REQUIRED_CPUID_LEAF_LIST_PARAVISOR
            .iter()
            .zip(SPEC_TABLE)
        {
            assert_eq!((info.function.0, info.index), (eax, ecx));
        }
        // The extended SEV leaf must be first.
        assert_eq!(
            SNP_REQUIRED_CPUID_LEAF_LIST_PARAVISOR[0].function,
            CpuidFunction::EXTENDED_SEV_FEATURES
        );
    }

    #[test]
    fn page_header_is_count_35_and_zero_reserved() {
        let page = create_snp_cpuid_page();
        let bytes = page.as_bytes();
        assert_eq!(bytes.len(), 3088);
        assert_eq!(
            &bytes[0..16],
            &[35, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn entry_i_bytes_sit_at_16_plus_48_i() {
        let page = create_snp_cpuid_page();
        let bytes = page.as_bytes();
        for (i, (eax, ecx, xfem)) in SPEC_TABLE.iter().enumerate() {
            let entry = &bytes[16 + 48 * i..16 + 48 * (i + 1)];
            let mut expected = [0u8; 48];
            expected[0..4].copy_from_slice(&eax.to_le_bytes());
            expected[4..8].copy_from_slice(&ecx.to_le_bytes());
            expected[8..16].copy_from_slice(&xfem.to_le_bytes());
            assert_eq!(entry, &expected, "entry {i}");
        }
        // Entries 35..=63 are zero.
        assert!(bytes[16 + 48 * 35..].iter().all(|&b| b == 0));
        assert_eq!(bytes[16 + 48 * 35..].len(), 29 * 48);
    }

    #[test]
    fn xfem_in_is_1_exactly_for_leaf_0xd() {
        let page = create_snp_cpuid_page();
        for leaf in &page.cpuid_leaf_info[..35] {
            let expected = if leaf.eax_in == 0xD { 1 } else { 0 };
            assert_eq!(
                leaf.xfem_in, expected,
                "leaf {:#x}/{}",
                leaf.eax_in, leaf.ecx_in
            );
        }
        assert_eq!(
            page.cpuid_leaf_info
                .iter()
                .filter(|l| l.xfem_in == 1)
                .count(),
            9
        );
    }

    #[test]
    fn a_few_entries_have_the_spec_bytes() {
        let page = create_snp_cpuid_page();
        let bytes = page.as_bytes();
        // Entry 0: ExtendedSevFeatures 0x8000_001F.
        assert_eq!(&bytes[16..24], &[0x1F, 0x00, 0x00, 0x80, 0, 0, 0, 0]);
        // Entry 17 (offset 16 + 48·17 = 832): leaf 0xD subleaf 0, xfem 1.
        assert_eq!(
            &bytes[832..848],
            &[0x0D, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
        );
        // Entry 34 (offset 16 + 48·34 = 1648): 0x8000_001D subleaf 3.
        assert_eq!(&bytes[1648..1656], &[0x1D, 0x00, 0x00, 0x80, 3, 0, 0, 0]);
    }

    #[test]
    fn page_sha256_matches_the_golden_snp_summary() {
        // tests/golden/summaries/x64-snp46-nobase-64m-uefi.summary.json:
        // "underhill-snp-cpuid-page", one page = 3088 data bytes + 1008 zeros.
        let page = create_snp_cpuid_page();
        let mut full = [0u8; 4096];
        full[..3088].copy_from_slice(page.as_bytes());
        let digest = sha2::Sha256::digest(full);
        let hex: std::string::String = digest.iter().map(|b| std::format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "38503e1e56147cd71f851abcb336dcccdc085f8a992ca2d560011ccd0f9a5d43"
        );
    }

    #[test]
    fn reader_finds_every_requested_leaf() {
        let page = create_snp_cpuid_page();
        let reader = CpuidPageReader::new(page.as_bytes()).unwrap();
        assert_eq!(reader.leaves().len(), 35);
        for (eax, ecx, xfem) in SPEC_TABLE {
            let leaf = reader.leaf(eax, ecx).unwrap();
            assert_eq!((leaf.eax_in, leaf.ecx_in, leaf.xfem_in), (eax, ecx, xfem));
        }
        assert_eq!(reader.leaf(0xD, 9), None);
        assert_eq!(reader.leaf(0x8000_001D, 4), None);
        assert_eq!(reader.page(), &page);
    }

    #[test]
    fn reader_ignores_leaves_past_count() {
        let mut page = create_snp_cpuid_page();
        page.count = 2;
        page.cpuid_leaf_info[5].reserved_z = 7;
        let reader = CpuidPageReader::from_page(page).unwrap();
        assert_eq!(reader.leaves().len(), 2);
        // Entries 0 and 1 are 0x8000_001F and 0x0; entry 2 (0x1) is past count.
        assert!(reader.leaf(0x8000_001F, 0).is_some());
        assert!(reader.leaf(0x0, 0).is_some());
        assert!(reader.leaf(0x1, 0).is_none());
    }

    #[test]
    fn reader_rejects_bad_pages() {
        let good = create_snp_cpuid_page();
        assert_eq!(
            CpuidPageReader::new(&good.as_bytes()[..3087]),
            Err(CpuidPageError::BufferTooSmall {
                needed: 3088,
                actual: 3087
            })
        );
        let mut page = good.clone();
        page.count = 65;
        assert_eq!(
            CpuidPageReader::from_page(page),
            Err(CpuidPageError::CountTooLarge { count: 65, max: 64 })
        );
        let mut page = good.clone();
        page.count = 64;
        assert!(CpuidPageReader::from_page(page).is_ok());
        let mut page = good.clone();
        page.reserved_z1 = 1;
        assert_eq!(
            CpuidPageReader::from_page(page),
            Err(CpuidPageError::HeaderReservedNonZero {
                field: "reserved_z1",
                value: 1
            })
        );
        let mut page = good.clone();
        page.reserved_z2 = 1 << 63;
        assert_eq!(
            CpuidPageReader::from_page(page),
            Err(CpuidPageError::HeaderReservedNonZero {
                field: "reserved_z2",
                value: 1 << 63
            })
        );
        let mut page = good.clone();
        page.cpuid_leaf_info[34].reserved_z = 2;
        assert_eq!(
            CpuidPageReader::from_page(page),
            Err(CpuidPageError::LeafReservedNonZero {
                index: 34,
                value: 2
            })
        );
    }

    proptest::proptest! {
        #[test]
        fn reader_never_panics_on_random_bytes(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..4200)
        ) {
            if let Ok(reader) = CpuidPageReader::new(&bytes) {
                proptest::prop_assert!(reader.leaves().len() <= 64);
                let _ = reader.leaf(0xD, 0);
            }
        }

        #[test]
        fn reader_never_panics_on_mutated_pages(
            count: u32,
            offset in 0usize..3088,
            value: u8,
            eax: u32,
            ecx: u32,
        ) {
            let mut page = create_snp_cpuid_page();
            page.count = count % 80;
            let mut bytes = [0u8; 3088];
            bytes.copy_from_slice(page.as_bytes());
            bytes[offset] = value;
            if let Ok(reader) = CpuidPageReader::new(&bytes) {
                proptest::prop_assert!(reader.page().count <= 64);
                if let Some(leaf) = reader.leaf(eax, ecx) {
                    proptest::prop_assert_eq!((leaf.eax_in, leaf.ecx_in), (eax, ecx));
                }
            }
        }
    }
}

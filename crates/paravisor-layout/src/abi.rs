//! The OpenHCL loader ABI profiles (docs/abi-versions.md): which upstream
//! loader's output an image must equal, and the facts in which the profiles
//! differ, as data.
//!
//! The loader is byte-identical to OpenVMM 95f63b08 by default; every
//! OpenHCL release since was built by a later loader that writes a different
//! image for the same inputs. [`Abi`] names the four profiles; [`AbiFacts`]
//! is the one table saying what changed (docs/abi-versions.md §1, groups
//! G1–G6). The crates that own each mechanism turn a fact into behaviour:
//! the shim-parameter layout ([`ShimParamsLayout`]) and the config-region
//! size live here, the x86-64 leaf policy in `x86-pagetables`, the AArch64
//! placement and the TDX map size in the loader's plan.

use crate::HV_PAGE_SIZE;
use crate::PARAVISOR_VTL2_CONFIG_REGION_PAGE_COUNT_MAX;

/// An OpenHCL loader ABI profile: the upstream OpenVMM loader whose importer
/// calls a load must reproduce byte for byte (docs/abi-versions.md §1).
///
/// `Copy`, no allocation; parsed from and printed as the manifest's `"abi"`
/// names. The default is [`Abi::Seed95f63b08`].
///
/// ```
/// use paravisor_layout::Abi;
///
/// let abi: Abi = "release-1.8.2607".parse()?;
/// assert_eq!(abi, Abi::Release1_8_2607);
/// assert_eq!(abi.to_string(), "release-1.8.2607");
/// assert_eq!(Abi::default(), Abi::Seed95f63b08);
/// assert_eq!(Abi::ALL.len(), 4);
/// assert!("release-1.9".parse::<Abi>().is_err());
/// # Ok::<(), paravisor_layout::UnknownAbi>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum Abi {
    /// `seed-95f63b08`: OpenVMM 95f63b08 (2025-11-17), the default.
    #[default]
    Seed95f63b08,
    /// `release-1.7.2511`: OpenVMM release/1.7.2511 head 80e2e8ab (2026-07-28).
    Release1_7_2511,
    /// `release-1.8.2607`: OpenVMM release/1.8.2607 head c06eda8a (2026-08-21).
    Release1_8_2607,
    /// `main-1488a37b`: OpenVMM main at 1488a37b (2026-08-21).
    Main1488a37b,
}

/// A name that is not one of [`Abi::ALL`]'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown abi profile (known: seed-95f63b08, release-1.7.2511, release-1.8.2607, main-1488a37b)"
)]
pub struct UnknownAbi;

impl Abi {
    /// Every profile, oldest first (the list `--version` prints).
    pub const ALL: [Self; 4] = [
        Self::Seed95f63b08,
        Self::Release1_7_2511,
        Self::Release1_8_2607,
        Self::Main1488a37b,
    ];

    /// The profile's name, as the manifest's `"abi"` field spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Seed95f63b08 => "seed-95f63b08",
            Self::Release1_7_2511 => "release-1.7.2511",
            Self::Release1_8_2607 => "release-1.8.2607",
            Self::Main1488a37b => "main-1488a37b",
        }
    }

    /// The profile named `name` (exact match), if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|abi| abi.name() == name)
    }

    /// The OpenVMM commit whose loader this profile reproduces.
    pub const fn upstream_commit(self) -> &'static str {
        match self {
            Self::Seed95f63b08 => "95f63b081007752feb24c33a92cb6074bd72a9b5",
            Self::Release1_7_2511 => "80e2e8ab45067883530ff44e3a1d206ae0fea8ee",
            Self::Release1_8_2607 => "c06eda8aa83e8e813664e84e053c1fe1e7152189",
            Self::Main1488a37b => "1488a37b7cfe596c8fd72bbf7d2bb3af3f99aea6",
        }
    }

    /// Where that commit lives upstream (branch head or commit).
    pub const fn upstream_ref(self) -> &'static str {
        match self {
            Self::Seed95f63b08 => "main at 95f63b08 (2025-11-17)",
            Self::Release1_7_2511 => "release/1.7.2511 head (2026-07-28)",
            Self::Release1_8_2607 => "release/1.8.2607 head (2026-08-21)",
            Self::Main1488a37b => "main at 1488a37b (2026-08-21)",
        }
    }

    /// What this profile's loader does differently from the seed.
    pub const fn facts(self) -> AbiFacts {
        match self {
            Self::Seed95f63b08 => AbiFacts::SEED,
            Self::Release1_7_2511 => AbiFacts::RELEASE_1_7_2511,
            Self::Release1_8_2607 => AbiFacts::RELEASE_1_8_2607,
            Self::Main1488a37b => AbiFacts::MAIN_1488A37B,
        }
    }
}

impl core::fmt::Display for Abi {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

impl core::str::FromStr for Abi {
    type Err = UnknownAbi;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_name(s).ok_or(UnknownAbi)
    }
}

/// The layout of the shim-parameter structure (docs/abi-versions.md §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShimParamsLayout {
    /// 208 bytes with `page_tables_start` / `page_tables_size` at 144 / 152
    /// ([`ShimParamsRaw`](crate::ShimParamsRaw); the seed).
    WithPageTables,
    /// 192 bytes without the two page-table fields
    /// ([`ShimParamsRawNoPageTables`](crate::ShimParamsRawNoPageTables);
    /// release/1.7.2511 and later, group G1).
    WithoutPageTables,
}

/// The measured area of expected page hashes that `main-1488a37b` adds to the
/// VTL2 config region (docs/abi-versions.md §3.3, group G6). Nothing is
/// imported there; the loader announces its first page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageHashesArea {
    /// Page index inside the config (parameter) region: 106.
    pub page_index: u64,
    /// Pages: 256.
    pub page_count: u64,
}

/// Page index of main's expected-page-hashes area in the config region
/// (`PARAVISOR_MEASURED_VTL2_CONFIG_PAGE_HASHES_PAGE_INDEX`): right after the
/// measured config, 105 + 1.
pub const PARAVISOR_MEASURED_VTL2_CONFIG_PAGE_HASHES_PAGE_INDEX: u64 =
    crate::PARAVISOR_MEASURED_VTL2_CONFIG_PAGE_INDEX
        + crate::PARAVISOR_MEASURED_VTL2_CONFIG_SIZE_PAGES;
/// Pages of main's expected-page-hashes area
/// (`PARAVISOR_MEASURED_VTL2_CONFIG_PAGE_HASHES_SIZE_PAGES`).
pub const PARAVISOR_MEASURED_VTL2_CONFIG_PAGE_HASHES_SIZE_PAGES: u64 = 256;
/// Most expected page hashes main's area holds (`EXPECTED_PAGE_HASH_MAX_COUNT`:
/// 256 pages of 48-byte entries).
pub const EXPECTED_PAGE_HASH_MAX_COUNT: u64 =
    PARAVISOR_MEASURED_VTL2_CONFIG_PAGE_HASHES_SIZE_PAGES * HV_PAGE_SIZE / 48;

/// Everything in which a profile's loader differs from the seed's, one field
/// per difference group of docs/abi-versions.md §2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AbiFacts {
    /// G1: the shim-parameter layout.
    pub shim_params: ShimParamsLayout,
    /// G2: the x86-64 TDX identity map covers 3 GiB from the VTL2 base
    /// (seed) instead of VTL2 memory only.
    pub x64_tdx_maps_3_gib: bool,
    /// G3: the x86-64 page tables come from the sorted-ranges builder with
    /// the largest aligned leaf (1 GiB / 2 MiB / 4 KiB) and at most 20 tables,
    /// instead of the seed's 2 MiB-only builder.
    pub x64_largest_leaves: bool,
    /// G5: AArch64 without an initrd places the boot shim right after the
    /// kernel (`K + image size`; no initrd, no 2 MiB alignment).
    pub arm64_shim_follows_kernel_without_initrd: bool,
    /// G6: the expected-page-hashes area after the measured config.
    pub page_hashes: Option<PageHashesArea>,
    /// G6 (`4e6726821`): the measured VTL2 config is
    /// [`ParavisorMeasuredVtl2ConfigWithPolicy`](crate::ParavisorMeasuredVtl2ConfigWithPolicy),
    /// imported as a whole zero-padded page (same page bytes without a
    /// product policy).
    pub vtl2_config_with_policy: bool,
}

impl AbiFacts {
    /// `seed-95f63b08`.
    pub const SEED: Self = Self {
        shim_params: ShimParamsLayout::WithPageTables,
        x64_tdx_maps_3_gib: true,
        x64_largest_leaves: false,
        arm64_shim_follows_kernel_without_initrd: false,
        page_hashes: None,
        vtl2_config_with_policy: false,
    };
    /// `release-1.7.2511`: G1, G2, G3.
    pub const RELEASE_1_7_2511: Self = Self {
        shim_params: ShimParamsLayout::WithoutPageTables,
        x64_tdx_maps_3_gib: false,
        x64_largest_leaves: true,
        ..Self::SEED
    };
    /// `release-1.8.2607`: as 1.7.2511, plus G4 (ELF checks this crate's
    /// loader already makes) and G5.
    pub const RELEASE_1_8_2607: Self = Self {
        arm64_shim_follows_kernel_without_initrd: true,
        ..Self::RELEASE_1_7_2511
    };
    /// `main-1488a37b`: as 1.8.2607, plus G6.
    pub const MAIN_1488A37B: Self = Self {
        page_hashes: Some(PageHashesArea {
            page_index: PARAVISOR_MEASURED_VTL2_CONFIG_PAGE_HASHES_PAGE_INDEX,
            page_count: PARAVISOR_MEASURED_VTL2_CONFIG_PAGE_HASHES_SIZE_PAGES,
        }),
        vtl2_config_with_policy: true,
        ..Self::RELEASE_1_8_2607
    };

    /// Pages of the VTL2 config (parameter) region
    /// (`PARAVISOR_VTL2_CONFIG_REGION_PAGE_COUNT_MAX`): 106, or 362 with the
    /// page-hashes area.
    pub const fn config_region_page_count(&self) -> u64 {
        match self.page_hashes {
            Some(area) => {
                PARAVISOR_VTL2_CONFIG_REGION_PAGE_COUNT_MAX.saturating_add(area.page_count)
            }
            None => PARAVISOR_VTL2_CONFIG_REGION_PAGE_COUNT_MAX,
        }
    }

    /// Size of the VTL2 config region in bytes (0x6A000 or 0x16A000).
    pub const fn config_region_size(&self) -> u64 {
        self.config_region_page_count().saturating_mul(HV_PAGE_SIZE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn names_round_trip_and_are_the_manifest_spellings() {
        let names: std::vec::Vec<&str> = Abi::ALL.iter().map(|a| a.name()).collect();
        assert_eq!(
            names,
            [
                "seed-95f63b08",
                "release-1.7.2511",
                "release-1.8.2607",
                "main-1488a37b"
            ]
        );
        for abi in Abi::ALL {
            assert_eq!(abi.name().parse::<Abi>(), Ok(abi));
            assert_eq!(abi.to_string(), abi.name());
            assert_eq!(abi.upstream_commit().len(), 40);
        }
        assert!(Abi::Seed95f63b08.upstream_commit().starts_with("95f63b08"));
        assert!(
            Abi::Release1_7_2511
                .upstream_commit()
                .starts_with("80e2e8ab")
        );
        assert!(
            Abi::Release1_8_2607
                .upstream_commit()
                .starts_with("c06eda8a")
        );
        assert!(Abi::Main1488a37b.upstream_commit().starts_with("1488a37b"));
        assert_eq!("".parse::<Abi>(), Err(UnknownAbi));
        assert_eq!("Seed-95f63b08".parse::<Abi>(), Err(UnknownAbi));
        assert_eq!(Abi::default(), Abi::Seed95f63b08);
    }

    #[test]
    fn config_region_sizes_match_abi_versions_3_3() {
        let pages: std::vec::Vec<u64> = Abi::ALL
            .iter()
            .map(|a| a.facts().config_region_page_count())
            .collect();
        assert_eq!(pages, [106, 106, 106, 362]);
        assert_eq!(Abi::Seed95f63b08.facts().config_region_size(), 0x6A000);
        assert_eq!(Abi::Main1488a37b.facts().config_region_size(), 0x16A000);
        assert_eq!(PARAVISOR_MEASURED_VTL2_CONFIG_PAGE_HASHES_PAGE_INDEX, 106);
        assert_eq!(EXPECTED_PAGE_HASH_MAX_COUNT, 21845);
    }

    #[test]
    fn difference_groups_per_version_match_abi_versions_2() {
        use ShimParamsLayout::*;
        let row = |a: Abi| {
            let f = a.facts();
            (
                f.shim_params,
                f.x64_tdx_maps_3_gib,
                f.x64_largest_leaves,
                f.arm64_shim_follows_kernel_without_initrd,
                f.page_hashes.is_some(),
            )
        };
        assert_eq!(
            row(Abi::Seed95f63b08),
            (WithPageTables, true, false, false, false)
        );
        assert_eq!(
            row(Abi::Release1_7_2511),
            (WithoutPageTables, false, true, false, false)
        );
        assert_eq!(
            row(Abi::Release1_8_2607),
            (WithoutPageTables, false, true, true, false)
        );
        assert_eq!(
            row(Abi::Main1488a37b),
            (WithoutPageTables, false, true, true, true)
        );
    }
}

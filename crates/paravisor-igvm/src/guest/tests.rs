//! Unit tests of the guest builder.

use super::*;
use crate::error::IgvmError;
use crate::vp_context::VMSA_SIZE;
use elf_static_loader::PageAcceptance;
use igvm::IgvmDirectiveHeader;
use igvm::IgvmInitializationHeader;
use igvm::IgvmPlatformHeader;
use igvm::registers::X86Register;
use igvm_defs::IgvmPlatformType;
use paravisor_loader::PageTableRelocation;
use paravisor_loader::ParameterType;
use paravisor_loader::RelocationRegion;
use paravisor_loader::StartupMemoryType;
use sha2::Digest;
use sha2::Sha384;

/// A relocation region applying the RIP and GDTR offsets for VP 0.
fn region(
    gpa: u64,
    size_bytes: u64,
    alignment: u64,
    minimum_gpa: u64,
    maximum_gpa: u64,
) -> RelocationRegion {
    RelocationRegion {
        gpa,
        size_bytes,
        alignment,
        minimum_gpa,
        maximum_gpa,
        apply_rip_offset: true,
        apply_gdtr_offset: true,
        vp_index: 0,
    }
}

/// A page-table relocation region for VP 0.
fn tables(gpa: u64, size_pages: u64, used_pages: u64) -> PageTableRelocation {
    PageTableRelocation {
        gpa,
        size_pages,
        used_pages,
        vp_index: 0,
    }
}

fn vbs() -> GuestBuilder {
    GuestBuilder::new(GuestSettings {
        arch: GuestArch::X64,
        isolation: GuestIsolation::Vbs {
            enable_debug: false,
        },
        max_vtl: 2,
        guest_svn: 1,
    })
    .unwrap()
}

fn snp(bits: Option<u8>, debug: bool) -> Result<GuestBuilder, IgvmError> {
    GuestBuilder::new(GuestSettings {
        arch: GuestArch::X64,
        isolation: GuestIsolation::Snp {
            shared_gpa_boundary_bits: bits,
            policy: 0x3001F,
            enable_debug: debug,
            injection_type: InjectionType::Normal,
        },
        max_vtl: 2,
        guest_svn: 1,
    })
}

const EX: PageAcceptance = PageAcceptance::Exclusive;

#[test]
fn snp_policy_debug_bit_follows_enable_debug() {
    // docs/igvm.md §3.2: 0x3001F → 0x3001F (debug false) / 0xB001F (true).
    for (debug, policy) in [(false, 0x3001F), (true, 0xB001F)] {
        let out = snp(Some(46), debug).unwrap().finish().unwrap();
        assert_eq!(
            out.initialization,
            vec![IgvmInitializationHeader::GuestPolicy {
                policy,
                compatibility_mask: 1
            }]
        );
        let IgvmPlatformHeader::SupportedPlatform(p) = out.platform;
        assert_eq!(p.shared_gpa_boundary, 1 << 46);
        assert_eq!(p.platform_type, IgvmPlatformType::SEV_SNP);
        assert_eq!(out.measurement.unwrap().debug, debug);
    }
    assert!(matches!(
        snp(None, false),
        Err(IgvmError::SnpSharedGpaBoundaryMissing { .. })
    ));
}

#[test]
fn tdx_policy_header_only_when_non_zero() {
    // §3.2: bit 0 enable_debug, bit 1 sept_ve_disable; none when 0.
    for (debug, sept, expected) in [
        (false, true, Some(2)),
        (true, false, Some(1)),
        (false, false, None),
    ] {
        let g = GuestBuilder::new(GuestSettings {
            arch: GuestArch::X64,
            isolation: GuestIsolation::Tdx {
                enable_debug: debug,
                sept_ve_disable: sept,
            },
            max_vtl: 2,
            guest_svn: 1,
        })
        .unwrap();
        let out = g.finish().unwrap();
        let policies: Vec<u64> = out
            .initialization
            .iter()
            .filter_map(|h| match h {
                IgvmInitializationHeader::GuestPolicy { policy, .. } => Some(*policy),
                _ => None,
            })
            .collect();
        assert_eq!(policies, expected.into_iter().collect::<Vec<_>>());
        // The reset page is always imported at GPA 0xFFFFF000 (§5 step 1).
        assert!(out.directives.iter().any(|d| matches!(
            d,
            IgvmDirectiveHeader::PageData {
                gpa: 0xFFFF_F000,
                ..
            }
        )));
    }
}

#[test]
fn overlapping_imports_and_areas_are_errors() {
    let mut g = vbs();
    g.import_pages(0x100, 4, "a", EX, &[]).unwrap();
    assert!(matches!(
        g.import_pages(0x103, 1, "b", EX, &[]),
        Err(IgvmError::Overlap {
            other_base: 0x100,
            other_end: 0x104,
            ..
        })
    ));
    assert!(matches!(
        g.create_parameter_area(0xFF, 2, "p", &[]),
        Err(IgvmError::Overlap { .. })
    ));
    g.import_pages(0x104, 1, "c", EX, &[]).unwrap();
    g.import_pages(0xFF, 1, "d", EX, &[]).unwrap();
}

#[test]
fn pages_past_the_data_carry_empty_data() {
    // §4.1 step 4: a short data fills the first pages; the rest are empty.
    let mut g = vbs();
    g.import_pages(0x10, 3, "k", EX, &[7u8; 5000]).unwrap();
    let out = g.finish().unwrap();
    let lens: Vec<(u64, usize)> = out
        .directives
        .iter()
        .filter_map(|d| match d {
            IgvmDirectiveHeader::PageData { gpa, data, .. } => Some((*gpa, data.len())),
            _ => None,
        })
        .collect();
    assert_eq!(lens, vec![(0x10000, 4096), (0x11000, 904), (0x12000, 0)]);
}

#[test]
fn bad_import_calls_are_errors_not_panics() {
    let mut g = vbs();
    assert!(matches!(
        g.import_pages(1, 1, "big", EX, &[0; 4097]),
        Err(IgvmError::DataTooLarge { len: 4097, .. })
    ));
    assert!(g.import_pages(1, 0, "zero", EX, &[1]).is_err());
    g.import_pages(1, 0, "zero", EX, &[]).unwrap();
    assert!(matches!(
        g.import_pages(2, 1, "e", PageAcceptance::ErrorPage, &[]),
        Err(IgvmError::Acceptance { .. })
    ));
    assert!(matches!(
        g.import_pages(2, 1, "v", PageAcceptance::VpContext, &[0; VMSA_SIZE]),
        Err(IgvmError::Acceptance { .. })
    ));
    assert!(g.import_pages(u64::MAX, 2, "wrap", EX, &[]).is_err());
    assert!(g.import_pages(1 << 52, 1, "high", EX, &[]).is_err());
    assert!(matches!(
        g.import_parameter(0, 0, ParameterType::Slit),
        Err(IgvmError::UnknownParameterArea { index: 0 })
    ));
    assert!(matches!(
        g.set_vp_context_page(3),
        Err(IgvmError::VpContextPage { .. })
    ));
    g.import_x64_register(X86Register::Rip(1)).unwrap();
    assert!(matches!(
        g.import_x64_register(X86Register::Rip(2)),
        Err(IgvmError::DuplicateRegister { .. })
    ));
    // VTL2 memory of 4 GiB (§4.5, §12).
    assert!(matches!(
        g.verify_startup_memory_available(0x8000, 0x10_0000, StartupMemoryType::Ram),
        Err(IgvmError::RequiredMemoryTooLarge { .. })
    ));
    g.verify_startup_memory_available(0x8000, 0xF_FFFF, StartupMemoryType::Ram)
        .unwrap();
}

#[test]
fn relocation_records_are_checked_like_igvmfilegen() {
    // §4.7 and §4.8.
    let mut g = vbs();
    assert!(
        g.relocation_region(region(0x20_0000, 0x1001, 0x20_0000, 0, 0))
            .is_err()
    );
    assert!(
        g.relocation_region(region(0x20_0000, 0x1000, 0x800, 0, 0))
            .is_err()
    );
    assert!(
        g.relocation_region(region(0x20_1000, 0x1000, 0x20_0000, 0, 0))
            .is_err()
    );
    g.relocation_region(region(
        0x20_0000,
        0x10_0000,
        0x20_0000,
        0x20_0000,
        0x4000_0000,
    ))
    .unwrap();
    assert!(g.page_table_relocation(tables(0x28_0000, 2, 1)).is_err()); // overlaps
    assert!(g.page_table_relocation(tables(0x40_0000, 1, 2)).is_err()); // used > size
    g.page_table_relocation(tables(0x40_0000, 4, 2)).unwrap();
    assert!(g.page_table_relocation(tables(0x50_0000, 4, 2)).is_err()); // second call
}

#[test]
fn at_most_168_imported_region_descriptors_fit() {
    // §5.1: 48 + 24 × n ≤ 4096, the page's own descriptor included.
    for (ranges, ok) in [(167u64, true), (168, false)] {
        let mut g = vbs();
        for i in 0..ranges {
            g.import_pages(0x1000 + 2 * i, 1, "r", EX, &[]).unwrap();
        }
        g.set_imported_regions_config_page(0x10);
        let r = g.finish();
        assert_eq!(r.is_ok(), ok, "{ranges} ranges");
        if !ok {
            assert!(matches!(
                r,
                Err(IgvmError::TooManyImportedRegions { count: 169, .. })
            ));
        }
    }
}

#[test]
fn imported_regions_page_lists_every_call_and_hashes_shared_pages() {
    // §5.1: one descriptor per call (adjacent calls not merged), shared
    // ranges not accepted, SHA-384 over the shared NORMAL pages.
    let mut g = vbs();
    g.import_pages(0x20, 1, "a", PageAcceptance::Shared, b"xyz")
        .unwrap();
    g.import_pages(0x21, 1, "a", PageAcceptance::Shared, &[])
        .unwrap();
    g.create_parameter_area(0x30, 2, "p", &[]).unwrap();
    g.set_imported_regions_config_page(0x10);
    let out = g.finish().unwrap();
    let Some(IgvmDirectiveHeader::PageData {
        gpa: 0x10000, data, ..
    }) = out.directives.last()
    else {
        panic!("imported-regions page is not last");
    };
    let mut shared = vec![0u8; 8192];
    shared[..3].copy_from_slice(b"xyz");
    assert_eq!(&data[..48], &Sha384::digest(&shared)[..]);
    let d: Vec<(u64, u64, u8)> = data[48..]
        .chunks_exact(24)
        .map(|c| {
            (
                u64::from_le_bytes(c[0..8].try_into().unwrap()),
                u64::from_le_bytes(c[8..16].try_into().unwrap()),
                c[16],
            )
        })
        .collect();
    assert_eq!(
        d,
        vec![(0x10, 1, 1), (0x20, 1, 0), (0x21, 1, 0), (0x30, 2, 1)]
    );
    // Parameter insert precedes the page data (§5 order).
    let insert = out
        .directives
        .iter()
        .position(|d| matches!(d, IgvmDirectiveHeader::ParameterInsert(_)))
        .unwrap();
    let first_page = out
        .directives
        .iter()
        .position(|d| matches!(d, IgvmDirectiveHeader::PageData { .. }))
        .unwrap();
    assert!(insert < first_page);
}

#[test]
fn unsupported_platform_combinations_are_errors() {
    let settings = |arch, isolation, max_vtl| GuestSettings {
        arch,
        isolation,
        max_vtl,
        guest_svn: 0,
    };
    let tdx = GuestIsolation::Tdx {
        enable_debug: false,
        sept_ve_disable: false,
    };
    assert!(matches!(
        GuestBuilder::new(settings(GuestArch::Aarch64, tdx, 2)),
        Err(IgvmError::IsolationArch { .. })
    ));
    assert!(GuestBuilder::new(settings(GuestArch::X64, tdx, 0)).is_err());
    assert!(matches!(
        GuestBuilder::new(settings(GuestArch::X64, GuestIsolation::None, 1)),
        Err(IgvmError::MaxVtl { max_vtl: 1, .. })
    ));
}

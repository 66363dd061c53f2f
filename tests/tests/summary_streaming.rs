//! The streaming summary importer (`SummaryImporter::streaming`, used by
//! `LoadManifest::summarize` and so by `paravisor summary`) gives the same
//! summary as the copying one (`SummaryImporter::new`) whenever it does not
//! ask for a replay, and never asks for one when imports arrive in page
//! order (docs/formats.md §2: runs merge adjacent imports with the same tag and
//! acceptance, hashed over the zero-padded pages).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use paravisor_host::Arch;
use paravisor_host::summary::SummaryImporter;
use paravisor_loader::ImportPages;
use paravisor_loader::IsolationConfig;
use paravisor_loader::IsolationType;
use paravisor_loader::PageAcceptance;
use proptest::prelude::*;

/// One import: page base, page count, tag, acceptance, data.
type Import = (u64, u64, &'static str, PageAcceptance, Vec<u8>);

fn iso() -> IsolationConfig {
    IsolationConfig {
        isolation_type: IsolationType::None,
        paravisor_present: true,
        shared_gpa_boundary_bits: None,
    }
}

fn run(mut importer: SummaryImporter, imports: &[Import]) -> (SummaryImporter, usize) {
    for (base, count, tag, acceptance, data) in imports {
        importer
            .import_pages(*base, *count, tag, *acceptance, data)
            .unwrap();
    }
    (importer, imports.len())
}

/// Disjoint imports in ascending page order: each block starts 0–2 pages
/// after the previous one ends.
fn blocks() -> impl Strategy<Value = Vec<Import>> {
    prop::collection::vec(
        (
            0u64..3,
            1u64..4,
            prop::bool::ANY,
            prop::bool::ANY,
            0usize..=3 * 4096,
            any::<u8>(),
        ),
        1..12,
    )
    .prop_map(|specs| {
        let mut next = 0x100u64;
        specs
            .into_iter()
            .map(|(gap, count, tag_b, shared, len, seed)| {
                let base = next + gap;
                next = base + count;
                let len = len.min(count as usize * 4096);
                let data = (0..len)
                    .map(|i| (i as u8).wrapping_mul(seed | 1).wrapping_add(seed))
                    .collect();
                let tag = if tag_b { "b" } else { "a" };
                let acceptance = if shared {
                    PageAcceptance::Shared
                } else {
                    PageAcceptance::Exclusive
                };
                (base, count, tag, acceptance, data)
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn in_page_order_streaming_equals_copying(imports in blocks()) {
        let (copying, _) = run(SummaryImporter::new(Arch::X86_64, iso()), &imports);
        let (streaming, _) = run(SummaryImporter::streaming(Arch::X86_64, iso()), &imports);
        prop_assert!(!streaming.needs_replay());
        prop_assert_eq!(
            streaming.finish(Ok::<(), String>(())).to_json(),
            copying.finish(Ok::<(), String>(())).to_json()
        );
    }

    #[test]
    fn in_any_order_streaming_equals_copying_or_asks_for_a_replay(
        imports in blocks().prop_shuffle()
    ) {
        let (copying, _) = run(SummaryImporter::new(Arch::X86_64, iso()), &imports);
        let (streaming, _) = run(SummaryImporter::streaming(Arch::X86_64, iso()), &imports);
        let expected = copying.finish(Ok::<(), String>(())).to_json();
        prop_assert_eq!(expected["ok"].as_bool(), Some(true));
        if streaming.needs_replay() {
            // Refused, never a wrong hash.
            let refused = streaming.finish(Ok::<(), String>(()));
            prop_assert!(refused.error.is_some());
        } else {
            prop_assert_eq!(streaming.finish(Ok::<(), String>(())).to_json(), expected);
        }
    }
}

#[test]
fn a_run_imported_back_to_front_asks_for_a_replay() {
    let first: Import = (0x10, 1, "k", PageAcceptance::Exclusive, vec![1; 10]);
    let second: Import = (0x11, 1, "k", PageAcceptance::Exclusive, vec![2; 10]);
    let (streaming, _) = run(
        SummaryImporter::streaming(Arch::X86_64, iso()),
        &[second.clone(), first.clone()],
    );
    assert!(streaming.needs_replay());
    let (copying, _) = run(SummaryImporter::new(Arch::X86_64, iso()), &[second, first]);
    assert!(!copying.needs_replay());
    let summary = copying.finish(Ok::<(), String>(())).to_json();
    // One run of two pages (docs/formats.md §2).
    assert_eq!(summary["pages"].as_array().unwrap().len(), 1);
    assert_eq!(summary["pages"][0]["page_count"], 2);
}

#[test]
fn overlapping_imports_fail_in_both_modes() {
    let a: Import = (0x10, 2, "k", PageAcceptance::Exclusive, vec![]);
    let b: Import = (0x11, 2, "s", PageAcceptance::Exclusive, vec![]);
    for importer in [
        SummaryImporter::new(Arch::X86_64, iso()),
        SummaryImporter::streaming(Arch::X86_64, iso()),
    ] {
        let (importer, _) = run(importer, &[a.clone(), b.clone()]);
        let summary = importer.finish(Ok::<(), String>(()));
        assert!(summary.error.unwrap().contains("overlap"));
    }
}

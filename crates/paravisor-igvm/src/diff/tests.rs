//! Each group of the diff on images built in memory with one difference.

use super::vp::debug_leaves;
use super::*;
use crate::build::assemble;
use crate::guest::GuestArch;
use crate::guest::GuestBuilder;
use crate::guest::GuestIsolation;
use crate::guest::GuestSettings;
use crate::guest::InjectionType;
use crate::measure::MeasuredPlatform;
use elf_static_loader::PageAcceptance;
use igvm::registers::X86Register;
use paravisor_loader::ParameterType;
use paravisor_loader::RelocationRegion;

const EX: PageAcceptance = PageAcceptance::Exclusive;
const VBS: GuestIsolation = GuestIsolation::Vbs {
    enable_debug: false,
};

fn snp(policy: u64) -> GuestIsolation {
    GuestIsolation::Snp {
        shared_gpa_boundary_bits: Some(46),
        policy,
        enable_debug: false,
        injection_type: InjectionType::Normal,
    }
}

/// An image of one guest: `edit` adds to a base of two pages at 0x100000
/// ("hello", "world") and RIP / CR3.
fn image(isolation: GuestIsolation, edit: impl FnOnce(&mut GuestBuilder)) -> Image {
    let mut g = GuestBuilder::new(GuestSettings {
        arch: GuestArch::X64,
        isolation,
        max_vtl: 2,
        guest_svn: 1,
    })
    .unwrap();
    edit(&mut g);
    let out = g.finish().unwrap();
    let build = assemble(GuestArch::X64, vec![out]).unwrap();
    Image::from_igvm(&build.file_bytes).unwrap()
}

fn base(g: &mut GuestBuilder) {
    g.import_pages(0x100, 1, "kernel", EX, b"hello").unwrap();
    g.import_pages(0x101, 1, "kernel", EX, b"world").unwrap();
    g.import_x64_register(X86Register::Rip(0x10_0000)).unwrap();
    g.import_x64_register(X86Register::Cr3(0x20_0000)).unwrap();
}

fn only(d: &Diff, group: Group) -> Vec<&Difference> {
    d.differences.iter().filter(|x| x.group == group).collect()
}

#[test]
fn identical_images_have_no_difference_and_the_same_measurement() {
    let d = diff(&image(VBS, base), &image(VBS, base));
    assert!(d.is_identical(), "{d}");
    assert_eq!(d.measurements.len(), 1);
    assert!(!d.measurements[0].differs());
    assert!(d.to_string().starts_with("identical"));
    assert_eq!(d.to_json()["identical"], true);
}

#[test]
fn a_changed_byte_is_a_page_difference_and_the_first_measured_divergence() {
    let b = image(VBS, |g| {
        g.import_pages(0x100, 1, "kernel", EX, b"hellO").unwrap();
        g.import_pages(0x101, 1, "kernel", EX, b"world").unwrap();
        g.import_x64_register(X86Register::Rip(0x10_0000)).unwrap();
        g.import_x64_register(X86Register::Cr3(0x20_0000)).unwrap();
    });
    let d = diff(&image(VBS, base), &b);
    assert_eq!(d.differences.len(), 1, "{d}");
    let p = &d.differences[0];
    assert_eq!(p.group, Group::Pages);
    assert_eq!(p.change, "different bytes (first at 0x100004)");
    assert_eq!(
        p.pages,
        Some(PageRange {
            start: 0x10_0000,
            end: 0x10_1000,
            tag: None
        })
    );
    let m = &d.measurements[0];
    assert!(m.differs());
    let div = m.divergence.as_ref().unwrap();
    // The first page measured is the one that changed.
    assert_eq!(div.step, 0);
    assert_eq!(div.a.as_ref().unwrap().gpa, 0x10_0000);
    assert_eq!(div.b.as_ref().unwrap().what, "page");
}

#[test]
fn pages_only_in_one_side_and_acceptance() {
    let b = image(VBS, |g| {
        g.import_pages(
            0x100,
            1,
            "kernel",
            PageAcceptance::ExclusiveUnmeasured,
            b"hello",
        )
        .unwrap();
        g.import_pages(0x105, 2, "initrd", EX, b"new").unwrap();
        g.import_x64_register(X86Register::Rip(0x10_0000)).unwrap();
        g.import_x64_register(X86Register::Cr3(0x20_0000)).unwrap();
    });
    let d = diff(&image(VBS, base), &b);
    let pages = only(&d, Group::Pages);
    let lines: Vec<String> = pages.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        lines,
        [
            "pages: 0x100000..0x101000 (1 page): different acceptance: A measured, B unmeasured",
            "pages: 0x101000..0x102000 (1 page): only in A",
            "pages: 0x105000..0x107000 (2 pages): only in B",
        ],
        "{d}"
    );
}

#[test]
fn registers_differ_by_name() {
    let b = image(VBS, |g| {
        g.import_pages(0x100, 1, "kernel", EX, b"hello").unwrap();
        g.import_pages(0x101, 1, "kernel", EX, b"world").unwrap();
        g.import_x64_register(X86Register::Rip(0x10_0010)).unwrap();
        g.import_x64_register(X86Register::Rsi(0x6000)).unwrap();
        g.import_x64_register(X86Register::Cr3(0x20_0000)).unwrap();
    });
    let d = diff(&image(VBS, base), &b);
    let vp: Vec<String> = only(&d, Group::VpContext)
        .iter()
        .map(|x| x.to_string())
        .collect();
    assert_eq!(
        vp,
        [
            "vp_context: vtl2.rip: differs: A 100000, B 100010",
            "vp_context: vtl2.rsi: only in B: 6000",
        ],
        "{d}"
    );
    // VBS measures the registers after every page.
    let div = d.measurements[0].divergence.as_ref().unwrap();
    assert_eq!(div.a.as_ref().unwrap().what, "register");
}

#[test]
fn parameter_areas_and_insertions() {
    let b = image(VBS, |g| {
        base(g);
        let area = g
            .create_parameter_area(0x200, 2, "device-tree", &[])
            .unwrap();
        g.import_parameter(area, 0, ParameterType::DeviceTree)
            .unwrap();
    });
    let d = diff(&image(VBS, base), &b);
    let params = only(&d, Group::Parameters);
    assert!(!params.is_empty(), "{d}");
    assert!(params.iter().all(|p| p.change == "only in B"), "{d}");
    let text: Vec<&str> = params.iter().filter_map(|p| p.b.as_deref()).collect();
    assert!(
        text.iter()
            .any(|t| t.starts_with("ParameterArea 0: 0x2000 bytes")),
        "{text:?}"
    );
    assert!(
        text.iter().any(|t| t.starts_with("DeviceTree: area 0")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("ParameterInsert: area 0 at gpa 0x200000")),
        "{text:?}"
    );
}

#[test]
fn relocation_headers() {
    let b = image(VBS, |g| {
        base(g);
        g.relocation_region(RelocationRegion {
            gpa: 0x10_0000,
            size_bytes: 0x2000,
            alignment: 0x1000,
            minimum_gpa: 0x10_0000,
            maximum_gpa: 0x1_0000_0000,
            apply_rip_offset: true,
            apply_gdtr_offset: true,
            vp_index: 0,
        })
        .unwrap();
    });
    let d = diff(&image(VBS, base), &b);
    let r = only(&d, Group::Relocation);
    assert_eq!(r.len(), 1, "{d}");
    assert_eq!(r[0].subject, "RelocatableRegion");
    assert_eq!(r[0].change, "only in B");
    assert!(
        r[0].b
            .as_deref()
            .unwrap()
            .contains("gpa 0x100000 size 0x2000")
    );
}

#[test]
fn platform_headers_and_policies() {
    let a = image(snp(0x3001F), |g| {
        g.import_pages(0x100, 1, "kernel", EX, b"hello").unwrap();
    });
    let b = image(snp(0x3001B), |g| {
        g.import_pages(0x100, 1, "kernel", EX, b"hello").unwrap();
    });
    let d = diff(&a, &b);
    let p = only(&d, Group::Platform);
    assert_eq!(p.len(), 1, "{d}");
    assert_eq!(p[0].subject, "GuestPolicy");
    assert_eq!(p[0].a.as_deref(), Some("GuestPolicy: policy 0x3001f"));
    assert_eq!(p[0].b.as_deref(), Some("GuestPolicy: policy 0x3001b"));
    // The policy is not part of the SNP launch digest: same measurement.
    assert!(!d.measurements[0].differs(), "{d}");

    // Another platform: type, boundary and the kind of measurement differ.
    let v = image(VBS, |g| {
        g.import_pages(0x100, 1, "kernel", EX, b"hello").unwrap();
    });
    let d = diff(&a, &v);
    assert_eq!(d.differences[0].subject, "platform type", "{d}");
    assert_eq!(d.differences[0].a.as_deref(), Some("SEV_SNP"));
    assert_eq!(d.differences[0].b.as_deref(), Some("VSM_ISOLATION"));
    let m = &d.measurements[0];
    assert_eq!(m.a.as_ref().map(|s| s.0), Some(MeasuredPlatform::Snp));
    assert_eq!(m.b.as_ref().map(|s| s.0), Some(MeasuredPlatform::Vbs));
    assert!(m.differs() && m.divergence.is_none());
}

#[test]
fn debug_leaves_name_nested_fields() {
    #[derive(Debug)]
    #[allow(dead_code)]
    struct Inner {
        x: u8,
    }
    #[derive(Debug)]
    #[allow(dead_code)]
    struct Outer {
        a: u32,
        inner: Inner,
        list: [u8; 2],
    }
    let leaves = debug_leaves(&Outer {
        a: 0x10,
        inner: Inner { x: 3 },
        list: [1, 2],
    });
    let names: Vec<(&str, &str)> = leaves
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("a", "0x10"),
            ("inner.x", "0x3"),
            ("list.[0]", "0x1"),
            ("list.[1]", "0x2")
        ]
    );
}

#[test]
fn strip_mask_keeps_the_rest() {
    assert_eq!(
        strip_mask("RequiredMemory mask 0x1f: gpa 0x0"),
        "RequiredMemory: gpa 0x0"
    );
    assert_eq!(
        strip_mask("VpCount: area 0 offset 0x0"),
        "VpCount: area 0 offset 0x0"
    );
}

#[test]
fn damaged_files_never_panic() {
    // What the igvm_diff fuzz target does, over a sample of single-byte
    // changes of a golden file: every one is refused or diffed.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/golden/igvm/x64-tdx47-nobase-64m-uefi.igvm"
    );
    let bytes = std::fs::read(path).unwrap();
    let original = Image::from_igvm(&bytes).unwrap();
    assert!(diff(&original, &original).is_identical());
    let (mut parsed, mut refused) = (0, 0);
    for at in (0..bytes.len()).step_by(5003) {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0xA5;
        match Image::from_igvm(&damaged) {
            Ok(image) => {
                parsed += 1;
                let d = diff(&original, &image);
                let _ = (d.to_string(), d.to_json());
            }
            Err(_) => refused += 1,
        }
    }
    // Both outcomes occur: headers refuse, page data parses and differs.
    assert!(
        parsed > 5 && refused > 0,
        "{parsed} parsed, {refused} refused"
    );
}

#[test]
fn lines_compare_as_multisets_pairing_by_kind() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut out = Vec::new();
    compare_lines(
        Group::Parameters,
        (1, 1),
        &s(&["P: 1", "P: 1", "Q: 2"]),
        &s(&["P: 1", "Q: 3", "R: 4"]),
        &mut out,
    );
    let got: Vec<String> = out.iter().map(|d| d.to_string()).collect();
    assert_eq!(
        got,
        [
            "parameters: P: only in A: P: 1",
            "parameters: Q: differs: A Q: 2, B Q: 3",
            "parameters: R: only in B: R: 4",
        ]
    );
}

#[test]
fn damaged_vbs_vp_contexts_are_errors_not_panics() {
    // The igvm crate asserts one VTL for all registers and VP index 0 of a
    // VBS VP context (found by the igvm_diff fuzz target).
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/golden/igvm/x64-none-fixed256m-64m-pcat-uefi.igvm"
    );
    let bytes = std::fs::read(path).unwrap();
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    // Walk the variable headers to the VP context (type 0x304).
    let (mut at, end) = (
        u32_at(&bytes, 8) as usize,
        (u32_at(&bytes, 8) + u32_at(&bytes, 12)) as usize,
    );
    let body = loop {
        assert!(at < end, "no VP context header");
        if u32_at(&bytes, at) == 0x304 {
            break at + 8;
        }
        at += (u32_at(&bytes, at + 4) as usize + 8).next_multiple_of(8);
    };
    let blob = u32_at(&bytes, body + 12) as usize;
    assert!(u32_at(&bytes, blob) > 1, "needs two registers");
    let mut other_vtl = bytes.clone();
    other_vtl[blob + 4 + 32] ^= 1;
    let mut other_vp = bytes.clone();
    other_vp[body + 16] = 1;
    for damaged in [other_vtl, other_vp] {
        assert!(matches!(
            Image::from_igvm(&damaged),
            Err(crate::IgvmError::Malformed { .. })
        ));
    }
    assert!(Image::from_igvm(&bytes).is_ok());
}

#[test]
fn snp_vmsa_fields_differ_by_name() {
    let vmsa = |rip: u64| {
        image(snp(0x3001F), move |g| {
            g.import_pages(0x100, 1, "kernel", EX, b"hello").unwrap();
            g.import_x64_register(X86Register::Rip(rip)).unwrap();
            g.import_x64_register(X86Register::Cr3(0x20_0000)).unwrap();
            g.set_vp_context_page(0x300).unwrap();
        })
    };
    let d = diff(&vmsa(0x10_0000), &vmsa(0x10_0010));
    let vp: Vec<String> = only(&d, Group::VpContext)
        .iter()
        .map(|x| x.to_string())
        .collect();
    assert_eq!(
        vp,
        ["vp_context: vp0.vmsa.rip: differs: A 0x100000, B 0x100010"],
        "{d}"
    );
    // The VMSA is measured last: the digests part there.
    let div = d.measurements[0].divergence.as_ref().unwrap();
    assert_eq!(div.a.as_ref().unwrap().what, "VMSA");
    assert_eq!(div.a.as_ref().unwrap().gpa, 0x30_0000);
}

//! IGVM builds beyond the stored goldens: every load-manifest case of the
//! golden folder built as a one-guest IGVM file (and the cvm three-platform
//! layout), checked by invariants — the file parses, re-serialises to the
//! same bytes, its measurements recomputed by the `igvm` crate equal ours —
//! and the inputs on which igvmfilegen crashes (`docs/igvm.md` §12), which
//! must give a correct file or a typed error, never a panic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use igvm::IgvmDirectiveHeader;
use igvm::IgvmFile;
use igvm::IgvmInitializationHeader;
use igvm::IgvmPlatformHeader;
use igvm_defs::IgvmPlatformType;
use paravisor_igvm::IgvmError;
use paravisor_igvm::build_from_config;
use paravisor_igvm::measure::MeasuredPlatform;
use paravisor_tests::golden_dir;
use serde_json::Value;
use serde_json::json;
use std::path::Path;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;

/// A fresh scratch folder under the target directory.
fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "paravisor-igvm-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A load manifest of the golden cases, its relative paths made absolute.
fn case_manifest(name: &str) -> Value {
    let cases = golden_dir().join("cases");
    let mut m: Value = serde_json::from_slice(&std::fs::read(cases.join(name)).unwrap()).unwrap();
    let abs = |v: &mut Value| {
        if let Some(s) = v.as_str() {
            *v = Value::String(cases.join(s).to_string_lossy().into_owned());
        }
    };
    for key in ["kernel", "shim", "sidecar", "initrd"] {
        abs(&mut m[key]);
    }
    if m["vtl0"]["uefi"].is_object() {
        abs(&mut m["vtl0"]["uefi"]["vp_context"]);
    }
    m
}

/// The config isolation matching a manifest's isolation.
fn isolation_of(manifest: &Value) -> Value {
    let iso = &manifest["isolation"];
    match iso["type"].as_str().unwrap() {
        "none" => json!("none"),
        "vbs" => json!({"vbs": {"enable_debug": false}}),
        "snp" => json!({"snp": {"shared_gpa_boundary_bits": iso["shared_gpa_boundary_bits"],
            "policy": 196639, "enable_debug": false, "injection_type": "normal"}}),
        "tdx" => json!({"tdx": {"enable_debug": false, "sept_ve_disable": true}}),
        other => panic!("isolation {other}"),
    }
}

/// Writes manifests and a config naming them into `dir`; returns the config.
fn write_config(dir: &Path, manifests: &[Value]) -> PathBuf {
    let arch = match manifests[0]["arch"].as_str().unwrap() {
        "x86_64" => "x64",
        _ => "aarch64",
    };
    let guests: Vec<Value> = manifests
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let path = dir.join(format!("guest{i}.json"));
            std::fs::write(&path, serde_json::to_vec_pretty(m).unwrap()).unwrap();
            let max_vtl = if m["isolation"]["paravisor_present"].as_bool().unwrap() {
                2
            } else {
                0
            };
            json!({"guest_svn": 3, "max_vtl": max_vtl, "isolation_type": isolation_of(m),
                   "load_manifest": format!("guest{i}.json")})
        })
        .collect();
    let config = dir.join("igvm.config.json");
    let c =
        json!({"format": "paravisor-igvm-config/1", "guest_arch": arch, "guest_configs": guests});
    std::fs::write(&config, serde_json::to_vec_pretty(&c).unwrap()).unwrap();
    config
}

/// The innermost error (guest context removed).
fn root(e: &IgvmError) -> &IgvmError {
    match e {
        IgvmError::Guest { source, .. } => root(source),
        other => other,
    }
}

/// Checks a produced file by invariants and returns it parsed.
fn check_file(name: &str, bytes: &[u8], measured: &[MeasuredPlatform]) -> IgvmFile {
    let file = IgvmFile::new_from_binary(bytes, None)
        .unwrap_or_else(|e| panic!("{name}: does not parse: {e}"));
    let mut again = Vec::new();
    file.serialize(&mut again).unwrap();
    assert!(again == bytes, "{name}: re-serialising changes the bytes");
    let (init, dirs) = (file.initializations(), file.directives());
    let mut found = Vec::new();
    for IgvmPlatformHeader::SupportedPlatform(p) in file.platforms() {
        let mask = p.compatibility_mask;
        match p.platform_type {
            IgvmPlatformType::SEV_SNP => {
                assert_eq!(
                    paravisor_igvm::measure::snp_launch_digest(init, dirs, mask).unwrap(),
                    igvm::measurement::generate_snp_measurement(init, dirs, mask).unwrap(),
                    "{name}"
                );
                found.push(MeasuredPlatform::Snp);
            }
            IgvmPlatformType::TDX => {
                assert_eq!(
                    paravisor_igvm::measure::tdx_mrtd(dirs, mask).unwrap(),
                    igvm::measurement::generate_tdx_measurement(dirs, mask).unwrap(),
                    "{name}"
                );
                found.push(MeasuredPlatform::Tdx);
            }
            _ => {
                assert_eq!(
                    paravisor_igvm::measure::vbs_boot_digest(dirs, mask).unwrap(),
                    igvm::measurement::generate_vbs_measurement(dirs, mask).unwrap(),
                    "{name}"
                );
            }
        }
    }
    for m in measured {
        assert!(
            found.contains(m) || *m == MeasuredPlatform::Vbs,
            "{name}: {m:?} measured but not in the file"
        );
    }
    let report = paravisor_igvm::inspect(bytes).unwrap();
    assert!(report.round_trip_identical, "{name}");
    file
}

/// The imported-regions page of a one-guest file (its last page data):
/// descriptors (base page, page count, accepted).
fn imported_regions(file: &IgvmFile) -> Vec<(u64, u64, u8)> {
    let Some(IgvmDirectiveHeader::PageData { data, .. }) = file.directives().last() else {
        panic!("no page data");
    };
    data[48..]
        .chunks_exact(24)
        .map(|c| {
            (
                u64::from_le_bytes(c[0..8].try_into().unwrap()),
                u64::from_le_bytes(c[8..16].try_into().unwrap()),
                c[16],
            )
        })
        .take_while(|d| d.1 != 0)
        .collect()
}

#[test]
fn every_golden_case_builds_a_valid_file_or_fails_with_an_error() {
    let mut built = 0;
    let mut entries: Vec<_> = std::fs::read_dir(golden_dir().join("cases"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    for name in entries {
        let manifest = case_manifest(&name);
        let dir = scratch("case");
        let config = write_config(&dir, std::slice::from_ref(&manifest));
        let result = build_from_config(&config);
        if name.starts_with("err-") {
            assert!(result.is_err(), "{name}: expected an error");
            continue;
        }
        let build = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        let platforms: Vec<_> = build.measurements.iter().map(|m| m.platform).collect();
        let file = check_file(&name, &build.file_bytes, &platforms);
        // Loads without a fixed base of non-isolated guests carry relocation
        // headers (docs/algorithms.md: with_relocation = no base and isolation
        // none); others carry none.
        let relocatable =
            manifest["memory_page_base"].is_null() && manifest["isolation"]["type"] == "none";
        let has_reloc = file
            .initializations()
            .iter()
            .any(|h| matches!(h, IgvmInitializationHeader::RelocatableRegion { .. }));
        assert_eq!(has_reloc, relocatable, "{name}: relocation headers");
        // The imported-regions page lists ascending, non-overlapping ranges,
        // the page itself included.
        let regions = imported_regions(&file);
        assert!(
            regions.windows(2).all(|w| w[0].0 + w[0].1 <= w[1].0),
            "{name}: {regions:x?}"
        );
        // Aarch64 and none guests are not measured (§10).
        let expect_measured =
            manifest["arch"] == "x86_64" && manifest["isolation"]["type"].as_str() != Some("none");
        assert_eq!(!build.measurements.is_empty(), expect_measured, "{name}");
        built += 1;
    }
    assert!(built >= 8, "only {built} cases built");
}

#[test]
fn the_cvm_layout_merges_three_platforms_with_masks_1_2_4() {
    let manifests = [
        case_manifest("x64-snp46-nobase-64m-uefi.json"),
        case_manifest("x64-tdx47-nobase-64m-uefi.json"),
        case_manifest("x64-vbs-nobase-64m-uefi.json"),
    ];
    let dir = scratch("cvm");
    let config = write_config(&dir, &manifests);
    let build = build_from_config(&config).unwrap();
    let file = check_file("cvm", &build.file_bytes, &[]);
    let masks: Vec<_> = file
        .platforms()
        .iter()
        .map(|IgvmPlatformHeader::SupportedPlatform(p)| (p.platform_type, p.compatibility_mask))
        .collect();
    // docs/igvm.md §7: SNP(1), TDX(2), VBS(4).
    assert_eq!(
        masks,
        vec![
            (IgvmPlatformType::SEV_SNP, 1),
            (IgvmPlatformType::TDX, 2),
            (IgvmPlatformType::VSM_ISOLATION, 4)
        ]
    );
    // Parameter areas renumbered 0,1,2 → 3,4,5 → 6,7,8 (§7 step 3).
    let areas: Vec<u32> = file
        .directives()
        .iter()
        .filter_map(|d| match d {
            IgvmDirectiveHeader::ParameterArea {
                parameter_area_index,
                ..
            } => Some(*parameter_area_index),
            _ => None,
        })
        .collect();
    assert_eq!(areas, (0..9).collect::<Vec<u32>>());
    // Measured before the merge = measured in the merged file (§7).
    assert_eq!(build.measurements.len(), 3);
    // Writing gives OUT.igvm and OUT-{snp,tdx,vbs}.json with SVN 3.
    let out = dir.join("cvm.igvm");
    let written = build.write(&out).unwrap();
    assert_eq!(written.len(), 4);
    for (platform, stem) in [
        (MeasuredPlatform::Snp, "snp"),
        (MeasuredPlatform::Tdx, "tdx"),
        (MeasuredPlatform::Vbs, "vbs"),
    ] {
        let doc = std::fs::read_to_string(dir.join(format!("cvm-{stem}.json"))).unwrap();
        assert!(doc.contains(&format!("\"{stem}_isvsvn\":3")), "{doc}");
        assert!(doc.ends_with("}\n"));
        let _ = platform;
    }
    assert_eq!(std::fs::read(&out).unwrap(), build.file_bytes);
}

#[test]
fn vtl2_memory_of_4_gib_is_a_typed_error() {
    // igvmfilegen panics: RequiredMemory holds a 32-bit size (§4.5, §12).
    let mut m = case_manifest("x64-none-fixed256m-64m-pcat-uefi.json");
    m["memory_page_count"] = json!(1_048_576);
    let dir = scratch("4g");
    let err = build_from_config(&write_config(&dir, &[m])).unwrap_err();
    assert!(
        matches!(
            root(&err),
            IgvmError::RequiredMemoryTooLarge {
                page_count: 1_048_576,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn an_empty_initrd_gives_a_correct_file() {
    // igvmfilegen panics on the 0-page initrd import (§4.1, §12); we import
    // nothing for it.
    let dir = scratch("empty-initrd");
    let empty = dir.join("empty.bin");
    std::fs::write(&empty, b"").unwrap();
    let mut m = case_manifest("x64-none-reloc-64m-uefi-initrd1m.json");
    m["initrd"] = json!(empty.to_string_lossy());
    let build = build_from_config(&write_config(&dir, &[m])).unwrap();
    let file = check_file("empty-initrd", &build.file_bytes, &[]);
    assert!(imported_regions(&file).iter().all(|d| d.1 > 0));
}

#[test]
fn tdx_page_tables_above_4_gib_are_a_typed_error() {
    // igvmfilegen panics "cr3 must fit in u32" (§6.3, §12).
    let mut m = case_manifest("x64-tdx47-nobase-64m-uefi.json");
    m["memory_page_base"] = json!(0x10_0000); // VTL2 at 4 GiB
    let dir = scratch("tdx-4g");
    let err = build_from_config(&write_config(&dir, &[m])).unwrap_err();
    assert!(
        matches!(root(&err), IgvmError::TdxCr3Above4Gib { cr3 } if *cr3 >= 1 << 32),
        "{err}"
    );
}

#[test]
fn snp_without_a_shared_gpa_boundary_is_a_typed_error() {
    // igvmfilegen panics (§3.1, §12).
    let mut m = case_manifest("x64-snp46-nobase-64m-uefi.json");
    m["isolation"]["shared_gpa_boundary_bits"] = Value::Null;
    let dir = scratch("snp-null");
    let err = build_from_config(&write_config(&dir, &[m])).unwrap_err();
    assert!(
        matches!(root(&err), IgvmError::SnpSharedGpaBoundaryMissing { .. }),
        "{err}"
    );
}

#[test]
fn a_config_that_disagrees_with_its_manifest_is_a_usage_error() {
    // docs/formats.md §4: isolation, paravisor flag and boundary must agree.
    let m = case_manifest("x64-vbs-nobase-64m-uefi.json");
    let dir = scratch("mismatch");
    let config = write_config(&dir, &[m]);
    let mut c: Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    c["guest_configs"][0]["isolation_type"] = json!("none");
    std::fs::write(&config, serde_json::to_vec(&c).unwrap()).unwrap();
    let err = build_from_config(&config).unwrap_err();
    assert!(
        matches!(root(&err), IgvmError::ManifestMismatch { .. }),
        "{err}"
    );
    c["guest_arch"] = json!("aarch64");
    c["guest_configs"][0]["isolation_type"] = json!({"vbs": {"enable_debug": false}});
    std::fs::write(&config, serde_json::to_vec(&c).unwrap()).unwrap();
    let err = build_from_config(&config).unwrap_err();
    assert!(
        matches!(root(&err), IgvmError::ManifestMismatch { .. }),
        "{err}"
    );
}

#[test]
fn two_guests_of_one_platform_type_cannot_be_merged() {
    // none and VBS both use VSM_ISOLATION (§7 step 1).
    let dir = scratch("none-vbs");
    let config = write_config(
        &dir,
        &[
            case_manifest("x64-none-reloc-64m-pcat.json"),
            case_manifest("x64-vbs-nobase-64m-uefi.json"),
        ],
    );
    let err = build_from_config(&config).unwrap_err();
    assert!(
        matches!(root(&err), IgvmError::Igvm { what: "merge", .. }),
        "{err}"
    );
}

/// Adds `"abi"` to every guest of the build config at `config`.
fn set_abi(config: &Path, abis: &[&str]) {
    let mut c: Value = serde_json::from_slice(&std::fs::read(config).unwrap()).unwrap();
    for (guest, abi) in c["guest_configs"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .zip(abis)
    {
        guest["abi"] = json!(abi);
    }
    std::fs::write(config, serde_json::to_vec_pretty(&c).unwrap()).unwrap();
}

#[test]
fn every_abi_profile_builds_a_valid_re_measurable_file() {
    // docs/formats.md §4: a profile per guest. The CVM layout with each
    // profile for all three guests, and with three profiles mixed; an
    // AArch64 guest under each profile. Every file parses, re-serialises to
    // the same bytes, and the igvm crate's measurements equal ours.
    let cvm = [
        case_manifest("x64-snp46-nobase-64m-uefi.json"),
        case_manifest("x64-tdx47-nobase-64m-uefi.json"),
        case_manifest("x64-vbs-nobase-64m-uefi.json"),
    ];
    let arm = case_manifest("a64-none-reloc-64m-uefi.json");
    let mut files = Vec::new();
    for abi in paravisor_layout::Abi::ALL {
        let dir = scratch(&format!("abi-cvm-{abi}"));
        let config = write_config(&dir, &cvm);
        set_abi(&config, &[abi.name(); 3]);
        let build = build_from_config(&config).unwrap_or_else(|e| panic!("{abi}: {e}"));
        let platforms: Vec<_> = build.measurements.iter().map(|m| m.platform).collect();
        check_file(abi.name(), &build.file_bytes, &platforms);
        files.push(build.file_bytes);
        let dir = scratch(&format!("abi-a64-{abi}"));
        let config = write_config(&dir, std::slice::from_ref(&arm));
        set_abi(&config, &[abi.name()]);
        let build = build_from_config(&config).unwrap_or_else(|e| panic!("{abi}: {e}"));
        check_file(abi.name(), &build.file_bytes, &[]);
    }
    // docs/abi-versions.md §2.1: for these x86-64 guests release-1.7.2511
    // and release-1.8.2607 differ from the seed (G1, G2) and equal each
    // other (G5 is AArch64 only); main differs again (G6).
    assert!(files[0] != files[1], "seed == release-1.7.2511");
    assert!(files[1] == files[2], "release-1.7.2511 != release-1.8.2607");
    assert!(files[2] != files[3], "release-1.8.2607 == main");
    let dir = scratch("abi-mixed");
    let config = write_config(&dir, &cvm);
    set_abi(
        &config,
        &["release-1.7.2511", "main-1488a37b", "seed-95f63b08"],
    );
    let build = build_from_config(&config).unwrap();
    check_file("mixed", &build.file_bytes, &[]);
}

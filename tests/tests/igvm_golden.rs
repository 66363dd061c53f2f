//! IGVM goldens (`tests/golden/igvm/`, or `PARAVISOR_GOLDEN_DIR/igvm`):
//! every stored file parses, re-serialises to the same bytes, and its
//! measurements — recomputed by our code and by the `igvm` crate's own
//! measurement module (feature `corim`) — equal the stored measurement
//! documents; and building every config gives the stored file and documents
//! byte for byte.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use igvm::IgvmFile;
use igvm::IgvmPlatformHeader;
use igvm_defs::IgvmPlatformType;
use paravisor_igvm::measure::MeasuredPlatform;
use paravisor_igvm::measure::Measurement;
use paravisor_igvm::measure::snp_launch_digest;
use paravisor_igvm::measure::tdx_mrtd;
use paravisor_igvm::measure::vbs_boot_digest;
use paravisor_tests::golden_dir;
use std::path::Path;
use std::path::PathBuf;

/// The configs of the IGVM golden folder, sorted.
fn configs() -> Vec<PathBuf> {
    let dir = golden_dir().join("igvm");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".config.json"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no IGVM configs in {}", dir.display());
    v
}

/// `X.config.json` → `X.igvm`.
fn igvm_of(config: &Path) -> PathBuf {
    let name = config.file_name().unwrap().to_string_lossy();
    config.with_file_name(name.replace(".config.json", ".igvm"))
}

/// The stored measurement documents next to `igvm`: (platform, bytes).
fn stored_documents(igvm: &Path) -> Vec<(MeasuredPlatform, Vec<u8>)> {
    [
        MeasuredPlatform::Snp,
        MeasuredPlatform::Tdx,
        MeasuredPlatform::Vbs,
    ]
    .into_iter()
    .filter_map(|p| {
        let path = paravisor_igvm::IgvmBuild::document_path(igvm, p);
        std::fs::read(&path).ok().map(|b| (p, b))
    })
    .collect()
}

/// The (platform type, mask) pairs of a parsed file.
fn platforms(file: &IgvmFile) -> Vec<(IgvmPlatformType, u32)> {
    file.platforms()
        .iter()
        .map(|IgvmPlatformHeader::SupportedPlatform(p)| (p.platform_type, p.compatibility_mask))
        .collect()
}

/// Recomputes every measurement of `bytes` with our code and with the igvm
/// crate's, requires them equal, and returns ours per platform type.
fn recompute(bytes: &[u8]) -> Vec<(MeasuredPlatform, Vec<u8>)> {
    let file = IgvmFile::new_from_binary(bytes, None).unwrap();
    let (init, dirs) = (file.initializations(), file.directives());
    let mut out = Vec::new();
    for (ty, mask) in platforms(&file) {
        let (kind, ours, theirs): (_, Vec<u8>, Vec<u8>) = match ty {
            IgvmPlatformType::SEV_SNP => (
                MeasuredPlatform::Snp,
                snp_launch_digest(init, dirs, mask).unwrap().to_vec(),
                igvm::measurement::generate_snp_measurement(init, dirs, mask)
                    .unwrap()
                    .to_vec(),
            ),
            IgvmPlatformType::TDX => (
                MeasuredPlatform::Tdx,
                tdx_mrtd(dirs, mask).unwrap().to_vec(),
                igvm::measurement::generate_tdx_measurement(dirs, mask)
                    .unwrap()
                    .to_vec(),
            ),
            IgvmPlatformType::VSM_ISOLATION => (
                MeasuredPlatform::Vbs,
                vbs_boot_digest(dirs, mask).unwrap().to_vec(),
                igvm::measurement::generate_vbs_measurement(dirs, mask)
                    .unwrap()
                    .to_vec(),
            ),
            other => panic!("unexpected platform {other:?}"),
        };
        assert_eq!(
            ours, theirs,
            "{kind:?} mask {mask:#x}: ours differs from the igvm crate's"
        );
        out.push((kind, ours));
    }
    out
}

/// The measurement in a stored document, parsed back from its JSON.
fn document_digest(doc: &[u8]) -> (Vec<u8>, u32, bool) {
    let v: serde_json::Value = serde_json::from_slice(doc).unwrap();
    let series = &v["series"][0];
    let reference = series["reference"].as_object().unwrap();
    let (_, hex) = reference.iter().next().unwrap();
    let hex = hex.as_str().unwrap();
    let digest = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let endorsement = series["endorsement"].as_object().unwrap();
    let svn = endorsement
        .iter()
        .find(|(k, _)| k.ends_with("_isvsvn"))
        .unwrap()
        .1
        .as_u64()
        .unwrap() as u32;
    let debug = endorsement["build_info"]["debug_build"].as_bool().unwrap();
    (digest, svn, debug)
}

/// Checks one produced or stored file: parses, re-serialises identically,
/// and our measurements equal the igvm crate's.
fn check_round_trip(name: &str, bytes: &[u8]) -> Vec<(MeasuredPlatform, Vec<u8>)> {
    let file = IgvmFile::new_from_binary(bytes, None)
        .unwrap_or_else(|e| panic!("{name}: does not parse: {e}"));
    let mut again = Vec::new();
    file.serialize(&mut again).unwrap();
    assert!(again == bytes, "{name}: re-serialising changes the bytes");
    recompute(bytes)
}

#[test]
fn stored_files_round_trip_and_remeasure_to_their_documents() {
    for config in configs() {
        let igvm = igvm_of(&config);
        let name = igvm.display().to_string();
        let bytes = std::fs::read(&igvm).unwrap();
        let measured = check_round_trip(&name, &bytes);
        let docs = stored_documents(&igvm);
        for (platform, doc) in &docs {
            let (digest, svn, debug) = document_digest(doc);
            let ours = measured
                .iter()
                .find(|(p, _)| p == platform)
                .unwrap_or_else(|| panic!("{name}: no {platform:?} platform for its document"));
            assert_eq!(ours.1, digest, "{name}: {platform:?} digest");
            // Our document writer reproduces the stored document exactly.
            let m = Measurement {
                platform: *platform,
                digest,
                svn,
                debug,
            };
            assert_eq!(
                m.document().as_bytes(),
                &doc[..],
                "{name}: {platform:?} document"
            );
        }
    }
}

#[test]
fn inspect_reports_the_stored_measurements() {
    for config in configs() {
        let igvm = igvm_of(&config);
        let bytes = std::fs::read(&igvm).unwrap();
        let report = paravisor_igvm::inspect(&bytes).unwrap();
        assert!(report.round_trip_identical, "{}", igvm.display());
        let text = report.to_string();
        for (_, doc) in stored_documents(&igvm) {
            let (digest, _, _) = document_digest(&doc);
            let hex = paravisor_igvm::measure::upper_hex(&digest);
            assert!(
                text.contains(&hex),
                "{}: inspect lacks {hex}",
                igvm.display()
            );
        }
    }
}

#[test]
fn building_every_config_gives_the_stored_file_and_documents() {
    let mut failures = Vec::new();
    let mut files = 0;
    let mut documents = 0;
    for config in configs() {
        let igvm = igvm_of(&config);
        let name = config.display().to_string();
        let build = match paravisor_igvm::build_from_config(&config) {
            Ok(b) => b,
            Err(e) => {
                failures.push(format!("{name}: build failed: {e}"));
                continue;
            }
        };
        let stored = std::fs::read(&igvm).unwrap();
        if build.file_bytes == stored {
            files += 1;
        } else {
            let first = build
                .file_bytes
                .iter()
                .zip(&stored)
                .position(|(a, b)| a != b)
                .unwrap_or(build.file_bytes.len().min(stored.len()));
            failures.push(format!(
                "{name}: file differs (ours {} bytes, stored {} bytes, first difference at {first:#x})",
                build.file_bytes.len(),
                stored.len()
            ));
        }
        // The produced file round-trips and re-measures (ours == igvm crate's).
        let remeasured = check_round_trip(&name, &build.file_bytes);
        let ours = build.measurement_documents();
        let stored_docs = stored_documents(&igvm);
        if ours.len() != stored_docs.len() {
            failures.push(format!(
                "{name}: {} documents, {} stored",
                ours.len(),
                stored_docs.len()
            ));
        }
        for (platform, doc) in &stored_docs {
            match ours.iter().find(|(p, _)| p == platform) {
                Some((_, d)) if d.as_bytes() == &doc[..] => documents += 1,
                Some((_, d)) => failures.push(format!(
                    "{name}: {platform:?} document differs:\n ours   {d}\n stored {}",
                    String::from_utf8_lossy(doc)
                )),
                None => failures.push(format!("{name}: no {platform:?} document")),
            }
        }
        for m in &build.measurements {
            assert!(
                remeasured
                    .iter()
                    .any(|(p, d)| *p == m.platform && *d == m.digest),
                "{name}: {:?} measured before the merge differs from the merged file's",
                m.platform
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{files} files and {documents} documents identical; failures:\n{}",
        failures.join("\n")
    );
    eprintln!("{files} files and {documents} measurement documents byte-identical");
}

//! `paravisor bench`: the JSON object's shape and its deterministic values
//! (never a timing), and the exit statuses. Lives beside the other CLI tests
//! because only this package's tests get `CARGO_BIN_EXE_paravisor`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use common::paravisor;
use paravisor_host::manifest::LoadManifest;
use paravisor_loader::ImportPages;
use paravisor_loader::IsolationConfig;
use paravisor_loader::PageAcceptance;
use paravisor_loader::PageTableRelocation;
use paravisor_loader::ParameterAreaIndex;
use paravisor_loader::ParameterType;
use paravisor_loader::ParavisorImporter;
use paravisor_loader::RelocationRegion;
use paravisor_loader::StartupMemoryType;
use serde_json::Value;
use std::convert::Infallible;
use std::path::Path;
use std::path::PathBuf;

fn golden_case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../tests/golden/cases/{name}.json"))
}

/// Sums the data bytes of every `import_pages` call (an importer unrelated
/// to the one the probe uses).
struct DataBytes(IsolationConfig, u64);

impl ImportPages for DataBytes {
    type Error = Infallible;
    fn import_pages(
        &mut self,
        _: u64,
        _: u64,
        _: &'static str,
        _: PageAcceptance,
        data: &[u8],
    ) -> Result<(), Infallible> {
        self.1 += data.len() as u64;
        Ok(())
    }
}

impl<R> ParavisorImporter<R> for DataBytes {
    fn isolation_config(&self) -> IsolationConfig {
        self.0
    }
    fn verify_startup_memory_available(
        &mut self,
        _: u64,
        _: u64,
        _: StartupMemoryType,
    ) -> Result<(), Infallible> {
        Ok(())
    }
    fn create_parameter_area(
        &mut self,
        _: u64,
        _: u32,
        _: &'static str,
    ) -> Result<ParameterAreaIndex, Infallible> {
        Ok(ParameterAreaIndex(0))
    }
    fn import_parameter(
        &mut self,
        _: ParameterAreaIndex,
        _: u32,
        _: ParameterType,
    ) -> Result<(), Infallible> {
        Ok(())
    }
    fn import_vp_register(&mut self, _: R) -> Result<(), Infallible> {
        Ok(())
    }
    fn set_vp_context_page(&mut self, _: u64) -> Result<(), Infallible> {
        Ok(())
    }
    fn relocation_region(&mut self, _: RelocationRegion) -> Result<(), Infallible> {
        Ok(())
    }
    fn page_table_relocation(&mut self, _: PageTableRelocation) -> Result<(), Infallible> {
        Ok(())
    }
    fn set_imported_regions_config_page(&mut self, _: u64) {}
}

/// Data bytes the loader imports for the manifest at `path`.
fn imported_data_bytes(path: &Path) -> u64 {
    let manifest = LoadManifest::read(path).unwrap();
    let files = paravisor_host::manifest::read_files(&manifest).unwrap();
    let files = files.as_files();
    let inputs = manifest.inputs(&files);
    let mut count = DataBytes(manifest.isolation, 0);
    paravisor_host::load_openhcl(manifest.arch, &mut count, &inputs).unwrap();
    count.1
}

fn check_json(case: &str) {
    let path = golden_case(case);
    let out = paravisor(&[
        "bench",
        path.to_str().unwrap(),
        "--iterations",
        "2",
        "--json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    // Exactly one JSON object, on one line.
    assert_eq!(stdout.lines().count(), 1, "stdout: {stdout}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let object = v.as_object().expect("a JSON object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "bytes_imported",
            "copy_ms",
            "crc_ms",
            "iterations",
            "load_ms",
            "ratio"
        ]
    );
    assert_eq!(v["iterations"], 2);
    assert_eq!(
        v["bytes_imported"].as_u64(),
        Some(imported_data_bytes(&path)),
        "{case}"
    );
    for key in ["load_ms", "crc_ms", "copy_ms", "ratio"] {
        let x = v[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} is not a number"));
        assert!(x.is_finite() && x >= 0.0, "{key} = {x}");
    }
}

#[test]
fn bench_json_x64_with_initrd_counts_every_imported_byte() {
    check_json("x64-none-reloc-64m-uefi-initrd1m");
}

#[test]
fn bench_json_x64_snp() {
    check_json("x64-snp46-nobase-64m-uefi");
}

#[test]
fn bench_json_arm64() {
    check_json("a64-none-reloc-64m-uefi");
}

#[test]
fn bench_table_names_the_baselines() {
    let path = golden_case("x64-none-reloc-64m-pcat");
    let out = paravisor(&["bench", path.to_str().unwrap(), "-n", "1"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("crc32fast(initrd)"), "{text}");
    assert!(text.contains("ratio load / (crc + copy)"), "{text}");
}

#[test]
fn bench_of_a_failing_load_exits_2() {
    let path = golden_case("err-x64-cmdline-5000");
    let out = paravisor(&["bench", path.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("load failed"));
}

#[test]
fn bench_usage_errors_exit_1() {
    let path = golden_case("x64-none-reloc-64m-pcat");
    let p = path.to_str().unwrap();
    for args in [
        vec!["bench"],
        vec!["bench", p, "--iterations", "0"],
        vec!["bench", p, "--iterations", "many"],
        vec!["bench", p, "--fast"],
        vec!["bench", "/nonexistent/manifest.json"],
    ] {
        let out = paravisor(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
    }
}

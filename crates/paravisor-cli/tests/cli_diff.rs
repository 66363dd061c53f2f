//! `paravisor diff A B` (issue 17): two IGVM files built from manifests
//! that differ in one field (command line, memory size, isolation, an
//! initrd byte) — the difference is named first and the measurements that
//! change are said; identical inputs report none; exit statuses 0 / 1 / 2.
//! (Each group on its own: `crates/paravisor-igvm/src/diff/tests.rs`.)
//!
//! Expected page addresses come from the golden summaries
//! (`tests/golden/summaries/`), not from the code under test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use common::golden;
use common::paravisor;
use serde_json::Value;
use serde_json::json;
use std::path::Path;
use std::path::PathBuf;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("paravisor-cli-diff-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The golden case `name` with absolute input paths.
fn manifest(name: &str) -> Value {
    let cases = golden().join("cases");
    let mut m: Value =
        serde_json::from_str(&std::fs::read_to_string(cases.join(format!("{name}.json"))).unwrap())
            .unwrap();
    let abs = |v: &Value| match v.as_str() {
        Some(p) => json!(cases.join(p)),
        None => v.clone(),
    };
    for key in ["kernel", "shim", "sidecar", "initrd"] {
        m[key] = abs(&m[key]);
    }
    if m["vtl0"]["uefi"].is_object() {
        m["vtl0"]["uefi"]["vp_context"] = abs(&m["vtl0"]["uefi"]["vp_context"]);
    }
    m
}

/// The GPA of the first page of `tag` in the golden summary of `case`.
fn golden_page(case: &str, tag: &str) -> u64 {
    let path = golden().join(format!("summaries/{case}.summary.json"));
    let s: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let run = s["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["tag"] == tag)
        .unwrap();
    run["page_base"].as_u64().unwrap() * 4096
}

/// Writes `m` as a manifest and builds its IGVM file (`paravisor igvm`)
/// with `isolation` (a build-config `isolation_type`); returns the file.
fn igvm_of(dir: &Path, name: &str, m: &Value, isolation: Value) -> PathBuf {
    let mp = dir.join(format!("{name}.json"));
    std::fs::write(&mp, m.to_string()).unwrap();
    let config = dir.join(format!("{name}.config.json"));
    let c = json!({
        "format": "paravisor-igvm-config/1",
        "guest_arch": "x64",
        "guest_configs": [{ "guest_svn": 1, "max_vtl": 2, "isolation_type": isolation,
                            "load_manifest": mp }]
    });
    std::fs::write(&config, c.to_string()).unwrap();
    let out = dir.join(format!("{name}.igvm"));
    let o = paravisor(&[
        "igvm",
        config.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    out
}

fn vbs() -> Value {
    json!({ "vbs": { "enable_debug": false } })
}

/// `paravisor diff A B --json`: (exit status, JSON); also checks the text
/// form has the same exit status and no panic.
fn diff_json(a: &Path, b: &Path) -> (i32, Value) {
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let t = paravisor(&["diff", a, b]);
    let j = paravisor(&["diff", a, b, "--json"]);
    assert_eq!(t.status.code(), j.status.code(), "{}", text(&t.stderr));
    assert!(!text(&t.stderr).contains("panicked"), "{}", text(&t.stderr));
    let v: Value = serde_json::from_slice(&j.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&j.stdout), text(&j.stderr)));
    (j.status.code().unwrap(), v)
}

/// The one changed VBS manifest pair: base and `edit`ed, both built into
/// IGVM files; returns the diff.
fn one_change(case: &str, name: &str, edit: impl Fn(&mut Value)) -> (i32, Value) {
    let dir = scratch(name);
    let mut m = manifest(case);
    m["isolation"]["type"] = json!("vbs");
    let a = igvm_of(&dir, "a", &m, vbs());
    edit(&mut m);
    let b = igvm_of(&dir, "b", &m, vbs());
    diff_json(&a, &b)
}

const CASE: &str = "x64-vbs-nobase-64m-uefi";

#[test]
fn identical_inputs_report_no_difference_and_exit_0() {
    let dir = scratch("identical");
    let m = manifest(CASE);
    // Two IGVM files built separately from the same manifest.
    let a = igvm_of(&dir, "a", &m, vbs());
    let b = igvm_of(&dir, "b", &m, vbs());
    let (code, v) = diff_json(&a, &b);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["identical"], true);
    assert_eq!(v["differences"], json!([]));
    // A manifest and the IGVM file built from it: the same image, the
    // same VBS boot digest.
    let (code, v) = diff_json(&dir.join("a.json"), &a);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["measurements"][0]["same"], true, "{v}");
    assert_eq!(v["measurements"][0]["a"]["platform"], "vbs");
    assert_eq!(v["inputs"]["a"]["source"], "load manifest");
    assert_eq!(v["inputs"]["b"]["source"], "IGVM file");
    assert_eq!(v["inputs"]["b"]["arch"], "x64");
    let out = paravisor(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(
        text(&out.stdout).contains("identical"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_command_line_change_is_named_first_with_the_measurement_it_changes() {
    let (code, v) = one_change(CASE, "cmdline", |m| {
        m["command_line"]["value"] = json!("console=ttyS0,115200 panic=-1 reboot=t quiet");
    });
    assert_eq!(code, 1, "{v}");
    let cmdline = golden_page(CASE, "underhill-command-line");
    let first = &v["differences"][0];
    assert_eq!(first["group"], "pages", "{v}");
    assert_eq!(first["pages"]["start"], format!("{cmdline:#x}"), "{v}");
    assert_eq!(first["pages"]["count"], 1);
    assert!(
        first["change"]
            .as_str()
            .unwrap()
            .starts_with("different bytes")
    );
    assert_eq!(v["differences"].as_array().unwrap().len(), 1, "{v}");
    let m = &v["measurements"][0];
    assert_eq!(m["same"], false);
    assert_eq!(m["a"]["platform"], "vbs");
    assert_eq!(m["first_divergence"]["a"]["gpa"], format!("{cmdline:#x}"));
    assert_eq!(m["first_divergence"]["b"]["gpa"], format!("{cmdline:#x}"));
}

#[test]
fn a_memory_size_change_is_named_first_with_the_measurement_it_changes() {
    let (code, v) = one_change(CASE, "memory", |m| {
        m["memory_page_count"] = json!(2 * 16384);
    });
    assert_eq!(code, 1, "{v}");
    let first = &v["differences"][0];
    assert_eq!(first["group"], "platform", "{v}");
    assert_eq!(first["subject"], "RequiredMemory", "{v}");
    assert!(
        first["a"].as_str().unwrap().contains("0x4000000 bytes"),
        "{v}"
    );
    assert!(
        first["b"].as_str().unwrap().contains("0x8000000 bytes"),
        "{v}"
    );
    // The shim parameters record the size: measured page data changes.
    let shim_params = golden_page(CASE, "underhill-shim-params");
    assert!(
        v["differences"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["pages"]["start"] == format!("{shim_params:#x}")),
        "{v}"
    );
    assert_eq!(v["measurements"][0]["same"], false, "{v}");
}

#[test]
fn an_isolation_change_is_named_first_with_the_measurements_it_changes() {
    let case = "x64-snp46-nobase-64m-uefi";
    let dir = scratch("isolation");
    let mut m = manifest(case);
    let snp = json!({ "snp": { "shared_gpa_boundary_bits": 46, "policy": 196639,
                               "enable_debug": false, "injection_type": "normal" } });
    let a = igvm_of(&dir, "a", &m, snp);
    m["isolation"] = json!({ "type": "vbs", "paravisor_present": true,
                             "shared_gpa_boundary_bits": null });
    let b = igvm_of(&dir, "b", &m, vbs());
    let (code, v) = diff_json(&a, &b);
    assert_eq!(code, 1, "{v}");
    let first = &v["differences"][0];
    assert_eq!(first["subject"], "platform type", "{v}");
    assert_eq!(first["a"], "SEV_SNP");
    assert_eq!(first["b"], "VSM_ISOLATION");
    let m = &v["measurements"][0];
    assert_eq!(m["same"], false);
    assert_eq!(m["a"]["platform"], "snp");
    assert_eq!(m["b"]["platform"], "vbs");
    // The golden SNP file's digest (tests/golden/igvm/*-snp.json).
    let doc =
        std::fs::read_to_string(golden().join("igvm/x64-snp46-nobase-64m-uefi-snp.json")).unwrap();
    assert!(doc.contains(m["a"]["digest"].as_str().unwrap()), "{m}");
    // The SNP VMSA exists only in A.
    assert!(
        v["differences"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["subject"] == "SNP VMSA" && d["change"] == "only in A"),
        "{v}"
    );
}

#[test]
fn an_initrd_byte_change_is_named_first_with_the_measurement_it_changes() {
    let case = "x64-none-reloc-64m-uefi-initrd1m";
    let dir = scratch("initrd");
    let original = manifest(case)["initrd"].as_str().unwrap().to_owned();
    let mut bytes = std::fs::read(&original).unwrap();
    let offset = 0x12345;
    bytes[offset] ^= 1;
    let changed = dir.join("initrd.bin");
    std::fs::write(&changed, &bytes).unwrap();
    let (code, v) = one_change(case, "initrd-byte", |m| m["initrd"] = json!(changed));
    assert_eq!(code, 1, "{v}");
    let byte = golden_page(case, "underhill-initrd") + offset as u64;
    let first = &v["differences"][0];
    assert_eq!(first["group"], "pages", "{v}");
    assert_eq!(
        first["pages"]["start"],
        format!("{:#x}", byte & !0xFFF),
        "{v}"
    );
    assert_eq!(
        first["change"],
        format!("different bytes (first at {byte:#x})")
    );
    // The shim parameters hold the initrd CRC.
    let shim_params = golden_page(case, "underhill-shim-params");
    assert_eq!(
        v["differences"][1]["pages"]["start"],
        format!("{shim_params:#x}"),
        "{v}"
    );
    let m = &v["measurements"][0];
    assert_eq!(m["same"], false);
    assert_eq!(
        m["first_divergence"]["a"]["gpa"],
        format!("{:#x}", byte & !0xFFF)
    );
}

#[test]
fn manifests_are_diffed_with_the_loaders_region_tags() {
    let dir = scratch("tags");
    let mut m = manifest(CASE);
    let a = dir.join("a.json");
    std::fs::write(&a, m.to_string()).unwrap();
    m["command_line"]["value"] = json!("console=ttyS1");
    let b = dir.join("b.json");
    std::fs::write(&b, m.to_string()).unwrap();
    let (code, v) = diff_json(&a, &b);
    assert_eq!(code, 1);
    assert_eq!(
        v["differences"][0]["pages"]["tag"], "underhill-command-line",
        "{v}"
    );
    let out = paravisor(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("underhill-command-line"), "{stdout}");
    assert!(stdout.contains("VBS boot digest: DIFFERS"), "{stdout}");
    assert!(stdout.contains("first divergence"), "{stdout}");
}

#[test]
fn bad_inputs_and_usage_errors_exit_2() {
    let dir = scratch("bad");
    let good = golden().join("igvm/x64-tdx47-nobase-64m-uefi.igvm");
    let g = good.to_str().unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let truncated = dir.join("truncated.igvm");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let mut flipped = bytes.clone();
    flipped[40] ^= 0xFF;
    let damaged = dir.join("damaged.igvm");
    std::fs::write(&damaged, &flipped).unwrap();
    let text_file = dir.join("notes.txt");
    std::fs::write(&text_file, "hello").unwrap();
    let unknown = dir.join("unknown.json");
    std::fs::write(&unknown, r#"{"format":"something/2"}"#).unwrap();
    for other in [
        dir.join("missing.igvm"),
        truncated,
        damaged,
        text_file,
        unknown,
        dir.clone(),
    ] {
        for args in [
            ["diff", g, other.to_str().unwrap()],
            ["diff", other.to_str().unwrap(), g],
        ] {
            let out = paravisor(&args);
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(stderr.starts_with("paravisor: "), "{args:?}: {stderr}");
            assert!(
                stderr.contains(other.file_name().unwrap().to_str().unwrap()),
                "{stderr}"
            );
            assert!(!stderr.contains("panicked"), "{stderr}");
            assert!(out.stdout.is_empty(), "{args:?}");
        }
    }
    // Usage errors are trouble too (2): 1 means only "they differ".
    for args in [&["diff", g][..], &["diff"], &["diff", g, g, "--jsn"]] {
        let out = paravisor(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(text(&out.stderr).starts_with("paravisor: "));
    }
    // The same file twice: identical, from its bytes alone.
    assert_eq!(paravisor(&["diff", g, g]).status.code(), Some(0));
    let (code, v) = diff_json(&good, &good);
    assert_eq!(code, 0);
    assert_eq!(v["identical"], true);
    assert_eq!(v["same_bytes"], true);
}

#[test]
fn two_loader_abi_profiles_differ_in_the_shim_parameters_page() {
    // docs/abi-versions.md G1: release-1.7.2511 drops two fields of the
    // shim parameters; nothing else of this image changes, but the VBS boot
    // digest does, from that page on.
    let dir = scratch("abi");
    let mut m = manifest(CASE);
    let a = dir.join("seed.json");
    std::fs::write(&a, m.to_string()).unwrap();
    m["abi"] = json!("release-1.7.2511");
    let b = dir.join("r2511.json");
    std::fs::write(&b, m.to_string()).unwrap();
    let (code, v) = diff_json(&a, &b);
    assert_eq!(code, 1, "{v}");
    let shim_params = golden_page(CASE, "underhill-shim-params");
    let differences = v["differences"].as_array().unwrap();
    assert_eq!(differences.len(), 1, "{v}");
    assert_eq!(differences[0]["pages"]["tag"], "underhill-shim-params");
    assert_eq!(
        differences[0]["pages"]["start"],
        format!("{shim_params:#x}")
    );
    let m = &v["measurements"][0];
    assert_eq!(m["same"], false);
    assert_eq!(
        m["first_divergence"]["a"]["gpa"],
        format!("{shim_params:#x}")
    );
}

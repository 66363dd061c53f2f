//! The `paravisor` binary: exit statuses, outputs and error messages.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::golden;
use common::paravisor;
use serde_json::Value;
use std::path::Path;
use std::path::PathBuf;

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("paravisor-cli-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn summary_of_a_good_case_exits_0_and_equals_the_golden_summary() {
    let case = golden().join("cases/x64-none-reloc-64m-pcat.json");
    let out = paravisor(&["summary", case.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let ours: Value = serde_json::from_slice(&out.stdout).unwrap();
    let stored: Value = serde_json::from_str(
        &std::fs::read_to_string(golden().join("summaries/x64-none-reloc-64m-pcat.summary.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(ours, stored);
}

#[test]
fn summary_of_a_failing_load_exits_2_and_still_writes_ok_false() {
    let case = golden().join("cases/err-x64-cmdline-5000.json");
    let out_file = scratch("fail").join("s.json");
    let out = paravisor(&[
        "summary",
        case.to_str().unwrap(),
        "-o",
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("5000 bytes"),
        "{}",
        text(&out.stderr)
    );
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    assert_eq!(summary["ok"], Value::Bool(false));
    assert_eq!(summary["pages"], Value::Array(vec![]));
    assert_eq!(summary["registers"], serde_json::json!({}));
    assert!(summary["error"].is_string());
}

#[test]
fn a_missing_input_file_exits_1_naming_the_file() {
    let dir = scratch("missing");
    let manifest = std::fs::read_to_string(golden().join("cases/x64-none-reloc-64m-pcat.json"))
        .unwrap()
        .replace("../fixtures/kernel-x64.elf", "no-such-kernel.elf")
        .replace("../fixtures/shim-x64.elf", "no-such-shim.elf");
    let path = dir.join("m.json");
    std::fs::write(&path, manifest).unwrap();
    let out = paravisor(&["summary", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("no-such-kernel.elf"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn an_unknown_manifest_format_exits_1_naming_the_manifest() {
    let dir = scratch("format");
    let path = dir.join("bad-format.json");
    std::fs::write(&path, r#"{"format": "paravisor-load-manifest/9"}"#).unwrap();
    let out = paravisor(&["summary", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("bad-format.json") && err.contains("unknown format"),
        "{err}"
    );
}

#[test]
fn a_sidecar_on_aarch64_is_a_usage_error() {
    let dir = scratch("sidecar");
    let manifest = std::fs::read_to_string(golden().join("cases/a64-none-reloc-64m-uefi.json"))
        .unwrap()
        .replace("\"sidecar\": null", "\"sidecar\": \"x.elf\"");
    let path = dir.join("m.json");
    std::fs::write(&path, manifest).unwrap();
    let out = paravisor(&["summary", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("sidecar"));
}

#[test]
fn layout_lists_regions_in_ascending_address_order_with_gaps() {
    let case = golden().join("cases/x64-vbs-nobase-64m-uefi.json");
    let out = paravisor(&["layout", case.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    for needle in [
        "underhill-kernel",
        "underhill-page-tables",
        "-- gap --",
        "registers:",
        "parameter areas:",
        "shim parameters",
        "kernel_entry_offset",
    ] {
        assert!(s.contains(needle), "missing {needle:?} in:\n{s}");
    }
    // Region starts (first column of the region table) never decrease.
    let starts: Vec<u64> = s
        .lines()
        .skip_while(|l| !l.starts_with("regions"))
        .skip(2)
        .take_while(|l| !l.is_empty())
        .map(|l| {
            u64::from_str_radix(
                l.split_whitespace()
                    .next()
                    .unwrap()
                    .trim_start_matches("0x"),
                16,
            )
            .unwrap()
        })
        .collect();
    assert!(starts.len() > 10);
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:x?}");
}

#[test]
fn demo_runs_on_built_in_inputs() {
    let out = paravisor(&["demo"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    // Worked example: page tables at 0x849_3000, RSI 0x1_1000.
    assert!(s.contains("0x8493000"), "{s}");
    assert!(s.contains("\"0x11000\""), "{s}");
}

#[test]
fn an_unknown_command_exits_1_with_usage() {
    let out = paravisor(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("usage: paravisor"));
}

/// A golden case written to `dir` with `"abi"` set (its relative paths
/// rewritten to the golden folder).
fn with_abi(dir: &Path, case: &str, abi: &str) -> PathBuf {
    let text = std::fs::read_to_string(golden().join("cases").join(case)).unwrap();
    let fixtures = golden().join("fixtures");
    let text = text.replace("../fixtures", fixtures.to_str().unwrap());
    let mut manifest: Value = serde_json::from_str(&text).unwrap();
    manifest["abi"] = Value::String(abi.into());
    let path = dir.join(format!("{abi}-{case}"));
    std::fs::write(&path, manifest.to_string()).unwrap();
    path
}

#[test]
fn layout_and_summary_name_the_abi_profile() {
    let dir = scratch("abi");
    let case = "x64-none-reloc-64m-uefi-initrd1m.json";
    let main = with_abi(&dir, case, "main-1488a37b");
    let out = paravisor(&["layout", main.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let map: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(map["abi"], "main-1488a37b");
    assert!(
        !map.to_string().contains("page_tables_start"),
        "main's shim parameters have no page_tables_start"
    );
    let out = paravisor(&["layout", main.to_str().unwrap()]);
    assert!(text(&out.stdout).starts_with(
        "paravisor image: x86_64, isolation none, paravisor present: true, ABI profile main-1488a37b\n"
    ));
    // docs/abi-versions.md G6: 33667 for this case.
    let out = paravisor(&["summary", main.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains("ABI profile main-1488a37b"));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["expected_page_hashes_config_page"], 33667);
    let seed = with_abi(&dir, case, "seed-95f63b08");
    let out = paravisor(&["layout", seed.to_str().unwrap(), "--json"]);
    let map: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(map["abi"], "seed-95f63b08");
    assert!(map.to_string().contains("page_tables_start"));
}

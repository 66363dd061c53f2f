//! Bad input for the `paravisor` command-line tool: missing files,
//! directories instead of files, empty files, invalid JSON, an unknown
//! manifest format, negative, fractional and huge numbers, a VTL2 range
//! whose base + size overflows 2^64, bad arguments. Each must give a
//! one-line error on stderr naming the input and the problem, exit status 1
//! (usage / input error), no panic and no backtrace (`RUST_BACKTRACE=1` is
//! set so a panic could not hide its backtrace). The 2^64 overflow is a
//! problem of the manifest too (exit 1, one line naming the manifest and
//! the fields), but `summary` still writes the `ok: false` summary so a tool
//! comparing summaries sees a failed load; see
//! `assert_overflow_is_a_manifest_error`.
//!
//! The binary belongs to another package: `paravisor_tests::cargo_build::
//! paravisor_bin` builds it.

use paravisor_tests::cargo_build::paravisor_bin;
use serde_json::Value;
use serde_json::json;
use std::path::Path;
use std::path::PathBuf;
use std::process::Command;
use std::process::Output;

/// A scratch folder for this test process.
fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("paravisor-bad-input-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create scratch folder");
    dir
}

fn fixture(name: &str) -> PathBuf {
    paravisor_tests::golden_dir().join("fixtures").join(name)
}

/// A valid x86-64 manifest (absolute paths), as JSON, to be broken.
fn good_manifest() -> Value {
    json!({
        "format": "paravisor-load-manifest/1",
        "arch": "x86_64",
        "isolation": { "type": "none", "paravisor_present": true, "shared_gpa_boundary_bits": null },
        "kernel": fixture("kernel-x64.elf"),
        "shim": fixture("shim-x64.elf"),
        "sidecar": null,
        "initrd": null,
        "command_line": { "type": "static", "value": "console=ttyS0" },
        "memory_page_base": null,
        "memory_page_count": 16384,
        "vtl0": { "pcat": true, "uefi": null, "linux": null }
    })
}

/// Writes `text` as a manifest file and returns its path.
fn write_manifest(name: &str, text: &str) -> PathBuf {
    let path = scratch(name).join("manifest.json");
    std::fs::write(&path, text).expect("write manifest");
    path
}

fn run(args: &[&str]) -> Output {
    Command::new(paravisor_bin())
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run paravisor")
}

/// Runs `paravisor <command> <path>` and checks the bad-input contract:
/// exit 1, nothing on stdout, one stderr line that names `names` and
/// contains every `problem` fragment, no panic, no backtrace.
fn assert_bad_input(command: &str, path: &Path, names: &str, problem: &[&str]) {
    let out = run(&[command, path.to_str().expect("utf-8 path")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let context = format!("paravisor {command} {}\nstderr:\n{stderr}", path.display());
    assert_eq!(out.status.code(), Some(1), "exit status\n{context}");
    assert!(out.stdout.is_empty(), "stdout not empty\n{context}");
    assert!(!stderr.contains("panicked"), "panic\n{context}");
    assert!(!stderr.contains("stack backtrace"), "backtrace\n{context}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "not a one-line error\n{context}");
    let line = lines[0];
    assert!(line.contains(names), "does not name {names:?}\n{context}");
    for fragment in problem {
        assert!(
            line.to_lowercase().contains(&fragment.to_lowercase()),
            "does not say {fragment:?}\n{context}"
        );
    }
}

/// The manifest with `edit` applied, written, then checked with both
/// `summary` and `layout`.
fn assert_bad_manifest(name: &str, edit: impl Fn(&mut Value), names: &str, problem: &[&str]) {
    let mut manifest = good_manifest();
    edit(&mut manifest);
    let path = write_manifest(name, &manifest.to_string());
    for command in ["summary", "layout"] {
        assert_bad_input(command, &path, names, problem);
    }
}

#[test]
fn the_good_manifest_loads() {
    let path = write_manifest("good", &good_manifest().to_string());
    let out = run(&["summary", path.to_str().expect("utf-8 path")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_missing_manifest() {
    let path = scratch("missing").join("no-such-manifest.json");
    for command in ["summary", "layout"] {
        assert_bad_input(command, &path, "no-such-manifest.json", &["no such file"]);
    }
}

#[test]
fn a_directory_instead_of_the_manifest() {
    let dir = scratch("dir-manifest");
    for command in ["summary", "layout"] {
        assert_bad_input(command, &dir, "dir-manifest", &["directory"]);
    }
}

#[test]
fn an_empty_manifest() {
    let path = write_manifest("empty-manifest", "");
    assert_bad_input("summary", &path, "manifest.json", &["json"]);
}

#[test]
fn invalid_json() {
    let path = write_manifest(
        "invalid-json",
        "{ \"format\": \"paravisor-load-manifest/1\", ",
    );
    assert_bad_input("summary", &path, "manifest.json", &["json"]);
    let path = write_manifest("not-an-object", "[1, 2, 3]");
    assert_bad_input("summary", &path, "manifest.json", &[]);
}

#[test]
fn an_unknown_manifest_format() {
    assert_bad_manifest(
        "format",
        |m| m["format"] = json!("paravisor-load-manifest/99"),
        "manifest.json",
        &["paravisor-load-manifest/99"],
    );
}

#[test]
fn a_missing_kernel_file() {
    let missing = scratch("missing-kernel").join("no-such-kernel.elf");
    assert_bad_manifest(
        "missing-kernel",
        |m| m["kernel"] = json!(missing),
        "no-such-kernel.elf",
        &["kernel", "no such file"],
    );
}

#[test]
fn a_directory_instead_of_the_shim() {
    let dir = scratch("shim-dir");
    assert_bad_manifest(
        "shim-dir",
        |m| m["shim"] = json!(dir),
        "shim-dir",
        &[
            "is a directory, expected a file (the shim named by",
            "manifest.json",
        ],
    );
}

#[test]
fn an_empty_initrd_loads_and_an_empty_kernel_is_a_load_error_not_a_crash() {
    // Empty files are valid input files (an empty initrd is allowed); an
    // empty kernel is a load error (exit 2, summary with ok: false).
    let dir = scratch("empty-files");
    let empty = dir.join("empty.bin");
    std::fs::write(&empty, b"").expect("write empty file");
    let mut manifest = good_manifest();
    manifest["initrd"] = json!(empty);
    let path = write_manifest("empty-initrd", &manifest.to_string());
    let out = run(&["summary", path.to_str().expect("utf-8 path")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    manifest["kernel"] = json!(empty);
    let path = write_manifest("empty-kernel", &manifest.to_string());
    let out = run(&["summary", path.to_str().expect("utf-8 path")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let summary: Value = serde_json::from_slice(&out.stdout).expect("summary JSON");
    assert_eq!(summary["ok"], json!(false));

    // `layout` reports the failed load on stderr only, one line naming the
    // manifest.
    let out = run(&["layout", path.to_str().expect("utf-8 path")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("manifest.json") && stderr.contains("load failed"),
        "{stderr}"
    );
}

#[test]
fn a_negative_number() {
    assert_bad_manifest(
        "negative",
        |m| m["memory_page_count"] = json!(-1),
        "manifest.json",
        &["memory_page_count"],
    );
}

#[test]
fn a_fractional_number() {
    assert_bad_manifest(
        "fraction",
        |m| m["memory_page_count"] = json!(1.5),
        "manifest.json",
        &["memory_page_count"],
    );
}

#[test]
fn a_number_above_2_pow_64() {
    // serde_json's `json!` cannot hold it: write the text directly.
    let text = good_manifest().to_string().replace(
        "\"memory_page_count\":16384",
        "\"memory_page_count\":18446744073709551616",
    );
    assert!(text.contains("18446744073709551616"));
    let path = write_manifest("huge", &text);
    for command in ["summary", "layout"] {
        assert_bad_input(command, &path, "manifest.json", &["memory_page_count"]);
    }
}

/// A VTL2 range that does not fit in 64 bits is a problem of the manifest:
/// `summary` and `layout` exit 1 with one stderr line naming the manifest,
/// the fields (`fields`) and the problem, no panic. `summary` still writes
/// the summary of a failed load (`ok: false`, no pages) on stdout, so a tool
/// comparing summaries sees the load fail as the original's does; `layout`
/// prints nothing on stdout.
fn assert_overflow_is_a_manifest_error(name: &str, base: u64, count: u64, fields: &[&str]) {
    let mut manifest = good_manifest();
    manifest["memory_page_base"] = json!(base);
    manifest["memory_page_count"] = json!(count);
    let path = write_manifest(name, &manifest.to_string());
    let out = run(&["summary", path.to_str().expect("utf-8 path")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("stack backtrace"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("manifest.json"),
        "does not name the manifest: {stderr}"
    );
    assert!(
        stderr.contains("64-bit address space"),
        "does not say why: {stderr}"
    );
    for field in fields {
        assert!(stderr.contains(field), "does not name {field}: {stderr}");
    }
    let summary: Value = serde_json::from_slice(&out.stdout).expect("summary JSON");
    assert_eq!(summary["ok"], json!(false));
    assert_eq!(summary["pages"], json!([]), "a failed load imported pages");

    let problem: Vec<&str> = fields
        .iter()
        .copied()
        .chain(["64-bit address space"])
        .collect();
    assert_bad_input("layout", &path, "manifest.json", &problem);
}

#[test]
fn a_vtl2_range_whose_base_plus_size_overflows_2_pow_64() {
    // Page base 2^52 - 512: base × 4096 fits in 64 bits (0xFFFF_FFFF_FFE0_0000),
    // base + 1024 pages does not.
    assert_overflow_is_a_manifest_error(
        "overflow-end",
        (1 << 52) - 512,
        1024,
        &["memory_page_base", "memory_page_count"],
    );
    // A page base whose byte address alone overflows.
    assert_overflow_is_a_manifest_error("overflow-base", u64::MAX, 16384, &["memory_page_base"]);
    // A page count whose byte size alone overflows (2^52 pages).
    assert_overflow_is_a_manifest_error("overflow-count", 0, 1 << 52, &["memory_page_count"]);
}

#[test]
fn a_wrong_type() {
    assert_bad_manifest(
        "wrong-type",
        |m| m["memory_page_count"] = json!("16384"),
        "manifest.json",
        &["memory_page_count"],
    );
    assert_bad_manifest(
        "wrong-isolation",
        |m| m["isolation"]["type"] = json!("sgx"),
        "manifest.json",
        &["sgx"],
    );
}

#[test]
fn a_missing_argument_and_an_unknown_command() {
    for args in [
        &["summary"][..],
        &["layout"][..],
        &["frobnicate"][..],
        &[][..],
    ] {
        let out = run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(stderr.starts_with("paravisor: "), "{args:?}: {stderr}");
    }
}

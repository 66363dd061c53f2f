//! The `paravisor` binary on three kinds of bad input (issue 9, "Bad input
//! for the CLI"; issue 6, "The CLI"):
//! - a VTL2 range past 2^64 is a problem of the manifest: exit 1 with one
//!   stderr line naming the manifest and the fields, for every subcommand
//!   that reads a manifest; `summary` still writes the `ok: false` summary
//!   (docs/formats.md §3 rule 2) so a tool comparing summaries sees a failed load;
//! - `layout` reports a failed load on stderr, one line naming the manifest,
//!   exit 2, nothing on stdout;
//! - a directory given as an input file is named with its manifest field,
//!   before any mapping; an empty input file maps (as an empty slice).

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
use serde_json::json;
use std::path::Path;
use std::path::PathBuf;
use std::process::Output;

fn fixture(name: &str) -> String {
    golden()
        .join("fixtures")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "paravisor-cli-input-errors-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The golden x86-64 case with UEFI (fixed base 256 MiB, 64 MiB), with
/// absolute input paths.
fn uefi_manifest() -> Value {
    json!({
        "format": "paravisor-load-manifest/1",
        "arch": "x86_64",
        "isolation": { "type": "none", "paravisor_present": true, "shared_gpa_boundary_bits": null },
        "kernel": fixture("kernel-x64.elf"),
        "shim": fixture("shim-x64.elf"),
        "sidecar": null,
        "initrd": null,
        "command_line": { "type": "static", "value": "console=ttyS0,115200 panic=-1 reboot=t" },
        "memory_page_base": 65536,
        "memory_page_count": 16384,
        "vtl0": { "pcat": true, "uefi": {
            "firmware_base": 1048576, "total_size": 8257536,
            "vp_context": fixture("uefi-vp-context.bin") }, "linux": null }
    })
}

fn write(dir: &Path, name: &str, v: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, v.to_string()).unwrap();
    path
}

/// The one stderr line of `out`, after checking there is exactly one and
/// no panic.
fn one_line(out: &Output) -> String {
    let err = text(&out.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "not one line: {err}");
    err.trim_end().to_owned()
}

/// Page base 2^52 - 512: base × 4096 = 0xFFFF_FFFF_FFE0_0000 fits, base +
/// 1024 pages passes 2^64.
const END_PAST_2_64: (u64, u64) = ((1 << 52) - 512, 1024);

fn overflow_manifest(dir: &Path, base: Option<u64>, count: u64) -> PathBuf {
    let mut m = uefi_manifest();
    m["memory_page_base"] = json!(base);
    m["memory_page_count"] = json!(count);
    write(dir, "overflow.json", &m)
}

#[test]
fn summary_of_a_vtl2_range_past_2_64_exits_1_and_still_writes_an_ok_false_summary() {
    let dir = scratch("overflow-summary");
    let (base, count) = END_PAST_2_64;
    let manifest = overflow_manifest(&dir, Some(base), count);
    let out_file = dir.join("s.json");
    let out = paravisor(&[
        "summary",
        manifest.to_str().unwrap(),
        "-o",
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let line = one_line(&out);
    let expected = format!(
        "{}: memory_page_base 0xffffffffffe00 + memory_page_count 0x400 pages \
         overflows the 64-bit address space",
        manifest.display()
    );
    assert_eq!(line, format!("paravisor: {expected}"));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));

    // docs/formats.md §3 rule 2: ok false, every list empty, registers {}, every
    // other field null apart from format, arch, ok and error.
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    let fields = summary.as_object().unwrap();
    for (key, value) in fields {
        match key.as_str() {
            "format" => assert_eq!(value, "paravisor-image-summary/1"),
            "arch" => assert_eq!(value, "x86_64"),
            "ok" => assert_eq!(value, &json!(false)),
            "error" => assert_eq!(value, &json!(expected)),
            "registers" => assert_eq!(value, &json!({})),
            _ => assert!(
                value.is_null() || value == &json!([]),
                "{key} is {value} in a failed summary"
            ),
        }
    }
    assert!(fields.contains_key("error") && fields.contains_key("pages"));

    // Without -o the summary goes to stdout, the line to stderr.
    let out = paravisor(&["summary", manifest.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(one_line(&out), format!("paravisor: {expected}"));
    let on_stdout: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(on_stdout, summary);
}

#[test]
fn each_way_past_2_64_names_its_fields() {
    let dir = scratch("overflow-fields");
    for (base, count, says) in [
        (
            Some(u64::MAX),
            16384,
            "memory_page_base 0xffffffffffffffff × 4096 overflows",
        ),
        (
            Some(0),
            1 << 52,
            "memory_page_count 0x10000000000000 × 4096 overflows",
        ),
        (
            None,
            (1 << 52) - 1,
            "the default VTL2 base 0x8000000 + memory_page_count 0xfffffffffffff pages overflows",
        ),
    ] {
        let manifest = overflow_manifest(&dir, base, count);
        let out = paravisor(&["summary", manifest.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        let line = one_line(&out);
        assert!(line.contains(says), "{line}");
        assert!(line.contains("overflow.json"), "{line}");
        let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(summary["ok"], json!(false));
    }
}

#[test]
fn a_range_ending_inside_2_64_is_left_to_the_loader() {
    // 0xFFFF_FFFF_FFE0_0000 + 511 pages ends at 2^64 - 4096: representable,
    // so not a manifest error; the loader refuses the unaligned size
    // (exit 2, docs/formats.md: a failed load).
    let dir = scratch("overflow-inside");
    let manifest = overflow_manifest(&dir, Some(END_PAST_2_64.0), 511);
    let out = paravisor(&["summary", manifest.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(one_line(&out).contains("load failed"));
}

#[test]
fn layout_bench_and_boot_refuse_a_vtl2_range_past_2_64_with_the_same_line() {
    let dir = scratch("overflow-others");
    let (base, count) = END_PAST_2_64;
    let manifest = overflow_manifest(&dir, Some(base), count);
    let m = manifest.to_str().unwrap();
    let expected = format!(
        "paravisor: {m}: memory_page_base 0xffffffffffe00 + memory_page_count 0x400 pages \
         overflows the 64-bit address space"
    );
    for args in [&["layout", m][..], &["bench", m], &["boot", m]] {
        let out = paravisor(args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert_eq!(one_line(&out), expected, "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out.stdout));
    }
}

#[test]
fn igvm_refuses_a_config_whose_manifest_has_a_vtl2_range_past_2_64() {
    let dir = scratch("overflow-igvm");
    let (base, count) = END_PAST_2_64;
    let manifest = overflow_manifest(&dir, Some(base), count);
    let config = write(
        &dir,
        "config.json",
        &json!({
            "format": "paravisor-igvm-config/1",
            "guest_arch": "x64",
            "guest_configs": [{ "guest_svn": 1, "max_vtl": 2,
                                "isolation_type": "none",
                                "load_manifest": "overflow.json" }]
        }),
    );
    let out_igvm = dir.join("out.igvm");
    let out = paravisor(&[
        "igvm",
        config.to_str().unwrap(),
        "-o",
        out_igvm.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let line = one_line(&out);
    assert!(
        line.contains(manifest.to_str().unwrap()) && line.contains("64-bit address space"),
        "{line}"
    );
    assert!(!out_igvm.exists(), "an IGVM file was written");
}

#[test]
fn layout_reports_a_failed_load_on_stderr_naming_the_manifest() {
    let case = golden().join("cases/err-x64-cmdline-5000.json");
    let out = paravisor(&["layout", case.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let line = one_line(&out);
    assert!(
        line.starts_with(&format!("paravisor: {}: load failed: ", case.display())),
        "{line}"
    );
    assert!(line.contains("5000 bytes"), "{line}");
}

#[test]
fn a_directory_as_an_input_file_names_the_field() {
    let dir = scratch("dir-inputs");
    let folder = dir.join("a-folder");
    std::fs::create_dir_all(&folder).unwrap();
    let f = json!(folder);
    // (manifest field as the message names it, its JSON pointer)
    for (role, pointer) in [
        ("kernel", "/kernel"),
        ("shim", "/shim"),
        ("sidecar", "/sidecar"),
        ("initrd", "/initrd"),
        ("vtl0.uefi.vp_context", "/vtl0/uefi/vp_context"),
    ] {
        let mut m = uefi_manifest();
        *m.pointer_mut(pointer).unwrap() = f.clone();
        let manifest = write(&dir, &format!("{role}.json"), &m);
        for command in ["summary", "layout"] {
            let out = paravisor(&[command, manifest.to_str().unwrap()]);
            assert_eq!(out.status.code(), Some(1), "{role} {command}");
            assert!(out.stdout.is_empty(), "{role} {command}");
            assert_eq!(
                one_line(&out),
                format!(
                    "paravisor: {}: is a directory, expected a file (the {role} named by {})",
                    folder.display(),
                    manifest.display()
                )
            );
        }
    }
}

#[test]
fn empty_input_files_map_as_empty_slices() {
    let dir = scratch("empty-inputs");
    let empty = dir.join("empty.bin");
    std::fs::write(&empty, b"").unwrap();
    // An empty initrd is a valid input: the load succeeds.
    let mut m = uefi_manifest();
    m["initrd"] = json!(empty);
    let manifest = write(&dir, "initrd.json", &m);
    let out = paravisor(&["summary", manifest.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // An empty shim maps too; the loader (not the mapping) refuses it.
    let mut m = uefi_manifest();
    m["shim"] = json!(empty);
    let manifest = write(&dir, "shim.json", &m);
    let out = paravisor(&["summary", manifest.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let line = one_line(&out);
    assert!(
        line.contains("load failed") && !line.contains("os error"),
        "{line}"
    );
}

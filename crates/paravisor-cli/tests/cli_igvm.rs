//! `paravisor igvm` and `paravisor inspect`: outputs equal the IGVM goldens,
//! exit statuses, and error messages.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::paravisor;
use std::path::Path;
use std::path::PathBuf;

fn golden_igvm() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/igvm")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "paravisor-cli-igvm-test-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn igvm_writes_the_golden_file_and_documents_and_prints_the_measurements() {
    let stem = "multi-x64-snp-tdx-vbs-nobase-64m-uefi";
    let config = golden_igvm().join(format!("{stem}.config.json"));
    let dir = scratch("cvm");
    let out = dir.join("cvm.igvm");
    let o = paravisor(&[
        "igvm",
        config.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        std::fs::read(&out).unwrap()
            == std::fs::read(golden_igvm().join(format!("{stem}.igvm"))).unwrap(),
        "file differs from the golden"
    );
    let stdout = text(&o.stdout);
    for iso in ["snp", "tdx", "vbs"] {
        let ours = std::fs::read(dir.join(format!("cvm-{iso}.json"))).unwrap();
        let golden = std::fs::read(golden_igvm().join(format!("{stem}-{iso}.json"))).unwrap();
        assert_eq!(text(&ours), text(&golden), "{iso} document");
        // The printed digest is the one in the document.
        let doc = text(&golden);
        let hex = doc
            .split('"')
            .find(|s| s.len() >= 64 && s.chars().all(|c| c.is_ascii_hexdigit()))
            .unwrap();
        assert!(stdout.contains(hex), "{iso}: {hex} not printed:\n{stdout}");
    }
}

#[test]
fn inspect_prints_headers_directives_and_recomputed_measurements() {
    let file = golden_igvm().join("x64-tdx47-nobase-64m-uefi.igvm");
    let o = paravisor(&["inspect", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(
        stdout.contains("re-serialises to the same bytes"),
        "{stdout}"
    );
    assert!(stdout.contains("TDX highest_vtl 2"), "{stdout}");
    assert!(
        stdout.contains("GuestPolicy mask 0x1: policy 0x2"),
        "{stdout}"
    );
    assert!(stdout.contains(
        "TDX MRTD: 83CA1CA2826D956E0340192DEB3152E43584443B5354061D5F7EC12F9C6859D14EE907FA2E1EDD87F57B7B25C232DB86"
    ));
}

#[test]
fn bad_inputs_give_exit_1_or_2_with_a_message() {
    // Not an IGVM file: exit 2.
    let not_igvm = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let o = paravisor(&["inspect", not_igvm.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("not a valid IGVM file"));
    // Missing -o: usage error.
    let config = golden_igvm().join("x64-tdx47-nobase-64m-uefi.config.json");
    let o = paravisor(&["igvm", config.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("missing -o"));
    // A config of another format: usage error naming the format.
    let dir = scratch("bad");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"format":"paravisor-load-manifest/1"}"#).unwrap();
    let out = dir.join("x.igvm");
    let o = paravisor(&["igvm", bad.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("unknown format"),
        "{}",
        text(&o.stderr)
    );
    assert!(!out.exists());
}

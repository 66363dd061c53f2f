//! The conventions of the `paravisor` command line (issue 17): `--help` on
//! every subcommand with its arguments and exit statuses, `--version` with
//! the commit and the OpenHCL ABIs, suggestions for mistyped commands and
//! options (usage errors exit 1 with a `paravisor: ` message), shell
//! completions, and `--json` for the layout.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::paravisor;
use serde_json::Value;
use std::path::Path;
use std::path::PathBuf;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/golden/cases")
        .join(name)
}

/// Every subcommand with an argument or option its help must name.
const SUBCOMMANDS: [(&str, &str); 9] = [
    ("summary", "--output"),
    ("layout", "--json"),
    ("demo", "--json"),
    ("igvm", "--output"),
    ("inspect", "FILE.igvm"),
    ("diff", "--json"),
    ("boot", "--timeout"),
    ("bench", "--iterations"),
    ("completions", "SHELL"),
];

#[test]
fn every_subcommand_has_help_with_its_arguments_and_exit_statuses() {
    for (sub, names) in SUBCOMMANDS {
        for help in ["--help", "-h"] {
            let out = paravisor(&[sub, help]);
            let stdout = text(&out.stdout);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{sub} {help}: {}",
                text(&out.stderr)
            );
            assert!(
                stdout.contains(&format!("Usage: paravisor {sub}")),
                "{sub} {help}:\n{stdout}"
            );
            assert!(
                stdout.contains(names),
                "{sub} {help} lacks {names}:\n{stdout}"
            );
            assert!(stdout.contains("Exit status: 0"), "{sub} {help}:\n{stdout}");
        }
        // `paravisor help SUB` is the same text.
        let out = paravisor(&["help", sub]);
        assert_eq!(out.status.code(), Some(0), "help {sub}");
        assert!(text(&out.stdout).contains(names), "help {sub}");
    }
    let out = paravisor(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    for (sub, _) in SUBCOMMANDS {
        assert!(
            stdout.contains(&format!("  {sub} ")),
            "--help lacks {sub}:\n{stdout}"
        );
    }
}

#[test]
fn version_names_the_commit_and_the_openhcl_abis() {
    let out = paravisor(&["--version"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with(&format!("paravisor {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{stdout}"
    );
    let commit = stdout
        .split("(commit ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap();
    assert!(
        commit == "unknown" || (commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "commit {commit:?}"
    );
    // docs/abi-versions.md: the seed ABI is always producible.
    assert!(stdout.contains("OpenHCL ABIs"), "{stdout}");
    assert!(stdout.contains("seed-95f63b08"), "{stdout}");
    // -V: the short form, same first line.
    let out = paravisor(&["-V"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout).lines().next(), stdout.lines().next());
}

#[test]
fn mistyped_commands_and_options_get_suggestions_and_exit_1() {
    let manifest = case("x64-none-reloc-64m-pcat.json");
    let m = manifest.to_str().unwrap();
    for (args, suggestion) in [
        (vec!["layuot", m], "layout"),
        (vec!["sumary", m], "summary"),
        (vec!["summary", m, "--outptu", "x.json"], "--output"),
        (vec!["bench", m, "--iteration", "2"], "--iterations"),
        (vec!["layout", m, "--jsno"], "--json"),
    ] {
        let out = paravisor(&args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.starts_with("paravisor: "), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("'{suggestion}'")),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("usage: paravisor"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn completions_are_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = paravisor(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        // Every subcommand is completed.
        for (sub, _) in SUBCOMMANDS {
            assert!(script.contains(sub), "{shell} lacks {sub}");
        }
    }
    let out = paravisor(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn layout_json_has_the_rows_of_the_map() {
    let manifest = case("x64-vbs-nobase-64m-uefi.json");
    let m = manifest.to_str().unwrap();
    let out = paravisor(&["layout", m, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let table = text(&paravisor(&["layout", m]).stdout);
    // One JSON row per line of the region table, in the same order.
    let lines: Vec<&str> = table
        .lines()
        .skip_while(|l| !l.starts_with("regions"))
        .skip(2)
        .take_while(|l| !l.is_empty())
        .collect();
    let rows = v["regions"].as_array().unwrap();
    assert_eq!(rows.len(), lines.len());
    for (row, line) in rows.iter().zip(&lines) {
        let start = line.split_whitespace().next().unwrap();
        assert_eq!(row["start"], start, "{line}");
        match row["kind"].as_str().unwrap() {
            "region" => assert!(line.contains(row["tag"].as_str().unwrap()), "{line}"),
            "gap" => assert!(line.contains("-- gap --"), "{line}"),
            "free" => assert!(line.contains("-- free VTL2 memory --"), "{line}"),
            other => panic!("row kind {other}"),
        }
    }
    assert_eq!(v["arch"], "x86_64");
    assert_eq!(v["isolation"], "vbs");
    assert!(v["registers"]["rip"].is_string());
    assert_eq!(v["parameter_areas"][0]["tag"], "underhill-slit");
    let fields = v["shim_parameters"]["fields"].as_array().unwrap();
    assert!(fields.iter().any(|f| f["name"] == "kernel_entry_offset"));
}

#[test]
fn demo_json_is_one_object() {
    let out = paravisor(&["demo", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Worked example: page tables at 0x849_3000, RSI 0x1_1000.
    assert_eq!(v["registers"]["rsi"], "0x11000");
    assert!(
        v["regions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["start"] == "0x8493000")
    );
}

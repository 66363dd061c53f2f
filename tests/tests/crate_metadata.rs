//! Every publishable workspace crate is release-ready: the files and
//! metadata its registry page is made of are present and free of
//! placeholders. A crate added without them fails here, naming the crate and
//! what is missing (or it says `publish = false` in its Cargo.toml).
//!
//! Checked for each member whose `publish` is not `false`:
//! - `description`, `license = "MIT"` and a `LICENSE` file in the crate that
//!   is the workspace's `LICENSE` (a link to it, so `cargo package` packs it);
//! - `readme = "README.md"`, the README starts with `# <crate>`, has a Rust
//!   example, a `no_std`/features section and a license section, and is the
//!   crate's documentation (`#![doc = include_str!("../README.md")]` in
//!   `src/lib.rs`), so its example compiles and runs as a doc test;
//! - `CHANGELOG.md` with a section for the crate's version;
//! - 1 to 5 keywords in the registry's format, 1 to 5 categories from the
//!   registry's category list, no placeholder URL;
//! - every non-dev path dependency has a version and is itself publishable
//!   (else `cargo package` fails).
//!
//! `cargo package --workspace` itself runs in `scripts/test`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// The library crates a firmware author takes from the registry; each must
/// stay publishable.
const LIBRARY_CRATES: [&str; 9] = [
    "vp-regs",
    "paravisor-layout",
    "snp-cpuid",
    "x86-pagetables",
    "arm64-pagetables",
    "elf-static-loader",
    "paravisor-loader",
    "paravisor-host",
    "paravisor-igvm",
];

/// Category slugs of the registry that fit this workspace's crates (a subset
/// of the registry's list; an unknown slug is rejected at publish time, so a
/// new one is added here only after checking the list).
const KNOWN_CATEGORIES: [&str; 17] = [
    "no-std",
    "no-std::no-alloc",
    "embedded",
    "virtualization",
    "os",
    "os::linux-apis",
    "hardware-support",
    "memory-management",
    "parser-implementations",
    "encoding",
    "cryptography",
    "emulators",
    "command-line-utilities",
    "development-tools",
    "development-tools::testing",
    "filesystem",
    "data-structures",
];

fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(paravisor_tests::workspace_root())
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata JSON")
}

/// The workspace members, as `cargo metadata` objects.
fn members(meta: &Value) -> Vec<&Value> {
    let ids: Vec<&str> = meta["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap())
        .collect();
    meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| ids.contains(&p["id"].as_str().unwrap()))
        .collect()
}

fn is_publishable(package: &Value) -> bool {
    // `publish = false` is an empty registry list; absent is `null`.
    package["publish"].as_array().is_none_or(|r| !r.is_empty())
}

fn valid_keyword(k: &str) -> bool {
    k.len() <= 20
        && k.starts_with(|c: char| c.is_ascii_alphabetic())
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Everything wrong with one publishable package, as readable lines.
/// `unpublished`: the workspace members with `publish = false`.
fn problems(package: &Value, root_license: &[u8], unpublished: &[&str]) -> Vec<String> {
    let name = package["name"].as_str().unwrap();
    let version = package["version"].as_str().unwrap();
    let manifest = Path::new(package["manifest_path"].as_str().unwrap());
    let dir = manifest.parent().unwrap();
    let mut out = Vec::new();
    let mut problem = |what: String| out.push(format!("{name}: {what}"));

    let text = |key: &str| package[key].as_str().unwrap_or_default().trim().to_string();
    if text("description").is_empty() {
        problem("no `description`".into());
    }
    if text("license") != "MIT" {
        problem(format!("license is {:?}, not \"MIT\"", package["license"]));
    }
    match std::fs::read(dir.join("LICENSE")) {
        Ok(bytes) if bytes == root_license => {}
        Ok(_) => problem("LICENSE differs from the workspace's LICENSE".into()),
        Err(e) => problem(format!(
            "no LICENSE ({e}): link it with `ln -s ../../LICENSE {}/LICENSE`",
            dir.display()
        )),
    }
    for key in ["repository", "homepage", "documentation"] {
        let url = text(key);
        if !url.is_empty() && (!url.starts_with("https://") || url.contains("example")) {
            problem(format!("`{key}` is a placeholder: {url}"));
        }
    }
    let docs = text("documentation");
    if !docs.is_empty() && docs != format!("https://docs.rs/{name}") {
        problem(format!("`documentation` is {docs}, not this crate's docs"));
    }

    if text("readme") != "README.md" {
        problem(format!(
            "`readme` is {:?}, not \"README.md\"",
            package["readme"]
        ));
    }
    match std::fs::read_to_string(dir.join("README.md")) {
        Ok(readme) => {
            if !readme.starts_with(&format!("# {name}\n")) {
                problem(format!("README.md does not start with `# {name}`"));
            }
            if !readme.contains("```rust\n") {
                problem("README.md has no ```rust example".into());
            }
            if !readme.contains("## `no_std` and features") {
                problem("README.md has no `## `no_std` and features` section".into());
            }
            if !readme.contains("## License") {
                problem("README.md has no `## License` section".into());
            }
        }
        Err(e) => problem(format!("no README.md: {e}")),
    }
    let lib = package["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"].as_array().unwrap().iter().any(|k| k == "lib"));
    if let Some(lib) = lib {
        let src = std::fs::read_to_string(lib["src_path"].as_str().unwrap()).unwrap_or_default();
        if !src.contains("#![doc = include_str!(\"../README.md\")]") {
            problem(
                "src/lib.rs lacks `#![doc = include_str!(\"../README.md\")]` (the README's example must compile)"
                    .into(),
            );
        }
    }
    match std::fs::read_to_string(dir.join("CHANGELOG.md")) {
        Ok(log) if log.lines().any(|l| l.starts_with(&format!("## {version}"))) => {}
        Ok(_) => problem(format!("CHANGELOG.md has no `## {version}` section")),
        Err(e) => problem(format!("no CHANGELOG.md: {e}")),
    }

    let keywords: Vec<&str> = package["keywords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    if keywords.is_empty() || keywords.len() > 5 {
        problem(format!("{} keywords (1 to 5 wanted)", keywords.len()));
    }
    for k in keywords.iter().filter(|k| !valid_keyword(k)) {
        problem(format!(
            "keyword {k:?} is not ≤ 20 ASCII letters, digits, `-`, `_` starting with a letter"
        ));
    }
    let categories: Vec<&str> = package["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    if categories.is_empty() || categories.len() > 5 {
        problem(format!("{} categories (1 to 5 wanted)", categories.len()));
    }
    for c in categories.iter().filter(|c| !KNOWN_CATEGORIES.contains(c)) {
        problem(format!("category {c:?} is not in KNOWN_CATEGORIES"));
    }

    for dep in package["dependencies"].as_array().unwrap() {
        if dep["kind"].as_str() == Some("dev") {
            continue;
        }
        let dep_name = dep["name"].as_str().unwrap();
        if dep["path"].is_string() && dep["req"].as_str() == Some("*") {
            problem(format!(
                "path dependency `{dep_name}` has no version (cargo package refuses it)"
            ));
        }
        if unpublished.contains(&dep_name) {
            problem(format!(
                "depends on `{dep_name}`, which has `publish = false` (a registry user could not build it)"
            ));
        }
    }
    out
}

#[test]
fn every_publishable_crate_has_readme_changelog_license_and_metadata() {
    let meta = metadata();
    let root = paravisor_tests::workspace_root();
    let root_license = std::fs::read(root.join("LICENSE")).expect("LICENSE at the workspace root");
    assert!(
        root_license.starts_with(b"MIT License\n"),
        "the root LICENSE is not the MIT license the manifests name"
    );

    let members = members(&meta);
    let publishable: Vec<&Value> = members
        .iter()
        .copied()
        .filter(|p| is_publishable(p))
        .collect();
    let names: Vec<&str> = publishable
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for library in LIBRARY_CRATES {
        assert!(
            names.contains(&library),
            "{library} must stay publishable (found publishable: {names:?})"
        );
    }

    let unpublished: Vec<&str> = members
        .iter()
        .filter(|p| !is_publishable(p))
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    let all: Vec<String> = publishable
        .iter()
        .flat_map(|p| problems(p, &root_license, &unpublished))
        .collect();
    assert!(
        all.is_empty(),
        "publishable crates that are not release-ready (fix them, or mark a crate that is not for the registry `publish = false`):\n  {}",
        all.join("\n  ")
    );
}

#[test]
fn no_member_names_a_placeholder_repository() {
    let meta = metadata();
    for package in members(&meta) {
        let repository = package["repository"].as_str().unwrap_or_default();
        assert!(
            !repository.contains("example.invalid"),
            "{}: placeholder repository {repository}",
            package["name"]
        );
    }
}

#[test]
fn the_checks_reject_what_they_must() {
    // The keyword rule, on values a registry refuses.
    assert!(valid_keyword("page-tables"));
    assert!(!valid_keyword("1st"));
    assert!(!valid_keyword("no spaces"));
    assert!(!valid_keyword("a-keyword-longer-than-20"));

    // A package without any of the release files or metadata names each
    // missing piece.
    let empty = serde_json::json!({
        "name": "made-up-crate",
        "version": "0.1.0",
        "manifest_path": "/nonexistent/made-up-crate/Cargo.toml",
        "description": null,
        "license": null,
        "repository": "https://example.invalid/x",
        "readme": null,
        "keywords": [],
        "categories": ["not-a-category"],
        "targets": [],
        "dependencies": [
            {"name": "vp-regs", "req": "*", "path": "/x", "kind": null},
            {"name": "paravisor-tests", "req": "^0.1.0", "path": "/y", "kind": null},
        ],
    });
    let found = problems(&empty, b"MIT License\n", &["paravisor-tests"]).join("\n");
    for expected in [
        "no `description`",
        "license is Null",
        "no LICENSE",
        "`repository` is a placeholder",
        "`readme` is Null",
        "no README.md",
        "no CHANGELOG.md",
        "0 keywords",
        "category \"not-a-category\"",
        "path dependency `vp-regs` has no version",
        "depends on `paravisor-tests`, which has `publish = false`",
    ] {
        assert!(
            found.contains(expected),
            "missing {expected:?} in:\n{found}"
        );
    }
}

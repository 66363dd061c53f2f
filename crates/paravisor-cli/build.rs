//! Embeds the commit the tool is built from (`git rev-parse --short HEAD`)
//! as `PARAVISOR_COMMIT` for `paravisor --version`; "unknown" when git or
//! the repository is absent (a crate built from a registry package).

use std::process::Command;

/// Runs `git ARGS` in the package folder; its trimmed stdout on success.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Rebuilds when `path` changes; a path that does not exist is not watched
/// (cargo would rerun this script on every build).
fn watch(path: &str) {
    if std::path::Path::new(path).exists() {
        println!("cargo:rerun-if-changed={path}");
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let commit = git(&["rev-parse", "--short", "HEAD"]);
    if commit.is_some() {
        // Rebuild when HEAD moves: HEAD itself (a branch switch) and the
        // branch it names (a commit); packed refs for branches packed there.
        for name in ["HEAD", "packed-refs"] {
            if let Some(path) = git(&["rev-parse", "--git-path", name]) {
                watch(&path);
            }
        }
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"])
            && let Some(path) = git(&["rev-parse", "--git-path", &branch])
        {
            watch(&path);
        }
    }
    let commit = commit.unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=PARAVISOR_COMMIT={commit}");
}

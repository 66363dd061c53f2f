//! Helpers shared by the CLI's integration tests (each test file includes
//! this module and uses what it needs).

#![allow(dead_code, reason = "each test file uses a subset")]

use std::path::Path;
use std::path::PathBuf;
use std::process::Command;
use std::process::Output;

/// Runs the `paravisor` binary with `args` to completion (with
/// `RUST_BACKTRACE=1`, so a panic says where).
pub(crate) fn paravisor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_paravisor"))
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run paravisor")
}

/// The repository's golden cases (`tests/golden`).
pub(crate) fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden")
}

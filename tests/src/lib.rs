//! Shared helpers for the workspace's cross-crate tests: fixture locations
//! and common test importers.

use std::path::PathBuf;

/// The workspace root (the folder holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// The shared golden folder (`../shared/golden` next to the checkout), or the
/// folder named by `PARAVISOR_GOLDEN_DIR`.
pub fn golden_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PARAVISOR_GOLDEN_DIR") {
        return PathBuf::from(dir);
    }
    workspace_root().join("tests").join("golden")
}

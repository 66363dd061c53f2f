//! `paravisor summary MANIFEST [-o FILE]`: the image summary JSON.
//!
//! Exit status 0 when the load succeeded; 2 when the loader returned an
//! error (the summary is still written, `ok: false`); 1 when the manifest or
//! an input file cannot be read or parsed (no summary).
//!
//! One manifest problem is reported with exit status 1 and still writes a
//! summary: a VTL2 memory range that does not fit in 64 bits
//! (`memory_page_base × 4096`, `memory_page_count × 4096` or their sum
//! overflows; [`LoadManifest::check_vtl2_range`]). The original loader
//! panics on it, i.e. it rejects the load, so the summary written (to FILE
//! or stdout) is the failed-load shape of docs/formats.md §3 rule 2 (`ok: false`,
//! `error` = the one-line message) and a tool comparing summaries sees a
//! failed load; stderr gets the same one line naming the manifest.
//!
//! [`LoadManifest::check_vtl2_range`]: paravisor_host::manifest::LoadManifest::check_vtl2_range

use crate::exit::EXIT_LOAD_FAILED;
use crate::exit::EXIT_OK;
use crate::exit::EXIT_USAGE;
use crate::exit::Outcome;
use paravisor_host::summary::ImageSummary;
use std::process::ExitCode;

/// Exit statuses, shown under `--help`.
pub(crate) const EXIT_STATUS: &str = "\
Exit status: 0 the load succeeded; 2 the loader returned an error (the summary
is still written, with ok: false); 1 the manifest or an input file cannot be
read or parsed, or a usage error. A VTL2 range past 2^64
(memory_page_base/_count) is a manifest error: exit 1, but the summary is still
written with ok: false.";

/// Arguments of `paravisor summary`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The load manifest (paravisor-load-manifest/1).
    manifest: String,
    /// Write the summary to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<String>,
}

pub(crate) fn run(args: Args) -> Outcome {
    let manifest_path = args.manifest.as_str();
    let Some((manifest, files)) = crate::files::load_unchecked(manifest_path) else {
        return ExitCode::from(EXIT_USAGE);
    };
    let range_problem = manifest.check_vtl2_range().err();
    let summary = match &range_problem {
        None => manifest.summarize(&files.as_files()),
        Some(e) => ImageSummary::failed(manifest.arch, e.to_string()),
    };
    let mut text = match serde_json::to_string_pretty(&summary.to_json()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("paravisor: cannot format the summary: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    text.push('\n');
    match args.output.as_deref() {
        Some(out) => {
            if let Err(e) = std::fs::write(out, &text) {
                eprintln!("paravisor: {out}: cannot write the summary: {e}");
                return ExitCode::from(EXIT_USAGE);
            }
        }
        None => print!("{text}"),
    }
    if let Some(e) = range_problem {
        eprintln!("paravisor: {e}");
        return ExitCode::from(EXIT_USAGE);
    }
    if manifest.abi != paravisor_layout::Abi::default() {
        // Name a later profile: the summary format has no key for it.
        eprintln!("paravisor: {manifest_path}: ABI profile {}", manifest.abi);
    }
    match &summary.error {
        None => ExitCode::from(EXIT_OK),
        Some(e) => {
            eprintln!("paravisor: {manifest_path}: load failed: {e}");
            ExitCode::from(EXIT_LOAD_FAILED)
        }
    }
}

//! `paravisor summary MANIFEST [-o FILE]`: the image summary JSON.

use crate::EXIT_LOAD_FAILED;
use crate::EXIT_OK;
use crate::EXIT_USAGE;
use crate::Outcome;
use crate::args::Args;
use std::process::ExitCode;

pub(crate) fn run(args: &[String]) -> Outcome {
    let args = match Args::parse(args, &["-o", "--output"]) {
        Ok(a) => a,
        Err(e) => return crate::usage_error(&e),
    };
    let manifest_path = match args.one_positional("MANIFEST") {
        Ok(p) => p,
        Err(e) => return crate::usage_error(&e),
    };
    let Some((manifest, files)) = crate::files::load(manifest_path) else {
        return ExitCode::from(EXIT_USAGE);
    };
    let summary = manifest.summarize(&files.as_files());
    let mut text = match serde_json::to_string_pretty(&summary.to_json()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("paravisor: cannot format the summary: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    text.push('\n');
    match args.option(&["-o", "--output"]) {
        Some(out) => {
            if let Err(e) = std::fs::write(out, &text) {
                eprintln!("paravisor: {out}: cannot write the summary: {e}");
                return ExitCode::from(EXIT_USAGE);
            }
        }
        None => print!("{text}"),
    }
    match &summary.error {
        None => ExitCode::from(EXIT_OK),
        Some(e) => {
            eprintln!("paravisor: {manifest_path}: load failed: {e}");
            ExitCode::from(EXIT_LOAD_FAILED)
        }
    }
}

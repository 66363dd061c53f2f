//! `paravisor inspect FILE.igvm`: a readable dump of an IGVM file's headers
//! and directives with the launch measurements recomputed from its bytes.

use crate::exit::EXIT_LOAD_FAILED;
use crate::exit::EXIT_OK;
use crate::exit::EXIT_USAGE;
use crate::exit::Outcome;
use paravisor_igvm::Inspection;
use serde_json::json;
use std::process::ExitCode;

/// Exit statuses, shown under `--help`.
pub(crate) const EXIT_STATUS: &str = "\
Exit status: 0 printed; 2 the file is not a valid IGVM file; 1 the file cannot
be read, or a usage error.";

/// Arguments of `paravisor inspect`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The IGVM file.
    #[arg(value_name = "FILE.igvm")]
    file: String,
    /// Print one JSON object instead of the text dump.
    #[arg(long)]
    json: bool,
}

/// Runs the subcommand.
pub(crate) fn run(args: Args) -> Outcome {
    let path = args.file.as_str();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("paravisor: {path}: cannot read: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match paravisor_igvm::inspect(&bytes) {
        Ok(report) => {
            // A closed pipe (`| head`) ends the output; it is not an error.
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            if args.json {
                let _ = writeln!(out, "{}", to_json(&report));
            } else {
                let _ = write!(out, "{report}");
            }
            ExitCode::from(EXIT_OK)
        }
        Err(e) => {
            eprintln!("paravisor: {path}: not a valid IGVM file: {e}");
            ExitCode::from(EXIT_LOAD_FAILED)
        }
    }
}

/// The inspection as one JSON object: the fields of [`Inspection`], each
/// platform's measurement as `{"kind", "digest"}` or `{"kind", "error"}`.
fn to_json(report: &Inspection) -> serde_json::Value {
    let platforms: Vec<serde_json::Value> = report
        .platforms
        .iter()
        .map(|p| {
            let measurement = p.measurement.as_ref().map(|(kind, digest)| match digest {
                Ok(hex) => json!({ "kind": kind.short_name(), "digest": hex }),
                Err(e) => json!({ "kind": kind.short_name(), "error": e }),
            });
            json!({
                "mask": p.mask,
                "platform": p.platform,
                "highest_vtl": p.highest_vtl,
                "shared_gpa_boundary": p.shared_gpa_boundary,
                "measurement": measurement,
            })
        })
        .collect();
    json!({
        "file_size": report.file_size,
        "format_version": report.format_version,
        "arch": report.arch,
        "round_trip_identical": report.round_trip_identical,
        "platforms": platforms,
        "initialization": report.initialization,
        "directives": report.directives,
    })
}

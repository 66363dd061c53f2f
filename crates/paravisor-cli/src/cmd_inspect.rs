//! `paravisor inspect FILE.igvm`: a readable dump of an IGVM file's headers
//! and directives with the launch measurements recomputed from its bytes.

use crate::EXIT_LOAD_FAILED;
use crate::EXIT_OK;
use crate::EXIT_USAGE;
use crate::Outcome;
use crate::args::Args;
use std::process::ExitCode;

/// Runs the subcommand.
pub(crate) fn run(args: &[String]) -> Outcome {
    let args = match Args::parse(args, &[]) {
        Ok(a) => a,
        Err(e) => return crate::usage_error(&e),
    };
    let path = match args.one_positional("FILE.igvm") {
        Ok(p) => p,
        Err(e) => return crate::usage_error(&e),
    };
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
            let _ = write!(std::io::stdout().lock(), "{report}");
            ExitCode::from(EXIT_OK)
        }
        Err(e) => {
            eprintln!("paravisor: {path}: not a valid IGVM file: {e}");
            ExitCode::from(EXIT_LOAD_FAILED)
        }
    }
}

//! `paravisor igvm CONFIG -o OUT.igvm`: build an IGVM file from a build
//! config (`paravisor-igvm-config/1`, formats.md §4), write it with one
//! measurement document per measured platform (`OUT-snp.json`,
//! `OUT-tdx.json`, `OUT-vbs.json`) and print the launch measurements.

use crate::EXIT_LOAD_FAILED;
use crate::EXIT_OK;
use crate::EXIT_USAGE;
use crate::Outcome;
use crate::args::Args;
use paravisor_igvm::IgvmError;
use std::path::Path;
use std::process::ExitCode;

/// Runs the subcommand.
pub(crate) fn run(args: &[String]) -> Outcome {
    let args = match Args::parse(args, &["-o", "--output"]) {
        Ok(a) => a,
        Err(e) => return crate::usage_error(&e),
    };
    let config = match args.one_positional("CONFIG") {
        Ok(p) => p,
        Err(e) => return crate::usage_error(&e),
    };
    let Some(out) = args.option(&["-o", "--output"]) else {
        return crate::usage_error("missing -o OUT.igvm");
    };
    let build = match paravisor_igvm::build_from_config(Path::new(config)) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("paravisor: {config}: {e}");
            let usage = matches!(
                e,
                IgvmError::Read { .. }
                    | IgvmError::Config { .. }
                    | IgvmError::ConfigFormat { .. }
                    | IgvmError::NoGuests
                    | IgvmError::MaxVtl { .. }
                    | IgvmError::ManifestMismatch { .. }
            );
            return ExitCode::from(if usage { EXIT_USAGE } else { EXIT_LOAD_FAILED });
        }
    };
    let written = match build.write(Path::new(out)) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("paravisor: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    // A closed pipe ends the output; it is not an error.
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for path in &written {
        let _ = writeln!(out, "wrote {}", path.display());
    }
    for m in &build.measurements {
        let _ = writeln!(
            out,
            "{}: {} (svn {}, debug {})",
            m.platform.digest_name(),
            m.digest_hex(),
            m.svn,
            m.debug
        );
    }
    ExitCode::from(EXIT_OK)
}

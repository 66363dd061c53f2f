//! `paravisor igvm CONFIG -o OUT.igvm`: build an IGVM file from a build
//! config (`paravisor-igvm-config/1`, docs/formats.md §4), write it with one
//! measurement document per measured platform (`OUT-snp.json`,
//! `OUT-tdx.json`, `OUT-vbs.json`) and print the launch measurements.

use crate::exit::EXIT_LOAD_FAILED;
use crate::exit::EXIT_OK;
use crate::exit::EXIT_USAGE;
use crate::exit::Outcome;
use paravisor_host::manifest::LoadManifest;
use paravisor_host::manifest::ManifestError;
use paravisor_igvm::IgvmError;
use std::path::Path;
use std::process::ExitCode;

/// Exit statuses, shown under `--help`.
pub(crate) const EXIT_STATUS: &str = "\
Exit status: 0 written; 2 a load or the file build failed; 1 the config or a
manifest cannot be read or parsed, a file cannot be written, or a usage error.";

/// Arguments of `paravisor igvm`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The build config (paravisor-igvm-config/1).
    config: String,
    /// The IGVM file to write; the measurement documents go beside it
    /// (OUT-snp.json, OUT-tdx.json, OUT-vbs.json). Required.
    #[arg(short, long, value_name = "OUT.igvm")]
    output: Option<String>,
    /// Print one JSON object (files written, measurements) instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs the subcommand.
pub(crate) fn run(args: Args) -> Outcome {
    let config = args.config.as_str();
    let Some(out) = args.output.as_deref() else {
        return crate::exit::usage_error::<Args>("igvm", "missing -o OUT.igvm");
    };
    if let Some(e) = vtl2_range_problem(Path::new(config)) {
        eprintln!("paravisor: {e}");
        return ExitCode::from(EXIT_USAGE);
    }
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
    if args.json {
        let measurements: Vec<serde_json::Value> = build
            .measurements
            .iter()
            .map(|m| {
                serde_json::json!({
                    "platform": m.platform.short_name(),
                    "digest": m.digest_hex(),
                    "svn": m.svn,
                    "debug": m.debug,
                })
            })
            .collect();
        let files: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        let v = serde_json::json!({ "written": files, "measurements": measurements });
        let _ = writeln!(out, "{v}");
        return ExitCode::from(EXIT_OK);
    }
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

/// The first load manifest named by the config whose VTL2 memory range does
/// not fit in 64 bits ([`LoadManifest::check_vtl2_range`]): a manifest
/// problem (exit status 1, one line naming the manifest), as for `summary`
/// and `layout`. A config or manifest that cannot be read here is left to
/// [`paravisor_igvm::build_from_config`] to report.
fn vtl2_range_problem(config: &Path) -> Option<ManifestError> {
    let text = std::fs::read_to_string(config).ok()?;
    let root: serde_json::Value = serde_json::from_str(&text).ok()?;
    let base = config.parent().unwrap_or(Path::new("."));
    root.get("guest_configs")?
        .as_array()?
        .iter()
        .filter_map(|guest| guest.get("load_manifest")?.as_str())
        .filter_map(|name| LoadManifest::read(&base.join(name)).ok())
        .find_map(|manifest| manifest.check_vtl2_range().err())
}

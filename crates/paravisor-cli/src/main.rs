//! `paravisor`: the command-line tool of the paravisor loader workspace.
//!
//! ```text
//! paravisor summary MANIFEST [-o FILE]   image summary JSON (formats.md §2)
//! paravisor layout MANIFEST              human-readable map of the image
//! paravisor demo                         load built-in images, print the map
//! paravisor igvm CONFIG -o OUT.igvm      IGVM file + measurement documents
//! paravisor inspect FILE.igvm            dump an IGVM file, recompute measurements
//! paravisor boot MANIFEST [--timeout S]  boot an x86-64 image under KVM, stream COM1
//! paravisor bench MANIFEST [--iterations N] [--json]  load speed vs crc + copy
//! ```
//!
//! Each subcommand is one module with a `run(args) -> Outcome` function and
//! one arm in [`dispatch`]. Argument parsing is deliberately tiny (no
//! dependencies): see [`args`].

mod args;
mod bench_baseline;
mod boot;
mod cmd_bench;
mod cmd_igvm;
mod cmd_inspect;
mod demo;
mod files;
mod layout;
mod summary;

use std::process::ExitCode;

/// What a subcommand returns: the process exit status. Messages are printed
/// by the subcommand itself.
pub(crate) type Outcome = ExitCode;

/// Exit status: success.
pub(crate) const EXIT_OK: u8 = 0;
/// Exit status: an input (manifest, file) cannot be read or parsed, or the
/// command line is wrong.
pub(crate) const EXIT_USAGE: u8 = 1;
/// Exit status: the loader returned an error (the summary is still written).
pub(crate) const EXIT_LOAD_FAILED: u8 = 2;

const USAGE: &str = "\
usage: paravisor <command> [arguments]

commands:
  summary MANIFEST [-o FILE]  run the loader for a load manifest and write the
                              image summary JSON (stdout or FILE). Exit 0 when
                              the load succeeded, 2 when the loader returned an
                              error (summary has ok: false), 1 when the manifest
                              or an input file cannot be read. A VTL2 range
                              past 2^64 (memory_page_base/_count) is a
                              manifest error: exit 1, but the summary is
                              still written with ok: false.
  layout MANIFEST             print a map of the image: regions in address
                              order with gaps, registers, parameter areas,
                              shim parameters.
  demo                        build small kernel and shim images in memory,
                              load them (x86-64, no isolation, 64 MiB) and
                              print their layout.
  igvm CONFIG -o OUT.igvm     build an IGVM file from a build config
                              (paravisor-igvm-config/1), write it with
                              OUT-snp.json / OUT-tdx.json / OUT-vbs.json and
                              print the launch measurements. Exit 0, 2 when a
                              load or the file build fails, 1 on usage errors.
  inspect FILE.igvm           print an IGVM file's headers and directives with
                              the measurements recomputed from its bytes.
  boot MANIFEST [--timeout S] boot an x86-64 image (isolation none or vbs)
                              under KVM and stream its serial output (COM1)
                              to stdout. Exit 0 when the guest halts, 3 when
                              it does not within S seconds (default 30) or
                              faults, 2 when the load fails, 1 on usage errors
                              or when /dev/kvm is not usable.
  bench MANIFEST [--iterations N] [--json]
                              load the manifest's inputs into guest memory N
                              times (default 10) beside crc32fast of the initrd
                              and a copy of every imported byte; print medians
                              and load / (crc + copy), or one JSON object.
  help                        this text.
";

/// Prints a usage error and returns the usage exit status.
pub(crate) fn usage_error(message: &str) -> Outcome {
    eprintln!("paravisor: {message}\n\n{USAGE}");
    ExitCode::from(EXIT_USAGE)
}

fn dispatch(command: &str, rest: &[String]) -> Outcome {
    match command {
        "summary" => summary::run(rest),
        "layout" => layout::run(rest),
        "demo" => demo::run(rest),
        "igvm" => cmd_igvm::run(rest),
        "inspect" => cmd_inspect::run(rest),
        "boot" => boot::run(rest),
        "bench" => cmd_bench::run(rest),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            ExitCode::from(EXIT_OK)
        }
        other => usage_error(&format!("unknown command `{other}`")),
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    match argv.split_first() {
        Some((command, rest)) => dispatch(command, rest),
        None => usage_error("no command given"),
    }
}

//! `paravisor`: the command-line tool of the paravisor loader workspace.
//!
//! ```text
//! paravisor summary MANIFEST [-o FILE]   image summary JSON (docs/formats.md §2)
//! paravisor layout MANIFEST [--json]     map of the image
//! paravisor demo [--json]                load built-in images, print the map
//! paravisor igvm CONFIG -o OUT.igvm      IGVM file + measurement documents
//! paravisor inspect FILE.igvm            dump an IGVM file, recompute measurements
//! paravisor diff A B [--json]            what differs between two images and why
//!                                        their launch measurements differ
//! paravisor boot MANIFEST [--timeout S] [--accel kvm|tcg]  boot an image (x86-64: KVM or QEMU;
//!                                        AArch64: QEMU), stream its console
//! paravisor bench MANIFEST [-n N] [--json]  load speed vs crc + copy
//! paravisor completions SHELL            shell completion script
//! ```
//!
//! Each subcommand is one module with a `#[derive(clap::Args)] Args` and a
//! `run(Args) -> Outcome` function, and one variant of [`Command`]. Usage
//! errors (clap's and the subcommands' own) go through [`exit::usage_error`] and
//! [`exit::report_clap_error`]: one `paravisor: ` message with the usage line on
//! stderr, exit status 1.

mod boot;
mod boot_aarch64;
mod boot_x64_qemu;
mod cmd_bench;
mod cmd_diff;
mod cmd_igvm;
mod cmd_inspect;
mod console;
mod demo;
mod exit;
mod files;
mod layout;
mod load_x64;
mod summary;

use clap::CommandFactory;
use clap::FromArgMatches;
use clap::Parser;
use clap::Subcommand;
use exit::EXIT_OK;
use exit::EXIT_USAGE;
use exit::report_clap_error;
use std::process::ExitCode;

/// The short version: crate version and the commit it was built from
/// (`build.rs`; "unknown" without git).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("PARAVISOR_COMMIT"),
    ")"
);

/// Exit statuses every subcommand shares, shown under `--help`.
const EXIT_STATUSES: &str = "\
Exit status: 0 success; 1 usage error or an input that cannot be read or
parsed; 2 the loader (or the IGVM build) failed; boot: 3 the guest did not halt.
Run `paravisor <COMMAND> --help` for a command's arguments and exit statuses.";

/// The paravisor loader's command-line tool: load OpenHCL paravisor images
/// the way OpenVMM's loader does, summarise, map, measure, build IGVM files
/// and boot them.
#[derive(Parser)]
#[command(name = "paravisor", version = VERSION, after_help = EXIT_STATUSES)]
#[command(subcommand_required = true, propagate_version = true)]
struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Subcommand)]
enum Command {
    /// Run the loader for a load manifest and write the image summary JSON.
    #[command(after_help = summary::EXIT_STATUS)]
    Summary(summary::Args),
    /// Print a map of the image: regions in address order with gaps,
    /// registers, parameter areas, relocation, shim parameters.
    #[command(after_help = layout::EXIT_STATUS)]
    Layout(layout::Args),
    /// Build small kernel and shim images in memory, load them (x86-64, no
    /// isolation, 64 MiB) and print their layout.
    #[command(after_help = demo::EXIT_STATUS)]
    Demo(demo::Args),
    /// Build an IGVM file from a build config (paravisor-igvm-config/1),
    /// write it with OUT-snp.json / OUT-tdx.json / OUT-vbs.json and print the
    /// launch measurements.
    #[command(after_help = cmd_igvm::EXIT_STATUS)]
    Igvm(cmd_igvm::Args),
    /// Print an IGVM file's headers and directives with the launch
    /// measurements recomputed from its bytes.
    #[command(after_help = cmd_inspect::EXIT_STATUS)]
    Inspect(cmd_inspect::Args),
    /// Show what differs between two images (IGVM files, load manifests or
    /// build configs) — platforms, relocation, pages, registers, parameters —
    /// and where their SNP/TDX/VBS launch measurements part.
    #[command(after_help = cmd_diff::EXIT_STATUS)]
    Diff(cmd_diff::Args),
    /// Boot an image (isolation none or vbs) and stream its console to
    /// stdout: x86-64 under KVM (COM1), AArch64 under qemu-system-aarch64
    /// (semihosting and the PL011 UART).
    #[command(after_help = boot::EXIT_STATUS)]
    Boot(boot::Args),
    /// Load a manifest's inputs into guest memory N times beside crc32fast of
    /// the initrd and a copy of every imported byte; print the medians and
    /// load / (crc + copy).
    #[command(after_help = cmd_bench::EXIT_STATUS)]
    Bench(cmd_bench::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish,
    /// powershell) to stdout.
    #[command(after_help = "Exit status: 0; 1 on usage errors.\n\
        Example (bash): paravisor completions bash > ~/.local/share/bash-completion/completions/paravisor")]
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

/// The `--version` text: version, commit and the OpenHCL ABIs the loader
/// can produce.
fn long_version() -> String {
    let abis: Vec<&str> = paravisor_layout::Abi::ALL
        .iter()
        .map(|abi| abi.name())
        .collect();
    format!(
        "{VERSION}\nOpenHCL ABIs it can produce: {}",
        abis.join(", ")
    )
}

/// The command-line definition, with the run-time `--version` text.
fn command() -> clap::Command {
    Cli::command().long_version(long_version())
}

fn main() -> ExitCode {
    let mut cmd = command();
    let parsed = cmd
        .try_get_matches_from_mut(std::env::args_os())
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            // `diff` reserves 1 for "the images differ": its usage errors
            // are trouble, 2, as for diff(1) and cmp(1).
            let diff = std::env::args_os().nth(1).is_some_and(|a| a == "diff");
            let usage = if diff {
                cmd_diff::EXIT_BAD_INPUT
            } else {
                EXIT_USAGE
            };
            return report_clap_error(&e.format(&mut cmd), usage);
        }
    };
    match cli.command {
        Command::Summary(args) => summary::run(args),
        Command::Layout(args) => layout::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Igvm(args) => cmd_igvm::run(args),
        Command::Inspect(args) => cmd_inspect::run(args),
        Command::Diff(args) => cmd_diff::run(args),
        Command::Boot(args) => boot::run(args),
        Command::Bench(args) => cmd_bench::run(args),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut command(), "paravisor", &mut std::io::stdout());
            ExitCode::from(EXIT_OK)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        command().debug_assert();
    }
}

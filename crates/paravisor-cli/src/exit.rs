//! Exit statuses and how usage errors are reported: what every subcommand
//! returns.

use clap::error::ErrorKind;
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
/// Exit status of `boot`: the guest did not end as it should (KVM: it did
/// not halt; QEMU: it did not power off or exit with status 0).
pub(crate) const EXIT_GUEST_FAILED: u8 = 3;

/// Prints a usage error of `subcommand` (whose arguments are `A`; its usage
/// line included) and returns the usage exit status.
pub(crate) fn usage_error<A: clap::Args>(subcommand: &str, message: &str) -> Outcome {
    let mut cmd = A::augment_args(clap::Command::new(subcommand.to_owned()))
        .bin_name(format!("paravisor {subcommand}"));
    cmd.build();
    let error = cmd.error(ErrorKind::ValueValidation, message);
    report_clap_error(&error, EXIT_USAGE)
}

/// Reports a clap outcome: help and version go to stdout with exit status
/// 0; every other kind is a usage error, printed on stderr as
/// `paravisor: MESSAGE` followed by the usage line, exit status `usage`.
pub(crate) fn report_clap_error(error: &clap::Error, usage: u8) -> Outcome {
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            // A closed pipe (`| head`) ends the output; it is not an error.
            let _ = error.print();
            ExitCode::from(EXIT_OK)
        }
        kind => {
            let text = error.render().to_string();
            let text = text.replacen("Usage: ", "usage: ", 1);
            match kind {
                // No subcommand: clap renders the help.
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    eprint!("paravisor: no command given\n\n{text}");
                }
                _ => eprint!(
                    "paravisor: {}",
                    text.strip_prefix("error: ").unwrap_or(&text)
                ),
            }
            ExitCode::from(usage)
        }
    }
}

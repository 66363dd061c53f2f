//! `paravisor boot MANIFEST [--timeout SECONDS] [--accel kvm|tcg]`: boot an
//! x86-64 image under KVM (or under QEMU with `--accel tcg`:
//! `boot_x64_qemu`), or an AArch64 image under QEMU (`boot_aarch64`), and
//! stream its serial output.
//!
//! The manifest's image is loaded with `load_openhcl_x64` into the KVM
//! runner's importer (`paravisor-kvm`), which backs the startup memory and
//! every imported page with RAM, sets the imported registers and runs one
//! vCPU until it halts or the timeout passes. Bytes the guest writes to COM1
//! (port 0x3F8) go to stdout as they arrive; the exit reason goes to
//! stderr. Exit 0 when the guest halted, 3 when it did not (timeout, triple
//! fault, invalid state), 2 when the loader failed, 1 on usage errors or
//! when KVM is not usable.

use crate::exit::EXIT_GUEST_FAILED;
use crate::exit::EXIT_OK;
use crate::exit::EXIT_USAGE;
use crate::exit::Outcome;
use paravisor_host::Arch;
use paravisor_kvm::ExitReason;
use paravisor_kvm::RunConfig;
use paravisor_loader::IsolationType;
use std::process::ExitCode;
use std::time::Duration;

/// Default time limit.
const DEFAULT_TIMEOUT_SECONDS: u64 = 30;

/// Exit statuses, shown under `--help`.
pub(crate) const EXIT_STATUS: &str = "\
Exit status: 0 the guest halted (x86-64 under KVM), powered off (x86-64 with
--accel tcg: the kernel printed `reboot: Power down` or `reboot: System
halted`) or QEMU exited with status 0 (AArch64: the guest powered off or a
shim exited with 0); 3 it did not within
the timeout, or it faulted; 2 the load failed; 1 the manifest cannot be read
or parsed, the image is hardware-isolated, /dev/kvm or QEMU is not usable, the
AArch64 image's memory is not in the RAM of QEMU's virt machine, or a usage
error.";

/// Arguments of `paravisor boot`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The load manifest (paravisor-load-manifest/1) of an x86-64 or
    /// AArch64 image.
    manifest: String,
    /// Stop the guest after this many seconds.
    #[arg(short, long, value_name = "SECONDS", default_value_t = DEFAULT_TIMEOUT_SECONDS,
          value_parser = positive_seconds)]
    timeout: u64,
    /// AArch64: the host's `/chosen/bootargs`, written (as a VMM does) into
    /// the device tree of the image's device-tree parameter area; the shim
    /// appends them to a host-appendable command line.
    #[arg(long, value_name = "TEXT")]
    host_bootargs: Option<String>,
    /// How the guest runs: `kvm` (x86-64 only, the default there: one KVM
    /// vCPU, paravisor-kvm) or `tcg` (QEMU's emulation: qemu-system-x86_64
    /// -M pc or qemu-system-aarch64 -M virt; the AArch64 default). A real
    /// Linux kernel needs `tcg` on machines whose /dev/kvm cannot run it.
    #[arg(long, value_enum)]
    accel: Option<Accel>,
}

/// The `--accel` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Accel {
    /// KVM (/dev/kvm), x86-64 images only.
    Kvm,
    /// QEMU's tiny code generator (emulation).
    Tcg,
}

/// Parses `--timeout`: a whole number of seconds, at least 1.
fn positive_seconds(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(s) if s > 0 => Ok(s),
        _ => Err("--timeout wants a positive number of seconds".to_owned()),
    }
}

pub(crate) fn run(args: Args) -> Outcome {
    let manifest_path = args.manifest.as_str();
    let timeout = args.timeout;
    let Some((manifest, files)) = crate::files::load(manifest_path) else {
        return ExitCode::from(EXIT_USAGE);
    };
    if manifest.isolation.isolation_type.is_hardware_isolated() {
        eprintln!(
            "paravisor: {manifest_path}: a {} image needs confidential-VM hardware; `boot` runs isolation none or vbs",
            manifest.isolation.isolation_type.name()
        );
        return ExitCode::from(EXIT_USAGE);
    }
    debug_assert!(matches!(
        manifest.isolation.isolation_type,
        IsolationType::None | IsolationType::Vbs
    ));
    let file_bytes = files.as_files();
    let inputs = manifest.inputs(&file_bytes);
    if manifest.arch == Arch::Aarch64 {
        if args.accel == Some(Accel::Kvm) {
            eprintln!(
                "paravisor: {manifest_path}: --accel kvm runs x86-64 images only; AArch64 images boot under QEMU (--accel tcg)"
            );
            return ExitCode::from(EXIT_USAGE);
        }
        let host_bootargs = args.host_bootargs.as_deref();
        return crate::boot_aarch64::run(manifest_path, &manifest, &inputs, timeout, host_bootargs);
    }
    if args.host_bootargs.is_some() {
        eprintln!(
            "paravisor: {manifest_path}: --host-bootargs applies to AArch64 images (a device tree); this image is x86-64"
        );
        return ExitCode::from(EXIT_USAGE);
    }
    if args.accel == Some(Accel::Tcg) {
        return crate::boot_x64_qemu::run(manifest_path, &manifest, &inputs, timeout);
    }
    let image = match crate::load_x64::load_x64(manifest_path, &manifest, &inputs) {
        Ok(image) => image,
        Err(outcome) => return outcome,
    };
    let config = RunConfig {
        timeout: Duration::from_secs(timeout),
        ..RunConfig::default()
    };
    let result = crate::console::with_console_on_stdout(|console| {
        paravisor_kvm::boot_x64(&image, &config, console)
    });
    match result {
        Err(e) => {
            eprintln!("paravisor: {manifest_path}: cannot boot: {e}");
            ExitCode::from(EXIT_USAGE)
        }
        Ok(outcome) => {
            let rip = outcome
                .final_rip
                .map_or_else(|| "unknown".to_string(), |r| format!("{r:#x}"));
            match outcome.exit {
                ExitReason::Halted => {
                    eprintln!("paravisor: guest halted (RIP {rip})");
                    ExitCode::from(EXIT_OK)
                }
                ExitReason::TimedOut => {
                    eprintln!(
                        "paravisor: guest still running after {timeout} s (RIP {rip}); stopped"
                    );
                    ExitCode::from(EXIT_GUEST_FAILED)
                }
                other => {
                    eprintln!("paravisor: guest stopped: {other:?} (RIP {rip})");
                    ExitCode::from(EXIT_GUEST_FAILED)
                }
            }
        }
    }
}

//! `paravisor boot MANIFEST --accel tcg` for an x86-64 image: load it with
//! `load_openhcl_x64` and boot it under `qemu-system-x86_64 -M pc` (TCG,
//! `paravisor_qemu::boot_x64_qemu`), streaming COM1 to stdout.
//!
//! This is how a real Linux kernel boots from a manifest on machines whose
//! `/dev/kvm` cannot run one: with the test shim (`tests/boot-shim`), whose
//! hand-off gives the kernel a zero page, an e820 map of VTL2 memory and
//! the image's command line and initrd, the console shows the shim's checks,
//! the kernel's log and whatever its init prints. The run ends when the
//! kernel powers off (`reboot: Power down` / `reboot: System halted` on the
//! console), when the guest resets (a triple fault: QEMU runs with
//! `-no-reboot`), or at the timeout. VTL2 memory must end by 3 GiB.

use crate::exit::EXIT_GUEST_FAILED;
use crate::exit::EXIT_OK;
use crate::exit::EXIT_USAGE;
use crate::exit::Outcome;
use paravisor_host::manifest::LoadManifest;
use paravisor_qemu::ExitReason;
use paravisor_qemu::X64RunConfig;
use std::process::ExitCode;
use std::time::Duration;

/// Boots the x86-64 image `manifest` describes (its files already read)
/// under QEMU with TCG.
pub(crate) fn run(
    manifest_path: &str,
    manifest: &LoadManifest,
    inputs: &paravisor_loader::LoadInputs<'_>,
    timeout: u64,
) -> Outcome {
    let image = match crate::load_x64::load_x64(manifest_path, manifest, inputs) {
        Ok(image) => image,
        Err(outcome) => return outcome,
    };
    let config = X64RunConfig {
        timeout: Duration::from_secs(timeout),
        ..X64RunConfig::default()
    };
    let result = crate::console::with_console_on_stdout(|console| {
        paravisor_qemu::boot_x64_qemu(&image, &config, console)
    });
    let outcome = match result {
        Err(e) => {
            eprintln!("paravisor: {manifest_path}: cannot boot: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
        Ok(outcome) => outcome,
    };
    let qemu = outcome.qemu_stderr.trim();
    let qemu = if qemu.is_empty() {
        String::new()
    } else {
        format!(" (QEMU: {qemu})")
    };
    match outcome.exit {
        ExitReason::PoweredOff => {
            eprintln!("paravisor: guest powered off");
            ExitCode::from(EXIT_OK)
        }
        ExitReason::TimedOut => {
            eprintln!("paravisor: guest still running after {timeout} s; stopped");
            ExitCode::from(EXIT_GUEST_FAILED)
        }
        ExitReason::Exited(0) => {
            eprintln!("paravisor: guest reset (a triple fault or a reboot); QEMU exited{qemu}");
            ExitCode::from(EXIT_GUEST_FAILED)
        }
        other => {
            eprintln!("paravisor: guest stopped: {other:?}{qemu}");
            ExitCode::from(EXIT_GUEST_FAILED)
        }
    }
}

//! `paravisor boot MANIFEST` for an AArch64 image: load it with
//! `load_openhcl_arm64` into the QEMU runner's importer (`paravisor-qemu`)
//! and boot it under `qemu-system-aarch64 -M virt` (TCG), streaming the
//! console to stdout.
//!
//! The console is the shim's semihosting output and the PL011 UART
//! (`console=ttyAMA0`), so a manifest with the Rust test shim
//! (`tests/arm64-shim/rust`) and a real kernel `Image` shows the shim's
//! checks, its hand-off and then the kernel. VTL2 memory must lie in the RAM
//! of `virt` (from 0x4000_0000, past QEMU's device tree): give the manifest
//! a `memory_page_base` of at least 0x40200 (0x4020_0000).
//!
//! `--host-bootargs TEXT` plays the VMM's part of a host-appendable command
//! line: a device tree with `/chosen/bootargs` = TEXT in the image's
//! device-tree parameter area (`paravisor_qemu::with_host_bootargs`), which
//! the Rust shim appends to the image's command line.

use crate::exit::EXIT_GUEST_FAILED;
use crate::exit::EXIT_LOAD_FAILED;
use crate::exit::EXIT_OK;
use crate::exit::EXIT_USAGE;
use crate::exit::Outcome;
use paravisor_host::manifest::LoadManifest;
use paravisor_qemu::BootImageImporter;
use paravisor_qemu::ExitReason;
use paravisor_qemu::RunConfig;
use std::process::ExitCode;
use std::time::Duration;

/// Boots the AArch64 image `manifest` describes (its files already read).
pub(crate) fn run(
    manifest_path: &str,
    manifest: &LoadManifest,
    inputs: &paravisor_loader::LoadInputs<'_>,
    timeout: u64,
    host_bootargs: Option<&str>,
) -> Outcome {
    let mut importer = BootImageImporter::new(manifest.isolation);
    if let Err(e) = paravisor_loader::load_openhcl_arm64_alloc(&mut importer, inputs) {
        eprintln!("paravisor: {manifest_path}: load failed: {e}");
        return ExitCode::from(EXIT_LOAD_FAILED);
    }
    let mut image = importer.zero_filled_image();
    if let Some(bootargs) = host_bootargs
        && let Err(e) = paravisor_qemu::with_host_bootargs(&mut image, &importer, bootargs)
    {
        eprintln!("paravisor: {manifest_path}: --host-bootargs: {e}");
        return ExitCode::from(EXIT_USAGE);
    }
    let config = RunConfig {
        timeout: Duration::from_secs(timeout),
        ..RunConfig::default()
    };
    let result = crate::console::with_console_on_stdout(|console| {
        paravisor_qemu::boot_aarch64_streaming(&image, &config, console)
    });
    match result {
        Err(e) => {
            eprintln!("paravisor: {manifest_path}: cannot boot: {e}");
            ExitCode::from(EXIT_USAGE)
        }
        Ok(outcome) => match outcome.exit {
            ExitReason::Exited(0) => {
                eprintln!("paravisor: guest ended, QEMU exit status 0");
                ExitCode::from(EXIT_OK)
            }
            ExitReason::TimedOut => {
                eprintln!("paravisor: guest still running after {timeout} s; stopped");
                ExitCode::from(EXIT_GUEST_FAILED)
            }
            ExitReason::Exited(status) => {
                eprintln!(
                    "paravisor: guest ended, QEMU exit status {status}{}",
                    stderr_tail(&outcome.qemu_stderr)
                );
                ExitCode::from(EXIT_GUEST_FAILED)
            }
            other => {
                eprintln!(
                    "paravisor: guest stopped: {other:?}{}",
                    stderr_tail(&outcome.qemu_stderr)
                );
                ExitCode::from(EXIT_GUEST_FAILED)
            }
        },
    }
}

/// QEMU's own diagnostics, if any, after a colon.
fn stderr_tail(stderr: &str) -> String {
    let text = stderr.trim();
    if text.is_empty() {
        String::new()
    } else {
        format!(" (QEMU: {text})")
    }
}

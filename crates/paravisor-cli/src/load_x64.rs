//! Loading an x86-64 manifest into the boot image both x86-64 runners of
//! `paravisor boot` take (KVM, and QEMU with `--accel tcg`).

use crate::exit::EXIT_LOAD_FAILED;
use crate::exit::Outcome;
use paravisor_host::manifest::LoadManifest;
use paravisor_kvm::BootImage;
use paravisor_kvm::BootImageImporter;
use std::process::ExitCode;

/// Loads the x86-64 image `manifest` describes (its files already read)
/// into the boot image both x86-64 runners take (KVM, and QEMU with
/// `--accel tcg`); when the load fails, says so and returns the exit status.
pub(crate) fn load_x64(
    manifest_path: &str,
    manifest: &LoadManifest,
    inputs: &paravisor_loader::LoadInputs<'_>,
) -> Result<BootImage, Outcome> {
    let mut importer = BootImageImporter::new(manifest.isolation);
    if let Err(e) = paravisor_loader::load_openhcl_x64_alloc(&mut importer, inputs) {
        eprintln!("paravisor: {manifest_path}: load failed: {e}");
        return Err(ExitCode::from(EXIT_LOAD_FAILED));
    }
    Ok(importer.into_image())
}

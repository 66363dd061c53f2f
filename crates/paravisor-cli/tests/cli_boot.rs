//! `paravisor boot`: the refusals that need no KVM or QEMU. (Real boots are
//! in `tests/tests/boot_kvm.rs`, which builds the test shim, and
//! `tests/tests/boot_linux/` (`--accel tcg` for x86-64).)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::paravisor;
use std::path::Path;

fn case(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/golden/cases")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// AArch64 images boot under QEMU's `virt`, whose RAM starts at 1 GiB: an
/// image at the default base (128 MiB) cannot be placed, which is a usage
/// error (exit 1) found before QEMU starts. (Real AArch64 boots through the
/// CLI are in `tests/tests/boot_linux/aarch64.rs`.)
#[test]
fn boot_of_an_aarch64_manifest_outside_virt_ram_exits_1() {
    let out = paravisor(&["boot", &case("a64-none-reloc-64m-uefi.json")]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot boot")
            && err.contains("nor in RAM from 0x40000000 on the virt machine"),
        "{err}"
    );
}

#[test]
fn boot_refuses_host_bootargs_for_an_x86_64_image_with_exit_1() {
    let out = paravisor(&[
        "boot",
        &case("x64-none-reloc-64m-pcat.json"),
        "--host-bootargs",
        "quiet",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--host-bootargs applies to AArch64 images"),
        "{err}"
    );
}

#[test]
fn boot_refuses_a_hardware_isolated_manifest_with_exit_1() {
    let out = paravisor(&["boot", &case("x64-snp46-nobase-64m-uefi.json")]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("a snp image needs confidential-VM hardware"),
        "{err}"
    );
}

#[test]
fn boot_rejects_a_bad_timeout_with_exit_1() {
    let out = paravisor(&[
        "boot",
        &case("x64-none-reloc-64m-pcat.json"),
        "--timeout",
        "soon",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--timeout wants a positive number of seconds"),
        "{err}"
    );
}

#[test]
fn boot_of_a_failing_load_exits_2() {
    let out = paravisor(&["boot", &case("err-x64-cmdline-5000.json")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("load failed"), "{err}");
}

/// KVM on the build machines runs x86-64 guests only: `--accel kvm` with an
/// AArch64 image is a usage error, found before anything is loaded.
#[test]
fn boot_refuses_accel_kvm_for_an_aarch64_image_with_exit_1() {
    let out = paravisor(&[
        "boot",
        &case("a64-none-reloc-64m-uefi.json"),
        "--accel",
        "kvm",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--accel kvm runs x86-64 images only"), "{err}");
}

#[test]
fn boot_rejects_an_unknown_accelerator_with_exit_1() {
    let out = paravisor(&[
        "boot",
        &case("x64-none-reloc-64m-pcat.json"),
        "--accel",
        "hvf",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("hvf") && err.contains("kvm, tcg"), "{err}");
}

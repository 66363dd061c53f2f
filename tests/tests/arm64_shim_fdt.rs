//! The AArch64 Rust shim's device-tree code (`tests/arm64-shim/rust/src/
//! fdt.rs`: the writer of the kernel's tree, the reader of the host's),
//! compiled for the host and checked against an independent
//! implementation, the `vm-fdt` crate (which `paravisor-qemu` uses for the
//! host's tree): the same calls give the same bytes, a tree `vm-fdt` wrote
//! reads back, and no input makes the reader panic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code
)]

#[path = "../arm64-shim/rust/src/fdt.rs"]
mod fdt;

use fdt::FdtError;
use fdt::FdtWriter;
use fdt::find_property;
use proptest::prelude::*;

/// A tree like the kernel's, written with the shim's writer.
fn shim_tree(buf: &mut [u8]) -> usize {
    let mut w = FdtWriter::new(buf).unwrap();
    w.begin_node("").unwrap();
    w.prop_cells("#address-cells", &[2]).unwrap();
    w.prop_cells("#size-cells", &[2]).unwrap();
    w.prop_strings("compatible", &["linux,dummy-virt"]).unwrap();
    w.begin_node("chosen").unwrap();
    w.prop_joined("bootargs", &["console=ttyAMA0", "", "quiet"])
        .unwrap();
    w.prop_u64("linux,initrd-start", 0x49e0_0000).unwrap();
    w.end_node().unwrap();
    w.begin_node("memory@48000000").unwrap();
    w.prop_strings("device_type", &["memory"]).unwrap();
    w.prop_cells("reg", &[0, 0x4800_0000, 0, 0x1000_0000])
        .unwrap();
    w.end_node().unwrap();
    w.begin_node("cpus").unwrap();
    w.begin_node("cpu@0").unwrap();
    w.prop_strings("compatible", &["arm,cortex-a57", "arm,armv8"])
        .unwrap();
    w.prop("enable-method-none", &[]).unwrap();
    w.end_node().unwrap();
    w.end_node().unwrap();
    w.end_node().unwrap();
    w.finish().unwrap()
}

/// The same tree with `vm-fdt`.
fn vm_fdt_tree() -> Vec<u8> {
    let mut w = vm_fdt::FdtWriter::new().unwrap();
    let root = w.begin_node("").unwrap();
    w.property_u32("#address-cells", 2).unwrap();
    w.property_u32("#size-cells", 2).unwrap();
    w.property_string("compatible", "linux,dummy-virt").unwrap();
    let chosen = w.begin_node("chosen").unwrap();
    w.property_string("bootargs", "console=ttyAMA0 quiet")
        .unwrap();
    w.property_u64("linux,initrd-start", 0x49e0_0000).unwrap();
    w.end_node(chosen).unwrap();
    let memory = w.begin_node("memory@48000000").unwrap();
    w.property_string("device_type", "memory").unwrap();
    w.property_array_u32("reg", &[0, 0x4800_0000, 0, 0x1000_0000])
        .unwrap();
    w.end_node(memory).unwrap();
    let cpus = w.begin_node("cpus").unwrap();
    let cpu = w.begin_node("cpu@0").unwrap();
    w.property_string_list(
        "compatible",
        vec!["arm,cortex-a57".into(), "arm,armv8".into()],
    )
    .unwrap();
    w.property_null("enable-method-none").unwrap();
    w.end_node(cpu).unwrap();
    w.end_node(cpus).unwrap();
    w.end_node(root).unwrap();
    w.finish().unwrap()
}

#[test]
fn the_shim_writer_matches_vm_fdt_byte_for_byte() {
    let mut buf = vec![0u8; 4096];
    let len = shim_tree(&mut buf);
    assert_eq!(buf[..len], vm_fdt_tree()[..]);
}

#[test]
fn the_reader_finds_properties_by_path() {
    let tree = vm_fdt_tree();
    assert_eq!(
        find_property(&tree, &["chosen"], "bootargs").unwrap(),
        Some(&b"console=ttyAMA0 quiet\0"[..])
    );
    assert_eq!(
        find_property(&tree, &["cpus", "cpu@0"], "compatible").unwrap(),
        Some(&b"arm,cortex-a57\0arm,armv8\0"[..])
    );
    assert_eq!(
        find_property(&tree, &[], "#size-cells").unwrap(),
        Some(&[0, 0, 0, 2][..])
    );
    // A property of another node, a missing node, a missing property.
    assert_eq!(find_property(&tree, &["chosen"], "reg").unwrap(), None);
    assert_eq!(
        find_property(&tree, &["cpu@0"], "compatible").unwrap(),
        None
    );
    assert_eq!(find_property(&tree, &["aliases"], "serial0").unwrap(), None);
    // The host's tree from the runner.
    let host = paravisor_qemu::host_device_tree("paravisor.host=1").unwrap();
    assert_eq!(
        find_property(&host, &["chosen"], "bootargs").unwrap(),
        Some(&b"paravisor.host=1\0"[..])
    );
}

#[test]
fn no_tree_and_broken_trees() {
    // Zero memory (no host tree): not an error.
    assert_eq!(find_property(&[0u8; 64], &["chosen"], "bootargs"), Ok(None));
    let tree = vm_fdt_tree();
    // Cut anywhere after the header: an error or not found, never a panic,
    // and never a value that is not in the tree.
    for cut in 4..tree.len() {
        if let Ok(Some(v)) = find_property(&tree[..cut], &["chosen"], "bootargs") {
            assert_eq!(v, b"console=ttyAMA0 quiet\0");
        }
    }
    // An unknown token.
    let mut bad = tree.clone();
    let struct_start = u32::from_be_bytes(bad[8..12].try_into().unwrap()) as usize;
    bad[struct_start..struct_start + 4].copy_from_slice(&7u32.to_be_bytes());
    assert_eq!(
        find_property(&bad, &["chosen"], "bootargs"),
        Err(FdtError::Malformed)
    );
    // An end-node token before any begin-node (found by the fuzz target
    // arm64_shim_fdt: the reader's depth went below zero).
    bad[struct_start..struct_start + 4].copy_from_slice(&2u32.to_be_bytes());
    assert_eq!(
        find_property(&bad, &["chosen"], "bootargs"),
        Err(FdtError::Malformed)
    );
}

#[test]
fn the_writer_reports_a_full_buffer_and_unbalanced_nodes() {
    let mut small = [0u8; 100];
    let mut w = FdtWriter::new(&mut small).unwrap();
    w.begin_node("").unwrap();
    assert_eq!(w.prop("big", &[0; 64]), Err(FdtError::Full));
    let mut buf = [0u8; 256];
    let mut w = FdtWriter::new(&mut buf).unwrap();
    w.begin_node("").unwrap();
    assert_eq!(w.finish(), Err(FdtError::Unbalanced));
    let mut w = FdtWriter::new(&mut buf).unwrap();
    assert_eq!(w.end_node(), Err(FdtError::Unbalanced));
    assert!(FdtWriter::new(&mut [0u8; 10]).is_err());
}

proptest! {
    /// Any bytes: the reader returns, and a value it returns lies inside
    /// the input.
    #[test]
    fn the_reader_never_panics(mut data in proptest::collection::vec(any::<u8>(), 0..512),
                               magic in any::<bool>()) {
        if magic && data.len() >= 4 {
            data[..4].copy_from_slice(&0xD00D_FEEDu32.to_be_bytes());
        }
        if let Ok(Some(v)) = find_property(&data, &["chosen"], "bootargs") {
            let range = data.as_ptr_range();
            prop_assert!(range.contains(&v.as_ptr()) || v.is_empty());
        }
    }

    /// What the writer writes, the reader reads back.
    #[test]
    fn written_bootargs_read_back(words in proptest::collection::vec("[a-z=.0-9]{0,12}", 0..6)) {
        let mut buf = vec![0u8; 4096];
        let parts: Vec<&str> = words.iter().map(String::as_str).collect();
        let mut w = FdtWriter::new(&mut buf).unwrap();
        w.begin_node("").unwrap();
        w.begin_node("chosen").unwrap();
        w.prop_joined("bootargs", &parts).unwrap();
        w.end_node().unwrap();
        w.end_node().unwrap();
        let len = w.finish().unwrap();
        let joined: Vec<&str> = parts.iter().copied().filter(|p| !p.is_empty()).collect();
        let expected = format!("{}\0", joined.join(" "));
        prop_assert_eq!(
            find_property(&buf[..len], &["chosen"], "bootargs").unwrap(),
            Some(expected.as_bytes())
        );
    }
}

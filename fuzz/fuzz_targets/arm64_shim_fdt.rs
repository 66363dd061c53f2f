//! The AArch64 Rust shim's device-tree code (`tests/arm64-shim/rust/src/
//! fdt.rs`): the reader of the host's tree (which a VMM writes into the
//! image's device-tree parameter area) with arbitrary bytes, and the writer
//! of the kernel's tree with arbitrary bootargs.
//!
//! Input: one byte choosing the node path, then the tree bytes; the same
//! bytes, read as text, are also written as `/chosen/bootargs` into a small
//! buffer.
//!
//! Invariants: the reader never panics and any value it returns lies inside
//! the input; the writer either reports a full buffer or writes a tree from
//! which the reader gets the bootargs back exactly.
#![no_main]

#[path = "../../tests/arm64-shim/rust/src/fdt.rs"]
#[allow(dead_code)]
mod fdt;

use libfuzzer_sys::fuzz_target;

const PATHS: [&[&str]; 4] = [&[], &["chosen"], &["cpus", "cpu@0"], &["chosen", "x"]];

fuzz_target!(|data: &[u8]| {
    let Some((&choice, tree)) = data.split_first() else {
        return;
    };
    let path = PATHS[usize::from(choice) % PATHS.len()];
    if let Ok(Some(value)) = fdt::find_property(tree, path, "bootargs") {
        let range = tree.as_ptr_range();
        assert!(value.is_empty() || range.contains(&value.as_ptr()));
        assert!(value.len() <= tree.len());
    }

    let Ok(text) = core::str::from_utf8(tree) else {
        return;
    };
    if text.contains('\0') {
        return;
    }
    let mut buf = [0u8; 1024];
    let written = (|| {
        let mut w = fdt::FdtWriter::new(&mut buf)?;
        w.begin_node("")?;
        w.begin_node("chosen")?;
        w.prop_joined("bootargs", &[text])?;
        w.end_node()?;
        w.end_node()?;
        w.finish()
    })();
    match written {
        Err(fdt::FdtError::Full) => assert!(text.len() > 900),
        Err(e) => panic!("writer error {e}"),
        Ok(len) => {
            let value = fdt::find_property(&buf[..len], &["chosen"], "bootargs")
                .expect("the writer's tree reads back")
                .expect("bootargs is there");
            assert_eq!(&value[..value.len() - 1], text.as_bytes());
            assert_eq!(value.last(), Some(&0));
        }
    }
});

//! `paravisor diff` on damaged IGVM files: the file A, and B = A with one
//! byte changed. Input: flip offset (u32 LE, taken modulo the file length),
//! XOR mask (u8), then the file bytes.
//!
//! Invariants: parsing, diffing and both reports (text and JSON) never
//! panic; an image diffed with itself is identical; when the XOR mask is 0
//! (B = A) the diff of A and B is identical; a diff that reports no
//! difference and the same measurements says so in its JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paravisor_igvm::diff::Image;
use paravisor_igvm::diff::diff;

fuzz_target!(|data: &[u8]| {
    let Some((head, file)) = data.split_at_checked(5) else {
        return;
    };
    let at = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let xor = head[4];
    let mut other = file.to_vec();
    if !other.is_empty() {
        let i = at % other.len();
        other[i] ^= xor;
    }
    let a = Image::from_igvm(file);
    let b = Image::from_igvm(&other);
    if let Ok(a) = &a {
        let same = diff(a, a);
        assert!(same.is_identical(), "an image differs from itself:\n{same}");
        if let Ok(b) = &b {
            let d = diff(a, b);
            let json = d.to_json();
            assert_eq!(json["identical"], d.is_identical());
            let _ = d.to_string();
            if xor == 0 {
                assert!(d.is_identical(), "A and a copy of A differ:\n{d}");
            }
        }
    }
});

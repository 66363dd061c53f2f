//! `inspect` on damaged IGVM files returns an error or a report, never
//! panics: golden files with bytes of the header sections changed (and the
//! checksum fixed up, so the damage reaches the header parsers), and
//! arbitrary bytes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use paravisor_tests::golden_dir;
use proptest::prelude::*;

/// CRC-32 (IEEE), bitwise.
fn crc32(parts: &[&[u8]]) -> u32 {
    let mut crc = !0u32;
    for part in parts {
        for &b in *part {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
    }
    !crc
}

fn golden_file() -> Vec<u8> {
    std::fs::read(golden_dir().join("igvm/multi-x64-snp-tdx-vbs-nobase-64m-uefi.igvm")).unwrap()
}

/// Recomputes the checksum of a V1 file (docs/igvm.md §8.1).
fn fix_checksum(file: &mut [u8]) {
    let var_size = u32::from_le_bytes(file[12..16].try_into().unwrap()) as usize;
    let end = (24 + var_size).min(file.len());
    file[20..24].copy_from_slice(&[0; 4]);
    let crc = crc32(&[&file[..end]]);
    file[20..24].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn the_checksum_helper_reproduces_the_golden_checksum() {
    let mut f = golden_file();
    let stored = f[20..24].to_vec();
    fix_checksum(&mut f);
    assert_eq!(&f[20..24], &stored[..]);
}

proptest! {
    // Each case parses, re-serialises and measures a 178 KiB file.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn damaged_headers_never_panic(edits in proptest::collection::vec((24usize..4000, any::<u8>()), 1..6)) {
        let mut f = golden_file();
        for (at, value) in edits {
            f[at] = value;
        }
        fix_checksum(&mut f);
        let _ = paravisor_igvm::inspect(&f);
    }

}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = paravisor_igvm::inspect(&bytes);
    }
}

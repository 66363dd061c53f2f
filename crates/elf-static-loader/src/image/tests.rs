//! Tests of the arm64 `Image` loader. Headers are built like
//! `tests/golden/fixtures/gen.py`'s `arm64_image`; expected numbers follow
//! `docs/algorithms.md` §3, worked out in the comments.

extern crate std;

use std::vec::Vec;

use proptest::prelude::*;

use super::*;
use crate::test_support::*;

/// gen.py's A64_FLAGS_OK: little endian, 4 KiB pages, may load anywhere.
const FLAGS_OK: u64 = (1 << 1) | (1 << 3);
/// VTL2 start + 2 MiB, as the paravisor passes it (golden a64 cases).
const K: u64 = 0x820_0000;

/// gen.py's `arm64_image`: pattern body with the 64-byte header.
fn arm64_image(
    file_size: usize,
    text_offset: u64,
    image_size: u64,
    flags: u64,
    magic: &[u8; 4],
) -> Vec<u8> {
    let mut body = pattern(0x41, file_size);
    put32(&mut body, 0, 0x1400_0010); // code0: b #0x40
    put32(&mut body, 4, 0);
    put64(&mut body, 8, text_offset);
    put64(&mut body, 16, image_size);
    put64(&mut body, 24, flags);
    put64(&mut body, 32, 0);
    put64(&mut body, 40, 0);
    put64(&mut body, 48, 0);
    body[56..60].copy_from_slice(magic);
    put32(&mut body, 60, 0);
    body
}

/// gen.py's "Image-arm64": 0x201234-byte file, text_offset 0, image_size
/// align_up(0x201234) + 0x43000 = 0x245000.
fn image1(flags: u64, magic: &[u8; 4]) -> Vec<u8> {
    arm64_image(0x20_1234, 0, 0x24_5000, flags, magic)
}

fn load(
    image: &[u8],
    k: u64,
    initrd: &[u8],
) -> (Result<Arm64ImageInfo, LoadImageError<Refused>>, Recorder) {
    let mut recorder = Recorder::default();
    let result = load_arm64_image(&mut recorder, image, k, initrd);
    (result, recorder)
}

fn assert_error(image: &[u8], k: u64, initrd: &[u8], expected: ImageError) {
    let (result, recorder) = load(image, k, initrd);
    match result {
        Err(LoadImageError::Image(e)) => assert_eq!(e, expected),
        other => panic!("expected {expected:?}, got {other:?}"),
    }
    assert!(recorder.calls.is_empty());
}

#[test]
fn fixture_image_with_empty_initrd() {
    let image = image1(FLAGS_OK, b"ARM\x64");
    let (result, rec) = load(&image, K, &[]);
    let info = result.unwrap();
    // Kernel at K, 0x245000 bytes = 581 pages (the golden a64 summaries
    // list linux-kernel at page 0x8200 with 581 pages).
    assert_eq!(
        info.kernel,
        KernelInfo {
            gpa: K,
            size: 0x24_5000,
            entrypoint: K
        }
    );
    // Initrd at align_up_2MiB(0x8200000 + 0x245000 = 0x8445000) = 0x8600000.
    assert_eq!(
        info.initrd,
        InitrdInfo {
            gpa: 0x860_0000,
            size: 0
        }
    );
    assert_eq!(rec.calls.len(), 2);
    let kernel = &rec.calls[0];
    assert_eq!(
        (kernel.page_base, kernel.page_count, kernel.tag),
        (0x8200, 581, "linux-kernel")
    );
    assert_eq!(kernel.acceptance, PageAcceptance::Exclusive);
    assert_eq!(kernel.data, image);
    assert_eq!(
        kernel.data_ptr,
        image.as_ptr() as usize,
        "kernel bytes were copied"
    );
    // The original's page_count-0 call for an empty initrd is kept.
    let initrd = &rec.calls[1];
    assert_eq!(
        (initrd.page_base, initrd.page_count, initrd.tag),
        (0x8600, 0, "linux-initrd")
    );
    assert!(initrd.data.is_empty());
}

#[test]
fn text_offset_fixture_uses_the_file_length() {
    // gen.py's "Image-arm64-textoffset": 0x100777 bytes, text_offset 0x80000,
    // image_size 0 -> kernel_size = align_up(0x100777) = 0x101000.
    let image = arm64_image(0x10_0777, 0x8_0000, 0, FLAGS_OK, b"ARM\x64");
    let initrd = pattern(9, 5000);
    let (result, rec) = load(&image, K, &initrd);
    let info = result.unwrap();
    assert_eq!(
        info.kernel,
        KernelInfo {
            gpa: K,
            size: 0x10_1000,
            entrypoint: K + 0x8_0000
        }
    );
    // Kernel end K + 0x80000 + 0x101000 = 0x8381000 -> initrd at 0x8400000,
    // align_up(5000) / 4096 = 2 pages, size 5000 (unaligned).
    assert_eq!(
        info.initrd,
        InitrdInfo {
            gpa: 0x840_0000,
            size: 5000
        }
    );
    let got: Vec<_> = rec
        .calls
        .iter()
        .map(|c| (c.page_base, c.page_count, c.tag))
        .collect();
    assert_eq!(
        got,
        [(0x8280, 0x101, "linux-kernel"), (0x8400, 2, "linux-initrd")]
    );
    assert_eq!(rec.calls[1].data, initrd);
    assert_eq!(rec.calls[1].acceptance, PageAcceptance::Exclusive);
    memory_of(&rec.calls).unwrap();
}

#[test]
fn unaligned_text_offset_starts_at_the_page_below() {
    // §3 step 9: file bytes start at the page holding K + text_offset.
    let image = arm64_image(0x2000, 0x10, 0x3000, FLAGS_OK, b"ARM\x64");
    let plan = plan_arm64_image(&image, K, 0).unwrap();
    assert_eq!(plan.kernel().entrypoint, K + 0x10);
    let mut rec = Recorder::default();
    plan.import(&mut rec, &[]).unwrap();
    assert_eq!(
        (rec.calls[0].page_base, rec.calls[0].page_count),
        (0x8200, 3)
    );
}

#[test]
fn reserved_flag_bits_are_ignored() {
    let image = image1(FLAGS_OK | 0xffff_ffff_ffff_fff0, b"ARM\x64");
    assert!(plan_arm64_image(&image, K, 0).is_ok());
}

#[test]
fn error_unaligned_kernel_start() {
    // §9 row 21: an assert in the original; checked before the header.
    assert_error(
        &[],
        K + 0x1000,
        &[],
        ImageError::UnalignedKernelStart {
            kernel_minimum_start: K + 0x1000,
        },
    );
}

#[test]
fn error_truncated_header() {
    let image = image1(FLAGS_OK, b"ARM\x64");
    assert_error(
        &image[..63],
        K,
        &[],
        ImageError::TruncatedHeader { file_len: 63 },
    );
}

#[test]
fn error_bad_magic() {
    // gen.py's bad-Image-arm64-magic: "ARM\x63".
    let image = image1(FLAGS_OK, b"ARM\x63");
    assert_error(&image, K, &[], ImageError::BadMagic { magic: *b"ARM\x63" });
}

#[test]
fn error_big_endian_comes_before_page_size() {
    // gen.py's bad-Image-arm64-bigendian.
    assert_error(
        &image1(FLAGS_OK | 1, b"ARM\x64"),
        K,
        &[],
        ImageError::BigEndianKernel {
            flags: FLAGS_OK | 1,
        },
    );
    assert_error(
        &image1(1, b"ARM\x64"),
        K,
        &[],
        ImageError::BigEndianKernel { flags: 1 },
    );
}

#[test]
fn error_page_size_other_than_4k() {
    // gen.py's bad-Image-arm64-16k: page size field 2.
    let flags = (2 << 1) | (1 << 3);
    assert_error(
        &image1(flags, b"ARM\x64"),
        K,
        &[],
        ImageError::UnsupportedPageSize {
            page_size: 2,
            flags,
        },
    );
    // 0 ("unspecified") is rejected too, and comes before the low-memory check.
    assert_error(
        &image1(0, b"ARM\x64"),
        K,
        &[],
        ImageError::UnsupportedPageSize {
            page_size: 0,
            flags: 0,
        },
    );
    assert_error(
        &image1(6, b"ARM\x64"),
        K,
        &[],
        ImageError::UnsupportedPageSize {
            page_size: 3,
            flags: 6,
        },
    );
}

#[test]
fn error_low_memory_kernel() {
    // gen.py's bad-Image-arm64-lowmem: bit 3 clear.
    assert_error(
        &image1(1 << 1, b"ARM\x64"),
        K,
        &[],
        ImageError::LowMemoryKernel { flags: 2 },
    );
}

#[test]
fn error_load_address_overflow() {
    let image = arm64_image(0x1000, u64::MAX - 0x10_0000, 0x1000, FLAGS_OK, b"ARM\x64");
    assert_error(
        &image,
        K,
        &[],
        ImageError::LoadAddressOverflow {
            kernel_minimum_start: K,
            text_offset: u64::MAX - 0x10_0000,
        },
    );
}

#[test]
fn error_image_size_overflow() {
    let image = arm64_image(0x1000, 0, u64::MAX - 2, FLAGS_OK, b"ARM\x64");
    assert_error(
        &image,
        K,
        &[],
        ImageError::ImageSizeOverflow {
            image_size: u64::MAX - 2,
        },
    );
}

#[test]
fn error_file_longer_than_image() {
    // image_size 0x1001 -> 0x2000 after rounding: a 0x2001-byte file does not fit.
    let image = arm64_image(0x2001, 0, 0x1001, FLAGS_OK, b"ARM\x64");
    assert_error(
        &image,
        K,
        &[],
        ImageError::FileLongerThanImage {
            file_len: 0x2001,
            kernel_size: 0x2000,
        },
    );
    // Exactly the rounded size fits.
    assert!(plan_arm64_image(&image[..0x2000], K, 0).is_ok());
}

#[test]
fn error_kernel_end_overflow() {
    let image = arm64_image(0x1000, 0, !0xfff_u64, FLAGS_OK, b"ARM\x64");
    assert_error(
        &image,
        K,
        &[],
        ImageError::KernelEndOverflow {
            load_address: K,
            kernel_size: !0xfff_u64,
        },
    );
}

#[test]
fn error_initrd_placement_overflow() {
    // Kernel end 0xffff_ffff_fff0_1000 rounds up past 2^64.
    let k = 0xffff_ffff_ffe0_0000;
    let image = arm64_image(0x1000, 0, 0x10_1000, FLAGS_OK, b"ARM\x64");
    assert_eq!(
        plan_arm64_image(&image, k, 0).unwrap_err(),
        ImageError::InitrdPlacementOverflow {
            kernel_end: k + 0x10_1000,
            initrd_len: 0
        }
    );
    // The initrd itself does not fit below 2^64.
    let k = 0xffff_ffff_ffc0_0000;
    let image = arm64_image(0x1000, 0, 0x1000, FLAGS_OK, b"ARM\x64");
    assert_eq!(
        plan_arm64_image(&image, k, 0x20_0001).unwrap_err(),
        ImageError::InitrdPlacementOverflow {
            kernel_end: k + 0x1000,
            initrd_len: 0x20_0001
        }
    );
}

#[test]
fn importer_error_is_returned() {
    let image = image1(FLAGS_OK, b"ARM\x64");
    let mut rec = Recorder {
        fail_at: Some(1),
        ..Recorder::default()
    };
    let result = load_arm64_image(&mut rec, &image, K, &[1, 2, 3]);
    assert!(matches!(result, Err(LoadImageError::Import(Refused(1)))));
    assert_eq!(rec.calls.len(), 1);
}

proptest! {
    #[test]
    fn any_header_plans_or_fails_cleanly(
        header in proptest::collection::vec(any::<u8>(), 64),
        magic_ok in any::<bool>(),
        k_page in any::<u32>(),
        initrd_len in 0u64..0x2_0000,
    ) {
        let mut image = header;
        if magic_ok {
            image[56..60].copy_from_slice(b"ARM\x64");
        }
        image.resize(0x3000, 0);
        let k = u64::from(k_page) << 21;
        if let Ok(plan) = plan_arm64_image(&image, k, initrd_len) {
            let kernel = plan.kernel();
            let initrd = plan.initrd();
            // §3: the initrd sits on a 2 MiB boundary at or after the kernel end.
            prop_assert_eq!(initrd.gpa % 0x20_0000, 0);
            prop_assert!(initrd.gpa >= kernel.entrypoint + kernel.size);
            prop_assert!(initrd.gpa - (kernel.entrypoint + kernel.size) < 0x20_0000);
            prop_assert_eq!(kernel.size % 4096, 0);
            let mut rec = Recorder::default();
            plan.import(&mut rec, &vec_of(initrd_len)).unwrap();
            for call in &rec.calls {
                prop_assert!(call.data.len() as u128 <= u128::from(call.page_count) * 4096);
            }
            let (a, b) = (&rec.calls[0], &rec.calls[1]);
            prop_assert!(a.page_base + a.page_count <= b.page_base);
        }
    }
}

fn vec_of(len: u64) -> Vec<u8> {
    pattern(3, len as usize)
}

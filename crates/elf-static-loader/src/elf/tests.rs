//! Tests of the static ELF loader. Expected numbers come from
//! `docs/algorithms.md` §2 (and the fixture layouts of
//! `tests/golden/fixtures/gen.py`), worked out by hand in the comments.

extern crate std;

use std::vec;
use std::vec::Vec;

use proptest::prelude::*;

use super::*;
use crate::test_support::*;

const TAG: &str = "underhill-kernel";

fn plan(
    elf: &[u8],
    start: u64,
    load_offset: u64,
    pic: bool,
) -> Result<StaticElfPlan<'_>, ElfError> {
    plan_static_elf(elf, ElfMachine::X86_64, start, load_offset, pic)
}

/// Loads through `load_static_elf` with a recorder.
fn load(
    elf: &[u8],
    start: u64,
    load_offset: u64,
    pic: bool,
) -> (Result<LoadInfo, LoadError<Refused>>, Recorder) {
    let mut recorder = Recorder::default();
    let result = load_static_elf(
        &mut recorder,
        elf,
        ElfMachine::X86_64,
        start,
        load_offset,
        pic,
        PageAcceptance::Exclusive,
        TAG,
    );
    (result, recorder)
}

fn load_ok(elf: &[u8], start: u64, load_offset: u64, pic: bool) -> (LoadInfo, Recorder) {
    let (result, recorder) = load(elf, start, load_offset, pic);
    (result.unwrap(), recorder)
}

/// Asserts the load fails with `expected` and imports nothing.
fn assert_load_error(elf: &[u8], start: u64, load_offset: u64, pic: bool, expected: ElfError) {
    let (result, recorder) = load(elf, start, load_offset, pic);
    match result {
        Err(LoadError::Elf(e)) => assert_eq!(e, expected),
        other => panic!("expected {expected:?}, got {other:?}"),
    }
    assert!(
        recorder.calls.is_empty(),
        "imported on error: {:?}",
        recorder.calls
    );
}

/// (page_base, page_count) of every call.
fn ranges(recorder: &Recorder) -> Vec<(u64, u64)> {
    recorder
        .calls
        .iter()
        .map(|c| (c.page_base, c.page_count))
        .collect()
}

fn inside(elf: &[u8], call: &Call) -> bool {
    let start = elf.as_ptr() as usize;
    call.data.is_empty()
        || (call.data_ptr >= start && call.data_ptr + call.data.len() <= start + elf.len())
}

/// The layout of gen.py's `kernel_x64_small`: 3 PT_LOADs, the second at a
/// non-page-aligned address, .bss in the third, entry in the first; plus a
/// PT_NOTE and a PT_GNU_STACK the loader must skip.
fn small_kernel() -> (Vec<u8>, [Vec<u8>; 3]) {
    let text = pattern(1, 0x3456);
    let rodata = pattern(2, 0x2000);
    let data = pattern(3, 0x1800);
    let elf = build_elf(
        EM_X86_64,
        0x100_0180,
        &[
            Seg::load(0x100_0000, text.clone(), 0x3456),
            Seg::load(0x100_5234, rodata.clone(), 0x2000),
            Seg::load(0x100_8000, data.clone(), 0x5000),
            Seg::other(PT_NOTE),
            Seg::other(PT_GNU_STACK),
        ],
    );
    (elf, [text, rodata, data])
}

#[test]
fn single_aligned_segment_is_one_zero_copy_call() {
    // Shim-like: p_paddr 0, not PIC, load offset 0x100000 (§2: segments land
    // at p_paddr + load_offset).
    let code = pattern(7, 0x1234);
    let elf = build_elf(EM_X86_64, 0x10, &[Seg::load(0, code.clone(), 0x1234)]);
    let (info, rec) = load_ok(&elf, 0, 0x10_0000, false);
    assert_eq!(
        info,
        LoadInfo {
            minimum_address_used: 0x10_0000,
            next_available_address: 0x10_2000, // 0x100000 + 2 pages
            entrypoint: 0x10_0010,
        }
    );
    assert_eq!(ranges(&rec), [(0x100, 2)]);
    let call = &rec.calls[0];
    assert_eq!(
        (call.tag, call.acceptance),
        (TAG, PageAcceptance::Exclusive)
    );
    assert_eq!(call.data, code);
    assert!(inside(&elf, call), "data was copied");
}

#[test]
fn small_kernel_pic_lands_at_start_address() {
    // §2 step 6: lowest p_paddr 0x1000000 < start 0x8200000, so
    // L = 0x8200000 - 0x1000000 = 0x7200000; reloc_bias = 0.
    let (elf, [text, rodata, data]) = small_kernel();
    let plan = plan(&elf, 0x820_0000, 0, true).unwrap();
    assert_eq!(plan.effective_load_offset(), 0x720_0000);
    assert_eq!(plan.reloc_bias(), 0);
    let (info, rec) = load_ok(&elf, 0x820_0000, 0, true);
    assert_eq!(
        info,
        LoadInfo {
            minimum_address_used: 0x820_0000,
            // third segment: 0x8208000 + 0x5000
            next_available_address: 0x820_d000,
            entrypoint: 0x820_0180,
        }
    );
    // Segment 1 at 0x8205234: page 0x8205, (0x234 + 0x2000 + 0xfff) / 0x1000
    // = 3 pages, one call like the original's.
    assert_eq!(ranges(&rec), [(0x8200, 4), (0x8205, 3), (0x8208, 5)]);
    // The original's data: 0x234 zeros then .rodata.
    assert_eq!(rec.calls[1].leading_zeros, 0x234);
    assert_eq!(rec.calls[1].data, rodata);
    assert_eq!(
        (rec.calls[0].leading_zeros, rec.calls[2].leading_zeros),
        (0, 0)
    );
    assert!(rec.calls.iter().all(|c| inside(&elf, c)), "data was copied");

    let memory = memory_of(&rec.calls).unwrap();
    assert_eq!(read(&memory, 0x820_0000, text.len()).unwrap(), text);
    assert_eq!(read(&memory, 0x820_5234, rodata.len()).unwrap(), rodata);
    assert_eq!(read(&memory, 0x820_8000, data.len()).unwrap(), data);
    // .bss: 0x8209800..0x820d000 is zero.
    assert!(
        read(&memory, 0x820_9800, 0x3800)
            .unwrap()
            .iter()
            .all(|&b| b == 0)
    );
    assert_eq!(memory.len(), 4 + 3 + 5);
}

#[test]
fn high_entry_kernel_pic_is_moved_up_by_its_lowest_paddr() {
    // gen.py's `kernel_x64_high_entry` (Linux >= 6.17): entry 0x14041c0 in
    // the last segment, lowest p_paddr 0x1000000. §2 step 6 uses the lowest
    // p_paddr, not the entry: L = 0x8200000 - 0x1000000 = 0x7200000.
    let elf = build_elf(
        EM_X86_64,
        0x140_41c0,
        &[
            Seg::load(0x100_0000, pattern(1, 0x31000), 0x31000),
            Seg::load(0x120_0000, pattern(2, 0x12345), 0x12345),
            Seg::load(0x140_0000, pattern(3, 0x2200), 0x3000),
            Seg::load(0x140_4000, pattern(4, 0x8800), 0x20000),
            Seg::other(PT_GNU_STACK),
        ],
    );
    let (info, rec) = load_ok(&elf, 0x820_0000, 0, true);
    assert_eq!(
        info,
        LoadInfo {
            minimum_address_used: 0x820_0000,
            next_available_address: 0x862_4000, // 0x8604000 + 0x20000
            entrypoint: 0x860_41c0,
        }
    );
    assert_eq!(
        ranges(&rec),
        [(0x8200, 0x31), (0x8400, 0x13), (0x8600, 3), (0x8604, 0x20)]
    );
}

#[test]
fn pic_above_start_keeps_the_offset_within_its_page() {
    // §2 consequences: a segment at paddr 0x9000800 with start 0x8200000
    // lands at 0x8200800, pages 0x8200.. with 0x201 pages.
    let bytes = pattern(5, 0x1800);
    let elf = build_elf(
        EM_X86_64,
        0x900_0900,
        &[Seg::load(0x900_0800, bytes.clone(), 0x20_0000)],
    );
    let plan = plan(&elf, 0x820_0000, 0, true).unwrap();
    assert_eq!(plan.effective_load_offset(), 0);
    assert_eq!(plan.reloc_bias(), 0xe0_0000);
    let (info, rec) = load_ok(&elf, 0x820_0000, 0, true);
    assert_eq!(
        info,
        LoadInfo {
            minimum_address_used: 0x820_0000,
            next_available_address: 0x820_0000 + 0x201 * 0x1000,
            entrypoint: 0x820_0900,
        }
    );
    // One call: page 0x8200, 0x201 pages, 0x800 leading zeros, the file
    // bytes (a slice of the input).
    assert_eq!(ranges(&rec), [(0x8200, 0x201)]);
    assert_eq!(rec.calls[0].leading_zeros, 0x800);
    assert_eq!(rec.calls[0].data, bytes);
    assert!(inside(&elf, &rec.calls[0]), "data was copied");
    let memory = memory_of(&rec.calls).unwrap();
    assert!(
        read(&memory, 0x820_0000, 0x800)
            .unwrap()
            .iter()
            .all(|&b| b == 0)
    );
    assert_eq!(read(&memory, 0x820_0800, bytes.len()).unwrap(), bytes);
}

#[test]
fn non_pic_segments_land_at_paddr_plus_load_offset() {
    // §2: minimum_address_used is the lowest segment page, not load_offset.
    let elf = build_elf(
        EM_X86_64,
        0x3000,
        &[
            Seg::load(0x5000, pattern(1, 0x10), 0x10),
            Seg::load(0x3000, pattern(2, 0x10), 0x10),
        ],
    );
    let (info, rec) = load_ok(&elf, 0, 0x10_0000, false);
    assert_eq!(
        info,
        LoadInfo {
            minimum_address_used: 0x10_3000,
            next_available_address: 0x10_6000,
            entrypoint: 0x10_3000,
        }
    );
    // File order, not address order.
    assert_eq!(ranges(&rec), [(0x105, 1), (0x103, 1)]);
}

#[test]
fn empty_segment_imports_nothing_but_counts_for_the_extent() {
    // §2: a PT_LOAD with p_memsz 0 at a page-aligned address imports nothing
    // but still influences lowest/last.
    let elf = build_elf(
        EM_X86_64,
        0x2000,
        &[
            Seg::load(0x1000, Vec::new(), 0),
            Seg::load(0x2000, pattern(1, 8), 8),
            Seg::load(0x9000, Vec::new(), 0),
        ],
    );
    let (info, rec) = load_ok(&elf, 0, 0x10_0000, false);
    assert_eq!(info.minimum_address_used, 0x10_1000);
    assert_eq!(info.next_available_address, 0x10_9000);
    assert_eq!(ranges(&rec), [(0x102, 1)]);
}

#[test]
fn unaligned_bss_only_segment_is_one_call_with_its_leading_zeros() {
    // No file bytes: §2 step 10.3 still gives data = (m mod 4096) = 0x800
    // zero bytes, so the first page is data (zeros), not an empty page.
    let elf = build_elf(EM_X86_64, 0, &[Seg::load(0x1800, Vec::new(), 0x2000)]);
    let (info, rec) = load_ok(&elf, 0, 0, false);
    assert_eq!(ranges(&rec), [(1, 3)]); // (0x800 + 0x2000 + 0xfff) / 0x1000
    assert_eq!(
        (rec.calls[0].leading_zeros, rec.calls[0].data.len()),
        (0x800, 0)
    );
    assert_eq!(info.next_available_address, 0x4000);

    // The default implementation passes the zeros as data: one call.
    let mut split = DefaultSplit::default();
    plan(&elf, 0, 0, false)
        .unwrap()
        .import(&mut split, PageAcceptance::Exclusive, TAG)
        .unwrap();
    assert_eq!(ranges(&split.0), [(1, 3)]);
    assert_eq!(split.0.calls[0].data, [0u8; 0x800]);
}

#[test]
fn unaligned_segment_within_one_page_is_one_call() {
    let bytes = pattern(9, 0x100);
    let elf = build_elf(EM_X86_64, 0, &[Seg::load(0x1f00, bytes.clone(), 0x100)]);
    let (_, rec) = load_ok(&elf, 0, 0, false);
    assert_eq!(ranges(&rec), [(1, 1)]);
    assert_eq!(rec.calls[0].leading_zeros, 0xf00);
    assert_eq!(rec.calls[0].data, bytes);

    // The default implementation: one buffered call of the whole page.
    let mut split = DefaultSplit::default();
    plan(&elf, 0, 0, false)
        .unwrap()
        .import(&mut split, PageAcceptance::Exclusive, TAG)
        .unwrap();
    assert_eq!(ranges(&split.0), [(1, 1)]);
    assert_eq!(split.0.calls[0].data[..0xf00], [0u8; 0xf00]);
    assert_eq!(split.0.calls[0].data[0xf00..], bytes[..]);
}

#[test]
fn default_split_of_an_unaligned_segment_is_the_first_page_then_the_rest() {
    // §2 consequences: paddr 0x9000800, start 0x8200000 (PIC) -> page
    // 0x8200, 0x201 pages, 0x800 leading zeros. The default implementation
    // gives the buffered first page (0x800 zeros + 0x800 file bytes), then
    // pages 0x8201.. (0x200 pages) with the remaining 0x1000 file bytes.
    let bytes = pattern(5, 0x1800);
    let elf = build_elf(
        EM_X86_64,
        0x900_0900,
        &[Seg::load(0x900_0800, bytes.clone(), 0x20_0000)],
    );
    let mut split = DefaultSplit::default();
    plan(&elf, 0x820_0000, 0, true)
        .unwrap()
        .import(&mut split, PageAcceptance::Exclusive, TAG)
        .unwrap();
    let calls = &split.0.calls;
    assert_eq!(ranges(&split.0), [(0x8200, 1), (0x8201, 0x200)]);
    assert_eq!(calls[0].data[..0x800], [0u8; 0x800]);
    assert_eq!(calls[0].data[0x800..], bytes[..0x800]);
    assert_eq!(calls[1].data, bytes[0x800..]);
    assert!(inside(&elf, &calls[1]), "the rest was copied");
}

#[test]
fn non_pic_without_pt_load_returns_the_originals_values() {
    // §2: non-PIC -> minimum_address_used = u64::MAX, next = load_offset.
    let elf = build_elf(EM_X86_64, 0x10, &[Seg::other(PT_NOTE)]);
    let (info, rec) = load_ok(&elf, 0, 0x20_0000, false);
    assert_eq!(
        info,
        LoadInfo {
            minimum_address_used: u64::MAX,
            next_available_address: 0x20_0000,
            entrypoint: 0x20_0010,
        }
    );
    assert!(rec.calls.is_empty());
}

#[test]
fn program_header_count_from_section_zero() {
    // §2 step 5: e_phnum 0xFFFF -> sh_info of section header 0.
    let mut elf = build_elf(
        EM_X86_64,
        0,
        &[
            Seg::load(0, pattern(1, 8), 8),
            Seg::load(0x1000, pattern(2, 8), 8),
        ],
    );
    let shoff = elf.len() as u64;
    elf.extend_from_slice(&[0u8; 64]);
    put32(&mut elf, shoff as usize + 44, 2); // sh_info
    put64(&mut elf, 40, shoff);
    put16(&mut elf, 56, 0xffff);
    let (_, rec) = load_ok(&elf, 0, 0, false);
    assert_eq!(ranges(&rec), [(0, 1), (1, 1)]);
}

#[test]
fn empty_program_header_table_is_not_an_error() {
    let mut elf = build_elf(EM_X86_64, 0x10, &[Seg::load(0, pattern(1, 8), 8)]);
    // e_phnum 0: empty table, even with a bad e_phentsize.
    put16(&mut elf, 56, 0);
    put16(&mut elf, 54, 3);
    assert_eq!(load_ok(&elf, 0, 0, false).1.calls.len(), 0);
    // e_phoff 0: empty table.
    put16(&mut elf, 56, 1);
    put64(&mut elf, 32, 0);
    assert_eq!(load_ok(&elf, 0, 0, false).1.calls.len(), 0);
}

#[test]
fn file_offset_is_ignored_when_there_are_no_file_bytes() {
    // §2 step 10.3: nothing is read when p_filesz = 0.
    let mut seg = Seg::load(0, Vec::new(), 0x1000);
    seg.offset = Some(u64::MAX);
    let elf = build_elf(EM_X86_64, 0, &[seg]);
    assert_eq!(ranges(&load_ok(&elf, 0, 0, false).1), [(0, 1)]);
}

#[test]
fn arm64_machine_is_accepted_for_arm64() {
    let elf = build_elf(EM_AARCH64, 0, &[Seg::load(0, pattern(1, 8), 8)]);
    assert!(plan_static_elf(&elf, ElfMachine::Aarch64, 0, 0, false).is_ok());
}

#[test]
fn segments_report_the_import_layout() {
    let (elf, [_, rodata, _]) = small_kernel();
    let plan = plan(&elf, 0x820_0000, 0, true).unwrap();
    let segments: Vec<_> = plan.segments().collect();
    assert_eq!(segments.len(), 3);
    assert_eq!(segments[1].index, 1);
    assert_eq!(segments[1].address, 0x820_5234);
    assert_eq!((segments[1].page_base, segments[1].page_count), (0x8205, 3));
    assert_eq!(segments[1].file_bytes, &rodata[..]);
}

#[test]
fn importer_error_is_returned_and_stops_the_import() {
    let (elf, _) = small_kernel();
    let mut recorder = Recorder {
        fail_at: Some(2),
        ..Recorder::default()
    };
    let result = load_static_elf(
        &mut recorder,
        &elf,
        ElfMachine::X86_64,
        0x820_0000,
        0,
        true,
        PageAcceptance::Shared,
        TAG,
    );
    assert!(matches!(result, Err(LoadError::Import(Refused(2)))));
    assert_eq!(recorder.calls.len(), 2);
    assert!(
        recorder
            .calls
            .iter()
            .all(|c| c.acceptance == PageAcceptance::Shared)
    );
}

// ---- errors, in the order of §2 ----

fn valid() -> Vec<u8> {
    build_elf(EM_X86_64, 0x10, &[Seg::load(0, pattern(1, 0x20), 0x20)])
}

#[test]
fn error_truncated_file_header() {
    let elf = valid();
    assert_load_error(
        &elf[..63],
        0,
        0,
        false,
        ElfError::TruncatedFileHeader { file_len: 63 },
    );
    assert_load_error(
        &[],
        0,
        0,
        false,
        ElfError::TruncatedFileHeader { file_len: 0 },
    );
}

#[test]
fn error_bad_magic() {
    let mut elf = valid();
    elf[1] = b'X';
    assert_load_error(&elf, 0, 0, false, ElfError::BadMagic { magic: *b"\x7fXLF" });
}

#[test]
fn error_wrong_class_comes_before_encoding() {
    let mut elf = valid();
    elf[4] = 1; // ELFCLASS32
    assert_load_error(&elf, 0, 0, false, ElfError::WrongClass { class: 1 });
    // A big-endian ELF32 file is invalid (is_supported), not "big endian".
    elf[5] = 2;
    assert_load_error(&elf, 0, 0, false, ElfError::WrongClass { class: 1 });
}

#[test]
fn error_bad_data_encoding() {
    for data in [0u8, 3] {
        let mut elf = valid();
        elf[5] = data;
        assert_load_error(&elf, 0, 0, false, ElfError::BadDataEncoding { data });
    }
}

#[test]
fn error_bad_ident_version() {
    let mut elf = valid();
    elf[6] = 0;
    assert_load_error(&elf, 0, 0, false, ElfError::BadIdentVersion { version: 0 });
}

#[test]
fn error_big_endian_comes_before_machine() {
    let mut elf = valid();
    elf[5] = 2;
    put16(&mut elf, 18, 0x3e00); // x86-64, byte-swapped: would mismatch
    assert_load_error(&elf, 0, 0, false, ElfError::BigEndian);
}

#[test]
fn error_wrong_machine() {
    let elf = valid();
    let err = plan_static_elf(&elf, ElfMachine::Aarch64, 0, 0, false).unwrap_err();
    assert_eq!(
        err,
        ElfError::WrongMachine {
            e_machine: 62,
            expected: 183
        }
    );
    let arm = build_elf(EM_AARCH64, 0, &[]);
    assert_load_error(
        &arm,
        0,
        0,
        false,
        ElfError::WrongMachine {
            e_machine: 183,
            expected: 62,
        },
    );
}

#[test]
fn error_extended_program_header_count_without_section_zero() {
    let mut elf = valid();
    put16(&mut elf, 56, 0xffff);
    assert_load_error(&elf, 0, 0, false, ElfError::MissingSectionHeaderZero);
    put64(&mut elf, 40, 64);
    put16(&mut elf, 58, 40);
    assert_load_error(
        &elf,
        0,
        0,
        false,
        ElfError::BadSectionHeaderEntrySize { e_shentsize: 40 },
    );
    put16(&mut elf, 58, 64);
    let shoff = elf.len() as u64 - 63;
    put64(&mut elf, 40, shoff);
    assert_load_error(
        &elf,
        0,
        0,
        false,
        ElfError::SectionHeaderZeroOutOfFile {
            e_shoff: shoff,
            file_len: elf.len(),
        },
    );
}

#[test]
fn error_bad_program_header_entry_size() {
    let mut elf = valid();
    put16(&mut elf, 54, 64);
    assert_load_error(
        &elf,
        0,
        0,
        false,
        ElfError::BadProgramHeaderEntrySize { e_phentsize: 64 },
    );
}

#[test]
fn error_program_headers_out_of_file() {
    let mut elf = valid();
    put16(&mut elf, 56, 3); // 3 headers at 64: 64 + 168 > file length
    let file_len = elf.len();
    assert!(file_len < 64 + 3 * 56);
    assert_load_error(
        &elf,
        0,
        0,
        false,
        ElfError::ProgramHeadersOutOfFile {
            e_phoff: 64,
            count: 3,
            file_len,
        },
    );
    put16(&mut elf, 56, 1);
    put64(&mut elf, 32, u64::MAX);
    assert_load_error(
        &elf,
        0,
        0,
        false,
        ElfError::ProgramHeadersOutOfFile {
            e_phoff: u64::MAX,
            count: 1,
            file_len,
        },
    );
}

#[test]
fn error_pic_load_offset_overflow() {
    // start - lowest_paddr + load_offset overflows (§9 row 18).
    let elf = build_elf(EM_X86_64, 0, &[Seg::load(0, pattern(1, 8), 8)]);
    assert_load_error(
        &elf,
        0x1000,
        u64::MAX - 0xfff,
        true,
        ElfError::PicLoadOffsetOverflow {
            start_address: 0x1000,
            lowest_paddr: 0,
            load_offset: u64::MAX - 0xfff,
        },
    );
}

#[test]
fn error_entry_address_overflow() {
    let elf = build_elf(EM_X86_64, u64::MAX, &[Seg::load(0, pattern(1, 8), 8)]);
    assert_load_error(
        &elf,
        0,
        1,
        false,
        ElfError::EntryAddressOverflow {
            e_entry: u64::MAX,
            load_offset: 1,
        },
    );
}

#[test]
fn error_entry_below_start_comes_before_segment_checks() {
    // §2 step 7: entry = 0x10 + 0x200000 < start 0x300000. The segment is
    // also below the start, but the entry is checked first.
    let elf = valid();
    assert_load_error(
        &elf,
        0x30_0000,
        0x20_0000,
        false,
        ElfError::EntryBelowStart {
            entry: 0x20_0010,
            e_entry: 0x10,
            load_offset: 0x20_0000,
            start_address: 0x30_0000,
        },
    );
}

#[test]
fn error_load_offset_overflow() {
    let elf = build_elf(EM_X86_64, 0, &[Seg::load(u64::MAX - 0x10, Vec::new(), 0)]);
    assert_load_error(
        &elf,
        0,
        0x1000,
        false,
        ElfError::LoadOffsetOverflow {
            index: 0,
            p_paddr: u64::MAX - 0x10,
            load_offset: 0x1000,
        },
    );
}

#[test]
fn error_segment_below_start() {
    // entry 0x2000 + L 0x200000 >= start 0x201000, but the segment at
    // p_paddr 0 lands at 0x200000 < start.
    let elf = build_elf(
        EM_X86_64,
        0x2000,
        &[
            Seg::load(0x1000, Vec::new(), 0x10),
            Seg::load(0, Vec::new(), 0x10),
        ],
    );
    assert_load_error(
        &elf,
        0x20_1000,
        0x20_0000,
        false,
        ElfError::SegmentBelowStart {
            index: 1,
            address: 0x20_0000,
            start_address: 0x20_1000,
        },
    );
}

#[test]
fn error_segment_size_overflow() {
    let elf = build_elf(EM_X86_64, 0, &[Seg::load(0x1000, Vec::new(), u64::MAX)]);
    assert_load_error(
        &elf,
        0,
        0,
        false,
        ElfError::SegmentSizeOverflow {
            index: 0,
            address: 0x1000,
            p_memsz: u64::MAX,
        },
    );
    // A segment ending exactly at 2^64: its end address overflows.
    let top = build_elf(
        EM_X86_64,
        0,
        &[Seg::load(u64::MAX - 0xfff, Vec::new(), 0x1000)],
    );
    assert_load_error(
        &top,
        0,
        0,
        false,
        ElfError::SegmentSizeOverflow {
            index: 0,
            address: u64::MAX - 0xfff,
            p_memsz: 0x1000,
        },
    );
}

#[test]
fn error_pic_without_pt_load() {
    // §9 row 16: the original underflows.
    let elf = build_elf(EM_X86_64, 0x10, &[Seg::other(PT_NOTE)]);
    assert_load_error(&elf, 0, 0, true, ElfError::NoLoadableSegments);
}

#[test]
fn error_reloc_bias_underflow_with_unaligned_start() {
    // lowest p_paddr 0x1000000 < start 0x8200800: the segment moves to
    // 0x8200800, whose page 0x8200000 is below the start.
    let elf = build_elf(
        EM_X86_64,
        0x100_0000,
        &[Seg::load(0x100_0000, pattern(1, 8), 8)],
    );
    assert_load_error(
        &elf,
        0x820_0800,
        0,
        true,
        ElfError::RelocBiasUnderflow {
            lowest_page_address: 0x820_0000,
            start_address: 0x820_0800,
        },
    );
}

#[test]
fn error_entry_below_reloc_bias() {
    // PIC, lowest page 0x100000 >= start 0x1000: bias 0xff000 is larger
    // than the entry 0x1000.
    let elf = build_elf(EM_X86_64, 0x1000, &[Seg::load(0x10_0000, pattern(1, 8), 8)]);
    assert_load_error(
        &elf,
        0x1000,
        0,
        true,
        ElfError::EntryBelowRelocBias {
            entry: 0x1000,
            reloc_bias: 0xf_f000,
        },
    );
}

#[test]
fn error_segment_out_of_file() {
    // Like gen.py's bad-truncated-segments.elf: headers fine, the data of
    // segment 1 cut (segment 0 is complete).
    let (elf, _) = small_kernel();
    let ph1 = 64 + 56;
    let p_offset = u64::from_le_bytes(elf[ph1 + 8..ph1 + 16].try_into().unwrap());
    let cut = &elf[..p_offset as usize + 0x100];
    assert_load_error(
        cut,
        0x820_0000,
        0,
        true,
        ElfError::SegmentOutOfFile {
            index: 1,
            p_offset,
            p_filesz: 0x2000,
            file_len: cut.len(),
        },
    );
    let mut seg = Seg::load(0, Vec::new(), 0x10);
    seg.offset = Some(u64::MAX);
    seg.filesz = Some(2);
    let elf = build_elf(EM_X86_64, 0, &[seg]);
    assert_load_error(
        &elf,
        0,
        0,
        false,
        ElfError::SegmentOutOfFile {
            index: 0,
            p_offset: u64::MAX,
            p_filesz: 2,
            file_len: elf.len(),
        },
    );
}

#[test]
fn error_file_size_above_memory_size() {
    let elf = build_elf(
        EM_X86_64,
        0,
        &[
            Seg::load(0, pattern(1, 8), 8),
            Seg::load(0x1000, pattern(1, 0x20), 0x10),
        ],
    );
    assert_load_error(
        &elf,
        0,
        0,
        false,
        ElfError::FileSizeAboveMemorySize {
            index: 1,
            p_filesz: 0x20,
            p_memsz: 0x10,
        },
    );
}

#[test]
fn error_segments_sharing_a_page() {
    let elf = build_elf(
        EM_X86_64,
        0,
        &[
            Seg::load(0x1000, pattern(1, 0x800), 0x800),
            Seg::load(0x1800, pattern(2, 0x800), 0x1000),
        ],
    );
    assert_load_error(
        &elf,
        0,
        0,
        false,
        ElfError::OverlappingSegments {
            first: 0,
            first_page_base: 1,
            first_page_count: 1,
            second: 1,
            second_page_base: 1,
            second_page_count: 2,
        },
    );
}

#[test]
fn error_out_of_order_overlap_is_found() {
    // Segment 2 lies below segment 1 and overlaps segment 0.
    let elf = build_elf(
        EM_X86_64,
        0,
        &[
            Seg::load(0x4000, Vec::new(), 0x2000),
            Seg::load(0x9000, Vec::new(), 0x1000),
            Seg::load(0x5000, Vec::new(), 0x1000),
        ],
    );
    assert_load_error(
        &elf,
        0,
        0,
        false,
        ElfError::OverlappingSegments {
            first: 0,
            first_page_base: 4,
            first_page_count: 2,
            second: 2,
            second_page_base: 5,
            second_page_count: 1,
        },
    );
    // Out of order without overlap is fine.
    let elf = build_elf(
        EM_X86_64,
        0,
        &[
            Seg::load(0x9000, Vec::new(), 0x1000),
            Seg::load(0x4000, Vec::new(), 0x2000),
        ],
    );
    assert_eq!(ranges(&load_ok(&elf, 0, 0, false).1), [(9, 1), (4, 2)]);
}

#[test]
fn error_in_a_later_segment_imports_nothing() {
    let elf = build_elf(
        EM_X86_64,
        0,
        &[
            Seg::load(0, pattern(1, 0x10), 0x10),
            Seg::load(0x1000, pattern(2, 0x20), 0x10),
        ],
    );
    let (result, rec) = load(&elf, 0, 0, false);
    assert!(matches!(
        result,
        Err(LoadError::Elf(ElfError::FileSizeAboveMemorySize {
            index: 1,
            ..
        }))
    ));
    assert!(rec.calls.is_empty());
}

#[test]
fn errors_say_what_is_wrong() {
    let text = std::format!(
        "{}",
        ElfError::SegmentOutOfFile {
            index: 3,
            p_offset: 0x40,
            p_filesz: 0x10,
            file_len: 0x45
        }
    );
    assert!(
        text.contains("program header 3") && text.contains("0x40") && text.contains("outside"),
        "{text}"
    );
    let text = std::format!("{}", LoadError::<Refused>::Import(Refused(4)));
    assert!(text.contains("call 4 refused"), "{text}");
}

// ---- properties ----

/// A random valid layout: segments in ascending, page-disjoint order (then
/// possibly listed out of order), each with file bytes <= memory bytes.
#[derive(Debug, Clone)]
struct Layout {
    segs: Vec<(u64, usize, u64)>, // (paddr, filesz, memsz)
    order: Vec<usize>,
    pic: bool,
    start_page: u64,
    load_offset_page: u64,
    entry_delta: u64,
}

fn layout() -> impl Strategy<Value = Layout> {
    let seg = (0u64..4, 0u64..4096, 0usize..9000, 0u64..9000);
    (
        proptest::collection::vec(seg, 1..6),
        any::<bool>(),
        0u64..0x10_0000,
        0u64..0x1000,
        0u64..0x800,
        any::<prop::sample::Index>(),
    )
        .prop_map(|(raw, pic, base_page, offset_page, entry_delta, rotate)| {
            let mut segs = Vec::new();
            let mut next_page = base_page;
            for (gap, in_page, filesz, extra) in raw {
                let paddr = (next_page + gap) * 4096 + in_page;
                let memsz = filesz as u64 + extra;
                segs.push((paddr, filesz, memsz));
                // The next segment starts on a page after this one's end.
                next_page = (paddr + memsz).div_ceil(4096).max(paddr / 4096 + 1);
            }
            let mut order: Vec<usize> = (0..segs.len()).collect();
            let by = rotate.index(segs.len());
            order.rotate_left(by);
            Layout {
                segs,
                order,
                pic,
                start_page: base_page / 2 + 0x100,
                load_offset_page: offset_page,
                entry_delta,
            }
        })
}

proptest! {
    #[test]
    fn imported_bytes_are_file_bytes_at_the_right_addresses(l in layout()) {
        let segs: Vec<Seg> = l
            .order
            .iter()
            .map(|&i| {
                let (paddr, filesz, memsz) = l.segs[i];
                Seg::load(paddr, pattern(i as u8 * 17 + 1, filesz), memsz)
            })
            .collect();
        let lowest_paddr = l.segs[0].0;
        let start = l.start_page * 4096;
        let load_offset = l.load_offset_page * 4096;
        let entry = lowest_paddr + l.entry_delta;
        let elf = build_elf(EM_X86_64, entry, &segs);
        let result = plan(&elf, start, load_offset, l.pic);
        if !l.pic && lowest_paddr + load_offset < start {
            // Not every random non-PIC layout is above the start address.
            prop_assert!(result.is_err());
            return Ok(());
        }
        let plan = result.unwrap();
        let info = plan.info();
        let mut rec = Recorder::default();
        plan.import(&mut rec, PageAcceptance::Exclusive, TAG).unwrap();
        let memory = memory_of(&rec.calls).unwrap();

        // Where segment 0 (the lowest) must land, from §2: non-PIC at
        // p_paddr + load_offset; PIC with its page at the start address.
        // PIC: moved up exactly to the start when below it, else moved down
        // to it keeping the offset within the page (§2 consequences).
        let base = match (l.pic, lowest_paddr < start) {
            (true, true) => start,
            (true, false) => start + lowest_paddr % 4096,
            (false, _) => lowest_paddr + load_offset,
        };
        prop_assert_eq!(info.minimum_address_used, base & !0xfff);
        prop_assert_eq!(info.entrypoint, base + l.entry_delta);
        // The expected contents of [minimum, next): file bytes, zeros elsewhere.
        let min = info.minimum_address_used;
        let mut expected = vec![0u8; (info.next_available_address - min) as usize];
        for (i, &(paddr, filesz, memsz)) in l.segs.iter().enumerate() {
            // Segments keep their distances.
            let address = base + (paddr - lowest_paddr);
            let at = (address - min) as usize;
            expected[at..at + filesz].copy_from_slice(&pattern(i as u8 * 17 + 1, filesz));
            // Every page of the segment (file bytes, .bss, page slack) is imported.
            for page in address / 4096..(address + memsz).div_ceil(4096) {
                prop_assert!(memory.contains_key(&page), "page {:#x} missing", page);
            }
        }
        // The highest segment ends the image: (page_base + page_count) * 4096
        // = align_up(address + p_memsz).
        let (last_paddr, _, last_memsz) = *l.segs.last().unwrap();
        let last_address = base + (last_paddr - lowest_paddr);
        prop_assert_eq!(info.next_available_address, (last_address + last_memsz).next_multiple_of(4096));
        // Nothing outside [minimum, next); zeros everywhere but file bytes.
        for (&page, bytes) in &memory {
            prop_assert!(page * 4096 >= min);
            prop_assert!((page + 1) * 4096 <= info.next_available_address);
            let at = (page * 4096 - min) as usize;
            prop_assert!(bytes[..] == expected[at..at + 4096], "page {:#x} differs", page);
        }
        // One call per PT_LOAD with pages, in file order, each the
        // original's (§2 step 10): leading zeros = address mod 4096 and the
        // file bytes as a slice of the input (zero copy).
        let expected_calls: Vec<(u64, u64, usize, Vec<u8>)> = l
            .order
            .iter()
            .filter_map(|&i| {
                let (paddr, filesz, memsz) = l.segs[i];
                let address = base + (paddr - lowest_paddr);
                let pages = (address % 4096 + memsz).div_ceil(4096);
                (pages > 0).then(|| {
                    (address / 4096, pages, (address % 4096) as usize, pattern(i as u8 * 17 + 1, filesz))
                })
            })
            .collect();
        let calls: Vec<(u64, u64, usize, Vec<u8>)> = rec
            .calls
            .iter()
            .map(|c| (c.page_base, c.page_count, c.leading_zeros, c.data.clone()))
            .collect();
        prop_assert_eq!(calls, expected_calls);
        for call in &rec.calls {
            prop_assert!(inside(&elf, call), "data was copied");
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), start in any::<u64>(), offset in any::<u64>(), pic in any::<bool>()) {
        let mut elf = bytes;
        // Make the header plausible half of the time so the deeper checks run.
        if elf.len() >= 64 && elf[0] & 1 == 0 {
            elf[..8].copy_from_slice(b"\x7fELF\x02\x01\x01\x00");
            put16(&mut elf, 18, EM_X86_64);
            put64(&mut elf, 32, 64);
            put16(&mut elf, 54, 56);
            let count = ((elf.len() - 64) / 56) as u16;
            put16(&mut elf, 56, count);
        }
        if let Ok(plan) = plan(&elf, start, offset, pic) {
            let mut rec = Recorder::default();
            plan.import(&mut rec, PageAcceptance::Exclusive, TAG).unwrap();
            let info = plan.info();
            for call in &rec.calls {
                prop_assert!(call.leading_zeros < 4096);
                prop_assert!(call.full_data().len() as u128 <= u128::from(call.page_count) * 4096);
                prop_assert!(call.page_base.checked_mul(4096).is_some_and(|a| a >= info.minimum_address_used));
                prop_assert!((call.page_base + call.page_count) * 4096 <= info.next_available_address);
            }
            // No page is imported twice (ranges can be huge: compare ends).
            for (i, a) in rec.calls.iter().enumerate() {
                for b in &rec.calls[..i] {
                    prop_assert!(a.page_base + a.page_count <= b.page_base || b.page_base + b.page_count <= a.page_base);
                }
            }
        }
    }
}

#[test]
fn helper_pattern_is_not_zero() {
    assert!(pattern(0, 1000).iter().all(|&b| b != 0));
    assert_eq!(vec![0u8; 0], pattern(3, 0));
}

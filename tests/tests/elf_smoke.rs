//! Smoke tests of `elf-static-loader` on real files: a PIE from the machine
//! (`/usr/bin/ls`) loaded as a shim and as a PIC kernel, and the golden
//! fixtures loaded where the golden cases load them, checked against the
//! page hashes of the stored image summaries (`docs/formats.md`: adjacent
//! runs with the same tag and acceptance merged, SHA-256 of the run's pages).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::Path;

use elf_static_loader::ElfMachine;
use elf_static_loader::ImportPages;
use elf_static_loader::PageAcceptance;
use elf_static_loader::load_arm64_image;
use elf_static_loader::load_static_elf;
use elf_static_loader::plan_static_elf;
use object::LittleEndian;
use object::read::elf::FileHeader;
use object::read::elf::ProgramHeader;
use sha2::Digest;
use sha2::Sha256;

/// Guest memory as an importer sees it: page -> (tag, acceptance, bytes).
#[derive(Default)]
struct Pages {
    pages: BTreeMap<u64, (&'static str, PageAcceptance, Vec<u8>)>,
}

impl ImportPages for Pages {
    type Error = Infallible;

    fn import_pages(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &'static str,
        acceptance: PageAcceptance,
        data: &[u8],
    ) -> Result<(), Infallible> {
        assert!(
            data.len() as u64 <= page_count * 4096,
            "data longer than pages"
        );
        for i in 0..page_count {
            let start = (i * 4096) as usize;
            let mut page = vec![0u8; 4096];
            if start < data.len() {
                let end = data.len().min(start + 4096);
                page[..end - start].copy_from_slice(&data[start..end]);
            }
            let old = self.pages.insert(page_base + i, (tag, acceptance, page));
            assert!(old.is_none(), "page {:#x} imported twice", page_base + i);
        }
        Ok(())
    }
}

impl Pages {
    fn byte(&self, address: u64) -> Option<u8> {
        self.pages
            .get(&(address / 4096))
            .map(|(_, _, page)| page[(address % 4096) as usize])
    }

    /// Runs of adjacent pages with the same tag: (page_base, page_count,
    /// tag, sha256 hex).
    fn runs(&self) -> Vec<(u64, u64, &'static str, String)> {
        let mut runs: Vec<(u64, u64, &'static str, PageAcceptance, Sha256)> = Vec::new();
        for (&page, &(tag, acceptance, ref bytes)) in &self.pages {
            match runs.last_mut() {
                Some((base, count, t, a, hash))
                    if *base + *count == page && *t == tag && *a == acceptance =>
                {
                    *count += 1;
                    hash.update(bytes);
                }
                _ => {
                    let mut hash = Sha256::new();
                    hash.update(bytes);
                    runs.push((page, 1, tag, acceptance, hash));
                }
            }
        }
        runs.into_iter()
            .map(|(base, count, tag, _, hash)| (base, count, tag, hex(&hash.finalize())))
            .collect()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn fixture(name: &str) -> Vec<u8> {
    let path = paravisor_tests::golden_dir().join("fixtures").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The golden summary's runs with `tag`.
fn golden_runs(case: &str, tag: &str) -> Vec<(u64, u64, String)> {
    let path = paravisor_tests::golden_dir()
        .join("summaries")
        .join(format!("{case}.summary.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let summary: serde_json::Value = serde_json::from_str(&text).unwrap();
    summary["pages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["tag"] == tag)
        .map(|p| {
            assert_eq!(p["acceptance"], "exclusive");
            (
                p["page_base"].as_u64().unwrap(),
                p["page_count"].as_u64().unwrap(),
                p["sha256"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn our_runs(pages: &Pages, tag: &str) -> Vec<(u64, u64, String)> {
    pages
        .runs()
        .into_iter()
        .filter(|r| r.2 == tag)
        .map(|(base, count, _, sha)| (base, count, sha))
        .collect()
}

/// (p_paddr, file bytes, p_memsz) of every PT_LOAD, read with `object`'s
/// own ELF reader (independent of the loader's header walk).
fn pt_loads(elf: &[u8]) -> Vec<(u64, Vec<u8>, u64)> {
    let header = object::elf::FileHeader64::<LittleEndian>::parse(elf).unwrap();
    header
        .program_headers(LittleEndian, elf)
        .unwrap()
        .iter()
        .filter(|ph| ph.p_type(LittleEndian) == object::elf::PT_LOAD)
        .map(|ph| {
            (
                ph.p_paddr(LittleEndian),
                ph.data(LittleEndian, elf).unwrap().to_vec(),
                ph.p_memsz(LittleEndian),
            )
        })
        .collect()
}

/// Checks that every PT_LOAD's bytes are at `p_paddr + delta`, followed by
/// zeros up to p_memsz, and that nothing else was imported outside
/// [min, next).
fn check_segments_at(pages: &Pages, elf: &[u8], delta: u64, min: u64, next: u64) {
    for (paddr, bytes, memsz) in pt_loads(elf) {
        let address = paddr + delta;
        for (i, &b) in bytes.iter().enumerate() {
            assert_eq!(
                pages.byte(address + i as u64),
                Some(b),
                "byte at {:#x}",
                address + i as u64
            );
        }
        for a in address + bytes.len() as u64..address + memsz {
            assert_eq!(pages.byte(a), Some(0), ".bss byte at {a:#x}");
        }
    }
    let first = *pages.pages.keys().next().unwrap();
    let last = *pages.pages.keys().last().unwrap();
    assert!(first * 4096 >= min && (last + 1) * 4096 <= next);
}

const LS: &str = "/usr/bin/ls";

#[test]
fn usr_bin_ls_loads_as_a_shim() {
    // A PIE linked at 0, loaded like the boot shim: start 0, load offset
    // 0x8408000, not PIC (docs/algorithms.md §2: segments at p_paddr + offset).
    let elf = std::fs::read(Path::new(LS)).expect("a PIE at /usr/bin/ls on this machine");
    let load_offset = 0x840_8000;
    let plan = plan_static_elf(&elf, ElfMachine::X86_64, 0, load_offset, false).unwrap();
    let entry = object::elf::FileHeader64::<LittleEndian>::parse(&*elf)
        .unwrap()
        .e_entry(LittleEndian);
    let loads = pt_loads(&elf);
    let (last_paddr, _, last_memsz) = loads.iter().max_by_key(|l| l.0).unwrap();
    let info = plan.info();
    assert_eq!(info.entrypoint, entry + load_offset);
    assert_eq!(
        info.minimum_address_used,
        (loads.iter().map(|l| l.0).min().unwrap() + load_offset) & !0xfff
    );
    assert_eq!(
        info.next_available_address,
        (last_paddr + last_memsz + load_offset).next_multiple_of(4096)
    );

    let mut pages = Pages::default();
    plan.import(&mut pages, PageAcceptance::Exclusive, "underhill-boot-shim")
        .unwrap();
    check_segments_at(
        &pages,
        &elf,
        load_offset,
        info.minimum_address_used,
        info.next_available_address,
    );
    // An ELF for the wrong architecture is refused.
    assert!(plan_static_elf(&elf, ElfMachine::Aarch64, 0, load_offset, false).is_err());
}

#[test]
fn usr_bin_ls_loads_as_a_pic_kernel() {
    // Lowest p_paddr 0 < start: moved up by exactly the start address.
    let elf = std::fs::read(Path::new(LS)).expect("a PIE at /usr/bin/ls on this machine");
    let start = 0x820_0000;
    let mut pages = Pages::default();
    let info = load_static_elf(
        &mut pages,
        &elf,
        ElfMachine::X86_64,
        start,
        0,
        true,
        PageAcceptance::Shared,
        "underhill-kernel",
    )
    .unwrap();
    assert_eq!(info.minimum_address_used, start);
    check_segments_at(
        &pages,
        &elf,
        start,
        info.minimum_address_used,
        info.next_available_address,
    );
    assert!(
        pages
            .pages
            .values()
            .all(|(tag, a, _)| *tag == "underhill-kernel" && *a == PageAcceptance::Shared)
    );
}

#[test]
fn golden_x64_kernel_sidecar_and_shim_match_the_summary() {
    // Case x64-none-reloc-1g-cross-sidecar-initrd5000: VTL2 at 0x8000000,
    // kernel PIC at 0x8200000, sidecar at the next 2 MiB boundary, shim
    // right after the sidecar (docs/algorithms.md §7.1).
    let case = "x64-none-reloc-1g-cross-sidecar-initrd5000";
    let kernel = fixture("kernel-x64.elf");
    let sidecar = fixture("sidecar-x64.elf");
    let shim = fixture("shim-x64.elf");
    let mut pages = Pages::default();
    let x64 = ElfMachine::X86_64;
    let exclusive = PageAcceptance::Exclusive;

    let k = load_static_elf(
        &mut pages,
        &kernel,
        x64,
        0x820_0000,
        0,
        true,
        exclusive,
        "underhill-kernel",
    )
    .unwrap();
    let sidecar_base = k.next_available_address.next_multiple_of(0x20_0000);
    assert_eq!(sidecar_base, 0x840_0000);
    let s = load_static_elf(
        &mut pages,
        &sidecar,
        x64,
        0,
        sidecar_base,
        false,
        exclusive,
        "sidecar-kernel",
    )
    .unwrap();
    let shim_offset = sidecar_base + (s.next_available_address - sidecar_base);
    let sh = load_static_elf(
        &mut pages,
        &shim,
        x64,
        0,
        shim_offset,
        false,
        exclusive,
        "underhill-boot-shim",
    )
    .unwrap();
    // The summary's RIP is the shim entry point.
    assert_eq!(sh.entrypoint, 0x840_8010);

    for tag in ["underhill-kernel", "sidecar-kernel", "underhill-boot-shim"] {
        let golden = golden_runs(case, tag);
        assert!(!golden.is_empty(), "{tag}");
        assert_eq!(our_runs(&pages, tag), golden, "{tag}");
    }
}

#[test]
fn golden_arm64_image_and_shim_match_the_summary() {
    // Case a64-none-reloc-64m-uefi: K = 0x8000000 + 2 MiB, no initrd (an
    // empty one is imported with 0 pages), shim at the initrd address.
    let case = "a64-none-reloc-64m-uefi";
    let image = fixture("Image-arm64");
    let shim = fixture("shim-arm64.elf");
    let mut pages = Pages::default();
    let info = load_arm64_image(&mut pages, &image, 0x820_0000, &[]).unwrap();
    assert_eq!(info.initrd.gpa, 0x860_0000);
    let next = (info.initrd.gpa + info.initrd.size).next_multiple_of(4096);
    let sh = load_static_elf(
        &mut pages,
        &shim,
        ElfMachine::Aarch64,
        0,
        next,
        false,
        PageAcceptance::Exclusive,
        "underhill-boot-shim",
    )
    .unwrap();
    // The summary's PC is the shim entry point.
    assert_eq!(sh.entrypoint, 0x860_0010);
    for tag in ["linux-kernel", "underhill-boot-shim"] {
        let golden = golden_runs(case, tag);
        assert!(!golden.is_empty(), "{tag}");
        assert_eq!(our_runs(&pages, tag), golden, "{tag}");
    }
    // The empty initrd's 0-page import leaves no pages (and none in the summary).
    assert!(golden_runs(case, "linux-initrd").is_empty());
    assert!(our_runs(&pages, "linux-initrd").is_empty());
}

#[test]
fn golden_wrong_machine_kernel_is_refused() {
    // Case err-x64-kernel-wrong-machine: the stored summary has ok: false.
    let kernel = fixture("bad-kernel-x64-machine-aarch64.elf");
    let err = plan_static_elf(&kernel, ElfMachine::X86_64, 0x820_0000, 0, true).unwrap_err();
    assert_eq!(
        err,
        elf_static_loader::ElfError::WrongMachine {
            e_machine: 183,
            expected: 62
        }
    );
}

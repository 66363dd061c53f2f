//! Benchmark: planning and importing static ELF64 files and an arm64 `Image`
//! through an importer that only looks at what it is given, beside a copy
//! (`copy_from_slice`) of the same bytes, measured in the same run. The
//! loader passes slices of the input, so plan + import should cost a tiny
//! fraction of one copy, whatever the file size.
//!
//! Run: `cargo bench -p paravisor-tests --bench elf_loader`

mod common;

use common::measure;
use std::convert::Infallible;
use std::hint::black_box;
use std::time::Duration;

use elf_static_loader::ElfMachine;
use elf_static_loader::ImportPages;
use elf_static_loader::PageAcceptance;
use elf_static_loader::plan_arm64_image;
use elf_static_loader::plan_static_elf;

const MIB: usize = 1024 * 1024;

/// Counts pages and bytes and reads the first and last byte of each call.
#[derive(Default)]
struct Count(u64);

impl ImportPages for Count {
    type Error = Infallible;

    fn import_pages(
        &mut self,
        page_base: u64,
        page_count: u64,
        _tag: &'static str,
        _acceptance: PageAcceptance,
        data: &[u8],
    ) -> Result<(), Infallible> {
        let edges = u64::from(*data.first().unwrap_or(&0)) + u64::from(*data.last().unwrap_or(&0));
        self.0 = self
            .0
            .wrapping_add(page_base ^ page_count ^ data.len() as u64 ^ edges);
        Ok(())
    }
}

fn put(buf: &mut [u8], offset: usize, bytes: &[u8]) {
    buf[offset..offset + bytes.len()].copy_from_slice(bytes);
}

/// An ELF64 x86-64 file with `segments` PT_LOADs of `size` bytes each (every
/// other one starting 0x234 bytes into a page, each with 64 KiB of .bss).
fn synthetic_elf(segments: usize, size: usize) -> Vec<u8> {
    let data_start = 0x1000;
    let mut elf = vec![0u8; data_start + segments * size];
    put(&mut elf, 0, b"\x7fELF\x02\x01\x01\x00");
    put(&mut elf, 18, &62u16.to_le_bytes());
    put(&mut elf, 24, &0x100_0000u64.to_le_bytes());
    put(&mut elf, 32, &64u64.to_le_bytes());
    put(&mut elf, 54, &56u16.to_le_bytes());
    put(&mut elf, 56, &(segments as u16).to_le_bytes());
    for i in 0..segments {
        let ph = 64 + 56 * i;
        let offset = (data_start + i * size) as u64;
        let paddr =
            0x100_0000 + (i * (size + 0x20_0000)) as u64 + if i % 2 == 1 { 0x234 } else { 0 };
        put(&mut elf, ph, &1u32.to_le_bytes());
        put(&mut elf, ph + 8, &offset.to_le_bytes());
        put(&mut elf, ph + 24, &paddr.to_le_bytes());
        put(&mut elf, ph + 32, &(size as u64).to_le_bytes());
        put(&mut elf, ph + 40, &(size as u64 + 0x1_0000).to_le_bytes());
    }
    for (i, b) in elf[data_start..].iter_mut().enumerate() {
        *b = (i % 251) as u8;
    }
    elf
}

fn arm64_image(size: usize) -> Vec<u8> {
    let mut image = vec![0x5au8; size];
    put(&mut image, 16, &0u64.to_le_bytes()); // image_size 0: file length
    put(&mut image, 24, &((1u64 << 1) | (1 << 3)).to_le_bytes());
    put(&mut image, 56, b"ARM\x64");
    image
}

fn main() {
    let target = Duration::from_millis(200);
    println!(
        "{:<34} {:>9} {:>12} {:>14} {:>14} {:>8}",
        "input", "MiB", "plan", "plan+import", "copy", "ratio"
    );
    let row = |name: &str, bytes: &[u8], plan: &mut dyn FnMut(), load: &mut dyn FnMut()| {
        let plan_time = measure(plan, target, 7);
        let load_time = measure(load, target, 7);
        let mut out = vec![0u8; bytes.len()];
        let copy = measure(|| out.copy_from_slice(black_box(bytes)), target, 7);
        println!(
            "{:<34} {:>9.1} {:>12?} {:>14?} {:>14?} {:>8.1e}",
            name,
            bytes.len() as f64 / MIB as f64,
            plan_time,
            load_time,
            copy,
            load_time.as_secs_f64() / copy.as_secs_f64()
        );
    };

    for (segments, size) in [(4, 16 * MIB), (64, MIB)] {
        let elf = synthetic_elf(segments, size);
        let name = format!("ELF, {segments} PT_LOADs (PIC kernel)");
        row(
            &name,
            &elf,
            &mut || {
                black_box(
                    plan_static_elf(black_box(&elf), ElfMachine::X86_64, 0x820_0000, 0, true)
                        .unwrap(),
                );
            },
            &mut || {
                let plan =
                    plan_static_elf(black_box(&elf), ElfMachine::X86_64, 0x820_0000, 0, true)
                        .unwrap();
                let mut count = Count::default();
                plan.import(&mut count, PageAcceptance::Exclusive, "underhill-kernel")
                    .unwrap();
                black_box(count.0);
            },
        );
    }

    if let Ok(ls) = std::fs::read("/usr/bin/ls") {
        row(
            "/usr/bin/ls (shim)",
            &ls,
            &mut || {
                black_box(
                    plan_static_elf(black_box(&ls), ElfMachine::X86_64, 0, 0x840_8000, false)
                        .unwrap(),
                );
            },
            &mut || {
                let plan =
                    plan_static_elf(black_box(&ls), ElfMachine::X86_64, 0, 0x840_8000, false)
                        .unwrap();
                let mut count = Count::default();
                plan.import(&mut count, PageAcceptance::Exclusive, "underhill-boot-shim")
                    .unwrap();
                black_box(count.0);
            },
        );
    }

    let image = arm64_image(32 * MIB);
    let initrd = vec![0xa5u8; 8 * MIB];
    row(
        "arm64 Image + 8 MiB initrd",
        &image,
        &mut || {
            black_box(
                plan_arm64_image(black_box(&image), 0x820_0000, initrd.len() as u64).unwrap(),
            );
        },
        &mut || {
            let plan =
                plan_arm64_image(black_box(&image), 0x820_0000, initrd.len() as u64).unwrap();
            let mut count = Count::default();
            plan.import(&mut count, &initrd).unwrap();
            black_box(count.0);
        },
    );
}

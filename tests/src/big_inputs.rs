//! Deterministic large inputs for the load benchmarks (issue 11): a ~40 MiB
//! x86-64 kernel ELF shaped like a vmlinux, a 64 MiB initrd, a sidecar, boot
//! shims for both architectures, a 40 MiB arm64 `Image` and a UEFI VP
//! context, plus load manifests (`paravisor-load-manifest/1`) naming them.
//!
//! Every byte is a pure function of this file (a splitmix64 stream per
//! label); nothing depends on time or the machine. Used by the load and
//! IGVM benchmarks (`tests/benches/load.rs`, `tests/benches/igvm.rs`);
//! `cargo bench -p paravisor-tests --bench load -- --write-inputs DIR`
//! writes the files and manifests.

use crate::EM_AARCH64;
use crate::EM_X86_64;
use std::path::Path;

/// 1 MiB.
pub const MIB: usize = 1024 * 1024;
/// 512 MiB of VTL2 memory, in 4 KiB pages.
pub const VTL2_PAGES: u64 = (512 * MIB / 4096) as u64;
/// x86-64 kernel virtual base minus physical base (`__START_KERNEL_map`).
const KVA: u64 = 0xFFFF_FFFF_8000_0000;
const PAGE: usize = 0x1000;
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const PT_LOAD: u32 = 1;
const PF_X: u32 = 1;
const PF_W: u32 = 2;
const PF_R: u32 = 4;

/// `n` pseudo-random bytes: splitmix64 seeded from `label`.
pub fn rand_bytes(label: &str, n: usize) -> Vec<u8> {
    // FNV-1a of the label as the seed.
    let mut state = label.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(n);
    out
}

/// One PT_LOAD of [`elf64`].
struct Segment {
    paddr: u64,
    vaddr: u64,
    data: Vec<u8>,
    memsz: u64,
    flags: u32,
}

fn align_up(x: usize, a: usize) -> usize {
    x.div_ceil(a) * a
}

/// A little-endian ELF64 with only program headers; each segment's file
/// offset is congruent to its address modulo 4 KiB.
fn elf64(machine: u16, etype: u16, entry: u64, segments: &[Segment]) -> Vec<u8> {
    let phnum = segments.len();
    let mut cursor = align_up(64 + 56 * phnum, PAGE);
    let mut offsets = Vec::new();
    for s in segments {
        let off = align_up(cursor, PAGE) + (s.vaddr as usize % PAGE);
        offsets.push(off);
        cursor = off + s.data.len();
    }
    let mut out = vec![0u8; cursor];
    let mut put = |at: usize, bytes: &[u8]| out[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, b"\x7fELF\x02\x01\x01\x00");
    put(16, &etype.to_le_bytes());
    put(18, &machine.to_le_bytes());
    put(20, &1u32.to_le_bytes());
    put(24, &entry.to_le_bytes());
    put(32, &64u64.to_le_bytes()); // e_phoff
    put(52, &64u16.to_le_bytes()); // e_ehsize
    put(54, &56u16.to_le_bytes()); // e_phentsize
    put(56, &(phnum as u16).to_le_bytes());
    put(58, &64u16.to_le_bytes()); // e_shentsize
    for (i, (s, &off)) in segments.iter().zip(&offsets).enumerate() {
        let ph = 64 + 56 * i;
        put(ph, &PT_LOAD.to_le_bytes());
        put(ph + 4, &s.flags.to_le_bytes());
        put(ph + 8, &(off as u64).to_le_bytes());
        put(ph + 16, &s.vaddr.to_le_bytes());
        put(ph + 24, &s.paddr.to_le_bytes());
        put(ph + 32, &(s.data.len() as u64).to_le_bytes());
        put(ph + 40, &s.memsz.to_le_bytes());
        put(ph + 48, &0x1000u64.to_le_bytes());
        put(off, &s.data);
    }
    out
}

/// A vmlinux-like x86-64 kernel of about 40 MiB: text, rodata (starting
/// 0x234 bytes into a page), data, a percpu segment with `p_vaddr` 0 and
/// init + 2 MiB of .bss. Entry in text.
pub fn kernel_x64() -> Vec<u8> {
    let seg = |paddr: u64, vaddr: u64, label: &str, len: usize, bss: u64, flags: u32| Segment {
        paddr,
        vaddr,
        data: rand_bytes(label, len),
        memsz: len as u64 + bss,
        flags,
    };
    let text = 0x100_0000;
    let rodata = 0x220_0234;
    let data = 0x2c0_0000;
    let percpu = 0x320_0000;
    let init = 0x324_0000;
    elf64(
        EM_X86_64,
        ET_EXEC,
        text + 0x1c0,
        &[
            seg(text, KVA + text, "k-text", 0x120_0000, 0, PF_R | PF_X),
            seg(rodata, KVA + rodata, "k-rodata", 0x9f_1234, 0, PF_R),
            seg(data, KVA + data, "k-data", 0x60_0000, 0, PF_R | PF_W),
            seg(percpu, 0, "k-percpu", 0x3_2000, 0, PF_R | PF_W),
            seg(
                init,
                KVA + init,
                "k-init",
                0x5b_c000,
                0x20_0000,
                PF_R | PF_W | PF_X,
            ),
        ],
    )
}

/// A position-independent boot shim linked at 0 (text, data + .bss).
pub fn shim(machine_arm64: bool) -> Vec<u8> {
    let (machine, label) = if machine_arm64 {
        (EM_AARCH64, "shim-arm64")
    } else {
        (EM_X86_64, "shim-x64")
    };
    elf64(
        machine,
        ET_DYN,
        0x10,
        &[
            Segment {
                paddr: 0,
                vaddr: 0,
                data: rand_bytes(&format!("{label}-text"), 0x2_3456),
                memsz: 0x2_3456,
                flags: PF_R | PF_X,
            },
            Segment {
                paddr: 0x2_5000,
                vaddr: 0x2_5000,
                data: rand_bytes(&format!("{label}-data"), 0x4800),
                memsz: 0x1_0000,
                flags: PF_R | PF_W,
            },
        ],
    )
}

/// A 512 KiB-ish sidecar kernel linked at 0.
pub fn sidecar_x64() -> Vec<u8> {
    elf64(
        EM_X86_64,
        ET_DYN,
        0x40,
        &[
            Segment {
                paddr: 0,
                vaddr: 0,
                data: rand_bytes("sidecar-text", 0x7_a000),
                memsz: 0x7_a000,
                flags: PF_R | PF_X,
            },
            Segment {
                paddr: 0x7_c000,
                vaddr: 0x7_c000,
                data: rand_bytes("sidecar-data", 0x3000),
                memsz: 0x1_0000,
                flags: PF_R | PF_W,
            },
        ],
    )
}

/// A 40 MiB flat arm64 `Image` (little endian, 4 KiB pages, any start
/// address) whose `image_size` adds 2 MiB of .bss.
pub fn image_arm64() -> Vec<u8> {
    let len = 40 * MIB;
    let mut image = rand_bytes("image-arm64", len);
    let mut put = |at: usize, bytes: &[u8]| image[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, &0x1400_0010u32.to_le_bytes()); // code0: b #0x40
    put(4, &0u32.to_le_bytes());
    put(8, &0u64.to_le_bytes()); // text_offset
    put(16, &((len + 2 * MIB) as u64).to_le_bytes()); // image_size
    put(24, &((1u64 << 1) | (1 << 3)).to_le_bytes()); // flags
    put(32, &[0u8; 24]);
    put(56, b"ARM\x64");
    put(60, &0u32.to_le_bytes());
    image
}

/// The 64 MiB initrd.
pub fn initrd() -> Vec<u8> {
    rand_bytes("initrd-64m", 64 * MIB)
}

/// A UEFI VP-context blob (one page).
pub fn vp_context() -> Vec<u8> {
    rand_bytes("uefi-vp-context", 4096)
}

/// Every input, built in memory.
pub struct BigInputs {
    /// ~40 MiB x86-64 kernel ELF.
    pub kernel_x64: Vec<u8>,
    /// x86-64 boot shim.
    pub shim_x64: Vec<u8>,
    /// x86-64 sidecar.
    pub sidecar_x64: Vec<u8>,
    /// 40 MiB arm64 `Image`.
    pub image_arm64: Vec<u8>,
    /// AArch64 boot shim.
    pub shim_arm64: Vec<u8>,
    /// 64 MiB initrd.
    pub initrd: Vec<u8>,
    /// UEFI VP context.
    pub vp_context: Vec<u8>,
}

impl Default for BigInputs {
    fn default() -> Self {
        Self::new()
    }
}

impl BigInputs {
    /// Builds every input.
    pub fn new() -> Self {
        Self {
            kernel_x64: kernel_x64(),
            shim_x64: shim(false),
            sidecar_x64: sidecar_x64(),
            image_arm64: image_arm64(),
            shim_arm64: shim(true),
            initrd: initrd(),
            vp_context: vp_context(),
        }
    }

    /// The files by name.
    pub fn files(&self) -> [(&'static str, &[u8]); 7] {
        [
            ("kernel-x64.elf", &self.kernel_x64),
            ("shim-x64.elf", &self.shim_x64),
            ("sidecar-x64.elf", &self.sidecar_x64),
            ("Image-arm64", &self.image_arm64),
            ("shim-arm64.elf", &self.shim_arm64),
            ("initrd-64m.bin", &self.initrd),
            ("uefi-vp-context.bin", &self.vp_context),
        ]
    }
}

/// A manifest for the big inputs: `arch` `x86_64` (with the sidecar) or
/// `aarch64`, isolation `none` or `snp`, 512 MiB VTL2 at the default base,
/// VTL0 UEFI.
pub fn manifest(arch: &str, isolation: &str) -> String {
    let x64 = arch == "x86_64";
    let (kernel, shim, sidecar) = if x64 {
        ("kernel-x64.elf", "shim-x64.elf", "\"sidecar-x64.elf\"")
    } else {
        ("Image-arm64", "shim-arm64.elf", "null")
    };
    let bits = if isolation == "snp" { "46" } else { "null" };
    format!(
        r#"{{
  "format": "paravisor-load-manifest/1",
  "arch": "{arch}",
  "isolation": {{ "type": "{isolation}", "paravisor_present": true, "shared_gpa_boundary_bits": {bits} }},
  "kernel": "{kernel}",
  "shim": "{shim}",
  "sidecar": {sidecar},
  "initrd": "initrd-64m.bin",
  "command_line": {{ "type": "static", "value": "console=ttyS0,115200 panic=-1 reboot=t" }},
  "memory_page_base": null,
  "memory_page_count": {VTL2_PAGES},
  "vtl0": {{
    "pcat": false,
    "uefi": {{ "firmware_base": 1048576, "total_size": 8257536, "vp_context": "uefi-vp-context.bin" }},
    "linux": null
  }}
}}
"#
    )
}

/// The manifests written by [`write_all`]: (file name, arch, isolation).
pub const MANIFESTS: [(&str, &str, &str); 3] = [
    ("x64-none-512m.json", "x86_64", "none"),
    ("x64-snp-512m.json", "x86_64", "snp"),
    ("a64-none-512m.json", "aarch64", "none"),
];

/// Writes every input file and the manifests into `dir`.
pub fn write_all(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let inputs = BigInputs::new();
    for (name, bytes) in inputs.files() {
        std::fs::write(dir.join(name), bytes)?;
    }
    for (name, arch, isolation) in MANIFESTS {
        std::fs::write(dir.join(name), manifest(arch, isolation))?;
    }
    Ok(())
}

//! Boots a loaded x86-64 paravisor image under `qemu-system-x86_64`
//! (machine `pc`, TCG by default), playing the VMM the way the AArch64
//! runner does at EL2.
//!
//! KVM on the build machines is a software implementation whose
//! instruction emulator cannot run an unmodified Linux kernel, so real
//! kernels boot here, emulated. The image is what `load_openhcl_x64`
//! imported, recorded with the x86-64 register set the KVM runner
//! shares ([`X64BootImage`]):
//!
//! * imported bytes go into RAM with QEMU's generic loader (`-device
//!   loader,file=…,addr=…,force-raw=on`), one file per run of adjacent
//!   pages; RAM is `-m` from GPA 0 (no data may lie in the legacy hole
//!   0xA_0000..0x10_0000, nor above [`X64_RAM_LIMIT`]);
//! * the `-bios` image (64 KiB at 0xFFFF_0000) holds the reset stub
//!   (`asm/x86_64-reset-stub.s`) in its last page: from the reset vector it
//!   enters 32-bit protected mode with flat segments and jumps to the
//!   trampoline;
//! * the trampoline (`asm/x86_64-trampoline.s`) and its register block go
//!   into a page of VTL2 memory that the image leaves free (the highest
//!   one), because the switch to the imported page tables must happen in
//!   memory those tables map: it sets CR4, CR3, EFER, PAT and CR0 (long
//!   mode), loads the imported GDTR and IDTR, far-returns to the imported
//!   CS, loads the data segments from the imported GDT, sets RFLAGS, RBP,
//!   R8–R12, RSI and RSP and jumps to RIP. That page is the one trace the
//!   runner leaves in guest memory (the guest sees it as free memory that
//!   is not zero);
//! * COM1 (port 0x3F8) is the console, captured from QEMU's stdout.
//!
//! A Linux guest on `pc` without ACPI tables cannot switch the machine off:
//! after `reboot(LINUX_REBOOT_CMD_POWER_OFF)` it prints one of
//! [`LINUX_POWER_OFF_LINES`] and halts. The runner takes that line as the
//! power-off ([`crate::ExitReason::PoweredOff`]) and ends QEMU.

use crate::error::Error;
use crate::model::RunOutcome;
use crate::plan::append_chunk;
use crate::plan::end_of;
use crate::plan::len_u64;
use crate::plan::sorted_pages;
use crate::runner::emulator_args;
use crate::runner::fresh_work_dir;
use crate::runner::run_emulator;
use paravisor_boot::PageData;
use paravisor_boot::RunnerOptions;
use paravisor_boot::X64Registers;
use paravisor_loader::PAGE_SIZE;
use std::ffi::OsString;
use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;

/// An x86-64 boot image (the registers as [`X64Registers`]).
pub type X64BootImage = paravisor_boot::BootImage<X64Registers>;

/// How to run `qemu-system-x86_64` (default time limit 60 s).
pub type X64RunConfig = paravisor_boot::RunConfig<QemuX64Options>;

/// The emulator binary looked up in `PATH` by default.
pub const QEMU_X64_BINARY: &str = "qemu-system-x86_64";

/// Environment variable naming the x86-64 emulator binary to use instead
/// of [`QEMU_X64_BINARY`].
pub const QEMU_X64_ENV: &str = "PARAVISOR_QEMU_X64";

/// The lines a Linux kernel prints when asked to power off: `Power down`
/// when it has a way to (ACPI), `System halted` when it has none and halts
/// instead (a `pc` machine without firmware tables). Either ends the run
/// with [`crate::ExitReason::PoweredOff`].
pub const LINUX_POWER_OFF_LINES: [&str; 2] = ["reboot: Power down", "reboot: System halted"];

/// Imported data and RAM must end at or below this: the `pc` machine keeps
/// all of `-m` contiguous from 0 while it is below 3.5 GiB (from 3.5 GiB
/// on it splits RAM at 3 GiB), and the trampoline runs with 32-bit
/// addresses.
pub const X64_RAM_LIMIT: u64 = 0xC000_0000;

/// The legacy hole of the PC (VGA memory and ROMs): no data may go there.
const LEGACY_HOLE: (u64, u64) = (0xA_0000, 0x10_0000);

/// Size of the `-bios` image (QEMU wants a multiple of 64 KiB); it ends
/// at 4 GiB.
const BIOS_SIZE: usize = 0x1_0000;

/// Offset of the reset-stub page in the `-bios` image.
const STUB_PAGE_OFFSET: usize = BIOS_SIZE - 0x1000;

/// The reset stub's code at the start of its page
/// (`asm/x86_64-reset-stub.s`, assembled).
const STUB_CODE: [u8; 50] = [
    0xfa, 0xfc, 0x2e, 0x66, 0x0f, 0x01, 0x16, 0x98, 0xf0, 0x0f, 0x20, 0xc0, //
    0x66, 0x83, 0xc8, 0x01, 0x0f, 0x22, 0xc0, 0x66, 0xea, 0x1b, 0xf0, 0xff, //
    0xff, 0x08, 0x00, 0xb8, 0x10, 0x00, 0x00, 0x00, 0x8e, 0xd8, 0x8e, 0xc0, //
    0x8e, 0xd0, 0x8e, 0xe0, 0x8e, 0xe8, 0x8b, 0x1d, 0xa0, 0xf0, 0xff, 0xff, //
    0xff, 0xe3,
];

/// The stub's GDT (null, flat 32-bit code 0x08, flat data 0x10; accessed
/// bits set, as the page is ROM) and its descriptor, at page offset 0x80.
const STUB_GDT: [u8; 30] = [
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0xff, 0xff, 0x00, 0x00, 0x00, 0x9b, 0xcf, 0x00, //
    0xff, 0xff, 0x00, 0x00, 0x00, 0x93, 0xcf, 0x00, //
    0x17, 0x00, 0x80, 0xf0, 0xff, 0xff,
];
const STUB_GDT_OFFSET: usize = 0x80;

/// Where the stub reads the trampoline's address (page offset).
const STUB_TRAMPOLINE_SLOT: usize = 0xA0;

/// The reset vector (page offset 0xFF0, linear 0xFFFF_FFF0): a 16-bit
/// near jump to the page start.
const STUB_RESET_VECTOR: [u8; 3] = [0xe9, 0x0d, 0xf0];
const STUB_RESET_VECTOR_OFFSET: usize = 0xFF0;

/// The trampoline's code (`asm/x86_64-trampoline.s`, assembled).
const TRAMPOLINE_CODE: [u8; 231] = [
    0x8b, 0x83, 0x10, 0x02, 0x00, 0x00, 0x0f, 0x22, 0xe0, 0x8b, 0x83, 0x08, //
    0x02, 0x00, 0x00, 0x0f, 0x22, 0xd8, 0xb9, 0x80, 0x00, 0x00, 0xc0, 0x8b, //
    0x83, 0x18, 0x02, 0x00, 0x00, 0x25, 0xff, 0xfb, 0xff, 0xff, 0x8b, 0x93, //
    0x1c, 0x02, 0x00, 0x00, 0x0f, 0x30, 0xb9, 0x77, 0x02, 0x00, 0x00, 0x8b, //
    0x83, 0x20, 0x02, 0x00, 0x00, 0x8b, 0x93, 0x24, 0x02, 0x00, 0x00, 0x0f, //
    0x30, 0x8b, 0x83, 0x00, 0x02, 0x00, 0x00, 0x0f, 0x22, 0xc0, 0x0f, 0x01, //
    0x93, 0x28, 0x02, 0x00, 0x00, 0x0f, 0x01, 0x9b, 0x38, 0x02, 0x00, 0x00, //
    0x8d, 0xa3, 0x00, 0x10, 0x00, 0x00, 0xff, 0xb3, 0x48, 0x02, 0x00, 0x00, //
    0x8d, 0x83, 0x68, 0x00, 0x00, 0x00, 0x50, 0xcb, 0x8b, 0x83, 0x50, 0x02, //
    0x00, 0x00, 0x8e, 0xd8, 0x8b, 0x83, 0x58, 0x02, 0x00, 0x00, 0x8e, 0xc0, //
    0x8b, 0x83, 0x60, 0x02, 0x00, 0x00, 0x8e, 0xe0, 0x8b, 0x83, 0x68, 0x02, //
    0x00, 0x00, 0x8e, 0xe8, 0x8b, 0x83, 0x70, 0x02, 0x00, 0x00, 0x8e, 0xd0, //
    0xff, 0xb3, 0x78, 0x02, 0x00, 0x00, 0x9d, 0x48, 0x8b, 0xab, 0x98, 0x02, //
    0x00, 0x00, 0x4c, 0x8b, 0x83, 0xa0, 0x02, 0x00, 0x00, 0x4c, 0x8b, 0x8b, //
    0xa8, 0x02, 0x00, 0x00, 0x4c, 0x8b, 0x93, 0xb0, 0x02, 0x00, 0x00, 0x4c, //
    0x8b, 0x9b, 0xb8, 0x02, 0x00, 0x00, 0x4c, 0x8b, 0xa3, 0xc0, 0x02, 0x00, //
    0x00, 0x48, 0x8b, 0xb3, 0x88, 0x02, 0x00, 0x00, 0x48, 0x8b, 0xa3, 0x90, //
    0x02, 0x00, 0x00, 0x48, 0x8b, 0x83, 0x80, 0x02, 0x00, 0x00, 0xbb, 0x00, //
    0x00, 0x00, 0x00, 0xb9, 0x00, 0x00, 0x00, 0x00, 0xba, 0x00, 0x00, 0x00, //
    0x00, 0xff, 0xe0,
];

/// Offset of the register block in the trampoline page.
pub const TRAMPOLINE_REGS_OFFSET: usize = 0x200;

/// The x86-64 QEMU runner's own options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QemuX64Options {
    /// The emulator binary (default: `PARAVISOR_QEMU_X64` if set, else
    /// [`QEMU_X64_BINARY`] looked up in `PATH`).
    pub qemu: PathBuf,
    /// The CPU model (default `max`: every feature TCG has, including the
    /// XSAVE that the loader's CR4.OSXSAVE needs).
    pub cpu: String,
    /// The accelerator (`tcg`, the default, or `kvm`).
    pub accel: String,
    /// Folder for the bios and RAM files; a fresh folder under the system
    /// temporary folder when `None`. Removed after the run unless
    /// `keep_files` is set.
    pub work_dir: Option<PathBuf>,
    /// Keep the generated files (for debugging).
    pub keep_files: bool,
}

impl Default for QemuX64Options {
    fn default() -> Self {
        Self {
            qemu: std::env::var_os(QEMU_X64_ENV)
                .map_or_else(|| PathBuf::from(QEMU_X64_BINARY), PathBuf::from),
            cpu: "max".to_owned(),
            accel: "tcg".to_owned(),
            work_dir: None,
            keep_files: false,
        }
    }
}

impl RunnerOptions for QemuX64Options {
    const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
}

/// What `qemu-system-x86_64` is given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct X64Plan {
    /// The `-bios` image (64 KiB, reset stub in its last page).
    pub bios: Vec<u8>,
    /// Runs of adjacent imported bytes plus the trampoline page, one
    /// `-device loader` each, in ascending GPA order.
    pub ram_chunks: Vec<PageData>,
    /// RAM size in MiB (`-m`).
    pub ram_mib: u64,
    /// GPA of the trampoline page.
    pub trampoline: u64,
}

/// The reset-stub page with the trampoline's address in its slot.
pub fn x64_reset_stub_page(trampoline: u32) -> Vec<u8> {
    let mut page = vec![0u8; 0x1000];
    let mut put = |at: usize, bytes: &[u8]| {
        if let Some(dst) = page.get_mut(at..at.saturating_add(bytes.len())) {
            dst.copy_from_slice(bytes);
        }
    };
    put(0, &STUB_CODE);
    put(STUB_GDT_OFFSET, &STUB_GDT);
    put(STUB_TRAMPOLINE_SLOT, &trampoline.to_le_bytes());
    put(STUB_RESET_VECTOR_OFFSET, &STUB_RESET_VECTOR);
    page
}

/// The trampoline page: code, then at [`TRAMPOLINE_REGS_OFFSET`] the
/// register block (CR0, CR3, CR4, EFER, PAT, GDTR, IDTR, CS, DS, ES, FS,
/// GS, SS, RFLAGS, RIP, RSI, RSP, RBP, R8–R12; see the assembly source).
///
/// CR0, CR3, CR4, EFER, PAT, GDTR, the six segment selectors and RIP must
/// have been imported; IDTR defaults to the reset value (base 0, limit
/// 0xFFFF), RFLAGS to 2 and the general-purpose registers to 0, as a KVM
/// vCPU starts. Segment registers are loaded by selector from the imported
/// GDT (whose descriptors the loader wrote to match their imported hidden
/// parts); TR keeps its reset value.
pub fn x64_trampoline_page(r: &X64Registers) -> Result<Vec<u8>, Error> {
    let need =
        |value: Option<u64>, name: &'static str| value.ok_or(Error::MissingRegister { name });
    let selector = |value: Option<vp_regs::x86_64::SegmentRegister>, name: &'static str| {
        value
            .map(|s| u64::from(s.selector))
            .ok_or(Error::MissingRegister { name })
    };
    let gdtr = r.gdtr.ok_or(Error::MissingRegister { name: "gdtr" })?;
    let idtr = r.idtr.unwrap_or(vp_regs::x86_64::TableRegister {
        base: 0,
        limit: 0xFFFF,
    });
    let table = |t: vp_regs::x86_64::TableRegister| {
        let mut b = [0u8; 16];
        b[..2].copy_from_slice(&t.limit.to_le_bytes());
        b[2..10].copy_from_slice(&t.base.to_le_bytes());
        b
    };
    let mut block: Vec<u8> = Vec::with_capacity(0xC8);
    for value in [
        need(r.cr0, "cr0")?,
        need(r.cr3, "cr3")?,
        need(r.cr4, "cr4")?,
        need(r.efer, "efer")?,
        need(r.pat, "pat")?,
    ] {
        block.extend_from_slice(&value.to_le_bytes());
    }
    block.extend_from_slice(&table(gdtr));
    block.extend_from_slice(&table(idtr));
    for value in [
        selector(r.cs, "cs")?,
        selector(r.ds, "ds")?,
        selector(r.es, "es")?,
        selector(r.fs, "fs")?,
        selector(r.gs, "gs")?,
        selector(r.ss, "ss")?,
        r.rflags.unwrap_or(2),
        need(r.rip, "rip")?,
        r.rsi.unwrap_or(0),
        r.rsp.unwrap_or(0),
        r.rbp.unwrap_or(0),
        r.r8.unwrap_or(0),
        r.r9.unwrap_or(0),
        r.r10.unwrap_or(0),
        r.r11.unwrap_or(0),
        r.r12.unwrap_or(0),
    ] {
        block.extend_from_slice(&value.to_le_bytes());
    }
    let mut page = TRAMPOLINE_CODE.to_vec();
    page.resize(TRAMPOLINE_REGS_OFFSET, 0);
    page.extend_from_slice(&block);
    Ok(page)
}

/// Places `image` on the `pc` machine (no files written, QEMU not run).
///
/// Errors: a missing register, overlapping data, data in the legacy hole
/// or above [`X64_RAM_LIMIT`], no free page for the trampoline, or address
/// overflow.
pub fn plan_x64(image: &X64BootImage) -> Result<X64Plan, Error> {
    let trampoline_code = x64_trampoline_page(&image.registers)?;
    let mut ram_chunks: Vec<PageData> = Vec::new();
    let mut ram_end = LEGACY_HOLE.1;
    for (page, end) in sorted_pages(&image.pages)? {
        if (page.gpa < LEGACY_HOLE.1 && end > LEGACY_HOLE.0) || end > X64_RAM_LIMIT {
            return Err(Error::NotPcRam {
                gpa: page.gpa,
                size: len_u64(&page.data),
            });
        }
        ram_end = ram_end.max(end);
        append_chunk(&mut ram_chunks, page)?;
    }
    for range in &image.ram {
        let end = end_of(range.gpa, range.size)?;
        if end > X64_RAM_LIMIT {
            return Err(Error::NotPcRam {
                gpa: range.gpa,
                size: range.size,
            });
        }
        ram_end = ram_end.max(end);
    }

    // The highest page of a required RAM range (VTL2 memory) that no
    // import touches: imports cover whole pages.
    let touched = |page: u64| {
        image.pages.iter().any(|p| {
            let end = p
                .gpa
                .saturating_add(len_u64(&p.data).max(1).next_multiple_of(PAGE_SIZE));
            p.gpa < page.saturating_add(PAGE_SIZE) && page < end
        })
    };
    let trampoline = image
        .ram
        .iter()
        .filter_map(|r| {
            // Page aligned down (PAGE_SIZE is 4 KiB).
            let top = r.gpa.saturating_add(r.size) & !0xFFF;
            let mut page = top.checked_sub(PAGE_SIZE)?;
            while page >= r.gpa {
                if !touched(page) {
                    return Some(page);
                }
                page = page.checked_sub(PAGE_SIZE)?;
            }
            None
        })
        .max()
        .ok_or(Error::NoTrampolinePage)?;
    let slot = u32::try_from(trampoline).map_err(|_| Error::NotPcRam {
        gpa: trampoline,
        size: PAGE_SIZE,
    })?;
    let position = ram_chunks.partition_point(|c| c.gpa < trampoline);
    ram_chunks.insert(
        position,
        PageData {
            gpa: trampoline,
            data: trampoline_code,
        },
    );

    let mut bios = vec![0u8; BIOS_SIZE];
    if let Some(dst) = bios.get_mut(STUB_PAGE_OFFSET..) {
        dst.copy_from_slice(&x64_reset_stub_page(slot));
    }
    Ok(X64Plan {
        bios,
        ram_chunks,
        ram_mib: ram_end.div_ceil(1 << 20).max(64),
        trampoline,
    })
}

/// Boots `image` under `qemu-system-x86_64` until QEMU exits, the guest
/// powers off, or `config.timeout` passes, passing console (COM1) bytes to
/// `on_console` as they arrive.
pub fn boot_x64_qemu(
    image: &X64BootImage,
    config: &X64RunConfig,
    on_console: &mut dyn FnMut(&[u8]),
) -> Result<RunOutcome, Error> {
    let plan = plan_x64(image)?;
    let options = &config.runner;
    let dir = options.work_dir.clone().unwrap_or_else(fresh_work_dir);
    let result = write_inputs(&plan, &dir, options).and_then(|args| {
        run_emulator(
            &options.qemu,
            &args,
            config,
            &LINUX_POWER_OFF_LINES.map(str::as_bytes),
            on_console,
        )
    });
    if !options.keep_files {
        // Best effort: a leftover temporary folder is not worth failing for.
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

fn write_inputs(
    plan: &X64Plan,
    dir: &Path,
    options: &QemuX64Options,
) -> Result<Vec<OsString>, Error> {
    emulator_args(
        dir,
        "pc",
        &["-serial", "stdio"],
        &[
            ("-accel", options.accel.clone()),
            ("-cpu", options.cpu.clone()),
            ("-m", format!("{}M", plan.ram_mib)),
        ],
        &plan.bios,
        &plan.ram_chunks,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use paravisor_boot::RamRange;
    use std::process::Command;
    use vp_regs::x86_64::SegmentRegister;
    use vp_regs::x86_64::TableRegister;

    /// Assembles `asm/<name>` with GNU as/ld (binutils) into a flat binary.
    fn assemble(name: &str, as_flag: &str, ld_flags: &[&str]) -> Vec<u8> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("asm").join(name);
        let dir = fresh_work_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let (obj, bin) = (dir.join("o.o"), dir.join("o.bin"));
        let run = |cmd: &mut Command| {
            let out = cmd
                .output()
                .expect("GNU binutils (as, ld) must be installed");
            assert!(out.status.success(), "{cmd:?}: {out:?}");
        };
        run(Command::new("as")
            .arg(as_flag)
            .arg("-o")
            .arg(&obj)
            .arg(&src));
        run(Command::new("ld")
            .args(ld_flags)
            .args(["-Ttext=0", "-e", "0", "--oformat=binary", "-o"])
            .arg(&bin)
            .arg(&obj));
        let bytes = std::fs::read(&bin).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        bytes
    }

    #[test]
    fn reset_stub_bytes_match_the_assembly_source() {
        let assembled = assemble("x86_64-reset-stub.s", "--32", &["-m", "elf_i386"]);
        assert_eq!(assembled, x64_reset_stub_page(0));
    }

    #[test]
    fn trampoline_bytes_match_the_assembly_source() {
        let assembled = assemble("x86_64-trampoline.s", "--64", &[]);
        assert_eq!(assembled, TRAMPOLINE_CODE);
    }

    fn segment(selector: u16) -> Option<SegmentRegister> {
        Some(SegmentRegister {
            base: 0,
            limit: 0xFFFF_FFFF,
            selector,
            attributes: 0,
        })
    }

    fn registers() -> X64Registers {
        X64Registers {
            rip: Some(0x820_3000),
            rsi: Some(0x1000),
            cr0: Some(0x8000_0021),
            cr3: Some(0x8A0_0000),
            cr4: Some(0x4_0060),
            efer: Some(0xD00),
            pat: Some(0x0007_0406_0007_0406),
            gdtr: Some(TableRegister {
                base: 0x83F_0000,
                limit: 0x1F,
            }),
            cs: segment(0x10),
            ds: segment(0x18),
            es: segment(0x18),
            fs: segment(0x18),
            gs: segment(0x18),
            ss: segment(0x18),
            ..X64Registers::default()
        }
    }

    #[test]
    fn trampoline_block_holds_the_registers_in_order() {
        let page = x64_trampoline_page(&registers()).unwrap();
        let word = |at: usize| u64::from_le_bytes(page[at..at + 8].try_into().unwrap());
        let r = TRAMPOLINE_REGS_OFFSET;
        assert_eq!(word(r), 0x8000_0021);
        assert_eq!(word(r + 8), 0x8A0_0000);
        assert_eq!(word(r + 0x18), 0xD00);
        assert_eq!(
            &page[r + 0x28..r + 0x32],
            &[0x1F, 0, 0, 0, 0x3F, 0x08, 0, 0, 0, 0]
        );
        // IDTR: the reset value.
        assert_eq!(&page[r + 0x38..r + 0x3A], &[0xFF, 0xFF]);
        assert_eq!(word(r + 0x48), 0x10);
        assert_eq!(word(r + 0x70), 0x18);
        assert_eq!(word(r + 0x78), 2);
        assert_eq!(word(r + 0x80), 0x820_3000);
        assert_eq!(word(r + 0x88), 0x1000);
        assert_eq!(page.len(), r + 0xC8);
        let mut missing = registers();
        missing.cr3 = None;
        assert!(matches!(
            x64_trampoline_page(&missing),
            Err(Error::MissingRegister { name: "cr3" })
        ));
    }

    #[test]
    fn plan_puts_the_trampoline_in_the_highest_free_vtl2_page() {
        let image = X64BootImage {
            ram: vec![RamRange {
                gpa: 0x800_0000,
                size: 0x400_0000,
            }],
            pages: vec![
                PageData {
                    gpa: 0,
                    data: vec![1; 16],
                },
                PageData {
                    gpa: 0xBFF_E000,
                    data: vec![2; 0x1001],
                },
                PageData {
                    gpa: 0x820_0000,
                    data: vec![3; 0x1000],
                },
                PageData {
                    gpa: 0x820_1000,
                    data: vec![4; 0x10],
                },
            ],
            registers: registers(),
        };
        let plan = plan_x64(&image).unwrap();
        // 0xBFF_E000 + 0x1001 bytes covers two pages: 0xBFF_D000 is free.
        assert_eq!(plan.trampoline, 0xBFF_D000);
        assert_eq!(
            plan.ram_chunks.iter().map(|c| c.gpa).collect::<Vec<_>>(),
            [0, 0x820_0000, 0xBFF_D000, 0xBFF_E000]
        );
        assert_eq!(plan.ram_chunks[1].data.len(), 0x1010);
        assert_eq!(plan.ram_mib, 0xC00_0000 >> 20);
        assert_eq!(plan.bios.len(), BIOS_SIZE);
        assert_eq!(
            plan.bios[STUB_PAGE_OFFSET + STUB_TRAMPOLINE_SLOT..][..4],
            0xBFF_D000u32.to_le_bytes()
        );
    }

    #[test]
    fn plan_refuses_the_legacy_hole_and_high_memory() {
        let mut image = X64BootImage {
            ram: vec![RamRange {
                gpa: 0x800_0000,
                size: 0x20_0000,
            }],
            pages: vec![PageData {
                gpa: 0xB_8000,
                data: vec![0; 4],
            }],
            registers: registers(),
        };
        assert!(matches!(
            plan_x64(&image),
            Err(Error::NotPcRam { gpa: 0xB_8000, .. })
        ));
        image.pages.clear();
        image.ram[0].gpa = X64_RAM_LIMIT;
        assert!(matches!(plan_x64(&image), Err(Error::NotPcRam { .. })));
        image.ram.clear();
        assert!(matches!(plan_x64(&image), Err(Error::NoTrampolinePage)));
    }
}

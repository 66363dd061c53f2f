//! OpenHCL's hand-off: after its checks the shim hands the kernel the
//! machine as the image describes it, by the Linux x86 64-bit boot protocol
//! (Documentation/arch/x86/boot.rst in the kernel sources, "64-bit Boot
//! Protocol" and "The Real-Mode Kernel Header"):
//!
//! * a zero page (`struct boot_params`) with a setup header (`boot_flag`
//!   0xAA55, "HdrS", protocol 2.15, `type_of_loader` 0xFF, `LOADED_HIGH`),
//!   the command line of the command-line page (`cmd_line_ptr`), the initrd
//!   of the shim parameters (`ramdisk_image` / `ramdisk_size`) and an e820
//!   map made from the VTL2 memory range of the shim parameters, where the
//!   ranges the image uses for itself are reserved (see [`e820_map`]);
//! * entry at the image's kernel entry point in 64-bit mode, interrupts off,
//!   the loader's identity map and GDT (code 0x10, data 0x18: the
//!   protocol's `__BOOT_CS` / `__BOOT_DS`), RSI = the zero page.
//!
//! The kernel is the loader's "kernel" ELF, for Linux the `vmlinux`; its
//! 64-bit entry (`startup_64`) is the ELF entry point, which the loader
//! turned into the kernel entry of the shim parameters. The test kernel
//! (`tests/test-kernel`) ignores RSI, so the same hand-off starts it.

use crate::checks::Layout;
use crate::checks::Range;
use crate::println;
use paravisor_layout::ParavisorCommandLine;

const PAGE: u64 = 0x1000;

// struct boot_params (arch/x86/include/uapi/asm/bootparam.h) offsets.
const EXT_RAMDISK_IMAGE: usize = 0x0C0;
const EXT_RAMDISK_SIZE: usize = 0x0C4;
const EXT_CMD_LINE_PTR: usize = 0x0C8;
const E820_ENTRIES: usize = 0x1E8;
const SETUP_SECTS: usize = 0x1F1;
const BOOT_FLAG: usize = 0x1FE;
const HEADER: usize = 0x202;
const VERSION: usize = 0x206;
const TYPE_OF_LOADER: usize = 0x210;
const LOADFLAGS: usize = 0x211;
const RAMDISK_IMAGE: usize = 0x218;
const RAMDISK_SIZE: usize = 0x21C;
const CMD_LINE_PTR: usize = 0x228;
const KERNEL_ALIGNMENT: usize = 0x230;
const RELOCATABLE_KERNEL: usize = 0x234;
const CMDLINE_SIZE: usize = 0x238;
const INIT_SIZE: usize = 0x260;
const E820_TABLE: usize = 0x2D0;
/// E820_MAX_ENTRIES_ZEROPAGE.
const E820_MAX: usize = 128;
const E820_ENTRY_SIZE: usize = 20;

const BOOT_FLAG_MAGIC: u16 = 0xAA55;
/// "HdrS".
const HEADER_MAGIC: u32 = 0x5372_6448;
/// Boot protocol 2.15 (the fields above, 64-bit entry, ext_* fields).
const PROTOCOL_VERSION: u16 = 0x020F;
/// "Undefined" boot loader: the kernel only needs it non-zero (an initrd is
/// ignored when `type_of_loader` is 0).
const LOADER_UNDEFINED: u8 = 0xFF;
/// LOADED_HIGH: the protected-mode kernel is loaded above 1 MiB.
const LOADED_HIGH: u8 = 0x01;
/// CONFIG_PHYSICAL_ALIGN of x86-64 kernels that take 2 MiB alignment (the
/// loader places the kernel 2 MiB aligned).
const KERNEL_ALIGN_2MIB: u32 = 0x20_0000;
/// The kernel copies at most COMMAND_LINE_SIZE (2048) bytes.
const LINUX_COMMAND_LINE_SIZE: usize = 2048;

const E820_RAM: u32 = 1;
const E820_RESERVED: u32 = 2;

/// Conventional memory below 640 KiB, described as RAM besides VTL2
/// memory: a stock x86 kernel panics without a sub-1 MiB page for its
/// real-mode trampoline ("Real mode trampoline was not allocated"); OpenHCL's
/// kernel, under Hyper-V, does without. The kernel itself keeps page 0 (here
/// the VTL0 measured config) and the first 64 KiB out of use.
const LOW_MEMORY: Range = Range {
    start: 0,
    end: 0xA_0000,
};

#[repr(C, align(4096))]
struct ZeroPage([u8; 4096]);

/// The zero page and the command line the kernel copies at its entry
/// (`copy_bootdata`), in the shim's own image (RAM in the e820 map).
static mut BOOT_PARAMS: ZeroPage = ZeroPage([0; 4096]);
static mut COMMAND_LINE: [u8; LINUX_COMMAND_LINE_SIZE] = [0; LINUX_COMMAND_LINE_SIZE];

/// One e820 entry.
#[derive(Clone, Copy)]
pub struct E820Entry {
    range: Range,
    kind: u32,
}

/// The e820 map: [`LOW_MEMORY`], then VTL2 memory as RAM except what the
/// image uses for itself, reserved: the persisted-state region (its first
/// 2 MiB), the sidecar, and everything from the GDT page on to the end of
/// the page tables (GDT, shim parameters, command line, VTL2 reserved
/// region, parameter region, log buffer, heap, page tables). The kernel and
/// the initrd are RAM: the kernel reserves its own image and the initrd
/// it is told about. At most 8 entries; returns how many.
pub fn e820_map(l: &Layout, out: &mut [E820Entry; 8]) -> usize {
    let gdt_page = l.params_page.wrapping_sub(PAGE);
    let mut reserved = [
        l.persisted,
        l.sidecar,
        Range {
            start: gdt_page,
            end: l.used.end,
        },
    ];
    // Ascending by start (the sidecar lies between the two others).
    reserved.sort_unstable_by_key(|r| r.start);
    let mut n = 0;
    let mut push = |range: Range, kind: u32| {
        if range.end > range.start
            && let Some(slot) = out.get_mut(n)
        {
            *slot = E820Entry { range, kind };
            n += 1;
        }
    };
    push(LOW_MEMORY, E820_RAM);
    let mut at = l.memory.start;
    for r in reserved {
        let start = r.start.clamp(at, l.memory.end);
        let end = r.end.clamp(start, l.memory.end);
        if end == start {
            continue;
        }
        push(
            Range {
                start: at,
                end: start,
            },
            E820_RAM,
        );
        push(Range { start, end }, E820_RESERVED);
        at = end;
    }
    push(
        Range {
            start: at,
            end: l.memory.end,
        },
        E820_RAM,
    );
    n
}

fn put(page: &mut [u8], offset: usize, bytes: &[u8]) {
    if let Some(dst) = page.get_mut(offset..offset.wrapping_add(bytes.len())) {
        dst.copy_from_slice(bytes);
    }
}

/// Builds the zero page for the image described by `l`; its address.
pub fn build_boot_params(l: &Layout) -> u64 {
    // SAFETY: the shim is single-threaded and this is the only place that
    // touches these statics; the references end before the kernel starts.
    let (page, line) = unsafe {
        (
            &mut (*core::ptr::addr_of_mut!(BOOT_PARAMS)).0,
            &mut *core::ptr::addr_of_mut!(COMMAND_LINE),
        )
    };
    page.fill(0);
    line.fill(0);

    // SAFETY: the command-line page lies inside checked, mapped VTL2 memory
    // (the caller ran the offset checks).
    let page_bytes = unsafe { core::slice::from_raw_parts(l.cmdline as *const u8, PAGE as usize) };
    // The whole line (NUL-terminated) or as much as the kernel takes; none
    // when the page is invalid (the cmdline check then failed already).
    let text = ParavisorCommandLine::read_from(page_bytes)
        .ok()
        .and_then(|p| {
            let len = p.command_line().ok()?.len();
            Some((p, len))
        });
    let copied = match &text {
        Some((cmdline, len)) => {
            let len = (*len).min(LINUX_COMMAND_LINE_SIZE - 1);
            put(
                line,
                0,
                cmdline.static_command_line.get(..len).unwrap_or(&[]),
            );
            len
        }
        None => 0,
    };

    let line_addr = line.as_ptr() as u64;
    put(page, SETUP_SECTS, &[0]);
    put(page, BOOT_FLAG, &BOOT_FLAG_MAGIC.to_le_bytes());
    put(page, HEADER, &HEADER_MAGIC.to_le_bytes());
    put(page, VERSION, &PROTOCOL_VERSION.to_le_bytes());
    put(page, TYPE_OF_LOADER, &[LOADER_UNDEFINED]);
    put(page, LOADFLAGS, &[LOADED_HIGH]);
    put(page, KERNEL_ALIGNMENT, &KERNEL_ALIGN_2MIB.to_le_bytes());
    put(page, RELOCATABLE_KERNEL, &[1]);
    put(
        page,
        CMDLINE_SIZE,
        &((LINUX_COMMAND_LINE_SIZE - 1) as u32).to_le_bytes(),
    );
    // The kernel's span: from its entry up to what follows it (the sidecar
    // or the shim).
    let kernel_end = if l.params.sidecar_size != 0 {
        l.sidecar.start
    } else {
        l.base
    };
    let init_size = kernel_end.saturating_sub(l.memory.start.wrapping_add(0x20_0000));
    put(page, INIT_SIZE, &(init_size as u32).to_le_bytes());
    put(page, CMD_LINE_PTR, &(line_addr as u32).to_le_bytes());
    put(
        page,
        EXT_CMD_LINE_PTR,
        &((line_addr >> 32) as u32).to_le_bytes(),
    );
    if l.params.initrd_size != 0 {
        let (image, size) = (l.initrd.start, l.params.initrd_size);
        put(page, RAMDISK_IMAGE, &(image as u32).to_le_bytes());
        put(page, RAMDISK_SIZE, &(size as u32).to_le_bytes());
        put(
            page,
            EXT_RAMDISK_IMAGE,
            &((image >> 32) as u32).to_le_bytes(),
        );
        put(page, EXT_RAMDISK_SIZE, &((size >> 32) as u32).to_le_bytes());
    }

    let mut entries = [E820Entry {
        range: Range { start: 0, end: 0 },
        kind: 0,
    }; 8];
    let count = e820_map(l, &mut entries).min(E820_MAX);
    put(page, E820_ENTRIES, &[count as u8]);
    for (i, e) in entries.iter().take(count).enumerate() {
        let at = E820_TABLE + i * E820_ENTRY_SIZE;
        put(page, at, &e.range.start.to_le_bytes());
        put(page, at + 8, &e.range.size().to_le_bytes());
        put(page, at + 16, &e.kind.to_le_bytes());
    }

    let addr = page.as_ptr() as u64;
    println!(
        "SHIM: Linux boot_params at {:#x}: command line {} bytes at {:#x}, initrd {} bytes at {:#x}, {} e820 entries:",
        addr, copied, line_addr, l.params.initrd_size, l.initrd.start, count
    );
    for e in entries.iter().take(count) {
        println!(
            "SHIM: e820 {} {}",
            e.range,
            if e.kind == E820_RAM {
                "RAM"
            } else {
                "reserved"
            }
        );
    }
    addr
}

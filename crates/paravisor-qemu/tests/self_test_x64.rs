//! x86-64 runner self-test: needs only QEMU. A hand-built image — identity
//! page tables for one 2 MiB page, a GDT (code 0x10, data 0x18) and a
//! hand-assembled 64-bit program — is started by the reset stub and
//! trampoline. The program prints a line on COM1 ending in `Y` when RSI,
//! CR3, CS and SS are what the image says (`N` otherwise), then faults with
//! an empty IDT: the triple fault resets the machine and QEMU
//! (`-no-reboot`) exits with status 0.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use paravisor_boot::X64Registers;
use paravisor_qemu::{
    ExitReason, PageData, QemuX64Options, RamRange, X64BootImage, X64RunConfig, boot_x64_qemu,
};
use std::time::Duration;
use vp_regs::x86_64::SegmentRegister;
use vp_regs::x86_64::TableRegister;

/// ```text
///     lea msg(%rip), %rbx; mov $0x3f8, %dx
/// 1:  movb (%rbx), %al; test %al, %al; jz 2f; outb %al, %dx; inc %rbx; jmp 1b
/// 2:  mov $'N', %al
///     cmp $0x1234, %rsi; jne 3f
///     mov %cr3, %rcx; cmp $0x201000, %rcx; jne 3f
///     mov %cs, %cx; cmp $0x10, %cx; jne 3f
///     mov %ss, %cx; cmp $0x18, %cx; jne 3f
///     mov $'Y', %al
/// 3:  outb %al, %dx; mov $'\n', %al; outb %al, %dx
///     ud2
/// msg: .asciz "hello from long mode: "
/// ```
const PROGRAM: [u8; 95] = [
    0x48, 0x8d, 0x1d, 0x41, 0x00, 0x00, 0x00, 0x66, 0xba, 0xf8, 0x03, 0x8a, //
    0x03, 0x84, 0xc0, 0x74, 0x06, 0xee, 0x48, 0xff, 0xc3, 0xeb, 0xf4, 0xb0, //
    0x4e, 0x48, 0x81, 0xfe, 0x34, 0x12, 0x00, 0x00, 0x75, 0x20, 0x0f, 0x20, //
    0xd9, 0x48, 0x81, 0xf9, 0x00, 0x10, 0x20, 0x00, 0x75, 0x14, 0x66, 0x8c, //
    0xc9, 0x66, 0x83, 0xf9, 0x10, 0x75, 0x0b, 0x66, 0x8c, 0xd1, 0x66, 0x83, //
    0xf9, 0x18, 0x75, 0x02, 0xb0, 0x59, 0xee, 0xb0, 0x0a, 0xee, 0x0f, 0x0b, //
    0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x66, 0x72, 0x6f, 0x6d, 0x20, 0x6c, //
    0x6f, 0x6e, 0x67, 0x20, 0x6d, 0x6f, 0x64, 0x65, 0x3a, 0x20, 0x00,
];

const BASE: u64 = 0x20_0000;
const PML4: u64 = BASE + 0x1000;
const PDPT: u64 = BASE + 0x2000;
const PD: u64 = BASE + 0x3000;
const GDT: u64 = BASE + 0x4000;
const CODE: u64 = BASE + 0x5000;

fn qwords(values: &[u64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn segment(selector: u16, attributes: u16) -> Option<SegmentRegister> {
    Some(SegmentRegister {
        base: 0,
        limit: 0xFFFF_FFFF,
        selector,
        attributes,
    })
}

#[test]
fn reset_stub_and_trampoline_enter_long_mode_with_the_image_state() {
    let image = X64BootImage {
        ram: vec![RamRange {
            gpa: BASE,
            size: 0x20_0000,
        }],
        pages: vec![
            // PML4[0] -> PDPT, PDPT[0] -> PD, PD[1] = 2 MiB page at 2 MiB.
            PageData {
                gpa: PML4,
                data: qwords(&[PDPT | 0x3]),
            },
            PageData {
                gpa: PDPT,
                data: qwords(&[PD | 0x3]),
            },
            PageData {
                gpa: PD,
                data: qwords(&[0, BASE | 0x83]),
            },
            PageData {
                gpa: GDT,
                data: qwords(&[0, 0, 0x00A0_9B00_0000_FFFF, 0x00C0_9300_0000_FFFF]),
            },
            PageData {
                gpa: CODE,
                data: PROGRAM.to_vec(),
            },
        ],
        registers: X64Registers {
            rip: Some(CODE),
            rsi: Some(0x1234),
            cr0: Some(0x8000_0021),
            cr3: Some(PML4),
            cr4: Some(0x20), // PAE
            efer: Some(0xD00),
            pat: Some(0x0007_0406_0007_0406),
            gdtr: Some(TableRegister {
                base: GDT,
                limit: 0x1F,
            }),
            // An empty IDT: the ud2 at the end triple-faults.
            idtr: Some(TableRegister { base: 0, limit: 0 }),
            cs: segment(0x10, 0xA09B),
            ds: segment(0x18, 0xC093),
            es: segment(0x18, 0xC093),
            fs: segment(0x18, 0xC093),
            gs: segment(0x18, 0xC093),
            ss: segment(0x18, 0xC093),
            ..X64Registers::default()
        },
    };
    let config = X64RunConfig {
        timeout: Duration::from_secs(30),
        runner: QemuX64Options::default(),
        ..X64RunConfig::default()
    };
    let outcome = boot_x64_qemu(&image, &config, &mut |_| {})
        .unwrap_or_else(|e| panic!("{e}; Debian: apt-get install qemu-system-x86"));
    let console = outcome.console_text();
    assert_eq!(
        console, "hello from long mode: Y\n",
        "{outcome:?}\n{}",
        outcome.qemu_stderr
    );
    assert_eq!(
        outcome.exit,
        ExitReason::Exited(0),
        "{}",
        outcome.qemu_stderr
    );
}

//! Runner self-test: needs only QEMU (no cross toolchain). A hand-assembled
//! EL1 program, started by the reset stub with the MMU off, prints a line
//! through semihosting and exits with status X0 + 16 × CurrentEL.EL, which
//! proves the stub delivered X0 and PC and entered EL1.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use paravisor_qemu::{
    Aarch64Registers, BootImage, ExitReason, PageData, RunConfig, VIRT_RAM_BASE, boot_aarch64,
    boot_aarch64_streaming, qemu_or_skip,
};
use std::time::Duration;

/// `mov x2, x0; mrs x3, currentel; adr x1, msg; mov w0, #4 (SYS_WRITE0);
/// hlt #0xf000; lsr x3, x3, #2; add x2, x2, x3, lsl #4; adr x1, block;
/// str x2, [x1, #8]; mov w0, #0x18 (SYS_EXIT); hlt #0xf000; b .`
/// then `block: .quad 0x20026, 0` and `msg: .asciz "hello from EL1\n"`.
const PROGRAM: [u32; 12] = [
    0xaa00_03e2,
    0xd538_4243,
    0x1000_01c1,
    0x5280_0080,
    0xd45e_0000,
    0xd342_fc63,
    0x8b03_1042,
    0x1000_00a1,
    0xf900_0422,
    0x5280_0300,
    0xd45e_0000,
    0x1400_0000,
];

fn program() -> Vec<u8> {
    let mut bytes: Vec<u8> = PROGRAM.iter().flat_map(|w| w.to_le_bytes()).collect();
    bytes.extend(0x20026u64.to_le_bytes());
    bytes.extend(0u64.to_le_bytes());
    bytes.extend(b"hello from EL1\n\0");
    bytes
}

#[test]
fn reset_stub_enters_el1_with_pc_and_x0() {
    let config = RunConfig {
        timeout: Duration::from_secs(30),
        ..RunConfig::default()
    };
    if !qemu_or_skip("paravisor-qemu self test", &config)
        .unwrap_or_else(|e| panic!("{e}; `scripts/setup` installs QEMU"))
    {
        return;
    }
    let pc = VIRT_RAM_BASE + 0x40_0000;
    let image = BootImage {
        ram: vec![],
        pages: vec![PageData {
            gpa: pc,
            data: program(),
        }],
        registers: Aarch64Registers {
            x0: Some(2),
            pc: Some(pc),
            cpsr: Some(0x3C5),            // EL1h, D/A/I/F masked
            sctlr_el1: Some(0x30D0_0800), // RES1 bits only: MMU off
            tcr_el1: Some(0),
            mair_el1: Some(0),
            ttbr0_el1: Some(0),
            vbar_el1: Some(0),
        },
    };
    let mut streamed = Vec::new();
    let outcome = boot_aarch64_streaming(&image, &config, &mut |bytes| {
        streamed.extend_from_slice(bytes)
    })
    .unwrap();
    assert_eq!(
        outcome.console_text(),
        "hello from EL1\n",
        "{}",
        outcome.qemu_stderr
    );
    assert_eq!(streamed, outcome.console);
    // 2 (X0) + 16 × 1 (EL1).
    assert_eq!(
        outcome.exit,
        ExitReason::Exited(18),
        "{}",
        outcome.qemu_stderr
    );
}

#[test]
fn a_guest_that_never_exits_times_out() {
    let config = RunConfig {
        timeout: Duration::from_secs(2),
        ..RunConfig::default()
    };
    if !qemu_or_skip("paravisor-qemu timeout test", &config)
        .unwrap_or_else(|e| panic!("{e}; `scripts/setup` installs QEMU"))
    {
        return;
    }
    let pc = VIRT_RAM_BASE + 0x20_0000;
    let image = BootImage {
        ram: vec![],
        // `b .`
        pages: vec![PageData {
            gpa: pc,
            data: 0x1400_0000u32.to_le_bytes().to_vec(),
        }],
        registers: Aarch64Registers {
            sctlr_el1: Some(0x30D0_0800),
            ..Aarch64Registers::paravisor_defaults(pc, 0, 0)
        },
    };
    let outcome = boot_aarch64(&image, &config).unwrap();
    assert_eq!(
        outcome.exit,
        ExitReason::TimedOut,
        "{}",
        outcome.qemu_stderr
    );
    assert!(outcome.console.is_empty());
}

// Test kernel: a flat arm64 `Image` (64-byte header, docs/abi.md §7.8) that
// reports through semihosting that it was reached, checks that it runs at
// a 2 MiB-aligned address (VTL2 start + 2 MiB + text_offset 0), checks the
// hand-off state when x0 is not 0 (the Rust shim's device tree), and exits
// QEMU with status 0 (semihosting SYS_EXIT, ADP_Stopped_ApplicationExit).

        .equ    SYS_WRITE0, 0x04
        .equ    SYS_EXIT, 0x18

        .text
        .global _head
_head:
        b       start                   // code0
        .long   0                       // code1
        .quad   0                       // text_offset
        .quad   _end - _head            // image_size
        .quad   0xA                     // flags: LE, 4 KiB pages, anywhere
        .quad   0                       // res2
        .quad   0                       // res3
        .quad   0                       // res4
        .ascii  "ARM\x64"               // magic
        .long   0                       // res5

start:
        mov     x19, x0                 // x0 at entry: the device tree (or 0)
        adr     x1, msg
        mov     w0, #SYS_WRITE0
        hlt     #0xf000
        adr     x2, _head
        adr     x1, ok
        tst     x2, #0x1FFFFF
        b.eq    1f
        adr     x1, fail
1:      mov     w0, #SYS_WRITE0
        hlt     #0xf000
        // The arm64 boot protocol hand-off (booting.rst), when the shim
        // handed over a device tree (x0 != 0; the assembly shim passes 0):
        // the tree's magic 0xD00DFEED (big endian) at x0, the MMU and the
        // D-cache off (SCTLR_EL1.M, .C clear), D/A/I/F masked.
        adr     x1, handoff_none
        cbz     x19, 3f
        adr     x1, handoff_fail
        mrs     x2, sctlr_el1
        tst     x2, #0x1                // M
        b.ne    3f
        tst     x2, #0x4                // C
        b.ne    3f
        mrs     x2, daif
        cmp     x2, #0x3c0
        b.ne    3f
        ldr     w2, [x19]
        movz    w3, #0x0dd0
        movk    w3, #0xedfe, lsl #16
        cmp     w2, w3
        b.ne    3f
        adr     x1, handoff_ok
3:      mov     w0, #SYS_WRITE0
        hlt     #0xf000
        adr     x1, exit_block
        mov     w0, #SYS_EXIT
        hlt     #0xf000
2:      wfi
        b       2b

        .balign 8
exit_block:
        .quad   0x20026                 // ADP_Stopped_ApplicationExit
        .quad   0                       // exit status
msg:    .asciz  "TEST-KERNEL: reached the AArch64 test kernel\n"
ok:     .asciz  "CHECK kernel-load-address OK\n"
fail:   .asciz  "CHECK kernel-load-address FAIL\n"
handoff_ok:   .asciz "CHECK kernel-handoff OK x0 = device tree, MMU and D-cache off, DAIF masked\n"
handoff_fail: .asciz "CHECK kernel-handoff FAIL\n"
handoff_none: .asciz "INFO kernel_handoff none (x0 = 0)\n"
        .balign 16
_end:

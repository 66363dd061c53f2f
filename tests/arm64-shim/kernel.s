// Test kernel: a flat arm64 `Image` (64-byte header, abi.md §7.8) that
// reports through semihosting that it was reached, checks that it runs at
// a 2 MiB-aligned address (VTL2 start + 2 MiB + text_offset 0), and exits
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
        .balign 16
_end:

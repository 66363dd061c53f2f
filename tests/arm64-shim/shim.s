// AArch64 test boot shim for the paravisor loader's QEMU boot test.
//
// The assembly twin of the Rust shim in rust/ (same checks, same names): an
// independent reader that shares no code with the loader, and needs only
// GNU binutils (see README.md). It mirrors the checks of the x86-64 Rust
// test shim (tests/boot-shim):
//
//   * entered at EL1h with the MMU on, through the loader's identity tables
//     (SCTLR_EL1 / TCR_EL1 / MAIR_EL1 / TTBR0_EL1 / VBAR_EL1 / CPSR as in
//     docs/abi.md §7.6);
//   * X0 = offset of the shim parameters (ShimParamsRaw, docs/abi.md §2) from the
//     shim's lowest loaded address, which the shim finds with `adr`;
//   * every 2 MiB page of VTL2 memory is identity mapped (software walk of the
//     live TTBR0_EL1 tables, and the MMU's own view through `at s1e1r`);
//   * command-line page policy / length / no NUL / valid UTF-8 / zero tail;
//   * initrd CRC-32 (IEEE, CRC32B/CRC32X instructions) = initrd_crc;
//   * the flat kernel `Image` sits where the loader says;
//   * log buffer and heap pages are zero and writable;
//   * measured VTL2 config (VTL2 memory) and measured VTL0 config (GPA
//     0x100_0000, read with the MMU briefly off) carry their magic values.
//
// Every check prints one line `CHECK <name> OK|FAIL` through semihosting
// (the UART is not mapped by the loader's tables), then the shim jumps to
// the kernel entry (kernel_entry_offset + base). An exception prints
// `EXCEPTION ...` and exits QEMU with status 3.

        .arch   armv8-a+crc

        .equ    SYS_WRITEC, 0x03
        .equ    SYS_WRITE0, 0x04
        .equ    SYS_EXIT, 0x18
        .equ    ADP_STOPPED_APPLICATION_EXIT, 0x20026

        // ShimParamsRaw field offsets (docs/abi.md §2).
        .equ    P_KERNEL_ENTRY, 0
        .equ    P_CMDLINE, 8
        .equ    P_INITRD, 16
        .equ    P_INITRD_SIZE, 24
        .equ    P_INITRD_CRC, 32
        .equ    P_ISOLATION, 36
        .equ    P_MEM_START, 40
        .equ    P_MEM_SIZE, 48
        .equ    P_PARAM_REGION, 56
        .equ    P_PARAM_REGION_SIZE, 64
        .equ    P_RESERVED, 72
        .equ    P_RESERVED_SIZE, 80
        .equ    P_SIDECAR, 88
        .equ    P_SIDECAR_SIZE, 96
        .equ    P_SIDECAR_ENTRY, 104
        .equ    P_USED_START, 112
        .equ    P_USED_END, 120
        .equ    P_BOUNCE, 128
        .equ    P_BOUNCE_SIZE, 136
        .equ    P_PAGE_TABLES, 144
        .equ    P_PAGE_TABLES_SIZE, 152
        .equ    P_LOG, 160
        .equ    P_LOG_SIZE, 168
        .equ    P_HEAP, 176
        .equ    P_HEAP_SIZE, 184
        .equ    P_PERSISTED, 192
        .equ    P_PERSISTED_SIZE, 200

        // Spec values.
        .equ    PAGE_TABLE_REGION_SIZE, 0xF000      // 15 pages (docs/algorithms.md §8 step 18)
        .equ    VTL2_CONFIG_PAGE_INDEX, 105         // docs/abi.md §1.2
        .equ    VTL0_CONFIG_GPA, 0x1000000          // page 0x1000 (docs/abi.md §1.2)
        .equ    UEFI_VP_CONTEXT_PAGE, 0x1001        // docs/algorithms.md §8 step 22
        .equ    COMMAND_LINE_SIZE, 4092             // docs/abi.md §3.2
        .equ    IMAGE_MAGIC, 0x644D5241             // "ARM\x64" little-endian (docs/abi.md §7.8)

// Register use, preserved across the helper calls:
//   x19 shim base (lowest loaded address)    x20 shim parameters (absolute)
//   x21 VTL2 memory start                    x22 VTL2 memory end
//   x23 number of failed checks              x24 "all good" flag of the current check
//   x28 end of the used region (base + used_end)
// The helpers use x0..x15 only.

// REQ cond: clear the current check's flag (w24) unless `cond` holds.
        .macro  REQ cond
        cset    w10, \cond
        and     w24, w24, w10
        .endm

// REPORT label: print `CHECK <name> OK|FAIL` for the flag in w24.
        .macro  REPORT name
        adr     x0, \name
        mov     w1, w24
        bl      check
        .endm

// MOV64 reg, imm: position-independent 64-bit constant.
        .macro  MOV64 reg, imm
        movz    \reg, #((\imm) & 0xFFFF)
        movk    \reg, #(((\imm) >> 16) & 0xFFFF), lsl #16
        movk    \reg, #(((\imm) >> 32) & 0xFFFF), lsl #32
        movk    \reg, #(((\imm) >> 48) & 0xFFFF), lsl #48
        .endm

        .section .text.entry, "ax"
        .global _start
_start:
        adr     x19, __shim_base        // our own base, whatever the load address
        mov     x25, x0                 // X0 from the loader: shim-params offset
        mrs     x26, vbar_el1           // the loader's VBAR_EL1, before ours
        mrs     x27, currentel
        mrs     x28, spsel
        mrs     x24, daif
        adr     x1, __stack_top
        mov     sp, x1
        adr     x1, vectors
        msr     vbar_el1, x1
        isb
        mov     x23, #0

        adr     x0, s_banner
        bl      puts
        adr     x0, s_base
        mov     x1, x19
        bl      info_hex

        // ---- el1h: CPSR = 0x5 (EL1, SP_EL1, D/A/I/F clear; docs/abi.md §7.1)
        mov     w10, #1
        cmp     x27, #(1 << 2)
        cset    w11, eq
        and     w10, w10, w11
        cmp     x28, #1
        cset    w11, eq
        and     w10, w10, w11
        cmp     x24, #0
        cset    w11, eq
        and     w24, w10, w11
        REPORT  n_el1h

        // ---- sctlr_el1 / tcr_el1 / mair_el1 / vbar_el1 (docs/abi.md §7.2-7.6)
        mov     w24, #1
        mrs     x1, sctlr_el1
        MOV64   x2, 0x30D01805
        cmp     x1, x2
        REQ     eq
        REPORT  n_sctlr
        mov     w24, #1
        mrs     x1, tcr_el1
        MOV64   x2, 0x580803511
        cmp     x1, x2
        REQ     eq
        REPORT  n_tcr
        mov     w24, #1
        mrs     x1, mair_el1
        MOV64   x2, 0xFFBB4400
        cmp     x1, x2
        REQ     eq
        REPORT  n_mair
        mov     w24, #1
        cmp     x26, #0
        REQ     eq
        REPORT  n_vbar

        // ---- x0_params: X0 is page aligned and base + X0 is mapped.
        add     x20, x19, x25
        mov     w24, #1
        tst     x25, #0xFFF
        REQ     eq
        mov     x0, x20
        bl      probe
        cmp     x0, x20
        REQ     eq
        REPORT  n_x0
        cbnz    w24, 1f
        adr     x0, s_fatal_params
        bl      puts
        mov     x0, #2
        b       exit
1:
        // ---- params: offsets consistent with each other (docs/abi.md §2, arm64 column)
        ldr     x1, [x20, #P_MEM_START]
        add     x21, x19, x1
        ldr     x2, [x20, #P_MEM_SIZE]
        add     x22, x21, x2
        ldr     x3, [x20, #P_USED_END]
        add     x28, x19, x3
        adr     x0, s_mem
        mov     x1, x21
        bl      info_hex
        adr     x0, s_mem_end
        mov     x1, x22
        bl      info_hex

        mov     w24, #1
        tst     x21, #0x1FFFFF                  // VTL2 start 2 MiB aligned
        REQ     eq
        ldr     x2, [x20, #P_MEM_SIZE]
        cmp     x2, #0
        REQ     ne
        tst     x2, #0x1FFFFF
        REQ     eq
        ldr     x1, [x20, #P_MEM_START]
        ldr     x2, [x20, #P_USED_START]        // used_start = memory start
        cmp     x1, x2
        REQ     eq
        ldr     x2, [x20, #P_PERSISTED]         // persisted region = first 2 MiB
        cmp     x1, x2
        REQ     eq
        ldr     x2, [x20, #P_PERSISTED_SIZE]
        cmp     x2, #0x200000
        REQ     eq
        ldr     x2, [x20, #P_PARAM_REGION_SIZE]
        cmp     x2, #0x6A000
        REQ     eq
        ldr     x2, [x20, #P_LOG_SIZE]
        cmp     x2, #0x2000
        REQ     eq
        ldr     x2, [x20, #P_HEAP_SIZE]
        cmp     x2, #0x10000
        REQ     eq
        // Fields that are zero on arm64.
        ldr     x2, [x20, #P_RESERVED]
        ldr     x3, [x20, #P_RESERVED_SIZE]
        orr     x2, x2, x3
        ldr     x3, [x20, #P_SIDECAR]
        orr     x2, x2, x3
        ldr     x3, [x20, #P_SIDECAR_SIZE]
        orr     x2, x2, x3
        ldr     x3, [x20, #P_SIDECAR_ENTRY]
        orr     x2, x2, x3
        ldr     x3, [x20, #P_BOUNCE]
        orr     x2, x2, x3
        ldr     x3, [x20, #P_BOUNCE_SIZE]
        orr     x2, x2, x3
        ldr     x3, [x20, #P_PAGE_TABLES]
        orr     x2, x2, x3
        ldr     x3, [x20, #P_PAGE_TABLES_SIZE]
        orr     x2, x2, x3
        cmp     x2, #0
        REQ     eq
        // used region inside VTL2 memory
        cmp     x28, x21
        REQ     hi
        cmp     x28, x22
        REQ     ls
        // the shim itself, the parameter page, the command line page (the
        // parameter page directly follows it: docs/algorithms.md §8 steps 12-13),
        // the initrd, parameter region, log buffer, heap and kernel entry all
        // lie in the used region.
        mov     x0, x19
        mov     x1, #0x1000
        bl      inside
        REQ     ne
        mov     x0, x20
        mov     x1, #0x1000
        bl      inside
        REQ     ne
        ldr     x2, [x20, #P_CMDLINE]
        add     x2, x2, #0x1000
        cmp     x2, x25
        REQ     eq
        ldr     x0, [x20, #P_CMDLINE]
        add     x0, x19, x0
        mov     x1, #0x1000
        bl      inside
        REQ     ne
        ldr     x0, [x20, #P_INITRD]
        add     x0, x19, x0
        ldr     x1, [x20, #P_INITRD_SIZE]
        bl      inside
        REQ     ne
        ldr     x0, [x20, #P_PARAM_REGION]
        add     x0, x19, x0
        ldr     x1, [x20, #P_PARAM_REGION_SIZE]
        bl      inside
        REQ     ne
        ldr     x0, [x20, #P_LOG]
        add     x0, x19, x0
        ldr     x1, [x20, #P_LOG_SIZE]
        bl      inside
        REQ     ne
        ldr     x0, [x20, #P_HEAP]
        add     x0, x19, x0
        ldr     x1, [x20, #P_HEAP_SIZE]
        bl      inside
        REQ     ne
        ldr     x0, [x20, #P_KERNEL_ENTRY]
        add     x0, x19, x0
        mov     x1, #64
        bl      inside
        REQ     ne
        REPORT  n_params

        // ---- isolation: supported_isolation_type VBS (1) on arm64 (docs/abi.md §2.1)
        mov     w24, #1
        ldr     w2, [x20, #P_ISOLATION]
        cmp     w2, #1
        REQ     eq
        REPORT  n_isolation

        // ---- ttbr0_el1: the tables are the last 15 pages of the used region
        // (docs/algorithms.md §8 steps 17-19, 26).
        mov     w24, #1
        mrs     x1, ttbr0_el1
        sub     x2, x28, #PAGE_TABLE_REGION_SIZE
        cmp     x1, x2
        REQ     eq
        adr     x0, s_ttbr0
        bl      info_hex
        REPORT  n_ttbr0

        // ---- identity_walk: walk the live tables for every 2 MiB page.
        mov     w24, #1
        mov     x25, x21
2:      mov     x0, x25
        bl      walk
        cmp     x0, x25
        REQ     eq
        cbnz    w10, 3f
        adr     x0, s_unmapped
        mov     x1, x25
        bl      info_hex
3:      add     x25, x25, #0x200000
        cmp     x25, x22
        b.lo    2b
        REPORT  n_walk

        // ---- identity_at: the MMU's own translation (AT S1E1R) of the first
        // and last page of every 2 MiB page.
        mov     w24, #1
        mov     x25, x21
4:      mov     x0, x25
        bl      probe
        cmp     x0, x25
        REQ     eq
        add     x0, x25, #0x1FF000
        bl      probe
        add     x1, x25, #0x1FF000
        cmp     x0, x1
        REQ     eq
        add     x25, x25, #0x200000
        cmp     x25, x22
        b.lo    4b
        REPORT  n_at

        // ---- cmdline (docs/abi.md §3.2)
        mov     w24, #1
        ldr     x25, [x20, #P_CMDLINE]
        add     x25, x19, x25
        ldrh    w1, [x25]                       // policy: STATIC 0 / APPEND_CHOSEN 1
        cmp     w1, #1
        REQ     ls
        ldrh    w26, [x25, #2]                  // static_command_line_len
        cmp     w26, #COMMAND_LINE_SIZE
        REQ     ls
        csel    w26, w26, wzr, ls               // do not read past the page
        add     x0, x25, #4
        mov     x1, x26
        bl      utf8_check                      // no NUL, valid UTF-8
        REQ     ne
        add     x0, x25, #4                     // bytes after the line are zero
        add     x0, x0, x26
        mov     x1, #COMMAND_LINE_SIZE
        sub     x1, x1, x26
        bl      all_zero
        REQ     ne
        REPORT  n_cmdline
        cbz     w24, 5f
        adr     x0, s_cmdline
        bl      puts
        add     x0, x25, #4
        mov     x1, x26
        bl      put_bytes
        adr     x0, s_cmdline_end
        bl      puts
5:
        // ---- initrd_crc: CRC-32 (IEEE) of the initrd = initrd_crc; the initrd
        // starts on a 2 MiB boundary (docs/algorithms.md §3 step 12).
        mov     w24, #1
        ldr     x0, [x20, #P_INITRD]
        add     x0, x19, x0
        tst     x0, #0x1FFFFF
        REQ     eq
        ldr     x1, [x20, #P_INITRD_SIZE]
        bl      crc32
        ldr     w1, [x20, #P_INITRD_CRC]
        cmp     w0, w1
        REQ     eq
        adr     x0, s_initrd_size
        ldr     x1, [x20, #P_INITRD_SIZE]
        bl      info_hex
        REPORT  n_initrd

        // ---- kernel_image: the Image header is at the entry point, and the
        // image was placed at VTL2 start + 2 MiB + text_offset (§3 steps 8-9).
        mov     w24, #1
        ldr     x0, [x20, #P_KERNEL_ENTRY]
        add     x0, x19, x0
        ldr     w1, [x0, #56]
        MOV64   x2, IMAGE_MAGIC
        cmp     w1, w2
        REQ     eq
        ldr     x1, [x0, #8]                    // text_offset
        sub     x1, x0, x1
        add     x2, x21, #0x200000
        cmp     x1, x2
        REQ     eq
        REPORT  n_kernel

        // ---- log buffer and heap pages are zero and writable.
        mov     w24, #1
        ldr     x0, [x20, #P_LOG]
        add     x0, x19, x0
        ldr     x1, [x20, #P_LOG_SIZE]
        bl      zero_and_writable
        REQ     ne
        REPORT  n_log
        mov     w24, #1
        ldr     x0, [x20, #P_HEAP]
        add     x0, x19, x0
        ldr     x1, [x20, #P_HEAP_SIZE]
        bl      zero_and_writable
        REQ     ne
        REPORT  n_heap

        // ---- vtl2_config: ParavisorMeasuredVtl2Config at parameter page 105
        // (docs/abi.md §3.6): magic, vtom_offset_bit 0 on arm64, zero padding.
        mov     w24, #1
        ldr     x0, [x20, #P_PARAM_REGION]
        add     x0, x19, x0
        add     x0, x0, #(VTL2_CONFIG_PAGE_INDEX * 0x1000)
        ldr     x1, [x0]
        MOV64   x2, 0x4F48434C56544C32
        cmp     x1, x2
        REQ     eq
        ldr     x1, [x0, #8]
        cmp     x1, #0
        REQ     eq
        REPORT  n_vtl2_config

        // ---- vtl0_config: ParavisorMeasuredVtl0Config at GPA 0x100_0000 (docs/abi.md
        // §3.5). Outside VTL2 memory, so not in the loader's tables: read it
        // with the MMU briefly off (we run identity mapped, so fetching goes on).
        mov     w24, #1
        mrs     x1, sctlr_el1
        bic     x2, x1, #1
        dsb     sy
        msr     sctlr_el1, x2
        isb
        mov     x3, #VTL0_CONFIG_GPA
        ldr     x4, [x3]                        // magic
        ldr     x5, [x3, #8]                    // supported_vtl0
        ldp     x6, x7, [x3, #16]               // uefi_info.firmware
        ldp     x8, x9, [x3, #32]               // uefi_info.vtl0_vp_context
        mov     x11, #0                         // OR of linux_info (48..112)
        mov     x12, #48
6:      ldr     x13, [x3, x12]
        orr     x11, x11, x13
        add     x12, x12, #8
        cmp     x12, #112
        b.lo    6b
        msr     sctlr_el1, x1
        isb
        MOV64   x2, 0x4F48434C56544C30
        cmp     x4, x2
        REQ     eq
        tst     x5, #~1                         // only uefi_supported may be set on arm64
        REQ     eq
        cmp     x11, #0                         // linux_info is ignored on arm64
        REQ     eq
        tbz     x5, #0, 7f
        mov     x2, #UEFI_VP_CONTEXT_PAGE       // vtl0_vp_context = {0x1001, 1}
        cmp     x8, x2
        REQ     eq
        cmp     x9, #1
        REQ     eq
        b       8f
7:      orr     x6, x6, x7                      // no UEFI: uefi_info all zero
        orr     x6, x6, x8
        orr     x6, x6, x9
        cmp     x6, #0
        REQ     eq
8:      adr     x0, s_vtl0_supported
        mov     x1, x5
        bl      info_hex
        REPORT  n_vtl0_config

        // ---- summary, then the kernel.
        adr     x0, s_failed
        mov     x1, x23
        bl      info_hex
        ldr     x25, [x20, #P_KERNEL_ENTRY]
        add     x25, x19, x25
        adr     x0, s_jump
        mov     x1, x25
        bl      info_hex
        mov     x0, #0                          // no device tree
        mov     x1, #0
        mov     x2, #0
        mov     x3, #0
        br      x25

// ---------------------------------------------------------------------------
// Helpers (x0..x15 only).

// puts(x0 = NUL-terminated string)
puts:
        mov     x1, x0
        mov     w0, #SYS_WRITE0
        hlt     #0xf000
        ret

// put_bytes(x0 = bytes, x1 = length): one SYS_WRITEC per byte.
put_bytes:
        mov     x2, x0
        add     x3, x0, x1
        sub     sp, sp, #16
1:      cmp     x2, x3
        b.hs    2f
        ldrb    w4, [x2], #1
        strb    w4, [sp]
        mov     x1, sp
        mov     w0, #SYS_WRITEC
        hlt     #0xf000
        b       1b
2:      add     sp, sp, #16
        ret

// check(x0 = name, w1 = ok): prints "CHECK <name> OK|FAIL"; counts failures.
check:
        stp     x29, x30, [sp, #-32]!
        str     x1, [sp, #16]
        str     x0, [sp, #24]
        adr     x0, s_check
        bl      puts
        ldr     x0, [sp, #24]
        bl      puts
        ldr     x1, [sp, #16]
        adr     x0, s_ok
        cbnz    w1, 1f
        add     x23, x23, #1
        adr     x0, s_fail
1:      bl      puts
        ldp     x29, x30, [sp], #32
        ret

// info_hex(x0 = label, x1 = value): prints "INFO <label> 0x<value>".
info_hex:
        stp     x29, x30, [sp, #-48]!
        str     x1, [sp, #16]
        str     x0, [sp, #24]
        adr     x0, s_info
        bl      puts
        ldr     x0, [sp, #24]
        bl      puts
        ldr     x0, [sp, #16]
        bl      put_hex
        adr     x0, s_nl
        bl      puts
        ldp     x29, x30, [sp], #48
        ret

// put_hex(x0 = value): prints " 0x" and 16 hex digits.
put_hex:
        stp     x29, x30, [sp, #-48]!
        add     x2, sp, #16
        mov     w3, #' '
        strb    w3, [x2]
        mov     w3, #'0'
        strb    w3, [x2, #1]
        mov     w3, #'x'
        strb    w3, [x2, #2]
        add     x5, x2, #3
        mov     x4, #60
1:      lsr     x6, x0, x4
        and     x6, x6, #0xF
        add     x7, x6, #'0'
        add     x8, x6, #('a' - 10)
        cmp     x6, #10
        csel    x6, x7, x8, lo
        strb    w6, [x5], #1
        subs    x4, x4, #4
        b.pl    1b
        strb    wzr, [x5]
        mov     x0, x2
        bl      puts
        ldp     x29, x30, [sp], #48
        ret

// inside(x0 = start, x1 = size) -> w10 = 1 and flags NE if [start, start+size)
// lies in [VTL2 start (x21), end of used region (x28)], else 0 / EQ.
inside:
        mov     w10, #0
        cmp     x0, x21
        b.lo    1f
        adds    x2, x0, x1
        b.cs    1f
        cmp     x2, x28
        b.hi    1f
        mov     w10, #1
1:      cmp     w10, #0
        ret

// probe(x0 = VA) -> x0 = PA from AT S1E1R, or 1 if the translation faults.
probe:
        at      s1e1r, x0
        isb
        mrs     x1, par_el1
        tbnz    x1, #0, 1f
        and     x1, x1, #0x0000FFFFFFFFF000
        and     x2, x0, #0xFFF
        orr     x0, x1, x2
        ret
1:      mov     x0, #1
        ret

// walk(x0 = VA) -> x0 = PA through the live TTBR0_EL1 tables (4 KiB granule,
// 47-bit VA: 4 levels starting at level 0), or 1 if the walk fails. Checks
// every table descriptor points into the 15-page table region, and the leaf
// attributes the loader writes (docs/abi.md §7.7): AttrIndx 3, SH 3, AF 1, AP 0,
// PXN 0.
walk:
        mrs     x1, ttbr0_el1
        and     x1, x1, #0x0000FFFFFFFFF000
        mov     x2, x1                          // table region start
        add     x3, x1, #PAGE_TABLE_REGION_SIZE // table region end
        mov     x4, x1                          // current table
        mov     x5, #39                         // VA shift of the current level
        mov     x6, #0                          // current level
1:      lsr     x7, x0, x5
        and     x7, x7, #0x1FF
        ldr     x8, [x4, x7, lsl #3]
        and     x9, x8, #3
        cmp     x9, #3
        b.eq    2f
        cmp     x9, #1                          // block: levels 1 and 2 only
        b.ne    9f
        cmp     x6, #1
        b.lo    9f
        cmp     x6, #2
        b.hi    9f
        b       3f
2:      cmp     x6, #3                          // page at level 3
        b.eq    3f
        and     x4, x8, #0x0000FFFFFFFFF000     // next table
        cmp     x4, x2
        b.lo    9f
        cmp     x4, x3
        b.hs    9f
        add     x6, x6, #1
        sub     x5, x5, #9
        b       1b
3:      ubfx    x9, x8, #2, #3                  // AttrIndx
        cmp     x9, #3
        b.ne    9f
        ubfx    x9, x8, #8, #2                  // SH
        cmp     x9, #3
        b.ne    9f
        tbz     x8, #10, 9f                     // AF
        tst     x8, #0xC0                       // AP
        b.ne    9f
        tbnz    x8, #53, 9f                     // PXN
        mov     x9, #1
        lsl     x9, x9, x5
        sub     x9, x9, #1                      // offset mask of the leaf size
        and     x10, x8, #0x0000FFFFFFFFF000
        bic     x10, x10, x9
        and     x11, x0, x9
        orr     x0, x10, x11
        ret
9:      mov     x0, #1
        ret

// utf8_check(x0 = bytes, x1 = length) -> w10 = 1 / NE if the bytes contain
// no NUL and are well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF).
utf8_check:
        add     x1, x0, x1                      // end
1:      cmp     x0, x1
        b.hs    8f
        ldrb    w2, [x0], #1
        cbz     w2, 9f
        cmp     w2, #0x80
        b.lo    1b
        cmp     w2, #0xC2
        b.lo    9f
        mov     w4, #0x80                       // second byte range [w4, w5]
        mov     w5, #0xBF
        cmp     w2, #0xE0
        b.hs    2f
        mov     x3, #1                          // continuation bytes
        b       5f
2:      cmp     w2, #0xF0
        b.hs    3f
        mov     x3, #2
        cmp     w2, #0xE0
        b.ne    21f
        mov     w4, #0xA0
21:     cmp     w2, #0xED
        b.ne    5f
        mov     w5, #0x9F
        b       5f
3:      cmp     w2, #0xF5
        b.hs    9f
        mov     x3, #3
        cmp     w2, #0xF0
        b.ne    31f
        mov     w4, #0x90
31:     cmp     w2, #0xF4
        b.ne    5f
        mov     w5, #0x8F
5:      sub     x6, x1, x0                      // bytes left
        cmp     x6, x3
        b.lo    9f
        ldrb    w2, [x0], #1
        cmp     w2, w4
        b.lo    9f
        cmp     w2, w5
        b.hi    9f
        sub     x3, x3, #1
6:      cbz     x3, 1b
        ldrb    w2, [x0], #1
        cmp     w2, #0x80
        b.lo    9f
        cmp     w2, #0xBF
        b.hi    9f
        sub     x3, x3, #1
        b       6b
8:      mov     w10, #1
        cmp     w10, #0
        ret
9:      mov     w10, #0
        cmp     w10, #0
        ret

// all_zero(x0 = bytes, x1 = length) -> w10 = 1 / NE if every byte is zero.
all_zero:
        add     x1, x0, x1
1:      cmp     x0, x1
        b.hs    8f
        ldrb    w2, [x0], #1
        cbz     w2, 1b
        mov     w10, #0
        cmp     w10, #0
        ret
8:      mov     w10, #1
        cmp     w10, #0
        ret

// zero_and_writable(x0 = 8-byte aligned start, x1 = length, multiple of 8)
// -> w10 = 1 / NE if the range was all zero and every word reads back a
// written pattern; the range is zero again afterwards.
zero_and_writable:
        mov     w10, #1
        add     x1, x0, x1
1:      cmp     x0, x1
        b.hs    8f
        ldr     x2, [x0]
        cbz     x2, 2f
        mov     w10, #0
2:      mvn     x3, x0                          // pattern: ~address, never zero
        str     x3, [x0]
        ldr     x2, [x0]
        cmp     x2, x3
        b.eq    3f
        mov     w10, #0
3:      str     xzr, [x0], #8
        b       1b
8:      cmp     w10, #0
        ret

// crc32(x0 = bytes, x1 = length) -> w0 = CRC-32/IEEE (crc32fast::hash).
crc32:
        mov     w2, #0xFFFFFFFF
        add     x1, x0, x1
1:      sub     x3, x1, x0
        cmp     x3, #8
        b.lo    2f
        ldr     x4, [x0], #8
        crc32x  w2, w2, x4
        b       1b
2:      cmp     x0, x1
        b.hs    3f
        ldrb    w4, [x0], #1
        crc32b  w2, w2, w4
        b       2b
3:      mvn     w0, w2
        ret

// exit(x0 = status): semihosting SYS_EXIT (ADP_Stopped_ApplicationExit).
exit:
        sub     sp, sp, #16
        MOV64   x1, ADP_STOPPED_APPLICATION_EXIT
        stp     x1, x0, [sp]
        mov     x1, sp
        mov     w0, #SYS_EXIT
        hlt     #0xf000
1:      wfi
        b       1b

// ---------------------------------------------------------------------------
// Exception vectors: report and exit with status 3.

        .macro  VECTOR index
        .balign 0x80
        mov     x15, #\index
        b       exception
        .endm

        .balign 0x800
vectors:
        .irp    i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
        VECTOR  \i
        .endr

exception:
        adr     x1, __stack_top                 // fresh stack
        mov     sp, x1
        adr     x0, s_exception
        bl      puts
        adr     x0, s_vector
        mov     x1, x15
        bl      info_hex
        adr     x0, s_esr
        mrs     x1, esr_el1
        bl      info_hex
        adr     x0, s_elr
        mrs     x1, elr_el1
        bl      info_hex
        adr     x0, s_far
        mrs     x1, far_el1
        bl      info_hex
        mov     x0, #3
        b       exit

// ---------------------------------------------------------------------------

        .section .rodata, "a"
s_banner:       .asciz  "SHIM: AArch64 test shim started\n"
s_base:         .asciz  "shim_base"
s_mem:          .asciz  "vtl2_start"
s_mem_end:      .asciz  "vtl2_end"
s_ttbr0:        .asciz  "ttbr0_el1"
s_unmapped:     .asciz  "not_identity_mapped"
s_initrd_size:  .asciz  "initrd_size"
s_vtl0_supported: .asciz "vtl0_supported"
s_failed:       .asciz  "failed_checks"
s_jump:         .asciz  "kernel_entry"
s_exception:    .asciz  "EXCEPTION: the shim took an exception\n"
s_vector:       .asciz  "vector"
s_esr:          .asciz  "esr_el1"
s_elr:          .asciz  "elr_el1"
s_far:          .asciz  "far_el1"
s_fatal_params: .asciz  "SHIM: FATAL: X0 does not lead to the shim parameters\n"
s_check:        .asciz  "CHECK "
s_info:         .asciz  "INFO "
s_ok:           .asciz  " OK\n"
s_fail:         .asciz  " FAIL\n"
s_nl:           .asciz  "\n"
s_cmdline:      .asciz  "CMDLINE ["
s_cmdline_end:  .asciz  "]\n"
n_el1h:         .asciz  "el1h"
n_sctlr:        .asciz  "sctlr-el1"
n_tcr:          .asciz  "tcr-el1"
n_mair:         .asciz  "mair-el1"
n_vbar:         .asciz  "vbar-el1"
n_x0:           .asciz  "shim-params"
n_params:       .asciz  "param-offsets"
n_isolation:    .asciz  "isolation"
n_ttbr0:        .asciz  "ttbr0-el1"
n_walk:         .asciz  "identity-map"
n_at:           .asciz  "identity-map-at"
n_cmdline:      .asciz  "cmdline"
n_initrd:       .asciz  "initrd-crc"
n_kernel:       .asciz  "kernel-image"
n_log:          .asciz  "log-buffer-writable"
n_heap:         .asciz  "heap-writable"
n_vtl2_config:  .asciz  "vtl2-measured-config"
n_vtl0_config:  .asciz  "vtl0-measured-config"

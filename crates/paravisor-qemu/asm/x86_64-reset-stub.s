/*
 * The x86-64 reset stub of paravisor-qemu (src/x64.rs keeps its assembled
 * bytes in X64_RESET_STUB_CODE; a unit test re-assembles this file and
 * compares). It is the last 4 KiB page of the 64 KiB -bios image, so it
 * sits at linear 0xFFFFF000 and the reset vector 0xFFFFFFF0 is its offset
 * 0xFF0. Real mode -> 32-bit protected mode (flat segments from the GDT
 * below, paging off) -> jump to the trampoline page whose address the runner
 * wrote at TRAMPOLINE_SLOT, with EBX = that address.
 *
 * Build: as --32 -o stub.o x86_64-reset-stub.s && ld -m elf_i386 -Ttext=0 \
 *        --oformat=binary -o stub.bin stub.o
 */
    .set PAGE_LINEAR, 0xFFFFF000  /* linear address of this page */
    .set PAGE_IN_CS, 0xF000       /* its offset in the reset CS (base 0xFFFF0000) */
    .set CODE32, 0x08
    .set DATA32, 0x10

    .text
    .code16
start16:
    cli
    cld
    /* lgdt with a 32-bit base; the descriptor is addressed through CS. */
    lgdtl %cs:(PAGE_IN_CS + gdt_descriptor)
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $CODE32, $(PAGE_LINEAR + start32)

    .code32
start32:
    movl $DATA32, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl %eax, %fs
    movl %eax, %gs
    movl (PAGE_LINEAR + trampoline_slot), %ebx
    jmp *%ebx

    .org 0x80
gdt:
    .quad 0
    .quad 0x00CF9B000000FFFF    /* 0x08: 32-bit code, flat, accessed */
    .quad 0x00CF93000000FFFF    /* 0x10: data, flat, accessed */
gdt_end:
    .org 0x98
gdt_descriptor:
    .word gdt_end - gdt - 1
    .long PAGE_LINEAR + gdt
    .org 0xA0
trampoline_slot:            /* written by the runner */
    .long 0

    .org 0xFF0
    .code16
reset_vector:
    jmp start16             /* 16-bit near jump back to the page start */
    .org 0x1000

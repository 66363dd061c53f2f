/*
 * The x86-64 trampoline of paravisor-qemu (src/x64.rs keeps its assembled
 * bytes in X64_TRAMPOLINE_CODE; a unit test re-assembles this file and
 * compares). The runner places it, with the register block at offset
 * REGS (0x200), in a page of VTL2 memory that the image leaves free, so the
 * loader's identity map covers it: it is where the CPU switches to the
 * imported page tables. Entered from the reset stub in 32-bit protected
 * mode, paging off, EBX = this page.
 *
 * Sets CR4, CR3, EFER (LMA masked: the CPU sets it), PAT, then CR0 (paging
 * on: IA-32e mode), loads the imported GDTR and IDTR, enters 64-bit mode
 * by a far return to the imported CS, loads DS/ES/FS/GS/SS from the
 * imported GDT, sets RFLAGS, RBP, R8-R12, RSI, RSP and jumps to RIP (RAX
 * then holds RIP; RBX, RCX, RDX are zero, cleared with MOV so that RFLAGS
 * stays as set).
 *
 * Build: as --64 -o t.o x86_64-trampoline.s && ld -Ttext=0 --oformat=binary -o t.bin t.o
 */
    .set REGS, 0x200
    .set CR0, REGS + 0x00
    .set CR3, REGS + 0x08
    .set CR4, REGS + 0x10
    .set EFER, REGS + 0x18
    .set PAT, REGS + 0x20
    .set GDTR, REGS + 0x28      /* limit (2 bytes), base (8 bytes) */
    .set IDTR, REGS + 0x38      /* limit (2 bytes), base (8 bytes) */
    .set CS, REGS + 0x48
    .set DS, REGS + 0x50
    .set ES, REGS + 0x58
    .set FS, REGS + 0x60
    .set GS, REGS + 0x68
    .set SS, REGS + 0x70
    .set RFLAGS, REGS + 0x78
    .set RIP, REGS + 0x80
    .set RSI, REGS + 0x88
    .set RSP, REGS + 0x90
    .set RBP, REGS + 0x98
    .set R8, REGS + 0xA0
    .set R9, REGS + 0xA8
    .set R10, REGS + 0xB0
    .set R11, REGS + 0xB8
    .set R12, REGS + 0xC0
    .set MSR_EFER, 0xC0000080
    .set MSR_PAT, 0x277
    .set EFER_LMA, 0x400

    .text
    .code32
start32:
    movl CR4(%ebx), %eax
    movl %eax, %cr4
    movl CR3(%ebx), %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    movl EFER(%ebx), %eax
    andl $~EFER_LMA, %eax
    movl EFER+4(%ebx), %edx
    wrmsr
    movl $MSR_PAT, %ecx
    movl PAT(%ebx), %eax
    movl PAT+4(%ebx), %edx
    wrmsr
    movl CR0(%ebx), %eax
    movl %eax, %cr0             /* paging on: compatibility mode */
    lgdtl GDTR(%ebx)
    lidtl IDTR(%ebx)
    leal 0x1000(%ebx), %esp     /* a stack at the top of this page */
    pushl CS(%ebx)
    leal start64(%ebx), %eax
    pushl %eax
    lretl                       /* CS from the imported GDT: 64-bit mode */

    .code64
start64:
    movl DS(%rbx), %eax
    movl %eax, %ds
    movl ES(%rbx), %eax
    movl %eax, %es
    movl FS(%rbx), %eax
    movl %eax, %fs
    movl GS(%rbx), %eax
    movl %eax, %gs
    movl SS(%rbx), %eax
    movl %eax, %ss
    pushq RFLAGS(%rbx)
    popfq
    movq RBP(%rbx), %rbp
    movq R8(%rbx), %r8
    movq R9(%rbx), %r9
    movq R10(%rbx), %r10
    movq R11(%rbx), %r11
    movq R12(%rbx), %r12
    movq RSI(%rbx), %rsi
    movq RSP(%rbx), %rsp
    movq RIP(%rbx), %rax
    movl $0, %ebx
    movl $0, %ecx
    movl $0, %edx
    jmp *%rax

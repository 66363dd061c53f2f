/*
 * The boot tests' kernel: a position-independent x86-64 ELF that prints one
 * fixed line and its own load address on the serial port (COM1, 0x3F8) and
 * halts. The boot shim jumps to it last, so seeing its line proves the shim
 * found the kernel entry point where the loader put it.
 *
 * Entry state: 64-bit mode, identity-mapped, interrupts off; no stack is
 * needed (none is used).
 *
 * Build (the boot tests do this): see README.md.
 */
    .intel_syntax noprefix

    .section .text
    .globl _start
    .type _start, @function
_start:
    mov dx, 0x3F8
    lea rsi, [rip + message]
    mov ecx, OFFSET message_end - message
1:  lodsb
    out dx, al
    dec ecx
    jnz 1b

    /* " at 0x" then the 16 hex digits of the entry address, then "\n". */
    lea rsi, [rip + at]
    mov ecx, OFFSET at_end - at
2:  lodsb
    out dx, al
    dec ecx
    jnz 2b
    lea rbx, [rip + _start]
    mov ecx, 16
3:  rol rbx, 4
    mov al, bl
    and al, 0xF
    add al, '0'
    cmp al, '9'
    jbe 4f
    add al, 'a' - '9' - 1
4:  out dx, al
    dec ecx
    jnz 3b
    mov al, '\n'
    out dx, al

5:  hlt
    jmp 5b
    .size _start, . - _start

    .section .rodata
message:
    .ascii "TEST-KERNEL: reached the kernel entry point"
message_end:
at:
    .ascii " at 0x"
at_end:

    .section .note.GNU-stack, "", @progbits

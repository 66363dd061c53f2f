// Reset stub placed at GPA 0 (the -bios flash of `qemu-system-aarch64 -M
// virt,virtualization=on`). The CPU resets at EL2; the stub plays the VMM:
// it sets the EL1 register state the loader imported and enters EL1 with
// ERET, so SCTLR_EL1.M is already 1 when the first EL1 instruction (the
// shim entry) is fetched, exactly as a hypervisor starts a vCPU.
//
// The runner (crates/paravisor-qemu) fills the register block at offset
// 0x100; the code only uses PC-relative addressing.

        .text
        .global _reset
_reset:
        adr     x9, regs
        mov     x1, #(1 << 31)          // HCR_EL2.RW: EL1 is AArch64; no stage 2, no traps
        msr     hcr_el2, x1
        mov     x1, #0x33FF             // CPTR_EL2: RES1 bits only, no FP/SIMD traps
        msr     cptr_el2, x1
        mov     x1, #3                  // CNTHCTL_EL2: EL1 may use the physical timer
        msr     cnthctl_el2, x1
        msr     cntvoff_el2, xzr
        ldr     x1, [x9, #0x28]
        msr     mair_el1, x1
        ldr     x1, [x9, #0x20]
        msr     tcr_el1, x1
        ldr     x1, [x9, #0x30]
        msr     ttbr0_el1, x1
        ldr     x1, [x9, #0x38]
        msr     vbar_el1, x1
        ldr     x1, [x9, #0x18]
        msr     sctlr_el1, x1
        ldr     x1, [x9, #0x10]
        msr     spsr_el2, x1            // CPSR of the vCPU
        ldr     x1, [x9, #0x08]
        msr     elr_el2, x1             // PC of the vCPU
        tlbi    alle1
        dsb     sy
        isb
        ldr     x0, [x9, #0x00]         // X0
        mov     x1, #0
        mov     x9, #0
        eret

        .org    0x100
regs:   // x0, pc, cpsr, sctlr_el1, tcr_el1, mair_el1, ttbr0_el1, vbar_el1
        .quad   0, 0, 0, 0, 0, 0, 0, 0

//! The hand-off OpenHCL's boot shim performs after its checks: describe the
//! machine to the kernel in a flattened device tree and enter the kernel
//! `Image` as the arm64 boot protocol asks (Linux
//! `Documentation/arch/arm64/booting.rst`): MMU and D-cache off, interrupts
//! masked, x0 = the tree's physical address, x1 = x2 = x3 = 0.
//!
//! The tree is built here, in the shim, as OpenHCL does (not by the host):
//!
//! * `/memory` is the VTL2 memory range of the shim parameters — the only
//!   memory the kernel may use;
//! * `/chosen/bootargs` is the image's command line (the command-line
//!   page); when its policy is `APPEND_CHOSEN` the host's `/chosen/bootargs`
//!   is appended, taken from the device tree the host (the VMM) left in the
//!   image's "underhill-device-tree" parameter area (parameter-region pages
//!   40..=103, `docs/abi.md` §1.2) — as OpenHCL appends the host's;
//! * `/chosen/linux,initrd-start` / `-end` are the initrd of the shim
//!   parameters (omitted when it is empty);
//! * the devices are those of the machine the runner starts, QEMU's
//!   `virt` with `gic-version=2` (`crates/paravisor-qemu`): the PSCI
//!   firmware interface (SMC conduit, so the kernel can power off), one
//!   Cortex-A57, the architected timer, the GICv2 distributor and CPU
//!   interface, the PL011 UART and its 24 MHz clock.
//!
//! The tree is written into the shim's heap ("ohcl-boot-shim-heap", 64 KiB,
//! inside VTL2 memory and zeroed by the loader); the kernel reserves the
//! tree's memory itself before it allocates.

use crate::arch;
use crate::fdt::FdtError;
use crate::fdt::FdtWriter;
use crate::fdt::find_property;
use crate::println;

/// What the checks found and the hand-off needs: every address is a GPA
/// (identity mapped).
pub struct Handoff {
    /// The kernel `Image` entry (VTL2 start + 2 MiB + text_offset).
    pub kernel_entry: u64,
    /// VTL2 memory start.
    pub memory_start: u64,
    /// VTL2 memory size in bytes.
    pub memory_size: u64,
    /// The image's command line (checked UTF-8, from the command-line page).
    pub command_line: &'static str,
    /// The command-line policy is `APPEND_CHOSEN`.
    pub host_appendable: bool,
    /// The initrd, `(gpa, size)`; size 0 when none.
    pub initrd: (u64, u64),
    /// The shim heap, `(gpa, size)`, where the tree is written.
    pub heap: (u64, u64),
    /// The host's device tree: the "underhill-device-tree" parameter area,
    /// `(gpa, size)`.
    pub host_device_tree: (u64, u64),
}

/// QEMU `virt` (gic-version=2) device addresses and interrupts, as in the
/// tree QEMU itself generates for that machine.
mod virt {
    pub const GIC_DIST: (u64, u64) = (0x0800_0000, 0x1_0000);
    pub const GIC_CPU: (u64, u64) = (0x0801_0000, 0x1_0000);
    pub const UART: (u64, u64) = (0x0900_0000, 0x1000);
    /// SPI 1, level high.
    pub const UART_INTERRUPT: [u32; 3] = [0, 1, 4];
    /// Secure, non-secure, virtual and hypervisor physical timer PPIs
    /// (13, 14, 11, 10), level low on CPU 0 (0x104).
    pub const TIMER_INTERRUPTS: [u32; 12] =
        [1, 13, 0x104, 1, 14, 0x104, 1, 11, 0x104, 1, 10, 0x104];
    pub const UART_CLOCK_HZ: u32 = 24_000_000;
}

const GIC_PHANDLE: u32 = 1;
const CLOCK_PHANDLE: u32 = 2;

fn hi(value: u64) -> u32 {
    (value >> 32) as u32
}

fn lo(value: u64) -> u32 {
    value as u32
}

/// A node name `base@address` (address in lowercase hex).
struct UnitName {
    buf: [u8; 32],
    len: usize,
}

impl UnitName {
    fn new(base: &str, address: u64) -> Self {
        let mut name = Self {
            buf: [0; 32],
            len: 0,
        };
        let _ = core::fmt::write(&mut name, format_args!("{}@{:x}", base, address));
        name
    }

    fn as_str(&self) -> &str {
        core::str::from_utf8(self.buf.get(..self.len).unwrap_or(&[])).unwrap_or("")
    }
}

impl core::fmt::Write for UnitName {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(core::fmt::Error)?;
        self.buf
            .get_mut(self.len..end)
            .ok_or(core::fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// The host's `/chosen/bootargs` from its device tree, without the NUL;
/// empty when the host gave no tree or no bootargs.
fn host_bootargs(h: &Handoff) -> Result<&'static str, FdtError> {
    // SAFETY: the parameter area lies in the used region of VTL2 memory
    // (the param-offsets check), identity mapped; nothing writes it.
    let tree = unsafe {
        core::slice::from_raw_parts(
            h.host_device_tree.0 as *const u8,
            h.host_device_tree.1 as usize,
        )
    };
    let Some(value) = find_property(tree, &["chosen"], "bootargs")? else {
        return Ok("");
    };
    let text = value.split(|&b| b == 0).next().unwrap_or(&[]);
    core::str::from_utf8(text).map_err(|_| FdtError::Malformed)
}

/// Writes the kernel's device tree into `out`; returns its size.
fn build(h: &Handoff, host_args: &str, out: &mut [u8]) -> Result<usize, FdtError> {
    let mut w = FdtWriter::new(out)?;
    w.begin_node("")?;
    w.prop_cells("#address-cells", &[2])?;
    w.prop_cells("#size-cells", &[2])?;
    w.prop_strings("compatible", &["linux,dummy-virt"])?;
    w.prop_strings(
        "model",
        &["paravisor-loader AArch64 test shim on QEMU virt"],
    )?;
    w.prop_cells("interrupt-parent", &[GIC_PHANDLE])?;

    w.begin_node("chosen")?;
    w.prop_joined("bootargs", &[h.command_line, host_args])?;
    let uart = UnitName::new("pl011", virt::UART.0);
    let mut stdout_path = [0u8; 34];
    let path_len = uart.len + 1;
    if let Some(p) = stdout_path.get_mut(..path_len) {
        p[0] = b'/';
        p[1..].copy_from_slice(uart.as_str().as_bytes());
    }
    w.prop_joined(
        "stdout-path",
        &[core::str::from_utf8(stdout_path.get(..path_len).unwrap_or(&[])).unwrap_or("")],
    )?;
    let (initrd, initrd_size) = h.initrd;
    if initrd_size != 0 {
        w.prop_u64("linux,initrd-start", initrd)?;
        w.prop_u64("linux,initrd-end", initrd.wrapping_add(initrd_size))?;
    }
    w.end_node()?;

    w.begin_node(UnitName::new("memory", h.memory_start).as_str())?;
    w.prop_strings("device_type", &["memory"])?;
    let (start, size) = (h.memory_start, h.memory_size);
    w.prop_cells("reg", &[hi(start), lo(start), hi(size), lo(size)])?;
    w.end_node()?;

    w.begin_node("psci")?;
    w.prop_strings("compatible", &["arm,psci-1.0", "arm,psci-0.2", "arm,psci"])?;
    w.prop_strings("method", &["smc"])?;
    w.end_node()?;

    w.begin_node("cpus")?;
    w.prop_cells("#address-cells", &[1])?;
    w.prop_cells("#size-cells", &[0])?;
    w.begin_node("cpu@0")?;
    w.prop_strings("device_type", &["cpu"])?;
    w.prop_strings("compatible", &["arm,cortex-a57"])?;
    w.prop_cells("reg", &[0])?;
    w.end_node()?;
    w.end_node()?;

    w.begin_node("timer")?;
    w.prop_strings("compatible", &["arm,armv8-timer", "arm,armv7-timer"])?;
    w.prop_cells("interrupts", &virt::TIMER_INTERRUPTS)?;
    w.prop("always-on", &[])?;
    w.end_node()?;

    let (dist, cpu) = (virt::GIC_DIST, virt::GIC_CPU);
    w.begin_node(UnitName::new("intc", dist.0).as_str())?;
    w.prop_strings("compatible", &["arm,cortex-a15-gic"])?;
    w.prop_cells("#interrupt-cells", &[3])?;
    w.prop("interrupt-controller", &[])?;
    w.prop_cells(
        "reg",
        &[
            hi(dist.0),
            lo(dist.0),
            hi(dist.1),
            lo(dist.1),
            hi(cpu.0),
            lo(cpu.0),
            hi(cpu.1),
            lo(cpu.1),
        ],
    )?;
    w.prop_cells("phandle", &[GIC_PHANDLE])?;
    w.end_node()?;

    w.begin_node("apb-pclk")?;
    w.prop_strings("compatible", &["fixed-clock"])?;
    w.prop_cells("#clock-cells", &[0])?;
    w.prop_cells("clock-frequency", &[virt::UART_CLOCK_HZ])?;
    w.prop_strings("clock-output-names", &["clk24mhz"])?;
    w.prop_cells("phandle", &[CLOCK_PHANDLE])?;
    w.end_node()?;

    w.begin_node(uart.as_str())?;
    w.prop_strings("compatible", &["arm,pl011", "arm,primecell"])?;
    let (base, len) = virt::UART;
    w.prop_cells("reg", &[hi(base), lo(base), hi(len), lo(len)])?;
    w.prop_cells("interrupts", &virt::UART_INTERRUPT)?;
    w.prop_cells("clocks", &[CLOCK_PHANDLE, CLOCK_PHANDLE])?;
    w.prop_strings("clock-names", &["uartclk", "apb_pclk"])?;
    w.end_node()?;

    w.end_node()?;
    w.finish()
}

/// Builds the kernel's device tree and enters the kernel; returns only if
/// the tree cannot be built (with the reason).
pub fn enter_kernel(h: &Handoff) -> FdtError {
    let host_args = if h.host_appendable {
        match host_bootargs(h) {
            Ok(args) => args,
            Err(e) => return e,
        }
    } else {
        ""
    };
    println!("HANDOFF host_bootargs [{}]", host_args);
    let (heap, heap_size) = h.heap;
    // SAFETY: the heap is the shim's own 64 KiB of VTL2 memory (checked
    // zero and writable by heap-writable), identity mapped; nothing else
    // uses it.
    let out = unsafe { core::slice::from_raw_parts_mut(heap as *mut u8, heap_size as usize) };
    let size = match build(h, host_args, out) {
        Ok(size) => size,
        Err(e) => return e,
    };
    println!("INFO dtb_address {:#018x}", heap);
    println!("INFO dtb_size {:#018x}", size);
    println!("INFO kernel_entry {:#018x}", h.kernel_entry);
    // SAFETY: the checks found the kernel Image header at `kernel_entry`
    // inside identity-mapped VTL2 memory; the tree was just written at
    // `heap` (size bytes). The shim runs identity mapped, so it goes on at
    // the same addresses once the MMU is off.
    unsafe { arch::enter_image(h.kernel_entry, heap, size as u64) }
}

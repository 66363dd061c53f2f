//! The `/init` of the boot_linux tests' initramfs (`tests/tests/boot_linux.rs`).
//!
//! A freestanding static Linux program for x86-64 and AArch64 (no libc, raw
//! system calls). The kernel starts it as process 1 with `/dev/console` as
//! its standard streams; it mounts `/proc` and `/sys`, prints ONE line
//!
//! ```text
//! PARAVISOR-LINUX-INIT memtotal_kib=N system_ram=S-E,S-E system_ram_bytes=N initrd_bytes=N initrd_from=SOURCE cmdline=TEXT
//! ```
//!
//! and powers the machine off (`reboot(LINUX_REBOOT_CMD_POWER_OFF)`):
//!
//! * `memtotal_kib`: `MemTotal` of `/proc/meminfo` (what the kernel manages);
//! * `system_ram`: the top-level `System RAM` ranges of `/proc/iomem`
//!   (inclusive ends, as the kernel prints them), i.e. the RAM the boot
//!   loader described, and their total in `system_ram_bytes`;
//! * `initrd_bytes`: the size of the initramfs the boot loader handed over,
//!   read where each architecture's boot protocol put it: on AArch64 the
//!   device tree (`/sys/firmware/devicetree/base/chosen/linux,initrd-start`
//!   and `-end`, `initrd_from=devicetree`), on x86-64 the kernel's copy of
//!   the zero page (`/sys/kernel/boot_params/data`: `ramdisk_size` at 0x21C
//!   plus `ext_ramdisk_size` at 0x0C4 << 32, `initrd_from=boot_params`).
//!   The first that exists is used;
//! * `cmdline`: `/proc/cmdline` without its newline, last on the line so it
//!   may contain anything.
//!
//! A value that cannot be read is printed as `error(<what>,<errno>)`.

#![no_std]
#![no_main]

mod sys;

/// memcpy and friends for the x86-64 Linux target (AArch64's bare-metal
/// target gets them from `compiler_builtins`): the boot shim's.
#[cfg(target_arch = "x86_64")]
#[path = "../../boot-shim/src/mem.rs"]
mod mem;

use core::panic::PanicInfo;

/// The marker the tests look for.
const MARKER: &[u8] = b"PARAVISOR-LINUX-INIT";

#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    let _ = sys::write_all(1, b"PARAVISOR-LINUX-INIT-PANIC\n");
    power_off()
}

/// A fixed-capacity byte buffer (the line being built).
struct Line {
    bytes: [u8; 8192],
    len: usize,
}

impl Line {
    fn push(&mut self, data: &[u8]) {
        for &b in data {
            if let Some(slot) = self.bytes.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
    }

    fn push_dec(&mut self, mut value: u64) {
        let mut digits = [0u8; 20];
        let mut n = 0;
        loop {
            digits[n] = b'0' + (value % 10) as u8;
            n += 1;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        while n > 0 {
            n -= 1;
            self.push(&[digits[n]]);
        }
    }

    fn push_hex(&mut self, value: u64) {
        self.push(b"0x");
        let mut started = false;
        for shift in (0..16).rev() {
            let nibble = ((value >> (shift * 4)) & 0xF) as u8;
            if nibble != 0 || started || shift == 0 {
                started = true;
                self.push(&[if nibble < 10 {
                    b'0' + nibble
                } else {
                    b'a' + nibble - 10
                }]);
            }
        }
    }

    fn push_error(&mut self, what: &[u8], errno: i64) {
        self.push(b"error(");
        self.push(what);
        self.push(b",");
        self.push_dec(errno.unsigned_abs());
        self.push(b")");
    }

    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

/// Reads the whole file at `path` (NUL-terminated) into `buf`; its length.
fn read_file<'a>(path: &[u8], buf: &'a mut [u8]) -> Result<&'a [u8], i64> {
    let fd = sys::open_read(path)?;
    let mut len = 0;
    while let Some(rest) = buf.get_mut(len..) {
        if rest.is_empty() {
            break;
        }
        match sys::read(fd, rest) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) => {
                sys::close(fd);
                return Err(e);
            }
        }
    }
    sys::close(fd);
    Ok(buf.get(..len).unwrap_or(&[]))
}

fn parse_dec(text: &[u8]) -> Option<u64> {
    let mut value: u64 = 0;
    let mut any = false;
    for &b in text {
        match b {
            b'0'..=b'9' => {
                value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
                any = true;
            }
            b' ' if !any => {}
            _ => break,
        }
    }
    any.then_some(value)
}

fn parse_hex(text: &[u8]) -> Option<u64> {
    let mut value: u64 = 0;
    if text.is_empty() {
        return None;
    }
    for &b in text {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return None,
        };
        value = value.checked_mul(16)?.checked_add(u64::from(digit))?;
    }
    Some(value)
}

fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|&b| b == b'\n')
}

fn memtotal(line: &mut Line, buf: &mut [u8]) {
    match read_file(b"/proc/meminfo\0", buf) {
        Ok(text) => {
            let value = lines(text)
                .find_map(|l| l.strip_prefix(b"MemTotal:"))
                .and_then(parse_dec);
            match value {
                Some(kib) => line.push_dec(kib),
                None => line.push_error(b"no-MemTotal", 0),
            }
        }
        Err(e) => line.push_error(b"/proc/meminfo", e),
    }
}

/// `00001000-0009ffff : System RAM` lines of /proc/iomem (top level only:
/// nested entries are indented).
fn system_ram(line: &mut Line, buf: &mut [u8]) {
    let text = match read_file(b"/proc/iomem\0", buf) {
        Ok(text) => text,
        Err(e) => {
            line.push_error(b"/proc/iomem", e);
            line.push(b" system_ram_bytes=");
            line.push_error(b"/proc/iomem", e);
            return;
        }
    };
    let mut total: u64 = 0;
    let mut first = true;
    for l in lines(text) {
        let Some(range) = l.strip_suffix(b" : System RAM") else {
            continue;
        };
        let mut parts = range.splitn(2, |&b| b == b'-');
        let (Some(start), Some(end)) = (
            parts.next().and_then(parse_hex),
            parts.next().and_then(parse_hex),
        ) else {
            continue;
        };
        if !first {
            line.push(b",");
        }
        first = false;
        line.push_hex(start);
        line.push(b"-");
        line.push_hex(end);
        total = total.saturating_add(end.saturating_sub(start).saturating_add(1));
    }
    if first {
        line.push(b"none");
    }
    line.push(b" system_ram_bytes=");
    line.push_dec(total);
}

/// A device-tree cell property (big-endian, 4 or 8 bytes).
fn dt_cells(path: &[u8], buf: &mut [u8]) -> Option<u64> {
    let bytes = read_file(path, buf).ok()?;
    match bytes.len() {
        4 => Some(u64::from(u32::from_be_bytes(bytes.try_into().ok()?))),
        8 => Some(u64::from_be_bytes(bytes.try_into().ok()?)),
        _ => None,
    }
}

fn le_u32(bytes: &[u8], offset: usize) -> Option<u64> {
    let b = bytes.get(offset..offset.checked_add(4)?)?;
    Some(u64::from(u32::from_le_bytes(b.try_into().ok()?)))
}

fn initrd(line: &mut Line, buf: &mut [u8]) {
    let start = dt_cells(
        b"/sys/firmware/devicetree/base/chosen/linux,initrd-start\0",
        buf,
    );
    let end = dt_cells(
        b"/sys/firmware/devicetree/base/chosen/linux,initrd-end\0",
        buf,
    );
    if let (Some(start), Some(end)) = (start, end) {
        line.push_dec(end.saturating_sub(start));
        line.push(b" initrd_from=devicetree");
        return;
    }
    match read_file(b"/sys/kernel/boot_params/data\0", buf) {
        Ok(zero_page) => {
            // setup_header.ramdisk_size (0x21C) and ext_ramdisk_size (0x0C4).
            match (le_u32(zero_page, 0x21C), le_u32(zero_page, 0x0C4)) {
                (Some(low), Some(high)) => line.push_dec(high << 32 | low),
                _ => line.push_error(b"short-boot_params", 0),
            }
            line.push(b" initrd_from=boot_params");
        }
        Err(e) => {
            line.push_error(b"no-initrd-source", e);
            line.push(b" initrd_from=none");
        }
    }
}

fn power_off() -> ! {
    sys::power_off();
    // Powering off failed: nothing else to do.
    loop {
        sys::exit(0);
    }
}

/// Called by `_start` (sys.rs).
fn main() -> ! {
    // Both may already be mounted (EBUSY): the reads below tell.
    let _ = sys::mount(b"proc\0", b"/proc\0", b"proc\0");
    let _ = sys::mount(b"sysfs\0", b"/sys\0", b"sysfs\0");

    let mut line = Line {
        bytes: [0; 8192],
        len: 0,
    };
    let mut buf = [0u8; 65536];
    line.push(MARKER);
    line.push(b" memtotal_kib=");
    memtotal(&mut line, &mut buf);
    line.push(b" system_ram=");
    system_ram(&mut line, &mut buf);
    line.push(b" initrd_bytes=");
    initrd(&mut line, &mut buf);
    line.push(b" cmdline=");
    match read_file(b"/proc/cmdline\0", &mut buf) {
        Ok(text) => line.push(text.strip_suffix(b"\n").unwrap_or(text)),
        Err(e) => line.push_error(b"/proc/cmdline", e),
    }
    line.push(b"\n");
    if sys::write_all(1, line.as_bytes()).is_err()
        && let Ok(fd) = sys::open_write(b"/dev/console\0")
    {
        let _ = sys::write_all(fd, line.as_bytes());
    }
    power_off()
}

//! The entry point and the few Linux system calls the init makes, for
//! x86-64 (`syscall`) and AArch64 (`svc #0`).

use core::arch::asm;
use core::arch::global_asm;

/// System call numbers (x86-64: arch/x86/entry/syscalls/syscall_64.tbl;
/// AArch64: the generic table, include/uapi/asm-generic/unistd.h).
#[cfg(target_arch = "x86_64")]
mod nr {
    pub const READ: u64 = 0;
    pub const WRITE: u64 = 1;
    pub const CLOSE: u64 = 3;
    pub const EXIT: u64 = 60;
    pub const MOUNT: u64 = 165;
    pub const REBOOT: u64 = 169;
    pub const OPENAT: u64 = 257;
}

#[cfg(target_arch = "aarch64")]
mod nr {
    pub const READ: u64 = 63;
    pub const WRITE: u64 = 64;
    pub const CLOSE: u64 = 57;
    pub const EXIT: u64 = 93;
    pub const MOUNT: u64 = 40;
    pub const REBOOT: u64 = 142;
    pub const OPENAT: u64 = 56;
}

const AT_FDCWD: i64 = -100;
const O_RDONLY: u64 = 0;
const O_WRONLY: u64 = 1;
const EINTR: i64 = 4;
const LINUX_REBOOT_MAGIC1: u64 = 0xFEE1_DEAD;
const LINUX_REBOOT_MAGIC2: u64 = 0x2812_1969;
const LINUX_REBOOT_CMD_POWER_OFF: u64 = 0x4321_FEDC;

// Process entry: the stack pointer points at argc (16-byte aligned). Call
// main with a clean frame; it never returns.
#[cfg(target_arch = "x86_64")]
global_asm!(
    ".globl _start",
    "_start:",
    "    xor ebp, ebp",
    "    and rsp, -16",
    "    call {main}",
    "    ud2",
    main = sym entry,
);

#[cfg(target_arch = "aarch64")]
global_asm!(
    ".globl _start",
    "_start:",
    "    mov x29, xzr",
    "    mov x30, xzr",
    "    bl {main}",
    "    udf #0",
    main = sym entry,
);

extern "C" fn entry() -> ! {
    crate::main()
}

/// A raw system call with up to five arguments; the kernel's return value
/// (negative errno on failure).
#[cfg(target_arch = "x86_64")]
fn syscall(n: u64, a: [u64; 5]) -> i64 {
    let ret: i64;
    // SAFETY: a Linux system call; the arguments are plain values or
    // pointers to memory the caller owns for the duration of the call. The
    // kernel clobbers rcx and r11 only.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") n as i64 => ret,
            in("rdi") a[0], in("rsi") a[1], in("rdx") a[2], in("r10") a[3], in("r8") a[4],
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

#[cfg(target_arch = "aarch64")]
fn syscall(n: u64, a: [u64; 5]) -> i64 {
    let ret: i64;
    // SAFETY: a Linux system call; the arguments are plain values or
    // pointers to memory the caller owns for the duration of the call.
    unsafe {
        asm!(
            "svc #0",
            in("x8") n,
            inlateout("x0") a[0] as i64 => ret,
            in("x1") a[1], in("x2") a[2], in("x3") a[3], in("x4") a[4],
            options(nostack),
        );
    }
    ret
}

fn check(ret: i64) -> Result<u64, i64> {
    if ret < 0 { Err(ret) } else { Ok(ret as u64) }
}

/// `openat(AT_FDCWD, path, O_RDONLY)`; `path` ends with a NUL.
pub fn open_read(path: &[u8]) -> Result<u64, i64> {
    check(syscall(
        nr::OPENAT,
        [AT_FDCWD as u64, path.as_ptr() as u64, O_RDONLY, 0, 0],
    ))
}

/// `openat(AT_FDCWD, path, O_WRONLY)`; `path` ends with a NUL.
pub fn open_write(path: &[u8]) -> Result<u64, i64> {
    check(syscall(
        nr::OPENAT,
        [AT_FDCWD as u64, path.as_ptr() as u64, O_WRONLY, 0, 0],
    ))
}

/// `read(fd, buf)`; bytes read.
pub fn read(fd: u64, buf: &mut [u8]) -> Result<usize, i64> {
    loop {
        match check(syscall(
            nr::READ,
            [fd, buf.as_mut_ptr() as u64, buf.len() as u64, 0, 0],
        )) {
            Err(e) if e == -EINTR => continue,
            other => return other.map(|n| n as usize),
        }
    }
}

/// Writes all of `data` to `fd`.
pub fn write_all(fd: u64, mut data: &[u8]) -> Result<(), i64> {
    while !data.is_empty() {
        match check(syscall(
            nr::WRITE,
            [fd, data.as_ptr() as u64, data.len() as u64, 0, 0],
        )) {
            Err(e) if e == -EINTR => continue,
            Err(e) => return Err(e),
            Ok(0) => return Err(0),
            Ok(n) => data = data.get(n as usize..).unwrap_or(&[]),
        }
    }
    Ok(())
}

/// `close(fd)`.
pub fn close(fd: u64) {
    let _ = syscall(nr::CLOSE, [fd, 0, 0, 0, 0]);
}

/// `mount(source, target, fstype, 0, NULL)`; all strings end with a NUL.
pub fn mount(source: &[u8], target: &[u8], fstype: &[u8]) -> Result<u64, i64> {
    check(syscall(
        nr::MOUNT,
        [
            source.as_ptr() as u64,
            target.as_ptr() as u64,
            fstype.as_ptr() as u64,
            0,
            0,
        ],
    ))
}

/// `reboot(LINUX_REBOOT_CMD_POWER_OFF)`; returns only if it failed.
pub fn power_off() {
    let _ = syscall(
        nr::REBOOT,
        [
            LINUX_REBOOT_MAGIC1,
            LINUX_REBOOT_MAGIC2,
            LINUX_REBOOT_CMD_POWER_OFF,
            0,
            0,
        ],
    );
}

/// `exit(status)`.
pub fn exit(status: u64) {
    let _ = syscall(nr::EXIT, [status, 0, 0, 0, 0]);
}

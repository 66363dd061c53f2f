//! Output and exit through Arm semihosting (`HLT #0xF000`).

use core::arch::asm;
use core::fmt;

const SYS_WRITE0: u64 = 0x04;
const SYS_EXIT: u64 = 0x18;
const ADP_STOPPED_APPLICATION_EXIT: u64 = 0x2_0026;

/// One semihosting call: operation `op`, parameter block / value `param`.
fn semihost(op: u64, param: u64) -> u64 {
    let ret: u64;
    // SAFETY: HLT #0xF000 is the AArch64 semihosting trap; QEMU (run with
    // `-semihosting-config enable=on`) handles it and returns in x0. The
    // calls used only read memory the caller passes (a NUL-terminated
    // string, a two-word exit block).
    unsafe {
        asm!("hlt #0xf000", inout("x0") op => ret, in("x1") param, options(nostack));
    }
    ret
}

/// The semihosting console, buffered per call.
pub struct Console;

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // SYS_WRITE0 prints up to a NUL: send chunks through a NUL-ended
        // buffer (a NUL inside `s` is printed as '?').
        let mut buf = [0u8; 65];
        for chunk in s.as_bytes().chunks(64) {
            for (dst, &src) in buf.iter_mut().zip(chunk) {
                *dst = if src == 0 { b'?' } else { src };
            }
            if let Some(end) = buf.get_mut(chunk.len()) {
                *end = 0;
            }
            semihost(SYS_WRITE0, buf.as_ptr() as u64);
        }
        Ok(())
    }
}

/// `print!` through the semihosting console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {{
        let _ = core::fmt::Write::write_fmt(&mut $crate::console::Console, format_args!($($arg)*));
    }};
}

/// `println!` through the semihosting console.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {{
        $crate::print!($($arg)*);
        $crate::print!("\n");
    }};
}

/// Ends the run: QEMU exits with `status`.
pub fn exit(status: u64) -> ! {
    let block = [ADP_STOPPED_APPLICATION_EXIT, status];
    semihost(SYS_EXIT, block.as_ptr() as u64);
    loop {
        // SAFETY: WFI only waits; reached only if semihosting did not exit.
        unsafe { asm!("wfi", options(nomem, nostack)) };
    }
}

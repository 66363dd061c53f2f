//! COM1 output (port 0x3F8), the shim's only way to report.

use crate::arch::outb;
use core::fmt;

const COM1: u16 = 0x3F8;

/// A `core::fmt::Write` sink for COM1.
pub struct Serial;

impl fmt::Write for Serial {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            outb(COM1, b);
        }
        Ok(())
    }
}

/// `println!` to COM1.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = writeln!($crate::serial::Serial, $($arg)*);
    }};
}

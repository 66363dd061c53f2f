//! A writer for the `newc` cpio format (the format of a Linux initramfs:
//! Documentation/driver-api/early-userspace/buffer-format.rst in the
//! kernel sources).
//!
//! Each entry is a 110-byte ASCII header (`070701` and thirteen 8-digit
//! hexadecimal fields), the NUL-terminated name padded to 4 bytes, then the
//! data padded to 4 bytes; the archive ends with the entry `TRAILER!!!`.
//!
//! ```
//! use paravisor_tests::cpio::Cpio;
//! let mut cpio = Cpio::new();
//! cpio.directory("proc");
//! cpio.file("init", 0o755, b"#!");
//! let bytes = cpio.finish();
//! assert!(bytes.starts_with(b"070701"));
//! assert_eq!(bytes.len() % 4, 0);
//! ```

/// File type bits of `st_mode`.
const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;
const S_IFCHR: u32 = 0o020_000;

/// An archive being written.
#[derive(Debug, Default)]
pub struct Cpio {
    bytes: Vec<u8>,
    next_inode: u32,
}

impl Cpio {
    /// An empty archive.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a directory (mode 0755).
    pub fn directory(&mut self, name: &str) {
        self.entry(name, S_IFDIR | 0o755, 2, (0, 0), &[]);
    }

    /// Adds a regular file with permission bits `mode`.
    pub fn file(&mut self, name: &str, mode: u32, data: &[u8]) {
        self.entry(name, S_IFREG | (mode & 0o7777), 1, (0, 0), data);
    }

    /// Adds a character device node `major:minor` (mode 0600).
    pub fn char_device(&mut self, name: &str, major: u32, minor: u32) {
        self.entry(name, S_IFCHR | 0o600, 1, (major, minor), &[]);
    }

    /// Appends the trailer and returns the archive.
    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, 1, (0, 0), &[]);
        self.bytes
    }

    fn entry(&mut self, name: &str, mode: u32, nlink: u32, rdev: (u32, u32), data: &[u8]) {
        let is_trailer = name == "TRAILER!!!";
        let inode = if is_trailer {
            0
        } else {
            self.next_inode += 1;
            self.next_inode
        };
        let name_size = name.len() + 1;
        let fields: [u32; 13] = [
            inode,
            mode,
            0, // uid
            0, // gid
            nlink,
            0, // mtime: fixed, so the archive is reproducible
            u32::try_from(data.len()).expect("a cpio newc file is smaller than 4 GiB"),
            0, // devmajor
            0, // devminor
            rdev.0,
            rdev.1,
            u32::try_from(name_size).expect("a short name"),
            0, // check (only used by the "crc" variant 070702)
        ];
        self.bytes.extend_from_slice(b"070701");
        for field in fields {
            self.bytes
                .extend_from_slice(format!("{field:08X}").as_bytes());
        }
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(0);
        self.pad();
        self.bytes.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.bytes.len().is_multiple_of(4) {
            self.bytes.push(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Header field `i` (0-based, after the magic) of the entry at `at`.
    fn field(bytes: &[u8], at: usize, i: usize) -> u32 {
        let start = at + 6 + 8 * i;
        u32::from_str_radix(std::str::from_utf8(&bytes[start..start + 8]).unwrap(), 16).unwrap()
    }

    #[test]
    fn layout_matches_the_newc_format() {
        let mut cpio = Cpio::new();
        cpio.file("init", 0o755, b"hello");
        cpio.char_device("dev/console", 5, 1);
        let bytes = cpio.finish();
        // Entry 1: header 110 bytes + "init\0" (5) = 115 -> padded to 116,
        // then 5 data bytes padded to 8.
        assert_eq!(&bytes[..6], b"070701");
        assert_eq!(field(&bytes, 0, 0), 1); // inode
        assert_eq!(field(&bytes, 0, 1), 0o100_755); // mode
        assert_eq!(field(&bytes, 0, 6), 5); // file size
        assert_eq!(field(&bytes, 0, 11), 5); // name size with NUL
        assert_eq!(&bytes[110..115], b"init\0");
        assert_eq!(&bytes[116..121], b"hello");
        // Entry 2 at 124: "dev/console\0" (12) -> 122, padded to 124.
        let second = 124;
        assert_eq!(&bytes[second..second + 6], b"070701");
        assert_eq!(field(&bytes, second, 1), 0o020_600);
        assert_eq!(field(&bytes, second, 9), 5); // rdevmajor
        assert_eq!(field(&bytes, second, 10), 1); // rdevminor
        assert_eq!(&bytes[second + 110..second + 122], b"dev/console\0");
        // Trailer at 248.
        let trailer = second + 124;
        assert_eq!(&bytes[trailer + 110..trailer + 121], b"TRAILER!!!\0");
        assert_eq!(bytes.len(), trailer + 124);
        assert_eq!(bytes.len() % 4, 0);
    }
}

//! The boot_linux tests' initramfs: `tests/linux-init` (a freestanding
//! static `/init`, built here for the guest architecture) in a `newc` cpio
//! archive with the mount points it uses and `/dev/console`.

use crate::cargo_build::build_release;
use crate::cargo_build::test_target_dir;
use crate::cpio::Cpio;
use crate::kernels::KernelArch;
use crate::workspace_root;

/// The line `/init` prints starts with this.
pub const INIT_MARKER: &str = "PARAVISOR-LINUX-INIT ";

/// The Rust target `/init` is built for.
pub fn init_target(arch: KernelArch) -> &'static str {
    match arch {
        KernelArch::X86_64 => "x86_64-unknown-linux-gnu",
        KernelArch::Aarch64 => "aarch64-unknown-none",
    }
}

/// Builds `/init` for `arch` (cargo, release) and returns the executable.
pub fn build_init(arch: KernelArch) -> Result<Vec<u8>, String> {
    build_release(
        "tests/linux-init",
        &workspace_root().join("tests").join("linux-init"),
        init_target(arch),
        &test_target_dir().join("linux-init"),
        "linux-init",
    )
}

/// The initramfs for `arch`: `/init`, `/proc`, `/sys`, `/dev/console`.
pub fn initramfs(arch: KernelArch) -> Result<Vec<u8>, String> {
    let init = build_init(arch)?;
    let mut cpio = Cpio::new();
    cpio.directory("dev");
    // /dev/console (5:1): the kernel opens it for init's standard streams.
    cpio.char_device("dev/console", 5, 1);
    cpio.directory("proc");
    cpio.directory("sys");
    cpio.file("init", 0o755, &init);
    Ok(cpio.finish())
}

/// What `/init` reported (its one line, parsed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitReport {
    /// `MemTotal` of /proc/meminfo, KiB.
    pub memtotal_kib: u64,
    /// Top-level `System RAM` ranges of /proc/iomem, `[start, end)`.
    pub system_ram: Vec<(u64, u64)>,
    /// Their total in bytes, as /init added it up.
    pub system_ram_bytes: u64,
    /// The initramfs size the kernel was given.
    pub initrd_bytes: u64,
    /// Where /init read it (`devicetree` or `boot_params`).
    pub initrd_from: String,
    /// /proc/cmdline without its newline.
    pub cmdline: String,
}

impl InitReport {
    /// Finds and parses /init's line in `console`; `None` when there is no
    /// line starting with [`INIT_MARKER`], `Some(Err)` when it is malformed.
    pub fn find(console: &str) -> Option<Result<Self, String>> {
        let line = console.lines().find_map(|l| {
            l.find(INIT_MARKER)
                .and_then(|at| l.get(at + INIT_MARKER.len()..))
        })?;
        Some(Self::parse(line.trim_end_matches('\r')))
    }

    fn parse(line: &str) -> Result<Self, String> {
        let bad = |what: &str| format!("{what} in /init's line `{line}`");
        let (fields, cmdline) = line
            .split_once(" cmdline=")
            .ok_or_else(|| bad("no cmdline="))?;
        let field = |name: &str| {
            fields
                .split(' ')
                .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
                .ok_or_else(|| bad(&format!("no {name}=")))
        };
        let number = |name: &str| -> Result<u64, String> {
            field(name)?
                .parse()
                .map_err(|_| bad(&format!("{name} not a number")))
        };
        let hex = |text: &str| u64::from_str_radix(text.trim_start_matches("0x"), 16);
        let system_ram = field("system_ram")?
            .split(',')
            .map(|r| {
                let (start, end) = r.split_once('-').ok_or_else(|| bad("system_ram range"))?;
                let (start, end) = (hex(start), hex(end));
                match (start, end) {
                    (Ok(s), Ok(e)) => Ok((s, e + 1)),
                    _ => Err(bad("system_ram range")),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            memtotal_kib: number("memtotal_kib")?,
            system_ram,
            system_ram_bytes: number("system_ram_bytes")?,
            initrd_bytes: number("initrd_bytes")?,
            initrd_from: field("initrd_from")?.to_owned(),
            cmdline: cmdline.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_line_parses() {
        let console = "[ 1.0] boot\r\nPARAVISOR-LINUX-INIT memtotal_kib=222620 system_ram=0x1000-0x9fbff,0x100000-0xffdffff system_ram_bytes=267906048 initrd_bytes=7288 initrd_from=boot_params cmdline=console=ttyS0 a=b c\r\n[ 4.0] reboot: Power down\n";
        let r = InitReport::find(console).unwrap().unwrap();
        assert_eq!(r.memtotal_kib, 222_620);
        assert_eq!(r.system_ram, [(0x1000, 0x9_fc00), (0x10_0000, 0xFFE_0000)]);
        assert_eq!(r.system_ram_bytes, 267_906_048);
        assert_eq!(r.initrd_bytes, 7288);
        assert_eq!(r.initrd_from, "boot_params");
        assert_eq!(r.cmdline, "console=ttyS0 a=b c");
        assert!(InitReport::find("nothing here").is_none());
        assert!(
            InitReport::find("PARAVISOR-LINUX-INIT memtotal_kib=x cmdline=")
                .unwrap()
                .is_err()
        );
    }
}

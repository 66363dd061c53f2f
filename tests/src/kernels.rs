//! Debian's packaged Linux kernels for the boot_linux tests: fetched with
//! `apt-get download`, pinned by version and SHA-256 in
//! `tests/linux/kernels.json`, cached between runs, and turned into what the
//! loader takes as the kernel:
//!
//! * x86-64: the ELF `vmlinux` inside the package's `vmlinuz` (a `bzImage`:
//!   its setup header names the compressed payload, which is LZ4 (Debian's
//!   choice, decoded here), xz, zstd or gzip (decoded with the `xz`, `zstd`
//!   and `gzip` tools);
//! * AArch64: the package's `vmlinuz`, a flat arm64 `Image` (gunzipped when
//!   it is compressed).
//!
//! The cache folder is `$PARAVISOR_CACHE/kernels`, by default
//! `$HOME/.cache/paravisor/kernels`. apt runs there with its own package
//! lists and archive cache (the system's sources, both architectures): the
//! system's apt state is neither needed nor changed.
//!
//! When the pinned version is no longer served, the newest package that the
//! series' meta-package (for example `linux-image-cloud-amd64`) depends on
//! is taken, and a loud notice with its version and SHA-256 goes to the
//! terminal (not captured by the test harness). When no kernel can be had,
//! [`kernel`] returns an error saying why: the tests fail, never skip.
//!
//! `PARAVISOR_LINUX_X64=PATH` / `PARAVISOR_LINUX_ARM64=PATH` boot another
//! kernel file instead (x86-64: a `vmlinux` ELF or a `bzImage`; AArch64: an
//! `Image`, optionally gzipped).

use crate::lz4;
use crate::workspace_root;
use sha2::Digest as _;
use sha2::Sha256;
use std::io::Write as _;
use std::path::Path;
use std::path::PathBuf;
use std::process::Command;
use std::process::Stdio;
use std::time::Duration;
use std::time::SystemTime;

/// The architectures with a pinned kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelArch {
    /// x86-64 (Debian `amd64`).
    X86_64,
    /// AArch64 (Debian `arm64`).
    Aarch64,
}

impl KernelArch {
    /// The key in `tests/linux/kernels.json`.
    pub fn key(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Aarch64 => "aarch64",
        }
    }

    /// The environment variable naming a kernel file to boot instead.
    pub fn override_env(self) -> &'static str {
        match self {
            Self::X86_64 => "PARAVISOR_LINUX_X64",
            Self::Aarch64 => "PARAVISOR_LINUX_ARM64",
        }
    }
}

/// A kernel ready for the loader.
#[derive(Clone, Debug)]
pub struct Kernel {
    /// The file (x86-64: `vmlinux` ELF; AArch64: flat `Image`).
    pub path: PathBuf,
    /// Where it came from, for messages (package, version, SHA-256 or the
    /// override path).
    pub description: String,
}

/// One architecture's pin in `tests/linux/kernels.json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pin {
    /// Debian architecture name (`amd64`, `arm64`).
    pub architecture: String,
    /// Binary package name.
    pub package: String,
    /// Package version.
    pub version: String,
    /// SHA-256 of the `.deb` (lower-case hex).
    pub sha256: String,
    /// The meta-package whose dependency is the newest kernel of the series.
    pub series: String,
}

/// The pin file.
pub fn pin_file() -> PathBuf {
    workspace_root().join("tests/linux/kernels.json")
}

/// Reads `arch`'s pin.
pub fn pin(arch: KernelArch) -> Result<Pin, String> {
    let path = pin_file();
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let entry = json
        .get(arch.key())
        .ok_or_else(|| format!("{}: no `{}` entry", path.display(), arch.key()))?;
    let field = |name: &str| {
        entry
            .get(name)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("{}: `{}.{name}` missing", path.display(), arch.key()))
    };
    Ok(Pin {
        architecture: field("architecture")?,
        package: field("package")?,
        version: field("version")?,
        sha256: field("sha256")?,
        series: field("series")?,
    })
}

/// The cache folder: `$PARAVISOR_CACHE/kernels`, by default
/// `$HOME/.cache/paravisor/kernels`.
pub fn cache_dir() -> PathBuf {
    let base = std::env::var_os("PARAVISOR_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/paravisor")))
        .unwrap_or_else(|| std::env::temp_dir().join("paravisor-cache"));
    base.join("kernels")
}

/// The kernel to boot for `arch`: the override file when its environment
/// variable is set, else the pinned Debian kernel (fetched and cached).
pub fn kernel(arch: KernelArch) -> Result<Kernel, String> {
    if let Some(path) = std::env::var_os(arch.override_env()) {
        return kernel_from_override(arch, Path::new(&path));
    }
    let _guard = lock();
    let pin = pin(arch)?;
    let dir = cache_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let pinned_deb = dir.join(deb_name(&pin.package, &pin.version, &pin.architecture));
    let (deb, package, version, sha256) = if sha256_of(&pinned_deb).as_deref() == Some(&pin.sha256)
    {
        (
            pinned_deb,
            pin.package.clone(),
            pin.version.clone(),
            pin.sha256.clone(),
        )
    } else {
        fetch(&pin, &dir)?
    };
    let out = dir.join(format!(
        "{package}_{version}_{}.{}",
        pin.architecture,
        match arch {
            KernelArch::X86_64 => "vmlinux",
            KernelArch::Aarch64 => "Image",
        }
    ));
    if !out.is_file() {
        let vmlinuz = extract_vmlinuz(&deb)?;
        let bytes = bootable(arch, &vmlinuz).map_err(|e| format!("{}: {e}", deb.display()))?;
        write_atomically(&out, &bytes)?;
    }
    Ok(Kernel {
        path: out,
        description: format!(
            "Debian {package} {version} ({}), .deb SHA-256 {sha256}",
            pin.architecture
        ),
    })
}

/// Serialises fetching between the tests of one process (each test may ask
/// for a kernel at the same time).
fn lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn kernel_from_override(arch: KernelArch, path: &Path) -> Result<Kernel, String> {
    let bytes = std::fs::read(path).map_err(|e| {
        format!(
            "{}={}: cannot read the kernel: {e}",
            arch.override_env(),
            path.display()
        )
    })?;
    let converted = bootable(arch, &bytes)
        .map_err(|e| format!("{}={}: {e}", arch.override_env(), path.display()))?;
    let description = format!(
        "{} from {}={}",
        arch.key(),
        arch.override_env(),
        path.display()
    );
    if converted == bytes {
        return Ok(Kernel {
            path: path.to_path_buf(),
            description,
        });
    }
    let dir = cache_dir().join("override");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let out = dir.join(format!("{}-{}", arch.key(), hex(&Sha256::digest(&bytes))));
    write_atomically(&out, &converted)?;
    Ok(Kernel {
        path: out,
        description,
    })
}

fn deb_name(package: &str, version: &str, architecture: &str) -> String {
    // apt's file name: the epoch's colon is written %3a.
    format!(
        "{package}_{}_{architecture}.deb",
        version.replace(':', "%3a")
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_of(path: &Path) -> Option<String> {
    std::fs::read(path).ok().map(|b| hex(&Sha256::digest(&b)))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Prints straight to the terminal's standard error (the test harness
/// captures `eprintln!`, not this).
fn loudly(message: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "\n{}\n*** {message}\n{}\n",
        "*".repeat(78),
        "*".repeat(78)
    );
}

/// apt with the cache folder's own lists and archives.
struct Apt {
    dir: PathBuf,
}

impl Apt {
    fn options(&self) -> Vec<String> {
        let d = self.dir.display();
        vec![
            format!("-oDir::State::Lists={d}/lists"),
            format!("-oDir::Cache={d}/cache"),
            "-oDir::State::Status=/dev/null".into(),
            "-oAPT::Architecture=amd64".into(),
            "-oAPT::Architectures::=amd64".into(),
            "-oAPT::Architectures::=arm64".into(),
            "-oDebug::NoLocking=1".into(),
            "-oAPT::Sandbox::User=root".into(),
            "-qq".into(),
        ]
    }

    fn run(&self, tool: &str, args: &[&str], cwd: &Path) -> Result<String, String> {
        let output = Command::new(tool)
            .args(self.options())
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                format!("cannot run {tool} (Debian's apt is needed to fetch kernels): {e}")
            })?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(format!(
                "`{tool} {}` failed ({}): {}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    }

    /// `apt-get update` into the private lists, at most once a day.
    fn update(&self, force: bool) -> Result<(), String> {
        let stamp = self.dir.join("updated");
        let fresh = std::fs::metadata(&stamp)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age < Duration::from_secs(24 * 3600));
        if fresh && !force {
            return Ok(());
        }
        for sub in ["lists/partial", "cache/archives/partial"] {
            let p = self.dir.join(sub);
            std::fs::create_dir_all(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        }
        self.run("apt-get", &["update"], &self.dir)?;
        std::fs::write(&stamp, b"").map_err(|e| format!("{}: {e}", stamp.display()))
    }
}

/// Downloads the pinned package, or the series' newest when the pinned one
/// is gone; returns (path, package, version, SHA-256).
fn fetch(pin: &Pin, dir: &Path) -> Result<(PathBuf, String, String, String), String> {
    let apt = Apt {
        dir: dir.join("apt"),
    };
    apt.update(false)?;
    let spec = format!("{}:{}={}", pin.package, pin.architecture, pin.version);
    let mut pinned = apt.run("apt-get", &["download", &spec], dir);
    if pinned.is_err() {
        // The lists may be a day old: refresh once and retry.
        apt.update(true)?;
        pinned = apt.run("apt-get", &["download", &spec], dir);
    }
    let pinned_path = dir.join(deb_name(&pin.package, &pin.version, &pin.architecture));
    match pinned {
        Ok(_) => {
            let got = sha256_of(&pinned_path)
                .ok_or_else(|| format!("{}: downloaded but unreadable", pinned_path.display()))?;
            if got != pin.sha256 {
                let _ = std::fs::remove_file(&pinned_path);
                return Err(format!(
                    "{spec}: SHA-256 {got} is not the pinned {} (tests/linux/kernels.json); refusing it",
                    pin.sha256
                ));
            }
            Ok((pinned_path, pin.package.clone(), pin.version.clone(), got))
        }
        Err(pinned_error) => {
            let (package, version) = newest_of_series(&apt, pin, dir).map_err(|e| {
                format!("cannot get the pinned kernel ({pinned_error}) nor the newest of series {}: {e}", pin.series)
            })?;
            let spec = format!("{package}:{}={version}", pin.architecture);
            apt.run("apt-get", &["download", &spec], dir)?;
            let path = dir.join(deb_name(&package, &version, &pin.architecture));
            let sha = sha256_of(&path)
                .ok_or_else(|| format!("{}: downloaded but unreadable", path.display()))?;
            loudly(&format!(
                "PINNED KERNEL {} {} ({}) IS NO LONGER SERVED ({pinned_error}).\n*** USING THE NEWEST OF SERIES {} INSTEAD: {package} {version}, .deb SHA-256 {sha}\n*** Update tests/linux/kernels.json to pin it.",
                pin.package, pin.version, pin.architecture, pin.series
            ));
            Ok((path, package, version, sha))
        }
    }
}

/// The package and version the series' meta-package (newest version)
/// depends on.
fn newest_of_series(apt: &Apt, pin: &Pin, dir: &Path) -> Result<(String, String), String> {
    let meta = format!("{}:{}", pin.series, pin.architecture);
    let policy = apt.run("apt-cache", &["policy", &meta], dir)?;
    let candidate =
        candidate(&policy).ok_or_else(|| format!("apt knows no candidate for {meta}"))?;
    let show = apt.run("apt-cache", &["show", &format!("{meta}={candidate}")], dir)?;
    first_exact_dependency(&show)
        .ok_or_else(|| format!("{meta} {candidate}: no `Depends: PACKAGE (= VERSION)` in\n{show}"))
}

/// The `Candidate:` version of `apt-cache policy` output.
fn candidate(policy: &str) -> Option<String> {
    policy
        .lines()
        .find_map(|l| l.trim().strip_prefix("Candidate: "))
        .filter(|v| *v != "(none)")
        .map(str::to_owned)
}

/// The first dependency of `apt-cache show` output, when it names an exact
/// version: `Depends: linux-image-6.1.0-58-cloud-amd64 (= 6.1.193-1)`.
fn first_exact_dependency(show: &str) -> Option<(String, String)> {
    let depends = show.lines().find_map(|l| l.strip_prefix("Depends: "))?;
    let first = depends.split(',').next()?.trim();
    let (package, rest) = first.split_once(" (= ")?;
    let version = rest.strip_suffix(')')?;
    Some((package.to_owned(), version.to_owned()))
}

/// The package's `./boot/vmlinuz-*`.
fn extract_vmlinuz(deb: &Path) -> Result<Vec<u8>, String> {
    let command = format!(
        "dpkg-deb --fsys-tarfile '{}' | tar -xO --wildcards './boot/vmlinuz-*'",
        deb.display()
    );
    let output = Command::new("sh")
        .args(["-c", &command])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run sh: {e}"))?;
    if !output.status.success() || output.stdout.is_empty() {
        return Err(format!(
            "{}: no ./boot/vmlinuz-* extracted ({}): {}",
            deb.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(output.stdout)
}

const GZIP_MAGIC: [u8; 2] = [0x1F, 0x8B];
const XZ_MAGIC: [u8; 6] = [0xFD, b'7', b'z', b'X', b'Z', 0];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];
const ELF_MAGIC: [u8; 4] = [0x7F, b'E', b'L', b'F'];
/// The arm64 `Image` header's magic "ARM\x64" at byte 56.
const ARM64_MAGIC_OFFSET: usize = 56;

/// What the loader takes for `arch`, from a kernel file as packaged.
pub fn bootable(arch: KernelArch, file: &[u8]) -> Result<Vec<u8>, String> {
    match arch {
        KernelArch::X86_64 if file.starts_with(&ELF_MAGIC) => Ok(file.to_vec()),
        KernelArch::X86_64 => {
            let vmlinux = decompress(bzimage_payload(file)?)?;
            if vmlinux.starts_with(&ELF_MAGIC) {
                Ok(vmlinux)
            } else {
                Err("the bzImage payload does not decompress to an ELF vmlinux".into())
            }
        }
        KernelArch::Aarch64 => {
            let image = if file.starts_with(&GZIP_MAGIC) {
                decompress(file)?
            } else {
                file.to_vec()
            };
            if image.get(ARM64_MAGIC_OFFSET..ARM64_MAGIC_OFFSET + 4) == Some(b"ARM\x64") {
                Ok(image)
            } else {
                Err("not an arm64 Image (no \"ARM\\x64\" magic at byte 56)".into())
            }
        }
    }
}

/// The compressed kernel inside a `bzImage` (Documentation/arch/x86/boot.rst:
/// `setup_sects` at 0x1F1, "HdrS" at 0x202, protocol ≥ 2.08 for
/// `payload_offset` / `payload_length` at 0x248 / 0x24C, counted from the
/// protected-mode code at `(setup_sects + 1) * 512`).
pub fn bzimage_payload(file: &[u8]) -> Result<&[u8], String> {
    let u16_at = |o: usize| file.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |o: usize| {
        file.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    if file.get(0x202..0x206) != Some(b"HdrS") {
        return Err("neither an ELF vmlinux nor a bzImage (no \"HdrS\" at 0x202)".into());
    }
    let version = u16_at(0x206).unwrap_or(0);
    if version < 0x208 {
        return Err(format!(
            "bzImage boot protocol {version:#x} has no payload fields (2.08 needed)"
        ));
    }
    let setup_sects = match file.get(0x1F1) {
        Some(0) | None => 4,
        Some(&n) => usize::from(n),
    };
    let (Some(offset), Some(length)) = (u32_at(0x248), u32_at(0x24C)) else {
        return Err("bzImage truncated in its setup header".into());
    };
    let start = (setup_sects + 1) * 512 + offset;
    file.get(start..start + length)
        .ok_or_else(|| format!("bzImage payload [{start:#x}, +{length:#x}) is outside the file"))
}

/// Decompresses by magic: LZ4 legacy here, the others with their tools.
fn decompress(data: &[u8]) -> Result<Vec<u8>, String> {
    if data.starts_with(&lz4::LEGACY_MAGIC) {
        return lz4::decompress_legacy(data).map_err(|e| e.to_string());
    }
    let (tool, args): (&str, &[&str]) = if data.starts_with(&XZ_MAGIC) {
        ("xz", &["-dc", "--single-stream"])
    } else if data.starts_with(&ZSTD_MAGIC) {
        ("zstd", &["-dcq"])
    } else if data.starts_with(&GZIP_MAGIC) {
        ("gzip", &["-dc"])
    } else {
        return Err(format!(
            "unknown compression (first bytes {})",
            hex(data.get(..8).unwrap_or(data))
        ));
    };
    let mut child = Command::new(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {tool} (Debian package {tool}): {e}"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let input = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child
        .wait_with_output()
        .map_err(|e| format!("{tool}: {e}"))?;
    let _ = writer.join();
    // The kernel build appends the decompressed size after the stream: the
    // tools may complain about that trailing data, which is fine as long as
    // they produced output.
    if output.stdout.is_empty() {
        return Err(format!(
            "{tool} produced nothing ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(output.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_complete() {
        for arch in [KernelArch::X86_64, KernelArch::Aarch64] {
            let pin = pin(arch).unwrap();
            assert_eq!(pin.sha256.len(), 64, "{pin:?}");
            assert!(pin.sha256.bytes().all(|b| b.is_ascii_hexdigit()), "{pin:?}");
            assert!(pin.package.starts_with("linux-image-"), "{pin:?}");
        }
    }

    #[test]
    fn bzimage_payload_is_found_from_the_setup_header() {
        let mut f = vec![0u8; 0x1000];
        f[0x1F1] = 3; // setup_sects: protected-mode code at 0x800
        f[0x202..0x206].copy_from_slice(b"HdrS");
        f[0x206..0x208].copy_from_slice(&0x20Fu16.to_le_bytes());
        f[0x248..0x24C].copy_from_slice(&0x10u32.to_le_bytes());
        f[0x24C..0x250].copy_from_slice(&5u32.to_le_bytes());
        f[0x810..0x815].copy_from_slice(b"hello");
        assert_eq!(bzimage_payload(&f).unwrap(), b"hello");
        f[0x24C..0x250].copy_from_slice(&0x1000u32.to_le_bytes());
        assert!(
            bzimage_payload(&f)
                .unwrap_err()
                .contains("outside the file")
        );
        f[0x202] = b'X';
        assert!(
            bootable(KernelArch::X86_64, &f)
                .unwrap_err()
                .contains("HdrS")
        );
    }

    #[test]
    fn the_series_newest_package_is_read_from_apt_output() {
        let policy = "linux-image-cloud-amd64:\n  Installed: (none)\n  Candidate: 6.1.193-1\n  Version table:\n";
        assert_eq!(candidate(policy).as_deref(), Some("6.1.193-1"));
        assert_eq!(candidate("x:\n  Candidate: (none)\n"), None);
        let show = "Package: linux-image-cloud-amd64\nVersion: 6.1.193-1\nDepends: linux-image-6.1.0-58-cloud-amd64 (= 6.1.193-1), other\n";
        assert_eq!(
            first_exact_dependency(show),
            Some((
                "linux-image-6.1.0-58-cloud-amd64".into(),
                "6.1.193-1".into()
            ))
        );
        assert_eq!(first_exact_dependency("Depends: a (>= 1)\n"), None);
        assert_eq!(first_exact_dependency("Version: 1\n"), None);
    }

    #[test]
    fn arm64_images_need_their_magic() {
        let image = crate::arm64_image(0, 0x1000, &[0; 16]);
        assert_eq!(bootable(KernelArch::Aarch64, &image).unwrap(), image);
        assert!(bootable(KernelArch::Aarch64, &[0; 64]).is_err());
    }
}

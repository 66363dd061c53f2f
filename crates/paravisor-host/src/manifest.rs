//! The load manifest `paravisor-load-manifest/1` (docs/formats.md §1), and
//! running one into an [`ImageSummary`].
//!
//! Numbers are read as exact `u64`s (never through `f64`); relative paths
//! are resolved against the manifest's folder. A manifest the loader cannot
//! express (unknown `format`, a sidecar on AArch64, …) is a
//! [`ManifestError`] naming the file: a usage error, not a failed load.

use crate::load::Arch;
use crate::load::load_openhcl;
use crate::summary::ImageSummary;
use crate::summary::SummaryImporter;
use paravisor_loader::CommandLine;
use paravisor_loader::IsolationConfig;
use paravisor_loader::IsolationType;
use paravisor_loader::LoadInputs;
use paravisor_loader::PAGE_SIZE;
use paravisor_loader::Vtl0Config;
use paravisor_loader::Vtl0Linux;
use paravisor_loader::Vtl0Region;
use paravisor_loader::Vtl0Uefi;
use serde_json::Map;
use serde_json::Value;
use std::path::Path;
use std::path::PathBuf;

/// The `format` string of a load manifest.
pub const MANIFEST_FORMAT: &str = "paravisor-load-manifest/1";

/// A manifest that cannot be read or expressed, with the file it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct ManifestError {
    /// The manifest (or input file) concerned.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
}

/// The paravisor command line of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestCommandLine {
    /// `true` for `host_appendable`, `false` for `static`.
    pub host_appendable: bool,
    /// The text.
    pub value: String,
}

/// VTL0 UEFI entry of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestUefi {
    /// Firmware base GPA.
    pub firmware_base: u64,
    /// Firmware total size.
    pub total_size: u64,
    /// VP-context blob file.
    pub vp_context: PathBuf,
}

/// VTL0 Linux entry of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestLinux {
    /// The VTL0 command line (no NUL).
    pub command_line: String,
    /// Kernel region.
    pub kernel: Vtl0Region,
    /// Kernel entry point.
    pub kernel_entrypoint: u64,
    /// Initrd region.
    pub initrd: Option<Vtl0Region>,
}

/// A parsed load manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadManifest {
    /// The manifest file.
    pub path: PathBuf,
    /// Target architecture.
    pub arch: Arch,
    /// The ABI profile (`"abi"`; absent or null = the seed,
    /// docs/abi-versions.md §1).
    pub abi: paravisor_layout::Abi,
    /// Isolation configuration.
    pub isolation: IsolationConfig,
    /// Kernel file (resolved).
    pub kernel: PathBuf,
    /// Shim file (resolved).
    pub shim: PathBuf,
    /// Sidecar file (x86-64 only).
    pub sidecar: Option<PathBuf>,
    /// Initrd file.
    pub initrd: Option<PathBuf>,
    /// Paravisor command line.
    pub command_line: ManifestCommandLine,
    /// First VTL2 page, if fixed.
    pub memory_page_base: Option<u64>,
    /// VTL2 pages.
    pub memory_page_count: u64,
    /// PCAT support.
    pub pcat: bool,
    /// UEFI.
    pub uefi: Option<ManifestUefi>,
    /// Linux direct.
    pub linux: Option<ManifestLinux>,
}

/// The bytes of a manifest's input files (memory-mapped or read by the
/// caller).
#[derive(Debug, Clone, Copy)]
pub struct ManifestFiles<'a> {
    /// Kernel.
    pub kernel: &'a [u8],
    /// Shim.
    pub shim: &'a [u8],
    /// Sidecar.
    pub sidecar: Option<&'a [u8]>,
    /// Initrd.
    pub initrd: Option<&'a [u8]>,
    /// UEFI VP context.
    pub vp_context: Option<&'a [u8]>,
}

struct Ctx<'p> {
    path: &'p Path,
}

impl Ctx<'_> {
    fn err(&self, message: impl Into<String>) -> ManifestError {
        ManifestError {
            path: self.path.to_path_buf(),
            message: message.into(),
        }
    }

    fn obj<'v>(&self, v: &'v Value, what: &str) -> Result<&'v Map<String, Value>, ManifestError> {
        v.as_object()
            .ok_or_else(|| self.err(format!("{what} must be an object")))
    }

    fn field<'v>(
        &self,
        o: &'v Map<String, Value>,
        key: &str,
        what: &str,
    ) -> Result<&'v Value, ManifestError> {
        o.get(key)
            .ok_or_else(|| self.err(format!("{what}: missing key \"{key}\"")))
    }

    fn u64(&self, o: &Map<String, Value>, key: &str, what: &str) -> Result<u64, ManifestError> {
        let v = self.field(o, key, what)?;
        v.as_u64().ok_or_else(|| {
            self.err(format!(
                "{what}.{key} must be an unsigned 64-bit integer, found {v}"
            ))
        })
    }

    fn opt_u64(
        &self,
        o: &Map<String, Value>,
        key: &str,
        what: &str,
    ) -> Result<Option<u64>, ManifestError> {
        match o.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.u64(o, key, what).map(Some),
        }
    }

    fn str<'v>(
        &self,
        o: &'v Map<String, Value>,
        key: &str,
        what: &str,
    ) -> Result<&'v str, ManifestError> {
        let v = self.field(o, key, what)?;
        v.as_str()
            .ok_or_else(|| self.err(format!("{what}.{key} must be a string, found {v}")))
    }

    fn bool(&self, o: &Map<String, Value>, key: &str, what: &str) -> Result<bool, ManifestError> {
        let v = self.field(o, key, what)?;
        v.as_bool()
            .ok_or_else(|| self.err(format!("{what}.{key} must be true or false, found {v}")))
    }

    fn opt_path(
        &self,
        o: &Map<String, Value>,
        key: &str,
        base: &Path,
    ) -> Result<Option<PathBuf>, ManifestError> {
        match o.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(base.join(s))),
            Some(v) => Err(self.err(format!("{key} must be a file name or null, found {v}"))),
        }
    }
}

impl LoadManifest {
    /// Reads and parses the manifest at `path`.
    pub fn read(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|e| ManifestError {
            path: path.to_path_buf(),
            message: format!("cannot read: {e}"),
        })?;
        Self::parse(path, &text)
    }

    /// Parses manifest `text`; `path` names the file in errors and is the
    /// base for relative paths.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ManifestError> {
        let cx = Ctx { path };
        let root: Value =
            serde_json::from_str(text).map_err(|e| cx.err(format!("not valid JSON: {e}")))?;
        let o = cx.obj(&root, "the manifest")?;
        let format = cx.str(o, "format", "manifest")?;
        if format != MANIFEST_FORMAT {
            return Err(cx.err(format!(
                "unknown format \"{format}\" (expected \"{MANIFEST_FORMAT}\")"
            )));
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let arch = match cx.str(o, "arch", "manifest")? {
            "x86_64" => Arch::X86_64,
            "aarch64" => Arch::Aarch64,
            other => {
                return Err(cx.err(format!(
                    "unknown arch \"{other}\" (expected \"x86_64\" or \"aarch64\")"
                )));
            }
        };
        let abi = match o.get("abi") {
            None | Some(Value::Null) => paravisor_layout::Abi::default(),
            Some(_) => {
                let name = cx.str(o, "abi", "manifest")?;
                name.parse()
                    .map_err(|e| cx.err(format!("abi \"{name}\": {e}")))?
            }
        };

        let iso = cx.obj(cx.field(o, "isolation", "manifest")?, "isolation")?;
        let isolation_type = match cx.str(iso, "type", "isolation")? {
            "none" => IsolationType::None,
            "vbs" => IsolationType::Vbs,
            "snp" => IsolationType::Snp,
            "tdx" => IsolationType::Tdx,
            other => {
                return Err(cx.err(format!(
                    "unknown isolation type \"{other}\" (expected none, vbs, snp or tdx)"
                )));
            }
        };
        let paravisor_present = cx.bool(iso, "paravisor_present", "isolation")?;
        let shared_gpa_boundary_bits =
            match cx.opt_u64(iso, "shared_gpa_boundary_bits", "isolation")? {
                None => None,
                Some(b) if b <= 63 => Some(b as u8),
                Some(b) => {
                    return Err(cx.err(format!(
                        "isolation.shared_gpa_boundary_bits must be 0..=63, found {b}"
                    )));
                }
            };

        let kernel = base.join(cx.str(o, "kernel", "manifest")?);
        let shim = base.join(cx.str(o, "shim", "manifest")?);
        let sidecar = cx.opt_path(o, "sidecar", base)?;
        if sidecar.is_some() && arch == Arch::Aarch64 {
            return Err(cx.err("a sidecar is only supported on x86_64"));
        }
        let initrd = cx.opt_path(o, "initrd", base)?;

        let cl = cx.obj(cx.field(o, "command_line", "manifest")?, "command_line")?;
        let host_appendable = match cx.str(cl, "type", "command_line")? {
            "static" => false,
            "host_appendable" => true,
            other => {
                return Err(cx.err(format!(
                    "unknown command_line.type \"{other}\" (expected static or host_appendable)"
                )));
            }
        };
        let command_line = ManifestCommandLine {
            host_appendable,
            value: cx.str(cl, "value", "command_line")?.to_string(),
        };

        let memory_page_base = cx.opt_u64(o, "memory_page_base", "manifest")?;
        let memory_page_count = cx.u64(o, "memory_page_count", "manifest")?;

        let vtl0 = cx.obj(cx.field(o, "vtl0", "manifest")?, "vtl0")?;
        let pcat = cx.bool(vtl0, "pcat", "vtl0")?;
        let uefi = match vtl0.get("uefi") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let u = cx.obj(v, "vtl0.uefi")?;
                Some(ManifestUefi {
                    firmware_base: cx.u64(u, "firmware_base", "vtl0.uefi")?,
                    total_size: cx.u64(u, "total_size", "vtl0.uefi")?,
                    vp_context: base.join(cx.str(u, "vp_context", "vtl0.uefi")?),
                })
            }
        };
        let linux = match vtl0.get("linux") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let l = cx.obj(v, "vtl0.linux")?;
                let k = cx.obj(cx.field(l, "kernel", "vtl0.linux")?, "vtl0.linux.kernel")?;
                let initrd = match l.get("initrd") {
                    None | Some(Value::Null) => None,
                    Some(v) => {
                        let i = cx.obj(v, "vtl0.linux.initrd")?;
                        Some(Vtl0Region {
                            gpa: cx.u64(i, "gpa", "vtl0.linux.initrd")?,
                            size: cx.u64(i, "size", "vtl0.linux.initrd")?,
                        })
                    }
                };
                Some(ManifestLinux {
                    command_line: cx.str(l, "command_line", "vtl0.linux")?.to_string(),
                    kernel: Vtl0Region {
                        gpa: cx.u64(k, "gpa", "vtl0.linux.kernel")?,
                        size: cx.u64(k, "size", "vtl0.linux.kernel")?,
                    },
                    kernel_entrypoint: cx.u64(k, "entrypoint", "vtl0.linux.kernel")?,
                    initrd,
                })
            }
        };

        Ok(Self {
            path: path.to_path_buf(),
            arch,
            abi,
            isolation: IsolationConfig {
                isolation_type,
                paravisor_present,
                shared_gpa_boundary_bits,
            },
            kernel,
            shim,
            sidecar,
            initrd,
            command_line,
            memory_page_base,
            memory_page_count,
            pcat,
            uefi,
            linux,
        })
    }

    /// Checks that the VTL2 memory range the manifest describes fits in the
    /// 64-bit address space: `memory_page_base × 4096` (128 MiB when the
    /// base is null), `memory_page_count × 4096` and their sum (the end,
    /// exclusive) must all be at most 2^64 - 1.
    ///
    /// A range that does not fit is a problem of the manifest, not of the
    /// load: the returned [`ManifestError`] names the manifest and the
    /// fields. [`LoadManifest::read`] does not call this, so
    /// [`LoadManifest::summarize`] still yields the `ok: false` summary the
    /// loader's refusal gives (docs/formats.md §3 rule 3): tools that compare
    /// summaries see a failed load, and the `paravisor` CLI reports the
    /// manifest error with exit status 1 while still writing that summary.
    pub fn check_vtl2_range(&self) -> Result<(), ManifestError> {
        let count = self.memory_page_count;
        let overflows = "overflows the 64-bit address space";
        let (start, base_text) = match self.memory_page_base {
            Some(base) => {
                let start = base.checked_mul(PAGE_SIZE).ok_or_else(|| ManifestError {
                    path: self.path.clone(),
                    message: format!("memory_page_base {base:#x} × 4096 {overflows}"),
                })?;
                (start, format!("memory_page_base {base:#x}"))
            }
            None => {
                let start = paravisor_layout::PARAVISOR_DEFAULT_MEMORY_BASE_ADDRESS;
                (start, format!("the default VTL2 base {start:#x}"))
            }
        };
        let size = count.checked_mul(PAGE_SIZE).ok_or_else(|| ManifestError {
            path: self.path.clone(),
            message: format!("memory_page_count {count:#x} × 4096 {overflows}"),
        })?;
        match start.checked_add(size) {
            Some(_) => Ok(()),
            None => Err(ManifestError {
                path: self.path.clone(),
                message: format!("{base_text} + memory_page_count {count:#x} pages {overflows}"),
            }),
        }
    }

    /// Every input file the manifest names, with its role (for error
    /// messages and for tools that map them).
    pub fn input_files(&self) -> Vec<(&'static str, &Path)> {
        let mut v: Vec<(&'static str, &Path)> = Vec::new();
        v.push(("kernel", &self.kernel));
        v.push(("shim", &self.shim));
        if let Some(p) = &self.sidecar {
            v.push(("sidecar", p));
        }
        if let Some(p) = &self.initrd {
            v.push(("initrd", p));
        }
        if let Some(u) = &self.uefi {
            v.push(("vtl0.uefi.vp_context", &u.vp_context));
        }
        v
    }

    /// The loader inputs for this manifest over the given file bytes.
    pub fn inputs<'a>(&'a self, files: &ManifestFiles<'a>) -> LoadInputs<'a> {
        let command_line = if self.command_line.host_appendable {
            CommandLine::HostAppendable(&self.command_line.value)
        } else {
            CommandLine::Static(&self.command_line.value)
        };
        LoadInputs {
            abi: self.abi,
            kernel: files.kernel,
            shim: files.shim,
            sidecar: files.sidecar,
            initrd: files.initrd,
            command_line,
            memory_page_base: self.memory_page_base,
            memory_page_count: self.memory_page_count,
            vtl0: Vtl0Config {
                pcat: self.pcat,
                uefi: self.uefi.as_ref().map(|u| Vtl0Uefi {
                    firmware_base: u.firmware_base,
                    total_size: u.total_size,
                    vp_context: files.vp_context.unwrap_or(&[]),
                }),
                linux: self.linux.as_ref().map(|l| Vtl0Linux {
                    command_line: l.command_line.as_bytes(),
                    kernel: l.kernel,
                    kernel_entrypoint: l.kernel_entrypoint,
                    initrd: l.initrd,
                }),
            },
        }
    }

    /// Runs the loader for this manifest into a [`SummaryImporter`] and
    /// returns the summary (`ok: false` with the error text when the load
    /// fails).
    ///
    /// The importer hashes pages as they arrive
    /// ([`SummaryImporter::streaming`]), so memory use does not grow with
    /// the image; in the rare order it cannot hash that way, the load is
    /// run again into a copying [`SummaryImporter::new`].
    pub fn summarize(&self, files: &ManifestFiles<'_>) -> ImageSummary {
        let inputs = self.inputs(files);
        let load = |importer: &mut SummaryImporter| load_openhcl(self.arch, importer, &inputs);
        let mut importer = SummaryImporter::streaming(self.arch, self.isolation);
        let mut result = load(&mut importer);
        if result.is_ok() && importer.needs_replay() {
            importer = SummaryImporter::new(self.arch, self.isolation);
            result = load(&mut importer);
        }
        importer.finish(result)
    }
}

/// Reads every input file of `manifest` into memory (tests and simple
/// tools; the CLI memory-maps them instead).
pub fn read_files(manifest: &LoadManifest) -> Result<OwnedFiles, ManifestError> {
    let read = |p: &Path, role: &str| {
        std::fs::read(p).map_err(|e| ManifestError {
            path: p.to_path_buf(),
            message: format!(
                "cannot read the {role} named by {}: {e}",
                manifest.path.display()
            ),
        })
    };
    Ok(OwnedFiles {
        kernel: read(&manifest.kernel, "kernel")?,
        shim: read(&manifest.shim, "shim")?,
        sidecar: manifest
            .sidecar
            .as_deref()
            .map(|p| read(p, "sidecar"))
            .transpose()?,
        initrd: manifest
            .initrd
            .as_deref()
            .map(|p| read(p, "initrd"))
            .transpose()?,
        vp_context: manifest
            .uefi
            .as_ref()
            .map(|u| read(&u.vp_context, "UEFI VP context"))
            .transpose()?,
    })
}

/// Input files read into memory by [`read_files`].
#[derive(Debug, Clone, Default)]
pub struct OwnedFiles {
    /// Kernel bytes.
    pub kernel: Vec<u8>,
    /// Shim bytes.
    pub shim: Vec<u8>,
    /// Sidecar bytes.
    pub sidecar: Option<Vec<u8>>,
    /// Initrd bytes.
    pub initrd: Option<Vec<u8>>,
    /// UEFI VP context bytes.
    pub vp_context: Option<Vec<u8>>,
}

impl OwnedFiles {
    /// Borrowed view for [`LoadManifest::summarize`].
    pub fn as_files(&self) -> ManifestFiles<'_> {
        ManifestFiles {
            kernel: &self.kernel,
            shim: &self.shim,
            sidecar: self.sidecar.as_deref(),
            initrd: self.initrd.as_deref(),
            vp_context: self.vp_context.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{
      "format": "paravisor-load-manifest/1",
      "arch": "x86_64",
      "isolation": { "type": "snp", "paravisor_present": true, "shared_gpa_boundary_bits": 46 },
      "kernel": "k.elf", "shim": "../s.elf", "sidecar": null, "initrd": "i.bin",
      "command_line": { "type": "host_appendable", "value": "console=ttyS0" },
      "memory_page_base": 18446744073709551615,
      "memory_page_count": 16384,
      "vtl0": { "pcat": true,
                "uefi": { "firmware_base": 0, "total_size": 8585216, "vp_context": "vp.bin" },
                "linux": { "command_line": "root=/dev/sda",
                           "kernel": { "gpa": 2097152, "size": 4660, "entrypoint": 2097408 },
                           "initrd": null } }
    }"#;

    fn parse(text: &str) -> Result<LoadManifest, ManifestError> {
        LoadManifest::parse(Path::new("/m/case.json"), text)
    }

    #[test]
    fn parses_every_field_with_exact_u64_numbers() {
        let m = parse(GOOD).unwrap();
        assert_eq!(m.arch, Arch::X86_64);
        assert_eq!(m.isolation.isolation_type, IsolationType::Snp);
        assert_eq!(m.isolation.shared_gpa_boundary_bits, Some(46));
        // 2^64 - 1 survives exactly (no f64 rounding).
        assert_eq!(m.memory_page_base, Some(u64::MAX));
        assert_eq!(m.kernel, Path::new("/m/k.elf"));
        assert_eq!(m.shim, Path::new("/m/../s.elf"));
        assert!(m.command_line.host_appendable);
        let linux = m.linux.unwrap();
        assert_eq!(linux.kernel_entrypoint, 0x20_0100);
        assert_eq!(m.uefi.unwrap().total_size, 0x83_0000);
    }

    #[test]
    fn abi_is_optional_and_names_a_profile() {
        use paravisor_layout::Abi;
        assert_eq!(parse(GOOD).unwrap().abi, Abi::Seed95f63b08);
        let with = |value: &str| GOOD.replace("\"arch\"", &format!("\"abi\": {value}, \"arch\""));
        assert_eq!(parse(&with("null")).unwrap().abi, Abi::Seed95f63b08);
        for abi in Abi::ALL {
            let m = parse(&with(&format!("\"{}\"", abi.name()))).unwrap();
            assert_eq!(m.abi, abi);
        }
        let e = parse(&with("\"release-1.9\"")).unwrap_err();
        assert!(e.to_string().contains("release-1.9"), "{e}");
        assert!(parse(&with("3")).is_err());
    }

    #[test]
    fn usage_errors_name_the_file_and_the_problem() {
        let e = parse(&GOOD.replace("load-manifest/1", "load-manifest/2")).unwrap_err();
        assert_eq!(e.path, Path::new("/m/case.json"));
        assert!(e.to_string().contains("unknown format"), "{e}");
        // A float is not a u64.
        let e = parse(&GOOD.replace("16384", "16384.5")).unwrap_err();
        assert!(e.to_string().contains("memory_page_count"), "{e}");
        let e = parse(&GOOD.replace("16384", "-1")).unwrap_err();
        assert!(e.to_string().contains("memory_page_count"), "{e}");
        let e = parse(&GOOD.replace("\"x86_64\"", "\"riscv\"")).unwrap_err();
        assert!(e.to_string().contains("riscv"), "{e}");
        let e = parse(&GOOD.replace(": 46 }", ": 64 }")).unwrap_err();
        assert!(e.to_string().contains("shared_gpa_boundary_bits"), "{e}");
        let arm = GOOD
            .replace("\"x86_64\"", "\"aarch64\"")
            .replace("\"sidecar\": null", "\"sidecar\": \"c.elf\"");
        let e = parse(&arm).unwrap_err();
        assert!(e.to_string().contains("sidecar"), "{e}");
        let e = parse("{").unwrap_err();
        assert!(e.to_string().contains("not valid JSON"), "{e}");
    }

    fn with_range(base: Option<u64>, count: u64) -> LoadManifest {
        let mut m = parse(GOOD).unwrap();
        m.memory_page_base = base;
        m.memory_page_count = count;
        m
    }

    #[test]
    fn vtl2_ranges_up_to_the_last_byte_pass_the_range_check() {
        // Parsing alone never checks the range (GOOD's base is 2^64 - 1).
        assert_eq!(parse(GOOD).unwrap().memory_page_base, Some(u64::MAX));
        // 2^52 - 512 pages (0xFFFF_FFFF_FFE0_0000) + 511 pages ends at
        // 2^64 - 4096: representable.
        assert!(
            with_range(Some((1 << 52) - 512), 511)
                .check_vtl2_range()
                .is_ok()
        );
        assert!(with_range(None, 16384).check_vtl2_range().is_ok());
        assert!(with_range(Some(0), 0).check_vtl2_range().is_ok());
    }

    #[test]
    fn unrepresentable_vtl2_ranges_are_manifest_errors_naming_the_fields() {
        // base + size: 0xFFFF_FFFF_FFE0_0000 + 1024 pages passes 2^64.
        let e = with_range(Some((1 << 52) - 512), 1024)
            .check_vtl2_range()
            .unwrap_err();
        assert_eq!(e.path, Path::new("/m/case.json"));
        assert_eq!(
            e.to_string(),
            "/m/case.json: memory_page_base 0xffffffffffe00 + memory_page_count 0x400 \
             pages overflows the 64-bit address space"
        );
        // base × 4096 alone.
        let e = with_range(Some(u64::MAX), 16384)
            .check_vtl2_range()
            .unwrap_err();
        assert!(
            e.message
                .starts_with("memory_page_base 0xffffffffffffffff × 4096"),
            "{e}"
        );
        // count × 4096 alone (2^52 pages).
        let e = with_range(Some(0), 1 << 52).check_vtl2_range().unwrap_err();
        assert!(
            e.message
                .starts_with("memory_page_count 0x10000000000000 × 4096"),
            "{e}"
        );
        // The default base (128 MiB = 0x8000000) + 2^52 - 1 pages.
        let e = with_range(None, (1 << 52) - 1)
            .check_vtl2_range()
            .unwrap_err();
        assert!(
            e.message
                .starts_with("the default VTL2 base 0x8000000 + memory_page_count"),
            "{e}"
        );
    }
}

//! The two sides of a diff: an IGVM file, or a load manifest or IGVM build
//! config built into an IGVM image in memory (with the loader's region tags,
//! which a file does not record).

use crate::adapter::build_guest;
use crate::adapter::build_guests;
use crate::build::merge;
use crate::config::CONFIG_FORMAT;
use crate::config::GuestConfig;
use crate::config::IgvmConfig;
use crate::error::IgvmError;
use crate::guest::GuestArch;
use crate::guest::GuestIsolation;
use crate::guest::GuestOutput;
use crate::guest::GuestSettings;
use crate::guest::InjectionType;
use igvm::IgvmFile;
use igvm::IgvmPlatformHeader;
use paravisor_host::Arch;
use paravisor_host::manifest::LoadManifest;
use paravisor_loader::IsolationType;
use std::path::Path;

/// The SNP guest policy a load manifest is built with (the golden build
/// configs' 0x3001F: SMT allowed, reserved bit 17, ABI 0.31).
pub const MANIFEST_SNP_POLICY: u64 = 0x3001F;

/// The format string of a load manifest.
const MANIFEST_FORMAT: &str = "paravisor-load-manifest/1";

/// One side of a diff: a parsed IGVM image.
#[derive(Debug)]
pub struct Image {
    /// The parsed file.
    pub(crate) file: IgvmFile,
    /// `x64` or `aarch64`.
    pub(crate) arch: &'static str,
    /// Tagged page ranges (mask, first page, end page, tag) in address
    /// order per mask; empty for an IGVM file.
    pub(crate) tags: Vec<(u32, u64, u64, String)>,
    /// What the image was made from.
    pub(crate) source: &'static str,
}

impl Image {
    /// The image of `bytes`, read from `path`: an IGVM file (by its magic),
    /// a load manifest (`paravisor-load-manifest/1`, built as one guest: see
    /// [`Image::from_manifest`]) or an IGVM build config
    /// (`paravisor-igvm-config/1`). Manifests and configs name their input
    /// files relative to `path`.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Self, IgvmError> {
        if bytes.starts_with(b"IGVM") {
            return Self::from_igvm(bytes);
        }
        let format = serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .and_then(|v| v.get("format").and_then(|f| f.as_str()).map(str::to_owned));
        match format.as_deref() {
            Some(MANIFEST_FORMAT) => Self::from_manifest(path),
            Some(CONFIG_FORMAT) => Self::from_config(path),
            other => Err(IgvmError::ConfigFormat {
                path: path.to_owned(),
                format: other.map_or_else(
                    || "none: neither an IGVM file nor JSON with a \"format\"".to_owned(),
                    |f| format!("{f:?}"),
                ),
            }),
        }
    }

    /// The image of an IGVM file's bytes.
    pub fn from_igvm(bytes: &[u8]) -> Result<Self, IgvmError> {
        let (file, arch) = crate::inspect::parse(bytes)?;
        Ok(Self {
            file,
            arch,
            tags: Vec::new(),
            source: "IGVM file",
        })
    }

    /// The image of a load manifest, built as one guest of its arch and
    /// isolation: max VTL 2 with a paravisor (0 without), SVN 1, no debug;
    /// SNP with policy [`MANIFEST_SNP_POLICY`] and normal injection, TDX
    /// with SEPT #VE disabled (as the golden build configs).
    pub fn from_manifest(path: &Path) -> Result<Self, IgvmError> {
        let manifest = LoadManifest::read(path).map_err(|e| IgvmError::ManifestMismatch {
            guest: 0,
            manifest: path.to_owned(),
            message: e.to_string(),
        })?;
        let arch = match manifest.arch {
            Arch::X86_64 => GuestArch::X64,
            Arch::Aarch64 => GuestArch::Aarch64,
        };
        let iso = manifest.isolation;
        let isolation = match iso.isolation_type {
            IsolationType::None => GuestIsolation::None,
            IsolationType::Vbs => GuestIsolation::Vbs {
                enable_debug: false,
            },
            IsolationType::Snp => GuestIsolation::Snp {
                shared_gpa_boundary_bits: iso.shared_gpa_boundary_bits,
                policy: MANIFEST_SNP_POLICY,
                enable_debug: false,
                injection_type: InjectionType::Normal,
            },
            IsolationType::Tdx => GuestIsolation::Tdx {
                enable_debug: false,
                sept_ve_disable: true,
            },
        };
        let settings = GuestSettings {
            arch,
            isolation,
            max_vtl: if iso.paravisor_present { 2 } else { 0 },
            guest_svn: 1,
        };
        let config = GuestConfig {
            settings,
            load_manifest: path.to_owned(),
            abi: None,
        };
        let guest = build_guest(0, &config)?;
        Self::from_guests(arch, vec![guest], "load manifest")
    }

    /// The image of an IGVM build config: every guest built and merged as
    /// `paravisor igvm` does.
    pub fn from_config(path: &Path) -> Result<Self, IgvmError> {
        let config = IgvmConfig::read(path)?;
        Self::from_guests(config.arch, build_guests(&config)?, "IGVM build config")
    }

    /// Assembles `guests` and parses the file; guest `i`'s tags go with the
    /// file's `i`-th platform.
    fn from_guests(
        arch: GuestArch,
        guests: Vec<GuestOutput>,
        source: &'static str,
    ) -> Result<Self, IgvmError> {
        let regions: Vec<Vec<(u64, u64, String)>> =
            guests.iter().map(|g| g.regions.clone()).collect();
        // The merged file as `paravisor igvm` would write it, not
        // serialised and parsed again.
        let (file, _) = merge(arch, guests)?;
        let mut image = Self {
            file,
            arch: arch.name(),
            tags: Vec::new(),
            source,
        };
        let masks: Vec<u32> = image
            .file
            .platforms()
            .iter()
            .map(|IgvmPlatformHeader::SupportedPlatform(p)| p.compatibility_mask)
            .collect();
        for (mask, ranges) in masks.into_iter().zip(regions) {
            for (first, end, tag) in ranges {
                image.tags.push((mask, first, end, tag));
            }
        }
        Ok(image)
    }

    /// `x64` or `aarch64`.
    pub fn arch(&self) -> &'static str {
        self.arch
    }

    /// What the image was made from (`IGVM file`, `load manifest`, `IGVM
    /// build config`).
    pub fn source(&self) -> &'static str {
        self.source
    }

    /// The tag of page `page` of the platform `mask`, if known.
    pub(crate) fn tag(&self, mask: u32, page: u64) -> Option<&str> {
        // Tags of one mask are in address order; find the last range
        // starting at or before `page`.
        let of_mask = self.tags.iter().filter(|t| t.0 & mask != 0);
        of_mask
            .take_while(|t| t.1 <= page)
            .last()
            .filter(|t| page < t.2)
            .map(|t| t.3.as_str())
    }
}

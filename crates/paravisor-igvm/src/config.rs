//! The IGVM build config, `paravisor-igvm-config/1` (`docs/formats.md` §4).

use crate::error::IgvmError;
use crate::guest::GuestArch;
use crate::guest::GuestIsolation;
use crate::guest::GuestSettings;
use crate::guest::InjectionType;
use serde::Deserialize;
use std::path::Path;
use std::path::PathBuf;

/// The format string of a build config.
pub const CONFIG_FORMAT: &str = "paravisor-igvm-config/1";

/// One guest of a build config, its load manifest path resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestConfig {
    /// Architecture, isolation, VTL and SVN.
    pub settings: GuestSettings,
    /// The load manifest (`paravisor-load-manifest/1`), resolved against the
    /// config's folder.
    pub load_manifest: PathBuf,
    /// The ABI profile this guest is built for (`"abi"`, optional; absent =
    /// the manifest's, docs/abi-versions.md).
    pub abi: Option<paravisor_loader::Abi>,
}

/// A parsed build config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgvmConfig {
    /// File architecture.
    pub arch: GuestArch,
    /// The guests, merged in this order.
    pub guests: Vec<GuestConfig>,
}

/// Raw JSON form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// Format string.
    format: String,
    /// `x64` or `aarch64`.
    guest_arch: RawArch,
    /// Guests.
    guest_configs: Vec<RawGuest>,
}

/// Raw architecture.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum RawArch {
    /// x86-64.
    X64,
    /// AArch64.
    Aarch64,
}

/// Raw guest.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGuest {
    /// SVN.
    guest_svn: u32,
    /// 0 or 2.
    max_vtl: u8,
    /// Isolation.
    isolation_type: RawIsolation,
    /// Load manifest path.
    load_manifest: PathBuf,
    /// ABI profile name.
    #[serde(default)]
    abi: Option<String>,
}

/// Raw isolation (serde externally tagged, as igvmfilegen's config).
#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum RawIsolation {
    /// No isolation.
    None,
    /// VBS.
    Vbs {
        /// Debug.
        enable_debug: bool,
    },
    /// SNP.
    Snp {
        /// vTOM bit.
        shared_gpa_boundary_bits: Option<u8>,
        /// Policy.
        policy: u64,
        /// Debug.
        enable_debug: bool,
        /// Injection type.
        injection_type: RawInjection,
    },
    /// TDX.
    Tdx {
        /// Debug.
        enable_debug: bool,
        /// SEPT #VE disable.
        sept_ve_disable: bool,
    },
}

/// Raw SNP injection type.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum RawInjection {
    /// Normal.
    Normal,
    /// Restricted.
    Restricted,
}

impl IgvmConfig {
    /// Reads and checks the config at `path`.
    pub fn read(path: &Path) -> Result<Self, IgvmError> {
        let text = std::fs::read_to_string(path).map_err(|source| IgvmError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses config `text`; relative manifest paths are resolved against
    /// the folder of `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Self, IgvmError> {
        // Check the format first so that a config of another format gets
        // the clearer error.
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text)
            && let Some(format) = map.get("format")
            && format.as_str() != Some(CONFIG_FORMAT)
        {
            return Err(IgvmError::ConfigFormat {
                path: path.to_owned(),
                format: format.to_string(),
            });
        }
        let raw: RawConfig = serde_json::from_str(text).map_err(|e| IgvmError::Config {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        if raw.format != CONFIG_FORMAT {
            return Err(IgvmError::ConfigFormat {
                path: path.to_owned(),
                format: raw.format,
            });
        }
        if raw.guest_configs.is_empty() {
            return Err(IgvmError::NoGuests);
        }
        let arch = match raw.guest_arch {
            RawArch::X64 => GuestArch::X64,
            RawArch::Aarch64 => GuestArch::Aarch64,
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let guests = raw
            .guest_configs
            .into_iter()
            .enumerate()
            .map(|(guest, g)| {
                if g.max_vtl != 0 && g.max_vtl != 2 {
                    return Err(IgvmError::MaxVtl {
                        guest,
                        max_vtl: g.max_vtl,
                    });
                }
                let isolation = match g.isolation_type {
                    RawIsolation::None => GuestIsolation::None,
                    RawIsolation::Vbs { enable_debug } => GuestIsolation::Vbs { enable_debug },
                    RawIsolation::Snp {
                        shared_gpa_boundary_bits,
                        policy,
                        enable_debug,
                        injection_type,
                    } => GuestIsolation::Snp {
                        shared_gpa_boundary_bits,
                        policy,
                        enable_debug,
                        injection_type: match injection_type {
                            RawInjection::Normal => InjectionType::Normal,
                            RawInjection::Restricted => InjectionType::Restricted,
                        },
                    },
                    RawIsolation::Tdx {
                        enable_debug,
                        sept_ve_disable,
                    } => GuestIsolation::Tdx {
                        enable_debug,
                        sept_ve_disable,
                    },
                };
                let abi = match g.abi {
                    None => None,
                    Some(name) => Some(name.parse().map_err(|e| IgvmError::Config {
                        path: path.to_owned(),
                        message: format!("guest {guest}: abi \"{name}\": {e}"),
                    })?),
                };
                Ok(GuestConfig {
                    settings: GuestSettings {
                        arch,
                        isolation,
                        max_vtl: g.max_vtl,
                        guest_svn: g.guest_svn,
                    },
                    load_manifest: base.join(g.load_manifest),
                    abi,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { arch, guests })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_isolation_form_of_formats_md_section_4() {
        let text = r#"{"format":"paravisor-igvm-config/1","guest_arch":"x64","guest_configs":[
          {"guest_svn":1,"max_vtl":2,"isolation_type":{"snp":{"shared_gpa_boundary_bits":46,"policy":196639,"enable_debug":false,"injection_type":"normal"}},"load_manifest":"a.json"},
          {"guest_svn":2,"max_vtl":2,"isolation_type":{"tdx":{"enable_debug":true,"sept_ve_disable":true}},"load_manifest":"b.json"},
          {"guest_svn":3,"max_vtl":0,"isolation_type":{"vbs":{"enable_debug":false}},"load_manifest":"/abs/c.json"},
          {"guest_svn":4,"max_vtl":2,"isolation_type":"none","load_manifest":"d.json"}]}"#;
        let c = IgvmConfig::parse(Path::new("/cfg/x.json"), text).unwrap();
        assert_eq!(c.arch, GuestArch::X64);
        assert_eq!(c.guests.len(), 4);
        assert_eq!(c.guests[0].load_manifest, Path::new("/cfg/a.json"));
        assert_eq!(c.guests[2].load_manifest, Path::new("/abs/c.json"));
        assert_eq!(
            c.guests[0].settings.isolation,
            GuestIsolation::Snp {
                shared_gpa_boundary_bits: Some(46),
                policy: 0x3001F,
                enable_debug: false,
                injection_type: InjectionType::Normal
            }
        );
        assert_eq!(c.guests[3].settings.isolation, GuestIsolation::None);
        assert_eq!(c.guests[2].settings.max_vtl, 0);
    }

    #[test]
    fn each_guest_may_name_an_abi_profile() {
        let text = r#"{"format":"paravisor-igvm-config/1","guest_arch":"x64","guest_configs":[
          {"guest_svn":1,"max_vtl":2,"isolation_type":"none","load_manifest":"a.json","abi":"main-1488a37b"},
          {"guest_svn":2,"max_vtl":2,"isolation_type":"none","load_manifest":"b.json"}]}"#;
        let c = IgvmConfig::parse(Path::new("/cfg/x.json"), text).unwrap();
        assert_eq!(c.guests[0].abi, Some(paravisor_loader::Abi::Main1488a37b));
        assert_eq!(c.guests[1].abi, None);
        let bad = text.replace("main-1488a37b", "main-0");
        let e = IgvmConfig::parse(Path::new("/cfg/x.json"), &bad).unwrap_err();
        assert!(e.to_string().contains("main-0"), "{e}");
    }

    #[test]
    fn rejects_unknown_format_bad_vtl_and_empty_lists() {
        let p = Path::new("c.json");
        assert!(matches!(
            IgvmConfig::parse(p, r#"{"format":"paravisor-load-manifest/1"}"#),
            Err(IgvmError::ConfigFormat { .. })
        ));
        assert!(matches!(
            IgvmConfig::parse(
                p,
                r#"{"format":"paravisor-igvm-config/1","guest_arch":"x64","guest_configs":[]}"#
            ),
            Err(IgvmError::NoGuests)
        ));
        assert!(matches!(
            IgvmConfig::parse(
                p,
                r#"{"format":"paravisor-igvm-config/1","guest_arch":"x64","guest_configs":[{"guest_svn":1,"max_vtl":1,"isolation_type":"none","load_manifest":"m"}]}"#
            ),
            Err(IgvmError::MaxVtl {
                guest: 0,
                max_vtl: 1
            })
        ));
        assert!(matches!(
            IgvmConfig::parse(p, "not json"),
            Err(IgvmError::Config { .. })
        ));
    }
}

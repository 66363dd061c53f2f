//! Merging guests into one IGVM file (`docs/igvm.md` §7), serialising it
//! (§8) and writing the file with its measurement documents (§10.5).

use crate::error::IgvmError;
use crate::guest::GuestArch;
use crate::guest::GuestOutput;
use crate::measure::MeasuredPlatform;
use crate::measure::Measurement;
use igvm::Arch;
use igvm::IgvmFile;
use igvm::IgvmRevision;
use std::path::Path;
use std::path::PathBuf;

/// A built IGVM file and the launch measurements of its platforms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgvmBuild {
    /// The serialised file.
    pub file_bytes: Vec<u8>,
    /// One measurement per measured guest, in guest order.
    pub measurements: Vec<Measurement>,
}

impl IgvmBuild {
    /// The measurement documents: platform and document text, in guest order.
    pub fn measurement_documents(&self) -> Vec<(MeasuredPlatform, String)> {
        self.measurements
            .iter()
            .map(|m| (m.platform, m.document()))
            .collect()
    }

    /// The path of the measurement document of `platform` for an output file
    /// `out` (`OUT.igvm` → `OUT-snp.json`).
    pub fn document_path(out: &Path, platform: MeasuredPlatform) -> PathBuf {
        let stem = out
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.with_file_name(format!("{stem}-{}.json", platform.short_name()))
    }

    /// Writes the file to `out` and each measurement document next to it;
    /// returns the paths written. Existing files are replaced (igvmfilegen
    /// does not truncate; a stale longer file would keep its tail).
    pub fn write(&self, out: &Path) -> Result<Vec<PathBuf>, IgvmError> {
        let write = |path: &Path, bytes: &[u8]| {
            std::fs::write(path, bytes).map_err(|source| IgvmError::Write {
                path: path.to_owned(),
                source,
            })
        };
        write(out, &self.file_bytes)?;
        let mut written = vec![out.to_owned()];
        for (platform, doc) in self.measurement_documents() {
            let path = Self::document_path(out, platform);
            write(&path, doc.as_bytes())?;
            written.push(path);
        }
        Ok(written)
    }
}

/// The IGVM revision of an architecture (§8.1).
fn revision(arch: GuestArch) -> IgvmRevision {
    match arch {
        GuestArch::X64 => IgvmRevision::V1,
        GuestArch::Aarch64 => IgvmRevision::V2 {
            arch: Arch::AArch64,
            page_size: 4096,
        },
    }
}

/// Largest IGVM file: sizes and offsets in the file are 32-bit.
const MAX_FILE_SIZE: u64 = u32::MAX as u64;

/// Checks that `file` fits the format's 32-bit sizes and offsets before the
/// `igvm` crate serialises it (its serialiser panics on a file-data offset
/// of 4 GiB or more). The bound counts every file-data blob without
/// deduplication and 64 bytes per header, so it is never below the real
/// size; files over it are refused (only a file whose data deduplicates
/// from over 4 GiB to under it would be refused needlessly).
fn check_size(file: &IgvmFile) -> Result<(), IgvmError> {
    use igvm::IgvmDirectiveHeader as D;
    let headers = file
        .platforms()
        .len()
        .saturating_add(file.initializations().len())
        .saturating_add(file.directives().len());
    let mut bound = u64::try_from(headers)
        .unwrap_or(u64::MAX)
        .saturating_mul(64)
        .saturating_add(32);
    for d in file.directives() {
        let blob = match d {
            D::PageData { data, .. } if !data.is_empty() => 4096,
            D::ParameterArea {
                number_of_bytes,
                initial_data,
                ..
            } if !initial_data.is_empty() => *number_of_bytes,
            D::SnpVpContext { .. } => 4096,
            D::X64VbsVpContext { registers, .. } => u64::try_from(registers.len())
                .unwrap_or(u64::MAX)
                .saturating_mul(32)
                .saturating_add(4),
            D::AArch64VbsVpContext { registers, .. } => u64::try_from(registers.len())
                .unwrap_or(u64::MAX)
                .saturating_mul(32)
                .saturating_add(4),
            _ => 0,
        };
        bound = bound.saturating_add(blob);
    }
    if bound > MAX_FILE_SIZE {
        return Err(IgvmError::FileTooLarge { bytes: bound });
    }
    Ok(())
}

/// Builds one IGVM file from finalised guests: each guest becomes an
/// `IgvmFile` (validated by the `igvm` crate), merged in order with
/// `merge_simple`, then serialised.
pub fn assemble(arch: GuestArch, guests: Vec<GuestOutput>) -> Result<IgvmBuild, IgvmError> {
    let (file, measurements) = merge(arch, guests)?;
    check_size(&file)?;
    let mut file_bytes = Vec::new();
    file.serialize(&mut file_bytes)
        .map_err(|source| IgvmError::Igvm {
            what: "serialise",
            source,
        })?;
    Ok(IgvmBuild {
        file_bytes,
        measurements,
    })
}

/// The merged, validated `IgvmFile` of finalised guests (what [`assemble`]
/// serialises) and their measurements.
pub fn merge(
    arch: GuestArch,
    guests: Vec<GuestOutput>,
) -> Result<(IgvmFile, Vec<Measurement>), IgvmError> {
    let mut file: Option<IgvmFile> = None;
    let mut measurements = Vec::new();
    for guest in guests {
        if let Some(m) = guest.measurement {
            measurements.push(m);
        }
        let this = IgvmFile::new(
            revision(arch),
            vec![guest.platform],
            guest.initialization,
            guest.directives,
        )
        .map_err(|source| IgvmError::Igvm {
            what: "build",
            source,
        })?;
        file = Some(match file {
            None => this,
            Some(mut merged) => {
                merged
                    .merge_simple(this)
                    .map_err(|source| IgvmError::Igvm {
                        what: "merge",
                        source,
                    })?;
                merged
            }
        });
    }
    let file = file.ok_or(IgvmError::NoGuests)?;
    Ok((file, measurements))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guest::GuestBuilder;
    use crate::guest::GuestIsolation;
    use crate::guest::GuestSettings;

    fn guest() -> GuestBuilder {
        GuestBuilder::new(GuestSettings {
            arch: GuestArch::X64,
            isolation: GuestIsolation::None,
            max_vtl: 2,
            guest_svn: 0,
        })
        .unwrap()
    }

    #[test]
    fn files_of_4_gib_or_more_are_refused_not_serialised() {
        // The igvm serialiser panics on a file-data offset >= 2^32; a
        // parameter area's initial data is padded to its size (§8.3).
        let mut g = guest();
        g.create_parameter_area(0x100, 5 << 18, "huge", &[1])
            .unwrap();
        let out = g.finish().unwrap();
        assert!(matches!(
            assemble(GuestArch::X64, vec![out]),
            Err(IgvmError::FileTooLarge { bytes }) if bytes > 5 << 30
        ));
    }

    #[test]
    fn document_paths_follow_the_output_stem() {
        // docs/formats.md §4: OUT.igvm → OUT-snp.json, OUT-tdx.json, OUT-vbs.json.
        let out = Path::new("/x/y/cvm.igvm");
        assert_eq!(
            IgvmBuild::document_path(out, MeasuredPlatform::Tdx),
            Path::new("/x/y/cvm-tdx.json")
        );
    }

    #[test]
    fn a_none_and_a_vbs_guest_cannot_share_a_file() {
        // §7 step 1: one header per platform type; both are VSM_ISOLATION.
        let a = guest().finish().unwrap();
        let b = GuestBuilder::new(GuestSettings {
            arch: GuestArch::X64,
            isolation: GuestIsolation::Vbs {
                enable_debug: false,
            },
            max_vtl: 2,
            guest_svn: 0,
        })
        .unwrap()
        .finish()
        .unwrap();
        assert!(matches!(
            assemble(GuestArch::X64, vec![a, b]),
            Err(IgvmError::Igvm { what: "merge", .. })
        ));
    }
}

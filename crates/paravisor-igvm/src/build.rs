//! Merging guests into one IGVM file (`spec/igvm.md` §7), serialising it
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

/// Builds one IGVM file from finalised guests: each guest becomes an
/// `IgvmFile` (validated by the `igvm` crate), merged in order with
/// `merge_simple`, then serialised.
pub fn assemble(arch: GuestArch, guests: Vec<GuestOutput>) -> Result<IgvmBuild, IgvmError> {
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

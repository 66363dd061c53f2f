//! Input files of a manifest, memory-mapped (not read into buffers).

use memmap2::Mmap;
use paravisor_host::manifest::LoadManifest;
use paravisor_host::manifest::ManifestError;
use paravisor_host::manifest::ManifestFiles;
use std::fs::File;
use std::path::Path;

/// One input file: mapped, or empty (an empty file cannot be mapped).
pub(crate) enum Mapped {
    /// A memory-mapped file.
    Map(Mmap),
    /// A zero-length file.
    Empty,
}

impl Mapped {
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Self::Map(m) => m,
            Self::Empty => &[],
        }
    }
}

/// Maps `path` read-only; `role` names the manifest field (`kernel`,
/// `shim`, `sidecar`, `initrd`, `vtl0.uefi.vp_context`) in the error.
///
/// A directory or other non-regular file is refused before mapping
/// (`PATH: is a directory, expected a file (the shim named by MANIFEST)`);
/// a zero-length file is [`Mapped::Empty`] (mapping length 0 fails on
/// Linux).
pub(crate) fn map_file(path: &Path, role: &str, manifest: &Path) -> Result<Mapped, ManifestError> {
    map_input(path, &format!("the {role} named by {}", manifest.display()))
}

/// Maps `path` read-only as [`map_file`] does; `named_by` says what the file
/// is in the error (`the kernel named by MANIFEST`, `input A`).
#[allow(unsafe_code)]
pub(crate) fn map_input(path: &Path, named_by: &str) -> Result<Mapped, ManifestError> {
    let problem = |message: String| ManifestError {
        path: path.to_path_buf(),
        message,
    };
    let err = |e: std::io::Error| problem(format!("cannot read {named_by}: {e}"));
    // `metadata` follows symlinks, so a link to a regular file is fine.
    let file_type = std::fs::metadata(path).map_err(err)?.file_type();
    if file_type.is_dir() {
        return Err(problem(format!(
            "is a directory, expected a file ({named_by})"
        )));
    }
    if !file_type.is_file() {
        return Err(problem(format!(
            "is not a regular file, expected a file ({named_by})"
        )));
    }
    let file = File::open(path).map_err(err)?;
    if file.metadata().map_err(err)?.len() == 0 {
        return Ok(Mapped::Empty);
    }
    // SAFETY: the mapping is read-only and private to this process; the
    // tool reads input files once and never writes them. If another process
    // truncates the file while it is mapped, reads may fault (SIGBUS) — the
    // same hazard every mmap-based tool accepts for its inputs; it cannot
    // cause memory unsafety in this process beyond that signal.
    let map = unsafe { Mmap::map(&file) }.map_err(err)?;
    Ok(Mapped::Map(map))
}

/// All input files of a manifest, mapped.
pub(crate) struct MappedFiles {
    kernel: Mapped,
    shim: Mapped,
    sidecar: Option<Mapped>,
    initrd: Option<Mapped>,
    vp_context: Option<Mapped>,
}

impl MappedFiles {
    /// Maps every file `manifest` names.
    pub(crate) fn map(manifest: &LoadManifest) -> Result<Self, ManifestError> {
        let m = &manifest.path;
        Ok(Self {
            kernel: map_file(&manifest.kernel, "kernel", m)?,
            shim: map_file(&manifest.shim, "shim", m)?,
            sidecar: manifest
                .sidecar
                .as_deref()
                .map(|p| map_file(p, "sidecar", m))
                .transpose()?,
            initrd: manifest
                .initrd
                .as_deref()
                .map(|p| map_file(p, "initrd", m))
                .transpose()?,
            vp_context: manifest
                .uefi
                .as_ref()
                .map(|u| map_file(&u.vp_context, "vtl0.uefi.vp_context", m))
                .transpose()?,
        })
    }

    /// The loader's view of the files.
    pub(crate) fn as_files(&self) -> ManifestFiles<'_> {
        ManifestFiles {
            kernel: self.kernel.bytes(),
            shim: self.shim.bytes(),
            sidecar: self.sidecar.as_ref().map(Mapped::bytes),
            initrd: self.initrd.as_ref().map(Mapped::bytes),
            vp_context: self.vp_context.as_ref().map(Mapped::bytes),
        }
    }
}

/// Reads a manifest and maps its files, or prints the problem (naming the
/// file) and returns `None`. The VTL2 range is not checked: see [`load`].
pub(crate) fn load_unchecked(path: &str) -> Option<(LoadManifest, MappedFiles)> {
    let manifest = match LoadManifest::read(Path::new(path)) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("paravisor: {e}");
            return None;
        }
    };
    match MappedFiles::map(&manifest) {
        Ok(files) => Some((manifest, files)),
        Err(e) => {
            eprintln!("paravisor: {e}");
            None
        }
    }
}

/// [`load_unchecked`], then refuses a manifest whose VTL2 memory range does
/// not fit in 64 bits ([`LoadManifest::check_vtl2_range`]) as a problem of
/// the manifest: one line naming it and the fields, `None` (exit status 1).
pub(crate) fn load(path: &str) -> Option<(LoadManifest, MappedFiles)> {
    let (manifest, files) = load_unchecked(path)?;
    match manifest.check_vtl2_range() {
        Ok(()) => Some((manifest, files)),
        Err(e) => {
            eprintln!("paravisor: {e}");
            None
        }
    }
}

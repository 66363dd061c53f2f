//! Shared helpers for the workspace's cross-crate tests: fixture locations,
//! golden-case discovery and comparison, a recording importer and fault
//! injection ([`failing`]); for the boot tests, the freestanding builds
//! ([`cargo_build`], [`arm64_shim`]); for the Linux boot tests, the
//! initramfs ([`initramfs`], [`cpio`]) and Debian's kernels ([`kernels`],
//! [`lz4`]).

pub mod arm64_shim;
pub mod big_inputs;
pub mod cargo_build;
pub mod cpio;
pub mod failing;
pub mod initramfs;
pub mod kernels;
pub mod lz4;
pub mod x64_shim;

use paravisor_host::Arch;
use paravisor_host::manifest::LoadManifest;
use paravisor_host::manifest::ManifestError;
use paravisor_host::recording;
use paravisor_host::register::SummaryRegister;
use paravisor_loader::IsolationConfig;
use paravisor_loader::LoadInputs;
use paravisor_loader::PageAcceptance;
use paravisor_loader::PageTableRelocation;
use paravisor_loader::ParameterType;
use paravisor_loader::RelocationRegion;
use paravisor_loader::StartupMemoryType;
use serde_json::Value;
use std::path::Path;
use std::path::PathBuf;

/// The workspace root (the folder holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// The golden folder (`tests/golden` in the checkout), or the folder named
/// by `PARAVISOR_GOLDEN_DIR` (same shape: `cases/`, `summaries/`).
pub fn golden_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PARAVISOR_GOLDEN_DIR") {
        return PathBuf::from(dir);
    }
    workspace_root().join("tests").join("golden")
}

/// One golden case: a load manifest and the summary the original produced.
#[derive(Debug, Clone)]
pub struct GoldenCase {
    /// Case name (the manifest's file stem).
    pub name: String,
    /// The manifest.
    pub manifest: PathBuf,
    /// The stored summary.
    pub summary: PathBuf,
}

/// Every `cases/*.json` of `dir` with its `summaries/<name>.summary.json`,
/// sorted by name.
pub fn golden_cases(dir: &Path) -> Vec<GoldenCase> {
    let mut cases = Vec::new();
    let cases_dir = dir.join("cases");
    let entries = std::fs::read_dir(&cases_dir)
        .unwrap_or_else(|e| panic!("{}: cannot list golden cases: {e}", cases_dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        cases.push(GoldenCase {
            summary: dir.join("summaries").join(format!("{name}.summary.json")),
            manifest: path,
            name,
        });
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

/// Runs the loader for the manifest at `path` and returns its summary JSON.
/// A manifest or input that cannot be read is an `Err` (a usage error, not a
/// summary: docs/formats.md §3 rule 8).
pub fn summarize_manifest(path: &Path) -> Result<Value, ManifestError> {
    let manifest = LoadManifest::read(path)?;
    let files = paravisor_host::manifest::read_files(&manifest)?;
    Ok(manifest.summarize(&files.as_files()).to_json())
}

/// [`summarize_manifest`] under ABI profile `abi`, whatever the manifest's
/// own `"abi"` says.
pub fn summarize_manifest_as(
    path: &Path,
    abi: paravisor_layout::Abi,
) -> Result<Value, ManifestError> {
    let mut manifest = LoadManifest::read(path)?;
    manifest.abi = abi;
    let files = paravisor_host::manifest::read_files(&manifest)?;
    Ok(manifest.summarize(&files.as_files()).to_json())
}

/// The stored summary of golden case `name` under `abi`: `summaries/` for
/// the seed, `abi/<abi>/` for the later profiles (docs/abi-versions.md).
pub fn golden_summary_path(dir: &Path, abi: paravisor_layout::Abi, name: &str) -> PathBuf {
    let file = format!("{name}.summary.json");
    if abi == paravisor_layout::Abi::default() {
        dir.join("summaries").join(file)
    } else {
        dir.join("abi").join(abi.name()).join(file)
    }
}

/// Compares a candidate summary with a golden one by the rules of
/// docs/formats.md / compare.py: equal as parsed JSON, except that when the
/// golden has `ok: false` only `ok: false` is required. Returns the
/// differences (empty when they match).
pub fn compare_summaries(golden: &Value, candidate: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if golden.get("ok") == Some(&Value::Bool(false)) {
        if candidate.get("ok") != Some(&Value::Bool(false)) {
            out.push(format!(
                "ok: golden false (error {}), candidate {}",
                golden.get("error").unwrap_or(&Value::Null),
                candidate.get("ok").unwrap_or(&Value::Null)
            ));
        }
        return out;
    }
    if candidate.get("ok") != Some(&Value::Bool(true)) {
        out.push(format!(
            "ok: golden true, candidate not ok (error {})",
            candidate.get("error").unwrap_or(&Value::Null)
        ));
        return out;
    }
    if golden == candidate {
        return out;
    }
    let (Some(g), Some(c)) = (golden.as_object(), candidate.as_object()) else {
        out.push("summary is not a JSON object".into());
        return out;
    };
    let mut keys: Vec<&String> = g.keys().chain(c.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        let (gv, cv) = (g.get(k), c.get(k));
        if gv == cv {
            continue;
        }
        match (gv.and_then(Value::as_array), cv.and_then(Value::as_array)) {
            (Some(ga), Some(ca)) => {
                out.push(format!(
                    "{k}: {} in golden, {} in candidate",
                    ga.len(),
                    ca.len()
                ));
                for item in ga.iter().filter(|i| !ca.contains(i)) {
                    out.push(format!("  only in golden:    {item}"));
                }
                for item in ca.iter().filter(|i| !ga.contains(i)) {
                    out.push(format!("  only in candidate: {item}"));
                }
            }
            _ => out.push(format!(
                "{k}: golden {} != candidate {}",
                gv.unwrap_or(&Value::Null),
                cv.unwrap_or(&Value::Null)
            )),
        }
    }
    out
}

/// The recording importer (every call in order, with owned page data) and
/// the image-rule errors it refuses calls with.
pub use paravisor_host::ImageRuleError;
pub use paravisor_host::recording::RecordingImporter;

/// One call a [`RecordingImporter`] received, in the compact form the
/// tests compare with the spec (data as its length, registers by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `verify_startup_memory_available` (a check, not an import).
    VerifyStartupMemory(u64, u64, StartupMemoryType),
    /// `import_pages` (page base, count, tag, acceptance, data length).
    ImportPages(u64, u64, &'static str, PageAcceptance, usize),
    /// `create_parameter_area`.
    CreateParameterArea(u64, u32, &'static str),
    /// `import_parameter`.
    ImportParameter(u32, u32, ParameterType),
    /// `import_vp_register` (register name).
    Register(&'static str),
    /// `set_vp_context_page`.
    VpContextPage(u64),
    /// `relocation_region`.
    RelocationRegion(RelocationRegion),
    /// `page_table_relocation`.
    PageTableRelocation(PageTableRelocation),
    /// `set_imported_regions_config_page`.
    ImportedRegionsPage(u64),
    /// `set_expected_page_hashes_config_page`.
    ExpectedPageHashesPage(u64),
}

impl<R: SummaryRegister> From<&recording::Call<R>> for Call {
    fn from(call: &recording::Call<R>) -> Self {
        use recording::Call as C;
        match call {
            C::VerifyStartupMemory {
                page_base,
                page_count,
                memory_type,
            } => Self::VerifyStartupMemory(*page_base, *page_count, *memory_type),
            C::ImportPages(i) => {
                Self::ImportPages(i.page_base, i.page_count, i.tag, i.acceptance, i.data.len())
            }
            C::CreateParameterArea {
                page_base,
                page_count,
                tag,
            } => Self::CreateParameterArea(*page_base, *page_count, tag),
            C::ImportParameter {
                area,
                byte_offset,
                parameter,
            } => Self::ImportParameter(*area, *byte_offset, *parameter),
            C::Register(r) => Self::Register(r.summary_name()),
            C::VpContextPage(page) => Self::VpContextPage(*page),
            C::RelocationRegion(r) => Self::RelocationRegion(*r),
            C::PageTableRelocation(r) => Self::PageTableRelocation(*r),
            C::ImportedRegionsPage(page) => Self::ImportedRegionsPage(*page),
            C::ExpectedPageHashesPage(page) => Self::ExpectedPageHashesPage(*page),
        }
    }
}

/// The calls `importer` received, in the compact form.
pub fn calls<R: SummaryRegister>(importer: &RecordingImporter<R>) -> Vec<Call> {
    importer.calls().iter().map(Call::from).collect()
}

/// Loads `inputs` for `arch` (allocating the page-table buffer) into a new
/// [`RecordingImporter`]; the load's result and the calls it made.
pub fn record_load(
    arch: Arch,
    isolation: IsolationConfig,
    inputs: &LoadInputs<'_>,
) -> (
    Result<(), paravisor_loader::Error<ImageRuleError>>,
    Vec<Call>,
) {
    match arch {
        Arch::X86_64 => {
            let mut recorder = RecordingImporter::new(isolation);
            let result = paravisor_loader::load_openhcl_x64_alloc(&mut recorder, inputs);
            (result.map(|_| ()), calls(&recorder))
        }
        Arch::Aarch64 => {
            let mut recorder = RecordingImporter::new(isolation);
            let result = paravisor_loader::load_openhcl_arm64_alloc(&mut recorder, inputs);
            (result.map(|_| ()), calls(&recorder))
        }
    }
}

/// `EM_X86_64`.
pub const EM_X86_64: u16 = 62;
/// `EM_AARCH64`.
pub const EM_AARCH64: u16 = 183;

/// A minimal little-endian ELF64 (`ET_EXEC`) with entry `entry` and one
/// `PT_LOAD` per `(p_paddr, p_memsz, file bytes)`.
pub fn elf64(machine: u16, entry: u64, segments: &[(u64, u64, &[u8])]) -> Vec<u8> {
    let phnum = segments.len() as u64;
    let mut data_offset = 64 + 56 * phnum;
    let mut f = Vec::new();
    f.extend_from_slice(&[0x7F, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&machine.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes());
    f.extend_from_slice(&entry.to_le_bytes());
    f.extend_from_slice(&(if phnum == 0 { 0u64 } else { 64 }).to_le_bytes());
    f.extend_from_slice(&0u64.to_le_bytes());
    f.extend_from_slice(&0u32.to_le_bytes());
    f.extend_from_slice(&64u16.to_le_bytes());
    f.extend_from_slice(&56u16.to_le_bytes());
    f.extend_from_slice(&(phnum as u16).to_le_bytes());
    f.extend_from_slice(&64u16.to_le_bytes());
    f.extend_from_slice(&0u16.to_le_bytes());
    f.extend_from_slice(&0u16.to_le_bytes());
    for (paddr, memsz, bytes) in segments {
        f.extend_from_slice(&1u32.to_le_bytes());
        f.extend_from_slice(&7u32.to_le_bytes());
        f.extend_from_slice(&data_offset.to_le_bytes());
        f.extend_from_slice(&paddr.to_le_bytes());
        f.extend_from_slice(&paddr.to_le_bytes());
        f.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        f.extend_from_slice(&memsz.to_le_bytes());
        f.extend_from_slice(&0x1000u64.to_le_bytes());
        data_offset += bytes.len() as u64;
    }
    for (_, _, bytes) in segments {
        f.extend_from_slice(bytes);
    }
    f
}

/// A flat arm64 `Image`: 64-byte header (text offset, image size, flags
/// little endian + 4 KiB pages + anywhere, magic "ARM\x64") and `body`.
pub fn arm64_image(text_offset: u64, image_size: u64, body: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 64];
    f[8..16].copy_from_slice(&text_offset.to_le_bytes());
    f[16..24].copy_from_slice(&image_size.to_le_bytes());
    f[24..32].copy_from_slice(&0xAu64.to_le_bytes());
    f[56..60].copy_from_slice(b"ARM\x64");
    f.extend_from_slice(body);
    f
}

/// The worked example's kernel (docs/worked-example.md §1): one `PT_LOAD`
/// at p_paddr 0x100_0000, p_memsz 0x20_0000, entry 0x100_0000.
pub fn worked_example_kernel() -> Vec<u8> {
    elf64(
        EM_X86_64,
        0x100_0000,
        &[(0x100_0000, 0x20_0000, &[0xF4, 0xEB, 0xFD])],
    )
}

/// The worked example's shim: one `PT_LOAD` at p_paddr 0, p_memsz 0x1_0000,
/// entry 0x1000.
pub fn worked_example_shim() -> Vec<u8> {
    elf64(EM_X86_64, 0x1000, &[(0, 0x1_0000, &[0x90; 0x1100])])
}

/// Isolation `ty` with a paravisor present.
pub fn isolation(ty: paravisor_loader::IsolationType, bits: Option<u8>) -> IsolationConfig {
    IsolationConfig {
        isolation_type: ty,
        paravisor_present: true,
        shared_gpa_boundary_bits: bits,
    }
}

/// Reads a golden fixture.
pub fn fixture(name: &str) -> Vec<u8> {
    let p = workspace_root().join("tests/golden/fixtures").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

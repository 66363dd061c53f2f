//! Shared helpers for the workspace's cross-crate tests: fixture locations,
//! golden-case discovery and comparison, and a recording importer.

use paravisor_loader::ImportPages;
use paravisor_loader::IsolationConfig;
use paravisor_loader::PageAcceptance;
use paravisor_loader::PageTableRelocation;
use paravisor_loader::ParameterAreaIndex;
use paravisor_loader::ParameterType;
use paravisor_loader::ParavisorImporter;
use paravisor_loader::RelocationRegion;
use paravisor_loader::StartupMemoryType;
use paravisor_loader::manifest::LoadManifest;
use paravisor_loader::manifest::ManifestError;
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
/// summary: formats.md §3 rule 8).
pub fn summarize_manifest(path: &Path) -> Result<Value, ManifestError> {
    let manifest = LoadManifest::read(path)?;
    let files = paravisor_loader::manifest::read_files(&manifest)?;
    Ok(manifest.summarize(&files.as_files()).to_json())
}

/// Compares a candidate summary with a golden one by the rules of
/// formats.md / compare.py: equal as parsed JSON, except that when the
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
                out.push(format!("{k}: {} in golden, {} in candidate", ga.len(), ca.len()));
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

/// One call a [`RecordingImporter`] received.
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
}

impl Call {
    /// Whether the call imports or records something (everything but the
    /// startup-memory check).
    pub fn is_import(&self) -> bool {
        !matches!(self, Self::VerifyStartupMemory(..))
    }
}

/// An importer that records every call in order; it can be told to fail
/// the `n`-th call.
#[derive(Debug)]
pub struct RecordingImporter {
    /// The isolation configuration returned.
    pub isolation: IsolationConfig,
    /// Calls in order.
    pub calls: Vec<Call>,
    /// Fail the call with this index (0-based), if set.
    pub fail_at: Option<usize>,
    areas: u32,
}

/// The error of a [`RecordingImporter`] told to fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectedFailure(pub usize);

impl std::fmt::Display for InjectedFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "injected failure at call {}", self.0)
    }
}

impl RecordingImporter {
    /// A recording importer for `isolation`.
    pub fn new(isolation: IsolationConfig) -> Self {
        Self {
            isolation,
            calls: Vec::new(),
            fail_at: None,
            areas: 0,
        }
    }

    /// Calls that imported or recorded something.
    pub fn imports(&self) -> Vec<&Call> {
        self.calls.iter().filter(|c| c.is_import()).collect()
    }

    fn record(&mut self, call: Call) -> Result<(), InjectedFailure> {
        let index = self.calls.len();
        self.calls.push(call);
        if self.fail_at == Some(index) {
            return Err(InjectedFailure(index));
        }
        Ok(())
    }
}

impl ImportPages for RecordingImporter {
    type Error = InjectedFailure;

    fn import_pages(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &'static str,
        acceptance: PageAcceptance,
        data: &[u8],
    ) -> Result<(), InjectedFailure> {
        self.record(Call::ImportPages(page_base, page_count, tag, acceptance, data.len()))
    }
}

impl<R: paravisor_loader::summary::SummaryRegister> ParavisorImporter<R> for RecordingImporter {
    fn isolation_config(&self) -> IsolationConfig {
        self.isolation
    }

    fn verify_startup_memory_available(
        &mut self,
        page_base: u64,
        page_count: u64,
        memory_type: StartupMemoryType,
    ) -> Result<(), InjectedFailure> {
        self.record(Call::VerifyStartupMemory(page_base, page_count, memory_type))
    }

    fn create_parameter_area(
        &mut self,
        page_base: u64,
        page_count: u32,
        tag: &'static str,
    ) -> Result<ParameterAreaIndex, InjectedFailure> {
        self.record(Call::CreateParameterArea(page_base, page_count, tag))?;
        let index = self.areas;
        self.areas += 1;
        Ok(ParameterAreaIndex(index))
    }

    fn import_parameter(
        &mut self,
        area: ParameterAreaIndex,
        byte_offset: u32,
        parameter: ParameterType,
    ) -> Result<(), InjectedFailure> {
        self.record(Call::ImportParameter(area.0, byte_offset, parameter))
    }

    fn import_vp_register(&mut self, register: R) -> Result<(), InjectedFailure> {
        self.record(Call::Register(register.summary_name()))
    }

    fn set_vp_context_page(&mut self, page_base: u64) -> Result<(), InjectedFailure> {
        self.record(Call::VpContextPage(page_base))
    }

    fn relocation_region(&mut self, region: RelocationRegion) -> Result<(), InjectedFailure> {
        self.record(Call::RelocationRegion(region))
    }

    fn page_table_relocation(
        &mut self,
        relocation: PageTableRelocation,
    ) -> Result<(), InjectedFailure> {
        self.record(Call::PageTableRelocation(relocation))
    }

    fn set_imported_regions_config_page(&mut self, page_base: u64) {
        let _ = self.record(Call::ImportedRegionsPage(page_base));
    }
}

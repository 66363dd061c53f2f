//! The image-summary importer (`std` feature): what a loader handed to its
//! importer, normalised as `paravisor-image-summary/1` (formats.md §2–§3).
//!
//! Two loaders that build the same guest image produce the same summary,
//! however they split their page imports: pages are listed in ascending
//! order, adjacent runs with the same tag and acceptance are merged, and each
//! run carries the SHA-256 of its whole bytes (zero-padded pages).
//!
//! A summary is invalid — the load counts as failed — when two imports touch
//! the same page, an import's data is longer than its pages, a register is
//! imported twice, or the VP-context page or imported-regions page is set
//! twice (formats.md §3 rule 3).

extern crate std;

use crate::importer::ImportPages;
use crate::importer::IsolationConfig;
use crate::importer::PAGE_SIZE;
use crate::importer::PageAcceptance;
use crate::importer::PageTableRelocation;
use crate::importer::ParameterAreaIndex;
use crate::importer::ParameterType;
use crate::importer::ParavisorImporter;
use crate::importer::RelocationRegion;
use crate::importer::StartupMemoryType;
use serde_json::Map;
use serde_json::Value;
use serde_json::json;
use sha2::Digest;
use sha2::Sha256;
use std::collections::BTreeMap;
use std::format;
use std::string::String;
use std::string::ToString;
use std::vec::Vec;
use vp_regs::aarch64::Aarch64Register;
use vp_regs::x86_64::X86Register;

/// The `format` string of an image summary.
pub const SUMMARY_FORMAT: &str = "paravisor-image-summary/1";

/// Target architecture of a load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arch {
    /// x86-64 (`"x86_64"`).
    X86_64,
    /// AArch64 (`"aarch64"`).
    Aarch64,
}

impl Arch {
    /// The name used in manifests and summaries.
    pub const fn name(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Aarch64 => "aarch64",
        }
    }
}

/// The lower snake-case name of an acceptance (formats.md §2).
pub const fn acceptance_name(acceptance: PageAcceptance) -> &'static str {
    match acceptance {
        PageAcceptance::Exclusive => "exclusive",
        PageAcceptance::ExclusiveUnmeasured => "exclusive_unmeasured",
        PageAcceptance::VpContext => "vp_context",
        PageAcceptance::ErrorPage => "error_page",
        PageAcceptance::SecretsPage => "secrets_page",
        PageAcceptance::CpuidPage => "cpuid_page",
        PageAcceptance::CpuidExtendedStatePage => "cpuid_extended_state_page",
        PageAcceptance::Shared => "shared",
    }
}

/// A register value as the summary shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterValue {
    /// A plain 64-bit register.
    Plain(u64),
    /// A descriptor-table register (GDTR, IDTR).
    Table {
        /// Base address.
        base: u64,
        /// Limit.
        limit: u16,
    },
    /// A segment register.
    Segment {
        /// Selector.
        selector: u16,
        /// Base address.
        base: u64,
        /// Limit.
        limit: u32,
        /// Attributes.
        attributes: u16,
    },
}

impl RegisterValue {
    /// The JSON form: hex strings; table and segment registers as objects.
    pub fn to_json(&self) -> Value {
        match *self {
            Self::Plain(v) => json!(hex(v)),
            Self::Table { base, limit } => json!({ "base": hex(base), "limit": hex(limit.into()) }),
            Self::Segment {
                selector,
                base,
                limit,
                attributes,
            } => json!({
                "selector": hex(selector.into()),
                "base": hex(base),
                "limit": hex(limit.into()),
                "attributes": hex(attributes.into()),
            }),
        }
    }
}

/// A register type the summary importer can record.
pub trait SummaryRegister {
    /// The summary key (lower case, e.g. `rip`, `ttbr0_el1`).
    fn summary_name(&self) -> &'static str;
    /// The value.
    fn summary_value(&self) -> RegisterValue;
}

impl SummaryRegister for X86Register {
    fn summary_name(&self) -> &'static str {
        self.name()
    }

    fn summary_value(&self) -> RegisterValue {
        use X86Register as R;
        match *self {
            R::Gdtr(t) | R::Idtr(t) => RegisterValue::Table {
                base: t.base,
                limit: t.limit,
            },
            R::Cs(s) | R::Ds(s) | R::Es(s) | R::Fs(s) | R::Gs(s) | R::Ss(s) | R::Tr(s) => {
                RegisterValue::Segment {
                    selector: s.selector,
                    base: s.base,
                    limit: s.limit,
                    attributes: s.attributes,
                }
            }
            R::Cr0(v)
            | R::Cr3(v)
            | R::Cr4(v)
            | R::Efer(v)
            | R::Pat(v)
            | R::Rbp(v)
            | R::Rip(v)
            | R::Rsi(v)
            | R::Rsp(v)
            | R::R8(v)
            | R::R9(v)
            | R::R10(v)
            | R::R11(v)
            | R::R12(v)
            | R::Rflags(v)
            | R::MtrrDefType(v)
            | R::MtrrPhysBase0(v)
            | R::MtrrPhysMask0(v)
            | R::MtrrPhysBase1(v)
            | R::MtrrPhysMask1(v)
            | R::MtrrPhysBase2(v)
            | R::MtrrPhysMask2(v)
            | R::MtrrPhysBase3(v)
            | R::MtrrPhysMask3(v)
            | R::MtrrPhysBase4(v)
            | R::MtrrPhysMask4(v)
            | R::MtrrFix64k00000(v)
            | R::MtrrFix16k80000(v)
            | R::MtrrFix4kE0000(v)
            | R::MtrrFix4kE8000(v)
            | R::MtrrFix4kF0000(v)
            | R::MtrrFix4kF8000(v) => RegisterValue::Plain(v),
        }
    }
}

impl SummaryRegister for Aarch64Register {
    fn summary_name(&self) -> &'static str {
        self.name()
    }

    fn summary_value(&self) -> RegisterValue {
        RegisterValue::Plain(self.value())
    }
}

/// Lower-case hex with a `0x` prefix, no padding (`0x0`, `0x8495000`).
pub fn hex(v: u64) -> String {
    format!("{v:#x}")
}

/// One merged run of imported pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRun {
    /// First page number.
    pub page_base: u64,
    /// Number of pages.
    pub page_count: u64,
    /// Import tag.
    pub tag: &'static str,
    /// Acceptance.
    pub acceptance: PageAcceptance,
    /// SHA-256 of the run's `page_count × 4096` bytes, lower-case hex.
    pub sha256: String,
}

/// A parameter area as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterAreaRecord {
    /// Creation index.
    pub index: u32,
    /// First page number.
    pub page_base: u64,
    /// Number of pages.
    pub page_count: u32,
    /// Tag.
    pub tag: &'static str,
}

/// A parameter as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParameterRecord {
    /// Area index.
    pub area: u32,
    /// Byte offset in the area.
    pub byte_offset: u32,
    /// Parameter type.
    pub parameter: ParameterType,
}

/// The image summary of one load (`paravisor-image-summary/1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSummary {
    /// Target architecture.
    pub arch: Arch,
    /// `None` when the load succeeded and the image is valid; otherwise what
    /// went wrong (then every list below is empty).
    pub error: Option<String>,
    /// `verify_startup_memory_available` calls.
    pub startup_memory: Vec<(u64, u64, StartupMemoryType)>,
    /// Merged page runs in ascending order.
    pub pages: Vec<PageRun>,
    /// Registers by name.
    pub registers: BTreeMap<&'static str, RegisterValue>,
    /// Parameter areas in creation order.
    pub parameter_areas: Vec<ParameterAreaRecord>,
    /// Parameters in import order.
    pub parameters: Vec<ParameterRecord>,
    /// The VP-context (SNP VMSA) page.
    pub vp_context_page: Option<u64>,
    /// Relocation regions.
    pub relocation_regions: Vec<RelocationRegion>,
    /// Page-table relocation records.
    pub page_table_relocations: Vec<PageTableRelocation>,
    /// The imported-regions config page.
    pub imported_regions_config_page: Option<u64>,
    /// The first page of the expected-page-hashes area (`main-1488a37b`
    /// only; the key is absent from the JSON when `None`).
    pub expected_page_hashes_config_page: Option<u64>,
}

impl ImageSummary {
    /// The summary of a failed load: `ok: false`, everything else empty
    /// (formats.md §3 rule 2).
    pub fn failed(arch: Arch, error: String) -> Self {
        Self {
            arch,
            error: Some(error),
            startup_memory: Vec::new(),
            pages: Vec::new(),
            registers: BTreeMap::new(),
            parameter_areas: Vec::new(),
            parameters: Vec::new(),
            vp_context_page: None,
            relocation_regions: Vec::new(),
            page_table_relocations: Vec::new(),
            imported_regions_config_page: None,
            expected_page_hashes_config_page: None,
        }
    }

    /// Whether the load succeeded.
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }

    /// The JSON document (keys sorted by `serde_json`'s map).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("format".into(), json!(SUMMARY_FORMAT));
        m.insert("arch".into(), json!(self.arch.name()));
        m.insert("ok".into(), json!(self.ok()));
        m.insert("error".into(), json!(self.error));
        m.insert(
            "startup_memory".into(),
            self.startup_memory
                .iter()
                .map(|&(b, c, t)| json!({"page_base": b, "page_count": c, "type": t.name()}))
                .collect(),
        );
        m.insert(
            "pages".into(),
            self.pages
                .iter()
                .map(|r| {
                    json!({
                        "page_base": r.page_base,
                        "page_count": r.page_count,
                        "tag": r.tag,
                        "acceptance": acceptance_name(r.acceptance),
                        "sha256": r.sha256,
                    })
                })
                .collect(),
        );
        m.insert(
            "registers".into(),
            Value::Object(
                self.registers
                    .iter()
                    .map(|(k, v)| ((*k).to_string(), v.to_json()))
                    .collect(),
            ),
        );
        m.insert(
            "parameter_areas".into(),
            self.parameter_areas
                .iter()
                .map(|a| {
                    json!({
                        "index": a.index,
                        "page_base": a.page_base,
                        "page_count": a.page_count,
                        "tag": a.tag,
                        "initial_data_sha256": null,
                    })
                })
                .collect(),
        );
        m.insert(
            "parameters".into(),
            self.parameters
                .iter()
                .map(|p| {
                    json!({"area": p.area, "byte_offset": p.byte_offset, "type": p.parameter.name()})
                })
                .collect(),
        );
        m.insert("vp_context_page".into(), json!(self.vp_context_page));
        m.insert(
            "relocation_regions".into(),
            self.relocation_regions
                .iter()
                .map(|r| {
                    json!({
                        "gpa": hex(r.gpa),
                        "size_bytes": hex(r.size_bytes),
                        "alignment": hex(r.alignment),
                        "minimum_gpa": hex(r.minimum_gpa),
                        "maximum_gpa": hex(r.maximum_gpa),
                        "apply_rip_offset": r.apply_rip_offset,
                        "apply_gdtr_offset": r.apply_gdtr_offset,
                        "vp_index": r.vp_index,
                    })
                })
                .collect(),
        );
        m.insert(
            "page_table_relocations".into(),
            self.page_table_relocations
                .iter()
                .map(|r| {
                    json!({
                        "gpa": hex(r.gpa),
                        "size_pages": r.size_pages,
                        "used_pages": r.used_pages,
                        "vp_index": r.vp_index,
                    })
                })
                .collect(),
        );
        m.insert(
            "imported_regions_config_page".into(),
            json!(self.imported_regions_config_page),
        );
        if let Some(page) = self.expected_page_hashes_config_page {
            m.insert("expected_page_hashes_config_page".into(), json!(page));
        }
        Value::Object(m)
    }
}

/// What the summary importer refuses (each makes the load fail): the
/// image rules shared with the recording importer.
pub type SummaryError = crate::recording::RecordingError;

#[derive(Debug)]
struct RecordedImport {
    page_base: u64,
    page_count: u64,
    tag: &'static str,
    acceptance: PageAcceptance,
    /// The data (empty in streaming mode, where it is hashed on arrival).
    data: Vec<u8>,
}

/// Streaming mode: imports hashed as they arrive, each continuing the
/// chain whose pages end where it starts (same tag and acceptance).
#[derive(Debug, Clone)]
struct Chain {
    page_base: u64,
    page_count: u64,
    tag: &'static str,
    acceptance: PageAcceptance,
    hasher: Sha256,
}

/// Hashes `data` and the zero padding to the end of `page_count` pages.
fn hash_padded(h: &mut Sha256, data: &[u8], page_count: u64) {
    const ZEROS: [u8; PAGE_SIZE as usize] = [0u8; PAGE_SIZE as usize];
    h.update(data);
    let total = page_count.saturating_mul(PAGE_SIZE);
    let mut pad = total.saturating_sub(data.len() as u64);
    while pad > 0 {
        let n = pad.min(PAGE_SIZE);
        h.update(ZEROS.get(..n as usize).unwrap_or(&[]));
        pad = pad.saturating_sub(n);
    }
}

/// An importer that records everything and produces an [`ImageSummary`].
///
/// [`SummaryImporter::new`] keeps a copy of every import's data until
/// [`finish`](SummaryImporter::finish); [`SummaryImporter::streaming`]
/// hashes data as it arrives and keeps none, which works whenever each
/// import that continues a run of pages arrives after the imports before
/// it (the loaders' order); otherwise [`needs_replay`](SummaryImporter::needs_replay)
/// says to run the load again with [`SummaryImporter::new`].
#[derive(Debug)]
pub struct SummaryImporter {
    arch: Arch,
    isolation: IsolationConfig,
    startup_memory: Vec<(u64, u64, StartupMemoryType)>,
    imports: Vec<RecordedImport>,
    registers: BTreeMap<&'static str, RegisterValue>,
    parameter_areas: Vec<ParameterAreaRecord>,
    parameters: Vec<ParameterRecord>,
    vp_context_page: Option<u64>,
    relocation_regions: Vec<RelocationRegion>,
    page_table_relocations: Vec<PageTableRelocation>,
    imported_regions_config_page: Option<u64>,
    expected_page_hashes_config_page: Option<u64>,
    invalid: Option<String>,
    /// `Some` in streaming mode.
    chains: Option<Vec<Chain>>,
}

impl SummaryImporter {
    /// A summary importer for a load on `arch` with `isolation`.
    pub fn new(arch: Arch, isolation: IsolationConfig) -> Self {
        Self {
            arch,
            isolation,
            startup_memory: Vec::new(),
            imports: Vec::new(),
            registers: BTreeMap::new(),
            parameter_areas: Vec::new(),
            parameters: Vec::new(),
            vp_context_page: None,
            relocation_regions: Vec::new(),
            page_table_relocations: Vec::new(),
            imported_regions_config_page: None,
            expected_page_hashes_config_page: None,
            invalid: None,
            chains: None,
        }
    }

    /// A summary importer that hashes each import's pages when they arrive
    /// and keeps no data (peak memory independent of the image size). Same
    /// summary as [`SummaryImporter::new`] unless
    /// [`needs_replay`](Self::needs_replay) says otherwise.
    pub fn streaming(arch: Arch, isolation: IsolationConfig) -> Self {
        Self {
            chains: Some(Vec::new()),
            ..Self::new(arch, isolation)
        }
    }

    /// In streaming mode: whether two chains of imports hashed apart would
    /// be one run of the summary (an import arrived before one that
    /// precedes it in a run). The summary of such a load can only be made
    /// by loading again into [`SummaryImporter::new`]; [`finish`](Self::finish)
    /// refuses it. Always false for [`SummaryImporter::new`].
    pub fn needs_replay(&self) -> bool {
        let Some(chains) = &self.chains else {
            return false;
        };
        let mut order: Vec<&Chain> = chains.iter().collect();
        order.sort_by_key(|c| c.page_base);
        order.windows(2).any(|pair| match pair {
            [a, b] => {
                a.tag == b.tag
                    && a.acceptance == b.acceptance
                    && a.page_base.saturating_add(a.page_count) == b.page_base
            }
            _ => false,
        })
    }

    /// Whether any call at all reached the importer apart from
    /// `isolation_config` (for tests: a failed load must make none that
    /// imports anything).
    pub fn imported_anything(&self) -> bool {
        !self.imports.is_empty()
            || !self.registers.is_empty()
            || !self.parameter_areas.is_empty()
            || !self.parameters.is_empty()
            || self.vp_context_page.is_some()
            || !self.relocation_regions.is_empty()
            || !self.page_table_relocations.is_empty()
            || self.imported_regions_config_page.is_some()
            || self.expected_page_hashes_config_page.is_some()
    }

    /// Normalises what was recorded into a summary. `load_result` is the
    /// loader's result: an error (its text) makes the summary `ok: false`.
    pub fn finish<T, E: core::fmt::Display>(self, load_result: Result<T, E>) -> ImageSummary {
        if let Err(e) = load_result {
            return ImageSummary::failed(self.arch, e.to_string());
        }
        if let Some(e) = self.invalid {
            return ImageSummary::failed(self.arch, e);
        }
        let arch = self.arch;
        if self.needs_replay() {
            return ImageSummary::failed(
                arch,
                "streaming summary: an import arrived before one that precedes it in the \
                 same run; load again into SummaryImporter::new"
                    .into(),
            );
        }
        match self.merge_pages() {
            Ok(pages) => ImageSummary {
                arch,
                error: None,
                startup_memory: self.startup_memory,
                pages,
                registers: self.registers,
                parameter_areas: self.parameter_areas,
                parameters: self.parameters,
                vp_context_page: self.vp_context_page,
                relocation_regions: self.relocation_regions,
                page_table_relocations: self.page_table_relocations,
                imported_regions_config_page: self.imported_regions_config_page,
                expected_page_hashes_config_page: self.expected_page_hashes_config_page,
            },
            Err(e) => ImageSummary::failed(arch, e),
        }
    }

    fn merge_pages(&self) -> Result<Vec<PageRun>, String> {
        let mut order: Vec<&RecordedImport> = self.imports.iter().collect();
        order.sort_by_key(|i| i.page_base);
        // Overlap: after sorting, each import must start at or after the end
        // of the previous one.
        for pair in order.windows(2) {
            if let [a, b] = pair {
                let a_end = a.page_base.saturating_add(a.page_count);
                if b.page_base < a_end {
                    return Err(format!(
                        "imports overlap: \"{}\" pages {:#x}..{:#x} and \"{}\" pages {:#x}..{:#x}",
                        a.tag,
                        a.page_base,
                        a_end,
                        b.tag,
                        b.page_base,
                        b.page_base.saturating_add(b.page_count)
                    ));
                }
            }
        }
        if let Some(chains) = &self.chains {
            // Streaming: with no overlap and no replay needed, each chain
            // is exactly one run, hashed in page order.
            let mut chains: Vec<&Chain> = chains.iter().collect();
            chains.sort_by_key(|c| c.page_base);
            return Ok(chains
                .into_iter()
                .map(|c| PageRun {
                    page_base: c.page_base,
                    page_count: c.page_count,
                    tag: c.tag,
                    acceptance: c.acceptance,
                    sha256: hex_digest(c.hasher.clone()),
                })
                .collect());
        }
        let mut runs: Vec<PageRun> = Vec::new();
        let mut hasher: Option<Sha256> = None;
        let zeros = [0u8; PAGE_SIZE as usize];
        for import in order {
            let continues = runs.last().is_some_and(|r| {
                r.tag == import.tag
                    && r.acceptance == import.acceptance
                    && r.page_base.saturating_add(r.page_count) == import.page_base
            });
            if !continues {
                if let (Some(run), Some(h)) = (runs.last_mut(), hasher.take()) {
                    run.sha256 = hex_digest(h);
                }
                runs.push(PageRun {
                    page_base: import.page_base,
                    page_count: 0,
                    tag: import.tag,
                    acceptance: import.acceptance,
                    sha256: String::new(),
                });
                hasher = Some(Sha256::new());
            }
            let h = hasher.get_or_insert_with(Sha256::new);
            h.update(&import.data);
            // Zero padding to the end of the pages (the length was checked
            // when the import was recorded).
            let total = import.page_count.saturating_mul(PAGE_SIZE);
            let mut pad = total.saturating_sub(import.data.len() as u64);
            while pad > 0 {
                let n = pad.min(PAGE_SIZE);
                h.update(zeros.get(..n as usize).unwrap_or(&[]));
                pad = pad.saturating_sub(n);
            }
            if let Some(run) = runs.last_mut() {
                run.page_count = run.page_count.saturating_add(import.page_count);
            }
        }
        if let (Some(run), Some(h)) = (runs.last_mut(), hasher.take()) {
            run.sha256 = hex_digest(h);
        }
        Ok(runs)
    }

    fn record_register(
        &mut self,
        name: &'static str,
        value: RegisterValue,
    ) -> Result<(), SummaryError> {
        if self.registers.contains_key(name) {
            return Err(SummaryError::DuplicateRegister { name });
        }
        self.registers.insert(name, value);
        Ok(())
    }
}

fn hex_digest(h: Sha256) -> String {
    use core::fmt::Write;
    let digest = h.finalize();
    let mut s = String::with_capacity(64);
    for b in digest {
        let _ = write!(s, "{b:02x}");
    }
    s
}

impl ImportPages for SummaryImporter {
    type Error = SummaryError;

    fn import_pages(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &'static str,
        acceptance: PageAcceptance,
        data: &[u8],
    ) -> Result<(), SummaryError> {
        let capacity = page_count
            .checked_mul(PAGE_SIZE)
            .filter(|_| page_base.checked_add(page_count).is_some())
            .ok_or(SummaryError::PageOverflow {
                tag,
                page_base,
                page_count,
            })?;
        if data.len() as u64 > capacity {
            return Err(SummaryError::DataTooLong {
                tag,
                page_base,
                page_count,
                data_len: data.len(),
            });
        }
        // Rule 1: a 0-page import (with no data) is ignored.
        if page_count == 0 {
            return Ok(());
        }
        let data = match &mut self.chains {
            None => data.to_vec(),
            Some(chains) => {
                let continues = chains.iter().rposition(|c| {
                    c.tag == tag
                        && c.acceptance == acceptance
                        && c.page_base.saturating_add(c.page_count) == page_base
                });
                let index = match continues {
                    Some(i) => i,
                    None => {
                        chains.push(Chain {
                            page_base,
                            page_count: 0,
                            tag,
                            acceptance,
                            hasher: Sha256::new(),
                        });
                        chains.len().saturating_sub(1)
                    }
                };
                if let Some(chain) = chains.get_mut(index) {
                    hash_padded(&mut chain.hasher, data, page_count);
                    chain.page_count = chain.page_count.saturating_add(page_count);
                }
                Vec::new()
            }
        };
        self.imports.push(RecordedImport {
            page_base,
            page_count,
            tag,
            acceptance,
            data,
        });
        Ok(())
    }
}

impl<R: SummaryRegister> ParavisorImporter<R> for SummaryImporter {
    fn isolation_config(&self) -> IsolationConfig {
        self.isolation
    }

    fn verify_startup_memory_available(
        &mut self,
        page_base: u64,
        page_count: u64,
        memory_type: StartupMemoryType,
    ) -> Result<(), SummaryError> {
        self.startup_memory
            .push((page_base, page_count, memory_type));
        Ok(())
    }

    fn create_parameter_area(
        &mut self,
        page_base: u64,
        page_count: u32,
        tag: &'static str,
    ) -> Result<ParameterAreaIndex, SummaryError> {
        let index = u32::try_from(self.parameter_areas.len()).unwrap_or(u32::MAX);
        self.parameter_areas.push(ParameterAreaRecord {
            index,
            page_base,
            page_count,
            tag,
        });
        Ok(ParameterAreaIndex(index))
    }

    fn import_parameter(
        &mut self,
        area: ParameterAreaIndex,
        byte_offset: u32,
        parameter: ParameterType,
    ) -> Result<(), SummaryError> {
        if area.0 as usize >= self.parameter_areas.len() {
            return Err(SummaryError::UnknownParameterArea { area: area.0 });
        }
        self.parameters.push(ParameterRecord {
            area: area.0,
            byte_offset,
            parameter,
        });
        Ok(())
    }

    fn import_vp_register(&mut self, register: R) -> Result<(), SummaryError> {
        self.record_register(register.summary_name(), register.summary_value())
    }

    fn set_vp_context_page(&mut self, page_base: u64) -> Result<(), SummaryError> {
        if let Some(first) = self.vp_context_page {
            return Err(SummaryError::VpContextPageTwice {
                first,
                second: page_base,
            });
        }
        self.vp_context_page = Some(page_base);
        Ok(())
    }

    fn relocation_region(&mut self, region: RelocationRegion) -> Result<(), SummaryError> {
        self.relocation_regions.push(region);
        Ok(())
    }

    fn page_table_relocation(
        &mut self,
        relocation: PageTableRelocation,
    ) -> Result<(), SummaryError> {
        self.page_table_relocations.push(relocation);
        Ok(())
    }

    fn set_imported_regions_config_page(&mut self, page_base: u64) {
        set_once(
            &mut self.imported_regions_config_page,
            &mut self.invalid,
            "imported-regions",
            page_base,
        );
    }

    fn set_expected_page_hashes_config_page(&mut self, page_base: u64) {
        set_once(
            &mut self.expected_page_hashes_config_page,
            &mut self.invalid,
            "expected-page-hashes",
            page_base,
        );
    }
}

/// Records a config page that may be named once; a second call makes the
/// image invalid (the calls cannot fail).
fn set_once(slot: &mut Option<u64>, invalid: &mut Option<String>, what: &str, page_base: u64) {
    if let Some(first) = *slot {
        invalid.get_or_insert_with(|| {
            format!("{what} config page set twice (pages {first:#x} and {page_base:#x})")
        });
    }
    *slot = Some(page_base);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::importer::IsolationType;

    fn importer() -> SummaryImporter {
        SummaryImporter::new(
            Arch::X86_64,
            IsolationConfig {
                isolation_type: IsolationType::None,
                paravisor_present: true,
                shared_gpa_boundary_bits: None,
            },
        )
    }

    fn sha(bytes: &[u8]) -> String {
        hex_digest({
            let mut h = Sha256::new();
            h.update(bytes);
            h
        })
    }

    const E: PageAcceptance = PageAcceptance::Exclusive;

    #[test]
    fn split_imports_merge_into_one_run_with_the_hash_of_the_whole_pages() {
        // formats.md §2: one call or 1-page chunks give the same summary.
        let data: Vec<u8> = (0..3 * 4096 + 10).map(|i| (i % 251) as u8).collect();
        let mut one = importer();
        one.import_pages(0x100, 4, "t", E, &data).unwrap();
        let mut split = importer();
        // Out of order, too: pages are sorted.
        split
            .import_pages(0x102, 2, "t", E, &data[2 * 4096..])
            .unwrap();
        split
            .import_pages(0x100, 2, "t", E, &data[..2 * 4096])
            .unwrap();
        let (a, b) = (
            one.finish::<(), &str>(Ok(())),
            split.finish::<(), &str>(Ok(())),
        );
        assert_eq!(a, b);
        assert_eq!(a.pages.len(), 1);
        assert_eq!((a.pages[0].page_base, a.pages[0].page_count), (0x100, 4));
        let mut padded = data.clone();
        padded.resize(4 * 4096, 0);
        assert_eq!(a.pages[0].sha256, sha(&padded));
    }

    #[test]
    fn runs_split_on_tag_acceptance_or_a_hole() {
        let mut i = importer();
        i.import_pages(0, 1, "a", E, &[]).unwrap();
        i.import_pages(1, 1, "b", E, &[]).unwrap();
        i.import_pages(2, 1, "b", PageAcceptance::Shared, &[])
            .unwrap();
        i.import_pages(4, 1, "b", PageAcceptance::Shared, &[])
            .unwrap();
        let s = i.finish::<(), &str>(Ok(()));
        let bases: Vec<u64> = s.pages.iter().map(|r| r.page_base).collect();
        assert_eq!(bases, [0, 1, 2, 4]);
        // The SHA-256 of one zero page (spec value used across the goldens).
        assert_eq!(
            s.pages[0].sha256,
            "ad7facb2586fc6e966c004d7d1d16b024f5805ff7cb47c7a85dabd8b48892ca7"
        );
    }

    #[test]
    fn zero_page_imports_are_ignored() {
        let mut i = importer();
        i.import_pages(5, 0, "linux-initrd", E, &[]).unwrap();
        let s = i.finish::<(), &str>(Ok(()));
        assert!(s.ok() && s.pages.is_empty());
    }

    #[test]
    fn invalid_images_make_the_load_fail() {
        // Overlap.
        let mut i = importer();
        i.import_pages(0, 2, "a", E, &[]).unwrap();
        i.import_pages(1, 1, "b", E, &[]).unwrap();
        let s = i.finish::<(), &str>(Ok(()));
        assert!(!s.ok() && s.error.as_deref().unwrap().contains("overlap"));
        assert!(s.pages.is_empty() && s.registers.is_empty());
        // Data longer than the pages, and data on a 0-page import.
        let mut i = importer();
        assert!(i.import_pages(0, 1, "a", E, &[0; 4097]).is_err());
        assert!(i.import_pages(0, 0, "a", E, &[0; 1]).is_err());
        // A register twice.
        let mut i = importer();
        let r = X86Register::Rip(1);
        ParavisorImporter::<X86Register>::import_vp_register(&mut i, r).unwrap();
        assert!(ParavisorImporter::<X86Register>::import_vp_register(&mut i, r).is_err());
        // The VP context page twice.
        let mut i = importer();
        ParavisorImporter::<X86Register>::set_vp_context_page(&mut i, 1).unwrap();
        assert!(ParavisorImporter::<X86Register>::set_vp_context_page(&mut i, 2).is_err());
        // The imported-regions page twice (no error return: the summary is
        // invalid).
        let mut i = importer();
        ParavisorImporter::<X86Register>::set_imported_regions_config_page(&mut i, 1);
        ParavisorImporter::<X86Register>::set_imported_regions_config_page(&mut i, 1);
        assert!(!i.finish::<(), &str>(Ok(())).ok());
    }

    #[test]
    fn expected_page_hashes_key_only_when_announced() {
        // docs/abi-versions.md §1: the key exists only at main-1488a37b.
        let v = importer().finish::<(), &str>(Ok(())).to_json();
        assert!(v.get("expected_page_hashes_config_page").is_none());
        let mut i = importer();
        ParavisorImporter::<X86Register>::set_expected_page_hashes_config_page(&mut i, 33667);
        assert!(i.imported_anything());
        let v = i.finish::<(), &str>(Ok(())).to_json();
        assert_eq!(v["expected_page_hashes_config_page"], json!(33667));
        let mut i = importer();
        ParavisorImporter::<X86Register>::set_expected_page_hashes_config_page(&mut i, 1);
        ParavisorImporter::<X86Register>::set_expected_page_hashes_config_page(&mut i, 2);
        assert!(!i.finish::<(), &str>(Ok(())).ok());
    }

    #[test]
    fn a_failed_load_has_empty_lists_and_null_fields() {
        // formats.md §3 rule 2.
        let mut i = importer();
        i.import_pages(0, 1, "a", E, &[]).unwrap();
        let v = i.finish::<(), _>(Err("boom")).to_json();
        assert_eq!(v["ok"], json!(false));
        assert_eq!(v["error"], json!("boom"));
        assert_eq!(v["pages"], json!([]));
        assert_eq!(v["registers"], json!({}));
        assert_eq!(v["vp_context_page"], Value::Null);
        assert_eq!(v["imported_regions_config_page"], Value::Null);
    }

    #[test]
    fn register_values_are_lower_case_hex_strings() {
        let seg = RegisterValue::Segment {
            selector: 0x10,
            base: 0,
            limit: 0xFFFF_FFFF,
            attributes: 0xA09B,
        };
        assert_eq!(
            seg.to_json(),
            json!({"selector": "0x10", "base": "0x0", "limit": "0xffffffff", "attributes": "0xa09b"})
        );
        assert_eq!(
            RegisterValue::Plain(0x8495000).to_json(),
            json!("0x8495000")
        );
    }
}

//! The image summary as a value ([`ImageSummary`]) and as JSON.

use crate::load::Arch;
use crate::register::RegisterValue;
use crate::register::hex;
use paravisor_loader::PageAcceptance;
use paravisor_loader::PageTableRelocation;
use paravisor_loader::ParameterType;
use paravisor_loader::RelocationRegion;
use paravisor_loader::StartupMemoryType;
use serde_json::Map;
use serde_json::Value;
use serde_json::json;
use std::collections::BTreeMap;

/// The `format` string of an image summary.
pub const SUMMARY_FORMAT: &str = "paravisor-image-summary/1";

/// The lower snake-case name of an acceptance (docs/formats.md §2).
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
    /// A valid summary of a load that imported nothing (what the summary
    /// importer starts from).
    pub(super) fn empty(arch: Arch) -> Self {
        Self {
            arch,
            error: None,
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

    /// The summary of a failed load: `ok: false`, everything else empty
    /// (docs/formats.md §3 rule 2).
    pub fn failed(arch: Arch, error: String) -> Self {
        Self {
            error: Some(error),
            ..Self::empty(arch)
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

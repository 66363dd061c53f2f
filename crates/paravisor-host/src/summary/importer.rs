//! [`SummaryImporter`]: records a load and normalises it into an
//! [`ImageSummary`].
//!
//! A summary is invalid — the load counts as failed — when a call breaks an
//! image rule (docs/formats.md §3 rule 3, checked by [`ImageRules`]): the
//! calls that can fail refuse it; overlapping imports and a config page
//! named twice are reported in the summary.

use super::image::ImageSummary;
use super::image::PageRun;
use super::image::ParameterAreaRecord;
use super::image::ParameterRecord;
use crate::load::Arch;
use crate::register::RegisterValue;
use crate::register::SummaryRegister;
use crate::rules::ImageRuleError;
use crate::rules::ImageRules;
use paravisor_loader::ImportPages;
use paravisor_loader::IsolationConfig;
use paravisor_loader::PAGE_SIZE;
use paravisor_loader::PageAcceptance;
use paravisor_loader::PageTableRelocation;
use paravisor_loader::ParameterAreaIndex;
use paravisor_loader::ParameterType;
use paravisor_loader::ParavisorImporter;
use paravisor_loader::RelocationRegion;
use paravisor_loader::StartupMemoryType;
use sha2::Digest;
use sha2::Sha256;

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
    isolation: IsolationConfig,
    /// Everything but the page runs, as the summary lists it.
    recorded: ImageSummary,
    imports: Vec<RecordedImport>,
    /// The first image-rule violation reported in the summary rather
    /// than refused (overlaps, a config page named twice).
    invalid: Option<ImageRuleError>,
    rules: ImageRules,
    /// `Some` in streaming mode.
    chains: Option<Vec<Chain>>,
}

impl SummaryImporter {
    /// A summary importer for a load on `arch` with `isolation`.
    pub fn new(arch: Arch, isolation: IsolationConfig) -> Self {
        Self {
            isolation,
            recorded: ImageSummary::empty(arch),
            imports: Vec::new(),
            invalid: None,
            rules: ImageRules::new(),
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
        let recorded = &self.recorded;
        !self.imports.is_empty()
            || !recorded.registers.is_empty()
            || !recorded.parameter_areas.is_empty()
            || !recorded.parameters.is_empty()
            || recorded.vp_context_page.is_some()
            || !recorded.relocation_regions.is_empty()
            || !recorded.page_table_relocations.is_empty()
            || recorded.imported_regions_config_page.is_some()
            || recorded.expected_page_hashes_config_page.is_some()
    }

    /// Normalises what was recorded into a summary. `load_result` is the
    /// loader's result: an error (its text) makes the summary `ok: false`.
    pub fn finish<T, E: core::fmt::Display>(self, load_result: Result<T, E>) -> ImageSummary {
        let arch = self.recorded.arch;
        if let Err(e) = load_result {
            return ImageSummary::failed(arch, e.to_string());
        }
        if let Some(e) = self.invalid {
            return ImageSummary::failed(arch, e.to_string());
        }
        if self.needs_replay() {
            return ImageSummary::failed(
                arch,
                "streaming summary: an import arrived before one that precedes it in the \
                 same run; load again into SummaryImporter::new"
                    .into(),
            );
        }
        let pages = self.merge_pages();
        ImageSummary {
            pages,
            ..self.recorded
        }
    }

    /// The page runs in ascending order (the image rules refused
    /// overlapping imports as they arrived).
    fn merge_pages(&self) -> Vec<PageRun> {
        let mut order: Vec<&RecordedImport> = self.imports.iter().collect();
        order.sort_by_key(|i| i.page_base);
        if let Some(chains) = &self.chains {
            // Streaming: with no overlap and no replay needed, each chain
            // is exactly one run, hashed in page order.
            let mut chains: Vec<&Chain> = chains.iter().collect();
            chains.sort_by_key(|c| c.page_base);
            return chains
                .into_iter()
                .map(|c| PageRun {
                    page_base: c.page_base,
                    page_count: c.page_count,
                    tag: c.tag,
                    acceptance: c.acceptance,
                    sha256: hex_digest(c.hasher.clone()),
                })
                .collect();
        }
        let mut runs: Vec<PageRun> = Vec::new();
        let mut hasher: Option<Sha256> = None;
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
            // The data fits its pages (checked when the import arrived).
            hash_padded(
                hasher.get_or_insert_with(Sha256::new),
                &import.data,
                import.page_count,
            );
            if let Some(run) = runs.last_mut() {
                run.page_count = run.page_count.saturating_add(import.page_count);
            }
        }
        if let (Some(run), Some(h)) = (runs.last_mut(), hasher.take()) {
            run.sha256 = hex_digest(h);
        }
        runs
    }

    fn record_register(
        &mut self,
        name: &'static str,
        value: RegisterValue,
    ) -> Result<(), ImageRuleError> {
        self.rules.import_vp_register(name)?;
        self.recorded.registers.insert(name, value);
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
    type Error = ImageRuleError;

    fn import_pages(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &'static str,
        acceptance: PageAcceptance,
        data: &[u8],
    ) -> Result<(), ImageRuleError> {
        match self
            .rules
            .import_pages(page_base, page_count, tag, data.len())
        {
            // Overlapping imports make the summary invalid (reported by
            // `finish`); the load goes on.
            Err(e @ ImageRuleError::Overlap { .. }) => {
                self.invalid.get_or_insert(e);
                return Ok(());
            }
            result => result?,
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
    ) -> Result<(), ImageRuleError> {
        self.rules.startup_memory(page_base, page_count)?;
        self.recorded
            .startup_memory
            .push((page_base, page_count, memory_type));
        Ok(())
    }

    fn create_parameter_area(
        &mut self,
        page_base: u64,
        page_count: u32,
        tag: &'static str,
    ) -> Result<ParameterAreaIndex, ImageRuleError> {
        let index = self
            .rules
            .create_parameter_area(page_base, page_count, tag)?;
        self.recorded.parameter_areas.push(ParameterAreaRecord {
            index: index.0,
            page_base,
            page_count,
            tag,
        });
        Ok(index)
    }

    fn import_parameter(
        &mut self,
        area: ParameterAreaIndex,
        byte_offset: u32,
        parameter: ParameterType,
    ) -> Result<(), ImageRuleError> {
        self.rules.import_parameter(area)?;
        self.recorded.parameters.push(ParameterRecord {
            area: area.0,
            byte_offset,
            parameter,
        });
        Ok(())
    }

    fn import_vp_register(&mut self, register: R) -> Result<(), ImageRuleError> {
        self.record_register(register.summary_name(), register.summary_value())
    }

    fn set_vp_context_page(&mut self, page_base: u64) -> Result<(), ImageRuleError> {
        self.rules.set_vp_context_page(page_base)?;
        self.recorded.vp_context_page = Some(page_base);
        Ok(())
    }

    fn relocation_region(&mut self, region: RelocationRegion) -> Result<(), ImageRuleError> {
        self.recorded.relocation_regions.push(region);
        Ok(())
    }

    fn page_table_relocation(
        &mut self,
        relocation: PageTableRelocation,
    ) -> Result<(), ImageRuleError> {
        self.recorded.page_table_relocations.push(relocation);
        Ok(())
    }

    fn set_imported_regions_config_page(&mut self, page_base: u64) {
        // A second call makes the image invalid (the call cannot fail).
        if let Err(e) = self.rules.set_imported_regions_config_page(page_base) {
            self.invalid.get_or_insert(e);
        }
        self.recorded.imported_regions_config_page = Some(page_base);
    }

    fn set_expected_page_hashes_config_page(&mut self, page_base: u64) {
        if let Err(e) = self.rules.set_expected_page_hashes_config_page(page_base) {
            self.invalid.get_or_insert(e);
        }
        self.recorded.expected_page_hashes_config_page = Some(page_base);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paravisor_loader::IsolationType;
    use serde_json::Value;
    use serde_json::json;
    use vp_regs::x86_64::X86Register;

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
        // docs/formats.md §2: one call or 1-page chunks give the same summary.
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
        // docs/formats.md §3 rule 2.
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
}

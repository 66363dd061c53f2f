//! The recording importer: every call a loader makes, in order, with owned
//! page data, checked against the image rules (docs/formats.md §3 rule 3,
//! [`ImageRules`]) as the calls arrive.
//!
//! Used by the boot runners (through `paravisor-boot`), which turn a
//! recording into the image they boot, and by the workspace's tests, which
//! compare the calls with the spec.

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

/// One `import_pages` call, with a copy of its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageImport {
    /// First page number.
    pub page_base: u64,
    /// Number of pages.
    pub page_count: u64,
    /// The loader's tag ("underhill-shim-params", …).
    pub tag: &'static str,
    /// Acceptance.
    pub acceptance: PageAcceptance,
    /// The data (may be shorter than the pages: the rest is zero).
    pub data: Vec<u8>,
}

impl PageImport {
    /// GPA of the first page.
    pub fn gpa(&self) -> u64 {
        self.page_base.saturating_mul(PAGE_SIZE)
    }

    /// Size of the pages in bytes.
    pub fn size(&self) -> u64 {
        self.page_count.saturating_mul(PAGE_SIZE)
    }
}

/// One call a [`RecordingImporter`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call<R> {
    /// `verify_startup_memory_available` (a check, not an import).
    VerifyStartupMemory {
        /// First page.
        page_base: u64,
        /// Pages.
        page_count: u64,
        /// Memory type.
        memory_type: StartupMemoryType,
    },
    /// `import_pages`.
    ImportPages(PageImport),
    /// `create_parameter_area`.
    CreateParameterArea {
        /// First page.
        page_base: u64,
        /// Pages.
        page_count: u32,
        /// Tag.
        tag: &'static str,
    },
    /// `import_parameter`.
    ImportParameter {
        /// Area index (creation order).
        area: u32,
        /// Byte offset in the area.
        byte_offset: u32,
        /// Parameter type.
        parameter: ParameterType,
    },
    /// `import_vp_register`.
    Register(R),
    /// `set_vp_context_page`.
    VpContextPage(u64),
    /// `relocation_region`.
    RelocationRegion(RelocationRegion),
    /// `page_table_relocation`.
    PageTableRelocation(PageTableRelocation),
    /// `set_imported_regions_config_page`.
    ImportedRegionsPage(u64),
    /// `set_expected_page_hashes_config_page` (`main-1488a37b` only).
    ExpectedPageHashesPage(u64),
}

impl<R> Call<R> {
    /// Whether the call imports or records something (everything but the
    /// startup-memory check).
    pub fn is_import(&self) -> bool {
        !matches!(self, Self::VerifyStartupMemory { .. })
    }
}

/// Records every call in order (page data copied), refusing what
/// docs/formats.md §3 rule 3 calls an invalid image ([`ImageRules`]; a
/// config page named twice is recorded, as those calls cannot fail).
/// Parameter areas get indices in creation order.
#[derive(Debug, Clone)]
pub struct RecordingImporter<R> {
    isolation: IsolationConfig,
    calls: Vec<Call<R>>,
    rules: ImageRules,
    join_adjacent: bool,
}

impl<R> RecordingImporter<R> {
    /// A recording importer reporting `isolation` to the loader.
    pub fn new(isolation: IsolationConfig) -> Self {
        Self {
            isolation,
            calls: Vec::new(),
            rules: ImageRules::new(),
            join_adjacent: false,
        }
    }

    /// Makes a page import that continues the previous page import (same
    /// tag and acceptance, starting where it ends) extend that record
    /// instead of adding a call: each run is then one [`PageImport`], its
    /// data zero-filled between the parts.
    pub fn joining_adjacent_imports(mut self) -> Self {
        self.join_adjacent = true;
        self
    }

    /// Every call, in order.
    pub fn calls(&self) -> &[Call<R>] {
        &self.calls
    }

    /// Every call, by value.
    pub fn into_calls(self) -> Vec<Call<R>> {
        self.calls
    }

    /// Calls that imported or recorded something (all but the
    /// startup-memory checks).
    pub fn imports(&self) -> Vec<&Call<R>> {
        self.calls.iter().filter(|c| c.is_import()).collect()
    }

    /// The page imports, in call order.
    pub fn page_imports(&self) -> impl Iterator<Item = &PageImport> {
        self.calls.iter().filter_map(|c| match c {
            Call::ImportPages(import) => Some(import),
            _ => None,
        })
    }

    /// The page imports, for tests that break an image on purpose.
    pub fn page_imports_mut(&mut self) -> impl Iterator<Item = &mut PageImport> {
        self.calls.iter_mut().filter_map(|c| match c {
            Call::ImportPages(import) => Some(import),
            _ => None,
        })
    }

    /// The registers, in import order.
    pub fn registers(&self) -> impl Iterator<Item = &R> {
        self.calls.iter().filter_map(|c| match c {
            Call::Register(r) => Some(r),
            _ => None,
        })
    }

    /// `(page_base, page_count, type)` of each startup-memory check.
    pub fn startup_memory(&self) -> Vec<(u64, u64, StartupMemoryType)> {
        self.calls
            .iter()
            .filter_map(|c| match *c {
                Call::VerifyStartupMemory {
                    page_base,
                    page_count,
                    memory_type,
                } => Some((page_base, page_count, memory_type)),
                _ => None,
            })
            .collect()
    }

    /// Relocation regions the loader described.
    pub fn relocation_regions(&self) -> Vec<RelocationRegion> {
        self.calls
            .iter()
            .filter_map(|c| match c {
                Call::RelocationRegion(r) => Some(*r),
                _ => None,
            })
            .collect()
    }

    /// Page-table relocation records the loader described.
    pub fn page_table_relocations(&self) -> Vec<PageTableRelocation> {
        self.calls
            .iter()
            .filter_map(|c| match c {
                Call::PageTableRelocation(r) => Some(*r),
                _ => None,
            })
            .collect()
    }

    /// The VP-context (SNP VMSA) page, if the loader set one.
    pub fn vp_context_page(&self) -> Option<u64> {
        self.calls.iter().find_map(|c| match *c {
            Call::VpContextPage(page) => Some(page),
            _ => None,
        })
    }

    /// Records `call` (after the image rules accepted it).
    fn record(&mut self, call: Call<R>) -> Result<(), ImageRuleError> {
        self.calls.push(call);
        Ok(())
    }

    /// The last page import, if it is continued by pages at `page_base`
    /// with this tag and acceptance.
    fn continued(
        &mut self,
        page_base: u64,
        tag: &'static str,
        acceptance: PageAcceptance,
    ) -> Option<&mut PageImport> {
        let last = self.page_imports_mut().last()?;
        (last.tag == tag
            && last.acceptance == acceptance
            && last.page_base.checked_add(last.page_count) == Some(page_base))
        .then_some(last)
    }
}

impl<R> ImportPages for RecordingImporter<R> {
    type Error = ImageRuleError;

    fn import_pages(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &'static str,
        acceptance: PageAcceptance,
        data: &[u8],
    ) -> Result<(), ImageRuleError> {
        self.rules
            .import_pages(page_base, page_count, tag, data.len())?;
        if self.join_adjacent
            && let Some(last) = self.continued(page_base, tag, acceptance)
        {
            let filled = usize::try_from(last.size()).unwrap_or(usize::MAX);
            last.data.resize(filled, 0);
            last.data.extend_from_slice(data);
            last.page_count = last.page_count.saturating_add(page_count);
            return Ok(());
        }
        self.record(Call::ImportPages(PageImport {
            page_base,
            page_count,
            tag,
            acceptance,
            data: data.to_vec(),
        }))
    }
}

impl<R: SummaryRegister> ParavisorImporter<R> for RecordingImporter<R> {
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
        self.record(Call::VerifyStartupMemory {
            page_base,
            page_count,
            memory_type,
        })
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
        self.record(Call::CreateParameterArea {
            page_base,
            page_count,
            tag,
        })?;
        Ok(index)
    }

    fn import_parameter(
        &mut self,
        area: ParameterAreaIndex,
        byte_offset: u32,
        parameter: ParameterType,
    ) -> Result<(), ImageRuleError> {
        self.rules.import_parameter(area)?;
        self.record(Call::ImportParameter {
            area: area.0,
            byte_offset,
            parameter,
        })
    }

    fn import_vp_register(&mut self, register: R) -> Result<(), ImageRuleError> {
        self.rules.import_vp_register(register.summary_name())?;
        self.record(Call::Register(register))
    }

    fn set_vp_context_page(&mut self, page_base: u64) -> Result<(), ImageRuleError> {
        self.rules.set_vp_context_page(page_base)?;
        self.record(Call::VpContextPage(page_base))
    }

    fn relocation_region(&mut self, region: RelocationRegion) -> Result<(), ImageRuleError> {
        self.record(Call::RelocationRegion(region))
    }

    fn page_table_relocation(
        &mut self,
        relocation: PageTableRelocation,
    ) -> Result<(), ImageRuleError> {
        self.record(Call::PageTableRelocation(relocation))
    }

    fn set_imported_regions_config_page(&mut self, page_base: u64) {
        let _ = self.record(Call::ImportedRegionsPage(page_base));
    }

    fn set_expected_page_hashes_config_page(&mut self, page_base: u64) {
        let _ = self.record(Call::ExpectedPageHashesPage(page_base));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paravisor_loader::IsolationType;
    use vp_regs::x86_64::X86Register;

    fn importer() -> RecordingImporter<X86Register> {
        RecordingImporter::new(IsolationConfig {
            isolation_type: IsolationType::None,
            paravisor_present: true,
            shared_gpa_boundary_bits: None,
        })
    }

    #[test]
    fn calls_are_recorded_in_order_with_their_data() {
        let mut i = importer();
        i.verify_startup_memory_available(0x8000, 0x4000, StartupMemoryType::Vtl2ProtectableRam)
            .unwrap();
        i.import_pages(0x8000, 2, "a", PageAcceptance::Exclusive, &[1, 2, 3])
            .unwrap();
        i.import_vp_register(X86Register::Rip(0x1234)).unwrap();
        assert_eq!(i.calls().len(), 3);
        assert_eq!(i.imports().len(), 2);
        let pages: Vec<&PageImport> = i.page_imports().collect();
        assert_eq!(pages.len(), 1);
        assert_eq!(pages[0].data, vec![1, 2, 3]);
        assert_eq!((pages[0].gpa(), pages[0].size()), (0x800_0000, 0x2000));
        assert_eq!(i.registers().count(), 1);
    }

    #[test]
    fn image_rules_are_enforced() {
        let mut i = importer();
        i.import_pages(0x10, 4, "first", PageAcceptance::Exclusive, &[])
            .unwrap();
        assert_eq!(
            i.import_pages(0x13, 1, "second", PageAcceptance::Exclusive, &[]),
            Err(ImageRuleError::Overlap {
                tag: "second",
                page_base: 0x13,
                page_count: 1,
                other: "first"
            })
        );
        // A 0-page import overlaps nothing.
        i.import_pages(0x11, 0, "empty", PageAcceptance::Exclusive, &[])
            .unwrap();
        assert!(matches!(
            i.import_pages(1, 1, "big", PageAcceptance::Exclusive, &[0; 4097]),
            Err(ImageRuleError::DataTooLong { data_len: 4097, .. })
        ));
        assert!(matches!(
            i.import_pages(
                u64::MAX / PAGE_SIZE,
                1,
                "top",
                PageAcceptance::Exclusive,
                &[]
            ),
            Err(ImageRuleError::PageOverflow { .. })
        ));
        i.import_vp_register(X86Register::Rip(0)).unwrap();
        assert_eq!(
            i.import_vp_register(X86Register::Rip(1)),
            Err(ImageRuleError::DuplicateRegister { name: "rip" })
        );
        i.set_vp_context_page(5).unwrap();
        assert_eq!(
            i.set_vp_context_page(6),
            Err(ImageRuleError::VpContextPageTwice {
                first: 5,
                second: 6
            })
        );
    }

    #[test]
    fn adjacent_imports_join_only_when_asked() {
        let mut i = importer().joining_adjacent_imports();
        i.import_pages(0x10, 1, "t", PageAcceptance::Exclusive, &[1])
            .unwrap();
        i.import_vp_register(X86Register::Rip(0)).unwrap();
        i.import_pages(0x11, 1, "t", PageAcceptance::Exclusive, &[2])
            .unwrap();
        i.import_pages(0x12, 1, "u", PageAcceptance::Exclusive, &[])
            .unwrap();
        let pages: Vec<&PageImport> = i.page_imports().collect();
        assert_eq!(pages.len(), 2);
        assert_eq!((pages[0].page_count, pages[0].data.len()), (2, 4097));
        assert_eq!(pages[0].data[4096], 2);
    }
}

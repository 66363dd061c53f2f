//! The recording importer (`std` feature): every call a loader makes, in
//! order, with owned page data, checked against the image rules of
//! formats.md §3 rule 3 as the calls arrive.
//!
//! Used by the boot runners (`paravisor-kvm`, `paravisor-qemu`), which turn
//! a recording into the image they boot, and by the workspace's tests,
//! which compare the calls with the spec (and can make the `n`-th call fail
//! to check that a failed load stops at once).
//!
//! Refused, each with a [`RecordingError`]: page arithmetic that overflows
//! (the first page's GPA, the byte size, or their sum; for page imports,
//! startup memory and parameter areas), data longer than
//! its pages, two imports touching the same page, a register imported twice,
//! the VP-context page set twice, a parameter for an area never created.

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
use crate::summary::SummaryRegister;
use std::collections::BTreeMap;
use std::vec::Vec;

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

/// What a [`RecordingImporter`] refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordingError {
    /// Page arithmetic overflows: the first page's GPA, the byte size, or
    /// the end of the range does not fit in 64 bits.
    #[error("import \"{tag}\" at page {page_base:#x} with {page_count} pages overflows")]
    PageOverflow {
        /// Tag ("startup memory" for the startup-memory check).
        tag: &'static str,
        /// First page.
        page_base: u64,
        /// Pages.
        page_count: u64,
    },
    /// An import's data is longer than its pages.
    #[error(
        "import \"{tag}\" at page {page_base:#x}: {data_len} data bytes do not fit in {page_count} pages"
    )]
    DataTooLong {
        /// Tag of the import.
        tag: &'static str,
        /// First page.
        page_base: u64,
        /// Pages.
        page_count: u64,
        /// Bytes of data given.
        data_len: usize,
    },
    /// Two imports touch the same page.
    #[error("import {tag:?} of pages {page_base:#x}+{page_count:#x} overlaps import {other:?}")]
    Overlap {
        /// The new import's tag.
        tag: &'static str,
        /// Its first page.
        page_base: u64,
        /// Its page count.
        page_count: u64,
        /// The earlier import's tag.
        other: &'static str,
    },
    /// A register was imported twice.
    #[error("register {name} imported twice")]
    DuplicateRegister {
        /// Register name.
        name: &'static str,
    },
    /// The VP-context page was set twice.
    #[error("VP context page set twice (pages {first:#x} and {second:#x})")]
    VpContextPageTwice {
        /// First page given.
        first: u64,
        /// Second page given.
        second: u64,
    },
    /// A parameter named an area that was never created.
    #[error("parameter for unknown area {area}")]
    UnknownParameterArea {
        /// The area index.
        area: u32,
    },
    /// The importer was told to fail this call ([`RecordingImporter::fail_at`]).
    #[error("injected failure at call {call}")]
    Injected {
        /// Index of the call (0-based).
        call: usize,
    },
}

/// GPA and byte size of `page_count` pages at `page_base`, if the GPA, the
/// size and their sum all fit in 64 bits.
pub fn page_range(page_base: u64, page_count: u64) -> Option<(u64, u64)> {
    let gpa = page_base.checked_mul(PAGE_SIZE)?;
    let size = page_count.checked_mul(PAGE_SIZE)?;
    gpa.checked_add(size)?;
    Some((gpa, size))
}

/// Records every call in order (page data copied), refusing what
/// formats.md §3 rule 3 calls an invalid image. Parameter areas get indices
/// in creation order.
#[derive(Debug, Clone)]
pub struct RecordingImporter<R> {
    isolation: IsolationConfig,
    calls: Vec<Call<R>>,
    /// First page → (page count, tag) of every import, to refuse overlaps.
    imported: BTreeMap<u64, (u64, &'static str)>,
    registers: Vec<&'static str>,
    vp_context_page: Option<u64>,
    parameter_areas: u32,
    join_adjacent: bool,
    /// Fail the call with this index (0-based), after recording it.
    pub fail_at: Option<usize>,
}

impl<R> RecordingImporter<R> {
    /// A recording importer reporting `isolation` to the loader.
    pub fn new(isolation: IsolationConfig) -> Self {
        Self {
            isolation,
            calls: Vec::new(),
            imported: BTreeMap::new(),
            registers: Vec::new(),
            vp_context_page: None,
            parameter_areas: 0,
            join_adjacent: false,
            fail_at: None,
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
        self.vp_context_page
    }

    /// Records `call`; fails if told to fail this one.
    fn record(&mut self, call: Call<R>) -> Result<(), RecordingError> {
        let index = self.calls.len();
        self.calls.push(call);
        if self.fail_at == Some(index) {
            return Err(RecordingError::Injected { call: index });
        }
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
    type Error = RecordingError;

    fn import_pages(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &'static str,
        acceptance: PageAcceptance,
        data: &[u8],
    ) -> Result<(), RecordingError> {
        let (_, capacity) =
            page_range(page_base, page_count).ok_or(RecordingError::PageOverflow {
                tag,
                page_base,
                page_count,
            })?;
        if data.len() as u64 > capacity {
            return Err(RecordingError::DataTooLong {
                tag,
                page_base,
                page_count,
                data_len: data.len(),
            });
        }
        if page_count > 0 {
            let end = page_base.saturating_add(page_count);
            let before = self.imported.range(..end).next_back();
            if let Some((&start, &(count, other))) = before
                && start.saturating_add(count) > page_base
            {
                return Err(RecordingError::Overlap {
                    tag,
                    page_base,
                    page_count,
                    other,
                });
            }
            self.imported.insert(page_base, (page_count, tag));
        }
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
    ) -> Result<(), RecordingError> {
        page_range(page_base, page_count).ok_or(RecordingError::PageOverflow {
            tag: "startup memory",
            page_base,
            page_count,
        })?;
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
    ) -> Result<ParameterAreaIndex, RecordingError> {
        page_range(page_base, page_count.into()).ok_or(RecordingError::PageOverflow {
            tag,
            page_base,
            page_count: page_count.into(),
        })?;
        self.record(Call::CreateParameterArea {
            page_base,
            page_count,
            tag,
        })?;
        let index = self.parameter_areas;
        self.parameter_areas = index.saturating_add(1);
        Ok(ParameterAreaIndex(index))
    }

    fn import_parameter(
        &mut self,
        area: ParameterAreaIndex,
        byte_offset: u32,
        parameter: ParameterType,
    ) -> Result<(), RecordingError> {
        if area.0 >= self.parameter_areas {
            return Err(RecordingError::UnknownParameterArea { area: area.0 });
        }
        self.record(Call::ImportParameter {
            area: area.0,
            byte_offset,
            parameter,
        })
    }

    fn import_vp_register(&mut self, register: R) -> Result<(), RecordingError> {
        let name = register.summary_name();
        if self.registers.contains(&name) {
            return Err(RecordingError::DuplicateRegister { name });
        }
        self.registers.push(name);
        self.record(Call::Register(register))
    }

    fn set_vp_context_page(&mut self, page_base: u64) -> Result<(), RecordingError> {
        if let Some(first) = self.vp_context_page {
            return Err(RecordingError::VpContextPageTwice {
                first,
                second: page_base,
            });
        }
        self.vp_context_page = Some(page_base);
        self.record(Call::VpContextPage(page_base))
    }

    fn relocation_region(&mut self, region: RelocationRegion) -> Result<(), RecordingError> {
        self.record(Call::RelocationRegion(region))
    }

    fn page_table_relocation(
        &mut self,
        relocation: PageTableRelocation,
    ) -> Result<(), RecordingError> {
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
    use crate::importer::IsolationType;
    use std::vec;
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
            Err(RecordingError::Overlap {
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
            Err(RecordingError::DataTooLong { data_len: 4097, .. })
        ));
        assert!(matches!(
            i.import_pages(
                u64::MAX / PAGE_SIZE,
                1,
                "top",
                PageAcceptance::Exclusive,
                &[]
            ),
            Err(RecordingError::PageOverflow { .. })
        ));
        i.import_vp_register(X86Register::Rip(0)).unwrap();
        assert_eq!(
            i.import_vp_register(X86Register::Rip(1)),
            Err(RecordingError::DuplicateRegister { name: "rip" })
        );
        i.set_vp_context_page(5).unwrap();
        assert_eq!(
            i.set_vp_context_page(6),
            Err(RecordingError::VpContextPageTwice {
                first: 5,
                second: 6
            })
        );
    }

    #[test]
    fn injected_failure_stops_at_the_given_call() {
        let mut i = importer();
        i.fail_at = Some(1);
        i.import_pages(0, 1, "a", PageAcceptance::Exclusive, &[])
            .unwrap();
        assert_eq!(
            i.import_pages(1, 1, "b", PageAcceptance::Exclusive, &[]),
            Err(RecordingError::Injected { call: 1 })
        );
        assert_eq!(i.calls().len(), 2);
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

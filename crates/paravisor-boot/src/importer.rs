//! [`BootImageImporter`]: records a paravisor load for a boot runner — a
//! thin layer over the recording importer (which enforces the image rules)
//! that refuses what the runner cannot do and turns the recorded calls into
//! a [`BootImage`].

use crate::image::BootImage;
use crate::image::BootRegisters;
use crate::image::PageData;
use crate::image::RamRange;
use paravisor_host::ImageRuleError;
use paravisor_host::recording::Call;
use paravisor_host::recording::PageImport;
use paravisor_host::recording::RecordingImporter;
use paravisor_host::register::SummaryRegister;
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

/// Why the importer refused a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// A register the runner cannot set.
    #[error("register {0} cannot be set by the boot runner")]
    UnsupportedRegister(&'static str),
    /// An SNP VP-context page on an architecture that has none.
    #[error("unexpected VP context page {0:#x}: this architecture has none")]
    VpContextPage(u64),
    /// An image rule of docs/formats.md §3 rule 3 (overlap, data longer than its
    /// pages, page overflow, a register or the VP-context page twice).
    #[error(transparent)]
    ImageRule(#[from] ImageRuleError),
}

/// Records a paravisor load for a boot: the pages with their data
/// (adjacent imports with one tag and acceptance joined), the startup
/// memory (as RAM), the registers `R` can hold, the parameter areas, and
/// the relocation records (for a VMM-style relocation before booting).
#[derive(Debug, Clone)]
pub struct BootImageImporter<R: BootRegisters> {
    recording: RecordingImporter<R::Register>,
}

/// The RAM of `page_count` pages at `page_base`.
fn pages(page_base: u64, page_count: u64) -> RamRange {
    RamRange {
        gpa: page_base.saturating_mul(PAGE_SIZE),
        size: page_count.saturating_mul(PAGE_SIZE),
    }
}

impl<R: BootRegisters> BootImageImporter<R> {
    /// An importer reporting `isolation` to the loader.
    pub fn new(isolation: IsolationConfig) -> Self {
        Self {
            recording: RecordingImporter::new(isolation).joining_adjacent_imports(),
        }
    }

    /// The recorded calls.
    pub fn recording(&self) -> &RecordingImporter<R::Register> {
        &self.recording
    }

    /// The page imports, in call order.
    pub fn imports(&self) -> Vec<&PageImport> {
        self.recording.page_imports().collect()
    }

    /// The page imports, for tests that break an image on purpose.
    pub fn imports_mut(&mut self) -> impl Iterator<Item = &mut PageImport> {
        self.recording.page_imports_mut()
    }

    /// The registers imported so far.
    pub fn registers(&self) -> R {
        let mut r = R::default();
        for register in self.recording.registers() {
            // Registers the runner cannot set were refused on import.
            let _ = r.set(register);
        }
        r
    }

    /// The startup memory the loader asked for (VTL2 memory).
    pub fn startup_memory(&self) -> Vec<RamRange> {
        self.recording
            .startup_memory()
            .into_iter()
            .map(|(page_base, page_count, _)| pages(page_base, page_count))
            .collect()
    }

    /// The recorded image with page data as imported: every page import,
    /// startup-memory range and parameter area is RAM (in call order);
    /// imports with data are page data (not padded).
    pub fn image(&self) -> BootImage<R> {
        self.clone().into_image()
    }

    /// [`image`](Self::image), by value (the page data is moved, not
    /// copied).
    pub fn into_image(self) -> BootImage<R> {
        let mut image = BootImage {
            ram: Vec::new(),
            pages: Vec::new(),
            registers: self.registers(),
        };
        for call in self.recording.into_calls() {
            match call {
                Call::ImportPages(import) => {
                    if import.page_count == 0 {
                        continue;
                    }
                    let (gpa, size) = (import.gpa(), import.size());
                    image.ram.push(RamRange { gpa, size });
                    if !import.data.is_empty() {
                        image.pages.push(PageData {
                            gpa,
                            data: import.data,
                        });
                    }
                }
                Call::VerifyStartupMemory {
                    page_base,
                    page_count,
                    ..
                } => image.ram.push(pages(page_base, page_count)),
                Call::CreateParameterArea {
                    page_base,
                    page_count,
                    ..
                } => image.ram.push(pages(page_base, page_count.into())),
                _ => {}
            }
        }
        image
    }

    /// The recorded image with every imported page as page data (zero
    /// filled to whole pages, so a runner that places memory itself sees
    /// every imported page); RAM is the startup memory.
    pub fn zero_filled_image(&self) -> BootImage<R> {
        BootImage {
            ram: self.startup_memory(),
            pages: self
                .recording
                .page_imports()
                .filter(|i| i.page_count > 0)
                .map(|i| {
                    let mut data = i.data.clone();
                    let len = usize::try_from(i.size()).unwrap_or(data.len());
                    data.resize(len.max(data.len()), 0);
                    PageData { gpa: i.gpa(), data }
                })
                .collect(),
            registers: self.registers(),
        }
    }

    /// Relocation regions the loader described.
    pub fn relocation_regions(&self) -> Vec<RelocationRegion> {
        self.recording.relocation_regions()
    }

    /// Page-table relocation records the loader described.
    pub fn page_table_relocations(&self) -> Vec<PageTableRelocation> {
        self.recording.page_table_relocations()
    }

    /// The SNP VMSA page, if the loader set one.
    pub fn vp_context_page(&self) -> Option<u64> {
        self.recording.vp_context_page()
    }
}

impl<R: BootRegisters> ImportPages for BootImageImporter<R> {
    type Error = ImportError;

    fn import_pages(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &'static str,
        acceptance: PageAcceptance,
        data: &[u8],
    ) -> Result<(), ImportError> {
        Ok(self
            .recording
            .import_pages(page_base, page_count, tag, acceptance, data)?)
    }
}

impl<R: BootRegisters> ParavisorImporter<R::Register> for BootImageImporter<R> {
    fn isolation_config(&self) -> IsolationConfig {
        ParavisorImporter::<R::Register>::isolation_config(&self.recording)
    }

    fn verify_startup_memory_available(
        &mut self,
        page_base: u64,
        page_count: u64,
        memory_type: StartupMemoryType,
    ) -> Result<(), ImportError> {
        // Startup memory becomes RAM of the VM.
        Ok(self
            .recording
            .verify_startup_memory_available(page_base, page_count, memory_type)?)
    }

    fn create_parameter_area(
        &mut self,
        page_base: u64,
        page_count: u32,
        tag: &'static str,
    ) -> Result<ParameterAreaIndex, ImportError> {
        // The area is RAM; a VMM would fill it with host information at
        // boot (`import_parameter`), the runners leave it zero.
        Ok(self
            .recording
            .create_parameter_area(page_base, page_count, tag)?)
    }

    fn import_parameter(
        &mut self,
        area: ParameterAreaIndex,
        byte_offset: u32,
        parameter: ParameterType,
    ) -> Result<(), ImportError> {
        Ok(self
            .recording
            .import_parameter(area, byte_offset, parameter)?)
    }

    fn import_vp_register(&mut self, register: R::Register) -> Result<(), ImportError> {
        if !R::default().set(&register) {
            return Err(ImportError::UnsupportedRegister(register.summary_name()));
        }
        Ok(self.recording.import_vp_register(register)?)
    }

    fn set_vp_context_page(&mut self, page_base: u64) -> Result<(), ImportError> {
        if !R::HAS_VP_CONTEXT_PAGE {
            return Err(ImportError::VpContextPage(page_base));
        }
        Ok(self.recording.set_vp_context_page(page_base)?)
    }

    fn relocation_region(&mut self, region: RelocationRegion) -> Result<(), ImportError> {
        Ok(self.recording.relocation_region(region)?)
    }

    fn page_table_relocation(
        &mut self,
        relocation: PageTableRelocation,
    ) -> Result<(), ImportError> {
        Ok(self.recording.page_table_relocation(relocation)?)
    }

    fn set_imported_regions_config_page(&mut self, page_base: u64) {
        ParavisorImporter::<R::Register>::set_imported_regions_config_page(
            &mut self.recording,
            page_base,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paravisor_loader::IsolationType;
    use vp_regs::x86_64::X86Register;

    /// A runner that sets RIP only and has an SNP VMSA page.
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    struct Rip(Option<u64>);

    impl BootRegisters for Rip {
        type Register = X86Register;
        const HAS_VP_CONTEXT_PAGE: bool = true;
        fn set(&mut self, register: &X86Register) -> bool {
            match *register {
                X86Register::Rip(v) => self.0 = Some(v),
                _ => return false,
            }
            true
        }
    }

    /// A runner with no VP-context page.
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    struct NoVmsa;

    impl BootRegisters for NoVmsa {
        type Register = X86Register;
        const HAS_VP_CONTEXT_PAGE: bool = false;
        fn set(&mut self, _: &X86Register) -> bool {
            false
        }
    }

    fn isolation() -> IsolationConfig {
        IsolationConfig {
            isolation_type: IsolationType::None,
            paravisor_present: true,
            shared_gpa_boundary_bits: None,
        }
    }

    const E: PageAcceptance = PageAcceptance::Exclusive;

    #[test]
    fn pages_become_data_and_ram() {
        let mut i = BootImageImporter::<Rip>::new(isolation());
        i.import_pages(0x8000, 2, "a", E, &[1, 2, 3]).unwrap();
        i.import_pages(0x8002, 16, "heap", E, &[]).unwrap();
        i.verify_startup_memory_available(0x8000, 0x40, StartupMemoryType::Vtl2ProtectableRam)
            .unwrap();
        let image = i.image();
        assert_eq!(
            image.pages,
            vec![PageData {
                gpa: 0x800_0000,
                data: vec![1, 2, 3]
            }]
        );
        assert_eq!(
            image.ram,
            vec![
                RamRange {
                    gpa: 0x800_0000,
                    size: 0x2000
                },
                RamRange {
                    gpa: 0x800_2000,
                    size: 0x10000
                },
                RamRange {
                    gpa: 0x800_0000,
                    size: 0x40000
                }
            ]
        );
        let zero_filled = i.zero_filled_image();
        assert_eq!(
            zero_filled.ram,
            vec![RamRange {
                gpa: 0x800_0000,
                size: 0x40000
            }]
        );
        assert_eq!(zero_filled.pages.len(), 2);
        assert_eq!(zero_filled.pages[0].data.len(), 0x2000);
        assert_eq!(&zero_filled.pages[0].data[..4], &[1, 2, 3, 0]);
        assert_eq!(zero_filled.pages[1].gpa, 0x800_2000);
        assert_eq!(zero_filled.pages[1].data, vec![0; 0x10000]);
    }

    #[test]
    fn adjacent_imports_with_one_tag_are_joined() {
        let mut i = BootImageImporter::<Rip>::new(isolation());
        i.import_pages(0x48000, 1, "t", E, &[1, 2]).unwrap();
        i.import_pages(0x48001, 2, "t", E, &[3]).unwrap();
        i.import_pages(0x48003, 1, "u", E, &[]).unwrap();
        assert_eq!(i.imports().len(), 2);
        assert_eq!(i.imports()[0].page_count, 3);
        assert_eq!(i.imports()[0].data.len(), 4097);
        assert_eq!(i.imports()[0].data[4096], 3);
        let image = i.zero_filled_image();
        assert_eq!(image.pages.len(), 2);
        assert_eq!(image.pages[0].gpa, 0x4800_0000);
        assert_eq!(image.pages[0].data.len(), 3 * 4096);
        assert_eq!(image.pages[1].data, vec![0; 4096]);
    }

    #[test]
    fn image_rules_are_enforced() {
        let mut i = BootImageImporter::<Rip>::new(isolation());
        i.import_pages(0x10, 4, "first", E, &[]).unwrap();
        assert_eq!(
            i.import_pages(0x13, 1, "second", E, &[]),
            Err(ImportError::ImageRule(ImageRuleError::Overlap {
                tag: "second",
                page_base: 0x13,
                page_count: 1,
                other: "first"
            }))
        );
        assert!(matches!(
            i.import_pages(1, 1, "big", E, &[0; 4097]),
            Err(ImportError::ImageRule(ImageRuleError::DataTooLong {
                data_len: 4097,
                ..
            }))
        ));
        assert!(matches!(
            i.import_pages(u64::MAX, 1, "t", E, &[]),
            Err(ImportError::ImageRule(ImageRuleError::PageOverflow { .. }))
        ));
    }

    #[test]
    fn registers_are_recorded_once_and_only_if_settable() {
        let mut i = BootImageImporter::<Rip>::new(isolation());
        i.import_vp_register(X86Register::Rip(0x1234)).unwrap();
        assert_eq!(
            i.import_vp_register(X86Register::Rip(0)),
            Err(ImportError::ImageRule(ImageRuleError::DuplicateRegister {
                name: "rip"
            }))
        );
        assert_eq!(
            i.import_vp_register(X86Register::MtrrDefType(0)),
            Err(ImportError::UnsupportedRegister("mtrr_def_type"))
        );
        assert_eq!(i.registers(), Rip(Some(0x1234)));
        assert_eq!(i.image().registers, Rip(Some(0x1234)));
    }

    #[test]
    fn vp_context_page_only_where_the_architecture_has_one() {
        let mut i = BootImageImporter::<Rip>::new(isolation());
        i.set_vp_context_page(7).unwrap();
        assert_eq!(i.vp_context_page(), Some(7));
        let mut i = BootImageImporter::<NoVmsa>::new(isolation());
        assert_eq!(i.set_vp_context_page(7), Err(ImportError::VpContextPage(7)));
    }
}

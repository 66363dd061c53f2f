//! An importer that records what `load_openhcl_arm64` imports, for booting
//! it with [`crate::boot_aarch64`]: a thin layer over [`RecordingImporter`]
//! (adjacent imports with one tag joined) that refuses what the reset stub
//! cannot do.

use crate::Aarch64Registers;
use crate::BootImage;
use crate::PAGE_SIZE;
use crate::PageData;
use crate::RamRange;
use paravisor_loader::ImportPages;
use paravisor_loader::IsolationConfig;
use paravisor_loader::PageAcceptance;
use paravisor_loader::PageTableRelocation;
use paravisor_loader::ParameterAreaIndex;
use paravisor_loader::ParameterType;
use paravisor_loader::ParavisorImporter;
use paravisor_loader::RelocationRegion;
use paravisor_loader::StartupMemoryType;
use paravisor_loader::recording::RecordingError;
use paravisor_loader::recording::RecordingImporter;
use vp_regs::aarch64::Aarch64Register;

/// One page import as the loader made it (adjacent calls with the same tag
/// and acceptance joined; the data is shorter than the pages: the rest is
/// zero).
pub use paravisor_loader::recording::PageImport as ImportRecord;

/// Why the importer refused a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// A register the reset stub does not set.
    #[error("the QEMU reset stub cannot set register {0}")]
    UnsupportedRegister(&'static str),
    /// An SNP VP context page (AArch64 has none).
    #[error("unexpected VP context page {0:#x} on AArch64")]
    VpContextPage(u64),
    /// An image rule of formats.md §3 rule 3 (data longer than its pages,
    /// page overflow, overlap, a register set twice).
    #[error(transparent)]
    Recording(#[from] RecordingError),
}

/// Records page imports, registers and startup memory; parameter areas and
/// relocation records are recorded and not used (the host fills parameter
/// areas at launch; for this boot they stay zero).
#[derive(Clone, Debug)]
pub struct BootImageImporter {
    recording: RecordingImporter<Aarch64Register>,
}

impl BootImageImporter {
    /// An importer for an image with this isolation configuration.
    pub fn new(isolation: IsolationConfig) -> Self {
        Self {
            recording: RecordingImporter::new(isolation).joining_adjacent_imports(),
        }
    }

    /// The recorded calls.
    pub fn recording(&self) -> &RecordingImporter<Aarch64Register> {
        &self.recording
    }

    /// The imports, in call order.
    pub fn imports(&self) -> Vec<&ImportRecord> {
        self.recording.page_imports().collect()
    }

    /// The imports, for tests that break an image on purpose.
    pub fn imports_mut(&mut self) -> impl Iterator<Item = &mut ImportRecord> {
        self.recording.page_imports_mut()
    }

    /// The registers imported so far.
    pub fn registers(&self) -> Aarch64Registers {
        let mut r = Aarch64Registers::default();
        for register in self.recording.registers() {
            if let Some(slot) = slot(&mut r, register) {
                *slot = Some(register.value());
            }
        }
        r
    }

    /// What [`crate::boot_aarch64`] boots: every imported page (zero-filled
    /// to whole pages), the startup memory as required RAM, the registers.
    pub fn boot_image(&self) -> BootImage {
        BootImage {
            ram: self
                .recording
                .startup_memory()
                .into_iter()
                .map(|(page_base, page_count, _)| RamRange {
                    gpa: page_base.saturating_mul(PAGE_SIZE),
                    size: page_count.saturating_mul(PAGE_SIZE),
                })
                .collect(),
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
}

/// The field of `r` the reset stub sets from `register`; `None` for a
/// register it cannot set.
fn slot<'r>(
    r: &'r mut Aarch64Registers,
    register: &Aarch64Register,
) -> Option<&'r mut Option<u64>> {
    Some(match register {
        Aarch64Register::X0(_) => &mut r.x0,
        Aarch64Register::Pc(_) => &mut r.pc,
        Aarch64Register::Cpsr(_) => &mut r.cpsr,
        Aarch64Register::SctlrEl1(_) => &mut r.sctlr_el1,
        Aarch64Register::TcrEl1(_) => &mut r.tcr_el1,
        Aarch64Register::MairEl1(_) => &mut r.mair_el1,
        Aarch64Register::Ttbr0El1(_) => &mut r.ttbr0_el1,
        Aarch64Register::VbarEl1(_) => &mut r.vbar_el1,
        _ => return None,
    })
}

impl ImportPages for BootImageImporter {
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

impl ParavisorImporter<Aarch64Register> for BootImageImporter {
    fn isolation_config(&self) -> IsolationConfig {
        ParavisorImporter::<Aarch64Register>::isolation_config(&self.recording)
    }

    fn verify_startup_memory_available(
        &mut self,
        page_base: u64,
        page_count: u64,
        memory_type: StartupMemoryType,
    ) -> Result<(), ImportError> {
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

    fn import_vp_register(&mut self, register: Aarch64Register) -> Result<(), ImportError> {
        if slot(&mut Aarch64Registers::default(), &register).is_none() {
            return Err(ImportError::UnsupportedRegister(register.name()));
        }
        Ok(self.recording.import_vp_register(register)?)
    }

    fn set_vp_context_page(&mut self, page_base: u64) -> Result<(), ImportError> {
        Err(ImportError::VpContextPage(page_base))
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
        ParavisorImporter::<Aarch64Register>::set_imported_regions_config_page(
            &mut self.recording,
            page_base,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paravisor_loader::IsolationType;

    fn importer() -> BootImageImporter {
        BootImageImporter::new(IsolationConfig {
            isolation_type: IsolationType::None,
            paravisor_present: true,
            shared_gpa_boundary_bits: None,
        })
    }

    #[test]
    fn adjacent_imports_with_one_tag_are_joined_and_padded() {
        let mut imp = importer();
        imp.import_pages(0x48000, 1, "t", PageAcceptance::Exclusive, &[1, 2])
            .unwrap();
        imp.import_pages(0x48001, 2, "t", PageAcceptance::Exclusive, &[3])
            .unwrap();
        imp.import_pages(0x48003, 1, "u", PageAcceptance::Exclusive, &[])
            .unwrap();
        assert_eq!(imp.imports().len(), 2);
        assert_eq!(imp.imports()[0].page_count, 3);
        assert_eq!(imp.imports()[0].data.len(), 4097);
        assert_eq!(imp.imports()[0].data[4096], 3);
        let image = imp.boot_image();
        assert_eq!(image.pages.len(), 2);
        assert_eq!(image.pages[0].gpa, 0x4800_0000);
        assert_eq!(image.pages[0].data.len(), 3 * 4096);
        assert_eq!(image.pages[1].data, vec![0; 4096]);
    }

    #[test]
    fn refuses_what_the_stub_cannot_do() {
        let mut imp = importer();
        let e = imp.import_pages(1, 1, "t", PageAcceptance::Exclusive, &[0; 4097]);
        assert!(matches!(
            e,
            Err(ImportError::Recording(RecordingError::DataTooLong {
                data_len: 4097,
                ..
            }))
        ));
        let e = imp.import_pages(u64::MAX, 1, "t", PageAcceptance::Exclusive, &[]);
        assert!(matches!(
            e,
            Err(ImportError::Recording(RecordingError::PageOverflow { .. }))
        ));
        assert_eq!(
            imp.import_vp_register(Aarch64Register::Ttbr1El1(0)),
            Err(ImportError::UnsupportedRegister("ttbr1_el1"))
        );
        imp.import_vp_register(Aarch64Register::Pc(5)).unwrap();
        assert_eq!(
            imp.import_vp_register(Aarch64Register::Pc(6)),
            Err(ImportError::Recording(RecordingError::DuplicateRegister {
                name: "pc"
            }))
        );
        assert_eq!(imp.registers().pc, Some(5));
        assert_eq!(
            imp.set_vp_context_page(7),
            Err(ImportError::VpContextPage(7))
        );
    }
}

//! An importer for the x86-64 paravisor loader that records what the loader
//! imported as a [`BootImage`] ready for [`crate::boot_x64`]: a thin layer
//! over [`RecordingImporter`] that refuses the registers this runner cannot
//! set and turns the recorded calls into RAM, page data and registers.

use crate::BootImage;
use crate::PAGE_SIZE;
use crate::PageData;
use crate::RamRange;
use crate::SegmentRegister;
use crate::TableRegister;
use crate::X64Registers;
use paravisor_loader::ImportPages;
use paravisor_loader::IsolationConfig;
use paravisor_loader::PageAcceptance;
use paravisor_loader::PageTableRelocation;
use paravisor_loader::ParameterAreaIndex;
use paravisor_loader::ParameterType;
use paravisor_loader::ParavisorImporter;
use paravisor_loader::RelocationRegion;
use paravisor_loader::StartupMemoryType;
use paravisor_loader::recording::Call;
use paravisor_loader::recording::RecordingError;
use paravisor_loader::recording::RecordingImporter;
use vp_regs::x86_64::X86Register;

/// What the importer refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// A register this runner cannot set.
    #[error("register {0} cannot be set by the KVM runner")]
    UnsupportedRegister(&'static str),
    /// An image rule of formats.md §3 rule 3 (overlap, data longer than its
    /// pages, page overflow, a register or the VP-context page twice).
    #[error(transparent)]
    Recording(#[from] RecordingError),
}

/// Records a paravisor load for a KVM boot: the pages with their data, the
/// startup memory (as RAM), the registers, and the relocation records (for
/// a VMM-style relocation before booting).
#[derive(Debug, Clone)]
pub struct BootImageImporter {
    recording: RecordingImporter<X86Register>,
}

impl BootImageImporter {
    /// An importer reporting `isolation` to the loader.
    pub fn new(isolation: IsolationConfig) -> Self {
        Self {
            recording: RecordingImporter::new(isolation),
        }
    }

    /// The recorded calls.
    pub fn recording(&self) -> &RecordingImporter<X86Register> {
        &self.recording
    }

    /// The startup memory the loader asked for (VTL2 memory).
    pub fn startup_memory(&self) -> Vec<RamRange> {
        self.recording
            .startup_memory()
            .into_iter()
            .map(|(page_base, page_count, _)| RamRange {
                gpa: page_base.saturating_mul(PAGE_SIZE),
                size: page_count.saturating_mul(PAGE_SIZE),
            })
            .collect()
    }

    /// The recorded image: every page import, startup-memory range and
    /// parameter area is RAM (in call order); imports with data are page
    /// data.
    pub fn image(&self) -> BootImage {
        self.clone().into_image()
    }

    /// The recorded image, by value (the page data is moved, not copied).
    pub fn into_image(self) -> BootImage {
        let mut image = BootImage {
            registers: registers(self.recording.registers()),
            ..BootImage::default()
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
                } => image.ram.push(RamRange {
                    gpa: page_base.saturating_mul(PAGE_SIZE),
                    size: page_count.saturating_mul(PAGE_SIZE),
                }),
                Call::CreateParameterArea {
                    page_base,
                    page_count,
                    ..
                } => image.ram.push(RamRange {
                    gpa: page_base.saturating_mul(PAGE_SIZE),
                    size: u64::from(page_count).saturating_mul(PAGE_SIZE),
                }),
                _ => {}
            }
        }
        image
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

fn segment(s: vp_regs::x86_64::SegmentRegister) -> SegmentRegister {
    SegmentRegister {
        base: s.base,
        limit: s.limit,
        selector: s.selector,
        attributes: s.attributes,
    }
}

fn table(t: vp_regs::x86_64::TableRegister) -> TableRegister {
    TableRegister {
        base: t.base,
        limit: t.limit,
    }
}

/// The slot of `register` in [`X64Registers`], with its value; `None` for
/// a register this runner cannot set.
fn set(r: &mut X64Registers, register: X86Register) -> Option<()> {
    match register {
        X86Register::Gdtr(t) => r.gdtr = Some(table(t)),
        X86Register::Idtr(t) => r.idtr = Some(table(t)),
        X86Register::Cs(s) => r.cs = Some(segment(s)),
        X86Register::Ds(s) => r.ds = Some(segment(s)),
        X86Register::Es(s) => r.es = Some(segment(s)),
        X86Register::Fs(s) => r.fs = Some(segment(s)),
        X86Register::Gs(s) => r.gs = Some(segment(s)),
        X86Register::Ss(s) => r.ss = Some(segment(s)),
        X86Register::Tr(s) => r.tr = Some(segment(s)),
        X86Register::Cr0(v) => r.cr0 = Some(v),
        X86Register::Cr3(v) => r.cr3 = Some(v),
        X86Register::Cr4(v) => r.cr4 = Some(v),
        X86Register::Efer(v) => r.efer = Some(v),
        X86Register::Pat(v) => r.pat = Some(v),
        X86Register::Rbp(v) => r.rbp = Some(v),
        X86Register::Rip(v) => r.rip = Some(v),
        X86Register::Rsi(v) => r.rsi = Some(v),
        X86Register::Rsp(v) => r.rsp = Some(v),
        X86Register::R8(v) => r.r8 = Some(v),
        X86Register::R9(v) => r.r9 = Some(v),
        X86Register::R10(v) => r.r10 = Some(v),
        X86Register::R11(v) => r.r11 = Some(v),
        X86Register::R12(v) => r.r12 = Some(v),
        X86Register::Rflags(v) => r.rflags = Some(v),
        _ => return None,
    }
    Some(())
}

fn registers<'a>(recorded: impl Iterator<Item = &'a X86Register>) -> X64Registers {
    let mut r = X64Registers::default();
    for register in recorded {
        let _ = set(&mut r, *register);
    }
    r
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

impl ParavisorImporter<X86Register> for BootImageImporter {
    fn isolation_config(&self) -> IsolationConfig {
        ParavisorImporter::<X86Register>::isolation_config(&self.recording)
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
        // boot (`import_parameter`), this runner leaves it zero.
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

    fn import_vp_register(&mut self, register: X86Register) -> Result<(), ImportError> {
        if set(&mut X64Registers::default(), register).is_none() {
            return Err(ImportError::UnsupportedRegister(register.name()));
        }
        Ok(self.recording.import_vp_register(register)?)
    }

    fn set_vp_context_page(&mut self, page_base: u64) -> Result<(), ImportError> {
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
        ParavisorImporter::<X86Register>::set_imported_regions_config_page(
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
    fn pages_become_data_and_ram() {
        let mut i = importer();
        i.import_pages(0x8000, 2, "a", PageAcceptance::Exclusive, &[1, 2, 3])
            .unwrap();
        i.import_pages(0x8002, 16, "heap", PageAcceptance::Exclusive, &[])
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
                }
            ]
        );
    }

    #[test]
    fn overlapping_imports_are_refused() {
        let mut i = importer();
        i.import_pages(0x10, 4, "first", PageAcceptance::Exclusive, &[])
            .unwrap();
        let err = i
            .import_pages(0x13, 1, "second", PageAcceptance::Exclusive, &[])
            .unwrap_err();
        assert_eq!(
            err,
            ImportError::Recording(RecordingError::Overlap {
                tag: "second",
                page_base: 0x13,
                page_count: 1,
                other: "first"
            })
        );
        i.import_pages(0x14, 1, "third", PageAcceptance::Exclusive, &[])
            .unwrap();
        assert!(
            i.import_pages(0xC, 5, "below", PageAcceptance::Exclusive, &[])
                .is_err()
        );
    }

    #[test]
    fn data_longer_than_the_pages_is_refused() {
        let mut i = importer();
        assert!(
            i.import_pages(1, 1, "big", PageAcceptance::Exclusive, &[0; 4097])
                .is_err()
        );
    }

    #[test]
    fn registers_are_recorded_once() {
        let mut i = importer();
        i.import_vp_register(X86Register::Rip(0x1234)).unwrap();
        i.import_vp_register(X86Register::Cs(vp_regs::x86_64::SegmentRegister {
            base: 0,
            limit: 0xFFFF_FFFF,
            selector: 0x10,
            attributes: 0xA09B,
        }))
        .unwrap();
        assert_eq!(
            i.import_vp_register(X86Register::Rip(0)),
            Err(ImportError::Recording(RecordingError::DuplicateRegister {
                name: "rip"
            }))
        );
        let r = i.image().registers;
        assert_eq!(r.rip, Some(0x1234));
        assert_eq!(
            r.cs.map(|cs| (cs.selector, cs.attributes)),
            Some((0x10, 0xA09B))
        );
        assert!(matches!(
            i.import_vp_register(X86Register::MtrrDefType(0)),
            Err(ImportError::UnsupportedRegister(_))
        ));
    }
}

//! An importer that records what `load_openhcl_arm64` imports, for booting
//! it with [`crate::boot_aarch64`].

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
use vp_regs::aarch64::Aarch64Register;

/// One page import as the loader made it (adjacent calls with the same tag
/// joined).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportRecord {
    /// First page number.
    pub page_base: u64,
    /// Number of pages.
    pub page_count: u64,
    /// The loader's tag ("underhill-shim-params", …).
    pub tag: &'static str,
    /// The data (shorter than the pages: the rest is zero).
    pub data: Vec<u8>,
}

/// Why the importer refused a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// More data than the pages hold.
    #[error("{tag}: {len} bytes do not fit in {page_count} pages at page {page_base:#x}")]
    DataTooLong {
        /// The import's tag.
        tag: &'static str,
        /// First page.
        page_base: u64,
        /// Pages.
        page_count: u64,
        /// Data length.
        len: usize,
    },
    /// A page range beyond the 64-bit address space.
    #[error("{tag}: {page_count} pages at page {page_base:#x} overflow the address space")]
    Overflow {
        /// The import's tag (or "startup memory").
        tag: &'static str,
        /// First page.
        page_base: u64,
        /// Pages.
        page_count: u64,
    },
    /// A register the reset stub does not set.
    #[error("the QEMU reset stub cannot set register {0}")]
    UnsupportedRegister(&'static str),
    /// A register set twice.
    #[error("register {0} set twice")]
    RegisterTwice(&'static str),
    /// An SNP VP context page (AArch64 has none).
    #[error("unexpected VP context page {0:#x} on AArch64")]
    VpContextPage(u64),
}

/// Records page imports, registers and startup memory; parameter areas and
/// relocation records are accepted and dropped (the host fills parameter
/// areas at launch; for this boot they stay zero).
#[derive(Clone, Debug)]
pub struct BootImageImporter {
    isolation: IsolationConfig,
    imports: Vec<ImportRecord>,
    registers: Aarch64Registers,
    startup_memory: Vec<RamRange>,
}

impl BootImageImporter {
    /// An importer for an image with this isolation configuration.
    pub fn new(isolation: IsolationConfig) -> Self {
        Self {
            isolation,
            imports: Vec::new(),
            registers: Aarch64Registers::default(),
            startup_memory: Vec::new(),
        }
    }

    /// The imports, in call order.
    pub fn imports(&self) -> &[ImportRecord] {
        &self.imports
    }

    /// The imports, for tests that break an image on purpose.
    pub fn imports_mut(&mut self) -> &mut [ImportRecord] {
        &mut self.imports
    }

    /// The registers imported so far.
    pub fn registers(&self) -> Aarch64Registers {
        self.registers
    }

    /// What [`crate::boot_aarch64`] boots: every imported page (zero-filled
    /// to whole pages), the startup memory as required RAM, the registers.
    pub fn boot_image(&self) -> BootImage {
        BootImage {
            ram: self.startup_memory.clone(),
            pages: self
                .imports
                .iter()
                .filter(|i| i.page_count > 0)
                .map(|i| {
                    let mut data = i.data.clone();
                    let len = i
                        .page_count
                        .checked_mul(PAGE_SIZE)
                        .and_then(|n| usize::try_from(n).ok())
                        .unwrap_or(data.len());
                    data.resize(len.max(data.len()), 0);
                    PageData {
                        gpa: i.page_base.saturating_mul(PAGE_SIZE),
                        data,
                    }
                })
                .collect(),
            registers: self.registers,
        }
    }
}

fn byte_len(tag: &'static str, page_base: u64, page_count: u64) -> Result<u64, ImportError> {
    page_count
        .checked_mul(PAGE_SIZE)
        .filter(|len| {
            page_base
                .checked_mul(PAGE_SIZE)
                .and_then(|start| start.checked_add(*len))
                .is_some()
        })
        .ok_or(ImportError::Overflow {
            tag,
            page_base,
            page_count,
        })
}

impl ImportPages for BootImageImporter {
    type Error = ImportError;

    fn import_pages(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &'static str,
        _acceptance: PageAcceptance,
        data: &[u8],
    ) -> Result<(), ImportError> {
        let len = byte_len(tag, page_base, page_count)?;
        if u64::try_from(data.len()).map_or(true, |n| n > len) {
            return Err(ImportError::DataTooLong {
                tag,
                page_base,
                page_count,
                len: data.len(),
            });
        }
        // The loaders may split one import into adjacent calls with the
        // same tag; join them so each tag is one record.
        if let Some(last) = self.imports.last_mut()
            && last.tag == tag
            && last.page_base.checked_add(last.page_count) == Some(page_base)
        {
            let last_len = byte_len(tag, last.page_base, last.page_count)?;
            let count = last
                .page_count
                .checked_add(page_count)
                .ok_or(ImportError::Overflow {
                    tag,
                    page_base: last.page_base,
                    page_count,
                })?;
            last.data
                .resize(usize::try_from(last_len).unwrap_or(usize::MAX), 0);
            last.data.extend_from_slice(data);
            last.page_count = count;
            return Ok(());
        }
        self.imports.push(ImportRecord {
            page_base,
            page_count,
            tag,
            data: data.to_vec(),
        });
        Ok(())
    }
}

impl ParavisorImporter<Aarch64Register> for BootImageImporter {
    fn isolation_config(&self) -> IsolationConfig {
        self.isolation
    }

    fn verify_startup_memory_available(
        &mut self,
        page_base: u64,
        page_count: u64,
        _memory_type: StartupMemoryType,
    ) -> Result<(), ImportError> {
        let size = byte_len("startup memory", page_base, page_count)?;
        self.startup_memory.push(RamRange {
            gpa: page_base.saturating_mul(PAGE_SIZE),
            size,
        });
        Ok(())
    }

    fn create_parameter_area(
        &mut self,
        _page_base: u64,
        _page_count: u32,
        _tag: &'static str,
    ) -> Result<ParameterAreaIndex, ImportError> {
        Ok(ParameterAreaIndex(0))
    }

    fn import_parameter(
        &mut self,
        _area: ParameterAreaIndex,
        _byte_offset: u32,
        _parameter: ParameterType,
    ) -> Result<(), ImportError> {
        Ok(())
    }

    fn import_vp_register(&mut self, register: Aarch64Register) -> Result<(), ImportError> {
        let r = &mut self.registers;
        let slot = match register {
            Aarch64Register::X0(_) => &mut r.x0,
            Aarch64Register::Pc(_) => &mut r.pc,
            Aarch64Register::Cpsr(_) => &mut r.cpsr,
            Aarch64Register::SctlrEl1(_) => &mut r.sctlr_el1,
            Aarch64Register::TcrEl1(_) => &mut r.tcr_el1,
            Aarch64Register::MairEl1(_) => &mut r.mair_el1,
            Aarch64Register::Ttbr0El1(_) => &mut r.ttbr0_el1,
            Aarch64Register::VbarEl1(_) => &mut r.vbar_el1,
            other => return Err(ImportError::UnsupportedRegister(other.name())),
        };
        if slot.is_some() {
            return Err(ImportError::RegisterTwice(register.name()));
        }
        *slot = Some(register.value());
        Ok(())
    }

    fn set_vp_context_page(&mut self, page_base: u64) -> Result<(), ImportError> {
        Err(ImportError::VpContextPage(page_base))
    }

    fn relocation_region(&mut self, _region: RelocationRegion) -> Result<(), ImportError> {
        Ok(())
    }

    fn page_table_relocation(
        &mut self,
        _relocation: PageTableRelocation,
    ) -> Result<(), ImportError> {
        Ok(())
    }

    fn set_imported_regions_config_page(&mut self, _page_base: u64) {}
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
        assert!(matches!(e, Err(ImportError::DataTooLong { len: 4097, .. })));
        let e = imp.import_pages(u64::MAX, 1, "t", PageAcceptance::Exclusive, &[]);
        assert!(matches!(e, Err(ImportError::Overflow { .. })));
        assert_eq!(
            imp.import_vp_register(Aarch64Register::Ttbr1El1(0)),
            Err(ImportError::UnsupportedRegister("ttbr1_el1"))
        );
        imp.import_vp_register(Aarch64Register::Pc(5)).unwrap();
        assert_eq!(
            imp.import_vp_register(Aarch64Register::Pc(6)),
            Err(ImportError::RegisterTwice("pc"))
        );
        assert_eq!(imp.registers().pc, Some(5));
        assert_eq!(
            imp.set_vp_context_page(7),
            Err(ImportError::VpContextPage(7))
        );
    }
}

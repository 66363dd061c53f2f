//! An importer for the x86-64 paravisor loader that records what the loader
//! imported as a [`BootImage`] ready for [`crate::boot_x64`].

use crate::BootImage;
use crate::PAGE_SIZE;
use crate::PageData;
use crate::RamRange;
use crate::SegmentRegister;
use crate::TableRegister;
use paravisor_loader::ImportPages;
use paravisor_loader::IsolationConfig;
use paravisor_loader::PageAcceptance;
use paravisor_loader::PageTableRelocation;
use paravisor_loader::ParameterAreaIndex;
use paravisor_loader::ParameterType;
use paravisor_loader::ParavisorImporter;
use paravisor_loader::RelocationRegion;
use paravisor_loader::StartupMemoryType;
use std::collections::BTreeMap;
use vp_regs::x86_64::X86Register;

/// What the importer refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
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
    /// An import's data is longer than its pages, or its pages overflow.
    #[error("import {tag:?} of pages {page_base:#x}+{page_count:#x} has {len:#x} data bytes")]
    BadImport {
        /// The import's tag.
        tag: &'static str,
        /// Its first page.
        page_base: u64,
        /// Its page count.
        page_count: u64,
        /// Its data length.
        len: usize,
    },
    /// A register was imported twice.
    #[error("register {0} imported twice")]
    DuplicateRegister(&'static str),
    /// A register this runner cannot set.
    #[error("register {0} cannot be set by the KVM runner")]
    UnsupportedRegister(&'static str),
    /// A parameter area overflows the address space.
    #[error("parameter area at page {page_base:#x} of {page_count} pages overflows")]
    BadParameterArea {
        /// First page.
        page_base: u64,
        /// Page count.
        page_count: u32,
    },
}

/// Records a paravisor load for a KVM boot: the pages with their data, the
/// startup memory (as RAM), the registers, and the relocation records (for
/// a VMM-style relocation before booting).
#[derive(Debug, Clone)]
pub struct BootImageImporter {
    isolation: IsolationConfig,
    image: BootImage,
    /// First page → (page count, tag) of every import, to refuse overlaps.
    imported: BTreeMap<u64, (u64, &'static str)>,
    parameter_areas: u32,
    relocation_regions: Vec<RelocationRegion>,
    page_table_relocations: Vec<PageTableRelocation>,
    vp_context_page: Option<u64>,
    startup_memory: Vec<RamRange>,
}

impl BootImageImporter {
    /// An importer reporting `isolation` to the loader.
    pub fn new(isolation: IsolationConfig) -> Self {
        Self {
            isolation,
            image: BootImage::default(),
            imported: BTreeMap::new(),
            parameter_areas: 0,
            relocation_regions: Vec::new(),
            page_table_relocations: Vec::new(),
            vp_context_page: None,
            startup_memory: Vec::new(),
        }
    }

    /// The startup memory the loader asked for (VTL2 memory).
    pub fn startup_memory(&self) -> &[RamRange] {
        &self.startup_memory
    }

    /// The recorded image.
    pub fn image(&self) -> &BootImage {
        &self.image
    }

    /// The recorded image, by value.
    pub fn into_image(self) -> BootImage {
        self.image
    }

    /// Relocation regions the loader described.
    pub fn relocation_regions(&self) -> &[RelocationRegion] {
        &self.relocation_regions
    }

    /// Page-table relocation records the loader described.
    pub fn page_table_relocations(&self) -> &[PageTableRelocation] {
        &self.page_table_relocations
    }

    /// The SNP VMSA page, if the loader set one.
    pub fn vp_context_page(&self) -> Option<u64> {
        self.vp_context_page
    }

    fn set<T: Copy>(slot: &mut Option<T>, value: T, name: &'static str) -> Result<(), ImportError> {
        if slot.is_some() {
            return Err(ImportError::DuplicateRegister(name));
        }
        *slot = Some(value);
        Ok(())
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
        let bad = ImportError::BadImport {
            tag,
            page_base,
            page_count,
            len: data.len(),
        };
        if page_count == 0 {
            return if data.is_empty() { Ok(()) } else { Err(bad) };
        }
        let end = page_base.checked_add(page_count).ok_or(bad.clone())?;
        let bytes = page_count.checked_mul(PAGE_SIZE).ok_or(bad.clone())?;
        let gpa = page_base.checked_mul(PAGE_SIZE).ok_or(bad.clone())?;
        if data.len() as u64 > bytes || gpa.checked_add(bytes).is_none() {
            return Err(bad);
        }
        let before = self.imported.range(..end).next_back();
        if let Some((&start, &(count, other))) = before
            && start.saturating_add(count) > page_base
        {
            return Err(ImportError::Overlap {
                tag,
                page_base,
                page_count,
                other,
            });
        }
        self.imported.insert(page_base, (page_count, tag));
        self.image.ram.push(RamRange { gpa, size: bytes });
        if !data.is_empty() {
            self.image.pages.push(PageData {
                gpa,
                data: data.to_vec(),
            });
        }
        Ok(())
    }
}

impl ParavisorImporter<X86Register> for BootImageImporter {
    fn isolation_config(&self) -> IsolationConfig {
        self.isolation
    }

    fn verify_startup_memory_available(
        &mut self,
        page_base: u64,
        page_count: u64,
        _memory_type: StartupMemoryType,
    ) -> Result<(), ImportError> {
        // Startup memory becomes RAM of the VM.
        let bad = ImportError::BadImport {
            tag: "startup memory",
            page_base,
            page_count,
            len: 0,
        };
        let gpa = page_base.checked_mul(PAGE_SIZE).ok_or(bad.clone())?;
        let size = page_count.checked_mul(PAGE_SIZE).ok_or(bad)?;
        self.image.ram.push(RamRange { gpa, size });
        self.startup_memory.push(RamRange { gpa, size });
        Ok(())
    }

    fn create_parameter_area(
        &mut self,
        page_base: u64,
        page_count: u32,
        _tag: &'static str,
    ) -> Result<ParameterAreaIndex, ImportError> {
        let bad = ImportError::BadParameterArea {
            page_base,
            page_count,
        };
        let gpa = page_base.checked_mul(PAGE_SIZE).ok_or(bad.clone())?;
        let size = u64::from(page_count)
            .checked_mul(PAGE_SIZE)
            .ok_or(bad.clone())?;
        self.image.ram.push(RamRange { gpa, size });
        let index = ParameterAreaIndex(self.parameter_areas);
        self.parameter_areas = self.parameter_areas.checked_add(1).ok_or(bad)?;
        Ok(index)
    }

    fn import_parameter(
        &mut self,
        _area: ParameterAreaIndex,
        _byte_offset: u32,
        _parameter: ParameterType,
    ) -> Result<(), ImportError> {
        // A VMM would fill these areas with host information at boot; this
        // runner leaves them zero.
        Ok(())
    }

    fn import_vp_register(&mut self, register: X86Register) -> Result<(), ImportError> {
        let r = &mut self.image.registers;
        match register {
            X86Register::Gdtr(t) => Self::set(&mut r.gdtr, table(t), "gdtr"),
            X86Register::Idtr(t) => Self::set(&mut r.idtr, table(t), "idtr"),
            X86Register::Cs(s) => Self::set(&mut r.cs, segment(s), "cs"),
            X86Register::Ds(s) => Self::set(&mut r.ds, segment(s), "ds"),
            X86Register::Es(s) => Self::set(&mut r.es, segment(s), "es"),
            X86Register::Fs(s) => Self::set(&mut r.fs, segment(s), "fs"),
            X86Register::Gs(s) => Self::set(&mut r.gs, segment(s), "gs"),
            X86Register::Ss(s) => Self::set(&mut r.ss, segment(s), "ss"),
            X86Register::Tr(s) => Self::set(&mut r.tr, segment(s), "tr"),
            X86Register::Cr0(v) => Self::set(&mut r.cr0, v, "cr0"),
            X86Register::Cr3(v) => Self::set(&mut r.cr3, v, "cr3"),
            X86Register::Cr4(v) => Self::set(&mut r.cr4, v, "cr4"),
            X86Register::Efer(v) => Self::set(&mut r.efer, v, "efer"),
            X86Register::Pat(v) => Self::set(&mut r.pat, v, "pat"),
            X86Register::Rbp(v) => Self::set(&mut r.rbp, v, "rbp"),
            X86Register::Rip(v) => Self::set(&mut r.rip, v, "rip"),
            X86Register::Rsi(v) => Self::set(&mut r.rsi, v, "rsi"),
            X86Register::Rsp(v) => Self::set(&mut r.rsp, v, "rsp"),
            X86Register::R8(v) => Self::set(&mut r.r8, v, "r8"),
            X86Register::R9(v) => Self::set(&mut r.r9, v, "r9"),
            X86Register::R10(v) => Self::set(&mut r.r10, v, "r10"),
            X86Register::R11(v) => Self::set(&mut r.r11, v, "r11"),
            X86Register::R12(v) => Self::set(&mut r.r12, v, "r12"),
            X86Register::Rflags(v) => Self::set(&mut r.rflags, v, "rflags"),
            other => Err(ImportError::UnsupportedRegister(other.name())),
        }
    }

    fn set_vp_context_page(&mut self, page_base: u64) -> Result<(), ImportError> {
        self.vp_context_page = Some(page_base);
        Ok(())
    }

    fn relocation_region(&mut self, region: RelocationRegion) -> Result<(), ImportError> {
        self.relocation_regions.push(region);
        Ok(())
    }

    fn page_table_relocation(
        &mut self,
        relocation: PageTableRelocation,
    ) -> Result<(), ImportError> {
        self.page_table_relocations.push(relocation);
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
            ImportError::Overlap {
                tag: "second",
                page_base: 0x13,
                page_count: 1,
                other: "first"
            }
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
            Err(ImportError::DuplicateRegister("rip"))
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

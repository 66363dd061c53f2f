//! A `no_std`, allocation-free importer that writes the image into guest
//! RAM the caller provides — for firmware that loads a paravisor into its
//! own memory — and records the VP registers and the other records in
//! fixed-size arrays.

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
use vp_regs::aarch64::Aarch64Register;
use vp_regs::x86_64::X86Register;

/// Most registers a [`GuestMemoryImporter`] records (the loaders set 15 on
/// x86-64 and 8 on AArch64).
pub const MAX_REGISTERS: usize = 32;
/// Most parameter areas recorded (the loaders create 3).
pub const MAX_PARAMETER_AREAS: usize = 8;

/// A recorded register of either architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordedRegister {
    /// An x86-64 register.
    X86(X86Register),
    /// An AArch64 register.
    Aarch64(Aarch64Register),
}

/// A recorded parameter area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedParameterArea {
    /// First page.
    pub page_base: u64,
    /// Pages.
    pub page_count: u32,
    /// Tag.
    pub tag: &'static str,
    /// The parameter placed in it, if any, and its byte offset.
    pub parameter: Option<(u32, ParameterType)>,
}

/// What the guest-memory importer refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GuestMemoryError {
    /// Pages outside the RAM the importer was given.
    #[error(
        "pages {page_base:#x}+{page_count:#x} (\"{tag}\") are outside guest RAM {ram_base:#x}..{ram_end:#x}"
    )]
    OutOfRange {
        /// Tag of the import (or what was checked).
        tag: &'static str,
        /// First page.
        page_base: u64,
        /// Pages.
        page_count: u64,
        /// First byte of RAM.
        ram_base: u64,
        /// End of RAM.
        ram_end: u64,
    },
    /// The data is longer than the pages.
    #[error("import \"{tag}\": {data_len} bytes do not fit in {page_count} pages")]
    DataTooLong {
        /// Tag.
        tag: &'static str,
        /// Pages.
        page_count: u64,
        /// Bytes given.
        data_len: usize,
    },
    /// More registers than [`MAX_REGISTERS`], or one register set twice.
    #[error("register {name}: set twice or more than {MAX_REGISTERS} registers")]
    Register {
        /// Register name.
        name: &'static str,
    },
    /// More parameter areas than [`MAX_PARAMETER_AREAS`].
    #[error("more than {MAX_PARAMETER_AREAS} parameter areas")]
    TooManyParameterAreas,
    /// A parameter for an area that does not exist.
    #[error("parameter for unknown area {area}")]
    UnknownParameterArea {
        /// The index.
        area: u32,
    },
    /// A record that may be given once was given twice.
    #[error("{what} given twice")]
    Twice {
        /// Which record.
        what: &'static str,
    },
}

/// Writes imported pages into `ram` (guest physical `base_gpa..`), zeroing
/// the part of each page range the data does not cover, and records
/// everything else.
#[derive(Debug)]
pub struct GuestMemoryImporter<'m> {
    base_gpa: u64,
    ram: &'m mut [u8],
    isolation: IsolationConfig,
    registers: [Option<RecordedRegister>; MAX_REGISTERS],
    register_count: usize,
    parameter_areas: [Option<RecordedParameterArea>; MAX_PARAMETER_AREAS],
    parameter_area_count: usize,
    vp_context_page: Option<u64>,
    relocation_region: Option<RelocationRegion>,
    page_table_relocation: Option<PageTableRelocation>,
    imported_regions_config_page: Option<u64>,
    pages_written: u64,
}

impl<'m> GuestMemoryImporter<'m> {
    /// An importer writing into `ram`, which backs guest physical addresses
    /// `base_gpa .. base_gpa + ram.len()`.
    pub fn new(base_gpa: u64, ram: &'m mut [u8], isolation: IsolationConfig) -> Self {
        Self {
            base_gpa,
            ram,
            isolation,
            registers: [None; MAX_REGISTERS],
            register_count: 0,
            parameter_areas: [None; MAX_PARAMETER_AREAS],
            parameter_area_count: 0,
            vp_context_page: None,
            relocation_region: None,
            page_table_relocation: None,
            imported_regions_config_page: None,
            pages_written: 0,
        }
    }

    /// The RAM (for reading back what was written).
    pub fn ram(&self) -> &[u8] {
        self.ram
    }

    /// The registers in the order they were set.
    pub fn registers(&self) -> impl Iterator<Item = RecordedRegister> + '_ {
        self.registers.iter().flatten().copied()
    }

    /// The parameter areas in creation order.
    pub fn parameter_areas(&self) -> impl Iterator<Item = RecordedParameterArea> + '_ {
        self.parameter_areas.iter().flatten().copied()
    }

    /// The SNP VMSA page, if set.
    pub fn vp_context_page(&self) -> Option<u64> {
        self.vp_context_page
    }

    /// The relocation region, if recorded.
    pub fn relocation_region(&self) -> Option<RelocationRegion> {
        self.relocation_region
    }

    /// The page-table relocation record, if recorded.
    pub fn page_table_relocation(&self) -> Option<PageTableRelocation> {
        self.page_table_relocation
    }

    /// The imported-regions config page, if named.
    pub fn imported_regions_config_page(&self) -> Option<u64> {
        self.imported_regions_config_page
    }

    /// Number of pages written so far (0 after a failed load).
    pub fn pages_written(&self) -> u64 {
        self.pages_written
    }

    /// The RAM bytes of `page_count` pages at `page_base`, or an error.
    fn range_mut(
        &mut self,
        tag: &'static str,
        page_base: u64,
        page_count: u64,
    ) -> Result<&mut [u8], GuestMemoryError> {
        let ram_end = self.base_gpa.saturating_add(self.ram.len() as u64);
        let out_of_range = GuestMemoryError::OutOfRange {
            tag,
            page_base,
            page_count,
            ram_base: self.base_gpa,
            ram_end,
        };
        let start = page_base
            .checked_mul(PAGE_SIZE)
            .and_then(|gpa| gpa.checked_sub(self.base_gpa))
            .and_then(|o| usize::try_from(o).ok())
            .ok_or(out_of_range)?;
        let len = page_count
            .checked_mul(PAGE_SIZE)
            .and_then(|l| usize::try_from(l).ok())
            .ok_or(out_of_range)?;
        let end = start.checked_add(len).ok_or(out_of_range)?;
        self.ram.get_mut(start..end).ok_or(out_of_range)
    }

    fn push_register(
        &mut self,
        register: RecordedRegister,
        name: &'static str,
    ) -> Result<(), GuestMemoryError> {
        let same_kind = |r: &RecordedRegister| match (r, &register) {
            (RecordedRegister::X86(a), RecordedRegister::X86(b)) => a.name() == b.name(),
            (RecordedRegister::Aarch64(a), RecordedRegister::Aarch64(b)) => a.name() == b.name(),
            _ => false,
        };
        if self.registers().any(|r| same_kind(&r)) {
            return Err(GuestMemoryError::Register { name });
        }
        let slot = self
            .registers
            .get_mut(self.register_count)
            .ok_or(GuestMemoryError::Register { name })?;
        *slot = Some(register);
        self.register_count = self.register_count.saturating_add(1);
        Ok(())
    }
}

impl ImportPages for GuestMemoryImporter<'_> {
    type Error = GuestMemoryError;

    fn import_pages(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &'static str,
        acceptance: PageAcceptance,
        data: &[u8],
    ) -> Result<(), GuestMemoryError> {
        self.import_pages_at_offset(page_base, page_count, tag, acceptance, 0, data)
    }

    /// Writes `data` at `page_base * 4096 + leading_zeros` and zeroes the
    /// rest of the pages (the leading bytes included), with no intermediate
    /// copy.
    fn import_pages_at_offset(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &'static str,
        _acceptance: PageAcceptance,
        leading_zeros: usize,
        data: &[u8],
    ) -> Result<(), GuestMemoryError> {
        let dst = self.range_mut(tag, page_base, page_count)?;
        let too_long = GuestMemoryError::DataTooLong {
            tag,
            page_count,
            data_len: leading_zeros.saturating_add(data.len()),
        };
        let end = leading_zeros
            .checked_add(data.len())
            .filter(|&end| end <= dst.len())
            .ok_or(too_long)?;
        let (head, tail) = dst.split_at_mut_checked(end).ok_or(too_long)?;
        let (zeros, bytes) = head.split_at_mut_checked(leading_zeros).ok_or(too_long)?;
        zeros.fill(0);
        bytes.copy_from_slice(data);
        tail.fill(0);
        self.pages_written = self.pages_written.saturating_add(page_count);
        Ok(())
    }
}

macro_rules! impl_paravisor_importer {
    ($reg:ty, $variant:ident) => {
        impl ParavisorImporter<$reg> for GuestMemoryImporter<'_> {
            fn isolation_config(&self) -> IsolationConfig {
                self.isolation
            }

            fn verify_startup_memory_available(
                &mut self,
                page_base: u64,
                page_count: u64,
                _memory_type: StartupMemoryType,
            ) -> Result<(), GuestMemoryError> {
                self.range_mut("VTL2 memory", page_base, page_count)
                    .map(|_| ())
            }

            fn create_parameter_area(
                &mut self,
                page_base: u64,
                page_count: u32,
                tag: &'static str,
            ) -> Result<ParameterAreaIndex, GuestMemoryError> {
                // The host fills parameter areas at launch; here they are
                // zeroed so the image is deterministic.
                self.range_mut(tag, page_base, page_count.into())?.fill(0);
                let index = self.parameter_area_count;
                let slot = self
                    .parameter_areas
                    .get_mut(index)
                    .ok_or(GuestMemoryError::TooManyParameterAreas)?;
                *slot = Some(RecordedParameterArea {
                    page_base,
                    page_count,
                    tag,
                    parameter: None,
                });
                self.parameter_area_count = index.saturating_add(1);
                Ok(ParameterAreaIndex(
                    u32::try_from(index).map_err(|_| GuestMemoryError::TooManyParameterAreas)?,
                ))
            }

            fn import_parameter(
                &mut self,
                area: ParameterAreaIndex,
                byte_offset: u32,
                parameter: ParameterType,
            ) -> Result<(), GuestMemoryError> {
                let unknown = GuestMemoryError::UnknownParameterArea { area: area.0 };
                let slot = self
                    .parameter_areas
                    .get_mut(area.0 as usize)
                    .and_then(|s| s.as_mut())
                    .ok_or(unknown)?;
                slot.parameter = Some((byte_offset, parameter));
                Ok(())
            }

            fn import_vp_register(&mut self, register: $reg) -> Result<(), GuestMemoryError> {
                self.push_register(RecordedRegister::$variant(register), register.name())
            }

            fn set_vp_context_page(&mut self, page_base: u64) -> Result<(), GuestMemoryError> {
                if self.vp_context_page.is_some() {
                    return Err(GuestMemoryError::Twice {
                        what: "VP context page",
                    });
                }
                self.vp_context_page = Some(page_base);
                Ok(())
            }

            fn relocation_region(
                &mut self,
                region: RelocationRegion,
            ) -> Result<(), GuestMemoryError> {
                if self.relocation_region.is_some() {
                    return Err(GuestMemoryError::Twice {
                        what: "relocation region",
                    });
                }
                self.relocation_region = Some(region);
                Ok(())
            }

            fn page_table_relocation(
                &mut self,
                relocation: PageTableRelocation,
            ) -> Result<(), GuestMemoryError> {
                if self.page_table_relocation.is_some() {
                    return Err(GuestMemoryError::Twice {
                        what: "page-table relocation",
                    });
                }
                self.page_table_relocation = Some(relocation);
                Ok(())
            }

            fn set_imported_regions_config_page(&mut self, page_base: u64) {
                self.imported_regions_config_page = Some(page_base);
            }
        }
    };
}

impl_paravisor_importer!(X86Register, X86);
impl_paravisor_importer!(Aarch64Register, Aarch64);

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::importer::IsolationType;
    use proptest::prelude::*;
    use std::vec;

    const NONE: IsolationConfig = IsolationConfig {
        isolation_type: IsolationType::None,
        paravisor_present: true,
        shared_gpa_boundary_bits: None,
    };

    proptest! {
        /// `import_pages_at_offset` writes what the original's single call
        /// does (`docs/algorithms.md` §2 step 10.3: `leading_zeros` zeros, then
        /// the data, then zeros), over RAM that held other bytes.
        #[test]
        fn import_at_offset_equals_the_single_call(
            page_count in 0u64..4,
            leading_zeros in 0usize..4096,
            data in proptest::collection::vec(1u8.., 0..3 * 4096),
        ) {
            let mut full = vec![0u8; leading_zeros];
            full.extend_from_slice(&data);
            let mut ram_single = vec![0xCCu8; 5 * 4096];
            let mut single = GuestMemoryImporter::new(0x1000, &mut ram_single, NONE);
            let expected = single.import_pages(2, page_count, "k", PageAcceptance::Exclusive, &full);
            let mut ram_offset = vec![0xCCu8; 5 * 4096];
            let mut offset = GuestMemoryImporter::new(0x1000, &mut ram_offset, NONE);
            let got = offset.import_pages_at_offset(
                2,
                page_count,
                "k",
                PageAcceptance::Exclusive,
                leading_zeros,
                &data,
            );
            prop_assert_eq!(got, expected);
            prop_assert_eq!(offset.pages_written(), single.pages_written());
            prop_assert!(offset.ram() == single.ram());
            if expected.is_ok() {
                // Pages 2.. are RAM bytes 0x1000.. (RAM starts at page 1).
                let pages = &offset.ram()[0x1000..0x1000 + page_count as usize * 4096];
                prop_assert!(pages[..leading_zeros].iter().all(|&b| b == 0));
                prop_assert!(pages[leading_zeros..leading_zeros + data.len()] == data[..]);
                prop_assert!(pages[leading_zeros + data.len()..].iter().all(|&b| b == 0));
            }
        }
    }

    #[test]
    fn import_at_offset_reports_the_whole_length_when_too_long() {
        let mut ram = vec![0u8; 4096];
        let mut importer = GuestMemoryImporter::new(0, &mut ram, NONE);
        let err = importer
            .import_pages_at_offset(0, 1, "k", PageAcceptance::Exclusive, 0x800, &[1; 0x801])
            .unwrap_err();
        assert_eq!(
            err,
            GuestMemoryError::DataTooLong {
                tag: "k",
                page_count: 1,
                data_len: 0x1001,
            }
        );
    }
}

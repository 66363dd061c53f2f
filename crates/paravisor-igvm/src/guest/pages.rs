//! Page imports and acceptance tracking (`docs/igvm.md` §4.1–§4.3, §4.5,
//! §4.9, §5.1): accepted ranges may not overlap; page data, parameter
//! areas, required memory and the imported-regions page.

use super::state::GuestBuilder;
use super::state::PAGE;
use super::vp::VpBuilder;
use crate::error::IgvmError;
use crate::vp_context::VMSA_SIZE;
use elf_static_loader::PageAcceptance;
use igvm::IgvmDirectiveHeader;
use igvm_defs::IGVM_VHS_PARAMETER;
use igvm_defs::IgvmPageDataFlags;
use igvm_defs::IgvmPageDataType;
use paravisor_loader::PAGE_SIZE;
use paravisor_loader::ParameterType;
use paravisor_loader::StartupMemoryType;
use sha2::Digest;
use sha2::Sha384;

impl GuestBuilder {
    /// `import_pages` (`docs/igvm.md` §4.1). A call with no pages imports
    /// nothing (igvmfilegen panics on it; its data must be empty).
    pub fn import_pages(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &str,
        acceptance: PageAcceptance,
        data: &[u8],
    ) -> Result<(), IgvmError> {
        self.import_pages_at_offset(page_base, page_count, tag, acceptance, 0, data)
    }

    /// The single `import_pages` call (`docs/igvm.md` §4.1) whose data is
    /// `leading_zeros` zero bytes followed by `data` (an ELF segment that
    /// starts inside a page, `docs/algorithms.md` §2 step 10.3), without building
    /// that data: each page's chunk is cut from the zeros and `data`
    /// directly. Same pages, page data and accepted range (one
    /// imported-regions descriptor) as the concatenated call.
    pub fn import_pages_at_offset(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &str,
        acceptance: PageAcceptance,
        leading_zeros: usize,
        data: &[u8],
    ) -> Result<(), IgvmError> {
        let len = leading_zeros.checked_add(data.len());
        let too_large = || IgvmError::DataTooLarge {
            tag: tag.to_owned(),
            page_base,
            page_count,
            len: len.unwrap_or(usize::MAX),
        };
        let capacity = page_count.checked_mul(PAGE_SIZE).ok_or_else(too_large)?;
        if len
            .and_then(|len| u64::try_from(len).ok())
            .is_none_or(|len| len > capacity)
        {
            return Err(too_large());
        }
        if page_count == 0 {
            return Ok(());
        }
        let (data_type, flags) = match acceptance {
            PageAcceptance::Exclusive => (IgvmPageDataType::NORMAL, IgvmPageDataFlags::new()),
            PageAcceptance::ExclusiveUnmeasured => (
                IgvmPageDataType::NORMAL,
                IgvmPageDataFlags::new().with_unmeasured(true),
            ),
            PageAcceptance::Shared => (
                IgvmPageDataType::NORMAL,
                IgvmPageDataFlags::new().with_shared(true),
            ),
            PageAcceptance::SecretsPage => (IgvmPageDataType::SECRETS, IgvmPageDataFlags::new()),
            PageAcceptance::CpuidPage => (IgvmPageDataType::CPUID_DATA, IgvmPageDataFlags::new()),
            PageAcceptance::CpuidExtendedStatePage => {
                (IgvmPageDataType::CPUID_XF, IgvmPageDataFlags::new())
            }
            PageAcceptance::VpContext => {
                let mut vmsa = vec![0u8; leading_zeros];
                vmsa.extend_from_slice(data);
                return self.import_vmsa(page_base, page_count, tag, &vmsa);
            }
            PageAcceptance::ErrorPage => {
                return Err(IgvmError::Acceptance {
                    tag: tag.to_owned(),
                    acceptance: "ErrorPage".into(),
                    reason: "error pages cannot be written to an IGVM file",
                });
            }
        };
        let gpa_base = page_base
            .checked_mul(PAGE_SIZE)
            .ok_or(IgvmError::AddressOverflow {
                what: "page import",
                base: page_base,
                len: page_count,
            })?;
        self.accepted
            .accept(page_base, page_count, tag, acceptance)?;
        // The data is `zeros_left` zeros, then `rest`; each page takes the
        // next min(4096, remaining) bytes of it.
        let mut zeros_left = leading_zeros;
        let mut rest = data;
        let mut gpa = gpa_base;
        for _ in 0..page_count {
            let zeros = zeros_left.min(PAGE);
            let (bytes, after) = rest
                .split_at_checked(PAGE.saturating_sub(zeros))
                .unwrap_or((rest, &[]));
            zeros_left = zeros_left.saturating_sub(zeros);
            rest = after;
            let mut chunk = vec![0u8; zeros];
            chunk.extend_from_slice(bytes);
            self.page_data.push(IgvmDirectiveHeader::PageData {
                gpa,
                compatibility_mask: 1,
                flags,
                data_type,
                data: chunk,
            });
            // The end page was checked to be at most 2^52, so this cannot
            // overflow; saturate to stay panic-free regardless.
            gpa = gpa.saturating_add(PAGE_SIZE);
        }
        Ok(())
    }

    /// An import with acceptance VpContext: the SNP VMSA (§4.1 step 3).
    fn import_vmsa(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &str,
        data: &[u8],
    ) -> Result<(), IgvmError> {
        let reject = |reason| IgvmError::Acceptance {
            tag: tag.to_owned(),
            acceptance: "VpContext".into(),
            reason,
        };
        if !matches!(self.vp, VpBuilder::Snp { .. }) {
            return Err(reject("vpcontext acceptance only supported on SNP"));
        }
        if page_count != 1 || data.len() != VMSA_SIZE {
            return Err(reject("a VMSA is one page with 0x670 bytes of data"));
        }
        let mut page = [0u8; PAGE];
        if let Some(dst) = page.get_mut(..VMSA_SIZE) {
            dst.copy_from_slice(data);
        }
        use zerocopy::FromBytes;
        let vmsa = igvm::snp_defs::SevVmsa::read_from_prefix(&page[..])
            .map(|(v, _)| v)
            .map_err(|_| reject("VMSA layout"))?;
        let gpa = page_base
            .checked_mul(PAGE_SIZE)
            .ok_or(IgvmError::AddressOverflow {
                what: "VMSA",
                base: page_base,
                len: 1,
            })?;
        self.accepted
            .accept(page_base, 1, tag, PageAcceptance::VpContext)?;
        self.directives.push(IgvmDirectiveHeader::SnpVpContext {
            gpa,
            compatibility_mask: 1,
            vp_index: 0,
            vmsa: Box::new(vmsa),
        });
        Ok(())
    }

    /// `create_parameter_area` (§4.2); returns the area index.
    pub fn create_parameter_area(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &str,
        initial_data: &[u8],
    ) -> Result<u32, IgvmError> {
        let number_of_bytes =
            page_count
                .checked_mul(PAGE_SIZE)
                .ok_or(IgvmError::AddressOverflow {
                    what: "parameter area",
                    base: page_base,
                    len: page_count,
                })?;
        if u64::try_from(initial_data.len()).map_or(true, |len| len > number_of_bytes) {
            return Err(IgvmError::DataTooLarge {
                tag: tag.to_owned(),
                page_base,
                page_count,
                len: initial_data.len(),
            });
        }
        if page_count == 0 {
            return Err(IgvmError::AddressOverflow {
                what: "parameter area of no pages",
                base: page_base,
                len: 0,
            });
        }
        self.accepted.accept(
            page_base,
            page_count,
            tag,
            PageAcceptance::ExclusiveUnmeasured,
        )?;
        let index = self.area_count;
        self.area_count = index
            .checked_add(1)
            .ok_or(IgvmError::UnknownParameterArea { index })?;
        self.areas.insert((page_base, page_count), index);
        self.directives.push(IgvmDirectiveHeader::ParameterArea {
            number_of_bytes,
            parameter_area_index: index,
            initial_data: initial_data.to_vec(),
        });
        Ok(index)
    }

    /// `import_parameter` (§4.3).
    pub fn import_parameter(
        &mut self,
        area: u32,
        byte_offset: u32,
        parameter: ParameterType,
    ) -> Result<(), IgvmError> {
        if area >= self.area_count {
            return Err(IgvmError::UnknownParameterArea { index: area });
        }
        let p = IGVM_VHS_PARAMETER {
            parameter_area_index: area,
            byte_offset,
        };
        self.directives.push(match parameter {
            ParameterType::VpCount => IgvmDirectiveHeader::VpCount(p),
            ParameterType::Srat => IgvmDirectiveHeader::Srat(p),
            ParameterType::Madt => IgvmDirectiveHeader::Madt(p),
            ParameterType::MmioRanges => IgvmDirectiveHeader::MmioRanges(p),
            ParameterType::MemoryMap => IgvmDirectiveHeader::MemoryMap(p),
            ParameterType::CommandLine => IgvmDirectiveHeader::CommandLine(p),
            ParameterType::Slit => IgvmDirectiveHeader::Slit(p),
            ParameterType::Pptt => IgvmDirectiveHeader::Pptt(p),
            ParameterType::DeviceTree => IgvmDirectiveHeader::DeviceTree(p),
        });
        Ok(())
    }

    /// `verify_startup_memory_available` (§4.5): a RequiredMemory directive.
    pub fn verify_startup_memory_available(
        &mut self,
        page_base: u64,
        page_count: u64,
        memory_type: StartupMemoryType,
    ) -> Result<(), IgvmError> {
        let too_large = IgvmError::RequiredMemoryTooLarge {
            page_base,
            page_count,
        };
        let number_of_bytes = page_count
            .checked_mul(PAGE_SIZE)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or(too_large)?;
        let gpa = page_base
            .checked_mul(PAGE_SIZE)
            .ok_or(IgvmError::AddressOverflow {
                what: "required memory",
                base: page_base,
                len: page_count,
            })?;
        self.directives.push(IgvmDirectiveHeader::RequiredMemory {
            gpa,
            compatibility_mask: 1,
            number_of_bytes,
            vtl2_protectable: memory_type == StartupMemoryType::Vtl2ProtectableRam,
        });
        Ok(())
    }

    /// `set_imported_regions_config_page` (§4.9): the last call wins.
    pub fn set_imported_regions_config_page(&mut self, page_base: u64) {
        self.imported_regions_page = Some(page_base);
    }

    /// The imported-regions page (§5.1). Sorts `page_data` by GPA.
    pub(super) fn imported_regions_page(&mut self, config_page: u64) -> Result<Vec<u8>, IgvmError> {
        let mut descriptors: Vec<(u64, u64, u8)> = self.accepted.descriptors().collect();
        descriptors.push((config_page, 1, 1));
        descriptors.sort_by_key(|d| d.0);

        self.page_data.sort_by_key(|d| match d {
            IgvmDirectiveHeader::PageData { gpa, .. } => *gpa,
            _ => 0,
        });
        let mut hasher = Sha384::new();
        let zero_page = [0u8; PAGE];
        for d in &self.page_data {
            if let IgvmDirectiveHeader::PageData {
                flags,
                data_type,
                data,
                ..
            } = d
                && *data_type == IgvmPageDataType::NORMAL
                && flags.shared()
            {
                hasher.update(data);
                hasher.update(zero_page.get(data.len()..).unwrap_or_default());
            }
        }
        let count = descriptors.len();
        let bytes = count.saturating_mul(24).saturating_add(48);
        if bytes > PAGE {
            return Err(IgvmError::TooManyImportedRegions { count, bytes });
        }
        let mut page = Vec::with_capacity(bytes);
        page.extend_from_slice(&hasher.finalize());
        for (base, pages, accepted) in descriptors {
            page.extend_from_slice(&base.to_le_bytes());
            page.extend_from_slice(&pages.to_le_bytes());
            page.push(accepted);
            page.extend_from_slice(&[0u8; 7]);
        }
        Ok(page)
    }
}

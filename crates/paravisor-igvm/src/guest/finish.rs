//! Finalising a guest (`docs/igvm.md` §5) into its platform header,
//! initialization headers and directives, and measuring it (§10).

use super::settings::GuestArch;
use super::settings::GuestIsolation;
use super::settings::GuestSettings;
use super::settings::InjectionType;
use super::state::GuestBuilder;
use super::state::GuestOutput;
use super::vp::VpBuilder;
use crate::error::IgvmError;
use crate::measure::MeasuredPlatform;
use crate::measure::Measurement;
use crate::measure::snp_launch_digest;
use crate::measure::tdx_mrtd;
use crate::measure::vbs_boot_digest;
use crate::vp_context::RegisterList;
use crate::vp_context::TDX_RESET_PAGE;
use crate::vp_context::snp_vmsa;
use crate::vp_context::tdx_reset_page;
use elf_static_loader::PageAcceptance;
use igvm::IgvmDirectiveHeader;
use igvm::IgvmInitializationHeader;
use igvm::IgvmPlatformHeader;
use igvm_defs::IGVM_VHS_PARAMETER_INSERT;
use igvm_defs::IGVM_VHS_SUPPORTED_PLATFORM;
use igvm_defs::IgvmPlatformType;
use paravisor_loader::PAGE_SIZE;

impl GuestBuilder {
    /// Finalisation step 1 (`docs/igvm.md` §5): the VP context as a
    /// directive or page.
    pub(super) fn finish_vp_context(&mut self) -> Result<(), IgvmError> {
        match std::mem::replace(&mut self.vp, VpBuilder::Tdx(Vec::new())) {
            VpBuilder::Vbs(list) => {
                if !list.is_empty() {
                    self.directives.push(match list {
                        RegisterList::X64(registers) => IgvmDirectiveHeader::X64VbsVpContext {
                            vtl: self.vtl,
                            registers,
                            compatibility_mask: 1,
                        },
                        RegisterList::Aarch64(registers) => {
                            IgvmDirectiveHeader::AArch64VbsVpContext {
                                vtl: self.vtl,
                                registers,
                                compatibility_mask: 1,
                            }
                        }
                    });
                }
            }
            VpBuilder::Snp {
                registers,
                vmsa_page,
            } => {
                if let Some(page) = vmsa_page {
                    let restricted = matches!(
                        self.settings.isolation,
                        GuestIsolation::Snp {
                            injection_type: InjectionType::Restricted,
                            ..
                        }
                    );
                    let vmsa = snp_vmsa(&registers, restricted)?;
                    // import_vmsa needs the SNP builder back in place.
                    self.vp = VpBuilder::Snp {
                        registers: Vec::new(),
                        vmsa_page: None,
                    };
                    self.import_pages(
                        page,
                        1,
                        "vp-context-page",
                        PageAcceptance::VpContext,
                        &vmsa,
                    )?;
                }
            }
            VpBuilder::Tdx(registers) => {
                let page = tdx_reset_page(&registers)?;
                self.import_pages(
                    TDX_RESET_PAGE,
                    1,
                    "vp-context-page",
                    PageAcceptance::Exclusive,
                    &page,
                )?;
            }
        }
        Ok(())
    }

    /// The platform header of this guest (§3.1).
    fn platform_header(&self) -> IgvmPlatformHeader {
        let (platform_type, shared_gpa_boundary) = match self.settings.isolation {
            GuestIsolation::None | GuestIsolation::Vbs { .. } => {
                (IgvmPlatformType::VSM_ISOLATION, 0)
            }
            GuestIsolation::Snp {
                shared_gpa_boundary_bits,
                ..
            } => (
                IgvmPlatformType::SEV_SNP,
                // Checked in `new` to be at most 63.
                shared_gpa_boundary_bits
                    .and_then(|b| 1u64.checked_shl(b.into()))
                    .unwrap_or(0),
            ),
            GuestIsolation::Tdx { .. } => (IgvmPlatformType::TDX, 1 << 47),
        };
        IgvmPlatformHeader::SupportedPlatform(IGVM_VHS_SUPPORTED_PLATFORM {
            compatibility_mask: 1,
            highest_vtl: self.vtl as u8,
            platform_type,
            platform_version: 1,
            shared_gpa_boundary,
        })
    }

    /// Finalises the guest (§5) and measures it (§10).
    pub fn finish(mut self) -> Result<GuestOutput, IgvmError> {
        // 1. The VP context.
        self.finish_vp_context()?;

        // 2. The imported-regions page.
        if let Some(config_page) = self.imported_regions_page {
            let bytes = self.imported_regions_page(config_page)?;
            self.import_pages(
                config_page,
                1,
                "loader-imported-regions",
                PageAcceptance::Exclusive,
                &bytes,
            )?;
        }

        // 3. Parameter inserts, ascending by (page_base, page_count).
        for ((page_base, _), index) in &self.areas {
            self.directives.push(IgvmDirectiveHeader::ParameterInsert(
                IGVM_VHS_PARAMETER_INSERT {
                    gpa: page_base.saturating_mul(PAGE_SIZE),
                    compatibility_mask: 1,
                    parameter_area_index: *index,
                },
            ));
        }

        // 4. Page data.
        let platform = self.platform_header();
        let regions = self.accepted.tagged();
        let mut directives = self.directives;
        directives.append(&mut self.page_data);

        let measurement = measure_guest(&self.settings, &self.initialization, &directives)?;
        Ok(GuestOutput {
            platform,
            initialization: self.initialization,
            directives,
            measurement,
            regions,
        })
    }
}

/// The launch measurement of a finalised guest (§10): x64 SNP, TDX and VBS.
fn measure_guest(
    settings: &GuestSettings,
    initialization: &[IgvmInitializationHeader],
    directives: &[IgvmDirectiveHeader],
) -> Result<Option<Measurement>, IgvmError> {
    if settings.arch != GuestArch::X64 {
        return Ok(None);
    }
    let (platform, digest, debug) = match settings.isolation {
        GuestIsolation::None => return Ok(None),
        GuestIsolation::Vbs { enable_debug } => (
            MeasuredPlatform::Vbs,
            vbs_boot_digest(directives, 1)?.to_vec(),
            enable_debug,
        ),
        GuestIsolation::Snp { enable_debug, .. } => (
            MeasuredPlatform::Snp,
            snp_launch_digest(initialization, directives, 1)?.to_vec(),
            enable_debug,
        ),
        GuestIsolation::Tdx { enable_debug, .. } => (
            MeasuredPlatform::Tdx,
            tdx_mrtd(directives, 1)?.to_vec(),
            enable_debug,
        ),
    };
    Ok(Some(Measurement {
        platform,
        digest,
        svn: settings.guest_svn,
        debug,
    }))
}

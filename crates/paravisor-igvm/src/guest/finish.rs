//! Finalising a guest (`docs/igvm.md` §5) into its platform header,
//! initialization headers and directives, and measuring it (§10).

use super::GuestArch;
use super::GuestBuilder;
use super::GuestIsolation;
use super::GuestOutput;
use super::GuestSettings;
use super::PAGE_SIZE;
use crate::error::IgvmError;
use crate::measure::MeasuredPlatform;
use crate::measure::Measurement;
use crate::measure::snp_launch_digest;
use crate::measure::tdx_mrtd;
use crate::measure::vbs_boot_digest;
use elf_static_loader::PageAcceptance;
use igvm::IgvmDirectiveHeader;
use igvm::IgvmInitializationHeader;
use igvm::IgvmPlatformHeader;
use igvm_defs::IGVM_VHS_PARAMETER_INSERT;
use igvm_defs::IGVM_VHS_SUPPORTED_PLATFORM;
use igvm_defs::IgvmPlatformType;

impl GuestBuilder {
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
        let mut directives = self.directives;
        directives.append(&mut self.page_data);

        let measurement = measure_guest(&self.settings, &self.initialization, &directives)?;
        Ok(GuestOutput {
            platform,
            initialization: self.initialization,
            directives,
            measurement,
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

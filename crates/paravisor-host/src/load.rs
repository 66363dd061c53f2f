//! The architecture of a load, and the one place that picks the loader for
//! it ([`load_openhcl`]): the manifest, the CLI, the benchmarks and the
//! tests all load through here.

use paravisor_loader::Error;
use paravisor_loader::ImportPages;
use paravisor_loader::LoadInputs;
use paravisor_loader::ParavisorImporter;
use vp_regs::aarch64::Aarch64Register;
use vp_regs::x86_64::X86Register;

/// Target architecture of a load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arch {
    /// x86-64 (`"x86_64"`).
    X86_64,
    /// AArch64 (`"aarch64"`).
    Aarch64,
}

impl Arch {
    /// The name used in manifests and summaries.
    pub const fn name(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Aarch64 => "aarch64",
        }
    }
}

/// Loads `inputs` for `arch` into `importer` with
/// `paravisor_loader::load_openhcl_x64_alloc` or
/// `paravisor_loader::load_openhcl_arm64_alloc` (the page-table buffer is
/// allocated).
pub fn load_openhcl<I>(
    arch: Arch,
    importer: &mut I,
    inputs: &LoadInputs<'_>,
) -> Result<(), Error<<I as ImportPages>::Error>>
where
    I: ParavisorImporter<X86Register> + ParavisorImporter<Aarch64Register>,
{
    match arch {
        Arch::X86_64 => paravisor_loader::load_openhcl_x64_alloc(importer, inputs).map(|_| ()),
        Arch::Aarch64 => paravisor_loader::load_openhcl_arm64_alloc(importer, inputs).map(|_| ()),
    }
}

/// [`load_openhcl`] with the caller's page-table buffer
/// (`paravisor_loader::load_openhcl_x64` / `load_openhcl_arm64`).
pub fn load_openhcl_with_buffer<I>(
    arch: Arch,
    importer: &mut I,
    inputs: &LoadInputs<'_>,
    page_table_buffer: &mut [u8],
) -> Result<(), Error<<I as ImportPages>::Error>>
where
    I: ParavisorImporter<X86Register> + ParavisorImporter<Aarch64Register>,
{
    match arch {
        Arch::X86_64 => {
            paravisor_loader::load_openhcl_x64(importer, inputs, page_table_buffer).map(|_| ())
        }
        Arch::Aarch64 => {
            paravisor_loader::load_openhcl_arm64(importer, inputs, page_table_buffer).map(|_| ())
        }
    }
}

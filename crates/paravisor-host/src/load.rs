//! The architecture of a load, and the one place that picks the loader for
//! it ([`load_openhcl`]): the manifest, the CLI, the benchmarks and the
//! tests all load through here.

use paravisor_loader::Error;
use paravisor_loader::ImagePlan;
use paravisor_loader::ImportPages;
use paravisor_loader::LoadInputs;
use paravisor_loader::ParavisorImporter;
use paravisor_loader::memory::Vtl2Memory;
use paravisor_loader::plan::PlannedRegion;
use paravisor_loader::plan::Structures;
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

/// What a load planned, whatever the architecture: VTL2 memory, every region
/// of the image plan in step order ([`ImagePlan::for_each_region`]) and the
/// structures it imported (`paravisor layout` prints these).
#[derive(Debug, Clone)]
pub struct PlannedImage {
    /// VTL2 memory.
    pub memory: Vtl2Memory,
    /// The plan's regions, in step order.
    pub regions: Vec<PlannedRegion>,
    /// The structures the plan imported (shim parameters among them).
    pub structures: Structures,
}

impl PlannedImage {
    /// The regions and structures of `image`, planned in `memory`.
    pub fn of<R: Copy>(memory: Vtl2Memory, image: &ImagePlan<'_, R>) -> Self {
        let mut regions = Vec::new();
        let collected: Result<(), core::convert::Infallible> = image.for_each_region(|r| {
            regions.push(r);
            Ok(())
        });
        let Ok(()) = collected;
        Self {
            memory,
            regions,
            structures: image.structures,
        }
    }
}

/// Loads `inputs` for `arch` into `importer` with
/// `paravisor_loader::load_openhcl_x64_alloc` or
/// `paravisor_loader::load_openhcl_arm64_alloc` (the page-table buffer is
/// allocated), and returns what it planned.
pub fn load_openhcl<I>(
    arch: Arch,
    importer: &mut I,
    inputs: &LoadInputs<'_>,
) -> Result<PlannedImage, Error<<I as ImportPages>::Error>>
where
    I: ParavisorImporter<X86Register> + ParavisorImporter<Aarch64Register>,
{
    match arch {
        Arch::X86_64 => paravisor_loader::load_openhcl_x64_alloc(importer, inputs)
            .map(|l| PlannedImage::of(l.memory, &l.image)),
        Arch::Aarch64 => paravisor_loader::load_openhcl_arm64_alloc(importer, inputs)
            .map(|l| PlannedImage::of(l.memory, &l.image)),
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

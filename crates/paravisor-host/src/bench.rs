//! The copy baseline of a load (feature `bench`), shared by
//! `paravisor bench` and the load benchmark (`tests/benches/load.rs`).
//!
//! One untimed load into a [`CopyPlanner`] records where every imported
//! byte comes from (a range of an input file, or a small page the loader
//! built) and where it goes, and how much guest RAM the image spans (GPA 0
//! to the end of the highest page imported or checked);
//! [`CopyPlanner::replay`] then copies the same bytes from the same source
//! to the same destination with `copy_from_slice`.

use crate::load::Arch;
use crate::load::load_openhcl_with_buffer;
use paravisor_loader::ImportPages;
use paravisor_loader::IsolationConfig;
use paravisor_loader::LoadInputs;
use paravisor_loader::PAGE_SIZE;
use paravisor_loader::PageAcceptance;
use paravisor_loader::PageTableRelocation;
use paravisor_loader::ParameterAreaIndex;
use paravisor_loader::ParameterType;
use paravisor_loader::ParavisorImporter;
use paravisor_loader::RelocationRegion;
use paravisor_loader::StartupMemoryType;
use paravisor_loader::X64Layout;
use std::convert::Infallible;
use std::hint::black_box;
use std::time::Duration;
use vp_regs::aarch64::Aarch64Register;
use vp_regs::x86_64::X86Register;

/// Where the bytes of one import come from.
pub enum Source {
    /// `len` bytes at `start` of input file number `file`.
    Input {
        /// Index of the input file ([`input_files`] order).
        file: usize,
        /// First byte in the file.
        start: usize,
        /// Number of bytes.
        len: usize,
    },
    /// A page the loader built (command line, shim parameters, tables...).
    Owned(Vec<u8>),
}

/// The untimed planning importer: records every import's destination and
/// source, and the extent of guest RAM the image needs.
pub struct CopyPlanner<'i> {
    isolation: IsolationConfig,
    inputs: &'i [&'i [u8]],
    /// (destination byte offset in RAM from GPA 0, source) of each import
    /// with data.
    pub copies: Vec<(usize, Source)>,
    /// Sum of the data bytes handed to `import_pages`.
    pub data_bytes: u64,
    /// Bytes of imported pages not covered by data (zero-filled tails).
    pub fill_bytes: u64,
    /// End (bytes) of the highest page imported or checked.
    pub end: u64,
}

impl<'i> CopyPlanner<'i> {
    /// A planner resolving data to ranges of `inputs` (see [`input_files`]).
    pub fn new(isolation: IsolationConfig, inputs: &'i [&'i [u8]]) -> Self {
        Self {
            isolation,
            inputs,
            copies: Vec::new(),
            data_bytes: 0,
            fill_bytes: 0,
            end: 0,
        }
    }

    fn extend_to(&mut self, page_base: u64, page_count: u64) {
        let end = page_base
            .saturating_add(page_count)
            .saturating_mul(PAGE_SIZE);
        self.end = self.end.max(end);
    }

    /// Copies every recorded import's bytes into `ram` (GPA 0 at offset
    /// 0); destinations beyond `ram` are skipped.
    pub fn replay(&self, ram: &mut [u8]) {
        for (dst, source) in &self.copies {
            let src: &[u8] = match source {
                Source::Input { file, start, len } => self
                    .inputs
                    .get(*file)
                    .and_then(|f| f.get(*start..start.saturating_add(*len)))
                    .unwrap_or(&[]),
                Source::Owned(bytes) => bytes,
            };
            if let Some(d) = ram.get_mut(*dst..dst.saturating_add(src.len())) {
                d.copy_from_slice(black_box(src));
            }
        }
        black_box(&ram);
    }
}

impl ImportPages for CopyPlanner<'_> {
    type Error = Infallible;

    fn import_pages(
        &mut self,
        page_base: u64,
        page_count: u64,
        _tag: &'static str,
        _acceptance: PageAcceptance,
        data: &[u8],
    ) -> Result<(), Infallible> {
        self.extend_to(page_base, page_count);
        self.data_bytes = self.data_bytes.saturating_add(data.len() as u64);
        let bytes = page_count.saturating_mul(PAGE_SIZE);
        self.fill_bytes = self
            .fill_bytes
            .saturating_add(bytes.saturating_sub(data.len() as u64));
        if data.is_empty() {
            return Ok(());
        }
        let p = data.as_ptr() as usize;
        let source = self
            .inputs
            .iter()
            .enumerate()
            .find_map(|(file, input)| {
                let base = input.as_ptr() as usize;
                let start = p.checked_sub(base)?;
                (start.checked_add(data.len())? <= input.len()).then_some(Source::Input {
                    file,
                    start,
                    len: data.len(),
                })
            })
            .unwrap_or_else(|| Source::Owned(data.to_vec()));
        let dst = usize::try_from(page_base.saturating_mul(PAGE_SIZE)).unwrap_or(usize::MAX);
        self.copies.push((dst, source));
        Ok(())
    }
}

impl<R> ParavisorImporter<R> for CopyPlanner<'_> {
    fn isolation_config(&self) -> IsolationConfig {
        self.isolation
    }
    fn verify_startup_memory_available(
        &mut self,
        page_base: u64,
        page_count: u64,
        _memory_type: StartupMemoryType,
    ) -> Result<(), Infallible> {
        self.extend_to(page_base, page_count);
        Ok(())
    }
    fn create_parameter_area(
        &mut self,
        page_base: u64,
        page_count: u32,
        _tag: &'static str,
    ) -> Result<ParameterAreaIndex, Infallible> {
        self.extend_to(page_base, page_count.into());
        Ok(ParameterAreaIndex(0))
    }
    fn import_parameter(
        &mut self,
        _area: ParameterAreaIndex,
        _byte_offset: u32,
        _parameter: ParameterType,
    ) -> Result<(), Infallible> {
        Ok(())
    }
    fn import_vp_register(&mut self, _register: R) -> Result<(), Infallible> {
        Ok(())
    }
    fn set_vp_context_page(&mut self, _page_base: u64) -> Result<(), Infallible> {
        Ok(())
    }
    fn relocation_region(&mut self, _region: RelocationRegion) -> Result<(), Infallible> {
        Ok(())
    }
    fn page_table_relocation(
        &mut self,
        _relocation: PageTableRelocation,
    ) -> Result<(), Infallible> {
        Ok(())
    }
    fn set_imported_regions_config_page(&mut self, _page_base: u64) {}
}

/// The input files of a load whose bytes the loader may import: kernel,
/// shim, sidecar, initrd, UEFI VP context.
pub fn input_files<'a>(inputs: &LoadInputs<'a>) -> Vec<&'a [u8]> {
    [
        Some(inputs.kernel),
        Some(inputs.shim),
        inputs.sidecar,
        inputs.initrd,
        inputs.vtl0.uefi.map(|u| u.vp_context),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Bytes of the page-table buffer a load for `arch` needs; the layout
/// error as text.
pub fn page_table_bytes(
    arch: Arch,
    isolation: IsolationConfig,
    inputs: &LoadInputs<'_>,
) -> Result<u64, String> {
    match arch {
        Arch::X86_64 => X64Layout::plan(isolation, inputs)
            .map(|layout| layout.page_table_region_size())
            .map_err(|e| e.to_string()),
        Arch::Aarch64 => {
            Ok(paravisor_loader::arm64::ARM64_PAGE_TABLE_PAGES.saturating_mul(PAGE_SIZE))
        }
    }
}

/// Runs the loader for `arch` with the caller's page-table buffer; the
/// error as text.
pub fn load<I>(
    arch: Arch,
    importer: &mut I,
    inputs: &LoadInputs<'_>,
    tables: &mut [u8],
) -> Result<(), String>
where
    I: ParavisorImporter<X86Register> + ParavisorImporter<Aarch64Register>,
{
    load_openhcl_with_buffer(arch, importer, inputs, tables).map_err(|e| e.to_string())
}

/// The median of `samples` (the upper one of an even count).
pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples
        .get(samples.len() / 2)
        .copied()
        .unwrap_or(Duration::ZERO)
}

/// Milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

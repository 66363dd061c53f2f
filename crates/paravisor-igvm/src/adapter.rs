//! The facade's importer trait implemented on [`GuestBuilder`], and the
//! whole build from a config: config → load manifests → paravisor loader →
//! IGVM file and measurement documents.

use crate::build::IgvmBuild;
use crate::build::assemble;
use crate::config::IgvmConfig;
use crate::error::IgvmError;
use crate::guest::GuestArch;
use crate::guest::GuestBuilder;
use crate::guest::GuestIsolation;
use crate::guest::GuestOutput;
use crate::guest::GuestSettings;
use crate::guest::ParameterKind;
use crate::guest::RequiredMemoryKind;
use igvm::registers::AArch64Register;
use igvm::registers::SegmentRegister;
use igvm::registers::TableRegister;
use igvm::registers::X86Register;
use paravisor_loader::ImportPages;
use paravisor_loader::IsolationConfig;
use paravisor_loader::IsolationType;
use paravisor_loader::PageAcceptance;
use paravisor_loader::PageTableRelocation;
use paravisor_loader::ParameterAreaIndex;
use paravisor_loader::ParameterType;
use paravisor_loader::ParavisorImporter;
use paravisor_loader::RelocationRegion;
use paravisor_loader::StartupMemoryType;
use paravisor_loader::manifest::LoadManifest;
use paravisor_loader::summary::Arch as ManifestArch;
use std::path::Path;
use vp_regs::aarch64::Aarch64Register as VpAarch64;
use vp_regs::x86_64::X86Register as VpX86;

/// An IGVM-writing importer for one guest: the facade's
/// [`ParavisorImporter`] over a [`GuestBuilder`].
///
/// igvmfilegen writes one imported-regions descriptor per `import_pages`
/// call (`spec/igvm.md` §5.1), while `elf-static-loader` passes an ELF
/// segment that starts inside a page as two calls (the first page, then the
/// rest; its import contract allows this). To give the original's
/// descriptors, the importer holds back a one-page ELF import and joins the
/// next call to it when that call looks exactly like the rest of such a
/// split: same ELF tag ([`ELF_IMPORT_TAGS`]) and acceptance, the next pages,
/// the first page starting with the segment's zero lead-in, and either a
/// full first page (more file bytes may follow) or a partial first page
/// followed by no bytes (see [`IgvmImporter::is_split_rest`]).
///
/// The calls alone cannot tell such a split from two ELF segments of one
/// file where the first fills one page from inside it up to its end (or
/// ends inside it and the next one has no file bytes): those would be joined
/// into one descriptor. The file is still correct (the descriptors cover the
/// same pages; measurements do not change); only the imported-regions page
/// then differs from igvmfilegen's.
#[derive(Debug, Clone)]
pub struct IgvmImporter {
    /// The guest state.
    guest: GuestBuilder,
    /// A one-page import held back until the next call.
    pending: Option<PendingImport>,
}

/// Tags of the static-ELF imports (`algorithms.md` §7), the only imports
/// `elf-static-loader` may split.
pub const ELF_IMPORT_TAGS: [&str; 3] =
    ["underhill-kernel", "underhill-boot-shim", "sidecar-kernel"];

/// A one-page import not yet handed to the guest.
#[derive(Debug, Clone)]
struct PendingImport {
    /// Its page.
    page_base: u64,
    /// Its tag.
    tag: &'static str,
    /// Its acceptance.
    acceptance: PageAcceptance,
    /// Its data (at most one page).
    data: Vec<u8>,
}

impl IgvmImporter {
    /// Creates the importer of one guest.
    pub fn new(settings: GuestSettings) -> Result<Self, IgvmError> {
        Ok(Self {
            guest: GuestBuilder::new(settings)?,
            pending: None,
        })
    }

    /// Hands a held-back import to the guest.
    fn flush(&mut self) -> Result<(), IgvmError> {
        match self.pending.take() {
            Some(p) => self
                .guest
                .import_pages(p.page_base, 1, p.tag, p.acceptance, &p.data),
            None => Ok(()),
        }
    }

    /// Whether an import is the rest of the segment whose first page is
    /// `first` (an `elf-static-loader` split of one original call).
    pub fn is_split_rest(
        first: (u64, &str, PageAcceptance, &[u8]),
        page_base: u64,
        tag: &str,
        acceptance: PageAcceptance,
        data: &[u8],
    ) -> bool {
        let (first_page, first_tag, first_acceptance, first_data) = first;
        let full = first_data.len() == 4096;
        first_page.checked_add(1) == Some(page_base)
            && first_tag == tag
            && ELF_IMPORT_TAGS.contains(&tag)
            && first_acceptance == acceptance
            && first_data.first() == Some(&0)
            && (full || data.is_empty())
    }

    /// What the importer reports to the loader (`spec/igvm.md` §3.3).
    pub fn isolation(&self) -> IsolationConfig {
        let settings = self.guest.settings();
        IsolationConfig {
            isolation_type: match settings.isolation {
                GuestIsolation::None => IsolationType::None,
                GuestIsolation::Vbs { .. } => IsolationType::Vbs,
                GuestIsolation::Snp { .. } => IsolationType::Snp,
                GuestIsolation::Tdx { .. } => IsolationType::Tdx,
            },
            paravisor_present: self.guest.paravisor_present(),
            shared_gpa_boundary_bits: settings.isolation.shared_gpa_boundary_bits(),
        }
    }

    /// Finalises the guest.
    pub fn finish(mut self) -> Result<GuestOutput, IgvmError> {
        self.flush()?;
        self.guest.finish()
    }
}

impl ImportPages for IgvmImporter {
    type Error = IgvmError;

    fn import_pages(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &'static str,
        acceptance: PageAcceptance,
        data: &[u8],
    ) -> Result<(), IgvmError> {
        if let Some(p) = self.pending.take() {
            if Self::is_split_rest(
                (p.page_base, p.tag, p.acceptance, &p.data),
                page_base,
                tag,
                acceptance,
                data,
            ) {
                let mut joined = p.data;
                joined.extend_from_slice(data);
                let count = page_count
                    .checked_add(1)
                    .ok_or(IgvmError::AddressOverflow {
                        what: "page import",
                        base: p.page_base,
                        len: page_count,
                    })?;
                return self
                    .guest
                    .import_pages(p.page_base, count, tag, acceptance, &joined);
            }
            self.guest
                .import_pages(p.page_base, 1, p.tag, p.acceptance, &p.data)?;
        }
        if page_count == 1
            && data.len() <= 4096
            && data.first() == Some(&0)
            && ELF_IMPORT_TAGS.contains(&tag)
        {
            self.pending = Some(PendingImport {
                page_base,
                tag,
                acceptance,
                data: data.to_vec(),
            });
            return Ok(());
        }
        self.guest
            .import_pages(page_base, page_count, tag, acceptance, data)
    }
}

/// Converts a facade x86-64 segment register.
fn segment(s: vp_regs::x86_64::SegmentRegister) -> SegmentRegister {
    SegmentRegister {
        base: s.base,
        limit: s.limit,
        selector: s.selector,
        attributes: s.attributes,
    }
}

/// Converts a facade table register.
fn table(t: vp_regs::x86_64::TableRegister) -> TableRegister {
    TableRegister {
        base: t.base,
        limit: t.limit,
    }
}

/// Converts a facade x86-64 register to the igvm crate's.
pub fn x86_register(reg: VpX86) -> X86Register {
    match reg {
        VpX86::Gdtr(t) => X86Register::Gdtr(table(t)),
        VpX86::Idtr(t) => X86Register::Idtr(table(t)),
        VpX86::Cs(s) => X86Register::Cs(segment(s)),
        VpX86::Ds(s) => X86Register::Ds(segment(s)),
        VpX86::Es(s) => X86Register::Es(segment(s)),
        VpX86::Fs(s) => X86Register::Fs(segment(s)),
        VpX86::Gs(s) => X86Register::Gs(segment(s)),
        VpX86::Ss(s) => X86Register::Ss(segment(s)),
        VpX86::Tr(s) => X86Register::Tr(segment(s)),
        VpX86::Cr0(v) => X86Register::Cr0(v),
        VpX86::Cr3(v) => X86Register::Cr3(v),
        VpX86::Cr4(v) => X86Register::Cr4(v),
        VpX86::Efer(v) => X86Register::Efer(v),
        VpX86::Pat(v) => X86Register::Pat(v),
        VpX86::Rbp(v) => X86Register::Rbp(v),
        VpX86::Rip(v) => X86Register::Rip(v),
        VpX86::Rsi(v) => X86Register::Rsi(v),
        VpX86::Rsp(v) => X86Register::Rsp(v),
        VpX86::R8(v) => X86Register::R8(v),
        VpX86::R9(v) => X86Register::R9(v),
        VpX86::R10(v) => X86Register::R10(v),
        VpX86::R11(v) => X86Register::R11(v),
        VpX86::R12(v) => X86Register::R12(v),
        VpX86::Rflags(v) => X86Register::Rflags(v),
        VpX86::MtrrDefType(v) => X86Register::MtrrDefType(v),
        VpX86::MtrrPhysBase0(v) => X86Register::MtrrPhysBase0(v),
        VpX86::MtrrPhysMask0(v) => X86Register::MtrrPhysMask0(v),
        VpX86::MtrrPhysBase1(v) => X86Register::MtrrPhysBase1(v),
        VpX86::MtrrPhysMask1(v) => X86Register::MtrrPhysMask1(v),
        VpX86::MtrrPhysBase2(v) => X86Register::MtrrPhysBase2(v),
        VpX86::MtrrPhysMask2(v) => X86Register::MtrrPhysMask2(v),
        VpX86::MtrrPhysBase3(v) => X86Register::MtrrPhysBase3(v),
        VpX86::MtrrPhysMask3(v) => X86Register::MtrrPhysMask3(v),
        VpX86::MtrrPhysBase4(v) => X86Register::MtrrPhysBase4(v),
        VpX86::MtrrPhysMask4(v) => X86Register::MtrrPhysMask4(v),
        VpX86::MtrrFix64k00000(v) => X86Register::MtrrFix64k00000(v),
        VpX86::MtrrFix16k80000(v) => X86Register::MtrrFix16k80000(v),
        VpX86::MtrrFix4kE0000(v) => X86Register::MtrrFix4kE0000(v),
        VpX86::MtrrFix4kE8000(v) => X86Register::MtrrFix4kE8000(v),
        VpX86::MtrrFix4kF0000(v) => X86Register::MtrrFix4kF0000(v),
        VpX86::MtrrFix4kF8000(v) => X86Register::MtrrFix4kF8000(v),
    }
}

/// Converts a facade AArch64 register to the igvm crate's.
pub fn aarch64_register(reg: VpAarch64) -> AArch64Register {
    match reg {
        VpAarch64::Pc(v) => AArch64Register::Pc(v),
        VpAarch64::X0(v) => AArch64Register::X0(v),
        VpAarch64::X1(v) => AArch64Register::X1(v),
        VpAarch64::X2(v) => AArch64Register::X2(v),
        VpAarch64::X3(v) => AArch64Register::X3(v),
        VpAarch64::X4(v) => AArch64Register::X4(v),
        VpAarch64::X5(v) => AArch64Register::X5(v),
        VpAarch64::X6(v) => AArch64Register::X6(v),
        VpAarch64::X7(v) => AArch64Register::X7(v),
        VpAarch64::Cpsr(v) => AArch64Register::Cpsr(v),
        VpAarch64::SctlrEl1(v) => AArch64Register::SctlrEl1(v),
        VpAarch64::TcrEl1(v) => AArch64Register::TcrEl1(v),
        VpAarch64::MairEl1(v) => AArch64Register::MairEl1(v),
        VpAarch64::Ttbr0El1(v) => AArch64Register::Ttbr0El1(v),
        VpAarch64::Ttbr1El1(v) => AArch64Register::Ttbr1El1(v),
        VpAarch64::VbarEl1(v) => AArch64Register::VbarEl1(v),
    }
}

/// Converts a facade parameter type.
fn parameter_kind(p: ParameterType) -> ParameterKind {
    match p {
        ParameterType::VpCount => ParameterKind::VpCount,
        ParameterType::Srat => ParameterKind::Srat,
        ParameterType::Madt => ParameterKind::Madt,
        ParameterType::MmioRanges => ParameterKind::MmioRanges,
        ParameterType::MemoryMap => ParameterKind::MemoryMap,
        ParameterType::CommandLine => ParameterKind::CommandLine,
        ParameterType::Slit => ParameterKind::Slit,
        ParameterType::Pptt => ParameterKind::Pptt,
        ParameterType::DeviceTree => ParameterKind::DeviceTree,
    }
}

/// The importer calls shared by both register types.
macro_rules! paravisor_importer {
    ($reg:ty, $method:ident, $convert:path) => {
        impl ParavisorImporter<$reg> for IgvmImporter {
            fn isolation_config(&self) -> IsolationConfig {
                self.isolation()
            }

            fn verify_startup_memory_available(
                &mut self,
                page_base: u64,
                page_count: u64,
                memory_type: StartupMemoryType,
            ) -> Result<(), IgvmError> {
                self.flush()?;
                let kind = match memory_type {
                    StartupMemoryType::Ram => RequiredMemoryKind::Ram,
                    StartupMemoryType::Vtl2ProtectableRam => RequiredMemoryKind::Vtl2ProtectableRam,
                };
                self.guest
                    .verify_startup_memory_available(page_base, page_count, kind)
            }

            fn create_parameter_area(
                &mut self,
                page_base: u64,
                page_count: u32,
                tag: &'static str,
            ) -> Result<ParameterAreaIndex, IgvmError> {
                self.flush()?;
                self.guest
                    .create_parameter_area(page_base, page_count.into(), tag, &[])
                    .map(ParameterAreaIndex)
            }

            fn import_parameter(
                &mut self,
                area: ParameterAreaIndex,
                byte_offset: u32,
                parameter: ParameterType,
            ) -> Result<(), IgvmError> {
                self.flush()?;
                self.guest
                    .import_parameter(area.0, byte_offset, parameter_kind(parameter))
            }

            fn import_vp_register(&mut self, register: $reg) -> Result<(), IgvmError> {
                self.flush()?;
                self.guest.$method($convert(register))
            }

            fn set_vp_context_page(&mut self, page_base: u64) -> Result<(), IgvmError> {
                self.flush()?;
                self.guest.set_vp_context_page(page_base)
            }

            fn relocation_region(&mut self, region: RelocationRegion) -> Result<(), IgvmError> {
                self.flush()?;
                self.guest.relocation_region(
                    region.gpa,
                    region.size_bytes,
                    region.alignment,
                    region.minimum_gpa,
                    region.maximum_gpa,
                    region.apply_rip_offset,
                    region.apply_gdtr_offset,
                    region.vp_index,
                )
            }

            fn page_table_relocation(
                &mut self,
                relocation: PageTableRelocation,
            ) -> Result<(), IgvmError> {
                self.flush()?;
                self.guest.page_table_relocation(
                    relocation.gpa,
                    relocation.size_pages,
                    relocation.used_pages,
                    relocation.vp_index,
                )
            }

            fn set_imported_regions_config_page(&mut self, page_base: u64) {
                self.guest.set_imported_regions_config_page(page_base)
            }
        }
    };
}

paravisor_importer!(VpX86, import_x64_register, x86_register);
paravisor_importer!(VpAarch64, import_aarch64_register, aarch64_register);

/// Wraps an error with the guest it happened in.
fn in_guest(guest: usize, manifest: &Path) -> impl Fn(IgvmError) -> IgvmError + '_ {
    move |e| IgvmError::Guest {
        guest,
        manifest: manifest.to_owned(),
        source: Box::new(e),
    }
}

/// Checks that a load manifest agrees with its guest config
/// (`spec/formats.md` §4).
fn check_manifest(
    guest: usize,
    manifest: &LoadManifest,
    arch: GuestArch,
    expected: IsolationConfig,
) -> Result<(), IgvmError> {
    let mismatch = |message: String| IgvmError::ManifestMismatch {
        guest,
        manifest: manifest.path.clone(),
        message,
    };
    let manifest_arch = match manifest.arch {
        ManifestArch::X86_64 => GuestArch::X64,
        ManifestArch::Aarch64 => GuestArch::Aarch64,
    };
    if manifest_arch != arch {
        return Err(mismatch(format!(
            "the manifest is for {} but guest_arch is {}",
            manifest_arch.name(),
            arch.name()
        )));
    }
    let found = manifest.isolation;
    if found.isolation_type != expected.isolation_type {
        return Err(mismatch(format!(
            "isolation type {} in the manifest, {} in the config",
            found.isolation_type.name(),
            expected.isolation_type.name()
        )));
    }
    if found.paravisor_present != expected.paravisor_present {
        return Err(mismatch(format!(
            "paravisor_present {} in the manifest, max_vtl {} in the config",
            found.paravisor_present,
            if expected.paravisor_present { 2 } else { 0 }
        )));
    }
    if found.shared_gpa_boundary_bits != expected.shared_gpa_boundary_bits {
        return Err(mismatch(format!(
            "shared_gpa_boundary_bits {:?} in the manifest, {:?} for this config",
            found.shared_gpa_boundary_bits, expected.shared_gpa_boundary_bits
        )));
    }
    Ok(())
}

/// Runs the paravisor loader for one guest into an IGVM importer.
pub fn build_guest(
    guest: usize,
    settings: GuestSettings,
    manifest_path: &Path,
) -> Result<GuestOutput, IgvmError> {
    let wrap = in_guest(guest, manifest_path);
    let manifest = LoadManifest::read(manifest_path).map_err(|e| IgvmError::ManifestMismatch {
        guest,
        manifest: manifest_path.to_owned(),
        message: e.to_string(),
    })?;
    let mut importer = IgvmImporter::new(settings).map_err(&wrap)?;
    check_manifest(guest, &manifest, settings.arch, importer.isolation())?;
    let files = paravisor_loader::manifest::read_files(&manifest).map_err(|e| {
        IgvmError::ManifestMismatch {
            guest,
            manifest: manifest_path.to_owned(),
            message: e.to_string(),
        }
    })?;
    let owned = files.as_files();
    let inputs = manifest.inputs(&owned);
    let loader_error = |e: paravisor_loader::Error<IgvmError>| match e {
        paravisor_loader::Error::Importer(e) => wrap(e),
        paravisor_loader::Error::Layout(l) => IgvmError::Loader {
            guest,
            message: l.to_string(),
        },
    };
    match settings.arch {
        GuestArch::X64 => {
            paravisor_loader::load_openhcl_x64_alloc(&mut importer, &inputs)
                .map(|_| ())
                .map_err(loader_error)?;
        }
        GuestArch::Aarch64 => {
            paravisor_loader::load_openhcl_arm64_alloc(&mut importer, &inputs)
                .map(|_| ())
                .map_err(loader_error)?;
        }
    }
    importer.finish().map_err(wrap)
}

/// Builds the IGVM file a build config describes (`spec/formats.md` §4):
/// every guest's load manifest through the paravisor loader into an IGVM
/// importer, the guests merged in order, and their launch measurements.
pub fn build_from_config(config_path: &Path) -> Result<IgvmBuild, IgvmError> {
    let config = IgvmConfig::read(config_path)?;
    let guests = config
        .guests
        .iter()
        .enumerate()
        .map(|(i, g)| build_guest(i, g.settings, &g.load_manifest))
        .collect::<Result<Vec<_>, _>>()?;
    assemble(config.arch, guests)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One ELF segment: gap pages before it, in-page offset, file bytes,
    /// extra memory bytes.
    type Segment = (u64, u64, usize, u64);

    fn settings() -> GuestSettings {
        GuestSettings {
            arch: GuestArch::X64,
            isolation: GuestIsolation::Vbs {
                enable_debug: false,
            },
            max_vtl: 2,
            guest_svn: 1,
        }
    }

    /// (page_base, page_count, data) of each segment as the original's one
    /// call (algorithms.md §2 step 10): `offset` zero bytes then the file
    /// bytes.
    fn original_calls(segments: &[Segment]) -> Vec<(u64, u64, Vec<u8>, usize)> {
        let mut page = 0x100u64;
        let mut out = Vec::new();
        for (i, (gap, offset, filesz, extra)) in segments.iter().enumerate() {
            page += gap;
            let file: Vec<u8> = (0..*filesz).map(|k| (k as u8) | 1).collect();
            let memsz = *filesz as u64 + extra;
            let count = (offset + memsz).div_ceil(4096);
            if count == 0 {
                continue;
            }
            let mut data = vec![0u8; *offset as usize];
            data.extend_from_slice(&file);
            out.push((page, count, data, i));
            page += count;
        }
        out
    }

    /// The calls `elf-static-loader` makes for the same segments: a segment
    /// that starts inside a page and has file bytes becomes the first page
    /// and the rest.
    fn split_calls(segments: &[Segment]) -> Vec<(u64, u64, Vec<u8>)> {
        let mut out = Vec::new();
        for (page, count, data, i) in original_calls(segments) {
            let offset = segments[i].1 as usize;
            let file = &data[offset..];
            if offset == 0 || file.is_empty() {
                out.push((page, count, file.to_vec()));
                continue;
            }
            let head = file.len().min(4096 - offset);
            out.push((page, 1, data[..offset + head].to_vec()));
            if count > 1 {
                out.push((page + 1, count - 1, file[head..].to_vec()));
            }
        }
        out
    }

    proptest! {
        #[test]
        fn rejoined_split_imports_give_the_original_calls_descriptors(
            segments in proptest::collection::vec(
                (1u64..3, prop_oneof![Just(0u64), 1u64..4096], 0usize..9000, 0u64..9000),
                1..6,
            )
        ) {
            let tag = "underhill-kernel";
            let mut original = GuestBuilder::new(settings()).unwrap();
            for (page, count, data, _) in original_calls(&segments) {
                original.import_pages(page, count, tag, PageAcceptance::Exclusive, &data).unwrap();
            }
            original.set_imported_regions_config_page(0x10);
            let expected = original.finish().unwrap();

            let mut split = IgvmImporter::new(settings()).unwrap();
            for (page, count, data) in split_calls(&segments) {
                split.import_pages(page, count, tag, PageAcceptance::Exclusive, &data).unwrap();
            }
            ParavisorImporter::<VpX86>::set_imported_regions_config_page(&mut split, 0x10);
            let got = split.finish().unwrap();
            prop_assert!(got.directives == expected.directives, "directives differ for {:?}", segments);
        }

        #[test]
        fn imports_of_other_tags_are_never_joined(
            first in proptest::collection::vec(0u8..2, 1..4096),
            rest in proptest::collection::vec(any::<u8>(), 0..8192),
        ) {
            let mut importer = IgvmImporter::new(settings()).unwrap();
            let mut first = first;
            first[0] = 0;
            importer.import_pages(0x100, 1, "underhill-gdt", PageAcceptance::Exclusive, &first).unwrap();
            importer.import_pages(0x101, 2, "underhill-gdt", PageAcceptance::Exclusive, &rest).unwrap();
            ParavisorImporter::<VpX86>::set_imported_regions_config_page(&mut importer, 0x10);
            let out = importer.finish().unwrap();
            let Some(igvm::IgvmDirectiveHeader::PageData { data, .. }) = out.directives.last() else {
                panic!("no imported-regions page");
            };
            // Hash, then descriptors {0x10,1}, {0x100,1}, {0x101,2}.
            let count = |i: usize| {
                data.get(48 + 24 * i + 8..48 + 24 * i + 16)
                    .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap()))
            };
            prop_assert_eq!((count(0), count(1), count(2), count(3)), (1, 1, 2, 0));
        }
    }
}

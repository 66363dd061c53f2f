//! The facade's importer trait implemented on [`GuestBuilder`], and the
//! whole build from a config: config → load manifests → paravisor loader →
//! IGVM file and measurement documents.

use crate::build::IgvmBuild;
use crate::build::assemble;
use crate::config::GuestConfig;
use crate::config::IgvmConfig;
use crate::error::IgvmError;
use crate::guest::GuestArch;
use crate::guest::GuestBuilder;
use crate::guest::GuestIsolation;
use crate::guest::GuestOutput;
use crate::guest::GuestSettings;
use igvm::registers::AArch64Register;
use igvm::registers::SegmentRegister;
use igvm::registers::TableRegister;
use igvm::registers::X86Register;
use paravisor_host::Arch as ManifestArch;
use paravisor_host::manifest::LoadManifest;
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
use std::path::Path;
use vp_regs::aarch64::Aarch64Register as VpAarch64;
use vp_regs::x86_64::X86Register as VpX86;

/// An IGVM-writing importer for one guest: the facade's
/// [`ParavisorImporter`] over a [`GuestBuilder`].
///
/// igvmfilegen writes one imported-regions descriptor per `import_pages`
/// call (`docs/igvm.md` §5.1), so every call here is one call of the
/// original: `import_pages` as is, and the ELF loader's
/// [`ImportPages::import_pages_at_offset`] (one per `PT_LOAD`) as the
/// original's single call whose data is the leading zeros then the file
/// bytes (overridden: the default would split it into two calls).
#[derive(Debug, Clone)]
pub struct IgvmImporter {
    /// The guest state.
    guest: GuestBuilder,
}

impl IgvmImporter {
    /// Creates the importer of one guest.
    pub fn new(settings: GuestSettings) -> Result<Self, IgvmError> {
        Ok(Self {
            guest: GuestBuilder::new(settings)?,
        })
    }

    /// What the importer reports to the loader (`docs/igvm.md` §3.3).
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
    pub fn finish(self) -> Result<GuestOutput, IgvmError> {
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
        self.guest
            .import_pages(page_base, page_count, tag, acceptance, data)
    }

    /// The original's single call (one accepted range, one imported-regions
    /// descriptor), its data cut page by page from the zeros and `data`.
    fn import_pages_at_offset(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &'static str,
        acceptance: PageAcceptance,
        leading_zeros: usize,
        data: &[u8],
    ) -> Result<(), IgvmError> {
        self.guest.import_pages_at_offset(
            page_base,
            page_count,
            tag,
            acceptance,
            leading_zeros,
            data,
        )
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
                self.guest
                    .verify_startup_memory_available(page_base, page_count, memory_type)
            }

            fn create_parameter_area(
                &mut self,
                page_base: u64,
                page_count: u32,
                tag: &'static str,
            ) -> Result<ParameterAreaIndex, IgvmError> {
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
                self.guest.import_parameter(area.0, byte_offset, parameter)
            }

            fn import_vp_register(&mut self, register: $reg) -> Result<(), IgvmError> {
                self.guest.$method($convert(register))
            }

            fn set_vp_context_page(&mut self, page_base: u64) -> Result<(), IgvmError> {
                self.guest.set_vp_context_page(page_base)
            }

            fn relocation_region(&mut self, region: RelocationRegion) -> Result<(), IgvmError> {
                self.guest.relocation_region(region)
            }

            fn page_table_relocation(
                &mut self,
                relocation: PageTableRelocation,
            ) -> Result<(), IgvmError> {
                self.guest.page_table_relocation(relocation)
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
/// (`docs/formats.md` §4).
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

/// Runs the paravisor loader for one guest into an IGVM importer, under the
/// guest's ABI profile (the config's `"abi"`, else the manifest's; a
/// manifest naming another non-default profile is a mismatch).
pub fn build_guest(guest: usize, config: &GuestConfig) -> Result<GuestOutput, IgvmError> {
    let (settings, manifest_path) = (config.settings, config.load_manifest.as_path());
    let wrap = in_guest(guest, manifest_path);
    let mut manifest =
        LoadManifest::read(manifest_path).map_err(|e| IgvmError::ManifestMismatch {
            guest,
            manifest: manifest_path.to_owned(),
            message: e.to_string(),
        })?;
    if let Some(abi) = config.abi {
        if manifest.abi != abi && manifest.abi != paravisor_loader::Abi::default() {
            return Err(IgvmError::ManifestMismatch {
                guest,
                manifest: manifest_path.to_owned(),
                message: format!("abi {} in the manifest, {abi} in the config", manifest.abi),
            });
        }
        manifest.abi = abi;
    }
    let mut importer = IgvmImporter::new(settings).map_err(&wrap)?;
    check_manifest(guest, &manifest, settings.arch, importer.isolation())?;
    let files = paravisor_host::manifest::read_files(&manifest).map_err(|e| {
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
    // check_manifest made sure the manifest's architecture is the guest's.
    paravisor_host::load_openhcl(manifest.arch, &mut importer, &inputs).map_err(loader_error)?;
    importer.finish().map_err(wrap)
}

/// Builds the IGVM file a build config describes (`docs/formats.md` §4):
/// every guest's load manifest through the paravisor loader into an IGVM
/// importer, the guests merged in order, and their launch measurements.
pub fn build_from_config(config_path: &Path) -> Result<IgvmBuild, IgvmError> {
    let config = IgvmConfig::read(config_path)?;
    assemble(config.arch, build_guests(&config)?)
}

/// Runs the paravisor loader for every guest of `config`, in order.
pub fn build_guests(config: &IgvmConfig) -> Result<Vec<GuestOutput>, IgvmError> {
    config
        .guests
        .iter()
        .enumerate()
        .map(|(i, g)| build_guest(i, g))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use elf_static_loader::ElfMachine;
    use elf_static_loader::load_static_elf;
    use igvm::IgvmDirectiveHeader;
    use proptest::prelude::*;

    /// One ELF segment: gap pages before it, in-page offset, file bytes,
    /// extra memory bytes.
    type Segment = (u64, u64, usize, u64);

    /// (page_base, page_count, data, leading zeros, file bytes).
    type OriginalCall = (u64, u64, Vec<u8>, usize, Vec<u8>);

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

    /// Pattern file bytes (never zero).
    fn file_bytes(len: usize) -> Vec<u8> {
        (0..len).map(|k| (k as u8) | 1).collect()
    }

    /// A little-endian x86-64 ELF64 file with one PT_LOAD per `(p_paddr,
    /// p_filesz, p_memsz)`, file bytes from [`file_bytes`].
    fn elf(segments: &[(u64, usize, u64)]) -> Vec<u8> {
        let phoff = 64;
        let mut out = vec![0u8; phoff + 56 * segments.len()];
        out[..8].copy_from_slice(b"\x7fELF\x02\x01\x01\x00");
        out[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
        out[24..32].copy_from_slice(&segments[0].0.to_le_bytes()); // e_entry
        out[32..40].copy_from_slice(&(phoff as u64).to_le_bytes());
        out[54..56].copy_from_slice(&56u16.to_le_bytes());
        out[56..58].copy_from_slice(&(segments.len() as u16).to_le_bytes());
        for (i, &(paddr, filesz, memsz)) in segments.iter().enumerate() {
            let offset = out.len() as u64;
            out.extend_from_slice(&file_bytes(filesz));
            let ph = &mut out[phoff + 56 * i..phoff + 56 * (i + 1)];
            ph[0..4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
            ph[8..16].copy_from_slice(&offset.to_le_bytes());
            ph[24..32].copy_from_slice(&paddr.to_le_bytes());
            ph[32..40].copy_from_slice(&(filesz as u64).to_le_bytes());
            ph[40..48].copy_from_slice(&memsz.to_le_bytes());
        }
        out
    }

    /// The imported-regions page's descriptors (`docs/igvm.md` §5.1, layout
    /// docs/abi.md §3.7): (base_page_number, page_count, accepted), after the
    /// 48-byte hash, up to the zero tail (the page data may stop there).
    fn descriptors(out: &GuestOutput) -> Vec<(u64, u64, u8)> {
        let Some(IgvmDirectiveHeader::PageData { data, .. }) = out.directives.last() else {
            panic!("no imported-regions page");
        };
        data[48..]
            .chunks(24)
            .map(|d| {
                let mut d = d.to_vec();
                d.resize(24, 0);
                let u64_at = |at: usize| u64::from_le_bytes(d[at..at + 8].try_into().unwrap());
                (u64_at(0), u64_at(8), d[16])
            })
            .take_while(|d| d.1 != 0)
            .collect()
    }

    /// The page data of the page at `gpa`.
    fn page_data(out: &GuestOutput, gpa: u64) -> Vec<u8> {
        out.directives
            .iter()
            .find_map(|d| match d {
                IgvmDirectiveHeader::PageData { gpa: g, data, .. } if *g == gpa => {
                    Some(data.clone())
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("no page data at {gpa:#x}"))
    }

    /// Loads `elf` (not PIC, load offset 0) as the kernel into an IGVM
    /// importer with the imported-regions page at page 0x10.
    fn load(elf: &[u8]) -> GuestOutput {
        let mut importer = IgvmImporter::new(settings()).unwrap();
        load_static_elf(
            &mut importer,
            elf,
            ElfMachine::X86_64,
            0,
            0,
            false,
            PageAcceptance::Exclusive,
            "underhill-kernel",
        )
        .unwrap();
        ParavisorImporter::<VpX86>::set_imported_regions_config_page(&mut importer, 0x10);
        importer.finish().unwrap()
    }

    #[test]
    fn each_elf_segment_is_one_imported_region() {
        // docs/algorithms.md §2 step 10: one import per PT_LOAD; docs/igvm.md §5.1: one
        // descriptor per import, never merged with neighbours.
        // 1. 0x1000800, 0x800 file bytes: fills page 0x1000 from inside it
        //    to its end (one page);
        // 2. 0x1001000, 0x10 bytes, directly after it: page 0x1001;
        // 3. 0x1002234, 0x2000 bytes: (0x234 + 0x2000 + 0xfff) / 0x1000 = 3
        //    pages at 0x1002.
        let out = load(&elf(&[
            (0x100_0800, 0x800, 0x800),
            (0x100_1000, 0x10, 0x10),
            (0x100_2234, 0x2000, 0x2000),
        ]));
        assert_eq!(
            descriptors(&out),
            [(0x10, 1, 1), (0x1000, 1, 1), (0x1001, 1, 1), (0x1002, 3, 1)]
        );
        // Page data as the original's data: 0x234 zeros, then the file bytes.
        let bytes = file_bytes(0x2000);
        let first = page_data(&out, 0x100_2000);
        assert_eq!(first.len(), 0x1000);
        assert_eq!(first[..0x234], [0u8; 0x234]);
        assert_eq!(first[0x234..], bytes[..0xdcc]);
        assert_eq!(page_data(&out, 0x100_3000), bytes[0xdcc..0x1dcc]);
        assert_eq!(page_data(&out, 0x100_4000), bytes[0x1dcc..]);
    }

    #[test]
    fn unaligned_segment_without_file_bytes_gives_a_data_page_of_zeros() {
        // docs/algorithms.md §2 step 10.3: p_filesz 0 at 0x1000800 still gives
        // data = 0x800 zero bytes, so (docs/igvm.md §4.1) page 0x1000 carries
        // 0x800 bytes of zeros and the other (0x800 + 0x2000 + 0xfff) /
        // 0x1000 - 1 = 2 pages carry empty data.
        let out = load(&elf(&[(0x100_0800, 0, 0x2000)]));
        assert_eq!(descriptors(&out), [(0x10, 1, 1), (0x1000, 3, 1)]);
        assert_eq!(page_data(&out, 0x100_0000), [0u8; 0x800]);
        assert!(page_data(&out, 0x100_1000).is_empty());
        assert!(page_data(&out, 0x100_2000).is_empty());
    }

    /// (page_base, page_count, data, leading zeros, file bytes) of each
    /// segment as the original's one call (docs/algorithms.md §2 step 10):
    /// `offset` zero bytes then the file bytes.
    fn original_calls(segments: &[Segment]) -> Vec<OriginalCall> {
        let mut page = 0x100u64;
        let mut out = Vec::new();
        for (gap, offset, filesz, extra) in segments {
            page += gap;
            let file = file_bytes(*filesz);
            let memsz = *filesz as u64 + extra;
            let count = (offset + memsz).div_ceil(4096);
            if count == 0 {
                continue;
            }
            let mut data = vec![0u8; *offset as usize];
            data.extend_from_slice(&file);
            out.push((page, count, data, *offset as usize, file));
            page += count;
        }
        out
    }

    proptest! {
        #[test]
        fn imports_at_offset_give_the_original_calls_directives(
            segments in proptest::collection::vec(
                (0u64..3, prop_oneof![Just(0u64), 1u64..4096], 0usize..9000, 0u64..9000),
                1..6,
            ),
            shared in any::<bool>(),
        ) {
            let tag = "underhill-kernel";
            let acceptance = if shared { PageAcceptance::Shared } else { PageAcceptance::Exclusive };
            let mut original = GuestBuilder::new(settings()).unwrap();
            let mut ours = IgvmImporter::new(settings()).unwrap();
            for (page, count, data, zeros, file) in original_calls(&segments) {
                original.import_pages(page, count, tag, acceptance, &data).unwrap();
                ours.import_pages_at_offset(page, count, tag, acceptance, zeros, &file).unwrap();
            }
            original.set_imported_regions_config_page(0x10);
            ParavisorImporter::<VpX86>::set_imported_regions_config_page(&mut ours, 0x10);
            let expected = original.finish().unwrap();
            let got = ours.finish().unwrap();
            prop_assert!(got.directives == expected.directives, "directives differ for {:?}", segments);
        }

        #[test]
        fn import_at_offset_rejects_what_the_single_call_rejects(
            page_count in 0u64..3,
            zeros in 0usize..4096,
            len in 0usize..3 * 4096,
        ) {
            let file = file_bytes(len);
            let mut data = vec![0u8; zeros];
            data.extend_from_slice(&file);
            let mut original = GuestBuilder::new(settings()).unwrap();
            let expected = original.import_pages(0x100, page_count, "k", PageAcceptance::Exclusive, &data);
            let mut ours = IgvmImporter::new(settings()).unwrap();
            let got = ours.import_pages_at_offset(0x100, page_count, "k", PageAcceptance::Exclusive, zeros, &file);
            prop_assert_eq!(got.map_err(|e| e.to_string()), expected.map_err(|e| e.to_string()));
        }
    }
}

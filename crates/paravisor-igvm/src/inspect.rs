//! A readable dump of an IGVM file with its recomputed launch measurements.
//!
//! [`inspect`] parses a file with the `igvm` crate (which checks magic, sizes,
//! checksum and header validity), checks that re-serialising it gives the
//! same bytes, and measures every platform it can (`docs/igvm.md` §10).

use crate::error::IgvmError;
use crate::measure::MeasuredPlatform;
use crate::measure::snp_launch_digest;
use crate::measure::tdx_mrtd;
use crate::measure::upper_hex;
use crate::measure::vbs_boot_digest;
use igvm::IgvmDirectiveHeader;
use igvm::IgvmFile;
use igvm::IgvmInitializationHeader;
use igvm::IgvmPlatformHeader;
use igvm_defs::IgvmPlatformType;
use std::fmt;
use std::fmt::Write;

/// One platform of a file and its recomputed measurement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformReport {
    /// Compatibility mask bit of the platform.
    pub mask: u32,
    /// Platform name (`VSM_ISOLATION`, `SEV_SNP`, `TDX`, …).
    pub platform: String,
    /// Highest VTL.
    pub highest_vtl: u8,
    /// Shared GPA boundary.
    pub shared_gpa_boundary: u64,
    /// Measurement kind and upper-case hex digest, or the reason none could
    /// be computed. `None` when the platform has no measurement (AArch64).
    pub measurement: Option<(MeasuredPlatform, Result<String, String>)>,
}

/// What [`inspect`] found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// File size in bytes.
    pub file_size: usize,
    /// IGVM format version of the fixed header (1 or 2).
    pub format_version: u32,
    /// `x64` or `aarch64`.
    pub arch: &'static str,
    /// Whether parsing and re-serialising gives the same bytes.
    pub round_trip_identical: bool,
    /// The platforms with their measurements.
    pub platforms: Vec<PlatformReport>,
    /// One line per initialization header.
    pub initialization: Vec<String>,
    /// One line per directive (runs of contiguous page data collapsed).
    pub directives: Vec<String>,
}

/// Parses `bytes` as an IGVM file and reports its headers, directives and
/// recomputed measurements.
pub fn inspect(bytes: &[u8]) -> Result<Inspection, IgvmError> {
    let (file, arch) = parse(bytes)?;
    let format_version = read_u32(bytes, 4).unwrap_or(0);
    let mut again = Vec::new();
    file.serialize(&mut again)
        .map_err(|source| IgvmError::Igvm {
            what: "serialise",
            source,
        })?;

    let platforms = file
        .platforms()
        .iter()
        .map(|p| platform_report(p, arch, file.initializations(), file.directives()))
        .collect();
    Ok(Inspection {
        file_size: bytes.len(),
        format_version,
        arch,
        round_trip_identical: again == bytes,
        platforms,
        initialization: file.initializations().iter().map(init_line).collect(),
        directives: directive_lines(file.directives()),
    })
}

/// Parses `bytes` as an IGVM file (after `precheck`), with its
/// architecture (`x64` or `aarch64`).
pub fn parse(bytes: &[u8]) -> Result<(IgvmFile, &'static str), IgvmError> {
    precheck(bytes)?;
    let file = IgvmFile::new_from_binary(bytes, None).map_err(|source| IgvmError::Igvm {
        what: "parse",
        source,
    })?;
    let format_version = read_u32(bytes, 4).unwrap_or(0);
    let arch = if format_version >= 2 && read_u32(bytes, 24) == Some(1) {
        "aarch64"
    } else {
        "x64"
    };
    Ok((file, arch))
}

/// Which launch measurement a platform of an `arch` file gets, if any.
pub fn measured_platform(arch: &str, platform_type: IgvmPlatformType) -> Option<MeasuredPlatform> {
    match (arch, platform_type) {
        ("x64", IgvmPlatformType::SEV_SNP) => Some(MeasuredPlatform::Snp),
        ("x64", IgvmPlatformType::TDX) => Some(MeasuredPlatform::Tdx),
        ("x64", IgvmPlatformType::VSM_ISOLATION) => Some(MeasuredPlatform::Vbs),
        _ => None,
    }
}

/// Checks what the `igvm` crate's parser (0.5.0) assumes without checking,
/// so that a damaged file gives an error rather than a panic there: the
/// variable-header section lies inside the file, and every file offset of a
/// header that carries file data (parameter area, page data, VP context,
/// CoRIM document and signature) is 0 where allowed or points into the file
/// data section.
fn precheck(bytes: &[u8]) -> Result<(), IgvmError> {
    let bad = |what: &'static str| IgvmError::Malformed { what };
    let var_offset = read_u32(bytes, 8).ok_or(bad("fixed header too short"))?;
    let var_size = read_u32(bytes, 12).ok_or(bad("fixed header too short"))?;
    let data_start = var_offset
        .checked_add(var_size)
        .ok_or(bad("variable-header section overflows"))?;
    let total = bytes.len();
    let (Ok(var_start), Ok(data_start_usize)) =
        (usize::try_from(var_offset), usize::try_from(data_start))
    else {
        return Err(bad("variable-header section outside the file"));
    };
    if data_start_usize > total {
        return Err(bad("variable-header section outside the file"));
    }
    // Masks of the VSM_ISOLATION platforms declared so far (the parser maps
    // a VP context's mask to the last platform header with that mask).
    let mut vsm_masks: Vec<u32> = Vec::new();
    let mut at = var_start;
    while at < data_start_usize {
        let (Some(typ), Some(len)) = (read_u32(bytes, at), read_u32(bytes, at.saturating_add(4)))
        else {
            return Err(bad("truncated variable header"));
        };
        let body = at.saturating_add(8);
        let offset_field = match typ {
            0x104 | 0x105 => Some((4, true)),
            0x301 | 0x302 => Some((12, true)),
            0x304 => Some((12, false)),
            _ => None,
        };
        if let Some((field, zero_allowed)) = offset_field
            && let Some(file_offset) = read_u32(bytes, body.saturating_add(field))
        {
            let in_data =
                file_offset >= data_start && usize::try_from(file_offset).is_ok_and(|o| o <= total);
            if !(in_data || (zero_allowed && file_offset == 0)) {
                return Err(IgvmError::FileOffset {
                    header_type: typ,
                    file_offset,
                    data_start,
                });
            }
        }
        if typ == IGVM_VHT_SUPPORTED_PLATFORM
            && let (Some(mask), Some(&platform)) =
                (read_u32(bytes, body), bytes.get(body.saturating_add(5)))
        {
            vsm_masks.retain(|m| *m != mask);
            if platform == VSM_ISOLATION {
                vsm_masks.push(mask);
            }
        }
        if typ == IGVM_VHT_VP_CONTEXT {
            check_vbs_vp_context(bytes, body, &vsm_masks)?;
        }
        let Some(next) = usize::try_from(len)
            .ok()
            .and_then(|l| l.checked_add(8))
            .and_then(|l| l.checked_next_multiple_of(8))
            .and_then(|l| at.checked_add(l))
        else {
            return Err(bad("variable header length overflows"));
        };
        at = next;
    }
    Ok(())
}

/// `IGVM_VHT_SUPPORTED_PLATFORM`.
const IGVM_VHT_SUPPORTED_PLATFORM: u32 = 0x1;
/// `IGVM_VHT_VP_CONTEXT`.
const IGVM_VHT_VP_CONTEXT: u32 = 0x304;
/// `IgvmPlatformType::VSM_ISOLATION`.
const VSM_ISOLATION: u8 = 0x1;
/// Size of a `VbsVpContextRegister`.
const VBS_REGISTER_SIZE: usize = 32;

/// What the `igvm` crate (0.5.0) asserts on a VBS VP context, checked as an
/// error: the VP index is 0 and every register has the VTL of the first.
/// `body` is the `IGVM_VHS_VP_CONTEXT` (gpa, mask, file offset, VP index).
fn check_vbs_vp_context(bytes: &[u8], body: usize, vsm_masks: &[u32]) -> Result<(), IgvmError> {
    let bad = |what: &'static str| IgvmError::Malformed { what };
    let (Some(mask), Some(file_offset)) = (
        read_u32(bytes, body.saturating_add(8)),
        read_u32(bytes, body.saturating_add(12)),
    ) else {
        return Ok(());
    };
    if !vsm_masks.contains(&mask) {
        return Ok(());
    }
    let vp_index = read_u16(bytes, body.saturating_add(16));
    if vp_index.is_some_and(|vp| vp != 0) {
        return Err(bad("VBS VP context of a VP other than 0"));
    }
    let Ok(start) = usize::try_from(file_offset) else {
        return Ok(());
    };
    let count = read_u32(bytes, start).unwrap_or(0);
    let first = start.saturating_add(4);
    let Some(&vtl) = bytes.get(first) else {
        return Ok(());
    };
    // The parser stops at the first register the file does not hold.
    for i in 1..usize::try_from(count).unwrap_or(usize::MAX) {
        let at = i
            .checked_mul(VBS_REGISTER_SIZE)
            .and_then(|o| first.checked_add(o));
        let Some(register) = at.and_then(|a| bytes.get(a..a.checked_add(VBS_REGISTER_SIZE)?))
        else {
            break;
        };
        if register.first() != Some(&vtl) {
            return Err(bad("VBS VP context registers of different VTLs"));
        }
    }
    Ok(())
}

/// Little-endian u16 at `offset`.
fn read_u16(bytes: &[u8], offset: usize) -> Option<u16> {
    let b = bytes.get(offset..offset.checked_add(2)?)?;
    Some(u16::from_le_bytes(b.try_into().ok()?))
}

/// Little-endian u32 at `offset`.
fn read_u32(bytes: &[u8], offset: usize) -> Option<u32> {
    let b = bytes.get(offset..offset.checked_add(4)?)?;
    Some(u32::from_le_bytes(b.try_into().ok()?))
}

/// Name of a platform type.
pub(crate) fn platform_name(t: IgvmPlatformType) -> String {
    match t {
        IgvmPlatformType::NATIVE => "NATIVE".into(),
        IgvmPlatformType::VSM_ISOLATION => "VSM_ISOLATION".into(),
        IgvmPlatformType::SEV_SNP => "SEV_SNP".into(),
        IgvmPlatformType::TDX => "TDX".into(),
        other => format!("type {:#x}", other.0),
    }
}

/// Report of one platform header.
fn platform_report(
    header: &IgvmPlatformHeader,
    arch: &str,
    init: &[IgvmInitializationHeader],
    directives: &[IgvmDirectiveHeader],
) -> PlatformReport {
    let IgvmPlatformHeader::SupportedPlatform(p) = header;
    let mask = p.compatibility_mask;
    let measured = measured_platform(arch, p.platform_type);
    let measurement = measured.map(|kind| {
        let digest = match kind {
            MeasuredPlatform::Snp => snp_launch_digest(init, directives, mask).map(|d| d.to_vec()),
            MeasuredPlatform::Tdx => tdx_mrtd(directives, mask).map(|d| d.to_vec()),
            MeasuredPlatform::Vbs => vbs_boot_digest(directives, mask).map(|d| d.to_vec()),
        };
        (
            kind,
            digest.map(|d| upper_hex(&d)).map_err(|e| e.to_string()),
        )
    });
    PlatformReport {
        mask,
        platform: platform_name(p.platform_type),
        highest_vtl: p.highest_vtl,
        shared_gpa_boundary: p.shared_gpa_boundary,
        measurement,
    }
}

/// One line describing an initialization header.
pub(crate) fn init_line(h: &IgvmInitializationHeader) -> String {
    match h {
        IgvmInitializationHeader::GuestPolicy {
            policy,
            compatibility_mask,
        } => format!("GuestPolicy mask {compatibility_mask:#x}: policy {policy:#x}"),
        IgvmInitializationHeader::RelocatableRegion {
            compatibility_mask,
            relocation_alignment,
            relocation_region_gpa,
            relocation_region_size,
            minimum_relocation_gpa,
            maximum_relocation_gpa,
            is_vtl2,
            apply_rip_offset,
            apply_gdtr_offset,
            vp_index,
            vtl,
        } => format!(
            "RelocatableRegion mask {compatibility_mask:#x}: gpa {relocation_region_gpa:#x} size {relocation_region_size:#x} align {relocation_alignment:#x} min {minimum_relocation_gpa:#x} max {maximum_relocation_gpa:#x} is_vtl2 {is_vtl2} apply_rip {apply_rip_offset} apply_gdtr {apply_gdtr_offset} vp {vp_index} vtl {}",
            *vtl as u8
        ),
        IgvmInitializationHeader::PageTableRelocationRegion {
            compatibility_mask,
            gpa,
            size,
            used_size,
            vp_index,
            vtl,
        } => format!(
            "PageTableRelocationRegion mask {compatibility_mask:#x}: gpa {gpa:#x} size {size:#x} used {used_size:#x} vp {vp_index} vtl {}",
            *vtl as u8
        ),
        other => format!("{other:?}"),
    }
}

/// A run of page-data directives collapsed into one line.
struct PageRun {
    /// First GPA.
    first: u64,
    /// Next GPA after the run.
    next: u64,
    /// Mask.
    mask: u32,
    /// Flags as printed.
    flags: String,
    /// Data type.
    data_type: u16,
    /// Pages in the run.
    pages: u64,
    /// Pages that carry file data.
    with_data: u64,
}

impl PageRun {
    /// The line for this run.
    fn line(&self) -> String {
        let kind = match self.data_type {
            0 => "NORMAL",
            1 => "SECRETS",
            2 => "CPUID_DATA",
            3 => "CPUID_XF",
            _ => "?",
        };
        format!(
            "PageData mask {:#x}: {:#x}..{:#x} ({} pages, {} with data) {kind}{}",
            self.mask, self.first, self.next, self.pages, self.with_data, self.flags
        )
    }
}

/// Lines for the directives, contiguous page data of the same kind collapsed.
fn directive_lines(directives: &[IgvmDirectiveHeader]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut run: Option<PageRun> = None;
    for d in directives {
        if let IgvmDirectiveHeader::PageData {
            gpa,
            compatibility_mask,
            flags,
            data_type,
            data,
        } = d
        {
            let mut f = String::new();
            if flags.unmeasured() {
                f.push_str(" unmeasured");
            }
            if flags.shared() {
                f.push_str(" shared");
            }
            if flags.is_2mb_page() {
                f.push_str(" 2mb");
            }
            let has_data = u64::from(!data.is_empty());
            if let Some(r) = run.as_mut()
                && r.next == *gpa
                && r.mask == *compatibility_mask
                && r.flags == f
                && r.data_type == data_type.0
            {
                r.next = gpa.saturating_add(4096);
                r.pages = r.pages.saturating_add(1);
                r.with_data = r.with_data.saturating_add(has_data);
                continue;
            }
            if let Some(r) = run.take() {
                lines.push(r.line());
            }
            run = Some(PageRun {
                first: *gpa,
                next: gpa.saturating_add(4096),
                mask: *compatibility_mask,
                flags: f,
                data_type: data_type.0,
                pages: 1,
                with_data: has_data,
            });
            continue;
        }
        if let Some(r) = run.take() {
            lines.push(r.line());
        }
        lines.push(directive_line(d));
    }
    if let Some(r) = run.take() {
        lines.push(r.line());
    }
    lines
}

/// One line describing a directive other than page data.
pub(crate) fn directive_line(d: &IgvmDirectiveHeader) -> String {
    let param = |name: &str, p: &igvm_defs::IGVM_VHS_PARAMETER| {
        let (index, offset) = (p.parameter_area_index, p.byte_offset);
        format!("{name}: area {index} offset {offset:#x}")
    };
    match d {
        IgvmDirectiveHeader::ParameterArea {
            number_of_bytes,
            parameter_area_index,
            initial_data,
        } => format!(
            "ParameterArea {parameter_area_index}: {number_of_bytes:#x} bytes, {} bytes initial data",
            initial_data.len()
        ),
        IgvmDirectiveHeader::VpCount(p) => param("VpCount", p),
        IgvmDirectiveHeader::EnvironmentInfo(p) => param("EnvironmentInfo", p),
        IgvmDirectiveHeader::Srat(p) => param("Srat", p),
        IgvmDirectiveHeader::Madt(p) => param("Madt", p),
        IgvmDirectiveHeader::Slit(p) => param("Slit", p),
        IgvmDirectiveHeader::Pptt(p) => param("Pptt", p),
        IgvmDirectiveHeader::MmioRanges(p) => param("MmioRanges", p),
        IgvmDirectiveHeader::MemoryMap(p) => param("MemoryMap", p),
        IgvmDirectiveHeader::CommandLine(p) => param("CommandLine", p),
        IgvmDirectiveHeader::DeviceTree(p) => param("DeviceTree", p),
        IgvmDirectiveHeader::RequiredMemory {
            gpa,
            compatibility_mask,
            number_of_bytes,
            vtl2_protectable,
        } => format!(
            "RequiredMemory mask {compatibility_mask:#x}: gpa {gpa:#x} {number_of_bytes:#x} bytes{}",
            if *vtl2_protectable {
                " vtl2_protectable"
            } else {
                ""
            }
        ),
        IgvmDirectiveHeader::SnpVpContext {
            gpa,
            compatibility_mask,
            vp_index,
            vmsa,
        } => {
            let page = crate::measure::vmsa_page(vmsa);
            let sha: [u8; 48] = {
                use sha2::Digest;
                sha2::Sha384::digest(page).into()
            };
            format!(
                "SnpVpContext mask {compatibility_mask:#x}: gpa {gpa:#x} vp {vp_index} VMSA sha384 {}",
                upper_hex(&sha)
            )
        }
        IgvmDirectiveHeader::X64VbsVpContext {
            vtl,
            registers,
            compatibility_mask,
        } => {
            let mut s = format!(
                "X64VbsVpContext mask {compatibility_mask:#x}: vtl {}, {} registers:",
                *vtl as u8,
                registers.len()
            );
            for r in registers {
                let _ = write!(s, " {r:x?}");
            }
            s
        }
        IgvmDirectiveHeader::AArch64VbsVpContext {
            vtl,
            registers,
            compatibility_mask,
        } => {
            let mut s = format!(
                "AArch64VbsVpContext mask {compatibility_mask:#x}: vtl {}, {} registers:",
                *vtl as u8,
                registers.len()
            );
            for r in registers {
                let _ = write!(s, " {r:x?}");
            }
            s
        }
        IgvmDirectiveHeader::ParameterInsert(p) => {
            let (gpa, mask, index) = (p.gpa, p.compatibility_mask, p.parameter_area_index);
            format!("ParameterInsert mask {mask:#x}: area {index} at gpa {gpa:#x}")
        }
        other => format!("{other:?}"),
    }
}

impl fmt::Display for Inspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "IGVM file: {} bytes, format version {}, {}, re-serialises {}",
            self.file_size,
            self.format_version,
            self.arch,
            if self.round_trip_identical {
                "to the same bytes"
            } else {
                "to DIFFERENT bytes"
            }
        )?;
        writeln!(f, "Platforms:")?;
        for p in &self.platforms {
            writeln!(
                f,
                "  mask {:#x}: {} highest_vtl {} shared_gpa_boundary {:#x}",
                p.mask, p.platform, p.highest_vtl, p.shared_gpa_boundary
            )?;
        }
        writeln!(f, "Initialization headers:")?;
        for l in &self.initialization {
            writeln!(f, "  {l}")?;
        }
        writeln!(f, "Directives:")?;
        for l in &self.directives {
            writeln!(f, "  {l}")?;
        }
        writeln!(f, "Measurements:")?;
        for p in &self.platforms {
            match &p.measurement {
                None => writeln!(f, "  mask {:#x} {}: not measured", p.mask, p.platform)?,
                Some((kind, Ok(hex))) => {
                    writeln!(f, "  mask {:#x} {}: {hex}", p.mask, kind.digest_name())?
                }
                Some((kind, Err(e))) => writeln!(
                    f,
                    "  mask {:#x} {}: cannot compute: {e}",
                    p.mask,
                    kind.digest_name()
                )?,
            }
        }
        Ok(())
    }
}

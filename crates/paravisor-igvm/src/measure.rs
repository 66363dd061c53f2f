//! Launch measurements of one platform of an IGVM file (`docs/igvm.md` §10)
//! and the measurement documents igvmfilegen writes next to a file (§10.5).
//!
//! Every function works on the parsed headers of the `igvm` crate, so the
//! same code measures a file we are building and a file someone else built.

use crate::error::IgvmError;
use igvm::IgvmDirectiveHeader;
use igvm::IgvmInitializationHeader;
use igvm::hv_defs::Vtl;
use igvm::registers::AArch64Register;
use igvm::registers::X86Register;
use igvm_defs::IgvmPageDataType;
use igvm_defs::PAGE_SIZE_4K;
use sha2::Digest;
use sha2::Sha256;
use sha2::Sha384;
use std::collections::HashMap;

/// Size of a page in bytes ([`PAGE_SIZE_4K`]), as a `usize`.
const PAGE: usize = PAGE_SIZE_4K as usize;

/// The CoRIM environment class id of every igvmfilegen measurement document.
pub const MEASUREMENT_CLASS_ID: &str = "7fb00ee4-a7ff-11ed-9e2f-00155d09de56";

/// SNP page types of `SNP_LAUNCH_UPDATE` (AMD SEV-SNP firmware ABI).
mod snp_page_type {
    /// A normal, measured page.
    pub(super) const NORMAL: u8 = 1;
    /// The VMSA page.
    pub(super) const VMSA: u8 = 2;
    /// An unmeasured page.
    pub(super) const UNMEASURED: u8 = 4;
    /// The secrets page.
    pub(super) const SECRETS: u8 = 5;
    /// A CPUID page.
    pub(super) const CPUID: u8 = 6;
}

/// Which launch measurement a platform gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MeasuredPlatform {
    /// AMD SEV-SNP launch digest (SHA-384).
    Snp,
    /// Intel TDX MRTD (SHA-384).
    Tdx,
    /// Hyper-V VBS boot digest (SHA-256).
    Vbs,
}

impl MeasuredPlatform {
    /// The short name used in document file names (`OUT-snp.json`).
    pub fn short_name(self) -> &'static str {
        match self {
            Self::Snp => "snp",
            Self::Tdx => "tdx",
            Self::Vbs => "vbs",
        }
    }

    /// The name of the digest as igvmfilegen prints it.
    pub fn digest_name(self) -> &'static str {
        match self {
            Self::Snp => "SNP launch digest",
            Self::Tdx => "TDX MRTD",
            Self::Vbs => "VBS boot digest",
        }
    }
}

/// A launch measurement with what the measurement document needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measurement {
    /// The platform measured.
    pub platform: MeasuredPlatform,
    /// The digest: 48 bytes (SNP, TDX) or 32 bytes (VBS).
    pub digest: Vec<u8>,
    /// The guest SVN (`guest_svn` of the build config).
    pub svn: u32,
    /// Whether the guest is a debug build (SNP policy debug bit, TDX or VBS
    /// `enable_debug`).
    pub debug: bool,
}

impl Measurement {
    /// The digest as upper-case hex, as igvmfilegen prints it.
    pub fn digest_hex(&self) -> String {
        upper_hex(&self.digest)
    }

    /// The measurement document igvmfilegen writes for this platform
    /// (`docs/igvm.md` §10.5): one line of compact JSON and a newline.
    pub fn document(&self) -> String {
        let (reference, svn_key) = match self.platform {
            MeasuredPlatform::Snp => ("snp_ld", "snp_isvsvn"),
            MeasuredPlatform::Tdx => ("tdx_mrtd", "tdx_isvsvn"),
            MeasuredPlatform::Vbs => ("vbs_boot_digest", "vbs_isvsvn"),
        };
        format!(
            "{{\"environment\":{{\"class_id\":\"{MEASUREMENT_CLASS_ID}\"}},\"series\":[{{\"reference\":{{\"{reference}\":\"{}\"}},\"endorsement\":{{\"{svn_key}\":{},\"build_info\":{{\"debug_build\":{}}}}}}}]}}\n",
            self.digest_hex(),
            self.svn,
            self.debug
        )
    }
}

/// Upper-case hex of `bytes`.
pub fn upper_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len().saturating_mul(2));
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02X}");
    }
    out
}

/// True when a header with `header_mask` applies to the platform `mask`.
fn applies(header_mask: u32, mask: u32) -> bool {
    header_mask & mask != 0
}

/// `data` zero-extended to one page; longer data is an error.
fn page_of(data: &[u8], gpa: u64) -> Result<[u8; PAGE], IgvmError> {
    let mut page = [0u8; PAGE];
    let dst = page
        .get_mut(..data.len())
        .ok_or(IgvmError::PageDataTooLarge {
            gpa,
            len: data.len(),
        })?;
    dst.copy_from_slice(data);
    Ok(page)
}

/// Remembers parameter-area sizes while walking directives.
#[derive(Default)]
struct AreaSizes(HashMap<u32, u64>);

impl AreaSizes {
    /// Records a `ParameterArea` directive.
    fn declare(&mut self, index: u32, number_of_bytes: u64) {
        self.0.insert(index, number_of_bytes);
    }

    /// The GPAs of the pages of area `index` inserted at `gpa`.
    fn pages(&self, index: u32, gpa: u64) -> Result<impl Iterator<Item = u64>, IgvmError> {
        let size = *self
            .0
            .get(&index)
            .ok_or(IgvmError::UnknownParameterArea { index })?;
        if size > MAX_PARAMETER_AREA {
            return Err(IgvmError::ParameterAreaTooLarge { index, size });
        }
        let overflow = IgvmError::AddressOverflow {
            what: "parameter insert",
            base: gpa,
            len: size,
        };
        // Whole pages only (the igvm crate rejects other sizes anyway).
        let whole = (size >> 12) << 12;
        let end = gpa.checked_add(whole).ok_or(overflow)?;
        Ok((gpa..end).step_by(PAGE))
    }
}

/// One step of a launch measurement, for finding where two measurements
/// part ([`snp_launch_digest_traced`], [`tdx_mrtd_traced`],
/// [`vbs_boot_digest_traced`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeasureStep {
    /// Index of the directive measured (in the directive list).
    pub directive: usize,
    /// The GPA measured (0 for a VBS register).
    pub gpa: u64,
    /// What was measured (`page`, `unmeasured page`, `parameter page`,
    /// `VMSA`, `register`, …).
    pub what: &'static str,
    /// The digest after this step: the SNP launch digest, the SHA-384 of
    /// the TDX stream so far, or the VBS digest (first 32 bytes).
    pub state: [u8; 48],
}

/// Receives each [`MeasureStep`] of a traced measurement.
pub type Trace<'a> = Option<&'a mut dyn FnMut(MeasureStep)>;

/// Passes a step to `trace`, if any.
fn step(trace: &mut Trace<'_>, directive: usize, gpa: u64, what: &'static str, state: &[u8]) {
    if let Some(t) = trace.as_deref_mut() {
        let mut s = [0u8; 48];
        let n = state.len().min(48);
        if let (Some(dst), Some(src)) = (s.get_mut(..n), state.get(..n)) {
            dst.copy_from_slice(src);
        }
        t(MeasureStep {
            directive,
            gpa,
            what,
            state: s,
        });
    }
}

/// Largest parameter area measured (4 GiB): the host fills parameter areas
/// with tables of a few pages; a larger one is a damaged file, and measuring
/// it page by page would take very long.
pub const MAX_PARAMETER_AREA: u64 = 1 << 32;

/// The SNP launch digest of the platform with compatibility `mask`
/// (`docs/igvm.md` §10.1).
pub fn snp_launch_digest(
    initialization: &[IgvmInitializationHeader],
    directives: &[IgvmDirectiveHeader],
    mask: u32,
) -> Result<[u8; 48], IgvmError> {
    snp_launch_digest_traced(initialization, directives, mask, None)
}

/// [`snp_launch_digest`], reporting the launch digest after every page to
/// `trace`.
pub fn snp_launch_digest_traced(
    initialization: &[IgvmInitializationHeader],
    directives: &[IgvmDirectiveHeader],
    mask: u32,
    mut trace: Trace<'_>,
) -> Result<[u8; 48], IgvmError> {
    let has_policy = initialization.iter().any(|h| {
        matches!(h, IgvmInitializationHeader::GuestPolicy { policy, compatibility_mask }
            if *policy != 0 && applies(*compatibility_mask, mask))
    });
    if !has_policy {
        return Err(IgvmError::MissingSnpPolicy { mask });
    }

    let mut ld = [0u8; 48];
    let mut measure = |index: usize, page_type: u8, gpa: u64, contents: [u8; 48]| {
        let mut info = [0u8; 112];
        info[..48].copy_from_slice(&ld);
        info[48..96].copy_from_slice(&contents);
        info[96..98].copy_from_slice(&0x70u16.to_le_bytes());
        info[98] = page_type;
        info[104..112].copy_from_slice(&gpa.to_le_bytes());
        ld = Sha384::digest(info).into();
        let what = match page_type {
            snp_page_type::NORMAL => "page",
            snp_page_type::VMSA => "VMSA",
            snp_page_type::SECRETS => "secrets page",
            snp_page_type::CPUID => "CPUID page",
            _ => "unmeasured page",
        };
        step(&mut trace, index, gpa, what, &ld);
    };

    let mut areas = AreaSizes::default();
    for (index, d) in directives.iter().enumerate() {
        match d {
            IgvmDirectiveHeader::ParameterArea {
                number_of_bytes,
                parameter_area_index,
                ..
            } => areas.declare(*parameter_area_index, *number_of_bytes),
            IgvmDirectiveHeader::PageData {
                gpa,
                compatibility_mask,
                flags,
                data_type,
                data,
            } if applies(*compatibility_mask, mask) => {
                if flags.shared() {
                    continue;
                }
                match *data_type {
                    IgvmPageDataType::SECRETS => {
                        measure(index, snp_page_type::SECRETS, *gpa, [0; 48])
                    }
                    IgvmPageDataType::CPUID_DATA | IgvmPageDataType::CPUID_XF => {
                        measure(index, snp_page_type::CPUID, *gpa, [0; 48])
                    }
                    _ if flags.unmeasured() => {
                        measure(index, snp_page_type::UNMEASURED, *gpa, [0; 48])
                    }
                    _ => {
                        let page = page_of(data, *gpa)?;
                        measure(
                            index,
                            snp_page_type::NORMAL,
                            *gpa,
                            Sha384::digest(page).into(),
                        )
                    }
                }
            }
            IgvmDirectiveHeader::ParameterInsert(insert)
                if applies(insert.compatibility_mask, mask) =>
            {
                for gpa in areas.pages(insert.parameter_area_index, insert.gpa)? {
                    measure(index, snp_page_type::UNMEASURED, gpa, [0; 48]);
                }
            }
            IgvmDirectiveHeader::SnpVpContext {
                gpa,
                compatibility_mask,
                vmsa,
                ..
            } if applies(*compatibility_mask, mask) => {
                let page = vmsa_page(vmsa);
                measure(
                    index,
                    snp_page_type::VMSA,
                    *gpa,
                    Sha384::digest(page).into(),
                );
            }
            _ => {}
        }
    }
    Ok(ld)
}

/// The VMSA padded with zeros to a page, as the file stores it.
pub(crate) fn vmsa_page(vmsa: &igvm::snp_defs::SevVmsa) -> [u8; PAGE] {
    use zerocopy::IntoBytes;
    let mut page = [0u8; PAGE];
    let bytes = vmsa.as_bytes();
    let n = bytes.len().min(PAGE);
    if let (Some(dst), Some(src)) = (page.get_mut(..n), bytes.get(..n)) {
        dst.copy_from_slice(src);
    }
    page
}

/// The TDX MRTD of the platform with compatibility `mask`
/// (`docs/igvm.md` §10.2).
pub fn tdx_mrtd(directives: &[IgvmDirectiveHeader], mask: u32) -> Result<[u8; 48], IgvmError> {
    tdx_mrtd_traced(directives, mask, None)
}

/// [`tdx_mrtd`], reporting the SHA-384 of the measured stream after every
/// directive that adds to it to `trace`.
pub fn tdx_mrtd_traced(
    directives: &[IgvmDirectiveHeader],
    mask: u32,
    mut trace: Trace<'_>,
) -> Result<[u8; 48], IgvmError> {
    let mut hasher = Sha384::new();
    let mut report = |hasher: &Sha384, index: usize, gpa: u64, what: &'static str| {
        if trace.is_some() {
            let state: [u8; 48] = hasher.clone().finalize().into();
            step(&mut trace, index, gpa, what, &state);
        }
    };
    let page_add = |hasher: &mut Sha384, gpa: u64| {
        let mut rec = [0u8; 128];
        rec[..12].copy_from_slice(b"MEM.PAGE.ADD");
        rec[16..24].copy_from_slice(&gpa.to_le_bytes());
        hasher.update(rec);
    };
    let mut areas = AreaSizes::default();
    for (index, d) in directives.iter().enumerate() {
        match d {
            IgvmDirectiveHeader::ParameterArea {
                number_of_bytes,
                parameter_area_index,
                ..
            } => areas.declare(*parameter_area_index, *number_of_bytes),
            IgvmDirectiveHeader::PageData {
                gpa,
                compatibility_mask,
                flags,
                data,
                ..
            } if applies(*compatibility_mask, mask) => {
                if flags.shared() {
                    continue;
                }
                page_add(&mut hasher, *gpa);
                if flags.unmeasured() {
                    report(&hasher, index, *gpa, "unmeasured page");
                    continue;
                }
                let page = page_of(data, *gpa)?;
                for (offset, chunk) in (0u64..).step_by(256).zip(page.chunks_exact(256)) {
                    let chunk_gpa = gpa.checked_add(offset).ok_or(IgvmError::AddressOverflow {
                        what: "TDX extend",
                        base: *gpa,
                        len: offset,
                    })?;
                    let mut rec = [0u8; 128];
                    rec[..9].copy_from_slice(b"MR.EXTEND");
                    rec[16..24].copy_from_slice(&chunk_gpa.to_le_bytes());
                    hasher.update(rec);
                    hasher.update(chunk);
                }
                report(&hasher, index, *gpa, "page");
            }
            IgvmDirectiveHeader::ParameterInsert(insert)
                if applies(insert.compatibility_mask, mask) =>
            {
                for gpa in areas.pages(insert.parameter_area_index, insert.gpa)? {
                    page_add(&mut hasher, gpa);
                }
                report(&hasher, index, insert.gpa, "parameter area");
            }
            _ => {}
        }
    }
    Ok(hasher.finalize().into())
}

/// One VBS register chunk: VTL, Hyper-V register name and 16-byte value.
fn vbs_register_chunk(vtl: u8, name: u32, value: [u8; 16]) -> [u8; 48] {
    let mut chunk = [0u8; 48];
    chunk[0..4].copy_from_slice(&48u32.to_le_bytes());
    // chunk_type 0 = VP_REGISTER; bytes 4..8 stay zero.
    chunk[20] = vtl;
    chunk[28..32].copy_from_slice(&name.to_le_bytes());
    chunk[32..48].copy_from_slice(&value);
    chunk
}

/// The VBS record of register `reg` (name and value per `docs/igvm.md` §6.1).
pub(crate) fn x64_vbs_record(reg: &X86Register, vtl: Vtl) -> (u8, u32, [u8; 16]) {
    let r = reg.into_vbs_vp_context_reg(vtl);
    let name: u32 = r.register_name.get();
    (r.vtl, name, r.register_value)
}

/// The VBS record of AArch64 register `reg`.
pub(crate) fn aarch64_vbs_record(reg: &AArch64Register, vtl: Vtl) -> (u8, u32, [u8; 16]) {
    let r = reg.into_vbs_vp_context_reg(vtl);
    let name: u32 = r.register_name.get();
    (r.vtl, name, r.register_value)
}

/// The VBS boot digest of the platform with compatibility `mask`
/// (`docs/igvm.md` §10.3).
pub fn vbs_boot_digest(
    directives: &[IgvmDirectiveHeader],
    mask: u32,
) -> Result<[u8; 32], IgvmError> {
    vbs_boot_digest_traced(directives, mask, None)
}

/// [`vbs_boot_digest`], reporting the digest after every page and register
/// to `trace`.
pub fn vbs_boot_digest_traced(
    directives: &[IgvmDirectiveHeader],
    mask: u32,
    mut trace: Trace<'_>,
) -> Result<[u8; 32], IgvmError> {
    let mut digest = [0u8; 32];
    let mut record = |parts: &[&[u8]], index: usize, gpa: u64, what: &'static str| {
        let mut h = Sha256::new();
        h.update(digest);
        for p in parts {
            h.update(p);
        }
        digest = h.finalize().into();
        step(&mut trace, index, gpa, what, &digest);
    };
    let page_chunk = |page_number: u64, unmeasured: bool| {
        let mut chunk = [0u8; 32];
        chunk[0..4].copy_from_slice(&4128u32.to_le_bytes());
        chunk[4..8].copy_from_slice(&2u32.to_le_bytes());
        let metadata: u64 = if unmeasured { 1 << 2 } else { 0 };
        chunk[16..24].copy_from_slice(&metadata.to_le_bytes());
        chunk[24..32].copy_from_slice(&page_number.to_le_bytes());
        chunk
    };
    let zero_page = [0u8; PAGE];
    let mut registers: Vec<(usize, [u8; 48])> = Vec::new();
    let mut areas = AreaSizes::default();
    for (index, d) in directives.iter().enumerate() {
        match d {
            IgvmDirectiveHeader::ParameterArea {
                number_of_bytes,
                parameter_area_index,
                ..
            } => areas.declare(*parameter_area_index, *number_of_bytes),
            IgvmDirectiveHeader::PageData {
                gpa,
                compatibility_mask,
                flags,
                data_type,
                data,
            } if applies(*compatibility_mask, mask) => {
                if *data_type != IgvmPageDataType::NORMAL {
                    return Err(IgvmError::VbsPageDataType {
                        gpa: *gpa,
                        data_type: data_type.0,
                    });
                }
                if flags.shared() {
                    continue;
                }
                let unmeasured = flags.unmeasured();
                let chunk = page_chunk(gpa / PAGE_SIZE_4K, unmeasured);
                if unmeasured {
                    record(&[&chunk, &zero_page], index, *gpa, "unmeasured page");
                } else {
                    let page = page_of(data, *gpa)?;
                    record(&[&chunk, &page], index, *gpa, "page");
                }
            }
            IgvmDirectiveHeader::ParameterInsert(insert)
                if applies(insert.compatibility_mask, mask) =>
            {
                for gpa in areas.pages(insert.parameter_area_index, insert.gpa)? {
                    let chunk = page_chunk(gpa / PAGE_SIZE_4K, true);
                    record(&[&chunk, &zero_page], index, gpa, "parameter page");
                }
            }
            IgvmDirectiveHeader::X64VbsVpContext {
                vtl,
                registers: regs,
                compatibility_mask,
            } if applies(*compatibility_mask, mask) => {
                for reg in regs {
                    let (v, name, value) = x64_vbs_record(reg, *vtl);
                    registers.push((index, vbs_register_chunk(v, name, value)));
                }
            }
            IgvmDirectiveHeader::AArch64VbsVpContext {
                vtl,
                registers: regs,
                compatibility_mask,
            } if applies(*compatibility_mask, mask) => {
                for reg in regs {
                    let (v, name, value) = aarch64_vbs_record(reg, *vtl);
                    registers.push((index, vbs_register_chunk(v, name, value)));
                }
            }
            _ => {}
        }
    }
    for (index, chunk) in &registers {
        record(&[chunk], *index, 0, "register");
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_matches_the_spec_layout() {
        // docs/igvm.md §10.5, TDX form.
        let m = Measurement {
            platform: MeasuredPlatform::Tdx,
            digest: vec![0xAB; 48],
            svn: 7,
            debug: true,
        };
        let expected = format!(
            "{{\"environment\":{{\"class_id\":\"7fb00ee4-a7ff-11ed-9e2f-00155d09de56\"}},\"series\":[{{\"reference\":{{\"tdx_mrtd\":\"{}\"}},\"endorsement\":{{\"tdx_isvsvn\":7,\"build_info\":{{\"debug_build\":true}}}}}}]}}\n",
            "AB".repeat(48)
        );
        assert_eq!(m.document(), expected);
    }

    #[test]
    fn empty_directive_list_gives_the_spec_start_values() {
        // §10.3: D starts as 32 zero bytes and nothing is recorded.
        assert_eq!(vbs_boot_digest(&[], 1).unwrap(), [0u8; 32]);
        // §10.2: SHA-384 of the empty stream.
        assert_eq!(
            upper_hex(&tdx_mrtd(&[], 1).unwrap()),
            "38B060A751AC96384CD9327EB1B1E36A21FDB71114BE07434C0CC7BF63F6E1DA274EDEBFE76F65FBD51AD2F14898B95B"
        );
        // §10.1: no policy, no digest.
        assert!(matches!(
            snp_launch_digest(&[], &[], 1),
            Err(IgvmError::MissingSnpPolicy { mask: 1 })
        ));
    }
}

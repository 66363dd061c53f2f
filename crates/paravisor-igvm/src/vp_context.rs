//! The VP context of each platform (`docs/igvm.md` §6): the VBS register
//! list (none and VBS), the SNP VMSA and the TDX reset page.

use crate::error::IgvmError;
use igvm::registers::AArch64Register;
use igvm::registers::SegmentRegister;
use igvm::registers::X86Register;
use std::mem::discriminant;
use vp_regs::x86_64::X64_EFER_SVME;

/// Size of the SNP VMSA as igvmfilegen imports it (`SevVmsa` in igvm 0.4).
pub const VMSA_SIZE: usize = 0x670;

/// GPA page number of the TDX reset page (GPA 0xFFFFF000).
pub const TDX_RESET_PAGE: u64 = 0xFFFFF;

/// Register lists in import order, one kind per architecture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RegisterList {
    /// x86-64 registers.
    X64(Vec<X86Register>),
    /// AArch64 registers.
    Aarch64(Vec<AArch64Register>),
}

/// Adds `reg` to `list` unless a register of the same kind is there.
fn push_unique<T: std::fmt::Debug>(list: &mut Vec<T>, reg: T) -> Result<(), IgvmError> {
    if list.iter().any(|r| discriminant(r) == discriminant(&reg)) {
        return Err(IgvmError::DuplicateRegister {
            register: format!("{reg:x?}"),
        });
    }
    list.push(reg);
    Ok(())
}

impl RegisterList {
    /// Adds an x86-64 register (error on AArch64 lists or duplicates).
    pub(crate) fn push_x64(&mut self, reg: X86Register) -> Result<(), IgvmError> {
        match self {
            Self::X64(list) => push_unique(list, reg),
            Self::Aarch64(_) => Err(IgvmError::UnsupportedRegister {
                register: format!("{reg:x?}"),
                platform: "AArch64",
            }),
        }
    }

    /// Adds an AArch64 register (error on x86-64 lists or duplicates).
    pub(crate) fn push_aarch64(&mut self, reg: AArch64Register) -> Result<(), IgvmError> {
        match self {
            Self::Aarch64(list) => push_unique(list, reg),
            Self::X64(_) => Err(IgvmError::UnsupportedRegister {
                register: format!("{reg:x?}"),
                platform: "x86-64",
            }),
        }
    }

    /// True when no register was imported.
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Self::X64(l) => l.is_empty(),
            Self::Aarch64(l) => l.is_empty(),
        }
    }
}

/// Writes `value` little-endian at `offset` of `buf` (offsets are constants
/// inside the buffer).
fn put(buf: &mut [u8], offset: usize, value: &[u8]) {
    if let Some(dst) = offset
        .checked_add(value.len())
        .and_then(|end| buf.get_mut(offset..end))
    {
        dst.copy_from_slice(value);
    }
}

/// SEV features of a VTL 2 VMSA (`docs/igvm.md` §6.2): snp, debug_swap,
/// prevent_host_ibs, snp_btb_isolation, vmsa_reg_prot, ibpb_on_entry.
pub const SNP_PARAVISOR_SEV_FEATURES: u64 = 0x2040E1;
/// The restrict_injection SEV feature bit.
pub const SNP_RESTRICT_INJECTION: u64 = 1 << 3;
/// Builds the SNP VMSA (0x670 bytes) of a guest with a paravisor from its
/// registers (`docs/igvm.md` §6.2).
pub(crate) fn snp_vmsa(
    registers: &[X86Register],
    restricted_injection: bool,
) -> Result<Vec<u8>, IgvmError> {
    let mut v = vec![0u8; VMSA_SIZE];
    let sev_features = SNP_PARAVISOR_SEV_FEATURES
        | if restricted_injection {
            SNP_RESTRICT_INJECTION
        } else {
            0
        };
    put(&mut v, 0xD0, &X64_EFER_SVME.to_le_bytes());
    put(&mut v, 0x3B0, &sev_features.to_le_bytes());
    // virtual_tom stays 0 with a paravisor (vtom is cleared).
    put(&mut v, 0x3E8, &1u64.to_le_bytes());

    let segment = |v: &mut Vec<u8>, offset: usize, s: &SegmentRegister| {
        put(
            v,
            offset,
            &sev_selector(s.selector, sev_attrib(s.attributes), s.limit, s.base),
        );
    };
    for reg in registers {
        match reg {
            X86Register::Es(s) => segment(&mut v, 0x00, s),
            X86Register::Cs(s) => segment(&mut v, 0x10, s),
            X86Register::Ss(s) => segment(&mut v, 0x20, s),
            X86Register::Ds(s) => segment(&mut v, 0x30, s),
            X86Register::Fs(s) => segment(&mut v, 0x40, s),
            X86Register::Gs(s) => segment(&mut v, 0x50, s),
            X86Register::Tr(s) => segment(&mut v, 0x90, s),
            X86Register::Gdtr(t) => put(&mut v, 0x60, &sev_selector(0, 0, t.limit.into(), t.base)),
            X86Register::Efer(x) => put(&mut v, 0xD0, &(x | X64_EFER_SVME).to_le_bytes()),
            X86Register::Cr4(x) => put(&mut v, 0x148, &x.to_le_bytes()),
            X86Register::Cr3(x) => put(&mut v, 0x150, &x.to_le_bytes()),
            X86Register::Cr0(x) => put(&mut v, 0x158, &x.to_le_bytes()),
            X86Register::Rip(x) => put(&mut v, 0x178, &x.to_le_bytes()),
            X86Register::Pat(x) => put(&mut v, 0x268, &x.to_le_bytes()),
            X86Register::Rbp(x) => put(&mut v, 0x328, &x.to_le_bytes()),
            X86Register::Rsi(x) => put(&mut v, 0x330, &x.to_le_bytes()),
            X86Register::R8(x) => put(&mut v, 0x340, &x.to_le_bytes()),
            X86Register::R9(x) => put(&mut v, 0x348, &x.to_le_bytes()),
            X86Register::R10(x) => put(&mut v, 0x350, &x.to_le_bytes()),
            X86Register::R11(x) => put(&mut v, 0x358, &x.to_le_bytes()),
            X86Register::R12(x) => put(&mut v, 0x360, &x.to_le_bytes()),
            X86Register::Idtr(_) | X86Register::Rsp(_) | X86Register::Rflags(_) => {
                return Err(IgvmError::UnsupportedRegister {
                    register: format!("{reg:x?}"),
                    platform: "SNP VMSA",
                });
            }
            // igvmfilegen ignores MTRRs for SNP (with a warning).
            _ => {}
        }
    }
    Ok(v)
}

/// The VMSA attribute encoding of segment attributes: the low byte and the
/// high nibble (flags G, D/B, L, AVL) moved down next to it.
fn sev_attrib(attributes: u16) -> u16 {
    (attributes & 0xFF) | ((attributes >> 4) & 0xF00)
}

/// A VMSA segment record: u16 selector, u16 attrib, u32 limit, u64 base.
fn sev_selector(selector: u16, attrib: u16, limit: u32, base: u64) -> [u8; 16] {
    let mut r = [0u8; 16];
    put(&mut r, 0, &selector.to_le_bytes());
    put(&mut r, 2, &attrib.to_le_bytes());
    put(&mut r, 4, &limit.to_le_bytes());
    put(&mut r, 8, &base.to_le_bytes());
    r
}

/// PAT value the TDX reset trampoline requires.
pub const TDX_REQUIRED_PAT: u64 = 0x0007_0406_0007_0406;
/// EFER.LME, which the TDX reset trampoline requires.
const EFER_LME: u64 = 1 << 8;

/// Builds the 4096-byte TDX reset page (GPA 0xFFFFF000) of a guest with a
/// paravisor (`docs/igvm.md` §6.3).
pub(crate) fn tdx_reset_page(registers: &[X86Register]) -> Result<Vec<u8>, IgvmError> {
    let bad = |message: String| IgvmError::RegisterValue {
        platform: "TDX",
        message,
    };
    let mut ctx = [0u8; 0xA8];
    let mut data_selector: Option<u16> = None;
    put(&mut ctx, 0x16, &0x000Fu16.to_le_bytes());
    put(&mut ctx, 0x18, &0xFFFF_F098u32.to_le_bytes());
    // static_gdt: a null descriptor and a 64-bit code descriptor.
    put(&mut ctx, 0xA0, &[0xFF, 0xFF]);
    put(&mut ctx, 0xA5, &[0x9B, 0xA0]);
    for reg in registers {
        match reg {
            X86Register::Ds(s)
            | X86Register::Es(s)
            | X86Register::Fs(s)
            | X86Register::Gs(s)
            | X86Register::Ss(s) => match data_selector {
                None => {
                    data_selector = Some(s.selector);
                    put(&mut ctx, 0x14, &s.selector.to_le_bytes());
                }
                Some(first) if first != s.selector => {
                    return Err(bad(format!(
                        "data segment selectors differ ({first:#x} and {:#x}); the reset trampoline loads one selector",
                        s.selector
                    )));
                }
                Some(_) => {}
            },
            X86Register::Tr(s) => put(&mut ctx, 0x1C, &s.selector.to_le_bytes()),
            X86Register::Idtr(t) => {
                put(&mut ctx, 0x1E, &t.limit.to_le_bytes());
                put(&mut ctx, 0x20, &t.base.to_le_bytes());
            }
            X86Register::Rip(x) => put(&mut ctx, 0x28, &x.to_le_bytes()),
            X86Register::Cs(s) => put(&mut ctx, 0x30, &s.selector.to_le_bytes()),
            X86Register::Gdtr(t) => {
                put(&mut ctx, 0x36, &t.limit.to_le_bytes());
                put(&mut ctx, 0x38, &t.base.to_le_bytes());
            }
            X86Register::Rsp(x) => put(&mut ctx, 0x40, &x.to_le_bytes()),
            X86Register::Rbp(x) => put(&mut ctx, 0x48, &x.to_le_bytes()),
            X86Register::Rsi(x) => put(&mut ctx, 0x50, &x.to_le_bytes()),
            X86Register::R8(x) => put(&mut ctx, 0x58, &x.to_le_bytes()),
            X86Register::R9(x) => put(&mut ctx, 0x60, &x.to_le_bytes()),
            X86Register::R10(x) => put(&mut ctx, 0x68, &x.to_le_bytes()),
            X86Register::R11(x) => put(&mut ctx, 0x70, &x.to_le_bytes()),
            X86Register::Cr0(x) => put(&mut ctx, 0x78, &x.to_le_bytes()),
            X86Register::Cr3(x) => {
                let cr3_32 =
                    u32::try_from(*x).map_err(|_| IgvmError::TdxCr3Above4Gib { cr3: *x })?;
                put(&mut ctx, 0x80, &x.to_le_bytes());
                put(&mut ctx, 0x90, &cr3_32.to_le_bytes());
            }
            X86Register::Cr4(x) => put(&mut ctx, 0x88, &x.to_le_bytes()),
            X86Register::Efer(x) if x & EFER_LME == 0 => {
                return Err(bad(format!(
                    "EFER {x:#x} lacks LME; the reset trampoline enters long mode"
                )));
            }
            X86Register::Pat(x) if *x != TDX_REQUIRED_PAT => {
                return Err(bad(format!(
                    "PAT {x:#x} is not the architectural reset value {TDX_REQUIRED_PAT:#x}"
                )));
            }
            X86Register::R12(_) | X86Register::Rflags(_) => {
                return Err(IgvmError::UnsupportedRegister {
                    register: format!("{reg:x?}"),
                    platform: "TDX reset page",
                });
            }
            // igvmfilegen ignores MTRRs for TDX.
            _ => {}
        }
    }

    let mut page = vec![0xCCu8; 4096];
    put(&mut page, 0, &ctx);
    // The trampoline generator writes a jump distance into the byte before
    // its first label: the last byte of static_gdt.
    put(&mut page, 0xA7, &[0x46]);
    put(&mut page, 0xA8, &TDX_TRAMPOLINE);
    // The reset vector at 0xFFFFFFF0: jmp to the trampoline at 0xFFFFF0A8.
    put(&mut page, 0xFF0, &[0xE9, 0xB3, 0xF0, 0xFF, 0xFF]);
    Ok(page)
}

/// The fixed 32/64-bit TDX trampoline at offset 0xA8 of the reset page
/// (`docs/igvm.md` §6.3). It references the context only by fixed offsets.
pub(crate) const TDX_TRAMPOLINE: [u8; 284] = [
    0x0F, 0x01, 0x15, 0x16, 0xF0, 0xFF, 0xFF, 0x8B, 0x05, 0x88, 0xF0, 0xFF, 0xFF, 0x0F, 0x22, 0xE0,
    0x8B, 0x05, 0x90, 0xF0, 0xFF, 0xFF, 0x0F, 0x22, 0xD8, 0x8B, 0x05, 0x78, 0xF0, 0xFF, 0xFF, 0x0F,
    0x22, 0xC0, 0xEA, 0xD1, 0xF0, 0xFF, 0xFF, 0x08, 0x00, 0x48, 0x8B, 0x05, 0xA8, 0xFF, 0xFF, 0xFF,
    0x0F, 0x22, 0xD8, 0x66, 0x8B, 0x05, 0x54, 0xFF, 0xFF, 0xFF, 0x66, 0x85, 0xC0, 0x74, 0x3A, 0x0F,
    0x01, 0x15, 0x48, 0xFF, 0xFF, 0xFF, 0x66, 0x8B, 0x05, 0x29, 0xFF, 0xFF, 0xFF, 0x66, 0x85, 0xC0,
    0x74, 0x07, 0x0F, 0x01, 0x1D, 0x1D, 0xFF, 0xFF, 0xFF, 0x66, 0x8B, 0x05, 0x0C, 0xFF, 0xFF, 0xFF,
    0x8E, 0xD0, 0x8E, 0xD8, 0x8E, 0xC0, 0x8E, 0xE0, 0x8E, 0xE8, 0x66, 0x8B, 0x05, 0x03, 0xFF, 0xFF,
    0xFF, 0x66, 0x85, 0xC0, 0x74, 0x03, 0x0F, 0x00, 0xD8, 0x85, 0xF6, 0x74, 0x36, 0x31, 0xC0, 0xB9,
    0x00, 0x1C, 0x00, 0x00, 0x4D, 0x31, 0xD2, 0x41, 0xBB, 0x1F, 0x00, 0x00, 0x00, 0x41, 0xBC, 0x02,
    0x08, 0x00, 0x00, 0x66, 0x0F, 0x01, 0xCC, 0x8B, 0x05, 0xBF, 0xFE, 0xFF, 0xFF, 0x41, 0x39, 0xC3,
    0x75, 0xF5, 0x31, 0xDB, 0x8B, 0x1D, 0xAE, 0xFE, 0xFF, 0xFF, 0xBA, 0x01, 0x00, 0x00, 0x00, 0x39,
    0xD3, 0x75, 0xCC, 0x85, 0xF6, 0x74, 0x18, 0x48, 0x31, 0xC0, 0x66, 0x89, 0x05, 0x97, 0xFE, 0xFF,
    0xFF, 0x48, 0x8B, 0x05, 0x98, 0xFE, 0xFF, 0xFF, 0x48, 0x89, 0x05, 0xB1, 0xFE, 0xFF, 0xFF, 0x48,
    0x8B, 0x25, 0xC2, 0xFE, 0xFF, 0xFF, 0x48, 0x8B, 0x2D, 0xC3, 0xFE, 0xFF, 0xFF, 0x8B, 0xCE, 0x48,
    0x8B, 0x35, 0xC2, 0xFE, 0xFF, 0xFF, 0x4C, 0x8B, 0x05, 0xC3, 0xFE, 0xFF, 0xFF, 0x4C, 0x8B, 0x0D,
    0xC4, 0xFE, 0xFF, 0xFF, 0x4C, 0x8B, 0x15, 0xC5, 0xFE, 0xFF, 0xFF, 0x4C, 0x8B, 0x1D, 0xC6, 0xFE,
    0xFF, 0xFF, 0x66, 0x8B, 0x05, 0x7F, 0xFE, 0xFF, 0xFF, 0x66, 0x85, 0xC0, 0x74, 0x07, 0x48, 0xFF,
    0x2D, 0x6B, 0xFE, 0xFF, 0xFF, 0x48, 0xFF, 0x25, 0x64, 0xFE, 0xFF, 0xFF,
];

#[cfg(test)]
mod tests {
    use super::*;
    use igvm::IgvmDirectiveHeader;
    use igvm::IgvmFile;
    use igvm::registers::TableRegister;
    use zerocopy::IntoBytes;

    fn golden(name: &str) -> IgvmFile {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/golden/igvm")
            .join(name);
        IgvmFile::new_from_binary(&std::fs::read(path).unwrap(), None).unwrap()
    }

    fn u16_at(b: &[u8], o: usize) -> u16 {
        u16::from_le_bytes(b[o..o + 2].try_into().unwrap())
    }
    fn u32_at(b: &[u8], o: usize) -> u32 {
        u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
    }
    fn u64_at(b: &[u8], o: usize) -> u64 {
        u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
    }

    #[test]
    fn tdx_reset_page_rebuilt_from_its_own_context_equals_the_golden_page() {
        let file = golden("x64-tdx47-nobase-64m-uefi.igvm");
        let page = file
            .directives()
            .iter()
            .find_map(|d| match d {
                IgvmDirectiveHeader::PageData {
                    gpa: 0xFFFF_F000,
                    data,
                    ..
                } => Some(data.clone()),
                _ => None,
            })
            .unwrap();
        assert_eq!(page.len(), 4096);
        // Decode the context (docs/igvm.md §6.3 offsets) into registers.
        let seg = |selector| SegmentRegister {
            base: 0,
            limit: 0xFFFF_FFFF,
            selector,
            attributes: 0,
        };
        let data_sel = u16_at(&page, 0x14);
        let regs = vec![
            X86Register::Gdtr(TableRegister {
                base: u64_at(&page, 0x38),
                limit: u16_at(&page, 0x36),
            }),
            X86Register::Ds(seg(data_sel)),
            X86Register::Es(seg(data_sel)),
            X86Register::Ss(seg(data_sel)),
            X86Register::Cs(seg(u16_at(&page, 0x30))),
            X86Register::Tr(seg(u16_at(&page, 0x1C))),
            X86Register::Cr0(u64_at(&page, 0x78)),
            X86Register::Cr3(u64_at(&page, 0x80)),
            X86Register::Cr4(u64_at(&page, 0x88)),
            X86Register::Efer(0xD01),
            X86Register::Pat(TDX_REQUIRED_PAT),
            X86Register::Rsi(u64_at(&page, 0x50)),
            X86Register::Rip(u64_at(&page, 0x28)),
        ];
        // Fixed fields the spec states.
        assert_eq!(u16_at(&page, 0x16), 0x000F);
        assert_eq!(u32_at(&page, 0x18), 0xFFFF_F098);
        assert_eq!(page[0xA7], 0x46);
        assert_eq!(&page[0xFF0..0xFF5], &[0xE9, 0xB3, 0xF0, 0xFF, 0xFF]);
        assert_eq!(u64::from(u32_at(&page, 0x90)), u64_at(&page, 0x80));
        let rebuilt = tdx_reset_page(&regs).unwrap();
        assert_eq!(rebuilt, page);
    }

    #[test]
    fn tdx_rejects_what_igvmfilegen_panics_on() {
        assert!(matches!(
            tdx_reset_page(&[X86Register::Cr3(0x1_0000_0000)]),
            Err(IgvmError::TdxCr3Above4Gib { cr3: 0x1_0000_0000 })
        ));
        assert!(tdx_reset_page(&[X86Register::Efer(0)]).is_err());
        assert!(tdx_reset_page(&[X86Register::Pat(0)]).is_err());
        assert!(tdx_reset_page(&[X86Register::R12(0)]).is_err());
        let s = |selector| SegmentRegister {
            base: 0,
            limit: 0,
            selector,
            attributes: 0,
        };
        assert!(tdx_reset_page(&[X86Register::Ds(s(0x10)), X86Register::Ss(s(0x18))]).is_err());
    }

    #[test]
    fn snp_vmsa_rebuilt_from_its_own_registers_equals_the_golden_vmsa() {
        let file = golden("x64-snp46-nobase-64m-uefi.igvm");
        let vmsa = file
            .directives()
            .iter()
            .find_map(|d| match d {
                IgvmDirectiveHeader::SnpVpContext { vmsa, .. } => Some(vmsa.clone()),
                _ => None,
            })
            .unwrap();
        let b = vmsa.as_bytes();
        // docs/igvm.md §6.2: the paravisor's SEV features, xcr0 1, vTOM 0.
        assert_eq!(u64_at(b, 0x3B0), 0x2040E1);
        assert_eq!(u64_at(b, 0x3E8), 1);
        assert_eq!(u64_at(b, 0x3C8), 0);
        let seg = |o: usize| {
            let attrib = u16_at(b, o + 2);
            SegmentRegister {
                selector: u16_at(b, o),
                attributes: (attrib & 0xFF) | ((attrib & 0xF00) << 4),
                limit: u32_at(b, o + 4),
                base: u64_at(b, o + 8),
            }
        };
        let regs = vec![
            X86Register::Gdtr(TableRegister {
                base: u64_at(b, 0x68),
                limit: u32_at(b, 0x64) as u16,
            }),
            X86Register::Ds(seg(0x30)),
            X86Register::Es(seg(0x00)),
            X86Register::Fs(seg(0x40)),
            X86Register::Gs(seg(0x50)),
            X86Register::Ss(seg(0x20)),
            X86Register::Cs(seg(0x10)),
            X86Register::Tr(seg(0x90)),
            X86Register::Cr0(u64_at(b, 0x158)),
            X86Register::Cr3(u64_at(b, 0x150)),
            X86Register::Cr4(u64_at(b, 0x148)),
            X86Register::Efer(u64_at(b, 0xD0)),
            X86Register::Pat(u64_at(b, 0x268)),
            X86Register::Rsi(u64_at(b, 0x330)),
            X86Register::Rip(u64_at(b, 0x178)),
        ];
        let rebuilt = snp_vmsa(&regs, false).unwrap();
        assert_eq!(&rebuilt[..], &b[..VMSA_SIZE]);
        assert!(b[VMSA_SIZE..].iter().all(|x| *x == 0));
        // Restricted injection adds bit 3 (0x2040E9).
        let r = snp_vmsa(&regs, true).unwrap();
        assert_eq!(u64_at(&r, 0x3B0), 0x2040E9);
    }
}

//! The paravisor's identity map: `build_identity_page_tables_aarch64`
//! (`docs/algorithms.md` §5) and its exact size query.

use vp_regs::aarch64::MemoryAttributeEl1;
use vp_regs::aarch64::MemoryAttributeIndirectionEl1;

use crate::address::Arm64PageSize;
use crate::address::TABLE_SIZE;
use crate::address::is_aligned;
use crate::descriptor::Arm64MappingAttributes;
use crate::descriptor::AttrIndx;
use crate::error::Arm64PageTableError;
use crate::fresh::build_identity_fresh;
use crate::space::Arm64TableSpace;
use crate::space::required_tables;

const SIZE_2M: u64 = Arm64PageSize::Large.bytes();

/// Builds the AArch64 identity map of `start_gpa..start_gpa + size` into
/// `out`, byte for byte as the original `build_identity_page_tables_aarch64`.
///
/// `out` is the whole page-table area: its length is the region size R (the
/// paravisor passes 15 pages) and it lies at GPA `page_table_gpa`, which is
/// also TTBR0_EL1's base address. Every block and page maps normal memory at
/// the AttrIndx of the first Normal_WriteBack entry of `mair` (3 for the
/// paravisor's MAIR), EL1 read/write, inner shareable, UXN set.
///
/// Returns the used length, (1 + tables allocated) × 4096: `out[..len]` is
/// what the original returns. **`out` is overwritten entirely**: the caller
/// need not zero it, and on success `out[len..]` is zero, so `out` is exactly
/// the image of the imported area. (The paravisor loader additionally
/// requires `len < out.len()`, `docs/algorithms.md` §8 step 23.)
///
/// Errors where the original panics (`docs/algorithms.md` §9 rows 14 and 20):
/// start or size not 2 MiB-aligned; the table-area errors of
/// [`Arm64TableSpace::new`]; no Normal_WriteBack in `mair`
/// ([`MissingWriteBack`](Arm64PageTableError::MissingWriteBack)); and the
/// [`map_range`](Arm64TableSpace::map_range) errors: size 0, a range reaching
/// 2^47 (non-canonical or beyond the PFN field), tables that do not fit the
/// area ([`OutOfMemory`](Arm64PageTableError::OutOfMemory)). Everything is
/// checked before the first table entry is written; on error the contents of
/// `out` are unspecified and must not be imported.
///
/// ```
/// use arm64_pagetables::build_identity_page_tables_aarch64;
/// use vp_regs::aarch64::paravisor::MAIR_EL1;
///
/// // 64 MiB of VTL2 memory at 128 MiB, tables at 0x868_3000 (15 pages).
/// let mut area = [0u8; 15 * 4096];
/// let len = build_identity_page_tables_aarch64(0x868_3000, 0x800_0000, 0x400_0000, &MAIR_EL1, &mut area)?;
/// assert_eq!(len, 0x3000);
/// # Ok::<(), arm64_pagetables::Arm64PageTableError>(())
/// ```
pub fn build_identity_page_tables_aarch64(
    page_table_gpa: u64,
    start_gpa: u64,
    size: u64,
    mair: &MemoryAttributeIndirectionEl1,
    out: &mut [u8],
) -> Result<usize, Arm64PageTableError> {
    check_identity_alignment(start_gpa, size)?;
    let attributes = Arm64MappingAttributes::paravisor(write_back_index(mair)?);
    // The common case: one pass over a fresh area, no planning. Anything it
    // does not cover (including every error) takes the general path below,
    // which rewrites all of `out`.
    if let Some(len) = build_identity_fresh(page_table_gpa, start_gpa, size, attributes, out) {
        return Ok(len);
    }
    let mut space = Arm64TableSpace::new(page_table_gpa, out)?;
    space.map_range(start_gpa, start_gpa, size, attributes)?;
    space.zero_unused();
    Ok(space.used_len())
}

/// The exact length [`build_identity_page_tables_aarch64`] returns for this
/// range when its area is large enough: (1 + tables needed) × 4096. Use it to
/// size the area before building.
///
/// Errors as the builder for the range itself (alignment, size 0, a range
/// reaching 2^47).
///
/// ```
/// use arm64_pagetables::required_identity_table_bytes;
///
/// // 3 GiB + 2 MiB at 1 GiB − 2 MiB: root, one level-1 and one level-2 table.
/// assert_eq!(required_identity_table_bytes(0x3FE0_0000, 0xC020_0000)?, 0x3000);
/// # Ok::<(), arm64_pagetables::Arm64PageTableError>(())
/// ```
pub fn required_identity_table_bytes(
    start_gpa: u64,
    size: u64,
) -> Result<usize, Arm64PageTableError> {
    check_identity_alignment(start_gpa, size)?;
    let tables = required_tables(start_gpa, start_gpa, size)?;
    usize::try_from(tables)
        .ok()
        .and_then(|tables| tables.checked_mul(TABLE_SIZE))
        .ok_or(Arm64PageTableError::OutOfMemory {
            required: tables,
            available: (usize::MAX / TABLE_SIZE) as u64,
        })
}

/// AttrIndx of the first Normal_WriteBack attribute in `mair`.
pub fn write_back_index(
    mair: &MemoryAttributeIndirectionEl1,
) -> Result<AttrIndx, Arm64PageTableError> {
    let missing = Arm64PageTableError::MissingWriteBack {
        mair: mair.to_u64(),
    };
    let index = mair
        .index_of(MemoryAttributeEl1::NormalWriteBack)
        .ok_or(missing)?;
    AttrIndx::new(index)
}

fn check_identity_alignment(start_gpa: u64, size: u64) -> Result<(), Arm64PageTableError> {
    if !is_aligned(start_gpa, SIZE_2M) {
        return Err(Arm64PageTableError::IdentityStartMisaligned { start_gpa });
    }
    if !is_aligned(size, SIZE_2M) {
        return Err(Arm64PageTableError::IdentitySizeMisaligned { size });
    }
    Ok(())
}

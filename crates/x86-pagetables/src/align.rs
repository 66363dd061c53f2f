//! Alignment helpers and the PD-table count (docs/algorithms.md §1.2, §4.1).

use crate::PageTableError;

/// 4 KiB: the x86-64 base page size.
pub const X64_PAGE_SIZE: u64 = 0x1000;
/// 2 MiB: the x86-64 large page size (a PDE leaf).
pub const X64_LARGE_PAGE_SIZE: u64 = 0x20_0000;
/// 1 GiB: the x86-64 huge page size (a PDPTE leaf), also the span of one PD.
pub const X64_1GB_PAGE_SIZE: u64 = 0x4000_0000;

/// Rounds `a` up to a multiple of `align` (a power of two); `None` on overflow.
const fn align_up(a: u64, align: u64) -> Option<u64> {
    let low = align.wrapping_sub(1);
    match a.checked_add(low) {
        Some(v) => Some(v & !low),
        None => None,
    }
}

/// `(a + 0xFFF) & !0xFFF`, or `None` where the original overflows.
pub const fn align_up_to_page_size(a: u64) -> Option<u64> {
    align_up(a, X64_PAGE_SIZE)
}

/// `(a + 0x1F_FFFF) & !0x1F_FFFF`, or `None` where the original overflows.
pub const fn align_up_to_large_page_size(a: u64) -> Option<u64> {
    align_up(a, X64_LARGE_PAGE_SIZE)
}

/// `(a + 0x3FFF_FFFF) & !0x3FFF_FFFF`, or `None` where the original overflows.
pub const fn align_up_to_1_gb_page_size(a: u64) -> Option<u64> {
    align_up(a, X64_1GB_PAGE_SIZE)
}

/// The number of page-directory (PD) tables needed to map
/// `[start, start + size)` with 2 MiB pages, exactly as the original computes
/// it (docs/algorithms.md §4.1), including its quirks: size 0 gives 1.
///
/// Errors with [`PageTableError::RangeOverflow`] where the original
/// overflows (`start + size` or the 1 GiB round-up beyond 2^64).
pub fn calculate_pde_table_count(start: u64, size: u64) -> Result<u64, PageTableError> {
    let overflow = PageTableError::RangeOverflow { start, size };
    let end = start.checked_add(size).ok_or(overflow)?;
    let up = align_up_to_1_gb_page_size(start).ok_or(overflow)?;
    let down = end & !(X64_1GB_PAGE_SIZE - 1);
    if size < X64_1GB_PAGE_SIZE {
        // Smaller than 1 GiB: one PD, two if it straddles a 1 GiB boundary.
        return Ok(if end > down && start < down { 2 } else { 1 });
    }
    let head = u64::from(start != up);
    // down > up, both 1 GiB aligned: no underflow; the sum is at most 2^34 + 2.
    let middle = down.saturating_sub(up) / X64_1GB_PAGE_SIZE;
    let tail = u64::from(end > down);
    Ok(head.saturating_add(middle).saturating_add(tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;
    const GIB: u64 = 1024 * MIB;

    #[test]
    fn pde_table_count_matches_the_sources_reference_values() {
        // docs/algorithms.md §4.1, "Reference values (from the source's tests)".
        let cases = [
            (0, 512, 1),
            (0, MIB, 1),
            (512, MIB, 1),
            (GIB - 512, 1024, 2),
            (GIB - 512, 512, 1),
            (0, GIB, 1),
            (0, GIB + 1, 2),
            (1, GIB + 1, 2),
            (512, 2 * GIB, 3),
            (0, 3 * GIB, 3),
            (GIB, 3 * GIB, 3),
            // Paravisor values.
            (128 * MIB, 64 * MIB, 1),
            (128 * MIB, 3 * GIB, 4),
            (2 * MIB, 2 * MIB, 1),
        ];
        for (start, size, expected) in cases {
            assert_eq!(
                calculate_pde_table_count(start, size),
                Ok(expected),
                "({start:#x}, {size:#x})"
            );
        }
    }

    #[test]
    fn pde_table_count_of_size_zero_is_one() {
        // docs/algorithms.md §4.1: "size 0 gives 1".
        assert_eq!(calculate_pde_table_count(0, 0), Ok(1));
        assert_eq!(calculate_pde_table_count(5 * GIB, 0), Ok(1));
    }

    #[test]
    fn pde_table_count_overflow_is_an_error() {
        assert_eq!(
            calculate_pde_table_count(u64::MAX - 10, 11),
            Err(PageTableError::RangeOverflow {
                start: u64::MAX - 10,
                size: 11
            })
        );
        // The 1 GiB round-up of the start overflows even though start + size fits.
        let start = u64::MAX - GIB;
        assert!(calculate_pde_table_count(start, 2 * GIB).is_err());
    }

    #[test]
    fn align_helpers_round_up_and_report_overflow() {
        assert_eq!(align_up_to_page_size(0), Some(0));
        assert_eq!(align_up_to_page_size(1), Some(0x1000));
        assert_eq!(align_up_to_page_size(0x1000), Some(0x1000));
        assert_eq!(align_up_to_large_page_size(0x20_0001), Some(0x40_0000));
        assert_eq!(align_up_to_1_gb_page_size(1), Some(0x4000_0000));
        assert_eq!(align_up_to_1_gb_page_size(0x4000_0000), Some(0x4000_0000));
        assert_eq!(align_up_to_page_size(u64::MAX), None);
        assert_eq!(align_up_to_large_page_size(u64::MAX - 0x1F_FFFE), None);
        assert_eq!(align_up_to_1_gb_page_size(u64::MAX - 0x3FFF_FFFE), None);
        // The largest values that still round up.
        assert_eq!(
            align_up_to_page_size(u64::MAX - 0xFFF),
            Some(u64::MAX - 0xFFF)
        );
    }
}

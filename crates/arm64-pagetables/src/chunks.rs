//! The original `map_range`'s page-size choice: a validated range as runs
//! of 1 GiB, 2 MiB or 4 KiB pages.

use crate::address::Arm64PageSize;
use crate::address::gap_to_boundary;
use crate::address::is_aligned;

const SIZE_1G: u64 = Arm64PageSize::Huge.bytes();
const SIZE_2M: u64 = Arm64PageSize::Large.bytes();
pub(crate) const SIZE_4K: u64 = Arm64PageSize::Small.bytes();

/// `value` rounded down to a multiple of `align` (a power of two).
const fn round_down(value: u64, align: u64) -> u64 {
    value & !align.wrapping_sub(1)
}

/// One run of same-size pages chosen by the original `map_range`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Chunk {
    pub(crate) phys: u64,
    pub(crate) virt: u64,
    pub(crate) virt_last: u64,
    pub(crate) leaf: u8,
}

/// The original's page-size choice (`docs/algorithms.md` §5, `map_range` step 2)
/// as an iterator of runs over a validated range.
pub(crate) struct Chunks {
    phys: u64,
    virt: u64,
    remaining: u64,
}

impl Chunks {
    pub(crate) fn new(phys: u64, virt: u64, size: u64) -> Self {
        Self {
            phys,
            virt,
            remaining: size,
        }
    }
}

impl Iterator for Chunks {
    type Item = Chunk;

    fn next(&mut self) -> Option<Chunk> {
        let (phys, virt, rem) = (self.phys, self.virt, self.remaining);
        if rem < SIZE_4K {
            return None;
        }
        let gap_1g = gap_to_boundary(virt, SIZE_1G);
        let (page, bytes) =
            if is_aligned(phys, SIZE_1G) && is_aligned(virt, SIZE_1G) && rem >= SIZE_1G {
                (Arm64PageSize::Huge, round_down(rem, SIZE_1G))
            } else if is_aligned(phys, SIZE_2M) && is_aligned(virt, SIZE_2M) && rem >= SIZE_2M {
                // Stop at the next 1 GiB boundary so the rest can use 1 GiB blocks.
                let run = if gap_1g > 0 && gap_1g < rem {
                    gap_1g
                } else {
                    rem
                };
                (Arm64PageSize::Large, round_down(run, SIZE_2M))
            } else {
                let gap_2m = gap_to_boundary(virt, SIZE_2M);
                let run = if gap_1g > 0 && gap_1g < rem {
                    gap_1g
                } else if gap_2m > 0 && gap_2m < rem {
                    gap_2m
                } else {
                    rem
                };
                (Arm64PageSize::Small, round_down(run, SIZE_4K))
            };
        // `bytes` is a non-zero multiple of the page size, at most `rem`.
        self.phys = phys.wrapping_add(bytes);
        self.virt = virt.wrapping_add(bytes);
        self.remaining = rem.wrapping_sub(bytes);
        Some(Chunk {
            phys,
            virt,
            virt_last: virt.wrapping_add(bytes.wrapping_sub(1)),
            leaf: page.leaf_level(),
        })
    }
}

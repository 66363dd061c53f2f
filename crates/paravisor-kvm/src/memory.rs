//! Guest RAM: the ranges a boot needs, and anonymous host mappings backing
//! them as KVM memory slots.

#![allow(unsafe_code)]

use crate::error::Error;
use paravisor_boot::RamRange;
use paravisor_loader::PAGE_SIZE;

/// Sorts and merges ranges (overlapping or touching ranges become one),
/// after rounding each out to `granule` (a power of two, at least 4 KiB).
pub fn merge_ranges(ranges: &[RamRange], granule: u64) -> Result<Vec<RamRange>, Error> {
    let mask = granule.wrapping_sub(1);
    let mut spans = Vec::with_capacity(ranges.len());
    for range in ranges {
        if range.size == 0 {
            continue;
        }
        let end = range.end().ok_or(Error::RangeOverflow {
            gpa: range.gpa,
            size: range.size,
        })?;
        let start = range.gpa & !mask;
        let end = end.checked_add(mask).ok_or(Error::RangeOverflow {
            gpa: range.gpa,
            size: range.size,
        })? & !mask;
        spans.push((start, end));
    }
    spans.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    Ok(merged
        .into_iter()
        .map(|(start, end)| RamRange {
            gpa: start,
            size: end.saturating_sub(start),
        })
        .collect())
}

/// An anonymous, private, zero-filled host mapping that backs one guest RAM
/// range. Unmapped on drop.
#[derive(Debug)]
pub(crate) struct HostMapping {
    pub(crate) range: RamRange,
    ptr: *mut u8,
    len: usize,
}

impl HostMapping {
    pub(crate) fn new(range: RamRange) -> Result<Self, Error> {
        let len = usize::try_from(range.size).map_err(|_| Error::RangeOverflow {
            gpa: range.gpa,
            size: range.size,
        })?;
        if len == 0 || !range.gpa.is_multiple_of(PAGE_SIZE) || !range.size.is_multiple_of(PAGE_SIZE)
        {
            return Err(Error::RangeUnaligned {
                gpa: range.gpa,
                size: range.size,
            });
        }
        // SAFETY: an anonymous private mapping with no address hint has no
        // preconditions; the result is checked for MAP_FAILED below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(Error::HostMemory {
                size: range.size,
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(Self {
            range,
            ptr: ptr.cast(),
            len,
        })
    }

    pub(crate) fn host_address(&self) -> u64 {
        self.ptr as u64
    }

    /// Copies `data` to guest-physical address `gpa`, which must lie (with
    /// the whole of `data`) inside this mapping.
    pub(crate) fn write(&mut self, gpa: u64, data: &[u8]) -> Result<(), Error> {
        let outside = || Error::PageOutsideRam {
            gpa,
            len: data.len() as u64,
        };
        let offset = gpa.checked_sub(self.range.gpa).ok_or_else(outside)?;
        let offset = usize::try_from(offset).map_err(|_| outside())?;
        let end = offset.checked_add(data.len()).ok_or_else(outside)?;
        let slice = self.as_mut_slice();
        slice
            .get_mut(offset..end)
            .ok_or_else(outside)?
            .copy_from_slice(data);
        Ok(())
    }

    /// Reads `buf.len()` bytes at guest-physical address `gpa`.
    #[cfg(test)]
    pub(crate) fn read(&self, gpa: u64, buf: &mut [u8]) -> Option<()> {
        let offset = usize::try_from(gpa.checked_sub(self.range.gpa)?).ok()?;
        let end = offset.checked_add(buf.len())?;
        // SAFETY: ptr/len describe a live mapping owned by self.
        let slice = unsafe { std::slice::from_raw_parts(self.ptr, self.len) };
        buf.copy_from_slice(slice.get(offset..end)?);
        Some(())
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: ptr/len describe a live, writable mapping owned by self, and
        // `&mut self` guarantees no other Rust reference to it exists. The
        // guest may also write it, but only while the vCPU runs, which never
        // overlaps a call of this function (the runner is single threaded).
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for HostMapping {
    fn drop(&mut self) {
        // SAFETY: ptr/len are exactly what mmap returned; the VM (and with it
        // the memory slot) is dropped before this mapping by construction
        // order in the runner.
        unsafe {
            libc::munmap(self.ptr.cast(), self.len);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn merge_rounds_out_and_joins_touching_ranges() {
        let merged = merge_ranges(
            &[
                RamRange {
                    gpa: 0,
                    size: 0x1000,
                },
                RamRange {
                    gpa: 128 * MIB,
                    size: 64 * MIB,
                },
                RamRange {
                    gpa: 130 * MIB + 0x1000,
                    size: 0x1000,
                },
                RamRange {
                    gpa: 192 * MIB,
                    size: 0x1000,
                },
            ],
            2 * MIB,
        )
        .unwrap();
        assert_eq!(
            merged,
            vec![
                RamRange {
                    gpa: 0,
                    size: 2 * MIB
                },
                RamRange {
                    gpa: 128 * MIB,
                    size: 66 * MIB
                },
            ]
        );
    }

    #[test]
    fn merge_rejects_overflowing_range() {
        assert!(
            merge_ranges(
                &[RamRange {
                    gpa: u64::MAX,
                    size: 2
                }],
                0x1000
            )
            .is_err()
        );
    }

    #[test]
    fn mapping_writes_inside_and_refuses_outside() {
        let mut map = HostMapping::new(RamRange {
            gpa: 0x10_0000,
            size: 0x2000,
        })
        .unwrap();
        map.write(0x10_1FFE, &[1, 2]).unwrap();
        let mut back = [0u8; 2];
        map.read(0x10_1FFE, &mut back).unwrap();
        assert_eq!(back, [1, 2]);
        assert!(map.write(0x10_1FFF, &[1, 2]).is_err());
        assert!(map.write(0xF_FFFF, &[1]).is_err());
    }
}

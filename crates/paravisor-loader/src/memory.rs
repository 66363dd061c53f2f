//! VTL2 memory and the checked arithmetic every placement uses.

use crate::error::LayoutError;
use crate::importer::PAGE_SIZE;
use crate::importer::StartupMemoryType;
use crate::plan::PageRange;

/// 2 MiB: the alignment of VTL2 memory, of its relocation and of the
/// sidecar.
pub const LARGE_PAGE_SIZE: u64 = 0x20_0000;

/// Where the next region goes: a checked bump allocator over guest
/// addresses. Every placement error names what was being placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursor {
    next: u64,
}

impl Cursor {
    /// A cursor at `next`.
    pub(crate) const fn at(next: u64) -> Self {
        Self { next }
    }

    /// The next free address.
    pub(crate) const fn next(&self) -> u64 {
        self.next
    }

    /// Places `bytes` bytes of `what` at the next free address and returns
    /// that address.
    pub(crate) fn take(&mut self, bytes: u64, what: &'static str) -> Result<u64, LayoutError> {
        let base = self.next;
        self.next = base
            .checked_add(bytes)
            .ok_or(LayoutError::AddressOverflow { what, at: base })?;
        Ok(base)
    }

    /// Places `count` pages of `what`.
    pub(crate) fn take_pages(
        &mut self,
        count: u64,
        what: &'static str,
    ) -> Result<u64, LayoutError> {
        let bytes = count
            .checked_mul(PAGE_SIZE)
            .ok_or(LayoutError::AddressOverflow { what, at: count })?;
        self.take(bytes, what)
    }

    /// Rounds the next free address up to `align` (a power of two) before
    /// placing `what`.
    pub(crate) fn align(&mut self, align: u64, what: &'static str) -> Result<(), LayoutError> {
        self.next = align_up(self.next, align, what)?;
        Ok(())
    }

    /// Continues after a region placed by someone else (an ELF file).
    pub(crate) fn skip_to(&mut self, next: u64) {
        self.next = next;
    }
}

/// `a` rounded up to a multiple of `align` (a power of two), checked.
pub(crate) fn align_up(a: u64, align: u64, what: &'static str) -> Result<u64, LayoutError> {
    let mask = align.wrapping_sub(1);
    a.checked_add(mask)
        .map(|v| v & !mask)
        .ok_or(LayoutError::AddressOverflow { what, at: a })
}

/// VTL2 memory: where it is and how the startup-memory check names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vtl2Memory {
    /// First byte.
    pub start: u64,
    /// Size in bytes.
    pub size: u64,
    /// Size in pages.
    pub page_count: u64,
    /// Ram or Vtl2ProtectableRam (paravisor present).
    pub startup_type: StartupMemoryType,
}

impl Vtl2Memory {
    /// Computes and checks VTL2 memory (docs/algorithms.md §7.1 steps 2–3, §8
    /// steps 4–5): the start defaults to 128 MiB; start and size must be
    /// 2 MiB aligned; the range must fit in 64 bits.
    pub fn new(
        page_base: Option<u64>,
        page_count: u64,
        startup_type: StartupMemoryType,
    ) -> Result<Self, LayoutError> {
        let start = match page_base {
            Some(page_base) => page_base
                .checked_mul(PAGE_SIZE)
                .ok_or(LayoutError::MemoryBaseOverflow { page_base })?,
            None => paravisor_layout::PARAVISOR_DEFAULT_MEMORY_BASE_ADDRESS,
        };
        let size = page_count
            .checked_mul(PAGE_SIZE)
            .filter(|size| start.checked_add(*size).is_some())
            .ok_or(LayoutError::MemorySizeOverflow { start, page_count })?;
        if start % LARGE_PAGE_SIZE != 0 {
            return Err(LayoutError::MemoryUnaligned {
                what: "start",
                value: start,
            });
        }
        if size % LARGE_PAGE_SIZE != 0 {
            return Err(LayoutError::MemoryUnaligned {
                what: "size",
                value: size,
            });
        }
        Ok(Self {
            start,
            size,
            page_count,
            startup_type,
        })
    }

    /// The end of VTL2 memory (checked to fit at construction).
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.size)
    }

    /// `NotEnoughMemory` unless everything up to `used_end` fits.
    pub fn check_fits(&self, used_end: u64) -> Result<(), LayoutError> {
        if used_end > self.end() {
            return Err(LayoutError::NotEnoughMemory {
                required: used_end.saturating_sub(self.start),
                end: used_end,
                available: self.size,
            });
        }
        Ok(())
    }
}

impl Vtl2Memory {
    /// VTL2 memory as pages.
    pub const fn pages(&self) -> PageRange {
        PageRange {
            base: self.start / PAGE_SIZE,
            count: self.page_count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vtl2_memory_defaults_to_128_mib_and_checks_alignment() {
        // docs/abi.md §1.2: PARAVISOR_DEFAULT_MEMORY_BASE_ADDRESS = 0x0800_0000.
        let m = Vtl2Memory::new(None, 0x4000, StartupMemoryType::Vtl2ProtectableRam).unwrap();
        assert_eq!(
            (m.start, m.size, m.end()),
            (0x0800_0000, 0x0400_0000, 0x0C00_0000)
        );
        assert_eq!(m.startup_type, StartupMemoryType::Vtl2ProtectableRam);
        assert_eq!(
            [true, false].map(|paravisor_present| {
                crate::importer::IsolationConfig {
                    isolation_type: crate::importer::IsolationType::None,
                    paravisor_present,
                    shared_gpa_boundary_bits: None,
                }
                .startup_memory_type()
            }),
            [
                StartupMemoryType::Vtl2ProtectableRam,
                StartupMemoryType::Ram
            ]
        );
        assert_eq!(
            Vtl2Memory::new(Some(0x100), 0x200, StartupMemoryType::Ram),
            Err(LayoutError::MemoryUnaligned {
                what: "start",
                value: 0x10_0000
            })
        );
        assert!(m.check_fits(0x0C00_0000).is_ok());
        assert!(matches!(
            m.check_fits(0x0C00_1000),
            Err(LayoutError::NotEnoughMemory {
                required: 0x0400_1000,
                ..
            })
        ));
    }

    #[test]
    fn cursor_places_in_order_and_reports_overflow() {
        let mut c = Cursor::at(0x1000);
        assert_eq!(c.take(0x2000, "a"), Ok(0x1000));
        assert_eq!(c.take_pages(2, "b"), Ok(0x3000));
        c.align(LARGE_PAGE_SIZE, "c").unwrap();
        assert_eq!(c.next(), LARGE_PAGE_SIZE);
        let mut c = Cursor::at(u64::MAX - 0xFFF);
        assert_eq!(
            c.take(0x1000, "x"),
            Err(LayoutError::AddressOverflow {
                what: "x",
                at: u64::MAX - 0xFFF
            })
        );
    }
}

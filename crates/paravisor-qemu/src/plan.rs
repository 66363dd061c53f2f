//! Where each imported byte goes on the `virt` machine: the `-bios` image
//! (reset stub page, then everything below 64 MiB) or a RAM file.

use crate::error::Error;
use crate::model::BootImage;
use crate::virt::VIRT_DTB_RESERVED;
use crate::virt::VIRT_FLASH0_SIZE;
use crate::virt::VIRT_RAM_BASE;
use crate::virt::reset_stub_page;
use paravisor_boot::PageData;
use paravisor_loader::PAGE_SIZE;

/// Smallest RAM size given to QEMU, in MiB.
const MIN_RAM_MIB: u64 = 128;

const MIB: u64 = 1 << 20;

/// What QEMU is given: the `-bios` image, the RAM files and the RAM size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QemuPlan {
    /// The `-bios` image: the reset stub page at GPA 0, then every imported
    /// byte below [`VIRT_FLASH0_SIZE`] at its GPA (zero elsewhere).
    pub bios: Vec<u8>,
    /// Runs of adjacent imported bytes in RAM, one `-device loader` each,
    /// in ascending GPA order.
    pub ram_chunks: Vec<PageData>,
    /// RAM size in MiB (`-m`): covers every RAM chunk and required range.
    pub ram_mib: u64,
}

/// One past `[gpa, gpa + size)`, or the overflow error.
pub(crate) fn end_of(gpa: u64, size: u64) -> Result<u64, Error> {
    gpa.checked_add(size)
        .ok_or(Error::RangeOverflow { gpa, size })
}

/// A length as u64.
pub(crate) fn len_u64(data: &[u8]) -> u64 {
    u64::try_from(data.len()).unwrap_or(u64::MAX)
}

/// The pages with data in ascending GPA order, each with its end; an error
/// when two overlap.
pub(crate) fn sorted_pages(pages: &[PageData]) -> Result<Vec<(&PageData, u64)>, Error> {
    let mut sorted: Vec<&PageData> = pages.iter().filter(|p| !p.data.is_empty()).collect();
    sorted.sort_by_key(|p| p.gpa);
    let mut out: Vec<(&PageData, u64)> = Vec::with_capacity(sorted.len());
    for page in sorted {
        let end = end_of(page.gpa, len_u64(&page.data))?;
        if let Some((previous, previous_end)) = out.last()
            && page.gpa < *previous_end
        {
            return Err(Error::Overlap {
                first: previous.gpa,
                second: page.gpa,
            });
        }
        out.push((page, end));
    }
    Ok(out)
}

/// Appends `page` to `chunks` (ascending, one `-device loader` file each),
/// extending the last chunk when `page` follows it directly.
pub(crate) fn append_chunk(chunks: &mut Vec<PageData>, page: &PageData) -> Result<(), Error> {
    match chunks.last_mut() {
        Some(last) if end_of(last.gpa, len_u64(&last.data))? == page.gpa => {
            last.data.extend_from_slice(&page.data);
        }
        _ => chunks.push(page.clone()),
    }
    Ok(())
}

/// Places `image` on the `virt` machine (no files written, QEMU not run).
///
/// Errors: a missing register, overlapping data, data in the reset stub's
/// page, data outside flash bank 0 and RAM, required RAM below
/// [`VIRT_RAM_BASE`], or address overflow.
pub fn plan(image: &BootImage) -> Result<QemuPlan, Error> {
    let registers = image.registers.stub_block()?;
    let mut bios = reset_stub_page(&registers);
    bios.resize(usize::try_from(PAGE_SIZE).unwrap_or(4096), 0);

    let mut ram_chunks: Vec<PageData> = Vec::new();
    let mut ram_end = VIRT_RAM_BASE;
    for (page, end) in sorted_pages(&image.pages)? {
        let size = len_u64(&page.data);
        if page.gpa < PAGE_SIZE {
            return Err(Error::ResetStubConflict { gpa: page.gpa });
        }
        if end <= VIRT_FLASH0_SIZE {
            let start = usize::try_from(page.gpa).map_err(|_| Error::RangeOverflow {
                gpa: page.gpa,
                size,
            })?;
            let stop = usize::try_from(end).map_err(|_| Error::RangeOverflow {
                gpa: page.gpa,
                size,
            })?;
            if bios.len() < stop {
                bios.resize(stop, 0);
            }
            if let Some(target) = bios.get_mut(start..stop) {
                target.copy_from_slice(&page.data);
            }
        } else if page.gpa >= VIRT_RAM_BASE {
            if page.gpa < VIRT_RAM_BASE.saturating_add(VIRT_DTB_RESERVED) {
                return Err(Error::DeviceTreeConflict {
                    gpa: page.gpa,
                    size,
                    reserved: VIRT_DTB_RESERVED,
                    ram_base: VIRT_RAM_BASE,
                });
            }
            ram_end = ram_end.max(end);
            append_chunk(&mut ram_chunks, page)?;
        } else {
            return Err(Error::NotGuestMemory {
                gpa: page.gpa,
                size,
                flash_end: VIRT_FLASH0_SIZE,
                ram_base: VIRT_RAM_BASE,
            });
        }
    }
    for range in &image.ram {
        if range.gpa < VIRT_RAM_BASE {
            return Err(Error::RamBelowBase {
                gpa: range.gpa,
                size: range.size,
                ram_base: VIRT_RAM_BASE,
            });
        }
        ram_end = ram_end.max(end_of(range.gpa, range.size)?);
    }
    let ram_bytes = ram_end.saturating_sub(VIRT_RAM_BASE);
    let ram_mib = ram_bytes.div_ceil(MIB).max(MIN_RAM_MIB);
    Ok(QemuPlan {
        bios,
        ram_chunks,
        ram_mib,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::virt::Aarch64Registers;
    use crate::virt::RESET_STUB_CODE;
    use crate::virt::RESET_STUB_REGS_OFFSET;
    use paravisor_boot::RamRange;

    fn regs() -> Aarch64Registers {
        Aarch64Registers::paravisor_defaults(0x4840_2000, 0x7000, 0x4848_6000)
    }

    fn image(pages: Vec<PageData>) -> BootImage {
        BootImage {
            ram: vec![],
            pages,
            registers: regs(),
        }
    }

    #[test]
    fn stub_page_holds_code_then_register_block() {
        let plan = plan(&image(vec![])).unwrap();
        assert_eq!(plan.bios.len(), 4096);
        assert_eq!(plan.bios[0..4], RESET_STUB_CODE[0].to_le_bytes());
        // Block order: X0, PC, CPSR, SCTLR_EL1, TCR_EL1, MAIR_EL1, TTBR0_EL1, VBAR_EL1.
        let word = |i: usize| {
            let at = RESET_STUB_REGS_OFFSET + 8 * i;
            u64::from_le_bytes(plan.bios[at..at + 8].try_into().unwrap())
        };
        assert_eq!(
            (0..8).map(word).collect::<Vec<_>>(),
            [
                0x7000,
                0x4840_2000,
                0x5,
                0x30D0_1805,
                0x5_8080_3511,
                0xFFBB_4400,
                0x4848_6000,
                0
            ]
        );
        assert!(plan.ram_chunks.is_empty());
        assert_eq!(plan.ram_mib, MIN_RAM_MIB);
    }

    #[test]
    fn adjacent_ram_pages_merge_and_low_pages_go_to_bios() {
        let plan = plan(&image(vec![
            PageData {
                gpa: 0x4800_1000,
                data: vec![2; 4096],
            },
            PageData {
                gpa: 0x4800_0000,
                data: vec![1; 4096],
            },
            PageData {
                gpa: 0x4900_0000,
                data: vec![3; 10],
            },
            PageData {
                gpa: 0x100_1000,
                data: vec![4; 16],
            },
        ]))
        .unwrap();
        assert_eq!(plan.ram_chunks.len(), 2);
        assert_eq!(plan.ram_chunks[0].gpa, 0x4800_0000);
        assert_eq!(plan.ram_chunks[0].data.len(), 8192);
        assert_eq!(plan.ram_chunks[0].data[4095], 1);
        assert_eq!(plan.ram_chunks[0].data[4096], 2);
        assert_eq!(plan.ram_chunks[1].gpa, 0x4900_0000);
        assert_eq!(plan.bios.len(), 0x100_1010);
        assert_eq!(plan.bios[0x100_1000], 4);
        // RAM up to 0x4900_000A: 144 MiB + 10 bytes -> 145 MiB.
        assert_eq!(plan.ram_mib, 145);
    }

    #[test]
    fn required_ram_sets_the_size() {
        let mut img = image(vec![]);
        img.ram.push(RamRange {
            gpa: 0x4800_0000,
            size: 0x1000_0000,
        });
        // Up to 0x5800_0000: 0x1800_0000 bytes above the RAM base = 384 MiB.
        assert_eq!(plan(&img).unwrap().ram_mib, 384);
        img.ram.push(RamRange {
            gpa: 0x100_0000,
            size: 0x1000,
        });
        assert!(matches!(
            plan(&img),
            Err(Error::RamBelowBase {
                gpa: 0x100_0000,
                ..
            })
        ));
    }

    #[test]
    fn rejects_bad_placements() {
        let e = plan(&image(vec![PageData {
            gpa: 0x800,
            data: vec![1],
        }]));
        assert!(matches!(e, Err(Error::ResetStubConflict { gpa: 0x800 })));
        let e = plan(&image(vec![PageData {
            gpa: 0x800_0000,
            data: vec![1],
        }]));
        assert!(matches!(
            e,
            Err(Error::NotGuestMemory {
                gpa: 0x800_0000,
                ..
            })
        ));
        let e = plan(&image(vec![PageData {
            gpa: 0x3FF_F000,
            data: vec![1; 0x2000],
        }]));
        assert!(matches!(
            e,
            Err(Error::NotGuestMemory {
                gpa: 0x3FF_F000,
                ..
            })
        ));
        let e = plan(&image(vec![
            PageData {
                gpa: 0x4800_0000,
                data: vec![1; 0x2000],
            },
            PageData {
                gpa: 0x4800_1000,
                data: vec![1],
            },
        ]));
        assert!(matches!(
            e,
            Err(Error::Overlap {
                first: 0x4800_0000,
                second: 0x4800_1000
            })
        ));
        let e = plan(&image(vec![PageData {
            gpa: u64::MAX,
            data: vec![1, 2],
        }]));
        assert!(matches!(e, Err(Error::RangeOverflow { .. })));
    }

    #[test]
    fn every_register_is_required() {
        let mut img = image(vec![]);
        img.registers.vbar_el1 = None;
        assert!(matches!(
            plan(&img),
            Err(Error::MissingRegister { name: "vbar_el1" })
        ));
        img.registers = Aarch64Registers::default();
        assert!(matches!(
            plan(&img),
            Err(Error::MissingRegister { name: "x0" })
        ));
    }
}

//! The image rules (docs/formats.md §3 rule 3), checked in one place:
//! [`ImageRules`] is fed the importer calls of a load, in order, and
//! refuses the first call that makes the image invalid with an
//! [`ImageRuleError`]. The recording importer, the summary importer and
//! the boot runners' importer all check a load through it.
//!
//! Refused: page arithmetic that overflows (the first page's GPA, the byte
//! size, or their sum; for page imports, startup memory and parameter
//! areas), data longer than its pages, two imports touching the same page,
//! a register imported twice, the VP-context page or a config page (the
//! imported-regions or expected-page-hashes page) named twice, and a
//! parameter for an area never created.

use paravisor_loader::PAGE_SIZE;
use paravisor_loader::ParameterAreaIndex;
use std::collections::BTreeMap;
use std::collections::BTreeSet;

/// A call that makes the image invalid (docs/formats.md §3 rule 3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageRuleError {
    /// Page arithmetic overflows: the first page's GPA, the byte size, or
    /// the end of the range does not fit in 64 bits.
    #[error("import \"{tag}\" at page {page_base:#x} with {page_count} pages overflows")]
    PageOverflow {
        /// Tag ("startup memory" for the startup-memory check).
        tag: &'static str,
        /// First page.
        page_base: u64,
        /// Pages.
        page_count: u64,
    },
    /// An import's data is longer than its pages.
    #[error(
        "import \"{tag}\" at page {page_base:#x}: {data_len} data bytes do not fit in {page_count} pages"
    )]
    DataTooLong {
        /// Tag of the import.
        tag: &'static str,
        /// First page.
        page_base: u64,
        /// Pages.
        page_count: u64,
        /// Bytes of data given.
        data_len: usize,
    },
    /// Two imports touch the same page.
    #[error("import {tag:?} of pages {page_base:#x}+{page_count:#x} overlaps import {other:?}")]
    Overlap {
        /// The new import's tag.
        tag: &'static str,
        /// Its first page.
        page_base: u64,
        /// Its page count.
        page_count: u64,
        /// The earlier import's tag.
        other: &'static str,
    },
    /// A register was imported twice.
    #[error("register {name} imported twice")]
    DuplicateRegister {
        /// Register name.
        name: &'static str,
    },
    /// The VP-context page was set twice.
    #[error("VP context page set twice (pages {first:#x} and {second:#x})")]
    VpContextPageTwice {
        /// First page given.
        first: u64,
        /// Second page given.
        second: u64,
    },
    /// A config page (imported-regions, expected-page-hashes) was named
    /// twice.
    #[error("{what} config page set twice (pages {first:#x} and {second:#x})")]
    ConfigPageTwice {
        /// Which page ("imported-regions", "expected-page-hashes").
        what: &'static str,
        /// First page given.
        first: u64,
        /// Second page given.
        second: u64,
    },
    /// A parameter named an area that was never created.
    #[error("parameter for unknown area {area}")]
    UnknownParameterArea {
        /// The area index.
        area: u32,
    },
}

/// GPA and byte size of `page_count` pages at `page_base`, if the GPA, the
/// size and their sum all fit in 64 bits.
pub fn page_range(page_base: u64, page_count: u64) -> Option<(u64, u64)> {
    let gpa = page_base.checked_mul(PAGE_SIZE)?;
    let size = page_count.checked_mul(PAGE_SIZE)?;
    gpa.checked_add(size)?;
    Some((gpa, size))
}

/// What a load has done so far, as far as the image rules care: the pages
/// imported, the registers named, the VP-context and config pages set and
/// the parameter areas created. Each method checks one importer call and,
/// when the call is valid, remembers it.
#[derive(Debug, Clone, Default)]
pub struct ImageRules {
    /// First page → (page count, tag) of every import with pages.
    imported: BTreeMap<u64, (u64, &'static str)>,
    registers: BTreeSet<&'static str>,
    vp_context_page: Option<u64>,
    imported_regions_config_page: Option<u64>,
    expected_page_hashes_config_page: Option<u64>,
    parameter_areas: u32,
}

impl ImageRules {
    /// No calls seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// `import_pages` with `data_len` bytes of data: the range must not
    /// overflow, the data must fit, and the pages must not touch an earlier
    /// import's (a 0-page import touches none).
    pub fn import_pages(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &'static str,
        data_len: usize,
    ) -> Result<(), ImageRuleError> {
        let (_, capacity) =
            page_range(page_base, page_count).ok_or(ImageRuleError::PageOverflow {
                tag,
                page_base,
                page_count,
            })?;
        if u64::try_from(data_len).map_or(true, |len| len > capacity) {
            return Err(ImageRuleError::DataTooLong {
                tag,
                page_base,
                page_count,
                data_len,
            });
        }
        if page_count == 0 {
            return Ok(());
        }
        let end = page_base.saturating_add(page_count);
        if let Some((&start, &(count, other))) = self.imported.range(..end).next_back()
            && start.saturating_add(count) > page_base
        {
            return Err(ImageRuleError::Overlap {
                tag,
                page_base,
                page_count,
                other,
            });
        }
        self.imported.insert(page_base, (page_count, tag));
        Ok(())
    }

    /// `verify_startup_memory_available`: the range must not overflow.
    pub fn startup_memory(&self, page_base: u64, page_count: u64) -> Result<(), ImageRuleError> {
        page_range(page_base, page_count).ok_or(ImageRuleError::PageOverflow {
            tag: "startup memory",
            page_base,
            page_count,
        })?;
        Ok(())
    }

    /// `create_parameter_area`: the range must not overflow. Returns the
    /// new area's index (areas count in creation order from 0).
    pub fn create_parameter_area(
        &mut self,
        page_base: u64,
        page_count: u32,
        tag: &'static str,
    ) -> Result<ParameterAreaIndex, ImageRuleError> {
        page_range(page_base, page_count.into()).ok_or(ImageRuleError::PageOverflow {
            tag,
            page_base,
            page_count: page_count.into(),
        })?;
        let index = self.parameter_areas;
        self.parameter_areas = index.saturating_add(1);
        Ok(ParameterAreaIndex(index))
    }

    /// `import_parameter`: the area must have been created.
    pub fn import_parameter(&self, area: ParameterAreaIndex) -> Result<(), ImageRuleError> {
        if area.0 >= self.parameter_areas {
            return Err(ImageRuleError::UnknownParameterArea { area: area.0 });
        }
        Ok(())
    }

    /// `import_vp_register` of the register called `name`: once each.
    pub fn import_vp_register(&mut self, name: &'static str) -> Result<(), ImageRuleError> {
        if !self.registers.insert(name) {
            return Err(ImageRuleError::DuplicateRegister { name });
        }
        Ok(())
    }

    /// `set_vp_context_page`: once.
    pub fn set_vp_context_page(&mut self, page_base: u64) -> Result<(), ImageRuleError> {
        if let Some(first) = self.vp_context_page {
            return Err(ImageRuleError::VpContextPageTwice {
                first,
                second: page_base,
            });
        }
        self.vp_context_page = Some(page_base);
        Ok(())
    }

    /// `set_imported_regions_config_page`: once.
    pub fn set_imported_regions_config_page(
        &mut self,
        page_base: u64,
    ) -> Result<(), ImageRuleError> {
        set_once(
            &mut self.imported_regions_config_page,
            "imported-regions",
            page_base,
        )
    }

    /// `set_expected_page_hashes_config_page`: once.
    pub fn set_expected_page_hashes_config_page(
        &mut self,
        page_base: u64,
    ) -> Result<(), ImageRuleError> {
        set_once(
            &mut self.expected_page_hashes_config_page,
            "expected-page-hashes",
            page_base,
        )
    }
}

/// Sets a config page that may be named once.
fn set_once(
    slot: &mut Option<u64>,
    what: &'static str,
    page_base: u64,
) -> Result<(), ImageRuleError> {
    if let Some(first) = *slot {
        return Err(ImageRuleError::ConfigPageTwice {
            what,
            first,
            second: page_base,
        });
    }
    *slot = Some(page_base);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_pages_are_refused_in_either_order() {
        let mut r = ImageRules::new();
        r.import_pages(0x10, 4, "first", 0).unwrap();
        assert_eq!(
            r.import_pages(0x13, 1, "second", 0),
            Err(ImageRuleError::Overlap {
                tag: "second",
                page_base: 0x13,
                page_count: 1,
                other: "first"
            })
        );
        assert!(r.import_pages(0xC, 5, "below", 0).is_err());
        r.import_pages(0x14, 1, "after", 0).unwrap();
        r.import_pages(0xC, 4, "before", 0).unwrap();
        // A 0-page import touches nothing.
        r.import_pages(0x11, 0, "empty", 0).unwrap();
    }

    #[test]
    fn data_must_fit_and_ranges_must_not_overflow() {
        let mut r = ImageRules::new();
        assert!(matches!(
            r.import_pages(1, 1, "big", 4097),
            Err(ImageRuleError::DataTooLong { data_len: 4097, .. })
        ));
        // Data on a 0-page import does not fit either.
        assert!(r.import_pages(1, 0, "none", 1).is_err());
        assert!(matches!(
            r.import_pages(u64::MAX / PAGE_SIZE, 1, "top", 0),
            Err(ImageRuleError::PageOverflow { .. })
        ));
        assert!(r.startup_memory(0, u64::MAX).is_err());
        assert!(r.create_parameter_area(u64::MAX, 1, "p").is_err());
    }

    #[test]
    fn names_and_pages_are_set_once() {
        let mut r = ImageRules::new();
        r.import_vp_register("rip").unwrap();
        assert_eq!(
            r.import_vp_register("rip"),
            Err(ImageRuleError::DuplicateRegister { name: "rip" })
        );
        r.set_vp_context_page(5).unwrap();
        assert_eq!(
            r.set_vp_context_page(6),
            Err(ImageRuleError::VpContextPageTwice {
                first: 5,
                second: 6
            })
        );
        r.set_imported_regions_config_page(1).unwrap();
        r.set_expected_page_hashes_config_page(1).unwrap();
        assert_eq!(
            r.set_imported_regions_config_page(2),
            Err(ImageRuleError::ConfigPageTwice {
                what: "imported-regions",
                first: 1,
                second: 2
            })
        );
    }

    #[test]
    fn parameters_need_their_area() {
        let mut r = ImageRules::new();
        assert!(r.import_parameter(ParameterAreaIndex(0)).is_err());
        assert_eq!(
            r.create_parameter_area(0x10, 1, "a"),
            Ok(ParameterAreaIndex(0))
        );
        assert_eq!(
            r.create_parameter_area(0x20, 1, "b"),
            Ok(ParameterAreaIndex(1))
        );
        r.import_parameter(ParameterAreaIndex(1)).unwrap();
        assert_eq!(
            r.import_parameter(ParameterAreaIndex(2)),
            Err(ImageRuleError::UnknownParameterArea { area: 2 })
        );
    }
}

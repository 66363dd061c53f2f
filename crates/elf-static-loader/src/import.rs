//! The page-import interface shared by every loader in the workspace.
//!
//! A loader never writes guest memory itself: it hands each range of guest
//! pages to an [`ImportPages`] implementation together with the bytes that
//! start the range. The facade crate (`paravisor-loader`) extends this trait
//! with registers, parameter areas and relocation records.

/// Size of a guest page in bytes (`HV_PAGE_SIZE`).
pub const PAGE_SIZE: u64 = 4096;
/// `log2(PAGE_SIZE)`: a byte address shifted right by it is a page number.
pub(crate) const PAGE_SHIFT: u32 = PAGE_SIZE.trailing_zeros();

/// How the importer must treat imported pages (`BootPageAcceptance` in the
/// original).
///
/// The paravisor loaders use [`Exclusive`](Self::Exclusive),
/// [`Shared`](Self::Shared) (x86-64 kernel and initrd on SNP/TDX),
/// [`SecretsPage`](Self::SecretsPage), [`CpuidPage`](Self::CpuidPage) and
/// [`CpuidExtendedStatePage`](Self::CpuidExtendedStatePage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PageAcceptance {
    /// Accepted by the guest and measured.
    Exclusive,
    /// Accepted by the guest but not measured.
    ExclusiveUnmeasured,
    /// A VP context page (SNP VMSA).
    VpContext,
    /// An error page.
    ErrorPage,
    /// The SNP secrets page.
    SecretsPage,
    /// The SNP CPUID page.
    CpuidPage,
    /// The SNP CPUID extended-state page.
    CpuidExtendedStatePage,
    /// Host visible and not accepted.
    Shared,
}

/// Receives guest pages from a loader.
///
/// Contract (the same as the original's importer):
/// * `page_count` whole 4 KiB pages starting at page number `page_base` are
///   imported; `data` fills them from the start, and bytes not covered by
///   `data` are zero. Data longer than `page_count * 4096` bytes is an error
///   the importer must report (also when `page_count` is 0).
/// * Each call is one import of the original, with one exception: the ELF
///   loader imports a segment through
///   [`import_pages_at_offset`](Self::import_pages_at_offset) (one call of
///   the original), whose default implementation may split it into two
///   calls over adjacent page ranges. An importer for which the call
///   granularity matters (an IGVM writer: one imported-regions descriptor
///   per call) overrides that method; every other importer must not depend
///   on how a range is split.
pub trait ImportPages {
    /// The importer's error type. It must work without an allocator.
    type Error: core::fmt::Debug + core::fmt::Display;

    /// Imports `page_count` pages at page number `page_base`.
    fn import_pages(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &'static str,
        acceptance: PageAcceptance,
        data: &[u8],
    ) -> Result<(), Self::Error>;

    /// Imports `page_count` pages at page number `page_base` whose bytes are
    /// `leading_zeros` zero bytes, then `data`, then zeros.
    ///
    /// For `leading_zeros` below 4096 this is **the original's single call**
    /// `import_pages(page_base, page_count, tag, acceptance, zeros ++ data)`
    /// with `zeros` = `leading_zeros` zero bytes: the ELF loader's call for a
    /// `PT_LOAD` whose address is `leading_zeros` bytes into its first page
    /// (`docs/algorithms.md` §2 step 10.3), made without copying the file bytes.
    ///
    /// The default implementation has no allocator, so it gives the same
    /// bytes to [`import_pages`](Self::import_pages) in at most two calls:
    /// * `leading_zeros` = 0: one call with `data`;
    /// * `data` empty: one call with `leading_zeros` zero bytes as data
    ///   (exactly the original's call);
    /// * otherwise: the first page through a 4 KiB buffer (`leading_zeros`
    ///   zeros, then the first `4096 - leading_zeros` bytes of `data`, or
    ///   all of it if shorter), then, if more pages or bytes remain, the
    ///   rest of `data` (a slice of it, not copied) for pages
    ///   `page_base + 1 ..`. If the bytes do not fit in the pages, one of
    ///   the calls carries more data than its pages (possibly a call of 0
    ///   pages), which the importer rejects as for the single call.
    ///
    /// Every page therefore receives the same slice of data as with the
    /// single call, length included (`min(4096, remaining)` bytes, empty
    /// past the end), so even an importer that tells a page of zero data
    /// from a page without data sees the same pages.
    ///
    /// `leading_zeros` of 4096 or more is outside the contract (no loader
    /// passes it); the default implementation then imports the whole pages
    /// of zeros first, in one call without data, and the same memory
    /// contents result.
    fn import_pages_at_offset(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &'static str,
        acceptance: PageAcceptance,
        leading_zeros: usize,
        data: &[u8],
    ) -> Result<(), Self::Error> {
        const PAGE: usize = PAGE_SIZE as usize;
        const ZEROS: [u8; PAGE] = [0; PAGE];

        let (mut page_base, mut page_count, mut leading_zeros) =
            (page_base, page_count, leading_zeros);
        if leading_zeros >= PAGE {
            // Out of contract: whole zero pages first (PAGE is not 0).
            let whole = u64::try_from(leading_zeros / PAGE).unwrap_or(u64::MAX);
            let skipped = whole.min(page_count);
            if skipped > 0 {
                self.import_pages(page_base, skipped, tag, acceptance, &[])?;
            }
            page_base = page_base.saturating_add(skipped);
            page_count = page_count.saturating_sub(skipped);
            leading_zeros %= PAGE;
            if skipped < whole {
                // No pages left for the remaining zeros and data.
                let zeros = if data.is_empty() { &ZEROS[..] } else { data };
                return self.import_pages(page_base, 0, tag, acceptance, zeros);
            }
        }
        if leading_zeros == 0 {
            return self.import_pages(page_base, page_count, tag, acceptance, data);
        }
        if data.is_empty() {
            let zeros = ZEROS.get(..leading_zeros).unwrap_or(&ZEROS);
            return self.import_pages(page_base, page_count, tag, acceptance, zeros);
        }
        // 0 < leading_zeros < PAGE, so the subtraction cannot underflow.
        let head_len = data.len().min(PAGE.saturating_sub(leading_zeros));
        let (head, tail) = data.split_at_checked(head_len).unwrap_or((data, &[]));
        let used = leading_zeros.saturating_add(head_len);
        let mut first_page = ZEROS;
        if let Some(dest) = first_page.get_mut(leading_zeros..used) {
            dest.copy_from_slice(head);
        }
        self.import_pages(
            page_base,
            page_count.min(1),
            tag,
            acceptance,
            first_page.get(..used).unwrap_or(&first_page),
        )?;
        if page_count > 1 || !tail.is_empty() {
            self.import_pages(
                page_base.saturating_add(1),
                page_count.saturating_sub(1),
                tag,
                acceptance,
                tail,
            )?;
        }
        Ok(())
    }
}

impl<T: ImportPages + ?Sized> ImportPages for &mut T {
    type Error = T::Error;

    fn import_pages(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &'static str,
        acceptance: PageAcceptance,
        data: &[u8],
    ) -> Result<(), Self::Error> {
        (**self).import_pages(page_base, page_count, tag, acceptance, data)
    }

    fn import_pages_at_offset(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &'static str,
        acceptance: PageAcceptance,
        leading_zeros: usize,
        data: &[u8],
    ) -> Result<(), Self::Error> {
        (**self).import_pages_at_offset(page_base, page_count, tag, acceptance, leading_zeros, data)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::collections::BTreeMap;
    use std::vec::Vec;

    use proptest::prelude::*;

    use super::*;
    use crate::test_support::*;

    /// What an IGVM-style importer keeps of each page (`docs/igvm.md` §4.1):
    /// page number -> the page's slice of its call's data (possibly short or
    /// empty), or `None` when some call's data does not fit its pages.
    fn page_chunks(calls: &[Call]) -> Option<BTreeMap<u64, Vec<u8>>> {
        let mut pages = BTreeMap::new();
        for call in calls {
            let data = call.full_data();
            if data.len() as u128 > u128::from(call.page_count) * 4096 {
                return None;
            }
            let mut chunks = data.chunks(4096);
            for page in call.page_base..call.page_base + call.page_count {
                let chunk = chunks.next().unwrap_or_default().to_vec();
                assert!(pages.insert(page, chunk).is_none(), "page {page:#x} twice");
            }
        }
        Some(pages)
    }

    #[test]
    fn default_split_of_the_specs_example() {
        // docs/algorithms.md §2: page 0x8200, 0x201 pages, 0x800 leading zeros.
        let data = pattern(3, 0x1800);
        let mut split = DefaultSplit::default();
        split
            .import_pages_at_offset(0x8200, 0x201, "k", PageAcceptance::Exclusive, 0x800, &data)
            .unwrap();
        let calls = &split.0.calls;
        assert_eq!(calls.len(), 2);
        assert_eq!((calls[0].page_base, calls[0].page_count), (0x8200, 1));
        assert_eq!(calls[0].data[..0x800], [0u8; 0x800]);
        assert_eq!(calls[0].data[0x800..], data[..0x800]);
        assert_eq!((calls[1].page_base, calls[1].page_count), (0x8201, 0x200));
        assert_eq!(calls[1].data, data[0x800..]);
        // The rest is a slice of the caller's data, not a copy.
        assert_eq!(calls[1].data_ptr, data[0x800..].as_ptr() as usize);
    }

    #[test]
    fn forwarding_through_a_reference_keeps_the_override() {
        let mut recorder = Recorder::default();
        let mut by_ref = &mut recorder;
        ImportPages::import_pages_at_offset(
            &mut by_ref,
            5,
            2,
            "k",
            PageAcceptance::Shared,
            0x10,
            &[1, 2, 3],
        )
        .unwrap();
        assert_eq!(recorder.calls.len(), 1);
        assert_eq!(recorder.calls[0].leading_zeros, 0x10);
    }

    #[test]
    fn default_split_rejects_what_the_single_call_rejects() {
        // 0x800 zeros + 0x900 bytes do not fit one page; 0 pages hold nothing.
        for (pages, zeros, len) in [(1u64, 0x800usize, 0x900usize), (0, 1, 0), (0, 1, 1)] {
            let data = pattern(1, len);
            let mut split = DefaultSplit::default();
            split
                .import_pages_at_offset(7, pages, "k", PageAcceptance::Exclusive, zeros, &data)
                .unwrap();
            assert!(
                page_chunks(&split.0.calls).is_none(),
                "{pages} {zeros} {len}"
            );
        }
    }

    proptest! {
        #[test]
        fn default_split_equals_the_single_call_byte_for_byte(
            page_base in 0u64..0x10_0000,
            page_count in 0u64..5,
            leading_zeros in prop_oneof![Just(0usize), 1usize..4096, Just(4095usize)],
            len in prop_oneof![Just(0usize), 0usize..5 * 4096],
        ) {
            let data = pattern(7, len);
            let mut single = Recorder::default();
            single
                .import_pages_at_offset(page_base, page_count, "k", PageAcceptance::Shared, leading_zeros, &data)
                .unwrap();
            let mut split = DefaultSplit::default();
            split
                .import_pages_at_offset(page_base, page_count, "k", PageAcceptance::Shared, leading_zeros, &data)
                .unwrap();
            let calls = &split.0.calls;
            prop_assert!(!calls.is_empty() && calls.len() <= 2);
            prop_assert!(calls.iter().all(|c| c.tag == "k" && c.acceptance == PageAcceptance::Shared));
            // Every page gets the same slice of data (same length, same bytes;
            // an empty page stays empty), and the split is rejected exactly
            // when the single call is.
            prop_assert_eq!(page_chunks(calls), page_chunks(&single.calls));
            // Without leading zeros, or without data, it is the single call.
            if leading_zeros == 0 || data.is_empty() {
                prop_assert_eq!(calls.len(), 1);
                prop_assert_eq!(calls[0].full_data(), single.calls[0].full_data());
            }
            // Only the first page is copied; the rest is a slice of `data`.
            if let Some(rest) = calls.get(1) {
                prop_assert!(rest.data.is_empty() || rest.data_ptr >= data.as_ptr() as usize);
            }
        }

        #[test]
        fn out_of_contract_leading_zeros_give_the_same_memory(
            page_count in 0u64..6,
            leading_zeros in 4096usize..5 * 4096,
            len in 0usize..3 * 4096,
        ) {
            let data = pattern(9, len);
            let mut single = Recorder::default();
            single
                .import_pages_at_offset(0x40, page_count, "k", PageAcceptance::Exclusive, leading_zeros, &data)
                .unwrap();
            let mut split = DefaultSplit::default();
            split
                .import_pages_at_offset(0x40, page_count, "k", PageAcceptance::Exclusive, leading_zeros, &data)
                .unwrap();
            prop_assert_eq!(memory_of(&split.0.calls).ok(), memory_of(&single.calls).ok());
        }
    }
}

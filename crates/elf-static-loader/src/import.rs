//! The page-import interface shared by every loader in the workspace.
//!
//! A loader never writes guest memory itself: it hands each range of guest
//! pages to an [`ImportPages`] implementation together with the bytes that
//! start the range. The facade crate (`paravisor-loader`) extends this trait
//! with registers, parameter areas and relocation records.

/// Size of a guest page in bytes (`HV_PAGE_SIZE`).
pub const PAGE_SIZE: u64 = 4096;

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
///   the importer must report.
/// * The loaders in this workspace may split one logical import into several
///   calls over adjacent page ranges with the same tag and acceptance (for
///   example to pass a page-aligned slice of the input file without copying
///   it); importers must not depend on how a range is split.
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
}

//! The shim-side readers of `paravisor-layout` over hostile bytes: the
//! command-line page, the shim parameters, the measured VTL0 and VTL2
//! configs, the persisted-state header and the imported-regions page; and
//! the command-line page built from arbitrary text, read back.
//!
//! Invariants: no panic; a command line the reader accepts is at most 4092
//! bytes and exactly `static_command_line_len` long; magic-checked readers
//! accept only their magic; the imported-regions iterator yields at most
//! 168 non-empty descriptors; a built command-line page reads back the same
//! text, and text over 4092 bytes is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paravisor_layout::CommandLinePolicy;
use paravisor_layout::IMPORTED_REGION_DESCRIPTORS_PER_PAGE;
use paravisor_layout::ImportedRegionsPage;
use paravisor_layout::PageRegionDescriptor;
use paravisor_layout::ParavisorCommandLine;
use paravisor_layout::ParavisorMeasuredVtl0Config;
use paravisor_layout::ParavisorMeasuredVtl2Config;
use paravisor_layout::PersistedStateHeader;
use paravisor_layout::ShimParamsRaw;
use zerocopy::IntoBytes;

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = ParavisorCommandLine::read_from(data)
        && let Ok(text) = page.command_line()
    {
        assert_eq!(text.len(), usize::from(page.static_command_line_len));
        assert!(text.len() <= 4092);
    }
    if let Ok(params) = ShimParamsRaw::read_from(data) {
        assert_eq!(params.as_bytes(), &data[..208]);
    }
    if let Ok(config) = ParavisorMeasuredVtl0Config::read_from(data) {
        assert_eq!(config.magic, ParavisorMeasuredVtl0Config::MAGIC);
        let _ = (config.uefi(), config.linux());
    }
    if let Ok(config) = ParavisorMeasuredVtl2Config::read_from(data) {
        assert_eq!(config.magic, ParavisorMeasuredVtl2Config::MAGIC);
    }
    if let Ok(header) = PersistedStateHeader::read_from(data) {
        assert_eq!(header.magic, PersistedStateHeader::MAGIC);
    }
    if let Ok(page) = ImportedRegionsPage::parse(data) {
        let mut n = 0;
        for region in page.regions() {
            assert_ne!(region.page_count, 0);
            n += 1;
        }
        assert!(n <= IMPORTED_REGION_DESCRIPTORS_PER_PAGE, "{n} descriptors");
    }
    for chunk in data.chunks_exact(16).take(8) {
        let base = u64::from_le_bytes(chunk[..8].try_into().unwrap_or_default());
        let count = u64::from_le_bytes(chunk[8..].try_into().unwrap_or_default());
        let descriptor = PageRegionDescriptor::new(base, count);
        match descriptor.address_range() {
            Some(range) => {
                assert_ne!(count, 0);
                assert_eq!(range.start, base * 4096);
                assert_eq!(range.end - range.start, count * 4096);
            }
            None => assert!(
                count == 0
                    || base
                        .checked_add(count)
                        .and_then(|e| e.checked_mul(4096))
                        .is_none()
            ),
        }
        assert_eq!(descriptor.valid().is_some(), count != 0);
    }
    if let Ok(text) = core::str::from_utf8(data) {
        let policy = CommandLinePolicy(u16::from(data.first().copied().unwrap_or(0) & 1));
        match ParavisorCommandLine::new(policy, text) {
            Ok(page) => {
                assert!(text.len() <= 4092);
                let back = ParavisorCommandLine::read_from(page.as_bytes())
                    .unwrap_or_else(|e| panic!("built page unreadable: {e}"));
                assert_eq!(back.command_line(), Ok(text));
                assert_eq!(back.policy, policy);
            }
            Err(_) => assert!(text.len() > 4092),
        }
    }
});

//! Fault injection for tests: [`FailingImporter`] records a load like the
//! recording importer and makes one chosen call fail, to check that a
//! loader stops at the first importer error.

use paravisor_host::ImageRuleError;
use paravisor_host::recording::Call;
use paravisor_host::recording::RecordingImporter;
use paravisor_host::register::SummaryRegister;
use paravisor_loader::ImportPages;
use paravisor_loader::IsolationConfig;
use paravisor_loader::PageAcceptance;
use paravisor_loader::PageTableRelocation;
use paravisor_loader::ParameterAreaIndex;
use paravisor_loader::ParameterType;
use paravisor_loader::ParavisorImporter;
use paravisor_loader::RelocationRegion;
use paravisor_loader::StartupMemoryType;

/// Why a [`FailingImporter`] call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailingError {
    /// The recording importer refused the call (an image rule).
    Rule(ImageRuleError),
    /// The call the importer was told to fail (after recording it).
    Injected {
        /// Index of the call (0-based).
        call: usize,
    },
}

impl std::fmt::Display for FailingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Rule(e) => e.fmt(f),
            Self::Injected { call } => write!(f, "injected failure at call {call}"),
        }
    }
}

impl std::error::Error for FailingError {}

/// A [`RecordingImporter`] whose call number `fail_at` (0-based, counting
/// recorded calls) is recorded and then fails with
/// [`FailingError::Injected`].
#[derive(Debug, Clone)]
pub struct FailingImporter<R> {
    recording: RecordingImporter<R>,
    fail_at: usize,
}

impl<R> FailingImporter<R> {
    /// An importer reporting `isolation` that fails call `fail_at`.
    pub fn new(isolation: IsolationConfig, fail_at: usize) -> Self {
        Self {
            recording: RecordingImporter::new(isolation),
            fail_at,
        }
    }

    /// Every call recorded, in order (the failed one included).
    pub fn calls(&self) -> &[Call<R>] {
        self.recording.calls()
    }

    /// Passes on the recording's result; fails the call that was recorded
    /// as number `fail_at`.
    fn check<T>(
        &self,
        before: usize,
        result: Result<T, ImageRuleError>,
    ) -> Result<T, FailingError> {
        let value = result.map_err(FailingError::Rule)?;
        if before == self.fail_at && self.recording.calls().len() > before {
            return Err(FailingError::Injected { call: before });
        }
        Ok(value)
    }
}

impl<R> ImportPages for FailingImporter<R> {
    type Error = FailingError;

    fn import_pages(
        &mut self,
        page_base: u64,
        page_count: u64,
        tag: &'static str,
        acceptance: PageAcceptance,
        data: &[u8],
    ) -> Result<(), FailingError> {
        let before = self.recording.calls().len();
        let result = self
            .recording
            .import_pages(page_base, page_count, tag, acceptance, data);
        self.check(before, result)
    }
}

impl<R: SummaryRegister> ParavisorImporter<R> for FailingImporter<R> {
    fn isolation_config(&self) -> IsolationConfig {
        ParavisorImporter::<R>::isolation_config(&self.recording)
    }

    fn verify_startup_memory_available(
        &mut self,
        page_base: u64,
        page_count: u64,
        memory_type: StartupMemoryType,
    ) -> Result<(), FailingError> {
        let before = self.recording.calls().len();
        let result =
            self.recording
                .verify_startup_memory_available(page_base, page_count, memory_type);
        self.check(before, result)
    }

    fn create_parameter_area(
        &mut self,
        page_base: u64,
        page_count: u32,
        tag: &'static str,
    ) -> Result<ParameterAreaIndex, FailingError> {
        let before = self.recording.calls().len();
        let result = self
            .recording
            .create_parameter_area(page_base, page_count, tag);
        self.check(before, result)
    }

    fn import_parameter(
        &mut self,
        area: ParameterAreaIndex,
        byte_offset: u32,
        parameter: ParameterType,
    ) -> Result<(), FailingError> {
        let before = self.recording.calls().len();
        let result = self
            .recording
            .import_parameter(area, byte_offset, parameter);
        self.check(before, result)
    }

    fn import_vp_register(&mut self, register: R) -> Result<(), FailingError> {
        let before = self.recording.calls().len();
        let result = self.recording.import_vp_register(register);
        self.check(before, result)
    }

    fn set_vp_context_page(&mut self, page_base: u64) -> Result<(), FailingError> {
        let before = self.recording.calls().len();
        let result = ParavisorImporter::<R>::set_vp_context_page(&mut self.recording, page_base);
        self.check(before, result)
    }

    fn relocation_region(&mut self, region: RelocationRegion) -> Result<(), FailingError> {
        let before = self.recording.calls().len();
        let result = ParavisorImporter::<R>::relocation_region(&mut self.recording, region);
        self.check(before, result)
    }

    fn page_table_relocation(
        &mut self,
        relocation: PageTableRelocation,
    ) -> Result<(), FailingError> {
        let before = self.recording.calls().len();
        let result = ParavisorImporter::<R>::page_table_relocation(&mut self.recording, relocation);
        self.check(before, result)
    }

    fn set_imported_regions_config_page(&mut self, page_base: u64) {
        ParavisorImporter::<R>::set_imported_regions_config_page(&mut self.recording, page_base);
    }

    fn set_expected_page_hashes_config_page(&mut self, page_base: u64) {
        ParavisorImporter::<R>::set_expected_page_hashes_config_page(
            &mut self.recording,
            page_base,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paravisor_loader::IsolationType;
    use vp_regs::x86_64::X86Register;

    #[test]
    fn the_chosen_call_is_recorded_and_fails() {
        let mut i = FailingImporter::<X86Register>::new(
            IsolationConfig {
                isolation_type: IsolationType::None,
                paravisor_present: true,
                shared_gpa_boundary_bits: None,
            },
            1,
        );
        i.import_pages(0, 1, "a", PageAcceptance::Exclusive, &[])
            .unwrap();
        assert_eq!(
            i.import_pages(1, 1, "b", PageAcceptance::Exclusive, &[]),
            Err(FailingError::Injected { call: 1 })
        );
        assert_eq!(i.calls().len(), 2);
        // A refused call is not recorded and is the rule's error.
        assert!(matches!(
            i.import_pages(1, 1, "c", PageAcceptance::Exclusive, &[]),
            Err(FailingError::Rule(ImageRuleError::Overlap { .. }))
        ));
    }
}

//! The result of a diff: differences by group, and the launch measurements
//! of every pair of platforms.

use super::measurement::MeasurementDiff;

/// The groups of a diff, in the order they are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    /// Architecture, platform headers, guest policy, required memory.
    Platform,
    /// Relocation headers.
    Relocation,
    /// Page data.
    Pages,
    /// Registers and the SNP VMSA.
    VpContext,
    /// Parameter areas, insertions and parameters.
    Parameters,
}

impl Group {
    /// The group's name (`platform`, `relocation`, `pages`, `vp_context`,
    /// `parameters`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Platform => "platform",
            Self::Relocation => "relocation",
            Self::Pages => "pages",
            Self::VpContext => "vp_context",
            Self::Parameters => "parameters",
        }
    }
}

/// The page range of a page difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRange {
    /// First GPA.
    pub start: u64,
    /// GPA after the last page.
    pub end: u64,
    /// The region tag, when known (images built from a manifest or config).
    pub tag: Option<String>,
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// Its group.
    pub group: Group,
    /// The compatibility masks of the platforms compared (A's, B's); 0 for
    /// the file as a whole.
    pub masks: (u32, u32),
    /// What differs (`platform type`, `register rip`, a page range, …).
    pub subject: String,
    /// How (`differs`, `only in A`, `different bytes (first at …)`, …).
    pub change: String,
    /// A's value, when there is one to show.
    pub a: Option<String>,
    /// B's value.
    pub b: Option<String>,
    /// The pages (group [`Group::Pages`]).
    pub pages: Option<PageRange>,
}

impl Difference {
    /// A difference of two values.
    pub(super) fn values(
        group: Group,
        masks: (u32, u32),
        subject: &str,
        a: String,
        b: String,
    ) -> Self {
        Self {
            group,
            masks,
            subject: subject.to_owned(),
            change: "differs".to_owned(),
            a: Some(a),
            b: Some(b),
            pages: None,
        }
    }
}

/// Everything that differs between two images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff {
    /// The differences, by group.
    pub differences: Vec<Difference>,
    /// The launch measurements of every pair of platforms.
    pub measurements: Vec<MeasurementDiff>,
}

impl Diff {
    /// True when nothing differs.
    pub fn is_identical(&self) -> bool {
        self.differences.is_empty() && !self.measurements.iter().any(MeasurementDiff::differs)
    }
}

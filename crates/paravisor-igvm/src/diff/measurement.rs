//! Whether and why the launch measurements of two platforms differ: both
//! measurements are recomputed step by step (`crate::measure`'s traced
//! digests) and the first step at which the running digests part names
//! the directive in A and in B.

use super::input::Image;
use super::line::strip_mask;
use crate::inspect::directive_line;
use crate::measure::MeasureStep;
use crate::measure::MeasuredPlatform;
use crate::measure::snp_launch_digest_traced;
use crate::measure::tdx_mrtd_traced;
use crate::measure::upper_hex;
use crate::measure::vbs_boot_digest_traced;
use igvm::IgvmDirectiveHeader;

/// A measured step of one side, for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepInfo {
    /// Index of the directive in the file.
    pub directive: usize,
    /// GPA measured (0 for a VBS register).
    pub gpa: u64,
    /// What was measured (`page`, `unmeasured page`, `VMSA`, `register`, …).
    pub what: &'static str,
    /// The directive, as `paravisor inspect` prints it.
    pub directive_text: String,
}

/// The first step at which two measurements part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// Number of steps both measurements share before it.
    pub step: usize,
    /// A's step there (`None`: A's measurement ends there).
    pub a: Option<StepInfo>,
    /// B's step there (`None`: B's measurement ends there).
    pub b: Option<StepInfo>,
}

/// One side's measurement: the kind and the upper-case hex digest, or why
/// it cannot be computed.
pub type MeasurementSide = (MeasuredPlatform, Result<String, String>);

/// The launch measurements of one pair of platforms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasurementDiff {
    /// The platforms' compatibility masks in A and B.
    pub masks: (u32, u32),
    /// A's measurement (`None`: the platform is not measured).
    pub a: Option<MeasurementSide>,
    /// B's measurement.
    pub b: Option<MeasurementSide>,
    /// Where the digests part (same kind, both computed, different).
    pub divergence: Option<Divergence>,
}

impl MeasurementDiff {
    /// Whether the measurements differ (kind, digest, or one is missing).
    pub fn differs(&self) -> bool {
        self.a != self.b
    }
}

/// The traced measurement of `kind` for platform `mask` of `image`.
fn traced(
    image: &Image,
    kind: MeasuredPlatform,
    mask: u32,
) -> (Result<String, String>, Vec<MeasureStep>) {
    let mut steps = Vec::new();
    let mut sink = |s: MeasureStep| steps.push(s);
    let directives = image.file.directives();
    let digest = match kind {
        MeasuredPlatform::Snp => snp_launch_digest_traced(
            image.file.initializations(),
            directives,
            mask,
            Some(&mut sink),
        )
        .map(|d| d.to_vec()),
        MeasuredPlatform::Tdx => {
            tdx_mrtd_traced(directives, mask, Some(&mut sink)).map(|d| d.to_vec())
        }
        MeasuredPlatform::Vbs => {
            vbs_boot_digest_traced(directives, mask, Some(&mut sink)).map(|d| d.to_vec())
        }
    };
    (
        digest.map(|d| upper_hex(&d)).map_err(|e| e.to_string()),
        steps,
    )
}

/// A step of `image`, for a person.
fn info(image: &Image, step: Option<&MeasureStep>) -> Option<StepInfo> {
    let s = step?;
    let directive_text = match image.file.directives().get(s.directive) {
        Some(IgvmDirectiveHeader::PageData { gpa, .. }) => format!("PageData gpa {gpa:#x}"),
        Some(d) => strip_mask(&directive_line(d)),
        None => String::new(),
    };
    Some(StepInfo {
        directive: s.directive,
        gpa: s.gpa,
        what: s.what,
        directive_text,
    })
}

/// Compares the measurements of A's platform `masks.0` (kind `ka`) and B's
/// `masks.1` (kind `kb`).
pub(crate) fn compare(
    a: &Image,
    b: &Image,
    masks: (u32, u32),
    ka: Option<MeasuredPlatform>,
    kb: Option<MeasuredPlatform>,
) -> MeasurementDiff {
    let run = |image: &Image, kind: Option<MeasuredPlatform>, mask: u32| {
        kind.map(|k| {
            let (digest, steps) = traced(image, k, mask);
            ((k, digest), steps)
        })
    };
    // The two sides in parallel: each is one pass over its page data.
    let (ra, rb) = std::thread::scope(|scope| {
        let other = scope.spawn(|| run(b, kb, masks.1));
        let ra = run(a, ka, masks.0);
        let rb = other.join().unwrap_or_else(|_| {
            kb.map(|k| ((k, Err("measurement failed".to_owned())), Vec::new()))
        });
        (ra, rb)
    });
    let (a_side, a_steps) = ra.map_or((None, Vec::new()), |(s, t)| (Some(s), t));
    let (b_side, b_steps) = rb.map_or((None, Vec::new()), |(s, t)| (Some(s), t));
    let divergence = match (&a_side, &b_side) {
        (Some((x, Ok(dx))), Some((y, Ok(dy)))) if x == y && dx != dy => {
            let step = a_steps
                .iter()
                .zip(&b_steps)
                .position(|(s, t)| s.state != t.state)
                .unwrap_or(a_steps.len().min(b_steps.len()));
            Some(Divergence {
                step,
                a: info(a, a_steps.get(step)),
                b: info(b, b_steps.get(step)),
            })
        }
        _ => None,
    };
    MeasurementDiff {
        masks,
        a: a_side,
        b: b_side,
        divergence,
    }
}

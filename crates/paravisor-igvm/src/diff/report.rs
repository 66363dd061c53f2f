//! A [`Diff`] for a person (`Display`) and as data ([`Diff::to_json`]).

use super::difference::Diff;
use super::difference::Difference;
use super::measurement::MeasurementDiff;
use super::measurement::MeasurementSide;
use super::measurement::StepInfo;
use serde_json::Value;
use serde_json::json;
use std::fmt;

/// Most differences of one group printed as text (JSON has all).
const MAX_LINES_PER_GROUP: usize = 40;

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.group.name(),
            self.subject,
            self.change
        )?;
        match (&self.a, &self.b) {
            (Some(a), Some(b)) => write!(f, ": A {a}, B {b}"),
            (Some(a), None) => write!(f, ": {a}"),
            (None, Some(b)) => write!(f, ": {b}"),
            (None, None) => Ok(()),
        }
    }
}

/// `kind digest`, or why there is none.
fn side_text(side: &Option<MeasurementSide>) -> String {
    match side {
        None => "not measured".to_owned(),
        Some((kind, Ok(hex))) => format!("{} {hex}", kind.digest_name()),
        Some((kind, Err(e))) => format!("{}: cannot compute: {e}", kind.digest_name()),
    }
}

/// A step for a person.
fn step_text(step: &Option<StepInfo>) -> String {
    match step {
        None => "its measurement ends there".to_owned(),
        Some(s) => format!(
            "directive #{} {} ({} at {:#x})",
            s.directive, s.directive_text, s.what, s.gpa
        ),
    }
}

impl fmt::Display for MeasurementDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self
            .a
            .as_ref()
            .or(self.b.as_ref())
            .map_or("launch measurement", |(k, _)| k.digest_name());
        if !self.differs() {
            return write!(f, "{name}: same ({})", side_text(&self.a));
        }
        write!(
            f,
            "{name}: DIFFERS\n    A {}\n    B {}",
            side_text(&self.a),
            side_text(&self.b)
        )?;
        match &self.divergence {
            Some(d) => write!(
                f,
                "\n    first divergence after {} equal steps: A {}; B {}",
                d.step,
                step_text(&d.a),
                step_text(&d.b)
            ),
            None => Ok(()),
        }
    }
}

impl fmt::Display for Diff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_identical() {
            writeln!(f, "identical: no differences, same launch measurements")?;
        } else {
            let n = self.differences.len();
            writeln!(f, "{n} difference{}", if n == 1 { "" } else { "s" })?;
        }
        let mut shown: usize = 0;
        for (i, d) in self.differences.iter().enumerate() {
            let new_group =
                i == 0 || self.differences.get(i.wrapping_sub(1)).map(|p| p.group) != Some(d.group);
            if new_group {
                shown = 0;
            }
            shown = shown.saturating_add(1);
            if shown <= MAX_LINES_PER_GROUP {
                writeln!(f, "  {d}")?;
            } else if shown == MAX_LINES_PER_GROUP.saturating_add(1) {
                let more = self
                    .differences
                    .iter()
                    .filter(|x| x.group == d.group)
                    .count()
                    .saturating_sub(MAX_LINES_PER_GROUP);
                writeln!(
                    f,
                    "  {}: … and {more} more (--json lists every one)",
                    d.group.name()
                )?;
            }
        }
        if !self.measurements.is_empty() {
            writeln!(f, "measurements:")?;
            for m in &self.measurements {
                writeln!(f, "  {m}")?;
            }
        }
        Ok(())
    }
}

/// A step as JSON.
fn step_json(step: &Option<StepInfo>) -> Value {
    step.as_ref().map_or(Value::Null, |s| {
        json!({
            "directive": s.directive,
            "gpa": format!("{:#x}", s.gpa),
            "what": s.what,
            "directive_text": s.directive_text,
        })
    })
}

/// One side's measurement as JSON.
fn side_json(side: &Option<MeasurementSide>) -> Value {
    match side {
        None => Value::Null,
        Some((kind, Ok(hex))) => json!({ "platform": kind.short_name(), "digest": hex }),
        Some((kind, Err(e))) => json!({ "platform": kind.short_name(), "error": e }),
    }
}

impl Diff {
    /// The diff as one JSON object: `identical`, `differences` (each with
    /// `group`, `masks`, `subject`, `change`, `a`, `b`, and `pages` for page
    /// differences) and `measurements` (`masks`, `a`, `b`, `same`,
    /// `first_divergence`).
    pub fn to_json(&self) -> Value {
        let differences: Vec<Value> = self
            .differences
            .iter()
            .map(|d| {
                json!({
                    "group": d.group.name(),
                    "masks": [d.masks.0, d.masks.1],
                    "subject": d.subject,
                    "change": d.change,
                    "a": d.a,
                    "b": d.b,
                    "pages": d.pages.as_ref().map(|p| json!({
                        "start": format!("{:#x}", p.start),
                        "end": format!("{:#x}", p.end),
                        "count": p.end.saturating_sub(p.start) / 4096,
                        "tag": p.tag,
                    })),
                })
            })
            .collect();
        let measurements: Vec<Value> = self
            .measurements
            .iter()
            .map(|m| {
                json!({
                    "masks": [m.masks.0, m.masks.1],
                    "a": side_json(&m.a),
                    "b": side_json(&m.b),
                    "same": !m.differs(),
                    "first_divergence": m.divergence.as_ref().map(|d| json!({
                        "step": d.step,
                        "a": step_json(&d.a),
                        "b": step_json(&d.b),
                    })),
                })
            })
            .collect();
        json!({
            "identical": self.is_identical(),
            "differences": differences,
            "measurements": measurements,
        })
    }
}

//! What differs between two IGVM images, grouped the way a person reads an
//! image, and why their launch measurements differ.
//!
//! Each side is an [`Image`]: an IGVM file, or a load manifest or build
//! config built in memory (which also knows the loader's region tags).
//! [`diff`] pairs the platforms of A and B (the only one of each, else by
//! platform type) and compares, per pair:
//! - [`Group::Platform`]: platform type, highest VTL, shared GPA boundary,
//!   guest policy, required memory;
//! - [`Group::Relocation`]: relocatable-region and page-table relocation
//!   headers;
//! - [`Group::Pages`]: pages only in A, only in B, with different bytes or
//!   a different acceptance, in runs by region tag and page range;
//! - [`Group::VpContext`]: registers (VBS VP context) and the SNP VMSA, field
//!   by field;
//! - [`Group::Parameters`]: parameter areas, their insertions and the
//!   parameters placed in them;
//!
//! and recomputes each measured platform's launch measurement step by step
//! ([`MeasurementDiff`]): the first directive at which the SNP, TDX or VBS
//! digests part is named in A and B. Work is linear in the file sizes: pages
//! are merged by GPA and compared in place.

mod difference;
mod input;
mod line;
mod measurement;
mod pages;
mod report;
mod vp;

pub use difference::Diff;
pub use difference::Difference;
pub use difference::Group;
pub use difference::PageRange;
pub use input::Image;
pub use input::MANIFEST_SNP_POLICY;
pub use measurement::Divergence;
pub use measurement::MeasurementDiff;
pub use measurement::MeasurementSide;
pub use measurement::StepInfo;

use crate::inspect::directive_line;
use crate::inspect::init_line;
use crate::inspect::measured_platform;
use crate::inspect::platform_name;
use igvm::IgvmDirectiveHeader;
use igvm::IgvmInitializationHeader;
use igvm::IgvmPlatformHeader;
use igvm_defs::IgvmPlatformType;
use line::strip_mask;
use std::collections::HashMap;
use std::collections::HashSet;
use std::collections::VecDeque;

#[cfg(test)]
mod tests;

/// A platform header: (mask, type, highest VTL, shared GPA boundary).
type Platform = (u32, IgvmPlatformType, u8, u64);

/// The platforms of `image`.
fn platforms(image: &Image) -> Vec<Platform> {
    image
        .file
        .platforms()
        .iter()
        .map(|IgvmPlatformHeader::SupportedPlatform(p)| {
            (
                p.compatibility_mask,
                p.platform_type,
                p.highest_vtl,
                p.shared_gpa_boundary,
            )
        })
        .collect()
}

/// Compares two lists of lines as multisets: lines of the same kind (first
/// word) that differ are paired as `differs`, the rest are `only in A/B`.
fn compare_lines(
    group: Group,
    masks: (u32, u32),
    a: &[String],
    b: &[String],
    out: &mut Vec<Difference>,
) {
    // Multisets by hash: linear in the number of lines.
    let mut count: HashMap<&str, usize> = HashMap::new();
    for line in b {
        let c = count.entry(line.as_str()).or_default();
        *c = c.saturating_add(1);
    }
    let mut only_a: Vec<&String> = Vec::new();
    for line in a {
        match count.get_mut(line.as_str()) {
            Some(c) if *c > 0 => *c = c.saturating_sub(1),
            _ => only_a.push(line),
        }
    }
    let kind = |l: &str| l.split([' ', ':']).next().unwrap_or("").to_owned();
    // B's unmatched lines in file order, and their indices by kind.
    let mut only_b: Vec<(&String, bool)> = Vec::new();
    let mut by_kind: HashMap<String, VecDeque<usize>> = HashMap::new();
    for line in b {
        if let Some(c) = count.get_mut(line.as_str())
            && *c > 0
        {
            *c = c.saturating_sub(1);
            by_kind
                .entry(kind(line))
                .or_default()
                .push_back(only_b.len());
            only_b.push((line, false));
        }
    }
    for la in only_a {
        let k = kind(la);
        let paired = by_kind
            .get_mut(&k)
            .and_then(VecDeque::pop_front)
            .and_then(|i| only_b.get_mut(i));
        let (change, b_line) = match paired {
            Some((lb, taken)) => {
                *taken = true;
                ("differs", Some((*lb).clone()))
            }
            None => ("only in A", None),
        };
        out.push(Difference {
            group,
            masks,
            subject: k,
            change: change.to_owned(),
            a: Some(la.clone()),
            b: b_line,
            pages: None,
        });
    }
    for (lb, taken) in only_b {
        if taken {
            continue;
        }
        out.push(Difference {
            group,
            masks,
            subject: kind(lb),
            change: "only in B".to_owned(),
            a: None,
            b: Some(lb.clone()),
            pages: None,
        });
    }
}

/// Lines of the initialization headers of platform `mask` that `select`
/// picks, masks stripped.
fn init_lines(
    image: &Image,
    mask: u32,
    select: impl Fn(&IgvmInitializationHeader) -> Option<u32>,
) -> Vec<String> {
    image
        .file
        .initializations()
        .iter()
        .filter(|h| select(h).is_some_and(|m| m & mask != 0))
        .map(|h| strip_mask(&init_line(h)))
        .collect()
}

/// Lines of the directives of platform `mask` that `select` picks (`Some(0)`
/// for directives of every platform), masks stripped.
fn directive_lines(
    image: &Image,
    mask: u32,
    select: impl Fn(&IgvmDirectiveHeader) -> Option<u32>,
) -> Vec<String> {
    image
        .file
        .directives()
        .iter()
        .filter(|d| select(d).is_some_and(|m| m == 0 || m & mask != 0))
        .map(|d| strip_mask(&directive_line(d)))
        .collect()
}

/// The parameter directives of platform `mask`: its insertions, and the
/// areas it inserts with the parameters placed in them (areas belong to no
/// platform; another platform's are not this one's).
fn parameter_lines(image: &Image, mask: u32) -> Vec<String> {
    let inserted: HashSet<u32> = image
        .file
        .directives()
        .iter()
        .filter_map(|d| match d {
            IgvmDirectiveHeader::ParameterInsert(p) if p.compatibility_mask & mask != 0 => {
                Some(p.parameter_area_index)
            }
            _ => None,
        })
        .collect();
    let ours = |index: u32| inserted.contains(&index).then_some(0);
    directive_lines(image, mask, |d| match d {
        IgvmDirectiveHeader::ParameterInsert(p) => Some(p.compatibility_mask),
        IgvmDirectiveHeader::ParameterArea {
            parameter_area_index,
            ..
        } => ours(*parameter_area_index),
        IgvmDirectiveHeader::VpCount(p)
        | IgvmDirectiveHeader::EnvironmentInfo(p)
        | IgvmDirectiveHeader::Srat(p)
        | IgvmDirectiveHeader::Madt(p)
        | IgvmDirectiveHeader::Slit(p)
        | IgvmDirectiveHeader::Pptt(p)
        | IgvmDirectiveHeader::MmioRanges(p)
        | IgvmDirectiveHeader::MemoryMap(p)
        | IgvmDirectiveHeader::CommandLine(p)
        | IgvmDirectiveHeader::DeviceTree(p) => ours(p.parameter_area_index),
        _ => None,
    })
}

/// Pairs A's platforms with B's: the only one of each, else by type in
/// order; unpaired platforms are differences.
fn pair(pa: &[Platform], pb: &[Platform], out: &mut Vec<Difference>) -> Vec<(Platform, Platform)> {
    if let ([x], [y]) = (pa, pb) {
        return vec![(*x, *y)];
    }
    let mut rest: Vec<Platform> = pb.to_vec();
    let mut pairs = Vec::new();
    for x in pa {
        match rest.iter().position(|y| y.1 == x.1) {
            Some(k) => pairs.push((*x, rest.remove(k))),
            None => out.push(Difference {
                group: Group::Platform,
                masks: (x.0, 0),
                subject: format!("platform {}", platform_name(x.1)),
                change: "only in A".to_owned(),
                a: Some(format!("mask {:#x}", x.0)),
                b: None,
                pages: None,
            }),
        }
    }
    for y in rest {
        out.push(Difference {
            group: Group::Platform,
            masks: (0, y.0),
            subject: format!("platform {}", platform_name(y.1)),
            change: "only in B".to_owned(),
            a: None,
            b: Some(format!("mask {:#x}", y.0)),
            pages: None,
        });
    }
    pairs
}

/// Everything that differs between `a` and `b`.
pub fn diff(a: &Image, b: &Image) -> Diff {
    let mut out = Vec::new();
    if a.arch != b.arch {
        out.push(Difference::values(
            Group::Platform,
            (0, 0),
            "architecture",
            a.arch.into(),
            b.arch.into(),
        ));
    }
    let mut measurements = Vec::new();
    for (x, y) in pair(&platforms(a), &platforms(b), &mut out) {
        let masks = (x.0, y.0);
        let head: [(&str, String, String); 3] = [
            ("platform type", platform_name(x.1), platform_name(y.1)),
            ("highest VTL", x.2.to_string(), y.2.to_string()),
            (
                "shared GPA boundary",
                format!("{:#x}", x.3),
                format!("{:#x}", y.3),
            ),
        ];
        for (subject, va, vb) in head {
            if va != vb {
                out.push(Difference::values(Group::Platform, masks, subject, va, vb));
            }
        }
        let policy = |h: &IgvmInitializationHeader| match h {
            IgvmInitializationHeader::GuestPolicy {
                compatibility_mask, ..
            } => Some(*compatibility_mask),
            _ => None,
        };
        let required = |d: &IgvmDirectiveHeader| match d {
            IgvmDirectiveHeader::RequiredMemory {
                compatibility_mask, ..
            } => Some(*compatibility_mask),
            _ => None,
        };
        let mut pl = init_lines(a, x.0, policy);
        pl.extend(directive_lines(a, x.0, required));
        let mut ql = init_lines(b, y.0, policy);
        ql.extend(directive_lines(b, y.0, required));
        compare_lines(Group::Platform, masks, &pl, &ql, &mut out);

        let relocation = |h: &IgvmInitializationHeader| match h {
            IgvmInitializationHeader::RelocatableRegion {
                compatibility_mask, ..
            }
            | IgvmInitializationHeader::PageTableRelocationRegion {
                compatibility_mask, ..
            } => Some(*compatibility_mask),
            _ => None,
        };
        compare_lines(
            Group::Relocation,
            masks,
            &init_lines(a, x.0, relocation),
            &init_lines(b, y.0, relocation),
            &mut out,
        );

        pages::compare(a, b, masks, &mut out);

        vp::compare_vp(
            masks,
            &vp::vp_fields(a, x.0),
            &vp::vp_fields(b, y.0),
            &mut out,
        );

        compare_lines(
            Group::Parameters,
            masks,
            &parameter_lines(a, x.0),
            &parameter_lines(b, y.0),
            &mut out,
        );

        let (ka, kb) = (
            measured_platform(a.arch, x.1),
            measured_platform(b.arch, y.1),
        );
        if ka.is_some() || kb.is_some() {
            measurements.push(measurement::compare(a, b, masks, ka, kb));
        }
    }
    // Stable: groups in order, each group's differences in file order.
    out.sort_by_key(|d| d.group);
    Diff {
        differences: out,
        measurements,
    }
}

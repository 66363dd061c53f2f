//! Page differences of one pair of platforms: pages only in A, only in B,
//! at the same GPA with different bytes, or with a different acceptance
//! (measured, unmeasured, shared, 2 MiB, data type), in runs of
//! contiguous pages of one kind and one region tag.

use super::difference::Difference;
use super::difference::Group;
use super::difference::PageRange;
use super::input::Image;
use igvm::IgvmDirectiveHeader;
use igvm_defs::IgvmPageDataFlags;
use igvm_defs::IgvmPageDataType;
use igvm_defs::PAGE_SIZE_4K;
use std::cmp::Ordering;

/// One page-data directive of a platform.
struct PageRef<'f> {
    /// GPA.
    gpa: u64,
    /// How the page is accepted, as text.
    acceptance: String,
    /// File data (zero-extended to a page).
    data: &'f [u8],
}

/// How a page differs.
#[derive(Clone, PartialEq, Eq)]
enum Kind {
    /// Only A has it.
    OnlyA,
    /// Only B has it.
    OnlyB,
    /// Both have it: (different bytes, the acceptances when they differ).
    Both(bool, Option<(String, String)>),
}

/// A run of pages of one kind.
struct Run {
    /// First GPA.
    start: u64,
    /// Next GPA after the run.
    end: u64,
    /// The kind.
    kind: Kind,
    /// The region tag of the first page.
    tag: Option<String>,
    /// The first differing byte's GPA (bytes runs).
    first_byte: Option<u64>,
}

/// The acceptance of a page: measured / unmeasured / shared, 2 MiB, data
/// type.
fn acceptance(flags: IgvmPageDataFlags, data_type: IgvmPageDataType) -> String {
    let mut s = String::from(if flags.shared() {
        "shared"
    } else if flags.unmeasured() {
        "unmeasured"
    } else {
        "measured"
    });
    if flags.is_2mb_page() {
        s.push_str(" 2mb");
    }
    match data_type {
        IgvmPageDataType::NORMAL => {}
        IgvmPageDataType::SECRETS => s.push_str(" SECRETS"),
        IgvmPageDataType::CPUID_DATA => s.push_str(" CPUID_DATA"),
        IgvmPageDataType::CPUID_XF => s.push_str(" CPUID_XF"),
        other => s.push_str(&format!(" type {:#x}", other.0)),
    }
    s
}

/// The page-data directives of platform `mask`, by GPA (file order kept for
/// equal GPAs).
fn pages(image: &Image, mask: u32) -> Vec<PageRef<'_>> {
    let mut out: Vec<PageRef<'_>> = image
        .file
        .directives()
        .iter()
        .filter_map(|d| match d {
            IgvmDirectiveHeader::PageData {
                gpa,
                compatibility_mask,
                flags,
                data_type,
                data,
            } if compatibility_mask & mask != 0 => Some(PageRef {
                gpa: *gpa,
                acceptance: acceptance(*flags, *data_type),
                data,
            }),
            _ => None,
        })
        .collect();
    out.sort_by_key(|p| p.gpa);
    out
}

/// The offset of the first byte at which `a` and `b`, each zero-extended,
/// differ.
fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    let n = a.len().max(b.len());
    if a == b {
        return None;
    }
    (0..n).find(|&i| a.get(i).copied().unwrap_or(0) != b.get(i).copied().unwrap_or(0))
}

/// Appends the page differences of the platforms `masks` (A's, B's).
pub(crate) fn compare(a: &Image, b: &Image, masks: (u32, u32), out: &mut Vec<Difference>) {
    let (pa, pb) = (pages(a, masks.0), pages(b, masks.1));
    let mut runs: Vec<Run> = Vec::new();
    let mut push = |gpa: u64, kind: Kind, first_byte: Option<u64>| {
        let (image, mask) = match kind {
            Kind::OnlyB => (b, masks.1),
            _ => (a, masks.0),
        };
        let tag = image.tag(mask, gpa / PAGE_SIZE_4K);
        if let Some(run) = runs.last_mut()
            && run.end == gpa
            && run.kind == kind
            && run.tag.as_deref() == tag
        {
            run.end = gpa.saturating_add(PAGE_SIZE_4K);
            return;
        }
        runs.push(Run {
            start: gpa,
            end: gpa.saturating_add(PAGE_SIZE_4K),
            kind,
            tag: tag.map(str::to_owned),
            first_byte,
        });
    };
    let (mut i, mut j) = (0, 0);
    loop {
        match (pa.get(i), pb.get(j)) {
            (None, None) => break,
            (Some(x), None) => {
                push(x.gpa, Kind::OnlyA, None);
                i = i.saturating_add(1);
            }
            (None, Some(y)) => {
                push(y.gpa, Kind::OnlyB, None);
                j = j.saturating_add(1);
            }
            (Some(x), Some(y)) => match x.gpa.cmp(&y.gpa) {
                Ordering::Less => {
                    push(x.gpa, Kind::OnlyA, None);
                    i = i.saturating_add(1);
                }
                Ordering::Greater => {
                    push(y.gpa, Kind::OnlyB, None);
                    j = j.saturating_add(1);
                }
                Ordering::Equal => {
                    let byte = first_difference(x.data, y.data);
                    let accept = (x.acceptance != y.acceptance)
                        .then(|| (x.acceptance.clone(), y.acceptance.clone()));
                    if byte.is_some() || accept.is_some() {
                        let at = byte.and_then(|o| x.gpa.checked_add(o as u64));
                        push(x.gpa, Kind::Both(byte.is_some(), accept), at);
                    }
                    i = i.saturating_add(1);
                    j = j.saturating_add(1);
                }
            },
        }
    }
    for run in runs {
        let count = run.end.saturating_sub(run.start) / PAGE_SIZE_4K;
        let (change, a_text, b_text) = match &run.kind {
            Kind::OnlyA => ("only in A".to_owned(), None, None),
            Kind::OnlyB => ("only in B".to_owned(), None, None),
            Kind::Both(bytes, accept) => {
                let mut change = String::new();
                if let Some(at) = run.first_byte.filter(|_| *bytes) {
                    change = format!("different bytes (first at {at:#x})");
                }
                let (mut x, mut y) = (None, None);
                if let Some((ax, by)) = accept {
                    if !change.is_empty() {
                        change.push_str(", ");
                    }
                    change.push_str("different acceptance");
                    (x, y) = (Some(ax.clone()), Some(by.clone()));
                }
                (change, x, y)
            }
        };
        let plural = if count == 1 { "" } else { "s" };
        let subject = match &run.tag {
            Some(tag) => format!(
                "{:#x}..{:#x} ({count} page{plural}, {tag})",
                run.start, run.end
            ),
            None => format!("{:#x}..{:#x} ({count} page{plural})", run.start, run.end),
        };
        out.push(Difference {
            group: Group::Pages,
            masks,
            subject,
            change,
            a: a_text,
            b: b_text,
            pages: Some(PageRange {
                start: run.start,
                end: run.end,
                tag: run.tag,
            }),
        });
    }
}

//! The VP-context group: VBS registers by name and SNP VMSA fields, each
//! as (name, value) pairs read from the values' `Debug` forms.

use super::difference::Difference;
use super::difference::Group;
use super::input::Image;
use igvm::IgvmDirectiveHeader;
use std::collections::HashMap;
use std::fmt::Debug;

/// The leaves of `value`'s pretty `{:#x?}` form as (path, value): the
/// fields of a register or VMSA, nested names joined with `.`.
pub(super) fn debug_leaves(value: &impl Debug) -> Vec<(String, String)> {
    let text = format!("{value:#x?}");
    let mut path: Vec<String> = Vec::new();
    let mut index: Vec<usize> = vec![0];
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let t = line.trim().trim_end_matches(',');
        if n == 0 {
            // The value's own `Type {` (or `[`): not a path element.
            if t.ends_with(['{', '[', '(']) {
                index.push(0);
                path.push(String::new());
                continue;
            }
        }
        if t.starts_with(['}', ']', ')']) {
            path.pop();
            index.pop();
            continue;
        }
        let (name, rest) = match t.split_once(": ") {
            Some((n, r)) => (n.to_owned(), r),
            None => {
                let i = index.last().copied().unwrap_or(0);
                (format!("[{i}]"), t)
            }
        };
        if let Some(last) = index.last_mut() {
            *last = last.saturating_add(1);
        }
        if rest.ends_with(['{', '[', '(']) {
            path.push(name);
            index.push(0);
        } else {
            let mut full = String::new();
            for part in path.iter().filter(|p| !p.is_empty()) {
                full.push_str(part);
                full.push('.');
            }
            full.push_str(&name);
            out.push((full, rest.to_owned()));
        }
    }
    out
}

/// The VP-context fields of platform `mask`: (name, value) of every VBS
/// register (`vtlN.Name`) and every SNP VMSA field (`vmsa.field`).
pub(super) fn vp_fields(image: &Image, mask: u32) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for d in image.file.directives() {
        match d {
            IgvmDirectiveHeader::X64VbsVpContext {
                vtl,
                registers,
                compatibility_mask,
            } if compatibility_mask & mask != 0 => {
                out.extend(register_leaves(*vtl as u8, registers))
            }
            IgvmDirectiveHeader::AArch64VbsVpContext {
                vtl,
                registers,
                compatibility_mask,
            } if compatibility_mask & mask != 0 => {
                out.extend(register_leaves(*vtl as u8, registers))
            }
            IgvmDirectiveHeader::SnpVpContext {
                gpa,
                compatibility_mask,
                vp_index,
                vmsa,
            } if compatibility_mask & mask != 0 => {
                let p = format!("vp{vp_index}.vmsa");
                out.push((format!("{p}.gpa"), format!("{gpa:#x}")));
                out.extend(
                    debug_leaves(vmsa)
                        .into_iter()
                        .map(|(n, v)| (format!("{p}.{n}"), v)),
                );
            }
            _ => {}
        }
    }
    out
}

/// The registers of a VBS VP context of VTL `vtl`, by name.
fn register_leaves<R: Debug>(vtl: u8, registers: &[R]) -> impl Iterator<Item = (String, String)> {
    let prefix = format!("vtl{vtl}");
    registers
        .iter()
        .filter_map(move |r| register_leaf(&prefix, &format!("{r:x?}")))
}

/// `Name(value)` as (`vtl.name`, value).
fn register_leaf(vtl: &str, text: &str) -> Option<(String, String)> {
    let (name, value) = text.split_once('(')?;
    let value = value.strip_suffix(')').unwrap_or(value);
    Some((
        format!("{vtl}.{}", name.to_ascii_lowercase()),
        value.to_owned(),
    ))
}

/// Compares two (name, value) lists by name.
fn compare_fields(
    group: Group,
    masks: (u32, u32),
    a: &[(String, String)],
    b: &[(String, String)],
    out: &mut Vec<Difference>,
) {
    // By name through hash maps: linear in the number of fields.
    let in_a: HashMap<&str, &String> = a.iter().map(|(n, v)| (n.as_str(), v)).collect();
    let in_b: HashMap<&str, &String> = b.iter().map(|(n, v)| (n.as_str(), v)).collect();
    for (name, va) in a {
        match in_b.get(name.as_str()).copied() {
            Some(vb) if vb == va => {}
            Some(vb) => out.push(Difference::values(
                group,
                masks,
                name,
                va.clone(),
                vb.clone(),
            )),
            None => out.push(Difference {
                group,
                masks,
                subject: name.clone(),
                change: "only in A".to_owned(),
                a: Some(va.clone()),
                b: None,
                pages: None,
            }),
        }
    }
    for (name, vb) in b {
        if !in_a.contains_key(name.as_str()) {
            out.push(Difference {
                group,
                masks,
                subject: name.clone(),
                change: "only in B".to_owned(),
                a: None,
                b: Some(vb.clone()),
                pages: None,
            });
        }
    }
}

/// Compares VP contexts: registers by name; an SNP VMSA field by field when
/// both sides have one, else as one difference.
pub(super) fn compare_vp(
    masks: (u32, u32),
    a: &[(String, String)],
    b: &[(String, String)],
    out: &mut Vec<Difference>,
) {
    let is_vmsa = |f: &(String, String)| f.0.contains(".vmsa.");
    let has = |v: &[(String, String)]| v.iter().any(is_vmsa);
    if has(a) != has(b) {
        let gpa = |v: &[(String, String)]| {
            v.iter()
                .find(|f| f.0.ends_with(".vmsa.gpa"))
                .map(|f| format!("VMSA at {}", f.1))
        };
        out.push(Difference {
            group: Group::VpContext,
            masks,
            subject: "SNP VMSA".to_owned(),
            change: if has(a) { "only in A" } else { "only in B" }.to_owned(),
            a: gpa(a),
            b: gpa(b),
            pages: None,
        });
        let keep = |v: &[(String, String)]| {
            v.iter()
                .filter(|f| !is_vmsa(f))
                .cloned()
                .collect::<Vec<_>>()
        };
        compare_fields(Group::VpContext, masks, &keep(a), &keep(b), out);
    } else {
        compare_fields(Group::VpContext, masks, a, b, out);
    }
}

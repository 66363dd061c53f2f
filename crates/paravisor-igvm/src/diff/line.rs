//! Directive and header lines as the two sides of a diff compare them.

/// `line` without its ` mask 0x…` (the masks of A and B may differ).
pub(super) fn strip_mask(line: &str) -> String {
    match line.find(" mask 0x") {
        Some(at) => {
            let (head, rest) = line.split_at(at);
            let rest = rest.trim_start_matches(" mask 0x");
            let rest = rest.trim_start_matches(|c: char| c.is_ascii_hexdigit());
            format!("{head}{rest}")
        }
        None => line.to_owned(),
    }
}

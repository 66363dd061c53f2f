//! Every path cited in the repository's code, docs and tests exists in the
//! repository.
//!
//! Scans every text file of the repository (build outputs, fuzz corpora and
//! `.git` excepted) and fails, naming file and line, when
//! - a path starting at the repository root (`docs/…`, `tests/…`,
//!   `crates/…`, `fuzz/…`, `.ci/…`) does not exist, or a Markdown file's
//!   `../…` link does not exist relative to that file;
//! - one of the reference pages (`docs/formats.md`, `docs/abi.md`,
//!   `docs/algorithms.md`, `docs/igvm.md`, `docs/worked-example.md`,
//!   `docs/abi-versions.md`) is named without its `docs/` folder — a bare
//!   name is a citation nobody can follow;
//! - a citation of a reference page names a section that page does not have
//!   (`docs/algorithms.md §7.1` needs a `7.1` heading there);
//! - a file cites the project's shared specification, notes or seed folders,
//!   which are not part of the repository.
//!
//! Placeholders are not paths: a citation that continues with `<`, `*`,
//! `{`, `$` or `…` (`tests/golden/abi/<abi>/`) is checked up to its last
//! complete folder.

use std::fs;
use std::path::Path;
use std::path::PathBuf;

/// Folders a repository-relative citation starts with.
const ROOTS: [&str; 5] = ["docs/", "tests/", "crates/", "fuzz/", ".ci/"];

/// The reference pages of `docs/`, without their extension (so that this
/// file does not name them bare itself).
const REFERENCE_PAGES: [&str; 6] = [
    "formats",
    "abi",
    "algorithms",
    "igvm",
    "worked-example",
    "abi-versions",
];

/// Folder names that exist only outside the repository (the shared
/// specification, field notes and the original source), and the session's
/// absolute paths.
const OUTSIDE: [&str; 4] = ["spec/", "notes/", "seed/", "/work/"];

/// Folders never scanned: build outputs, fuzzing state, version control
/// (`.git` is a file in a worktree).
const SKIPPED: [&str; 6] = [
    ".git",
    "target",
    "corpus",
    "artifacts",
    "coverage",
    "node_modules",
];

/// Folders the tools create at run time (`.gitignore`): citing them is
/// fine although a clean checkout does not have them.
const GENERATED: [&str; 4] = [
    "fuzz/artifacts",
    "fuzz/corpus",
    "fuzz/coverage",
    "fuzz/target",
];

/// Bytes that may appear in a cited path.
fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/')
}

/// Bytes that, just before a name, make it part of a longer word.
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-')
}

/// Bytes that mark a placeholder continuing a path.
fn is_placeholder_start(rest: &str) -> bool {
    rest.starts_with(['<', '*', '{', '$', '%']) || rest.starts_with('…')
}

/// The repository root (this package lives in `tests/`).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The section numbers of each reference page: the `7.1` of a heading
/// `### 7.1 …` or the `7` of `## 7. …`.
fn sections(root: &Path) -> Vec<(&'static str, Vec<String>)> {
    REFERENCE_PAGES
        .iter()
        .map(|page| {
            let path = root.join("docs").join(format!("{page}.md"));
            let text = fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let numbers = text
                .lines()
                .filter(|l| l.starts_with('#'))
                .filter_map(|l| {
                    let number: String = l
                        .trim_start_matches('#')
                        .trim_start()
                        .chars()
                        .take_while(|c| c.is_ascii_digit() || *c == '.')
                        .collect();
                    let number = number.trim_end_matches('.');
                    (!number.is_empty()).then(|| number.to_string())
                })
                .collect();
            (*page, numbers)
        })
        .collect()
}

/// The section a citation names right after the page (`` `docs/abi.md` §2.1``
/// → `2.1`), if any.
fn cited_section(after: &str) -> Option<&str> {
    let rest = after.trim_start_matches(['`', ')', ' ']);
    let rest = rest.strip_prefix('§')?;
    let rest = rest.trim_start();
    let len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let number = rest[..len].trim_end_matches('.');
    (!number.is_empty()).then_some(number)
}

/// Every file under `dir`, skipping [`SKIPPED`].
fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if SKIPPED.contains(&name) {
            continue;
        }
        if path.is_dir() {
            walk(&path, files);
        } else if path.is_file() {
            files.push(path);
        }
    }
}

/// One problem found: where, and what.
struct Finding {
    file: String,
    line: usize,
    what: String,
}

/// The repository-relative citations on `line`, each with the number of
/// `../` before it and whether a placeholder follows it.
fn citations(line: &str) -> Vec<(usize, String, bool)> {
    let bytes = line.as_bytes();
    let mut found = Vec::new();
    for root in ROOTS {
        let mut from = 0;
        while let Some(pos) = line[from..].find(root) {
            let start = from + pos;
            from = start + root.len();
            // Count the `../` in front, then require a boundary before them.
            let mut begin = start;
            let mut ups = 0;
            while begin >= 3 && &bytes[begin - 3..begin] == b"../" {
                begin -= 3;
                ups += 1;
            }
            // `./docs/…` is the same citation.
            if ups == 0 && begin >= 2 && &bytes[begin - 2..begin] == b"./" {
                begin -= 2;
            }
            if begin > 0 && is_path_byte(bytes[begin - 1]) {
                continue;
            }
            let mut end = start;
            while end < bytes.len() && is_path_byte(bytes[end]) {
                end += 1;
            }
            let placeholder = is_placeholder_start(&line[end..]);
            let mut path = &line[start..end];
            if placeholder {
                // Check the last complete folder before the placeholder.
                path = &path[..path.rfind('/').map_or(0, |i| i + 1)];
            }
            // Sentence punctuation is not part of the path.
            let path = path.trim_end_matches(['.', ',', ':', ';']);
            if path.len() > root.len() || path == root {
                found.push((ups, path.to_string(), placeholder));
            }
        }
    }
    found
}

/// Checks one file; appends what is wrong.
fn check_file(
    root: &Path,
    sections: &[(&'static str, Vec<String>)],
    file: &Path,
    text: &str,
    findings: &mut Vec<Finding>,
) {
    let rel = file.strip_prefix(root).unwrap_or(file);
    let rel_name = rel.display().to_string();
    let is_markdown = file.extension().is_some_and(|e| e == "md");
    let dir = file.parent().unwrap_or(root);
    for (index, line) in text.lines().enumerate() {
        let mut report = |what: String| {
            findings.push(Finding {
                file: rel_name.clone(),
                line: index + 1,
                what,
            })
        };
        for (ups, path, _) in citations(line) {
            let target = if ups == 0 {
                root.join(&path)
            } else if is_markdown {
                let mut base = dir.to_path_buf();
                for _ in 0..ups {
                    base.pop();
                }
                base.join(&path)
            } else {
                // Code builds `../` paths relative to a manifest folder at
                // run time; only Markdown links are resolved here.
                continue;
            };
            if ups == 0 && GENERATED.iter().any(|g| path.starts_with(g)) {
                continue;
            }
            if !target.exists() {
                report(format!(
                    "cites `{}{path}`, which does not exist",
                    "../".repeat(ups)
                ));
            }
        }
        let bytes = line.as_bytes();
        for page in REFERENCE_PAGES {
            let name = format!("{page}.md");
            let mut from = 0;
            while let Some(pos) = line[from..].find(&name) {
                let start = from + pos;
                from = start + name.len();
                if start > 0 && is_word_byte(bytes[start - 1]) {
                    continue; // part of a longer name (`abi-versions.md`)
                }
                if !line[..start].ends_with("docs/") {
                    report(format!(
                        "names `{name}` without its folder: cite it as `docs/{name}`"
                    ));
                } else if let Some(section) = cited_section(&line[from..]) {
                    let known = sections
                        .iter()
                        .find(|(p, _)| *p == page)
                        .is_some_and(|(_, numbers)| numbers.iter().any(|n| n == section));
                    if !known {
                        report(format!(
                            "cites `docs/{name}` §{section}, which that page does not have"
                        ));
                    }
                }
            }
        }
        for outside in OUTSIDE {
            let mut from = 0;
            while let Some(pos) = line[from..].find(outside) {
                let start = from + pos;
                from = start + outside.len();
                if outside != "/work/" && start > 0 && is_word_byte(bytes[start - 1]) {
                    continue; // part of a longer word
                }
                report(format!(
                    "cites `{outside}…`, a folder outside the repository (cite `docs/` instead)"
                ));
            }
        }
    }
}

#[test]
fn every_cited_path_exists_in_the_repository() {
    let root = repo_root();
    let mut files = Vec::new();
    walk(&root, &mut files);
    let this_file = root.join(file!());
    let this_file = if this_file.exists() {
        this_file
    } else {
        // `file!()` is relative to the workspace root.
        root.join("tests").join("tests").join("doc_paths.rs")
    };
    let sections = sections(&root);
    let mut scanned = 0usize;
    let mut findings = Vec::new();
    for file in &files {
        if *file == this_file {
            continue; // it spells the forbidden names to look for them
        }
        let Ok(bytes) = fs::read(file) else { continue };
        if bytes.len() > 2 << 20 {
            continue; // generated data, not prose or code
        }
        let Ok(text) = String::from_utf8(bytes) else {
            continue; // binary
        };
        scanned += 1;
        check_file(&root, &sections, file, &text, &mut findings);
    }
    // The scan must have seen the repository, or it proves nothing.
    assert!(
        scanned > 100 && files.iter().any(|f| f.ends_with("docs/DESIGN.md")),
        "scanned only {scanned} files under {}: not the repository",
        root.display()
    );
    let report: Vec<String> = findings
        .iter()
        .map(|f| format!("{}:{}: {}", f.file, f.line, f.what))
        .collect();
    assert!(
        report.is_empty(),
        "{} citation(s) that point outside the repository or nowhere:\n{}",
        report.len(),
        report.join("\n")
    );
}

/// The scanner itself: a citation that exists passes, one that does not
/// fails, bare and outside names are reported, placeholders are cut.
#[test]
fn the_scanner_finds_what_it_should() {
    let root = repo_root();
    let file = root.join("docs").join("example.md");
    let sections = sections(&root);
    let check = |text: &str| {
        let mut findings = Vec::new();
        check_file(&root, &sections, &file, text, &mut findings);
        findings.into_iter().map(|f| f.what).collect::<Vec<_>>()
    };
    assert!(check("see `docs/DESIGN.md` §2 and tests/golden/cases/.").is_empty());
    assert!(check("the summaries in tests/golden/<abi>/ and crates/*.rs").is_empty());
    assert_eq!(check("see docs/no-such-page.md").len(), 1);
    assert_eq!(
        check("see crates/no-such-crate/src/lib.rs, twice: crates/nope").len(),
        2
    );
    let bare = format!("see {}.md §3", REFERENCE_PAGES[0]);
    assert_eq!(check(&bare).len(), 1);
    let outside = format!("see ../{}formats.md", OUTSIDE[0]);
    // Both the outside folder and the page named outside `docs/`.
    assert_eq!(check(&outside).len(), 2);
    assert!(check("a Markdown link ../docs/DESIGN.md from docs/").is_empty());
    assert_eq!(check("a Markdown link ../docs/NOPE.md from docs/").len(), 1);
    assert_eq!(check("run ./.ci/nope").len(), 1);
    assert!(check("a Markdown link ../README.md is not a root citation").is_empty());
    assert!(check("x-abi.md and docs/abi-versions.md").is_empty());
    assert!(check("`docs/algorithms.md` §7.1 step 24, docs/formats.md §3 rule 3.").is_empty());
    assert_eq!(
        check("docs/algorithms.md §7.9 and (`docs/abi.md` §42)").len(),
        2
    );
}

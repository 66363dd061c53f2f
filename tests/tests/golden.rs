//! Every golden case: run the loader for each load manifest in
//! `tests/golden/cases/` (or `$PARAVISOR_GOLDEN_DIR/cases/`) and require its
//! image summary to equal the one the original OpenVMM loader produced, as
//! parsed JSON (docs/formats.md §2–§3; when the stored summary has `ok: false`,
//! only `ok: false` is required).

use paravisor_tests::compare_summaries;
use paravisor_tests::golden_cases;
use paravisor_tests::golden_dir;
use paravisor_tests::summarize_manifest;
use serde_json::Value;

#[test]
fn every_golden_case_summary_equals_the_original() {
    let dir = golden_dir();
    let cases = golden_cases(&dir);
    assert!(!cases.is_empty(), "no golden cases in {}", dir.display());
    let mut failures = Vec::new();
    for case in &cases {
        let golden_text = std::fs::read_to_string(&case.summary)
            .unwrap_or_else(|e| panic!("{}: {e}", case.summary.display()));
        let golden: Value = serde_json::from_str(&golden_text)
            .unwrap_or_else(|e| panic!("{}: {e}", case.summary.display()));
        let candidate = match summarize_manifest(&case.manifest) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{}: manifest error: {e}", case.name));
                continue;
            }
        };
        let diff = compare_summaries(&golden, &candidate);
        if !diff.is_empty() {
            failures.push(format!("{}:\n    {}", case.name, diff.join("\n    ")));
        }
    }
    eprintln!(
        "golden: {}/{} cases equal ({})",
        cases.len() - failures.len(),
        cases.len(),
        dir.display()
    );
    assert!(
        failures.is_empty(),
        "{} of {} golden cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn golden_comparison_detects_a_changed_byte() {
    // The harness itself must be able to fail: a summary with one sha256
    // changed is not equal. (Always the checked-in golden folder.)
    let dir = paravisor_tests::workspace_root()
        .join("tests")
        .join("golden");
    let case = golden_cases(&dir)
        .into_iter()
        .find(|c| c.name.starts_with("x64-"))
        .expect("an x64 golden case");
    let golden: Value =
        serde_json::from_str(&std::fs::read_to_string(&case.summary).unwrap()).unwrap();
    let mut changed = golden.clone();
    let sha = &mut changed["pages"][0]["sha256"];
    let text = sha.as_str().unwrap().to_string();
    let flipped = if text.starts_with('0') { "1" } else { "0" };
    *sha = Value::String(format!("{flipped}{}", &text[1..]));
    assert!(!compare_summaries(&golden, &changed).is_empty());
    assert!(compare_summaries(&golden, &golden).is_empty());
}

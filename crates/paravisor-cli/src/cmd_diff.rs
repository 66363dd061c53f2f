//! `paravisor diff A B [--json]`: what differs between two images, each an
//! IGVM file, a load manifest or an IGVM build config, and why their
//! launch measurements differ (`paravisor_igvm::diff`).
//!
//! Inputs are memory-mapped; two IGVM files with the same bytes are
//! identical without being parsed.

use crate::exit::Outcome;
use crate::files::Mapped;
use paravisor_igvm::diff::Diff;
use paravisor_igvm::diff::Image;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Exit status: the images are identical.
const EXIT_IDENTICAL: u8 = 0;
/// Exit status: the images differ.
const EXIT_DIFFERENT: u8 = 1;
/// Exit status: an input cannot be read, parsed or built, or the command
/// line is wrong.
pub(crate) const EXIT_BAD_INPUT: u8 = 2;

/// Exit statuses, shown under `--help`.
pub(crate) const EXIT_STATUS: &str = "\
Exit status: 0 identical; 1 they differ; 2 an input cannot be read, is not an
IGVM file, load manifest or build config, or its load fails, or the command
line is wrong (as for diff(1) and cmp(1): 1 means only that they differ).

Groups: platform (headers, guest policy, required memory), relocation
(headers), pages (only in A, only in B, different bytes, different
acceptance; by region tag and page range), vp_context (registers, SNP VMSA
fields), parameters (areas, insertions); then each measured platform's launch
measurement (SNP, TDX, VBS): same, or the first directive at which the
digests part. A load manifest is built as one guest (SNP policy 0x3001f,
SVN 1, no debug) and names its page ranges with the loader's tags.";

/// Arguments of `paravisor diff`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Image A: an IGVM file, a load manifest (paravisor-load-manifest/1) or
    /// an IGVM build config (paravisor-igvm-config/1).
    a: String,
    /// Image B, of any of the same kinds.
    b: String,
    /// Print one JSON object with the same differences instead of text.
    #[arg(long)]
    json: bool,
}

/// Maps `path`, or prints why not.
fn map(path: &str, which: &str) -> Option<Mapped> {
    match crate::files::map_input(Path::new(path), &format!("input {which} of diff")) {
        Ok(m) => Some(m),
        Err(e) => {
            eprintln!("paravisor: {e}");
            None
        }
    }
}

/// Builds the image of `path`, or prints why not.
fn image(path: &str, bytes: &[u8]) -> Result<Image, String> {
    Image::from_bytes(Path::new(path), bytes).map_err(|e| format!("paravisor: {path}: {e}"))
}

/// Runs the subcommand.
pub(crate) fn run(args: Args) -> Outcome {
    let (Some(ma), Some(mb)) = (map(&args.a, "A"), map(&args.b, "B")) else {
        return ExitCode::from(EXIT_BAD_INPUT);
    };
    let (ba, bb) = (ma.bytes(), mb.bytes());
    let igvm = ba.starts_with(b"IGVM") && bb.starts_with(b"IGVM");
    let mut out = std::io::stdout().lock();
    if igvm && ba == bb {
        // Closed pipes end the output; they are not errors.
        let _ = if args.json {
            writeln!(
                out,
                "{}",
                serde_json::json!({ "identical": true, "same_bytes": true,
                                    "differences": [], "measurements": [],
                                    "inputs": { "a": { "path": args.a, "source": "IGVM file" },
                                                "b": { "path": args.b, "source": "IGVM file" } } })
            )
        } else {
            writeln!(out, "identical: the files have the same bytes")
        };
        return ExitCode::from(EXIT_IDENTICAL);
    }
    // The two sides in parallel (parsing and building are independent).
    let (ia, ib) = std::thread::scope(|scope| {
        let other = scope.spawn(|| image(&args.b, bb));
        let ia = image(&args.a, ba);
        let ib = other
            .join()
            .unwrap_or_else(|_| Err(format!("paravisor: {}: cannot be read", args.b)));
        (ia, ib)
    });
    let (a, b) = match (ia, ib) {
        (Ok(a), Ok(b)) => (a, b),
        (ia, ib) => {
            for e in [ia.err(), ib.err()].into_iter().flatten() {
                eprintln!("{e}");
            }
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let diff = paravisor_igvm::diff::diff(&a, &b);
    // IGVM files whose images are the same but whose bytes are not (header
    // order, padding) differ too.
    let encoding_only = igvm && diff.is_identical();
    let _ = if args.json {
        let mut v = diff.to_json();
        if let Some(o) = v.as_object_mut() {
            o.insert(
                "identical".into(),
                (!encoding_only && diff.is_identical()).into(),
            );
            o.insert("same_bytes".into(), false.into());
            let input = |path: &str, image: &Image| serde_json::json!({ "path": path, "source": image.source(), "arch": image.arch() });
            o.insert(
                "inputs".into(),
                serde_json::json!({ "a": input(&args.a, &a), "b": input(&args.b, &b) }),
            );
        }
        writeln!(out, "{v}")
    } else {
        print_text(&mut out, &args, (&a, &b), &diff, encoding_only)
    };
    if encoding_only || !diff.is_identical() {
        ExitCode::from(EXIT_DIFFERENT)
    } else {
        ExitCode::from(EXIT_IDENTICAL)
    }
}

/// The text report.
fn print_text(
    out: &mut impl Write,
    args: &Args,
    (a, b): (&Image, &Image),
    diff: &Diff,
    encoding_only: bool,
) -> std::io::Result<()> {
    writeln!(out, "A: {} ({}, {})", args.a, a.source(), a.arch())?;
    writeln!(out, "B: {} ({}, {})", args.b, b.source(), b.arch())?;
    if encoding_only {
        writeln!(
            out,
            "the files differ, but not their images: same headers, pages, registers, \
             parameters and measurements (header order or padding)"
        )?;
    }
    write!(out, "{diff}")
}

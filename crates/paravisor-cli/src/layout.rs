//! `paravisor layout MANIFEST [--json]`: a map of the image — regions in
//! address order with the gaps between them, then registers, parameter
//! areas, relocation records and the shim parameters — as text or as one
//! JSON object with the same rows.
//!
//! [`map`] collects the data ([`LayoutMap`]); [`LayoutMap::text`] and
//! [`LayoutMap::json`] print it.

use crate::exit::EXIT_LOAD_FAILED;
use crate::exit::EXIT_OK;
use crate::exit::EXIT_USAGE;
use crate::exit::Outcome;
use paravisor_host::Arch;
use paravisor_host::PlannedImage;
use paravisor_host::summary::ImageSummary;
use paravisor_host::summary::SummaryImporter;
use paravisor_host::summary::acceptance_name;
use paravisor_layout::Abi;
use paravisor_layout::ShimParamsRaw;
use paravisor_loader::IsolationConfig;
use paravisor_loader::LoadInputs;
use paravisor_loader::PAGE_SIZE;
use paravisor_loader::memory::Vtl2Memory;
use paravisor_loader::plan::RegionKind;
use paravisor_loader::plan::Structures;
use paravisor_loader::plan::Unimported;
use serde_json::Value;
use serde_json::json;
use std::fmt::Write;
use std::process::ExitCode;

/// Exit statuses, shown under `--help`.
pub(crate) const EXIT_STATUS: &str = "\
Exit status: 0 printed; 2 the load failed (one line on stderr, nothing on
stdout); 1 the manifest or an input file cannot be read or parsed (a VTL2
range past 2^64 included), or a usage error.";

/// Arguments of `paravisor layout`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The load manifest (paravisor-load-manifest/1).
    manifest: String,
    /// Print one JSON object with the same rows instead of the map.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: Args) -> Outcome {
    let manifest_path = args.manifest.as_str();
    let Some((manifest, files)) = crate::files::load(manifest_path) else {
        return ExitCode::from(EXIT_USAGE);
    };
    let files = files.as_files();
    let inputs = manifest.inputs(&files);
    match map(manifest.arch, manifest.isolation, &inputs) {
        Ok(layout) => {
            print_layout(&layout, args.json);
            ExitCode::from(EXIT_OK)
        }
        Err(e) => {
            eprintln!("paravisor: {manifest_path}: load failed: {e}");
            ExitCode::from(EXIT_LOAD_FAILED)
        }
    }
}

/// Prints `layout` as text or JSON to stdout; a closed pipe ends the output.
pub(crate) fn print_layout(layout: &LayoutMap, json: bool) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = if json {
        writeln!(out, "{}", layout.json())
    } else {
        write!(out, "{}", layout.text())
    };
}

/// Loads once into a summary importer: the summary, and the plan when the
/// load succeeded.
fn load(
    arch: Arch,
    isolation: IsolationConfig,
    inputs: &LoadInputs<'_>,
) -> (ImageSummary, Option<PlannedImage>) {
    let mut importer = SummaryImporter::new(arch, isolation);
    let result = paravisor_host::load_openhcl(arch, &mut importer, inputs);
    let planned = result.as_ref().ok().cloned();
    (importer.finish(result), planned)
}

/// One line of the region map.
struct Region {
    start: u64,
    end: u64,
    what: String,
    acceptance: &'static str,
}

fn size_text(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    const GIB: u64 = 1024 * 1024 * 1024;
    if bytes >= 16 * MIB && !bytes.is_multiple_of(MIB) {
        // Large odd sizes (gaps): MiB with three decimals.
        let thousandths = bytes.saturating_mul(1000) / MIB;
        format!("{}.{:03} MiB", thousandths / 1000, thousandths % 1000)
    } else if bytes != 0 && bytes.is_multiple_of(GIB) {
        format!("{} GiB", bytes / GIB)
    } else if bytes != 0 && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes != 0 && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} B")
    }
}

fn signed_hex(v: i64) -> String {
    if v < 0 {
        format!("-{:#x}", v.unsigned_abs())
    } else {
        format!("{v:#x}")
    }
}

/// The map of a successful load.
pub(crate) struct LayoutMap {
    arch: Arch,
    /// The ABI profile the image is built for (docs/abi-versions.md).
    abi: Abi,
    isolation: IsolationConfig,
    /// VTL2 memory, when the load succeeded.
    vtl2: Option<Vtl2Memory>,
    /// Every region, in address order.
    regions: Vec<Region>,
    /// The loader's summary (registers, parameter areas, relocation).
    summary: ImageSummary,
    /// The structures the plan imported (the shim base and parameters),
    /// when the load succeeded.
    shim: Option<Structures>,
}

/// Loads the image and collects its map, or returns the loader's error
/// text (the caller reports it on stderr, naming its input).
pub(crate) fn map(
    arch: Arch,
    isolation: IsolationConfig,
    inputs: &LoadInputs<'_>,
) -> Result<LayoutMap, String> {
    let (summary, planned) = load(arch, isolation, inputs);
    if let Some(e) = summary.error {
        return Err(e);
    }
    let mut regions: Vec<Region> = Vec::new();
    if let Some(planned) = &planned {
        for r in &planned.regions {
            let start = r.pages.base.saturating_mul(PAGE_SIZE);
            let end = r.pages.end().saturating_mul(PAGE_SIZE);
            let (what, acceptance) = match r.kind {
                RegionKind::Import { tag, acceptance } => {
                    let acceptance = acceptance_name(acceptance);
                    // As the image summary lists pages: an import that
                    // continues an earlier one (same tag and acceptance)
                    // extends it.
                    if let Some(run) = regions.iter_mut().rev().find(|run| {
                        run.what == tag && run.acceptance == acceptance && run.end == start
                    }) {
                        run.end = end;
                        continue;
                    }
                    (tag.to_string(), acceptance)
                }
                RegionKind::Unimported(Unimported::PersistedState) => {
                    ("(persisted-state region, not imported)".into(), "")
                }
                RegionKind::Unimported(Unimported::BounceBuffer) => {
                    ("(bounce buffer, not imported)".into(), "")
                }
                RegionKind::Unimported(Unimported::Vtl2Reserved) => {
                    ("(VTL2 reserved region, used on SNP only)".into(), "")
                }
                RegionKind::ParameterArea { tag, index } => {
                    (format!("{tag} (parameter area {index})"), "(host fills)")
                }
                RegionKind::VpContextPage => ("(VP context page: SNP VMSA)".into(), "vp_context"),
                RegionKind::ImportedRegionsPage => (
                    "(imported-regions page, written by the importer)".into(),
                    "",
                ),
                RegionKind::ExpectedPageHashes => {
                    ("(expected page hashes, measured, not imported)".into(), "")
                }
            };
            regions.push(Region {
                start,
                end,
                what,
                acceptance,
            });
        }
    }
    let vtl2 = planned.as_ref().map(|p| p.memory);
    let shim = planned.map(|p| p.structures);
    regions.sort_by_key(|r| (r.start, r.end));
    Ok(LayoutMap {
        arch,
        abi: inputs.abi,
        isolation,
        vtl2,
        regions,
        summary,
        shim,
    })
}

/// What one row of the region table is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RowKind {
    /// A region of the image.
    Region,
    /// Addresses between two regions.
    Gap,
    /// VTL2 memory after the last region.
    Free,
}

/// One row of the region table.
struct Row<'a> {
    kind: RowKind,
    start: u64,
    end: u64,
    /// The region (kind `Region`).
    region: Option<&'a Region>,
}

/// The shim parameters with an address: (name, offset from the shim base,
/// size when the field has one).
fn shim_offsets(p: &ShimParamsRaw) -> [(&'static str, i64, Option<u64>); 15] {
    [
        ("kernel_entry_offset", p.kernel_entry_offset, None),
        ("cmdline_offset", p.cmdline_offset, None),
        ("initrd_offset", p.initrd_offset, Some(p.initrd_size)),
        (
            "memory_start_offset",
            p.memory_start_offset,
            Some(p.memory_size),
        ),
        (
            "parameter_region_offset",
            p.parameter_region_offset,
            Some(p.parameter_region_size),
        ),
        (
            "vtl2_reserved_region_offset",
            p.vtl2_reserved_region_offset,
            Some(p.vtl2_reserved_region_size),
        ),
        ("sidecar_offset", p.sidecar_offset, Some(p.sidecar_size)),
        ("sidecar_entry_offset", p.sidecar_entry_offset, None),
        ("used_start", p.used_start, None),
        ("used_end", p.used_end, None),
        (
            "bounce_buffer_start",
            p.bounce_buffer_start,
            Some(p.bounce_buffer_size),
        ),
        (
            "page_tables_start",
            p.page_tables_start,
            Some(p.page_tables_size),
        ),
        (
            "log_buffer_start",
            p.log_buffer_start,
            Some(p.log_buffer_size),
        ),
        ("heap_start_offset", p.heap_start_offset, Some(p.heap_size)),
        (
            "persisted_state_region_offset",
            p.persisted_state_region_offset,
            Some(p.persisted_state_region_size),
        ),
    ]
}

impl LayoutMap {
    /// The shim-parameter fields with an address that this profile's
    /// structure has (no `page_tables_start` from release-1.7.2511 on,
    /// docs/abi-versions.md §3.1).
    fn shim_fields(&self, p: &ShimParamsRaw) -> Vec<(&'static str, i64, Option<u64>)> {
        let without_tables =
            self.abi.facts().shim_params == paravisor_layout::ShimParamsLayout::WithoutPageTables;
        shim_offsets(p)
            .into_iter()
            .filter(|(name, ..)| !(without_tables && *name == "page_tables_start"))
            .collect()
    }

    /// The region table: regions in address order, the gaps between them
    /// and the free VTL2 memory after the last one.
    fn rows(&self) -> Vec<Row<'_>> {
        let mut rows = Vec::new();
        let mut last_end: Option<u64> = None;
        for r in &self.regions {
            if let Some(prev) = last_end.filter(|&p| r.start > p) {
                rows.push(Row {
                    kind: RowKind::Gap,
                    start: prev,
                    end: r.start,
                    region: None,
                });
            }
            rows.push(Row {
                kind: RowKind::Region,
                start: r.start,
                end: r.end,
                region: Some(r),
            });
            last_end = Some(last_end.map_or(r.end, |p| p.max(r.end)));
        }
        if let (Some(prev), Some(vtl2)) = (last_end, self.vtl2) {
            let end = vtl2.end();
            if end > prev {
                rows.push(Row {
                    kind: RowKind::Free,
                    start: prev,
                    end,
                    region: None,
                });
            }
        }
        rows
    }

    /// The map as text.
    pub(crate) fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "paravisor image: {}, isolation {}, paravisor present: {}, ABI profile {}",
            self.arch.name(),
            self.isolation.isolation_type.name(),
            self.isolation.paravisor_present,
            self.abi
        );
        if let Some(vtl2) = self.vtl2 {
            let _ = writeln!(
                out,
                "VTL2 memory: {:#x}..{:#x} ({})",
                vtl2.start,
                vtl2.end(),
                size_text(vtl2.size)
            );
        }

        let _ = writeln!(out, "\nregions (address order):");
        let _ = writeln!(
            out,
            "  {:<18} {:<18} {:>10}  {:<48} acceptance",
            "start", "end", "size", "tag"
        );
        for row in self.rows() {
            let (what, acceptance) = match (row.kind, row.region) {
                (RowKind::Region, Some(r)) => (r.what.as_str(), r.acceptance),
                (RowKind::Free, _) => ("-- free VTL2 memory --", ""),
                _ => ("-- gap --", ""),
            };
            let line = format!(
                "  {:<18} {:<18} {:>10}  {:<48} {}",
                format!("{:#x}", row.start),
                format!("{:#x}", row.end),
                size_text(row.end.saturating_sub(row.start)),
                what,
                acceptance
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }

        let summary = &self.summary;
        let _ = writeln!(out, "\nregisters:");
        for (name, value) in &summary.registers {
            let _ = writeln!(out, "  {name:<10} {}", value.to_json());
        }

        let _ = writeln!(out, "\nparameter areas:");
        for area in &summary.parameter_areas {
            let params: Vec<String> = summary
                .parameters
                .iter()
                .filter(|p| p.area == area.index)
                .map(|p| format!("{} at byte {}", p.parameter.name(), p.byte_offset))
                .collect();
            let _ = writeln!(
                out,
                "  #{} {:<24} pages {:#x}+{}  {}",
                area.index,
                area.tag,
                area.page_base,
                area.page_count,
                params.join(", ")
            );
        }

        if !summary.relocation_regions.is_empty() || !summary.page_table_relocations.is_empty() {
            let _ = writeln!(out, "\nrelocation:");
            for r in &summary.relocation_regions {
                let _ = writeln!(
                    out,
                    "  region {:#x}+{:#x} align {:#x} within {:#x}..{:#x} rip:{} gdtr:{} vp {}",
                    r.gpa,
                    r.size_bytes,
                    r.alignment,
                    r.minimum_gpa,
                    r.maximum_gpa,
                    r.apply_rip_offset,
                    r.apply_gdtr_offset,
                    r.vp_index
                );
            }
            for r in &summary.page_table_relocations {
                let _ = writeln!(
                    out,
                    "  page tables {:#x}: {} pages reserved, {} used, vp {}",
                    r.gpa, r.size_pages, r.used_pages, r.vp_index
                );
            }
        }

        if let Some(Structures {
            shim_base: base,
            shim_params: p,
            ..
        }) = &self.shim
        {
            let _ = writeln!(
                out,
                "\nshim parameters (offsets relative to the shim base {base:#x}):"
            );
            for (name, offset, size) in self.shim_fields(p) {
                let addr = base.wrapping_add_signed(offset);
                let text = match size {
                    Some(0) => "  size 0 (absent)".to_string(),
                    Some(s) => format!("  (= {addr:#x})  size {s:#x}"),
                    None => format!("  (= {addr:#x})"),
                };
                let _ = writeln!(out, "  {name:<30} {:>14}{text}", signed_hex(offset));
            }
            let _ = writeln!(
                out,
                "  {:<30} {:>14}",
                "initrd_crc",
                format!("{:#010x}", p.initrd_crc)
            );
            let _ = writeln!(
                out,
                "  {:<30} {:>14}",
                "supported_isolation_type", p.supported_isolation_type.0
            );
        }
        out
    }

    /// The map as one JSON object: the same rows and sections as
    /// [`LayoutMap::text`], addresses as hex strings, sizes in bytes. The
    /// registers and relocation records are the summary's (docs/formats.md §2).
    pub(crate) fn json(&self) -> Value {
        let hex = |v: u64| format!("{v:#x}");
        let regions: Vec<Value> = self
            .rows()
            .iter()
            .map(|row| {
                let (kind, what, acceptance) = match (row.kind, row.region) {
                    (RowKind::Region, Some(r)) => ("region", Some(r.what.as_str()), r.acceptance),
                    (RowKind::Free, _) => ("free", None, ""),
                    _ => ("gap", None, ""),
                };
                json!({
                    "kind": kind,
                    "start": hex(row.start),
                    "end": hex(row.end),
                    "size": row.end.saturating_sub(row.start),
                    "tag": what,
                    "acceptance": (!acceptance.is_empty()).then_some(acceptance),
                })
            })
            .collect();
        let summary = &self.summary;
        let parameter_areas: Vec<Value> = summary
            .parameter_areas
            .iter()
            .map(|area| {
                let parameters: Vec<Value> = summary
                    .parameters
                    .iter()
                    .filter(|p| p.area == area.index)
                    .map(|p| json!({ "parameter": p.parameter.name(), "byte_offset": p.byte_offset }))
                    .collect();
                json!({
                    "index": area.index,
                    "tag": area.tag,
                    "page_base": area.page_base,
                    "page_count": area.page_count,
                    "parameters": parameters,
                })
            })
            .collect();
        let shim = self.shim.as_ref().map(|s| {
            let (base, p) = (&s.shim_base, &s.shim_params);
            let fields: Vec<Value> = self
                .shim_fields(p)
                .iter()
                .map(|&(name, offset, size)| {
                    json!({
                        "name": name,
                        "offset": offset,
                        "address": hex(base.wrapping_add_signed(offset)),
                        "size": size,
                    })
                })
                .collect();
            json!({
                "base": hex(*base),
                "fields": fields,
                "initrd_crc": format!("{:#010x}", p.initrd_crc),
                "supported_isolation_type": p.supported_isolation_type.0,
            })
        });
        let summary_json = summary.to_json();
        json!({
            "arch": self.arch.name(),
            "abi": self.abi.name(),
            "isolation": self.isolation.isolation_type.name(),
            "paravisor_present": self.isolation.paravisor_present,
            "vtl2_memory": self.vtl2.map(|m| json!({
                "start": hex(m.start),
                "end": hex(m.end()),
                "size": m.size,
            })),
            "regions": regions,
            "registers": summary_json.get("registers"),
            "parameter_areas": parameter_areas,
            "relocation_regions": summary_json.get("relocation_regions"),
            "page_table_relocations": summary_json.get("page_table_relocations"),
            "shim_parameters": shim,
        })
    }
}

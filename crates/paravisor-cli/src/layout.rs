//! `paravisor layout MANIFEST`: a human-readable map of the image — regions
//! in address order with the gaps between them, then registers, parameter
//! areas, relocation records and the shim parameters.

use crate::EXIT_LOAD_FAILED;
use crate::EXIT_OK;
use crate::EXIT_USAGE;
use crate::Outcome;
use crate::args::Args;
use paravisor_layout::ShimParamsRaw;
use paravisor_loader::Arm64Layout;
use paravisor_loader::IsolationConfig;
use paravisor_loader::LoadInputs;
use paravisor_loader::PAGE_SIZE;
use paravisor_loader::X64Layout;
use paravisor_loader::summary::Arch;
use paravisor_loader::summary::ImageSummary;
use paravisor_loader::summary::SummaryImporter;
use paravisor_loader::summary::acceptance_name;
use std::fmt::Write;
use std::process::ExitCode;

pub(crate) fn run(args: &[String]) -> Outcome {
    let args = match Args::parse(args, &[]) {
        Ok(a) => a,
        Err(e) => return crate::usage_error(&e),
    };
    let manifest_path = match args.one_positional("MANIFEST") {
        Ok(p) => p,
        Err(e) => return crate::usage_error(&e),
    };
    let Some((manifest, files)) = crate::files::load(manifest_path) else {
        return ExitCode::from(EXIT_USAGE);
    };
    let files = files.as_files();
    let inputs = manifest.inputs(&files);
    match render(manifest.arch, manifest.isolation, &inputs) {
        Ok(text) => {
            print!("{text}");
            ExitCode::from(EXIT_OK)
        }
        Err(e) => {
            eprintln!("paravisor: {manifest_path}: load failed: {e}");
            ExitCode::from(EXIT_LOAD_FAILED)
        }
    }
}

/// Runs the loader into a summary importer and returns the summary.
pub(crate) fn summarize(
    arch: Arch,
    isolation: IsolationConfig,
    inputs: &LoadInputs<'_>,
) -> ImageSummary {
    let mut importer = SummaryImporter::new(arch, isolation);
    match arch {
        Arch::X86_64 => {
            let r = paravisor_loader::load_openhcl_x64_alloc(&mut importer, inputs);
            importer.finish(r)
        }
        Arch::Aarch64 => {
            let r = paravisor_loader::load_openhcl_arm64_alloc(&mut importer, inputs);
            importer.finish(r)
        }
    }
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

/// Renders the layout of a successful load, or returns the loader's error
/// text (the caller reports it on stderr, naming its input).
pub(crate) fn render(
    arch: Arch,
    isolation: IsolationConfig,
    inputs: &LoadInputs<'_>,
) -> Result<String, String> {
    let summary = summarize(arch, isolation, inputs);
    if let Some(e) = summary.error {
        return Err(e);
    }
    let mut out = String::new();
    let iso = isolation.isolation_type.name();
    let _ = writeln!(
        out,
        "paravisor image: {}, isolation {iso}, paravisor present: {}",
        arch.name(),
        isolation.paravisor_present
    );

    // Extra (not imported) regions and shim parameters come from the plan.
    let mut regions: Vec<Region> = Vec::new();
    let mut shim: Option<(u64, ShimParamsRaw)> = None;
    let mut vtl2 = None;
    match arch {
        Arch::X86_64 => {
            if let Ok(l) = X64Layout::plan(isolation, inputs) {
                vtl2 = Some((l.memory.start, l.memory.size));
                regions.push(Region {
                    start: l.persisted_region,
                    end: l
                        .persisted_region
                        .saturating_add(paravisor_loader::x64::PERSISTED_REGION_SIZE),
                    what: "(persisted-state region, not imported)".into(),
                    acceptance: "",
                });
                if let Some(b) = l.bounce_buffer {
                    regions.push(Region {
                        start: b,
                        end: b.saturating_add(paravisor_loader::x64::BOUNCE_BUFFER_SIZE),
                        what: "(bounce buffer, not imported)".into(),
                        acceptance: "",
                    });
                }
                if l.isolation.isolation_type != paravisor_loader::IsolationType::Snp {
                    regions.push(Region {
                        start: l.reserved_region,
                        end: l
                            .reserved_region
                            .saturating_add(paravisor_loader::x64::RESERVED_REGION_SIZE),
                        what: "(VTL2 reserved region, used on SNP only)".into(),
                        acceptance: "",
                    });
                }
                shim = Some((l.shim_base, l.shim_params()));
            }
        }
        Arch::Aarch64 => {
            if let Ok(l) = Arm64Layout::plan(isolation, inputs) {
                vtl2 = Some((l.memory.start, l.memory.size));
                regions.push(Region {
                    start: l.persisted_region,
                    end: l
                        .persisted_region
                        .saturating_add(paravisor_loader::x64::PERSISTED_REGION_SIZE),
                    what: "(persisted-state region, not imported)".into(),
                    acceptance: "",
                });
                shim = Some((l.shim_base, l.shim_params()));
            }
        }
    }
    if let Some((start, size)) = vtl2 {
        let _ = writeln!(
            out,
            "VTL2 memory: {start:#x}..{:#x} ({})",
            start.saturating_add(size),
            size_text(size)
        );
    }

    for run in &summary.pages {
        let start = run.page_base.saturating_mul(PAGE_SIZE);
        regions.push(Region {
            start,
            end: start.saturating_add(run.page_count.saturating_mul(PAGE_SIZE)),
            what: run.tag.to_string(),
            acceptance: acceptance_name(run.acceptance),
        });
    }
    for area in &summary.parameter_areas {
        let start = area.page_base.saturating_mul(PAGE_SIZE);
        regions.push(Region {
            start,
            end: start.saturating_add(u64::from(area.page_count).saturating_mul(PAGE_SIZE)),
            what: format!("{} (parameter area {})", area.tag, area.index),
            acceptance: "(host fills)",
        });
    }
    if let Some(page) = summary.vp_context_page {
        let start = page.saturating_mul(PAGE_SIZE);
        regions.push(Region {
            start,
            end: start.saturating_add(PAGE_SIZE),
            what: "(VP context page: SNP VMSA)".into(),
            acceptance: "vp_context",
        });
    }
    if let Some(page) = summary.imported_regions_config_page {
        let start = page.saturating_mul(PAGE_SIZE);
        regions.push(Region {
            start,
            end: start.saturating_add(PAGE_SIZE),
            what: "(imported-regions page, written by the importer)".into(),
            acceptance: "",
        });
    }
    regions.sort_by_key(|r| (r.start, r.end));

    let _ = writeln!(out, "\nregions (address order):");
    let _ = writeln!(
        out,
        "  {:<18} {:<18} {:>10}  {:<48} acceptance",
        "start", "end", "size", "tag"
    );
    let mut last_end: Option<u64> = None;
    for r in &regions {
        if let Some(prev) = last_end.filter(|&p| r.start > p) {
            let _ = writeln!(
                out,
                "  {:<18} {:<18} {:>10}  -- gap --",
                format!("{prev:#x}"),
                format!("{:#x}", r.start),
                size_text(r.start.saturating_sub(prev)),
            );
        }
        let _ = writeln!(
            out,
            "  {:<18} {:<18} {:>10}  {:<48} {}",
            format!("{:#x}", r.start),
            format!("{:#x}", r.end),
            size_text(r.end.saturating_sub(r.start)),
            r.what,
            r.acceptance
        );
        last_end = Some(last_end.map_or(r.end, |p| p.max(r.end)));
    }
    if let (Some(prev), Some((start, size))) = (last_end, vtl2) {
        let end = start.saturating_add(size);
        if end > prev {
            let _ = writeln!(
                out,
                "  {:<18} {:<18} {:>10}  -- free VTL2 memory --",
                format!("{prev:#x}"),
                format!("{end:#x}"),
                size_text(end.saturating_sub(prev))
            );
        }
    }

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

    if let Some((base, p)) = shim {
        let _ = writeln!(
            out,
            "\nshim parameters (offsets relative to the shim base {base:#x}):"
        );
        let offsets: [(&str, i64, Option<u64>); 14] = [
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
        ];
        for (name, offset, size) in offsets {
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
            "  {:<30} {:>14}  (= {:#x})  size {:#x}",
            "persisted_state_region_offset",
            signed_hex(p.persisted_state_region_offset),
            base.wrapping_add_signed(p.persisted_state_region_offset),
            p.persisted_state_region_size
        );
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
    Ok(out)
}

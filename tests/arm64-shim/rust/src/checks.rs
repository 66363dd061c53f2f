//! The checks. Each prints `CHECK <name> OK|FAIL <detail>`; expected values
//! come from the spec (section numbers in the comments), not the loader.

use crate::arch;
use crate::entry::EntryState;
use crate::handoff::Handoff;
use crate::println;
use arm64_pagetables::Arm64AccessPermissions;
use arm64_pagetables::Arm64NoExecute;
use arm64_pagetables::Arm64Shareability;
use arm64_pagetables::Arm64TableWalker;
use arm64_pagetables::DESCRIPTOR_ACCESS_FLAG;
use core::fmt;
use paravisor_layout::Abi;
use paravisor_layout::CommandLinePolicy;
use paravisor_layout::PARAVISOR_CONFIG_DEVICE_TREE_PAGE_INDEX;
use paravisor_layout::PARAVISOR_CONFIG_DEVICE_TREE_SIZE_PAGES;
use paravisor_layout::ParavisorCommandLine;
use paravisor_layout::ParavisorMeasuredVtl0Config;
use paravisor_layout::ParavisorMeasuredVtl2Config;
use paravisor_layout::ShimParamsRaw;
use paravisor_layout::SupportedIsolationType;

const PAGE: u64 = 0x1000;
/// The ABI profile this shim was built for (cargo feature `abi-…`; the
/// seed without one): the shim-parameter layout, the parameter-region size
/// and where the shim sits without an initrd (docs/abi-versions.md).
pub const ABI: Abi = if cfg!(feature = "abi-main-1488a37b") {
    Abi::Main1488a37b
} else if cfg!(feature = "abi-release-1-8-2607") {
    Abi::Release1_8_2607
} else if cfg!(feature = "abi-release-1-7-2511") {
    Abi::Release1_7_2511
} else {
    Abi::Seed95f63b08
};
const LARGE_PAGE: u64 = 0x20_0000;
/// The page-table region: 15 pages (docs/algorithms.md §8 step 18).
const PAGE_TABLE_REGION: u64 = 0xF000;
/// docs/abi.md §7.6.
const SCTLR_EL1: u64 = 0x30D0_1805;
const TCR_EL1: u64 = 0x5_8080_3511;
const MAIR_EL1: u64 = 0xFFBB_4400;
/// MAIR index of Normal write-back memory in the paravisor's MAIR (§7.5).
const WRITE_BACK_INDEX: u8 = 3;
/// GPA of the AArch64 measured VTL0 config: page 0x1000 (docs/abi.md §1.2).
const VTL0_CONFIG_GPA: u64 = 0x100_0000;
/// The UEFI VP context page (docs/algorithms.md §8 step 22).
const UEFI_VP_CONTEXT_PAGE: u64 = 0x1001;
/// Page 105 of the parameter region (docs/abi.md §1.2).
const VTL2_CONFIG_PAGE_INDEX: u64 = 105;
/// "ARM\x64" (docs/abi.md §7.8).
const IMAGE_MAGIC: [u8; 4] = *b"ARM\x64";

struct Report {
    failed: u64,
}

impl Report {
    fn check(&mut self, name: &str, ok: bool, detail: fmt::Arguments<'_>) -> bool {
        if ok {
            println!("CHECK {} OK {}", name, detail);
        } else {
            self.failed += 1;
            println!("CHECK {} FAIL {}", name, detail);
        }
        ok
    }
}

/// A guest-physical range `[start, end)`.
#[derive(Clone, Copy)]
struct Range {
    start: u64,
    end: u64,
}

impl Range {
    fn new(start: u64, size: u64) -> Option<Self> {
        Some(Self {
            start,
            end: start.checked_add(size)?,
        })
    }

    fn contains(&self, inner: Range) -> bool {
        self.start <= inner.start && inner.end <= self.end
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{:#x}, {:#x})", self.start, self.end)
    }
}

/// `len` bytes at identity-mapped address `gpa`.
///
/// # Safety
/// The range must be mapped and readable, and not written while the slice
/// lives.
unsafe fn bytes<'a>(gpa: u64, len: u64) -> &'a [u8] {
    // SAFETY: the caller checked the range is mapped VTL2 memory.
    unsafe { core::slice::from_raw_parts(gpa as *const u8, len as usize) }
}

/// Runs every check; returns what the hand-off needs (kernel entry, VTL2
/// memory, command line, initrd, heap, host device tree) when the shim
/// parameters could be read.
pub fn run(state: &EntryState) -> Option<Handoff> {
    let mut r = Report { failed: 0 };
    let base = state.base;
    println!("INFO shim_base {:#018x}", base);

    // CPSR = 0x5: EL1, SP_EL1, D/A/I/F clear (docs/abi.md §7.1).
    r.check(
        "el1h",
        state.current_el == 1 << 2 && state.spsel == 1 && state.daif == 0,
        format_args!(
            "CurrentEL {:#x} SPSel {} DAIF {:#x}",
            state.current_el, state.spsel, state.daif
        ),
    );
    for (name, value, expected) in [
        ("sctlr-el1", arch::sctlr_el1(), SCTLR_EL1),
        ("tcr-el1", arch::tcr_el1(), TCR_EL1),
        ("mair-el1", arch::mair_el1(), MAIR_EL1),
        ("vbar-el1", state.vbar_el1, 0),
    ] {
        r.check(
            name,
            value == expected,
            format_args!("{:#x} (spec {:#x})", value, expected),
        );
    }
    if state.unsupported_relocations != 0 {
        r.check(
            "relocations",
            false,
            format_args!(
                "{} records of an unsupported type",
                state.unsupported_relocations
            ),
        );
    }

    // X0 leads to the parameter page (a page-aligned, mapped address).
    let params_gpa = base.wrapping_add(state.params_offset);
    let mapped = arch::translate_el1_read(params_gpa) == Some(params_gpa);
    let ok = r.check(
        "shim-params",
        state.params_offset.is_multiple_of(PAGE) && mapped,
        format_args!("X0 {:#x} -> {:#x}", state.params_offset, params_gpa),
    );
    if !ok {
        return None;
    }
    // SAFETY: the page is identity mapped (checked just above).
    let params = match ABI
        .facts()
        .shim_params
        .read(unsafe { bytes(params_gpa, PAGE) })
    {
        Ok(p) => p,
        Err(e) => {
            r.check("param-offsets", false, format_args!("{}", e));
            return None;
        }
    };
    let at = |offset: i64| base.wrapping_add(offset as u64);
    let Some(vtl2) = Range::new(at(params.memory_start_offset), params.memory_size) else {
        r.check("param-offsets", false, format_args!("VTL2 memory wraps"));
        return None;
    };
    println!("INFO vtl2_start {:#018x}", vtl2.start);
    println!("INFO vtl2_end {:#018x}", vtl2.end);
    let used = Range {
        start: at(params.used_start),
        end: at(params.used_end),
    };
    let region = |offset: i64, size: u64| Range::new(at(offset), size);
    let regions = [
        region(0, PAGE),
        Some(Range {
            start: params_gpa,
            end: params_gpa + PAGE,
        }),
        region(params.cmdline_offset, PAGE),
        region(params.parameter_region_offset, params.parameter_region_size),
        region(params.log_buffer_start, params.log_buffer_size),
        region(params.heap_start_offset, params.heap_size),
        region(params.kernel_entry_offset, 64),
    ];
    // docs/abi.md §2, arm64 column; docs/algorithms.md §8 steps 7-20.
    let offsets_ok = vtl2.start % LARGE_PAGE == 0
        && params.memory_size != 0
        && params.memory_size % LARGE_PAGE == 0
        && used.start == vtl2.start
        && used.start < used.end
        && vtl2.contains(used)
        && params.persisted_state_region_offset == params.memory_start_offset
        && params.persisted_state_region_size == LARGE_PAGE
        && params.parameter_region_size == ABI.facts().config_region_size()
        && params.log_buffer_size == 0x2000
        && params.heap_size == 0x1_0000
        && params.vtl2_reserved_region_offset == 0
        && params.vtl2_reserved_region_size == 0
        && params.sidecar_offset == 0
        && params.sidecar_size == 0
        && params.sidecar_entry_offset == 0
        && params.bounce_buffer_start == 0
        && params.bounce_buffer_size == 0
        && params.page_tables_start == 0
        && params.page_tables_size == 0
        && params.cmdline_offset.wrapping_add(PAGE as i64) == state.params_offset as i64
        && regions.iter().all(|r| r.is_some_and(|r| used.contains(r)))
        && initrd_placed(&params, at(params.initrd_offset), used);
    r.check(
        "param-offsets",
        offsets_ok,
        format_args!("VTL2 {} used {}", vtl2, used),
    );
    r.check(
        "isolation",
        params.supported_isolation_type == SupportedIsolationType::VBS,
        format_args!(
            "supported_isolation_type {}",
            params.supported_isolation_type.0
        ),
    );
    if !offsets_ok {
        println!("SHIM: the parameters are inconsistent; not reading through them");
        println!("INFO failed_checks {:#018x}", r.failed);
        return None;
    }

    // The tables are the last 15 pages of the used region (§8 steps 17-19).
    let ttbr0 = arch::ttbr0_el1();
    println!("INFO ttbr0_el1 {:#018x}", ttbr0);
    let tables = Range {
        start: used.end - PAGE_TABLE_REGION,
        end: used.end,
    };
    r.check(
        "ttbr0-el1",
        ttbr0 == tables.start,
        format_args!("{:#x}, table region {}", ttbr0, tables),
    );
    identity_map(&mut r, vtl2, tables, ttbr0);
    identity_map_at(&mut r, vtl2);
    let (command_line, host_appendable) = cmdline(&mut r, at(params.cmdline_offset));
    initrd(&mut r, &params, at(params.initrd_offset));
    let kernel_entry = at(params.kernel_entry_offset);
    kernel_image(&mut r, kernel_entry, vtl2);
    zero_and_writable(
        &mut r,
        "log-buffer-writable",
        region(params.log_buffer_start, params.log_buffer_size),
    );
    zero_and_writable(
        &mut r,
        "heap-writable",
        region(params.heap_start_offset, params.heap_size),
    );
    vtl2_config(
        &mut r,
        at(params.parameter_region_offset) + VTL2_CONFIG_PAGE_INDEX * PAGE,
    );
    vtl0_config(&mut r);
    println!("INFO failed_checks {:#018x}", r.failed);
    let parameter_region = at(params.parameter_region_offset);
    Some(Handoff {
        kernel_entry,
        memory_start: vtl2.start,
        memory_size: params.memory_size,
        command_line,
        host_appendable,
        initrd: (at(params.initrd_offset), params.initrd_size),
        heap: (at(params.heap_start_offset), params.heap_size),
        host_device_tree: (
            parameter_region + PARAVISOR_CONFIG_DEVICE_TREE_PAGE_INDEX * PAGE,
            PARAVISOR_CONFIG_DEVICE_TREE_SIZE_PAGES * PAGE,
        ),
    })
}

/// Walks the live tables (the loader's page-table region, read through the
/// identity map) with `arm64-pagetables`' walker: every 2 MiB page of VTL2
/// memory translates to itself with the paravisor's attributes (docs/abi.md
/// §7.7), and every mapping in the tables is an identity mapping inside
/// VTL2 memory.
fn identity_map(r: &mut Report, vtl2: Range, tables: Range, ttbr0: u64) {
    // SAFETY: the table region lies in the used region of VTL2 memory
    // (param-offsets), which the shim runs in; nothing writes it.
    let table_bytes = unsafe { bytes(tables.start, PAGE_TABLE_REGION) };
    let walker = match Arm64TableWalker::new(table_bytes, tables.start, ttbr0) {
        Ok(w) => w,
        Err(e) => {
            r.check("identity-map", false, format_args!("{}", e));
            return;
        }
    };
    let mut va = vtl2.start;
    while va < vtl2.end {
        let problem = match walker.translate(va) {
            Ok(Some(t)) => {
                let a = t.mapping.attributes;
                let attrs_ok = a.attr_index.get() == WRITE_BACK_INDEX
                    && a.access == Arm64AccessPermissions::PrivilegedReadWrite
                    && a.shareability == Arm64Shareability::InnerShareable
                    && a.no_execute == Arm64NoExecute::UserOnly
                    && t.mapping.descriptor & DESCRIPTOR_ACCESS_FLAG != 0;
                if t.pa != va {
                    Some("maps elsewhere")
                } else if !attrs_ok {
                    Some("wrong attributes")
                } else {
                    None
                }
            }
            Ok(None) => Some("not mapped"),
            Err(_) => Some("corrupt tables"),
        };
        if let Some(problem) = problem {
            println!("INFO not_identity_mapped {:#018x}", va);
            r.check(
                "identity-map",
                false,
                format_args!("VA {:#x}: {}", va, problem),
            );
            return;
        }
        va += LARGE_PAGE;
    }
    let mut mapped = 0u64;
    for mapping in walker.mappings() {
        match mapping {
            Ok(m) => {
                let size = m.size.bytes();
                let ok = m.va == m.pa && Range::new(m.va, size).is_some_and(|m| vtl2.contains(m));
                if !ok {
                    r.check(
                        "identity-map",
                        false,
                        format_args!("extra mapping VA {:#x} -> {:#x}", m.va, m.pa),
                    );
                    return;
                }
                mapped += size;
            }
            Err(e) => {
                r.check("identity-map", false, format_args!("iterating: {}", e));
                return;
            }
        }
    }
    r.check(
        "identity-map",
        mapped == vtl2.end - vtl2.start,
        format_args!(
            "{} identity mapped, {:#x} bytes mapped in all",
            vtl2, mapped
        ),
    );
}

/// The MMU's own view (`AT S1E1R`) of the first and last page of every
/// 2 MiB page of VTL2 memory.
fn identity_map_at(r: &mut Report, vtl2: Range) {
    let mut va = vtl2.start;
    while va < vtl2.end {
        for probe in [va, va + LARGE_PAGE - PAGE] {
            if arch::translate_el1_read(probe) != Some(probe) {
                r.check("identity-map-at", false, format_args!("VA {:#x}", probe));
                return;
            }
        }
        va += LARGE_PAGE;
    }
    r.check("identity-map-at", true, format_args!("{}", vtl2));
}

/// The command-line page (docs/abi.md §3.2): policy, length, UTF-8, no NUL,
/// zero tail. Returns the line (empty when unreadable) and whether the host
/// may append to it (policy `APPEND_CHOSEN`).
fn cmdline(r: &mut Report, gpa: u64) -> (&'static str, bool) {
    // SAFETY: inside the used region (param-offsets); the page is never
    // written, so the line may live as long as the shim.
    let page: &'static [u8] = unsafe { bytes(gpa, PAGE) };
    let line = match ParavisorCommandLine::read_from(page) {
        Ok(l) => l,
        Err(e) => {
            r.check("cmdline", false, format_args!("{}", e));
            return ("", false);
        }
    };
    let policy = line.policy;
    let text = match line.command_line() {
        Ok(t) => t,
        Err(e) => {
            r.check("cmdline", false, format_args!("{}", e));
            return ("", false);
        }
    };
    let len = text.len();
    let tail_zero = line
        .static_command_line
        .get(len..)
        .is_some_and(|t| t.iter().all(|&b| b == 0));
    let ok = (policy == CommandLinePolicy::STATIC || policy == CommandLinePolicy::APPEND_CHOSEN)
        && !text.contains('\0')
        && tail_zero;
    if r.check(
        "cmdline",
        ok,
        format_args!("policy {} len {}", policy.0, len),
    ) {
        println!("CMDLINE [{}]", text);
    }
    // The same bytes, borrowed from the page rather than the copy.
    let at = core::mem::offset_of!(ParavisorCommandLine, static_command_line);
    let text = page
        .get(at..at + len)
        .and_then(|b| core::str::from_utf8(b).ok())
        .unwrap_or("");
    (text, policy == CommandLinePolicy::APPEND_CHOSEN)
}

/// The initrd lies in the used region; from release-1.8.2607 on, an image
/// without an initrd file has none at all: gpa 0, size 0
/// (docs/abi-versions.md G5).
fn initrd_placed(params: &ShimParamsRaw, gpa: u64, used: Range) -> bool {
    if ABI.facts().arm64_shim_follows_kernel_without_initrd && params.initrd_size == 0 && gpa == 0 {
        return true;
    }
    Range::new(gpa, params.initrd_size).is_some_and(|r| used.contains(r))
}

/// CRC-32 (`crc32fast`) of the initrd = initrd_crc; the initrd starts on a
/// 2 MiB boundary (docs/algorithms.md §3 step 12).
fn initrd(r: &mut Report, params: &ShimParamsRaw, gpa: u64) {
    // SAFETY: inside the used region (param-offsets).
    let data = unsafe { bytes(gpa, params.initrd_size) };
    let crc = crc32fast::hash(data);
    println!("INFO initrd_size {:#018x}", params.initrd_size);
    r.check(
        "initrd-crc",
        crc == params.initrd_crc && gpa.is_multiple_of(LARGE_PAGE),
        format_args!(
            "at {:#x}: {:#010x} (initrd_crc {:#010x})",
            gpa, crc, params.initrd_crc
        ),
    );
}

/// The Image header is at the kernel entry, and the Image was placed at
/// VTL2 start + 2 MiB + text_offset (docs/algorithms.md §3 steps 8-9, §8 step 8).
fn kernel_image(r: &mut Report, entry: u64, vtl2: Range) {
    // SAFETY: inside the used region (param-offsets).
    let header = unsafe { bytes(entry, 64) };
    let magic = header.get(56..60) == Some(&IMAGE_MAGIC[..]);
    let text_offset = header
        .get(8..16)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
        .unwrap_or(u64::MAX);
    r.check(
        "kernel-image",
        magic && entry.wrapping_sub(text_offset) == vtl2.start + LARGE_PAGE,
        format_args!("entry {:#x}, text_offset {:#x}", entry, text_offset),
    );
}

/// The range is all zero, and every word reads back a written pattern; it
/// is zero again afterwards.
fn zero_and_writable(r: &mut Report, name: &str, range: Option<Range>) {
    let Some(range) = range else {
        r.check(name, false, format_args!("range wraps"));
        return;
    };
    let (mut nonzero, mut mismatch) = (0u64, 0u64);
    let mut gpa = range.start;
    while gpa < range.end {
        let word = gpa as *mut u64;
        // SAFETY: the range is the log buffer or heap, inside the used
        // region (param-offsets) and owned by the shim.
        unsafe {
            if word.read_volatile() != 0 {
                nonzero += 1;
            }
            word.write_volatile(!gpa);
            if word.read_volatile() != !gpa {
                mismatch += 1;
            }
            word.write_volatile(0);
        }
        gpa += 8;
    }
    r.check(
        name,
        nonzero == 0 && mismatch == 0,
        format_args!(
            "{}: {} words not zero, {} did not read back",
            range, nonzero, mismatch
        ),
    );
}

/// ParavisorMeasuredVtl2Config at parameter page 105 (docs/abi.md §3.6): magic,
/// vtom_offset_bit 0 on arm64, zero padding.
fn vtl2_config(r: &mut Report, gpa: u64) {
    // SAFETY: inside the parameter region (param-offsets).
    match ParavisorMeasuredVtl2Config::read_from(unsafe { bytes(gpa, PAGE) }) {
        Ok(c) => r.check(
            "vtl2-measured-config",
            c.magic == ParavisorMeasuredVtl2Config::MAGIC
                && c.vtom_offset_bit == 0
                && c.padding == [0; 7],
            format_args!(
                "at {:#x}: magic {:#x} vtom_offset_bit {}",
                gpa, c.magic, c.vtom_offset_bit
            ),
        ),
        Err(e) => r.check("vtl2-measured-config", false, format_args!("{}", e)),
    };
}

/// ParavisorMeasuredVtl0Config at GPA 0x100_0000 (docs/abi.md §3.5), outside
/// VTL2 memory and not in the loader's tables: read with the MMU off.
fn vtl0_config(r: &mut Report) {
    let words: [u64; 14] = arch::read_words_mmu_off(VTL0_CONFIG_GPA);
    let mut raw = [0u8; 112];
    for (chunk, word) in raw.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    let config = match ParavisorMeasuredVtl0Config::read_from(&raw) {
        Ok(c) => c,
        Err(e) => {
            r.check("vtl0-measured-config", false, format_args!("{}", e));
            return;
        }
    };
    let supported = config.supported_vtl0;
    println!("INFO vtl0_supported {:#018x}", supported.into_bits());
    let uefi = config.uefi_info;
    // Only UEFI is recorded on arm64; linux_info stays zero (§8 step 22).
    let uefi_ok = if supported.uefi_supported() {
        uefi.vtl0_vp_context.base_page_number == UEFI_VP_CONTEXT_PAGE
            && uefi.vtl0_vp_context.page_count == 1
    } else {
        raw.get(16..48).is_some_and(|b| b.iter().all(|&x| x == 0))
    };
    let ok = config.magic == ParavisorMeasuredVtl0Config::MAGIC
        && supported.into_bits() & !1 == 0
        && raw.get(48..112).is_some_and(|b| b.iter().all(|&x| x == 0))
        && uefi_ok;
    r.check(
        "vtl0-measured-config",
        ok,
        format_args!(
            "magic {:#x} supported {:#x}",
            config.magic,
            supported.into_bits()
        ),
    );
}

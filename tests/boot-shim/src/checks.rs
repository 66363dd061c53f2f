//! The checks, in the order they run. Each prints exactly one line.

use crate::arch;
use crate::entry::EntryState;
use crate::println;
use core::fmt;
use paravisor_layout::Abi;
use paravisor_layout::CommandLinePolicy;
use paravisor_layout::ParavisorCommandLine;
use paravisor_layout::ParavisorMeasuredVtl0Config;
use paravisor_layout::ParavisorMeasuredVtl2Config;
use paravisor_layout::ShimParamsLayout;
use paravisor_layout::ShimParamsRaw;
use paravisor_layout::SupportedIsolationType;
use x86_pagetables::PageSize;
use x86_pagetables::PageTableWalker;
use x86_pagetables::X64_1GB_PAGE_SIZE;

const PAGE: u64 = 0x1000;
const MIB2: u64 = 0x20_0000;

// docs/abi.md §1.2 and §2: sizes the loader uses.
const PERSISTED_REGION_SIZE: u64 = 0x20_0000;
/// The ABI profile this shim was built for (cargo feature `abi-…`; the
/// seed without one): it decides the shim-parameter layout and the size of
/// the parameter region (docs/abi-versions.md §3.1, §3.3).
pub const ABI: Abi = if cfg!(feature = "abi-main-1488a37b") {
    Abi::Main1488a37b
} else if cfg!(feature = "abi-release-1-8-2607") {
    Abi::Release1_8_2607
} else if cfg!(feature = "abi-release-1-7-2511") {
    Abi::Release1_7_2511
} else {
    Abi::Seed95f63b08
};
const PARAMETER_REGION_SIZE: u64 = ABI.facts().config_region_size();
const RESERVED_REGION_SIZE: u64 = 0x4000;
const LOG_BUFFER_SIZE: u64 = 0x2000;
const HEAP_SIZE: u64 = 0x1_0000;
const MEASURED_VTL2_CONFIG_PAGE_INDEX: u64 = 105;
// docs/abi.md §4.1.
const CR0: u64 = 0x8000_0021;
const CR0_ET: u64 = 0x10;
const CR4: u64 = 0x0004_0060;
const EFER: u64 = 0xD00;
const PAT: u64 = 0x0007_0406_0007_0406;
const MSR_EFER: u32 = 0xC000_0080;
const MSR_PAT: u32 = 0x277;
// docs/abi.md §4.4.
const GDT: [u64; 4] = [0, 0, 0x00A0_9B00_0000_FFFF, 0x00C0_9300_0000_FFFF];
const CODE_SELECTOR: u16 = 0x10;
const DATA_SELECTOR: u16 = 0x18;

/// The result of all checks.
pub struct Outcome {
    /// Checks that passed.
    pub passed: u32,
    /// Checks that failed.
    pub failed: u32,
    /// Where to jump when everything passed.
    pub kernel_entry: Option<u64>,
    /// The layout the parameters describe, when the offsets were checked.
    pub layout: Option<Layout>,
}

struct Report {
    passed: u32,
    failed: u32,
}

impl Report {
    fn ok(&mut self, name: &str, detail: fmt::Arguments<'_>) {
        self.passed += 1;
        println!("CHECK {} OK {}", name, detail);
    }

    fn fail(&mut self, name: &str, detail: fmt::Arguments<'_>) {
        self.failed += 1;
        println!("CHECK {} FAIL {}", name, detail);
    }
}

/// A guest-physical range `[start, end)`.
#[derive(Clone, Copy)]
pub struct Range {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

impl Range {
    fn new(start: u64, size: u64) -> Option<Self> {
        Some(Self {
            start,
            end: start.checked_add(size)?,
        })
    }

    fn within(&self, outer: &Range) -> bool {
        self.start >= outer.start && self.end <= outer.end && self.start <= self.end
    }

    /// Bytes in the range.
    pub fn size(&self) -> u64 {
        self.end - self.start
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{:#x}, {:#x})", self.start, self.end)
    }
}

/// Reads `len` bytes of identity-mapped guest memory at `addr`.
///
/// # Safety
/// `[addr, addr + len)` must be mapped, readable memory of this VM that is
/// not written while the slice lives.
unsafe fn memory(addr: u64, len: u64) -> &'static [u8] {
    // SAFETY: per the caller's contract.
    unsafe { core::slice::from_raw_parts(addr as *const u8, len as usize) }
}

fn read_u64(addr: u64) -> u64 {
    // SAFETY: callers only pass addresses inside checked, mapped ranges;
    // volatile because this is memory the loader (not Rust) initialised.
    unsafe { (addr as *const u64).read_volatile() }
}

/// Addresses of everything the parameters describe, as absolute GPAs.
#[allow(missing_docs)] // Named as the shim parameters they come from.
pub struct Layout {
    pub params: ShimParamsRaw,
    pub base: u64,
    pub params_page: u64,
    pub memory: Range,
    pub kernel_entry: u64,
    pub cmdline: u64,
    pub initrd: Range,
    pub parameter_region: Range,
    pub reserved_region: Range,
    pub sidecar: Range,
    pub sidecar_entry: u64,
    pub used: Range,
    pub page_tables: Range,
    pub log_buffer: Range,
    pub heap: Range,
    pub persisted: Range,
}

fn layout(state: &EntryState, params: ShimParamsRaw) -> Option<Layout> {
    let base = state.base;
    let abs = |offset: i64| base.wrapping_add(offset as u64);
    Some(Layout {
        base,
        params_page: base.checked_add(state.params_offset)?,
        memory: Range::new(abs(params.memory_start_offset), params.memory_size)?,
        kernel_entry: abs(params.kernel_entry_offset),
        cmdline: abs(params.cmdline_offset),
        initrd: Range::new(abs(params.initrd_offset), params.initrd_size)?,
        parameter_region: Range::new(
            abs(params.parameter_region_offset),
            params.parameter_region_size,
        )?,
        reserved_region: Range::new(
            abs(params.vtl2_reserved_region_offset),
            params.vtl2_reserved_region_size,
        )?,
        sidecar: Range::new(abs(params.sidecar_offset), params.sidecar_size)?,
        sidecar_entry: abs(params.sidecar_entry_offset),
        used: Range {
            start: abs(params.used_start),
            end: abs(params.used_end),
        },
        page_tables: match ABI.facts().shim_params {
            ShimParamsLayout::WithPageTables => {
                Range::new(abs(params.page_tables_start), params.page_tables_size)?
            }
            // Without the two fields, the tables are what CR3 points at (the
            // PML4 is their first page) up to the end of the used memory.
            ShimParamsLayout::WithoutPageTables => Range {
                start: arch::cr3(),
                end: abs(params.used_end),
            },
        },
        log_buffer: Range::new(abs(params.log_buffer_start), params.log_buffer_size)?,
        heap: Range::new(abs(params.heap_start_offset), params.heap_size)?,
        persisted: Range::new(
            abs(params.persisted_state_region_offset),
            params.persisted_state_region_size,
        )?,
        params,
    })
}

/// Runs every check and prints its line.
pub fn run(state: &EntryState) -> Outcome {
    let mut r = Report {
        passed: 0,
        failed: 0,
    };
    let mut kernel_entry = None;

    if state.unsupported_relocations == 0 {
        r.ok("relocations", format_args!("all self-relocations applied"));
    } else {
        r.fail(
            "relocations",
            format_args!(
                "{} relocation records of unsupported type",
                state.unsupported_relocations
            ),
        );
    }

    // The parameter page: RSI is its offset from the shim's load base.
    let params_addr = state.base.wrapping_add(state.params_offset);
    if !state.params_offset.is_multiple_of(PAGE) {
        r.fail(
            "shim-params",
            format_args!("RSI {:#x} is not a page offset", state.params_offset),
        );
        return Outcome {
            passed: r.passed,
            failed: r.failed,
            kernel_entry,
            layout: None,
        };
    }
    // SAFETY: the loader imported the parameter page at this address (the
    // check that it lies inside VTL2 memory follows right after).
    let params = match ABI
        .facts()
        .shim_params
        .read(unsafe { memory(params_addr, PAGE) })
    {
        Ok(p) => p,
        Err(e) => {
            r.fail("shim-params", format_args!("{}", e));
            return Outcome {
                passed: r.passed,
                failed: r.failed,
                kernel_entry,
                layout: None,
            };
        }
    };
    let Some(l) = layout(state, params) else {
        r.fail(
            "shim-params",
            format_args!("a region in the parameters wraps around"),
        );
        return Outcome {
            passed: r.passed,
            failed: r.failed,
            kernel_entry,
            layout: None,
        };
    };
    let params_range = Range {
        start: l.params_page,
        end: l.params_page + PAGE,
    };
    if params_range.within(&l.memory) {
        r.ok(
            "shim-params",
            format_args!(
                "at {:#x} (base {:#x} + RSI {:#x}), VTL2 memory {}",
                l.params_page, l.base, state.params_offset, l.memory
            ),
        );
    } else {
        r.fail(
            "shim-params",
            format_args!("page {:#x} outside VTL2 memory {}", l.params_page, l.memory),
        );
    }

    check_isolation(&mut r, &l);
    let offsets_ok = check_offsets(&mut r, &l);
    check_registers(&mut r, state, &l);
    let map_ok = check_identity_map(&mut r, &l);
    check_gdt(&mut r, &l);
    let memory_ok = offsets_ok && map_ok;
    if memory_ok {
        check_command_line(&mut r, &l);
        check_initrd(&mut r, &l);
        check_writable(&mut r, "log-buffer-writable", l.log_buffer);
        check_writable(&mut r, "heap-writable", l.heap);
        check_reserved_region(&mut r, &l);
        check_vtl2_config(&mut r, &l);
        check_vtl0_config(&mut r, &l);
    } else {
        for name in [
            "cmdline",
            "initrd-crc",
            "log-buffer-writable",
            "heap-writable",
            "reserved-region",
            "vtl2-measured-config",
            "vtl0-measured-config",
        ] {
            r.fail(
                name,
                format_args!("not checked: the layout or the identity map is wrong"),
            );
        }
    }
    if offsets_ok {
        kernel_entry = Some(l.kernel_entry);
    }
    Outcome {
        passed: r.passed,
        failed: r.failed,
        kernel_entry,
        layout: offsets_ok.then_some(l),
    }
}

fn check_isolation(r: &mut Report, l: &Layout) {
    let p = &l.params;
    // Under KVM only "no isolation" boots, which the loader encodes as VBS
    // (docs/abi.md §2.1); no bounce buffer then (§2, offset 0x80).
    if p.supported_isolation_type == SupportedIsolationType::VBS
        && p.bounce_buffer_start == 0
        && p.bounce_buffer_size == 0
    {
        r.ok(
            "isolation",
            format_args!("supported_isolation_type 1 (VBS), no bounce buffer"),
        );
    } else {
        r.fail(
            "isolation",
            format_args!(
                "supported_isolation_type {}, bounce buffer {:#x}+{:#x}",
                p.supported_isolation_type.0, p.bounce_buffer_start, p.bounce_buffer_size
            ),
        );
    }
}

/// Every region inside VTL2 memory, in the order and with the sizes of
/// docs/algorithms.md §7.1–§7.2.
fn check_offsets(r: &mut Report, l: &Layout) -> bool {
    let mem = l.memory;
    let p = &l.params;
    let gdt = l.params_page.wrapping_sub(PAGE);
    let pde_tables = x86_pagetables::calculate_pde_table_count(mem.start, mem.size()).unwrap_or(0);
    let expected_pt_size = (5 + 2 * pde_tables) * PAGE;
    // Without a sidecar its entry is 0 - shim_base, so a non-zero absolute
    // value means a VMM moved the image by that much (docs/abi.md §2).
    let relocated = p.sidecar_size == 0 && l.sidecar_entry != 0;
    // The initrd (or, without one, the GDT page) follows the shim.
    let shim_end = if p.initrd_size != 0 {
        l.initrd.start
    } else {
        gdt
    };
    let checks: [(&str, bool); 20] = [
        ("memory start 2 MiB aligned", mem.start.is_multiple_of(MIB2)),
        (
            "memory size a non-zero multiple of 2 MiB",
            mem.size() != 0 && mem.size().is_multiple_of(MIB2),
        ),
        (
            "persisted region = first 2 MiB",
            l.persisted.start == mem.start && l.persisted.size() == PERSISTED_REGION_SIZE,
        ),
        ("used_start = memory start", l.used.start == mem.start),
        (
            "kernel entry after the persisted region",
            l.kernel_entry >= mem.start + PERSISTED_REGION_SIZE && l.kernel_entry < l.base,
        ),
        (
            "sidecar 2 MiB aligned, entry inside, before the shim",
            p.sidecar_size == 0
                || (l.sidecar.start.is_multiple_of(MIB2)
                    && l.sidecar.within(&mem)
                    && l.sidecar_entry >= l.sidecar.start
                    && l.sidecar_entry < l.sidecar.end
                    && l.sidecar.end <= l.base),
        ),
        (
            // "None" is 0 - shim_base (docs/abi.md §2); after a VMM moved
            // the image it reads as the (2 MiB aligned) relocation offset.
            "no sidecar: entry offset is 0 - base",
            p.sidecar_size != 0 || l.sidecar_entry.is_multiple_of(MIB2),
        ),
        (
            "shim base page aligned after the kernel",
            l.base.is_multiple_of(PAGE) && l.base > mem.start && l.base < shim_end,
        ),
        (
            "initrd follows the shim and precedes the GDT",
            p.initrd_size == 0
                || (l.initrd.within(&mem)
                    && l.initrd.start > l.base
                    && gdt - l.initrd.start == l.initrd.size().div_ceil(PAGE) * PAGE),
        ),
        (
            "GDT page, parameters, command line consecutive",
            l.cmdline == l.params_page + PAGE,
        ),
        (
            "reserved region after the command line",
            l.reserved_region.start == l.cmdline + PAGE
                && l.reserved_region.size() == RESERVED_REGION_SIZE,
        ),
        (
            "parameter region after the reserved region",
            l.parameter_region.start == l.reserved_region.end
                && l.parameter_region.size() == PARAMETER_REGION_SIZE,
        ),
        (
            "log buffer after the parameter region",
            l.log_buffer.start == l.parameter_region.end && l.log_buffer.size() == LOG_BUFFER_SIZE,
        ),
        (
            "heap after the log buffer",
            l.heap.start == l.log_buffer.end && l.heap.size() == HEAP_SIZE,
        ),
        (
            "page tables after the heap",
            l.page_tables.start == l.heap.end,
        ),
        (
            "page-table region 5 + 2 x PD tables",
            pde_tables != 0
                && if relocated {
                    // Sized where the loader put the image (docs/algorithms.md
                    // §7.1 step 24); after a move it must still hold the
                    // PML4, a PDPT and today's PDs.
                    let pages = l.page_tables.size() / PAGE;
                    pages >= 7 && (pages - 5).is_multiple_of(2) && pages >= 2 + pde_tables
                } else {
                    l.page_tables.size() == expected_pt_size
                },
        ),
        (
            "used_end = end of the page tables",
            l.used.end == l.page_tables.end,
        ),
        (
            "everything inside VTL2 memory",
            l.used.within(&mem) && l.page_tables.within(&mem) && params_inside(l),
        ),
        (
            "no initrd: offset 0 - base (as the sidecar entry), or the GDT page for an empty one",
            p.initrd_size != 0
                || l.initrd.start == gdt
                || (l.initrd.start.is_multiple_of(MIB2)
                    && (p.sidecar_size != 0 || l.initrd.start == l.sidecar_entry)),
        ),
        (
            "persisted size field",
            p.persisted_state_region_size == PERSISTED_REGION_SIZE,
        ),
    ];
    match checks.iter().find(|(_, ok)| !ok) {
        None => {
            r.ok(
                "param-offsets",
                format_args!(
                    "kernel entry {:#x}, shim {:#x}, initrd {}, cmdline {:#x}, params {:#x}, page tables {}, used {}, moved by a VMM: {:#x}",
                    l.kernel_entry, l.base, l.initrd, l.cmdline, l.params_page, l.page_tables, l.used,
                    if relocated { l.sidecar_entry } else { 0 },
                ),
            );
            true
        }
        Some((what, _)) => {
            r.fail(
                "param-offsets",
                format_args!(
                    "{}: memory {}, kernel entry {:#x}, shim {:#x}, sidecar {} entry {:#x}, initrd {}, params {:#x}, cmdline {:#x}, reserved {}, parameter region {}, log {}, heap {}, page tables {}, used {}",
                    what, mem, l.kernel_entry, l.base, l.sidecar, l.sidecar_entry, l.initrd, l.params_page, l.cmdline,
                    l.reserved_region, l.parameter_region, l.log_buffer, l.heap, l.page_tables, l.used
                ),
            );
            false
        }
    }
}

fn params_inside(l: &Layout) -> bool {
    let page = Range {
        start: l.params_page,
        end: l.params_page.wrapping_add(PAGE),
    };
    [
        page,
        l.parameter_region,
        l.reserved_region,
        l.log_buffer,
        l.heap,
        l.persisted,
    ]
    .iter()
    .all(|range| range.within(&l.memory))
}

fn check_registers(r: &mut Report, state: &EntryState, l: &Layout) {
    let (cr0, cr3) = (arch::cr0(), arch::cr3());
    let (efer, pat) = (arch::rdmsr(MSR_EFER), arch::rdmsr(MSR_PAT));
    // CR0.ET (bit 4) is hardwired to 1 since the P6 family (Intel SDM vol.
    // 3A §2.5): a processor reads it as 1 whatever the VMM wrote (QEMU's
    // does; KVM's keeps the 0 written), so it is not compared.
    if cr0 | CR0_ET == CR0 | CR0_ET
        && state.cr4 == CR4
        && efer == EFER
        && pat == PAT
        && state.rflags == 2
        && cr3 == l.page_tables.start
    {
        r.ok(
            "registers",
            format_args!(
                "CR0 {:#x} CR3 {:#x} CR4 {:#x} EFER {:#x} PAT {:#x} RFLAGS {:#x}",
                cr0, cr3, state.cr4, efer, pat, state.rflags
            ),
        );
    } else {
        r.fail(
            "registers",
            format_args!(
                "CR0 {:#x} (want {:#x}) CR3 {:#x} (want {:#x}) CR4 {:#x} (want {:#x}) EFER {:#x} (want {:#x}) PAT {:#x} (want {:#x}) RFLAGS {:#x} (want 0x2)",
                cr0, CR0, cr3, l.page_tables.start, state.cr4, CR4, efer, EFER, pat, PAT, state.rflags
            ),
        );
    }
}

/// Walks the live tables (CR3) with x86-pagetables' walker: every 2 MiB
/// page of VTL2 memory must map to itself, writable, and nothing else may be
/// mapped. The leaf must be the one the profile's builder uses: from
/// `release-1.7.2511` on a 1 GiB leaf wherever a whole 1 GiB-aligned GiB
/// lies in VTL2 memory, else 2 MiB (docs/abi-versions.md G3).
fn check_identity_map(r: &mut Report, l: &Layout) -> bool {
    let cr3 = arch::cr3();
    if !l.page_tables.within(&l.memory) || cr3 < l.page_tables.start || cr3 >= l.page_tables.end {
        r.fail(
            "identity-map",
            format_args!(
                "CR3 {:#x} not inside the page-table region {}",
                cr3, l.page_tables
            ),
        );
        return false;
    }
    // SAFETY: the page-table region lies in VTL2 memory and maps itself (it
    // is how the CPU is running); nothing writes it while the walker reads.
    let tables = unsafe { memory(l.page_tables.start, l.page_tables.size()) };
    let walker = match PageTableWalker::new(tables, l.page_tables.start, cr3, None) {
        Ok(w) => w,
        Err(e) => {
            r.fail("identity-map", format_args!("{}", e));
            return false;
        }
    };
    let mut pages = 0u64;
    let mut pages_in_1gib_leaves = 0u64;
    let mut va = l.memory.start;
    while va < l.memory.end {
        let gib = va & !(X64_1GB_PAGE_SIZE - 1);
        let expected = if ABI.facts().x64_largest_leaves
            && gib >= l.memory.start
            && gib.saturating_add(X64_1GB_PAGE_SIZE) <= l.memory.end
        {
            PageSize::Size1GiB
        } else {
            PageSize::Size2MiB
        };
        match walker.translate(va) {
            Ok(t) if t.pa == va && t.page_size == expected && t.writable => {
                if expected == PageSize::Size1GiB {
                    pages_in_1gib_leaves += 1;
                }
            }
            Ok(t) => {
                r.fail(
                    "identity-map",
                    format_args!(
                        "VA {:#x} maps to {:#x} ({:?}, expected {:?}, writable {})",
                        va, t.pa, t.page_size, expected, t.writable
                    ),
                );
                return false;
            }
            Err(e) => {
                r.fail("identity-map", format_args!("VA {:#x}: {}", va, e));
                return false;
            }
        }
        pages += 1;
        va += MIB2;
    }
    // Nothing but VTL2 memory is mapped: one identity region, exactly it.
    let mut regions = 0u32;
    let mut mapped_bytes = 0u64;
    for region in walker.regions() {
        match region {
            Ok(region) => {
                regions += 1;
                mapped_bytes = mapped_bytes.saturating_add(region.size);
                if region.va != region.pa
                    || !(Range {
                        start: region.va,
                        end: region.va.saturating_add(region.size),
                    })
                    .within(&l.memory)
                {
                    r.fail(
                        "identity-map",
                        format_args!(
                            "extra mapping VA {:#x} -> PA {:#x} size {:#x}",
                            region.va, region.pa, region.size
                        ),
                    );
                    return false;
                }
            }
            Err(e) => {
                r.fail("identity-map", format_args!("iterating: {}", e));
                return false;
            }
        }
    }
    if mapped_bytes != l.memory.size() {
        r.fail(
            "identity-map",
            format_args!(
                "{:#x} bytes mapped in {} regions, VTL2 memory is {:#x}",
                mapped_bytes,
                regions,
                l.memory.size()
            ),
        );
        return false;
    }
    r.ok(
        "identity-map",
        format_args!(
            "{} 2 MiB pages of {} identity mapped by CR3 {:#x} ({} of them in 1 GiB leaves), nothing else mapped",
            pages, l.memory, cr3, pages_in_1gib_leaves
        ),
    );
    true
}

fn check_gdt(r: &mut Report, l: &Layout) {
    let (base, limit) = arch::gdtr();
    let gdt_page = l.params_page.wrapping_sub(PAGE);
    let selectors = arch::selectors();
    let expected = [
        CODE_SELECTOR,
        DATA_SELECTOR,
        DATA_SELECTOR,
        DATA_SELECTOR,
        DATA_SELECTOR,
        DATA_SELECTOR,
        0,
    ];
    if base != gdt_page || limit != 0x1F {
        r.fail(
            "gdt",
            format_args!("GDTR {:#x}/{:#x}, want {:#x}/0x1f", base, limit, gdt_page),
        );
        return;
    }
    let mut entries = [0u64; 4];
    for (i, e) in entries.iter_mut().enumerate() {
        *e = read_u64(base + 8 * i as u64);
    }
    if entries != GDT {
        r.fail(
            "gdt",
            format_args!(
                "entries {:#x} {:#x} {:#x} {:#x}",
                entries[0], entries[1], entries[2], entries[3]
            ),
        );
    } else if selectors != expected {
        r.fail(
            "gdt",
            format_args!(
                "selectors CS {:#x} DS {:#x} ES {:#x} FS {:#x} GS {:#x} SS {:#x} TR {:#x}",
                selectors[0],
                selectors[1],
                selectors[2],
                selectors[3],
                selectors[4],
                selectors[5],
                selectors[6]
            ),
        );
    } else {
        r.ok(
            "gdt",
            format_args!("GDTR {:#x}/0x1f, code 0x10 = {:#x}, data 0x18 = {:#x}, CS 0x10, DS/ES/FS/GS/SS 0x18, TR 0", base, GDT[2], GDT[3]),
        );
    }
}

/// The command-line page (docs/abi.md §3.2). A test that wants a policy
/// checked writes `shimtest.policy=static` or `shimtest.policy=append_chosen`
/// in the command line.
fn check_command_line(r: &mut Report, l: &Layout) {
    // SAFETY: the command-line page is inside checked, mapped VTL2 memory.
    let page = match ParavisorCommandLine::read_from(unsafe { memory(l.cmdline, PAGE) }) {
        Ok(page) => page,
        Err(e) => {
            r.fail("cmdline", format_args!("{}", e));
            return;
        }
    };
    let len = page.static_command_line_len;
    let policy = page.policy;
    let text = match page.command_line() {
        Ok(text) => text,
        Err(e) => {
            r.fail("cmdline", format_args!("{}", e));
            return;
        }
    };
    let rest = page
        .static_command_line
        .get(usize::from(len)..)
        .unwrap_or(&[]);
    if rest.iter().any(|&b| b != 0) {
        r.fail(
            "cmdline",
            format_args!("bytes after the {}-byte line are not zero", len),
        );
        return;
    }
    let expected = if text.contains("shimtest.policy=static") {
        Some(CommandLinePolicy::STATIC)
    } else if text.contains("shimtest.policy=append_chosen") {
        Some(CommandLinePolicy::APPEND_CHOSEN)
    } else {
        None
    };
    let known = policy == CommandLinePolicy::STATIC || policy == CommandLinePolicy::APPEND_CHOSEN;
    if !known || expected.is_some_and(|e| e != policy) {
        r.fail(
            "cmdline",
            format_args!("policy {} (line {:?})", policy.0, text),
        );
        return;
    }
    r.ok(
        "cmdline",
        format_args!("policy {} len {} utf-8 {:?}", policy.0, len, text),
    );
}

fn check_initrd(r: &mut Report, l: &Layout) {
    let p = &l.params;
    // SAFETY: the initrd range is inside checked, mapped VTL2 memory (empty
    // when there is no initrd).
    let bytes = unsafe { memory(l.initrd.start, l.initrd.size()) };
    let crc = crc32fast::hash(bytes);
    if crc == p.initrd_crc {
        r.ok(
            "initrd-crc",
            format_args!(
                "{} bytes at {:#x}, CRC32 {:#010x}",
                p.initrd_size, l.initrd.start, crc
            ),
        );
    } else {
        r.fail(
            "initrd-crc",
            format_args!(
                "{} bytes at {:#x}: CRC32 {:#010x}, initrd_crc says {:#010x}",
                p.initrd_size, l.initrd.start, crc, p.initrd_crc
            ),
        );
    }
}

/// The region starts zeroed (imported without data), takes a pattern, and
/// is zeroed again.
fn check_writable(r: &mut Report, name: &str, range: Range) {
    let mut addr = range.start;
    let mut nonzero = 0u64;
    let mut mismatch = 0u64;
    while addr < range.end {
        let p = addr as *mut u64;
        // SAFETY: the range is an imported, identity-mapped VTL2 region the
        // shim owns (log buffer / heap); nothing else uses it yet.
        unsafe {
            if p.read_volatile() != 0 {
                nonzero += 1;
            }
            p.write_volatile(addr ^ 0xA5A5_5A5A_A5A5_5A5A);
            if p.read_volatile() != addr ^ 0xA5A5_5A5A_A5A5_5A5A {
                mismatch += 1;
            }
            p.write_volatile(0);
        }
        addr += 8;
    }
    if nonzero == 0 && mismatch == 0 && range.size() != 0 {
        r.ok(
            name,
            format_args!(
                "{} ({:#x} bytes) zeroed, written and read back",
                range,
                range.size()
            ),
        );
    } else {
        r.fail(
            name,
            format_args!(
                "{}: {} words not zero at entry, {} did not read back",
                range, nonzero, mismatch
            ),
        );
    }
}

/// The 4-page VTL2 reserved region holds the VMSA, CPUID and secrets pages
/// only for SNP (docs/abi.md §1.2); without isolation it must be untouched
/// zero pages, and the CPUID slot (page 1) must not read as an SNP CPUID page
/// (snp-cpuid's validating reader).
fn check_reserved_region(r: &mut Report, l: &Layout) {
    // SAFETY: the reserved region is inside checked, mapped VTL2 memory.
    let bytes = unsafe { memory(l.reserved_region.start, l.reserved_region.size()) };
    let nonzero = bytes.iter().filter(|&&b| b != 0).count();
    let cpuid_leaves = bytes
        .get(PAGE as usize..)
        .and_then(|page| snp_cpuid::CpuidPageReader::new(page).ok())
        .map_or(0, |reader| reader.leaves().len());
    if nonzero == 0 && cpuid_leaves == 0 {
        r.ok(
            "reserved-region",
            format_args!(
                "{} all zero, no SNP CPUID leaves (not an SNP image)",
                l.reserved_region
            ),
        );
    } else {
        r.fail(
            "reserved-region",
            format_args!(
                "{}: {} non-zero bytes, {} SNP CPUID leaves",
                l.reserved_region, nonzero, cpuid_leaves
            ),
        );
    }
}

fn check_vtl2_config(r: &mut Report, l: &Layout) {
    let addr = l.parameter_region.start + MEASURED_VTL2_CONFIG_PAGE_INDEX * PAGE;
    // SAFETY: page 105 of the parameter region, inside checked VTL2 memory.
    match ParavisorMeasuredVtl2Config::read_from(unsafe { memory(addr, PAGE) }) {
        // No isolation: vtom_offset_bit 0 (docs/abi.md §3.6), zero padding.
        Ok(c) if c.vtom_offset_bit == 0 && c.padding == [0; 7] => r.ok(
            "vtl2-measured-config",
            format_args!("at {:#x}: magic {:#x}, vtom_offset_bit 0", addr, c.magic),
        ),
        Ok(c) => r.fail(
            "vtl2-measured-config",
            format_args!(
                "at {:#x}: vtom_offset_bit {}, padding {:?}",
                addr, c.vtom_offset_bit, c.padding
            ),
        ),
        Err(e) => r.fail(
            "vtl2-measured-config",
            format_args!("at {:#x}: {}", addr, e),
        ),
    }
}

/// The VTL0 measured config is at GPA 0, which the loader's tables do not
/// map. The shim maps GPA 0..2 MiB at an unused PML4 slot through two heap
/// pages, reads it, and removes the mapping again.
fn check_vtl0_config(r: &mut Report, l: &Layout) {
    let pml4 = arch::cr3() & 0x000F_FFFF_FFFF_F000;
    let Some(slot) = (1..512u64).find(|i| read_u64(pml4 + 8 * i) & 1 == 0) else {
        r.fail(
            "vtl0-measured-config",
            format_args!("no free PML4 slot to map GPA 0"),
        );
        return;
    };
    let pdpt = l.heap.start;
    let pd = l.heap.start + PAGE;
    let va = slot << 39;
    // SAFETY: the heap pages are the shim's own (checked writable and zero);
    // the PML4 slot is unused, so adding it changes no existing mapping; the
    // slot is cleared and the TLB flushed before anything else runs.
    let config = unsafe {
        (pdpt as *mut u64).write_volatile(pd | 0x23);
        (pd as *mut u64).write_volatile(0xE3);
        ((pml4 + 8 * slot) as *mut u64).write_volatile(pdpt | 0x23);
        arch::flush_tlb();
        // Copied out (read_from returns a value) before the mapping goes.
        let v = ParavisorMeasuredVtl0Config::read_from(memory(va, PAGE));
        ((pml4 + 8 * slot) as *mut u64).write_volatile(0);
        arch::flush_tlb();
        (pdpt as *mut u64).write_volatile(0);
        (pd as *mut u64).write_volatile(0);
        v
    };
    // supported_vtl0: bit 0 UEFI, 1 PCAT, 2 Linux; bits 3..=63 reserved.
    match config {
        Ok(c) if c.supported_vtl0.into_bits() >> 3 == 0 => r.ok(
            "vtl0-measured-config",
            format_args!(
                "at GPA 0 (mapped via PML4 slot {}): magic {:#x}, supported_vtl0 {:#x}",
                slot,
                c.magic,
                c.supported_vtl0.into_bits()
            ),
        ),
        Ok(c) => r.fail(
            "vtl0-measured-config",
            format_args!(
                "supported_vtl0 {:#x} has reserved bits",
                c.supported_vtl0.into_bits()
            ),
        ),
        Err(e) => r.fail("vtl0-measured-config", format_args!("at GPA 0: {}", e)),
    }
}

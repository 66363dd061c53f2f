#!/usr/bin/env python3
"""Independent differential oracle for the paravisor loader.

    oracle.py MANIFEST.json -o SUMMARY.json
    oracle.py --batch IN_DIR OUT_DIR        (every *.json manifest in IN_DIR)

Re-implements the ORIGINAL OpenHCL loader (OpenVMM 95f63b08) from the
specification only (docs/algorithms.md §2-§9, docs/abi.md,
docs/worked-example.md, the original paravisor.rs) and writes the image summary
(docs/formats.md §2) that a recording importer following docs/formats.md §3 would
produce. It shares no code with the Rust workspace: that independence is the
point of it.

Modelled behaviour:
  * every importer call, in the original order, with its quirks (0-page
    imports ignored, overlapping imports / data longer than its pages /
    a register imported twice -> the load counts as failed, §3 rule 3);
  * every panic / assert / u64 overflow of the original (§9) -> ok:false
    (overflow is treated as a debug-build panic: ok:false);
  * usage errors (docs/formats.md §3 rule 8: missing file, sidecar on aarch64,
    unknown format, bits out of range, a VTL0 command line with a NUL) ->
    no summary, exit status 3.

Exit status: 0 summary written (ok true or false), 2 bad invocation,
3 usage error in the manifest.
Stdlib only: json, struct, hashlib, zlib.
"""

import hashlib
import json
import os
import struct
import sys
import zlib

PAGE = 0x1000
MB2 = 0x20_0000
GB1 = 0x4000_0000
U64 = (1 << 64) - 1
FORMAT_MANIFEST = "paravisor-load-manifest/1"
FORMAT_SUMMARY = "paravisor-image-summary/1"

DEFAULT_BASE = 0x0800_0000
PERSISTED = MB2
COMMAND_LINE_SIZE = 4092
PARAM_REGION_PAGES = 106
RESERVED_PAGES = 4
LOG_SIZE = 0x2000
HEAP_SIZE = 0x1_0000
LOCAL_MAP_VA = MB2
LOCAL_MAP_SIZE = MB2
TDX_MAP_SIZE = 0xC000_0000
RELOC_MAX = 1 << 48
VTL0_MAGIC = 0x4F48_434C_5654_4C30
VTL2_MAGIC = 0x4F48_434C_5654_4C32
SNP_C_BIT = 51


class LoadFailed(Exception):
    """The original returned an error or panicked (or the image is invalid)."""


class UsageError(Exception):
    """docs/formats.md §3 rule 8: the manifest cannot be expressed."""


def fail(msg):
    raise LoadFailed(msg)


def chk(v, what):
    """u64 overflow check (debug build panics; see docs/algorithms.md §1.1)."""
    if v < 0 or v > U64:
        fail(f"panic: arithmetic overflow in {what}")
    return v


def align_up(v, a, what="align_up"):
    return chk(v + a - 1, what) & ~(a - 1)


# ---------------------------------------------------------------------------
# Recording importer (docs/formats.md §2-§3)
# ---------------------------------------------------------------------------

class Importer:
    def __init__(self, iso, bits, paravisor_present):
        self.iso = iso
        self.bits = bits
        self.paravisor_present = paravisor_present
        self.startup = []
        self.imports = []  # (base, count, tag, acceptance, data)
        self.registers = {}
        self.areas = []
        self.params = []
        self.vp_context_page = None
        self.reloc = []
        self.pt_reloc = []
        self.irc_page = None

    def isolation_config(self):
        return self.iso, self.paravisor_present, self.bits

    def verify_startup_memory_available(self, base, count, typ):
        self.startup.append({"page_base": base, "page_count": count, "type": typ})

    def import_pages(self, base, count, tag, acceptance, data=b""):
        if count == 0:
            if data:
                fail(f"import of 0 pages with {len(data)} data bytes ({tag})")
            return
        if len(data) > count * PAGE:
            fail(f"import {tag}: {len(data)} data bytes longer than {count} pages")
        if base + count > (U64 >> 12) + 1:
            fail(f"import {tag}: page range overflows")
        self.imports.append((base, count, tag, acceptance, bytes(data)))

    def create_parameter_area(self, base, count, tag):
        self.areas.append({"index": len(self.areas), "page_base": base, "page_count": count,
                           "tag": tag, "initial_data_sha256": None})
        return len(self.areas) - 1

    def import_parameter(self, area, offset, typ):
        self.params.append({"area": area, "byte_offset": offset, "type": typ})

    def import_vp_register(self, name, value):
        if name in self.registers:
            fail(f"register {name} imported twice")
        self.registers[name] = value

    def set_vp_context_page(self, page):
        if self.vp_context_page is not None:
            fail("set_vp_context_page called twice")
        self.vp_context_page = page

    def relocation_region(self, gpa, size, align, lo, hi, rip, gdtr, vp):
        self.reloc.append({"gpa": hex(gpa), "size_bytes": hex(size), "alignment": hex(align),
                           "minimum_gpa": hex(lo), "maximum_gpa": hex(hi),
                           "apply_rip_offset": rip, "apply_gdtr_offset": gdtr,
                           "vp_index": vp})

    def page_table_relocation(self, gpa, size_pages, used_pages, vp):
        self.pt_reloc.append({"gpa": hex(gpa), "size_pages": size_pages,
                              "used_pages": used_pages, "vp_index": vp})

    def set_imported_regions_config_page(self, page):
        if self.irc_page is not None:
            fail("set_imported_regions_config_page called twice")
        self.irc_page = page

    def pages(self):
        imps = sorted(self.imports, key=lambda t: t[0])
        for a, b in zip(imps, imps[1:]):
            if a[0] + a[1] > b[0]:
                fail(f"imports overlap: {a[2]} pages {a[0]:#x}+{a[1]} and "
                     f"{b[2]} pages {b[0]:#x}+{b[1]}")
        runs = []
        for base, count, tag, acc, data in imps:
            if runs and runs[-1]["tag"] == tag and runs[-1]["acceptance"] == acc and \
                    runs[-1]["page_base"] + runs[-1]["page_count"] == base:
                r = runs[-1]
                r["page_count"] += count
            else:
                r = {"page_base": base, "page_count": count, "tag": tag, "acceptance": acc,
                     "_h": hashlib.sha256()}
                runs.append(r)
            h = r["_h"]
            h.update(data)
            pad = count * PAGE - len(data)
            zeros = bytes(min(pad, 1 << 20))
            while pad > 0:
                n = min(pad, len(zeros))
                h.update(zeros[:n])
                pad -= n
        out = []
        for r in runs:
            h = r.pop("_h")
            r["sha256"] = h.hexdigest()
            out.append(r)
        return out

    def summary(self, arch):
        return {
            "format": FORMAT_SUMMARY, "arch": arch, "ok": True, "error": None,
            "startup_memory": self.startup, "pages": self.pages(),
            "registers": self.registers, "parameter_areas": self.areas,
            "parameters": self.params, "vp_context_page": self.vp_context_page,
            "relocation_regions": self.reloc, "page_table_relocations": self.pt_reloc,
            "imported_regions_config_page": self.irc_page,
        }


def failed_summary(arch, msg):
    return {
        "format": FORMAT_SUMMARY, "arch": arch, "ok": False, "error": msg,
        "startup_memory": [], "pages": [], "registers": {}, "parameter_areas": [],
        "parameters": [], "vp_context_page": None, "relocation_regions": [],
        "page_table_relocations": [], "imported_regions_config_page": None,
    }


# ---------------------------------------------------------------------------
# §2 ELF static loader
# ---------------------------------------------------------------------------

def u16(b, o):
    return struct.unpack_from("<H", b, o)[0]


def u32(b, o):
    return struct.unpack_from("<I", b, o)[0]


def u64(b, o):
    return struct.unpack_from("<Q", b, o)[0]


def elf_program_headers(f):
    """Steps 5: the PT_LOAD headers (p_offset, p_paddr, p_filesz, p_memsz) in file order."""
    phoff = u64(f, 32)
    phentsize = u16(f, 54)
    phnum = u16(f, 56)
    if phoff == 0:
        return []
    if phnum == 0xFFFF:
        shoff = u64(f, 40)
        if shoff == 0:
            fail("ELF: InvalidProgramHeader (e_phnum overflow without section 0)")
        if u16(f, 58) != 64:
            fail("ELF: InvalidProgramHeader (bad e_shentsize)")
        if shoff + 64 > len(f):
            fail("ELF: InvalidProgramHeader (section 0 outside the file)")
        phnum = u32(f, shoff + 44)
    if phnum == 0:
        return []
    if phentsize != 56:
        fail("ELF: InvalidProgramHeader (e_phentsize != 56)")
    if phoff + 56 * phnum > len(f):
        fail("ELF: InvalidProgramHeader (table outside the file)")
    out = []
    for i in range(phnum):
        o = phoff + 56 * i
        if u32(f, o) == 1:
            out.append((u64(f, o + 8), u64(f, o + 24), u64(f, o + 32), u64(f, o + 40)))
    return out


def load_static_elf(imp, f, start, load_offset, assume_pic, acceptance, tag, machine):
    if len(f) < 64:
        fail("ELF: ReadFileHeader")
    if f[0:4] != b"\x7fELF" or f[4] != 2 or f[5] not in (1, 2) or f[6] != 1:
        fail("ELF: InvalidFileHeader")
    if f[5] == 2:
        fail("ELF: BigEndianElfOnLittle")
    if u16(f, 18) != machine:
        fail("ELF: TargetMachineMismatch")
    phs = elf_program_headers(f)
    if assume_pic:
        lowest_paddr = min((p[1] for p in phs), default=U64)
        L = chk(start - lowest_paddr + load_offset, "ELF L") if lowest_paddr < start else load_offset
    else:
        L = load_offset
    entry = u64(f, 24) + L
    if entry > U64 or entry < start:
        fail("ELF: InvalidEntryAddress")
    lowest, last = U64, L
    for _, paddr, _, memsz in phs:
        m = paddr + L
        if m > U64:
            fail("ELF: LoadOffsetOverflow")
        if m < start:
            fail("ELF: InvalidProgramHeaderMemoryOffset")
        pb = m // PAGE
        pc = chk((m % PAGE) + memsz + PAGE - 1, "ELF page count") // PAGE
        lowest = min(lowest, pb * PAGE)
        last = max(last, chk((pb + pc) * PAGE, "ELF last"))
    bias = chk(lowest - start, "reloc_bias") if assume_pic else 0
    for off, paddr, filesz, memsz in phs:
        m = paddr + L
        if m > U64:
            fail("ELF: LoadOffsetOverflow")
        m -= bias
        if m < 0:
            fail("ELF: RelocBiasOverflow")
        if m < start:
            fail("ELF: InvalidProgramHeaderMemoryOffset")
        if filesz and (off + filesz > len(f)):
            fail("ELF: ReadKernelImage")
        if (m % PAGE) + filesz > (1 << 40):
            fail("ELF: allocation abort")
        data = bytes(m % PAGE) + (f[off:off + filesz] if filesz else b"")
        pb = m // PAGE
        pc = chk((m % PAGE) + memsz + PAGE - 1, "ELF page count") // PAGE
        if pc > 0:
            imp.import_pages(pb, pc, tag, acceptance, data)
    minimum = chk(lowest - bias, "ELF minimum")
    nxt = chk(last - bias, "ELF next")
    return minimum, nxt, chk(entry - bias, "ELF entry")


# ---------------------------------------------------------------------------
# §3 AArch64 Image loader
# ---------------------------------------------------------------------------

def load_image_arm64(imp, f, K, initrd):
    if K % MB2:
        fail("panic: Start offset must be aligned on the 2MiB boundary")
    if len(f) < 64:
        fail("Image: ReadKernelImage")
    if f[56:60] != b"ARM\x64":
        fail("Image: BadImageMagic")
    text_offset, image_size, flags = u64(f, 8), u64(f, 16), u64(f, 24)
    if flags & 1:
        fail("Image: BigEndianKernelImage")
    if (flags >> 1) & 3 != 1:
        fail("Image: FourKibPageImageIsRequired")
    if not (flags >> 3) & 1:
        fail("Image: LowMemoryKernel")
    load_addr = chk(K + text_offset, "K + text_offset")
    ksize = align_up(image_size if image_size else len(f), PAGE, "kernel size")
    imp.import_pages(load_addr // PAGE, ksize // PAGE, "linux-kernel", "exclusive", f)
    nxt = chk(load_addr + ksize, "kernel end")
    addr = align_up(nxt, MB2, "initrd address")
    imp.import_pages(addr // PAGE, align_up(len(initrd), PAGE) // PAGE, "linux-initrd",
                     "exclusive", initrd)
    return ksize, load_addr, addr, len(initrd)


# ---------------------------------------------------------------------------
# §4 x64 page tables
# ---------------------------------------------------------------------------

def pde_table_count(start, size):
    end = chk(start + size, "pde end")
    up = align_up(start, GB1)
    down = end & ~(GB1 - 1)
    if size < GB1:
        return 2 if (end > down and start < down) else 1
    n = 1 if start != up else 0
    if down > up:
        n += (down - up) // GB1
    if end > down:
        n += 1
    return n


def build_x64_tables(ptg, S, Z, local_map, cbit, reset_vector):
    if Z == 0:
        fail("panic: size not set")
    if Z > 0x80_0000_0000:
        fail("panic: more than 512 gb size not supported")
    if Z % MB2:
        fail("panic: size not 2mb aligned")
    if S % MB2:
        fail("panic: start_gpa not 2mb aligned")
    if local_map:
        va, sz = local_map
        if va % MB2:
            fail("panic: local map address not 2 mb aligned")
        if sz % MB2:
            fail("panic: local map size not 2 mb aligned")
        if sz == 0:
            fail("panic: local map size cannot be 0")
        if va + sz > S and va < S + Z:
            fail("panic: local map overlaps with mapped region")
    c = (1 << cbit) if cbit is not None else 0
    mask = 0x000F_FFFF_FFFF_F000 & ~c
    tables = [dict()]

    def entry(addr, flags, align):
        if addr % align or addr & ~mask:
            fail("panic: page table entry address misaligned")
        return addr | flags | c

    def child(t, idx):
        e = tables[t].get(idx, 0)
        if e & 1:
            return ((e & mask) - ptg) // PAGE
        n = len(tables)
        tables[t][idx] = entry(ptg + n * PAGE, 0x23, PAGE)
        tables.append(dict())
        return n

    def link(frm, to, large):
        va = frm
        while va < to:
            pdpt = child(0, (va >> 39) & 511)
            pd = child(pdpt, (va >> 30) & 511)
            pdi = (va >> 21) & 511
            if tables[pd].get(pdi, 0) & 1:
                fail("panic: PD entry already present")
            if large:
                tables[pd][pdi] = entry(va, 0xE3, MB2)
                va += MB2
            else:
                pt = child(pd, pdi)
                tables[pt][(va >> 12) & 511] = entry(va, 0x63, PAGE)
                va += PAGE

    link(S, S + Z, True)
    if local_map:
        link(local_map[0], local_map[0] + local_map[1], True)
    if reset_vector:
        link(0xFFFF_F000, 0x1_0000_0000, False)
    out = bytearray(len(tables) * PAGE)
    for n, t in enumerate(tables):
        for i, v in t.items():
            struct.pack_into("<Q", out, n * PAGE + 8 * i, v)
    return bytes(out)


# ---------------------------------------------------------------------------
# §5 AArch64 identity page tables
# ---------------------------------------------------------------------------

def build_arm64_tables(ptg, S, Z, R):
    if S % MB2:
        fail("panic: start_gpa not 2mb aligned")
    if Z % MB2:
        fail("panic: size not 2mb aligned")
    mem = bytearray(R)
    mem[0:PAGE] = b"\xFE" * PAGE
    state = {"brk": ptg + PAGE}
    attr = 3

    def canonical(v):
        top = (v >> 47) & 1
        return (v >> 47) == (0 if top == 0 else (1 << 17) - 1)

    def rd(tbl, idx):
        return u64(mem, tbl - ptg + 8 * idx)

    def wr(tbl, idx, v):
        struct.pack_into("<Q", mem, tbl - ptg + 8 * idx, v)

    def pfn_ok(addr):
        if (addr >> 12) >= (1 << 35):
            fail("panic: arm64 descriptor PFN does not fit 35 bits")

    def map_page(P, V, size):
        leaf = {GB1: 1, MB2: 2, PAGE: 3}[size]
        tbl = ptg
        for level in range(leaf):
            idx = (V >> (39 - 9 * level)) & 0x1FF
            e = rd(tbl, idx)
            if e & 1 and not e & 2:
                fail("panic: AlreadyMapped")
            if not e & 1:
                if state["brk"] >= ptg + R:
                    fail("panic: OutOfMemory")
                new = state["brk"]
                state["brk"] += PAGE
                pfn_ok(new)
                e = new | 0x3
                wr(tbl, idx, e)
            tbl = e & 0x0000_7FFF_FFFF_F000
        idx = (V >> (39 - 9 * leaf)) & 0x1FF
        if rd(tbl, idx) & 1:
            fail("panic: AlreadyMapped")
        pfn_ok(P)
        wr(tbl, idx, P | (0x0040_0000_0000_070F if leaf == 3 else 0x0040_0000_0000_070D))

    def map_range(P, V, size):
        if P % PAGE or size % PAGE or size == 0 or V % PAGE or not canonical(V):
            fail("panic: map_range error")
        rem = size
        while rem:
            if P % GB1 == 0 and V % GB1 == 0 and rem >= GB1:
                psz, cnt = GB1, rem // GB1
            elif P % MB2 == 0 and V % MB2 == 0 and rem >= MB2:
                gap = align_up(V, GB1) - V
                psz, cnt = MB2, (gap if 0 < gap < rem else rem) // MB2
            else:
                g1 = align_up(V, GB1) - V
                g2 = align_up(V, MB2) - V
                n = g1 if 0 < g1 < rem else (g2 if 0 < g2 < rem else rem)
                psz, cnt = PAGE, n // PAGE
            if V % PAGE or not canonical(V) or P % psz or V % psz:
                fail("panic: map_pages error")
            if cnt == 0:
                fail("panic: EmptyMapping")
            for _ in range(cnt):
                map_page(P, V, psz)
                P += psz
                V += psz
            rem -= cnt * psz

    map_range(S, S, Z)
    return bytes(mem[:state["brk"] - ptg])


# ---------------------------------------------------------------------------
# §6 SNP CPUID page
# ---------------------------------------------------------------------------

SNP_LEAVES = [(0x8000_001F, 0), (0, 0), (1, 0), (0x8000_0000, 0), (5, 0), (9, 0), (0xA, 0),
              (7, 0), (0xB, 0), (0xB, 1), (0x8000_0001, 0), (0x8000_0005, 0),
              (0x8000_0006, 0), (0x8000_0007, 0), (0x8000_0008, 0), (0x8000_000A, 0),
              (0x8000_001E, 0)] + [(0xD, i) for i in range(9)] + \
             [(0x8000_0002, 0), (0x8000_0003, 0), (0x8000_0004, 0), (0x8000_0019, 0),
              (0x8000_001A, 0)] + [(0x8000_001D, i) for i in range(4)]


def snp_cpuid_page():
    assert len(SNP_LEAVES) == 35
    b = bytearray(3088)
    struct.pack_into("<I", b, 0, len(SNP_LEAVES))
    for i, (eax, ecx) in enumerate(SNP_LEAVES):
        struct.pack_into("<IIQ", b, 16 + 48 * i, eax, ecx, 1 if eax == 0xD else 0)
    return bytes(b)


# ---------------------------------------------------------------------------
# Structures (docs/abi.md §2-§3)
# ---------------------------------------------------------------------------

def shim_params(fields):
    order = ["kernel_entry_offset", "cmdline_offset", "initrd_offset", "initrd_size",
             "initrd_crc", "supported_isolation_type", "memory_start_offset", "memory_size",
             "parameter_region_offset", "parameter_region_size",
             "vtl2_reserved_region_offset", "vtl2_reserved_region_size", "sidecar_offset",
             "sidecar_size", "sidecar_entry_offset", "used_start", "used_end",
             "bounce_buffer_start", "bounce_buffer_size", "page_tables_start",
             "page_tables_size", "log_buffer_start", "log_buffer_size", "heap_start_offset",
             "heap_size", "persisted_state_region_offset", "persisted_state_region_size"]
    out = b""
    for k in order:
        v = fields[k] & U64
        out += struct.pack("<I", v & 0xFFFF_FFFF) if k in ("initrd_crc", "supported_isolation_type") \
            else struct.pack("<Q", v)
    assert len(out) == 208
    return out


def paravisor_command_line(text, policy):
    b = text.encode("utf-8")
    if len(b) > COMMAND_LINE_SIZE:
        fail(f"CommandLineSize({len(b)})")
    return struct.pack("<HH", policy, len(b)) + b + bytes(COMMAND_LINE_SIZE - len(b))


def measured_vtl0(bits, uefi_info, linux_info):
    b = struct.pack("<QQ", VTL0_MAGIC, bits)
    b += struct.pack("<QQQQ", *(uefi_info or (0, 0, 0, 0)))
    b += struct.pack("<QQQQQQQQ", *(linux_info or (0,) * 8))
    assert len(b) == 112
    return b


def measured_vtl2(bit):
    return struct.pack("<QB7x", VTL2_MAGIC, bit)


def seg(sel, base, limit, attr):
    return {"selector": hex(sel), "base": hex(base), "limit": hex(limit), "attributes": hex(attr)}


def parameter_areas(imp, config_page):
    a = imp.create_parameter_area(config_page, 20, "underhill-slit")
    imp.import_parameter(a, 0, "slit")
    a = imp.create_parameter_area(config_page + 20, 20, "underhill-pptt")
    imp.import_parameter(a, 0, "pptt")
    a = imp.create_parameter_area(config_page + 40, 64, "underhill-device-tree")
    imp.import_parameter(a, 0, "device_tree")


# ---------------------------------------------------------------------------
# §7 load_openhcl_x64
# ---------------------------------------------------------------------------

def load_x64(imp, m):
    iso, present, bits = imp.isolation_config()
    isolated = iso in ("snp", "tdx")
    with_reloc = m["base"] is None and iso == "none"
    S = chk(m["base"] * PAGE, "memory_page_base * 4096") if m["base"] is not None else DEFAULT_BASE
    Z = chk(m["count"] * PAGE, "memory_page_count * 4096")
    if S % MB2:
        fail(f"MemoryUnaligned({S:#x})")
    if Z % MB2:
        fail(f"MemoryUnaligned({Z:#x})")
    imp.verify_startup_memory_available(S // PAGE, m["count"],
                                        "vtl2_protectable_ram" if present else "ram")
    kacc = "shared" if isolated else "exclusive"
    off = chk(S + PERSISTED, "off")
    bounce = None
    if isolated:
        bounce = off
        off = chk(off + MB2, "off")
    _, off, kernel_entry = load_static_elf(imp, m["kernel"], off, 0, True, kacc,
                                           "underhill-kernel", 62)
    if off % PAGE:
        fail("panic: kernel end not page aligned")
    if m["sidecar"] is not None:
        off = align_up(off, MB2)
        _, snext, sidecar_entry = load_static_elf(imp, m["sidecar"], 0, off, False, "exclusive",
                                                  "sidecar-kernel", 62)
        sidecar_size = chk(snext - off, "sidecar size")
    else:
        sidecar_size, sidecar_entry = 0, 0
    sidecar_base = off
    off = chk(off + sidecar_size, "off")
    shim_base, off, shim_entry = load_static_elf(imp, m["shim"], 0, off, False, "exclusive",
                                                 "underhill-boot-shim", 62)
    initrd_base, initrd_len = 0, 0
    initrd = m["initrd"]
    if initrd is not None:
        initrd_base = off
        sa = align_up(len(initrd), PAGE)
        imp.import_pages(initrd_base // PAGE, sa // PAGE, "underhill-initrd", kacc, initrd)
        off = chk(off + sa, "off")
        initrd_len = len(initrd)
    gdt_base = off
    off = chk(off + PAGE, "off")
    boot_params = off
    off = chk(off + PAGE, "off")
    cmdline_base = off
    imp.import_pages(cmdline_base // PAGE, 1, "underhill-command-line", "exclusive",
                     paravisor_command_line(m["cmdline"], m["policy"]))
    off = chk(off + PAGE, "off")
    reserved = off
    off = chk(off + RESERVED_PAGES * PAGE, "off")
    param_region = off
    off = chk(off + PARAM_REGION_PAGES * PAGE, "off")
    log_start = off
    off = chk(off + LOG_SIZE, "off")
    imp.import_pages(log_start // PAGE, 2, "ohcl-boot-shim-log-buffer", "exclusive")
    heap = off
    imp.import_pages(heap // PAGE, 16, "ohcl-boot-shim-heap", "exclusive")
    off = chk(off + HEAP_SIZE, "off")
    end_of_mem = off
    local_map = (LOCAL_MAP_VA, LOCAL_MAP_SIZE) if isolated else None
    mapping = TDX_MAP_SIZE if iso == "tdx" else Z
    pt_pages = 5 + 2 * pde_table_count(S, mapping) + (pde_table_count(MB2, MB2) if local_map else 0) \
        + (3 if iso == "tdx" else 0)
    pt_start = off
    off = chk(off + pt_pages * PAGE, "off")
    tables = build_x64_tables(pt_start, S, mapping, local_map, SNP_C_BIT if iso == "snp" else None,
                              iso == "tdx")
    if len(tables) % PAGE or len(tables) > pt_pages * PAGE:
        fail("panic: page table region too small")
    if with_reloc:
        imp.relocation_region(S, end_of_mem - S, MB2, DEFAULT_BASE, RELOC_MAX, True, True, 0)
        imp.page_table_relocation(pt_start, pt_pages, len(tables) // PAGE, 0)
    if off > chk(S + Z, "S + Z"):
        fail(f"NotEnoughMemory({off - S:#x})")

    def so(a):
        return (a - shim_base) & U64

    params = {
        "kernel_entry_offset": so(kernel_entry), "cmdline_offset": so(cmdline_base),
        "initrd_offset": so(initrd_base), "initrd_size": initrd_len,
        "initrd_crc": zlib.crc32(initrd or b""),
        "supported_isolation_type": {"none": 1, "vbs": 1, "snp": 2, "tdx": 3}[iso],
        "memory_start_offset": so(S), "memory_size": Z,
        "parameter_region_offset": so(param_region),
        "parameter_region_size": PARAM_REGION_PAGES * PAGE,
        "vtl2_reserved_region_offset": so(reserved),
        "vtl2_reserved_region_size": RESERVED_PAGES * PAGE,
        "sidecar_offset": so(sidecar_base), "sidecar_size": sidecar_size,
        "sidecar_entry_offset": so(sidecar_entry), "used_start": so(S), "used_end": so(off),
        "bounce_buffer_start": so(bounce) if isolated else 0,
        "bounce_buffer_size": MB2 if isolated else 0,
        "page_tables_start": so(pt_start), "page_tables_size": pt_pages * PAGE,
        "log_buffer_start": so(log_start), "log_buffer_size": LOG_SIZE,
        "heap_start_offset": so(heap), "heap_size": HEAP_SIZE,
        "persisted_state_region_offset": so(S), "persisted_state_region_size": PERSISTED,
    }
    imp.import_pages(boot_params // PAGE, 1, "underhill-shim-params", "exclusive",
                     shim_params(params))
    imp.import_pages(pt_start // PAGE, pt_pages, "underhill-page-tables", "exclusive", tables)
    gdt = bytes(16) + struct.pack("<QQ", 0x00A0_9B00_0000_FFFF, 0x00C0_9300_0000_FFFF)
    imp.import_pages(gdt_base // PAGE, 1, "underhill-gdt", "exclusive", gdt)
    imp.import_vp_register("gdtr", {"base": hex(gdt_base), "limit": hex(0x1F)})
    for r in ("ds", "es", "fs", "gs", "ss"):
        imp.import_vp_register(r, seg(0x18, 0, 0xFFFF_FFFF, 0xC093))
    imp.import_vp_register("cs", seg(0x10, 0, 0xFFFF_FFFF, 0xA09B))
    imp.import_vp_register("tr", seg(0, 0, 0xFFFF, 0x8B))
    imp.import_vp_register("cr0", hex(0x8000_0021))
    imp.import_vp_register("cr3", hex(pt_start))
    imp.import_vp_register("cr4", hex(0x4_0060))
    imp.import_vp_register("efer", hex(0xD00))
    imp.import_vp_register("pat", hex(0x0007_0406_0007_0406))
    imp.import_vp_register("rsi", hex(chk(boot_params - shim_base, "rsi")))
    imp.import_vp_register("rip", hex(shim_entry))
    config_page = param_region // PAGE
    parameter_areas(imp, config_page)
    if iso == "snp":
        rp = reserved // PAGE
        imp.import_pages(rp + 3, 1, "underhill-snp-secrets-page", "secrets_page")
        imp.import_pages(rp + 1, 1, "underhill-snp-cpuid-page", "cpuid_page", snp_cpuid_page())
        imp.import_pages(rp + 2, 1, "underhill-snp-cpuid-extended-state-page",
                         "cpuid_extended_state_page")
        imp.set_vp_context_page(rp)
    vbits = 0
    free_page = 1
    uefi_info = linux_info = None
    if m["pcat"]:
        vbits |= 2
    if m["uefi"] is not None:
        u = m["uefi"]
        vbits |= 1
        vp_page = free_page
        free_page += 1
        uefi_info = (u["firmware_base"] // PAGE, u["total_size"] // PAGE, vp_page, 1)
        imp.import_pages(vp_page, 1, "openhcl-uefi-vp-context", "exclusive", u["vp_context"])
    if m["linux"] is not None:
        lx = m["linux"]
        vbits |= 4
        k = lx["kernel"]
        kr = (k["gpa"] // PAGE, align_up(k["size"], PAGE) // PAGE)
        if lx["initrd"] is not None:
            ir = lx["initrd"]
            if ir["gpa"] % PAGE:
                fail(f"MemoryUnaligned({ir['gpa']:#x})")
            irr = (ir["gpa"] // PAGE, align_up(ir["size"], PAGE) // PAGE)
            isz = ir["size"]
        else:
            irr, isz = (0, 0), 0
        cl_page = free_page
        imp.import_pages(cl_page, 1, "underhill-vtl0-linux-command-line", "exclusive",
                         lx["command_line"] + b"\0")
        linux_info = (kr[0], kr[1], k["entrypoint"], irr[0], irr[1], isz, cl_page, 1)
    imp.import_pages(0, 1, "underhill-measured-config", "exclusive",
                     measured_vtl0(vbits, uefi_info, linux_info))
    imp.import_pages(config_page + 105, 1, "underhill-vtl2-measured-config", "exclusive",
                     measured_vtl2(bits if bits is not None else 0))
    imp.set_imported_regions_config_page(config_page + 104)


# ---------------------------------------------------------------------------
# §8 load_openhcl_arm64
# ---------------------------------------------------------------------------

def load_arm64(imp, m):
    if m["pcat"]:
        fail("panic: assertion failed: !supports_pcat")
    if m["uefi"] is None and m["linux"] is None:
        fail("panic: assertion failed: supports_uefi.is_some() || supports_linux.is_some()")
    iso, present, _ = imp.isolation_config()
    with_reloc = m["base"] is None
    S = chk(m["base"] * PAGE, "memory_page_base * 4096") if m["base"] is not None else DEFAULT_BASE
    Z = chk(m["count"] * PAGE, "memory_page_count * 4096")
    if S % MB2:
        fail(f"MemoryUnaligned({S:#x})")
    if Z % MB2:
        fail(f"MemoryUnaligned({Z:#x})")
    imp.verify_startup_memory_available(S // PAGE, m["count"],
                                        "vtl2_protectable_ram" if present else "ram")
    nxt = chk(S + PERSISTED, "next")
    initrd = m["initrd"] if m["initrd"] is not None else b""
    K = nxt
    ksize, kernel_entry, initrd_gpa, initrd_size = load_image_arm64(imp, m["kernel"], K, initrd)
    nxt = chk(initrd_gpa + initrd_size, "next")
    nxt = align_up(nxt, PAGE)
    shim_base, nxt, shim_entry = load_static_elf(imp, m["shim"], 0, nxt, False, "exclusive",
                                                 "underhill-boot-shim", 183)
    cmdline_base = nxt
    imp.import_pages(cmdline_base // PAGE, 1, "underhill-command-line", "exclusive",
                     paravisor_command_line(m["cmdline"], m["policy"]))
    nxt = chk(nxt + PAGE, "next")
    params_base = nxt
    nxt = chk(nxt + PAGE, "next")
    param_region = nxt
    nxt = chk(nxt + PARAM_REGION_PAGES * PAGE, "next")
    log_start = nxt
    nxt = chk(nxt + LOG_SIZE, "next")
    imp.import_pages(log_start // PAGE, 2, "ohcl-boot-shim-log-buffer", "exclusive")
    heap = nxt
    imp.import_pages(heap // PAGE, 16, "ohcl-boot-shim-heap", "exclusive")
    nxt = chk(nxt + HEAP_SIZE, "next")
    end_of_mem = nxt
    pt_start = nxt
    nxt = chk(nxt + 15 * PAGE, "next")
    if nxt > chk(S + Z, "S + Z"):
        fail(f"NotEnoughMemory({nxt - S:#x})")
    iso2, _, _ = imp.isolation_config()
    if iso2 not in ("none", "vbs"):
        fail("panic: only None and VBS are supported for ARM64")

    def so(a):
        return (a - shim_base) & U64

    params = {
        "kernel_entry_offset": so(kernel_entry), "cmdline_offset": so(cmdline_base),
        "initrd_offset": so(initrd_gpa), "initrd_size": initrd_size,
        "initrd_crc": zlib.crc32(initrd), "supported_isolation_type": 1,
        "memory_start_offset": so(S), "memory_size": Z,
        "parameter_region_offset": so(param_region),
        "parameter_region_size": PARAM_REGION_PAGES * PAGE,
        "vtl2_reserved_region_offset": 0, "vtl2_reserved_region_size": 0,
        "sidecar_offset": 0, "sidecar_size": 0, "sidecar_entry_offset": 0,
        "used_start": so(S), "used_end": so(nxt),
        "bounce_buffer_start": 0, "bounce_buffer_size": 0,
        "page_tables_start": 0, "page_tables_size": 0,
        "log_buffer_start": so(log_start), "log_buffer_size": LOG_SIZE,
        "heap_start_offset": so(heap), "heap_size": HEAP_SIZE,
        "persisted_state_region_offset": so(S), "persisted_state_region_size": PERSISTED,
    }
    imp.import_pages(params_base // PAGE, 1, "underhill-shim-params", "exclusive",
                     shim_params(params))
    vbits = 0
    uefi_info = None
    if m["uefi"] is not None:
        u = m["uefi"]
        vbits |= 1
        uefi_info = (u["firmware_base"] // PAGE, u["total_size"] // PAGE, 0x1001, 1)
        imp.import_pages(0x1001, 1, "openhcl-uefi-vp-context", "exclusive", u["vp_context"])
    imp.import_pages(0x1000, 1, "underhill-measured-config", "exclusive",
                     measured_vtl0(vbits, uefi_info, None))
    R = 15 * PAGE
    tables = build_arm64_tables(pt_start, S, Z, R)
    if len(tables) % PAGE or len(tables) > R or not len(tables) < R:
        fail("panic: assertion failed: region > len")
    if with_reloc:
        imp.relocation_region(S, end_of_mem - S, MB2, DEFAULT_BASE, RELOC_MAX, True, False, 0)
        imp.page_table_relocation(pt_start, 15, len(tables) // PAGE, 0)
    imp.import_pages(pt_start // PAGE, 15, "underhill-page-tables", "exclusive", tables)
    if pt_start >= (1 << 48):
        fail("panic: TTBR0 baddr does not fit 48 bits")
    imp.import_vp_register("x0", hex(chk(params_base - shim_base, "x0")))
    imp.import_vp_register("pc", hex(shim_entry))
    imp.import_vp_register("cpsr", hex(0x5))
    imp.import_vp_register("sctlr_el1", hex(0x30D0_1805))
    imp.import_vp_register("tcr_el1", hex(0x5_8080_3511))
    imp.import_vp_register("mair_el1", hex(0xFFBB_4400))
    imp.import_vp_register("ttbr0_el1", hex(pt_start))
    imp.import_vp_register("vbar_el1", hex(0))
    config_page = param_region // PAGE
    parameter_areas(imp, config_page)
    imp.import_pages(config_page + 105, 1, "underhill-vtl2-measured-config", "exclusive",
                     measured_vtl2(0))
    imp.set_imported_regions_config_page(config_page + 104)


# ---------------------------------------------------------------------------
# Manifest (docs/formats.md §1)
# ---------------------------------------------------------------------------

def _u64(v, what):
    if isinstance(v, bool) or not isinstance(v, int) or v < 0 or v > U64:
        raise UsageError(f"{what}: not a u64: {v!r}")
    return v


def _read(folder, path, what):
    if not isinstance(path, str):
        raise UsageError(f"{what}: not a path: {path!r}")
    try:
        with open(os.path.join(folder, path), "rb") as fh:
            return fh.read()
    except OSError as e:
        raise UsageError(f"{what}: {e}")


def parse_manifest(path):
    try:
        with open(path) as fh:
            d = json.load(fh)
    except (OSError, ValueError) as e:
        raise UsageError(f"{path}: {e}")
    folder = os.path.dirname(os.path.abspath(path))
    if not isinstance(d, dict) or d.get("format") != FORMAT_MANIFEST:
        raise UsageError(f"unknown manifest format {d.get('format') if isinstance(d, dict) else d!r}")
    arch = d.get("arch")
    if arch not in ("x86_64", "aarch64"):
        raise UsageError(f"unknown arch {arch!r}")
    iso = d.get("isolation") or {}
    typ = iso.get("type")
    if typ not in ("none", "vbs", "snp", "tdx"):
        raise UsageError(f"unknown isolation type {typ!r}")
    present = iso.get("paravisor_present")
    if not isinstance(present, bool):
        raise UsageError("paravisor_present must be a bool")
    bits = iso.get("shared_gpa_boundary_bits")
    if bits is not None:
        _u64(bits, "shared_gpa_boundary_bits")
        if bits > 63:
            raise UsageError(f"shared_gpa_boundary_bits {bits} out of 0..=63")
    cl = d.get("command_line") or {}
    if cl.get("type") not in ("static", "host_appendable") or not isinstance(cl.get("value"), str):
        raise UsageError("bad command_line")
    m = {
        "arch": arch, "iso": typ, "present": present, "bits": bits,
        "kernel": _read(folder, d.get("kernel"), "kernel"),
        "shim": _read(folder, d.get("shim"), "shim"),
        "sidecar": None, "initrd": None,
        "cmdline": cl["value"], "policy": 0 if cl["type"] == "static" else 1,
        "base": None if d.get("memory_page_base") is None
        else _u64(d["memory_page_base"], "memory_page_base"),
        "count": _u64(d.get("memory_page_count"), "memory_page_count"),
    }
    if d.get("sidecar") is not None:
        if arch != "x86_64":
            raise UsageError("a sidecar is x86_64 only")
        m["sidecar"] = _read(folder, d["sidecar"], "sidecar")
    if d.get("initrd") is not None:
        m["initrd"] = _read(folder, d["initrd"], "initrd")
    v0 = d.get("vtl0") or {}
    if not isinstance(v0.get("pcat", False), bool):
        raise UsageError("vtl0.pcat must be a bool")
    m["pcat"] = v0.get("pcat", False)
    m["uefi"] = None
    if v0.get("uefi") is not None:
        u = v0["uefi"]
        m["uefi"] = {"firmware_base": _u64(u.get("firmware_base"), "firmware_base"),
                     "total_size": _u64(u.get("total_size"), "total_size"),
                     "vp_context": _read(folder, u.get("vp_context"), "vp_context")}
    m["linux"] = None
    if v0.get("linux") is not None:
        lx = v0["linux"]
        if not isinstance(lx.get("command_line"), str):
            raise UsageError("vtl0.linux.command_line must be a string")
        clb = lx["command_line"].encode("utf-8")
        if b"\0" in clb:
            raise UsageError("vtl0.linux.command_line contains a NUL")
        k = lx.get("kernel") or {}
        ir = lx.get("initrd")
        m["linux"] = {
            "command_line": clb,
            "kernel": {f: _u64(k.get(f), f"vtl0.linux.kernel.{f}")
                       for f in ("gpa", "size", "entrypoint")},
            "initrd": None if ir is None else
            {f: _u64(ir.get(f), f"vtl0.linux.initrd.{f}") for f in ("gpa", "size")},
        }
    return m


def summarize(path):
    """Summary dict for a manifest; raises UsageError for rule-8 manifests."""
    m = parse_manifest(path)
    imp = Importer(m["iso"], m["bits"], m["present"])
    try:
        (load_x64 if m["arch"] == "x86_64" else load_arm64)(imp, m)
        return imp.summary(m["arch"])
    except LoadFailed as e:
        return failed_summary(m["arch"], str(e))


def write(summary, out):
    with open(out, "w") as fh:
        json.dump(summary, fh, indent=1, sort_keys=True)
        fh.write("\n")


def main(argv):
    if len(argv) == 4 and argv[1] == "--batch":
        src, dst = argv[2], argv[3]
        os.makedirs(dst, exist_ok=True)
        usage = 0
        for n in sorted(os.listdir(src)):
            if not n.endswith(".json"):
                continue
            try:
                s = summarize(os.path.join(src, n))
            except UsageError as e:
                usage += 1
                with open(os.path.join(dst, n[:-5] + ".usage"), "w") as fh:
                    fh.write(str(e) + "\n")
                continue
            write(s, os.path.join(dst, n[:-5] + ".summary.json"))
        return 0
    if len(argv) == 4 and argv[2] == "-o":
        try:
            s = summarize(argv[1])
        except UsageError as e:
            print(f"oracle.py: usage error: {e}", file=sys.stderr)
            return 3
        write(s, argv[3])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

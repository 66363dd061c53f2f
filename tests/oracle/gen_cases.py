#!/usr/bin/env python3
"""Write a matrix of load manifests (docs/formats.md §1) for the differential oracle.

    gen_cases.py OUTDIR [--subset]

Writes the fixtures (tests/golden/fixtures/gen.py plus a few extra inputs of
our own) into OUTDIR/fixtures and one manifest per case into OUTDIR/cases.
--subset writes a representative subset (every axis covered, fewer
combinations) for the Rust test tests/tests/oracle_diff.rs.

Never write into the repository's golden folder: OUTDIR must be a temporary
or target folder.
"""

import json
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "..", "golden", "fixtures", "gen.py")

MB = 1 << 20
GB = 1 << 30
PAGES_PER_MB = 256

NON_ASCII_4092 = "é" * 2046          # 4092 UTF-8 bytes
NON_ASCII_4094 = "é" * 2047          # 4094 UTF-8 bytes (> 4092: error)


def extra_fixtures(fx):
    """Inputs gen.py does not make."""
    def w(name, data):
        with open(os.path.join(fx, name), "wb") as f:
            f.write(data)

    w("initrd-empty.bin", b"")
    w("vp-context-empty.bin", b"")
    w("vp-context-4097.bin", bytes(range(256)) * 16 + b"\x01")
    w("vp-context-100.bin", bytes(range(100)))
    kernel = open(os.path.join(fx, "kernel-x64.elf"), "rb").read()
    shim = open(os.path.join(fx, "shim-x64.elf"), "rb").read()
    # ELF with its program-header count set to 0 (no PT_LOAD at all).
    nol = bytearray(kernel)
    struct.pack_into("<H", nol, 56, 0)
    w("bad-kernel-x64-no-load.elf", bytes(nol))
    nols = bytearray(shim)
    struct.pack_into("<H", nols, 56, 0)
    w("shim-x64-no-load.elf", bytes(nols))
    nola = bytearray(open(os.path.join(fx, "shim-arm64.elf"), "rb").read())
    struct.pack_into("<H", nola, 56, 0)
    w("shim-arm64-no-load.elf", bytes(nola))
    # First PT_LOAD with p_filesz > p_memsz (data longer than its pages).
    big = bytearray(kernel)
    off = struct.unpack_from("<Q", big, 32)[0]
    filesz = struct.unpack_from("<Q", big, off + 32)[0]
    struct.pack_into("<Q", big, off + 40, 0x1000 if filesz > 0x1000 else max(filesz - 1, 0))
    w("bad-kernel-x64-filesz-gt-memsz.elf", bytes(big))
    # Big-endian data encoding.
    be = bytearray(kernel)
    be[5] = 2
    w("bad-kernel-x64-bigendian.elf", bytes(be))
    # e_phentsize != 56.
    pe = bytearray(kernel)
    struct.pack_into("<H", pe, 54, 32)
    w("bad-kernel-x64-phentsize.elf", bytes(pe))
    # arm64 Image whose file is longer than image_size (data longer than pages).
    img = bytearray(open(os.path.join(fx, "Image-arm64"), "rb").read())
    struct.pack_into("<Q", img, 16, 0x1000)
    w("bad-Image-arm64-short-image-size.bin", bytes(img))
    # arm64 Image shorter than its header.
    w("bad-Image-arm64-truncated.bin", bytes(img[:40]))
    # arm64 Image with 2 MiB text_offset and image_size 0.
    img2 = bytearray(open(os.path.join(fx, "Image-arm64-textoffset"), "rb").read())
    struct.pack_into("<Q", img2, 8, 0x200000)
    w("Image-arm64-textoffset-2m", bytes(img2))
    # text_offset not page-aligned (the original does not check it)
    img3 = bytearray(img2)
    struct.pack_into("<Q", img3, 8, 0x80800)
    w("Image-arm64-textoffset-unaligned", bytes(img3))
    img4 = bytearray(img2)
    struct.pack_into("<Q", img4, 16, 0x180000)  # image_size > file, text_offset 0x80000
    w("Image-arm64-textoffset-imagesize", bytes(img4))
    img5 = bytearray(img2)
    struct.pack_into("<Q", img5, 24, (1 << 1) | (1 << 3) | (0xFF << 8))  # reserved flag bits
    w("Image-arm64-reserved-flags", bytes(img5))
    huge = bytearray(img2)
    struct.pack_into("<Q", huge, 16, 1 << 40)  # image_size 1 TiB: NotEnoughMemory
    w("bad-Image-arm64-huge-size", bytes(huge))
    hk = bytearray(open(os.path.join(fx, "kernel-x64.elf"), "rb").read())
    struct.pack_into("<Q", hk, struct.unpack_from("<Q", hk, 32)[0] + 40, 1 << 40)
    w("bad-kernel-x64-huge-memsz.elf", bytes(hk))
    w("initrd-1.bin", b"\x5a")
    w("initrd-4096.bin", bytes(range(256)) * 16)
    elf_edge_fixtures(w)


def _gen():
    import importlib.util
    spec = importlib.util.spec_from_file_location("fixture_gen", GEN)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def elf_edge_fixtures(w):
    """ELF corner cases of docs/algorithms.md §2 (PIC bias, p_memsz 0, unsorted
    segments, e_phnum overflow, non-zero shim/sidecar base, low entry)."""
    g = _gen()
    X, A = 62, 183
    R, RX, RW = 4, 5, 6

    def seg(paddr, n, memsz=None, label="s"):
        data = g.rand(f"edge-{label}-{paddr:#x}", n)
        return dict(paddr=paddr, vaddr=paddr, data=data, memsz=n if memsz is None else memsz,
                    flags=RX)

    # kernel whose lowest p_paddr is above the start address (reloc_bias path),
    # at a non-page-aligned offset: 0x9000800
    w("kernel-x64-high-paddr.elf", g.elf64(X, 2, 0x9000900, [
        seg(0x9000800, 0x3000, label="hp1"), seg(0x9004000, 0x1000, 0x6000, label="hp2")]))
    # lowest p_paddr far above VTL2 memory (10 GiB)
    w("kernel-x64-paddr-10g.elf", g.elf64(X, 2, 0x2_8000_0000, [
        seg(0x2_8000_0000, 0x2100, label="p10")]))
    # p_memsz 0 segment (affects lowest/last only), below the others
    w("kernel-x64-memsz0.elf", g.elf64(X, 2, 0x1100000, [
        seg(0x1100000, 0x1800, label="m1"), seg(0x1000000, 0, 0, label="m0"),
        seg(0x1200000, 0x800, 0x3000, label="m2")]))
    # p_memsz 0 segment at a non-page-aligned address (imports one page? no: pc = 1)
    w("kernel-x64-memsz0-unaligned.elf", g.elf64(X, 2, 0x1000000, [
        seg(0x1000000, 0x1000, label="u1"), seg(0x1003010, 0, 0, label="u0")]))
    # segments not in ascending order in the file
    w("kernel-x64-unsorted.elf", g.elf64(X, 2, 0x1000040, [
        seg(0x1010000, 0x1200, label="o2"), seg(0x1000000, 0x2000, label="o1")]))
    # overlapping segments (second inside the first's pages) -> importer rejects
    w("bad-kernel-x64-overlap.elf", g.elf64(X, 2, 0x1000000, [
        seg(0x1000000, 0x3000, label="v1"), seg(0x1002000, 0x1000, label="v2")]))
    # entry below the lowest segment: entry + L < start -> InvalidEntryAddress
    w("bad-kernel-x64-low-entry.elf", g.elf64(X, 2, 0xFFF000, [
        seg(0x1000000, 0x1000, label="le")]))
    # entry far above the segments (allowed)
    w("kernel-x64-entry-beyond.elf", g.elf64(X, 2, 0x5000000, [
        seg(0x1000000, 0x1000, label="eb")]))
    # e_phnum = 0xFFFF: count read from section header 0's sh_info
    k = bytearray(g.elf64(X, 2, 0x1000000, [seg(0x1000000, 0x1800, label="px")],
                          extra_gnu_stack=False))
    shoff = len(k)
    sh0 = bytearray(64)
    struct.pack_into("<I", sh0, 44, 1)
    k += sh0
    struct.pack_into("<Q", k, 40, shoff)
    struct.pack_into("<H", k, 56, 0xFFFF)
    struct.pack_into("<H", k, 58, 64)
    struct.pack_into("<H", k, 60, 1)
    w("kernel-x64-phnum-xnum.elf", bytes(k))
    # shim and sidecar whose lowest p_paddr is not 0
    w("shim-x64-base-0x5000.elf", g.elf64(X, 3, 0x5010, [
        seg(0x5000, 0x2345, label="sb1"), seg(0x9000, 0x800, 0x1800, label="sb2")]))
    w("shim-arm64-base-0x5000.elf", g.elf64(A, 3, 0x5010, [
        seg(0x5000, 0x2345, label="sa1"), seg(0x9000, 0x800, 0x1800, label="sa2")]))
    w("sidecar-x64-base-0x3000.elf", g.elf64(X, 3, 0x3040, [
        seg(0x3000, 0x4100, label="cb1"), seg(0x9000, 0x300, 0x2000, label="cb2")]))
    # shim with a segment at a non-page-aligned paddr
    w("shim-x64-unaligned-seg.elf", g.elf64(X, 3, 0x10, [
        seg(0x0, 0x1234, label="su1"), seg(0x2100, 0x700, 0x900, label="su2")]))
    # ELF e_type / e_version are not checked: ET_REL with version 0
    k = bytearray(g.elf64(X, 1, 0x1000100, [seg(0x1000000, 0x1000, label="er")]))
    struct.pack_into("<I", k, 20, 0)
    w("kernel-x64-etrel-version0.elf", bytes(k))


def uefi(vp="uefi-vp-context.bin", base=0x100000, total=0x7E0000):
    return {"firmware_base": base, "total_size": total, "vp_context": "../fixtures/" + vp}


def linux(cmd="console=ttyS0 earlyprintk=serial panic=-1", initrd=True, igpa=0x4000000,
          kgpa=0x1000000):
    return {"command_line": cmd,
            "kernel": {"gpa": kgpa, "size": 32720231, "entrypoint": kgpa + 0x200},
            "initrd": {"gpa": igpa, "size": 5000} if initrd else None}


def manifest(arch, iso="none", present=True, bits=None, kernel=None, shim=None, sidecar=None,
             initrd=None, cl_type="static", cl="console=ttyS0,115200 panic=-1 reboot=t",
             base=None, count=16384, pcat=False, uefi_=None, linux_=None):
    x64 = arch == "x86_64"
    fx = "../fixtures/"
    return {
        "format": "paravisor-load-manifest/1",
        "arch": arch,
        "isolation": {"type": iso, "paravisor_present": present,
                      "shared_gpa_boundary_bits": bits},
        "kernel": fx + (kernel or ("kernel-x64.elf" if x64 else "Image-arm64")),
        "shim": fx + (shim or ("shim-x64.elf" if x64 else "shim-arm64.elf")),
        "sidecar": None if sidecar is None else fx + sidecar,
        "initrd": None if initrd is None else fx + initrd,
        "command_line": {"type": cl_type, "value": cl},
        "memory_page_base": base,
        "memory_page_count": count,
        "vtl0": {"pcat": pcat, "uefi": uefi_, "linux": linux_},
    }


X64_ISO = [("none", True, None), ("none", False, None), ("vbs", True, None),
           ("vbs", False, None), ("snp", True, 46), ("snp", True, None), ("snp", False, 46),
           ("tdx", True, 47), ("tdx", True, None)]
A64_ISO = [("none", True, None), ("none", False, None), ("vbs", True, None),
           ("vbs", False, 46), ("snp", True, 46), ("tdx", True, 47)]

# memory_page_base values (pages); None = default base with relocation (None iso only)
BASES = {
    "nobase": None,
    "b0": 0,                       # S = 0
    "b2m": 0x200,                  # S = 2 MiB (local map overlap on SNP/TDX)
    "b4m": 0x400,
    "b8m": 0x800,
    "b14m": 0xE00,                 # arm64: kernel at 16 MiB, on the measured-config page
    "b256m": 0x10000,
    "b1g-2m": 0x3FE00,             # crosses 1 GiB
    "b1g": 0x40000,                # TDX: 3 GiB map covers the reset vector
    "b3g": 0xC0000,
    "b4g-2m": 0xFFE00,
    "b4g": 0x100000,
    "b8g": 0x200000,
    "b512g-2m": 0x7FFFE00,         # crosses a 512 GiB (PML4 / level-0) boundary
    "b2^47-64m": (1 << 35) - 0x4000,
    "b2^47-2m": (1 << 35) - 0x200,  # arm64: GPA >= 2^47 panics
    "bunal1m": 0x100,              # unaligned → MemoryUnaligned
    "bunal": 0x8001,
}
COUNTS = {
    "c0": 0,
    "c2m": 0x200,                  # too small → NotEnoughMemory
    "c4m": 0x400,
    "c6m": 0x600,
    "c8m": 0x800,
    "c16m": 0x1000,
    "c64m": 0x4000,
    "c66m": 0x4200,
    "c1g": 0x40000,
    "c1g+2m": 0x40200,
    "c3g": 0xC0000,
    "c512g": 0x8000000,
    "c512g+2m": 0x8000200,         # > 512 GiB panics on x64 (non-TDX)
    "c1t": 0x10000000,
    "cunal": 0x4001,
}
# pairs of base x count that run for every isolation type
MEM_FULL = ["nobase", "b0", "b2m", "b4m", "b256m", "b1g-2m", "b1g", "b3g", "b4g-2m", "b4g",
            "b8g", "b512g-2m", "bunal1m", "bunal"]
COUNT_FULL = ["c0", "c2m", "c4m", "c6m", "c8m", "c64m", "c1g+2m", "cunal"]
COUNT_BIG = ["c3g", "c512g", "c512g+2m", "c1t"]

CMDLINES = {
    "empty": "",
    "short": "console=ttyS0",
    "4092": "x" * 4092,
    "4093": "x" * 4093,
    "utf8-4092": NON_ASCII_4092,
    "utf8-4094": NON_ASCII_4094,
    "quotes": 'a="b c" \\ \t\n\u00ff\U0001F600',
}


def x64_cases(subset):
    cases = {}
    A = "x86_64"
    # 1. memory base x count for every isolation type
    for iso, present, bits in X64_ISO:
        tag = f"{iso}{'' if present else '-nopv'}{'' if bits is None else bits}"
        bases = MEM_FULL if not subset else ["nobase", "b2m", "b1g", "b4g", "bunal"]
        counts = COUNT_FULL if not subset else ["c0", "c4m", "c64m", "cunal"]
        for b in bases:
            for c in counts:
                cases[f"x64-{tag}-{b}-{c}-uefi"] = manifest(
                    A, iso, present, bits, base=BASES[b], count=COUNTS[c], uefi_=uefi())
        if not subset or iso in ("none", "tdx"):
            for b in (["nobase", "b4g", "b8g"] if not subset else ["nobase"]):
                for c in (COUNT_BIG if not subset else ["c3g", "c512g+2m"]):
                    cases[f"x64-{tag}-{b}-{c}-pcat"] = manifest(
                        A, iso, present, bits, base=BASES[b], count=COUNTS[c], pcat=True)
    # 2. inputs x VTL0 configs, for each isolation type (default base, 64 MiB and 256 MiB)
    vtl0s = {
        "none": {},
        "pcat": {"pcat": True},
        "uefi": {"uefi_": uefi()},
        "pcat-uefi": {"pcat": True, "uefi_": uefi()},
        "uefi-vp100": {"uefi_": uefi("vp-context-100.bin")},
        "uefi-vp0": {"uefi_": uefi("vp-context-empty.bin")},
        "uefi-vp4097": {"uefi_": uefi("vp-context-4097.bin")},
        "uefi-fwunal": {"uefi_": uefi(base=0x100123, total=0x7E0FFF)},
        "linux": {"linux_": linux(initrd=False)},
        "linux-initrd": {"linux_": linux()},
        "linux-initrd-unal": {"linux_": linux(igpa=0x4000010)},
        "linux-kgpa-unal": {"linux_": linux(kgpa=0x1000123)},
        "linux-cl-empty": {"linux_": linux(cmd="")},
        "linux-cl-4095": {"linux_": linux(cmd="y" * 4095)},
        "linux-cl-4096": {"linux_": linux(cmd="y" * 4096)},
        "linux-cl-utf8": {"linux_": linux(cmd="é" * 2047 + "z")},
        "uefi-linux": {"uefi_": uefi(), "linux_": linux()},
        "pcat-uefi-linux": {"pcat": True, "uefi_": uefi(), "linux_": linux()},
        "uefi-linux-cl-4095": {"uefi_": uefi(), "linux_": linux(cmd="y" * 4095)},
        "pcat-linux": {"pcat": True, "linux_": linux(initrd=False)},
    }
    inputs = {
        "plain": {},
        "sidecar": {"sidecar": "sidecar-x64.elf"},
        "initrd-empty": {"initrd": "initrd-empty.bin"},
        "initrd5000": {"initrd": "initrd-5000.bin"},
        "initrd1m": {"initrd": "initrd-1m.bin"},
        "sidecar-initrd1m": {"sidecar": "sidecar-x64.elf", "initrd": "initrd-1m.bin"},
        "highentry": {"kernel": "kernel-x64-high-entry.elf"},
        "highentry-sidecar-initrd5000": {"kernel": "kernel-x64-high-entry.elf",
                                         "sidecar": "sidecar-x64.elf",
                                         "initrd": "initrd-5000.bin"},
    }
    for iso, present, bits in X64_ISO:
        tag = f"{iso}{'' if present else '-nopv'}{'' if bits is None else bits}"
        for mem, (b, c) in {"nobase-64m": (None, 0x4000), "b256m-64m": (0x10000, 0x4000),
                            "b1g-2m-1g": (0x3FE00, 0x40000)}.items():
            if subset and mem != "nobase-64m":
                continue
            for vn, v in vtl0s.items():
                if subset and vn not in ("uefi", "pcat-uefi-linux", "linux-cl-4096",
                                         "linux-initrd-unal", "uefi-vp4097"):
                    continue
                cases[f"x64-{tag}-{mem}-{vn}"] = manifest(A, iso, present, bits, base=b,
                                                          count=c, **v)
            for inn, i in inputs.items():
                if subset and inn not in ("sidecar-initrd1m", "highentry-sidecar-initrd5000",
                                          "initrd-empty"):
                    continue
                for vn in (["uefi", "pcat-linux"] if not subset else ["uefi"]):
                    cases[f"x64-{tag}-{mem}-{inn}-{vn}"] = manifest(
                        A, iso, present, bits, base=b, count=c, **i, **vtl0s[vn])
            for cn, cl in CMDLINES.items():
                for ct in ("static", "host_appendable"):
                    if subset and (ct == "static") == (cn in ("4092", "utf8-4094")):
                        continue
                    cases[f"x64-{tag}-{mem}-cl-{ct}-{cn}"] = manifest(
                        A, iso, present, bits, base=b, count=c, cl_type=ct, cl=cl,
                        uefi_=uefi())
    # 3. small memory near the NotEnoughMemory edge, with big inputs
    for iso, present, bits in X64_ISO[:1] + X64_ISO[2:3] + X64_ISO[4:5] + X64_ISO[7:8]:
        for c in ([0x600, 0x800, 0xA00, 0xC00] if not subset else [0x600, 0x800]):
            for inn in ("plain", "sidecar-initrd1m", "highentry"):
                cases[f"x64-{iso}-b4g-edge{c:#x}-{inn}"] = manifest(
                    A, iso, present, bits, base=0x100000, count=c, uefi_=uefi(),
                    **inputs[inn])
    # 4. bad inputs: kernel, sidecar and shim positions
    bad = ["bad-truncated-header.elf", "bad-truncated-segments.elf",
           "bad-kernel-x64-machine-aarch64.elf", "bad-elf32.elf", "bad-kernel-x64-no-load.elf",
           "bad-kernel-x64-filesz-gt-memsz.elf", "bad-kernel-x64-bigendian.elf",
           "bad-kernel-x64-phentsize.elf", "bad-kernel-x64-huge-memsz.elf", "Image-arm64",
           "shim-arm64.elf"]
    for f in bad:
        for pos in ("kernel", "sidecar", "shim"):
            if subset and pos == "sidecar":
                continue
            kw = {pos: f}
            if pos == "sidecar":
                kw["initrd"] = "initrd-5000.bin"
            cases[f"x64-none-bad-{pos}-{f}"] = manifest(A, uefi_=uefi(), **kw)
    cases["x64-none-shim-no-load"] = manifest(A, shim="shim-x64-no-load.elf", uefi_=uefi())
    cases["x64-none-sidecar-no-load"] = manifest(A, sidecar="shim-x64-no-load.elf",
                                                 uefi_=uefi())
    cases["x64-none-shim-as-sidecar"] = manifest(A, sidecar="shim-x64.elf", uefi_=uefi())
    cases["x64-none-kernel-as-shim"] = manifest(A, shim="kernel-x64.elf", uefi_=uefi())
    cases["x64-none-cmdline-5000"] = manifest(A, cl=open_text("cmdline-5000.txt"),
                                              uefi_=uefi())
    # 5. ELF corner cases (docs/algorithms.md §2) at several bases / isolation types
    edge_kernels = ["kernel-x64-high-paddr.elf", "kernel-x64-paddr-10g.elf",
                    "kernel-x64-memsz0.elf", "kernel-x64-memsz0-unaligned.elf",
                    "kernel-x64-unsorted.elf", "bad-kernel-x64-overlap.elf",
                    "bad-kernel-x64-low-entry.elf", "kernel-x64-entry-beyond.elf",
                    "kernel-x64-phnum-xnum.elf", "kernel-x64-etrel-version0.elf"]
    for iso, present, bits in (X64_ISO if not subset else X64_ISO[:1] + X64_ISO[4:5]):
        tag = f"{iso}{'' if present else '-nopv'}{'' if bits is None else bits}"
        for k in edge_kernels:
            for mem, (b, c) in {"nobase": (None, 0x4000), "b256m": (0x10000, 0x4000)}.items():
                if subset and mem != "nobase":
                    continue
                cases[f"x64-{tag}-{mem}-edge-{k}"] = manifest(
                    A, iso, present, bits, kernel=k, base=b, count=c, uefi_=uefi(),
                    sidecar="sidecar-x64.elf")
        for sh, sc in [("shim-x64-base-0x5000.elf", None),
                       ("shim-x64-base-0x5000.elf", "sidecar-x64.elf"),
                       ("shim-x64.elf", "sidecar-x64-base-0x3000.elf"),
                       ("shim-x64-base-0x5000.elf", "sidecar-x64-base-0x3000.elf"),
                       ("shim-x64-unaligned-seg.elf", None)]:
            cases[f"x64-{tag}-edge-{sh}-{sc}"] = manifest(
                A, iso, present, bits, shim=sh, sidecar=sc, initrd="initrd-5000.bin",
                uefi_=uefi())
        for ini in ("initrd-1.bin", "initrd-4096.bin"):
            cases[f"x64-{tag}-edge-{ini}"] = manifest(A, iso, present, bits, initrd=ini,
                                                      linux_=linux())
    # 6. u64 overflow of the memory inputs
    for nb, b in {"b2^52": 1 << 52, "bmax": (1 << 64) - 1, "b2^51": 1 << 51}.items():
        cases[f"x64-none-{nb}-c64m"] = manifest(A, base=b, uefi_=uefi())
    for nc, c in {"c2^52": 1 << 52, "cmax": (1 << 64) - 1, "c2^40": 1 << 40}.items():
        cases[f"x64-none-b256m-{nc}"] = manifest(A, base=0x10000, count=c, uefi_=uefi())
        cases[f"x64-tdx47-b4g-{nc}"] = manifest(A, "tdx", True, 47, base=0x100000, count=c,
                                                uefi_=uefi())
    for bits in (0, 1, 63):
        cases[f"x64-snp{bits}-nobase-64m-uefi"] = manifest(A, "snp", True, bits, uefi_=uefi())
        cases[f"x64-none{bits}-nobase-64m-uefi"] = manifest(A, "none", True, bits,
                                                            uefi_=uefi())
    # 7. VTL0 descriptor values at the edges (divided, not checked)
    cases["x64-none-vtl0-max-values"] = manifest(A, uefi_=uefi(base=(1 << 64) - 1,
                                                               total=(1 << 64) - 1))
    lx = linux()
    lx["kernel"] = {"gpa": (1 << 64) - 1, "size": (1 << 64) - 0x1000, "entrypoint": (1 << 64) - 1}
    lx["initrd"] = {"gpa": (1 << 64) - 0x1000, "size": (1 << 64) - 0x1000}
    cases["x64-none-vtl0-linux-max-values"] = manifest(A, linux_=lx)
    lx = linux()
    lx["kernel"]["size"] = (1 << 64) - 1  # align_up overflows
    cases["x64-none-vtl0-linux-ksize-overflow"] = manifest(A, linux_=lx)
    lx = linux()
    lx["initrd"]["size"] = (1 << 64) - 1
    cases["x64-none-vtl0-linux-isize-overflow"] = manifest(A, linux_=lx)
    return cases


FIXTURE_DIR = None


def open_text(name):
    with open(os.path.join(FIXTURE_DIR, name), "rb") as f:
        return f.read().decode("utf-8")


def a64_cases(subset):
    cases = {}
    A = "aarch64"
    for iso, present, bits in A64_ISO:
        tag = f"{iso}{'' if present else '-nopv'}{'' if bits is None else bits}"
        bases = ["nobase", "b0", "b2m", "b8m", "b14m", "b256m", "b1g-2m", "b1g", "b4g", "b8g",
                 "b512g-2m", "b2^47-64m", "b2^47-2m", "bunal1m"]
        counts = ["c0", "c2m", "c4m", "c8m", "c16m", "c64m", "c1g+2m", "cunal"]
        if subset:
            bases, counts = ["nobase", "b0", "b14m", "b2^47-2m"], ["c0", "c8m", "c64m"]
        for b in bases:
            for c in counts:
                cases[f"a64-{tag}-{b}-{c}-uefi"] = manifest(
                    A, iso, present, bits, base=BASES[b], count=COUNTS[c], uefi_=uefi())
        if not subset:
            for b in ["nobase", "b4g", "b512g-2m"]:
                for c in ["c3g", "c512g", "c1t"]:
                    cases[f"a64-{tag}-{b}-{c}-linux"] = manifest(
                        A, iso, present, bits, base=BASES[b], count=COUNTS[c],
                        linux_=linux())
        vtl0s = {
            "uefi": {"uefi_": uefi()},
            "linux": {"linux_": linux(initrd=False)},
            "linux-initrd-unal": {"linux_": linux(igpa=0x4000010)},
            "linux-cl-4096": {"linux_": linux(cmd="y" * 4096)},
            "uefi-linux": {"uefi_": uefi(), "linux_": linux()},
            "uefi-vp4097": {"uefi_": uefi("vp-context-4097.bin")},
            "uefi-vp0": {"uefi_": uefi("vp-context-empty.bin")},
            "pcat": {"pcat": True},
            "pcat-uefi": {"pcat": True, "uefi_": uefi()},
            "pcat-linux": {"pcat": True, "linux_": linux()},
            "none": {},
        }
        inputs = {
            "plain": {},
            "initrd-empty": {"initrd": "initrd-empty.bin"},
            "initrd5000": {"initrd": "initrd-5000.bin"},
            "initrd1m": {"initrd": "initrd-1m.bin"},
            "textoffset": {"kernel": "Image-arm64-textoffset"},
            "textoffset-initrd1m": {"kernel": "Image-arm64-textoffset",
                                    "initrd": "initrd-1m.bin"},
            "textoffset2m-initrd5000": {"kernel": "Image-arm64-textoffset-2m",
                                        "initrd": "initrd-5000.bin"},
        }
        for mem, (b, c) in {"nobase-64m": (None, 0x4000), "fixed1g-128m": (0x40000, 0x8000),
                            "b8m-16m": (0x800, 0x1000)}.items():
            if subset and mem == "b8m-16m":
                continue
            for vn, v in vtl0s.items():
                if subset and vn not in ("uefi-linux", "pcat", "none", "uefi-vp4097"):
                    continue
                cases[f"a64-{tag}-{mem}-{vn}"] = manifest(A, iso, present, bits, base=b,
                                                          count=c, **v)
            for inn, i in inputs.items():
                if subset and inn not in ("initrd-empty", "textoffset-initrd1m",
                                          "textoffset2m-initrd5000"):
                    continue
                for vn in (["uefi", "linux"] if not subset else ["linux"]):
                    cases[f"a64-{tag}-{mem}-{inn}-{vn}"] = manifest(
                        A, iso, present, bits, base=b, count=c, **i, **vtl0s[vn])
            for cn, cl in CMDLINES.items():
                for ct in ("static", "host_appendable"):
                    if subset and (ct == "static") == (cn in ("4092", "utf8-4094")):
                        continue
                    cases[f"a64-{tag}-{mem}-cl-{ct}-{cn}"] = manifest(
                        A, iso, present, bits, base=b, count=c, cl_type=ct, cl=cl,
                        uefi_=uefi())
    for iso, present, bits in A64_ISO[:3]:
        tag = f"{iso}{'' if present else '-nopv'}{'' if bits is None else bits}"
        for k in ("Image-arm64-textoffset-unaligned", "Image-arm64-textoffset-imagesize",
                  "Image-arm64-reserved-flags"):
            for ini in (None, "initrd-1.bin", "initrd-4096.bin"):
                cases[f"a64-{tag}-edge-{k}-{ini}"] = manifest(A, iso, present, bits, kernel=k,
                                                              initrd=ini, uefi_=uefi())
        for sh in ("shim-arm64-base-0x5000.elf",):
            cases[f"a64-{tag}-edge-{sh}"] = manifest(A, iso, present, bits, shim=sh,
                                                     initrd="initrd-5000.bin", uefi_=uefi())
    for nb, b in {"b2^52": 1 << 52, "bmax": (1 << 64) - 1, "b2^36": 1 << 36}.items():
        cases[f"a64-none-{nb}-c64m"] = manifest(A, base=b, uefi_=uefi())
    for nc, c in {"c2^52": 1 << 52, "cmax": (1 << 64) - 1, "c2^35": 1 << 35}.items():
        cases[f"a64-none-b256m-{nc}"] = manifest(A, base=0x10000, count=c, uefi_=uefi())
    cases["a64-vbs46-nobase-64m-uefi"] = manifest(A, "vbs", True, 46, uefi_=uefi())
    bad = ["bad-Image-arm64-magic", "bad-Image-arm64-16k", "bad-Image-arm64-lowmem",
           "bad-Image-arm64-bigendian", "bad-Image-arm64-short-image-size.bin",
           "bad-Image-arm64-truncated.bin", "bad-Image-arm64-huge-size", "kernel-x64.elf"]
    for f in bad:
        cases[f"a64-none-bad-kernel-{f}"] = manifest(A, kernel=f, uefi_=uefi())
    for f in ["shim-x64.elf", "shim-arm64-no-load.elf", "bad-truncated-header.elf", "bad-truncated-segments.elf",
              "bad-elf32.elf", "Image-arm64"]:
        cases[f"a64-none-bad-shim-{f}"] = manifest(A, shim=f, uefi_=uefi())
    return cases


def random_cases(n):
    """n pseudo-random manifests (deterministic: SHAKE-256 of a counter)."""
    import hashlib
    cases = {}
    for i in range(n):
        r = hashlib.shake_256(f"oracle-random-case:{i}".encode()).digest(64)
        pos = [0]

        def pick(seq):
            v = r[pos[0]]
            pos[0] += 1
            return seq[v % len(seq)]

        def num(bits):
            v = int.from_bytes(r[pos[0]:pos[0] + 8], "little")
            pos[0] += 8
            return v % (1 << bits)

        arch = pick(["x86_64", "x86_64", "aarch64"])
        x64 = arch == "x86_64"
        iso, present, bits = pick(X64_ISO if x64 else A64_ISO[:3] * 3 + A64_ISO[3:])
        base = pick([None, None, "aligned", "aligned", "aligned", "odd"])
        if base == "aligned":
            base = num(14) * 0x200          # 2 MiB-aligned, below 32 GiB
        elif base == "odd":
            base = num(22)
        count = pick(["aligned", "aligned", "aligned", "odd"])
        count = num(11) * 0x200 if count == "aligned" else num(20)
        kernel = pick(["kernel-x64.elf", "kernel-x64-high-entry.elf",
                       "kernel-x64-high-paddr.elf", "kernel-x64-unsorted.elf"]) if x64 else \
            pick(["Image-arm64", "Image-arm64-textoffset", "Image-arm64-textoffset-2m"])
        initrd = pick([None, None, "initrd-empty.bin", "initrd-5000.bin", "initrd-1m.bin",
                       "initrd-1.bin"])
        sidecar = pick([None, "sidecar-x64.elf", "sidecar-x64-base-0x3000.elf"]) if x64 \
            else None
        shim = pick(["shim-x64.elf", "shim-x64-base-0x5000.elf"]) if x64 else \
            pick(["shim-arm64.elf", "shim-arm64-base-0x5000.elf"])
        cl_type = pick(["static", "host_appendable"])
        cl = pick(["", "console=ttyS0", "x" * 4092, "é" * 100])
        v = pick(["uefi", "linux", "uefi-linux", "pcat-uefi", "pcat", "pcat-uefi-linux"] if x64
                 else ["uefi", "linux", "uefi-linux", "uefi", "linux", "pcat-uefi"])
        kw = {}
        if "pcat" in v:
            kw["pcat"] = True
        if "uefi" in v:
            kw["uefi_"] = uefi()
        if "linux" in v:
            kw["linux_"] = linux(initrd=pick([True, False]))
        cases[f"rand-{i:04}-{arch}"] = manifest(arch, iso, present, bits, kernel=kernel,
                                                shim=shim, sidecar=sidecar, initrd=initrd,
                                                cl_type=cl_type, cl=cl, base=base,
                                                count=count, **kw)
    return cases


def usage_cases():
    """docs/formats.md §3 rule 8: not summaries, usage errors on both sides."""
    cases = {}
    m = manifest("aarch64", sidecar="sidecar-x64.elf", uefi_=uefi())
    cases["usage-a64-sidecar"] = m
    cases["usage-x64-missing-kernel"] = manifest("x86_64", kernel="no-such-file.elf",
                                                 uefi_=uefi())
    cases["usage-x64-missing-vp"] = manifest("x86_64", uefi_=uefi("no-such.bin"))
    cases["usage-x64-bits-64"] = manifest("x86_64", "snp", True, 64, uefi_=uefi())
    m = manifest("x86_64", uefi_=uefi())
    m["format"] = "paravisor-load-manifest/2"
    cases["usage-x64-format"] = m
    m = manifest("x86_64", uefi_=uefi())
    m["isolation"]["type"] = "sev"
    cases["usage-x64-iso-type"] = m
    cases["usage-x64-vtl0-cl-nul"] = manifest("x86_64", linux_=linux(cmd="a\0b"))
    return cases


def main(argv):
    global FIXTURE_DIR
    if len(argv) not in (2, 3) or (len(argv) == 3 and argv[2] != "--subset"):
        print(__doc__, file=sys.stderr)
        return 2
    out = argv[1]
    subset = len(argv) == 3
    fx = os.path.join(out, "fixtures")
    FIXTURE_DIR = fx
    cd = os.path.join(out, "cases")
    os.makedirs(cd, exist_ok=True)
    subprocess.run([sys.executable, GEN, fx], check=True, stdout=subprocess.DEVNULL)
    extra_fixtures(fx)
    cases = {}
    cases.update(x64_cases(subset))
    cases.update(a64_cases(subset))
    cases.update(usage_cases())
    cases.update(random_cases(60 if subset else 800))
    for name, m in cases.items():
        with open(os.path.join(cd, name.replace("/", "_") + ".json"), "w") as f:
            json.dump(m, f, indent=1)
    print(f"{len(cases)} cases in {cd}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

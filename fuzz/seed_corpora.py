#!/usr/bin/env python3
"""Seed the fuzz corpora from the project's own fixtures.

Usage: seed_corpora.py CORPUS_DIR

Writes seeds into CORPUS_DIR/<target>/ (created if missing; existing files
are kept). Sources: tests/golden/fixtures and the extra fixtures that
tests/golden/fixtures/gen.py generates (valid and invalid ELF files, arm64
`Image`s with other header values), each prefixed with the placement bytes
the target reads first (see each target's doc comment). Nothing here is
checked in: the corpora are rebuilt at run time.
"""

import hashlib
import os
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "golden", "fixtures")
MIB = 1 << 20


def write(corpus, target, data):
    folder = os.path.join(corpus, target)
    os.makedirs(folder, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def main():
    corpus = sys.argv[1]
    with tempfile.TemporaryDirectory() as extra:
        subprocess.run(
            [sys.executable, os.path.join(FIXTURES, "gen.py"), extra],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        files = {}
        for folder in (FIXTURES, extra):
            for name in sorted(os.listdir(folder)):
                path = os.path.join(folder, name)
                if os.path.isfile(path) and not name.endswith((".py", ".txt", "SHA256SUMS")):
                    with open(path, "rb") as f:
                        files[name] = f.read()

    elves = {n: d for n, d in files.items() if n.endswith(".elf")}
    images = {n: d for n, d in files.items() if "Image" in n}

    # elf_load: start (u64), load_offset (u64), flags (bit 0 PIC, bit 1
    # AArch64), file. Placements as the paravisor uses them: kernel at 0
    # with an offset, shim and sidecar at an offset, PIC.
    placements = [
        (0, 0, 0),
        (0, 0x0820_0000, 0),
        (0x0800_0000, 0x0800_0000, 0),
        (0x0040_0000, 0, 1),
        (0, 0x0820_0000, 2),
        (0x0040_0000, 0, 3),
    ]
    for name, data in elves.items():
        for start, offset, flags in placements:
            write(corpus, "elf_load", struct.pack("<QQB", start, offset, flags) + data[:65536])

    # arm64_image: kernel start (u64), plan-only initrd length (u64),
    # load initrd length (u16), then the header and the first pages.
    for name, data in images.items():
        for start, initrd in ((0x0800_0000, 0), (0x4000_0000, 5000), (0, 0xFFFF)):
            head = struct.pack("<QQH", start, initrd, initrd & 0xFFFF)
            write(corpus, "arm64_image", head + data[:16384])

    # layout_readers and snp_cpuid_page: the VP context page and small files.
    for name in ("uefi-vp-context.bin",):
        if name in files:
            write(corpus, "layout_readers", files[name])
            write(corpus, "snp_cpuid_page", b"\x00" + files[name])

    # igvm_diff: flip offset (u32), XOR mask (u8), then an IGVM file: the
    # golden files unchanged and with one byte flipped in the fixed header,
    # in the variable headers and in the page data.
    igvm_dir = os.path.join(ROOT, "tests", "golden", "igvm")
    for name in sorted(os.listdir(igvm_dir)):
        if name.endswith(".igvm"):
            with open(os.path.join(igvm_dir, name), "rb") as f:
                data = f.read()
            for at, xor in ((0, 0), (20, 0x01), (0x200, 0x40), (len(data) - 100, 0xFF)):
                write(corpus, "igvm_diff", struct.pack("<IB", at, xor) + data)


if __name__ == "__main__":
    main()

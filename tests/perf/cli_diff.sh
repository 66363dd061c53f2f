#!/usr/bin/env bash
# `paravisor diff` on images of hundreds of MiB (issue 17): wall time, CPU
# time and peak resident memory (/usr/bin/time -v) of
#   - two IGVM files that differ in one initrd byte,
#   - the two load manifests they were built from,
#   - one IGVM file against itself (equal bytes: not parsed).
# The inputs: the golden x86-64 UEFI manifest with a random initrd of
# INITRD_MIB (default 256) MiB, VBS, 1 GiB of VTL2 memory; B's initrd has
# one byte changed. `paravisor igvm` builds both IGVM files.
#
# Usage: tests/perf/cli_diff.sh [DIR]     (RUNS=N, INITRD_MIB=N)
# DIR receives the generated inputs (default: $CARGO_TARGET_DIR/perf-diff,
# never the repository; about 4 × INITRD_MIB of disk). Needs /usr/bin/time.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
DIR=${1:-$TARGET/perf-diff}
RUNS=${RUNS:-3}
INITRD_MIB=${INITRD_MIB:-256}
cd "$ROOT"

if [ ! -x /usr/bin/time ]; then
    echo "cli_diff.sh: /usr/bin/time is missing (apt-get install time)" >&2
    exit 1
fi

cargo build --quiet --release -p paravisor-cli --bin paravisor
PARAVISOR=$TARGET/release/paravisor
mkdir -p "$DIR"

# Inputs: A's initrd random, B's the same with the byte at 200,000,000 (or
# the middle of a smaller initrd) flipped; manifests and VBS build configs.
python3 - "$ROOT" "$DIR" "$INITRD_MIB" <<'EOF'
import json, os, sys
root, out, mib = sys.argv[1], sys.argv[2], int(sys.argv[3])
cases = os.path.join(root, "tests", "golden", "cases")
m = json.load(open(os.path.join(cases, "x64-none-reloc-64m-uefi-initrd1m.json")))
for key in ("kernel", "shim"):
    m[key] = os.path.normpath(os.path.join(cases, m[key]))
m["vtl0"]["uefi"]["vp_context"] = os.path.normpath(os.path.join(cases, m["vtl0"]["uefi"]["vp_context"]))
m["isolation"]["type"] = "vbs"
m["memory_page_count"] = 262144  # 1 GiB
data = bytearray(os.urandom(mib << 20))
for side in ("a", "b"):
    if side == "b":
        at = min(200_000_000, len(data) // 2)
        data[at] ^= 0x55
    initrd = os.path.join(out, f"initrd-{side}.bin")
    with open(initrd, "wb") as f:
        f.write(data)
    m["initrd"] = initrd
    json.dump(m, open(os.path.join(out, f"{side}.json"), "w"))
    config = {"format": "paravisor-igvm-config/1", "guest_arch": "x64", "guest_configs": [
        {"guest_svn": 1, "max_vtl": 2, "isolation_type": {"vbs": {"enable_debug": False}},
         "load_manifest": os.path.join(out, f"{side}.json")}]}
    json.dump(config, open(os.path.join(out, f"{side}.config.json"), "w"))
EOF
for side in a b; do
    "$PARAVISOR" igvm "$DIR/$side.config.json" -o "$DIR/$side.igvm" >/dev/null
done

TMP=$(mktemp)
trap 'rm -f "$TMP"' EXIT

# shellcheck source=tests/perf/measure.sh
source "$ROOT/tests/perf/measure.sh"

echo "paravisor diff, IGVM files of $(($(stat -c %s "$DIR/a.igvm") >> 20)) MiB; $(nproc) CPUs; load $(cut -d' ' -f1 /proc/loadavg); median of $RUNS runs"
printf '%-28s %10s %10s %10s\n' inputs wall cpu "RSS MiB"
for pair in "a.igvm b.igvm" "a.json b.json" "a.igvm a.igvm"; do
    read -r x y <<<"$pair"
    read -r ms cpu rss < <(measure "$PARAVISOR" diff "$DIR/$x" "$DIR/$y")
    awk -v p="$x vs $y" -v ms="$ms" -v cpu="$cpu" -v rss="$rss" \
        'BEGIN { printf "%-28s %8.0fms %8.0fms %10.1f\n", p, ms, cpu, rss / 1024 }'
done
echo
"$PARAVISOR" diff "$DIR/a.igvm" "$DIR/b.igvm" || true

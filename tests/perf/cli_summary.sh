#!/usr/bin/env bash
# `paravisor summary` on the large manifests (issue 11): wall time and peak
# resident memory (/usr/bin/time -v), beside SHA-256 of the same input files
# with the same crate (sha2) alone, and the large-manifest `paravisor bench`
# probe.
#
# Usage: tests/perf/cli_summary.sh [DIR]     (RUNS=N to change the run count)
# DIR receives the generated inputs (default: $CARGO_TARGET_DIR/perf-inputs,
# never the repository). Needs /usr/bin/time (Debian package `time`).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
DIR=${1:-$TARGET/perf-inputs}
RUNS=${RUNS:-5}
cd "$ROOT"

if [ ! -x /usr/bin/time ]; then
    echo "cli_summary.sh: /usr/bin/time is missing (apt-get install time)" >&2
    exit 1
fi

cargo build --quiet --release -p paravisor-cli --bin paravisor
PARAVISOR=$TARGET/release/paravisor
BENCH=$(cargo bench -p paravisor-tests --bench load --no-run 2>&1 |
    sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -n 1)
[ -x "$BENCH" ] || { echo "cannot find the load bench binary" >&2; exit 1; }
"$BENCH" --write-inputs "$DIR" >/dev/null

TMP=$(mktemp)
trap 'rm -f "$TMP"' EXIT

# shellcheck source=tests/perf/measure.sh
source "$ROOT/tests/perf/measure.sh"

inputs_of() { # manifest -> its input files
    case "$1" in
    x64*) echo "$DIR/kernel-x64.elf $DIR/shim-x64.elf $DIR/sidecar-x64.elf $DIR/initrd-64m.bin $DIR/uefi-vp-context.bin" ;;
    a64*) echo "$DIR/Image-arm64 $DIR/shim-arm64.elf $DIR/initrd-64m.bin $DIR/uefi-vp-context.bin" ;;
    esac
}

echo "paravisor summary vs sha256 of the same files; $(nproc) CPUs; $(date -u +%Y-%m-%d); median of $RUNS runs"
printf '%-16s %9s | %9s %8s %8s %10s | %9s %8s %8s | %6s %6s\n' \
    manifest "input MiB" "sum wall" "sum cpu" "RSS MiB" "RSS-input" \
    "sha wall" "sha cpu" "RSS MiB" "wall x" "cpu x"
for m in x64-none-512m x64-snp-512m a64-none-512m; do
    files=$(inputs_of "$m")
    # shellcheck disable=SC2086
    bytes=$(stat -c %s $files | awk '{ s += $1 } END { print s }')
    read -r s_ms s_cpu s_rss < <(measure "$PARAVISOR" summary "$DIR/$m.json" -o /dev/null)
    # shellcheck disable=SC2086
    read -r h_ms h_cpu h_rss < <(measure "$BENCH" --sha256 $files)
    awk -v m="$m" -v b="$bytes" -v sm="$s_ms" -v sc="$s_cpu" -v sr="$s_rss" \
        -v hm="$h_ms" -v hc="$h_cpu" -v hr="$h_rss" 'BEGIN {
        mib = 1048576
        printf "%-16s %9.1f | %7.0fms %6.0fms %8.1f %10.1f | %7.0fms %6.0fms %8.1f | %6.2f %6.2f\n",
            m, b / mib, sm, sc, sr / 1024, sr / 1024 - b / mib, hm, hc, hr / 1024,
            sm / hm, (hc > 0 ? sc / hc : 0) }'
done

echo
echo "paravisor bench (guest-memory importer vs crc32fast(initrd) + copy)"
for m in x64-none-512m x64-snp-512m a64-none-512m; do
    printf '%-20s %s\n' "$m" "$("$PARAVISOR" bench "$DIR/$m.json" --iterations 10 --json)"
done

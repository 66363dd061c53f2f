# Shared by the tests/perf scripts: `source` it after setting RUNS (runs
# per measurement) and TMP (a scratch file).
#
# measure CMD...: runs CMD $RUNS times (after one warm-up); prints the median
# wall time in ms, the median CPU time (user + system) in ms and the largest
# peak RSS in KiB. CPU time is the steadier figure on a busy machine. A
# non-zero exit status of CMD (e.g. `diff` finding differences) is not a
# failure here.
measure() {
    "$@" >/dev/null 2>&1 || true
    local walls=() cpus=() rss=0 start end r u s
    for _ in $(seq "$RUNS"); do
        start=$EPOCHREALTIME
        /usr/bin/time -v "$@" >/dev/null 2>"$TMP" || true
        end=$EPOCHREALTIME
        walls+=("$(echo "($end - $start) * 1000" | bc -l)")
        u=$(sed -n 's/.*User time (seconds): //p' "$TMP")
        s=$(sed -n 's/.*System time (seconds): //p' "$TMP")
        cpus+=("$(echo "($u + $s) * 1000" | bc -l)")
        r=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$TMP")
        [ "$r" -gt "$rss" ] && rss=$r
    done
    local mid=$(((RUNS + 1) / 2))
    printf '%s %s %d\n' \
        "$(printf '%s\n' "${walls[@]}" | sort -g | sed -n "${mid}p")" \
        "$(printf '%s\n' "${cpus[@]}" | sort -g | sed -n "${mid}p")" "$rss"
}

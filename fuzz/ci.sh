#!/bin/sh
# The CI fuzz step (scripts/check.sh runs it; docs/fuzzing.md):
#   1. builds the libFuzzer targets in build-fuzz/ (clang, ASan + UBSan);
#   2. replays every committed regression input (fuzz/regressions/<target>/);
#   3. runs each target for a bounded time from the seed corpus
#      (fuzz/make_corpus.py) plus what earlier CI runs kept in
#      build-fuzz/fuzz/ci-corpus/<target>/.
# Any crash, leak, timeout or out-of-memory fails the step; the input is left
# in build-fuzz/fuzz/findings/ (see docs/fuzzing.md for what to do with it).
#
#   fuzz/ci.sh                 every target, SSDC_FUZZ_SECONDS (default 25) each
#   fuzz/ci.sh 60 fuzz_onnx    one target for 60 s
# Without clang the step is skipped with a note (exit 0).
set -eu
cd "$(dirname "$0")/.."

if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz: clang not found: fuzz step skipped (scripts/install-deps.sh --test installs it)"
    exit 0
fi
secs=${1:-${SSDC_FUZZ_SECONDS:-25}}
[ $# -gt 0 ] && shift
targets=${*:-"fuzz_onnx fuzz_run fuzz_npy fuzz_tensorpb fuzz_tsv fuzz_ts fuzz_idx"}
jobs=$(nproc 2>/dev/null || echo 2)
[ "$jobs" -gt 2 ] && jobs=2 # libFuzzer runs use ~0.5 GB each

B=build-fuzz
if [ ! -f $B/build.ninja ]; then
    CC=clang meson setup $B -Dfuzz=true --buildtype=debugoptimized \
        -Db_sanitize=address,undefined -Db_lundef=false -Dnative=false
fi
# only the fuzz targets (the rest of the project is built and tested elsewhere)
# shellcheck disable=SC2046
ninja -C $B $(for t in $targets; do printf 'fuzz/%s ' "$t"; done)
python3 fuzz/make_corpus.py --out $B/fuzz/corpus >/dev/null

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:handle_abort=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
export OPENBLAS_NUM_THREADS=1
mkdir -p $B/fuzz/findings $B/fuzz/logs
fail=0

# 1. regressions: each file once, all targets (fast)
for t in $targets; do
    dir=fuzz/regressions/$t
    [ -d "$dir" ] || continue
    if ! $B/fuzz/$t -runs=1 -rss_limit_mb=2048 -timeout=30 "$dir"/* >$B/fuzz/logs/$t.replay.log 2>&1; then
        echo "fuzz: $t: a regression input fails again:"
        grep -E "^Running:|ERROR|runtime error|SUMMARY" $B/fuzz/logs/$t.replay.log | tail -n 5
        fail=1
    fi
done
[ $fail -eq 0 ] || { echo "fuzz: regression inputs fail (logs in $B/fuzz/logs/)"; exit 1; }

# 2. bounded fuzzing, $jobs targets at a time
run_one() {
    t=$1
    corpus=$B/fuzz/ci-corpus/$t
    mkdir -p "$corpus"
    dict=""
    [ -f $B/fuzz/corpus/$t.dict ] && dict="-dict=$B/fuzz/corpus/$t.dict"
    # shellcheck disable=SC2086
    if $B/fuzz/$t -max_total_time="$secs" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
        -artifact_prefix=$B/fuzz/findings/$t- $dict "$corpus" $B/fuzz/corpus/$t \
        >$B/fuzz/logs/$t.log 2>&1; then
        stats=$(grep -E "^#[0-9]+.*DONE" $B/fuzz/logs/$t.log | tail -n 1 |
                sed -E 's/^#([0-9]+).*cov: ([0-9]+) ft: ([0-9]+).*/\1 runs, cov \2, ft \3/')
        echo "fuzz: $t: ${secs}s, $stats, no findings"
        return 0
    fi
    echo "fuzz: $t: FINDING (log $B/fuzz/logs/$t.log):"
    grep -E "ERROR|runtime error|SUMMARY|Test unit written|ALARM" $B/fuzz/logs/$t.log | head -n 8
    return 1
}

pids=""
for t in $targets; do
    (run_one "$t") &
    pids="$pids $!"
    # wait for a slot
    while [ "$(jobs -p | wc -l)" -ge "$jobs" ]; do sleep 1; done
done
for p in $pids; do
    wait "$p" || fail=1
done
if [ $fail -ne 0 ]; then
    echo "fuzz: findings in $B/fuzz/findings/: minimise with '$B/fuzz/TARGET -minimize_crash=1" \
         "-runs=10000 FILE', fix, and commit the input under fuzz/regressions/TARGET/"
    exit 1
fi
echo "fuzz: all targets ran without findings"

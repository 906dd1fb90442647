#!/bin/sh
# An off-CI fuzzing campaign (docs/fuzzing.md, "Campaign"): each target in
# turn, one libFuzzer process at a time (one core), for a given number of
# seconds, from the seed corpus plus a corpus kept across campaigns.  Runs in
# libFuzzer's fork mode so a crash, timeout or OOM does not end the run: the
# inputs are kept in build-fuzz/fuzz/campaign/findings/ and counted.  Prints
# one markdown table row per target:
#   | target | CPU s | executions | exec/s | cov | ft | corpus | findings |
#
#   fuzz/campaign.sh 1200 fuzz_onnx fuzz_run     20 minutes each
# Needs the targets built (fuzz/ci.sh builds them) and the seed corpus
# (fuzz/make_corpus.py --out build-fuzz/fuzz/corpus).
set -eu
cd "$(dirname "$0")/.."
secs=${1:?usage: fuzz/campaign.sh SECONDS [TARGET...]}
shift
targets=${*:-"fuzz_onnx fuzz_run fuzz_npy fuzz_tensorpb fuzz_tsv fuzz_ts fuzz_idx"}
B=build-fuzz
C=$B/fuzz/campaign
mkdir -p $C/findings $C/logs
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:handle_abort=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
export OPENBLAS_NUM_THREADS=1

echo "| target | CPU s | executions | exec/s | cov | ft | corpus | findings |"
echo "|---|---|---|---|---|---|---|---|"
for t in $targets; do
    corpus=$C/corpus/$t
    mkdir -p "$corpus"
    dict=""
    [ -f $B/fuzz/corpus/$t.dict ] && dict="-dict=$B/fuzz/corpus/$t.dict"
    log=$C/logs/$t.$(date +%Y%m%d-%H%M%S).log
    # fork mode: one child at a time; the merged corpus lands in $corpus
    # shellcheck disable=SC2086
    $B/fuzz/$t -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
        -max_total_time="$secs" -rss_limit_mb=2048 -timeout=20 \
        -artifact_prefix=$C/findings/$t- $dict "$corpus" $B/fuzz/corpus/$t >"$log" 2>&1 || true
    # fork-mode status lines: "#N: cov: C ft: F corp: K exec/s: E oom/timeout/crash: a/b/c time: Ts"
    last=$(grep -E "^#[0-9]+: cov:" "$log" | tail -n 1)
    runs=$(echo "$last" | sed -E 's/^#([0-9]+):.*/\1/')
    cov=$(echo "$last" | sed -E 's/.*cov: ([0-9]+).*/\1/')
    ft=$(echo "$last" | sed -E 's/.* ft: ([0-9]+).*/\1/')
    time=$(echo "$last" | sed -E 's/.* time: ([0-9]+)s.*/\1/')
    bad=$(echo "$last" | sed -E 's#.*oom/timeout/crash: ([0-9]+/[0-9]+/[0-9]+).*#\1#')
    ncorp=$(find "$corpus" -type f | wc -l)
    eps=$(( ${runs:-0} / (${time:-1} > 0 ? ${time:-1} : 1) ))
    echo "| \`$t\` | ${time:-?} | ${runs:-?} | $eps | ${cov:-?} | ${ft:-?} | $ncorp | oom/timeout/crash ${bad:-?} |"
done

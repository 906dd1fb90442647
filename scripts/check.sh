#!/bin/sh
# Builds and runs the whole test suite (README quick start, second command;
# .ci/run runs this): a release build, then the same tests under
# AddressSanitizer + UndefinedBehaviorSanitizer, then the libFuzzer targets
# (fuzz/ci.sh, docs/fuzzing.md).
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
jobs=$(nproc)

[ -f build/build.ninja ] || meson setup build --buildtype=release
ninja -C build
meson test -C build --print-errorlogs --num-processes "$jobs"

[ -f build-asan/build.ninja ] || meson setup build-asan --buildtype=debugoptimized \
    -Db_sanitize=address,undefined -Db_lundef=false
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C build-asan --print-errorlogs --num-processes "$jobs" --timeout-multiplier 4
# libFuzzer targets (clang): replay fuzz/regressions, then each target for
# SSDC_FUZZ_SECONDS (default 25) from the seed corpus; any finding fails.
fuzz/ci.sh
echo "check: all tests passed (release and ASan/UBSan builds, fuzz targets)"

#!/bin/sh
# The end-to-end demo (README quick start, first command): install what is
# missing, build, then import each bundled model, print its summary, run it on
# the bundled inputs and check the outputs against PyTorch's.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build --buildtype=release
ninja -C build ssdc
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-2}
status=0
for m in cnn1d resnet1d har6 cnn2d; do
    echo "==================== $m ===================="
    build/ssdc inspect "models/$m.onnx"
    echo "---- run on models/$m.input.npy, compare with PyTorch (models/$m.output.npy)"
    build/ssdc run "models/$m.onnx" --input "models/$m.input.npy" \
        --expect "models/$m.output.npy" || status=1
done
if [ $status -eq 0 ]; then
    echo "demo: all bundled models match PyTorch within 1e-4"
else
    echo "demo: some outputs did not match (see above)" >&2
fi
exit $status

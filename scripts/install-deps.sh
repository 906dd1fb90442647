#!/bin/sh
# Installs what ssdc needs on Debian 12 (run as root), skipping what is there.
#   scripts/install-deps.sh          build + demo dependencies
#   scripts/install-deps.sh --test   also the test peers: ONNX test data, PyTorch
#                                    fixtures, clang, ONNX Runtime (npm, tests only),
#                                    arm-none-eabi gcc + newlib and qemu (codegen tests),
#                                    groff and man (the man page test), chromium (the
#                                    HTML report test renders the page headless)
set -eu
cd "$(dirname "$0")/.."

pkgs="meson ninja-build pkg-config gcc protobuf-c-compiler libprotobuf-c-dev libonnx-dev
      libopenblas-dev libcriterion-dev zlib1g-dev"
if [ "${1:-}" = "--test" ]; then
    pkgs="$pkgs libonnx-testdata python3-onnx python3-numpy python3-torch python3-torchvision
          valgrind dataset-fashion-mnist chromium groff-base man-db
          clang llvm gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"
    # Node.js + npm for ONNX Runtime: keep a Node.js that is already there.
    command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm"
fi

missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -q
    # shellcheck disable=SC2086
    apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $missing
fi

if [ "${1:-}" = "--test" ] && [ ! -d tests/ort/node_modules/onnxruntime-node ]; then
    # ONNX Runtime is a test and benchmark peer, never a runtime dependency.
    # Without ONNXRUNTIME_NODE_INSTALL=skip its install script fetches GPU libraries.
    (cd tests/ort && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund)
fi

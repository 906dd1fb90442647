#!/usr/bin/env bash
# Runs every bundled model (models/*.onnx with models/<name>.input.npy and
# models/<name>.output.npy) in ONNX Runtime and compares with the PyTorch
# fixtures.  Usage: tests/ort/check_fixtures.sh [MODELS_DIR] [ATOL]
# Needs tests/ort/node_modules (cd tests/ort && ONNXRUNTIME_NODE_INSTALL=skip npm ci).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
models="${1:-$here/../../models}"
atol="${2:-1e-4}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

status=0
n=0
for onnx in "$models"/*.onnx; do
  name="$(basename "$onnx" .onnx)"
  in="$models/$name.input.npy"
  out="$models/$name.output.npy"
  [[ -f "$in" && -f "$out" ]] || { echo "skip $name: no fixtures"; continue; }
  n=$((n + 1))
  node "$here/run.js" "$onnx" --input "input=$in" --output-dir "$tmp/$name" --threads 1 >/dev/null
  if res="$(node "$here/compare.js" "$out" "$tmp/$name/logits.npy" --atol "$atol")"; then
    echo "$name: $res"
  else
    echo "$name: $res"
    status=1
  fi
done
[[ $n -gt 0 ]] || { echo "no models in $models"; exit 1; }
exit $status

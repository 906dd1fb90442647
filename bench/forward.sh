#!/usr/bin/env bash
# Forward-pass benchmark: ssdc runtime vs ONNX Runtime (onnxruntime-node, CPU EP),
# both single-threaded, on the bundled models (models/*.onnx) and torchvision
# resnet18 (generated into the build folder by models/make_resnet18.py).
#
#   bench/forward.sh [BUILD_DIR]        (default: build)
#
# For each model: per-sample latency at batch 1 (median of timed runs after
# warm-up) and throughput at batch 64.  Prints a markdown table and writes it to
# bench/results/forward.md.
#
# Environment:
#   ITERS_B1, ITERS_B64          timed runs for the small models (default 500, 50)
#   ITERS_BIG_B1, ITERS_BIG_B64  timed runs for resnet18 (default 20, 3)
#   BENCH_MODELS                 space-separated model names to run (default: all)
#   BENCH_CPU                    if set, pin both runtimes to this CPU with taskset
#   PYTHON                       interpreter with torch/torchvision (default /usr/bin/python3)
set -euo pipefail

src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ncpu="$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")"
build="${1:-build}"
case "$build" in /*) ;; *) build="$PWD/$build" ;; esac
python="${PYTHON:-/usr/bin/python3}"
ort_dir="$src/tests/ort"
results="$src/bench/results/forward.md"

export OPENBLAS_NUM_THREADS=1
export OMP_NUM_THREADS=1

iters_b1="${ITERS_B1:-500}"
iters_b64="${ITERS_B64:-50}"
iters_big_b1="${ITERS_BIG_B1:-20}"
iters_big_b64="${ITERS_BIG_B64:-3}"

die() { echo "forward.sh: $*" >&2; exit 1; }

# ---- build ssdc's benchmark binary
if [[ ! -f "$build/build.ninja" ]]; then
  echo "forward.sh: configuring $build" >&2
  meson setup "$build" "$src" >&2
fi
ninja -C "$build" bench/bench_forward >&2 ||
  die "cannot build bench/bench_forward (is subdir('bench') in meson.build?)"
bench_forward="$build/bench/bench_forward"
[[ -x "$bench_forward" ]] || die "$bench_forward missing"

# ---- ONNX Runtime peer
if [[ ! -d "$ort_dir/node_modules/onnxruntime-node" ]]; then
  echo "forward.sh: installing onnxruntime-node into $ort_dir/node_modules" >&2
  (cd "$ort_dir" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund >&2) ||
    die "npm ci failed in $ort_dir"
fi
ort_version="$(cd "$ort_dir" && node -e 'console.log(require("onnxruntime-node/package.json").version)')"

# ---- models
models_dir="$build/models"
mkdir -p "$models_dir"
resnet18="$models_dir/resnet18.onnx"
if [[ ! -f "$resnet18" ]]; then
  echo "forward.sh: generating $resnet18" >&2
  "$python" "$src/models/make_resnet18.py" "$resnet18" >&2 || die "make_resnet18.py failed"
fi

names=()
paths=()
for f in "$src"/models/*.onnx; do
  names+=("$(basename "$f" .onnx)")
  paths+=("$f")
done
names+=(resnet18)
paths+=("$resnet18")

want() {
  [[ -z "${BENCH_MODELS:-}" ]] && return 0
  local m
  for m in $BENCH_MODELS; do [[ "$m" == "$1" ]] && return 0; done
  return 1
}

pin=()
if [[ -n "${BENCH_CPU:-}" ]]; then pin=(taskset -c "$BENCH_CPU"); fi

# json_get KEY < json
json_get() { node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    try { const v = JSON.parse(s)[process.argv[1]]; console.log(v === undefined ? "" : v); }
    catch (e) { console.log(""); } });' "$1"; }

# run_ssdc MODEL BATCH ITERS WARMUP  -> JSON on stdout, "" on failure
run_ssdc() {
  local out
  if out="$("${pin[@]}" "$bench_forward" "$1" --batch "$2" --iters "$3" --warmup "$4" 2>"$tmp/err")"; then
    echo "$out"
  else
    echo "forward.sh: ssdc failed on $(basename "$1") batch $2: $(tail -n 3 "$tmp/err")" >&2
    echo ""
  fi
}
run_ort() {
  local out
  if out="$("${pin[@]}" node "$ort_dir/bench.js" "$1" --batch "$2" --iters "$3" --warmup "$4" 2>"$tmp/err")"; then
    echo "$out"
  else
    echo "forward.sh: ORT failed on $(basename "$1") batch $2: $(tail -n 3 "$tmp/err")" >&2
    echo ""
  fi
}

fmt() { # number formatting: fmt VALUE DECIMALS
  [[ -z "$1" ]] && { echo "n/a"; return; }
  LC_ALL=C printf "%.${2}f" "$1"
}
ratio() { # ratio A B -> A/B with 2 decimals
  if [[ -z "$1" || -z "$2" ]]; then echo "n/a"; return; fi
  LC_ALL=C awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'
}

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

rows=()
for i in "${!names[@]}"; do
  name="${names[$i]}"
  model="${paths[$i]}"
  want "$name" || continue
  if [[ "$name" == resnet18 ]]; then
    n1="$iters_big_b1"; n64="$iters_big_b64"; w1=2; w64=1
  else
    n1="$iters_b1"; n64="$iters_b64"; w1=50; w64=5
  fi
  echo "forward.sh: $name (B=1 x $n1, B=64 x $n64)" >&2

  s1="$(run_ssdc "$model" 1 "$n1" "$w1")"
  o1="$(run_ort "$model" 1 "$n1" "$w1")"
  s64="$(run_ssdc "$model" 64 "$n64" "$w64")"
  o64="$(run_ort "$model" 64 "$n64" "$w64")"

  s1_us="$(json_get us_per_sample <<<"$s1")"
  o1_us="$(json_get us_per_sample <<<"$o1")"
  s64_sps="$(json_get samples_per_s <<<"$s64")"
  o64_sps="$(json_get samples_per_s <<<"$o64")"
  echo "  ssdc B=1: ${s1:-failed}" >&2
  echo "  ORT  B=1: ${o1:-failed}" >&2
  echo "  ssdc B=64: ${s64:-failed}" >&2
  echo "  ORT  B=64: ${o64:-failed}" >&2

  rows+=("| $name | $(fmt "$s1_us" 1) | $(fmt "$o1_us" 1) | $(ratio "$s1_us" "$o1_us") | $(fmt "$s64_sps" 0) | $(fmt "$o64_sps" 0) | $(ratio "$s64_sps" "$o64_sps") |")
done

cpu="$(LC_ALL=C lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)"
commit="$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo "uncommitted")"
{
  echo "# Forward pass: ssdc vs ONNX Runtime"
  echo
  echo "Generated by \`bench/forward.sh\` on $(date -u +%Y-%m-%d) (commit $commit)."
  echo "CPU: ${cpu:-unknown}, $ncpu cores; both runtimes single-threaded"
  echo "(ssdc: OPENBLAS_NUM_THREADS=1; ORT: onnxruntime-node $ort_version, CPU EP,"
  echo "intra/inter-op threads 1, graph optimisation level all)."
  echo "Median of timed runs after warm-up: B=1 x $iters_b1 runs, B=64 x $iters_b64 runs"
  echo "(resnet18: $iters_big_b1 and $iters_big_b64; warm-up 50/5, resnet18 2/1). Random float inputs."
  echo
  echo "| model | ssdc us/sample (B=1) | ORT us/sample (B=1) | ratio | ssdc samples/s (B=64) | ORT samples/s (B=64) | ratio |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "ratio = ssdc / ORT: for latency lower is better for ssdc, for throughput higher is better."
  echo "ORT timings include onnxruntime-node's async N-API call per run: about 10-12 us"
  echo "(median for a one-node Identity model on this machine), significant for the small models at B=1."
} >"$tmp/forward.md"

mkdir -p "$(dirname "$results")"
cp "$tmp/forward.md" "$results"
cat "$results"

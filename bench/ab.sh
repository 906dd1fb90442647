#!/usr/bin/env bash
# A/B of two builds of ssdc in one run: the runtime's forward pass
# (bench_forward: median latency at batch 1 and 64, and the first run, which
# includes planning) and `ssdc codegen` (wall time to generate the C, and
# whether the generated files are byte-identical), on every bundled model.
# The two builds alternate, round after round, so load on the shared machine
# hits both alike; the table gives medians over the rounds and new/old.
#
#   bench/ab.sh OLD_BUILD NEW_BUILD [ROUNDS]     (default ROUNDS 5)
#
# e.g. a worktree of the commit before a change, built in its own folder:
#   git worktree add /tmp/old HEAD~1 && meson setup /tmp/old/build /tmp/old
#   ninja -C /tmp/old/build ssdc bench/bench_forward && bench/ab.sh /tmp/old/build build
# Writes bench/results/ab.md and prints it.
set -euo pipefail
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
old="${1:?usage: bench/ab.sh OLD_BUILD NEW_BUILD [ROUNDS]}"
new="${2:?usage: bench/ab.sh OLD_BUILD NEW_BUILD [ROUNDS]}"
rounds="${3:-5}"
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
results="$src/bench/results/ab.md"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for b in "$old" "$new"; do
  [[ -x "$b/ssdc" && -x "$b/bench/bench_forward" ]] ||
    { echo "bench/ab.sh: $b needs ssdc and bench/bench_forward built" >&2; exit 1; }
done

median() { sort -g | awk '{v[NR]=$1} END {if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
field() { sed -n "s/.*\"$1\":\([0-9.eE+-]*\).*/\1/p"; }
now_us() { date +%s%N | awk '{printf "%.0f\n", $1/1000}'; }

models=()
for f in "$src"/models/*.onnx; do models+=("$(basename "$f" .onnx)"); done

for r in $(seq "$rounds"); do
  for side in old new; do
    b=$old; [[ $side == new ]] && b=$new
    for m in "${models[@]}"; do
      onnx="$src/models/$m.onnx"
      "$b/bench/bench_forward" "$onnx" --batch 1 --iters 300 --warmup 30 > "$tmp/j" 
      field median_us < "$tmp/j" >> "$tmp/$side.$m.b1"
      field first_run_us < "$tmp/j" >> "$tmp/$side.$m.first"
      "$b/bench/bench_forward" "$onnx" --batch 64 --iters 20 --warmup 3 | field median_us >> "$tmp/$side.$m.b64"
      t0=$(now_us)
      for k in 1 2 3 4 5; do
        "$b/ssdc" codegen "$onnx" -o "$tmp/c.$side.$m" --name net --emit-main -q
      done
      t1=$(now_us)
      echo $(( (t1 - t0) / 5 )) >> "$tmp/$side.$m.gen"
    done
  done
done

{
  echo "# A/B: $(basename "$(dirname "$old")")/$(basename "$old") (old) vs $(basename "$(dirname "$new")")/$(basename "$new") (new)"
  echo
  echo "$(date -u +%Y-%m-%d), $(getconf _NPROCESSORS_ONLN) cores, OPENBLAS_NUM_THREADS=1, $rounds alternating rounds;"
  echo "medians over rounds (each round: bench_forward median of 300 runs at batch 1, 20 at batch 64;"
  echo "\`ssdc codegen --emit-main\` wall time averaged over 5 runs). first run = planning + one pass."
  echo
  echo "| model | batch 1 us old | new | new/old | batch 64 us old | new | new/old | first run us old | new | codegen ms old | new | new/old | generated C |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
  for m in "${models[@]}"; do
    row="| $m"
    for k in b1 b64 first gen; do
      o=$(median < "$tmp/old.$m.$k"); n=$(median < "$tmp/new.$m.$k")
      if [[ $k == gen ]]; then o=$(awk -v x="$o" 'BEGIN{printf "%.1f", x/1000}'); n=$(awk -v x="$n" 'BEGIN{printf "%.1f", x/1000}'); fi
      row="$row | $o | $n"
      [[ $k != first ]] && row="$row | $(awk -v a="$o" -v b="$n" 'BEGIN{printf "%.3f", b/a}')"
    done
    same="identical"
    for f in net.h net.c net_main.c; do
      cmp -s "$tmp/c.old.$m/$f" "$tmp/c.new.$m/$f" || same="DIFFERS ($f)"
    done
    echo "$row | $same |"
  done
} > "$results"
cat "$results"

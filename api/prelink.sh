#!/bin/sh
# Makes the installed static libssdc.a: every object of IN.a (the API and
# the internal modules) linked into one relocatable object in which only the
# public API (the global: names of the version script MAP) stays global, so
# a program linking libssdc.a sees the same ssdc_* names libssdc.so exports
# and none of the internal ones (graph_*, rt_*, onnx_*, ...).
#   usage: prelink.sh LD OBJCOPY AR IN.a MAP OUT.a
set -eu
ld=$1 objcopy=$2 ar=$3 in=$4 map=$5 out=$6
tmp=$out.tmp.d
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
sed -n 's/^[[:space:]]*\(ssdc_[A-Za-z0-9_]*\);.*$/\1/p' "$map" > "$tmp/public.syms"
[ -s "$tmp/public.syms" ] || { echo "prelink.sh: no ssdc_ names in $map" >&2; exit 1; }
"$ld" -r --whole-archive "$in" -o "$tmp/libssdc.o"
"$objcopy" --keep-global-symbols="$tmp/public.syms" "$tmp/libssdc.o"
rm -f "$out"
"$ar" rcs "$out" "$tmp/libssdc.o"

#!/bin/sh
# The dependency directions of docs/architecture.md, checked on every
# '#include "..."' of the source tree: a folder may include only the folders
# its row allows.  Exit 1 with one line per violation (file:line: what).
#   tests/check_layers.sh [SOURCE_ROOT]
set -eu
root=${1:-$(dirname "$0")/..}
cd "$root"

# folder: the folders its files may include (besides its own)
allowed() {
    case $1 in
    include)  echo "include" ;;
    graph)    echo "include" ;;
    frontend) echo "include graph" ;;
    passes)   echo "include graph" ;;
    runtime)  echo "include graph passes" ;;
    codegen)  echo "include graph passes" ;;
    cli)      echo "include graph frontend passes runtime codegen" ;;
    api)      echo "include graph frontend passes runtime codegen" ;;
    *)        echo "*" ;;   # tests, bench, fuzz: may use everything
    esac
}

bad=0
for dir in include graph frontend passes runtime codegen cli api; do
    ok=$(allowed "$dir")
    # every quoted include with a folder part
    for f in $(find "$dir" -name '*.c' -o -name '*.h' | sort); do
        grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]*/' "$f" 2>/dev/null |
        while IFS= read -r line; do
            n=${line%%:*}
            inc=$(printf '%s\n' "$line" | sed 's/.*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/')
            top=${inc%%/*}
            [ "$top" = "$dir" ] && continue
            case " $ok " in *" $top "*) continue ;; esac
            echo "$f:$n: includes $inc ($dir/ may use: $ok)"
        done
    done
done > "${TMPDIR:-/tmp}/ssdc_layers.$$"
if [ -s "${TMPDIR:-/tmp}/ssdc_layers.$$" ]; then
    cat "${TMPDIR:-/tmp}/ssdc_layers.$$"
    bad=1
fi
rm -f "${TMPDIR:-/tmp}/ssdc_layers.$$"
# examples/ are users of the installed library: the public header only
if grep -n '#include "' examples/*.c >/dev/null 2>&1; then
    grep -n '#include "' examples/*.c | sed 's/$/ (examples use only <ssdc\/ssdc.h>)/'
    bad=1
fi
[ "$bad" = 0 ] && echo "layers: every include follows docs/architecture.md"
exit "$bad"

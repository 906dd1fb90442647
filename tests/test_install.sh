#!/bin/bash
# The installed library, as a user meets it (suite 'install'):
#   1. `meson install --destdir` of this build into a temporary root;
#   2. the layout: bin/ssdc, the headers under include/ssdc/, libssdc.so.0
#      (+ links) and libssdc.a, pkgconfig/ssdc.pc, man1/ssdc.1;
#   3. the headers compile on their own (C99, C11 -Wpedantic, C++ if present);
#   4. examples/classify.c built with nothing but `pkg-config --cflags --libs
#      ssdc` (shared, run with LD_LIBRARY_PATH) and with `--static` flags
#      against libssdc.a; both run the whole story (import, train, SSD,
#      evaluate, export, reload, run, codegen) and agree on every accuracy;
#   5. libssdc.so exports exactly the functions declared in the headers, all
#      ssdc_* (plus the version node SSDC_0), libssdc.a has no other global
#      definitions, and libssdc.so calls no exit/abort/printf-family function;
#   6. the man page renders with `man -l` (groff -ww: no warnings) and has a
#      section for every command `ssdc help` lists.
# usage: test_install.sh MESON SANITIZE   (SANITIZE: the build's b_sanitize)
# Artifacts stay in $SSDC_BUILD_ROOT/tests/install-root.* when a check fails.
set -euo pipefail

meson=$1
sanitize=${2:-none}
src=${SSDC_SOURCE_ROOT:?}
build=${SSDC_BUILD_ROOT:?}

work=$(mktemp -d "$build/tests/install-root.XXXXXX")
fail() {
    echo "FAIL: $*" >&2
    echo "(artifacts kept in $work)" >&2
    exit 1
}
step() { echo "== $*"; }

# -- 1. install --------------------------------------------------------------
step "meson install --destdir $work/root"
root=$work/root
"$meson" install -C "$build" --no-rebuild --quiet --destdir "$root" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log" >&2; fail "meson install"; }

pc=$(find "$root" -name ssdc.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pc" ] || fail "no pkgconfig/ssdc.pc installed"
prefix=$(sed -n 's/^prefix=//p' "$pc")
libdir=$(dirname "$(dirname "$pc")")
inst=$root$prefix
echo "prefix $prefix, libdir ${libdir#"$root"}"

# -- 2. layout ----------------------------------------------------------------
step "installed files"
for f in "$inst/bin/ssdc" "$inst/include/ssdc/ssdc.h" "$inst/include/ssdc/status.h" \
    "$inst/include/ssdc/version.h" "$libdir/libssdc.a" "$libdir/libssdc.so" \
    "$libdir/libssdc.so.0" "$inst/share/man/man1/ssdc.1"; do
    [ -e "$f" ] || fail "missing ${f#"$root"}"
    echo "  ${f#"$root"}"
done
real=$(readlink -f "$libdir/libssdc.so")
case $real in */libssdc.so.0.*) ;; *) fail "libssdc.so points at $real" ;; esac
soname=$(readelf -d "$real" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = libssdc.so.0 ] || fail "soname is '$soname', expected libssdc.so.0"
if find "$inst/include" -name '*.h' | xargs grep -l '"\(graph\|runtime\|passes\|frontend\|codegen\)/' ; then
    fail "an installed header includes an internal one"
fi

export PKG_CONFIG_PATH=$libdir/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$root # the .pc says $prefix; the files are under $root
version=$(pkg-config --modversion ssdc)
bin_version=$(LD_LIBRARY_PATH=$libdir "$inst/bin/ssdc" version)
[ "$bin_version" = "ssdc $version" ] || fail "ssdc version says '$bin_version', pkg-config $version"
echo "pkg-config: ssdc $version: $(pkg-config --cflags --libs ssdc)"
echo "  --static: $(pkg-config --static --libs ssdc)"

cflags=(-Wall -Wextra -Werror)
ldextra=()
if [ "$sanitize" != none ]; then
    cflags+=("-fsanitize=$sanitize")
    ldextra+=("-fsanitize=$sanitize")
fi
cc=${CC:-cc}

# -- 3. the headers alone ---------------------------------------------------
step "headers compile on their own"
printf '#include <ssdc/ssdc.h>\nint main(void) { return ssdc_version() == 0; }\n' >"$work/h.c"
for std in c99 c11; do
    # shellcheck disable=SC2046
    $cc -std=$std -Wpedantic "${cflags[@]}" -c "$work/h.c" -o "$work/h.o" \
        $(pkg-config --cflags ssdc) || fail "<ssdc/ssdc.h> does not compile as $std"
done
if command -v c++ >/dev/null 2>&1; then
    cp "$work/h.c" "$work/h.cc"
    # shellcheck disable=SC2046
    c++ -Wall -Wextra -Werror -c "$work/h.cc" -o "$work/hcc.o" $(pkg-config --cflags ssdc) ||
        fail "<ssdc/ssdc.h> does not compile as C++"
fi

# -- 4. the example, shared and static --------------------------------------
run_example() { # NAME: builds from $work/NAME, runs into $work/out-NAME
    local name=$1 out=$work/out-$1
    mkdir -p "$out"
    (cd "$src" && env LD_LIBRARY_PATH="$libdir" "$work/$name" models/cnn1d.onnx "$out") \
        >"$work/$name.out" 2>"$work/$name.err" ||
        { cat "$work/$name.out" "$work/$name.err" >&2; fail "$name exited with $?"; }
    cat "$work/$name.out"
    grep -qx ok "$work/$name.out" || fail "$name did not finish"
    [ -s "$out/student.onnx" ] || fail "$name wrote no student.onnx"
    [ -s "$out/student_c/student.c" ] && [ -s "$out/student_c/student.h" ] ||
        fail "$name generated no C"
    local acc right
    acc=$(sed -n 's/^student: test accuracy \([0-9.]*\)%$/\1/p' "$work/$name.out")
    [ -n "$acc" ] && awk -v a="$acc" 'BEGIN { exit !(a >= 80) }' ||
        fail "$name: student test accuracy '$acc' below 80%"
    right=$(sed -n 's/.*(\([0-9]*\) of 8 right)$/\1/p' "$work/$name.out")
    [ -n "$right" ] && [ "$right" -ge 6 ] || fail "$name: '$right' of 8 predictions right"
    # the exported student is a model the installed ssdc reads, and its C compiles
    LD_LIBRARY_PATH=$libdir "$inst/bin/ssdc" inspect "$out/student.onnx" >/dev/null ||
        fail "installed ssdc cannot read $name's student.onnx"
    $cc -std=c99 -Wall -Werror -c "$out/student_c/student.c" -I"$out/student_c" \
        -o "$work/student-$name.o" || fail "$name's generated C does not compile"
}

step "examples/classify.c against libssdc.so (pkg-config --cflags --libs ssdc)"
# shellcheck disable=SC2046
$cc -std=c11 "${cflags[@]}" -o "$work/classify-shared" "$src/examples/classify.c" \
    $(pkg-config --cflags --libs ssdc) "${ldextra[@]}" || fail "building the example (shared)"
ldd_line=$(LD_LIBRARY_PATH=$libdir ldd "$work/classify-shared" | grep 'libssdc\.so') ||
    fail "the shared example does not link libssdc.so"
case $ldd_line in *"$libdir"/libssdc.so.0*) ;; *) fail "libssdc resolves to: $ldd_line" ;; esac
run_example classify-shared

step "examples/classify.c against libssdc.a (pkg-config --static)"
static_libs=$(pkg-config --static --libs ssdc | sed 's/\(^\| \)-lssdc\( \|$\)/ -Wl,-Bstatic -lssdc -Wl,-Bdynamic /')
# shellcheck disable=SC2046,SC2086
$cc -std=c11 "${cflags[@]}" -o "$work/classify-static" "$src/examples/classify.c" \
    $(pkg-config --cflags ssdc) $static_libs "${ldextra[@]}" || fail "building the example (static)"
if ldd "$work/classify-static" | grep -q libssdc; then
    fail "the static example still needs libssdc.so"
fi
run_example classify-static
figures() { grep accuracy "$1" | sed 's/ in [0-9.]*s,/,/'; } # without the times
diff <(figures "$work/classify-shared.out") <(figures "$work/classify-static.out") ||
    fail "shared and static builds disagree"
cmp "$work/out-classify-shared/student.onnx" "$work/out-classify-static/student.onnx" ||
    fail "shared and static builds wrote different students"

# -- 5. exported symbols ------------------------------------------------------
step "exported symbols"
grep -ohE '\bssdc_[a-z0-9_]+\(' "$inst/include/ssdc/"*.h | tr -d '(' | sort -u >"$work/declared"
nm -D --defined-only "$real" | awk '{print $NF}' | sed 's/@.*//' | sort -u >"$work/exported"
grep -vx 'SSDC_0' "$work/exported" >"$work/exported.fn" || true
if grep -v '^ssdc_' "$work/exported.fn"; then
    fail "libssdc.so exports symbols without the ssdc_ prefix (above)"
fi
diff "$work/declared" "$work/exported.fn" ||
    fail "exports of libssdc.so (>) differ from the header's functions (<)"
nm "$libdir/libssdc.a" | awk '$2 ~ /^[A-TV-Z]$/ {print $3}' | sort -u >"$work/static.globals"
if grep -v '^ssdc_' "$work/static.globals"; then
    fail "libssdc.a defines global symbols without the ssdc_ prefix (above)"
fi
diff "$work/declared" "$work/static.globals" || fail "libssdc.a's globals differ from the header"
echo "  $(wc -l <"$work/declared") functions, all ssdc_*, in the header, libssdc.so and libssdc.a"
# errors are values: the library neither exits, aborts nor prints to stdout/stderr
bad=$(nm -D --undefined-only "$real" | awk '{print $NF}' | sed 's/@.*//' |
    grep -xE 'exit|_exit|_Exit|quick_exit|abort|printf|vprintf|puts|putchar|perror|err|errx|warn|warnx' || true)
[ -z "$bad" ] || fail "libssdc.so calls: $(echo $bad)"

# -- 6. the man page ----------------------------------------------------------
step "man page"
page=$inst/share/man/man1/ssdc.1
groff -man -Tutf8 -ww -z "$page" 2>"$work/groff.err" || fail "groff failed on ssdc.1"
[ ! -s "$work/groff.err" ] || { cat "$work/groff.err" >&2; fail "groff warnings on ssdc.1"; }
if command -v man >/dev/null 2>&1; then
    # piped, man-db formats without overstrikes or escapes
    MANWIDTH=100 man -l "$page" >"$work/man.txt" 2>"$work/man.err" || fail "man -l failed"
else
    groff -man -Tutf8 -P-cbou "$page" >"$work/man.txt"
fi
for s in NAME SYNOPSIS DESCRIPTION COMMANDS "EXIT STATUS"; do
    grep -q "^$s" "$work/man.txt" || fail "the man page has no $s section"
done
cmds=$(LD_LIBRARY_PATH=$libdir "$inst/bin/ssdc" help |
    sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\).*/\1/p' | grep -vx 'help\|version')
for c in $cmds; do
    grep -q "^   ssdc $c\$" "$work/man.txt" || fail "the man page has no section for 'ssdc $c'"
    # every option of the command's --help is in its section
    for opt in $(LD_LIBRARY_PATH=$libdir "$inst/bin/ssdc" "$c" --help |
        sed -n 's/^  \(-[-a-z]*\).*/\1/p' | sort -u); do
        grep -q -- "$opt" "$work/man.txt" || fail "the man page lacks '$opt' of ssdc $c"
    done
done
echo "  $(wc -l <"$work/man.txt") lines; sections for: $(echo $cmds)"

rm -rf "$work"
echo "install: all checks passed"

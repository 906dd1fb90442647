#!/usr/bin/env python3
"""Structure-aware minimiser for ONNX crash inputs (docs/fuzzing.md).

    /usr/bin/python3 fuzz/minimize_onnx.py BIN CRASH.onnx OUT.onnx SIGNATURE

BIN is a fuzz target built *before* the fix (it still crashes on CRASH.onnx);
SIGNATURE is a string of its crash report that identifies the bug (e.g.
"softmax.c:73").  libFuzzer's -minimize_crash works on bytes and mostly
breaks the protobuf; this removes whole nodes (or bypasses them: consumers
read the node's first input), graph outputs, initializers,
value_info, metadata and doc strings, and shrinks initializers that are
not read by value, keeping each step only while BIN still crashes with
SIGNATURE.  Needs the onnx Python package (Debian: python3-onnx).
"""
import os
import subprocess
import sys
import tempfile

import onnx
from onnx import helper, numpy_helper  # noqa: F401


def crashes(binary, model, signature):
    with tempfile.NamedTemporaryFile(suffix=".onnx", delete=False) as f:
        f.write(model.SerializeToString())
        path = f.name
    try:
        env = dict(os.environ, UBSAN_OPTIONS="halt_on_error=1", OPENBLAS_NUM_THREADS="1")
        r = subprocess.run([binary, path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           env=env, timeout=60)
        return r.returncode != 0 and signature.encode() in r.stderr
    except subprocess.TimeoutExpired:
        return signature == "timeout"
    finally:
        os.unlink(path)


def copy(m):
    c = onnx.ModelProto()
    c.CopyFrom(m)
    return c


def try_step(binary, model, signature, edit):
    cand = copy(model)
    if edit(cand) is False:
        return model, False
    if crashes(binary, cand, signature):
        return cand, True
    return model, False


def used_names(g):
    names = set()
    for n in g.node:
        names.update(n.input)
    names.update(o.name for o in g.output)
    return names


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    binary, src, dst, signature = sys.argv[1:]
    binary = os.path.abspath(binary)
    model = onnx.load(src)
    if not crashes(binary, model, signature):
        sys.exit("the input does not crash %s with '%s'" % (binary, signature))
    g = model.graph

    def strip(m):
        m.doc_string = ""
        m.graph.doc_string = ""
        del m.metadata_props[:]
        del m.graph.value_info[:]
        m.producer_name = ""
        m.producer_version = ""
        for n in m.graph.node:
            n.doc_string = ""
    model, _ = try_step(binary, model, signature, strip)

    changed = True
    while changed:
        changed = False
        # whole nodes, last first (consumers before producers)
        i = len(model.graph.node) - 1
        while i >= 0:
            def drop_node(m, i=i):
                del m.graph.node[i]
            model, ok = try_step(binary, model, signature, drop_node)
            changed |= ok
            i -= 1
        # bypass a node: its consumers (and graph outputs) read its first input
        i = len(model.graph.node) - 1
        while i >= 0:
            def bypass(m, i=i):
                n = m.graph.node[i]
                if not n.input or not n.input[0] or not n.output:
                    return False
                src, out = n.input[0], n.output[0]
                del m.graph.node[i]
                for c in m.graph.node:
                    for k, name in enumerate(c.input):
                        if name == out:
                            c.input[k] = src
                for o in m.graph.output:
                    if o.name == out:
                        o.name = src
            if i < len(model.graph.node):
                model, ok = try_step(binary, model, signature, bypass)
                changed |= ok
            i -= 1
        # graph outputs
        i = len(model.graph.output) - 1
        while i >= 0 and len(model.graph.output) > 1:
            def drop_out(m, i=i):
                del m.graph.output[i]
            model, ok = try_step(binary, model, signature, drop_out)
            changed |= ok
            i -= 1
        # unused initializers and inputs
        def prune(m):
            used = used_names(m.graph)
            keep = [t for t in m.graph.initializer if t.name in used]
            if len(keep) == len(m.graph.initializer):
                return False
            del m.graph.initializer[:]
            m.graph.initializer.extend(keep)
        model, ok = try_step(binary, model, signature, prune)
        changed |= ok
        # each remaining initializer: all but one element, then dims 1
        for i in range(len(model.graph.initializer)):
            def shrink(m, i=i):
                t = m.graph.initializer[i]
                if len(t.raw_data) <= 8 and not len(t.float_data):
                    return False
                a = numpy_helper.to_array(t)
                small = a.reshape(-1)[:1].reshape([1] * a.ndim) if a.size else a
                n = numpy_helper.from_array(small, t.name)
                t.CopyFrom(n)
            model, ok = try_step(binary, model, signature, shrink)
            changed |= ok
    onnx.save(model, dst)
    print("%s: %d -> %d bytes, %d nodes" % (dst, os.path.getsize(src), os.path.getsize(dst),
                                            len(model.graph.node)))


if __name__ == "__main__":
    main()

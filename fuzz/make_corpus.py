#!/usr/bin/env python3
"""Builds the seed corpora of the ssdc fuzz targets (docs/fuzzing.md).

    fuzz/make_corpus.py --out build-fuzz/fuzz/corpus

writes OUT/<target>/ for every target in fuzz/meson.build.  Nothing here is
committed: the seeds come from the repository (models/, tests/data/bad/), from
Debian's libonnx-testdata, from ../shared/data/ucr (cut down to a few lines)
and from small files generated below (IDX, NPY and text variants).  Only
regression inputs (fuzz/regressions/<target>/) are committed.

The data set targets read several files from one input: the parts are joined
with the marker #SPLIT# (fuzz/fuzz_util.h).  Standard library only (gzip,
struct), so it runs wherever python3 does.
"""
import argparse
import gzip
import hashlib
import os
import shutil
import struct
import sys

SPLIT = b"#SPLIT#"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTDATA = "/usr/share/libonnx-testdata/data"
UCR = os.path.join(os.path.dirname(ROOT), "shared", "data", "ucr")
MAX_SEED = 256 * 1024  # larger seeds only slow the mutator down


class Corpus:
    def __init__(self, out, target):
        self.dir = os.path.join(out, target)
        os.makedirs(self.dir, exist_ok=True)
        self.count = 0

    def add(self, data, hint=""):
        if len(data) > MAX_SEED:
            return
        name = hashlib.sha1(data).hexdigest()[:16] + ("-" + hint if hint else "")
        with open(os.path.join(self.dir, name), "wb") as f:
            f.write(data)
        self.count += 1

    def add_file(self, path, hint=""):
        with open(path, "rb") as f:
            self.add(f.read(), hint)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def sorted_glob(folder, pred):
    out = []
    if not os.path.isdir(folder):
        return out
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for fn in sorted(filenames):
            p = os.path.join(dirpath, fn)
            if pred(p):
                out.append(p)
    return out


# ---- ONNX models (fuzz_onnx, fuzz_run) and TensorProto files (fuzz_tensorpb) ----

def onnx_seeds(out):
    c_onnx, c_run, c_pb = Corpus(out, "fuzz_onnx"), Corpus(out, "fuzz_run"), Corpus(out, "fuzz_tensorpb")
    local = sorted_glob(os.path.join(ROOT, "models"), lambda p: p.endswith(".onnx"))
    local += sorted_glob(os.path.join(ROOT, "tests", "data", "bad"), lambda p: p.endswith(".onnx"))
    for p in local:
        c_onnx.add_file(p, "local")
        c_run.add_file(p, "local")
    for sub in ("node", "simple", "pytorch-operator", "pytorch-converted"):
        for p in sorted_glob(os.path.join(TESTDATA, sub), lambda p: p.endswith("model.onnx")):
            c_onnx.add_file(p, sub)
            c_run.add_file(p, sub)
        for p in sorted_glob(os.path.join(TESTDATA, sub), lambda p: p.endswith(".pb")):
            if os.path.getsize(p) <= 64 * 1024:
                c_pb.add_file(p, sub)
    return [c_onnx, c_run, c_pb]


# ---- NPY ----

def npy_bytes(descr, shape, payload, version=(1, 0), fortran=False, pad_to=64):
    shape_s = repr(tuple(shape))
    hdr = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fortran else "False", shape_s)
    lenbytes = 2 if version[0] == 1 else 4
    total = 6 + 2 + lenbytes + len(hdr) + 1
    hdr += " " * ((-total) % pad_to) + "\n"
    fmt = "<H" if lenbytes == 2 else "<I"
    return b"\x93NUMPY" + bytes(version) + struct.pack(fmt, len(hdr)) + hdr.encode() + payload


def npy_seeds(out):
    c = Corpus(out, "fuzz_npy")
    for folder in (os.path.join(ROOT, "models"), os.path.join(ROOT, "tests", "data", "bad"),
                   UCR):
        for p in sorted_glob(folder, lambda p: p.endswith(".npy")):
            c.add_file(p, "local")
    types = {"<f4": "<f", "<f8": "<d", "<i8": "<q", "<i4": "<i", "|b1": "B", "|u1": "B",
             "|i1": "b"}
    for descr, fmt in types.items():
        vals = [0, 1, 1, 0, 2, 3] if descr != "|b1" else [0, 1, 1, 0, 1, 1]
        payload = b"".join(struct.pack(fmt, v) for v in vals)
        c.add(npy_bytes(descr, (2, 3), payload), "gen")
    f32 = b"".join(struct.pack("<f", v) for v in (1.5, -2.0, float("nan"), float("inf")))
    c.add(npy_bytes("<f4", (4,), f32), "gen")
    c.add(npy_bytes("<f4", (2, 2), f32, version=(2, 0)), "v2")
    c.add(npy_bytes("<f4", (2, 2), f32, version=(3, 0)), "v3")
    c.add(npy_bytes("<f4", (2, 2), f32, fortran=True), "fortran")
    c.add(npy_bytes("<f4", (), f32[:4]), "scalar")
    c.add(npy_bytes("<f4", (0, 3), b""), "empty")
    c.add(npy_bytes("<f4", (1, 1, 1, 1, 1, 1, 1, 1), f32[:4]), "rank8")
    c.add(npy_bytes(">f4", (1,), b"\0\0\x80\x3f"), "bigendian")
    c.add(npy_bytes("|O", (1,), b"\0" * 8), "object")
    return [c]


# ---- UCR TSV / UEA .ts ----

def head_lines(path, n, max_bytes=12 * 1024):
    out = []
    with open(path, "rb") as f:
        for line in f:
            if len(out) >= n:
                break
            out.append(line[:max_bytes] if len(line) > max_bytes else line)
    return b"".join(out)


def tsv_seeds(out):
    c = Corpus(out, "fuzz_tsv")
    for folder in sorted(os.listdir(UCR)) if os.path.isdir(UCR) else []:
        d = os.path.join(UCR, folder)
        tr = os.path.join(d, folder + "_TRAIN.tsv")
        te = os.path.join(d, folder + "_TEST.tsv")
        if os.path.isfile(tr) and os.path.isfile(te):
            # whole lines: a cut line would only test the ragged-row error
            c.add(head_lines(tr, 4, 1 << 30) + SPLIT + head_lines(te, 4, 1 << 30), folder)
            c.add(head_lines(tr, 3, 1 << 30), folder + "-same")
    c.add(b"1\t0.5\t1.5\t2.5\n2\t-1\t0\t1e3\n" + SPLIT + b"2\t1\t2\t3\n1\t0\t0\t0\n", "gen")
    c.add(b"1,0.5,1.5,2.5\r\n2,-1,0,1e3\r\n" + SPLIT + b"2,1,2,3\r\n", "csv")
    c.add(b"a 0.5 1.5\nb NaN 2\n\nc ? 1\n" + SPLIT + b"a 1 2\n", "strlabels")
    c.add(b"1.0\t1\t2\n-1.0\t3\t4\n" + SPLIT + b"1.0\t5\t6\n", "floatlabels")
    c.add(b"1\tinf\t-inf\t1e308\t1e-320\n" + SPLIT + b"1\t0x10\t+3\t-.5\t5.\n", "inf")
    c.add(b"1\t1e38\t-3.4e38\t1e-320\n" + SPLIT + b"1\t0x10\t+3\t-.5\t5.\n", "numbers")
    return [c]


def ts_file(labels, series, dims, length, univariate, missing=False, extra_header=b""):
    h = [b"#comment line",
         b"@problemName Fuzz",
         b"@timeStamps false",
         b"@missing " + (b"true" if missing else b"false"),
         b"@univariate " + (b"true" if univariate else b"false"),
         b"@dimensions %d" % dims,
         b"@equalLength true",
         b"@seriesLength %d" % length,
         b"@classLabel true " + b" ".join(sorted(set(labels)))]
    if extra_header:
        h.append(extra_header)
    h.append(b"@data")
    rows = []
    for lab, s in zip(labels, series):
        rows.append(b":".join(b",".join(v for v in ch) for ch in s) + b":" + lab)
    return b"\n".join(h + rows) + b"\n"


def ts_seeds(out):
    c = Corpus(out, "fuzz_ts")
    bm = os.path.join(UCR, "BasicMotions")
    tr, te = os.path.join(bm, "BasicMotions_TRAIN.ts"), os.path.join(bm, "BasicMotions_TEST.ts")
    if os.path.isfile(tr) and os.path.isfile(te):
        # header (13 lines) and two samples
        c.add(head_lines(tr, 15, 1 << 30) + SPLIT + head_lines(te, 15, 1 << 30), "BasicMotions")

    def ser(dims, length, k):
        return [[b"%g" % ((k * 3 + d * 5 + i) % 7 - 3) for i in range(length)] for d in range(dims)]

    labs = [b"a", b"b", b"a", b"c"]
    multi = ts_file(labs, [ser(2, 5, k) for k in range(4)], 2, 5, False)
    uni = ts_file(labs, [ser(1, 6, k) for k in range(4)], 1, 6, True)
    c.add(multi + SPLIT + ts_file(labs[:2], [ser(2, 5, k) for k in range(2)], 2, 5, False), "multi")
    c.add(uni + SPLIT + uni, "uni")
    c.add(uni, "same")
    miss = ts_file([b"1", b"2"], [[[b"1", b"?", b"NaN"]], [[b"2", b"3", b"4"]]], 1, 3, True, True)
    c.add(miss + SPLIT + miss, "missing")
    num = ts_file([b"1", b"10", b"2"], [ser(1, 3, k) for k in range(3)], 1, 3, True)
    c.add(num, "numlabels")
    c.add(ts_file([b"1"], [ser(1, 3, 0)], 1, 3, True, extra_header=b"@targetLabel true"),
          "regression")
    return [c]


# ---- IDX ----

IDX_TYPES = {0x08: "B", 0x09: "b", 0x0B: ">h", 0x0C: ">i", 0x0D: ">f", 0x0E: ">d"}


def idx_bytes(code, dims, values):
    fmt = IDX_TYPES[code]
    hdr = bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)
    return hdr + b"".join(struct.pack(fmt if fmt[0] == ">" else fmt, v) for v in values)


def idx_seeds(out):
    c = Corpus(out, "fuzz_idx")
    n = 4

    def pair(code, dims, gz=False, labels_code=0x08, n_test=None):
        per = 1
        for d in dims:
            per *= d
        vals = [(i * 37) % 256 for i in range(n * per)]
        if code == 0x09:
            vals = [v - 128 for v in vals]
        if code in (0x0D, 0x0E):
            vals = [v / 255.0 for v in vals]
        imgs = idx_bytes(code, [n] + dims, vals)
        labs = idx_bytes(labels_code, [n], [i % 3 for i in range(n)])
        if gz:
            imgs = gzip.compress(imgs, mtime=0)
            labs = gzip.compress(labs, mtime=0)
        parts = [imgs, labs]
        if n_test is not None:
            t_imgs = idx_bytes(code, [n_test] + dims, vals[:n_test * per])
            t_labs = idx_bytes(labels_code, [n_test], [(i + 1) % 3 for i in range(n_test)])
            parts += [t_imgs, t_labs]
        return SPLIT.join(parts)

    c.add(pair(0x08, [3, 3]), "u8-hw")
    c.add(pair(0x08, [3, 3], n_test=2), "u8-4files")
    c.add(pair(0x08, [3, 3], gz=True), "u8-gz")
    c.add(pair(0x08, [5]), "u8-l")
    c.add(pair(0x08, [2, 2, 2]), "u8-chw")
    c.add(pair(0x09, [2, 3]), "i8")
    c.add(pair(0x0B, [2, 3], labels_code=0x0B), "i16")
    c.add(pair(0x0C, [2, 3], labels_code=0x0C), "i32")
    c.add(pair(0x0D, [2, 3]), "f32")
    c.add(pair(0x0E, [2, 3]), "f64")
    return [c]


# ---- dictionaries (libFuzzer -dict=OUT/<target>.dict) ----

def op_names():
    names = []
    for fn in ("ops.def", "ops_training.def"):
        p = os.path.join(ROOT, "graph", fn)
        if os.path.isfile(p):
            for line in open(p):
                if line.startswith("X(") and '"' in line:
                    names.append(line.split('"')[1])
    return names


def write_dicts(out):
    def esc(b):
        return "".join(chr(c) if 32 <= c < 127 and c not in (34, 92) else "\\x%02X" % c
                       for c in b)

    onnx_words = [w.encode() for w in op_names()] + [
        b"ai.onnx", b"ai.ssdc", b"axes", b"axis", b"kernel_shape", b"pads", b"strides",
        b"dilations", b"group", b"perm", b"keepdims", b"transA", b"transB", b"alpha", b"beta",
        b"epsilon", b"momentum", b"training_mode", b"auto_pad", b"SAME_UPPER", b"VALID",
        b"ceil_mode", b"allowzero", b"to", b"value", b"mode", b"batch", b"N"]
    words = {
        "fuzz_onnx": onnx_words,
        "fuzz_run": onnx_words,
        "fuzz_npy": [b"\x93NUMPY", b"'descr'", b"'fortran_order'", b"'shape'", b"False",
                     b"True", b"<f4", b"<f8", b"<i8", b"<i4", b"|b1", b"|u1", b"|i1", b"<f2",
                     b"(", b")", b",", b"{", b"}", b": ", b"\x01\x00", b"\x02\x00",
                     b"\x03\x00"],
        "fuzz_tsv": [SPLIT, b"\t", b",", b"\r\n", b"NaN", b"nan", b"?", b"inf", b"-inf",
                     b"1e38", b"1e39", b"-0", b"0x1p3", b"e", b"E-"],
        "fuzz_ts": [SPLIT, b"@problemName", b"@timeStamps", b"@missing", b"@univariate",
                    b"@dimensions", b"@equalLength", b"@seriesLength", b"@classLabel",
                    b"@targetLabel", b"@data", b"true", b"false", b":", b",", b"?", b"NaN",
                    b"(", b")", b"#"],
        "fuzz_idx": [SPLIT, b"\x00\x00\x08\x01", b"\x00\x00\x08\x03",
                     b"\x00\x00\x0d\x02", b"\x00\x00\x0e\x04", b"\x1f\x8b\x08",
                     b"\xff\xff\xff\xff", b"\x00\x00\x00\x00"],
        "fuzz_tensorpb": [],
    }
    for target, ws in words.items():
        if not ws:
            continue
        with open(os.path.join(out, target + ".dict"), "w") as f:
            for i, w in enumerate(ws):
                f.write('w%d="%s"\n' % (i, esc(w)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="folder to write OUT/<target>/ into")
    ap.add_argument("--clean", action="store_true", help="remove OUT first")
    a = ap.parse_args()
    if a.clean and os.path.isdir(a.out):
        shutil.rmtree(a.out)
    corpora = onnx_seeds(a.out) + npy_seeds(a.out) + tsv_seeds(a.out) + ts_seeds(a.out) + \
        idx_seeds(a.out)
    write_dicts(a.out)
    for c in corpora:
        print("%-32s %5d seeds" % (c.dir, c.count))
    if not os.path.isdir(TESTDATA):
        print("note: %s not found (apt-get install libonnx-testdata): ONNX seeds are only the "
              "bundled models" % TESTDATA, file=sys.stderr)
    if not os.path.isdir(UCR):
        print("note: %s not found: text data set seeds are generated only" % UCR, file=sys.stderr)


if __name__ == "__main__":
    main()

/* .npy reading and writing: round trips of every dtype and shape, files made
 * by numpy, hand-built headers, and truncated/corrupt input that must give
 * errors (naming the file) instead of crashes. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "frontend/npy.h"
#include "graph/graph.h"

static char tmp_dir[64];

static void suite_setup(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/ssdc_npy_test_XXXXXX");
    cr_assert_not_null(mkdtemp(tmp_dir), "mkdtemp failed");
}

static void suite_teardown(void)
{
    if (strncmp(tmp_dir, "/tmp/ssdc_npy_test_", 19) == 0) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmp_dir);
    }
}

TestSuite(npy, .init = suite_setup, .fini = suite_teardown);

static const char *tmp_path(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmp_dir, name);
    return buf[k];
}

static void run_python(const char *body)
{
    const char *script = tmp_path("gen.py");
    FILE *f = fopen(script, "w");
    cr_assert_not_null(f);
    fputs("import sys, numpy as np\nout = sys.argv[1] + '/'\n", f);
    fputs(body, f);
    fclose(f);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s'", script, tmp_dir);
    cr_assert_eq(system(cmd), 0, "python failed:\n%s", body);
}

static size_t read_all(const char *path, unsigned char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

/* Element i as a double, for every supported dtype. */
static double elem(const graph_value *v, int64_t i)
{
    switch (v->dtype) {
    case GRAPH_DT_FLOAT: return ((const float *)v->data)[i];
    case GRAPH_DT_DOUBLE: return ((const double *)v->data)[i];
    case GRAPH_DT_INT64: return (double)((const int64_t *)v->data)[i];
    case GRAPH_DT_INT32: return ((const int32_t *)v->data)[i];
    case GRAPH_DT_INT8: return ((const int8_t *)v->data)[i];
    case GRAPH_DT_UINT8:
    case GRAPH_DT_BOOL: return ((const uint8_t *)v->data)[i];
    default: cr_assert_fail("unexpected dtype %d", v->dtype); return 0;
    }
}

/* Deterministic test pattern, valid for every dtype (bool: 0/1). */
static double pattern(graph_dtype dt, int64_t i)
{
    switch (dt) {
    case GRAPH_DT_BOOL: return (double)(i % 3 == 0);
    case GRAPH_DT_UINT8: return (double)((i * 37) % 256);
    case GRAPH_DT_INT8: return (double)((i * 37) % 256 - 128);
    case GRAPH_DT_INT32: return (double)(i * 100003 - 7);
    case GRAPH_DT_INT64: return (double)(i * 1000000007LL - 3);
    case GRAPH_DT_FLOAT: return (double)(float)(i * 0.25 - 1.5);
    default: return i * 0.125 - 1e-300;
    }
}

static void fill(graph_value *v)
{
    size_t es = graph_dtype_size(v->dtype);
    v->data = malloc(v->numel * es + 1);
    for (int64_t i = 0; i < v->numel; i++) {
        double x = pattern(v->dtype, i);
        switch (v->dtype) {
        case GRAPH_DT_FLOAT: ((float *)v->data)[i] = (float)x; break;
        case GRAPH_DT_DOUBLE: ((double *)v->data)[i] = x; break;
        case GRAPH_DT_INT64: ((int64_t *)v->data)[i] = i * 1000000007LL - 3; break;
        case GRAPH_DT_INT32: ((int32_t *)v->data)[i] = (int32_t)x; break;
        case GRAPH_DT_INT8: ((int8_t *)v->data)[i] = (int8_t)x; break;
        default: ((uint8_t *)v->data)[i] = (uint8_t)x; break;
        }
    }
}

static void expect_read_error(const void *buf, size_t len, const char *needle)
{
    graph_value v;
    ssdc_error err = {0};
    ssdc_status st = npy_read_buffer(buf, len, "buf.npy", &v, &err);
    cr_assert_neq(st, SSDC_OK, "buffer of %zu bytes should be refused", len);
    cr_assert_null(v.data);
    cr_assert(strncmp(err.msg, "buf.npy: ", 9) == 0, "message does not name the file: %s",
              err.msg);
    if (needle)
        cr_assert_not_null(strstr(err.msg, needle), "message lacks '%s': %s", needle, err.msg);
}

static void expect_file_error(const char *path, const char *needle)
{
    graph_value v;
    ssdc_error err = {0};
    ssdc_status st = npy_read_file(path, &v, &err);
    cr_assert_neq(st, SSDC_OK, "%s should be refused", path);
    cr_assert_null(v.data);
    cr_assert(strncmp(err.msg, path, strlen(path)) == 0, "message does not name the file: %s",
              err.msg);
    if (needle)
        cr_assert_not_null(strstr(err.msg, needle), "message lacks '%s': %s", needle, err.msg);
}

/* A .npy image: version major.0, dict text padded to 64, then data. */
static size_t make_npy(unsigned char *out, int major, const char *dict, const void *data,
                       size_t ndata)
{
    size_t pre = major == 1 ? 10 : 12;
    size_t dl = strlen(dict);
    size_t total = (pre + dl + 1 + 63) / 64 * 64;
    size_t hl = total - pre;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (unsigned char)major;
    out[7] = 0;
    out[8] = hl & 0xff;
    out[9] = (hl >> 8) & 0xff;
    if (major != 1) {
        out[10] = (hl >> 16) & 0xff;
        out[11] = (hl >> 24) & 0xff;
    }
    memcpy(out + pre, dict, dl);
    memset(out + pre + dl, ' ', hl - dl - 1);
    out[total - 1] = '\n';
    if (ndata)
        memcpy(out + total, data, ndata);
    return total + ndata;
}

/* ---- round trips ---- */

Test(npy, round_trip_every_dtype_and_shape)
{
    const graph_dtype dts[] = {GRAPH_DT_FLOAT, GRAPH_DT_DOUBLE, GRAPH_DT_INT64, GRAPH_DT_INT32,
                               GRAPH_DT_BOOL,  GRAPH_DT_UINT8,  GRAPH_DT_INT8};
    const struct {
        int rank;
        int64_t dims[8];
    } shapes[] = {
        {0, {0}}, {1, {5}}, {2, {2, 3}}, {2, {0, 3}}, {3, {1, 1, 1}}, {8, {2, 1, 2, 1, 2, 1, 2, 3}},
        {1, {1000}},
    };
    for (size_t d = 0; d < sizeof dts / sizeof dts[0]; d++) {
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            graph_value v = {0};
            graph_value_set_shape(&v, dts[d], shapes[s].rank, shapes[s].dims);
            fill(&v);
            const char *path = tmp_path("rt.npy");
            ssdc_error err = {0};
            cr_assert_eq(npy_write_file(path, &v, &err), SSDC_OK, "%s", err.msg);

            /* header: version 1.0, 64-byte aligned, ends with a newline */
            unsigned char head[128];
            size_t n = read_all(path, head, sizeof head);
            cr_assert_geq(n, 64);
            cr_assert_eq(memcmp(head, "\x93NUMPY\x01\x00", 8), 0);
            size_t hl = head[8] | (size_t)head[9] << 8;
            cr_assert_eq((10 + hl) % 64, 0, "header not 64-byte aligned");
            struct stat sb;
            cr_assert_eq(stat(path, &sb), 0);
            cr_assert_eq((size_t)sb.st_size, 10 + hl + v.numel * graph_dtype_size(v.dtype));

            graph_value r;
            cr_assert_eq(npy_read_file(path, &r, &err), SSDC_OK, "%s", err.msg);
            cr_assert_eq(r.dtype, v.dtype, "dtype %s", graph_dtype_name(v.dtype));
            cr_assert_eq(r.rank, v.rank);
            for (int i = 0; i < v.rank; i++)
                cr_assert_eq(r.dims[i], v.dims[i]);
            cr_assert_eq(r.numel, v.numel);
            cr_assert_not_null(r.data);
            cr_assert_eq(memcmp(r.data, v.data, v.numel * graph_dtype_size(v.dtype)), 0,
                         "data differs for %s rank %d", graph_dtype_name(v.dtype), v.rank);

            /* the buffer reader agrees with the file reader */
            unsigned char *buf = malloc((size_t)sb.st_size + 1);
            size_t len = read_all(path, buf, (size_t)sb.st_size + 1);
            graph_value b;
            cr_assert_eq(npy_read_buffer(buf, len, path, &b, &err), SSDC_OK, "%s", err.msg);
            cr_assert_eq(b.numel, v.numel);
            cr_assert_eq(memcmp(b.data, v.data, v.numel * graph_dtype_size(v.dtype)), 0);
            free(buf);
            free(b.data);
            free(r.data);
            free(v.data);
        }
    }
}

Test(npy, numpy_reads_what_we_write)
{
    const graph_dtype dts[] = {GRAPH_DT_FLOAT, GRAPH_DT_DOUBLE, GRAPH_DT_INT64, GRAPH_DT_INT32,
                               GRAPH_DT_BOOL,  GRAPH_DT_UINT8,  GRAPH_DT_INT8};
    const char *names[] = {"f4", "f8", "i8", "i4", "b1", "u1", "i1"};
    for (int d = 0; d < 7; d++) {
        int64_t dims[2] = {3, 4};
        graph_value v = {0};
        graph_value_set_shape(&v, dts[d], 2, dims);
        fill(&v);
        char name[32];
        snprintf(name, sizeof name, "w_%s.npy", names[d]);
        ssdc_error err = {0};
        cr_assert_eq(npy_write_file(tmp_path(name), &v, &err), SSDC_OK, "%s", err.msg);
        free(v.data);
        int64_t sd[1] = {0};
        graph_value s = {0};
        graph_value_set_shape(&s, dts[d], 0, sd);
        fill(&s);
        snprintf(name, sizeof name, "s_%s.npy", names[d]);
        cr_assert_eq(npy_write_file(tmp_path(name), &s, &err), SSDC_OK, "%s", err.msg);
        free(s.data);
    }
    run_python(
        "i = np.arange(12)\n"
        "exp = {'f4': (i * 0.25 - 1.5).astype('<f4'), 'f8': i * 0.125 - 1e-300,\n"
        "       'i8': i * 1000000007 - 3, 'i4': i * 100003 - 7, 'b1': i % 3 == 0,\n"
        "       'u1': (i * 37) % 256, 'i1': (i * 37) % 256 - 128}\n"
        "for k, e in exp.items():\n"
        "    a = np.load(out + 'w_' + k + '.npy')\n"
        "    assert a.dtype == np.dtype(k if k != 'b1' else '?'), (k, a.dtype)\n"
        "    assert a.shape == (3, 4), (k, a.shape)\n"
        "    assert (a.ravel() == e.astype(a.dtype)).all(), (k, a, e)\n"
        "    s = np.load(out + 's_' + k + '.npy')\n"
        "    assert s.shape == () and s == e.astype(a.dtype)[0], (k, s)\n");
}

/* ---- files made by numpy ---- */

Test(npy, reads_numpy_files)
{
    run_python(
        "a = np.arange(6).reshape(2, 3)\n"
        "np.save(out + 'f4.npy', (a * 0.5).astype('<f4'))\n"
        "np.save(out + 'f8.npy', (a * 0.5).astype('<f8'))\n"
        "np.save(out + 'i8.npy', (a - 3).astype('<i8'))\n"
        "np.save(out + 'i4.npy', (a - 3).astype('<i4'))\n"
        "np.save(out + 'b1.npy', a % 2 == 1)\n"
        "np.save(out + 'u1.npy', (a * 50).astype('u1'))\n"
        "np.save(out + 'i1.npy', (a - 3).astype('i1'))\n"
        "np.save(out + 'scalar.npy', np.float32(2.5))\n"
        "np.save(out + 'vec.npy', np.arange(4, dtype='<i8'))\n"
        "np.save(out + 'empty.npy', np.zeros((0, 3), '<f4'))\n"
        "with open(out + 'v2.npy', 'wb') as f:\n"
        "    np.lib.format.write_array(f, (a * 0.5).astype('<f4'), version=(2, 0))\n"
        "with open(out + 'v3.npy', 'wb') as f:\n"
        "    np.lib.format.write_array(f, (a * 0.5).astype('<f4'), version=(3, 0))\n"
        "np.save(out + 'big.npy', (a * 0.5).astype('>f4'))\n"
        "np.save(out + 'fortran.npy', np.asfortranarray((a * 0.5).astype('<f4')))\n"
        "np.save(out + 'object.npy', np.array([1, 'x'], dtype=object), allow_pickle=True)\n"
        "np.save(out + 'half.npy', a.astype('<f2'))\n"
        "np.save(out + 'record.npy', np.zeros(2, dtype=[('x', '<f4'), ('y', '<i4')]))\n");
    const char *names[] = {"f4.npy", "f8.npy", "i8.npy", "i4.npy", "b1.npy",
                           "u1.npy", "i1.npy", "v2.npy", "v3.npy"};
    const graph_dtype dts[] = {GRAPH_DT_FLOAT, GRAPH_DT_DOUBLE, GRAPH_DT_INT64,
                               GRAPH_DT_INT32, GRAPH_DT_BOOL,   GRAPH_DT_UINT8,
                               GRAPH_DT_INT8,  GRAPH_DT_FLOAT,  GRAPH_DT_FLOAT};
    const double expect[9][6] = {
        {0, 0.5, 1, 1.5, 2, 2.5},   {0, 0.5, 1, 1.5, 2, 2.5},    {-3, -2, -1, 0, 1, 2},
        {-3, -2, -1, 0, 1, 2},      {0, 1, 0, 1, 0, 1},          {0, 50, 100, 150, 200, 250},
        {-3, -2, -1, 0, 1, 2},      {0, 0.5, 1, 1.5, 2, 2.5},    {0, 0.5, 1, 1.5, 2, 2.5},
    };
    for (int k = 0; k < 9; k++) {
        graph_value v;
        ssdc_error err = {0};
        cr_assert_eq(npy_read_file(tmp_path(names[k]), &v, &err), SSDC_OK, "%s", err.msg);
        cr_assert_eq(v.dtype, dts[k], "%s: dtype %s", names[k], graph_dtype_name(v.dtype));
        cr_assert_eq(v.rank, 2);
        cr_assert_eq(v.dims[0], 2);
        cr_assert_eq(v.dims[1], 3);
        for (int i = 0; i < 6; i++)
            cr_assert_eq(elem(&v, i), expect[k][i], "%s[%d] = %g", names[k], i, elem(&v, i));
        free(v.data);
    }
    graph_value v;
    ssdc_error err = {0};
    cr_assert_eq(npy_read_file(tmp_path("scalar.npy"), &v, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(v.rank, 0);
    cr_assert_eq(v.numel, 1);
    cr_assert_eq(*(float *)v.data, 2.5f);
    free(v.data);
    cr_assert_eq(npy_read_file(tmp_path("vec.npy"), &v, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(v.rank, 1);
    cr_assert_eq(v.dims[0], 4);
    cr_assert_eq(((int64_t *)v.data)[3], 3);
    free(v.data);
    cr_assert_eq(npy_read_file(tmp_path("empty.npy"), &v, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(v.rank, 2);
    cr_assert_eq(v.numel, 0);
    free(v.data);

    expect_file_error(tmp_path("big.npy"), "big-endian");
    expect_file_error(tmp_path("fortran.npy"), "Fortran");
    expect_file_error(tmp_path("object.npy"), "object");
    expect_file_error(tmp_path("half.npy"), "<f2");
    expect_file_error(tmp_path("record.npy"), "structured");
    expect_file_error(tmp_path("missing.npy"), "cannot open");
}

/* ---- hand-built headers ---- */

Test(npy, header_variations)
{
    unsigned char buf[512];
    const float f[3] = {1, 2, 3};
    const unsigned char b[3] = {1, 0, 2};
    struct {
        const char *dict;
        graph_dtype dt;
        int rank;
        int64_t d0;
    } ok[] = {
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", GRAPH_DT_FLOAT, 1, 3},
        {"{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (3,)}", GRAPH_DT_FLOAT, 1, 3},
        {"{'shape':(3,),'fortran_order':False,'descr':'f4'}", GRAPH_DT_FLOAT, 1, 3},
        {"{ 'descr' : '=f4' ,\t'fortran_order' : False , 'shape' : ( 3 , ) , }", GRAPH_DT_FLOAT,
         1, 3},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3L,), }", GRAPH_DT_FLOAT, 1, 3},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }", GRAPH_DT_FLOAT, 2, 1},
        {"{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", GRAPH_DT_BOOL, 1, 3},
        {"{'descr': 'b1', 'fortran_order': False, 'shape': (3,), }", GRAPH_DT_BOOL, 1, 3},
        {"{'descr': '<b1', 'fortran_order': False, 'shape': (3,), }", GRAPH_DT_BOOL, 1, 3},
        {"{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", GRAPH_DT_UINT8, 1, 3},
        {"{'descr': '<u1', 'fortran_order': False, 'shape': (3,), }", GRAPH_DT_UINT8, 1, 3},
        {"{'descr': 'i1', 'fortran_order': False, 'shape': (3,), }", GRAPH_DT_INT8, 1, 3},
    };
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
        bool byte = ok[k].dt != GRAPH_DT_FLOAT;
        size_t len = make_npy(buf, 1 + (int)(k % 3), ok[k].dict, byte ? (const void *)b : f,
                              byte ? 3 : sizeof f);
        graph_value v;
        ssdc_error err = {0};
        cr_assert_eq(npy_read_buffer(buf, len, "h.npy", &v, &err), SSDC_OK, "%s: %s", ok[k].dict,
                     err.msg);
        cr_assert_eq(v.dtype, ok[k].dt, "%s", ok[k].dict);
        cr_assert_eq(v.rank, ok[k].rank, "%s", ok[k].dict);
        cr_assert_eq(v.dims[0], ok[k].d0, "%s", ok[k].dict);
        cr_assert_eq(v.numel, 3);
        if (!byte)
            cr_assert_eq(((float *)v.data)[2], 3.0f);
        else if (ok[k].dt == GRAPH_DT_BOOL)
            cr_assert_eq(((uint8_t *)v.data)[2], 1, "bool is normalised to 0/1");
        else
            cr_assert_eq(((uint8_t *)v.data)[2], 2);
        free(v.data);
    }
}

Test(npy, corrupt_headers)
{
    unsigned char buf[512];
    const float f[6] = {0};
    struct {
        const char *dict;
        const char *needle;
    } bad[] = {
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }", "big-endian"},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }", "Fortran"},
        {"{'descr': '|O', 'fortran_order': False, 'shape': (3,), }", "object"},
        {"{'descr': '<U4', 'fortran_order': False, 'shape': (3,), }", "not supported"},
        {"{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (3,), }", "structured"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), ", "expected"},
        {"{'descr': '<f4', 'fortran_order': False}", "missing key 'shape'"},
        {"{'fortran_order': False, 'shape': (3,)}", "missing key 'descr'"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", "twice"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }", "shape"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': [3], }", "tuple"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3 4), }", "shape"},
        {"{'descr': '<f4', 'fortran_order': 0, 'shape': (3,), }", "fortran_order"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}", "unexpected key"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), } junk", "after the dict"},
        {"['descr', '<f4']", "dict"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,3), }", "rank"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536), }",
         "elements"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
         "dimension"},
        {"{'descr': '<f4, 'fortran_order': False, 'shape': (3,), }", NULL},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        size_t len = make_npy(buf, 1, bad[k].dict, f, 12);
        expect_read_error(buf, len, bad[k].needle);
    }
    /* data length: one byte short, one byte long */
    const char *good = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
    size_t len = make_npy(buf, 1, good, f, 11);
    expect_read_error(buf, len, "expected 12");
    len = make_npy(buf, 1, good, f, 13);
    expect_read_error(buf, len, "expected 12");
    /* bad magic, unsupported version, header length beyond the buffer */
    len = make_npy(buf, 1, good, f, 12);
    buf[1] = 'X';
    expect_read_error(buf, len, "magic");
    len = make_npy(buf, 1, good, f, 12);
    buf[6] = 4;
    expect_read_error(buf, len, "version 4.0");
    len = make_npy(buf, 1, good, f, 12);
    buf[9] = 0x7f;
    expect_read_error(buf, len, "truncated header");
    len = make_npy(buf, 2, good, f, 12);
    buf[11] = 0x7f;
    expect_read_error(buf, len, "too long");
    /* the same problems through the file reader */
    len = make_npy(buf, 1, good, f, 13);
    const char *path = tmp_path("long.npy");
    FILE *fp = fopen(path, "wb");
    fwrite(buf, 1, len, fp);
    fclose(fp);
    expect_file_error(path, "longer than");
}

Test(npy, every_truncation_is_an_error)
{
    unsigned char buf[256];
    const double d[4] = {1, 2, 3, 4};
    size_t len = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }",
                          d, sizeof d);
    graph_value v;
    ssdc_error err = {0};
    cr_assert_eq(npy_read_buffer(buf, len, "buf.npy", &v, &err), SSDC_OK, "%s", err.msg);
    free(v.data);
    const char *path = tmp_path("cut.npy");
    for (size_t cut = 0; cut < len; cut++) {
        expect_read_error(buf, cut, NULL);
        FILE *f = fopen(path, "wb");
        fwrite(buf, 1, cut, f);
        fclose(f);
        expect_file_error(path, NULL);
    }
    /* version 2.0 too (its preamble is two bytes longer) */
    len = make_npy(buf, 2, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", d,
                   sizeof d);
    for (size_t cut = 0; cut < len; cut++) {
        FILE *f = fopen(path, "wb");
        fwrite(buf, 1, cut, f);
        fclose(f);
        expect_file_error(path, NULL);
    }
}

/* ---- atomic writes ---- */

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

Test(npy, failed_write_keeps_old_file)
{
    char dir[128];
    snprintf(dir, sizeof dir, "%s/w", tmp_dir);
    cr_assert_eq(mkdir(dir, 0755), 0);
    char path[160];
    snprintf(path, sizeof path, "%s/a.npy", dir);
    int64_t dims[1] = {4};
    graph_value v = {0};
    graph_value_set_shape(&v, GRAPH_DT_FLOAT, 1, dims);
    fill(&v);
    ssdc_error err = {0};
    cr_assert_eq(npy_write_file(path, &v, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(count_entries(dir), 1, "temporary file left behind");
    unsigned char before[256], after[256];
    size_t nb = read_all(path, before, sizeof before);

    /* invalid values are refused before anything is written */
    graph_value bad = v;
    bad.numel = 5;
    cr_assert_eq(npy_write_file(path, &bad, &err), SSDC_ERR_INVALID);
    cr_assert(strncmp(err.msg, path, strlen(path)) == 0, "%s", err.msg);
    bad = v;
    bad.dtype = GRAPH_DT_FLOAT16;
    cr_assert_eq(npy_write_file(path, &bad, &err), SSDC_ERR_UNSUPPORTED);
    size_t na = read_all(path, after, sizeof after);
    cr_assert_eq(na, nb);
    cr_assert_eq(memcmp(before, after, nb), 0, "old file changed");
    cr_assert_eq(count_entries(dir), 1);

    /* rename onto a directory fails after the temporary file was written:
     * the temporary file must be removed */
    char sub[160];
    snprintf(sub, sizeof sub, "%s/sub.npy", dir);
    cr_assert_eq(mkdir(sub, 0755), 0);
    cr_assert_neq(npy_write_file(sub, &v, &err), SSDC_OK);
    cr_assert(strncmp(err.msg, sub, strlen(sub)) == 0, "%s", err.msg);
    cr_assert_eq(count_entries(dir), 2, "temporary file left behind after a failed rename");
    struct stat sb;
    cr_assert_eq(stat(sub, &sb), 0);
    cr_assert(S_ISDIR(sb.st_mode));

    /* missing folder */
    char nodir[160];
    snprintf(nodir, sizeof nodir, "%s/nope/a.npy", dir);
    cr_assert_eq(npy_write_file(nodir, &v, &err), SSDC_ERR_IO);
    cr_assert(strncmp(err.msg, nodir, strlen(nodir)) == 0, "%s", err.msg);

    /* overwriting replaces the content */
    ((float *)v.data)[0] = 42.0f;
    cr_assert_eq(npy_write_file(path, &v, &err), SSDC_OK, "%s", err.msg);
    graph_value r;
    cr_assert_eq(npy_read_file(path, &r, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(((float *)r.data)[0], 42.0f);
    cr_assert_eq(count_entries(dir), 2);
    free(r.data);
    free(v.data);
}

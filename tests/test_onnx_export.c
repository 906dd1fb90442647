/* ONNX export: import -> export -> import round trips of the bundled models
 * and of ONNX node-test models; onnx.checker (full check) and ONNX Runtime
 * on the exported files; an opset-11 model exported at opset 13; every
 * attribute type and initializer dtype checked by an independent decoder
 * (Python's onnx); the opset rule; deterministic bytes; atomic writes. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend/npy.h"
#include "frontend/onnx_export.h"
#include "frontend/onnx_import.h"
#include "graph/graph.h"
#include "graph/ops.h"
#include "onnx.pb-c.h"

#define NODE_TESTS "/usr/share/libonnx-testdata/data/node"
#define PYTHON "/usr/bin/python3"
#define ORT_ATOL 1e-6

static char tmp_dir[64];
static char mnt_dir[128]; /* tmpfs mounted by the ENOSPC test, "" if none */

static void suite_setup(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/ssdc_export_test_XXXXXX");
    cr_assert_not_null(mkdtemp(tmp_dir), "mkdtemp failed");
    mnt_dir[0] = 0;
}

static void suite_teardown(void)
{
    if (mnt_dir[0])
        umount2(mnt_dir, MNT_DETACH);
    if (strncmp(tmp_dir, "/tmp/ssdc_export_test_", 22) == 0) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmp_dir);
    }
}

TestSuite(onnx_export, .init = suite_setup, .fini = suite_teardown);

static const char *root(void)
{
    const char *r = getenv("SSDC_SOURCE_ROOT");
    cr_assert(r, "run through meson test (SSDC_SOURCE_ROOT is not set)");
    return r;
}

static const char *tmp_path(const char *name)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmp_dir, name);
    return buf[k];
}

/* ---- files and processes ---- */

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    *len = n;
    return buf;
}

static void write_all(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

static bool same_file_bytes(const char *a, const char *b)
{
    size_t la, lb;
    uint8_t *da = read_all(a, &la), *db = read_all(b, &lb);
    bool same = la == lb && memcmp(da, db, la) == 0;
    free(da);
    free(db);
    return same;
}

static int run_cmd(const char *cmd)
{
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

/* Runs a Python snippet with argv[1] = the temp folder; fails the test on a
 * non-zero exit. */
static void run_python(const char *what, const char *body)
{
    const char *script = tmp_path("script.py");
    FILE *f = fopen(script, "w");
    cr_assert_not_null(f);
    fputs("import sys, numpy as np, onnx\n"
          "from onnx import helper as h, TensorProto as TP, numpy_helper as nh\n"
          "out = sys.argv[1]\n",
          f);
    fputs(body, f);
    fclose(f);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, PYTHON " '%s' '%s'", script, tmp_dir);
    cr_assert_eq(run_cmd(cmd), 0, "%s: the Python check failed", what);
}

/* onnx.checker.check_model(full_check=True) through Debian's python3-onnx,
 * on each of n models (one interpreter). */
static void check_many_with_onnx(const char *const *models, int n)
{
    char cmd[8192];
    int pos = snprintf(cmd, sizeof cmd,
                       PYTHON " -c 'import onnx, sys\n"
                              "for p in sys.argv[1:]:\n"
                              "    try:\n"
                              "        onnx.checker.check_model(onnx.load(p), full_check=True)\n"
                              "    except Exception as e:\n"
                              "        sys.exit(p + \": \" + str(e))'");
    for (int i = 0; i < n; i++)
        pos += snprintf(cmd + pos, sizeof cmd - (size_t)pos, " '%s'", models[i]);
    cr_assert_lt((size_t)pos, sizeof cmd);
    cr_assert_eq(run_cmd(cmd), 0, "onnx.checker (full check) rejects %s%s", models[0],
                 n > 1 ? " or one of the others" : "");
}

static void check_with_onnx(const char *model)
{
    check_many_with_onnx(&model, 1);
}

/* Runs model in ONNX Runtime with the given "--input NAME=FILE" arguments
 * into a fresh folder; returns the folder (static buffer). */
static const char *run_ort(const char *model, const char *inputs, const char *tag)
{
    static char dir[2][512];
    static int k;
    k = (k + 1) % 2;
    snprintf(dir[k], sizeof dir[k], "%s/ort_%s", tmp_dir, tag);
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "node '%s/tests/ort/run.js' '%s' %s --output-dir '%s' --threads 1 >/dev/null",
             root(), model, inputs, dir[k]);
    cr_assert_eq(run_cmd(cmd), 0,
                 "ONNX Runtime failed on %s (install it: scripts/install-deps.sh --test)", model);
    return dir[k];
}

static graph_value load_npy(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    graph_value v = {0};
    ssdc_error err = {0};
    cr_assert_eq(npy_read_file(path, &v, &err), SSDC_OK, "%s", err.msg);
    return v;
}

static void assert_values_close(const graph_value *got, const graph_value *want, double atol,
                                const char *what)
{
    cr_assert_eq(got->dtype, want->dtype, "%s: dtype", what);
    cr_assert_eq(got->rank, want->rank, "%s: rank", what);
    for (int d = 0; d < got->rank; d++)
        cr_assert_eq(got->dims[d], want->dims[d], "%s: dim %d", what, d);
    cr_assert_gt(got->numel, 0, "%s: empty output", what);
    for (int64_t i = 0; i < got->numel; i++) {
        double a = graph_value_get_f64(got, i), b = graph_value_get_f64(want, i);
        cr_assert(fabs(a - b) <= atol, "%s: element %lld is %.9g, expected %.9g", what,
                  (long long)i, a, b);
    }
}

/* ---- import / export ---- */

static graph *import_ok(const char *path)
{
    graph *g = NULL;
    ssdc_error err = {0};
    cr_assert_eq(onnx_import_file(path, &g, &err), SSDC_OK, "import of %s failed: %s", path,
                 err.msg);
    return g;
}

static void export_ok(const graph *g, const char *path, const onnx_export_options *opt)
{
    ssdc_error err = {0};
    ssdc_status st = onnx_export_file(g, path, opt, &err);
    cr_assert_eq(st, SSDC_OK, "export to %s failed: %s", path, err.msg);
}

static Onnx__ModelProto *decode(const char *path)
{
    size_t len;
    uint8_t *buf = read_all(path, &len);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
    free(buf);
    cr_assert_not_null(m, "%s does not decode as a ModelProto", path);
    return m;
}

static int64_t model_opset(const Onnx__ModelProto *m, const char *domain)
{
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const char *d = m->opset_import[i]->domain ? m->opset_import[i]->domain : "";
        if (strcmp(d, domain) == 0)
            return m->opset_import[i]->version;
    }
    return -1;
}

static const Onnx__NodeProto *model_node(const Onnx__ModelProto *m, const char *name)
{
    for (size_t i = 0; i < m->graph->n_node; i++)
        if (m->graph->node[i]->name && strcmp(m->graph->node[i]->name, name) == 0)
            return m->graph->node[i];
    cr_assert_fail("node '%s' missing from the exported file", name);
    return NULL;
}

static const Onnx__AttributeProto *proto_attr(const Onnx__NodeProto *n, const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (strcmp(n->attribute[i]->name, name) == 0)
            return n->attribute[i];
    return NULL;
}

/* ---- graph comparison ---- */

static const char *tname(const graph *g, int t)
{
    return t >= 0 ? g->tensors[t].name : "";
}

/* Number of entries up to the last present one. */
static int used_count(const int *idx, int n)
{
    while (n > 0 && idx[n - 1] < 0)
        n--;
    return n;
}

static size_t value_bytes(const graph_value *v)
{
    return (size_t)v->numel * graph_dtype_size(v->dtype);
}

static void assert_same_attr(const graph_attr *a, const graph_attr *b, const char *node)
{
    cr_assert_str_eq(a->name, b->name, "node '%s': attribute name", node);
    cr_assert_eq(a->type, b->type, "node '%s': attribute '%s' type", node, a->name);
    const char *an = a->name;
    switch (a->type) {
    case GRAPH_ATTR_FLOAT:
        cr_assert_eq(memcmp(&a->f, &b->f, sizeof a->f), 0, "node '%s': '%s' %g vs %g", node, an,
                     a->f, b->f);
        break;
    case GRAPH_ATTR_INT:
        cr_assert_eq(a->i, b->i, "node '%s': '%s'", node, an);
        break;
    case GRAPH_ATTR_STRING:
        cr_assert_str_eq(a->s, b->s, "node '%s': '%s'", node, an);
        break;
    case GRAPH_ATTR_FLOATS:
        cr_assert_eq(a->n, b->n, "node '%s': '%s' count", node, an);
        cr_assert(a->n == 0 || memcmp(a->floats, b->floats, a->n * sizeof(float)) == 0,
                  "node '%s': '%s' values", node, an);
        break;
    case GRAPH_ATTR_INTS:
        cr_assert_eq(a->n, b->n, "node '%s': '%s' count", node, an);
        cr_assert(a->n == 0 || memcmp(a->ints, b->ints, a->n * sizeof(int64_t)) == 0,
                  "node '%s': '%s' values", node, an);
        break;
    case GRAPH_ATTR_STRINGS:
        cr_assert_eq(a->n, b->n, "node '%s': '%s' count", node, an);
        for (size_t i = 0; i < a->n; i++)
            cr_assert_str_eq(a->strings[i], b->strings[i], "node '%s': '%s'[%zu]", node, an, i);
        break;
    case GRAPH_ATTR_TENSOR:
        cr_assert_eq(a->t->dtype, b->t->dtype, "node '%s': '%s' dtype", node, an);
        cr_assert_eq(a->t->rank, b->t->rank, "node '%s': '%s' rank", node, an);
        for (int d = 0; d < a->t->rank; d++)
            cr_assert_eq(a->t->dims[d], b->t->dims[d], "node '%s': '%s' dim %d", node, an, d);
        cr_assert_eq(a->t->numel, b->t->numel);
        cr_assert(memcmp(a->t->data, b->t->data, value_bytes(a->t)) == 0,
                  "node '%s': '%s' tensor bytes differ", node, an);
        break;
    default:
        cr_assert_fail("node '%s': unexpected attribute type %d", node, (int)a->type);
    }
}

static void assert_same_shape(const graph_shape *a, const graph_shape *b, const char *what)
{
    cr_assert_eq(a->rank, b->rank, "%s: rank %d vs %d", what, a->rank, b->rank);
    for (int d = 0; d < a->rank; d++) {
        cr_assert_eq(a->dims[d], b->dims[d], "%s: dim %d", what, d);
        cr_assert_str_eq(a->sym[d], b->sym[d], "%s: symbolic name of dim %d", what, d);
    }
}

static void assert_same_io(const graph *a, const graph *b, const int *ia, int na, const int *ib,
                           int nb, const char *what)
{
    cr_assert_eq(na, nb, "number of graph %ss", what);
    for (int i = 0; i < na; i++) {
        const graph_tensor *ta = &a->tensors[ia[i]], *tb = &b->tensors[ib[i]];
        cr_assert_str_eq(ta->name, tb->name, "graph %s %d", what, i);
        cr_assert_eq(ta->dtype, tb->dtype, "graph %s '%s': dtype", what, ta->name);
        char label[300];
        snprintf(label, sizeof label, "graph %s '%s'", what, ta->name);
        assert_same_shape(&ta->shape, &tb->shape, label);
    }
}

/* b (re-imported export of a) holds the same nodes, attributes, initializer
 * bytes and input/output types and shapes as a. */
static void assert_same_graph(const graph *a, const graph *b)
{
    cr_assert_str_eq(a->name[0] ? a->name : "ssdc_graph", b->name);
    cr_assert_eq(a->n_nodes, b->n_nodes, "node count %d vs %d", a->n_nodes, b->n_nodes);
    for (int i = 0; i < a->n_nodes; i++) {
        const graph_node *na = &a->nodes[i], *nb = &b->nodes[i];
        cr_assert_str_eq(na->name, nb->name, "node %d", i);
        cr_assert_str_eq(na->op_type, nb->op_type, "node '%s'", na->name);
        cr_assert_str_eq(na->domain, nb->domain, "node '%s'", na->name);
        int ua = used_count(na->inputs, na->n_inputs), ub = used_count(nb->inputs, nb->n_inputs);
        cr_assert_eq(ua, ub, "node '%s': input count", na->name);
        for (int k = 0; k < ua; k++)
            cr_assert_str_eq(tname(a, na->inputs[k]), tname(b, nb->inputs[k]),
                             "node '%s': input %d", na->name, k);
        ua = used_count(na->outputs, na->n_outputs);
        ub = used_count(nb->outputs, nb->n_outputs);
        cr_assert_eq(ua, ub, "node '%s': output count", na->name);
        for (int k = 0; k < ua; k++)
            cr_assert_str_eq(tname(a, na->outputs[k]), tname(b, nb->outputs[k]),
                             "node '%s': output %d", na->name, k);
        cr_assert_eq(na->n_attrs, nb->n_attrs, "node '%s': attribute count", na->name);
        for (int k = 0; k < na->n_attrs; k++)
            assert_same_attr(&na->attrs[k], &nb->attrs[k], na->name);
    }
    int inits_a = 0, inits_b = 0;
    for (int t = 0; t < b->n_tensors; t++)
        inits_b += b->tensors[t].kind == GRAPH_TENSOR_INITIALIZER;
    for (int t = 0; t < a->n_tensors; t++) {
        const graph_tensor *ta = &a->tensors[t];
        if (ta->kind != GRAPH_TENSOR_INITIALIZER)
            continue;
        inits_a++;
        int u = graph_find_tensor(b, ta->name);
        cr_assert_geq(u, 0, "initializer '%s' lost", ta->name);
        const graph_tensor *tb = &b->tensors[u];
        cr_assert_eq(tb->kind, GRAPH_TENSOR_INITIALIZER, "'%s' is no longer an initializer",
                     ta->name);
        cr_assert_eq(ta->dtype, tb->dtype, "initializer '%s': dtype", ta->name);
        assert_same_shape(&ta->shape, &tb->shape, ta->name);
        int64_t n = 0;
        cr_assert_eq(graph_shape_numel(&ta->shape, &n, NULL), SSDC_OK);
        size_t bytes = (size_t)n * graph_dtype_size(ta->dtype);
        cr_assert(bytes == 0 || memcmp(ta->data, tb->data, bytes) == 0,
                  "initializer '%s': bytes differ", ta->name);
    }
    cr_assert_eq(inits_a, inits_b, "initializer count %d vs %d", inits_a, inits_b);
    assert_same_io(a, b, a->inputs, a->n_inputs, b->inputs, b->n_inputs, "input");
    assert_same_io(a, b, a->outputs, a->n_outputs, b->outputs, b->n_outputs, "output");
}

/* import -> export -> import; returns the exported path (static buffer). */
static const char *round_trip(const char *src, const char *out_name, int64_t want_opset)
{
    static char out[512];
    snprintf(out, sizeof out, "%s", tmp_path(out_name));
    graph *a = import_ok(src);
    onnx_export_options opt = {.producer_version = "test"};
    export_ok(a, out, &opt);
    graph *b = import_ok(out);
    assert_same_graph(a, b);
    int64_t expect = want_opset ? want_opset : (a->opset > 13 ? a->opset : 13);
    cr_assert_eq(b->opset, expect, "%s: exported at opset %lld, expected %lld", src,
                 (long long)b->opset, (long long)expect);
    cr_assert_str_eq(b->producer_name, "ssdc");
    cr_assert_str_eq(b->producer_version, "test");
    cr_assert_eq(b->ir_version, 8);
    graph_free(a);
    graph_free(b);
    return out;
}

/* ---- round trips ---- */

/* Every bundled model (models/NAME.onnx): same graph back, accepted by onnx.checker, and ONNX
 * Runtime gives the same logits for the export as for the original. */
Test(onnx_export, bundled_models_round_trip, .timeout = 300)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/models", root());
    struct dirent **list = NULL;
    int n_list = scandir(dir, &list, NULL, alphasort);
    cr_assert_geq(n_list, 0, "cannot list %s", dir);
    char names[32][256];
    int count = 0;
    for (int i = 0; i < n_list; i++) {
        size_t n = strlen(list[i]->d_name);
        if (count < 32 && n > 5 && strcmp(list[i]->d_name + n - 5, ".onnx") == 0)
            snprintf(names[count++], sizeof names[0], "%.*s", (int)(n - 5), list[i]->d_name);
        free(list[i]);
    }
    free(list);
    cr_assert_geq(count, 4, "expected the four bundled models in %s, found %d", dir, count);
    for (int i = 0; i < count; i++) {
        char src[1400], in[1400], out_name[300], inputs[1500];
        snprintf(src, sizeof src, "%s/%s.onnx", dir, names[i]);
        snprintf(in, sizeof in, "%s/%s.input.npy", dir, names[i]);
        snprintf(out_name, sizeof out_name, "%s.export.onnx", names[i]);
        const char *out = round_trip(src, out_name, 0);
        check_with_onnx(out);
        snprintf(inputs, sizeof inputs, "--input 'input=%s'", in);
        graph_value want = load_npy(run_ort(src, inputs, "orig"), "logits");
        graph_value got = load_npy(run_ort(out, inputs, "export"), "logits");
        char what[300];
        snprintf(what, sizeof what, "%s: ONNX Runtime on the export vs the original", names[i]);
        assert_values_close(&got, &want, ORT_ATOL, what);
        cr_log_info("%s: round trip, checker and ORT ok", names[i]);
        free(want.data);
        free(got.data);
    }
}

/* ONNX node-test models (opsets 11, 12, 13, 14). */
Test(onnx_export, node_test_models_round_trip, .timeout = 120)
{
    static const char *const models[] = {
        "test_conv_with_strides_padding", "test_maxpool_2d_pads",
        "test_squeeze",                   "test_squeeze_negative_axes",
        "test_reshape_reduced_dims",      "test_reshape_negative_dim",
        "test_reshape_zero_dim",          "test_reshape_allowzero_reordered",
    };
    enum { N = sizeof models / sizeof models[0] };
    char outs[N][512];
    const char *paths[N];
    for (int i = 0; i < N; i++) {
        char src[512], out_name[300];
        snprintf(src, sizeof src, NODE_TESTS "/%s/model.onnx", models[i]);
        snprintf(out_name, sizeof out_name, "%s.onnx", models[i]);
        snprintf(outs[i], sizeof outs[i], "%s", round_trip(src, out_name, 0));
        paths[i] = outs[i];
    }
    check_many_with_onnx(paths, N);
}

/* An opset-11 model (Squeeze axes attribute, Softmax axis=1 over the
 * flattened tail of a 3-D tensor, ReduceSum axes attribute) is written at
 * opset 13 in the input forms, and ONNX Runtime computes the same. */
Test(onnx_export, old_opset_model_exports_at_13, .timeout = 120)
{
    run_python("build the opset-11 model",
               "x = h.make_tensor_value_info('input', TP.FLOAT, ['batch', 1, 3, 4])\n"
               "y = h.make_tensor_value_info('y', TP.FLOAT, ['batch', 3, 4])\n"
               "z = h.make_tensor_value_info('z', TP.FLOAT, ['batch', 3, 1])\n"
               "nodes = [h.make_node('Squeeze', ['input'], ['sq'], name='squeeze', axes=[1]),\n"
               "         h.make_node('Softmax', ['sq'], ['y'], name='softmax', axis=1),\n"
               "         h.make_node('ReduceSum', ['sq'], ['z'], name='rsum', axes=[2],\n"
               "                     keepdims=1)]\n"
               "m = h.make_model(h.make_graph(nodes, 'old11', [x], [y, z]),\n"
               "                 opset_imports=[h.make_opsetid('', 11)])\n"
               "m.ir_version = 6\n"
               "onnx.checker.check_model(m, full_check=True)\n"
               "onnx.save(m, out + '/old11.onnx')\n"
               "np.save(out + '/old11.input.npy',\n"
               "        np.random.RandomState(0).randn(2, 1, 3, 4).astype(np.float32))\n");
    const char *src = tmp_path("old11.onnx");
    const char *out = round_trip(src, "old11.export.onnx", 13);
    check_with_onnx(out);

    /* the opset-13 input forms, not the attributes */
    Onnx__ModelProto *m = decode(out);
    cr_assert_eq(model_opset(m, ""), 13);
    const Onnx__NodeProto *sq = model_node(m, "squeeze");
    cr_assert_eq(sq->n_input, 2, "Squeeze must take axes as input 1 at opset 13");
    cr_assert_null(proto_attr(sq, "axes"));
    const Onnx__NodeProto *rs = model_node(m, "rsum");
    cr_assert_eq(rs->n_input, 2, "ReduceSum must take axes as input 1 at opset 13");
    cr_assert_null(proto_attr(rs, "axes"));
    onnx__model_proto__free_unpacked(m, NULL);

    char inputs[600];
    snprintf(inputs, sizeof inputs, "--input 'input=%s'", tmp_path("old11.input.npy"));
    const char *d_orig = run_ort(src, inputs, "orig");
    graph_value y0 = load_npy(d_orig, "y"), z0 = load_npy(d_orig, "z");
    const char *d_exp = run_ort(out, inputs, "export");
    graph_value y1 = load_npy(d_exp, "y"), z1 = load_npy(d_exp, "z");
    assert_values_close(&y1, &y0, ORT_ATOL, "Softmax output, export vs original");
    assert_values_close(&z1, &z0, ORT_ATOL, "ReduceSum output, export vs original");
    /* opset-11 Softmax(axis=1) normalises over 12 values per sample */
    for (int b = 0; b < 2; b++) {
        double sum = 0;
        for (int i = 0; i < 12; i++)
            sum += ((float *)y1.data)[b * 12 + i];
        cr_assert_float_eq(sum, 1.0, 1e-5, "sample %d: softmax sums to %g over 3x4", b, sum);
    }
    free(y0.data), free(z0.data), free(y1.data), free(z1.data);
}

/* ---- a graph built in C: every attribute type and initializer dtype ---- */

typedef struct {
    const char *suffix;
    graph_dtype dt;
    int rank;
    int64_t dims[2];
    const void *values;
} dtype_case;

static const float f32_vals[4] = {1.5f, -0.0f, 3.4028235e38f, 1e-45f};
static const double f64_vals[3] = {-2.25, 1e308, 5e-324};
static const int8_t i8_vals[3] = {-128, 127, -1};
static const int16_t i16_vals[1] = {-32768};
static const int32_t i32_vals[3] = {INT32_MIN, INT32_MAX, 65539};
static const int64_t i64_vals[3] = {INT64_MIN, INT64_MAX, ((int64_t)1 << 40) + 3};
static const uint8_t u8_vals[3] = {0, 255, 7};
static const uint8_t bool_vals[3] = {1, 0, 1};

static const dtype_case dtype_cases[] = {
    {"f32", GRAPH_DT_FLOAT, 2, {2, 2}, f32_vals}, {"f64", GRAPH_DT_DOUBLE, 1, {3}, f64_vals},
    {"i8", GRAPH_DT_INT8, 1, {3}, i8_vals},       {"i16", GRAPH_DT_INT16, 0, {0}, i16_vals},
    {"i32", GRAPH_DT_INT32, 1, {3}, i32_vals},    {"i64", GRAPH_DT_INT64, 2, {3, 1}, i64_vals},
    {"u8", GRAPH_DT_UINT8, 1, {3}, u8_vals},      {"bool", GRAPH_DT_BOOL, 2, {1, 3}, bool_vals},
};
#define N_DTYPE_CASES (sizeof dtype_cases / sizeof dtype_cases[0])

/* The same cases for the Python checker: (suffix, numpy dtype, shape, values). */
static const char *py_dtype_cases =
    "cases = [('f32', np.float32, (2, 2), [1.5, -0.0, 3.4028235e38, 1e-45]),\n"
    "         ('f64', np.float64, (3,), [-2.25, 1e308, 5e-324]),\n"
    "         ('i8', np.int8, (3,), [-128, 127, -1]),\n"
    "         ('i16', np.int16, (), [-32768]),\n"
    "         ('i32', np.int32, (3,), [-2**31, 2**31 - 1, 65539]),\n"
    "         ('i64', np.int64, (3, 1), [-2**63, 2**63 - 1, 2**40 + 3]),\n"
    "         ('u8', np.uint8, (3,), [0, 255, 7]),\n"
    "         ('bool', np.bool_, (1, 3), [True, False, True])]\n";

static graph *new_graph(const char *name, int64_t opset)
{
    graph *g = graph_new();
    cr_assert_not_null(g);
    free(g->name);
    g->name = graph_strdup(name);
    g->opset = opset;
    return g;
}

/* Adds a tensor; sym0 names dimension 0 when it is -1. */
static int add_tensor(graph *g, const char *name, graph_dtype dt, int rank, const int64_t *dims,
                      const char *sym0, graph_tensor_kind kind)
{
    graph_shape s;
    if (rank < 0)
        graph_shape_unknown(&s);
    else
        graph_shape_init(&s, rank, dims);
    if (rank > 0 && sym0)
        snprintf(s.sym[0], GRAPH_SYM_MAX, "%s", sym0);
    int t;
    ssdc_error err = {0};
    cr_assert_eq(graph_add_tensor(g, name, dt, &s, kind, &t, &err), SSDC_OK, "%s", err.msg);
    if (kind == GRAPH_TENSOR_INPUT)
        cr_assert_eq(graph_add_input(g, t, &err), SSDC_OK, "%s", err.msg);
    return t;
}

static int add_init(graph *g, const char *name, graph_dtype dt, int rank, const int64_t *dims,
                    const void *values)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= dims[i];
    size_t bytes = (size_t)n * graph_dtype_size(dt);
    void *data = calloc(1, bytes ? bytes : 1);
    if (values && bytes)
        memcpy(data, values, bytes);
    int t;
    ssdc_error err = {0};
    cr_assert_eq(graph_add_initializer(g, name, dt, rank, dims, data, &t, &err), SSDC_OK, "%s",
                 err.msg);
    return t;
}

static int add_node(graph *g, const char *name, const char *op, const char *domain, int n_in,
                    const int *in, int n_out, const int *out)
{
    int node;
    ssdc_error err = {0};
    cr_assert_eq(graph_add_node(g, name, op, domain, n_in, in, n_out, out, &node, &err), SSDC_OK,
                 "%s", err.msg);
    return node;
}

static void add_output(graph *g, int t)
{
    ssdc_error err = {0};
    cr_assert_eq(graph_add_output(g, t, &err), SSDC_OK, "%s", err.msg);
}

static void set_int(graph *g, int node, const char *name, int64_t v)
{
    ssdc_error err = {0};
    cr_assert_eq(graph_node_set_int(g, node, name, v, &err), SSDC_OK, "%s", err.msg);
}

/* Constant node "<out>_node" with one attribute a, output out of dtype dt
 * and the given shape, marked as a graph output. */
static void add_constant(graph *g, const char *out, graph_dtype dt, int rank, const int64_t *dims,
                         graph_attr *a)
{
    int t = add_tensor(g, out, dt, rank, dims, NULL, GRAPH_TENSOR_INTERMEDIATE);
    char name[128];
    snprintf(name, sizeof name, "%s_node", out);
    int node = add_node(g, name, "Constant", "", 0, NULL, 1, &t);
    ssdc_error err = {0};
    cr_assert_eq(graph_node_add_attr(g, node, a, &err), SSDC_OK, "%s", err.msg);
    add_output(g, t);
}

static graph *build_all_types_graph(void)
{
    graph *g = new_graph("all_types", 13);
    int64_t xd[3] = {-1, -1, 3};
    int x = add_tensor(g, "x", GRAPH_DT_FLOAT, 3, xd, "batch", GRAPH_TENSOR_INPUT);
    int y = add_tensor(g, "y", GRAPH_DT_FLOAT, 3, xd, "batch", GRAPH_TENSOR_INTERMEDIATE);
    add_node(g, "identity", "Identity", "", 1, &x, 1, &y);
    add_output(g, y);
    for (size_t i = 0; i < N_DTYPE_CASES; i++) {
        const dtype_case *c = &dtype_cases[i];
        char name[64];
        snprintf(name, sizeof name, "init_%s", c->suffix);
        add_init(g, name, c->dt, c->rank, c->dims, c->values);
        /* the same values as a Constant's tensor attribute */
        graph_attr a = {0};
        a.name = graph_strdup("value");
        a.type = GRAPH_ATTR_TENSOR;
        a.t = calloc(1, sizeof *a.t);
        graph_value_set_shape(a.t, c->dt, c->rank, c->dims);
        a.t->data = malloc(graph_value_bytes(a.t));
        memcpy(a.t->data, c->values, graph_value_bytes(a.t));
        snprintf(name, sizeof name, "const_%s", c->suffix);
        add_constant(g, name, c->dt, c->rank, c->dims, &a);
    }
    int64_t empty_dims[2] = {0, 3};
    add_init(g, "init_empty", GRAPH_DT_FLOAT, 2, empty_dims, NULL);

    graph_attr a = {0};
    a.name = graph_strdup("value_float");
    a.type = GRAPH_ATTR_FLOAT;
    a.f = -0.25f;
    add_constant(g, "c_float", GRAPH_DT_FLOAT, 0, NULL, &a);

    memset(&a, 0, sizeof a);
    a.name = graph_strdup("value_int");
    a.type = GRAPH_ATTR_INT;
    a.i = -((int64_t)1 << 50);
    add_constant(g, "c_int", GRAPH_DT_INT64, 0, NULL, &a);

    memset(&a, 0, sizeof a);
    a.name = graph_strdup("value_string");
    a.type = GRAPH_ATTR_STRING;
    a.s = graph_strdup("h\xc3\xa9llo");
    add_constant(g, "c_string", GRAPH_DT_STRING, 0, NULL, &a);

    int64_t d3[1] = {3}, d2[1] = {2};
    memset(&a, 0, sizeof a);
    a.name = graph_strdup("value_floats");
    a.type = GRAPH_ATTR_FLOATS;
    a.n = 3;
    a.floats = malloc(3 * sizeof(float));
    a.floats[0] = 0.5f, a.floats[1] = -1e-30f, a.floats[2] = 7.0f;
    add_constant(g, "c_floats", GRAPH_DT_FLOAT, 1, d3, &a);

    memset(&a, 0, sizeof a);
    a.name = graph_strdup("value_ints");
    a.type = GRAPH_ATTR_INTS;
    a.n = 3;
    a.ints = malloc(3 * sizeof(int64_t));
    a.ints[0] = -1, a.ints[1] = INT64_MAX, a.ints[2] = 0;
    add_constant(g, "c_ints", GRAPH_DT_INT64, 1, d3, &a);

    memset(&a, 0, sizeof a);
    a.name = graph_strdup("value_strings");
    a.type = GRAPH_ATTR_STRINGS;
    a.n = 2;
    a.strings = malloc(2 * sizeof(char *));
    a.strings[0] = graph_strdup("a b");
    a.strings[1] = graph_strdup("");
    add_constant(g, "c_strings", GRAPH_DT_STRING, 1, d2, &a);
    return g;
}

/* Python's onnx decodes what ssdc encoded: every value, dtype and shape. */
Test(onnx_export, attribute_types_and_initializer_dtypes, .timeout = 60)
{
    graph *g = build_all_types_graph();
    const char *out = tmp_path("all_types.onnx");
    export_ok(g, out, NULL);
    check_with_onnx(out);
    char body[4096];
    snprintf(body, sizeof body,
             "%s"
             "m = onnx.load(out + '/all_types.onnx')\n"
             "inits = {t.name: t for t in m.graph.initializer}\n"
             "consts = {n.output[0]: n for n in m.graph.node if n.op_type == 'Constant'}\n"
             "for s, dt, shape, vals in cases:\n"
             "    want = np.array(vals, dtype=dt).reshape(shape)\n"
             "    for arr in (nh.to_array(inits['init_' + s]),\n"
             "                nh.to_array(consts['const_' + s].attribute[0].t)):\n"
             "        assert arr.dtype == want.dtype, (s, arr.dtype)\n"
             "        assert arr.shape == want.shape, (s, arr.shape)\n"
             "        assert arr.tobytes() == want.tobytes(), (s, arr, want)\n"
             "    assert inits['init_' + s].HasField('raw_data'), s\n"
             "e = nh.to_array(inits['init_empty'])\n"
             "assert e.shape == (0, 3) and e.dtype == np.float32, e.shape\n"
             "def attr(o):\n"
             "    a = consts[o].attribute\n"
             "    assert len(a) == 1, a\n"
             "    return a[0], h.get_attribute_value(a[0])\n"
             "a, v = attr('c_float'); assert a.type == onnx.AttributeProto.FLOAT and v == -0.25\n"
             "a, v = attr('c_int'); assert a.type == onnx.AttributeProto.INT and v == -2**50\n"
             "a, v = attr('c_string')\n"
             "assert a.type == onnx.AttributeProto.STRING and v == 'h\\u00e9llo'.encode(), v\n"
             "a, v = attr('c_floats'); assert a.type == onnx.AttributeProto.FLOATS\n"
             "assert np.array(v, np.float32).tobytes() == "
             "np.array([0.5, -1e-30, 7], np.float32).tobytes(), v\n"
             "a, v = attr('c_ints'); assert a.type == onnx.AttributeProto.INTS\n"
             "assert v == [-1, 2**63 - 1, 0], v\n"
             "a, v = attr('c_strings'); assert a.type == onnx.AttributeProto.STRINGS\n"
             "assert v == [b'a b', b''], v\n"
             "x = m.graph.input[0]\n"
             "assert [i.name for i in m.graph.input] == ['x'], 'initializers must not be inputs'\n"
             "d = x.type.tensor_type.shape.dim\n"
             "assert d[0].dim_param == 'batch' and not d[0].HasField('dim_value')\n"
             "assert d[1].WhichOneof('value') is None, d[1]\n"
             "assert d[2].dim_value == 3\n"
             "assert m.producer_name == 'ssdc' and m.ir_version == 8\n"
             "assert [(o.domain, o.version) for o in m.opset_import] == [('', 13)]\n",
             py_dtype_cases);
    run_python("decode the exported attributes and initializers", body);

    /* ssdc reads back the same graph */
    graph *b = import_ok(out);
    assert_same_graph(g, b);
    graph_free(b);
    graph_free(g);
}

/* Omitted optional inputs are "" in the middle and dropped at the end;
 * unknown rank and scalar shapes survive. */
Test(onnx_export, optional_inputs_and_shapes)
{
    graph *g = new_graph("optional", 13);
    int64_t xd[2] = {-1, 4};
    int x = add_tensor(g, "x", GRAPH_DT_FLOAT, 2, xd, "n", GRAPH_TENSOR_INPUT);
    int r = add_tensor(g, "r", GRAPH_DT_FLOAT, -1, NULL, NULL, GRAPH_TENSOR_INPUT);
    int s = add_tensor(g, "s", GRAPH_DT_FLOAT, 0, NULL, NULL, GRAPH_TENSOR_INPUT);
    float six = 6.0f;
    int hi = add_init(g, "hi", GRAPH_DT_FLOAT, 0, NULL, &six);
    int c = add_tensor(g, "clipped", GRAPH_DT_FLOAT, 2, xd, "n", GRAPH_TENSOR_INTERMEDIATE);
    int d = add_tensor(g, "dropped", GRAPH_DT_FLOAT, 2, xd, "n", GRAPH_TENSOR_INTERMEDIATE);
    int r2 = add_tensor(g, "r2", GRAPH_DT_FLOAT, -1, NULL, NULL, GRAPH_TENSOR_INTERMEDIATE);
    int s2 = add_tensor(g, "s2", GRAPH_DT_FLOAT, 0, NULL, NULL, GRAPH_TENSOR_INTERMEDIATE);
    int clip_in[3] = {x, -1, hi};
    add_node(g, "clip", "Clip", "", 3, clip_in, 1, &c);
    int drop_in[3] = {c, -1, -1};
    int drop_out[2] = {d, -1};
    add_node(g, "dropout", "Dropout", "", 3, drop_in, 2, drop_out);
    add_node(g, "relu", "Relu", "", 1, &r, 1, &r2);
    add_node(g, "neg", "Neg", "", 1, &s, 1, &s2);
    add_output(g, d);
    add_output(g, r2);
    add_output(g, s2);
    const char *out = tmp_path("optional.onnx");
    export_ok(g, out, NULL);

    Onnx__ModelProto *m = decode(out);
    const Onnx__NodeProto *n = model_node(m, "clip");
    cr_assert_eq(n->n_input, 3);
    cr_assert_str_eq(n->input[0], "x");
    cr_assert_str_eq(n->input[1], "", "omitted input in the middle must be \"\"");
    cr_assert_str_eq(n->input[2], "hi");
    n = model_node(m, "dropout");
    cr_assert_eq(n->n_input, 1, "trailing omitted inputs must be dropped, got %zu", n->n_input);
    cr_assert_eq(n->n_output, 1, "trailing omitted outputs must be dropped");
    const Onnx__GraphProto *gp = m->graph;
    cr_assert_eq(gp->n_input, 3);
    cr_assert_null(gp->input[1]->type->tensor_type->shape, "unknown rank: no shape");
    cr_assert_not_null(gp->input[2]->type->tensor_type->shape, "scalar: an empty shape");
    cr_assert_eq(gp->input[2]->type->tensor_type->shape->n_dim, 0);
    cr_assert_eq(gp->n_initializer, 1);
    onnx__model_proto__free_unpacked(m, NULL);

    graph *b = import_ok(out);
    assert_same_graph(g, b);
    graph_free(b);
    graph_free(g);
}

/* ---- the opset rule ---- */

static int64_t export_opset_ok(const graph *g)
{
    int64_t v = 0;
    ssdc_error err = {0};
    cr_assert_eq(onnx_export_opset(g, &v, &err), SSDC_OK, "%s", err.msg);
    return v;
}

static void export_fails(const graph *g, ssdc_status code, const char *needle)
{
    uint8_t *data = (uint8_t *)&data;
    size_t len = 1;
    ssdc_error err = {0};
    ssdc_status st = onnx_export_buffer(g, NULL, &data, &len, &err);
    cr_assert_eq(st, code, "export gave %s, expected %s (%s)", ssdc_status_name(st),
                 ssdc_status_name(code), err.msg);
    cr_assert_null(data);
    cr_assert_eq(len, 0);
    cr_assert_not_null(strstr(err.msg, needle), "message lacks '%s': %s", needle, err.msg);
}

/* BatchNormalization x -> y (and running statistics when n_out == 3). */
static graph *build_bn_graph(int64_t opset, int64_t training_mode, int n_out)
{
    graph *g = new_graph("bn", opset);
    int64_t xd[4] = {2, 3, 2, 2}, cd[1] = {3};
    int x = add_tensor(g, "x", GRAPH_DT_FLOAT, 4, xd, NULL, GRAPH_TENSOR_INPUT);
    float ones[3] = {1, 1, 1}, zeros[3] = {0, 0, 0}, halves[3] = {0.5f, 0.5f, 0.5f};
    int in[5] = {x, add_init(g, "scale", GRAPH_DT_FLOAT, 1, cd, halves),
                 add_init(g, "bias", GRAPH_DT_FLOAT, 1, cd, zeros),
                 add_init(g, "mean", GRAPH_DT_FLOAT, 1, cd, zeros),
                 add_init(g, "var", GRAPH_DT_FLOAT, 1, cd, ones)};
    int out[5];
    static const char *const names[5] = {"y", "running_mean", "running_var", "saved_mean",
                                         "saved_var"};
    for (int i = 0; i < n_out; i++) {
        out[i] = add_tensor(g, names[i], GRAPH_DT_FLOAT, i ? 1 : 4, i ? cd : xd, NULL,
                            GRAPH_TENSOR_INTERMEDIATE);
        add_output(g, out[i]);
    }
    int node = add_node(g, "bn", "BatchNormalization", "", 5, in, n_out, out);
    if (training_mode >= 0)
        set_int(g, node, "training_mode", training_mode);
    return g;
}

Test(onnx_export, batchnorm_training_mode_opset)
{
    /* training_mode=1 with running statistics: opset 14 */
    graph *g = build_bn_graph(13, 1, 3);
    cr_assert_eq(export_opset_ok(g), 14);
    const char *out = tmp_path("bn_train.onnx");
    export_ok(g, out, NULL);
    check_with_onnx(out);
    Onnx__ModelProto *m = decode(out);
    cr_assert_eq(model_opset(m, ""), 14);
    const Onnx__AttributeProto *a = proto_attr(model_node(m, "bn"), "training_mode");
    cr_assert_not_null(a);
    cr_assert_eq(a->i, 1);
    onnx__model_proto__free_unpacked(m, NULL);
    graph *b = import_ok(out);
    assert_same_graph(g, b);
    graph_free(b);
    graph_free(g);

    /* training_mode=0 at 13: the attribute (unknown at 13) is dropped */
    g = build_bn_graph(11, 0, 1);
    cr_assert_eq(export_opset_ok(g), 13);
    out = tmp_path("bn_infer13.onnx");
    export_ok(g, out, NULL);
    check_with_onnx(out);
    m = decode(out);
    cr_assert_eq(model_opset(m, ""), 13);
    cr_assert_null(proto_attr(model_node(m, "bn"), "training_mode"));
    onnx__model_proto__free_unpacked(m, NULL);
    graph_free(g);

    /* a graph at 15 stays at 15 and keeps the attribute */
    g = build_bn_graph(15, 0, 1);
    cr_assert_eq(export_opset_ok(g), 15);
    out = tmp_path("bn_infer15.onnx");
    export_ok(g, out, NULL);
    check_with_onnx(out);
    m = decode(out);
    cr_assert_eq(model_opset(m, ""), 15);
    cr_assert_not_null(proto_attr(model_node(m, "bn"), "training_mode"));
    onnx__model_proto__free_unpacked(m, NULL);
    graph_free(g);

    /* the opset 9-13 five-output form stays at 13 ... */
    g = build_bn_graph(13, -1, 5);
    cr_assert_eq(export_opset_ok(g), 13);
    graph_free(g);
    /* ... and cannot be written in a graph at 14 */
    g = build_bn_graph(14, -1, 5);
    export_fails(g, SSDC_ERR_UNSUPPORTED, "valid only up to opset 13");
    graph_free(g);
}

/* Reshape x by shape -> y, with allowzero when >= 0. */
static graph *build_reshape_graph(int64_t opset, int64_t allowzero)
{
    graph *g = new_graph("reshape", opset);
    int64_t xd[2] = {2, 3}, sd[1] = {2}, yd[2] = {3, 2}, shape[2] = {3, 2};
    int x = add_tensor(g, "x", GRAPH_DT_FLOAT, 2, xd, NULL, GRAPH_TENSOR_INPUT);
    int in[2] = {x, add_init(g, "shape", GRAPH_DT_INT64, 1, sd, shape)};
    int y = add_tensor(g, "y", GRAPH_DT_FLOAT, 2, yd, NULL, GRAPH_TENSOR_INTERMEDIATE);
    int node = add_node(g, "reshape", "Reshape", "", 2, in, 1, &y);
    if (allowzero >= 0)
        set_int(g, node, "allowzero", allowzero);
    add_output(g, y);
    return g;
}

Test(onnx_export, opset_rule)
{
    /* below 13 -> 13; 13..17 kept */
    graph *g = build_reshape_graph(7, -1);
    cr_assert_eq(export_opset_ok(g), 13);
    graph_free(g);
    g = build_reshape_graph(17, -1);
    cr_assert_eq(export_opset_ok(g), 17);
    graph_free(g);

    /* Reshape allowzero=1 needs 14; allowzero=0 is dropped at 13 */
    g = build_reshape_graph(12, 1);
    cr_assert_eq(export_opset_ok(g), 14);
    const char *out = tmp_path("allowzero.onnx");
    export_ok(g, out, NULL);
    check_with_onnx(out);
    graph_free(g);
    g = build_reshape_graph(13, 0);
    cr_assert_eq(export_opset_ok(g), 13);
    out = tmp_path("allowzero0.onnx");
    export_ok(g, out, NULL);
    check_with_onnx(out);
    Onnx__ModelProto *m = decode(out);
    cr_assert_null(proto_attr(model_node(m, "reshape"), "allowzero"));
    onnx__model_proto__free_unpacked(m, NULL);
    graph_free(g);

    /* Shape start needs 15 */
    g = build_reshape_graph(13, -1);
    int64_t one[1] = {1};
    int st = add_tensor(g, "shape_of_y", GRAPH_DT_INT64, 1, one, NULL, GRAPH_TENSOR_INTERMEDIATE);
    int y = graph_find_tensor(g, "y");
    int node = add_node(g, "shape", "Shape", "", 1, &y, 1, &st);
    set_int(g, node, "start", 1);
    add_output(g, st);
    cr_assert_eq(export_opset_ok(g), 15);
    out = tmp_path("shape_start.onnx");
    export_ok(g, out, NULL);
    check_with_onnx(out);
    graph_free(g);

    /* above 17: refused */
    g = build_reshape_graph(18, -1);
    export_fails(g, SSDC_ERR_UNSUPPORTED, "opset 18");
    graph_free(g);

    /* an old attribute form in the IR: refused, naming the node */
    g = new_graph("squeeze_attr", 13);
    int64_t xd[2] = {1, 3}, yd[1] = {3};
    int x = add_tensor(g, "x", GRAPH_DT_FLOAT, 2, xd, NULL, GRAPH_TENSOR_INPUT);
    y = add_tensor(g, "y", GRAPH_DT_FLOAT, 1, yd, NULL, GRAPH_TENSOR_INTERMEDIATE);
    node = add_node(g, "sq", "Squeeze", "", 1, &x, 1, &y);
    int64_t axes[1] = {0};
    ssdc_error err = {0};
    cr_assert_eq(graph_node_set_ints(g, node, "axes", axes, 1, &err), SSDC_OK);
    add_output(g, y);
    export_fails(g, SSDC_ERR_UNSUPPORTED, "node 'sq' (Squeeze): attribute 'axes'");
    graph_free(g);

    /* a form that needs opset 18: ReduceMean with an axes input */
    g = new_graph("reduce18", 17);
    x = add_tensor(g, "x", GRAPH_DT_FLOAT, 2, xd, NULL, GRAPH_TENSOR_INPUT);
    int in[2] = {x, add_init(g, "axes", GRAPH_DT_INT64, 1, one, axes)};
    y = add_tensor(g, "y", GRAPH_DT_FLOAT, 1, yd, NULL, GRAPH_TENSOR_INTERMEDIATE);
    add_node(g, "rm", "ReduceMean", "", 2, in, 1, &y);
    add_output(g, y);
    export_fails(g, SSDC_ERR_UNSUPPORTED, "node 'rm' (ReduceMean): an axes input needs opset 18");
    graph_free(g);

    /* needs >= 14 and <= 13 at once */
    g = build_bn_graph(13, -1, 5);
    int xt = graph_find_tensor(g, "y");
    int64_t rv[1] = {-1};
    int rin[2] = {xt, add_init(g, "flat_shape", GRAPH_DT_INT64, 1, one, rv)};
    int64_t fd[1] = {24};
    int r = add_tensor(g, "flat", GRAPH_DT_FLOAT, 1, fd, NULL, GRAPH_TENSOR_INTERMEDIATE);
    node = add_node(g, "flatten", "Reshape", "", 2, rin, 1, &r);
    set_int(g, node, "allowzero", 1);
    add_output(g, r);
    export_fails(g, SSDC_ERR_UNSUPPORTED, "no opset fits every node");
    graph_free(g);
}

/* ssdc's gradient ops: opset_import gains {ai.ssdc, 1}. */
Test(onnx_export, ssdc_domain_opset_import)
{
    graph *g = new_graph("grad", 13);
    int64_t xd[2] = {2, 3};
    int dy = add_tensor(g, "dy", GRAPH_DT_FLOAT, 2, xd, NULL, GRAPH_TENSOR_INPUT);
    int yv = add_tensor(g, "y", GRAPH_DT_FLOAT, 2, xd, NULL, GRAPH_TENSOR_INPUT);
    int dx = add_tensor(g, "dx", GRAPH_DT_FLOAT, 2, xd, NULL, GRAPH_TENSOR_INTERMEDIATE);
    int in[2] = {dy, yv};
    add_node(g, "relu_grad", "ReluGrad", GRAPH_SSDC_DOMAIN, 2, in, 1, &dx);
    add_output(g, dx);
    const char *out = tmp_path("grad.onnx");
    export_ok(g, out, NULL);
    Onnx__ModelProto *m = decode(out);
    cr_assert_eq(m->n_opset_import, 2);
    cr_assert_eq(model_opset(m, ""), 13);
    cr_assert_eq(model_opset(m, GRAPH_SSDC_DOMAIN), 1);
    cr_assert_str_eq(model_node(m, "relu_grad")->domain, GRAPH_SSDC_DOMAIN);
    onnx__model_proto__free_unpacked(m, NULL);
    check_with_onnx(out);
    graph_free(g);

    /* a domain the exporter has no version for */
    g = new_graph("custom", 13);
    dy = add_tensor(g, "x", GRAPH_DT_FLOAT, 2, xd, NULL, GRAPH_TENSOR_INPUT);
    dx = add_tensor(g, "z", GRAPH_DT_FLOAT, 2, xd, NULL, GRAPH_TENSOR_INTERMEDIATE);
    add_node(g, "custom", "Frobnicate", "com.example", 1, &dy, 1, &dx);
    add_output(g, dx);
    export_fails(g, SSDC_ERR_UNSUPPORTED, "node 'custom' (Frobnicate): domain 'com.example'");
    graph_free(g);

    /* without such a node: only the default domain */
    g = build_reshape_graph(13, -1);
    out = tmp_path("plain.onnx");
    export_ok(g, out, NULL);
    m = decode(out);
    cr_assert_eq(m->n_opset_import, 1);
    onnx__model_proto__free_unpacked(m, NULL);
    graph_free(g);
}

/* Nodes stored out of order are written in a topological order. */
Test(onnx_export, nodes_written_in_topological_order)
{
    graph *g = new_graph("order", 13);
    int64_t xd[1] = {4};
    int x = add_tensor(g, "x", GRAPH_DT_FLOAT, 1, xd, NULL, GRAPH_TENSOR_INPUT);
    int a = add_tensor(g, "a", GRAPH_DT_FLOAT, 1, xd, NULL, GRAPH_TENSOR_INTERMEDIATE);
    int b = add_tensor(g, "b", GRAPH_DT_FLOAT, 1, xd, NULL, GRAPH_TENSOR_INTERMEDIATE);
    add_node(g, "second", "Neg", "", 1, &a, 1, &b);
    add_node(g, "first", "Relu", "", 1, &x, 1, &a);
    add_output(g, b);
    const char *out = tmp_path("order.onnx");
    export_ok(g, out, NULL);
    check_with_onnx(out);
    Onnx__ModelProto *m = decode(out);
    cr_assert_str_eq(m->graph->node[0]->name, "first");
    cr_assert_str_eq(m->graph->node[1]->name, "second");
    onnx__model_proto__free_unpacked(m, NULL);
    graph_free(g);
}

/* value_info (option) for intermediate tensors after shape inference. */
Test(onnx_export, value_info_option, .timeout = 60)
{
    char src[1024];
    snprintf(src, sizeof src, "%s/models/cnn1d.onnx", root());
    graph *g = import_ok(src);
    ssdc_error err = {0};
    cr_assert_eq(graph_infer_shapes(g, &err), SSDC_OK, "%s", err.msg);
    int want = 0;
    for (int t = 0; t < g->n_tensors; t++) {
        const graph_tensor *gt = &g->tensors[t];
        want += gt->kind == GRAPH_TENSOR_INTERMEDIATE && !gt->is_output && gt->shape.rank >= 0 &&
                gt->dtype != GRAPH_DT_UNDEFINED;
    }
    cr_assert_gt(want, 5);

    const char *plain = tmp_path("cnn1d_plain.onnx"), *vi = tmp_path("cnn1d_vi.onnx");
    export_ok(g, plain, NULL);
    onnx_export_options opt = {.value_info = true};
    export_ok(g, vi, &opt);
    check_with_onnx(vi);

    Onnx__ModelProto *m = decode(plain);
    cr_assert_eq(m->graph->n_value_info, 0, "value_info written without the option");
    onnx__model_proto__free_unpacked(m, NULL);
    m = decode(vi);
    cr_assert_eq(m->graph->n_value_info, (size_t)want);
    bool batch_seen = false;
    for (size_t i = 0; i < m->graph->n_value_info; i++) {
        const Onnx__ValueInfoProto *v = m->graph->value_info[i];
        int t = graph_find_tensor(g, v->name);
        cr_assert_geq(t, 0);
        const graph_tensor *gt = &g->tensors[t];
        const Onnx__TypeProto__Tensor *tt = v->type->tensor_type;
        cr_assert_eq(tt->elem_type, (int32_t)gt->dtype, "'%s': elem_type", v->name);
        cr_assert_eq(tt->shape->n_dim, (size_t)gt->shape.rank, "'%s': rank", v->name);
        if (tt->shape->n_dim == 0)
            continue;
        const Onnx__TensorShapeProto__Dimension *d0 = tt->shape->dim[0];
        if (d0->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM)
            batch_seen = batch_seen || strcmp(d0->dim_param, "batch") == 0;
    }
    cr_assert(batch_seen, "the symbolic batch dimension should reach value_info");
    onnx__model_proto__free_unpacked(m, NULL);

    graph *b = import_ok(vi);
    assert_same_graph(g, b);
    graph_free(b);
    graph_free(g);
}

/* ---- determinism ---- */

Test(onnx_export, deterministic_bytes, .timeout = 60)
{
    char src[1024];
    snprintf(src, sizeof src, "%s/models/cnn2d.onnx", root());
    graph *g = import_ok(src);
    onnx_export_options opt = {.producer_version = "1.2.3"};
    const char *a = tmp_path("det_a.onnx"), *b = tmp_path("det_b.onnx");
    export_ok(g, a, &opt);
    export_ok(g, b, &opt);
    cr_assert(same_file_bytes(a, b), "two exports of the same graph differ");

    uint8_t *buf = NULL;
    size_t len = 0;
    ssdc_error err = {0};
    cr_assert_eq(onnx_export_buffer(g, &opt, &buf, &len, &err), SSDC_OK, "%s", err.msg);
    size_t flen;
    uint8_t *file = read_all(a, &flen);
    cr_assert_eq(len, flen);
    cr_assert_eq(memcmp(buf, file, len), 0, "buffer and file exports differ");
    free(file);
    free(buf);

    /* a fixpoint: exporting the re-imported export gives the same bytes */
    graph *g2 = import_ok(a);
    const char *c = tmp_path("det_c.onnx");
    export_ok(g2, c, &opt);
    cr_assert(same_file_bytes(a, c), "export of the re-imported export differs");

    /* the IR version option */
    opt.ir_version = 7;
    export_ok(g, c, &opt);
    Onnx__ModelProto *m = decode(c);
    cr_assert_eq(m->ir_version, 7);
    cr_assert_str_eq(m->producer_version, "1.2.3");
    onnx__model_proto__free_unpacked(m, NULL);
    opt.ir_version = 9;
    cr_assert_eq(onnx_export_buffer(g, &opt, &buf, &len, &err), SSDC_ERR_ARG);
    graph_free(g2);
    graph_free(g);
}

/* ---- atomic writes ---- */

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot list %s", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

Test(onnx_export, missing_directory_is_a_clear_error)
{
    graph *g = build_reshape_graph(13, -1);
    const char *path = tmp_path("no_such_dir/model.onnx");
    ssdc_error err = {0};
    ssdc_status st = onnx_export_file(g, path, NULL, &err);
    cr_assert_eq(st, SSDC_ERR_IO, "%s", err.msg);
    cr_assert_eq(err.code, SSDC_ERR_IO);
    cr_assert(strncmp(err.msg, path, strlen(path)) == 0, "message must begin with the path: %s",
              err.msg);
    cr_assert_not_null(strstr(err.msg, "No such file or directory"), "%s", err.msg);
    cr_assert_eq(count_entries(tmp_dir), 0, "nothing may be created");
    graph_free(g);
}

/* A write that fails half way (the big cnn2d export into a folder where it
 * does not fit) leaves the previous file intact and no temporary file. */
static void check_failed_write_keeps_old_file(const char *dir, const char *reason)
{
    char path[600], old_copy[600];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    snprintf(old_copy, sizeof old_copy, "%s/old_copy.onnx", tmp_dir);

    /* the previous file: a small valid export */
    graph *small = build_reshape_graph(13, -1);
    export_ok(small, path, NULL);
    export_ok(small, old_copy, NULL);
    graph_free(small);
    cr_assert_eq(count_entries(dir), 1);

    char src[1024];
    snprintf(src, sizeof src, "%s/models/cnn2d.onnx", root());
    graph *g = import_ok(src);
    ssdc_error err = {0};
    ssdc_status st = onnx_export_file(g, path, NULL, &err);
    cr_assert_eq(st, SSDC_ERR_IO, "the export should fail (%s)", err.msg);
    cr_assert(strncmp(err.msg, path, strlen(path)) == 0, "message must begin with the path: %s",
              err.msg);
    cr_assert_not_null(strstr(err.msg, reason), "message lacks '%s': %s", reason, err.msg);
    cr_assert(same_file_bytes(path, old_copy), "the previous file was changed");
    cr_assert_eq(count_entries(dir), 1, "a temporary file was left behind");
    graph *back = import_ok(path);
    graph_free(back);
    graph_free(g);
}

Test(onnx_export, full_disk_leaves_old_file, .timeout = 60)
{
    snprintf(mnt_dir, sizeof mnt_dir, "%s/small", tmp_dir);
    cr_assert_eq(mkdir(mnt_dir, 0755), 0);
    /* a private mount namespace, so the mount cannot outlive the test */
    bool mounted = unshare(CLONE_NEWNS) == 0 &&
                   mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
                   mount("tmpfs", mnt_dir, "tmpfs", 0, "size=64k") == 0;
    if (mounted) {
        cr_log_info("tmpfs of 64 KiB mounted at %s", mnt_dir);
        check_failed_write_keeps_old_file(mnt_dir, "No space left on device");
        cr_assert_eq(umount2(mnt_dir, MNT_DETACH), 0);
        mnt_dir[0] = 0;
    } else {
        /* not allowed to mount here: a file size limit fails the write alike */
        cr_log_warn("cannot mount a tmpfs (%s); using RLIMIT_FSIZE instead", strerror(errno));
        mnt_dir[0] = 0;
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {64 * 1024, 64 * 1024};
        cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
        char dir[600];
        snprintf(dir, sizeof dir, "%s/small", tmp_dir);
        check_failed_write_keeps_old_file(dir, "File too large");
    }
}

/* The same through a file size limit (works without privileges). */
Test(onnx_export, file_size_limit_leaves_old_file, .timeout = 60)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/limited", tmp_dir);
    cr_assert_eq(mkdir(dir, 0755), 0);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {64 * 1024, 64 * 1024};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    check_failed_write_keeps_old_file(dir, "File too large");
}

/* Replacing a file keeps its permission bits; a successful export replaces
 * the old contents. */
Test(onnx_export, replace_keeps_mode)
{
    const char *path = tmp_path("mode.onnx");
    write_all(path, "old", 3);
    cr_assert_eq(chmod(path, 0640), 0);
    graph *g = build_reshape_graph(13, -1);
    export_ok(g, path, NULL);
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0640, "mode %o", (unsigned)(sb.st_mode & 0777));
    graph *b = import_ok(path);
    assert_same_graph(g, b);
    cr_assert_eq(count_entries(tmp_dir), 1);
    graph_free(b);
    graph_free(g);
}

/* Graph outputs of unknown dtype cannot be described: a clear error. */
Test(onnx_export, unknown_output_dtype_is_an_error)
{
    graph *g = new_graph("untyped", 13);
    int64_t xd[1] = {4};
    int x = add_tensor(g, "x", GRAPH_DT_FLOAT, 1, xd, NULL, GRAPH_TENSOR_INPUT);
    int y = add_tensor(g, "y", GRAPH_DT_UNDEFINED, -1, NULL, NULL, GRAPH_TENSOR_INTERMEDIATE);
    add_node(g, "relu", "Relu", "", 1, &x, 1, &y);
    add_output(g, y);
    export_fails(g, SSDC_ERR_INVALID, "graph output 'y' has no known element type");
    graph_free(g);
}

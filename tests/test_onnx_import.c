/* ONNX import: real models from Debian's ONNX node tests, small models
 * built at test time with onnx.helper (old-opset normalisation, tensor
 * encodings), and bad files that must give errors naming the file. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx_import.h"
#include "graph/graph.h"
#include "graph/ops.h"

#define NODE_TESTS "/usr/share/libonnx-testdata/data/node"

static char tmp_dir[64];

static void suite_setup(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/ssdc_onnx_test_XXXXXX");
    cr_assert_not_null(mkdtemp(tmp_dir), "mkdtemp failed");
}

static void suite_teardown(void)
{
    if (strncmp(tmp_dir, "/tmp/ssdc_onnx_test_", 20) == 0) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmp_dir);
    }
}

TestSuite(onnx_import, .init = suite_setup, .fini = suite_teardown);

static const char *tmp_path(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmp_dir, name);
    return buf[k];
}

/* Python prelude shared by the model-building snippets: save() writes a model
 * with the given default-domain opset into the temp folder. */
static const char *py_prelude =
    "import sys, numpy as np, onnx\n"
    "from onnx import helper as h, TensorProto as TP, numpy_helper as nh\n"
    "out = sys.argv[1]\n"
    "def vi(name, shape, dt=TP.FLOAT):\n"
    "    return h.make_tensor_value_info(name, dt, shape)\n"
    "def save(path, nodes, inputs, outputs, inits=(), opset=13, ir=None, extra_opsets=()):\n"
    "    g = h.make_graph(nodes, 'g', inputs, outputs, initializer=list(inits))\n"
    "    ops = [h.make_opsetid('', opset)] + [h.make_opsetid(d, v) for d, v in extra_opsets]\n"
    "    m = h.make_model(g, opset_imports=ops, producer_name='ssdc-test')\n"
    "    if ir is not None:\n"
    "        m.ir_version = ir\n"
    "    open(out + '/' + path, 'wb').write(m.SerializeToString())\n";

static void run_python(const char *body)
{
    const char *script = tmp_path("gen.py");
    FILE *f = fopen(script, "w");
    cr_assert_not_null(f);
    fputs(py_prelude, f);
    fputs(body, f);
    fclose(f);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s'", script, tmp_dir);
    cr_assert_eq(system(cmd), 0, "python model generator failed:\n%s", body);
}

static graph *import_ok(const char *path)
{
    graph *g = NULL;
    ssdc_error err = {0};
    ssdc_status st = onnx_import_file(path, &g, &err);
    cr_assert_eq(st, SSDC_OK, "import of %s failed: %s", path, err.msg);
    cr_assert_not_null(g);
    return g;
}

static void expect_error(const char *path, ssdc_status code, const char *needle)
{
    graph *g = (graph *)&g; /* must be reset to NULL */
    ssdc_error err = {0};
    ssdc_status st = onnx_import_file(path, &g, &err);
    cr_assert_neq(st, SSDC_OK, "import of %s should fail", path);
    cr_assert_null(g, "output graph must be NULL on error");
    cr_assert_eq(err.code, st);
    if (code != SSDC_OK)
        cr_assert_eq(st, code, "status %s, expected %s (%s)", ssdc_status_name(st),
                     ssdc_status_name(code), err.msg);
    cr_assert(strncmp(err.msg, path, strlen(path)) == 0,
              "message does not begin with the file name: %s", err.msg);
    if (needle)
        cr_assert_not_null(strstr(err.msg, needle), "message lacks '%s': %s", needle, err.msg);
}

static const graph_node *find_node(const graph *g, const char *name)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i].name, name) == 0)
            return &g->nodes[i];
    return NULL;
}

static const graph_node *find_op(const graph *g, const char *op_type)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i].op_type, op_type) == 0)
            return &g->nodes[i];
    return NULL;
}

static const graph_tensor *tensor(const graph *g, const char *name)
{
    int t = graph_find_tensor(g, name);
    cr_assert_geq(t, 0, "tensor '%s' missing", name);
    return &g->tensors[t];
}

/* The int64 initializer feeding input i of n, as values. */
static const int64_t *const_input_i64(const graph *g, const graph_node *n, int i, int64_t *count)
{
    cr_assert_lt(i, n->n_inputs, "node '%s' has %d inputs, wanted input %d", n->name,
                 n->n_inputs, i);
    cr_assert_geq(n->inputs[i], 0, "input %d of '%s' is omitted", i, n->name);
    const graph_tensor *t = &g->tensors[n->inputs[i]];
    cr_assert_eq(t->kind, GRAPH_TENSOR_INITIALIZER, "input %d of '%s' is not an initializer", i,
                 n->name);
    cr_assert_eq(t->dtype, GRAPH_DT_INT64);
    cr_assert_eq(t->shape.rank, 1);
    *count = t->shape.dims[0];
    return t->data;
}

static float const_input_f32(const graph *g, const graph_node *n, int i)
{
    cr_assert_lt(i, n->n_inputs);
    cr_assert_geq(n->inputs[i], 0, "input %d of '%s' is omitted", i, n->name);
    const graph_tensor *t = &g->tensors[n->inputs[i]];
    cr_assert_eq(t->kind, GRAPH_TENSOR_INITIALIZER);
    cr_assert_eq(t->dtype, GRAPH_DT_FLOAT);
    cr_assert_eq(t->shape.rank, 0, "scalar expected");
    return *(const float *)t->data;
}

/* ---- real models ---- */

Test(onnx_import, conv_with_strides_padding)
{
    const char *path = NODE_TESTS "/test_conv_with_strides_padding/model.onnx";
    graph *g = import_ok(path);
    cr_assert_str_eq(g->source, path);
    cr_assert_str_eq(g->name, "test_conv_with_strides_padding");
    cr_assert_str_eq(g->producer_name, "backend-test");
    cr_assert_eq(g->ir_version, 6);
    cr_assert_eq(g->opset, 11);
    cr_assert_eq(g->n_nodes, 1);
    const graph_node *n = &g->nodes[0];
    cr_assert_str_eq(n->op_type, "Conv");
    cr_assert_eq(n->op, GRAPH_OP_CONV);
    cr_assert_str_eq(n->name, "Conv_0", "unnamed node gets <OpType>_<index>, got '%s'", n->name);
    cr_assert_eq(n->n_inputs, 2);
    cr_assert_eq(n->n_outputs, 1);
    /* x and W are both caller-fed inputs in this model */
    cr_assert_eq(g->n_inputs, 2);
    const graph_tensor *x = &g->tensors[g->inputs[0]];
    const graph_tensor *w = &g->tensors[g->inputs[1]];
    cr_assert_str_eq(x->name, "x");
    cr_assert_str_eq(w->name, "W");
    cr_assert_eq(x->kind, GRAPH_TENSOR_INPUT);
    cr_assert_eq(x->dtype, GRAPH_DT_FLOAT);
    int64_t xd[4] = {1, 1, 7, 5}, wd[4] = {1, 1, 3, 3};
    cr_assert_eq(x->shape.rank, 4);
    cr_assert_eq(w->shape.rank, 4);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(x->shape.dims[i], xd[i]);
        cr_assert_eq(w->shape.dims[i], wd[i]);
    }
    cr_assert_eq(n->inputs[0], g->inputs[0]);
    cr_assert_eq(n->inputs[1], g->inputs[1]);
    cr_assert_eq(g->n_outputs, 1);
    const graph_tensor *y = &g->tensors[g->outputs[0]];
    cr_assert_str_eq(y->name, "y");
    cr_assert_eq(y->kind, GRAPH_TENSOR_INTERMEDIATE);
    cr_assert_eq(y->producer, 0);
    cr_assert(y->is_output);
    size_t cnt;
    const int64_t *strides = graph_attr_ints(n, "strides", &cnt);
    cr_assert_not_null(strides);
    cr_assert_eq(cnt, 2);
    cr_assert_eq(strides[0], 2);
    cr_assert_eq(strides[1], 2);
    const int64_t *pads = graph_attr_ints(n, "pads", &cnt);
    cr_assert_eq(cnt, 4);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pads[i], 1);
    cr_assert_eq(graph_attr_ints(n, "kernel_shape", &cnt)[0], 3);
    graph_free(g);
}

Test(onnx_import, constant_node_and_tensor_file)
{
    /* the Constant's tensor is stored in float_data, output_0.pb in raw_data */
    graph *g = import_ok(NODE_TESTS "/test_constant/model.onnx");
    cr_assert_eq(g->n_nodes, 1);
    cr_assert_eq(g->n_inputs, 0);
    const graph_node *n = &g->nodes[0];
    cr_assert_str_eq(n->op_type, "Constant");
    const graph_attr *a = graph_node_attr(n, "value");
    cr_assert_not_null(a);
    cr_assert_eq(a->type, GRAPH_ATTR_TENSOR);
    cr_assert_eq(a->t->dtype, GRAPH_DT_FLOAT);
    cr_assert_eq(a->t->rank, 2);
    cr_assert_eq(a->t->dims[0], 5);
    cr_assert_eq(a->t->dims[1], 5);
    cr_assert_eq(a->t->numel, 25);

    graph_value v;
    char *name = NULL;
    ssdc_error err = {0};
    ssdc_status st = onnx_read_tensor_file(NODE_TESTS "/test_constant/test_data_set_0/output_0.pb",
                                           &v, &name, &err);
    cr_assert_eq(st, SSDC_OK, "%s", err.msg);
    cr_assert_str_eq(name, "values");
    cr_assert_eq(v.numel, 25);
    cr_assert_eq(v.rank, 2);
    cr_assert_eq(memcmp(v.data, a->t->data, 25 * sizeof(float)), 0,
                 "float_data and raw_data decodings differ");
    cr_assert_float_eq(((float *)v.data)[0], 1.7640524f, 1e-6f);
    free(v.data);
    free(name);
    graph_free(g);
}

Test(onnx_import, tensor_file_input)
{
    graph_value v;
    ssdc_error err = {0};
    ssdc_status st = onnx_read_tensor_file(
        NODE_TESTS "/test_conv_with_strides_padding/test_data_set_0/input_0.pb", &v, NULL, &err);
    cr_assert_eq(st, SSDC_OK, "%s", err.msg);
    cr_assert_eq(v.dtype, GRAPH_DT_FLOAT);
    cr_assert_eq(v.rank, 4);
    cr_assert_eq(v.dims[2], 7);
    cr_assert_eq(v.dims[3], 5);
    cr_assert_eq(v.numel, 35);
    /* the node test input is 0, 1, 2, ... */
    for (int i = 0; i < 35; i++)
        cr_assert_eq(((float *)v.data)[i], (float)i);
    free(v.data);
}

Test(onnx_import, tensor_file_errors_name_the_file)
{
    const char *bad = tmp_path("bad.pb");
    FILE *f = fopen(bad, "wb");
    fputs("\xff\xff\xff\xff garbage", f);
    fclose(f);
    graph_value v;
    ssdc_error err = {0};
    cr_assert_neq(onnx_read_tensor_file(bad, &v, NULL, &err), SSDC_OK);
    cr_assert(strncmp(err.msg, bad, strlen(bad)) == 0, "%s", err.msg);
    cr_assert_null(v.data);
    const char *missing = tmp_path("missing.pb");
    cr_assert_eq(onnx_read_tensor_file(missing, &v, NULL, &err), SSDC_ERR_IO);
    cr_assert(strncmp(err.msg, missing, strlen(missing)) == 0, "%s", err.msg);
}

/* ---- models built at test time ---- */

Test(onnx_import, initializers_inputs_and_encodings)
{
    run_python(
        "w = np.arange(18, dtype=np.float32).reshape(2, 1, 3, 3)\n"
        "W = nh.from_array(w, 'W')\n" /* raw_data */
        "B = h.make_tensor('B', TP.FLOAT, [2], [0.5, -1.5])\n" /* float_data */
        "I64 = h.make_tensor('I64', TP.INT64, [3], [1, -2, 3])\n"
        "I8 = h.make_tensor('I8', TP.INT8, [2], [-5, 7])\n" /* int32_data */
        "BO = h.make_tensor('BO', TP.BOOL, [3], [True, False, True])\n"
        "D = h.make_tensor('D', TP.DOUBLE, [2], [0.25, 1e300])\n"
        "U8 = nh.from_array(np.array([[1, 255]], dtype=np.uint8), 'U8')\n"
        "S = nh.from_array(np.array(3.5, dtype=np.float32), 'S')\n" /* scalar */
        "conv = h.make_node('Conv', ['x', 'W', 'B'], ['y'], name='conv')\n"
        "outs = [vi('y', None)]\n"
        /* W listed as a graph input before x (IR 3 style), B after x */
        "save('a.onnx', [conv], [vi('W', [2, 1, 3, 3]), vi('x', ['batch', 1, 5, 5]),\n"
        "     vi('B', [2])], outs, [W, B, I64, I8, BO, D, U8, S], ir=3)\n");
    graph *g = import_ok(tmp_path("a.onnx"));
    cr_assert_eq(g->ir_version, 3);
    cr_assert_eq(g->n_inputs, 1, "only x is caller-fed");
    const graph_tensor *x = &g->tensors[g->inputs[0]];
    cr_assert_str_eq(x->name, "x");
    cr_assert_eq(x->shape.rank, 4);
    cr_assert_eq(x->shape.dims[0], -1);
    cr_assert_str_eq(x->shape.sym[0], "batch");
    cr_assert_eq(x->shape.dims[2], 5);

    const graph_tensor *w = tensor(g, "W");
    cr_assert_eq(w->kind, GRAPH_TENSOR_INITIALIZER);
    cr_assert_eq(w->shape.rank, 4);
    cr_assert_eq(w->shape.dims[0], 2);
    for (int i = 0; i < 18; i++)
        cr_assert_eq(((float *)w->data)[i], (float)i);
    const graph_tensor *b = tensor(g, "B");
    cr_assert_eq(b->kind, GRAPH_TENSOR_INITIALIZER);
    cr_assert_eq(((float *)b->data)[0], 0.5f);
    cr_assert_eq(((float *)b->data)[1], -1.5f);
    const int64_t *i64 = tensor(g, "I64")->data;
    cr_assert_eq(i64[0], 1);
    cr_assert_eq(i64[1], -2);
    cr_assert_eq(i64[2], 3);
    const graph_tensor *i8 = tensor(g, "I8");
    cr_assert_eq(i8->dtype, GRAPH_DT_INT8);
    cr_assert_eq(((int8_t *)i8->data)[0], -5);
    cr_assert_eq(((int8_t *)i8->data)[1], 7);
    const uint8_t *bo = tensor(g, "BO")->data;
    cr_assert_eq(bo[0], 1);
    cr_assert_eq(bo[1], 0);
    cr_assert_eq(bo[2], 1);
    const double *d = tensor(g, "D")->data;
    cr_assert_eq(d[0], 0.25);
    cr_assert_eq(d[1], 1e300);
    const graph_tensor *u8 = tensor(g, "U8");
    cr_assert_eq(u8->shape.rank, 2);
    cr_assert_eq(((uint8_t *)u8->data)[1], 255);
    const graph_tensor *s = tensor(g, "S");
    cr_assert_eq(s->shape.rank, 0);
    cr_assert_eq(*(float *)s->data, 3.5f);

    const graph_node *conv = find_node(g, "conv");
    cr_assert_not_null(conv);
    cr_assert_eq(conv->inputs[1], graph_find_tensor(g, "W"));
    cr_assert_eq(conv->inputs[2], graph_find_tensor(g, "B"));
    /* output without a declared shape: unknown rank */
    cr_assert_eq(tensor(g, "y")->shape.rank, -1);
    graph_free(g);
}

Test(onnx_import, nodes_out_of_order_and_optional_inputs)
{
    run_python(
        "n2 = h.make_node('Clip', ['t', '', 'mx'], ['y'], name='clip')\n"
        "n1 = h.make_node('Relu', ['x'], ['t'])\n"
        "n0 = h.make_node('Abs', ['x'], ['u'])\n"
        "mx = nh.from_array(np.array(6, dtype=np.float32), 'mx')\n"
        "save('o.onnx', [n2, n1, n0], [vi('x', [3])], [vi('y', [3]), vi('u', [3])], [mx])\n");
    graph *g = import_ok(tmp_path("o.onnx"));
    cr_assert_eq(g->n_nodes, 3);
    const graph_node *clip = find_node(g, "clip");
    cr_assert_not_null(clip);
    cr_assert_eq(clip->n_inputs, 3);
    cr_assert_eq(clip->inputs[0], graph_find_tensor(g, "t"));
    cr_assert_eq(clip->inputs[1], -1, "empty input name means omitted");
    cr_assert_eq(clip->inputs[2], graph_find_tensor(g, "mx"));
    /* unnamed nodes: <OpType>_<index in the file> */
    const graph_node *relu = find_node(g, "Relu_1");
    cr_assert_not_null(relu);
    cr_assert_not_null(find_node(g, "Abs_2"));
    cr_assert_eq(tensor(g, "t")->producer, (int)(relu - g->nodes));
    cr_assert_eq(g->n_outputs, 2);
    cr_assert_str_eq(g->tensors[g->outputs[1]].name, "u");
    graph_free(g);
}

Test(onnx_import, squeeze_axes_attribute_becomes_input)
{
    run_python(
        "sq = h.make_node('Squeeze', ['x'], ['y'], name='sq', axes=[0, 2])\n"
        "un = h.make_node('Unsqueeze', ['y'], ['z'], name='un', axes=[1])\n"
        "save('sq11.onnx', [sq, un], [vi('x', [1, 3, 1])], [vi('z', [3, 1])], opset=11)\n"
        "sq = h.make_node('Squeeze', ['x', 'ax'], ['y'], name='sq')\n"
        "ax = nh.from_array(np.array([0], dtype=np.int64), 'ax')\n"
        "save('sq13.onnx', [sq], [vi('x', [1, 3])], [vi('y', [3])], [ax], opset=13)\n");
    graph *g = import_ok(tmp_path("sq11.onnx"));
    cr_assert_eq(g->opset, 11);
    const graph_node *sq = find_node(g, "sq");
    cr_assert_not_null(sq);
    cr_assert_eq(sq->n_inputs, 2, "axes attribute must become input 1");
    cr_assert_null(graph_node_attr(sq, "axes"), "the axes attribute must be removed");
    int64_t n;
    const int64_t *axes = const_input_i64(g, sq, 1, &n);
    cr_assert_eq(n, 2);
    cr_assert_eq(axes[0], 0);
    cr_assert_eq(axes[1], 2);
    cr_assert_str_eq(g->tensors[sq->inputs[1]].name, "sq__axes");
    const graph_node *un = find_node(g, "un");
    axes = const_input_i64(g, un, 1, &n);
    cr_assert_eq(n, 1);
    cr_assert_eq(axes[0], 1);
    cr_assert_null(graph_node_attr(un, "axes"));
    graph_free(g);

    g = import_ok(tmp_path("sq13.onnx"));
    sq = find_node(g, "sq");
    cr_assert_eq(sq->n_inputs, 2);
    cr_assert_str_eq(g->tensors[sq->inputs[1]].name, "ax", "opset 13 form is left alone");
    graph_free(g);
}

Test(onnx_import, old_opset_attributes_become_inputs)
{
    run_python(
        /* opset 9: Slice attrs, Clip attrs, Pad attrs, Dropout ratio, TopK k,
         * Split split, ReduceSum axes, all at once */
        "nodes = [\n"
        "  h.make_node('Slice', ['x'], ['s'], name='sl', starts=[1], ends=[3], axes=[1]),\n"
        "  h.make_node('Clip', ['s'], ['c'], name='cl', min=-1.0, max=2.5),\n"
        "  h.make_node('Clip', ['c'], ['c2'], name='cl2', max=4.0),\n"
        "  h.make_node('Pad', ['c2'], ['p'], name='pd', pads=[0, 1, 0, 1], value=1.5,\n"
        "              mode='constant'),\n"
        "  h.make_node('Dropout', ['p'], ['d'], name='dr', ratio=0.25),\n"
        "  h.make_node('TopK', ['d'], ['tv', 'ti'], name='tk', k=2, axis=1),\n"
        "  h.make_node('Split', ['tv'], ['sp0', 'sp1'], name='spl', axis=1, split=[1, 1]),\n"
        "  h.make_node('ReduceSum', ['sp0'], ['r'], name='rs', axes=[1], keepdims=0),\n"
        "]\n"
        "save('old9.onnx', nodes, [vi('x', [2, 4])], [vi('r', None), vi('sp1', None),\n"
        "     vi('ti', None)], opset=9)\n");
    graph *g = import_ok(tmp_path("old9.onnx"));
    int64_t n;
    const int64_t *v;

    const graph_node *sl = find_node(g, "sl");
    cr_assert_eq(sl->n_inputs, 4);
    v = const_input_i64(g, sl, 1, &n);
    cr_assert(n == 1 && v[0] == 1);
    v = const_input_i64(g, sl, 2, &n);
    cr_assert(n == 1 && v[0] == 3);
    v = const_input_i64(g, sl, 3, &n);
    cr_assert(n == 1 && v[0] == 1);
    cr_assert_eq(sl->n_attrs, 0, "starts/ends/axes attributes removed");

    const graph_node *cl = find_node(g, "cl");
    cr_assert_eq(cl->n_inputs, 3);
    cr_assert_eq(const_input_f32(g, cl, 1), -1.0f);
    cr_assert_eq(const_input_f32(g, cl, 2), 2.5f);
    cr_assert_eq(cl->n_attrs, 0);
    const graph_node *cl2 = find_node(g, "cl2");
    cr_assert_eq(cl2->n_inputs, 3);
    cr_assert_eq(cl2->inputs[1], -1, "absent min stays omitted");
    cr_assert_eq(const_input_f32(g, cl2, 2), 4.0f);

    const graph_node *pd = find_node(g, "pd");
    cr_assert_eq(pd->n_inputs, 3);
    v = const_input_i64(g, pd, 1, &n);
    cr_assert_eq(n, 4);
    cr_assert(v[0] == 0 && v[1] == 1 && v[2] == 0 && v[3] == 1);
    cr_assert_eq(const_input_f32(g, pd, 2), 1.5f);
    cr_assert_str_eq(graph_attr_string(pd, "mode", ""), "constant", "mode stays an attribute");
    cr_assert_null(graph_node_attr(pd, "pads"));
    cr_assert_null(graph_node_attr(pd, "value"));

    const graph_node *dr = find_node(g, "dr");
    cr_assert_eq(dr->n_inputs, 2);
    cr_assert_eq(const_input_f32(g, dr, 1), 0.25f);
    cr_assert_null(graph_node_attr(dr, "ratio"));

    const graph_node *tk = find_node(g, "tk");
    v = const_input_i64(g, tk, 1, &n);
    cr_assert(n == 1 && v[0] == 2);
    cr_assert_null(graph_node_attr(tk, "k"));
    cr_assert_eq(graph_attr_int(tk, "axis", -7), 1);

    const graph_node *spl = find_node(g, "spl");
    v = const_input_i64(g, spl, 1, &n);
    cr_assert(n == 2 && v[0] == 1 && v[1] == 1);
    cr_assert_null(graph_node_attr(spl, "split"));
    cr_assert_eq(graph_attr_int(spl, "axis", -7), 1);

    const graph_node *rs = find_node(g, "rs");
    v = const_input_i64(g, rs, 1, &n);
    cr_assert(n == 1 && v[0] == 1);
    cr_assert_null(graph_node_attr(rs, "axes"));
    cr_assert_eq(graph_attr_int(rs, "keepdims", -7), 0);
    graph_free(g);
}

Test(onnx_import, batchnorm_opset7_spatial_dropped)
{
    run_python(
        "p = [nh.from_array(np.ones(3, np.float32), n) for n in ['s', 'b', 'm', 'v']]\n"
        "bn = h.make_node('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['y'], name='bn',\n"
        "                 spatial=1, epsilon=1e-3)\n"
        "save('bn7.onnx', [bn], [vi('x', [1, 3, 2, 2])], [vi('y', [1, 3, 2, 2])], p, opset=7)\n"
        "bn = h.make_node('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['y'], name='bn',\n"
        "                 spatial=0)\n"
        "save('bn7s0.onnx', [bn], [vi('x', [1, 3, 2, 2])], [vi('y', [1, 3, 2, 2])], p, opset=7)\n");
    graph *g = import_ok(tmp_path("bn7.onnx"));
    const graph_node *bn = find_node(g, "bn");
    cr_assert_null(graph_node_attr(bn, "spatial"));
    cr_assert_float_eq(graph_attr_float(bn, "epsilon", 0), 1e-3f, 1e-9f);
    cr_assert_eq(bn->n_inputs, 5);
    graph_free(g);
    expect_error(tmp_path("bn7s0.onnx"), SSDC_ERR_UNSUPPORTED, "spatial");
}

Test(onnx_import, old_softmax_semantics)
{
    run_python(
        /* rank 2, default axis (1 before opset 13): same as opset 13 with axis=1 */
        "s = h.make_node('Softmax', ['x'], ['y'], name='sm')\n"
        "save('sm2.onnx', [s], [vi('x', [2, 5])], [vi('y', [2, 5])], opset=11)\n"
        /* rank 4, axis 1: coerced to 2-D, needs Flatten + Reshape */
        "s = h.make_node('LogSoftmax', ['x'], ['y'], name='sm', axis=1)\n"
        "save('sm4.onnx', [s], [vi('x', [2, 3, 4, 5])], [vi('y', [2, 3, 4, 5])], opset=11)\n"
        "s = h.make_node('Softmax', ['x'], ['y'], name='sm')\n"
        "save('sm13.onnx', [s], [vi('x', [2, 3, 4])], [vi('y', [2, 3, 4])], opset=13)\n");
    graph *g = import_ok(tmp_path("sm2.onnx"));
    cr_assert_eq(g->n_nodes, 1);
    cr_assert_eq(graph_attr_int(&g->nodes[0], "axis", -7), 1, "old default axis made explicit");
    graph_free(g);

    g = import_ok(tmp_path("sm4.onnx"));
    cr_assert_eq(g->n_nodes, 4);
    const graph_node *fl = find_op(g, "Flatten");
    const graph_node *sm = find_op(g, "LogSoftmax");
    const graph_node *sh = find_op(g, "Shape");
    const graph_node *rs = find_op(g, "Reshape");
    cr_assert(fl && sm && sh && rs);
    int x = graph_find_tensor(g, "x"), y = graph_find_tensor(g, "y");
    cr_assert_eq(fl->inputs[0], x);
    cr_assert_eq(sh->inputs[0], x);
    cr_assert_eq(graph_attr_int(fl, "axis", -7), 1);
    cr_assert_eq(sm->inputs[0], fl->outputs[0]);
    cr_assert_eq(graph_attr_int(sm, "axis", -7), 1);
    cr_assert_eq(rs->inputs[0], sm->outputs[0]);
    cr_assert_eq(rs->inputs[1], sh->outputs[0]);
    cr_assert_eq(rs->outputs[0], y);
    cr_assert_eq(g->tensors[y].producer, (int)(rs - g->nodes));
    graph_free(g);

    g = import_ok(tmp_path("sm13.onnx"));
    cr_assert_eq(g->n_nodes, 1);
    cr_assert_null(graph_node_attr(&g->nodes[0], "axis"), "opset 13 is left alone");
    graph_free(g);
}

Test(onnx_import, attribute_types)
{
    run_python(
        "n = h.make_node('Foo', ['x'], ['y'], name='foo', f=1.5, i=-3, s='hello',\n"
        "                fs=[1.0, 2.0], is_=[4, 5, 6], ss=['a', 'bc'],\n"
        "                t=nh.from_array(np.array([1, 2], dtype=np.int32), 'tt'))\n"
        "save('attrs.onnx', [n], [vi('x', [1])], [vi('y', [1])])\n");
    graph *g = import_ok(tmp_path("attrs.onnx"));
    const graph_node *n = find_node(g, "foo");
    cr_assert_eq(n->op, -1, "unknown op has no registry id");
    cr_assert_eq(graph_node_attr(n, "f")->type, GRAPH_ATTR_FLOAT);
    cr_assert_eq(graph_attr_float(n, "f", 0), 1.5f);
    cr_assert_eq(graph_attr_int(n, "i", 0), -3);
    cr_assert_str_eq(graph_attr_string(n, "s", ""), "hello");
    size_t c;
    const float *fs = graph_attr_floats(n, "fs", &c);
    cr_assert(c == 2 && fs[0] == 1.0f && fs[1] == 2.0f);
    const int64_t *is = graph_attr_ints(n, "is_", &c);
    cr_assert(c == 3 && is[0] == 4 && is[2] == 6);
    const graph_attr *ss = graph_node_attr(n, "ss");
    cr_assert_eq(ss->type, GRAPH_ATTR_STRINGS);
    cr_assert_eq(ss->n, 2);
    cr_assert_str_eq(ss->strings[1], "bc");
    const graph_attr *t = graph_node_attr(n, "t");
    cr_assert_eq(t->type, GRAPH_ATTR_TENSOR);
    cr_assert_eq(t->t->dtype, GRAPH_DT_INT32);
    cr_assert_eq(((int32_t *)t->t->data)[1], 2);
    graph_free(g);
}

/* ---- bad files ---- */

Test(onnx_import, truncated_and_random_files)
{
    const char *src = NODE_TESTS "/test_conv_with_strides_padding/model.onnx";
    FILE *f = fopen(src, "rb");
    cr_assert_not_null(f);
    unsigned char buf[4096];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    cr_assert_gt(len, 100);
    /* every truncation either fails cleanly or (at a field boundary) still
     * imports; the last bytes hold the opset import, so most must fail */
    int failures = 0;
    for (size_t cut = 0; cut < len; cut++) {
        graph *g = NULL;
        ssdc_error err = {0};
        ssdc_status st = onnx_import_buffer(buf, cut, "cut.onnx", &g, &err);
        if (st) {
            failures++;
            cr_assert_null(g);
            cr_assert(strncmp(err.msg, "cut.onnx: ", 10) == 0, "%s", err.msg);
        } else {
            graph_free(g);
        }
    }
    cr_assert_gt(failures, (int)len * 9 / 10);

    const char *half = tmp_path("half.onnx");
    f = fopen(half, "wb");
    fwrite(buf, 1, len / 2, f);
    fclose(f);
    expect_error(half, SSDC_OK, NULL);

    const char *rnd = tmp_path("random.onnx");
    f = fopen(rnd, "wb");
    uint32_t s = 12345;
    for (int i = 0; i < 4096; i++) {
        s = s * 1664525u + 1013904223u;
        fputc((int)(s >> 24), f);
    }
    fclose(f);
    expect_error(rnd, SSDC_OK, NULL);

    const char *empty = tmp_path("empty.onnx");
    f = fopen(empty, "wb");
    fclose(f);
    expect_error(empty, SSDC_ERR_FORMAT, NULL);
    expect_error(tmp_path("does-not-exist.onnx"), SSDC_ERR_IO, NULL);
}

Test(onnx_import, undefined_names)
{
    run_python(
        "n = h.make_node('Add', ['x', 'missing'], ['y'], name='add')\n"
        "save('undef.onnx', [n], [vi('x', [1])], [vi('y', [1])])\n"
        "n = h.make_node('Relu', ['x'], ['y'], name='r')\n"
        "save('undef_out.onnx', [n], [vi('x', [1])], [vi('nothing', [1])])\n"
        "n1 = h.make_node('Relu', ['x'], ['y'], name='r1')\n"
        "n2 = h.make_node('Relu', ['x'], ['y'], name='r2')\n"
        "save('dup.onnx', [n1, n2], [vi('x', [1])], [vi('y', [1])])\n"
        "n = h.make_node('Relu', ['x'], ['x'], name='self')\n"
        "save('outin.onnx', [n], [vi('x', [1])], [vi('x', [1])])\n");
    expect_error(tmp_path("undef.onnx"), SSDC_ERR_INVALID,
                 "node 'add' (Add): input 'missing' is not defined");
    expect_error(tmp_path("undef_out.onnx"), SSDC_ERR_INVALID, "'nothing'");
    expect_error(tmp_path("dup.onnx"), SSDC_ERR_INVALID, "'y'");
    expect_error(tmp_path("outin.onnx"), SSDC_ERR_INVALID, "graph input");
}

Test(onnx_import, bad_tensors)
{
    run_python(
        "def model(path, t):\n"
        "    n = h.make_node('Add', ['x', t.name], ['y'], name='add')\n"
        "    save(path, [n], [vi('x', [2, 3])], [vi('y', [2, 3])], [t])\n"
        "t = TP(); t.name = 'short'; t.data_type = TP.FLOAT; t.dims.extend([2, 3])\n"
        "t.float_data.extend([1, 2, 3, 4, 5])\n"
        "model('short.onnx', t)\n"
        "t = TP(); t.name = 'rawshort'; t.data_type = TP.FLOAT; t.dims.extend([2, 3])\n"
        "t.raw_data = b'\\0' * 20\n"
        "model('rawshort.onnx', t)\n"
        "t = TP(); t.name = 'ext'; t.data_type = TP.FLOAT; t.dims.extend([2, 3])\n"
        "t.data_location = TP.EXTERNAL\n"
        "e = t.external_data.add(); e.key = 'location'; e.value = 'weights.bin'\n"
        "model('ext.onnx', t)\n"
        "t = TP(); t.name = 'neg'; t.data_type = TP.FLOAT; t.dims.extend([-2, 3])\n"
        "model('neg.onnx', t)\n"
        "t = TP(); t.name = 'huge'; t.data_type = TP.FLOAT; t.dims.extend([1 << 20, 1 << 20])\n"
        "model('huge.onnx', t)\n"
        "t = TP(); t.name = 'ovf'; t.data_type = TP.FLOAT\n"
        "t.dims.extend([1 << 62, 1 << 62, 16])\n"
        "model('ovf.onnx', t)\n"
        "t = nh.from_array(np.ones((2, 3), np.float16), 'half')\n"
        "model('half.onnx', t)\n");
    expect_error(tmp_path("short.onnx"), SSDC_ERR_FORMAT, "'short'");
    expect_error(tmp_path("short.onnx"), SSDC_ERR_FORMAT, "5 data elements, expected 6");
    expect_error(tmp_path("rawshort.onnx"), SSDC_ERR_FORMAT, "20 bytes, expected 24");
    expect_error(tmp_path("ext.onnx"), SSDC_ERR_UNSUPPORTED,
                 "initializer 'ext': external data is not supported yet");
    expect_error(tmp_path("neg.onnx"), SSDC_ERR_FORMAT, "'neg': negative dimension");
    expect_error(tmp_path("huge.onnx"), SSDC_ERR_LIMIT, "'huge'");
    expect_error(tmp_path("ovf.onnx"), SSDC_ERR_LIMIT, "'ovf'");
    expect_error(tmp_path("half.onnx"), SSDC_ERR_UNSUPPORTED, "'half'");
}

Test(onnx_import, unsupported_versions_and_domains)
{
    run_python(
        "n = h.make_node('Relu', ['x'], ['y'], name='r')\n"
        "args = ([n], [vi('x', [1])], [vi('y', [1])])\n"
        "save('op18.onnx', *args, opset=18)\n"
        "save('op6.onnx', *args, opset=6)\n"
        "add = h.make_node('Add', ['x', 'x'], ['y'], name='plus')\n"
        "save('op6_add.onnx', [add], [vi('x', [1])], [vi('y', [1])], opset=6)\n"
        "save('ir9.onnx', *args, ir=9)\n"
        "save('ir2.onnx', *args, ir=2)\n"
        "save('op7.onnx', *args, opset=7, ir=3)\n"
        "save('op17.onnx', *args, opset=17)\n"
        "ml = h.make_node('Normalizer', ['x'], ['y'], name='norm', domain='ai.onnx.ml')\n"
        "save('ml.onnx', [ml], [vi('x', [1])], [vi('y', [1])], extra_opsets=[('ai.onnx.ml', 3)])\n"
        "body = h.make_graph([h.make_node('Identity', ['x'], ['z'])], 'b', [], [vi('z', [1])])\n"
        "iff = h.make_node('If', ['c'], ['y'], name='cond', then_branch=body, else_branch=body)\n"
        "save('if.onnx', [iff], [vi('c', [], TP.BOOL), vi('x', [1])], [vi('y', [1])])\n"
        "g = h.make_graph([n], 'g', [vi('x', [1])], [vi('y', [1])])\n"
        "m = h.make_model(g, opset_imports=[h.make_opsetid('ai.onnx.ml', 3)])\n"
        "open(out + '/noop.onnx', 'wb').write(m.SerializeToString())\n");
    expect_error(tmp_path("op18.onnx"), SSDC_ERR_UNSUPPORTED, "opset 18");
    /* before opset 7 only ops unchanged since are accepted (Relu yes, Add no) */
    expect_error(tmp_path("op6_add.onnx"), SSDC_ERR_UNSUPPORTED, "opset 6");
    expect_error(tmp_path("op6_add.onnx"), SSDC_ERR_UNSUPPORTED, "node 'plus' (Add)");
    graph *g6 = import_ok(tmp_path("op6.onnx"));
    cr_assert_eq(g6->opset, 6);
    graph_free(g6);
    expect_error(tmp_path("ir9.onnx"), SSDC_ERR_UNSUPPORTED, "IR version 9");
    expect_error(tmp_path("ir2.onnx"), SSDC_ERR_UNSUPPORTED, "IR version 2");
    expect_error(tmp_path("ml.onnx"), SSDC_ERR_UNSUPPORTED, "node 'norm' (Normalizer)");
    expect_error(tmp_path("ml.onnx"), SSDC_ERR_UNSUPPORTED, "ai.onnx.ml");
    expect_error(tmp_path("if.onnx"), SSDC_ERR_UNSUPPORTED, "node 'cond' (If)");
    expect_error(tmp_path("noop.onnx"), SSDC_ERR_UNSUPPORTED, "opset_import");
    graph *g = import_ok(tmp_path("op7.onnx"));
    cr_assert_eq(g->opset, 7);
    graph_free(g);
    g = import_ok(tmp_path("op17.onnx"));
    cr_assert_eq(g->opset, 17);
    graph_free(g);
}

Test(onnx_import, resource_limits)
{
    run_python(
        "n = h.make_node('Relu', ['x'], ['y'], name='n' * 70000)\n"
        "save('longname.onnx', [n], [vi('x', [1])], [vi('y', [1])])\n"
        "n = h.make_node('Relu', ['x' * 70000], ['y'], name='r')\n"
        "save('longin.onnx', [n], [vi('x' * 70000, [1])], [vi('y', [1])])\n"
        "n = h.make_node('Relu', ['x'], ['y'], name='r', s='s' * 70000)\n"
        "save('longattr.onnx', [n], [vi('x', [1])], [vi('y', [1])])\n");
    expect_error(tmp_path("longname.onnx"), SSDC_ERR_LIMIT, "longer than");
    expect_error(tmp_path("longin.onnx"), SSDC_ERR_LIMIT, "longer than");
    expect_error(tmp_path("longattr.onnx"), SSDC_ERR_LIMIT, "node 'r' (Relu)");
}

Test(onnx_import, buffer_source_name)
{
    graph *g = (graph *)&g;
    ssdc_error err = {0};
    const unsigned char junk[] = {0x0a, 0xff, 0xff, 0xff};
    cr_assert_neq(onnx_import_buffer(junk, sizeof junk, "mem.onnx", &g, &err), SSDC_OK);
    cr_assert_null(g);
    cr_assert(strncmp(err.msg, "mem.onnx: ", 10) == 0, "%s", err.msg);
}

/* PyTorch merges equal initializers of a fresh model and feeds the copies
 * through Identity nodes: the importer gives each its own initializer. */
Test(onnx_import, identity_of_initializer_is_untied)
{
    run_python(
        "ones = nh.from_array(np.ones(3, np.float32), 'bn1.weight')\n"
        "zeros = nh.from_array(np.zeros(3, np.float32), 'bn1.bias')\n"
        "nodes = [h.make_node('Identity', ['bn1.weight'], ['bn2.weight'], name='id_w'),\n"
        "         h.make_node('Identity', ['bn1.bias'], ['bn2.bias'], name='id_b'),\n"
        "         h.make_node('BatchNormalization', ['x', 'bn1.weight', 'bn1.bias', 'bn1.bias', 'bn1.weight'], ['y1'], name='bn1'),\n"
        "         h.make_node('BatchNormalization', ['y1', 'bn2.weight', 'bn2.bias', 'bn2.bias', 'bn2.weight'], ['y'], name='bn2')]\n"
        "save('tied.onnx', nodes, [vi('x', [2, 3, 4])], [vi('y', [2, 3, 4])], inits=[ones, zeros])\n");
    graph *g = import_ok(tmp_path("tied.onnx"));
    cr_assert_eq(g->n_nodes, 2, "the Identity nodes are gone");
    for (int i = 0; i < g->n_nodes; i++)
        cr_assert_str_eq(g->nodes[i].op_type, "BatchNormalization");
    int w2 = graph_find_tensor(g, "bn2.weight"), w1 = graph_find_tensor(g, "bn1.weight");
    cr_assert(w1 >= 0 && w2 >= 0);
    cr_assert_eq(g->tensors[w2].kind, GRAPH_TENSOR_INITIALIZER);
    cr_assert_neq(g->tensors[w2].data, g->tensors[w1].data, "a copy, not shared memory");
    cr_assert_eq(((float *)g->tensors[w2].data)[2], 1.0f);
    graph_free(g);
}

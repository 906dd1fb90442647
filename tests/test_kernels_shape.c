/* Data-movement and reduction ops: shape inference (schemas in
 * graph/ops/shape_ops.c, graph/ops/reduce.c) and forward kernels
 * (runtime/kernels/shape_ops.c, runtime/kernels/reduce.c), called directly on
 * hand-built nodes and values. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/ops.h"
#include "runtime/kernel.h"

#define MAXIO 8

/* ---- hand-built nodes ---- */

typedef struct {
    graph_node node;
    graph_attr attrs[8];
    int inputs[MAXIO], outputs[MAXIO];
} tnode;

static graph_tensor g_tensors[MAXIO] = {
    {.name = "in0"}, {.name = "in1"}, {.name = "in2"}, {.name = "in3"},
    {.name = "in4"}, {.name = "in5"}, {.name = "in6"}, {.name = "in7"},
};
static graph g_graph = {.name = "test", .tensors = g_tensors, .n_tensors = MAXIO};

static void tnode_init(tnode *t, const char *op, int n_in, int n_out)
{
    memset(t, 0, sizeof *t);
    t->node.name = "n";
    t->node.op_type = (char *)op;
    t->node.domain = "";
    t->node.op = graph_op_lookup(op);
    cr_assert_geq(t->node.op, 0, "op %s", op);
    t->node.n_inputs = n_in;
    t->node.inputs = t->inputs;
    t->node.n_outputs = n_out;
    t->node.outputs = t->outputs;
    t->node.attrs = t->attrs;
    for (int i = 0; i < MAXIO; i++) {
        t->inputs[i] = i;
        t->outputs[i] = i;
    }
}

static graph_attr *add_attr(tnode *t, const char *name, graph_attr_type type)
{
    graph_attr *a = &t->attrs[t->node.n_attrs++];
    a->name = (char *)name;
    a->type = type;
    return a;
}

static void attr_int(tnode *t, const char *name, int64_t v)
{
    add_attr(t, name, GRAPH_ATTR_INT)->i = v;
}

static void attr_float(tnode *t, const char *name, float v)
{
    add_attr(t, name, GRAPH_ATTR_FLOAT)->f = v;
}

static void attr_ints(tnode *t, const char *name, const int64_t *v, size_t n)
{
    graph_attr *a = add_attr(t, name, GRAPH_ATTR_INTS);
    a->ints = (int64_t *)v;
    a->n = n;
}

static void attr_floats(tnode *t, const char *name, const float *v, size_t n)
{
    graph_attr *a = add_attr(t, name, GRAPH_ATTR_FLOATS);
    a->floats = (float *)v;
    a->n = n;
}

static void attr_str(tnode *t, const char *name, const char *s)
{
    add_attr(t, name, GRAPH_ATTR_STRING)->s = (char *)s;
}

static void attr_tensor(tnode *t, const char *name, graph_value *v)
{
    add_attr(t, name, GRAPH_ATTR_TENSOR)->t = v;
}

/* ---- shapes and values ---- */

/* "[batch,8,4]" (names are symbolic dims), "[]" (scalar), "*" (unknown rank). */
static graph_shape shp(const char *spec)
{
    graph_shape s;
    if (strcmp(spec, "*") == 0) {
        graph_shape_unknown(&s);
        return s;
    }
    graph_shape_init(&s, 0, NULL);
    const char *p = spec + 1;
    while (*p && *p != ']') {
        char tok[GRAPH_SYM_MAX] = {0};
        int n = 0;
        while (*p && *p != ',' && *p != ']' && n < GRAPH_SYM_MAX - 1)
            tok[n++] = *p++;
        if (*p == ',')
            p++;
        if (tok[0] == '?') {
            s.dims[s.rank] = -1;
        } else if (tok[0] >= '0' && tok[0] <= '9') {
            s.dims[s.rank] = atoll(tok);
        } else {
            s.dims[s.rank] = -1;
            memcpy(s.sym[s.rank], tok, sizeof tok);
        }
        s.rank++;
    }
    return s;
}

static const char *fmt_shape(const graph_shape *s)
{
    static char buf[4][160];
    static int k;
    k = (k + 1) % 4;
    graph_shape_format(s, buf[k], sizeof buf[k]);
    return buf[k];
}

/* A value over caller-owned data with the static shape spec. */
static graph_value val(graph_dtype dt, const char *spec, const void *data)
{
    graph_shape s = shp(spec);
    graph_value v;
    memset(&v, 0, sizeof v);
    graph_value_set_shape(&v, dt, s.rank, s.dims);
    v.data = (void *)data;
    return v;
}

static graph_value omitted(void)
{
    graph_value v;
    memset(&v, 0, sizeof v);
    v.dtype = GRAPH_DT_UNDEFINED;
    return v;
}

/* ---- running shape inference ---- */

typedef struct {
    graph_dtype in_dt[MAXIO];
    graph_shape in_sh[MAXIO];
    const graph_value *in_val[MAXIO];
    graph_dtype out_dt[MAXIO];
    graph_shape out_sh[MAXIO];
    ssdc_error err;
} infer_io;

static void io_init(infer_io *io)
{
    memset(io, 0, sizeof *io);
    for (int i = 0; i < MAXIO; i++)
        graph_shape_unknown(&io->in_sh[i]);
}

static void io_in(infer_io *io, int i, graph_dtype dt, const char *spec, const graph_value *v)
{
    io->in_dt[i] = dt;
    io->in_sh[i] = shp(spec);
    io->in_val[i] = v;
}

static ssdc_status infer(tnode *t, infer_io *io)
{
    return graph_infer_node(&g_graph, &t->node, io->in_dt, io->in_sh, io->in_val, io->out_dt,
                            io->out_sh, &io->err);
}

static void expect_shape(const infer_io *io, int o, const char *want)
{
    cr_assert_str_eq(fmt_shape(&io->out_sh[o]), want, "output %d: got %s, expected %s", o,
                     fmt_shape(&io->out_sh[o]), want);
}

/* ---- running kernels (plan-time inference, then forward) ---- */

typedef struct {
    graph_value out[MAXIO];
    void *scratch;
    ssdc_error err;
} run_io;

static ssdc_status run_op(tnode *t, const graph_value *in, run_io *r)
{
    memset(r, 0, sizeof *r);
    const graph_node *n = &t->node;
    infer_io io;
    io_init(&io);
    for (int i = 0; i < n->n_inputs; i++) {
        if (in[i].dtype == GRAPH_DT_UNDEFINED) {
            t->inputs[i] = -1;
            continue;
        }
        io.in_dt[i] = in[i].dtype;
        graph_shape_init(&io.in_sh[i], in[i].rank, in[i].dims);
        io.in_val[i] = &in[i];
    }
    ssdc_status st = infer(t, &io);
    if (st) {
        r->err = io.err;
        return st;
    }
    for (int o = 0; o < n->n_outputs; o++) {
        cr_assert(graph_shape_is_static(&io.out_sh[o]), "output %d shape %s", o,
                  fmt_shape(&io.out_sh[o]));
        graph_value_set_shape(&r->out[o], io.out_dt[o], io.out_sh[o].rank, io.out_sh[o].dims);
        r->out[o].data = calloc(1, graph_value_bytes(&r->out[o]) + 1);
    }
    const rt_kernel *k = rt_kernel_get(n->op);
    cr_assert_not_null(k, "no kernel for %s", n->op_type);
    rt_kernel_ctx ctx = {.g = &g_graph, .node = n};
    if (k->scratch) {
        ctx.scratch_bytes = k->scratch(n, in, n->n_inputs, r->out, n->n_outputs);
        r->scratch = ctx.scratch = aligned_alloc(64, (ctx.scratch_bytes + 63) / 64 * 64 + 64);
    }
    return k->forward(&ctx, in, n->n_inputs, r->out, n->n_outputs, &r->err);
}

static void run_ok(tnode *t, const graph_value *in, run_io *r)
{
    ssdc_status st = run_op(t, in, r);
    cr_assert_eq(st, SSDC_OK, "%s", r->err.msg);
}

static void run_free(run_io *r)
{
    for (int o = 0; o < MAXIO; o++)
        free(r->out[o].data);
    free(r->scratch);
}

static void expect_dims(const graph_value *v, const char *want)
{
    graph_shape s;
    graph_shape_init(&s, v->rank, v->dims);
    cr_assert_str_eq(fmt_shape(&s), want);
}

static void expect_f32(const graph_value *v, const float *want, int64_t n)
{
    cr_assert_eq(v->dtype, GRAPH_DT_FLOAT);
    cr_assert_eq(v->numel, n, "numel %lld, expected %lld", (long long)v->numel, (long long)n);
    const float *got = v->data;
    for (int64_t i = 0; i < n; i++)
        cr_assert_float_eq(got[i], want[i], 1e-5, "element %lld: %g, expected %g", (long long)i,
                           got[i], want[i]);
}

static void expect_i64(const graph_value *v, const int64_t *want, int64_t n)
{
    cr_assert_eq(v->dtype, GRAPH_DT_INT64);
    cr_assert_eq(v->numel, n, "numel %lld, expected %lld", (long long)v->numel, (long long)n);
    const int64_t *got = v->data;
    for (int64_t i = 0; i < n; i++)
        cr_assert_eq(got[i], want[i], "element %lld: %lld, expected %lld", (long long)i,
                     (long long)got[i], (long long)want[i]);
}

static void iota_f32(float *p, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        p[i] = (float)i;
}

/* ==================== registry ==================== */

Test(shape_schema, registry_flags)
{
    struct {
        const char *op;
        uint32_t value_inputs;
    } want[] = {
        {"Reshape", 1u << 1},  {"Slice", 0x1e},        {"Squeeze", 1u << 1},
        {"Unsqueeze", 1u << 1}, {"Split", 1u << 1},     {"Pad", 1u << 1 | 1u << 3},
        {"Tile", 1u << 1},      {"Expand", 1u << 1},    {"ConstantOfShape", 1u << 0},
        {"Range", 0x7},         {"TopK", 1u << 1},      {"ReduceSum", 1u << 1},
        {"Transpose", 0},       {"Gather", 0},          {"Concat", 0},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const graph_op_schema *s = graph_op_schema_get(graph_op_lookup(want[i].op));
        cr_assert_not_null(s, "%s", want[i].op);
        cr_assert_eq(s->value_inputs, want[i].value_inputs, "%s", want[i].op);
        cr_assert_not_null(rt_kernel_get(graph_op_lookup(want[i].op)), "%s", want[i].op);
    }
    cr_assert(graph_op_schema_get(GRAPH_OP_SHAPE)->shape_only);
    cr_assert(graph_op_schema_get(GRAPH_OP_SIZE)->shape_only);
    cr_assert_not(graph_op_schema_get(GRAPH_OP_RESHAPE)->shape_only);
    cr_assert_eq(graph_op_schema_get(GRAPH_OP_CONCAT)->max_in, -1);
}

/* ==================== shape inference ==================== */

Test(shape_infer, flatten_symbolic)
{
    tnode t;
    infer_io io;
    const char *cases[][2] = {
        {"1", "[batch,32]"}, {"0", "[1,?]"}, {"-1", "[?,4]"}, {"3", "[?,1]"}, {"2", "[?,4]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tnode_init(&t, "Flatten", 1, 1);
        attr_int(&t, "axis", atoi(cases[i][0]));
        io_init(&io);
        io_in(&io, 0, GRAPH_DT_FLOAT, "[batch,8,4]", NULL);
        cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
        expect_shape(&io, 0, cases[i][1]);
        cr_assert_eq(io.out_dt[0], GRAPH_DT_FLOAT);
    }
    /* default axis 1 */
    tnode_init(&t, "Flatten", 1, 1);
    io_init(&io);
    io_in(&io, 0, GRAPH_DT_FLOAT, "[batch,8,4]", NULL);
    cr_assert_eq(infer(&t, &io), SSDC_OK);
    expect_shape(&io, 0, "[batch,32]");
    /* 1-sized dims around a symbol keep it */
    io_in(&io, 0, GRAPH_DT_FLOAT, "[2,1,n,1,3]", NULL);
    attr_int(&t, "axis", 4);
    cr_assert_eq(infer(&t, &io), SSDC_OK);
    expect_shape(&io, 0, "[?,3]");
    tnode_init(&t, "Flatten", 1, 1);
    attr_int(&t, "axis", 3);
    io_in(&io, 0, GRAPH_DT_FLOAT, "[1,n,1,5]", NULL);
    cr_assert_eq(infer(&t, &io), SSDC_OK);
    expect_shape(&io, 0, "[n,5]");
}

Test(shape_infer, flatten_axis_out_of_range)
{
    tnode t;
    tnode_init(&t, "Flatten", 1, 1);
    attr_int(&t, "axis", 4);
    infer_io io;
    io_init(&io);
    io_in(&io, 0, GRAPH_DT_FLOAT, "[batch,8,4]", NULL);
    cr_assert_eq(infer(&t, &io), SSDC_ERR_INVALID);
    cr_assert(strstr(io.err.msg, "node 'n' (Flatten)"), "%s", io.err.msg);
    cr_assert(strstr(io.err.msg, "axis 4"), "%s", io.err.msg);
}

Test(shape_infer, reshape_symbolic_zero_and_minus_one)
{
    tnode t;
    tnode_init(&t, "Reshape", 2, 1);
    int64_t s1[] = {0, -1};
    graph_value v1 = val(GRAPH_DT_INT64, "[2]", s1);
    infer_io io;
    io_init(&io);
    io_in(&io, 0, GRAPH_DT_FLOAT, "[batch,8,4]", NULL);
    io_in(&io, 1, GRAPH_DT_INT64, "[2]", &v1);
    cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
    expect_shape(&io, 0, "[batch,32]");

    /* -1 absorbing the symbolic dim: unknown, unnamed */
    int64_t s2[] = {-1, 4};
    graph_value v2 = val(GRAPH_DT_INT64, "[2]", s2);
    io_in(&io, 1, GRAPH_DT_INT64, "[2]", &v2);
    cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
    expect_shape(&io, 0, "[?,4]");

    /* static: [2,3,4] -> [4,-1] = [4,6]; 0 copies dim 0 */
    int64_t s3[] = {0, 4, -1};
    graph_value v3 = val(GRAPH_DT_INT64, "[3]", s3);
    io_in(&io, 0, GRAPH_DT_FLOAT, "[2,3,4]", NULL);
    io_in(&io, 1, GRAPH_DT_INT64, "[3]", &v3);
    cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
    expect_shape(&io, 0, "[2,4,3]");

    /* shape value unknown: the rank is the length of the shape input */
    io_in(&io, 1, GRAPH_DT_INT64, "[3]", NULL);
    cr_assert_eq(infer(&t, &io), SSDC_OK);
    expect_shape(&io, 0, "[?,?,?]");
}

Test(shape_infer, reshape_incompatible)
{
    tnode t;
    tnode_init(&t, "Reshape", 2, 1);
    infer_io io;
    io_init(&io);
    int64_t s1[] = {4, 2};
    graph_value v1 = val(GRAPH_DT_INT64, "[2]", s1);
    io_in(&io, 0, GRAPH_DT_FLOAT, "[2,3]", NULL);
    io_in(&io, 1, GRAPH_DT_INT64, "[2]", &v1);
    cr_assert_eq(infer(&t, &io), SSDC_ERR_SHAPE);
    cr_assert(strstr(io.err.msg, "cannot reshape [2,3]"), "%s", io.err.msg);

    int64_t s2[] = {4, -1};
    graph_value v2 = val(GRAPH_DT_INT64, "[2]", s2);
    io_in(&io, 1, GRAPH_DT_INT64, "[2]", &v2);
    cr_assert_eq(infer(&t, &io), SSDC_ERR_SHAPE);

    int64_t s3[] = {-1, -1};
    graph_value v3 = val(GRAPH_DT_INT64, "[2]", s3);
    io_in(&io, 1, GRAPH_DT_INT64, "[2]", &v3);
    cr_assert_eq(infer(&t, &io), SSDC_ERR_SHAPE);
    cr_assert(strstr(io.err.msg, "more than one -1"), "%s", io.err.msg);

    /* 0 copying a dimension the input does not have */
    int64_t s4[] = {6, 0, 0};
    graph_value v4 = val(GRAPH_DT_INT64, "[3]", s4);
    io_in(&io, 1, GRAPH_DT_INT64, "[3]", &v4);
    cr_assert_eq(infer(&t, &io), SSDC_ERR_SHAPE);
}

Test(shape_infer, reshape_allowzero)
{
    tnode t;
    tnode_init(&t, "Reshape", 2, 1);
    attr_int(&t, "allowzero", 1);
    infer_io io;
    io_init(&io);
    int64_t s1[] = {3, 0};
    graph_value v1 = val(GRAPH_DT_INT64, "[2]", s1);
    io_in(&io, 0, GRAPH_DT_FLOAT, "[0,3]", NULL);
    io_in(&io, 1, GRAPH_DT_INT64, "[2]", &v1);
    cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
    expect_shape(&io, 0, "[3,0]");
    /* without allowzero the 0 copies dimension 1 (= 3): 9 != 0 elements */
    t.node.n_attrs = 0;
    cr_assert_eq(infer(&t, &io), SSDC_ERR_SHAPE);
    /* allowzero with both 0 and -1 is invalid */
    tnode_init(&t, "Reshape", 2, 1);
    attr_int(&t, "allowzero", 1);
    int64_t s2[] = {0, -1};
    graph_value v2 = val(GRAPH_DT_INT64, "[2]", s2);
    io_in(&io, 1, GRAPH_DT_INT64, "[2]", &v2);
    cr_assert_eq(infer(&t, &io), SSDC_ERR_SHAPE);
}

Test(shape_infer, transpose)
{
    tnode t;
    tnode_init(&t, "Transpose", 1, 1);
    infer_io io;
    io_init(&io);
    io_in(&io, 0, GRAPH_DT_INT64, "[batch,3,5]", NULL);
    cr_assert_eq(infer(&t, &io), SSDC_OK);
    expect_shape(&io, 0, "[5,3,batch]");
    cr_assert_eq(io.out_dt[0], GRAPH_DT_INT64);
    int64_t perm[] = {0, 2, 1};
    attr_ints(&t, "perm", perm, 3);
    cr_assert_eq(infer(&t, &io), SSDC_OK);
    expect_shape(&io, 0, "[batch,5,3]");
    int64_t bad[] = {0, 0, 1};
    t.attrs[0].ints = bad;
    cr_assert_eq(infer(&t, &io), SSDC_ERR_INVALID);
    t.attrs[0].n = 2;
    cr_assert_eq(infer(&t, &io), SSDC_ERR_INVALID);
}

Test(shape_infer, concat)
{
    tnode t;
    tnode_init(&t, "Concat", 3, 1);
    attr_int(&t, "axis", -1);
    infer_io io;
    io_init(&io);
    io_in(&io, 0, GRAPH_DT_FLOAT, "[batch,2]", NULL);
    io_in(&io, 1, GRAPH_DT_FLOAT, "[?,3]", NULL);
    io_in(&io, 2, GRAPH_DT_FLOAT, "[batch,0]", NULL);
    cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
    expect_shape(&io, 0, "[batch,5]");
    /* concatenating along the symbolic axis */
    t.attrs[0].i = 0;
    cr_assert_eq(infer(&t, &io), SSDC_ERR_SHAPE); /* 2 vs 3 outside the axis */
    io_in(&io, 1, GRAPH_DT_FLOAT, "[4,2]", NULL);
    io_in(&io, 2, GRAPH_DT_FLOAT, "[1,2]", NULL);
    cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
    expect_shape(&io, 0, "[?,2]");
    /* axis out of range */
    t.attrs[0].i = 2;
    cr_assert_eq(infer(&t, &io), SSDC_ERR_INVALID);
    /* mixed dtypes */
    t.attrs[0].i = 0;
    io_in(&io, 2, GRAPH_DT_INT32, "[1,2]", NULL);
    cr_assert_eq(infer(&t, &io), SSDC_ERR_INVALID);
}

Test(shape_infer, split)
{
    tnode t;
    tnode_init(&t, "Split", 1, 3);
    infer_io io;
    io_init(&io);
    io_in(&io, 0, GRAPH_DT_FLOAT, "[6,batch]", NULL);
    cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
    for (int o = 0; o < 3; o++)
        expect_shape(&io, o, "[2,batch]");
    io_in(&io, 0, GRAPH_DT_FLOAT, "[7,batch]", NULL);
    cr_assert_eq(infer(&t, &io), SSDC_ERR_SHAPE);

    tnode_init(&t, "Split", 2, 2);
    attr_int(&t, "axis", 1);
    int64_t sp[] = {1, 4};
    graph_value v = val(GRAPH_DT_INT64, "[2]", sp);
    io_in(&io, 0, GRAPH_DT_FLOAT, "[batch,5]", NULL);
    io_in(&io, 1, GRAPH_DT_INT64, "[2]", &v);
    cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
    expect_shape(&io, 0, "[batch,1]");
    expect_shape(&io, 1, "[batch,4]");
    io_in(&io, 0, GRAPH_DT_FLOAT, "[batch,6]", NULL);
    cr_assert_eq(infer(&t, &io), SSDC_ERR_SHAPE); /* 1 + 4 != 6 */
}

Test(shape_infer, slice)
{
    tnode t;
    tnode_init(&t, "Slice", 5, 1);
    int64_t st[] = {1, -1}, en[] = {-1, 0}, ax[] = {0, -1}, sp[] = {2, -1};
    graph_value vs = val(GRAPH_DT_INT64, "[2]", st), ve = val(GRAPH_DT_INT64, "[2]", en);
    graph_value va = val(GRAPH_DT_INT64, "[2]", ax), vp = val(GRAPH_DT_INT64, "[2]", sp);
    infer_io io;
    io_init(&io);
    io_in(&io, 0, GRAPH_DT_FLOAT, "[10,batch,7]", NULL);
    io_in(&io, 1, GRAPH_DT_INT64, "[2]", &vs);
    io_in(&io, 2, GRAPH_DT_INT64, "[2]", &ve);
    io_in(&io, 3, GRAPH_DT_INT64, "[2]", &va);
    io_in(&io, 4, GRAPH_DT_INT64, "[2]", &vp);
    cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
    /* axis 0: 1..9 step 2 -> 4; axis 2: 6 down to (excluding) 0 -> 6 */
    expect_shape(&io, 0, "[4,batch,6]");
    /* ends unknown: the sliced axes become unknown, the others stay */
    io_in(&io, 2, GRAPH_DT_INT64, "[2]", NULL);
    cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
    expect_shape(&io, 0, "[?,batch,?]");
    /* repeated axis and zero step are errors */
    io_in(&io, 2, GRAPH_DT_INT64, "[2]", &ve);
    int64_t ax2[] = {0, 0}, sp0[] = {1, 0};
    graph_value va2 = val(GRAPH_DT_INT64, "[2]", ax2), vp0 = val(GRAPH_DT_INT64, "[2]", sp0);
    io_in(&io, 3, GRAPH_DT_INT64, "[2]", &va2);
    cr_assert_eq(infer(&t, &io), SSDC_ERR_INVALID);
    io_in(&io, 3, GRAPH_DT_INT64, "[2]", &va);
    io_in(&io, 4, GRAPH_DT_INT64, "[2]", &vp0);
    cr_assert_eq(infer(&t, &io), SSDC_ERR_INVALID);
    /* out-of-range axis */
    int64_t ax3[] = {0, 3};
    graph_value va3 = val(GRAPH_DT_INT64, "[2]", ax3);
    io_in(&io, 3, GRAPH_DT_INT64, "[2]", &va3);
    io_in(&io, 4, GRAPH_DT_INT64, "[2]", &vp);
    cr_assert_eq(infer(&t, &io), SSDC_ERR_INVALID);
    /* slicing a symbolic dim to its end keeps it */
    tnode_init(&t, "Slice", 3, 1);
    int64_t s0[] = {0, 2}, e0[] = {INT64_MAX, 5};
    graph_value v0s = val(GRAPH_DT_INT64, "[2]", s0), v0e = val(GRAPH_DT_INT64, "[2]", e0);
    io_init(&io);
    io_in(&io, 0, GRAPH_DT_FLOAT, "[batch,4]", NULL);
    io_in(&io, 1, GRAPH_DT_INT64, "[2]", &v0s);
    io_in(&io, 2, GRAPH_DT_INT64, "[2]", &v0e);
    cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
    expect_shape(&io, 0, "[batch,2]");
}

Test(shape_infer, squeeze_unsqueeze)
{
    tnode t;
    tnode_init(&t, "Squeeze", 2, 1);
    int64_t ax[] = {-2};
    graph_value va = val(GRAPH_DT_INT64, "[1]", ax);
    infer_io io;
    io_init(&io);
    io_in(&io, 0, GRAPH_DT_FLOAT, "[batch,1,4]", NULL);
    io_in(&io, 1, GRAPH_DT_INT64, "[1]", &va);
    cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
    expect_shape(&io, 0, "[batch,4]");
    ax[0] = 2; /* length 4 */
    cr_assert_eq(infer(&t, &io), SSDC_ERR_SHAPE);
    ax[0] = 3;
    cr_assert_eq(infer(&t, &io), SSDC_ERR_INVALID);
    /* no axes: every 1 goes */
    tnode_init(&t, "Squeeze", 1, 1);
    io_in(&io, 0, GRAPH_DT_FLOAT, "[1,3,1,2]", NULL);
    cr_assert_eq(infer(&t, &io), SSDC_OK);
    expect_shape(&io, 0, "[3,2]");

    tnode_init(&t, "Unsqueeze", 2, 1);
    int64_t ux[] = {-1, 0};
    graph_value vu = val(GRAPH_DT_INT64, "[2]", ux);
    io_in(&io, 0, GRAPH_DT_FLOAT, "[batch,4]", NULL);
    io_in(&io, 1, GRAPH_DT_INT64, "[2]", &vu);
    cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
    expect_shape(&io, 0, "[1,batch,4,1]");
    ux[0] = 4;
    cr_assert_eq(infer(&t, &io), SSDC_ERR_INVALID);
    ux[0] = 0; /* repeated */
    cr_assert_eq(infer(&t, &io), SSDC_ERR_INVALID);
    /* opset < 13: axes as attribute */
    tnode_init(&t, "Unsqueeze", 1, 1);
    int64_t ua[] = {1};
    attr_ints(&t, "axes", ua, 1);
    cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
    expect_shape(&io, 0, "[batch,1,4]");
}

Test(shape_infer, shape_size_gather)
{
    tnode t;
    tnode_init(&t, "Shape", 1, 1);
    attr_int(&t, "start", -2);
    infer_io io;
    io_init(&io);
    io_in(&io, 0, GRAPH_DT_FLOAT, "[batch,3,4]", NULL);
    cr_assert_eq(infer(&t, &io), SSDC_OK);
    expect_shape(&io, 0, "[2]");
    cr_assert_eq(io.out_dt[0], GRAPH_DT_INT64);

    tnode_init(&t, "Size", 1, 1);
    cr_assert_eq(infer(&t, &io), SSDC_OK);
    expect_shape(&io, 0, "[]");

    tnode_init(&t, "Gather", 2, 1);
    attr_int(&t, "axis", 1);
    io_in(&io, 0, GRAPH_DT_FLOAT, "[batch,5,c]", NULL);
    io_in(&io, 1, GRAPH_DT_INT32, "[2,3]", NULL);
    cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
    expect_shape(&io, 0, "[batch,2,3,c]");
    t.attrs[0].i = -3;
    cr_assert_eq(infer(&t, &io), SSDC_OK);
    expect_shape(&io, 0, "[2,3,5,c]");
    t.attrs[0].i = 3;
    cr_assert_eq(infer(&t, &io), SSDC_ERR_INVALID);
    io_in(&io, 1, GRAPH_DT_FLOAT, "[2,3]", NULL);
    t.attrs[0].i = 0;
    cr_assert_eq(infer(&t, &io), SSDC_ERR_INVALID);
    /* scalar index removes the axis */
    io_in(&io, 1, GRAPH_DT_INT64, "[]", NULL);
    t.attrs[0].i = 1;
    cr_assert_eq(infer(&t, &io), SSDC_OK);
    expect_shape(&io, 0, "[batch,c]");
}

Test(shape_infer, pad_tile_expand)
{
    tnode t;
    tnode_init(&t, "Pad", 2, 1);
    int64_t pads[] = {0, 1, 0, 2};
    graph_value vp = val(GRAPH_DT_INT64, "[4]", pads);
    infer_io io;
    io_init(&io);
    io_in(&io, 0, GRAPH_DT_FLOAT, "[batch,3]", NULL);
    io_in(&io, 1, GRAPH_DT_INT64, "[4]", &vp);
    cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
    expect_shape(&io, 0, "[batch,6]");
    pads[3] = -5;
    cr_assert_eq(infer(&t, &io), SSDC_ERR_SHAPE);
    pads[3] = 2;
    attr_str(&t, "mode", "wrap");
    cr_assert_eq(infer(&t, &io), SSDC_ERR_UNSUPPORTED);

    tnode_init(&t, "Tile", 2, 1);
    int64_t rep[] = {1, 2};
    graph_value vr = val(GRAPH_DT_INT64, "[2]", rep);
    io_in(&io, 1, GRAPH_DT_INT64, "[2]", &vr);
    cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
    expect_shape(&io, 0, "[batch,6]");
    io_in(&io, 1, GRAPH_DT_INT64, "[2]", NULL);
    cr_assert_eq(infer(&t, &io), SSDC_OK);
    expect_shape(&io, 0, "[?,?]");

    tnode_init(&t, "Expand", 2, 1);
    int64_t es[] = {2, 1, 4};
    graph_value ve = val(GRAPH_DT_INT64, "[3]", es);
    io_in(&io, 0, GRAPH_DT_FLOAT, "[3,1]", NULL);
    io_in(&io, 1, GRAPH_DT_INT64, "[3]", &ve);
    cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
    expect_shape(&io, 0, "[2,3,4]");
    io_in(&io, 0, GRAPH_DT_FLOAT, "[batch,1]", NULL);
    int64_t es2[] = {1, 5};
    graph_value ve2 = val(GRAPH_DT_INT64, "[2]", es2);
    io_in(&io, 1, GRAPH_DT_INT64, "[2]", &ve2);
    cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
    expect_shape(&io, 0, "[batch,5]");
    io_in(&io, 0, GRAPH_DT_FLOAT, "[3,2]", NULL);
    cr_assert_eq(infer(&t, &io), SSDC_ERR_SHAPE);
}

Test(shape_infer, constant_constantofshape_range)
{
    tnode t;
    infer_io io;
    io_init(&io);
    int32_t cdata[] = {1, 2, 3, 4, 5, 6};
    graph_value cv = val(GRAPH_DT_INT32, "[2,3]", cdata);
    tnode_init(&t, "Constant", 0, 1);
    attr_tensor(&t, "value", &cv);
    cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
    expect_shape(&io, 0, "[2,3]");
    cr_assert_eq(io.out_dt[0], GRAPH_DT_INT32);
    tnode_init(&t, "Constant", 0, 1);
    int64_t iv[] = {4, 5, 6, 7};
    attr_ints(&t, "value_ints", iv, 4);
    cr_assert_eq(infer(&t, &io), SSDC_OK);
    expect_shape(&io, 0, "[4]");
    cr_assert_eq(io.out_dt[0], GRAPH_DT_INT64);
    tnode_init(&t, "Constant", 0, 1);
    attr_float(&t, "value_float", 2.5f);
    cr_assert_eq(infer(&t, &io), SSDC_OK);
    expect_shape(&io, 0, "[]");
    cr_assert_eq(io.out_dt[0], GRAPH_DT_FLOAT);

    tnode_init(&t, "ConstantOfShape", 1, 1);
    int64_t shape[] = {2, 0, 3};
    graph_value vs = val(GRAPH_DT_INT64, "[3]", shape);
    io_in(&io, 0, GRAPH_DT_INT64, "[3]", &vs);
    cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
    expect_shape(&io, 0, "[2,0,3]");
    cr_assert_eq(io.out_dt[0], GRAPH_DT_FLOAT);
    io_in(&io, 0, GRAPH_DT_INT64, "[3]", NULL);
    cr_assert_eq(infer(&t, &io), SSDC_OK);
    expect_shape(&io, 0, "[?,?,?]");

    tnode_init(&t, "Range", 3, 1);
    float fs = 1, fl = 5, fd = 1.5f;
    graph_value a = val(GRAPH_DT_FLOAT, "[]", &fs), b = val(GRAPH_DT_FLOAT, "[]", &fl),
                c = val(GRAPH_DT_FLOAT, "[]", &fd);
    io_in(&io, 0, GRAPH_DT_FLOAT, "[]", &a);
    io_in(&io, 1, GRAPH_DT_FLOAT, "[]", &b);
    io_in(&io, 2, GRAPH_DT_FLOAT, "[]", &c);
    cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
    expect_shape(&io, 0, "[3]"); /* 1, 2.5, 4 */
    io_in(&io, 2, GRAPH_DT_FLOAT, "[]", NULL);
    cr_assert_eq(infer(&t, &io), SSDC_OK);
    expect_shape(&io, 0, "[?]");
    fd = 0;
    io_in(&io, 2, GRAPH_DT_FLOAT, "[]", &c);
    cr_assert_eq(infer(&t, &io), SSDC_ERR_INVALID);
    int64_t is = 10, il = 4, id = -3;
    graph_value ia = val(GRAPH_DT_INT64, "[]", &is), ib = val(GRAPH_DT_INT64, "[]", &il),
                ic = val(GRAPH_DT_INT64, "[]", &id);
    io_in(&io, 0, GRAPH_DT_INT64, "[]", &ia);
    io_in(&io, 1, GRAPH_DT_INT64, "[]", &ib);
    io_in(&io, 2, GRAPH_DT_INT64, "[]", &ic);
    cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
    expect_shape(&io, 0, "[2]"); /* 10, 7 */
}

Test(shape_infer, reductions)
{
    tnode t;
    infer_io io;
    io_init(&io);
    tnode_init(&t, "ReduceMean", 1, 1);
    int64_t ax[] = {1, -1};
    attr_ints(&t, "axes", ax, 2);
    attr_int(&t, "keepdims", 0);
    io_in(&io, 0, GRAPH_DT_FLOAT, "[batch,3,c,4]", NULL);
    cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
    expect_shape(&io, 0, "[batch,c]");
    t.attrs[1].i = 1;
    cr_assert_eq(infer(&t, &io), SSDC_OK);
    expect_shape(&io, 0, "[batch,1,c,1]");
    ax[1] = 4;
    cr_assert_eq(infer(&t, &io), SSDC_ERR_INVALID);
    ax[1] = -3; /* = 1, repeated */
    cr_assert_eq(infer(&t, &io), SSDC_ERR_INVALID);
    /* default: all axes */
    tnode_init(&t, "ReduceMax", 1, 1);
    cr_assert_eq(infer(&t, &io), SSDC_OK);
    expect_shape(&io, 0, "[1,1,1,1]");

    /* ReduceSum, opset 13: axes as input */
    tnode_init(&t, "ReduceSum", 2, 1);
    attr_int(&t, "keepdims", 0);
    int64_t sx[] = {0};
    graph_value vx = val(GRAPH_DT_INT64, "[1]", sx);
    io_in(&io, 1, GRAPH_DT_INT64, "[1]", &vx);
    cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
    expect_shape(&io, 0, "[3,c,4]");
    io_in(&io, 1, GRAPH_DT_INT64, "[1]", NULL); /* value unknown */
    cr_assert_eq(infer(&t, &io), SSDC_OK);
    expect_shape(&io, 0, "[?,?,?]");
    graph_value ve = val(GRAPH_DT_INT64, "[0]", NULL);
    io_in(&io, 1, GRAPH_DT_INT64, "[0]", &ve);
    cr_assert_eq(infer(&t, &io), SSDC_OK);
    expect_shape(&io, 0, "[]");
    attr_int(&t, "noop_with_empty_axes", 1);
    cr_assert_eq(infer(&t, &io), SSDC_OK);
    expect_shape(&io, 0, "[batch,3,c,4]");
    io_in(&io, 0, GRAPH_DT_BOOL, "[2]", NULL);
    cr_assert_eq(infer(&t, &io), SSDC_ERR_UNSUPPORTED);
}

Test(shape_infer, argmax_topk)
{
    tnode t;
    infer_io io;
    io_init(&io);
    tnode_init(&t, "ArgMax", 1, 1);
    attr_int(&t, "axis", 1);
    attr_int(&t, "keepdims", 0);
    io_in(&io, 0, GRAPH_DT_FLOAT, "[batch,5,c]", NULL);
    cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
    expect_shape(&io, 0, "[batch,c]");
    cr_assert_eq(io.out_dt[0], GRAPH_DT_INT64);
    t.attrs[1].i = 1;
    cr_assert_eq(infer(&t, &io), SSDC_OK);
    expect_shape(&io, 0, "[batch,1,c]");
    t.attrs[0].i = -4;
    cr_assert_eq(infer(&t, &io), SSDC_ERR_INVALID);

    tnode_init(&t, "TopK", 2, 2);
    int64_t k = 3;
    graph_value vk = val(GRAPH_DT_INT64, "[1]", &k);
    io_in(&io, 0, GRAPH_DT_DOUBLE, "[batch,10]", NULL);
    io_in(&io, 1, GRAPH_DT_INT64, "[1]", &vk);
    cr_assert_eq(infer(&t, &io), SSDC_OK, "%s", io.err.msg);
    expect_shape(&io, 0, "[batch,3]");
    expect_shape(&io, 1, "[batch,3]");
    cr_assert_eq(io.out_dt[0], GRAPH_DT_DOUBLE);
    cr_assert_eq(io.out_dt[1], GRAPH_DT_INT64);
    k = 11;
    cr_assert_eq(infer(&t, &io), SSDC_ERR_INVALID);
    io_in(&io, 1, GRAPH_DT_INT64, "[1]", NULL);
    cr_assert_eq(infer(&t, &io), SSDC_OK);
    expect_shape(&io, 0, "[batch,?]");
}

Test(shape_infer, unknown_rank_propagates)
{
    tnode t;
    infer_io io;
    io_init(&io);
    io_in(&io, 0, GRAPH_DT_FLOAT, "*", NULL);
    tnode_init(&t, "Transpose", 1, 1);
    cr_assert_eq(infer(&t, &io), SSDC_OK);
    expect_shape(&io, 0, "[*]");
    tnode_init(&t, "Flatten", 1, 1);
    cr_assert_eq(infer(&t, &io), SSDC_OK);
    expect_shape(&io, 0, "[?,?]");
    tnode_init(&t, "Shape", 1, 1);
    cr_assert_eq(infer(&t, &io), SSDC_OK);
    expect_shape(&io, 0, "[?]");
}

/* ==================== kernels: data movement ==================== */

/* Naive transpose for checking: out[idx] = in[perm-mapped idx]. */
static void naive_transpose(const float *x, float *y, int r, const int64_t *dims,
                            const int64_t *perm)
{
    int64_t xs[GRAPH_MAX_RANK], od[GRAPH_MAX_RANK], n = 1;
    int64_t s = 1;
    for (int d = r - 1; d >= 0; d--) {
        xs[d] = s;
        s *= dims[d];
    }
    for (int d = 0; d < r; d++) {
        od[d] = dims[perm[d]];
        n *= od[d];
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t rem = i, off = 0;
        for (int d = r - 1; d >= 0; d--) {
            off += (rem % od[d]) * xs[perm[d]];
            rem /= od[d];
        }
        y[i] = x[off];
    }
}

Test(shape_kernel, transpose_values)
{
    tnode t;
    run_io r;
    float x[] = {1, 2, 3, 4, 5, 6};
    graph_value in[1] = {val(GRAPH_DT_FLOAT, "[2,3]", x)};
    tnode_init(&t, "Transpose", 1, 1);
    run_ok(&t, in, &r);
    expect_dims(&r.out[0], "[3,2]");
    float want[] = {1, 4, 2, 5, 3, 6};
    expect_f32(&r.out[0], want, 6);
    run_free(&r);

    /* larger shapes hit the tiled and row-copy paths; compare with a naive loop */
    struct {
        const char *shape;
        int r;
        int64_t dims[4], perm[4];
    } cases[] = {
        {"[67,45]", 2, {67, 45}, {1, 0}},
        {"[5,33,17]", 3, {5, 33, 17}, {2, 0, 1}},
        {"[2,3,4,5]", 4, {2, 3, 4, 5}, {0, 2, 3, 1}},
        {"[2,3,4,5]", 4, {2, 3, 4, 5}, {1, 0, 2, 3}},
        {"[3,1,40,9]", 4, {3, 1, 40, 9}, {3, 1, 2, 0}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int64_t n = 1;
        for (int d = 0; d < cases[c].r; d++)
            n *= cases[c].dims[d];
        float *xb = malloc((size_t)n * sizeof *xb), *yb = malloc((size_t)n * sizeof *yb);
        iota_f32(xb, n);
        naive_transpose(xb, yb, cases[c].r, cases[c].dims, cases[c].perm);
        tnode_init(&t, "Transpose", 1, 1);
        attr_ints(&t, "perm", cases[c].perm, (size_t)cases[c].r);
        graph_value vin[1] = {val(GRAPH_DT_FLOAT, cases[c].shape, xb)};
        run_ok(&t, vin, &r);
        expect_f32(&r.out[0], yb, n);
        run_free(&r);
        free(xb);
        free(yb);
    }
}

Test(shape_kernel, transpose_other_dtypes)
{
    tnode t;
    run_io r;
    /* uint8 and double through the same byte-strided engine, 2-D tiled */
    uint8_t xb[40 * 9];
    double xd[40 * 9];
    for (int i = 0; i < 40 * 9; i++) {
        xb[i] = (uint8_t)(i * 7);
        xd[i] = i * 0.5;
    }
    graph_value inb[1] = {val(GRAPH_DT_UINT8, "[40,9]", xb)};
    tnode_init(&t, "Transpose", 1, 1);
    run_ok(&t, inb, &r);
    const uint8_t *yb = r.out[0].data;
    for (int i = 0; i < 9; i++)
        for (int j = 0; j < 40; j++)
            cr_assert_eq(yb[i * 40 + j], xb[j * 9 + i]);
    run_free(&r);
    graph_value ind[1] = {val(GRAPH_DT_DOUBLE, "[40,9]", xd)};
    run_ok(&t, ind, &r);
    const double *yd = r.out[0].data;
    for (int i = 0; i < 9; i++)
        for (int j = 0; j < 40; j++)
            cr_assert_eq(yd[i * 40 + j], xd[j * 9 + i]);
    run_free(&r);
}

Test(shape_kernel, reshape_flatten_squeeze_copy_bytes)
{
    tnode t;
    run_io r;
    int64_t x[] = {1, 2, 3, 4, 5, 6};
    int64_t shape[] = {3, -1};
    graph_value in[2] = {val(GRAPH_DT_INT64, "[2,3]", x), val(GRAPH_DT_INT64, "[2]", shape)};
    tnode_init(&t, "Reshape", 2, 1);
    run_ok(&t, in, &r);
    expect_dims(&r.out[0], "[3,2]");
    expect_i64(&r.out[0], x, 6);
    run_free(&r);

    tnode_init(&t, "Flatten", 1, 1);
    attr_int(&t, "axis", 0);
    run_ok(&t, in, &r);
    expect_dims(&r.out[0], "[1,6]");
    expect_i64(&r.out[0], x, 6);
    run_free(&r);

    int64_t ax[] = {1};
    graph_value uin[2] = {val(GRAPH_DT_INT64, "[2,3]", x), val(GRAPH_DT_INT64, "[1]", ax)};
    tnode_init(&t, "Unsqueeze", 2, 1);
    run_ok(&t, uin, &r);
    expect_dims(&r.out[0], "[2,1,3]");
    expect_i64(&r.out[0], x, 6);
    run_free(&r);

    graph_value sin[2] = {val(GRAPH_DT_INT64, "[2,1,3]", x), val(GRAPH_DT_INT64, "[1]", ax)};
    tnode_init(&t, "Squeeze", 2, 1);
    run_ok(&t, sin, &r);
    expect_dims(&r.out[0], "[2,3]");
    expect_i64(&r.out[0], x, 6);
    run_free(&r);

    tnode_init(&t, "Identity", 1, 1);
    run_ok(&t, in, &r);
    expect_i64(&r.out[0], x, 6);
    run_free(&r);
}

Test(shape_kernel, concat_and_split)
{
    tnode t;
    run_io r;
    int32_t a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8, 9, 10};
    graph_value in[2] = {val(GRAPH_DT_INT32, "[2,2]", a), val(GRAPH_DT_INT32, "[2,3]", b)};
    tnode_init(&t, "Concat", 2, 1);
    attr_int(&t, "axis", -1);
    run_ok(&t, in, &r);
    expect_dims(&r.out[0], "[2,5]");
    int32_t want[] = {1, 2, 5, 6, 7, 3, 4, 8, 9, 10};
    cr_assert_arr_eq(r.out[0].data, want, sizeof want);
    int32_t cat[10];
    memcpy(cat, r.out[0].data, sizeof cat);
    run_free(&r);

    /* split it back with a split input */
    int64_t sp[] = {2, 3};
    graph_value sin[2] = {val(GRAPH_DT_INT32, "[2,5]", cat), val(GRAPH_DT_INT64, "[2]", sp)};
    tnode_init(&t, "Split", 2, 2);
    attr_int(&t, "axis", 1);
    run_ok(&t, sin, &r);
    expect_dims(&r.out[0], "[2,2]");
    expect_dims(&r.out[1], "[2,3]");
    cr_assert_arr_eq(r.out[0].data, a, sizeof a);
    cr_assert_arr_eq(r.out[1].data, b, sizeof b);
    run_free(&r);

    /* equal split along axis 0 when 'split' is absent */
    float x[] = {1, 2, 3, 4, 5, 6};
    graph_value ein[1] = {val(GRAPH_DT_FLOAT, "[3,2]", x)};
    tnode_init(&t, "Split", 1, 3);
    run_ok(&t, ein, &r);
    for (int o = 0; o < 3; o++) {
        expect_dims(&r.out[o], "[1,2]");
        expect_f32(&r.out[o], x + 2 * o, 2);
    }
    run_free(&r);
}

/* Naive slice for checking (all axes given). */
static void naive_slice_2d(const float *x, int64_t d0, int64_t d1, const int64_t *first,
                           const int64_t *step, const int64_t *count, float *y)
{
    (void)d0;
    for (int64_t i = 0; i < count[0]; i++)
        for (int64_t j = 0; j < count[1]; j++)
            y[i * count[1] + j] = x[(first[0] + i * step[0]) * d1 + first[1] + j * step[1]];
}

Test(shape_kernel, slice_steps_and_clamping)
{
    tnode t;
    run_io r;
    float x[5 * 6];
    iota_f32(x, 30);
    struct {
        int64_t starts[2], ends[2], steps[2];
        int64_t first[2], count[2];
    } cases[] = {
        {{1, 0}, {3, 6}, {1, 1}, {1, 0}, {2, 6}},
        {{-1, -1}, {-100, -100}, {-1, -2}, {4, 5}, {5, 3}}, /* negative steps, clamped ends */
        {{0, 1}, {100, 1000}, {2, 3}, {0, 1}, {3, 2}},       /* ends past the dims */
        {{10, 2}, {20, 4}, {1, 1}, {5, 2}, {0, 2}},          /* start past the end: empty */
        {{4, 5}, {-6, 0}, {-3, -5}, {4, 5}, {2, 1}},         /* step larger than the dim */
        {{-7, 3}, {2, -1}, {1, 1}, {0, 3}, {2, 2}},          /* negative start clamped to 0 */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int64_t axes[] = {0, 1};
        graph_value in[5] = {
            val(GRAPH_DT_FLOAT, "[5,6]", x), val(GRAPH_DT_INT64, "[2]", cases[c].starts),
            val(GRAPH_DT_INT64, "[2]", cases[c].ends), val(GRAPH_DT_INT64, "[2]", axes),
            val(GRAPH_DT_INT64, "[2]", cases[c].steps)};
        tnode_init(&t, "Slice", 5, 1);
        run_ok(&t, in, &r);
        cr_assert_eq(r.out[0].dims[0], cases[c].count[0], "case %zu", c);
        cr_assert_eq(r.out[0].dims[1], cases[c].count[1], "case %zu", c);
        float want[30];
        naive_slice_2d(x, 5, 6, cases[c].first, cases[c].steps, cases[c].count, want);
        expect_f32(&r.out[0], want, cases[c].count[0] * cases[c].count[1]);
        run_free(&r);
    }
    /* default axes and steps, int32 starts/ends, int64 data, one axis */
    int64_t xi[] = {10, 11, 12, 13, 14, 15};
    int32_t s32[] = {-4}, e32[] = {-1};
    graph_value in3[3] = {val(GRAPH_DT_INT64, "[6]", xi), val(GRAPH_DT_INT32, "[1]", s32),
                          val(GRAPH_DT_INT32, "[1]", e32)};
    tnode_init(&t, "Slice", 3, 1);
    run_ok(&t, in3, &r);
    int64_t wi[] = {12, 13, 14};
    expect_i64(&r.out[0], wi, 3);
    run_free(&r);
}

Test(shape_kernel, gather)
{
    tnode t;
    run_io r;
    float x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9}; /* [3,3] */
    int32_t idx[] = {0, -1};
    graph_value in[2] = {val(GRAPH_DT_FLOAT, "[3,3]", x), val(GRAPH_DT_INT32, "[1,2]", idx)};
    tnode_init(&t, "Gather", 2, 1);
    attr_int(&t, "axis", 1);
    run_ok(&t, in, &r);
    expect_dims(&r.out[0], "[3,1,2]");
    float want[] = {1, 3, 4, 6, 7, 9};
    expect_f32(&r.out[0], want, 6);
    run_free(&r);

    int64_t idx2[] = {2, 0, 1, 2};
    graph_value in2[2] = {val(GRAPH_DT_FLOAT, "[3,3]", x), val(GRAPH_DT_INT64, "[2,2]", idx2)};
    tnode_init(&t, "Gather", 2, 1);
    run_ok(&t, in2, &r);
    expect_dims(&r.out[0], "[2,2,3]");
    float want2[] = {7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    expect_f32(&r.out[0], want2, 12);
    run_free(&r);

    /* scalar index on a bool tensor */
    uint8_t bx[] = {1, 0, 0, 1, 1, 0};
    int64_t one = 1;
    graph_value in3[2] = {val(GRAPH_DT_BOOL, "[3,2]", bx), val(GRAPH_DT_INT64, "[]", &one)};
    tnode_init(&t, "Gather", 2, 1);
    run_ok(&t, in3, &r);
    expect_dims(&r.out[0], "[2]");
    cr_assert_eq(((uint8_t *)r.out[0].data)[0], 0);
    cr_assert_eq(((uint8_t *)r.out[0].data)[1], 1);
    run_free(&r);

    /* out-of-range index: an error, not a crash (the kernel checks too) */
    int64_t bad[] = {3};
    graph_value in4[2] = {val(GRAPH_DT_FLOAT, "[3,3]", x), val(GRAPH_DT_INT64, "[1]", bad)};
    tnode_init(&t, "Gather", 2, 1);
    cr_assert_eq(run_op(&t, in4, &r), SSDC_ERR_INVALID);
    cr_assert(strstr(r.err.msg, "out of range"), "%s", r.err.msg);
    run_free(&r);
    graph_value y = {0};
    float ybuf[3];
    graph_value_set_shape(&y, GRAPH_DT_FLOAT, 2, (int64_t[]){1, 3});
    y.data = ybuf;
    tnode_init(&t, "Gather", 2, 1);
    rt_kernel_ctx ctx = {.g = &g_graph, .node = &t.node};
    ssdc_error err = {0};
    cr_assert_eq(rt_kernel_get(GRAPH_OP_GATHER)->forward(&ctx, in4, 2, &y, 1, &err),
                 SSDC_ERR_INVALID);
}

Test(shape_kernel, pad_modes)
{
    tnode t;
    run_io r;
    float x[] = {1, 2, 3, 4, 5, 6}; /* [2,3] */
    int64_t pads[] = {1, 0, 0, 2};
    float cval = 1.5f;
    graph_value in[3] = {val(GRAPH_DT_FLOAT, "[2,3]", x), val(GRAPH_DT_INT64, "[4]", pads),
                         val(GRAPH_DT_FLOAT, "[]", &cval)};
    tnode_init(&t, "Pad", 3, 1);
    run_ok(&t, in, &r);
    expect_dims(&r.out[0], "[3,5]");
    float want[] = {1.5f, 1.5f, 1.5f, 1.5f, 1.5f, 1, 2, 3, 1.5f, 1.5f, 4, 5, 6, 1.5f, 1.5f};
    expect_f32(&r.out[0], want, 15);
    run_free(&r);

    /* constant_value omitted: zeros */
    tnode_init(&t, "Pad", 2, 1);
    run_ok(&t, in, &r);
    float want0[] = {0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 4, 5, 6, 0, 0};
    expect_f32(&r.out[0], want0, 15);
    run_free(&r);

    /* reflect and edge, including pads longer than the axis (numpy semantics) */
    float v[] = {1, 2, 3};
    int64_t p1[] = {4, 5};
    graph_value in1[2] = {val(GRAPH_DT_FLOAT, "[3]", v), val(GRAPH_DT_INT64, "[2]", p1)};
    tnode_init(&t, "Pad", 2, 1);
    attr_str(&t, "mode", "reflect");
    run_ok(&t, in1, &r);
    float wr[] = {1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2};
    expect_f32(&r.out[0], wr, 12);
    run_free(&r);
    tnode_init(&t, "Pad", 2, 1);
    attr_str(&t, "mode", "edge");
    run_ok(&t, in1, &r);
    float we[] = {1, 1, 1, 1, 1, 2, 3, 3, 3, 3, 3, 3};
    expect_f32(&r.out[0], we, 12);
    run_free(&r);

    /* 2-D reflect on the outer axis, edge-independent inner copies */
    int64_t p2[] = {1, 0, 1, 1};
    graph_value in2[2] = {val(GRAPH_DT_FLOAT, "[2,3]", x), val(GRAPH_DT_INT64, "[4]", p2)};
    tnode_init(&t, "Pad", 2, 1);
    attr_str(&t, "mode", "reflect");
    run_ok(&t, in2, &r);
    expect_dims(&r.out[0], "[4,4]");
    float w2[] = {4, 5, 6, 5, 1, 2, 3, 2, 4, 5, 6, 5, 1, 2, 3, 2};
    expect_f32(&r.out[0], w2, 16);
    run_free(&r);

    /* negative pads crop */
    int64_t p3[] = {0, -1, -1, 0};
    int64_t xi[] = {1, 2, 3, 4, 5, 6};
    graph_value in3[2] = {val(GRAPH_DT_INT64, "[2,3]", xi), val(GRAPH_DT_INT64, "[4]", p3)};
    tnode_init(&t, "Pad", 2, 1);
    run_ok(&t, in3, &r);
    expect_dims(&r.out[0], "[1,2]");
    int64_t w3[] = {2, 3};
    expect_i64(&r.out[0], w3, 2);
    run_free(&r);
}

Test(shape_kernel, tile_expand)
{
    tnode t;
    run_io r;
    float x[] = {1, 2, 3, 4}; /* [2,2] */
    int64_t rep[] = {2, 3};
    graph_value in[2] = {val(GRAPH_DT_FLOAT, "[2,2]", x), val(GRAPH_DT_INT64, "[2]", rep)};
    tnode_init(&t, "Tile", 2, 1);
    run_ok(&t, in, &r);
    expect_dims(&r.out[0], "[4,6]");
    float want[] = {1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4, 1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4};
    expect_f32(&r.out[0], want, 24);
    run_free(&r);

    int16_t xs[] = {1, 2, 3}; /* [3,1] */
    int64_t shape[] = {2, 1, 4};
    graph_value ein[2] = {val(GRAPH_DT_INT16, "[3,1]", xs), val(GRAPH_DT_INT64, "[3]", shape)};
    tnode_init(&t, "Expand", 2, 1);
    run_ok(&t, ein, &r);
    expect_dims(&r.out[0], "[2,3,4]");
    const int16_t *y = r.out[0].data;
    for (int i = 0; i < 24; i++)
        cr_assert_eq(y[i], xs[(i / 4) % 3], "element %d", i);
    run_free(&r);
}

Test(shape_kernel, constants_shape_size_range)
{
    tnode t;
    run_io r;
    graph_value none[1] = {omitted()};

    float cdata[] = {1.5f, -2, 3};
    graph_value cv = val(GRAPH_DT_FLOAT, "[3]", cdata);
    tnode_init(&t, "Constant", 0, 1);
    attr_tensor(&t, "value", &cv);
    run_ok(&t, none, &r);
    expect_f32(&r.out[0], cdata, 3);
    run_free(&r);
    tnode_init(&t, "Constant", 0, 1);
    attr_floats(&t, "value_floats", cdata, 3);
    run_ok(&t, none, &r);
    expect_f32(&r.out[0], cdata, 3);
    run_free(&r);
    tnode_init(&t, "Constant", 0, 1);
    attr_int(&t, "value_int", -7);
    run_ok(&t, none, &r);
    int64_t m7 = -7;
    expect_i64(&r.out[0], &m7, 1);
    expect_dims(&r.out[0], "[]");
    run_free(&r);

    int64_t shape[] = {2, 3};
    graph_value sin[1] = {val(GRAPH_DT_INT64, "[2]", shape)};
    tnode_init(&t, "ConstantOfShape", 1, 1);
    run_ok(&t, sin, &r);
    float zeros[6] = {0};
    expect_f32(&r.out[0], zeros, 6);
    run_free(&r);
    int32_t seven = 7;
    graph_value sv = val(GRAPH_DT_INT32, "[1]", &seven);
    tnode_init(&t, "ConstantOfShape", 1, 1);
    attr_tensor(&t, "value", &sv);
    run_ok(&t, sin, &r);
    cr_assert_eq(r.out[0].dtype, GRAPH_DT_INT32);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(((int32_t *)r.out[0].data)[i], 7);
    run_free(&r);

    float x[2 * 3 * 4 * 5] = {0};
    graph_value xin[1] = {val(GRAPH_DT_FLOAT, "[2,3,4,5]", x)};
    tnode_init(&t, "Shape", 1, 1);
    attr_int(&t, "start", 1);
    attr_int(&t, "end", -1);
    run_ok(&t, xin, &r);
    int64_t ws[] = {3, 4};
    expect_i64(&r.out[0], ws, 2);
    run_free(&r);
    tnode_init(&t, "Shape", 1, 1);
    attr_int(&t, "start", -10); /* clipped */
    run_ok(&t, xin, &r);
    int64_t wall[] = {2, 3, 4, 5};
    expect_i64(&r.out[0], wall, 4);
    run_free(&r);
    tnode_init(&t, "Size", 1, 1);
    run_ok(&t, xin, &r);
    int64_t n120 = 120;
    expect_i64(&r.out[0], &n120, 1);
    run_free(&r);

    float s = 1, l = 5, d = 1.5f;
    graph_value rin[3] = {val(GRAPH_DT_FLOAT, "[]", &s), val(GRAPH_DT_FLOAT, "[]", &l),
                          val(GRAPH_DT_FLOAT, "[]", &d)};
    tnode_init(&t, "Range", 3, 1);
    run_ok(&t, rin, &r);
    float wr[] = {1, 2.5f, 4};
    expect_f32(&r.out[0], wr, 3);
    run_free(&r);
    int32_t is = 10, il = 4, id = -3;
    graph_value iin[3] = {val(GRAPH_DT_INT32, "[]", &is), val(GRAPH_DT_INT32, "[]", &il),
                          val(GRAPH_DT_INT32, "[]", &id)};
    tnode_init(&t, "Range", 3, 1);
    run_ok(&t, iin, &r);
    cr_assert_eq(r.out[0].numel, 2);
    cr_assert_eq(((int32_t *)r.out[0].data)[0], 10);
    cr_assert_eq(((int32_t *)r.out[0].data)[1], 7);
    run_free(&r);
}

/* ==================== kernels: reductions ==================== */

/* Naive reduction of a [A,B,C] float tensor over the flagged axes. */
static void naive_reduce3(const float *x, const int64_t *dims, const bool *red, int op,
                          float *y)
{
    int64_t od[3];
    for (int d = 0; d < 3; d++)
        od[d] = red[d] ? 1 : dims[d];
    int64_t on = od[0] * od[1] * od[2];
    for (int64_t o = 0; o < on; o++)
        y[o] = op == 2 ? -INFINITY : op == 3 ? INFINITY : 0;
    int64_t cnt = 1;
    for (int d = 0; d < 3; d++)
        if (red[d])
            cnt *= dims[d];
    for (int64_t i = 0; i < dims[0]; i++)
        for (int64_t j = 0; j < dims[1]; j++)
            for (int64_t k = 0; k < dims[2]; k++) {
                int64_t oi = red[0] ? 0 : i, oj = red[1] ? 0 : j, ok = red[2] ? 0 : k;
                int64_t o = (oi * od[1] + oj) * od[2] + ok;
                float v = x[(i * dims[1] + j) * dims[2] + k];
                if (op == 0 || op == 1)
                    y[o] += v;
                else if (op == 2)
                    y[o] = v > y[o] ? v : y[o];
                else
                    y[o] = v < y[o] ? v : y[o];
            }
    if (op == 1)
        for (int64_t o = 0; o < on; o++)
            y[o] /= (float)cnt;
}

Test(reduce_kernel, all_axis_subsets_match_naive)
{
    const char *ops[] = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin"};
    int64_t dims[] = {3, 4, 5};
    float x[60];
    for (int i = 0; i < 60; i++)
        x[i] = (float)((i * 37) % 23) - 11.0f + 0.25f * (float)i;
    for (int op = 0; op < 4; op++) {
        for (int mask = 0; mask < 8; mask++) {
            bool red[3] = {mask & 1, mask & 2, mask & 4};
            int64_t axes[3];
            int na = 0;
            for (int d = 0; d < 3; d++)
                if (red[d])
                    axes[na++] = d - (d == 2 ? 3 : 0); /* also a negative axis */
            if (na == 0)
                red[0] = red[1] = red[2] = true; /* empty axes: reduce everything */
            tnode t;
            run_io r;
            graph_value in[2] = {val(GRAPH_DT_FLOAT, "[3,4,5]", x), omitted()};
            int64_t axes_shape = na;
            if (op == 0) {
                tnode_init(&t, ops[op], 2, 1);
                graph_value_set_shape(&in[1], GRAPH_DT_INT64, 1, &axes_shape);
                in[1].data = axes;
            } else {
                tnode_init(&t, ops[op], 1, 1);
                if (na)
                    attr_ints(&t, "axes", axes, (size_t)na);
            }
            run_ok(&t, in, &r);
            float want[60];
            naive_reduce3(x, dims, red, op, want);
            int64_t on = 1;
            for (int d = 0; d < 3; d++)
                on *= red[d] ? 1 : dims[d];
            cr_assert_eq(r.out[0].rank, 3, "keepdims default 1");
            for (int d = 0; d < 3; d++)
                cr_assert_eq(r.out[0].dims[d], red[d] ? 1 : dims[d]);
            const float *y = r.out[0].data;
            for (int64_t o = 0; o < on; o++)
                cr_assert_float_eq(y[o], want[o], 1e-4, "%s mask %d element %lld: %g vs %g",
                                   ops[op], mask, (long long)o, y[o], want[o]);
            run_free(&r);
        }
    }
}

Test(reduce_kernel, integer_and_double_dtypes_keepdims_noop)
{
    tnode t;
    run_io r;
    int32_t xi[] = {5, -3, 9, 2, 8, -7}; /* [2,3] */
    graph_value in[1] = {val(GRAPH_DT_INT32, "[2,3]", xi)};
    int64_t ax1[] = {1};
    tnode_init(&t, "ReduceMax", 1, 1);
    attr_ints(&t, "axes", ax1, 1);
    attr_int(&t, "keepdims", 0);
    run_ok(&t, in, &r);
    expect_dims(&r.out[0], "[2]");
    cr_assert_eq(((int32_t *)r.out[0].data)[0], 9);
    cr_assert_eq(((int32_t *)r.out[0].data)[1], 8);
    run_free(&r);
    tnode_init(&t, "ReduceMin", 1, 1);
    attr_int(&t, "keepdims", 0);
    run_ok(&t, in, &r);
    expect_dims(&r.out[0], "[]");
    cr_assert_eq(((int32_t *)r.out[0].data)[0], -7);
    run_free(&r);

    int64_t xl[] = {INT64_MAX - 10, 4, 6, 1};
    graph_value inl[1] = {val(GRAPH_DT_INT64, "[2,2]", xl)};
    int64_t ax0[] = {0};
    tnode_init(&t, "ReduceSum", 1, 1); /* old attribute form still read */
    attr_ints(&t, "axes", ax0, 1);
    run_ok(&t, inl, &r);
    expect_dims(&r.out[0], "[1,2]");
    int64_t wl[] = {INT64_MAX - 4, 5};
    expect_i64(&r.out[0], wl, 2);
    run_free(&r);

    double xd[] = {1, 2, 3, 4};
    graph_value ind[1] = {val(GRAPH_DT_DOUBLE, "[4]", xd)};
    tnode_init(&t, "ReduceMean", 1, 1);
    run_ok(&t, ind, &r);
    cr_assert_eq(((double *)r.out[0].data)[0], 2.5);
    run_free(&r);

    /* ReduceSum with an empty axes input and noop_with_empty_axes: identity */
    graph_value ine[2] = {val(GRAPH_DT_DOUBLE, "[4]", xd), val(GRAPH_DT_INT64, "[0]", NULL)};
    tnode_init(&t, "ReduceSum", 2, 1);
    attr_int(&t, "noop_with_empty_axes", 1);
    run_ok(&t, ine, &r);
    expect_dims(&r.out[0], "[4]");
    cr_assert_arr_eq(r.out[0].data, xd, sizeof xd);
    run_free(&r);
    tnode_init(&t, "ReduceSum", 2, 1);
    run_ok(&t, ine, &r);
    expect_dims(&r.out[0], "[1]");
    cr_assert_eq(((double *)r.out[0].data)[0], 10.0);
    run_free(&r);
}

Test(reduce_kernel, argmax_argmin_ties)
{
    tnode t;
    run_io r;
    float x[] = {1, 5, 5, 2, /* row 0: max ties at 1, 2 */
                 7, 0, 7, 0}; /* row 1: max ties at 0, 2; min ties at 1, 3 */
    graph_value in[1] = {val(GRAPH_DT_FLOAT, "[2,4]", x)};
    tnode_init(&t, "ArgMax", 1, 1);
    attr_int(&t, "axis", -1);
    run_ok(&t, in, &r);
    expect_dims(&r.out[0], "[2,1]");
    int64_t w1[] = {1, 0};
    expect_i64(&r.out[0], w1, 2);
    run_free(&r);
    attr_int(&t, "select_last_index", 1);
    run_ok(&t, in, &r);
    int64_t w2[] = {2, 2};
    expect_i64(&r.out[0], w2, 2);
    run_free(&r);
    tnode_init(&t, "ArgMin", 1, 1);
    attr_int(&t, "axis", 1);
    attr_int(&t, "keepdims", 0);
    attr_int(&t, "select_last_index", 1);
    run_ok(&t, in, &r);
    expect_dims(&r.out[0], "[2]");
    int64_t w3[] = {0, 3};
    expect_i64(&r.out[0], w3, 2);
    run_free(&r);

    /* axis 0 (strided path) on int64 */
    int64_t xi[] = {3, 9, 4, 9, 1, 4}; /* [2,3] */
    graph_value ini[1] = {val(GRAPH_DT_INT64, "[2,3]", xi)};
    tnode_init(&t, "ArgMax", 1, 1);
    attr_int(&t, "keepdims", 0);
    run_ok(&t, ini, &r);
    int64_t w4[] = {1, 0, 0};
    expect_i64(&r.out[0], w4, 3);
    run_free(&r);
    attr_int(&t, "select_last_index", 1);
    run_ok(&t, ini, &r);
    int64_t w5[] = {1, 0, 1};
    expect_i64(&r.out[0], w5, 3);
    run_free(&r);
    tnode_init(&t, "ArgMin", 1, 1);
    run_ok(&t, ini, &r);
    expect_dims(&r.out[0], "[1,3]");
    int64_t w6[] = {0, 1, 0};
    expect_i64(&r.out[0], w6, 3);
    run_free(&r);
}

Test(reduce_kernel, topk)
{
    tnode t;
    run_io r;
    float x[] = {3, 1, 4, 1, 5, 9, 2, 6, /* row 0 */
                 5, 5, 5, 0, 5, 1, 1, 2}; /* row 1: ties */
    int64_t k = 3;
    graph_value in[2] = {val(GRAPH_DT_FLOAT, "[2,8]", x), val(GRAPH_DT_INT64, "[1]", &k)};
    tnode_init(&t, "TopK", 2, 2);
    run_ok(&t, in, &r);
    expect_dims(&r.out[0], "[2,3]");
    expect_dims(&r.out[1], "[2,3]");
    float wv[] = {9, 6, 5, 5, 5, 5};
    int64_t wi[] = {5, 7, 4, 0, 1, 2}; /* ties: lower index first */
    expect_f32(&r.out[0], wv, 6);
    expect_i64(&r.out[1], wi, 6);
    run_free(&r);

    tnode_init(&t, "TopK", 2, 2);
    attr_int(&t, "largest", 0);
    run_ok(&t, in, &r);
    float sv[] = {1, 1, 2, 0, 1, 1};
    int64_t si[] = {1, 3, 6, 3, 5, 6};
    expect_f32(&r.out[0], sv, 6);
    expect_i64(&r.out[1], si, 6);
    run_free(&r);

    /* axis 0 on int64 (strided slices), K = full length */
    int64_t xi[] = {1, 8, 7, 2, 5, 5}; /* [3,2] */
    int64_t k3 = 3;
    graph_value ini[2] = {val(GRAPH_DT_INT64, "[3,2]", xi), val(GRAPH_DT_INT64, "[1]", &k3)};
    tnode_init(&t, "TopK", 2, 2);
    attr_int(&t, "axis", 0);
    run_ok(&t, ini, &r);
    expect_dims(&r.out[0], "[3,2]");
    int64_t vv[] = {7, 8, 5, 5, 1, 2}, ii[] = {1, 0, 2, 2, 0, 1};
    expect_i64(&r.out[0], vv, 6);
    expect_i64(&r.out[1], ii, 6);
    run_free(&r);

    /* K = 0 gives empty outputs; K too large is an error */
    int64_t k0 = 0;
    graph_value in0[2] = {val(GRAPH_DT_FLOAT, "[2,8]", x), val(GRAPH_DT_INT64, "[1]", &k0)};
    tnode_init(&t, "TopK", 2, 2);
    run_ok(&t, in0, &r);
    expect_dims(&r.out[0], "[2,0]");
    run_free(&r);
    int64_t k9 = 9;
    graph_value in9[2] = {val(GRAPH_DT_FLOAT, "[2,8]", x), val(GRAPH_DT_INT64, "[1]", &k9)};
    tnode_init(&t, "TopK", 2, 2);
    cr_assert_eq(run_op(&t, in9, &r), SSDC_ERR_INVALID);
    run_free(&r);
}

Test(reduce_kernel, topk_large_matches_sort)
{
    /* 1000 values with many duplicates: top 100, compared with a selection sort */
    enum { N = 1000, K = 100 };
    static float x[N];
    for (int i = 0; i < N; i++)
        x[i] = (float)((i * 7919) % 97);
    int64_t k = K;
    graph_value in[2] = {val(GRAPH_DT_FLOAT, "[1000]", x), val(GRAPH_DT_INT64, "[1]", &k)};
    tnode t;
    run_io r;
    tnode_init(&t, "TopK", 2, 2);
    run_ok(&t, in, &r);
    static bool used[N];
    memset(used, 0, sizeof used);
    const float *v = r.out[0].data;
    const int64_t *ix = r.out[1].data;
    for (int j = 0; j < K; j++) {
        int best = -1;
        for (int i = 0; i < N; i++)
            if (!used[i] && (best < 0 || x[i] > x[best]))
                best = i;
        used[best] = true;
        cr_assert_eq(ix[j], best, "rank %d: index %lld, expected %d", j, (long long)ix[j], best);
        cr_assert_eq(v[j], x[best]);
    }
    run_free(&r);
}

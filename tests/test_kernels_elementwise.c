/* Elementwise ops: shape inference (broadcasting, symbolic dims, dtype
 * rules) through the schemas, forward kernels on hand-built values
 * (broadcasting against a naive reference, dtypes, Clip, Where, Cast, Pow,
 * integer Div by zero), Dropout (inference identity, training masks from the
 * counter-based RNG) and the Philox4x32-10 known-answer vectors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "graph/ops.h"
#include "runtime/kernel.h"
#include "runtime/rng.h"

static ssdc_error err;

/* ---- helpers ---- */

/* Shape from dims; a dim of -1 gets the next name from syms (may be NULL). */
static graph_shape shape_of(int rank, const int64_t *dims, const char *const *syms)
{
    graph_shape s;
    graph_shape_init(&s, rank, dims);
    int k = 0;
    for (int i = 0; i < rank; i++)
        if (dims[i] < 0 && syms && syms[k])
            snprintf(s.sym[i], GRAPH_SYM_MAX, "%s", syms[k++]);
    return s;
}

/* A graph with one node op(in0, in1, ...) -> (out0, ...); dts[i] ==
 * GRAPH_DT_UNDEFINED with shapes[i].rank == -2 marks an omitted input. */
static graph *one_node(const char *op, int n_in, const graph_dtype *dts, const graph_shape *shapes,
                       int n_out)
{
    graph *g = graph_new();
    cr_assert_not_null(g);
    int in[8], out[4];
    for (int i = 0; i < n_in; i++) {
        if (shapes[i].rank == -2) {
            in[i] = -1;
            continue;
        }
        char name[16];
        snprintf(name, sizeof name, "in%d", i);
        cr_assert_eq(graph_add_tensor(g, name, dts[i], &shapes[i], GRAPH_TENSOR_INPUT, &in[i], &err),
                     SSDC_OK, "%s", err.msg);
    }
    for (int o = 0; o < n_out; o++) {
        char name[16];
        snprintf(name, sizeof name, "out%d", o);
        cr_assert_eq(graph_add_tensor(g, name, GRAPH_DT_UNDEFINED, NULL, GRAPH_TENSOR_INTERMEDIATE,
                                      &out[o], &err),
                     SSDC_OK, "%s", err.msg);
    }
    int node;
    cr_assert_eq(graph_add_node(g, "n0", op, "", n_in, in, n_out, out, &node, &err), SSDC_OK, "%s",
                 err.msg);
    cr_assert_geq(g->nodes[node].op, 0, "op %s has no id", op);
    return g;
}

static ssdc_status infer(graph *g, graph_dtype *odt, graph_shape *osh)
{
    const graph_node *n = &g->nodes[0];
    graph_dtype idt[8];
    graph_shape ish[8];
    const graph_value *ival[8];
    for (int i = 0; i < n->n_inputs; i++) {
        ival[i] = NULL;
        if (n->inputs[i] < 0) {
            idt[i] = GRAPH_DT_UNDEFINED;
            graph_shape_unknown(&ish[i]);
        } else {
            idt[i] = g->tensors[n->inputs[i]].dtype;
            ish[i] = g->tensors[n->inputs[i]].shape;
        }
    }
    return graph_infer_node(g, n, idt, ish, ival, odt, osh, &err);
}

/* Infers a binary op on two shapes and returns the output shape. */
static ssdc_status infer2(const char *op, graph_dtype dt, graph_shape a, graph_shape b,
                          graph_dtype *odt, graph_shape *osh)
{
    graph_dtype dts[2] = {dt, dt};
    graph_shape shapes[2] = {a, b};
    graph *g = one_node(op, 2, dts, shapes, 1);
    ssdc_status st = infer(g, odt, osh);
    graph_free(g);
    return st;
}

static void assert_dims(const graph_shape *s, int rank, const int64_t *dims)
{
    char buf[128];
    graph_shape_format(s, buf, sizeof buf);
    cr_assert_eq(s->rank, rank, "rank of %s", buf);
    for (int i = 0; i < rank; i++)
        cr_assert_eq(s->dims[i], dims[i], "dim %d of %s", i, buf);
}

static graph_value value(graph_dtype dt, int rank, const int64_t *dims, void *data)
{
    graph_value v;
    memset(&v, 0, sizeof v);
    graph_value_set_shape(&v, dt, rank, dims);
    v.data = data;
    return v;
}

static const graph_value omitted = {GRAPH_DT_UNDEFINED, 0, {0}, 0, NULL};

static graph_node kernel_node;
static rt_kernel_ctx kernel_ctx;

static rt_kernel_ctx *ctx_for(const char *op_type, graph_attr *attrs, int n_attrs)
{
    memset(&kernel_node, 0, sizeof kernel_node);
    kernel_node.name = "test_node";
    kernel_node.op_type = (char *)op_type;
    kernel_node.domain = "";
    kernel_node.op = graph_op_lookup(op_type);
    kernel_node.attrs = attrs;
    kernel_node.n_attrs = n_attrs;
    memset(&kernel_ctx, 0, sizeof kernel_ctx);
    kernel_ctx.node = &kernel_node;
    kernel_ctx.node_index = 7;
    return &kernel_ctx;
}

static ssdc_status run(const rt_kernel *k, const char *op_type, graph_value *in, int n_in,
                       graph_value *out, int n_out)
{
    cr_assert_not_null(k->forward);
    return k->forward(ctx_for(op_type, NULL, 0), in, n_in, out, n_out, &err);
}

static void assert_floats(const float *got, const float *want, int64_t n, float tol)
{
    for (int64_t i = 0; i < n; i++)
        cr_assert(fabsf(got[i] - want[i]) <= tol * (1 + fabsf(want[i])),
                  "element %lld: %.9g, expected %.9g", (long long)i, got[i], want[i]);
}

/* Row-major offset into an operand of shape (rank, dims) for output index
 * (orank, oidx), numpy-broadcast: the naive reference. */
static int64_t bcast_offset(int rank, const int64_t *dims, int orank, const int64_t *oidx)
{
    int64_t off = 0;
    for (int i = 0; i < rank; i++) {
        int64_t k = oidx[orank - rank + i];
        off = off * dims[i] + (dims[i] == 1 ? 0 : k);
    }
    return off;
}

/* ---- Philox4x32-10 ---- */

Test(rng, philox_known_answers)
{
    /* Random123 tests/kat_vectors, "philox4x32 10" lines: ctr[4] key[2] -> out[4]. */
    static const uint32_t kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d,
         0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09,
         0x94fdcceb, 0x5001e420, 0x24126ea1},
    };
    for (int t = 0; t < 3; t++) {
        uint32_t out[4];
        rng_philox4x32(&kat[t][0], &kat[t][4], out);
        for (int i = 0; i < 4; i++)
            cr_assert_eq(out[i], kat[t][6 + i], "vector %d word %d: %08x, expected %08x", t, i,
                         out[i], kat[t][6 + i]);
    }
}

/* the 8-lane keep fill equals the one-element definition at every offset */
Test(rng, keep16_fill_matches_definition)
{
    enum { N = 1000 };
    uint8_t keep[N];
    for (uint64_t first = 0; first < 24; first += 2) {
        for (int64_t n = 1; n <= N; n += 97) {
            rng_fill_keep16(11, 5, first, rng_dropout_threshold(0.3), keep, n);
            for (int64_t i = 0; i < n; i++)
                cr_assert_eq(keep[i], rng_keep16(11, 5, first + (uint64_t)i,
                                                 rng_dropout_threshold(0.3)),
                             "first %llu element %lld", (unsigned long long)first, (long long)i);
        }
    }
    cr_assert_eq(rng_dropout_threshold(0.0), 0u);
    cr_assert_eq(rng_dropout_threshold(1.0), 65536u);
    cr_assert_eq(rng_dropout_threshold(0.5), 32768u);
}

Test(rng, counter_layout)
{
    /* number i of (seed, stream) is word i % 4 of philox((i/4, stream), seed) */
    uint64_t seed = 0x0123456789abcdefull, stream = 0xfedcba9876543210ull;
    uint32_t ctr[4] = {5, 0, (uint32_t)stream, (uint32_t)(stream >> 32)};
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t out[4];
    rng_philox4x32(ctr, key, out);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(rng_u32(seed, stream, 20 + (uint64_t)i), out[i]);
}

Test(rng, blocks_do_not_depend_on_chunking)
{
    enum { N = 1003 };
    static float whole[N], parts[N];
    static uint32_t bits[N];
    rng_fill_uniform(42, 9, 17, whole, N);
    rng_fill_u32(42, 9, 17, bits, N);
    /* odd chunk sizes that start at every lane of a Philox block */
    int64_t pos = 0, chunk = 1;
    while (pos < N) {
        int64_t m = pos + chunk > N ? N - pos : chunk;
        rng_fill_uniform(42, 9, 17 + (uint64_t)pos, parts + pos, m);
        pos += m;
        chunk = chunk % 7 + 1;
    }
    double sum = 0;
    for (int i = 0; i < N; i++) {
        float one = rng_uniform(42, 9, 17 + (uint64_t)i);
        cr_assert_eq(whole[i], one, "element %d", i);
        cr_assert_eq(parts[i], one, "element %d", i);
        cr_assert_eq(bits[i], rng_u32(42, 9, 17 + (uint64_t)i));
        cr_assert(one >= 0.0f && one < 1.0f);
        sum += one;
    }
    cr_assert(fabs(sum / N - 0.5) < 0.05, "mean %g", sum / N);
    /* different seeds and streams give different numbers */
    cr_assert_neq(rng_u32(42, 9, 0), rng_u32(43, 9, 0));
    cr_assert_neq(rng_u32(42, 9, 0), rng_u32(42, 10, 0));
}

/* ---- shape inference ---- */

Test(infer, broadcast_trailing_axis)
{
    int64_t a[3] = {2, 3, 4}, b[1] = {4};
    graph_dtype odt;
    graph_shape osh;
    cr_assert_eq(infer2("Add", GRAPH_DT_FLOAT, shape_of(3, a, NULL), shape_of(1, b, NULL), &odt,
                        &osh),
                 SSDC_OK, "%s", err.msg);
    cr_assert_eq(odt, GRAPH_DT_FLOAT);
    assert_dims(&osh, 3, a);
    /* operand order does not matter */
    cr_assert_eq(infer2("Mul", GRAPH_DT_FLOAT, shape_of(1, b, NULL), shape_of(3, a, NULL), &odt,
                        &osh),
                 SSDC_OK, "%s", err.msg);
    assert_dims(&osh, 3, a);
}

Test(infer, broadcast_both_ways)
{
    int64_t a[3] = {2, 1, 4}, b[2] = {3, 1}, want[3] = {2, 3, 4};
    graph_dtype odt;
    graph_shape osh;
    cr_assert_eq(infer2("Sub", GRAPH_DT_INT64, shape_of(3, a, NULL), shape_of(2, b, NULL), &odt,
                        &osh),
                 SSDC_OK, "%s", err.msg);
    cr_assert_eq(odt, GRAPH_DT_INT64);
    assert_dims(&osh, 3, want);
}

Test(infer, broadcast_scalars)
{
    int64_t a[2] = {5, 6};
    graph_dtype odt;
    graph_shape osh;
    cr_assert_eq(infer2("Div", GRAPH_DT_DOUBLE, shape_of(0, NULL, NULL), shape_of(2, a, NULL), &odt,
                        &osh),
                 SSDC_OK, "%s", err.msg);
    assert_dims(&osh, 2, a);
    cr_assert_eq(infer2("Pow", GRAPH_DT_FLOAT, shape_of(0, NULL, NULL), shape_of(0, NULL, NULL),
                        &odt, &osh),
                 SSDC_OK, "%s", err.msg);
    cr_assert_eq(osh.rank, 0);
}

Test(infer, symbolic_dims)
{
    static const char *const batch[] = {"batch", NULL};
    static const char *const time[] = {"time", NULL};
    int64_t a[3] = {-1, 1, 4}, b[2] = {3, 1}, want[3] = {-1, 3, 4};
    graph_dtype odt;
    graph_shape osh;
    cr_assert_eq(infer2("Add", GRAPH_DT_FLOAT, shape_of(3, a, batch), shape_of(2, b, NULL), &odt,
                        &osh),
                 SSDC_OK, "%s", err.msg);
    assert_dims(&osh, 3, want);
    cr_assert_str_eq(osh.sym[0], "batch");
    /* a symbolic dim broadcast against 1 keeps its symbol, from either side */
    int64_t c[2] = {1, 8}, d[2] = {-1, 1}, want2[2] = {-1, 8};
    cr_assert_eq(infer2("Less", GRAPH_DT_FLOAT, shape_of(2, c, NULL), shape_of(2, d, time), &odt,
                        &osh),
                 SSDC_OK, "%s", err.msg);
    cr_assert_eq(odt, GRAPH_DT_BOOL);
    assert_dims(&osh, 2, want2);
    cr_assert_str_eq(osh.sym[0], "time");
    /* unary ops carry symbols through */
    graph_dtype dt = GRAPH_DT_FLOAT;
    graph_shape s = shape_of(3, a, batch);
    graph *g = one_node("Sigmoid", 1, &dt, &s, 1);
    cr_assert_eq(infer(g, &odt, &osh), SSDC_OK, "%s", err.msg);
    cr_assert_eq(osh.dims[0], -1);
    cr_assert_str_eq(osh.sym[0], "batch");
    graph_free(g);
}

Test(infer, shape_mismatch_fails)
{
    int64_t a[2] = {2, 3}, b[1] = {4};
    graph_dtype odt;
    graph_shape osh;
    cr_assert_eq(infer2("Add", GRAPH_DT_FLOAT, shape_of(2, a, NULL), shape_of(1, b, NULL), &odt,
                        &osh),
                 SSDC_ERR_SHAPE);
    cr_assert(strstr(err.msg, "n0"), "message names the node: %s", err.msg);
}

Test(infer, dtype_rules)
{
    int64_t a[1] = {3};
    graph_dtype odt;
    graph_shape osh;
    /* Add needs one dtype */
    graph_dtype dts[2] = {GRAPH_DT_FLOAT, GRAPH_DT_INT32};
    graph_shape shapes[2] = {shape_of(1, a, NULL), shape_of(1, a, NULL)};
    graph *g = one_node("Add", 2, dts, shapes, 1);
    cr_assert_neq(infer(g, &odt, &osh), SSDC_OK);
    graph_free(g);
    /* Pow: the exponent may differ, the output has the base's dtype */
    graph_dtype pdts[2] = {GRAPH_DT_INT32, GRAPH_DT_FLOAT};
    g = one_node("Pow", 2, pdts, shapes, 1);
    cr_assert_eq(infer(g, &odt, &osh), SSDC_OK, "%s", err.msg);
    cr_assert_eq(odt, GRAPH_DT_INT32);
    graph_free(g);
    /* comparisons give bool, logic needs bool */
    cr_assert_eq(infer2("GreaterOrEqual", GRAPH_DT_INT64, shapes[0], shapes[1], &odt, &osh), 0);
    cr_assert_eq(odt, GRAPH_DT_BOOL);
    cr_assert_eq(infer2("Equal", GRAPH_DT_BOOL, shapes[0], shapes[1], &odt, &osh), 0);
    cr_assert_eq(odt, GRAPH_DT_BOOL);
    cr_assert_eq(infer2("And", GRAPH_DT_FLOAT, shapes[0], shapes[1], &odt, &osh),
                 SSDC_ERR_UNSUPPORTED);
    cr_assert_eq(infer2("Xor", GRAPH_DT_BOOL, shapes[0], shapes[1], &odt, &osh), 0);
    cr_assert_eq(odt, GRAPH_DT_BOOL);
    /* math on integers is refused */
    graph_dtype it = GRAPH_DT_INT32;
    g = one_node("Exp", 1, &it, shapes, 1);
    cr_assert_eq(infer(g, &odt, &osh), SSDC_ERR_UNSUPPORTED);
    graph_free(g);
}

Test(infer, variadic_and_where)
{
    int64_t a[1] = {4}, b[2] = {3, 1}, want[2] = {3, 4};
    graph_dtype dts[3] = {GRAPH_DT_FLOAT, GRAPH_DT_FLOAT, GRAPH_DT_FLOAT};
    graph_shape shapes[3] = {shape_of(1, a, NULL), shape_of(2, b, NULL), shape_of(0, NULL, NULL)};
    graph_dtype odt;
    graph_shape osh;
    graph *g = one_node("Sum", 3, dts, shapes, 1);
    cr_assert_eq(infer(g, &odt, &osh), SSDC_OK, "%s", err.msg);
    assert_dims(&osh, 2, want);
    graph_free(g);

    graph_dtype wdts[3] = {GRAPH_DT_BOOL, GRAPH_DT_INT64, GRAPH_DT_INT64};
    g = one_node("Where", 3, wdts, shapes, 1);
    cr_assert_eq(infer(g, &odt, &osh), SSDC_OK, "%s", err.msg);
    cr_assert_eq(odt, GRAPH_DT_INT64);
    assert_dims(&osh, 2, want);
    graph_free(g);

    graph_dtype bad[3] = {GRAPH_DT_FLOAT, GRAPH_DT_INT64, GRAPH_DT_INT64};
    g = one_node("Where", 3, bad, shapes, 1);
    cr_assert_neq(infer(g, &odt, &osh), SSDC_OK);
    graph_free(g);
}

Test(infer, cast_clip_dropout)
{
    int64_t a[2] = {2, 5};
    graph_dtype odt[2];
    graph_shape osh[2];
    graph_dtype dt = GRAPH_DT_FLOAT;
    graph_shape s = shape_of(2, a, NULL);

    graph *g = one_node("Cast", 1, &dt, &s, 1);
    cr_assert_eq(graph_node_set_int(g, 0, "to", GRAPH_DT_INT64, &err), SSDC_OK);
    cr_assert_eq(infer(g, odt, osh), SSDC_OK, "%s", err.msg);
    cr_assert_eq(odt[0], GRAPH_DT_INT64);
    assert_dims(&osh[0], 2, a);
    graph_free(g);

    g = one_node("Cast", 1, &dt, &s, 1);
    cr_assert_eq(graph_node_set_int(g, 0, "to", GRAPH_DT_STRING, &err), SSDC_OK);
    cr_assert_eq(infer(g, odt, osh), SSDC_ERR_UNSUPPORTED);
    graph_free(g);

    /* Clip with min omitted and max given */
    graph_dtype cdts[3] = {GRAPH_DT_FLOAT, GRAPH_DT_UNDEFINED, GRAPH_DT_FLOAT};
    graph_shape cshapes[3] = {s, s, shape_of(0, NULL, NULL)};
    cshapes[1].rank = -2;
    g = one_node("Clip", 3, cdts, cshapes, 1);
    cr_assert_eq(infer(g, odt, osh), SSDC_OK, "%s", err.msg);
    assert_dims(&osh[0], 2, a);
    graph_free(g);
    /* a non-scalar bound is refused */
    cshapes[2] = s;
    g = one_node("Clip", 3, cdts, cshapes, 1);
    cr_assert_eq(infer(g, odt, osh), SSDC_ERR_SHAPE);
    graph_free(g);

    graph_dtype ddts[3] = {GRAPH_DT_FLOAT, GRAPH_DT_FLOAT, GRAPH_DT_BOOL};
    graph_shape dshapes[3] = {s, shape_of(0, NULL, NULL), shape_of(0, NULL, NULL)};
    g = one_node("Dropout", 3, ddts, dshapes, 2);
    cr_assert_eq(infer(g, odt, osh), SSDC_OK, "%s", err.msg);
    cr_assert_eq(odt[0], GRAPH_DT_FLOAT);
    cr_assert_eq(odt[1], GRAPH_DT_BOOL);
    assert_dims(&osh[0], 2, a);
    assert_dims(&osh[1], 2, a);
    graph_free(g);
}

/* ---- binary kernels and broadcasting ---- */

Test(kernels, add_broadcast_trailing_axis)
{
    int64_t da[3] = {2, 3, 4}, db[1] = {4};
    float a[24], b[4], o[24], want[24];
    for (int i = 0; i < 24; i++)
        a[i] = (float)i;
    for (int i = 0; i < 4; i++)
        b[i] = 100.0f * (float)(i + 1);
    for (int i = 0; i < 24; i++)
        want[i] = a[i] + b[i % 4];
    graph_value in[2] = {value(GRAPH_DT_FLOAT, 3, da, a), value(GRAPH_DT_FLOAT, 1, db, b)};
    graph_value out = value(GRAPH_DT_FLOAT, 3, da, o);
    cr_assert_eq(run(&rt_kernel_add, "Add", in, 2, &out, 1), SSDC_OK, "%s", err.msg);
    assert_floats(o, want, 24, 0);
}

Test(kernels, sub_broadcast_both_ways)
{
    int64_t da[3] = {2, 1, 4}, db[2] = {3, 1}, dout[3] = {2, 3, 4};
    float a[8], b[3], o[24];
    for (int i = 0; i < 8; i++)
        a[i] = (float)(i * i);
    for (int i = 0; i < 3; i++)
        b[i] = (float)(10 * i + 1);
    graph_value in[2] = {value(GRAPH_DT_FLOAT, 3, da, a), value(GRAPH_DT_FLOAT, 2, db, b)};
    graph_value out = value(GRAPH_DT_FLOAT, 3, dout, o);
    cr_assert_eq(run(&rt_kernel_sub, "Sub", in, 2, &out, 1), SSDC_OK, "%s", err.msg);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++)
                cr_assert_eq(o[(i * 3 + j) * 4 + k], a[i * 4 + k] - b[j], "[%d,%d,%d]", i, j, k);
}

Test(kernels, scalar_operands)
{
    int64_t d[2] = {2, 3};
    float a[6] = {1, 2, 3, 4, 5, 6}, s = 2, o[6];
    graph_value in[2] = {value(GRAPH_DT_FLOAT, 0, NULL, &s), value(GRAPH_DT_FLOAT, 2, d, a)};
    graph_value out = value(GRAPH_DT_FLOAT, 2, d, o);
    cr_assert_eq(run(&rt_kernel_div, "Div", in, 2, &out, 1), SSDC_OK, "%s", err.msg);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(o[i], 2.0f / a[i]);
    in[0] = value(GRAPH_DT_FLOAT, 2, d, a);
    in[1] = value(GRAPH_DT_FLOAT, 0, NULL, &s);
    cr_assert_eq(run(&rt_kernel_mul, "Mul", in, 2, &out, 1), SSDC_OK, "%s", err.msg);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(o[i], a[i] * 2.0f);
    /* scalar op scalar */
    float t = 5, r = 0;
    in[0] = value(GRAPH_DT_FLOAT, 0, NULL, &s);
    in[1] = value(GRAPH_DT_FLOAT, 0, NULL, &t);
    out = value(GRAPH_DT_FLOAT, 0, NULL, &r);
    cr_assert_eq(run(&rt_kernel_sub, "Sub", in, 2, &out, 1), SSDC_OK, "%s", err.msg);
    cr_assert_eq(r, -3.0f);
}

Test(kernels, broadcast_matches_naive_reference)
{
    /* pairs of shapes (rank, dims) covering merges, broadcast on inner and
     * outer axes, size-1 output axes and rank differences */
    static const struct {
        int ra;
        int64_t a[5];
        int rb;
        int64_t b[5];
    } cases[] = {
        {4, {2, 3, 1, 5}, 3, {3, 4, 1}},   {5, {2, 1, 3, 1, 4}, 2, {3, 1}},
        {3, {1, 1, 7}, 3, {6, 1, 1}},      {4, {2, 3, 4, 5}, 4, {2, 3, 4, 5}},
        {4, {2, 1, 1, 5}, 4, {1, 3, 4, 1}}, {3, {1, 3, 1}, 1, {1}},
        {2, {1, 9}, 2, {4, 1}},            {4, {3, 1, 2, 1}, 3, {4, 1, 5}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int ra = cases[c].ra, rb = cases[c].rb, ro = ra > rb ? ra : rb;
        int64_t dout[5], na = 1, nb = 1, no = 1;
        for (int i = 0; i < ro; i++) {
            int ia = i - (ro - ra), ib = i - (ro - rb);
            int64_t x = ia >= 0 ? cases[c].a[ia] : 1, y = ib >= 0 ? cases[c].b[ib] : 1;
            dout[i] = x == 1 ? y : x;
            no *= dout[i];
        }
        for (int i = 0; i < ra; i++)
            na *= cases[c].a[i];
        for (int i = 0; i < rb; i++)
            nb *= cases[c].b[i];
        int32_t *a = malloc((size_t)na * sizeof *a), *b = malloc((size_t)nb * sizeof *b);
        int32_t *o = malloc((size_t)no * sizeof *o);
        for (int64_t i = 0; i < na; i++)
            a[i] = (int32_t)(i * 7 + 1);
        for (int64_t i = 0; i < nb; i++)
            b[i] = (int32_t)(i * 1000 + 3);
        graph_value in[2] = {value(GRAPH_DT_INT32, ra, cases[c].a, a),
                             value(GRAPH_DT_INT32, rb, cases[c].b, b)};
        graph_value out = value(GRAPH_DT_INT32, ro, dout, o);
        cr_assert_eq(run(&rt_kernel_sub, "Sub", in, 2, &out, 1), SSDC_OK, "%s", err.msg);
        int64_t idx[5] = {0};
        for (int64_t flat = 0; flat < no; flat++) {
            int64_t want = (int64_t)a[bcast_offset(ra, cases[c].a, ro, idx)] -
                           b[bcast_offset(rb, cases[c].b, ro, idx)];
            cr_assert_eq(o[flat], want, "case %zu element %lld: %d, expected %lld", c,
                         (long long)flat, o[flat], (long long)want);
            for (int d = ro - 1; d >= 0; d--) {
                if (++idx[d] < dout[d])
                    break;
                idx[d] = 0;
            }
        }
        free(a), free(b), free(o);
    }
}

Test(kernels, broadcast_shape_mismatch_fails)
{
    int64_t da[2] = {2, 3}, db[1] = {4};
    float a[6] = {0}, b[4] = {0}, o[6];
    graph_value in[2] = {value(GRAPH_DT_FLOAT, 2, da, a), value(GRAPH_DT_FLOAT, 1, db, b)};
    graph_value out = value(GRAPH_DT_FLOAT, 2, da, o);
    cr_assert_eq(run(&rt_kernel_add, "Add", in, 2, &out, 1), SSDC_ERR_SHAPE);
    cr_assert(strstr(err.msg, "test_node"), "%s", err.msg);
}

Test(kernels, integer_and_double_arithmetic)
{
    int64_t d[1] = {4};
    int64_t a64[4] = {-7, 7, INT64_MIN, 9}, b64[4] = {2, -2, -1, 3}, o64[4];
    graph_value in[2] = {value(GRAPH_DT_INT64, 1, d, a64), value(GRAPH_DT_INT64, 1, d, b64)};
    graph_value out = value(GRAPH_DT_INT64, 1, d, o64);
    cr_assert_eq(run(&rt_kernel_div, "Div", in, 2, &out, 1), SSDC_OK, "%s", err.msg);
    /* truncation toward zero; INT64_MIN / -1 wraps instead of trapping */
    cr_assert_eq(o64[0], -3);
    cr_assert_eq(o64[1], -3);
    cr_assert_eq(o64[2], INT64_MIN);
    cr_assert_eq(o64[3], 3);
    cr_assert_eq(run(&rt_kernel_mul, "Mul", in, 2, &out, 1), SSDC_OK, "%s", err.msg);
    cr_assert_eq(o64[0], -14);
    cr_assert_eq(o64[1], -14);

    int32_t a32[4] = {1, -5, 100, 3}, b32[4] = {4, 4, -100, 3}, o32[4];
    in[0] = value(GRAPH_DT_INT32, 1, d, a32);
    in[1] = value(GRAPH_DT_INT32, 1, d, b32);
    out = value(GRAPH_DT_INT32, 1, d, o32);
    cr_assert_eq(run(&rt_kernel_add, "Add", in, 2, &out, 1), SSDC_OK, "%s", err.msg);
    cr_assert_eq(o32[0], 5);
    cr_assert_eq(o32[1], -1);
    cr_assert_eq(o32[2], 0);

    uint8_t au[4] = {250, 3, 0, 7}, bu[4] = {10, 5, 1, 2}, ou[4];
    in[0] = value(GRAPH_DT_UINT8, 1, d, au);
    in[1] = value(GRAPH_DT_UINT8, 1, d, bu);
    out = value(GRAPH_DT_UINT8, 1, d, ou);
    cr_assert_eq(run(&rt_kernel_add, "Add", in, 2, &out, 1), SSDC_OK, "%s", err.msg);
    cr_assert_eq(ou[0], 4); /* wraps modulo 256 */
    cr_assert_eq(run(&rt_kernel_sub, "Sub", in, 2, &out, 1), SSDC_OK, "%s", err.msg);
    cr_assert_eq(ou[1], 254);

    double ad[4] = {1.5, -2, 0.25, 8}, bd[4] = {0.5, 4, 0.5, -2}, od[4];
    in[0] = value(GRAPH_DT_DOUBLE, 1, d, ad);
    in[1] = value(GRAPH_DT_DOUBLE, 1, d, bd);
    out = value(GRAPH_DT_DOUBLE, 1, d, od);
    cr_assert_eq(run(&rt_kernel_div, "Div", in, 2, &out, 1), SSDC_OK, "%s", err.msg);
    cr_assert_eq(od[0], 3.0);
    cr_assert_eq(od[1], -0.5);
    cr_assert_eq(od[3], -4.0);

    /* mixed dtypes are refused */
    in[1] = value(GRAPH_DT_FLOAT, 1, d, b32);
    cr_assert_neq(run(&rt_kernel_add, "Add", in, 2, &out, 1), SSDC_OK);
}

Test(kernels, integer_div_by_zero_is_an_error)
{
    int64_t d[1] = {3};
    int32_t a[3] = {1, 2, 3}, b[3] = {1, 0, 1}, o[3];
    graph_value in[2] = {value(GRAPH_DT_INT32, 1, d, a), value(GRAPH_DT_INT32, 1, d, b)};
    graph_value out = value(GRAPH_DT_INT32, 1, d, o);
    cr_assert_eq(run(&rt_kernel_div, "Div", in, 2, &out, 1), SSDC_ERR_INVALID);
    cr_assert(strstr(err.msg, "test_node") && strstr(err.msg, "division by zero"), "%s", err.msg);
    /* float division by zero is IEEE */
    float fa[3] = {1, -1, 0}, fb[3] = {0, 0, 1}, fo[3];
    in[0] = value(GRAPH_DT_FLOAT, 1, d, fa);
    in[1] = value(GRAPH_DT_FLOAT, 1, d, fb);
    out = value(GRAPH_DT_FLOAT, 1, d, fo);
    cr_assert_eq(run(&rt_kernel_div, "Div", in, 2, &out, 1), SSDC_OK, "%s", err.msg);
    cr_assert(isinf(fo[0]) && fo[0] > 0 && isinf(fo[1]) && fo[1] < 0);
}

Test(kernels, pow_dtypes)
{
    int64_t d[1] = {3};
    float x[3] = {2, 3, 4}, y[3] = {3, 0.5f, -1}, o[3];
    graph_value in[2] = {value(GRAPH_DT_FLOAT, 1, d, x), value(GRAPH_DT_FLOAT, 1, d, y)};
    graph_value out = value(GRAPH_DT_FLOAT, 1, d, o);
    cr_assert_eq(run(&rt_kernel_pow, "Pow", in, 2, &out, 1), SSDC_OK, "%s", err.msg);
    float want[3] = {8, sqrtf(3), 0.25f};
    assert_floats(o, want, 3, 1e-6f);
    /* float base, int64 exponent */
    int64_t e64[3] = {2, 3, 0};
    in[1] = value(GRAPH_DT_INT64, 1, d, e64);
    cr_assert_eq(run(&rt_kernel_pow, "Pow", in, 2, &out, 1), SSDC_OK, "%s", err.msg);
    float want2[3] = {4, 27, 1};
    assert_floats(o, want2, 3, 0);
    /* int32 base, float exponent: truncated to the base dtype */
    int32_t b32[3] = {2, 3, 9}, o32[3];
    float ef[3] = {2.5f, 2, 0.5f};
    in[0] = value(GRAPH_DT_INT32, 1, d, b32);
    in[1] = value(GRAPH_DT_FLOAT, 1, d, ef);
    out = value(GRAPH_DT_INT32, 1, d, o32);
    cr_assert_eq(run(&rt_kernel_pow, "Pow", in, 2, &out, 1), SSDC_OK, "%s", err.msg);
    cr_assert_eq(o32[0], 5);
    cr_assert_eq(o32[1], 9);
    cr_assert_eq(o32[2], 3);
    /* int64 ^ int64, exact */
    int64_t bb[3] = {3, -2, 7}, ee[3] = {39, 5, 0}, oo[3];
    in[0] = value(GRAPH_DT_INT64, 1, d, bb);
    in[1] = value(GRAPH_DT_INT64, 1, d, ee);
    out = value(GRAPH_DT_INT64, 1, d, oo);
    cr_assert_eq(run(&rt_kernel_pow, "Pow", in, 2, &out, 1), SSDC_OK, "%s", err.msg);
    cr_assert_eq(oo[0], 4052555153018976267LL);
    cr_assert_eq(oo[1], -32);
    cr_assert_eq(oo[2], 1);
}

Test(kernels, variadic_min_max_sum_mean)
{
    int64_t d0[1] = {3}, d1[2] = {2, 1}, dout[2] = {2, 3};
    float a[3] = {1, 5, -2}, b[2] = {0, 4}, c = 3, o[6];
    graph_value in[3] = {value(GRAPH_DT_FLOAT, 1, d0, a), value(GRAPH_DT_FLOAT, 2, d1, b),
                         value(GRAPH_DT_FLOAT, 0, NULL, &c)};
    graph_value out = value(GRAPH_DT_FLOAT, 2, dout, o);
    cr_assert_eq(run(&rt_kernel_sum, "Sum", in, 3, &out, 1), SSDC_OK, "%s", err.msg);
    float sum[6] = {4, 8, 1, 8, 12, 5};
    assert_floats(o, sum, 6, 0);
    cr_assert_eq(run(&rt_kernel_mean, "Mean", in, 3, &out, 1), SSDC_OK, "%s", err.msg);
    float mean[6] = {4 / 3.f, 8 / 3.f, 1 / 3.f, 8 / 3.f, 4, 5 / 3.f};
    assert_floats(o, mean, 6, 1e-6f);
    cr_assert_eq(run(&rt_kernel_max, "Max", in, 3, &out, 1), SSDC_OK, "%s", err.msg);
    float mx[6] = {3, 5, 3, 4, 5, 4};
    assert_floats(o, mx, 6, 0);
    cr_assert_eq(run(&rt_kernel_min, "Min", in, 3, &out, 1), SSDC_OK, "%s", err.msg);
    float mn[6] = {0, 0, -2, 1, 3, -2};
    assert_floats(o, mn, 6, 0);
    /* one input: a copy */
    float o3[3];
    graph_value out1 = value(GRAPH_DT_FLOAT, 1, d0, o3);
    cr_assert_eq(run(&rt_kernel_max, "Max", in, 1, &out1, 1), SSDC_OK, "%s", err.msg);
    assert_floats(o3, a, 3, 0);
    /* NaN propagates through Max and Min */
    float n2[3] = {NAN, 0, 0};
    graph_value nin[2] = {value(GRAPH_DT_FLOAT, 1, d0, n2), value(GRAPH_DT_FLOAT, 1, d0, a)};
    cr_assert_eq(run(&rt_kernel_max, "Max", nin, 2, &out1, 1), SSDC_OK, "%s", err.msg);
    cr_assert(isnan(o3[0]));
    /* int64 Max */
    int64_t i1[3] = {-5, 9, 0}, i2[3] = {3, -9, 0}, io[3];
    graph_value iin[2] = {value(GRAPH_DT_INT64, 1, d0, i1), value(GRAPH_DT_INT64, 1, d0, i2)};
    graph_value iout = value(GRAPH_DT_INT64, 1, d0, io);
    cr_assert_eq(run(&rt_kernel_max, "Max", iin, 2, &iout, 1), SSDC_OK, "%s", err.msg);
    cr_assert(io[0] == 3 && io[1] == 9 && io[2] == 0);
}

Test(kernels, comparisons_and_logic)
{
    int64_t d[1] = {4};
    float a[4] = {1, 2, 3, NAN}, s = 2;
    uint8_t o[4];
    graph_value in[2] = {value(GRAPH_DT_FLOAT, 1, d, a), value(GRAPH_DT_FLOAT, 0, NULL, &s)};
    graph_value out = value(GRAPH_DT_BOOL, 1, d, o);
    static const struct {
        const rt_kernel *k;
        const char *op;
        uint8_t want[4];
    } cmp[] = {
        {&rt_kernel_equal, "Equal", {0, 1, 0, 0}},
        {&rt_kernel_greater, "Greater", {0, 0, 1, 0}},
        {&rt_kernel_greaterorequal, "GreaterOrEqual", {0, 1, 1, 0}},
        {&rt_kernel_less, "Less", {1, 0, 0, 0}},
        {&rt_kernel_lessorequal, "LessOrEqual", {1, 1, 0, 0}},
    };
    for (size_t c = 0; c < sizeof cmp / sizeof cmp[0]; c++) {
        cr_assert_eq(run(cmp[c].k, cmp[c].op, in, 2, &out, 1), SSDC_OK, "%s", err.msg);
        for (int i = 0; i < 4; i++)
            cr_assert_eq(o[i], cmp[c].want[i], "%s element %d", cmp[c].op, i);
    }
    int32_t ia[4] = {-1, 0, 7, 7}, ib[4] = {-1, 1, 7, 8};
    in[0] = value(GRAPH_DT_INT32, 1, d, ia);
    in[1] = value(GRAPH_DT_INT32, 1, d, ib);
    cr_assert_eq(run(&rt_kernel_equal, "Equal", in, 2, &out, 1), SSDC_OK, "%s", err.msg);
    cr_assert(o[0] == 1 && o[1] == 0 && o[2] == 1 && o[3] == 0);

    int64_t d2[2] = {2, 2}, d21[2] = {2, 1};
    uint8_t x[4] = {0, 1, 0, 1}, y[2] = {0, 1};
    in[0] = value(GRAPH_DT_BOOL, 2, d2, x);
    in[1] = value(GRAPH_DT_BOOL, 2, d21, y);
    out = value(GRAPH_DT_BOOL, 2, d2, o);
    cr_assert_eq(run(&rt_kernel_and, "And", in, 2, &out, 1), SSDC_OK, "%s", err.msg);
    cr_assert(o[0] == 0 && o[1] == 0 && o[2] == 0 && o[3] == 1);
    cr_assert_eq(run(&rt_kernel_or, "Or", in, 2, &out, 1), SSDC_OK, "%s", err.msg);
    cr_assert(o[0] == 0 && o[1] == 1 && o[2] == 1 && o[3] == 1);
    cr_assert_eq(run(&rt_kernel_xor, "Xor", in, 2, &out, 1), SSDC_OK, "%s", err.msg);
    cr_assert(o[0] == 0 && o[1] == 1 && o[2] == 1 && o[3] == 0);
    graph_value nin = value(GRAPH_DT_BOOL, 2, d2, x);
    cr_assert_eq(run(&rt_kernel_not, "Not", &nin, 1, &out, 1), SSDC_OK, "%s", err.msg);
    cr_assert(o[0] == 1 && o[1] == 0 && o[2] == 1 && o[3] == 0);
}

/* ---- unary kernels ---- */

static float erf_ref(float v)
{
    return (float)erf((double)v);
}

Test(kernels, unary_math)
{
    enum { N = 7 };
    int64_t d[1] = {N};
    float x[N] = {-3.5f, -1, -0.25f, 0, 0.5f, 2, 30}, o[N], want[N];
    graph_value in = value(GRAPH_DT_FLOAT, 1, d, x);
    graph_value out = value(GRAPH_DT_FLOAT, 1, d, o);
    static const struct {
        const rt_kernel *k;
        const char *op;
    } ops[] = {
        {&rt_kernel_abs, "Abs"},   {&rt_kernel_neg, "Neg"},         {&rt_kernel_exp, "Exp"},
        {&rt_kernel_floor, "Floor"}, {&rt_kernel_ceil, "Ceil"},     {&rt_kernel_sign, "Sign"},
        {&rt_kernel_sin, "Sin"},   {&rt_kernel_cos, "Cos"},         {&rt_kernel_erf, "Erf"},
        {&rt_kernel_relu, "Relu"}, {&rt_kernel_sigmoid, "Sigmoid"}, {&rt_kernel_tanh, "Tanh"},
        {&rt_kernel_softplus, "Softplus"},
    };
    for (size_t c = 0; c < sizeof ops / sizeof ops[0]; c++) {
        cr_assert_eq(run(ops[c].k, ops[c].op, &in, 1, &out, 1), SSDC_OK, "%s", err.msg);
        for (int i = 0; i < N; i++) {
            double v = x[i];
            double w;
            switch (c) {
            case 0: w = fabs(v); break;
            case 1: w = -v; break;
            case 2: w = exp(v); break;
            case 3: w = floor(v); break;
            case 4: w = ceil(v); break;
            case 5: w = v > 0 ? 1 : v < 0 ? -1 : 0; break;
            case 6: w = sin(v); break;
            case 7: w = cos(v); break;
            case 8: w = erf_ref(x[i]); break;
            case 9: w = v > 0 ? v : 0; break;
            case 10: w = 1 / (1 + exp(-v)); break;
            case 11: w = tanh(v); break;
            default: w = log(1 + exp(v)); break;
            }
            want[i] = (float)w;
        }
        for (int i = 0; i < N; i++)
            cr_assert(fabsf(o[i] - want[i]) <= 1e-6f * (1 + fabsf(want[i])),
                      "%s(%g) = %.9g, expected %.9g", ops[c].op, x[i], o[i], want[i]);
    }
    /* positive-only ops */
    int64_t d3[1] = {3};
    float p[3] = {0.25f, 1, 9}, po[3];
    in = value(GRAPH_DT_FLOAT, 1, d3, p);
    out = value(GRAPH_DT_FLOAT, 1, d3, po);
    cr_assert_eq(run(&rt_kernel_sqrt, "Sqrt", &in, 1, &out, 1), SSDC_OK, "%s", err.msg);
    cr_assert(po[0] == 0.5f && po[1] == 1 && po[2] == 3);
    cr_assert_eq(run(&rt_kernel_log, "Log", &in, 1, &out, 1), SSDC_OK, "%s", err.msg);
    cr_assert(fabsf(po[0] - logf(0.25f)) < 1e-6f && po[1] == 0);
    cr_assert_eq(run(&rt_kernel_reciprocal, "Reciprocal", &in, 1, &out, 1), SSDC_OK, "%s", err.msg);
    cr_assert(po[0] == 4 && po[1] == 1);
    /* large inputs stay finite in Sigmoid and Softplus */
    float big[2] = {-100, 100}, bo[2];
    int64_t d2[1] = {2};
    in = value(GRAPH_DT_FLOAT, 1, d2, big);
    out = value(GRAPH_DT_FLOAT, 1, d2, bo);
    cr_assert_eq(run(&rt_kernel_sigmoid, "Sigmoid", &in, 1, &out, 1), SSDC_OK, "%s", err.msg);
    cr_assert(bo[0] >= 0 && bo[0] < 1e-30f && bo[1] == 1);
    cr_assert_eq(run(&rt_kernel_softplus, "Softplus", &in, 1, &out, 1), SSDC_OK, "%s", err.msg);
    cr_assert(bo[0] >= 0 && bo[0] < 1e-30f && bo[1] == 100);
}

Test(kernels, unary_integer_and_double)
{
    int64_t d[1] = {4};
    int32_t x[4] = {-3, 0, 5, INT32_MIN}, o[4];
    graph_value in = value(GRAPH_DT_INT32, 1, d, x);
    graph_value out = value(GRAPH_DT_INT32, 1, d, o);
    cr_assert_eq(run(&rt_kernel_abs, "Abs", &in, 1, &out, 1), SSDC_OK, "%s", err.msg);
    cr_assert(o[0] == 3 && o[1] == 0 && o[2] == 5 && o[3] == INT32_MIN);
    cr_assert_eq(run(&rt_kernel_neg, "Neg", &in, 1, &out, 1), SSDC_OK, "%s", err.msg);
    cr_assert(o[0] == 3 && o[2] == -5);
    cr_assert_eq(run(&rt_kernel_sign, "Sign", &in, 1, &out, 1), SSDC_OK, "%s", err.msg);
    cr_assert(o[0] == -1 && o[1] == 0 && o[2] == 1 && o[3] == -1);
    cr_assert_eq(run(&rt_kernel_relu, "Relu", &in, 1, &out, 1), SSDC_OK, "%s", err.msg);
    cr_assert(o[0] == 0 && o[2] == 5);
    double dx[4] = {-2, 0.5, 1, 4}, dox[4];
    in = value(GRAPH_DT_DOUBLE, 1, d, dx);
    out = value(GRAPH_DT_DOUBLE, 1, d, dox);
    cr_assert_eq(run(&rt_kernel_exp, "Exp", &in, 1, &out, 1), SSDC_OK, "%s", err.msg);
    cr_assert(dox[3] == exp(4.0) && dox[0] == exp(-2.0));
    /* math on integers is refused with a message */
    in = value(GRAPH_DT_INT32, 1, d, x);
    out = value(GRAPH_DT_INT32, 1, d, o);
    cr_assert_eq(run(&rt_kernel_exp, "Exp", &in, 1, &out, 1), SSDC_ERR_UNSUPPORTED);
}

Test(kernels, activations_with_attributes)
{
    int64_t d[1] = {4};
    float x[4] = {-2, -0.5f, 0, 3}, o[4];
    graph_value in = value(GRAPH_DT_FLOAT, 1, d, x);
    graph_value out = value(GRAPH_DT_FLOAT, 1, d, o);
    graph_attr alpha = {.name = "alpha", .type = GRAPH_ATTR_FLOAT, .f = 0.1f};
    graph_attr beta = {.name = "beta", .type = GRAPH_ATTR_FLOAT, .f = 0.6f};
    graph_attr both[2] = {alpha, beta};

    cr_assert_eq(rt_kernel_leakyrelu.forward(ctx_for("LeakyRelu", &alpha, 1), &in, 1, &out, 1,
                                             &err),
                 SSDC_OK, "%s", err.msg);
    float lr[4] = {-0.2f, -0.05f, 0, 3};
    assert_floats(o, lr, 4, 1e-6f);
    cr_assert_eq(rt_kernel_leakyrelu.forward(ctx_for("LeakyRelu", NULL, 0), &in, 1, &out, 1, &err),
                 SSDC_OK, "%s", err.msg);
    float lr_default[4] = {-0.02f, -0.005f, 0, 3};
    assert_floats(o, lr_default, 4, 1e-6f);

    cr_assert_eq(rt_kernel_elu.forward(ctx_for("Elu", &alpha, 1), &in, 1, &out, 1, &err), SSDC_OK,
                 "%s", err.msg);
    float elu[4] = {0.1f * expm1f(-2), 0.1f * expm1f(-0.5f), 0, 3};
    assert_floats(o, elu, 4, 1e-6f);

    cr_assert_eq(rt_kernel_hardsigmoid.forward(ctx_for("HardSigmoid", both, 2), &in, 1, &out, 1,
                                               &err),
                 SSDC_OK, "%s", err.msg);
    float hs[4] = {0.4f, 0.55f, 0.6f, 0.9f};
    assert_floats(o, hs, 4, 1e-6f);
    cr_assert_eq(rt_kernel_hardsigmoid.forward(ctx_for("HardSigmoid", NULL, 0), &in, 1, &out, 1,
                                               &err),
                 SSDC_OK, "%s", err.msg);
    float hs_default[4] = {0.1f, 0.4f, 0.5f, 1};
    assert_floats(o, hs_default, 4, 1e-6f);
}

/* ---- Clip, Where, Cast ---- */

Test(kernels, clip_bounds)
{
    int64_t d[1] = {5};
    float x[5] = {-3, -1, 0, 1, 3}, lo = -1.5f, hi = 2, o[5];
    graph_value in[3] = {value(GRAPH_DT_FLOAT, 1, d, x), value(GRAPH_DT_FLOAT, 0, NULL, &lo),
                         value(GRAPH_DT_FLOAT, 0, NULL, &hi)};
    graph_value out = value(GRAPH_DT_FLOAT, 1, d, o);
    cr_assert_eq(run(&rt_kernel_clip, "Clip", in, 3, &out, 1), SSDC_OK, "%s", err.msg);
    float both[5] = {-1.5f, -1, 0, 1, 2};
    assert_floats(o, both, 5, 0);
    in[1] = omitted; /* max only */
    cr_assert_eq(run(&rt_kernel_clip, "Clip", in, 3, &out, 1), SSDC_OK, "%s", err.msg);
    float max_only[5] = {-3, -1, 0, 1, 2};
    assert_floats(o, max_only, 5, 0);
    cr_assert_eq(run(&rt_kernel_clip, "Clip", in, 1, &out, 1), SSDC_OK, "%s", err.msg);
    assert_floats(o, x, 5, 0);
    /* int8 with a min only */
    int8_t xi[5] = {-128, -5, 0, 5, 127}, loi = -4, oi[5];
    graph_value iin[2] = {value(GRAPH_DT_INT8, 1, d, xi), value(GRAPH_DT_INT8, 0, NULL, &loi)};
    graph_value iout = value(GRAPH_DT_INT8, 1, d, oi);
    cr_assert_eq(run(&rt_kernel_clip, "Clip", iin, 2, &iout, 1), SSDC_OK, "%s", err.msg);
    cr_assert(oi[0] == -4 && oi[1] == -4 && oi[2] == 0 && oi[4] == 127);
    /* Clip-6 attribute form */
    graph_attr attrs[2] = {{.name = "min", .type = GRAPH_ATTR_FLOAT, .f = -0.5f},
                           {.name = "max", .type = GRAPH_ATTR_FLOAT, .f = 0.5f}};
    cr_assert_eq(rt_kernel_clip.forward(ctx_for("Clip", attrs, 2), in, 1, &out, 1, &err), SSDC_OK,
                 "%s", err.msg);
    float attr_form[5] = {-0.5f, -0.5f, 0, 0.5f, 0.5f};
    assert_floats(o, attr_form, 5, 0);
}

Test(kernels, where_three_way_broadcast)
{
    int64_t dc[3] = {2, 1, 3}, dx[2] = {4, 1}, dout[3] = {2, 4, 3};
    uint8_t c[6] = {1, 0, 1, 0, 0, 1};
    int64_t x[4] = {10, 20, 30, 40}, y = -1, o[24];
    graph_value in[3] = {value(GRAPH_DT_BOOL, 3, dc, c), value(GRAPH_DT_INT64, 2, dx, x),
                         value(GRAPH_DT_INT64, 0, NULL, &y)};
    graph_value out = value(GRAPH_DT_INT64, 3, dout, o);
    cr_assert_eq(run(&rt_kernel_where, "Where", in, 3, &out, 1), SSDC_OK, "%s", err.msg);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 3; k++)
                cr_assert_eq(o[(i * 4 + j) * 3 + k], c[i * 3 + k] ? x[j] : -1, "[%d,%d,%d]", i, j,
                             k);
    /* condition broadcast along the inner axis, x along the outer one */
    int64_t dc2[2] = {4, 1}, dx2[1] = {3}, dy2[2] = {4, 3}, dout2[2] = {4, 3};
    uint8_t c2[4] = {1, 0, 0, 1};
    int64_t x2[3] = {1, 2, 3}, y2[12], o2[12];
    for (int i = 0; i < 12; i++)
        y2[i] = 100 + i;
    in[0] = value(GRAPH_DT_BOOL, 2, dc2, c2);
    in[1] = value(GRAPH_DT_INT64, 1, dx2, x2);
    in[2] = value(GRAPH_DT_INT64, 2, dy2, y2);
    out = value(GRAPH_DT_INT64, 2, dout2, o2);
    cr_assert_eq(run(&rt_kernel_where, "Where", in, 3, &out, 1), SSDC_OK, "%s", err.msg);
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 3; k++)
            cr_assert_eq(o2[i * 3 + k], c2[i] ? x2[k] : y2[i * 3 + k], "[%d,%d]", i, k);
    /* float, same shapes */
    int64_t d[1] = {3};
    float fa[3] = {1, 2, 3}, fb[3] = {-1, -2, -3}, fo[3];
    in[0] = value(GRAPH_DT_BOOL, 1, d, c);
    in[1] = value(GRAPH_DT_FLOAT, 1, d, fa);
    in[2] = value(GRAPH_DT_FLOAT, 1, d, fb);
    out = value(GRAPH_DT_FLOAT, 1, d, fo);
    cr_assert_eq(run(&rt_kernel_where, "Where", in, 3, &out, 1), SSDC_OK, "%s", err.msg);
    cr_assert(fo[0] == 1 && fo[1] == -2 && fo[2] == 3);
}

static ssdc_status cast(graph_value *in, graph_value *out)
{
    graph_attr to = {.name = "to", .type = GRAPH_ATTR_INT, .i = out->dtype};
    return rt_kernel_cast.forward(ctx_for("Cast", &to, 1), in, 1, out, 1, &err);
}

Test(kernels, cast_conversions)
{
    int64_t d[1] = {6};
    float f[6] = {-1.7f, -0.5f, 0, 0.9f, 2.5f, 300.25f};
    graph_value in = value(GRAPH_DT_FLOAT, 1, d, f);

    int32_t i32[6];
    graph_value out = value(GRAPH_DT_INT32, 1, d, i32);
    cr_assert_eq(cast(&in, &out), SSDC_OK, "%s", err.msg);
    int32_t want_i32[6] = {-1, 0, 0, 0, 2, 300}; /* truncation toward zero */
    for (int i = 0; i < 6; i++)
        cr_assert_eq(i32[i], want_i32[i], "element %d", i);

    uint8_t b[6];
    out = value(GRAPH_DT_BOOL, 1, d, b);
    cr_assert_eq(cast(&in, &out), SSDC_OK, "%s", err.msg);
    uint8_t want_b[6] = {1, 1, 0, 1, 1, 1};
    for (int i = 0; i < 6; i++)
        cr_assert_eq(b[i], want_b[i], "element %d", i);

    double dd[6];
    out = value(GRAPH_DT_DOUBLE, 1, d, dd);
    cr_assert_eq(cast(&in, &out), SSDC_OK, "%s", err.msg);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(dd[i], (double)f[i]);

    int64_t big[6] = {-3, 0, 1, 255, 256, (int64_t)1 << 40};
    in = value(GRAPH_DT_INT64, 1, d, big);
    float fo[6];
    out = value(GRAPH_DT_FLOAT, 1, d, fo);
    cr_assert_eq(cast(&in, &out), SSDC_OK, "%s", err.msg);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(fo[i], (float)big[i]);
    int8_t i8[6];
    out = value(GRAPH_DT_INT8, 1, d, i8);
    cr_assert_eq(cast(&in, &out), SSDC_OK, "%s", err.msg);
    cr_assert(i8[0] == -3 && i8[3] == -1 && i8[4] == 0); /* wraps like C/numpy */

    uint8_t bools[6] = {0, 1, 1, 0, 1, 0};
    in = value(GRAPH_DT_BOOL, 1, d, bools);
    out = value(GRAPH_DT_FLOAT, 1, d, fo);
    cr_assert_eq(cast(&in, &out), SSDC_OK, "%s", err.msg);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(fo[i], (float)bools[i]);

    /* same dtype: a copy; 'to' must match the output */
    float f2[6];
    in = value(GRAPH_DT_FLOAT, 1, d, f);
    out = value(GRAPH_DT_FLOAT, 1, d, f2);
    cr_assert_eq(cast(&in, &out), SSDC_OK, "%s", err.msg);
    assert_floats(f2, f, 6, 0);
    graph_attr to = {.name = "to", .type = GRAPH_ATTR_INT, .i = GRAPH_DT_INT64};
    cr_assert_neq(rt_kernel_cast.forward(ctx_for("Cast", &to, 1), &in, 1, &out, 1, &err), SSDC_OK);
}

/* ---- Dropout ---- */

enum { DROP_N = 100000 };

static float drop_x[DROP_N], drop_y[DROP_N], drop_y2[DROP_N];
static uint8_t drop_mask[DROP_N], drop_mask2[DROP_N];

static void drop_init(void)
{
    for (int i = 0; i < DROP_N; i++)
        drop_x[i] = (float)(i % 97) - 48.0f + 0.5f;
}

/* Runs Dropout on drop_x with the given ratio (NULL: default 0.5) and
 * training_mode input (NULL: omitted). */
static ssdc_status dropout(uint64_t seed, uint64_t step, int node_index, bool ctx_training,
                           const float *ratio, const uint8_t *training_mode, float *y, uint8_t *mask)
{
    int64_t d[1] = {DROP_N};
    graph_value in[3] = {value(GRAPH_DT_FLOAT, 1, d, drop_x), omitted, omitted};
    if (ratio)
        in[1] = value(GRAPH_DT_FLOAT, 0, NULL, (void *)ratio);
    if (training_mode)
        in[2] = value(GRAPH_DT_BOOL, 0, NULL, (void *)training_mode);
    graph_value out[2] = {value(GRAPH_DT_FLOAT, 1, d, y), value(GRAPH_DT_BOOL, 1, d, mask)};
    rt_kernel_ctx *ctx = ctx_for("Dropout", NULL, 0);
    ctx->seed = seed;
    ctx->step = step;
    ctx->node_index = node_index;
    ctx->training = ctx_training;
    return rt_kernel_dropout.forward(ctx, in, 3, out, 2, &err);
}

Test(dropout, inference_is_identity, .init = drop_init)
{
    float ratio = 0.3f;
    uint8_t off = 0;
    cr_assert_eq(dropout(1, 0, 0, false, &ratio, &off, drop_y, drop_mask), SSDC_OK, "%s", err.msg);
    for (int i = 0; i < DROP_N; i++) {
        cr_assert_eq(drop_y[i], drop_x[i]);
        cr_assert_eq(drop_mask[i], 1);
    }
    /* no optional inputs, mask output omitted */
    int64_t d[1] = {DROP_N};
    graph_value in = value(GRAPH_DT_FLOAT, 1, d, drop_x);
    graph_value out[2] = {value(GRAPH_DT_FLOAT, 1, d, drop_y2), omitted};
    cr_assert_eq(run(&rt_kernel_dropout, "Dropout", &in, 1, out, 2), SSDC_OK, "%s", err.msg);
    cr_assert_eq(memcmp(drop_y2, drop_x, sizeof drop_x), 0);
    /* ratio 0 in training: identity too */
    float zero = 0;
    cr_assert_eq(dropout(1, 0, 0, true, &zero, NULL, drop_y, drop_mask), SSDC_OK, "%s", err.msg);
    cr_assert_eq(memcmp(drop_y, drop_x, sizeof drop_x), 0);
}

Test(dropout, training_keeps_one_minus_ratio_and_scales, .init = drop_init)
{
    static const float ratios[3] = {0.1f, 0.3f, 0.75f};
    for (int r = 0; r < 3; r++) {
        float ratio = ratios[r];
        cr_assert_eq(dropout(1234, 5, 3, true, &ratio, NULL, drop_y, drop_mask), SSDC_OK, "%s",
                     err.msg);
        int64_t kept = 0;
        float scale = 1.0f / (1.0f - ratio);
        for (int i = 0; i < DROP_N; i++) {
            if (drop_mask[i]) {
                kept++;
                float want = drop_x[i] * scale;
                cr_assert(fabsf(drop_y[i] - want) <= 1e-5f * fabsf(want), "element %d: %g vs %g",
                          i, drop_y[i], want);
            } else {
                cr_assert_eq(drop_y[i], 0.0f, "dropped element %d is %g", i, drop_y[i]);
            }
        }
        double frac = (double)kept / DROP_N;
        cr_assert(fabs(frac - (1.0 - ratio)) < 0.01, "ratio %g kept %g", ratio, frac);
    }
}

Test(dropout, default_ratio_and_training_mode_input, .init = drop_init)
{
    /* ctx->training off, training_mode input true: active, default ratio 0.5 */
    uint8_t on = 1;
    cr_assert_eq(dropout(9, 0, 0, false, NULL, &on, drop_y, drop_mask), SSDC_OK, "%s", err.msg);
    int64_t kept = 0;
    for (int i = 0; i < DROP_N; i++)
        kept += drop_mask[i];
    cr_assert(fabs((double)kept / DROP_N - 0.5) < 0.01, "kept %lld", (long long)kept);
    /* ctx->training on: active without training_mode */
    float ratio = 0.2f;
    cr_assert_eq(dropout(9, 0, 0, true, &ratio, NULL, drop_y, drop_mask), SSDC_OK, "%s", err.msg);
    kept = 0;
    for (int i = 0; i < DROP_N; i++)
        kept += drop_mask[i];
    cr_assert(fabs((double)kept / DROP_N - 0.8) < 0.01, "kept %lld", (long long)kept);
}

static int64_t mask_differences(void)
{
    int64_t n = 0;
    for (int i = 0; i < DROP_N; i++)
        n += drop_mask[i] != drop_mask2[i];
    return n;
}

Test(dropout, masks_reproducible_and_step_dependent, .init = drop_init)
{
    float ratio = 0.5f;
    cr_assert_eq(dropout(77, 10, 4, true, &ratio, NULL, drop_y, drop_mask), SSDC_OK, "%s", err.msg);
    cr_assert_eq(dropout(77, 10, 4, true, &ratio, NULL, drop_y2, drop_mask2), SSDC_OK, "%s",
                 err.msg);
    cr_assert_eq(mask_differences(), 0);
    cr_assert_eq(memcmp(drop_y, drop_y2, sizeof drop_y), 0);
    /* next step, other node, other seed: about half the elements differ */
    cr_assert_eq(dropout(77, 11, 4, true, &ratio, NULL, drop_y2, drop_mask2), SSDC_OK);
    cr_assert(mask_differences() > DROP_N / 3, "step: %lld", (long long)mask_differences());
    cr_assert_eq(dropout(77, 10, 5, true, &ratio, NULL, drop_y2, drop_mask2), SSDC_OK);
    cr_assert(mask_differences() > DROP_N / 3, "node: %lld", (long long)mask_differences());
    cr_assert_eq(dropout(78, 10, 4, true, &ratio, NULL, drop_y2, drop_mask2), SSDC_OK);
    cr_assert(mask_differences() > DROP_N / 3, "seed: %lld", (long long)mask_differences());
}

Test(dropout, mask_is_a_function_of_seed_step_node_index, .init = drop_init)
{
    /* element i is kept iff its 16 random bits of (seed, stream(step, node))
     * are >= round(ratio * 65536): nothing depends on chunking or thread count */
    float ratio = 0.4f;
    cr_assert_eq(dropout(5, 3, 2, true, &ratio, NULL, drop_y, drop_mask), SSDC_OK, "%s", err.msg);
    uint64_t stream = rng_stream_id(3, 2);
    for (int i = 0; i < DROP_N; i++)
        cr_assert_eq(drop_mask[i], rng_keep16(5, stream, (uint64_t)i, rng_dropout_threshold(ratio)),
                     "element %d", i);
}

Test(dropout, bad_ratio_is_an_error, .init = drop_init)
{
    float ratio = 1.5f;
    cr_assert_eq(dropout(5, 3, 2, true, &ratio, NULL, drop_y, drop_mask), SSDC_ERR_INVALID);
    cr_assert(strstr(err.msg, "test_node"), "%s", err.msg);
}

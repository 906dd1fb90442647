/* Gradient checks of the dense ops (Conv, Gemm, MatMul, the pools,
 * BatchNormalization, Softmax, LogSoftmax, SoftmaxCrossEntropyLoss): the
 * autodiff pass's backward nodes (passes/grad/dense.c, kernels in
 * runtime/kernels/training_dense.c) against central finite differences of the
 * forward graph (tests/gradcheck.c), on random inputs over the attribute
 * combinations the forward ops support.  The forward kernels are float-only,
 * so every check is in float (eps 1e-2; atol 3e-4 + rtol 3e-3, tighter than
 * the float defaults); every element of every checked input is compared. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "graph/ops.h"
#include "passes/autodiff.h"
#include "runtime/exec.h"
#include "tests/gradcheck.h"

/* ---------------------------------------------------------------- helpers */

/* Attributes of the node under test, set by set_attrs() (gc_case.attrs). */
typedef struct {
    const char *name;
    graph_attr_type type;
    int64_t ints[2 * GRAPH_MAX_RANK];
    size_t n;
    int64_t i;
    float f;
    const char *s;
} attr_spec;

static attr_spec g_attrs[12];
static int g_n_attrs;
static int64_t g_opset; /* 0: the graph's default */

static void attrs_reset(void)
{
    g_n_attrs = 0;
    g_opset = 0;
}

static void attr_ints(const char *name, size_t n, const int64_t *v)
{
    attr_spec *a = &g_attrs[g_n_attrs++];
    memset(a, 0, sizeof *a);
    a->name = name;
    a->type = GRAPH_ATTR_INTS;
    a->n = n;
    memcpy(a->ints, v, n * sizeof *v);
}

static void attr_int(const char *name, int64_t v)
{
    attr_spec *a = &g_attrs[g_n_attrs++];
    memset(a, 0, sizeof *a);
    a->name = name;
    a->type = GRAPH_ATTR_INT;
    a->i = v;
}

static void attr_float(const char *name, float v)
{
    attr_spec *a = &g_attrs[g_n_attrs++];
    memset(a, 0, sizeof *a);
    a->name = name;
    a->type = GRAPH_ATTR_FLOAT;
    a->f = v;
}

static void attr_string(const char *name, const char *v)
{
    attr_spec *a = &g_attrs[g_n_attrs++];
    memset(a, 0, sizeof *a);
    a->name = name;
    a->type = GRAPH_ATTR_STRING;
    a->s = v;
}

static void set_attrs(graph *g, int node)
{
    ssdc_error err = {0};
    if (g_opset)
        g->opset = g_opset;
    for (int k = 0; k < g_n_attrs; k++) {
        const attr_spec *a = &g_attrs[k];
        ssdc_status st = SSDC_OK;
        switch (a->type) {
        case GRAPH_ATTR_INTS:
            st = graph_node_set_ints(g, node, a->name, a->ints, a->n, &err);
            break;
        case GRAPH_ATTR_INT:
            st = graph_node_set_int(g, node, a->name, a->i, &err);
            break;
        case GRAPH_ATTR_FLOAT:
            st = graph_node_set_float(g, node, a->name, a->f, &err);
            break;
        default:
            st = graph_node_set_string(g, node, a->name, a->s, &err);
            break;
        }
        cr_assert_eq(st, SSDC_OK, "%s", err.msg);
    }
}

#define DIMS(...) ((const int64_t[]){__VA_ARGS__}), (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t))
#define INTS(...) (sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), ((const int64_t[]){__VA_ARGS__})

static gc_case case_new(const char *op, const char *domain)
{
    gc_case c;
    memset(&c, 0, sizeof c);
    c.op_type = op;
    c.domain = domain;
    c.n_out = 1;
    c.attrs = set_attrs;
    c.max_checks = 100000; /* every element */
    c.atol = 3e-4;         /* tighter than the float defaults (2e-3 + 2e-2) */
    c.rtol = 3e-3;
    c.seed = 3;
    return c;
}

static int64_t numel(const int64_t *dims, int rank)
{
    int64_t n = 1;
    for (int d = 0; d < rank; d++)
        n *= dims[d];
    return n;
}

/* Appends a float input with values uniform in [lo, hi). */
static float *add_float(gc_case *c, const int64_t *dims, int rank, float lo, float hi, bool diff)
{
    int i = c->n_in++;
    int64_t n = numel(dims, rank);
    float *d = malloc((size_t)(n ? n : 1) * sizeof *d);
    gc_fill_f32(d, n, lo, hi, 17 * (uint64_t)i + 5 + c->seed);
    gc_value(&c->in[i], GRAPH_DT_FLOAT, rank, dims, d);
    c->diff[i] = diff;
    return d;
}

/* Appends a float input whose values are distinct and at least 0.05 apart (a
 * shuffled ramp), so that finite differences of max never cross a tie. */
static float *add_distinct(gc_case *c, const int64_t *dims, int rank, bool diff)
{
    float *d = add_float(c, dims, rank, 0.0f, 1.0f, diff);
    int64_t n = c->in[c->n_in - 1].numel;
    for (int64_t i = 0; i < n; i++)
        d[i] = 0.05f * (float)(i - n / 2);
    uint64_t s = 12345 + (uint64_t)n;
    for (int64_t i = n - 1; i > 0; i--) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        int64_t j = (int64_t)((s >> 33) % (uint64_t)(i + 1));
        float t = d[i];
        d[i] = d[j];
        d[j] = t;
    }
    return d;
}

static void add_i64(gc_case *c, const int64_t *dims, int rank, const int64_t *vals)
{
    int i = c->n_in++;
    int64_t n = numel(dims, rank);
    int64_t *d = malloc((size_t)(n ? n : 1) * sizeof *d);
    memcpy(d, vals, (size_t)n * sizeof *d);
    gc_value(&c->in[i], GRAPH_DT_INT64, rank, dims, d);
}

/* Checks the case, then frees the inputs add_float allocated. */
static void check(const gc_case *c)
{
    double worst = gradcheck(c);
    cr_log_info("%s: largest error %.3g", c->op_type, worst);
    for (int i = 0; i < c->n_in; i++)
        free(c->in[i].data);
}

/* ---------------------------------------------------------------- Conv */

/* Conv(X, W, B) with X [dims_x], W [dims_w]; every input differentiated. */
static void conv_case(const int64_t *dx, const int64_t *dw, int rank, bool bias)
{
    gc_case c = case_new("Conv", NULL);
    add_float(&c, dx, rank, -1.0f, 1.0f, true);
    add_float(&c, dw, rank, -1.0f, 1.0f, true);
    if (bias) {
        int64_t m = dw[0];
        add_float(&c, &m, 1, -1.0f, 1.0f, true);
    }
    check(&c);
}

Test(grad_conv, conv1d_plain)
{
    attrs_reset();
    conv_case((int64_t[]){2, 3, 10}, (int64_t[]){4, 3, 3}, 3, true);
}

Test(grad_conv, conv1d_strided_padded_dilated)
{
    attrs_reset();
    attr_ints("strides", INTS(2));
    attr_ints("pads", INTS(2, 1));
    attr_ints("dilations", INTS(2));
    conv_case((int64_t[]){2, 3, 13}, (int64_t[]){5, 3, 3}, 3, true);
}

Test(grad_conv, conv1d_stride3_no_bias)
{
    attrs_reset();
    attr_ints("strides", INTS(3));
    attr_ints("pads", INTS(0, 2));
    conv_case((int64_t[]){3, 2, 11}, (int64_t[]){3, 2, 4}, 3, false);
}

Test(grad_conv, conv1d_grouped)
{
    attrs_reset();
    attr_int("group", 2);
    attr_ints("pads", INTS(1, 1));
    conv_case((int64_t[]){2, 4, 9}, (int64_t[]){6, 2, 3}, 3, true);
}

Test(grad_conv, conv1d_depthwise)
{
    attrs_reset();
    attr_int("group", 4);
    attr_ints("pads", INTS(2, 1));
    attr_ints("strides", INTS(2));
    conv_case((int64_t[]){2, 4, 11}, (int64_t[]){4, 1, 3}, 3, true);
}

Test(grad_conv, conv1d_depthwise_multiplier_dilated)
{
    attrs_reset();
    attr_int("group", 3);
    attr_ints("dilations", INTS(2));
    attr_ints("pads", INTS(1, 2));
    conv_case((int64_t[]){2, 3, 10}, (int64_t[]){6, 1, 3}, 3, true);
}

Test(grad_conv, conv1d_pointwise)
{
    attrs_reset();
    conv_case((int64_t[]){2, 5, 7}, (int64_t[]){3, 5, 1}, 3, true);
}

Test(grad_conv, conv1d_pointwise_grouped)
{
    attrs_reset();
    attr_int("group", 2);
    conv_case((int64_t[]){2, 4, 6}, (int64_t[]){6, 2, 1}, 3, false);
}

Test(grad_conv, conv1d_same_upper_strided)
{
    attrs_reset();
    attr_string("auto_pad", "SAME_UPPER");
    attr_ints("strides", INTS(2));
    conv_case((int64_t[]){2, 2, 9}, (int64_t[]){3, 2, 4}, 3, true);
}

Test(grad_conv, conv1d_same_lower_valid)
{
    attrs_reset();
    attr_string("auto_pad", "SAME_LOWER");
    conv_case((int64_t[]){1, 2, 8}, (int64_t[]){2, 2, 4}, 3, true);
    attrs_reset();
    attr_string("auto_pad", "VALID");
    attr_ints("strides", INTS(2));
    conv_case((int64_t[]){1, 2, 9}, (int64_t[]){2, 2, 3}, 3, true);
}

Test(grad_conv, conv2d_plain)
{
    attrs_reset();
    conv_case((int64_t[]){2, 3, 5, 6}, (int64_t[]){4, 3, 3, 3}, 4, true);
}

Test(grad_conv, conv2d_strided_padded_dilated)
{
    attrs_reset();
    attr_ints("strides", INTS(2, 1));
    attr_ints("pads", INTS(1, 0, 1, 2));
    attr_ints("dilations", INTS(1, 2));
    attr_ints("kernel_shape", INTS(3, 2));
    conv_case((int64_t[]){2, 2, 7, 6}, (int64_t[]){3, 2, 3, 2}, 4, true);
}

Test(grad_conv, conv2d_grouped)
{
    attrs_reset();
    attr_int("group", 3);
    attr_ints("pads", INTS(1, 1, 0, 1));
    attr_ints("strides", INTS(1, 2));
    conv_case((int64_t[]){2, 6, 5, 6}, (int64_t[]){6, 2, 2, 3}, 4, true);
}

Test(grad_conv, conv2d_depthwise)
{
    attrs_reset();
    attr_int("group", 3);
    attr_ints("pads", INTS(1, 1, 1, 1));
    attr_ints("strides", INTS(2, 2));
    conv_case((int64_t[]){2, 3, 7, 6}, (int64_t[]){3, 1, 3, 3}, 4, true);
}

Test(grad_conv, conv2d_depthwise_strided_w_dilated)
{
    attrs_reset();
    attr_int("group", 2);
    attr_ints("dilations", INTS(2, 1));
    attr_ints("strides", INTS(1, 3));
    attr_ints("pads", INTS(0, 1, 2, 1));
    conv_case((int64_t[]){1, 2, 6, 8}, (int64_t[]){4, 1, 2, 3}, 4, true);
}

Test(grad_conv, conv3d)
{
    attrs_reset();
    attr_ints("pads", INTS(1, 0, 0, 0, 1, 1));
    attr_ints("strides", INTS(1, 2, 1));
    conv_case((int64_t[]){1, 2, 3, 4, 4}, (int64_t[]){2, 2, 2, 2, 2}, 5, true);
}

/* Only some of ConvGrad's outputs: X is a constant (no dX), or W is. */
Test(grad_conv, only_weight_or_only_input)
{
    attrs_reset();
    attr_ints("pads", INTS(1, 1));
    gc_case c = case_new("Conv", NULL);
    add_float(&c, DIMS(2, 3, 8), -1.0f, 1.0f, false);
    add_float(&c, DIMS(4, 3, 3), -1.0f, 1.0f, true);
    add_float(&c, DIMS(4), -1.0f, 1.0f, false);
    check(&c);
    gc_case d = case_new("Conv", NULL);
    add_float(&d, DIMS(2, 3, 8), -1.0f, 1.0f, true);
    add_float(&d, DIMS(4, 3, 3), -1.0f, 1.0f, false);
    add_float(&d, DIMS(4), -1.0f, 1.0f, true);
    check(&d);
}

/* The autodiff emits one ConvGrad node with just the outputs it needs. */
Test(grad_conv, one_convgrad_node_with_needed_outputs)
{
    ssdc_error err = {0};
    graph *g = graph_new();
    int x, w, y, loss, node;
    graph_shape sx, sw;
    graph_shape_init(&sx, 3, (int64_t[]){1, 2, 5});
    graph_shape_init(&sw, 3, (int64_t[]){3, 2, 3});
    cr_assert_eq(graph_add_tensor(g, "x", GRAPH_DT_FLOAT, &sx, GRAPH_TENSOR_INPUT, &x, &err), 0);
    cr_assert_eq(graph_add_tensor(g, "w", GRAPH_DT_FLOAT, &sw, GRAPH_TENSOR_INPUT, &w, &err), 0);
    graph_add_input(g, x, &err);
    graph_add_input(g, w, &err);
    graph_add_tensor(g, "y", GRAPH_DT_UNDEFINED, NULL, GRAPH_TENSOR_INTERMEDIATE, &y, &err);
    graph_add_tensor(g, "loss", GRAPH_DT_UNDEFINED, NULL, GRAPH_TENSOR_INTERMEDIATE, &loss, &err);
    int in[2] = {x, w};
    cr_assert_eq(graph_add_node(g, "conv", "Conv", "", 2, in, 1, &y, &node, &err), 0, "%s",
                 err.msg);
    cr_assert_eq(graph_add_node(g, "sum", "ReduceSum", "", 1, &y, 1, &loss, &node, &err), 0);
    graph_node_set_int(g, node, "keepdims", 0, &err);
    cr_assert_eq(graph_infer_shapes(g, &err), 0, "%s", err.msg);
    int grad;
    cr_assert_eq(autodiff_build(g, loss, &w, 1, &grad, &err), 0, "%s", err.msg);
    int found = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const graph_node *n = &g->nodes[i];
        if (strcmp(n->op_type, "ConvGrad") != 0)
            continue;
        found++;
        cr_assert_str_eq(n->domain, GRAPH_SSDC_DOMAIN);
        cr_assert(n->outputs[0] < 0, "dX is computed though X needs no gradient");
        cr_assert_eq(n->outputs[1], grad);
        cr_assert(n->n_outputs < 3 || n->outputs[2] < 0, "dB without a bias");
    }
    cr_assert_eq(found, 1);
    graph_free(g);
}

/* ---------------------------------------------------------------- Gemm */

static void gemm_case(bool ta, bool tb, float alpha, float beta, const int64_t *dc, int rc)
{
    const int64_t m = 3, k = 4, n = 5;
    attrs_reset();
    if (ta)
        attr_int("transA", 1);
    if (tb)
        attr_int("transB", 1);
    if (alpha != 1.0f)
        attr_float("alpha", alpha);
    if (beta != 1.0f)
        attr_float("beta", beta);
    gc_case c = case_new("Gemm", NULL);
    const int64_t da[2] = {ta ? k : m, ta ? m : k}, db[2] = {tb ? n : k, tb ? k : n};
    add_float(&c, da, 2, -1.0f, 1.0f, true);
    add_float(&c, db, 2, -1.0f, 1.0f, true);
    if (rc >= 0)
        add_float(&c, dc, rc, -1.0f, 1.0f, true);
    check(&c);
}

Test(grad_gemm, plain_with_row_bias)
{
    gemm_case(false, false, 1.0f, 1.0f, (int64_t[]){5}, 1);
}

Test(grad_gemm, no_c)
{
    gemm_case(false, false, 1.0f, 1.0f, NULL, -1);
    gemm_case(true, true, 2.0f, 1.0f, NULL, -1);
}

Test(grad_gemm, transposes_alpha_beta_full_c)
{
    for (int t = 0; t < 4; t++)
        gemm_case(t & 1, t & 2, 0.7f, 1.3f, (int64_t[]){3, 5}, 2);
}

Test(grad_gemm, broadcast_c)
{
    gemm_case(true, false, 1.5f, 0.5f, (int64_t[]){3, 1}, 2);
    gemm_case(false, true, 1.0f, -2.0f, (int64_t[]){1, 5}, 2);
    gemm_case(false, false, 1.0f, 2.0f, (int64_t[]){1}, 1);
    gemm_case(true, true, 0.5f, 3.0f, NULL, 0);
}

/* ---------------------------------------------------------------- MatMul */

static void matmul_case(const int64_t *da, int ra, const int64_t *db, int rb)
{
    attrs_reset();
    gc_case c = case_new("MatMul", NULL);
    add_float(&c, da, ra, -1.0f, 1.0f, true);
    add_float(&c, db, rb, -1.0f, 1.0f, true);
    check(&c);
}

Test(grad_matmul, two_d)
{
    matmul_case((int64_t[]){3, 4}, 2, (int64_t[]){4, 5}, 2);
}

Test(grad_matmul, batched_times_matrix)
{
    matmul_case((int64_t[]){2, 3, 4, 5}, 4, (int64_t[]){5, 2}, 2);
    matmul_case((int64_t[]){3, 4}, 2, (int64_t[]){2, 4, 5}, 3);
}

Test(grad_matmul, batched_broadcast)
{
    matmul_case((int64_t[]){2, 3, 4}, 3, (int64_t[]){2, 4, 5}, 3);
    matmul_case((int64_t[]){2, 1, 3, 4}, 4, (int64_t[]){3, 4, 2}, 3);
    matmul_case((int64_t[]){1, 3, 4}, 3, (int64_t[]){2, 1, 4, 2}, 4);
}

Test(grad_matmul, vector_operands)
{
    matmul_case((int64_t[]){4}, 1, (int64_t[]){4, 3}, 2);
    matmul_case((int64_t[]){3, 4}, 2, (int64_t[]){4}, 1);
    matmul_case((int64_t[]){5}, 1, (int64_t[]){5}, 1);
    matmul_case((int64_t[]){4}, 1, (int64_t[]){2, 4, 3}, 3);
    matmul_case((int64_t[]){2, 3, 4}, 3, (int64_t[]){4}, 1);
}

/* ---------------------------------------------------------------- pools */

static void pool_case(const char *op, const int64_t *dx, int rank, int n_out)
{
    gc_case c = case_new(op, NULL);
    if (!strcmp(op, "MaxPool") || !strcmp(op, "GlobalMaxPool"))
        add_distinct(&c, dx, rank, true);
    else
        add_float(&c, dx, rank, -1.0f, 1.0f, true);
    c.n_out = n_out;
    check(&c);
}

Test(grad_pool, maxpool1d)
{
    attrs_reset();
    attr_ints("kernel_shape", INTS(3));
    attr_ints("strides", INTS(2));
    pool_case("MaxPool", (int64_t[]){2, 3, 11}, 3, 1);
}

Test(grad_pool, maxpool1d_padded_ceil_dilated)
{
    attrs_reset();
    attr_ints("kernel_shape", INTS(3));
    attr_ints("strides", INTS(2));
    attr_ints("pads", INTS(1, 1));
    attr_int("ceil_mode", 1);
    pool_case("MaxPool", (int64_t[]){2, 2, 10}, 3, 1);
    attrs_reset();
    attr_ints("kernel_shape", INTS(2));
    attr_ints("dilations", INTS(3));
    attr_ints("pads", INTS(2, 0));
    pool_case("MaxPool", (int64_t[]){1, 2, 9}, 3, 1);
}

Test(grad_pool, maxpool1d_overlapping_same_upper)
{
    attrs_reset();
    attr_ints("kernel_shape", INTS(4));
    attr_string("auto_pad", "SAME_UPPER");
    pool_case("MaxPool", (int64_t[]){2, 2, 7}, 3, 1);
}

Test(grad_pool, maxpool2d_with_indices)
{
    attrs_reset();
    attr_ints("kernel_shape", INTS(2, 3));
    attr_ints("strides", INTS(2, 1));
    attr_ints("pads", INTS(1, 0, 0, 1));
    pool_case("MaxPool", (int64_t[]){2, 2, 5, 6}, 4, 2);
}

Test(grad_pool, maxpool2d_ceil_dilated)
{
    attrs_reset();
    attr_ints("kernel_shape", INTS(2, 2));
    attr_ints("strides", INTS(2, 2));
    attr_ints("dilations", INTS(1, 2));
    attr_int("ceil_mode", 1);
    pool_case("MaxPool", (int64_t[]){1, 3, 7, 8}, 4, 1);
}

Test(grad_pool, averagepool1d)
{
    attrs_reset();
    attr_ints("kernel_shape", INTS(3));
    attr_ints("strides", INTS(2));
    pool_case("AveragePool", (int64_t[]){2, 3, 11}, 3, 1);
}

Test(grad_pool, averagepool1d_pads_count_include_pad)
{
    for (int inc = 0; inc < 2; inc++)
        for (int ceil = 0; ceil < 2; ceil++) {
            attrs_reset();
            attr_ints("kernel_shape", INTS(3));
            attr_ints("strides", INTS(2));
            attr_ints("pads", INTS(1, 2));
            attr_int("count_include_pad", inc);
            attr_int("ceil_mode", ceil);
            pool_case("AveragePool", (int64_t[]){2, 2, 10}, 3, 1);
        }
}

Test(grad_pool, averagepool2d)
{
    for (int inc = 0; inc < 2; inc++) {
        attrs_reset();
        attr_ints("kernel_shape", INTS(3, 2));
        attr_ints("strides", INTS(2, 1));
        attr_ints("pads", INTS(1, 0, 1, 1));
        attr_int("count_include_pad", inc);
        pool_case("AveragePool", (int64_t[]){2, 2, 6, 5}, 4, 1);
    }
    attrs_reset();
    attr_ints("kernel_shape", INTS(2, 2));
    attr_ints("strides", INTS(3, 3));
    attr_ints("dilations", INTS(2, 1));
    attr_int("ceil_mode", 1);
    pool_case("AveragePool", (int64_t[]){1, 2, 8, 7}, 4, 1);
}

Test(grad_pool, global_pools)
{
    attrs_reset();
    pool_case("GlobalAveragePool", (int64_t[]){2, 3, 7}, 3, 1);
    pool_case("GlobalAveragePool", (int64_t[]){2, 2, 3, 4}, 4, 1);
    pool_case("GlobalMaxPool", (int64_t[]){2, 3, 7}, 3, 1);
    pool_case("GlobalMaxPool", (int64_t[]){2, 2, 3, 4}, 4, 1);
}

/* ---------------------------------------------------------------- BatchNormalization */

static void bn_case(const int64_t *dx, int rank, bool training, int n_out, bool stats_diff)
{
    attrs_reset();
    attr_float("epsilon", 1e-3f);
    if (training)
        attr_int("training_mode", 1);
    gc_case c = case_new("BatchNormalization", NULL);
    int64_t ch = dx[1];
    add_float(&c, dx, rank, -1.0f, 2.0f, true);
    add_float(&c, &ch, 1, 0.5f, 1.5f, true);   /* scale */
    add_float(&c, &ch, 1, -1.0f, 1.0f, true);  /* bias */
    add_float(&c, &ch, 1, -0.5f, 0.5f, stats_diff); /* mean */
    add_float(&c, &ch, 1, 0.5f, 1.5f, stats_diff);  /* var */
    c.n_out = n_out;
    c.loss_on[0] = true;
    check(&c);
}

Test(grad_batchnorm, training_mode)
{
    bn_case((int64_t[]){4, 3, 5}, 3, true, 1, false);
    bn_case((int64_t[]){3, 2, 3, 2}, 4, true, 3, false); /* with running statistics outputs */
    bn_case((int64_t[]){6, 4}, 2, true, 1, false);
}

Test(grad_batchnorm, training_mode_stats_inputs_get_zero)
{
    bn_case((int64_t[]){3, 2, 4}, 3, true, 1, true);
}

Test(grad_batchnorm, inference_mode)
{
    bn_case((int64_t[]){3, 3, 4}, 3, false, 1, true);
    bn_case((int64_t[]){2, 2, 3, 2}, 4, false, 1, true);
    bn_case((int64_t[]){5, 3}, 2, false, 1, true);
}

Test(grad_batchnorm, inference_mode_opset12)
{
    /* ReduceSum takes its axes as an attribute before opset 13 */
    attrs_reset();
    g_opset = 12;
    attr_float("epsilon", 1e-3f);
    gc_case c = case_new("BatchNormalization", NULL);
    int64_t ch = 3;
    add_float(&c, DIMS(2, 3, 4), -1.0f, 2.0f, true);
    add_float(&c, &ch, 1, 0.5f, 1.5f, true);
    add_float(&c, &ch, 1, -1.0f, 1.0f, true);
    add_float(&c, &ch, 1, -0.5f, 0.5f, true);
    add_float(&c, &ch, 1, 0.5f, 1.5f, true);
    check(&c);
}

/* ---------------------------------------------------------------- Softmax / LogSoftmax */

static void softmax_case(const char *op, int64_t axis, int64_t opset)
{
    attrs_reset();
    g_opset = opset;
    if (axis != INT64_MIN)
        attr_int("axis", axis);
    gc_case c = case_new(op, NULL);
    add_float(&c, DIMS(3, 4, 5), -2.0f, 2.0f, true);
    check(&c);
}

Test(grad_softmax, softmax_axes)
{
    softmax_case("Softmax", INT64_MIN, 0);
    softmax_case("Softmax", -1, 0);
    softmax_case("Softmax", 0, 0);
    softmax_case("Softmax", 1, 0);
}

Test(grad_softmax, logsoftmax_axes)
{
    softmax_case("LogSoftmax", INT64_MIN, 0);
    softmax_case("LogSoftmax", 2, 0);
    softmax_case("LogSoftmax", 0, 0);
    softmax_case("LogSoftmax", -2, 0);
}

Test(grad_softmax, opset11_flattened_axis)
{
    /* opset < 13: normalised over the flattened dims from axis on */
    softmax_case("Softmax", INT64_MIN, 11);
    softmax_case("Softmax", 0, 11);
    softmax_case("LogSoftmax", 1, 11);
    softmax_case("LogSoftmax", 2, 11);
}

/* ---------------------------------------------------------------- SoftmaxCrossEntropyLoss */

static void sce_case(const char *reduction, bool weights, bool ii, bool spatial, int n_out,
                     bool log_prob_loss)
{
    attrs_reset();
    if (reduction)
        attr_string("reduction", reduction);
    if (ii)
        attr_int("ignore_index", 2);
    gc_case c = case_new("SoftmaxCrossEntropyLoss", NULL);
    if (spatial) {
        add_float(&c, DIMS(3, 4, 2, 2), -2.0f, 2.0f, true);
        add_i64(&c, DIMS(3, 2, 2), (int64_t[]){0, 1, 2, 3, 3, 2, 1, 0, 2, 2, 1, 3});
    } else {
        add_float(&c, DIMS(5, 4), -2.0f, 2.0f, true);
        add_i64(&c, DIMS(5), (int64_t[]){1, 2, 0, 3, 1});
    }
    if (weights)
        add_float(&c, DIMS(4), 0.5f, 2.0f, false);
    c.n_out = n_out;
    c.loss_on[0] = true;
    c.loss_on[1] = log_prob_loss;
    check(&c);
}

Test(grad_sce, mean)
{
    sce_case(NULL, false, false, false, 1, false);
    sce_case("mean", true, false, false, 1, false);
    sce_case("mean", true, true, false, 1, false);
    sce_case("mean", false, true, true, 1, false);
    sce_case("mean", true, true, true, 1, false);
}

Test(grad_sce, sum)
{
    sce_case("sum", false, false, false, 1, false);
    sce_case("sum", true, true, false, 1, false);
    sce_case("sum", true, false, true, 1, false);
}

Test(grad_sce, none)
{
    sce_case("none", false, false, false, 1, false);
    sce_case("none", true, true, false, 1, false);
    sce_case("none", true, true, true, 1, false);
}

Test(grad_sce, log_prob_output_in_the_loss)
{
    sce_case("mean", true, true, false, 2, true);
    sce_case("none", false, false, true, 2, true);
    sce_case("sum", false, true, true, 2, false); /* log_prob computed but unused */
}

Test(grad_sce, int32_labels)
{
    attrs_reset();
    attr_int("ignore_index", 0);
    gc_case c = case_new("SoftmaxCrossEntropyLoss", NULL);
    add_float(&c, DIMS(4, 3), -2.0f, 2.0f, true);
    int32_t *l = malloc(4 * sizeof *l);
    l[0] = 2, l[1] = 0, l[2] = 1, l[3] = 1;
    gc_value(&c.in[c.n_in++], GRAPH_DT_INT32, 1, (int64_t[]){4}, l);
    check(&c);
}

/* ---------------------------------------------------------------- refusals */

/* A node with no gradient rule (here a gradient op itself) between the
 * parameters and the loss: autodiff fails and names the node. */
Test(grad_refusal, op_without_gradient_names_the_node)
{
    ssdc_error err = {0};
    graph *g = graph_new();
    graph_shape s;
    graph_shape_init(&s, 1, (int64_t[]){1});
    int x, y, loss;
    cr_assert_eq(graph_add_tensor(g, "x", GRAPH_DT_FLOAT, &s, GRAPH_TENSOR_INPUT, &x, &err), 0);
    cr_assert_eq(graph_add_tensor(g, "y", GRAPH_DT_FLOAT, &s, GRAPH_TENSOR_INPUT, &y, &err), 0);
    graph_add_input(g, x, &err);
    graph_add_input(g, y, &err);
    graph_add_tensor(g, "loss", GRAPH_DT_UNDEFINED, NULL, GRAPH_TENSOR_INTERMEDIATE, &loss, &err);
    int in[2] = {x, y};
    cr_assert_eq(graph_add_node(g, "second_order", "SoftmaxGrad", GRAPH_SSDC_DOMAIN, 2, in, 1,
                                &loss, NULL, &err),
                 0, "%s", err.msg);
    cr_assert_eq(graph_infer_shapes(g, &err), 0, "%s", err.msg);
    int grad;
    ssdc_status st = autodiff_build(g, loss, &x, 1, &grad, &err);
    cr_assert_eq(st, SSDC_ERR_UNSUPPORTED, "status %d: %s", st, err.msg);
    cr_assert(strstr(err.msg, "'second_order'") && strstr(err.msg, "SoftmaxGrad"),
              "message does not name the node: %s", err.msg);
    graph_free(g);
}

/* The class weights of SoftmaxCrossEntropyLoss get no gradient: a clear error. */
Test(grad_refusal, sce_weights_gradient)
{
    attrs_reset();
    ssdc_error err = {0};
    graph *g = graph_new();
    int x, l, w, loss;
    graph_shape sx, sl, sw;
    graph_shape_init(&sx, 2, (int64_t[]){2, 3});
    graph_shape_init(&sl, 1, (int64_t[]){2});
    graph_shape_init(&sw, 1, (int64_t[]){3});
    graph_add_tensor(g, "x", GRAPH_DT_FLOAT, &sx, GRAPH_TENSOR_INPUT, &x, &err);
    graph_add_tensor(g, "l", GRAPH_DT_INT64, &sl, GRAPH_TENSOR_INPUT, &l, &err);
    graph_add_tensor(g, "w", GRAPH_DT_FLOAT, &sw, GRAPH_TENSOR_INPUT, &w, &err);
    graph_add_tensor(g, "loss", GRAPH_DT_UNDEFINED, NULL, GRAPH_TENSOR_INTERMEDIATE, &loss, &err);
    int in[3] = {x, l, w};
    cr_assert_eq(graph_add_node(g, "ce", "SoftmaxCrossEntropyLoss", "", 3, in, 1, &loss, NULL,
                                &err),
                 0, "%s", err.msg);
    cr_assert_eq(graph_infer_shapes(g, &err), 0, "%s", err.msg);
    int grad;
    cr_assert_eq(autodiff_build(g, loss, &w, 1, &grad, &err), SSDC_ERR_UNSUPPORTED);
    cr_assert(strstr(err.msg, "'ce'") && strstr(err.msg, "weights"), "%s", err.msg);
    graph_free(g);
}

/* ---------------------------------------------------------------- SCE forward */

/* Forward SoftmaxCrossEntropyLoss against a direct computation, including the
 * mean over the non-ignored labels' weights and out-of-range labels. */
Test(sce_forward, matches_reference_and_rejects_bad_labels)
{
    ssdc_error err = {0};
    graph *g = graph_new();
    int x, l, w, loss, lp, node;
    graph_shape sx, sl, sw;
    graph_shape_init(&sx, 3, (int64_t[]){2, 3, 2});
    graph_shape_init(&sl, 2, (int64_t[]){2, 2});
    graph_shape_init(&sw, 1, (int64_t[]){3});
    graph_add_tensor(g, "x", GRAPH_DT_FLOAT, &sx, GRAPH_TENSOR_INPUT, &x, &err);
    graph_add_tensor(g, "l", GRAPH_DT_INT64, &sl, GRAPH_TENSOR_INPUT, &l, &err);
    graph_add_tensor(g, "w", GRAPH_DT_FLOAT, &sw, GRAPH_TENSOR_INPUT, &w, &err);
    graph_add_input(g, x, &err);
    graph_add_input(g, l, &err);
    graph_add_input(g, w, &err);
    graph_add_tensor(g, "loss", GRAPH_DT_UNDEFINED, NULL, GRAPH_TENSOR_INTERMEDIATE, &loss, &err);
    graph_add_tensor(g, "lp", GRAPH_DT_UNDEFINED, NULL, GRAPH_TENSOR_INTERMEDIATE, &lp, &err);
    int in[3] = {x, l, w}, out[2] = {loss, lp};
    cr_assert_eq(graph_add_node(g, "ce", "SoftmaxCrossEntropyLoss", "", 3, in, 2, out, &node,
                                &err),
                 0, "%s", err.msg);
    graph_node_set_int(g, node, "ignore_index", -1, &err);
    graph_add_output(g, loss, &err);
    graph_add_output(g, lp, &err);
    cr_assert_eq(graph_infer_shapes(g, &err), 0, "%s", err.msg);
    cr_assert_eq(g->tensors[loss].shape.rank, 0);
    float xd[12];
    gc_fill_f32(xd, 12, -2.0f, 2.0f, 9);
    int64_t ld[4] = {2, -1, 0, 1};
    float wd[3] = {0.5f, 2.0f, 1.5f};
    graph_value inputs[3];
    gc_value(&inputs[0], GRAPH_DT_FLOAT, 3, sx.dims, xd);
    gc_value(&inputs[1], GRAPH_DT_INT64, 2, sl.dims, ld);
    gc_value(&inputs[2], GRAPH_DT_FLOAT, 1, sw.dims, wd);
    rt_session *s = NULL;
    cr_assert_eq(rt_session_create(g, NULL, &s, &err), 0, "%s", err.msg);
    cr_assert_eq(rt_session_run(s, inputs, &err), 0, "%s", err.msg);
    double num = 0, den = 0;
    for (int n = 0; n < 2; n++)
        for (int d = 0; d < 2; d++) {
            int64_t lab = ld[n * 2 + d];
            double mx = -INFINITY, se = 0;
            for (int c = 0; c < 3; c++)
                mx = fmax(mx, xd[(n * 3 + c) * 2 + d]);
            for (int c = 0; c < 3; c++)
                se += exp(xd[(n * 3 + c) * 2 + d] - mx);
            for (int c = 0; c < 3; c++) {
                double ref = xd[(n * 3 + c) * 2 + d] - mx - log(se);
                float got = ((const float *)rt_session_output(s, 1)->data)[(n * 3 + c) * 2 + d];
                cr_assert_float_eq(got, ref, 1e-5);
            }
            if (lab == -1)
                continue;
            num += -(xd[(n * 3 + lab) * 2 + d] - mx - log(se)) * wd[lab];
            den += wd[lab];
        }
    float got = *(const float *)rt_session_output(s, 0)->data;
    cr_assert_float_eq(got, num / den, 1e-5, "loss %g, expected %g", got, num / den);
    ld[3] = 3; /* out of range */
    cr_assert_eq(rt_session_run(s, inputs, &err), SSDC_ERR_INVALID);
    cr_assert(strstr(err.msg, "'ce'") && strstr(err.msg, "label 3"), "%s", err.msg);
    rt_session_free(s);
    graph_free(g);
}

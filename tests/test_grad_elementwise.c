/* Gradients of the elementwise, activation, data-movement and reduction ops
 * (passes/grad/elementwise.c, passes/grad/shape.c, the gradient ops of
 * graph/ops/training_elementwise.c and their kernels) checked against
 * central finite differences, in double wherever the forward kernel has
 * double, plus tests of the autodiff framework itself (fan-out, unused
 * parameters, diamonds, symbolic shapes). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "passes/autodiff.h"
#include "runtime/exec.h"
#include "tests/gradcheck.h"

#define F32 GRAPH_DT_FLOAT
#define F64 GRAPH_DT_DOUBLE
#define DIMS(...) ((const int64_t[]){__VA_ARGS__})

/* ---- single-op cases through gradcheck() ---- */

/* Attributes the next case's node gets (gc_case.attrs has no user data). */
typedef struct {
    const char *name;
    graph_attr_type type;
    int64_t i;
    float f;
    const char *s;
    int64_t ints[GRAPH_MAX_RANK];
    size_t n;
} t_attr;

static t_attr g_attrs[4];
static int g_n_attrs;

static void apply_attrs(graph *g, int node)
{
    ssdc_error err = {0};
    for (int k = 0; k < g_n_attrs; k++) {
        const t_attr *a = &g_attrs[k];
        ssdc_status st = SSDC_OK;
        switch (a->type) {
        case GRAPH_ATTR_INT: st = graph_node_set_int(g, node, a->name, a->i, &err); break;
        case GRAPH_ATTR_FLOAT: st = graph_node_set_float(g, node, a->name, a->f, &err); break;
        case GRAPH_ATTR_STRING: st = graph_node_set_string(g, node, a->name, a->s, &err); break;
        case GRAPH_ATTR_INTS: st = graph_node_set_ints(g, node, a->name, a->ints, a->n, &err); break;
        default: cr_assert_fail("attribute type");
        }
        cr_assert_eq(st, SSDC_OK, "%s", err.msg);
    }
}

typedef struct {
    gc_case c;
    void *bufs[GC_MAX_IO];
} tcase;

static void t_init(tcase *t, const char *op, int n_in, int n_out)
{
    memset(t, 0, sizeof *t);
    t->c.op_type = op;
    t->c.n_in = n_in;
    t->c.n_out = n_out;
    t->c.attrs = apply_attrs;
    t->c.seed = 11;
    g_n_attrs = 0;
}

static void a_int(const char *name, int64_t v)
{
    g_attrs[g_n_attrs++] = (t_attr){.name = name, .type = GRAPH_ATTR_INT, .i = v};
}

static void a_float(const char *name, float v)
{
    g_attrs[g_n_attrs++] = (t_attr){.name = name, .type = GRAPH_ATTR_FLOAT, .f = v};
}

static void a_str(const char *name, const char *v)
{
    g_attrs[g_n_attrs++] = (t_attr){.name = name, .type = GRAPH_ATTR_STRING, .s = v};
}

static void a_ints(const char *name, int n, const int64_t *v)
{
    t_attr a = {.name = name, .type = GRAPH_ATTR_INTS, .n = (size_t)n};
    memcpy(a.ints, v, (size_t)n * sizeof *v);
    g_attrs[g_n_attrs++] = a;
}

/* Keeps |x - p| >= margin for every p in pts (kinks: finite differences
 * across them are meaningless). */
static double keep_off(double x, const double *pts, int n, double margin)
{
    for (int k = 0; k < n; k++)
        if (fabs(x - pts[k]) < margin)
            x = x < pts[k] ? pts[k] - margin : pts[k] + margin;
    return x;
}

/* Input i: random floating tensor in [lo, hi), differentiated. */
static void *t_float(tcase *t, int i, graph_dtype dt, int rank, const int64_t *dims, double lo,
                     double hi)
{
    int64_t n = 1;
    for (int d = 0; d < rank; d++)
        n *= dims[d];
    void *buf = malloc((size_t)(n ? n : 1) * graph_dtype_size(dt));
    if (dt == F64)
        gc_fill_f64(buf, n, lo, hi, t->c.seed * 31 + (uint64_t)i);
    else
        gc_fill_f32(buf, n, (float)lo, (float)hi, t->c.seed * 31 + (uint64_t)i);
    t->bufs[i] = buf;
    gc_value(&t->c.in[i], dt, rank, dims, buf);
    t->c.diff[i] = true;
    return buf;
}

static double *t_f64(tcase *t, int i, int rank, const int64_t *dims, double lo, double hi)
{
    return t_float(t, i, F64, rank, dims, lo, hi);
}

static float *t_f32(tcase *t, int i, int rank, const int64_t *dims, double lo, double hi)
{
    return t_float(t, i, F32, rank, dims, lo, hi);
}

/* Input i: a constant of n bytes-sized elements copied from v. */
static void t_const(tcase *t, int i, graph_dtype dt, int rank, const int64_t *dims, const void *v)
{
    int64_t n = 1;
    for (int d = 0; d < rank; d++)
        n *= dims[d];
    size_t bytes = (size_t)n * graph_dtype_size(dt);
    void *buf = malloc(bytes ? bytes : 1);
    memcpy(buf, v, bytes);
    t->bufs[i] = buf;
    gc_value(&t->c.in[i], dt, rank, dims, buf);
    t->c.is_const[i] = true;
}

static void t_i64(tcase *t, int i, int n, const int64_t *v)
{
    t_const(t, i, GRAPH_DT_INT64, 1, DIMS(n), v);
}

static void t_scalar_f64(tcase *t, int i, double v)
{
    t_const(t, i, F64, 0, NULL, &v);
}

static double t_run(tcase *t)
{
    double worst = gradcheck(&t->c);
    for (int i = 0; i < GC_MAX_IO; i++)
        free(t->bufs[i]);
    return worst;
}

static int64_t numel_of(const graph_value *v)
{
    return v->numel;
}

/* ---- arithmetic with broadcasting ---- */

static const char *const binary_ops[] = {"Add", "Sub", "Mul", "Div"};

/* a op b for every binary op over one pair of shapes, in double */
static void binary_case(int ra, const int64_t *da, int rb, const int64_t *db)
{
    for (size_t k = 0; k < sizeof binary_ops / sizeof *binary_ops; k++) {
        tcase t;
        t_init(&t, binary_ops[k], 2, 1);
        t_f64(&t, 0, ra, da, -2, 2);
        double *b = t_f64(&t, 1, rb, db, 0.5, 2); /* away from 0 for Div */
        int64_t nb = numel_of(&t.c.in[1]);
        for (int64_t j = 0; j < nb; j += 2)
            b[j] = -b[j];
        t_run(&t);
    }
}

Test(grad_arith, same_shape)
{
    binary_case(3, DIMS(2, 3, 4), 3, DIMS(2, 3, 4));
}

Test(grad_arith, broadcast_trailing)
{
    binary_case(3, DIMS(2, 3, 4), 1, DIMS(4));
    binary_case(1, DIMS(4), 3, DIMS(2, 3, 4));
}

Test(grad_arith, broadcast_both_ways)
{
    binary_case(3, DIMS(2, 1, 4), 2, DIMS(3, 1));
}

Test(grad_arith, scalar)
{
    binary_case(2, DIMS(2, 3), 0, NULL);
    binary_case(0, NULL, 2, DIMS(2, 3));
    binary_case(2, DIMS(2, 3), 1, DIMS(1));
}

Test(grad_arith, float_broadcast)
{
    tcase t;
    t_init(&t, "Add", 2, 1);
    t_f32(&t, 0, 3, DIMS(2, 3, 4), -1, 1);
    t_f32(&t, 1, 3, DIMS(1, 3, 1), -1, 1);
    t_run(&t);
    t_init(&t, "Mul", 2, 1);
    t_f32(&t, 0, 4, DIMS(3, 2, 5, 4), -1, 1);
    t_f32(&t, 1, 2, DIMS(5, 1), -1, 1);
    t_run(&t);
}

Test(grad_arith, one_side_only)
{
    /* b is a fed input without a gradient: only a's is built */
    tcase t;
    t_init(&t, "Div", 2, 1);
    t_f64(&t, 0, 2, DIMS(3, 4), -2, 2);
    t_f64(&t, 1, 1, DIMS(4), 0.5, 2);
    t.c.diff[1] = false;
    t_run(&t);
}

Test(grad_arith, pow_both)
{
    tcase t;
    t_init(&t, "Pow", 2, 1);
    t_f64(&t, 0, 2, DIMS(3, 4), 0.5, 2);
    t_f64(&t, 1, 1, DIMS(4), -1.5, 2.5);
    t_run(&t);
}

Test(grad_arith, pow_constant_exponent)
{
    tcase t;
    t_init(&t, "Pow", 2, 1);
    t_f64(&t, 0, 2, DIMS(3, 4), -2, 2);
    t_scalar_f64(&t, 1, 3.0);
    t_run(&t);
    /* integer exponent of another dtype: cast inside the rule */
    t_init(&t, "Pow", 2, 1);
    t_f64(&t, 0, 2, DIMS(3, 4), -2, 2);
    int64_t e = 2;
    t_const(&t, 1, GRAPH_DT_INT64, 0, NULL, &e);
    t_run(&t);
}

/* ---- unary math and activations ---- */

/* One unary op in double over x in [lo, hi), kept off the listed kinks. */
static void unary_case(const char *op, graph_dtype dt, double lo, double hi, const double *kinks,
                       int n_kinks)
{
    tcase t;
    t_init(&t, op, 1, 1);
    void *x = t_float(&t, 0, dt, 3, DIMS(2, 3, 5), lo, hi);
    double margin = dt == F64 ? 1e-3 : 0.05;
    for (int64_t j = 0; j < 30; j++) {
        if (dt == F64)
            ((double *)x)[j] = keep_off(((double *)x)[j], kinks, n_kinks, margin);
        else
            ((float *)x)[j] = (float)keep_off(((float *)x)[j], kinks, n_kinks, margin);
    }
    t_run(&t);
}

static const double zero_kink[] = {0.0};

Test(grad_unary, math)
{
    unary_case("Sqrt", F64, 0.2, 3, NULL, 0);
    unary_case("Exp", F64, -2, 2, NULL, 0);
    unary_case("Log", F64, 0.2, 3, NULL, 0);
    unary_case("Neg", F64, -2, 2, NULL, 0);
    unary_case("Abs", F64, -2, 2, zero_kink, 1);
    unary_case("Reciprocal", F64, 0.5, 2, NULL, 0);
    unary_case("Reciprocal", F64, -2, -0.5, NULL, 0);
}

Test(grad_unary, activations_double)
{
    unary_case("Relu", F64, -2, 2, zero_kink, 1);
    unary_case("Sigmoid", F64, -4, 4, NULL, 0);
    unary_case("Tanh", F64, -3, 3, NULL, 0);
    unary_case("Softplus", F64, -4, 4, NULL, 0);
}

Test(grad_unary, activations_float)
{
    unary_case("Relu", F32, -2, 2, zero_kink, 1);
    unary_case("Sigmoid", F32, -4, 4, NULL, 0);
    unary_case("Tanh", F32, -2, 2, NULL, 0);
}

Test(grad_unary, leakyrelu_and_elu)
{
    tcase t;
    t_init(&t, "LeakyRelu", 1, 1);
    a_float("alpha", 0.1f);
    double *x = t_f64(&t, 0, 2, DIMS(4, 6), -2, 2);
    for (int j = 0; j < 24; j++)
        x[j] = keep_off(x[j], zero_kink, 1, 1e-3);
    t_run(&t);
    /* default alpha (0.01) */
    unary_case("LeakyRelu", F64, -2, 2, zero_kink, 1);
    t_init(&t, "Elu", 1, 1);
    a_float("alpha", 0.7f);
    x = t_f64(&t, 0, 2, DIMS(4, 6), -2, 2);
    for (int j = 0; j < 24; j++)
        x[j] = keep_off(x[j], zero_kink, 1, 1e-3);
    t_run(&t);
    unary_case("Elu", F64, -2, 2, zero_kink, 1);
}

/* ---- Clip ---- */

static void clip_x(tcase *t, double lo, double hi)
{
    double *x = t_f64(t, 0, 2, DIMS(5, 6), -2, 2);
    double kinks[2] = {lo, hi};
    for (int j = 0; j < 30; j++)
        x[j] = keep_off(x[j], kinks, 2, 1e-3);
}

Test(grad_clip, min_max_inputs)
{
    tcase t;
    t_init(&t, "Clip", 3, 1);
    clip_x(&t, -0.5, 0.7);
    t_scalar_f64(&t, 1, -0.5);
    t_scalar_f64(&t, 2, 0.7);
    t_run(&t);
}

Test(grad_clip, max_only)
{
    tcase t;
    t_init(&t, "Clip", 3, 1);
    clip_x(&t, 0.3, 0.3);
    t.c.omitted[1] = true;
    t_scalar_f64(&t, 2, 0.3);
    t_run(&t);
}

Test(grad_clip, min_only_float)
{
    tcase t;
    t_init(&t, "Clip", 2, 1);
    float *x = t_f32(&t, 0, 2, DIMS(5, 6), -2, 2);
    for (int j = 0; j < 30; j++)
        x[j] = (float)keep_off(x[j], (const double[]){-0.25}, 1, 0.05);
    float lo = -0.25f;
    t_const(&t, 1, F32, 0, NULL, &lo);
    t_run(&t);
}

Test(grad_clip, bounds_get_gradients)
{
    tcase t;
    t_init(&t, "Clip", 3, 1);
    clip_x(&t, -0.5, 0.7);
    t_f64(&t, 1, 0, NULL, 0, 0);
    t_f64(&t, 2, 1, DIMS(1), 0, 0);
    ((double *)t.bufs[1])[0] = -0.5;
    ((double *)t.bufs[2])[0] = 0.7;
    t_run(&t);
}

Test(grad_clip, clip6_attributes)
{
    tcase t;
    t_init(&t, "Clip", 1, 1);
    a_float("min", -0.5f);
    a_float("max", 0.75f);
    clip_x(&t, -0.5, 0.75);
    t_run(&t);
}

/* ---- Where ---- */

Test(grad_where, broadcast_values)
{
    tcase t;
    t_init(&t, "Where", 3, 1);
    uint8_t cond[24];
    for (int j = 0; j < 24; j++)
        cond[j] = (j * 7 + 3) % 5 < 2;
    t_const(&t, 0, GRAPH_DT_BOOL, 3, DIMS(2, 3, 4), cond);
    t_f64(&t, 1, 3, DIMS(2, 3, 4), -2, 2);
    t_f64(&t, 2, 1, DIMS(4), -2, 2);
    t_run(&t);
}

Test(grad_where, broadcast_condition)
{
    tcase t;
    t_init(&t, "Where", 3, 1);
    uint8_t cond[4] = {1, 0, 0, 1};
    t_const(&t, 0, GRAPH_DT_BOOL, 2, DIMS(4, 1), cond);
    t_f64(&t, 1, 2, DIMS(1, 3), -2, 2);
    t_f64(&t, 2, 0, NULL, -2, 2);
    t_run(&t);
}

/* ---- Dropout ---- */

Test(grad_dropout, training_run_option)
{
    /* mask drawn at step 7 and replayed by every finite-difference run */
    tcase t;
    t_init(&t, "Dropout", 2, 1);
    t_f64(&t, 0, 2, DIMS(6, 8), -2, 2);
    t_scalar_f64(&t, 1, 0.4);
    t.c.training = true;
    t.c.seed = 5;
    t_run(&t);
}

Test(grad_dropout, training_mode_input_and_mask_output)
{
    tcase t;
    t_init(&t, "Dropout", 3, 2);
    t_f64(&t, 0, 3, DIMS(2, 5, 4), -2, 2);
    t_scalar_f64(&t, 1, 0.25);
    uint8_t on = 1;
    t_const(&t, 2, GRAPH_DT_BOOL, 0, NULL, &on);
    t_run(&t);
}

Test(grad_dropout, training_float_ratio_attribute)
{
    tcase t;
    t_init(&t, "Dropout", 1, 1);
    a_float("ratio", 0.5f);
    t_f32(&t, 0, 2, DIMS(8, 8), -1, 1);
    t.c.training = true;
    t_run(&t);
}

Test(grad_dropout, inference_is_identity)
{
    /* not training: Y = X, and dX = dY (not scaled by 1 / (1 - ratio)) */
    tcase t;
    t_init(&t, "Dropout", 2, 1);
    t_f64(&t, 0, 2, DIMS(4, 5), -2, 2);
    t_scalar_f64(&t, 1, 0.4);
    t_run(&t);
    t_init(&t, "Dropout", 3, 1);
    t_f64(&t, 0, 2, DIMS(4, 5), -2, 2);
    t_scalar_f64(&t, 1, 0.4);
    uint8_t off = 0;
    t_const(&t, 2, GRAPH_DT_BOOL, 0, NULL, &off);
    t_run(&t);
}

/* ---- variadic, Cast, Identity ---- */

Test(grad_variadic, sum_and_mean)
{
    const char *ops[] = {"Sum", "Mean"};
    for (int k = 0; k < 2; k++) {
        tcase t;
        t_init(&t, ops[k], 3, 1);
        t_f64(&t, 0, 3, DIMS(2, 3, 4), -2, 2);
        t_f64(&t, 1, 1, DIMS(4), -2, 2);
        t_f64(&t, 2, 2, DIMS(3, 1), -2, 2);
        t_run(&t);
        t_init(&t, ops[k], 1, 1);
        t_f64(&t, 0, 2, DIMS(3, 4), -2, 2);
        t_run(&t);
    }
}

Test(grad_variadic, max_min)
{
    const char *ops[] = {"Max", "Min"};
    for (int k = 0; k < 2; k++) {
        tcase t;
        t_init(&t, ops[k], 2, 1);
        t_f64(&t, 0, 2, DIMS(3, 4), -2, 2);
        t_f64(&t, 1, 2, DIMS(3, 4), -2, 2);
        t_run(&t);
        t_init(&t, ops[k], 3, 1);
        t_f64(&t, 0, 3, DIMS(2, 3, 4), -2, 2);
        t_f64(&t, 1, 1, DIMS(4), -2, 2);
        t_f64(&t, 2, 2, DIMS(3, 1), -2, 2);
        t_run(&t);
        /* only the middle input needs a gradient */
        t_init(&t, ops[k], 3, 1);
        t_f64(&t, 0, 2, DIMS(3, 4), -2, 2);
        t_f64(&t, 1, 2, DIMS(3, 4), -2, 2);
        t_f64(&t, 2, 2, DIMS(3, 4), -2, 2);
        t.c.diff[0] = t.c.diff[2] = false;
        t_run(&t);
    }
}

Test(grad_misc, cast_float_double)
{
    tcase t;
    t_init(&t, "Cast", 1, 1);
    a_int("to", F64);
    t_f32(&t, 0, 2, DIMS(3, 4), -2, 2);
    t_run(&t);
    t_init(&t, "Cast", 1, 1);
    a_int("to", F32);
    t_f64(&t, 0, 2, DIMS(3, 4), -2, 2);
    t.c.eps = 1e-2;
    t.c.atol = 1e-4;
    t.c.rtol = 1e-4;
    t_run(&t);
}

Test(grad_misc, identity)
{
    tcase t;
    t_init(&t, "Identity", 1, 1);
    t_f64(&t, 0, 2, DIMS(3, 4), -2, 2);
    t_run(&t);
}

/* ---- reshaping ---- */

Test(grad_shape, reshape_flatten_squeeze_unsqueeze)
{
    tcase t;
    t_init(&t, "Reshape", 2, 1);
    t_f64(&t, 0, 3, DIMS(2, 3, 4), -2, 2);
    t_i64(&t, 1, 2, DIMS(4, -1));
    t_run(&t);
    t_init(&t, "Flatten", 1, 1);
    a_int("axis", 2);
    t_f64(&t, 0, 4, DIMS(2, 3, 2, 2), -2, 2);
    t_run(&t);
    t_init(&t, "Squeeze", 2, 1);
    t_f64(&t, 0, 3, DIMS(2, 1, 4), -2, 2);
    t_i64(&t, 1, 1, DIMS(1));
    t_run(&t);
    t_init(&t, "Unsqueeze", 2, 1);
    t_f64(&t, 0, 2, DIMS(3, 4), -2, 2);
    t_i64(&t, 1, 2, DIMS(0, -1));
    t_run(&t);
}

Test(grad_shape, transpose_perms)
{
    static const int64_t perms[][4] = {{2, 0, 1}, {1, 0, 2}, {0, 2, 1}, {1, 2, 0}};
    for (int k = 0; k < 4; k++) {
        tcase t;
        t_init(&t, "Transpose", 1, 1);
        a_ints("perm", 3, perms[k]);
        t_f64(&t, 0, 3, DIMS(2, 3, 4), -2, 2);
        t_run(&t);
    }
    tcase t;
    t_init(&t, "Transpose", 1, 1); /* no perm: reversed axes */
    t_f64(&t, 0, 3, DIMS(2, 3, 4), -2, 2);
    t_run(&t);
    t_init(&t, "Transpose", 1, 1);
    a_ints("perm", 4, DIMS(0, 2, 3, 1));
    t_f64(&t, 0, 4, DIMS(2, 3, 4, 5), -2, 2);
    t.c.max_checks = 40;
    t_run(&t);
}

Test(grad_shape, concat_axes)
{
    for (int axis = -1; axis < 3; axis++) {
        int a = axis < 0 ? axis + 3 : axis;
        int64_t d0[3] = {2, 3, 4}, d1[3] = {2, 3, 4}, d2[3] = {2, 3, 4};
        d0[a] = 1, d1[a] = 3, d2[a] = 2;
        tcase t;
        t_init(&t, "Concat", 3, 1);
        a_int("axis", axis);
        t_f64(&t, 0, 3, d0, -2, 2);
        t_f64(&t, 1, 3, d1, -2, 2);
        t_f64(&t, 2, 3, d2, -2, 2);
        t.c.diff[1] = axis != 1; /* a fed input without a gradient in one case */
        t_run(&t);
    }
}

Test(grad_shape, split_axes_and_unused_outputs)
{
    tcase t;
    t_init(&t, "Split", 2, 3);
    a_int("axis", 1);
    t_f64(&t, 0, 3, DIMS(2, 6, 3), -2, 2);
    t_i64(&t, 1, 3, DIMS(1, 2, 3));
    t_run(&t);
    /* output 1 not in the loss: its part of dX is zero */
    t_init(&t, "Split", 2, 3);
    a_int("axis", -1);
    t_f64(&t, 0, 2, DIMS(3, 7), -2, 2);
    t_i64(&t, 1, 3, DIMS(3, 1, 3));
    t.c.loss_on[0] = t.c.loss_on[2] = true;
    t_run(&t);
    /* equal parts along axis 0, only the middle one used */
    t_init(&t, "Split", 1, 3);
    t_f64(&t, 0, 2, DIMS(6, 2), -2, 2);
    t.c.loss_on[1] = true;
    t_run(&t);
}

/* ---- Slice ---- */

static void slice_case(int rank, const int64_t *dims, int n, const int64_t *starts,
                       const int64_t *ends, const int64_t *axes, const int64_t *steps)
{
    tcase t;
    t_init(&t, "Slice", steps ? 5 : axes ? 4 : 3, 1);
    t_f64(&t, 0, rank, dims, -2, 2);
    t_i64(&t, 1, n, starts);
    t_i64(&t, 2, n, ends);
    if (axes)
        t_i64(&t, 3, n, axes);
    else if (steps)
        t.c.omitted[3] = true;
    if (steps)
        t_i64(&t, 4, n, steps);
    t_run(&t);
}

Test(grad_slice, contiguous_and_strided)
{
    slice_case(2, DIMS(5, 6), 2, DIMS(1, 0), DIMS(4, 6), NULL, NULL);
    slice_case(3, DIMS(4, 5, 6), 2, DIMS(1, 0), DIMS(1000, 5), DIMS(2, 0), DIMS(2, 1));
    slice_case(3, DIMS(4, 5, 6), 1, DIMS(-4), DIMS(-1), DIMS(1), NULL);
    slice_case(2, DIMS(5, 6), 2, DIMS(0, 1), DIMS(5, 6), NULL, DIMS(3, 2)); /* axes omitted */
}

Test(grad_slice, negative_steps)
{
    /* reverse an axis */
    slice_case(2, DIMS(4, 6), 1, DIMS(-1), DIMS(INT64_MIN), DIMS(1), DIMS(-1));
    /* every other element backwards on two axes, clamped starts */
    slice_case(3, DIMS(3, 5, 7), 2, DIMS(100, 5), DIMS(-100, 0), DIMS(2, 1), DIMS(-2, -3));
}

/* ---- Pad ---- */

static void pad_case(const char *mode, int rank, const int64_t *dims, int n_pads,
                     const int64_t *pads, int n_axes, const int64_t *axes)
{
    tcase t;
    t_init(&t, "Pad", n_axes ? 4 : 2, 1);
    a_str("mode", mode);
    t_f64(&t, 0, rank, dims, -2, 2);
    t_i64(&t, 1, n_pads, pads);
    if (n_axes) {
        t.c.omitted[2] = true;
        t_i64(&t, 3, n_axes, axes);
    }
    t_run(&t);
}

Test(grad_pad, constant)
{
    pad_case("constant", 2, DIMS(3, 4), 4, DIMS(1, 2, 0, 3), 0, NULL);
    pad_case("constant", 3, DIMS(2, 3, 4), 6, DIMS(0, -1, 1, 1, 1, -2), 0, NULL); /* crops */
}

Test(grad_pad, reflect)
{
    pad_case("reflect", 2, DIMS(3, 4), 4, DIMS(2, 1, 1, 3), 0, NULL);
    pad_case("reflect", 3, DIMS(2, 3, 4), 6, DIMS(1, 0, 2, 0, 2, 3), 0, NULL);
}

Test(grad_pad, edge)
{
    pad_case("edge", 2, DIMS(3, 4), 4, DIMS(2, 1, 3, 2), 0, NULL);
    pad_case("edge", 3, DIMS(2, 1, 4), 6, DIMS(1, 2, 0, 0, 3, 1), 0, NULL);
}

Test(grad_pad, axes_input)
{
    pad_case("reflect", 3, DIMS(2, 3, 4), 4, DIMS(1, 2, 1, 3), 2, DIMS(-1, 1));
    pad_case("constant", 3, DIMS(2, 3, 4), 2, DIMS(2, 1), 1, DIMS(0));
}

Test(grad_pad, constant_value_gets_gradient)
{
    tcase t;
    t_init(&t, "Pad", 3, 1);
    t_f64(&t, 0, 2, DIMS(3, 4), -2, 2);
    t_i64(&t, 1, 4, DIMS(1, 0, 2, 1));
    t_f64(&t, 2, 0, NULL, 0.5, 1);
    t_run(&t);
}

/* ---- Gather ---- */

static void gather_case(int axis, int rank, const int64_t *dims, int irank, const int64_t *idims,
                        const int64_t *idx)
{
    tcase t;
    t_init(&t, "Gather", 2, 1);
    a_int("axis", axis);
    t_f64(&t, 0, rank, dims, -2, 2);
    t_const(&t, 1, GRAPH_DT_INT64, irank, idims, idx);
    t_run(&t);
}

Test(grad_gather, axes_and_repeated_indices)
{
    gather_case(0, 2, DIMS(5, 3), 1, DIMS(6), DIMS(4, 0, 4, -1, 2, 0));
    gather_case(1, 3, DIMS(2, 5, 3), 2, DIMS(2, 3), DIMS(1, 1, 0, -5, 3, 1));
    gather_case(-1, 3, DIMS(2, 3, 4), 1, DIMS(5), DIMS(3, 3, 3, 0, -2));
    gather_case(0, 1, DIMS(6), 0, NULL, DIMS(2)); /* scalar index */
}

Test(grad_gather, int32_indices_float)
{
    tcase t;
    t_init(&t, "Gather", 2, 1);
    a_int("axis", 1);
    t_f32(&t, 0, 2, DIMS(3, 4), -1, 1);
    int32_t idx[5] = {3, 0, 3, 3, -1};
    t_const(&t, 1, GRAPH_DT_INT32, 1, DIMS(5), idx);
    t_run(&t);
}

/* ---- Expand, Tile ---- */

Test(grad_expand, broadcast)
{
    tcase t;
    t_init(&t, "Expand", 2, 1);
    t_f64(&t, 0, 2, DIMS(3, 1), -2, 2);
    t_i64(&t, 1, 3, DIMS(2, 3, 4));
    t_run(&t);
    t_init(&t, "Expand", 2, 1);
    t_f64(&t, 0, 3, DIMS(2, 3, 4), -2, 2);
    t_i64(&t, 1, 2, DIMS(3, 1)); /* no-op expand */
    t_run(&t);
}

Test(grad_tile, repeats)
{
    tcase t;
    t_init(&t, "Tile", 2, 1);
    t_f64(&t, 0, 2, DIMS(2, 3), -2, 2);
    t_i64(&t, 1, 2, DIMS(3, 2));
    t_run(&t);
    t_init(&t, "Tile", 2, 1);
    t_f64(&t, 0, 3, DIMS(2, 1, 3), -2, 2);
    t_i64(&t, 1, 3, DIMS(1, 4, 1));
    t_run(&t);
}

/* ---- reductions ---- */

static void reduce_case(const char *op, bool axes_input, int keepdims, int n_axes,
                        const int64_t *axes)
{
    tcase t;
    t_init(&t, op, axes_input ? 2 : 1, 1);
    if (keepdims >= 0)
        a_int("keepdims", keepdims);
    t_f64(&t, 0, 3, DIMS(2, 3, 4), -2, 2);
    if (axes_input)
        t_i64(&t, 1, n_axes, axes);
    else if (n_axes)
        a_ints("axes", n_axes, axes);
    t_run(&t);
}

Test(grad_reduce, sum)
{
    for (int kd = 0; kd < 2; kd++) {
        reduce_case("ReduceSum", true, kd, 1, DIMS(1));
        reduce_case("ReduceSum", true, kd, 2, DIMS(0, -1));
        reduce_case("ReduceSum", false, kd, 0, NULL); /* all axes */
    }
    reduce_case("ReduceSum", true, -1, 1, DIMS(2)); /* default keepdims = 1 */
}

Test(grad_reduce, sum_noop_with_empty_axes)
{
    tcase t;
    t_init(&t, "ReduceSum", 1, 1);
    a_int("noop_with_empty_axes", 1);
    t_f64(&t, 0, 2, DIMS(3, 4), -2, 2);
    t_run(&t);
}

Test(grad_reduce, mean)
{
    for (int kd = 0; kd < 2; kd++) {
        reduce_case("ReduceMean", false, kd, 1, DIMS(1));
        reduce_case("ReduceMean", false, kd, 2, DIMS(2, 0));
        reduce_case("ReduceMean", false, kd, 0, NULL);
        reduce_case("ReduceMean", true, kd, 1, DIMS(-1)); /* opset-18 axes input */
    }
}

Test(grad_reduce, max_min)
{
    const char *ops[] = {"ReduceMax", "ReduceMin"};
    for (int k = 0; k < 2; k++)
        for (int kd = 0; kd < 2; kd++) {
            reduce_case(ops[k], false, kd, 1, DIMS(1));
            reduce_case(ops[k], false, kd, 2, DIMS(0, 2));
            reduce_case(ops[k], false, kd, 0, NULL);
        }
}

Test(grad_reduce, float_mean_keepdims0)
{
    tcase t;
    t_init(&t, "ReduceMean", 1, 1);
    a_int("keepdims", 0);
    a_ints("axes", 1, DIMS(0));
    t_f32(&t, 0, 2, DIMS(5, 3), -1, 1);
    t_run(&t);
}

/* ---- the framework: multi-node graphs ---- */

static ssdc_error gerr;

static int mk_tensor(graph *g, const char *name)
{
    int t;
    cr_assert_eq(graph_add_tensor(g, name, GRAPH_DT_UNDEFINED, NULL, GRAPH_TENSOR_INTERMEDIATE, &t,
                                  &gerr), SSDC_OK, "%s", gerr.msg);
    return t;
}

static int mk_input(graph *g, const char *name, graph_dtype dt, int rank, const int64_t *dims,
                    const char *sym0)
{
    graph_shape s;
    graph_shape_init(&s, rank, dims);
    if (sym0) {
        s.dims[0] = -1;
        snprintf(s.sym[0], GRAPH_SYM_MAX, "%s", sym0);
    }
    int t;
    cr_assert_eq(graph_add_tensor(g, name, dt, &s, GRAPH_TENSOR_INPUT, &t, &gerr), SSDC_OK);
    cr_assert_eq(graph_add_input(g, t, &gerr), SSDC_OK);
    return t;
}

static int mk_node(graph *g, const char *op, int n_in, const int *in, int *node)
{
    char name[32];
    snprintf(name, sizeof name, "n%d", g->n_nodes);
    int out = mk_tensor(g, name);
    strcat(name, "_node");
    cr_assert_eq(graph_add_node(g, name, op, "", n_in, in, 1, &out, node, &gerr), SSDC_OK, "%s",
                 gerr.msg);
    return out;
}

static int mk1(graph *g, const char *op, int a)
{
    return mk_node(g, op, 1, &a, NULL);
}

static int mk2(graph *g, const char *op, int a, int b)
{
    int in[2] = {a, b};
    return mk_node(g, op, 2, in, NULL);
}

/* loss = ReduceSum(y, keepdims = 0) */
static int mk_loss(graph *g, int y)
{
    int node;
    int l = mk_node(g, "ReduceSum", 1, &y, &node);
    graph_node_set_int(g, node, "keepdims", 0, &gerr);
    return l;
}

/* Differentiates loss w.r.t. params (graph inputs), runs on the given
 * inputs (one per graph input, double), checks every gradient element
 * against central differences and returns the analytic gradients
 * (malloc'd copies) in ana[k]. */
static void fd_check(graph *g, int loss, const int *params, int np, graph_value *inputs,
                     graph_value *ana)
{
    int grads[8];
    cr_assert_eq(graph_add_output(g, loss, &gerr), SSDC_OK);
    cr_assert_eq(graph_infer_shapes(g, &gerr), SSDC_OK, "%s", gerr.msg);
    cr_assert_eq(autodiff_build(g, loss, params, np, grads, &gerr), SSDC_OK, "%s", gerr.msg);
    for (int k = 0; k < np; k++)
        graph_add_output(g, grads[k], &gerr);
    cr_assert_eq(graph_validate(g, &gerr), SSDC_OK, "%s", gerr.msg);
    rt_plan *p = NULL;
    cr_assert_eq(rt_plan_create(g, inputs, NULL, &p, &gerr), SSDC_OK, "%s", gerr.msg);
    cr_assert_eq(rt_plan_run(p, inputs, &gerr), SSDC_OK, "%s", gerr.msg);
    for (int k = 0; k < np; k++) {
        const graph_value *v = rt_plan_output(p, 1 + k);
        ana[k] = *v;
        ana[k].data = malloc(graph_value_bytes(v) ? graph_value_bytes(v) : 1);
        memcpy(ana[k].data, v->data, graph_value_bytes(v));
    }
    for (int k = 0; k < np; k++) {
        int fed = -1;
        for (int i = 0; i < g->n_inputs; i++)
            if (g->inputs[i] == params[k])
                fed = i;
        cr_assert_geq(fed, 0, "param %d is not a graph input", k);
        graph_value *x = &inputs[fed];
        cr_assert_eq(x->dtype, F64);
        cr_assert_eq(ana[k].numel, x->numel);
        cr_assert_eq(ana[k].dtype, F64, "gradient %d has dtype %s", k,
                     graph_dtype_name(ana[k].dtype));
        double *xd = x->data;
        for (int64_t j = 0; j < x->numel; j++) {
            double x0 = xd[j], eps = 1e-6;
            xd[j] = x0 + eps;
            cr_assert_eq(rt_plan_run(p, inputs, &gerr), SSDC_OK, "%s", gerr.msg);
            double fp = ((double *)rt_plan_output(p, 0)->data)[0];
            xd[j] = x0 - eps;
            cr_assert_eq(rt_plan_run(p, inputs, &gerr), SSDC_OK, "%s", gerr.msg);
            double fm = ((double *)rt_plan_output(p, 0)->data)[0];
            xd[j] = x0;
            double num = (fp - fm) / (2 * eps), a = ((double *)ana[k].data)[j];
            cr_assert(fabs(a - num) <= 1e-7 + 1e-6 * fabs(num),
                      "d loss / d param %d [%lld]: autodiff %.10g, finite difference %.10g", k,
                      (long long)j, a, num);
        }
    }
    rt_plan_free(p);
}

static graph_value value_f64(int rank, const int64_t *dims, double lo, double hi, uint64_t seed)
{
    graph_value v;
    graph_value_set_shape(&v, F64, rank, dims);
    v.data = malloc((size_t)v.numel * sizeof(double));
    gc_fill_f64(v.data, v.numel, lo, hi, seed);
    return v;
}

Test(grad_framework, tensor_used_twice)
{
    /* loss = sum(x * x) + sum(x + x): d/dx = 2x + 2 */
    graph *g = graph_new();
    int x = mk_input(g, "x", F64, 2, DIMS(3, 4), NULL);
    int sq = mk2(g, "Mul", x, x), dbl = mk2(g, "Add", x, x);
    int loss = mk2(g, "Add", mk_loss(g, sq), mk_loss(g, dbl));
    graph_value in = value_f64(2, DIMS(3, 4), -2, 2, 3), ana;
    fd_check(g, loss, &x, 1, &in, &ana);
    for (int j = 0; j < 12; j++) {
        double want = 2 * ((double *)in.data)[j] + 2;
        cr_assert_float_eq(((double *)ana.data)[j], want, 1e-12);
    }
    free(ana.data);
    free(in.data);
    graph_free(g);
}

Test(grad_framework, unused_parameter_gets_zeros)
{
    /* w feeds a branch that does not reach the loss; u feeds nothing */
    graph *g = graph_new();
    int x = mk_input(g, "x", F64, 2, DIMS(3, 4), NULL);
    int w = mk_input(g, "w", F64, 1, DIMS(5), NULL);
    int u = mk_input(g, "u", F64, 2, DIMS(2, 2), NULL);
    mk1(g, "Exp", w);
    int loss = mk_loss(g, mk1(g, "Tanh", x));
    graph_value in[3] = {value_f64(2, DIMS(3, 4), -2, 2, 4), value_f64(1, DIMS(5), -1, 1, 5),
                         value_f64(2, DIMS(2, 2), -1, 1, 6)};
    graph_value ana[3];
    int params[3] = {x, w, u};
    fd_check(g, loss, params, 3, in, ana);
    cr_assert_eq(ana[1].rank, 1);
    cr_assert_eq(ana[1].dims[0], 5);
    cr_assert_eq(ana[2].rank, 2);
    for (int j = 0; j < 5; j++)
        cr_assert_eq(((double *)ana[1].data)[j], 0.0);
    for (int j = 0; j < 4; j++)
        cr_assert_eq(((double *)ana[2].data)[j], 0.0);
    for (int k = 0; k < 3; k++) {
        free(ana[k].data);
        free(in[k].data);
    }
    graph_free(g);
}

Test(grad_framework, diamond)
{
    /* a = Sigmoid(x); b = Exp(a); c = a * w; loss = sum(b + c) + sum(a / w):
     * a reaches the loss along three paths, w along two */
    graph *g = graph_new();
    int x = mk_input(g, "x", F64, 2, DIMS(2, 3), NULL);
    int w = mk_input(g, "w", F64, 1, DIMS(3), NULL);
    int a = mk1(g, "Sigmoid", x);
    int b = mk1(g, "Exp", a), c = mk2(g, "Mul", a, w);
    int d = mk2(g, "Add", b, c), e = mk2(g, "Div", a, w);
    int loss = mk2(g, "Add", mk_loss(g, d), mk_loss(g, e));
    graph_value in[2] = {value_f64(2, DIMS(2, 3), -2, 2, 6), value_f64(1, DIMS(3), 0.5, 2, 7)};
    graph_value ana[2];
    int params[2] = {x, w};
    fd_check(g, loss, params, 2, in, ana);
    /* closed form for dL/dx */
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) {
            double xv = ((double *)in[0].data)[i * 3 + j], wv = ((double *)in[1].data)[j];
            double s = 1 / (1 + exp(-xv));
            double want = (exp(s) + wv + 1 / wv) * s * (1 - s);
            cr_assert_float_eq(((double *)ana[0].data)[i * 3 + j], want, 1e-12);
        }
    for (int k = 0; k < 2; k++) {
        free(ana[k].data);
        free(in[k].data);
    }
    graph_free(g);
}

Test(grad_framework, symbolic_batch)
{
    /* [batch, ...] inputs: Concat sizes, the ReduceMean count and the
     * keepdims shape come from Shape() at plan time */
    graph *g = graph_new();
    int x = mk_input(g, "x", F64, 2, DIMS(0, 3), "batch");
    int y = mk_input(g, "y", F64, 2, DIMS(0, 3), "batch2");
    int node;
    int cin[2] = {x, y};
    int cat = mk_node(g, "Concat", 2, cin, &node);
    graph_node_set_int(g, node, "axis", 0, &gerr);
    int m = mk_node(g, "ReduceMean", 1, &cat, &node);
    int64_t ax0 = 0;
    graph_node_set_ints(g, node, "axes", &ax0, 1, &gerr);
    graph_node_set_int(g, node, "keepdims", 0, &gerr);
    int sq = mk2(g, "Mul", cat, cat);
    int m2 = mk_node(g, "ReduceMean", 1, &sq, &node);
    int64_t ax1 = 1;
    graph_node_set_ints(g, node, "axes", &ax1, 1, &gerr);
    graph_node_set_int(g, node, "keepdims", 0, &gerr);
    int loss = mk2(g, "Add", mk_loss(g, mk2(g, "Mul", m, m)), mk_loss(g, m2));
    graph_value in[2] = {value_f64(2, DIMS(2, 3), -2, 2, 8), value_f64(2, DIMS(3, 3), -2, 2, 9)};
    graph_value ana[2];
    fd_check(g, loss, cin, 2, in, ana);
    for (int k = 0; k < 2; k++) {
        free(ana[k].data);
        free(in[k].data);
    }
    graph_free(g);
}

Test(grad_framework, float_loss_seed)
{
    /* a float graph: the seed and every gradient stay float */
    graph *g = graph_new();
    int x = mk_input(g, "x", F32, 2, DIMS(2, 3), NULL);
    int loss = mk_loss(g, mk1(g, "Relu", mk1(g, "Neg", x)));
    int grad;
    cr_assert_eq(graph_add_output(g, loss, &gerr), SSDC_OK);
    cr_assert_eq(graph_infer_shapes(g, &gerr), SSDC_OK, "%s", gerr.msg);
    cr_assert_eq(autodiff_build(g, loss, &x, 1, &grad, &gerr), SSDC_OK, "%s", gerr.msg);
    graph_add_output(g, grad, &gerr);
    float xs[6] = {-1, 2, -3, 4, -5, 6};
    graph_value in;
    gc_value(&in, F32, 2, DIMS(2, 3), xs);
    rt_plan *p = NULL;
    cr_assert_eq(rt_plan_create(g, &in, NULL, &p, &gerr), SSDC_OK, "%s", gerr.msg);
    cr_assert_eq(rt_plan_run(p, &in, &gerr), SSDC_OK, "%s", gerr.msg);
    const graph_value *gv = rt_plan_output(p, 1);
    cr_assert_eq(gv->dtype, F32);
    for (int j = 0; j < 6; j++)
        cr_assert_eq(((float *)gv->data)[j], xs[j] < 0 ? -1.0f : 0.0f);
    rt_plan_free(p);
    graph_free(g);
}

/* ---- SumTo directly: every layout against a brute-force sum ---- */

static void sumto_direct(graph_dtype dt, int trank, const int64_t *tdims)
{
    static const int64_t xd[4] = {2, 3, 1, 5};
    graph *g = graph_new();
    int x = mk_input(g, "x", dt, 4, xd, NULL);
    int64_t *sv = malloc(sizeof(int64_t) * (size_t)(trank ? trank : 1));
    if (trank)
        memcpy(sv, tdims, sizeof(int64_t) * (size_t)trank);
    int shape, y = mk_tensor(g, "y");
    cr_assert_eq(graph_add_initializer(g, "shape", GRAPH_DT_INT64, 1, DIMS(trank), sv, &shape,
                                       &gerr), SSDC_OK);
    int in[2] = {x, shape};
    cr_assert_eq(graph_add_node(g, "sumto", "SumTo", "ai.ssdc", 2, in, 1, &y, NULL, &gerr),
                 SSDC_OK, "%s", gerr.msg);
    graph_add_output(g, y, &gerr);
    cr_assert_eq(graph_validate(g, &gerr), SSDC_OK, "%s", gerr.msg);
    double xs[30], want[30] = {0};
    gc_fill_f64(xs, 30, -2, 2, 12);
    float xf[30];
    for (int j = 0; j < 30; j++)
        xf[j] = (float)xs[j];
    graph_value v;
    gc_value(&v, dt, 4, xd, dt == F64 ? (void *)xs : (void *)xf);
    rt_plan *p = NULL;
    cr_assert_eq(rt_plan_create(g, &v, NULL, &p, &gerr), SSDC_OK, "%s", gerr.msg);
    cr_assert_eq(rt_plan_run(p, &v, &gerr), SSDC_OK, "%s", gerr.msg);
    const graph_value *out = rt_plan_output(p, 0);
    cr_assert_eq(out->rank, trank);
    int64_t tpad[4] = {1, 1, 1, 1};
    for (int d = 0; d < trank; d++)
        tpad[4 - trank + d] = tdims[d];
    int64_t idx[4];
    for (idx[0] = 0; idx[0] < 2; idx[0]++)
        for (idx[1] = 0; idx[1] < 3; idx[1]++)
            for (idx[2] = 0; idx[2] < 1; idx[2]++)
                for (idx[3] = 0; idx[3] < 5; idx[3]++) {
                    int64_t o = 0, src = ((idx[0] * 3 + idx[1]) * 1 + idx[2]) * 5 + idx[3];
                    for (int d = 0; d < 4; d++)
                        o = o * tpad[d] + (tpad[d] == 1 ? 0 : idx[d]);
                    want[o] += dt == F64 ? xs[src] : (double)xf[src];
                }
    for (int64_t j = 0; j < out->numel; j++) {
        double got = graph_value_get_f64(out, j);
        cr_assert(fabs(got - want[j]) <= (dt == F64 ? 1e-12 : 1e-5), "target %d-D element %lld: "
                  "%g, expected %g", trank, (long long)j, got, want[j]);
    }
    rt_plan_free(p);
    graph_free(g);
}

Test(grad_kernels, sumto_layouts)
{
    for (int k = 0; k < 2; k++) {
        graph_dtype dt = k ? F32 : F64;
        sumto_direct(dt, 4, DIMS(2, 3, 1, 5)); /* same shape: copy */
        sumto_direct(dt, 0, NULL);             /* everything */
        sumto_direct(dt, 1, DIMS(5));          /* leading axes */
        sumto_direct(dt, 3, DIMS(3, 1, 1));    /* inner reduction */
        sumto_direct(dt, 4, DIMS(2, 1, 1, 5)); /* middle axis */
        sumto_direct(dt, 3, DIMS(3, 1, 5));
        sumto_direct(dt, 4, DIMS(1, 3, 1, 1));
        sumto_direct(dt, 4, DIMS(2, 1, 1, 1));
    }
}

/* Schemas of ssdc's integer ops (domain ai.ssdc, graph/ops_training.def;
 * docs/int8.md, "ssdc's integer ops").  Kernels: runtime/kernels/qint.c.
 *
 *   QConv(X, W, B?, M, S) -> Y   int8 X [N, C, spatial...], W [Cout, C/group, k...], int32 B
 *                                [Cout], M/S [1 or Cout]; Conv's attributes plus x_zero_point,
 *                                y_zero_point, act_min, act_max; Y's shape as Conv's
 *   QGemm(A, W, B?, M, S) -> Y   A [M, K] x W [N, K] -> Y [M, N]
 *   QAdd(A, B) -> Y              B of A's shape or one element; TFLM's attributes
 *   QAvgPool(X) -> Y             mean over axes >= 2 (keepdims, default 1)
 *   QLut(X, T) -> Y              T int8 [256]
 *
 * B is optional but positional: an omitted B is input -1. */
#include <stdio.h>

#include "graph/ops.h"

#define DT_END GRAPH_DT_UNDEFINED

static bool qint_has_input(const graph_infer_ctx *c, int i)
{
    return i < c->n_in && c->node->inputs[i] >= 0;
}

static const char *qint_input_name(const graph_infer_ctx *c, int i)
{
    int t = qint_has_input(c, i) ? c->node->inputs[i] : -1;
    return t >= 0 && c->g && t < c->g->n_tensors ? c->g->tensors[t].name : "?";
}

/* Integer attribute name (default def) must lie in [lo, hi]. */
static ssdc_status qint_attr_range(const graph_infer_ctx *c, const char *name, int64_t def,
                                   int64_t lo, int64_t hi, int64_t *out, ssdc_error *err)
{
    int64_t v = graph_attr_int(c->node, name, def);
    if (v < lo || v > hi)
        return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                 "attribute %s is %lld, expected a value in [%lld, %lld]", name,
                                 (long long)v, (long long)lo, (long long)hi);
    if (out)
        *out = v;
    return SSDC_OK;
}

/* act_min and act_max in [-128, 127] with act_min <= act_max. */
static ssdc_status qint_check_act(const graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st;
    int64_t lo = -128, hi = 127;
    if ((st = qint_attr_range(c, "act_min", -128, -128, 127, &lo, err)) ||
        (st = qint_attr_range(c, "act_max", 127, -128, 127, &hi, err)))
        return st;
    if (lo > hi)
        return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                 "attribute act_min (%lld) is above act_max (%lld)",
                                 (long long)lo, (long long)hi);
    return SSDC_OK;
}

/* A (multiplier, shift) pair as qmath_mul takes it. */
static ssdc_status qint_check_mult(const graph_infer_ctx *c, const char *m, const char *s,
                                   ssdc_error *err)
{
    ssdc_status st;
    if ((st = qint_attr_range(c, m, 0, 0, INT32_MAX, NULL, err)) ||
        (st = qint_attr_range(c, s, 0, -31, 30, NULL, err)))
        return st;
    return SSDC_OK;
}

/* x_zero_point, y_zero_point, act_min, act_max of QConv / QGemm. */
static ssdc_status qint_check_zp_act(const graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st;
    if ((st = qint_attr_range(c, "x_zero_point", 0, -128, 127, NULL, err)) ||
        (st = qint_attr_range(c, "y_zero_point", 0, -128, 127, NULL, err)))
        return st;
    return qint_check_act(c, err);
}

/* Input i (when present with a known shape) is 1-D of length n (n < 0:
 * unknown, any length) or, when one_ok, a single element. */
static ssdc_status qint_check_vector(const graph_infer_ctx *c, int i, int64_t n, bool one_ok,
                                     const char *what, ssdc_error *err)
{
    if (!qint_has_input(c, i))
        return SSDC_OK;
    const graph_shape *s = &c->in_shape[i];
    if (s->rank < 0)
        return SSDC_OK;
    bool ok;
    if (s->rank == 0)
        ok = one_ok;
    else if (s->rank != 1)
        ok = false;
    else
        ok = s->dims[0] < 0 || (one_ok && s->dims[0] == 1) || n < 0 || s->dims[0] == n;
    if (ok)
        return SSDC_OK;
    char sb[128];
    graph_shape_format(s, sb, sizeof sb);
    return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                             "input %d '%s' (%s) has shape %s, expected [%s%lld]",
                             i, qint_input_name(c, i), what, sb, one_ok ? "1] or [" : "",
                             (long long)n);
}

/* Shift values, when known, in qmath_mul's [-31, 30] and multipliers >= 0. */
static ssdc_status qint_check_ms_values(const graph_infer_ctx *c, int im, int is,
                                        ssdc_error *err)
{
    const graph_value *m = c->in_value ? c->in_value[im] : NULL;
    const graph_value *s = c->in_value ? c->in_value[is] : NULL;
    for (int64_t k = 0; m && m->dtype == GRAPH_DT_INT32 && k < m->numel; k++)
        if (((const int32_t *)m->data)[k] < 0)
            return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                     "input %d '%s' (M) has %d at %lld, expected >= 0", im,
                                     qint_input_name(c, im), ((const int32_t *)m->data)[k],
                                     (long long)k);
    for (int64_t k = 0; s && s->dtype == GRAPH_DT_INT32 && k < s->numel; k++) {
        int32_t v = ((const int32_t *)s->data)[k];
        if (v < -31 || v > 30)
            return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                     "input %d '%s' (S) has %d at %lld, expected a shift in "
                                     "[-31, 30]",
                                     is, qint_input_name(c, is), v, (long long)k);
    }
    return SSDC_OK;
}

/* Dtypes of (X, W, B?, M, S): int8, int8, int32, int32, int32. */
static ssdc_status qint_check_xwbms(const graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st;
    for (int i = 0; i < 5; i++) {
        if (i == 2 && !qint_has_input(c, i))
            continue;
        graph_dtype dt = i < 2 ? GRAPH_DT_INT8 : GRAPH_DT_INT32;
        if ((st = graph_infer_check_dtype(c, i, err, dt, DT_END)))
            return st;
    }
    return qint_check_zp_act(c, err);
}

/* M and S of length 1 or n, B of length n. */
static ssdc_status qint_check_bms(const graph_infer_ctx *c, int64_t n, ssdc_error *err)
{
    ssdc_status st;
    if ((st = qint_check_vector(c, 2, n, false, "B", err)) ||
        (st = qint_check_vector(c, 3, n, true, "M", err)) ||
        (st = qint_check_vector(c, 4, n, true, "S", err)))
        return st;
    return qint_check_ms_values(c, 3, 4, err);
}

/* ---- QConv ---- */

static ssdc_status qconv_infer(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st;
    if ((st = qint_check_xwbms(c, err)))
        return st;
    const graph_op_schema *conv = &graph_schema_conv;
    if (!conv || !conv->infer)
        return graph_infer_failf(c, err, SSDC_ERR_UNSUPPORTED, "the Conv schema is missing");
    /* Conv's shape logic on (X, W, B) with the dtypes hidden (checked above) */
    graph_dtype dts[3] = {DT_END, DT_END, DT_END}, odt = DT_END;
    graph_infer_ctx cc = *c;
    cc.n_in = 3;
    cc.in_dtype = dts;
    cc.n_out = 1;
    cc.out_dtype = &odt;
    if ((st = conv->infer(&cc, err)))
        return st;
    c->out_dtype[0] = GRAPH_DT_INT8;
    const graph_shape *wt = &c->in_shape[1];
    int64_t cout = wt->rank >= 1 ? wt->dims[0] : -1;
    return qint_check_bms(c, cout, err);
}

static int64_t qconv_flops(const graph_infer_ctx *c)
{
    const graph_op_schema *conv = &graph_schema_conv;
    return conv && conv->flops ? conv->flops(c) : 0;
}

static const graph_attr_spec qconv_attrs[] = {
    {"auto_pad", GRAPH_ATTR_STRING},  {"dilations", GRAPH_ATTR_INTS},
    {"group", GRAPH_ATTR_INT},        {"kernel_shape", GRAPH_ATTR_INTS},
    {"pads", GRAPH_ATTR_INTS},        {"strides", GRAPH_ATTR_INTS},
    {"x_zero_point", GRAPH_ATTR_INT}, {"y_zero_point", GRAPH_ATTR_INT},
    {"act_min", GRAPH_ATTR_INT},      {"act_max", GRAPH_ATTR_INT},
    {NULL, GRAPH_ATTR_UNDEFINED},
};

const graph_op_schema graph_schema_qconv = {
    .name = "QConv",
    .min_in = 5, .max_in = 5,
    .min_out = 1, .max_out = 1,
    .attrs = qconv_attrs,
    .infer = qconv_infer,
    .flops = qconv_flops,
};

/* ---- QGemm ---- */

static ssdc_status qgemm_infer(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st;
    if ((st = qint_check_xwbms(c, err)))
        return st;
    const graph_shape *a = &c->in_shape[0], *w = &c->in_shape[1];
    for (int i = 0; i < 2; i++) {
        const graph_shape *s = &c->in_shape[i];
        if (s->rank >= 0 && s->rank != 2)
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                     "input %d '%s' has rank %d, expected 2 (%s)", i,
                                     qint_input_name(c, i), s->rank, i ? "[N, K]" : "[M, K]");
    }
    if (a->rank == 2 && w->rank == 2 && a->dims[1] >= 0 && w->dims[1] >= 0 &&
        a->dims[1] != w->dims[1])
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "input 0 '%s' has K = %lld but input 1 '%s' has K = %lld "
                                 "(W is [N, K])",
                                 qint_input_name(c, 0), (long long)a->dims[1],
                                 qint_input_name(c, 1), (long long)w->dims[1]);
    int64_t n = w->rank == 2 ? w->dims[0] : -1;
    if ((st = qint_check_bms(c, n, err)))
        return st;
    c->out_dtype[0] = GRAPH_DT_INT8;
    graph_shape *o = &c->out_shape[0];
    graph_shape_init(o, 2, NULL);
    o->dims[0] = o->dims[1] = -1;
    if (a->rank == 2)
        graph_shape_copy_dim(o, 0, a, 0);
    if (w->rank == 2)
        graph_shape_copy_dim(o, 1, w, 0);
    return SSDC_OK;
}

static int64_t qgemm_flops(const graph_infer_ctx *c)
{
    const graph_shape *a = &c->in_shape[0];
    if (!graph_shape_is_static(a) || a->rank != 2)
        return 0;
    return 2 * graph_infer_out_numel(c, 0) * a->dims[1];
}

static const graph_attr_spec qgemm_attrs[] = {
    {"x_zero_point", GRAPH_ATTR_INT}, {"y_zero_point", GRAPH_ATTR_INT},
    {"act_min", GRAPH_ATTR_INT},      {"act_max", GRAPH_ATTR_INT},
    {NULL, GRAPH_ATTR_UNDEFINED},
};

const graph_op_schema graph_schema_qgemm = {
    .name = "QGemm",
    .min_in = 5, .max_in = 5,
    .min_out = 1, .max_out = 1,
    .attrs = qgemm_attrs,
    .infer = qgemm_infer,
    .flops = qgemm_flops,
};

/* ---- QAdd ---- */

static ssdc_status qadd_infer(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st;
    for (int i = 0; i < 2; i++)
        if ((st = graph_infer_check_dtype(c, i, err, GRAPH_DT_INT8, DT_END)))
            return st;
    if ((st = qint_attr_range(c, "a_zero_point", 0, -128, 127, NULL, err)) ||
        (st = qint_attr_range(c, "b_zero_point", 0, -128, 127, NULL, err)) ||
        (st = qint_attr_range(c, "y_zero_point", 0, -128, 127, NULL, err)) ||
        (st = qint_attr_range(c, "left_shift", 20, 0, 30, NULL, err)) ||
        (st = qint_check_mult(c, "a_multiplier", "a_shift", err)) ||
        (st = qint_check_mult(c, "b_multiplier", "b_shift", err)) ||
        (st = qint_check_mult(c, "y_multiplier", "y_shift", err)) ||
        (st = qint_check_act(c, err)))
        return st;
    const graph_shape *a = &c->in_shape[0], *b = &c->in_shape[1];
    int64_t nb = -1;
    if (graph_shape_is_static(b)) {
        nb = 1;
        for (int d = 0; d < b->rank; d++)
            nb *= b->dims[d];
    }
    if (nb != 1 && a->rank >= 0 && b->rank >= 0) {
        bool ok = a->rank == b->rank;
        for (int d = 0; ok && d < a->rank; d++)
            ok = a->dims[d] < 0 || b->dims[d] < 0 || a->dims[d] == b->dims[d];
        if (!ok) {
            char sa[128], sb[128];
            graph_shape_format(a, sa, sizeof sa);
            graph_shape_format(b, sb, sizeof sb);
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                     "input 1 '%s' has shape %s, expected %s (the shape of input "
                                     "0 '%s') or one element",
                                     qint_input_name(c, 1), sb, sa, qint_input_name(c, 0));
        }
    }
    c->out_dtype[0] = GRAPH_DT_INT8;
    c->out_shape[0] = *a;
    return SSDC_OK;
}

static const graph_attr_spec qadd_attrs[] = {
    {"a_zero_point", GRAPH_ATTR_INT}, {"b_zero_point", GRAPH_ATTR_INT},
    {"y_zero_point", GRAPH_ATTR_INT}, {"left_shift", GRAPH_ATTR_INT},
    {"a_multiplier", GRAPH_ATTR_INT}, {"a_shift", GRAPH_ATTR_INT},
    {"b_multiplier", GRAPH_ATTR_INT}, {"b_shift", GRAPH_ATTR_INT},
    {"y_multiplier", GRAPH_ATTR_INT}, {"y_shift", GRAPH_ATTR_INT},
    {"act_min", GRAPH_ATTR_INT},      {"act_max", GRAPH_ATTR_INT},
    {NULL, GRAPH_ATTR_UNDEFINED},
};

const graph_op_schema graph_schema_qadd = {
    .name = "QAdd",
    .min_in = 2, .max_in = 2,
    .min_out = 1, .max_out = 1,
    .attrs = qadd_attrs,
    .infer = qadd_infer,
};

/* ---- QAvgPool ---- */

static ssdc_status qavgpool_infer(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st;
    int64_t keep = 1;
    if ((st = graph_infer_check_dtype(c, 0, err, GRAPH_DT_INT8, DT_END)) ||
        (st = qint_attr_range(c, "x_zero_point", 0, -128, 127, NULL, err)) ||
        (st = qint_attr_range(c, "y_zero_point", 0, -128, 127, NULL, err)) ||
        (st = qint_check_mult(c, "multiplier", "shift", err)) ||
        (st = qint_check_act(c, err)) ||
        (st = qint_attr_range(c, "keepdims", 1, 0, 1, &keep, err)))
        return st;
    const graph_shape *x = &c->in_shape[0];
    c->out_dtype[0] = GRAPH_DT_INT8;
    if (x->rank < 0)
        return SSDC_OK;
    if (x->rank < 3)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "input 0 '%s' has rank %d, expected at least 3 (N x C x D1 ...)",
                                 qint_input_name(c, 0), x->rank);
    graph_shape *o = &c->out_shape[0];
    *o = *x;
    if (!keep) {
        o->rank = 2;
        return SSDC_OK;
    }
    for (int d = 2; d < x->rank; d++) {
        o->dims[d] = 1;
        o->sym[d][0] = 0;
    }
    return SSDC_OK;
}

static int64_t qavgpool_flops(const graph_infer_ctx *c)
{
    const graph_shape *x = &c->in_shape[0];
    if (!graph_shape_is_static(x))
        return 0;
    int64_t n = 1;
    for (int d = 0; d < x->rank; d++)
        n *= x->dims[d];
    return n;
}

static const graph_attr_spec qavgpool_attrs[] = {
    {"x_zero_point", GRAPH_ATTR_INT}, {"y_zero_point", GRAPH_ATTR_INT},
    {"multiplier", GRAPH_ATTR_INT},   {"shift", GRAPH_ATTR_INT},
    {"act_min", GRAPH_ATTR_INT},      {"act_max", GRAPH_ATTR_INT},
    {"keepdims", GRAPH_ATTR_INT},     {NULL, GRAPH_ATTR_UNDEFINED},
};

const graph_op_schema graph_schema_qavgpool = {
    .name = "QAvgPool",
    .min_in = 1, .max_in = 1,
    .min_out = 1, .max_out = 1,
    .attrs = qavgpool_attrs,
    .infer = qavgpool_infer,
    .flops = qavgpool_flops,
};

/* ---- QLut ---- */

static ssdc_status qlut_infer(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st;
    for (int i = 0; i < 2; i++)
        if ((st = graph_infer_check_dtype(c, i, err, GRAPH_DT_INT8, DT_END)))
            return st;
    if ((st = qint_check_vector(c, 1, 256, false, "T", err)))
        return st;
    c->out_dtype[0] = GRAPH_DT_INT8;
    c->out_shape[0] = c->in_shape[0];
    return SSDC_OK;
}

static const graph_attr_spec qlut_attrs[] = {
    {NULL, GRAPH_ATTR_UNDEFINED},
};

const graph_op_schema graph_schema_qlut = {
    .name = "QLut",
    .min_in = 2, .max_in = 2,
    .min_out = 1, .max_out = 1,
    .attrs = qlut_attrs,
    .infer = qlut_infer,
};

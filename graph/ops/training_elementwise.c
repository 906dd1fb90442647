/* Schemas of ssdc's gradient ops (domain "ai.ssdc", graph/ops_training.def)
 * for elementwise, activation and data-movement ops.  Kernels:
 * runtime/kernels/training_elementwise.c; emitted by passes/grad/elementwise.c
 * and passes/grad/shape.c.
 *
 *   ReluGrad(dY, Y) -> dX            dX = Y > 0 ? dY : 0
 *   LeakyReluGrad(dY, X) -> dX       dX = X < 0 ? alpha * dY : dY      (alpha, default 0.01)
 *   SigmoidGrad(dY, Y) -> dX         dX = dY * Y * (1 - Y)
 *   TanhGrad(dY, Y) -> dX            dX = dY * (1 - Y * Y)
 *   ClipGrad(dY, X, min?, max?) -> dX
 *                                    dX = min <= X <= max ? dY : 0; bounds as in Clip
 *                                    (inputs, else the Clip-6 attributes min/max)
 *   DropoutGrad(dY, mask, ratio?, training_mode?) -> dX
 *                                    dX = mask ? dY * scale : 0 with scale = 1 / (1 - ratio)
 *                                    when the Dropout was active (run option 'training' or
 *                                    training_mode true), else 1 -- the same rule the Dropout
 *                                    kernel follows.  ratio: input, else attribute (0.5).
 *   SumTo(X, shape) -> Y             sums X over the axes numpy broadcasting expanded from
 *                                    `shape` (the reverse of Expand)
 *   SliceGrad(dY, data_shape, starts, ends, axes?, steps?) -> dData
 *                                    zeros of data_shape with dY scattered into the slice
 *   PadGrad(dY, pads, axes?) -> dX   each output element of Pad adds its dY to the input
 *                                    element it was copied from (mode: constant, reflect,
 *                                    edge); axes as in Pad-18
 *   GatherGrad(dY, indices, data_shape) -> dData
 *                                    zeros of data_shape, dY rows added at the indices
 *                                    (repeated indices accumulate); axis */
#include <string.h>

#include "graph/ops.h"

#define DT_END GRAPH_DT_UNDEFINED
#define MAX_LIST (2 * GRAPH_MAX_RANK)

static bool has_input(const graph_infer_ctx *c, int i)
{
    return i < c->n_in && c->node->inputs[i] >= 0;
}

static void set_dim(graph_shape *s, int j, int64_t v)
{
    s->dims[j] = v;
    s->sym[j][0] = 0;
}

static int64_t in_numel(const graph_infer_ctx *c, int i)
{
    const graph_shape *s = &c->in_shape[i];
    if (!graph_shape_is_static(s))
        return 0;
    int64_t n = 1;
    for (int d = 0; d < s->rank; d++)
        n *= s->dims[d];
    return n;
}

static int64_t flops_dy(const graph_infer_ctx *c)
{
    return in_numel(c, 0);
}

/* Inputs a and b must have the same static shape where both are known. */
static ssdc_status check_same_shape(const graph_infer_ctx *c, int a, int b, ssdc_error *err)
{
    const graph_shape *x = &c->in_shape[a], *y = &c->in_shape[b];
    if (x->rank < 0 || y->rank < 0)
        return SSDC_OK;
    bool ok = x->rank == y->rank;
    for (int d = 0; ok && d < x->rank; d++)
        ok = x->dims[d] < 0 || y->dims[d] < 0 || x->dims[d] == y->dims[d];
    if (!ok) {
        char sa[160], sb[160];
        graph_shape_format(x, sa, sizeof sa);
        graph_shape_format(y, sb, sizeof sb);
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "input %d has shape %s but input %d has shape %s; they must "
                                 "match", a, sa, b, sb);
    }
    return SSDC_OK;
}

/* (dY, T) -> dX: both float/double of one dtype and one shape; dX like dY. */
static ssdc_status infer_pointwise(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st;
    if ((st = graph_infer_check_dtype(c, 0, err, GRAPH_DT_FLOAT, GRAPH_DT_DOUBLE, DT_END)) ||
        (st = graph_infer_check_dtype(c, 1, err, GRAPH_DT_FLOAT, GRAPH_DT_DOUBLE, DT_END)))
        return st;
    if (c->in_dtype[0] != GRAPH_DT_UNDEFINED && c->in_dtype[1] != GRAPH_DT_UNDEFINED &&
        c->in_dtype[0] != c->in_dtype[1])
        return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                 "input 0 has dtype %s but input 1 has dtype %s; they must match",
                                 graph_dtype_name(c->in_dtype[0]),
                                 graph_dtype_name(c->in_dtype[1]));
    if ((st = check_same_shape(c, 0, 1, err)))
        return st;
    return graph_infer_same_as_input0(c, err);
}

/* A scalar-like optional input: absent, or one element of dtype dt. */
static ssdc_status check_scalar(const graph_infer_ctx *c, int i, graph_dtype dt, const char *what,
                                ssdc_error *err)
{
    if (!has_input(c, i))
        return SSDC_OK;
    if (dt != GRAPH_DT_UNDEFINED && c->in_dtype[i] != GRAPH_DT_UNDEFINED && c->in_dtype[i] != dt)
        return graph_infer_failf(c, err, SSDC_ERR_INVALID, "%s (input %d) has dtype %s, expected %s",
                                 what, i, graph_dtype_name(c->in_dtype[i]), graph_dtype_name(dt));
    const graph_shape *s = &c->in_shape[i];
    for (int d = 0; d < s->rank; d++)
        if (s->dims[d] > 1 || s->dims[d] == 0)
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE, "%s (input %d) must be a scalar",
                                     what, i);
    return SSDC_OK;
}

static ssdc_status infer_clipgrad(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st = infer_pointwise(c, err);
    if (!st)
        st = check_scalar(c, 2, c->in_dtype[1], "min", err);
    if (!st)
        st = check_scalar(c, 3, c->in_dtype[1], "max", err);
    return st;
}

static ssdc_status infer_dropoutgrad(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st;
    if ((st = graph_infer_check_dtype(c, 0, err, GRAPH_DT_FLOAT, GRAPH_DT_DOUBLE, DT_END)) ||
        (st = graph_infer_check_dtype(c, 1, err, GRAPH_DT_BOOL, DT_END)) ||
        (st = check_same_shape(c, 0, 1, err)))
        return st;
    if (has_input(c, 2) &&
        (st = graph_infer_check_dtype(c, 2, err, GRAPH_DT_FLOAT, GRAPH_DT_DOUBLE, DT_END)))
        return st;
    if ((st = check_scalar(c, 2, GRAPH_DT_UNDEFINED, "ratio", err)) ||
        (st = check_scalar(c, 3, GRAPH_DT_BOOL, "training_mode", err)))
        return st;
    return graph_infer_same_as_input0(c, err);
}

/* An int64 shape from input i: out gets the value when known, else a rank
 * from the input's length. */
static ssdc_status infer_shape_input(graph_infer_ctx *c, int i, graph_shape *out, bool *known,
                                     ssdc_error *err)
{
    *known = false;
    graph_shape_unknown(out);
    if (c->in_dtype[i] != GRAPH_DT_UNDEFINED && c->in_dtype[i] != GRAPH_DT_INT64)
        return graph_infer_failf(c, err, SSDC_ERR_INVALID, "shape (input %d) has dtype %s, "
                                 "expected int64", i, graph_dtype_name(c->in_dtype[i]));
    const graph_shape *s = &c->in_shape[i];
    if (s->rank > 1)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE, "shape (input %d) must be 1-D", i);
    const graph_value *v = c->in_value[i];
    if (!v) {
        if (s->rank == 1 && s->dims[0] >= 0) {
            if (s->dims[0] > GRAPH_MAX_RANK)
                return graph_infer_failf(c, err, SSDC_ERR_UNSUPPORTED, "rank %lld exceeds %d",
                                         (long long)s->dims[0], GRAPH_MAX_RANK);
            graph_shape_init(out, (int)s->dims[0], NULL);
        }
        return SSDC_OK;
    }
    if (v->numel > GRAPH_MAX_RANK)
        return graph_infer_failf(c, err, SSDC_ERR_UNSUPPORTED, "rank %lld exceeds %d",
                                 (long long)v->numel, GRAPH_MAX_RANK);
    graph_shape_init(out, (int)v->numel, NULL);
    int64_t numel = 1;
    for (int d = 0; d < out->rank; d++) {
        int64_t k = graph_value_get_i64(v, d);
        if (k < 0)
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE, "shape[%d] is %lld", d, (long long)k);
        if (graph_mul_overflow(numel, k, &numel) || numel > SSDC_MAX_TENSOR_ELEMS)
            return graph_infer_failf(c, err, SSDC_ERR_LIMIT, "shape has more than %lld elements",
                                     (long long)SSDC_MAX_TENSOR_ELEMS);
        set_dim(out, d, k);
    }
    *known = true;
    return SSDC_OK;
}

/* ---- SumTo ---- */

static ssdc_status infer_sumto(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st = graph_infer_check_dtype(c, 0, err, GRAPH_DT_FLOAT, GRAPH_DT_DOUBLE,
                                             GRAPH_DT_INT32, GRAPH_DT_INT64, DT_END);
    if (st)
        return st;
    c->out_dtype[0] = c->in_dtype[0];
    bool known;
    graph_shape *o = &c->out_shape[0];
    if ((st = infer_shape_input(c, 1, o, &known, err)))
        return st;
    const graph_shape *x = &c->in_shape[0];
    if (!known || x->rank < 0)
        return SSDC_OK;
    if (o->rank > x->rank)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "target rank %d exceeds the input rank %d", o->rank, x->rank);
    for (int j = 0; j < o->rank; j++) {
        int i = j + x->rank - o->rank;
        if (o->dims[j] == 1 || x->dims[i] < 0)
            continue;
        if (o->dims[j] != x->dims[i]) {
            char sx[160], so[160];
            graph_shape_format(x, sx, sizeof sx);
            graph_shape_format(o, so, sizeof so);
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                     "%s does not broadcast to the input shape %s", so, sx);
        }
        graph_shape_copy_dim(o, j, x, i);
    }
    return SSDC_OK;
}

/* ---- SliceGrad / GatherGrad: output of a given shape ---- */

static ssdc_status infer_slicegrad(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st = graph_infer_check_dtype(c, 0, err, GRAPH_DT_FLOAT, GRAPH_DT_DOUBLE, DT_END);
    if (st)
        return st;
    for (int i = 2; i < c->n_in; i++)
        if (has_input(c, i) &&
            (st = graph_infer_check_dtype(c, i, err, GRAPH_DT_INT64, GRAPH_DT_INT32, DT_END)))
            return st;
    c->out_dtype[0] = c->in_dtype[0];
    bool known;
    if ((st = infer_shape_input(c, 1, &c->out_shape[0], &known, err)))
        return st;
    if (known && c->in_shape[0].rank >= 0 && c->in_shape[0].rank != c->out_shape[0].rank)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE, "dY has rank %d, data_shape %d",
                                 c->in_shape[0].rank, c->out_shape[0].rank);
    return SSDC_OK;
}

static ssdc_status infer_gathergrad(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st = graph_infer_check_dtype(c, 0, err, GRAPH_DT_FLOAT, GRAPH_DT_DOUBLE, DT_END);
    if (!st)
        st = graph_infer_check_dtype(c, 1, err, GRAPH_DT_INT64, GRAPH_DT_INT32, DT_END);
    if (st)
        return st;
    c->out_dtype[0] = c->in_dtype[0];
    bool known;
    graph_shape *o = &c->out_shape[0];
    if ((st = infer_shape_input(c, 2, o, &known, err)))
        return st;
    if (!known)
        return SSDC_OK;
    if (o->rank == 0)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE, "data must have rank >= 1");
    int a = 0;
    if ((st = graph_infer_axis(c, graph_attr_int(c->node, "axis", 0), o->rank, &a, err)))
        return st;
    const graph_shape *dy = &c->in_shape[0], *ix = &c->in_shape[1];
    if (dy->rank >= 0 && ix->rank >= 0 && dy->rank != o->rank - 1 + ix->rank)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "dY has rank %d, expected %d (data rank %d, indices rank %d)",
                                 dy->rank, o->rank - 1 + ix->rank, o->rank, ix->rank);
    /* keep symbolic names of dims dY carries over from data */
    if (dy->rank >= 0 && ix->rank >= 0 && dy->rank == o->rank - 1 + ix->rank) {
        for (int d = 0; d < a; d++)
            if (dy->dims[d] == o->dims[d])
                graph_shape_copy_dim(o, d, dy, d);
    }
    return SSDC_OK;
}

/* ---- PadGrad ---- */

static ssdc_status read_ints(const graph_infer_ctx *c, int i, const char *what, int64_t *v,
                             int64_t *n, bool *known, ssdc_error *err)
{
    *known = false;
    *n = -1;
    if (!has_input(c, i))
        return SSDC_OK;
    if (c->in_dtype[i] != GRAPH_DT_UNDEFINED && c->in_dtype[i] != GRAPH_DT_INT64 &&
        c->in_dtype[i] != GRAPH_DT_INT32)
        return graph_infer_failf(c, err, SSDC_ERR_INVALID, "%s (input %d) has dtype %s, expected "
                                 "int64", what, i, graph_dtype_name(c->in_dtype[i]));
    const graph_value *val = c->in_value[i];
    if (!val)
        return SSDC_OK;
    if (val->numel > MAX_LIST)
        return graph_infer_failf(c, err, SSDC_ERR_UNSUPPORTED, "%s has %lld entries", what,
                                 (long long)val->numel);
    *n = val->numel;
    for (int64_t k = 0; k < val->numel; k++)
        v[k] = graph_value_get_i64(val, k);
    *known = true;
    return SSDC_OK;
}

static ssdc_status infer_padgrad(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st = graph_infer_check_dtype(c, 0, err, GRAPH_DT_FLOAT, GRAPH_DT_DOUBLE, DT_END);
    if (st)
        return st;
    const char *mode = graph_attr_string(c->node, "mode", "constant");
    if (strcmp(mode, "constant") != 0 && strcmp(mode, "reflect") != 0 &&
        strcmp(mode, "edge") != 0)
        return graph_infer_failf(c, err, SSDC_ERR_UNSUPPORTED,
                                 "mode '%s' is not supported (constant, reflect, edge)", mode);
    c->out_dtype[0] = c->in_dtype[0];
    const graph_shape *dy = &c->in_shape[0];
    graph_shape *o = &c->out_shape[0];
    int64_t pads[MAX_LIST], axes[MAX_LIST], np_, na;
    bool pk, ak;
    if ((st = read_ints(c, 1, "pads", pads, &np_, &pk, err)) ||
        (st = read_ints(c, 2, "axes", axes, &na, &ak, err)))
        return st;
    if (dy->rank < 0)
        return SSDC_OK;
    int r = dy->rank;
    if (!pk || (has_input(c, 2) && !ak)) {
        graph_shape_init(o, r, NULL);
        return SSDC_OK;
    }
    if (!has_input(c, 2)) {
        na = r;
        for (int d = 0; d < r; d++)
            axes[d] = d;
    }
    if (np_ != 2 * na)
        return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                 "pads has %lld entries, expected %lld (2 per padded axis)",
                                 (long long)np_, (long long)(2 * na));
    *o = *dy;
    bool seen[GRAPH_MAX_RANK] = {false};
    for (int k = 0; k < na; k++) {
        int d = 0;
        if ((st = graph_infer_axis(c, axes[k], r, &d, err)))
            return st;
        if (seen[d])
            return graph_infer_failf(c, err, SSDC_ERR_INVALID, "axis %lld is repeated",
                                     (long long)axes[k]);
        seen[d] = true;
        int64_t total = pads[k] + pads[k + na];
        if (total == 0)
            continue;
        if (dy->dims[d] < 0) {
            set_dim(o, d, -1);
            continue;
        }
        int64_t n = dy->dims[d] - total;
        if (n < 0)
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                     "pads %lld, %lld exceed axis %d of length %lld",
                                     (long long)pads[k], (long long)pads[k + na], d,
                                     (long long)dy->dims[d]);
        set_dim(o, d, n);
    }
    return SSDC_OK;
}

/* ---- schemas ---- */

static const graph_attr_spec no_attrs[] = {{NULL, GRAPH_ATTR_UNDEFINED}};
static const graph_attr_spec alpha_attrs[] = {{"alpha", GRAPH_ATTR_FLOAT},
                                              {NULL, GRAPH_ATTR_UNDEFINED}};
static const graph_attr_spec clip_attrs[] = {
    {"min", GRAPH_ATTR_FLOAT}, {"max", GRAPH_ATTR_FLOAT}, {NULL, GRAPH_ATTR_UNDEFINED}};
static const graph_attr_spec dropout_attrs[] = {{"ratio", GRAPH_ATTR_FLOAT},
                                                {NULL, GRAPH_ATTR_UNDEFINED}};
static const graph_attr_spec pad_attrs[] = {{"mode", GRAPH_ATTR_STRING},
                                            {NULL, GRAPH_ATTR_UNDEFINED}};
static const graph_attr_spec axis_attrs[] = {{"axis", GRAPH_ATTR_INT},
                                             {NULL, GRAPH_ATTR_UNDEFINED}};

#define GRAD_SCHEMA(sym, onnx, mi, ma, at, vin, fn, fl)                                        \
    const graph_op_schema graph_schema_##sym = {                                               \
        .name = onnx, .min_in = mi, .max_in = ma, .min_out = 1, .max_out = 1, .attrs = at,    \
        .value_inputs = vin, .shape_only = false, .infer = fn, .flops = fl}

GRAD_SCHEMA(relugrad, "ReluGrad", 2, 2, no_attrs, 0, infer_pointwise, NULL);
GRAD_SCHEMA(leakyrelugrad, "LeakyReluGrad", 2, 2, alpha_attrs, 0, infer_pointwise, NULL);
GRAD_SCHEMA(sigmoidgrad, "SigmoidGrad", 2, 2, no_attrs, 0, infer_pointwise, NULL);
GRAD_SCHEMA(tanhgrad, "TanhGrad", 2, 2, no_attrs, 0, infer_pointwise, NULL);
GRAD_SCHEMA(clipgrad, "ClipGrad", 2, 4, clip_attrs, 0, infer_clipgrad, NULL);
GRAD_SCHEMA(dropoutgrad, "DropoutGrad", 2, 4, dropout_attrs, 0, infer_dropoutgrad, NULL);
GRAD_SCHEMA(sumto, "SumTo", 2, 2, no_attrs, 1u << 1, infer_sumto, flops_dy);
GRAD_SCHEMA(slicegrad, "SliceGrad", 4, 6, no_attrs,
            (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5), infer_slicegrad, flops_dy);
GRAD_SCHEMA(padgrad, "PadGrad", 2, 3, pad_attrs, (1u << 1) | (1u << 2), infer_padgrad, flops_dy);
GRAD_SCHEMA(gathergrad, "GatherGrad", 3, 3, axis_attrs, 1u << 2, infer_gathergrad, flops_dy);

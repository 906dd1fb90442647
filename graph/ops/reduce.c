/* Schemas of the reductions: ReduceMean, ReduceMax, ReduceMin, ReduceSum,
 * ArgMax, ArgMin, TopK.  Kernels: runtime/kernels/reduce.c.
 *
 * Axes come from the 'axes' attribute (ReduceMean/Max/Min up to opset 17) or
 * from input 1 (ReduceSum from opset 13, all of them from opset 18). */
#include <string.h>

#include "graph/ops.h"

#define MAX_AXES GRAPH_MAX_RANK

static int64_t input_numel_flops(const graph_infer_ctx *c)
{
    const graph_shape *s = &c->in_shape[0];
    if (!graph_shape_is_static(s))
        return 0;
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++)
        n *= s->dims[i];
    return n;
}

static bool has_input(const graph_infer_ctx *c, int i)
{
    return i < c->n_in && c->node->inputs[i] >= 0;
}

static void set_dim(graph_shape *s, int j, int64_t v)
{
    s->dims[j] = v;
    s->sym[j][0] = 0;
}

/* ---- ReduceMean / ReduceMax / ReduceMin / ReduceSum ---- */

static ssdc_status reduce_infer(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st = graph_infer_check_dtype(c, 0, err, GRAPH_DT_FLOAT, GRAPH_DT_DOUBLE,
                                             GRAPH_DT_INT32, GRAPH_DT_INT64, GRAPH_DT_UNDEFINED);
    if (st)
        return st;
    const graph_shape *in = &c->in_shape[0];
    graph_shape *o = &c->out_shape[0];
    c->out_dtype[0] = c->in_dtype[0];
    bool keepdims = graph_attr_int(c->node, "keepdims", 1) != 0;
    bool noop = graph_attr_int(c->node, "noop_with_empty_axes", 0) != 0;

    int64_t axes[MAX_AXES];
    int64_t n_axes = 0;
    bool axes_known = true;
    if (has_input(c, 1)) {
        graph_dtype dt = c->in_dtype[1];
        if (dt != GRAPH_DT_UNDEFINED && dt != GRAPH_DT_INT64)
            return graph_infer_failf(c, err, SSDC_ERR_INVALID, "axes input has dtype %s, "
                                     "expected int64", graph_dtype_name(dt));
        const graph_value *v = c->in_value[1];
        const graph_shape *as = &c->in_shape[1];
        if (v) {
            n_axes = v->numel;
        } else {
            axes_known = false;
            n_axes = as->rank == 1 ? as->dims[0] : -1;
        }
        if (n_axes > MAX_AXES)
            return graph_infer_failf(c, err, SSDC_ERR_INVALID, "axes has %lld entries",
                                     (long long)n_axes);
        for (int64_t k = 0; v && k < n_axes; k++)
            axes[k] = graph_value_get_i64(v, k);
    } else {
        size_t na = 0;
        const int64_t *a = graph_attr_ints(c->node, "axes", &na);
        if (na > MAX_AXES)
            return graph_infer_failf(c, err, SSDC_ERR_INVALID, "axes has %zu entries", na);
        n_axes = (int64_t)na;
        for (size_t k = 0; k < na; k++)
            axes[k] = a[k];
    }
    if (in->rank < 0)
        return SSDC_OK;
    int r = in->rank;
    if (!axes_known) {
        if (keepdims)
            graph_shape_init(o, r, NULL);
        else if (n_axes > 0 && n_axes <= r)
            graph_shape_init(o, r - (int)n_axes, NULL);
        return SSDC_OK;
    }
    bool red[GRAPH_MAX_RANK] = {false};
    if (n_axes == 0) {
        if (noop) {
            *o = *in;
            return SSDC_OK;
        }
        for (int d = 0; d < r; d++)
            red[d] = true;
    }
    for (int k = 0; k < n_axes; k++) {
        int a = 0;
        if ((st = graph_infer_axis(c, axes[k], r, &a, err)))
            return st;
        if (red[a])
            return graph_infer_failf(c, err, SSDC_ERR_INVALID, "axis %lld is repeated",
                                     (long long)axes[k]);
        red[a] = true;
    }
    graph_shape_init(o, 0, NULL);
    for (int d = 0; d < r; d++) {
        if (!red[d])
            graph_shape_copy_dim(o, o->rank++, in, d);
        else if (keepdims)
            set_dim(o, o->rank++, 1);
    }
    return SSDC_OK;
}

static const graph_attr_spec reduce_attrs[] = {
    {"axes", GRAPH_ATTR_INTS}, {"keepdims", GRAPH_ATTR_INT},
    {"noop_with_empty_axes", GRAPH_ATTR_INT}, {NULL, 0}};

#define REDUCE_SCHEMA(sym, NAME)                                                             \
    const graph_op_schema graph_schema_##sym = {                                             \
        .name = NAME, .min_in = 1, .max_in = 2, .min_out = 1, .max_out = 1,                  \
        .attrs = reduce_attrs, .value_inputs = 1u << 1, .infer = reduce_infer,               \
        .flops = input_numel_flops,                                                          \
    };

REDUCE_SCHEMA(reducemean, "ReduceMean")
REDUCE_SCHEMA(reducemax, "ReduceMax")
REDUCE_SCHEMA(reducemin, "ReduceMin")
REDUCE_SCHEMA(reducesum, "ReduceSum")

/* ---- ArgMax / ArgMin ---- */

static ssdc_status arg_infer(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st = graph_infer_check_dtype(c, 0, err, GRAPH_DT_FLOAT, GRAPH_DT_DOUBLE,
                                             GRAPH_DT_INT32, GRAPH_DT_INT64, GRAPH_DT_UNDEFINED);
    if (st)
        return st;
    const graph_shape *in = &c->in_shape[0];
    graph_shape *o = &c->out_shape[0];
    c->out_dtype[0] = GRAPH_DT_INT64;
    if (in->rank < 0)
        return SSDC_OK;
    int a = 0;
    if ((st = graph_infer_axis(c, graph_attr_int(c->node, "axis", 0), in->rank, &a, err)))
        return st;
    if (in->dims[a] == 0)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE, "axis %d has length 0", a);
    bool keepdims = graph_attr_int(c->node, "keepdims", 1) != 0;
    graph_shape_init(o, 0, NULL);
    for (int d = 0; d < in->rank; d++) {
        if (d != a)
            graph_shape_copy_dim(o, o->rank++, in, d);
        else if (keepdims)
            set_dim(o, o->rank++, 1);
    }
    return SSDC_OK;
}

static const graph_attr_spec arg_attrs[] = {
    {"axis", GRAPH_ATTR_INT}, {"keepdims", GRAPH_ATTR_INT}, {"select_last_index", GRAPH_ATTR_INT},
    {NULL, 0}};

const graph_op_schema graph_schema_argmax = {
    .name = "ArgMax", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1, .attrs = arg_attrs,
    .infer = arg_infer, .flops = input_numel_flops,
};

const graph_op_schema graph_schema_argmin = {
    .name = "ArgMin", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1, .attrs = arg_attrs,
    .infer = arg_infer, .flops = input_numel_flops,
};

/* ---- TopK ---- */

static ssdc_status topk_infer(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st = graph_infer_check_dtype(c, 0, err, GRAPH_DT_FLOAT, GRAPH_DT_DOUBLE,
                                             GRAPH_DT_INT32, GRAPH_DT_INT64, GRAPH_DT_UNDEFINED);
    if (st)
        return st;
    const graph_shape *in = &c->in_shape[0];
    c->out_dtype[0] = c->in_dtype[0];
    if (c->n_out > 1)
        c->out_dtype[1] = GRAPH_DT_INT64;
    int64_t k = -1;
    if (has_input(c, 1)) {
        if (c->in_dtype[1] != GRAPH_DT_UNDEFINED && c->in_dtype[1] != GRAPH_DT_INT64)
            return graph_infer_failf(c, err, SSDC_ERR_INVALID, "K has dtype %s, expected int64",
                                     graph_dtype_name(c->in_dtype[1]));
        const graph_value *v = c->in_value[1];
        if (v) {
            if (v->numel != 1)
                return graph_infer_failf(c, err, SSDC_ERR_SHAPE, "K must have one element, has "
                                         "%lld", (long long)v->numel);
            k = graph_value_get_i64(v, 0);
        }
    } else {
        const graph_attr *ka = graph_node_attr(c->node, "k"); /* opset 1 */
        if (!ka || ka->type != GRAPH_ATTR_INT)
            return graph_infer_failf(c, err, SSDC_ERR_INVALID, "K is required (input 1)");
        k = ka->i;
    }
    if (in->rank < 0)
        return SSDC_OK;
    int a = 0;
    if ((st = graph_infer_axis(c, graph_attr_int(c->node, "axis", -1), in->rank, &a, err)))
        return st;
    if (k < -1 || (k >= 0 && in->dims[a] >= 0 && k > in->dims[a]))
        return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                 "K = %lld is out of range for axis %d of length %lld",
                                 (long long)k, a, (long long)in->dims[a]);
    for (int i = 0; i < c->n_out && i < 2; i++) {
        c->out_shape[i] = *in;
        set_dim(&c->out_shape[i], a, k); /* -1 while K is unknown */
    }
    return SSDC_OK;
}

static const graph_attr_spec topk_attrs[] = {
    {"axis", GRAPH_ATTR_INT}, {"largest", GRAPH_ATTR_INT}, {"sorted", GRAPH_ATTR_INT},
    {"k", GRAPH_ATTR_INT}, {NULL, 0}};

const graph_op_schema graph_schema_topk = {
    .name = "TopK", .min_in = 1, .max_in = 2, .min_out = 2, .max_out = 2, .attrs = topk_attrs,
    .value_inputs = 1u << 1, .infer = topk_infer, .flops = input_numel_flops,
};

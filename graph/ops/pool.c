/* Pooling schemas: MaxPool (optional int64 Indices output), AveragePool,
 * GlobalAveragePool, GlobalMaxPool.  Window geometry: graph/ops/window.h. */
#include "graph/ops.h"
#include "graph/ops/window.h"

static const char *pool_input_name(const graph_infer_ctx *c, int i)
{
    int t = i < c->n_in ? c->node->inputs[i] : -1;
    return t >= 0 && c->g && t < c->g->n_tensors ? c->g->tensors[t].name : "?";
}

static ssdc_status pool_infer(graph_infer_ctx *c, ssdc_error *err)
{
    /* MaxPool also takes 8-bit integers (opset 12) */
    bool is_max = c->node->op == GRAPH_OP_MAXPOOL;
    ssdc_status st = is_max ? graph_infer_check_dtype(c, 0, err, GRAPH_DT_FLOAT, GRAPH_DT_UINT8,
                                                      GRAPH_DT_INT8, GRAPH_DT_UNDEFINED)
                            : graph_infer_check_dtype(c, 0, err, GRAPH_DT_FLOAT,
                                                      GRAPH_DT_UNDEFINED);
    if (st)
        return st;
    c->out_dtype[0] = c->in_dtype[0] != GRAPH_DT_UNDEFINED ? c->in_dtype[0] : GRAPH_DT_FLOAT;
    if (c->n_out > 1)
        c->out_dtype[1] = GRAPH_DT_INT64;
    int64_t flag = graph_attr_int(c->node, "storage_order", 0);
    if (flag != 0 && flag != 1)
        return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                 "attribute storage_order is %lld, expected 0 or 1", (long long)flag);
    flag = graph_attr_int(c->node, "count_include_pad", 0);
    if (flag != 0 && flag != 1)
        return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                 "attribute count_include_pad is %lld, expected 0 or 1",
                                 (long long)flag);
    const graph_shape *x = &c->in_shape[0];
    int rank = x->rank;
    if (rank < 0) {
        /* the rank still follows from kernel_shape */
        size_t nk = 0;
        if (!graph_attr_ints(c->node, "kernel_shape", &nk) || nk == 0)
            return SSDC_OK;
        rank = (int)nk + 2;
    }
    if (rank < 3)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "input 0 '%s' has rank %d, expected at least 3 (N x C x D1 ...)",
                                 pool_input_name(c, 0), rank);
    int n = rank - 2;
    if (n > GRAPH_WINDOW_MAX_SPATIAL)
        return graph_infer_failf(c, err, SSDC_ERR_UNSUPPORTED,
                                 "%d spatial dimensions, at most %d supported", n,
                                 GRAPH_WINDOW_MAX_SPATIAL);
    int64_t in[GRAPH_MAX_RANK];
    for (int d = 0; d < n; d++)
        in[d] = x->rank >= 0 ? x->dims[2 + d] : -1;
    graph_window w;
    char msg[512];
    if ((st = graph_window_resolve(c->node, n, in, NULL, true, &w, msg, sizeof msg)))
        return graph_infer_failf(c, err, st, "%s", msg);
    graph_shape *o = &c->out_shape[0];
    graph_shape_init(o, rank, NULL);
    for (int d = 0; d < rank; d++)
        o->dims[d] = -1;
    if (x->rank >= 0) {
        graph_shape_copy_dim(o, 0, x, 0);
        graph_shape_copy_dim(o, 1, x, 1);
    }
    for (int d = 0; d < n; d++) {
        if (w.out[d] >= 0)
            o->dims[2 + d] = w.out[d];
        else if (w.same_as_input[d] && x->rank >= 0)
            graph_shape_copy_dim(o, 2 + d, x, 2 + d);
    }
    if (c->n_out > 1)
        c->out_shape[1] = *o;
    return SSDC_OK;
}

static ssdc_status pool_global_infer(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st = graph_infer_check_dtype(c, 0, err, GRAPH_DT_FLOAT, GRAPH_DT_UNDEFINED);
    if (st)
        return st;
    c->out_dtype[0] = GRAPH_DT_FLOAT;
    const graph_shape *x = &c->in_shape[0];
    if (x->rank < 0)
        return SSDC_OK;
    if (x->rank < 2)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "input 0 '%s' has rank %d, expected at least 2 (N x C x ...)",
                                 pool_input_name(c, 0), x->rank);
    graph_shape *o = &c->out_shape[0];
    graph_shape_init(o, x->rank, NULL);
    graph_shape_copy_dim(o, 0, x, 0);
    graph_shape_copy_dim(o, 1, x, 1);
    for (int d = 2; d < x->rank; d++)
        o->dims[d] = 1;
    return SSDC_OK;
}

/* One comparison or addition per window element of every output. */
static int64_t pool_flops(const graph_infer_ctx *c)
{
    size_t nk = 0;
    const int64_t *k = graph_attr_ints(c->node, "kernel_shape", &nk);
    int64_t per_out = 1;
    for (size_t i = 0; k && i < nk; i++)
        per_out *= k[i];
    return graph_infer_out_numel(c, 0) * per_out;
}

static int64_t pool_global_flops(const graph_infer_ctx *c)
{
    const graph_shape *x = &c->in_shape[0];
    if (!graph_shape_is_static(x))
        return 0;
    int64_t n = 1;
    for (int d = 0; d < x->rank; d++)
        n *= x->dims[d];
    return n;
}

static const graph_attr_spec maxpool_attrs[] = {
    {"auto_pad", GRAPH_ATTR_STRING},   {"ceil_mode", GRAPH_ATTR_INT},
    {"dilations", GRAPH_ATTR_INTS},    {"kernel_shape", GRAPH_ATTR_INTS},
    {"pads", GRAPH_ATTR_INTS},         {"storage_order", GRAPH_ATTR_INT},
    {"strides", GRAPH_ATTR_INTS},      {NULL, GRAPH_ATTR_UNDEFINED},
};

static const graph_attr_spec averagepool_attrs[] = {
    {"auto_pad", GRAPH_ATTR_STRING},       {"ceil_mode", GRAPH_ATTR_INT},
    {"count_include_pad", GRAPH_ATTR_INT}, {"dilations", GRAPH_ATTR_INTS},
    {"kernel_shape", GRAPH_ATTR_INTS},     {"pads", GRAPH_ATTR_INTS},
    {"strides", GRAPH_ATTR_INTS},          {NULL, GRAPH_ATTR_UNDEFINED},
};

static const graph_attr_spec global_pool_attrs[] = {
    {NULL, GRAPH_ATTR_UNDEFINED},
};

const graph_op_schema graph_schema_maxpool = {
    .name = "MaxPool",
    .min_in = 1, .max_in = 1,
    .min_out = 1, .max_out = 2,
    .attrs = maxpool_attrs,
    .infer = pool_infer,
    .flops = pool_flops,
};

const graph_op_schema graph_schema_averagepool = {
    .name = "AveragePool",
    .min_in = 1, .max_in = 1,
    .min_out = 1, .max_out = 1,
    .attrs = averagepool_attrs,
    .infer = pool_infer,
    .flops = pool_flops,
};

const graph_op_schema graph_schema_globalaveragepool = {
    .name = "GlobalAveragePool",
    .min_in = 1, .max_in = 1,
    .min_out = 1, .max_out = 1,
    .attrs = global_pool_attrs,
    .infer = pool_global_infer,
    .flops = pool_global_flops,
};

const graph_op_schema graph_schema_globalmaxpool = {
    .name = "GlobalMaxPool",
    .min_in = 1, .max_in = 1,
    .min_out = 1, .max_out = 1,
    .attrs = global_pool_attrs,
    .infer = pool_global_infer,
    .flops = pool_global_flops,
};

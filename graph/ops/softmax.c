/* Softmax and LogSoftmax schemas.  Opset < 13: the input is coerced to 2-D at
 * axis (default 1) and normalised over the flattened trailing dims; opset 13+:
 * normalised along the single axis (default -1). */
#include "graph/ops.h"

static ssdc_status softmax_infer(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st = graph_infer_check_dtype(c, 0, err, GRAPH_DT_FLOAT, GRAPH_DT_UNDEFINED);
    if (st)
        return st;
    const graph_shape *x = &c->in_shape[0];
    bool legacy = c->g && c->g->opset > 0 && c->g->opset < 13;
    int64_t axis = graph_attr_int(c->node, "axis", legacy ? 1 : -1);
    if (x->rank >= 0) {
        if (x->rank == 0)
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                     "input 0 is a scalar, expected rank >= 1");
        int ax;
        if ((st = graph_infer_axis(c, axis, x->rank, &ax, err)))
            return st;
    }
    c->out_dtype[0] = GRAPH_DT_FLOAT;
    c->out_shape[0] = *x;
    return SSDC_OK;
}

static int64_t softmax_flops(const graph_infer_ctx *c)
{
    return 4 * graph_infer_out_numel(c, 0);
}

static const graph_attr_spec softmax_attrs[] = {
    {"axis", GRAPH_ATTR_INT},
    {NULL, GRAPH_ATTR_UNDEFINED},
};

const graph_op_schema graph_schema_softmax = {
    .name = "Softmax",
    .min_in = 1, .max_in = 1,
    .min_out = 1, .max_out = 1,
    .attrs = softmax_attrs,
    .infer = softmax_infer,
    .flops = softmax_flops,
};

const graph_op_schema graph_schema_logsoftmax = {
    .name = "LogSoftmax",
    .min_in = 1, .max_in = 1,
    .min_out = 1, .max_out = 1,
    .attrs = softmax_attrs,
    .infer = softmax_infer,
    .flops = softmax_flops,
};

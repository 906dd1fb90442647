/* Per-channel ops: BatchNormalization (inference, and opset 14+ training_mode)
 * and PRelu (slope unidirectionally broadcast to X, opset 7+). */
#include "graph/ops.h"

static const char *bn_input_name(const graph_infer_ctx *c, int i)
{
    int t = i < c->n_in ? c->node->inputs[i] : -1;
    return t >= 0 && c->g && t < c->g->n_tensors ? c->g->tensors[t].name : "?";
}

/* ---- BatchNormalization ---- */

static ssdc_status bn_infer(graph_infer_ctx *c, ssdc_error *err)
{
    static const char *const roles[5] = {"X", "scale", "B", "input_mean", "input_var"};
    ssdc_status st;
    for (int i = 0; i < 5; i++)
        if ((st = graph_infer_check_dtype(c, i, err, GRAPH_DT_FLOAT, GRAPH_DT_UNDEFINED)))
            return st;
    int64_t training = graph_attr_int(c->node, "training_mode", 0);
    if (training != 0 && training != 1)
        return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                 "attribute training_mode is %lld, expected 0 or 1",
                                 (long long)training);
    if (training && c->n_out > 3)
        return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                 "%d outputs, at most 3 (Y, running_mean, running_var) in training "
                                 "mode",
                                 c->n_out);
    const graph_shape *x = &c->in_shape[0];
    if (x->rank >= 0 && x->rank < 2)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "input 0 '%s' has rank %d, expected at least 2 (N x C x ...)",
                                 bn_input_name(c, 0), x->rank);
    /* opset < 9 with spatial = 0: parameters have the shape of one sample */
    bool per_element = c->g && c->g->opset < 9 && graph_attr_int(c->node, "spatial", 1) == 0;
    int64_t chans = x->rank >= 0 ? x->dims[1] : -1;
    for (int i = 1; i < 5; i++) {
        const graph_shape *p = &c->in_shape[i];
        if (p->rank < 0)
            continue;
        bool ok;
        if (per_element) {
            ok = x->rank < 0 || p->rank == x->rank - 1;
            for (int d = 0; ok && d < p->rank; d++)
                ok = p->dims[d] < 0 || x->dims[1 + d] < 0 || p->dims[d] == x->dims[1 + d];
        } else {
            ok = p->rank == 1 && (p->dims[0] < 0 || chans < 0 || p->dims[0] == chans);
        }
        if (!ok) {
            char sp[128];
            graph_shape_format(p, sp, sizeof sp);
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                     "input %d '%s' (%s) has shape %s, expected [%lld] (one value "
                                     "per channel of input 0)",
                                     i, bn_input_name(c, i), roles[i], sp, (long long)chans);
        }
    }
    c->out_dtype[0] = GRAPH_DT_FLOAT;
    c->out_shape[0] = *x;
    for (int o = 1; o < c->n_out; o++) {
        c->out_dtype[o] = GRAPH_DT_FLOAT;
        /* running / saved statistics: the shape of input_mean */
        c->out_shape[o] = c->in_shape[3];
        if (c->out_shape[o].rank < 0 && !per_element && chans >= 0) {
            graph_shape_init(&c->out_shape[o], 1, NULL);
            graph_shape_copy_dim(&c->out_shape[o], 0, x, 1);
        }
    }
    return SSDC_OK;
}

static int64_t bn_flops(const graph_infer_ctx *c)
{
    return 2 * graph_infer_out_numel(c, 0);
}

static const graph_attr_spec bn_attrs[] = {
    {"epsilon", GRAPH_ATTR_FLOAT},     {"momentum", GRAPH_ATTR_FLOAT},
    {"spatial", GRAPH_ATTR_INT},       /* opset < 9 */
    {"training_mode", GRAPH_ATTR_INT}, /* opset 14+ */
    {NULL, GRAPH_ATTR_UNDEFINED},
};

const graph_op_schema graph_schema_batchnormalization = {
    .name = "BatchNormalization",
    .min_in = 5, .max_in = 5,
    .min_out = 1, .max_out = 5,
    .attrs = bn_attrs,
    .infer = bn_infer,
    .flops = bn_flops,
};

/* ---- PRelu ---- */

static ssdc_status prelu_infer(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st;
    for (int i = 0; i < 2; i++)
        if ((st = graph_infer_check_dtype(c, i, err, GRAPH_DT_FLOAT, GRAPH_DT_UNDEFINED)))
            return st;
    const graph_shape *x = &c->in_shape[0], *s = &c->in_shape[1];
    if (x->rank >= 0 && s->rank >= 0) {
        bool ok = s->rank <= x->rank;
        for (int d = 0; ok && d < s->rank; d++) {
            int64_t sd = s->dims[d], xd = x->dims[x->rank - s->rank + d];
            ok = sd < 0 || sd == 1 || xd < 0 || sd == xd;
        }
        if (!ok) {
            char sx[128], ss[128];
            graph_shape_format(x, sx, sizeof sx);
            graph_shape_format(s, ss, sizeof ss);
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                     "input 1 '%s' (slope) of shape %s cannot be broadcast to "
                                     "input 0 '%s' of shape %s",
                                     bn_input_name(c, 1), ss, bn_input_name(c, 0), sx);
        }
    }
    c->out_dtype[0] = GRAPH_DT_FLOAT;
    c->out_shape[0] = *x;
    return SSDC_OK;
}

static const graph_attr_spec prelu_attrs[] = {
    {NULL, GRAPH_ATTR_UNDEFINED},
};

const graph_op_schema graph_schema_prelu = {
    .name = "PRelu",
    .min_in = 2, .max_in = 2,
    .min_out = 1, .max_out = 1,
    .attrs = prelu_attrs,
    .infer = prelu_infer,
};

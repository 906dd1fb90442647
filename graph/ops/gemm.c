/* Gemm schema: Y = alpha * op(A) * op(B) + beta * C, C unidirectionally
 * broadcast to [M, N] and optional (opset 11+). */
#include "graph/ops.h"

static const char *gemm_input_name(const graph_infer_ctx *c, int i)
{
    int t = i < c->n_in ? c->node->inputs[i] : -1;
    return t >= 0 && c->g && t < c->g->n_tensors ? c->g->tensors[t].name : "?";
}

static ssdc_status gemm_infer(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st;
    bool has_c = c->n_in > 2 && c->node->inputs[2] >= 0;
    for (int i = 0; i < (has_c ? 3 : 2); i++)
        if ((st = graph_infer_check_dtype(c, i, err, GRAPH_DT_FLOAT, GRAPH_DT_UNDEFINED)))
            return st;
    c->out_dtype[0] = GRAPH_DT_FLOAT;
    const graph_shape *a = &c->in_shape[0], *b = &c->in_shape[1];
    for (int i = 0; i < 2; i++)
        if (c->in_shape[i].rank >= 0 && c->in_shape[i].rank != 2)
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE, "input %d '%s' has rank %d, expected 2",
                                     i, gemm_input_name(c, i), c->in_shape[i].rank);
    int64_t trans_a = graph_attr_int(c->node, "transA", 0);
    int64_t trans_b = graph_attr_int(c->node, "transB", 0);
    int ia_m = trans_a ? 1 : 0, ib_n = trans_b ? 0 : 1;
    if (a->rank == 2 && b->rank == 2) {
        int64_t ka = a->dims[1 - ia_m], kb = b->dims[1 - ib_n];
        if (ka >= 0 && kb >= 0 && ka != kb) {
            char sa[128], sb[128];
            graph_shape_format(a, sa, sizeof sa);
            graph_shape_format(b, sb, sizeof sb);
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                     "inner dimensions differ: input 0 '%s' %s%s has K=%lld, "
                                     "input 1 '%s' %s%s has K=%lld",
                                     gemm_input_name(c, 0), sa, trans_a ? " (transposed)" : "",
                                     (long long)ka, gemm_input_name(c, 1), sb,
                                     trans_b ? " (transposed)" : "", (long long)kb);
        }
    }
    graph_shape *o = &c->out_shape[0];
    graph_shape_init(o, 2, NULL);
    o->dims[0] = o->dims[1] = -1;
    if (a->rank == 2)
        graph_shape_copy_dim(o, 0, a, ia_m);
    if (b->rank == 2)
        graph_shape_copy_dim(o, 1, b, ib_n);
    if (has_c) {
        const graph_shape *cs = &c->in_shape[2];
        if (cs->rank > 2)
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                     "input 2 '%s' has rank %d, expected at most 2",
                                     gemm_input_name(c, 2), cs->rank);
        for (int d = 0; d < cs->rank; d++) {
            int od = 2 - cs->rank + d;
            int64_t cd = cs->dims[d], yd = o->dims[od];
            if (cd >= 0 && cd != 1 && yd >= 0 && cd != yd) {
                char sc[128], sy[128];
                graph_shape_format(cs, sc, sizeof sc);
                graph_shape_format(o, sy, sizeof sy);
                return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                         "input 2 '%s' of shape %s cannot be broadcast to the "
                                         "output shape %s",
                                         gemm_input_name(c, 2), sc, sy);
            }
            if (cd > 1 && yd < 0 && !o->sym[od][0])
                o->dims[od] = cd;
        }
    }
    return SSDC_OK;
}

static int64_t gemm_flops(const graph_infer_ctx *c)
{
    const graph_shape *a = &c->in_shape[0];
    if (a->rank != 2 || !graph_shape_is_static(a))
        return 0;
    int64_t k = graph_attr_int(c->node, "transA", 0) ? a->dims[0] : a->dims[1];
    return 2 * graph_infer_out_numel(c, 0) * k;
}

static const graph_attr_spec gemm_attrs[] = {
    {"alpha", GRAPH_ATTR_FLOAT}, {"beta", GRAPH_ATTR_FLOAT},
    {"transA", GRAPH_ATTR_INT},  {"transB", GRAPH_ATTR_INT},
    {"broadcast", GRAPH_ATTR_INT}, /* opset < 7; broadcasting is always on */
    {NULL, GRAPH_ATTR_UNDEFINED},
};

const graph_op_schema graph_schema_gemm = {
    .name = "Gemm",
    .min_in = 2, .max_in = 3,
    .min_out = 1, .max_out = 1,
    .attrs = gemm_attrs,
    .infer = gemm_infer,
    .flops = gemm_flops,
};

/* MatMul schema: numpy matmul (1-D operands promoted and the added dim
 * removed again, batch dims broadcast). */
#include "graph/ops.h"

static const char *matmul_input_name(const graph_infer_ctx *c, int i)
{
    int t = i < c->n_in ? c->node->inputs[i] : -1;
    return t >= 0 && c->g && t < c->g->n_tensors ? c->g->tensors[t].name : "?";
}

/* The leading (batch) dims of s: all but the last two (none for rank <= 2). */
static void matmul_batch_shape(const graph_shape *s, graph_shape *batch)
{
    int nb = s->rank > 2 ? s->rank - 2 : 0;
    graph_shape_init(batch, nb, NULL);
    for (int d = 0; d < nb; d++)
        graph_shape_copy_dim(batch, d, s, d);
}

static ssdc_status matmul_infer(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st;
    for (int i = 0; i < 2; i++)
        if ((st = graph_infer_check_dtype(c, i, err, GRAPH_DT_FLOAT, GRAPH_DT_UNDEFINED)))
            return st;
    c->out_dtype[0] = GRAPH_DT_FLOAT;
    const graph_shape *a = &c->in_shape[0], *b = &c->in_shape[1];
    for (int i = 0; i < 2; i++)
        if (c->in_shape[i].rank == 0)
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                     "input %d '%s' is a scalar, expected rank >= 1", i,
                                     matmul_input_name(c, i));
    if (a->rank < 0 || b->rank < 0)
        return SSDC_OK;
    int ka = a->rank - 1, kb = b->rank == 1 ? 0 : b->rank - 2;
    if (a->dims[ka] >= 0 && b->dims[kb] >= 0 && a->dims[ka] != b->dims[kb]) {
        char sa[160], sb[160];
        graph_shape_format(a, sa, sizeof sa);
        graph_shape_format(b, sb, sizeof sb);
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "inner dimensions differ: input 0 '%s' %s has K=%lld, input 1 "
                                 "'%s' %s has K=%lld",
                                 matmul_input_name(c, 0), sa, (long long)a->dims[ka],
                                 matmul_input_name(c, 1), sb, (long long)b->dims[kb]);
    }
    graph_shape ba, bb, batch;
    matmul_batch_shape(a, &ba);
    matmul_batch_shape(b, &bb);
    if ((st = graph_infer_broadcast(c, &ba, &bb, &batch, err)))
        return st;
    graph_shape *o = &c->out_shape[0];
    int rank = batch.rank + (a->rank > 1) + (b->rank > 1);
    if (rank > GRAPH_MAX_RANK)
        return graph_infer_failf(c, err, SSDC_ERR_UNSUPPORTED, "output rank %d exceeds %d", rank,
                                 GRAPH_MAX_RANK);
    graph_shape_init(o, rank, NULL);
    for (int d = 0; d < batch.rank; d++)
        graph_shape_copy_dim(o, d, &batch, d);
    int d = batch.rank;
    if (a->rank > 1)
        graph_shape_copy_dim(o, d++, a, a->rank - 2);
    if (b->rank > 1)
        graph_shape_copy_dim(o, d, b, b->rank - 1);
    return SSDC_OK;
}

static int64_t matmul_flops(const graph_infer_ctx *c)
{
    const graph_shape *a = &c->in_shape[0];
    if (a->rank < 1 || a->dims[a->rank - 1] < 0)
        return 0;
    int64_t numel = graph_infer_out_numel(c, 0);
    if (c->out_shape[0].rank == 0)
        numel = 1;
    return 2 * numel * a->dims[a->rank - 1];
}

static const graph_attr_spec matmul_attrs[] = {
    {NULL, GRAPH_ATTR_UNDEFINED},
};

const graph_op_schema graph_schema_matmul = {
    .name = "MatMul",
    .min_in = 2, .max_in = 2,
    .min_out = 1, .max_out = 1,
    .attrs = matmul_attrs,
    .infer = matmul_infer,
    .flops = matmul_flops,
};

#include "passes/inference.h"
#include "passes/qfuse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/ops.h"

static int count_consumers(const graph *g, int t)
{
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++)
            c += g->nodes[i].inputs[k] == t;
    return c;
}

static void replace_uses(graph *g, int from, int to)
{
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++)
            if (g->nodes[i].inputs[k] == from)
                g->nodes[i].inputs[k] = to;
}

/* A Dropout that is an identity at inference: no training_mode input, or a
 * constant false one; its mask output unused. */
static bool dropout_is_identity(const graph *g, const graph_node *n)
{
    if (n->n_outputs > 1 && n->outputs[1] >= 0 &&
        (count_consumers(g, n->outputs[1]) || g->tensors[n->outputs[1]].is_output))
        return false;
    if (n->n_inputs > 2 && n->inputs[2] >= 0) {
        /* training_mode must be a constant false: an initializer or a Constant node */
        const graph_tensor *t = &g->tensors[n->inputs[2]];
        const void *data = t->kind == GRAPH_TENSOR_INITIALIZER ? t->data : NULL;
        if (!data && t->producer >= 0 && g->nodes[t->producer].op == GRAPH_OP_CONSTANT) {
            const graph_attr *a = graph_node_attr(&g->nodes[t->producer], "value");
            if (a && a->type == GRAPH_ATTR_TENSOR && a->t && a->t->numel == 1 &&
                a->t->dtype == GRAPH_DT_BOOL)
                data = a->t->data;
        }
        if (!data || *(const uint8_t *)data)
            return false;
    }
    return true;
}

static bool is_const(const graph *g, int t)
{
    return t >= 0 && g->tensors[t].kind == GRAPH_TENSOR_INITIALIZER && g->tensors[t].data &&
           g->tensors[t].dtype == GRAPH_DT_FLOAT;
}

static int64_t numel_of(const graph_tensor *t)
{
    int64_t n = 1;
    for (int d = 0; d < t->shape.rank; d++)
        n *= t->shape.dims[d];
    return n;
}

/* A fresh initializer (name derived from base), data owned by the graph. */
static ssdc_status new_init(graph *g, const char *base, int rank, const int64_t *dims, float *data,
                            int *t, ssdc_error *err)
{
    char name[600];
    for (int k = 0;; k++) {
        snprintf(name, sizeof name, "%s/folded%s%d", base, k ? "#" : "", k);
        if (graph_find_tensor(g, name) < 0)
            break;
    }
    return graph_add_initializer(g, name, GRAPH_DT_FLOAT, rank, dims, data, t, err);
}

/* Conv/Gemm -> BatchNormalization(inference) with a constant weight: fold.
 * The producer gets new weight/bias initializers (the originals may be shared)
 * and takes over the BN's output tensor. */
static ssdc_status fold_bn(graph *g, int bn_idx, bool *remove, bool *folded, ssdc_error *err)
{
    *folded = false;
    graph_node *bn = &g->nodes[bn_idx];
    /* outputs[0] < 0: Y omitted (name ""), nothing to take over */
    if (graph_attr_int(bn, "training_mode", 0) != 0 || bn->n_inputs < 5 || bn->n_outputs < 1 ||
        bn->outputs[0] < 0)
        return SSDC_OK;
    for (int o = 1; o < bn->n_outputs; o++)
        if (bn->outputs[o] >= 0)
            return SSDC_OK;
    int x = bn->inputs[0];
    if (x < 0 || g->tensors[x].producer < 0 || g->tensors[x].is_output || count_consumers(g, x) != 1)
        return SSDC_OK;
    int pi = g->tensors[x].producer;
    graph_node *p = &g->nodes[pi];
    bool conv = p->op == GRAPH_OP_CONV;
    bool gemm = p->op == GRAPH_OP_GEMM && graph_attr_int(p, "transA", 0) == 0;
    if ((!conv && !gemm) || p->n_outputs != 1 || remove[pi])
        return SSDC_OK;
    int w = p->inputs[1], b = p->n_inputs > 2 ? p->inputs[2] : -1;
    for (int k = 1; k < 5; k++)
        if (!is_const(g, bn->inputs[k]))
            return SSDC_OK;
    if (!is_const(g, w) || (b >= 0 && !is_const(g, b)))
        return SSDC_OK;
    const graph_tensor *wt = &g->tensors[w];
    int64_t m; /* output channels */
    int64_t per; /* weights per output channel */
    bool trans_b = gemm && graph_attr_int(p, "transB", 0) != 0;
    if (conv) {
        if (wt->shape.rank < 3)
            return SSDC_OK;
        m = wt->shape.dims[0];
        if (m <= 0)
            return SSDC_OK; /* no output channels: nothing to fold (and no division by 0) */
        per = numel_of(wt) / m;
    } else {
        if (wt->shape.rank != 2)
            return SSDC_OK;
        m = trans_b ? wt->shape.dims[0] : wt->shape.dims[1];
        per = trans_b ? wt->shape.dims[1] : wt->shape.dims[0];
        if (g->tensors[x].shape.rank != 2)
            return SSDC_OK;
        float alpha = graph_attr_float(p, "alpha", 1.0f), beta = graph_attr_float(p, "beta", 1.0f);
        if (alpha != 1.0f || (b >= 0 && beta != 1.0f))
            return SSDC_OK;
        if (b >= 0 && numel_of(&g->tensors[b]) != m)
            return SSDC_OK; /* only a per-output bias folds simply */
    }
    if (conv && b >= 0 && numel_of(&g->tensors[b]) != m)
        return SSDC_OK;
    for (int k = 1; k < 5; k++)
        if (numel_of(&g->tensors[bn->inputs[k]]) != m)
            return SSDC_OK;
    const float *scale = g->tensors[bn->inputs[1]].data, *beta = g->tensors[bn->inputs[2]].data;
    const float *mean = g->tensors[bn->inputs[3]].data, *var = g->tensors[bn->inputs[4]].data;
    float eps = graph_attr_float(bn, "epsilon", 1e-5f);
    float *nw = malloc((size_t)numel_of(wt) * sizeof *nw);
    float *nb = malloc((size_t)m * sizeof *nb);
    if (!nw || !nb) {
        free(nw);
        free(nb);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory folding BatchNormalization");
    }
    const float *ow = wt->data, *ob = b >= 0 ? g->tensors[b].data : NULL;
    for (int64_t c = 0; c < m; c++) {
        float s = scale[c] / sqrtf(var[c] + eps);
        nb[c] = ((ob ? ob[c] : 0.0f) - mean[c]) * s + beta[c];
        if (conv || trans_b) {
            for (int64_t j = 0; j < per; j++)
                nw[c * per + j] = ow[c * per + j] * s;
        } else {
            for (int64_t j = 0; j < per; j++)
                nw[j * m + c] = ow[j * m + c] * s;
        }
    }
    int64_t wdims[GRAPH_MAX_RANK];
    memcpy(wdims, wt->shape.dims, sizeof wdims);
    int wrank = wt->shape.rank;
    int nwt, nbt;
    char base[512];
    snprintf(base, sizeof base, "%s", g->nodes[pi].name);
    ssdc_status st = new_init(g, base, wrank, wdims, nw, &nwt, err);
    if (st) {
        free(nb);
        return st;
    }
    int64_t bdims[1] = {m};
    if ((st = new_init(g, base, 1, bdims, nb, &nbt, err)))
        return st;
    p = &g->nodes[pi];
    bn = &g->nodes[bn_idx];
    p->inputs[1] = nwt;
    if (p->n_inputs > 2) {
        p->inputs[2] = nbt;
    } else {
        int *in = realloc(p->inputs, 3 * sizeof *in);
        if (!in)
            return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory folding BatchNormalization");
        in[2] = nbt;
        p->inputs = in;
        p->n_inputs = 3;
    }
    /* the producer now writes the BN's output */
    int y = bn->outputs[0];
    p->outputs[0] = y;
    g->tensors[y].producer = pi;
    g->tensors[x].producer = -1;
    remove[bn_idx] = true;
    *folded = true;
    return SSDC_OK;
}

/* Marks in remove[] every node none of whose outputs is used by a live node
 * or is a graph output (to a fixed point); returns how many it added. */
static int mark_dead(graph *g, bool *remove)
{
    int nt = g->n_tensors, added = 0;
    int *uses = calloc((size_t)(nt ? nt : 1), sizeof *uses);
    if (!uses)
        return 0; /* nothing removed: still correct */
    for (int i = 0; i < g->n_nodes; i++)
        if (!remove[i])
            for (int k = 0; k < g->nodes[i].n_inputs; k++)
                if (g->nodes[i].inputs[k] >= 0)
                    uses[g->nodes[i].inputs[k]]++;
    for (bool changed = true; changed;) {
        changed = false;
        for (int i = g->n_nodes - 1; i >= 0; i--) {
            if (remove[i])
                continue;
            const graph_node *n = &g->nodes[i];
            bool used = false;
            for (int o = 0; o < n->n_outputs && !used; o++) {
                int t = n->outputs[o];
                used = t >= 0 && (g->tensors[t].is_output || uses[t] > 0);
            }
            if (used)
                continue;
            remove[i] = true;
            added++;
            changed = true;
            for (int k = 0; k < n->n_inputs; k++)
                if (n->inputs[k] >= 0)
                    uses[n->inputs[k]]--;
        }
    }
    free(uses);
    return added;
}

int passes_remove_dead_nodes(graph *g)
{
    bool *remove = calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof *remove);
    if (!remove)
        return 0;
    int n = mark_dead(g, remove);
    if (n)
        graph_remove_nodes(g, remove);
    free(remove);
    return n;
}

ssdc_status passes_fold_batchnorm(graph *g, const bool *keep, int *n_folded, ssdc_error *err)
{
    *n_folded = 0;
    bool *remove = calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof *remove);
    if (!remove)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    ssdc_status st = SSDC_OK;
    int n0 = g->n_nodes;
    for (int i = 0; i < n0 && !st; i++) {
        const graph_node *n = &g->nodes[i];
        if (n->op != GRAPH_OP_BATCHNORMALIZATION || n->n_inputs < 1 || n->inputs[0] < 0 ||
            (keep && keep[n->inputs[0]]))
            continue;
        bool folded;
        st = fold_bn(g, i, remove, &folded, err);
        *n_folded += folded;
    }
    if (!st && *n_folded)
        graph_remove_nodes(g, remove);
    free(remove);
    if (!st && *n_folded)
        st = graph_validate(g, err);
    return st;
}

ssdc_status passes_optimize_inference(graph *g, inference_stats *stats, ssdc_error *err)
{
    return passes_optimize_inference_opt(g, NULL, stats, err);
}

ssdc_status passes_optimize_inference_opt(graph *g, const inference_options *opt,
                                          inference_stats *stats, ssdc_error *err)
{
    inference_stats s = {0};
    bool *remove = calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof *remove);
    if (!remove)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    ssdc_status st = SSDC_OK;
    /* Dropout / Identity: consumers read the input directly (not for graph outputs) */
    for (int i = 0; i < g->n_nodes; i++) {
        graph_node *n = &g->nodes[i];
        bool drop = n->op == GRAPH_OP_DROPOUT && dropout_is_identity(g, n);
        bool ident = n->op == GRAPH_OP_IDENTITY;
        if (!drop && !ident)
            continue;
        int in = n->inputs[0], out = n->outputs[0];
        if (in < 0 || out < 0 || g->tensors[out].is_output)
            continue;
        replace_uses(g, out, in);
        remove[i] = true;
        if (drop)
            s.dropout_removed++;
        else
            s.identity_removed++;
    }
    for (int i = 0; i < g->n_nodes && !st; i++) {
        if (remove[i] || g->nodes[i].op != GRAPH_OP_BATCHNORMALIZATION)
            continue;
        bool folded;
        st = fold_bn(g, i, remove, &folded, err);
        s.bn_folded += folded;
    }
    if (!st)
        s.dead_removed = mark_dead(g, remove);
    if (!st)
        graph_remove_nodes(g, remove);
    free(remove);
    if (!st)
        st = graph_validate(g, err);
    if (!st && !(opt && opt->qdq_simulate) && qfuse_is_qdq_graph(g)) {
        qfuse_stats q;
        st = passes_qfuse(g, &q, err);
        s.qdq_fused = q.n_fused;
        s.qdq_unfused = q.n_unfused;
    }
    if (stats)
        *stats = s;
    return st;
}

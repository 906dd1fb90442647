#include "runtime/exec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/ops.h"
#include "runtime/kernel.h"

#define ARENA_ALIGN 64

struct rt_plan {
    const graph *g;
    rt_options opt;
    int *run_nodes;        /* nodes executed per run, in order */
    int n_run;
    bool *folded;          /* per node: evaluated at plan time */
    graph_value *vals;     /* per tensor: concrete dtype/shape/data */
    bool *is_const;        /* per tensor: value known at plan time */
    void **owned;          /* per tensor: buffer owned by the plan (folded constants) */
    size_t *scratch_off;   /* per run node (index into run_nodes) */
    size_t *scratch_size;
    uint8_t *arena;
    graph_value *inputs_key;  /* shapes of the inputs planned for */
    void **captured;          /* per graph input: copy of the value the plan depends on */
    uint64_t runs;
    rt_plan_stats stats;
    /* per run position: a GlobalAveragePool run together with the Dropout
     * feeding it (fuse_dropout_gap); dropout < 0: an ordinary node */
    struct fused_step {
        int dropout;  /* the Dropout node, no longer in run_nodes */
        int src;      /* tensor the pool reads (the Dropout's input, or what Expand repeated) */
        int64_t reps; /* rows of the Dropout's input per row of src */
    } *fuse;
};

static size_t align_up(size_t n)
{
    return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

void rt_plan_free(rt_plan *p)
{
    if (!p)
        return;
    if (p->owned)
        for (int t = 0; t < p->g->n_tensors; t++)
            free(p->owned[t]);
    if (p->captured)
        for (int i = 0; i < p->g->n_inputs; i++)
            free(p->captured[i]);
    free(p->captured);
    free(p->inputs_key);
    free(p->owned);
    free(p->run_nodes);
    free(p->folded);
    free(p->vals);
    free(p->is_const);
    free(p->scratch_off);
    free(p->scratch_size);
    free(p->fuse);
    free(p->arena);
    free(p);
}

/* Lists every node ssdc cannot run, all at once. */
static ssdc_status check_supported(const graph *g, ssdc_error *err)
{
    char list[768];
    size_t pos = 0;
    int bad = 0;
    list[0] = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const graph_node *n = &g->nodes[i];
        if (graph_op_schema_get(n->op) && rt_kernel_get(n->op))
            continue;
        if (bad++ < 8 && pos < sizeof list)
            pos += (size_t)snprintf(list + pos, sizeof list - pos, "%s'%s' (%s%s%s)",
                                    pos ? ", " : "", n->name, n->domain[0] ? n->domain : "",
                                    n->domain[0] ? "::" : "", n->op_type);
    }
    if (!bad)
        return SSDC_OK;
    return ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "%d node%s use%s ops ssdc cannot run: %s%s", bad,
                     bad == 1 ? "" : "s", bad == 1 ? "s" : "", list, bad > 8 ? ", ..." : "");
}

static ssdc_status bind_inputs(rt_plan *p, const graph_value *inputs, ssdc_error *err)
{
    const graph *g = p->g;
    for (int i = 0; i < g->n_inputs; i++) {
        const graph_tensor *t = &g->tensors[g->inputs[i]];
        const graph_value *v = &inputs[i];
        if (t->dtype != GRAPH_DT_UNDEFINED && v->dtype != t->dtype)
            return ssdc_fail(err, SSDC_ERR_SHAPE, "input '%s': expected dtype %s, got %s",
                             t->name, graph_dtype_name(t->dtype), graph_dtype_name(v->dtype));
        if (!graph_dtype_supported(v->dtype))
            return ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "input '%s': dtype %s is not supported",
                             t->name, graph_dtype_name(v->dtype));
        bool ok = t->shape.rank < 0 || t->shape.rank == v->rank;
        for (int d = 0; ok && d < v->rank; d++)
            if (v->dims[d] < 0 || (t->shape.rank >= 0 && t->shape.dims[d] >= 0 &&
                                   t->shape.dims[d] != v->dims[d]))
                ok = false;
        if (v->rank < 0 || v->rank > GRAPH_MAX_RANK)
            ok = false;
        if (!ok) {
            char want[160], got[160];
            graph_shape gs;
            graph_shape_init(&gs, v->rank < 0 ? 0 : v->rank, v->dims);
            graph_shape_format(&t->shape, want, sizeof want);
            graph_shape_format(&gs, got, sizeof got);
            return ssdc_fail(err, SSDC_ERR_SHAPE, "input '%s': expected shape %s, got %s",
                             t->name, want, got);
        }
        graph_value *pv = &p->vals[g->inputs[i]];
        graph_value_set_shape(pv, v->dtype, v->rank, v->dims);
        pv->data = v->data;
    }
    return SSDC_OK;
}

typedef struct {
    size_t size;
    int start, end;   /* run positions, inclusive */
    size_t offset;
    int tensor;       /* -1 for scratch */
    int run_pos;      /* for scratch: its node position */
} block;

static int block_cmp(const void *a, const void *b)
{
    const block *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? 1 : -1;
    if (x->start != y->start)
        return x->start - y->start;
    return x->tensor - y->tensor;
}

/* Greedy by size: each block takes the lowest offset that does not overlap a
 * placed block whose lifetime intersects its own. */
static size_t place_blocks(block *b, int nb)
{
    qsort(b, (size_t)nb, sizeof *b, block_cmp);
    size_t total = 0;
    size_t *cand = malloc((size_t)(nb + 1) * sizeof *cand);
    for (int i = 0; i < nb; i++) {
        size_t best = 0;
        /* try offset 0 and the end of every conflicting placed block */
        int nc = 0;
        cand[nc++] = 0;
        for (int j = 0; j < i; j++)
            if (b[j].start <= b[i].end && b[i].start <= b[j].end)
                cand[nc++] = b[j].offset + b[j].size;
        best = (size_t)-1;
        for (int c = 0; c < nc; c++) {
            size_t off = cand[c];
            if (off >= best)
                continue;
            bool fits = true;
            for (int j = 0; j < i && fits; j++)
                if (b[j].start <= b[i].end && b[i].start <= b[j].end &&
                    off < b[j].offset + b[j].size && b[j].offset < off + b[i].size)
                    fits = false;
            if (fits)
                best = off;
        }
        b[i].offset = best;
        if (best + b[i].size > total)
            total = best + b[i].size;
    }
    free(cand);
    return total;
}

static void input_views(const rt_plan *p, const graph_node *n, graph_value *in, graph_value *out)
{
    for (int i = 0; i < n->n_inputs; i++) {
        if (n->inputs[i] < 0)
            memset(&in[i], 0, sizeof in[i]);
        else
            in[i] = p->vals[n->inputs[i]];
    }
    for (int i = 0; i < n->n_outputs; i++) {
        if (n->outputs[i] < 0)
            memset(&out[i], 0, sizeof out[i]);
        else
            out[i] = p->vals[n->outputs[i]];
    }
}

/* Marks in want[] the graph inputs that tensor t's value depends on. */
static void upstream_inputs(const graph *g, int t, bool *want, bool *visited)
{
    if (t < 0 || visited[t])
        return;
    visited[t] = true;
    const graph_tensor *tt = &g->tensors[t];
    if (tt->kind == GRAPH_TENSOR_INPUT) {
        for (int gi = 0; gi < g->n_inputs; gi++)
            if (g->inputs[gi] == t)
                want[gi] = true;
        return;
    }
    if (tt->producer < 0)
        return;
    const graph_node *n = &g->nodes[tt->producer];
    for (int i = 0; i < n->n_inputs; i++)
        upstream_inputs(g, n->inputs[i], want, visited);
}

/* Builds a plan treating the graph inputs marked in capture[] as constants.
 * When a shape depends on the value of caller-fed inputs not yet captured,
 * marks them in capture[], sets *retry and fails. */
/* Runs GlobalAveragePool(Dropout(X)) as one step (rt_dropout_gap_forward)
 * when the Dropout's outputs feed nothing but the pool: the masked tensor is
 * never stored.  When X itself is a tensor repeated along the rows, Reshape(
 * Expand(U, [1, K, 1, ...]), [-1, ...]) with U [B, 1, ...] (the rows the SSD
 * pass tiles, passes/ssd.c), the repeated tensor is not stored either: the
 * step reads U.  Removes the absorbed nodes from run_nodes and fills p->fuse;
 * results are bit-identical to running the nodes one by one. */
static ssdc_status fuse_dropout_gap(rt_plan *p, ssdc_error *err)
{
    const graph *g = p->g;
    int nn = g->n_nodes, nt = g->n_tensors;
    p->fuse = malloc((size_t)(p->n_run ? p->n_run : 1) * sizeof *p->fuse);
    int *cons = calloc((size_t)(nt ? nt : 1), sizeof *cons);
    int *pos = malloc((size_t)(nn ? nn : 1) * sizeof *pos);
    bool *drop = calloc((size_t)(nn ? nn : 1), sizeof *drop);
    if (!p->fuse || !cons || !pos || !drop) {
        free(cons), free(pos), free(drop);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory planning");
    }
    for (int r = 0; r < p->n_run; r++)
        p->fuse[r].dropout = -1;
    if (p->opt.no_fusion)
        goto done;
    for (int i = 0; i < nn; i++) {
        pos[i] = -1;
        for (int k = 0; k < g->nodes[i].n_inputs; k++)
            if (g->nodes[i].inputs[k] >= 0)
                cons[g->nodes[i].inputs[k]]++;
    }
    for (int i = 0; i < g->n_outputs; i++)
        cons[g->outputs[i]]++;
    for (int r = 0; r < p->n_run; r++)
        pos[p->run_nodes[r]] = r;
#define RUN_NODE(t, opid)                                                                   \
    ((t) >= 0 && g->tensors[t].producer >= 0 && pos[g->tensors[t].producer] >= 0 &&       \
     g->nodes[g->tensors[t].producer].op == (opid) && cons[t] == 1)
    for (int r = 0; r < p->n_run; r++) {
        const graph_node *n = &g->nodes[p->run_nodes[r]];
        if (n->op != GRAPH_OP_GLOBALAVERAGEPOOL || n->n_inputs < 1 || n->n_outputs < 1 ||
            n->outputs[0] < 0)
            continue;
        int t = n->inputs[0];
        if (!RUN_NODE(t, GRAPH_OP_DROPOUT))
            continue;
        int di = g->tensors[t].producer;
        const graph_node *d = &g->nodes[di];
        if (d->outputs[0] != t || d->n_inputs < 1 || d->n_inputs > 16 || d->n_outputs > 16 ||
            (d->n_outputs > 1 && d->outputs[1] >= 0 && cons[d->outputs[1]] > 0))
            continue;
        int x = d->inputs[0];
        if (x < 0 || p->vals[x].dtype != GRAPH_DT_FLOAT || p->vals[t].dtype != GRAPH_DT_FLOAT)
            continue;
        int src = x, ri = -1, ei = -1;
        int64_t reps = 1;
        if (RUN_NODE(x, GRAPH_OP_RESHAPE)) {
            ri = g->tensors[x].producer;
            int e = g->nodes[ri].inputs[0];
            if (RUN_NODE(e, GRAPH_OP_EXPAND)) {
                ei = g->tensors[e].producer;
                int u = g->nodes[ei].inputs[0];
                const graph_value *vu = &p->vals[u], *ve = &p->vals[e], *vx = &p->vals[x];
                bool ok = u >= 0 && vu->dtype == GRAPH_DT_FLOAT && vu->rank == ve->rank &&
                          vu->rank >= 2 && vu->rank == vx->rank + 1 && vu->dims[1] == 1 &&
                          vu->dims[0] == ve->dims[0] && ve->dims[1] >= 1 &&
                          vx->dims[0] == ve->dims[0] * ve->dims[1];
                for (int k = 2; ok && k < ve->rank; k++)
                    ok = vu->dims[k] == ve->dims[k] && vx->dims[k - 1] == ve->dims[k];
                if (ok) {
                    src = u;
                    reps = ve->dims[1];
                }
            }
        }
        if (src == x)
            ri = ei = -1;
        drop[di] = true;
        if (ri >= 0)
            drop[ri] = drop[ei] = true;
        p->fuse[r] = (struct fused_step){.dropout = di, .src = src, .reps = reps};
    }
#undef RUN_NODE
    /* compact the run list */
    int m = 0;
    for (int r = 0; r < p->n_run; r++) {
        if (drop[p->run_nodes[r]])
            continue;
        p->fuse[m] = p->fuse[r];
        p->run_nodes[m++] = p->run_nodes[r];
    }
    p->n_run = m;
done:
    free(cons), free(pos), free(drop);
    return SSDC_OK;
}

static ssdc_status plan_build(const graph *g, const graph_value *inputs, const rt_options *opt,
                              bool *capture, bool *retry, rt_plan **out, ssdc_error *err)
{
    *out = NULL;
    *retry = false;
    ssdc_status st = SSDC_OK;
    int nn = g->n_nodes, nt = g->n_tensors;
    rt_plan *p = calloc(1, sizeof *p);
    if (!p)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory planning");
    p->g = g;
    if (opt)
        p->opt = *opt;
    if (p->opt.memory_limit <= 0)
        p->opt.memory_limit = SSDC_DEFAULT_MEMORY_LIMIT;
    size_t n1 = (size_t)(nn ? nn : 1), t1 = (size_t)(nt ? nt : 1);
    size_t i1 = (size_t)(g->n_inputs ? g->n_inputs : 1);
    int *order = malloc(n1 * sizeof *order);
    p->run_nodes = malloc(n1 * sizeof *p->run_nodes);
    p->folded = calloc(n1, sizeof *p->folded);
    p->vals = calloc(t1, sizeof *p->vals);
    p->is_const = calloc(t1, sizeof *p->is_const);
    p->owned = calloc(t1, sizeof *p->owned);
    p->scratch_off = calloc(n1, sizeof *p->scratch_off);
    p->scratch_size = calloc(n1, sizeof *p->scratch_size);
    p->inputs_key = calloc(i1, sizeof *p->inputs_key);
    p->captured = calloc(i1, sizeof *p->captured);
    int max_io = 1;
    for (int i = 0; i < nn; i++) {
        if (g->nodes[i].n_inputs > max_io)
            max_io = g->nodes[i].n_inputs;
        if (g->nodes[i].n_outputs > max_io)
            max_io = g->nodes[i].n_outputs;
    }
    graph_dtype *idt = malloc((size_t)max_io * sizeof *idt);
    graph_shape *ish = malloc((size_t)max_io * sizeof *ish);
    const graph_value **ival = malloc((size_t)max_io * sizeof *ival);
    graph_dtype *odt = malloc((size_t)max_io * sizeof *odt);
    graph_shape *osh = malloc((size_t)max_io * sizeof *osh);
    graph_value *vin = malloc((size_t)max_io * sizeof *vin);
    graph_value *vout = malloc((size_t)max_io * sizeof *vout);
    int *first_def = malloc(t1 * sizeof *first_def);
    int *last_use = malloc(t1 * sizeof *last_use);
    int *alias = malloc(t1 * sizeof *alias);
    block *blocks = NULL;
    if (!order || !p->run_nodes || !p->folded || !p->vals || !p->is_const || !p->owned ||
        !p->scratch_off || !p->scratch_size || !p->inputs_key || !p->captured || !idt || !ish ||
        !ival || !odt || !osh || !vin || !vout || !first_def || !last_use || !alias) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory planning");
        goto done;
    }
    if ((st = graph_topo_order(g, order, err)))
        goto done;
    if ((st = bind_inputs(p, inputs, err)))
        goto done;
    for (int i = 0; i < g->n_inputs; i++) {
        p->inputs_key[i] = p->vals[g->inputs[i]];
        if (!capture[i])
            continue;
        /* the plan depends on this caller-fed value: keep a copy */
        graph_value *v = &p->vals[g->inputs[i]];
        size_t bytes = graph_value_bytes(v);
        p->captured[i] = malloc(bytes ? bytes : 1);
        if (!p->captured[i]) {
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory planning");
            goto done;
        }
        if (bytes)
            memcpy(p->captured[i], v->data, bytes);
        v->data = p->captured[i];
        p->is_const[g->inputs[i]] = true;
    }
    for (int t = 0; t < nt; t++) {
        const graph_tensor *tt = &g->tensors[t];
        if (tt->kind == GRAPH_TENSOR_INITIALIZER) {
            graph_value_set_shape(&p->vals[t], tt->dtype, tt->shape.rank, tt->shape.dims);
            p->vals[t].data = tt->data;
            p->is_const[t] = true;
        }
    }

    int64_t const_bytes = 0;
    for (int k = 0; k < nn; k++) {
        int ni = order[k];
        const graph_node *n = &g->nodes[ni];
        const graph_op_schema *s = graph_op_schema_get(n->op);
        const rt_kernel *kern = rt_kernel_get(n->op);
        bool all_const = true;
        for (int i = 0; i < n->n_inputs; i++) {
            int t = n->inputs[i];
            if (t < 0) {
                idt[i] = GRAPH_DT_UNDEFINED;
                graph_shape_unknown(&ish[i]);
                ival[i] = NULL;
                continue;
            }
            const graph_value *v = &p->vals[t];
            idt[i] = v->dtype;
            graph_shape_init(&ish[i], v->rank, v->dims);
            ival[i] = p->is_const[t] ? v : NULL;
            if (!ival[i])
                all_const = false;
        }
        if ((st = graph_infer_node(g, n, idt, ish, ival, odt, osh, err)))
            goto done;
        for (int o = 0; o < n->n_outputs; o++) {
            int t = n->outputs[o];
            if (t < 0)
                continue;
            int64_t numel;
            if (!graph_shape_is_static(&osh[o])) {
                /* does the shape wait for the value of caller-fed inputs? */
                bool *visited = calloc(t1, sizeof *visited);
                bool *want = calloc(i1, sizeof *want);
                bool added = false;
                for (int i = 0; visited && want && i < n->n_inputs; i++)
                    if ((s->value_inputs >> i & 1u) && n->inputs[i] >= 0 && !ival[i])
                        upstream_inputs(g, n->inputs[i], want, visited);
                for (int gi = 0; want && gi < g->n_inputs; gi++)
                    if (want[gi] && !capture[gi])
                        capture[gi] = added = true;
                free(visited);
                free(want);
                if (added) {
                    *retry = true;
                    st = SSDC_ERR_SHAPE;
                    goto done;
                }
                char buf[160];
                graph_shape_format(&osh[o], buf, sizeof buf);
                st = ssdc_fail(err, SSDC_ERR_SHAPE,
                               "node '%s' (%s): cannot determine the shape of output '%s' "
                               "(got %s); it depends on values known only at run time",
                               n->name, n->op_type, g->tensors[t].name, buf);
                goto done;
            }
            if ((st = graph_shape_numel(&osh[o], &numel, err))) {
                ssdc_error_prefix(err, "node '%s' (%s): output '%s'", n->name, n->op_type,
                                  g->tensors[t].name);
                goto done;
            }
            if (!graph_dtype_supported(odt[o])) {
                st = ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "node '%s' (%s): output '%s' has dtype %s",
                               n->name, n->op_type, g->tensors[t].name, graph_dtype_name(odt[o]));
                goto done;
            }
            graph_value_set_shape(&p->vals[t], odt[o], osh[o].rank, osh[o].dims);
        }
        bool foldable = (all_const || s->shape_only) && n->op != GRAPH_OP_DROPOUT;
        if (!foldable) {
            p->run_nodes[p->n_run++] = ni;
            continue;
        }
        /* evaluate now: the outputs become plan constants */
        p->folded[ni] = true;
        for (int o = 0; o < n->n_outputs; o++) {
            int t = n->outputs[o];
            if (t < 0)
                continue;
            size_t bytes = graph_value_bytes(&p->vals[t]);
            const_bytes += (int64_t)bytes;
            if (const_bytes > p->opt.memory_limit) {
                st = ssdc_fail(err, SSDC_ERR_LIMIT,
                               "node '%s' (%s): constant outputs exceed the memory limit of %lld "
                               "bytes",
                               n->name, n->op_type, (long long)p->opt.memory_limit);
                goto done;
            }
            p->owned[t] = malloc(bytes ? bytes : 1);
            if (!p->owned[t]) {
                st = ssdc_fail(err, SSDC_ERR_NOMEM, "node '%s' (%s): out of memory", n->name,
                               n->op_type);
                goto done;
            }
            p->vals[t].data = p->owned[t];
            p->is_const[t] = true;
        }
        input_views(p, n, vin, vout);
        size_t sbytes = kern->scratch ? kern->scratch(n, vin, n->n_inputs, vout, n->n_outputs) : 0;
        void *scratch = sbytes ? aligned_alloc(ARENA_ALIGN, align_up(sbytes)) : NULL;
        if (sbytes && !scratch) {
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "node '%s' (%s): out of memory", n->name, n->op_type);
            goto done;
        }
        rt_kernel_ctx ctx = {.g = g, .node = n, .node_index = ni, .seed = p->opt.seed,
                             .training = p->opt.training, .scratch = scratch,
                             .scratch_bytes = sbytes};
        st = kern->forward(&ctx, vin, n->n_inputs, vout, n->n_outputs, err);
        free(scratch);
        if (st)
            goto done;
    }
    p->stats.constant_bytes = (size_t)const_bytes;
    if ((st = fuse_dropout_gap(p, err)))
        goto done;

    /* lifetimes over run positions */
    for (int t = 0; t < nt; t++) {
        first_def[t] = -1;
        last_use[t] = -1;
        alias[t] = t;
    }
    for (int r = 0; r < p->n_run; r++) {
        const graph_node *n = &g->nodes[p->run_nodes[r]];
        for (int i = 0; i < n->n_inputs; i++)
            if (n->inputs[i] >= 0)
                last_use[n->inputs[i]] = r;
        for (int o = 0; o < n->n_outputs; o++)
            if (n->outputs[o] >= 0) {
                first_def[n->outputs[o]] = r;
                if (last_use[n->outputs[o]] < r)
                    last_use[n->outputs[o]] = r;
            }
    }
    for (int r = 0; r < p->n_run; r++)
        if (p->fuse[r].dropout >= 0 && p->fuse[r].src >= 0)
            last_use[p->fuse[r].src] = r; /* read by the fused step */
    for (int i = 0; i < g->n_outputs; i++)
        last_use[g->outputs[i]] = p->n_run;
    /* Memory sharing, in run order:
     * - Reshape-like nodes write nothing new: their output is a view of the
     *   input's memory (one block living as long as either);
     * - elementwise ops whose first input dies at the node write their output
     *   over it (same size and dtype; the kernels read element i before
     *   writing element i). */
    for (int r = 0; r < p->n_run; r++) {
        const graph_node *n = &g->nodes[p->run_nodes[r]];
        if (n->n_outputs < 1 || n->outputs[0] < 0 || n->n_inputs < 1 || n->inputs[0] < 0)
            continue;
        int src = n->inputs[0], dst = n->outputs[0];
        if (first_def[src] < 0 || p->is_const[src] || p->is_const[dst])
            continue; /* inputs, constants and folded tensors keep their own memory */
        bool view = n->op == GRAPH_OP_RESHAPE || n->op == GRAPH_OP_FLATTEN ||
                    n->op == GRAPH_OP_SQUEEZE || n->op == GRAPH_OP_UNSQUEEZE ||
                    n->op == GRAPH_OP_IDENTITY;
        bool elementwise = n->op == GRAPH_OP_RELU || n->op == GRAPH_OP_LEAKYRELU ||
                           n->op == GRAPH_OP_SIGMOID || n->op == GRAPH_OP_TANH ||
                           n->op == GRAPH_OP_NEG || n->op == GRAPH_OP_ABS ||
                           n->op == GRAPH_OP_EXP || n->op == GRAPH_OP_LOG ||
                           n->op == GRAPH_OP_SQRT || n->op == GRAPH_OP_CLIP ||
                           n->op == GRAPH_OP_DROPOUT || n->op == GRAPH_OP_ADD ||
                           n->op == GRAPH_OP_SUB || n->op == GRAPH_OP_MUL || n->op == GRAPH_OP_DIV;
        int root = alias[src];
        if (elementwise) {
            const graph_value *a = &p->vals[src], *y = &p->vals[dst];
            bool same = a->dtype == y->dtype && a->rank == y->rank && a->numel == y->numel;
            for (int d = 0; same && d < a->rank; d++)
                same = a->dims[d] == y->dims[d];
            /* the input (and every view of it) must die here */
            if (!same || last_use[root] != r || g->tensors[src].is_output)
                continue;
            for (int i = 1; i < n->n_inputs; i++)
                if (n->inputs[i] >= 0 && alias[n->inputs[i]] == root && n->inputs[i] != src)
                    same = false; /* another view of the same memory feeds the node */
            if (!same)
                continue;
        } else if (!view) {
            continue;
        }
        alias[dst] = root;
        if (last_use[dst] > last_use[root])
            last_use[root] = last_use[dst];
    }
    blocks = malloc((size_t)(nt + p->n_run + 1) * sizeof *blocks);
    if (!blocks) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory planning");
        goto done;
    }
    int nb = 0;
    for (int t = 0; t < nt; t++) {
        if (first_def[t] < 0 || p->is_const[t])
            continue;
        size_t bytes = align_up(graph_value_bytes(&p->vals[t]));
        p->stats.sum_tensor_bytes += bytes; /* as if nothing were shared */
        if (alias[t] != t)
            continue;
        blocks[nb++] = (block){.size = bytes ? bytes : ARENA_ALIGN, .start = first_def[t],
                               .end = last_use[t], .tensor = t, .run_pos = -1};
    }
    for (int r = 0; r < p->n_run; r++) {
        int ni = p->run_nodes[r];
        const graph_node *n = &g->nodes[ni];
        const rt_kernel *kern = rt_kernel_get(n->op);
        size_t sbytes = 0;
        if (p->fuse[r].dropout >= 0) {
            sbytes = rt_dropout_gap_scratch(&p->vals[g->nodes[p->fuse[r].dropout].inputs[0]],
                                            p->opt.threads);
        } else if (kern->scratch) {
            input_views(p, n, vin, vout);
            sbytes = kern->scratch(n, vin, n->n_inputs, vout, n->n_outputs);
        }
        if (!sbytes)
            continue;
        if ((int64_t)sbytes > p->opt.memory_limit) {
            st = ssdc_fail(err, SSDC_ERR_LIMIT,
                           "node '%s' (%s): scratch of %zu bytes exceeds the memory limit",
                           n->name, n->op_type, sbytes);
            goto done;
        }
        p->scratch_size[r] = sbytes;
        blocks[nb++] = (block){.size = align_up(sbytes), .start = r, .end = r, .tensor = -1,
                               .run_pos = r};
    }
    /* peak of simultaneously live bytes */
    for (int r = 0; r <= p->n_run; r++) {
        size_t live = 0;
        for (int b = 0; b < nb; b++)
            if (blocks[b].start <= r && r <= blocks[b].end)
                live += blocks[b].size;
        if (live > p->stats.peak_live_bytes)
            p->stats.peak_live_bytes = live;
    }
    size_t arena_bytes = place_blocks(blocks, nb);
    if ((int64_t)arena_bytes + const_bytes > p->opt.memory_limit) {
        st = ssdc_fail(err, SSDC_ERR_LIMIT,
                       "running this model needs %zu bytes, more than the memory limit of %lld "
                       "bytes",
                       arena_bytes + (size_t)const_bytes, (long long)p->opt.memory_limit);
        goto done;
    }
    p->stats.arena_bytes = arena_bytes;
    p->arena = aligned_alloc(ARENA_ALIGN, arena_bytes ? arena_bytes : ARENA_ALIGN);
    if (!p->arena) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "cannot allocate the %zu-byte arena", arena_bytes);
        goto done;
    }
    for (int b = 0; b < nb; b++) {
        if (blocks[b].tensor >= 0)
            p->vals[blocks[b].tensor].data = p->arena + blocks[b].offset;
        else
            p->scratch_off[blocks[b].run_pos] = blocks[b].offset;
    }
    for (int t = 0; t < nt; t++)
        if (alias[t] != t)
            p->vals[t].data = p->vals[alias[t]].data;
done:
    free(order), free(idt), free(ish), free(ival), free(odt), free(osh), free(vin), free(vout);
    free(first_def), free(last_use), free(alias), free(blocks);
    if (st) {
        rt_plan_free(p);
        return st;
    }
    *out = p;
    return SSDC_OK;
}

ssdc_status rt_plan_create(const graph *g, const graph_value *inputs, const rt_options *opt,
                           rt_plan **out, ssdc_error *err)
{
    *out = NULL;
    ssdc_status st = check_supported(g, err);
    if (st)
        return st;
    bool *capture = calloc((size_t)(g->n_inputs ? g->n_inputs : 1), sizeof *capture);
    if (!capture)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory planning");
    bool retry = true;
    /* each retry captures at least one more input */
    for (int attempt = 0; retry && attempt <= g->n_inputs; attempt++)
        st = plan_build(g, inputs, opt, capture, &retry, out, err);
    free(capture);
    return st;
}

bool rt_plan_matches(const rt_plan *p, const graph_value *inputs)
{
    const graph *g = p->g;
    for (int i = 0; i < g->n_inputs; i++) {
        const graph_value *a = &p->inputs_key[i], *b = &inputs[i];
        if (a->dtype != b->dtype || a->rank != b->rank)
            return false;
        for (int d = 0; d < a->rank; d++)
            if (a->dims[d] != b->dims[d])
                return false;
        if (p->captured[i] && memcmp(p->captured[i], b->data, graph_value_bytes(b)) != 0)
            return false;
    }
    return true;
}

static bool all_finite(const graph_value *v)
{
    if (v->dtype == GRAPH_DT_FLOAT) {
        const float *x = v->data;
        for (int64_t i = 0; i < v->numel; i++)
            if (!isfinite(x[i]))
                return false;
    } else if (v->dtype == GRAPH_DT_DOUBLE) {
        const double *x = v->data;
        for (int64_t i = 0; i < v->numel; i++)
            if (!isfinite(x[i]))
                return false;
    }
    return true;
}

static ssdc_status run_nodes(rt_plan *p, const graph_value *inputs, bool check, int *bad_node,
                             int *bad_output, ssdc_error *err);

ssdc_status rt_plan_find_nonfinite(rt_plan *p, const graph_value *inputs, int *node, int *output,
                                   ssdc_error *err)
{
    *node = *output = -1;
    return run_nodes(p, inputs, true, node, output, err);
}

ssdc_status rt_plan_run(rt_plan *p, const graph_value *inputs, ssdc_error *err)
{
    return run_nodes(p, inputs, false, NULL, NULL, err);
}

static ssdc_status run_nodes(rt_plan *p, const graph_value *inputs, bool check, int *bad_node,
                             int *bad_output, ssdc_error *err)
{
    const graph *g = p->g;
    if (!rt_plan_matches(p, inputs))
        return ssdc_fail(err, SSDC_ERR_SHAPE, "inputs do not have the shapes the plan was made for");
    for (int i = 0; i < g->n_inputs; i++)
        p->vals[g->inputs[i]].data = inputs[i].data;
    int max_io = 1;
    for (int r = 0; r < p->n_run; r++) {
        const graph_node *n = &g->nodes[p->run_nodes[r]];
        if (n->n_inputs > max_io)
            max_io = n->n_inputs;
        if (n->n_outputs > max_io)
            max_io = n->n_outputs;
    }
    graph_value stack_in[16], stack_out[16];
    graph_value *vin = stack_in, *vout = stack_out;
    if (max_io > 16) {
        vin = malloc((size_t)max_io * sizeof *vin);
        vout = malloc((size_t)max_io * sizeof *vout);
        if (!vin || !vout) {
            free(vin), free(vout);
            return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        }
    }
    ssdc_status st = SSDC_OK;
    for (int r = 0; r < p->n_run && !st; r++) {
        int ni = p->run_nodes[r];
        const graph_node *n = &g->nodes[ni];
        input_views(p, n, vin, vout);
        rt_kernel_ctx ctx = {.g = g, .node = n, .node_index = ni, .seed = p->opt.seed,
                             .step = p->runs, .training = p->opt.training,
                             .threads = p->opt.threads,
                             .scratch = p->scratch_size[r] ? p->arena + p->scratch_off[r] : NULL,
                             .scratch_bytes = p->scratch_size[r]};
        if (p->fuse[r].dropout >= 0) {
            const struct fused_step *f = &p->fuse[r];
            const graph_node *d = &g->nodes[f->dropout];
            graph_value din[16], dout[16];
            input_views(p, d, din, dout);
            rt_kernel_ctx dctx = ctx;
            dctx.node = d;
            dctx.node_index = f->dropout;
            st = rt_dropout_gap_forward(&dctx, din, d->n_inputs, &din[0], &p->vals[f->src],
                                        f->reps, &ctx, &vout[0], err);
        } else {
            st = rt_kernel_get(n->op)->forward(&ctx, vin, n->n_inputs, vout, n->n_outputs, err);
        }
        if (check && !st) {
            for (int o = 0; o < n->n_outputs; o++) {
                if (n->outputs[o] >= 0 && !all_finite(&p->vals[n->outputs[o]])) {
                    *bad_node = ni;
                    *bad_output = o;
                    goto stop;
                }
            }
        }
    }
stop:
    p->runs++;
    if (vin != stack_in) {
        free(vin);
        free(vout);
    }
    return st;
}

void rt_plan_set_step(rt_plan *p, uint64_t step)
{
    p->runs = step;
}

uint64_t rt_plan_step(const rt_plan *p)
{
    return p->runs;
}

const graph_value *rt_plan_output(const rt_plan *p, int i)
{
    if (i < 0 || i >= p->g->n_outputs)
        return NULL;
    return &p->vals[p->g->outputs[i]];
}

const graph_value *rt_plan_tensor(const rt_plan *p, int tensor)
{
    if (tensor < 0 || tensor >= p->g->n_tensors)
        return NULL;
    return &p->vals[tensor];
}

bool rt_plan_node_folded(const rt_plan *p, int node)
{
    return node >= 0 && node < p->g->n_nodes && p->folded[node];
}

int64_t rt_plan_node_flops(const rt_plan *p, int node)
{
    const graph *g = p->g;
    if (node < 0 || node >= g->n_nodes || p->folded[node])
        return 0;
    const graph_node *n = &g->nodes[node];
    const graph_op_schema *s = graph_op_schema_get(n->op);
    enum { MAX_IO = 64 };
    if (!s || n->n_inputs > MAX_IO || n->n_outputs > MAX_IO)
        return 0;
    graph_dtype idt[MAX_IO], odt[MAX_IO];
    graph_shape ish[MAX_IO], osh[MAX_IO];
    const graph_value *ival[MAX_IO];
    for (int i = 0; i < n->n_inputs; i++) {
        int t = n->inputs[i];
        ival[i] = t >= 0 && p->is_const[t] ? &p->vals[t] : NULL;
        idt[i] = t >= 0 ? p->vals[t].dtype : GRAPH_DT_UNDEFINED;
        if (t >= 0)
            graph_shape_init(&ish[i], p->vals[t].rank, p->vals[t].dims);
        else
            graph_shape_unknown(&ish[i]);
    }
    int64_t total = 0;
    for (int o = 0; o < n->n_outputs; o++) {
        int t = n->outputs[o];
        odt[o] = t >= 0 ? p->vals[t].dtype : GRAPH_DT_UNDEFINED;
        if (t >= 0) {
            graph_shape_init(&osh[o], p->vals[t].rank, p->vals[t].dims);
            if (o == 0)
                total = p->vals[t].numel;
        } else {
            graph_shape_unknown(&osh[o]);
        }
    }
    if (!s->flops)
        return total;
    graph_infer_ctx c = {.g = g, .node = n, .n_in = n->n_inputs, .in_dtype = idt,
                         .in_shape = ish, .in_value = ival, .n_out = n->n_outputs,
                         .out_dtype = odt, .out_shape = osh};
    return s->flops(&c);
}

void rt_plan_get_stats(const rt_plan *p, rt_plan_stats *s)
{
    *s = p->stats;
}

/* ---- session ---- */

struct rt_session {
    const graph *g;
    rt_options opt;
    rt_plan *plan;
};

ssdc_status rt_session_create(const graph *g, const rt_options *opt, rt_session **out,
                              ssdc_error *err)
{
    rt_session *s = calloc(1, sizeof *s);
    if (!s)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    s->g = g;
    if (opt)
        s->opt = *opt;
    *out = s;
    return SSDC_OK;
}

void rt_session_free(rt_session *s)
{
    if (!s)
        return;
    rt_plan_free(s->plan);
    free(s);
}

ssdc_status rt_session_run(rt_session *s, const graph_value *inputs, ssdc_error *err)
{
    if (!s->plan || !rt_plan_matches(s->plan, inputs)) {
        uint64_t runs = s->plan ? s->plan->runs : 0;
        rt_plan_free(s->plan);
        s->plan = NULL;
        ssdc_status st = rt_plan_create(s->g, inputs, &s->opt, &s->plan, err);
        if (st)
            return st;
        s->plan->runs = runs;
    }
    return rt_plan_run(s->plan, inputs, err);
}

const graph_value *rt_session_output(const rt_session *s, int i)
{
    return s->plan ? rt_plan_output(s->plan, i) : NULL;
}

rt_plan *rt_session_plan(rt_session *s)
{
    return s->plan;
}

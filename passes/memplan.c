#include "passes/memplan.h"

#include <stdlib.h>
#include <string.h>

#include "graph/ops.h"

void memplan_free(memplan *p)
{
    if (!p)
        return;
    free(p->steps);
    free(p->place);
    memset(p, 0, sizeof *p);
}

static size_t round_up(size_t n, size_t align)
{
    return align > 1 ? (n + align - 1) / align * align : n;
}

/* ---- fused steps ---- */

/* Absorbs each Dropout (and the Expand + Reshape that tiled its input)
 * feeding only a GlobalAveragePool into the pool's step; compacts steps. */
static ssdc_status fuse_dropout_pool(const graph *g, const graph_value *vals, memplan *p,
                                     ssdc_error *err)
{
    int nn = g->n_nodes, nt = g->n_tensors;
    int *cons = calloc((size_t)(nt ? nt : 1), sizeof *cons);
    int *pos = malloc((size_t)(nn ? nn : 1) * sizeof *pos);
    bool *drop = calloc((size_t)(nn ? nn : 1), sizeof *drop);
    if (!cons || !pos || !drop) {
        free(cons), free(pos), free(drop);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory planning");
    }
    for (int i = 0; i < nn; i++) {
        pos[i] = -1;
        for (int k = 0; k < g->nodes[i].n_inputs; k++)
            if (g->nodes[i].inputs[k] >= 0)
                cons[g->nodes[i].inputs[k]]++;
    }
    for (int i = 0; i < g->n_outputs; i++)
        cons[g->outputs[i]]++;
    for (int r = 0; r < p->n_steps; r++)
        pos[p->steps[r].node] = r;
#define RUN_NODE(t, opid)                                                                   \
    ((t) >= 0 && g->tensors[t].producer >= 0 && pos[g->tensors[t].producer] >= 0 &&       \
     g->nodes[g->tensors[t].producer].op == (opid) && cons[t] == 1)
    for (int r = 0; r < p->n_steps; r++) {
        const graph_node *n = &g->nodes[p->steps[r].node];
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
        if (x < 0 || vals[x].dtype != GRAPH_DT_FLOAT || vals[t].dtype != GRAPH_DT_FLOAT)
            continue;
        int src = x, ri = -1, ei = -1;
        int64_t reps = 1;
        if (RUN_NODE(x, GRAPH_OP_RESHAPE)) {
            ri = g->tensors[x].producer;
            int e = g->nodes[ri].inputs[0];
            if (RUN_NODE(e, GRAPH_OP_EXPAND)) {
                ei = g->tensors[e].producer;
                int u = g->nodes[ei].inputs[0];
                const graph_value *vu = &vals[u], *ve = &vals[e], *vx = &vals[x];
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
        p->steps[r].fused_dropout = di;
        p->steps[r].fused_src = src;
        p->steps[r].fused_reps = reps;
        p->stats.n_fused++;
    }
#undef RUN_NODE
    int m = 0;
    for (int r = 0; r < p->n_steps; r++)
        if (!drop[p->steps[r].node])
            p->steps[m++] = p->steps[r];
    p->n_steps = m;
    free(cons), free(pos), free(drop);
    return SSDC_OK;
}

/* ---- placement ---- */

typedef struct {
    int key;          /* tensor (class root), or -(step + 1) for scratch */
    int arena;
    size_t size;
    int first, last;  /* step positions, inclusive */
    size_t offset;
} block;

static int block_cmp_mode(const block *x, const block *y, int mode)
{
    /* ordered by the key of the mode (descending), then larger, earlier, key */
    size_t kx = 0, ky = 0;
    switch (mode) {
    case 0: kx = x->size, ky = y->size; break;                          /* larger first */
    case 1: kx = (size_t)(y->first + 1), ky = (size_t)(x->first + 1); break; /* earlier first */
    default:
        kx = (size_t)(x->last - x->first + 1) * x->size;                /* larger area first */
        ky = (size_t)(y->last - y->first + 1) * y->size;
        break;
    }
    if (kx != ky)
        return kx > ky ? -1 : 1;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    if (x->first != y->first)
        return x->first - y->first;
    return x->key < y->key ? -1 : x->key > y->key;
}

static int cmp_mode0(const void *a, const void *b) { return block_cmp_mode(a, b, 0); }
static int cmp_mode1(const void *a, const void *b) { return block_cmp_mode(a, b, 1); }
static int cmp_mode2(const void *a, const void *b) { return block_cmp_mode(a, b, 2); }

/* Greedy: in the mode's order, each block takes the lowest offset (0 or the
 * end of a placed block whose lifetime overlaps its own) where it overlaps
 * no placed block that is live at the same time.  Returns the total. */
static size_t place(block *b, int nb, int mode)
{
    static int (*const cmp[3])(const void *, const void *) = {cmp_mode0, cmp_mode1, cmp_mode2};
    qsort(b, (size_t)nb, sizeof *b, cmp[mode]);
    size_t total = 0;
    for (int i = 0; i < nb; i++) {
        bool found = false;
        size_t best = 0;
        for (int j = -1; j < i; j++) {
            size_t off = 0;
            if (j >= 0) {
                if (!(b[j].first <= b[i].last && b[i].first <= b[j].last))
                    continue;
                off = b[j].offset + b[j].size;
            }
            if (found && off >= best)
                continue;
            bool fits = true;
            for (int k = 0; k < i && fits; k++)
                if (b[k].first <= b[i].last && b[i].first <= b[k].last &&
                    off < b[k].offset + b[k].size && b[k].offset < off + b[i].size)
                    fits = false;
            if (fits) {
                best = off;
                found = true;
            }
        }
        b[i].offset = best;
        if (best + b[i].size > total)
            total = best + b[i].size;
    }
    return total;
}

/* ---- storage classes (union-find over tensors) ---- */

typedef struct {
    int *parent;
    memplan_kind *kind;  /* per root */
    int *index;          /* per root: input / output index */
    int *first, *last;   /* per root */
    size_t *bytes;       /* per root */
} classes;

static int find(classes *c, int t)
{
    while (c->parent[t] != t) {
        c->parent[t] = c->parent[c->parent[t]];
        t = c->parent[t];
    }
    return t;
}

/* Merges b's class into a's; class facts are kept at the root. */
static void unite(classes *c, int a, int b)
{
    a = find(c, a);
    b = find(c, b);
    if (a == b)
        return;
    c->parent[b] = a;
    if (c->kind[b] != MEMPLAN_ARENA) {
        c->kind[a] = c->kind[b];
        c->index[a] = c->index[b];
    }
    if (c->first[b] < c->first[a])
        c->first[a] = c->first[b];
    if (c->last[b] > c->last[a])
        c->last[a] = c->last[b];
    if (c->bytes[b] > c->bytes[a])
        c->bytes[a] = c->bytes[b];
}

static bool same_shape(const graph_value *a, const graph_value *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank)
        return false;
    return memcmp(a->dims, b->dims, (size_t)a->rank * sizeof(int64_t)) == 0;
}

#define ALLOC(p, n) ((p) = calloc((size_t)((n) ? (n) : 1), sizeof *(p)))

ssdc_status memplan_build(const graph *g, const graph_value *vals, const bool *is_const,
                          const int *run_nodes, int n_run, const memplan_target *tg, memplan *out,
                          ssdc_error *err)
{
    memset(out, 0, sizeof *out);
    memplan *p = out;
    p->g = g;
    int nt = g->n_tensors;
    ssdc_status st = SSDC_OK;
    classes c;
    memset(&c, 0, sizeof c);
    block *blocks = NULL, *best = NULL;
    bool *is_output = NULL;
    ALLOC(p->steps, n_run);
    ALLOC(p->place, nt);
    ALLOC(c.parent, nt);
    ALLOC(c.kind, nt);
    ALLOC(c.index, nt);
    ALLOC(c.first, nt);
    ALLOC(c.last, nt);
    ALLOC(c.bytes, nt);
    ALLOC(is_output, nt);
    if (!p->steps || !p->place || !c.parent || !c.kind || !c.index || !c.first || !c.last ||
        !c.bytes || !is_output) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory planning");
        goto done;
    }
    p->n_steps = n_run;
    for (int r = 0; r < n_run; r++)
        p->steps[r] = (memplan_step){.node = run_nodes[r], .fused_dropout = -1,
                                     .fused_src = -1, .inplace_input = -1};
    if (tg->fuse_dropout_pool && (st = fuse_dropout_pool(g, vals, p, err)))
        goto done;
    int ns = p->n_steps, end = ns; /* graph outputs live to position end */

    /* lifetimes */
    for (int t = 0; t < nt; t++) {
        c.parent[t] = t;
        c.first[t] = -1;
        c.last[t] = -1;
        c.kind[t] = MEMPLAN_ARENA;
        c.index[t] = -1;
    }
    for (int r = 0; r < ns; r++) {
        const graph_node *n = &g->nodes[p->steps[r].node];
        for (int i = 0; i < n->n_inputs; i++)
            if (n->inputs[i] >= 0)
                c.last[n->inputs[i]] = r;
        for (int o = 0; o < n->n_outputs; o++)
            if (n->outputs[o] >= 0) {
                c.first[n->outputs[o]] = r;
                if (c.last[n->outputs[o]] < r)
                    c.last[n->outputs[o]] = r;
            }
        if (p->steps[r].fused_src >= 0)
            c.last[p->steps[r].fused_src] = r; /* read by the fused step */
    }
    for (int i = 0; i < g->n_inputs; i++) {
        int t = g->inputs[i];
        if (is_const[t])
            continue;
        c.kind[t] = MEMPLAN_INPUT;
        c.index[t] = i;
        c.first[t] = -1;
    }
    for (int o = 0; o < g->n_outputs; o++) {
        int t = g->outputs[o];
        is_output[t] = true;
        c.last[t] = end;
        if (tg->caller_io && !is_const[t] && c.kind[t] == MEMPLAN_ARENA && c.index[t] < 0) {
            c.kind[t] = MEMPLAN_OUTPUT;
            c.index[t] = o;
        }
    }
    for (int t = 0; t < nt; t++)
        c.bytes[t] = graph_value_bytes(&vals[t]);

    /* views and in-place steps, in run order */
    for (int r = 0; r < ns; r++) {
        memplan_step *s = &p->steps[r];
        const graph_node *n = &g->nodes[s->node];
        if (s->fused_dropout >= 0 || n->n_outputs < 1 || n->outputs[0] < 0 || !tg->node_caps)
            continue;
        int out_t = n->outputs[0];
        if (is_const[out_t])
            continue;
        uint32_t inplace = 0;
        unsigned caps = tg->node_caps(tg->ctx, n, &inplace);
        int oc = find(&c, out_t);
        if (caps & MEMPLAN_VIEW) {
            int in = n->n_inputs > 0 ? n->inputs[0] : -1;
            if (in < 0 || is_const[in])
                continue;
            int ic = find(&c, in);
            if (c.kind[ic] == MEMPLAN_INPUT && !tg->caller_io)
                continue; /* bound per run: not aliased */
            /* a class holds at most one caller buffer */
            if (c.kind[oc] == MEMPLAN_OUTPUT && c.kind[ic] != MEMPLAN_ARENA)
                continue;
            unite(&c, ic, oc);
            s->view = true;
            p->stats.n_views++;
            continue;
        }
        const graph_value *y = &vals[out_t];
        for (int i = 0; i < n->n_inputs && i < 32; i++) {
            int in = n->inputs[i];
            if (!(inplace >> i & 1u) || in < 0 || is_const[in] || !same_shape(&vals[in], y))
                continue;
            int ic = find(&c, in);
            if (c.kind[ic] != MEMPLAN_ARENA || c.last[ic] != r)
                continue;
            /* another input in the same storage must read the same elements */
            bool ok = true;
            for (int j = 0; j < n->n_inputs && ok; j++)
                if (j != i && n->inputs[j] >= 0 && !is_const[n->inputs[j]] &&
                    find(&c, n->inputs[j]) == ic && vals[n->inputs[j]].numel != y->numel)
                    ok = false;
            if (!ok)
                continue;
            unite(&c, ic, oc);
            s->inplace_input = i;
            p->stats.n_inplace++;
            break;
        }
    }

    /* blocks: storage classes in arenas, kernel scratch */
    ALLOC(blocks, nt + ns);
    ALLOC(best, nt + ns);
    if (!blocks || !best) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory planning");
        goto done;
    }
    int nb = 0;
    p->n_arenas = 1;
    for (int t = 0; t < nt; t++) {
        if (is_const[t] || c.first[t] < 0)
            continue;
        if (!(tg->caller_io && is_output[t]))
            p->stats.sum_tensor_bytes += round_up(graph_value_bytes(&vals[t]), tg->align);
        if (find(&c, t) != t || c.kind[t] != MEMPLAN_ARENA)
            continue;
        int a = tg->arena_of ? tg->arena_of(vals[t].dtype) : 0;
        if (a < 0 || a >= MEMPLAN_MAX_ARENAS)
            a = 0;
        if (a + 1 > p->n_arenas)
            p->n_arenas = a + 1;
        size_t size = round_up(c.bytes[t], tg->align);
        if (!size && tg->empty_blocks_take_align)
            size = tg->align;
        blocks[nb++] = (block){.key = t, .arena = a, .size = size, .first = c.first[t],
                               .last = c.last[t]};
    }
    for (int r = 0; r < ns && tg->scratch; r++) {
        size_t bytes = tg->scratch(tg->ctx, g, &p->steps[r], vals);
        if (!bytes)
            continue;
        p->steps[r].scratch_bytes = bytes;
        blocks[nb++] = (block){.key = -(r + 1), .arena = 0, .size = round_up(bytes, tg->align),
                               .first = r, .last = r};
    }
    for (int r = 0; r <= end; r++) {
        size_t live = 0;
        for (int b = 0; b < nb; b++)
            if (blocks[b].first <= r && r <= blocks[b].last)
                live += blocks[b].size;
        if (live > p->stats.peak_live_bytes)
            p->stats.peak_live_bytes = live;
    }
    for (int a = 0; a < p->n_arenas; a++) {
        /* this arena's blocks at the front */
        int na = 0;
        for (int b = 0; b < nb; b++)
            if (blocks[b].arena == a) {
                block tmp = blocks[na];
                blocks[na] = blocks[b];
                blocks[b] = tmp;
                na++;
            }
        size_t best_total = 0;
        for (int mode = 0; mode < 3 && na > 0; mode++) {
            size_t total = place(blocks, na, mode);
            if (mode == 0 || total < best_total) {
                best_total = total;
                memcpy(best, blocks, (size_t)na * sizeof *best);
            }
        }
        for (int b = 0; b < na; b++) {
            if (best[b].key >= 0)
                p->place[best[b].key] = (memplan_place){.kind = MEMPLAN_ARENA, .index = -1,
                                                        .arena = a, .offset = best[b].offset};
            else
                p->steps[-best[b].key - 1].scratch_offset = best[b].offset;
        }
        p->arena_bytes[a] = best_total;
        p->stats.arena_bytes += best_total;
        memmove(blocks, blocks + na, (size_t)(nb - na) * sizeof *blocks);
        nb -= na;
    }
    /* every tensor: its class's storage */
    for (int t = 0; t < nt; t++) {
        if (is_const[t]) {
            p->place[t] = (memplan_place){.kind = MEMPLAN_NONE, .index = -1};
            continue;
        }
        int root = find(&c, t);
        if (c.kind[root] == MEMPLAN_INPUT || c.kind[root] == MEMPLAN_OUTPUT)
            p->place[t] = (memplan_place){.kind = c.kind[root], .index = c.index[root]};
        else if (p->place[root].kind == MEMPLAN_ARENA)
            p->place[t] = p->place[root];
        else
            p->place[t] = (memplan_place){.kind = MEMPLAN_NONE, .index = -1};
    }
done:
    free(c.parent), free(c.kind), free(c.index), free(c.first), free(c.last), free(c.bytes);
    free(blocks), free(best), free(is_output);
    if (st)
        memplan_free(p);
    return st;
}

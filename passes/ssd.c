#include "passes/ssd.h"
#include "passes/inference.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/builder.h"
#include "graph/ops.h"
#include "passes/sgkd.h"

const char *ssd_mode_name(ssd_mode m)
{
    switch (m) {
    case SSD_MODE_SSD: return "ssd";
    case SSD_MODE_ALL_REPS_COSINE: return "all-reps-cosine";
    case SSD_MODE_SELF_DISTILL: return "self-distill";
    case SSD_MODE_CE: return "ce";
    }
    return "?";
}

bool ssd_parse_mode(const char *s, ssd_mode *m)
{
    for (int k = 0; k <= SSD_MODE_CE; k++)
        if (!strcmp(s, ssd_mode_name((ssd_mode)k))) {
            *m = (ssd_mode)k;
            return true;
        }
    return false;
}

void ssd_options_default(ssd_options *o)
{
    memset(o, 0, sizeof *o);
    o->mode = SSD_MODE_SSD;
    o->reps = 30;
    o->tau = SGKD_DEFAULT_TAU;
    o->q = SGKD_DEFAULT_Q;
    o->alpha = 0.5f;
    o->beta = 0.5f;
    o->kd_t = 4.0f;
    o->teacher_dropout_rate = -1.0f;
    o->default_dropout_rate = 0.1f;
}

/* ---- feature ---- */

ssdc_status ssd_find_feature(const graph *g, int *tensor, ssdc_error *err)
{
    *tensor = -1;
    if (g->n_outputs < 1)
        return ssdc_fail(err, SSDC_ERR_INVALID, "the model has no output");
    int t = g->outputs[0];
    for (int hops = 0; hops < 8; hops++) {
        int p = g->tensors[t].producer;
        if (p < 0)
            break;
        const graph_node *n = &g->nodes[p];
        if (n->op == GRAPH_OP_GEMM || n->op == GRAPH_OP_MATMUL) {
            *tensor = n->inputs[0];
            return SSDC_OK;
        }
        if (n->op != GRAPH_OP_IDENTITY && n->op != GRAPH_OP_ADD)
            break;
        /* through Identity, or the non-constant side of a bias Add */
        int next = n->inputs[0];
        if (n->op == GRAPH_OP_ADD && next >= 0 &&
            g->tensors[next].kind == GRAPH_TENSOR_INITIALIZER)
            next = n->inputs[1];
        if (next < 0)
            break;
        t = next;
    }
    return ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                     "cannot find the final classifier (a Gemm or MatMul producing output '%s'); "
                     "name the feature tensor with --feature",
                     g->tensors[g->outputs[0]].name);
}

/* ---- the teacher branch ---- */

typedef struct {
    graph_builder *b;       /* "ssd/<what>#<k>": the pass's own nodes */
    graph_builder *teacher; /* "teacher/<name>": the teacher's copy */
    const graph *tc;        /* teacher with inferred shapes */
    int *map;               /* teacher tensor -> training-graph tensor */
    float *insert_rate;     /* per teacher tensor: insert a Dropout after it (< 0: no) */
    float *active_rate;     /* per teacher node: an active Dropout's rate (< 0: inactive) */
    train_graph *tg;        /* the training graph being built (its cacheable tensors) */
    int *active;            /* training-graph node indices of active Dropouts */
    int n_active;
} teacher_ctx;

static float dropout_file_rate(const graph *t, const graph_node *n)
{
    if (n->n_inputs > 1 && n->inputs[1] >= 0) {
        const graph_tensor *r = &t->tensors[n->inputs[1]];
        if (r->kind == GRAPH_TENSOR_INITIALIZER && r->data && r->dtype == GRAPH_DT_FLOAT)
            return *(const float *)r->data;
        if (r->producer >= 0 && t->nodes[r->producer].op == GRAPH_OP_CONSTANT) {
            const graph_attr *a = graph_node_attr(&t->nodes[r->producer], "value");
            if (a && a->t && a->t->dtype == GRAPH_DT_FLOAT && a->t->numel == 1)
                return *(const float *)a->t->data;
        }
    }
    return 0.5f;
}

/* Training-graph tensor of teacher tensor t (initializers copied on first use). */
static ssdc_status teacher_tensor(teacher_ctx *c, int t, int *out, ssdc_error *err)
{
    if (t < 0) {
        *out = -1;
        return SSDC_OK;
    }
    if (c->map[t] >= 0) {
        *out = c->map[t];
        return SSDC_OK;
    }
    const graph_tensor *tt = &c->tc->tensors[t];
    ssdc_status st;
    if (tt->kind == GRAPH_TENSOR_INITIALIZER)
        st = graph_builder_initializer(c->teacher, tt->name, tt->dtype, tt->shape.rank,
                                       tt->shape.dims, tt->data, out);
    else
        st = graph_builder_tensor_typed(c->teacher, tt->name, tt->dtype, &tt->shape, out);
    if (!st)
        c->map[t] = *out;
    return st;
}

/* An active Dropout "teacher/<what>" on training-graph tensor x: Dropout(x, rate, true). */
static ssdc_status add_active_dropout(teacher_ctx *c, const char *what, int x, float rate, int *y,
                                      ssdc_error *err)
{
    graph *g = c->b->g;
    int r, on;
    uint8_t yes = 1;
    char out[GRAPH_BUILDER_NAME_MAX];
    if (snprintf(out, sizeof out, "%s/out", what) >= (int)sizeof out)
        return ssdc_fail(err, SSDC_ERR_LIMIT, "Dropout '%.64s...': the name is too long", what);
    ssdc_status st = graph_builder_const_f32(c->b, "const", rate, &r);
    if (!st)
        st = graph_builder_initializer(c->b, "training_mode", GRAPH_DT_BOOL, 0, NULL, &yes, &on);
    if (!st)
        st = graph_builder_tensor_typed(c->teacher, out, g->tensors[x].dtype, &g->tensors[x].shape,
                                        y);
    int in[3] = {x, r, on}, node;
    if (!st)
        st = graph_builder_node(c->teacher, "Dropout", what, 3, in, 1, y, &node);
    /* a seed of its own: its masks do not change when the trainer removes the
     * teacher's prefix from the graph (runtime/kernel.h rt_dropout_stream) */
    if (!st)
        st = graph_node_set_int(g, node, "seed", node, err);
    if (st)
        return st;
    int *a = realloc(c->active, (size_t)(c->n_active + 1) * sizeof *a);
    if (!a)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    c->active = a;
    c->active[c->n_active++] = node;
    return SSDC_OK;
}

static ssdc_status after_tensor(teacher_ctx *c, int t, ssdc_error *err)
{
    if (c->insert_rate[t] < 0)
        return SSDC_OK;
    char what[GRAPH_BUILDER_NAME_MAX];
    snprintf(what, sizeof what, "ssd_dropout(%s)", c->tc->tensors[t].name);
    int y;
    ssdc_status st = add_active_dropout(c, what, c->map[t], c->insert_rate[t], &y, err);
    if (!st)
        c->map[t] = y; /* consumers read the dropped-out tensor */
    return st;
}

static ssdc_status copy_teacher(teacher_ctx *c, int x_tensor, ssdc_error *err)
{
    const graph *t = c->tc;
    graph *g = c->b->g;
    int *order = malloc((size_t)(t->n_nodes ? t->n_nodes : 1) * sizeof *order);
    if (!order)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    ssdc_status st = graph_topo_order(t, order, err);
    c->map[t->inputs[0]] = x_tensor;
    if (!st)
        st = after_tensor(c, t->inputs[0], err);
    for (int k = 0; k < t->n_nodes && !st; k++) {
        const graph_node *n = &t->nodes[order[k]];
        if (n->op == GRAPH_OP_DROPOUT) {
            if (n->n_outputs > 1 && n->outputs[1] >= 0) {
                for (int j = 0; j < t->n_nodes; j++)
                    for (int i = 0; i < t->nodes[j].n_inputs; i++)
                        if (t->nodes[j].inputs[i] == n->outputs[1]) {
                            st = ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                                           "node '%s' (Dropout): its mask is used by the model",
                                           n->name);
                        }
            }
            int x;
            if (!st)
                st = teacher_tensor(c, n->inputs[0], &x, err);
            if (st)
                break;
            float rate = c->active_rate[order[k]];
            if (rate < 0) {
                c->map[n->outputs[0]] = x; /* inactive: an identity */
            } else {
                int y;
                st = add_active_dropout(c, n->name, x, rate, &y, err);
                c->map[n->outputs[0]] = y;
            }
            if (!st)
                st = after_tensor(c, n->outputs[0], err);
            continue;
        }
        int in[64], out[64];
        if (n->n_inputs > 64 || n->n_outputs > 64) {
            st = ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "node '%s' has too many inputs", n->name);
            break;
        }
        for (int i = 0; i < n->n_inputs && !st; i++)
            st = teacher_tensor(c, n->inputs[i], &in[i], err);
        for (int o = 0; o < n->n_outputs && !st; o++)
            st = teacher_tensor(c, n->outputs[o], &out[o], err);
        if (st)
            break;
        char name[600];
        snprintf(name, sizeof name, "teacher/%s", n->name);
        int node;
        if ((st = graph_add_node(g, name, n->op_type, n->domain, n->n_inputs, in, n->n_outputs, out,
                                 &node, err)))
            break;
        st = graph_builder_copy_attrs(c->teacher, node, n);
        for (int o = 0; o < n->n_outputs && !st; o++)
            if (n->outputs[o] >= 0)
                st = after_tensor(c, n->outputs[o], err);
    }
    free(order);
    return st;
}

/* [B, ...] -> [B*K, ...], each row repeated K times in a row (row b*K + k). */
static ssdc_status tile_rows(graph_builder *b, int x, int K, int *out, ssdc_error *err)
{
    graph *g = b->g;
    graph_shape s = g->tensors[x].shape;
    if (s.rank < 1)
        return ssdc_fail(err, SSDC_ERR_SHAPE,
                         "tensor '%s' enters the stochastic region with an unknown rank",
                         g->tensors[x].name);
    int r = s.rank;
    int64_t axes[1] = {1}, expand[GRAPH_MAX_RANK + 1], target[GRAPH_MAX_RANK];
    expand[0] = 1;
    expand[1] = K;
    for (int d = 2; d <= r; d++)
        expand[d] = 1;
    bool static_rest = true;
    target[0] = -1;
    for (int d = 1; d < r; d++) {
        target[d] = s.dims[d];
        static_rest = static_rest && s.dims[d] >= 0;
    }
    int ax, ex, u, e, shape;
    ssdc_status st;
    if ((st = graph_builder_const_i64(b, "shape", axes, 1, &ax)) ||
        (st = graph_builder_const_i64(b, "shape", expand, r + 1, &ex)))
        return st;
    int uin[2] = {x, ax};
    if ((st = graph_builder_op(b, "Unsqueeze", NULL, 2, uin, &u, NULL)))
        return st;
    int ein[2] = {u, ex};
    if ((st = graph_builder_op(b, "Expand", NULL, 2, ein, &e, NULL)))
        return st;
    if (static_rest) {
        st = graph_builder_const_i64(b, "shape", target, r, &shape);
    } else {
        /* Concat([-1], Shape(x)[1:]) */
        int sh, rest, m1, st1, en, ax0;
        int64_t one = 1, big = INT64_MAX, minus = -1, zero = 0;
        if ((st = graph_builder_op(b, "Shape", NULL, 1, &x, &sh, NULL)) ||
            (st = graph_builder_const_i64(b, "shape", &one, 1, &st1)) ||
            (st = graph_builder_const_i64(b, "shape", &big, 1, &en)) ||
            (st = graph_builder_const_i64(b, "shape", &zero, 1, &ax0)) ||
            (st = graph_builder_const_i64(b, "shape", &minus, 1, &m1)))
            return st;
        int sl[4] = {sh, st1, en, ax0};
        if ((st = graph_builder_op(b, "Slice", NULL, 4, sl, &rest, NULL)))
            return st;
        int cat[2] = {m1, rest}, node;
        if ((st = graph_builder_op(b, "Concat", NULL, 2, cat, &shape, &node)) ||
            (st = graph_node_set_int(g, node, "axis", 0, err)))
            return st;
    }
    if (st)
        return st;
    int rin[2] = {e, shape};
    st = graph_builder_op(b, "Reshape", NULL, 2, rin, out, NULL);
    if (!st) {
        g->tensors[*out].dtype = g->tensors[x].dtype;
        graph_shape os = s;
        os.dims[0] = -1;
        snprintf(os.sym[0], GRAPH_SYM_MAX, "batch_x_reps");
        g->tensors[*out].shape = os;
    }
    return st;
}

/* Marks the stochastic region (downstream of active Dropouts) among nodes
 * [first, g->n_nodes) and repeats every tensor entering it K times. */
static ssdc_status tile_region(teacher_ctx *c, int first, int K, const int *needed_out,
                               int n_needed, int *region_nodes, int *prefix_nodes,
                               bool **in_region_out, ssdc_error *err)
{
    graph *g = c->b->g;
    int end = g->n_nodes;
    /* teacher nodes the distillation needs (the feature, the logits for KD) */
    bool *needed = calloc((size_t)(end - first + 1), sizeof *needed);
    int *stack = malloc((size_t)(g->n_tensors + 1) * sizeof *stack);
    if (!needed || !stack) {
        free(needed);
        free(stack);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    }
    int sp = 0;
    for (int i = 0; i < n_needed; i++)
        if (needed_out[i] >= 0)
            stack[sp++] = needed_out[i];
    while (sp > 0) {
        int t = stack[--sp];
        int pn = g->tensors[t].producer;
        if (pn < first || needed[pn - first])
            continue;
        needed[pn - first] = true;
        for (int i = 0; i < g->nodes[pn].n_inputs; i++)
            if (g->nodes[pn].inputs[i] >= 0 && sp < g->n_tensors)
                stack[sp++] = g->nodes[pn].inputs[i];
    }
    free(stack);
    bool *in_region = calloc((size_t)g->n_tensors, sizeof *in_region);
    bool *node_in = calloc((size_t)(end - first + 1), sizeof *node_in);
    int *order = malloc((size_t)g->n_nodes * sizeof *order);
    int *tiled = malloc((size_t)g->n_tensors * sizeof *tiled);
    ssdc_status st = SSDC_OK;
    if (!in_region || !node_in || !order || !tiled) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        goto done;
    }
    int n_tensors0 = g->n_tensors;
    for (int t = 0; t < n_tensors0; t++)
        tiled[t] = -1;
    if ((st = graph_topo_order(g, order, err)))
        goto done;
    *region_nodes = *prefix_nodes = 0;
    for (int k = 0; k < end; k++) {
        int ni = order[k];
        if (ni < first)
            continue;
        const graph_node *n = &g->nodes[ni];
        bool in = false;
        for (int a = 0; a < c->n_active && !in; a++)
            in = c->active[a] == ni;
        for (int i = 0; i < n->n_inputs && !in; i++)
            in = n->inputs[i] >= 0 && in_region[n->inputs[i]];
        node_in[ni - first] = in;
        if (!in) {
            *prefix_nodes += needed[ni - first];
            continue;
        }
        *region_nodes += needed[ni - first];
        for (int o = 0; o < n->n_outputs; o++)
            if (n->outputs[o] >= 0)
                in_region[n->outputs[o]] = true;
    }
    /* tensors entering the region: repeated K times (constants broadcast as they are) */
    for (int ni = first; ni < end && !st; ni++) {
        if (!node_in[ni - first] || !needed[ni - first])
            continue;
        int n_in = g->nodes[ni].n_inputs;
        for (int i = 0; i < n_in && !st; i++) {
            int t = g->nodes[ni].inputs[i];
            if (t < 0 || t >= n_tensors0 || in_region[t])
                continue;
            const graph_tensor *tt = &g->tensors[t];
            if (tt->kind == GRAPH_TENSOR_INITIALIZER || tt->dtype != GRAPH_DT_FLOAT ||
                tt->shape.rank < 1)
                continue;
            if (tiled[t] < 0) {
                st = tile_rows(c->b, t, K, &tiled[t], err);
                /* computed from the data alone by the frozen teacher: the
                 * trainer may compute it once per sample */
                train_graph *tg = c->tg;
                if (!st && tg && g->tensors[t].producer >= 0 &&
                    tg->n_cacheable < TRAIN_GRAPH_MAX_CACHEABLE)
                    tg->cacheable[tg->n_cacheable++] = t;
            }
            if (!st)
                g->nodes[ni].inputs[i] = tiled[t];
        }
    }
done:
    free(needed);
    free(node_in);
    free(order);
    free(tiled);
    if (st) {
        free(in_region);
        return st;
    }
    *in_region_out = in_region;
    return SSDC_OK;
}

/* Decides which teacher Dropouts are active and where ssdc inserts one. */
static ssdc_status plan_dropouts(teacher_ctx *c, const ssd_options *opt, int feature,
                                 ssd_info *info, ssdc_error *err)
{
    const graph *t = c->tc;
    size_t pos = 0;
    info->dropouts[0] = 0;
#define DESC(...)                                                                                 \
    do {                                                                                          \
        if (pos < sizeof info->dropouts)                                                          \
            pos += (size_t)snprintf(info->dropouts + pos, sizeof info->dropouts - pos,            \
                                    __VA_ARGS__);                                                 \
    } while (0)
    if (opt->mode == SSD_MODE_SELF_DISTILL || opt->mode == SSD_MODE_CE) {
        DESC("none (deterministic teacher)");
        return SSDC_OK;
    }
    if (opt->n_dropouts > 0) {
        for (int k = 0; k < opt->n_dropouts; k++) {
            const ssd_dropout_spec *d = &opt->dropouts[k];
            int x = graph_find_tensor(t, d->tensor);
            if (x < 0)
                return ssdc_fail(err, SSDC_ERR_ARG, "--dropout: the teacher has no tensor '%s'",
                                 d->tensor);
            if (!(d->rate >= 0.0f && d->rate < 1.0f))
                return ssdc_fail(err, SSDC_ERR_ARG, "--dropout %s: rate %g is not in [0, 1)",
                                 d->tensor, d->rate);
            int existing = -1;
            for (int i = 0; i < t->n_nodes; i++)
                if (t->nodes[i].op == GRAPH_OP_DROPOUT && t->nodes[i].inputs[0] == x)
                    existing = i;
            if (existing >= 0) {
                c->active_rate[existing] = d->rate;
                DESC("%s'%s' (Dropout '%s', rate %g)", k ? ", " : "", d->tensor,
                     t->nodes[existing].name, d->rate);
            } else {
                c->insert_rate[x] = d->rate;
                DESC("%sinserted at '%s' (rate %g)", k ? ", " : "", d->tensor, d->rate);
            }
        }
        return SSDC_OK;
    }
    int found = 0;
    for (int i = 0; i < t->n_nodes; i++) {
        const graph_node *n = &t->nodes[i];
        if (n->op != GRAPH_OP_DROPOUT)
            continue;
        float rate = opt->teacher_dropout_rate >= 0 ? opt->teacher_dropout_rate
                                                    : dropout_file_rate(t, n);
        c->active_rate[i] = rate;
        DESC("%sthe file's Dropout '%s' on '%s' (rate %g)", found++ ? ", " : "", n->name,
             t->tensors[n->inputs[0]].name, rate);
    }
    if (found)
        return SSDC_OK;
    /* no Dropout in the file: before the block producing the feature, i.e.
     * the input of the last Conv/Gemm/MatMul upstream of the feature */
    float rate = opt->teacher_dropout_rate >= 0 ? opt->teacher_dropout_rate
                                                : opt->default_dropout_rate;
    int at = feature;
    int cur = feature;
    for (int hops = 0; hops < 64; hops++) {
        int p = t->tensors[cur].producer;
        if (p < 0)
            break;
        const graph_node *n = &t->nodes[p];
        if (n->op == GRAPH_OP_CONV || n->op == GRAPH_OP_GEMM || n->op == GRAPH_OP_MATMUL) {
            at = n->inputs[0];
            break;
        }
        /* follow the data path (first non-constant input) */
        int next = -1;
        for (int i = 0; i < n->n_inputs && next < 0; i++)
            if (n->inputs[i] >= 0 && t->tensors[n->inputs[i]].kind != GRAPH_TENSOR_INITIALIZER)
                next = n->inputs[i];
        if (next < 0)
            break;
        cur = next;
    }
    c->insert_rate[at] = rate;
    info->dropout_default = true;
    DESC("inserted at '%s' (rate %g; the model has no Dropout, so ssdc chose the input of the "
         "block producing the feature)",
         t->tensors[at].name, rate);
#undef DESC
    return SSDC_OK;
}

/* scale * x for a scalar x */
static ssdc_status scaled(graph_builder *b, int x, float scale, int *out, ssdc_error *err)
{
    if (scale == 1.0f) {
        *out = x;
        return SSDC_OK;
    }
    int k;
    ssdc_status st = graph_builder_const_f32(b, "const", scale, &k);
    int in[2] = {x, k};
    return st ? st : graph_builder_op(b, "Mul", NULL, 2, in, out, NULL);
}

/* gamma * T^2 * mean_b KL(softmax(t/T) || softmax(s/T)) */
static ssdc_status kd_loss(graph_builder *b, int s_logits, int t_logits, float gamma, float T,
                           int *out, ssdc_error *err)
{
    int invT, ss, ts, lps, lpt, pt, diff, prod, kl, mean, node, ax;
    int64_t axis1[1] = {1};
    ssdc_status st;
    if ((st = graph_builder_const_f32(b, "const", 1.0f / T, &invT)) ||
        (st = graph_builder_const_i64(b, "shape", axis1, 1, &ax)))
        return st;
    int m1[2] = {s_logits, invT}, m2[2] = {t_logits, invT};
    if ((st = graph_builder_op(b, "Mul", NULL, 2, m1, &ss, NULL)) ||
        (st = graph_builder_op(b, "Mul", NULL, 2, m2, &ts, NULL)))
        return st;
    if ((st = graph_builder_op(b, "LogSoftmax", NULL, 1, &ss, &lps, &node)) ||
        (st = graph_node_set_int(b->g, node, "axis", 1, err)) ||
        (st = graph_builder_op(b, "LogSoftmax", NULL, 1, &ts, &lpt, &node)) ||
        (st = graph_node_set_int(b->g, node, "axis", 1, err)) ||
        (st = graph_builder_op(b, "Softmax", NULL, 1, &ts, &pt, &node)) ||
        (st = graph_node_set_int(b->g, node, "axis", 1, err)))
        return st;
    int d[2] = {lpt, lps};
    if ((st = graph_builder_op(b, "Sub", NULL, 2, d, &diff, NULL)))
        return st;
    int p[2] = {pt, diff};
    if ((st = graph_builder_op(b, "Mul", NULL, 2, p, &prod, NULL)))
        return st;
    int r[2] = {prod, ax};
    if ((st = graph_builder_op(b, "ReduceSum", NULL, 2, r, &kl, &node)) ||
        (st = graph_node_set_int(b->g, node, "keepdims", 0, err)))
        return st;
    if ((st = graph_builder_op(b, "ReduceMean", NULL, 1, &kl, &mean, &node)) ||
        (st = graph_node_set_int(b->g, node, "keepdims", 0, err)))
        return st;
    return scaled(b, mean, gamma * T * T, out, err);
}

ssdc_status ssd_build(const graph *teacher, const graph *student, const ssd_options *opt,
                      train_graph *out, ssd_info *info, ssdc_error *err)
{
    memset(info, 0, sizeof *info);
    info->weights_extra = info->kept_extra = -1;
    ssdc_status st = train_graph_begin(student, out, err);
    if (st)
        return st;
    graph *g = out->g;
    graph_builder b, tb;
    teacher_ctx c = {.b = &b, .teacher = &tb, .tg = out};
    graph *tc = NULL;
    bool *in_region = NULL;
    int sfeat = -1;
    if ((st = graph_builder_init(&b, g, GRAPH_BUILDER_NUMBERED, "ssd/", err)) ||
        (st = graph_builder_init(&tb, g, GRAPH_BUILDER_EXACT, "teacher/", err)))
        goto fail;
    if (opt->feature) {
        sfeat = graph_find_tensor(student, opt->feature);
        if (sfeat < 0) {
            st = ssdc_fail(err, SSDC_ERR_ARG, "--feature: the model has no tensor '%s'", opt->feature);
            goto fail;
        }
    } else if ((st = ssd_find_feature(student, &sfeat, err))) {
        goto fail;
    }
    snprintf(info->feature, sizeof info->feature, "%s", student->tensors[sfeat].name);
    info->feature_auto = opt->feature == NULL;

    int ce;
    if ((st = train_graph_add_ce(out, opt->label_smoothing, &ce, err)))
        goto fail;
    if (opt->mode == SSD_MODE_CE) {
        snprintf(info->dropouts, sizeof info->dropouts, "none (no teacher)");
        return train_graph_finish(out, ce, err);
    }
    if (opt->reps < 1 || (opt->mode == SSD_MODE_SSD && opt->reps < 2)) {
        st = ssdc_fail(err, SSDC_ERR_ARG, "--reps must be at least 2 (got %d)", opt->reps);
        goto fail;
    }

    /* the teacher, with static shapes */
    tc = graph_clone(teacher);
    if (!tc) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((st = graph_infer_shapes(tc, err))) {
        ssdc_error_prefix(err, "teacher");
        goto fail;
    }
    if (tc->n_inputs != 1) {
        st = ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "the teacher must have one input");
        goto fail;
    }
    /* the frozen teacher's BatchNormalizations (inference form) folded into
     * the convolutions before them: the prefix run per batch gets cheaper;
     * not where a tensor the options name would disappear */
    {
        bool *keep = calloc((size_t)(tc->n_tensors ? tc->n_tensors : 1), sizeof *keep);
        if (!keep) {
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
            goto fail;
        }
        int kt = graph_find_tensor(tc, info->feature);
        if (kt >= 0)
            keep[kt] = true;
        for (int k = 0; k < opt->n_dropouts; k++)
            if ((kt = graph_find_tensor(tc, opt->dropouts[k].tensor)) >= 0)
                keep[kt] = true;
        int folded;
        st = passes_fold_batchnorm(tc, keep, &folded, err);
        free(keep);
        if (st) {
            ssdc_error_prefix(err, "teacher");
            goto fail;
        }
    }
    int tfeat = graph_find_tensor(tc, info->feature);
    if (tfeat < 0) {
        st = ssdc_fail(err, SSDC_ERR_INVALID,
                       "the teacher has no tensor '%s' (teacher and student must share the "
                       "architecture)",
                       info->feature);
        goto fail;
    }
    c.tc = tc;
    c.map = malloc((size_t)tc->n_tensors * sizeof *c.map);
    c.insert_rate = malloc((size_t)tc->n_tensors * sizeof *c.insert_rate);
    c.active_rate = malloc((size_t)(tc->n_nodes ? tc->n_nodes : 1) * sizeof *c.active_rate);
    if (!c.map || !c.insert_rate || !c.active_rate) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (int t = 0; t < tc->n_tensors; t++) {
        c.map[t] = -1;
        c.insert_rate[t] = -1.0f;
    }
    for (int i = 0; i < tc->n_nodes; i++)
        c.active_rate[i] = -1.0f;
    if ((st = plan_dropouts(&c, opt, tfeat, info, err)))
        goto fail;
    int first = g->n_nodes;
    if ((st = copy_teacher(&c, out->x_tensor, err)))
        goto fail;
    int K = opt->mode == SSD_MODE_SELF_DISTILL ? 1 : opt->reps;
    int needed[2] = {c.map[tfeat], opt->gamma > 0 ? c.map[tc->outputs[0]] : -1};
    if ((st = tile_region(&c, first, K, needed, 2, &info->region_nodes, &info->prefix_nodes,
                          &in_region, err)))
        goto fail;

    /* teacher feature: [B*K, D] -> [B, K, D] */
    int tf = c.map[tfeat];
    const graph_shape *fs = &tc->tensors[tfeat].shape;
    if (fs->rank != 2 || fs->dims[1] < 0) {
        char buf[128];
        graph_shape_format(fs, buf, sizeof buf);
        st = ssdc_fail(err, SSDC_ERR_SHAPE,
                       "feature '%s' has shape %s; distillation needs [N, D] with D known",
                       info->feature, buf);
        goto fail;
    }
    int64_t D = fs->dims[1];
    int loss_d;
    if (opt->mode == SSD_MODE_SELF_DISTILL) {
        if ((st = sgkd_add_mse_loss(g, sfeat, tf, "self_distill/", &loss_d, err)))
            goto fail;
    } else {
        int t3;
        if (in_region[tf]) {
            int64_t shape[3] = {-1, K, D};
            int sh;
            if ((st = graph_builder_const_i64(&b, "shape", shape, 3, &sh)))
                goto fail;
            int rin[2] = {tf, sh};
            if ((st = graph_builder_op(&b, "Reshape", NULL, 2, rin, &t3, NULL)))
                goto fail;
        } else {
            st = ssdc_fail(err, SSDC_ERR_INVALID,
                           "the feature '%s' does not depend on any active teacher Dropout (%s): "
                           "its K representations would be identical; put --dropout before it",
                           info->feature, info->dropouts);
            goto fail;
        }
        if (opt->mode == SSD_MODE_SSD) {
            sgkd_options so = {.tau = opt->tau, .q = opt->q};
            int w, kept;
            if ((st = sgkd_add_loss(g, sfeat, t3, K, &so, "sgkd/", &loss_d, &w, &kept, err)) ||
                (st = train_graph_add_output(out, w, &info->weights_extra, err)) ||
                (st = train_graph_add_output(out, kept, &info->kept_extra, err)))
                goto fail;
        } else if ((st = sgkd_add_cosine_loss(g, sfeat, t3, K, "cosine/", &loss_d, err))) {
            goto fail;
        }
    }
    int terms[3], n_terms = 0;
    if ((st = scaled(&b, loss_d, opt->alpha, &terms[n_terms++], err)) ||
        (st = scaled(&b, ce, opt->beta, &terms[n_terms++], err)))
        goto fail;
    if (opt->gamma > 0) {
        int tl = c.map[tc->outputs[0]];
        if (in_region[tl]) {
            /* the teacher's class scores averaged over its K passes */
            int64_t C = tc->tensors[tc->outputs[0]].shape.dims[1];
            int64_t shape[3] = {-1, K, C}, axis[1] = {1};
            int sh, r, m, node;
            (void)axis;
            if ((st = graph_builder_const_i64(&b, "shape", shape, 3, &sh)))
                goto fail;
            int rin[2] = {tl, sh};
            if ((st = graph_builder_op(&b, "Reshape", NULL, 2, rin, &r, NULL)) ||
                (st = graph_builder_op(&b, "ReduceMean", NULL, 1, &r, &m, &node)) ||
                (st = graph_node_set_ints(g, node, "axes", (int64_t[]){1}, 1, err)) ||
                (st = graph_node_set_int(g, node, "keepdims", 0, err)))
                goto fail;
            tl = m;
        }
        if ((st = kd_loss(&b, out->logits_tensor, tl, opt->gamma, opt->kd_t, &terms[n_terms++], err)))
            goto fail;
    }
    int total;
    if ((st = graph_builder_op(&b, "Sum", NULL, n_terms, terms, &total, NULL)))
        goto fail;
    free(c.map), free(c.insert_rate), free(c.active_rate), free(c.active), free(in_region);
    graph_free(tc);
    return train_graph_finish(out, total, err);
fail:
    free(c.map), free(c.insert_rate), free(c.active_rate), free(c.active), free(in_region);
    graph_free(tc);
    train_graph_free(out);
    return st;
}

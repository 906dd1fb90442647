#include "runtime/train.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph/fileio.h"
#include "graph/ops.h"
#include "passes/inference.h"
#include "passes/train_graph.h"
#include "runtime/checkpoint.h"
#include "runtime/exec.h"

void train_options_defaults(train_options *o)
{
    memset(o, 0, sizeof *o);
    o->epochs = 100;
    o->batch = 128;
    optim_defaults(&o->optim, OPTIM_ADAM);
    o->bn_recalibrate = true;
}

int64_t train_data_sample_numel(const train_data *d)
{
    int64_t n = 1;
    for (int i = 0; i < d->rank; i++)
        n *= d->dims[i];
    return n;
}

void train_result_free(train_result *r)
{
    free(r->history);
    r->history = NULL;
    r->n_history = 0;
}

void eval_result_free(eval_result *r)
{
    free(r->confusion);
    r->confusion = NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The sample order of an epoch depends only on (seed, epoch). */
static void epoch_permutation(int64_t *perm, int64_t n, uint64_t seed, int epoch)
{
    uint64_t s = seed ^ (0x5eed0000ull + (uint64_t)epoch * 0x9e3779b97f4a7c15ull);
    for (int64_t i = 0; i < n; i++)
        perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(splitmix64(&s) % (uint64_t)(i + 1));
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

static int64_t tensor_numel(const graph_tensor *t)
{
    int64_t n = 1;
    for (int d = 0; d < t->shape.rank; d++)
        n *= t->shape.dims[d];
    return n;
}

static ssdc_status check_data(const graph *model, const train_data *d, const char *what,
                              ssdc_error *err)
{
    const graph_tensor *x = &model->tensors[model->inputs[0]];
    if (x->shape.rank >= 0) {
        bool ok = x->shape.rank == d->rank + 1;
        for (int i = 0; ok && i < d->rank; i++)
            ok = x->shape.dims[i + 1] < 0 || x->shape.dims[i + 1] == d->dims[i];
        if (!ok) {
            char want[160], got[160];
            graph_shape s;
            int64_t dims[GRAPH_MAX_RANK];
            dims[0] = -1;
            for (int i = 0; i < d->rank; i++)
                dims[i + 1] = d->dims[i];
            graph_shape_init(&s, d->rank + 1, dims);
            snprintf(s.sym[0], GRAPH_SYM_MAX, "N");
            graph_shape_format(&x->shape, want, sizeof want);
            graph_shape_format(&s, got, sizeof got);
            return ssdc_fail(err, SSDC_ERR_SHAPE,
                             "%s data has samples of shape %s but model input '%s' expects %s", what,
                             got, x->name, want);
        }
    }
    if (x->dtype != GRAPH_DT_FLOAT)
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "model input '%s' is %s, training needs float32",
                         x->name, graph_dtype_name(x->dtype));
    for (int64_t i = 0; i < d->n; i++)
        if (d->y[i] < 0 || d->y[i] >= d->n_classes)
            return ssdc_fail(err, SSDC_ERR_INVALID, "%s label %lld of sample %lld is out of range",
                             what, (long long)d->y[i], (long long)i);
    return SSDC_OK;
}

/* ---- evaluation ---- */

/* Runs g (ready to run: inference passes applied) over d in batches of
 * `batch`, in order; output o of sample i goes to out[o] + i * per[o].  With
 * *out[o] NULL the buffer is allocated (n x per[o], per[o] from the first
 * batch); else it must hold n x per[o] floats. */
static ssdc_status run_batched(const graph *g, const train_data *d, int batch, int n_out,
                               float **out, int64_t *per, ssdc_error *err)
{
    rt_session *s = NULL;
    ssdc_status st = rt_session_create(g, NULL, &s, err);
    if (st)
        return st;
    int64_t xper = train_data_sample_numel(d);
    for (int64_t start = 0; start < d->n && !st; start += batch) {
        int64_t bs = d->n - start < batch ? d->n - start : batch;
        graph_value in = {0};
        int64_t dims[GRAPH_MAX_RANK];
        dims[0] = bs;
        for (int i = 0; i < d->rank; i++)
            dims[i + 1] = d->dims[i];
        graph_value_set_shape(&in, GRAPH_DT_FLOAT, d->rank + 1, dims);
        in.data = (void *)(d->x + start * xper);
        if ((st = rt_session_run(s, &in, err)))
            break;
        for (int o = 0; o < n_out && !st; o++) {
            const graph_value *v = rt_session_output(s, o);
            if (!out[o] && v->dtype == GRAPH_DT_FLOAT && v->rank >= 1 && v->dims[0] == bs) {
                per[o] = v->numel / bs;
                out[o] = malloc((size_t)(d->n * per[o] > 0 ? d->n * per[o] : 1) * sizeof(float));
                if (!out[o]) {
                    st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
                    break;
                }
            }
            if (v->dtype != GRAPH_DT_FLOAT || v->rank < 1 || v->dims[0] != bs || !out[o] ||
                v->numel != bs * per[o]) {
                st = ssdc_fail(err, SSDC_ERR_SHAPE,
                               "output '%s' must be float [N, ...] with the same size per sample",
                               g->tensors[g->outputs[o]].name);
                break;
            }
            memcpy(out[o] + start * per[o], v->data, (size_t)v->numel * sizeof(float));
        }
    }
    rt_session_free(s);
    return st;
}

ssdc_status train_predict(const graph *model, const train_data *d, int batch, float **out,
                          int64_t *k_out, ssdc_error *err)
{
    *out = NULL;
    *k_out = 0;
    ssdc_status st = check_data(model, d, "evaluation", err);
    if (st)
        return st;
    graph *g = graph_clone(model);
    if (!g)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    float *res = NULL;
    int64_t k = 0;
    if (!(st = passes_optimize_inference(g, NULL, err)))
        st = run_batched(g, d, batch > 0 ? batch : 128, 1, &res, &k, err);
    graph_free(g);
    if (st) {
        free(res);
        return st;
    }
    *out = res;
    *k_out = k;
    return SSDC_OK;
}

/* argmax of a row of n scores (the first maximum). */
static int64_t row_argmax(const float *row, int64_t n)
{
    int64_t best = 0;
    for (int64_t c = 1; c < n; c++)
        if (row[c] > row[best])
            best = c;
    return best;
}

ssdc_status train_score_logits(const float *logits, const train_data *d, int64_t *pred,
                               eval_result *r, ssdc_error *err)
{
    memset(r, 0, sizeof *r);
    int C = d->n_classes;
    r->n_classes = C;
    r->n = d->n;
    r->confusion = calloc((size_t)(C > 0 ? C : 1) * (size_t)(C > 0 ? C : 1), sizeof *r->confusion);
    if (!r->confusion)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    double loss = 0;
    int64_t correct = 0;
    for (int64_t i = 0; i < d->n; i++) {
        const float *row = logits + i * C;
        int64_t best = row_argmax(row, C);
        if (pred)
            pred[i] = best;
        double mx = row[best], se = 0;
        for (int c = 0; c < C; c++)
            se += exp((double)row[c] - mx);
        int64_t y = d->y[i];
        loss += mx + log(se) - row[y];
        correct += best == y;
        r->confusion[y * C + best]++;
    }
    r->loss = d->n ? loss / (double)d->n : 0;
    r->accuracy = d->n ? (double)correct / (double)d->n : 0;
    return SSDC_OK;
}

ssdc_status train_evaluate(const graph *model, const train_data *d, int batch, eval_result *r,
                           ssdc_error *err)
{
    memset(r, 0, sizeof *r);
    float *lg = NULL;
    int64_t k = 0;
    ssdc_status st = train_predict(model, d, batch, &lg, &k, err);
    if (st)
        return st;
    int C = d->n_classes;
    if (d->n > 0 && k != C) {
        free(lg);
        return ssdc_fail(err, SSDC_ERR_SHAPE,
                         "model output '%s' must be float [N, %d] class scores for %d classes",
                         model->tensors[model->outputs[0]].name, C, C);
    }
    st = train_score_logits(lg, d, NULL, r, err);
    free(lg);
    return st;
}

/* The plan of g for these inputs' shapes: plans[0] for the full batch,
 * plans[1] for the last, smaller one (made on first use, replaced when the
 * shapes change). */
static ssdc_status plan_for(rt_plan *plans[2], const graph *g, const graph_value *in,
                            const rt_options *ro, rt_plan **out, ssdc_error *err)
{
    for (int k = 0; k < 2; k++)
        if (plans[k] && rt_plan_matches(plans[k], in)) {
            *out = plans[k];
            return SSDC_OK;
        }
    int slot = plans[0] ? 1 : 0;
    rt_plan_free(plans[slot]);
    plans[slot] = NULL;
    ssdc_status st = rt_plan_create(g, in, ro, &plans[slot], err);
    *out = plans[slot];
    return st;
}

/* ---- BatchNormalization statistics for the final weights ---- */

ssdc_status train_recalibrate_bn(graph *model, const train_data *d, int batch, ssdc_error *err)
{
    if (d->n <= 0)
        return SSDC_OK;
    if (batch <= 0)
        batch = 128;
    train_graph tg;
    ssdc_status st = train_graph_begin(model, &tg, err);
    if (st)
        return st;
    graph *g = tg.g;
    /* per BN node: its running mean/var (model tensors) and its batch statistics */
    int nb = 0, cap = g->n_nodes ? g->n_nodes : 1;
    int *mean_t = malloc((size_t)cap * sizeof *mean_t), *var_t = malloc((size_t)cap * sizeof *var_t);
    int *mean_o = malloc((size_t)cap * sizeof *mean_o), *var_o = malloc((size_t)cap * sizeof *var_o);
    float *keep_m = malloc((size_t)cap * sizeof *keep_m);
    graph_value *in = calloc((size_t)g->n_inputs, sizeof *in);
    float *zeros = NULL;
    int64_t *labels = calloc((size_t)batch, sizeof *labels);
    double **acc_m = NULL, **acc_q = NULL;
    rt_plan *plans[2] = {NULL, NULL};
    if (!mean_t || !var_t || !mean_o || !var_o || !keep_m || !in || !labels) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        goto done;
    }
    int64_t max_state = 1;
    for (int s = 0; s < tg.n_state; s++) {
        int64_t n = tensor_numel(&model->tensors[tg.state_src[s]]);
        max_state = n > max_state ? n : max_state;
    }
    for (int i = 0; i < g->n_nodes && !st; i++) {
        const graph_node *n = &g->nodes[i];
        if (n->op != GRAPH_OP_BATCHNORMALIZATION || n->n_outputs < 3 || n->n_inputs < 5)
            continue;
        float m = graph_attr_float(n, "momentum", 0.9f);
        if (!(m >= 0.0f && m < 0.999f))
            continue; /* the batch statistic cannot be recovered from the update */
        mean_t[nb] = n->inputs[3];
        var_t[nb] = n->inputs[4];
        mean_o[nb] = n->outputs[1];
        var_o[nb] = n->outputs[2];
        keep_m[nb] = m;
        nb++;
    }
    if (nb == 0)
        goto done;
    /* outputs: every BN's updated statistics (state inputs fed zeros, so an
     * update is (1 - momentum) x the batch statistic) */
    for (int k = 0; k < nb && !st; k++)
        if (!(st = graph_add_output(g, mean_o[k], err)))
            st = graph_add_output(g, var_o[k], err);
    if (st)
        goto done;
    passes_remove_dead_nodes(g);
    zeros = calloc((size_t)max_state, sizeof *zeros);
    acc_m = calloc((size_t)nb, sizeof *acc_m);
    acc_q = calloc((size_t)nb, sizeof *acc_q);
    if (!zeros || !acc_m || !acc_q) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int k = 0; k < nb; k++) {
        int64_t c = tensor_numel(&model->tensors[mean_t[k]]);
        acc_m[k] = calloc((size_t)(c ? c : 1), sizeof **acc_m);
        acc_q[k] = calloc((size_t)(c ? c : 1), sizeof **acc_q);
        if (!acc_m[k] || !acc_q[k]) {
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    for (int p = 0; p < tg.n_params; p++) {
        const graph_tensor *mt = &model->tensors[tg.param_src[p]];
        graph_value_set_shape(&in[tg.param_input[p]], GRAPH_DT_FLOAT, mt->shape.rank, mt->shape.dims);
        in[tg.param_input[p]].data = mt->data;
    }
    for (int s = 0; s < tg.n_state; s++) {
        const graph_tensor *mt = &model->tensors[tg.state_src[s]];
        graph_value_set_shape(&in[tg.state_input[s]], GRAPH_DT_FLOAT, mt->shape.rank, mt->shape.dims);
        in[tg.state_input[s]].data = zeros;
    }
    int64_t per = train_data_sample_numel(d), counted = 0;
    rt_options ro = {.training = true};
    for (int64_t start = 0; start < d->n && !st; start += batch) {
        int64_t bs = d->n - start < batch ? d->n - start : batch;
        int64_t dims[GRAPH_MAX_RANK];
        dims[0] = bs;
        for (int i = 0; i < d->rank; i++)
            dims[i + 1] = d->dims[i];
        graph_value_set_shape(&in[tg.x_input], GRAPH_DT_FLOAT, d->rank + 1, dims);
        in[tg.x_input].data = (void *)(d->x + start * per);
        graph_value_set_shape(&in[tg.label_input], GRAPH_DT_INT64, 1, dims);
        in[tg.label_input].data = labels;
        rt_plan *plan;
        if ((st = plan_for(plans, g, in, &ro, &plan, err)) || (st = rt_plan_run(plan, in, err)))
            break;
        /* a batch with a non-finite statistic (a NaN in the data: --on-nan
         * skip-batch trained without it) is left out */
        bool finite = true;
        for (int k = 0; k < 2 * nb && finite; k++) {
            const graph_value *v = rt_plan_output(plan, k);
            for (int64_t c = 0; c < v->numel && finite; c++)
                finite = isfinite(((const float *)v->data)[c]);
        }
        if (!finite)
            continue;
        counted += bs;
        for (int k = 0; k < nb; k++) {
            const graph_value *mv = rt_plan_output(plan, 2 * k);
            const graph_value *vv = rt_plan_output(plan, 2 * k + 1);
            double f = 1.0 / (1.0 - (double)keep_m[k]);
            const float *mb = mv->data, *vb = vv->data;
            for (int64_t c = 0; c < mv->numel; c++) {
                double mu = mb[c] * f, var = vb[c] * f;
                acc_m[k][c] += (double)bs * mu;
                acc_q[k][c] += (double)bs * (var + mu * mu);
            }
        }
    }
    if (st || counted == 0)
        goto done; /* no finite batch: the statistics stay as they are */
    /* the statistics of the whole training set: mean, and E[x^2] - mean^2 */
    for (int k = 0; k < nb; k++) {
        graph_tensor *mt = &model->tensors[mean_t[k]], *vt = &model->tensors[var_t[k]];
        float *mean = mt->data, *var = vt->data;
        for (int64_t c = 0; c < tensor_numel(mt); c++) {
            double mu = acc_m[k][c] / (double)counted, q = acc_q[k][c] / (double)counted - mu * mu;
            mean[c] = (float)mu;
            var[c] = (float)(q > 0 ? q : 0);
        }
    }
done:
    rt_plan_free(plans[0]);
    rt_plan_free(plans[1]);
    for (int k = 0; k < nb && acc_m && acc_q; k++)
        free(acc_m[k]), free(acc_q[k]);
    free(acc_m), free(acc_q);
    free(mean_t), free(var_t), free(mean_o), free(var_o), free(keep_m);
    free(in), free(zeros), free(labels);
    train_graph_free(&tg);
    return st;
}

/* ---- fresh initialisation ---- */

static float uniform_pm(uint64_t *s, float bound)
{
    double u = (double)(splitmix64(s) >> 11) / 9007199254740992.0;
    return (float)((2.0 * u - 1.0) * bound);
}

/* fan_in of the weight consumed by node n at input k (PyTorch's rule). */
static int64_t weight_fan_in(const graph *g, const graph_node *n)
{
    int w = n->n_inputs > 1 ? n->inputs[1] : -1;
    if (w < 0)
        return 0;
    const graph_shape *s = &g->tensors[w].shape;
    if (n->op == GRAPH_OP_CONV) {
        int64_t f = 1;
        for (int d = 1; d < s->rank; d++)
            f *= s->dims[d];
        return f;
    }
    if (n->op == GRAPH_OP_GEMM && s->rank == 2)
        return graph_attr_int(n, "transB", 0) ? s->dims[1] : s->dims[0];
    if (n->op == GRAPH_OP_MATMUL && s->rank >= 2)
        return s->dims[s->rank - 2];
    return 0;
}

ssdc_status train_init_fresh(graph *model, uint64_t seed, ssdc_error *err)
{
    uint64_t s = seed ^ 0xf2e5ull;
    for (int i = 0; i < model->n_nodes; i++) {
        const graph_node *n = &model->nodes[i];
        for (int k = 0; k < n->n_inputs; k++) {
            int t = n->inputs[k];
            if (t < 0 || model->tensors[t].kind != GRAPH_TENSOR_INITIALIZER ||
                model->tensors[t].dtype != GRAPH_DT_FLOAT)
                continue;
            float *w = model->tensors[t].data;
            int64_t numel = tensor_numel(&model->tensors[t]);
            if (n->op == GRAPH_OP_BATCHNORMALIZATION && k >= 1) {
                float v = (k == 1 || k == 4) ? 1.0f : 0.0f;
                for (int64_t j = 0; j < numel; j++)
                    w[j] = v;
            } else if ((n->op == GRAPH_OP_CONV || n->op == GRAPH_OP_GEMM ||
                        n->op == GRAPH_OP_MATMUL) &&
                       train_graph_is_trainable(model, t)) {
                int64_t fan_in = weight_fan_in(model, n);
                if (fan_in <= 0)
                    return ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                                     "node '%s' (%s): cannot tell the fan-in of its weight",
                                     n->name, n->op_type);
                float bound = 1.0f / sqrtf((float)fan_in);
                for (int64_t j = 0; j < numel; j++)
                    w[j] = uniform_pm(&s, bound);
            }
        }
    }
    return SSDC_OK;
}

static float normal01(uint64_t *s)
{
    double u1 = ((double)(splitmix64(s) >> 11) + 0.5) / 9007199254740992.0;
    double u2 = (double)(splitmix64(s) >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

ssdc_status train_init_student(graph *model, uint64_t seed, ssdc_error *err)
{
    uint64_t s = seed ^ 0x57deull;
    for (int i = 0; i < model->n_nodes; i++) {
        const graph_node *n = &model->nodes[i];
        for (int k = 1; k < n->n_inputs; k++) {
            int t = n->inputs[k];
            if (t < 0 || model->tensors[t].kind != GRAPH_TENSOR_INITIALIZER ||
                model->tensors[t].dtype != GRAPH_DT_FLOAT)
                continue;
            float *w = model->tensors[t].data;
            int64_t numel = tensor_numel(&model->tensors[t]);
            bool bn = n->op == GRAPH_OP_BATCHNORMALIZATION;
            bool dense = (n->op == GRAPH_OP_CONV || n->op == GRAPH_OP_GEMM ||
                          n->op == GRAPH_OP_MATMUL) && train_graph_is_trainable(model, t);
            if (!bn && !dense)
                continue;
            for (int64_t j = 0; j < numel; j++) {
                if (bn)
                    w[j] = k == 1 ? 1.0f + 0.02f * normal01(&s) : k == 4 ? 1.0f : 0.0f;
                else
                    w[j] = k == 1 ? 0.02f * normal01(&s) : 0.0f;
            }
        }
    }
    (void)err;
    return SSDC_OK;
}

/* ---- training ---- */

typedef struct {
    graph *model;
    train_graph tg;
    int64_t n_params, n_state;       /* floats */
    int64_t *p_off, *s_off;
    float *params, *grads, *state, *best_params, *best_state;
    graph_value *inputs;
    rt_plan *plans[2];
    float *xb;
    int64_t *yb;
    int64_t *perm;
    /* train_graph.cacheable computed once per sample (cache_setup) */
    int n_cached;
    int cached_input[TRAIN_GRAPH_MAX_CACHEABLE];   /* position in the graph's inputs */
    int64_t cached_per[TRAIN_GRAPH_MAX_CACHEABLE]; /* floats per sample */
    float *cached[TRAIN_GRAPH_MAX_CACHEABLE];      /* n x per, the training set's rows */
    float *cached_b[TRAIN_GRAPH_MAX_CACHEABLE];    /* the batch's rows */
    /* report hook (train_options.on_step_extras) */
    void (*on_extras)(int epoch, const graph_value *const *extras, int n_extras, void *user);
    void *user;
    int epoch;
    int64_t cached_bytes;
    bool skip_nonfinite;            /* --on-nan skip-batch */
    int64_t nonfinite_steps;
    char nonfinite_msg[800];        /* the last skipped step */
} trainer;

static void trainer_free(trainer *t)
{
    /* plans point into the training graph: free them first */
    rt_plan_free(t->plans[0]);
    rt_plan_free(t->plans[1]);
    t->plans[0] = t->plans[1] = NULL;
    train_graph_free(&t->tg);
    free(t->p_off), free(t->s_off);
    free(t->params), free(t->grads), free(t->state), free(t->best_params), free(t->best_state);
    free(t->inputs);
    free(t->xb), free(t->yb), free(t->perm);
    for (int i = 0; i < t->n_cached; i++)
        free(t->cached[i]), free(t->cached_b[i]);
}

/* When the training graph has tensors computed from the data alone by nodes
 * no gradient reaches (the frozen teacher's deterministic part), and they fit
 * opt->cache_limit for the whole training set: computes them once here, in
 * batches over d in order, and removes their computation from the training
 * graph; train_step feeds each batch's rows.  Otherwise nothing changes. */
static ssdc_status cache_setup(trainer *t, const train_data *d, int batch,
                               const train_options *opt, ssdc_error *err)
{
    train_graph *tg = &t->tg;
    if (tg->n_cacheable <= 0 || opt->cache_limit < 0 || d->n <= 0)
        return SSDC_OK;
    int64_t limit = opt->cache_limit > 0 ? opt->cache_limit : (int64_t)1 << 30, total = 0;
    int64_t per[TRAIN_GRAPH_MAX_CACHEABLE];
    for (int i = 0; i < tg->n_cacheable; i++) {
        const graph_tensor *ct = &tg->g->tensors[tg->cacheable[i]];
        if (ct->dtype != GRAPH_DT_FLOAT || ct->shape.rank < 1)
            return SSDC_OK;
        per[i] = 1;
        for (int k = 1; k < ct->shape.rank; k++) {
            if (ct->shape.dims[k] < 0 || per[i] > ((int64_t)1 << 40) / (ct->shape.dims[k] + 1))
                return SSDC_OK; /* unknown or huge per-sample shape: not cached */
            per[i] *= ct->shape.dims[k];
        }
        if (per[i] > (limit - total) / (int64_t)sizeof(float) / d->n)
            return SSDC_OK; /* over the limit */
        total += per[i] * d->n * (int64_t)sizeof(float);
    }
    int n = tg->n_cacheable, pos[TRAIN_GRAPH_MAX_CACHEABLE];
    graph *prefix = NULL;
    ssdc_status st = train_graph_split_cached(tg, &prefix, pos, err);
    if (st)
        return st;
    t->n_cached = n;
    for (int i = 0; i < n; i++) {
        t->cached_input[i] = pos[i];
        t->cached_per[i] = per[i];
        t->cached[i] = malloc((size_t)(d->n * per[i]) * sizeof(float));
        t->cached_b[i] = malloc((size_t)((int64_t)batch * per[i]) * sizeof(float));
        if (!t->cached[i] || !t->cached_b[i]) {
            graph_free(prefix);
            return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory for %lld cached bytes",
                             (long long)total);
        }
    }
    st = run_batched(prefix, d, batch, n, t->cached, per, err);
    graph_free(prefix);
    if (st)
        return st;
    /* the inputs array grew with the new inputs */
    graph_value *in = realloc(t->inputs, (size_t)tg->g->n_inputs * sizeof *in);
    if (!in)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    t->inputs = in;
    for (int i = 0; i < n; i++)
        memset(&t->inputs[pos[i]], 0, sizeof t->inputs[0]);
    t->cached_bytes = total;
    return SSDC_OK;
}

static uint64_t layout_key(const trainer *t)
{
    uint64_t h = 1469598103934665603ull;
    const graph *g = t->model;
    for (int p = 0; p < t->tg.n_params + t->tg.n_state; p++) {
        int src = p < t->tg.n_params ? t->tg.param_src[p] : t->tg.state_src[p - t->tg.n_params];
        for (const char *c = g->tensors[src].name; *c; c++)
            h = (h ^ (unsigned char)*c) * 1099511628211ull;
        int64_t n = tensor_numel(&g->tensors[src]);
        h = (h ^ (uint64_t)n) * 1099511628211ull;
    }
    return h;
}

/* model initializers <- flat buffers */
static void store_to_model(trainer *t, const float *params, const float *state)
{
    for (int p = 0; p < t->tg.n_params; p++) {
        graph_tensor *gt = &t->model->tensors[t->tg.param_src[p]];
        memcpy(gt->data, params + t->p_off[p], (size_t)tensor_numel(gt) * sizeof(float));
    }
    for (int s = 0; s < t->tg.n_state; s++) {
        graph_tensor *gt = &t->model->tensors[t->tg.state_src[s]];
        memcpy(gt->data, state + t->s_off[s], (size_t)tensor_numel(gt) * sizeof(float));
    }
}

/* Takes over *tg when given (zeroing it); else builds the cross-entropy graph. */
static ssdc_status trainer_init(trainer *t, graph *model, train_graph *tg, const train_data *d,
                                int batch, const train_options *opt, ssdc_error *err)
{
    memset(t, 0, sizeof *t);
    t->model = model;
    ssdc_status st = SSDC_OK;
    if (tg) {
        t->tg = *tg;
        memset(tg, 0, sizeof *tg);
    } else {
        train_graph_options to = {.label_smoothing = opt->label_smoothing};
        st = train_graph_build(model, &to, &t->tg, err);
    }
    if (st)
        return st;
    int np = t->tg.n_params, ns = t->tg.n_state;
    t->p_off = malloc((size_t)(np + 1) * sizeof *t->p_off);
    t->s_off = malloc((size_t)(ns + 1) * sizeof *t->s_off);
    if (!t->p_off || !t->s_off)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    t->p_off[0] = 0;
    for (int p = 0; p < np; p++)
        t->p_off[p + 1] = t->p_off[p] + tensor_numel(&model->tensors[t->tg.param_src[p]]);
    t->s_off[0] = 0;
    for (int s = 0; s < ns; s++)
        t->s_off[s + 1] = t->s_off[s] + tensor_numel(&model->tensors[t->tg.state_src[s]]);
    t->n_params = t->p_off[np];
    t->n_state = t->s_off[ns];
    size_t pb = (size_t)(t->n_params ? t->n_params : 1) * sizeof(float);
    size_t sb = (size_t)(t->n_state ? t->n_state : 1) * sizeof(float);
    t->params = malloc(pb);
    t->grads = calloc(1, pb);
    t->best_params = malloc(pb);
    t->state = malloc(sb);
    t->best_state = malloc(sb);
    graph *g = t->tg.g;
    t->inputs = calloc((size_t)g->n_inputs, sizeof *t->inputs);
    int64_t per = train_data_sample_numel(d);
    t->xb = malloc((size_t)batch * (size_t)per * sizeof(float));
    t->yb = malloc((size_t)batch * sizeof(int64_t));
    t->perm = malloc((size_t)(d->n ? d->n : 1) * sizeof(int64_t));
    if (!t->params || !t->grads || !t->best_params || !t->state || !t->best_state || !t->inputs ||
        !t->xb || !t->yb || !t->perm)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory for training buffers");
    for (int p = 0; p < np; p++) {
        const graph_tensor *mt = &model->tensors[t->tg.param_src[p]];
        memcpy(t->params + t->p_off[p], mt->data, (size_t)tensor_numel(mt) * sizeof(float));
        graph_value *v = &t->inputs[t->tg.param_input[p]];
        graph_value_set_shape(v, GRAPH_DT_FLOAT, mt->shape.rank, mt->shape.dims);
        v->data = t->params + t->p_off[p];
    }
    for (int s = 0; s < ns; s++) {
        const graph_tensor *mt = &model->tensors[t->tg.state_src[s]];
        memcpy(t->state + t->s_off[s], mt->data, (size_t)tensor_numel(mt) * sizeof(float));
        graph_value *v = &t->inputs[t->tg.state_input[s]];
        graph_value_set_shape(v, GRAPH_DT_FLOAT, mt->shape.rank, mt->shape.dims);
        v->data = t->state + t->s_off[s];
    }
    memcpy(t->best_params, t->params, pb);
    memcpy(t->best_state, t->state, sb);
    return cache_setup(t, d, batch, opt, err);
}

/* One optimisation step on samples perm[start .. start+bs). */
static ssdc_status train_step(trainer *t, const train_data *d, int64_t start, int64_t bs,
                              uint64_t step, optim_state *os, const rt_options *ro, double *loss,
                              int64_t *correct, ssdc_error *err)
{
    int64_t per = train_data_sample_numel(d);
    for (int64_t b = 0; b < bs; b++) {
        int64_t i = t->perm[start + b];
        memcpy(t->xb + b * per, d->x + i * per, (size_t)per * sizeof(float));
        t->yb[b] = d->y[i];
    }
    graph_value *x = &t->inputs[t->tg.x_input], *y = &t->inputs[t->tg.label_input];
    int64_t dims[GRAPH_MAX_RANK];
    dims[0] = bs;
    for (int i = 0; i < d->rank; i++)
        dims[i + 1] = d->dims[i];
    graph_value_set_shape(x, GRAPH_DT_FLOAT, d->rank + 1, dims);
    x->data = t->xb;
    graph_value_set_shape(y, GRAPH_DT_INT64, 1, dims);
    y->data = t->yb;
    for (int c = 0; c < t->n_cached; c++) {
        int64_t cp = t->cached_per[c];
        for (int64_t b = 0; b < bs; b++)
            memcpy(t->cached_b[c] + b * cp, t->cached[c] + t->perm[start + b] * cp,
                   (size_t)cp * sizeof(float));
        const graph_tensor *ct = &t->tg.g->tensors[t->tg.g->inputs[t->cached_input[c]]];
        int64_t cd[GRAPH_MAX_RANK];
        cd[0] = bs;
        for (int k = 1; k < ct->shape.rank; k++)
            cd[k] = ct->shape.dims[k];
        graph_value_set_shape(&t->inputs[t->cached_input[c]], GRAPH_DT_FLOAT, ct->shape.rank, cd);
        t->inputs[t->cached_input[c]].data = t->cached_b[c];
    }
    /* plans[0] for the full batch, plans[1] for the last, smaller one */
    rt_plan *p;
    ssdc_status st = plan_for(t->plans, t->tg.g, t->inputs, ro, &p, err);
    if (st)
        return st;
    rt_plan_set_step(p, step);
    st = rt_plan_run(p, t->inputs, err);
    if (st)
        return st;
    const graph_value *lv = rt_plan_output(p, t->tg.loss_output);
    double l = graph_value_get_f64(lv, 0);
    bool finite = isfinite(l);
    for (int k = 0; finite && k < t->tg.n_params; k++) {
        const graph_value *gv = rt_plan_output(p, t->tg.grad_output[k]);
        const float *gd = gv->data;
        for (int64_t i = 0; i < gv->numel && finite; i++)
            finite = isfinite(gd[i]);
    }
    if (!finite) {
        /* replay the step node by node to name where it went wrong */
        int node = -1, output = -1;
        rt_plan_set_step(p, step);
        ssdc_status rs = rt_plan_find_nonfinite(p, t->inputs, &node, &output, err);
        if (rs)
            return rs;
        char where[700] = "";
        if (node >= 0) {
            const graph_node *n = &t->tg.g->nodes[node];
            snprintf(where, sizeof where, "; the first non-finite value comes from node '%s' (%s), output '%s'",
                     n->name, n->op_type, t->tg.g->tensors[n->outputs[output]].name);
        }
        t->nonfinite_steps++;
        if (t->skip_nonfinite) {
            snprintf(t->nonfinite_msg, sizeof t->nonfinite_msg, "step %llu: loss %g%s",
                     (unsigned long long)step, l, where);
            return SSDC_OK; /* the batch is skipped: no update */
        }
        return ssdc_fail(err, SSDC_ERR_INVALID,
                         "non-finite %s at step %llu%s; the last checkpoint holds the last good "
                         "epoch (--on-nan skip-batch skips such batches instead)",
                         isfinite(l) ? "gradient" : "loss", (unsigned long long)step, where);
    }
    *loss += l * (double)bs;
    const graph_value *lg = rt_plan_output(p, t->tg.logits_output);
    int64_t C = lg->dims[1];
    const float *row = lg->data;
    for (int64_t b = 0; b < bs; b++, row += C) {
        int64_t best = 0;
        for (int64_t c = 1; c < C; c++)
            if (row[c] > row[best])
                best = c;
        *correct += best == t->yb[b];
    }
    for (int k = 0; k < t->tg.n_params; k++) {
        const graph_value *gv = rt_plan_output(p, t->tg.grad_output[k]);
        memcpy(t->grads + t->p_off[k], gv->data,
               (size_t)(t->p_off[k + 1] - t->p_off[k]) * sizeof(float));
    }
    optim_step(os, t->params, t->grads);
    if (t->on_extras && t->tg.n_extra_outputs > 0) {
        const graph_value *ex[16];
        int n = t->tg.n_extra_outputs < 16 ? t->tg.n_extra_outputs : 16;
        for (int k = 0; k < n; k++)
            ex[k] = rt_plan_output(p, t->tg.extra_output0 + k);
        t->on_extras(t->epoch, ex, n, t->user);
    }
    for (int s = 0; s < t->tg.n_state; s++) {
        const graph_value *sv = rt_plan_output(p, t->tg.state_output[s]);
        memcpy(t->state + t->s_off[s], sv->data,
               (size_t)(t->s_off[s + 1] - t->s_off[s]) * sizeof(float));
    }
    return SSDC_OK;
}

static ssdc_status write_log(const char *path, const train_epoch_stats *h, int n, ssdc_error *err)
{
    size_t cap = 128 + (size_t)n * 160, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    len += (size_t)snprintf(buf + len, cap - len,
                            "epoch,train_loss,train_acc,val_loss,val_acc,seconds,best\n");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%d,%.6f,%.6f,%.6f,%.6f,%.6f,%d\n",
                                h[i].epoch, h[i].train_loss, h[i].train_acc, h[i].val_loss,
                                h[i].val_acc, h[i].seconds, h[i].best ? 1 : 0);
    ssdc_status st = ssdc_write_file_atomic(path, buf, len, err);
    free(buf);
    return st;
}

static ssdc_status save_checkpoint(const trainer *t, const train_options *opt,
                                   const optim_state *os, int epochs_done, uint64_t step,
                                   double best_val, int best_epoch, int bad, const train_result *res,
                                   ssdc_error *err)
{
    checkpoint c = {0};
    c.model_key = layout_key(t);
    c.epochs_done = epochs_done;
    c.step = step;
    c.optim_kind = (int32_t)os->o.kind;
    c.optim_t = os->t;
    c.n_optim_arrays = optim_state_arrays(os, c.optim);
    c.n_params = t->n_params;
    c.n_state = t->n_state;
    c.best_val = best_val;
    c.best_epoch = best_epoch;
    c.bad_epochs = bad;
    c.params = t->params;
    c.state = t->state;
    c.best_params = t->best_params;
    c.best_state = t->best_state;
    c.n_history = res->n_history;
    c.history = res->history;
    return checkpoint_write(opt->checkpoint, &c, err);
}

ssdc_status train_model(graph *model, const train_data *train, const train_data *val,
                        const train_options *opt, train_result *res, ssdc_error *err)
{
    return train_model_graph(model, NULL, train, val, opt, res, err);
}

ssdc_status train_model_graph(graph *model, train_graph *tg, const train_data *train,
                              const train_data *val, const train_options *opt, train_result *res,
                              ssdc_error *err)
{
    memset(res, 0, sizeof *res);
    res->best_val_loss = NAN;
    ssdc_status st = SSDC_OK;
    if (model->n_inputs != 1)
        st = ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "training needs a model with one input, got %d",
                       model->n_inputs);
    if (!st)
        st = check_data(model, train, "training", err);
    if (!st && val)
        st = check_data(model, val, "validation", err);
    if (!st && (opt->epochs < 0 || opt->batch <= 0 || train->n == 0))
        st = ssdc_fail(err, SSDC_ERR_ARG, "need epochs >= 0, batch > 0 and training data");
    if (st) {
        if (tg)
            train_graph_free(tg);
        return st;
    }
    if (opt->threads > 0)
        openblas_set_num_threads(opt->threads);
    int batch = opt->batch < train->n ? opt->batch : (int)train->n;
    trainer t;
    optim_state os = {0};
    double t_init = now_s(); /* the per-sample cache is computed here: counted in epoch 1 */
    if ((st = trainer_init(&t, model, tg, train, batch, opt, err))) {
        trainer_free(&t);
        return st;
    }
    if ((st = optim_init(&os, &opt->optim, t.n_params, err))) {
        trainer_free(&t);
        return st;
    }
    res->history = calloc((size_t)(opt->epochs + 1), sizeof *res->history);
    if (!res->history) {
        optim_free(&os);
        trainer_free(&t);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    }
    int first_epoch = 1, best_epoch = 0, bad = 0;
    double best_val = INFINITY, t_start = now_s(), init_s = t.cached_bytes ? t_start - t_init : 0;
    t_start -= init_s;
    uint64_t step = 0;
    if (opt->resume && opt->checkpoint) {
        checkpoint c;
        FILE *probe = fopen(opt->checkpoint, "rb");
        if (probe) {
            fclose(probe);
            if ((st = checkpoint_read(opt->checkpoint, &c, err)))
                goto done;
            if (c.model_key != layout_key(&t) || c.n_params != t.n_params ||
                c.n_state != t.n_state || c.optim_kind != (int32_t)os.o.kind ||
                c.n_optim_arrays != optim_state_arrays(&os, (float *[3]){0})) {
                checkpoint_free(&c);
                st = ssdc_fail(err, SSDC_ERR_INVALID,
                               "%s: the checkpoint belongs to another model or optimizer",
                               opt->checkpoint);
                goto done;
            }
            size_t pb = (size_t)t.n_params * sizeof(float), sb = (size_t)t.n_state * sizeof(float);
            memcpy(t.params, c.params, pb);
            memcpy(t.state, c.state, sb);
            memcpy(t.best_params, c.best_params, pb);
            memcpy(t.best_state, c.best_state, sb);
            float *arrays[3];
            int na = optim_state_arrays(&os, arrays);
            for (int k = 0; k < na; k++)
                memcpy(arrays[k], c.optim[k], pb);
            os.t = c.optim_t;
            first_epoch = c.epochs_done + 1;
            step = c.step;
            best_val = c.best_val;
            best_epoch = c.best_epoch;
            bad = c.bad_epochs;
            int nh = c.n_history < opt->epochs ? c.n_history : opt->epochs;
            memcpy(res->history, c.history, (size_t)nh * sizeof *res->history);
            res->n_history = nh;
            res->resumed = true;
            res->resumed_epoch = c.epochs_done;
            res->epochs_run = c.epochs_done;
            checkpoint_free(&c);
        }
    }
    /* ssdc's own parallel kernels use as many threads as OpenBLAS */
    rt_options ro = {.seed = opt->seed, .training = true,
                     .threads = opt->threads > 0 ? opt->threads : openblas_get_num_threads()};
    t.on_extras = opt->on_step_extras;
    t.user = opt->user;
    t.skip_nonfinite = opt->on_nan == TRAIN_ON_NAN_SKIP_BATCH;
    int64_t batches = (train->n + batch - 1) / batch;
    bool stop_training = false;
    if (val && opt->patience > 0 && bad >= opt->patience)
        stop_training = true; /* resumed after early stopping had already triggered */
    for (int epoch = first_epoch; epoch <= opt->epochs && !stop_training; epoch++) {
        double e_start = now_s(), loss = 0;
        int64_t correct = 0, seen = 0;
        epoch_permutation(t.perm, train->n, opt->seed, epoch);
        t.epoch = epoch;
        train_progress pr = {.epoch = epoch, .epochs = opt->epochs, .batches = batches};
        for (int64_t b = 0; b < batches; b++) {
            int64_t start = b * batch;
            int64_t bs = train->n - start < batch ? train->n - start : batch;
            int64_t skipped_before = t.nonfinite_steps;
            if ((st = train_step(&t, train, start, bs, step, &os, &ro, &loss, &correct, err))) {
                ssdc_error_prefix(err, "epoch %d, batch %lld", epoch, (long long)(b + 1));
                goto done;
            }
            step++;
            if (t.nonfinite_steps == skipped_before)
                seen += bs;
            double el = now_s() - e_start;
            pr.batch = b + 1;
            pr.loss = loss / (double)seen;
            pr.accuracy = (double)correct / (double)seen;
            pr.elapsed_s = el;
            pr.samples_per_s = el > 0 ? (double)seen / el : 0;
            pr.eta_s = pr.samples_per_s > 0 ? (double)(train->n - seen) / pr.samples_per_s : 0;
            if (opt->on_batch)
                opt->on_batch(&pr, opt->user);
            if (opt->stop && *opt->stop) {
                res->interrupted = true;
                goto done;
            }
        }
        if (seen == 0) {
            st = ssdc_fail(err, SSDC_ERR_INVALID,
                           "epoch %d: every batch had a non-finite loss or gradient (%s)", epoch,
                           t.nonfinite_msg);
            goto done;
        }
        train_epoch_stats es = {.epoch = epoch, .train_loss = loss / (double)seen,
                                .train_acc = (double)correct / (double)seen,
                                .val_loss = NAN, .val_acc = NAN};
        store_to_model(&t, t.params, t.state);
        if (val) {
            eval_result er;
            if ((st = train_evaluate(model, val, batch, &er, err))) {
                ssdc_error_prefix(err, "epoch %d, validation", epoch);
                goto done;
            }
            es.val_loss = er.loss;
            es.val_acc = er.accuracy;
            eval_result_free(&er);
            if (es.val_loss < best_val) {
                best_val = es.val_loss;
                best_epoch = epoch;
                bad = 0;
                es.best = true;
                memcpy(t.best_params, t.params, (size_t)t.n_params * sizeof(float));
                memcpy(t.best_state, t.state, (size_t)t.n_state * sizeof(float));
            } else {
                bad++;
            }
        }
        es.seconds = now_s() - e_start + init_s;
        init_s = 0;
        res->history[res->n_history++] = es;
        res->epochs_run = epoch;
        if (opt->on_epoch)
            opt->on_epoch(&es, &pr, opt->user);
        if (opt->log_path && (st = write_log(opt->log_path, res->history, res->n_history, err)))
            goto done;
        if (opt->checkpoint &&
            (st = save_checkpoint(&t, opt, &os, epoch, step, best_val, best_epoch, bad, res, err)))
            goto done;
        if (val && opt->patience > 0 && bad >= opt->patience) {
            res->stopped_early = true;
            stop_training = true;
        }
        if (opt->stop && *opt->stop) {
            res->interrupted = true;
            goto done;
        }
    }
    /* early stopping restores the best epoch's weights */
    if (val && opt->patience > 0 && best_epoch > 0)
        store_to_model(&t, t.best_params, t.best_state);
    else
        store_to_model(&t, t.params, t.state);
    if (opt->bn_recalibrate) {
        if ((st = train_recalibrate_bn(model, train, batch, err)))
            ssdc_error_prefix(err, "recomputing the BatchNormalization statistics");
        else
            res->bn_recalibrated = true;
    }
done:
    res->cached_bytes = t.cached_bytes;
    res->skipped_batches = t.nonfinite_steps;
    snprintf(res->skipped_msg, sizeof res->skipped_msg, "%s", t.nonfinite_msg);
    res->best_epoch = best_epoch;
    res->best_val_loss = best_epoch ? best_val : NAN;
    res->seconds = now_s() - t_start;
    optim_free(&os);
    trainer_free(&t);
    if (st)
        train_result_free(res);
    return st;
}

#include "passes/sgkd.h"

#include <math.h>

#include "graph/builder.h"

/* ReduceSum(x, axes = [axis]) with the axes as an input (opset 13). */
static ssdc_status reduce_sum(graph_builder *b, const char *what, int x, int axes, bool keepdims,
                              int *out)
{
    int in[2] = {x, axes}, node;
    ssdc_status st = graph_builder_op(b, "ReduceSum", what, 2, in, out, &node);
    if (!st)
        st = graph_node_set_int(b->g, node, "keepdims", keepdims ? 1 : 0, b->err);
    return st;
}

/* ---- argument checks ---- */

static ssdc_status check_tensor(const graph *g, int x, const char *role, int rank, ssdc_error *err)
{
    if (x < 0 || x >= g->n_tensors)
        return ssdc_fail(err, SSDC_ERR_ARG, "sgkd: %s tensor index %d is out of range", role, x);
    const graph_tensor *t = &g->tensors[x];
    if (t->dtype != GRAPH_DT_UNDEFINED && t->dtype != GRAPH_DT_FLOAT)
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "sgkd: %s '%s' has dtype %s, expected float",
                         role, t->name, graph_dtype_name(t->dtype));
    if (t->shape.rank >= 0 && t->shape.rank != rank) {
        char buf[160];
        graph_shape_format(&t->shape, buf, sizeof buf);
        return ssdc_fail(err, SSDC_ERR_SHAPE, "sgkd: %s '%s' has shape %s, expected rank %d (%s)",
                         role, t->name, buf, rank, rank == 2 ? "[B, D]" : "[B, K, D]");
    }
    return SSDC_OK;
}

static ssdc_status fail_dims(const graph *g, int s, int t, const char *what, ssdc_error *err)
{
    char bs[160], bt[160];
    graph_shape_format(&g->tensors[s].shape, bs, sizeof bs);
    graph_shape_format(&g->tensors[t].shape, bt, sizeof bt);
    return ssdc_fail(err, SSDC_ERR_SHAPE, "sgkd: student '%s' %s and teacher '%s' %s: %s",
                     g->tensors[s].name, bs, g->tensors[t].name, bt, what);
}

/* s [B, D], t [B, K, D]: checks what is known and settles K. */
static ssdc_status check_sk(const graph *g, int s, int t, int *K, ssdc_error *err)
{
    ssdc_status st;
    if ((st = check_tensor(g, s, "student feature", 2, err)) ||
        (st = check_tensor(g, t, "teacher features", 3, err)))
        return st;
    const graph_shape *ss = &g->tensors[s].shape, *ts = &g->tensors[t].shape;
    if (ss->rank == 2 && ts->rank == 3) {
        if (ss->dims[1] >= 0 && ts->dims[2] >= 0 && ss->dims[1] != ts->dims[2])
            return fail_dims(g, s, t, "the feature sizes D differ", err);
        if (ss->dims[0] >= 0 && ts->dims[0] >= 0 && ss->dims[0] != ts->dims[0])
            return fail_dims(g, s, t, "the batch sizes B differ", err);
    }
    int64_t kt = ts->rank == 3 ? ts->dims[1] : -1;
    if (*K <= 0) {
        if (kt <= 0)
            return ssdc_fail(err, SSDC_ERR_SHAPE,
                             "sgkd: the number of teacher features K is not given and teacher "
                             "features '%s' have no static K (dimension 1)",
                             g->tensors[t].name);
        if (kt > (1 << 24))
            return ssdc_fail(err, SSDC_ERR_LIMIT, "sgkd: K = %lld is too large", (long long)kt);
        *K = (int)kt;
    } else if (kt >= 0 && kt != *K) {
        return ssdc_fail(err, SSDC_ERR_SHAPE,
                         "sgkd: K = %d was given but teacher features '%s' have %lld in dimension 1",
                         *K, g->tensors[t].name, (long long)kt);
    }
    return SSDC_OK;
}

void sgkd_options_default(sgkd_options *opt)
{
    opt->tau = SGKD_DEFAULT_TAU;
    opt->q = SGKD_DEFAULT_Q;
}

/* dot[b,k] = ReduceSum(Mul(Unsqueeze(s, [1]), t), axes [2], keepdims 0) */
static ssdc_status add_dot(graph_builder *b, int s, int t, int ax1, int ax2, int *dot)
{
    ssdc_status st;
    int s3, prod;
    int in_u[2] = {s, ax1};
    if ((st = graph_builder_op(b, "Unsqueeze", "s_unsqueezed", 2, in_u, &s3, NULL)))
        return st;
    int in_m[2] = {s3, t};
    if ((st = graph_builder_op(b, "Mul", "s_times_t", 2, in_m, &prod, NULL)))
        return st;
    return reduce_sum(b, "dot", prod, ax2, false, dot);
}

ssdc_status sgkd_add_loss(graph *g, int s, int t, int K, const sgkd_options *opt,
                          const char *prefix, int *loss, int *weights, int *kept,
                          ssdc_error *err)
{
    sgkd_options o;
    if (opt)
        o = *opt;
    else
        sgkd_options_default(&o);
    if (!(o.tau > 0.0f) || !isfinite(o.tau))
        return ssdc_fail(err, SSDC_ERR_ARG, "sgkd: the temperature tau must be positive, got %g",
                         (double)o.tau);
    if (!(o.q >= 0.0f && o.q <= 1.0f))
        return ssdc_fail(err, SSDC_ERR_ARG, "sgkd: the quantile q must lie in [0, 1], got %g",
                         (double)o.q);
    ssdc_status st = check_sk(g, s, t, &K, err);
    if (st)
        return st;
    graph_builder bd, *b = &bd;
    if ((st = graph_builder_init(b, g, GRAPH_BUILDER_EXACT, prefix ? prefix : "sgkd/", err)))
        return st;

    /* Position of the quantile among the K ascending weights, computed in
     * float32 as torch.quantile does for float32 input (q * (K - 1)). */
    float pos = o.q * (float)(K - 1);
    int64_t lo = (int64_t)floorf(pos), hi = (int64_t)ceilf(pos);
    if (lo < 0)
        lo = 0;
    if (hi > K - 1)
        hi = K - 1;
    if (lo > hi)
        lo = hi;
    float frac = pos - (float)lo;

    int ax1, ax2, kk, tau;
    int64_t one = 1, two = 2, k64 = K;
    if ((st = graph_builder_const_i64(b, "axis1", &one, 1, &ax1)) ||
        (st = graph_builder_const_i64(b, "axis2", &two, 1, &ax2)) ||
        (st = graph_builder_const_i64(b, "K", &k64, 1, &kk)) ||
        (st = graph_builder_const_f32(b, "tau", o.tau, &tau)))
        return st;

    /* w = Softmax(dot / tau, axis 1) */
    int dot, z, w, node;
    if ((st = add_dot(b, s, t, ax1, ax2, &dot)))
        return st;
    int in_z[2] = {dot, tau};
    if ((st = graph_builder_op(b, "Div", "logits", 2, in_z, &z, NULL)) ||
        (st = graph_builder_op(b, "Softmax", "softmax", 1, &z, &w, &node)) ||
        (st = graph_node_set_int(g, node, "axis", 1, err)))
        return st;

    /* threshold: the q-quantile of each row of w, [B, 1] */
    int sorted_out[2];
    if ((st = graph_builder_tensor(b, "sorted", &sorted_out[0])) ||
        (st = graph_builder_tensor(b, "sorted_indices", &sorted_out[1])))
        return st;
    int in_k[2] = {w, kk};
    if ((st = graph_builder_node(b, "TopK", "sorted", 2, in_k, 2, sorted_out, &node)) ||
        (st = graph_node_set_int(g, node, "axis", 1, err)) ||
        (st = graph_node_set_int(g, node, "largest", 0, err)) ||
        (st = graph_node_set_int(g, node, "sorted", 1, err)))
        return st;
    int sorted = sorted_out[0], ilo, vlo, thr;
    if ((st = graph_builder_const_i64(b, "q_index_lo", &lo, 1, &ilo)))
        return st;
    int in_glo[2] = {sorted, ilo};
    if ((st = graph_builder_op(b, "Gather", hi == lo ? "threshold" : "q_value_lo", 2, in_glo, &vlo,
                               &node)) ||
        (st = graph_node_set_int(g, node, "axis", 1, err)))
        return st;
    if (hi == lo) {
        thr = vlo; /* an integer position: the value itself */
    } else {
        int ihi, vhi, diff, cf, scaled;
        if ((st = graph_builder_const_i64(b, "q_index_hi", &hi, 1, &ihi)))
            return st;
        int in_ghi[2] = {sorted, ihi};
        if ((st = graph_builder_op(b, "Gather", "q_value_hi", 2, in_ghi, &vhi, &node)) ||
            (st = graph_node_set_int(g, node, "axis", 1, err)))
            return st;
        int in_d[2] = {vhi, vlo};
        if ((st = graph_builder_op(b, "Sub", "q_span", 2, in_d, &diff, NULL)))
            return st;
        /* torch's lerp: from below for weights < 0.5, from above otherwise */
        bool below = frac < 0.5f;
        if ((st = graph_builder_const_f32(b, "q_frac", below ? frac : 1.0f - frac, &cf)))
            return st;
        int in_s[2] = {diff, cf};
        if ((st = graph_builder_op(b, "Mul", "q_step", 2, in_s, &scaled, NULL)))
            return st;
        int in_t[2] = {below ? vlo : vhi, scaled};
        if ((st = graph_builder_op(b, below ? "Add" : "Sub", "threshold", 2, in_t, &thr, NULL)))
            return st;
    }

    /* keep w >= thr, zero the rest, renormalise */
    int mask, zero, wk, wsum, wn;
    int in_ge[2] = {w, thr};
    if ((st = graph_builder_op(b, "GreaterOrEqual", "keep", 2, in_ge, &mask, NULL)) ||
        (st = graph_builder_const_f32(b, "zero", 0.0f, &zero)))
        return st;
    int in_wh[3] = {mask, w, zero};
    if ((st = graph_builder_op(b, "Where", "kept_weights", 3, in_wh, &wk, NULL)) ||
        (st = reduce_sum(b, "kept_sum", wk, ax1, true, &wsum)))
        return st;
    int in_n[2] = {wk, wsum};
    if ((st = graph_builder_op(b, "Div", "weights", 2, in_n, &wn, NULL)))
        return st;

    /* target = ReduceSum(Mul(Unsqueeze(wn, [2]), t), axes [1]) */
    int wn3, wt, target;
    int in_u[2] = {wn, ax2};
    if ((st = graph_builder_op(b, "Unsqueeze", "weights_unsqueezed", 2, in_u, &wn3, NULL)))
        return st;
    int in_wt[2] = {wn3, t};
    if ((st = graph_builder_op(b, "Mul", "weighted_t", 2, in_wt, &wt, NULL)) ||
        (st = reduce_sum(b, "target", wt, ax1, false, &target)))
        return st;

    /* L = mean((s - target)^2) over all axes */
    int diff, sq;
    int in_sub[2] = {s, target};
    if ((st = graph_builder_op(b, "Sub", "residual", 2, in_sub, &diff, NULL)))
        return st;
    int in_sq[2] = {diff, diff};
    if ((st = graph_builder_op(b, "Mul", "squared", 2, in_sq, &sq, NULL)) ||
        (st = graph_builder_op(b, "ReduceMean", "loss", 1, &sq, loss, &node)) ||
        (st = graph_node_set_int(g, node, "keepdims", 0, err)))
        return st;

    if (weights)
        *weights = wn;
    if (kept) {
        int maskf;
        if ((st = graph_builder_op(b, "Cast", "keep_float", 1, &mask, &maskf, &node)) ||
            (st = graph_node_set_int(g, node, "to", GRAPH_DT_FLOAT, err)) ||
            (st = reduce_sum(b, "kept", maskf, ax1, false, kept)))
            return st;
    }
    return SSDC_OK;
}

/* L = 1 - mean_{b,k} dot[b,k] / (sqrt(max(|s_b|^2, eps^2)) sqrt(max(|t_bk|^2, eps^2))) */
ssdc_status sgkd_add_cosine_loss(graph *g, int s, int t, int K, const char *prefix, int *loss,
                                 ssdc_error *err)
{
    ssdc_status st = check_sk(g, s, t, &K, err);
    if (st)
        return st;
    graph_builder bd, *b = &bd;
    if ((st = graph_builder_init(b, g, GRAPH_BUILDER_EXACT, prefix ? prefix : "sgkd_cosine/", err)))
        return st;
    int ax1, ax2, eps2, one;
    int64_t i1 = 1, i2 = 2;
    const float eps = 1e-8f;
    if ((st = graph_builder_const_i64(b, "axis1", &i1, 1, &ax1)) ||
        (st = graph_builder_const_i64(b, "axis2", &i2, 1, &ax2)) ||
        (st = graph_builder_const_f32(b, "eps_squared", eps * eps, &eps2)) ||
        (st = graph_builder_const_f32(b, "one", 1.0f, &one)))
        return st;
    int dot;
    if ((st = add_dot(b, s, t, ax1, ax2, &dot)))
        return st;
    /* |s_b| as [B, 1], |t_bk| as [B, K] */
    int ss, s2, s2c, sn, tt, t2, t2c, tn;
    int in_ss[2] = {s, s}, in_tt[2] = {t, t};
    if ((st = graph_builder_op(b, "Mul", "s_squared", 2, in_ss, &ss, NULL)) ||
        (st = reduce_sum(b, "s_norm_squared", ss, ax1, true, &s2)))
        return st;
    int in_sc[2] = {s2, eps2};
    if ((st = graph_builder_op(b, "Max", "s_norm_squared_clamped", 2, in_sc, &s2c, NULL)) ||
        (st = graph_builder_op(b, "Sqrt", "s_norm", 1, &s2c, &sn, NULL)))
        return st;
    if ((st = graph_builder_op(b, "Mul", "t_squared", 2, in_tt, &tt, NULL)) ||
        (st = reduce_sum(b, "t_norm_squared", tt, ax2, false, &t2)))
        return st;
    int in_tc[2] = {t2, eps2};
    if ((st = graph_builder_op(b, "Max", "t_norm_squared_clamped", 2, in_tc, &t2c, NULL)) ||
        (st = graph_builder_op(b, "Sqrt", "t_norm", 1, &t2c, &tn, NULL)))
        return st;
    int den, cosv, mean, node;
    int in_den[2] = {sn, tn};
    if ((st = graph_builder_op(b, "Mul", "norm_product", 2, in_den, &den, NULL)))
        return st;
    int in_cos[2] = {dot, den};
    if ((st = graph_builder_op(b, "Div", "cosine", 2, in_cos, &cosv, NULL)) ||
        (st = graph_builder_op(b, "ReduceMean", "mean_cosine", 1, &cosv, &mean, &node)) ||
        (st = graph_node_set_int(g, node, "keepdims", 0, err)))
        return st;
    int in_l[2] = {one, mean};
    return graph_builder_op(b, "Sub", "loss", 2, in_l, loss, NULL);
}

ssdc_status sgkd_add_mse_loss(graph *g, int s, int t, const char *prefix, int *loss,
                              ssdc_error *err)
{
    ssdc_status st;
    if ((st = check_tensor(g, s, "student feature", 2, err)) ||
        (st = check_tensor(g, t, "teacher feature", 2, err)))
        return st;
    const graph_shape *ss = &g->tensors[s].shape, *ts = &g->tensors[t].shape;
    for (int d = 0; ss->rank == 2 && ts->rank == 2 && d < 2; d++)
        if (ss->dims[d] >= 0 && ts->dims[d] >= 0 && ss->dims[d] != ts->dims[d])
            return fail_dims(g, s, t, "the shapes differ", err);
    graph_builder bd, *b = &bd;
    if ((st = graph_builder_init(b, g, GRAPH_BUILDER_EXACT, prefix ? prefix : "sgkd_mse/", err)))
        return st;
    int diff, sq, node;
    int in_sub[2] = {s, t};
    if ((st = graph_builder_op(b, "Sub", "residual", 2, in_sub, &diff, NULL)))
        return st;
    int in_sq[2] = {diff, diff};
    if ((st = graph_builder_op(b, "Mul", "squared", 2, in_sq, &sq, NULL)) ||
        (st = graph_builder_op(b, "ReduceMean", "loss", 1, &sq, loss, &node)))
        return st;
    return graph_node_set_int(g, node, "keepdims", 0, err);
}

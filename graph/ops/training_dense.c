/* Schemas of the dense training ops: the standard SoftmaxCrossEntropyLoss
 * (opset 12/13) and ssdc's gradient ops of the dense layers (domain ai.ssdc,
 * graph/ops_training.def): ConvGrad, MaxPoolGrad, AveragePoolGrad,
 * GlobalAveragePoolGrad, GlobalMaxPoolGrad, BatchNormalizationGrad,
 * SoftmaxGrad, LogSoftmaxGrad, SoftmaxCrossEntropyLossGrad.
 *
 * A gradient op's output has the shape of the forward tensor it is the
 * gradient of (an input of the gradient op, or derived from one).  Kernels:
 * runtime/kernels/training_dense.c; gradient rules: passes/grad/dense.c. */
#include "graph/ops.h"
#include "graph/ops/window.h"

#include <string.h>

static const char *td_input_name(const graph_infer_ctx *c, int i)
{
    int t = i < c->n_in ? c->node->inputs[i] : -1;
    return t >= 0 && c->g && t < c->g->n_tensors ? c->g->tensors[t].name : "?";
}

static bool td_has_input(const graph_infer_ctx *c, int i)
{
    return i < c->n_in && c->node->inputs[i] >= 0;
}

/* Requires inputs [0, n) to be float (or not yet known). */
static ssdc_status td_check_float(graph_infer_ctx *c, int n, ssdc_error *err)
{
    ssdc_status st;
    for (int i = 0; i < n; i++)
        if ((st = graph_infer_check_dtype(c, i, err, GRAPH_DT_FLOAT, GRAPH_DT_UNDEFINED)))
            return st;
    return SSDC_OK;
}

/* dY must have the shape of the forward output (when both are known). */
static ssdc_status td_check_same(graph_infer_ctx *c, int a, int b, ssdc_error *err)
{
    const graph_shape *sa = &c->in_shape[a], *sb = &c->in_shape[b];
    if (sa->rank < 0 || sb->rank < 0)
        return SSDC_OK;
    bool ok = sa->rank == sb->rank;
    for (int d = 0; ok && d < sa->rank; d++)
        ok = sa->dims[d] < 0 || sb->dims[d] < 0 || sa->dims[d] == sb->dims[d];
    if (ok)
        return SSDC_OK;
    char s1[160], s2[160];
    graph_shape_format(sa, s1, sizeof s1);
    graph_shape_format(sb, s2, sizeof s2);
    return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                             "input %d '%s' has shape %s, expected the shape %s of input %d '%s'",
                             a, td_input_name(c, a), s1, s2, b, td_input_name(c, b));
}

/* ---- ConvGrad(dY, X, W) -> dX?, dW?, dB? ---- */

static ssdc_status convgrad_infer(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st = td_check_float(c, 3, err);
    if (st)
        return st;
    const graph_shape *dy = &c->in_shape[0], *x = &c->in_shape[1], *w = &c->in_shape[2];
    if (x->rank >= 0 && w->rank >= 0 && x->rank != w->rank)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "input 2 '%s' (W) has rank %d, expected %d (the rank of X)",
                                 td_input_name(c, 2), w->rank, x->rank);
    if (dy->rank >= 0 && x->rank >= 0 && dy->rank != x->rank)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "input 0 '%s' (dY) has rank %d, expected %d (the rank of X)",
                                 td_input_name(c, 0), dy->rank, x->rank);
    if (x->rank >= 0 && x->rank < 3)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "input 1 '%s' (X) has rank %d, expected at least 3",
                                 td_input_name(c, 1), x->rank);
    if (graph_shape_is_static(x) && graph_shape_is_static(w) && graph_shape_is_static(dy)) {
        int n = x->rank - 2;
        if (n > GRAPH_WINDOW_MAX_SPATIAL)
            return graph_infer_failf(c, err, SSDC_ERR_UNSUPPORTED,
                                     "%d spatial dimensions, at most %d supported", n,
                                     GRAPH_WINDOW_MAX_SPATIAL);
        graph_window win;
        char msg[512];
        if ((st = graph_window_resolve(c->node, n, x->dims + 2, w->dims + 2, true, &win, msg,
                                       sizeof msg)))
            return graph_infer_failf(c, err, st, "%s", msg);
        bool ok = dy->dims[0] == x->dims[0] && dy->dims[1] == w->dims[0];
        for (int d = 0; ok && d < n; d++)
            ok = dy->dims[2 + d] == win.out[d];
        int64_t group = graph_attr_int(c->node, "group", 1);
        if (group < 1 || w->dims[1] * group != x->dims[1] || w->dims[0] % group)
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                     "W has %lld output and %lld input channels per group, X "
                                     "has %lld channels, group %lld",
                                     (long long)w->dims[0], (long long)w->dims[1],
                                     (long long)x->dims[1], (long long)group);
        if (!ok) {
            char s[160];
            graph_shape_format(dy, s, sizeof s);
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                     "input 0 '%s' (dY) has shape %s, which is not the output "
                                     "shape of the convolution",
                                     td_input_name(c, 0), s);
        }
    }
    for (int o = 0; o < c->n_out && o < 3; o++)
        c->out_dtype[o] = GRAPH_DT_FLOAT;
    if (c->n_out > 0)
        c->out_shape[0] = *x;
    if (c->n_out > 1)
        c->out_shape[1] = *w;
    if (c->n_out > 2 && w->rank >= 1) {
        graph_shape_init(&c->out_shape[2], 1, NULL);
        graph_shape_copy_dim(&c->out_shape[2], 0, w, 0);
    }
    return SSDC_OK;
}

/* dX: 2 MACs per tap of every output (W^T dY), dW: the same again. */
static int64_t convgrad_flops(const graph_infer_ctx *c)
{
    const graph_shape *dy = &c->in_shape[0], *w = &c->in_shape[2];
    if (!graph_shape_is_static(dy) || !graph_shape_is_static(w))
        return 0;
    int64_t per_out = 1, outs = 1;
    for (int d = 1; d < w->rank; d++)
        per_out *= w->dims[d];
    for (int d = 0; d < dy->rank; d++)
        outs *= dy->dims[d];
    int64_t n = 0;
    for (int o = 0; o < c->n_out && o < 2; o++)
        if (c->node->outputs[o] >= 0)
            n += 2 * outs * per_out;
    return n + outs;
}

static const graph_attr_spec convgrad_attrs[] = {
    {"auto_pad", GRAPH_ATTR_STRING}, {"dilations", GRAPH_ATTR_INTS},
    {"group", GRAPH_ATTR_INT},       {"kernel_shape", GRAPH_ATTR_INTS},
    {"pads", GRAPH_ATTR_INTS},       {"strides", GRAPH_ATTR_INTS},
    {NULL, GRAPH_ATTR_UNDEFINED},
};

const graph_op_schema graph_schema_convgrad = {
    .name = "ConvGrad",
    .min_in = 3, .max_in = 3,
    .min_out = 1, .max_out = 3,
    .attrs = convgrad_attrs,
    .infer = convgrad_infer,
    .flops = convgrad_flops,
};

/* ---- MaxPoolGrad / AveragePoolGrad (dY, X) -> dX ---- */

static ssdc_status poolgrad_infer(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st = td_check_float(c, 2, err);
    if (st)
        return st;
    const graph_shape *dy = &c->in_shape[0], *x = &c->in_shape[1];
    if (x->rank >= 0 && (x->rank < 3 || x->rank > GRAPH_WINDOW_MAX_SPATIAL + 2))
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "input 1 '%s' (X) has rank %d, expected 3 to %d",
                                 td_input_name(c, 1), x->rank, GRAPH_WINDOW_MAX_SPATIAL + 2);
    if (graph_shape_is_static(x) && graph_shape_is_static(dy)) {
        graph_window win;
        char msg[512];
        if ((st = graph_window_resolve(c->node, x->rank - 2, x->dims + 2, NULL, true, &win, msg,
                                       sizeof msg)))
            return graph_infer_failf(c, err, st, "%s", msg);
        bool ok = dy->rank == x->rank && dy->dims[0] == x->dims[0] && dy->dims[1] == x->dims[1];
        for (int d = 0; ok && d < x->rank - 2; d++)
            ok = dy->dims[2 + d] == win.out[d];
        if (!ok) {
            char s[160];
            graph_shape_format(dy, s, sizeof s);
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                     "input 0 '%s' (dY) has shape %s, which is not the output "
                                     "shape of the pooling",
                                     td_input_name(c, 0), s);
        }
    }
    c->out_dtype[0] = GRAPH_DT_FLOAT;
    c->out_shape[0] = *x;
    return SSDC_OK;
}

static int64_t poolgrad_flops(const graph_infer_ctx *c)
{
    size_t nk = 0;
    const int64_t *k = graph_attr_ints(c->node, "kernel_shape", &nk);
    const graph_shape *dy = &c->in_shape[0];
    if (!graph_shape_is_static(dy))
        return 0;
    int64_t n = 1;
    for (int d = 0; d < dy->rank; d++)
        n *= dy->dims[d];
    for (size_t i = 0; k && i < nk; i++)
        n *= k[i];
    return n;
}

static const graph_attr_spec maxpoolgrad_attrs[] = {
    {"auto_pad", GRAPH_ATTR_STRING}, {"ceil_mode", GRAPH_ATTR_INT},
    {"dilations", GRAPH_ATTR_INTS},  {"kernel_shape", GRAPH_ATTR_INTS},
    {"pads", GRAPH_ATTR_INTS},       {"storage_order", GRAPH_ATTR_INT},
    {"strides", GRAPH_ATTR_INTS},    {NULL, GRAPH_ATTR_UNDEFINED},
};

static const graph_attr_spec averagepoolgrad_attrs[] = {
    {"auto_pad", GRAPH_ATTR_STRING},       {"ceil_mode", GRAPH_ATTR_INT},
    {"count_include_pad", GRAPH_ATTR_INT}, {"dilations", GRAPH_ATTR_INTS},
    {"kernel_shape", GRAPH_ATTR_INTS},     {"pads", GRAPH_ATTR_INTS},
    {"strides", GRAPH_ATTR_INTS},          {NULL, GRAPH_ATTR_UNDEFINED},
};

const graph_op_schema graph_schema_maxpoolgrad = {
    .name = "MaxPoolGrad",
    .min_in = 2, .max_in = 2,
    .min_out = 1, .max_out = 1,
    .attrs = maxpoolgrad_attrs,
    .infer = poolgrad_infer,
    .flops = poolgrad_flops,
};

const graph_op_schema graph_schema_averagepoolgrad = {
    .name = "AveragePoolGrad",
    .min_in = 2, .max_in = 2,
    .min_out = 1, .max_out = 1,
    .attrs = averagepoolgrad_attrs,
    .infer = poolgrad_infer,
    .flops = poolgrad_flops,
};

/* ---- GlobalAveragePoolGrad / GlobalMaxPoolGrad (dY, X) -> dX ---- */

static ssdc_status globalpoolgrad_infer(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st = td_check_float(c, 2, err);
    if (st)
        return st;
    const graph_shape *dy = &c->in_shape[0], *x = &c->in_shape[1];
    if (x->rank >= 0 && x->rank < 2)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "input 1 '%s' (X) has rank %d, expected at least 2",
                                 td_input_name(c, 1), x->rank);
    if (x->rank >= 0 && dy->rank >= 0) {
        bool ok = dy->rank == x->rank;
        for (int d = 0; ok && d < dy->rank; d++) {
            int64_t want = d < 2 ? x->dims[d] : 1;
            ok = dy->dims[d] < 0 || want < 0 || dy->dims[d] == want;
        }
        if (!ok) {
            char s[160];
            graph_shape_format(dy, s, sizeof s);
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                     "input 0 '%s' (dY) has shape %s, expected [N, C, 1, ...] "
                                     "of X",
                                     td_input_name(c, 0), s);
        }
    }
    c->out_dtype[0] = GRAPH_DT_FLOAT;
    c->out_shape[0] = *x;
    return SSDC_OK;
}

static const graph_attr_spec no_attrs[] = {
    {NULL, GRAPH_ATTR_UNDEFINED},
};

const graph_op_schema graph_schema_globalaveragepoolgrad = {
    .name = "GlobalAveragePoolGrad",
    .min_in = 2, .max_in = 2,
    .min_out = 1, .max_out = 1,
    .attrs = no_attrs,
    .infer = globalpoolgrad_infer,
};

const graph_op_schema graph_schema_globalmaxpoolgrad = {
    .name = "GlobalMaxPoolGrad",
    .min_in = 2, .max_in = 2,
    .min_out = 1, .max_out = 1,
    .attrs = no_attrs,
    .infer = globalpoolgrad_infer,
};

/* ---- BatchNormalizationGrad(dY, X, scale) -> dX?, dScale?, dBias? ---- */

static ssdc_status bngrad_infer(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st = td_check_float(c, 3, err);
    if (st)
        return st;
    if ((st = td_check_same(c, 0, 1, err)))
        return st;
    const graph_shape *x = &c->in_shape[1], *s = &c->in_shape[2];
    if (x->rank >= 0 && x->rank < 2)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "input 1 '%s' (X) has rank %d, expected at least 2 (N x C x ...)",
                                 td_input_name(c, 1), x->rank);
    if (s->rank >= 0 && (s->rank != 1 || (x->rank >= 0 && s->dims[0] >= 0 && x->dims[1] >= 0 &&
                                           s->dims[0] != x->dims[1]))) {
        char sb[160];
        graph_shape_format(s, sb, sizeof sb);
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "input 2 '%s' (scale) has shape %s, expected one value per "
                                 "channel of X",
                                 td_input_name(c, 2), sb);
    }
    for (int o = 0; o < c->n_out && o < 3; o++)
        c->out_dtype[o] = GRAPH_DT_FLOAT;
    if (c->n_out > 0)
        c->out_shape[0] = *x;
    for (int o = 1; o < c->n_out && o < 3; o++) {
        if (s->rank >= 0) {
            c->out_shape[o] = *s;
        } else if (x->rank >= 2) {
            graph_shape_init(&c->out_shape[o], 1, NULL);
            graph_shape_copy_dim(&c->out_shape[o], 0, x, 1);
        }
    }
    return SSDC_OK;
}

static int64_t bngrad_flops(const graph_infer_ctx *c)
{
    const graph_shape *x = &c->in_shape[1];
    if (!graph_shape_is_static(x))
        return 0;
    int64_t n = 1;
    for (int d = 0; d < x->rank; d++)
        n *= x->dims[d];
    return 8 * n;
}

static const graph_attr_spec bngrad_attrs[] = {
    {"epsilon", GRAPH_ATTR_FLOAT},
    {NULL, GRAPH_ATTR_UNDEFINED},
};

const graph_op_schema graph_schema_batchnormalizationgrad = {
    .name = "BatchNormalizationGrad",
    .min_in = 3, .max_in = 3,
    .min_out = 1, .max_out = 3,
    .attrs = bngrad_attrs,
    .infer = bngrad_infer,
    .flops = bngrad_flops,
};

/* ---- SoftmaxGrad / LogSoftmaxGrad (dY, Y) -> dX ---- */

static ssdc_status softmaxgrad_infer(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st = td_check_float(c, 2, err);
    if (st)
        return st;
    if ((st = td_check_same(c, 0, 1, err)))
        return st;
    const graph_shape *y = &c->in_shape[1];
    if (y->rank >= 0) {
        if (y->rank == 0)
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                     "input 1 is a scalar, expected rank >= 1");
        int ax;
        if ((st = graph_infer_axis(c, graph_attr_int(c->node, "axis", -1), y->rank, &ax, err)))
            return st;
    }
    c->out_dtype[0] = GRAPH_DT_FLOAT;
    c->out_shape[0] = *y;
    return SSDC_OK;
}

static int64_t softmaxgrad_flops(const graph_infer_ctx *c)
{
    return 4 * graph_infer_out_numel(c, 0);
}

static const graph_attr_spec softmaxgrad_attrs[] = {
    {"axis", GRAPH_ATTR_INT},
    {NULL, GRAPH_ATTR_UNDEFINED},
};

const graph_op_schema graph_schema_softmaxgrad = {
    .name = "SoftmaxGrad",
    .min_in = 2, .max_in = 2,
    .min_out = 1, .max_out = 1,
    .attrs = softmaxgrad_attrs,
    .infer = softmaxgrad_infer,
    .flops = softmaxgrad_flops,
};

const graph_op_schema graph_schema_logsoftmaxgrad = {
    .name = "LogSoftmaxGrad",
    .min_in = 2, .max_in = 2,
    .min_out = 1, .max_out = 1,
    .attrs = softmaxgrad_attrs,
    .infer = softmaxgrad_infer,
    .flops = softmaxgrad_flops,
};

/* ---- SoftmaxCrossEntropyLoss(scores, labels, weights?) -> loss, log_prob? ---- */

/* Checks the reduction attribute, labels against scores ([N, C, D1..] and
 * [N, D1..]) and weights ([C]). */
static ssdc_status sce_check(graph_infer_ctx *c, int scores, int labels, int weights,
                             ssdc_error *err)
{
    const char *red = graph_attr_string(c->node, "reduction", "mean");
    if (strcmp(red, "mean") && strcmp(red, "sum") && strcmp(red, "none"))
        return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                 "attribute reduction is '%s', expected mean, sum or none", red);
    ssdc_status st = graph_infer_check_dtype(c, labels, err, GRAPH_DT_INT64, GRAPH_DT_INT32,
                                             GRAPH_DT_UNDEFINED);
    if (st)
        return st;
    if (td_has_input(c, weights) &&
        (st = graph_infer_check_dtype(c, weights, err, GRAPH_DT_FLOAT, GRAPH_DT_UNDEFINED)))
        return st;
    const graph_shape *x = &c->in_shape[scores], *l = &c->in_shape[labels];
    if (x->rank >= 0 && x->rank < 2)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "input %d '%s' (scores) has rank %d, expected at least 2 "
                                 "(N x C x ...)",
                                 scores, td_input_name(c, scores), x->rank);
    if (x->rank >= 0 && l->rank >= 0) {
        bool ok = l->rank == x->rank - 1;
        for (int d = 0; ok && d < l->rank; d++) {
            int64_t want = x->dims[d == 0 ? 0 : d + 1];
            ok = l->dims[d] < 0 || want < 0 || l->dims[d] == want;
        }
        if (!ok) {
            char sx[160], sl[160];
            graph_shape_format(x, sx, sizeof sx);
            graph_shape_format(l, sl, sizeof sl);
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                     "input %d '%s' (labels) has shape %s, expected the shape "
                                     "of the scores %s without dimension 1",
                                     labels, td_input_name(c, labels), sl, sx);
        }
    }
    if (td_has_input(c, weights)) {
        const graph_shape *w = &c->in_shape[weights];
        if (w->rank >= 0 && (w->rank != 1 || (x->rank >= 2 && w->dims[0] >= 0 &&
                                              x->dims[1] >= 0 && w->dims[0] != x->dims[1]))) {
            char sw[160];
            graph_shape_format(w, sw, sizeof sw);
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                     "input %d '%s' (weights) has shape %s, expected one weight "
                                     "per class",
                                     weights, td_input_name(c, weights), sw);
        }
    }
    return SSDC_OK;
}

static ssdc_status sce_infer(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st = graph_infer_check_dtype(c, 0, err, GRAPH_DT_FLOAT, GRAPH_DT_UNDEFINED);
    if (st)
        return st;
    if ((st = sce_check(c, 0, 1, 2, err)))
        return st;
    const graph_shape *x = &c->in_shape[0], *l = &c->in_shape[1];
    c->out_dtype[0] = GRAPH_DT_FLOAT;
    if (strcmp(graph_attr_string(c->node, "reduction", "mean"), "none") != 0) {
        graph_shape_init(&c->out_shape[0], 0, NULL);
    } else if (l->rank >= 0) {
        c->out_shape[0] = *l;
    } else if (x->rank >= 2) {
        graph_shape_init(&c->out_shape[0], x->rank - 1, NULL);
        for (int d = 0; d < x->rank - 1; d++)
            graph_shape_copy_dim(&c->out_shape[0], d, x, d == 0 ? 0 : d + 1);
    }
    if (c->n_out > 1) {
        c->out_dtype[1] = GRAPH_DT_FLOAT;
        c->out_shape[1] = *x;
    }
    return SSDC_OK;
}

static int64_t sce_flops(const graph_infer_ctx *c)
{
    const graph_shape *x = &c->in_shape[0];
    if (!graph_shape_is_static(x))
        return 0;
    int64_t n = 1;
    for (int d = 0; d < x->rank; d++)
        n *= x->dims[d];
    return 4 * n;
}

static const graph_attr_spec sce_attrs[] = {
    {"ignore_index", GRAPH_ATTR_INT},
    {"reduction", GRAPH_ATTR_STRING},
    {NULL, GRAPH_ATTR_UNDEFINED},
};

const graph_op_schema graph_schema_softmaxcrossentropyloss = {
    .name = "SoftmaxCrossEntropyLoss",
    .min_in = 2, .max_in = 3,
    .min_out = 1, .max_out = 2,
    .attrs = sce_attrs,
    .infer = sce_infer,
    .flops = sce_flops,
};

/* ---- SoftmaxCrossEntropyLossGrad(dLoss, log_prob, labels, weights?) -> dScores ---- */

static ssdc_status scegrad_infer(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st = td_check_float(c, 2, err);
    if (st)
        return st;
    if ((st = sce_check(c, 1, 2, 3, err)))
        return st;
    const graph_shape *dl = &c->in_shape[0], *l = &c->in_shape[2];
    bool none = !strcmp(graph_attr_string(c->node, "reduction", "mean"), "none");
    if (dl->rank >= 0) {
        bool ok;
        if (none) {
            ok = l->rank < 0 || dl->rank == l->rank;
            for (int d = 0; ok && l->rank >= 0 && d < l->rank; d++)
                ok = dl->dims[d] < 0 || l->dims[d] < 0 || dl->dims[d] == l->dims[d];
        } else {
            ok = true;
            for (int d = 0; d < dl->rank; d++)
                ok = ok && dl->dims[d] == 1;
        }
        if (!ok) {
            char s[160];
            graph_shape_format(dl, s, sizeof s);
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                     "input 0 '%s' (dLoss) has shape %s, expected %s",
                                     td_input_name(c, 0), s,
                                     none ? "the shape of the labels" : "a scalar");
        }
    }
    c->out_dtype[0] = GRAPH_DT_FLOAT;
    c->out_shape[0] = c->in_shape[1];
    return SSDC_OK;
}

static int64_t scegrad_flops(const graph_infer_ctx *c)
{
    return 3 * graph_infer_out_numel(c, 0);
}

const graph_op_schema graph_schema_softmaxcrossentropylossgrad = {
    .name = "SoftmaxCrossEntropyLossGrad",
    .min_in = 3, .max_in = 4,
    .min_out = 1, .max_out = 1,
    .attrs = sce_attrs,
    .infer = scegrad_infer,
    .flops = scegrad_flops,
};

/* Conv schema, and the sliding-window geometry shared with the pools
 * (graph/ops/window.h). */
#include "graph/ops.h"
#include "graph/ops/window.h"

#include <stdio.h>
#include <string.h>

/* Reads an INTS attribute of exactly n positive (or, for pads, non-negative)
 * entries, none above SSDC_MAX_TENSOR_ELEMS (so the window arithmetic below
 * cannot overflow), into dst; absent: dst keeps its defaults. */
static bool window_read_ints(const graph_node *node, const char *name, size_t n, int64_t min,
                             int64_t *dst, char *msg, size_t size)
{
    const graph_attr *a = graph_node_attr(node, name);
    if (!a)
        return true;
    if (a->type != GRAPH_ATTR_INTS) {
        snprintf(msg, size, "attribute %s must be a list of ints", name);
        return false;
    }
    if (a->n != n) {
        snprintf(msg, size, "attribute %s has %zu values, expected %zu", name, a->n, n);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (a->ints[i] < min) {
            snprintf(msg, size, "attribute %s[%zu] is %lld, expected at least %lld", name, i,
                     (long long)a->ints[i], (long long)min);
            return false;
        }
        if (a->ints[i] > SSDC_MAX_TENSOR_ELEMS) {
            snprintf(msg, size, "attribute %s[%zu] is %lld, at most %lld supported", name, i,
                     (long long)a->ints[i], (long long)SSDC_MAX_TENSOR_ELEMS);
            return false;
        }
        dst[i] = a->ints[i];
    }
    return true;
}

ssdc_status graph_window_resolve(const graph_node *node, int n, const int64_t *in,
                                 const int64_t *weight_kernel, bool use_dilation,
                                 graph_window *w, char *msg, size_t msg_size)
{
    memset(w, 0, sizeof *w);
    if (n < 1 || n > GRAPH_MAX_RANK - 2) {
        snprintf(msg, msg_size, "%d spatial dimensions, expected 1 to %d", n, GRAPH_MAX_RANK - 2);
        return SSDC_ERR_SHAPE;
    }
    w->n = n;
    int64_t pads[2 * GRAPH_MAX_RANK];
    for (int d = 0; d < n; d++) {
        if (in[d] > SSDC_MAX_TENSOR_ELEMS ||
            (weight_kernel && weight_kernel[d] > SSDC_MAX_TENSOR_ELEMS)) {
            snprintf(msg, msg_size,
                     "spatial dimension %d of the input (%lld) or the kernel (%lld) is above "
                     "%lld",
                     d, (long long)in[d], (long long)(weight_kernel ? weight_kernel[d] : -1),
                     (long long)SSDC_MAX_TENSOR_ELEMS);
            return SSDC_ERR_LIMIT;
        }
        w->in[d] = in[d];
        w->kernel[d] = weight_kernel ? weight_kernel[d] : -1;
        w->stride[d] = 1;
        w->dilation[d] = 1;
        pads[d] = pads[d + n] = 0;
    }
    bool has_kernel = graph_node_attr(node, "kernel_shape") != NULL;
    if (!has_kernel && !weight_kernel) {
        snprintf(msg, msg_size, "attribute kernel_shape is required");
        return SSDC_ERR_INVALID;
    }
    if (!window_read_ints(node, "kernel_shape", (size_t)n, 1, w->kernel, msg, msg_size) ||
        !window_read_ints(node, "strides", (size_t)n, 1, w->stride, msg, msg_size) ||
        (use_dilation &&
         !window_read_ints(node, "dilations", (size_t)n, 1, w->dilation, msg, msg_size)) ||
        !window_read_ints(node, "pads", 2 * (size_t)n, 0, pads, msg, msg_size))
        return SSDC_ERR_INVALID;
    if (has_kernel && weight_kernel) {
        for (int d = 0; d < n; d++)
            if (weight_kernel[d] >= 0 && weight_kernel[d] != w->kernel[d]) {
                snprintf(msg, msg_size,
                         "attribute kernel_shape[%d] is %lld but input 1 (W) has spatial "
                         "dimension %lld there",
                         d, (long long)w->kernel[d], (long long)weight_kernel[d]);
                return SSDC_ERR_SHAPE;
            }
    }
    const char *auto_pad = graph_attr_string(node, "auto_pad", "NOTSET");
    bool same_upper = !strcmp(auto_pad, "SAME_UPPER");
    bool same_lower = !strcmp(auto_pad, "SAME_LOWER");
    bool valid = !strcmp(auto_pad, "VALID");
    if (!same_upper && !same_lower && !valid && strcmp(auto_pad, "NOTSET") != 0) {
        snprintf(msg, msg_size,
                 "attribute auto_pad is '%s', expected NOTSET, SAME_UPPER, SAME_LOWER or VALID",
                 auto_pad);
        return SSDC_ERR_INVALID;
    }
    int64_t ceil_mode = graph_attr_int(node, "ceil_mode", 0);
    if (ceil_mode != 0 && ceil_mode != 1) {
        snprintf(msg, msg_size, "attribute ceil_mode is %lld, expected 0 or 1",
                 (long long)ceil_mode);
        return SSDC_ERR_INVALID;
    }
    /* taps per window: the kernels loop over them for every output (and
     * graph_window_to3 multiplies them), so their product is bounded too */
    int64_t taps = 1;
    for (int d = 0; d < n; d++)
        if (w->kernel[d] > 0 &&
            (graph_mul_overflow(taps, w->kernel[d], &taps) || taps > SSDC_MAX_TENSOR_ELEMS)) {
            snprintf(msg, msg_size, "the kernel has more than %lld elements",
                     (long long)SSDC_MAX_TENSOR_ELEMS);
            return SSDC_ERR_LIMIT;
        }
    for (int d = 0; d < n; d++) {
        int64_t k = w->kernel[d], s = w->stride[d], dil = w->dilation[d], x = w->in[d];
        /* every operand is at most 2^31 (checked above): no overflow here */
        int64_t eff = k < 0 ? -1 : (k - 1) * dil + 1;
        if (eff > SSDC_MAX_TENSOR_ELEMS) {
            snprintf(msg, msg_size,
                     "window of %lld (kernel %lld, dilation %lld) in spatial dimension %d is "
                     "above %lld",
                     (long long)eff, (long long)k, (long long)dil, d,
                     (long long)SSDC_MAX_TENSOR_ELEMS);
            return SSDC_ERR_LIMIT;
        }
        w->out[d] = -1;
        if (same_upper || same_lower) {
            /* output = ceil(in / stride); the padding that needs is split with
             * the odd element at the end (SAME_UPPER) or the beginning. */
            w->same_as_input[d] = s == 1;
            if (x < 0 || k < 0)
                continue;
            int64_t out = (x + s - 1) / s;
            int64_t need = (out - 1) * s + eff - x;
            if (need < 0)
                need = 0;
            w->pad_begin[d] = same_upper ? need / 2 : need - need / 2;
            w->pad_end[d] = need - w->pad_begin[d];
            w->out[d] = out;
            continue;
        }
        if (!valid) {
            w->pad_begin[d] = pads[d];
            w->pad_end[d] = pads[d + n];
        }
        if (k < 0)
            continue;
        w->same_as_input[d] = s == 1 && w->pad_begin[d] + w->pad_end[d] == eff - 1;
        if (x < 0)
            continue;
        int64_t span = x + w->pad_begin[d] + w->pad_end[d] - eff;
        if (span < 0) {
            snprintf(msg, msg_size,
                     "window of %lld (kernel %lld, dilation %lld) is larger than the padded "
                     "input %lld in spatial dimension %d",
                     (long long)eff, (long long)k, (long long)dil,
                     (long long)(x + w->pad_begin[d] + w->pad_end[d]), d);
            return SSDC_ERR_SHAPE;
        }
        int64_t out = span / s + 1;
        if (ceil_mode) {
            out = (span + s - 1) / s + 1;
            /* the last window must start inside the input or its begin pad */
            if ((out - 1) * s >= x + w->pad_begin[d])
                out--;
        }
        w->out[d] = out;
    }
    return SSDC_OK;
}

/* ---- Conv ---- */

static const char *conv_input_name(const graph_infer_ctx *c, int i)
{
    int t = i < c->n_in ? c->node->inputs[i] : -1;
    return t >= 0 && c->g && t < c->g->n_tensors ? c->g->tensors[t].name : "?";
}

static ssdc_status conv_infer(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st;
    for (int i = 0; i < c->n_in && i < 3; i++) {
        if (i == 2 && c->node->inputs[i] < 0)
            continue;
        if ((st = graph_infer_check_dtype(c, i, err, GRAPH_DT_FLOAT, GRAPH_DT_UNDEFINED)))
            return st;
    }
    c->out_dtype[0] = GRAPH_DT_FLOAT;
    const graph_shape *x = &c->in_shape[0], *wt = &c->in_shape[1];
    const graph_shape *b = c->n_in > 2 && c->node->inputs[2] >= 0 ? &c->in_shape[2] : NULL;
    int64_t group = graph_attr_int(c->node, "group", 1);
    if (group < 1)
        return graph_infer_failf(c, err, SSDC_ERR_INVALID, "attribute group is %lld, expected >= 1",
                                 (long long)group);
    if (x->rank >= 0 && x->rank < 3)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "input 0 '%s' has rank %d, expected at least 3 (N x C x D1 ...)",
                                 conv_input_name(c, 0), x->rank);
    if (wt->rank >= 0 && wt->rank < 3)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "input 1 '%s' has rank %d, expected at least 3 (M x C/group x "
                                 "k1 ...)",
                                 conv_input_name(c, 1), wt->rank);
    if (x->rank >= 0 && wt->rank >= 0 && x->rank != wt->rank)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "input 1 '%s' has rank %d, expected %d (the rank of input 0 '%s')",
                                 conv_input_name(c, 1), wt->rank, x->rank, conv_input_name(c, 0));
    int rank = x->rank >= 0 ? x->rank : wt->rank;
    if (rank < 0)
        return SSDC_OK;
    int n = rank - 2;
    if (n > GRAPH_WINDOW_MAX_SPATIAL)
        return graph_infer_failf(c, err, SSDC_ERR_UNSUPPORTED,
                                 "%d spatial dimensions, at most %d supported", n,
                                 GRAPH_WINDOW_MAX_SPATIAL);
    int64_t chans = x->rank >= 0 ? x->dims[1] : -1;
    int64_t m = wt->rank >= 0 ? wt->dims[0] : -1;
    int64_t cpg = wt->rank >= 0 ? wt->dims[1] : -1;
    if (chans >= 0 && chans % group)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "input 0 '%s' has %lld channels, not divisible by group %lld",
                                 conv_input_name(c, 0), (long long)chans, (long long)group);
    if (m >= 0 && m % group)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "input 1 '%s' has %lld output channels, not divisible by group "
                                 "%lld",
                                 conv_input_name(c, 1), (long long)m, (long long)group);
    if (chans >= 0 && cpg >= 0 && cpg * group != chans)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "input 1 '%s' has %lld channels per group, expected %lld (input "
                                 "channels %lld / group %lld)",
                                 conv_input_name(c, 1), (long long)cpg,
                                 (long long)(chans / group), (long long)chans, (long long)group);
    if (b && b->rank >= 0) {
        if (b->rank != 1 || (m >= 0 && b->dims[0] >= 0 && b->dims[0] != m)) {
            char sb[128];
            graph_shape_format(b, sb, sizeof sb);
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                     "input 2 '%s' has shape %s, expected [%lld] (one bias per "
                                     "output channel)",
                                     conv_input_name(c, 2), sb, (long long)m);
        }
    }
    int64_t in[GRAPH_MAX_RANK], kern[GRAPH_MAX_RANK];
    for (int d = 0; d < n; d++) {
        in[d] = x->rank >= 0 ? x->dims[2 + d] : -1;
        kern[d] = wt->rank >= 0 ? wt->dims[2 + d] : -1;
    }
    graph_window w;
    char msg[512];
    if ((st = graph_window_resolve(c->node, n, in, kern, true, &w, msg, sizeof msg)))
        return graph_infer_failf(c, err, st, "%s", msg);

    graph_shape *o = &c->out_shape[0];
    graph_shape_init(o, rank, NULL);
    for (int d = 0; d < rank; d++)
        o->dims[d] = -1;
    if (x->rank >= 0)
        graph_shape_copy_dim(o, 0, x, 0);
    if (wt->rank >= 0)
        graph_shape_copy_dim(o, 1, wt, 0);
    else if (b && b->rank == 1)
        graph_shape_copy_dim(o, 1, b, 0);
    for (int d = 0; d < n; d++) {
        if (w.out[d] >= 0)
            o->dims[2 + d] = w.out[d];
        else if (w.same_as_input[d] && x->rank >= 0)
            graph_shape_copy_dim(o, 2 + d, x, 2 + d);
    }
    return SSDC_OK;
}

static int64_t conv_flops(const graph_infer_ctx *c)
{
    const graph_shape *wt = &c->in_shape[1];
    if (!graph_shape_is_static(wt))
        return 0;
    int64_t macs_per_out = 1;
    for (int d = 1; d < wt->rank; d++)
        macs_per_out *= wt->dims[d];
    return 2 * graph_infer_out_numel(c, 0) * macs_per_out;
}

static const graph_attr_spec conv_attrs[] = {
    {"auto_pad", GRAPH_ATTR_STRING}, {"dilations", GRAPH_ATTR_INTS},
    {"group", GRAPH_ATTR_INT},       {"kernel_shape", GRAPH_ATTR_INTS},
    {"pads", GRAPH_ATTR_INTS},       {"strides", GRAPH_ATTR_INTS},
    {NULL, GRAPH_ATTR_UNDEFINED},
};

const graph_op_schema graph_schema_conv = {
    .name = "Conv",
    .min_in = 2, .max_in = 3,
    .min_out = 1, .max_out = 1,
    .attrs = conv_attrs,
    .infer = conv_infer,
    .flops = conv_flops,
};

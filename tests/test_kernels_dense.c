/* Dense ops (Conv, Gemm, MatMul, MaxPool, AveragePool, GlobalAveragePool,
 * GlobalMaxPool, BatchNormalization, PRelu, Softmax, LogSoftmax): schema
 * shape inference (symbolic dims, error messages, FLOPs) and kernels called
 * directly, compared with naive reference implementations written here from
 * the ONNX operator spec over many attribute combinations. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "graph/ops.h"
#include "runtime/kernel.h"

#define MAX_IO 6

/* ---------------------------------------------------------------- helpers */

typedef struct {
    uint64_t s;
} rng;

static uint32_t rng_next(rng *r)
{
    r->s = r->s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(r->s >> 33);
}

/* Uniform integer in [lo, hi]. */
static int rng_int(rng *r, int lo, int hi)
{
    return lo + (int)(rng_next(r) % (uint32_t)(hi - lo + 1));
}

static float rng_float(rng *r)
{
    return (float)rng_next(r) / 2147483648.0f - 1.0f;
}

static float *rand_floats(rng *r, int64_t n)
{
    float *p = malloc((size_t)(n ? n : 1) * sizeof *p);
    for (int64_t i = 0; i < n; i++)
        p[i] = rng_float(r);
    return p;
}

static int64_t prod(const int64_t *d, int n)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        p *= d[i];
    return p;
}

/* One node in its own graph, with concrete input values. */
typedef struct {
    graph *g;
    int node;
    int n_in, n_out;
    int in_t[MAX_IO];
    graph_value in[MAX_IO];
    graph_value out[MAX_IO];
    graph_dtype out_dtype[MAX_IO];
    graph_shape out_shape[MAX_IO];
    void *scratch;
    size_t scratch_bytes;
    ssdc_error err;
} op_case;

static void case_begin(op_case *c, int64_t opset)
{
    memset(c, 0, sizeof *c);
    c->g = graph_new();
    cr_assert_not_null(c->g);
    c->g->opset = opset;
}

static void case_input_shape(op_case *c, graph_dtype dt, const graph_shape *s)
{
    char name[16];
    snprintf(name, sizeof name, "in%d", c->n_in);
    int t;
    cr_assert_eq(graph_add_tensor(c->g, name, dt, s, GRAPH_TENSOR_INPUT, &t, &c->err), SSDC_OK,
                 "%s", c->err.msg);
    c->in_t[c->n_in] = t;
    if (s && s->rank >= 0)
        graph_value_set_shape(&c->in[c->n_in], dt, s->rank, s->dims);
    c->n_in++;
}

/* Input with a concrete value (data is not copied). */
static void case_input(op_case *c, graph_dtype dt, int rank, const int64_t *dims, void *data)
{
    graph_shape s;
    graph_shape_init(&s, rank, dims);
    case_input_shape(c, dt, &s);
    c->in[c->n_in - 1].data = data;
}

static void case_input_none(op_case *c)
{
    c->in_t[c->n_in] = -1;
    memset(&c->in[c->n_in], 0, sizeof c->in[0]);
    c->n_in++;
}

static void case_node(op_case *c, const char *op, int n_out)
{
    int outs[MAX_IO];
    for (int o = 0; o < n_out; o++) {
        char name[16];
        snprintf(name, sizeof name, "out%d", o);
        cr_assert_eq(graph_add_tensor(c->g, name, GRAPH_DT_UNDEFINED, NULL,
                                      GRAPH_TENSOR_INTERMEDIATE, &outs[o], &c->err),
                     SSDC_OK, "%s", c->err.msg);
    }
    c->n_out = n_out;
    cr_assert_eq(graph_add_node(c->g, "n", op, "", c->n_in, c->in_t, n_out, outs, &c->node,
                                &c->err),
                 SSDC_OK, "%s", c->err.msg);
    cr_assert_geq(c->g->nodes[c->node].op, 0, "op %s is not registered", op);
}

static graph_node *case_get_node(op_case *c)
{
    return &c->g->nodes[c->node];
}

static void case_int(op_case *c, const char *name, int64_t v)
{
    cr_assert_eq(graph_node_set_int(c->g, c->node, name, v, &c->err), SSDC_OK);
}

static void case_float(op_case *c, const char *name, float v)
{
    cr_assert_eq(graph_node_set_float(c->g, c->node, name, v, &c->err), SSDC_OK);
}

static void case_string(op_case *c, const char *name, const char *v)
{
    cr_assert_eq(graph_node_set_string(c->g, c->node, name, v, &c->err), SSDC_OK);
}

static void case_ints(op_case *c, const char *name, const int64_t *v, int n)
{
    cr_assert_eq(graph_node_set_ints(c->g, c->node, name, v, (size_t)n, &c->err), SSDC_OK);
}

static ssdc_status case_infer(op_case *c)
{
    graph_dtype idt[MAX_IO];
    graph_shape ish[MAX_IO];
    const graph_value *ival[MAX_IO] = {0};
    for (int i = 0; i < c->n_in; i++) {
        if (c->in_t[i] < 0) {
            idt[i] = GRAPH_DT_UNDEFINED;
            graph_shape_unknown(&ish[i]);
        } else {
            idt[i] = c->g->tensors[c->in_t[i]].dtype;
            ish[i] = c->g->tensors[c->in_t[i]].shape;
        }
    }
    /* garbage in the output slots: inference must set what it reports */
    for (int o = 0; o < c->n_out; o++) {
        c->out_dtype[o] = GRAPH_DT_STRING;
        graph_shape_init(&c->out_shape[o], 7, NULL);
    }
    return graph_infer_node(c->g, case_get_node(c), idt, ish, ival, c->out_dtype, c->out_shape,
                            &c->err);
}

/* Infers, allocates the outputs with the inferred (static) shapes, filled
 * with 0xff bytes (NaN for float) to catch unwritten elements, and runs the
 * kernel with scratch of the size it asked for (filled with garbage). */
static ssdc_status case_run(op_case *c)
{
    ssdc_status st = case_infer(c);
    if (st)
        return st;
    const graph_node *node = case_get_node(c);
    for (int o = 0; o < c->n_out; o++) {
        cr_assert(graph_shape_is_static(&c->out_shape[o]), "output %d shape is not static", o);
        graph_value_set_shape(&c->out[o], c->out_dtype[o], c->out_shape[o].rank,
                              c->out_shape[o].dims);
        size_t bytes = graph_value_bytes(&c->out[o]);
        c->out[o].data = malloc(bytes + 8);
        memset(c->out[o].data, 0xff, bytes + 8);
    }
    const rt_kernel *k = rt_kernel_get(node->op);
    cr_assert_not_null(k, "no kernel for %s", node->op_type);
    c->scratch_bytes = k->scratch ? k->scratch(node, c->in, c->n_in, c->out, c->n_out) : 0;
    size_t alloc = (c->scratch_bytes + 127) / 64 * 64;
    c->scratch = aligned_alloc(64, alloc);
    memset(c->scratch, 0x5a, alloc);
    rt_kernel_ctx ctx = {
        .g = c->g, .node = node, .scratch = c->scratch, .scratch_bytes = c->scratch_bytes,
    };
    return k->forward(&ctx, c->in, c->n_in, c->out, c->n_out, &c->err);
}

static void case_end(op_case *c)
{
    for (int o = 0; o < c->n_out; o++)
        free(c->out[o].data);
    free(c->scratch);
    graph_free(c->g);
}

static void expect_close(const float *got, const float *want, int64_t n, const char *what)
{
    for (int64_t i = 0; i < n; i++) {
        float tol = 1e-4f + 1e-4f * fabsf(want[i]);
        bool ok = fabsf(got[i] - want[i]) <= tol || (isinf(want[i]) && got[i] == want[i]);
        if (!ok)
            cr_assert_fail("%s: element %lld is %.7g, expected %.7g", what, (long long)i,
                           (double)got[i], (double)want[i]);
    }
}

static void expect_dims(const graph_value *v, int rank, const int64_t *dims, const char *what)
{
    cr_assert_eq(v->rank, rank, "%s: rank %d, expected %d", what, v->rank, rank);
    for (int d = 0; d < rank; d++)
        cr_assert_eq(v->dims[d], dims[d], "%s: dim %d is %lld, expected %lld", what, d,
                     (long long)v->dims[d], (long long)dims[d]);
}

/* ------------------------------------------------------ reference windows */

/* Window geometry from the ONNX spec, written independently of
 * graph/ops/window.h. */
typedef struct {
    int n;
    int64_t in[3], k[3], s[3], d[3], pb[3], pe[3], out[3];
} ref_win;

typedef enum { PAD_EXPLICIT, PAD_NONE, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID } pad_mode;

static const char *pad_mode_name(pad_mode m)
{
    switch (m) {
    case PAD_SAME_UPPER: return "SAME_UPPER";
    case PAD_SAME_LOWER: return "SAME_LOWER";
    case PAD_VALID: return "VALID";
    default: return "NOTSET";
    }
}

/* false when the window does not fit the padded input */
static bool ref_win_make(ref_win *w, pad_mode mode, bool ceil_mode, const int64_t *pads)
{
    for (int i = 0; i < w->n; i++) {
        int64_t ek = (w->k[i] - 1) * w->d[i] + 1;
        if (mode == PAD_SAME_UPPER || mode == PAD_SAME_LOWER) {
            w->out[i] = (int64_t)ceil((double)w->in[i] / (double)w->s[i]);
            int64_t total = (w->out[i] - 1) * w->s[i] + ek - w->in[i];
            if (total < 0)
                total = 0;
            w->pb[i] = mode == PAD_SAME_UPPER ? total / 2 : (total + 1) / 2;
            w->pe[i] = total - w->pb[i];
            continue;
        }
        w->pb[i] = mode == PAD_EXPLICIT ? pads[i] : 0;
        w->pe[i] = mode == PAD_EXPLICIT ? pads[w->n + i] : 0;
        double span = (double)(w->in[i] + w->pb[i] + w->pe[i] - ek);
        if (span < 0)
            return false;
        if (ceil_mode) {
            w->out[i] = (int64_t)ceil(span / (double)w->s[i]) + 1;
            if ((w->out[i] - 1) * w->s[i] >= w->in[i] + w->pb[i])
                w->out[i]--;
        } else {
            w->out[i] = (int64_t)floor(span / (double)w->s[i]) + 1;
        }
    }
    return true;
}

/* Decodes flat index f into a row-major multi-index over dims[0..n). */
static void unflatten(int64_t f, const int64_t *dims, int n, int64_t *idx)
{
    for (int i = n - 1; i >= 0; i--) {
        idx[i] = f % dims[i];
        f /= dims[i];
    }
}

/* Input position of output position o and kernel offset k; false if outside
 * the input (in the padding).  Writes the row-major flat spatial index. */
static bool ref_win_input(const ref_win *w, const int64_t *o, const int64_t *k, int64_t *flat)
{
    int64_t f = 0;
    for (int i = 0; i < w->n; i++) {
        int64_t p = o[i] * w->s[i] - w->pb[i] + k[i] * w->d[i];
        if (p < 0 || p >= w->in[i])
            return false;
        f = f * w->in[i] + p;
    }
    *flat = f;
    return true;
}

/* ------------------------------------------------------------------- Conv */

static void ref_conv(const ref_win *w, int64_t batch, int64_t chans, int64_t m_out,
                     int64_t group, const float *x, const float *wt, const float *b, float *y)
{
    int64_t in_sz = prod(w->in, w->n), out_sz = prod(w->out, w->n), k_sz = prod(w->k, w->n);
    int64_t cpg = chans / group, mpg = m_out / group;
    for (int64_t n = 0; n < batch; n++)
        for (int64_t m = 0; m < m_out; m++) {
            int64_t g = m / mpg;
            for (int64_t op = 0; op < out_sz; op++) {
                int64_t oi[3], ki[3], flat;
                unflatten(op, w->out, w->n, oi);
                double acc = b ? b[m] : 0.0;
                for (int64_t c = 0; c < cpg; c++)
                    for (int64_t kp = 0; kp < k_sz; kp++) {
                        unflatten(kp, w->k, w->n, ki);
                        if (!ref_win_input(w, oi, ki, &flat))
                            continue;
                        acc += (double)x[(n * chans + g * cpg + c) * in_sz + flat] *
                               (double)wt[(m * cpg + c) * k_sz + kp];
                    }
                y[(n * m_out + m) * out_sz + op] = (float)acc;
            }
        }
}

typedef struct {
    int nsp;
    int64_t batch, chans, m, group;
    int64_t in[3], k[3], s[3], d[3], pads[6];
    pad_mode mode;
    bool bias, kernel_attr, strides_attr, dilations_attr;
} conv_cfg;

/* Runs one Conv configuration against the reference; returns false if the
 * configuration is invalid (and checks that inference rejects it). */
static bool conv_check(rng *r, const conv_cfg *cfg)
{
    ref_win w = {.n = cfg->nsp};
    for (int i = 0; i < cfg->nsp; i++) {
        w.in[i] = cfg->in[i];
        w.k[i] = cfg->k[i];
        w.s[i] = cfg->s[i];
        w.d[i] = cfg->d[i];
    }
    bool fits = ref_win_make(&w, cfg->mode, false, cfg->pads);
    int rank = cfg->nsp + 2;
    int64_t xd[5] = {cfg->batch, cfg->chans}, wd[5] = {cfg->m, cfg->chans / cfg->group};
    for (int i = 0; i < cfg->nsp; i++) {
        xd[2 + i] = cfg->in[i];
        wd[2 + i] = cfg->k[i];
    }
    float *x = rand_floats(r, prod(xd, rank)), *wt = rand_floats(r, prod(wd, rank));
    float *b = rand_floats(r, cfg->m);
    op_case c;
    case_begin(&c, 13);
    case_input(&c, GRAPH_DT_FLOAT, rank, xd, x);
    case_input(&c, GRAPH_DT_FLOAT, rank, wd, wt);
    if (cfg->bias) {
        int64_t bd[1] = {cfg->m};
        case_input(&c, GRAPH_DT_FLOAT, 1, bd, b);
    }
    case_node(&c, "Conv", 1);
    if (cfg->group != 1 || rng_int(r, 0, 1))
        case_int(&c, "group", cfg->group);
    if (cfg->kernel_attr)
        case_ints(&c, "kernel_shape", cfg->k, cfg->nsp);
    if (cfg->strides_attr)
        case_ints(&c, "strides", cfg->s, cfg->nsp);
    if (cfg->dilations_attr)
        case_ints(&c, "dilations", cfg->d, cfg->nsp);
    if (cfg->mode == PAD_EXPLICIT)
        case_ints(&c, "pads", cfg->pads, 2 * cfg->nsp);
    else if (cfg->mode != PAD_NONE || rng_int(r, 0, 1))
        case_string(&c, "auto_pad", pad_mode_name(cfg->mode));
    char what[256];
    snprintf(what, sizeof what,
             "conv %dD N=%lld C=%lld M=%lld group=%lld in=[%lld,%lld,%lld] k=[%lld,%lld,%lld] "
             "s=[%lld,%lld,%lld] d=[%lld,%lld,%lld] %s pads=[%lld,%lld,%lld,%lld,%lld,%lld] "
             "bias=%d",
             cfg->nsp, (long long)cfg->batch, (long long)cfg->chans, (long long)cfg->m,
             (long long)cfg->group, (long long)w.in[0], (long long)w.in[1], (long long)w.in[2],
             (long long)w.k[0], (long long)w.k[1], (long long)w.k[2], (long long)w.s[0],
             (long long)w.s[1], (long long)w.s[2], (long long)w.d[0], (long long)w.d[1],
             (long long)w.d[2], pad_mode_name(cfg->mode), (long long)cfg->pads[0],
             (long long)cfg->pads[1], (long long)cfg->pads[2], (long long)cfg->pads[3],
             (long long)cfg->pads[4], (long long)cfg->pads[5], cfg->bias);
    ssdc_status st = case_run(&c);
    if (!fits) {
        cr_assert_eq(st, SSDC_ERR_SHAPE, "%s: expected a shape error, got %d (%s)", what, st,
                     c.err.msg);
    } else {
        cr_assert_eq(st, SSDC_OK, "%s: %s", what, c.err.msg);
        int64_t yd[5] = {cfg->batch, cfg->m};
        for (int i = 0; i < cfg->nsp; i++)
            yd[2 + i] = w.out[i];
        expect_dims(&c.out[0], rank, yd, what);
        float *want = malloc((size_t)prod(yd, rank) * sizeof *want + 4);
        ref_conv(&w, cfg->batch, cfg->chans, cfg->m, cfg->group, x, wt, cfg->bias ? b : NULL,
                 want);
        expect_close(c.out[0].data, want, prod(yd, rank), what);
        free(want);
    }
    case_end(&c);
    free(x), free(wt), free(b);
    return fits;
}

static void conv_random_cfg(rng *r, conv_cfg *cfg, int nsp)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->nsp = nsp;
    cfg->batch = rng_int(r, 1, 2);
    int kind = rng_int(r, 0, 3);
    if (kind == 0) { /* depthwise, channel multiplier 1 or 2 */
        cfg->group = rng_int(r, 2, 4);
        cfg->chans = cfg->group;
        cfg->m = cfg->group * rng_int(r, 1, 2);
    } else if (kind == 1) { /* grouped */
        cfg->group = rng_int(r, 2, 3);
        cfg->chans = cfg->group * rng_int(r, 1, 3);
        cfg->m = cfg->group * rng_int(r, 1, 3);
    } else {
        cfg->group = 1;
        cfg->chans = rng_int(r, 1, 4);
        cfg->m = rng_int(r, 1, 5);
    }
    int max_in = nsp == 3 ? 5 : nsp == 2 ? 8 : 12;
    for (int i = 0; i < nsp; i++) {
        cfg->in[i] = rng_int(r, 1, max_in);
        cfg->k[i] = rng_int(r, 1, 3);
        cfg->s[i] = rng_int(r, 1, 3);
        cfg->d[i] = rng_int(r, 1, 2);
        cfg->pads[i] = rng_int(r, 0, 2);
        cfg->pads[nsp + i] = rng_int(r, 0, 2);
    }
    cfg->mode = (pad_mode)rng_int(r, 0, 4);
    cfg->bias = rng_int(r, 0, 1);
    cfg->kernel_attr = rng_int(r, 0, 1);
    bool unit_s = true, unit_d = true;
    for (int i = 0; i < nsp; i++) {
        unit_s = unit_s && cfg->s[i] == 1;
        unit_d = unit_d && cfg->d[i] == 1;
    }
    cfg->strides_attr = !unit_s || rng_int(r, 0, 1);
    cfg->dilations_attr = !unit_d || rng_int(r, 0, 1);
}

static void conv_random_sweep(int nsp, int trials, uint64_t seed)
{
    rng r = {seed};
    int valid = 0;
    for (int t = 0; t < trials; t++) {
        conv_cfg cfg;
        conv_random_cfg(&r, &cfg, nsp);
        valid += conv_check(&r, &cfg);
    }
    cr_assert_gt(valid, trials / 2, "only %d of %d random configurations were valid", valid,
                 trials);
}

Test(conv, random_1d)
{
    conv_random_sweep(1, 400, 1);
}

Test(conv, random_2d)
{
    conv_random_sweep(2, 400, 2);
}

Test(conv, random_3d)
{
    conv_random_sweep(3, 150, 3);
}

/* Every auto_pad mode, group and stride/dilation combination on one 2-D shape. */
Test(conv, attribute_grid)
{
    rng r = {42};
    const pad_mode modes[] = {PAD_EXPLICIT, PAD_NONE, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID};
    for (int mi = 0; mi < 5; mi++)
        for (int gi = 0; gi < 3; gi++)
            for (int s = 1; s <= 2; s++)
                for (int d = 1; d <= 2; d++)
                    for (int bias = 0; bias <= 1; bias++) {
                        conv_cfg cfg = {.nsp = 2, .batch = 2, .mode = modes[mi], .bias = bias};
                        cfg.group = gi == 0 ? 1 : gi == 1 ? 2 : 4;
                        cfg.chans = 4;
                        cfg.m = gi == 2 ? 8 : 6 - (gi == 1 ? 2 : 0);
                        int64_t in[2] = {7, 6}, k[2] = {3, 2};
                        int64_t pads[4] = {1, 0, 2, 1};
                        for (int i = 0; i < 2; i++) {
                            cfg.in[i] = in[i];
                            cfg.k[i] = k[i];
                            cfg.s[i] = s;
                            cfg.d[i] = d;
                        }
                        memcpy(cfg.pads, pads, sizeof pads);
                        cfg.kernel_attr = (mi + gi) % 2;
                        cfg.strides_attr = cfg.dilations_attr = true;
                        cr_assert(conv_check(&r, &cfg));
                    }
}

/* 1x1, stride 1, no padding skips im2col: no scratch, same numbers. */
Test(conv, pointwise_needs_no_scratch)
{
    rng r = {7};
    conv_cfg cfg = {.nsp = 2, .batch = 2, .chans = 6, .m = 5, .group = 1, .mode = PAD_NONE,
                    .bias = true};
    int64_t in[2] = {5, 9};
    for (int i = 0; i < 2; i++) {
        cfg.in[i] = in[i];
        cfg.k[i] = cfg.s[i] = cfg.d[i] = 1;
    }
    cr_assert(conv_check(&r, &cfg));
    cfg.group = 3;
    cfg.m = 9;
    cr_assert(conv_check(&r, &cfg));

    int64_t xd[4] = {1, 6, 5, 9}, wd[4] = {5, 6, 1, 1};
    float *x = rand_floats(&r, prod(xd, 4)), *wt = rand_floats(&r, prod(wd, 4));
    op_case c;
    case_begin(&c, 13);
    case_input(&c, GRAPH_DT_FLOAT, 4, xd, x);
    case_input(&c, GRAPH_DT_FLOAT, 4, wd, wt);
    case_node(&c, "Conv", 1);
    cr_assert_eq(case_run(&c), SSDC_OK, "%s", c.err.msg);
    cr_assert_eq(c.scratch_bytes, 0);
    case_end(&c);
    free(x), free(wt);
}

/* A regular conv asks for im2col scratch; depthwise runs without. */
Test(conv, scratch_sizes)
{
    rng r = {8};
    int64_t xd[4] = {1, 4, 6, 6}, wd[4] = {8, 4, 3, 3}, wdd[4] = {4, 1, 3, 3};
    float *x = rand_floats(&r, prod(xd, 4)), *wt = rand_floats(&r, prod(wd, 4));
    op_case c;
    case_begin(&c, 13);
    case_input(&c, GRAPH_DT_FLOAT, 4, xd, x);
    case_input(&c, GRAPH_DT_FLOAT, 4, wd, wt);
    case_node(&c, "Conv", 1);
    cr_assert_eq(case_run(&c), SSDC_OK, "%s", c.err.msg);
    /* at least the im2col matrix: 4 channels * 9 taps rows, 4x4 outputs */
    cr_assert_geq(c.scratch_bytes, 4 * 9 * 16 * sizeof(float));
    case_end(&c);

    case_begin(&c, 13);
    case_input(&c, GRAPH_DT_FLOAT, 4, xd, x);
    case_input(&c, GRAPH_DT_FLOAT, 4, wdd, wt);
    case_node(&c, "Conv", 1);
    case_int(&c, "group", 4);
    cr_assert_eq(case_run(&c), SSDC_OK, "%s", c.err.msg);
    cr_assert_eq(c.scratch_bytes, 0);
    case_end(&c);
    free(x), free(wt);
}

/* Large enough that im2col is tiled (tiles ending mid-row in 2-D). */
Test(conv, tiled_im2col_1d)
{
    rng r = {9};
    conv_cfg cfg = {.nsp = 1, .batch = 1, .chans = 64, .m = 3, .group = 1,
                    .mode = PAD_SAME_UPPER, .bias = true};
    cfg.in[0] = 4100;
    cfg.k[0] = 9;
    cfg.s[0] = cfg.d[0] = 1;
    cr_assert(conv_check(&r, &cfg));
}

Test(conv, tiled_im2col_2d)
{
    rng r = {10};
    conv_cfg cfg = {.nsp = 2, .batch = 1, .chans = 32, .m = 2, .group = 1,
                    .mode = PAD_EXPLICIT, .bias = false};
    int64_t pads[4] = {1, 2, 0, 1};
    memcpy(cfg.pads, pads, sizeof pads);
    for (int i = 0; i < 2; i++) {
        cfg.in[i] = 93;
        cfg.k[i] = 3;
        cfg.s[i] = 1;
        cfg.d[i] = 1;
    }
    cfg.kernel_attr = true;
    cr_assert(conv_check(&r, &cfg));
}

/* 3-D, tiles ending inside a run of rows of the same depth */
Test(conv, tiled_im2col_3d)
{
    rng r = {11};
    conv_cfg cfg = {.nsp = 3, .batch = 1, .chans = 16, .m = 2, .group = 1,
                    .mode = PAD_SAME_LOWER, .bias = true};
    for (int i = 0; i < 3; i++) {
        cfg.in[i] = 20;
        cfg.k[i] = 3;
        cfg.s[i] = 1;
        cfg.d[i] = 1;
    }
    cr_assert(conv_check(&r, &cfg));
}

/* Many output channels per group: unit stride without the padded-width rows */
Test(conv, many_output_channels)
{
    rng r = {12};
    for (int s = 1; s <= 2; s++) {
        conv_cfg cfg = {.nsp = 2, .batch = 2, .chans = 6, .m = 140, .group = 2,
                        .mode = PAD_EXPLICIT, .bias = true};
        int64_t pads[4] = {1, 2, 1, 0};
        memcpy(cfg.pads, pads, sizeof pads);
        for (int i = 0; i < 2; i++) {
            cfg.in[i] = 9;
            cfg.k[i] = 3;
            cfg.s[i] = s;
            cfg.d[i] = 1;
        }
        cfg.strides_attr = true;
        cr_assert(conv_check(&r, &cfg));
    }
}

/* The ONNX Conv example: 5x5 input 0..24, 3x3 ones, padding 1. */
Test(conv, onnx_example_with_padding)
{
    float x[25], wt[9];
    for (int i = 0; i < 25; i++)
        x[i] = (float)i;
    for (int i = 0; i < 9; i++)
        wt[i] = 1.0f;
    const float want[25] = {12, 21, 27, 33, 24, 33, 54, 63, 72, 51, 63, 99, 108,
                            117, 81, 93, 144, 153, 162, 111, 72, 111, 117, 123, 84};
    int64_t xd[4] = {1, 1, 5, 5}, wd[4] = {1, 1, 3, 3}, pads[4] = {1, 1, 1, 1};
    op_case c;
    case_begin(&c, 11);
    case_input(&c, GRAPH_DT_FLOAT, 4, xd, x);
    case_input(&c, GRAPH_DT_FLOAT, 4, wd, wt);
    case_node(&c, "Conv", 1);
    case_ints(&c, "kernel_shape", wd + 2, 2);
    case_ints(&c, "pads", pads, 4);
    cr_assert_eq(case_run(&c), SSDC_OK, "%s", c.err.msg);
    expect_dims(&c.out[0], 4, xd, "conv example");
    expect_close(c.out[0].data, want, 25, "conv example");
    case_end(&c);
}

Test(conv, infer_symbolic_batch_and_length)
{
    op_case c;
    case_begin(&c, 13);
    graph_shape xs, ws;
    int64_t xd[4] = {-1, 8, -1, 32}, wd[4] = {16, 4, 3, 3};
    graph_shape_init(&xs, 4, xd);
    snprintf(xs.sym[0], GRAPH_SYM_MAX, "batch");
    snprintf(xs.sym[2], GRAPH_SYM_MAX, "T");
    graph_shape_init(&ws, 4, wd);
    case_input_shape(&c, GRAPH_DT_FLOAT, &xs);
    case_input_shape(&c, GRAPH_DT_FLOAT, &ws);
    case_node(&c, "Conv", 1);
    case_int(&c, "group", 2);
    int64_t pads[4] = {1, 0, 1, 0};
    int64_t strides[2] = {1, 2};
    case_ints(&c, "pads", pads, 4);
    case_ints(&c, "strides", strides, 2);
    cr_assert_eq(case_infer(&c), SSDC_OK, "%s", c.err.msg);
    graph_shape *o = &c.out_shape[0];
    cr_assert_eq(c.out_dtype[0], GRAPH_DT_FLOAT);
    cr_assert_eq(o->rank, 4);
    cr_assert_eq(o->dims[0], -1);
    cr_assert_str_eq(o->sym[0], "batch");
    cr_assert_eq(o->dims[1], 16);
    /* k=3, pads 1+1, stride 1: same length, symbol carried over */
    cr_assert_eq(o->dims[2], -1);
    cr_assert_str_eq(o->sym[2], "T");
    cr_assert_eq(o->dims[3], 15); /* (32 - 3) / 2 + 1 */
    case_end(&c);

    /* strided symbolic dim: unknown, no symbol */
    case_begin(&c, 13);
    case_input_shape(&c, GRAPH_DT_FLOAT, &xs);
    case_input_shape(&c, GRAPH_DT_FLOAT, &ws);
    case_node(&c, "Conv", 1);
    case_int(&c, "group", 2);
    int64_t s2[2] = {2, 1};
    case_ints(&c, "strides", s2, 2);
    case_string(&c, "auto_pad", "SAME_UPPER");
    cr_assert_eq(case_infer(&c), SSDC_OK, "%s", c.err.msg);
    o = &c.out_shape[0];
    cr_assert_eq(o->dims[2], -1);
    cr_assert_str_eq(o->sym[2], "");
    cr_assert_eq(o->dims[3], 32);
    cr_assert_str_eq(o->sym[0], "batch");
    case_end(&c);
}

Test(conv, infer_errors)
{
    op_case c;
    int64_t xd[4] = {1, 8, 5, 5}, wd[4] = {4, 3, 3, 3};
    case_begin(&c, 13);
    case_input(&c, GRAPH_DT_FLOAT, 4, xd, NULL);
    case_input(&c, GRAPH_DT_FLOAT, 4, wd, NULL);
    case_node(&c, "Conv", 1);
    case_int(&c, "group", 2);
    cr_assert_eq(case_infer(&c), SSDC_ERR_SHAPE);
    cr_assert(strstr(c.err.msg, "input 1 'in1' has 3 channels per group, expected 4 (input "
                                "channels 8 / group 2)") != NULL,
              "%s", c.err.msg);
    cr_assert(strstr(c.err.msg, "node 'n' (Conv)") != NULL, "%s", c.err.msg);
    case_end(&c);

    /* kernel larger than the padded input */
    int64_t wd2[4] = {4, 8, 7, 3};
    case_begin(&c, 13);
    case_input(&c, GRAPH_DT_FLOAT, 4, xd, NULL);
    case_input(&c, GRAPH_DT_FLOAT, 4, wd2, NULL);
    case_node(&c, "Conv", 1);
    cr_assert_eq(case_infer(&c), SSDC_ERR_SHAPE);
    case_end(&c);

    /* bad auto_pad, wrong strides length, kernel_shape disagreeing with W */
    const char *bad[3] = {"auto_pad", "strides", "kernel_shape"};
    for (int i = 0; i < 3; i++) {
        int64_t wd3[4] = {4, 8, 3, 3}, three[3] = {1, 1, 1}, k55[2] = {5, 5};
        case_begin(&c, 13);
        case_input(&c, GRAPH_DT_FLOAT, 4, xd, NULL);
        case_input(&c, GRAPH_DT_FLOAT, 4, wd3, NULL);
        case_node(&c, "Conv", 1);
        if (i == 0)
            case_string(&c, "auto_pad", "SAME");
        else if (i == 1)
            case_ints(&c, "strides", three, 3);
        else
            case_ints(&c, "kernel_shape", k55, 2);
        ssdc_status st = case_infer(&c);
        cr_assert(st == SSDC_ERR_INVALID || st == SSDC_ERR_SHAPE, "%s: %d", bad[i], st);
        cr_assert(strstr(c.err.msg, bad[i]) != NULL, "%s", c.err.msg);
        case_end(&c);
    }

    /* bias of the wrong length, rank mismatch, double */
    int64_t bd[1] = {5}, wd4[3] = {4, 8, 3};
    case_begin(&c, 13);
    case_input(&c, GRAPH_DT_FLOAT, 4, xd, NULL);
    case_input(&c, GRAPH_DT_FLOAT, 4, (int64_t[4]){4, 8, 3, 3}, NULL);
    case_input(&c, GRAPH_DT_FLOAT, 1, bd, NULL);
    case_node(&c, "Conv", 1);
    cr_assert_eq(case_infer(&c), SSDC_ERR_SHAPE);
    case_end(&c);
    case_begin(&c, 13);
    case_input(&c, GRAPH_DT_FLOAT, 4, xd, NULL);
    case_input(&c, GRAPH_DT_FLOAT, 3, wd4, NULL);
    case_node(&c, "Conv", 1);
    cr_assert_eq(case_infer(&c), SSDC_ERR_SHAPE);
    case_end(&c);
    case_begin(&c, 13);
    case_input(&c, GRAPH_DT_DOUBLE, 4, xd, NULL);
    case_input(&c, GRAPH_DT_DOUBLE, 4, (int64_t[4]){4, 8, 3, 3}, NULL);
    case_node(&c, "Conv", 1);
    cr_assert_eq(case_infer(&c), SSDC_ERR_UNSUPPORTED);
    case_end(&c);
}

Test(conv, flops)
{
    op_case c;
    int64_t xd[4] = {2, 8, 10, 10}, wd[4] = {6, 4, 3, 3};
    case_begin(&c, 13);
    case_input(&c, GRAPH_DT_FLOAT, 4, xd, NULL);
    case_input(&c, GRAPH_DT_FLOAT, 4, wd, NULL);
    case_node(&c, "Conv", 1);
    case_int(&c, "group", 2);
    cr_assert_eq(case_infer(&c), SSDC_OK, "%s", c.err.msg);
    const graph_op_schema *s = graph_op_schema_get(case_get_node(&c)->op);
    graph_dtype idt[2] = {GRAPH_DT_FLOAT, GRAPH_DT_FLOAT};
    graph_shape ish[2];
    graph_shape_init(&ish[0], 4, xd);
    graph_shape_init(&ish[1], 4, wd);
    graph_infer_ctx ic = {.g = c.g, .node = case_get_node(&c), .n_in = 2, .in_dtype = idt,
                          .in_shape = ish, .n_out = 1, .out_dtype = c.out_dtype,
                          .out_shape = c.out_shape};
    cr_assert_not_null(s->flops);
    /* output 2x6x8x8, each 4*3*3 MACs */
    cr_assert_eq(s->flops(&ic), 2LL * (2 * 6 * 8 * 8) * (4 * 9));
    case_end(&c);
}

Test(conv, kernel_rejects_double)
{
    double x[16] = {0}, wt[4] = {0}, y[9];
    int64_t xd[4] = {1, 1, 4, 4}, wd[4] = {1, 1, 2, 2};
    op_case c;
    case_begin(&c, 13);
    case_input(&c, GRAPH_DT_DOUBLE, 4, xd, x);
    case_input(&c, GRAPH_DT_DOUBLE, 4, wd, wt);
    case_node(&c, "Conv", 1);
    graph_value out = {0};
    int64_t yd[4] = {1, 1, 3, 3};
    graph_value_set_shape(&out, GRAPH_DT_DOUBLE, 4, yd);
    out.data = y;
    rt_kernel_ctx ctx = {.g = c.g, .node = case_get_node(&c)};
    cr_assert_eq(rt_kernel_conv.forward(&ctx, c.in, 2, &out, 1, &c.err), SSDC_ERR_UNSUPPORTED);
    cr_assert(strstr(c.err.msg, "node 'n' (Conv)") != NULL, "%s", c.err.msg);
    case_end(&c);
}

/* ------------------------------------------------------------------- Gemm */

static void gemm_check(rng *r, int64_t m, int64_t n, int64_t k, bool ta, bool tb, int c_kind,
                       float alpha, float beta, bool set_ab)
{
    int64_t ad[2] = {ta ? k : m, ta ? m : k}, bd[2] = {tb ? n : k, tb ? k : n};
    float *a = rand_floats(r, m * k), *b = rand_floats(r, k * n), *cc = rand_floats(r, m * n);
    /* C kinds: 0 none, 1 scalar, 2 [1], 3 [N], 4 [1,N], 5 [M,1], 6 [M,N] */
    int c_rank = c_kind == 1 ? 0 : c_kind <= 3 ? 1 : 2;
    int64_t cd[2];
    int64_t c_rows = 1, c_cols = 1;
    if (c_kind == 3)
        cd[0] = c_cols = n;
    else if (c_kind == 2)
        cd[0] = 1;
    else if (c_kind == 4)
        cd[0] = 1, cd[1] = c_cols = n;
    else if (c_kind == 5)
        cd[0] = c_rows = m, cd[1] = 1;
    else if (c_kind == 6)
        cd[0] = c_rows = m, cd[1] = c_cols = n;
    op_case c;
    case_begin(&c, 13);
    case_input(&c, GRAPH_DT_FLOAT, 2, ad, a);
    case_input(&c, GRAPH_DT_FLOAT, 2, bd, b);
    if (c_kind)
        case_input(&c, GRAPH_DT_FLOAT, c_rank, cd, cc);
    case_node(&c, "Gemm", 1);
    if (ta || rng_int(r, 0, 1))
        case_int(&c, "transA", ta);
    if (tb || rng_int(r, 0, 1))
        case_int(&c, "transB", tb);
    if (set_ab) {
        case_float(&c, "alpha", alpha);
        case_float(&c, "beta", beta);
    } else {
        alpha = beta = 1.0f;
    }
    char what[160];
    snprintf(what, sizeof what, "gemm M=%lld N=%lld K=%lld tA=%d tB=%d C=%d alpha=%g beta=%g",
             (long long)m, (long long)n, (long long)k, ta, tb, c_kind, (double)alpha,
             (double)beta);
    cr_assert_eq(case_run(&c), SSDC_OK, "%s: %s", what, c.err.msg);
    int64_t yd[2] = {m, n};
    expect_dims(&c.out[0], 2, yd, what);
    float *want = malloc((size_t)(m * n) * sizeof *want + 4);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double acc = 0.0;
            for (int64_t p = 0; p < k; p++) {
                float av = ta ? a[p * m + i] : a[i * k + p];
                float bv = tb ? b[j * k + p] : b[p * n + j];
                acc += (double)av * bv;
            }
            double cv = c_kind ? cc[(c_rows == 1 ? 0 : i) * c_cols + (c_cols == 1 ? 0 : j)] : 0.0;
            want[i * n + j] = (float)(alpha * acc + beta * cv);
        }
    expect_close(c.out[0].data, want, m * n, what);
    free(want);
    case_end(&c);
    free(a), free(b), free(cc);
}

Test(gemm, all_attribute_combinations)
{
    rng r = {11};
    for (int ta = 0; ta <= 1; ta++)
        for (int tb = 0; tb <= 1; tb++)
            for (int ck = 0; ck <= 6; ck++)
                for (int ab = 0; ab <= 1; ab++) {
                    int64_t m = rng_int(&r, 1, 7), n = rng_int(&r, 1, 7), k = rng_int(&r, 1, 9);
                    gemm_check(&r, m, n, k, ta, tb, ck, 0.5f + rng_float(&r), rng_float(&r), ab);
                }
    /* beta 0 ignores C; a larger product */
    gemm_check(&r, 33, 70, 129, false, true, 6, 1.0f, 0.0f, true);
    gemm_check(&r, 1, 10, 64, false, true, 3, 1.0f, 1.0f, false);
}

/* C given as an omitted optional input (opset 11+) */
Test(gemm, omitted_c)
{
    float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, -1, 2, 0.5f, 1};
    op_case c;
    case_begin(&c, 13);
    case_input(&c, GRAPH_DT_FLOAT, 2, (int64_t[2]){2, 3}, a);
    case_input(&c, GRAPH_DT_FLOAT, 2, (int64_t[2]){3, 2}, b);
    case_input_none(&c);
    case_node(&c, "Gemm", 1);
    case_float(&c, "alpha", 2.0f);
    case_float(&c, "beta", 3.0f);
    cr_assert_eq(case_run(&c), SSDC_OK, "%s", c.err.msg);
    const float want[4] = {2 * (1 - 2 + 1.5f), 2 * (0 + 4 + 3), 2 * (4 - 5 + 3),
                           2 * (0 + 10 + 6)};
    expect_close(c.out[0].data, want, 4, "gemm without C");
    case_end(&c);
}

Test(gemm, infer)
{
    op_case c;
    graph_shape as;
    int64_t ad[2] = {-1, 10}, bd[2] = {5, 10}, cd[1] = {5};
    graph_shape_init(&as, 2, ad);
    snprintf(as.sym[0], GRAPH_SYM_MAX, "batch");
    case_begin(&c, 13);
    case_input_shape(&c, GRAPH_DT_FLOAT, &as);
    case_input(&c, GRAPH_DT_FLOAT, 2, bd, NULL);
    case_input(&c, GRAPH_DT_FLOAT, 1, cd, NULL);
    case_node(&c, "Gemm", 1);
    case_int(&c, "transB", 1);
    cr_assert_eq(case_infer(&c), SSDC_OK, "%s", c.err.msg);
    cr_assert_eq(c.out_shape[0].rank, 2);
    cr_assert_eq(c.out_shape[0].dims[0], -1);
    cr_assert_str_eq(c.out_shape[0].sym[0], "batch");
    cr_assert_eq(c.out_shape[0].dims[1], 5);
    case_end(&c);

    /* K mismatch (no transB), C not broadcastable, rank 3 */
    case_begin(&c, 13);
    case_input_shape(&c, GRAPH_DT_FLOAT, &as);
    case_input(&c, GRAPH_DT_FLOAT, 2, bd, NULL);
    case_node(&c, "Gemm", 1);
    cr_assert_eq(case_infer(&c), SSDC_ERR_SHAPE);
    cr_assert(strstr(c.err.msg, "K=10") && strstr(c.err.msg, "K=5"), "%s", c.err.msg);
    case_end(&c);
    int64_t bad_c[2] = {3, 5}, a3[3] = {2, 3, 10};
    case_begin(&c, 13);
    case_input(&c, GRAPH_DT_FLOAT, 2, (int64_t[2]){4, 10}, NULL);
    case_input(&c, GRAPH_DT_FLOAT, 2, bd, NULL);
    case_input(&c, GRAPH_DT_FLOAT, 2, bad_c, NULL);
    case_node(&c, "Gemm", 1);
    case_int(&c, "transB", 1);
    cr_assert_eq(case_infer(&c), SSDC_ERR_SHAPE);
    case_end(&c);
    case_begin(&c, 13);
    case_input(&c, GRAPH_DT_FLOAT, 3, a3, NULL);
    case_input(&c, GRAPH_DT_FLOAT, 2, bd, NULL);
    case_node(&c, "Gemm", 1);
    cr_assert_eq(case_infer(&c), SSDC_ERR_SHAPE);
    case_end(&c);

    /* flops: 2*M*N*K */
    case_begin(&c, 13);
    case_input(&c, GRAPH_DT_FLOAT, 2, (int64_t[2]){10, 4}, NULL);
    case_input(&c, GRAPH_DT_FLOAT, 2, bd, NULL);
    case_node(&c, "Gemm", 1);
    case_int(&c, "transA", 1);
    case_int(&c, "transB", 1);
    cr_assert_eq(case_infer(&c), SSDC_OK, "%s", c.err.msg);
    graph_dtype idt[2] = {GRAPH_DT_FLOAT, GRAPH_DT_FLOAT};
    graph_shape ish[2];
    graph_shape_init(&ish[0], 2, (int64_t[2]){10, 4});
    graph_shape_init(&ish[1], 2, bd);
    graph_infer_ctx ic = {.g = c.g, .node = case_get_node(&c), .n_in = 2, .in_dtype = idt,
                          .in_shape = ish, .n_out = 1, .out_dtype = c.out_dtype,
                          .out_shape = c.out_shape};
    cr_assert_eq(graph_schema_gemm.flops(&ic), 2 * 4 * 5 * 10);
    case_end(&c);
}

/* ----------------------------------------------------------------- MatMul */

static void matmul_check(rng *r, int ra, const int64_t *ad, int rb, const int64_t *bd)
{
    float *a = rand_floats(r, prod(ad, ra)), *b = rand_floats(r, prod(bd, rb));
    /* promote 1-D operands, broadcast batch dims (reference) */
    int64_t pa[8], pb[8];
    int pra = ra, prb = rb;
    memcpy(pa, ad, (size_t)ra * sizeof *pa);
    memcpy(pb, bd, (size_t)rb * sizeof *pb);
    if (ra == 1) {
        pa[0] = 1;
        pa[1] = ad[0];
        pra = 2;
    }
    if (rb == 1) {
        pb[1] = 1;
        pra += 0;
        prb = 2;
    }
    int64_t m = pa[pra - 2], k = pa[pra - 1], n = pb[prb - 1];
    int nba = pra - 2, nbb = prb - 2, nb = nba > nbb ? nba : nbb;
    int64_t bdims[8];
    for (int d = 0; d < nb; d++) {
        int ia = d - (nb - nba), ib = d - (nb - nbb);
        int64_t da = ia >= 0 ? pa[ia] : 1, db = ib >= 0 ? pb[ib] : 1;
        bdims[d] = da > db ? da : db;
    }
    int64_t batch = prod(bdims, nb);
    float *want = malloc((size_t)(batch * m * n) * sizeof *want + 4);
    for (int64_t bi = 0; bi < batch; bi++) {
        int64_t idx[8];
        unflatten(bi, bdims, nb, idx);
        int64_t oa = 0, ob = 0;
        for (int d = 0; d < nb; d++) {
            int ia = d - (nb - nba), ib = d - (nb - nbb);
            if (ia >= 0)
                oa = oa * pa[ia] + (pa[ia] == 1 ? 0 : idx[d]);
            if (ib >= 0)
                ob = ob * pb[ib] + (pb[ib] == 1 ? 0 : idx[d]);
        }
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                double acc = 0.0;
                for (int64_t p = 0; p < k; p++)
                    acc += (double)a[(oa * m + i) * k + p] * b[(ob * k + p) * n + j];
                want[(bi * m + i) * n + j] = (float)acc;
            }
    }
    int64_t yd[8];
    int yr = 0;
    for (int d = 0; d < nb; d++)
        yd[yr++] = bdims[d];
    if (ra > 1)
        yd[yr++] = m;
    if (rb > 1)
        yd[yr++] = n;
    op_case c;
    case_begin(&c, 13);
    case_input(&c, GRAPH_DT_FLOAT, ra, ad, a);
    case_input(&c, GRAPH_DT_FLOAT, rb, bd, b);
    case_node(&c, "MatMul", 1);
    char what[64];
    snprintf(what, sizeof what, "matmul rank %d x rank %d", ra, rb);
    cr_assert_eq(case_run(&c), SSDC_OK, "%s: %s", what, c.err.msg);
    expect_dims(&c.out[0], yr, yd, what);
    expect_close(c.out[0].data, want, batch * m * n, what);
    case_end(&c);
    free(a), free(b), free(want);
}

Test(matmul, numpy_semantics)
{
    rng r = {12};
    matmul_check(&r, 2, (int64_t[]){3, 4}, 2, (int64_t[]){4, 5});
    matmul_check(&r, 2, (int64_t[]){1, 4}, 2, (int64_t[]){4, 5});   /* row vector */
    matmul_check(&r, 2, (int64_t[]){3, 4}, 2, (int64_t[]){4, 1});   /* column vector */
    matmul_check(&r, 1, (int64_t[]){4}, 1, (int64_t[]){4});         /* dot -> scalar */
    matmul_check(&r, 1, (int64_t[]){4}, 2, (int64_t[]){4, 6});
    matmul_check(&r, 2, (int64_t[]){5, 4}, 1, (int64_t[]){4});
    matmul_check(&r, 1, (int64_t[]){3}, 3, (int64_t[]){2, 3, 4});
    matmul_check(&r, 3, (int64_t[]){2, 5, 3}, 1, (int64_t[]){3});
    matmul_check(&r, 3, (int64_t[]){2, 3, 4}, 2, (int64_t[]){4, 5}); /* flattened path */
    matmul_check(&r, 4, (int64_t[]){2, 3, 4, 6}, 2, (int64_t[]){6, 2});
    matmul_check(&r, 3, (int64_t[]){2, 3, 4}, 3, (int64_t[]){2, 4, 5});
    matmul_check(&r, 3, (int64_t[]){1, 3, 4}, 3, (int64_t[]){3, 4, 5}); /* A broadcast */
    matmul_check(&r, 2, (int64_t[]){3, 4}, 3, (int64_t[]){3, 4, 5});
    matmul_check(&r, 4, (int64_t[]){2, 1, 3, 4}, 3, (int64_t[]){5, 4, 2});
    matmul_check(&r, 4, (int64_t[]){1, 3, 1, 4}, 4, (int64_t[]){2, 1, 4, 3});
    matmul_check(&r, 3, (int64_t[]){4, 1, 7}, 3, (int64_t[]){4, 7, 1});
    matmul_check(&r, 3, (int64_t[]){3, 40, 70}, 2, (int64_t[]){70, 50});
}

Test(matmul, infer)
{
    op_case c;
    graph_shape as;
    int64_t ad[3] = {-1, -1, 8}, bd[2] = {8, 4};
    graph_shape_init(&as, 3, ad);
    snprintf(as.sym[0], GRAPH_SYM_MAX, "batch");
    snprintf(as.sym[1], GRAPH_SYM_MAX, "seq");
    case_begin(&c, 13);
    case_input_shape(&c, GRAPH_DT_FLOAT, &as);
    case_input(&c, GRAPH_DT_FLOAT, 2, bd, NULL);
    case_node(&c, "MatMul", 1);
    cr_assert_eq(case_infer(&c), SSDC_OK, "%s", c.err.msg);
    graph_shape *o = &c.out_shape[0];
    cr_assert_eq(o->rank, 3);
    cr_assert_str_eq(o->sym[0], "batch");
    cr_assert_str_eq(o->sym[1], "seq");
    cr_assert_eq(o->dims[2], 4);
    case_end(&c);

    /* 1-D A against symbolic batched B */
    graph_shape bs;
    int64_t bd3[3] = {-1, 4, 3};
    graph_shape_init(&bs, 3, bd3);
    snprintf(bs.sym[0], GRAPH_SYM_MAX, "batch");
    case_begin(&c, 13);
    case_input(&c, GRAPH_DT_FLOAT, 1, (int64_t[1]){4}, NULL);
    case_input_shape(&c, GRAPH_DT_FLOAT, &bs);
    case_node(&c, "MatMul", 1);
    cr_assert_eq(case_infer(&c), SSDC_OK, "%s", c.err.msg);
    o = &c.out_shape[0];
    cr_assert_eq(o->rank, 2);
    cr_assert_str_eq(o->sym[0], "batch");
    cr_assert_eq(o->dims[1], 3);
    case_end(&c);

    /* K mismatch; batch mismatch */
    case_begin(&c, 13);
    case_input(&c, GRAPH_DT_FLOAT, 2, (int64_t[2]){3, 5}, NULL);
    case_input(&c, GRAPH_DT_FLOAT, 2, bd, NULL);
    case_node(&c, "MatMul", 1);
    cr_assert_eq(case_infer(&c), SSDC_ERR_SHAPE);
    cr_assert(strstr(c.err.msg, "K=5") && strstr(c.err.msg, "K=8"), "%s", c.err.msg);
    case_end(&c);
    case_begin(&c, 13);
    case_input(&c, GRAPH_DT_FLOAT, 3, (int64_t[3]){2, 3, 8}, NULL);
    case_input(&c, GRAPH_DT_FLOAT, 3, (int64_t[3]){3, 8, 4}, NULL);
    case_node(&c, "MatMul", 1);
    cr_assert_eq(case_infer(&c), SSDC_ERR_SHAPE);
    case_end(&c);

    /* flops = 2 * batch * M * N * K */
    case_begin(&c, 13);
    int64_t a2[3] = {2, 3, 8};
    case_input(&c, GRAPH_DT_FLOAT, 3, a2, NULL);
    case_input(&c, GRAPH_DT_FLOAT, 2, bd, NULL);
    case_node(&c, "MatMul", 1);
    cr_assert_eq(case_infer(&c), SSDC_OK, "%s", c.err.msg);
    graph_dtype idt[2] = {GRAPH_DT_FLOAT, GRAPH_DT_FLOAT};
    graph_shape ish[2];
    graph_shape_init(&ish[0], 3, a2);
    graph_shape_init(&ish[1], 2, bd);
    graph_infer_ctx ic = {.g = c.g, .node = case_get_node(&c), .n_in = 2, .in_dtype = idt,
                          .in_shape = ish, .n_out = 1, .out_dtype = c.out_dtype,
                          .out_shape = c.out_shape};
    cr_assert_eq(graph_schema_matmul.flops(&ic), 2 * 2 * 3 * 4 * 8);
    case_end(&c);
}

/* ------------------------------------------------------------------ Pools */

typedef enum { POOL_MAX, POOL_MAX_INDICES, POOL_AVG } pool_kind;

static void ref_pool(const ref_win *w, int64_t planes, pool_kind kind, bool include_pad,
                     int storage_order, const float *x, float *y, int64_t *ind)
{
    int64_t in_sz = prod(w->in, w->n), out_sz = prod(w->out, w->n), k_sz = prod(w->k, w->n);
    for (int64_t p = 0; p < planes; p++)
        for (int64_t op = 0; op < out_sz; op++) {
            int64_t oi[3], ki[3], flat;
            unflatten(op, w->out, w->n, oi);
            float best = -INFINITY;
            int64_t best_i = -1;
            double sum = 0.0;
            int64_t count = 0;
            for (int64_t kp = 0; kp < k_sz; kp++) {
                unflatten(kp, w->k, w->n, ki);
                if (include_pad) {
                    bool in_padded = true;
                    for (int i = 0; i < w->n; i++) {
                        int64_t pos = oi[i] * w->s[i] - w->pb[i] + ki[i] * w->d[i];
                        in_padded = in_padded && pos >= -w->pb[i] && pos < w->in[i] + w->pe[i];
                    }
                    count += in_padded;
                }
                if (!ref_win_input(w, oi, ki, &flat))
                    continue;
                float v = x[p * in_sz + flat];
                if (!include_pad)
                    count++;
                sum += v;
                if (v > best || best_i < 0) {
                    best = v > best ? v : best;
                    if (storage_order == 0) {
                        best_i = p * in_sz + flat;
                    } else { /* column-major over the spatial dims */
                        int64_t cm = 0, mul = 1;
                        for (int i = 0; i < w->n; i++) {
                            cm += (oi[i] * w->s[i] - w->pb[i] + ki[i] * w->d[i]) * mul;
                            mul *= w->in[i];
                        }
                        best_i = p * in_sz + cm;
                    }
                }
            }
            if (kind == POOL_AVG)
                y[p * out_sz + op] = count ? (float)(sum / (double)count) : 0.0f;
            else
                y[p * out_sz + op] = best;
            if (ind)
                ind[p * out_sz + op] = best_i;
        }
}

static bool pool_check(rng *r, int nsp, pool_kind kind)
{
    ref_win w = {.n = nsp};
    int64_t pads[6];
    int max_in = nsp == 3 ? 6 : nsp == 2 ? 9 : 14;
    bool unit_s = true, unit_d = true;
    for (int i = 0; i < nsp; i++) {
        w.in[i] = rng_int(r, 1, max_in);
        w.k[i] = rng_int(r, 1, 3);
        w.s[i] = rng_int(r, 1, 3);
        w.d[i] = kind == POOL_AVG ? 1 : rng_int(r, 1, 2);
        pads[i] = rng_int(r, 0, w.k[i] - 1);
        pads[nsp + i] = rng_int(r, 0, w.k[i] - 1);
        unit_s = unit_s && w.s[i] == 1;
        unit_d = unit_d && w.d[i] == 1;
    }
    pad_mode mode = (pad_mode)rng_int(r, 0, 4);
    bool ceil_mode = rng_int(r, 0, 2) == 0;
    bool include_pad = kind == POOL_AVG && rng_int(r, 0, 1);
    int storage_order = kind == POOL_MAX_INDICES ? rng_int(r, 0, 1) : 0;
    bool fits = ref_win_make(&w, mode, ceil_mode, pads);
    int64_t xd[5] = {rng_int(r, 1, 2), rng_int(r, 1, 3)};
    for (int i = 0; i < nsp; i++)
        xd[2 + i] = w.in[i];
    int rank = nsp + 2;
    float *x = rand_floats(r, prod(xd, rank));
    op_case c;
    case_begin(&c, 13);
    case_input(&c, GRAPH_DT_FLOAT, rank, xd, x);
    case_node(&c, kind == POOL_AVG ? "AveragePool" : "MaxPool", kind == POOL_MAX_INDICES ? 2 : 1);
    case_ints(&c, "kernel_shape", w.k, nsp);
    if (!unit_s || rng_int(r, 0, 1))
        case_ints(&c, "strides", w.s, nsp);
    if (!unit_d)
        case_ints(&c, "dilations", w.d, nsp);
    if (mode == PAD_EXPLICIT)
        case_ints(&c, "pads", pads, 2 * nsp);
    else if (mode != PAD_NONE)
        case_string(&c, "auto_pad", pad_mode_name(mode));
    if (ceil_mode)
        case_int(&c, "ceil_mode", 1);
    if (include_pad)
        case_int(&c, "count_include_pad", 1);
    if (storage_order)
        case_int(&c, "storage_order", 1);
    char what[256];
    snprintf(what, sizeof what,
             "%s %dD in=[%lld,%lld,%lld] k=[%lld,%lld,%lld] s=[%lld,%lld,%lld] "
             "d=[%lld,%lld,%lld] %s pads=[%lld,%lld,%lld,%lld,%lld,%lld] ceil=%d incl=%d order=%d",
             kind == POOL_AVG ? "avgpool" : "maxpool", nsp, (long long)w.in[0],
             (long long)w.in[1], (long long)w.in[2], (long long)w.k[0], (long long)w.k[1],
             (long long)w.k[2], (long long)w.s[0], (long long)w.s[1], (long long)w.s[2],
             (long long)w.d[0], (long long)w.d[1], (long long)w.d[2], pad_mode_name(mode),
             (long long)pads[0], (long long)pads[1], (long long)(nsp > 1 ? pads[2] : 0),
             (long long)(nsp > 1 ? pads[3] : 0), (long long)(nsp > 2 ? pads[4] : 0),
             (long long)(nsp > 2 ? pads[5] : 0), ceil_mode, include_pad, storage_order);
    ssdc_status st = case_run(&c);
    if (!fits) {
        cr_assert_eq(st, SSDC_ERR_SHAPE, "%s: expected a shape error, got %d (%s)", what, st,
                     c.err.msg);
    } else {
        cr_assert_eq(st, SSDC_OK, "%s: %s", what, c.err.msg);
        int64_t yd[5] = {xd[0], xd[1]};
        for (int i = 0; i < nsp; i++)
            yd[2 + i] = w.out[i];
        int64_t yn = prod(yd, rank);
        expect_dims(&c.out[0], rank, yd, what);
        float *want = malloc((size_t)yn * sizeof *want + 4);
        int64_t *want_i = malloc((size_t)yn * sizeof *want_i + 8);
        ref_pool(&w, xd[0] * xd[1], kind, include_pad, storage_order, x, want, want_i);
        expect_close(c.out[0].data, want, yn, what);
        if (kind == POOL_MAX_INDICES) {
            cr_assert_eq(c.out[1].dtype, GRAPH_DT_INT64);
            expect_dims(&c.out[1], rank, yd, what);
            const int64_t *got_i = c.out[1].data;
            for (int64_t i = 0; i < yn; i++)
                cr_assert_eq(got_i[i], want_i[i], "%s: index %lld is %lld, expected %lld", what,
                             (long long)i, (long long)got_i[i], (long long)want_i[i]);
        }
        free(want), free(want_i);
    }
    case_end(&c);
    free(x);
    return fits;
}

static void pool_sweep(pool_kind kind, uint64_t seed)
{
    rng r = {seed};
    for (int nsp = 1; nsp <= 3; nsp++) {
        int valid = 0, trials = nsp == 3 ? 100 : 300;
        for (int t = 0; t < trials; t++)
            valid += pool_check(&r, nsp, kind);
        cr_assert_gt(valid, trials / 2);
    }
}

Test(pool, maxpool_random)
{
    pool_sweep(POOL_MAX, 21);
}

Test(pool, maxpool_indices_random)
{
    pool_sweep(POOL_MAX_INDICES, 22);
}

Test(pool, averagepool_random)
{
    pool_sweep(POOL_AVG, 23);
}

/* The ONNX precomputed examples: 5x5 input 1..25. */
Test(pool, onnx_precomputed_examples)
{
    float x[25];
    for (int i = 0; i < 25; i++)
        x[i] = (float)(i + 1);
    int64_t xd[4] = {1, 1, 5, 5}, k3[2] = {3, 3}, k5[2] = {5, 5}, k2[2] = {2, 2};
    int64_t pads2[4] = {2, 2, 2, 2}, s2[2] = {2, 2};
    /* maxpool_2d_precomputed_pads */
    const float want_max[25] = {13, 14, 15, 15, 15, 18, 19, 20, 20, 20, 23, 24, 25,
                                25, 25, 23, 24, 25, 25, 25, 23, 24, 25, 25, 25};
    op_case c;
    case_begin(&c, 12);
    case_input(&c, GRAPH_DT_FLOAT, 4, xd, x);
    case_node(&c, "MaxPool", 1);
    case_ints(&c, "kernel_shape", k5, 2);
    case_ints(&c, "pads", pads2, 4);
    cr_assert_eq(case_run(&c), SSDC_OK, "%s", c.err.msg);
    expect_close(c.out[0].data, want_max, 25, "maxpool precomputed pads");
    case_end(&c);
    /* averagepool_2d_precomputed_pads_count_include_pad */
    const float want_avg_incl[25] = {2.5200f, 3.6000f, 4.8000f, 4.0800f, 3.2400f,
                                     4.5600f, 6.4000f, 8.4000f, 7.0400f, 5.5200f,
                                     7.2000f, 10.0000f, 13.0000f, 10.8000f, 8.4000f,
                                     6.9600f, 9.6000f, 12.4000f, 10.2400f, 7.9200f,
                                     6.1200f, 8.4000f, 10.8000f, 8.8800f, 6.8400f};
    case_begin(&c, 12);
    case_input(&c, GRAPH_DT_FLOAT, 4, xd, x);
    case_node(&c, "AveragePool", 1);
    case_ints(&c, "kernel_shape", k5, 2);
    case_ints(&c, "pads", pads2, 4);
    case_int(&c, "count_include_pad", 1);
    cr_assert_eq(case_run(&c), SSDC_OK, "%s", c.err.msg);
    expect_close(c.out[0].data, want_avg_incl, 25, "averagepool count_include_pad");
    case_end(&c);
    /* maxpool_with_argmax_2d_precomputed_strides: storage_order 1 */
    const float want_ms[4] = {7, 9, 17, 19};
    const int64_t want_is[4] = {6, 16, 8, 18};
    case_begin(&c, 12);
    case_input(&c, GRAPH_DT_FLOAT, 4, xd, x);
    case_node(&c, "MaxPool", 2);
    case_ints(&c, "kernel_shape", k2, 2);
    case_ints(&c, "strides", s2, 2);
    case_int(&c, "storage_order", 1);
    cr_assert_eq(case_run(&c), SSDC_OK, "%s", c.err.msg);
    expect_close(c.out[0].data, want_ms, 4, "maxpool argmax strides");
    for (int i = 0; i < 4; i++)
        cr_assert_eq(((int64_t *)c.out[1].data)[i], want_is[i]);
    case_end(&c);
    /* averagepool_2d_same_upper-like 3x3 SAME_LOWER on 5x5, stride 2 */
    case_begin(&c, 12);
    case_input(&c, GRAPH_DT_FLOAT, 4, xd, x);
    case_node(&c, "AveragePool", 1);
    case_ints(&c, "kernel_shape", k3, 2);
    case_ints(&c, "strides", s2, 2);
    case_string(&c, "auto_pad", "SAME_LOWER");
    cr_assert_eq(case_run(&c), SSDC_OK, "%s", c.err.msg);
    /* out 3x3, total pad 2 per dim split 1/1: window of (0,0) covers rows/cols 0..1 */
    const float want_sl[9] = {4, 5.5f, 7, 11.5f, 13, 14.5f, 19, 20.5f, 22};
    expect_close(c.out[0].data, want_sl, 9, "averagepool same_lower");
    case_end(&c);
}

/* Indices include the batch and channel offset (flattened over the whole X). */
Test(pool, maxpool_indices_across_planes)
{
    float x[2 * 3 * 4];
    for (int i = 0; i < 24; i++)
        x[i] = (float)((i * 7) % 11);
    int64_t xd[3] = {2, 3, 4}, k[1] = {2}, s[1] = {2};
    op_case c;
    case_begin(&c, 12);
    case_input(&c, GRAPH_DT_FLOAT, 3, xd, x);
    case_node(&c, "MaxPool", 2);
    case_ints(&c, "kernel_shape", k, 1);
    case_ints(&c, "strides", s, 1);
    cr_assert_eq(case_run(&c), SSDC_OK, "%s", c.err.msg);
    const int64_t *ind = c.out[1].data;
    const float *y = c.out[0].data;
    for (int i = 0; i < 12; i++) {
        int64_t a = 2 * i, b = 2 * i + 1;
        int64_t want = x[b] > x[a] ? b : a;
        cr_assert_eq(ind[i], want, "index %d: %lld, expected %lld", i, (long long)ind[i],
                     (long long)want);
        cr_assert_eq(y[i], x[want]);
    }
    case_end(&c);
}

/* Ties: the first maximum in window (row-major) order gives the index. */
Test(pool, maxpool_indices_ties)
{
    float x[16];
    for (int i = 0; i < 16; i++)
        x[i] = (float)(i % 3 == 0);
    int64_t xd[4] = {1, 1, 4, 4}, k[2] = {3, 3};
    op_case c;
    case_begin(&c, 12);
    case_input(&c, GRAPH_DT_FLOAT, 4, xd, x);
    case_node(&c, "MaxPool", 2);
    case_ints(&c, "kernel_shape", k, 2);
    cr_assert_eq(case_run(&c), SSDC_OK, "%s", c.err.msg);
    const int64_t *ind = c.out[1].data;
    for (int oh = 0; oh < 2; oh++)
        for (int ow = 0; ow < 2; ow++) {
            int64_t want = -1;
            for (int i = 0; i < 3 && want < 0; i++)
                for (int j = 0; j < 3 && want < 0; j++)
                    if (x[(oh + i) * 4 + ow + j] == 1.0f)
                        want = (oh + i) * 4 + ow + j;
            cr_assert_eq(ind[oh * 2 + ow], want, "(%d,%d): %lld, expected %lld", oh, ow,
                         (long long)ind[oh * 2 + ow], (long long)want);
        }
    case_end(&c);
}

Test(pool, maxpool_uint8)
{
    uint8_t x[16];
    for (int i = 0; i < 16; i++)
        x[i] = (uint8_t)(i * 37 % 251);
    int64_t xd[4] = {1, 1, 4, 4}, k[2] = {2, 2}, s[2] = {2, 2};
    op_case c;
    case_begin(&c, 12);
    case_input(&c, GRAPH_DT_UINT8, 4, xd, x);
    case_node(&c, "MaxPool", 1);
    case_ints(&c, "kernel_shape", k, 2);
    case_ints(&c, "strides", s, 2);
    cr_assert_eq(case_run(&c), SSDC_OK, "%s", c.err.msg);
    cr_assert_eq(c.out[0].dtype, GRAPH_DT_UINT8);
    const uint8_t *y = c.out[0].data;
    for (int oh = 0; oh < 2; oh++)
        for (int ow = 0; ow < 2; ow++) {
            uint8_t m = 0;
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++) {
                    uint8_t v = x[(2 * oh + i) * 4 + 2 * ow + j];
                    m = v > m ? v : m;
                }
            cr_assert_eq(y[oh * 2 + ow], m);
        }
    case_end(&c);
}

Test(pool, global_pools)
{
    rng r = {24};
    for (int rank = 2; rank <= 5; rank++) {
        int64_t xd[5] = {2, 3, 4, 5, 3};
        float *x = rand_floats(&r, prod(xd, rank));
        int64_t planes = 6, size = prod(xd + 2, rank - 2);
        for (int avg = 0; avg <= 1; avg++) {
            op_case c;
            case_begin(&c, 13);
            case_input(&c, GRAPH_DT_FLOAT, rank, xd, x);
            case_node(&c, avg ? "GlobalAveragePool" : "GlobalMaxPool", 1);
            cr_assert_eq(case_run(&c), SSDC_OK, "%s", c.err.msg);
            int64_t yd[5] = {2, 3, 1, 1, 1};
            expect_dims(&c.out[0], rank, yd, "global pool");
            float want[6];
            for (int64_t p = 0; p < planes; p++) {
                double s = 0.0;
                float m = -INFINITY;
                for (int64_t i = 0; i < size; i++) {
                    s += x[p * size + i];
                    m = fmaxf(m, x[p * size + i]);
                }
                want[p] = avg ? (float)(s / (double)size) : m;
            }
            expect_close(c.out[0].data, want, planes, avg ? "globalavg" : "globalmax");
            case_end(&c);
        }
        free(x);
    }
}

Test(pool, infer)
{
    op_case c;
    graph_shape xs;
    int64_t xd[4] = {-1, 3, -1, 20};
    graph_shape_init(&xs, 4, xd);
    snprintf(xs.sym[0], GRAPH_SYM_MAX, "N");
    snprintf(xs.sym[2], GRAPH_SYM_MAX, "H");
    int64_t k[2] = {3, 3}, pads[4] = {1, 0, 1, 0}, s[2] = {1, 2};
    case_begin(&c, 12);
    case_input_shape(&c, GRAPH_DT_FLOAT, &xs);
    case_node(&c, "MaxPool", 2);
    case_ints(&c, "kernel_shape", k, 2);
    case_ints(&c, "pads", pads, 4);
    case_ints(&c, "strides", s, 2);
    case_int(&c, "ceil_mode", 1);
    cr_assert_eq(case_infer(&c), SSDC_OK, "%s", c.err.msg);
    for (int o = 0; o < 2; o++) {
        graph_shape *os = &c.out_shape[o];
        cr_assert_eq(os->rank, 4);
        cr_assert_str_eq(os->sym[0], "N");
        cr_assert_eq(os->dims[1], 3);
        cr_assert_str_eq(os->sym[2], "H");
        cr_assert_eq(os->dims[3], 10); /* ceil((20 - 3) / 2) + 1 */
    }
    cr_assert_eq(c.out_dtype[0], GRAPH_DT_FLOAT);
    cr_assert_eq(c.out_dtype[1], GRAPH_DT_INT64);
    case_end(&c);

    /* kernel_shape is required */
    case_begin(&c, 12);
    case_input_shape(&c, GRAPH_DT_FLOAT, &xs);
    case_node(&c, "AveragePool", 1);
    cr_assert_eq(case_infer(&c), SSDC_ERR_INVALID);
    cr_assert(strstr(c.err.msg, "kernel_shape"), "%s", c.err.msg);
    case_end(&c);

    /* global pool keeps the symbolic batch */
    case_begin(&c, 12);
    case_input_shape(&c, GRAPH_DT_FLOAT, &xs);
    case_node(&c, "GlobalAveragePool", 1);
    cr_assert_eq(case_infer(&c), SSDC_OK, "%s", c.err.msg);
    cr_assert_str_eq(c.out_shape[0].sym[0], "N");
    cr_assert_eq(c.out_shape[0].dims[1], 3);
    cr_assert_eq(c.out_shape[0].dims[2], 1);
    cr_assert_eq(c.out_shape[0].dims[3], 1);
    case_end(&c);
}

/* ------------------------------------------------------ BatchNormalization */

Test(batchnorm, inference_and_statistics_outputs)
{
    rng r = {31};
    int64_t xd[4] = {2, 3, 4, 5}, pd[1] = {3};
    float *x = rand_floats(&r, prod(xd, 4));
    float scale[3], bias[3], mean[3], var[3];
    for (int i = 0; i < 3; i++) {
        scale[i] = rng_float(&r) * 2.0f;
        bias[i] = rng_float(&r);
        mean[i] = rng_float(&r);
        var[i] = rng_float(&r) + 1.5f;
    }
    for (int n_out = 1; n_out <= 5; n_out += 4) {
        op_case c;
        case_begin(&c, 9);
        case_input(&c, GRAPH_DT_FLOAT, 4, xd, x);
        case_input(&c, GRAPH_DT_FLOAT, 1, pd, scale);
        case_input(&c, GRAPH_DT_FLOAT, 1, pd, bias);
        case_input(&c, GRAPH_DT_FLOAT, 1, pd, mean);
        case_input(&c, GRAPH_DT_FLOAT, 1, pd, var);
        case_node(&c, "BatchNormalization", n_out);
        case_float(&c, "epsilon", 1e-2f);
        cr_assert_eq(case_run(&c), SSDC_OK, "%s", c.err.msg);
        expect_dims(&c.out[0], 4, xd, "bn");
        float want[120];
        for (int i = 0; i < 120; i++) {
            int ch = (i / 20) % 3;
            want[i] = scale[ch] * (x[i] - mean[ch]) / sqrtf(var[ch] + 1e-2f) + bias[ch];
        }
        expect_close(c.out[0].data, want, 120, "bn inference");
        if (n_out == 5) {
            expect_close(c.out[1].data, mean, 3, "bn mean out");
            expect_close(c.out[2].data, var, 3, "bn var out");
        }
        case_end(&c);
    }
    free(x);
}

Test(batchnorm, training_mode)
{
    rng r = {32};
    int64_t xd[3] = {3, 2, 7}, pd[1] = {2};
    float *x = rand_floats(&r, prod(xd, 3));
    float scale[2] = {1.5f, -0.5f}, bias[2] = {0.1f, 0.2f}, mean[2] = {0.3f, -0.2f};
    float var[2] = {1.2f, 0.7f};
    op_case c;
    case_begin(&c, 15);
    case_input(&c, GRAPH_DT_FLOAT, 3, xd, x);
    case_input(&c, GRAPH_DT_FLOAT, 1, pd, scale);
    case_input(&c, GRAPH_DT_FLOAT, 1, pd, bias);
    case_input(&c, GRAPH_DT_FLOAT, 1, pd, mean);
    case_input(&c, GRAPH_DT_FLOAT, 1, pd, var);
    case_node(&c, "BatchNormalization", 3);
    case_int(&c, "training_mode", 1);
    case_float(&c, "momentum", 0.8f);
    cr_assert_eq(case_run(&c), SSDC_OK, "%s", c.err.msg);
    float want[42], rm[2], rv[2];
    for (int ch = 0; ch < 2; ch++) {
        double s = 0, sq = 0;
        for (int n = 0; n < 3; n++)
            for (int i = 0; i < 7; i++)
                s += x[(n * 2 + ch) * 7 + i];
        double mu = s / 21.0;
        for (int n = 0; n < 3; n++)
            for (int i = 0; i < 7; i++)
                sq += (x[(n * 2 + ch) * 7 + i] - mu) * (x[(n * 2 + ch) * 7 + i] - mu);
        double v = sq / 21.0;
        for (int n = 0; n < 3; n++)
            for (int i = 0; i < 7; i++)
                want[(n * 2 + ch) * 7 + i] =
                    (float)(scale[ch] * (x[(n * 2 + ch) * 7 + i] - mu) / sqrt(v + 1e-5) +
                            bias[ch]);
        rm[ch] = (float)(mean[ch] * 0.8 + mu * 0.2);
        rv[ch] = (float)(var[ch] * 0.8 + v * 0.2);
    }
    expect_close(c.out[0].data, want, 42, "bn training y");
    expect_close(c.out[1].data, rm, 2, "bn running mean");
    expect_close(c.out[2].data, rv, 2, "bn running var");
    case_end(&c);
    free(x);
}

Test(batchnorm, infer)
{
    op_case c;
    graph_shape xs;
    int64_t xd[3] = {-1, 4, 9}, pd[1] = {4}, bad[1] = {5};
    graph_shape_init(&xs, 3, xd);
    snprintf(xs.sym[0], GRAPH_SYM_MAX, "batch");
    case_begin(&c, 15);
    case_input_shape(&c, GRAPH_DT_FLOAT, &xs);
    for (int i = 0; i < 4; i++)
        case_input(&c, GRAPH_DT_FLOAT, 1, pd, NULL);
    case_node(&c, "BatchNormalization", 1);
    cr_assert_eq(case_infer(&c), SSDC_OK, "%s", c.err.msg);
    cr_assert_str_eq(c.out_shape[0].sym[0], "batch");
    cr_assert_eq(c.out_shape[0].dims[2], 9);
    case_end(&c);

    case_begin(&c, 15);
    case_input_shape(&c, GRAPH_DT_FLOAT, &xs);
    for (int i = 0; i < 4; i++)
        case_input(&c, GRAPH_DT_FLOAT, 1, i == 2 ? bad : pd, NULL);
    case_node(&c, "BatchNormalization", 1);
    cr_assert_eq(case_infer(&c), SSDC_ERR_SHAPE);
    cr_assert(strstr(c.err.msg, "input 3 'in3'") != NULL, "%s", c.err.msg);
    case_end(&c);
}

/* ------------------------------------------------------------------ PRelu */

static void prelu_check(rng *r, int xr, const int64_t *xd, int sr, const int64_t *sd)
{
    float *x = rand_floats(r, prod(xd, xr)), *s = rand_floats(r, prod(sd, sr));
    int64_t n = prod(xd, xr);
    float *want = malloc((size_t)n * sizeof *want + 4);
    for (int64_t i = 0; i < n; i++) {
        int64_t idx[8], so = 0;
        unflatten(i, xd, xr, idx);
        for (int d = 0; d < sr; d++) {
            int xdim = xr - sr + d;
            so = so * sd[d] + (sd[d] == 1 ? 0 : idx[xdim]);
        }
        want[i] = x[i] < 0 ? x[i] * s[so] : x[i];
    }
    op_case c;
    case_begin(&c, 16);
    case_input(&c, GRAPH_DT_FLOAT, xr, xd, x);
    case_input(&c, GRAPH_DT_FLOAT, sr, sd, s);
    case_node(&c, "PRelu", 1);
    cr_assert_eq(case_run(&c), SSDC_OK, "%s", c.err.msg);
    expect_dims(&c.out[0], xr, xd, "prelu");
    expect_close(c.out[0].data, want, n, "prelu");
    case_end(&c);
    free(x), free(s), free(want);
}

Test(prelu, broadcasting)
{
    rng r = {41};
    int64_t x4[4] = {2, 3, 4, 5};
    prelu_check(&r, 4, x4, 3, (int64_t[]){3, 1, 1});
    prelu_check(&r, 4, x4, 1, (int64_t[]){5});
    prelu_check(&r, 4, x4, 1, (int64_t[]){1});
    prelu_check(&r, 4, x4, 0, NULL);
    prelu_check(&r, 4, x4, 2, (int64_t[]){4, 5});
    prelu_check(&r, 4, x4, 4, x4);
    prelu_check(&r, 4, x4, 4, (int64_t[]){1, 3, 1, 5});
    prelu_check(&r, 4, x4, 3, (int64_t[]){3, 4, 1});
    prelu_check(&r, 3, (int64_t[]){2, 1, 6}, 3, (int64_t[]){1, 1, 6});
    prelu_check(&r, 2, (int64_t[]){3, 4}, 2, (int64_t[]){3, 1});

    op_case c;
    case_begin(&c, 16);
    case_input(&c, GRAPH_DT_FLOAT, 4, x4, NULL);
    case_input(&c, GRAPH_DT_FLOAT, 1, (int64_t[]){3}, NULL);
    case_node(&c, "PRelu", 1);
    cr_assert_eq(case_infer(&c), SSDC_ERR_SHAPE);
    case_end(&c);
}

/* ---------------------------------------------------- Softmax, LogSoftmax */

static void softmax_check(rng *r, int64_t opset, int rank, const int64_t *xd, int axis,
                          bool set_axis, bool log_out, float offset)
{
    int64_t n = prod(xd, rank);
    float *x = rand_floats(r, n);
    for (int64_t i = 0; i < n; i++)
        x[i] = x[i] * 5.0f + offset;
    bool legacy = opset < 13;
    int ax = set_axis ? (axis < 0 ? axis + rank : axis) : (legacy ? 1 : rank - 1);
    int64_t outer = prod(xd, ax);
    int64_t len = legacy ? prod(xd + ax, rank - ax) : xd[ax];
    int64_t inner = legacy ? 1 : prod(xd + ax + 1, rank - ax - 1);
    float *want = malloc((size_t)n * sizeof *want + 4);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            const float *xp = x + o * len * inner + j;
            double m = -INFINITY, s = 0.0;
            for (int64_t l = 0; l < len; l++)
                m = fmax(m, xp[l * inner]);
            for (int64_t l = 0; l < len; l++)
                s += exp((double)xp[l * inner] - m);
            for (int64_t l = 0; l < len; l++) {
                double v = (double)xp[l * inner] - m;
                want[o * len * inner + j + l * inner] =
                    (float)(log_out ? v - log(s) : exp(v) / s);
            }
        }
    op_case c;
    case_begin(&c, opset);
    case_input(&c, GRAPH_DT_FLOAT, rank, xd, x);
    case_node(&c, log_out ? "LogSoftmax" : "Softmax", 1);
    if (set_axis)
        case_int(&c, "axis", axis);
    char what[96];
    snprintf(what, sizeof what, "%s opset %lld axis %d%s", log_out ? "logsoftmax" : "softmax",
             (long long)opset, axis, set_axis ? "" : " (default)");
    cr_assert_eq(case_run(&c), SSDC_OK, "%s: %s", what, c.err.msg);
    expect_dims(&c.out[0], rank, xd, what);
    expect_close(c.out[0].data, want, n, what);
    case_end(&c);
    free(x), free(want);
}

Test(softmax, axes_and_opsets)
{
    rng r = {51};
    int64_t xd[4] = {2, 3, 4, 5};
    int64_t opsets[3] = {11, 13, 17};
    for (int oi = 0; oi < 3; oi++)
        for (int log_out = 0; log_out <= 1; log_out++) {
            for (int axis = -4; axis < 4; axis++)
                softmax_check(&r, opsets[oi], 4, xd, axis, true, log_out, 0.0f);
            softmax_check(&r, opsets[oi], 4, xd, 0, false, log_out, 0.0f);
            softmax_check(&r, opsets[oi], 1, (int64_t[]){7}, 0, oi == 0, log_out, 0.0f);
            softmax_check(&r, opsets[oi], 2, (int64_t[]){3, 300}, -1, true, log_out, 0.0f);
        }
}

Test(softmax, large_numbers_are_stable)
{
    rng r = {52};
    for (int log_out = 0; log_out <= 1; log_out++) {
        softmax_check(&r, 13, 2, (int64_t[]){2, 4}, -1, false, log_out, 1000.0f);
        softmax_check(&r, 13, 3, (int64_t[]){2, 4, 3}, 1, true, log_out, -1000.0f);
        softmax_check(&r, 11, 2, (int64_t[]){2, 4}, 1, false, log_out, 10000.0f);
    }
}

Test(softmax, infer)
{
    op_case c;
    graph_shape xs;
    int64_t xd[3] = {-1, 4, 9};
    graph_shape_init(&xs, 3, xd);
    snprintf(xs.sym[0], GRAPH_SYM_MAX, "batch");
    case_begin(&c, 13);
    case_input_shape(&c, GRAPH_DT_FLOAT, &xs);
    case_node(&c, "Softmax", 1);
    cr_assert_eq(case_infer(&c), SSDC_OK, "%s", c.err.msg);
    cr_assert_str_eq(c.out_shape[0].sym[0], "batch");
    cr_assert_eq(c.out_shape[0].dims[2], 9);
    case_end(&c);
    case_begin(&c, 11);
    case_input_shape(&c, GRAPH_DT_FLOAT, &xs);
    case_node(&c, "LogSoftmax", 1);
    case_int(&c, "axis", 3);
    cr_assert_eq(case_infer(&c), SSDC_ERR_INVALID);
    cr_assert(strstr(c.err.msg, "axis 3") != NULL, "%s", c.err.msg);
    case_end(&c);
    /* opset < 13 default axis 1 does not exist for rank 1 */
    case_begin(&c, 11);
    case_input(&c, GRAPH_DT_FLOAT, 1, (int64_t[1]){5}, NULL);
    case_node(&c, "Softmax", 1);
    cr_assert_eq(case_infer(&c), SSDC_ERR_INVALID);
    case_end(&c);
}

/* Kernels of the dense training ops: SoftmaxCrossEntropyLoss (forward) and
 * ssdc's gradient ops of Conv, the pools, BatchNormalization, Softmax,
 * LogSoftmax and SoftmaxCrossEntropyLoss (graph/ops_training.def).
 *
 * Every gradient output is a fresh tensor: kernels overwrite it (zeroing
 * first where they accumulate).  ConvGrad follows the forward Conv: per image
 * and group, dW += dY . im2col(X)^T and dcol = W^T . dY, col2im'd back into dX
 * (cblas_sgemm; the padded input and the padded dX live in scratch, so
 * im2col / col2im have no bounds checks); pointwise convolutions skip im2col,
 * depthwise ones use direct loops over output rows.  The pool gradients walk
 * the window tap by tap: for each kernel offset the output positions whose
 * input lies inside the image form a range per dimension (no per-element
 * bounds checks).  MaxPoolGrad recomputes the first maximum of every window
 * as the forward does. */
#include "runtime/kernel.h"
#include "runtime/kernels/conv_pad.h"
#include "graph/ops/window.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Upper bound of the im2col tile, in floats (8 MiB), as the forward Conv. */
#define CG_TILE_FLOATS ((int64_t)1 << 21)

/* An omitted optional input / output has dtype UNDEFINED (its data is not
 * yet placed when scratch sizes are planned). */
static bool td_present(const graph_value *v)
{
    return v->dtype != GRAPH_DT_UNDEFINED;
}

/* Sums with eight partial accumulators, so the compiler vectorises them
 * (a single float accumulator is a loop-carried dependency). */
static float td_sum(const float *x, int64_t n)
{
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += x[i + j];
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; i++)
        s += x[i];
    return s;
}

/* sum a[i] * b[i * sb] */
static float td_dot(const float *a, const float *b, int64_t sb, int64_t n)
{
    float acc[8] = {0};
    int64_t i = 0;
    if (sb == 1) {
        for (; i + 8 <= n; i += 8)
            for (int j = 0; j < 8; j++)
                acc[j] += a[i + j] * b[i + j];
    } else {
        for (; i + 8 <= n; i += 8)
            for (int j = 0; j < 8; j++)
                acc[j] += a[i + j] * b[(i + j) * sb];
    }
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; i++)
        s += a[i] * b[i * sb];
    return s;
}

/* ======================= ConvGrad(dY, X, W) -> dX?, dW?, dB? ======================= */

typedef struct {
    graph_window3 w;
    int64_t batch, chans, m, group;
    int64_t cpg, mpg;    /* input / output channels per group */
    int64_t ck;          /* im2col rows: cpg * kernel_size */
    int64_t tile;        /* im2col columns per tile */
    int64_t pdims[3];    /* spatial dims of the padded input */
    int64_t pad_size;    /* product of pdims */
    bool padded, depthwise, pointwise;
    bool need_dx, need_dw, need_db;
    size_t col_floats;   /* im2col / dcol tile */
    size_t xpad_floats;  /* zero-bordered copy of X (for dW) */
    size_t dxpad_floats; /* padded dX accumulator (for dX) */
} cg_plan;

static ssdc_status cg_plan_make(const graph_node *node, const graph_value *in, int n_in,
                                const graph_value *out, int n_out, cg_plan *p, char *msg,
                                size_t size)
{
    memset(p, 0, sizeof *p);
    if (n_in < 3) {
        snprintf(msg, size, "expected inputs dY, X, W");
        return SSDC_ERR_INVALID;
    }
    const graph_value *dy = &in[0], *x = &in[1], *wt = &in[2];
    if (dy->dtype != GRAPH_DT_FLOAT || x->dtype != GRAPH_DT_FLOAT || wt->dtype != GRAPH_DT_FLOAT) {
        snprintf(msg, size, "only float tensors are supported (dY is %s, X is %s, W is %s)",
                 graph_dtype_name(dy->dtype), graph_dtype_name(x->dtype),
                 graph_dtype_name(wt->dtype));
        return SSDC_ERR_UNSUPPORTED;
    }
    int n = x->rank - 2;
    if (n < 1 || n > GRAPH_WINDOW_MAX_SPATIAL || wt->rank != x->rank || dy->rank != x->rank) {
        snprintf(msg, size, "dY, X and W have ranks %d, %d, %d, expected equal ranks 3 to %d",
                 dy->rank, x->rank, wt->rank, GRAPH_WINDOW_MAX_SPATIAL + 2);
        return SSDC_ERR_SHAPE;
    }
    p->batch = x->dims[0];
    p->chans = x->dims[1];
    p->m = wt->dims[0];
    p->cpg = wt->dims[1];
    p->group = graph_attr_int(node, "group", 1);
    if (p->group < 1 || p->m % p->group || p->cpg * p->group != p->chans) {
        snprintf(msg, size,
                 "W has %lld output and %lld input channels per group, X has %lld channels, "
                 "group %lld",
                 (long long)p->m, (long long)p->cpg, (long long)p->chans, (long long)p->group);
        return SSDC_ERR_SHAPE;
    }
    p->mpg = p->m / p->group;
    graph_window win;
    ssdc_status st = graph_window_resolve(node, n, x->dims + 2, wt->dims + 2, true, &win, msg, size);
    if (st)
        return st;
    bool ok = dy->dims[0] == p->batch && dy->dims[1] == p->m;
    for (int d = 0; ok && d < n; d++)
        ok = dy->dims[2 + d] == win.out[d];
    if (!ok) {
        snprintf(msg, size, "dY does not have the output shape of the convolution");
        return SSDC_ERR_SHAPE;
    }
    p->need_dx = n_out > 0 && td_present(&out[0]);
    p->need_dw = n_out > 1 && td_present(&out[1]);
    p->need_db = n_out > 2 && td_present(&out[2]);
    if ((p->need_dx && (out[0].dtype != GRAPH_DT_FLOAT || out[0].numel != x->numel)) ||
        (p->need_dw && (out[1].dtype != GRAPH_DT_FLOAT || out[1].numel != wt->numel)) ||
        (p->need_db && (out[2].dtype != GRAPH_DT_FLOAT || out[2].numel != p->m))) {
        snprintf(msg, size, "outputs must be float shaped like X, W and [M]");
        return SSDC_ERR_SHAPE;
    }
    graph_window_to3(&win, &p->w);
    p->ck = p->cpg * p->w.kernel_size;
    p->depthwise = p->group > 1 && p->cpg == 1;
    p->pointwise = p->w.kernel_size == 1;
    for (int d = 0; d < 3; d++)
        if (p->w.stride[d] != 1 || p->w.pad_begin[d] || p->w.pad_end[d])
            p->pointwise = false;
    p->tile = p->w.out_size;
    if (p->ck > 0 && p->ck * p->tile > CG_TILE_FLOATS) {
        p->tile = CG_TILE_FLOATS / p->ck;
        if (p->tile < 64)
            p->tile = 64 < p->w.out_size ? 64 : p->w.out_size;
    }
    p->pad_size = 1;
    for (int d = 0; d < 3; d++) {
        p->pdims[d] = p->w.in[d] + p->w.pad_begin[d] + p->w.pad_end[d];
        p->padded = p->padded || p->w.pad_begin[d] || p->w.pad_end[d];
        p->pad_size *= p->pdims[d];
    }
    if (!p->depthwise && !p->pointwise && p->ck > 0 && p->w.out_size > 0 &&
        (p->need_dx || p->need_dw)) {
        p->col_floats = ((size_t)p->ck * (size_t)p->tile + 15) / 16 * 16;
        if (p->padded) {
            size_t plane = ((size_t)p->cpg * (size_t)p->pad_size + 15) / 16 * 16;
            p->xpad_floats = p->need_dw ? plane : 0;
            p->dxpad_floats = p->need_dx ? plane : 0;
        }
    }
    return SSDC_OK;
}


/* The interior of the padded planes xp back into x (overwrites x). */
static void cg_unpad(const float *xp, const graph_window3 *w, const int64_t pd[3], int64_t chans,
                     float *x)
{
    const int64_t ih_n = w->in[1], iw_n = w->in[2];
    for (int64_t c = 0; c < chans; c++) {
        const float *pc = xp + c * pd[0] * pd[1] * pd[2];
        float *xc = x + c * w->in_size;
        for (int64_t id = 0; id < w->in[0]; id++)
            for (int64_t ih = 0; ih < ih_n; ih++)
                memcpy(xc + (id * ih_n + ih) * iw_n,
                       pc + ((id + w->pad_begin[0]) * pd[1] + ih + w->pad_begin[1]) * pd[2] +
                           w->pad_begin[2],
                       (size_t)iw_n * sizeof *xc);
    }
}

/* im2col (to_col) or col2im (accumulating) of output positions [p0, p0 +
 * cols) against the (padded) planes xp of spatial dims pd: row (c, kd, kh,
 * kw) of col pairs with xp[c, od*s0 + kd*d0, oh*s1 + kh*d1, ow*s2 + kw*d2]. */
static void cg_cols(float *xp, const int64_t pd[3], const graph_window3 *w, int64_t chans,
                    int64_t p0, int64_t cols, float *col, bool to_col)
{
    const int64_t oh_n = w->out[1], ow_n = w->out[2], sw = w->stride[2];
    const int64_t plane = pd[0] * pd[1] * pd[2];
    const int64_t step_d = w->stride[0] * pd[1] * pd[2], step_h = w->stride[1] * pd[2];
    const int64_t q0 = p0 / ow_n, q1 = (p0 + cols - 1) / ow_n;
    float *cr = col;
    for (int64_t c = 0; c < chans; c++)
        for (int64_t kd = 0; kd < w->kernel[0]; kd++)
            for (int64_t kh = 0; kh < w->kernel[1]; kh++)
                for (int64_t kw = 0; kw < w->kernel[2]; kw++, cr += cols) {
                    float *base = xp + c * plane +
                                  (kd * w->dilation[0] * pd[1] + kh * w->dilation[1]) * pd[2] +
                                  kw * w->dilation[2];
                    int64_t od = q0 / oh_n, oh = q0 % oh_n;
                    for (int64_t q = q0; q <= q1; q++) {
                        int64_t a = q == q0 ? p0 - q * ow_n : 0;
                        int64_t e = q == q1 ? p0 + cols - q * ow_n : ow_n;
                        float *img = base + od * step_d + oh * step_h + a * sw;
                        float *seg = cr + (q * ow_n + a - p0);
                        const int64_t len = e - a;
                        if (to_col) {
                            if (sw == 1)
                                for (int64_t i = 0; i < len; i++)
                                    seg[i] = img[i];
                            else
                                for (int64_t i = 0; i < len; i++)
                                    seg[i] = img[i * sw];
                        } else {
                            if (sw == 1)
                                for (int64_t i = 0; i < len; i++)
                                    img[i] += seg[i];
                            else
                                for (int64_t i = 0; i < len; i++)
                                    img[i * sw] += seg[i];
                        }
                        if (++oh == oh_n) {
                            oh = 0;
                            od++;
                        }
                    }
                }
}

/* Depthwise (one input channel per group) gradients of one image:
 * dw[m, tap] += sum dy[m, o] * x[shifted], dx[shifted] += w[m, tap] * dy[m, o]. */
static void cg_depthwise(const float *x, const float *wt, const float *dy, const cg_plan *p,
                         float *dx, float *dw)
{
    const graph_window3 *w = &p->w;
    const int64_t ih_n = w->in[1], iw_n = w->in[2], oh_n = w->out[1], ow_n = w->out[2];
    const int64_t sw = w->stride[2];
    for (int64_t m = 0; m < p->m; m++) {
        const int64_t ci = (m / p->mpg) * w->in_size;
        const float *xc = x + ci;
        float *dxc = dx ? dx + ci : NULL;
        const float *wm = wt + m * w->kernel_size;
        float *dwm = dw ? dw + m * w->kernel_size : NULL;
        const float *dym = dy + m * w->out_size;
        for (int64_t kd = 0; kd < w->kernel[0]; kd++) {
            int64_t off_d = kd * w->dilation[0] - w->pad_begin[0], lo_d, hi_d;
            graph_window_tap_range(w->out[0], w->stride[0], off_d, 0, w->in[0], &lo_d, &hi_d);
            for (int64_t kh = 0; kh < w->kernel[1]; kh++) {
                int64_t off_h = kh * w->dilation[1] - w->pad_begin[1], lo_h, hi_h;
                graph_window_tap_range(oh_n, w->stride[1], off_h, 0, ih_n, &lo_h, &hi_h);
                for (int64_t kw = 0; kw < w->kernel[2]; kw++) {
                    int64_t off_w = kw * w->dilation[2] - w->pad_begin[2], lo, hi;
                    graph_window_tap_range(ow_n, sw, off_w, 0, iw_n, &lo, &hi);
                    if (lo >= hi)
                        continue;
                    const int64_t tap = (kd * w->kernel[1] + kh) * w->kernel[2] + kw;
                    const float wv = wm[tap];
                    float acc = 0.0f;
                    for (int64_t od = lo_d; od < hi_d; od++) {
                        int64_t id = od * w->stride[0] + off_d;
                        for (int64_t oh = lo_h; oh < hi_h; oh++) {
                            int64_t ih = oh * w->stride[1] + off_h;
                            const int64_t ioff = (id * ih_n + ih) * iw_n + lo * sw + off_w;
                            const float *g = dym + (od * oh_n + oh) * ow_n + lo;
                            const int64_t len = hi - lo;
                            const float *s = xc + ioff;
                            if (dwm)
                                acc += td_dot(g, s, sw, len);
                            if (dxc) {
                                float *d = dxc + ioff;
                                if (sw == 1)
                                    for (int64_t i = 0; i < len; i++)
                                        d[i] += wv * g[i];
                                else
                                    for (int64_t i = 0; i < len; i++)
                                        d[i * sw] += wv * g[i];
                            }
                        }
                    }
                    if (dwm)
                        dwm[tap] += acc;
                }
            }
        }
    }
}

static size_t convgrad_scratch(const graph_node *node, const graph_value *in, int n_in,
                               const graph_value *out, int n_out)
{
    cg_plan p;
    char msg[256];
    if (cg_plan_make(node, in, n_in, out, n_out, &p, msg, sizeof msg))
        return 0;
    return (p.col_floats + p.xpad_floats + p.dxpad_floats) * sizeof(float);
}

static ssdc_status convgrad_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                    graph_value *out, int n_out, ssdc_error *err)
{
    cg_plan p;
    char msg[512];
    ssdc_status st = cg_plan_make(ctx->node, in, n_in, out, n_out, &p, msg, sizeof msg);
    if (st)
        return rt_kernel_fail(ctx, err, st, "%s", msg);
    size_t need = (p.col_floats + p.xpad_floats + p.dxpad_floats) * sizeof(float);
    if (ctx->scratch_bytes < need)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                              "scratch of %zu bytes, need %zu for im2col", ctx->scratch_bytes,
                              need);
    const graph_window3 *w = &p.w;
    const float *dy = in[0].data, *x = in[1].data, *wt = in[2].data;
    float *dx = p.need_dx ? out[0].data : NULL;
    float *dw = p.need_dw ? out[1].data : NULL;
    float *db = p.need_db ? out[2].data : NULL;
    if (dx)
        memset(dx, 0, (size_t)in[1].numel * sizeof *dx);
    if (dw)
        memset(dw, 0, (size_t)in[2].numel * sizeof *dw);
    if (db) {
        for (int64_t m = 0; m < p.m; m++) {
            float acc = 0.0f;
            for (int64_t n = 0; n < p.batch; n++)
                acc += td_sum(dy + (n * p.m + m) * w->out_size, w->out_size);
            db[m] = acc;
        }
    }
    if ((!dx && !dw) || p.ck == 0 || w->out_size == 0)
        return SSDC_OK;
    float *col = ctx->scratch, *xpad = col + p.col_floats, *dxpad = xpad + p.xpad_floats;
    for (int64_t n = 0; n < p.batch; n++) {
        const float *xn = x + n * p.chans * w->in_size;
        const float *dyn = dy + n * p.m * w->out_size;
        float *dxn = dx ? dx + n * p.chans * w->in_size : NULL;
        if (p.depthwise) {
            cg_depthwise(xn, wt, dyn, &p, dxn, dw);
            continue;
        }
        for (int64_t g = 0; g < p.group; g++) {
            const float *xg = xn + g * p.cpg * w->in_size;
            const float *dyg = dyn + g * p.mpg * w->out_size;
            const float *wg = wt + g * p.mpg * p.ck;
            float *dwg = dw ? dw + g * p.mpg * p.ck : NULL;
            float *dxg = dxn ? dxn + g * p.cpg * w->in_size : NULL;
            if (p.pointwise) {
                /* dW_g += dY_g . X_g^T ; dX_g = W_g^T . dY_g */
                if (dwg)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)p.mpg, (int)p.ck,
                                (int)w->out_size, 1.0f, dyg, (int)w->out_size, xg,
                                (int)w->in_size, 1.0f, dwg, (int)p.ck);
                if (dxg)
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)p.ck,
                                (int)w->out_size, (int)p.mpg, 1.0f, wg, (int)p.ck, dyg,
                                (int)w->out_size, 0.0f, dxg, (int)w->in_size);
                continue;
            }
            float *src = (float *)xg;
            const int64_t *sdims = w->in;
            if (p.padded) {
                sdims = p.pdims;
                if (dwg) {
                    rt_conv_pad_input(xg, w, p.pdims, p.cpg, xpad);
                    src = xpad;
                }
                if (dxg)
                    memset(dxpad, 0, (size_t)(p.cpg * p.pad_size) * sizeof *dxpad);
            }
            float *dst = dxg ? (p.padded ? dxpad : dxg) : NULL;
            for (int64_t p0 = 0; p0 < w->out_size; p0 += p.tile) {
                int64_t cols = w->out_size - p0 < p.tile ? w->out_size - p0 : p.tile;
                if (dwg) {
                    cg_cols(src, sdims, w, p.cpg, p0, cols, col, true);
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)p.mpg, (int)p.ck,
                                (int)cols, 1.0f, dyg + p0, (int)w->out_size, col, (int)cols,
                                1.0f, dwg, (int)p.ck);
                }
                if (dst) {
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)p.ck, (int)cols,
                                (int)p.mpg, 1.0f, wg, (int)p.ck, dyg + p0, (int)w->out_size,
                                0.0f, col, (int)cols);
                    cg_cols(dst, sdims, w, p.cpg, p0, cols, col, false);
                }
            }
            if (dxg && p.padded)
                cg_unpad(dxpad, w, p.pdims, p.cpg, dxg);
        }
    }
    return SSDC_OK;
}

const rt_kernel rt_kernel_convgrad = {
    .forward = convgrad_forward,
    .scratch = convgrad_scratch,
};

/* ======================= pool gradients ======================= */

/* Window of a pool gradient node from X (in[1]); checks dY (in[0]) and dX. */
static ssdc_status pg_window(const rt_kernel_ctx *ctx, const graph_node *node,
                             const graph_value *in, int n_in, const graph_value *out, int n_out,
                             graph_window3 *w3, ssdc_error *err)
{
    if (n_in < 2 || n_out < 1)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "expected inputs dY, X and output dX");
    const graph_value *dy = &in[0], *x = &in[1];
    if (dy->dtype != GRAPH_DT_FLOAT || x->dtype != GRAPH_DT_FLOAT ||
        out[0].dtype != GRAPH_DT_FLOAT)
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED,
                              "only float tensors are supported (dY is %s, X is %s)",
                              graph_dtype_name(dy->dtype), graph_dtype_name(x->dtype));
    int n = x->rank - 2;
    if (n < 1 || n > GRAPH_WINDOW_MAX_SPATIAL || dy->rank != x->rank || out[0].numel != x->numel)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "X has rank %d, dY rank %d, expected 3 to %d",
                              x->rank, dy->rank, GRAPH_WINDOW_MAX_SPATIAL + 2);
    graph_window w;
    char msg[512];
    ssdc_status st = graph_window_resolve(node, n, x->dims + 2, NULL, true, &w, msg, sizeof msg);
    if (st)
        return rt_kernel_fail(ctx, err, st, "%s", msg);
    bool ok = dy->dims[0] == x->dims[0] && dy->dims[1] == x->dims[1];
    for (int d = 0; ok && d < n; d++)
        ok = dy->dims[2 + d] == w.out[d];
    if (!ok)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                              "dY does not have the output shape of the pooling");
    graph_window_to3(&w, w3);
    return SSDC_OK;
}

/* ---- MaxPoolGrad(dY, X) -> dX ---- */

static size_t maxpoolgrad_scratch(const graph_node *node, const graph_value *in, int n_in,
                                  const graph_value *out, int n_out)
{
    rt_kernel_ctx ctx = {.node = node};
    graph_window3 w = {0};
    if (pg_window(&ctx, node, in, n_in, out, n_out, &w, NULL))
        return 0;
    return (size_t)w.out_size * (sizeof(float) + sizeof(int64_t));
}

static ssdc_status maxpoolgrad_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                       graph_value *out, int n_out, ssdc_error *err)
{
    graph_window3 w;
    ssdc_status st = pg_window(ctx, ctx->node, in, n_in, out, n_out, &w, err);
    if (st)
        return st;
    size_t need = (size_t)w.out_size * (sizeof(float) + sizeof(int64_t));
    if (ctx->scratch_bytes < need)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "scratch of %zu bytes, need %zu",
                              ctx->scratch_bytes, need);
    int64_t *arg = ctx->scratch;
    float *best = (float *)(arg + w.out_size);
    const int64_t ih_n = w.in[1], iw_n = w.in[2], oh_n = w.out[1], ow_n = w.out[2];
    const int64_t sw = w.stride[2];
    const int64_t planes = in[1].dims[0] * in[1].dims[1];
    const float *dy = in[0].data, *x = in[1].data;
    float *dx = out[0].data;
    memset(dx, 0, (size_t)out[0].numel * sizeof *dx);
    for (int64_t pl = 0; pl < planes; pl++) {
        const float *xp = x + pl * w.in_size;
        for (int64_t i = 0; i < w.out_size; i++) {
            best[i] = -INFINITY;
            arg[i] = -1;
        }
        /* taps in window order, strict >: the first maximum wins (taps that
         * read only padding are skipped: graph_window_tap_span) */
        int64_t kd0, kd1, kh0, kh1, kw0, kw1;
        graph_window_tap_span(w.kernel[0], w.dilation[0], w.pad_begin[0], w.in[0], w.out[0],
                              w.stride[0], &kd0, &kd1);
        graph_window_tap_span(w.kernel[1], w.dilation[1], w.pad_begin[1], ih_n, oh_n, w.stride[1],
                              &kh0, &kh1);
        graph_window_tap_span(w.kernel[2], w.dilation[2], w.pad_begin[2], iw_n, ow_n, sw, &kw0,
                              &kw1);
        for (int64_t kd = kd0; kd < kd1; kd++) {
            int64_t off_d = kd * w.dilation[0] - w.pad_begin[0], lo_d, hi_d;
            graph_window_tap_range(w.out[0], w.stride[0], off_d, 0, w.in[0], &lo_d, &hi_d);
            for (int64_t kh = kh0; kh < kh1; kh++) {
                int64_t off_h = kh * w.dilation[1] - w.pad_begin[1], lo_h, hi_h;
                graph_window_tap_range(oh_n, w.stride[1], off_h, 0, ih_n, &lo_h, &hi_h);
                for (int64_t kw = kw0; kw < kw1; kw++) {
                    int64_t off_w = kw * w.dilation[2] - w.pad_begin[2], lo, hi;
                    graph_window_tap_range(ow_n, sw, off_w, 0, iw_n, &lo, &hi);
                    if (lo >= hi)
                        continue;
                    for (int64_t od = lo_d; od < hi_d; od++) {
                        int64_t id = od * w.stride[0] + off_d;
                        for (int64_t oh = lo_h; oh < hi_h; oh++) {
                            int64_t ih = oh * w.stride[1] + off_h;
                            /* input index of output lo, then stepping by sw */
                            const int64_t ibase = (id * ih_n + ih) * iw_n + lo * sw + off_w;
                            const float *src = xp + ibase;
                            const int64_t orow = (od * oh_n + oh) * ow_n + lo;
                            float *b = best + orow;
                            int64_t *a = arg + orow;
                            for (int64_t i = 0; i < hi - lo; i++) {
                                const float v = src[i * sw];
                                if (v > b[i] || a[i] < 0) {
                                    b[i] = v;
                                    a[i] = ibase + i * sw;
                                }
                            }
                        }
                    }
                }
            }
        }
        const float *g = dy + pl * w.out_size;
        float *d = dx + pl * w.in_size;
        for (int64_t i = 0; i < w.out_size; i++)
            if (arg[i] >= 0)
                d[arg[i]] += g[i];
    }
    return SSDC_OK;
}

const rt_kernel rt_kernel_maxpoolgrad = {
    .forward = maxpoolgrad_forward,
    .scratch = maxpoolgrad_scratch,
};

/* ---- AveragePoolGrad(dY, X) -> dX ---- */

/* inv[o] = 1 / (number of window taps of output o that are counted), as the
 * forward AveragePool. */
static void pg_avg_inverse_counts(const graph_window3 *w, int d, bool include_pad, float *inv)
{
    int64_t lo_b = include_pad ? -w->pad_begin[d] : 0;
    int64_t hi_b = include_pad ? w->in[d] + w->pad_end[d] : w->in[d];
    for (int64_t o = 0; o < w->out[d]; o++) {
        int64_t count = 0;
        for (int64_t k = 0; k < w->kernel[d]; k++) {
            int64_t pos = o * w->stride[d] - w->pad_begin[d] + k * w->dilation[d];
            count += pos >= lo_b && pos < hi_b;
        }
        inv[o] = count ? 1.0f / (float)count : 0.0f;
    }
}

/* Scratch: the W taps' output ranges [lo, hi) (2 * kernel_w int64), then
 * the inverse counts per dimension and one scaled dY row (floats). */
static size_t apg_scratch_bytes(const graph_window3 *w)
{
    return 2 * (size_t)w->kernel[2] * sizeof(int64_t) +
           (size_t)(w->out[0] + w->out[1] + 2 * w->out[2]) * sizeof(float);
}

static size_t averagepoolgrad_scratch(const graph_node *node, const graph_value *in, int n_in,
                                      const graph_value *out, int n_out)
{
    rt_kernel_ctx ctx = {.node = node};
    graph_window3 w = {0};
    if (pg_window(&ctx, node, in, n_in, out, n_out, &w, NULL))
        return 0;
    return apg_scratch_bytes(&w);
}

static ssdc_status averagepoolgrad_forward(const rt_kernel_ctx *ctx, const graph_value *in,
                                           int n_in, graph_value *out, int n_out, ssdc_error *err)
{
    graph_window3 w;
    ssdc_status st = pg_window(ctx, ctx->node, in, n_in, out, n_out, &w, err);
    if (st)
        return st;
    size_t need = apg_scratch_bytes(&w);
    if (ctx->scratch_bytes < need)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "scratch of %zu bytes, need %zu",
                              ctx->scratch_bytes, need);
    const int64_t ih_n = w.in[1], iw_n = w.in[2], oh_n = w.out[1], ow_n = w.out[2];
    const int64_t sw = w.stride[2], kw_n = w.kernel[2];
    int64_t *lo_w = ctx->scratch, *hi_w = lo_w + kw_n;
    float *inv_d = (float *)(hi_w + kw_n), *inv_h = inv_d + w.out[0], *inv_w = inv_h + w.out[1];
    float *grow = inv_w + w.out[2];
    bool include_pad = graph_attr_int(ctx->node, "count_include_pad", 0) != 0;
    pg_avg_inverse_counts(&w, 0, include_pad, inv_d);
    pg_avg_inverse_counts(&w, 1, include_pad, inv_h);
    pg_avg_inverse_counts(&w, 2, include_pad, inv_w);
    for (int64_t kw = 0; kw < kw_n; kw++)
        graph_window_tap_range(ow_n, sw, kw * w.dilation[2] - w.pad_begin[2], 0, iw_n, &lo_w[kw],
                               &hi_w[kw]);
    int64_t kw0, kw1; /* the taps along W that read the input for some output */
    graph_window_tap_span(kw_n, w.dilation[2], w.pad_begin[2], iw_n, ow_n, sw, &kw0, &kw1);
    const int64_t planes = in[1].dims[0] * in[1].dims[1];
    const float *dy = in[0].data;
    float *dx = out[0].data;
    memset(dx, 0, (size_t)out[0].numel * sizeof *dx);
    for (int64_t pl = 0; pl < planes; pl++) {
        const float *gp = dy + pl * w.out_size;
        float *dp = dx + pl * w.in_size;
        for (int64_t od = 0; od < w.out[0]; od++)
            for (int64_t oh = 0; oh < oh_n; oh++) {
                const float f = inv_d[od] * inv_h[oh];
                const float *g = gp + (od * oh_n + oh) * ow_n;
                for (int64_t ow = 0; ow < ow_n; ow++)
                    grow[ow] = g[ow] * f * inv_w[ow];
                /* only the taps of this output that read the input */
                int64_t kd0, kd1, kh0, kh1;
                graph_window_tap_span(w.kernel[0], w.dilation[0],
                                      w.pad_begin[0] - od * w.stride[0], w.in[0], 1, 1, &kd0, &kd1);
                graph_window_tap_span(w.kernel[1], w.dilation[1],
                                      w.pad_begin[1] - oh * w.stride[1], ih_n, 1, 1, &kh0, &kh1);
                for (int64_t kd = kd0; kd < kd1; kd++) {
                    int64_t id = od * w.stride[0] - w.pad_begin[0] + kd * w.dilation[0];
                    if (id < 0 || id >= w.in[0])
                        continue;
                    for (int64_t kh = kh0; kh < kh1; kh++) {
                        int64_t ih = oh * w.stride[1] - w.pad_begin[1] + kh * w.dilation[1];
                        if (ih < 0 || ih >= ih_n)
                            continue;
                        float *row = dp + (id * ih_n + ih) * iw_n;
                        for (int64_t kw = kw0; kw < kw1; kw++) {
                            const int64_t lo = lo_w[kw], len = hi_w[kw] - lo;
                            float *r = row + (lo * sw + kw * w.dilation[2] - w.pad_begin[2]);
                            const float *gr = grow + lo;
                            if (sw == 1)
                                for (int64_t i = 0; i < len; i++)
                                    r[i] += gr[i];
                            else
                                for (int64_t i = 0; i < len; i++)
                                    r[i * sw] += gr[i];
                        }
                    }
                }
            }
    }
    return SSDC_OK;
}

const rt_kernel rt_kernel_averagepoolgrad = {
    .forward = averagepoolgrad_forward,
    .scratch = averagepoolgrad_scratch,
};

/* ---- GlobalAveragePoolGrad / GlobalMaxPoolGrad (dY, X) -> dX ---- */

static ssdc_status pg_global_check(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                   const graph_value *out, int n_out, int64_t *planes,
                                   int64_t *size, ssdc_error *err)
{
    if (n_in < 2 || n_out < 1)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "expected inputs dY, X and output dX");
    const graph_value *dy = &in[0], *x = &in[1];
    if (dy->dtype != GRAPH_DT_FLOAT || x->dtype != GRAPH_DT_FLOAT ||
        out[0].dtype != GRAPH_DT_FLOAT)
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED,
                              "only float tensors are supported (dY is %s, X is %s)",
                              graph_dtype_name(dy->dtype), graph_dtype_name(x->dtype));
    if (x->rank < 2 || out[0].numel != x->numel)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "X has rank %d, expected at least 2",
                              x->rank);
    *planes = x->dims[0] * x->dims[1];
    if (dy->numel != *planes)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "dY has %lld elements, expected %lld",
                              (long long)dy->numel, (long long)*planes);
    *size = *planes ? x->numel / *planes : 0;
    return SSDC_OK;
}

static ssdc_status globalaveragepoolgrad_forward(const rt_kernel_ctx *ctx, const graph_value *in,
                                                 int n_in, graph_value *out, int n_out,
                                                 ssdc_error *err)
{
    int64_t planes, size;
    ssdc_status st = pg_global_check(ctx, in, n_in, out, n_out, &planes, &size, err);
    if (st)
        return st;
    const float *dy = in[0].data;
    float *dx = out[0].data;
    const float inv = size ? 1.0f / (float)size : 0.0f;
    for (int64_t p = 0; p < planes; p++) {
        const float v = dy[p] * inv;
        float *d = dx + p * size;
        for (int64_t i = 0; i < size; i++)
            d[i] = v;
    }
    return SSDC_OK;
}

static ssdc_status globalmaxpoolgrad_forward(const rt_kernel_ctx *ctx, const graph_value *in,
                                             int n_in, graph_value *out, int n_out,
                                             ssdc_error *err)
{
    int64_t planes, size;
    ssdc_status st = pg_global_check(ctx, in, n_in, out, n_out, &planes, &size, err);
    if (st)
        return st;
    const float *dy = in[0].data, *x = in[1].data;
    float *dx = out[0].data;
    memset(dx, 0, (size_t)out[0].numel * sizeof *dx);
    for (int64_t p = 0; p < planes; p++) {
        const float *xp = x + p * size;
        if (size == 0)
            continue;
        int64_t best = 0;
        float m = xp[0];
        for (int64_t i = 1; i < size; i++)
            if (xp[i] > m) {
                m = xp[i];
                best = i;
            }
        dx[p * size + best] = dy[p];
    }
    return SSDC_OK;
}

const rt_kernel rt_kernel_globalaveragepoolgrad = {
    .forward = globalaveragepoolgrad_forward,
};

const rt_kernel rt_kernel_globalmaxpoolgrad = {
    .forward = globalmaxpoolgrad_forward,
};

/* ======================= BatchNormalizationGrad(dY, X, scale) -> dX?, dScale?, dBias? ======== */

/* Adds sum (x - mu)^2, sum g and sum g * (x - mu) over one row (eight
 * partial sums each, vectorisable). */
static void bn_row_sums(const float *x, const float *g, int64_t n, float mu, double *sq,
                        double *sg, double *sgx)
{
    float a[8] = {0}, b[8] = {0}, c[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) {
            const float xc = x[i + j] - mu;
            a[j] += xc * xc;
            b[j] += g[i + j];
            c[j] += g[i + j] * xc;
        }
    for (; i < n; i++) {
        const float xc = x[i] - mu;
        a[0] += xc * xc;
        b[0] += g[i];
        c[0] += g[i] * xc;
    }
    for (int j = 0; j < 8; j++) {
        *sq += a[j];
        *sg += b[j];
        *sgx += c[j];
    }
}

/* With the batch statistics of X (biased variance, as the forward training
 * kernel): xhat = (x - mean) * invstd, dBias = sum dY, dScale = sum dY * xhat,
 * dX = scale * invstd / M * (M * dY - dBias - xhat * dScale). */
static ssdc_status bngrad_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                  graph_value *out, int n_out, ssdc_error *err)
{
    if (n_in < 3)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "expected inputs dY, X, scale");
    const graph_value *dyv = &in[0], *xv = &in[1], *sv = &in[2];
    for (int i = 0; i < 3; i++)
        if (in[i].dtype != GRAPH_DT_FLOAT)
            return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED,
                                  "input %d has dtype %s, only float is supported", i,
                                  graph_dtype_name(in[i].dtype));
    if (xv->rank < 2 || dyv->numel != xv->numel)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                              "X has rank %d and %lld elements, dY %lld elements", xv->rank,
                              (long long)xv->numel, (long long)dyv->numel);
    const int64_t batch = xv->dims[0], chans = xv->dims[1];
    const int64_t size = batch * chans != 0 ? xv->numel / (batch * chans) : 0;
    if (sv->numel != chans)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "scale has %lld elements, expected %lld",
                              (long long)sv->numel, (long long)chans);
    float *dx = n_out > 0 && td_present(&out[0]) ? out[0].data : NULL;
    float *dscale = n_out > 1 && td_present(&out[1]) ? out[1].data : NULL;
    float *dbias = n_out > 2 && td_present(&out[2]) ? out[2].data : NULL;
    if ((dx && (out[0].dtype != GRAPH_DT_FLOAT || out[0].numel != xv->numel)) ||
        (dscale && (out[1].dtype != GRAPH_DT_FLOAT || out[1].numel != chans)) ||
        (dbias && (out[2].dtype != GRAPH_DT_FLOAT || out[2].numel != chans)))
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                              "outputs must be float shaped like X, scale and scale");
    const float eps = graph_attr_float(ctx->node, "epsilon", 1e-5f);
    const float *dy = dyv->data, *x = xv->data, *scale = sv->data;
    const double count = (double)(batch * size);
    for (int64_t c = 0; c < chans; c++) {
        double sum = 0.0;
        for (int64_t n = 0; n < batch; n++)
            sum += td_sum(x + (n * chans + c) * size, size);
        const double mu = count > 0 ? sum / count : 0.0;
        double sq = 0.0, sdy = 0.0, sdyx = 0.0;
        for (int64_t n = 0; n < batch; n++)
            bn_row_sums(x + (n * chans + c) * size, dy + (n * chans + c) * size, size, (float)mu,
                        &sq, &sdy, &sdyx);
        const double var = count > 0 ? sq / count : 0.0;
        const double invstd = 1.0 / sqrt(var + (double)eps);
        const double ds = sdyx * invstd; /* sum dY * xhat */
        if (dscale)
            dscale[c] = (float)ds;
        if (dbias)
            dbias[c] = (float)sdy;
        if (!dx)
            continue;
        /* dx = k * (dy - mean(dy) - (x - mu) * invstd^2 * mean(dy * (x - mu))) */
        const double k = (double)scale[c] * invstd;
        const float a = (float)k, muf = (float)mu;
        const float b = count > 0 ? (float)(-k * sdy / count) : 0.0f;
        const float cx = count > 0 ? (float)(-k * invstd * ds / count) : 0.0f;
        for (int64_t n = 0; n < batch; n++) {
            const float *xp = x + (n * chans + c) * size;
            const float *gp = dy + (n * chans + c) * size;
            float *dp = dx + (n * chans + c) * size;
            for (int64_t i = 0; i < size; i++)
                dp[i] = a * gp[i] + cx * (xp[i] - muf) + b;
        }
    }
    return SSDC_OK;
}

const rt_kernel rt_kernel_batchnormalizationgrad = {
    .forward = bngrad_forward,
};

/* ======================= SoftmaxGrad / LogSoftmaxGrad (dY, Y) -> dX ======================= */

typedef struct {
    int64_t outer, len, inner;
} sm_dims;

static bool sm_layout(const graph_value *y, int64_t axis, sm_dims *d)
{
    if (y->rank < 1 || axis < -y->rank || axis >= y->rank)
        return false;
    int ax = (int)(axis < 0 ? axis + y->rank : axis);
    d->outer = d->len = d->inner = 1;
    for (int i = 0; i < y->rank; i++) {
        if (i < ax)
            d->outer *= y->dims[i];
        else if (i == ax)
            d->len *= y->dims[i];
        else
            d->inner *= y->dims[i];
    }
    return true;
}

static size_t smgrad_scratch(const graph_node *node, const graph_value *in, int n_in,
                             const graph_value *out, int n_out)
{
    sm_dims d;
    if (n_in < 2 || !sm_layout(&in[1], graph_attr_int(node, "axis", -1), &d) || d.inner == 1)
        return 0;
    return (size_t)d.inner * sizeof(float);
}

/* log_out: LogSoftmaxGrad, dX = dY - exp(Y) * sum(dY); else SoftmaxGrad,
 * dX = Y * (dY - sum(dY * Y)). */
static ssdc_status smgrad_run(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                              graph_value *out, int n_out, bool log_out, ssdc_error *err)
{
    if (n_in < 2 || n_out < 1)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "expected inputs dY, Y and output dX");
    const graph_value *dyv = &in[0], *yv = &in[1];
    if (dyv->dtype != GRAPH_DT_FLOAT || yv->dtype != GRAPH_DT_FLOAT ||
        out[0].dtype != GRAPH_DT_FLOAT)
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED,
                              "only float tensors are supported (dY is %s, Y is %s)",
                              graph_dtype_name(dyv->dtype), graph_dtype_name(yv->dtype));
    if (dyv->numel != yv->numel || out[0].numel != yv->numel)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "dY has %lld elements, Y %lld",
                              (long long)dyv->numel, (long long)yv->numel);
    int64_t axis = graph_attr_int(ctx->node, "axis", -1);
    sm_dims d;
    if (!sm_layout(yv, axis, &d))
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "axis %lld is out of range for rank %d",
                              (long long)axis, yv->rank);
    if (yv->numel == 0)
        return SSDC_OK;
    const float *dy = dyv->data, *y = yv->data;
    float *dx = out[0].data;
    if (d.inner == 1) {
        for (int64_t o = 0; o < d.outer; o++) {
            const float *g = dy + o * d.len, *yr = y + o * d.len;
            float *dr = dx + o * d.len;
            float s = 0.0f;
            if (log_out) {
                for (int64_t i = 0; i < d.len; i++)
                    s += g[i];
                for (int64_t i = 0; i < d.len; i++)
                    dr[i] = g[i] - expf(yr[i]) * s;
            } else {
                for (int64_t i = 0; i < d.len; i++)
                    s += g[i] * yr[i];
                for (int64_t i = 0; i < d.len; i++)
                    dr[i] = yr[i] * (g[i] - s);
            }
        }
        return SSDC_OK;
    }
    size_t need = (size_t)d.inner * sizeof(float);
    if (ctx->scratch_bytes < need)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "scratch of %zu bytes, need %zu",
                              ctx->scratch_bytes, need);
    float *s = ctx->scratch;
    const int64_t inner = d.inner;
    for (int64_t o = 0; o < d.outer; o++) {
        const float *g = dy + o * d.len * inner, *yb = y + o * d.len * inner;
        float *db = dx + o * d.len * inner;
        memset(s, 0, (size_t)inner * sizeof *s);
        for (int64_t l = 0; l < d.len; l++) {
            const float *gl = g + l * inner, *yl = yb + l * inner;
            if (log_out)
                for (int64_t j = 0; j < inner; j++)
                    s[j] += gl[j];
            else
                for (int64_t j = 0; j < inner; j++)
                    s[j] += gl[j] * yl[j];
        }
        for (int64_t l = 0; l < d.len; l++) {
            const float *gl = g + l * inner, *yl = yb + l * inner;
            float *dl = db + l * inner;
            if (log_out)
                for (int64_t j = 0; j < inner; j++)
                    dl[j] = gl[j] - expf(yl[j]) * s[j];
            else
                for (int64_t j = 0; j < inner; j++)
                    dl[j] = yl[j] * (gl[j] - s[j]);
        }
    }
    return SSDC_OK;
}

static ssdc_status softmaxgrad_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                       graph_value *out, int n_out, ssdc_error *err)
{
    return smgrad_run(ctx, in, n_in, out, n_out, false, err);
}

static ssdc_status logsoftmaxgrad_forward(const rt_kernel_ctx *ctx, const graph_value *in,
                                          int n_in, graph_value *out, int n_out, ssdc_error *err)
{
    return smgrad_run(ctx, in, n_in, out, n_out, true, err);
}

const rt_kernel rt_kernel_softmaxgrad = {
    .forward = softmaxgrad_forward,
    .scratch = smgrad_scratch,
};

const rt_kernel rt_kernel_logsoftmaxgrad = {
    .forward = logsoftmaxgrad_forward,
    .scratch = smgrad_scratch,
};

/* ======================= SoftmaxCrossEntropyLoss ======================= */

typedef enum { SCE_MEAN, SCE_SUM, SCE_NONE } sce_reduction;

typedef struct {
    int64_t n, c, d;       /* scores viewed as [N, C, D] */
    sce_reduction red;
    bool has_ii;
    int64_t ii;
    const float *weights;  /* NULL: all 1 */
} sce_layout;

static ssdc_status sce_setup(const rt_kernel_ctx *ctx, const graph_value *scores,
                             const graph_value *labels, const graph_value *weights,
                             sce_layout *s, ssdc_error *err)
{
    if (scores->dtype != GRAPH_DT_FLOAT)
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED,
                              "scores have dtype %s, only float is supported",
                              graph_dtype_name(scores->dtype));
    if (labels->dtype != GRAPH_DT_INT64 && labels->dtype != GRAPH_DT_INT32)
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED,
                              "labels have dtype %s, expected int64 or int32",
                              graph_dtype_name(labels->dtype));
    if (scores->rank < 2 || labels->rank != scores->rank - 1)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                              "scores have rank %d and labels rank %d, expected N x C x ... and "
                              "N x ...",
                              scores->rank, labels->rank);
    s->n = scores->dims[0];
    s->c = scores->dims[1];
    s->d = 1;
    for (int i = 2; i < scores->rank; i++) {
        if (labels->dims[i - 1] != scores->dims[i])
            return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                                  "labels dimension %d is %lld, expected %lld", i - 1,
                                  (long long)labels->dims[i - 1], (long long)scores->dims[i]);
        s->d *= scores->dims[i];
    }
    if (labels->dims[0] != s->n)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "labels dimension 0 is %lld, expected %lld",
                              (long long)labels->dims[0], (long long)s->n);
    s->weights = NULL;
    if (weights && td_present(weights)) {
        if (weights->dtype != GRAPH_DT_FLOAT || weights->numel != s->c)
            return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                                  "weights must be float with %lld elements (one per class)",
                                  (long long)s->c);
        s->weights = weights->data;
    }
    const char *red = graph_attr_string(ctx->node, "reduction", "mean");
    if (!strcmp(red, "mean"))
        s->red = SCE_MEAN;
    else if (!strcmp(red, "sum"))
        s->red = SCE_SUM;
    else if (!strcmp(red, "none"))
        s->red = SCE_NONE;
    else
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                              "attribute reduction is '%s', expected mean, sum or none", red);
    s->has_ii = graph_node_attr(ctx->node, "ignore_index") != NULL;
    s->ii = graph_attr_int(ctx->node, "ignore_index", 0);
    return SSDC_OK;
}

static inline int64_t sce_label(const graph_value *labels, int64_t i)
{
    return labels->dtype == GRAPH_DT_INT64 ? ((const int64_t *)labels->data)[i]
                                           : (int64_t)((const int32_t *)labels->data)[i];
}

/* Validates every label and returns the mean denominator: the summed weight
 * of the labels that are not ignored. */
static ssdc_status sce_labels(const rt_kernel_ctx *ctx, const graph_value *labels,
                              const sce_layout *s, double *denom, ssdc_error *err)
{
    double den = 0.0;
    const int64_t total = s->n * s->d;
    for (int64_t i = 0; i < total; i++) {
        int64_t l = sce_label(labels, i);
        if (s->has_ii && l == s->ii)
            continue;
        if (l < 0 || l >= s->c)
            return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                                  "label %lld at position %lld is outside [0, %lld)", (long long)l,
                                  (long long)i, (long long)s->c);
        den += s->weights ? (double)s->weights[l] : 1.0;
    }
    *denom = den;
    return SSDC_OK;
}

static size_t sce_scratch(const graph_node *node, const graph_value *in, int n_in,
                          const graph_value *out, int n_out)
{
    const graph_value *x = &in[0];
    if (x->rank < 2)
        return 0;
    const int64_t nc = x->dims[0] * x->dims[1];
    int64_t d = nc != 0 ? x->numel / nc : 0;
    return 2 * (size_t)d * sizeof(float);
}

static ssdc_status sce_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                               graph_value *out, int n_out, ssdc_error *err)
{
    if (n_in < 2 || n_out < 1)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "expected inputs scores, labels");
    sce_layout s;
    ssdc_status st = sce_setup(ctx, &in[0], &in[1], n_in > 2 ? &in[2] : NULL, &s, err);
    if (st)
        return st;
    const int64_t total = s.n * s.d;
    if (out[0].dtype != GRAPH_DT_FLOAT || out[0].numel != (s.red == SCE_NONE ? total : 1))
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "loss output has the wrong shape");
    float *lp = n_out > 1 && td_present(&out[1]) ? out[1].data : NULL;
    if (lp && (out[1].dtype != GRAPH_DT_FLOAT || out[1].numel != in[0].numel))
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "log_prob output has the wrong shape");
    double denom;
    if ((st = sce_labels(ctx, &in[1], &s, &denom, err)))
        return st;
    size_t need = 2 * (size_t)s.d * sizeof(float);
    if (ctx->scratch_bytes < need)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "scratch of %zu bytes, need %zu",
                              ctx->scratch_bytes, need);
    /* no scratch (NULL) when s.d == 0: nothing per element to do then */
    float *mx = ctx->scratch, *lse = mx ? mx + s.d : NULL;
    const float *x = in[0].data;
    float *loss = out[0].data;
    double acc = 0.0;
    for (int64_t n = 0; n < s.n && s.d > 0; n++) {
        const float *xb = x + n * s.c * s.d;
        if (s.c > 0) {
            memcpy(mx, xb, (size_t)s.d * sizeof *mx);
            for (int64_t c = 1; c < s.c; c++) {
                const float *xc = xb + c * s.d;
                for (int64_t j = 0; j < s.d; j++)
                    mx[j] = xc[j] > mx[j] ? xc[j] : mx[j];
            }
        }
        memset(lse, 0, (size_t)s.d * sizeof *lse);
        for (int64_t c = 0; c < s.c; c++) {
            const float *xc = xb + c * s.d;
            for (int64_t j = 0; j < s.d; j++)
                lse[j] += expf(xc[j] - mx[j]);
        }
        for (int64_t j = 0; j < s.d; j++)
            lse[j] = mx[j] + logf(lse[j]);
        if (lp) {
            float *lb = lp + n * s.c * s.d;
            for (int64_t c = 0; c < s.c; c++) {
                const float *xc = xb + c * s.d;
                float *lc = lb + c * s.d;
                for (int64_t j = 0; j < s.d; j++)
                    lc[j] = xc[j] - lse[j];
            }
        }
        for (int64_t j = 0; j < s.d; j++) {
            int64_t l = sce_label(&in[1], n * s.d + j);
            float v = 0.0f;
            if (!(s.has_ii && l == s.ii)) {
                v = lse[j] - xb[l * s.d + j];
                if (s.weights)
                    v *= s.weights[l];
            }
            if (s.red == SCE_NONE)
                loss[n * s.d + j] = v;
            else
                acc += v;
        }
    }
    if (s.red == SCE_SUM)
        loss[0] = (float)acc;
    else if (s.red == SCE_MEAN)
        loss[0] = (float)(acc / denom); /* 0 / 0 = NaN when every label is ignored */
    return SSDC_OK;
}

const rt_kernel rt_kernel_softmaxcrossentropyloss = {
    .forward = sce_forward,
    .scratch = sce_scratch,
};

/* ---- SoftmaxCrossEntropyLossGrad(dLoss, log_prob, labels, weights?) -> dScores ---- */

/* dScores[n, c, d] = k[n, d] * (exp(log_prob[n, c, d]) - [c == label[n, d]]) with
 * k = dLoss (per element for none, else the scalar; / the mean denominator)
 * times the label's weight, 0 for ignored labels. */
static size_t scegrad_scratch(const graph_node *node, const graph_value *in, int n_in,
                              const graph_value *out, int n_out)
{
    return n_in > 1 ? sce_scratch(node, in + 1, n_in - 1, out, n_out) / 2 : 0;
}

static ssdc_status scegrad_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                   graph_value *out, int n_out, ssdc_error *err)
{
    if (n_in < 3 || n_out < 1)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                              "expected inputs dLoss, log_prob, labels and output dScores");
    sce_layout s;
    ssdc_status st = sce_setup(ctx, &in[1], &in[2], n_in > 3 ? &in[3] : NULL, &s, err);
    if (st)
        return st;
    const int64_t total = s.n * s.d;
    const graph_value *dl = &in[0];
    if (dl->dtype != GRAPH_DT_FLOAT || dl->numel != (s.red == SCE_NONE ? total : 1))
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                              "dLoss has %lld elements, expected %lld", (long long)dl->numel,
                              (long long)(s.red == SCE_NONE ? total : 1));
    if (out[0].dtype != GRAPH_DT_FLOAT || out[0].numel != in[1].numel)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "dScores has the wrong shape");
    double denom;
    if ((st = sce_labels(ctx, &in[2], &s, &denom, err)))
        return st;
    size_t need = (size_t)s.d * sizeof(float);
    if (ctx->scratch_bytes < need)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "scratch of %zu bytes, need %zu",
                              ctx->scratch_bytes, need);
    float *k = ctx->scratch;
    const float *g = dl->data, *lp = in[1].data;
    float *dx = out[0].data;
    double scalar = s.red == SCE_NONE ? 0.0 : (double)g[0];
    if (s.red == SCE_MEAN)
        scalar = denom != 0.0 ? scalar / denom : 0.0;
    for (int64_t n = 0; n < s.n; n++) {
        for (int64_t j = 0; j < s.d; j++) {
            int64_t l = sce_label(&in[2], n * s.d + j);
            if (s.has_ii && l == s.ii) {
                k[j] = 0.0f;
                continue;
            }
            double v = s.red == SCE_NONE ? (double)g[n * s.d + j] : scalar;
            k[j] = (float)(s.weights ? v * s.weights[l] : v);
        }
        const float *lb = lp + n * s.c * s.d;
        float *db = dx + n * s.c * s.d;
        for (int64_t c = 0; c < s.c; c++) {
            const float *lc = lb + c * s.d;
            float *dc = db + c * s.d;
            for (int64_t j = 0; j < s.d; j++)
                dc[j] = k[j] * expf(lc[j]);
        }
        for (int64_t j = 0; j < s.d; j++) {
            int64_t l = sce_label(&in[2], n * s.d + j);
            if (!(s.has_ii && l == s.ii))
                db[l * s.d + j] -= k[j];
        }
    }
    return SSDC_OK;
}

const rt_kernel rt_kernel_softmaxcrossentropylossgrad = {
    .forward = scegrad_forward,
    .scratch = scegrad_scratch,
};

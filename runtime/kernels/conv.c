/* Conv forward: im2col into scratch + cblas_sgemm per image and group.  A
 * padded input is first copied into scratch with its zero border, so im2col
 * is plain (strided) row copies with no bounds checks; im2col is tiled over
 * output positions so scratch stays bounded.  Pointwise convolutions (1x1,
 * stride 1, no padding) call sgemm on the input directly; depthwise ones (one
 * input channel per group) use a direct loop. */
#include "runtime/kernel.h"
#include "runtime/kernels/conv_pad.h"
#include "graph/ops/window.h"

#include <cblas.h>
#include <stdio.h>
#include <string.h>

/* Upper bound of the im2col tile, in floats (8 MiB). */
#define CONV_TILE_FLOATS ((int64_t)1 << 21)

typedef struct {
    graph_window3 w;
    int64_t batch, chans, m, group;
    int64_t cpg, mpg;   /* input / output channels per group */
    int64_t ck;         /* im2col rows: cpg * kernel_size */
    int64_t tile;       /* im2col columns (output positions) per tile */
    int64_t pdims[3];   /* spatial dims of the padded input */
    bool padded;        /* some padding: im2col reads a zero-bordered copy */
    bool depthwise;     /* one input channel per group, direct loop */
    bool pointwise;     /* 1x1, stride 1, no padding: no im2col */
    bool wide;          /* unit stride in H and W: im2col rows over the padded width */
    int64_t tile_rows;  /* wide: (od, oh) output rows per tile */
    size_t col_floats;  /* scratch: im2col tile, wide sgemm result, padded copy */
    size_t ybuf_floats;
    size_t pad_floats;
} conv_plan;

static ssdc_status conv_plan_make(const graph_node *node, const graph_value *in, int n_in,
                                  const graph_value *out, int n_out, conv_plan *p, char *msg,
                                  size_t size)
{
    memset(p, 0, sizeof *p);
    const graph_value *x = &in[0], *wt = &in[1];
    const graph_value *b = n_in > 2 && in[2].dtype != GRAPH_DT_UNDEFINED ? &in[2] : NULL;
    if (x->dtype != GRAPH_DT_FLOAT || wt->dtype != GRAPH_DT_FLOAT ||
        (b && b->dtype != GRAPH_DT_FLOAT) || n_out < 1 || out[0].dtype != GRAPH_DT_FLOAT) {
        snprintf(msg, size, "only float tensors are supported (X is %s, W is %s)",
                 graph_dtype_name(x->dtype), graph_dtype_name(wt->dtype));
        return SSDC_ERR_UNSUPPORTED;
    }
    int n = x->rank - 2;
    if (n < 1 || n > GRAPH_WINDOW_MAX_SPATIAL || wt->rank != x->rank || out[0].rank != x->rank) {
        snprintf(msg, size, "X has rank %d and W rank %d, expected equal ranks 3 to %d", x->rank,
                 wt->rank, GRAPH_WINDOW_MAX_SPATIAL + 2);
        return x->rank > GRAPH_WINDOW_MAX_SPATIAL + 2 ? SSDC_ERR_UNSUPPORTED : SSDC_ERR_SHAPE;
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
    if (b && b->numel != p->m) {
        snprintf(msg, size, "B has %lld elements, expected %lld", (long long)b->numel,
                 (long long)p->m);
        return SSDC_ERR_SHAPE;
    }
    p->mpg = p->m / p->group;
    graph_window win;
    ssdc_status st = graph_window_resolve(node, n, x->dims + 2, wt->dims + 2, true, &win, msg, size);
    if (st)
        return st;
    if (out[0].dims[0] != p->batch || out[0].dims[1] != p->m) {
        snprintf(msg, size, "output has the wrong shape");
        return SSDC_ERR_SHAPE;
    }
    for (int d = 0; d < n; d++)
        if (out[0].dims[2 + d] != win.out[d]) {
            snprintf(msg, size, "output spatial dimension %d is %lld, expected %lld", d,
                     (long long)out[0].dims[2 + d], (long long)win.out[d]);
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
    if (p->ck > 0 && p->ck * p->tile > CONV_TILE_FLOATS) {
        p->tile = CONV_TILE_FLOATS / p->ck;
        if (p->tile < 64)
            p->tile = 64 < p->w.out_size ? 64 : p->w.out_size;
    }
    int64_t pad_size = 1;
    for (int d = 0; d < 3; d++) {
        p->pdims[d] = p->w.in[d] + p->w.pad_begin[d] + p->w.pad_end[d];
        p->padded = p->padded || p->w.pad_begin[d] || p->w.pad_end[d];
        pad_size *= p->pdims[d];
    }
    if (p->depthwise || p->pointwise || p->ck == 0 || p->w.out_size == 0)
        return SSDC_OK;
    /* With unit stride in H and W, im2col row (c, kd, kh, kw) over a run of
     * output rows is one contiguous piece of the padded input if the output
     * rows are taken pd[2] wide: sgemm computes pd[2] - out[2] extra columns
     * per row, dropped when the result is copied out with the bias.  Worth it
     * unless those columns cost more than the short copies they replace (and
     * for a single output row, where the plain im2col is one copy per row). */
    int64_t extra = p->pdims[2] - p->w.out[2];
    int64_t rows = p->w.out[0] * p->w.out[1];
    /* per output row: the im2col columns and the sgemm result columns */
    int64_t row_floats = (p->ck > p->mpg ? p->ck : p->mpg) * p->pdims[2];
    p->wide = p->w.stride[1] == 1 && p->w.stride[2] == 1 && p->mpg * extra <= 64 && rows > 1 &&
              row_floats <= CONV_TILE_FLOATS;
    if (p->wide) {
        p->tile_rows = CONV_TILE_FLOATS / row_floats;
        if (p->tile_rows > rows)
            p->tile_rows = rows;
        p->tile = p->tile_rows * p->pdims[2];
        p->ybuf_floats = ((size_t)p->mpg * (size_t)p->tile + 15) / 16 * 16;
    }
    /* keep every part 64-byte aligned */
    p->col_floats = ((size_t)p->ck * (size_t)p->tile + 15) / 16 * 16;
    p->pad_floats = p->padded ? (size_t)p->cpg * (size_t)pad_size : 0;
    return SSDC_OK;
}


/* Rows of the im2col matrix for output positions [p0, p0 + cols) (flattened
 * over the three normalised spatial dims) from the unpadded or padded input
 * xp of spatial dims pd: row (c, kd, kh, kw) holds
 * xp[c, od*s0 + kd*d0, oh*s1 + kh*d1, ow*s2 + kw*d2].  col is ck x cols. */
static void conv_im2col(const float *xp, const int64_t pd[3], const graph_window3 *w,
                        int64_t chans, int64_t p0, int64_t cols, float *col)
{
    const int64_t oh_n = w->out[1], ow_n = w->out[2], sw = w->stride[2];
    const int64_t plane = pd[0] * pd[1] * pd[2];
    const int64_t step_d = w->stride[0] * pd[1] * pd[2], step_h = w->stride[1] * pd[2];
    const int64_t q0 = p0 / ow_n, q1 = (p0 + cols - 1) / ow_n; /* (od, oh) rows touched */
    float *dst = col;
    for (int64_t c = 0; c < chans; c++)
        for (int64_t kd = 0; kd < w->kernel[0]; kd++)
            for (int64_t kh = 0; kh < w->kernel[1]; kh++)
                for (int64_t kw = 0; kw < w->kernel[2]; kw++, dst += cols) {
                    const float *base = xp + c * plane +
                                        (kd * w->dilation[0] * pd[1] + kh * w->dilation[1]) *
                                            pd[2] +
                                        kw * w->dilation[2];
                    int64_t od = q0 / oh_n, oh = q0 % oh_n;
                    for (int64_t q = q0; q <= q1; q++) {
                        int64_t a = q == q0 ? p0 - q * ow_n : 0;
                        int64_t e = q == q1 ? p0 + cols - q * ow_n : ow_n;
                        const float *src = base + od * step_d + oh * step_h + a * sw;
                        float *seg = dst + (q * ow_n + a - p0);
                        const int64_t len = e - a;
                        if (sw == 1) {
                            for (int64_t i = 0; i < len; i++)
                                seg[i] = src[i];
                        } else {
                            for (int64_t i = 0; i < len; i++)
                                seg[i] = src[i * sw];
                        }
                        if (++oh == oh_n) {
                            oh = 0;
                            od++;
                        }
                    }
                }
}

/* Wide im2col for unit stride in H and W: output rows q in [q0, q1) (q = od *
 * out[1] + oh) each take pd[2] columns, column (q - q0) * pd[2] + ow holding
 * xp[c, od*s0 + kd*d0, oh + kh*d1, ow + kw*d2]; columns ow >= out[2] are
 * scratch values that only feed outputs which are dropped (the last row's
 * are zeroed so no read passes the end of the input). */
static void conv_im2col_wide(const float *xp, const int64_t pd[3], const graph_window3 *w,
                             int64_t chans, int64_t q0, int64_t q1, float *col)
{
    const int64_t oh_n = w->out[1], ow_n = w->out[2], pw = pd[2];
    const int64_t plane = pd[0] * pd[1] * pd[2], cols = (q1 - q0) * pw;
    float *dst = col;
    for (int64_t c = 0; c < chans; c++)
        for (int64_t kd = 0; kd < w->kernel[0]; kd++)
            for (int64_t kh = 0; kh < w->kernel[1]; kh++)
                for (int64_t kw = 0; kw < w->kernel[2]; kw++, dst += cols) {
                    const float *base = xp + c * plane +
                                        (kd * w->dilation[0] * pd[1] + kh * w->dilation[1]) * pw +
                                        kw * w->dilation[2];
                    for (int64_t q = q0; q < q1;) {
                        /* a run of rows with the same od: contiguous in xp */
                        int64_t od = q / oh_n, oh = q % oh_n;
                        int64_t n = oh_n - oh < q1 - q ? oh_n - oh : q1 - q;
                        const float *src = base + (od * w->stride[0] * pd[1] + oh) * pw;
                        float *seg = dst + (q - q0) * pw;
                        const int64_t len = (n - 1) * pw + ow_n;
                        for (int64_t i = 0; i < len; i++)
                            seg[i] = src[i];
                        for (int64_t i = len; i < n * pw; i++)
                            seg[i] = 0.0f;
                        q += n;
                    }
                }
}

/* y[m] += sum over taps of w[m, tap] * x[m / mpg, shifted]: depthwise, one
 * input channel per group; y already holds the bias. */
static void conv_depthwise(const float *x, const float *wt, const conv_plan *p, float *y)
{
    const graph_window3 *w = &p->w;
    const int64_t ih_n = w->in[1], iw_n = w->in[2], oh_n = w->out[1], ow_n = w->out[2];
    const int64_t sw = w->stride[2];
    for (int64_t m = 0; m < p->m; m++) {
        const float *xc = x + (m / p->mpg) * w->in_size;
        const float *wm = wt + m * w->kernel_size;
        float *ym = y + m * w->out_size;
        for (int64_t kd = 0; kd < w->kernel[0]; kd++) {
            int64_t off_d = kd * w->dilation[0] - w->pad_begin[0], lo_d, hi_d;
            graph_window_tap_range(w->out[0], w->stride[0], off_d, 0, w->in[0], &lo_d, &hi_d);
            for (int64_t kh = 0; kh < w->kernel[1]; kh++) {
                int64_t off_h = kh * w->dilation[1] - w->pad_begin[1], lo_h, hi_h;
                graph_window_tap_range(oh_n, w->stride[1], off_h, 0, ih_n, &lo_h, &hi_h);
                for (int64_t kw = 0; kw < w->kernel[2]; kw++) {
                    int64_t off_w = kw * w->dilation[2] - w->pad_begin[2], lo, hi;
                    graph_window_tap_range(ow_n, sw, off_w, 0, iw_n, &lo, &hi);
                    const float wv = wm[(kd * w->kernel[1] + kh) * w->kernel[2] + kw];
                    for (int64_t od = lo_d; od < hi_d; od++) {
                        int64_t id = od * w->stride[0] + off_d;
                        for (int64_t oh = lo_h; oh < hi_h; oh++) {
                            int64_t ih = oh * w->stride[1] + off_h;
                            const float *src = xc + (id * ih_n + ih) * iw_n;
                            float *dst = ym + (od * oh_n + oh) * ow_n;
                            if (sw == 1) {
                                const float *s = src + (lo + off_w);
                                float *d = dst + lo;
                                for (int64_t i = 0; i < hi - lo; i++)
                                    d[i] += wv * s[i];
                            } else {
                                for (int64_t ow = lo; ow < hi; ow++)
                                    dst[ow] += wv * src[ow * sw + off_w];
                            }
                        }
                    }
                }
            }
        }
    }
}

/* One image and group on the wide path: tiles of output rows go through
 * im2col and sgemm into ybuf, then out to y without the extra columns and
 * with the bias added. */
static void conv_wide_group(const float *xp, const int64_t pd[3], const float *wg,
                            const float *bias, const conv_plan *p, float *col, float *ybuf,
                            float *yg)
{
    const graph_window3 *w = &p->w;
    const int64_t rows = w->out[0] * w->out[1], ow_n = w->out[2], pw = pd[2];
    for (int64_t q0 = 0; q0 < rows; q0 += p->tile_rows) {
        int64_t q1 = q0 + p->tile_rows < rows ? q0 + p->tile_rows : rows;
        int64_t cols = (q1 - q0) * pw;
        conv_im2col_wide(xp, pd, w, p->cpg, q0, q1, col);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)p->mpg, (int)cols,
                    (int)p->ck, 1.0f, wg, (int)p->ck, col, (int)cols, 0.0f, ybuf, (int)cols);
        for (int64_t m = 0; m < p->mpg; m++) {
            const float bv = bias ? bias[m] : 0.0f;
            for (int64_t q = q0; q < q1; q++) {
                const float *src = ybuf + m * cols + (q - q0) * pw;
                float *dst = yg + m * w->out_size + q * ow_n;
                for (int64_t i = 0; i < ow_n; i++)
                    dst[i] = src[i] + bv;
            }
        }
    }
}

static size_t conv_scratch(const graph_node *node, const graph_value *in, int n_in,
                           const graph_value *out, int n_out)
{
    conv_plan p;
    char msg[256];
    if (conv_plan_make(node, in, n_in, out, n_out, &p, msg, sizeof msg))
        return 0;
    return (p.col_floats + p.ybuf_floats + p.pad_floats) * sizeof(float);
}

static ssdc_status conv_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                graph_value *out, int n_out, ssdc_error *err)
{
    conv_plan p;
    char msg[512];
    ssdc_status st = conv_plan_make(ctx->node, in, n_in, out, n_out, &p, msg, sizeof msg);
    if (st)
        return rt_kernel_fail(ctx, err, st, "%s", msg);
    const graph_window3 *w = &p.w;
    if (out[0].numel == 0)
        return SSDC_OK;
    size_t need = (p.col_floats + p.ybuf_floats + p.pad_floats) * sizeof(float);
    if (ctx->scratch_bytes < need)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                              "scratch of %zu bytes, need %zu for im2col", ctx->scratch_bytes,
                              need);
    const float *x = in[0].data, *wt = in[1].data;
    const float *bias = n_in > 2 && in[2].dtype == GRAPH_DT_FLOAT ? in[2].data : NULL;
    /* no scratch when no im2col/ybuf/pad is needed: NULL + 0 is undefined in C */
    float *y = out[0].data, *col = ctx->scratch, *ybuf = col ? col + p.col_floats : NULL;
    float *xpad = ybuf ? ybuf + p.ybuf_floats : NULL;
    for (int64_t n = 0; n < p.batch; n++) {
        const float *xn = x + n * p.chans * w->in_size;
        float *yn = y + n * p.m * w->out_size;
        for (int64_t m = 0; m < p.m && !p.wide; m++) {
            float *ym = yn + m * w->out_size;
            if (bias) {
                const float bv = bias[m];
                for (int64_t i = 0; i < w->out_size; i++)
                    ym[i] = bv;
            } else {
                memset(ym, 0, (size_t)w->out_size * sizeof *ym);
            }
        }
        if (p.ck == 0)
            continue;
        if (p.depthwise) {
            conv_depthwise(xn, wt, &p, yn);
            continue;
        }
        for (int64_t g = 0; g < p.group; g++) {
            const float *xg = xn + g * p.cpg * w->in_size;
            const float *wg = wt + g * p.mpg * p.ck;
            float *yg = yn + g * p.mpg * w->out_size;
            if (p.pointwise) {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)p.mpg,
                            (int)w->out_size, (int)p.ck, 1.0f, wg, (int)p.ck, xg,
                            (int)w->in_size, 1.0f, yg, (int)w->out_size);
                continue;
            }
            const float *src = xg;
            const int64_t *sdims = w->in;
            if (p.padded) {
                rt_conv_pad_input(xg, w, p.pdims, p.cpg, xpad);
                src = xpad;
                sdims = p.pdims;
            }
            if (p.wide) {
                conv_wide_group(src, sdims, wg, bias ? bias + g * p.mpg : NULL, &p, col, ybuf,
                                yg);
                continue;
            }
            for (int64_t p0 = 0; p0 < w->out_size; p0 += p.tile) {
                int64_t cols = w->out_size - p0 < p.tile ? w->out_size - p0 : p.tile;
                conv_im2col(src, sdims, w, p.cpg, p0, cols, col);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)p.mpg, (int)cols,
                            (int)p.ck, 1.0f, wg, (int)p.ck, col, (int)cols, 1.0f, yg + p0,
                            (int)w->out_size);
            }
        }
    }
    return SSDC_OK;
}

const rt_kernel rt_kernel_conv = {
    .forward = conv_forward,
    .scratch = conv_scratch,
};

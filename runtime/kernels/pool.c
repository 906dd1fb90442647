/* Pooling forward.  Float MaxPool / AveragePool reduce one output row at a
 * time: for every input row the window covers, the W part of the window is
 * folded into the row (specialised loops for the common 2- and 3-wide
 * windows, bounds checks only at the borders).  AveragePool then divides by
 * separable per-dimension counts kept in scratch.  MaxPool with Indices (and
 * on 8-bit integers) walks the window tap by tap instead: for each kernel
 * offset the output positions whose input lies inside the image form a range
 * per dimension, so the inner loop is a run over one output row. */
#include "runtime/kernel.h"
#include "graph/ops/window.h"
#include "runtime/parallel.h"
#include "runtime/rng.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static ssdc_status pool_window(const graph_node *node, const graph_value *in,
                               const graph_value *out, int n_out, bool bytes_ok,
                               graph_window3 *w3, char *msg, size_t size)
{
    const graph_value *x = &in[0];
    bool dtype_ok = x->dtype == GRAPH_DT_FLOAT ||
                    (bytes_ok && (x->dtype == GRAPH_DT_UINT8 || x->dtype == GRAPH_DT_INT8));
    if (!dtype_ok || out[0].dtype != x->dtype) {
        snprintf(msg, size, "input dtype %s is not supported (float%s)",
                 graph_dtype_name(x->dtype), bytes_ok ? ", uint8, int8" : "");
        return SSDC_ERR_UNSUPPORTED;
    }
    int n = x->rank - 2;
    if (n < 1 || n > GRAPH_WINDOW_MAX_SPATIAL || out[0].rank != x->rank) {
        snprintf(msg, size, "X has rank %d, expected 3 to %d", x->rank,
                 GRAPH_WINDOW_MAX_SPATIAL + 2);
        return SSDC_ERR_UNSUPPORTED;
    }
    graph_window w;
    ssdc_status st = graph_window_resolve(node, n, x->dims + 2, NULL, true, &w, msg, size);
    if (st)
        return st;
    bool ok = out[0].dims[0] == x->dims[0] && out[0].dims[1] == x->dims[1];
    for (int d = 0; d < n; d++)
        ok = ok && out[0].dims[2 + d] == w.out[d];
    if (n_out > 1 && out[1].dtype != GRAPH_DT_UNDEFINED) {
        ok = ok && out[1].dtype == GRAPH_DT_INT64 && out[1].numel == out[0].numel;
    }
    if (!ok) {
        snprintf(msg, size, "outputs do not have the inferred shape");
        return SSDC_ERR_SHAPE;
    }
    graph_window_to3(&w, w3);
    return SSDC_OK;
}

/* ---- row-wise float pooling ---- */

/* The W-dimension part of the window, with the interior [a, b) of output
 * columns whose every tap lies inside the input row. */
typedef struct {
    int64_t kw, sw, dw, pb, in_w, out_w, a, b;
} pool_row;

static void pool_row_init(const graph_window3 *w, pool_row *r)
{
    r->kw = w->kernel[2];
    r->sw = w->stride[2];
    r->dw = w->dilation[2];
    r->pb = w->pad_begin[2];
    r->in_w = w->in[2];
    r->out_w = w->out[2];
    int64_t lo, hi, lo_last, hi_last;
    graph_window_tap_range(r->out_w, r->sw, -r->pb, 0, r->in_w, &lo, &hi);
    graph_window_tap_range(r->out_w, r->sw, (r->kw - 1) * r->dw - r->pb, 0, r->in_w, &lo_last,
                           &hi_last);
    r->a = lo;
    r->b = hi_last > lo ? hi_last : lo;
}

#define POOL_MAX_OP(acc, v) ((v) > (acc) ? (v) : (acc))
#define POOL_SUM_OP(acc, v) ((acc) + (v))

/* For nrows rows (input row j at r + j * r_stride, output row j at acc + j *
 * acc_stride): acc[ow] = OP(acc[ow], r[ow*sw - pb + k*dw]) over the taps k
 * inside the row. */
#define POOL_ROW_LOOP(BODY)                                                                    \
    for (int64_t j = 0; j < nrows; j++) {                                                      \
        const float *restrict q = r + j * r_stride + (p->a * sw - p->pb);                      \
        float *restrict o = acc + j * acc_stride + p->a;                                       \
        BODY                                                                                   \
    }
#define POOL_ROWS(NAME, OP)                                                                    \
    static void NAME(const float *r, int64_t r_stride, float *acc, int64_t acc_stride,         \
                     int64_t nrows, const pool_row *p)                                         \
    {                                                                                          \
        const int64_t kw = p->kw, sw = p->sw, dw = p->dw, n = p->b - p->a;                     \
        if (p->a > 0 || p->b < p->out_w) {                                                     \
            for (int64_t j = 0; j < nrows; j++) {                                              \
                const float *rj = r + j * r_stride;                                            \
                float *oj = acc + j * acc_stride;                                              \
                for (int64_t ow = 0; ow < p->out_w; ow++) {                                    \
                    if (ow == p->a)                                                            \
                        ow = p->b;                                                             \
                    if (ow >= p->out_w)                                                        \
                        break;                                                                 \
                    float v = oj[ow];                                                          \
                    for (int64_t k = 0; k < kw; k++) {                                         \
                        int64_t i = ow * sw - p->pb + k * dw;                                  \
                        if (i >= 0 && i < p->in_w)                                             \
                            v = OP(v, rj[i]);                                                  \
                    }                                                                          \
                    oj[ow] = v;                                                                \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
        if (n <= 0)                                                                            \
            return;                                                                            \
        if (dw == 1 && kw == 2 && sw == 2) {                                                   \
            POOL_ROW_LOOP(for (int64_t i = 0; i < n; i++)                                      \
                              o[i] = OP(o[i], OP(q[2 * i], q[2 * i + 1]));)                    \
        } else if (dw == 1 && kw == 3 && sw == 2) {                                            \
            POOL_ROW_LOOP(for (int64_t i = 0; i < n; i++)                                      \
                              o[i] = OP(o[i], OP(OP(q[2 * i], q[2 * i + 1]), q[2 * i + 2]));)  \
        } else if (dw == 1 && kw == 2 && sw == 1) {                                            \
            POOL_ROW_LOOP(for (int64_t i = 0; i < n; i++) o[i] = OP(o[i], OP(q[i], q[i + 1]));) \
        } else if (dw == 1 && kw == 3 && sw == 1) {                                            \
            POOL_ROW_LOOP(for (int64_t i = 0; i < n; i++)                                      \
                              o[i] = OP(o[i], OP(OP(q[i], q[i + 1]), q[i + 2]));)              \
        } else if (sw == 1) {                                                                  \
            POOL_ROW_LOOP(for (int64_t k = 0; k < kw; k++) {                                   \
                const float *restrict qk = q + k * dw;                                         \
                for (int64_t i = 0; i < n; i++)                                                \
                    o[i] = OP(o[i], qk[i]);                                                    \
            })                                                                                 \
        } else {                                                                               \
            POOL_ROW_LOOP(for (int64_t i = 0; i < n; i++) {                                    \
                float v = o[i];                                                                \
                for (int64_t k = 0; k < kw; k++)                                               \
                    v = OP(v, q[i * sw + k * dw]);                                             \
                o[i] = v;                                                                      \
            })                                                                                 \
        }                                                                                      \
    }

POOL_ROWS(pool_rows_max, POOL_MAX_OP)
POOL_ROWS(pool_rows_sum, POOL_SUM_OP)

/* Max (inv_* NULL) or average of one (n, c) plane: for each (kd, kh) of the
 * window, the output rows it reaches take its input rows in one call. */
static void pool_plane_rows(const float *x, const graph_window3 *w, const pool_row *pr,
                            const float *inv_d, const float *inv_h, const float *inv_w, float *y)
{
    const bool is_max = inv_d == NULL;
    const int64_t ih_n = w->in[1], iw_n = w->in[2], oh_n = w->out[1], ow_n = w->out[2];
    const float init = is_max ? -INFINITY : 0.0f;
    for (int64_t i = 0; i < w->out_size; i++)
        y[i] = init;
    for (int64_t kd = 0; kd < w->kernel[0]; kd++) {
        int64_t off_d = kd * w->dilation[0] - w->pad_begin[0], lo_d, hi_d;
        graph_window_tap_range(w->out[0], w->stride[0], off_d, 0, w->in[0], &lo_d, &hi_d);
        for (int64_t kh = 0; kh < w->kernel[1]; kh++) {
            int64_t off_h = kh * w->dilation[1] - w->pad_begin[1], lo_h, hi_h;
            graph_window_tap_range(oh_n, w->stride[1], off_h, 0, ih_n, &lo_h, &hi_h);
            if (lo_h >= hi_h)
                continue;
            for (int64_t od = lo_d; od < hi_d; od++) {
                int64_t id = od * w->stride[0] + off_d;
                const float *r = x + (id * ih_n + lo_h * w->stride[1] + off_h) * iw_n;
                float *acc = y + (od * oh_n + lo_h) * ow_n;
                if (is_max)
                    pool_rows_max(r, w->stride[1] * iw_n, acc, ow_n, hi_h - lo_h, pr);
                else
                    pool_rows_sum(r, w->stride[1] * iw_n, acc, ow_n, hi_h - lo_h, pr);
            }
        }
    }
    if (is_max)
        return;
    for (int64_t od = 0; od < w->out[0]; od++)
        for (int64_t oh = 0; oh < oh_n; oh++) {
            const float f = inv_d[od] * inv_h[oh];
            float *acc = y + (od * oh_n + oh) * ow_n;
            for (int64_t ow = 0; ow < ow_n; ow++)
                acc[ow] *= f * inv_w[ow];
        }
}

/* ---- MaxPool ---- */

/* pool_max_plane_<T>: max over the window of one (n, c) plane; ind (may be
 * NULL) gets the flattened input index idx_base + sum pos[d] * istr[d] of the
 * first maximum.  Instantiated for float, uint8 and int8 (MaxPool opset 12). */
#define POOL_MAX_PLANE(T, LOWEST)                                                              \
    static void pool_max_plane_##T(const T *x, const graph_window3 *w, T *y, int64_t *ind,     \
                                   int64_t idx_base, const int64_t istr[3])                    \
    {                                                                                          \
        const int64_t ih_n = w->in[1], iw_n = w->in[2], oh_n = w->out[1], ow_n = w->out[2];    \
        const int64_t sw = w->stride[2];                                                       \
        for (int64_t i = 0; i < w->out_size; i++)                                              \
            y[i] = LOWEST;                                                                     \
        if (ind)                                                                               \
            for (int64_t i = 0; i < w->out_size; i++)                                          \
                ind[i] = -1;                                                                   \
        int64_t kd0, kd1, kh0, kh1, kw0, kw1;                                                  \
        graph_window_tap_span(w->kernel[0], w->dilation[0], w->pad_begin[0], w->in[0], w->out[0],      \
                      w->stride[0], &kd0, &kd1);                                               \
        graph_window_tap_span(w->kernel[1], w->dilation[1], w->pad_begin[1], ih_n, oh_n, w->stride[1], \
                      &kh0, &kh1);                                                             \
        graph_window_tap_span(w->kernel[2], w->dilation[2], w->pad_begin[2], iw_n, ow_n, sw, &kw0,     \
                      &kw1);                                                                   \
        for (int64_t kd = kd0; kd < kd1; kd++) {                                               \
            int64_t off_d = kd * w->dilation[0] - w->pad_begin[0], lo_d, hi_d;                 \
            graph_window_tap_range(w->out[0], w->stride[0], off_d, 0, w->in[0], &lo_d, &hi_d); \
            for (int64_t kh = kh0; kh < kh1; kh++) {                                           \
                int64_t off_h = kh * w->dilation[1] - w->pad_begin[1], lo_h, hi_h;             \
                graph_window_tap_range(oh_n, w->stride[1], off_h, 0, ih_n, &lo_h, &hi_h);      \
                for (int64_t kw = kw0; kw < kw1; kw++) {                                       \
                    int64_t off_w = kw * w->dilation[2] - w->pad_begin[2], lo, hi;             \
                    graph_window_tap_range(ow_n, sw, off_w, 0, iw_n, &lo, &hi);                \
                    if (lo >= hi)                                                              \
                        continue;                                                              \
                    for (int64_t od = lo_d; od < hi_d; od++) {                                 \
                        int64_t id = od * w->stride[0] + off_d;                                \
                        for (int64_t oh = lo_h; oh < hi_h; oh++) {                             \
                            int64_t ih = oh * w->stride[1] + off_h;                            \
                            const T *src = x + (id * ih_n + ih) * iw_n;                        \
                            int64_t orow = (od * oh_n + oh) * ow_n;                            \
                            T *dst = y + orow;                                                 \
                            if (ind) {                                                         \
                                int64_t *di = ind + orow;                                      \
                                int64_t rbase = idx_base + id * istr[0] + ih * istr[1];        \
                                for (int64_t ow = lo; ow < hi; ow++) {                         \
                                    int64_t iw = ow * sw + off_w;                              \
                                    T v = src[iw];                                             \
                                    if (v > dst[ow]) {                                         \
                                        dst[ow] = v;                                           \
                                        di[ow] = rbase + iw * istr[2];                         \
                                    } else if (di[ow] < 0) {                                   \
                                        di[ow] = rbase + iw * istr[2];                         \
                                    }                                                          \
                                }                                                              \
                            } else if (sw == 1) {                                              \
                                const T *s = src + (lo + off_w);                               \
                                T *d = dst + lo;                                               \
                                for (int64_t i = 0; i < hi - lo; i++)                          \
                                    d[i] = s[i] > d[i] ? s[i] : d[i];                          \
                            } else {                                                           \
                                for (int64_t ow = lo; ow < hi; ow++) {                         \
                                    T v = src[ow * sw + off_w];                                \
                                    dst[ow] = v > dst[ow] ? v : dst[ow];                       \
                                }                                                              \
                            }                                                                  \
                        }                                                                      \
                    }                                                                          \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
    }

POOL_MAX_PLANE(float, -INFINITY)
POOL_MAX_PLANE(uint8_t, 0)
POOL_MAX_PLANE(int8_t, INT8_MIN)

static ssdc_status maxpool_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                   graph_value *out, int n_out, ssdc_error *err)
{
    graph_window3 w;
    char msg[512];
    ssdc_status st = pool_window(ctx->node, in, out, n_out, true, &w, msg, sizeof msg);
    if (st)
        return rt_kernel_fail(ctx, err, st, "%s", msg);
    if (out[0].numel == 0)
        return SSDC_OK; /* the tap loops below cost kernel_size even for no output */
    int64_t order = graph_attr_int(ctx->node, "storage_order", 0);
    int64_t istr[3];
    if (order == 0) {
        istr[0] = w.in[1] * w.in[2];
        istr[1] = w.in[2];
        istr[2] = 1;
    } else {
        istr[0] = 1;
        istr[1] = w.in[0];
        istr[2] = w.in[0] * w.in[1];
    }
    int64_t planes = in[0].dims[0] * in[0].dims[1];
    int64_t *ind = n_out > 1 && out[1].dtype == GRAPH_DT_INT64 ? out[1].data : NULL;
    if (!ind && in[0].dtype == GRAPH_DT_FLOAT) {
        pool_row pr;
        pool_row_init(&w, &pr);
        const float *x = in[0].data;
        float *y = out[0].data;
        for (int64_t p = 0; p < planes; p++)
            pool_plane_rows(x + p * w.in_size, &w, &pr, NULL, NULL, NULL, y + p * w.out_size);
        return SSDC_OK;
    }
    for (int64_t p = 0; p < planes; p++) {
        int64_t *ip = ind ? ind + p * w.out_size : NULL;
        switch (in[0].dtype) {
        case GRAPH_DT_UINT8:
            pool_max_plane_uint8_t((const uint8_t *)in[0].data + p * w.in_size, &w,
                                   (uint8_t *)out[0].data + p * w.out_size, ip, p * w.in_size,
                                   istr);
            break;
        case GRAPH_DT_INT8:
            pool_max_plane_int8_t((const int8_t *)in[0].data + p * w.in_size, &w,
                                  (int8_t *)out[0].data + p * w.out_size, ip, p * w.in_size,
                                  istr);
            break;
        default:
            pool_max_plane_float((const float *)in[0].data + p * w.in_size, &w,
                                 (float *)out[0].data + p * w.out_size, ip, p * w.in_size, istr);
            break;
        }
    }
    return SSDC_OK;
}

/* ---- AveragePool ---- */

static size_t averagepool_scratch(const graph_node *node, const graph_value *in, int n_in,
                                  const graph_value *out, int n_out)
{
    graph_window3 w;
    char msg[256];
    if (pool_window(node, in, out, n_out, false, &w, msg, sizeof msg))
        return 0;
    return (size_t)(w.out[0] + w.out[1] + w.out[2]) * sizeof(float);
}

/* inv[o] = 1 / (number of window taps of output o that are counted). */
static void pool_avg_inverse_counts(const graph_window3 *w, int d, bool include_pad, float *inv)
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

static ssdc_status averagepool_forward(const rt_kernel_ctx *ctx, const graph_value *in,
                                       int n_in, graph_value *out, int n_out, ssdc_error *err)
{
    graph_window3 w;
    char msg[512];
    ssdc_status st = pool_window(ctx->node, in, out, n_out, false, &w, msg, sizeof msg);
    if (st)
        return rt_kernel_fail(ctx, err, st, "%s", msg);
    if (out[0].numel == 0)
        return SSDC_OK;
    size_t need = (size_t)(w.out[0] + w.out[1] + w.out[2]) * sizeof(float);
    if (ctx->scratch_bytes < need)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "scratch of %zu bytes, need %zu",
                              ctx->scratch_bytes, need);
    bool include_pad = graph_attr_int(ctx->node, "count_include_pad", 0) != 0;
    float *inv_d = ctx->scratch, *inv_h = inv_d + w.out[0], *inv_w = inv_h + w.out[1];
    pool_avg_inverse_counts(&w, 0, include_pad, inv_d);
    pool_avg_inverse_counts(&w, 1, include_pad, inv_h);
    pool_avg_inverse_counts(&w, 2, include_pad, inv_w);
    pool_row pr;
    pool_row_init(&w, &pr);
    int64_t planes = in[0].dims[0] * in[0].dims[1];
    const float *x = in[0].data;
    float *y = out[0].data;
    for (int64_t p = 0; p < planes; p++)
        pool_plane_rows(x + p * w.in_size, &w, &pr, inv_d, inv_h, inv_w, y + p * w.out_size);
    return SSDC_OK;
}

/* ---- GlobalAveragePool / GlobalMaxPool ---- */

static ssdc_status pool_global_check(const rt_kernel_ctx *ctx, const graph_value *in,
                                     const graph_value *out, ssdc_error *err, int64_t *planes,
                                     int64_t *size)
{
    const graph_value *x = &in[0];
    if (x->dtype != GRAPH_DT_FLOAT || out[0].dtype != GRAPH_DT_FLOAT)
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED,
                              "only float tensors are supported (X is %s)",
                              graph_dtype_name(x->dtype));
    if (x->rank < 2)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "X has rank %d, expected at least 2",
                              x->rank);
    *planes = x->dims[0] * x->dims[1];
    if (out[0].numel != *planes)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "output has %lld elements, expected %lld",
                              (long long)out[0].numel, (long long)*planes);
    *size = *planes ? x->numel / *planes : 0;
    return SSDC_OK;
}

/* Sum in 8 lanes (lane j: x[j], x[j + 8], ...), then pairwise, then the tail.
 * The lanes are a GCC/Clang vector: the compiler otherwise turns the loop
 * inside out (measured 6x slower than this on the SSD pass's pooled rows). */
typedef float pool_v8 __attribute__((vector_size(32)));

static float pool_sum(const float *x, int64_t n)
{
    pool_v8 v = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        pool_v8 t;
        memcpy(&t, x + i, sizeof t);
        v += t;
    }
    float acc[8];
    memcpy(acc, &v, sizeof acc);
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; i++)
        s += x[i];
    return s;
}

/* POOL_GROUP masked sums of one row x: out[g] = pool_sum of x[i] * m[g][i]
 * (m = scale * keep: the same products, lanes and order as Dropout's kernel
 * followed by pool_sum, without storing the products; the POOL_GROUP chains
 * are independent, so their additions overlap). */
enum { POOL_GROUP = 4 };

static void pool_sum_masked(const float *x, const float *m, int64_t n, int groups, float *out)
{
    pool_v8 v[POOL_GROUP] = {{0}};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        pool_v8 t;
        memcpy(&t, x + i, sizeof t);
        for (int g = 0; g < POOL_GROUP; g++) {
            pool_v8 k;
            memcpy(&k, m + g * n + i, sizeof k);
            v[g] += t * k; /* groups beyond `groups`: scratch values, unused */
        }
    }
    for (int g = 0; g < groups; g++) {
        float acc[8];
        memcpy(acc, &v[g], sizeof acc);
        float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
        for (int64_t j = i; j < n; j++)
            s += x[j] * m[g * n + j];
        out[g] = s;
    }
}

static ssdc_status globalaveragepool_forward(const rt_kernel_ctx *ctx, const graph_value *in,
                                             int n_in, graph_value *out, int n_out,
                                             ssdc_error *err)
{
    int64_t planes, size;
    ssdc_status st = pool_global_check(ctx, in, out, err, &planes, &size);
    if (st)
        return st;
    const float *x = in[0].data;
    float *y = out[0].data;
    for (int64_t p = 0; p < planes; p++)
        y[p] = size ? pool_sum(x + p * size, size) / (float)size : 0.0f;
    return SSDC_OK;
}

/* Scratch of one part: POOL_GROUP planes' scaled masks. */
static size_t dropout_gap_part_bytes(int64_t size)
{
    size_t b = (size_t)size * POOL_GROUP * sizeof(float);
    return (b + 63) & ~(size_t)63;
}

size_t rt_dropout_gap_scratch(const graph_value *x, int threads)
{
    int64_t planes = x->rank >= 2 ? x->dims[0] * x->dims[1] : 0;
    int64_t size = planes ? x->numel / planes : 0;
    return dropout_gap_part_bytes(size) * (size_t)(threads > 1 ? threads : 1);
}

typedef struct {
    const float *xs;
    float *out;
    uint8_t *scratch;
    int64_t C, size, reps;
    uint64_t key; /* rng_dropout_key of the Dropout's stream */
    uint32_t thr;
    float scale;
} dropout_gap_job;

/* Source rows [b0, b1): each read once for its reps rows, POOL_GROUP rows
 * at a time. */
static void dropout_gap_rows(void *arg, int part, int64_t b0, int64_t b1)
{
    const dropout_gap_job *j = arg;
    const int64_t C = j->C, size = j->size, reps = j->reps;
    float *m = (float *)(j->scratch + dropout_gap_part_bytes(size) * (size_t)part);
    memset(m, 0, (size_t)size * POOL_GROUP * sizeof *m);
    float sums[POOL_GROUP];
    for (int64_t b = b0; b < b1; b++)
        for (int64_t c = 0; c < C; c++) {
            const float *xp = j->xs + (b * C + c) * size;
            for (int64_t k0 = 0; k0 < reps; k0 += POOL_GROUP) {
                int groups = reps - k0 < POOL_GROUP ? (int)(reps - k0) : POOL_GROUP;
                for (int g = 0; g < groups; g++) {
                    int64_t p = (b * reps + k0 + g) * C + c;
                    /* m = scale * keep: the values Dropout's kernel multiplies by */
                    rng_fill_keep16_scaled(j->key, (uint64_t)(p * size), j->thr, j->scale,
                                           m + g * size, size);
                }
                pool_sum_masked(xp, m, size, groups, sums);
                for (int g = 0; g < groups; g++)
                    j->out[(b * reps + k0 + g) * C + c] = sums[g] / (float)size;
            }
        }
}

ssdc_status rt_dropout_gap_forward(const rt_kernel_ctx *dctx, const graph_value *din, int dn_in,
                                   const graph_value *x, const graph_value *src, int64_t reps,
                                   const rt_kernel_ctx *gctx, graph_value *y, ssdc_error *err)
{
    int64_t planes, size;
    ssdc_status st = pool_global_check(gctx, x, y, err, &planes, &size);
    if (st)
        return st;
    if (reps < 1 || src->dtype != GRAPH_DT_FLOAT || src->numel * reps != x->numel ||
        x->dims[0] % reps != 0)
        return rt_kernel_fail(gctx, err, SSDC_ERR_INVALID,
                              "fused Dropout input does not match its source");
    double ratio;
    bool active;
    if ((st = rt_dropout_params(dctx, din, dn_in, &ratio, &active, err)))
        return st;
    const int64_t C = x->dims[1], rows = x->dims[0];
    const float *xs = src->data;
    float *out = y->data;
    if (!size || !active) {
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < C; c++) {
                const float *xp = xs + ((r / reps) * C + c) * size;
                out[r * C + c] = size ? pool_sum(xp, size) / (float)size : 0.0f;
            }
        return SSDC_OK;
    }
    if (size > 0x7fffffff / POOL_GROUP)
        return rt_kernel_fail(gctx, err, SSDC_ERR_LIMIT, "pooled planes of %lld elements",
                              (long long)size);
    /* as Dropout's kernel: y = x * (scale * keep) in float, element index
     * (r * C + c) * size + s of the [rows, C, ...] tensor, the Dropout's
     * stream; every plane computed alone, so the split over threads does not
     * change a bit */
    dropout_gap_job job = {
        .xs = xs, .out = out, .scratch = gctx->scratch, .C = C, .size = size, .reps = reps,
        .key = rng_dropout_key(dctx->seed, rng_stream_id(dctx->step, rt_dropout_stream(dctx))),
        .thr = rng_dropout_threshold(ratio),
        .scale = (float)(ratio < 1 ? 1.0 / (1.0 - ratio) : 0.0)};
    int threads = gctx->threads > 1 ? gctx->threads : 1;
    if (gctx->scratch_bytes < rt_dropout_gap_scratch(x, threads))
        threads = 1;
    rt_parallel_for(threads, rows / reps, 1, dropout_gap_rows, &job);
    return SSDC_OK;
}

static ssdc_status globalmaxpool_forward(const rt_kernel_ctx *ctx, const graph_value *in,
                                         int n_in, graph_value *out, int n_out, ssdc_error *err)
{
    int64_t planes, size;
    ssdc_status st = pool_global_check(ctx, in, out, err, &planes, &size);
    if (st)
        return st;
    const float *x = in[0].data;
    float *y = out[0].data;
    for (int64_t p = 0; p < planes; p++) {
        const float *xp = x + p * size;
        float m = -INFINITY;
        for (int64_t i = 0; i < size; i++)
            m = xp[i] > m ? xp[i] : m;
        y[p] = m;
    }
    return SSDC_OK;
}

const rt_kernel rt_kernel_maxpool = {
    .forward = maxpool_forward,
};

const rt_kernel rt_kernel_averagepool = {
    .forward = averagepool_forward,
    .scratch = averagepool_scratch,
};

const rt_kernel rt_kernel_globalaveragepool = {
    .forward = globalaveragepool_forward,
};

const rt_kernel rt_kernel_globalmaxpool = {
    .forward = globalmaxpool_forward,
};

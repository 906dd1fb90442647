/* Forward kernels of the reductions (schemas: graph/ops/reduce.c):
 * ReduceMean/Max/Min/Sum, ArgMax/ArgMin, TopK.
 *
 * Reductions read the input once in memory order: adjacent dimensions with
 * the same reduced/kept status are merged, so the innermost loop is either a
 * contiguous reduction (out[o] op= x[0..L)) or a contiguous elementwise
 * update (out[o..o+L) op= x[0..L)). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "runtime/kernel.h"

typedef enum { RED_SUM, RED_MEAN, RED_MAX, RED_MIN } red_op;

/* The input viewed as alternating kept / reduced blocks of dimensions. */
typedef struct {
    int n;
    int64_t dims[GRAPH_MAX_RANK];
    bool red[GRAPH_MAX_RANK];
    int64_t ost[GRAPH_MAX_RANK]; /* output stride of each block, 0 if reduced */
    int64_t count;               /* elements reduced into each output */
    bool empty;                  /* the input has no elements */
} red_plan;

static void red_plan_make(red_plan *p, const graph_value *x, const bool *red)
{
    p->n = 0;
    p->count = 1;
    p->empty = x->numel == 0;
    for (int d = 0; d < x->rank; d++) {
        if (red[d])
            p->count *= x->dims[d];
        if (x->dims[d] == 1)
            continue;
        if (p->n > 0 && p->red[p->n - 1] == red[d]) {
            p->dims[p->n - 1] *= x->dims[d];
        } else {
            p->dims[p->n] = x->dims[d];
            p->red[p->n] = red[d];
            p->n++;
        }
    }
    if (p->n == 0) {
        p->dims[0] = 1;
        p->red[0] = false;
        p->n = 1;
    }
    int64_t s = 1;
    for (int k = p->n - 1; k >= 0; k--) {
        p->ost[k] = p->red[k] ? 0 : s;
        if (!p->red[k])
            s *= p->dims[k];
    }
}

/* max (mx) or min of v and m */
#define RED_PICK(mx, v, m) ((mx) ? ((v) > (m) ? (v) : (m)) : ((v) < (m) ? (v) : (m)))

/* ACC accumulates a row; WT is T's arithmetic type for element-wise sums.  For
 * integers both are unsigned, so sums wrap (as ONNX Runtime and numpy do)
 * instead of overflowing, which is undefined behaviour for signed types. */
#define DEFINE_REDUCE(NAME, T, ACC, WT, LOWEST, HIGHEST)                                     \
    static void NAME(red_op op, const red_plan *p, const T *restrict x, T *restrict y,       \
                     int64_t y_numel)                                                        \
    {                                                                                        \
        T init = op == RED_MAX ? (LOWEST) : op == RED_MIN ? (HIGHEST) : (T)0;                \
        for (int64_t i = 0; i < y_numel; i++)                                                \
            y[i] = init;                                                                     \
        if (!p->empty) {                                                                     \
            int n = p->n;                                                                    \
            int64_t L = p->dims[n - 1], outer = 1, oo = 0;                                   \
            int64_t idx[GRAPH_MAX_RANK] = {0};                                               \
            for (int k = 0; k < n - 1; k++)                                                  \
                outer *= p->dims[k];                                                         \
            for (int64_t o = 0; o < outer; o++, x += L) {                                    \
                if (p->red[n - 1]) {                                                         \
                    /* four independent accumulators break the dependency chain */  \
                    int64_t j = 0;                                                           \
                    if (op == RED_SUM || op == RED_MEAN) {                                   \
                        ACC s0 = 0, s1 = 0, s2 = 0, s3 = 0;                                  \
                        for (; j + 4 <= L; j += 4) {                                         \
                            s0 += x[j];                                                      \
                            s1 += x[j + 1];                                                  \
                            s2 += x[j + 2];                                                  \
                            s3 += x[j + 3];                                                  \
                        }                                                                    \
                        for (; j < L; j++)                                                   \
                            s0 += x[j];                                                      \
                        y[oo] = (T)(y[oo] + ((s0 + s1) + (s2 + s3)));                        \
                    } else {                                                                 \
                        bool mx = op == RED_MAX;                                             \
                        T m0 = y[oo], m1 = m0, m2 = m0, m3 = m0;                             \
                        for (; j + 4 <= L; j += 4) {                                         \
                            m0 = RED_PICK(mx, x[j], m0);                                     \
                            m1 = RED_PICK(mx, x[j + 1], m1);                                 \
                            m2 = RED_PICK(mx, x[j + 2], m2);                                 \
                            m3 = RED_PICK(mx, x[j + 3], m3);                                 \
                        }                                                                    \
                        for (; j < L; j++)                                                   \
                            m0 = RED_PICK(mx, x[j], m0);                                     \
                        m0 = RED_PICK(mx, m1, m0);                                           \
                        m2 = RED_PICK(mx, m3, m2);                                           \
                        y[oo] = RED_PICK(mx, m2, m0);                                        \
                    }                                                                        \
                } else {                                                                     \
                    T *restrict py = y + oo;                                                 \
                    if (op == RED_SUM || op == RED_MEAN) {                                   \
                        for (int64_t j = 0; j < L; j++)                                      \
                            py[j] = (T)((WT)py[j] + (WT)x[j]);                               \
                    } else if (op == RED_MAX) {                                              \
                        for (int64_t j = 0; j < L; j++)                                      \
                            py[j] = x[j] > py[j] ? x[j] : py[j];                             \
                    } else {                                                                 \
                        for (int64_t j = 0; j < L; j++)                                      \
                            py[j] = x[j] < py[j] ? x[j] : py[j];                             \
                    }                                                                        \
                }                                                                            \
                for (int k = n - 2; k >= 0; k--) {                                           \
                    oo += p->ost[k];                                                         \
                    if (++idx[k] < p->dims[k])                                               \
                        break;                                                               \
                    oo -= p->ost[k] * p->dims[k];                                            \
                    idx[k] = 0;                                                              \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
        /* mean of nothing: NaN for floats, left 0 for integers */                           \
        if (op == RED_MEAN && (p->count > 0 || (T)0.5 != 0))                                 \
            for (int64_t i = 0; i < y_numel; i++)                                            \
                y[i] = (T)(y[i] / (T)p->count);                                              \
    }

DEFINE_REDUCE(reduce_f32, float, double, float, -INFINITY, INFINITY)
DEFINE_REDUCE(reduce_f64, double, double, double, -INFINITY, INFINITY)
DEFINE_REDUCE(reduce_i32, int32_t, uint64_t, uint32_t, INT32_MIN, INT32_MAX)
DEFINE_REDUCE(reduce_i64, int64_t, uint64_t, uint64_t, INT64_MIN, INT64_MAX)

static ssdc_status reduce_forward(const rt_kernel_ctx *ctx, red_op op, const graph_value *in,
                                  int n_in, graph_value *out, ssdc_error *err)
{
    const graph_value *x = &in[0];
    graph_value *y = &out[0];
    int r = x->rank;
    int64_t axes[GRAPH_MAX_RANK];
    int64_t na = 0;
    if (n_in > 1 && in[1].dtype != GRAPH_DT_UNDEFINED) {
        if (in[1].dtype != GRAPH_DT_INT64 && in[1].dtype != GRAPH_DT_INT32)
            return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "axes have dtype %s",
                                  graph_dtype_name(in[1].dtype));
        na = in[1].numel;
        if (na > r)
            return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "axes has %lld entries for rank %d",
                                  (long long)na, r);
        for (int64_t k = 0; k < na; k++)
            axes[k] = graph_value_get_i64(&in[1], k);
    } else {
        size_t n = 0;
        const int64_t *a = graph_attr_ints(ctx->node, "axes", &n);
        if (n > (size_t)r)
            return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "axes has %zu entries for rank %d",
                                  n, r);
        na = (int64_t)n;
        for (size_t k = 0; k < n; k++)
            axes[k] = a[k];
    }
    bool red[GRAPH_MAX_RANK] = {false};
    bool noop = na == 0 && graph_attr_int(ctx->node, "noop_with_empty_axes", 0) != 0;
    for (int d = 0; d < r && na == 0 && !noop; d++)
        red[d] = true;
    for (int64_t k = 0; k < na; k++) {
        if (axes[k] < -r || axes[k] >= r)
            return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                                  "axis %lld is out of range for rank %d", (long long)axes[k], r);
        red[axes[k] < 0 ? axes[k] + r : axes[k]] = true;
    }
    int64_t expect = 1;
    for (int d = 0; d < r; d++)
        if (!red[d])
            expect *= x->dims[d];
    if (y->dtype != x->dtype || y->numel != expect)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "output has %lld elements of %s, "
                              "expected %lld of %s", (long long)y->numel,
                              graph_dtype_name(y->dtype), (long long)expect,
                              graph_dtype_name(x->dtype));
    red_plan p;
    red_plan_make(&p, x, red);
    switch (x->dtype) {
    case GRAPH_DT_FLOAT: reduce_f32(op, &p, x->data, y->data, y->numel); break;
    case GRAPH_DT_DOUBLE: reduce_f64(op, &p, x->data, y->data, y->numel); break;
    case GRAPH_DT_INT32: reduce_i32(op, &p, x->data, y->data, y->numel); break;
    case GRAPH_DT_INT64: reduce_i64(op, &p, x->data, y->data, y->numel); break;
    default:
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED, "dtype %s is not supported",
                              graph_dtype_name(x->dtype));
    }
    return SSDC_OK;
}

#define REDUCE_KERNEL(sym, OP)                                                               \
    static ssdc_status sym##_forward(const rt_kernel_ctx *ctx, const graph_value *in,        \
                                     int n_in, graph_value *out, int n_out, ssdc_error *err) \
    {                                                                                        \
        (void)n_out;                                                                         \
        return reduce_forward(ctx, OP, in, n_in, out, err);                                  \
    }                                                                                        \
    const rt_kernel rt_kernel_##sym = {.forward = sym##_forward};

REDUCE_KERNEL(reducesum, RED_SUM)
REDUCE_KERNEL(reducemean, RED_MEAN)
REDUCE_KERNEL(reducemax, RED_MAX)
REDUCE_KERNEL(reducemin, RED_MIN)

/* ---- ArgMax / ArgMin ---- */

/* take: v beats the current best (strictly; or equal with select_last_index). */
#define DEFINE_ARG(NAME, T)                                                                  \
    static void NAME(const T *x, int64_t *y, int64_t outer, int64_t ad, int64_t inner,      \
                     bool is_max, bool last)                                                 \
    {                                                                                        \
        for (int64_t o = 0; o < outer; o++) {                                                \
            const T *b = x + o * ad * inner;                                                 \
            int64_t *r = y + o * inner;                                                      \
            if (inner == 1) {                                                                \
                T best = b[0];                                                               \
                int64_t bi = 0;                                                              \
                for (int64_t k = 1; k < ad; k++) {                                           \
                    T v = b[k];                                                              \
                    bool take = is_max ? (v > best || (last && v == best))                   \
                                       : (v < best || (last && v == best));                  \
                    if (take) {                                                              \
                        best = v;                                                            \
                        bi = k;                                                              \
                    }                                                                        \
                }                                                                            \
                r[0] = bi;                                                                   \
                continue;                                                                    \
            }                                                                                \
            for (int64_t j = 0; j < inner; j++)                                              \
                r[j] = 0;                                                                    \
            for (int64_t k = 1; k < ad; k++) {                                               \
                const T *row = b + k * inner;                                                \
                for (int64_t j = 0; j < inner; j++) {                                        \
                    T v = row[j], best = b[r[j] * inner + j];                                \
                    bool take = is_max ? (v > best || (last && v == best))                   \
                                       : (v < best || (last && v == best));                  \
                    if (take)                                                                \
                        r[j] = k;                                                            \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
    }

DEFINE_ARG(arg_f32, float)
DEFINE_ARG(arg_f64, double)
DEFINE_ARG(arg_i32, int32_t)
DEFINE_ARG(arg_i64, int64_t)

static int64_t prod(const int64_t *dims, int lo, int hi)
{
    int64_t p = 1;
    for (int i = lo; i < hi; i++)
        p *= dims[i];
    return p;
}

static ssdc_status arg_forward(const rt_kernel_ctx *ctx, bool is_max, const graph_value *in,
                               graph_value *out, ssdc_error *err)
{
    const graph_value *x = &in[0];
    graph_value *y = &out[0];
    int r = x->rank;
    int64_t axis = graph_attr_int(ctx->node, "axis", 0);
    if (axis < -r || axis >= r)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "axis %lld is out of range for rank %d",
                              (long long)axis, r);
    int a = (int)(axis < 0 ? axis + r : axis);
    bool last = graph_attr_int(ctx->node, "select_last_index", 0) != 0;
    int64_t outer = prod(x->dims, 0, a), ad = x->dims[a], inner = prod(x->dims, a + 1, r);
    if (y->dtype != GRAPH_DT_INT64 || y->numel != outer * inner)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "output must be int64 with %lld elements",
                              (long long)(outer * inner));
    if (ad == 0) {
        if (y->numel)
            return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "axis %d has length 0", a);
        return SSDC_OK;
    }
    switch (x->dtype) {
    case GRAPH_DT_FLOAT: arg_f32(x->data, y->data, outer, ad, inner, is_max, last); break;
    case GRAPH_DT_DOUBLE: arg_f64(x->data, y->data, outer, ad, inner, is_max, last); break;
    case GRAPH_DT_INT32: arg_i32(x->data, y->data, outer, ad, inner, is_max, last); break;
    case GRAPH_DT_INT64: arg_i64(x->data, y->data, outer, ad, inner, is_max, last); break;
    default:
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED, "dtype %s is not supported",
                              graph_dtype_name(x->dtype));
    }
    return SSDC_OK;
}

static ssdc_status argmax_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                  graph_value *out, int n_out, ssdc_error *err)
{
    (void)n_in, (void)n_out;
    return arg_forward(ctx, true, in, out, err);
}

static ssdc_status argmin_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                  graph_value *out, int n_out, ssdc_error *err)
{
    (void)n_in, (void)n_out;
    return arg_forward(ctx, false, in, out, err);
}

const rt_kernel rt_kernel_argmax = {.forward = argmax_forward};
const rt_kernel rt_kernel_argmin = {.forward = argmin_forward};

/* ---- TopK ---- */

/* Per slice along the axis: (value, index) pairs are heapified with the best
 * element at the root (ties: lower index first) and the top K popped in order:
 * O(n + K log n).  Pairs live in the planned scratch (TOPK_PAIR bytes each). */
#define TOPK_PAIR 16

#define DEFINE_TOPK(NAME, T)                                                                 \
    typedef struct {                                                                         \
        T v;                                                                                 \
        int64_t i;                                                                           \
    } NAME##_pair;                                                                           \
    _Static_assert(sizeof(NAME##_pair) <= TOPK_PAIR, "pair size");                           \
    static inline bool NAME##_better(const NAME##_pair *a, const NAME##_pair *b,            \
                                     bool largest)                                           \
    {                                                                                        \
        if (a->v != b->v)                                                                    \
            return largest ? a->v > b->v : a->v < b->v;                                      \
        return a->i < b->i;                                                                  \
    }                                                                                        \
    static void NAME##_sift(NAME##_pair *h, int64_t n, int64_t i, bool largest)              \
    {                                                                                        \
        NAME##_pair t = h[i];                                                                \
        for (;;) {                                                                           \
            int64_t c = 2 * i + 1;                                                           \
            if (c >= n)                                                                      \
                break;                                                                       \
            if (c + 1 < n && NAME##_better(&h[c + 1], &h[c], largest))                       \
                c++;                                                                         \
            if (!NAME##_better(&h[c], &t, largest))                                          \
                break;                                                                       \
            h[i] = h[c];                                                                     \
            i = c;                                                                           \
        }                                                                                    \
        h[i] = t;                                                                            \
    }                                                                                        \
    static void NAME(const T *x, T *vals, int64_t *idx, int64_t outer, int64_t ad,          \
                     int64_t inner, int64_t k, bool largest, void *scratch)                  \
    {                                                                                        \
        NAME##_pair *h = scratch;                                                            \
        for (int64_t o = 0; o < outer; o++) {                                                \
            for (int64_t j = 0; j < inner; j++) {                                            \
                const T *b = x + o * ad * inner + j;                                         \
                for (int64_t t = 0; t < ad; t++) {                                           \
                    h[t].v = b[t * inner];                                                   \
                    h[t].i = t;                                                              \
                }                                                                            \
                for (int64_t t = ad / 2 - 1; t >= 0; t--)                                    \
                    NAME##_sift(h, ad, t, largest);                                          \
                int64_t n = ad, base = o * k * inner + j;                                    \
                for (int64_t t = 0; t < k; t++) {                                            \
                    vals[base + t * inner] = h[0].v;                                         \
                    idx[base + t * inner] = h[0].i;                                          \
                    h[0] = h[--n];                                                           \
                    NAME##_sift(h, n, 0, largest);                                           \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
    }

DEFINE_TOPK(topk_f32, float)
DEFINE_TOPK(topk_f64, double)
DEFINE_TOPK(topk_i32, int32_t)
DEFINE_TOPK(topk_i64, int64_t)

static int topk_axis(const graph_node *node, int rank)
{
    int64_t axis = graph_attr_int(node, "axis", -1);
    if (axis < -rank || axis >= rank)
        return -1;
    return (int)(axis < 0 ? axis + rank : axis);
}

static size_t topk_scratch(const graph_node *node, const graph_value *in, int n_in,
                           const graph_value *out, int n_out)
{
    (void)n_in, (void)out, (void)n_out;
    int a = topk_axis(node, in[0].rank);
    return a < 0 ? 0 : (size_t)in[0].dims[a] * TOPK_PAIR;
}

static ssdc_status topk_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                graph_value *out, int n_out, ssdc_error *err)
{
    const graph_value *x = &in[0];
    int r = x->rank;
    int a = topk_axis(ctx->node, r);
    if (a < 0)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "axis %lld is out of range for rank %d",
                              (long long)graph_attr_int(ctx->node, "axis", -1), r);
    int64_t k;
    if (n_in > 1 && in[1].dtype != GRAPH_DT_UNDEFINED) {
        if (in[1].numel != 1 || (in[1].dtype != GRAPH_DT_INT64 && in[1].dtype != GRAPH_DT_INT32))
            return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "K must be one int64");
        k = graph_value_get_i64(&in[1], 0);
    } else {
        k = graph_attr_int(ctx->node, "k", -1);
    }
    int64_t outer = prod(x->dims, 0, a), ad = x->dims[a], inner = prod(x->dims, a + 1, r);
    if (k < 0 || k > ad)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                              "K = %lld is out of range for axis %d of length %lld",
                              (long long)k, a, (long long)ad);
    if (n_out < 2)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "needs 2 outputs");
    graph_value *vals = &out[0], *idx = &out[1];
    if (vals->dtype != x->dtype || vals->numel != outer * k * inner ||
        idx->dtype != GRAPH_DT_INT64 || idx->numel != outer * k * inner)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                              "outputs must have %lld elements (values %s, indices int64)",
                              (long long)(outer * k * inner), graph_dtype_name(x->dtype));
    if (vals->numel == 0)
        return SSDC_OK;
    if (!ctx->scratch || ctx->scratch_bytes < (size_t)ad * TOPK_PAIR)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "needs %zu bytes of scratch, has %zu",
                              (size_t)ad * TOPK_PAIR, ctx->scratch_bytes);
    bool largest = graph_attr_int(ctx->node, "largest", 1) != 0;
    switch (x->dtype) {
    case GRAPH_DT_FLOAT:
        topk_f32(x->data, vals->data, idx->data, outer, ad, inner, k, largest, ctx->scratch);
        break;
    case GRAPH_DT_DOUBLE:
        topk_f64(x->data, vals->data, idx->data, outer, ad, inner, k, largest, ctx->scratch);
        break;
    case GRAPH_DT_INT32:
        topk_i32(x->data, vals->data, idx->data, outer, ad, inner, k, largest, ctx->scratch);
        break;
    case GRAPH_DT_INT64:
        topk_i64(x->data, vals->data, idx->data, outer, ad, inner, k, largest, ctx->scratch);
        break;
    default:
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED, "dtype %s is not supported",
                              graph_dtype_name(x->dtype));
    }
    return SSDC_OK;
}

const rt_kernel rt_kernel_topk = {.forward = topk_forward, .scratch = topk_scratch};

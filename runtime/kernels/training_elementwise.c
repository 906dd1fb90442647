/* Kernels of ssdc's gradient ops for elementwise, activation and
 * data-movement ops (schemas and exact definitions:
 * graph/ops/training_elementwise.c).
 *
 * Pointwise gradients are one contiguous loop per dtype.  SumTo reads X once
 * in memory order (adjacent axes with the same summed/kept status merged, as
 * in the reduce kernels); identical shapes are a memcpy.  SliceGrad,
 * PadGrad and GatherGrad zero dX and then make one pass over dY, adding
 * contiguous rows where the layout allows. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "runtime/kernel.h"

#define MAX_LIST (2 * GRAPH_MAX_RANK)

/* ---- helpers ---- */

static bool is_float(graph_dtype dt)
{
    return dt == GRAPH_DT_FLOAT || dt == GRAPH_DT_DOUBLE;
}

static bool present(const graph_value *in, int n_in, int i)
{
    return i < n_in && in[i].dtype != GRAPH_DT_UNDEFINED && (in[i].data || in[i].numel == 0);
}

static ssdc_status need(const rt_kernel_ctx *ctx, const graph_value *in, int n_in, int i,
                        ssdc_error *err)
{
    if (!present(in, n_in, i))
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "input %d is missing", i);
    return SSDC_OK;
}

static ssdc_status need_float(const rt_kernel_ctx *ctx, const graph_value *v, const char *what,
                              ssdc_error *err)
{
    if (!is_float(v->dtype))
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED, "%s has dtype %s (float or double "
                              "expected)", what, graph_dtype_name(v->dtype));
    return SSDC_OK;
}

/* out[0] must have dY's dtype and `numel` elements. */
static ssdc_status check_out(const rt_kernel_ctx *ctx, const graph_value *out, int n_out,
                             graph_dtype dt, int64_t numel, ssdc_error *err)
{
    if (n_out < 1 || out[0].dtype != dt || out[0].numel != numel)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                              "output must be %lld elements of %s", (long long)numel,
                              graph_dtype_name(dt));
    return SSDC_OK;
}

static int64_t prod(const int64_t *dims, int lo, int hi)
{
    int64_t p = 1;
    for (int i = lo; i < hi; i++)
        p *= dims[i];
    return p;
}

/* An int list from input i (int64 or int32). */
typedef struct {
    bool present;
    int64_t n;
    int64_t v[MAX_LIST];
} int_list;

static ssdc_status read_list(const rt_kernel_ctx *ctx, const graph_value *in, int n_in, int i,
                             const char *what, int_list *l, ssdc_error *err)
{
    l->present = false;
    l->n = 0;
    if (!present(in, n_in, i))
        return SSDC_OK;
    const graph_value *v = &in[i];
    if (v->dtype != GRAPH_DT_INT64 && v->dtype != GRAPH_DT_INT32)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "%s has dtype %s, expected int64", what,
                              graph_dtype_name(v->dtype));
    if (v->numel > MAX_LIST)
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED, "%s has %lld entries", what,
                              (long long)v->numel);
    l->present = true;
    l->n = v->numel;
    for (int64_t k = 0; k < v->numel; k++)
        l->v[k] = graph_value_get_i64(v, k);
    return SSDC_OK;
}

static ssdc_status norm_axis(const rt_kernel_ctx *ctx, int64_t axis, int rank, int *out,
                             ssdc_error *err)
{
    if (axis < -rank || axis >= rank)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "axis %lld is out of range for rank %d",
                              (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return SSDC_OK;
}

/* ---- pointwise: ReluGrad, LeakyReluGrad, SigmoidGrad, TanhGrad ---- */

/* dY (input 0) and T (input 1): same float dtype and element count. */
static ssdc_status pointwise_check(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                   const graph_value *out, int n_out, ssdc_error *err)
{
    ssdc_status st;
    if ((st = need(ctx, in, n_in, 0, err)) || (st = need(ctx, in, n_in, 1, err)) ||
        (st = need_float(ctx, &in[0], "dY", err)))
        return st;
    if (in[1].dtype != in[0].dtype || in[1].numel != in[0].numel)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                              "input 1 (%lld of %s) does not match dY (%lld of %s)",
                              (long long)in[1].numel, graph_dtype_name(in[1].dtype),
                              (long long)in[0].numel, graph_dtype_name(in[0].dtype));
    return check_out(ctx, out, n_out, in[0].dtype, in[0].numel, err);
}

/* dx[i] = EXPR of g = dy[i] and v = t[i] */
#define POINTWISE(NAME, EXPR)                                                                  \
    static ssdc_status NAME##_forward(const rt_kernel_ctx *ctx, const graph_value *in,         \
                                      int n_in, graph_value *out, int n_out, ssdc_error *err)  \
    {                                                                                          \
        ssdc_status st = pointwise_check(ctx, in, n_in, out, n_out, err);                      \
        if (st)                                                                                \
            return st;                                                                         \
        const double alpha_d = graph_attr_float(ctx->node, "alpha", 0.01f);                    \
        int64_t n = in[0].numel;                                                               \
        if (in[0].dtype == GRAPH_DT_FLOAT) {                                                   \
            const float *restrict dy = in[0].data, *restrict t = in[1].data;                   \
            float *restrict dx = out[0].data;                                                  \
            const float alpha = (float)alpha_d;                                                \
            (void)alpha;                                                                       \
            for (int64_t i = 0; i < n; i++) {                                                  \
                const float g = dy[i], v = t[i];                                               \
                dx[i] = (EXPR);                                                                \
            }                                                                                  \
        } else {                                                                               \
            const double *restrict dy = in[0].data, *restrict t = in[1].data;                  \
            double *restrict dx = out[0].data;                                                 \
            const double alpha = alpha_d;                                                      \
            (void)alpha;                                                                       \
            for (int64_t i = 0; i < n; i++) {                                                  \
                const double g = dy[i], v = t[i];                                              \
                dx[i] = (EXPR);                                                                \
            }                                                                                  \
        }                                                                                      \
        return SSDC_OK;                                                                        \
    }                                                                                          \
    const rt_kernel rt_kernel_##NAME = {.forward = NAME##_forward};

POINTWISE(relugrad, v > 0 ? g : 0)
POINTWISE(leakyrelugrad, v < 0 ? alpha * g : g)
POINTWISE(sigmoidgrad, g * v * (1 - v))
POINTWISE(tanhgrad, g * (1 - v * v))

/* ---- ClipGrad ---- */

/* Bound from input i, else the Clip-6 attribute, else +-infinity. */
static double clip_bound(const rt_kernel_ctx *ctx, const graph_value *in, int n_in, int i,
                         const char *attr, double none)
{
    if (present(in, n_in, i) && in[i].numel > 0)
        return graph_value_get_f64(&in[i], 0);
    const graph_attr *a = graph_node_attr(ctx->node, attr);
    if (a && a->type == GRAPH_ATTR_FLOAT)
        return a->f;
    return none;
}

static ssdc_status clipgrad_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                    graph_value *out, int n_out, ssdc_error *err)
{
    ssdc_status st = pointwise_check(ctx, in, n_in, out, n_out, err);
    if (st)
        return st;
    for (int i = 2; i < 4; i++)
        if (present(in, n_in, i) && (in[i].dtype != in[1].dtype || in[i].numel != 1))
            return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                                  "%s (input %d) must be one %s element", i == 2 ? "min" : "max",
                                  i, graph_dtype_name(in[1].dtype));
    double lo = clip_bound(ctx, in, n_in, 2, "min", -INFINITY);
    double hi = clip_bound(ctx, in, n_in, 3, "max", INFINITY);
    int64_t n = in[0].numel;
    if (in[0].dtype == GRAPH_DT_FLOAT) {
        /* bounds compared in the data's dtype, as Clip does */
        const float l = (float)lo, h = (float)hi;
        const float *restrict dy = in[0].data, *restrict x = in[1].data;
        float *restrict dx = out[0].data;
        for (int64_t i = 0; i < n; i++)
            dx[i] = x[i] >= l && x[i] <= h ? dy[i] : 0.0f;
    } else {
        const double *restrict dy = in[0].data, *restrict x = in[1].data;
        double *restrict dx = out[0].data;
        for (int64_t i = 0; i < n; i++)
            dx[i] = x[i] >= lo && x[i] <= hi ? dy[i] : 0.0;
    }
    return SSDC_OK;
}

const rt_kernel rt_kernel_clipgrad = {.forward = clipgrad_forward};

/* ---- DropoutGrad ---- */

static ssdc_status dropoutgrad_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                       graph_value *out, int n_out, ssdc_error *err)
{
    ssdc_status st;
    if ((st = need(ctx, in, n_in, 0, err)) || (st = need(ctx, in, n_in, 1, err)) ||
        (st = need_float(ctx, &in[0], "dY", err)))
        return st;
    if (in[1].dtype != GRAPH_DT_BOOL || in[1].numel != in[0].numel)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "mask must be bool with dY's shape");
    if ((st = check_out(ctx, out, n_out, in[0].dtype, in[0].numel, err)))
        return st;
    double ratio = graph_attr_float(ctx->node, "ratio", 0.5f);
    if (present(in, n_in, 2)) {
        if (in[2].numel != 1 || !is_float(in[2].dtype))
            return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                                  "ratio (input 2) must be a float scalar");
        ratio = graph_value_get_f64(&in[2], 0);
    }
    bool active = ctx->training;
    if (present(in, n_in, 3)) {
        if (in[3].numel != 1 || in[3].dtype != GRAPH_DT_BOOL)
            return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                                  "training_mode (input 3) must be a bool scalar");
        active = active || ((const uint8_t *)in[3].data)[0] != 0;
    }
    if (active && !(ratio >= 0 && ratio <= 1))
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "ratio %g is outside [0, 1]", ratio);
    double scale = !active ? 1.0 : ratio < 1 ? 1.0 / (1.0 - ratio) : 0.0;
    const uint8_t *restrict m = in[1].data;
    int64_t n = in[0].numel;
    if (in[0].dtype == GRAPH_DT_FLOAT) {
        /* the forward scales by the float of 1 / (1 - ratio): the same here */
        const float s = (float)scale;
        const float *restrict dy = in[0].data;
        float *restrict dx = out[0].data;
        for (int64_t i = 0; i < n; i++)
            dx[i] = m[i] ? dy[i] * s : 0.0f;
    } else {
        const double *restrict dy = in[0].data;
        double *restrict dx = out[0].data;
        for (int64_t i = 0; i < n; i++)
            dx[i] = m[i] ? dy[i] * scale : 0.0;
    }
    return SSDC_OK;
}

const rt_kernel rt_kernel_dropoutgrad = {.forward = dropoutgrad_forward};

/* ---- SumTo ---- */

/* X viewed as alternating kept / summed blocks of axes (size-1 axes dropped). */
typedef struct {
    int n;
    int64_t dims[GRAPH_MAX_RANK];
    bool red[GRAPH_MAX_RANK];
    int64_t ost[GRAPH_MAX_RANK]; /* output stride of each block, 0 if summed */
} sumto_plan;

static void sumto_plan_make(sumto_plan *p, const graph_value *x, const bool *red)
{
    p->n = 0;
    for (int d = 0; d < x->rank; d++) {
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

/* y (zeroed) += x over the plan: one pass over x in memory order. */
#define DEFINE_SUMTO(NAME, T, ACC)                                                             \
    static void NAME(const sumto_plan *p, const T *restrict x, T *restrict y)                  \
    {                                                                                          \
        int n = p->n;                                                                          \
        int64_t L = p->dims[n - 1], outer = prod(p->dims, 0, n - 1), oo = 0;                   \
        int64_t idx[GRAPH_MAX_RANK] = {0};                                                     \
        for (int64_t o = 0; o < outer; o++, x += L) {                                          \
            if (p->red[n - 1]) {                                                               \
                ACC s0 = 0, s1 = 0, s2 = 0, s3 = 0;                                            \
                int64_t j = 0;                                                                 \
                for (; j + 4 <= L; j += 4) {                                                   \
                    s0 += x[j];                                                                \
                    s1 += x[j + 1];                                                            \
                    s2 += x[j + 2];                                                            \
                    s3 += x[j + 3];                                                            \
                }                                                                              \
                for (; j < L; j++)                                                             \
                    s0 += x[j];                                                                \
                y[oo] = (T)(y[oo] + ((s0 + s1) + (s2 + s3)));                                  \
            } else {                                                                           \
                T *restrict py = y + oo;                                                       \
                for (int64_t j = 0; j < L; j++)                                                \
                    py[j] += x[j];                                                             \
            }                                                                                  \
            for (int k = n - 2; k >= 0; k--) {                                                 \
                oo += p->ost[k];                                                               \
                if (++idx[k] < p->dims[k])                                                     \
                    break;                                                                     \
                oo -= p->ost[k] * p->dims[k];                                                  \
                idx[k] = 0;                                                                    \
            }                                                                                  \
        }                                                                                      \
    }

DEFINE_SUMTO(sumto_f32, float, double)
DEFINE_SUMTO(sumto_f64, double, double)
DEFINE_SUMTO(sumto_i32, int32_t, int64_t)
DEFINE_SUMTO(sumto_i64, int64_t, int64_t)

static ssdc_status sumto_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                 graph_value *out, int n_out, ssdc_error *err)
{
    ssdc_status st;
    if ((st = need(ctx, in, n_in, 0, err)))
        return st;
    const graph_value *x = &in[0];
    graph_value *y = &out[0];
    size_t esz = graph_dtype_size(x->dtype);
    if (n_out < 1 || y->dtype != x->dtype || y->rank > x->rank)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "output must be %s of rank <= %d",
                              graph_dtype_name(x->dtype), x->rank);
    bool red[GRAPH_MAX_RANK];
    int lead = x->rank - y->rank;
    for (int i = 0; i < x->rank; i++) {
        int j = i - lead;
        int64_t yd = j >= 0 ? y->dims[j] : 1;
        if (yd != x->dims[i] && yd != 1)
            return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                                  "target axis %d (length %lld) does not broadcast to input axis "
                                  "%d (length %lld)", j, (long long)yd, i,
                                  (long long)x->dims[i]);
        red[i] = yd == 1 && x->dims[i] != 1;
    }
    if (y->numel == 0)
        return SSDC_OK;
    if (x->numel == 0) {
        memset(y->data, 0, (size_t)y->numel * esz);
        return SSDC_OK;
    }
    if (x->numel == y->numel) {
        memcpy(y->data, x->data, (size_t)y->numel * esz);
        return SSDC_OK;
    }
    memset(y->data, 0, (size_t)y->numel * esz);
    sumto_plan p;
    sumto_plan_make(&p, x, red);
    switch (x->dtype) {
    case GRAPH_DT_FLOAT: sumto_f32(&p, x->data, y->data); break;
    case GRAPH_DT_DOUBLE: sumto_f64(&p, x->data, y->data); break;
    case GRAPH_DT_INT32: sumto_i32(&p, x->data, y->data); break;
    case GRAPH_DT_INT64: sumto_i64(&p, x->data, y->data); break;
    default:
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED, "dtype %s is not supported",
                              graph_dtype_name(x->dtype));
    }
    return SSDC_OK;
}

const rt_kernel rt_kernel_sumto = {.forward = sumto_forward};

/* ---- SliceGrad ---- */

/* Same clamping as Slice (runtime/kernels/shape_ops.c). */
static int64_t slice_count(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t *first)
{
    if (start < 0)
        start += dim;
    if (end < 0)
        end += dim;
    int64_t n;
    if (step > 0) {
        start = start < 0 ? 0 : start > dim ? dim : start;
        end = end < 0 ? 0 : end > dim ? dim : end;
        int64_t s = step > dim ? dim + 1 : step;
        n = end > start ? (end - start - 1) / s + 1 : 0;
    } else {
        start = start < 0 ? 0 : start > dim - 1 ? dim - 1 : start;
        end = end < -1 ? -1 : end > dim - 1 ? dim - 1 : end;
        int64_t s = step < -dim ? dim + 1 : -step;
        n = start > end ? (start - end - 1) / s + 1 : 0;
    }
    *first = start;
    return n;
}

/* Writes contiguous src (dims, row-major) into dst at byte strides st
 * (may be negative).  Dimensions that stay contiguous are merged. */
static void strided_scatter(char *dst, const char *src, int rank, const int64_t *dims_in,
                            const int64_t *st_in, size_t esz)
{
    int64_t dims[GRAPH_MAX_RANK], st[GRAPH_MAX_RANK];
    int r = 0;
    for (int k = 0; k < rank; k++) {
        if (dims_in[k] == 0)
            return;
        if (dims_in[k] == 1)
            continue;
        if (r > 0 && st[r - 1] == st_in[k] * dims_in[k]) {
            dims[r - 1] *= dims_in[k];
            st[r - 1] = st_in[k];
        } else {
            dims[r] = dims_in[k];
            st[r] = st_in[k];
            r++;
        }
    }
    if (r == 0) {
        memcpy(dst, src, esz);
        return;
    }
    int64_t e = (int64_t)esz, L = dims[r - 1], s = st[r - 1];
    int64_t outer = prod(dims, 0, r - 1);
    int64_t idx[GRAPH_MAX_RANK] = {0};
    char *d = dst;
    for (int64_t o = 0; o < outer; o++, src += L * e) {
        if (s == e) {
            memcpy(d, src, (size_t)(L * e));
        } else if (esz == 4) {
            for (int64_t j = 0; j < L; j++)
                memcpy(d + j * s, src + j * 4, 4);
        } else if (esz == 8) {
            for (int64_t j = 0; j < L; j++)
                memcpy(d + j * s, src + j * 8, 8);
        } else {
            for (int64_t j = 0; j < L; j++)
                memcpy(d + j * s, src + j * e, esz);
        }
        for (int k = r - 2; k >= 0; k--) {
            d += st[k];
            if (++idx[k] < dims[k])
                break;
            d -= st[k] * dims[k];
            idx[k] = 0;
        }
    }
}

static ssdc_status slicegrad_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                     graph_value *out, int n_out, ssdc_error *err)
{
    ssdc_status st;
    if ((st = need(ctx, in, n_in, 0, err)) || (st = need_float(ctx, &in[0], "dY", err)))
        return st;
    const graph_value *dy = &in[0];
    graph_value *dx = &out[0];
    if (n_out < 1 || dx->dtype != dy->dtype || dx->rank != dy->rank)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "output must be %s of rank %d",
                              graph_dtype_name(dy->dtype), dy->rank);
    int_list starts, ends, axes, steps;
    if ((st = read_list(ctx, in, n_in, 2, "starts", &starts, err)) ||
        (st = read_list(ctx, in, n_in, 3, "ends", &ends, err)) ||
        (st = read_list(ctx, in, n_in, 4, "axes", &axes, err)) ||
        (st = read_list(ctx, in, n_in, 5, "steps", &steps, err)))
        return st;
    int r = dx->rank;
    int64_t n = starts.n;
    if (!starts.present || ends.n != n || (axes.present && axes.n != n) ||
        (steps.present && steps.n != n) || n > r)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                              "starts, ends, axes and steps have inconsistent lengths");
    int64_t first[GRAPH_MAX_RANK] = {0}, step[GRAPH_MAX_RANK], count[GRAPH_MAX_RANK];
    for (int d = 0; d < r; d++) {
        step[d] = 1;
        count[d] = dx->dims[d];
    }
    for (int k = 0; k < n; k++) {
        int d = 0;
        if ((st = norm_axis(ctx, axes.present ? axes.v[k] : k, r, &d, err)))
            return st;
        step[d] = steps.present ? steps.v[k] : 1;
        if (step[d] == 0)
            return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "step %d is 0", k);
        count[d] = slice_count(dx->dims[d], starts.v[k], ends.v[k], step[d], &first[d]);
    }
    for (int d = 0; d < r; d++)
        if (count[d] != dy->dims[d])
            return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                                  "dY axis %d has length %lld, the slice %lld", d,
                                  (long long)dy->dims[d], (long long)count[d]);
    size_t esz = graph_dtype_size(dx->dtype);
    if (dx->numel)
        memset(dx->data, 0, (size_t)dx->numel * esz);
    if (!dy->numel)
        return SSDC_OK;
    int64_t xs[GRAPH_MAX_RANK], ss[GRAPH_MAX_RANK];
    int64_t s = (int64_t)esz;
    for (int d = r - 1; d >= 0; d--) {
        xs[d] = s;
        s *= dx->dims[d];
    }
    char *base = dx->data;
    for (int d = 0; d < r; d++) {
        base += first[d] * xs[d];
        ss[d] = xs[d] * step[d];
    }
    strided_scatter(base, dy->data, r, dy->dims, ss, esz);
    return SSDC_OK;
}

const rt_kernel rt_kernel_slicegrad = {.forward = slicegrad_forward};

/* ---- PadGrad ---- */

typedef enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE } pad_mode;

typedef struct {
    int rank;
    pad_mode mode;
    int64_t x_dims[GRAPH_MAX_RANK], y_dims[GRAPH_MAX_RANK], before[GRAPH_MAX_RANK];
    int64_t x_st[GRAPH_MAX_RANK], y_st[GRAPH_MAX_RANK]; /* element strides */
} padgrad_plan;

/* Input index Pad copied output index i (relative to the input's start)
 * from, along an axis of length d; -1: the constant. */
static int64_t pad_map(const padgrad_plan *p, int64_t i, int64_t d)
{
    if (i >= 0 && i < d)
        return i;
    if (p->mode == PAD_CONSTANT)
        return -1;
    if (p->mode == PAD_EDGE)
        return i < 0 ? 0 : d - 1;
    if (d == 1)
        return 0;
    int64_t period = 2 * (d - 1);
    i %= period;
    if (i < 0)
        i += period;
    return i < d ? i : period - i;
}

#define DEFINE_PADGRAD(NAME, T)                                                                \
    static void NAME(const padgrad_plan *p, int d, T *restrict dx, const T *restrict dy)       \
    {                                                                                          \
        int64_t nd = p->y_dims[d], id = p->x_dims[d], pb = p->before[d];                       \
        if (d == p->rank - 1) {                                                                \
            int64_t lo = pb > 0 ? pb : 0, hi = pb + id < nd ? pb + id : nd;                    \
            if (hi > lo) {                                                                     \
                T *restrict row = dx + (lo - pb);                                              \
                const T *restrict src = dy + lo;                                               \
                for (int64_t o = 0; o < hi - lo; o++)                                          \
                    row[o] += src[o];                                                          \
            } else {                                                                           \
                lo = hi = pb < 0 ? 0 : pb > nd ? nd : pb;                                      \
            }                                                                                  \
            if (p->mode == PAD_CONSTANT)                                                       \
                return;                                                                        \
            for (int64_t o = 0; o < lo; o++)                                                   \
                dx[pad_map(p, o - pb, id)] += dy[o];                                           \
            for (int64_t o = hi; o < nd; o++)                                                  \
                dx[pad_map(p, o - pb, id)] += dy[o];                                           \
            return;                                                                            \
        }                                                                                      \
        for (int64_t o = 0; o < nd; o++) {                                                     \
            int64_t i = pad_map(p, o - pb, id);                                                \
            if (i >= 0)                                                                        \
                NAME(p, d + 1, dx + i * p->x_st[d], dy + o * p->y_st[d]);                      \
        }                                                                                      \
    }

DEFINE_PADGRAD(padgrad_f32, float)
DEFINE_PADGRAD(padgrad_f64, double)

static ssdc_status padgrad_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                   graph_value *out, int n_out, ssdc_error *err)
{
    ssdc_status st;
    if ((st = need(ctx, in, n_in, 0, err)) || (st = need_float(ctx, &in[0], "dY", err)))
        return st;
    const graph_value *dy = &in[0];
    graph_value *dx = &out[0];
    int r = dy->rank;
    if (n_out < 1 || dx->dtype != dy->dtype || dx->rank != r)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "output must be %s of rank %d",
                              graph_dtype_name(dy->dtype), r);
    padgrad_plan p;
    const char *mode = graph_attr_string(ctx->node, "mode", "constant");
    if (strcmp(mode, "constant") == 0)
        p.mode = PAD_CONSTANT;
    else if (strcmp(mode, "reflect") == 0)
        p.mode = PAD_REFLECT;
    else if (strcmp(mode, "edge") == 0)
        p.mode = PAD_EDGE;
    else
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED, "mode '%s' is not supported", mode);
    int_list pads, axes;
    if ((st = read_list(ctx, in, n_in, 1, "pads", &pads, err)) ||
        (st = read_list(ctx, in, n_in, 2, "axes", &axes, err)))
        return st;
    if (!axes.present) {
        axes.n = r;
        for (int d = 0; d < r; d++)
            axes.v[d] = d;
    }
    if (pads.n != 2 * axes.n)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "pads has %lld entries, expected %lld",
                              (long long)pads.n, (long long)(2 * axes.n));
    p.rank = r;
    for (int d = 0; d < r; d++) {
        p.x_dims[d] = dx->dims[d];
        p.y_dims[d] = dy->dims[d];
        p.before[d] = 0;
    }
    bool seen[GRAPH_MAX_RANK] = {false};
    for (int k = 0; k < axes.n; k++) {
        int d = 0;
        if ((st = norm_axis(ctx, axes.v[k], r, &d, err)))
            return st;
        if (seen[d])
            return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "axis %d is repeated", d);
        seen[d] = true;
        p.before[d] = pads.v[k];
        if (dx->dims[d] + pads.v[k] + pads.v[k + axes.n] != dy->dims[d])
            return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                                  "axis %d: dX length %lld with pads %lld, %lld does not give dY "
                                  "length %lld", d, (long long)dx->dims[d], (long long)pads.v[k],
                                  (long long)pads.v[k + axes.n], (long long)dy->dims[d]);
        if (p.mode != PAD_CONSTANT && dx->dims[d] == 0 && dy->dims[d] > 0)
            return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "cannot %s-pad an empty axis", mode);
    }
    for (int d = 0; d < r; d++)
        if (!seen[d] && dx->dims[d] != dy->dims[d])
            return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "axis %d is not padded but dX and "
                                  "dY differ", d);
    size_t esz = graph_dtype_size(dx->dtype);
    if (!dx->numel)
        return SSDC_OK;
    memset(dx->data, 0, (size_t)dx->numel * esz);
    if (!dy->numel)
        return SSDC_OK;
    if (r == 0) {
        memcpy(dx->data, dy->data, esz);
        return SSDC_OK;
    }
    int64_t sx = 1, sy = 1;
    for (int d = r - 1; d >= 0; d--) {
        p.x_st[d] = sx;
        p.y_st[d] = sy;
        sx *= dx->dims[d];
        sy *= dy->dims[d];
    }
    if (dx->dtype == GRAPH_DT_FLOAT)
        padgrad_f32(&p, 0, dx->data, dy->data);
    else
        padgrad_f64(&p, 0, dx->data, dy->data);
    return SSDC_OK;
}

const rt_kernel rt_kernel_padgrad = {.forward = padgrad_forward};

/* ---- GatherGrad ---- */

#define GATHERGRAD_LOOP(T)                                                                     \
    {                                                                                          \
        T *restrict x = dx->data;                                                              \
        const T *restrict g = dy->data;                                                        \
        for (int64_t o = 0; o < outer; o++) {                                                  \
            T *blk = x + o * ad * inner;                                                       \
            for (int64_t j = 0; j < ni; j++, g += inner) {                                     \
                int64_t i = ix->dtype == GRAPH_DT_INT64 ? ((const int64_t *)ix->data)[j]       \
                                                        : ((const int32_t *)ix->data)[j];      \
                T *restrict row = blk + (i < 0 ? i + ad : i) * inner;                          \
                for (int64_t k = 0; k < inner; k++)                                            \
                    row[k] += g[k];                                                            \
            }                                                                                  \
        }                                                                                      \
    }

static ssdc_status gathergrad_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                      graph_value *out, int n_out, ssdc_error *err)
{
    ssdc_status st;
    if ((st = need(ctx, in, n_in, 0, err)) || (st = need(ctx, in, n_in, 1, err)) ||
        (st = need_float(ctx, &in[0], "dY", err)))
        return st;
    const graph_value *dy = &in[0], *ix = &in[1];
    graph_value *dx = &out[0];
    if (ix->dtype != GRAPH_DT_INT64 && ix->dtype != GRAPH_DT_INT32)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "indices have dtype %s",
                              graph_dtype_name(ix->dtype));
    if (n_out < 1 || dx->dtype != dy->dtype || dx->rank < 1)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "output must be %s of rank >= 1",
                              graph_dtype_name(dy->dtype));
    int a = 0;
    if ((st = norm_axis(ctx, graph_attr_int(ctx->node, "axis", 0), dx->rank, &a, err)))
        return st;
    int64_t ad = dx->dims[a];
    int64_t outer = prod(dx->dims, 0, a), inner = prod(dx->dims, a + 1, dx->rank);
    int64_t ni = ix->numel;
    if (dy->numel != outer * ni * inner)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "dY has %lld elements, expected %lld",
                              (long long)dy->numel, (long long)(outer * ni * inner));
    for (int64_t j = 0; j < ni; j++) {
        int64_t i = graph_value_get_i64(ix, j);
        if (i < -ad || i >= ad)
            return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                                  "index %lld is out of range for axis %d of length %lld",
                                  (long long)i, a, (long long)ad);
    }
    if (!dx->numel)
        return SSDC_OK;
    memset(dx->data, 0, (size_t)dx->numel * graph_dtype_size(dx->dtype));
    if (dx->dtype == GRAPH_DT_FLOAT)
        GATHERGRAD_LOOP(float)
    else
        GATHERGRAD_LOOP(double)
    return SSDC_OK;
}

const rt_kernel rt_kernel_gathergrad = {.forward = gathergrad_forward};

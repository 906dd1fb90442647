/* Forward kernels of the data-movement ops (schemas: graph/ops/shape_ops.c).
 *
 * Every op here moves elements without looking at them, so kernels work on
 * bytes: any dtype with a size (float, double, int8..int64, uint8, bool).
 * Strided copies go through one engine (strided_copy) that merges contiguous
 * dimensions, copies contiguous rows with memcpy and tiles 2-D transposes. */
#include <string.h>

#include "runtime/kernel.h"

#define MAX_LIST (2 * GRAPH_MAX_RANK)
#define SC_MAX_RANK (2 * GRAPH_MAX_RANK)
#define TILE 16

/* ---- helpers ---- */

static bool has_input(const graph_value *in, int n_in, int i)
{
    return i < n_in && in[i].dtype != GRAPH_DT_UNDEFINED;
}

static ssdc_status elem_size(const rt_kernel_ctx *ctx, const graph_value *v, size_t *esz,
                             ssdc_error *err)
{
    *esz = graph_dtype_size(v->dtype);
    if (!*esz)
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED, "dtype %s is not supported",
                              graph_dtype_name(v->dtype));
    return SSDC_OK;
}

/* An integer list from input i or, when omitted, an INTS attribute. */
typedef struct {
    bool present;
    int64_t n;
    int64_t v[MAX_LIST];
} int_list;

static ssdc_status read_int_list(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                 int i, const char *attr, const char *what, int_list *l,
                                 ssdc_error *err)
{
    l->present = false;
    l->n = 0;
    if (has_input(in, n_in, i)) {
        const graph_value *v = &in[i];
        if (v->dtype != GRAPH_DT_INT64 && v->dtype != GRAPH_DT_INT32)
            return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "%s has dtype %s, expected int64",
                                  what, graph_dtype_name(v->dtype));
        if (v->numel > MAX_LIST)
            return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED, "%s has %lld entries", what,
                                  (long long)v->numel);
        l->present = true;
        l->n = v->numel;
        for (int64_t k = 0; k < v->numel; k++)
            l->v[k] = graph_value_get_i64(v, k);
        return SSDC_OK;
    }
    const graph_attr *a = attr ? graph_node_attr(ctx->node, attr) : NULL;
    if (a && a->type == GRAPH_ATTR_INTS) {
        if (a->n > MAX_LIST)
            return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED, "%s has %zu entries", what,
                                  a->n);
        l->present = true;
        l->n = (int64_t)a->n;
        for (size_t k = 0; k < a->n; k++)
            l->v[k] = a->ints[k];
    }
    return SSDC_OK;
}

static int norm_axis(int64_t axis, int rank)
{
    return (int)(axis < 0 ? axis + rank : axis);
}

static ssdc_status check_axis(const rt_kernel_ctx *ctx, int64_t axis, int rank, int *out,
                              ssdc_error *err)
{
    if (axis < -rank || axis >= rank)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "axis %lld is out of range for rank %d",
                              (long long)axis, rank);
    *out = norm_axis(axis, rank);
    return SSDC_OK;
}

/* Row-major byte strides of v. */
static void byte_strides(const graph_value *v, size_t esz, int64_t *st)
{
    int64_t s = (int64_t)esz;
    for (int d = v->rank - 1; d >= 0; d--) {
        st[d] = s;
        s *= v->dims[d];
    }
}

static int64_t prod(const int64_t *dims, int lo, int hi)
{
    int64_t p = 1;
    for (int i = lo; i < hi; i++)
        p *= dims[i];
    return p;
}

/* Fills n elements of esz bytes at dst with the element at val. */
static void fill_elems(char *dst, const void *val, int64_t n, size_t esz)
{
    if (n <= 0)
        return;
    memcpy(dst, val, esz);
    int64_t done = 1;
    while (done < n) {
        int64_t k = done < n - done ? done : n - done;
        memcpy(dst + done * esz, dst, (size_t)k * esz);
        done += k;
    }
}

/* n elements from src (byte stride st, may be 0 or negative) to contiguous dst. */
#define COPY_LOOP(SZ)                                                                        \
    for (int64_t i = 0; i < n; i++)                                                          \
        memcpy(dst + i * (SZ), src + i * st, SZ);

static void copy_row(char *dst, const char *src, int64_t n, int64_t st, size_t esz)
{
    if (st == (int64_t)esz) {
        memcpy(dst, src, (size_t)n * esz);
        return;
    }
    if (st == 0) {
        fill_elems(dst, src, n, esz);
        return;
    }
    switch (esz) {
    case 1: COPY_LOOP(1) break;
    case 2: COPY_LOOP(2) break;
    case 4: COPY_LOOP(4) break;
    case 8: COPY_LOOP(8) break;
    default:
        for (int64_t i = 0; i < n; i++)
            memcpy(dst + i * (int64_t)esz, src + i * st, esz);
    }
}

/* dst[i][j] = src[i*esz + j*sj] for an R x C block, in TILE x TILE tiles so
 * both the strided reads and the contiguous writes stay in cache. */
#define TILE_LOOP(SZ)                                                                        \
    for (int64_t i0 = 0; i0 < R; i0 += TILE)                                                 \
        for (int64_t j0 = 0; j0 < C; j0 += TILE) {                                           \
            int64_t i1 = i0 + TILE < R ? i0 + TILE : R, j1 = j0 + TILE < C ? j0 + TILE : C;  \
            for (int64_t i = i0; i < i1; i++)                                                \
                for (int64_t j = j0; j < j1; j++)                                            \
                    memcpy(dst + (i * C + j) * (SZ), src + i * (SZ) + j * sj, SZ);           \
        }

static void copy_tile2d(char *dst, const char *src, int64_t R, int64_t C, int64_t sj, size_t esz)
{
    switch (esz) {
    case 1: TILE_LOOP(1) break;
    case 2: TILE_LOOP(2) break;
    case 4: TILE_LOOP(4) break;
    case 8: TILE_LOOP(8) break;
    default:
        for (int64_t i = 0; i < R; i++)
            copy_row(dst + i * C * (int64_t)esz, src + i * (int64_t)esz, C, sj, esz);
    }
}

/* Copies a strided view of src (dims, byte strides; strides may be 0 or
 * negative) into contiguous dst in row-major order. */
static void strided_copy(char *dst, const char *src, int rank, const int64_t *dims_in,
                         const int64_t *strides_in, size_t esz)
{
    int64_t dims[SC_MAX_RANK], st[SC_MAX_RANK];
    int r = 0;
    for (int k = 0; k < rank; k++) {
        if (dims_in[k] == 0)
            return;
        if (dims_in[k] == 1)
            continue;
        if (r > 0 && st[r - 1] == strides_in[k] * dims_in[k]) {
            dims[r - 1] *= dims_in[k];
            st[r - 1] = strides_in[k];
        } else {
            dims[r] = dims_in[k];
            st[r] = strides_in[k];
            r++;
        }
    }
    if (r == 0) {
        memcpy(dst, src, esz);
        return;
    }
    int64_t e = (int64_t)esz;
    bool tile = r >= 2 && st[r - 1] != e && st[r - 2] == e && dims[r - 1] >= 4 &&
                dims[r - 2] >= 4;
    int nouter = tile ? r - 2 : r - 1;
    int64_t inner = tile ? dims[r - 2] * dims[r - 1] : dims[r - 1];
    int64_t outer = prod(dims, 0, nouter);
    int64_t idx[SC_MAX_RANK] = {0};
    const char *s = src;
    for (int64_t o = 0; o < outer; o++) {
        if (tile)
            copy_tile2d(dst, s, dims[r - 2], dims[r - 1], st[r - 1], esz);
        else
            copy_row(dst, s, dims[r - 1], st[r - 1], esz);
        dst += inner * e;
        for (int k = nouter - 1; k >= 0; k--) {
            s += st[k];
            if (++idx[k] < dims[k])
                break;
            s -= st[k] * dims[k];
            idx[k] = 0;
        }
    }
}

/* Output = input bytes (Identity, Flatten, Reshape, Squeeze, Unsqueeze). */
static ssdc_status copy_through(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                graph_value *out, int n_out, ssdc_error *err)
{
    (void)n_in, (void)n_out;
    size_t nb = graph_value_bytes(&in[0]);
    if (nb != graph_value_bytes(&out[0]) || in[0].dtype != out[0].dtype)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                              "output has %lld elements of %s, input %lld of %s",
                              (long long)out[0].numel, graph_dtype_name(out[0].dtype),
                              (long long)in[0].numel, graph_dtype_name(in[0].dtype));
    if (!graph_dtype_size(in[0].dtype))
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED, "dtype %s is not supported",
                              graph_dtype_name(in[0].dtype));
    /* the planner may give the output the input's memory (same bytes) */
    if (nb && out[0].data != in[0].data)
        memcpy(out[0].data, in[0].data, nb);
    return SSDC_OK;
}

const rt_kernel rt_kernel_identity = {.forward = copy_through};
const rt_kernel rt_kernel_flatten = {.forward = copy_through};
const rt_kernel rt_kernel_reshape = {.forward = copy_through};
const rt_kernel rt_kernel_squeeze = {.forward = copy_through};
const rt_kernel rt_kernel_unsqueeze = {.forward = copy_through};

/* ---- Transpose ---- */

static ssdc_status transpose_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                     graph_value *out, int n_out, ssdc_error *err)
{
    (void)n_in, (void)n_out;
    const graph_value *x = &in[0];
    size_t esz;
    ssdc_status st = elem_size(ctx, x, &esz, err);
    if (st)
        return st;
    int r = x->rank;
    size_t np = 0;
    const int64_t *perm = graph_attr_ints(ctx->node, "perm", &np);
    if (perm && np != (size_t)r)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "perm has %zu entries for rank %d", np,
                              r);
    int64_t xs[GRAPH_MAX_RANK], ss[GRAPH_MAX_RANK], dims[GRAPH_MAX_RANK];
    byte_strides(x, esz, xs);
    for (int k = 0; k < r; k++) {
        int64_t p = perm ? perm[k] : r - 1 - k;
        if (p < 0 || p >= r)
            return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "perm[%d] is %lld", k,
                                  (long long)p);
        ss[k] = xs[p];
        dims[k] = x->dims[p];
        if (dims[k] != out[0].dims[k])
            return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "output shape does not match perm");
    }
    if (x->numel)
        strided_copy(out[0].data, x->data, r, dims, ss, esz);
    return SSDC_OK;
}

const rt_kernel rt_kernel_transpose = {.forward = transpose_forward};

/* ---- Concat / Split ---- */

static ssdc_status concat_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                  graph_value *out, int n_out, ssdc_error *err)
{
    (void)n_out;
    graph_value *y = &out[0];
    size_t esz;
    ssdc_status st = elem_size(ctx, y, &esz, err);
    if (st)
        return st;
    int a = 0;
    if ((st = check_axis(ctx, graph_attr_int(ctx->node, "axis", 0), y->rank, &a, err)))
        return st;
    int64_t outer = prod(y->dims, 0, a);
    int64_t inner = prod(y->dims, a + 1, y->rank) * (int64_t)esz;
    int64_t total = 0;
    for (int i = 0; i < n_in; i++) {
        if (in[i].dtype != y->dtype || in[i].rank != y->rank)
            return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "input %d does not match the output",
                                  i);
        total += in[i].dims[a];
    }
    if (total != y->dims[a])
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "inputs sum to %lld along axis %d, "
                              "output has %lld", (long long)total, a, (long long)y->dims[a]);
    if (!y->numel)
        return SSDC_OK;
    char *dst = y->data;
    for (int64_t o = 0; o < outer; o++) {
        for (int i = 0; i < n_in; i++) {
            int64_t nb = in[i].dims[a] * inner;
            if (nb) {
                memcpy(dst, (const char *)in[i].data + o * nb, (size_t)nb);
                dst += nb;
            }
        }
    }
    return SSDC_OK;
}

const rt_kernel rt_kernel_concat = {.forward = concat_forward};

static ssdc_status split_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                 graph_value *out, int n_out, ssdc_error *err)
{
    const graph_value *x = &in[0];
    size_t esz;
    ssdc_status st = elem_size(ctx, x, &esz, err);
    if (st)
        return st;
    int a = 0;
    if ((st = check_axis(ctx, graph_attr_int(ctx->node, "axis", 0), x->rank, &a, err)))
        return st;
    int64_t dim = x->dims[a];
    size_t na = 0;
    const int64_t *sattr = graph_attr_ints(ctx->node, "split", &na);
    bool sin = has_input(in, n_in, 1);
    if ((sin && in[1].numel != n_out) || (!sin && sattr && na != (size_t)n_out))
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "split has %lld entries for %d outputs",
                              (long long)(sin ? in[1].numel : (int64_t)na), n_out);
    bool ceil_rule = graph_node_attr(ctx->node, "num_outputs") != NULL;
    int64_t chunk = ceil_rule ? (dim + n_out - 1) / n_out : dim / n_out;
    int64_t outer = prod(x->dims, 0, a);
    int64_t inner = prod(x->dims, a + 1, x->rank) * (int64_t)esz;
    int64_t off = 0; /* start of output i along the axis */
    for (int i = 0; i < n_out; i++) {
        int64_t len;
        if (sin)
            len = graph_value_get_i64(&in[1], i);
        else if (sattr)
            len = sattr[i];
        else if (ceil_rule)
            len = off + chunk <= dim ? chunk : dim - off;
        else
            len = chunk;
        if (len < 0 || len > dim - off) /* not off + len: len may be near INT64_MAX */
            return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "split sizes exceed axis length %lld",
                                  (long long)dim);
        graph_value *y = &out[i];
        if (y->dtype != GRAPH_DT_UNDEFINED) {
            if (y->rank != x->rank || y->dims[a] != len)
                return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "output %d has the wrong shape",
                                      i);
            int64_t nb = len * inner;
            for (int64_t o = 0; o < outer && nb; o++)
                memcpy((char *)y->data + o * nb, (const char *)x->data + (o * dim + off) * inner,
                       (size_t)nb);
        }
        off += len;
    }
    if (off != dim)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "split sums to %lld, axis has %lld",
                              (long long)off, (long long)dim);
    return SSDC_OK;
}

const rt_kernel rt_kernel_split = {.forward = split_forward};

/* ---- Slice ---- */

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

static ssdc_status slice_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                 graph_value *out, int n_out, ssdc_error *err)
{
    (void)n_out;
    const graph_value *x = &in[0];
    graph_value *y = &out[0];
    size_t esz;
    ssdc_status st = elem_size(ctx, x, &esz, err);
    if (st)
        return st;
    int_list starts, ends, axes, steps;
    if ((st = read_int_list(ctx, in, n_in, 1, NULL, "starts", &starts, err)) ||
        (st = read_int_list(ctx, in, n_in, 2, NULL, "ends", &ends, err)) ||
        (st = read_int_list(ctx, in, n_in, 3, NULL, "axes", &axes, err)) ||
        (st = read_int_list(ctx, in, n_in, 4, NULL, "steps", &steps, err)))
        return st;
    int r = x->rank;
    int64_t n = starts.n;
    if (ends.n != n || (axes.present && axes.n != n) || (steps.present && steps.n != n) || n > r)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                              "starts, ends, axes and steps have inconsistent lengths");
    int64_t first[GRAPH_MAX_RANK] = {0}, step[GRAPH_MAX_RANK], count[GRAPH_MAX_RANK];
    for (int d = 0; d < r; d++) {
        step[d] = 1;
        count[d] = x->dims[d];
    }
    for (int k = 0; k < n; k++) {
        int d = 0;
        if ((st = check_axis(ctx, axes.present ? axes.v[k] : k, r, &d, err)))
            return st;
        step[d] = steps.present ? steps.v[k] : 1;
        if (step[d] == 0)
            return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "step %d is 0", k);
        count[d] = slice_count(x->dims[d], starts.v[k], ends.v[k], step[d], &first[d]);
    }
    for (int d = 0; d < r; d++)
        if (count[d] != y->dims[d] || y->rank != r)
            return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "output shape does not match the "
                                  "slice (axis %d: %lld vs %lld)", d, (long long)y->dims[d],
                                  (long long)count[d]);
    if (!y->numel)
        return SSDC_OK;
    int64_t xs[GRAPH_MAX_RANK], ss[GRAPH_MAX_RANK];
    byte_strides(x, esz, xs);
    const char *base = x->data;
    for (int d = 0; d < r; d++) {
        base += first[d] * xs[d];
        ss[d] = xs[d] * step[d];
    }
    strided_copy(y->data, base, r, y->dims, ss, esz);
    return SSDC_OK;
}

const rt_kernel rt_kernel_slice = {.forward = slice_forward};

/* ---- Constant ---- */

static ssdc_status constant_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                    graph_value *out, int n_out, ssdc_error *err)
{
    (void)in, (void)n_in, (void)n_out;
    graph_value *y = &out[0];
    const graph_node *n = ctx->node;
    const graph_attr *a = n->n_attrs == 1 ? &n->attrs[0] : NULL;
    const void *src = NULL;
    size_t nb = 0;
    graph_dtype dt = GRAPH_DT_UNDEFINED;
    if (!a) {
        /* fall through to the error below */
    } else if (a->type == GRAPH_ATTR_TENSOR && a->t && strcmp(a->name, "value") == 0) {
        src = a->t->data;
        nb = graph_value_bytes(a->t);
        dt = a->t->dtype;
    } else if (a->type == GRAPH_ATTR_FLOAT && strcmp(a->name, "value_float") == 0) {
        src = &a->f;
        nb = sizeof(float);
        dt = GRAPH_DT_FLOAT;
    } else if (a->type == GRAPH_ATTR_INT && strcmp(a->name, "value_int") == 0) {
        src = &a->i;
        nb = sizeof(int64_t);
        dt = GRAPH_DT_INT64;
    } else if (a->type == GRAPH_ATTR_FLOATS && strcmp(a->name, "value_floats") == 0) {
        src = a->floats;
        nb = a->n * sizeof(float);
        dt = GRAPH_DT_FLOAT;
    } else if (a->type == GRAPH_ATTR_INTS && strcmp(a->name, "value_ints") == 0) {
        src = a->ints;
        nb = a->n * sizeof(int64_t);
        dt = GRAPH_DT_INT64;
    }
    if (dt == GRAPH_DT_UNDEFINED)
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED,
                              "needs one of value, value_float(s), value_int(s)");
    if (dt != y->dtype || nb != graph_value_bytes(y))
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "output does not match the value");
    if (nb)
        memcpy(y->data, src, nb);
    return SSDC_OK;
}

const rt_kernel rt_kernel_constant = {.forward = constant_forward};

/* ---- Shape / Size ---- */

static ssdc_status shape_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                 graph_value *out, int n_out, ssdc_error *err)
{
    (void)n_in, (void)n_out;
    int r = in[0].rank;
    int64_t s = graph_attr_int(ctx->node, "start", 0);
    int64_t e = graph_attr_int(ctx->node, "end", r);
    if (s < 0)
        s += r;
    if (e < 0)
        e += r;
    s = s < 0 ? 0 : s > r ? r : s;
    e = e < s ? s : e > r ? r : e;
    if (out[0].dtype != GRAPH_DT_INT64 || out[0].numel != e - s)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "output must be int64 [%lld]",
                              (long long)(e - s));
    int64_t *y = out[0].data;
    for (int64_t d = s; d < e; d++)
        y[d - s] = in[0].dims[d];
    return SSDC_OK;
}

const rt_kernel rt_kernel_shape = {.forward = shape_forward};

static ssdc_status size_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                graph_value *out, int n_out, ssdc_error *err)
{
    (void)n_in, (void)n_out;
    if (out[0].dtype != GRAPH_DT_INT64 || out[0].numel != 1)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "output must be an int64 scalar");
    *(int64_t *)out[0].data = in[0].numel;
    return SSDC_OK;
}

const rt_kernel rt_kernel_size = {.forward = size_forward};

/* ---- Gather ---- */

static ssdc_status gather_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                  graph_value *out, int n_out, ssdc_error *err)
{
    (void)n_in, (void)n_out;
    const graph_value *x = &in[0], *ix = &in[1];
    graph_value *y = &out[0];
    size_t esz;
    ssdc_status st = elem_size(ctx, x, &esz, err);
    if (st)
        return st;
    if (ix->dtype != GRAPH_DT_INT64 && ix->dtype != GRAPH_DT_INT32)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "indices have dtype %s",
                              graph_dtype_name(ix->dtype));
    int a = 0;
    if ((st = check_axis(ctx, graph_attr_int(ctx->node, "axis", 0), x->rank, &a, err)))
        return st;
    int64_t ad = x->dims[a];
    int64_t outer = prod(x->dims, 0, a);
    int64_t inner = prod(x->dims, a + 1, x->rank) * (int64_t)esz;
    int64_t ni = ix->numel;
    if (y->numel != outer * ni * (inner / (int64_t)esz))
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "output has %lld elements, expected %lld",
                              (long long)y->numel, (long long)(outer * ni * inner / (int64_t)esz));
    for (int64_t j = 0; j < ni; j++) {
        int64_t i = ix->dtype == GRAPH_DT_INT64 ? ((const int64_t *)ix->data)[j]
                                                : ((const int32_t *)ix->data)[j];
        if (i < -ad || i >= ad)
            return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                                  "index %lld is out of range for axis %d of length %lld",
                                  (long long)i, a, (long long)ad);
    }
    if (!y->numel)
        return SSDC_OK;
    char *dst = y->data;
    const char *src = x->data;
    for (int64_t o = 0; o < outer; o++) {
        const char *blk = src + o * ad * inner;
        for (int64_t j = 0; j < ni; j++) {
            int64_t i = ix->dtype == GRAPH_DT_INT64 ? ((const int64_t *)ix->data)[j]
                                                    : ((const int32_t *)ix->data)[j];
            if (i < 0)
                i += ad;
            memcpy(dst, blk + i * inner, (size_t)inner);
            dst += inner;
        }
    }
    return SSDC_OK;
}

const rt_kernel rt_kernel_gather = {.forward = gather_forward};

/* ---- Pad ---- */

typedef enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE } pad_mode;

typedef struct {
    int rank;
    pad_mode mode;
    size_t esz;
    const char *cval;
    int64_t in_dims[GRAPH_MAX_RANK], out_dims[GRAPH_MAX_RANK], before[GRAPH_MAX_RANK];
    int64_t in_st[GRAPH_MAX_RANK], out_st[GRAPH_MAX_RANK]; /* byte strides */
} pad_plan;

/* Input index for output index o along an axis of length d; -1: constant. */
static int64_t pad_map(const pad_plan *p, int64_t i, int64_t d)
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

static void pad_rec(const pad_plan *p, int d, char *dst, const char *src)
{
    int64_t nd = p->out_dims[d], id = p->in_dims[d], pb = p->before[d];
    if (d == p->rank - 1) {
        int64_t e = (int64_t)p->esz;
        int64_t lo = pb > 0 ? pb : 0, hi = pb + id < nd ? pb + id : nd;
        if (hi > lo)
            memcpy(dst + lo * e, src + (lo - pb) * e, (size_t)((hi - lo) * e));
        else
            lo = hi = pb < 0 ? 0 : pb > nd ? nd : pb; /* nothing of the input is kept */
        if (p->mode == PAD_CONSTANT) {
            fill_elems(dst, p->cval, lo, p->esz);
            fill_elems(dst + hi * e, p->cval, nd - hi, p->esz);
            return;
        }
        for (int64_t o = 0; o < lo; o++)
            memcpy(dst + o * e, src + pad_map(p, o - pb, id) * e, p->esz);
        for (int64_t o = hi; o < nd; o++)
            memcpy(dst + o * e, src + pad_map(p, o - pb, id) * e, p->esz);
        return;
    }
    for (int64_t o = 0; o < nd; o++) {
        int64_t i = pad_map(p, o - pb, id);
        if (i < 0)
            fill_elems(dst + o * p->out_st[d], p->cval, p->out_st[d] / (int64_t)p->esz, p->esz);
        else
            pad_rec(p, d + 1, dst + o * p->out_st[d], src + i * p->in_st[d]);
    }
}

static ssdc_status pad_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                               graph_value *out, int n_out, ssdc_error *err)
{
    (void)n_out;
    const graph_value *x = &in[0];
    graph_value *y = &out[0];
    pad_plan p;
    ssdc_status st = elem_size(ctx, x, &p.esz, err);
    if (st)
        return st;
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
    if ((st = read_int_list(ctx, in, n_in, 1, "pads", "pads", &pads, err)) ||
        (st = read_int_list(ctx, in, n_in, 3, NULL, "axes", &axes, err)))
        return st;
    int r = x->rank;
    if (!axes.present) {
        axes.n = r;
        for (int d = 0; d < r; d++)
            axes.v[d] = d;
    }
    if (pads.n != 2 * axes.n)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "pads has %lld entries, expected %lld",
                              (long long)pads.n, (long long)(2 * axes.n));
    /* constant value: input 2 (same dtype as data), old 'value' attribute, or 0 */
    union {
        double f64;
        float f32;
        int64_t i64;
        char bytes[16];
    } cv;
    memset(&cv, 0, sizeof cv);
    if (has_input(in, n_in, 2)) {
        if (in[2].dtype != x->dtype || in[2].numel != 1)
            return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                                  "constant_value must be one %s element",
                                  graph_dtype_name(x->dtype));
        memcpy(cv.bytes, in[2].data, p.esz);
    } else if (graph_node_attr(ctx->node, "value")) {
        float v = graph_attr_float(ctx->node, "value", 0.0f);
        switch (x->dtype) {
        case GRAPH_DT_FLOAT: cv.f32 = v; break;
        case GRAPH_DT_DOUBLE: cv.f64 = v; break;
        default: {
            /* saturated (NaN -> 0): an out-of-range float-to-integer conversion is UB */
            int64_t iv = v != v ? 0
                         : v <= -9223372036854775808.0 ? INT64_MIN
                         : v >= 9223372036854775808.0 ? INT64_MAX
                                                       : (int64_t)v;
            memcpy(cv.bytes, &iv, p.esz); /* little-endian truncation */
        }
        }
    }
    p.cval = cv.bytes;
    p.rank = r;
    for (int d = 0; d < r; d++) {
        p.in_dims[d] = x->dims[d];
        p.out_dims[d] = x->dims[d];
        p.before[d] = 0;
    }
    bool seen[GRAPH_MAX_RANK] = {false};
    for (int k = 0; k < axes.n; k++) {
        int d = 0;
        if ((st = check_axis(ctx, axes.v[k], r, &d, err)))
            return st;
        if (seen[d])
            return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "axis %d is repeated", d);
        seen[d] = true;
        p.before[d] = pads.v[k];
        p.out_dims[d] = x->dims[d] + pads.v[k] + pads.v[k + axes.n];
        if (p.mode != PAD_CONSTANT && x->dims[d] == 0 && p.out_dims[d] > 0)
            return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "cannot %s-pad an empty axis", mode);
    }
    if (y->rank != r)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "output rank %d, expected %d", y->rank, r);
    for (int d = 0; d < r; d++)
        if (y->dims[d] != p.out_dims[d])
            return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "output axis %d has length %lld, "
                                  "expected %lld", d, (long long)y->dims[d],
                                  (long long)p.out_dims[d]);
    if (!y->numel)
        return SSDC_OK;
    if (r == 0) {
        memcpy(y->data, x->data, p.esz);
        return SSDC_OK;
    }
    byte_strides(x, p.esz, p.in_st);
    byte_strides(y, p.esz, p.out_st);
    if (x->numel == 0) {
        fill_elems(y->data, p.cval, y->numel, p.esz);
        return SSDC_OK;
    }
    pad_rec(&p, 0, y->data, x->data);
    return SSDC_OK;
}

const rt_kernel rt_kernel_pad = {.forward = pad_forward};

/* ---- Tile / Expand ---- */

static ssdc_status tile_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                graph_value *out, int n_out, ssdc_error *err)
{
    (void)n_out;
    const graph_value *x = &in[0];
    graph_value *y = &out[0];
    size_t esz;
    ssdc_status st = elem_size(ctx, x, &esz, err);
    if (st)
        return st;
    int_list rep;
    if ((st = read_int_list(ctx, in, n_in, 1, NULL, "repeats", &rep, err)))
        return st;
    int r = x->rank;
    if (rep.n != r || y->rank != r)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "repeats has %lld entries for rank %d",
                              (long long)rep.n, r);
    /* output viewed as [rep0, d0, rep1, d1, ...] over input strides [0, s0, 0, s1, ...] */
    int64_t xs[GRAPH_MAX_RANK], dims[SC_MAX_RANK], ss[SC_MAX_RANK];
    byte_strides(x, esz, xs);
    for (int d = 0; d < r; d++) {
        if (rep.v[d] < 0 || y->dims[d] != x->dims[d] * rep.v[d])
            return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "output axis %d does not match "
                                  "repeats", d);
        dims[2 * d] = rep.v[d];
        ss[2 * d] = 0;
        dims[2 * d + 1] = x->dims[d];
        ss[2 * d + 1] = xs[d];
    }
    if (y->numel)
        strided_copy(y->data, x->data, 2 * r, dims, ss, esz);
    return SSDC_OK;
}

const rt_kernel rt_kernel_tile = {.forward = tile_forward};

static ssdc_status expand_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                  graph_value *out, int n_out, ssdc_error *err)
{
    (void)n_in, (void)n_out;
    const graph_value *x = &in[0];
    graph_value *y = &out[0];
    size_t esz;
    ssdc_status st = elem_size(ctx, x, &esz, err);
    if (st)
        return st;
    int R = y->rank, r = x->rank;
    if (R < r)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "output rank %d < input rank %d", R, r);
    int64_t xs[GRAPH_MAX_RANK], ss[GRAPH_MAX_RANK];
    byte_strides(x, esz, xs);
    for (int k = 0; k < R; k++) {
        int i = k - (R - r);
        if (i < 0 || x->dims[i] == 1) {
            ss[k] = 0;
        } else if (x->dims[i] == y->dims[k]) {
            ss[k] = xs[i];
        } else {
            return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "input axis %d (length %lld) cannot "
                                  "be expanded to %lld", i, (long long)x->dims[i],
                                  (long long)y->dims[k]);
        }
    }
    if (y->numel)
        strided_copy(y->data, x->data, R, y->dims, ss, esz);
    return SSDC_OK;
}

const rt_kernel rt_kernel_expand = {.forward = expand_forward};

/* ---- ConstantOfShape ---- */

static ssdc_status constantofshape_forward(const rt_kernel_ctx *ctx, const graph_value *in,
                                           int n_in, graph_value *out, int n_out,
                                           ssdc_error *err)
{
    (void)in, (void)n_in, (void)n_out;
    graph_value *y = &out[0];
    size_t esz;
    ssdc_status st = elem_size(ctx, y, &esz, err);
    if (st)
        return st;
    const graph_attr *va = graph_node_attr(ctx->node, "value");
    char zero[16] = {0};
    const void *val = zero;
    if (va && va->type == GRAPH_ATTR_TENSOR && va->t) {
        if (va->t->dtype != y->dtype || va->t->numel != 1)
            return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                                  "value must be one element of the output dtype");
        val = va->t->data;
    }
    fill_elems(y->data, val, y->numel, esz);
    return SSDC_OK;
}

const rt_kernel rt_kernel_constantofshape = {.forward = constantofshape_forward};

/* ---- Range ---- */

#define RANGE_LOOP(T)                                                                        \
    {                                                                                        \
        T s = *(const T *)in[0].data, dl = *(const T *)in[2].data;                           \
        T *o = y->data;                                                                      \
        for (int64_t i = 0; i < y->numel; i++)                                               \
            o[i] = (T)(s + (T)i * dl);                                                       \
    }

static ssdc_status range_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                 graph_value *out, int n_out, ssdc_error *err)
{
    (void)n_in, (void)n_out;
    graph_value *y = &out[0];
    for (int i = 0; i < 3; i++)
        if (in[i].dtype != y->dtype || in[i].numel != 1)
            return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                                  "input %d must be one %s element", i,
                                  graph_dtype_name(y->dtype));
    switch (y->dtype) {
    case GRAPH_DT_FLOAT: RANGE_LOOP(float) break;
    case GRAPH_DT_DOUBLE: RANGE_LOOP(double) break;
    case GRAPH_DT_INT16: RANGE_LOOP(int16_t) break;
    case GRAPH_DT_INT32: RANGE_LOOP(int32_t) break;
    case GRAPH_DT_INT64: RANGE_LOOP(int64_t) break;
    default:
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED, "dtype %s is not supported",
                              graph_dtype_name(y->dtype));
    }
    return SSDC_OK;
}

const rt_kernel rt_kernel_range = {.forward = range_forward};

/* Elementwise kernels: arithmetic and comparison with numpy broadcasting,
 * logic, unary math and activations, Clip, Where, Cast and Dropout.
 * Schemas: graph/ops/elementwise.c.
 *
 * Broadcasting: every operand gets per-axis byte strides against the output
 * shape (0 on broadcast axes); axes of size 1 are dropped and neighbouring
 * axes that stay contiguous for every operand are merged.  Same-shape and
 * scalar cases collapse to one row.  The rest runs row by row over the
 * innermost axis (a typed loop where each operand steps 1 or 0 elements)
 * with an odometer over the outer axes: no division per element. */
#include "runtime/kernel.h"
#include "runtime/rng.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <tgmath.h> /* exp(x), pow(x, y), ... pick the float or double function */

/* ---- dtype lists: X(dtype, C type, suffix, arg) ---- */

#define EW_FLOAT_TYPES(X, a) X(GRAPH_DT_FLOAT, float, f32, a) X(GRAPH_DT_DOUBLE, double, f64, a)
#define EW_SINT_TYPES(X, a)                                                                     \
    X(GRAPH_DT_INT8, int8_t, i8, a) X(GRAPH_DT_INT16, int16_t, i16, a)                          \
    X(GRAPH_DT_INT32, int32_t, i32, a) X(GRAPH_DT_INT64, int64_t, i64, a)
#define EW_UINT_TYPES(X, a) X(GRAPH_DT_UINT8, uint8_t, u8, a)
#define EW_INT_TYPES(X, a) EW_SINT_TYPES(X, a) EW_UINT_TYPES(X, a)
#define EW_NUM_TYPES(X, a) EW_FLOAT_TYPES(X, a) EW_INT_TYPES(X, a)
#define EW_ALL_TYPES(X, a) EW_NUM_TYPES(X, a) X(GRAPH_DT_BOOL, uint8_t, b8, a)

#define EW_CASE_FN(dt, T, sfx, prefix) \
    case dt: return prefix##_##sfx;

static bool ew_is_float(graph_dtype dt)
{
    return dt == GRAPH_DT_FLOAT || dt == GRAPH_DT_DOUBLE;
}

/* float -> int64 truncating toward zero; NaN -> 0, saturating out of range. */
static inline int64_t ew_f2i64(double v)
{
    if (!(v == v))
        return 0;
    if (v >= 9223372036854775808.0)
        return INT64_MAX;
    if (v < -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)v;
}

/* Integer division truncating toward zero; the caller rules out b == 0.
 * INT64_MIN / -1 wraps instead of trapping. */
static inline int64_t ew_idiv(int64_t a, int64_t b)
{
    return b == -1 ? (int64_t)(0 - (uint64_t)a) : a / b;
}

/* base^e in wrapping integer arithmetic; negative e gives 1/base^-e
 * truncated (0 unless |base| == 1). */
static inline int64_t ew_ipow(int64_t base, int64_t e)
{
    if (e < 0) {
        if (base == 1)
            return 1;
        if (base == -1)
            return (e & 1) ? -1 : 1;
        return 0;
    }
    uint64_t r = 1, b = (uint64_t)base;
    uint64_t k = (uint64_t)e;
    while (k) {
        if (k & 1)
            r *= b;
        b *= b;
        k >>= 1;
    }
    return (int64_t)r;
}

/* ---- broadcasting iterator ---- */

#define EW_MAX_OPERANDS 3

/* One output row of n elements; operand k advances step[k] (0 or 1)
 * elements per output element. */
typedef void (*ew_row_fn)(char *o, const char *const *in, const int *step, int64_t n,
                          const void *param);

typedef struct {
    int n_in;
    int rank; /* >= 1 after coalescing */
    int64_t numel;
    int64_t dims[GRAPH_MAX_RANK];
    int64_t stride[EW_MAX_OPERANDS][GRAPH_MAX_RANK]; /* bytes; 0 on broadcast axes */
    size_t osize;
} ew_bcast;

static void ew_format_dims(const graph_value *v, char *buf, size_t size)
{
    size_t pos = 0;
    pos += (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < v->rank && pos < size; d++)
        pos += (size_t)snprintf(buf + pos, size - pos, "%s%lld", d ? "," : "",
                                (long long)v->dims[d]);
    if (pos < size)
        snprintf(buf + pos, size - pos, "]");
}

static ssdc_status ew_bcast_init(const rt_kernel_ctx *ctx, const graph_value *out,
                                 const graph_value *const *in, int n_in, ew_bcast *b,
                                 ssdc_error *err)
{
    int r = out->rank;
    int64_t st[EW_MAX_OPERANDS][GRAPH_MAX_RANK];
    if (r < 0 || r > GRAPH_MAX_RANK)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "output has unsupported rank %d", r);
    for (int k = 0; k < n_in; k++) {
        const graph_value *v = in[k];
        if (v->rank < 0 || v->rank > r)
            goto mismatch;
        int64_t s = (int64_t)graph_dtype_size(v->dtype);
        for (int j = r - 1; j >= 0; j--) {
            int i = j - (r - v->rank);
            int64_t d = i >= 0 ? v->dims[i] : 1;
            if (d == out->dims[j]) {
                st[k][j] = d == 1 ? 0 : s;
                s *= d;
            } else if (d == 1) {
                st[k][j] = 0;
            } else {
                goto mismatch;
            }
        }
        continue;
    mismatch:;
        char si[160], so[160];
        ew_format_dims(v, si, sizeof si);
        ew_format_dims(out, so, sizeof so);
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                              "input %d of shape %s does not broadcast to the output shape %s", k,
                              si, so);
    }
    b->n_in = n_in;
    b->osize = graph_dtype_size(out->dtype);
    b->numel = 1;
    int m = 0;
    for (int j = 0; j < r; j++) {
        int64_t d = out->dims[j];
        b->numel *= d;
        if (d == 1)
            continue;
        bool merge = m > 0;
        for (int k = 0; k < n_in && merge; k++)
            merge = b->stride[k][m - 1] == st[k][j] * d;
        if (merge) {
            b->dims[m - 1] *= d;
            for (int k = 0; k < n_in; k++)
                b->stride[k][m - 1] = st[k][j];
        } else {
            b->dims[m] = d;
            for (int k = 0; k < n_in; k++)
                b->stride[k][m] = st[k][j];
            m++;
        }
    }
    if (m == 0) {
        b->dims[0] = 1;
        for (int k = 0; k < n_in; k++)
            b->stride[k][0] = 0;
        m = 1;
    }
    b->rank = m;
    return SSDC_OK;
}

static void ew_bcast_run(const ew_bcast *b, void *out, const void *const *in, ew_row_fn row,
                         const void *param)
{
    if (b->numel == 0)
        return;
    int r = b->rank;
    int64_t n = b->dims[r - 1];
    int step[EW_MAX_OPERANDS] = {0, 0, 0};
    const char *p[EW_MAX_OPERANDS] = {NULL, NULL, NULL};
    for (int k = 0; k < b->n_in; k++) {
        step[k] = b->stride[k][r - 1] != 0;
        p[k] = in[k];
    }
    char *o = out;
    if (r == 1) {
        row(o, p, step, n, param);
        return;
    }
    int64_t idx[GRAPH_MAX_RANK] = {0};
    int64_t rows = b->numel / n;
    int64_t orow = n * (int64_t)b->osize;
    for (int64_t q = 0; q < rows; q++) {
        row(o, p, step, n, param);
        o += orow;
        for (int ax = r - 2; ax >= 0; ax--) {
            if (++idx[ax] < b->dims[ax]) {
                for (int k = 0; k < b->n_in; k++)
                    p[k] += b->stride[k][ax];
                break;
            }
            idx[ax] = 0;
            for (int k = 0; k < b->n_in; k++)
                p[k] -= b->stride[k][ax] * (b->dims[ax] - 1);
        }
    }
}

/* ---- binary rows ---- */

/* Body of a two-operand row: EXPR computes o[i] from x (operand 0) and y
 * (operand 1).  o may alias operand 0 (same shape, in-place folding). */
#define EW_BIN_BODY(T, TO, EXPR)                                                                \
    TO *o = (TO *)o_;                                                                           \
    const T *pa = (const T *)in[0], *pb = (const T *)in[1];                                     \
    (void)param;                                                                                \
    if (step[0] && step[1]) {                                                                   \
        for (int64_t i = 0; i < n; i++) {                                                       \
            const T x = pa[i], y = pb[i];                                                       \
            o[i] = (TO)(EXPR);                                                                  \
        }                                                                                       \
    } else if (step[0]) {                                                                       \
        const T y = pb[0];                                                                      \
        for (int64_t i = 0; i < n; i++) {                                                       \
            const T x = pa[i];                                                                  \
            o[i] = (TO)(EXPR);                                                                  \
        }                                                                                       \
    } else if (step[1]) {                                                                       \
        const T x = pa[0];                                                                      \
        for (int64_t i = 0; i < n; i++) {                                                       \
            const T y = pb[i];                                                                  \
            o[i] = (TO)(EXPR);                                                                  \
        }                                                                                       \
    } else {                                                                                    \
        const T x = pa[0], y = pb[0];                                                           \
        const TO v = (TO)(EXPR);                                                                \
        for (int64_t i = 0; i < n; i++)                                                         \
            o[i] = v;                                                                           \
    }

/* Arithmetic: EWF_* for float types, EWI_* for integers (wrapping, no UB). */
#define EWF_ADD(T, x, y) ((x) + (y))
#define EWF_SUB(T, x, y) ((x) - (y))
#define EWF_MUL(T, x, y) ((x) * (y))
#define EWF_DIV(T, x, y) ((x) / (y))
#define EWF_POW(T, x, y) pow(x, y)
#define EWF_MIN(T, x, y) (((x) < (y) || isnan(x)) ? (x) : (y)) /* NaN propagates */
#define EWF_MAX(T, x, y) (((x) > (y) || isnan(x)) ? (x) : (y))
#define EWI_ADD(T, x, y) ((T)((uint64_t)(x) + (uint64_t)(y)))
#define EWI_SUB(T, x, y) ((T)((uint64_t)(x) - (uint64_t)(y)))
#define EWI_MUL(T, x, y) ((T)((uint64_t)(x) * (uint64_t)(y)))
#define EWI_DIV(T, x, y) ((T)ew_idiv((int64_t)(x), (int64_t)(y)))
#define EWI_POW(T, x, y) ((T)ew_ipow((int64_t)(x), (int64_t)(y)))
#define EWI_MIN(T, x, y) ((x) < (y) ? (x) : (y))
#define EWI_MAX(T, x, y) ((x) > (y) ? (x) : (y))

#define EW_DEF_ROW_F(dt, T, sfx, OP)                                                            \
    static void row_##OP##_##sfx(char *o_, const char *const *in, const int *step, int64_t n,  \
                                 const void *param)                                             \
    {                                                                                           \
        EW_BIN_BODY(T, T, EWF_##OP(T, x, y))                                                    \
    }
#define EW_DEF_ROW_I(dt, T, sfx, OP)                                                            \
    static void row_##OP##_##sfx(char *o_, const char *const *in, const int *step, int64_t n,  \
                                 const void *param)                                             \
    {                                                                                           \
        EW_BIN_BODY(T, T, EWI_##OP(T, x, y))                                                    \
    }
#define EW_CASE_ROW(dt, T, sfx, OP) \
    case dt: return row_##OP##_##sfx;

#define EW_DEF_ARITH(OP)                                                                        \
    EW_FLOAT_TYPES(EW_DEF_ROW_F, OP)                                                            \
    EW_INT_TYPES(EW_DEF_ROW_I, OP)                                                              \
    static ew_row_fn pick_##OP(graph_dtype dt)                                                  \
    {                                                                                           \
        switch (dt) {                                                                           \
            EW_NUM_TYPES(EW_CASE_ROW, OP)                                                       \
        default: return NULL;                                                                   \
        }                                                                                       \
    }

EW_DEF_ARITH(ADD)
EW_DEF_ARITH(SUB)
EW_DEF_ARITH(MUL)
EW_DEF_ARITH(DIV)
EW_DEF_ARITH(POW)
EW_DEF_ARITH(MIN)
EW_DEF_ARITH(MAX)

/* Comparisons: bool (one byte, 0/1) output. */
#define EWC_EQUAL(x, y) ((x) == (y))
#define EWC_GREATER(x, y) ((x) > (y))
#define EWC_GREATEROREQUAL(x, y) ((x) >= (y))
#define EWC_LESS(x, y) ((x) < (y))
#define EWC_LESSOREQUAL(x, y) ((x) <= (y))

#define EW_DEF_ROW_CMP(dt, T, sfx, OP)                                                          \
    static void row_##OP##_##sfx(char *o_, const char *const *in, const int *step, int64_t n,  \
                                 const void *param)                                             \
    {                                                                                           \
        EW_BIN_BODY(T, uint8_t, EWC_##OP(x, y))                                                 \
    }

#define EW_DEF_CMP(OP, LIST)                                                                    \
    LIST(EW_DEF_ROW_CMP, OP)                                                                    \
    static ew_row_fn pick_##OP(graph_dtype dt)                                                  \
    {                                                                                           \
        switch (dt) {                                                                           \
            LIST(EW_CASE_ROW, OP)                                                               \
        default: return NULL;                                                                   \
        }                                                                                       \
    }

EW_DEF_CMP(EQUAL, EW_ALL_TYPES)
EW_DEF_CMP(GREATER, EW_NUM_TYPES)
EW_DEF_CMP(GREATEROREQUAL, EW_NUM_TYPES)
EW_DEF_CMP(LESS, EW_NUM_TYPES)
EW_DEF_CMP(LESSOREQUAL, EW_NUM_TYPES)

/* Logic on bool. */
#define EW_DEF_LOGIC(OP, EXPR)                                                                  \
    static void row_##OP(char *o_, const char *const *in, const int *step, int64_t n,          \
                         const void *param)                                                     \
    {                                                                                           \
        EW_BIN_BODY(uint8_t, uint8_t, EXPR)                                                     \
    }                                                                                           \
    static ew_row_fn pick_##OP(graph_dtype dt)                                                  \
    {                                                                                           \
        return dt == GRAPH_DT_BOOL ? row_##OP : NULL;                                           \
    }

EW_DEF_LOGIC(AND, (x != 0) & (y != 0))
EW_DEF_LOGIC(OR, (x != 0) | (y != 0))
EW_DEF_LOGIC(XOR, (x != 0) ^ (y != 0))

/* ---- typed chunk loads and stores (Cast, mixed-dtype Pow) ---- */

#define EW_CHUNK 256

/* buf[j] = src[j * step] (step 0 or 1) as double. */
static void ew_load_f64(graph_dtype dt, const void *src, int step, double *buf, int64_t m)
{
    switch (dt) {
#define EW_LOAD_F(dt_, T, sfx, unused)                                                          \
    case dt_:                                                                                   \
        for (int64_t j = 0; j < m; j++)                                                         \
            buf[j] = (double)((const T *)src)[j * step];                                        \
        break;
        EW_ALL_TYPES(EW_LOAD_F, 0)
#undef EW_LOAD_F
    default: break;
    }
}

/* As int64; floats truncate toward zero. */
static void ew_load_i64(graph_dtype dt, const void *src, int step, int64_t *buf, int64_t m)
{
    switch (dt) {
    case GRAPH_DT_FLOAT:
        for (int64_t j = 0; j < m; j++)
            buf[j] = ew_f2i64(((const float *)src)[j * step]);
        break;
    case GRAPH_DT_DOUBLE:
        for (int64_t j = 0; j < m; j++)
            buf[j] = ew_f2i64(((const double *)src)[j * step]);
        break;
#define EW_LOAD_I(dt_, T, sfx, unused)                                                          \
    case dt_:                                                                                   \
        for (int64_t j = 0; j < m; j++)                                                         \
            buf[j] = (int64_t)((const T *)src)[j * step];                                       \
        break;
        EW_INT_TYPES(EW_LOAD_I, 0)
        EW_LOAD_I(GRAPH_DT_BOOL, uint8_t, b8, 0)
#undef EW_LOAD_I
    default: break;
    }
}

/* dst[j] = buf[j]: floats round, integers truncate toward zero (then wrap
 * to the width), bool is value != 0 (NaN is true). */
static void ew_store_f64(graph_dtype dt, void *dst, const double *buf, int64_t m)
{
    switch (dt) {
#define EW_STORE_FF(dt_, T, sfx, unused)                                                        \
    case dt_:                                                                                   \
        for (int64_t j = 0; j < m; j++)                                                         \
            ((T *)dst)[j] = (T)buf[j];                                                          \
        break;
        EW_FLOAT_TYPES(EW_STORE_FF, 0)
#undef EW_STORE_FF
#define EW_STORE_FI(dt_, T, sfx, unused)                                                        \
    case dt_:                                                                                   \
        for (int64_t j = 0; j < m; j++)                                                         \
            ((T *)dst)[j] = (T)ew_f2i64(buf[j]);                                                \
        break;
        EW_INT_TYPES(EW_STORE_FI, 0)
#undef EW_STORE_FI
    case GRAPH_DT_BOOL:
        for (int64_t j = 0; j < m; j++)
            ((uint8_t *)dst)[j] = buf[j] != 0;
        break;
    default: break;
    }
}

static void ew_store_i64(graph_dtype dt, void *dst, const int64_t *buf, int64_t m)
{
    switch (dt) {
#define EW_STORE_I(dt_, T, sfx, unused)                                                         \
    case dt_:                                                                                   \
        for (int64_t j = 0; j < m; j++)                                                         \
            ((T *)dst)[j] = (T)buf[j];                                                          \
        break;
        EW_NUM_TYPES(EW_STORE_I, 0)
#undef EW_STORE_I
    case GRAPH_DT_BOOL:
        for (int64_t j = 0; j < m; j++)
            ((uint8_t *)dst)[j] = buf[j] != 0;
        break;
    default: break;
    }
}

/* Pow with base and exponent of different dtypes (output: base dtype). */
typedef struct {
    graph_dtype base, expo;
} ew_pow_types;

static void row_pow_mixed(char *o, const char *const *in, const int *step, int64_t n,
                          const void *param)
{
    const ew_pow_types *t = param;
    size_t bs = graph_dtype_size(t->base), es = graph_dtype_size(t->expo);
    bool float_base = ew_is_float(t->base), float_expo = ew_is_float(t->expo);
    for (int64_t done = 0; done < n; done += EW_CHUNK) {
        int64_t m = n - done < EW_CHUNK ? n - done : EW_CHUNK;
        const char *pb = in[0] + (size_t)(done * step[0]) * bs;
        const char *pe = in[1] + (size_t)(done * step[1]) * es;
        char *po = o + (size_t)done * bs;
        if (float_base || float_expo) {
            double b[EW_CHUNK], e[EW_CHUNK];
            ew_load_f64(t->base, pb, step[0], b, m);
            ew_load_f64(t->expo, pe, step[1], e, m);
            for (int64_t j = 0; j < m; j++)
                b[j] = pow(b[j], e[j]);
            ew_store_f64(t->base, po, b, m);
        } else {
            int64_t b[EW_CHUNK], e[EW_CHUNK];
            ew_load_i64(t->base, pb, step[0], b, m);
            ew_load_i64(t->expo, pe, step[1], e, m);
            for (int64_t j = 0; j < m; j++)
                b[j] = ew_ipow(b[j], e[j]);
            ew_store_i64(t->base, po, b, m);
        }
    }
}

/* ---- rows by element size: Where, broadcast copy ---- */

#define EW_SIZE_TYPES(X, a) X(1, uint8_t, 1, a) X(2, uint16_t, 2, a) X(4, uint32_t, 4, a) X(8, uint64_t, 8, a)

#define EW_DEF_WHERE(sz, T, sfx, unused)                                                        \
    static void row_where_##sfx(char *o_, const char *const *in, const int *step, int64_t n,   \
                                const void *param)                                              \
    {                                                                                           \
        T *o = (T *)o_;                                                                         \
        const uint8_t *c = (const uint8_t *)in[0];                                              \
        const T *a = (const T *)in[1], *b = (const T *)in[2];                                   \
        (void)param;                                                                            \
        if (step[0] && step[1] && step[2]) {                                                    \
            for (int64_t i = 0; i < n; i++)                                                     \
                o[i] = c[i] ? a[i] : b[i];                                                      \
        } else {                                                                                \
            const int64_t sc = step[0], sa = step[1], sb = step[2];                             \
            for (int64_t i = 0; i < n; i++)                                                     \
                o[i] = c[i * sc] ? a[i * sa] : b[i * sb];                                       \
        }                                                                                       \
    }
EW_SIZE_TYPES(EW_DEF_WHERE, 0)

#define EW_DEF_COPY(sz, T, sfx, unused)                                                         \
    static void row_copy_##sfx(char *o_, const char *const *in, const int *step, int64_t n,    \
                               const void *param)                                               \
    {                                                                                           \
        T *o = (T *)o_;                                                                         \
        const T *a = (const T *)in[0];                                                          \
        (void)param;                                                                            \
        if (step[0]) {                                                                          \
            memcpy(o, a, (size_t)n * sizeof(T));                                                \
        } else {                                                                                \
            for (int64_t i = 0; i < n; i++)                                                     \
                o[i] = a[0];                                                                    \
        }                                                                                       \
    }
EW_SIZE_TYPES(EW_DEF_COPY, 0)

static ew_row_fn pick_where(size_t size)
{
    switch (size) {
        EW_SIZE_TYPES(EW_CASE_FN, row_where)
    default: return NULL;
    }
}

static ew_row_fn pick_copy(size_t size)
{
    switch (size) {
        EW_SIZE_TYPES(EW_CASE_FN, row_copy)
    default: return NULL;
    }
}

/* ---- kernel plumbing ---- */

typedef ew_row_fn (*ew_pick_fn)(graph_dtype dt);

static ssdc_status ew_check_arity(const rt_kernel_ctx *ctx, int n_in, int min_in, int max_in,
                                  int n_out, ssdc_error *err)
{
    if (n_in < min_in || (max_in >= 0 && n_in > max_in) || n_out < 1)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "got %d inputs and %d outputs", n_in,
                              n_out);
    return SSDC_OK;
}

static ssdc_status ew_need_input(const rt_kernel_ctx *ctx, const graph_value *in, int i,
                                 ssdc_error *err)
{
    if (in[i].dtype == GRAPH_DT_UNDEFINED || (in[i].numel > 0 && !in[i].data))
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "input %d is missing", i);
    return SSDC_OK;
}

static ssdc_status ew_dtype_unsupported(const rt_kernel_ctx *ctx, graph_dtype dt, ssdc_error *err)
{
    return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED, "dtype %s is not supported",
                          graph_dtype_name(dt));
}

static ssdc_status ew_dtype_mismatch(const rt_kernel_ctx *ctx, int i, graph_dtype got,
                                     graph_dtype want, ssdc_error *err)
{
    return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "input %d has dtype %s, expected %s", i,
                          graph_dtype_name(got), graph_dtype_name(want));
}

/* out = row(a, b) with broadcasting. */
static ssdc_status ew_run_binary(const rt_kernel_ctx *ctx, const graph_value *a,
                                 const graph_value *b, graph_value *out, ew_row_fn row,
                                 const void *param, ssdc_error *err)
{
    const graph_value *ops[2] = {a, b};
    ew_bcast bc;
    ssdc_status st = ew_bcast_init(ctx, out, ops, 2, &bc, err);
    if (st)
        return st;
    const void *data[2] = {a->data, b->data};
    ew_bcast_run(&bc, out->data, data, row, param);
    return SSDC_OK;
}

/* Integer Div: refuse a zero divisor (instead of trapping). */
static ssdc_status ew_check_nonzero(const rt_kernel_ctx *ctx, const graph_value *v, ssdc_error *err)
{
    if (ew_is_float(v->dtype))
        return SSDC_OK;
    for (int64_t i = 0; i < v->numel; i++)
        if (graph_value_get_i64(v, i) == 0)
            return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                                  "integer division by zero (divisor element %lld)", (long long)i);
    return SSDC_OK;
}

typedef enum {
    EW_KIND_ARITH, /* inputs and output share one dtype */
    EW_KIND_CMP,   /* inputs share one dtype, output bool */
    EW_KIND_DIV    /* arithmetic, integer divisor checked for zeros */
} ew_kind;

static ssdc_status ew_forward_binary(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                     graph_value *out, int n_out, ew_pick_fn pick, ew_kind kind,
                                     ssdc_error *err)
{
    ssdc_status st = ew_check_arity(ctx, n_in, 2, 2, n_out, err);
    if (st || (st = ew_need_input(ctx, in, 0, err)) || (st = ew_need_input(ctx, in, 1, err)))
        return st;
    graph_dtype dt = in[0].dtype;
    if (in[1].dtype != dt)
        return ew_dtype_mismatch(ctx, 1, in[1].dtype, dt, err);
    graph_dtype want_out = kind == EW_KIND_CMP ? GRAPH_DT_BOOL : dt;
    if (out[0].dtype != want_out)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "output has dtype %s, expected %s",
                              graph_dtype_name(out[0].dtype), graph_dtype_name(want_out));
    ew_row_fn row = pick(dt);
    if (!row)
        return ew_dtype_unsupported(ctx, dt, err);
    if (kind == EW_KIND_DIV && (st = ew_check_nonzero(ctx, &in[1], err)))
        return st;
    return ew_run_binary(ctx, &in[0], &in[1], &out[0], row, NULL, err);
}

/* Mean: divide the sum in place by k. */
static void ew_divide_by(graph_value *v, int64_t k)
{
    switch (v->dtype) {
#define EW_DIV_F(dt_, T, sfx, unused)                                                           \
    case dt_: {                                                                                 \
        T *p = v->data;                                                                         \
        const T s = (T)1 / (T)k;                                                                \
        for (int64_t i = 0; i < v->numel; i++)                                                  \
            p[i] *= s;                                                                          \
    } break;
        EW_FLOAT_TYPES(EW_DIV_F, 0)
#undef EW_DIV_F
#define EW_DIV_I(dt_, T, sfx, unused)                                                           \
    case dt_: {                                                                                 \
        T *p = v->data;                                                                         \
        for (int64_t i = 0; i < v->numel; i++)                                                  \
            p[i] = (T)((int64_t)p[i] / k);                                                      \
    } break;
        EW_INT_TYPES(EW_DIV_I, 0)
#undef EW_DIV_I
    default: break;
    }
}

/* Min, Max, Sum, Mean: out = in0 op in1 op ... (left fold, in place). */
static ssdc_status ew_forward_variadic(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                       graph_value *out, int n_out, ew_pick_fn pick, bool mean,
                                       ssdc_error *err)
{
    ssdc_status st = ew_check_arity(ctx, n_in, 1, -1, n_out, err);
    if (st)
        return st;
    graph_dtype dt = out[0].dtype;
    for (int i = 0; i < n_in; i++) {
        if ((st = ew_need_input(ctx, in, i, err)))
            return st;
        if (in[i].dtype != dt)
            return ew_dtype_mismatch(ctx, i, in[i].dtype, dt, err);
    }
    ew_row_fn row = pick(dt);
    if (!row)
        return ew_dtype_unsupported(ctx, dt, err);
    if (n_in == 1) {
        st = ew_run_binary(ctx, &in[0], &in[0], &out[0], pick_copy(graph_dtype_size(dt)), NULL,
                           err);
    } else {
        st = ew_run_binary(ctx, &in[0], &in[1], &out[0], row, NULL, err);
        for (int i = 2; i < n_in && !st; i++)
            st = ew_run_binary(ctx, &out[0], &in[i], &out[0], row, NULL, err);
    }
    if (!st && mean && n_in > 1)
        ew_divide_by(&out[0], n_in);
    return st;
}

#define EW_BINARY_KERNEL(sym, OP, kind)                                                         \
    static ssdc_status forward_##sym(const rt_kernel_ctx *ctx, const graph_value *in, int n_in, \
                                     graph_value *out, int n_out, ssdc_error *err)              \
    {                                                                                           \
        return ew_forward_binary(ctx, in, n_in, out, n_out, pick_##OP, kind, err);              \
    }                                                                                           \
    const rt_kernel rt_kernel_##sym = {forward_##sym, NULL};

#define EW_VARIADIC_KERNEL(sym, OP, mean)                                                       \
    static ssdc_status forward_##sym(const rt_kernel_ctx *ctx, const graph_value *in, int n_in, \
                                     graph_value *out, int n_out, ssdc_error *err)              \
    {                                                                                           \
        return ew_forward_variadic(ctx, in, n_in, out, n_out, pick_##OP, mean, err);            \
    }                                                                                           \
    const rt_kernel rt_kernel_##sym = {forward_##sym, NULL};

EW_BINARY_KERNEL(add, ADD, EW_KIND_ARITH)
EW_BINARY_KERNEL(sub, SUB, EW_KIND_ARITH)
EW_BINARY_KERNEL(mul, MUL, EW_KIND_ARITH)
EW_BINARY_KERNEL(div, DIV, EW_KIND_DIV)
EW_BINARY_KERNEL(equal, EQUAL, EW_KIND_CMP)
EW_BINARY_KERNEL(greater, GREATER, EW_KIND_CMP)
EW_BINARY_KERNEL(greaterorequal, GREATEROREQUAL, EW_KIND_CMP)
EW_BINARY_KERNEL(less, LESS, EW_KIND_CMP)
EW_BINARY_KERNEL(lessorequal, LESSOREQUAL, EW_KIND_CMP)
EW_BINARY_KERNEL(and, AND, EW_KIND_ARITH)
EW_BINARY_KERNEL(or, OR, EW_KIND_ARITH)
EW_BINARY_KERNEL(xor, XOR, EW_KIND_ARITH)

EW_VARIADIC_KERNEL(min, MIN, false)
EW_VARIADIC_KERNEL(max, MAX, false)
EW_VARIADIC_KERNEL(sum, ADD, false)
EW_VARIADIC_KERNEL(mean, ADD, true)

static ssdc_status forward_pow(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                               graph_value *out, int n_out, ssdc_error *err)
{
    ssdc_status st = ew_check_arity(ctx, n_in, 2, 2, n_out, err);
    if (st || (st = ew_need_input(ctx, in, 0, err)) || (st = ew_need_input(ctx, in, 1, err)))
        return st;
    graph_dtype bt = in[0].dtype, et = in[1].dtype;
    if (out[0].dtype != bt)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "output has dtype %s, expected %s",
                              graph_dtype_name(out[0].dtype), graph_dtype_name(bt));
    if (!pick_POW(bt))
        return ew_dtype_unsupported(ctx, bt, err);
    if (!pick_POW(et))
        return ew_dtype_unsupported(ctx, et, err);
    if (bt == et)
        return ew_run_binary(ctx, &in[0], &in[1], &out[0], pick_POW(bt), NULL, err);
    const ew_pow_types types = {bt, et};
    return ew_run_binary(ctx, &in[0], &in[1], &out[0], row_pow_mixed, &types, err);
}
const rt_kernel rt_kernel_pow = {forward_pow, NULL};

/* ---- Where ---- */

static ssdc_status forward_where(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                 graph_value *out, int n_out, ssdc_error *err)
{
    ssdc_status st = ew_check_arity(ctx, n_in, 3, 3, n_out, err);
    for (int i = 0; i < 3 && !st; i++)
        st = ew_need_input(ctx, in, i, err);
    if (st)
        return st;
    if (in[0].dtype != GRAPH_DT_BOOL)
        return ew_dtype_mismatch(ctx, 0, in[0].dtype, GRAPH_DT_BOOL, err);
    graph_dtype dt = out[0].dtype;
    for (int i = 1; i < 3; i++)
        if (in[i].dtype != dt)
            return ew_dtype_mismatch(ctx, i, in[i].dtype, dt, err);
    ew_row_fn row = pick_where(graph_dtype_size(dt));
    if (!row)
        return ew_dtype_unsupported(ctx, dt, err);
    const graph_value *ops[3] = {&in[0], &in[1], &in[2]};
    ew_bcast bc;
    if ((st = ew_bcast_init(ctx, &out[0], ops, 3, &bc, err)))
        return st;
    const void *data[3] = {in[0].data, in[1].data, in[2].data};
    ew_bcast_run(&bc, out[0].data, data, row, NULL);
    return SSDC_OK;
}
const rt_kernel rt_kernel_where = {forward_where, NULL};

/* ---- unary ops ---- */

typedef struct {
    double alpha, beta;
} ew_param;

typedef void (*ew_unary_fn)(void *o, const void *x, int64_t n, const ew_param *p);
typedef ew_unary_fn (*ew_upick_fn)(graph_dtype dt);

#define EW_UN_BODY(T, EXPR)                                                                     \
    T *o = (T *)o_;                                                                             \
    const T *px = (const T *)x_;                                                                \
    const T alpha = (T)p->alpha, beta = (T)p->beta;                                             \
    (void)alpha;                                                                                \
    (void)beta;                                                                                 \
    for (int64_t i = 0; i < n; i++) {                                                           \
        const T x = px[i];                                                                      \
        o[i] = (T)(EXPR);                                                                       \
    }

static inline float ew_sigmoid_float(float x)
{
    float e = exp(-fabs(x));
    return (x >= 0 ? 1.0f : e) / (1.0f + e);
}

static inline double ew_sigmoid_double(double x)
{
    double e = exp(-fabs(x));
    return (x >= 0 ? 1.0 : e) / (1.0 + e);
}

/* Float expressions (tgmath: float or double functions by the type of x). */
#define EWU_ABS_F(T, x) fabs(x)
#define EWU_NEG_F(T, x) (-(x))
#define EWU_SIGN_F(T, x) ((x) > 0 ? (T)1 : (x) < 0 ? (T)-1 : (x))
#define EWU_SQRT_F(T, x) sqrt(x)
#define EWU_EXP_F(T, x) exp(x)
#define EWU_LOG_F(T, x) log(x)
#define EWU_RECIPROCAL_F(T, x) ((T)1 / (x))
#define EWU_FLOOR_F(T, x) floor(x)
#define EWU_CEIL_F(T, x) ceil(x)
#define EWU_SIN_F(T, x) sin(x)
#define EWU_COS_F(T, x) cos(x)
#define EWU_ERF_F(T, x) erf(x)
#define EWU_RELU_F(T, x) ((x) < 0 ? (T)0 : (x))
#define EWU_LEAKYRELU_F(T, x) ((x) < 0 ? alpha * (x) : (x))
/* one exp of -|x| (never overflows): 1/(1+e) for x >= 0, e/(1+e) below */
#define EWU_SIGMOID_F(T, x) ew_sigmoid_##T(x)
#define EWU_TANH_F(T, x) tanh(x)
#define EWU_ELU_F(T, x) ((x) < 0 ? alpha * expm1(x) : (x))
#define EWU_HARDSIGMOID_F(T, x) fmax((T)0, fmin((T)1, alpha * (x) + beta))
#define EWU_SOFTPLUS_F(T, x) (((x) > 0 ? (x) : (T)0) + log1p(exp(-fabs(x))))
/* Signed integers (wrapping negation). */
#define EWU_ABS_S(T, x) ((x) < 0 ? (T)(0 - (uint64_t)(x)) : (x))
#define EWU_NEG_S(T, x) ((T)(0 - (uint64_t)(x)))
#define EWU_SIGN_S(T, x) (((x) > 0) - ((x) < 0))
#define EWU_RELU_S(T, x) ((x) < 0 ? (T)0 : (x))
/* Unsigned integers. */
#define EWU_ABS_U(T, x) (x)
#define EWU_SIGN_U(T, x) ((x) != 0)

#define EW_DEF_UN(dt, T, sfx, OPK)                                                              \
    static void un_##OPK##_##sfx(void *o_, const void *x_, int64_t n, const ew_param *p)       \
    {                                                                                           \
        EW_UN_BODY(T, EWU_##OPK(T, x))                                                          \
    }
#define EW_CASE_UN(dt, T, sfx, OPK) \
    case dt: return un_##OPK##_##sfx;

/* Float-only op. */
#define EW_DEF_UNARY_F(OP)                                                                      \
    EW_FLOAT_TYPES(EW_DEF_UN, OP##_F)                                                           \
    static ew_unary_fn upick_##OP(graph_dtype dt)                                               \
    {                                                                                           \
        switch (dt) {                                                                           \
            EW_FLOAT_TYPES(EW_CASE_UN, OP##_F)                                                  \
        default: return NULL;                                                                   \
        }                                                                                       \
    }
/* Floats and signed integers. */
#define EW_DEF_UNARY_FS(OP)                                                                     \
    EW_FLOAT_TYPES(EW_DEF_UN, OP##_F)                                                           \
    EW_SINT_TYPES(EW_DEF_UN, OP##_S)                                                            \
    static ew_unary_fn upick_##OP(graph_dtype dt)                                               \
    {                                                                                           \
        switch (dt) {                                                                           \
            EW_FLOAT_TYPES(EW_CASE_UN, OP##_F)                                                  \
            EW_SINT_TYPES(EW_CASE_UN, OP##_S)                                                   \
        default: return NULL;                                                                   \
        }                                                                                       \
    }
/* All numeric types. */
#define EW_DEF_UNARY_FSU(OP)                                                                    \
    EW_FLOAT_TYPES(EW_DEF_UN, OP##_F)                                                           \
    EW_SINT_TYPES(EW_DEF_UN, OP##_S)                                                            \
    EW_UINT_TYPES(EW_DEF_UN, OP##_U)                                                            \
    static ew_unary_fn upick_##OP(graph_dtype dt)                                               \
    {                                                                                           \
        switch (dt) {                                                                           \
            EW_FLOAT_TYPES(EW_CASE_UN, OP##_F)                                                  \
            EW_SINT_TYPES(EW_CASE_UN, OP##_S)                                                   \
            EW_UINT_TYPES(EW_CASE_UN, OP##_U)                                                   \
        default: return NULL;                                                                   \
        }                                                                                       \
    }

EW_DEF_UNARY_FSU(ABS)
EW_DEF_UNARY_FS(NEG)
EW_DEF_UNARY_FSU(SIGN)
EW_DEF_UNARY_FS(RELU)
EW_DEF_UNARY_F(SQRT)
EW_DEF_UNARY_F(EXP)
EW_DEF_UNARY_F(LOG)
EW_DEF_UNARY_F(RECIPROCAL)
EW_DEF_UNARY_F(FLOOR)
EW_DEF_UNARY_F(CEIL)
EW_DEF_UNARY_F(SIN)
EW_DEF_UNARY_F(COS)
EW_DEF_UNARY_F(ERF)
EW_DEF_UNARY_F(LEAKYRELU)
EW_DEF_UNARY_F(SIGMOID)
EW_DEF_UNARY_F(TANH)
EW_DEF_UNARY_F(ELU)
EW_DEF_UNARY_F(HARDSIGMOID)
EW_DEF_UNARY_F(SOFTPLUS)

static void un_not(void *o_, const void *x_, int64_t n, const ew_param *p)
{
    uint8_t *o = o_;
    const uint8_t *x = x_;
    (void)p;
    for (int64_t i = 0; i < n; i++)
        o[i] = x[i] == 0;
}

static ew_unary_fn upick_NOT(graph_dtype dt)
{
    return dt == GRAPH_DT_BOOL ? un_not : NULL;
}

/* Checks a same-dtype, same-size unary op and returns its function. */
static ssdc_status ew_unary_prepare(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                    graph_value *out, int n_out, ew_upick_fn pick,
                                    ew_unary_fn *fn, ssdc_error *err)
{
    ssdc_status st = ew_check_arity(ctx, n_in, 1, 1, n_out, err);
    if (st || (st = ew_need_input(ctx, in, 0, err)))
        return st;
    graph_dtype dt = in[0].dtype;
    if (out[0].dtype != dt)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "output has dtype %s, expected %s",
                              graph_dtype_name(out[0].dtype), graph_dtype_name(dt));
    if (out[0].numel != in[0].numel)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                              "output has %lld elements but the input has %lld",
                              (long long)out[0].numel, (long long)in[0].numel);
    *fn = pick(dt);
    if (!*fn)
        return ew_dtype_unsupported(ctx, dt, err);
    return SSDC_OK;
}

static ssdc_status ew_forward_unary(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                    graph_value *out, int n_out, ew_upick_fn pick,
                                    const ew_param *p, ssdc_error *err)
{
    ew_unary_fn fn;
    ssdc_status st = ew_unary_prepare(ctx, in, n_in, out, n_out, pick, &fn, err);
    if (st)
        return st;
    fn(out[0].data, in[0].data, in[0].numel, p);
    return SSDC_OK;
}

#define EW_UNARY_KERNEL(sym, OP, ALPHA, BETA)                                                   \
    static ssdc_status forward_##sym(const rt_kernel_ctx *ctx, const graph_value *in, int n_in, \
                                     graph_value *out, int n_out, ssdc_error *err)              \
    {                                                                                           \
        const ew_param p = {ALPHA, BETA};                                                       \
        return ew_forward_unary(ctx, in, n_in, out, n_out, upick_##OP, &p, err);                \
    }                                                                                           \
    const rt_kernel rt_kernel_##sym = {forward_##sym, NULL};

EW_UNARY_KERNEL(abs, ABS, 0, 0)
EW_UNARY_KERNEL(neg, NEG, 0, 0)
EW_UNARY_KERNEL(sign, SIGN, 0, 0)
EW_UNARY_KERNEL(relu, RELU, 0, 0)
EW_UNARY_KERNEL(sqrt, SQRT, 0, 0)
EW_UNARY_KERNEL(exp, EXP, 0, 0)
EW_UNARY_KERNEL(log, LOG, 0, 0)
EW_UNARY_KERNEL(reciprocal, RECIPROCAL, 0, 0)
EW_UNARY_KERNEL(floor, FLOOR, 0, 0)
EW_UNARY_KERNEL(ceil, CEIL, 0, 0)
EW_UNARY_KERNEL(sin, SIN, 0, 0)
EW_UNARY_KERNEL(cos, COS, 0, 0)
EW_UNARY_KERNEL(erf, ERF, 0, 0)
EW_UNARY_KERNEL(sigmoid, SIGMOID, 0, 0)
EW_UNARY_KERNEL(tanh, TANH, 0, 0)
EW_UNARY_KERNEL(softplus, SOFTPLUS, 0, 0)
EW_UNARY_KERNEL(not, NOT, 0, 0)
EW_UNARY_KERNEL(leakyrelu, LEAKYRELU, graph_attr_float(ctx->node, "alpha", 0.01f), 0)
EW_UNARY_KERNEL(elu, ELU, graph_attr_float(ctx->node, "alpha", 1.0f), 0)
EW_UNARY_KERNEL(hardsigmoid, HARDSIGMOID, graph_attr_float(ctx->node, "alpha", 0.2f),
                graph_attr_float(ctx->node, "beta", 0.5f))

/* ---- Clip ---- */

/* X(dtype, C type, suffix, lowest, highest) */
#define EW_CLIP_TYPES(X)                                                                        \
    X(GRAPH_DT_FLOAT, float, f32, -INFINITY, INFINITY)                                          \
    X(GRAPH_DT_DOUBLE, double, f64, -INFINITY, INFINITY)                                        \
    X(GRAPH_DT_INT8, int8_t, i8, INT8_MIN, INT8_MAX)                                            \
    X(GRAPH_DT_UINT8, uint8_t, u8, 0, UINT8_MAX)                                                \
    X(GRAPH_DT_INT16, int16_t, i16, INT16_MIN, INT16_MAX)                                       \
    X(GRAPH_DT_INT32, int32_t, i32, INT32_MIN, INT32_MAX)                                       \
    X(GRAPH_DT_INT64, int64_t, i64, INT64_MIN, INT64_MAX)

/* A float bound (the Clip-6 attribute) in dtype T, saturated to T's range: an
 * out-of-range float-to-integer conversion is undefined behaviour in C.  A NaN
 * bound clips nothing (NAN_AS). */
#define EW_CLIP_SAT(T, v, LOWEST, HIGHEST, NAN_AS)                                                \
    ((v) != (v)                    ? (T)(NAN_AS)                                                  \
     : (v) <= (double)(LOWEST)     ? (T)(LOWEST)                                                  \
     : (v) >= (double)(HIGHEST)    ? (T)(HIGHEST)                                                 \
                                   : (T)(v))

/* Bound i: input i (same dtype) if given, else the Clip-6 attribute, else none. */
static bool ew_clip_bound(const rt_kernel_ctx *ctx, const graph_value *in, int n_in, int i,
                          const char *attr, double *v)
{
    if (i < n_in && in[i].data && in[i].numel > 0) {
        *v = graph_value_get_f64(&in[i], 0);
        return true;
    }
    const graph_attr *a = graph_node_attr(ctx->node, attr);
    if (a && a->type == GRAPH_ATTR_FLOAT) {
        *v = a->f;
        return true;
    }
    return false;
}

static ssdc_status forward_clip(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                graph_value *out, int n_out, ssdc_error *err)
{
    ssdc_status st = ew_check_arity(ctx, n_in, 1, 3, n_out, err);
    if (st || (st = ew_need_input(ctx, in, 0, err)))
        return st;
    graph_dtype dt = in[0].dtype;
    if (out[0].dtype != dt || out[0].numel != in[0].numel)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "output does not match the input");
    for (int i = 1; i < n_in; i++) {
        if (!in[i].data)
            continue;
        if (in[i].dtype != dt)
            return ew_dtype_mismatch(ctx, i, in[i].dtype, dt, err);
        if (in[i].numel != 1)
            return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                                  "%s (input %d) must be a scalar, has %lld elements",
                                  i == 1 ? "min" : "max", i, (long long)in[i].numel);
    }
    double lo_v = 0, hi_v = 0;
    bool has_lo = ew_clip_bound(ctx, in, n_in, 1, "min", &lo_v);
    bool has_hi = ew_clip_bound(ctx, in, n_in, 2, "max", &hi_v);
    int64_t n = in[0].numel;
    switch (dt) {
#define EW_CLIP_CASE(dt_, T, sfx, LOWEST, HIGHEST)                                              \
    case dt_: {                                                                                 \
        /* bounds read in their own dtype, so integer bounds stay exact */                      \
        const T lo = !has_lo ? (T)(LOWEST)                                                      \
                     : (n_in > 1 && in[1].data) ? ((const T *)in[1].data)[0]                    \
                                                : EW_CLIP_SAT(T, lo_v, LOWEST, HIGHEST, LOWEST); \
        const T hi = !has_hi ? (T)(HIGHEST)                                                     \
                     : (n_in > 2 && in[2].data) ? ((const T *)in[2].data)[0]                    \
                                                : EW_CLIP_SAT(T, hi_v, LOWEST, HIGHEST, HIGHEST); \
        const T *x = in[0].data;                                                                \
        T *o = out[0].data;                                                                     \
        for (int64_t i = 0; i < n; i++) {                                                       \
            T v = x[i] < lo ? lo : x[i];                                                        \
            o[i] = v > hi ? hi : v;                                                             \
        }                                                                                       \
    } break;
        EW_CLIP_TYPES(EW_CLIP_CASE)
#undef EW_CLIP_CASE
    default: return ew_dtype_unsupported(ctx, dt, err);
    }
    return SSDC_OK;
}
const rt_kernel rt_kernel_clip = {forward_clip, NULL};

/* ---- Cast ---- */

static ssdc_status forward_cast(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                graph_value *out, int n_out, ssdc_error *err)
{
    ssdc_status st = ew_check_arity(ctx, n_in, 1, 1, n_out, err);
    if (st || (st = ew_need_input(ctx, in, 0, err)))
        return st;
    graph_dtype from = in[0].dtype, to = out[0].dtype;
    int64_t want = graph_attr_int(ctx->node, "to", to);
    if (want != (int64_t)to)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                              "output has dtype %s but attribute 'to' is %lld",
                              graph_dtype_name(to), (long long)want);
    if (!graph_dtype_supported(from))
        return ew_dtype_unsupported(ctx, from, err);
    if (!graph_dtype_supported(to))
        return ew_dtype_unsupported(ctx, to, err);
    if (out[0].numel != in[0].numel)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                              "output has %lld elements but the input has %lld",
                              (long long)out[0].numel, (long long)in[0].numel);
    int64_t n = in[0].numel;
    if (from == to) {
        if (n > 0)
            memcpy(out[0].data, in[0].data, (size_t)n * graph_dtype_size(from));
        return SSDC_OK;
    }
    size_t fs = graph_dtype_size(from), ts = graph_dtype_size(to);
    for (int64_t done = 0; done < n; done += EW_CHUNK) {
        int64_t m = n - done < EW_CHUNK ? n - done : EW_CHUNK;
        const char *src = (const char *)in[0].data + (size_t)done * fs;
        char *dst = (char *)out[0].data + (size_t)done * ts;
        if (ew_is_float(from)) {
            double buf[EW_CHUNK];
            ew_load_f64(from, src, 1, buf, m);
            ew_store_f64(to, dst, buf, m);
        } else {
            int64_t buf[EW_CHUNK];
            ew_load_i64(from, src, 1, buf, m);
            ew_store_i64(to, dst, buf, m);
        }
    }
    return SSDC_OK;
}
const rt_kernel rt_kernel_cast = {forward_cast, NULL};

/* ---- Dropout ---- */

/* Keeps element i when rng_keep16(seed, stream, i, rng_dropout_threshold(ratio)),
 * with stream = rng_stream_id(step, rt_dropout_stream(ctx)) (the node's seed
 * attribute or its index): the mask depends only on (seed, step, node, i). */
#define EW_DROPOUT_CASE(dt_, T, sfx, unused)                                                    \
    case dt_: {                                                                                 \
        const T *x = in[0].data;                                                                \
        T *y = out[0].data;                                                                     \
        const T scale = (T)(ratio < 1 ? 1.0 / (1.0 - ratio) : 0.0);                             \
        for (int64_t done = 0; done < n; done += EW_CHUNK) {                                    \
            int64_t m = n - done < EW_CHUNK ? n - done : EW_CHUNK;                              \
            rng_fill_keep16(ctx->seed, stream, (uint64_t)done, thr, keep, m);                   \
            for (int64_t j = 0; j < m; j++)                                                     \
                y[done + j] = x[done + j] * (scale * (T)keep[j]);                               \
            if (mask)                                                                           \
                memcpy(mask + done, keep, (size_t)m);                                           \
        }                                                                                       \
    } break;

uint32_t rt_dropout_stream(const rt_kernel_ctx *ctx)
{
    int64_t seed = graph_attr_int(ctx->node, "seed", -1);
    return seed >= 0 ? 0x80000000u | (uint32_t)(seed & 0x7fffffff) : (uint32_t)ctx->node_index;
}

ssdc_status rt_dropout_params(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                              double *ratio_out, bool *active, ssdc_error *err)
{
    double ratio = graph_attr_float(ctx->node, "ratio", 0.5f);
    if (n_in > 1 && in[1].data) {
        if (in[1].numel != 1 || !ew_is_float(in[1].dtype))
            return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                                  "ratio (input 1) must be a float scalar");
        ratio = graph_value_get_f64(&in[1], 0);
    }
    bool training = ctx->training;
    if (n_in > 2 && in[2].data) {
        if (in[2].numel != 1 || in[2].dtype != GRAPH_DT_BOOL)
            return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                                  "training_mode (input 2) must be a bool scalar");
        training = training || ((const uint8_t *)in[2].data)[0] != 0;
    }
    *ratio_out = ratio;
    *active = training && ratio != 0;
    if (*active && !(ratio >= 0 && ratio <= 1))
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "ratio %g is outside [0, 1]", ratio);
    return SSDC_OK;
}

static ssdc_status forward_dropout(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                   graph_value *out, int n_out, ssdc_error *err)
{
    ssdc_status st = ew_check_arity(ctx, n_in, 1, 3, n_out, err);
    if (st || (st = ew_need_input(ctx, in, 0, err)))
        return st;
    graph_dtype dt = in[0].dtype;
    if (!ew_is_float(dt))
        return ew_dtype_unsupported(ctx, dt, err);
    if (out[0].dtype != dt || out[0].numel != in[0].numel)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "output does not match the input");
    uint8_t *mask = NULL;
    if (n_out > 1 && out[1].data) {
        if (out[1].dtype != GRAPH_DT_BOOL || out[1].numel != in[0].numel)
            return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                                  "mask output must be bool with the input's shape");
        mask = out[1].data;
    }
    double ratio;
    bool active;
    if ((st = rt_dropout_params(ctx, in, n_in, &ratio, &active, err)))
        return st;
    int64_t n = in[0].numel;
    if (!active) {
        if (n > 0)
            memcpy(out[0].data, in[0].data, (size_t)n * graph_dtype_size(dt));
        if (mask)
            memset(mask, 1, (size_t)n);
        return SSDC_OK;
    }
    const uint32_t thr = rng_dropout_threshold(ratio);
    const uint64_t stream = rng_stream_id(ctx->step, rt_dropout_stream(ctx));
    uint8_t keep[EW_CHUNK];
    switch (dt) {
        EW_FLOAT_TYPES(EW_DROPOUT_CASE, 0)
    default: break;
    }
    return SSDC_OK;
}
const rt_kernel rt_kernel_dropout = {forward_dropout, NULL};

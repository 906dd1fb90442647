/* ssdc's integer ops (docs/int8.md, "ssdc's integer ops"): the fixed point of
 * graph/qmath.h against an independent __int128 reference, and every kernel
 * (QConv, QGemm, QAdd, QAvgPool, QLut) run through rt_session against a naive
 * integer reference written here; one real-valued check of QConv; schema
 * errors naming the node. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/builder.h"
#include "graph/graph.h"
#include "graph/ops.h"
#include "graph/qmath.h"
#include "runtime/exec.h"

static ssdc_error err;

/* ---- deterministic random numbers ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rnd_u64(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Uniform integer in [lo, hi]. */
static int32_t rnd_int(int32_t lo, int32_t hi)
{
    return lo + (int32_t)(rnd_u64() % (uint64_t)((int64_t)hi - lo + 1));
}

static double rnd_unit(void)
{
    return (double)(rnd_u64() >> 11) / (double)(UINT64_C(1) << 53);
}

static void rnd_i8(int8_t *v, int64_t n, int lo, int hi)
{
    for (int64_t i = 0; i < n; i++)
        v[i] = (int8_t)rnd_int(lo, hi);
}

/* ---- the reference fixed point: exact integer arithmetic in __int128 ---- */

/* round(v / 2^k), halves away from zero, k >= 0. */
static __int128 ref_round_shift(__int128 v, int k)
{
    if (k == 0)
        return v;
    __int128 mag = v < 0 ? -v : v;
    __int128 r = (mag + ((__int128)1 << (k - 1))) >> k;
    return v < 0 ? -r : r;
}

/* x * m * 2^(shift - 31) by docs/int8.md's two steps: the left shift
 * (saturated to int32), round(x * m / 2^31) (saturated), then
 * round(. / 2^-shift). */
static int32_t ref_mul(int32_t x, int32_t m, int shift)
{
    __int128 xl = (__int128)x * ((__int128)1 << (shift > 0 ? shift : 0));
    if (xl > INT32_MAX)
        xl = INT32_MAX;
    if (xl < INT32_MIN)
        xl = INT32_MIN;
    /* gemmlowp's high multiply rounds halves up (toward +inf): -0.5 -> 0 */
    __int128 high = (xl * m + ((__int128)1 << 30)) >> 31;
    if (high > INT32_MAX)
        high = INT32_MAX;
    return (int32_t)ref_round_shift(high, shift > 0 ? 0 : -shift);
}

static int8_t ref_requant(int64_t acc, int32_t m, int s, int32_t yzp, int32_t lo, int32_t hi)
{
    cr_assert(acc >= INT32_MIN && acc <= INT32_MAX, "test accumulator out of int32");
    int64_t v = (int64_t)yzp + ref_mul((int32_t)acc, m, s);
    return (int8_t)(v < lo ? lo : v > hi ? hi : v);
}

/* ---- graph building and running ---- */

typedef struct {
    graph *g;
    graph_builder b;
    int x;
} qgraph;

static void qg_init(qgraph *q, int rank, const int64_t *dims)
{
    q->g = graph_new();
    cr_assert_not_null(q->g);
    cr_assert_eq(graph_builder_init(&q->b, q->g, GRAPH_BUILDER_EXACT, "", &err), SSDC_OK);
    graph_shape s;
    graph_shape_init(&s, rank, dims);
    cr_assert_eq(graph_add_tensor(q->g, "x", GRAPH_DT_INT8, &s, GRAPH_TENSOR_INPUT, &q->x, &err),
                 SSDC_OK, "%s", err.msg);
    cr_assert_eq(graph_add_input(q->g, q->x, &err), SSDC_OK);
}

static int qg_init_tensor(qgraph *q, const char *name, graph_dtype dt, int rank,
                          const int64_t *dims, const void *data)
{
    int t;
    cr_assert_eq(graph_builder_initializer(&q->b, name, dt, rank, dims, data, &t), SSDC_OK,
                 "%s", err.msg);
    return t;
}

static int qg_node(qgraph *q, const char *op, const char *name, int n_in, const int *in)
{
    int y, node;
    cr_assert_eq(graph_builder_op(&q->b, op, name, n_in, in, &y, &node), SSDC_OK, "%s", err.msg);
    cr_assert_eq(graph_add_output(q->g, y, &err), SSDC_OK);
    return node;
}

static void qg_set_int(qgraph *q, int node, const char *name, int64_t v)
{
    cr_assert_eq(graph_node_set_int(q->g, node, name, v, &err), SSDC_OK, "%s", err.msg);
}

static void qg_set_ints(qgraph *q, int node, const char *name, const int64_t *v, size_t n)
{
    cr_assert_eq(graph_node_set_ints(q->g, node, name, v, n, &err), SSDC_OK, "%s", err.msg);
}

/* Runs the graph on x (int8, dims) and copies output 0 into y (ny elements,
 * checked), its shape into ydims (may be NULL). */
static void qg_run(qgraph *q, int rank, const int64_t *dims, int8_t *x, int8_t *y, int64_t ny,
                   int *yrank, int64_t *ydims)
{
    cr_assert_eq(graph_validate(q->g, &err), SSDC_OK, "%s", err.msg);
    rt_session *s;
    cr_assert_eq(rt_session_create(q->g, NULL, &s, &err), SSDC_OK, "%s", err.msg);
    graph_value in = {0};
    graph_value_set_shape(&in, GRAPH_DT_INT8, rank, dims);
    in.data = x;
    cr_assert_eq(rt_session_run(s, &in, &err), SSDC_OK, "%s", err.msg);
    const graph_value *out = rt_session_output(s, 0);
    cr_assert_eq(out->dtype, GRAPH_DT_INT8);
    cr_assert_eq(out->numel, ny, "output has %lld elements, expected %lld",
                 (long long)out->numel, (long long)ny);
    memcpy(y, out->data, (size_t)ny);
    if (yrank)
        *yrank = out->rank;
    if (ydims)
        memcpy(ydims, out->dims, (size_t)out->rank * sizeof *ydims);
    rt_session_free(s);
    graph_free(q->g);
}

/* Distinct values in v: a test whose outputs all clamp to one value tests
 * little. */
static int distinct(const int8_t *v, int64_t n)
{
    bool seen[256] = {0};
    int k = 0;
    for (int64_t i = 0; i < n; i++)
        if (!seen[v[i] + 128]) {
            seen[v[i] + 128] = true;
            k++;
        }
    return k;
}

static void expect_equal(const int8_t *got, const int8_t *want, int64_t n, int min_distinct)
{
    for (int64_t i = 0; i < n; i++)
        cr_assert_eq(got[i], want[i], "element %lld: %d, expected %d", (long long)i, got[i],
                     want[i]);
    cr_assert_geq(distinct(want, n), min_distinct, "reference outputs too uniform (%d values)",
                  distinct(want, n));
}

/* A real multiplier near target (times a random factor in [0.7, 1.4]). */
static void rnd_multiplier(double target, int32_t *m, int32_t *s)
{
    int sh;
    cr_assert_eq(qmath_quantize_multiplier(target * (0.7 + 0.7 * rnd_unit()), m, &sh), 0);
    *s = sh;
}

/* ---- fixed point ---- */

Test(qmath, quantize_multiplier_exact_values)
{
    int32_t m;
    int s;
    cr_assert_eq(qmath_quantize_multiplier(0.5, &m, &s), 0);
    cr_assert_eq(m, INT32_C(1) << 30);
    cr_assert_eq(s, 0);
    cr_assert_eq(qmath_quantize_multiplier(1.0, &m, &s), 0);
    cr_assert_eq(m, INT32_C(1) << 30);
    cr_assert_eq(s, 1);
    cr_assert_eq(qmath_quantize_multiplier(0.75, &m, &s), 0);
    cr_assert_eq(m, 3 << 29);
    cr_assert_eq(s, 0);
    cr_assert_eq(qmath_quantize_multiplier(-1.0, &m, &s), -1);
}

Test(qmath, quantize_multiplier_round_trips)
{
    for (int i = 0; i < 10000; i++) {
        /* r = mantissa * 2^e over the whole range qmath_mul represents */
        double r = (0.5 + 0.5 * rnd_unit()) * ldexp(1.0, rnd_int(-30, 30));
        int32_t m;
        int s;
        cr_assert_eq(qmath_quantize_multiplier(r, &m, &s), 0, "r = %g", r);
        cr_assert(m >= (INT32_C(1) << 30), "r = %g: m = %d below 2^30", r, m);
        cr_assert(s >= -31 && s <= 30);
        long double back = (long double)m * powl(2.0L, (long double)(s - 31));
        long double rel = fabsl(back - (long double)r) / (long double)r;
        cr_assert(rel <= 1.0L / (1 << 30), "r = %.17g -> m %d shift %d, relative error %Lg", r, m,
                  s, rel);
    }
}

Test(qmath, mul_matches_int128_reference)
{
    for (int i = 0; i < 100000; i++) {
        int32_t x;
        switch (i % 4) {
        case 0: x = (int32_t)rnd_u64(); break;                /* any int32 */
        case 1: x = rnd_int(-(1 << 20), 1 << 20); break;      /* accumulator-sized */
        case 2: x = rnd_int(-300, 300); break;
        default: x = (int32_t)(rnd_u64() >> 33) * (rnd_u64() & 1 ? 1 : -1); break;
        }
        int32_t m = (i % 7 == 0) ? rnd_int(0, INT32_MAX) : rnd_int(1 << 30, INT32_MAX);
        int shift = rnd_int(-31, 30);
        if (i % 5 == 0)
            shift = rnd_int(-12, 2);
        cr_assert_eq(qmath_mul(x, m, shift), ref_mul(x, m, shift), "x %d m %d shift %d", x, m,
                     shift);
    }
    /* the halves of the high multiply: 1.5 -> 2, -1.5 -> -1 (gemmlowp) */
    cr_assert_eq(qmath_mul(3, INT32_C(1) << 30, 0), 2);
    cr_assert_eq(qmath_mul(-3, INT32_C(1) << 30, 0), -1); /* -1.5 -> -1: halves up */
    cr_assert_eq(qmath_mul(3, INT32_C(1) << 30, 1), 3);
    /* two roundings: 5 / 2 = 2.5 -> 3, then 3 / 2 = 1.5 -> 2 (not round(1.25) = 1) */
    cr_assert_eq(qmath_mul(5, INT32_C(1) << 30, -1), 2);
}

/* ---- QConv ---- */

typedef struct {
    int n;                      /* spatial dims, 1 or 2 */
    int64_t batch, c, cout, group;
    int64_t in[2], k[2], stride[2], dil[2], pad[4];
    bool bias, per_channel;
    int32_t xzp, yzp, lo, hi;
} conv_case;

static int64_t conv_out_dim(const conv_case *cc, int d)
{
    int64_t eff = (cc->k[d] - 1) * cc->dil[d] + 1;
    return (cc->in[d] + cc->pad[d] + cc->pad[d + cc->n] - eff) / cc->stride[d] + 1;
}

/* The naive reference: every output position, every tap, bounds checked. */
static void ref_conv(const conv_case *cc, const int8_t *x, const int8_t *w, const int32_t *b,
                     const int32_t *m, const int32_t *s, int8_t *y)
{
    int64_t in0 = cc->n == 2 ? cc->in[0] : 1, in1 = cc->in[cc->n - 1];
    int64_t k0 = cc->n == 2 ? cc->k[0] : 1, k1 = cc->k[cc->n - 1];
    int64_t o0 = cc->n == 2 ? conv_out_dim(cc, 0) : 1, o1 = conv_out_dim(cc, cc->n - 1);
    int64_t s0 = cc->n == 2 ? cc->stride[0] : 1, s1 = cc->stride[cc->n - 1];
    int64_t d0 = cc->n == 2 ? cc->dil[0] : 1, d1 = cc->dil[cc->n - 1];
    int64_t p0 = cc->n == 2 ? cc->pad[0] : 0, p1 = cc->pad[cc->n - 1];
    int64_t cpg = cc->c / cc->group, mpg = cc->cout / cc->group;
    for (int64_t nb = 0; nb < cc->batch; nb++)
        for (int64_t oc = 0; oc < cc->cout; oc++)
            for (int64_t a = 0; a < o0; a++)
                for (int64_t bb = 0; bb < o1; bb++) {
                    int64_t acc = b ? b[oc] : 0;
                    for (int64_t ci = 0; ci < cpg; ci++) {
                        int64_t ic = (oc / mpg) * cpg + ci;
                        for (int64_t u = 0; u < k0; u++)
                            for (int64_t v = 0; v < k1; v++) {
                                int64_t i0 = a * s0 + u * d0 - p0, i1 = bb * s1 + v * d1 - p1;
                                if (i0 < 0 || i0 >= in0 || i1 < 0 || i1 >= in1)
                                    continue;
                                int64_t xv = x[((nb * cc->c + ic) * in0 + i0) * in1 + i1];
                                int64_t wv = w[((oc * cpg + ci) * k0 + u) * k1 + v];
                                acc += (xv - cc->xzp) * wv;
                            }
                    }
                    int64_t c = cc->per_channel ? oc : 0;
                    y[((nb * cc->cout + oc) * o0 + a) * o1 + bb] =
                        ref_requant(acc, m[c], s[c], cc->yzp, cc->lo, cc->hi);
                }
}

/* Random X, W, B, M, S for cc, runs QConv and the reference, compares. */
static void check_conv(const conv_case *cc)
{
    int rank = cc->n + 2;
    int64_t xd[4] = {cc->batch, cc->c}, wd[4] = {cc->cout, cc->c / cc->group}, yd[4];
    int64_t xn = cc->batch * cc->c, wn = cc->cout * (cc->c / cc->group), yn = cc->batch * cc->cout;
    int64_t taps = cc->c / cc->group;
    for (int d = 0; d < cc->n; d++) {
        xd[2 + d] = cc->in[d];
        wd[2 + d] = cc->k[d];
        yd[2 + d] = conv_out_dim(cc, d);
        xn *= cc->in[d];
        wn *= cc->k[d];
        yn *= yd[2 + d];
        taps *= cc->k[d];
    }
    int8_t *x = malloc((size_t)xn), *w = malloc((size_t)wn), *y = malloc((size_t)yn);
    int8_t *want = malloc((size_t)yn);
    int32_t b[64], m[64], s[64];
    cr_assert_leq(cc->cout, 64);
    rnd_i8(x, xn, -128, 127);
    rnd_i8(w, wn, -127, 127);
    int64_t nms = cc->per_channel ? cc->cout : 1;
    for (int64_t c = 0; c < cc->cout; c++)
        b[c] = rnd_int(-20000, 20000);
    /* outputs of a few tens of LSB: acc ~ sqrt(taps) * 74 * 73 */
    for (int64_t c = 0; c < nms; c++)
        rnd_multiplier(40.0 / (sqrt((double)taps) * 74.0 * 73.0), &m[c], &s[c]);
    qgraph q;
    qg_init(&q, rank, xd);
    int64_t bd = cc->cout;
    int in[5] = {q.x, qg_init_tensor(&q, "w", GRAPH_DT_INT8, rank, wd, w),
                 cc->bias ? qg_init_tensor(&q, "b", GRAPH_DT_INT32, 1, &bd, b) : -1,
                 qg_init_tensor(&q, "m", GRAPH_DT_INT32, 1, &nms, m),
                 qg_init_tensor(&q, "s", GRAPH_DT_INT32, 1, &nms, s)};
    int node = qg_node(&q, "QConv", "qconv", 5, in);
    qg_set_ints(&q, node, "strides", cc->stride, (size_t)cc->n);
    qg_set_ints(&q, node, "dilations", cc->dil, (size_t)cc->n);
    qg_set_ints(&q, node, "pads", cc->pad, 2 * (size_t)cc->n);
    qg_set_int(&q, node, "group", cc->group);
    qg_set_int(&q, node, "x_zero_point", cc->xzp);
    qg_set_int(&q, node, "y_zero_point", cc->yzp);
    qg_set_int(&q, node, "act_min", cc->lo);
    qg_set_int(&q, node, "act_max", cc->hi);
    int yrank;
    int64_t ydims[GRAPH_MAX_RANK];
    qg_run(&q, rank, xd, x, y, yn, &yrank, ydims);
    cr_assert_eq(yrank, rank);
    cr_assert_eq(ydims[0], cc->batch);
    cr_assert_eq(ydims[1], cc->cout);
    for (int d = 0; d < cc->n; d++)
        cr_assert_eq(ydims[2 + d], yd[2 + d]);
    ref_conv(cc, x, w, cc->bias ? b : NULL, m, s, want);
    expect_equal(y, want, yn, 10);
    free(x);
    free(w);
    free(y);
    free(want);
}

Test(qconv, conv1d_pads_stride_dilation)
{
    conv_case cc = {.n = 1, .batch = 2, .c = 3, .cout = 4, .group = 1, .in = {23}, .k = {3},
                    .stride = {2}, .dil = {2}, .pad = {3, 1}, .bias = true, .per_channel = true,
                    .xzp = -5, .yzp = 3, .lo = -100, .hi = 120};
    check_conv(&cc);
}

Test(qconv, depthwise_conv2d)
{
    conv_case cc = {.n = 2, .batch = 1, .c = 6, .cout = 6, .group = 6, .in = {9, 8},
                    .k = {3, 3}, .stride = {1, 1}, .dil = {1, 1}, .pad = {1, 1, 1, 1},
                    .bias = false, .per_channel = false, .xzp = 12, .yzp = -7, .lo = -128,
                    .hi = 127};
    check_conv(&cc);
}

Test(qconv, conv2d_asymmetric)
{
    conv_case cc = {.n = 2, .batch = 2, .c = 4, .cout = 5, .group = 1, .in = {10, 9},
                    .k = {3, 2}, .stride = {2, 1}, .dil = {1, 2}, .pad = {1, 0, 2, 1},
                    .bias = true, .per_channel = true, .xzp = -128, .yzp = 0, .lo = 0,
                    .hi = 127};
    check_conv(&cc);
}

Test(qconv, grouped_conv2d_strided)
{
    conv_case cc = {.n = 2, .batch = 1, .c = 6, .cout = 4, .group = 2, .in = {7, 7},
                    .k = {2, 3}, .stride = {2, 3}, .dil = {2, 1}, .pad = {0, 2, 1, 0},
                    .bias = true, .per_channel = false, .xzp = 30, .yzp = 5, .lo = -60,
                    .hi = 90};
    check_conv(&cc);
}

/* The integer conv against the real formula: with x = s_x (q_x - zp_x),
 * w = s_w[c] q_w, b = s_x s_w[c] q_b, the result y = s_y (q_y - zp_y) is
 * within one LSB of the double-precision conv of those reals. */
Test(qconv, real_valued_within_one_lsb)
{
    enum { C = 3, L = 16, CO = 4, K = 3, LO = L - K + 1 };
    const double sx = 0.02, sy = 0.05;
    const int32_t xzp = 9, yzp = -4;
    double sw[CO];
    int8_t x[C * L], w[CO * C * K], y[CO * LO];
    int32_t b[CO], m[CO], s[CO];
    rnd_i8(x, C * L, -128, 127);
    rnd_i8(w, CO * C * K, -127, 127);
    for (int c = 0; c < CO; c++) {
        sw[c] = 0.001 * (1 + c);
        b[c] = rnd_int(-3000, 3000);
        int sh;
        cr_assert_eq(qmath_quantize_multiplier(sx * sw[c] / sy, &m[c], &sh), 0);
        s[c] = sh;
    }
    qgraph q;
    int64_t xd[3] = {1, C, L}, wd[3] = {CO, C, K}, co = CO;
    qg_init(&q, 3, xd);
    int in[5] = {q.x, qg_init_tensor(&q, "w", GRAPH_DT_INT8, 3, wd, w),
                 qg_init_tensor(&q, "b", GRAPH_DT_INT32, 1, &co, b),
                 qg_init_tensor(&q, "m", GRAPH_DT_INT32, 1, &co, m),
                 qg_init_tensor(&q, "s", GRAPH_DT_INT32, 1, &co, s)};
    int node = qg_node(&q, "QConv", "qconv", 5, in);
    qg_set_int(&q, node, "x_zero_point", xzp);
    qg_set_int(&q, node, "y_zero_point", yzp);
    qg_run(&q, 3, xd, x, y, CO * LO, NULL, NULL);
    int inside = 0;
    for (int c = 0; c < CO; c++)
        for (int o = 0; o < LO; o++) {
            double real = sx * sw[c] * b[c];
            for (int ci = 0; ci < C; ci++)
                for (int k = 0; k < K; k++)
                    real += sx * (x[ci * L + o + k] - xzp) * sw[c] * w[(c * C + ci) * K + k];
            double qy = yzp + real / sy;
            double clamped = qy < -128 ? -128 : qy > 127 ? 127 : qy;
            inside += qy > -128 && qy < 127;
            cr_assert(fabs(y[c * LO + o] - clamped) <= 1.0, "channel %d position %d: %d, real %g",
                      c, o, y[c * LO + o], qy);
        }
    cr_assert_geq(inside, CO * LO / 2, "too many outputs clamped (%d inside)", inside);
}

/* ---- QGemm ---- */

Test(qgemm, per_channel_with_bias)
{
    enum { M = 5, K = 37, N = 6 };
    const int32_t xzp = 7, yzp = -2, lo = -120, hi = 110;
    int8_t a[M * K], w[N * K], y[M * N], want[M * N];
    int32_t b[N], m[N], s[N];
    rnd_i8(a, M * K, -128, 127);
    rnd_i8(w, N * K, -127, 127);
    for (int n = 0; n < N; n++) {
        b[n] = rnd_int(-5000, 5000);
        rnd_multiplier(40.0 / (sqrt((double)K) * 74.0 * 73.0), &m[n], &s[n]);
    }
    qgraph q;
    int64_t ad[2] = {M, K}, wd[2] = {N, K}, nn = N;
    qg_init(&q, 2, ad);
    int in[5] = {q.x, qg_init_tensor(&q, "w", GRAPH_DT_INT8, 2, wd, w),
                 qg_init_tensor(&q, "b", GRAPH_DT_INT32, 1, &nn, b),
                 qg_init_tensor(&q, "m", GRAPH_DT_INT32, 1, &nn, m),
                 qg_init_tensor(&q, "s", GRAPH_DT_INT32, 1, &nn, s)};
    int node = qg_node(&q, "QGemm", "qgemm", 5, in);
    qg_set_int(&q, node, "x_zero_point", xzp);
    qg_set_int(&q, node, "y_zero_point", yzp);
    qg_set_int(&q, node, "act_min", lo);
    qg_set_int(&q, node, "act_max", hi);
    int yrank;
    int64_t yd[GRAPH_MAX_RANK];
    qg_run(&q, 2, ad, a, y, M * N, &yrank, yd);
    cr_assert_eq(yrank, 2);
    cr_assert_eq(yd[0], M);
    cr_assert_eq(yd[1], N);
    for (int i = 0; i < M; i++)
        for (int n = 0; n < N; n++) {
            int64_t acc = b[n];
            for (int k = 0; k < K; k++)
                acc += (int64_t)(a[i * K + k] - xzp) * w[n * K + k];
            want[i * N + n] = ref_requant(acc, m[n], s[n], yzp, lo, hi);
        }
    expect_equal(y, want, M * N, 10);
}

/* ---- QAdd ---- */

typedef struct {
    int32_t m[3];
    int s[3];
} qadd_mults;

/* The multipliers of docs/int8.md for scales sa, sb, sy. */
static qadd_mults qadd_make(double sa, double sb, double sy)
{
    qadd_mults r;
    double twice = 2 * (sa > sb ? sa : sb);
    double reals[3] = {sa / twice, sb / twice, twice / ((double)(1 << 20) * sy)};
    for (int i = 0; i < 3; i++)
        cr_assert_eq(qmath_quantize_multiplier(reals[i], &r.m[i], &r.s[i]), 0);
    return r;
}

static void check_qadd(bool scalar_b)
{
    enum { N = 2 * 3 * 7 };
    const double sa = 0.05, sb = 0.02, sy = 0.06;
    const int32_t azp = -10, bzp = 25, yzp = 3;
    int8_t a[N], b[N], y[N], want[N];
    rnd_i8(a, N, -128, 127);
    rnd_i8(b, N, -128, 127);
    qadd_mults qm = qadd_make(sa, sb, sy);
    qgraph q;
    int64_t ad[3] = {2, 3, 7};
    qg_init(&q, 3, ad);
    int in[2] = {q.x, qg_init_tensor(&q, "b", GRAPH_DT_INT8, scalar_b ? 0 : 3, ad, b)};
    int node = qg_node(&q, "QAdd", "qadd", 2, in);
    const char *names[3] = {"a", "b", "y"};
    int32_t zps[3] = {azp, bzp, yzp};
    char nm[32];
    for (int i = 0; i < 3; i++) {
        snprintf(nm, sizeof nm, "%s_zero_point", names[i]);
        qg_set_int(&q, node, nm, zps[i]);
        snprintf(nm, sizeof nm, "%s_multiplier", names[i]);
        qg_set_int(&q, node, nm, qm.m[i]);
        snprintf(nm, sizeof nm, "%s_shift", names[i]);
        qg_set_int(&q, node, nm, qm.s[i]);
    }
    qg_set_int(&q, node, "left_shift", 20);
    qg_run(&q, 3, ad, a, y, N, NULL, NULL);
    for (int i = 0; i < N; i++) {
        int32_t bv = b[scalar_b ? 0 : i];
        int32_t xa = ref_mul((a[i] - azp) * (1 << 20), qm.m[0], qm.s[0]);
        int32_t xb = ref_mul((bv - bzp) * (1 << 20), qm.m[1], qm.s[1]);
        want[i] = ref_requant((int64_t)xa + xb, qm.m[2], qm.s[2], yzp, -128, 127);
        /* and the reals: within one LSB of sa (a - azp) + sb (b - bzp) */
        double real = (sa * (a[i] - azp) + sb * (bv - bzp)) / sy + yzp;
        double clamped = real < -128 ? -128 : real > 127 ? 127 : real;
        cr_assert(fabs(y[i] - clamped) <= 1.0, "element %d: %d, real %g", i, y[i], real);
    }
    expect_equal(y, want, N, scalar_b ? 8 : 10);
}

Test(qadd, different_scales)
{
    check_qadd(false);
}

Test(qadd, scalar_b)
{
    check_qadd(true);
}

/* ---- QAvgPool ---- */

static void check_qavgpool(bool keepdims)
{
    enum { NB = 2, C = 3, H = 4, W = 5, CNT = H * W };
    const double sx = 0.03, sy = 0.02;
    const int32_t xzp = -20, yzp = 6;
    int8_t x[NB * C * CNT], y[NB * C], want[NB * C];
    rnd_i8(x, NB * C * CNT, -128, 127);
    int32_t m;
    int s;
    cr_assert_eq(qmath_quantize_multiplier(sx / (sy * CNT), &m, &s), 0);
    qgraph q;
    int64_t xd[4] = {NB, C, H, W};
    qg_init(&q, 4, xd);
    int in[1] = {q.x};
    int node = qg_node(&q, "QAvgPool", "qavgpool", 1, in);
    qg_set_int(&q, node, "x_zero_point", xzp);
    qg_set_int(&q, node, "y_zero_point", yzp);
    qg_set_int(&q, node, "multiplier", m);
    qg_set_int(&q, node, "shift", s);
    qg_set_int(&q, node, "keepdims", keepdims);
    int yrank;
    int64_t yd[GRAPH_MAX_RANK];
    qg_run(&q, 4, xd, x, y, NB * C, &yrank, yd);
    cr_assert_eq(yrank, keepdims ? 4 : 2);
    cr_assert_eq(yd[0], NB);
    cr_assert_eq(yd[1], C);
    if (keepdims)
        cr_assert(yd[2] == 1 && yd[3] == 1);
    for (int p = 0; p < NB * C; p++) {
        int64_t sum = 0;
        for (int i = 0; i < CNT; i++)
            sum += x[p * CNT + i] - xzp;
        want[p] = ref_requant(sum, m, s, yzp, -128, 127);
        double real = sx * (double)sum / CNT / sy + yzp;
        cr_assert(fabs(y[p] - real) <= 1.0, "plane %d: %d, real %g", p, y[p], real);
    }
    expect_equal(y, want, NB * C, 4);
}

Test(qavgpool, keepdims)
{
    check_qavgpool(true);
}

Test(qavgpool, no_keepdims)
{
    check_qavgpool(false);
}

/* ---- QLut ---- */

Test(qlut, table_lookup)
{
    enum { N = 1000 };
    int8_t x[N], t[256], y[N], want[N];
    rnd_i8(x, N, -128, 127);
    rnd_i8(t, 256, -128, 127);
    x[0] = -128;
    x[1] = 127;
    qgraph q;
    int64_t xd[2] = {10, 100}, td = 256;
    qg_init(&q, 2, xd);
    int in[2] = {q.x, qg_init_tensor(&q, "t", GRAPH_DT_INT8, 1, &td, t)};
    qg_node(&q, "QLut", "qlut", 2, in);
    qg_run(&q, 2, xd, x, y, N, NULL, NULL);
    for (int i = 0; i < N; i++)
        want[i] = t[x[i] + 128];
    expect_equal(y, want, N, 100);
}

/* ---- schema errors ---- */

/* Shape inference of node (its inputs' dtypes and shapes from the graph). */
static ssdc_status infer(const graph *g, int node, graph_dtype *odt, graph_shape *osh)
{
    const graph_node *n = &g->nodes[node];
    graph_dtype dt[8];
    graph_shape sh[8];
    const graph_value *vals[8] = {0};
    for (int i = 0; i < n->n_inputs; i++) {
        if (n->inputs[i] < 0) {
            dt[i] = GRAPH_DT_UNDEFINED;
            graph_shape_unknown(&sh[i]);
            continue;
        }
        dt[i] = g->tensors[n->inputs[i]].dtype;
        sh[i] = g->tensors[n->inputs[i]].shape;
    }
    return graph_infer_node(g, n, dt, sh, vals, odt, osh, &err);
}

static int conv_graph(qgraph *q)
{
    int64_t xd[4] = {1, 2, 5, 5}, wd[4] = {3, 2, 3, 3}, three = 3;
    qg_init(q, 4, xd);
    int in[5] = {q->x, qg_init_tensor(q, "w", GRAPH_DT_INT8, 4, wd, NULL), -1,
                 qg_init_tensor(q, "m", GRAPH_DT_INT32, 1, &three, NULL),
                 qg_init_tensor(q, "s", GRAPH_DT_INT32, 1, &three, NULL)};
    return qg_node(q, "QConv", "my_qconv", 5, in);
}

Test(qschema, conv_shape_as_conv)
{
    qgraph q;
    int node = conv_graph(&q);
    int64_t pads[4] = {1, 1, 1, 1}, strides[2] = {2, 2};
    qg_set_ints(&q, node, "pads", pads, 4);
    qg_set_ints(&q, node, "strides", strides, 2);
    graph_dtype odt;
    graph_shape osh;
    cr_assert_eq(infer(q.g, node, &odt, &osh), SSDC_OK, "%s", err.msg);
    cr_assert_eq(odt, GRAPH_DT_INT8);
    cr_assert_eq(osh.rank, 4);
    int64_t want[4] = {1, 3, 3, 3};
    for (int d = 0; d < 4; d++)
        cr_assert_eq(osh.dims[d], want[d]);
    graph_free(q.g);
}

Test(qschema, act_min_above_act_max_names_node)
{
    qgraph q;
    int node = conv_graph(&q);
    qg_set_int(&q, node, "act_min", 10);
    qg_set_int(&q, node, "act_max", 5);
    graph_dtype odt;
    graph_shape osh;
    cr_assert_eq(infer(q.g, node, &odt, &osh), SSDC_ERR_INVALID);
    cr_assert(strstr(err.msg, "my_qconv") && strstr(err.msg, "act_min"), "%s", err.msg);
    graph_free(q.g);
}

Test(qschema, bad_lengths_and_dtypes)
{
    /* M of 2 entries for 3 output channels */
    qgraph q;
    int64_t xd[3] = {1, 2, 5}, wd[3] = {3, 2, 3}, two = 2, one = 1;
    qg_init(&q, 3, xd);
    int in[5] = {q.x, qg_init_tensor(&q, "w", GRAPH_DT_INT8, 3, wd, NULL), -1,
                 qg_init_tensor(&q, "m", GRAPH_DT_INT32, 1, &two, NULL),
                 qg_init_tensor(&q, "s", GRAPH_DT_INT32, 1, &one, NULL)};
    int node = qg_node(&q, "QConv", "c1", 5, in);
    graph_dtype odt;
    graph_shape osh;
    cr_assert_eq(infer(q.g, node, &odt, &osh), SSDC_ERR_SHAPE);
    cr_assert(strstr(err.msg, "c1") && strstr(err.msg, "(M)"), "%s", err.msg);
    /* a float table for QLut */
    int64_t td = 256;
    int in2[2] = {q.x, qg_init_tensor(&q, "t", GRAPH_DT_FLOAT, 1, &td, NULL)};
    node = qg_node(&q, "QLut", "lut1", 2, in2);
    cr_assert_eq(infer(q.g, node, &odt, &osh), SSDC_ERR_UNSUPPORTED);
    cr_assert(strstr(err.msg, "lut1"), "%s", err.msg);
    graph_free(q.g);
}

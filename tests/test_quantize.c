/* Calibration (runtime/calibrate.h) and the observe hook of the executor. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/graph.h"
#include "runtime/calibrate.h"
#include "runtime/exec.h"

static ssdc_error err;

static int tensor(graph *g, const char *name)
{
    int t;
    cr_assert_eq(graph_add_tensor(g, name, GRAPH_DT_UNDEFINED, NULL, GRAPH_TENSOR_INTERMEDIATE, &t,
                                  &err), SSDC_OK, "%s", err.msg);
    return t;
}

static void node1(graph *g, const char *name, const char *op, int in, int out)
{
    int n;
    cr_assert_eq(graph_add_node(g, name, op, "", 1, &in, 1, &out, &n, &err), SSDC_OK, "%s", err.msg);
}

/* r = Relu(x), y = Neg(x) for x [batch, 100] */
static graph *two_branch(int *x, int *r, int *y)
{
    graph *g = graph_new();
    int64_t d[2] = {-1, 100};
    graph_shape s;
    graph_shape_init(&s, 2, d);
    snprintf(s.sym[0], GRAPH_SYM_MAX, "batch");
    cr_assert_eq(graph_add_tensor(g, "x", GRAPH_DT_FLOAT, &s, GRAPH_TENSOR_INPUT, x, &err), 0);
    graph_add_input(g, *x, &err);
    *r = tensor(g, "r");
    *y = tensor(g, "y");
    node1(g, "relu", "Relu", *x, *r);
    node1(g, "neg", "Neg", *x, *y);
    graph_add_output(g, *r, &err);
    graph_add_output(g, *y, &err);
    return g;
}

#define N_SAMPLES 100
#define N_BATCH 10

/* 10 batches of 10 samples of 100 values: x = k - 5000 for k = 0..9999
 * shuffled over batches by a fixed permutation. */
static float *make_data(graph_value *b)
{
    float *xs = malloc(N_SAMPLES * 100 * sizeof *xs);
    for (int k = 0; k < N_SAMPLES * 100; k++)
        xs[(k * 7919) % (N_SAMPLES * 100)] = (float)(k - 5000);
    for (int i = 0; i < N_BATCH; i++) {
        int64_t d[2] = {N_SAMPLES / N_BATCH, 100};
        b[i] = (graph_value){0};
        graph_value_set_shape(&b[i], GRAPH_DT_FLOAT, 2, d);
        b[i].data = xs + (size_t)i * (N_SAMPLES / N_BATCH) * 100;
    }
    return xs;
}

typedef struct {
    int calls[8];
    float sum[8];
} obs_log;

static ssdc_status log_obs(void *ctx, int node, int t, const graph_value *v, ssdc_error *e)
{
    (void)node, (void)e;
    obs_log *l = ctx;
    l->calls[t]++;
    const float *x = v->data;
    for (int64_t i = 0; i < v->numel; i++)
        l->sum[t] += x[i];
    return SSDC_OK;
}

Test(observe, every_node_output_once_with_its_value)
{
    int x, r, y;
    graph *g = two_branch(&x, &r, &y);
    float xs[2 * 100];
    for (int i = 0; i < 200; i++)
        xs[i] = (float)(i % 7) - 3.0f;
    graph_value in = {0};
    int64_t d[2] = {2, 100};
    graph_value_set_shape(&in, GRAPH_DT_FLOAT, 2, d);
    in.data = xs;
    rt_plan *p;
    cr_assert_eq(rt_plan_create(g, &in, NULL, &p, &err), SSDC_OK, "%s", err.msg);
    obs_log l = {0};
    cr_assert_eq(rt_plan_run_observe(p, &in, log_obs, &l, &err), SSDC_OK, "%s", err.msg);
    float relu = 0, neg = 0;
    for (int i = 0; i < 200; i++) {
        relu += xs[i] > 0 ? xs[i] : 0;
        neg -= xs[i];
    }
    cr_assert_eq(l.calls[r], 1);
    cr_assert_eq(l.calls[y], 1);
    cr_assert_eq(l.calls[x], 0);
    cr_assert_float_eq(l.sum[r], relu, 1e-3);
    cr_assert_float_eq(l.sum[y], neg, 1e-3);
    rt_plan_free(p);
    graph_free(g);
}

Test(calibrate, minmax_exact)
{
    int x, r, y;
    graph *g = two_branch(&x, &r, &y);
    graph_value b[N_BATCH];
    float *xs = make_data(b);
    calib_options opt;
    cr_assert_eq(calib_parse_method("minmax", &opt, &err), SSDC_OK);
    calib_ranges cr;
    cr_assert_eq(calib_collect(g, b, N_BATCH, &opt, &cr, &err), SSDC_OK, "%s", err.msg);
    cr_assert(cr.observed[x] && cr.observed[r] && cr.observed[y]);
    cr_assert_eq(cr.min[x], -5000.0f);
    cr_assert_eq(cr.max[x], 4999.0f);
    cr_assert_eq(cr.min[r], 0.0f);
    cr_assert_eq(cr.max[r], 4999.0f);
    cr_assert_eq(cr.min[y], -4999.0f);
    cr_assert_eq(cr.max[y], 5000.0f);
    calib_ranges_free(&cr);
    free(xs);
    graph_free(g);
}

Test(calibrate, percentile_within_a_bin)
{
    int x, r, y;
    graph *g = two_branch(&x, &r, &y);
    graph_value b[N_BATCH];
    float *xs = make_data(b);
    calib_options opt;
    cr_assert_eq(calib_parse_method("percentile:99", &opt, &err), SSDC_OK);
    calib_ranges cr;
    cr_assert_eq(calib_collect(g, b, N_BATCH, &opt, &cr, &err), SSDC_OK, "%s", err.msg);
    /* x uniform over the 10000 integers -5000..4999: the 99th percentile is
     * 4999 - 100 = 4899 and the 1st -5000 + 100 = -4900 */
    double bin = 9999.0 / CALIB_BINS;
    cr_assert(fabs(cr.max[x] - 4899.0) <= bin, "max %g", cr.max[x]);
    cr_assert(fabs(cr.min[x] + 4900.0) <= bin, "min %g", cr.min[x]);
    /* y = -x: mirrored */
    cr_assert(fabs(cr.max[y] - 4900.0) <= bin, "max %g", cr.max[y]);
    cr_assert(fabs(cr.min[y] + 4899.0) <= bin, "min %g", cr.min[y]);
    /* Relu(x): half the values are 0, so the 1st percentile is 0 */
    cr_assert(fabs(cr.min[r]) <= 4999.0 / CALIB_BINS, "min %g", cr.min[r]);
    calib_ranges_free(&cr);
    free(xs);
    graph_free(g);
}

Test(calibrate, nan_names_the_sample)
{
    int x, r, y;
    graph *g = two_branch(&x, &r, &y);
    graph_value b[N_BATCH];
    float *xs = make_data(b);
    xs[37 * 100 + 5] = NAN; /* sample 37 = batch 3, row 7 */
    calib_options opt = {.method = CALIB_MINMAX};
    calib_ranges cr;
    cr_assert_eq(calib_collect(g, b, N_BATCH, &opt, &cr, &err), SSDC_ERR_INVALID);
    cr_assert(strstr(err.msg, "sample 37") && strstr(err.msg, "'x'"), "%s", err.msg);
    cr_assert_null(cr.observed);
    free(xs);
    graph_free(g);
}

Test(calibrate, bad_method)
{
    calib_options opt;
    cr_assert_eq(calib_parse_method("percentile:0", &opt, &err), SSDC_ERR_ARG);
    cr_assert(strstr(err.msg, "percentile:0"), "%s", err.msg);
    cr_assert_eq(calib_parse_method("entropyx", &opt, &err), SSDC_ERR_ARG);
}

/* 99% of the values uniform in [-1, 1], 1% at 100: entropy clips the max
 * far below the outlier and keeps the dense side (fewer bins than levels). */
Test(calibrate, entropy_clips_outliers)
{
    int x, r, y;
    graph *g = two_branch(&x, &r, &y);
    float *xs = malloc(N_SAMPLES * 100 * sizeof *xs);
    for (int k = 0; k < N_SAMPLES * 100; k++)
        xs[k] = k % 100 == 99 ? 100.0f : -1.0f + 2.0f * (float)(k % 99) / 98.0f;
    graph_value b[1] = {{0}};
    int64_t d[2] = {N_SAMPLES, 100};
    graph_value_set_shape(&b[0], GRAPH_DT_FLOAT, 2, d);
    b[0].data = xs;
    calib_options opt;
    cr_assert_eq(calib_parse_method("entropy", &opt, &err), SSDC_OK);
    calib_ranges cr;
    cr_assert_eq(calib_collect(g, b, 1, &opt, &cr, &err), SSDC_OK, "%s", err.msg);
    cr_assert(cr.max[x] >= 1.0f && cr.max[x] < 10.0f, "max %g", cr.max[x]);
    cr_assert_eq(cr.min[x], -1.0f);
    calib_ranges_free(&cr);
    free(xs);
    graph_free(g);
}

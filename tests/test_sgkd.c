/* The SGKD loss (passes/sgkd.c) and its two ablation losses.
 *
 * SGKD against PyTorch (tests/data/sgkd/make_sgkd_fixture.py, torch 1.13.1):
 * for each fixture case the graph s [batch, D], t [batch, K, D] ->
 * sgkd_add_loss -> autodiff w.r.t. s is built with a symbolic batch
 * dimension, shape-inferred, planned and run; the loss, dL/ds, the final
 * weights and the kept counts are compared with torch's float32 results and
 * with its float64 results:
 *     |ssdc - torch| <= 1e-5 |torch| + atol,   atol = 0 for the loss and
 *                                                 1e-7 for dL/ds and the weights
 * (dL/ds entries are around 1e-2, so 1e-7 is 1e-5 of a typical entry; it
 * only matters for entries near 0).  Dropped weights must be exactly 0 and the
 * kept counts equal.  The fixture script checks that plausible wrong
 * implementations (the 'lower'/'nearest' quantile rule, position q*K, '>'
 * instead of '>=', no renormalisation, no threshold, no gradient through the
 * weights or through the renormalising sum) differ from these values by far
 * more than the tolerance, so these tests fail for them.
 *
 * Also: central finite differences of the whole loss subgraph (float32,
 * eps 5e-3, loose tolerance, elements whose perturbation would flip the keep
 * mask skipped); single-node gradcheck() of the node configurations the loss
 * uses; the cosine and MSE ablations against closed forms computed here in
 * double and against torch (F.cosine_similarity, F.mse_loss); the graph with
 * a symbolic batch through graph_infer_shapes (before and after autodiff);
 * ONNX export accepted by onnx.checker (full check) and run by ONNX Runtime
 * with the same results; argument errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend/npy.h"
#include "frontend/onnx_export.h"
#include "graph/graph.h"
#include "passes/autodiff.h"
#include "passes/sgkd.h"
#include "runtime/exec.h"
#include "tests/gradcheck.h"

#define RTOL 1e-5
#define ATOL_GRAD 1e-7
#define PYTHON "/usr/bin/python3"

static const char *root(void)
{
    const char *r = getenv("SSDC_SOURCE_ROOT");
    cr_assert(r, "run through meson test (SSDC_SOURCE_ROOT is not set)");
    return r;
}

/* ---- fixtures ---- */

typedef struct {
    char dir[1024];
    graph_value s, t, params, loss, loss64, grad, grad64, weights, kept;
    graph_value cos_loss64, cos_grad64, mse_loss64, mse_grad64;
    int64_t B, K, D;
    float tau, q;
} fixture;

static void load(const fixture *f, const char *name, graph_value *v)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s.npy", f->dir, name);
    ssdc_error err = {0};
    cr_assert_eq(npy_read_file(path, v, &err), SSDC_OK, "%s", err.msg);
}

static void fixture_load(fixture *f, const char *name)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "%s/tests/data/sgkd/%s", root(), name);
    load(f, "s", &f->s);
    load(f, "t", &f->t);
    load(f, "params", &f->params);
    load(f, "loss", &f->loss);
    load(f, "loss64", &f->loss64);
    load(f, "grad_s", &f->grad);
    load(f, "grad_s64", &f->grad64);
    load(f, "weights", &f->weights);
    load(f, "kept", &f->kept);
    load(f, "cos_loss64", &f->cos_loss64);
    load(f, "cos_grad_s64", &f->cos_grad64);
    load(f, "mse_loss64", &f->mse_loss64);
    load(f, "mse_grad_s64", &f->mse_grad64);
    cr_assert_eq(f->s.dtype, GRAPH_DT_FLOAT);
    cr_assert_eq(f->t.dtype, GRAPH_DT_FLOAT);
    cr_assert_eq(f->s.rank, 2);
    cr_assert_eq(f->t.rank, 3);
    f->B = f->s.dims[0];
    f->D = f->s.dims[1];
    f->K = f->t.dims[1];
    cr_assert_eq(f->t.dims[0], f->B);
    cr_assert_eq(f->t.dims[2], f->D);
    f->tau = (float)graph_value_get_f64(&f->params, 0);
    f->q = (float)graph_value_get_f64(&f->params, 1);
}

static void fixture_free(fixture *f)
{
    graph_value *all[] = {&f->s, &f->t, &f->params, &f->loss, &f->loss64, &f->grad, &f->grad64,
                          &f->weights, &f->kept, &f->cos_loss64, &f->cos_grad64, &f->mse_loss64,
                          &f->mse_grad64};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        free(all[i]->data);
}

/* ---- graphs ---- */

enum { LOSS_SGKD, LOSS_COSINE, LOSS_MSE };

typedef struct {
    graph *g;
    int s, t;                      /* input tensors */
    int loss, weights, kept, grad; /* tensors (-1 if none) */
    int o_loss, o_weights, o_kept, o_grad; /* positions in g->outputs */
} built;

/* B < 0: a symbolic batch dimension named "batch". */
static void input_shape(graph_shape *sh, int rank, int64_t B, int64_t K, int64_t D)
{
    int64_t dims[3] = {B, rank == 3 ? K : D, D};
    graph_shape_init(sh, rank, dims);
    if (B < 0) {
        sh->dims[0] = -1;
        snprintf(sh->sym[0], GRAPH_SYM_MAX, "batch");
    }
}

static built build(int kind, int64_t B, int64_t K, int64_t D, const sgkd_options *opt, bool grad)
{
    ssdc_error err = {0};
    built b = {.g = graph_new(), .weights = -1, .kept = -1, .grad = -1, .o_weights = -1,
               .o_kept = -1, .o_grad = -1};
    cr_assert_not_null(b.g);
    graph_shape ss, ts;
    input_shape(&ss, 2, B, K, D);
    input_shape(&ts, kind == LOSS_MSE ? 2 : 3, B, K, D);
    cr_assert_eq(graph_add_tensor(b.g, "s", GRAPH_DT_FLOAT, &ss, GRAPH_TENSOR_INPUT, &b.s, &err),
                 SSDC_OK, "%s", err.msg);
    cr_assert_eq(graph_add_tensor(b.g, "t", GRAPH_DT_FLOAT, &ts, GRAPH_TENSOR_INPUT, &b.t, &err),
                 SSDC_OK, "%s", err.msg);
    cr_assert_eq(graph_add_input(b.g, b.s, &err), SSDC_OK);
    cr_assert_eq(graph_add_input(b.g, b.t, &err), SSDC_OK);
    ssdc_status st;
    if (kind == LOSS_SGKD)
        st = sgkd_add_loss(b.g, b.s, b.t, (int)K, opt, "sgkd/", &b.loss, &b.weights, &b.kept,
                           &err);
    else if (kind == LOSS_COSINE)
        st = sgkd_add_cosine_loss(b.g, b.s, b.t, (int)K, NULL, &b.loss, &err);
    else
        st = sgkd_add_mse_loss(b.g, b.s, b.t, NULL, &b.loss, &err);
    cr_assert_eq(st, SSDC_OK, "%s", err.msg);
    cr_assert_eq(graph_infer_shapes(b.g, &err), SSDC_OK, "%s", err.msg);
    if (grad)
        cr_assert_eq(autodiff_build(b.g, b.loss, &b.s, 1, &b.grad, &err), SSDC_OK, "%s", err.msg);
    b.o_loss = b.g->n_outputs;
    cr_assert_eq(graph_add_output(b.g, b.loss, &err), SSDC_OK);
    if (b.weights >= 0) {
        b.o_weights = b.g->n_outputs;
        cr_assert_eq(graph_add_output(b.g, b.weights, &err), SSDC_OK);
    }
    if (b.kept >= 0) {
        b.o_kept = b.g->n_outputs;
        cr_assert_eq(graph_add_output(b.g, b.kept, &err), SSDC_OK);
    }
    if (b.grad >= 0) {
        b.o_grad = b.g->n_outputs;
        cr_assert_eq(graph_add_output(b.g, b.grad, &err), SSDC_OK);
    }
    cr_assert_eq(graph_infer_shapes(b.g, &err), SSDC_OK, "after autodiff: %s", err.msg);
    cr_assert_eq(graph_validate(b.g, &err), SSDC_OK, "%s", err.msg);
    return b;
}

static rt_plan *plan(const built *b, const graph_value *in)
{
    ssdc_error err = {0};
    rt_plan *p = NULL;
    cr_assert_eq(rt_plan_create(b->g, in, NULL, &p, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(rt_plan_run(p, in, &err), SSDC_OK, "%s", err.msg);
    return p;
}

/* ---- comparisons ---- */

/* Largest |got - want| / (rtol |want| + atol) seen by compare() (<= 1 passes). */
static double g_used;

/* Asserts |got - want| <= rtol |want| + atol elementwise; returns the largest
 * relative error |got - want| / |want| over entries with |want| >= 1e-3 of
 * the largest |want| (the near-zero ones are covered by atol). */
static double compare(const graph_value *got, const graph_value *want, double rtol, double atol,
                      const char *what)
{
    cr_assert_eq(got->rank, want->rank, "%s: rank %d, expected %d", what, got->rank, want->rank);
    for (int d = 0; d < got->rank; d++)
        cr_assert_eq(got->dims[d], want->dims[d], "%s: dimension %d", what, d);
    double scale = 0, worst = 0;
    for (int64_t i = 0; i < want->numel; i++)
        scale = fmax(scale, fabs(graph_value_get_f64(want, i)));
    for (int64_t i = 0; i < want->numel; i++) {
        double a = graph_value_get_f64(got, i), b = graph_value_get_f64(want, i);
        cr_assert(isfinite(a), "%s: element %lld is %g", what, (long long)i, a);
        cr_assert(fabs(a - b) <= rtol * fabs(b) + atol,
                  "%s: element %lld is %.9g, expected %.9g (relative error %.3g)", what,
                  (long long)i, a, b, fabs(a - b) / fabs(b));
        if (rtol * fabs(b) + atol > 0)
            g_used = fmax(g_used, fabs(a - b) / (rtol * fabs(b) + atol));
        if (fabs(b) >= 1e-3 * scale && b != 0)
            worst = fmax(worst, fabs(a - b) / fabs(b));
    }
    return worst;
}

/* ---- SGKD against the fixtures ---- */

static void check_case(const char *name, bool symbolic)
{
    fixture f;
    fixture_load(&f, name);
    sgkd_options opt = {.tau = f.tau, .q = f.q};
    g_used = 0;
    built b = build(LOSS_SGKD, symbolic ? -1 : f.B, f.K, f.D, &opt, true);
    graph_value in[2] = {f.s, f.t};
    rt_plan *p = plan(&b, in);
    const graph_value *loss = rt_plan_output(p, b.o_loss), *w = rt_plan_output(p, b.o_weights),
                      *kept = rt_plan_output(p, b.o_kept), *grad = rt_plan_output(p, b.o_grad);

    cr_assert_eq(loss->rank, 0, "%s: the loss is not a scalar", name);
    double e_loss = compare(loss, &f.loss, RTOL, 0, "loss vs torch float32");
    double e_loss64 = compare(loss, &f.loss64, RTOL, 0, "loss vs torch float64");
    double e_grad = compare(grad, &f.grad, RTOL, ATOL_GRAD, "dL/ds vs torch float32");
    double e_grad64 = compare(grad, &f.grad64, RTOL, ATOL_GRAD, "dL/ds vs torch float64");
    double e_w = compare(w, &f.weights, RTOL, ATOL_GRAD, "weights vs torch float32");

    /* dropped weights are exactly 0, kept ones are not; the counts agree */
    cr_assert_eq(kept->rank, 1);
    cr_assert_eq(kept->dims[0], f.B);
    for (int64_t b_ = 0; b_ < f.B; b_++) {
        int64_t want = graph_value_get_i64(&f.kept, b_), n = 0;
        double sum = 0;
        for (int64_t k = 0; k < f.K; k++) {
            double got = graph_value_get_f64(w, b_ * f.K + k);
            double ref = graph_value_get_f64(&f.weights, b_ * f.K + k);
            cr_assert_eq(got == 0, ref == 0, "%s: weight [%lld,%lld] is %g, torch's %g", name,
                         (long long)b_, (long long)k, got, ref);
            n += got != 0;
            sum += got;
        }
        cr_assert_eq(graph_value_get_f64(kept, b_), (double)want,
                     "%s: sample %lld keeps %g teacher features, torch keeps %lld", name,
                     (long long)b_, graph_value_get_f64(kept, b_), (long long)want);
        cr_assert_eq(n, want, "%s: sample %lld has %lld non-zero weights", name, (long long)b_,
                     (long long)n);
        cr_assert_float_eq(sum, 1.0, 1e-6, "%s: sample %lld weights sum to %.9g", name,
                           (long long)b_, sum);
    }
    cr_log_info("%s (K=%lld, q=%g, tau=%g): max relative error vs torch float32 (float64): "
                "loss %.2g (%.2g), dL/ds %.2g (%.2g), weights %.2g",
                name, (long long)f.K, (double)f.q, (double)f.tau, e_loss, e_loss64, e_grad,
                e_grad64, e_w);
    cr_log_info("%s: at most %.0f%% of the tolerance used", name, 100 * g_used);
    rt_plan_free(p);
    graph_free(b.g);
    fixture_free(&f);
}

/* q*(K-1) = 26.1: interpolated threshold */
Test(sgkd, k30)
{
    check_case("k30", true);
}

/* q*(K-1) = 9: the threshold is a weight itself and is kept (>=) */
Test(sgkd, k11_integer_position)
{
    check_case("k11", true);
}

Test(sgkd, k7)
{
    check_case("k7", true);
}

/* q*(K-1) = 0.9: interpolation from above (torch's lerp for weights >= 0.5) */
Test(sgkd, k2)
{
    check_case("k2", true);
}

Test(sgkd, batch_of_one)
{
    check_case("b1", true);
}

/* post-ReLU dropout draws: exact ties arise by themselves */
Test(sgkd, dropout_relu_natural_ties)
{
    check_case("dropout_relu", true);
}

/* tau 1, q 0.75: q*(K-1) = 21.75, eight kept */
Test(sgkd, other_tau_and_q)
{
    check_case("k30_tau1_q75", true);
}

/* duplicated teacher rows: weights tied at, above and below the threshold */
Test(sgkd, ties_k30)
{
    check_case("ties_k30", true);
}

Test(sgkd, ties_at_integer_position)
{
    check_case("ties_k11", true);
}

/* all K representations identical: every weight 1/K, all kept */
Test(sgkd, identical_representations)
{
    check_case("identical_k30", true);
}

/* the same graph with a static batch */
Test(sgkd, static_batch)
{
    check_case("k30", false);
    check_case("ties_k30", false);
}

/* opt NULL and K = 0 (from t's shape) give the defaults tau 5, q 0.90 */
Test(sgkd, defaults)
{
    fixture f;
    fixture_load(&f, "k30");
    cr_assert_eq(f.tau, 5.0f);
    cr_assert_float_eq(f.q, 0.9f, 0);
    ssdc_error err = {0};
    graph *g = graph_new();
    graph_shape ss, ts;
    input_shape(&ss, 2, -1, f.K, f.D);
    input_shape(&ts, 3, -1, f.K, f.D);
    int s, t, loss;
    cr_assert_eq(graph_add_tensor(g, "s", GRAPH_DT_FLOAT, &ss, GRAPH_TENSOR_INPUT, &s, &err), 0);
    cr_assert_eq(graph_add_tensor(g, "t", GRAPH_DT_FLOAT, &ts, GRAPH_TENSOR_INPUT, &t, &err), 0);
    cr_assert_eq(graph_add_input(g, s, &err), 0);
    cr_assert_eq(graph_add_input(g, t, &err), 0);
    cr_assert_eq(sgkd_add_loss(g, s, t, 0, NULL, NULL, &loss, NULL, NULL, &err), SSDC_OK, "%s",
                 err.msg);
    cr_assert_str_eq(g->tensors[loss].name, "sgkd/loss");
    cr_assert_eq(graph_add_output(g, loss, &err), 0);
    cr_assert_eq(graph_infer_shapes(g, &err), SSDC_OK, "%s", err.msg);
    graph_value in[2] = {f.s, f.t};
    rt_plan *p = NULL;
    cr_assert_eq(rt_plan_create(g, in, NULL, &p, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(rt_plan_run(p, in, &err), SSDC_OK, "%s", err.msg);
    compare(rt_plan_output(p, 0), &f.loss, RTOL, 0, "loss with the defaults");
    rt_plan_free(p);
    graph_free(g);
    fixture_free(&f);
}

/* ---- symbolic batch through shape inference ---- */

static void assert_shape(const graph *g, int t, int rank, const int64_t *dims, const char *what)
{
    const graph_shape *sh = &g->tensors[t].shape;
    char buf[128];
    graph_shape_format(sh, buf, sizeof buf);
    cr_assert_eq(sh->rank, rank, "%s: shape %s", what, buf);
    for (int d = 0; d < rank; d++) {
        if (dims[d] < 0)
            cr_assert(sh->dims[d] < 0 && strcmp(sh->sym[d], "batch") == 0,
                      "%s: shape %s, expected the batch dimension first", what, buf);
        else
            cr_assert_eq(sh->dims[d], dims[d], "%s: shape %s", what, buf);
    }
    cr_assert_eq(g->tensors[t].dtype, GRAPH_DT_FLOAT, "%s: dtype", what);
}

Test(sgkd, symbolic_batch_shapes)
{
    const int64_t K = 30, D = 16;
    built b = build(LOSS_SGKD, -1, K, D, NULL, true); /* infers before and after autodiff */
    assert_shape(b.g, b.loss, 0, NULL, "loss");
    assert_shape(b.g, b.weights, 2, (const int64_t[]){-1, K}, "weights");
    assert_shape(b.g, b.kept, 1, (const int64_t[]){-1}, "kept");
    assert_shape(b.g, b.grad, 2, (const int64_t[]){-1, D}, "dL/ds");
    int thr = graph_find_tensor(b.g, "sgkd/threshold");
    cr_assert_geq(thr, 0);
    assert_shape(b.g, thr, 2, (const int64_t[]){-1, 1}, "threshold");
    /* only default-domain nodes in the forward part, all named with the prefix */
    int n_fwd = 0;
    for (int i = 0; i < b.g->n_nodes; i++) {
        const graph_node *n = &b.g->nodes[i];
        if (strstr(n->name, "/grad/"))
            continue;
        n_fwd++;
        cr_assert_str_eq(n->domain, "", "node %s", n->name);
        cr_assert(strncmp(n->name, "sgkd/", 5) == 0, "node %s", n->name);
        cr_assert_geq(n->op, 0, "node %s (%s) is not in the registry", n->name, n->op_type);
    }
    cr_assert_gt(n_fwd, 15);
    /* one graph, several batch sizes: the cases B = 4 and B = 1 of the fixtures */
    const char *cases[] = {"k30", "b1"};
    graph_free(b.g);
    for (int c = 0; c < 2; c++) {
        fixture f;
        fixture_load(&f, cases[c]);
        built bb = build(LOSS_SGKD, -1, f.K, f.D, NULL, true);
        graph_value in[2] = {f.s, f.t};
        rt_plan *p = plan(&bb, in);
        compare(rt_plan_output(p, bb.o_loss), &f.loss, RTOL, 0, "loss");
        compare(rt_plan_output(p, bb.o_grad), &f.grad, RTOL, ATOL_GRAD, "dL/ds");
        rt_plan_free(p);
        graph_free(bb.g);
        fixture_free(&f);
    }
}

/* ---- finite differences of the whole subgraph ---- */

/* Central differences of the float32 loss with respect to every element of
 * s.  An element whose +-eps perturbation changes which weights are kept is
 * skipped (the loss is not differentiable across that), at most a fifth of
 * them.  Tolerance: |fd - ad| <= 1e-2 |ad| + 1e-3 max|ad| (observed: about 1e-4 max|ad|). */
static void finite_differences(const char *name)
{
    fixture f;
    fixture_load(&f, name);
    sgkd_options opt = {.tau = f.tau, .q = f.q};
    built b = build(LOSS_SGKD, -1, f.K, f.D, &opt, true);
    float *s = f.s.data;
    graph_value in[2] = {f.s, f.t};
    rt_plan *p = plan(&b, in);
    int64_t n = f.B * f.D, nw = f.B * f.K;
    double *ad = malloc((size_t)n * sizeof *ad);
    uint8_t *mask0 = malloc((size_t)nw);
    double scale = 0;
    for (int64_t i = 0; i < n; i++) {
        ad[i] = graph_value_get_f64(rt_plan_output(p, b.o_grad), i);
        scale = fmax(scale, fabs(ad[i]));
    }
    for (int64_t i = 0; i < nw; i++)
        mask0[i] = graph_value_get_f64(rt_plan_output(p, b.o_weights), i) != 0;
    const float eps = 5e-3f;
    int skipped = 0;
    double worst = 0;
    ssdc_error err = {0};
    for (int64_t i = 0; i < n; i++) {
        float x = s[i];
        double lp, lm;
        bool same = true;
        for (int sign = 1; sign >= -1; sign -= 2) {
            s[i] = x + (float)sign * eps;
            cr_assert_eq(rt_plan_run(p, in, &err), SSDC_OK, "%s", err.msg);
            double l = graph_value_get_f64(rt_plan_output(p, b.o_loss), 0);
            if (sign > 0)
                lp = l;
            else
                lm = l;
            for (int64_t k = 0; k < nw; k++)
                same = same && mask0[k] == (graph_value_get_f64(rt_plan_output(p, b.o_weights), k)
                                            != 0);
        }
        s[i] = x;
        if (!same) {
            skipped++;
            continue;
        }
        double fd = (lp - lm) / (2.0 * ((double)(x + eps) - (double)x));
        double diff = fabs(fd - ad[i]);
        cr_assert(diff <= 1e-2 * fabs(ad[i]) + 1e-3 * scale,
                  "%s: dL/ds[%lld]: autodiff %.6g, finite differences %.6g", name, (long long)i,
                  ad[i], fd);
        worst = fmax(worst, diff / scale);
    }
    cr_assert_leq(skipped, n / 5, "%s: %d of %lld elements flip the keep mask", name, skipped,
                  (long long)n);
    cr_log_info("%s: finite differences agree within %.2g of max|dL/ds| (%d skipped)", name, worst,
                skipped);
    free(ad);
    free(mask0);
    rt_plan_free(p);
    graph_free(b.g);
    fixture_free(&f);
}

Test(sgkd, finite_differences)
{
    finite_differences("k30");
    finite_differences("k2");
    finite_differences("k30_tau1_q75");
    finite_differences("ties_k30");
    finite_differences("identical_k30");
}

/* ---- single nodes in the configurations the loss uses ---- */

static int64_t g_axis, g_keepdims;
static const char *g_attr_name;

static void set_axis_attrs(graph *g, int node)
{
    ssdc_error err = {0};
    if (g_attr_name)
        cr_assert_eq(graph_node_set_int(g, node, g_attr_name, g_axis, &err), SSDC_OK);
    if (g_keepdims >= 0)
        cr_assert_eq(graph_node_set_int(g, node, "keepdims", g_keepdims, &err), SSDC_OK);
}

Test(sgkd, node_gradchecks)
{
    const int64_t B = 4, K = 7, D = 5;
    float x[4 * 7 * 5], y[4 * 7 * 5], d[4];
    gc_fill_f32(x, B * K * D, -2.0f, 2.0f, 1);
    gc_fill_f32(y, B * K * D, -2.0f, 2.0f, 2);
    gc_fill_f32(d, B, 0.5f, 2.0f, 3);

    /* Softmax over axis 1 of [B, K] (logits dot / tau) */
    gc_case c = {.op_type = "Softmax", .n_in = 1, .n_out = 1, .attrs = set_axis_attrs, .seed = 5};
    g_attr_name = "axis", g_axis = 1, g_keepdims = -1;
    gc_value(&c.in[0], GRAPH_DT_FLOAT, 2, (const int64_t[]){B, K}, x);
    c.diff[0] = true;
    gradcheck(&c);

    /* Where(keep [B, K], w [B, K], 0 scalar constant) */
    uint8_t keep[4 * 7];
    for (int i = 0; i < B * K; i++)
        keep[i] = i % 3 == 0;
    float zero = 0;
    gc_case cw = {.op_type = "Where", .n_in = 3, .n_out = 1, .seed = 6};
    gc_value(&cw.in[0], GRAPH_DT_BOOL, 2, (const int64_t[]){B, K}, keep);
    cw.is_const[0] = true;
    gc_value(&cw.in[1], GRAPH_DT_FLOAT, 2, (const int64_t[]){B, K}, x);
    cw.diff[1] = true;
    gc_value(&cw.in[2], GRAPH_DT_FLOAT, 0, NULL, &zero);
    cw.is_const[2] = true;
    gradcheck(&cw);

    /* renormalisation: Div([B, K], [B, 1]) with respect to both */
    gc_case cd = {.op_type = "Div", .n_in = 2, .n_out = 1, .seed = 7};
    gc_value(&cd.in[0], GRAPH_DT_FLOAT, 2, (const int64_t[]){B, K}, x);
    gc_value(&cd.in[1], GRAPH_DT_FLOAT, 2, (const int64_t[]){B, 1}, d);
    cd.diff[0] = cd.diff[1] = true;
    gradcheck(&cd);

    /* ReduceSum axes [2] keepdims 0 (dot) and axes [1] keepdims 1 (kept sum) */
    int64_t axes2 = 2, axes1 = 1;
    for (int k = 0; k < 2; k++) {
        gc_case cr = {.op_type = "ReduceSum", .n_in = 2, .n_out = 1, .attrs = set_axis_attrs,
                      .seed = 8};
        g_attr_name = NULL, g_keepdims = k;
        gc_value(&cr.in[0], GRAPH_DT_FLOAT, 3, (const int64_t[]){B, K, D}, x);
        cr.diff[0] = true;
        gc_value(&cr.in[1], GRAPH_DT_INT64, 1, (const int64_t[]){1}, k ? &axes1 : &axes2);
        cr.is_const[1] = true;
        gradcheck(&cr);
    }

    /* Mul of Unsqueeze(s) [B, 1, D] by t [B, K, D] (broadcast over K) */
    gc_case cm = {.op_type = "Mul", .n_in = 2, .n_out = 1, .seed = 9};
    gc_value(&cm.in[0], GRAPH_DT_FLOAT, 3, (const int64_t[]){B, 1, D}, y);
    gc_value(&cm.in[1], GRAPH_DT_FLOAT, 3, (const int64_t[]){B, K, D}, x);
    cm.diff[0] = true;
    gradcheck(&cm);
}

/* ---- the ablations ---- */

/* 1 - mean_{b,k} cos(s_b, t_bk) and dL/ds in double. */
static void cosine_reference(const fixture *f, double *loss, double *grad)
{
    const float *s = f->s.data, *t = f->t.data;
    int64_t B = f->B, K = f->K, D = f->D;
    double sum = 0;
    memset(grad, 0, (size_t)(B * D) * sizeof *grad);
    for (int64_t b = 0; b < B; b++) {
        double ns = 0;
        for (int64_t d = 0; d < D; d++)
            ns += (double)s[b * D + d] * s[b * D + d];
        ns = fmax(sqrt(ns), 1e-8);
        for (int64_t k = 0; k < K; k++) {
            const float *tk = t + (b * K + k) * D;
            double nt = 0, dot = 0;
            for (int64_t d = 0; d < D; d++) {
                nt += (double)tk[d] * tk[d];
                dot += (double)s[b * D + d] * tk[d];
            }
            nt = fmax(sqrt(nt), 1e-8);
            double c = dot / (ns * nt);
            sum += c;
            for (int64_t d = 0; d < D; d++)
                grad[b * D + d] -=
                    (tk[d] / (ns * nt) - c * s[b * D + d] / (ns * ns)) / (double)(B * K);
        }
    }
    *loss = 1.0 - sum / (double)(B * K);
}

static graph_value f64_value(int rank, const int64_t *dims, double *data)
{
    graph_value v;
    graph_value_set_shape(&v, GRAPH_DT_DOUBLE, rank, dims);
    v.data = data;
    return v;
}

Test(sgkd, cosine_ablation)
{
    const char *cases[] = {"k30", "k7", "b1", "identical_k30", "dropout_relu"};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        fixture f;
        fixture_load(&f, cases[c]);
        built b = build(LOSS_COSINE, -1, f.K, f.D, NULL, true);
        graph_value in[2] = {f.s, f.t};
        rt_plan *p = plan(&b, in);
        double loss, *grad = malloc((size_t)(f.B * f.D) * sizeof *grad);
        cosine_reference(&f, &loss, grad);
        graph_value lv = f64_value(0, NULL, &loss), gv = f64_value(2, f.s.dims, grad);
        /* the loss is 1 - mean cos: its absolute error is what float32 can give */
        compare(rt_plan_output(p, b.o_loss), &lv, RTOL, 1e-6, "cosine loss vs closed form");
        compare(rt_plan_output(p, b.o_loss), &f.cos_loss64, RTOL, 1e-6, "cosine loss vs torch");
        double e = compare(rt_plan_output(p, b.o_grad), &gv, RTOL, ATOL_GRAD,
                           "cosine dL/ds vs closed form");
        compare(rt_plan_output(p, b.o_grad), &f.cos_grad64, RTOL, ATOL_GRAD,
                "cosine dL/ds vs torch");
        cr_log_info("cosine %s: loss %.6g, dL/ds max relative error %.2g", cases[c], loss, e);
        free(grad);
        rt_plan_free(p);
        graph_free(b.g);
        fixture_free(&f);
    }
}

Test(sgkd, mse_ablation)
{
    const char *cases[] = {"k30", "k2", "b1"};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        fixture f;
        fixture_load(&f, cases[c]);
        /* the deterministic teacher feature: t[:, 0, :] */
        float *t0 = malloc((size_t)(f.B * f.D) * sizeof *t0);
        for (int64_t b_ = 0; b_ < f.B; b_++)
            memcpy(t0 + b_ * f.D, (float *)f.t.data + b_ * f.K * f.D, (size_t)f.D * sizeof *t0);
        double loss = 0, *grad = malloc((size_t)(f.B * f.D) * sizeof *grad);
        const float *s = f.s.data;
        for (int64_t i = 0; i < f.B * f.D; i++) {
            double r = (double)s[i] - t0[i];
            loss += r * r / (double)(f.B * f.D);
            grad[i] = 2 * r / (double)(f.B * f.D);
        }
        built b = build(LOSS_MSE, -1, f.K, f.D, NULL, true);
        graph_value in[2] = {f.s, {0}};
        graph_value_set_shape(&in[1], GRAPH_DT_FLOAT, 2, f.s.dims);
        in[1].data = t0;
        rt_plan *p = plan(&b, in);
        graph_value lv = f64_value(0, NULL, &loss), gv = f64_value(2, f.s.dims, grad);
        compare(rt_plan_output(p, b.o_loss), &lv, RTOL, 0, "MSE loss vs closed form");
        compare(rt_plan_output(p, b.o_loss), &f.mse_loss64, RTOL, 0, "MSE loss vs torch");
        compare(rt_plan_output(p, b.o_grad), &gv, RTOL, ATOL_GRAD, "MSE dL/ds vs closed form");
        compare(rt_plan_output(p, b.o_grad), &f.mse_grad64, RTOL, ATOL_GRAD, "MSE dL/ds vs torch");
        free(t0);
        free(grad);
        rt_plan_free(p);
        graph_free(b.g);
        fixture_free(&f);
    }
}

/* ---- ONNX export: onnx.checker and ONNX Runtime ---- */

static int run_cmd(const char *cmd)
{
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static char g_tmp[64];

static void remove_tmp(void)
{
    if (strncmp(g_tmp, "/tmp/ssdc_sgkd_test_", 20) == 0) {
        char rm[128];
        snprintf(rm, sizeof rm, "rm -rf '%s'", g_tmp);
        if (run_cmd(rm) != 0)
            fprintf(stderr, "could not remove %s\n", g_tmp);
    }
}

Test(sgkd, onnx_export_checker_and_ort, .timeout = 120, .fini = remove_tmp)
{
    const char *cases[] = {"k30", "ties_k11", "k2"};
    snprintf(g_tmp, sizeof g_tmp, "/tmp/ssdc_sgkd_test_XXXXXX");
    char *dir = mkdtemp(g_tmp);
    cr_assert_not_null(dir);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        fixture f;
        fixture_load(&f, cases[c]);
        ssdc_error err = {0};
        /* forward graph: SGKD (loss, weights, kept) and the cosine loss, symbolic batch */
        sgkd_options opt = {.tau = f.tau, .q = f.q};
        built b = build(LOSS_SGKD, -1, f.K, f.D, &opt, false);
        int cos_loss;
        cr_assert_eq(sgkd_add_cosine_loss(b.g, b.s, b.t, (int)f.K, "cos/", &cos_loss, &err),
                     SSDC_OK, "%s", err.msg);
        int o_cos = b.g->n_outputs;
        cr_assert_eq(graph_add_output(b.g, cos_loss, &err), SSDC_OK);
        cr_assert_eq(graph_infer_shapes(b.g, &err), SSDC_OK, "%s", err.msg);
        char model[1200];
        snprintf(model, sizeof model, "%s/%s.onnx", dir, cases[c]);
        onnx_export_options eo = {.value_info = true};
        cr_assert_eq(onnx_export_file(b.g, model, &eo, &err), SSDC_OK, "%s", err.msg);

        char cmd[8192];
        snprintf(cmd, sizeof cmd,
                 PYTHON " -c 'import onnx, sys\n"
                        "m = onnx.load(sys.argv[1])\n"
                        "onnx.checker.check_model(m, full_check=True)\n"
                        "assert all(n.domain == \"\" for n in m.graph.node)' '%s'",
                 model);
        cr_assert_eq(run_cmd(cmd), 0, "onnx.checker (full check) rejects %s", model);

        char out[1300];
        snprintf(out, sizeof out, "%s/ort_%s", dir, cases[c]);
        snprintf(cmd, sizeof cmd,
                 "node '%s/tests/ort/run.js' '%s' --input 's=%s/s.npy' --input 't=%s/t.npy' "
                 "--output-dir '%s' --threads 1 >/dev/null",
                 root(), model, f.dir, f.dir, out);
        cr_assert_eq(run_cmd(cmd), 0, "ONNX Runtime failed on %s", model);

        graph_value in[2] = {f.s, f.t};
        rt_plan *p = plan(&b, in);
        const char *names[] = {"sgkd_loss", "sgkd_weights", "sgkd_kept", "cos_loss"};
        int outs[] = {b.o_loss, b.o_weights, b.o_kept, o_cos};
        for (int k = 0; k < 4; k++) {
            char path[1500];
            snprintf(path, sizeof path, "%s/%s.npy", out, names[k]);
            graph_value ort = {0};
            cr_assert_eq(npy_read_file(path, &ort, &err), SSDC_OK, "%s", err.msg);
            double atol = k == 0 ? 0 : k == 2 ? 0 : k == 3 ? 1e-6 : ATOL_GRAD;
            compare(rt_plan_output(p, outs[k]), &ort, RTOL, atol, names[k]);
            if (k == 0)
                compare(&ort, &f.loss, RTOL, 0, "ONNX Runtime's loss vs torch");
            free(ort.data);
        }
        rt_plan_free(p);
        graph_free(b.g);
        fixture_free(&f);
    }
}

/* ---- argument errors ---- */

static graph *error_graph(int64_t sd, int64_t tk, int64_t td, int trank, int *s, int *t)
{
    ssdc_error err = {0};
    graph *g = graph_new();
    graph_shape ss, ts;
    graph_shape_init(&ss, 2, (const int64_t[]){4, sd});
    graph_shape_init(&ts, trank, trank == 3 ? (const int64_t[]){4, tk, td}
                                            : (const int64_t[]){4, td});
    cr_assert_eq(graph_add_tensor(g, "s", GRAPH_DT_FLOAT, &ss, GRAPH_TENSOR_INPUT, s, &err), 0);
    cr_assert_eq(graph_add_tensor(g, "t", GRAPH_DT_FLOAT, &ts, GRAPH_TENSOR_INPUT, t, &err), 0);
    return g;
}

static void expect_error(ssdc_status st, const ssdc_error *err, ssdc_status code, const char *part)
{
    cr_assert_eq(st, code, "status %s, expected %s (%s)", ssdc_status_name(st),
                 ssdc_status_name(code), err->msg);
    cr_assert(strstr(err->msg, part), "message '%s' does not mention '%s'", err->msg, part);
}

Test(sgkd, argument_errors)
{
    ssdc_error err = {0};
    int s, t, loss;
    graph *g = error_graph(16, 30, 16, 3, &s, &t);
    sgkd_options bad_tau = {.tau = 0, .q = 0.9f}, bad_q = {.tau = 5, .q = 1.5f};
    expect_error(sgkd_add_loss(g, s, t, 30, &bad_tau, NULL, &loss, NULL, NULL, &err), &err,
                 SSDC_ERR_ARG, "tau");
    expect_error(sgkd_add_loss(g, s, t, 30, &bad_q, NULL, &loss, NULL, NULL, &err), &err,
                 SSDC_ERR_ARG, "quantile");
    expect_error(sgkd_add_loss(g, s, t, 7, NULL, NULL, &loss, NULL, NULL, &err), &err,
                 SSDC_ERR_SHAPE, "K = 7");
    expect_error(sgkd_add_loss(g, s, s, 30, NULL, NULL, &loss, NULL, NULL, &err), &err,
                 SSDC_ERR_SHAPE, "[B, K, D]");
    expect_error(sgkd_add_loss(g, s, 99, 30, NULL, NULL, &loss, NULL, NULL, &err), &err,
                 SSDC_ERR_ARG, "out of range");
    /* a prefix already used */
    cr_assert_eq(sgkd_add_loss(g, s, t, 30, NULL, "x/", &loss, NULL, NULL, &err), SSDC_OK, "%s",
                 err.msg);
    cr_assert_neq(sgkd_add_loss(g, s, t, 30, NULL, "x/", &loss, NULL, NULL, &err), SSDC_OK);
    cr_assert(strstr(err.msg, "x/"), "%s", err.msg);
    graph_free(g);

    g = error_graph(16, 30, 8, 3, &s, &t);
    expect_error(sgkd_add_loss(g, s, t, 30, NULL, NULL, &loss, NULL, NULL, &err), &err,
                 SSDC_ERR_SHAPE, "feature sizes");
    expect_error(sgkd_add_cosine_loss(g, s, t, 30, NULL, &loss, &err), &err, SSDC_ERR_SHAPE,
                 "feature sizes");
    graph_free(g);

    g = error_graph(16, -1, 16, 3, &s, &t); /* K unknown and not given */
    g->tensors[t].shape.dims[1] = -1;
    expect_error(sgkd_add_loss(g, s, t, 0, NULL, NULL, &loss, NULL, NULL, &err), &err,
                 SSDC_ERR_SHAPE, "not given");
    graph_free(g);

    g = error_graph(16, 0, 12, 2, &s, &t);
    expect_error(sgkd_add_mse_loss(g, s, t, NULL, &loss, &err), &err, SSDC_ERR_SHAPE,
                 "shapes differ");
    graph_free(g);

    /* int64 student */
    g = graph_new();
    graph_shape ss;
    graph_shape_init(&ss, 2, (const int64_t[]){4, 16});
    cr_assert_eq(graph_add_tensor(g, "s", GRAPH_DT_INT64, &ss, GRAPH_TENSOR_INPUT, &s, &err), 0);
    cr_assert_eq(graph_add_tensor(g, "t", GRAPH_DT_FLOAT, &ss, GRAPH_TENSOR_INPUT, &t, &err), 0);
    expect_error(sgkd_add_mse_loss(g, s, t, NULL, &loss, &err), &err, SSDC_ERR_UNSUPPORTED,
                 "int64");
    graph_free(g);
}

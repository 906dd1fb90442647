/* Calibration: activation ranges of a float model over samples. */
#include "runtime/calibrate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const graph *g;
    calib_ranges *r;
    int64_t *hist;    /* second pass: CALIB_BINS per tensor, NULL in the first */
    int64_t first;    /* index of the batch's first sample */
} calib_state;

/* Index of the first non-finite element of v, -1 if none. */
static int64_t first_nonfinite(const graph_value *v)
{
    const float *x = v->data;
    for (int64_t i = 0; i < v->numel; i++)
        if (!isfinite(x[i]))
            return i;
    return -1;
}

static ssdc_status observe_value(calib_state *s, int tensor, const graph_value *v, ssdc_error *err)
{
    if (v->dtype != GRAPH_DT_FLOAT || v->numel == 0)
        return SSDC_OK;
    calib_ranges *r = s->r;
    const float *x = v->data;
    if (!s->hist) {
        int64_t bad = first_nonfinite(v);
        if (bad >= 0) {
            int64_t per = v->rank > 0 && v->dims[0] > 0 ? v->numel / v->dims[0] : v->numel;
            return ssdc_fail(err, SSDC_ERR_INVALID,
                             "calibration sample %lld: tensor '%s' has a non-finite value (%g)",
                             (long long)(s->first + bad / per), s->g->tensors[tensor].name,
                             (double)x[bad]);
        }
        float lo = r->observed[tensor] ? r->min[tensor] : x[0];
        float hi = r->observed[tensor] ? r->max[tensor] : x[0];
        for (int64_t i = 0; i < v->numel; i++) {
            lo = x[i] < lo ? x[i] : lo;
            hi = x[i] > hi ? x[i] : hi;
        }
        r->observed[tensor] = true;
        r->min[tensor] = lo;
        r->max[tensor] = hi;
        return SSDC_OK;
    }
    int64_t *h = s->hist + (size_t)tensor * CALIB_BINS;
    double lo = r->min[tensor], w = ((double)r->max[tensor] - lo) / CALIB_BINS;
    for (int64_t i = 0; i < v->numel; i++) {
        int64_t b = w > 0 ? (int64_t)((x[i] - lo) / w) : 0;
        h[b < 0 ? 0 : b >= CALIB_BINS ? CALIB_BINS - 1 : b]++;
    }
    return SSDC_OK;
}

static ssdc_status on_node(void *ctx, int node, int tensor, const graph_value *v, ssdc_error *err)
{
    (void)node;
    return observe_value(ctx, tensor, v, err);
}

static ssdc_status run_pass(const graph *g, const graph_value *batches, int n_batches,
                            calib_state *s, ssdc_error *err)
{
    ssdc_status st = SSDC_OK;
    rt_plan *p = NULL;
    s->first = 0;
    for (int b = 0; b < n_batches && !st; b++) {
        if (!p || !rt_plan_matches(p, &batches[b])) {
            rt_plan_free(p);
            p = NULL;
            st = rt_plan_create(g, &batches[b], NULL, &p, err);
            if (st)
                break;
        }
        st = observe_value(s, g->inputs[0], &batches[b], err);
        if (!st)
            st = rt_plan_run_observe(p, &batches[b], on_node, s, err);
        s->first += batches[b].rank > 0 ? batches[b].dims[0] : 1;
    }
    rt_plan_free(p);
    return st;
}

/* The value below which a fraction q of the histogram's mass lies. */
static float hist_quantile(const int64_t *h, int64_t total, double lo, double w, double q)
{
    double want = q * (double)total, acc = 0;
    for (int b = 0; b < CALIB_BINS; b++) {
        if (acc + (double)h[b] >= want && h[b] > 0) {
            double f = (want - acc) / (double)h[b];
            return (float)(lo + w * (b + f));
        }
        acc += (double)h[b];
    }
    return (float)(lo + w * CALIB_BINS);
}

static void apply_percentile(calib_state *s, double pct)
{
    calib_ranges *r = s->r;
    for (int t = 0; t < r->n_tensors; t++) {
        if (!r->observed[t])
            continue;
        const int64_t *h = s->hist + (size_t)t * CALIB_BINS;
        int64_t total = 0;
        for (int b = 0; b < CALIB_BINS; b++)
            total += h[b];
        double lo = r->min[t], w = ((double)r->max[t] - lo) / CALIB_BINS;
        if (total == 0 || w <= 0)
            continue;
        float mn = hist_quantile(h, total, lo, w, 1.0 - pct / 100.0);
        float mx = hist_quantile(h, total, lo, w, pct / 100.0);
        r->min[t] = mn > r->min[t] ? mn : r->min[t];
        r->max[t] = mx < r->max[t] ? mx : r->max[t];
    }
}

/* TensorRT's entropy calibration on one side of the histogram: h[0..n) the
 * bins from zero outwards; returns the number of bins to keep (the threshold
 * is that many bin widths from zero) minimising KL(P || Q), P the clipped
 * distribution (outliers added to its last bin), Q P quantized to 128
 * levels. */
static int kl_threshold(const int64_t *h, int n)
{
    enum { LEVELS = 128 };
    if (n <= LEVELS)
        return n;
    double *pd = malloc((size_t)n * sizeof *pd), *qd = malloc((size_t)n * sizeof *qd);
    if (!pd || !qd) {
        free(pd), free(qd);
        return n;
    }
    int best = n;
    double best_kl = INFINITY;
    for (int i = LEVELS; i <= n; i++) {
        double outl = 0, sp = 0, sq = 0;
        for (int b = i; b < n; b++)
            outl += (double)h[b];
        for (int b = 0; b < i; b++)
            pd[b] = (double)h[b];
        pd[i - 1] += outl;
        for (int l = 0; l < LEVELS; l++) {
            int b0 = (int)((int64_t)l * i / LEVELS), b1 = (int)((int64_t)(l + 1) * i / LEVELS);
            double m = 0;
            int nz = 0;
            for (int b = b0; b < b1; b++)
                m += pd[b], nz += pd[b] != 0;
            for (int b = b0; b < b1; b++)
                qd[b] = pd[b] != 0 ? m / nz : 0;
        }
        for (int b = 0; b < i; b++)
            sp += pd[b], sq += qd[b];
        if (sp <= 0 || sq <= 0)
            continue;
        double kl = 0;
        for (int b = 0; b < i; b++) {
            if (pd[b] <= 0)
                continue;
            double q = qd[b] / sq;
            kl += pd[b] / sp * log(pd[b] / sp / (q > 0 ? q : 1e-12));
        }
        if (kl < best_kl)
            best_kl = kl, best = i;
    }
    free(pd), free(qd);
    return best;
}

/* Entropy calibration of each side of zero separately (asymmetric ranges):
 * the bins above the one holding 0 for the max, those below it mirrored
 * for the min. */
static void apply_entropy(calib_state *s)
{
    calib_ranges *r = s->r;
    int64_t *mirror = malloc(CALIB_BINS * sizeof *mirror);
    if (!mirror)
        return;
    for (int t = 0; t < r->n_tensors; t++) {
        double lo = r->min[t], w = ((double)r->max[t] - lo) / CALIB_BINS;
        if (!r->observed[t] || w <= 0)
            continue;
        const int64_t *h = s->hist + (size_t)t * CALIB_BINS;
        int z = lo >= 0 ? 0 : (int)(-lo / w);
        z = z >= CALIB_BINS ? CALIB_BINS - 1 : z;
        double zero_edge = lo + w * z; /* lower edge of the bin holding 0 */
        if (r->max[t] > 0) {
            int k = kl_threshold(h + z, CALIB_BINS - z);
            double mx = zero_edge + w * k;
            r->max[t] = mx < r->max[t] ? (float)mx : r->max[t];
        }
        if (lo < 0) {
            for (int b = 0; b <= z; b++)
                mirror[b] = h[z - b];
            int k = kl_threshold(mirror, z + 1);
            double mn = zero_edge + w - w * k;
            r->min[t] = mn > r->min[t] ? (float)mn : r->min[t];
        }
    }
    free(mirror);
}

ssdc_status calib_collect(const graph *g, const graph_value *batches, int n_batches,
                          const calib_options *opt, calib_ranges *out, ssdc_error *err)
{
    memset(out, 0, sizeof *out);
    if (g->n_inputs != 1 || g->tensors[g->inputs[0]].dtype != GRAPH_DT_FLOAT)
        return ssdc_fail(err, SSDC_ERR_INVALID, "calibration needs a graph with one float input");
    if (n_batches < 1)
        return ssdc_fail(err, SSDC_ERR_INVALID, "calibration needs at least one sample");
    size_t n = (size_t)g->n_tensors;
    out->n_tensors = g->n_tensors;
    out->observed = calloc(n, sizeof *out->observed);
    out->min = calloc(n, sizeof *out->min);
    out->max = calloc(n, sizeof *out->max);
    if (!out->observed || !out->min || !out->max) {
        calib_ranges_free(out);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    }
    calib_state s = {.g = g, .r = out};
    ssdc_status st = run_pass(g, batches, n_batches, &s, err);
    if (!st && opt && opt->method != CALIB_MINMAX) {
        s.hist = calloc(n * CALIB_BINS, sizeof *s.hist);
        if (!s.hist)
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        else
            st = run_pass(g, batches, n_batches, &s, err);
        if (!st && opt->method == CALIB_PERCENTILE)
            apply_percentile(&s, opt->percentile);
        else if (!st)
            apply_entropy(&s);
        free(s.hist);
    }
    if (st)
        calib_ranges_free(out);
    return st;
}

void calib_ranges_free(calib_ranges *r)
{
    free(r->observed);
    free(r->min);
    free(r->max);
    memset(r, 0, sizeof *r);
}

ssdc_status calib_parse_method(const char *s, calib_options *opt, ssdc_error *err)
{
    *opt = (calib_options){.method = CALIB_MINMAX};
    if (!strcmp(s, "minmax"))
        return SSDC_OK;
    if (!strcmp(s, "entropy")) {
        opt->method = CALIB_ENTROPY;
        return SSDC_OK;
    }
    if (!strncmp(s, "percentile:", 11)) {
        char *end;
        double p = strtod(s + 11, &end);
        if (*end == 0 && end != s + 11 && p > 0 && p <= 100) {
            *opt = (calib_options){.method = CALIB_PERCENTILE, .percentile = p};
            return SSDC_OK;
        }
    }
    return ssdc_fail(err, SSDC_ERR_ARG,
                     "calibration method '%s': expected minmax, entropy or percentile:P (0 < P <= 100)", s);
}

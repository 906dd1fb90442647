/* bench_ssd_step: cost of one training step (forward + backward of the
 * training graph, no optimizer) for plain cross-entropy and for SSD, side by
 * side in one process, so the ratio is measured under the same load.
 *
 *   bench_ssd_step TEACHER.onnx [--batch B] [--reps K] [--steps N] [--rounds R]
 *                  [--threads T] [--seed S]
 *
 * The student has the teacher's architecture (the same file).  Four
 * configurations, timed in R alternating rounds of N steps each (after one
 * warm-up step): "ce" (ssd_build --mode ce), "ssd_unfused" (K reps, every
 * node run as it is: the K-fold tiled tensors stored), "ssd" (the planner's
 * fused Dropout -> GlobalAveragePool step, runtime/exec.c) and "ssd_cached"
 * (also the teacher's deterministic part computed once beforehand and fed,
 * as the trainer does when the training set's values fit its cache limit:
 * train_graph_split_cached; what ssdc distill runs).
 * Inputs: uniform random samples of the teacher's input shape (dimension 0 =
 * B), random labels.  OpenBLAS and ssdc's kernels use T threads.  Prints one
 * JSON object:
 *   {"batch":B,"reps":K,"threads":T,"ce_ms":...,"ssd_ms":...,"ssd_unfused_ms":...,
 *    "ssd_cached_ms":...,"ssd_over_ce":...,"unfused_over_ce":...,
 *    "cached_over_ce":...,"arena_ce":...,"arena_ssd":...,"arena_ssd_unfused":...}
 * (median milliseconds per step over all rounds).  Exit status: 0 ok, 1 error,
 * 2 bad arguments. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_util.h"
#include "frontend/onnx_import.h"
#include "graph/graph.h"
#include "passes/ssd.h"
#include "runtime/exec.h"

void openblas_set_num_threads(int num_threads);

static void usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "bench_ssd_step: %s\n", msg);
    fprintf(stderr, "usage: bench_ssd_step TEACHER.onnx [--batch B] [--reps K] [--steps N] "
                    "[--rounds R] [--threads T] [--seed S]\n");
    exit(2);
}




typedef struct {
    train_graph tg;
    graph_value *in;
    rt_plan *plan;
    graph *prefix;
    rt_session *prefix_run;
    double *times;
    int n_times;
} config;

static int fail(const char *what, const ssdc_error *err)
{
    fprintf(stderr, "bench_ssd_step: %s: %s\n", what, err->msg);
    return 1;
}

/* Training graph of mode m, its inputs bound to x/y and the model's tensors. */
static int setup(const graph *model, ssd_mode m, int reps, bool cached, const float *x,
                 const int64_t *xd, int xrank, const int64_t *y, int64_t B, const rt_options *ro,
                 config *c)
{
    ssdc_error err = {0};
    ssd_options o;
    ssd_options_default(&o);
    o.mode = m;
    o.reps = reps;
    ssd_info info;
    if (ssd_build(model, model, &o, &c->tg, &info, &err))
        return fail("ssd_build", &err);
    int pos[TRAIN_GRAPH_MAX_CACHEABLE];
    if (cached && train_graph_split_cached(&c->tg, &c->prefix, pos, &err))
        return fail("train_graph_split_cached", &err);
    graph *g = c->tg.g;
    c->in = calloc((size_t)g->n_inputs, sizeof *c->in);
    if (!c->in)
        return 1;
    graph_value_set_shape(&c->in[c->tg.x_input], GRAPH_DT_FLOAT, xrank, xd);
    c->in[c->tg.x_input].data = (void *)x;
    graph_value_set_shape(&c->in[c->tg.label_input], GRAPH_DT_INT64, 1, &B);
    c->in[c->tg.label_input].data = (void *)y;
    for (int p = 0; p < c->tg.n_params; p++) {
        const graph_tensor *t = &model->tensors[c->tg.param_src[p]];
        graph_value_set_shape(&c->in[c->tg.param_input[p]], GRAPH_DT_FLOAT, t->shape.rank,
                              t->shape.dims);
        c->in[c->tg.param_input[p]].data = t->data;
    }
    for (int s = 0; s < c->tg.n_state; s++) {
        const graph_tensor *t = &model->tensors[c->tg.state_src[s]];
        graph_value_set_shape(&c->in[c->tg.state_input[s]], GRAPH_DT_FLOAT, t->shape.rank,
                              t->shape.dims);
        c->in[c->tg.state_input[s]].data = t->data;
    }
    if (c->prefix) { /* computed once, outside the timing */
        graph_value px = {0};
        graph_value_set_shape(&px, GRAPH_DT_FLOAT, xrank, xd);
        px.data = (void *)x;
        if (rt_session_create(c->prefix, NULL, &c->prefix_run, &err) ||
            rt_session_run(c->prefix_run, &px, &err))
            return fail("prefix", &err);
        for (int i = 0; i < c->prefix->n_outputs; i++)
            c->in[pos[i]] = *rt_session_output(c->prefix_run, i);
    }
    if (rt_plan_create(g, c->in, ro, &c->plan, &err) || rt_plan_run(c->plan, c->in, &err))
        return fail("plan", &err);
    return 0;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    long B = 128, K = 30, steps = 5, rounds = 5, threads = 1, seed = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "--batch") && has)
            B = bench_parse_long(argv[++i], "--batch", 1, usage);
        else if (!strcmp(a, "--reps") && has)
            K = bench_parse_long(argv[++i], "--reps", 2, usage);
        else if (!strcmp(a, "--steps") && has)
            steps = bench_parse_long(argv[++i], "--steps", 1, usage);
        else if (!strcmp(a, "--rounds") && has)
            rounds = bench_parse_long(argv[++i], "--rounds", 1, usage);
        else if (!strcmp(a, "--threads") && has)
            threads = bench_parse_long(argv[++i], "--threads", 1, usage);
        else if (!strcmp(a, "--seed") && has)
            seed = bench_parse_long(argv[++i], "--seed", 0, usage);
        else if (a[0] == '-')
            usage("unknown option or missing value");
        else if (!path)
            path = a;
        else
            usage("more than one model");
    }
    if (!path)
        usage("no model");
    openblas_set_num_threads((int)threads);
    ssdc_error err = {0};
    graph *model = NULL;
    if (onnx_import_file(path, &model, &err) || graph_infer_shapes(model, &err))
        return fail(path, &err);
    const graph_tensor *xin = &model->tensors[model->inputs[0]];
    int64_t xd[GRAPH_MAX_RANK], n = B;
    xd[0] = B;
    for (int d = 1; d < xin->shape.rank; d++) {
        if (xin->shape.dims[d] < 0) {
            fprintf(stderr, "bench_ssd_step: %s: input dimension %d is not fixed\n", path, d);
            return 1;
        }
        xd[d] = xin->shape.dims[d];
        n *= xd[d];
    }
    const graph_tensor *yout = &model->tensors[model->outputs[0]];
    int64_t classes = yout->shape.rank == 2 && yout->shape.dims[1] > 0 ? yout->shape.dims[1] : 2;
    float *x = malloc((size_t)n * sizeof *x);
    int64_t *y = malloc((size_t)B * sizeof *y);
    if (!x || !y)
        return 1;
    uint64_t s = (uint64_t)seed * 0x9E3779B97F4A7C15ull + 1;
    for (int64_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((double)(s >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    }
    for (int64_t i = 0; i < B; i++)
        y[i] = i % classes;

    enum { NCFG = 4 };
    const char *names[NCFG] = {"ce", "ssd", "ssd_unfused", "ssd_cached"};
    config c[NCFG];
    memset(c, 0, sizeof c);
    rt_options ro[NCFG] = {{.seed = (uint64_t)seed, .training = true, .threads = (int)threads},
                           {.seed = (uint64_t)seed, .training = true, .threads = (int)threads},
                           {.seed = (uint64_t)seed, .training = true, .threads = (int)threads,
                            .no_fusion = true},
                           {.seed = (uint64_t)seed, .training = true, .threads = (int)threads}};
    ssd_mode modes[NCFG] = {SSD_MODE_CE, SSD_MODE_SSD, SSD_MODE_SSD, SSD_MODE_SSD};
    for (int k = 0; k < NCFG; k++) {
        if (setup(model, modes[k], (int)K, k == 3, x, xd, xin->shape.rank, y, B, &ro[k], &c[k]))
            return 1;
        c[k].times = malloc((size_t)(rounds * steps) * sizeof(double));
        if (!c[k].times)
            return 1;
    }
    for (long r = 0; r < rounds; r++)
        for (int k = 0; k < NCFG; k++)
            for (long st = 0; st < steps; st++) {
                double t0 = (bench_now_us() * 1e-3);
                if (rt_plan_run(c[k].plan, c[k].in, &err))
                    return fail(names[k], &err);
                c[k].times[c[k].n_times++] = (bench_now_us() * 1e-3) - t0;
            }
    double med[NCFG];
    rt_plan_stats ps[NCFG];
    for (int k = 0; k < NCFG; k++) {
        qsort(c[k].times, (size_t)c[k].n_times, sizeof(double), bench_cmp_double);
        med[k] = c[k].times[c[k].n_times / 2];
        rt_plan_get_stats(c[k].plan, &ps[k]);
    }
    printf("{\"batch\":%ld,\"reps\":%ld,\"threads\":%ld,\"ce_ms\":%.4f,\"ssd_ms\":%.4f,"
           "\"ssd_unfused_ms\":%.4f,\"ssd_cached_ms\":%.4f,\"ssd_over_ce\":%.4f,"
           "\"unfused_over_ce\":%.4f,\"cached_over_ce\":%.4f,"
           "\"arena_ce\":%zu,\"arena_ssd\":%zu,\"arena_ssd_unfused\":%zu}\n",
           B, K, threads, med[0], med[1], med[2], med[3], med[1] / med[0], med[2] / med[0],
           med[3] / med[0], ps[0].arena_bytes, ps[1].arena_bytes, ps[2].arena_bytes);
    for (int k = 0; k < NCFG; k++) {
        rt_plan_free(c[k].plan);
        rt_session_free(c[k].prefix_run);
        graph_free(c[k].prefix);
        train_graph_free(&c[k].tg);
        free(c[k].in);
        free(c[k].times);
    }
    free(x);
    free(y);
    graph_free(model);
    return 0;
}

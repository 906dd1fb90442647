/* bench_forward: forward-pass latency of an ONNX model in the ssdc runtime.
 *
 *   bench_forward MODEL.onnx [--batch B] [--iters N] [--warmup W] [--seed S]
 *                 [--input-shape D0,D1,...]
 *
 * Imports the model, feeds every float input with uniform random values in
 * [-1, 1) (dimension 0 set to B, other unknown dimensions need --input-shape,
 * which gives the full shape of the first input), plans once (first run), runs
 * W warm-up passes and then N timed passes, one thread (OpenBLAS limited to one
 * thread).  Prints one JSON object on stdout:
 *   {"runtime":"ssdc","model":...,"batch":B,"iters":N,"warmup":W,
 *    "median_us":...,"mean_us":...,"min_us":...,"p10_us":...,"p90_us":...,
 *    "us_per_sample":...,"samples_per_s":...,"first_run_us":...,
 *    "arena_bytes":...,"output_checksum":...}
 * Exit status: 0 ok, 1 import/run error, 2 bad arguments. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_util.h"
#include "frontend/onnx_import.h"
#include "passes/inference.h"
#include "graph/graph.h"
#include "runtime/exec.h"

/* From OpenBLAS; declared here to avoid depending on which cblas.h is found. */
void openblas_set_num_threads(int num_threads);

static void usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "bench_forward: %s\n", msg);
    fprintf(stderr, "usage: bench_forward MODEL.onnx [--batch B] [--iters N] [--warmup W] "
                    "[--seed S] [--input-shape D0,D1,...]\n");
    exit(2);
}



static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}



static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

int main(int argc, char **argv)
{
    const char *model = NULL;
    long batch = 1, iters = 100, warmup = -1, seed = 1;
    int64_t shape_arg[GRAPH_MAX_RANK];
    int shape_rank = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--batch") || !strcmp(a, "--iters") || !strcmp(a, "--warmup") ||
            !strcmp(a, "--seed") || !strcmp(a, "--input-shape")) {
            if (i + 1 >= argc) {
                char buf[128];
                snprintf(buf, sizeof buf, "%s needs a value", a);
                usage(buf);
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--batch"))
                batch = bench_parse_long(v, a, 1, usage);
            else if (!strcmp(a, "--iters"))
                iters = bench_parse_long(v, a, 1, usage);
            else if (!strcmp(a, "--warmup"))
                warmup = bench_parse_long(v, a, 0, usage);
            else if (!strcmp(a, "--seed"))
                seed = bench_parse_long(v, a, 0, usage);
            else {
                char tmp[512];
                snprintf(tmp, sizeof tmp, "%s", v);
                shape_rank = 0;
                for (char *save = NULL, *tok = strtok_r(tmp, ",", &save); tok;
                     tok = strtok_r(NULL, ",", &save)) {
                    if (shape_rank >= GRAPH_MAX_RANK)
                        usage("--input-shape has too many dimensions");
                    shape_arg[shape_rank++] = bench_parse_long(tok, a, 1, usage);
                }
                if (shape_rank == 0)
                    usage("--input-shape is empty");
            }
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(NULL);
        } else if (a[0] == '-') {
            char buf[256];
            snprintf(buf, sizeof buf, "unknown option %s", a);
            usage(buf);
        } else if (!model) {
            model = a;
        } else {
            usage("more than one model given");
        }
    }
    if (!model)
        usage("no model given");
    if (iters > 1000000 || batch > 1000000)
        usage("--iters/--batch too large");
    if (warmup < 0)
        warmup = iters / 5 < 5 ? 5 : (iters / 5 > 50 ? 50 : iters / 5);

    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    openblas_set_num_threads(1);

    int rc = 1;
    ssdc_error err = {0};
    graph *g = NULL;
    rt_session *sess = NULL;
    graph_value *inputs = NULL;
    double *times = NULL;

    if (onnx_import_file(model, &g, &err) != SSDC_OK ||
        passes_optimize_inference(g, NULL, &err) != SSDC_OK) {
        fprintf(stderr, "bench_forward: %s\n", err.msg);
        goto done;
    }
    inputs = calloc((size_t)(g->n_inputs > 0 ? g->n_inputs : 1), sizeof *inputs);
    times = malloc((size_t)iters * sizeof *times);
    if (!inputs || !times) {
        fprintf(stderr, "bench_forward: out of memory\n");
        goto done;
    }

    uint64_t rng = (uint64_t)seed;
    for (int i = 0; i < g->n_inputs; i++) {
        const graph_tensor *t = &g->tensors[g->inputs[i]];
        int64_t dims[GRAPH_MAX_RANK];
        int rank;
        if (i == 0 && shape_rank > 0) {
            rank = shape_rank;
            memcpy(dims, shape_arg, sizeof dims);
            dims[0] = batch;
        } else {
            if (t->shape.rank < 0) {
                fprintf(stderr, "bench_forward: %s: input '%s' has unknown rank; give --input-shape\n",
                        model, t->name);
                goto done;
            }
            rank = t->shape.rank;
            for (int d = 0; d < rank; d++) {
                dims[d] = t->shape.dims[d];
                if (d == 0)
                    dims[d] = batch;
                else if (dims[d] < 0) {
                    fprintf(stderr, "bench_forward: %s: input '%s' dimension %d is unknown; "
                                    "give --input-shape\n", model, t->name, d);
                    goto done;
                }
            }
        }
        if (t->dtype != GRAPH_DT_FLOAT) {
            fprintf(stderr, "bench_forward: %s: input '%s' is %s; only float inputs are fed\n",
                    model, t->name, graph_dtype_name(t->dtype));
            goto done;
        }
        graph_value *v = &inputs[i];
        graph_value_set_shape(v, GRAPH_DT_FLOAT, rank, dims);
        if (v->numel <= 0 || v->numel > SSDC_MAX_TENSOR_ELEMS) {
            fprintf(stderr, "bench_forward: input '%s' has a bad element count\n", t->name);
            goto done;
        }
        float *p = malloc((size_t)v->numel * sizeof(float));
        if (!p) {
            fprintf(stderr, "bench_forward: out of memory\n");
            goto done;
        }
        for (int64_t k = 0; k < v->numel; k++)
            p[k] = (float)((double)(splitmix64(&rng) >> 40) / (double)(1ULL << 24) * 2.0 - 1.0);
        v->data = p;
    }

    rt_options opt = {0};
    opt.seed = (uint64_t)seed;
    if (rt_session_create(g, &opt, &sess, &err) != SSDC_OK) {
        fprintf(stderr, "bench_forward: %s\n", err.msg);
        goto done;
    }

    double t0 = bench_now_us();
    if (rt_session_run(sess, inputs, &err) != SSDC_OK) {
        fprintf(stderr, "bench_forward: %s\n", err.msg);
        goto done;
    }
    double first_run = bench_now_us() - t0;

    for (long i = 0; i < warmup; i++) {
        if (rt_session_run(sess, inputs, &err) != SSDC_OK) {
            fprintf(stderr, "bench_forward: %s\n", err.msg);
            goto done;
        }
    }
    for (long i = 0; i < iters; i++) {
        double a = bench_now_us();
        if (rt_session_run(sess, inputs, &err) != SSDC_OK) {
            fprintf(stderr, "bench_forward: %s\n", err.msg);
            goto done;
        }
        times[i] = bench_now_us() - a;
    }

    double checksum = 0.0;
    const graph_value *out = g->n_outputs > 0 ? rt_session_output(sess, 0) : NULL;
    if (out && out->data && out->dtype == GRAPH_DT_FLOAT)
        for (int64_t k = 0; k < out->numel; k++)
            checksum += ((const float *)out->data)[k];
    else if (out && out->data)
        for (int64_t k = 0; k < out->numel; k++)
            checksum += graph_value_get_f64(out, k);

    rt_plan_stats st = {0};
    rt_plan *plan = rt_session_plan(sess);
    if (plan)
        rt_plan_get_stats(plan, &st);

    double sum = 0.0;
    for (long i = 0; i < iters; i++)
        sum += times[i];
    qsort(times, (size_t)iters, sizeof *times, bench_cmp_double);
    double median = bench_quantile(times, (int)iters, 0.5);

    printf("{\"runtime\":\"ssdc\",\"model\":");
    json_string(model);
    printf(",\"input_shape\":[");
    if (g->n_inputs > 0)
        for (int d = 0; d < inputs[0].rank; d++)
            printf("%s%lld", d ? "," : "", (long long)inputs[0].dims[d]);
    printf("],\"batch\":%ld,\"iters\":%ld,\"warmup\":%ld,\"threads\":1", batch, iters, warmup);
    printf(",\"median_us\":%.2f,\"mean_us\":%.2f,\"min_us\":%.2f,\"p10_us\":%.2f,\"p90_us\":%.2f",
           median, sum / (double)iters, times[0], bench_quantile(times, (int)iters, 0.1),
           bench_quantile(times, (int)iters, 0.9));
    printf(",\"us_per_sample\":%.2f,\"samples_per_s\":%.2f,\"first_run_us\":%.2f",
           median / (double)batch, median > 0 ? (double)batch * 1e6 / median : 0.0, first_run);
    printf(",\"arena_bytes\":%zu,\"output_checksum\":%s%.9g%s}\n", st.arena_bytes,
           isfinite(checksum) ? "" : "\"", checksum, isfinite(checksum) ? "" : "\"");
    rc = 0;

done:
    if (sess)
        rt_session_free(sess);
    if (inputs && g)
        for (int i = 0; i < g->n_inputs; i++)
            free(inputs[i].data);
    free(inputs);
    free(times);
    if (g)
        graph_free(g);
    return rc;
}

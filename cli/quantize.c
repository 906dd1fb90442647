/* ssdc quantize: post-training static quantization into a QDQ ONNX file. */
#include "cli/quantize.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/data.h"
#include "cli/train_flags.h"
#include "graph/ops.h"
#include "frontend/onnx_export.h"
#include "frontend/onnx_import.h"
#include "passes/inference.h"
#include "passes/quantize.h"

static const char quantize_usage[] =
    "usage: ssdc quantize MODEL.onnx --data SPEC -o OUT.onnx [options]\n"
    "\n"
    "Post-training static quantization (docs/int8.md): BatchNormalization folded, weights\n"
    "int8 per output channel (symmetric), activations int8 per tensor (zero point from\n"
    "calibration on the training split), biases int32.  Writes a standard QDQ ONNX file\n"
    "and prints, per quantized tensor, its scale, zero point and quantization error\n"
    "(SQNR, dB), then the test accuracy of the float and the int8 model.\n"
    "\n"
    "options:\n"
    CLI_DATA_HELP
    "  -o, --output FILE       the QDQ model (written to a temporary file, then renamed)\n"
    "  --calibrate METHOD      minmax | percentile:P (e.g. percentile:99.99) | entropy\n"
    "                          (default minmax)\n"
    "  --calibration N         calibration samples: the first N of the training split\n"
    "                          (default 512; 0 = all)\n"
    "  --batch N               evaluation batch (default 128)\n";

typedef struct {
    const graph *g;
    bool *want;        /* tensor of the float graph is compared */
    float **ref;       /* its values on the current batch */
    int64_t *ref_n;
    const graph *gq;
    int *map;          /* QDQ tensor -> float tensor, -1 */
    double *sig, *noise;
} sqnr_ctx;

static ssdc_status keep_ref(void *vc, int node, int t, const graph_value *v, ssdc_error *err)
{
    sqnr_ctx *c = vc;
    (void)node;
    if (!c->want[t] || v->dtype != GRAPH_DT_FLOAT)
        return SSDC_OK;
    if (c->ref_n[t] < v->numel) {
        float *p = realloc(c->ref[t], (size_t)v->numel * sizeof *p);
        if (!p)
            return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        c->ref[t] = p;
    }
    memcpy(c->ref[t], v->data, (size_t)v->numel * sizeof(float));
    c->ref_n[t] = v->numel;
    return SSDC_OK;
}

static ssdc_status add_noise(void *vc, int node, int t, const graph_value *v, ssdc_error *err)
{
    sqnr_ctx *c = vc;
    (void)node, (void)err;
    int f = c->map[t];
    if (f < 0 || v->dtype != GRAPH_DT_FLOAT || c->ref_n[f] != v->numel)
        return SSDC_OK;
    const float *x = c->ref[f], *y = v->data;
    for (int64_t i = 0; i < v->numel; i++) {
        double d = (double)x[i] - (double)y[i];
        c->sig[f] += (double)x[i] * x[i];
        c->noise[f] += d * d;
    }
    return SSDC_OK;
}

static graph_value batch_value(const graph *g, const train_data *d, int64_t start, int64_t n)
{
    graph_value v;
    int64_t dims[GRAPH_MAX_RANK];
    dims[0] = n;
    for (int k = 0; k < d->rank; k++)
        dims[k + 1] = d->dims[k];
    graph_value_set_shape(&v, GRAPH_DT_FLOAT, d->rank + 1, dims);
    (void)g;
    v.data = (void *)(d->x + start * train_data_sample_numel(d));
    return v;
}

/* SQNR of every tensor the QDQ graph keeps by name, over the batches. */
static ssdc_status print_sqnr(const graph *g, const graph *qdq, const graph_value *batches, int nb,
                              ssdc_error *err)
{
    graph *sim = graph_clone(qdq);
    if (!sim)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    inference_options io = {.qdq_simulate = true};
    ssdc_status st = passes_optimize_inference_opt(sim, &io, NULL, err);
    sqnr_ctx c = {.g = g, .gq = sim};
    c.want = calloc((size_t)g->n_tensors, sizeof *c.want);
    c.ref = calloc((size_t)g->n_tensors, sizeof *c.ref);
    c.ref_n = calloc((size_t)g->n_tensors, sizeof *c.ref_n);
    c.sig = calloc((size_t)g->n_tensors, sizeof *c.sig);
    c.noise = calloc((size_t)g->n_tensors, sizeof *c.noise);
    c.map = malloc((size_t)sim->n_tensors * sizeof *c.map);
    if (!st && (!c.want || !c.ref || !c.ref_n || !c.sig || !c.noise || !c.map))
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    for (int t = 0; !st && t < sim->n_tensors; t++) {
        c.map[t] = -1;
        const graph_tensor *q = &sim->tensors[t];
        if (q->producer < 0 || sim->nodes[q->producer].op != GRAPH_OP_DEQUANTIZELINEAR)
            continue;
        int f = graph_find_tensor(g, q->name);
        if (f >= 0 && g->tensors[f].kind == GRAPH_TENSOR_INTERMEDIATE) {
            c.map[t] = f;
            c.want[f] = true;
        }
    }
    for (int b = 0; b < nb && !st; b++) {
        rt_plan *pf = NULL, *pq = NULL;
        rt_options ro = {0};
        if (!(st = rt_plan_create(g, &batches[b], &ro, &pf, err)) &&
            !(st = rt_plan_run_observe(pf, &batches[b], keep_ref, &c, err)) &&
            !(st = rt_plan_create(sim, &batches[b], &ro, &pq, err)))
            st = rt_plan_run_observe(pq, &batches[b], add_noise, &c, err);
        rt_plan_free(pf);
        rt_plan_free(pq);
    }
    if (!st) {
        printf("%-40s %12s %5s %9s\n", "tensor", "scale", "zp", "SQNR dB");
        for (int t = 0; t < sim->n_tensors; t++) {
            int f = c.map[t];
            if (f < 0)
                continue;
            const graph_node *dq = &sim->nodes[sim->tensors[t].producer];
            const graph_tensor *s = graph_node_input(sim, dq, 1), *z = graph_node_input(sim, dq, 2);
            double db = c.noise[f] > 0 ? 10 * log10(c.sig[f] / c.noise[f]) : INFINITY;
            printf("%-40s %12.6g %5d %9.1f\n", g->tensors[f].name, (double)*(const float *)s->data,
                   z ? (int)*(const int8_t *)z->data : 0, db);
        }
    }
    for (int t = 0; c.ref && t < g->n_tensors; t++)
        free(c.ref[t]);
    free(c.want), free(c.ref), free(c.ref_n), free(c.sig), free(c.noise), free(c.map);
    graph_free(sim);
    return st;
}

ssdc_status cli_quantize_graph(const graph *model, const train_data *calib,
                               const cli_quantize_options *opt, graph **out, ssdc_error *err)
{
    *out = NULL;
    graph *g = graph_clone(model);
    if (!g)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    ssdc_status st = passes_optimize_inference(g, NULL, err);
    int64_t n = calib->n;
    if (opt->samples > 0 && opt->samples < n)
        n = opt->samples;
    const int64_t bs = 64;
    int nb = (int)((n + bs - 1) / bs);
    graph_value *batches = calloc((size_t)(nb ? nb : 1), sizeof *batches);
    if (!st && !batches)
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    if (!st && n <= 0)
        st = ssdc_fail(err, SSDC_ERR_ARG, "no calibration samples");
    for (int b = 0; !st && b < nb; b++)
        batches[b] = batch_value(g, calib, b * bs, b * bs + bs <= n ? bs : n - b * bs);
    calib_ranges cr = {0};
    quant_range *r = NULL;
    graph *q = NULL;
    if (!st)
        st = calib_collect(g, batches, nb, &opt->calib, &cr, err);
    if (!st) {
        r = calloc((size_t)g->n_tensors, sizeof *r);
        q = graph_clone(g);
        if (!r || !q)
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    }
    for (int t = 0; !st && t < g->n_tensors && t < cr.n_tensors; t++) {
        r[t].seen = cr.observed[t];
        r[t].min = cr.min[t];
        r[t].max = cr.max[t];
    }
    quant_stats qs;
    if (!st)
        st = passes_quantize(q, r, NULL, &qs, err);
    if (!st && opt->print_table) {
        printf("quantized: %d Conv/Gemm/MatMul (int8 weights per channel), %d activations, %d "
               "Relu/Clip folded; calibration: %lld samples\n",
               qs.n_ops, qs.n_activations, qs.n_folded_act, (long long)n);
        st = print_sqnr(g, q, batches, nb, err);
    }
    calib_ranges_free(&cr);
    free(r);
    free(batches);
    graph_free(g);
    if (st) {
        graph_free(q);
        return st;
    }
    *out = q;
    return SSDC_OK;
}

int cli_quantize(int argc, char **argv)
{
    const char *model = NULL, *out_path = NULL;
    long long calib_n = 512, batch = 128;
    cli_data_options data = {0};
    cli_quantize_options qo = {.calib = {.method = CALIB_MINMAX}, .print_table = true};
    ssdc_error err = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = cli_data_parse_flag(&data, "quantize", argc, argv, &i);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        bool has = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(quantize_usage, stdout);
            return 0;
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && has) {
            out_path = argv[++i];
        } else if (!strcmp(a, "--calibrate") && has) {
            if (calib_parse_method(argv[++i], &qo.calib, &err))
                return cli_usage_error("quantize", "%s", err.msg);
        } else if (!strcmp(a, "--calibration") && has) {
            if (!cli_parse_int(argv[++i], 0, 100000000, &calib_n))
                return cli_usage_error("quantize", "--calibration expects a sample count");
        } else if (!strcmp(a, "--batch") && has) {
            if (!cli_parse_int(argv[++i], 1, 1000000, &batch))
                return cli_usage_error("quantize", "--batch expects a count");
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error("quantize", "unknown option or missing value: '%s'", a);
        } else if (!model) {
            model = a;
        } else {
            return cli_usage_error("quantize", "more than one model given ('%s')", a);
        }
    }
    if (!model)
        return cli_usage_error("quantize", "no model given");
    if (!data.spec)
        return cli_usage_error("quantize", "no --data given (calibration needs samples)");
    if (!out_path)
        return cli_usage_error("quantize", "no -o OUT.onnx given");
    qo.samples = calib_n;
    graph *g = NULL, *q = NULL;
    dataset_pair dp = {0};
    int rc = 0;
    if (onnx_import_file(model, &g, &err) || cli_data_load(&data, &dp, &err)) {
        rc = cli_error(&err);
        goto done;
    }
    cli_data_print_summary(&dp);
    int C = dp.train.n_classes;
    train_data tr = cli_data_view(&dp.train, C), te = cli_data_view(&dp.test, C);
    if (cli_quantize_graph(g, &tr, &qo, &q, &err)) {
        ssdc_error_prefix(&err, "%s", model);
        rc = cli_error(&err);
        goto done;
    }
    onnx_export_options eo = {.producer_version = cli_version, .drop_unused = true};
    if (onnx_export_file(q, out_path, &eo, &err)) {
        rc = cli_error(&err);
        goto done;
    }
    eval_result ef, eq;
    if (train_evaluate(g, &te, (int)batch, &ef, &err)) {
        rc = cli_error(&err);
        goto done;
    }
    if (train_evaluate(q, &te, (int)batch, &eq, &err)) {
        eval_result_free(&ef);
        rc = cli_error(&err);
        goto done;
    }
    printf("\n%-34s %14s\n", "model", "test accuracy");
    printf("%-34s %13.2f%%\n", "float", 100 * ef.accuracy);
    printf("%-34s %13.2f%%\n", "int8 (integer kernels)", 100 * eq.accuracy);
    printf("wrote %s\n", out_path);
    eval_result_free(&ef);
    eval_result_free(&eq);
done:
    graph_free(g);
    graph_free(q);
    dataset_pair_free(&dp);
    return rc;
}

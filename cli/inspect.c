/* ssdc inspect MODEL.onnx */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "frontend/onnx_import.h"
#include "graph/ops.h"
#include "runtime/exec.h"
#include "runtime/kernel.h"

static const char inspect_usage[] =
    "usage: ssdc inspect MODEL.onnx\n"
    "\n"
    "Prints the opset, the inputs and outputs with their shapes (symbolic dimensions by\n"
    "name), the op histogram, the parameter count and bytes, FLOPs per sample (symbolic\n"
    "dimensions set to 1), and every node ssdc cannot run.\n";

void cli_format_count(double v, char *buf, size_t size)
{
    const char *unit[] = {"", " K", " M", " G", " T"};
    int u = 0;
    while (v >= 1000.0 && u < 4) {
        v /= 1000.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%.0f", v);
    else
        snprintf(buf, size, "%.2f%s", v, unit[u]);
}

void cli_format_bytes(double v, char *buf, size_t size)
{
    const char *unit[] = {"B", "KiB", "MiB", "GiB"};
    int u = 0;
    while (v >= 1024.0 && u < 3) {
        v /= 1024.0;
        u++;
    }
    snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

static void print_tensor_line(const graph_tensor *t)
{
    char shape[200];
    graph_shape_format(&t->shape, shape, sizeof shape);
    printf("  %-24s %-8s %s\n", t->name, graph_dtype_name(t->dtype), shape);
}

void cli_model_params(const graph *g, int64_t *params, int64_t *param_bytes, int *n_init)
{
    *params = *param_bytes = 0;
    *n_init = 0;
    for (int t = 0; t < g->n_tensors; t++) {
        const graph_tensor *tt = &g->tensors[t];
        if (tt->kind != GRAPH_TENSOR_INITIALIZER)
            continue;
        int64_t n = 1;
        for (int d = 0; d < tt->shape.rank; d++)
            n *= tt->shape.dims[d];
        ++*n_init;
        *param_bytes += n * (int64_t)graph_dtype_size(tt->dtype);
        if (tt->dtype == GRAPH_DT_FLOAT || tt->dtype == GRAPH_DT_DOUBLE)
            *params += n;
    }
}

/* Plans the graph with every symbolic dimension set to 1 and sums FLOPs. */
ssdc_status cli_per_sample_flops(const graph *g, int64_t *flops, rt_plan_stats *stats,
                                    ssdc_error *err)
{
    graph_value *in = calloc((size_t)(g->n_inputs ? g->n_inputs : 1), sizeof *in);
    if (!in)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    ssdc_status st = SSDC_OK;
    for (int i = 0; i < g->n_inputs && !st; i++) {
        const graph_tensor *t = &g->tensors[g->inputs[i]];
        if (t->shape.rank < 0) {
            st = ssdc_fail(err, SSDC_ERR_SHAPE, "input '%s' has no declared shape", t->name);
            break;
        }
        int64_t dims[GRAPH_MAX_RANK];
        for (int d = 0; d < t->shape.rank; d++)
            dims[d] = t->shape.dims[d] >= 0 ? t->shape.dims[d] : 1;
        graph_value_set_shape(&in[i], t->dtype, t->shape.rank, dims);
        if (in[i].numel > SSDC_MAX_TENSOR_ELEMS) {
            st = ssdc_fail(err, SSDC_ERR_LIMIT, "input '%s' is too large", t->name);
            break;
        }
        in[i].data = calloc((size_t)in[i].numel + 1, graph_dtype_size(t->dtype));
        if (!in[i].data)
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    }
    rt_plan *p = NULL;
    if (!st)
        st = rt_plan_create(g, in, NULL, &p, err);
    if (!st) {
        int64_t total = 0;
        for (int n = 0; n < g->n_nodes; n++)
            total += rt_plan_node_flops(p, n);
        *flops = total;
        rt_plan_get_stats(p, stats);
    }
    rt_plan_free(p);
    for (int i = 0; i < g->n_inputs; i++)
        free(in[i].data);
    free(in);
    return st;
}

int cli_inspect(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(inspect_usage, stdout);
            return 0;
        }
        if (argv[i][0] == '-' && argv[i][1])
            return cli_usage_error("inspect", "unknown option '%s'", argv[i]);
        if (path)
            return cli_usage_error("inspect", "more than one model given");
        path = argv[i];
    }
    if (!path)
        return cli_usage_error("inspect", "no model given");
    ssdc_error err = {0};
    graph *g = NULL;
    if (onnx_import_file(path, &g, &err))
        return cli_error(&err);
    if (graph_infer_shapes(g, &err)) {
        ssdc_error_prefix(&err, "%s", path);
        graph_free(g);
        return cli_error(&err);
    }
    printf("model: %s\n", path);
    printf("  ir_version %lld, opset %lld, producer %s %s, %d nodes\n", (long long)g->ir_version,
           (long long)g->opset, g->producer_name[0] ? g->producer_name : "(unknown)",
           g->producer_version, g->n_nodes);
    printf("inputs:\n");
    for (int i = 0; i < g->n_inputs; i++)
        print_tensor_line(&g->tensors[g->inputs[i]]);
    printf("outputs:\n");
    for (int i = 0; i < g->n_outputs; i++)
        print_tensor_line(&g->tensors[g->outputs[i]]);

    /* op histogram, in order of first appearance */
    printf("ops:\n");
    bool *seen = calloc((size_t)g->n_nodes + 1, sizeof *seen);
    for (int i = 0; seen && i < g->n_nodes; i++) {
        if (seen[i])
            continue;
        int count = 0;
        for (int j = i; j < g->n_nodes; j++) {
            if (!strcmp(g->nodes[j].op_type, g->nodes[i].op_type) &&
                !strcmp(g->nodes[j].domain, g->nodes[i].domain)) {
                seen[j] = true;
                count++;
            }
        }
        printf("  %-24s %d\n", g->nodes[i].op_type, count);
    }
    free(seen);

    int64_t params = 0, param_bytes = 0;
    int n_init = 0;
    cli_model_params(g, &params, &param_bytes, &n_init);
    char cnt[32], bytes[32];
    cli_format_count((double)params, cnt, sizeof cnt);
    cli_format_bytes((double)param_bytes, bytes, sizeof bytes);
    printf("parameters: %lld (%s) float values, %s in %d initializers\n", (long long)params, cnt,
           bytes, n_init);

    int bad = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (!graph_op_schema_get(g->nodes[i].op) || !rt_kernel_get(g->nodes[i].op))
            bad++;
    if (!bad) {
        int64_t flops = 0;
        rt_plan_stats stats;
        ssdc_error ferr = {0};
        if (cli_per_sample_flops(g, &flops, &stats, &ferr) == SSDC_OK) {
            char f[32], a[32];
            cli_format_count((double)flops, f, sizeof f);
            cli_format_bytes((double)stats.arena_bytes, a, sizeof a);
            printf("FLOPs per sample: %lld (%s)\n", (long long)flops, f);
            printf("activation memory per sample: %s arena\n", a);
            printf("unsupported nodes: none\n");
        } else {
            printf("FLOPs per sample: unknown\n");
            printf("cannot plan the model: %s\n", ferr.msg);
            graph_free(g);
            return 1;
        }
    } else {
        printf("FLOPs per sample: unknown (the model has unsupported nodes)\n");
        printf("unsupported nodes: %d\n", bad);
        for (int i = 0; i < g->n_nodes; i++) {
            const graph_node *n = &g->nodes[i];
            if (graph_op_schema_get(n->op) && rt_kernel_get(n->op))
                continue;
            printf("  '%s' (%s%s%s)\n", n->name, n->domain[0] ? n->domain : "",
                   n->domain[0] ? "::" : "", n->op_type);
        }
    }
    graph_free(g);
    return 0;
}

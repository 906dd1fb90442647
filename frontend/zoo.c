#include "frontend/zoo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    graph *g;
    uint64_t rng;
} zoo;

static float uniform_pm(zoo *z, float bound)
{
    uint64_t x = (z->rng += 0x9e3779b97f4a7c15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    x ^= x >> 31;
    double u = (double)(x >> 11) / 9007199254740992.0;
    return (float)((2.0 * u - 1.0) * bound);
}

static ssdc_status init_tensor(zoo *z, const char *name, int rank, const int64_t *dims, float bound,
                               float fill, int *t, ssdc_error *err)
{
    int64_t n = 1;
    for (int d = 0; d < rank; d++)
        n *= dims[d];
    float *v = malloc((size_t)n * sizeof *v);
    if (!v)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < n; i++)
        v[i] = bound > 0 ? uniform_pm(z, bound) : fill;
    return graph_add_initializer(z->g, name, GRAPH_DT_FLOAT, rank, dims, v, t, err);
}

static ssdc_status tensor(zoo *z, const char *name, int *t, ssdc_error *err)
{
    return graph_add_tensor(z->g, name, GRAPH_DT_UNDEFINED, NULL, GRAPH_TENSOR_INTERMEDIATE, t, err);
}

/* Conv(k, pad k/2) + BatchNormalization + Relu */
static ssdc_status conv_block(zoo *z, int idx, int x, int64_t cin, int64_t cout, int64_t k, int *y,
                              ssdc_error *err)
{
    char n[64], w[64], b[64];
    int wt, bt, sc, bb, mu, var, c, bn;
    snprintf(w, sizeof w, "conv%d.weight", idx);
    snprintf(b, sizeof b, "conv%d.bias", idx);
    float bound = 1.0f / sqrtf((float)(cin * k));
    int64_t wd[3] = {cout, cin, k}, cd[1] = {cout};
    ssdc_status st;
    if ((st = init_tensor(z, w, 3, wd, bound, 0, &wt, err)) ||
        (st = init_tensor(z, b, 1, cd, bound, 0, &bt, err)))
        return st;
    snprintf(n, sizeof n, "bn%d.weight", idx);
    if ((st = init_tensor(z, n, 1, cd, 0, 1.0f, &sc, err)))
        return st;
    snprintf(n, sizeof n, "bn%d.bias", idx);
    if ((st = init_tensor(z, n, 1, cd, 0, 0.0f, &bb, err)))
        return st;
    snprintf(n, sizeof n, "bn%d.running_mean", idx);
    if ((st = init_tensor(z, n, 1, cd, 0, 0.0f, &mu, err)))
        return st;
    snprintf(n, sizeof n, "bn%d.running_var", idx);
    if ((st = init_tensor(z, n, 1, cd, 0, 1.0f, &var, err)))
        return st;
    snprintf(n, sizeof n, "/conv%d/Conv_output_0", idx);
    if ((st = tensor(z, n, &c, err)))
        return st;
    snprintf(n, sizeof n, "/bn%d/BatchNormalization_output_0", idx);
    if ((st = tensor(z, n, &bn, err)))
        return st;
    snprintf(n, sizeof n, "/relu%d/Relu_output_0", idx);
    if ((st = tensor(z, n, y, err)))
        return st;
    int node, cin3[3] = {x, wt, bt}, bin[5] = {c, sc, bb, mu, var};
    snprintf(n, sizeof n, "/conv%d/Conv", idx);
    if ((st = graph_add_node(z->g, n, "Conv", "", 3, cin3, 1, &c, &node, err)) ||
        (st = graph_node_set_ints(z->g, node, "kernel_shape", (int64_t[]){k}, 1, err)) ||
        (st = graph_node_set_ints(z->g, node, "pads", (int64_t[]){k / 2, k / 2}, 2, err)))
        return st;
    snprintf(n, sizeof n, "/bn%d/BatchNormalization", idx);
    if ((st = graph_add_node(z->g, n, "BatchNormalization", "", 5, bin, 1, &bn, &node, err)) ||
        (st = graph_node_set_float(z->g, node, "epsilon", 1e-5f, err)) ||
        (st = graph_node_set_float(z->g, node, "momentum", 0.9f, err)))
        return st;
    snprintf(n, sizeof n, "/relu%d/Relu", idx);
    return graph_add_node(z->g, n, "Relu", "", 1, &bn, 1, y, NULL, err);
}

ssdc_status zoo_cnn1d(int64_t channels, int64_t length, int n_classes, float dropout,
                      uint64_t seed, graph **out, ssdc_error *err)
{
    *out = NULL;
    if (channels < 1 || length < 1 || n_classes < 2 || !(dropout >= 0 && dropout < 1))
        return ssdc_fail(err, SSDC_ERR_ARG, "zoo cnn1d: bad size (channels %lld, length %lld, "
                                            "classes %d, dropout %g)",
                         (long long)channels, (long long)length, n_classes, dropout);
    zoo z = {.g = graph_new(), .rng = seed ^ 0x2001d0c11ull};
    if (!z.g)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    graph *g = z.g;
    g->opset = 13;
    g->ir_version = 7;
    free(g->name);
    g->name = graph_strdup("cnn1d");
    free(g->producer_name);
    g->producer_name = graph_strdup("ssdc zoo");
    ssdc_status st;
    graph_shape xs;
    int64_t xd[3] = {-1, channels, length};
    graph_shape_init(&xs, 3, xd);
    snprintf(xs.sym[0], GRAPH_SYM_MAX, "batch");
    int x, h1, h2, h3, d, gap, flat, wt, bt, logits, ratio;
    if ((st = graph_add_tensor(g, "input", GRAPH_DT_FLOAT, &xs, GRAPH_TENSOR_INPUT, &x, err)) ||
        (st = graph_add_input(g, x, err)) ||
        (st = conv_block(&z, 1, x, channels, 16, 7, &h1, err)) ||
        (st = conv_block(&z, 2, h1, 16, 32, 5, &h2, err)) ||
        (st = conv_block(&z, 3, h2, 32, 32, 3, &h3, err)))
        goto fail;
    int feat_in = h3;
    if (dropout > 0) {
        float *r = malloc(sizeof *r);
        if (!r) {
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
            goto fail;
        }
        *r = dropout;
        if ((st = graph_add_initializer(g, "dropout.ratio", GRAPH_DT_FLOAT, 0, NULL, r, &ratio, err)) ||
            (st = tensor(&z, "/dropout/Dropout_output_0", &d, err)))
            goto fail;
        int din[2] = {h3, ratio};
        if ((st = graph_add_node(g, "/dropout/Dropout", "Dropout", "", 2, din, 1, &d, NULL, err)))
            goto fail;
        feat_in = d;
    }
    if ((st = tensor(&z, "/pool/GlobalAveragePool_output_0", &gap, err)) ||
        (st = graph_add_node(g, "/pool/GlobalAveragePool", "GlobalAveragePool", "", 1, &feat_in, 1,
                             &gap, NULL, err)) ||
        (st = tensor(&z, "/Flatten_output_0", &flat, err)))
        goto fail;
    int node;
    if ((st = graph_add_node(g, "/Flatten", "Flatten", "", 1, &gap, 1, &flat, &node, err)) ||
        (st = graph_node_set_int(g, node, "axis", 1, err)))
        goto fail;
    float bound = 1.0f / sqrtf(32.0f);
    int64_t wd[2] = {n_classes, 32}, bd[1] = {n_classes};
    if ((st = init_tensor(&z, "fc.weight", 2, wd, bound, 0, &wt, err)) ||
        (st = init_tensor(&z, "fc.bias", 1, bd, bound, 0, &bt, err)))
        goto fail;
    graph_shape ls;
    int64_t ld[2] = {-1, n_classes};
    graph_shape_init(&ls, 2, ld);
    snprintf(ls.sym[0], GRAPH_SYM_MAX, "batch");
    if ((st = graph_add_tensor(g, "logits", GRAPH_DT_FLOAT, &ls, GRAPH_TENSOR_INTERMEDIATE, &logits,
                               err)))
        goto fail;
    int gin[3] = {flat, wt, bt};
    if ((st = graph_add_node(g, "/fc/Gemm", "Gemm", "", 3, gin, 1, &logits, &node, err)) ||
        (st = graph_node_set_int(g, node, "transB", 1, err)) ||
        (st = graph_add_output(g, logits, err)) || (st = graph_validate(g, err)) ||
        (st = graph_infer_shapes(g, err)))
        goto fail;
    *out = g;
    return SSDC_OK;
fail:
    graph_free(g);
    return st;
}

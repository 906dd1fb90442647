/* Gemm forward: Y = alpha * op(A) * op(B) + beta * C with one cblas_sgemm;
 * beta * C is broadcast into Y first and accumulated into. */
#include "runtime/kernel.h"

#include <cblas.h>
#include <string.h>

/* y[M, N] = beta * C broadcast (C rank 0, 1 or 2, dims 1 or matching). */
static void gemm_fill_c(float *y, int64_t m, int64_t n, const graph_value *c, float beta)
{
    const float *cd = c->data;
    int64_t c_rows = c->rank == 2 ? c->dims[0] : 1;
    int64_t c_cols = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
    for (int64_t i = 0; i < m; i++) {
        const float *crow = cd + (c_rows == 1 ? 0 : i) * c_cols;
        float *yrow = y + i * n;
        if (c_cols == 1) {
            const float v = beta * crow[0];
            for (int64_t j = 0; j < n; j++)
                yrow[j] = v;
        } else if (beta == 1.0f) {
            memcpy(yrow, crow, (size_t)n * sizeof *yrow);
        } else {
            for (int64_t j = 0; j < n; j++)
                yrow[j] = beta * crow[j];
        }
    }
}

static ssdc_status gemm_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                graph_value *out, int n_out, ssdc_error *err)
{
    const graph_value *a = &in[0], *b = &in[1];
    const graph_value *c = n_in > 2 && in[2].dtype != GRAPH_DT_UNDEFINED ? &in[2] : NULL;
    graph_value *y = &out[0];
    if (a->dtype != GRAPH_DT_FLOAT || b->dtype != GRAPH_DT_FLOAT ||
        (c && c->dtype != GRAPH_DT_FLOAT) || y->dtype != GRAPH_DT_FLOAT)
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED,
                              "only float tensors are supported (A is %s, B is %s)",
                              graph_dtype_name(a->dtype), graph_dtype_name(b->dtype));
    if (a->rank != 2 || b->rank != 2 || y->rank != 2)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "A and B must have rank 2 (have %d and %d)",
                              a->rank, b->rank);
    bool ta = graph_attr_int(ctx->node, "transA", 0) != 0;
    bool tb = graph_attr_int(ctx->node, "transB", 0) != 0;
    float alpha = graph_attr_float(ctx->node, "alpha", 1.0f);
    float beta = graph_attr_float(ctx->node, "beta", 1.0f);
    int64_t m = ta ? a->dims[1] : a->dims[0], k = ta ? a->dims[0] : a->dims[1];
    int64_t kb = tb ? b->dims[1] : b->dims[0], n = tb ? b->dims[0] : b->dims[1];
    if (k != kb || y->dims[0] != m || y->dims[1] != n)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                              "A is %lldx%lld, B %lldx%lld, Y %lldx%lld (after transposes: M=%lld "
                              "K=%lld, K=%lld N=%lld)",
                              (long long)a->dims[0], (long long)a->dims[1], (long long)b->dims[0],
                              (long long)b->dims[1], (long long)y->dims[0],
                              (long long)y->dims[1], (long long)m, (long long)k, (long long)kb,
                              (long long)n);
    if (c) {
        bool ok = c->rank <= 2;
        for (int d = 0; ok && d < c->rank; d++) {
            int64_t want = c->rank - d == 1 ? n : m;
            ok = c->dims[d] == 1 || c->dims[d] == want;
        }
        if (!ok)
            return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                                  "C (rank %d) cannot be broadcast to [%lld, %lld]", c->rank,
                                  (long long)m, (long long)n);
    }
    if (m == 0 || n == 0)
        return SSDC_OK;
    float *yd = y->data;
    float gemm_beta = 0.0f;
    if (c && beta != 0.0f && c->numel > 0) {
        gemm_fill_c(yd, m, n, c, beta);
        gemm_beta = 1.0f;
    } else if (k == 0) {
        memset(yd, 0, (size_t)(m * n) * sizeof *yd);
    }
    if (k == 0)
        return SSDC_OK;
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (int)m, (int)n, (int)k, alpha, a->data, (int)a->dims[1], b->data, (int)b->dims[1],
                gemm_beta, yd, (int)n);
    return SSDC_OK;
}

const rt_kernel rt_kernel_gemm = {
    .forward = gemm_forward,
};

/* MatMul forward (numpy semantics).  One cblas_sgemm over all rows when B
 * has no batch and A is not broadcast; otherwise one sgemm (or sgemv for a
 * vector operand) per output batch, operands located by broadcast strides. */
#include "runtime/kernel.h"

#include <cblas.h>
#include <string.h>

/* C[m, n] = A[m, k] * B[k, n], all row-major and contiguous, m, n, k >= 1. */
static void matmul_block(const float *a, const float *b, float *c, int64_t m, int64_t n,
                         int64_t k)
{
    if (m == 1)
        cblas_sgemv(CblasRowMajor, CblasTrans, (int)k, (int)n, 1.0f, b, (int)n, a, 1, 0.0f, c, 1);
    else if (n == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)k, 1.0f, a, (int)k, b, 1, 0.0f, c,
                    1);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1.0f, a,
                    (int)k, b, (int)n, 0.0f, c, (int)n);
}

static ssdc_status matmul_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                  graph_value *out, int n_out, ssdc_error *err)
{
    const graph_value *a = &in[0], *b = &in[1];
    graph_value *y = &out[0];
    if (a->dtype != GRAPH_DT_FLOAT || b->dtype != GRAPH_DT_FLOAT || y->dtype != GRAPH_DT_FLOAT)
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED,
                              "only float tensors are supported (A is %s, B is %s)",
                              graph_dtype_name(a->dtype), graph_dtype_name(b->dtype));
    if (a->rank < 1 || b->rank < 1)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "operands must have rank >= 1");
    int64_t m = a->rank > 1 ? a->dims[a->rank - 2] : 1, k = a->dims[a->rank - 1];
    int64_t kb = b->rank > 1 ? b->dims[b->rank - 2] : b->dims[0];
    int64_t n = b->rank > 1 ? b->dims[b->rank - 1] : 1;
    int nba = a->rank > 2 ? a->rank - 2 : 0, nbb = b->rank > 2 ? b->rank - 2 : 0;
    int nb = nba > nbb ? nba : nbb;
    int want_rank = nb + (a->rank > 1) + (b->rank > 1);
    if (k != kb || y->rank != want_rank)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                              "K of A is %lld, of B %lld; output rank %d, expected %d",
                              (long long)k, (long long)kb, y->rank, want_rank);
    /* Broadcast batch dims; strides in units of whole matrices, 0 = broadcast. */
    int64_t bdims[GRAPH_MAX_RANK], sa[GRAPH_MAX_RANK], sb[GRAPH_MAX_RANK];
    int64_t batch = 1, batch_a = 1, batch_b = 1;
    for (int d = nb - 1, ra = 1, rb = 1; d >= 0; d--) {
        int ia = d - (nb - nba), ib = d - (nb - nbb);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                                  "batch dimensions %lld and %lld cannot be broadcast",
                                  (long long)da, (long long)db);
        bdims[d] = da == 1 ? db : da;
        if (y->dims[d] != bdims[d])
            return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "output batch dimension %d is %lld, "
                                  "expected %lld", d, (long long)y->dims[d], (long long)bdims[d]);
        sa[d] = da == 1 ? 0 : ra;
        sb[d] = db == 1 ? 0 : rb;
        ra *= (int)da;
        rb *= (int)db;
        batch *= bdims[d];
        batch_a *= da;
        batch_b *= db;
    }
    if (y->numel == 0)
        return SSDC_OK;
    float *yd = y->data;
    if (k == 0) {
        memset(yd, 0, (size_t)y->numel * sizeof *yd);
        return SSDC_OK;
    }
    const float *ad = a->data, *bd = b->data;
    if (batch_b == 1 && batch_a == batch) {
        /* A's rows flatten into one matrix: [batch * m, k] x [k, n]. */
        matmul_block(ad, bd, yd, batch * m, n, k);
        return SSDC_OK;
    }
    int64_t idx[GRAPH_MAX_RANK] = {0};
    int64_t off_a = 0, off_b = 0;
    for (int64_t i = 0; i < batch; i++) {
        matmul_block(ad + off_a * m * k, bd + off_b * k * n, yd + i * m * n, m, n, k);
        for (int d = nb - 1; d >= 0; d--) {   /* advance the batch counter */
            off_a += sa[d];
            off_b += sb[d];
            if (++idx[d] < bdims[d])
                break;
            off_a -= sa[d] * bdims[d];
            off_b -= sb[d] * bdims[d];
            idx[d] = 0;
        }
    }
    return SSDC_OK;
}

const rt_kernel rt_kernel_matmul = {
    .forward = matmul_forward,
};

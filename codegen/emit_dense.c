/* Emitters of Gemm and MatMul.
 *
 * With constant weights (the usual case) the weights are stored in the
 * layout the loop wants: [K][N] for the row form
 *
 *   y[j] += a0 * B[k][j] + a1 * B[k+1][j] + ... (8 rows of B per pass, lanes over j)
 *
 * and [N][K] for narrow outputs (N < 8), where each output is a dot product
 * with eight independent partial sums (lanes over k) that compilers turn into
 * one vector accumulator without reassociating.  Semantics follow
 * runtime/kernels/gemm.c and runtime/kernels/matmul.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/emitter.h"

#define KB 8 /* rows of B per statement (row form), lanes (dot form) */

/* Transposed copy of a [R][C] matrix. */
static float *transpose(const float *src, int64_t R, int64_t C)
{
    float *t = malloc((size_t)(R * C > 0 ? R * C : 1) * sizeof *t);
    if (!t)
        return NULL;
    for (int64_t r = 0; r < R; r++)
        for (int64_t k = 0; k < C; k++)
            t[k * R + r] = src[r * C + k];
    return t;
}

/* One row of output: y[0..N) (+)= sum_k a[k] * B[k][j], B laid out [K][N]
 * (bkn) or [N][K] (bnk).  a(k) is the text of A's element k for this row
 * (format with one %s for the k expression). */
typedef struct {
    const char *y;        /* output row pointer expression */
    const char *a;        /* A row pointer expression (contiguous in k) */
    const char *b;        /* B array */
    int64_t N, K;
    bool dot;             /* B is [N][K]: dot form */
} row_job;

static void emit_row_form(cg_ctx *c, const row_job *j, int ind)
{
    int64_t full = j->K / KB * KB;
    if (full > 0) {
        cg_printf(c, "%*sfor (int k = 0; k < %lld; k += %d) {\n", ind, "", (long long)full, KB);
        for (int t = 0; t < KB; t++)
            cg_printf(c, "%*sconst float a%d = %s[k + %d];\n", ind + 4, "", t, j->a, t);
        cg_printf(c, "%*sconst float *b = %s + k * %lld;\n", ind + 4, "", j->b, (long long)j->N);
        cg_printf(c, "%*sfor (int n = 0; n < %lld; n++)\n", ind + 4, "", (long long)j->N);
        cg_printf(c, "%*s%s[n] += a0 * b[n]", ind + 8, "", j->y);
        for (int t = 1; t < KB; t++) {
            if (t % 3 == 0)
                cg_printf(c, " +\n%*s", ind + 12, "");
            else
                cg_printf(c, " + ");
            cg_printf(c, "a%d * b[%lld + n]", t, (long long)(t * j->N));
        }
        cg_printf(c, ";\n%*s}\n", ind, "");
    }
    if (j->K > full) {
        cg_printf(c, "%*s{\n", ind, "");
        for (int64_t t = full; t < j->K; t++)
            cg_printf(c, "%*sconst float a%lld = %s[%lld];\n", ind + 4, "", (long long)(t - full),
                      j->a, (long long)t);
        cg_printf(c, "%*sconst float *b = %s + %lld;\n", ind + 4, "", j->b,
                  (long long)(full * j->N));
        cg_printf(c, "%*sfor (int n = 0; n < %lld; n++)\n", ind + 4, "", (long long)j->N);
        cg_printf(c, "%*s%s[n] +=", ind + 8, "", j->y);
        for (int64_t t = 0; t < j->K - full; t++)
            cg_printf(c, "%s a%lld * b[%lld + n]", t ? " +" : "", (long long)t,
                      (long long)(t * j->N));
        cg_printf(c, ";\n%*s}\n", ind, "");
    }
}

static void emit_dot_form(cg_ctx *c, const row_job *j, int ind)
{
    int64_t full = j->K / KB * KB;
    cg_printf(c, "%*sfor (int n = 0; n < %lld; n++) {\n", ind, "", (long long)j->N);
    ind += 4;
    cg_printf(c, "%*sconst float *b = %s + n * %lld;\n", ind, "", j->b, (long long)j->K);
    cg_printf(c, "%*sfloat s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f, s4 = 0.0f, s5 = 0.0f, "
                 "s6 = 0.0f, s7 = 0.0f;\n",
              ind, "");
    if (full > 0) {
        cg_printf(c, "%*sfor (int k = 0; k < %lld; k += 8) {\n", ind, "", (long long)full);
        for (int t = 0; t < KB; t++)
            cg_printf(c, "%*ss%d += %s[k + %d] * b[k + %d];\n", ind + 4, "", t, j->a, t, t);
        cg_printf(c, "%*s}\n", ind, "");
    }
    for (int64_t t = full; t < j->K; t++)
        cg_printf(c, "%*ss%lld += %s[%lld] * b[%lld];\n", ind, "", (long long)(t - full), j->a,
                  (long long)t, (long long)t);
    cg_printf(c, "%*s%s[n] += ((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7));\n", ind, "", j->y);
    ind -= 4;
    cg_printf(c, "%*s}\n", ind, "");
}

/* ---- Gemm ---- */

static bool check_gemm(const cg_ctx *c, const cg_node *n, char *why, size_t size)
{
    (void)c;
    if (n->in[0]->rank != 2 || n->in[1]->rank != 2) {
        snprintf(why, size, "A and B must have rank 2");
        return false;
    }
    if (n->n_in > 2 && n->in[2] && n->in[2]->rank > 2) {
        snprintf(why, size, "C has rank %d", n->in[2]->rank);
        return false;
    }
    return true;
}

static ssdc_status emit_gemm(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    const graph_value *a = n->in[0], *b = n->in[1];
    const graph_value *cv = n->n_in > 2 && n->in[2] && n->in[2]->numel > 0 ? n->in[2] : NULL;
    bool ta = graph_attr_int(n->node, "transA", 0) != 0;
    bool tb = graph_attr_int(n->node, "transB", 0) != 0;
    float alpha = graph_attr_float(n->node, "alpha", 1.0f);
    float beta = graph_attr_float(n->node, "beta", 1.0f);
    int64_t M = ta ? a->dims[1] : a->dims[0], K = ta ? a->dims[0] : a->dims[1];
    int64_t N = tb ? b->dims[0] : b->dims[1];
    const char *Y = cg_out(c, n, 0), *A = cg_in(c, n, 0);
    if (M * N == 0)
        return SSDC_OK;
    if (beta == 0.0f)
        cv = NULL;
    /* C term of element (i, j) */
    char cterm[300] = "0.0f";
    if (cv) {
        const char *C = cg_in(c, n, 2);
        int64_t rows = cv->rank == 2 ? cv->dims[0] : 1;
        int64_t cols = cv->rank >= 1 ? cv->dims[cv->rank - 1] : 1;
        char idx[120];
        if (rows == 1 && cols == 1)
            snprintf(idx, sizeof idx, "0");
        else if (rows == 1)
            snprintf(idx, sizeof idx, "n");
        else if (cols == 1)
            snprintf(idx, sizeof idx, "i");
        else
            snprintf(idx, sizeof idx, "i * %lld + n", (long long)cols);
        if (beta == 1.0f)
            snprintf(cterm, sizeof cterm, "%s[%s]", C, idx);
        else
            snprintf(cterm, sizeof cterm, "%s * %s[%s]", cg_flit(c, beta), C, idx);
    }
    bool fast = n->in_const[1] && !ta && K > 0;
    cg_printf(c, "    for (int i = 0; i < %lld; i++) {\n", (long long)M);
    cg_printf(c, "        float *yr = %s + i * %lld;\n", Y, (long long)N);
    bool scale = alpha != 1.0f;
    cg_printf(c, "        for (int n = 0; n < %lld; n++)\n            yr[n] = %s;\n", (long long)N,
              scale ? "0.0f" : cterm);
    if (K > 0 && fast) {
        bool dot = N < 8 && K >= 16;
        const float *bd = b->data;
        float *lay = NULL;
        /* dot form wants [N][K] (transB layout), row form [K][N] */
        if (dot != tb) {
            lay = transpose(bd, b->dims[0], b->dims[1]);
            if (!lay)
                return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        }
        const char *B = lay ? cg_add_const(c, dot ? "weights_NxK" : "weights_KxN", lay, N * K)
                            : cg_in(c, n, 1);
        free(lay);
        char arow[160];
        snprintf(arow, sizeof arow, "ar");
        cg_printf(c, "        const float *ar = %s + i * %lld;\n", A, (long long)K);
        row_job j = {"yr", arow, B, N, K, dot};
        if (dot)
            emit_dot_form(c, &j, 8);
        else
            emit_row_form(c, &j, 8);
    } else if (K > 0) {
        const char *B = cg_in(c, n, 1);
        cg_printf(c, "        for (int k = 0; k < %lld; k++) {\n", (long long)K);
        if (ta)
            cg_printf(c, "            const float av = %s[k * %lld + i];\n", A, (long long)M);
        else
            cg_printf(c, "            const float av = %s[i * %lld + k];\n", A, (long long)K);
        cg_printf(c, "            for (int n = 0; n < %lld; n++)\n", (long long)N);
        if (tb)
            cg_printf(c, "                yr[n] += av * %s[n * %lld + k];\n", B, (long long)K);
        else
            cg_printf(c, "                yr[n] += av * %s[k * %lld + n];\n", B, (long long)N);
        cg_printf(c, "        }\n");
    }
    if (scale)
        cg_printf(c, "        for (int n = 0; n < %lld; n++)\n            yr[n] = %s * yr[n] + %s;\n",
                  (long long)N, cg_flit(c, alpha), cterm);
    cg_printf(c, "    }\n");
    return SSDC_OK;
}
const codegen_emitter codegen_emitter_gemm = {check_gemm, emit_gemm, 0};

/* ---- MatMul ---- */

static ssdc_status emit_matmul(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    const graph_value *a = n->in[0], *b = n->in[1], *y = n->out[0];
    int64_t M = a->rank > 1 ? a->dims[a->rank - 2] : 1, K = a->dims[a->rank - 1];
    int64_t N = b->rank > 1 ? b->dims[b->rank - 1] : 1;
    int nba = a->rank > 2 ? a->rank - 2 : 0, nbb = b->rank > 2 ? b->rank - 2 : 0;
    int nb = nba > nbb ? nba : nbb;
    int64_t bdims[GRAPH_MAX_RANK], sa[GRAPH_MAX_RANK], sb[GRAPH_MAX_RANK];
    int64_t batch = 1, batch_b = 1, batch_a = 1;
    for (int d = nb - 1, ra = 1, rb = 1; d >= 0; d--) {
        int ia = d - (nb - nba), ib = d - (nb - nbb);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        bdims[d] = da == 1 ? db : da;
        sa[d] = da == 1 ? 0 : ra;
        sb[d] = db == 1 ? 0 : rb;
        ra *= (int)da;
        rb *= (int)db;
        batch *= bdims[d];
        batch_a *= da;
        batch_b *= db;
    }
    const char *Y = cg_out(c, n, 0), *A = cg_in(c, n, 0);
    if (y->numel == 0)
        return SSDC_OK;
    if (K == 0) {
        cg_printf(c, "    memset(%s, 0, (size_t)%lld * sizeof(float));\n", Y, (long long)y->numel);
        return SSDC_OK;
    }
    if (batch_b == 1 && batch_a == batch && n->in_const[1]) {
        /* [batch * M, K] x [K, N] with constant B */
        int64_t rows = batch * M;
        bool dot = N < 8 && K >= 16;
        const char *B;
        if (dot) {
            float *lay = transpose(b->data, K, N);
            if (!lay)
                return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
            B = cg_add_const(c, "weights_NxK", lay, N * K);
            free(lay);
        } else {
            B = cg_in(c, n, 1);
        }
        cg_printf(c, "    for (int i = 0; i < %lld; i++) {\n", (long long)rows);
        cg_printf(c, "        float *yr = %s + i * %lld;\n", Y, (long long)N);
        cg_printf(c, "        const float *ar = %s + i * %lld;\n", A, (long long)K);
        cg_printf(c, "        for (int n = 0; n < %lld; n++)\n            yr[n] = 0.0f;\n",
                  (long long)N);
        row_job j = {"yr", "ar", B, N, K, dot};
        if (dot)
            emit_dot_form(c, &j, 8);
        else
            emit_row_form(c, &j, 8);
        cg_printf(c, "    }\n");
        return SSDC_OK;
    }
    const char *B = cg_in(c, n, 1);
    /* batch offsets (in matrices) of A and B per output batch */
    if (batch > 1) {
        int64_t idx[GRAPH_MAX_RANK] = {0}, oa = 0, ob = 0;
        cg_printf(c, "    static const int32_t offa[%lld] = {", (long long)batch);
        char *tb = malloc((size_t)batch * 24 + 64);
        size_t tl = 0;
        if (!tb)
            return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        tb[0] = 0;
        for (int64_t i = 0; i < batch; i++) {
            cg_printf(c, "%s%lld", i ? ", " : "", (long long)oa);
            tl += (size_t)snprintf(tb + tl, 24, "%s%lld", i ? ", " : "", (long long)ob);
            for (int d = nb - 1; d >= 0; d--) {
                oa += sa[d];
                ob += sb[d];
                if (++idx[d] < bdims[d])
                    break;
                oa -= sa[d] * bdims[d];
                ob -= sb[d] * bdims[d];
                idx[d] = 0;
            }
        }
        cg_printf(c, "};\n    static const int32_t offb[%lld] = {%s};\n", (long long)batch, tb);
        free(tb);
    }
    cg_printf(c, "    for (int q = 0; q < %lld; q++) {\n", (long long)batch);
    if (batch > 1) {
        cg_printf(c, "        const float *am = %s + offa[q] * %lld;\n", A, (long long)(M * K));
        cg_printf(c, "        const float *bm = %s + offb[q] * %lld;\n", B, (long long)(K * N));
    } else {
        cg_printf(c, "        const float *am = %s;\n        const float *bm = %s;\n", A, B);
    }
    cg_printf(c, "        float *ym = %s + q * %lld;\n", Y, (long long)(M * N));
    cg_printf(c, "        for (int i = 0; i < %lld; i++) {\n", (long long)M);
    cg_printf(c, "            float *yr = ym + i * %lld;\n", (long long)N);
    cg_printf(c, "            for (int n = 0; n < %lld; n++)\n                yr[n] = 0.0f;\n",
              (long long)N);
    cg_printf(c, "            for (int k = 0; k < %lld; k++) {\n", (long long)K);
    cg_printf(c, "                const float av = am[i * %lld + k];\n", (long long)K);
    cg_printf(c, "                for (int n = 0; n < %lld; n++)\n", (long long)N);
    cg_printf(c, "                    yr[n] += av * bm[k * %lld + n];\n", (long long)N);
    cg_printf(c, "            }\n        }\n    }\n");
    return SSDC_OK;
}
const codegen_emitter codegen_emitter_matmul = {NULL, emit_matmul, 0};

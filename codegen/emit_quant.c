/* Emitters of the integer ops and the quantize/dequantize helpers
 * (docs/int8.md).  The fixed point of graph/qmath.h is emitted once per
 * generated .c as static inline text (cg_qmath_emit), names prefixed with
 * the model prefix, the same arithmetic as the runtime's integer kernels. */
#include <stdio.h>
#include <string.h>

#include "codegen/emitter.h"
#include "graph/ops/window.h"

/* The text of graph/qmath.h's qmath_srdhm, qmath_rdivpot, qmath_mul and
 * qmath_clamp, and of a libm-free round-half-even quantize, prefixed P_. */
void cg_qmath_emit(cg_buf *b, const char *p)
{
    cg_buf_printf(b,
        "/* Fixed point of TFLite Micro / CMSIS-NN (gemmlowp rounding), as ssdc's runtime. */\n"
        "static inline int32_t %s_srdhm(int32_t a, int32_t b)\n{\n"
        "    int64_t ab, nudge;\n"
        "    if (a == INT32_MIN && b == INT32_MIN)\n        return INT32_MAX;\n"
        "    ab = (int64_t)a * (int64_t)b;\n"
        "    nudge = ab >= 0 ? (INT64_C(1) << 30) : (1 - (INT64_C(1) << 30));\n"
        "    return (int32_t)((ab + nudge) / (INT64_C(1) << 31));\n}\n\n", p);
    cg_buf_printf(b,
        "static inline int32_t %s_rdivpot(int32_t x, int exponent)\n{\n"
        "    int32_t mask = (int32_t)((INT64_C(1) << exponent) - 1);\n"
        "    int32_t remainder = x & mask;\n"
        "    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);\n"
        "    return (x >> exponent) + (remainder > threshold ? 1 : 0);\n}\n\n", p);
    cg_buf_printf(b,
        "static inline int32_t %s_qmul(int32_t x, int32_t m, int shift)\n{\n"
        "    int left = shift > 0 ? shift : 0;\n"
        "    int right = shift > 0 ? 0 : -shift;\n"
        "    int64_t xl = (int64_t)x * (INT64_C(1) << left);\n"
        "    if (xl > INT32_MAX)\n        xl = INT32_MAX;\n"
        "    if (xl < INT32_MIN)\n        xl = INT32_MIN;\n"
        "    return %s_rdivpot(%s_srdhm((int32_t)xl, m), right);\n}\n\n", p, p, p);
    cg_buf_printf(b,
        "static inline int32_t %s_qclamp(int32_t v, int32_t lo, int32_t hi)\n{\n"
        "    return v < lo ? lo : v > hi ? hi : v;\n}\n\n", p);
}

/* The quantize of the boundary: saturate(round_half_even(v / scale) + zp),
 * NaN gives zp (qmath_quantize), without libm. */
void cg_quantize_fn_emit(cg_buf *b, const char *p)
{
    cg_buf_printf(b,
        "static inline int32_t %s_quantize(float v, float scale, int32_t zp, int32_t qmin, int32_t qmax)\n{\n"
        "    float x = v / scale, f;\n"
        "    double t;\n"
        "    int64_t r;\n"
        "    if (x != x)\n        return zp;\n"
        "    if (x > 4.0e9f)\n        return qmax;\n"
        "    if (x < -4.0e9f)\n        return qmin;\n"
        "    t = (double)x;\n"
        "    r = (int64_t)t;\n"
        "    if ((double)r > t)\n        r--;\n"
        "    f = (float)(t - (double)r);\n"
        "    if (f > 0.5f || (f == 0.5f && (r & 1) != 0))\n        r++;\n"
        "    r += zp;\n"
        "    return r < qmin ? qmin : r > qmax ? qmax : (int32_t)r;\n}\n\n", p);
}

/* ---- helpers ---- */

static bool q_scalar_const(const cg_node *n, int i)
{
    return i < n->n_in && n->in[i] && n->in_const[i] && n->in[i]->numel == 1 && n->in[i]->data;
}

static float q_scale(const cg_node *n, int i)
{
    return ((const float *)n->in[i]->data)[0];
}

static int32_t q_zp(const cg_node *n, int i)
{
    if (i >= n->n_in || !n->in[i] || !n->in[i]->data)
        return 0;
    return (int32_t)graph_value_get_i64(n->in[i], 0);
}

static bool check_qdq(const cg_ctx *c, const cg_node *n, char *why, size_t size, bool quant)
{
    (void)c;
    const graph_value *q = quant ? n->out[0] : n->in[0];
    const graph_value *f = quant ? n->in[0] : n->out[0];
    if (!q_scalar_const(n, 1) || (n->n_in > 2 && n->in[2] && !q_scalar_const(n, 2))) {
        snprintf(why, size, "needs a constant per-tensor scale and zero point");
        return false;
    }
    if (q->dtype != GRAPH_DT_INT8 || f->dtype != GRAPH_DT_FLOAT) {
        snprintf(why, size, "handles float <-> int8 only");
        return false;
    }
    return true;
}

static bool check_quantizelinear(const cg_ctx *c, const cg_node *n, char *why, size_t size)
{
    return check_qdq(c, n, why, size, true);
}

static bool check_dequantizelinear(const cg_ctx *c, const cg_node *n, char *why, size_t size)
{
    return check_qdq(c, n, why, size, false);
}

static ssdc_status emit_quantizelinear(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    (void)err;
    const char *p = cg_qmath(c);
    cg_printf(c, "    for (int i = 0; i < %lld; i++)\n", (long long)n->out[0]->numel);
    cg_printf(c, "        %s[i] = (int8_t)%s_quantize(%s[i], %s, %d, -128, 127);\n", cg_out(c, n, 0), p,
              cg_in(c, n, 0), cg_flit(c, q_scale(n, 1)), (int)q_zp(n, 2));
    return SSDC_OK;
}

static ssdc_status emit_dequantizelinear(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    (void)err;
    cg_printf(c, "    for (int i = 0; i < %lld; i++)\n", (long long)n->out[0]->numel);
    cg_printf(c, "        %s[i] = (float)((int32_t)%s[i] - %d) * %s;\n", cg_out(c, n, 0), cg_in(c, n, 0),
              (int)q_zp(n, 2), cg_flit(c, q_scale(n, 1)));
    return SSDC_OK;
}

const codegen_emitter codegen_emitter_quantizelinear = {check_quantizelinear, emit_quantizelinear, CG_TYPED};
const codegen_emitter codegen_emitter_dequantizelinear = {check_dequantizelinear, emit_dequantizelinear,
                                                          CG_TYPED};

static bool check_int8_io(const cg_ctx *c, const cg_node *n, char *why, size_t size)
{
    (void)c;
    if (n->in[0]->dtype != GRAPH_DT_INT8 || n->out[0]->dtype != GRAPH_DT_INT8) {
        snprintf(why, size, "needs int8 input and output");
        return false;
    }
    return true;
}

static bool check_qlut(const cg_ctx *c, const cg_node *n, char *why, size_t size)
{
    if (!check_int8_io(c, n, why, size))
        return false;
    if (n->n_in < 2 || !n->in_const[1] || n->in[1]->numel != 256 || n->in[1]->dtype != GRAPH_DT_INT8) {
        snprintf(why, size, "needs a constant int8 table of 256 entries");
        return false;
    }
    return true;
}

static ssdc_status emit_qlut(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    (void)err;
    cg_printf(c, "    for (int i = 0; i < %lld; i++)\n", (long long)n->out[0]->numel);
    cg_printf(c, "        %s[i] = %s[(int32_t)%s[i] + 128];\n", cg_out(c, n, 0), cg_in(c, n, 1), cg_in(c, n, 0));
    return SSDC_OK;
}

const codegen_emitter codegen_emitter_qlut = {check_qlut, emit_qlut, CG_TYPED | CG_INPLACE};

static bool check_qadd(const cg_ctx *c, const cg_node *n, char *why, size_t size)
{
    if (!check_int8_io(c, n, why, size))
        return false;
    if (n->in[1]->dtype != GRAPH_DT_INT8 ||
        (n->in[1]->numel != 1 && n->in[1]->numel != n->out[0]->numel)) {
        snprintf(why, size, "needs B int8 of A's shape or a scalar");
        return false;
    }
    return true;
}

static ssdc_status emit_qadd(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    (void)err;
    const graph_node *g = n->node;
    const char *p = cg_qmath(c);
    int ls = (int)graph_attr_int(g, "left_shift", 20);
    cg_printf(c, "    for (int i = 0; i < %lld; i++) {\n", (long long)n->out[0]->numel);
    long pw = ls >= 0 && ls < 31 ? 1L << ls : 1L;
    cg_printf(c, "        int32_t a = ((int32_t)%s[i] - %d) * (int32_t)%ld;\n", cg_in(c, n, 0),
              (int)graph_attr_int(g, "a_zero_point", 0), pw);
    cg_printf(c, "        int32_t b = ((int32_t)%s[%s] - %d) * (int32_t)%ld;\n", cg_in(c, n, 1),
              n->in[1]->numel == 1 ? "0" : "i", (int)graph_attr_int(g, "b_zero_point", 0), pw);
    cg_printf(c, "        int32_t sa = %s_qmul(a, %ld, %d);\n", p, (long)graph_attr_int(g, "a_multiplier", 0),
              (int)graph_attr_int(g, "a_shift", 0));
    cg_printf(c, "        int32_t sb = %s_qmul(b, %ld, %d);\n", p, (long)graph_attr_int(g, "b_multiplier", 0),
              (int)graph_attr_int(g, "b_shift", 0));
    cg_printf(c, "        int32_t v = %d + %s_qmul(sa + sb, %ld, %d);\n", (int)graph_attr_int(g, "y_zero_point", 0),
              p, (long)graph_attr_int(g, "y_multiplier", 0), (int)graph_attr_int(g, "y_shift", 0));
    cg_printf(c, "        %s[i] = (int8_t)%s_qclamp(v, %d, %d);\n    }\n", cg_out(c, n, 0), p,
              (int)graph_attr_int(g, "act_min", -128), (int)graph_attr_int(g, "act_max", 127));
    return SSDC_OK;
}

const codegen_emitter codegen_emitter_qadd = {check_qadd, emit_qadd, CG_TYPED};

static ssdc_status emit_qavgpool(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    (void)err;
    const graph_node *g = n->node;
    const graph_value *x = n->in[0];
    const char *p = cg_qmath(c);
    int64_t outer = x->rank >= 2 ? cg_prod(x->dims, 0, 2) : 1;
    int64_t count = x->numel / (outer > 0 ? outer : 1);
    cg_printf(c, "    for (int o = 0; o < %lld; o++) {\n        int32_t acc = 0;\n", (long long)outer);
    cg_printf(c, "        for (int k = 0; k < %lld; k++)\n", (long long)count);
    cg_printf(c, "            acc += (int32_t)%s[o * %lld + k] - %d;\n", cg_in(c, n, 0), (long long)count,
              (int)graph_attr_int(g, "x_zero_point", 0));
    cg_printf(c, "        %s[o] = (int8_t)%s_qclamp(%d + %s_qmul(acc, %ld, %d), %d, %d);\n    }\n",
              cg_out(c, n, 0), p, (int)graph_attr_int(g, "y_zero_point", 0), p,
              (long)graph_attr_int(g, "multiplier", 0), (int)graph_attr_int(g, "shift", 0),
              (int)graph_attr_int(g, "act_min", -128), (int)graph_attr_int(g, "act_max", 127));
    return SSDC_OK;
}

const codegen_emitter codegen_emitter_qavgpool = {check_int8_io, emit_qavgpool, CG_TYPED};

/* M and S of channel ch: "M[ch]" from the const arrays (one entry: index 0). */
static void q_ms_expr(cg_ctx *c, const cg_node *n, const char *ch, char *m, char *s, size_t size)
{
    snprintf(m, size, "%s[%s]", cg_in(c, n, 3), n->in[3]->numel == 1 ? "0" : ch);
    snprintf(s, size, "(int)%s[%s]", cg_in(c, n, 4), n->in[4]->numel == 1 ? "0" : ch);
}

static bool check_qweights(const cg_ctx *c, const cg_node *n, char *why, size_t size)
{
    if (!check_int8_io(c, n, why, size))
        return false;
    if (n->n_in < 5 || !n->in_const[1] || !n->in_const[3] || !n->in_const[4] ||
        (n->in[2] && !n->in_const[2])) {
        snprintf(why, size, "needs constant W, B, M and S");
        return false;
    }
    return true;
}

static ssdc_status emit_qgemm(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    (void)err;
    const graph_node *g = n->node;
    const char *p = cg_qmath(c);
    int64_t M = n->in[0]->dims[0], K = n->in[0]->dims[1], N = n->in[1]->dims[0];
    char mm[160], ss[160];
    q_ms_expr(c, n, "j", mm, ss, sizeof mm);
    const char *b = n->in[2] ? cg_in(c, n, 2) : NULL;
    cg_printf(c, "    for (int i = 0; i < %lld; i++)\n        for (int j = 0; j < %lld; j++) {\n",
              (long long)M, (long long)N);
    cg_printf(c, "            int32_t acc = %s%s;\n", b ? b : "0", b ? "[j]" : "");
    cg_printf(c, "            for (int k = 0; k < %lld; k++)\n", (long long)K);
    cg_printf(c, "                acc += ((int32_t)%s[i * %lld + k] - %d) * (int32_t)%s[j * %lld + k];\n",
              cg_in(c, n, 0), (long long)K, (int)graph_attr_int(g, "x_zero_point", 0), cg_in(c, n, 1),
              (long long)K);
    cg_printf(c, "            %s[i * %lld + j] = (int8_t)%s_qclamp(%d + %s_qmul(acc, %s, %s), %d, %d);\n        }\n",
              cg_out(c, n, 0), (long long)N, p, (int)graph_attr_int(g, "y_zero_point", 0), p, mm, ss,
              (int)graph_attr_int(g, "act_min", -128), (int)graph_attr_int(g, "act_max", 127));
    return SSDC_OK;
}

const codegen_emitter codegen_emitter_qgemm = {check_qweights, emit_qgemm, CG_TYPED};

/* ---- QConv ---- */

static bool qconv_window(const cg_node *n, graph_window3 *w3, char *why, size_t size)
{
    const graph_value *x = n->in[0], *w = n->in[1];
    int ns = x->rank - 2;
    if (ns < 1 || ns > 3 || w->rank != x->rank) {
        snprintf(why, size, "input of rank %d (1 to 3 spatial dimensions supported)", x->rank);
        return false;
    }
    graph_window win;
    if (graph_window_resolve(n->node, ns, x->dims + 2, w->dims + 2, true, &win, why, size))
        return false;
    graph_window_to3(&win, w3);
    return true;
}

static bool check_qconv(const cg_ctx *c, const cg_node *n, char *why, size_t size)
{
    if (!check_qweights(c, n, why, size))
        return false;
    graph_window3 w3;
    if (!qconv_window(n, &w3, why, size))
        return false;
    int64_t group = graph_attr_int(n->node, "group", 1);
    const graph_value *x = n->in[0], *w = n->in[1];
    if (group < 1 || w->dims[0] % group || w->dims[1] * group != x->dims[1]) {
        snprintf(why, size, "channels do not match the groups");
        return false;
    }
    return true;
}

/* Spatial index expression of dimension d ("od * 2 + kd * 1 - 1"). */
static void qconv_pos(char *buf, size_t size, const char *o, const char *k, int64_t stride, int64_t dil,
                      int64_t pad)
{
    snprintf(buf, size, "%s * %lld + %s * %lld - %lld", o, (long long)stride, k, (long long)dil,
             (long long)pad);
}

static ssdc_status emit_qconv(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    (void)err;
    const graph_node *g = n->node;
    graph_window3 w;
    char msg[256];
    qconv_window(n, &w, msg, sizeof msg);
    const graph_value *x = n->in[0], *wt = n->in[1];
    int64_t N = x->dims[0], C = x->dims[1], M = wt->dims[0], CPG = wt->dims[1];
    int64_t G = graph_attr_int(g, "group", 1), MPG = M / G;
    int64_t KS = w.kernel_size, IN = w.in_size, OUT = w.out_size;
    if (N * M * OUT == 0)
        return SSDC_OK;
    const char *p = cg_qmath(c);
    const char *X = cg_in(c, n, 0), *W = cg_in(c, n, 1), *B = n->in[2] ? cg_in(c, n, 2) : NULL;
    const char *Y = cg_out(c, n, 0);
    char mm[160], ss[160];
    q_ms_expr(c, n, "m", mm, ss, sizeof mm);
    static const char *od[3] = {"od", "oh", "ow"}, *kd[3] = {"kd", "kh", "kw"}, *id[3] = {"id", "ih", "iw"};
    cg_printf(c, "    for (int nb = 0; nb < %lld; nb++)\n", (long long)N);
    cg_printf(c, "    for (int m = 0; m < %lld; m++) {\n", (long long)M);
    cg_printf(c, "        const int8_t *xg = %s + nb * %lld + (m / %lld) * %lld;\n", X, (long long)(C * IN),
              (long long)MPG, (long long)(CPG * IN));
    cg_printf(c, "        const int8_t *wm = %s + m * %lld;\n", W, (long long)(CPG * KS));
    cg_printf(c, "        int8_t *ym = %s + (nb * %lld + m) * %lld;\n", Y, (long long)M, (long long)OUT);
    for (int d = 0; d < 3; d++)
        cg_printf(c, "%*sfor (int %s = 0; %s < %lld; %s++)%s\n", 8 + 4 * d, "", od[d], od[d],
                  (long long)w.out[d], od[d], d == 2 ? " {" : "");
    cg_printf(c, "                    int32_t acc = %s%s;\n", B ? B : "0", B ? "[m]" : "");
    cg_printf(c, "                    for (int ci = 0; ci < %lld; ci++)\n", (long long)CPG);
    for (int d = 0; d < 3; d++)
        cg_printf(c, "%*sfor (int %s = 0; %s < %lld; %s++)%s\n", 24 + 4 * d, "", kd[d], kd[d],
                  (long long)w.kernel[d], kd[d], d == 2 ? " {" : "");
    int b = 40;
    for (int d = 0; d < 3; d++) {
        char pos[160];
        qconv_pos(pos, sizeof pos, od[d], kd[d], w.stride[d], w.dilation[d], w.pad_begin[d]);
        cg_printf(c, "%*sconst int %s = %s;\n", b, "", id[d], pos);
    }
    cg_printf(c, "%*sif (id >= 0 && id < %lld && ih >= 0 && ih < %lld && iw >= 0 && iw < %lld)\n", b, "",
              (long long)w.in[0], (long long)w.in[1], (long long)w.in[2]);
    cg_printf(c, "%*sacc += ((int32_t)xg[ci * %lld + (id * %lld + ih) * %lld + iw] - %d) *\n", b + 4, "",
              (long long)IN, (long long)w.in[1], (long long)w.in[2], (int)graph_attr_int(g, "x_zero_point", 0));
    cg_printf(c, "%*s(int32_t)wm[ci * %lld + (kd * %lld + kh) * %lld + kw];\n", b + 8, "", (long long)KS,
              (long long)w.kernel[1], (long long)w.kernel[2]);
    cg_printf(c, "%*s}\n", 36, "");
    cg_printf(c, "                    ym[(od * %lld + oh) * %lld + ow] =\n", (long long)w.out[1],
              (long long)w.out[2]);
    cg_printf(c, "                        (int8_t)%s_qclamp(%d + %s_qmul(acc, %s, %s), %d, %d);\n", p,
              (int)graph_attr_int(g, "y_zero_point", 0), p, mm, ss, (int)graph_attr_int(g, "act_min", -128),
              (int)graph_attr_int(g, "act_max", 127));
    cg_printf(c, "                }\n    }\n");
    return SSDC_OK;
}

const codegen_emitter codegen_emitter_qconv = {check_qconv, emit_qconv, CG_TYPED};

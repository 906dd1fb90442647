/* Emitters of the elementwise ops: unary math and activations, arithmetic
 * with broadcasting, Min/Max/Sum/Mean, Clip, PRelu, Where (constant
 * condition), Cast (float to float), and the views (Identity, inference
 * Dropout).  Semantics follow runtime/kernels/elementwise.c and
 * runtime/kernels/batchnorm.c (PRelu). */
#include <stdio.h>
#include <string.h>

#include "codegen/emitter.h"

/* ---- broadcasting ---- */

bool cg_bcast_init(cg_bcast *b, const graph_value *out, const graph_value *const *ops, int n)
{
    int r = out->rank;
    int64_t st[CG_MAX_IO][GRAPH_MAX_RANK];
    if (n > CG_MAX_IO || r < 0 || r > GRAPH_MAX_RANK)
        return false;
    for (int k = 0; k < n; k++) {
        const graph_value *v = ops[k];
        if (v->rank > r)
            return false;
        int64_t s = 1;
        for (int j = r - 1; j >= 0; j--) {
            int i = j - (r - v->rank);
            int64_t d = i >= 0 ? v->dims[i] : 1;
            if (d == out->dims[j]) {
                st[k][j] = d == 1 ? 0 : s;
                s *= d;
            } else if (d == 1) {
                st[k][j] = 0;
            } else {
                return false;
            }
        }
    }
    b->n = n;
    b->numel = 1;
    int m = 0;
    for (int j = 0; j < r; j++) {
        int64_t d = out->dims[j];
        b->numel *= d;
        if (d == 1)
            continue;
        bool merge = m > 0;
        for (int k = 0; k < n && merge; k++)
            merge = b->st[k][m - 1] == st[k][j] * d;
        if (merge) {
            b->dims[m - 1] *= d;
            for (int k = 0; k < n; k++)
                b->st[k][m - 1] = st[k][j];
        } else {
            b->dims[m] = d;
            for (int k = 0; k < n; k++)
                b->st[k][m] = st[k][j];
            m++;
        }
    }
    if (m == 0) {
        b->dims[0] = 1;
        for (int k = 0; k < n; k++)
            b->st[k][0] = 0;
        m = 1;
    }
    b->rank = m;
    return true;
}

/* "i0 * 64 + i1" for strides st over rank loops ("0" if all zero). */
static void index_expr(int rank, const int64_t *dims, const int64_t *st, char *out, size_t size)
{
    size_t pos = 0;
    out[0] = 0;
    for (int d = 0; d < rank; d++) {
        if (st[d] == 0 || dims[d] == 1)
            continue;
        if (st[d] == 1)
            pos += (size_t)snprintf(out + pos, size - pos, "%si%d", pos ? " + " : "", d);
        else
            pos += (size_t)snprintf(out + pos, size - pos, "%si%d * %lld", pos ? " + " : "", d,
                                    (long long)st[d]);
        if (pos >= size)
            break;
    }
    if (!out[0])
        snprintf(out, size, "0");
}

int cg_bcast_open(cg_ctx *c, const cg_bcast *b, char idx[][200], char *oidx)
{
    int64_t ost[GRAPH_MAX_RANK];
    int64_t s = 1;
    for (int d = b->rank - 1; d >= 0; d--) {
        ost[d] = s;
        s *= b->dims[d];
    }
    int ind = 4;
    for (int d = 0; d < b->rank; d++) {
        if (b->dims[d] == 1)
            continue;
        cg_printf(c, "%*sfor (int i%d = 0; i%d < %lld; i%d++)\n", ind, "", d, d,
                  (long long)b->dims[d], d);
        ind += 4;
    }
    for (int k = 0; k < b->n; k++)
        index_expr(b->rank, b->dims, b->st[k], idx[k], 200);
    index_expr(b->rank, b->dims, ost, oidx, 200);
    return ind;
}

/* ---- unary ---- */

typedef enum {
    U_ABS, U_NEG, U_SIGN, U_RELU, U_SQRT, U_EXP, U_LOG, U_RECIPROCAL, U_FLOOR, U_CEIL, U_SIN,
    U_COS, U_ERF, U_LEAKYRELU, U_SIGMOID, U_TANH, U_ELU, U_HARDSIGMOID, U_SOFTPLUS, U_COPY
} unary_kind;

static void emit_unary(cg_ctx *c, const cg_node *n, unary_kind k)
{
    const graph_node *gn = n->node;
    const char *x = cg_in(c, n, 0), *y = cg_out(c, n, 0);
    int64_t count = n->out[0]->numel;
    if (k == U_COPY) {
        if (count > 0)
            cg_printf(c, "    memcpy(%s, %s, (size_t)%lld * sizeof(*%s));\n", y, x,
                      (long long)count, y);
        return;
    }
    graph_dtype dt = n->out[0]->dtype;
    if (dt != GRAPH_DT_FLOAT) {
        /* integers (the typed unary ops), wrapping as the runtime does */
        const char *T = cg_ctype(dt);
        bool is_unsigned = dt == GRAPH_DT_UINT8;
        cg_printf(c, "    for (int i = 0; i < %lld; i++) {\n", (long long)count);
        cg_printf(c, "        const %s v = %s[i];\n", T, x);
        switch (k) {
        case U_ABS:
            if (is_unsigned)
                cg_printf(c, "        %s[i] = v;\n", y);
            else
                cg_printf(c, "        %s[i] = v < 0 ? (%s)(0 - (uint64_t)v) : v;\n", y, T);
            break;
        case U_NEG: cg_printf(c, "        %s[i] = (%s)(0 - (uint64_t)v);\n", y, T); break;
        case U_SIGN:
            if (is_unsigned)
                cg_printf(c, "        %s[i] = (%s)(v != 0);\n", y, T);
            else
                cg_printf(c, "        %s[i] = (%s)((v > 0) - (v < 0));\n", y, T);
            break;
        default: cg_printf(c, "        %s[i] = v < 0 ? 0 : v;\n", y); break;
        }
        cg_printf(c, "    }\n");
        return;
    }
    float alpha = 0.0f, beta = 0.0f;
    if (k == U_LEAKYRELU)
        alpha = graph_attr_float(gn, "alpha", 0.01f);
    else if (k == U_ELU)
        alpha = graph_attr_float(gn, "alpha", 1.0f);
    else if (k == U_HARDSIGMOID) {
        alpha = graph_attr_float(gn, "alpha", 0.2f);
        beta = graph_attr_float(gn, "beta", 0.5f);
    }
    cg_printf(c, "    for (int i = 0; i < %lld; i++) {\n", (long long)count);
    cg_printf(c, "        const float v = %s[i];\n", x);
    switch (k) {
    case U_ABS: cg_printf(c, "        %s[i] = %s(v);\n", y, cg_math(c, CG_FN_FABSF)); break;
    case U_NEG: cg_printf(c, "        %s[i] = -v;\n", y); break;
    case U_SIGN:
        cg_printf(c, "        %s[i] = v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : v);\n", y);
        break;
    case U_RELU: cg_printf(c, "        %s[i] = v < 0.0f ? 0.0f : v;\n", y); break;
    case U_SQRT: cg_printf(c, "        %s[i] = %s(v);\n", y, cg_math(c, CG_FN_SQRTF)); break;
    case U_EXP: cg_printf(c, "        %s[i] = %s(v);\n", y, cg_math(c, CG_FN_EXPF)); break;
    case U_LOG: cg_printf(c, "        %s[i] = %s(v);\n", y, cg_math(c, CG_FN_LOGF)); break;
    case U_RECIPROCAL: cg_printf(c, "        %s[i] = 1.0f / v;\n", y); break;
    case U_FLOOR: cg_printf(c, "        %s[i] = %s(v);\n", y, cg_math(c, CG_FN_FLOORF)); break;
    case U_CEIL: cg_printf(c, "        %s[i] = %s(v);\n", y, cg_math(c, CG_FN_CEILF)); break;
    case U_SIN: cg_printf(c, "        %s[i] = %s(v);\n", y, cg_math(c, CG_FN_SINF)); break;
    case U_COS: cg_printf(c, "        %s[i] = %s(v);\n", y, cg_math(c, CG_FN_COSF)); break;
    case U_ERF: cg_printf(c, "        %s[i] = %s(v);\n", y, cg_math(c, CG_FN_ERFF)); break;
    case U_TANH: cg_printf(c, "        %s[i] = %s(v);\n", y, cg_math(c, CG_FN_TANHF)); break;
    case U_LEAKYRELU:
        cg_printf(c, "        %s[i] = v < 0.0f ? %s * v : v;\n", y, cg_flit(c, alpha));
        break;
    case U_SIGMOID:
        /* one exp of -|x| (never overflows), as the runtime */
        cg_printf(c, "        const float e = %s(-%s(v));\n", cg_math(c, CG_FN_EXPF),
                  cg_math(c, CG_FN_FABSF));
        cg_printf(c, "        %s[i] = (v >= 0.0f ? 1.0f : e) / (1.0f + e);\n", y);
        break;
    case U_ELU:
        cg_printf(c, "        %s[i] = v < 0.0f ? %s * %s(v) : v;\n", y, cg_flit(c, alpha),
                  cg_math(c, CG_FN_EXPM1F));
        break;
    case U_HARDSIGMOID:
        /* fmax(0, fmin(1, alpha * x + beta)): NaN gives 1 */
        cg_printf(c, "        float t = %s * v + %s;\n", cg_flit(c, alpha), cg_flit(c, beta));
        cg_printf(c, "        t = t < 1.0f ? t : 1.0f;\n");
        cg_printf(c, "        %s[i] = t > 0.0f ? t : 0.0f;\n", y);
        break;
    case U_SOFTPLUS:
        cg_printf(c, "        %s[i] = (v > 0.0f ? v : 0.0f) + %s(%s(-%s(v)));\n", y,
                  cg_math(c, CG_FN_LOG1PF), cg_math(c, CG_FN_EXPF), cg_math(c, CG_FN_FABSF));
        break;
    default: break;
    }
    cg_printf(c, "    }\n");
}

#define UNARY_EMITTER(sym, KIND)                                                             \
    static ssdc_status emit_##sym(cg_ctx *c, const cg_node *n, ssdc_error *err)              \
    {                                                                                        \
        (void)err;                                                                           \
        emit_unary(c, n, KIND);                                                              \
        return SSDC_OK;                                                                      \
    }                                                                                        \
    const codegen_emitter codegen_emitter_##sym = {NULL, emit_##sym, CG_INPLACE};

/* Abs, Neg, Sign, Relu also on integers: float, int8..int64 (Abs and Sign
 * also uint8), as the runtime. */
static bool check_int_unary(const cg_ctx *c, const cg_node *n, char *why, size_t size)
{
    (void)c;
    graph_dtype dt = n->in[0]->dtype;
    bool ok = dt == GRAPH_DT_FLOAT || dt == GRAPH_DT_INT8 || dt == GRAPH_DT_INT16 ||
              dt == GRAPH_DT_INT32 || dt == GRAPH_DT_INT64;
    int op = n->node->op;
    if (dt == GRAPH_DT_UINT8 && (op == GRAPH_OP_ABS || op == GRAPH_OP_SIGN))
        ok = true;
    if (!ok)
        snprintf(why, size, "dtype %s", graph_dtype_name(dt));
    return ok;
}

#define INT_UNARY_EMITTER(sym, KIND)                                                         \
    static ssdc_status emit_##sym(cg_ctx *c, const cg_node *n, ssdc_error *err)              \
    {                                                                                        \
        (void)err;                                                                           \
        emit_unary(c, n, KIND);                                                              \
        return SSDC_OK;                                                                      \
    }                                                                                        \
    const codegen_emitter codegen_emitter_##sym = {check_int_unary, emit_##sym,              \
                                                   CG_INPLACE | CG_TYPED};

INT_UNARY_EMITTER(abs, U_ABS)
INT_UNARY_EMITTER(neg, U_NEG)
INT_UNARY_EMITTER(sign, U_SIGN)
INT_UNARY_EMITTER(relu, U_RELU)
UNARY_EMITTER(sqrt, U_SQRT)
UNARY_EMITTER(exp, U_EXP)
UNARY_EMITTER(log, U_LOG)
UNARY_EMITTER(reciprocal, U_RECIPROCAL)
UNARY_EMITTER(floor, U_FLOOR)
UNARY_EMITTER(ceil, U_CEIL)
UNARY_EMITTER(sin, U_SIN)
UNARY_EMITTER(cos, U_COS)
UNARY_EMITTER(erf, U_ERF)
UNARY_EMITTER(leakyrelu, U_LEAKYRELU)
UNARY_EMITTER(sigmoid, U_SIGMOID)
UNARY_EMITTER(tanh, U_TANH)
UNARY_EMITTER(elu, U_ELU)
UNARY_EMITTER(hardsigmoid, U_HARDSIGMOID)
UNARY_EMITTER(softplus, U_SOFTPLUS)

/* Cast between any dtypes generated code holds, with the runtime's rules:
 * floats to integers truncate toward zero (NaN gives 0, out-of-range values
 * saturate at the int64 range, then wrap to the width), anything to bool is
 * "!= 0". */
static ssdc_status emit_cast(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    (void)err;
    graph_dtype from = n->in[0]->dtype, to = n->out[0]->dtype;
    const char *x = cg_in(c, n, 0), *y = cg_out(c, n, 0), *T = cg_ctype(to);
    int64_t count = n->out[0]->numel;
    if (from == to || count == 0) {
        emit_unary(c, n, U_COPY);
        return SSDC_OK;
    }
    bool ffrom = from == GRAPH_DT_FLOAT || from == GRAPH_DT_DOUBLE;
    bool fto = to == GRAPH_DT_FLOAT || to == GRAPH_DT_DOUBLE;
    cg_printf(c, "    for (int i = 0; i < %lld; i++) {\n", (long long)count);
    if (to == GRAPH_DT_BOOL) {
        cg_printf(c, "        %s[i] = (uint8_t)(%s[i] != 0);\n", y, x);
    } else if (ffrom && !fto) {
        cg_printf(c, "        const double v = (double)%s[i];\n", x);
        cg_printf(c, "        const int64_t q = v != v ? 0 : v >= 9223372036854775808.0 ? INT64_MAX\n"
                     "                        : v < -9223372036854775808.0 ? INT64_MIN : (int64_t)v;\n");
        cg_printf(c, "        %s[i] = (%s)q;\n", y, T);
    } else {
        cg_printf(c, "        %s[i] = (%s)%s[i];\n", y, T, x);
    }
    cg_printf(c, "    }\n");
    return SSDC_OK;
}
const codegen_emitter codegen_emitter_cast = {NULL, emit_cast, CG_INPLACE | CG_TYPED};

/* ---- views ---- */

static ssdc_status emit_view(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    (void)err;
    emit_unary(c, n, U_COPY);
    return SSDC_OK;
}

const codegen_emitter codegen_emitter_identity = {NULL, emit_view, CG_VIEW | CG_TYPED};

static bool check_dropout(const cg_ctx *c, const cg_node *n, char *why, size_t size)
{
    (void)c;
    if (n->n_out > 1 && n->out[1]) {
        snprintf(why, size, "the mask output is used");
        return false;
    }
    if (n->n_in > 2 && n->in[2]) {
        if (!n->in_const[2]) {
            snprintf(why, size, "training_mode is computed at run time");
            return false;
        }
        if (((const uint8_t *)n->in[2]->data)[0]) {
            snprintf(why, size, "Dropout in training mode (random masks) has no inference code");
            return false;
        }
    }
    return true;
}
const codegen_emitter codegen_emitter_dropout = {check_dropout, emit_view, CG_VIEW | CG_TYPED};

/* ---- binary / variadic with broadcasting ---- */

typedef enum { B_ADD, B_SUB, B_MUL, B_DIV, B_POW, B_MIN, B_MAX, B_SUM, B_MEAN, B_PRELU } binary_kind;

static bool is_int_dtype(graph_dtype dt)
{
    return dt == GRAPH_DT_INT8 || dt == GRAPH_DT_UINT8 || dt == GRAPH_DT_INT16 ||
           dt == GRAPH_DT_INT32 || dt == GRAPH_DT_INT64;
}

/* float for every kind; integers (wrapping, as the runtime) for the
 * arithmetic, Min/Max/Sum/Mean; Pow with an integer exponent on a float base. */
static bool check_bcast(const cg_ctx *c, const cg_node *n, char *why, size_t size)
{
    (void)c;
    cg_bcast b;
    const graph_value *ops[CG_MAX_IO];
    int k = 0;
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i])
            ops[k++] = n->in[i];
    if (!cg_bcast_init(&b, n->out[0], ops, k)) {
        snprintf(why, size, "inputs do not broadcast to the output");
        return false;
    }
    graph_dtype dt = n->out[0]->dtype;
    int op = n->node->op;
    if (dt != GRAPH_DT_FLOAT && !(is_int_dtype(dt) && op != GRAPH_OP_POW && op != GRAPH_OP_PRELU)) {
        snprintf(why, size, "%s on %s", n->node->op_type, graph_dtype_name(dt));
        return false;
    }
    for (int i = 0; i < n->n_in; i++) {
        if (!n->in[i] || n->in[i]->dtype == dt)
            continue;
        if (op == GRAPH_OP_POW && i == 1 && dt == GRAPH_DT_FLOAT && is_int_dtype(n->in[i]->dtype))
            continue;
        snprintf(why, size, "input %d is %s", i, graph_dtype_name(n->in[i]->dtype));
        return false;
    }
    return true;
}

static void binary_expr(cg_ctx *c, binary_kind k, graph_dtype dt, graph_dtype exp_dt,
                        const char *a, const char *b, char *out, size_t size)
{
    if (is_int_dtype(dt)) {
        const char *T = cg_ctype(dt);
        switch (k) {
        case B_ADD: case B_SUM: case B_MEAN:
            snprintf(out, size, "(%s)((uint64_t)%s + (uint64_t)%s)", T, a, b);
            break;
        case B_SUB: snprintf(out, size, "(%s)((uint64_t)%s - (uint64_t)%s)", T, a, b); break;
        case B_MUL: snprintf(out, size, "(%s)((uint64_t)%s * (uint64_t)%s)", T, a, b); break;
        case B_DIV:
            /* the runtime refuses a zero divisor; here it gives 0 instead of trapping */
            if (dt == GRAPH_DT_UINT8)
                snprintf(out, size, "(%s == 0 ? (%s)0 : (%s)(%s / %s))", b, T, T, a, b);
            else
                snprintf(out, size,
                         "(%s == 0 ? (%s)0 : %s == -1 ? (%s)(0 - (uint64_t)%s) : (%s)(%s / %s))", b,
                         T, b, T, a, T, a, b);
            break;
        default: break;
        }
        return;
    }
    switch (k) {
    case B_ADD: case B_SUM: case B_MEAN: snprintf(out, size, "%s + %s", a, b); break;
    case B_SUB: snprintf(out, size, "%s - %s", a, b); break;
    case B_MUL: snprintf(out, size, "%s * %s", a, b); break;
    case B_DIV: snprintf(out, size, "%s / %s", a, b); break;
    case B_POW:
        if (exp_dt == GRAPH_DT_FLOAT)
            snprintf(out, size, "%s(%s, %s)", cg_math(c, CG_FN_POWF), a, b);
        else
            snprintf(out, size, "%s(%s, (float)%s)", cg_math(c, CG_FN_POWF), a, b);
        break;
    default: break;
    }
}

static ssdc_status emit_binary(cg_ctx *c, const cg_node *n, binary_kind k)
{
    const char *y = cg_out(c, n, 0);
    const graph_value *ops[CG_MAX_IO];
    const char *names[CG_MAX_IO];
    graph_dtype dt = n->out[0]->dtype, exp_dt = dt;
    const char *T = cg_ctype(dt);
    int m = 0;
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i]) {
            if (m == 1)
                exp_dt = n->in[i]->dtype;
            ops[m] = n->in[i];
            names[m++] = cg_in(c, n, i);
        }
    cg_bcast b;
    cg_bcast_init(&b, n->out[0], ops, m);
    if (b.numel == 0)
        return SSDC_OK;
    char idx[CG_MAX_IO][200];
    char oidx[200];
    int ind = cg_bcast_open(c, &b, idx, oidx);
    if (k == B_PRELU) {
        cg_printf(c, "%*s{\n", ind, "");
        cg_printf(c, "%*s    const float v = %s[%s];\n", ind, "", names[0], idx[0]);
        cg_printf(c, "%*s    %s[%s] = (v < 0.0f ? 0.0f : v) + (v < 0.0f ? v : 0.0f) * %s[%s];\n",
                  ind, "", y, oidx, names[1], idx[1]);
        cg_printf(c, "%*s}\n", ind, "");
        return SSDC_OK;
    }
    if (m == 1) {
        cg_printf(c, "%*s%s[%s] = %s[%s];\n", ind, "", y, oidx, names[0], idx[0]);
        return SSDC_OK;
    }
    if (k == B_MIN || k == B_MAX) {
        /* left fold; for floats NaN propagates as in the runtime */
        bool fl = dt == GRAPH_DT_FLOAT;
        cg_printf(c, "%*s{\n", ind, "");
        cg_printf(c, "%*s    %s a = %s[%s], b;\n", ind, "", T, names[0], idx[0]);
        for (int j = 1; j < m; j++) {
            cg_printf(c, "%*s    b = %s[%s];\n", ind, "", names[j], idx[j]);
            cg_printf(c, "%*s    a = (a %s b%s) ? a : b;\n", ind, "", k == B_MIN ? "<" : ">",
                      fl ? " || a != a" : "");
        }
        cg_printf(c, "%*s    %s[%s] = a;\n", ind, "", y, oidx);
        cg_printf(c, "%*s}\n", ind, "");
        return SSDC_OK;
    }
    char expr[4096], tmp[4096], a[260], bb[260];
    snprintf(a, sizeof a, "%s[%s]", names[0], idx[0]);
    snprintf(bb, sizeof bb, "%s[%s]", names[1], idx[1]);
    binary_expr(c, k, dt, exp_dt, a, bb, expr, sizeof expr);
    for (int j = 2; j < m; j++) {
        snprintf(bb, sizeof bb, "%s[%s]", names[j], idx[j]);
        char paren[4200];
        snprintf(paren, sizeof paren, "(%s)", expr);
        binary_expr(c, k, dt, exp_dt, paren, bb, tmp, sizeof tmp);
        snprintf(expr, sizeof expr, "%s", tmp);
    }
    if (k == B_MEAN && is_int_dtype(dt))
        cg_printf(c, "%*s%s[%s] = (%s)((int64_t)(%s) / %d);\n", ind, "", y, oidx, T, expr, m);
    else if (k == B_MEAN)
        cg_printf(c, "%*s%s[%s] = (%s) * %s;\n", ind, "", y, oidx, expr,
                  cg_flit(c, 1.0f / (float)m));
    else
        cg_printf(c, "%*s%s[%s] = %s;\n", ind, "", y, oidx, expr);
    return SSDC_OK;
}

#define BINARY_EMITTER(sym, KIND)                                                            \
    static ssdc_status emit_##sym(cg_ctx *c, const cg_node *n, ssdc_error *err)              \
    {                                                                                        \
        (void)err;                                                                           \
        return emit_binary(c, n, KIND);                                                      \
    }                                                                                        \
    const codegen_emitter codegen_emitter_##sym = {check_bcast, emit_##sym,                  \
                                                   CG_INPLACE | CG_TYPED};

BINARY_EMITTER(add, B_ADD)
BINARY_EMITTER(sub, B_SUB)
BINARY_EMITTER(mul, B_MUL)
BINARY_EMITTER(div, B_DIV)
BINARY_EMITTER(pow, B_POW)
BINARY_EMITTER(min, B_MIN)
BINARY_EMITTER(max, B_MAX)
BINARY_EMITTER(sum, B_SUM)
BINARY_EMITTER(mean, B_MEAN)
BINARY_EMITTER(prelu, B_PRELU)

/* ---- Clip ---- */

static bool clip_bound(const cg_node *n, int i, const char *attr, float *v, bool *runtime)
{
    *runtime = false;
    if (i < n->n_in && n->in[i] && n->in[i]->numel > 0) {
        if (!n->in_const[i]) {
            *runtime = true;
            return true;
        }
        *v = (float)graph_value_get_f64(n->in[i], 0);
        return true;
    }
    const graph_attr *a = graph_node_attr(n->node, attr);
    if (a && a->type == GRAPH_ATTR_FLOAT) {
        *v = a->f;
        return true;
    }
    return false;
}

static bool check_clip(const cg_ctx *c, const cg_node *n, char *why, size_t size)
{
    (void)c;
    for (int i = 1; i < n->n_in && i < 3; i++)
        if (n->in[i] && n->in[i]->numel > 1) {
            snprintf(why, size, "%s must be a scalar", i == 1 ? "min" : "max");
            return false;
        }
    return true;
}

static ssdc_status emit_clip(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    (void)err;
    float lo = 0, hi = 0;
    bool lo_rt, hi_rt;
    bool has_lo = clip_bound(n, 1, "min", &lo, &lo_rt);
    bool has_hi = clip_bound(n, 2, "max", &hi, &hi_rt);
    char los[64], his[64];
    snprintf(los, sizeof los, "%s", lo_rt ? "x1[0]" : cg_flit(c, lo));
    snprintf(his, sizeof his, "%s", hi_rt ? "x2[0]" : cg_flit(c, hi));
    const char *x = cg_in(c, n, 0), *y = cg_out(c, n, 0);
    cg_printf(c, "    for (int i = 0; i < %lld; i++) {\n", (long long)n->out[0]->numel);
    cg_printf(c, "        float v = %s[i];\n", x);
    if (has_lo)
        cg_printf(c, "        v = v < %s ? %s : v;\n", los, los);
    if (has_hi)
        cg_printf(c, "        v = v > %s ? %s : v;\n", his, his);
    cg_printf(c, "        %s[i] = v;\n", y);
    cg_printf(c, "    }\n");
    /* runtime bounds not used above are still parameters */
    for (int i = 1; i < n->n_in && i < 3; i++)
        if (n->in[i] && !n->in_const[i] && n->in[i]->numel == 0)
            cg_printf(c, "    (void)x%d;\n", i);
    return SSDC_OK;
}
const codegen_emitter codegen_emitter_clip = {check_clip, emit_clip, CG_INPLACE};

/* ---- comparisons and logic (bool results, one byte 0/1) ---- */

typedef enum { C_EQUAL, C_GREATER, C_GE, C_LESS, C_LE, L_AND, L_OR, L_XOR } cmp_kind;

static bool check_cmp(const cg_ctx *c, const cg_node *n, char *why, size_t size)
{
    (void)c;
    cg_bcast b;
    const graph_value *ops[2] = {n->in[0], n->in[1]};
    if (!cg_bcast_init(&b, n->out[0], ops, 2)) {
        snprintf(why, size, "inputs do not broadcast to the output");
        return false;
    }
    if (n->in[0]->dtype != n->in[1]->dtype) {
        snprintf(why, size, "inputs of dtypes %s and %s", graph_dtype_name(n->in[0]->dtype),
                 graph_dtype_name(n->in[1]->dtype));
        return false;
    }
    return true;
}

static ssdc_status emit_cmp(cg_ctx *c, const cg_node *n, cmp_kind k)
{
    const char *y = cg_out(c, n, 0), *a = cg_in(c, n, 0), *bn = cg_in(c, n, 1);
    cg_bcast b;
    const graph_value *ops[2] = {n->in[0], n->in[1]};
    cg_bcast_init(&b, n->out[0], ops, 2);
    if (b.numel == 0)
        return SSDC_OK;
    char idx[CG_MAX_IO][200], oidx[200], ea[260], eb[260];
    int ind = cg_bcast_open(c, &b, idx, oidx);
    snprintf(ea, sizeof ea, "%s[%s]", a, idx[0]);
    snprintf(eb, sizeof eb, "%s[%s]", bn, idx[1]);
    static const char *const ops_c[] = {"==", ">", ">=", "<", "<="};
    if (k <= C_LE)
        cg_printf(c, "%*s%s[%s] = (uint8_t)(%s %s %s);\n", ind, "", y, oidx, ea, ops_c[k], eb);
    else
        cg_printf(c, "%*s%s[%s] = (uint8_t)((%s != 0) %s (%s != 0));\n", ind, "", y, oidx, ea,
                  k == L_AND ? "&" : k == L_OR ? "|" : "^", eb);
    return SSDC_OK;
}

#define CMP_EMITTER(sym, KIND)                                                               \
    static ssdc_status emit_##sym(cg_ctx *c, const cg_node *n, ssdc_error *err)              \
    {                                                                                        \
        (void)err;                                                                           \
        return emit_cmp(c, n, KIND);                                                         \
    }                                                                                        \
    const codegen_emitter codegen_emitter_##sym = {check_cmp, emit_##sym, CG_TYPED};

CMP_EMITTER(equal, C_EQUAL)
CMP_EMITTER(greater, C_GREATER)
CMP_EMITTER(greaterorequal, C_GE)
CMP_EMITTER(less, C_LESS)
CMP_EMITTER(lessorequal, C_LE)
CMP_EMITTER(and, L_AND)
CMP_EMITTER(or, L_OR)
CMP_EMITTER(xor, L_XOR)

static ssdc_status emit_not(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    (void)err;
    cg_printf(c, "    for (int i = 0; i < %lld; i++)\n        %s[i] = (uint8_t)(%s[i] == 0);\n",
              (long long)n->out[0]->numel, cg_out(c, n, 0), cg_in(c, n, 0));
    return SSDC_OK;
}
const codegen_emitter codegen_emitter_not = {NULL, emit_not, CG_INPLACE | CG_TYPED};

/* ---- Where ---- */

static bool check_where(const cg_ctx *c, const cg_node *n, char *why, size_t size)
{
    (void)c;
    cg_bcast b;
    const graph_value *ops[3] = {n->in[0], n->in[1], n->in[2]};
    if (!cg_bcast_init(&b, n->out[0], ops, 3)) {
        snprintf(why, size, "inputs do not broadcast to the output");
        return false;
    }
    if (n->in[0]->dtype != GRAPH_DT_BOOL) {
        snprintf(why, size, "the condition is %s", graph_dtype_name(n->in[0]->dtype));
        return false;
    }
    return true;
}

static ssdc_status emit_where(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    (void)err;
    cg_bcast b;
    const graph_value *ops[3] = {n->in[0], n->in[1], n->in[2]};
    cg_bcast_init(&b, n->out[0], ops, 3);
    if (b.numel == 0)
        return SSDC_OK;
    const char *cond = cg_in(c, n, 0), *a = cg_in(c, n, 1), *bb = cg_in(c, n, 2);
    const char *y = cg_out(c, n, 0);
    char idx[CG_MAX_IO][200];
    char oidx[200];
    int ind = cg_bcast_open(c, &b, idx, oidx);
    cg_printf(c, "%*s%s[%s] = %s[%s] ? %s[%s] : %s[%s];\n", ind, "", y, oidx, cond, idx[0], a,
              idx[1], bb, idx[2]);
    return SSDC_OK;
}
const codegen_emitter codegen_emitter_where = {check_where, emit_where, CG_TYPED};

/* Math functions of generated code built with --no-libm: C99 text for
 * static float functions that need neither <math.h> nor libm.
 *
 * Error bounds, checked against the double-precision libm functions over
 * 2 million points of each range by tests/test_codegen.c (no_libm_error_bounds;
 * measured maxima in parentheses):
 *   expf    |rel| < 2e-7 where the result is a normal float (8.1e-8): Cody-Waite
 *           reduction + Cephes polynomial; +inf above 88.72, 0 below -103.97
 *   logf    |rel| < 2e-7 (7.8e-8), Cephes
 *   sqrtf   |rel| < 1.2e-7 (8.9e-8), three Newton steps from a bit-level estimate
 *   tanhf   |rel| < 2.5e-7 (1.4e-7): Cephes polynomial below 0.625, expf above
 *   expm1f  |rel| < 2.5e-7 (1.3e-7); log1pf |rel| < 2.5e-7 (1.2e-7)
 *   erff    |abs| < 5e-7 (3.3e-7): Taylor series below 0.5, Abramowitz-Stegun
 *           7.1.26 above
 *   powf    expf(y * logf(x)): |rel| < 2.5e-7 * (1 + |y ln x|) (1.1e-7); negative x
 *           with an integer y takes the sign of the parity
 *   sinf, cosf  |abs| < 2e-7 for |x| <= 20 (7.5e-8), < 1.5e-6 for |x| <= 65536
 *           (9.6e-7): Cody-Waite reduction by pi/2 in three parts; accuracy falls
 *           further beyond, NaN above 4.6e18
 *   floorf, ceilf, fabsf  exact
 * NaN propagates through every function. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "codegen/emitter.h"

/* Each piece: its text (PFX_ is replaced by the prefix) and the pieces it
 * needs. */
typedef struct {
    const char *text;
    unsigned needs; /* bit mask over piece ids */
} math_piece;

enum { P_FROMBITS, P_BITS, P_INF, P_NAN, P_FABS, P_EXP, P_LOG, P_SQRT, P_TANH, P_EXPM1, P_LOG1P, P_ERF,
       P_POW, P_SINCOS, P_SIN, P_COS, P_FLOOR, P_CEIL, P_COUNT };

static const math_piece pieces[P_COUNT] = {
    [P_FROMBITS] = {"static float PFX_from_bits(uint32_t u)\n"
                "{\n"
                "    float f;\n"
                "    memcpy(&f, &u, sizeof f);\n"
                "    return f;\n"
                "}\n\n",
                0},
    [P_BITS] = {"static uint32_t PFX_to_bits(float f)\n"
                "{\n"
                "    uint32_t u;\n"
                "    memcpy(&u, &f, sizeof u);\n"
                "    return u;\n"
                "}\n\n",
                0},
    [P_INF] = {"static float PFX_inf(void)\n"
               "{\n"
               "    return PFX_from_bits(0x7f800000u);\n"
               "}\n\n",
               1u << P_FROMBITS},
    [P_NAN] = {"static float PFX_nan(void)\n"
               "{\n"
               "    return PFX_from_bits(0x7fc00000u);\n"
               "}\n\n",
               1u << P_FROMBITS},
    [P_FABS] = {"static float PFX_fabsf(float x)\n"
                "{\n"
                "    return PFX_from_bits(PFX_to_bits(x) & 0x7fffffffu);\n"
                "}\n\n",
                1u << P_BITS | 1u << P_FROMBITS},
    [P_EXP] = {"/* exp: x = k ln2 + r (Cody-Waite), exp(r) by the Cephes polynomial. */\n"
               "static float PFX_expf(float x)\n"
               "{\n"
               "    int32_t k;\n"
               "    float fk, r, p;\n"
               "    if (x != x)\n"
               "        return x;\n"
               "    if (x > 88.72283935546875f)\n"
               "        return PFX_inf();\n"
               "    if (x < -103.972084045410156f)\n"
               "        return 0.0f;\n"
               "    k = (int32_t)(x * 1.44269504088896341f + (x >= 0.0f ? 0.5f : -0.5f));\n"
               "    fk = (float)k;\n"
               "    r = x - fk * 0.693359375f;\n"
               "    r = r - fk * -2.12194440e-4f;\n"
               "    p = 1.9875691500e-4f;\n"
               "    p = p * r + 1.3981999507e-3f;\n"
               "    p = p * r + 8.3334519073e-3f;\n"
               "    p = p * r + 4.1665795894e-2f;\n"
               "    p = p * r + 1.6666665459e-1f;\n"
               "    p = p * r + 5.0000001201e-1f;\n"
               "    p = p * r * r + r + 1.0f;\n"
               "    if (k > 126) {\n"
               "        p *= 2.0f;\n"
               "        k -= 1;\n"
               "    }\n"
               "    if (k < -126) {\n"
               "        p *= 5.9604644775390625e-8f; /* 2^-24 */\n"
               "        k += 24;\n"
               "    }\n"
               "    return p * PFX_from_bits((uint32_t)(k + 127) << 23);\n"
               "}\n\n",
               1u << P_INF | 1u << P_FROMBITS},
    [P_LOG] = {"/* log: x = 2^e m, m in [sqrt(1/2), sqrt(2)), log(m) by the Cephes polynomial. */\n"
               "static float PFX_logf(float x)\n"
               "{\n"
               "    uint32_t u = PFX_to_bits(x);\n"
               "    int e = 0;\n"
               "    float m, z, y, fe;\n"
               "    if (x != x)\n"
               "        return x;\n"
               "    if (x < 0.0f)\n"
               "        return PFX_nan();\n"
               "    if (x == 0.0f)\n"
               "        return -PFX_inf();\n"
               "    if (u == 0x7f800000u)\n"
               "        return x;\n"
               "    if (u < 0x00800000u) {\n"
               "        x *= 8388608.0f;\n"
               "        u = PFX_to_bits(x);\n"
               "        e = -23;\n"
               "    }\n"
               "    e += (int)(u >> 23) - 126;\n"
               "    m = PFX_from_bits((u & 0x007fffffu) | 0x3f000000u);\n"
               "    if (m < 0.707106781186547524f) {\n"
               "        e -= 1;\n"
               "        m = m + m - 1.0f;\n"
               "    } else {\n"
               "        m = m - 1.0f;\n"
               "    }\n"
               "    z = m * m;\n"
               "    y = 7.0376836292e-2f;\n"
               "    y = y * m - 1.1514610310e-1f;\n"
               "    y = y * m + 1.1676998740e-1f;\n"
               "    y = y * m - 1.2420140846e-1f;\n"
               "    y = y * m + 1.4249322787e-1f;\n"
               "    y = y * m - 1.6668057665e-1f;\n"
               "    y = y * m + 2.0000714765e-1f;\n"
               "    y = y * m - 2.4999993993e-1f;\n"
               "    y = y * m + 3.3333331174e-1f;\n"
               "    y = y * m * z;\n"
               "    fe = (float)e;\n"
               "    y += -2.12194440e-4f * fe;\n"
               "    y += -0.5f * z;\n"
               "    return m + y + 0.693359375f * fe;\n"
               "}\n\n",
               1u << P_BITS | 1u << P_FROMBITS | 1u << P_INF | 1u << P_NAN},
    [P_SQRT] = {"/* sqrt: three Newton steps from a bit-level estimate. */\n"
                "static float PFX_sqrtf(float x)\n"
                "{\n"
                "    float y, scale = 1.0f;\n"
                "    if (x != x)\n"
                "        return x;\n"
                "    if (x < 0.0f)\n"
                "        return PFX_nan();\n"
                "    if (x == 0.0f || PFX_to_bits(x) == 0x7f800000u)\n"
                "        return x;\n"
                "    if (PFX_to_bits(x) < 0x00800000u) {\n"
                "        x *= 16777216.0f;\n"
                "        scale = 2.44140625e-4f;\n"
                "    }\n"
                "    y = PFX_from_bits((PFX_to_bits(x) >> 1) + 0x1fbd1df5u);\n"
                "    y = 0.5f * (y + x / y);\n"
                "    y = 0.5f * (y + x / y);\n"
                "    y = 0.5f * (y + x / y);\n"
                "    return y * scale;\n"
                "}\n\n",
                1u << P_BITS | 1u << P_FROMBITS | 1u << P_NAN},
    [P_TANH] = {"static float PFX_tanhf(float x)\n"
                "{\n"
                "    float z = PFX_fabsf(x), s;\n"
                "    if (z > 9.0f)\n"
                "        return x > 0.0f ? 1.0f : -1.0f;\n"
                "    if (z >= 0.625f) {\n"
                "        s = PFX_expf(z + z);\n"
                "        z = 1.0f - 2.0f / (s + 1.0f);\n"
                "        return x < 0.0f ? -z : z;\n"
                "    }\n"
                "    if (x == 0.0f)\n"
                "        return x;\n"
                "    s = x * x;\n"
                "    return ((((-5.70498872745e-3f * s + 2.06390887954e-2f) * s - 5.37397155531e-2f) *\n"
                "                 s + 1.33314422036e-1f) * s - 3.33332819422e-1f) * s * x + x;\n"
                "}\n\n",
                1u << P_FABS | 1u << P_EXP},
    [P_EXPM1] = {"static float PFX_expm1f(float x)\n"
                 "{\n"
                 "    float p;\n"
                 "    if (PFX_fabsf(x) >= 0.5f)\n"
                 "        return PFX_expf(x) - 1.0f;\n"
                 "    p = 2.48015873e-5f;\n"
                 "    p = p * x + 1.98412698e-4f;\n"
                 "    p = p * x + 1.38888889e-3f;\n"
                 "    p = p * x + 8.33333333e-3f;\n"
                 "    p = p * x + 4.16666667e-2f;\n"
                 "    p = p * x + 1.66666667e-1f;\n"
                 "    p = p * x + 0.5f;\n"
                 "    return p * x * x + x;\n"
                 "}\n\n",
                 1u << P_FABS | 1u << P_EXP},
    [P_LOG1P] = {"static float PFX_log1pf(float x)\n"
                 "{\n"
                 "    float u;\n"
                 "    if (PFX_fabsf(x) < 1e-4f)\n"
                 "        return x * (1.0f - x * (0.5f - x * 0.333333333f));\n"
                 "    u = 1.0f + x;\n"
                 "    if (u == 1.0f || u != u || PFX_to_bits(u) == 0x7f800000u)\n"
                 "        return u == 1.0f ? x : PFX_logf(u);\n"
                 "    return PFX_logf(u) - ((u - 1.0f) - x) / u;\n"
                 "}\n\n",
                 1u << P_FABS | 1u << P_LOG | 1u << P_BITS},
    [P_ERF] = {"static float PFX_erff(float x)\n"
               "{\n"
               "    float a = PFX_fabsf(x), z, t, y;\n"
               "    if (x != x)\n"
               "        return x;\n"
               "    if (a < 0.5f) {\n"
               "        z = x * x;\n"
               "        y = 1.2055332e-4f; /* 2/sqrt(pi) (-1)^n / (n! (2n+1)) */\n"
               "        y = y * z - 8.5483270e-4f;\n"
               "        y = y * z + 5.2239776e-3f;\n"
               "        y = y * z - 2.6866171e-2f;\n"
               "        y = y * z + 1.1283792e-1f;\n"
               "        y = y * z - 3.7612639e-1f;\n"
               "        y = y * z + 1.1283792f;\n"
               "        return y * x;\n"
               "    }\n"
               "    if (a > 4.0f)\n"
               "        return x > 0.0f ? 1.0f : -1.0f;\n"
               "    t = 1.0f / (1.0f + 0.3275911f * a);\n"
               "    y = 1.061405429f;\n"
               "    y = y * t - 1.453152027f;\n"
               "    y = y * t + 1.421413741f;\n"
               "    y = y * t - 0.284496736f;\n"
               "    y = y * t + 0.254829592f;\n"
               "    y = 1.0f - y * t * PFX_expf(-a * a);\n"
               "    return x < 0.0f ? -y : y;\n"
               "}\n\n",
               1u << P_FABS | 1u << P_EXP},
    [P_POW] = {"static float PFX_powf(float x, float y)\n"
               "{\n"
               "    float r, t;\n"
               "    int odd = 0;\n"
               "    if (y == 0.0f || x == 1.0f)\n"
               "        return 1.0f;\n"
               "    if (x != x || y != y)\n"
               "        return x + y;\n"
               "    if (x == 0.0f)\n"
               "        return y > 0.0f ? 0.0f : PFX_inf();\n"
               "    if (x < 0.0f) {\n"
               "        if (PFX_fabsf(y) < 16777216.0f) {\n"
               "            t = (float)(int32_t)y;\n"
               "            if (t != y)\n"
               "                return PFX_nan();\n"
               "            odd = ((int32_t)y & 1) != 0;\n"
               "        } else if (PFX_to_bits(PFX_fabsf(y)) == 0x7f800000u) {\n"
               "            t = PFX_fabsf(x);\n"
               "            return (t == 1.0f) ? 1.0f : ((t > 1.0f) == (y > 0.0f) ? PFX_inf() : 0.0f);\n"
               "        }\n"
               "        x = -x;\n"
               "    }\n"
               "    r = PFX_expf(y * PFX_logf(x));\n"
               "    return odd ? -r : r;\n"
               "}\n\n",
               1u << P_FABS | 1u << P_EXP | 1u << P_LOG | 1u << P_INF | 1u << P_NAN | 1u << P_BITS},
    [P_SINCOS] = {"/* sin (q = 0) or cos (q = 1): reduction by pi/2 in three parts (Cody-Waite),\n"
                  " * Cephes polynomials on [-pi/4, pi/4]. */\n"
                  "static float PFX_sincos(float x, int q)\n"
                  "{\n"
                  "    int64_t j;\n"
                  "    float fj, r, z, s, c;\n"
                  "    if (x != x || PFX_fabsf(x) > 4.6e18f)\n"
                  "        return PFX_nan();\n"
                  "    j = (int64_t)(x * 0.636619772367581343f + (x >= 0.0f ? 0.5f : -0.5f));\n"
                  "    fj = (float)j;\n"
                  "    r = ((x - fj * 1.5703125f) - fj * 4.8375129699707031e-4f) -\n"
                  "        fj * 7.5497899548918821e-8f;\n"
                  "    z = r * r;\n"
                  "    s = ((-1.9515295891e-4f * z + 8.3321608736e-3f) * z - 1.6666654611e-1f) * z * r + r;\n"
                  "    c = ((2.443315711809948e-5f * z - 1.388731625493765e-3f) * z +\n"
                  "         4.166664568298827e-2f) * z * z - 0.5f * z + 1.0f;\n"
                  "    switch ((int)((j + q) & 3)) {\n"
                  "    case 0: return s;\n"
                  "    case 1: return c;\n"
                  "    case 2: return -s;\n"
                  "    default: return -c;\n"
                  "    }\n"
                  "}\n\n",
                  1u << P_FABS | 1u << P_NAN},
    [P_SIN] = {"static float PFX_sinf(float x)\n"
               "{\n"
               "    return PFX_sincos(x, 0);\n"
               "}\n\n",
               1u << P_SINCOS},
    [P_COS] = {"static float PFX_cosf(float x)\n"
               "{\n"
               "    return PFX_sincos(x, 1);\n"
               "}\n\n",
               1u << P_SINCOS},
    [P_FLOOR] = {"static float PFX_floorf(float x)\n"
                 "{\n"
                 "    float t;\n"
                 "    if (!(PFX_fabsf(x) < 8388608.0f) || x == 0.0f)\n"
                 "        return x;\n"
                 "    t = (float)(int32_t)x;\n"
                 "    return t > x ? t - 1.0f : t;\n"
                 "}\n\n",
                 1u << P_FABS},
    [P_CEIL] = {"static float PFX_ceilf(float x)\n"
                "{\n"
                "    float t;\n"
                "    if (!(PFX_fabsf(x) < 8388608.0f) || x == 0.0f)\n"
                "        return x;\n"
                "    t = (float)(int32_t)x;\n"
                "    return t < x ? t + 1.0f : t;\n"
                "}\n\n",
                1u << P_FABS},
};

/* piece of each cg_math_fn */
static const int fn_piece[CG_FN_COUNT] = {
    [CG_FN_EXPF] = P_EXP,     [CG_FN_LOGF] = P_LOG,   [CG_FN_SQRTF] = P_SQRT,
    [CG_FN_TANHF] = P_TANH,   [CG_FN_EXPM1F] = P_EXPM1, [CG_FN_LOG1PF] = P_LOG1P,
    [CG_FN_ERFF] = P_ERF,     [CG_FN_POWF] = P_POW,   [CG_FN_SINF] = P_SIN,
    [CG_FN_COSF] = P_COS,     [CG_FN_FLOORF] = P_FLOOR, [CG_FN_CEILF] = P_CEIL,
    [CG_FN_FABSF] = P_FABS,   [CG_FN_INF] = P_INF,
};

static const char *const libm_names[CG_FN_COUNT] = {
    [CG_FN_EXPF] = "expf",     [CG_FN_LOGF] = "logf",   [CG_FN_SQRTF] = "sqrtf",
    [CG_FN_TANHF] = "tanhf",   [CG_FN_EXPM1F] = "expm1f", [CG_FN_LOG1PF] = "log1pf",
    [CG_FN_ERFF] = "erff",     [CG_FN_POWF] = "powf",   [CG_FN_SINF] = "sinf",
    [CG_FN_COSF] = "cosf",     [CG_FN_FLOORF] = "floorf", [CG_FN_CEILF] = "ceilf",
    [CG_FN_FABSF] = "fabsf",   [CG_FN_INF] = "HUGE_VALF",
};

static const char *const own_names[CG_FN_COUNT] = {
    [CG_FN_EXPF] = "expf",     [CG_FN_LOGF] = "logf",   [CG_FN_SQRTF] = "sqrtf",
    [CG_FN_TANHF] = "tanhf",   [CG_FN_EXPM1F] = "expm1f", [CG_FN_LOG1PF] = "log1pf",
    [CG_FN_ERFF] = "erff",     [CG_FN_POWF] = "powf",   [CG_FN_SINF] = "sinf",
    [CG_FN_COSF] = "cosf",     [CG_FN_FLOORF] = "floorf", [CG_FN_CEILF] = "ceilf",
    [CG_FN_FABSF] = "fabsf",   [CG_FN_INF] = "inf()",
};

void cg_math_name(cg_math_fn fn, bool no_libm, const char *prefix, char *buf, size_t size)
{
    if (!no_libm)
        snprintf(buf, size, "%s", libm_names[fn]);
    else
        snprintf(buf, size, "%s_%s", prefix, own_names[fn]);
}

static void add_piece(unsigned *mask, int p)
{
    if (*mask >> p & 1u)
        return;
    *mask |= 1u << p;
    for (int q = 0; q < P_COUNT; q++)
        if (pieces[p].needs >> q & 1u)
            add_piece(mask, q);
}

void cg_mathlib_emit(cg_buf *b, const char *prefix, const bool used[CG_FN_COUNT])
{
    unsigned mask = 0;
    for (int f = 0; f < CG_FN_COUNT; f++)
        if (used[f])
            add_piece(&mask, fn_piece[f]);
    if (!mask)
        return;
    cg_buf_puts(b, "/* ---- math without libm (error bounds: see ssdc codegen/mathlib.c) ---- */\n\n");
    /* pieces are ordered so that every piece follows the ones it needs */
    char pfx[80];
    snprintf(pfx, sizeof pfx, "%s_", prefix);
    for (int p = 0; p < P_COUNT; p++) {
        if (!(mask >> p & 1u))
            continue;
        for (const char *s = pieces[p].text; *s;) {
            const char *hit = strstr(s, "PFX_");
            if (!hit) {
                cg_buf_puts(b, s);
                break;
            }
            cg_buf_printf(b, "%.*s%s", (int)(hit - s), s, pfx);
            s = hit + 4;
        }
    }
}

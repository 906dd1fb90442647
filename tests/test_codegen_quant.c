/* Integer-only C from integer graphs (docs/int8.md): the fixed point the
 * generated code carries as text against graph/qmath.h, bit for bit. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/emitter.h"
#include "graph/qmath.h"
#include "test_codegen_harness.h"

/* A deterministic generator (splitmix64) for the random cases. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static bool write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

#define N_MUL 4000
#define N_QUANT 3000

/* Test cases of qmath_mul: x, m, shift. */
static void mul_cases(int32_t *x, int32_t *m, int *sh)
{
    uint64_t s = 7;
    static const int32_t edge[] = {0, 1, -1, 2, -2, 3, -3, INT32_MAX, INT32_MIN, INT32_MIN + 1, 1 << 20, -(1 << 20)};
    for (int i = 0; i < N_MUL; i++) {
        uint64_t r = rng_next(&s);
        int kind = (int)(r % 4);
        uint64_t r2 = rng_next(&s);
        if (i < 12 * 8)
            x[i] = edge[i % 12];
        else if (kind == 0)
            x[i] = (int32_t)(uint32_t)r2;
        else if (kind == 1)
            x[i] = (int32_t)(r2 % 200001) - 100000;
        else
            x[i] = (int32_t)(r2 % 4001) - 2000;
        uint64_t r3 = rng_next(&s);
        m[i] = (i % 50 == 0) ? 0 : (i % 37 == 0) ? INT32_MIN : (int32_t)((1u << 30) + (uint32_t)(r3 % (1u << 30)));
        sh[i] = (int)(rng_next(&s) % 62) - 31;
    }
}

static void quant_cases(float *v, float *scale, int32_t *zp)
{
    uint64_t s = 11;
    for (int i = 0; i < N_QUANT; i++) {
        uint64_t r = rng_next(&s);
        scale[i] = (float)(1 + r % 1000) / 4096.0f;
        zp[i] = (int32_t)(rng_next(&s) % 256) - 128;
        int64_t k = (int64_t)(rng_next(&s) % 600) - 300;
        int kind = i % 5;
        if (kind == 0) /* exact halves */
            v[i] = ((float)k + 0.5f) * scale[i];
        else if (kind == 1)
            v[i] = (float)k * scale[i];
        else if (kind == 2)
            v[i] = (float)((double)(int64_t)(rng_next(&s) % 2000001 - 1000000) / 1000.0);
        else if (kind == 3)
            v[i] = (float)((double)(int64_t)(rng_next(&s) % 20001 - 10000) * 1e6);
        else
            v[i] = (float)(int64_t)(rng_next(&s) % 41 - 20) * 0.25f * scale[i];
    }
    v[0] = NAN;
    v[1] = INFINITY;
    v[2] = -INFINITY;
    v[3] = 5e9f;
    v[4] = -5e9f;
}

static void append_i32s(cg_buf *b, const char *name, const int32_t *a, int n)
{
    cg_buf_printf(b, "static const int32_t %s[%d] = {", name, n);
    for (int i = 0; i < n; i++)
        cg_buf_printf(b, "%s%s%ld", i ? "," : "", i % 8 ? " " : "\n    ",
                      a[i] == INT32_MIN ? 0L : (long)a[i]);
    cg_buf_puts(b, "\n};\n");
}

static void append_bits(cg_buf *b, const char *name, const float *a, int n)
{
    cg_buf_printf(b, "static const uint32_t %s[%d] = {", name, n);
    for (int i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &a[i], sizeof u);
        cg_buf_printf(b, "%s%s0x%08lxu", i ? "," : "", i % 6 ? " " : "\n    ", (unsigned long)u);
    }
    cg_buf_puts(b, "\n};\n");
}

/* The generated fixed point (cg_qmath_emit, cg_quantize_fn_emit) compiled
 * with the strict flags computes qmath_mul and qmath_quantize bit for bit. */
Test(codegen_quant, qmath_text_matches_runtime)
{
    static int32_t x[N_MUL], m[N_MUL];
    static int sh[N_MUL];
    static float v[N_QUANT], scale[N_QUANT];
    static int32_t zp[N_QUANT];
    mul_cases(x, m, sh);
    quant_cases(v, scale, zp);
    cg_buf b = {0};
    cg_buf_puts(&b, "#include <stdint.h>\n#include <stdio.h>\n#include <string.h>\n\n");
    cg_qmath_emit(&b, "t");
    cg_quantize_fn_emit(&b, "t");
    append_i32s(&b, "xs", x, N_MUL);
    append_i32s(&b, "ms", m, N_MUL);
    int32_t shv[N_MUL];
    int32_t xmin[N_MUL], mmin[N_MUL];
    for (int i = 0; i < N_MUL; i++) {
        shv[i] = sh[i];
        xmin[i] = x[i] == INT32_MIN;
        mmin[i] = m[i] == INT32_MIN;
    }
    append_i32s(&b, "shs", shv, N_MUL);
    append_i32s(&b, "xmin", xmin, N_MUL);
    append_i32s(&b, "mmin", mmin, N_MUL);
    append_bits(&b, "vs", v, N_QUANT);
    append_bits(&b, "scs", scale, N_QUANT);
    append_i32s(&b, "zps", zp, N_QUANT);
    cg_buf_printf(&b,
        "int main(void)\n{\n"
        "    int i;\n"
        "    for (i = 0; i < %d; i++) {\n"
        "        int32_t xi = xmin[i] ? INT32_MIN : xs[i], mi = mmin[i] ? INT32_MIN : ms[i];\n"
        "        printf(\"%%ld\\n\", (long)t_qmul(xi, mi, (int)shs[i]));\n"
        "    }\n"
        "    for (i = 0; i < %d; i++) {\n"
        "        float a, s;\n"
        "        memcpy(&a, &vs[i], sizeof a);\n"
        "        memcpy(&s, &scs[i], sizeof s);\n"
        "        printf(\"%%ld\\n\", (long)t_quantize(a, s, zps[i], -128, 127));\n"
        "    }\n"
        "    return 0;\n}\n", N_MUL, N_QUANT);
    cr_assert(!b.oom);
    char dir[64], path[128], exe[128], log[8192];
    cr_assert(cgt_mkdtemp(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/q.c", dir);
    snprintf(exe, sizeof exe, "%s/q", dir);
    cr_assert(write_file(path, b.s));
    cg_buf_free(&b);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cc " CGT_STRICT " -O2 '%s' -o '%s' && '%s' >'%s/out.txt'", path, exe, exe, dir);
    int rc = cgt_sh(cmd, log, sizeof log);
    cr_assert_eq(rc, 0, "compile/run failed:\n%s", log);
    snprintf(path, sizeof path, "%s/out.txt", dir);
    FILE *f = fopen(path, "r");
    cr_assert(f);
    for (int i = 0; i < N_MUL; i++) {
        long got;
        cr_assert_eq(fscanf(f, "%ld", &got), 1, "output ends at case %d", i);
        int32_t want = qmath_mul(x[i], m[i], sh[i]);
        cr_assert_eq(got, (long)want, "qmul(%ld, %ld, %d): generated %ld, qmath %ld", (long)x[i],
                     (long)m[i], sh[i], got, (long)want);
    }
    for (int i = 0; i < N_QUANT; i++) {
        long got;
        cr_assert_eq(fscanf(f, "%ld", &got), 1, "output ends at quantize case %d", i);
        int32_t want = qmath_quantize(v[i], scale[i], zp[i], -128, 127);
        cr_assert_eq(got, (long)want, "quantize(%a, %a, %ld): generated %ld, qmath %ld", (double)v[i],
                     (double)scale[i], (long)zp[i], got, (long)want);
    }
    fclose(f);
    cgt_rmtree(dir);
}

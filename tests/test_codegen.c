/* ssdc codegen: the generated C of every bundled model (and of the test
 * models in tests/data/codegen) compiles without warnings under gcc and
 * clang with -std=c99 -Wall -Wextra -Wpedantic -Wconversion -Wshadow
 * -Werror, matches the runtime within 1e-5 (1e-4 with --no-libm), runs clean
 * under AddressSanitizer + UndefinedBehaviorSanitizer and valgrind, is
 * byte-identical from run to run, cross-compiles for a Cortex-M4 (flash and
 * RAM printed) and names every unsupported node at once. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "codegen/codegen.h"
#include "codegen/emitter.h"
#include "frontend/dataset.h"
#include "frontend/npy.h"
#include "frontend/onnx_import.h"
#include "graph/fileio.h"
#include "test_codegen_harness.h"

static const char *bundled[] = {"cnn1d", "resnet1d", "har6", "cnn2d"};
#define SANITIZE_FLAGS CGT_STRICT " -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all"
#define N_BUNDLED 4

static const char *root(void)
{
    const char *r = getenv("SSDC_SOURCE_ROOT");
    cr_assert(r, "run through meson test (SSDC_SOURCE_ROOT)");
    return r;
}

typedef struct {
    char model[1024];
    char dir[256];
    graph *g;          /* as imported, for the runtime reference */
    graph_value in;    /* fixture input (batch 4) or random */
    double *ref;       /* runtime outputs for in */
    size_t n_ref;
} fixture;

static void fixture_load(fixture *f, const char *path, const char *input_npy)
{
    memset(f, 0, sizeof *f);
    snprintf(f->model, sizeof f->model, "%s", path);
    ssdc_error err = {0};
    cr_assert_eq(onnx_import_file(path, &f->g, &err), SSDC_OK, "%s", err.msg);
    if (input_npy) {
        cr_assert_eq(npy_read_file(input_npy, &f->in, &err), SSDC_OK, "%s", err.msg);
    } else {
        /* a random batch of 2 for the first input */
        const graph_tensor *t = &f->g->tensors[f->g->inputs[0]];
        int64_t dims[GRAPH_MAX_RANK];
        for (int d = 0; d < t->shape.rank; d++)
            dims[d] = t->shape.dims[d] < 0 ? 2 : t->shape.dims[d];
        graph_value_set_shape(&f->in, GRAPH_DT_FLOAT, t->shape.rank, dims);
        f->in.data = malloc((size_t)f->in.numel * sizeof(float));
        uint64_t s = 12345;
        for (int64_t i = 0; i < f->in.numel; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            ((float *)f->in.data)[i] = (float)((double)(s >> 40) / (double)(1 << 24)) * 4.0f - 2.0f;
        }
    }
    cr_assert_eq(cgt_reference(f->g, &f->in, &f->ref, &f->n_ref, &err), SSDC_OK, "%s", err.msg);
    cr_assert(cgt_mkdtemp(f->dir, sizeof f->dir));
}

static void fixture_free(fixture *f)
{
    cgt_rmtree(f->dir);
    graph_free(f->g);
    free(f->in.data);
    free(f->ref);
}

static void bundled_fixture(fixture *f, const char *name)
{
    char path[1024], in[1024];
    snprintf(path, sizeof path, "%s/models/%s.onnx", root(), name);
    snprintf(in, sizeof in, "%s/models/%s.input.npy", root(), name);
    fixture_load(f, path, in);
}

/* Generates f->model at batch into f->dir (name NAME); returns the result. */
static void generate(const fixture *f, const char *name, int64_t batch, bool no_libm,
                     codegen_result *res)
{
    codegen_options opt;
    memset(&opt, 0, sizeof opt);
    opt.name = name;
    opt.batch = batch;
    opt.no_libm = no_libm;
    opt.emit_main = true;
    ssdc_error err = {0};
    ssdc_status st = cli_codegen_file(f->model, &opt, res, NULL, &err);
    cr_assert_eq(st, SSDC_OK, "%s: %s\n%s", f->model, err.msg,
                 res->unsupported ? res->unsupported : "");
    cr_assert_eq(codegen_write(f->dir, name, res, &err), SSDC_OK, "%s", err.msg);
}

/* Compiles with cc + flags, runs (optionally under wrapper) on the whole
 * fixture input in batches of `batch` rows, compares with the runtime. */
static double compile_run_compare(const fixture *f, const char *name, int64_t batch,
                                  const char *cc, const char *flags, const char *wrapper,
                                  double tol)
{
    char exe[512], log[8192];
    snprintf(exe, sizeof exe, "%s/%s_%s", f->dir, name, cc);
    int rc = cgt_compile(f->dir, name, cc, flags, exe, log, sizeof log);
    cr_assert_eq(rc, 0, "%s %s: compile failed:\n%s", cc, flags, log);
    cr_assert_eq(log[0], 0, "%s %s: compiler output:\n%s", cc, flags, log);
    double *got = NULL;
    size_t n_got = 0;
    rc = cgt_run(wrapper, exe, f->dir, f->in.data, (size_t)f->in.numel * sizeof(float), &got,
                 &n_got, log, sizeof log);
    cr_assert_eq(rc, 0, "%s: exit %d:\n%s", exe, rc, log);
    if (wrapper)
        cr_assert_eq(log[0], 0, "%s under %s reported:\n%s", exe, wrapper, log);
    cr_assert_eq(n_got, f->n_ref, "%s: %zu values, the runtime gives %zu", exe, n_got, f->n_ref);
    double md;
    size_t worst;
    bool ok = cgt_close(got, f->ref, n_got, tol, tol, &md, &worst);
    cr_assert(ok, "%s (batch %lld): value %zu is %.9g, the runtime gives %.9g", f->model,
              (long long)batch, worst, (double)got[worst], (double)f->ref[worst]);
    free(got);
    return md;
}

/* ---- equivalence ---- */

static void check_bundled(const char *name, const char *cc)
{
    if (!cgt_have(cc))
        cr_skip_test("%s is not installed", cc);
    fixture f;
    bundled_fixture(&f, name);
    codegen_result res;
    /* the fixture's batch of 4 in one call, and per row with batch 1 */
    generate(&f, name, 4, false, &res);
    double d4 = compile_run_compare(&f, name, 4, cc, CGT_STRICT " -O2", NULL, 1e-5);
    codegen_result_free(&res);
    generate(&f, name, 1, false, &res);
    double d1 = compile_run_compare(&f, name, 1, cc, CGT_STRICT " -O2", NULL, 1e-5);
    cr_log_info("%s (%s): max |generated - runtime| %.3g (batch 4), %.3g (batch 1); arena %zu "
                "bytes, peak live %zu, weights %zu",
                name, cc, d4, d1, res.arena_bytes, res.peak_live_bytes, res.weight_bytes);
    printf("equivalence %s %s: max abs diff %.3g (batch 4), %.3g (batch 1)\n", name, cc, d4, d1);
    codegen_result_free(&res);
    fixture_free(&f);
}

Test(codegen, cnn1d_gcc, .timeout = 300) { check_bundled("cnn1d", "gcc"); }
Test(codegen, resnet1d_gcc, .timeout = 300) { check_bundled("resnet1d", "gcc"); }
Test(codegen, har6_gcc, .timeout = 300) { check_bundled("har6", "gcc"); }
Test(codegen, cnn2d_gcc, .timeout = 300) { check_bundled("cnn2d", "gcc"); }
Test(codegen, cnn1d_clang, .timeout = 300) { check_bundled("cnn1d", "clang"); }
Test(codegen, resnet1d_clang, .timeout = 300) { check_bundled("resnet1d", "clang"); }
Test(codegen, har6_clang, .timeout = 300) { check_bundled("har6", "clang"); }
Test(codegen, cnn2d_clang, .timeout = 300) { check_bundled("cnn2d", "clang"); }

/* tests/data/codegen/mixed.onnx: most emitters in awkward shapes */
Test(codegen, mixed_ops_gcc_clang, .timeout = 300)
{
    fixture f;
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/codegen/mixed.onnx", root());
    fixture_load(&f, path, NULL);
    codegen_result res;
    generate(&f, "mixed", 2, false, &res);
    compile_run_compare(&f, "mixed", 2, "gcc", CGT_STRICT " -O2", NULL, 1e-5);
    if (cgt_have("clang"))
        compile_run_compare(&f, "mixed", 2, "clang", CGT_STRICT " -O2", NULL, 1e-5);
    compile_run_compare(&f, "mixed", 2, "gcc", CGT_STRICT " -O0", NULL, 1e-5);
    codegen_result_free(&res);
    generate(&f, "mixed", 2, true, &res);
    compile_run_compare(&f, "mixed", 2, "gcc", CGT_STRICT " -O2", NULL, 1e-4);
    codegen_result_free(&res);
    fixture_free(&f);
}

/* a classifier head with int64, int32 and bool outputs: typed entry points */
Test(codegen, typed_outputs, .timeout = 300)
{
    fixture f;
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/codegen/classify.onnx", root());
    fixture_load(&f, path, NULL);
    codegen_result res;
    generate(&f, "cls", 2, false, &res);
    cr_expect(strstr(res.header, "int cls_run(const float *input, int64_t *output);"), "%s",
              res.header);
    cr_expect(strstr(res.header, "int cls_run_multi(const void *const inputs[], void *const outputs[]);"));
    cr_expect(strstr(res.header, "#define CLS_OUTPUT1_TYPE int32_t"));
    cr_expect(strstr(res.header, "#define CLS_OUTPUT2_TYPE uint8_t"));
    compile_run_compare(&f, "cls", 2, "gcc", CGT_STRICT " -O2", NULL, 0.0);
    if (cgt_have("clang"))
        compile_run_compare(&f, "cls", 2, "clang", CGT_STRICT " -O2", NULL, 0.0);
    compile_run_compare(&f, "cls", 2, "gcc", SANITIZE_FLAGS, NULL, 0.0);
    codegen_result_free(&res);
    fixture_free(&f);
}

/* two inputs, three outputs: NAME_run_multi */
Test(codegen, multi_io, .timeout = 300)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/codegen/multi_io.onnx", root());
    ssdc_error err = {0};
    graph *g = NULL;
    cr_assert_eq(onnx_import_file(path, &g, &err), SSDC_OK, "%s", err.msg);
    graph_value in[2];
    int64_t da[3] = {3, 4, 6}, db[1] = {6};
    graph_value_set_shape(&in[0], GRAPH_DT_FLOAT, 3, da);
    graph_value_set_shape(&in[1], GRAPH_DT_FLOAT, 1, db);
    float *flat = malloc((size_t)(in[0].numel + in[1].numel) * sizeof *flat);
    for (int64_t i = 0; i < in[0].numel + in[1].numel; i++)
        flat[i] = (float)((i * 37) % 23) / 7.0f - 1.5f;
    in[0].data = flat;
    in[1].data = flat + in[0].numel;
    double *ref = NULL;
    size_t n_ref = 0;
    cr_assert_eq(cgt_reference(g, in, &ref, &n_ref, &err), SSDC_OK, "%s", err.msg);
    codegen_options opt;
    memset(&opt, 0, sizeof opt);
    opt.name = "mio";
    opt.batch = 3;
    opt.emit_main = true;
    codegen_result res;
    cr_assert_eq(cli_codegen_file(path, &opt, &res, NULL, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(res.n_run_inputs, 2);
    cr_assert_eq(res.n_run_outputs, 3);
    cr_assert(strstr(res.header, "int mio_run_multi(const float *const inputs[], float *const outputs[]);"));
    cr_assert(!strstr(res.header, "int mio_run("), "two inputs: no single-input entry");
    char dir[256], exe[512], log[8192];
    cr_assert(cgt_mkdtemp(dir, sizeof dir));
    cr_assert_eq(codegen_write(dir, "mio", &res, &err), SSDC_OK);
    snprintf(exe, sizeof exe, "%s/mio", dir);
    cr_assert_eq(cgt_compile(dir, "mio", "gcc", CGT_STRICT " -O2", exe, log, sizeof log), 0, "%s", log);
    double *got = NULL;
    size_t n_got = 0;
    cr_assert_eq(cgt_run(NULL, exe, dir, flat, (size_t)(in[0].numel + in[1].numel) * sizeof(float),
                         &got, &n_got, log, sizeof log), 0, "%s", log);
    cr_assert_eq(n_got, n_ref);
    double md;
    cr_assert(cgt_close(got, ref, n_got, 1e-5, 1e-5, &md, NULL), "max diff %g", md);
    free(got);
    free(ref);
    free(flat);
    codegen_result_free(&res);
    graph_free(g);
    cgt_rmtree(dir);
}

/* ---- --no-libm ---- */

static void check_no_libm(const char *name)
{
    fixture f;
    bundled_fixture(&f, name);
    codegen_result res;
    generate(&f, name, 4, true, &res);
    cr_assert(!strstr(res.source, "<math.h>"), "--no-libm includes <math.h>");
    /* links without -lm: no libm symbol is referenced */
    char exe[512], log[8192], cmd[2048];
    snprintf(exe, sizeof exe, "%s/nolibm", f.dir);
    snprintf(cmd, sizeof cmd, "gcc " CGT_STRICT " -O2 -fno-builtin -I'%s' '%s/%s.c' '%s/%s_main.c' -o '%s'",
             f.dir, f.dir, name, f.dir, name, exe);
    cr_assert_eq(cgt_sh(cmd, log, sizeof log), 0, "%s", log);
    double d = compile_run_compare(&f, name, 4, "gcc", CGT_STRICT " -O2", NULL, 1e-4);
    printf("no-libm %s: max abs diff %.3g\n", name, d);
    codegen_result_free(&res);
    fixture_free(&f);
}

Test(codegen, no_libm_models, .timeout = 300)
{
    for (int i = 0; i < N_BUNDLED; i++)
        check_no_libm(bundled[i]);
}

/* The own math functions against double-precision libm: the bounds in
 * codegen/mathlib.c hold. */
Test(codegen, no_libm_error_bounds, .timeout = 300)
{
    bool used[CG_FN_COUNT];
    for (int i = 0; i < CG_FN_COUNT; i++)
        used[i] = true;
    cg_buf b = {0};
    cg_buf_puts(&b, "#include <stdint.h>\n#include <string.h>\n#include <stdio.h>\n#include <math.h>\n\n");
    cg_mathlib_emit(&b, "t", used);
    cg_buf_puts(&b,
        "static double rel(double got, double want)\n"
        "{\n"
        "    double d = fabs(got - want);\n"
        "    return want == 0.0 ? d : d / fabs(want);\n"
        "}\n"
        "int main(void)\n"
        "{\n"
        "    double e[16] = {0};\n"
        "    long i;\n"
        "    for (i = 0; i <= 2000000; i++) {\n"
        "        double u = (double)i / 2000000.0;\n"
        "        float x;\n"
        "        x = (float)(-103.0 + u * 191.7);\n"
        "        if (exp((double)x) >= 1.1754943508222875e-38 && exp((double)x) < 3.4e38)\n"
        "            e[0] = fmax(e[0], rel(t_expf(x), exp((double)x)));\n"
        "        x = (float)exp(-87.0 + u * 175.0);\n"
        "        e[1] = fmax(e[1], rel(t_logf(x), log((double)x)));\n"
        "        e[2] = fmax(e[2], rel(t_sqrtf(x), sqrt((double)x)));\n"
        "        x = (float)(-12.0 + u * 24.0);\n"
        "        e[3] = fmax(e[3], rel(t_tanhf(x), tanh((double)x)));\n"
        "        e[4] = fmax(e[4], rel(t_expm1f(x * 0.5f), expm1((double)(x * 0.5f))));\n"
        "        if (x > -0.99f)\n"
        "            e[5] = fmax(e[5], rel(t_log1pf(x * 0.1f), log1p((double)(x * 0.1f))));\n"
        "        e[6] = fmax(e[6], fabs(t_erff(x * 0.5f) - erf((double)(x * 0.5f))));\n"
        "        x = (float)(-65536.0 + u * 131072.0);\n"
        "        e[7] = fmax(e[7], fabs(t_sinf(x) - sin((double)x)));\n"
        "        e[8] = fmax(e[8], fabs(t_cosf(x) - cos((double)x)));\n"
        "        x = (float)(-20.0 + u * 40.0);\n"
        "        e[9] = fmax(e[9], fabs(t_sinf(x) - sin((double)x)));\n"
        "        {\n"
        "            float bx = (float)(0.01 + u * 10.0), by = (float)(-4.0 + fmod(u * 977.0, 8.0));\n"
        "            double w = pow((double)bx, (double)by);\n"
        "            e[10] = fmax(e[10], rel(t_powf(bx, by), w) / (1.0 + fabs(by * log((double)bx))));\n"
        "        }\n"
        "        x = (float)(-1000.0 + u * 2000.0);\n"
        "        if (t_floorf(x) != floorf(x) || t_ceilf(x) != ceilf(x) || t_fabsf(x) != fabsf(x))\n"
        "            e[11] = 1.0;\n"
        "    }\n"
        "    if (t_expf(NAN) == t_expf(NAN) || t_logf(-1.0f) == t_logf(-1.0f) || t_logf(0.0f) != -HUGE_VALF ||\n"
        "        t_sqrtf(-1.0f) == t_sqrtf(-1.0f) || t_expf(100.0f) != HUGE_VALF || t_expf(-200.0f) != 0.0f ||\n"
        "        t_powf(-2.0f, 3.0f) != -8.0f || t_tanhf(NAN) == t_tanhf(NAN))\n"
        "        e[12] = 1.0;\n"
        "    printf(\"%.3g %.3g %.3g %.3g %.3g %.3g %.3g %.3g %.3g %.3g %.3g %.3g %.3g\\n\", e[0], e[1], e[2], e[3],\n"
        "           e[4], e[5], e[6], e[7], e[8], e[9], e[10], e[11], e[12]);\n"
        "    return 0;\n"
        "}\n");
    cr_assert(!b.oom);
    char dir[256], path[512], cmd[2048], log[4096];
    cr_assert(cgt_mkdtemp(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/m.c", dir);
    FILE *fp = fopen(path, "w");
    cr_assert(fp);
    fputs(b.s, fp);
    fclose(fp);
    cg_buf_free(&b);
    snprintf(cmd, sizeof cmd, "gcc -std=c99 -O2 -Wall -Wextra -Werror -Wno-unused-function '%s' -o '%s/m' -lm && '%s/m'",
             path, dir, dir);
    cr_assert_eq(cgt_sh(cmd, log, sizeof log), 0, "%s", log);
    double e[13];
    cr_assert_eq(sscanf(log, "%lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf", &e[0], &e[1], &e[2],
                        &e[3], &e[4], &e[5], &e[6], &e[7], &e[8], &e[9], &e[10], &e[11], &e[12]), 13,
                 "%s", log);
    printf("no-libm max errors: expf rel %.3g, logf rel %.3g, sqrtf rel %.3g, tanhf rel %.3g, "
           "expm1f rel %.3g, log1pf rel %.3g, erff abs %.3g, sinf abs %.3g (|x|<=65536), cosf abs "
           "%.3g, sinf abs %.3g (|x|<=20), powf rel/(1+|y log x|) %.3g\n",
           e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7], e[8], e[9], e[10]);
    /* the bounds documented in codegen/mathlib.c */
    cr_expect_lt(e[0], 2e-7, "expf");
    cr_expect_lt(e[1], 2e-7, "logf");
    cr_expect_lt(e[2], 1.2e-7, "sqrtf");
    cr_expect_lt(e[3], 2.5e-7, "tanhf");
    cr_expect_lt(e[4], 2.5e-7, "expm1f");
    cr_expect_lt(e[5], 2.5e-7, "log1pf");
    cr_expect_lt(e[6], 5e-7, "erff");
    cr_expect_lt(e[7], 1.5e-6, "sinf, |x| <= 65536");
    cr_expect_lt(e[8], 1.5e-6, "cosf, |x| <= 65536");
    cr_expect_lt(e[9], 2e-7, "sinf, |x| <= 20");
    cr_expect_lt(e[10], 2.5e-7, "powf");
    cr_expect_eq(e[11], 0.0, "floorf/ceilf/fabsf not exact");
    cr_expect_eq(e[12], 0.0, "special values");
    cgt_rmtree(dir);
}

/* ---- hygiene: sanitizers and valgrind ---- */

static void run_checked(const char *model_rel, const char *input_npy_rel, const char *flags,
                        const char *wrapper, int64_t batch)
{
    fixture f;
    char path[1024], in[1024];
    snprintf(path, sizeof path, "%s/%s", root(), model_rel);
    if (input_npy_rel)
        snprintf(in, sizeof in, "%s/%s", root(), input_npy_rel);
    fixture_load(&f, path, input_npy_rel ? in : NULL);
    codegen_result res;
    generate(&f, "m", batch, false, &res);
    compile_run_compare(&f, "m", batch, "gcc", flags, wrapper, 1e-5);
    codegen_result_free(&res);
    fixture_free(&f);
}

#define SANITIZE SANITIZE_FLAGS

Test(codegen, sanitizers, .timeout = 600)
{
    for (int i = 0; i < N_BUNDLED; i++) {
        char m[256], in[256];
        snprintf(m, sizeof m, "models/%s.onnx", bundled[i]);
        snprintf(in, sizeof in, "models/%s.input.npy", bundled[i]);
        run_checked(m, in, SANITIZE, NULL, 1);
        run_checked(m, in, SANITIZE, NULL, 4);
    }
    run_checked("tests/data/codegen/mixed.onnx", NULL, SANITIZE, NULL, 2);
}

Test(codegen, valgrind, .timeout = 900)
{
    if (!cgt_have("valgrind"))
        cr_skip_test("valgrind is not installed");
    const char *vg = "valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=all";
    for (int i = 0; i < N_BUNDLED; i++) {
        char m[256], in[256];
        snprintf(m, sizeof m, "models/%s.onnx", bundled[i]);
        snprintf(in, sizeof in, "models/%s.input.npy", bundled[i]);
        run_checked(m, in, CGT_STRICT " -O1 -g", vg, 1);
    }
    run_checked("tests/data/codegen/mixed.onnx", NULL, CGT_STRICT " -O1 -g", vg, 2);
}

/* ---- determinism ---- */

Test(codegen, byte_identical, .timeout = 300)
{
    const char *bin = getenv("SSDC_BIN");
    cr_assert(bin);
    char a[256], b[256], cmd[4096], log[4096];
    cr_assert(cgt_mkdtemp(a, sizeof a));
    cr_assert(cgt_mkdtemp(b, sizeof b));
    for (int i = 0; i < N_BUNDLED; i++) {
        const char *flags[3] = {"", "--no-libm --batch 4", "--weights-section .ssdc_w --emit-main"};
        for (int k = 0; k < 3; k++) {
            /* different output folders and working directories */
            snprintf(cmd, sizeof cmd,
                     "cd '%s' && '%s' codegen '%s/models/%s.onnx' -o '%s' --name %s %s -q && "
                     "cd / && '%s' codegen '%s/models/%s.onnx' -o '%s/x/y' --name %s %s -q && "
                     "for f in %s.h %s.c; do cmp '%s/'$f '%s/x/y/'$f || exit 1; done",
                     root(), bin, root(), bundled[i], a, bundled[i], flags[k], bin, root(),
                     bundled[i], b, bundled[i], flags[k], bundled[i], bundled[i], a, b);
            cr_assert_eq(cgt_sh(cmd, log, sizeof log), 0, "%s %s: outputs differ: %s", bundled[i],
                         flags[k], log);
        }
    }
    /* the library too, in one process */
    codegen_options opt;
    memset(&opt, 0, sizeof opt);
    opt.name = "det";
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/codegen/mixed.onnx", root());
    codegen_result r1, r2;
    ssdc_error err = {0};
    cr_assert_eq(cli_codegen_file(path, &opt, &r1, NULL, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(cli_codegen_file(path, &opt, &r2, NULL, &err), SSDC_OK, "%s", err.msg);
    cr_assert_str_eq(r1.source, r2.source);
    cr_assert_str_eq(r1.header, r2.header);
    codegen_result_free(&r1);
    codegen_result_free(&r2);
    cgt_rmtree(a);
    cgt_rmtree(b);
}

/* ---- what the files contain ---- */

Test(codegen, header_and_source_contents)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/models/cnn1d.onnx", root());
    codegen_options opt;
    memset(&opt, 0, sizeof opt);
    opt.name = "ecg";
    codegen_result res;
    ssdc_error err = {0};
    cr_assert_eq(cli_codegen_file(path, &opt, &res, NULL, &err), SSDC_OK, "%s", err.msg);
    const char *h = res.header, *s = res.source;
    cr_expect(strstr(h, "int ecg_run(const float *input, float *output);"));
    cr_expect(strstr(h, "#define ECG_INPUT_SIZE 128\n"));
    cr_expect(strstr(h, "#define ECG_INPUT_DIMS {1, 1, 128}\n"));
    cr_expect(strstr(h, "#define ECG_OUTPUT_SIZE 3\n"));
    cr_expect(strstr(h, "#define ECG_ARENA_BYTES "));
    cr_expect(strstr(h, "Model: cnn1d.onnx"));
    cr_expect(strstr(h, "sha256: "));
    cr_expect(strstr(h, "ONNX opset 13"));
    /* the sha256 is the file's */
    void *buf = NULL;
    size_t len = 0;
    cr_assert_eq(ssdc_read_file(path, 1 << 26, &buf, &len, &err), SSDC_OK);
    char hex[65], want[100];
    codegen_sha256_hex(buf, len, hex);
    free(buf);
    snprintf(want, sizeof want, "sha256: %s\n", hex);
    cr_expect(strstr(h, want), "header lacks %s", want);
    /* only the allowed headers; no malloc, no stdio */
    const char *inc = s;
    while ((inc = strstr(inc, "#include "))) {
        inc += 9;
        cr_expect(!strncmp(inc, "<stddef.h>", 10) || !strncmp(inc, "<stdint.h>", 10) ||
                      !strncmp(inc, "<string.h>", 10) || !strncmp(inc, "<math.h>", 8) ||
                      !strncmp(inc, "\"ecg.h\"", 7),
                  "unexpected include %.20s", inc);
    }
    cr_expect(!strstr(s, "malloc") && !strstr(s, "printf") && !strstr(s, "FILE"));
    /* exact hexadecimal weights */
    cr_expect(strstr(s, "static const float ecg_w"));
    cr_expect(strstr(s, "p-"), "no hexadecimal float literal");
    codegen_result_free(&res);

    /* sha256 of known strings */
    codegen_sha256_hex("", 0, hex);
    cr_expect_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    codegen_sha256_hex("abc", 3, hex);
    cr_expect_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    codegen_sha256_hex(m448, strlen(m448), hex);
    cr_expect_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* float literals are exact */
Test(codegen, float_literals_exact)
{
    float vals[] = {0.0f, -0.0f, 1.0f, 0.1f, -3.14159265f, 1e-38f, 1e-45f, 3.4e38f, 123456.789f};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        char buf[40];
        cg_float_literal(vals[i], buf);
        size_t n = strlen(buf);
        cr_assert(n > 1 && buf[n - 1] == 'f');
        buf[n - 1] = 0;
        float back = strtof(buf, NULL);
        cr_expect(memcmp(&back, &vals[i], sizeof back) == 0, "%s does not read back as %a", buf,
                  (double)vals[i]);
    }
}

/* --weights-section puts every weight array in the section */
Test(codegen, weights_section, .timeout = 120)
{
    if (!cgt_have("readelf"))
        cr_skip_test("readelf is not installed");
    char dir[256], cmd[2048], log[8192], path[1024];
    cr_assert(cgt_mkdtemp(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/models/cnn1d.onnx", root());
    codegen_options opt;
    memset(&opt, 0, sizeof opt);
    opt.name = "w";
    opt.weights_section = ".ssdc_weights";
    codegen_result res;
    ssdc_error err = {0};
    cr_assert_eq(cli_codegen_file(path, &opt, &res, NULL, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(codegen_write(dir, "w", &res, &err), SSDC_OK);
    snprintf(cmd, sizeof cmd, "gcc " CGT_STRICT " -O2 -c '%s/w.c' -o '%s/w.o' && readelf -SW '%s/w.o' | grep ssdc_weights",
             dir, dir, dir);
    cr_assert_eq(cgt_sh(cmd, log, sizeof log), 0, "%s", log);
    /* the section holds exactly the weights */
    unsigned long size = 0;
    const char *p = strstr(log, ".ssdc_weights");
    cr_assert(p);
    char name[64], type[64];
    unsigned long addr, off;
    cr_assert_eq(sscanf(p, "%63s %63s %lx %lx %lx", name, type, &addr, &off, &size), 5, "%s", p);
    /* every weight array (a compiler may turn a tiny one into immediates) */
    cr_expect(size <= res.weight_bytes && size + 64 >= res.weight_bytes,
              "section of %lu bytes, weights %zu", size, res.weight_bytes);
    codegen_result_free(&res);
    cgt_rmtree(dir);
}

/* ---- a microcontroller build ---- */

static void arm_size(const char *obj, unsigned long *text, unsigned long *rodata,
                     unsigned long *data, unsigned long *bss)
{
    char cmd[1024], log[8192];
    snprintf(cmd, sizeof cmd, "arm-none-eabi-size -A '%s'", obj);
    cr_assert_eq(cgt_sh(cmd, log, sizeof log), 0, "%s", log);
    *text = *rodata = *data = *bss = 0;
    for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
        char sec[128];
        unsigned long size;
        if (sscanf(line, "%127s %lu", sec, &size) != 2)
            continue;
        if (!strncmp(sec, ".text", 5))
            *text += size;
        else if (!strncmp(sec, ".rodata", 7))
            *rodata += size;
        else if (!strncmp(sec, ".data", 5))
            *data += size;
        else if (!strncmp(sec, ".bss", 4))
            *bss += size;
    }
}

Test(codegen, cortex_m4_cross_compile, .timeout = 300)
{
    if (!cgt_have("arm-none-eabi-gcc"))
        cr_skip_test("arm-none-eabi-gcc is not installed (apt-get install gcc-arm-none-eabi)");
    char dir[256], path[1024], cmd[4096], log[8192];
    cr_assert(cgt_mkdtemp(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/models/cnn1d.onnx", root());
    for (int no_libm = 0; no_libm < 2; no_libm++) {
        codegen_options opt;
        memset(&opt, 0, sizeof opt);
        opt.name = "cnn1d";
        opt.no_libm = no_libm;
        codegen_result res;
        ssdc_error err = {0};
        cr_assert_eq(cli_codegen_file(path, &opt, &res, NULL, &err), SSDC_OK, "%s", err.msg);
        cr_assert_eq(codegen_write(dir, "cnn1d", &res, &err), SSDC_OK);
        snprintf(cmd, sizeof cmd,
                 "arm-none-eabi-gcc " CGT_STRICT " -mcpu=cortex-m4 -mthumb -mfloat-abi=hard "
                 "-mfpu=fpv4-sp-d16 -Os -c '%s/cnn1d.c' -o '%s/cnn1d.o'",
                 dir, dir);
        cr_assert_eq(cgt_sh(cmd, log, sizeof log), 0, "%s", log);
        cr_assert_eq(log[0], 0, "compiler output: %s", log);
        unsigned long text, rodata, data, bss;
        char obj[512];
        snprintf(obj, sizeof obj, "%s/cnn1d.o", dir);
        arm_size(obj, &text, &rodata, &data, &bss);
        printf("cnn1d for Cortex-M4 (-Os%s): flash %lu bytes (.text %lu + .rodata %lu + .data "
               "%lu), RAM %lu bytes (.data %lu + .bss %lu); arena %zu, weights %zu\n",
               no_libm ? ", --no-libm" : "", text + rodata + data, text, rodata, data,
               data + bss, data, bss, res.arena_bytes, res.weight_bytes);
        cr_expect_eq(data + bss, res.arena_bytes, "RAM is the arena");
        /* the weights (a compiler may turn a tiny array into immediates) */
        cr_expect_geq(rodata + 64, res.weight_bytes);
        cr_expect_leq(rodata, res.weight_bytes + 256);
        codegen_result_free(&res);
    }
    cgt_rmtree(dir);
}

/* The generated code on an emulated Cortex-M4 (qemu-system-arm, MPS2
 * AN386 board): a bare-metal firmware (vector table, reset handler, FPU
 * enabled, semihosting output) runs NAME_run on the fixture rows and prints
 * the bits of every output; they must match the runtime within 1e-5. */
static const char fw_source[] =
    "#include <stdint.h>\n"
    "#include <string.h>\n"
    "#include \"m.h\"\n"
    "#include \"fixture.h\"\n"
    "extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;\n"
    "int main(void);\n"
    "static int semihost(int op, const void *arg)\n"
    "{\n"
    "    register int r0 __asm__(\"r0\") = op;\n"
    "    register const void *r1 __asm__(\"r1\") = arg;\n"
    "    __asm__ volatile(\"bkpt 0xab\" : \"+r\"(r0) : \"r\"(r1) : \"memory\");\n"
    "    return r0;\n"
    "}\n"
    "void reset_handler(void);\n"
    "void reset_handler(void)\n"
    "{\n"
    "    uint32_t *s = &_sidata, *d = &_sdata;\n"
    "    int rc;\n"
    "    while (d < &_edata)\n"
    "        *d++ = *s++;\n"
    "    for (d = &_sbss; d < &_ebss;)\n"
    "        *d++ = 0;\n"
    "    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20; /* CPACR: FPU on */\n"
    "    __asm__ volatile(\"dsb\\n\\tisb\");\n"
    "    rc = main();\n"
    "    /* SYS_EXIT; on AArch32 r1 holds the reason */\n"
    "    semihost(0x18, (const void *)(uintptr_t)(rc == 0 ? 0x20026u : 0x20023u));\n"
    "    for (;;)\n"
    "        ;\n"
    "}\n"
    "static void fault(void)\n"
    "{\n"
    "    semihost(0x04, \"fault\\n\");\n"
    "    semihost(0x18, (const void *)(uintptr_t)0x20023u);\n"
    "    for (;;)\n"
    "        ;\n"
    "}\n"
    "__attribute__((section(\".vectors\"), used)) static const void *const vectors[16] = {\n"
    "    &_estack, (const void *)reset_handler, (const void *)fault, (const void *)fault,\n"
    "    (const void *)fault, (const void *)fault, (const void *)fault, 0, 0, 0, 0,\n"
    "    (const void *)fault, (const void *)fault, 0, (const void *)fault, (const void *)fault};\n"
    "static float out[M_OUTPUT_SIZE];\n"
    "static char line[9 * M_OUTPUT_SIZE + 2];\n"
    "int main(void)\n"
    "{\n"
    "    static const char hex[] = \"0123456789abcdef\";\n"
    "    int s, i, k;\n"
    "    for (s = 0; s < FIXTURE_CALLS; s++) {\n"
    "        char *p = line;\n"
    "        if (m_run(fixture_in + s * M_INPUT_SIZE, out) != 0)\n"
    "            return 1;\n"
    "        for (i = 0; i < M_OUTPUT_SIZE; i++) {\n"
    "            uint32_t u;\n"
    "            memcpy(&u, &out[i], sizeof u);\n"
    "            for (k = 7; k >= 0; k--)\n"
    "                *p++ = hex[(u >> (4 * k)) & 15u];\n"
    "            *p++ = i + 1 < M_OUTPUT_SIZE ? ' ' : '\\n';\n"
    "        }\n"
    "        *p = 0;\n"
    "        semihost(0x04, line);\n"
    "    }\n"
    "    return 0;\n"
    "}\n";

static const char fw_ld[] =
    "MEMORY\n"
    "{\n"
    "    FLASH (rx) : ORIGIN = 0x00000000, LENGTH = 4M\n"
    "    RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 4M\n"
    "}\n"
    "SECTIONS\n"
    "{\n"
    "    .vectors : { KEEP(*(.vectors)) } > FLASH\n"
    "    .text : { *(.text*) *(.rodata*) } > FLASH\n"
    "    .ARM.exidx : { *(.ARM.exidx*) } > FLASH\n"
    "    .data : { _sdata = .; *(.data*) . = ALIGN(4); _edata = .; } > RAM AT > FLASH\n"
    "    _sidata = LOADADDR(.data);\n"
    "    .bss (NOLOAD) : { _sbss = .; *(.bss*) *(COMMON) . = ALIGN(4); _ebss = .; } > RAM\n"
    "    _estack = ORIGIN(RAM) + LENGTH(RAM);\n"
    "}\n";

static void write_text(const char *dir, const char *file, const char *text)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "w");
    cr_assert(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

static void qemu_check(const char *model_rel, const char *input_rel, bool no_libm)
{
    fixture f;
    char path[1024], in[1024];
    snprintf(path, sizeof path, "%s/%s", root(), model_rel);
    if (input_rel)
        snprintf(in, sizeof in, "%s/%s", root(), input_rel);
    fixture_load(&f, path, input_rel ? in : NULL);
    codegen_options opt;
    memset(&opt, 0, sizeof opt);
    opt.name = "m";
    opt.batch = 1;
    opt.no_libm = no_libm;
    codegen_result res;
    ssdc_error err = {0};
    cr_assert_eq(cli_codegen_file(f.model, &opt, &res, NULL, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(codegen_write(f.dir, "m", &res, &err), SSDC_OK);
    int64_t row = f.in.numel / f.in.dims[0];
    cr_assert_eq((size_t)row * sizeof(float) * 1, (size_t)row * sizeof(float));
    /* the fixture as exact hexadecimal floats */
    char fpath[600];
    snprintf(fpath, sizeof fpath, "%s/fixture.h", f.dir);
    FILE *fx = fopen(fpath, "w");
    cr_assert(fx);
    fprintf(fx, "#define FIXTURE_CALLS %lld\nstatic const float fixture_in[] = {", (long long)f.in.dims[0]);
    for (int64_t i = 0; i < f.in.numel; i++)
        fprintf(fx, "%s%af", i ? ", " : "", (double)((const float *)f.in.data)[i]);
    fprintf(fx, "};\n");
    fclose(fx);
    write_text(f.dir, "fw.c", fw_source);
    write_text(f.dir, "fw.ld", fw_ld);
    char cmd[4096], log[65536];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard "
             "-mfpu=fpv4-sp-d16 -Os -std=c99 -Wall -Wextra -Werror -ffunction-sections "
             "-fdata-sections -nostartfiles -T fw.ld fw.c m.c -o fw.elf -Wl,--gc-sections "
             "--specs=nano.specs -lc -lm -lgcc",
             f.dir);
    cr_assert_eq(cgt_sh(cmd, log, sizeof log), 0, "%s", log);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && timeout 60 qemu-system-arm -machine mps2-an386 -cpu cortex-m4 "
             "-nographic -monitor none -serial none -semihosting-config enable=on,target=native "
             "-kernel fw.elf",
             f.dir);
    int rc = cgt_sh(cmd, log, sizeof log);
    cr_assert_eq(rc, 0, "qemu exit %d:\n%s", rc, log);
    /* parse the output bits */
    size_t n = 0;
    double *got = malloc(f.n_ref * sizeof *got);
    for (char *tok = strtok(log, " \n"); tok && n < f.n_ref; tok = strtok(NULL, " \n")) {
        unsigned long u = strtoul(tok, NULL, 16);
        uint32_t u32 = (uint32_t)u;
        float v;
        memcpy(&v, &u32, sizeof v);
        got[n++] = v;
    }
    cr_assert_eq(n, f.n_ref, "qemu printed %zu values, expected %zu", n, f.n_ref);
    double md;
    size_t worst;
    bool ok = cgt_close(got, f.ref, n, no_libm ? 1e-4 : 1e-5, no_libm ? 1e-4 : 1e-5, &md, &worst);
    cr_assert(ok, "%s on qemu: value %zu is %.9g, the runtime gives %.9g", model_rel, worst,
              (double)got[worst], (double)f.ref[worst]);
    printf("qemu mps2-an386 (Cortex-M4) %s%s: %zu outputs match the runtime, max abs diff %.3g\n",
           model_rel, no_libm ? " --no-libm" : "", n, md);
    free(got);
    codegen_result_free(&res);
    fixture_free(&f);
}

Test(codegen, cortex_m4_qemu, .timeout = 600)
{
    if (!cgt_have("arm-none-eabi-gcc") || !cgt_have("qemu-system-arm"))
        cr_skip_test("needs arm-none-eabi-gcc, libnewlib-arm-none-eabi and qemu-system-arm");
    for (int i = 0; i < N_BUNDLED; i++) {
        char m[256], in[256];
        snprintf(m, sizeof m, "models/%s.onnx", bundled[i]);
        snprintf(in, sizeof in, "models/%s.input.npy", bundled[i]);
        qemu_check(m, in, false);
    }
    qemu_check("models/cnn1d.onnx", "models/cnn1d.input.npy", true);
    qemu_check("tests/data/codegen/mixed.onnx", NULL, false);
    qemu_check("tests/data/codegen/mixed.onnx", NULL, true);
}

/* Students distilled by ssdc pipeline on UCR ECG200 and GunPoint: the
 * generated C predicts the same class as the runtime on every test sample
 * (and its logits match within 1e-5).  Data: $SSDC_UCR_DIR or
 * ../shared/data/ucr next to the source tree; skipped when missing. */
static void student_agrees(const char *dataset_name)
{
    char data[1024];
    const char *ucr = getenv("SSDC_UCR_DIR");
    if (ucr)
        snprintf(data, sizeof data, "%s/%s", ucr, dataset_name);
    else
        snprintf(data, sizeof data, "%s/../shared/data/ucr/%s", root(), dataset_name);
    struct stat st;
    if (stat(data, &st) != 0)
        cr_skip_test("no UCR data at %s (set SSDC_UCR_DIR)", data);
    const char *bin = getenv("SSDC_BIN");
    cr_assert(bin);
    char dir[256], cmd[4096], log[16384];
    cr_assert(cgt_mkdtemp(dir, sizeof dir));
    snprintf(cmd, sizeof cmd,
             "'%s' pipeline --data '%s' -o '%s/run' --quiet", bin,
             data, dir);
    cr_assert_eq(cgt_sh(cmd, log, sizeof log), 0, "%s", log);
    char student[512];
    snprintf(student, sizeof student, "%s/run/student.onnx", dir);
    dataset_pair dp;
    ssdc_error err = {0};
    cr_assert_eq(dataset_load(data, NULL, &dp, &err), SSDC_OK, "%s", err.msg);
    const dataset *te = &dp.test;
    int64_t per = dataset_sample_numel(te);
    /* the runtime on the whole test split */
    fixture f;
    memset(&f, 0, sizeof f);
    snprintf(f.model, sizeof f.model, "%s", student);
    cr_assert_eq(onnx_import_file(student, &f.g, &err), SSDC_OK, "%s", err.msg);
    int64_t dims[GRAPH_MAX_RANK + 1];
    dims[0] = te->n;
    for (int d = 0; d < te->rank; d++)
        dims[d + 1] = te->dims[d];
    graph_value_set_shape(&f.in, GRAPH_DT_FLOAT, te->rank + 1, dims);
    f.in.data = malloc((size_t)(te->n * per) * sizeof(float));
    memcpy(f.in.data, te->x, (size_t)(te->n * per) * sizeof(float));
    cr_assert_eq(cgt_reference(f.g, &f.in, &f.ref, &f.n_ref, &err), SSDC_OK, "%s", err.msg);
    snprintf(f.dir, sizeof f.dir, "%s", dir);
    /* the generated C, one sample per call */
    codegen_result res;
    generate(&f, "student", 1, false, &res);
    char exe[512];
    snprintf(exe, sizeof exe, "%s/student", dir);
    cr_assert_eq(cgt_compile(dir, "student", "gcc", CGT_STRICT " -O2", exe, log, sizeof log), 0,
                 "%s", log);
    double *got = NULL;
    size_t n_got = 0;
    cr_assert_eq(cgt_run(NULL, exe, dir, te->x, (size_t)(te->n * per) * sizeof(float), &got,
                         &n_got, log, sizeof log), 0, "%s", log);
    cr_assert_eq(n_got, f.n_ref);
    int64_t k = (int64_t)f.n_ref / te->n, same = 0, right_rt = 0, right_c = 0;
    for (int64_t i = 0; i < te->n; i++) {
        int64_t a = 0, b = 0;
        for (int64_t j = 1; j < k; j++) {
            if (f.ref[i * k + j] > f.ref[i * k + a])
                a = j;
            if (got[i * k + j] > got[i * k + b])
                b = j;
        }
        same += a == b;
        right_rt += a == te->y[i];
        right_c += b == te->y[i];
    }
    double md;
    bool close = cgt_close(got, f.ref, n_got, 1e-5, 1e-5, &md, NULL);
    printf("%s student: generated C predicts the runtime's class on %lld of %lld test samples "
           "(%.1f%%); accuracy %.2f%% (runtime %.2f%%); max |logit difference| %.3g\n",
           dataset_name, (long long)same, (long long)te->n, 100.0 * (double)same / (double)te->n,
           100.0 * (double)right_c / (double)te->n, 100.0 * (double)right_rt / (double)te->n, md);
    cr_expect_eq(same, te->n, "%s: classes differ on %lld samples", dataset_name,
                 (long long)(te->n - same));
    cr_expect(close, "%s: logits differ by %g", dataset_name, md);
    free(got);
    codegen_result_free(&res);
    dataset_pair_free(&dp);
    graph_free(f.g);
    free(f.in.data);
    free(f.ref);
    cgt_rmtree(dir);
}

Test(codegen, student_ecg200, .timeout = 900) { student_agrees("ECG200"); }
Test(codegen, student_gunpoint, .timeout = 900) { student_agrees("GunPoint"); }

/* ---- memory ---- */

Test(codegen, arena_within_10_percent_of_peak)
{
    for (int i = 0; i < N_BUNDLED; i++) {
        for (int64_t batch = 1; batch <= 4; batch *= 4) {
            char path[1024];
            snprintf(path, sizeof path, "%s/models/%s.onnx", root(), bundled[i]);
            codegen_options opt;
            memset(&opt, 0, sizeof opt);
            opt.name = "m";
            opt.batch = batch;
            codegen_result res;
            ssdc_error err = {0};
            cr_assert_eq(cli_codegen_file(path, &opt, &res, NULL, &err), SSDC_OK, "%s", err.msg);
            printf("memory %s batch %lld: arena %zu bytes, peak live %zu, sum of intermediates "
                   "%zu\n",
                   bundled[i], (long long)batch, res.arena_bytes, res.peak_live_bytes,
                   res.sum_tensor_bytes);
            cr_expect_leq((double)res.arena_bytes, 1.10 * (double)res.peak_live_bytes, "%s",
                          bundled[i]);
            cr_expect_leq(res.peak_live_bytes, res.sum_tensor_bytes);
            codegen_result_free(&res);
        }
    }
}

/* ---- the command line ---- */

static int ssdc_cmd(const char *args, char *log, size_t size)
{
    const char *bin = getenv("SSDC_BIN");
    cr_assert(bin);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s", root(), bin, args);
    return cgt_sh(cmd, log, size);
}

Test(codegen, cli_unsupported_listed_at_once_nothing_written)
{
    char dir[256], args[1024], log[8192];
    cr_assert(cgt_mkdtemp(dir, sizeof dir));
    snprintf(args, sizeof args, "codegen tests/data/codegen/unsupported.onnx -o '%s/out' --name u",
             dir);
    int rc = ssdc_cmd(args, log, sizeof log);
    cr_expect_eq(rc, 1, "%s", log);
    cr_expect(strstr(log, "ssdc: error: "), "%s", log);
    cr_expect(strstr(log, "'topk_node' (TopK)"), "%s", log);
    cr_expect(strstr(log, "'bn_train_node' (BatchNormalization)"), "%s", log);
    cr_expect(strstr(log, "'maxpool_indices_node' (MaxPool)"), "%s", log);
    cr_expect(strstr(log, "3 problems"), "%s", log);
    cr_expect(!strstr(log, "relu_ok") && !strstr(log, "reshape_ok") && !strstr(log, "concat_ok"),
              "%s", log);
    struct stat st;
    char out[512];
    snprintf(out, sizeof out, "%s/out", dir);
    cr_expect_neq(stat(out, &st), 0, "the output folder was created");
    cgt_rmtree(dir);
}

Test(codegen, cli_usage)
{
    char log[8192];
    cr_expect_eq(ssdc_cmd("codegen --help", log, sizeof log), 0);
    cr_expect(strstr(log, "usage: ssdc codegen"), "%s", log);
    cr_expect_eq(ssdc_cmd("codegen models/cnn1d.onnx --name x", log, sizeof log), 2, "%s", log);
    cr_expect(strstr(log, "-o OUTDIR"), "%s", log);
    cr_expect_eq(ssdc_cmd("codegen models/cnn1d.onnx -o /tmp/ssdc_cg_never", log, sizeof log), 2);
    cr_expect_eq(ssdc_cmd("codegen models/cnn1d.onnx -o /tmp/ssdc_cg_never --name 9lives", log,
                          sizeof log), 2, "%s", log);
    cr_expect(strstr(log, "not a C identifier"), "%s", log);
    cr_expect_eq(ssdc_cmd("codegen models/cnn1d.onnx -o /tmp/ssdc_cg_never --name int", log,
                          sizeof log), 2);
    cr_expect_eq(ssdc_cmd("codegen models/cnn1d.onnx -o /tmp/ssdc_cg_never --name x --batch 0",
                          log, sizeof log), 2);
    cr_expect_eq(ssdc_cmd("codegen models/cnn1d.onnx -o /tmp/ssdc_cg_never --name x --bogus",
                          log, sizeof log), 2);
    cr_expect_eq(ssdc_cmd("codegen models/cnn1d.onnx -o /tmp/ssdc_cg_never --name x "
                          "--weights-section 'a b'", log, sizeof log), 2, "%s", log);
    cr_expect_eq(ssdc_cmd("codegen models/missing.onnx -o /tmp/ssdc_cg_never --name x", log,
                          sizeof log), 1);
    cr_expect(strstr(log, "missing.onnx"), "%s", log);
    struct stat st;
    cr_expect_neq(stat("/tmp/ssdc_cg_never", &st), 0);
}

Test(codegen, cli_writes_files_and_main_reads_text, .timeout = 120)
{
    char dir[256], args[1024], log[8192], cmd[4096];
    cr_assert(cgt_mkdtemp(dir, sizeof dir));
    snprintf(args, sizeof args, "codegen models/cnn1d.onnx -o '%s/gen' --name ecg --emit-main", dir);
    cr_assert_eq(ssdc_cmd(args, log, sizeof log), 0, "%s", log);
    cr_expect(strstr(log, "wrote "), "%s", log);
    cr_expect(strstr(log, "arena"), "%s", log);
    /* text input on stdin, two samples (comma separated), --argmax */
    snprintf(cmd, sizeof cmd,
             "cd '%s/gen' && gcc " CGT_STRICT " -O2 ecg.c ecg_main.c -o ecg -lm && "
             "awk 'BEGIN { for (s = 0; s < 2; s++) { for (i = 0; i < 128; i++) printf(\"%%s%%g\", i ? \", \" : \"\", sin(i * (s + 1) * 0.1)); print \"\" } }' "
             "| ./ecg --argmax && echo 1 2 3 | ./ecg; echo \"exit $?\"",
             dir);
    cr_assert_eq(cgt_sh(cmd, log, sizeof log), 0, "%s", log);
    int a = -1, b = -1;
    cr_expect_eq(sscanf(log, "%d\n%d", &a, &b), 2, "%s", log);
    cr_expect(a >= 0 && a < 3 && b >= 0 && b < 3, "%s", log);
    cr_expect(strstr(log, "incomplete input") && strstr(log, "exit 1"), "%s", log);
    cgt_rmtree(dir);
}

/* Reads a whole (small) text file; NULL if missing. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* ssdc pipeline ends by generating the student's C, compiling it with $CC,
 * running it on the test split and reporting its accuracy beside the
 * runtime's: in the table, the --results CSV and the HTML report. */
Test(codegen, pipeline_generates_compiles_and_runs_student_c, .timeout = 300)
{
    const char *bin = getenv("SSDC_BIN");
    cr_assert(bin);
    char dir[256], cmd[4096], log[16384], path[512];
    cr_assert(cgt_mkdtemp(dir, sizeof dir));
    snprintf(cmd, sizeof cmd,
             "CC=gcc '%s' pipeline --data cbf -o '%s/run' --epochs 3 --teacher-epochs 3 --quiet "
             "--results '%s/r.csv' --report '%s/r.html'",
             bin, dir, dir, dir);
    cr_assert_eq(cgt_sh(cmd, log, sizeof log), 0, "%s", log);
    cr_assert(strstr(log, "same class as the runtime on 900 of 900 samples"), "%s", log);
    const char *files[] = {"student.h", "student.c", "student_main.c", "student", "student-test.f32"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        struct stat st;
        snprintf(path, sizeof path, "%s/run/c/%s", dir, files[i]);
        cr_assert_eq(stat(path, &st), 0, "%s missing", path);
    }
    /* the C's accuracy equals the runtime's student (every class agrees) */
    snprintf(path, sizeof path, "%s/r.csv", dir);
    char *csv = slurp(path);
    cr_assert(csv);
    char *s = strstr(csv, "\nstudent,ssd,"), *c = strstr(csv, "\ngenerated-c,ssd,");
    cr_assert(s && c, "%s", csv);
    cr_assert_eq(strtod(s + 13, NULL), strtod(c + 17, NULL), "%s", csv);
    free(csv);
    snprintf(path, sizeof path, "%s/r.html", dir);
    char *html = slurp(path);
    cr_assert(html && strstr(html, "student (generated C)"));
    free(html);

    /* a compiler that fails: exit 1, the error names the log; the models stay */
    snprintf(cmd, sizeof cmd,
             "CC=false '%s' pipeline --data cbf -o '%s/bad' --epochs 1 --teacher-epochs 1 --quiet",
             bin, dir);
    cr_assert_eq(cgt_sh(cmd, log, sizeof log), 1, "%s", log);
    cr_assert(strstr(log, "student-build.log"), "%s", log);
    snprintf(path, sizeof path, "%s/bad/student.onnx", dir);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    /* no compiler: a note, exit 0 */
    snprintf(cmd, sizeof cmd,
             "CC=/nonexistent/cc '%s' pipeline --data cbf -o '%s/none' --epochs 1 "
             "--teacher-epochs 1 --quiet",
             bin, dir);
    cr_assert_eq(cgt_sh(cmd, log, sizeof log), 0, "%s", log);
    cr_assert(strstr(log, "no C compiler"), "%s", log);
    cgt_rmtree(dir);
}

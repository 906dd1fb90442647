/* Real models from PyTorch's exporter: ssdc's outputs match PyTorch's
 * fixtures and ONNX Runtime's outputs within 1e-4, at several batch sizes;
 * torchvision's resnet18 (generated at test time) too. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend/npy.h"
#include "frontend/onnx_import.h"
#include "runtime/exec.h"

#define ATOL 1e-4
#define RTOL 1e-4

static const char *root(void)
{
    const char *r = getenv("SSDC_SOURCE_ROOT");
    cr_assert(r, "run through meson test");
    return r;
}

static void load_npy(const char *path, graph_value *v)
{
    ssdc_error err = {0};
    cr_assert_eq(npy_read_file(path, v, &err), SSDC_OK, "%s", err.msg);
}

static void assert_close(const graph_value *got, const graph_value *want, const char *what)
{
    cr_assert_eq(got->rank, want->rank, "%s: rank", what);
    for (int d = 0; d < got->rank; d++)
        cr_assert_eq(got->dims[d], want->dims[d], "%s: dim %d", what, d);
    double max_diff = 0;
    for (int64_t i = 0; i < got->numel; i++) {
        double a = graph_value_get_f64(got, i), b = graph_value_get_f64(want, i);
        double diff = fabs(a - b);
        if (diff > max_diff)
            max_diff = diff;
        cr_assert(diff <= ATOL + RTOL * fabs(b), "%s: element %lld is %.8g, expected %.8g", what,
                  (long long)i, a, b);
    }
    cr_log_info("%s: max abs diff %.3g over %lld values", what, max_diff, (long long)got->numel);
}

/* Runs model on input; returns a malloc'd copy of output 0. */
static graph_value run_model(const char *model, const graph_value *in)
{
    ssdc_error err = {0};
    graph *g = NULL;
    cr_assert_eq(onnx_import_file(model, &g, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(g->n_inputs, 1);
    rt_session *s = NULL;
    cr_assert_eq(rt_session_create(g, NULL, &s, &err), SSDC_OK);
    cr_assert_eq(rt_session_run(s, in, &err), SSDC_OK, "%s: %s", model, err.msg);
    graph_value out = *rt_session_output(s, 0);
    void *copy = malloc(graph_value_bytes(&out));
    memcpy(copy, out.data, graph_value_bytes(&out));
    out.data = copy;
    rt_session_free(s);
    graph_free(g);
    return out;
}

/* Runs model in ONNX Runtime (tests/ort/run.js) on input file; loads output. */
static graph_value run_ort(const char *model, const char *input_npy)
{
    char tmpl[] = "/tmp/ssdc_ort_XXXXXX";
    char *dir = mkdtemp(tmpl);
    cr_assert(dir);
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "node '%s/tests/ort/run.js' '%s' --input 'input=%s' --output-dir '%s' --threads 1 "
             ">/dev/null",
             root(), model, input_npy, dir);
    int rc = system(cmd);
    cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0,
              "ONNX Runtime failed on %s (install it: scripts/install-deps.sh --test)", model);
    char out[1200];
    snprintf(out, sizeof out, "%s/logits.npy", dir);
    graph_value v = {0};
    load_npy(out, &v);
    unlink(out);
    rmdir(dir);
    return v;
}

static void check_bundled(const char *name)
{
    char model[1024], in_path[1024], out_path[1024];
    snprintf(model, sizeof model, "%s/models/%s.onnx", root(), name);
    snprintf(in_path, sizeof in_path, "%s/models/%s.input.npy", root(), name);
    snprintf(out_path, sizeof out_path, "%s/models/%s.output.npy", root(), name);
    graph_value in = {0}, want = {0};
    load_npy(in_path, &in);
    load_npy(out_path, &want);
    graph_value got = run_model(model, &in);
    char what[256];
    snprintf(what, sizeof what, "%s vs PyTorch", name);
    assert_close(&got, &want, what);

    /* batch 1: each row alone gives the same logits as in the batch */
    int64_t row_in = in.numel / in.dims[0], row_out = got.numel / got.dims[0];
    for (int64_t b = 0; b < in.dims[0]; b++) {
        graph_value one = in;
        one.dims[0] = 1;
        one.numel = row_in;
        one.data = (float *)in.data + b * row_in;
        graph_value o = run_model(model, &one);
        graph_value w = want;
        w.dims[0] = 1;
        w.numel = row_out;
        w.data = (float *)want.data + b * row_out;
        snprintf(what, sizeof what, "%s row %lld at batch 1", name, (long long)b);
        assert_close(&o, &w, what);
        free(o.data);
    }

    graph_value ort = run_ort(model, in_path);
    snprintf(what, sizeof what, "%s vs ONNX Runtime", name);
    assert_close(&got, &ort, what);
    free(ort.data);
    free(got.data);
    free(in.data);
    free(want.data);
}

Test(models, cnn1d, .timeout = 120) { check_bundled("cnn1d"); }
Test(models, resnet1d, .timeout = 120) { check_bundled("resnet1d"); }
Test(models, har6, .timeout = 120) { check_bundled("har6"); }
Test(models, cnn2d, .timeout = 120) { check_bundled("cnn2d"); }

/* torchvision resnet18 with random weights, exported at test time. */
Test(models, resnet18, .timeout = 600)
{
    const char *build = getenv("SSDC_BUILD_ROOT");
    cr_assert(build);
    char model[1024], in_path[1024], out_path[1024], cmd[4096];
    /* the same file bench/forward.sh uses */
    snprintf(model, sizeof model, "%s/models/resnet18.onnx", build);
    snprintf(in_path, sizeof in_path, "%s/models/resnet18.input.npy", build);
    snprintf(out_path, sizeof out_path, "%s/models/resnet18.output.npy", build);
    struct stat st;
    if (stat(out_path, &st) != 0) {
        snprintf(cmd, sizeof cmd,
                 "mkdir -p '%s/models' && /usr/bin/python3 '%s/models/make_resnet18.py' '%s' >/dev/null",
                 build, root(), model);
        int rc = system(cmd);
        cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "make_resnet18.py failed");
    }
    graph_value in = {0}, want = {0};
    load_npy(in_path, &in);
    load_npy(out_path, &want);
    graph_value got = run_model(model, &in);
    assert_close(&got, &want, "resnet18 vs PyTorch");
    graph_value ort = run_ort(model, in_path);
    assert_close(&got, &ort, "resnet18 vs ONNX Runtime");
    free(ort.data);
    free(got.data);
    free(in.data);
    free(want.data);
}

/* The ssdc command on good and hostile input: every bad input gives one clear
 * line on stderr and exit status 1, never a crash. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend/npy.h"

static char out_buf[65536], err_buf[8192];

static void slurp(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, size - 1, f) : 0;
    buf[n] = 0;
    if (f)
        fclose(f);
}

/* Runs "ssdc ARGS" from the source root; returns the exit status. */
static int ssdc(const char *args)
{
    const char *bin = getenv("SSDC_BIN"), *root = getenv("SSDC_SOURCE_ROOT");
    cr_assert(bin && root, "run through meson test (SSDC_BIN, SSDC_SOURCE_ROOT)");
    char tmpl[] = "/tmp/ssdc_cli_XXXXXX";
    char *dir = mkdtemp(tmpl);
    cr_assert(dir);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s >'%s/out' 2>'%s/err'", root, bin, args, dir, dir);
    int rc = system(cmd);
    char p[512];
    snprintf(p, sizeof p, "%s/out", dir);
    slurp(p, out_buf, sizeof out_buf);
    unlink(p);
    snprintf(p, sizeof p, "%s/err", dir);
    slurp(p, err_buf, sizeof err_buf);
    unlink(p);
    rmdir(dir);
    cr_assert(WIFEXITED(rc), "ssdc %s did not exit normally (crash?)", args);
    return WEXITSTATUS(rc);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* exit 1, exactly one "ssdc: error:" line on stderr containing every needle */
static void expect_error(const char *args, const char *needle1, const char *needle2)
{
    int rc = ssdc(args);
    cr_expect_eq(rc, 1, "ssdc %s: exit %d, stderr: %s", args, rc, err_buf);
    cr_expect_eq(count_lines(err_buf), 1, "ssdc %s: stderr is not one line: %s", args, err_buf);
    cr_expect(strncmp(err_buf, "ssdc: error: ", 13) == 0, "%s", err_buf);
    cr_expect(strstr(err_buf, needle1), "ssdc %s: '%s' not in: %s", args, needle1, err_buf);
    if (needle2)
        cr_expect(strstr(err_buf, needle2), "ssdc %s: '%s' not in: %s", args, needle2, err_buf);
}

#define BAD "tests/data/bad/"

Test(cli_bad_input, truncated_file)
{
    expect_error("run " BAD "truncated.onnx --input " BAD "x_2x4.npy", "truncated.onnx", NULL);
    expect_error("inspect " BAD "truncated.onnx", "truncated.onnx", NULL);
}

Test(cli_bad_input, random_bytes)
{
    expect_error("inspect " BAD "random.onnx", "random.onnx", NULL);
}

Test(cli_bad_input, cycle)
{
    expect_error("inspect " BAD "cycle.onnx", "cycle", "'loop_a'");
}

Test(cli_bad_input, missing_initializer)
{
    expect_error("run " BAD "missing_initializer.onnx --input " BAD "x_2x4.npy",
                 "missing_initializer.onnx", "input 'W' is not defined");
}

Test(cli_bad_input, shape_mismatch)
{
    expect_error("run " BAD "shape_mismatch.onnx --input " BAD "x_2x4.npy", "node 'fc' (Gemm)",
                 "shape_mismatch.onnx");
}

Test(cli_bad_input, unsupported_ops_named_all_at_once)
{
    expect_error("run " BAD "unsupported_op.onnx --input " BAD "x_2x4.npy", "'hardmax_node' (Hardmax)",
                 "'lpnorm_node' (LpNormalization)");
    cr_assert_eq(ssdc("inspect " BAD "unsupported_op.onnx"), 0);
    cr_expect(strstr(out_buf, "unsupported nodes: 2"), "%s", out_buf);
    cr_expect(strstr(out_buf, "'hardmax_node' (Hardmax)") && strstr(out_buf, "'lpnorm_node'"), "%s",
              out_buf);
}

Test(cli_bad_input, negative_dimension)
{
    expect_error("inspect " BAD "negative_dim.onnx", "negative_dim.onnx", "'W'");
}

Test(cli_bad_input, huge_dimension)
{
    expect_error("run " BAD "huge_dim.onnx --input " BAD "x_2x4.npy", "node 'bomb' (ConstantOfShape)",
                 "elements");
}

Test(cli_bad_input, allocation_over_memory_limit)
{
    expect_error("run " BAD "big_alloc.onnx --memory-limit 100000000 --input " BAD "x_2x4.npy",
                 "memory limit", "'big'");
}

Test(cli_bad_input, wrong_input_shape_and_dtype)
{
    expect_error("run " BAD "relu.onnx --input " BAD "x_2x5.npy", "input 'x': expected shape [batch,4], got [2,5]",
                 NULL);
    expect_error("run " BAD "relu.onnx --input x=" BAD "x_int64.npy", "expected dtype float32", "int64");
    expect_error("run " BAD "relu.onnx --input " BAD "broken.npy", "broken.npy", NULL);
    expect_error("run " BAD "relu.onnx", "no value for input 'x'", NULL);
    expect_error("run " BAD "relu.onnx --input nope=" BAD "x_2x4.npy", "no input named 'nope'", NULL);
    expect_error("run " BAD "does_not_exist.onnx --input " BAD "x_2x4.npy", "does_not_exist.onnx", NULL);
}

Test(cli, usage_errors_exit_2)
{
    cr_expect_eq(ssdc("frobnicate"), 2);
    cr_expect_eq(ssdc("run"), 2);
    cr_expect_eq(ssdc("run " BAD "relu.onnx --bogus"), 2);
    cr_expect_eq(ssdc("--help"), 0);
    cr_expect(strstr(out_buf, "inspect") && strstr(out_buf, "run"), "%s", out_buf);
}

Test(cli, run_writes_outputs_and_summary)
{
    char tmpl[] = "/tmp/ssdc_out_XXXXXX";
    char *dir = mkdtemp(tmpl);
    char args[512];
    snprintf(args, sizeof args, "run " BAD "relu.onnx --input x=" BAD "x_2x4.npy --output-dir %s/o/p",
             dir);
    cr_assert_eq(ssdc(args), 0, "%s", err_buf);
    char p[512];
    snprintf(p, sizeof p, "%s/o/p/y.npy", dir);
    graph_value v = {0};
    ssdc_error err = {0};
    cr_assert_eq(npy_read_file(p, &v, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(v.rank, 2);
    cr_assert_eq(v.dims[0], 2);
    cr_assert_eq(v.dims[1], 4);
    const float *y = v.data;
    for (int i = 0; i < 8; i++)
        cr_expect_float_eq(y[i], i - 4 > 0 ? (float)(i - 4) : 0.0f, 1e-7);
    free(v.data);
    unlink(p);
    snprintf(p, sizeof p, "%s/o/p", dir);
    rmdir(p);
    snprintf(p, sizeof p, "%s/o", dir);
    rmdir(p);
    rmdir(dir);

    cr_assert_eq(ssdc("run " BAD "relu.onnx --input " BAD "x_2x4.npy"), 0);
    cr_expect(strstr(out_buf, "y: float32 [2,4]"), "%s", out_buf);
    cr_expect(strstr(out_buf, "argmax per row: 0 3"), "%s", out_buf);
}

Test(cli, inspect_reports_model)
{
    cr_assert_eq(ssdc("inspect models/cnn1d.onnx"), 0, "%s", err_buf);
    cr_expect(strstr(out_buf, "opset 13"), "%s", out_buf);
    cr_expect(strstr(out_buf, "[batch,1,128]"), "%s", out_buf);
    cr_expect(strstr(out_buf, "[batch,3]"), "%s", out_buf);
    cr_expect(strstr(out_buf, "Conv                     3"), "%s", out_buf);
    cr_expect(strstr(out_buf, "FLOPs per sample: "), "%s", out_buf);
    cr_expect(strstr(out_buf, "unsupported nodes: none"), "%s", out_buf);
    cr_expect(strstr(out_buf, "parameters: "), "%s", out_buf);
}

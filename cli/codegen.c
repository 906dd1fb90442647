/* ssdc codegen MODEL.onnx -o OUTDIR --name NAME [options] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "codegen/codegen.h"

static const char codegen_usage[] =
    "usage: ssdc codegen MODEL.onnx -o OUTDIR --name NAME [options]\n"
    "\n"
    "Writes OUTDIR/NAME.h and OUTDIR/NAME.c: dependency-free C99 inference code (no\n"
    "malloc, no stdio; <stddef.h>, <stdint.h>, <string.h> and <math.h> only).  The header\n"
    "declares int NAME_run(const float *input, float *output) for the first input and\n"
    "output (row-major, one batch per call; NAME_run_multi when the model has several),\n"
    "the shapes and sizes as macros (NAME_INPUT_SIZE, NAME_OUTPUT_DIMS, ...) and the arena\n"
    "size.  The inference passes run first (Dropout/Identity removed, BatchNormalization\n"
    "folded, constants folded, shapes fixed to the batch); intermediate tensors share one\n"
    "static arena by lifetime.  Output is byte-identical for the same model and flags.\n"
    "\n"
    "options:\n"
    "  -o, --output-dir OUTDIR   folder for the files (created if needed)\n"
    "  --name NAME               C identifier: file names and the NAME_ prefix\n"
    "  --batch N                 batch dimension of symbolic-batch inputs (default 1)\n"
    "  --no-libm                 no <math.h>: own expf/logf/tanhf/sqrtf/erff/powf/sinf/...\n"
    "                            (error bounds in codegen/mathlib.c; expf, logf, sqrtf within\n"
    "                            2e-7 relative)\n"
    "  --weights-section NAME    put the weights in linker section NAME\n"
    "                            (__attribute__((section)), GCC and Clang)\n"
    "  --emit-main               also OUTDIR/NAME_main.c, a test program: reads samples\n"
    "                            (text or --raw float32) from a file or stdin, prints outputs\n"
    "  -q, --quiet               no summary on stdout\n";

static int parse_batch(const char *s, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > 1000000)
        return -1;
    *out = v;
    return 0;
}

int cli_codegen(int argc, char **argv)
{
    const char *model = NULL, *outdir = NULL, *name = NULL;
    codegen_options opt;
    memset(&opt, 0, sizeof opt);
    bool quiet = false;
    long batch = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(codegen_usage, stdout);
            return 0;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output-dir")) {
            if (!has_value)
                return cli_usage_error("codegen", "%s needs a folder", a);
            outdir = argv[++i];
        } else if (!strcmp(a, "--name")) {
            if (!has_value)
                return cli_usage_error("codegen", "--name needs a C identifier");
            name = argv[++i];
        } else if (!strcmp(a, "--batch")) {
            if (!has_value || parse_batch(argv[i + 1], &batch))
                return cli_usage_error("codegen", "--batch needs an integer from 1 to 1000000");
            i++;
        } else if (!strcmp(a, "--no-libm")) {
            opt.no_libm = true;
        } else if (!strcmp(a, "--weights-section")) {
            if (!has_value)
                return cli_usage_error("codegen", "--weights-section needs a section name");
            opt.weights_section = argv[++i];
        } else if (!strcmp(a, "--emit-main")) {
            opt.emit_main = true;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = true;
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error("codegen", "unknown option %s", a);
        } else if (!model) {
            model = a;
        } else {
            return cli_usage_error("codegen", "more than one model given ('%s')", a);
        }
    }
    if (!model)
        return cli_usage_error("codegen", "no model given");
    if (!outdir)
        return cli_usage_error("codegen", "no output folder given (-o OUTDIR)");
    if (!name)
        return cli_usage_error("codegen", "no name given (--name NAME)");
    if (!codegen_valid_name(name))
        return cli_usage_error("codegen",
                               "--name '%s' is not a C identifier (letters, digits, '_'; not "
                               "starting with a digit or '_'; not a C keyword)",
                               name);
    opt.name = name;
    opt.batch = batch;

    codegen_result res;
    ssdc_error err = {0};
    rt_plan_stats rt;
    ssdc_status st = cli_codegen_file(model, &opt, &res, &rt, &err);
    if (st) {
        cli_error(&err);
        /* the full list of what cannot be generated, one node per line */
        if (res.unsupported && res.n_unsupported > 1)
            fprintf(stderr, "%s", res.unsupported);
        codegen_result_free(&res);
        return st == SSDC_ERR_ARG ? 2 : 1;
    }
    st = codegen_write(outdir, name, &res, &err);
    if (st) {
        codegen_result_free(&res);
        return cli_error(&err);
    }
    if (!quiet) {
        printf("wrote %s/%s.h and %s/%s.c%s%s%s\n", outdir, name, outdir, name,
               res.main_source ? " and " : "", res.main_source ? name : "",
               res.main_source ? "_main.c" : "");
        printf("  %d node functions (%d views aliased, %d in place, %d nodes folded)\n",
               res.n_nodes, res.n_views, res.n_inplace, res.n_folded);
        printf("  arena %zu bytes (peak of live tensors %zu, sum of all intermediates %zu)\n",
               res.arena_bytes, res.peak_live_bytes, res.sum_tensor_bytes);
        printf("  runtime plan of the same graph: arena %zu bytes (peak live %zu, sum %zu)\n",
               rt.arena_bytes, rt.peak_live_bytes, rt.sum_tensor_bytes);
        printf("  weights %zu bytes\n", res.weight_bytes);
    }
    codegen_result_free(&res);
    return 0;
}

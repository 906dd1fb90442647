#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#ifndef SSDC_VERSION
#error "SSDC_VERSION comes from meson (the project version)"
#endif

const char cli_version[] = SSDC_VERSION;

static const char usage[] =
    "usage: ssdc <command> [options]\n"
    "\n"
    "ssdc imports ONNX models into its own graph IR, runs, trains and distils them.\n"
    "\n"
    "commands:\n"
    "  inspect MODEL.onnx                 opset, inputs/outputs, op histogram, parameters,\n"
    "                                     FLOPs per sample, and the nodes ssdc cannot run\n"
    "  run MODEL.onnx --input NAME=FILE.npy ... [--output-dir DIR]\n"
    "                                     run a model on NumPy inputs; write DIR/OUTPUT.npy\n"
    "                                     or print a summary of each output\n"
    "  train MODEL.onnx --data SPEC -o TRAINED.onnx\n"
    "                                     train the model with cross-entropy (Adam, early\n"
    "                                     stopping, checkpoints, --resume) and export it\n"
    "  eval MODEL.onnx --data SPEC        accuracy, per-class precision/recall, confusion\n"
    "  distill TEACHER.onnx --data SPEC -o STUDENT.onnx\n"
    "                                     stochastic self-distillation (SSD) of a fresh\n"
    "                                     same-size student; the paper's ablations via --mode\n"
    "  pipeline --data SPEC [-o DIR]      train a teacher, distil a student, compare them\n"
    "  codegen MODEL.onnx -o OUTDIR --name NAME\n"
    "                                     dependency-free C99 inference code: OUTDIR/NAME.c\n"
    "                                     and NAME.h (--batch, --no-libm, --emit-main, ...)\n"
    "  quantize MODEL.onnx --data SPEC -o OUT.onnx\n"
    "                                     post-training int8 quantization (QDQ ONNX): per-\n"
    "                                     tensor SQNR, float vs int8 test accuracy\n"
    "  report METRICS.csv -o REPORT.html  the HTML run report, rebuilt from the --metrics\n"
    "                                     log of train, distill or pipeline (which write\n"
    "                                     it directly with --report REPORT.html)\n"
    "  help                               this text\n"
    "  version                            print the version\n"
    "\n"
    "Run 'ssdc <command> --help' for a command's options.\n"
    "Exit status: 0 success, 1 error (bad file, unsupported model, ...), 2 bad usage.\n";

int cli_error(const ssdc_error *err)
{
    fprintf(stderr, "ssdc: error: %s\n", err->msg);
    return 1;
}

int cli_errorf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ssdc: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ssdc: ", stderr);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nsee 'ssdc %s --help'\n", cmd);
    va_end(ap);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "inspect"))
        return cli_inspect(argc - 1, argv + 1);
    if (!strcmp(cmd, "run"))
        return cli_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "train"))
        return cli_train(argc - 1, argv + 1);
    if (!strcmp(cmd, "eval"))
        return cli_eval(argc - 1, argv + 1);
    if (!strcmp(cmd, "distill"))
        return cli_distill(argc - 1, argv + 1);
    if (!strcmp(cmd, "pipeline"))
        return cli_pipeline(argc - 1, argv + 1);
    if (!strcmp(cmd, "codegen"))
        return cli_codegen(argc - 1, argv + 1);
    if (!strcmp(cmd, "quantize"))
        return cli_quantize(argc - 1, argv + 1);
    if (!strcmp(cmd, "report"))
        return cli_report(argc - 1, argv + 1);
    /* hidden: the man page ssdc.1 (roff) from the same usage strings */
    if (!strcmp(cmd, "help") && argc > 2 && !strcmp(argv[2], "--man"))
        return cli_man(usage, SSDC_VERSION, main);
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("ssdc %s\n", SSDC_VERSION);
        return 0;
    }
    fprintf(stderr, "ssdc: unknown command '%s'\n\n%s", cmd, usage);
    return 2;
}

/* The ssdc command: one function per subcommand. */
#ifndef SSDC_CLI_CLI_H
#define SSDC_CLI_CLI_H

#include "codegen/codegen.h"
#include "graph/graph.h"
#include "graph/status.h"
#include "runtime/exec.h"

/* Each returns the process exit status: 0 ok, 1 error, 2 usage. */
int cli_inspect(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_train(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_distill(int argc, char **argv);
int cli_pipeline(int argc, char **argv);
int cli_codegen(int argc, char **argv);
int cli_quantize(int argc, char **argv);
/* Imports MODEL, makes it static (rt_prepare_static at opt->batch; the
 * runtime's plan of it in *rt, may be NULL) and generates its C. */
ssdc_status cli_codegen_file(const char *model_path, const codegen_options *opt,
                             codegen_result *res, rt_plan_stats *rt, ssdc_error *err);
int cli_report(int argc, char **argv);

/* The project version from meson (cli/main.c) */
extern const char cli_version[];

/* The figures ssdc inspect prints (cli/inspect.c), shared with the run report:
 * float parameter values, initializer bytes and count; FLOPs per sample and the
 * plan's memory with every symbolic dimension set to 1 (g shape-inferred). */
void cli_model_params(const graph *g, int64_t *params, int64_t *param_bytes, int *n_init);
ssdc_status cli_per_sample_flops(const graph *g, int64_t *flops, rt_plan_stats *stats,
                                 ssdc_error *err);
/* "1.23 K", "4.5 KiB": the inspect formats. */
void cli_format_count(double v, char *buf, size_t size);
void cli_format_bytes(double v, char *buf, size_t size);

/* `ssdc help --man` (cli/man.c): prints ssdc.1 in roff, made from usage (the
 * top-level help) and each listed command's --help, run through dispatch
 * (main) with stdout captured. */
int cli_man(const char *usage, const char *version, int (*dispatch)(int, char **));

/* Prints "ssdc: error: <msg>" to stderr and returns 1. */
int cli_error(const ssdc_error *err);
int cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints a usage error plus "see ssdc CMD --help" and returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

/* The ssdc command: one function per subcommand. */
#ifndef SSDC_CLI_CLI_H
#define SSDC_CLI_CLI_H

#include "graph/status.h"

/* Each returns the process exit status: 0 ok, 1 error, 2 usage. */
int cli_inspect(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_train(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_distill(int argc, char **argv);
int cli_pipeline(int argc, char **argv);

/* Prints "ssdc: error: <msg>" to stderr and returns 1. */
int cli_error(const ssdc_error *err);
int cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints a usage error plus "see ssdc CMD --help" and returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

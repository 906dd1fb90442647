/* Helpers shared by the code generation tests: temporary folders, shell
 * commands, compiling generated code and running its test program. */
#ifndef SSDC_TESTS_TEST_CODEGEN_HARNESS_H
#define SSDC_TESTS_TEST_CODEGEN_HARNESS_H

#include <stdbool.h>
#include <stddef.h>

#include "codegen/codegen.h"
#include "graph/graph.h"

/* The warning flags every generated file must compile cleanly with. */
#define CGT_STRICT "-std=c99 -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror"

/* Makes a fresh temporary folder (template /tmp/ssdc_cg_XXXXXX) into dir. */
bool cgt_mkdtemp(char *dir, size_t size);
/* rm -rf dir (only paths under /tmp/ssdc_cg_). */
void cgt_rmtree(const char *dir);
/* Runs cmd with sh; stdout and stderr go to log (truncated, NUL-terminated).
 * Returns the exit status, or -1 if it did not exit normally. */
int cgt_sh(const char *cmd, char *log, size_t log_size);
/* True if prog is on PATH. */
bool cgt_have(const char *prog);
/* Compiles DIR/NAME.c and DIR/NAME_main.c with "cc flags" into exe.
 * Returns the exit status; the compiler's output goes to log. */
int cgt_compile(const char *dir, const char *name, const char *cc, const char *flags,
                const char *exe, char *log, size_t log_size);
/* Writes in (in_bytes raw bytes: the inputs' values back to back) to
 * DIR/in.bin, runs "[wrapper] exe --raw DIR/in.bin" and parses every number it
 * prints into *out (malloc'd).  Returns the exit status (-1 for a crash);
 * stderr goes to log. */
int cgt_run(const char *wrapper, const char *exe, const char *dir, const void *in,
            size_t in_bytes, double **out, size_t *n_out, char *log, size_t log_size);
/* Max |a - b| over n values, and whether every pair is within atol + rtol*|b|
 * (NaN matches NaN, infinities of the same sign match). */
bool cgt_close(const double *a, const double *b, size_t n, double atol, double rtol,
               double *max_diff, size_t *worst);

/* Runs g (a clone is made) on inputs in the runtime; returns every output
 * value (any dtype, as double) concatenated (malloc'd) in *out and their
 * count in *n_out. */
ssdc_status cgt_reference(const graph *g, const graph_value *inputs, double **out, size_t *n_out,
                          ssdc_error *err);

#endif

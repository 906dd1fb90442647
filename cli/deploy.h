/* The last step of ssdc pipeline: the student as dependency-free C, compiled
 * with the system C compiler and run on the test split beside the runtime. */
#ifndef SSDC_CLI_DEPLOY_H
#define SSDC_CLI_DEPLOY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph/status.h"
#include "runtime/train.h"

typedef struct {
    bool skipped;             /* no C compiler: nothing compiled or run */
    char compiler[256];       /* the command used ($CC or cc) */
    char exe[4096];           /* the compiled test program */
    char input[4096];         /* the test split as raw float32, the program's input */
    size_t arena_bytes, weight_bytes;
    /* on the test split */
    eval_result c;            /* the generated C's predictions */
    double runtime_accuracy;  /* the runtime's, same model file */
    int64_t agree;            /* samples where both predict the same class */
    double max_abs_diff;      /* largest |logit difference| */
} deploy_check;

/* Generates DIR/NAME.h, DIR/NAME.c and DIR/NAME_main.c for the model file
 * (batch 1), writes the test samples to DIR/NAME-test.f32, compiles
 * DIR/NAME with $CC (default cc) -std=c99 -O2, runs it on every test sample
 * and compares its outputs with the runtime's on the same file.  No compiler
 * found: r->skipped, SSDC_OK.  A compile or run failure is an error naming
 * the command and the log file (DIR/NAME-build.log, DIR/NAME-run.log). */
ssdc_status deploy_check_model(const char *model_path, const char *dir, const char *name,
                               const train_data *test, deploy_check *r, ssdc_error *err);
void deploy_check_free(deploy_check *r);

#endif

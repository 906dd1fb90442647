/* The run report: what ssdc train, distill and pipeline did, collected while
 * they run (through train_options.on_epoch / on_step_extras, chained after the
 * progress display) and written as
 *
 *   --report FILE.html   one self-contained HTML page (inline CSS and SVG, no
 *                        script, nothing fetched): command line and versions,
 *                        the data set and its class balance, the model's size,
 *                        learning curves, for SSD runs the distribution of the
 *                        SGKD weights and of the kept representations per
 *                        epoch, the comparison table and confusion matrices;
 *   --metrics FILE.csv   the same data as a line-based log (format below),
 *                        rewritten atomically after every epoch; `ssdc report
 *                        FILE.csv -o FILE.html` rebuilds the page from it,
 *                        byte for byte the page the run wrote.
 *
 * Metrics log, version 1.  Text, one record per line, fields separated by
 * commas; the first field names the record.  Lines starting with '#' and
 * empty lines are ignored, as are records of an unknown name (so later
 * versions can add records).  Strings are percent-encoded ('%', ',', control
 * characters and bytes >= 0x7f as %XX); numbers are printed with %.17g, so
 * they read back exactly; "nan" is a missing value.
 *
 *   ssdc-metrics,1                                 first line
 *   meta,KEY,VALUE                                 command, ssdc, date, compiler,
 *                                                  openblas, protobuf-c (in order)
 *   data,NAME,FORMAT,N_TRAIN,N_VAL,N_TEST,N_CLASSES,RANK,DIM0,DIM1,DIM2
 *                                                  N_TRAIN: the training split as
 *                                                  loaded; N_VAL of it held out
 *   class,ID,NAME,TRAIN,VAL,TEST                   samples per class (TRAIN: after
 *                                                  the validation split)
 *   model,NAME,PARAMS,PARAM_BYTES,FLOPS,ARENA_BYTES,CODEGEN_ARENA_BYTES
 *                                                  float parameter values, bytes of
 *                                                  the initializers, FLOPs per sample
 *                                                  and planned arena (batch 1) as
 *                                                  ssdc inspect prints them; -1 =
 *                                                  unknown / codegen did not run
 *   run,NAME,MODE,K                                a training run (one label of the
 *                                                  progress lines); K = 0 without SGKD
 *   epoch,RUN,EPOCH,TRAIN_LOSS,TRAIN_ACC,VAL_LOSS,VAL_ACC,SECONDS,BEST
 *                                                  accuracies as fractions
 *   weights,RUN,EPOCH,N,MIN,P10,P25,P50,P75,P90,MAX,MEAN
 *                                                  the SGKD weights kept (non-zero)
 *                                                  in that epoch: N values (a fixed
 *                                                  reservoir sample above 2^22) and
 *                                                  their quantiles (linear, numpy's)
 *   kept,RUN,EPOCH,SAMPLES,MIN,MEAN,MAX,C0,C1,...,CK
 *                                                  representations kept per sample:
 *                                                  Ck samples kept k of the K
 *   result,NAME,MODE,TEST_ACC,TEST_LOSS,N_TEST,SECONDS,EPOCHS,BEST_EPOCH,TRAIN_ACC,VAL_ACC
 *                                                  a row of the final table
 *   confusion,NAME,C,V00,V01,...                   that row's test confusion matrix,
 *                                                  row-major [true][predicted]
 *
 * A NULL run_report pointer is accepted everywhere and does nothing, so the
 * commands call these functions whether or not a report was asked for. */
#ifndef SSDC_CLI_REPORT_H
#define SSDC_CLI_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "cli/train_flags.h"
#include "frontend/dataset.h"
#include "graph/graph.h"
#include "runtime/train.h"

typedef struct {
    int epoch;
    int64_t n;          /* kept weights summarised */
    double q[7];        /* min, p10, p25, p50, p75, p90, max */
    double mean;
} report_weights_epoch;

typedef struct {
    int epoch;
    int64_t samples;
    int min, max;
    double mean;
    int64_t *hist;      /* K+1 counts: hist[k] samples kept k representations */
} report_kept_epoch;

typedef struct run_report run_report;

typedef struct {
    run_report *owner;
    char *name, *mode;
    int reps;                       /* K; 0 without SGKD statistics */
    int n_epochs;
    train_epoch_stats *epochs;
    int n_weights;
    report_weights_epoch *weights;
    int n_kept;
    report_kept_epoch *kept;
    /* collection (not in the log) */
    int weights_extra, kept_extra;
    int acc_epoch;
    float *acc_w;
    int64_t acc_n, acc_cap, acc_seen;
    uint64_t acc_rng;
    int64_t *acc_hist;
    double acc_kept_sum;
} report_run;

typedef struct {
    char *name, *mode;
    double test_acc, test_loss, seconds;
    int64_t n_test;
    int epochs, best_epoch;         /* best_epoch 0: none */
    double train_acc, val_acc;      /* NaN: not measured */
    int n_classes;
    int64_t *confusion;             /* n_classes^2, [true][pred]; NULL: none */
} report_result;

#define REPORT_MAX_META 16

struct run_report {
    const char *html_path, *metrics_path;  /* not owned */
    int n_meta;
    char *meta_key[REPORT_MAX_META], *meta_val[REPORT_MAX_META];
    bool has_data;
    char *data_name, *data_format;
    int64_t n_train, n_val, n_test;
    int n_classes, rank;
    int64_t dims[3];
    char **class_names;
    int64_t *count_train, *count_val, *count_test;
    bool has_model;
    char *model_name;
    int64_t params, param_bytes, flops, arena_bytes, codegen_arena_bytes;
    int n_runs;
    report_run **runs;
    int n_results;
    report_result *results;
    bool oom;                       /* an allocation failed while collecting */
    ssdc_error write_err;           /* first failed metrics write during the run */
    bool write_failed;
};

/* The --report / --metrics flags; 1 consumed, 0 not ours, -1 bad (printed). */
typedef struct {
    const char *html, *metrics;
} report_flags;
int report_parse_flag(report_flags *f, const char *cmd, int argc, char **argv, int *i);

#define CLI_REPORT_HELP                                                                           \
    "  --report FILE.html      a self-contained HTML report of the run: data set, model,\n"      \
    "                          learning curves, SGKD weights and kept representations per\n"    \
    "                          epoch, the comparison table, confusion matrices\n"               \
    "  --metrics FILE.csv      the report's data as a metrics log (rewritten after every\n"     \
    "                          epoch); 'ssdc report FILE.csv -o FILE.html' renders it\n"

/* NULL (and nothing to free) when neither flag was given.  argv: the
 * subcommand's (argv[0] is the subcommand name). */
run_report *report_new(const report_flags *f, int argc, char **argv);
void report_free(run_report *r);

void report_set_data(run_report *r, const dataset_pair *dp, const dataset *train,
                     const dataset *val);
/* The figures of ssdc inspect for g (the trained model). */
void report_set_model(run_report *r, const char *name, const graph *g);
/* The static arena of the C generated in this run (ssdc pipeline's deploy step). */
void report_set_codegen_arena(run_report *r, int64_t bytes);

/* A training run: call after cli_progress_attach; collects every epoch and,
 * when weights_extra/kept_extra >= 0 (passes/ssd.h ssd_info), the SGKD
 * statistics of every step.  p and opt must outlive the run. */
report_run *report_begin_run(run_report *r, const char *name, const char *mode, int reps,
                             int weights_extra, int kept_extra, cli_progress *p,
                             train_options *opt);
/* After train_model: takes the history (it includes resumed epochs). */
void report_end_run(report_run *run, const train_result *res);

/* A row of the final table; test may be NULL (no confusion matrix). */
void report_add_result(run_report *r, const char *name, const char *mode, const eval_result *test,
                       double seconds, int epochs, int best_epoch, double train_acc,
                       double val_acc);

/* Writes the metrics log and the HTML page (those asked for). */
ssdc_status report_finish(run_report *r, ssdc_error *err);

/* The log (cli/report_log.c): text (malloc'd) and back. */
ssdc_status report_format_metrics(const run_report *r, char **text, size_t *len, ssdc_error *err);
ssdc_status report_parse_metrics(const char *text, size_t len, const char *path, run_report **out,
                                 ssdc_error *err);
/* The page (cli/report_html.c, its charts cli/report_charts.c). */
ssdc_status report_render_html(const run_report *r, char **html, size_t *len, ssdc_error *err);

#endif

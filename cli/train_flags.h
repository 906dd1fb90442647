/* Training flags shared by train, distill and pipeline. */
#ifndef SSDC_CLI_TRAIN_FLAGS_H
#define SSDC_CLI_TRAIN_FLAGS_H

#include <signal.h>

#include "runtime/train.h"

typedef struct {
    train_options opt;
    optim_kind kind;
    double lr, momentum, wd, beta1, beta2, eps, smooth, val_split;
    bool nesterov, amsgrad, quiet;
    const char *checkpoint;
} cli_train_flags;

void cli_train_flags_init(cli_train_flags *f);
/* Consumes argv[*i] (and its value) if it is a training flag: 1 consumed,
 * 0 not a training flag, -1 bad value (usage message printed). */
int cli_train_parse_flag(cli_train_flags *f, const char *cmd, int argc, char **argv, int *i);
/* Fills f->opt from the flags; -1 on an inconsistent combination (printed). */
int cli_train_flags_finish(cli_train_flags *f, const char *cmd);

#define CLI_TRAIN_HELP                                                                            \
    "  --epochs N              epochs (default 100)\n"                                           \
    "  --batch N               batch size (default 128)\n"                                       \
    "  --optimizer NAME        sgd | adam | adamw (default adam)\n"                              \
    "  --lr X                  learning rate (default 1e-3; sgd 1e-2)\n"                         \
    "  --momentum X            sgd momentum (default 0)\n"                                       \
    "  --nesterov              sgd Nesterov momentum\n"                                          \
    "  --weight-decay X        L2 (sgd, adam) or decoupled (adamw, default 1e-2) weight decay\n" \
    "  --amsgrad               AMSGrad variant of adam/adamw\n"                                  \
    "  --beta1 X, --beta2 X    Adam betas (default 0.9, 0.999)\n"                                \
    "  --eps X                 Adam epsilon (default 1e-8)\n"                                    \
    "  --label-smoothing X     cross-entropy label smoothing (default 0)\n"                      \
    "  --val-split F           hold out a seeded stratified fraction of the training split\n"    \
    "                          for validation (default 0; 0.2 when --patience is given)\n"       \
    "  --patience N            early stopping: stop after N epochs without a better\n"           \
    "                          validation loss and restore the best weights (default off)\n"     \
    "  --seed N                seed for initialisation, shuffling, dropout, split (default 0)\n" \
    "  --threads N             OpenBLAS threads (default: OpenBLAS's own)\n"                     \
    "  --log FILE.csv          per-epoch metrics (epoch, losses, accuracies, seconds)\n"         \
    "  --checkpoint FILE       checkpoint written after every epoch (default OUTPUT.ckpt)\n"     \
    "  --resume                continue from the checkpoint (after Ctrl-C or a kill)\n"          \
    "  --on-nan stop|skip-batch  a NaN/Inf loss or gradient stops training naming the step\n"    \
    "                          and the first node that produced it (default), or skips the batch\n" \
    "  --bn-recalibrate on|off after training, set BatchNorm's running mean/variance to\n"      \
    "                          the training data's statistics under the final weights\n"       \
    "                          (default on; an ssdc step, not in the paper: the running\n"      \
    "                          averages lag weights that still move when an epoch has few\n"    \
    "                          batches; off: PyTorch's behaviour)\n"                             \
    "  --quiet                 no per-epoch lines\n"

/* Prints a warning when batches were skipped for non-finite values. */
void cli_report_skipped(const train_result *r);

/* A second listener of a training run (e.g. the report collector, cli/report.h),
 * called after the progress display; any member may be NULL. */
typedef struct {
    void (*on_epoch)(const train_epoch_stats *s, const train_progress *p, void *user);
    void (*on_step_extras)(int epoch, const graph_value *const *extras, int n_extras, void *user);
    void *user;
} cli_train_listener;

/* Progress display: a bar on a terminal, one line per epoch otherwise. */
typedef struct {
    bool tty, quiet;
    const char *label;  /* printed before each epoch line, e.g. "teacher" (may be NULL) */
    cli_train_listener also;
} cli_progress;
void cli_progress_attach(cli_progress *p, train_options *opt, bool quiet, const char *label);
/* After cli_progress_attach: also call l's hooks (p must outlive the run). */
void cli_progress_chain(cli_progress *p, train_options *opt, const cli_train_listener *l);

/* Ctrl-C / SIGTERM set this; training stops after the current batch. */
extern volatile sig_atomic_t cli_stop_flag;
void cli_install_stop_handler(void);

bool cli_parse_double(const char *s, double *out);
bool cli_parse_int(const char *s, long long lo, long long hi, long long *out);

#endif

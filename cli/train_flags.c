#include "cli/train_flags.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

volatile sig_atomic_t cli_stop_flag;

static void on_signal(int sig)
{
    cli_stop_flag = 1;
    signal(sig, SIG_DFL); /* a second Ctrl-C kills at once */
}

void cli_install_stop_handler(void)
{
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
}

bool cli_parse_double(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (!*s || *end || !isfinite(v))
        return false;
    *out = v;
    return true;
}

bool cli_parse_int(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

void cli_train_flags_init(cli_train_flags *f)
{
    memset(f, 0, sizeof *f);
    train_options_defaults(&f->opt);
    f->kind = OPTIM_ADAM;
    f->lr = -1;
    f->wd = -1;
    f->beta1 = 0.9;
    f->beta2 = 0.999;
    f->eps = 1e-8;
    f->val_split = -1;
}

int cli_train_parse_flag(cli_train_flags *f, const char *cmd, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    bool has = *i + 1 < argc;
    const char *v = has ? argv[*i + 1] : NULL;
    long long n;
#define TAKE() (++*i, 1)
#define BAD(...) (cli_usage_error(cmd, __VA_ARGS__), -1)
    if (!strcmp(a, "--nesterov"))
        return f->nesterov = true, 1;
    if (!strcmp(a, "--amsgrad"))
        return f->amsgrad = true, 1;
    if (!strcmp(a, "--resume"))
        return f->opt.resume = true, 1;
    if (!strcmp(a, "--quiet"))
        return f->quiet = true, 1;
    if (!has)
        return 0;
    if (!strcmp(a, "--epochs")) {
        if (!cli_parse_int(v, 0, 1000000, &n))
            return BAD("--epochs expects 0..1000000, got '%s'", v);
        f->opt.epochs = (int)n;
        return TAKE();
    }
    if (!strcmp(a, "--batch")) {
        if (!cli_parse_int(v, 1, 1 << 20, &n))
            return BAD("--batch expects a positive count, got '%s'", v);
        f->opt.batch = (int)n;
        return TAKE();
    }
    if (!strcmp(a, "--optimizer")) {
        if (!optim_parse_kind(v, &f->kind))
            return BAD("--optimizer expects sgd, adam or adamw, got '%s'", v);
        return TAKE();
    }
    struct {
        const char *name;
        double *dst, lo, hi;
        bool lo_open;
    } reals[] = {
        {"--lr", &f->lr, 0, INFINITY, true},          {"--momentum", &f->momentum, 0, 1, false},
        {"--weight-decay", &f->wd, 0, INFINITY, false}, {"--beta1", &f->beta1, 0, 1, false},
        {"--beta2", &f->beta2, 0, 1, false},           {"--eps", &f->eps, 0, INFINITY, true},
        {"--label-smoothing", &f->smooth, 0, 1, false}, {"--val-split", &f->val_split, 0, 1, false},
    };
    for (size_t k = 0; k < sizeof reals / sizeof reals[0]; k++) {
        if (strcmp(a, reals[k].name))
            continue;
        double x;
        if (!cli_parse_double(v, &x) || x < reals[k].lo || x >= reals[k].hi ||
            (reals[k].lo_open && x <= reals[k].lo))
            return BAD("%s expects a number in %s%g, %g), got '%s'", a,
                       reals[k].lo_open ? "(" : "[", reals[k].lo, reals[k].hi, v);
        *reals[k].dst = x;
        return TAKE();
    }
    if (!strcmp(a, "--patience")) {
        if (!cli_parse_int(v, 0, 1000000, &n))
            return BAD("--patience expects a count, got '%s'", v);
        f->opt.patience = (int)n;
        return TAKE();
    }
    if (!strcmp(a, "--seed")) {
        if (!cli_parse_int(v, 0, (long long)(~0ull >> 1), &n))
            return BAD("--seed expects a non-negative number, got '%s'", v);
        f->opt.seed = (uint64_t)n;
        return TAKE();
    }
    if (!strcmp(a, "--threads")) {
        if (!cli_parse_int(v, 1, 1024, &n))
            return BAD("--threads expects 1..1024, got '%s'", v);
        f->opt.threads = (int)n;
        return TAKE();
    }
    if (!strcmp(a, "--log")) {
        f->opt.log_path = v;
        return TAKE();
    }
    if (!strcmp(a, "--bn-recalibrate")) {
        if (strcmp(v, "on") && strcmp(v, "off"))
            return BAD("--bn-recalibrate expects on or off, got '%s'", v);
        f->opt.bn_recalibrate = !strcmp(v, "on");
        return TAKE();
    }
    if (!strcmp(a, "--on-nan")) {
        if (!strcmp(v, "stop"))
            f->opt.on_nan = TRAIN_ON_NAN_STOP;
        else if (!strcmp(v, "skip-batch"))
            f->opt.on_nan = TRAIN_ON_NAN_SKIP_BATCH;
        else
            return BAD("--on-nan expects stop or skip-batch, got '%s'", v);
        return TAKE();
    }
    if (!strcmp(a, "--checkpoint")) {
        f->checkpoint = v;
        return TAKE();
    }
#undef TAKE
#undef BAD
    return 0;
}

int cli_train_flags_finish(cli_train_flags *f, const char *cmd)
{
    train_options *o = &f->opt;
    optim_defaults(&o->optim, f->kind);
    if (f->lr > 0)
        o->optim.lr = (float)f->lr;
    o->optim.momentum = (float)f->momentum;
    o->optim.nesterov = f->nesterov;
    if (f->wd >= 0)
        o->optim.weight_decay = (float)f->wd;
    o->optim.beta1 = (float)f->beta1;
    o->optim.beta2 = (float)f->beta2;
    o->optim.eps = (float)f->eps;
    o->optim.amsgrad = f->amsgrad;
    o->label_smoothing = (float)f->smooth;
    if (f->nesterov && (f->kind != OPTIM_SGD || f->momentum <= 0)) {
        cli_usage_error(cmd, "--nesterov needs --optimizer sgd and --momentum > 0");
        return -1;
    }
    if (f->val_split < 0)
        f->val_split = o->patience > 0 ? 0.2 : 0.0;
    if (o->patience > 0 && f->val_split <= 0) {
        cli_usage_error(cmd, "--patience needs a validation split (--val-split > 0)");
        return -1;
    }
    return 0;
}

static void on_batch(const train_progress *p, void *user)
{
    const cli_progress *pc = user;
    if (!pc->tty || pc->quiet)
        return;
    int width = 24, fill = (int)(width * p->batch / (p->batches ? p->batches : 1));
    char bar[32];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    int eta = (int)(p->eta_s + 0.5);
    fprintf(stderr,
            "\r\033[K%s%sepoch %d/%d [%s] %lld/%lld  loss %.4f  acc %5.1f%%  %.0f samples/s  "
            "ETA %d:%02d",
            pc->label ? pc->label : "", pc->label ? " " : "", p->epoch, p->epochs, bar,
            (long long)p->batch, (long long)p->batches, p->loss, 100 * p->accuracy,
            p->samples_per_s, eta / 60, eta % 60);
    fflush(stderr);
}

static void on_epoch(const train_epoch_stats *s, const train_progress *p, void *user)
{
    const cli_progress *pc = user;
    if (pc->tty && !pc->quiet)
        fprintf(stderr, "\r\033[K");
    if (pc->quiet)
        return;
    printf("%s%sepoch %d/%d  loss %.4f  acc %5.1f%%", pc->label ? pc->label : "",
           pc->label ? " " : "", s->epoch, p->epochs, s->train_loss, 100 * s->train_acc);
    if (!isnan(s->val_loss))
        printf("  val_loss %.4f  val_acc %5.1f%%%s", s->val_loss, 100 * s->val_acc,
               s->best ? "  *" : "");
    printf("  %.0f samples/s  %.2fs\n", p->samples_per_s, s->seconds);
    fflush(stdout);
}

static void on_epoch_chained(const train_epoch_stats *s, const train_progress *p, void *user)
{
    const cli_progress *pc = user;
    on_epoch(s, p, user);
    if (pc->also.on_epoch)
        pc->also.on_epoch(s, p, pc->also.user);
}

static void on_extras_chained(int epoch, const graph_value *const *extras, int n_extras,
                              void *user)
{
    const cli_progress *pc = user;
    if (pc->also.on_step_extras)
        pc->also.on_step_extras(epoch, extras, n_extras, pc->also.user);
}

void cli_progress_chain(cli_progress *p, train_options *opt, const cli_train_listener *l)
{
    p->also = *l;
    opt->on_epoch = on_epoch_chained;
    opt->on_step_extras = l->on_step_extras ? on_extras_chained : NULL;
    opt->user = p;
}

void cli_progress_attach(cli_progress *p, train_options *opt, bool quiet, const char *label)
{
    p->tty = isatty(2) != 0;
    p->quiet = quiet;
    p->label = label;
    p->also = (cli_train_listener){0};
    opt->on_batch = on_batch;
    opt->on_epoch = on_epoch;
    opt->user = p;
    opt->stop = &cli_stop_flag;
}

void cli_report_skipped(const train_result *r)
{
    if (r->skipped_batches > 0)
        fprintf(stderr, "ssdc: warning: %lld batches skipped for a non-finite loss or gradient "
                        "(last: %s)\n",
                (long long)r->skipped_batches, r->skipped_msg);
}

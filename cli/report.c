/* The run report's model: its lifetime, what the commands set (data set,
 * model, results) and what training reports through the listener chain
 * (epochs, SGKD statistics).  Its metrics log: cli/report_log.c; its page:
 * cli/report_html.c. */
#include "cli/report.h"

#include <cblas.h>
#include <math.h>
#include <protobuf-c/protobuf-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/report_internal.h"
#include "graph/fileio.h"

#define RESERVOIR_CAP ((int64_t)1 << 22)

/* ---- flags, lifetime ---- */

int report_parse_flag(report_flags *f, const char *cmd, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    bool html = !strcmp(a, "--report"), metrics = !strcmp(a, "--metrics");
    if (!html && !metrics)
        return 0;
    if (*i + 1 >= argc || !argv[*i + 1][0]) {
        cli_usage_error(cmd, "%s expects a file name", a);
        return -1;
    }
    *(html ? &f->html : &f->metrics) = argv[++*i];
    return 1;
}

char *report_copy_str(run_report *r, const char *s)
{
    char *p = graph_strdup(s ? s : "");
    if (!p && r)
        r->oom = true;
    return p;
}

void report_add_meta(run_report *r, const char *key, const char *val)
{
    if (r->n_meta == REPORT_MAX_META)
        return;
    r->meta_key[r->n_meta] = report_copy_str(r, key);
    r->meta_val[r->n_meta] = report_copy_str(r, val);
    r->n_meta++;
}

/* Shell-quotes an argument when it needs it. */
static void put_shell_arg(report_buf *b, const char *a)
{
    bool plain = *a != 0;
    for (const char *c = a; *c && plain; c++)
        plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=,+-@%",
                       *c) != NULL;
    if (plain) {
        report_buf_puts(b, a);
        return;
    }
    report_buf_puts(b, "'");
    for (const char *c = a; *c; c++) {
        if (*c == '\'')
            report_buf_puts(b, "'\\''");
        else
            report_buf_put(b, c, 1);
    }
    report_buf_puts(b, "'");
}

run_report *report_new_empty(void)
{
    run_report *r = calloc(1, sizeof *r);
    if (r)
        r->codegen_arena_bytes = r->flops = r->arena_bytes = -1;
    return r;
}

run_report *report_new(const report_flags *f, int argc, char **argv)
{
    if (!f->html && !f->metrics)
        return NULL;
    run_report *r = report_new_empty();
    if (!r)
        return NULL;
    r->html_path = f->html;
    r->metrics_path = f->metrics;
    report_buf cmd = {0};
    report_buf_puts(&cmd, "ssdc");
    for (int i = 0; i < argc; i++) {
        report_buf_puts(&cmd, " ");
        put_shell_arg(&cmd, argv[i]);
    }
    report_add_meta(r, "command", cmd.oom ? "?" : cmd.p);
    free(cmd.p);
    report_add_meta(r, "ssdc", cli_version);
    /* SOURCE_DATE_EPOCH (reproducible-builds.org) pins the date */
    time_t now = time(NULL);
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (sde && *sde) {
        char *end;
        long long v = strtoll(sde, &end, 10);
        if (!*end && v >= 0)
            now = (time_t)v;
    }
    struct tm tm;
    char date[64] = "?";
    if (gmtime_r(&now, &tm))
        strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", &tm);
    report_add_meta(r, "date", date);
    char cc[128];
#if defined(__clang__)
    snprintf(cc, sizeof cc, "clang %s", __clang_version__);
#elif defined(__GNUC__)
    snprintf(cc, sizeof cc, "gcc %s", __VERSION__);
#else
    snprintf(cc, sizeof cc, "unknown");
#endif
    report_add_meta(r, "compiler", cc);
    const char *blas = openblas_get_config();
    report_add_meta(r, "openblas", blas ? blas : "?");
    report_add_meta(r, "protobuf-c", protobuf_c_version());
    return r;
}

static void run_free(report_run *run)
{
    if (!run)
        return;
    free(run->name);
    free(run->mode);
    free(run->epochs);
    free(run->weights);
    for (int i = 0; i < run->n_kept; i++)
        free(run->kept[i].hist);
    free(run->kept);
    free(run->acc_w);
    free(run->acc_hist);
    free(run);
}

void report_free(run_report *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n_meta; i++) {
        free(r->meta_key[i]);
        free(r->meta_val[i]);
    }
    free(r->data_name);
    free(r->data_format);
    if (r->class_names)
        for (int c = 0; c < r->n_classes; c++)
            free(r->class_names[c]);
    free(r->class_names);
    free(r->count_train);
    free(r->count_val);
    free(r->count_test);
    free(r->model_name);
    for (int i = 0; i < r->n_runs; i++)
        run_free(r->runs[i]);
    free(r->runs);
    for (int i = 0; i < r->n_results; i++) {
        free(r->results[i].name);
        free(r->results[i].mode);
        free(r->results[i].confusion);
    }
    free(r->results);
    free(r);
}

/* ---- data and model ---- */

bool report_alloc_classes(run_report *r, int C)
{
    r->n_classes = C;
    r->class_names = calloc((size_t)C + 1, sizeof *r->class_names);
    r->count_train = calloc((size_t)C + 1, sizeof *r->count_train);
    r->count_val = calloc((size_t)C + 1, sizeof *r->count_val);
    r->count_test = calloc((size_t)C + 1, sizeof *r->count_test);
    if (!r->class_names || !r->count_train || !r->count_val || !r->count_test) {
        r->oom = true;
        r->n_classes = 0;
        return false;
    }
    return true;
}

void report_set_data(run_report *r, const dataset_pair *dp, const dataset *train,
                     const dataset *val)
{
    if (!r || r->has_data)
        return;
    const dataset *d = &dp->train;
    r->has_data = true;
    r->data_name = report_copy_str(r, d->name ? d->name : "?");
    r->data_format = report_copy_str(r, d->format ? d->format : "?");
    r->n_train = d->n;
    r->n_val = val ? val->n : 0;
    r->n_test = dp->test.n;
    r->rank = d->rank;
    for (int i = 0; i < 3; i++)
        r->dims[i] = i < d->rank ? d->dims[i] : 0;
    if (!report_alloc_classes(r, d->n_classes))
        return;
    for (int c = 0; c < d->n_classes; c++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%d", c);
        const char *name = d->class_names && d->class_names[c] ? d->class_names[c] : buf;
        r->class_names[c] = report_copy_str(r, name);
    }
    dataset_count_classes(train ? train : d, r->count_train);
    if (val && val->n)
        dataset_count_classes(val, r->count_val);
    dataset_count_classes(&dp->test, r->count_test);
}

void report_set_model(run_report *r, const char *name, const graph *g)
{
    if (!r)
        return;
    free(r->model_name);
    r->model_name = report_copy_str(r, name);
    r->has_model = true;
    int n_init;
    cli_model_params(g, &r->params, &r->param_bytes, &n_init);
    r->flops = r->arena_bytes = -1;
    graph *c = graph_clone(g);
    ssdc_error err = {0};
    rt_plan_stats st;
    int64_t flops;
    if (c && graph_infer_shapes(c, &err) == SSDC_OK &&
        cli_per_sample_flops(c, &flops, &st, &err) == SSDC_OK) {
        r->flops = flops;
        r->arena_bytes = (int64_t)st.arena_bytes;
    }
    graph_free(c);
}

void report_set_codegen_arena(run_report *r, int64_t bytes)
{
    if (r)
        r->codegen_arena_bytes = bytes;
}

/* ---- collection ---- */

report_run *report_add_run(run_report *r, const char *name, const char *mode, int reps)
{
    report_run **runs = realloc(r->runs, (size_t)(r->n_runs + 1) * sizeof *runs);
    report_run *run = calloc(1, sizeof *run);
    if (runs)
        r->runs = runs;
    if (!runs || !run) {
        free(run);
        r->oom = true;
        return NULL;
    }
    run->owner = r;
    run->name = report_copy_str(r, name);
    run->mode = report_copy_str(r, mode);
    run->reps = reps > 0 ? reps : 0;
    run->weights_extra = run->kept_extra = -1;
    r->runs[r->n_runs++] = run;
    return run;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* numpy's default (linear) quantile of sorted v[0..n) */
static double quantile_sorted(const float *v, int64_t n, double q)
{
    double pos = q * (double)(n - 1);
    int64_t lo = (int64_t)floor(pos), hi = lo + 1 < n ? lo + 1 : n - 1;
    double f = pos - (double)lo;
    return (double)v[lo] + f * ((double)v[hi] - (double)v[lo]);
}

static void acc_reset(report_run *run, int epoch)
{
    run->acc_epoch = epoch;
    run->acc_n = run->acc_seen = 0;
    run->acc_kept_sum = 0;
    run->acc_rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)epoch;
    if (run->acc_hist)
        memset(run->acc_hist, 0, (size_t)(run->reps + 1) * sizeof *run->acc_hist);
}

/* Turns the steps collected for run->acc_epoch into its weights/kept records. */
static void acc_flush(report_run *run)
{
    run_report *r = run->owner;
    if (run->acc_epoch <= 0)
        return;
    if (run->acc_n > 0) {
        report_weights_epoch *w = realloc(run->weights, (size_t)(run->n_weights + 1) * sizeof *w);
        if (!w) {
            r->oom = true;
        } else {
            run->weights = w;
            report_weights_epoch *e = &w[run->n_weights++];
            qsort(run->acc_w, (size_t)run->acc_n, sizeof(float), cmp_float);
            static const double qs[7] = {0, 0.10, 0.25, 0.50, 0.75, 0.90, 1};
            e->epoch = run->acc_epoch;
            e->n = run->acc_n;
            for (int k = 0; k < 7; k++)
                e->q[k] = quantile_sorted(run->acc_w, run->acc_n, qs[k]);
            double s = 0;
            for (int64_t i = 0; i < run->acc_n; i++)
                s += run->acc_w[i];
            e->mean = s / (double)run->acc_n;
        }
    }
    int64_t samples = 0;
    for (int k = 0; run->acc_hist && k <= run->reps; k++)
        samples += run->acc_hist[k];
    if (samples > 0) {
        report_kept_epoch *kp = realloc(run->kept, (size_t)(run->n_kept + 1) * sizeof *kp);
        int64_t *h = malloc((size_t)(run->reps + 1) * sizeof *h);
        if (kp)
            run->kept = kp;
        if (!kp || !h) {
            free(h);
            r->oom = true;
        } else {
            report_kept_epoch *e = &kp[run->n_kept++];
            memcpy(h, run->acc_hist, (size_t)(run->reps + 1) * sizeof *h);
            e->epoch = run->acc_epoch;
            e->hist = h;
            e->samples = samples;
            e->min = -1;
            e->max = 0;
            double sum = 0;
            for (int k = 0; k <= run->reps; k++) {
                if (!h[k])
                    continue;
                if (e->min < 0)
                    e->min = k;
                e->max = k;
                sum += (double)k * (double)h[k];
            }
            e->mean = sum / (double)samples;
        }
    }
    acc_reset(run, 0);
}

static void acc_add_weight(report_run *run, float w)
{
    run_report *r = run->owner;
    if (run->acc_seen < RESERVOIR_CAP) {
        if (run->acc_n == run->acc_cap) {
            int64_t cap = run->acc_cap ? 2 * run->acc_cap : 4096;
            float *p = realloc(run->acc_w, (size_t)cap * sizeof *p);
            if (!p) {
                r->oom = true;
                return;
            }
            run->acc_w = p;
            run->acc_cap = cap;
        }
        run->acc_w[run->acc_n++] = w;
    } else {
        /* reservoir sampling with a fixed generator: deterministic */
        run->acc_rng ^= run->acc_rng << 13;
        run->acc_rng ^= run->acc_rng >> 7;
        run->acc_rng ^= run->acc_rng << 17;
        uint64_t j = run->acc_rng % (uint64_t)(run->acc_seen + 1);
        if (j < (uint64_t)RESERVOIR_CAP)
            run->acc_w[j] = w;
    }
    run->acc_seen++;
}

static void on_extras(int epoch, const graph_value *const *extras, int n_extras, void *user)
{
    report_run *run = user;
    if (epoch != run->acc_epoch) {
        acc_flush(run);
        acc_reset(run, epoch);
    }
    if (run->weights_extra >= 0 && run->weights_extra < n_extras) {
        const graph_value *v = extras[run->weights_extra];
        for (int64_t i = 0; i < v->numel; i++) {
            double w = v->dtype == GRAPH_DT_FLOAT ? ((const float *)v->data)[i]
                                                  : graph_value_get_f64(v, i);
            if (w > 0)
                acc_add_weight(run, (float)w);
        }
    }
    if (run->kept_extra >= 0 && run->kept_extra < n_extras && run->acc_hist) {
        const graph_value *v = extras[run->kept_extra];
        for (int64_t i = 0; i < v->numel; i++) {
            double k = graph_value_get_f64(v, i);
            long kk = isfinite(k) ? lround(k) : 0;
            if (kk < 0)
                kk = 0;
            if (kk > run->reps)
                kk = run->reps;
            run->acc_hist[kk]++;
        }
    }
}

void report_set_epoch(report_run *run, const train_epoch_stats *s)
{
    for (int i = 0; i < run->n_epochs; i++)
        if (run->epochs[i].epoch == s->epoch) {
            run->epochs[i] = *s;
            return;
        }
    train_epoch_stats *e = realloc(run->epochs, (size_t)(run->n_epochs + 1) * sizeof *e);
    if (!e) {
        run->owner->oom = true;
        return;
    }
    run->epochs = e;
    e[run->n_epochs++] = *s;
}

static void write_metrics_now(run_report *r)
{
    if (!r->metrics_path || r->write_failed)
        return;
    ssdc_error err = {0};
    if (report_write_metrics(r, r->metrics_path, &err)) {
        r->write_failed = true;
        r->write_err = err;
    }
}

static void on_epoch(const train_epoch_stats *s, const train_progress *p, void *user)
{
    report_run *run = user;
    if (run->acc_epoch == s->epoch)
        acc_flush(run);
    report_set_epoch(run, s);
    write_metrics_now(run->owner);
}

report_run *report_begin_run(run_report *r, const char *name, const char *mode, int reps,
                             int weights_extra, int kept_extra, cli_progress *p,
                             train_options *opt)
{
    if (!r)
        return NULL;
    bool sgkd = weights_extra >= 0 || kept_extra >= 0;
    report_run *run = report_add_run(r, name, mode, sgkd ? reps : 0);
    if (!run)
        return NULL;
    if (sgkd && run->reps > 0) {
        run->weights_extra = weights_extra;
        run->kept_extra = kept_extra;
        run->acc_hist = calloc((size_t)run->reps + 1, sizeof *run->acc_hist);
        if (!run->acc_hist)
            r->oom = true;
    }
    acc_reset(run, 0);
    cli_train_listener l = {.on_epoch = on_epoch,
                            .on_step_extras = run->weights_extra >= 0 || run->kept_extra >= 0
                                                  ? on_extras
                                                  : NULL,
                            .user = run};
    cli_progress_chain(p, opt, &l);
    return run;
}

void report_end_run(report_run *run, const train_result *res)
{
    if (!run)
        return;
    acc_reset(run, 0); /* an interrupted epoch is not in the history: drop its steps */
    free(run->acc_w);
    run->acc_w = NULL;
    run->acc_n = run->acc_cap = 0;
    if (!res)
        return;
    for (int i = 0; i < res->n_history; i++)
        report_set_epoch(run, &res->history[i]);
    /* epochs in order (a resume adds the earlier ones last) */
    for (int i = 1; i < run->n_epochs; i++)
        for (int j = i; j > 0 && run->epochs[j - 1].epoch > run->epochs[j].epoch; j--) {
            train_epoch_stats t = run->epochs[j];
            run->epochs[j] = run->epochs[j - 1];
            run->epochs[j - 1] = t;
        }
}

void report_add_result(run_report *r, const char *name, const char *mode, const eval_result *test,
                       double seconds, int epochs, int best_epoch, double train_acc,
                       double val_acc)
{
    if (!r)
        return;
    report_result *res = realloc(r->results, (size_t)(r->n_results + 1) * sizeof *res);
    if (!res) {
        r->oom = true;
        return;
    }
    r->results = res;
    report_result *x = &res[r->n_results++];
    memset(x, 0, sizeof *x);
    x->name = report_copy_str(r, name);
    x->mode = report_copy_str(r, mode);
    x->test_acc = test ? test->accuracy : NAN;
    x->test_loss = test ? test->loss : NAN;
    x->n_test = test ? test->n : 0;
    x->seconds = seconds;
    x->epochs = epochs;
    x->best_epoch = best_epoch;
    x->train_acc = train_acc;
    x->val_acc = val_acc;
    if (test && test->confusion && test->n_classes > 0) {
        size_t n = (size_t)test->n_classes * (size_t)test->n_classes;
        x->confusion = malloc(n * sizeof *x->confusion);
        if (!x->confusion) {
            r->oom = true;
        } else {
            memcpy(x->confusion, test->confusion, n * sizeof *x->confusion);
            x->n_classes = test->n_classes;
        }
    }
    write_metrics_now(r);
}

ssdc_status report_finish(run_report *r, ssdc_error *err)
{
    if (!r)
        return SSDC_OK;
    if (r->oom)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory while collecting the report");
    if (r->write_failed) {
        *err = r->write_err;
        return err->code ? err->code : SSDC_ERR_IO;
    }
    ssdc_status st = SSDC_OK;
    if (r->metrics_path && (st = report_write_metrics(r, r->metrics_path, err)))
        return st;
    if (r->html_path) {
        char *text = NULL;
        size_t len = 0;
        if (!(st = report_render_html(r, &text, &len, err)))
            st = ssdc_write_file_atomic(r->html_path, text, len, err);
        free(text);
    }
    return st;
}

/* The run report: collection during training, the metrics log, and
 * `ssdc report METRICS.csv -o FILE.html` (the page itself: cli/report_html.c). */
#include "cli/report.h"

#include <cblas.h>
#include <math.h>
#include <protobuf-c/protobuf-c.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "graph/fileio.h"

#define RESERVOIR_CAP ((int64_t)1 << 22)
#define METRICS_MAX_BYTES ((size_t)1 << 28)

/* ---- text buffer ---- */

void report_buf_put(report_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void report_buf_puts(report_buf *b, const char *s)
{
    report_buf_put(b, s, strlen(s));
}

void report_buf_printf(report_buf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        report_buf_put(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    report_buf_put(b, big, (size_t)n);
    free(big);
}

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

static char *xstrdup(run_report *r, const char *s)
{
    char *p = graph_strdup(s ? s : "");
    if (!p && r)
        r->oom = true;
    return p;
}

static void add_meta(run_report *r, const char *key, const char *val)
{
    if (r->n_meta == REPORT_MAX_META)
        return;
    r->meta_key[r->n_meta] = xstrdup(r, key);
    r->meta_val[r->n_meta] = xstrdup(r, val);
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

static run_report *report_alloc(void)
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
    run_report *r = report_alloc();
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
    add_meta(r, "command", cmd.oom ? "?" : cmd.p);
    free(cmd.p);
    add_meta(r, "ssdc", cli_version);
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
    add_meta(r, "date", date);
    char cc[128];
#if defined(__clang__)
    snprintf(cc, sizeof cc, "clang %s", __clang_version__);
#elif defined(__GNUC__)
    snprintf(cc, sizeof cc, "gcc %s", __VERSION__);
#else
    snprintf(cc, sizeof cc, "unknown");
#endif
    add_meta(r, "compiler", cc);
    const char *blas = openblas_get_config();
    add_meta(r, "openblas", blas ? blas : "?");
    add_meta(r, "protobuf-c", protobuf_c_version());
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

static bool alloc_classes(run_report *r, int C)
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
    r->data_name = xstrdup(r, d->name ? d->name : "?");
    r->data_format = xstrdup(r, d->format ? d->format : "?");
    r->n_train = d->n;
    r->n_val = val ? val->n : 0;
    r->n_test = dp->test.n;
    r->rank = d->rank;
    for (int i = 0; i < 3; i++)
        r->dims[i] = i < d->rank ? d->dims[i] : 0;
    if (!alloc_classes(r, d->n_classes))
        return;
    for (int c = 0; c < d->n_classes; c++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%d", c);
        r->class_names[c] = xstrdup(r, d->class_names && d->class_names[c] ? d->class_names[c] : buf);
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
    r->model_name = xstrdup(r, name);
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

static report_run *run_new(run_report *r, const char *name, const char *mode, int reps)
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
    run->name = xstrdup(r, name);
    run->mode = xstrdup(r, mode);
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

static void set_epoch(report_run *run, const train_epoch_stats *s)
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
    char *text = NULL;
    size_t len = 0;
    ssdc_error err = {0};
    if (report_format_metrics(r, &text, &len, &err) ||
        ssdc_write_file_atomic(r->metrics_path, text, len, &err)) {
        r->write_failed = true;
        r->write_err = err;
    }
    free(text);
}

static void on_epoch(const train_epoch_stats *s, const train_progress *p, void *user)
{
    report_run *run = user;
    if (run->acc_epoch == s->epoch)
        acc_flush(run);
    set_epoch(run, s);
    write_metrics_now(run->owner);
}

report_run *report_begin_run(run_report *r, const char *name, const char *mode, int reps,
                             int weights_extra, int kept_extra, cli_progress *p,
                             train_options *opt)
{
    if (!r)
        return NULL;
    bool sgkd = weights_extra >= 0 || kept_extra >= 0;
    report_run *run = run_new(r, name, mode, sgkd ? reps : 0);
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
        set_epoch(run, &res->history[i]);
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
    x->name = xstrdup(r, name);
    x->mode = xstrdup(r, mode);
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
    char *text = NULL;
    size_t len = 0;
    ssdc_status st = SSDC_OK;
    if (r->metrics_path) {
        if (!(st = report_format_metrics(r, &text, &len, err)))
            st = ssdc_write_file_atomic(r->metrics_path, text, len, err);
        free(text);
        if (st)
            return st;
    }
    if (r->html_path) {
        if (!(st = report_render_html(r, &text, &len, err)))
            st = ssdc_write_file_atomic(r->html_path, text, len, err);
        free(text);
    }
    return st;
}

/* ---- the metrics log ---- */

static void put_str(report_buf *b, const char *s)
{
    report_buf_puts(b, ",");
    for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
        if (*c == '%' || *c == ',' || *c < 0x20 || *c >= 0x7f)
            report_buf_printf(b, "%%%02X", *c);
        else
            report_buf_put(b, (const char *)c, 1);
    }
}

static void put_num(report_buf *b, double v)
{
    if (isnan(v))
        report_buf_puts(b, ",nan");
    else
        report_buf_printf(b, ",%.17g", v);
}

static void put_int(report_buf *b, long long v)
{
    report_buf_printf(b, ",%lld", v);
}

ssdc_status report_format_metrics(const run_report *r, char **text, size_t *len, ssdc_error *err)
{
    report_buf b = {0};
    report_buf_puts(&b, "ssdc-metrics,1\n"
                        "# ssdc run metrics; format: cli/report.h.  Render: ssdc report FILE -o "
                        "FILE.html\n");
    for (int i = 0; i < r->n_meta; i++) {
        report_buf_puts(&b, "meta");
        put_str(&b, r->meta_key[i]);
        put_str(&b, r->meta_val[i]);
        report_buf_puts(&b, "\n");
    }
    if (r->has_data) {
        report_buf_puts(&b, "data");
        put_str(&b, r->data_name);
        put_str(&b, r->data_format);
        put_int(&b, r->n_train);
        put_int(&b, r->n_val);
        put_int(&b, r->n_test);
        put_int(&b, r->n_classes);
        put_int(&b, r->rank);
        for (int i = 0; i < 3; i++)
            put_int(&b, r->dims[i]);
        report_buf_puts(&b, "\n");
        for (int c = 0; c < r->n_classes; c++) {
            report_buf_puts(&b, "class");
            put_int(&b, c);
            put_str(&b, r->class_names[c]);
            put_int(&b, r->count_train[c]);
            put_int(&b, r->count_val[c]);
            put_int(&b, r->count_test[c]);
            report_buf_puts(&b, "\n");
        }
    }
    if (r->has_model) {
        report_buf_puts(&b, "model");
        put_str(&b, r->model_name);
        put_int(&b, r->params);
        put_int(&b, r->param_bytes);
        put_int(&b, r->flops);
        put_int(&b, r->arena_bytes);
        put_int(&b, r->codegen_arena_bytes);
        report_buf_puts(&b, "\n");
    }
    for (int i = 0; i < r->n_runs; i++) {
        const report_run *run = r->runs[i];
        report_buf_puts(&b, "run");
        put_str(&b, run->name);
        put_str(&b, run->mode);
        put_int(&b, run->reps);
        report_buf_puts(&b, "\n");
        for (int e = 0; e < run->n_epochs; e++) {
            const train_epoch_stats *s = &run->epochs[e];
            report_buf_puts(&b, "epoch");
            put_str(&b, run->name);
            put_int(&b, s->epoch);
            put_num(&b, s->train_loss);
            put_num(&b, s->train_acc);
            put_num(&b, s->val_loss);
            put_num(&b, s->val_acc);
            put_num(&b, s->seconds);
            put_int(&b, s->best);
            report_buf_puts(&b, "\n");
        }
        for (int e = 0; e < run->n_weights; e++) {
            const report_weights_epoch *w = &run->weights[e];
            report_buf_puts(&b, "weights");
            put_str(&b, run->name);
            put_int(&b, w->epoch);
            put_int(&b, w->n);
            for (int k = 0; k < 7; k++)
                put_num(&b, w->q[k]);
            put_num(&b, w->mean);
            report_buf_puts(&b, "\n");
        }
        for (int e = 0; e < run->n_kept; e++) {
            const report_kept_epoch *k = &run->kept[e];
            report_buf_puts(&b, "kept");
            put_str(&b, run->name);
            put_int(&b, k->epoch);
            put_int(&b, k->samples);
            put_int(&b, k->min);
            put_num(&b, k->mean);
            put_int(&b, k->max);
            for (int j = 0; j <= run->reps; j++)
                put_int(&b, k->hist[j]);
            report_buf_puts(&b, "\n");
        }
    }
    for (int i = 0; i < r->n_results; i++) {
        const report_result *x = &r->results[i];
        report_buf_puts(&b, "result");
        put_str(&b, x->name);
        put_str(&b, x->mode);
        put_num(&b, x->test_acc);
        put_num(&b, x->test_loss);
        put_int(&b, x->n_test);
        put_num(&b, x->seconds);
        put_int(&b, x->epochs);
        put_int(&b, x->best_epoch);
        put_num(&b, x->train_acc);
        put_num(&b, x->val_acc);
        report_buf_puts(&b, "\n");
        if (x->confusion) {
            report_buf_puts(&b, "confusion");
            put_str(&b, x->name);
            put_int(&b, x->n_classes);
            for (int64_t j = 0; j < (int64_t)x->n_classes * x->n_classes; j++)
                put_int(&b, x->confusion[j]);
            report_buf_puts(&b, "\n");
        }
    }
    if (b.oom) {
        free(b.p);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory formatting the metrics log");
    }
    *text = b.p;
    *len = b.len;
    return SSDC_OK;
}

/* -- reading it back -- */

typedef struct {
    const char *path;
    int line;
    char **f;       /* fields of the current line (decoded in place) */
    int n, cap;
    ssdc_error *err;
} mparser;

static ssdc_status mfail(mparser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static ssdc_status mfail(mparser *p, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ssdc_fail(p->err, SSDC_ERR_FORMAT, "%s:%d: %s", p->path, p->line, msg);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static ssdc_status decode_str(mparser *p, int i)
{
    char *s = p->f[i], *o = s;
    for (; *s; s++) {
        if (*s != '%') {
            *o++ = *s;
            continue;
        }
        int h = hexval(s[1]), l = h >= 0 ? hexval(s[2]) : -1;
        if (h < 0 || l < 0)
            return mfail(p, "field %d: a '%%' not followed by two hex digits", i + 1);
        int v = h * 16 + l;
        if (!v)
            return mfail(p, "field %d: %%00 in a string", i + 1);
        *o++ = (char)v;
        s += 2;
    }
    *o = 0;
    return SSDC_OK;
}

static ssdc_status get_num(mparser *p, int i, double *v)
{
    char *end;
    const char *s = p->f[i];
    *v = strtod(s, &end);
    if (!*s || *end)
        return mfail(p, "field %d is '%.40s', expected a number", i + 1, s);
    return SSDC_OK;
}

static ssdc_status get_int(mparser *p, int i, int64_t lo, int64_t hi, int64_t *v)
{
    char *end;
    const char *s = p->f[i];
    long long x = strtoll(s, &end, 10);
    if (!*s || *end || x < lo || x > hi)
        return mfail(p, "field %d is '%.40s', expected an integer in %lld..%lld", i + 1, s,
                     (long long)lo, (long long)hi);
    *v = x;
    return SSDC_OK;
}

static ssdc_status need(mparser *p, int n)
{
    if (p->n != n)
        return mfail(p, "'%s' record has %d fields, expected %d", p->f[0], p->n, n);
    return SSDC_OK;
}

static report_run *find_run(run_report *r, const char *name)
{
    for (int i = r->n_runs - 1; i >= 0; i--)
        if (!strcmp(r->runs[i]->name, name))
            return r->runs[i];
    return NULL;
}

#define TRY(x)                                                                                    \
    do {                                                                                          \
        if ((st = (x)))                                                                           \
            return st;                                                                            \
    } while (0)
#define BIG ((int64_t)1 << 62)

static ssdc_status parse_record(mparser *p, run_report *r)
{
    ssdc_status st;
    const char *kind = p->f[0];
    int64_t v = 0;
    if (!strcmp(kind, "meta")) {
        TRY(need(p, 3));
        TRY(decode_str(p, 1));
        TRY(decode_str(p, 2));
        if (r->n_meta == REPORT_MAX_META)
            return mfail(p, "more than %d meta records", REPORT_MAX_META);
        add_meta(r, p->f[1], p->f[2]);
    } else if (!strcmp(kind, "data")) {
        TRY(need(p, 11));
        if (r->has_data)
            return mfail(p, "a second 'data' record");
        TRY(decode_str(p, 1));
        TRY(decode_str(p, 2));
        r->has_data = true;
        r->data_name = xstrdup(r, p->f[1]);
        r->data_format = xstrdup(r, p->f[2]);
        TRY(get_int(p, 3, 0, BIG, &r->n_train));
        TRY(get_int(p, 4, 0, BIG, &r->n_val));
        TRY(get_int(p, 5, 0, BIG, &r->n_test));
        TRY(get_int(p, 6, 0, DATASET_MAX_CLASSES, &v));
        int C = (int)v;
        TRY(get_int(p, 7, 0, 3, &v));
        r->rank = (int)v;
        for (int i = 0; i < 3; i++)
            TRY(get_int(p, 8 + i, 0, BIG, &r->dims[i]));
        if (!alloc_classes(r, C))
            return ssdc_fail(p->err, SSDC_ERR_NOMEM, "out of memory");
    } else if (!strcmp(kind, "class")) {
        TRY(need(p, 6));
        if (!r->has_data)
            return mfail(p, "'class' before 'data'");
        TRY(get_int(p, 1, 0, r->n_classes - 1, &v));
        int c = (int)v;
        if (r->class_names[c])
            return mfail(p, "class %d given twice", c);
        TRY(decode_str(p, 2));
        r->class_names[c] = xstrdup(r, p->f[2]);
        TRY(get_int(p, 3, 0, BIG, &r->count_train[c]));
        TRY(get_int(p, 4, 0, BIG, &r->count_val[c]));
        TRY(get_int(p, 5, 0, BIG, &r->count_test[c]));
    } else if (!strcmp(kind, "model")) {
        TRY(need(p, 7));
        TRY(decode_str(p, 1));
        free(r->model_name);
        r->model_name = xstrdup(r, p->f[1]);
        r->has_model = true;
        TRY(get_int(p, 2, -1, BIG, &r->params));
        TRY(get_int(p, 3, -1, BIG, &r->param_bytes));
        TRY(get_int(p, 4, -1, BIG, &r->flops));
        TRY(get_int(p, 5, -1, BIG, &r->arena_bytes));
        TRY(get_int(p, 6, -1, BIG, &r->codegen_arena_bytes));
    } else if (!strcmp(kind, "run")) {
        TRY(need(p, 4));
        TRY(decode_str(p, 1));
        TRY(decode_str(p, 2));
        TRY(get_int(p, 3, 0, 1 << 20, &v));
        if (!run_new(r, p->f[1], p->f[2], (int)v))
            return ssdc_fail(p->err, SSDC_ERR_NOMEM, "out of memory");
    } else if (!strcmp(kind, "epoch") || !strcmp(kind, "weights") || !strcmp(kind, "kept")) {
        if (p->n < 3)
            return mfail(p, "'%s' record has %d fields", kind, p->n);
        TRY(decode_str(p, 1));
        report_run *run = find_run(r, p->f[1]);
        if (!run)
            return mfail(p, "'%s' of run '%.100s' before its 'run' record", kind, p->f[1]);
        int64_t epoch = 0;
        TRY(get_int(p, 2, 1, 1000000000, &epoch));
        if (kind[0] == 'e') {
            TRY(need(p, 9));
            train_epoch_stats s = {.epoch = (int)epoch};
            TRY(get_num(p, 3, &s.train_loss));
            TRY(get_num(p, 4, &s.train_acc));
            TRY(get_num(p, 5, &s.val_loss));
            TRY(get_num(p, 6, &s.val_acc));
            TRY(get_num(p, 7, &s.seconds));
            TRY(get_int(p, 8, 0, 1, &v));
            s.best = v != 0;
            set_epoch(run, &s);
        } else if (kind[0] == 'w') {
            TRY(need(p, 12));
            report_weights_epoch w = {.epoch = (int)epoch};
            TRY(get_int(p, 3, 0, BIG, &w.n));
            for (int k = 0; k < 7; k++)
                TRY(get_num(p, 4 + k, &w.q[k]));
            TRY(get_num(p, 11, &w.mean));
            report_weights_epoch *a = realloc(run->weights, (size_t)(run->n_weights + 1) * sizeof *a);
            if (!a)
                return ssdc_fail(p->err, SSDC_ERR_NOMEM, "out of memory");
            run->weights = a;
            a[run->n_weights++] = w;
        } else {
            TRY(need(p, 7 + run->reps + 1));
            report_kept_epoch k = {.epoch = (int)epoch};
            TRY(get_int(p, 3, 0, BIG, &k.samples));
            TRY(get_int(p, 4, -1, run->reps, &v));
            k.min = (int)v;
            TRY(get_num(p, 5, &k.mean));
            TRY(get_int(p, 6, 0, run->reps, &v));
            k.max = (int)v;
            report_kept_epoch *a = realloc(run->kept, (size_t)(run->n_kept + 1) * sizeof *a);
            if (a)
                run->kept = a;
            k.hist = malloc((size_t)(run->reps + 1) * sizeof *k.hist);
            if (!a || !k.hist) {
                free(k.hist);
                return ssdc_fail(p->err, SSDC_ERR_NOMEM, "out of memory");
            }
            for (int j = 0; j <= run->reps; j++)
                if ((st = get_int(p, 7 + j, 0, BIG, &k.hist[j]))) {
                    free(k.hist);
                    return st;
                }
            a[run->n_kept++] = k;
        }
    } else if (!strcmp(kind, "result")) {
        TRY(need(p, 11));
        TRY(decode_str(p, 1));
        TRY(decode_str(p, 2));
        report_result x = {0};
        int64_t ne, be;
        TRY(get_num(p, 3, &x.test_acc));
        TRY(get_num(p, 4, &x.test_loss));
        TRY(get_int(p, 5, 0, BIG, &x.n_test));
        TRY(get_num(p, 6, &x.seconds));
        TRY(get_int(p, 7, 0, 1000000000, &ne));
        TRY(get_int(p, 8, 0, 1000000000, &be));
        TRY(get_num(p, 9, &x.train_acc));
        TRY(get_num(p, 10, &x.val_acc));
        report_result *a = realloc(r->results, (size_t)(r->n_results + 1) * sizeof *a);
        if (!a)
            return ssdc_fail(p->err, SSDC_ERR_NOMEM, "out of memory");
        r->results = a;
        x.name = xstrdup(r, p->f[1]);
        x.mode = xstrdup(r, p->f[2]);
        x.epochs = (int)ne;
        x.best_epoch = (int)be;
        a[r->n_results++] = x;
    } else if (!strcmp(kind, "confusion")) {
        if (p->n < 3)
            return mfail(p, "'confusion' record has %d fields", p->n);
        TRY(decode_str(p, 1));
        report_result *x = NULL;
        for (int i = r->n_results - 1; i >= 0 && !x; i--)
            if (!strcmp(r->results[i].name, p->f[1]))
                x = &r->results[i];
        if (!x)
            return mfail(p, "'confusion' of '%.100s' before its 'result' record", p->f[1]);
        TRY(get_int(p, 2, 1, DATASET_MAX_CLASSES, &v));
        int C = (int)v;
        if ((int64_t)p->n - 3 != (int64_t)C * C)
            return mfail(p, "'confusion' of %d classes has %d values, expected %lld", C,
                         p->n - 3, (long long)C * C);
        free(x->confusion);
        x->confusion = malloc((size_t)C * (size_t)C * sizeof *x->confusion);
        if (!x->confusion)
            return ssdc_fail(p->err, SSDC_ERR_NOMEM, "out of memory");
        x->n_classes = C;
        for (int64_t j = 0; j < (int64_t)C * C; j++)
            TRY(get_int(p, 3 + (int)j, 0, BIG, &x->confusion[j]));
    }
    /* unknown records: ignored (later versions) */
    return SSDC_OK;
}

ssdc_status report_parse_metrics(const char *text, size_t len, const char *path, run_report **out,
                                 ssdc_error *err)
{
    *out = NULL;
    run_report *r = report_alloc();
    char *copy = malloc(len + 1);
    mparser p = {.path = path, .err = err};
    ssdc_status st = SSDC_OK;
    if (!r || !copy) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        goto done;
    }
    memcpy(copy, text, len);
    copy[len] = 0;
    if (strlen(copy) != len) {
        st = ssdc_fail(err, SSDC_ERR_FORMAT, "%s: a NUL byte: not a metrics log", path);
        goto done;
    }
    char *line = copy;
    bool first = true;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        p.line++;
        size_t ll = strlen(line);
        if (ll && line[ll - 1] == '\r')
            line[--ll] = 0;
        if (first) {
            if (strcmp(line, "ssdc-metrics,1")) {
                st = ssdc_fail(err, SSDC_ERR_FORMAT,
                               "%s:1: expected 'ssdc-metrics,1' (an ssdc --metrics log)", path);
                goto done;
            }
            first = false;
        } else if (ll && line[0] != '#') {
            p.n = 0;
            for (char *f = line;; ) {
                if (p.n == p.cap) {
                    int cap = p.cap ? 2 * p.cap : 64;
                    char **nf = realloc(p.f, (size_t)cap * sizeof *nf);
                    if (!nf) {
                        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
                        goto done;
                    }
                    p.f = nf;
                    p.cap = cap;
                }
                p.f[p.n++] = f;
                char *c = strchr(f, ',');
                if (!c)
                    break;
                *c = 0;
                f = c + 1;
            }
            if ((st = parse_record(&p, r)))
                goto done;
            if (r->oom) {
                st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
                goto done;
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    if (first) {
        st = ssdc_fail(err, SSDC_ERR_FORMAT, "%s: empty file, expected an ssdc metrics log", path);
        goto done;
    }
    for (int c = 0; c < r->n_classes; c++)
        if (!r->class_names[c]) {
            st = ssdc_fail(err, SSDC_ERR_FORMAT, "%s: no 'class' record for class %d", path, c);
            goto done;
        }
done:
    free(p.f);
    free(copy);
    if (st) {
        report_free(r);
        return st;
    }
    *out = r;
    return SSDC_OK;
}

/* ---- ssdc report ---- */

static const char report_usage[] =
    "usage: ssdc report METRICS.csv -o REPORT.html\n"
    "\n"
    "Renders the HTML run report from a metrics log written by --metrics (ssdc train,\n"
    "distill or pipeline); the page is the one --report writes for that run.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE.html  the page (written atomically)\n";

int cli_report(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(report_usage, stdout);
            return 0;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (i + 1 >= argc)
                return cli_usage_error("report", "%s expects a file name", a);
            out = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error("report", "unknown option '%s'", a);
        } else if (!in) {
            in = a;
        } else {
            return cli_usage_error("report", "more than one metrics log given ('%s')", a);
        }
    }
    if (!in)
        return cli_usage_error("report", "no metrics log given");
    if (!out)
        return cli_usage_error("report", "no output given (-o REPORT.html)");
    ssdc_error err = {0};
    void *text = NULL;
    size_t len = 0;
    run_report *r = NULL;
    char *html = NULL;
    size_t hl = 0;
    int rc = 0;
    if (ssdc_read_file(in, METRICS_MAX_BYTES, &text, &len, &err) ||
        report_parse_metrics(text, len, in, &r, &err) ||
        report_render_html(r, &html, &hl, &err) || ssdc_write_file_atomic(out, html, hl, &err))
        rc = cli_error(&err);
    else
        printf("wrote %s\n", out);
    free(text);
    free(html);
    report_free(r);
    return rc;
}

/* The metrics log (format: cli/report.h): the run_report as text and back,
 * and `ssdc report METRICS.csv -o FILE.html`, the page rebuilt from it. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/report_internal.h"
#include "graph/fileio.h"

#define METRICS_MAX_BYTES ((size_t)1 << 28)

/* -- writing it -- */

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

ssdc_status report_write_metrics(const run_report *r, const char *path, ssdc_error *err)
{
    char *text = NULL;
    size_t len = 0;
    ssdc_status st = report_format_metrics(r, &text, &len, err);
    if (!st)
        st = ssdc_write_file_atomic(path, text, len, err);
    free(text);
    return st;
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
        report_add_meta(r, p->f[1], p->f[2]);
    } else if (!strcmp(kind, "data")) {
        TRY(need(p, 11));
        if (r->has_data)
            return mfail(p, "a second 'data' record");
        TRY(decode_str(p, 1));
        TRY(decode_str(p, 2));
        r->has_data = true;
        r->data_name = report_copy_str(r, p->f[1]);
        r->data_format = report_copy_str(r, p->f[2]);
        TRY(get_int(p, 3, 0, BIG, &r->n_train));
        TRY(get_int(p, 4, 0, BIG, &r->n_val));
        TRY(get_int(p, 5, 0, BIG, &r->n_test));
        TRY(get_int(p, 6, 0, DATASET_MAX_CLASSES, &v));
        int C = (int)v;
        TRY(get_int(p, 7, 0, 3, &v));
        r->rank = (int)v;
        for (int i = 0; i < 3; i++)
            TRY(get_int(p, 8 + i, 0, BIG, &r->dims[i]));
        if (!report_alloc_classes(r, C))
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
        r->class_names[c] = report_copy_str(r, p->f[2]);
        TRY(get_int(p, 3, 0, BIG, &r->count_train[c]));
        TRY(get_int(p, 4, 0, BIG, &r->count_val[c]));
        TRY(get_int(p, 5, 0, BIG, &r->count_test[c]));
    } else if (!strcmp(kind, "model")) {
        TRY(need(p, 7));
        TRY(decode_str(p, 1));
        free(r->model_name);
        r->model_name = report_copy_str(r, p->f[1]);
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
        if (!report_add_run(r, p->f[1], p->f[2], (int)v))
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
            report_set_epoch(run, &s);
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
        x.name = report_copy_str(r, p->f[1]);
        x.mode = report_copy_str(r, p->f[2]);
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
    run_report *r = report_new_empty();
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

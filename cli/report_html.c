/* The run report as one self-contained HTML page: inline CSS, inline SVG
 * charts (cli/report_charts.c), no script, nothing fetched.  This file: the
 * page's skeleton, its sections and tables.  Everything shown comes from the
 * run_report, i.e. from what the metrics log holds, so `ssdc report` rebuilds
 * the same page.  Numbers use the formats of the CLI's own output (loss %.4f,
 * epoch accuracy %.1f%%, test accuracy %.2f%%, seconds %.1f, ssdc inspect's
 * counts). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/report_internal.h"

#define CLASS_CHART_MAX 60    /* classes drawn in the balance chart */
#define CONFUSION_MAX 100     /* classes drawn in a confusion heat map */

void report_put_escaped(report_buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': report_buf_puts(b, "&amp;"); break;
        case '<': report_buf_puts(b, "&lt;"); break;
        case '>': report_buf_puts(b, "&gt;"); break;
        case '"': report_buf_puts(b, "&quot;"); break;
        case '\'': report_buf_puts(b, "&#39;"); break;
        default: report_buf_put(b, s, 1);
        }
    }
}

void report_format_pct(char *buf, size_t n, double frac, int digits)
{
    if (isnan(frac))
        snprintf(buf, n, "–");
    else
        snprintf(buf, n, "%.*f%%", digits, 100 * frac);
}

void report_format_num(char *buf, size_t n, double v, int digits)
{
    if (isnan(v))
        snprintf(buf, n, "–");
    else
        snprintf(buf, n, "%.*f", digits, v);
}

/* ---- learning curves and SGKD: the tables under the charts ---- */

static void epoch_table(report_buf *b, const report_run *run)
{
    report_buf_puts(b, "<details><summary>per-epoch values</summary>\n"
                       "<table class=\"num epochs\"><tr><th>epoch</th><th>loss</th><th>acc</th>"
                       "<th>val_loss</th><th>val_acc</th><th>seconds</th><th>best</th></tr>\n");
    for (int i = 0; i < run->n_epochs; i++) {
        const train_epoch_stats *s = &run->epochs[i];
        char l[32], a[32], vl[32], va[32];
        report_format_num(l, sizeof l, s->train_loss, 4);
        report_format_pct(a, sizeof a, s->train_acc, 1);
        report_format_num(vl, sizeof vl, s->val_loss, 4);
        report_format_pct(va, sizeof va, s->val_acc, 1);
        report_buf_printf(b, "<tr><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                             "<td>%.2f</td><td>%s</td></tr>\n",
                          s->epoch, l, a, vl, va, s->seconds, s->best ? "*" : "");
    }
    report_buf_puts(b, "</table></details>\n");
}

static void sgkd_table(report_buf *b, const report_run *run)
{
    report_buf_puts(b, "<details><summary>per-epoch values</summary>\n"
                       "<table class=\"num sgkd\"><tr><th>epoch</th><th>kept weights</th>"
                       "<th>min</th><th>p10</th><th>p25</th><th>median</th><th>p75</th>"
                       "<th>p90</th><th>max</th><th>mean</th><th>samples</th>"
                       "<th>kept min</th><th>kept mean</th><th>kept max</th></tr>\n");
    int i = 0, j = 0;
    while (i < run->n_weights || j < run->n_kept) {
        int ew = i < run->n_weights ? run->weights[i].epoch : 1 << 30;
        int ek = j < run->n_kept ? run->kept[j].epoch : 1 << 30;
        int e = ew < ek ? ew : ek;
        report_buf_printf(b, "<tr><td>%d</td>", e);
        if (ew == e) {
            const report_weights_epoch *w = &run->weights[i++];
            report_buf_printf(b, "<td>%lld</td>", (long long)w->n);
            for (int k = 0; k < 7; k++)
                report_buf_printf(b, "<td>%.4f</td>", w->q[k]);
            report_buf_printf(b, "<td>%.4f</td>", w->mean);
        } else {
            report_buf_puts(b, "<td></td><td></td><td></td><td></td><td></td><td></td><td></td>"
                               "<td></td><td></td>");
        }
        if (ek == e) {
            const report_kept_epoch *k = &run->kept[j++];
            report_buf_printf(b, "<td>%lld</td><td>%d</td><td>%.2f</td><td>%d</td>",
                              (long long)k->samples, k->min, k->mean, k->max);
        } else {
            report_buf_puts(b, "<td></td><td></td><td></td><td></td>");
        }
        report_buf_puts(b, "</tr>\n");
    }
    report_buf_puts(b, "</table></details>\n");
}

/* ---- data set ---- */

static void data_section(report_buf *b, const run_report *r)
{
    report_buf_puts(b, "<section id=\"data\"><h2>Data set</h2>\n<table class=\"kv\">");
    report_buf_puts(b, "<tr><th>data set</th><td>");
    report_put_escaped(b, r->data_name);
    report_buf_puts(b, " (");
    report_put_escaped(b, r->data_format);
    report_buf_puts(b, ")</td></tr>\n");
    report_buf_printf(b, "<tr><th>samples</th><td>%lld train / %lld test", (long long)r->n_train,
                      (long long)r->n_test);
    if (r->n_val)
        report_buf_printf(b, " (of the train split, %lld held out for validation: %lld used for "
                             "training)",
                          (long long)r->n_val, (long long)(r->n_train - r->n_val));
    report_buf_printf(b, "</td></tr>\n<tr><th>classes</th><td>%d</td></tr>\n", r->n_classes);
    report_buf_puts(b, "<tr><th>sample shape</th><td>[");
    for (int i = 0; i < r->rank; i++)
        report_buf_printf(b, "%s%lld", i ? "," : "", (long long)r->dims[i]);
    report_buf_puts(b, "]</td></tr>\n");
    if (r->rank >= 1)
        report_buf_printf(b, "<tr><th>channels</th><td>%lld</td></tr>\n", (long long)r->dims[0]);
    if (r->rank == 2)
        report_buf_printf(b, "<tr><th>series length</th><td>%lld</td></tr>\n",
                          (long long)r->dims[1]);
    else if (r->rank == 3)
        report_buf_printf(b, "<tr><th>image size</th><td>%lld x %lld</td></tr>\n",
                          (long long)r->dims[1], (long long)r->dims[2]);
    report_buf_puts(b, "</table>\n<h3>Class balance</h3>\n");
    if (r->n_classes > 0 && r->n_classes <= CLASS_CHART_MAX)
        report_draw_classes(b, r);
    report_buf_printf(b, "<table class=\"num classes\"><tr><th>class</th><th>label</th>"
                         "<th>train</th>%s<th>test</th></tr>\n",
                      r->n_val ? "<th>val</th>" : "");
    for (int c = 0; c < r->n_classes; c++) {
        report_buf_printf(b, "<tr><td>%d</td><td class=\"text\">", c);
        report_put_escaped(b, r->class_names[c]);
        report_buf_printf(b, "</td><td>%lld</td>", (long long)r->count_train[c]);
        if (r->n_val)
            report_buf_printf(b, "<td>%lld</td>", (long long)r->count_val[c]);
        report_buf_printf(b, "<td>%lld</td></tr>\n", (long long)r->count_test[c]);
    }
    report_buf_puts(b, "</table></section>\n");
}

/* ---- model ---- */

static void model_section(report_buf *b, const run_report *r)
{
    char cnt[32], by[32];
    report_buf_puts(b, "<section id=\"model\"><h2>Model</h2>\n<table class=\"kv\">"
                       "<tr><th>model</th><td>");
    report_put_escaped(b, r->model_name);
    report_buf_puts(b, "</td></tr>\n");
    cli_format_count((double)r->params, cnt, sizeof cnt);
    cli_format_bytes((double)r->param_bytes, by, sizeof by);
    report_buf_printf(b, "<tr><th>parameters</th><td>%lld (%s) float values, %s</td></tr>\n",
                      (long long)r->params, cnt, by);
    if (r->flops >= 0) {
        cli_format_count((double)r->flops, cnt, sizeof cnt);
        report_buf_printf(b, "<tr><th>FLOPs per sample</th><td>%lld (%s)</td></tr>\n",
                          (long long)r->flops, cnt);
    } else {
        report_buf_puts(b, "<tr><th>FLOPs per sample</th><td>unknown</td></tr>\n");
    }
    if (r->arena_bytes >= 0) {
        cli_format_bytes((double)r->arena_bytes, by, sizeof by);
        report_buf_printf(b, "<tr><th>activation arena (ssdc runtime, per sample)</th>"
                             "<td>%s (%lld bytes)</td></tr>\n",
                          by, (long long)r->arena_bytes);
    }
    if (r->codegen_arena_bytes >= 0) {
        cli_format_bytes((double)r->codegen_arena_bytes, by, sizeof by);
        report_buf_printf(b, "<tr><th>static arena of the generated C</th><td>%s (%lld bytes)"
                             "</td></tr>\n",
                          by, (long long)r->codegen_arena_bytes);
    } else {
        report_buf_puts(b, "<tr><th>static arena of the generated C</th><td>no C generated in "
                           "this run (<code>ssdc codegen</code>)</td></tr>\n");
    }
    report_buf_puts(b, "</table></section>\n");
}

/* ---- results ---- */

static void results_section(report_buf *b, const run_report *r)
{
    bool tr = false, va = false, best = false;
    for (int i = 0; i < r->n_results; i++) {
        tr |= !isnan(r->results[i].train_acc);
        va |= !isnan(r->results[i].val_acc);
        best |= r->results[i].best_epoch > 0;
    }
    report_buf_puts(b, "<section id=\"results\"><h2>Results</h2>\n"
                       "<table class=\"num results\"><tr><th>model</th><th>mode</th>"
                       "<th>test accuracy</th><th>test loss</th>");
    if (tr)
        report_buf_puts(b, "<th>train accuracy</th>");
    if (va)
        report_buf_puts(b, "<th>val accuracy</th>");
    report_buf_puts(b, "<th>train s</th><th>epochs</th>");
    if (best)
        report_buf_puts(b, "<th>best epoch</th>");
    report_buf_puts(b, "</tr>\n");
    for (int i = 0; i < r->n_results; i++) {
        const report_result *x = &r->results[i];
        char a[32], l[32];
        report_format_pct(a, sizeof a, x->test_acc, 2);
        report_format_num(l, sizeof l, x->test_loss, 4);
        report_buf_puts(b, "<tr><td class=\"text\">");
        report_put_escaped(b, x->name);
        report_buf_puts(b, "</td><td class=\"text\">");
        report_put_escaped(b, x->mode);
        report_buf_printf(b, "</td><td class=\"acc\">%s</td><td>%s</td>", a, l);
        if (tr) {
            report_format_pct(a, sizeof a, x->train_acc, 2);
            report_buf_printf(b, "<td>%s</td>", a);
        }
        if (va) {
            report_format_pct(a, sizeof a, x->val_acc, 2);
            report_buf_printf(b, "<td>%s</td>", a);
        }
        report_format_num(l, sizeof l, x->seconds, 1);
        report_buf_printf(b, "<td>%s</td><td>%d</td>", l, x->epochs);
        if (best) {
            if (x->best_epoch > 0)
                report_buf_printf(b, "<td>%d</td>", x->best_epoch);
            else
                report_buf_puts(b, "<td></td>");
        }
        report_buf_puts(b, "</tr>\n");
    }
    report_buf_puts(b, "</table>\n");
    bool any = false;
    for (int i = 0; i < r->n_results; i++)
        any |= r->results[i].confusion && r->results[i].n_classes <= CONFUSION_MAX;
    if (any) {
        report_buf_puts(b, "<h3>Confusion matrices (test split)</h3>\n<div class=\"row\">\n");
        for (int i = 0; i < r->n_results; i++) {
            const report_result *x = &r->results[i];
            if (!x->confusion || x->n_classes > CONFUSION_MAX)
                continue;
            report_buf_puts(b, "<figure>");
            report_draw_confusion(b, x, r);
            report_buf_puts(b, "<figcaption>");
            report_put_escaped(b, x->name);
            report_buf_puts(b, "</figcaption></figure>\n");
        }
        report_buf_puts(b, "</div>\n");
    }
    report_buf_puts(b, "</section>\n");
}

/* ---- page ---- */

static const char css[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#222;margin:0 auto;"
    "max-width:1120px;padding:16px 24px}\n"
    "h1{font-size:22px;margin:8px 0}h2{font-size:18px;border-bottom:1px solid #ddd;"
    "padding-bottom:4px;margin-top:28px}h3{font-size:15px;margin:18px 0 6px}\n"
    "code,pre{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:12.5px}\n"
    "pre.cmd{background:#f5f5f5;padding:8px 10px;white-space:pre-wrap;word-break:break-all}\n"
    "table{border-collapse:collapse;margin:6px 0}th,td{padding:3px 9px;border:1px solid #ddd}\n"
    "th{background:#f5f5f5;text-align:left}table.num td{text-align:right;"
    "font-variant-numeric:tabular-nums}table.num td.text{text-align:left}\n"
    "table.kv th{width:260px}nav a{margin-right:14px}\n"
    "svg.chart{display:block;margin:6px 0;font-size:11px;font-family:system-ui,sans-serif}\n"
    "svg .plot{fill:#fff;stroke:#999}svg .grid{stroke:#eee}svg .tick{stroke:#999}\n"
    "svg .axis-label,svg .legend{font-size:12px}svg .small{font-size:10px}"
    "svg .note{font-size:10px;fill:#666}\n"
    "svg .best{stroke:#888;stroke-dasharray:2 3}svg .whisker{stroke:#555}\n"
    "svg .q10{fill:#c6dbef;stroke:#6baed6}svg .q25{fill:#4292c6;stroke:#2171b5}"
    "svg .median{stroke:#e6550d;stroke-width:2}\n"
    "svg .cell{font-size:11px;fill:#222}svg .cell.dark{fill:#fff}svg.kept rect{shape-rendering:crispEdges}\n"
    ".row{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}"
    "figcaption{font-size:12px;color:#555}\n"
    "details{margin:4px 0 14px}summary{cursor:pointer;color:#555}\n"
    "footer{margin-top:32px;color:#888;font-size:12px}\n";

static const char *meta_get(const run_report *r, const char *key)
{
    for (int i = 0; i < r->n_meta; i++)
        if (!strcmp(r->meta_key[i], key))
            return r->meta_val[i];
    return NULL;
}

ssdc_status report_render_html(const run_report *r, char **html, size_t *len, ssdc_error *err)
{
    report_buf b = {0};
    const char *cmd = meta_get(r, "command");
    report_buf_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                        "<meta name=\"generator\" content=\"ssdc\">\n<title>ssdc run report");
    if (r->has_data) {
        report_buf_puts(&b, ": ");
        report_put_escaped(&b, r->data_name);
    }
    report_buf_printf(&b, "</title>\n<style>\n%s</style></head>\n<body>\n<h1>ssdc run report</h1>\n",
                      css);
    if (cmd) {
        report_buf_puts(&b, "<pre class=\"cmd\" id=\"command\">");
        report_put_escaped(&b, cmd);
        report_buf_puts(&b, "</pre>\n");
    }
    report_buf_puts(&b, "<table class=\"kv meta\">");
    for (int i = 0; i < r->n_meta; i++) {
        if (!strcmp(r->meta_key[i], "command"))
            continue;
        report_buf_puts(&b, "<tr><th>");
        report_put_escaped(&b, r->meta_key[i]);
        report_buf_puts(&b, "</th><td>");
        report_put_escaped(&b, r->meta_val[i]);
        report_buf_puts(&b, "</td></tr>\n");
    }
    report_buf_puts(&b, "</table>\n<nav>");
    if (r->n_results)
        report_buf_puts(&b, "<a href=\"#results\">Results</a>");
    if (r->has_data)
        report_buf_puts(&b, "<a href=\"#data\">Data set</a>");
    if (r->has_model)
        report_buf_puts(&b, "<a href=\"#model\">Model</a>");
    if (r->n_runs)
        report_buf_puts(&b, "<a href=\"#curves\">Learning curves</a>");
    bool sgkd = false;
    for (int i = 0; i < r->n_runs; i++)
        sgkd |= r->runs[i]->n_weights > 0 || r->runs[i]->n_kept > 0;
    if (sgkd)
        report_buf_puts(&b, "<a href=\"#sgkd\">SGKD</a>");
    report_buf_puts(&b, "</nav>\n");

    if (r->n_results)
        results_section(&b, r);
    if (r->has_data)
        data_section(&b, r);
    if (r->has_model)
        model_section(&b, r);
    if (r->n_runs) {
        report_buf_puts(&b, "<section id=\"curves\"><h2>Learning curves</h2>\n"
                            "<p>Per epoch: loss and accuracy on the training batches (the "
                            "training objective: cross-entropy, or for a distillation run "
                            "alpha &#215; distillation + beta &#215; cross-entropy), and "
                            "cross-entropy and accuracy on the validation split. The dotted "
                            "line marks the best validation loss.</p>\n");
        for (int i = 0; i < r->n_runs; i++) {
            const report_run *run = r->runs[i];
            report_buf_puts(&b, "<h3>");
            report_put_escaped(&b, run->name);
            report_buf_puts(&b, " <small>(");
            report_put_escaped(&b, run->mode);
            report_buf_printf(&b, ", %d epochs)</small></h3>\n", run->n_epochs);
            if (run->n_epochs) {
                report_draw_curves(&b, run);
                epoch_table(&b, run);
            } else {
                report_buf_puts(&b, "<p>no epoch finished</p>\n");
            }
        }
        report_buf_puts(&b, "</section>\n");
    }
    if (sgkd) {
        report_buf_puts(&b, "<section id=\"sgkd\"><h2>SGKD weights and kept representations</h2>\n"
                            "<p>After every step the student-guided weights of the K stochastic "
                            "teacher representations: the weights kept (those at or above the "
                            "percentile threshold, renormalised) and how many of the K each "
                            "sample kept, summarised per epoch.</p>\n");
        for (int i = 0; i < r->n_runs; i++) {
            const report_run *run = r->runs[i];
            if (!run->n_weights && !run->n_kept)
                continue;
            report_buf_puts(&b, "<h3>");
            report_put_escaped(&b, run->name);
            report_buf_printf(&b, " <small>(K = %d)</small></h3>\n", run->reps);
            if (run->n_weights)
                report_draw_weights(&b, run);
            if (run->n_kept)
                report_draw_kept(&b, run);
            sgkd_table(&b, run);
        }
        report_buf_puts(&b, "</section>\n");
    }
    const char *ver = meta_get(r, "ssdc");
    report_buf_puts(&b, "<footer>written by ssdc ");
    report_put_escaped(&b, ver ? ver : "");
    report_buf_puts(&b, "; one file, no scripts, nothing fetched</footer>\n</body></html>\n");
    if (b.oom) {
        free(b.p);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory rendering the report");
    }
    *html = b.p;
    *len = b.len;
    return SSDC_OK;
}

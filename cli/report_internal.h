/* What the pieces of the run report share; the rest of cli/ uses cli/report.h.
 *
 *   cli/report_buf.c     the growable text buffer every writer prints into
 *   cli/report.c         the in-memory model of a run: its lifetime, the
 *                        setters and the collection during training
 *   cli/report_log.c     the metrics log: writing it, reading it back, and
 *                        `ssdc report` (log -> page)
 *   cli/report_html.c    the page: skeleton, CSS, sections and tables
 *   cli/report_charts.c  the inline SVG charts the sections embed */
#ifndef SSDC_CLI_REPORT_INTERNAL_H
#define SSDC_CLI_REPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/report.h"

/* ---- text buffer (cli/report_buf.c) ---- */

/* A growable text buffer (allocation failures set oom; checked at the end). */
typedef struct {
    char *p;
    size_t len, cap;
    bool oom;
} report_buf;
void report_buf_put(report_buf *b, const char *s, size_t n);
void report_buf_puts(report_buf *b, const char *s);
void report_buf_printf(report_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- building the model (cli/report.c), also for the log's parser ---- */

/* An empty report: no flags, no meta; unknown figures (-1) for the model. */
run_report *report_new_empty(void);
/* A copy of s ("" for NULL); NULL and r->oom set when out of memory. */
char *report_copy_str(run_report *r, const char *s);
/* Ignored past REPORT_MAX_META. */
void report_add_meta(run_report *r, const char *key, const char *val);
/* Room for C classes (names NULL, counts 0); false (and r->oom) when out of memory. */
bool report_alloc_classes(run_report *r, int C);
/* A new run at the end of r->runs; NULL (and r->oom) when out of memory. */
report_run *report_add_run(run_report *r, const char *name, const char *mode, int reps);
/* Adds the epoch, or replaces the one of the same number. */
void report_set_epoch(report_run *run, const train_epoch_stats *s);

/* ---- the metrics log (cli/report_log.c) ---- */

/* report_format_metrics, written atomically to path. */
ssdc_status report_write_metrics(const run_report *r, const char *path, ssdc_error *err);

/* ---- HTML (cli/report_html.c), shared with the charts ---- */

/* s with & < > " ' escaped. */
void report_put_escaped(report_buf *b, const char *s);
/* frac as a percentage with that many decimals, v as %.*f; "–" for NaN. */
void report_format_pct(char *buf, size_t n, double frac, int digits);
void report_format_num(char *buf, size_t n, double v, int digits);

/* ---- the SVG charts (cli/report_charts.c) ---- */

/* Loss and accuracy per epoch of a run with at least one epoch. */
void report_draw_curves(report_buf *b, const report_run *run);
/* The kept SGKD weights per epoch (run->n_weights > 0). */
void report_draw_weights(report_buf *b, const report_run *run);
/* Representations kept per sample per epoch (run->n_kept > 0). */
void report_draw_kept(report_buf *b, const report_run *run);
/* Samples per class and split (r->n_classes > 0). */
void report_draw_classes(report_buf *b, const run_report *r);
/* x's confusion matrix as a heat map (class names from r, when given). */
void report_draw_confusion(report_buf *b, const report_result *x, const run_report *r);

#endif

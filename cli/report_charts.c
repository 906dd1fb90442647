/* The run report's inline SVG charts: learning curves, SGKD weights and kept
 * representations per epoch, class balance, confusion matrices (tooltips are
 * SVG <title> elements).  Each draws from the run_report alone, so
 * `ssdc report` redraws them from the metrics log; the page places them
 * (cli/report_html.c). */
#include <math.h>
#include <stddef.h>
#include <stdio.h>

#include "cli/report_internal.h"

/* An id fragment: letters and digits, the rest '-'. */
static void put_id(report_buf *b, const char *s)
{
    for (; s && *s; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        report_buf_put(b, ok ? &c : "-", 1);
    }
}

/* ---- colours ---- */

/* white -> dark blue, t in [0, 1] */
static void ramp(char *buf, size_t n, double t)
{
    static const double stops[5][3] = {
        {247, 251, 255}, {198, 219, 239}, {107, 174, 214}, {33, 113, 181}, {8, 48, 107}};
    if (!(t >= 0))
        t = 0;
    if (t > 1)
        t = 1;
    double x = t * 4;
    int i = (int)x < 3 ? (int)x : 3;
    double f = x - i;
    int c[3];
    for (int k = 0; k < 3; k++)
        c[k] = (int)lround(stops[i][k] + f * (stops[i + 1][k] - stops[i][k]));
    snprintf(buf, n, "#%02x%02x%02x", c[0], c[1], c[2]);
}

/* ---- chart frame ---- */

typedef struct {
    double x0, x1, y0, y1;          /* data range */
    double px0, px1, py0, py1;      /* pixels: left, right, bottom, top */
} frame;

static double fx(const frame *f, double x)
{
    return f->px0 + (x - f->x0) / (f->x1 - f->x0) * (f->px1 - f->px0);
}

static double fy(const frame *f, double y)
{
    return f->py0 - (y - f->y0) / (f->y1 - f->y0) * (f->py0 - f->py1);
}

static double nice_step(double range, int target)
{
    if (!(range > 0))
        return 1;
    double raw = range / target, mag = pow(10, floor(log10(raw))), r = raw / mag;
    return (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag;
}

static int step_decimals(double step)
{
    int d = (int)-floor(log10(step) + 1e-9);
    return d < 0 ? 0 : d > 6 ? 6 : d;
}

/* A round upper bound for values up to v (at least a small positive). */
static double nice_ceil(double v)
{
    if (!(v > 0))
        return 1;
    double s = nice_step(v, 5);
    return ceil(v / s - 1e-9) * s;
}

static void svg_begin(report_buf *b, const char *kind, const char *id, int w, int h,
                      const char *title)
{
    report_buf_printf(b, "<svg class=\"chart %s\" id=\"%s-", kind, kind);
    put_id(b, id);
    report_buf_printf(b, "\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" "
                         "xmlns=\"http://www.w3.org/2000/svg\"><title>",
                      w, h, w, h);
    report_put_escaped(b, title);
    report_buf_puts(b, "</title>\n");
}

static void svg_text(report_buf *b, double x, double y, const char *anchor, const char *cls,
                     const char *text)
{
    report_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s%s%s>", x, y, anchor,
                      cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
    report_put_escaped(b, text);
    report_buf_puts(b, "</text>");
}

/* X axis of integer epochs; left axis (and right, when right_y1 > 0: 0..right_y1
 * with suffix, e.g. accuracy in %). */
static void draw_axes(report_buf *b, const frame *f, const char *xlabel, const char *ylabel,
                      bool integer_y, double right_y1, const char *right_label)
{
    report_buf_printf(b, "<g class=\"axes\"><rect class=\"plot\" x=\"%.1f\" y=\"%.1f\" "
                         "width=\"%.1f\" height=\"%.1f\"/>\n",
                      f->px0, f->py1, f->px1 - f->px0, f->py0 - f->py1);
    char t[64];
    /* y grid and labels */
    double ys = nice_step(f->y1 - f->y0, 5);
    if (integer_y && ys < 1)
        ys = 1;
    int yd = integer_y ? 0 : step_decimals(ys);
    for (double y = ceil(f->y0 / ys - 1e-9) * ys; y <= f->y1 + 1e-9 * ys; y += ys) {
        if (fabs(y) < 1e-9 * ys)
            y = 0; /* no "-0.0" */
        double py = fy(f, y);
        report_buf_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
                          f->px0, py, f->px1, py);
        snprintf(t, sizeof t, "%.*f", yd, y);
        svg_text(b, f->px0 - 6, py + 4, "end", NULL, t);
    }
    if (right_y1 > 0) {
        double rs = nice_step(right_y1, 5);
        for (double y = 0; y <= right_y1 + 1e-9; y += rs) {
            double py = f->py0 - y / right_y1 * (f->py0 - f->py1);
            snprintf(t, sizeof t, "%.*f", step_decimals(rs), y);
            svg_text(b, f->px1 + 6, py + 4, "start", NULL, t);
        }
        snprintf(t, sizeof t, "%s", right_label);
        report_buf_printf(b, "<text class=\"axis-label\" transform=\"translate(%.1f %.1f) "
                             "rotate(90)\" text-anchor=\"middle\">",
                          f->px1 + 44, (f->py0 + f->py1) / 2);
        report_put_escaped(b, t);
        report_buf_puts(b, "</text>");
    }
    /* x ticks: integers */
    double xs = nice_step(f->x1 - f->x0, 8);
    if (xs < 1)
        xs = 1;
    for (double x = ceil(f->x0 / xs - 1e-9) * xs; x <= f->x1 + 1e-9; x += xs) {
        if (x < 1)
            continue;
        double px = fx(f, x);
        report_buf_printf(b, "<line class=\"tick\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
                          px, f->py0, px, f->py0 + 4);
        snprintf(t, sizeof t, "%.0f", x);
        svg_text(b, px, f->py0 + 16, "middle", NULL, t);
    }
    svg_text(b, (f->px0 + f->px1) / 2, f->py0 + 32, "middle", "axis-label", xlabel);
    report_buf_printf(b, "<text class=\"axis-label\" transform=\"translate(%.1f %.1f) "
                         "rotate(-90)\" text-anchor=\"middle\">",
                      f->px0 - 44, (f->py0 + f->py1) / 2);
    report_put_escaped(b, ylabel);
    report_buf_puts(b, "</text></g>\n");
}

static void legend_item(report_buf *b, double x, double y, const char *color, bool dashed,
                        const char *label)
{
    report_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                         "stroke-width=\"2\"%s/>",
                      x, y, x + 22, y, color, dashed ? " stroke-dasharray=\"5 3\"" : "");
    svg_text(b, x + 27, y + 4, "start", "legend", label);
}

/* ---- learning curves ---- */

typedef struct {
    const char *label, *color;
    bool dashed, right;             /* right: accuracy axis (fraction) */
    size_t offset;                  /* field in train_epoch_stats */
} curve;

static double epoch_field(const train_epoch_stats *s, size_t off)
{
    return *(const double *)((const char *)s + off);
}

static void draw_series(report_buf *b, const frame *f, const report_run *run, const curve *c,
                        double scale)
{
    /* polyline segments between missing values */
    bool open = false;
    for (int i = 0; i < run->n_epochs; i++) {
        double v = epoch_field(&run->epochs[i], c->offset) * scale;
        if (!isfinite(v)) {
            if (open)
                report_buf_puts(b, "\"/>\n");
            open = false;
            continue;
        }
        if (!open)
            report_buf_printf(b, "<polyline class=\"series\" fill=\"none\" stroke=\"%s\" "
                                 "stroke-width=\"2\"%s points=\"",
                              c->color, c->dashed ? " stroke-dasharray=\"5 3\"" : "");
        open = true;
        report_buf_printf(b, "%.1f,%.1f ", fx(f, run->epochs[i].epoch), fy(f, v));
    }
    if (open)
        report_buf_puts(b, "\"/>\n");
    if (run->n_epochs > 150)
        return;
    for (int i = 0; i < run->n_epochs; i++) {
        double raw = epoch_field(&run->epochs[i], c->offset), v = raw * scale;
        if (!isfinite(v))
            continue;
        char t[32];
        if (c->right)
            report_format_pct(t, sizeof t, raw, 1);
        else
            report_format_num(t, sizeof t, raw, 4);
        report_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"><title>",
                          fx(f, run->epochs[i].epoch), fy(f, v), c->color);
        report_buf_printf(b, "epoch %d: ", run->epochs[i].epoch);
        report_put_escaped(b, c->label);
        report_buf_printf(b, " %s</title></circle>", t);
    }
    report_buf_puts(b, "\n");
}

void report_draw_curves(report_buf *b, const report_run *run)
{
    const int W = 760, H = 320;
    frame f = {.px0 = 64, .px1 = W - 64, .py0 = H - 46, .py1 = 40};
    int last = run->n_epochs ? run->epochs[run->n_epochs - 1].epoch : 1;
    f.x0 = run->n_epochs > 1 ? run->epochs[0].epoch : 0.5;
    f.x1 = run->n_epochs > 1 ? last : last + 0.5;
    if (run->n_epochs == 1)
        f.x0 = last - 0.5;
    double maxloss = 0;
    for (int i = 0; i < run->n_epochs; i++) {
        const train_epoch_stats *s = &run->epochs[i];
        if (isfinite(s->train_loss) && s->train_loss > maxloss)
            maxloss = s->train_loss;
        if (isfinite(s->val_loss) && s->val_loss > maxloss)
            maxloss = s->val_loss;
    }
    f.y0 = 0;
    f.y1 = nice_ceil(maxloss);
    char title[512];
    snprintf(title, sizeof title, "Learning curves: %s (%s)", run->name, run->mode);
    svg_begin(b, "curves", run->name, W, H, title);
    draw_axes(b, &f, "epoch", "loss", false, 100, "accuracy (%)");
    static const curve cs[4] = {
        {"train loss", "#1f77b4", false, false, offsetof(train_epoch_stats, train_loss)},
        {"val loss", "#1f77b4", true, false, offsetof(train_epoch_stats, val_loss)},
        {"train acc", "#e6550d", false, true, offsetof(train_epoch_stats, train_acc)},
        {"val acc", "#e6550d", true, true, offsetof(train_epoch_stats, val_acc)},
    };
    bool has_val = false;
    for (int i = 0; i < run->n_epochs; i++)
        has_val |= isfinite(run->epochs[i].val_loss);
    /* best epoch (early stopping's choice): the last one flagged */
    int best = 0;
    for (int i = 0; i < run->n_epochs; i++)
        if (run->epochs[i].best)
            best = run->epochs[i].epoch;
    if (best) {
        double px = fx(&f, best);
        report_buf_printf(b, "<line class=\"best\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                             "y2=\"%.1f\"><title>best validation loss: epoch %d</title></line>",
                          px, f.py0, px, f.py1, best);
        svg_text(b, px - 3, f.py0 - 6, "end", "note", "best");
    }
    for (int k = 0; k < 4; k++) {
        if (cs[k].dashed && !has_val)
            continue;
        /* accuracy plotted on the right axis: fraction * (loss range) */
        const curve *c = &cs[k];
        if (c->right) {
            frame fr = f;
            fr.y1 = 1;
            draw_series(b, &fr, run, c, 1);
        } else {
            draw_series(b, &f, run, c, 1);
        }
    }
    double lx = f.px0;
    for (int k = 0; k < 4; k++) {
        if (cs[k].dashed && !has_val)
            continue;
        legend_item(b, lx, 20, cs[k].color, cs[k].dashed, cs[k].label);
        lx += 120;
    }
    report_buf_puts(b, "</svg>\n");
}

/* ---- SGKD: weights and kept representations ---- */

void report_draw_weights(report_buf *b, const report_run *run)
{
    const int W = 760, H = 320;
    frame f = {.px0 = 64, .px1 = W - 64, .py0 = H - 46, .py1 = 40};
    int e0 = run->weights[0].epoch, e1 = run->weights[run->n_weights - 1].epoch;
    f.x0 = e0 - 0.5;
    f.x1 = e1 + 0.5;
    /* zoomed to the values (the kept weights often sit close together) */
    double lo = 1, hi = 0;
    for (int i = 0; i < run->n_weights; i++) {
        if (run->weights[i].q[0] < lo)
            lo = run->weights[i].q[0];
        if (run->weights[i].q[6] > hi)
            hi = run->weights[i].q[6];
    }
    if (hi < lo)
        lo = hi = 0;
    double pad = hi > lo ? 0.08 * (hi - lo) : 0.01;
    lo = lo - pad < 0 ? 0 : lo - pad;
    hi = hi + pad > 1 ? 1 : hi + pad;
    double step = nice_step(hi - lo, 5);
    f.y0 = floor(lo / step) * step;
    f.y1 = ceil(hi / step) * step;
    if (f.y1 <= f.y0)
        f.y1 = f.y0 + step;
    char title[512];
    snprintf(title, sizeof title, "SGKD weights per epoch: %s (K = %d)", run->name, run->reps);
    svg_begin(b, "weights", run->name, W, H, title);
    draw_axes(b, &f, "epoch", "kept weight (renormalised)", false, 0, NULL);
    double bw = (f.px1 - f.px0) / (f.x1 - f.x0) * 0.7;
    if (bw > 28)
        bw = 28;
    if (bw < 1)
        bw = 1;
    for (int i = 0; i < run->n_weights; i++) {
        const report_weights_epoch *w = &run->weights[i];
        double x = fx(&f, w->epoch);
        report_buf_puts(b, "<g class=\"box\"><title>");
        report_buf_printf(b, "epoch %d: %lld kept weights; min %.4f, p10 %.4f, p25 %.4f, median "
                             "%.4f, p75 %.4f, p90 %.4f, max %.4f, mean %.4f",
                          w->epoch, (long long)w->n, w->q[0], w->q[1], w->q[2], w->q[3], w->q[4],
                          w->q[5], w->q[6], w->mean);
        report_buf_puts(b, "</title>");
        report_buf_printf(b, "<line class=\"whisker\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                             "y2=\"%.1f\"/>",
                          x, fy(&f, w->q[0]), x, fy(&f, w->q[6]));
        report_buf_printf(b, "<rect class=\"q10\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                             "height=\"%.1f\"/>",
                          x - bw / 2, fy(&f, w->q[5]), bw, fy(&f, w->q[1]) - fy(&f, w->q[5]));
        report_buf_printf(b, "<rect class=\"q25\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                             "height=\"%.1f\"/>",
                          x - bw / 2, fy(&f, w->q[4]), bw, fy(&f, w->q[2]) - fy(&f, w->q[4]));
        report_buf_printf(b, "<line class=\"median\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                             "y2=\"%.1f\"/></g>\n",
                          x - bw / 2, fy(&f, w->q[3]), x + bw / 2, fy(&f, w->q[3]));
    }
    /* legend */
    double lx = f.px0;
    report_buf_printf(b, "<rect class=\"q10\" x=\"%.1f\" y=\"14\" width=\"14\" height=\"12\"/>", lx);
    svg_text(b, lx + 19, 24, "start", "legend", "p10–p90");
    lx += 90;
    report_buf_printf(b, "<rect class=\"q25\" x=\"%.1f\" y=\"14\" width=\"14\" height=\"12\"/>", lx);
    svg_text(b, lx + 19, 24, "start", "legend", "p25–p75");
    lx += 90;
    report_buf_printf(b, "<line class=\"median\" x1=\"%.1f\" y1=\"20\" x2=\"%.1f\" y2=\"20\"/>",
                      lx, lx + 14);
    svg_text(b, lx + 19, 24, "start", "legend", "median");
    lx += 80;
    report_buf_printf(b, "<line class=\"whisker\" x1=\"%.1f\" y1=\"13\" x2=\"%.1f\" y2=\"27\"/>",
                      lx + 7, lx + 7);
    svg_text(b, lx + 19, 24, "start", "legend", "min–max");
    report_buf_puts(b, "</svg>\n");
}

void report_draw_kept(report_buf *b, const report_run *run)
{
    const int W = 760, H = 320;
    frame f = {.px0 = 64, .px1 = W - 64, .py0 = H - 46, .py1 = 40};
    int e0 = run->kept[0].epoch, e1 = run->kept[run->n_kept - 1].epoch;
    int kmin = run->reps, kmax = 0;
    for (int i = 0; i < run->n_kept; i++) {
        if (run->kept[i].min >= 0 && run->kept[i].min < kmin)
            kmin = run->kept[i].min;
        if (run->kept[i].max > kmax)
            kmax = run->kept[i].max;
    }
    if (kmin > kmax)
        kmin = kmax;
    f.x0 = e0 - 0.5;
    f.x1 = e1 + 0.5;
    f.y0 = kmin - 0.5;
    f.y1 = kmax + 0.5;
    char title[512];
    snprintf(title, sizeof title, "Representations kept per sample: %s (of K = %d)", run->name,
             run->reps);
    svg_begin(b, "kept", run->name, W, H, title);
    draw_axes(b, &f, "epoch", "representations kept", true, 0, NULL);
    double cw = (f.px1 - f.px0) / (f.x1 - f.x0), ch = (f.py0 - f.py1) / (f.y1 - f.y0);
    for (int i = 0; i < run->n_kept; i++) {
        const report_kept_epoch *e = &run->kept[i];
        for (int k = kmin; k <= kmax; k++) {
            if (!e->hist[k])
                continue;
            double frac = (double)e->hist[k] / (double)e->samples;
            char col[16];
            ramp(col, sizeof col, 0.15 + 0.85 * frac);
            report_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                                 "fill=\"%s\"><title>epoch %d: %lld of %lld samples (%.1f%%) kept "
                                 "%d</title></rect>",
                              fx(&f, e->epoch) - cw / 2, fy(&f, k) - ch / 2, cw, ch, col, e->epoch,
                              (long long)e->hist[k], (long long)e->samples, 100 * frac, k);
        }
        report_buf_puts(b, "\n");
    }
    report_buf_puts(b, "<polyline class=\"series\" fill=\"none\" stroke=\"#e6550d\" "
                       "stroke-width=\"2\" points=\"");
    for (int i = 0; i < run->n_kept; i++)
        report_buf_printf(b, "%.1f,%.1f ", fx(&f, run->kept[i].epoch), fy(&f, run->kept[i].mean));
    report_buf_puts(b, "\"/>\n");
    legend_item(b, f.px0, 20, "#e6550d", false, "mean");
    /* colour scale */
    double sx = f.px0 + 110;
    svg_text(b, sx, 24, "start", "legend", "share of samples: 0");
    sx += 128;
    for (int s = 0; s <= 10; s++) {
        char col[16];
        ramp(col, sizeof col, 0.15 + 0.85 * s / 10.0);
        report_buf_printf(b, "<rect x=\"%.1f\" y=\"14\" width=\"12\" height=\"12\" fill=\"%s\"/>",
                          sx + 12 * s, col);
    }
    svg_text(b, sx + 12 * 11 + 4, 24, "start", "legend", "100%");
    report_buf_puts(b, "</svg>\n");
}

/* ---- class balance ---- */

void report_draw_classes(report_buf *b, const run_report *r)
{
    int C = r->n_classes;
    int64_t maxc = 1;
    for (int c = 0; c < C; c++) {
        int64_t v[3] = {r->count_train[c], r->count_val[c], r->count_test[c]};
        for (int k = 0; k < 3; k++)
            if (v[k] > maxc)
                maxc = v[k];
    }
    bool val = r->n_val > 0;
    int bars = val ? 3 : 2, bh = 9, gap = 8;
    int W = 760, left = 150, right = 70, top = 30;
    int H = top + C * (bars * bh + gap) + 10;
    svg_begin(b, "classes", "balance", W, H, "Class balance: samples per class");
    static const char *names[3] = {"train", "val", "test"};
    static const char *colors[3] = {"#1f77b4", "#9ecae1", "#e6550d"};
    double lx = left;
    for (int k = 0; k < 3; k++) {
        if (k == 1 && !val)
            continue;
        report_buf_printf(b, "<rect x=\"%.1f\" y=\"10\" width=\"12\" height=\"10\" fill=\"%s\"/>",
                          lx, colors[k]);
        svg_text(b, lx + 16, 19, "start", "legend", names[k]);
        lx += 70;
    }
    for (int c = 0; c < C; c++) {
        double y = top + c * (bars * bh + gap);
        char label[80];
        snprintf(label, sizeof label, "%d %.60s", c, r->class_names[c]);
        svg_text(b, left - 8, y + bars * bh / 2.0 + 4, "end", NULL, label);
        int row = 0;
        for (int k = 0; k < 3; k++) {
            if (k == 1 && !val)
                continue;
            int64_t v = k == 0 ? r->count_train[c] : k == 1 ? r->count_val[c] : r->count_test[c];
            double w = (double)(W - left - right) * (double)v / (double)maxc;
            report_buf_printf(b, "<rect x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" "
                                 "fill=\"%s\"><title>class %d, %s: %lld</title></rect>",
                              left, y + row * bh, w, bh - 1, colors[k], c, names[k], (long long)v);
            char t[32];
            snprintf(t, sizeof t, "%lld", (long long)v);
            svg_text(b, left + w + 4, y + row * bh + bh - 1.5, "start", "small", t);
            row++;
        }
        report_buf_puts(b, "\n");
    }
    report_buf_puts(b, "</svg>\n");
}

/* ---- confusion matrices ---- */

void report_draw_confusion(report_buf *b, const report_result *x, const run_report *r)
{
    int C = x->n_classes;
    double cell = 360.0 / C;
    if (cell > 44)
        cell = 44;
    if (cell < 4)
        cell = 4;
    int left = 110, top = 62;
    int W = (int)(left + C * cell + 20), H = (int)(top + C * cell + 36);
    if (W < 300)
        W = 300;
    char title[512], acc[32];
    report_format_pct(acc, sizeof acc, x->test_acc, 2);
    snprintf(title, sizeof title, "Confusion matrix: %s, test accuracy %s", x->name, acc);
    svg_begin(b, "confusion", x->name, W, H, title);
    svg_text(b, left + C * cell / 2, 14, "middle", "legend", "predicted class");
    report_buf_printf(b, "<text class=\"legend\" transform=\"translate(12 %.1f) rotate(-90)\" "
                         "text-anchor=\"middle\">true class</text>\n",
                      top + C * cell / 2);
    bool names = C <= 20;
    for (int c = 0; c < C && names; c++) {
        char l[48];
        snprintf(l, sizeof l, "%d %.10s", c, r && c < r->n_classes ? r->class_names[c] : "");
        svg_text(b, left - 6, top + (c + 0.5) * cell + 4, "end", "small", l);
        snprintf(l, sizeof l, "%d", c);
        svg_text(b, left + (c + 0.5) * cell, top - 8, "middle", "small", l);
    }
    for (int i = 0; i < C; i++) {
        int64_t row = 0;
        for (int j = 0; j < C; j++)
            row += x->confusion[(size_t)i * C + j];
        for (int j = 0; j < C; j++) {
            int64_t v = x->confusion[(size_t)i * C + j];
            double frac = row ? (double)v / (double)row : 0;
            char col[16];
            ramp(col, sizeof col, frac);
            report_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                                 "fill=\"%s\" stroke=\"#fff\"><title>true %d, predicted %d: %lld "
                                 "(%.1f%% of class %d)</title></rect>",
                              left + j * cell, top + i * cell, cell, cell, col, i, j, (long long)v,
                              100 * frac, i);
            if (cell >= 18)
                report_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                                     "class=\"cell%s\">%lld</text>",
                                  left + (j + 0.5) * cell, top + (i + 0.5) * cell + 4,
                                  frac > 0.5 ? " dark" : "", (long long)v);
        }
        report_buf_puts(b, "\n");
    }
    svg_text(b, left, top + C * cell + 24, "start", "small", "colour: share of the true class");
    report_buf_puts(b, "</svg>\n");
}

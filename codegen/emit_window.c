/* Emitters of the sliding-window ops: Conv (1-D to 3-D, pads, strides,
 * dilations, groups, depthwise), MaxPool and AveragePool.
 *
 * Every spatial dimension is split at generation time into segments of
 * output positions that see the same range of kernel taps inside the input
 * (the border rows and columns touched by padding, and the interior).  Each
 * segment becomes a loop whose body names every tap explicitly, so there are
 * no bounds checks and no padded copy of the input (no extra RAM):
 *
 *   for (int ow = 3; ow < 125; ow++)
 *       yr[ow] += wc[0] * xc[ow - 3] + wc[1] * xc[ow - 2] + ... ;
 *
 * The loop runs over output positions, the lanes compilers vectorise without
 * reassociating a sum; a Conv adds up to CONV_TERMS taps (several input
 * channels when the kernel is small) per pass over the output row.
 * Semantics follow runtime/kernels/conv.c and runtime/kernels/pool.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/emitter.h"
#include "graph/ops/window.h"

#define CONV_TERMS 12       /* taps per statement */
#define MAX_SEGMENT_BLOCKS 96 /* beyond: one loop with bounds checks */

typedef struct {
    int64_t lo, hi;   /* output positions [lo, hi) */
    int64_t klo, khi; /* taps inside the input */
    int64_t clo, chi; /* taps counted (AveragePool count_include_pad) */
} segment;

typedef struct {
    graph_window3 w;
    int nseg[3];
    segment seg[3][64];
    bool generic;     /* too many segments: bounds-checked loops */
} window_plan;

static void tap_range(int64_t o, int64_t k, int64_t s, int64_t dil, int64_t pb, int64_t lo_b,
                      int64_t hi_b, int64_t *klo, int64_t *khi)
{
    *klo = k;
    *khi = 0;
    for (int64_t t = 0; t < k; t++) {
        int64_t pos = o * s + t * dil - pb;
        if (pos >= lo_b && pos < hi_b) {
            if (t < *klo)
                *klo = t;
            *khi = t + 1;
        }
    }
    if (*klo >= *khi)
        *klo = *khi = 0;
}

static bool window_make(const cg_node *n, bool conv, bool include_pad, window_plan *p, char *msg,
                        size_t size)
{
    const graph_value *x = n->in[0];
    int ns = x->rank - 2;
    if (ns < 1 || ns > GRAPH_WINDOW_MAX_SPATIAL) {
        snprintf(msg, size, "input of rank %d (1 to 3 spatial dimensions supported)", x->rank);
        return false;
    }
    graph_window win;
    if (graph_window_resolve(n->node, ns, x->dims + 2, conv ? n->in[1]->dims + 2 : NULL, true,
                             &win, msg, size))
        return false;
    graph_window_to3(&win, &p->w);
    const graph_window3 *w = &p->w;
    int64_t blocks = 1;
    p->generic = false;
    for (int d = 0; d < 3; d++) {
        p->nseg[d] = 0;
        for (int64_t o = 0; o < w->out[d]; o++) {
            segment s = {o, o + 1, 0, 0, 0, 0};
            tap_range(o, w->kernel[d], w->stride[d], w->dilation[d], w->pad_begin[d], 0, w->in[d],
                      &s.klo, &s.khi);
            if (include_pad)
                tap_range(o, w->kernel[d], w->stride[d], w->dilation[d], w->pad_begin[d],
                          -w->pad_begin[d], w->in[d] + w->pad_end[d], &s.clo, &s.chi);
            else
                s.clo = s.klo, s.chi = s.khi;
            int k = p->nseg[d];
            if (k > 0 && p->seg[d][k - 1].klo == s.klo && p->seg[d][k - 1].khi == s.khi &&
                p->seg[d][k - 1].clo == s.clo && p->seg[d][k - 1].chi == s.chi) {
                p->seg[d][k - 1].hi = o + 1;
                continue;
            }
            if (k == 64) {
                p->generic = true;
                break;
            }
            p->seg[d][p->nseg[d]++] = s;
        }
        blocks *= p->nseg[d] ? p->nseg[d] : 1;
    }
    if (blocks > MAX_SEGMENT_BLOCKS)
        p->generic = true;
    return true;
}

/* Appends " + k" / " - k" (nothing for 0). */
static void add_const(char *buf, size_t size, int64_t k)
{
    size_t len = strlen(buf);
    if (k > 0)
        snprintf(buf + len, size - len, " + %lld", (long long)k);
    else if (k < 0)
        snprintf(buf + len, size - len, " - %lld", (long long)-k);
}

/* "v * k" or "v" (k == 1), appended with " + " if buf is not empty. */
static void add_term(char *buf, size_t size, const char *v, int64_t k)
{
    if (k == 0)
        return;
    size_t len = strlen(buf);
    if (k == 1)
        snprintf(buf + len, size - len, "%s%s", len ? " + " : "", v);
    else
        snprintf(buf + len, size - len, "%s%s * %lld", len ? " + " : "", v, (long long)k);
}

/* Opens the row loops of one (D, H) segment pair and defines
 *   r:  input index of tap (0, 0, 0) of the row, before adding ow * SW
 *   yr: the output row
 * Returns the indent of the row body; *closes gets the braces to close. */
typedef struct {
    bool literal;   /* r is a constant: folded into every index */
    int64_t value;
} row_base;

static int open_rows(cg_ctx *c, const graph_window3 *w, const segment *sd, const segment *sh,
                     int ind, const char *ybase, int *closes, row_base *rbase)
{
    const char *vd = "od", *vh = "oh";
    bool ld = sd->hi - sd->lo > 1, lh = sh->hi - sh->lo > 1;
    int64_t IH = w->in[1], IW = w->in[2], OH = w->out[1], OW = w->out[2];
    *closes = 0;
    if (ld) {
        cg_printf(c, "%*sfor (int od = %lld; od < %lld; od++)\n", ind, "", (long long)sd->lo,
                  (long long)sd->hi);
        ind += 4;
    }
    if (lh) {
        cg_printf(c, "%*sfor (int oh = %lld; oh < %lld; oh++)\n", ind, "", (long long)sh->lo,
                  (long long)sh->hi);
        ind += 4;
    }
    cg_printf(c, "%*s{\n", ind, "");
    (*closes)++;
    ind += 4;
    /* r = ((od*SD - PD)*IH + oh*SH - PH)*IW - PW */
    char r[256] = "", yo[256] = "";
    int64_t k = -(w->pad_begin[0] * IH + w->pad_begin[1]) * IW - w->pad_begin[2];
    int64_t ko = 0;
    if (ld) {
        add_term(r, sizeof r, vd, w->stride[0] * IH * IW);
        add_term(yo, sizeof yo, vd, OH * OW);
    } else {
        k += sd->lo * w->stride[0] * IH * IW;
        ko += sd->lo * OH * OW;
    }
    if (lh) {
        add_term(r, sizeof r, vh, w->stride[1] * IW);
        add_term(yo, sizeof yo, vh, OW);
    } else {
        k += sh->lo * w->stride[1] * IW;
        ko += sh->lo * OW;
    }
    rbase->literal = !r[0];
    rbase->value = k;
    if (r[0])
        add_const(r, sizeof r, k);
    if (!yo[0])
        snprintf(yo, sizeof yo, "%lld", (long long)ko);
    else
        add_const(yo, sizeof yo, ko);
    if (r[0])
        cg_printf(c, "%*sconst int r = %s;\n", ind, "", r);
    if (!strcmp(yo, "0"))
        cg_printf(c, "%*sfloat *yr = %s;\n", ind, "", ybase);
    else
        cg_printf(c, "%*sfloat *yr = %s + %s;\n", ind, "", ybase, yo);
    return ind;
}

static void close_rows(cg_ctx *c, int ind, int closes)
{
    for (int i = 0; i < closes; i++) {
        ind -= 4;
        cg_printf(c, "%*s}\n", ind, "");
    }
}

/* "xc[r + ow * 2 + 5]" for a tap at constant offset k (ow literal if the
 * segment is one position). */
static void x_ref(char *buf, size_t size, const char *base, const row_base *rb,
                  const segment *sw, int64_t stride, int64_t k)
{
    char idx[128] = "";
    if (!rb->literal)
        snprintf(idx, sizeof idx, "r");
    else
        k += rb->value;
    if (sw->hi - sw->lo > 1)
        add_term(idx, sizeof idx, "ow", stride);
    else
        k += sw->lo * stride;
    if (!idx[0])
        snprintf(idx, sizeof idx, "%lld", (long long)k);
    else
        add_const(idx, sizeof idx, k);
    snprintf(buf, size, "%s[%s]", base, idx);
}

/* ---- Conv ---- */

static bool check_conv(const cg_ctx *c, const cg_node *n, char *why, size_t size)
{
    (void)c;
    window_plan *p = malloc(sizeof *p);
    if (!p) {
        snprintf(why, size, "out of memory");
        return false;
    }
    bool ok = window_make(n, true, false, p, why, size);
    free(p);
    if (!ok)
        return false;
    int64_t group = graph_attr_int(n->node, "group", 1);
    const graph_value *x = n->in[0], *w = n->in[1];
    if (group < 1 || w->dims[0] % group || w->dims[1] * group != x->dims[1]) {
        snprintf(why, size, "channels do not match the groups");
        return false;
    }
    return true;
}

static ssdc_status emit_conv(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    window_plan *p = malloc(sizeof *p);
    char msg[256];
    if (!p)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    window_make(n, true, false, p, msg, sizeof msg);
    const graph_window3 *w = &p->w;
    const graph_value *x = n->in[0], *wt = n->in[1];
    bool has_b = n->n_in > 2 && n->in[2];
    int64_t N = x->dims[0], C = x->dims[1], M = wt->dims[0], CPG = wt->dims[1];
    int64_t G = graph_attr_int(n->node, "group", 1), MPG = M / G;
    int64_t KS = w->kernel_size, IN = w->in_size, OUT = w->out_size;
    const char *X = cg_in(c, n, 0), *W = cg_in(c, n, 1), *B = has_b ? cg_in(c, n, 2) : NULL;
    const char *Y = cg_out(c, n, 0);
    if (N * M * OUT == 0) {
        free(p);
        return SSDC_OK;
    }
    /* channels per statement */
    int64_t CB = 1;
    for (int64_t d = 1; d <= CPG; d++)
        if (CPG % d == 0 && d * KS <= 8)
            CB = d;
    int ind = 4;
    if (N > 1) {
        cg_printf(c, "    for (int nb = 0; nb < %lld; nb++)\n", (long long)N);
        ind += 4;
    }
    cg_printf(c, "%*sfor (int m = 0; m < %lld; m++) {\n", ind, "", (long long)M);
    ind += 4;
    char xg[200];
    snprintf(xg, sizeof xg, "%s", X);
    if (N > 1)
        snprintf(xg + strlen(xg), sizeof xg - strlen(xg), " + nb * %lld", (long long)(C * IN));
    if (G > 1)
        snprintf(xg + strlen(xg), sizeof xg - strlen(xg), " + (m / %lld) * %lld", (long long)MPG,
                 (long long)(CPG * IN));
    cg_printf(c, "%*sconst float *xg = %s;\n", ind, "", xg);
    cg_printf(c, "%*sconst float *wm = %s + m * %lld;\n", ind, "", W, (long long)(CPG * KS));
    if (N > 1)
        cg_printf(c, "%*sfloat *ym = %s + (nb * %lld + m) * %lld;\n", ind, "", Y, (long long)M,
                  (long long)OUT);
    else
        cg_printf(c, "%*sfloat *ym = %s + m * %lld;\n", ind, "", Y, (long long)OUT);
    if (B)
        cg_printf(c, "%*sconst float bv = %s[m];\n", ind, "", B);
    cg_printf(c, "%*sfor (int i = 0; i < %lld; i++)\n%*sym[i] = %s;\n", ind, "", (long long)OUT,
              ind + 4, "", B ? "bv" : "0.0f");
    bool cloop = CPG / CB > 1;
    if (cloop) {
        cg_printf(c, "%*sfor (int ci = 0; ci < %lld; ci += %lld) {\n", ind, "", (long long)CPG,
                  (long long)CB);
        ind += 4;
        cg_printf(c, "%*sconst float *xc = xg + ci * %lld;\n", ind, "", (long long)IN);
        cg_printf(c, "%*sconst float *wc = wm + ci * %lld;\n", ind, "", (long long)KS);
    } else {
        cg_printf(c, "%*s{\n", ind, "");
        ind += 4;
        cg_printf(c, "%*sconst float *xc = xg;\n%*sconst float *wc = wm;\n", ind, "", ind, "");
    }
    if (p->generic) {
        /* every output position with bounds checks */
        cg_printf(c, "%*sfor (int od = 0; od < %lld; od++)\n", ind, "", (long long)w->out[0]);
        cg_printf(c, "%*sfor (int oh = 0; oh < %lld; oh++)\n", ind + 4, "", (long long)w->out[1]);
        cg_printf(c, "%*sfor (int ow = 0; ow < %lld; ow++) {\n", ind + 8, "", (long long)w->out[2]);
        int b = ind + 12;
        cg_printf(c, "%*sfloat acc = 0.0f;\n", b, "");
        cg_printf(c, "%*sfor (int cc = 0; cc < %lld; cc++)\n", b, "", (long long)CB);
        cg_printf(c, "%*sfor (int kd = 0; kd < %lld; kd++)\n", b + 4, "", (long long)w->kernel[0]);
        cg_printf(c, "%*sfor (int kh = 0; kh < %lld; kh++)\n", b + 8, "", (long long)w->kernel[1]);
        cg_printf(c, "%*sfor (int kw = 0; kw < %lld; kw++) {\n", b + 12, "", (long long)w->kernel[2]);
        int bb = b + 16;
        cg_printf(c, "%*sconst int id = od * %lld + kd * %lld - %lld;\n", bb, "",
                  (long long)w->stride[0], (long long)w->dilation[0], (long long)w->pad_begin[0]);
        cg_printf(c, "%*sconst int ih = oh * %lld + kh * %lld - %lld;\n", bb, "",
                  (long long)w->stride[1], (long long)w->dilation[1], (long long)w->pad_begin[1]);
        cg_printf(c, "%*sconst int iw = ow * %lld + kw * %lld - %lld;\n", bb, "",
                  (long long)w->stride[2], (long long)w->dilation[2], (long long)w->pad_begin[2]);
        cg_printf(c, "%*sif (id >= 0 && id < %lld && ih >= 0 && ih < %lld && iw >= 0 && iw < %lld)\n",
                  bb, "", (long long)w->in[0], (long long)w->in[1], (long long)w->in[2]);
        cg_printf(c, "%*sacc += wc[cc * %lld + (kd * %lld + kh) * %lld + kw] * "
                     "xc[cc * %lld + (id * %lld + ih) * %lld + iw];\n",
                  bb + 4, "", (long long)KS, (long long)w->kernel[1], (long long)w->kernel[2],
                  (long long)IN, (long long)w->in[1], (long long)w->in[2]);
        cg_printf(c, "%*s}\n", b + 12, "");
        cg_printf(c, "%*sym[(od * %lld + oh) * %lld + ow] += acc;\n", b, "", (long long)w->out[1],
                  (long long)w->out[2]);
        cg_printf(c, "%*s}\n", ind + 8, "");
    } else {
        for (int a = 0; a < p->nseg[0]; a++)
            for (int b = 0; b < p->nseg[1]; b++) {
                const segment *sd = &p->seg[0][a], *sh = &p->seg[1][b];
                if (sd->klo == sd->khi || sh->klo == sh->khi)
                    continue;
                bool any = false;
                for (int q = 0; q < p->nseg[2]; q++)
                    any = any || p->seg[2][q].khi > p->seg[2][q].klo;
                if (!any)
                    continue;
                int closes;
                row_base rbase;
                int rb = open_rows(c, w, sd, sh, ind, "ym", &closes, &rbase);
                for (int q = 0; q < p->nseg[2]; q++) {
                    const segment *sw = &p->seg[2][q];
                    if (sw->klo == sw->khi)
                        continue;
                    /* the taps of this block, in (channel, kd, kh, kw) order */
                    int64_t nterms = CB * (sd->khi - sd->klo) * (sh->khi - sh->klo) *
                                     (sw->khi - sw->klo);
                    int64_t t = 0;
                    while (t < nterms) {
                        int64_t chunk = nterms - t < CONV_TERMS ? nterms - t : CONV_TERMS;
                        bool loop = sw->hi - sw->lo > 1;
                        if (loop)
                            cg_printf(c, "%*sfor (int ow = %lld; ow < %lld; ow++)\n", rb, "",
                                      (long long)sw->lo, (long long)sw->hi);
                        int sb = rb + (loop ? 4 : 0);
                        if (loop)
                            cg_printf(c, "%*syr[ow] +=", sb, "");
                        else
                            cg_printf(c, "%*syr[%lld] +=", sb, "", (long long)sw->lo);
                        for (int64_t j = 0; j < chunk; j++, t++) {
                            int64_t rem = t;
                            int64_t nw = sw->khi - sw->klo, nh = sh->khi - sh->klo;
                            int64_t nd = sd->khi - sd->klo;
                            int64_t kw = sw->klo + rem % nw;
                            rem /= nw;
                            int64_t kh = sh->klo + rem % nh;
                            rem /= nh;
                            int64_t kd = sd->klo + rem % nd;
                            int64_t cc = rem / nd;
                            int64_t widx = cc * KS + (kd * w->kernel[1] + kh) * w->kernel[2] + kw;
                            int64_t off = cc * IN +
                                          (kd * w->dilation[0] * w->in[1] + kh * w->dilation[1]) *
                                              w->in[2] +
                                          kw * w->dilation[2];
                            char xr[200];
                            x_ref(xr, sizeof xr, "xc", &rbase, sw, w->stride[2], off);
                            if (j && j % 3 == 0)
                                cg_printf(c, " +\n%*swc[%lld] * %s", sb + 4, "", (long long)widx, xr);
                            else
                                cg_printf(c, "%s wc[%lld] * %s", j ? " +" : "", (long long)widx, xr);
                        }
                        cg_printf(c, ";\n");
                    }
                }
                close_rows(c, rb, closes);
            }
    }
    ind -= 4;
    cg_printf(c, "%*s}\n", ind, "");
    ind -= 4;
    cg_printf(c, "%*s}\n", ind, "");
    free(p);
    return SSDC_OK;
}
const codegen_emitter codegen_emitter_conv = {check_conv, emit_conv, 0};

/* ---- pools ---- */

static bool check_pool(const cg_ctx *c, const cg_node *n, char *why, size_t size)
{
    (void)c;
    if (n->n_out > 1 && n->out[1]) {
        snprintf(why, size, "the Indices output is used");
        return false;
    }
    window_plan *p = malloc(sizeof *p);
    if (!p) {
        snprintf(why, size, "out of memory");
        return false;
    }
    bool ok = window_make(n, false, false, p, why, size);
    free(p);
    return ok;
}

static ssdc_status emit_pool(cg_ctx *c, const cg_node *n, bool is_max, ssdc_error *err)
{
    bool include_pad = !is_max && graph_attr_int(n->node, "count_include_pad", 0) != 0;
    window_plan *p = malloc(sizeof *p);
    char msg[256];
    if (!p)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    window_make(n, false, include_pad, p, msg, sizeof msg);
    const graph_window3 *w = &p->w;
    const graph_value *x = n->in[0];
    int64_t planes = x->dims[0] * x->dims[1], IN = w->in_size, OUT = w->out_size;
    const char *X = cg_in(c, n, 0), *Y = cg_out(c, n, 0);
    if (planes * OUT == 0) {
        free(p);
        return SSDC_OK;
    }
    const char *inf = is_max ? cg_math(c, CG_FN_INF) : "";
    cg_printf(c, "    for (int pl = 0; pl < %lld; pl++) {\n", (long long)planes);
    cg_printf(c, "        const float *xc = %s + pl * %lld;\n", X, (long long)IN);
    cg_printf(c, "        float *ym = %s + pl * %lld;\n", Y, (long long)OUT);
    int ind = 8;
    if (p->generic) {
        cg_printf(c, "%*sfor (int od = 0; od < %lld; od++)\n", ind, "", (long long)w->out[0]);
        cg_printf(c, "%*sfor (int oh = 0; oh < %lld; oh++)\n", ind + 4, "", (long long)w->out[1]);
        cg_printf(c, "%*sfor (int ow = 0; ow < %lld; ow++) {\n", ind + 8, "", (long long)w->out[2]);
        int b = ind + 12;
        cg_printf(c, "%*sfloat acc = 0.0f;\n%*sint cnt = 0;\n", b, "", b, "");
        if (is_max)
            cg_printf(c, "%*sacc = -%s;\n", b, "", inf);
        cg_printf(c, "%*sfor (int kd = 0; kd < %lld; kd++)\n", b, "", (long long)w->kernel[0]);
        cg_printf(c, "%*sfor (int kh = 0; kh < %lld; kh++)\n", b + 4, "", (long long)w->kernel[1]);
        cg_printf(c, "%*sfor (int kw = 0; kw < %lld; kw++) {\n", b + 8, "", (long long)w->kernel[2]);
        int bb = b + 12;
        const char *axis[3] = {"d", "h", "w"};
        const char *ov[3] = {"od", "oh", "ow"}, *kv[3] = {"kd", "kh", "kw"};
        for (int d = 0; d < 3; d++)
            cg_printf(c, "%*sconst int i%s = %s * %lld + %s * %lld - %lld;\n", bb, "", axis[d],
                      ov[d], (long long)w->stride[d], kv[d], (long long)w->dilation[d],
                      (long long)w->pad_begin[d]);
        if (include_pad)
            cg_printf(c, "%*scnt += id >= -%lld && id < %lld && ih >= -%lld && ih < %lld && "
                         "iw >= -%lld && iw < %lld;\n",
                      bb, "", (long long)w->pad_begin[0], (long long)(w->in[0] + w->pad_end[0]),
                      (long long)w->pad_begin[1], (long long)(w->in[1] + w->pad_end[1]),
                      (long long)w->pad_begin[2], (long long)(w->in[2] + w->pad_end[2]));
        cg_printf(c, "%*sif (id >= 0 && id < %lld && ih >= 0 && ih < %lld && iw >= 0 && iw < %lld) {\n",
                  bb, "", (long long)w->in[0], (long long)w->in[1], (long long)w->in[2]);
        cg_printf(c, "%*sconst float v = xc[(id * %lld + ih) * %lld + iw];\n", bb + 4, "",
                  (long long)w->in[1], (long long)w->in[2]);
        if (is_max)
            cg_printf(c, "%*sacc = v > acc ? v : acc;\n", bb + 4, "");
        else
            cg_printf(c, "%*sacc += v;\n", bb + 4, "");
        if (!include_pad)
            cg_printf(c, "%*scnt++;\n", bb + 4, "");
        cg_printf(c, "%*s}\n", bb, "");
        cg_printf(c, "%*s}\n", b + 8, "");
        if (is_max)
            cg_printf(c, "%*s(void)cnt;\n%*sym[(od * %lld + oh) * %lld + ow] = acc;\n", b, "", b,
                      "", (long long)w->out[1], (long long)w->out[2]);
        else
            cg_printf(c, "%*sym[(od * %lld + oh) * %lld + ow] = cnt ? acc / (float)cnt : 0.0f;\n",
                      b, "", (long long)w->out[1], (long long)w->out[2]);
        cg_printf(c, "%*s}\n", ind + 8, "");
    } else {
        for (int a = 0; a < p->nseg[0]; a++)
            for (int b = 0; b < p->nseg[1]; b++) {
                const segment *sd = &p->seg[0][a], *sh = &p->seg[1][b];
                int closes;
                row_base rbase;
                int rb = open_rows(c, w, sd, sh, ind, "ym", &closes, &rbase);
                for (int q = 0; q < p->nseg[2]; q++) {
                    const segment *sw = &p->seg[2][q];
                    bool loop = sw->hi - sw->lo > 1;
                    int sb = rb;
                    char yref[64];
                    if (loop) {
                        cg_printf(c, "%*sfor (int ow = %lld; ow < %lld; ow++) {\n", rb, "",
                                  (long long)sw->lo, (long long)sw->hi);
                        sb += 4;
                        snprintf(yref, sizeof yref, "yr[ow]");
                    } else {
                        cg_printf(c, "%*s{\n", rb, "");
                        sb += 4;
                        snprintf(yref, sizeof yref, "yr[%lld]", (long long)sw->lo);
                    }
                    int64_t nd = sd->khi - sd->klo, nh = sh->khi - sh->klo, nw = sw->khi - sw->klo;
                    int64_t count = (sd->chi - sd->clo) * (sh->chi - sh->clo) * (sw->chi - sw->clo);
                    if (is_max) {
                        cg_printf(c, "%*sfloat v = -%s;\n", sb, "", inf);
                        for (int64_t kd = sd->klo; kd < sd->khi; kd++)
                            for (int64_t kh = sh->klo; kh < sh->khi; kh++)
                                for (int64_t kw = sw->klo; kw < sw->khi; kw++) {
                                    int64_t off = (kd * w->dilation[0] * w->in[1] +
                                                   kh * w->dilation[1]) * w->in[2] +
                                                  kw * w->dilation[2];
                                    char xr[200];
                                    x_ref(xr, sizeof xr, "xc", &rbase, sw, w->stride[2], off);
                                    cg_printf(c, "%*sv = %s > v ? %s : v;\n", sb, "", xr, xr);
                                }
                        cg_printf(c, "%*s%s = v;\n", sb, "", yref);
                    } else if (nd * nh * nw == 0 || count == 0) {
                        cg_printf(c, "%*s%s = 0.0f;\n", sb, "", yref);
                    } else {
                        cg_printf(c, "%*s%s = (", sb, "", yref);
                        int64_t j = 0;
                        for (int64_t kd = sd->klo; kd < sd->khi; kd++)
                            for (int64_t kh = sh->klo; kh < sh->khi; kh++)
                                for (int64_t kw = sw->klo; kw < sw->khi; kw++, j++) {
                                    int64_t off = (kd * w->dilation[0] * w->in[1] +
                                                   kh * w->dilation[1]) * w->in[2] +
                                                  kw * w->dilation[2];
                                    char xr[200];
                                    x_ref(xr, sizeof xr, "xc", &rbase, sw, w->stride[2], off);
                                    if (j && j % 4 == 0)
                                        cg_printf(c, " +\n%*s%s", sb + 4, "", xr);
                                    else
                                        cg_printf(c, "%s%s", j ? " + " : "", xr);
                                }
                        cg_printf(c, ") * %s;\n", cg_flit(c, 1.0f / (float)count));
                    }
                    cg_printf(c, "%*s}\n", rb, "");
                }
                close_rows(c, rb, closes);
            }
    }
    cg_printf(c, "    }\n");
    free(p);
    return SSDC_OK;
}

static ssdc_status emit_maxpool(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    return emit_pool(c, n, true, err);
}

static ssdc_status emit_averagepool(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    return emit_pool(c, n, false, err);
}

const codegen_emitter codegen_emitter_maxpool = {check_pool, emit_maxpool, 0};
const codegen_emitter codegen_emitter_averagepool = {check_pool, emit_averagepool, 0};

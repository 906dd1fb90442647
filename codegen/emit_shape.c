/* Emitters of the data-movement ops: the views (Reshape, Flatten, Squeeze,
 * Unsqueeze: aliases of their input, or one memcpy), Transpose, Slice,
 * Expand, Tile (strided copies), Concat, Split, Gather (constant indices)
 * and Pad.  Every index list (shape, starts, axes, pads, indices) must be
 * known at generation time; semantics follow runtime/kernels/shape_ops.c. */
#include <stdio.h>
#include <string.h>

#include "codegen/emitter.h"

static int64_t list_get(const graph_value *v, int64_t i)
{
    return graph_value_get_i64(v, i);
}

/* ---- strided copy ---- */

void cg_emit_strided_copy(cg_ctx *c, const char *dst, const char *src, int rank,
                          const int64_t *dims_in, const int64_t *st_in, int64_t off)
{
    int64_t dims[2 * GRAPH_MAX_RANK], st[2 * GRAPH_MAX_RANK];
    int r = 0;
    int64_t total = 1;
    for (int k = 0; k < rank; k++) {
        total *= dims_in[k];
        if (dims_in[k] == 1)
            continue;
        if (r > 0 && st[r - 1] == st_in[k] * dims_in[k]) {
            dims[r - 1] *= dims_in[k];
            st[r - 1] = st_in[k];
        } else {
            dims[r] = dims_in[k];
            st[r] = st_in[k];
            r++;
        }
    }
    if (total == 0)
        return;
    if (r == 0) {
        cg_printf(c, "    %s[0] = %s[%lld];\n", dst, src, (long long)off);
        return;
    }
    /* innermost contiguous: memcpy rows */
    bool rows = st[r - 1] == 1;
    int loops = rows ? r - 1 : r;
    char idx[600];
    size_t pos = (size_t)snprintf(idx, sizeof idx, "%lld", (long long)off);
    for (int d = 0; d < loops && pos < sizeof idx; d++)
        if (st[d] != 0)
            pos += (size_t)snprintf(idx + pos, sizeof idx - pos, " + i%d * %lld", d,
                                    (long long)st[d]);
    if (rows && loops == 0) {
        cg_printf(c, "    memcpy(%s, %s + %s, (size_t)%lld * sizeof(*%s));\n", dst, src, idx,
                  (long long)dims[r - 1], dst);
        return;
    }
    cg_printf(c, "    {\n        int o = 0;\n");
    int ind = 8;
    for (int d = 0; d < loops; d++) {
        cg_printf(c, "%*sfor (int i%d = 0; i%d < %lld; i%d++)%s\n", ind, "", d, d,
                  (long long)dims[d], d, d == loops - 1 ? " {" : "");
        ind += 4;
    }
    if (rows) {
        cg_printf(c, "%*smemcpy(%s + o, %s + %s, (size_t)%lld * sizeof(*%s));\n", ind, "", dst,
                  src, idx, (long long)dims[r - 1], dst);
        cg_printf(c, "%*so += %lld;\n", ind, "", (long long)dims[r - 1]);
    } else {
        cg_printf(c, "%*s%s[o++] = %s[%s];\n", ind, "", dst, src, idx);
    }
    cg_printf(c, "%*s}\n    }\n", ind - 4, "");
}

/* ---- views ---- */

static ssdc_status emit_copy(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    (void)err;
    if (n->out[0]->numel > 0)
        cg_printf(c, "    memcpy(%s, %s, (size_t)%lld * sizeof(*%s));\n", cg_out(c, n, 0),
                  cg_in(c, n, 0), (long long)n->out[0]->numel, cg_out(c, n, 0));
    return SSDC_OK;
}

const codegen_emitter codegen_emitter_reshape = {NULL, emit_copy, CG_VIEW | CG_TYPED};
const codegen_emitter codegen_emitter_flatten = {NULL, emit_copy, CG_VIEW | CG_TYPED};
const codegen_emitter codegen_emitter_squeeze = {NULL, emit_copy, CG_VIEW | CG_TYPED};
const codegen_emitter codegen_emitter_unsqueeze = {NULL, emit_copy, CG_VIEW | CG_TYPED};

/* Index lists (input i) must be constants. */
static bool need_const(const cg_node *n, int from, char *why, size_t size)
{
    for (int i = from; i < n->n_in; i++)
        if (n->in[i] && !n->in_const[i]) {
            snprintf(why, size, "input %d is computed at run time; it must be a constant", i);
            return false;
        }
    return true;
}

static bool check_lists(const cg_ctx *c, const cg_node *n, char *why, size_t size)
{
    (void)c;
    return need_const(n, 1, why, size);
}

/* ---- Transpose ---- */

static ssdc_status emit_transpose(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    (void)err;
    const graph_value *x = n->in[0];
    int r = x->rank;
    size_t np = 0;
    const int64_t *perm = graph_attr_ints(n->node, "perm", &np);
    int64_t xs[GRAPH_MAX_RANK], st[GRAPH_MAX_RANK], dims[GRAPH_MAX_RANK];
    int64_t s = 1;
    for (int d = r - 1; d >= 0; d--) {
        xs[d] = s;
        s *= x->dims[d];
    }
    for (int k = 0; k < r; k++) {
        int64_t p = perm ? perm[k] : r - 1 - k;
        st[k] = xs[p];
        dims[k] = x->dims[p];
    }
    cg_emit_strided_copy(c, cg_out(c, n, 0), cg_in(c, n, 0), r, dims, st, 0);
    return SSDC_OK;
}
const codegen_emitter codegen_emitter_transpose = {NULL, emit_transpose, CG_TYPED};

/* ---- Slice ---- */

static int64_t slice_count(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t *first)
{
    if (start < 0)
        start += dim;
    if (end < 0)
        end += dim;
    int64_t n;
    if (step > 0) {
        start = start < 0 ? 0 : start > dim ? dim : start;
        end = end < 0 ? 0 : end > dim ? dim : end;
        int64_t s = step > dim ? dim + 1 : step;
        n = end > start ? (end - start - 1) / s + 1 : 0;
    } else {
        start = start < 0 ? 0 : start > dim - 1 ? dim - 1 : start;
        end = end < -1 ? -1 : end > dim - 1 ? dim - 1 : end;
        int64_t s = step < -dim ? dim + 1 : -step;
        n = start > end ? (start - end - 1) / s + 1 : 0;
    }
    *first = start;
    return n;
}

static ssdc_status emit_slice(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    (void)err;
    const graph_value *x = n->in[0];
    int r = x->rank;
    const graph_value *starts = n->in[1], *ends = n->in[2];
    const graph_value *axes = n->n_in > 3 ? n->in[3] : NULL;
    const graph_value *steps = n->n_in > 4 ? n->in[4] : NULL;
    int64_t first[GRAPH_MAX_RANK] = {0}, step[GRAPH_MAX_RANK];
    for (int d = 0; d < r; d++)
        step[d] = 1;
    for (int64_t k = 0; k < starts->numel; k++) {
        int64_t a = axes ? list_get(axes, k) : k;
        int d = (int)(a < 0 ? a + r : a);
        step[d] = steps ? list_get(steps, k) : 1;
        slice_count(x->dims[d], list_get(starts, k), list_get(ends, k), step[d], &first[d]);
    }
    int64_t xs[GRAPH_MAX_RANK], st[GRAPH_MAX_RANK], off = 0, s = 1;
    for (int d = r - 1; d >= 0; d--) {
        xs[d] = s;
        s *= x->dims[d];
    }
    for (int d = 0; d < r; d++) {
        off += first[d] * xs[d];
        st[d] = xs[d] * step[d];
    }
    cg_emit_strided_copy(c, cg_out(c, n, 0), cg_in(c, n, 0), r, n->out[0]->dims, st, off);
    return SSDC_OK;
}

static bool check_slice(const cg_ctx *c, const cg_node *n, char *why, size_t size)
{
    (void)c;
    if (!need_const(n, 1, why, size))
        return false;
    if (n->n_in < 3 || !n->in[1] || !n->in[2]) {
        snprintf(why, size, "starts and ends must be inputs (opset 10+ form)");
        return false;
    }
    return true;
}
const codegen_emitter codegen_emitter_slice = {check_slice, emit_slice, CG_TYPED};

/* ---- Expand / Tile ---- */

static ssdc_status emit_expand(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    (void)err;
    const graph_value *x = n->in[0], *y = n->out[0];
    int R = y->rank, r = x->rank;
    int64_t xs[GRAPH_MAX_RANK], st[GRAPH_MAX_RANK], s = 1;
    for (int d = r - 1; d >= 0; d--) {
        xs[d] = s;
        s *= x->dims[d];
    }
    for (int k = 0; k < R; k++) {
        int i = k - (R - r);
        st[k] = (i < 0 || x->dims[i] == 1) ? 0 : xs[i];
    }
    cg_emit_strided_copy(c, cg_out(c, n, 0), cg_in(c, n, 0), R, y->dims, st, 0);
    return SSDC_OK;
}
const codegen_emitter codegen_emitter_expand = {check_lists, emit_expand, CG_TYPED};

static ssdc_status emit_tile(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    (void)err;
    const graph_value *x = n->in[0], *rep = n->in[1];
    int r = x->rank;
    int64_t xs[GRAPH_MAX_RANK], dims[2 * GRAPH_MAX_RANK], st[2 * GRAPH_MAX_RANK], s = 1;
    for (int d = r - 1; d >= 0; d--) {
        xs[d] = s;
        s *= x->dims[d];
    }
    for (int d = 0; d < r; d++) {
        dims[2 * d] = list_get(rep, d);
        st[2 * d] = 0;
        dims[2 * d + 1] = x->dims[d];
        st[2 * d + 1] = xs[d];
    }
    cg_emit_strided_copy(c, cg_out(c, n, 0), cg_in(c, n, 0), 2 * r, dims, st, 0);
    return SSDC_OK;
}
const codegen_emitter codegen_emitter_tile = {check_lists, emit_tile, CG_TYPED};

/* ---- Concat / Split ---- */

static ssdc_status emit_concat(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    (void)err;
    const graph_value *y = n->out[0];
    int64_t axis = graph_attr_int(n->node, "axis", 0);
    int a = (int)(axis < 0 ? axis + y->rank : axis);
    int64_t outer = cg_prod(y->dims, 0, a), inner = cg_prod(y->dims, a + 1, y->rank);
    int64_t row = y->dims[a] * inner, off = 0;
    for (int i = 0; i < n->n_in; i++) {
        if (!n->in[i])
            continue;
        int64_t len = n->in[i]->dims[a] * inner;
        if (len == 0)
            continue;
        const char *src = cg_in(c, n, i), *dst = cg_out(c, n, 0);
        if (outer == 1) {
            cg_printf(c, "    memcpy(%s + %lld, %s, (size_t)%lld * sizeof(*%s));\n", dst,
                      (long long)off, src, (long long)len, dst);
        } else {
            cg_printf(c, "    for (int i = 0; i < %lld; i++)\n", (long long)outer);
            cg_printf(c, "        memcpy(%s + i * %lld + %lld, %s + i * %lld, (size_t)%lld * "
                         "sizeof(*%s));\n",
                      dst, (long long)row, (long long)off, src, (long long)len, (long long)len,
                      dst);
        }
        off += len;
    }
    return SSDC_OK;
}
const codegen_emitter codegen_emitter_concat = {NULL, emit_concat, CG_TYPED};

static ssdc_status emit_split(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    (void)err;
    const graph_value *x = n->in[0];
    int64_t axis = graph_attr_int(n->node, "axis", 0);
    int a = (int)(axis < 0 ? axis + x->rank : axis);
    int64_t outer = cg_prod(x->dims, 0, a), inner = cg_prod(x->dims, a + 1, x->rank);
    int64_t row = x->dims[a] * inner, off = 0;
    for (int o = 0; o < n->n_out; o++) {
        const graph_value *y = n->out[o];
        int64_t len;
        if (!y) {
            /* omitted output: its length along the axis from the runtime's rule */
            continue;
        }
        len = y->dims[a] * inner;
        if (len > 0) {
            const char *src = cg_in(c, n, 0), *dst = cg_out(c, n, o);
            if (outer == 1)
                cg_printf(c, "    memcpy(%s, %s + %lld, (size_t)%lld * sizeof(*%s));\n", dst,
                          src, (long long)off, (long long)len, dst);
            else {
                cg_printf(c, "    for (int i = 0; i < %lld; i++)\n", (long long)outer);
                cg_printf(c, "        memcpy(%s + i * %lld, %s + i * %lld + %lld, (size_t)%lld * "
                             "sizeof(*%s));\n",
                          dst, (long long)len, src, (long long)row, (long long)off, (long long)len,
                          dst);
            }
        }
        off += len;
    }
    return SSDC_OK;
}

static bool check_split(const cg_ctx *c, const cg_node *n, char *why, size_t size)
{
    (void)c;
    if (!need_const(n, 1, why, size))
        return false;
    for (int o = 0; o < n->n_out; o++)
        if (!n->out[o]) {
            snprintf(why, size, "output %d is omitted", o);
            return false;
        }
    return true;
}
const codegen_emitter codegen_emitter_split = {check_split, emit_split, CG_TYPED};

/* ---- Gather ---- */

static bool check_gather(const cg_ctx *c, const cg_node *n, char *why, size_t size)
{
    (void)c;
    if (n->in[1]->dtype != GRAPH_DT_INT64 && n->in[1]->dtype != GRAPH_DT_INT32) {
        snprintf(why, size, "indices are %s", graph_dtype_name(n->in[1]->dtype));
        return false;
    }
    return true;
}

/* Constant indices become a table; run-time ones are read (negative ones
 * count from the end; out-of-range ones, which the runtime refuses, are
 * clamped so no read leaves the data). */
static ssdc_status emit_gather(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    (void)err;
    const graph_value *x = n->in[0], *ix = n->in[1];
    int64_t axis = graph_attr_int(n->node, "axis", 0);
    int a = (int)(axis < 0 ? axis + x->rank : axis);
    int64_t ad = x->dims[a], outer = cg_prod(x->dims, 0, a);
    int64_t inner = cg_prod(x->dims, a + 1, x->rank);
    if (n->out[0]->numel == 0)
        return SSDC_OK;
    const char *src = cg_in(c, n, 0), *dst = cg_out(c, n, 0);
    char idx[64];
    if (n->in_const[1]) {
        cg_printf(c, "    static const int32_t idx[%lld] = {", (long long)ix->numel);
        for (int64_t j = 0; j < ix->numel; j++) {
            int64_t i = list_get(ix, j);
            if (i < 0)
                i += ad;
            cg_printf(c, "%s%s%lld", j ? "," : "", j % 16 ? " " : "\n        ", (long long)i);
        }
        cg_printf(c, "\n    };\n");
        snprintf(idx, sizeof idx, "idx[j]");
    } else {
        snprintf(idx, sizeof idx, "q");
    }
    cg_printf(c, "    for (int o = 0; o < %lld; o++)\n", (long long)outer);
    cg_printf(c, "        for (int j = 0; j < %lld; j++) {\n", (long long)ix->numel);
    if (!n->in_const[1]) {
        cg_printf(c, "            int64_t v = (int64_t)x1[j];\n");
        cg_printf(c, "            int q;\n");
        cg_printf(c, "            v = v < 0 ? v + %lld : v;\n", (long long)ad);
        cg_printf(c, "            q = (int)(v < 0 ? 0 : v > %lld ? %lld : v);\n", (long long)(ad - 1),
                  (long long)(ad - 1));
    }
    if (inner == 1)
        cg_printf(c, "            %s[o * %lld + j] = %s[o * %lld + %s];\n", dst,
                  (long long)ix->numel, src, (long long)ad, idx);
    else
        cg_printf(c, "            memcpy(%s + (o * %lld + j) * %lld, %s + (o * %lld + %s) * "
                     "%lld, (size_t)%lld * sizeof(*%s));\n",
                  dst, (long long)ix->numel, (long long)inner, src, (long long)ad, idx,
                  (long long)inner, (long long)inner, dst);
    cg_printf(c, "        }\n");
    return SSDC_OK;
}
const codegen_emitter codegen_emitter_gather = {check_gather, emit_gather, CG_TYPED};

/* ---- Pad ---- */

typedef enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE } pad_mode;

static int64_t pad_map(pad_mode mode, int64_t i, int64_t d)
{
    if (i >= 0 && i < d)
        return i;
    if (mode == PAD_CONSTANT)
        return -1;
    if (mode == PAD_EDGE)
        return i < 0 ? 0 : d - 1;
    if (d == 1)
        return 0;
    int64_t period = 2 * (d - 1);
    i %= period;
    if (i < 0)
        i += period;
    return i < d ? i : period - i;
}

static bool pad_plan(const cg_node *n, pad_mode *mode, int64_t *before, int64_t *out_dims,
                     double *cval, char *why, size_t size)
{
    const graph_value *x = n->in[0];
    const char *m = graph_attr_string(n->node, "mode", "constant");
    if (!strcmp(m, "constant"))
        *mode = PAD_CONSTANT;
    else if (!strcmp(m, "reflect"))
        *mode = PAD_REFLECT;
    else if (!strcmp(m, "edge"))
        *mode = PAD_EDGE;
    else {
        snprintf(why, size, "mode '%s'", m);
        return false;
    }
    int r = x->rank;
    int64_t pads[2 * GRAPH_MAX_RANK], axes[GRAPH_MAX_RANK];
    int64_t np = 0, na = r;
    if (n->n_in > 1 && n->in[1]) {
        np = n->in[1]->numel;
        for (int64_t k = 0; k < np && k < 2 * GRAPH_MAX_RANK; k++)
            pads[k] = list_get(n->in[1], k);
    } else {
        size_t cnt = 0;
        const int64_t *pa = graph_attr_ints(n->node, "pads", &cnt);
        np = (int64_t)cnt;
        for (size_t k = 0; k < cnt && k < 2 * GRAPH_MAX_RANK; k++)
            pads[k] = pa[k];
    }
    if (n->n_in > 3 && n->in[3]) {
        na = n->in[3]->numel;
        for (int64_t k = 0; k < na && k < GRAPH_MAX_RANK; k++) {
            int64_t a = list_get(n->in[3], k);
            axes[k] = a < 0 ? a + r : a;
        }
    } else {
        for (int d = 0; d < r; d++)
            axes[d] = d;
    }
    if (np != 2 * na || na > r) {
        snprintf(why, size, "pads has %lld entries for %lld axes", (long long)np, (long long)na);
        return false;
    }
    for (int d = 0; d < r; d++) {
        before[d] = 0;
        out_dims[d] = x->dims[d];
    }
    for (int64_t k = 0; k < na; k++) {
        before[axes[k]] = pads[k];
        out_dims[axes[k]] = x->dims[axes[k]] + pads[k] + pads[k + na];
    }
    *cval = 0.0;
    if (n->n_in > 2 && n->in[2] && n->in[2]->numel > 0)
        *cval = graph_value_get_f64(n->in[2], 0);
    else if (graph_node_attr(n->node, "value"))
        *cval = graph_attr_float(n->node, "value", 0.0f);
    return true;
}

static bool check_pad(const cg_ctx *c, const cg_node *n, char *why, size_t size)
{
    (void)c;
    if (!need_const(n, 1, why, size))
        return false;
    pad_mode mode;
    int64_t before[GRAPH_MAX_RANK], od[GRAPH_MAX_RANK];
    double cv;
    return pad_plan(n, &mode, before, od, &cv, why, size);
}

/* Per output axis, the input index of every output index (-1: the constant),
 * as static tables; then one loop nest over the output. */
static ssdc_status emit_pad(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    (void)err;
    const graph_value *x = n->in[0], *y = n->out[0];
    pad_mode mode;
    int64_t before[GRAPH_MAX_RANK], od[GRAPH_MAX_RANK];
    double cv;
    char why[200];
    pad_plan(n, &mode, before, od, &cv, why, sizeof why);
    int r = x->rank;
    if (y->numel == 0)
        return SSDC_OK;
    const char *src = cg_in(c, n, 0), *dst = cg_out(c, n, 0);
    if (x->numel == 0) {
        cg_printf(c, "    for (int i = 0; i < %lld; i++)\n        %s[i] = %s;\n",
                  (long long)y->numel, dst, cg_lit(c, x->dtype, cv));
        return SSDC_OK;
    }
    int64_t xs[GRAPH_MAX_RANK], s = 1;
    for (int d = r - 1; d >= 0; d--) {
        xs[d] = s;
        s *= x->dims[d];
    }
    for (int d = 0; d < r; d++) {
        cg_printf(c, "    static const int32_t m%d[%lld] = {", d, (long long)od[d]);
        for (int64_t o = 0; o < od[d]; o++) {
            int64_t i = pad_map(mode, o - before[d], x->dims[d]);
            cg_printf(c, "%s%s%lld", o ? "," : "", o % 16 ? " " : "\n        ",
                      (long long)(i < 0 ? -1 : i * xs[d]));
        }
        cg_printf(c, "\n    };\n");
    }
    cg_printf(c, "    int o = 0;\n");
    int ind = 4;
    for (int d = 0; d < r; d++) {
        cg_printf(c, "%*sfor (int i%d = 0; i%d < %lld; i%d++)%s\n", ind, "", d, d,
                  (long long)od[d], d, d == r - 1 ? " {" : "");
        ind += 4;
    }
    char cond[600] = "", idx[600] = "";
    size_t pc = 0, pi = 0;
    for (int d = 0; d < r; d++) {
        pc += (size_t)snprintf(cond + pc, sizeof cond - pc, "%sm%d[i%d] < 0", d ? " || " : "", d, d);
        pi += (size_t)snprintf(idx + pi, sizeof idx - pi, "%sm%d[i%d]", d ? " + " : "", d, d);
    }
    if (mode == PAD_CONSTANT)
        cg_printf(c, "%*s%s[o++] = (%s) ? %s : %s[%s];\n", ind, "", dst, cond,
                  cg_lit(c, x->dtype, cv), src, idx);
    else
        cg_printf(c, "%*s%s[o++] = %s[%s];\n", ind, "", dst, src, idx);
    cg_printf(c, "%*s}\n", ind - 4, "");
    return SSDC_OK;
}
const codegen_emitter codegen_emitter_pad = {check_pad, emit_pad, CG_TYPED};

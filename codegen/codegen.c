/* Code generation driver: passes, plan, storage, emission, files.
 * See codegen/codegen.h for the pipeline and codegen/emitter.h for the
 * per-op emitters. */
#include "codegen/codegen.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codegen/emitter.h"
#include "frontend/onnx_import.h"
#include "graph/fileio.h"
#include "graph/ops.h"
#include "passes/inference.h"
#include "runtime/exec.h"
#include "runtime/kernel.h"

#define CG_VERSION "0.1.0"
/* Arena blocks start at multiples of 16 bytes. */
#define CG_ALIGN_BYTES 16

const codegen_emitter *codegen_emitter_get(int op)
{
    static const codegen_emitter *const table[GRAPH_OP_COUNT] = {
#define X(e, name, sym) &codegen_emitter_##sym,
#include "graph/ops.def"
#include "graph/ops_training.def"
#undef X
    };
    if (op < 0 || op >= GRAPH_OP_COUNT)
        return NULL;
    const codegen_emitter *e = table[op];
    return e && e->emit ? e : NULL;
}

/* ---- context ---- */

/* Storage arenas, one per C type (tensors of different types never share
 * memory, so no access breaks C's aliasing rules). */
enum { AR_F32, AR_F64, AR_I8, AR_U8, AR_I16, AR_I32, AR_I64, AR_COUNT };

static const struct {
    const char *ctype, *suffix;
    int size;
} arena_info[AR_COUNT] = {
    [AR_F32] = {"float", "", 4},      [AR_F64] = {"double", "_f64", 8},
    [AR_I8] = {"int8_t", "_i8", 1},   [AR_U8] = {"uint8_t", "_u8", 1},
    [AR_I16] = {"int16_t", "_i16", 2}, [AR_I32] = {"int32_t", "_i32", 4},
    [AR_I64] = {"int64_t", "_i64", 8},
};


typedef enum { ST_NONE, ST_INPUT, ST_OUTPUT, ST_ARENA } storage_kind;

struct cg_ctx {
    graph *g;
    rt_plan *plan;
    const codegen_options *opt;
    char name[72], upper[72];
    int n_run;
    int *run_nodes;       /* node index per run position */
    bool *is_const;       /* per tensor */
    char **const_name;    /* per tensor: emitted array name */
    int n_consts;
    size_t weight_bytes;
    cg_buf consts, funcs, body;
    cg_buf *cur;
    bool math_used[CG_FN_COUNT];
    char math_name[CG_FN_COUNT][96];
    char flit[8][64];
    int flit_slot;
    char io_name[2][CG_MAX_IO][8];
    /* storage */
    int *parent;          /* union-find over tensors */
    int *first_def, *last_use;
    bool *is_view_node;   /* per run position: aliased, nothing emitted */
    bool *inplace;        /* per run position */
    int *inplace_input;
    storage_kind *kind;   /* per class root */
    int *cls_index;       /* input / output index of the class */
    int *cls_first, *cls_last;
    int64_t *cls_size;    /* elements */
    int64_t *cls_offset;  /* elements into the class's arena */
    int *cls_arena;       /* AR_* */
    int64_t arena_elems[AR_COUNT];  /* planned tensors */
    int64_t extra_elems[AR_COUNT];  /* NAME_run's scratch for outputs 1.. */
    int64_t *extra_offset;    /* per graph output */
    bool all_float;       /* every entry-point input and output is float */
    /* entry points */
    int *run_input;       /* per graph input: position among the entry's inputs, -1 */
    int n_run_inputs;
    bool *specialised;    /* per graph input */
    char **extra_names;   /* cg_add_const names */
    int n_extra, cap_extra;
};

const graph *cg_graph(const cg_ctx *c)
{
    return c->g;
}

void cg_printf(cg_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cg_buf_vprintf(c->cur, fmt, ap);
    va_end(ap);
}

const char *cg_math(cg_ctx *c, cg_math_fn fn)
{
    c->math_used[fn] = true;
    return c->math_name[fn];
}

const char *cg_flit(cg_ctx *c, float v)
{
    char *s = c->flit[c->flit_slot];
    c->flit_slot = (c->flit_slot + 1) % 8;
    if (isnan(v)) {
        const char *inf = cg_math(c, CG_FN_INF);
        snprintf(s, 64, "(%s - %s)", inf, inf);
    } else if (isinf(v)) {
        snprintf(s, 64, "(%s%s)", v < 0 ? "-" : "", cg_math(c, CG_FN_INF));
    } else if (signbit(v)) {
        char lit[40];
        snprintf(s, 64, "(%s)", cg_float_literal(v, lit));
    } else {
        cg_float_literal(v, s);
    }
    return s;
}

/* Copies s into a comment-safe form: printable ASCII, no comment end, no trigraphs. */
static void comment_text(const char *s, char *out, size_t size)
{
    size_t k = 0;
    for (; *s && k + 2 < size; s++) {
        unsigned char ch = (unsigned char)*s;
        char o = ch >= 32 && ch < 127 ? (char)ch : '?';
        if (o == '\\')
            o = '/';
        if ((o == '/' && k > 0 && out[k - 1] == '*') || (o == '?' && k > 0 && out[k - 1] == '?'))
            out[k++] = ' ';
        out[k++] = o;
    }
    out[k] = 0;
}

/* C identifier fragment of a tensor name (at most 32 characters). */
static void ident_text(const char *s, char *out, size_t size)
{
    size_t k = 0, max = size - 1 < 32 ? size - 1 : 32;
    for (; *s && k < max; s++) {
        char ch = *s;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        char o = ok ? ch : '_';
        if (o == '_' && k > 0 && out[k - 1] == '_')
            continue;
        out[k++] = o;
    }
    while (k > 0 && out[k - 1] == '_')
        k--;
    out[k] = 0;
}

static void shape_text(const graph_value *v, char *buf, size_t size)
{
    size_t pos = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < v->rank && pos < size; d++)
        pos += (size_t)snprintf(buf + pos, size - pos, "%s%lld", d ? "," : "", (long long)v->dims[d]);
    if (pos < size)
        snprintf(buf + pos, size - pos, "]");
}

/* ---- dtypes ---- */

/* Arena of a dtype, -1 if generated code does not hold it. */
static int arena_of(graph_dtype dt)
{
    switch (dt) {
    case GRAPH_DT_FLOAT: return AR_F32;
    case GRAPH_DT_DOUBLE: return AR_F64;
    case GRAPH_DT_INT8: return AR_I8;
    case GRAPH_DT_UINT8: case GRAPH_DT_BOOL: return AR_U8;
    case GRAPH_DT_INT16: return AR_I16;
    case GRAPH_DT_INT32: return AR_I32;
    case GRAPH_DT_INT64: return AR_I64;
    default: return -1;
    }
}

const char *cg_ctype(graph_dtype dt)
{
    int a = arena_of(dt);
    return a < 0 ? NULL : arena_info[a].ctype;
}

/* Integer literal text of v for dtype dt (int64 extremes spelled out). */
static void int_literal(graph_dtype dt, int64_t v, char *buf, size_t size)
{
    if (dt == GRAPH_DT_INT64) {
        if (v == INT64_MIN)
            snprintf(buf, size, "(-INT64_C(9223372036854775807) - 1)");
        else
            snprintf(buf, size, "INT64_C(%lld)", (long long)v);
    } else if (dt == GRAPH_DT_INT32 && v == INT32_MIN) {
        snprintf(buf, size, "(-2147483647 - 1)");
    } else {
        snprintf(buf, size, "%lld", (long long)v);
    }
}

const char *cg_lit(cg_ctx *c, graph_dtype dt, double v)
{
    if (dt == GRAPH_DT_FLOAT)
        return cg_flit(c, (float)v);
    char *s = c->flit[c->flit_slot];
    c->flit_slot = (c->flit_slot + 1) % 8;
    if (dt == GRAPH_DT_DOUBLE) {
        if (isnan(v) || isinf(v))
            snprintf(s, 64, "(double)%s", cg_flit(c, (float)v));
        else
            snprintf(s, 64, "%s%a%s", v < 0 || signbit(v) ? "(" : "", v,
                     v < 0 || signbit(v) ? ")" : "");
        return s;
    }
    if (dt == GRAPH_DT_BOOL) {
        snprintf(s, 64, "%d", v != 0);
        return s;
    }
    if (dt == GRAPH_DT_UINT8) {
        snprintf(s, 64, "%u", (unsigned)(uint8_t)(int64_t)v);
        return s;
    }
    char lit[48];
    int_literal(dt, (int64_t)v, lit, sizeof lit);
    snprintf(s, 64, "%s%.48s%s", v < 0 ? "(" : "", lit, v < 0 ? ")" : "");
    return s;
}

/* Emits a static const float array (data n floats) into c->consts. */
static void emit_const_array(cg_ctx *c, const char *name, const char *what, const float *data,
                             int64_t n)
{
    bool finite = true;
    for (int64_t i = 0; i < n && finite; i++)
        finite = isfinite(data[i]);
    const char *sec = c->opt->weights_section ? " " : "";
    char secname[96] = "";
    if (c->opt->weights_section)
        snprintf(secname, sizeof secname, "%s_WEIGHTS", c->upper);
    cg_buf *b = &c->consts;
    if (what)
        cg_buf_printf(b, "/* %s */\n", what);
    int64_t len = n > 0 ? n : 1;
    if (finite) {
        cg_buf_printf(b, "static const float %s[%lld]%s%s = {", name, (long long)len, sec, secname);
        for (int64_t i = 0; i < n; i++) {
            char lit[40];
            cg_buf_printf(b, "%s%s", i % 6 ? " " : "\n    ", cg_float_literal(data[i], lit));
            if (i + 1 < n)
                cg_buf_puts(b, ",");
        }
        if (n == 0)
            cg_buf_puts(b, "0.0f");
        cg_buf_puts(b, "\n};\n\n");
    } else {
        /* inf / NaN have no literal: the bit patterns, read through the union */
        cg_buf_printf(b, "static const union {\n    uint32_t u[%lld];\n    float f[%lld];\n}%s%s %s_bits = {{",
                      (long long)len, (long long)len, sec, secname, name);
        for (int64_t i = 0; i < n; i++) {
            uint32_t u;
            memcpy(&u, &data[i], sizeof u);
            cg_buf_printf(b, "%s0x%08lxu", i % 6 ? " " : "\n    ", (unsigned long)u);
            if (i + 1 < n)
                cg_buf_puts(b, ",");
        }
        cg_buf_printf(b, "\n}};\n#define %s (%s_bits.f)\n\n", name, name);
    }
    c->weight_bytes += (size_t)len * sizeof(float);
}

/* A static const array of another dtype (double, integers, bool). */
static void emit_const_typed(cg_ctx *c, const char *name, const char *what, const graph_value *v)
{
    if (v->dtype == GRAPH_DT_FLOAT) {
        emit_const_array(c, name, what, v->data, v->numel);
        return;
    }
    int a = arena_of(v->dtype);
    const char *sec = c->opt->weights_section ? " " : "";
    char secname[96] = "";
    if (c->opt->weights_section)
        snprintf(secname, sizeof secname, "%s_WEIGHTS", c->upper);
    cg_buf *b = &c->consts;
    if (what)
        cg_buf_printf(b, "/* %s */\n", what);
    int64_t n = v->numel, len = n > 0 ? n : 1;
    bool finite = true;
    if (v->dtype == GRAPH_DT_DOUBLE)
        for (int64_t i = 0; i < n && finite; i++)
            finite = isfinite(((const double *)v->data)[i]);
    if (!finite) {
        cg_buf_printf(b, "static const union {\n    uint64_t u[%lld];\n    double f[%lld];\n}%s%s %s_bits = {{",
                      (long long)len, (long long)len, sec, secname, name);
        for (int64_t i = 0; i < n; i++) {
            uint64_t u;
            memcpy(&u, (const double *)v->data + i, sizeof u);
            cg_buf_printf(b, "%sUINT64_C(0x%016llx)%s", i % 4 ? " " : "\n    ",
                          (unsigned long long)u, i + 1 < n ? "," : "");
        }
        cg_buf_printf(b, "\n}};\n#define %s (%s_bits.f)\n\n", name, name);
    } else {
        cg_buf_printf(b, "static const %s %s[%lld]%s%s = {", arena_info[a].ctype, name,
                      (long long)len, sec, secname);
        for (int64_t i = 0; i < n; i++) {
            char lit[64];
            if (v->dtype == GRAPH_DT_DOUBLE)
                snprintf(lit, sizeof lit, "%a", ((const double *)v->data)[i]);
            else if (v->dtype == GRAPH_DT_BOOL)
                snprintf(lit, sizeof lit, "%d", ((const uint8_t *)v->data)[i] != 0);
            else
                int_literal(v->dtype, graph_value_get_i64(v, i), lit, sizeof lit);
            cg_buf_printf(b, "%s%s%s", i % 8 ? " " : "\n    ", lit, i + 1 < n ? "," : "");
        }
        if (n == 0)
            cg_buf_puts(b, "0");
        cg_buf_puts(b, "\n};\n\n");
    }
    c->weight_bytes += (size_t)len * (size_t)arena_info[a].size;
}

const char *cg_add_const(cg_ctx *c, const char *hint, const float *data, int64_t n)
{
    char id[40];
    if (c->n_extra == c->cap_extra) {
        int cap = c->cap_extra ? 2 * c->cap_extra : 16;
        char **names = realloc(c->extra_names, (size_t)cap * sizeof *names);
        if (!names) {
            c->consts.oom = true;
            return "0";
        }
        c->extra_names = names;
        c->cap_extra = cap;
    }
    char *name = malloc(128);
    if (!name) {
        c->consts.oom = true;
        return "0";
    }
    c->extra_names[c->n_extra++] = name;
    ident_text(hint, id, sizeof id);
    snprintf(name, 128, "%s_w%d%s%s", c->name, c->n_consts++, id[0] ? "_" : "", id);
    char what[300];
    comment_text(hint, what, sizeof what);
    emit_const_array(c, name, what, data, n);
    return name;
}

const char *cg_in(cg_ctx *c, const cg_node *n, int i)
{
    int t = i < n->node->n_inputs ? n->node->inputs[i] : -1;
    if (t < 0)
        return NULL;
    if (!c->is_const[t])
        return c->io_name[0][i];
    if (!c->const_name[t]) {
        const graph_value *v = rt_plan_tensor(c->plan, t);
        char id[40];
        ident_text(c->g->tensors[t].name, id, sizeof id);
        char *name = malloc(128);
        if (!name) {
            c->consts.oom = true;
            return "0";
        }
        snprintf(name, 128, "%s_w%d%s%s", c->name, c->n_consts++, id[0] ? "_" : "", id);
        c->const_name[t] = name;
        char what[600], tn[300], sh[160];
        comment_text(c->g->tensors[t].name, tn, sizeof tn);
        shape_text(v, sh, sizeof sh);
        snprintf(what, sizeof what, "'%s' %s", tn, sh);
        if (arena_of(v->dtype) >= 0)
            emit_const_typed(c, name, what, v);
        else
            c->consts.oom = true; /* the dtype check refuses these */
    }
    return c->const_name[t];
}

const char *cg_out(cg_ctx *c, const cg_node *n, int o)
{
    (void)n;
    return c->io_name[1][o];
}

/* ---- union-find ---- */

static int find(cg_ctx *c, int t)
{
    while (c->parent[t] != t) {
        c->parent[t] = c->parent[c->parent[t]];
        t = c->parent[t];
    }
    return t;
}

/* Merges b's class into a's; class facts are kept at the root. */
static void unite(cg_ctx *c, int a, int b)
{
    a = find(c, a);
    b = find(c, b);
    if (a == b)
        return;
    c->parent[b] = a;
    if (c->kind[b] != ST_ARENA) {
        c->kind[a] = c->kind[b];
        c->cls_index[a] = c->cls_index[b];
    }
    if (c->cls_first[b] < c->cls_first[a])
        c->cls_first[a] = c->cls_first[b];
    if (c->cls_last[b] > c->cls_last[a])
        c->cls_last[a] = c->cls_last[b];
    if (c->cls_size[b] > c->cls_size[a])
        c->cls_size[a] = c->cls_size[b];
}

/* ---- arena placement ---- */

typedef struct {
    int root;
    int64_t size;
    int first, last;
    int64_t offset;
} cg_block;

static int order_mode;

static int block_cmp(const void *pa, const void *pb)
{
    const cg_block *x = pa, *y = pb;
    int64_t kx = 0, ky = 0;
    switch (order_mode) {
    case 0: kx = y->size, ky = x->size; break;                     /* larger first */
    case 1: kx = x->first, ky = y->first; break;                   /* earlier first */
    default:
        kx = (int64_t)(y->last - y->first + 1) * y->size;          /* larger area first */
        ky = (int64_t)(x->last - x->first + 1) * x->size;
        break;
    }
    if (kx != ky)
        return kx < ky ? -1 : 1;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    if (x->first != y->first)
        return x->first - y->first;
    return x->root - y->root;
}

static int64_t place(cg_block *b, int nb)
{
    qsort(b, (size_t)nb, sizeof *b, block_cmp);
    int64_t total = 0;
    for (int i = 0; i < nb; i++) {
        int64_t best = -1;
        /* candidates: 0 and the end of every placed block whose lifetime overlaps */
        for (int j = -1; j < i; j++) {
            int64_t off = 0;
            if (j >= 0) {
                if (!(b[j].first <= b[i].last && b[i].first <= b[j].last))
                    continue;
                off = b[j].offset + b[j].size;
            }
            if (best >= 0 && off >= best)
                continue;
            bool fits = true;
            for (int k = 0; k < i && fits; k++)
                if (b[k].first <= b[i].last && b[i].first <= b[k].last &&
                    off < b[k].offset + b[k].size && b[k].offset < off + b[i].size)
                    fits = false;
            if (fits)
                best = off;
        }
        b[i].offset = best;
        if (best + b[i].size > total)
            total = best + b[i].size;
    }
    return total;
}

/* n elements of esz bytes rounded up to a multiple of 16 bytes. */
static int64_t align_elems(int64_t n, int esz)
{
    int64_t per = CG_ALIGN_BYTES / esz;
    return (n + per - 1) / per * per;
}

/* ---- node views ---- */

static void node_view(const cg_ctx *c, int ni, cg_node *n)
{
    const graph_node *gn = &c->g->nodes[ni];
    memset(n, 0, sizeof *n);
    n->index = ni;
    n->node = gn;
    n->n_in = gn->n_inputs < CG_MAX_IO ? gn->n_inputs : CG_MAX_IO;
    n->n_out = gn->n_outputs < CG_MAX_IO ? gn->n_outputs : CG_MAX_IO;
    for (int i = 0; i < n->n_in; i++) {
        int t = gn->inputs[i];
        n->in[i] = t >= 0 ? rt_plan_tensor(c->plan, t) : NULL;
        n->in_const[i] = t >= 0 && c->is_const[t];
    }
    for (int o = 0; o < n->n_out; o++) {
        int t = gn->outputs[o];
        n->out[o] = t >= 0 ? rt_plan_tensor(c->plan, t) : NULL;
    }
}

/* ---- support check ---- */

static void add_unsupported(cg_buf *list, int *count, const graph_node *n, const char *why)
{
    cg_buf_printf(list, "node '%s' (%s%s%s): %s\n", n->name, n->domain[0] ? n->domain : "",
                  n->domain[0] ? "::" : "", n->op_type, why);
    (*count)++;
}

static bool check_node(cg_ctx *c, const cg_node *n, char *why, size_t size)
{
    const graph_node *gn = n->node;
    const codegen_emitter *e = codegen_emitter_get(gn->op);
    if (gn->n_inputs > CG_MAX_IO || gn->n_outputs > CG_MAX_IO) {
        snprintf(why, size, "more than %d inputs or outputs", CG_MAX_IO);
        return false;
    }
    if (!e) {
        snprintf(why, size, "no C emitter for %s", gn->op_type);
        return false;
    }
    for (int i = 0; i < n->n_in + n->n_out; i++) {
        const graph_value *v = i < n->n_in ? n->in[i] : n->out[i - n->n_in];
        if (v && v->numel > ((int64_t)1 << 30)) {
            snprintf(why, size, "a tensor of %lld elements (generated code indexes with int)",
                     (long long)v->numel);
            return false;
        }
    }
    /* float only, unless the emitter handles other dtypes itself */
    bool typed = (e->flags & CG_TYPED) != 0;
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i] && !n->in_const[i] &&
            (typed ? arena_of(n->in[i]->dtype) < 0 : n->in[i]->dtype != GRAPH_DT_FLOAT)) {
            snprintf(why, size, "input %d '%s' is %s computed at run time (%s)", i,
                     c->g->tensors[gn->inputs[i]].name, graph_dtype_name(n->in[i]->dtype),
                     typed ? "not a dtype generated code holds"
                           : "this op is generated for float only");
            return false;
        }
    for (int o = 0; o < n->n_out; o++)
        if (n->out[o] &&
            (typed ? arena_of(n->out[o]->dtype) < 0 : n->out[o]->dtype != GRAPH_DT_FLOAT)) {
            snprintf(why, size, "output %d '%s' is %s (%s)", o,
                     c->g->tensors[gn->outputs[o]].name, graph_dtype_name(n->out[o]->dtype),
                     typed ? "not a dtype generated code holds"
                           : "this op is generated for float only");
            return false;
        }
    if (e->check && !e->check(c, n, why, size))
        return false;
    return true;
}

/* ---- entry-point text ---- */

static const char *const_ref(cg_ctx *c, int t);

static const char *storage_expr(cg_ctx *c, int t, char *buf, size_t size)
{
    if (c->is_const[t])
        return const_ref(c, t);
    int r = find(c, t);
    switch (c->kind[r]) {
    case ST_INPUT: snprintf(buf, size, "in[%d]", c->run_input[c->cls_index[r]]); break;
    case ST_OUTPUT: snprintf(buf, size, "out[%d]", c->cls_index[r]); break;
    default:
        snprintf(buf, size, "%s_arena%s + %lld", c->name, arena_info[c->cls_arena[r]].suffix,
                 (long long)c->cls_offset[r]);
        break;
    }
    return buf;
}

/* Ensures tensor t (a constant) has its array emitted; returns its name. */
static const char *const_ref(cg_ctx *c, int t)
{
    if (!c->const_name[t]) {
        cg_node tmp;
        memset(&tmp, 0, sizeof tmp);
        graph_node fake;
        memset(&fake, 0, sizeof fake);
        int in[1] = {t};
        fake.inputs = in;
        fake.n_inputs = 1;
        tmp.node = &fake;
        tmp.n_in = 1;
        cg_in(c, &tmp, 0);
    }
    return c->const_name[t];
}

/* ---- the generated files ---- */

static void emit_dims_macro(cg_buf *h, const char *macro, const graph_value *v)
{
    cg_buf_printf(h, "#define %s_RANK %d\n", macro, v->rank);
    cg_buf_printf(h, "#define %s_DIMS {", macro);
    for (int d = 0; d < v->rank; d++)
        cg_buf_printf(h, "%s%lld", d ? ", " : "", (long long)v->dims[d]);
    if (v->rank == 0)
        cg_buf_puts(h, "1");
    cg_buf_puts(h, "}\n");
    for (int d = 0; d < v->rank; d++)
        cg_buf_printf(h, "#define %s_DIM%d %lld\n", macro, d, (long long)v->dims[d]);
    cg_buf_printf(h, "#define %s_SIZE %lld\n", macro, (long long)v->numel);
}

static void emit_main_file(cg_ctx *c, cg_buf *m, bool has_run)
{
    const char *N = c->name, *U = c->upper;
    const graph *g = c->g;
    cg_buf_printf(m,
        "/* %s_main.c: generated by ssdc %s (ssdc codegen --emit-main) -- a test program for\n"
        " * %s.c.  Reads samples from FILE (or stdin): each sample is every input of\n"
        " * %s_run%s in order, as text numbers (separated by spaces, commas, semicolons or\n"
        " * newlines) or, with --raw, little-endian binary values of each input's type.\n"
        " * Prints one line per sample: every output value (floats as %%.9g, which reads back\n"
        " * exactly), or with --argmax the index of the largest value of each row of the\n"
        " * first output.\n"
        " *\n"
        " *   %s_main [--raw] [--argmax] [FILE]\n"
        " *\n"
        " * Exit status: 0 ok, 1 unreadable or incomplete input, 2 bad usage. */\n",
        N, CG_VERSION, N, N, has_run ? "" : "_multi", N);
    cg_buf_printf(m, "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n\n#include \"%s.h\"\n\n", N);
    /* buffers */
    for (int i = 0; i < g->n_inputs; i++) {
        int k = c->run_input[i];
        if (k < 0)
            continue;
        cg_buf_printf(m, "static %s_INPUT%d_TYPE in%d[%s_INPUT%d_SIZE + 1];\n", U, k, k, U, k);
    }
    for (int o = 0; o < g->n_outputs; o++)
        cg_buf_printf(m, "static %s_OUTPUT%d_TYPE out%d[%s_OUTPUT%d_SIZE + 1];\n", U, o, o, U, o);
    cg_buf_puts(m,
        "\n/* Next token of a text stream into tok: 1 ok, 0 end of input, -1 too long. */\n"
        "static int read_token(FILE *f, char *tok, size_t size)\n"
        "{\n"
        "    size_t n = 0;\n"
        "    int ch;\n"
        "    while ((ch = getc(f)) != EOF && (ch == ' ' || ch == '\\t' || ch == '\\n' || ch == '\\r' ||\n"
        "                                    ch == ',' || ch == ';'))\n"
        "        ;\n"
        "    if (ch == EOF)\n"
        "        return 0;\n"
        "    while (ch != EOF && !(ch == ' ' || ch == '\\t' || ch == '\\n' || ch == '\\r' || ch == ',' ||\n"
        "                          ch == ';')) {\n"
        "        if (n + 1 >= size)\n"
        "            return -1;\n"
        "        tok[n++] = (char)ch;\n"
        "        ch = getc(f);\n"
        "    }\n"
        "    tok[n] = 0;\n"
        "    return 1;\n"
        "}\n\n"
        "/* Reads count values into buf (elem bytes each, kind 'f' float, 'd' double, 'i'\n"
        " * integer): 1 ok, 0 clean end of input (nothing read), -1 error. */\n"
        "static int read_values(FILE *f, int raw, void *buf, long count, size_t elem, char kind,\n"
        "                       int first)\n"
        "{\n"
        "    char tok[128], *end;\n"
        "    long k;\n"
        "    if (raw) {\n"
        "        size_t got = fread(buf, elem, (size_t)count, f);\n"
        "        if (got == 0 && first && count > 0)\n"
        "            return 0;\n"
        "        return got == (size_t)count ? 1 : -1;\n"
        "    }\n"
        "    for (k = 0; k < count; k++) {\n"
        "        int rc = read_token(f, tok, sizeof tok);\n"
        "        if (rc == 0 && k == 0 && first)\n"
        "            return 0;\n"
        "        if (rc != 1)\n"
        "            return -1;\n"
        "        if (kind == 'f') {\n"
        "            ((float *)buf)[k] = strtof(tok, &end);\n"
        "        } else if (kind == 'd') {\n"
        "            ((double *)buf)[k] = strtod(tok, &end);\n"
        "        } else {\n"
        "            long long v = strtoll(tok, &end, 10);\n"
        "            switch (elem) {\n"
        "            case 1: {\n"
        "                unsigned char b = (unsigned char)v;\n"
        "                memcpy((char *)buf + k, &b, 1);\n"
        "            } break;\n"
        "            case 2: {\n"
        "                short h = (short)v;\n"
        "                memcpy((char *)buf + 2 * k, &h, 2);\n"
        "            } break;\n"
        "            case 4: {\n"
        "                int w = (int)v;\n"
        "                memcpy((char *)buf + 4 * k, &w, 4);\n"
        "            } break;\n"
        "            default:\n"
        "                memcpy((char *)buf + 8 * k, &v, 8);\n"
        "            }\n"
        "        }\n"
        "        if (*end != 0)\n"
        "            return -1;\n"
        "    }\n"
        "    return 1;\n"
        "}\n\n");
    cg_buf_puts(m,
        "int main(int argc, char **argv)\n"
        "{\n"
        "    int raw = 0, argmax = 0, i, rc;\n"
        "    long samples = 0, k;\n"
        "    const char *path = NULL;\n"
        "    FILE *f = stdin;\n");
    const char *pt = c->all_float ? "float" : "void";
    cg_buf_printf(m, "    const %s *ins[%d];\n    %s *outs[%d];\n", pt, c->n_run_inputs + 1, pt,
                  g->n_outputs);
    cg_buf_puts(m,
        "    for (i = 1; i < argc; i++) {\n"
        "        if (strcmp(argv[i], \"--raw\") == 0) {\n"
        "            raw = 1;\n"
        "        } else if (strcmp(argv[i], \"--argmax\") == 0) {\n"
        "            argmax = 1;\n"
        "        } else if (argv[i][0] == '-' && argv[i][1] != 0) {\n"
        "            fprintf(stderr, \"usage: %s [--raw] [--argmax] [FILE]\\n\", argv[0]);\n"
        "            return 2;\n"
        "        } else {\n"
        "            path = argv[i];\n"
        "        }\n"
        "    }\n"
        "    if (path && strcmp(path, \"-\") != 0) {\n"
        "        f = fopen(path, raw ? \"rb\" : \"r\");\n"
        "        if (!f) {\n"
        "            fprintf(stderr, \"%s: cannot open %s\\n\", argv[0], path);\n"
        "            return 1;\n"
        "        }\n"
        "    }\n");
    cg_buf_printf(m, "    ins[0] = NULL;\n");
    for (int k = 0; k < c->n_run_inputs; k++)
        cg_buf_printf(m, "    ins[%d] = in%d;\n", k, k);
    for (int o = 0; o < g->n_outputs; o++)
        cg_buf_printf(m, "    outs[%d] = out%d;\n", o, o);
    cg_buf_printf(m, "    (void)ins;\n    (void)outs;\n    (void)read_values;\n    for (;;) {\n        rc = 1;\n");
    /* inputs without elements: exactly one sample */
    cg_buf_puts(m, "        if (samples > 0 && (0");
    for (int k = 0; k < c->n_run_inputs; k++)
        cg_buf_printf(m, " + (long)%s_INPUT%d_SIZE", U, k);
    cg_buf_puts(m, ") == 0)\n            break;\n");
    for (int i = 0; i < g->n_inputs; i++) {
        int k = c->run_input[i];
        if (k < 0)
            continue;
        graph_dtype dt = rt_plan_tensor(c->plan, g->inputs[i])->dtype;
        char kind = dt == GRAPH_DT_FLOAT ? 'f' : dt == GRAPH_DT_DOUBLE ? 'd' : 'i';
        cg_buf_printf(m, "        if (rc == 1)\n            rc = read_values(f, raw, in%d, (long)%s_INPUT%d_SIZE, "
                         "sizeof in%d[0], '%c', %d);\n",
                      k, U, k, k, kind, k == 0);
    }
    if (c->n_run_inputs == 0)
        cg_buf_puts(m, "        rc = samples == 0 ? 1 : 0;\n");
    cg_buf_puts(m,
        "        if (rc == 0)\n"
        "            break;\n"
        "        if (rc < 0) {\n"
        "            fprintf(stderr, \"%s: incomplete input or bad number in sample %ld\\n\", argv[0], samples);\n"
        "            return 1;\n"
        "        }\n");
    if (has_run && g->n_outputs == 1)
        cg_buf_printf(m, "        if (%s_run(%s, out0) != 0) {\n", N, c->n_run_inputs ? "in0" : "NULL");
    else
        cg_buf_printf(m, "        if (%s_run_multi(ins, outs) != 0) {\n", N);
    cg_buf_printf(m,
        "            fprintf(stderr, \"%%s: %s_run failed\\n\", argv[0]);\n"
        "            return 1;\n"
        "        }\n", N);
    cg_buf_printf(m,
        "        if (argmax) {\n"
        "            long cols = %s_OUTPUT0_RANK > 0 ? (long)%s_OUTPUT0_DIM_LAST : 1;\n"
        "            long rows = cols > 0 ? (long)%s_OUTPUT0_SIZE / cols : 0, r, j;\n"
        "            for (r = 0; r < rows; r++) {\n"
        "                long best = 0;\n"
        "                for (j = 1; j < cols; j++)\n"
        "                    if ((double)out0[r * cols + j] > (double)out0[r * cols + best])\n"
        "                        best = j;\n"
        "                printf(\"%%s%%ld\", r ? \" \" : \"\", best);\n"
        "            }\n"
        "        } else {\n"
        "            const char *sep = \"\";\n",
        U, U, U);
    for (int o = 0; o < g->n_outputs; o++) {
        graph_dtype dt = rt_plan_tensor(c->plan, g->outputs[o])->dtype;
        cg_buf_printf(m, "            for (k = 0; k < (long)%s_OUTPUT%d_SIZE; k++, sep = \" \")\n", U, o);
        if (dt == GRAPH_DT_FLOAT)
            cg_buf_printf(m, "                printf(\"%%s%%.9g\", sep, (double)out%d[k]);\n", o);
        else if (dt == GRAPH_DT_DOUBLE)
            cg_buf_printf(m, "                printf(\"%%s%%.17g\", sep, out%d[k]);\n", o);
        else
            cg_buf_printf(m, "                printf(\"%%s%%lld\", sep, (long long)out%d[k]);\n", o);
    }
    cg_buf_puts(m,
        "            (void)sep;\n"
        "        }\n"
        "        printf(\"\\n\");\n"
        "        samples++;\n"
        "    }\n"
        "    if (f != stdin)\n"
        "        fclose(f);\n"
        "    if (fflush(stdout) != 0)\n"
        "        return 1;\n"
        "    return 0;\n"
        "}\n\n");
}

/* True if identifier id occurs in text as a whole token. */
static bool uses_ident(const char *text, const char *id)
{
    size_t len = strlen(id);
    for (const char *p = strstr(text, id); p; p = strstr(p + 1, id)) {
        char before = p > text ? p[-1] : ' ', after = p[len];
        bool word_b = (before >= 'a' && before <= 'z') || (before >= 'A' && before <= 'Z') ||
                      (before >= '0' && before <= '9') || before == '_';
        bool word_a = (after >= 'a' && after <= 'z') || (after >= 'A' && after <= 'Z') ||
                      (after >= '0' && after <= '9') || after == '_';
        if (!word_b && !word_a)
            return true;
    }
    return false;
}

/* ---- generate ---- */

static void ctx_free(cg_ctx *c)
{
    if (c->const_name)
        for (int t = 0; t < c->g->n_tensors; t++)
            free(c->const_name[t]);
    free(c->const_name);
    for (int i = 0; i < c->n_extra; i++)
        free(c->extra_names[i]);
    free(c->extra_names);
    free(c->run_nodes);
    free(c->is_const);
    free(c->parent);
    free(c->first_def);
    free(c->last_use);
    free(c->is_view_node);
    free(c->inplace);
    free(c->inplace_input);
    free(c->kind);
    free(c->cls_index);
    free(c->cls_first);
    free(c->cls_last);
    free(c->cls_size);
    free(c->cls_offset);
    free(c->cls_arena);
    free(c->extra_offset);
    free(c->run_input);
    free(c->specialised);
    cg_buf_free(&c->consts);
    cg_buf_free(&c->funcs);
    cg_buf_free(&c->body);
    rt_plan_free(c->plan);
}

bool codegen_valid_name(const char *name)
{
    static const char *const keywords[] = {
        "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
        "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
        "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch",
        "typedef", "union", "unsigned", "void", "volatile", "while", "main", NULL};
    if (!name || !name[0] || strlen(name) > 64)
        return false;
    if (name[0] >= '0' && name[0] <= '9')
        return false;
    for (const char *p = name; *p; p++) {
        char ch = *p;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_'))
            return false;
    }
    if (name[0] == '_')
        return false; /* reserved */
    for (int i = 0; keywords[i]; i++)
        if (!strcmp(name, keywords[i]))
            return false;
    return true;
}

static bool valid_section(const char *s)
{
    if (!s || !s[0] || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '.' || *s == '$'))
            return false;
    return true;
}

/* Values for the graph inputs: the caller's, or zeros of the model's shapes
 * with the batch dimension set. */
static ssdc_status make_inputs(const graph *g, const codegen_options *opt, graph_value **out,
                               ssdc_error *err)
{
    int n = g->n_inputs;
    graph_value *v = calloc((size_t)(n ? n : 1), sizeof *v);
    if (!v)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    *out = v;
    int64_t batch = opt->batch > 0 ? opt->batch : 1;
    bool any_symbolic = false;
    for (int i = 0; i < n; i++) {
        const graph_tensor *t = &g->tensors[g->inputs[i]];
        if (opt->inputs) {
            v[i] = opt->inputs[i];
            v[i].data = NULL; /* filled below with a copy */
            size_t bytes = graph_value_bytes(&opt->inputs[i]);
            v[i].data = malloc(bytes ? bytes : 1);
            if (!v[i].data)
                return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
            if (bytes)
                memcpy(v[i].data, opt->inputs[i].data, bytes);
            continue;
        }
        if (t->dtype == GRAPH_DT_UNDEFINED || t->shape.rank < 0)
            return ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                             "input '%s' has an unknown dtype or rank; code generation needs "
                             "concrete shapes", t->name);
        int64_t dims[GRAPH_MAX_RANK];
        for (int d = 0; d < t->shape.rank; d++) {
            dims[d] = t->shape.dims[d];
            if (dims[d] < 0 && d == 0) {
                dims[d] = batch;
            } else if (dims[d] < 0) {
                return ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                                 "input '%s' has an unknown dimension %d (%s); code generation "
                                 "needs concrete shapes (only dimension 0 takes --batch)",
                                 t->name, d, t->shape.sym[d][0] ? t->shape.sym[d] : "?");
            }
        }
        if (t->shape.rank > 0 && t->shape.dims[0] < 0)
            any_symbolic = true;
        graph_value_set_shape(&v[i], t->dtype, t->shape.rank, dims);
        int64_t numel = v[i].numel;
        if (numel > ((int64_t)1 << 28))
            return ssdc_fail(err, SSDC_ERR_LIMIT, "input '%s' has %lld elements", t->name,
                             (long long)numel);
        size_t bytes = graph_value_bytes(&v[i]);
        v[i].data = calloc(1, bytes ? bytes : 1);
        if (!v[i].data)
            return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    }
    if (!opt->inputs && batch > 1 && !any_symbolic)
        return ssdc_fail(err, SSDC_ERR_ARG,
                         "no input has a symbolic dimension 0 (the batch); --batch %lld does not "
                         "apply", (long long)batch);
    return SSDC_OK;
}

static void free_inputs(const graph *g, graph_value *v)
{
    if (!v)
        return;
    for (int i = 0; i < g->n_inputs; i++)
        free(v[i].data);
    free(v);
}

#define ALLOC(p, n) ((p) = calloc((size_t)((n) ? (n) : 1), sizeof *(p)))

ssdc_status codegen_generate(graph *g, const codegen_options *opt, codegen_result *res,
                             ssdc_error *err)
{
    memset(res, 0, sizeof *res);
    if (!codegen_valid_name(opt->name))
        return ssdc_fail(err, SSDC_ERR_ARG,
                         "name '%s' is not a C identifier (letters, digits, '_'; not starting "
                         "with a digit or '_'; at most 64 characters; not a keyword)",
                         opt->name ? opt->name : "");
    if (opt->weights_section && !valid_section(opt->weights_section))
        return ssdc_fail(err, SSDC_ERR_ARG,
                         "weights section '%s' must be 1 to 64 of letters, digits, '_', '.', '$'",
                         opt->weights_section);
    ssdc_status st;
    inference_stats istats;
    if ((st = passes_optimize_inference(g, &istats, err)))
        return st;

    cg_ctx cx, *c = &cx;
    memset(c, 0, sizeof *c);
    c->g = g;
    c->opt = opt;
    snprintf(c->name, sizeof c->name, "%s", opt->name);
    for (size_t i = 0; i <= strlen(c->name); i++)
        c->upper[i] = (char)(c->name[i] >= 'a' && c->name[i] <= 'z' ? c->name[i] - 32 : c->name[i]);
    for (int f = 0; f < CG_FN_COUNT; f++)
        cg_math_name((cg_math_fn)f, opt->no_libm, c->name, c->math_name[f], sizeof c->math_name[f]);
    for (int i = 0; i < CG_MAX_IO; i++) {
        snprintf(c->io_name[0][i], sizeof c->io_name[0][i], "x%d", i);
        snprintf(c->io_name[1][i], sizeof c->io_name[1][i], "y%d", i);
    }
    graph_value *inputs = NULL;
    cg_buf unsup = {0};
    int n_unsup = 0;
    int nt = g->n_tensors, nn = g->n_nodes;
    int *order = NULL;
    if ((st = make_inputs(g, opt, &inputs, err)))
        goto done;
    if ((st = rt_plan_create(g, inputs, NULL, &c->plan, err)))
        goto done;
    /* constants: initializers, folded outputs, inputs the plan captured */
    ALLOC(c->is_const, nt);
    ALLOC(c->const_name, nt);
    ALLOC(c->specialised, g->n_inputs);
    ALLOC(c->run_input, g->n_inputs);
    ALLOC(order, nn);
    ALLOC(c->run_nodes, nn);
    if (!c->is_const || !c->const_name || !c->specialised || !c->run_input || !order ||
        !c->run_nodes) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int t = 0; t < nt; t++) {
        const graph_tensor *tt = &g->tensors[t];
        c->is_const[t] = tt->kind == GRAPH_TENSOR_INITIALIZER ||
                         (tt->producer >= 0 && rt_plan_node_folded(c->plan, tt->producer));
    }
    for (int i = 0; i < g->n_inputs; i++) {
        int t = g->inputs[i];
        /* the plan keeps its own copy of an input whose value it depends on */
        bool captured = rt_plan_tensor(c->plan, t)->data != inputs[i].data;
        c->run_input[i] = -1;
        if (captured) {
            if (!opt->inputs) {
                st = ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                               "input '%s' decides the shapes of the model (its value is read "
                               "when planning); generated code needs shapes fixed in advance",
                               g->tensors[t].name);
                goto done;
            }
            c->is_const[t] = true;
            c->specialised[i] = true;
        } else if (arena_of(rt_plan_tensor(c->plan, t)->dtype) >= 0) {
            c->run_input[i] = c->n_run_inputs++;
        }
    }
    if ((st = graph_topo_order(g, order, err)))
        goto done;
    for (int k = 0; k < nn; k++)
        if (!rt_plan_node_folded(c->plan, order[k]))
            c->run_nodes[c->n_run++] = order[k];
        else
            res->n_folded++;

    /* every node that cannot be generated, all at once */
    for (int r = 0; r < c->n_run; r++) {
        cg_node n;
        node_view(c, c->run_nodes[r], &n);
        char why[600];
        if (!check_node(c, &n, why, sizeof why))
            add_unsupported(&unsup, &n_unsup, n.node, why);
    }
    for (int o = 0; o < g->n_outputs; o++) {
        const graph_value *v = rt_plan_tensor(c->plan, g->outputs[o]);
        if (arena_of(v->dtype) < 0) {
            char why[300];
            snprintf(why, sizeof why, "graph output '%s' is %s (not a dtype generated code holds)",
                     g->tensors[g->outputs[o]].name, graph_dtype_name(v->dtype));
            cg_buf_printf(&unsup, "%s\n", why);
            n_unsup++;
        }
    }
    for (int i = 0; i < g->n_inputs; i++) {
        int t = g->inputs[i];
        if (c->run_input[i] < 0 && !c->specialised[i]) {
            bool used = false;
            for (int r = 0; r < c->n_run && !used; r++) {
                const graph_node *gn = &g->nodes[c->run_nodes[r]];
                for (int k = 0; k < gn->n_inputs; k++)
                    used = used || gn->inputs[k] == t;
            }
            if (used) {
                cg_buf_printf(&unsup, "graph input '%s' is %s (not a dtype generated code holds)\n",
                              g->tensors[t].name, graph_dtype_name(g->tensors[t].dtype));
                n_unsup++;
            }
        }
    }
    if (n_unsup) {
        res->unsupported = unsup.oom ? NULL : unsup.s;
        res->n_unsupported = n_unsup;
        unsup.s = NULL;
        char first[700] = "";
        if (res->unsupported) {
            size_t len = strcspn(res->unsupported, "\n");
            snprintf(first, sizeof first, "%.*s", (int)(len < 600 ? len : 600), res->unsupported);
        }
        st = ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                       "cannot generate C (%d problem%s, listed below): %s%s", n_unsup,
                       n_unsup == 1 ? "" : "s", first, n_unsup > 1 ? "; ..." : "");
        goto done;
    }

    /* ---- storage: views, in place, arena ---- */
    ALLOC(c->parent, nt);
    ALLOC(c->first_def, nt);
    ALLOC(c->last_use, nt);
    ALLOC(c->is_view_node, c->n_run);
    ALLOC(c->inplace, c->n_run);
    ALLOC(c->inplace_input, c->n_run);
    ALLOC(c->kind, nt);
    ALLOC(c->cls_index, nt);
    ALLOC(c->cls_first, nt);
    ALLOC(c->cls_last, nt);
    ALLOC(c->cls_size, nt);
    ALLOC(c->cls_offset, nt);
    ALLOC(c->extra_offset, g->n_outputs);
    if (!c->parent || !c->first_def || !c->last_use || !c->is_view_node || !c->inplace ||
        !c->inplace_input || !c->kind || !c->cls_index || !c->cls_first || !c->cls_last ||
        !c->cls_size || !c->cls_offset || !c->extra_offset) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        goto done;
    }
    int end = c->n_run; /* position after the last node: graph outputs live to here */
    for (int t = 0; t < nt; t++) {
        c->parent[t] = t;
        c->first_def[t] = -1;
        c->last_use[t] = -1;
        c->kind[t] = ST_ARENA;
        c->cls_index[t] = -1;
    }
    for (int r = 0; r < c->n_run; r++) {
        const graph_node *gn = &g->nodes[c->run_nodes[r]];
        for (int i = 0; i < gn->n_inputs; i++)
            if (gn->inputs[i] >= 0)
                c->last_use[gn->inputs[i]] = r;
        for (int o = 0; o < gn->n_outputs; o++)
            if (gn->outputs[o] >= 0) {
                c->first_def[gn->outputs[o]] = r;
                if (c->last_use[gn->outputs[o]] < r)
                    c->last_use[gn->outputs[o]] = r;
            }
    }
    for (int i = 0; i < g->n_inputs; i++) {
        int t = g->inputs[i];
        if (c->run_input[i] >= 0) {
            c->kind[t] = ST_INPUT;
            c->cls_index[t] = i;
            c->first_def[t] = -1;
        }
    }
    for (int o = 0; o < g->n_outputs; o++) {
        int t = g->outputs[o];
        c->last_use[t] = end;
        if (!c->is_const[t] && c->kind[t] == ST_ARENA && c->cls_index[t] < 0) {
            c->kind[t] = ST_OUTPUT;
            c->cls_index[t] = o;
        }
    }
    for (int t = 0; t < nt; t++) {
        c->cls_first[t] = c->first_def[t];
        c->cls_last[t] = c->last_use[t];
        const graph_value *v = rt_plan_tensor(c->plan, t);
        c->cls_size[t] = v ? v->numel : 0;
    }
    for (int r = 0; r < c->n_run; r++) {
        cg_node n;
        node_view(c, c->run_nodes[r], &n);
        const codegen_emitter *e = codegen_emitter_get(n.node->op);
        int out = n.node->n_outputs > 0 ? n.node->outputs[0] : -1;
        if (out < 0)
            continue;
        int oc = find(c, out);
        if (e->flags & CG_VIEW) {
            int in = n.node->inputs[0];
            if (in < 0 || c->is_const[in])
                continue;
            int ic = find(c, in);
            bool out_is_output = c->kind[oc] == ST_OUTPUT;
            /* a class holds at most one caller buffer */
            if (out_is_output && c->kind[ic] != ST_ARENA)
                continue;
            unite(c, ic, oc);
            c->is_view_node[r] = true;
            res->n_views++;
            continue;
        }
        if (!(e->flags & CG_INPLACE))
            continue;
        for (int i = 0; i < n.n_in; i++) {
            int in = n.node->inputs[i];
            if (in < 0 || n.in_const[i] || n.in[i]->dtype != n.out[0]->dtype ||
                n.in[i]->rank != n.out[0]->rank ||
                memcmp(n.in[i]->dims, n.out[0]->dims, (size_t)n.out[0]->rank * sizeof(int64_t)))
                continue;
            int ic = find(c, in);
            if (c->kind[ic] != ST_ARENA || c->cls_last[ic] != r)
                continue;
            if (c->kind[oc] == ST_OUTPUT && c->kind[ic] != ST_ARENA)
                continue;
            /* another input in the same storage must read the same elements */
            bool ok = true;
            for (int j = 0; j < n.n_in && ok; j++)
                if (j != i && n.node->inputs[j] >= 0 && !n.in_const[j] &&
                    find(c, n.node->inputs[j]) == ic && n.in[j]->numel != n.out[0]->numel)
                    ok = false;
            if (!ok)
                continue;
            unite(c, ic, oc);
            c->inplace[r] = true;
            c->inplace_input[r] = i;
            res->n_inplace++;
            break;
        }
    }
    /* arena blocks, placed per arena (one per C type) */
    ALLOC(c->cls_arena, nt);
    if (!c->cls_arena) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int t = 0; t < nt; t++) {
        const graph_value *v = rt_plan_tensor(c->plan, t);
        int a = v ? arena_of(v->dtype) : -1;
        c->cls_arena[t] = a < 0 ? AR_F32 : a;
    }
    {
        cg_block *blocks = calloc((size_t)(nt ? nt : 1), sizeof *blocks);
        cg_block *best = calloc((size_t)(nt ? nt : 1), sizeof *best);
        int *block_arena = calloc((size_t)(nt ? nt : 1), sizeof *block_arena);
        if (!blocks || !best || !block_arena) {
            free(blocks);
            free(best);
            free(block_arena);
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
            goto done;
        }
        int nb = 0;
        for (int t = 0; t < nt; t++) {
            if (c->is_const[t] || c->first_def[t] < 0)
                continue;
            bool graph_output = false;
            for (int o = 0; o < g->n_outputs; o++)
                graph_output = graph_output || g->outputs[o] == t;
            int esz = arena_info[c->cls_arena[t]].size;
            if (!graph_output)
                res->sum_tensor_bytes +=
                    (size_t)align_elems(rt_plan_tensor(c->plan, t)->numel, esz) * (size_t)esz;
            if (find(c, t) != t || c->kind[t] != ST_ARENA)
                continue;
            blocks[nb++] = (cg_block){.root = t, .size = align_elems(c->cls_size[t], esz),
                                      .first = c->cls_first[t], .last = c->cls_last[t]};
        }
        /* peak of live bytes over all arenas */
        for (int r = 0; r <= end; r++) {
            size_t live = 0;
            for (int b2 = 0; b2 < nb; b2++)
                if (blocks[b2].first <= r && r <= blocks[b2].last)
                    live += (size_t)blocks[b2].size *
                            (size_t)arena_info[c->cls_arena[blocks[b2].root]].size;
            if (live > res->peak_live_bytes)
                res->peak_live_bytes = live;
        }
        for (int a = 0; a < AR_COUNT; a++) {
            /* this arena's blocks at the front */
            int na = 0;
            for (int b2 = 0; b2 < nb; b2++)
                if (c->cls_arena[blocks[b2].root] == a) {
                    cg_block tmpb = blocks[na];
                    blocks[na] = blocks[b2];
                    blocks[b2] = tmpb;
                    na++;
                }
            int64_t best_total = -1;
            for (int mode = 0; mode < 3 && na > 0; mode++) {
                order_mode = mode;
                int64_t total = place(blocks, na);
                if (best_total < 0 || total < best_total) {
                    best_total = total;
                    memcpy(best, blocks, (size_t)na * sizeof *best);
                }
            }
            for (int b2 = 0; b2 < na; b2++)
                c->cls_offset[best[b2].root] = best[b2].offset;
            c->arena_elems[a] = best_total > 0 ? best_total : 0;
            /* drop the placed blocks */
            memmove(blocks, blocks + na, (size_t)(nb - na) * sizeof *blocks);
            nb -= na;
        }
        free(blocks);
        free(best);
        free(block_arena);
    }
    /* entry points: typed unless every input and output is float */
    c->all_float = true;
    for (int i = 0; i < g->n_inputs; i++)
        if (c->run_input[i] >= 0 && rt_plan_tensor(c->plan, g->inputs[i])->dtype != GRAPH_DT_FLOAT)
            c->all_float = false;
    for (int o = 0; o < g->n_outputs; o++)
        if (rt_plan_tensor(c->plan, g->outputs[o])->dtype != GRAPH_DT_FLOAT)
            c->all_float = false;
    /* NAME_run with several outputs: outputs 1.. go to scratch after the arenas */
    bool has_run = c->n_run_inputs <= 1;
    if (has_run)
        for (int o = 1; o < g->n_outputs; o++) {
            const graph_value *v = rt_plan_tensor(c->plan, g->outputs[o]);
            int a = arena_of(v->dtype);
            c->extra_offset[o] = c->arena_elems[a] + c->extra_elems[a];
            c->extra_elems[a] += align_elems(v->numel, arena_info[a].size);
        }
    res->arena_bytes = 0;
    for (int a = 0; a < AR_COUNT; a++)
        res->arena_bytes += (size_t)(c->arena_elems[a] + c->extra_elems[a]) * (size_t)arena_info[a].size;

    /* ---- emission ---- */
    for (int r = 0; r < c->n_run && !st; r++) {
        int ni = c->run_nodes[r];
        cg_node n;
        node_view(c, ni, &n);
        n.inplace = c->inplace[r];
        n.inplace_input = c->inplace_input[r];
        const graph_node *gn = n.node;
        char label[400], nm[300];
        comment_text(gn->name, nm, sizeof nm);
        snprintf(label, sizeof label, "'%s' (%s)", nm, gn->op_type);
        if (c->is_view_node[r]) {
            cg_buf_printf(&c->body, "    /* %s: a view of its input, no code */\n", label);
            continue;
        }
        const codegen_emitter *e = codegen_emitter_get(gn->op);
        char fname[128], opid[40];
        ident_text(gn->op_type, opid, sizeof opid);
        for (char *p = opid; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p + 32);
        snprintf(fname, sizeof fname, "%s_n%d_%s", c->name, r, opid);
        /* signature: runtime inputs, then outputs */
        cg_buf *f = &c->funcs;
        cg_buf_printf(f, "/* %s:", label);
        for (int i = 0; i < n.n_in; i++) {
            if (!n.in[i])
                continue;
            char sh[160];
            shape_text(n.in[i], sh, sizeof sh);
            cg_buf_printf(f, " %s%s", sh, n.in_const[i] ? "c" : "");
        }
        cg_buf_puts(f, " ->");
        for (int o = 0; o < n.n_out; o++) {
            if (!n.out[o])
                continue;
            char sh[160];
            shape_text(n.out[o], sh, sizeof sh);
            cg_buf_printf(f, " %s", sh);
        }
        cg_buf_printf(f, "%s */\n", n.inplace ? ", in place" : "");
        const char *restrict_kw = n.inplace ? "" : "restrict ";
        cg_buf_printf(f, "static void %s(", fname);
        int np = 0;
        for (int i = 0; i < n.n_in; i++)
            if (n.in[i] && !n.in_const[i])
                cg_buf_printf(f, "%sconst %s *%s%s", np++ ? ", " : "", cg_ctype(n.in[i]->dtype),
                              restrict_kw, c->io_name[0][i]);
        for (int o = 0; o < n.n_out; o++)
            if (n.out[o])
                cg_buf_printf(f, "%s%s *%s%s", np++ ? ", " : "", cg_ctype(n.out[o]->dtype),
                              restrict_kw, c->io_name[1][o]);
        if (!np)
            cg_buf_puts(f, "void");
        cg_buf_puts(f, ")\n{\n");
        c->cur = f;
        size_t body_start = f->len;
        if ((st = e->emit(c, &n, err))) {
            ssdc_error_prefix(err, "node %s", label);
            break;
        }
        /* parameters the body does not use (a runtime ratio, bounds, ...) */
        for (int i = 0; i < n.n_in; i++)
            if (n.in[i] && !n.in_const[i] &&
                !uses_ident(f->s ? f->s + body_start : "", c->io_name[0][i]))
                cg_buf_printf(f, "    (void)%s;\n", c->io_name[0][i]);
        for (int o = 0; o < n.n_out; o++)
            if (n.out[o] && !uses_ident(f->s ? f->s + body_start : "", c->io_name[1][o]))
                cg_buf_printf(f, "    (void)%s;\n", c->io_name[1][o]);
        cg_buf_puts(f, "}\n\n");
        /* the call */
        cg_buf_printf(&c->body, "    %s(", fname);
        np = 0;
        for (int i = 0; i < n.n_in; i++)
            if (n.in[i] && !n.in_const[i]) {
                char buf[160];
                cg_buf_printf(&c->body, "%s%s", np++ ? ", " : "",
                              storage_expr(c, gn->inputs[i], buf, sizeof buf));
            }
        for (int o = 0; o < n.n_out; o++)
            if (n.out[o]) {
                char buf[160];
                cg_buf_printf(&c->body, "%s%s", np++ ? ", " : "",
                              storage_expr(c, gn->outputs[o], buf, sizeof buf));
            }
        cg_buf_printf(&c->body, ");\n");
        res->n_nodes++;
    }
    if (st)
        goto done;
    /* graph outputs not already in their buffer */
    for (int o = 0; o < g->n_outputs; o++) {
        int t = g->outputs[o];
        if (!c->is_const[t]) {
            int r = find(c, t);
            if (c->kind[r] == ST_OUTPUT && c->cls_index[r] == o)
                continue;
        }
        char buf[160];
        const graph_value *ov = rt_plan_tensor(c->plan, t);
        if (ov->numel == 0)
            continue;
        const char *src = c->is_const[t] ? const_ref(c, t) : storage_expr(c, t, buf, sizeof buf);
            cg_buf_printf(&c->body, "    memcpy(out[%d], %s, (size_t)%lld * sizeof(%s));\n", o, src,
                          (long long)ov->numel, cg_ctype(ov->dtype));
    }

    /* ---- assemble ---- */
    {
        cg_buf h = {0}, s = {0}, m = {0};
        const char *N = c->name, *U = c->upper;
        char src_comment[400] = "", sha[80] = "", prod[320] = "";
        if (opt->source_path) {
            const char *base = strrchr(opt->source_path, '/');
            comment_text(base ? base + 1 : opt->source_path, src_comment, sizeof src_comment);
        }
        if (opt->source_sha256)
            comment_text(opt->source_sha256, sha, sizeof sha);
        if (g->producer_name && g->producer_name[0]) {
            char pn[200], pv[90];
            comment_text(g->producer_name, pn, sizeof pn);
            comment_text(g->producer_version ? g->producer_version : "", pv, sizeof pv);
            snprintf(prod, sizeof prod, ", producer %.200s%s%.90s", pn, pv[0] ? " " : "", pv);
        }
        /* ---- header ---- */
        cg_buf_printf(&h, "/* %s.h: generated by ssdc %s (ssdc codegen) -- do not edit.\n", N,
                      CG_VERSION);
        cg_buf_printf(&h, " *\n * Model: %s\n", src_comment[0] ? src_comment : "(in memory)");
        if (sha[0])
            cg_buf_printf(&h, " * sha256: %s\n", sha);
        cg_buf_printf(&h, " * ONNX opset %lld, IR version %lld%s\n", (long long)g->opset,
                      (long long)g->ir_version, prod);
        cg_buf_printf(&h, " * Inference passes: %d Dropout and %d Identity removed, %d "
                          "BatchNormalization folded, %d dead nodes removed; %d nodes folded "
                          "at generation time.\n",
                      istats.dropout_removed, istats.identity_removed, istats.bn_folded,
                      istats.dead_removed, res->n_folded);
        cg_buf_printf(&h, " * Flags: batch %lld%s%s%s%s.\n",
                      (long long)(opt->batch > 0 ? opt->batch : 1), opt->no_libm ? ", no libm" : "",
                      opt->weights_section ? ", weights in section " : "",
                      opt->weights_section ? opt->weights_section : "",
                      opt->inputs ? ", shapes from given input values" : "");
        cg_buf_puts(&h, " *\n");
        for (int i = 0; i < g->n_inputs; i++) {
            int t = g->inputs[i];
            char tn[300], sh[160];
            comment_text(g->tensors[t].name, tn, sizeof tn);
            shape_text(rt_plan_tensor(c->plan, t), sh, sizeof sh);
            if (c->run_input[i] >= 0)
                cg_buf_printf(&h, " * Input %d: '%s' %s %s\n", c->run_input[i], tn,
                              graph_dtype_name(rt_plan_tensor(c->plan, t)->dtype), sh);
            else if (c->specialised[i])
                cg_buf_printf(&h, " * Graph input '%s' %s %s: specialised to the value given "
                                  "at generation time (not a parameter)\n",
                              tn, graph_dtype_name(rt_plan_tensor(c->plan, t)->dtype), sh);
            else
                cg_buf_printf(&h, " * Graph input '%s' (%s): unused by the generated code\n", tn,
                              graph_dtype_name(g->tensors[t].dtype));
        }
        for (int o = 0; o < g->n_outputs; o++) {
            int t = g->outputs[o];
            char tn[300], sh[160];
            comment_text(g->tensors[t].name, tn, sizeof tn);
            shape_text(rt_plan_tensor(c->plan, t), sh, sizeof sh);
            cg_buf_printf(&h, " * Output %d: '%s' %s %s\n", o, tn,
                          graph_dtype_name(rt_plan_tensor(c->plan, t)->dtype), sh);
        }
        cg_buf_printf(&h,
            " *\n"
            " * Memory: %lld bytes of static arena (intermediate tensors sharing memory by\n"
            " * lifetime), %lld bytes of constant weights.  Row-major data, one batch\n"
            " * per call.  Not reentrant (one static arena); input and output buffers must\n"
            " * not overlap.  Returns 0, or -1 for a NULL pointer.\n"
            " */\n",
            (long long)res->arena_bytes, (long long)c->weight_bytes);
        cg_buf_printf(&h, "#ifndef %s_H\n#define %s_H\n\n#include <stdint.h>\n\n", U, U);
        cg_buf_printf(&h, "#define %s_BATCH %lld\n", U,
                      (long long)(opt->batch > 0 ? opt->batch : 1));
        cg_buf_printf(&h, "#define %s_NUM_INPUTS %d\n#define %s_NUM_OUTPUTS %d\n", U,
                      c->n_run_inputs, U, g->n_outputs);
        for (int i = 0; i < g->n_inputs; i++) {
            if (c->run_input[i] < 0)
                continue;
            const graph_value *v = rt_plan_tensor(c->plan, g->inputs[i]);
            char macro[120];
            if (c->run_input[i] == 0) {
                snprintf(macro, sizeof macro, "%.72s_INPUT", U);
                emit_dims_macro(&h, macro, v);
                cg_buf_printf(&h, "#define %s_TYPE %s\n", macro, cg_ctype(v->dtype));
            }
            snprintf(macro, sizeof macro, "%.72s_INPUT%d", U, c->run_input[i]);
            emit_dims_macro(&h, macro, v);
            cg_buf_printf(&h, "#define %s_TYPE %s\n", macro, cg_ctype(v->dtype));
        }
        for (int o = 0; o < g->n_outputs; o++) {
            const graph_value *v = rt_plan_tensor(c->plan, g->outputs[o]);
            char macro[120];
            if (o == 0) {
                snprintf(macro, sizeof macro, "%.72s_OUTPUT", U);
                emit_dims_macro(&h, macro, v);
                cg_buf_printf(&h, "#define %s_TYPE %s\n", macro, cg_ctype(v->dtype));
            }
            snprintf(macro, sizeof macro, "%.72s_OUTPUT%d", U, o);
            emit_dims_macro(&h, macro, v);
            cg_buf_printf(&h, "#define %s_TYPE %s\n", macro, cg_ctype(v->dtype));
            if (o == 0)
                cg_buf_printf(&h, "#define %s_OUTPUT0_DIM_LAST %lld\n", U,
                              (long long)(v->rank > 0 ? v->dims[v->rank - 1] : 1));
        }
        cg_buf_printf(&h, "#define %s_ARENA_BYTES %lld\n#define %s_WEIGHTS_BYTES %lld\n\n", U,
                      (long long)res->arena_bytes, U, (long long)c->weight_bytes);
        cg_buf_puts(&h, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
        /* entry-point types */
        const char *t_in = "float", *t_out = cg_ctype(rt_plan_tensor(c->plan, g->outputs[0])->dtype);
        for (int i = 0; i < g->n_inputs; i++)
            if (c->run_input[i] == 0)
                t_in = cg_ctype(rt_plan_tensor(c->plan, g->inputs[i])->dtype);
        const char *t_multi = c->all_float ? "float" : "void";
        bool has_multi = c->n_run_inputs != 1 || g->n_outputs != 1;
        if (has_run)
            cg_buf_printf(&h,
                "/* input: %s_INPUT_SIZE values; output: %s_OUTPUT_SIZE values%s. */\n"
                "int %s_run(const %s *input, %s *output);\n",
                U, U, g->n_outputs > 1 ? " (output 0; the others are computed and dropped)" : "",
                N, t_in, t_out);
        if (has_multi)
            cg_buf_printf(&h,
                "/* inputs[i]: %s_INPUTi_SIZE values of %s_INPUTi_TYPE, outputs[o]: %s_OUTPUTo_SIZE\n"
                " * values of %s_OUTPUTo_TYPE. */\n"
                "int %s_run_multi(const %s *const inputs[], %s *const outputs[]);\n",
                U, U, U, U, N, t_multi, t_multi);
        cg_buf_printf(&h, "\n#ifdef __cplusplus\n}\n#endif\n\n#endif /* %s_H */\n", U);

        /* ---- source ---- */
        cg_buf_printf(&s, "/* %s.c: generated by ssdc %s (ssdc codegen) -- do not edit.\n"
                          " * Model: %s%s%s.  See %s.h. */\n",
                      N, CG_VERSION, src_comment[0] ? src_comment : "(in memory)",
                      sha[0] ? ", sha256 " : "", sha, N);
        cg_buf_printf(&s, "#include <stddef.h>\n#include <stdint.h>\n#include <string.h>\n");
        if (!opt->no_libm)
            cg_buf_puts(&s, "#include <math.h>\n");
        cg_buf_printf(&s, "\n#include \"%s.h\"\n\n", N);
        if (opt->weights_section)
            cg_buf_printf(&s, "/* Weights go to a named linker section (GCC and Clang, ELF targets). */\n"
                              "#define %s_WEIGHTS __attribute__((section(\"%s\")))\n\n",
                          U, opt->weights_section);
        cg_buf_puts(&s, c->consts.s ? c->consts.s : "");
        if (opt->no_libm)
            cg_mathlib_emit(&s, N, c->math_used);
        for (int a = 0; a < AR_COUNT; a++) {
            int64_t total = c->arena_elems[a] + c->extra_elems[a];
            if (total > 0)
                cg_buf_printf(&s, "/* Intermediate tensors (%s): %lld bytes, shared by lifetime. */\n"
                                  "static %s %s_arena%s[%lld];\n\n",
                              arena_info[a].ctype, (long long)total * arena_info[a].size,
                              arena_info[a].ctype, N, arena_info[a].suffix, (long long)total);
        }
        cg_buf_puts(&s, c->funcs.s ? c->funcs.s : "");
        cg_buf_printf(&s, "static void %s_forward(const void *const *in, void *const *out)\n{\n", N);
        cg_buf_puts(&s, "    (void)in;\n    (void)out;\n");
        cg_buf_puts(&s, c->body.s ? c->body.s : "");
        cg_buf_puts(&s, "}\n\n");
        if (has_run) {
            cg_buf_printf(&s, "int %s_run(const %s *input, %s *output)\n{\n", N, t_in, t_out);
            cg_buf_printf(&s, "    const void *in[1];\n    void *out[%d];\n", g->n_outputs);
            cg_buf_printf(&s, "    if (%soutput == NULL)\n        return -1;\n",
                          c->n_run_inputs ? "input == NULL || " : "");
            cg_buf_printf(&s, "    in[0] = input;\n    out[0] = output;\n");
            for (int o = 1; o < g->n_outputs; o++) {
                const graph_value *ov = rt_plan_tensor(c->plan, g->outputs[o]);
                if (ov->numel == 0)
                    cg_buf_printf(&s, "    out[%d] = output; /* empty */\n", o);
                else
                    cg_buf_printf(&s, "    out[%d] = %s_arena%s + %lld;\n", o, N,
                                  arena_info[arena_of(ov->dtype)].suffix,
                                  (long long)c->extra_offset[o]);
            }
            cg_buf_printf(&s, "    %s_forward(in, out);\n    return 0;\n}\n", N);
        }
        if (has_multi) {
            cg_buf_printf(&s, "%sint %s_run_multi(const %s *const inputs[], %s *const outputs[])\n{\n",
                          has_run ? "\n" : "", N, t_multi, t_multi);
            cg_buf_printf(&s, "    const void *in[%d];\n    void *out[%d];\n    int i;\n",
                          c->n_run_inputs + 1, g->n_outputs);
            cg_buf_printf(&s, "    if (inputs == NULL || outputs == NULL)\n        return -1;\n");
            cg_buf_printf(&s, "    in[0] = NULL;\n");
            cg_buf_printf(&s, "    for (i = 0; i < %d; i++) {\n        if (inputs[i] == NULL)\n"
                              "            return -1;\n        in[i] = inputs[i];\n    }\n",
                          c->n_run_inputs);
            cg_buf_printf(&s, "    for (i = 0; i < %d; i++) {\n        if (outputs[i] == NULL)\n"
                              "            return -1;\n        out[i] = outputs[i];\n    }\n",
                          g->n_outputs);
            cg_buf_printf(&s, "    %s_forward(in, out);\n    return 0;\n}\n", N);
        }
        if (opt->emit_main)
            emit_main_file(c, &m, has_run);
        if (h.oom || s.oom || m.oom || c->consts.oom || c->funcs.oom || c->body.oom) {
            cg_buf_free(&h);
            cg_buf_free(&s);
            cg_buf_free(&m);
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory generating C");
            goto done;
        }
        res->header = h.s;
        res->source = s.s;
        res->main_source = opt->emit_main ? m.s : NULL;
        if (!opt->emit_main)
            cg_buf_free(&m);
        res->weight_bytes = c->weight_bytes;
        rt_plan_stats ps;
        rt_plan_get_stats(c->plan, &ps);
        res->rt_arena_bytes = ps.arena_bytes;
        res->rt_sum_tensor_bytes = ps.sum_tensor_bytes;
        res->rt_peak_live_bytes = ps.peak_live_bytes;
        res->n_run_inputs = c->n_run_inputs;
        res->input_slot = malloc((size_t)(g->n_inputs ? g->n_inputs : 1) * sizeof(int));
        if (!res->input_slot) {
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (int i = 0; i < g->n_inputs; i++)
            res->input_slot[i] = c->run_input[i];
        res->n_run_outputs = g->n_outputs;
    }
done:
    cg_buf_free(&unsup);
    free(order);
    ctx_free(c);
    free_inputs(g, inputs);
    return st;
}

void codegen_result_free(codegen_result *res)
{
    free(res->header);
    free(res->source);
    free(res->main_source);
    free(res->unsupported);
    free(res->input_slot);
    memset(res, 0, sizeof *res);
}

static ssdc_status mkdir_p(const char *dir, ssdc_error *err)
{
    char buf[4096];
    if (strlen(dir) >= sizeof buf)
        return ssdc_fail(err, SSDC_ERR_ARG, "%s: path too long", dir);
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char save = *p;
            *p = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return ssdc_fail(err, SSDC_ERR_IO, "%s: cannot create folder: %s", buf,
                                 strerror(errno));
            *p = save;
            if (!save)
                break;
        }
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return ssdc_fail(err, SSDC_ERR_IO, "%s: not a folder", dir);
    return SSDC_OK;
}

ssdc_status codegen_write(const char *outdir, const char *name, const codegen_result *res,
                          ssdc_error *err)
{
    ssdc_status st = mkdir_p(outdir, err);
    if (st)
        return st;
    const char *texts[3] = {res->header, res->source, res->main_source};
    const char *suffix[3] = {".h", ".c", "_main.c"};
    for (int k = 0; k < 3; k++) {
        if (!texts[k])
            continue;
        char path[4600];
        snprintf(path, sizeof path, "%s/%s%s", outdir, name, suffix[k]);
        if ((st = ssdc_write_file_atomic(path, texts[k], strlen(texts[k]), err)))
            return st;
    }
    return SSDC_OK;
}

ssdc_status codegen_model_file(const char *model_path, const codegen_options *opt,
                               codegen_result *res, ssdc_error *err)
{
    memset(res, 0, sizeof *res);
    void *buf = NULL;
    size_t len = 0;
    ssdc_status st = ssdc_read_file(model_path, (size_t)2 << 30, &buf, &len, err);
    if (st)
        return st;
    char sha[65];
    codegen_sha256_hex(buf, len, sha);
    graph *g = NULL;
    st = onnx_import_buffer(buf, len, model_path, &g, err);
    free(buf);
    if (st)
        return st;
    codegen_options o = *opt;
    o.source_path = opt->source_path ? opt->source_path : model_path;
    o.source_sha256 = sha;
    st = codegen_generate(g, &o, res, err);
    if (st && st != SSDC_ERR_ARG)
        ssdc_error_prefix(err, "%s", model_path);
    graph_free(g);
    return st;
}

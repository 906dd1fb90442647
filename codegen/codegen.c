/* Code generation driver: static graph, memory plan, emission, files.
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
#include "graph/fileio.h"
#include "graph/ops.h"
#include "passes/memplan.h"
#include "passes/specialize.h"

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


struct cg_ctx {
    const graph *g;
    graph_value *vals;    /* per tensor: concrete shape; data of constants */
    memplan mp;           /* storage of every tensor (passes/memplan.h) */
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
    bool qmath_used;      /* cg_qmath: the fixed-point functions are emitted */
    char math_name[CG_FN_COUNT][96];
    char flit[8][64];
    int flit_slot;
    char io_name[2][CG_MAX_IO][8];
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

/* The concrete value of tensor t (data only for constants). */
static const graph_value *tval(const cg_ctx *c, int t)
{
    return t >= 0 && t < c->g->n_tensors ? &c->vals[t] : NULL;
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

const char *cg_qmath(cg_ctx *c)
{
    c->qmath_used = true;
    return c->name;
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
        const graph_value *v = tval(c, t);
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
        n->in[i] = t >= 0 ? tval(c, t) : NULL;
        n->in_const[i] = t >= 0 && c->is_const[t];
    }
    for (int o = 0; o < n->n_out; o++) {
        int t = gn->outputs[o];
        n->out[o] = t >= 0 ? tval(c, t) : NULL;
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
    const memplan_place *pl = &c->mp.place[t];
    switch (pl->kind) {
    case MEMPLAN_INPUT: snprintf(buf, size, "in[%d]", c->run_input[pl->index]); break;
    case MEMPLAN_OUTPUT: snprintf(buf, size, "out[%d]", pl->index); break;
    default:
        snprintf(buf, size, "%s_arena%s + %lld", c->name, arena_info[pl->arena].suffix,
                 (long long)(pl->offset / (size_t)arena_info[pl->arena].size));
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
        graph_dtype dt = tval(c, g->inputs[i])->dtype;
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
        graph_dtype dt = tval(c, g->outputs[o])->dtype;
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
    free(c->vals);
    memplan_free(&c->mp);
    free(c->extra_offset);
    free(c->run_input);
    free(c->specialised);
    cg_buf_free(&c->consts);
    cg_buf_free(&c->funcs);
    cg_buf_free(&c->body);
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

#define ALLOC(p, n) ((p) = calloc((size_t)((n) ? (n) : 1), sizeof *(p)))

/* The generated code as a memory-planning target (passes/memplan.h). */
static int plan_arena_of(graph_dtype dt)
{
    int a = arena_of(dt);
    return a < 0 ? AR_F32 : a;
}

static unsigned plan_node_caps(void *ctx, const graph_node *n, uint32_t *inplace)
{
    (void)ctx;
    const codegen_emitter *e = codegen_emitter_get(n->op);
    *inplace = e && (e->flags & CG_INPLACE) ? ~0u : 0u;
    return e && (e->flags & CG_VIEW) ? MEMPLAN_VIEW : 0u;
}

/* The static graph's values, its run order (the stored order, which
 * passes_specialize makes the execution order; any topological order
 * otherwise) and an error for a tensor without a concrete shape. */
static ssdc_status static_values(cg_ctx *c, ssdc_error *err)
{
    const graph *g = c->g;
    int nt = g->n_tensors, nn = g->n_nodes;
    bool *used = calloc((size_t)(nt ? nt : 1), sizeof *used);
    if (!used)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    for (int i = 0; i < nn; i++) {
        const graph_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0)
                used[n->inputs[k]] = true;
        for (int k = 0; k < n->n_outputs; k++)
            if (n->outputs[k] >= 0)
                used[n->outputs[k]] = true;
    }
    for (int i = 0; i < g->n_inputs; i++)
        used[g->inputs[i]] = true;
    for (int o = 0; o < g->n_outputs; o++)
        used[g->outputs[o]] = true;
    for (int t = 0; t < nt; t++) {
        const graph_tensor *tt = &g->tensors[t];
        c->is_const[t] = spec_tensor_is_const(g, t);
        if (!used[t])
            continue; /* left over by a pass: nothing reads or writes it */
        if (!graph_shape_is_static(&tt->shape)) {
            free(used);
            char sh[160];
            graph_shape_format(&tt->shape, sh, sizeof sh);
            return ssdc_fail(err, SSDC_ERR_ARG,
                             "tensor '%s' has shape %s: code generation takes a static graph "
                             "(passes_specialize)", tt->name, sh);
        }
        graph_value_set_shape(&c->vals[t], tt->dtype, tt->shape.rank, tt->shape.dims);
        c->vals[t].data = c->is_const[t] ? tt->data : NULL;
    }
    free(used);
    bool stored_ok = true;
    for (int i = 0; i < nn && stored_ok; i++) {
        const graph_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_inputs && stored_ok; k++)
            if (n->inputs[k] >= 0 && g->tensors[n->inputs[k]].producer >= i)
                stored_ok = false;
    }
    if (stored_ok) {
        for (int i = 0; i < nn; i++)
            c->run_nodes[i] = i;
    } else {
        ssdc_status st = graph_topo_order(g, c->run_nodes, err);
        if (st)
            return st;
    }
    c->n_run = nn;
    return SSDC_OK;
}

ssdc_status codegen_generate(const graph *g, const codegen_options *opt, codegen_result *res,
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
    const inference_stats istats = opt->inference;
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
    cg_buf unsup = {0};
    int n_unsup = 0;
    int nt = g->n_tensors, nn = g->n_nodes;
    res->n_folded = opt->spec.n_folded;
    ALLOC(c->vals, nt);
    ALLOC(c->is_const, nt);
    ALLOC(c->const_name, nt);
    ALLOC(c->specialised, g->n_inputs);
    ALLOC(c->run_input, g->n_inputs);
    ALLOC(c->run_nodes, nn);
    if (!c->vals || !c->is_const || !c->const_name || !c->specialised || !c->run_input ||
        !c->run_nodes) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((st = static_values(c, err)))
        goto done;
    for (int i = 0; i < g->n_inputs; i++) {
        int t = g->inputs[i];
        c->run_input[i] = -1;
        if (c->is_const[t])
            c->specialised[i] = true; /* fixed to its value by passes_specialize */
        else if (arena_of(tval(c, t)->dtype) >= 0)
            c->run_input[i] = c->n_run_inputs++;
    }

    /* every node that cannot be generated, all at once */
    for (int r = 0; r < c->n_run; r++) {
        cg_node n;
        node_view(c, c->run_nodes[r], &n);
        char why[600];
        if (!check_node(c, &n, why, sizeof why))
            add_unsupported(&unsup, &n_unsup, n.node, why);
    }
    for (int o = 0; o < g->n_outputs; o++) {
        const graph_value *v = tval(c, g->outputs[o]);
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

    /* ---- storage: views, in place, arenas (passes/memplan.h) ---- */
    ALLOC(c->extra_offset, g->n_outputs);
    if (!c->extra_offset) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        goto done;
    }
    {
        memplan_target tg = {.align = CG_ALIGN_BYTES, .arena_of = plan_arena_of,
                             .node_caps = plan_node_caps, .caller_io = true};
        if ((st = memplan_build(g, c->vals, c->is_const, c->run_nodes, c->n_run, &tg, &c->mp,
                                err)))
            goto done;
        res->n_views = c->mp.stats.n_views;
        res->n_inplace = c->mp.stats.n_inplace;
        res->sum_tensor_bytes = c->mp.stats.sum_tensor_bytes;
        res->peak_live_bytes = c->mp.stats.peak_live_bytes;
        for (int a = 0; a < c->mp.n_arenas && a < AR_COUNT; a++)
            c->arena_elems[a] = (int64_t)(c->mp.arena_bytes[a] / (size_t)arena_info[a].size);
    }
    /* entry points: typed unless every input and output is float */
    c->all_float = true;
    for (int i = 0; i < g->n_inputs; i++)
        if (c->run_input[i] >= 0 && tval(c, g->inputs[i])->dtype != GRAPH_DT_FLOAT)
            c->all_float = false;
    for (int o = 0; o < g->n_outputs; o++)
        if (tval(c, g->outputs[o])->dtype != GRAPH_DT_FLOAT)
            c->all_float = false;
    /* NAME_run with several outputs: outputs 1.. go to scratch after the arenas */
    bool has_run = c->n_run_inputs <= 1;
    if (has_run)
        for (int o = 1; o < g->n_outputs; o++) {
            const graph_value *v = tval(c, g->outputs[o]);
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
        n.inplace = c->mp.steps[r].inplace_input >= 0;
        n.inplace_input = c->mp.steps[r].inplace_input;
        const graph_node *gn = n.node;
        char label[400], nm[300];
        comment_text(gn->name, nm, sizeof nm);
        snprintf(label, sizeof label, "'%s' (%s)", nm, gn->op_type);
        if (c->mp.steps[r].view) {
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
            const memplan_place *pl = &c->mp.place[t];
            if (pl->kind == MEMPLAN_OUTPUT && pl->index == o)
                continue;
        }
        char buf[160];
        const graph_value *ov = tval(c, t);
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
                      opt->spec.from_values ? ", shapes from given input values" : "");
        cg_buf_puts(&h, " *\n");
        for (int i = 0; i < g->n_inputs; i++) {
            int t = g->inputs[i];
            char tn[300], sh[160];
            comment_text(g->tensors[t].name, tn, sizeof tn);
            shape_text(tval(c, t), sh, sizeof sh);
            if (c->run_input[i] >= 0)
                cg_buf_printf(&h, " * Input %d: '%s' %s %s\n", c->run_input[i], tn,
                              graph_dtype_name(tval(c, t)->dtype), sh);
            else if (c->specialised[i])
                cg_buf_printf(&h, " * Graph input '%s' %s %s: specialised to the value given "
                                  "at generation time (not a parameter)\n",
                              tn, graph_dtype_name(tval(c, t)->dtype), sh);
            else
                cg_buf_printf(&h, " * Graph input '%s' (%s): unused by the generated code\n", tn,
                              graph_dtype_name(g->tensors[t].dtype));
        }
        for (int o = 0; o < g->n_outputs; o++) {
            int t = g->outputs[o];
            char tn[300], sh[160];
            comment_text(g->tensors[t].name, tn, sizeof tn);
            shape_text(tval(c, t), sh, sizeof sh);
            cg_buf_printf(&h, " * Output %d: '%s' %s %s\n", o, tn,
                          graph_dtype_name(tval(c, t)->dtype), sh);
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
            const graph_value *v = tval(c, g->inputs[i]);
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
            const graph_value *v = tval(c, g->outputs[o]);
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
        const char *t_in = "float", *t_out = cg_ctype(tval(c, g->outputs[0])->dtype);
        for (int i = 0; i < g->n_inputs; i++)
            if (c->run_input[i] == 0)
                t_in = cg_ctype(tval(c, g->inputs[i])->dtype);
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
        if (c->qmath_used) {
            cg_qmath_emit(&s, N);
            cg_quantize_fn_emit(&s, N);
        }
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
                const graph_value *ov = tval(c, g->outputs[o]);
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
    ctx_free(c);
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

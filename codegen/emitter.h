/* Per-op C emitters, one per op id of the registry (graph/ops.def), found
 * the way the runtime finds its kernels: codegen_emitter_<symbol> is a weak
 * symbol defined in the codegen/emit_*.c file of its op kind.
 *
 * An emitter writes the body of one static function per node:
 *
 *   static void nK_op(const float *x0, ..., float *y0, ...)
 *
 * x<i> is runtime input i (only inputs that are not constants get a
 * parameter), y<o> output o, each typed by its dtype (float unless the
 * emitter is CG_TYPED).  Constants (initializers and everything the
 * planner folded) are static const arrays: cg_in() names them.  Shapes are
 * concrete, so loops have literal bounds.  Generated code must be C99 that
 * compiles without warnings under -Wall -Wextra -Wpedantic -Wconversion
 * -Wshadow: float literals through cg_flit(), size_t for memcpy sizes, no
 * shadowed loop variables. */
#ifndef SSDC_CODEGEN_EMITTER_H
#define SSDC_CODEGEN_EMITTER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h"
#include "graph/ops.h"

/* ---- text buffer ---- */

typedef struct {
    char *s;
    size_t len, cap;
    bool oom;
} cg_buf;

void cg_buf_printf(cg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cg_buf_vprintf(cg_buf *b, const char *fmt, va_list ap);
void cg_buf_puts(cg_buf *b, const char *s);
void cg_buf_free(cg_buf *b);

/* Exact C99 hexadecimal float literal of a finite float (e.g. "0x1.8p-1f",
 * "-0x0p+0f"); buf holds at least 32 bytes. */
const char *cg_float_literal(float v, char *buf);

/* ---- the node being emitted ---- */

#define CG_MAX_IO 64

typedef struct {
    int index;                 /* node index in the graph */
    const graph_node *node;
    int n_in, n_out;
    const graph_value *in[CG_MAX_IO];   /* concrete shapes; data for constants */
    const graph_value *out[CG_MAX_IO];
    bool in_const[CG_MAX_IO];  /* value known at generation time */
    bool inplace;              /* output 0 shares the storage of input inplace_input */
    int inplace_input;
} cg_node;

typedef struct cg_ctx cg_ctx;

/* Math functions the generated code may call: with libm the <math.h> float
 * function, with --no-libm codegen's own approximation (codegen/mathlib.c). */
typedef enum {
    CG_FN_EXPF, CG_FN_LOGF, CG_FN_SQRTF, CG_FN_TANHF, CG_FN_EXPM1F, CG_FN_LOG1PF,
    CG_FN_ERFF, CG_FN_POWF, CG_FN_SINF, CG_FN_COSF, CG_FN_FLOORF, CG_FN_CEILF, CG_FN_FABSF,
    CG_FN_INF,  /* float ssdc_inf(void): +infinity */
    CG_FN_COUNT
} cg_math_fn;

/* The name (libm) or expression prefix (own) of fn; for CG_FN_INF an
 * expression ("HUGE_VALF" or "NAME_inf()"). */
void cg_math_name(cg_math_fn fn, bool no_libm, const char *prefix, char *buf, size_t size);
/* Definitions of the own math functions marked in used[] (and what they
 * need), names prefixed "PREFIX_". */
void cg_mathlib_emit(cg_buf *b, const char *prefix, const bool used[CG_FN_COUNT]);

/* ---- helpers for emitters ---- */

/* Appends to the node function body. */
void cg_printf(cg_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* C expression for input i: "x<i>" or the name of its const array (emitted
 * on first use).  NULL if the input is omitted. */
const char *cg_in(cg_ctx *c, const cg_node *n, int i);
/* "y<o>". */
const char *cg_out(cg_ctx *c, const cg_node *n, int o);
/* Adds a static const float array with the given data (derived weights such
 * as a transposed matrix) and returns its name. */
const char *cg_add_const(cg_ctx *c, const char *hint, const float *data, int64_t n);
/* Name of a math function in the generated code (marks it used). */
const char *cg_math(cg_ctx *c, cg_math_fn fn);
/* Marks the fixed-point functions of graph/qmath.h used (emitted once as
 * static inline text: PREFIX_srdhm, _rdivpot, _qmul, _qclamp, _quantize)
 * and returns PREFIX. */
const char *cg_qmath(cg_ctx *c);
/* The text of those functions (codegen/emit_quant.c). */
void cg_qmath_emit(cg_buf *b, const char *prefix);
void cg_quantize_fn_emit(cg_buf *b, const char *prefix);
/* A float literal as text (valid until the next call with the same slot,
 * 8 rotating slots). */
const char *cg_flit(cg_ctx *c, float v);
/* C type of a dtype ("float", "double", "int64_t", "uint8_t" for uint8 and
 * bool, ...); NULL for dtypes generated code does not hold. */
const char *cg_ctype(graph_dtype dt);
/* A literal of dtype dt with value v (rotating slots like cg_flit). */
const char *cg_lit(cg_ctx *c, graph_dtype dt, double v);
/* The graph being generated (attributes, opset). */
const graph *cg_graph(const cg_ctx *c);

/* ---- the registry ---- */

enum {
    CG_VIEW = 1u,     /* output 0 has input 0's bytes (Reshape, Flatten, ...): aliased */
    CG_INPLACE = 2u,  /* elementwise: output 0 may overwrite an input of the same shape and dtype */
    CG_TYPED = 4u,    /* handles dtypes other than float (its check says which); without it
                         every runtime input and output must be float */
};

typedef struct {
    /* NULL: every float node is fine.  Else false with the reason in why. */
    bool (*check)(const cg_ctx *c, const cg_node *n, char *why, size_t size);
    /* Writes the function body.  Views (CG_VIEW) are never emitted unless a
     * copy is needed, which the framework writes itself. */
    ssdc_status (*emit)(cg_ctx *c, const cg_node *n, ssdc_error *err);
    unsigned flags;
} codegen_emitter;

#define X(e, name, sym) extern const codegen_emitter codegen_emitter_##sym __attribute__((weak));
#include "graph/ops.def"
#include "graph/ops_training.def"
#undef X

/* Emitter of op id, NULL if codegen has none. */
const codegen_emitter *codegen_emitter_get(int op);

/* Multidirectional (numpy) broadcasting of n operands to out, with
 * size-1 axes dropped and contiguous axes merged; strides in elements, 0 on
 * broadcast axes. */
typedef struct {
    int n, rank;
    int64_t numel;
    int64_t dims[GRAPH_MAX_RANK];
    int64_t st[CG_MAX_IO][GRAPH_MAX_RANK];
} cg_bcast;

bool cg_bcast_init(cg_bcast *b, const graph_value *out, const graph_value *const *ops, int n);
/* Opens one loop per axis (loop variables i0, i1, ...) at indent 4 and
 * writes each operand's index expression into idx[k] and the output's into
 * oidx; returns the indent (spaces) of the loop body. */
int cg_bcast_open(cg_ctx *c, const cg_bcast *b, char idx[][200], char *oidx);
/* Closes the loops of cg_bcast_open (nothing to do: bodies are single statements). */

/* Emits a copy of a strided view into contiguous dst (indent 4):
 * dst[j] = src[off + sum_d i_d * st[d]] in row-major order over dims. */
void cg_emit_strided_copy(cg_ctx *c, const char *dst, const char *src, int rank,
                          const int64_t *dims, const int64_t *st, int64_t off);

/* Product of dims[lo..hi). */
int64_t cg_prod(const int64_t *dims, int lo, int hi);

#endif

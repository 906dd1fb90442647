/* Code generation: a static inference graph becomes one dependency-free C99
 * file pair (NAME.h, NAME.c) that a firmware project drops in.
 *
 * codegen_generate takes a static graph: the caller has run the inference
 * passes (passes/inference.h: Dropout and Identity removed,
 * BatchNormalization folded, dead nodes removed) and specialised it for the
 * batch (passes/specialize.h: concrete shapes, constant subgraphs folded
 * into initializers; rt_prepare_static in runtime/exec.h does both with the
 * runtime as evaluator).  Here: the memory plan (passes/memplan.h: tensors in
 * static arenas, one per C type, by lifetime; views such as Reshape alias
 * their input, elementwise ops run in place where the input dies), then one
 * static C function per node from the per-op emitters (codegen/emitter.h).
 * Output is byte-identical for the same graph and options. */
#ifndef SSDC_CODEGEN_CODEGEN_H
#define SSDC_CODEGEN_CODEGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h"
#include "passes/inference.h"
#include "passes/specialize.h"

typedef struct {
    const char *name;            /* C identifier: NAME_run, NAME.h, NAME.c */
    int64_t batch;               /* dimension 0 of inputs whose batch is symbolic; <= 0: 1 */
    bool no_libm;                /* own exp/log/tanh/sqrt/... instead of <math.h> */
    const char *weights_section; /* NULL: default placement; else a linker section name */
    bool emit_main;              /* also NAME_main.c: a test program over stdin/files */
    /* For the header comment: the model file (base name shown) and its sha256
     * (hex); NULL: not shown. */
    const char *source_path;
    const char *source_sha256;
    /* What the passes before did, for the header comment. */
    inference_stats inference;
    spec_stats spec;
} codegen_options;

typedef struct {
    char *header;        /* NAME.h */
    char *source;        /* NAME.c */
    char *main_source;   /* NAME_main.c (emit_main), else NULL */
    /* Unsupported nodes, one "node 'n' (Op): reason" per line (NULL if none);
     * filled when codegen_generate fails with SSDC_ERR_UNSUPPORTED. */
    char *unsupported;
    int n_unsupported;
    /* Memory, in bytes. */
    size_t arena_bytes;        /* the static arena of the generated code */
    size_t sum_tensor_bytes;   /* every intermediate tensor in its own buffer */
    size_t peak_live_bytes;    /* max bytes of intermediate storage live at once (lower bound) */
    size_t weight_bytes;       /* static const data */
    int n_nodes;               /* node functions emitted */
    int n_views;               /* nodes turned into aliases (Reshape, Flatten, ...) */
    int n_inplace;             /* nodes computed in place */
    int n_folded;              /* nodes evaluated before generation (options.spec) */
    int n_run_inputs;          /* float inputs of the generated entry points */
    int n_run_outputs;
    /* Per graph input: its position among the entry points' inputs, or -1
     * (specialised to the given value, or of a dtype generated code does not
     * hold). */
    int *input_slot;
} codegen_result;

/* Generates the texts for the static graph g (see above; a tensor without a
 * concrete shape is an error).  On SSDC_ERR_UNSUPPORTED, res->unsupported
 * lists every node that cannot be generated and err summarises them. */
ssdc_status codegen_generate(const graph *g, const codegen_options *opt, codegen_result *res,
                             ssdc_error *err);

/* Writes OUTDIR/NAME.h, OUTDIR/NAME.c (and NAME_main.c) atomically; creates
 * OUTDIR if needed. */
ssdc_status codegen_write(const char *outdir, const char *name, const codegen_result *res,
                          ssdc_error *err);

void codegen_result_free(codegen_result *res);

/* True if name is a valid C identifier of at most 64 characters that is not
 * a C keyword. */
bool codegen_valid_name(const char *name);

/* sha256 of a buffer as 64 lowercase hex digits (+ NUL). */
void codegen_sha256_hex(const void *data, size_t len, char hex[65]);

#endif

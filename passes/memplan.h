/* Memory planning: where every tensor of one run lives.
 *
 * The one planner of both back ends (runtime/exec.c places tensors in its
 * heap arena, codegen/ in the generated code's static arenas).  Input: a
 * graph, the concrete value of every tensor (spec_values.vals, or a static
 * graph's shapes), which tensors are constants, and the nodes to run in
 * order.  Output: the steps (a node, or a fused pair), and for every tensor
 * its storage: a constant, a caller buffer (graph input or output), or an
 * offset in an arena.
 *
 * - Lifetimes over step positions; graph outputs live to the end.
 * - Views: a node the back end marks MEMPLAN_VIEW (Reshape, Flatten, ...)
 *   writes nothing new; its output shares its input's storage.
 * - In place: output 0 of a node the back end marks takes the storage of an
 *   input (of the allowed ones) with the same dtype and shape that dies at
 *   the node, unless another input in that storage reads other elements.
 * - Fused steps (target.fuse_dropout_pool): GlobalAveragePool(Dropout(X)) as
 *   one step when nothing else reads the Dropout's outputs; when X is rows
 *   repeated by Reshape(Expand(U, [1, K, ...])) (passes/ssd.c's tiling) the
 *   step reads U and those nodes are not run either.
 * - Storage classes (tensors sharing memory) are blocks; blocks of one arena
 *   (target.arena_of: per dtype, or one arena) are placed by lifetime,
 *   greedily, under three orders (larger first, earlier first, larger
 *   lifetime x size first), the smallest total kept.  Kernel scratch
 *   (target.scratch) is a block living for its step, in arena 0. */
#ifndef SSDC_PASSES_MEMPLAN_H
#define SSDC_PASSES_MEMPLAN_H

#include "graph/graph.h"

enum {
    MEMPLAN_VIEW = 1u,     /* output 0 is input 0's bytes: aliased, nothing computed */
};

#define MEMPLAN_MAX_ARENAS 8

typedef struct memplan memplan;

typedef struct {
    int node;          /* the node run at this step */
    int fused_dropout; /* -1, or the Dropout run inside this pool step */
    int fused_src;     /* fused: the tensor the step reads (the Dropout's input, or U) */
    int64_t fused_reps;/* fused: rows of the Dropout's input per row of fused_src */
    bool view;         /* output 0 aliases input 0: nothing to compute */
    int inplace_input; /* output 0 overwrites this input, or -1 */
    size_t scratch_bytes, scratch_offset; /* kernel scratch, in arena 0 */
} memplan_step;

typedef enum {
    MEMPLAN_NONE = 0,  /* not stored: constant, or not produced by the run */
    MEMPLAN_INPUT,     /* the caller's buffer of graph input `index` */
    MEMPLAN_OUTPUT,    /* the caller's buffer of graph output `index` */
    MEMPLAN_ARENA      /* arena `arena` at byte `offset` */
} memplan_kind;

typedef struct {
    memplan_kind kind;
    int index;
    int arena;
    size_t offset;
} memplan_place;

typedef struct {
    size_t arena_bytes;        /* all arenas (intermediates + scratch) */
    size_t sum_tensor_bytes;   /* every planned intermediate in its own block */
    size_t peak_live_bytes;    /* max bytes simultaneously live (a lower bound) */
    int n_views, n_inplace, n_fused;
} memplan_stats;

/* What a back end can do. */
typedef struct {
    size_t align;              /* block sizes (and so offsets) round up to this */
    /* storage arena of a dtype (< MEMPLAN_MAX_ARENAS); NULL: one arena */
    int (*arena_of)(graph_dtype dt);
    /* MEMPLAN_VIEW or 0 for a node; *inplace: a mask of the inputs output 0
     * may overwrite (0: none) */
    unsigned (*node_caps)(void *ctx, const graph_node *n, uint32_t *inplace);
    /* scratch bytes of a step (its tensors in vals); NULL: none */
    size_t (*scratch)(void *ctx, const graph *g, const memplan_step *s, const graph_value *vals);
    void *ctx;
    /* graph inputs and outputs are caller buffers that views may alias (a
     * generated function's pointers); else graph inputs are bound per run
     * and never aliased, and graph outputs live in the arena */
    bool caller_io;
    bool fuse_dropout_pool;    /* the fused step above */
    bool empty_blocks_take_align; /* a zero-byte tensor still gets `align` bytes */
} memplan_target;

struct memplan {
    const graph *g;
    int n_steps;
    memplan_step *steps;
    memplan_place *place;      /* per tensor */
    int n_arenas;
    size_t arena_bytes[MEMPLAN_MAX_ARENAS];
    memplan_stats stats;
};

/* Plans g's run (run_nodes[0..n_run-1], in order; vals and is_const per
 * tensor).  On error *out is empty. */
ssdc_status memplan_build(const graph *g, const graph_value *vals, const bool *is_const,
                          const int *run_nodes, int n_run, const memplan_target *t, memplan *out,
                          ssdc_error *err);
void memplan_free(memplan *p);

#endif

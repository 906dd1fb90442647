/* Sliding-window geometry shared by Conv and the pooling ops (their schemas
 * in graph/ops/ and their kernels in runtime/kernels/): kernel_shape,
 * strides, dilations, pads, auto_pad and ceil_mode resolved per spatial
 * dimension exactly as ONNX (and ONNX Runtime) define them.  Defined in
 * graph/ops/conv.c. */
#ifndef SSDC_GRAPH_OPS_WINDOW_H
#define SSDC_GRAPH_OPS_WINDOW_H

#include "graph/graph.h"

/* Spatial dimensions the kernels handle (1-D, 2-D and 3-D). */
#define GRAPH_WINDOW_MAX_SPATIAL 3

typedef struct {
    int n;                              /* spatial rank */
    int64_t in[GRAPH_MAX_RANK];         /* input size, -1 unknown */
    int64_t kernel[GRAPH_MAX_RANK];     /* -1 unknown (Conv weights of unknown shape) */
    int64_t stride[GRAPH_MAX_RANK];
    int64_t dilation[GRAPH_MAX_RANK];
    int64_t pad_begin[GRAPH_MAX_RANK];  /* resolved (auto_pad applied); 0 when unknown */
    int64_t pad_end[GRAPH_MAX_RANK];
    int64_t out[GRAPH_MAX_RANK];        /* output size, -1 unknown */
    bool same_as_input[GRAPH_MAX_RANK]; /* out == in for any in (symbolic dims carry over) */
} graph_window;

/* Resolves the window of node for n spatial dimensions.  in[i] may be -1
 * (unknown).  weight_kernel (Conv: the spatial dims of W, entries may be -1)
 * is used when the node has no kernel_shape attribute; pass NULL for pools,
 * which require the attribute.  use_dilation: read the dilations attribute.
 * On failure returns SSDC_ERR_INVALID / SSDC_ERR_SHAPE and writes a message
 * (without the node name) into msg. */
ssdc_status graph_window_resolve(const graph_node *node, int n, const int64_t *in,
                                 const int64_t *weight_kernel, bool use_dilation,
                                 graph_window *w, char *msg, size_t msg_size);

/* floor(a / b) for b > 0 and any sign of a. */
static inline int64_t graph_window_floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* Output positions o in [0, out) whose input position o * stride + offset
 * lies in [lo_bound, hi_bound): the range [*lo, *hi) (empty when lo >= hi). */
static inline void graph_window_tap_range(int64_t out, int64_t stride, int64_t offset,
                                          int64_t lo_bound, int64_t hi_bound, int64_t *lo,
                                          int64_t *hi)
{
    int64_t a = -graph_window_floordiv(-(lo_bound - offset), stride); /* ceil */
    int64_t b = graph_window_floordiv(hi_bound - 1 - offset, stride) + 1;
    *lo = a < 0 ? 0 : a;
    *hi = b > out ? out : b;
    if (*hi < *lo)
        *hi = *lo;
}

/* The taps [*k0, *k1) of one window dimension (kernel k, dilation dil) that
 * read the input for some output position o in [0, out): tap t reads input
 * o * stride + t * dil - pad_begin.  The others read only padding, so loops
 * over taps may skip them; then they cost O(in + out * stride) per dimension
 * instead of O(k), and a huge kernel_shape with matching pads is not a time
 * bomb.  With out = 1 and pad_begin - o * stride: the taps of output o. */
static inline void graph_window_tap_span(int64_t k, int64_t dil, int64_t pad_begin, int64_t in,
                                         int64_t out, int64_t stride, int64_t *k0, int64_t *k1)
{
    /* operands are at most 2^31 (graph_window_resolve): no overflow */
    int64_t lo = pad_begin - (out - 1) * stride; /* t * dil >= lo */
    int64_t hi = pad_begin + in - 1;             /* t * dil <= hi */
    *k0 = lo <= 0 ? 0 : (lo + dil - 1) / dil;
    *k1 = hi < 0 ? 0 : hi / dil + 1;
    if (*k1 > k)
        *k1 = k;
    if (*k0 > *k1)
        *k0 = *k1;
}

/* The window with its spatial dims right-aligned into exactly three (leading
 * dims of size 1), so kernels can use one fixed loop nest for 1-D..3-D. */
typedef struct {
    int64_t in[3], out[3], kernel[3], stride[3], dilation[3], pad_begin[3], pad_end[3];
    int64_t in_size, out_size, kernel_size; /* products */
} graph_window3;

static inline void graph_window_to3(const graph_window *w, graph_window3 *o)
{
    int lead = 3 - w->n;
    o->in_size = o->out_size = o->kernel_size = 1;
    for (int d = 0; d < 3; d++) {
        int s = d - lead;
        o->in[d] = s >= 0 ? w->in[s] : 1;
        o->out[d] = s >= 0 ? w->out[s] : 1;
        o->kernel[d] = s >= 0 ? w->kernel[s] : 1;
        o->stride[d] = s >= 0 ? w->stride[s] : 1;
        o->dilation[d] = s >= 0 ? w->dilation[s] : 1;
        o->pad_begin[d] = s >= 0 ? w->pad_begin[s] : 0;
        o->pad_end[d] = s >= 0 ? w->pad_end[s] : 0;
        o->in_size *= o->in[d];
        o->out_size *= o->out[d];
        o->kernel_size *= o->kernel[d];
    }
}

#endif

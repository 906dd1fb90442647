/* Gradient checks: the autodiff pass's backward nodes against central finite
 * differences of the forward graph. */
#ifndef SSDC_TESTS_GRADCHECK_H
#define SSDC_TESTS_GRADCHECK_H

#include "graph/graph.h"

#define GC_MAX_IO 8

typedef struct {
    const char *op_type;
    const char *domain;                 /* NULL: default domain */
    int n_in;
    graph_value in[GC_MAX_IO];          /* dtype, shape and data (not owned) */
    bool diff[GC_MAX_IO];               /* check d(loss)/d(input i) */
    bool is_const[GC_MAX_IO];           /* feed as an initializer (e.g. axes, shapes) */
    bool omitted[GC_MAX_IO];            /* optional input left empty */
    int n_out;                          /* outputs of the node */
    bool loss_on[GC_MAX_IO];            /* outputs the loss uses; all float outputs when none set */
    void (*attrs)(graph *g, int node);  /* sets the node's attributes (may be NULL) */
    double eps;                         /* finite-difference step (default 1e-2 float, 1e-6 double) */
    double atol, rtol;                  /* tolerance (default 2e-3 + 2e-2 float, 1e-7 + 1e-6 double) */
    int max_checks;                     /* elements checked per input, spread evenly (default 64) */
    bool training;                      /* rt_options.training (Dropout active) */
    uint64_t seed;
} gc_case;

/* Builds loss = sum_k sum(out_k * R_k) with random R_k, differentiates it
 * with the autodiff pass, and asserts (Criterion) that every checked element
 * matches (f(x+eps) - f(x-eps)) / 2eps.  Returns the largest abs error. */
double gradcheck(const gc_case *c);

/* Fills n floats / doubles uniformly in [lo, hi) from a small LCG. */
void gc_fill_f32(float *x, int64_t n, float lo, float hi, uint64_t seed);
void gc_fill_f64(double *x, int64_t n, double lo, double hi, uint64_t seed);
/* Convenience: sets v's dtype/shape and points it at data. */
void gc_value(graph_value *v, graph_dtype dt, int rank, const int64_t *dims, void *data);

#endif

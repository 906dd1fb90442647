/* Splitting a kernel's independent work over threads.  Results must not
 * depend on the split: each item is computed the same way whichever thread
 * runs it, so outputs are identical for every thread count. */
#ifndef SSDC_RUNTIME_PARALLEL_H
#define SSDC_RUNTIME_PARALLEL_H

#include <stdint.h>

/* fn(arg, part, begin, end) over [0, n) in at most `threads` contiguous
 * parts (part = 0, 1, ...: e.g. which scratch slice to use), the first on
 * the calling thread.  Falls back to fewer threads (down to
 * the caller alone) when threads cannot be started.  Parts smaller than
 * min_items are not split off. */
void rt_parallel_for(int threads, int64_t n, int64_t min_items,
                     void (*fn)(void *arg, int part, int64_t begin, int64_t end), void *arg);

#endif

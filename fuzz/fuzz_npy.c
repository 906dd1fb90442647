/* libFuzzer target: the NumPy .npy reader (npy_read_buffer), then the
 * accessors a caller uses on what it returns. */
#include <stdint.h>
#include <stdlib.h>

#include "frontend/npy.h"
#include "fuzz/fuzz_util.h"
#include "graph/graph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    graph_value v;
    memset(&v, 0, sizeof v);
    ssdc_error err = {0};
    ssdc_status st = npy_read_buffer(data, size, "fuzz.npy", &v, &err);
    fuzz_check_error(st, &err);
    if (st) {
        free(v.data);
        return 0;
    }
    /* The value must be self-consistent: touch every element. */
    if (v.rank < 0 || v.rank > GRAPH_MAX_RANK || v.numel < 0) {
        fprintf(stderr, "fuzz: npy_read_buffer returned rank %d numel %lld\n", v.rank,
                (long long)v.numel);
        abort();
    }
    int64_t n = 1;
    for (int i = 0; i < v.rank; i++)
        n *= v.dims[i];
    if (n != v.numel) {
        fprintf(stderr, "fuzz: numel %lld != product of dims %lld\n", (long long)v.numel,
                (long long)n);
        abort();
    }
    volatile double sink = 0;
    for (int64_t i = 0; i < v.numel; i++)
        sink += graph_value_get_f64(&v, i);
    (void)sink;
    free(v.data);
    return 0;
}

/* Timing harness for generated code (bench/codegen): compiled by the script
 * together with one generated NAME.c, with
 *   -D_POSIX_C_SOURCE=200809L -include NAME.h -DCG_RUN=NAME_run -DCG_IN=NAME_INPUT_SIZE
 *   -DCG_OUT=NAME_OUTPUT_SIZE
 * Runs NAME_run on uniform random inputs in [-1, 1): W warm-up calls, then N
 * timed calls (one clock read per call), and prints one JSON object like
 * bench_forward's: {"median_us":...,"mean_us":...,"min_us":...,"p10_us":...,
 * "p90_us":...,"checksum":...}.  Not part of the generated code; not built by
 * meson (it needs a generated header).
 *
 *   timer [ITERS] [WARMUP] */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_util.h"




static float in[CG_IN > 0 ? CG_IN : 1], out[CG_OUT > 0 ? CG_OUT : 1];

int main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 2000;
    int warmup = argc > 2 ? atoi(argv[2]) : 200;
    if (iters < 1)
        iters = 1;
    unsigned long long s = 1;
    for (long i = 0; i < (long)CG_IN; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        in[i] = (float)((double)(s >> 40) / 16777216.0) * 2.0f - 1.0f;
    }
    for (int i = 0; i < warmup; i++)
        CG_RUN(in, out);
    double *t = malloc((size_t)iters * sizeof *t), sum = 0;
    if (!t)
        return 1;
    for (int i = 0; i < iters; i++) {
        double t0 = bench_now_us();
        CG_RUN(in, out);
        t[i] = bench_now_us() - t0;
        sum += t[i];
    }
    double check = 0;
    for (long i = 0; i < (long)CG_OUT; i++)
        check += out[i];
    qsort(t, (size_t)iters, sizeof *t, bench_cmp_double);
    printf("{\"median_us\":%.3f,\"mean_us\":%.3f,\"min_us\":%.3f,\"p10_us\":%.3f,\"p90_us\":%.3f,"
           "\"checksum\":%.6g}\n",
           bench_quantile(t, iters, 0.5), sum / iters, t[0], bench_quantile(t, iters, 0.1),
           bench_quantile(t, iters, 0.9), check);
    free(t);
    return 0;
}

/* Helpers shared by the C benchmark programs (bench_forward, bench_ssd_step,
 * codegen_timer): a monotonic clock, sorting and quantiles of timings, and
 * argument parsing that reports through the program's usage function. */
#ifndef SSDC_BENCH_UTIL_H
#define SSDC_BENCH_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Linear-interpolated quantile q of n sorted values. */
static inline double bench_quantile(const double *sorted, int n, double q)
{
    double pos = q * (n - 1);
    int lo = (int)pos;
    int hi = lo + 1 < n ? lo + 1 : n - 1;
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - (double)lo);
}

/* An integer >= min from s; otherwise usage(message), which does not return. */
static inline long bench_parse_long(const char *s, const char *what, long min,
                                    void (*usage)(const char *msg))
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < min) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s needs an integer >= %ld, got '%s'", what, min, s);
        usage(buf);
    }
    return v;
}

#endif

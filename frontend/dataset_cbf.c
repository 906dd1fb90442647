/* The built-in Cylinder-Bell-Funnel generator (dataset_generate_cbf; the
 * formula is in frontend/dataset.h), and the random numbers it draws:
 * splitmix64 streams, also used by dataset_split_stratified. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/dataset_parse.h"

/* ---- random numbers ---- */

static uint64_t ds_splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void ds_rng_init(ds_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t s = seed;
    uint64_t a = ds_splitmix64(&s);
    s = a ^ (stream * 0xD1B54A32D192ED03ull);
    r->s = ds_splitmix64(&s);
    r->has_spare = false;
    r->spare = 0.0;
}

/* Uniform in [0, 1) with 53 random bits. */
static double ds_rng_uniform(ds_rng *r)
{
    return (double)(ds_splitmix64(&r->s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [0, n), n > 0, without modulo bias. */
static uint64_t ds_rng_below(ds_rng *r, uint64_t n)
{
    uint64_t lim = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = ds_splitmix64(&r->s);
    while (x >= lim);
    return x % n;
}

/* Standard normal (Box-Muller, both values used). */
static double ds_rng_normal(ds_rng *r)
{
    if (r->has_spare) {
        r->has_spare = false;
        return r->spare;
    }
    double u1 = ds_rng_uniform(r), u2 = ds_rng_uniform(r);
    double rad = sqrt(-2.0 * log(1.0 - u1)); /* 1-u1 in (0,1] */
    double th = 6.283185307179586 * u2; /* 2 pi */
    r->spare = rad * sin(th);
    r->has_spare = true;
    return rad * cos(th);
}

void ds_shuffle(int64_t *v, int64_t n, ds_rng *r)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)ds_rng_below(r, (uint64_t)i + 1);
        int64_t t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

/* ---- CBF generator ---- */

static ssdc_status ds_cbf_split(dataset *d, int64_t n, uint64_t seed, uint64_t stream,
                                ssdc_error *err)
{
    static const char *const names[3] = {"cylinder", "bell", "funnel"};
    const int64_t L = DATASET_CBF_LENGTH;
    memset(d, 0, sizeof *d);
    d->format = "cbf";
    d->n = n;
    d->rank = 2;
    d->dims[0] = 1;
    d->dims[1] = L;
    d->n_classes = 3;
    d->name = ds_strdup("cbf");
    d->x = malloc((size_t)n * (size_t)L * sizeof *d->x);
    d->y = malloc((size_t)n * sizeof *d->y);
    d->class_names = calloc(3, sizeof *d->class_names);
    if (!d->name || !d->x || !d->y || !d->class_names) {
        dataset_free(d);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "cbf: out of memory for %lld samples",
                         (long long)n);
    }
    for (int c = 0; c < 3; c++)
        if (!(d->class_names[c] = ds_strdup(names[c]))) {
            dataset_free(d);
            return ssdc_fail(err, SSDC_ERR_NOMEM, "cbf: out of memory");
        }
    ds_rng r;
    ds_rng_init(&r, seed, stream);
    for (int64_t i = 0; i < n; i++)
        d->y[i] = i % 3;
    ds_shuffle(d->y, n, &r);
    for (int64_t i = 0; i < n; i++) {
        int64_t a = 16 + (int64_t)ds_rng_below(&r, 17);     /* U{16..32} */
        int64_t b = a + 32 + (int64_t)ds_rng_below(&r, 65); /* b - a ~ U{32..96} */
        double amp = 6.0 + ds_rng_normal(&r);
        float *x = d->x + i * L;
        for (int64_t t = 1; t <= L; t++) {
            double shape = 0.0;
            if (t >= a && t <= b) {
                switch (d->y[i]) {
                case 0: shape = 1.0; break;
                case 1: shape = (double)(t - a) / (double)(b - a); break;
                default: shape = (double)(b - t) / (double)(b - a); break;
                }
            }
            x[t - 1] = (float)(amp * shape + ds_rng_normal(&r));
        }
    }
    return SSDC_OK;
}

ssdc_status dataset_generate_cbf(int64_t n_train, int64_t n_test, uint64_t seed,
                                 dataset_pair *out, ssdc_error *err)
{
    memset(out, 0, sizeof *out);
    int64_t limit = SSDC_MAX_TENSOR_ELEMS / DATASET_CBF_LENGTH;
    if (n_train <= 0 || n_test <= 0 || n_train > limit || n_test > limit)
        return ssdc_fail(err, SSDC_ERR_ARG,
                         "cbf: sample counts must be between 1 and %lld (got %lld train, %lld "
                         "test)",
                         (long long)limit, (long long)n_train, (long long)n_test);
    ssdc_status st = ds_cbf_split(&out->train, n_train, seed, 1, err);
    if (!st)
        st = ds_cbf_split(&out->test, n_test, seed, 2, err);
    if (st)
        dataset_pair_free(out);
    return st;
}

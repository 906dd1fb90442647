/* Shared body of the data set targets (fuzz_tsv, fuzz_ts, fuzz_idx): what
 * `ssdc train --data` does with a loaded pair, run on whatever loaded. */
#ifndef SSDC_FUZZ_DATASET_H
#define SSDC_FUZZ_DATASET_H

#include <math.h>

#include "frontend/dataset.h"
#include "fuzz/fuzz_util.h"

/* Options varied by a property of the input that does not change its bytes
 * (its length), so both NaN modes are covered. */
static inline dataset_load_options fuzz_dataset_options(size_t size)
{
    dataset_load_options o;
    memset(&o, 0, sizeof o);
    o.nan_mode = (size & 1) ? DATASET_NAN_ZERO : DATASET_NAN_REFUSE;
    return o;
}

static inline void fuzz_dataset_check(const dataset *d)
{
    if (d->n < 0 || d->rank < 1 || d->rank > DATASET_MAX_RANK || d->n_classes < 0) {
        fprintf(stderr, "fuzz: inconsistent data set (n %lld rank %d classes %d)\n",
                (long long)d->n, d->rank, d->n_classes);
        abort();
    }
    int64_t per = dataset_sample_numel(d);
    volatile float sink = 0;
    for (int64_t i = 0; i < d->n * per; i++)
        sink += d->x[i];
    for (int64_t i = 0; i < d->n; i++)
        if (d->y[i] < 0 || d->y[i] >= d->n_classes) {
            fprintf(stderr, "fuzz: label %lld of sample %lld outside 0..%d\n",
                    (long long)d->y[i], (long long)i, d->n_classes - 1);
            abort();
        }
    for (int c = 0; c < d->n_classes; c++)
        if (!d->class_names[c]) {
            fprintf(stderr, "fuzz: class %d has no name\n", c);
            abort();
        }
    (void)sink;
}

/* Checks the pair, then splits, normalises and selects like the trainer. */
static inline void fuzz_dataset_use(dataset_pair *p)
{
    fuzz_dataset_check(&p->train);
    fuzz_dataset_check(&p->test);
    ssdc_error err = {0};
    dataset tr, va;
    memset(&tr, 0, sizeof tr);
    memset(&va, 0, sizeof va);
    ssdc_status st = dataset_split_stratified(&p->train, 0.2, 1, &tr, &va, &err);
    fuzz_check_error(st, &err);
    if (!st) {
        fuzz_dataset_check(&tr);
        fuzz_dataset_check(&va);
        st = dataset_normalize(&tr, &va, DATASET_NORM_ZNORM_DATASET, &err);
        fuzz_check_error(st, &err);
    }
    dataset_free(&tr);
    dataset_free(&va);
    st = dataset_normalize(&p->train, &p->test, DATASET_NORM_ZNORM_SAMPLE, &err);
    fuzz_check_error(st, &err);
    if (p->train.n > 0) {
        int64_t idx[3] = {p->train.n - 1, 0, p->train.n / 2};
        dataset sel;
        memset(&sel, 0, sizeof sel);
        st = dataset_select(&p->train, idx, 3, &sel, &err);
        fuzz_check_error(st, &err);
        if (!st)
            fuzz_dataset_check(&sel);
        dataset_free(&sel);
    }
}

#endif

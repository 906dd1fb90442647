/* libFuzzer target: the IDX reader (dataset_load_idx), gzip or plain.  The
 * input is TRAIN_IMAGES #SPLIT# TRAIN_LABELS [#SPLIT# TEST_IMAGES #SPLIT#
 * TEST_LABELS]; with k < 4 parts, file i gets part i mod k (so two parts are
 * images and labels of both splits). */
#include "fuzz/fuzz_dataset.h"

static fuzz_memfile files[4];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const char *const names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    for (int i = 0; i < 4; i++)
        fuzz_memfile_open(&files[i], names[i]);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_part parts[4];
    int k = fuzz_split(data, size, parts, 4);
    for (int i = 0; i < 4; i++)
        fuzz_memfile_set(&files[i], parts[i % k].p, parts[i % k].n);
    dataset_load_options o = fuzz_dataset_options(size);
    dataset_pair p;
    ssdc_error err = {0};
    ssdc_status st = dataset_load_idx(files[0].path, files[1].path, files[2].path, files[3].path,
                                      &o, &p, &err);
    fuzz_check_error(st, &err);
    if (!st)
        fuzz_dataset_use(&p);
    dataset_pair_free(&p);
    return 0;
}

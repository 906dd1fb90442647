/* libFuzzer target: the UCR TSV/CSV reader (dataset_load_tsv).  The input
 * is TRAIN #SPLIT# TEST; without a marker the same bytes are both files. */
#include "fuzz/fuzz_dataset.h"

static fuzz_memfile train_file, test_file;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_memfile_open(&train_file, "FUZZ_TRAIN.tsv");
    fuzz_memfile_open(&test_file, "FUZZ_TEST.tsv");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_part parts[2];
    int k = fuzz_split(data, size, parts, 2);
    fuzz_memfile_set(&train_file, parts[0].p, parts[0].n);
    fuzz_memfile_set(&test_file, parts[k - 1].p, parts[k - 1].n);
    dataset_load_options o = fuzz_dataset_options(size);
    dataset_pair p;
    ssdc_error err = {0};
    ssdc_status st = dataset_load_tsv(train_file.path, test_file.path, &o, &p, &err);
    fuzz_check_error(st, &err);
    if (!st)
        fuzz_dataset_use(&p);
    dataset_pair_free(&p);
    return 0;
}

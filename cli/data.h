/* Data-set flags shared by train, eval (and later distill, pipeline). */
#ifndef SSDC_CLI_DATA_H
#define SSDC_CLI_DATA_H

#include "frontend/dataset.h"
#include "runtime/train.h"

typedef struct {
    const char *spec;            /* --data */
    dataset_load_options load;   /* --nan */
    dataset_norm_mode norm;      /* --normalize */
} cli_data_options;

/* Consumes argv[*i] (and its value) if it is a data flag; returns 1 if
 * consumed, 0 if not a data flag, -1 on a bad value (message printed). */
int cli_data_parse_flag(cli_data_options *o, const char *cmd, int argc, char **argv, int *i);
/* Loads and normalises the data set. */
ssdc_status cli_data_load(const cli_data_options *o, dataset_pair *out, ssdc_error *err);
/* A train_data view of a dataset. */
train_data cli_data_view(const dataset *d, int n_classes);
/* One line: "ECG200 (tsv): 100 train / 100 test, 2 classes, samples [1,96]" */
void cli_data_print_summary(const dataset_pair *p);

#define CLI_DATA_HELP                                                                            \
    "  --data SPEC             a UCR TSV pair (folder or prefix), UEA .ts pair, IDX (gzip)\n"    \
    "                          folder, NPY pairs, or 'cbf' (built-in Cylinder-Bell-Funnel)\n"    \
    "  --normalize MODE        none | znorm-sample | znorm-dataset (default none)\n"            \
    "  --nan refuse|zero       missing values: an error naming file:line (default), or 0\n"

#endif

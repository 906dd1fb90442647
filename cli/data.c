#include "cli/data.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int cli_data_parse_flag(cli_data_options *o, const char *cmd, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    bool has = *i + 1 < argc;
    if (!strcmp(a, "--data") && has) {
        o->spec = argv[++*i];
        return 1;
    }
    if (!strcmp(a, "--normalize") && has) {
        ssdc_error err = {0};
        if (dataset_parse_norm_mode(argv[++*i], &o->norm, &err)) {
            cli_usage_error(cmd, "%s", err.msg);
            return -1;
        }
        return 1;
    }
    if (!strcmp(a, "--nan") && has) {
        const char *v = argv[++*i];
        if (!strcmp(v, "zero"))
            o->load.nan_mode = DATASET_NAN_ZERO;
        else if (!strcmp(v, "refuse"))
            o->load.nan_mode = DATASET_NAN_REFUSE;
        else {
            cli_usage_error(cmd, "--nan expects refuse or zero, got '%s'", v);
            return -1;
        }
        return 1;
    }
    return 0;
}

ssdc_status cli_data_load(const cli_data_options *o, dataset_pair *out, ssdc_error *err)
{
    ssdc_status st = dataset_load(o->spec, &o->load, out, err);
    if (st)
        return st;
    st = dataset_normalize(&out->train, &out->test, o->norm, err);
    if (st)
        dataset_pair_free(out);
    return st;
}

train_data cli_data_view(const dataset *d, int n_classes)
{
    train_data v = {.x = d->x, .y = d->y, .n = d->n, .rank = d->rank, .n_classes = n_classes};
    for (int i = 0; i < d->rank; i++)
        v.dims[i] = d->dims[i];
    return v;
}

void cli_data_print_summary(const dataset_pair *p)
{
    const dataset *d = &p->train;
    printf("data: %s (%s): %lld train / %lld test samples, %d classes, sample shape [", d->name,
           d->format, (long long)d->n, (long long)p->test.n, d->n_classes);
    for (int i = 0; i < d->rank; i++)
        printf("%s%lld", i ? "," : "", (long long)d->dims[i]);
    printf("]\n");
}

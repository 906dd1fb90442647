/* ssdc run MODEL.onnx --input NAME=FILE.npy ... [--output-dir DIR] */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "frontend/npy.h"
#include "frontend/onnx_import.h"
#include "passes/inference.h"
#include "runtime/exec.h"

static const char run_usage[] =
    "usage: ssdc run MODEL.onnx --input NAME=FILE.npy ... [options]\n"
    "\n"
    "Runs the model on NumPy .npy inputs (any batch size when the batch dimension is\n"
    "symbolic).  A model with one input also takes '--input FILE.npy'.\n"
    "\n"
    "options:\n"
    "  --input NAME=FILE.npy   value of graph input NAME (repeat for each input)\n"
    "  --output-dir DIR        write each output as DIR/OUTPUT_NAME.npy (DIR is created);\n"
    "                          without it, print each output's shape, first values and\n"
    "                          the argmax of each row\n"
    "  --expect NAME=FILE.npy  compare output NAME with a reference; exit 1 if any element\n"
    "                          differs by more than ATOL + RTOL*|reference|\n"
    "  --atol X, --rtol X      tolerances for --expect (default 1e-4 each)\n"
    "  --seed N                seed for Dropout nodes in training mode (default 0)\n"
    "  --memory-limit BYTES    refuse plans needing more memory (default 8 GiB)\n"
    "  --qdq-simulate          run a quantized (QDQ) model as it is, in float, instead of\n"
    "                          fused into integer kernels (the reference; docs/int8.md)\n";

static void print_summary(const char *name, const graph_value *v)
{
    graph_shape s;
    graph_shape_init(&s, v->rank, v->dims);
    char shape[200];
    graph_shape_format(&s, shape, sizeof shape);
    printf("%s: %s %s\n", name, graph_dtype_name(v->dtype), shape);
    int64_t show = v->numel < 8 ? v->numel : 8;
    printf("  first values:");
    for (int64_t i = 0; i < show; i++) {
        if (v->dtype == GRAPH_DT_FLOAT || v->dtype == GRAPH_DT_DOUBLE)
            printf(" %.6g", graph_value_get_f64(v, i));
        else
            printf(" %lld", (long long)graph_value_get_i64(v, i));
    }
    printf("%s\n", v->numel > show ? " ..." : "");
    if (v->rank >= 1 && v->numel > 0 && v->dims[v->rank - 1] > 0 &&
        (v->dtype == GRAPH_DT_FLOAT || v->dtype == GRAPH_DT_DOUBLE)) {
        int64_t cols = v->dims[v->rank - 1], rows = v->numel / cols;
        int64_t shown = rows < 32 ? rows : 32;
        printf("  argmax per row:");
        for (int64_t r = 0; r < shown; r++) {
            int64_t best = 0;
            for (int64_t c = 1; c < cols; c++)
                if (graph_value_get_f64(v, r * cols + c) > graph_value_get_f64(v, r * cols + best))
                    best = c;
            printf(" %lld", (long long)best);
        }
        printf("%s\n", rows > shown ? " ..." : "");
    }
}

/* Max |got - want| and whether every element is within atol + rtol*|want|. */
static bool compare_output(const char *name, const graph_value *got, const graph_value *want,
                           double atol, double rtol)
{
    bool same_shape = got->rank == want->rank;
    for (int d = 0; same_shape && d < got->rank; d++)
        same_shape = got->dims[d] == want->dims[d];
    if (!same_shape || got->numel != want->numel) {
        graph_shape a, b;
        char sa[160], sb[160];
        graph_shape_init(&a, got->rank, got->dims);
        graph_shape_init(&b, want->rank, want->dims);
        graph_shape_format(&a, sa, sizeof sa);
        graph_shape_format(&b, sb, sizeof sb);
        printf("%s: shape %s, reference has %s: MISMATCH\n", name, sa, sb);
        return false;
    }
    double max_diff = 0.0;
    int64_t bad = 0, first_bad = -1;
    for (int64_t i = 0; i < got->numel; i++) {
        double a = graph_value_get_f64(got, i), b = graph_value_get_f64(want, i);
        double diff = fabs(a - b);
        if (isnan(a) && isnan(b))
            continue;
        if (diff > max_diff || isnan(diff))
            max_diff = diff;
        if (!(diff <= atol + rtol * fabs(b))) {
            if (first_bad < 0)
                first_bad = i;
            bad++;
        }
    }
    if (bad) {
        printf("%s: max abs diff %.3g, %lld of %lld elements out of tolerance (first at %lld): "
               "MISMATCH\n",
               name, max_diff, (long long)bad, (long long)got->numel, (long long)first_bad);
        return false;
    }
    printf("%s: max abs diff %.3g over %lld elements: ok\n", name, max_diff,
           (long long)got->numel);
    return true;
}

/* mkdir -p */
static int make_dirs(const char *path)
{
    char buf[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != 0)
            continue;
        char c = buf[i];
        buf[i] = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        buf[i] = c;
    }
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

/* Output names become file names: refuse path separators and dot names. */
static bool safe_file_name(const char *s)
{
    if (!s[0] || !strcmp(s, ".") || !strcmp(s, ".."))
        return false;
    return strchr(s, '/') == NULL;
}

int cli_run(int argc, char **argv)
{
    const char *path = NULL, *out_dir = NULL;
    const char **in_spec = calloc((size_t)argc, sizeof *in_spec);
    const char **expect_spec = calloc((size_t)argc, sizeof *expect_spec);
    int n_spec = 0, n_expect = 0;
    inference_options iopt = {0};
    double atol = 1e-4, rtol = 1e-4;
    rt_options opt = {0};
    int rc = 0;
    if (!in_spec || !expect_spec) {
        free(in_spec);
        free(expect_spec);
        return cli_errorf("out of memory");
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(run_usage, stdout);
            goto usage_done;
        }
        bool has_val = i + 1 < argc;
        if (!strcmp(a, "--input") && has_val) {
            in_spec[n_spec++] = argv[++i];
        } else if (!strcmp(a, "--expect") && has_val) {
            expect_spec[n_expect++] = argv[++i];
        } else if ((!strcmp(a, "--atol") || !strcmp(a, "--rtol")) && has_val) {
            char *end;
            double v = strtod(argv[++i], &end);
            if (*end || !(v >= 0)) {
                rc = cli_usage_error("run", "%s expects a non-negative number", a);
                goto usage_done;
            }
            *(a[2] == 'a' ? &atol : &rtol) = v;
        } else if (!strcmp(a, "--output-dir") && has_val) {
            out_dir = argv[++i];
        } else if (!strcmp(a, "--seed") && has_val) {
            char *end;
            opt.seed = strtoull(argv[++i], &end, 10);
            if (*end) {
                rc = cli_usage_error("run", "--seed expects a number, got '%s'", argv[i]);
                goto usage_done;
            }
        } else if (!strcmp(a, "--qdq-simulate")) {
            iopt.qdq_simulate = true;
        } else if (!strcmp(a, "--memory-limit") && has_val) {
            char *end;
            opt.memory_limit = strtoll(argv[++i], &end, 10);
            if (*end || opt.memory_limit <= 0) {
                rc = cli_usage_error("run", "--memory-limit expects a positive byte count");
                goto usage_done;
            }
        } else if (a[0] == '-' && a[1]) {
            rc = cli_usage_error("run", "unknown option or missing value: '%s'", a);
            goto usage_done;
        } else if (!path) {
            path = a;
        } else {
            rc = cli_usage_error("run", "more than one model given ('%s')", a);
            goto usage_done;
        }
    }
    if (!path) {
        rc = cli_usage_error("run", "no model given");
        goto usage_done;
    }
    ssdc_error err = {0};
    graph *g = NULL;
    if (onnx_import_file(path, &g, &err)) {
        rc = cli_error(&err);
        goto usage_done;
    }
    /* Dropout/Identity removed, BatchNormalization folded into Conv/Gemm */
    inference_stats ist;
    if (passes_optimize_inference_opt(g, &iopt, &ist, &err)) {
        ssdc_error_prefix(&err, "%s", path);
        rc = cli_error(&err);
        graph_free(g);
        goto usage_done;
    }
    graph_value *inputs = calloc((size_t)(g->n_inputs ? g->n_inputs : 1), sizeof *inputs);
    rt_session *sess = NULL;
    if (!inputs) {
        rc = cli_errorf("out of memory");
        goto done;
    }
    for (int s = 0; s < n_spec; s++) {
        const char *spec = in_spec[s];
        const char *eq = strchr(spec, '=');
        int which = -1;
        const char *file = spec;
        if (eq) {
            size_t len = (size_t)(eq - spec);
            for (int i = 0; i < g->n_inputs; i++) {
                const char *nm = g->tensors[g->inputs[i]].name;
                if (strlen(nm) == len && !strncmp(nm, spec, len))
                    which = i;
            }
            if (which < 0) {
                rc = cli_errorf("%s: the model has no input named '%.*s'", path, (int)len, spec);
                goto done;
            }
            file = eq + 1;
        } else if (g->n_inputs == 1) {
            which = 0;
        } else {
            rc = cli_usage_error("run", "the model has %d inputs: use --input NAME=FILE.npy",
                                 g->n_inputs);
            goto done;
        }
        if (inputs[which].data) {
            rc = cli_usage_error("run", "input '%s' given twice", g->tensors[g->inputs[which]].name);
            goto done;
        }
        if (npy_read_file(file, &inputs[which], &err)) {
            rc = cli_error(&err);
            goto done;
        }
    }
    for (int i = 0; i < g->n_inputs; i++) {
        if (!inputs[i].data) {
            rc = cli_errorf("%s: no value for input '%s' (use --input %s=FILE.npy)", path,
                            g->tensors[g->inputs[i]].name, g->tensors[g->inputs[i]].name);
            goto done;
        }
    }
    if (rt_session_create(g, &opt, &sess, &err) || rt_session_run(sess, inputs, &err)) {
        ssdc_error_prefix(&err, "%s", path);
        rc = cli_error(&err);
        goto done;
    }
    if (out_dir && make_dirs(out_dir) != 0) {
        rc = cli_errorf("cannot create output folder '%s': %s", out_dir, strerror(errno));
        goto done;
    }
    for (int i = 0; i < g->n_outputs; i++) {
        const graph_value *v = rt_session_output(sess, i);
        const char *name = g->tensors[g->outputs[i]].name;
        if (!out_dir) {
            print_summary(name, v);
            continue;
        }
        if (!safe_file_name(name)) {
            rc = cli_errorf("%s: output name '%s' cannot be used as a file name", path, name);
            goto done;
        }
        size_t len = strlen(out_dir) + strlen(name) + 8;
        char *file = malloc(len);
        if (!file) {
            rc = cli_errorf("out of memory");
            goto done;
        }
        snprintf(file, len, "%s/%s.npy", out_dir, name);
        ssdc_status st = npy_write_file(file, v, &err);
        if (!st)
            printf("wrote %s\n", file);
        free(file);
        if (st) {
            rc = cli_error(&err);
            goto done;
        }
    }
    for (int e = 0; e < n_expect; e++) {
        const char *spec = expect_spec[e];
        const char *eq = strchr(spec, '=');
        int which = -1;
        if (eq) {
            size_t len = (size_t)(eq - spec);
            for (int i = 0; i < g->n_outputs; i++) {
                const char *nm = g->tensors[g->outputs[i]].name;
                if (strlen(nm) == len && !strncmp(nm, spec, len))
                    which = i;
            }
            if (which < 0) {
                rc = cli_errorf("%s: the model has no output named '%.*s'", path, (int)len, spec);
                goto done;
            }
        } else if (g->n_outputs == 1) {
            which = 0;
        } else {
            rc = cli_usage_error("run", "the model has %d outputs: use --expect NAME=FILE.npy",
                                 g->n_outputs);
            goto done;
        }
        graph_value want = {0};
        if (npy_read_file(eq ? eq + 1 : spec, &want, &err)) {
            rc = cli_error(&err);
            goto done;
        }
        bool ok = compare_output(g->tensors[g->outputs[which]].name, rt_session_output(sess, which),
                                 &want, atol, rtol);
        free(want.data);
        if (!ok)
            rc = 1;
    }
done:
    rt_session_free(sess);
    if (inputs)
        for (int i = 0; i < g->n_inputs; i++)
            free(inputs[i].data);
    free(inputs);
    graph_free(g);
usage_done:
    free(in_spec);
    free(expect_spec);
    return rc;
}

/* ssdc pipeline's last step: generate the student's C, compile, run, compare. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/deploy.h"
#include "codegen/codegen.h"
#include "frontend/onnx_import.h"
#include "graph/fileio.h"

extern char **environ;

#define DEPLOY_MAX_ARGS 32

/* Runs argv (PATH lookup) with stdin from in_path (NULL: /dev/null) and
 * stdout + stderr into out_path.  Returns the exit status, 128 + signal when
 * killed, or -1 with *spawn_errno set when it could not be started. */
static int run_program(char *const argv[], const char *in_path, const char *out_path,
                       int *spawn_errno)
{
    posix_spawn_file_actions_t fa;
    *spawn_errno = 0;
    if (posix_spawn_file_actions_init(&fa)) {
        *spawn_errno = ENOMEM;
        return -1;
    }
    posix_spawn_file_actions_addopen(&fa, 0, in_path ? in_path : "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    int e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e) {
        *spawn_errno = e;
        return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            *spawn_errno = errno;
            return -1;
        }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

/* The last lines of a log file into buf (for an error message). */
static void log_tail(const char *path, char *buf, size_t size)
{
    buf[0] = 0;
    void *data = NULL;
    size_t len = 0;
    ssdc_error e = {0};
    if (ssdc_read_file(path, 1 << 20, &data, &len, &e))
        return;
    const char *s = data;
    size_t start = len > size - 1 ? len - (size - 1) : 0;
    memcpy(buf, s + start, len - start);
    buf[len - start] = 0;
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = 0;
    free(data);
}

/* The runtime's outputs for every test sample: n x k floats. */
static ssdc_status runtime_outputs(const char *model_path, const train_data *d, float **out,
                                   int64_t *k_out, ssdc_error *err)
{
    graph *g = NULL;
    ssdc_status st = onnx_import_file(model_path, &g, err);
    if (!st)
        st = train_predict(g, d, 64, out, k_out, err);
    graph_free(g);
    return st;
}

/* Splits $CC (or "cc") at blanks into argv; returns the count. */
static int compiler_argv(char *cc, size_t size, char **argv)
{
    const char *env = getenv("CC");
    snprintf(cc, size, "%s", env && *env ? env : "cc");
    int n = 0;
    for (char *t = strtok(cc, " \t"); t && n < DEPLOY_MAX_ARGS - 12; t = strtok(NULL, " \t"))
        argv[n++] = t;
    return n;
}

ssdc_status deploy_check_model(const char *model_path, const char *dir, const char *name,
                               const train_data *test, deploy_check *r, ssdc_error *err)
{
    memset(r, 0, sizeof *r);
    r->runtime_accuracy = NAN;
    codegen_options opt = {.name = name, .batch = 1, .emit_main = true};
    codegen_result res;
    ssdc_status st = cli_codegen_file(model_path, &opt, &res, NULL, err);
    if (!st)
        st = codegen_write(dir, name, &res, err);
    r->arena_bytes = res.arena_bytes;
    r->weight_bytes = res.weight_bytes;
    codegen_result_free(&res);
    if (st)
        return st;

    /* the test split, as the generated program reads it (--raw float32) */
    const int64_t per = train_data_sample_numel(test);
    snprintf(r->input, sizeof r->input, "%s/%s-test.f32", dir, name);
    if ((st = ssdc_write_file_atomic(r->input, test->x, (size_t)(test->n * per) * sizeof(float),
                                     err)))
        return st;

    /* compile */
    char cc[1024], src[4200], main_src[4200], logp[4200], tail[600];
    char *argv[DEPLOY_MAX_ARGS];
    int n = compiler_argv(cc, sizeof cc, argv);
    snprintf(r->compiler, sizeof r->compiler, "%s", argv[0]);
    snprintf(r->exe, sizeof r->exe, "%s/%s", dir, name);
    snprintf(src, sizeof src, "%s/%s.c", dir, name);
    snprintf(main_src, sizeof main_src, "%s/%s_main.c", dir, name);
    snprintf(logp, sizeof logp, "%s/%s-build.log", dir, name);
    char std[] = "-std=c99", opt2[] = "-O2", o[] = "-o", lm[] = "-lm";
    argv[n++] = std;
    argv[n++] = opt2;
    argv[n++] = o;
    argv[n++] = r->exe;
    argv[n++] = src;
    argv[n++] = main_src;
    argv[n++] = lm;
    argv[n] = NULL;
    int e, rc = run_program(argv, NULL, logp, &e);
    if (rc < 0 && (e == ENOENT || e == EACCES)) {
        r->skipped = true;
        return SSDC_OK;
    }
    if (rc != 0) {
        log_tail(logp, tail, sizeof tail);
        return ssdc_fail(err, SSDC_ERR_IO, "compiling %s with %s failed (%s; log %s)%s%s", src,
                         r->compiler, rc < 0 ? strerror(e) : "non-zero exit", logp,
                         tail[0] ? ":\n" : "", tail);
    }

    /* run it on every test sample */
    char outp[4200];
    snprintf(outp, sizeof outp, "%s/%s-test-outputs.txt", dir, name);
    char raw[] = "--raw";
    char *rargv[] = {r->exe, raw, r->input, NULL};
    rc = run_program(rargv, NULL, outp, &e);
    if (rc != 0) {
        log_tail(outp, tail, sizeof tail);
        return ssdc_fail(err, SSDC_ERR_IO, "running %s --raw %s failed (%s; output in %s)%s%s",
                         r->exe, r->input, rc < 0 ? strerror(e) : "non-zero exit", outp,
                         tail[0] ? ":\n" : "", tail);
    }

    /* the runtime on the same file, and the comparison */
    float *ref = NULL;
    int64_t k = 0;
    if ((st = runtime_outputs(model_path, test, &ref, &k, err)))
        return st;
    void *text = NULL;
    size_t len = 0;
    const int C = test->n_classes;
    float *got = malloc((size_t)(test->n * k > 0 ? test->n * k : 1) * sizeof *got);
    int64_t *pred = NULL; /* the generated C's classes, then the runtime's */
    eval_result rt = {0};
    if (!got) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (k != C) {
        st = ssdc_fail(err, SSDC_ERR_SHAPE, "%s: %lld outputs per sample for %d classes",
                       model_path, (long long)k, C);
        goto done;
    }
    if ((st = ssdc_read_file(outp, (size_t)1 << 30, &text, &len, err)))
        goto done;
    char *nt = realloc(text, len + 1); /* strtof needs the NUL */
    if (!nt) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        goto done;
    }
    text = nt;
    nt[len] = 0;
    /* the program prints floats as %.9g: they read back exactly */
    const char *p = text;
    for (int64_t i = 0; i < test->n * k; i++) {
        char *end;
        got[i] = strtof(p, &end);
        if (end == p) {
            st = ssdc_fail(err, SSDC_ERR_FORMAT,
                           "%s: expected %lld numbers per line for %lld samples, line %lld "
                           "ends early",
                           outp, (long long)k, (long long)test->n, (long long)(i / k) + 1);
            goto done;
        }
        p = end;
        double dlt = fabs((double)got[i] - (double)ref[i]);
        if (!(dlt <= r->max_abs_diff))
            r->max_abs_diff = dlt; /* NaN sticks */
    }
    pred = malloc((size_t)(2 * test->n > 0 ? 2 * test->n : 1) * sizeof *pred);
    if (!pred) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((st = train_score_logits(got, test, pred, &r->c, err)) ||
        (st = train_score_logits(ref, test, pred + test->n, &rt, err)))
        goto done;
    r->runtime_accuracy = rt.accuracy;
    for (int64_t i = 0; i < test->n; i++)
        r->agree += pred[i] == pred[test->n + i];
done:
    eval_result_free(&rt);
    free(pred);
    free(text);
    free(got);
    free(ref);
    return st;
}

void deploy_check_free(deploy_check *r)
{
    eval_result_free(&r->c);
}

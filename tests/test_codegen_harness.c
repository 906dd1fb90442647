#include "test_codegen_harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "passes/inference.h"
#include "runtime/exec.h"

bool cgt_mkdtemp(char *dir, size_t size)
{
    if (size < 32)
        return false;
    snprintf(dir, size, "/tmp/ssdc_cg_XXXXXX");
    return mkdtemp(dir) != NULL;
}

void cgt_rmtree(const char *dir)
{
    if (strncmp(dir, "/tmp/ssdc_cg_", 13) != 0 || strchr(dir, '\''))
        return;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        /* best effort */
    }
}

int cgt_sh(const char *cmd, char *log, size_t log_size)
{
    char tmpl[] = "/tmp/ssdc_cg_log_XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return -1;
    close(fd);
    size_t len = strlen(cmd) + strlen(tmpl) + 32;
    char *full = malloc(len);
    if (!full)
        return -1;
    snprintf(full, len, "(%s) >'%s' 2>&1", cmd, tmpl);
    int rc = system(full);
    free(full);
    if (log && log_size) {
        FILE *f = fopen(tmpl, "r");
        size_t n = f ? fread(log, 1, log_size - 1, f) : 0;
        log[n] = 0;
        if (f)
            fclose(f);
    }
    unlink(tmpl);
    if (rc == -1 || !WIFEXITED(rc))
        return -1;
    return WEXITSTATUS(rc);
}

bool cgt_have(const char *prog)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "command -v %s", prog);
    return cgt_sh(cmd, NULL, 0) == 0;
}

int cgt_compile(const char *dir, const char *name, const char *cc, const char *flags,
                const char *exe, char *log, size_t log_size)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s -I'%s' '%s/%s.c' '%s/%s_main.c' -o '%s' -lm", cc, flags, dir,
             dir, name, dir, name, exe);
    return cgt_sh(cmd, log, log_size);
}

int cgt_run(const char *wrapper, const char *exe, const char *dir, const void *in,
            size_t in_bytes, double **out, size_t *n_out, char *log, size_t log_size)
{
    char inpath[600], outpath[600], errpath[600];
    snprintf(inpath, sizeof inpath, "%s/in.bin", dir);
    snprintf(outpath, sizeof outpath, "%s/out.txt", dir);
    snprintf(errpath, sizeof errpath, "%s/err.txt", dir);
    FILE *f = fopen(inpath, "wb");
    if (!f)
        return -1;
    if (in_bytes && fwrite(in, 1, in_bytes, f) != in_bytes) {
        fclose(f);
        return -1;
    }
    fclose(f);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s '%s' --raw '%s' >'%s' 2>'%s'", wrapper ? wrapper : "", exe,
             inpath, outpath, errpath);
    int rc = system(cmd);
    if (log && log_size) {
        FILE *e = fopen(errpath, "r");
        size_t n = e ? fread(log, 1, log_size - 1, e) : 0;
        log[n] = 0;
        if (e)
            fclose(e);
    }
    *out = NULL;
    *n_out = 0;
    FILE *o = fopen(outpath, "r");
    if (o) {
        size_t cap = 1024, cnt = 0;
        double *v = malloc(cap * sizeof *v);
        char tok[128];
        while (v && fscanf(o, "%127s", tok) == 1) {
            if (cnt == cap) {
                cap *= 2;
                double *nv = realloc(v, cap * sizeof *v);
                if (!nv)
                    break;
                v = nv;
            }
            v[cnt++] = strtod(tok, NULL);
        }
        fclose(o);
        *out = v;
        *n_out = cnt;
    }
    if (rc == -1 || !WIFEXITED(rc))
        return -1;
    return WEXITSTATUS(rc);
}

bool cgt_close(const double *a, const double *b, size_t n, double atol, double rtol,
               double *max_diff, size_t *worst)
{
    bool ok = true;
    *max_diff = 0;
    if (worst)
        *worst = 0;
    for (size_t i = 0; i < n; i++) {
        double x = a[i], y = b[i];
        if (isnan(x) && isnan(y))
            continue;
        if (isinf(x) && isinf(y) && (x > 0) == (y > 0))
            continue;
        double d = fabs(x - y);
        if (!(d <= atol + rtol * fabs(y)))
            ok = false;
        if (!(d <= *max_diff)) {
            *max_diff = d;
            if (worst)
                *worst = i;
        }
    }
    return ok;
}

ssdc_status cgt_reference(const graph *g0, const graph_value *inputs, double **out, size_t *n_out,
                          ssdc_error *err)
{
    *out = NULL;
    *n_out = 0;
    graph *g = graph_clone(g0);
    if (!g)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    rt_session *s = NULL;
    ssdc_status st = rt_session_create(g, NULL, &s, err);
    if (!st)
        st = rt_session_run(s, inputs, err);
    if (!st) {
        size_t total = 0;
        for (int o = 0; o < g->n_outputs; o++)
            total += (size_t)rt_session_output(s, o)->numel;
        double *v = malloc((total ? total : 1) * sizeof *v);
        if (!v) {
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        } else {
            size_t k = 0;
            for (int o = 0; o < g->n_outputs; o++) {
                const graph_value *r = rt_session_output(s, o);
                for (int64_t i = 0; i < r->numel; i++)
                    v[k++] = graph_value_get_f64(r, i);
            }
            *out = v;
            *n_out = total;
        }
    }
    rt_session_free(s);
    graph_free(g);
    return st;
}

/* Replays every input under fuzz/regressions/<target>/ through the same
 * harness code as the libFuzzer target (fuzz/<target>.c, compiled here
 * without libFuzzer and renamed, see tests/meson.build), so each crash,
 * leak, hang or resource bomb the fuzzers found stays fixed in the normal
 * (and the ASan/UBSan) test suite.  A harness aborts on a broken contract
 * (a failure without a message, an inconsistent result); the sanitizer
 * build adds memory errors, leaks and undefined behaviour.
 *
 * In a build without AddressSanitizer the address space is capped (1 GiB
 * above what the process has mapped at the start of each replay): the
 * regressions are small files, and one that makes the library reserve
 * gigabytes (the out-of-memory findings) fails with ENOMEM -> SSDC_ERR_NOMEM
 * here, which counts as a failure.  Each input also has a time limit. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/onnx_import.h"
#include "passes/inference.h"
#include "runtime/exec.h"

#if defined(__SANITIZE_ADDRESS__)
#define REPLAY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REPLAY_ASAN 1
#endif
#endif

typedef int (*replay_fn)(const uint8_t *data, size_t size);
typedef int (*replay_init_fn)(int *argc, char ***argv);

/* The harnesses, renamed by tests/meson.build (-DLLVMFuzzerTestOneInput=...). */
int fuzz_onnx_one(const uint8_t *data, size_t size);
int fuzz_onnx_init(int *argc, char ***argv);
int fuzz_npy_one(const uint8_t *data, size_t size);
int fuzz_tsv_one(const uint8_t *data, size_t size);
int fuzz_tsv_init(int *argc, char ***argv);
int fuzz_ts_one(const uint8_t *data, size_t size);
int fuzz_ts_init(int *argc, char ***argv);
int fuzz_idx_one(const uint8_t *data, size_t size);
int fuzz_idx_init(int *argc, char ***argv);
int fuzz_tensorpb_one(const uint8_t *data, size_t size);
int fuzz_tensorpb_init(int *argc, char ***argv);
int fuzz_run_one(const uint8_t *data, size_t size);
int fuzz_run_init(int *argc, char ***argv);

#define REPLAY_SECONDS 60

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (n < cap)
            break;
        char *nb = realloc(buf, cap *= 2);
        if (!nb) {
            free(buf);
            buf = NULL;
        }
        buf = nb;
    }
    fclose(f);
    *len = n;
    return buf;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "fuzz regression: time limit exceeded (a hang)\n";
    ssize_t k = write(2, msg, sizeof msg - 1);
    (void)k;
    _exit(3);
}

/* Caps the address space at what is mapped now plus extra bytes. */
static void cap_address_space(size_t extra)
{
#ifndef REPLAY_ASAN
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f) {
        if (fscanf(f, "%lu", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    if (!pages)
        return;
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + extra;
    setrlimit(RLIMIT_AS, &rl);
#else
    (void)extra;
#endif
}

/* Replays fuzz/regressions/<target>/ (every regular file); returns how many. */
static int replay_dir(const char *target, replay_init_fn init, replay_fn one)
{
    const char *root = getenv("SSDC_SOURCE_ROOT");
    cr_assert(root, "SSDC_SOURCE_ROOT is not set (run through meson test)");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/fuzz/regressions/%s", root, target);
    if (init) {
        int argc = 1;
        char *args[] = {(char *)target, NULL};
        char **argv = args;
        init(&argc, &argv);
    }
    DIR *d = opendir(dir);
    if (!d) {
        cr_assert(errno == ENOENT, "%s: %s", dir, strerror(errno));
        return 0; /* no regression inputs for this target (yet) */
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        names = realloc(names, (n + 1) * sizeof *names);
        cr_assert(names);
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    signal(SIGALRM, on_alarm);
    cap_address_space((size_t)1 << 30);
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat sb;
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        size_t len = 0;
        char *data = read_all(path, &len);
        cr_assert(data, "cannot read %s", path);
        /* named on stderr first: a crash below then shows which input it was */
        fprintf(stderr, "replay %s/%s (%zu bytes)\n", target, names[i], len);
        alarm(REPLAY_SECONDS);
        one((const uint8_t *)data, len);
        alarm(0);
        free(data);
        count++;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return count;
}

/* A harness aborts on a broken contract; built with SSDC_FUZZ_REPLAY it also
 * aborts when a library call returns SSDC_ERR_NOMEM (fuzz/fuzz_util.h). */
Test(fuzz_regressions, onnx) { replay_dir("fuzz_onnx", fuzz_onnx_init, fuzz_onnx_one); }
Test(fuzz_regressions, npy) { replay_dir("fuzz_npy", NULL, fuzz_npy_one); }
Test(fuzz_regressions, tsv) { replay_dir("fuzz_tsv", fuzz_tsv_init, fuzz_tsv_one); }
Test(fuzz_regressions, ts) { replay_dir("fuzz_ts", fuzz_ts_init, fuzz_ts_one); }
Test(fuzz_regressions, idx) { replay_dir("fuzz_idx", fuzz_idx_init, fuzz_idx_one); }
Test(fuzz_regressions, tensorpb) { replay_dir("fuzz_tensorpb", fuzz_tensorpb_init, fuzz_tensorpb_one); }
Test(fuzz_regressions, run) { replay_dir("fuzz_run", fuzz_run_init, fuzz_run_one); }

/* Work, not just memory: MaxPool with Indices, kernel_shape [46340, 46340] and
 * pads that give a 1x1 output looped over all 2.1e9 taps per plane (1.7 s per
 * plane, days for a [1, 100000, 1, 1] input) although only one tap reads the
 * input.  fuzz_run does not run it (its FLOP estimate is above the harness's
 * cap), so it is run here, and must finish at once. */
Test(fuzz_regressions, maxpool_huge_kernel_is_not_a_time_bomb)
{
    const char *root = getenv("SSDC_SOURCE_ROOT");
    cr_assert(root);
    char path[4096];
    snprintf(path, sizeof path, "%s/fuzz/regressions/fuzz_run/timebomb-maxpool-indices-huge-kernel.onnx",
             root);
    ssdc_error err = {0};
    graph *g = NULL;
    cr_assert_eq(onnx_import_file(path, &g, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(passes_optimize_inference(g, NULL, &err), SSDC_OK, "%s", err.msg);
    float x[4] = {1, 2, 3, 4};
    graph_value in = {0};
    int64_t dims[4] = {1, 4, 1, 1};
    graph_value_set_shape(&in, GRAPH_DT_FLOAT, 4, dims);
    in.data = x;
    rt_session *s = NULL;
    signal(SIGALRM, on_alarm);
    alarm(20); /* the fixed kernel takes microseconds */
    cr_assert_eq(rt_session_create(g, NULL, &s, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(rt_session_run(s, &in, &err), SSDC_OK, "%s", err.msg);
    alarm(0);
    const graph_value *y = rt_session_output(s, 0), *ind = rt_session_output(s, 1);
    cr_assert_eq(y->numel, 4);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(((const float *)y->data)[i], x[i]);
        cr_assert_eq(((const int64_t *)ind->data)[i], i); /* the only element of plane i */
    }
    rt_session_free(s);
    graph_free(g);
}

/* Helpers shared by the libFuzzer targets (fuzz/README in docs/fuzzing.md).
 *
 * The data set loaders take paths, so a target writes the fuzz input into
 * anonymous in-memory files (memfd_create) and passes "/proc/self/fd/N":
 * nothing touches the disk and nothing is left behind.  Inputs that feed
 * several files (train/test, images/labels) are split at FUZZ_SPLIT. */
#ifndef SSDC_FUZZ_UTIL_H
#define SSDC_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "graph/status.h"

#define FUZZ_SPLIT "#SPLIT#"
#define FUZZ_SPLIT_LEN 7
#define FUZZ_MAX_PARTS 4

typedef struct {
    const uint8_t *p;
    size_t n;
} fuzz_part;

/* Splits data at each FUZZ_SPLIT into at most max parts (the last part keeps
 * any further markers).  Returns the number of parts (>= 1). */
static inline int fuzz_split(const uint8_t *data, size_t size, fuzz_part *parts, int max)
{
    int k = 0;
    size_t start = 0;
    for (size_t i = 0; k < max - 1 && i + FUZZ_SPLIT_LEN <= size; i++) {
        if (memcmp(data + i, FUZZ_SPLIT, FUZZ_SPLIT_LEN) == 0) {
            parts[k].p = data + start;
            parts[k].n = i - start;
            k++;
            start = i + FUZZ_SPLIT_LEN;
            i = start - 1;
        }
    }
    parts[k].p = data + start;
    parts[k].n = size - start;
    return k + 1;
}

/* An anonymous in-memory file and the path that opens it. */
typedef struct {
    int fd;
    char path[64];
} fuzz_memfile;

static inline void fuzz_memfile_open(fuzz_memfile *f, const char *name)
{
    f->fd = memfd_create(name, 0);
    if (f->fd < 0) {
        perror("memfd_create");
        abort(); /* harness setup, not library code */
    }
    snprintf(f->path, sizeof f->path, "/proc/self/fd/%d", f->fd);
}

/* Replaces the file's contents with n bytes of p. */
static inline void fuzz_memfile_set(fuzz_memfile *f, const void *p, size_t n)
{
    if (ftruncate(f->fd, 0) != 0) {
        perror("ftruncate");
        abort();
    }
    size_t off = 0;
    while (off < n) {
        ssize_t k = pwrite(f->fd, (const uint8_t *)p + off, n - off, (off_t)off);
        if (k <= 0) {
            perror("pwrite");
            abort();
        }
        off += (size_t)k;
    }
}

/* The library's error contract: a failure fills a non-empty, NUL-terminated
 * message; anything else is a bug the fuzzer should report. */
static inline void fuzz_check_error(ssdc_status st, const ssdc_error *err)
{
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("SSDC_FUZZ_VERBOSE") != NULL; /* print every error message */
    if (st == SSDC_OK)
        return;
    if (verbose)
        fprintf(stderr, "fuzz: status %d: %.*s\n", (int)st, (int)sizeof err->msg, err->msg);
#ifdef SSDC_FUZZ_REPLAY
    /* tests/test_fuzz_regressions.c caps the address space: a small input
     * that runs out of memory made the library reserve far more than it holds */
    if (st == SSDC_ERR_NOMEM) {
        fprintf(stderr, "fuzz: out of memory on a small input: %.*s\n", (int)sizeof err->msg,
                err->msg);
        abort();
    }
#endif
    if (memchr(err->msg, '\0', sizeof err->msg) == NULL || err->msg[0] == '\0') {
        fprintf(stderr, "fuzz: status %d with an empty or unterminated error message\n", (int)st);
        abort();
    }
}

#endif

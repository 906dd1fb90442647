/* Atomic file output: everything ssdc writes (models, checkpoints, arrays,
 * logs, generated C) goes to a temporary file in the target's folder, is
 * fsync'd and renamed into place (a replaced file keeps its permission
 * bits).  A failed write leaves the old file intact
 * and removes the temporary file; a successful one also removes the
 * temporary files (TARGET.tmp.PID.N) that writers killed before their rename
 * left next to it, when their PID no longer exists. */
#ifndef SSDC_GRAPH_FILEIO_H
#define SSDC_GRAPH_FILEIO_H

#include <stddef.h>

#include "graph/status.h"

typedef struct {
    char *path;   /* target */
    char *tmp;    /* temporary file */
    int fd;
} ssdc_atomic_file;

/* Errors name the path and the reason (errno text). */
ssdc_status ssdc_atomic_open(ssdc_atomic_file *f, const char *path, ssdc_error *err);
ssdc_status ssdc_atomic_write(ssdc_atomic_file *f, const void *buf, size_t len, ssdc_error *err);
/* fsync + rename + directory fsync; on failure behaves like abort. */
ssdc_status ssdc_atomic_commit(ssdc_atomic_file *f, ssdc_error *err);
/* Removes the temporary file; safe to call after a failed write/commit. */
void ssdc_atomic_abort(ssdc_atomic_file *f);

/* One-shot: writes buf[0..len) to path atomically. */
ssdc_status ssdc_write_file_atomic(const char *path, const void *buf, size_t len, ssdc_error *err);

/* Reads a whole file (at most max_bytes) into a malloc'd buffer. */
ssdc_status ssdc_read_file(const char *path, size_t max_bytes, void **buf, size_t *len,
                           ssdc_error *err);

#endif

/* ssdc public API: status codes and the error value.
 *
 * This header is part of the installed API (<ssdc/status.h>, included by
 * <ssdc/ssdc.h>); ssdc's internal modules use the same definitions
 * (graph/status.h includes it), so an error travels from the innermost
 * module to the caller unchanged.
 *
 * Errors are values.  Every fallible ssdc_* function returns an ssdc_status
 * and takes, as its last parameter, an `ssdc_error *err` that may be NULL.
 * On failure the function returns a code other than SSDC_OK and, when err
 * is not NULL, sets err->code to the same code and err->msg to a one-line,
 * NUL-terminated message naming the file, node or tensor and what was
 * expected, e.g.
 *     "models/x.onnx: node 'conv1' (Conv): input 1 has rank 2, expected 3".
 * On success err is not modified.  The library never prints, never calls
 * exit() or abort(), and never keeps the error anywhere else, so it is safe
 * to use one ssdc_error per thread (or per call). */
#ifndef SSDC_STATUS_H
#define SSDC_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SSDC_OK = 0,
    SSDC_ERR_IO,          /* cannot open/read/write a file */
    SSDC_ERR_FORMAT,      /* malformed file contents */
    SSDC_ERR_INVALID,     /* structurally invalid graph or argument, or an interrupted run */
    SSDC_ERR_UNSUPPORTED, /* valid but not implemented (op, dtype, attribute value) */
    SSDC_ERR_SHAPE,       /* shapes that do not fit */
    SSDC_ERR_NOMEM,       /* allocation failed */
    SSDC_ERR_LIMIT,       /* a resource limit was exceeded (element count, memory) */
    SSDC_ERR_ARG          /* bad API (or command-line) argument */
} ssdc_status;

#define SSDC_ERROR_MSG_MAX 1024

typedef struct {
    ssdc_status code;
    char msg[SSDC_ERROR_MSG_MAX];
} ssdc_error;

/* A short constant name of the code ("ok", "i/o error", "out of memory",
 * ...); never NULL. */
const char *ssdc_status_name(ssdc_status code);

#ifdef __cplusplus
}
#endif

#endif

/* Errors are values: every fallible function returns an ssdc_status and, on
 * failure, fills an ssdc_error with a one-line message naming the file, node
 * or line and what was expected.  Library code never exits or aborts. */
#ifndef SSDC_GRAPH_STATUS_H
#define SSDC_GRAPH_STATUS_H

#include <stdarg.h>

typedef enum {
    SSDC_OK = 0,
    SSDC_ERR_IO,          /* cannot open/read/write a file */
    SSDC_ERR_FORMAT,      /* malformed file contents */
    SSDC_ERR_INVALID,     /* structurally invalid graph or argument */
    SSDC_ERR_UNSUPPORTED, /* valid but not implemented (op, dtype, attribute value) */
    SSDC_ERR_SHAPE,       /* shapes that do not fit */
    SSDC_ERR_NOMEM,       /* allocation failed */
    SSDC_ERR_LIMIT,       /* a resource limit was exceeded (element count, memory) */
    SSDC_ERR_ARG          /* bad command-line / API argument */
} ssdc_status;

#define SSDC_ERROR_MSG_MAX 1024

typedef struct {
    ssdc_status code;
    char msg[SSDC_ERROR_MSG_MAX];
} ssdc_error;

/* Formats the message into err (if err is not NULL) and returns code. */
ssdc_status ssdc_fail(ssdc_error *err, ssdc_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "<context>: " to the message already in err. Returns err->code. */
ssdc_status ssdc_error_prefix(ssdc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

const char *ssdc_status_name(ssdc_status code);

/* Limits that refuse resource bombs.  Element counts and byte sizes are
 * checked with overflow-safe arithmetic everywhere a shape is computed. */
#define SSDC_MAX_TENSOR_ELEMS ((int64_t)1 << 31)     /* elements in one tensor */
#define SSDC_DEFAULT_MEMORY_LIMIT ((int64_t)8 << 30)  /* bytes planned for one run */

#endif

/* Errors are values: every fallible function returns an ssdc_status and, on
 * failure, fills an ssdc_error with a one-line message naming the file, node
 * or line and what was expected.  Library code never exits or aborts. */
#ifndef SSDC_GRAPH_STATUS_H
#define SSDC_GRAPH_STATUS_H

#include <stdarg.h>

/* ssdc_status (the codes), ssdc_error and ssdc_status_name() are the public
 * API's: one definition for the library's callers and its modules. */
#include "include/ssdc/status.h"

/* Formats the message into err (if err is not NULL) and returns code. */
ssdc_status ssdc_fail(ssdc_error *err, ssdc_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "<context>: " to the message already in err. Returns err->code. */
ssdc_status ssdc_error_prefix(ssdc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Limits that refuse resource bombs.  Element counts and byte sizes are
 * checked with overflow-safe arithmetic everywhere a shape is computed. */
#define SSDC_MAX_TENSOR_ELEMS ((int64_t)1 << 31)     /* elements in one tensor */
#define SSDC_DEFAULT_MEMORY_LIMIT ((int64_t)8 << 30)  /* bytes planned for one run */

#endif

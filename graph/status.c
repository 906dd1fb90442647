#include "graph/status.h"

#include <stdio.h>
#include <string.h>

ssdc_status ssdc_fail(ssdc_error *err, ssdc_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

ssdc_status ssdc_error_prefix(ssdc_error *err, const char *fmt, ...)
{
    if (!err)
        return SSDC_ERR_INVALID;
    char prefix[SSDC_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char old[SSDC_ERROR_MSG_MAX];
    memcpy(old, err->msg, sizeof old);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-truncation"
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old); /* truncation is fine */
#pragma GCC diagnostic pop
    return err->code;
}

const char *ssdc_status_name(ssdc_status code)
{
    switch (code) {
    case SSDC_OK: return "ok";
    case SSDC_ERR_IO: return "i/o error";
    case SSDC_ERR_FORMAT: return "format error";
    case SSDC_ERR_INVALID: return "invalid";
    case SSDC_ERR_UNSUPPORTED: return "unsupported";
    case SSDC_ERR_SHAPE: return "shape error";
    case SSDC_ERR_NOMEM: return "out of memory";
    case SSDC_ERR_LIMIT: return "limit exceeded";
    case SSDC_ERR_ARG: return "bad argument";
    }
    return "unknown error";
}

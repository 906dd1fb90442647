/* Text buffers and float literals for the emitters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/emitter.h"

void cg_buf_vprintf(cg_buf *b, const char *fmt, va_list ap)
{
    if (b->oom)
        return;
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    if (n < 0) {
        b->oom = true;
        return;
    }
    size_t need = b->len + (size_t)n + 1;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < need)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    b->len += (size_t)n;
}

void cg_buf_printf(cg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cg_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void cg_buf_puts(cg_buf *b, const char *s)
{
    cg_buf_printf(b, "%s", s);
}

void cg_buf_free(cg_buf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

const char *cg_float_literal(float v, char *buf)
{
    /* %a of the exactly promoted double: C99 hexadecimal, exact, and the same
     * text on every host (glibc trims trailing zero digits). */
    snprintf(buf, 32, "%af", (double)v);
    return buf;
}

int64_t cg_prod(const int64_t *dims, int lo, int hi)
{
    int64_t p = 1;
    for (int i = lo; i < hi; i++)
        p *= dims[i];
    return p;
}

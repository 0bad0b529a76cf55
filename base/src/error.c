#include "pmbase/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int pmb_error_set(pmb_error *err, int status, const char *fmt, ...)
{
    if (err != NULL) {
        err->status = status;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return status;
}

int pmb_error_errno(pmb_error *err, int status, int errnum, const char *fmt, ...)
{
    if (err != NULL) {
        err->status = status;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < sizeof err->msg)
            snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", strerror(errnum));
    }
    return status;
}

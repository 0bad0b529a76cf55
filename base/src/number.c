#include "pmbase/number.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

/* Converts text whole, as an integer (into *i) or as a double (into *d):
 * the text must be non-empty, start with no blank (strtoll and strtod skip
 * them; a strict parser must not) and hold nothing after the number. errno
 * is left as the conversion set it, for the caller's range check. */
static int pmb__convert(const char *what, const char *text, long long *i, double *d, pmb_error *err)
{
    if (text == NULL || *text == '\0')
        return pmb_error_set(err, PMB_EINPUT, "%s: empty value", what);
    if (isspace((unsigned char)*text))
        return pmb_error_set(err, PMB_EINPUT, "%s: '%s' starts with a blank", what, text);
    char *end = NULL;
    errno = 0;
    if (i != NULL)
        *i = strtoll(text, &end, 10);
    else
        *d = strtod(text, &end);
    if (*end != '\0' || end == text)
        return pmb_error_set(err, PMB_EINPUT, "%s: '%s' is not %s", what, text,
                             i != NULL ? "an integer" : "a number");
    return PMB_OK;
}

int pmb_parse_i64(const char *what, const char *text, int64_t min, int64_t max, int64_t *out,
                  pmb_error *err)
{
    long long v = 0;
    int rc = pmb__convert(what, text, &v, NULL, err);
    if (rc != PMB_OK)
        return rc;
    if (errno == ERANGE || v < min || v > max)
        return pmb_error_set(err, PMB_EINPUT, "%s: '%s' is out of range [%" PRId64 ", %" PRId64 "]",
                             what, text, min, max);
    *out = (int64_t)v;
    return PMB_OK;
}

int pmb_parse_int(const char *what, const char *text, int min, int max, int *out, pmb_error *err)
{
    int64_t v;
    int rc = pmb_parse_i64(what, text, min, max, &v, err);
    if (rc == PMB_OK)
        *out = (int)v;
    return rc;
}

int pmb_parse_double(const char *what, const char *text, double min, double max, double *out,
                     pmb_error *err)
{
    double v = 0;
    int rc = pmb__convert(what, text, NULL, &v, err);
    if (rc != PMB_OK)
        return rc;
    /* ERANGE on underflow still yields a usable (subnormal or zero) value;
     * only overflow and non-finite spellings are refused. */
    if (!isfinite(v))
        return pmb_error_set(err, PMB_EINPUT, "%s: '%s' is not a finite number", what, text);
    if (v < min || v > max)
        return pmb_error_set(err, PMB_EINPUT, "%s: '%s' is out of range [%g, %g]", what, text, min,
                             max);
    *out = v;
    return PMB_OK;
}

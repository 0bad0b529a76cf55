/* Strict number parsing for flags, environment variables and data files: the
 * whole text must be the number, with no leading blanks or trailing garbage,
 * and it must lie in [min, max]. what names the source in the message, e.g.
 * "--concurrency" or "environment DURATION_SEC". */
#ifndef PMBASE_NUMBER_H
#define PMBASE_NUMBER_H

#include "pmbase/error.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

int pmb_parse_i64(const char *what, const char *text, int64_t min, int64_t max, int64_t *out,
                  pmb_error *err);
int pmb_parse_int(const char *what, const char *text, int min, int max, int *out, pmb_error *err);
/* Accepts finite values only (subnormals included); NaN and infinities fail. */
int pmb_parse_double(const char *what, const char *text, double min, double max, double *out,
                     pmb_error *err);

#ifdef __cplusplus
}
#endif

#endif

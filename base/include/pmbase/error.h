/* One error convention for every perfmatrix component: a function that can
 * fail returns a status (0 is success) and leaves a message naming what failed
 * and where. Components keep their own status numbers; the carrier and the
 * setter are shared so that setting and returning are one statement. */
#ifndef PMBASE_ERROR_H
#define PMBASE_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Statuses shared by the base layer. They match the programs' exit codes:
 * 1 for a failure of the run itself, 2 for bad input. */
enum {
    PMB_OK = 0,
    PMB_ERUNTIME = 1,
    PMB_EINPUT = 2,
};

#define PMB_ERROR_LEN 1024

typedef struct pmb_error {
    int status;
    char msg[PMB_ERROR_LEN];
} pmb_error;

/* Records status and the formatted message in err (which may be NULL) and
 * returns status, so a failure path reads `return pmb_error_set(...)`. */
int pmb_error_set(pmb_error *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like pmb_error_set, with ": <strerror(errnum)>" appended. */
int pmb_error_errno(pmb_error *err, int status, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#ifdef __cplusplus
}
#endif

#endif

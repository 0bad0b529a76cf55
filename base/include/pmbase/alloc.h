/* The allocation policy of every perfmatrix component: running out of memory
 * is not an input error a caller can recover from, so these wrappers print one
 * line naming the request and abort. Callers never check their result. */
#ifndef PMBASE_ALLOC_H
#define PMBASE_ALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void *pmb_malloc(size_t size) __attribute__((malloc, returns_nonnull));
void *pmb_calloc(size_t n, size_t size) __attribute__((malloc, returns_nonnull));
void *pmb_realloc(void *ptr, size_t size) __attribute__((returns_nonnull));
/* Grows an array of n elements of size bytes each, checking the product. */
void *pmb_reallocarray(void *ptr, size_t n, size_t size) __attribute__((returns_nonnull));
char *pmb_strdup(const char *text) __attribute__((malloc, returns_nonnull));

/* Prints "out of memory: <what>" and aborts. Exposed for libraries (cJSON,
 * libuv) whose own allocation failures surface as a NULL result. */
__attribute__((noreturn)) void pmb_oom(const char *what);

#ifdef __cplusplus
}
#endif

#endif

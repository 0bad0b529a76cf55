#include "pmbase/alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pmb_oom(const char *what)
{
    fprintf(stderr, "out of memory: %s\n", what);
    abort();
}

static void pmb__oom_bytes(size_t n)
{
    char what[64];
    snprintf(what, sizeof what, "%zu bytes", n);
    pmb_oom(what);
}

void *pmb_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (p == NULL)
        pmb__oom_bytes(size);
    return p;
}

void *pmb_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        pmb__oom_bytes(n * size);
    return p;
}

void *pmb_realloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (p == NULL)
        pmb__oom_bytes(size);
    return p;
}

void *pmb_reallocarray(void *ptr, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        pmb_oom("an array larger than the address space");
    return pmb_realloc(ptr, n * size);
}

char *pmb_strdup(const char *text)
{
    size_t n = strlen(text) + 1;
    return memcpy(pmb_malloc(n), text, n);
}

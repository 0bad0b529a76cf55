/* Fuzzes the remote-write cursor parser: any bytes must give a cursor or a
 * clean "corrupt" error, and a cursor that parses must format and re-parse to
 * the same entries (a resend depends on the totals reading back exactly). */
#include "rw_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct rondo__rw_cursor c = {0}, d = {0};
    rondo_error err;
    rondo_status rc = rondo__rw_cursor_parse(&c, text, "fuzz", &err);
    free(text);
    if (rc != RONDO_OK) {
        if (rc != RONDO_ERR_CORRUPT || c.n != 0)
            abort();
        return 0;
    }
    char *again = rondo__rw_cursor_format(&c, "http://h/w");
    if (again == NULL || rondo__rw_cursor_parse(&d, again, "again", &err) != RONDO_OK)
        abort();
    size_t kept = 0;
    for (size_t i = 0; i < c.n; i++) {
        const struct rondo__rw_entry *e = &c.e[i];
        if (e->last == RONDO__RW_NONE && e->pend_from == RONDO__RW_NONE)
            continue;
        const struct rondo__rw_entry *f = &d.e[kept++];
        if (strcmp(e->key, f->key) != 0 || e->last != f->last ||
            memcmp(&e->total, &f->total, sizeof e->total) != 0 || e->pend_from != f->pend_from ||
            e->pend_to != f->pend_to)
            abort();
    }
    if (kept != d.n)
        abort();
    free(again);
    rondo__rw_cursor_free(&c);
    rondo__rw_cursor_free(&d);
    return 0;
}

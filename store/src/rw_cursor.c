/* The remote-write cursor: per series the last slot delivered, a counter's
 * running total and the batch in flight, as JSON:
 *
 *   {"format":"rondo-remote-write-cursor","version":1,"url":"http://h/api/v1/write",
 *    "series":{"cpu{host=a}":{"last":1763719200,"total":0,
 *                              "pending":[1763719201,1763719260]}}}
 *
 * Totals are printed with enough digits to read back as the same double, so
 * a resend after a restart sends bit-identical values. */
#include "pmbase/alloc.h"
#include "rw_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CURSOR_FORMAT "rondo-remote-write-cursor"

void rondo__rw_cursor_free(struct rondo__rw_cursor *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->e[i].key);
    free(c->e);
    memset(c, 0, sizeof *c);
}

/* The position of key, or where it would be inserted. */
static size_t cursor_find(const struct rondo__rw_cursor *c, const char *key, bool *found)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(c->e[mid].key, key);
        if (cmp == 0) {
            *found = true;
            return mid;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

size_t rondo__rw_cursor_entry(struct rondo__rw_cursor *c, const char *key)
{
    bool found;
    size_t at = cursor_find(c, key, &found);
    if (found)
        return at;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->e = pmb_reallocarray(c->e, c->cap, sizeof *c->e);
    }
    memmove(&c->e[at + 1], &c->e[at], (c->n - at) * sizeof *c->e);
    c->e[at] = (struct rondo__rw_entry){pmb_strdup(key), RONDO__RW_NONE, 0.0, RONDO__RW_NONE,
                                        RONDO__RW_NONE};
    c->n++;
    return at;
}

/* A whole number of seconds in [0, RONDO_TIME_MAX] held by a JSON number. */
static bool json_time(const cJSON *item, int64_t *out)
{
    if (!cJSON_IsNumber(item))
        return false;
    double d = item->valuedouble;
    if (!(d >= 0 && d <= (double)RONDO_TIME_MAX) || d != floor(d))
        return false;
    *out = (int64_t)d;
    return true;
}

static rondo_status corrupt(rondo_error *err, const char *path, const char *what)
{
    rondo_error_set(err, RONDO_ERR_CORRUPT,
                    "cursor %s: %s (nothing sent; move the file away to resend everything)", path,
                    what);
    return RONDO_ERR_CORRUPT;
}

rondo_status rondo__rw_cursor_parse(struct rondo__rw_cursor *c, const char *text, const char *path,
                                    rondo_error *err)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, true);
    if (root == NULL) {
        char what[64];
        snprintf(what, sizeof what, "not valid JSON near byte %zu",
                 end ? (size_t)(end - text) : (size_t)0);
        return corrupt(err, path, what);
    }
    rondo_status rc = RONDO_OK;
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *series = cJSON_GetObjectItemCaseSensitive(root, "series");
    if (!cJSON_IsString(format) || strcmp(format->valuestring, CURSOR_FORMAT) != 0)
        rc = corrupt(err, path, "not a rondo remote-write cursor");
    else if (!cJSON_IsNumber(version) || version->valuedouble != 1)
        rc = corrupt(err, path, "unknown version");
    else if (!cJSON_IsObject(series))
        rc = corrupt(err, path, "'series' is not an object");
    const cJSON *entries = rc == RONDO_OK ? series : NULL;
    const cJSON *item;
    cJSON_ArrayForEach(item, entries)
    {
        char what[RONDO_MAX_KEY + 96];
        rondo_series_id id;
        const cJSON *last = cJSON_GetObjectItemCaseSensitive(item, "last");
        const cJSON *total = cJSON_GetObjectItemCaseSensitive(item, "total");
        const cJSON *pending = cJSON_GetObjectItemCaseSensitive(item, "pending");
        int64_t t_last = RONDO__RW_NONE, p_from = RONDO__RW_NONE, p_to = RONDO__RW_NONE;
        bool bad = !cJSON_IsObject(item) || item->string == NULL ||
                   strlen(item->string) > RONDO_MAX_KEY ||
                   rondo_series_id_parse(&id, item->string, NULL) != RONDO_OK;
        if (!bad && last != NULL && !json_time(last, &t_last))
            bad = true;
        if (!bad && (!cJSON_IsNumber(total) || !isfinite(total->valuedouble)))
            bad = true;
        if (!bad && pending != NULL) {
            bad = !cJSON_IsArray(pending) || cJSON_GetArraySize(pending) != 2 ||
                  !json_time(cJSON_GetArrayItem(pending, 0), &p_from) ||
                  !json_time(cJSON_GetArrayItem(pending, 1), &p_to) || p_from > p_to ||
                  (t_last != RONDO__RW_NONE && p_from <= t_last);
        }
        if (bad) {
            snprintf(what, sizeof what, "bad entry for series '%.*s'", RONDO_MAX_KEY,
                     item->string ? item->string : "?");
            rc = corrupt(err, path, what);
            break;
        }
        bool found;
        cursor_find(c, item->string, &found);
        if (found) {
            snprintf(what, sizeof what, "series '%s' appears twice", item->string);
            rc = corrupt(err, path, what);
            break;
        }
        /* Adding may move the entries: index them only after it. */
        size_t at = rondo__rw_cursor_entry(c, item->string);
        struct rondo__rw_entry *e = &c->e[at];
        e->last = t_last;
        e->total = total->valuedouble;
        e->pend_from = p_from;
        e->pend_to = p_to;
    }
    cJSON_Delete(root);
    if (rc != RONDO_OK)
        rondo__rw_cursor_free(c);
    return rc;
}

void rondo__rw_redact_url(const char *url, char *buf, size_t size)
{
    const char *scheme = strstr(url, "://");
    const char *host = scheme ? scheme + 3 : url;
    const char *slash = host + strcspn(host, "/?#");
    const char *at = NULL;
    for (const char *p = host; p < slash; p++) {
        if (*p == '@')
            at = p;
    }
    if (at == NULL)
        snprintf(buf, size, "%s", url);
    else
        snprintf(buf, size, "%.*s***@%s", (int)(host - url), url, at + 1);
}

char *rondo__rw_cursor_format(const struct rondo__rw_cursor *c, const char *url)
{
    char safe[2048];
    rondo__rw_redact_url(url ? url : "", safe, sizeof safe);
    cJSON *root = cJSON_CreateObject();
    cJSON *series = cJSON_CreateObject();
    bool ok = root && series && cJSON_AddStringToObject(root, "format", CURSOR_FORMAT) &&
              cJSON_AddNumberToObject(root, "version", 1) &&
              cJSON_AddStringToObject(root, "url", safe);
    if (ok)
        cJSON_AddItemToObject(root, "series", series);
    else
        cJSON_Delete(series);
    for (size_t i = 0; ok && i < c->n; i++) {
        const struct rondo__rw_entry *e = &c->e[i];
        if (e->last == RONDO__RW_NONE && e->pend_from == RONDO__RW_NONE)
            continue;
        cJSON *item = cJSON_CreateObject();
        ok = item != NULL;
        if (ok && e->last != RONDO__RW_NONE)
            ok = cJSON_AddNumberToObject(item, "last", (double)e->last) != NULL;
        /* cJSON prints 15 digits when they compare equal within an epsilon,
         * which is not the same double: the total is printed here with 17. */
        char total[40];
        snprintf(total, sizeof total, "%.17g", e->total);
        ok = ok && cJSON_AddRawToObject(item, "total", total) != NULL;
        if (ok && e->pend_from != RONDO__RW_NONE) {
            double range[2] = {(double)e->pend_from, (double)e->pend_to};
            cJSON *p = cJSON_CreateDoubleArray(range, 2);
            ok = p != NULL;
            if (ok)
                cJSON_AddItemToObject(item, "pending", p);
        }
        if (ok)
            cJSON_AddItemToObject(series, e->key, item);
        else
            cJSON_Delete(item);
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return text;
}

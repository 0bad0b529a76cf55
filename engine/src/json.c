/* Strict JSON for plans and requests: cJSON parses, and this file refuses
 * what cJSON lets through -- data after the value, and an object with the
 * same key twice (cJSON keeps both, and lookups pick one silently). Every
 * error names the input, the line and, for a duplicate, the key. */
#include "internal.h"

#include "pmbase/alloc.h"

#include <stdlib.h>
#include <string.h>

typedef struct key_ref {
    const char *name;
    uint64_t order; /* the key's place among all keys, in document order */
} key_ref;

static int key_ref_compare(const void *pa, const void *pb)
{
    const key_ref *a = pa, *b = pb;
    int c = strcmp(a->name, b->name);
    if (c != 0)
        return c;
    return a->order < b->order ? -1 : a->order > b->order;
}

/* Walks v in document order, numbering keys in *next. Finds the first
 * object (in that order) holding a key twice and returns the number of the
 * key's second occurrence in *dup (UINT64_MAX when none). Sorting each
 * object's keys keeps this O(n log n) however wide an object is. */
static void find_duplicate(const cJSON *v, uint64_t *next, uint64_t *dup, const char **name)
{
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
        return;
    size_t n = 0;
    const cJSON *child;
    cJSON_ArrayForEach(child, v) n++;
    key_ref *refs = cJSON_IsObject(v) && n > 1 ? pmb_reallocarray(NULL, n, sizeof *refs) : NULL;
    size_t i = 0;
    cJSON_ArrayForEach(child, v)
    {
        if (cJSON_IsObject(v)) {
            if (refs != NULL)
                refs[i++] = (key_ref){child->string, *next};
            (*next)++;
        }
        find_duplicate(child, next, dup, name);
        if (*dup != UINT64_MAX) {
            free(refs);
            return;
        }
    }
    if (refs != NULL) {
        qsort(refs, n, sizeof *refs, key_ref_compare);
        for (size_t k = 1; k < n; k++) {
            if (strcmp(refs[k - 1].name, refs[k].name) == 0 && refs[k].order < *dup) {
                *dup = refs[k].order;
                *name = refs[k].name;
            }
        }
        free(refs);
    }
}

static unsigned line_at(const char *text, size_t pos)
{
    unsigned line = 1;
    for (size_t i = 0; i < pos; i++)
        line += text[i] == '\n';
    return line;
}

/* The line of the key numbered target (in document order) in a text cJSON
 * has accepted: a key is a string followed by a colon. */
static unsigned key_line(const char *text, size_t len, uint64_t target)
{
    uint64_t keys = 0;
    unsigned line = 1;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n') {
            line++;
        } else if (text[i] == '"') {
            unsigned start_line = line;
            for (i++; i < len && text[i] != '"'; i++) {
                if (text[i] == '\\')
                    i++;
                else if (text[i] == '\n')
                    line++;
            }
            size_t j = i + 1;
            while (j < len && strchr(" \t\r\n", text[j]) != NULL && text[j] != '\0')
                j++;
            if (j < len && text[j] == ':' && keys++ == target)
                return start_line;
        }
    }
    return line;
}

int rankd__json_parse(const char *text, size_t len, const char *name, cJSON **out, rankd_error *err)
{
    const char *end = NULL;
    *out = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (root == NULL) {
        size_t at = end != NULL && end >= text ? (size_t)(end - text) : 0;
        return rankd_error_set(err, RANKD_EINPUT, "%s: invalid JSON near byte %zu", name, at);
    }
    size_t pos = (size_t)(end - text);
    while (pos < len && strchr(" \t\r\n", text[pos]) != NULL && text[pos] != '\0')
        pos++;
    if (pos < len) {
        cJSON_Delete(root);
        return rankd_error_set(err, RANKD_EINPUT,
                               "%s: line %u: trailing data after the JSON value (byte %zu)", name,
                               line_at(text, pos), pos);
    }
    uint64_t next = 0, dup = UINT64_MAX;
    const char *key = NULL;
    find_duplicate(root, &next, &dup, &key);
    if (dup != UINT64_MAX) {
        int rc = rankd_error_set(err, RANKD_EINPUT, "%s: line %u: duplicate key '%s'", name,
                                 key_line(text, len, dup), key);
        cJSON_Delete(root);
        return rc;
    }
    *out = root;
    return RANKD_OK;
}

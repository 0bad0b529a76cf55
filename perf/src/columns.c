#include "columns.h"

#include "pmbase/alloc.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void pm__columns_unmeasured(const pm__row_table *t, void *row)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].type == PM__COL_DBL)
            *(double *)(void *)((char *)row + t->v[i].offset) = NAN;
}

void pm__columns_header(const pm__row_table *t, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < t->n && used < len; i++) {
        int n = snprintf(out + used, len - used, "%s%s", i ? "," : "", t->v[i].name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

static void pm__write_text(FILE *f, const char *text)
{
    bool quote = strpbrk(text, ",\"") != NULL;
    if (quote)
        fputc('"', f);
    for (const char *c = text; *c; c++) {
        if (*c == '"')
            fputs("\"\"", f);
        else
            fputc(*c == '\n' || *c == '\r' ? ' ' : *c, f);
    }
    if (quote)
        fputc('"', f);
}

void pm__columns_write_csv(const pm__row_table *t, FILE *f, const void *row)
{
    for (size_t i = 0; i < t->n; i++) {
        const pm__column *col = &t->v[i];
        const char *p = (const char *)row + col->offset;
        if (i)
            fputc(',', f);
        switch (col->type) {
        case PM__COL_STR:
            pm__write_text(f, p);
            break;
        case PM__COL_INT:
            fprintf(f, "%d", *(const int *)(const void *)p);
            break;
        case PM__COL_LONG:
            fprintf(f, "%ld", *(const long *)(const void *)p);
            break;
        case PM__COL_DBL: {
            double d = *(const double *)(const void *)p;
            if (isfinite(d))
                fprintf(f, "%.*g", t->digits, d);
            break;
        }
        }
    }
    fputc('\n', f);
}

cJSON *pm__columns_to_json(const pm__row_table *t, const void *row)
{
    cJSON *obj = cJSON_CreateObject();
    if (!obj)
        return NULL;
    bool ok = cJSON_AddStringToObject(obj, "kind", t->kind) != NULL;
    for (size_t i = 0; ok && i < t->n; i++) {
        const pm__column *col = &t->v[i];
        const char *p = (const char *)row + col->offset;
        switch (col->type) {
        case PM__COL_STR:
            ok = cJSON_AddStringToObject(obj, col->name, p) != NULL;
            break;
        case PM__COL_INT:
            ok = cJSON_AddNumberToObject(obj, col->name, *(const int *)(const void *)p) != NULL;
            break;
        case PM__COL_LONG:
            ok = cJSON_AddNumberToObject(obj, col->name, (double)*(const long *)(const void *)p) !=
                 NULL;
            break;
        case PM__COL_DBL: {
            double d = *(const double *)(const void *)p;
            ok = (isfinite(d) ? cJSON_AddNumberToObject(obj, col->name, d)
                              : cJSON_AddNullToObject(obj, col->name)) != NULL;
            break;
        }
        }
    }
    if (!ok) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

/* Stores a string, refusing one its field cannot hold whole: a cut plan or
 * test name would merge points that differ. */
static bool pm__set_str(const pm__column *col, char *p, const char *text, char *err, size_t errlen)
{
    size_t len = strlen(text);
    if (len >= col->size) {
        snprintf(err, errlen, "column %s: %zu characters, at most %zu fit", col->name, len,
                 col->size - 1);
        return false;
    }
    memcpy(p, text, len + 1);
    return true;
}

/* Stores a number already parsed, refusing what the field's type cannot
 * hold exactly. */
static bool pm__set_num(const pm__column *col, char *p, double v, const char *text, char *err,
                        size_t errlen)
{
    if (!isfinite(v)) {
        snprintf(err, errlen, "column %s: '%s' is not a finite number", col->name, text);
        return false;
    }
    if (col->type == PM__COL_DBL) {
        *(double *)(void *)p = v;
        return true;
    }
    double lo = col->type == PM__COL_INT ? (double)INT_MIN : -9.0e15;
    double hi = col->type == PM__COL_INT ? (double)INT_MAX : 9.0e15;
    if (v != floor(v) || v < lo || v > hi) {
        snprintf(err, errlen, "column %s: '%s' is not an integer in [%.0f, %.0f]", col->name, text,
                 lo, hi);
        return false;
    }
    if (col->type == PM__COL_INT)
        *(int *)(void *)p = (int)v;
    else
        *(long *)(void *)p = (long)v;
    return true;
}

bool pm__columns_set_text(const pm__column *col, void *row, const char *text, char *err,
                          size_t errlen)
{
    char *p = (char *)row + col->offset;
    if (col->type == PM__COL_STR)
        return pm__set_str(col, p, text, err, errlen);
    if (*text == '\0') {
        /* An empty figure is an unmeasured one; an empty integer has no such
         * meaning. */
        if (col->type == PM__COL_DBL) {
            *(double *)(void *)p = NAN;
            return true;
        }
        snprintf(err, errlen, "column %s: empty, expected an integer", col->name);
        return false;
    }
    char *end = NULL;
    errno = 0;
    if (col->type == PM__COL_DBL) {
        double v = strtod(text, &end);
        /* Underflow (1e-310) is a valid tiny number; overflow is not. */
        bool overflow = errno == ERANGE && fabs(v) > 1.0;
        if (*end != '\0' || overflow || isspace((unsigned char)*text)) {
            snprintf(err, errlen, "column %s: '%s' is not a number", col->name, text);
            return false;
        }
        return pm__set_num(col, p, v, text, err, errlen);
    }
    long long v = strtoll(text, &end, 10);
    if (*end != '\0' || errno == ERANGE || isspace((unsigned char)*text)) {
        snprintf(err, errlen, "column %s: '%s' is not an integer", col->name, text);
        return false;
    }
    if (col->type == PM__COL_INT && (v < INT_MIN || v > INT_MAX)) {
        snprintf(err, errlen, "column %s: '%s' is out of range [%d, %d]", col->name, text, INT_MIN,
                 INT_MAX);
        return false;
    }
    if (col->type == PM__COL_INT)
        *(int *)(void *)p = (int)v;
    else
        *(long *)(void *)p = (long)v;
    return true;
}

bool pm__columns_from_json(const pm__row_table *t, const cJSON *obj, void *row, char *err,
                           size_t errlen)
{
    if (!cJSON_IsObject(obj)) {
        snprintf(err, errlen, "not a JSON object");
        return false;
    }
    for (size_t i = 0; i < t->n; i++) {
        const pm__column *col = &t->v[i];
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, col->name);
        if (!item || cJSON_IsNull(item))
            continue;
        char *p = (char *)row + col->offset;
        if (col->type == PM__COL_STR) {
            if (!cJSON_IsString(item)) {
                snprintf(err, errlen, "field %s: expected a string", col->name);
                return false;
            }
            if (!pm__set_str(col, p, item->valuestring, err, errlen))
                return false;
        } else if (!cJSON_IsNumber(item)) {
            snprintf(err, errlen, "field %s: expected a number", col->name);
            return false;
        } else {
            char text[64];
            snprintf(text, sizeof text, "%.17g", item->valuedouble);
            if (!pm__set_num(col, p, item->valuedouble, text, err, errlen))
                return false;
        }
    }
    return true;
}

void *pm__rows_append(void *v, size_t *n, size_t *cap, size_t size, const void *row)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        v = pmb_reallocarray(v, *cap, size);
    }
    memcpy((char *)v + *n * size, row, size);
    (*n)++;
    return v;
}

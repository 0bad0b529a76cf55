#include "perfmatrix/record.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum { PM__STR, PM__INT, PM__LONG, PM__DBL } pm__type;

typedef struct {
    const char *name;
    pm__type type;
    size_t offset;
    size_t size;
} pm__column;

#define PM__COL(field, type)                                                                       \
    {                                                                                              \
#field, type, offsetof(pm_row, field), sizeof(((pm_row *)0)->field)                        \
    }

/* One table drives the CSV header, the CSV rows, the JSON objects and the
 * parsers, so the formats cannot drift apart. */
static const pm__column pm__columns[] = {
    PM__COL(ts, PM__STR),           PM__COL(plan, PM__STR),           PM__COL(vcpus, PM__INT),
    PM__COL(cpu_threads, PM__INT),  PM__COL(io_threads, PM__INT),     PM__COL(async, PM__INT),
    PM__COL(concurrency, PM__INT),  PM__COL(duration_sec, PM__DBL),   PM__COL(run_idx, PM__INT),
    PM__COL(qps, PM__DBL),          PM__COL(p50_us, PM__DBL),         PM__COL(p90_us, PM__DBL),
    PM__COL(p99_us, PM__DBL),       PM__COL(max_us, PM__DBL),         PM__COL(ru_maxrss, PM__LONG),
    PM__COL(exit_code, PM__INT),    PM__COL(timeout_killed, PM__INT), PM__COL(requests, PM__LONG),
    PM__COL(errors, PM__LONG),      PM__COL(p999_us, PM__DBL),        PM__COL(mean_us, PM__DBL),
    PM__COL(measured_sec, PM__DBL), PM__COL(warmup_iters, PM__INT),   PM__COL(nproc, PM__INT),
    PM__COL(pinned_cpus, PM__INT),  PM__COL(git_sha, PM__STR),        PM__COL(status, PM__STR),
    PM__COL(test, PM__STR),
};

#define PM__NCOL (sizeof pm__columns / sizeof pm__columns[0])

size_t pm_csv_column_count(void)
{
    return PM__NCOL;
}

const char *pm_csv_column_name(size_t i)
{
    return i < PM__NCOL ? pm__columns[i].name : NULL;
}

const char *pm_csv_header(void)
{
    static char header[1024];
    if (header[0] == '\0') {
        size_t used = 0;
        for (size_t i = 0; i < PM__NCOL; i++)
            used += (size_t)snprintf(header + used, sizeof header - used, "%s%s", i ? "," : "",
                                     pm__columns[i].name);
    }
    return header;
}

void pm_row_init(pm_row *row)
{
    memset(row, 0, sizeof *row);
    row->qps = row->p50_us = row->p90_us = row->p99_us = row->max_us = NAN;
    row->p999_us = row->mean_us = row->measured_sec = NAN;
}

static void pm__format(const pm_row *row, const pm__column *col, char *buf, size_t len)
{
    const char *p = (const char *)row + col->offset;
    switch (col->type) {
    case PM__STR:
        snprintf(buf, len, "%s", p);
        break;
    case PM__INT:
        snprintf(buf, len, "%d", *(const int *)(const void *)p);
        break;
    case PM__LONG:
        snprintf(buf, len, "%ld", *(const long *)(const void *)p);
        break;
    case PM__DBL: {
        double d = *(const double *)(const void *)p;
        /* An unmeasured figure stays empty rather than a fake zero. */
        if (isnan(d))
            buf[0] = '\0';
        else
            snprintf(buf, len, "%.6g", d);
        break;
    }
    }
}

void pm_csv_write_row(FILE *f, const pm_row *row)
{
    char buf[256];
    for (size_t i = 0; i < PM__NCOL; i++) {
        pm__format(row, &pm__columns[i], buf, sizeof buf);
        /* Commas would shift columns; names never hold them, but be safe. */
        for (char *c = buf; *c; c++)
            if (*c == ',' || *c == '\n' || *c == '"')
                *c = ' ';
        fprintf(f, "%s%s", i ? "," : "", buf);
    }
    fputc('\n', f);
}

cJSON *pm_row_to_json(const pm_row *row)
{
    cJSON *obj = cJSON_CreateObject();
    if (!obj)
        return NULL;
    cJSON_AddStringToObject(obj, "kind", "point");
    for (size_t i = 0; i < PM__NCOL; i++) {
        const pm__column *col = &pm__columns[i];
        const char *p = (const char *)row + col->offset;
        switch (col->type) {
        case PM__STR:
            cJSON_AddStringToObject(obj, col->name, p);
            break;
        case PM__INT:
            cJSON_AddNumberToObject(obj, col->name, *(const int *)(const void *)p);
            break;
        case PM__LONG:
            cJSON_AddNumberToObject(obj, col->name, (double)*(const long *)(const void *)p);
            break;
        case PM__DBL: {
            double d = *(const double *)(const void *)p;
            if (isnan(d))
                cJSON_AddNullToObject(obj, col->name);
            else
                cJSON_AddNumberToObject(obj, col->name, d);
            break;
        }
        }
    }
    cJSON_AddStringToObject(obj, "reason", row->reason);
    return obj;
}

static bool pm__set(pm_row *row, const pm__column *col, const char *text, char *err, size_t errlen)
{
    char *p = (char *)row + col->offset;
    char *end = NULL;
    errno = 0;
    switch (col->type) {
    case PM__STR:
        snprintf(p, col->size, "%s", text);
        return true;
    case PM__INT:
    case PM__LONG: {
        long v = strtol(text, &end, 10);
        if (*text == '\0' || *end != '\0' || errno) {
            snprintf(err, errlen, "column %s: '%s' is not an integer", col->name, text);
            return false;
        }
        if (col->type == PM__INT)
            *(int *)(void *)p = (int)v;
        else
            *(long *)(void *)p = v;
        return true;
    }
    case PM__DBL:
        if (*text == '\0') {
            *(double *)(void *)p = NAN;
            return true;
        }
        *(double *)(void *)p = strtod(text, &end);
        if (*end != '\0' || errno) {
            snprintf(err, errlen, "column %s: '%s' is not a number", col->name, text);
            return false;
        }
        return true;
    }
    return false;
}

bool pm_row_from_json(const cJSON *obj, pm_row *row, char *err, size_t errlen)
{
    pm_row_init(row);
    if (!cJSON_IsObject(obj)) {
        snprintf(err, errlen, "not a JSON object");
        return false;
    }
    for (size_t i = 0; i < PM__NCOL; i++) {
        const pm__column *col = &pm__columns[i];
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, col->name);
        if (!item || cJSON_IsNull(item))
            continue;
        char *p = (char *)row + col->offset;
        if (col->type == PM__STR) {
            if (!cJSON_IsString(item)) {
                snprintf(err, errlen, "field %s: expected a string", col->name);
                return false;
            }
            snprintf(p, col->size, "%s", item->valuestring);
        } else if (!cJSON_IsNumber(item)) {
            snprintf(err, errlen, "field %s: expected a number", col->name);
            return false;
        } else if (col->type == PM__INT) {
            *(int *)(void *)p = (int)item->valuedouble;
        } else if (col->type == PM__LONG) {
            *(long *)(void *)p = (long)item->valuedouble;
        } else {
            *(double *)(void *)p = item->valuedouble;
        }
    }
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(obj, "reason");
    if (cJSON_IsString(reason))
        snprintf(row->reason, sizeof row->reason, "%s", reason->valuestring);
    return true;
}

/* Splits a line on commas in place; returns the number of fields. */
static size_t pm__split(char *line, char **fields, size_t max)
{
    size_t n = 0;
    char *p = line;
    while (n < max) {
        fields[n++] = p;
        char *comma = strchr(p, ',');
        if (!comma)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    return n;
}

bool pm_csv_read(const char *path, pm_rows *rows, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return false;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    const pm__column *map[64] = {0};
    size_t ncols = 0, lineno = 0;
    bool ok = true;
    while (ok && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char *fields[64];
        size_t nf = pm__split(line, fields, 64);
        if (lineno == 1) {
            /* Columns are found by name, so CSVs written by a newer reporter
             * with more appended columns still merge. */
            ncols = nf;
            bool has_plan = false;
            for (size_t i = 0; i < nf; i++) {
                map[i] = NULL;
                for (size_t c = 0; c < PM__NCOL; c++)
                    if (strcmp(fields[i], pm__columns[c].name) == 0)
                        map[i] = &pm__columns[c];
                has_plan = has_plan || (map[i] && strcmp(map[i]->name, "plan") == 0);
            }
            if (!has_plan) {
                snprintf(err, errlen, "%s:1: not a perfmatrix CSV (no 'plan' column)", path);
                ok = false;
            }
            continue;
        }
        if (len == 0)
            continue;
        if (nf != ncols) {
            snprintf(err, errlen, "%s:%zu: %zu fields, the header has %zu", path, lineno, nf,
                     ncols);
            ok = false;
            break;
        }
        pm_row row;
        pm_row_init(&row);
        char why[PM_ERR_LEN];
        for (size_t i = 0; ok && i < nf; i++) {
            if (map[i] && !pm__set(&row, map[i], fields[i], why, sizeof why)) {
                snprintf(err, errlen, "%s:%zu: %s", path, lineno, why);
                ok = false;
            }
        }
        /* The seed's CSVs have no status column: its exit columns say it. */
        if (ok && row.status[0] == '\0')
            snprintf(row.status, sizeof row.status, "%s",
                     row.timeout_killed ? "timeout"
                     : row.exit_code    ? "failed"
                                        : "ok");
        if (ok && !pm_rows_push(rows, &row)) {
            snprintf(err, errlen, "%s:%zu: out of memory", path, lineno);
            ok = false;
        }
    }
    if (ok && lineno == 0) {
        snprintf(err, errlen, "%s: empty file", path);
        ok = false;
    }
    free(line);
    fclose(f);
    return ok;
}

bool pm_rows_push(pm_rows *rows, const pm_row *row)
{
    if (rows->n == rows->cap) {
        size_t cap = rows->cap ? rows->cap * 2 : 16;
        pm_row *v = realloc(rows->v, cap * sizeof *v);
        if (!v)
            return false;
        rows->v = v;
        rows->cap = cap;
    }
    rows->v[rows->n++] = *row;
    return true;
}

void pm_rows_free(pm_rows *rows)
{
    free(rows->v);
    rows->v = NULL;
    rows->n = rows->cap = 0;
}

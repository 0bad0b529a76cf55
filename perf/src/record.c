#include "perfmatrix/record.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
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
 * parsers, so the formats cannot drift apart. The first PM__SEED_COLUMNS are
 * the seed's; new columns are only ever appended. */
static const pm__column pm__columns[] = {
    PM__COL(ts, PM__STR),
    PM__COL(plan, PM__STR),
    PM__COL(vcpus, PM__INT),
    PM__COL(cpu_threads, PM__INT),
    PM__COL(io_threads, PM__INT),
    PM__COL(async, PM__INT),
    PM__COL(concurrency, PM__INT),
    PM__COL(duration_sec, PM__DBL),
    PM__COL(run_idx, PM__INT),
    PM__COL(qps, PM__DBL),
    PM__COL(p50_us, PM__DBL),
    PM__COL(p90_us, PM__DBL),
    PM__COL(p99_us, PM__DBL),
    PM__COL(max_us, PM__DBL),
    PM__COL(ru_maxrss, PM__LONG),
    PM__COL(exit_code, PM__INT),
    PM__COL(timeout_killed, PM__INT),
    PM__COL(requests, PM__LONG),
    PM__COL(errors, PM__LONG),
    PM__COL(p999_us, PM__DBL),
    PM__COL(mean_us, PM__DBL),
    PM__COL(measured_sec, PM__DBL),
    PM__COL(warmup_iters, PM__INT),
    PM__COL(nproc, PM__INT),
    PM__COL(pinned_cpus, PM__INT),
    PM__COL(git_sha, PM__STR),
    PM__COL(status, PM__STR),
    PM__COL(test, PM__STR),
    PM__COL(mode, PM__STR),
    PM__COL(rate_target, PM__DBL),
    PM__COL(achieved_rate, PM__DBL),
    PM__COL(in_flight_at_end, PM__DBL),
    PM__COL(oldest_in_flight_us, PM__DBL),
    PM__COL(little_in_flight, PM__DBL),
    PM__COL(reason, PM__STR),
};

#define PM__NCOL         (sizeof pm__columns / sizeof pm__columns[0])
#define PM__SEED_COLUMNS 17

bool pm_status_known(const char *status)
{
    static const char *known[] = {"ok", "invalid", "errors", "failed", "timeout", "skipped"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(status, known[i]) == 0)
            return true;
    return false;
}

const char *pm_csv_column_name(size_t i)
{
    return i < PM__NCOL ? pm__columns[i].name : NULL;
}

const char *pm_csv_header(void)
{
    /* Sized for the table: every name plus its comma. */
    static char header[PM__NCOL * 24];
    if (header[0] == '\0') {
        size_t used = 0;
        for (size_t i = 0; i < PM__NCOL; i++) {
            int n = snprintf(header + used, sizeof header - used, "%s%s", i ? "," : "",
                             pm__columns[i].name);
            if (n < 0 || (size_t)n >= sizeof header - used)
                break; /* unreachable: no column name is 23 characters long */
            used += (size_t)n;
        }
    }
    return header;
}

void pm_row_init(pm_row *row)
{
    memset(row, 0, sizeof *row);
    row->qps = row->p50_us = row->p90_us = row->p99_us = row->max_us = NAN;
    row->p999_us = row->mean_us = row->measured_sec = NAN;
    row->rate_target = row->achieved_rate = NAN;
    row->in_flight_at_end = row->oldest_in_flight_us = row->little_in_flight = NAN;
}

/* Writes one field: numbers with 17 significant digits would be noise, so
 * doubles keep 6 (as the seed's CSVs do); text is quoted when it holds a
 * comma or a quote, and line breaks become spaces so one row stays one
 * line. */
static void pm__write_field(FILE *f, const pm_row *row, const pm__column *col)
{
    const char *p = (const char *)row + col->offset;
    switch (col->type) {
    case PM__STR: {
        bool quote = strpbrk(p, ",\"") != NULL;
        if (quote)
            fputc('"', f);
        for (const char *c = p; *c; c++) {
            if (*c == '"')
                fputs("\"\"", f);
            else
                fputc(*c == '\n' || *c == '\r' ? ' ' : *c, f);
        }
        if (quote)
            fputc('"', f);
        break;
    }
    case PM__INT:
        fprintf(f, "%d", *(const int *)(const void *)p);
        break;
    case PM__LONG:
        fprintf(f, "%ld", *(const long *)(const void *)p);
        break;
    case PM__DBL: {
        double d = *(const double *)(const void *)p;
        /* An unmeasured figure stays empty rather than a fake zero. */
        if (isfinite(d))
            fprintf(f, "%.6g", d);
        break;
    }
    }
}

void pm_csv_write_row(FILE *f, const pm_row *row)
{
    for (size_t i = 0; i < PM__NCOL; i++) {
        if (i)
            fputc(',', f);
        pm__write_field(f, row, &pm__columns[i]);
    }
    fputc('\n', f);
}

cJSON *pm_row_to_json(const pm_row *row)
{
    cJSON *obj = cJSON_CreateObject();
    if (!obj)
        return NULL;
    bool ok = cJSON_AddStringToObject(obj, "kind", "point") != NULL;
    for (size_t i = 0; ok && i < PM__NCOL; i++) {
        const pm__column *col = &pm__columns[i];
        const char *p = (const char *)row + col->offset;
        switch (col->type) {
        case PM__STR:
            ok = cJSON_AddStringToObject(obj, col->name, p) != NULL;
            break;
        case PM__INT:
            ok = cJSON_AddNumberToObject(obj, col->name, *(const int *)(const void *)p) != NULL;
            break;
        case PM__LONG:
            ok = cJSON_AddNumberToObject(obj, col->name, (double)*(const long *)(const void *)p) !=
                 NULL;
            break;
        case PM__DBL: {
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
    if (col->type == PM__DBL) {
        *(double *)(void *)p = v;
        return true;
    }
    double lo = col->type == PM__INT ? (double)INT_MIN : -9.0e15;
    double hi = col->type == PM__INT ? (double)INT_MAX : 9.0e15;
    if (v != floor(v) || v < lo || v > hi) {
        snprintf(err, errlen, "column %s: '%s' is not an integer in [%.0f, %.0f]", col->name, text,
                 lo, hi);
        return false;
    }
    if (col->type == PM__INT)
        *(int *)(void *)p = (int)v;
    else
        *(long *)(void *)p = (long)v;
    return true;
}

static bool pm__set(pm_row *row, const pm__column *col, const char *text, char *err, size_t errlen)
{
    char *p = (char *)row + col->offset;
    if (col->type == PM__STR)
        return pm__set_str(col, p, text, err, errlen);
    if (*text == '\0') {
        /* An empty figure is an unmeasured one; an empty integer has no such
         * meaning. */
        if (col->type == PM__DBL) {
            *(double *)(void *)p = NAN;
            return true;
        }
        snprintf(err, errlen, "column %s: empty, expected an integer", col->name);
        return false;
    }
    char *end = NULL;
    errno = 0;
    if (col->type == PM__DBL) {
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
    if (col->type == PM__INT && (v < INT_MIN || v > INT_MAX)) {
        snprintf(err, errlen, "column %s: '%s' is out of range [%d, %d]", col->name, text, INT_MIN,
                 INT_MAX);
        return false;
    }
    if (col->type == PM__INT)
        *(int *)(void *)p = (int)v;
    else
        *(long *)(void *)p = (long)v;
    return true;
}

bool pm_row_check(const pm_row *row, char *err, size_t errlen)
{
    if (row->plan[0] == '\0') {
        snprintf(err, errlen, "column plan: empty");
        return false;
    }
    if (!pm_status_known(row->status)) {
        snprintf(err, errlen,
                 "column status: '%s' is not one of ok, invalid, errors, failed, timeout, skipped",
                 row->status);
        return false;
    }
    struct {
        const char *name;
        long v, min, max;
    } ints[] = {
        {"vcpus", row->vcpus, 1, 1 << 20},
        {"cpu_threads", row->cpu_threads, 0, 1 << 20},
        {"io_threads", row->io_threads, 0, 1 << 20},
        {"async", row->async, 0, 1},
        {"concurrency", row->concurrency, 1, INT_MAX},
        {"run_idx", row->run_idx, 0, INT_MAX},
        {"timeout_killed", row->timeout_killed, 0, 1},
        {"ru_maxrss", row->ru_maxrss, 0, LONG_MAX},
        {"requests", row->requests, 0, LONG_MAX},
        {"errors", row->errors, 0, row->requests > 0 ? row->requests : 0},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        if (ints[i].v < ints[i].min || ints[i].v > ints[i].max) {
            snprintf(err, errlen, "column %s: %ld is outside [%ld, %ld]%s", ints[i].name, ints[i].v,
                     ints[i].min, ints[i].max,
                     strcmp(ints[i].name, "errors") == 0 ? " (errors are counted in requests)"
                                                         : "");
            return false;
        }
    }
    struct {
        const char *name;
        double v;
        bool needed; /* by the report's tables and plots, in an ok row */
    } figs[] = {
        {"qps", row->qps, true},
        {"p50_us", row->p50_us, true},
        {"p90_us", row->p90_us, true},
        {"p99_us", row->p99_us, true},
        {"max_us", row->max_us, true},
        {"duration_sec", row->duration_sec, false},
        {"p999_us", row->p999_us, false},
        {"mean_us", row->mean_us, false},
        {"measured_sec", row->measured_sec, false},
        {"rate_target", row->rate_target, false},
        {"achieved_rate", row->achieved_rate, false},
        {"in_flight_at_end", row->in_flight_at_end, false},
        {"oldest_in_flight_us", row->oldest_in_flight_us, false},
        {"little_in_flight", row->little_in_flight, false},
    };
    bool ok_row = strcmp(row->status, "ok") == 0;
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++) {
        if (isnan(figs[i].v) && figs[i].needed && ok_row) {
            snprintf(err, errlen, "column %s: empty in a row with status ok", figs[i].name);
            return false;
        }
        if (!isnan(figs[i].v) && !(figs[i].v >= 0 && isfinite(figs[i].v))) {
            snprintf(err, errlen, "column %s: %g is not a finite number >= 0", figs[i].name,
                     figs[i].v);
            return false;
        }
    }
    if (row->mode[0] && strcmp(row->mode, "open") != 0 && strcmp(row->mode, "closed") != 0) {
        snprintf(err, errlen, "column mode: '%s' is neither open nor closed", row->mode);
        return false;
    }
    return true;
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
        char text[64];
        if (col->type == PM__STR) {
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
            snprintf(text, sizeof text, "%.17g", item->valuedouble);
            if (!pm__set_num(col, p, item->valuedouble, text, err, errlen))
                return false;
        }
    }
    return pm_row_check(row, err, errlen);
}

/* Splits one CSV line in place (RFC 4180 quoting, no line breaks inside a
 * field). Returns the number of fields, or 0 when a quote is unbalanced or
 * there are more than max fields. */
static size_t pm__split(char *line, char **fields, size_t max)
{
    size_t n = 0;
    char *r = line, *w = line;
    for (;;) {
        if (n == max)
            return 0;
        fields[n++] = w;
        if (*r == '"') {
            r++;
            for (;;) {
                if (*r == '\0')
                    return 0;
                if (*r == '"' && r[1] == '"') {
                    *w++ = '"';
                    r += 2;
                } else if (*r == '"') {
                    r++;
                    break;
                } else {
                    *w++ = *r++;
                }
            }
            if (*r != ',' && *r != '\0')
                return 0;
        } else {
            while (*r && *r != ',')
                *w++ = *r++;
        }
        bool more = *r == ',';
        *w++ = '\0';
        if (!more)
            return n;
        r++;
    }
}

#define PM__MAX_FIELDS 256

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
    const pm__column *map[PM__MAX_FIELDS] = {0};
    char *fields[PM__MAX_FIELDS];
    size_t ncols = 0, lineno = 0, rowno = 0;
    bool ok = true;
    while (ok && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (lineno > 1 && len == 0)
            continue;
        size_t nf = pm__split(line, fields, PM__MAX_FIELDS);
        if (nf == 0) {
            snprintf(err, errlen, "%s:%zu: unbalanced quote or more than %d fields", path, lineno,
                     PM__MAX_FIELDS);
            ok = false;
            break;
        }
        if (lineno == 1) {
            /* Columns are found by name, so CSVs written by a newer reporter
             * with more appended columns still merge; the seed's columns are
             * what every table and plot needs. */
            ncols = nf;
            bool seen[PM__NCOL] = {0};
            for (size_t i = 0; i < nf; i++) {
                map[i] = NULL;
                for (size_t c = 0; c < PM__NCOL; c++) {
                    if (strcmp(fields[i], pm__columns[c].name) != 0)
                        continue;
                    if (seen[c]) {
                        snprintf(err, errlen, "%s:1: column %s appears twice", path,
                                 pm__columns[c].name);
                        ok = false;
                    }
                    seen[c] = true;
                    map[i] = &pm__columns[c];
                }
            }
            if (ok && !seen[1]) {
                snprintf(err, errlen, "%s:1: not a perfmatrix CSV (no 'plan' column)", path);
                ok = false;
            }
            for (size_t c = 0; ok && c < PM__SEED_COLUMNS; c++) {
                if (!seen[c]) {
                    snprintf(err, errlen, "%s:1: required column %s is missing", path,
                             pm__columns[c].name);
                    ok = false;
                }
            }
            continue;
        }
        rowno++;
        if (nf != ncols) {
            snprintf(err, errlen, "%s:%zu: row %zu has %zu fields, the header has %zu", path,
                     lineno, rowno, nf, ncols);
            ok = false;
            break;
        }
        pm_row row;
        pm_row_init(&row);
        char why[PM_ERR_LEN];
        for (size_t i = 0; ok && i < nf; i++) {
            if (map[i] && !pm__set(&row, map[i], fields[i], why, sizeof why)) {
                snprintf(err, errlen, "%s:%zu: row %zu: %s", path, lineno, rowno, why);
                ok = false;
            }
        }
        /* The seed's CSVs have no status column: its exit columns say it. */
        if (ok && row.status[0] == '\0')
            snprintf(row.status, sizeof row.status, "%s",
                     row.timeout_killed ? "timeout"
                     : row.exit_code    ? "failed"
                                        : "ok");
        if (ok && !pm_row_check(&row, why, sizeof why)) {
            snprintf(err, errlen, "%s:%zu: row %zu: %s", path, lineno, rowno, why);
            ok = false;
        }
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

bool pm_rows_note(pm_rows *rows, const char *line)
{
    size_t old = rows->notes ? strlen(rows->notes) : 0, add = strlen(line);
    char *notes = realloc(rows->notes, old + add + 2);
    if (!notes)
        return false;
    memcpy(notes + old, line, add);
    memcpy(notes + old + add, "\n", 2);
    rows->notes = notes;
    return true;
}

void pm_rows_free(pm_rows *rows)
{
    free(rows->v);
    free(rows->notes);
    rows->v = NULL;
    rows->notes = NULL;
    rows->n = rows->cap = 0;
}

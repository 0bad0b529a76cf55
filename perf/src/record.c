#include "perfmatrix/record.h"

#include "columns.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PM__COL(field, type) PM__COLUMN(pm_row, field, PM__COL_##type)

/* The engine points' table. The first PM__SEED_COLUMNS are the seed's; new
 * columns are only ever appended. */
static const pm__column pm__columns[] = {
    PM__COL(ts, STR),
    PM__COL(plan, STR),
    PM__COL(vcpus, INT),
    PM__COL(cpu_threads, INT),
    PM__COL(io_threads, INT),
    PM__COL(async, INT),
    PM__COL(concurrency, INT),
    PM__COL(duration_sec, DBL),
    PM__COL(run_idx, INT),
    PM__COL(qps, DBL),
    PM__COL(p50_us, DBL),
    PM__COL(p90_us, DBL),
    PM__COL(p99_us, DBL),
    PM__COL(max_us, DBL),
    PM__COL(ru_maxrss, LONG),
    PM__COL(exit_code, INT),
    PM__COL(timeout_killed, INT),
    PM__COL(requests, LONG),
    PM__COL(errors, LONG),
    PM__COL(p999_us, DBL),
    PM__COL(mean_us, DBL),
    PM__COL(measured_sec, DBL),
    PM__COL(warmup_iters, INT),
    PM__COL(nproc, INT),
    PM__COL(pinned_cpus, INT),
    PM__COL(git_sha, STR),
    PM__COL(status, STR),
    PM__COL(test, STR),
    PM__COL(mode, STR),
    PM__COL(rate_target, DBL),
    PM__COL(achieved_rate, DBL),
    PM__COL(in_flight_at_end, DBL),
    PM__COL(oldest_in_flight_us, DBL),
    PM__COL(little_in_flight, DBL),
    PM__COL(reason, STR),
};

#define PM__NCOL         (sizeof pm__columns / sizeof pm__columns[0])
#define PM__SEED_COLUMNS 17

static const pm__row_table pm__table = {"point", pm__columns, PM__NCOL, 6};

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
    if (header[0] == '\0')
        pm__columns_header(&pm__table, header, sizeof header);
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

/* Numbers with 17 significant digits would be noise, so doubles keep 6 (as
 * the seed's CSVs do). */
void pm_csv_write_row(FILE *f, const pm_row *row)
{
    pm__columns_write_csv(&pm__table, f, row);
}

cJSON *pm_row_to_json(const pm_row *row)
{
    return pm__columns_to_json(&pm__table, row);
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
    return pm__columns_from_json(&pm__table, obj, row, err, errlen) &&
           pm_row_check(row, err, errlen);
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
            if (map[i] && !pm__columns_set_text(map[i], &row, fields[i], why, sizeof why)) {
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
    rows->v = pm__rows_append(rows->v, &rows->n, &rows->cap, sizeof *rows->v, row);
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

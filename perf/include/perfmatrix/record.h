/* One measured point, and its CSV and JSON forms. The CSV keeps the seed's
 * columns in the seed's order; later columns are only ever appended. */
#ifndef PERFMATRIX_RECORD_H
#define PERFMATRIX_RECORD_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define PM_ERR_LEN 512

typedef struct {
    /* The seed's columns. */
    char ts[32];
    char plan[64];
    int vcpus;
    int cpu_threads;
    int io_threads;
    int async;
    int concurrency;
    double duration_sec;
    int run_idx;
    double qps;
    double p50_us;
    double p90_us;
    double p99_us;
    double max_us;
    long ru_maxrss;
    int exit_code;
    int timeout_killed;
    /* Appended columns. */
    long requests;
    long errors;
    double p999_us;
    double mean_us;
    double measured_sec;
    int warmup_iters;
    int nproc;
    int pinned_cpus;
    char git_sha[48];
    char status[16];
    char test[160];
    /* Appended for the self-checks (issue 7). NaN means "not reported", which
     * is what result files written before these fields hold. */
    char mode[8];               /* "closed" or "open"; empty when unknown */
    double rate_target;         /* open loop: the requested rate (req/s) */
    double achieved_rate;       /* open loop: the rate the program reached */
    double in_flight_at_end;    /* requests still in flight when the window closed */
    double oldest_in_flight_us; /* how long the oldest of them had waited */
    double little_in_flight;    /* closed loop: qps x mean latency, by the driver */
    /* Free text; the CSV quotes it (RFC 4180) and turns line breaks into
     * spaces. */
    char reason[320];
} pm_row;

/* The statuses a row may have: ok, invalid (measured, but a self-check
 * failed), errors (some requests failed), failed, timeout, skipped. */
bool pm_status_known(const char *status);

typedef struct {
    pm_row *v;
    size_t n;
    size_t cap;
    /* Lines about inputs that could not become rows (a torn result file),
     * so the summary can list them instead of dropping them silently. */
    char *notes;
} pm_rows;

/* The CSV header line, without the newline. */
const char *pm_csv_header(void);

/* The name of CSV column i (the seed's come first), NULL past the end. */
const char *pm_csv_column_name(size_t i);

void pm_row_init(pm_row *row);
void pm_csv_write_row(FILE *f, const pm_row *row);
cJSON *pm_row_to_json(const pm_row *row);

/* Reads the known fields of a result object; unknown ones are ignored so
 * newer files stay readable. Refuses (with the field named) a value of the
 * wrong type, out of its type's range, non-finite, or a string too long for
 * its field, then checks the row as pm_row_check does. */
bool pm_row_from_json(const cJSON *obj, pm_row *row, char *err, size_t errlen);

/* Checks that a row's values make sense (concurrency >= 1, vcpus >= 1, async
 * 0 or 1, a known status, figures >= 0, and for an "ok" row every figure the
 * report draws present). On failure err names the column. */
bool pm_row_check(const pm_row *row, char *err, size_t errlen);

/* Appends every row of a CSV written by pm_csv_write_row (any column order,
 * columns named by the header, unknown columns ignored). The seed's columns
 * are required; a missing one, a malformed or out-of-range value, or a row
 * failing pm_row_check is refused with the row and column named. */
bool pm_csv_read(const char *path, pm_rows *rows, char *err, size_t errlen);

bool pm_rows_push(pm_rows *rows, const pm_row *row);

/* Appends one line to rows->notes; false when out of memory. */
bool pm_rows_note(pm_rows *rows, const char *line);
void pm_rows_free(pm_rows *rows);

#endif

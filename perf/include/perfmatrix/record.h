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
    /* JSON only: free text may hold commas. */
    char reason[256];
} pm_row;

typedef struct {
    pm_row *v;
    size_t n;
    size_t cap;
} pm_rows;

/* The CSV header line, without the newline. */
const char *pm_csv_header(void);

/* Number of CSV columns and the first seed-defined ones (17). */
size_t pm_csv_column_count(void);
const char *pm_csv_column_name(size_t i);

void pm_row_init(pm_row *row);
void pm_csv_write_row(FILE *f, const pm_row *row);
cJSON *pm_row_to_json(const pm_row *row);

/* Reads the known fields of a result object; unknown ones are ignored so
 * newer files stay readable. */
bool pm_row_from_json(const cJSON *obj, pm_row *row, char *err, size_t errlen);

/* Appends every row of a CSV written by pm_csv_write_row (any column order,
 * columns named by the header). */
bool pm_csv_read(const char *path, pm_rows *rows, char *err, size_t errlen);

bool pm_rows_push(pm_rows *rows, const pm_row *row);
void pm_rows_free(pm_rows *rows);

#endif

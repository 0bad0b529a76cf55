/* One sweep point: runs the measured program with the point's knobs, its own
 * deadline and pinning, and turns what happened into a pm_row. */
#ifndef PERFMATRIX_POINT_H
#define PERFMATRIX_POINT_H

#include "perfmatrix/record.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *plan;
    const char *test_name;
    int async;
    int concurrency;
    int run_idx;
    int io_threads;
    int warmup_iters;
    int vcpus; /* --cpu_threads; pinned to min(vcpus, nproc) CPUs */
    double duration_sec;
    double timeout_sec;
    const char *redis;    /* host:port passed as --redis, or NULL */
    char *const *command; /* the program and its fixed arguments */
    size_t command_len;
    bool echo; /* copy the program's stdout to ours */
} pm_point_config;

typedef enum { PM_POINT_OK, PM_POINT_FAILED, PM_POINT_SKIPPED } pm_point_status;

/* Runs the point and fills row (status and reason included). Returns false
 * with err only when the program could not be started at all. */
bool pm_point_run(const pm_point_config *cfg, pm_row *row, pm_point_status *status, char *err,
                  size_t errlen);

/* Fills the measured fields of row from the program's JSON output. */
bool pm_point_parse_output(const char *out, pm_row *row, char *err, size_t errlen);

/* Prints a <CTestMeasurement> tag per recorded figure of row. */
void pm_point_print_measurements(const pm_row *row);

/* Prints one <CTestMeasurement> tag. */
void pm_print_measurement(const char *name, double value);

#endif

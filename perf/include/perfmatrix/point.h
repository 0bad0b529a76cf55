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
    double rate;          /* open loop: --rate, requests per second; <= 0: closed loop */
    const char *redis;    /* host:port passed as --redis, or NULL */
    char *const *command; /* the program and its fixed arguments */
    size_t command_len;
    bool echo; /* copy the program's stdout to ours */
} pm_point_config;

typedef enum { PM_POINT_OK, PM_POINT_FAILED, PM_POINT_SKIPPED } pm_point_status;

/* The driver's own self-checks, applied to every point whatever the program
 * says about itself (issue 7): in a closed loop, Little's law: QPS x mean
 * latency must be within this fraction of the concurrency... */
#define PM_CHECK_LITTLE_TOLERANCE 0.10
/* ...in an open loop, the achieved rate within this fraction of the target... */
#define PM_CHECK_RATE_TOLERANCE 0.05
/* ...and no request still in flight at the end may have waited more than
 * this multiple of the slowest completed one: its latency would be missing
 * from the tail. */
#define PM_CHECK_CENSORED_FACTOR 2.0

/* Runs the point and fills row (status and reason included). Returns false
 * with err only when the program could not be started at all. */
bool pm_point_run(const pm_point_config *cfg, pm_row *row, pm_point_status *status, char *err,
                  size_t errlen);

/* Fills the measured fields of row from the program's JSON output. Every
 * figure the point needs (qps, p50/p90/p99/max/mean_us, requests, errors)
 * must be a finite number >= 0, with errors <= requests; the optional ones
 * (mode, rate_target, achieved_rate, in_flight_at_end, oldest_in_flight_us)
 * must be valid when present. Returns false with err naming the field. When
 * the program marks its own result "status": "invalid", row->status becomes
 * "invalid" and row->reason its invalid_reason. */
bool pm_point_parse_output(const char *out, pm_row *row, char *err, size_t errlen);

/* The driver's self-checks on a parsed row (see PM_CHECK_*); also records
 * little_in_flight for a closed loop. Returns false with the reason. */
bool pm_point_check(pm_row *row, char *why, size_t whylen);

/* Prints a <CTestMeasurement> tag per recorded figure of row. */
void pm_point_print_measurements(const pm_row *row);

/* Prints one <CTestMeasurement> tag. */
void pm_print_measurement(const char *name, double value);

#endif

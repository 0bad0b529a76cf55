/* `perfmatrix compare BASE.csv NEW.csv`: a verdict per point present in both
 * sweeps (plan, mode, vcpus, concurrency), from their runs, that accounts for
 * noise (see perf/README.md, "Comparing two sweeps"). */
#ifndef PERFMATRIX_COMPARE_H
#define PERFMATRIX_COMPARE_H

#include "perfmatrix/record.h"
#include "perfmatrix/stats.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum {
    PM_COMPARE_QPS,
    PM_COMPARE_P50,
    PM_COMPARE_P99,
} pm_compare_metric;

typedef enum {
    PM_VERDICT_NO_CHANGE,
    PM_VERDICT_FASTER,
    PM_VERDICT_SLOWER,
    PM_VERDICT_TOO_FEW_RUNS,
} pm_verdict;

typedef struct {
    pm_compare_metric metric;
    double alpha;     /* significance level of the test */
    double threshold; /* a slowdown gates only beyond this relative change */
} pm_compare_options;

typedef struct {
    char plan[64];
    int async;
    int vcpus;
    int concurrency;
    size_t n_base, n_new;
    double median_base, median_new;
    pm_change change; /* relative change of the metric's median */
    double p;         /* Mann-Whitney two-sided p-value */
    pm_verdict verdict;
    bool regression; /* slower, and beyond the threshold */
} pm_compare_row;

const char *pm_verdict_name(pm_verdict v);
bool pm_compare_metric_parse(const char *text, pm_compare_metric *out);
const char *pm_compare_metric_name(pm_compare_metric m);

/* Compares the ok rows of both sweeps point by point; *out is malloc'd and
 * sorted by plan, mode, vcpus and concurrency. Returns the number of rows. */
size_t pm_compare(const pm_rows *base, const pm_rows *fresh, const pm_compare_options *opt,
                  pm_compare_row **out);

/* The comparison as a text table, followed by a one-line verdict. */
void pm_compare_write(FILE *f, const pm_compare_row *rows, size_t n, const pm_compare_options *opt);

#endif

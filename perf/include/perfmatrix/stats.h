/* Statistics for comparing two sets of runs of one point: the Mann-Whitney U
 * test (exact for small samples, normal with a tie correction beyond) and a
 * percentile bootstrap interval of the relative change of the medians. Both
 * are rank or resampling methods, so a single outlier run (common on a
 * shared host) cannot dominate the verdict. */
#ifndef PERFMATRIX_STATS_H
#define PERFMATRIX_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest sample size per side for which the exact U distribution is used. */
#define PM_MWU_EXACT_MAX 30

/* Two-sided p-value of the Mann-Whitney U test of a against b. */
double pm_mann_whitney_p(const double *a, size_t na, const double *b, size_t nb);

/* The smallest two-sided p-value any data could give with these sample
 * sizes: when it exceeds alpha, no verdict is possible. */
double pm_mann_whitney_min_p(size_t na, size_t nb);

/* Median of new over median of base, minus one, with a (1 - alpha) percentile
 * bootstrap interval from `resamples` resamples drawn with a fixed seed (so a
 * comparison is reproducible). */
typedef struct {
    double change;
    double low;
    double high;
} pm_change;

pm_change pm_median_change(const double *base, size_t nb, const double *fresh, size_t nn,
                           double alpha, unsigned resamples, uint64_t seed);

#endif

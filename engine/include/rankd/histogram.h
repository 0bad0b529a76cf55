/* A log-linear latency histogram in the manner of HdrHistogram: values from
 * 1 us to 60 s (in nanoseconds) with 3 significant decimal digits, constant
 * time to record, mergeable across threads. */
#ifndef RANKD_HISTOGRAM_H
#define RANKD_HISTOGRAM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 2048 sub-buckets give 3 significant digits; the unit is 512 ns (the
 * power of two below 1 us); 17 buckets of doubling range reach past 60 s. */
#define RANKD_HIST_UNIT_SHIFT 9
#define RANKD_HIST_SUB_SHIFT  11
#define RANKD_HIST_BUCKETS    17
#define RANKD_HIST_COUNTS     ((RANKD_HIST_BUCKETS + 1) << (RANKD_HIST_SUB_SHIFT - 1))
#define RANKD_HIST_MAX_NS     60000000000ull

typedef struct rankd_hist {
    uint64_t counts[RANKD_HIST_COUNTS];
    uint64_t total;
    uint64_t min_ns;
    uint64_t max_ns;
    double sum_ns;
} rankd_hist;

void rankd_hist_reset(rankd_hist *h);

/* Values above 60 s are recorded as 60 s; max_ns keeps the true maximum. */
void rankd_hist_record(rankd_hist *h, uint64_t ns);

void rankd_hist_merge(rankd_hist *into, const rankd_hist *from);

/* The value at a percentile (0-100), in ns: the highest value equivalent to
 * the bucket holding it, never above the recorded maximum; 0 when empty. */
uint64_t rankd_hist_percentile(const rankd_hist *h, double percentile);

double rankd_hist_mean(const rankd_hist *h);

#ifdef __cplusplus
}
#endif

#endif

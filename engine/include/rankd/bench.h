/* rankd's bench mode: drives a plan with a closed loop (a fixed number of
 * requests in flight) or an open loop (requests at a fixed rate, latency
 * timed from each request's intended start so a stall cannot hide). */
#ifndef RANKD_BENCH_H
#define RANKD_BENCH_H

#include "rankd/histogram.h"
#include "rankd/rankd.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rankd_bench_config {
    const rankd_plan *plan;
    bool async;
    uint32_t cpu_threads;
    uint32_t io_threads;
    /* Closed loop: requests in flight. Open loop: the most in flight. */
    uint32_t concurrency;
    /* Requests per second for the open loop; 0 for the closed loop. */
    double rate;
    /* Measured requests (after warm-up); 0 when duration_sec decides. */
    uint64_t requests;
    /* Measured seconds (after warm-up); 0 when requests decides. */
    double duration_sec;
    uint64_t warmup_iters;
    /* Request i asks for user base_user_id + i % 1024. */
    uint64_t base_user_id;
    const char *redis_addr;
    /* Print one progress line a second to stderr. */
    bool progress;
} rankd_bench_config;

typedef struct rankd_bench_result {
    uint64_t requests; /* measured completions, failed ones included */
    uint64_t errors;
    double elapsed_sec;
    double qps; /* successful requests per second */
    double achieved_rate;
    double p50_us, p90_us, p99_us, p999_us, max_us, min_us, mean_us;
    uint64_t ru_maxrss_kb;
    /* False when the kernel refused to reset the peak RSS after warm-up:
     * ru_maxrss_kb then includes start-up and warm-up. */
    bool rss_reset;
    double ns_per_node;
    char first_error[256];
} rankd_bench_result;

int rankd_bench_run(const rankd_bench_config *cfg, rankd_bench_result *res, rankd_error *err);

#ifdef __cplusplus
}
#endif

#endif

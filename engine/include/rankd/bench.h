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
    /* Every measured request that completed, failed ones included. */
    uint64_t requests;
    /* The failed ones among them. */
    uint64_t errors;
    /* The measured window: from the end of warm-up to the last completion
     * (or to the moment in-flight requests were censored). */
    double elapsed_sec;
    double qps;           /* successful requests per second */
    double achieved_rate; /* completed requests (failed included) per second */
    /* Latencies of successful requests and of censored ones (at their
     * elapsed time, a lower bound). */
    double p50_us, p90_us, p99_us, p999_us, max_us, min_us, mean_us;
    uint64_t ru_maxrss_kb;
    /* False when the kernel refused to reset the peak RSS after warm-up:
     * ru_maxrss_kb then includes start-up and warm-up. */
    bool rss_reset;
    double ns_per_node;
    /* Wake-ups the async scheduler caused per measured request (futex wakes
     * of CPU workers, eventfd wakes of I/O loops); 0 for sync, which wakes
     * no thread. */
    double wakeups_per_request;
    /* Requests still running when the bounded wait after the deadline
     * ended: censored, their elapsed time recorded, never dropped. */
    uint64_t in_flight_at_end;
    double oldest_in_flight_us;
    /* Closed loop: the requests in flight by Little's law, completion rate
     * times mean latency (every measured request); NAN in the open loop. */
    double little_in_flight;
    /* False when a self-check failed: closed loop, little_in_flight off the
     * concurrency by more than 10%; open loop, achieved_rate below 95% of
     * the target. invalid_reason says which, with the figures. */
    bool valid;
    char invalid_reason[192];
    char first_error[256];
} rankd_bench_result;

/* How long the bench waits for requests in flight after a duration run's
 * deadline before it censors them: this plus twice the plan's critical
 * path of sleeps. */
#define RANKD_BENCH_DRAIN_NS 1000000000ull

int rankd_bench_run(const rankd_bench_config *cfg, rankd_bench_result *res, rankd_error *err);

/* The result as the JSON object `rankd --json` prints: the contract with
 * perfmatrix, every field listed in engine/README.md ("Bench result").
 * git_sha names the build measured. Running out of memory aborts (the
 * pmbase allocation policy); the caller frees it with cJSON_Delete. Declared with the struct tag so
 * that this header does not need cJSON's. */
struct cJSON *rankd_bench_json(const rankd_bench_config *cfg, const rankd_bench_result *res,
                               const char *git_sha);

/* The same figures as a readable block. */
void rankd_bench_print_text(FILE *out, const rankd_bench_config *cfg, const rankd_bench_result *res,
                            const char *git_sha);

#ifdef __cplusplus
}
#endif

#endif

/* rankd-bench: the engine's performance figures, measured in one run so
 * they can be compared as ratios. Prints one JSON object:
 *
 * - scheduler overhead: overhead_plan (8 trivial nodes) at concurrency 1,
 *   ns per node for the sync scheduler and the async one with 1 and 2 CPU
 *   threads;
 * - concat_plan: async QPS at concurrency 2 and 4 over sync at 1;
 * - parallel_sleep_plan, async closed loop at concurrency 1..128: QPS over
 *   the ideal concurrency / critical-path sleep, and p50 over that sleep;
 * - fairness: concat_plan, async on 2 CPU threads at concurrency 1, 4, 16
 *   and 64, and sync at 64: the longest latency over the p99, and the
 *   requests in flight by Little's law over the concurrency (1 when every
 *   slot is served and every request is counted).
 *
 * usage: rankd-bench [--plan_dir DIR] [--seconds S] */
#include "rankd/bench.h"

#include <cjson/cJSON.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef RANKD_PLAN_DIR
#define RANKD_PLAN_DIR "plans"
#endif

static int measure(const rankd_plan *plan, bool async, uint32_t cpu_threads, uint32_t concurrency,
                   double seconds, uint64_t warmup, rankd_bench_result *res)
{
    rankd_error err;
    rankd_bench_config cfg = {.plan = plan,
                              .async = async,
                              .cpu_threads = cpu_threads,
                              .io_threads = 1,
                              .concurrency = concurrency,
                              .duration_sec = seconds,
                              .warmup_iters = warmup,
                              .base_user_id = 1};
    if (rankd_bench_run(&cfg, res, &err) != RANKD_OK) {
        fprintf(stderr, "rankd-bench: %s\n", err.msg);
        return 1;
    }
    if (res->errors > 0) {
        fprintf(stderr, "rankd-bench: %s: %llu errors: %s\n", plan->name,
                (unsigned long long)res->errors, res->first_error);
        return 1;
    }
    fprintf(stderr,
            "rankd-bench: %-20s %-5s cpu_threads %u c%-3u %10.1f qps  p50 %9.1f us  p99 %9.1f us  "
            "max %10.1f us  Little %7.2f  %s\n",
            plan->name, async ? "async" : "sync", cpu_threads, concurrency, res->qps, res->p50_us,
            res->p99_us, res->max_us, res->little_in_flight, res->valid ? "ok" : "invalid");
    return 0;
}

static int run(const rankd_plan *overhead_plan, const rankd_plan *concat, const rankd_plan *sleep,
               double seconds, cJSON *out)
{
    static const struct {
        const char *key;
        bool async;
        uint32_t threads;
    } overhead[] = {{"overhead_ns_per_node_sync", false, 1},
                    {"overhead_ns_per_node_async_t1", true, 1},
                    {"overhead_ns_per_node_async_t2", true, 2}};
    rankd_bench_result r;
    char key[64];
    for (size_t i = 0; i < 3; i++) {
        if (measure(overhead_plan, overhead[i].async, overhead[i].threads, 1, seconds, 10000, &r) !=
            0)
            return 1;
        cJSON_AddNumberToObject(out, overhead[i].key, r.ns_per_node);
    }

    if (measure(concat, false, 1, 1, seconds, 1000, &r) != 0)
        return 1;
    double sync_qps = r.qps;
    cJSON_AddNumberToObject(out, "concat_sync_c1_qps", sync_qps);
    for (uint32_t c = 2; c <= 4; c *= 2) {
        if (measure(concat, true, 2, c, seconds, 1000, &r) != 0)
            return 1;
        snprintf(key, sizeof key, "concat_async_c%u_qps", c);
        cJSON_AddNumberToObject(out, key, r.qps);
        snprintf(key, sizeof key, "concat_async_c%u_over_sync_c1", c);
        cJSON_AddNumberToObject(out, key, r.qps / sync_qps);
    }

    double worst_qps = 1e9, worst_p50 = 0;
    double sleep_s = (double)sleep->critical_sleep_ns / 1e9;
    for (uint32_t c = 1; c <= 128; c *= 2) {
        if (measure(sleep, true, 2, c, seconds, 2 * c, &r) != 0)
            return 1;
        double qps_ratio = r.qps / ((double)c / sleep_s);
        double p50_ratio = r.p50_us / (sleep_s * 1e6);
        snprintf(key, sizeof key, "sleep_c%u_qps_over_ideal", c);
        cJSON_AddNumberToObject(out, key, qps_ratio);
        snprintf(key, sizeof key, "sleep_c%u_p50_over_sleep", c);
        cJSON_AddNumberToObject(out, key, p50_ratio);
        worst_qps = qps_ratio < worst_qps ? qps_ratio : worst_qps;
        worst_p50 = p50_ratio > worst_p50 ? p50_ratio : worst_p50;
    }
    static const struct {
        bool async;
        uint32_t concurrency;
    } fair[] = {{true, 1}, {true, 4}, {true, 16}, {true, 64}, {false, 64}};
    for (size_t i = 0; i < sizeof fair / sizeof fair[0]; i++) {
        if (measure(concat, fair[i].async, 2, fair[i].concurrency, seconds, 1000, &r) != 0)
            return 1;
        const char *mode = fair[i].async ? "async" : "sync";
        snprintf(key, sizeof key, "fair_%s_c%u_p99_us", mode, fair[i].concurrency);
        cJSON_AddNumberToObject(out, key, r.p99_us);
        snprintf(key, sizeof key, "fair_%s_c%u_max_us", mode, fair[i].concurrency);
        cJSON_AddNumberToObject(out, key, r.max_us);
        snprintf(key, sizeof key, "fair_%s_c%u_max_over_p99", mode, fair[i].concurrency);
        cJSON_AddNumberToObject(out, key, r.max_us / r.p99_us);
        snprintf(key, sizeof key, "fair_%s_c%u_little_over_c", mode, fair[i].concurrency);
        cJSON_AddNumberToObject(out, key, r.little_in_flight / fair[i].concurrency);
    }
    cJSON_AddNumberToObject(out, "sleep_min_qps_over_ideal", worst_qps);
    cJSON_AddNumberToObject(out, "sleep_max_p50_over_sleep", worst_p50);
    cJSON_AddNumberToObject(out, "seconds_per_point", seconds);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = RANKD_PLAN_DIR;
    double seconds = 2;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--plan_dir") == 0) {
            dir = argv[i + 1];
        } else if (strcmp(argv[i], "--seconds") == 0) {
            seconds = atof(argv[i + 1]);
        } else {
            fprintf(stderr, "rankd-bench: unknown flag '%s'\n", argv[i]);
            return 2;
        }
    }
    if (argc % 2 == 0 || !(seconds > 0)) {
        fprintf(stderr, "usage: rankd-bench [--plan_dir DIR] [--seconds S]\n");
        return 2;
    }

    static const char *const names[3] = {"overhead_plan", "concat_plan", "parallel_sleep_plan"};
    rankd_plan *plans[3] = {NULL, NULL, NULL};
    rankd_error err;
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) {
        if (rankd_plan_load_named(dir, names[i], &plans[i], &err) != RANKD_OK) {
            fprintf(stderr, "rankd-bench: %s\n", err.msg);
            rc = 2;
        }
    }
    cJSON *out = cJSON_CreateObject();
    if (rc == 0 && run(plans[0], plans[1], plans[2], seconds, out) != 0)
        rc = 1;
    if (rc == 0) {
        char *text = cJSON_PrintUnformatted(out);
        puts(text);
        free(text);
    }
    cJSON_Delete(out);
    for (int i = 0; i < 3; i++)
        rankd_plan_free(plans[i]);
    return rc;
}

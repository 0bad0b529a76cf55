/* rankd-ratios: the async scheduler against the sync one, as ratios
 * measured in one run (issue 13). Prints a Markdown table and the targets:
 *
 * - every shipped plan at concurrency 1, 2, 4, ... 128 and equal CPU
 *   threads: async QPS over sync QPS, which must be at least 0.95 on the
 *   CPU-only plans and 1.0 on the plans with I/O (the sync and async point
 *   of each row run one after the other, so they share the host's load);
 * - reels_plan_a at concurrency 1: async p50 over sync p50 (at most 1.2);
 * - overhead_plan at concurrency 1: async cost per node with two CPU
 *   threads over one (at most 1.2), and with one (under 60 ns);
 * - parallel_sleep_plan: async QPS over concurrency / 10 ms (at least
 *   0.97), beside the floor a plain 10 ms timerfd sleep sets on this host,
 *   measured in the same run.
 *
 * reels_plan_a needs a seeded Redis (--redis HOST:PORT); without one its
 * rows are left out and the summary says so.
 *
 * The async points run --io_threads I/O loops (default 2, as the perf
 * matrix's points do, PERF_IO_THREADS): with one loop, the Redis replies of
 * every request in flight are parsed on that one thread, which caps
 * reels_plan_a at about 0.75 of sync from c = 4 on this 2-core host.
 *
 * usage: rankd-ratios [--plan_dir DIR] [--seconds S] [--cpu_threads N]
 *                     [--io_threads N] [--redis HOST:PORT] */
#include "rankd/bench.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#ifndef RANKD_PLAN_DIR
#define RANKD_PLAN_DIR "plans"
#endif

#define MAX_CONCURRENCY 128

typedef struct ratios_config {
    const char *plan_dir;
    double seconds;
    uint32_t cpu_threads;
    uint32_t io_threads;
    const char *redis;
} ratios_config;

/* Runs one closed-loop point; the message names the plan and the mode. */
static int measure(const ratios_config *rc, const rankd_plan *plan, bool async,
                   uint32_t cpu_threads, uint32_t concurrency, rankd_bench_result *res)
{
    rankd_error err;
    rankd_bench_config cfg = {.plan = plan,
                              .async = async,
                              .cpu_threads = cpu_threads,
                              .io_threads = rc->io_threads,
                              .concurrency = concurrency,
                              .duration_sec = rc->seconds,
                              .warmup_iters = plan->has_io ? 4 * concurrency : 1000,
                              .base_user_id = 1,
                              .redis_addr = rc->redis};
    if (rankd_bench_run(&cfg, res, &err) != RANKD_OK) {
        fprintf(stderr, "rankd-ratios: %s, %s, c%u: %s\n", plan->name, async ? "async" : "sync",
                concurrency, err.msg);
        return 1;
    }
    /* A failed request (a Redis timeout on a starved host) is counted out
     * of the QPS by the bench; the point stands, marked in its row. */
    if (res->errors > 0)
        fprintf(stderr, "rankd-ratios: %s, %s, c%u: %llu errors: %s\n", plan->name,
                async ? "async" : "sync", concurrency, (unsigned long long)res->errors,
                res->first_error);
    return 0;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The median lateness of n plain timerfd sleeps of ns each, with the
 * timer slack the I/O loops use (1 ns), in ns; 0 when timerfd fails. */
static uint64_t timerfd_lateness(uint64_t ns, int n)
{
    uint64_t late[64];
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    if (fd < 0 || n > 64)
        return 0;
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    for (int i = 0; i < n; i++) {
        uint64_t due = rankd_now_ns() + ns;
        struct itimerspec its = {{0, 0},
                                 {(time_t)(due / 1000000000ull), (long)(due % 1000000000ull)}};
        uint64_t expirations;
        timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL);
        (void)!read(fd, &expirations, sizeof expirations);
        late[i] = rankd_now_ns() - due;
    }
    close(fd);
    qsort(late, (size_t)n, sizeof late[0], compare_u64);
    return late[n / 2];
}

typedef struct verdict {
    bool measured;
    bool met;
    double worst;
} verdict;

static void verdict_add(verdict *v, double ratio, bool at_least, double target)
{
    bool ok = at_least ? ratio >= target : ratio <= target;
    if (!v->measured) {
        v->measured = true;
        v->met = true;
        v->worst = ratio;
    }
    v->met = v->met && ok;
    if (at_least ? ratio < v->worst : ratio > v->worst)
        v->worst = ratio;
}

static void verdict_print(const char *what, const verdict *v)
{
    if (!v->measured)
        printf("- %s: not measured\n", what);
    else
        printf("- %s: %s (worst %.3f)\n", what, v->met ? "met" : "NOT met", v->worst);
}

static int run(const ratios_config *rc)
{
    static const char *const names[] = {"concat_plan", "regex_plan", "overhead_plan",
                                        "parallel_sleep_plan", "reels_plan_a"};
    verdict cpu = {0}, io = {0}, sleep_ideal = {0}, reels_p50 = {0}, two_threads = {0},
            one_thread = {0};
    double floor_ratio = 0;
    uint64_t late_ns = timerfd_lateness(10000000ull, 25);
    floor_ratio = 10e6 / (10e6 + (double)late_ns);
    printf("| plan | c | sync QPS | async QPS | async/sync | target | async wake-ups/req | "
           "Little/c sync, async |\n|---|---|---|---|---|---|---|---|\n");
    for (size_t p = 0; p < sizeof names / sizeof names[0]; p++) {
        bool reels = strcmp(names[p], "reels_plan_a") == 0;
        if (reels && rc->redis == NULL)
            continue;
        rankd_plan *plan;
        rankd_error err;
        if (rankd_plan_load_named(rc->plan_dir, names[p], &plan, &err) != RANKD_OK) {
            fprintf(stderr, "rankd-ratios: %s\n", err.msg);
            return 2;
        }
        double target = plan->has_io ? 1.0 : 0.95;
        for (uint32_t c = 1; c <= MAX_CONCURRENCY; c *= 2) {
            rankd_bench_result s, a;
            if (measure(rc, plan, false, rc->cpu_threads, c, &s) != 0 ||
                measure(rc, plan, true, rc->cpu_threads, c, &a) != 0) {
                rankd_plan_free(plan);
                return 1;
            }
            double ratio = a.qps / s.qps;
            verdict_add(plan->has_io ? &io : &cpu, ratio, true, target);
            printf("| %s | %u | %.0f | %.0f | %.3f | %s%.2f | %.3f | %.2f, %.2f%s |\n", plan->name,
                   c, s.qps, a.qps, ratio, ratio >= target ? ">= " : "**below** ", target,
                   a.wakeups_per_request, s.little_in_flight / c, a.little_in_flight / c,
                   s.errors + a.errors > 0 ? " (failed requests)" : "");
            fflush(stdout);
            if (plan->critical_sleep_ns > 0) {
                double ideal = c / ((double)plan->critical_sleep_ns / 1e9);
                verdict_add(&sleep_ideal, a.qps / ideal, true, 0.97);
            }
            if (reels && c == 1)
                verdict_add(&reels_p50, a.p50_us / s.p50_us, false, 1.2);
        }
        if (strcmp(names[p], "overhead_plan") == 0) {
            rankd_bench_result t1, t2;
            if (measure(rc, plan, true, 1, 1, &t1) != 0 ||
                measure(rc, plan, true, 2, 1, &t2) != 0) {
                rankd_plan_free(plan);
                return 1;
            }
            printf("| overhead_plan ns/node, c1 | 1 | async 1 thread %.1f | async 2 threads %.1f | "
                   "%.3f (2 over 1) | <= 1.20 | | |\n",
                   t1.ns_per_node, t2.ns_per_node, t2.ns_per_node / t1.ns_per_node);
            verdict_add(&two_threads, t2.ns_per_node / t1.ns_per_node, false, 1.2);
            verdict_add(&one_thread, t1.ns_per_node, false, 60);
        }
        rankd_plan_free(plan);
    }
    printf("\nTargets (%u CPU threads, %u I/O loops, %.1f s a point; timerfd 10 ms sleep late by "
           "%.1f us "
           "(median of 25), a QPS floor of %.4f of the ideal):\n",
           rc->cpu_threads, rc->io_threads, rc->seconds, (double)late_ns / 1e3, floor_ratio);
    verdict_print("CPU-only plans, async/sync QPS >= 0.95 at every c", &cpu);
    verdict_print(rc->redis != NULL
                      ? "plans with I/O, async/sync QPS >= 1.0 at every c"
                      : "plans with I/O (parallel_sleep_plan only: no --redis), async/sync >= 1.0",
                  &io);
    verdict_print("reels_plan_a c1, async p50 / sync p50 <= 1.2", &reels_p50);
    verdict_print("overhead_plan c1, ns/node with 2 CPU threads / 1 <= 1.2", &two_threads);
    verdict_print("overhead_plan c1, async ns/node on 1 thread < 60", &one_thread);
    verdict_print("parallel_sleep_plan, async QPS / (c / 10 ms) >= 0.97 at every c", &sleep_ideal);
    return 0;
}

int main(int argc, char **argv)
{
    ratios_config rc = {RANKD_PLAN_DIR, 1.0, 2, 2, NULL};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--plan_dir") == 0) {
            rc.plan_dir = argv[i + 1];
        } else if (strcmp(argv[i], "--seconds") == 0) {
            rc.seconds = atof(argv[i + 1]);
        } else if (strcmp(argv[i], "--cpu_threads") == 0) {
            rc.cpu_threads = (uint32_t)atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--io_threads") == 0) {
            rc.io_threads = (uint32_t)atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--redis") == 0) {
            rc.redis = argv[i + 1];
        } else {
            fprintf(stderr, "rankd-ratios: unknown flag '%s'\n", argv[i]);
            return 2;
        }
    }
    if (argc % 2 == 0 || !(rc.seconds > 0) || rc.cpu_threads < 1 || rc.io_threads < 1) {
        fprintf(stderr, "usage: rankd-ratios [--plan_dir DIR] [--seconds S] [--cpu_threads N] "
                        "[--io_threads N] [--redis HOST:PORT]\n");
        return 2;
    }
    return run(&rc);
}

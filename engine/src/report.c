/* The bench result as the rest of the project reads it: one JSON object
 * (the contract with perfmatrix, field by field in engine/README.md) and
 * the readable block. Both are built here, in the library, so a unit test
 * can hold the contract. */
#include "rankd/bench.h"

#include "pmbase/alloc.h"

#include <cjson/cJSON.h>

#include <math.h>
#include <unistd.h>

cJSON *rankd_bench_json(const rankd_bench_config *cfg, const rankd_bench_result *r,
                        const char *git_sha)
{
    const rankd_plan *plan = cfg->plan;
    cJSON *j = cJSON_CreateObject();
    if (j == NULL)
        pmb_oom("the bench result");
    cJSON_AddStringToObject(j, "plan", plan->name);
    cJSON_AddNumberToObject(j, "async", cfg->async ? 1 : 0);
    cJSON_AddStringToObject(j, "mode", cfg->rate > 0 ? "open" : "closed");
    cJSON_AddNumberToObject(j, "cpu_threads", cfg->cpu_threads);
    cJSON_AddNumberToObject(j, "io_threads", cfg->io_threads);
    cJSON_AddNumberToObject(j, "concurrency", cfg->concurrency);
    cJSON_AddNumberToObject(j, "rate_target", cfg->rate);
    cJSON_AddNumberToObject(j, "achieved_rate", r->achieved_rate);
    cJSON_AddNumberToObject(j, "requests", (double)r->requests);
    cJSON_AddNumberToObject(j, "errors", (double)r->errors);
    cJSON_AddNumberToObject(j, "warmup_iters", (double)cfg->warmup_iters);
    cJSON_AddNumberToObject(j, "duration_sec", r->elapsed_sec);
    cJSON_AddNumberToObject(j, "qps", r->qps);
    cJSON_AddNumberToObject(j, "p50_us", r->p50_us);
    cJSON_AddNumberToObject(j, "p90_us", r->p90_us);
    cJSON_AddNumberToObject(j, "p99_us", r->p99_us);
    cJSON_AddNumberToObject(j, "p999_us", r->p999_us);
    cJSON_AddNumberToObject(j, "max_us", r->max_us);
    cJSON_AddNumberToObject(j, "min_us", r->min_us);
    cJSON_AddNumberToObject(j, "mean_us", r->mean_us);
    cJSON_AddNumberToObject(j, "ru_maxrss_kb", (double)r->ru_maxrss_kb);
    cJSON_AddBoolToObject(j, "rss_reset", r->rss_reset);
    cJSON_AddNumberToObject(j, "nodes", plan->n_nodes);
    cJSON_AddNumberToObject(j, "ns_per_node", r->ns_per_node);
    cJSON_AddNumberToObject(j, "wakeups_per_request", r->wakeups_per_request);
    cJSON_AddNumberToObject(j, "critical_sleep_ms", (double)plan->critical_sleep_ns / 1e6);
    cJSON_AddNumberToObject(j, "nproc", (double)sysconf(_SC_NPROCESSORS_ONLN));
    cJSON_AddStringToObject(j, "git_sha", git_sha);
    cJSON_AddNumberToObject(j, "in_flight_at_end", (double)r->in_flight_at_end);
    cJSON_AddNumberToObject(j, "oldest_in_flight_us", r->oldest_in_flight_us);
    if (cfg->rate > 0 || !isfinite(r->little_in_flight))
        cJSON_AddNullToObject(j, "little_in_flight");
    else
        cJSON_AddNumberToObject(j, "little_in_flight", r->little_in_flight);
    cJSON_AddStringToObject(j, "status", r->valid ? "ok" : "invalid");
    if (!r->valid)
        cJSON_AddStringToObject(j, "invalid_reason", r->invalid_reason);
    if (r->errors > 0)
        cJSON_AddStringToObject(j, "first_error", r->first_error);
    return j;
}

void rankd_bench_print_text(FILE *out, const rankd_bench_config *cfg, const rankd_bench_result *r,
                            const char *git_sha)
{
    const rankd_plan *plan = cfg->plan;
    fprintf(out, "plan          %s (%u nodes)\n", plan->name, plan->n_nodes);
    fprintf(out, "scheduler     %s, cpu_threads %u, io_threads %u, nproc %ld\n",
            cfg->async ? "async" : "sync", cfg->cpu_threads, cfg->io_threads,
            sysconf(_SC_NPROCESSORS_ONLN));
    if (cfg->rate > 0)
        fprintf(out,
                "load          open loop, target %.1f req/s, achieved %.1f, max in flight %u\n",
                cfg->rate, r->achieved_rate, cfg->concurrency);
    else
        fprintf(out, "load          closed loop, concurrency %u, by Little's law %.2f\n",
                cfg->concurrency, r->little_in_flight);
    fprintf(out, "requests      %llu measured (%llu warm-up), %llu errors, %.3f s\n",
            (unsigned long long)r->requests, (unsigned long long)cfg->warmup_iters,
            (unsigned long long)r->errors, r->elapsed_sec);
    if (r->in_flight_at_end > 0)
        fprintf(out, "censored      %llu still in flight at the end, oldest %.1f us\n",
                (unsigned long long)r->in_flight_at_end, r->oldest_in_flight_us);
    fprintf(out, "throughput    %.1f req/s, %.1f ns per node, %.2f wake-ups per request\n", r->qps,
            r->ns_per_node, r->wakeups_per_request);
    fprintf(out, "latency (us)  p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f\n",
            r->p50_us, r->p90_us, r->p99_us, r->p999_us, r->max_us, r->mean_us);
    fprintf(out, "peak RSS      %llu kB%s\n", (unsigned long long)r->ru_maxrss_kb,
            r->rss_reset ? " (since warm-up)" : " (whole process)");
    if (r->errors > 0)
        fprintf(out, "first error   %s\n", r->first_error);
    fprintf(out, "status        %s%s%s\n", r->valid ? "ok" : "invalid", r->valid ? "" : ": ",
            r->valid ? "" : r->invalid_reason);
    fprintf(out, "git           %s\n", git_sha);
}

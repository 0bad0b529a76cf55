/* A stand-in for rankd's bench interface, so the perf harness is tested
 * without the engine: it accepts the same flags (--flag value and
 * --flag=value), sleeps for the measured duration and prints one JSON object
 * whose figures follow a Universal Scalability Law curve (sigma 0.05,
 * kappa 0.002, lambda 20000), with latencies from Little's law.
 * FAKE_RANKD_EXIT=<n> makes it exit with n (3 also reports errors).
 * --rate R runs an "open loop": it achieves min(R, the curve's QPS).
 * FAKE_RANKD_LATENCY=<f> multiplies every latency by f, so QPS x mean latency
 * no longer matches the concurrency (a point Little's law must reject).
 * FAKE_RANKD_STATUS=invalid marks the result invalid, as rankd does for its
 * own self-checks. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *flag_value(int argc, char **argv, const char *name)
{
    size_t len = strlen(name);
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], name, len) != 0)
            continue;
        if (argv[i][len] == '=')
            return argv[i] + len + 1;
        if (argv[i][len] == '\0' && i + 1 < argc)
            return argv[i + 1];
    }
    return NULL;
}

static double flag_number(int argc, char **argv, const char *name, double def)
{
    const char *v = flag_value(argc, argv, name);
    return v ? atof(v) : def;
}

int main(int argc, char **argv)
{
    const char *forced = getenv("FAKE_RANKD_EXIT");
    int exit_code = forced ? atoi(forced) : 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seed_redis") == 0) {
            const char *redis = flag_value(argc, argv, "--redis");
            if (!redis) {
                fprintf(stderr, "fake_rankd: --seed_redis needs --redis\n");
                return 2;
            }
            printf("seeded %s\n", redis);
            return 0;
        }
    }
    const char *plan = flag_value(argc, argv, "--plan_name");
    if (!plan) {
        fprintf(stderr, "fake_rankd: --plan_name is required\n");
        return 2;
    }
    double duration = flag_number(argc, argv, "--duration_sec", 1);
    double c = flag_number(argc, argv, "--concurrency", 1);
    int async = (int)flag_number(argc, argv, "--async", 1);
    struct timespec ts = {.tv_sec = (time_t)duration,
                          .tv_nsec = (long)((duration - floor(duration)) * 1e9)};
    nanosleep(&ts, NULL);
    double qps = 20000.0 * c / (1 + 0.05 * (c - 1) + 0.002 * c * (c - 1));
    if (!async)
        qps *= 0.8;
    double rate = flag_number(argc, argv, "--rate", 0);
    double mean_us = c / qps * 1e6;
    if (rate > 0) {
        qps = rate < qps ? rate : qps;
        mean_us = 1e6 / qps;
    }
    const char *factor = getenv("FAKE_RANKD_LATENCY");
    if (factor)
        mean_us *= atof(factor);
    const char *status = getenv("FAKE_RANKD_STATUS");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "plan", plan);
    cJSON_AddNumberToObject(o, "async", async);
    cJSON_AddNumberToObject(o, "cpu_threads", flag_number(argc, argv, "--cpu_threads", 1));
    cJSON_AddNumberToObject(o, "io_threads", flag_number(argc, argv, "--io_threads", 1));
    cJSON_AddNumberToObject(o, "concurrency", c);
    cJSON_AddStringToObject(o, "mode", rate > 0 ? "open" : "closed");
    cJSON_AddNumberToObject(o, "rate_target", rate);
    cJSON_AddNumberToObject(o, "achieved_rate", qps);
    cJSON_AddNumberToObject(o, "in_flight_at_end", 0);
    cJSON_AddNumberToObject(o, "oldest_in_flight_us", 0);
    if (rate > 0)
        cJSON_AddNullToObject(o, "little_in_flight");
    else
        cJSON_AddNumberToObject(o, "little_in_flight", qps * mean_us / 1e6);
    cJSON_AddStringToObject(o, "status", status ? status : "ok");
    if (status)
        cJSON_AddStringToObject(o, "invalid_reason", "FAKE_RANKD_STATUS was set");
    cJSON_AddNumberToObject(o, "requests", floor(qps * duration));
    cJSON_AddNumberToObject(o, "errors", exit_code == 3 ? 5 : 0);
    cJSON_AddNumberToObject(o, "duration_sec", duration);
    cJSON_AddNumberToObject(o, "qps", qps);
    cJSON_AddNumberToObject(o, "p50_us", mean_us * 0.9);
    cJSON_AddNumberToObject(o, "p90_us", mean_us * 1.5);
    cJSON_AddNumberToObject(o, "p99_us", mean_us * 3);
    cJSON_AddNumberToObject(o, "p999_us", mean_us * 5);
    cJSON_AddNumberToObject(o, "max_us", mean_us * 8);
    cJSON_AddNumberToObject(o, "mean_us", mean_us);
    cJSON_AddNumberToObject(o, "ru_maxrss_kb", 4096);
    cJSON_AddNumberToObject(o, "nodes", 6);
    cJSON_AddNumberToObject(o, "ns_per_node", mean_us * 1000 / 6);
    cJSON_AddNumberToObject(o, "nproc", 2);
    cJSON_AddStringToObject(o, "git_sha", "fake");
    char *text = cJSON_PrintUnformatted(o);
    printf("%s\n", text);
    cJSON_free(text);
    cJSON_Delete(o);
    return exit_code;
}

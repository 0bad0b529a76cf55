/* Command-line parsing for rankd. */
#include "rankd/options.h"

#include "internal.h"
#include "pmbase/number.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef RANKD_PLAN_DIR
#define RANKD_PLAN_DIR "plans"
#endif

static const char usage[] =
    "usage: rankd [flags] < request.json\n"
    "\n"
    "Runs a ranking plan. Without --bench or --duration_sec, reads one request\n"
    "({\"user_id\": N}) from stdin and prints the ranked response as JSON.\n"
    "\n"
    "  --plan_name NAME     plan to run (default concat_plan)\n"
    "  --plan_dir DIR       directory of plan files (default " RANKD_PLAN_DIR ")\n"
    "  --async 0|1          1: async scheduler (CPU pool + I/O loops), 0: sync (default 1)\n"
    "  --cpu_threads N      CPU workers of the async scheduler (default: CPUs online)\n"
    "  --io_threads N       libuv I/O loops of the async scheduler (default 1)\n"
    "  --redis HOST:PORT    Redis server for redis_fetch nodes (default 127.0.0.1:6379)\n"
    "  --seed_redis         write the feature keys the plan reads, then exit\n"
    "\n"
    "bench mode (the request on stdin, if any, gives the base user id):\n"
    "  --bench N            run N measured requests\n"
    "  --duration_sec S     run for S measured seconds\n"
    "  --warmup_iters W     requests run first and excluded from every figure (default 0)\n"
    "  --concurrency C      closed loop: C requests in flight (default 1);\n"
    "                       with --rate: at most C in flight (default 1024)\n"
    "  --rate R             open loop: R requests/s, latency from each intended start\n"
    "  --json               print the figures as one JSON object\n"
    "  --progress           print a progress line to stderr once a second\n"
    "\n"
    "exit codes: 0 ok, 1 runtime failure, 2 bad input (flag, plan, request),\n"
    "            3 the bench ran but some requests failed (counted in errors)\n";

const char *rankd_usage(void)
{
    return usage;
}

/* Flag values are parsed by pmbase's strict parsers, so every program of the
 * project refuses the same malformed numbers with the same words. */
static int parse_u64(const char *flag, const char *text, int64_t min, int64_t max, uint64_t *out,
                     rankd_error *err)
{
    pmb_error e;
    int64_t v;
    int rc = rankd__status(pmb_parse_i64(flag, text, min, max, &v, &e), &e, err);
    if (rc == RANKD_OK)
        *out = (uint64_t)v;
    return rc;
}

static int parse_double(const char *flag, const char *text, double min, double max, double *out,
                        rankd_error *err)
{
    pmb_error e;
    return rankd__status(pmb_parse_double(flag, text, min, max, out, &e), &e, err);
}

int rankd_options_parse(int argc, char **argv, rankd_options *o, rankd_error *err)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    *o = (rankd_options){
        .plan_name = "concat_plan",
        .plan_dir = RANKD_PLAN_DIR,
        .concurrency = 1,
        .cpu_threads = cpus > 0 ? (uint32_t)cpus : 1,
        .io_threads = 1,
        .async = true,
        .redis = "127.0.0.1:6379",
    };
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0)
            return rankd_error_set(err, RANKD_EINPUT, "unexpected argument '%s' (see --help)", arg);
        char flag[64];
        const char *eq = strchr(arg, '=');
        size_t len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
        if (len >= sizeof flag)
            return rankd_error_set(err, RANKD_EINPUT, "unknown flag '%.60s' (see --help)", arg);
        memcpy(flag, arg, len);
        flag[len] = '\0';

        /* Switches take no value. */
        bool *sw = NULL;
        if (strcmp(flag, "--json") == 0)
            sw = &o->json;
        else if (strcmp(flag, "--seed_redis") == 0)
            sw = &o->seed_redis;
        else if (strcmp(flag, "--progress") == 0)
            sw = &o->progress;
        else if (strcmp(flag, "--help") == 0)
            sw = &o->help;
        if (sw != NULL) {
            if (eq != NULL)
                return rankd_error_set(err, RANKD_EINPUT, "%s: takes no value", flag);
            *sw = true;
            continue;
        }

        const char *value = eq != NULL ? eq + 1 : NULL;
        if (value == NULL) {
            if (i + 1 >= argc)
                return rankd_error_set(err, RANKD_EINPUT, "%s: missing value", flag);
            value = argv[++i];
        }
        uint64_t u = 0;
        int rc = RANKD_OK;
        if (strcmp(flag, "--plan_name") == 0) {
            o->plan_name = value;
        } else if (strcmp(flag, "--plan_dir") == 0) {
            o->plan_dir = value;
        } else if (strcmp(flag, "--redis") == 0) {
            o->redis = value;
        } else if (strcmp(flag, "--bench") == 0) {
            rc = parse_u64(flag, value, 1, 1000000000000ll, &o->bench, err);
        } else if (strcmp(flag, "--duration_sec") == 0) {
            rc = parse_double(flag, value, 0.001, 86400, &o->duration_sec, err);
        } else if (strcmp(flag, "--warmup_iters") == 0) {
            rc = parse_u64(flag, value, 0, 1000000000000ll, &o->warmup_iters, err);
        } else if (strcmp(flag, "--concurrency") == 0) {
            rc = parse_u64(flag, value, 1, 100000, &u, err);
            o->concurrency = (uint32_t)u;
            o->concurrency_given = true;
        } else if (strcmp(flag, "--rate") == 0) {
            rc = parse_double(flag, value, 0.001, 1e8, &o->rate, err);
        } else if (strcmp(flag, "--cpu_threads") == 0) {
            rc = parse_u64(flag, value, 1, 1024, &u, err);
            o->cpu_threads = (uint32_t)u;
        } else if (strcmp(flag, "--io_threads") == 0) {
            rc = parse_u64(flag, value, 1, 256, &u, err);
            o->io_threads = (uint32_t)u;
        } else if (strcmp(flag, "--async") == 0) {
            rc = parse_u64(flag, value, 0, 1, &u, err);
            o->async = u == 1;
        } else {
            return rankd_error_set(err, RANKD_EINPUT, "unknown flag '%s' (see --help)", flag);
        }
        if (rc != RANKD_OK)
            return rc;
    }
    if (o->rate > 0 && !o->concurrency_given)
        o->concurrency = 1024;
    return RANKD_OK;
}

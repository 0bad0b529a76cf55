/* rankd: runs a ranking plan once (request on stdin, response on stdout)
 * or benchmarks it. Exit codes: 0 ok, 1 runtime failure, 2 bad input,
 * 3 the bench ran but some requests failed. */
#include "pmbase/alloc.h"
#include "pmbase/version.h"
#include "rankd/bench.h"
#include "rankd/options.h"
#include "rankd/rankd.h"

#include <cjson/cJSON.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { EXIT_RUNTIME = 1, EXIT_INPUT = 2, EXIT_REQUEST_ERRORS = 3 };

static int fail(int status, const char *msg)
{
    fprintf(stderr, "rankd: %s\n", msg);
    return status == RANKD_EINPUT ? EXIT_INPUT : EXIT_RUNTIME;
}

/* Reads stdin whole into *text (NULL when not read). In bench mode a
 * terminal is not read: the request is optional there and waiting for one
 * would hang. */
static int read_stdin(bool optional, char **text, size_t *len, rankd_error *err)
{
    struct stat st;
    *text = NULL;
    *len = 0;
    if (optional &&
        (isatty(0) || fstat(0, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode))))
        return RANKD_OK;
    return rankd_read_stream(stdin, "request: stdin", text, len, err);
}

static bool blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (strchr(" \t\r\n", s[i]) == NULL)
            return false;
    }
    return true;
}

static int print_bench(const rankd_options *o, const rankd_bench_config *cfg,
                       const rankd_bench_result *r)
{
    if (!o->json) {
        rankd_bench_print_text(stdout, cfg, r, pmb_git_sha());
    } else {
        cJSON *j = rankd_bench_json(cfg, r, pmb_git_sha());
        char *text = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        if (text == NULL)
            pmb_oom("the bench result as text");
        puts(text);
        free(text);
    }
    /* A point whose self-check failed still prints its figures (status
     * "invalid" in the JSON), and says so on stderr. */
    if (!r->valid)
        fprintf(stderr, "rankd: invalid measurement: %s\n", r->invalid_reason);
    return 0;
}

static int run_once(const rankd_options *o, const rankd_plan *plan, uint64_t user_id)
{
    rankd_error err;
    rankd_request *req = NULL;
    rankd_thread_ctx *ctx = NULL;
    rankd_sched *sched = NULL;
    int rc = rankd_request_create(plan, &req, &err);
    if (rc != RANKD_OK)
        return fail(rc, err.msg);
    rankd_request_reset(req, user_id);
    if (o->async) {
        rankd_sched_config sc = {o->cpu_threads, o->io_threads, o->redis, plan->has_io};
        rc = rankd_sched_create(&sc, &sched, &err);
        if (rc == RANKD_OK) {
            rc = rankd_run_async(sched, req);
            rankd_sched_destroy(sched);
        }
    } else {
        rc = rankd_thread_ctx_create(o->redis, &ctx, &err);
        if (rc == RANKD_OK)
            rc = rankd_run_sync(req, ctx);
        rankd_thread_ctx_free(ctx);
    }
    int status = 0;
    if (rc == RANKD_OK) {
        char *text = rankd_response_json(req);
        puts(text);
        free(text);
    } else {
        status = fail(rc, rankd_request_failed(req) ? rankd_request_error(req) : err.msg);
    }
    rankd_request_free(req);
    return status;
}

int main(int argc, char **argv)
{
    /* cJSON's allocations follow the pmbase policy too, so a result object
     * never silently lacks a field when memory runs out. */
    cJSON_InitHooks(&(cJSON_Hooks){.malloc_fn = pmb_malloc, .free_fn = free});
    rankd_options o;
    rankd_error err;
    rankd_plan *plan = NULL;
    int rc = rankd_options_parse(argc, argv, &o, &err);
    if (rc != RANKD_OK)
        return fail(rc, err.msg);
    if (o.help) {
        fputs(rankd_usage(), stdout);
        return 0;
    }
    rc = rankd_plan_load_named(o.plan_dir, o.plan_name, &plan, &err);
    if (rc != RANKD_OK)
        return fail(rc, err.msg);

    int status = 0;
    bool bench = o.bench > 0 || o.duration_sec > 0;
    if (o.seed_redis) {
        uint64_t written;
        rc = rankd_seed_redis(plan, o.redis, &written, &err);
        if (rc == RANKD_OK)
            printf("seeded %llu keys for plan %s at %s\n", (unsigned long long)written, plan->name,
                   o.redis);
        else
            status = fail(rc, err.msg);
        rankd_plan_free(plan);
        return status;
    }

    size_t len;
    char *text;
    uint64_t user_id = 1;
    if ((rc = read_stdin(bench, &text, &len, &err)) != RANKD_OK) {
        status = fail(rc, err.msg);
    } else if (!bench && (text == NULL || blank(text, len))) {
        status = fail(RANKD_EINPUT, "request: stdin is empty (expected {\"user_id\": N})");
    } else if (text != NULL && !blank(text, len) &&
               (rc = rankd_request_parse(text, len, &user_id, &err)) != RANKD_OK) {
        status = fail(rc, err.msg);
    } else if (!bench) {
        status = run_once(&o, plan, user_id);
    } else {
        rankd_bench_config cfg = {
            .plan = plan,
            .async = o.async,
            .cpu_threads = o.cpu_threads,
            .io_threads = o.io_threads,
            .concurrency = o.concurrency,
            .rate = o.rate,
            .requests = o.bench,
            .duration_sec = o.duration_sec,
            .warmup_iters = o.warmup_iters,
            .base_user_id = user_id,
            .redis_addr = o.redis,
            .progress = o.progress,
        };
        rankd_bench_result res;
        rc = rankd_bench_run(&cfg, &res, &err);
        if (rc != RANKD_OK) {
            status = fail(rc, err.msg);
        } else {
            status = print_bench(&o, &cfg, &res);
            if (status == 0 && res.errors > 0) {
                fprintf(stderr, "rankd: %llu of %llu requests failed; first: %s\n",
                        (unsigned long long)res.errors, (unsigned long long)res.requests,
                        res.first_error);
                status = EXIT_REQUEST_ERRORS;
            }
        }
    }
    free(text);
    rankd_plan_free(plan);
    return status;
}

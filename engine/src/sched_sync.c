/* The sync scheduler: every node of a request in topological order on the
 * calling thread. CPU nodes run as on the async scheduler (ops.c); I/O nodes
 * block this thread: a sleep node sleeps, a Redis node waits on the
 * thread's own blocking connection for its own timeout. */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

static void sleep_sync(uint64_t ns)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    uint64_t nsec = (uint64_t)until.tv_nsec + ns;
    until.tv_sec += (time_t)(nsec / 1000000000ull);
    until.tv_nsec = (long)(nsec % 1000000000ull);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
        ;
}

static void redis_fetch_sync(rankd_request *req, uint32_t index, rankd_thread_ctx *ctx)
{
    const rankd_node *node = &req->plan->nodes[index];
    rankd_error err;
    if (ctx->redis == NULL) {
        if (ctx->redis_addr == NULL) {
            rankd__redis_apply(req, index, NULL, "no Redis address configured");
            return;
        }
        ctx->redis = rankd__redis_connect(ctx->redis_addr, node->p.redis.timeout_ns, &err);
        if (ctx->redis == NULL) {
            rankd__redis_apply(req, index, NULL, err.msg);
            return;
        }
    }
    int argc;
    char **argv;
    size_t *argvlen;
    if (rankd__redis_args(req, index, &argc, &argv, &argvlen) != RANKD_OK) {
        rankd__redis_apply(req, index, NULL, "out of memory");
        return;
    }
    /* The connection is shared by the thread's Redis nodes: each waits for
     * its own timeout. */
    struct timeval tv = {(time_t)(node->p.redis.timeout_ns / 1000000000ull),
                         (suseconds_t)(node->p.redis.timeout_ns % 1000000000ull / 1000)};
    redisSetTimeout(ctx->redis, tv);
    errno = 0;
    redisReply *reply = redisCommandArgv(ctx->redis, argc, (const char **)argv, argvlen);
    int saved = errno;
    rankd__redis_args_free(argc, argv, argvlen);
    if (reply == NULL) {
        char why[160];
        /* hiredis reports its socket timeout as the read's EAGAIN; say
         * what happened, as the async scheduler does. */
        if (ctx->redis->err == REDIS_ERR_IO && (saved == EAGAIN || saved == EWOULDBLOCK))
            snprintf(why, sizeof why, "timed out after %.3f ms",
                     (double)node->p.redis.timeout_ns / 1e6);
        else
            snprintf(why, sizeof why, "%s", ctx->redis->errstr);
        /* The connection is unusable after an I/O error; reconnect next time. */
        redisFree(ctx->redis);
        ctx->redis = NULL;
        rankd__redis_apply(req, index, NULL, why);
        return;
    }
    rankd__redis_apply(req, index, reply, NULL);
    freeReplyObject(reply);
}

/* Runs an I/O node on this thread. After a failure the request's answer is
 * an error, so the node is skipped as rankd_node_run skips CPU nodes. */
static void io_node_run(rankd_request *req, uint32_t index, rankd_thread_ctx *ctx)
{
    const rankd_node *node = &req->plan->nodes[index];
    if (atomic_load_explicit(&req->failed, memory_order_relaxed)) {
        req->outputs[index].count = 0;
        return;
    }
    if (node->op == RANKD_OP_SLEEP) {
        sleep_sync(node->p.sleep.ns);
        rankd__pass_through(req, index);
    } else {
        redis_fetch_sync(req, index, ctx);
    }
}

int rankd_run_sync(rankd_request *req, rankd_thread_ctx *ctx)
{
    const rankd_plan *plan = req->plan;
    for (uint32_t t = 0; t < plan->n_nodes; t++) {
        uint32_t node = plan->topo[t];
        if (rankd_op_is_io(plan->nodes[node].op))
            io_node_run(req, node, ctx);
        else
            rankd_node_run(req, node, ctx);
    }
    return atomic_load(&req->failed) ? RANKD_ERUNTIME : RANKD_OK;
}

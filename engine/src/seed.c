/* Seeding Redis with the feature keys a plan's redis_fetch nodes read. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

/* Commands are pipelined in batches: one round trip per batch. */
#define SEED_BATCH 1000

static int drain(redisContext *c, uint32_t pending, const char *addr, rankd_error *err)
{
    for (uint32_t i = 0; i < pending; i++) {
        redisReply *reply = NULL;
        if (redisGetReply(c, (void **)&reply) != REDIS_OK || reply == NULL)
            return rankd_error_set(err, RANKD_ERUNTIME, "redis %s: %s", addr, c->errstr);
        bool bad = reply->type == REDIS_REPLY_ERROR;
        if (bad)
            rankd_error_set(err, RANKD_ERUNTIME, "redis %s: SET failed: %s", addr, reply->str);
        freeReplyObject(reply);
        if (bad)
            return RANKD_ERUNTIME;
    }
    return RANKD_OK;
}

int rankd_seed_redis(const rankd_plan *plan, const char *addr, uint64_t *written, rankd_error *err)
{
    *written = 0;
    if (!plan->needs_redis)
        return rankd_error_set(err, RANKD_EINPUT, "%s: plan '%s' has no redis_fetch node",
                               plan->path, plan->name);
    redisContext *c = rankd__redis_connect(addr, 2000000000ull, err);
    if (c == NULL)
        return RANKD_ERUNTIME;
    int rc = RANKD_OK;
    uint32_t pending = 0;
    for (uint32_t f = 0; f < plan->n_nodes && rc == RANKD_OK; f++) {
        const rankd_node *fetch = &plan->nodes[f];
        if (fetch->op != RANKD_OP_REDIS_FETCH)
            continue;
        for (uint32_t s = 0; s < plan->n_nodes && rc == RANKD_OK; s++) {
            const rankd_node *src = &plan->nodes[s];
            if (src->op != RANKD_OP_SOURCE)
                continue;
            uint64_t end = src->p.source.id_base + src->p.source.id_space;
            for (uint64_t id = src->p.source.id_base; id < end && rc == RANKD_OK; id++) {
                char key[128], value[32];
                rankd__feature_key(key, sizeof key, fetch->p.redis.key_prefix, id);
                snprintf(value, sizeof value, "%.17g", rankd__feature_value(id));
                redisAppendCommand(c, "SET %s %s", key, value);
                (*written)++;
                if (++pending == SEED_BATCH) {
                    rc = drain(c, pending, addr, err);
                    pending = 0;
                }
            }
        }
    }
    if (rc == RANKD_OK)
        rc = drain(c, pending, addr, err);
    redisFree(c);
    return rc;
}

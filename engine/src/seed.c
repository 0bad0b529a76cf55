/* Seeding Redis with the feature keys a plan's redis_fetch nodes read. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
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

typedef struct id_range {
    uint64_t begin;
    uint64_t end;
} id_range;

static int range_compare(const void *pa, const void *pb)
{
    const id_range *a = pa, *b = pb;
    return a->begin < b->begin ? -1 : a->begin > b->begin;
}

/* The ids the plan's sources can produce, as sorted disjoint ranges, so
 * sources sharing an id space write each key once. */
static uint32_t source_ranges(const rankd_plan *plan, id_range *ranges)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < plan->n_nodes; i++) {
        const rankd_node *src = &plan->nodes[i];
        if (src->op == RANKD_OP_SOURCE)
            ranges[n++] =
                (id_range){src->p.source.id_base, src->p.source.id_base + src->p.source.id_space};
    }
    qsort(ranges, n, sizeof *ranges, range_compare);
    uint32_t merged = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (merged > 0 && ranges[i].begin <= ranges[merged - 1].end) {
            if (ranges[i].end > ranges[merged - 1].end)
                ranges[merged - 1].end = ranges[i].end;
        } else {
            ranges[merged++] = ranges[i];
        }
    }
    return merged;
}

int rankd_seed_redis(const rankd_plan *plan, const char *addr, uint64_t *written, rankd_error *err)
{
    *written = 0;
    if (!plan->needs_redis)
        return rankd_error_set(err, RANKD_EINPUT, "%s: plan '%s' has no redis_fetch node",
                               plan->path, plan->name);
    id_range *ranges = calloc(plan->n_nodes, sizeof *ranges);
    if (ranges == NULL)
        return rankd_error_set(err, RANKD_ERUNTIME, "out of memory seeding redis");
    uint32_t n_ranges = source_ranges(plan, ranges);
    redisContext *c = rankd__redis_connect(addr, 2000000000ull, err);
    if (c == NULL) {
        free(ranges);
        return RANKD_ERUNTIME;
    }
    int rc = RANKD_OK;
    uint32_t pending = 0;
    for (uint32_t f = 0; f < plan->n_nodes && rc == RANKD_OK; f++) {
        const rankd_node *fetch = &plan->nodes[f];
        if (fetch->op != RANKD_OP_REDIS_FETCH)
            continue;
        for (uint32_t r = 0; r < n_ranges && rc == RANKD_OK; r++) {
            for (uint64_t id = ranges[r].begin; id < ranges[r].end && rc == RANKD_OK; id++) {
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
    free(ranges);
    return rc;
}

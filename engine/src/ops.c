/* The ops a plan's nodes run. Each reads its inputs' outputs and writes its
 * own output into the request's buffer; none allocates on the hot path. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const title_words[8] = {"music",  "sports", "news", "comedy",
                                           "travel", "food",   "tech", "art"};

/* Writes "<word>-<id>" without printf, which would cost more than the rest
 * of a source node. */
static void title_format(char *dst, const char *word, uint64_t id)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + id % 10);
        id /= 10;
    } while (id != 0);
    size_t w = strlen(word);
    memcpy(dst, word, w);
    dst[w++] = '-';
    while (n > 0)
        dst[w++] = digits[--n];
    dst[w] = '\0';
}

static void op_source(rankd_request *req, const rankd_node *node, rankd_list *out)
{
    uint64_t salt = rankd__mix(rankd__mix(req->user_id) ^ rankd__mix(node->p.source.seed));
    for (uint32_t i = 0; i < node->p.source.count; i++) {
        uint64_t h = rankd__mix(salt + i);
        rankd_candidate *c = &out->items[i];
        c->id = node->p.source.id_base + h % node->p.source.id_space;
        c->score = (double)(rankd__mix(h) >> 11) * 0x1.0p-53;
        c->feature = 0.0;
        title_format(c->title, title_words[(h >> 40) & 7], c->id);
    }
    out->count = node->p.source.count;
}

void rankd__pass_through(rankd_request *req, uint32_t index)
{
    const rankd_node *node = &req->plan->nodes[index];
    rankd_list *out = &req->outputs[index];
    if (node->n_inputs == 1) {
        *out = req->outputs[node->inputs[0]];
        return;
    }
    uint32_t n = 0;
    for (uint32_t k = 0; k < node->n_inputs; k++) {
        const rankd_list *in = &req->outputs[node->inputs[k]];
        memcpy(out->items + n, in->items, in->count * sizeof *in->items);
        n += in->count;
    }
    out->count = n;
}

static void op_filter(const rankd_node *node, const rankd_list *in, rankd_list *out)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < in->count; i++) {
        if (in->items[i].score >= node->p.filter.min_score)
            out->items[n++] = in->items[i];
    }
    out->count = n;
}

/* A match that fails with an error (the match limit hit by catastrophic
 * backtracking, say) is not "no match": it fails the request, with
 * PCRE2's message, so the bench counts it in errors. */
static void op_regex_filter(rankd_request *req, const rankd_node *node, const rankd_list *in,
                            rankd_list *out, rankd_thread_ctx *ctx)
{
    uint32_t n = 0;
    out->count = 0;
    for (uint32_t i = 0; i < in->count; i++) {
        const char *title = in->items[i].title;
        int rc = pcre2_match(node->p.regex.code->code, (PCRE2_SPTR)title, strlen(title), 0, 0,
                             ctx->match, NULL);
        if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(rc, msg, sizeof msg);
            rankd_request_fail(req, "node '%s': regex match on '%s' failed: %s", node->id, title,
                               (const char *)msg);
            return;
        }
        if ((rc >= 0) != node->p.regex.invert)
            out->items[n++] = in->items[i];
    }
    out->count = n;
}

/* Keeps the first candidate of each id, in input order. The open-addressing
 * table lives in the node's scratch space, sized at plan load. */
static void op_dedupe(rankd_request *req, const rankd_node *node, const rankd_list *in,
                      rankd_list *out)
{
    uint64_t *table = (uint64_t *)(req->buffer + node->scratch_offset);
    uint32_t size = node->p.dedupe.slots;
    memset(table, 0xff, size * sizeof *table);
    uint32_t n = 0;
    for (uint32_t i = 0; i < in->count; i++) {
        uint64_t id = in->items[i].id;
        uint32_t slot = (uint32_t)rankd__mix(id) & (size - 1);
        while (table[slot] != UINT64_MAX && table[slot] != id)
            slot = (slot + 1) & (size - 1);
        if (table[slot] == id)
            continue;
        table[slot] = id;
        out->items[n++] = in->items[i];
    }
    out->count = n;
}

static void op_score(const rankd_node *node, const rankd_list *in, rankd_list *out)
{
    for (uint32_t i = 0; i < in->count; i++) {
        out->items[i] = in->items[i];
        out->items[i].score = node->p.score.score_weight * in->items[i].score +
                              node->p.score.feature_weight * in->items[i].feature +
                              node->p.score.bias;
    }
    out->count = in->count;
}

/* Ranking order: higher score first, then lower id, so ties are stable
 * whichever scheduler ran the plan. */
static int rank_before(const rankd_candidate *a, const rankd_candidate *b)
{
    if (a->score != b->score)
        return a->score > b->score;
    return a->id < b->id;
}

static int rank_compare(const void *pa, const void *pb)
{
    const rankd_candidate *a = pa, *b = pb;
    if (rank_before(a, b))
        return -1;
    return rank_before(b, a) ? 1 : 0;
}

static void heap_sift_down(rankd_candidate *heap, uint32_t n, uint32_t i)
{
    for (;;) {
        uint32_t worst = i, l = 2 * i + 1, r = l + 1;
        if (l < n && rank_before(&heap[worst], &heap[l]))
            worst = l;
        if (r < n && rank_before(&heap[worst], &heap[r]))
            worst = r;
        if (worst == i)
            return;
        rankd_candidate tmp = heap[i];
        heap[i] = heap[worst];
        heap[worst] = tmp;
        i = worst;
    }
}

/* Selects the k best with a heap whose root is the worst kept candidate,
 * then sorts them: O(n log k) and no memory beyond the output. */
static void op_top_k(const rankd_node *node, const rankd_list *in, rankd_list *out)
{
    uint32_t k = node->p.top_k.k, n = 0;
    for (uint32_t i = 0; i < in->count; i++) {
        if (n < k) {
            out->items[n++] = in->items[i];
            if (n == k) {
                for (uint32_t j = n / 2; j-- > 0;)
                    heap_sift_down(out->items, n, j);
            }
        } else if (rank_before(&in->items[i], &out->items[0])) {
            out->items[0] = in->items[i];
            heap_sift_down(out->items, n, 0);
        }
    }
    qsort(out->items, n, sizeof *out->items, rank_compare);
    out->count = n;
}

int rankd__redis_args(const rankd_request *req, uint32_t index, int *argc, char ***argv,
                      size_t **argvlen)
{
    const rankd_node *node = &req->plan->nodes[index];
    const rankd_list *in = &req->outputs[node->inputs[0]];
    int n = (int)in->count + 1;
    char **v = calloc((size_t)n, sizeof *v);
    size_t *vl = calloc((size_t)n, sizeof *vl);
    if (v == NULL || vl == NULL) {
        free(v);
        free(vl);
        return RANKD_ERUNTIME;
    }
    v[0] = strdup("MGET");
    vl[0] = 4;
    bool ok = v[0] != NULL;
    for (int i = 1; i < n && ok; i++) {
        char key[128];
        int len =
            rankd__feature_key(key, sizeof key, node->p.redis.key_prefix, in->items[i - 1].id);
        v[i] = strdup(key);
        vl[i] = (size_t)len;
        ok = v[i] != NULL;
    }
    if (!ok) {
        rankd__redis_args_free(n, v, vl);
        return RANKD_ERUNTIME;
    }
    *argc = n;
    *argv = v;
    *argvlen = vl;
    return RANKD_OK;
}

void rankd__redis_args_free(int argc, char **argv, size_t *argvlen)
{
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    free(argv);
    free(argvlen);
}

void rankd__redis_apply(rankd_request *req, uint32_t index, const redisReply *reply,
                        const char *failure)
{
    const rankd_node *node = &req->plan->nodes[index];
    const rankd_list *in = &req->outputs[node->inputs[0]];
    rankd_list *out = &req->outputs[index];
    out->count = 0;
    if (failure != NULL) {
        rankd_request_fail(req, "node '%s': redis: %s", node->id, failure);
        return;
    }
    if (in->count == 0)
        return;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != in->count) {
        rankd_request_fail(req, "node '%s': redis: unexpected reply to MGET%s%s", node->id,
                           reply != NULL && reply->type == REDIS_REPLY_ERROR ? ": " : "",
                           reply != NULL && reply->type == REDIS_REPLY_ERROR ? reply->str : "");
        return;
    }
    for (uint32_t i = 0; i < in->count; i++) {
        const redisReply *e = reply->element[i];
        out->items[i] = in->items[i];
        /* A missing key is a candidate without the feature, not a failure;
         * a value that is not a finite number is, not a silent 0. */
        if (e->type == REDIS_REPLY_NIL) {
            out->items[i].feature = 0.0;
            continue;
        }
        char *end = NULL;
        double v = e->type == REDIS_REPLY_STRING ? strtod(e->str, &end) : NAN;
        if (e->type != REDIS_REPLY_STRING || end == e->str || *end != '\0' || !isfinite(v)) {
            char key[128];
            rankd__feature_key(key, sizeof key, node->p.redis.key_prefix, in->items[i].id);
            rankd_request_fail(req, "node '%s': redis: key '%s' holds %s%.40s%s, not a number",
                               node->id, key, e->type == REDIS_REPLY_STRING ? "'" : "a non-string",
                               e->type == REDIS_REPLY_STRING ? e->str : "",
                               e->type == REDIS_REPLY_STRING ? "'" : "");
            out->count = 0;
            return;
        }
        out->items[i].feature = v;
    }
    out->count = in->count;
}

redisContext *rankd__redis_connect(const char *addr, uint64_t timeout_ns, rankd_error *err)
{
    char host[256];
    int port;
    if (rankd__parse_addr(addr, host, sizeof host, &port, err) != RANKD_OK)
        return NULL;
    struct timeval tv = {(time_t)(timeout_ns / 1000000000ull),
                         (suseconds_t)(timeout_ns % 1000000000ull / 1000)};
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (c == NULL || c->err) {
        rankd_error_set(err, RANKD_ERUNTIME, "redis %s: cannot connect: %s", addr,
                        c != NULL ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    return c;
}

void rankd_node_run(rankd_request *req, uint32_t index, rankd_thread_ctx *ctx)
{
    const rankd_node *node = &req->plan->nodes[index];
    rankd_list *out = &req->outputs[index];
    const rankd_list *in = node->n_inputs > 0 ? &req->outputs[node->inputs[0]] : NULL;

    /* After a failure the request's answer is an error: skip the work but
     * still complete every node so the schedulers' accounting holds. */
    if (atomic_load_explicit(&req->failed, memory_order_relaxed)) {
        out->count = 0;
        return;
    }
    switch (node->op) {
    case RANKD_OP_SOURCE:
        op_source(req, node, out);
        break;
    case RANKD_OP_CONCAT:
        rankd__pass_through(req, index);
        break;
    case RANKD_OP_FILTER:
        op_filter(node, in, out);
        break;
    case RANKD_OP_REGEX_FILTER:
        op_regex_filter(req, node, in, out, ctx);
        break;
    case RANKD_OP_DEDUPE:
        op_dedupe(req, node, in, out);
        break;
    case RANKD_OP_SCORE:
        op_score(node, in, out);
        break;
    case RANKD_OP_TOP_K:
        op_top_k(node, in, out);
        break;
    case RANKD_OP_SLEEP:
    case RANKD_OP_REDIS_FETCH:
    case RANKD_OP_COUNT_:
        /* I/O nodes belong to the schedulers, which wait for them each in
         * their own way (sched_sync.c blocks, io.c does not). */
        break;
    }
}

int rankd_thread_ctx_create(const char *redis_addr, rankd_thread_ctx **out, rankd_error *err)
{
    rankd_thread_ctx *ctx = calloc(1, sizeof *ctx);
    *out = NULL;
    if (ctx == NULL)
        return rankd_error_set(err, RANKD_ERUNTIME, "out of memory for a thread context");
    /* One ovector pair is enough: filters only ask whether a title matches. */
    ctx->match = pcre2_match_data_create(1, NULL);
    ctx->redis_addr = redis_addr != NULL ? strdup(redis_addr) : NULL;
    if (ctx->match == NULL || (redis_addr != NULL && ctx->redis_addr == NULL)) {
        rankd_thread_ctx_free(ctx);
        return rankd_error_set(err, RANKD_ERUNTIME, "out of memory for a thread context");
    }
    *out = ctx;
    return RANKD_OK;
}

void rankd_thread_ctx_free(rankd_thread_ctx *ctx)
{
    if (ctx == NULL)
        return;
    pcre2_match_data_free(ctx->match);
    redisFree(ctx->redis);
    free(ctx->redis_addr);
    free(ctx);
}

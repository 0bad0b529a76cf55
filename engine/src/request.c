/* Requests: the per-slot state a plan run needs, and the JSON in and out. */
#include "internal.h"

#include <cjson/cJSON.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rankd_request_create(const rankd_plan *plan, rankd_request **out, rankd_error *err)
{
    rankd_request *req = calloc(1, sizeof *req);
    *out = NULL;
    if (req == NULL)
        goto oom;
    req->plan = plan;
    req->outputs = calloc(plan->n_nodes, sizeof *req->outputs);
    req->pending = calloc(plan->n_nodes, sizeof *req->pending);
    req->cost_ns = calloc(plan->n_nodes, sizeof *req->cost_ns);
    /* Candidates hold doubles and 64-bit ids: align the buffer for them. */
    req->buffer = aligned_alloc(64, (plan->buffer_bytes + 63) & ~(size_t)63);
    if (req->outputs == NULL || req->pending == NULL || req->cost_ns == NULL || req->buffer == NULL)
        goto oom;
    rankd_request_reset(req, 0);
    *out = req;
    return RANKD_OK;
oom:
    rankd_request_free(req);
    return rankd_error_set(err, RANKD_ERUNTIME, "plan '%s': out of memory for a request",
                           plan->name);
}

void rankd_request_free(rankd_request *req)
{
    if (req == NULL)
        return;
    free(req->outputs);
    free(req->pending);
    free(req->cost_ns);
    free(req->buffer);
    free(req);
}

void rankd_request_reset(rankd_request *req, uint64_t user_id)
{
    const rankd_plan *plan = req->plan;
    req->user_id = user_id;
    for (uint32_t i = 0; i < plan->n_nodes; i++) {
        req->outputs[i].items = (rankd_candidate *)(req->buffer + plan->nodes[i].out_offset);
        req->outputs[i].count = 0;
        atomic_store_explicit(&req->pending[i], plan->nodes[i].n_inputs, memory_order_relaxed);
    }
    atomic_store_explicit(&req->failed, 0, memory_order_relaxed);
    req->error[0] = '\0';
}

void rankd_request_fail(rankd_request *req, const char *fmt, ...)
{
    int expected = 0;
    /* The first failure wins: it is the cause, later ones are consequences. */
    if (!atomic_compare_exchange_strong(&req->failed, &expected, 1))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(req->error, sizeof req->error, fmt, ap);
    va_end(ap);
}

bool rankd_request_failed(const rankd_request *req)
{
    return atomic_load_explicit(&req->failed, memory_order_acquire) != 0;
}

const char *rankd_request_error(const rankd_request *req)
{
    return rankd_request_failed(req) ? req->error : "";
}

const rankd_list *rankd_request_output(const rankd_request *req, uint32_t node)
{
    return &req->outputs[node];
}

void rankd_request_set_done(rankd_request *req, rankd_done_cb cb, void *arg)
{
    req->on_done = cb;
    req->done_arg = arg;
}

void rankd_request_set_slot(rankd_request *req, uint64_t slot)
{
    req->slot = slot;
}

int rankd_request_parse(const char *json, size_t len, uint64_t *user_id, rankd_error *err)
{
    cJSON *root;
    int rc = rankd__json_parse(json, len, "request", &root, err);
    if (rc != RANKD_OK)
        return rc;
    const cJSON *uid = cJSON_GetObjectItemCaseSensitive(root, "user_id");
    if (!cJSON_IsObject(root))
        rc = rankd_error_set(err, RANKD_EINPUT, "request: must be a JSON object");
    else if (uid == NULL)
        rc = rankd_error_set(err, RANKD_EINPUT, "request: field 'user_id': missing");
    else if (!cJSON_IsNumber(uid) || uid->valuedouble < 0 || uid->valuedouble > 9e15 ||
             uid->valuedouble != floor(uid->valuedouble))
        rc = rankd_error_set(err, RANKD_EINPUT,
                             "request: field 'user_id': must be an integer from 0 to 9e15");
    else
        *user_id = (uint64_t)uid->valuedouble;
    cJSON_Delete(root);
    return rc;
}

char *rankd_response_json(const rankd_request *req)
{
    const rankd_list *out = &req->outputs[req->plan->sink];
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "plan", req->plan->name);
    cJSON_AddNumberToObject(root, "user_id", (double)req->user_id);
    cJSON *items = cJSON_AddArrayToObject(root, "candidates");
    for (uint32_t i = 0; i < out->count; i++) {
        const rankd_candidate *c = &out->items[i];
        cJSON *item = cJSON_CreateObject();
        cJSON_AddNumberToObject(item, "id", (double)c->id);
        cJSON_AddStringToObject(item, "title", c->title);
        cJSON_AddNumberToObject(item, "score", c->score);
        if (req->plan->needs_redis)
            cJSON_AddNumberToObject(item, "feature", c->feature);
        cJSON_AddItemToArray(items, item);
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}

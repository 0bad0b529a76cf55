/* Plan loading: JSON to a validated DAG with a topological order, the
 * capacity of every node's output, and the layout of a request's buffer. */
#include "internal.h"

#include "pmbase/alloc.h"

#include <cjson/cJSON.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* No request may need more candidates than this across all its nodes. */
#define PLAN_MAX_CANDIDATES 1000000u

static const char *const op_names[RANKD_OP_COUNT_] = {
    [RANKD_OP_SOURCE] = "source",
    [RANKD_OP_CONCAT] = "concat",
    [RANKD_OP_FILTER] = "filter",
    [RANKD_OP_REGEX_FILTER] = "regex_filter",
    [RANKD_OP_DEDUPE] = "dedupe",
    [RANKD_OP_SCORE] = "score",
    [RANKD_OP_TOP_K] = "top_k",
    [RANKD_OP_SLEEP] = "sleep",
    [RANKD_OP_REDIS_FETCH] = "redis_fetch",
};

typedef enum param_type { PARAM_INT, PARAM_NUMBER, PARAM_STRING, PARAM_BOOL } param_type;

typedef struct param_spec {
    const char *name;
    param_type type;
    bool required;
    double min;
    double max;
} param_spec;

/* What each op accepts: its inputs (min, max; UINT32_MAX = any) and params. */
typedef struct op_spec {
    uint32_t min_inputs;
    uint32_t max_inputs;
    param_spec params[4];
} op_spec;

#define ANY UINT32_MAX
static const op_spec op_specs[RANKD_OP_COUNT_] = {
    [RANKD_OP_SOURCE] = {0,
                         0,
                         {{"count", PARAM_INT, true, 0, 100000},
                          {"id_base", PARAM_INT, false, 0, 1e15},
                          {"id_space", PARAM_INT, false, 1, 1e9},
                          {"seed", PARAM_INT, false, 0, 9e15}}},
    [RANKD_OP_CONCAT] = {1, ANY, {{0}}},
    [RANKD_OP_FILTER] = {1, 1, {{"min_score", PARAM_NUMBER, true, -1e300, 1e300}}},
    [RANKD_OP_REGEX_FILTER] =
        {1, 1, {{"pattern", PARAM_STRING, true, 0, 0}, {"invert", PARAM_BOOL, false, 0, 0}}},
    [RANKD_OP_DEDUPE] = {1, 1, {{0}}},
    [RANKD_OP_SCORE] = {1,
                        1,
                        {{"score_weight", PARAM_NUMBER, false, -1e300, 1e300},
                         {"feature_weight", PARAM_NUMBER, false, -1e300, 1e300},
                         {"bias", PARAM_NUMBER, false, -1e300, 1e300}}},
    [RANKD_OP_TOP_K] = {1, 1, {{"k", PARAM_INT, true, 1, 100000}}},
    [RANKD_OP_SLEEP] = {0, ANY, {{"sleep_ms", PARAM_NUMBER, true, 0, 60000}}},
    [RANKD_OP_REDIS_FETCH] = {1,
                              1,
                              {{"key_prefix", PARAM_STRING, false, 0, 0},
                               {"timeout_ms", PARAM_NUMBER, false, 0.001, 60000}}},
};

const char *rankd_op_name(rankd_op op)
{
    return op < RANKD_OP_COUNT_ ? op_names[op] : "?";
}

bool rankd_op_is_io(rankd_op op)
{
    return op == RANKD_OP_SLEEP || op == RANKD_OP_REDIS_FETCH;
}

static const char *type_name(param_type t)
{
    switch (t) {
    case PARAM_INT:
        return "an integer";
    case PARAM_NUMBER:
        return "a number";
    case PARAM_STRING:
        return "a string";
    case PARAM_BOOL:
        return "a boolean";
    }
    return "?";
}

static const char *json_type_name(const cJSON *v)
{
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsObject(v))
        return "an object";
    return "an invalid value";
}

uint64_t rankd__hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

/* Checks one param's type and range; on success stores it in *num or *str. */
static int param_check(const char *path, const char *node_id, const param_spec *spec,
                       const cJSON *v, double *num, const char **str, rankd_error *err)
{
    switch (spec->type) {
    case PARAM_INT:
        if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
            goto bad_type;
        break;
    case PARAM_NUMBER:
        if (!cJSON_IsNumber(v))
            goto bad_type;
        break;
    case PARAM_STRING:
        if (!cJSON_IsString(v))
            goto bad_type;
        *str = v->valuestring;
        return RANKD_OK;
    case PARAM_BOOL:
        if (!cJSON_IsBool(v))
            goto bad_type;
        *num = cJSON_IsTrue(v) ? 1 : 0;
        return RANKD_OK;
    }
    if (!(v->valuedouble >= spec->min && v->valuedouble <= spec->max))
        return rankd_error_set(err, RANKD_EINPUT,
                               "%s: node '%s': field 'params.%s': %g is out of range [%g, %g]",
                               path, node_id, spec->name, v->valuedouble, spec->min, spec->max);
    *num = v->valuedouble;
    return RANKD_OK;
bad_type:
    return rankd_error_set(err, RANKD_EINPUT,
                           "%s: node '%s': field 'params.%s': must be %s, got %s", path, node_id,
                           spec->name, type_name(spec->type), json_type_name(v));
}

/* Reads the params of one node into its union, applying defaults. */
static int node_params(const char *path, rankd_node *node, const cJSON *params, rankd_error *err)
{
    const op_spec *spec = &op_specs[node->op];
    double num[4] = {0};
    const char *str[4] = {0};
    bool given[4] = {0};

    if (params != NULL && !cJSON_IsObject(params))
        return rankd_error_set(err, RANKD_EINPUT,
                               "%s: node '%s': field 'params': must be an object, got %s", path,
                               node->id, json_type_name(params));
    const cJSON *p;
    cJSON_ArrayForEach(p, params)
    {
        int found = -1;
        for (int i = 0; i < 4 && spec->params[i].name != NULL; i++) {
            if (strcmp(spec->params[i].name, p->string) == 0)
                found = i;
        }
        if (found < 0)
            return rankd_error_set(err, RANKD_EINPUT,
                                   "%s: node '%s': field 'params.%s': unknown param for op '%s'",
                                   path, node->id, p->string, rankd_op_name(node->op));
        int rc =
            param_check(path, node->id, &spec->params[found], p, &num[found], &str[found], err);
        if (rc != RANKD_OK)
            return rc;
        given[found] = true;
    }
    for (int i = 0; i < 4 && spec->params[i].name != NULL; i++) {
        if (spec->params[i].required && !given[i])
            return rankd_error_set(err, RANKD_EINPUT,
                                   "%s: node '%s': field 'params.%s': required by op '%s'", path,
                                   node->id, spec->params[i].name, rankd_op_name(node->op));
    }

    switch (node->op) {
    case RANKD_OP_SOURCE:
        node->p.source.count = (uint32_t)num[0];
        node->p.source.id_base = given[1] ? (uint64_t)num[1] : 1;
        node->p.source.id_space = given[2] ? (uint64_t)num[2] : 10000;
        node->p.source.seed = given[3] ? (uint64_t)num[3] : rankd__hash_str(node->id);
        break;
    case RANKD_OP_FILTER:
        node->p.filter.min_score = num[0];
        break;
    case RANKD_OP_REGEX_FILTER: {
        node->p.regex.pattern = pmb_strdup(str[0]);
        node->p.regex.invert = given[1] && num[1] != 0;
        int code;
        PCRE2_SIZE offset;
        pcre2_code *re =
            pcre2_compile((PCRE2_SPTR)str[0], PCRE2_ZERO_TERMINATED, 0, &code, &offset, NULL);
        if (re == NULL) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(code, msg, sizeof msg);
            return rankd_error_set(err, RANKD_EINPUT,
                                   "%s: node '%s': field 'params.pattern': %s at offset %zu", path,
                                   node->id, (const char *)msg, (size_t)offset);
        }
        /* JIT is an optimisation: without it pcre2_match still works. */
        pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
        node->p.regex.code = malloc(sizeof *node->p.regex.code);
        if (node->p.regex.code == NULL) {
            pcre2_code_free(re);
            return rankd_error_set(err, RANKD_ERUNTIME, "%s: node '%s': out of memory", path,
                                   node->id);
        }
        node->p.regex.code->code = re;
        break;
    }
    case RANKD_OP_SCORE:
        node->p.score.score_weight = given[0] ? num[0] : 1.0;
        node->p.score.feature_weight = given[1] ? num[1] : 0.0;
        node->p.score.bias = given[2] ? num[2] : 0.0;
        break;
    case RANKD_OP_TOP_K:
        node->p.top_k.k = (uint32_t)num[0];
        break;
    case RANKD_OP_SLEEP:
        node->p.sleep.ns = (uint64_t)llround(num[0] * 1e6);
        break;
    case RANKD_OP_REDIS_FETCH:
        node->p.redis.key_prefix = pmb_strdup(given[0] ? str[0] : "feat:");
        node->p.redis.timeout_ns = (uint64_t)llround((given[1] ? num[1] : 100.0) * 1e6);
        break;
    case RANKD_OP_CONCAT:
    case RANKD_OP_DEDUPE:
    case RANKD_OP_COUNT_:
        break;
    }
    return RANKD_OK;
}

static int node_parse(const char *path, uint32_t index, const cJSON *obj, rankd_node *node,
                      rankd_error *err)
{
    if (!cJSON_IsObject(obj))
        return rankd_error_set(err, RANKD_EINPUT, "%s: nodes[%u]: must be an object, got %s", path,
                               index, json_type_name(obj));
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(obj, "id");
    if (!cJSON_IsString(id) || id->valuestring[0] == '\0')
        return rankd_error_set(err, RANKD_EINPUT,
                               "%s: nodes[%u]: field 'id': must be a non-empty string", path,
                               index);
    node->id = pmb_strdup(id->valuestring);

    const cJSON *f;
    cJSON_ArrayForEach(f, obj)
    {
        if (strcmp(f->string, "id") != 0 && strcmp(f->string, "op") != 0 &&
            strcmp(f->string, "inputs") != 0 && strcmp(f->string, "params") != 0)
            return rankd_error_set(err, RANKD_EINPUT, "%s: node '%s': field '%s': unknown field",
                                   path, node->id, f->string);
    }

    const cJSON *op = cJSON_GetObjectItemCaseSensitive(obj, "op");
    if (!cJSON_IsString(op))
        return rankd_error_set(err, RANKD_EINPUT, "%s: node '%s': field 'op': must be a string",
                               path, node->id);
    int kind = -1;
    for (int i = 0; i < RANKD_OP_COUNT_; i++) {
        if (strcmp(op_names[i], op->valuestring) == 0)
            kind = i;
    }
    if (kind < 0)
        return rankd_error_set(err, RANKD_EINPUT,
                               "%s: node '%s': field 'op': unknown op '%s' (known: source, "
                               "concat, filter, regex_filter, dedupe, score, top_k, sleep, "
                               "redis_fetch)",
                               path, node->id, op->valuestring);
    node->op = (rankd_op)kind;
    return node_params(path, node, cJSON_GetObjectItemCaseSensitive(obj, "params"), err);
}

/* Resolves input names to indices and checks each op's input count. objs
 * are the nodes' JSON objects, in order (cJSON arrays are lists: indexing
 * one is linear, so nothing here does). */
static int plan_link(const char *path, rankd_plan *plan, const cJSON *const *objs, rankd_error *err)
{
    for (uint32_t i = 0; i < plan->n_nodes; i++) {
        rankd_node *node = &plan->nodes[i];
        const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(objs[i], "inputs");
        if (inputs != NULL && !cJSON_IsArray(inputs))
            return rankd_error_set(err, RANKD_EINPUT,
                                   "%s: node '%s': field 'inputs': must be an array of node ids",
                                   path, node->id);
        uint32_t n = (uint32_t)cJSON_GetArraySize(inputs);
        const op_spec *spec = &op_specs[node->op];
        if (n < spec->min_inputs || n > spec->max_inputs) {
            if (spec->max_inputs == ANY)
                return rankd_error_set(err, RANKD_EINPUT,
                                       "%s: node '%s': field 'inputs': op '%s' needs at least %u "
                                       "inputs, got %u",
                                       path, node->id, rankd_op_name(node->op), spec->min_inputs,
                                       n);
            return rankd_error_set(
                err, RANKD_EINPUT,
                "%s: node '%s': field 'inputs': op '%s' takes %u input%s, got %u", path, node->id,
                rankd_op_name(node->op), spec->max_inputs, spec->max_inputs == 1 ? "" : "s", n);
        }
        node->inputs = pmb_calloc(n ? n : 1, sizeof *node->inputs);
        node->n_inputs = n;
        uint32_t k = 0;
        const cJSON *in;
        cJSON_ArrayForEach(in, inputs)
        {
            if (!cJSON_IsString(in))
                return rankd_error_set(err, RANKD_EINPUT,
                                       "%s: node '%s': field 'inputs[%u]': must be a node id "
                                       "string, got %s",
                                       path, node->id, k, json_type_name(in));
            int src = rankd_plan_find(plan, in->valuestring);
            if (src < 0)
                return rankd_error_set(err, RANKD_EINPUT,
                                       "%s: node '%s': field 'inputs[%u]': no node with id '%s'",
                                       path, node->id, k, in->valuestring);
            node->inputs[k++] = (uint32_t)src;
            plan->nodes[src].n_succ++;
        }
    }
    for (uint32_t i = 0; i < plan->n_nodes; i++) {
        plan->nodes[i].succ =
            pmb_calloc(plan->nodes[i].n_succ ? plan->nodes[i].n_succ : 1, sizeof(uint32_t));
        plan->nodes[i].n_succ = 0;
    }
    for (uint32_t i = 0; i < plan->n_nodes; i++) {
        for (uint32_t k = 0; k < plan->nodes[i].n_inputs; k++) {
            rankd_node *src = &plan->nodes[plan->nodes[i].inputs[k]];
            src->succ[src->n_succ++] = i;
        }
    }
    return RANKD_OK;
}

/* An input of node that Kahn's algorithm could not order (every unordered
 * node has one). */
static uint32_t unordered_input(const rankd_plan *plan, const uint32_t *indeg, uint32_t node)
{
    for (uint32_t k = 0; k < plan->nodes[node].n_inputs; k++) {
        if (indeg[plan->nodes[node].inputs[k]] != 0)
            return plan->nodes[node].inputs[k];
    }
    return node;
}

/* Appends "<id> -> " to a message being built, an id longer than 48
 * bytes cut with "...". */
static void chain_append(char *buf, size_t cap, size_t *len, const char *id, bool arrow)
{
    if (*len >= cap)
        return;
    int w = strlen(id) > 48
                ? snprintf(buf + *len, cap - *len, "%.45s...%s", id, arrow ? " -> " : "")
                : snprintf(buf + *len, cap - *len, "%s%s", id, arrow ? " -> " : "");
    if (w > 0)
        *len += (size_t)w;
    if (*len >= cap)
        *len = cap - 1;
}

/* Describes a cycle among the nodes Kahn's algorithm could not order.
 * Walking unordered inputs n_nodes times from any unordered node must end
 * on a cycle; the walk round it is then printed in data-flow order, whole
 * when it has at most 8 nodes, else its first 3 and last 3 nodes with the
 * count of the ones between: every arrow printed is an edge of the plan. */
static int plan_cycle_error(const char *path, const rankd_plan *plan, const uint32_t *indeg,
                            rankd_error *err)
{
    uint32_t first = 0;
    while (indeg[first] == 0)
        first++;
    for (uint32_t i = 0; i < plan->n_nodes; i++)
        first = unordered_input(plan, indeg, first);
    uint32_t length = 0, cur = first;
    do {
        length++;
        cur = unordered_input(plan, indeg, cur);
    } while (cur != first);
    /* With w0 = first and w(i+1) the unordered input of w(i), the edges
     * run w(i+1) -> w(i) and w0 -> w(L-1): in data-flow order the cycle
     * reads w(L-1) -> w(L-2) -> ... -> w1 -> w0 -> w(L-1). */
    enum { SHOWN = 3, WHOLE = 2 * SHOWN + 2 };
    uint32_t w[WHOLE];
    uint32_t far[SHOWN]; /* w(L-3), w(L-2), w(L-1) */
    uint32_t i = 0;
    cur = first;
    do {
        if (i < WHOLE)
            w[i] = cur;
        if (length > WHOLE && i >= length - SHOWN)
            far[i - (length - SHOWN)] = cur;
        i++;
        cur = unordered_input(plan, indeg, cur);
    } while (cur != first);
    char chain[400];
    size_t len = 0;
    if (length <= WHOLE) {
        for (uint32_t k = length; k-- > 0;)
            chain_append(chain, sizeof chain, &len, plan->nodes[w[k]].id, true);
        chain_append(chain, sizeof chain, &len, plan->nodes[w[length - 1]].id, false);
    } else {
        for (uint32_t k = SHOWN; k-- > 0;)
            chain_append(chain, sizeof chain, &len, plan->nodes[far[k]].id, true);
        if (len < sizeof chain - 1) {
            int n = snprintf(chain + len, sizeof chain - len, "... (%u more) ... -> ",
                             length - 2 * SHOWN);
            len = n > 0 && (size_t)n < sizeof chain - len ? len + (size_t)n : sizeof chain - 1;
        }
        for (uint32_t k = SHOWN; k-- > 0;)
            chain_append(chain, sizeof chain, &len, plan->nodes[w[k]].id, true);
        chain_append(chain, sizeof chain, &len, plan->nodes[far[SHOWN - 1]].id, false);
    }
    return rankd_error_set(err, RANKD_EINPUT,
                           "%s: node '%s': field 'inputs': cycle of %u nodes: %s", path,
                           plan->nodes[first].id, length, chain);
}

/* Kahn's algorithm; also finds the roots and the single sink. */
static int plan_order(const char *path, rankd_plan *plan, rankd_error *err)
{
    uint32_t n = plan->n_nodes;
    uint32_t *indeg = pmb_calloc(n, sizeof *indeg);
    plan->topo = pmb_calloc(n, sizeof *plan->topo);
    plan->roots = pmb_calloc(n, sizeof *plan->roots);
    uint32_t head = 0, tail = 0;
    for (uint32_t i = 0; i < n; i++) {
        indeg[i] = plan->nodes[i].n_inputs;
        if (indeg[i] == 0) {
            plan->topo[tail++] = i;
            plan->roots[plan->n_roots++] = i;
        }
    }
    while (head < tail) {
        const rankd_node *node = &plan->nodes[plan->topo[head++]];
        for (uint32_t k = 0; k < node->n_succ; k++) {
            if (--indeg[node->succ[k]] == 0)
                plan->topo[tail++] = node->succ[k];
        }
    }
    int rc = RANKD_OK;
    if (tail != n) {
        rc = plan_cycle_error(path, plan, indeg, err);
        goto out;
    }
    /* The output nodes, named whole (cut ids end in "...") up to four,
     * then counted: a message is never cut in the middle of a name. */
    uint32_t sinks = 0;
    char names[320] = "";
    size_t len = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (plan->nodes[i].n_succ != 0)
            continue;
        if (sinks < 4) {
            if (sinks > 0)
                len += (size_t)snprintf(names + len, sizeof names - len, ", ");
            chain_append(names, sizeof names, &len, plan->nodes[i].id, false);
        }
        sinks++;
        plan->sink = i;
    }
    if (sinks > 4)
        snprintf(names + len, sizeof names - len, " and %u more", sinks - 4);
    if (sinks != 1)
        rc = rankd_error_set(err, RANKD_EINPUT,
                             "%s: node '%s': field 'inputs': the plan has %u output nodes (%s); "
                             "exactly one node may have no consumers",
                             path, plan->nodes[plan->sink].id, sinks, names);
out:
    free(indeg);
    return rc;
}

static uint32_t next_pow2(uint32_t v)
{
    uint32_t p = 1;
    while (p < v)
        p <<= 1;
    return p;
}

/* Derives each node's output capacity, the request buffer layout, and the
 * critical path of sleeps. Runs in topological order. */
static int plan_layout(const char *path, rankd_plan *plan, rankd_error *err)
{
    uint64_t *sleep_path = pmb_calloc(plan->n_nodes, sizeof *sleep_path);
    uint64_t total = 0;
    size_t offset = 0;
    for (uint32_t t = 0; t < plan->n_nodes; t++) {
        rankd_node *node = &plan->nodes[plan->topo[t]];
        uint64_t in_sum = 0, in_max = 0, longest = 0;
        for (uint32_t k = 0; k < node->n_inputs; k++) {
            uint64_t c = plan->nodes[node->inputs[k]].capacity;
            in_sum += c;
            in_max = c > in_max ? c : in_max;
            uint64_t s = sleep_path[node->inputs[k]];
            longest = s > longest ? s : longest;
        }
        uint64_t cap;
        switch (node->op) {
        case RANKD_OP_SOURCE:
            cap = node->p.source.count;
            break;
        case RANKD_OP_CONCAT:
        case RANKD_OP_SLEEP:
            cap = in_sum;
            break;
        case RANKD_OP_TOP_K:
            cap = in_max < node->p.top_k.k ? in_max : node->p.top_k.k;
            break;
        default:
            cap = in_max;
            break;
        }
        total += cap;
        if (total > PLAN_MAX_CANDIDATES) {
            free(sleep_path);
            return rankd_error_set(err, RANKD_EINPUT,
                                   "%s: node '%s': field 'params': the plan needs more than %u "
                                   "candidates per request",
                                   path, node->id, PLAN_MAX_CANDIDATES);
        }
        node->capacity = (uint32_t)cap;
        node->out_offset = offset;
        offset += cap * sizeof(rankd_candidate);
        if (node->op == RANKD_OP_DEDUPE) {
            node->p.dedupe.slots = next_pow2((uint32_t)cap * 2 + 2);
            node->scratch_offset = offset;
            offset += (size_t)node->p.dedupe.slots * sizeof(uint64_t);
        }
        sleep_path[plan->topo[t]] = longest + (node->op == RANKD_OP_SLEEP ? node->p.sleep.ns : 0);
        if (sleep_path[plan->topo[t]] > plan->critical_sleep_ns)
            plan->critical_sleep_ns = sleep_path[plan->topo[t]];
        if (rankd_op_is_io(node->op))
            plan->has_io = true;
        if (node->op == RANKD_OP_REDIS_FETCH)
            plan->needs_redis = true;
    }
    plan->buffer_bytes = offset ? offset : 1;
    free(sleep_path);
    return RANKD_OK;
}

int rankd_plan_find(const rankd_plan *plan, const char *id)
{
    if (plan->id_index == NULL)
        return -1;
    uint32_t mask = plan->id_slots - 1;
    for (uint32_t slot = (uint32_t)rankd__hash_str(id) & mask;; slot = (slot + 1) & mask) {
        uint32_t entry = plan->id_index[slot];
        if (entry == 0)
            return -1;
        if (strcmp(plan->nodes[entry - 1].id, id) == 0)
            return (int)(entry - 1);
    }
}

/* Adds node i's id to the index; returns the index of an earlier node with
 * the same id, or -1. The table has more than twice as many slots as
 * nodes, so it never fills. */
static int id_index_add(rankd_plan *plan, uint32_t i)
{
    uint32_t mask = plan->id_slots - 1;
    const char *id = plan->nodes[i].id;
    for (uint32_t slot = (uint32_t)rankd__hash_str(id) & mask;; slot = (slot + 1) & mask) {
        uint32_t entry = plan->id_index[slot];
        if (entry == 0) {
            plan->id_index[slot] = i + 1;
            return -1;
        }
        if (strcmp(plan->nodes[entry - 1].id, id) == 0)
            return (int)(entry - 1);
    }
}

int rankd_plan_parse(const char *json, size_t len, const char *path, rankd_plan **out,
                     rankd_error *err)
{
    int rc = RANKD_EINPUT;
    rankd_plan *plan = pmb_calloc(1, sizeof *plan);
    cJSON *root = NULL;
    const cJSON **objs = NULL;
    *out = NULL;
    plan->path = pmb_strdup(path);
    rc = rankd__json_parse(json, len, path, &root, err);
    if (rc != RANKD_OK)
        goto fail;
    rc = RANKD_EINPUT;
    if (!cJSON_IsObject(root)) {
        rankd_error_set(err, RANKD_EINPUT, "%s: the plan must be a JSON object", path);
        goto fail;
    }
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
    if (!cJSON_IsString(name) || name->valuestring[0] == '\0') {
        rankd_error_set(err, RANKD_EINPUT, "%s: field 'name': must be a non-empty string", path);
        goto fail;
    }
    const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(root, "nodes");
    if (!cJSON_IsArray(nodes) || cJSON_GetArraySize(nodes) == 0) {
        rankd_error_set(err, RANKD_EINPUT, "%s: field 'nodes': must be a non-empty array", path);
        goto fail;
    }
    const cJSON *f;
    cJSON_ArrayForEach(f, root)
    {
        if (strcmp(f->string, "name") != 0 && strcmp(f->string, "nodes") != 0 &&
            strcmp(f->string, "description") != 0) {
            rankd_error_set(err, RANKD_EINPUT, "%s: field '%s': unknown field", path, f->string);
            goto fail;
        }
    }
    plan->n_nodes = (uint32_t)cJSON_GetArraySize(nodes);
    plan->id_slots = 1;
    while (plan->id_slots < 2 * plan->n_nodes + 2)
        plan->id_slots <<= 1;
    plan->name = pmb_strdup(name->valuestring);
    plan->nodes = pmb_calloc(plan->n_nodes, sizeof *plan->nodes);
    plan->id_index = pmb_calloc(plan->id_slots, sizeof *plan->id_index);
    objs = pmb_calloc(plan->n_nodes, sizeof *objs);
    uint32_t i = 0;
    const cJSON *obj;
    cJSON_ArrayForEach(obj, nodes)
    {
        objs[i] = obj;
        if ((rc = node_parse(path, i, obj, &plan->nodes[i], err)) != RANKD_OK)
            goto fail;
        rc = RANKD_EINPUT;
        int dup = id_index_add(plan, i);
        if (dup >= 0) {
            rankd_error_set(err, RANKD_EINPUT,
                            "%s: node '%s': field 'id': duplicate id (nodes[%d] and nodes[%u])",
                            path, plan->nodes[i].id, dup, i);
            goto fail;
        }
        i++;
    }
    if ((rc = plan_link(path, plan, objs, err)) != RANKD_OK ||
        (rc = plan_order(path, plan, err)) != RANKD_OK ||
        (rc = plan_layout(path, plan, err)) != RANKD_OK)
        goto fail;
    free(objs);
    cJSON_Delete(root);
    *out = plan;
    return RANKD_OK;
fail:
    free(objs);
    cJSON_Delete(root);
    rankd_plan_free(plan);
    return rc;
}

int rankd_plan_load(const char *path, rankd_plan **out, rankd_error *err)
{
    size_t len = 0;
    char *text = NULL;
    *out = NULL;
    if (rankd__read_file(path, &text, &len, err) != RANKD_OK)
        return RANKD_EINPUT;
    int rc = rankd_plan_parse(text, len, path, out, err);
    free(text);
    return rc;
}

int rankd_plan_load_named(const char *dir, const char *name, rankd_plan **out, rankd_error *err)
{
    char path[4096];
    *out = NULL;
    if (name[0] == '\0' || strchr(name, '/') != NULL)
        return rankd_error_set(err, RANKD_EINPUT,
                               "plan name '%s': expected the name of a plan file without its "
                               "directory and '.json'",
                               name);
    int n = snprintf(path, sizeof path, "%s/%s.json", dir, name);
    if (n < 0 || (size_t)n >= sizeof path)
        return rankd_error_set(err, RANKD_EINPUT, "plan directory '%.200s...': path too long", dir);
    return rankd_plan_load(path, out, err);
}

void rankd_plan_free(rankd_plan *plan)
{
    if (plan == NULL)
        return;
    for (uint32_t i = 0; i < plan->n_nodes; i++) {
        rankd_node *node = &plan->nodes[i];
        if (node->op == RANKD_OP_REGEX_FILTER) {
            if (node->p.regex.code != NULL)
                pcre2_code_free(node->p.regex.code->code);
            free(node->p.regex.code);
            free(node->p.regex.pattern);
        } else if (node->op == RANKD_OP_REDIS_FETCH) {
            free(node->p.redis.key_prefix);
        }
        free(node->id);
        free(node->inputs);
        free(node->succ);
    }
    free(plan->nodes);
    free(plan->id_index);
    free(plan->topo);
    free(plan->roots);
    free(plan->name);
    free(plan->path);
    free(plan);
}

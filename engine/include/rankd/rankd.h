/* rankd: a DAG executor for ranking requests.
 *
 * A plan is a DAG of nodes (candidate sources, concat, filters, simulated
 * I/O, Redis feature fetches, scoring, top-k). A request runs every node of
 * the plan once, either on the calling thread in topological order (the sync
 * scheduler) or on a pool of CPU workers plus libuv I/O loops (the async
 * scheduler). Both produce the same response for the same request.
 */
#ifndef RANKD_RANKD_H
#define RANKD_RANKD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes returned by every function that can fail. The program maps
 * RANKD_EINPUT to exit code 2 (bad input) and RANKD_ERUNTIME to 1. */
enum rankd_status {
    RANKD_OK = 0,
    RANKD_ERUNTIME = -1,
    RANKD_EINPUT = -2,
};

/* A message naming what failed and where (file, node id, field). */
typedef struct rankd_error {
    char msg[512];
} rankd_error;

/* Formats a message into err (which may be NULL) and returns status. */
int rankd_error_set(rankd_error *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define RANKD_TITLE_MAX 32

/* One ranking candidate. Fixed size so node outputs live in one buffer per
 * request, allocated once and reused. */
typedef struct rankd_candidate {
    uint64_t id;
    double score;
    double feature;
    char title[RANKD_TITLE_MAX];
} rankd_candidate;

typedef struct rankd_list {
    rankd_candidate *items;
    uint32_t count;
} rankd_list;

typedef enum rankd_op {
    RANKD_OP_SOURCE,
    RANKD_OP_CONCAT,
    RANKD_OP_FILTER,
    RANKD_OP_REGEX_FILTER,
    RANKD_OP_DEDUPE,
    RANKD_OP_SCORE,
    RANKD_OP_TOP_K,
    RANKD_OP_SLEEP,
    RANKD_OP_REDIS_FETCH,
    RANKD_OP_COUNT_
} rankd_op;

/* The name of an op as written in plan files ("source", "top_k", ...). */
const char *rankd_op_name(rankd_op op);

/* True for ops that wait on an I/O loop (sleep, redis_fetch). */
bool rankd_op_is_io(rankd_op op);

/* A regex_filter node's compiled pattern (PCRE2 code, JIT-compiled), owned
 * by the plan. */
typedef struct rankd_regex rankd_regex;

typedef struct rankd_node {
    char *id;
    rankd_op op;
    uint32_t *inputs;
    uint32_t n_inputs;
    uint32_t *succ;
    uint32_t n_succ;
    /* The most candidates this node can output, derived at load time. */
    uint32_t capacity;
    /* Offset of this node's output (and scratch) in the request buffer. */
    size_t out_offset;
    size_t scratch_offset;
    union {
        struct {
            uint32_t count;
            uint64_t id_base;
            uint64_t id_space;
            uint64_t seed;
        } source;
        struct {
            double min_score;
        } filter;
        struct {
            rankd_regex *code;
            char *pattern;
            bool invert;
        } regex;
        struct {
            /* Slots of the hash table in the scratch space: a power of two
             * above twice the capacity, so probes stay short. */
            uint32_t slots;
        } dedupe;
        struct {
            double score_weight;
            double feature_weight;
            double bias;
        } score;
        struct {
            uint32_t k;
        } top_k;
        struct {
            uint64_t ns;
        } sleep;
        struct {
            char *key_prefix;
            uint64_t timeout_ns;
        } redis;
    } p;
} rankd_node;

typedef struct rankd_plan {
    char *name;
    char *path;
    rankd_node *nodes;
    uint32_t n_nodes;
    uint32_t *topo;
    uint32_t *roots;
    uint32_t n_roots;
    uint32_t sink;
    /* Bytes of candidate and scratch storage one request needs. */
    size_t buffer_bytes;
    bool has_io;
    bool needs_redis;
    /* The longest chain of sleep nodes, in nanoseconds. */
    uint64_t critical_sleep_ns;
    /* Node ids hashed to node index + 1 (0 = empty), open addressing over
     * id_slots (a power of two): finding a node is O(1), so loading a plan
     * stays linear in its nodes. */
    uint32_t *id_index;
    uint32_t id_slots;
} rankd_plan;

/* Loads and validates a plan file. Every problem (unreadable file, bad JSON,
 * unknown op, duplicate id, missing input, cycle, wrong param type) returns
 * RANKD_EINPUT with a message naming the file, the node id and the field. */
int rankd_plan_load(const char *path, rankd_plan **out, rankd_error *err);

/* Loads "<dir>/<name>.json". */
int rankd_plan_load_named(const char *dir, const char *name, rankd_plan **out, rankd_error *err);

/* Parses and validates a plan from a JSON text; path names it in errors. */
int rankd_plan_parse(const char *json, size_t len, const char *path, rankd_plan **out,
                     rankd_error *err);

void rankd_plan_free(rankd_plan *plan);

/* Returns the index of the node with this id, or -1. O(1). */
int rankd_plan_find(const rankd_plan *plan, const char *id);

/* A request in flight. Created once per concurrency slot and reused: it owns
 * the output buffer of every node and the async scheduler's per-node
 * counters, which stay private (src/internal.h). */
typedef struct rankd_request rankd_request;
typedef void (*rankd_done_cb)(rankd_request *req, void *arg);

int rankd_request_create(const rankd_plan *plan, rankd_request **out, rankd_error *err);
void rankd_request_free(rankd_request *req);

/* Prepares a request for a new run: clears outputs, counters and errors. */
void rankd_request_reset(rankd_request *req, uint64_t user_id);

/* Marks a request failed; the first message is kept. Thread-safe. */
void rankd_request_fail(rankd_request *req, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* True once a node of the request failed; rankd_request_error says why. */
bool rankd_request_failed(const rankd_request *req);

/* The first failure's message, or "" while the request has not failed. */
const char *rankd_request_error(const rankd_request *req);

/* The output of a node of the request (the response is the sink's). */
const rankd_list *rankd_request_output(const rankd_request *req, uint32_t node);

/* What rankd_sched_submit calls when the request is done, on whichever
 * thread finished its sink node. */
void rankd_request_set_done(rankd_request *req, rankd_done_cb cb, void *arg);

/* The caller's slot number: the async scheduler serves the request on I/O
 * loop slot % io_threads, so the slots of a bench spread over the loops. */
void rankd_request_set_slot(rankd_request *req, uint64_t slot);

/* Parses a request ({"user_id": N}); RANKD_EINPUT with a message if invalid. */
int rankd_request_parse(const char *json, size_t len, uint64_t *user_id, rankd_error *err);

/* The response of a finished request as a JSON text (malloc'd). */
char *rankd_response_json(const rankd_request *req);

/* Per-thread state the ops need (PCRE2 match data, a blocking Redis
 * connection for the sync scheduler). One per thread, never shared. */
typedef struct rankd_thread_ctx rankd_thread_ctx;

int rankd_thread_ctx_create(const char *redis_addr, rankd_thread_ctx **out, rankd_error *err);
void rankd_thread_ctx_free(rankd_thread_ctx *ctx);

/* Runs one CPU node of a request: reads its inputs' outputs, writes its own.
 * I/O nodes belong to the schedulers (rankd_run_sync blocks on them, the
 * async scheduler's loops wait for them); given one, this does nothing. */
void rankd_node_run(rankd_request *req, uint32_t node, rankd_thread_ctx *ctx);

/* The sync scheduler: every node in topological order on this thread; sleep
 * nodes sleep, Redis nodes block on the thread's connection. Returns
 * RANKD_OK, or RANKD_ERUNTIME when a node failed (rankd_request_error says why). */
int rankd_run_sync(rankd_request *req, rankd_thread_ctx *ctx);

/* The async scheduler: a pool of CPU workers and libuv I/O loops. */
typedef struct rankd_sched rankd_sched;

typedef struct rankd_sched_config {
    uint32_t cpu_threads;
    uint32_t io_threads;
    /* "host:port" for Redis fetch nodes; NULL when no plan needs Redis. */
    const char *redis_addr;
    /* Start I/O loops (only plans with sleep or Redis nodes need them). */
    bool with_io;
} rankd_sched_config;

int rankd_sched_create(const rankd_sched_config *cfg, rankd_sched **out, rankd_error *err);

/* Starts a request; the callback given by rankd_request_set_done runs on whichever thread finishes
 * its sink node, and may start the next request from there. Thread-safe. */
void rankd_sched_submit(rankd_sched *sched, rankd_request *req);

/* Stops the workers and loops; every submitted request must be done. */
void rankd_sched_destroy(rankd_sched *sched);

/* Runs one request to completion on the async scheduler and waits for it. */
int rankd_run_async(rankd_sched *sched, rankd_request *req);

/* Writes the feature keys every redis_fetch node of the plan reads, for every
 * id its sources can produce. Returns the number of keys in *written. */
int rankd_seed_redis(const rankd_plan *plan, const char *redis_addr, uint64_t *written,
                     rankd_error *err);

/* Reads a stream to its end into a NUL-terminated malloc'd text; name
 * labels the stream in the error. */
int rankd_read_stream(FILE *f, const char *name, char **text, size_t *len, rankd_error *err);

/* Monotonic clock in nanoseconds. */
uint64_t rankd_now_ns(void);

#ifdef __cplusplus
}
#endif

#endif

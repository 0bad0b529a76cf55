/* Private declarations shared by librankd's sources. Names with a double
 * underscore are internal and may change without notice. */
#ifndef RANKD_INTERNAL_H
#define RANKD_INTERNAL_H

#include "pmbase/error.h"
#include "rankd/rankd.h"

#include <stdatomic.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

struct rankd_regex {
    pcre2_code *code;
};

struct rankd_request {
    const rankd_plan *plan;
    uint64_t user_id;
    rankd_list *outputs;
    unsigned char *buffer;
    /* Per node, the inputs not yet complete (the async scheduler). */
    atomic_uint *pending;
    /* Per node, what running it costs in ns as the async scheduler measured
     * it (a moving average of sampled runs; 0 until first measured). Kept
     * across resets: it describes the plan's nodes, not one request. */
    atomic_uint *cost_ns;
    atomic_int failed;
    char error[256];
    /* Set by the async scheduler: the I/O loop serving this request. */
    uint32_t io_index;
    /* The bench's sequence number of the request, its intended start and
     * its slot (which also picks the I/O loop). */
    uint64_t seq;
    uint64_t start_ns;
    uint64_t slot;
    rankd_done_cb on_done;
    void *done_arg;
};

struct rankd_thread_ctx {
    pcre2_match_data *match;
    /* The sync scheduler's blocking Redis connection, made on first use. */
    redisContext *redis;
    char *redis_addr;
};

uint64_t rankd__hash_str(const char *s);
uint64_t rankd__mix(uint64_t x);

/* Parses one JSON value that must fill the text (whitespace aside) and
 * hold no object with a key twice; errors name the input (name), the line
 * and the key. */
int rankd__json_parse(const char *text, size_t len, const char *name, cJSON **out,
                      rankd_error *err);

/* The largest plan file read: far above any real plan, and small enough
 * that a wrong path (a log, a device) fails at once instead of filling
 * memory. */
#define RANKD__FILE_MAX (64u << 20)

/* Carries a pmbase failure into err (PMB_EINPUT becomes RANKD_EINPUT, any
 * other failure RANKD_ERUNTIME) and returns the rankd status. */
int rankd__status(int pmb_status, const pmb_error *from, rankd_error *err);

/* Reads a whole regular file; the error names the path. */
int rankd__read_file(const char *path, char **text, size_t *len, rankd_error *err);

/* Splits a Redis server's "host:port"; the error names the address. */
int rankd__parse_addr(const char *addr, char *host, size_t host_len, int *port, rankd_error *err);

/* The feature value seeded for an id, and the key it lives under. */
double rankd__feature_value(uint64_t id);
int rankd__feature_key(char *buf, size_t len, const char *prefix, uint64_t id);

/* Sets a node's output to the concatenation of its inputs (an alias when it
 * has exactly one). Used by concat and by sleep, which passes data through. */
void rankd__pass_through(rankd_request *req, uint32_t node);

/* Applies an MGET reply (or NULL on failure) to a redis_fetch node. */
void rankd__redis_apply(rankd_request *req, uint32_t node, const redisReply *reply,
                        const char *failure);

/* Builds the MGET argument vector of a redis_fetch node; the caller frees
 * the returned arrays with rankd__redis_args_free. */
int rankd__redis_args(const rankd_request *req, uint32_t node, int *argc, char ***argv,
                      size_t **argvlen);
void rankd__redis_args_free(int argc, char **argv, size_t *argvlen);

/* Connects a blocking hiredis context to "host:port". */
redisContext *rankd__redis_connect(const char *addr, uint64_t timeout_ns, rankd_error *err);

/* The async scheduler's I/O side (io.c). */
typedef struct rankd_io rankd_io;

/* Called on I/O loop number loop when an I/O node has its output. */
typedef void (*rankd_io_done_fn)(void *sched, uint32_t loop, rankd_request *req, uint32_t node);

int rankd__io_create(uint32_t threads, const char *redis_addr, rankd_io_done_fn done, void *sched,
                     rankd_io **out, rankd_error *err);
/* Hands an I/O node to the request's loop (req->io_index). Thread-safe.
 * Returns true when it woke that loop, false when the calling thread is
 * the loop and started the node itself, or when a wake was already on its
 * way (the inbox held tasks). */
bool rankd__io_submit(rankd_io *io, rankd_request *req, uint32_t node);
void rankd__io_destroy(rankd_io *io);
uint32_t rankd__io_count(const rankd_io *io);

/* The wake-ups the async scheduler has caused since it was created: futex
 * wakes of sleeping CPU workers and eventfd wakes of I/O loops, counted by
 * each thread on the (already costly) path that wakes, summed here. */
uint64_t rankd__sched_wakeups(const rankd_sched *s);

#endif

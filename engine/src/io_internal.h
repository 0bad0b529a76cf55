/* Private declarations of the async scheduler's I/O side: the timer heap
 * (timer_heap.c) and the hiredis-libuv adapter (io_redis.c) that the I/O
 * loops (io.c) are built from. */
#ifndef RANKD_IO_INTERNAL_H
#define RANKD_IO_INTERNAL_H

#include "internal.h"

#include <hiredis/async.h>
#include <uv.h>

/* A Redis command in flight. Whichever of its reply and its timeout comes
 * first completes the node; the other one frees the op. */
typedef struct rankd__redis_op {
    rankd_request *req;
    uint32_t node;
    bool finished;
} rankd__redis_op;

/* A deadline: a sleep node's end (req set, op NULL) or a Redis command's
 * timeout (req NULL, op set). */
typedef struct rankd__timer_entry {
    uint64_t deadline;
    rankd_request *req;
    uint32_t node;
    rankd__redis_op *op;
} rankd__timer_entry;

/* A binary min-heap of deadlines in nanoseconds; items[0] is the earliest.
 * Zero-initialised it is empty; free items when done. */
typedef struct rankd__timer_heap {
    rankd__timer_entry *items;
    uint32_t count;
    uint32_t cap;
} rankd__timer_heap;

/* Adds an entry; RANKD_ERUNTIME when the heap cannot grow. */
int rankd__timer_heap_push(rankd__timer_heap *h, rankd__timer_entry e);

/* Removes and returns the earliest entry; the heap must not be empty. */
rankd__timer_entry rankd__timer_heap_pop(rankd__timer_heap *h);

/* Attaches an async hiredis context to a libuv loop. Unlike the adapter
 * packaged with hiredis 0.14, a socket error reported by libuv is handed
 * to hiredis, which fails the pending commands at once. Returns
 * RANKD_ERUNTIME when out of memory or when libuv refuses the socket. */
int rankd__redis_attach(redisAsyncContext *ac, uv_loop_t *loop);

/* The libuv side of an attached context. */
typedef struct rankd__redis_watch rankd__redis_watch;

/* Holds back the changes of watched events hiredis asks for, until
 * rankd__redis_release applies the net change: queueing a command and
 * writing it at once asks for write events and drops them again, two
 * epoll_ctl calls each for nothing. The watch outlives the context until
 * the loop's next turn, so it may be released after a call that freed the
 * context. */
rankd__redis_watch *rankd__redis_hold(redisAsyncContext *ac);
void rankd__redis_release(rankd__redis_watch *w);

#endif

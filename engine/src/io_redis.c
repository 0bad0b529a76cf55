/* The glue between hiredis and libuv, written for the engine. The adapter
 * packaged with hiredis 0.14 returns early when libuv reports a socket
 * error, so a refused connection never completes and every command waits
 * for its timeout; this one hands the error to hiredis, which fails the
 * pending commands. */
#include "io_internal.h"

#include <stdlib.h>

struct rankd__redis_watch {
    uv_poll_t poll;
    redisAsyncContext *ac;
    /* The events hiredis wants, and the ones libuv watches. */
    int events;
    int watched;
    /* While held, changes wait for rankd__redis_release. */
    bool held;
};

typedef rankd__redis_watch redis_watch;

static void redis_watch_cb(uv_poll_t *handle, int status, int events)
{
    redis_watch *w = handle->data;
    if (status < 0)
        events = w->events;
    /* Each call may free the context; cleanup then clears w->ac. */
    if (w->ac != NULL && (events & UV_WRITABLE))
        redisAsyncHandleWrite(w->ac);
    if (w->ac != NULL && (events & UV_READABLE))
        redisAsyncHandleRead(w->ac);
}

/* Makes libuv watch the events hiredis wants. libuv's uv_poll_start
 * re-registers the socket with epoll each time it is called (an
 * EPOLL_CTL_DEL and an EPOLL_CTL_ADD), and hiredis asks for read events
 * again after every read, so it is called only when the set changes. */
static void redis_watch_apply(redis_watch *w)
{
    if (w->held || w->events == w->watched)
        return;
    w->watched = w->events;
    if (w->watched != 0)
        uv_poll_start(&w->poll, w->watched, redis_watch_cb);
    else
        uv_poll_stop(&w->poll);
}

static void redis_watch_update(redis_watch *w, int add, int del)
{
    w->events = (w->events | add) & ~del;
    redis_watch_apply(w);
}

rankd__redis_watch *rankd__redis_hold(redisAsyncContext *ac)
{
    redis_watch *w = ac->ev.data;
    w->held = true;
    return w;
}

void rankd__redis_release(rankd__redis_watch *w)
{
    w->held = false;
    /* Cleanup (the context freed while held) has closed the handle. */
    if (w->ac != NULL)
        redis_watch_apply(w);
}

static void redis_add_read(void *data)
{
    redis_watch_update(data, UV_READABLE, 0);
}

static void redis_del_read(void *data)
{
    redis_watch_update(data, 0, UV_READABLE);
}

static void redis_add_write(void *data)
{
    redis_watch_update(data, UV_WRITABLE, 0);
}

static void redis_del_write(void *data)
{
    redis_watch_update(data, 0, UV_WRITABLE);
}

static void redis_watch_free(uv_handle_t *handle)
{
    free(handle->data);
}

static void redis_cleanup(void *data)
{
    redis_watch *w = data;
    w->ac = NULL;
    uv_close((uv_handle_t *)&w->poll, redis_watch_free);
}

int rankd__redis_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    redis_watch *w = calloc(1, sizeof *w);
    if (w == NULL || uv_poll_init_socket(loop, &w->poll, ac->c.fd) != 0) {
        free(w);
        return RANKD_ERUNTIME;
    }
    w->poll.data = w;
    w->ac = ac;
    ac->ev.data = w;
    ac->ev.addRead = redis_add_read;
    ac->ev.delRead = redis_del_read;
    ac->ev.addWrite = redis_add_write;
    ac->ev.delWrite = redis_del_write;
    ac->ev.cleanup = redis_cleanup;
    return RANKD_OK;
}

/* A stand-in remote-write receiver for tests and the export benchmark: a
 * thread serving HTTP/1.1 on a free 127.0.0.1 port that answers requests with
 * a scripted sequence (200, 400, 429, 500, or hang: read and never answer),
 * then 200 once the script is used up. With `decode` it checks the headers,
 * decompresses and decodes every body and keeps each sample it received, with
 * the status it answered. Its life is bounded (max_life_sec). */
#ifndef RW_RECEIVER_H
#define RW_RECEIVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RW_RECV_MAX_SCRIPT 64

enum { RW_HANG = -1 };

struct rw_recv_sample {
    char series[256]; /* labels as name=value,... in the order received */
    int64_t ms;
    double value;
    int status;     /* what the receiver answered to the request carrying it */
    size_t request; /* index of that request, from 0 */
};

struct rw_receiver {
    int port;
    /* Script: statuses (or RW_HANG) for the first requests, in order. */
    int script[RW_RECV_MAX_SCRIPT];
    size_t nscript;
    bool decode;
    double max_life_sec;
    /* Results, under mu. */
    pthread_mutex_t mu;
    size_t requests;
    size_t bad_headers;  /* a required header missing or wrong */
    size_t bad_bodies;   /* not snappy, not a WriteRequest, labels out of order */
    char last_auth[256]; /* the Authorization header of the last request */
    char last_agent[128];
    struct rw_recv_sample *samples;
    size_t nsamples, cap;
    uint64_t body_bytes;
    /* Private. */
    int fd;
    volatile bool stop;
    pthread_t thread;
};

/* Binds a free port and starts the thread. Returns 0, or -1 with errno. */
int rw_receiver_start(struct rw_receiver *r);
void rw_receiver_stop(struct rw_receiver *r);

#endif

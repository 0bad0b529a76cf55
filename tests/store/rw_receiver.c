/* The stand-in remote-write receiver (see rw_receiver.h). One connection at a
 * time is enough: the exporter sends its requests one after the other. */
#include "rw_receiver.h"

#include "remote.pb-c.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads into buf until `have` bytes are there; false on EOF, error or stop. */
static bool read_some(struct rw_receiver *r, int fd, char *buf, size_t *len, size_t cap)
{
    while (!r->stop) {
        struct pollfd p = {fd, POLLIN, 0};
        int n = poll(&p, 1, 100);
        if (n < 0 && errno != EINTR)
            return false;
        if (n <= 0)
            continue;
        ssize_t got = read(fd, buf + *len, cap - *len);
        if (got <= 0)
            return false;
        *len += (size_t)got;
        return true;
    }
    return false;
}

static const char *header(const char *head, const char *name, char *out, size_t size)
{
    size_t n = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
            const char *v = p + 3 + n;
            while (*v == ' ')
                v++;
            size_t len = strcspn(v, "\r\n");
            snprintf(out, size, "%.*s", (int)len, v);
            return out;
        }
    }
    out[0] = '\0';
    return NULL;
}

static void decode(struct rw_receiver *r, const char *body, size_t len, int status, size_t index)
{
    size_t raw_len;
    if (snappy_uncompressed_length(body, len, &raw_len) != SNAPPY_OK || raw_len > (64u << 20)) {
        r->bad_bodies++;
        return;
    }
    char *raw = malloc(raw_len ? raw_len : 1);
    if (raw == NULL || snappy_uncompress(body, len, raw, &raw_len) != SNAPPY_OK) {
        free(raw);
        r->bad_bodies++;
        return;
    }
    Prometheus__WriteRequest *w =
        prometheus__write_request__unpack(NULL, raw_len, (const uint8_t *)raw);
    free(raw);
    if (w == NULL) {
        r->bad_bodies++;
        return;
    }
    for (size_t i = 0; i < w->n_timeseries; i++) {
        const Prometheus__TimeSeries *ts = w->timeseries[i];
        char series[256];
        size_t off = 0;
        series[0] = '\0';
        bool ok = ts->n_labels > 0 && strcmp(ts->labels[0]->name, "__name__") == 0;
        for (size_t k = 0; k < ts->n_labels; k++) {
            const Prometheus__Label *l = ts->labels[k];
            if (l->name[0] == '\0' || l->value[0] == '\0' ||
                (k > 1 && strcmp(ts->labels[k - 1]->name, l->name) >= 0))
                ok = false;
            int n = snprintf(series + off, sizeof series - off, "%s%s=%s", k ? "," : "", l->name,
                             l->value);
            if (n > 0 && (size_t)n < sizeof series - off)
                off += (size_t)n;
        }
        if (!ok)
            r->bad_bodies++;
        for (size_t k = 0; k < ts->n_samples; k++) {
            if (r->nsamples == r->cap) {
                r->cap = r->cap ? r->cap * 2 : 1024;
                r->samples = realloc(r->samples, r->cap * sizeof *r->samples);
                if (r->samples == NULL)
                    abort();
            }
            struct rw_recv_sample *s = &r->samples[r->nsamples++];
            snprintf(s->series, sizeof s->series, "%s", series);
            s->ms = ts->samples[k]->timestamp;
            s->value = ts->samples[k]->value;
            s->status = status;
            s->request = index;
        }
    }
    prometheus__write_request__free_unpacked(w, NULL);
}

static void answer(int fd, int status)
{
    char buf[256];
    const char *text = status == 400   ? "out of order sample"
                       : status == 429 ? "too many requests"
                       : status >= 500 ? "internal error"
                                       : "";
    int code = status == 200 ? 204 : status;
    int n = snprintf(buf, sizeof buf,
                     "HTTP/1.1 %d X\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
                     code, strlen(text), text);
    ssize_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, buf + off, (size_t)(n - off));
        if (w <= 0)
            return;
        off += w;
    }
}

/* Serves one connection until the client closes it or the receiver stops. */
static void serve(struct rw_receiver *r, int fd)
{
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap + 1);
    if (buf == NULL)
        abort();
    for (;;) {
        char *end;
        while (buf[len] = '\0', (end = strstr(buf, "\r\n\r\n")) == NULL) {
            if (len == cap || !read_some(r, fd, buf, &len, cap))
                goto out;
        }
        size_t head = (size_t)(end - buf) + 4;
        char value[256];
        size_t body_len = 0;
        if (header(buf, "Content-Length", value, sizeof value))
            body_len = strtoul(value, NULL, 10);
        while (len < head + body_len) {
            if (head + body_len > cap) {
                cap = head + body_len;
                buf = realloc(buf, cap + 1);
                if (buf == NULL)
                    abort();
            }
            if (!read_some(r, fd, buf, &len, cap))
                goto out;
        }
        buf[head - 2] = '\0';
        pthread_mutex_lock(&r->mu);
        size_t index = r->requests++;
        int status = index < r->nscript ? r->script[index] : 200;
        r->body_bytes += body_len;
        if (r->decode) {
            char v2[256];
            bool ok = header(buf, "Content-Encoding", value, sizeof value) &&
                      strcmp(value, "snappy") == 0 &&
                      header(buf, "Content-Type", value, sizeof value) &&
                      strcmp(value, "application/x-protobuf") == 0 &&
                      header(buf, "X-Prometheus-Remote-Write-Version", value, sizeof value) &&
                      strcmp(value, "0.1.0") == 0 && header(buf, "User-Agent", v2, sizeof v2) &&
                      strncmp(v2, "rondo-remote-write/", 19) == 0 && strncmp(buf, "POST ", 5) == 0;
            if (!ok)
                r->bad_headers++;
            header(buf, "User-Agent", r->last_agent, sizeof r->last_agent);
            header(buf, "Authorization", r->last_auth, sizeof r->last_auth);
            decode(r, buf + head, body_len, status, index);
        }
        pthread_mutex_unlock(&r->mu);
        if (status == RW_HANG) {
            /* Never answer: wait for the client to give up and close. */
            while (read_some(r, fd, buf, &len, cap))
                len = 0;
            goto out;
        }
        answer(fd, status);
        memmove(buf, buf + head + body_len, len - head - body_len);
        len -= head + body_len;
    }
out:
    free(buf);
}

static void *receiver_main(void *arg)
{
    struct rw_receiver *r = arg;
    double end = now_sec() + r->max_life_sec;
    while (!r->stop && now_sec() < end) {
        struct pollfd p = {r->fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int c = accept(r->fd, NULL, NULL);
        if (c < 0)
            continue;
        serve(r, c);
        close(c);
    }
    return NULL;
}

int rw_receiver_start(struct rw_receiver *r)
{
    pthread_mutex_init(&r->mu, NULL);
    if (r->max_life_sec <= 0)
        r->max_life_sec = 60;
    r->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (r->fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (bind(r->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(r->fd, 16) != 0 ||
        getsockname(r->fd, (struct sockaddr *)&a, &alen) != 0) {
        close(r->fd);
        return -1;
    }
    r->port = ntohs(a.sin_port);
    r->stop = false;
    if (pthread_create(&r->thread, NULL, receiver_main, r) != 0) {
        close(r->fd);
        return -1;
    }
    return 0;
}

void rw_receiver_stop(struct rw_receiver *r)
{
    r->stop = true;
    pthread_join(r->thread, NULL);
    close(r->fd);
    free(r->samples);
    r->samples = NULL;
    pthread_mutex_destroy(&r->mu);
}

/* rw-bench: remote-write export throughput. Writes a store of S series of N
 * one-second points (half gauges, half counters), then exports it R times
 * (cursor removed in between) over HTTP to a local receiver that accepts
 * everything without decoding, and once as a dry run (read, encode and
 * compress only). Prints one JSON object: samples per second of wall time and
 * of the exporting thread's CPU time, bytes on the wire per sample.
 *
 *   rw-bench [--series S] [--points N] [--runs R] [--samples-per-request M]
 *
 * Asserts nothing about speed. */
#include "pmbase/clock.h"
#include "rondo/remote_write.h"
#include "rw_receiver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "rw-bench: %s: %s\n", what, msg);
    exit(1);
}

int main(int argc, char **argv)
{
    long series = 200, points = 3600, runs = 3, per_request = 50000;
    for (int i = 1; i + 1 < argc; i += 2) {
        long v = strtol(argv[i + 1], NULL, 10);
        if (strcmp(argv[i], "--series") == 0)
            series = v;
        else if (strcmp(argv[i], "--points") == 0)
            points = v;
        else if (strcmp(argv[i], "--runs") == 0)
            runs = v;
        else if (strcmp(argv[i], "--samples-per-request") == 0)
            per_request = v;
        else
            die("usage", "rw-bench [--series S] [--points N] [--runs R] [--samples-per-request M]");
    }
    if (series < 1 || points < 1 || points > 3600 || runs < 1 || per_request < 1)
        die("usage", "series, runs and samples per request >= 1, points 1 to 3600");
    char dir[] = "/tmp/rw-bench-XXXXXX";
    if (mkdtemp(dir) == NULL)
        die("mkdtemp", "failed");
    rondo_store *store;
    rondo_error err;
    if (rondo_store_open(&store, dir, RONDO_OPEN_CREATE | RONDO_OPEN_WRITE, &err) != RONDO_OK)
        die(dir, err.message);
    int64_t t0 = (int64_t)time(NULL) - points - 60;
    for (long s = 0; s < series; s++) {
        char key[128];
        bool counter = s % 2 == 1;
        snprintf(key, sizeof key, "%s{vm=\"bench\",cpu=\"%ld\"}",
                 counter ? "vcpu_exits_total" : "vmm_rss_bytes", s);
        rondo_archive_spec a = {1, 3600, counter ? RONDO_CF_SUM : RONDO_CF_AVG};
        rondo_series *h;
        if (rondo_store_add(store, key, counter ? RONDO_COUNTER : RONDO_GAUGE, &a, 1, &h, &err) !=
            RONDO_OK)
            die(key, err.message);
        for (long i = 0; i < points; i++)
            /* RSS-like gauges that change every second, so that snappy has no easy
             * run to squeeze: bytes per sample near the worst case. */
            rondo_write(h, t0 + i,
                        counter ? (double)(i % 17)
                                : 1e8 + (double)((uint64_t)(i + s) * 2654435761u % 1000003) * 4096);
    }
    rondo_store_close(store);
    if (rondo_store_open(&store, dir, RONDO_OPEN_READ, &err) != RONDO_OK)
        die(dir, err.message);

    struct rw_receiver recv = {.max_life_sec = 600};
    if (rw_receiver_start(&recv) != 0)
        die("receiver", "cannot listen on 127.0.0.1");
    char url[64], cursor[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v1/write", recv.port);
    snprintf(cursor, sizeof cursor, "%s/cursor_prometheus.json", dir);
    rondo_rw_options o;
    rondo_rw_options_init(&o);
    o.url = url;
    o.settle_sec = 0;
    o.max_samples_per_request = (size_t)per_request;
    o.max_request_bytes = 64u << 20;

    printf("{\"series\":%ld,\"points\":%ld,\"samples_per_request\":%ld,\"runs\":[", series, points,
           per_request);
    for (long r = 0; r <= runs; r++) {
        bool dry = r == runs;
        unlink(cursor);
        o.dry_run = dry;
        rondo_rw_stats st = {0};
        double w0 = pmb_now_sec(), c0 = thread_cpu();
        if (rondo_rw_export(store, &o, &st, &err) != RONDO_OK)
            die("export", err.message);
        double wall = pmb_now_sec() - w0, cpu = thread_cpu() - c0;
        uint64_t samples = dry ? st.samples_planned : st.samples_sent;
        uint64_t bytes = dry ? st.bytes_planned : st.bytes_sent;
        printf("%s{\"mode\":\"%s\",\"samples\":%llu,\"requests\":%llu,\"bytes\":%llu,"
               "\"bytes_per_sample\":%.2f,\"wall_s\":%.4f,\"cpu_s\":%.4f,"
               "\"samples_per_s_wall\":%.0f,\"samples_per_s_cpu\":%.0f}",
               r ? "," : "", dry ? "dry_run" : "http", (unsigned long long)samples,
               (unsigned long long)(dry ? st.requests_planned : st.requests_sent),
               (unsigned long long)bytes, (double)bytes / (double)samples, wall, cpu,
               (double)samples / wall, (double)samples / cpu);
    }
    printf("],\"received_bytes\":%llu}\n", (unsigned long long)recv.body_bytes);
    rw_receiver_stop(&recv);
    rondo_store_close(store);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}

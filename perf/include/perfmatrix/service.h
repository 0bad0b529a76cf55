/* `perfmatrix service`: the supervisor behind every server fixture
 * (redis-server, prometheus, node-exporter). See perf/README.md.
 *
 *   service start --dir DIR [--probe tcp|redis|http:PATH] [--lifetime-sec S]
 *                 [--ready-timeout-sec S] [--port N] -- PROGRAM [ARG...]
 *   service stop  --dir DIR
 *   service run   --dir DIR [--timeout-sec S] -- COMMAND [ARG...]
 *
 * start runs PROGRAM on a free 127.0.0.1 port (or --port N, to restart a
 * server where its clients expect it) under a watchdog that bounds its
 * life, waits until the probe answers, and writes DIR/addr ("127.0.0.1:PORT").
 * In PROGRAM's arguments {port} and {dir} are replaced. When PROGRAM is not
 * installed, DIR/addr says "skip: <reason>" and start succeeds, so the tests
 * that need the server skip with that reason. run substitutes {addr} and
 * {port} in COMMAND's arguments and exits 77 when the service was skipped. */
#ifndef PERFMATRIX_SERVICE_H
#define PERFMATRIX_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

/* How start tells that the server is ready: it accepts a TCP connection,
 * answers a Redis PING, or answers GET PATH with 200. */
typedef enum {
    PM_SERVICE_PROBE_TCP,
    PM_SERVICE_PROBE_REDIS,
    PM_SERVICE_PROBE_HTTP
} pm_service_probe_kind;

typedef struct {
    pm_service_probe_kind kind;
    const char *http_path; /* for PM_SERVICE_PROBE_HTTP; points into the parsed text */
} pm_service_probe;

/* Parses "tcp", "redis" or "http:/PATH"; false for anything else. */
bool pm_service_probe_parse(const char *text, pm_service_probe *probe);

typedef struct {
    const char *dir; /* holds addr, pid and log */
    pm_service_probe probe;
    double lifetime_sec;      /* the watchdog stops the server after this */
    double ready_timeout_sec; /* per attempt */
    int port;                 /* 0: a free one, chosen anew on each attempt */
} pm_service_options;

/* The three actions of `perfmatrix service`. Each prints one line saying
 * what it did (or, on stderr, what failed) and returns the program's exit
 * code: PM_EXIT_OK, PM_EXIT_FAILED, PM_EXIT_SKIPPED (run, when the service
 * was skipped) or, for run, COMMAND's own. argv holds argc words: PROGRAM or
 * COMMAND and its arguments. */
int pm_service_start(const pm_service_options *opt, char **argv, int argc);
int pm_service_stop(const char *dir);
int pm_service_run(const char *dir, double timeout_sec, char **argv, int argc);

/* Reads DIR/addr: true with the address, or false with the reason to skip. */
bool pm_service_addr(const char *addr_file, char *addr, size_t len, char *why, size_t whylen);

#endif

#include "perfmatrix/service.h"

#include "perfmatrix/cli.h"
#include "pmbase/alloc.h"
#include "pmbase/child.h"
#include "pmbase/clock.h"
#include "pmbase/file.h"
#include "pmbase/net.h"
#include "pmbase/number.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* A server gets this long to exit after SIGTERM before its group is killed. */
#define PM__STOP_GRACE_SEC 5.0
/* Ports are chosen before the server binds them; another process may win the
 * race, so start tries a few ports before it gives up. */
#define PM__START_ATTEMPTS 3

static int pm__fail(const char *cmd, const char *msg)
{
    fprintf(stderr, "perfmatrix service %s: %s\n", cmd, msg);
    return PM_EXIT_FAILED;
}

static char *pm__path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = pmb_malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Replaces every {key} in text by value; the result is the caller's. */
static char *pm__substitute(const char *text, const char *key, const char *value)
{
    size_t klen = strlen(key), vlen = strlen(value), n = 0;
    for (const char *p = strstr(text, key); p; p = strstr(p + klen, key))
        n++;
    char *out = pmb_malloc(strlen(text) + n * vlen + 1), *o = out;
    for (const char *p = text;;) {
        const char *hit = strstr(p, key);
        size_t len = hit ? (size_t)(hit - p) : strlen(p);
        memcpy(o, p, len);
        o += len;
        if (!hit)
            break;
        memcpy(o, value, vlen);
        o += vlen;
        p = hit + klen;
    }
    *o = '\0';
    return out;
}

bool pm_service_probe_parse(const char *text, pm_service_probe *probe)
{
    if (strcmp(text, "tcp") == 0)
        *probe = (pm_service_probe){PM_SERVICE_PROBE_TCP, NULL};
    else if (strcmp(text, "redis") == 0)
        *probe = (pm_service_probe){PM_SERVICE_PROBE_REDIS, NULL};
    else if (strncmp(text, "http:/", 6) == 0)
        *probe = (pm_service_probe){PM_SERVICE_PROBE_HTTP, text + 5};
    else
        return false;
    return true;
}

static bool pm__probe_ready(const pm_service_probe *probe, int port)
{
    char reply[64], request[512];
    switch (probe->kind) {
    case PM_SERVICE_PROBE_TCP:
        return pmb_loopback_port_open(port);
    case PM_SERVICE_PROBE_REDIS:
        return pmb_loopback_exchange(port, "PING\r\n", reply, sizeof reply, 1, false) > 0 &&
               strncmp(reply, "+PONG", 5) == 0;
    case PM_SERVICE_PROBE_HTTP:
        snprintf(request, sizeof request, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
                 probe->http_path);
        return pmb_loopback_exchange(port, request, reply, sizeof reply, 1, false) > 0 &&
               (strncmp(reply, "HTTP/1.0 200", 12) == 0 || strncmp(reply, "HTTP/1.1 200", 12) == 0);
    }
    return false;
}

/* The watchdog: a session of its own (so it outlives the CTest test that
 * started it and holds none of its pipes), parent of the server, which it
 * stops when the lifetime runs out, so an aborted run never leaves a server
 * behind for long. It records the server's pid for `service stop`. */
static void pm__watchdog(char **argv, const char *dir, double life)
{
    setsid();
    char *log = pm__path(dir, "log"), *pid_file = pm__path(dir, "pid");
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0)
        dup2(null, STDIN_FILENO);
    pmb_spawn_options o = PMB_SPAWN_DEFAULTS;
    o.stdout_fd = fd;
    o.stderr_fd = fd;
    pmb_error err = {0};
    pid_t pid;
    if (pmb_child_spawn(argv, &o, &pid, &err) != PMB_OK) {
        fprintf(stderr, "watchdog: %s\n", err.msg);
        _exit(1);
    }
    char text[32];
    int n = snprintf(text, sizeof text, "%ld\n", (long)pid);
    if (pmb_file_write_atomic(pid_file, text, (size_t)n, 0644, &err) != PMB_OK)
        fprintf(stderr, "watchdog: %s\n", err.msg);
    pmb_child_status st;
    if (pmb_child_wait(pid, life, PM__STOP_GRACE_SEC, &st, &err) != PMB_OK)
        fprintf(stderr, "watchdog: lifetime of %g s over: %s\n", life, err.msg);
    else
        fprintf(stderr, "watchdog: %s exited with %d\n", argv[0], st.exit_code);
    _exit(0);
}

/* The server's pid from DIR/pid: 0 when there is none yet. A pid out of
 * range is an error, never a signal to some other process. */
static int pm__read_pid(const char *dir, pid_t *out, pmb_error *err)
{
    char *pid_file = pm__path(dir, "pid"), *text = NULL;
    size_t len;
    int64_t pid = 0;
    int rc = PMB_OK;
    if (pmb_file_read(pid_file, 64, &text, &len, NULL) == PMB_OK) {
        text[strcspn(text, "\n")] = '\0';
        rc = pmb_parse_i64(pid_file, text, 2, INT_MAX, &pid, err);
    }
    free(text);
    free(pid_file);
    *out = (pid_t)pid;
    return rc;
}

/* The server's pid leads its own process group; it is gone once the
 * watchdog has reaped it. */
static bool pm__running(pid_t pid)
{
    return pid > 0 && kill(pid, 0) == 0;
}

static void pm__stop_pid(pid_t pid)
{
    kill(-pid, SIGTERM);
    double until = pmb_now_sec() + PM__STOP_GRACE_SEC;
    while (pm__running(pid) && pmb_now_sec() < until)
        usleep(20000);
    kill(-pid, SIGKILL);
}

static int pm__write_addr(const char *dir, const char *text)
{
    char *addr_file = pm__path(dir, "addr");
    pmb_error err = {0};
    int rc = pmb_file_write_atomic(addr_file, text, strlen(text), 0644, &err);
    free(addr_file);
    if (rc != PMB_OK)
        return pm__fail("start", err.msg);
    return PM_EXIT_OK;
}

/* One attempt on one port: the watchdog's pid file appears, then the probe
 * answers, within ready_timeout; false (with the server stopped) otherwise. */
static bool pm__start_once(char **argv, const char *dir, int port, double life, double ready,
                           const pm_service_probe *probe)
{
    char *pid_file = pm__path(dir, "pid");
    unlink(pid_file);
    free(pid_file);
    fflush(NULL);
    pid_t mid = fork();
    if (mid == 0) {
        /* Double fork: the watchdog is reparented to init. */
        if (fork() == 0)
            pm__watchdog(argv, dir, life);
        _exit(0);
    }
    if (mid > 0)
        waitpid(mid, NULL, 0);
    double until = pmb_now_sec() + ready;
    pid_t pid = 0;
    while (pmb_now_sec() < until) {
        if (pid == 0 && pm__read_pid(dir, &pid, NULL) != PMB_OK)
            return false;
        if (pid > 0 && pm__probe_ready(probe, port))
            return true;
        if (pid > 0 && !pm__running(pid))
            return false;
        usleep(20000);
    }
    if (pid > 0)
        pm__stop_pid(pid);
    return false;
}

int pm_service_start(const pm_service_options *opt, char **argv, int argc)
{
    const char *dir = opt->dir;
    const pm_service_probe *probe = &opt->probe;
    double life = opt->lifetime_sec, ready = opt->ready_timeout_sec;
    int fixed_port = opt->port;
    pmb_error err = {0};
    if (pmb_mkdirs(dir, &err) != PMB_OK)
        return pm__fail("start", err.msg);
    char program[PATH_MAX];
    if (!pmb_program_find(argv[0], program, sizeof program)) {
        char text[PATH_MAX + 64];
        snprintf(text, sizeof text, "skip: %s is not installed\n", argv[0]);
        printf("perfmatrix service start: %s", text + 6);
        return pm__write_addr(dir, text);
    }
    char **sargv = pmb_calloc((size_t)argc + 1, sizeof *sargv);
    /* A given port (a server restarted where its clients expect it) gets
     * one attempt; a free one is chosen anew on each. */
    int attempts = fixed_port ? 1 : PM__START_ATTEMPTS;
    for (int attempt = 1; attempt <= attempts; attempt++) {
        int port = fixed_port;
        if (!fixed_port && pmb_loopback_free_port(&port, &err) != PMB_OK)
            return pm__fail("start", err.msg);
        char port_s[16];
        snprintf(port_s, sizeof port_s, "%d", port);
        sargv[0] = program;
        for (int i = 1; i < argc; i++) {
            char *with_port = pm__substitute(argv[i], "{port}", port_s);
            sargv[i] = pm__substitute(with_port, "{dir}", dir);
            free(with_port);
        }
        bool up = pm__start_once(sargv, dir, port, life, ready, probe);
        for (int i = 1; i < argc; i++)
            free(sargv[i]);
        if (up) {
            free(sargv);
            printf("perfmatrix service start: %s on 127.0.0.1:%d (lifetime %g s, log %s/log)\n",
                   argv[0], port, life, dir);
            char addr[64];
            snprintf(addr, sizeof addr, "127.0.0.1:%d\n", port);
            return pm__write_addr(dir, addr);
        }
        fprintf(stderr, "perfmatrix service start: %s on port %d: not ready (attempt %d of %d)\n",
                argv[0], port, attempt, attempts);
    }
    free(sargv);
    fprintf(stderr, "perfmatrix service start: %s did not become ready (see %s/log)\n", argv[0],
            dir);
    return PM_EXIT_FAILED;
}

int pm_service_stop(const char *dir)
{
    pid_t pid;
    pmb_error err = {0};
    if (pm__read_pid(dir, &pid, &err) != PMB_OK)
        return pm__fail("stop", err.msg);
    char *addr_file = pm__path(dir, "addr"), *pid_file = pm__path(dir, "pid");
    unlink(addr_file);
    free(addr_file);
    if (pid > 0 && pm__running(pid)) {
        pm__stop_pid(pid);
        printf("perfmatrix service stop: stopped pid %ld\n", (long)pid);
    } else {
        printf("perfmatrix service stop: nothing running in %s\n", dir);
    }
    unlink(pid_file);
    free(pid_file);
    return PM_EXIT_OK;
}

bool pm_service_addr(const char *addr_file, char *addr, size_t len, char *why, size_t whylen)
{
    pmb_error err = {0};
    char *text = NULL;
    size_t n;
    if (pmb_file_read(addr_file, 4096, &text, &n, &err) != PMB_OK) {
        snprintf(why, whylen, "no server for this run (%s; did its fixture run?)", err.msg);
        return false;
    }
    text[strcspn(text, "\r\n")] = '\0';
    bool ok = strncmp(text, "skip:", 5) != 0 && *text != '\0';
    if (ok)
        snprintf(addr, len, "%s", text);
    else
        snprintf(why, whylen, "%s", *text ? text + 5 + strspn(text + 5, " ") : "empty address");
    free(text);
    return ok;
}

int pm_service_run(const char *dir, double timeout, char **argv, int argc)
{
    pmb_error err = {0};
    char addr[256], why[512];
    char *addr_file = pm__path(dir, "addr");
    bool up = pm_service_addr(addr_file, addr, sizeof addr, why, sizeof why);
    free(addr_file);
    if (!up) {
        printf("skipped: %s\n", why);
        return PM_EXIT_SKIPPED;
    }
    const char *port = strrchr(addr, ':') + 1;
    char **cmd = pmb_calloc((size_t)argc + 1, sizeof *cmd);
    for (int i = 0; i < argc; i++) {
        char *with_addr = pm__substitute(argv[i], "{addr}", addr);
        cmd[i] = pm__substitute(with_addr, "{port}", port);
        free(with_addr);
    }
    pid_t pid;
    int rc = pmb_child_spawn(cmd, NULL, &pid, &err);
    pmb_child_status st;
    if (rc == PMB_OK)
        rc = pmb_child_wait(pid, timeout, PM__STOP_GRACE_SEC, &st, &err);
    for (int i = 0; i < argc; i++)
        free(cmd[i]);
    free(cmd);
    if (rc != PMB_OK)
        return pm__fail("run", err.msg);
    return st.exit_code;
}

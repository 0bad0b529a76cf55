#include "perfmatrix/proc.h"

#include "pmbase/child.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Output beyond this is drained and dropped: results are one JSON object. */
#define PM__OUT_MAX (8u << 20)

double pm_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int pm_nproc(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return (int)sysconf(_SC_NPROCESSORS_ONLN);
    return CPU_COUNT(&set);
}

/* Runs in the child between fork and exec: a failure is said on stderr and
 * the program runs unpinned rather than not at all. */
static void pm__pin(int pin_cpus)
{
    pmb_error err;
    if (pmb_pin_cpus(pin_cpus, &err) != PMB_OK)
        fprintf(stderr, "perfmatrix: %s\n", err.msg);
}

static void pm__append(pm_child *res, const char *buf, size_t n, bool echo)
{
    if (echo)
        fwrite(buf, 1, n, stdout);
    if (res->out_len + n > PM__OUT_MAX)
        n = PM__OUT_MAX - res->out_len;
    memcpy(res->out + res->out_len, buf, n);
    res->out_len += n;
    res->out[res->out_len] = '\0';
}

/* Reaps the child if it has exited; true when it has. */
static bool pm__reap(pid_t pid, pm_child *res)
{
    int status;
    struct rusage ru;
    pid_t r = wait4(pid, &status, WNOHANG, &ru);
    if (r != pid)
        return false;
    res->maxrss_kb = ru.ru_maxrss;
    res->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return true;
}

/* The processes whose parent is this one, up to max; orphans of a finished
 * child land here because this process is a subreaper. */
static size_t pm__own_children(pid_t *out, size_t max)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    pid_t self = getpid();
    size_t n = 0;
    struct dirent *e;
    while (n < max && (e = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end != '\0' || pid <= 0)
            continue;
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        /* The command name may hold spaces and parentheses: the fields
         * resume after the last ')'. */
        char *close = strrchr(buf, ')');
        char state;
        long ppid;
        if (close && sscanf(close + 1, " %c %ld", &state, &ppid) == 2 && ppid == self)
            out[n++] = (pid_t)pid;
    }
    closedir(d);
    return n;
}

/* Ends what the child left running: its process group, and every orphan
 * re-parented to this subreaper. Returns how many processes were found. */
static int pm__end_leftovers(pid_t pgid)
{
    pid_t pids[256];
    int found = 0;
    bool group = kill(-pgid, 0) == 0;
    size_t n = pm__own_children(pids, 256);
    if (!group && n == 0)
        return 0;
    found = (int)n + (group && n == 0);
    double kill_at = pm_now() + PM_KILL_GRACE_SEC;
    int sig = SIGTERM;
    for (;;) {
        kill(-pgid, sig);
        for (size_t i = 0; i < n; i++) {
            kill(pids[i], sig);
            waitpid(pids[i], NULL, WNOHANG);
        }
        n = pm__own_children(pids, 256);
        group = kill(-pgid, 0) == 0;
        if (n == 0 && !group)
            break;
        if (sig == SIGKILL && pm_now() > kill_at + PM_KILL_GRACE_SEC)
            break; /* unkillable (D state): give up rather than hang */
        if (pm_now() >= kill_at)
            sig = SIGKILL;
        usleep(10000);
    }
    return found;
}

bool pm_run_child(char *const argv[], double timeout_sec, int pin_cpus, bool echo, pm_child *res,
                  char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    res->out = malloc(PM__OUT_MAX + 1);
    if (!res->out) {
        snprintf(err, errlen, "%s: out of memory for its output", argv[0]);
        return false;
    }
    res->out[0] = '\0';
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "pipe for %s: %s", argv[0], strerror(errno));
        pm_child_free(res);
        return false;
    }
    fflush(stdout);
    /* Orphans of the child come back here instead of to init, so they can
     * be found and ended; without it a daemonizing grandchild escapes. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    double start = pm_now();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork for %s: %s", argv[0], strerror(errno));
        close(fds[0]);
        close(fds[1]);
        pm_child_free(res);
        return false;
    }
    if (pid == 0) {
        /* A process group of its own lets the deadline kill every process
         * the measured program started, not only the first. */
        setpgid(0, 0);
        if (pin_cpus > 0)
            pm__pin(pin_cpus);
        dup2(fds[1], STDOUT_FILENO);
        execvp(argv[0], argv);
        fprintf(stderr, "perfmatrix: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    close(fds[1]);
    double deadline = timeout_sec > 0 ? start + timeout_sec : 0;
    double kill_at = 0;
    bool pipe_open = true, exited = false;
    char buf[65536];
    while (!exited) {
        int wait_ms = 50;
        if (pipe_open) {
            struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
            if (poll(&pfd, 1, wait_ms) > 0) {
                ssize_t n = read(fds[0], buf, sizeof buf);
                if (n > 0)
                    pm__append(res, buf, (size_t)n, echo);
                else if (n == 0 || errno != EINTR)
                    pipe_open = false;
            }
        } else {
            usleep(10000);
        }
        exited = pm__reap(pid, res);
        double now = pm_now();
        if (!exited && deadline > 0 && now >= deadline && !res->timed_out) {
            res->timed_out = true;
            kill(-pid, SIGTERM);
            kill_at = now + PM_KILL_GRACE_SEC;
        }
        if (!exited && kill_at > 0 && now >= kill_at) {
            kill(-pid, SIGKILL);
            kill_at = 0;
        }
    }
    /* Whatever the child wrote just before exiting is still in the pipe. */
    if (pipe_open) {
        fcntl(fds[0], F_SETFL, O_NONBLOCK);
        ssize_t n;
        while ((n = read(fds[0], buf, sizeof buf)) > 0)
            pm__append(res, buf, (size_t)n, echo);
    }
    close(fds[0]);
    res->elapsed_sec = pm_now() - start;
    res->leftovers = pm__end_leftovers(pid);
    if (echo)
        fflush(stdout);
    return true;
}

void pm_child_free(pm_child *res)
{
    free(res->out);
    res->out = NULL;
    res->out_len = 0;
}

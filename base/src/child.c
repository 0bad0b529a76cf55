#include "pmbase/child.h"

#include "pmbase/alloc.h"
#include "pmbase/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

bool pmb_program_find(const char *name, char *path, size_t len)
{
    if (name == NULL || *name == '\0')
        return false;
    if (strchr(name, '/') != NULL) {
        snprintf(path, len, "%s", name);
        return access(path, X_OK) == 0;
    }
    const char *env = getenv("PATH");
    char *dirs = pmb_strdup(env != NULL && *env != '\0' ? env : "/usr/bin:/bin");
    bool found = false;
    char *save = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d != NULL && !found;
         d = strtok_r(NULL, ":", &save)) {
        int n = snprintf(path, len, "%s/%s", d, name);
        found = n > 0 && (size_t)n < len && access(path, X_OK) == 0;
    }
    free(dirs);
    return found;
}

int pmb_pin_cpus(int n, pmb_error *err)
{
    cpu_set_t allowed, chosen;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
        return pmb_error_errno(err, PMB_ERUNTIME, errno, "sched_getaffinity");
    CPU_ZERO(&chosen);
    int taken = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && taken < n; cpu++) {
        if (CPU_ISSET(cpu, &allowed)) {
            CPU_SET(cpu, &chosen);
            taken++;
        }
    }
    if (sched_setaffinity(0, sizeof chosen, &chosen) != 0)
        return pmb_error_errno(err, PMB_ERUNTIME, errno, "sched_setaffinity(%d CPUs)", n);
    return PMB_OK;
}

/* Runs in the child between fork and exec: only async-signal-safe calls. The
 * errno of a failed step travels back through report_fd, which exec closes. */
static void pmb__child_exec(char *const argv[], const pmb_spawn_options *o, pid_t parent,
                            int report_fd)
{
    int e = 0;
    setpgid(0, 0);
    /* The parent may have died before the request: then it is too late. */
    if (o->die_with_parent && (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent))
        _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (o->pin_cpus > 0 && pmb_pin_cpus(o->pin_cpus, NULL) != PMB_OK)
        e = errno;
    int in = o->stdin_fd >= 0 ? o->stdin_fd : open("/dev/null", O_RDONLY);
    if (e == 0 && (in < 0 || dup2(in, STDIN_FILENO) < 0))
        e = errno;
    if (e == 0 && o->stdout_fd >= 0 && dup2(o->stdout_fd, STDOUT_FILENO) < 0)
        e = errno;
    if (e == 0 && o->stderr_fd >= 0 && dup2(o->stderr_fd, STDERR_FILENO) < 0)
        e = errno;
    if (e == 0) {
        execvp(argv[0], argv);
        e = errno;
    }
    ssize_t ignored = write(report_fd, &e, sizeof e);
    (void)ignored;
    _exit(127);
}

int pmb_child_spawn(char *const argv[], const pmb_spawn_options *opts, pid_t *pid, pmb_error *err)
{
    static const pmb_spawn_options defaults = PMB_SPAWN_DEFAULTS;
    const pmb_spawn_options *o = opts ? opts : &defaults;
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0)
        return pmb_error_errno(err, PMB_ERUNTIME, errno, "%s: pipe", argv[0]);
    fflush(NULL);
    pid_t parent = getpid();
    pid_t child = fork();
    if (child < 0) {
        int e = errno;
        close(report[0]);
        close(report[1]);
        return pmb_error_errno(err, PMB_ERUNTIME, e, "%s: fork", argv[0]);
    }
    if (child == 0)
        pmb__child_exec(argv, o, parent, report[1]);
    /* Both sides set the group, so no signal to -pid can miss it. */
    setpgid(child, child);
    close(report[1]);
    int e = 0;
    ssize_t n;
    do
        n = read(report[0], &e, sizeof e);
    while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof e) {
        waitpid(child, NULL, 0);
        return pmb_error_errno(err, PMB_EINPUT, e, "cannot run %s", argv[0]);
    }
    *pid = child;
    return PMB_OK;
}

static void pmb__fill(pmb_child_status *st, int wstatus, const struct rusage *ru)
{
    st->signaled = WIFSIGNALED(wstatus);
    st->exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    st->rusage = *ru;
}

bool pmb_child_poll(pid_t pid, pmb_child_status *status)
{
    int w;
    struct rusage ru;
    pid_t r;
    do
        r = wait4(pid, &w, WNOHANG, &ru);
    while (r < 0 && errno == EINTR);
    if (r != pid)
        return false;
    pmb__fill(status, w, &ru);
    return true;
}

static void pmb__sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Polls the leader until it ends or until the time runs out. */
static bool pmb__wait_until(pid_t pid, double until, pmb_child_status *status)
{
    int nap = 1;
    while (!pmb_child_poll(pid, status)) {
        if (until > 0 && pmb_now_sec() >= until)
            return false;
        pmb__sleep_ms(nap);
        if (nap < 20)
            nap *= 2;
    }
    return true;
}

void pmb_child_stop(pid_t pid, double grace_sec, pmb_child_status *status)
{
    kill(-pid, SIGTERM);
    if (!pmb__wait_until(pid, pmb_now_sec() + grace_sec, status)) {
        kill(-pid, SIGKILL);
        pmb__wait_until(pid, 0, status);
    }
    /* The leader is gone; whatever it started must not outlive it. */
    kill(-pid, SIGKILL);
}

int pmb_child_wait(pid_t pid, double timeout_sec, double grace_sec, pmb_child_status *status,
                   pmb_error *err)
{
    memset(status, 0, sizeof *status);
    double until = timeout_sec > 0 ? pmb_now_sec() + timeout_sec : 0;
    if (pmb__wait_until(pid, until, status)) {
        kill(-pid, SIGKILL);
        return PMB_OK;
    }
    status->timed_out = true;
    pmb_child_stop(pid, grace_sec, status);
    status->timed_out = true;
    return pmb_error_set(err, PMB_ERUNTIME, "pid %ld: still running after %g s: stopped", (long)pid,
                         timeout_sec);
}

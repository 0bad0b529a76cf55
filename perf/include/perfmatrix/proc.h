/* Runs a measured program as a child with a deadline, CPU pinning and
 * resource usage, so a hung run is killed and recorded rather than lost. */
#ifndef PERFMATRIX_PROC_H
#define PERFMATRIX_PROC_H

#include <stdbool.h>
#include <stddef.h>

/* Seconds between SIGTERM and SIGKILL when the deadline passes. */
#define PM_KILL_GRACE_SEC 2.0

typedef struct {
    int exit_code;      /* the exit status, or 128 + signal */
    bool timed_out;     /* the deadline passed and the child was killed */
    long maxrss_kb;     /* ru_maxrss of the child from wait4 */
    double elapsed_sec; /* wall time from fork to reaping */
    int leftovers;      /* processes it left running, ended after it exited */
    char *out;          /* captured stdout, NUL-terminated (owned) */
    size_t out_len;
} pm_child;

/* Number of CPUs this process may run on (what nproc(1) prints). */
int pm_nproc(void);

/* Runs argv[0] (searched in PATH) with stdout captured and stderr inherited.
 * Nothing the child started outlives the call: this process becomes a child
 * subreaper, so descendants the child left behind (even in a session of
 * their own) are re-parented here and ended (SIGTERM, then SIGKILL after
 * PM_KILL_GRACE_SEC); res->leftovers counts them.
 * timeout_sec <= 0 means no deadline; pin_cpus > 0 restricts the child to the
 * first pin_cpus CPUs of this process's affinity mask. With echo the captured
 * stdout is also copied to ours. Returns false (with err) only when the child
 * could not be started; its failures are reported in res. */
bool pm_run_child(char *const argv[], double timeout_sec, int pin_cpus, bool echo, pm_child *res,
                  char *err, size_t errlen);

void pm_child_free(pm_child *res);

/* Monotonic clock in seconds. */
double pm_now(void);

#endif

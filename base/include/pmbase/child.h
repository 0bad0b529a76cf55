/* Child processes with a deadline. Every child leads a process group of its
 * own, so stopping it stops whatever it started too: SIGTERM to the group,
 * a grace period, then SIGKILL. */
#ifndef PMBASE_CHILD_H
#define PMBASE_CHILD_H

#include "pmbase/error.h"

#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pmb_spawn_options {
    int stdin_fd;  /* -1: /dev/null */
    int stdout_fd; /* -1: inherit */
    int stderr_fd; /* -1: inherit */
    int pin_cpus;  /* > 0: sched_setaffinity to the first pin_cpus allowed CPUs */
    /* SIGKILL the child when the parent dies, however it dies: a driver that
     * is killed must not leave its load running (the child is in a group of
     * its own, so no signal to the parent's group reaches it). */
    bool die_with_parent;
} pmb_spawn_options;

#define PMB_SPAWN_DEFAULTS                                                                         \
    {                                                                                              \
        .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .pin_cpus = 0, .die_with_parent = false  \
    }

typedef struct pmb_child_status {
    int exit_code;  /* the exit status, or 128 + signal */
    bool signaled;  /* ended by a signal */
    bool timed_out; /* the deadline passed and the group was stopped */
    struct rusage rusage;
} pmb_child_status;

/* Starts argv[0] (searched in PATH) in a new process group. */
int pmb_child_spawn(char *const argv[], const pmb_spawn_options *opts, pid_t *pid, pmb_error *err);

/* Waits without blocking: true when the child has ended, with its status. */
bool pmb_child_poll(pid_t pid, pmb_child_status *status);

/* Waits for the child until timeout_sec (<= 0: no deadline). Past the deadline
 * the group gets SIGTERM and, after grace_sec, SIGKILL; status->timed_out
 * tells. Once the child has ended, whatever is left of its group is killed so
 * that nothing it started outlives it. */
int pmb_child_wait(pid_t pid, double timeout_sec, double grace_sec, pmb_child_status *status,
                   pmb_error *err);

/* SIGTERM to the group, up to grace_sec for the leader to end, then SIGKILL to
 * the group; reaps the leader. Returns its status like pmb_child_wait. */
void pmb_child_stop(pid_t pid, double grace_sec, pmb_child_status *status);

/* Finds name the way execvp would (a name with a slash is taken as a path)
 * and writes the executable's path to path; false when there is none. */
bool pmb_program_find(const char *name, char *path, size_t len);

/* Restricts the calling process to the first n CPUs it may run on. */
int pmb_pin_cpus(int n, pmb_error *err);

#ifdef __cplusplus
}
#endif

#endif

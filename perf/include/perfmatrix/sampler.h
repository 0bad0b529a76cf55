/* A /proc sampler for the scale points: the memory, threads, CPU time and
 * open descriptors of a process and of its children (the ptrace backend's
 * guest processes), read once a second. Processes may end between two reads:
 * whatever can no longer be read counts as zero. */
#ifndef PERFMATRIX_SAMPLER_H
#define PERFMATRIX_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct {
    long rss_kb;    /* VmRSS */
    long hwm_kb;    /* VmHWM */
    long threads;   /* Threads */
    long cpu_ticks; /* utime + stime, in clock ticks */
    long fds;       /* entries of /proc/<pid>/fd */
    int processes;  /* how many processes were read (the root and its children) */
} pm_proc_sample;

/* Parses the fields of /proc/<pid>/status text; false when it has none. */
bool pm_proc_parse_status(const char *text, pm_proc_sample *out);
/* Parses utime + stime out of /proc/<pid>/stat text (the command name may
 * hold spaces and parentheses). */
bool pm_proc_parse_stat(const char *text, long *cpu_ticks);

/* Reads one process, adding to *sum; false when it has ended. */
bool pm_proc_read(pid_t pid, pm_proc_sample *sum);
/* Reads pid and every child of every thread of it, adding to *sum. */
bool pm_proc_read_tree(pid_t pid, pm_proc_sample *sum);

#endif

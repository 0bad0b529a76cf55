#include "perfmatrix/sampler.h"

#include "pmbase/file.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long pm__field(const char *text, const char *name)
{
    const char *at = strstr(text, name);
    return at ? strtol(at + strlen(name), NULL, 10) : -1;
}

bool pm_proc_parse_status(const char *text, pm_proc_sample *out)
{
    long rss = pm__field(text, "\nVmRSS:"), hwm = pm__field(text, "\nVmHWM:");
    long threads = pm__field(text, "\nThreads:");
    if (threads < 0)
        return false;
    /* Kernel threads and zombies have no memory lines. */
    out->rss_kb = rss > 0 ? rss : 0;
    out->hwm_kb = hwm > 0 ? hwm : 0;
    out->threads = threads;
    return true;
}

bool pm_proc_parse_stat(const char *text, long *cpu_ticks)
{
    /* After the last ')' come the state (field 3) and then fields 4...;
     * utime and stime are fields 14 and 15. */
    const char *p = strrchr(text, ')');
    if (p == NULL)
        return false;
    long utime, stime;
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &utime, &stime) != 2)
        return false;
    *cpu_ticks = utime + stime;
    return true;
}

static char *pm__read_proc(pid_t pid, const char *what)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, what);
    char *text = NULL;
    size_t len;
    /* /proc files report a size of 0: read them as streams. */
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    if (pmb_stream_read(f, path, 1 << 20, &text, &len, NULL) != PMB_OK)
        text = NULL;
    fclose(f);
    return text;
}

bool pm_proc_read(pid_t pid, pm_proc_sample *sum)
{
    pm_proc_sample one = {0};
    char *status = pm__read_proc(pid, "status"), *stat = pm__read_proc(pid, "stat");
    bool ok = status && stat && pm_proc_parse_status(status, &one) &&
              pm_proc_parse_stat(stat, &one.cpu_ticks);
    free(status);
    free(stat);
    if (!ok)
        return false;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        one.fds += e->d_name[0] != '.';
    if (d)
        closedir(d);
    sum->rss_kb += one.rss_kb;
    sum->hwm_kb += one.hwm_kb;
    sum->threads += one.threads;
    sum->cpu_ticks += one.cpu_ticks;
    sum->fds += one.fds;
    sum->processes++;
    return true;
}

bool pm_proc_read_tree(pid_t pid, pm_proc_sample *sum)
{
    if (!pm_proc_read(pid, sum))
        return false;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char what[300];
        snprintf(what, sizeof what, "task/%s/children", e->d_name);
        char *children = pm__read_proc(pid, what);
        for (char *p = children, *end; p && *p; p = end) {
            long child = strtol(p, &end, 10);
            if (end == p)
                break;
            pm_proc_read(child, sum);
        }
        free(children);
    }
    if (d)
        closedir(d);
    return true;
}

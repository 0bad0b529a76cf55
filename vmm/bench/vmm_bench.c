/* The monitor's figures in one run (vmm/README.md): start to guest entry
 * with a fresh metrics store and the whole-process wall time of a guest that
 * exits at once (median of --runs), peak RSS beside the guest memory touched,
 * and the cost of one port-I/O exit (the guest's exit_bench). Prints a text
 * table on stderr and one JSON object on stdout (perf_benchmark reads it).
 *   vmm_bench RONDO_VMM [--backend B] [--runs N] [--exits N] */
#include "pmbase/child.h"
#include "pmbase/clock.h"
#include "pmbase/file.h"
#include "pmbase/number.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs the monitor once; its stdout and stderr land in the two files. */
static int run(char **argv, const char *out, const char *err, double *wall)
{
    FILE *o = fopen(out, "w"), *e = fopen(err, "w");
    if (!o || !e)
        return -1;
    pmb_spawn_options opt = PMB_SPAWN_DEFAULTS;
    opt.stdout_fd = fileno(o);
    opt.stderr_fd = fileno(e);
    pmb_error perr = {0};
    pid_t pid;
    double t0 = pmb_now_sec();
    int rc = pmb_child_spawn(argv, &opt, &pid, &perr);
    fclose(o);
    fclose(e);
    pmb_child_status st;
    if (rc == PMB_OK)
        rc = pmb_child_wait(pid, 120, 2, &st, &perr);
    *wall = pmb_now_sec() - t0;
    if (rc != PMB_OK) {
        fprintf(stderr, "vmm_bench: %s\n", perr.msg);
        return -1;
    }
    return st.exit_code;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: vmm_bench RONDO_VMM [--backend B] [--runs N] [--exits N]\n");
        return 2;
    }
    const char *backend = "auto";
    int runs = 20, exits = 100000;
    pmb_error err = {0};
    for (int i = 2; i + 1 < argc; i += 2) {
        int rc = PMB_OK;
        if (strcmp(argv[i], "--backend") == 0)
            backend = argv[i + 1];
        else if (strcmp(argv[i], "--runs") == 0)
            rc = pmb_parse_int("--runs", argv[i + 1], 1, 1000, &runs, &err);
        else if (strcmp(argv[i], "--exits") == 0)
            rc = pmb_parse_int("--exits", argv[i + 1], 1000, 1000000, &exits, &err);
        else
            rc = pmb_error_set(&err, PMB_EINPUT, "unknown option '%s'", argv[i]);
        if (rc != PMB_OK) {
            fprintf(stderr, "vmm_bench: %s\n", err.msg);
            return 2;
        }
    }
    char dir[] = "/tmp/vmm_bench_XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char out[64], errf[64], store[64], cmdline[64];
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(errf, sizeof errf, "%s/err", dir);
    double *entry = calloc((size_t)runs, sizeof *entry), *wall = calloc((size_t)runs, sizeof *wall);
    double rss = 0, touched = 0, guest_rss = 0;
    char used[16] = "?";
    for (int r = 0; r < runs; r++) {
        snprintf(store, sizeof store, "%s/store%d", dir, r);
        char *args[] = {argv[1], "--backend",       (char *)backend, "--workload-duration",
                        "0",     "--metrics-store", store,           "--json",
                        NULL};
        if (run(args, out, errf, &wall[r]) != 0)
            return 1;
        char *text = NULL;
        size_t len;
        pmb_file_read(out, 0, &text, &len, NULL);
        cJSON *s = text ? cJSON_Parse(text) : NULL;
        free(text);
        if (!s)
            return 1;
        entry[r] = cJSON_GetObjectItem(s, "start_to_entry_us")->valuedouble;
        double peak = cJSON_GetObjectItem(s, "peak_rss_kb")->valuedouble;
        if (peak > rss) {
            rss = peak;
            touched = cJSON_GetObjectItem(s, "guest_touched_kb")->valuedouble;
            cJSON *g = cJSON_GetObjectItem(s, "guest_peak_rss_kb");
            guest_rss = cJSON_IsNumber(g) ? g->valuedouble : 0;
        }
        snprintf(used, sizeof used, "%s", cJSON_GetObjectItem(s, "backend")->valuestring);
        cJSON_Delete(s);
    }
    qsort(entry, (size_t)runs, sizeof *entry, cmp);
    qsort(wall, (size_t)runs, sizeof *wall, cmp);
    snprintf(cmdline, sizeof cmdline, "exit_bench=%d", exits);
    char *args[] = {argv[1], "--backend", (char *)backend, "--cmdline", cmdline, NULL};
    double bench_wall;
    long median = 0, min = 0, max = 0;
    if (run(args, out, errf, &bench_wall) == 0) {
        char *text = NULL;
        size_t len;
        pmb_file_read(errf, 0, &text, &len, NULL);
        const char *at = text ? strstr(text, "median ") : NULL;
        if (at)
            sscanf(at, "median %ld, min %ld, max %ld", &median, &min, &max);
        free(text);
    }
    fprintf(stderr,
            "backend %s, %d runs\n"
            "start to guest entry (fresh store): median %.0f us, min %.0f, max %.0f\n"
            "whole process, guest exits at once: median %.1f ms, min %.1f, max %.1f\n"
            "peak RSS: monitor %.0f KiB (guest memory touched %.0f KiB), guest process %.0f "
            "KiB\n"
            "one port-I/O exit: median %ld ns, min %ld, max %ld (%d exits)\n",
            used, runs, entry[runs / 2], entry[0], entry[runs - 1], wall[runs / 2] * 1e3,
            wall[0] * 1e3, wall[runs - 1] * 1e3, rss, touched, guest_rss, median, min, max, exits);
    printf("{\"backend\":\"%s\",\"runs\":%d,\"start_to_entry_us_median\":%.1f,"
           "\"start_to_entry_us_max\":%.1f,\"wall_ms_median\":%.2f,\"wall_ms_max\":%.2f,"
           "\"peak_rss_kb\":%.0f,\"guest_touched_kb\":%.0f,\"guest_peak_rss_kb\":%.0f,"
           "\"exit_ns_median\":%ld,\"exit_ns_min\":%ld,\"exit_ns_max\":%ld}\n",
           used, runs, entry[runs / 2], entry[runs - 1], wall[runs / 2] * 1e3, wall[runs - 1] * 1e3,
           rss, touched, guest_rss, median, min, max);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    free(entry);
    free(wall);
    return system(cmd) == 0 ? 0 : 1;
}

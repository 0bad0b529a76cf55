#include "perfmatrix/scale.h"

#include "perfmatrix/cli.h"
#include "perfmatrix/point.h"
#include "perfmatrix/record.h"
#include "perfmatrix/sampler.h"
#include "perfmatrix/sweep.h"
#include "pmbase/alloc.h"
#include "pmbase/child.h"
#include "pmbase/clock.h"
#include "pmbase/file.h"
#include "pmbase/net.h"
#include "pmbase/number.h"
#include "rondo/rondo.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Starts go in batches of ten, 200 ms apart (the seed's stagger): a hundred
 * monitors forking and creating their stores in the same instant would
 * measure the burst, not the steady state. */
#define PM__BATCH        10
#define PM__BATCH_GAP_NS 200000000ull

typedef struct {
    pid_t pid;
    bool done, killed;
    int exit_code;
    double started, ended;
    long peak_kb;
    long fds_max;
} pm__unit;

typedef struct {
    double wall;
    long peak_total_kb, sum_total_kb, samples, max_fds;
    long extra_peak_kb; /* of the process that is not a unit (prometheus) */
    long cpu_ticks_end;
} pm__totals;

static uint64_t pm__du_bytes;
static int pm__du_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (flag == FTW_F)
        pm__du_bytes += (uint64_t)st->st_blocks * 512;
    return 0;
}

static uint64_t pm__du(const char *dir)
{
    pm__du_bytes = 0;
    nftw(dir, pm__du_one, 16, FTW_PHYS);
    return pm__du_bytes;
}

/* One sample of every unit still running; totals across units. */
static void pm__sample(pm__unit *u, int n, pid_t extra, pm__totals *t)
{
    long total = 0;
    for (int i = 0; i < n; i++) {
        if (u[i].done)
            continue;
        pm_proc_sample s = {0};
        if (!pm_proc_read_tree(u[i].pid, &s))
            continue;
        total += s.rss_kb;
        /* VmHWM holds the peak between samples too. */
        long own = s.hwm_kb > s.rss_kb ? s.hwm_kb : s.rss_kb;
        u[i].peak_kb = own > u[i].peak_kb ? own : u[i].peak_kb;
        u[i].fds_max = s.fds > u[i].fds_max ? s.fds : u[i].fds_max;
    }
    if (extra > 0) {
        pm_proc_sample s = {0};
        if (pm_proc_read(extra, &s)) {
            total += s.rss_kb;
            long own = s.hwm_kb > s.rss_kb ? s.hwm_kb : s.rss_kb;
            t->extra_peak_kb = own > t->extra_peak_kb ? own : t->extra_peak_kb;
        }
    }
    t->peak_total_kb = total > t->peak_total_kb ? total : t->peak_total_kb;
    t->sum_total_kb += total;
    t->samples++;
}

/* Waits until every unit is done or the deadline passes, sampling once a
 * second on an absolute clock; units still running then are stopped. */
static void pm__run_units(pm__unit *u, int n, pid_t extra, double deadline, pm__totals *t)
{
    double start = pmb_now_sec(), next = start + 1;
    for (;;) {
        int running = 0;
        for (int i = 0; i < n; i++) {
            pmb_child_status st;
            if (!u[i].done && pmb_child_poll(u[i].pid, &st)) {
                u[i].done = true;
                u[i].exit_code = st.exit_code;
                u[i].ended = pmb_now_sec();
            }
            running += !u[i].done;
        }
        double now = pmb_now_sec();
        if ((running == 0 && extra <= 0) || now >= deadline)
            break;
        if (now >= next) {
            pm__sample(u, n, extra, t);
            next += 1;
        }
        usleep(20000);
    }
    for (int i = 0; i < n; i++) {
        if (u[i].done)
            continue;
        pmb_child_status st;
        pmb_child_stop(u[i].pid, 2, &st);
        u[i].done = u[i].killed = true;
        u[i].exit_code = st.exit_code;
        u[i].ended = pmb_now_sec();
    }
    t->wall = pmb_now_sec() - start;
}

/* Points of vmm_uptime_seconds and the longest run of empty seconds. */
static void pm__capture(const char *dir, double life, double *capture, long *worst_gap)
{
    *capture = 0;
    *worst_gap = (long)ceil(life);
    rondo_store *store = NULL;
    rondo_error err;
    rondo_series *s = NULL;
    if (rondo_store_open(&store, dir, RONDO_OPEN_READ, &err) != RONDO_OK)
        return;
    int64_t from, to;
    if (rondo_store_find(store, "vmm_uptime_seconds", &s, &err) == RONDO_OK &&
        rondo_series_extent(s, &from, &to)) {
        rondo_result res = {0};
        if (rondo_query(s, from, to, &res, &err) == RONDO_OK) {
            long points = 0, gap = 0, worst = 0;
            for (size_t p = 0; p < res.nparts; p++)
                for (size_t k = 0; k < res.parts[p].count; k++) {
                    if (isnan(res.parts[p].values[k])) {
                        gap++;
                        worst = gap > worst ? gap : worst;
                    } else {
                        points++;
                        gap = 0;
                    }
                }
            *capture = points / ceil(life > 0 ? life : 1);
            *worst_gap = worst;
        }
        rondo_result_free(&res);
    }
    rondo_store_close(store);
}

/* The CPU time of the children reaped so far, in seconds. */
static double pm__children_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* Where a run keeps its files: <sweep>/<test>.<ext> (the result) or
 * <sweep>/<test>.d (the units' stores, logs and configuration, created).
 * Prints the reason and returns false when it cannot. */
static bool pm__sweep_path(const pm_scale_config *c, const char *ext, char *out, size_t len)
{
    char sweep[256], err[PM_ERR_LEN];
    if (!pm_sweep_current(c->out_dir, true, sweep, sizeof sweep, err, sizeof err)) {
        fprintf(stderr, "perfmatrix scale: %s\n", err);
        return false;
    }
    if (snprintf(out, len, "%s/%s/%s.%s", c->out_dir, sweep, c->test, ext) >= (int)len) {
        fprintf(stderr, "perfmatrix scale: %.200s...: path too long\n", c->out_dir);
        return false;
    }
    return true;
}

static bool pm__work_dir(const pm_scale_config *c, char *out, size_t len)
{
    pmb_error err = {0};
    if (!pm__sweep_path(c, "d", out, len))
        return false;
    if (pmb_mkdirs(out, &err) != PMB_OK) {
        fprintf(stderr, "perfmatrix scale: %s\n", err.msg);
        return false;
    }
    return true;
}

static int pm__write_result(const pm_scale_config *c, const cJSON *obj)
{
    char err[PM_ERR_LEN], path[PM_PATH_LEN + 300];
    if (!pm__sweep_path(c, "json", path, sizeof path))
        return PM_EXIT_FAILED;
    if (!pm_write_json_file(path, obj, err, sizeof err)) {
        fprintf(stderr, "perfmatrix scale: %s\n", err);
        return PM_EXIT_FAILED;
    }
    printf("perfmatrix scale: %s\n", path);
    return PM_EXIT_OK;
}

static cJSON *pm__common(const pm_scale_config *c, const pm__unit *u, const pm__totals *t,
                         double cpu_s)
{
    /* Each process's own peak (VmHWM), summed: unlike the peak of the sum,
     * it does not depend on how many of the N overlapped at one instant. */
    double own = (double)t->extra_peak_kb;
    for (int i = 0; i < c->count; i++)
        own += (double)u[i].peak_kb;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", "scale");
    cJSON_AddStringToObject(o, "test", c->test);
    cJSON_AddStringToObject(o, "stack", c->kind);
    cJSON_AddNumberToObject(o, "count", c->count);
    cJSON_AddNumberToObject(o, "wall_s", t->wall);
    cJSON_AddNumberToObject(o, "peak_rss_kb_per_vm", (double)t->peak_total_kb / c->count);
    cJSON_AddNumberToObject(o, "mean_rss_kb_per_vm",
                            t->samples ? (double)t->sum_total_kb / (double)t->samples / c->count
                                       : NAN);
    cJSON_AddNumberToObject(o, "own_peak_rss_kb_per_vm", own / c->count);
    cJSON_AddNumberToObject(o, "cpu_s_per_vm_s", cpu_s / (c->count * t->wall));
    return o;
}

static int pm__run_vmm(const pm_scale_config *c)
{
    char base[PM_PATH_LEN + 300];
    if (!pm__work_dir(c, base, sizeof base))
        return PM_EXIT_FAILED;
    pmb_error perr = {0};
    bool store = strcmp(c->kind, "vmm") == 0;
    pm__unit *u = pmb_calloc((size_t)c->count, sizeof *u);
    char dur[32];
    snprintf(dur, sizeof dur, "%g", c->workload);
    uint64_t t0 = pmb_now_ns();
    double cpu0 = pm__children_cpu();
    for (int i = 0; i < c->count; i++) {
        if (i > 0 && i % PM__BATCH == 0) {
            uint64_t at = t0 + (uint64_t)(i / PM__BATCH) * PM__BATCH_GAP_NS;
            while (pmb_now_ns() < at)
                usleep(1000);
        }
        char dir[PM_PATH_LEN + 400], out[PM_PATH_LEN + 400];
        snprintf(dir, sizeof dir, "%s/vm%d", base, i);
        snprintf(out, sizeof out, "%s/vm%d.json", base, i);
        char **argv = pmb_calloc((size_t)c->ncommand + 10, sizeof *argv);
        int n = 0;
        for (int k = 0; k < c->ncommand; k++)
            argv[n++] = c->command[k];
        argv[n++] = "--workload-duration";
        argv[n++] = dur;
        argv[n++] = "--json";
        if (store) {
            argv[n++] = "--metrics-store";
            argv[n++] = dir;
        }
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        pmb_spawn_options opt = PMB_SPAWN_DEFAULTS;
        opt.die_with_parent = true;
        opt.stdout_fd = fd;
        opt.stderr_fd = null;
        if (pmb_child_spawn(argv, &opt, &u[i].pid, &perr) != PMB_OK) {
            fprintf(stderr, "perfmatrix scale: %s\n", perr.msg);
            u[i].done = true;
            u[i].exit_code = 127;
        }
        u[i].started = pmb_now_sec();
        close(fd);
        close(null);
        free(argv);
    }
    pm__totals t = {0};
    pm__run_units(u, c->count, 0, pmb_now_sec() + c->workload + c->grace, &t);
    double cpu = pm__children_cpu() - cpu0;
    int completed = 0, killed = 0, unavailable = 0;
    double capture_sum = 0, capture_min = INFINITY, points = 0;
    /* The recording's own CPU, as each VM measured it on its threads, and the
     * seconds the VMs lived by their own count. */
    double rec_cpu = 0, rec_setup = 0, rec_tick = 0, vm_seconds = 0;
    double rec_steady = 0, steady_seconds = 0;
    long worst_gap = 0, fds = 0;
    for (int i = 0; i < c->count; i++) {
        /* The points each VM says it wrote, every series together. */
        char out[PM_PATH_LEN + 400], *text = NULL;
        size_t tlen;
        snprintf(out, sizeof out, "%s/vm%d.json", base, i);
        /* The VM's own count of the seconds it lived: measured from outside,
         * its life would include process start and exit. */
        double expected = NAN;
        if (pmb_file_read(out, 1 << 20, &text, &tlen, NULL) == PMB_OK) {
            cJSON *sum = cJSON_Parse(text);
            const cJSON *e = cJSON_GetObjectItemCaseSensitive(sum, "expected_points");
            if (cJSON_IsNumber(e))
                expected = e->valuedouble;
            const cJSON *rc = cJSON_GetObjectItemCaseSensitive(sum, "recording_cpu_seconds");
            const cJSON *rs = cJSON_GetObjectItemCaseSensitive(sum, "recording_setup_cpu_seconds");
            const cJSON *rt = cJSON_GetObjectItemCaseSensitive(sum, "recording_tick_cpu_seconds");
            if (cJSON_IsNumber(rc) && cJSON_IsNumber(rs) && cJSON_IsNumber(rt) &&
                cJSON_IsNumber(e)) {
                rec_cpu += rc->valuedouble;
                rec_setup += rs->valuedouble;
                rec_tick += rt->valuedouble;
                double steady = pm_result_number(sum, "recording_steady_cpu_seconds");
                double steady_s = pm_result_number(sum, "recording_steady_seconds");
                if (isfinite(steady) && isfinite(steady_s)) {
                    rec_steady += steady;
                    steady_seconds += steady_s;
                }
                vm_seconds += e->valuedouble;
            }
            const cJSON *p;
            cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(sum, "points"))
            {
                points += cJSON_IsNumber(p) ? p->valuedouble : 0;
            }
            cJSON_Delete(sum);
            free(text);
        }
        completed += !u[i].killed && u[i].exit_code == 0;
        killed += u[i].killed;
        unavailable += u[i].exit_code == 4;
        fds = u[i].fds_max > fds ? u[i].fds_max : fds;
        if (!store)
            continue;
        char dir[PM_PATH_LEN + 400];
        snprintf(dir, sizeof dir, "%s/vm%d", base, i);
        double capture;
        long gap;
        pm__capture(dir, isnan(expected) ? u[i].ended - u[i].started : expected, &capture, &gap);
        capture_sum += capture;
        capture_min = capture < capture_min ? capture : capture_min;
        worst_gap = gap > worst_gap ? gap : worst_gap;
    }
    if (unavailable == c->count) {
        printf("skipped: rondo-vmm reports no usable backend on this host\n");
        free(u);
        return PM_EXIT_SKIPPED;
    }
    cJSON *o = pm__common(c, u, &t, cpu);
    cJSON_AddNumberToObject(o, "completed", completed);
    cJSON_AddNumberToObject(o, "killed", killed);
    cJSON_AddNumberToObject(o, "fds_per_vm", (double)fds);
    if (store) {
        cJSON_AddNumberToObject(o, "samples_per_s", points / t.wall);
        cJSON_AddNumberToObject(o, "capture_mean", capture_sum / c->count);
        cJSON_AddNumberToObject(o, "capture_min", capture_min);
        cJSON_AddNumberToObject(o, "worst_gap_s", (double)worst_gap);
        cJSON_AddNumberToObject(o, "bytes_on_disk", (double)pm__du(base));
        cJSON_AddNumberToObject(o, "recording_cpu_s_per_vm_s",
                                vm_seconds > 0 ? rec_cpu / vm_seconds : NAN);
        cJSON_AddNumberToObject(o, "recording_setup_cpu_s_per_vm",
                                vm_seconds > 0 ? rec_setup / c->count : NAN);
        cJSON_AddNumberToObject(o, "recording_tick_cpu_s_per_vm_s",
                                vm_seconds > 0 ? rec_tick / vm_seconds : NAN);
        cJSON_AddNumberToObject(o, "recording_steady_cpu_s_per_vm_s",
                                steady_seconds > 0 ? rec_steady / steady_seconds : NAN);
        cJSON_AddNumberToObject(o, "recording_cpu_us_per_sample",
                                points > 0 ? rec_cpu / points * 1e6 : NAN);
    }
    const char *status = completed == c->count ? "ok" : "failed";
    cJSON_AddStringToObject(o, "status", status);
    pm_print_measurement("completed", completed);
    pm_print_measurement("peak_rss_kb_per_vm", (double)t.peak_total_kb / c->count);
    pm_print_measurement("cpu_s_per_vm_s", cpu / (c->count * t.wall));
    if (store)
        pm_print_measurement("capture_mean", capture_sum / c->count);
    printf("perfmatrix scale: %d of %d %s VMs completed (%d killed), peak RSS %.0f kB per VM, "
           "%.4f CPU s per VM-second\n",
           completed, c->count, c->kind, killed, (double)t.peak_total_kb / c->count,
           cpu / (c->count * t.wall));
    int rc = pm__write_result(c, o);
    cJSON_Delete(o);
    free(u);
    return rc != PM_EXIT_OK ? rc : completed == c->count ? PM_EXIT_OK : PM_EXIT_FAILED;
}

/* GET path from 127.0.0.1:port; the answer (at most len - 1 bytes) in buf. */
static bool pm__http_get(int port, const char *path, char *buf, size_t len)
{
    char req[256];
    snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    return pmb_loopback_exchange(port, req, buf, len, 3, true) > 0;
}

/* The sum of a metric's samples in the text format, whatever their labels
 * (Prometheus 2.42 splits samples_appended by type). */
static double pm__metric(const char *text, const char *name)
{
    size_t n = strlen(name);
    double sum = NAN;
    for (const char *line = text; line && *line;
         line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        if (strncmp(line, name, n) != 0 || (line[n] != ' ' && line[n] != '{'))
            continue;
        const char *v = line[n] == '{' ? strchr(line, '}') : line + n;
        if (v == NULL)
            continue;
        double x = strtod(v + (line[n] == '{'), NULL);
        sum = isnan(sum) ? x : sum + x;
    }
    return sum;
}

static int pm__run_prometheus(const pm_scale_config *c)
{
    char base[PM_PATH_LEN + 300], exporter[PM_PATH_LEN], prometheus[PM_PATH_LEN];
    if (!pmb_program_find(c->exporter, exporter, sizeof exporter) ||
        !pmb_program_find(c->command[0], prometheus, sizeof prometheus)) {
        printf("skipped: %s or %s is not installed\n", c->exporter, c->command[0]);
        return PM_EXIT_SKIPPED;
    }
    if (!pm__work_dir(c, base, sizeof base))
        return PM_EXIT_FAILED;
    pmb_error perr = {0};
    pm__unit *u = pmb_calloc((size_t)c->count, sizeof *u);
    char config[PM_PATH_LEN + 400];
    snprintf(config, sizeof config, "%s/prometheus.yml", base);
    FILE *cf = fopen(config, "w");
    if (!cf) {
        free(u);
        return PM_EXIT_FAILED;
    }
    fprintf(cf, "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
                "  - job_name: node\n    static_configs:\n      - targets:\n");
    double cpu0 = pm__children_cpu();
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    pmb_spawn_options opt = PMB_SPAWN_DEFAULTS;
    opt.die_with_parent = true;
    opt.stdout_fd = null;
    opt.stderr_fd = null;
    for (int i = 0; i < c->count; i++) {
        int port = 0;
        pmb_loopback_free_port(&port, &perr);
        char listen[64];
        snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", port);
        char *argv[] = {exporter, listen, NULL};
        if (pmb_child_spawn(argv, &opt, &u[i].pid, &perr) != PMB_OK) {
            u[i].done = true;
            u[i].exit_code = 127;
        }
        u[i].started = pmb_now_sec();
        fprintf(cf, "          - 127.0.0.1:%d\n", port);
    }
    fclose(cf);
    int pport = 0;
    pmb_loopback_free_port(&pport, &perr);
    char listen[64], cfgarg[PM_PATH_LEN + 420], tsdb[PM_PATH_LEN + 420];
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", pport);
    snprintf(cfgarg, sizeof cfgarg, "--config.file=%s", config);
    snprintf(tsdb, sizeof tsdb, "--storage.tsdb.path=%s/tsdb", base);
    char *pargv[] = {prometheus, cfgarg, tsdb, listen, "--log.level=warn", NULL};
    pid_t prom = 0;
    if (pmb_child_spawn(pargv, &opt, &prom, &perr) != PMB_OK) {
        fprintf(stderr, "perfmatrix scale: %s\n", perr.msg);
        prom = 0;
    }
    close(null);
    pm__totals t = {0};
    /* The exporters never end by themselves: the workload's time is the
     * measurement, as long as the VMs' point runs. */
    pm__run_units(u, c->count, prom, pmb_now_sec() + c->workload, &t);
    static char metrics[1 << 20];
    double appended = NAN, series = NAN;
    if (prom > 0 && pm__http_get(pport, "/metrics", metrics, sizeof metrics)) {
        appended = pm__metric(metrics, "prometheus_tsdb_head_samples_appended_total");
        series = pm__metric(metrics, "prometheus_tsdb_head_series");
    }
    if (prom > 0) {
        pmb_child_status st;
        pmb_child_stop(prom, 5, &st);
    }
    double cpu = pm__children_cpu() - cpu0;
    cJSON *o = pm__common(c, u, &t, cpu);
    cJSON_AddNumberToObject(o, "completed", c->count);
    cJSON_AddNumberToObject(o, "samples_per_s", appended / t.wall);
    cJSON_AddNumberToObject(o, "series", series);
    cJSON_AddNumberToObject(o, "bytes_on_disk", (double)pm__du(base));
    cJSON_AddStringToObject(o, "status", isfinite(appended) ? "ok" : "failed");
    pm_print_measurement("peak_rss_kb_per_vm", (double)t.peak_total_kb / c->count);
    pm_print_measurement("cpu_s_per_vm_s", cpu / (c->count * t.wall));
    pm_print_measurement("samples_per_s", appended / t.wall);
    printf("perfmatrix scale: %d node-exporters + prometheus: peak RSS %.0f kB per VM, %.4f CPU "
           "s per VM-second, %.0f samples/s ingested, %.0f series\n",
           c->count, (double)t.peak_total_kb / c->count, cpu / (c->count * t.wall),
           appended / t.wall, series);
    int rc = pm__write_result(c, o);
    bool ok = isfinite(appended);
    cJSON_Delete(o);
    free(u);
    return rc != PM_EXIT_OK ? rc : ok ? PM_EXIT_OK : PM_EXIT_FAILED;
}

int pm_scale_run(const pm_scale_config *c)
{
    return strcmp(c->kind, "prometheus") == 0 ? pm__run_prometheus(c) : pm__run_vmm(c);
}

/* ---- The report: sweep_<ts>_scale.csv and the summary's scale table ---- */

static const char *const pm__scale_cols[] = {"test",
                                             "stack",
                                             "count",
                                             "wall_s",
                                             "completed",
                                             "killed",
                                             "peak_rss_kb_per_vm",
                                             "mean_rss_kb_per_vm",
                                             "own_peak_rss_kb_per_vm",
                                             "cpu_s_per_vm_s",
                                             "fds_per_vm",
                                             "capture_mean",
                                             "capture_min",
                                             "worst_gap_s",
                                             "samples_per_s",
                                             "series",
                                             "bytes_on_disk",
                                             "recording_cpu_s_per_vm_s",
                                             "recording_setup_cpu_s_per_vm",
                                             "recording_tick_cpu_s_per_vm_s",
                                             "recording_steady_cpu_s_per_vm_s",
                                             "recording_cpu_us_per_sample",
                                             "status"};
#define PM__NCOLS (sizeof pm__scale_cols / sizeof pm__scale_cols[0])

static int pm__cmp_scale(const void *a, const void *b)
{
    const cJSON *x = *(cJSON *const *)a, *y = *(cJSON *const *)b;
    double cx = cJSON_GetObjectItem(x, "count")->valuedouble;
    double cy = cJSON_GetObjectItem(y, "count")->valuedouble;
    if (cx != cy)
        return cx < cy ? -1 : 1;
    return strcmp(cJSON_GetObjectItem(x, "stack")->valuestring,
                  cJSON_GetObjectItem(y, "stack")->valuestring);
}

typedef struct {
    cJSON **v;
    size_t n;
} pm__scale_rows;

static void pm__scale_rows_free(pm__scale_rows *rows)
{
    for (size_t i = 0; i < rows->n; i++)
        cJSON_Delete(rows->v[i]);
    free(rows->v);
}

static bool pm__load_scale(const char *name, const char *path, const cJSON *obj, void *ctx,
                           char *err, size_t errlen)
{
    (void)name;
    (void)path;
    (void)err;
    (void)errlen;
    pm__scale_rows *rows = ctx;
    if (strcmp(pm_result_kind(obj), "scale") != 0 ||
        !cJSON_IsNumber(cJSON_GetObjectItem(obj, "count")) ||
        !cJSON_IsString(cJSON_GetObjectItem(obj, "stack")))
        return true;
    rows->v = pmb_reallocarray(rows->v, rows->n + 1, sizeof *rows->v);
    rows->v[rows->n++] = cJSON_Duplicate(obj, true);
    return true;
}

/* Per stack, one data block (N, peak RSS per VM, CPU per VM-second,
 * capture; gnuplot skips the NaN of a stack without capture). */
static bool pm__scale_plot(const pm__scale_rows *rows, const pm_report_options *opt, char *err,
                           size_t errlen)
{
    static const char *const stacks[] = {"vmm", "vmm_nostore", "prometheus"};
    char data[PM_PLOT_PATH_LEN], out[PM_PLOT_PATH_LEN];
    FILE *f = pm_plot_data_open(opt, "vm_scale.dat", "vm_scale", data, out, err, errlen);
    if (f == NULL)
        return false;
    char titles[128] = "";
    size_t blocks = 0;
    int capture = -1;
    for (size_t k = 0; k < sizeof stacks / sizeof stacks[0]; k++) {
        bool any = false;
        for (size_t i = 0; i < rows->n; i++) {
            const cJSON *r = rows->v[i];
            if (strcmp(cJSON_GetObjectItem(r, "stack")->valuestring, stacks[k]) != 0)
                continue;
            fprintf(f, "%g %g %g %g\n", pm_result_number(r, "count"),
                    pm_result_number(r, "peak_rss_kb_per_vm"),
                    pm_result_number(r, "cpu_s_per_vm_s"), pm_result_number(r, "capture_mean"));
            any = true;
        }
        if (any) {
            if (strcmp(stacks[k], "vmm") == 0)
                capture = (int)blocks;
            fputs("\n\n", f);
            snprintf(titles + strlen(titles), sizeof titles - strlen(titles), "%s%s",
                     blocks ? " " : "", stacks[k]);
            blocks++;
        }
    }
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: %s", data, strerror(errno));
        return false;
    }
    char script[PM_PATH_LEN + 32], vars[3 * PM_PATH_LEN + 256];
    snprintf(script, sizeof script, "%s/vm_scale.gp", opt->templates);
    snprintf(vars, sizeof vars, "tdir='%s'; data='%s'; out='%s'; titles='%s'; n=%zu; capture=%d",
             opt->templates, data, out, titles, blocks, capture);
    return pm_gnuplot_draw(opt->gnuplot, script, vars, out, "vm_scale", err, errlen);
}

static const cJSON *pm__scale_find(const pm__scale_rows *rows, double count, const char *stack)
{
    for (size_t i = 0; i < rows->n; i++) {
        if (pm_result_number(rows->v[i], "count") == count &&
            strcmp(cJSON_GetObjectItem(rows->v[i], "stack")->valuestring, stack) == 0)
            return rows->v[i];
    }
    return NULL;
}

/* Per N with all three stacks: what recording costs per monitored VM and per
 * sample, rondo's store (its marginal memory, with store minus without, and
 * the CPU its own threads spent recording) against node-exporter plus
 * Prometheus (everything they use), and the ratio. */
static void pm__scale_compare(FILE *f, const pm__scale_rows *rows)
{
    bool header = false;
    for (size_t i = 0; i < rows->n; i++) {
        const cJSON *vmm = rows->v[i];
        if (strcmp(cJSON_GetObjectItem(vmm, "stack")->valuestring, "vmm") != 0)
            continue;
        double count = pm_result_number(vmm, "count");
        const cJSON *bare = pm__scale_find(rows, count, "vmm_nostore");
        const cJSON *prom = pm__scale_find(rows, count, "prometheus");
        if (bare == NULL || prom == NULL)
            continue;
        if (!header) {
            fprintf(
                f,
                "\n== Recording cost per monitored VM: rondo's store against "
                "node-exporter + Prometheus ==\n"
                "memory: each process's own peak RSS, with store minus without, "
                "against node-exporter + Prometheus / N; CPU: the recording's threads "
                "(all of it, and the 1 Hz thread's steady state) against everything the external "
                "stack used\n"
                "   N | memory: store / external (ratio) | CPU s per VM-s: store, steady "
                "/ external (ratios) | CPU per sample: store / external\n");
            header = true;
        }
        double mem = pm_result_number(vmm, "own_peak_rss_kb_per_vm") -
                     pm_result_number(bare, "own_peak_rss_kb_per_vm");
        double ext_mem = pm_result_number(prom, "own_peak_rss_kb_per_vm");
        double cpu = pm_result_number(vmm, "recording_cpu_s_per_vm_s");
        double steady = pm_result_number(vmm, "recording_steady_cpu_s_per_vm_s");
        double ext_cpu = pm_result_number(prom, "cpu_s_per_vm_s");
        double ext_per_sample = ext_cpu * count / pm_result_number(prom, "samples_per_s") * 1e6;
        fprintf(f,
                "%4.0f | %6.0f kB / %6.0f kB (1/%.0f) | %.6f, %.6f / %.6f (1/%.0f, 1/%.0f) | "
                "%.2f us / %.2f us\n",
                count, mem, ext_mem, ext_mem / mem, cpu, steady, ext_cpu, ext_cpu / cpu,
                ext_cpu / steady, pm_result_number(vmm, "recording_cpu_us_per_sample"),
                ext_per_sample);
    }
}

bool pm_scale_report_write(const pm_report_options *opt, char *err, size_t errlen)
{
    char dir[PM_PATH_LEN + 300];
    snprintf(dir, sizeof dir, "%s/%s", opt->out_dir, opt->base);
    pm__scale_rows rows = {0};
    if (!pm_sweep_each(dir, true, pm__load_scale, &rows, err, errlen)) {
        pm__scale_rows_free(&rows);
        return false;
    }
    size_t n = rows.n;
    if (n == 0) {
        pm__scale_rows_free(&rows);
        return true;
    }
    qsort(rows.v, n, sizeof *rows.v, pm__cmp_scale);
    char path[PM_PATH_LEN + 300];
    snprintf(path, sizeof path, "%s/%s_scale.csv", opt->out_dir, opt->base);
    FILE *f = fopen(path, "w");
    bool ok = f != NULL;
    for (size_t c = 0; ok && c < PM__NCOLS; c++)
        fprintf(f, "%s%s", c ? "," : "", pm__scale_cols[c]);
    if (ok)
        fputc('\n', f);
    for (size_t i = 0; ok && i < n; i++) {
        for (size_t c = 0; c < PM__NCOLS; c++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(rows.v[i], pm__scale_cols[c]);
            if (c)
                fputc(',', f);
            if (cJSON_IsString(v))
                fputs(v->valuestring, f);
            else if (cJSON_IsNumber(v) && isfinite(v->valuedouble))
                fprintf(f, "%.6g", v->valuedouble);
        }
        fputc('\n', f);
    }
    if (ok)
        ok = fclose(f) == 0;
    snprintf(path, sizeof path, "%s/%s_summary.txt", opt->out_dir, opt->base);
    f = ok ? fopen(path, "a") : NULL;
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        ok = false;
    }
    if (ok) {
        fprintf(f, "\n== VM scale: N monitored VMs, measured the same way ==\n"
                   "stack        |    N | completed | RSS/VM peak | RSS/VM mean | CPU s per VM-s "
                   "| samples/s | capture | disk      | seed estimate RSS/VM (ratio)\n");
        for (size_t i = 0; i < n; i++) {
            const cJSON *r = rows.v[i];
            double count = pm_result_number(r, "count"),
                   peak = pm_result_number(r, "peak_rss_kb_per_vm");
            const char *stack = cJSON_GetObjectItem(r, "stack")->valuestring;
            bool prom = strcmp(stack, "prometheus") == 0;
            /* The seed estimated 25 MB per node-exporter, and 100 MB + 3 MB
             * per target for Prometheus, shared by the N VMs. */
            double seed_kb = prom ? (25.0 + (100.0 + 3.0 * count) / count) * 1024 : NAN;
            char seed[64] = "-";
            if (prom)
                snprintf(seed, sizeof seed, "%.0f kB (%.2f)", seed_kb, peak / seed_kb);
            fprintf(f,
                    "%-12s | %4.0f | %9.0f | %8.0f kB | %8.0f kB | %14.5f | %9.0f | %7.3f | "
                    "%6.1f MB | %s\n",
                    stack, count, pm_result_number(r, "completed"), peak,
                    pm_result_number(r, "mean_rss_kb_per_vm"),
                    pm_result_number(r, "cpu_s_per_vm_s"), pm_result_number(r, "samples_per_s"),
                    pm_result_number(r, "capture_mean"), pm_result_number(r, "bytes_on_disk") / 1e6,
                    seed);
        }
        pm__scale_compare(f, &rows);
        ok = fclose(f) == 0;
        printf("perfmatrix report: %s_scale.csv and the scale table (%zu points)\n", opt->base, n);
    }
    if (ok && opt->gnuplot)
        ok = pm__scale_plot(&rows, opt, err, errlen);
    pm__scale_rows_free(&rows);
    return ok;
}

/* A stand-in for rondo-vmm's command line, exit codes, --json summary and
 * store (the contract perf_vm_lifecycle relies on), so the VM family of the
 * matrix can be tested before and apart from the real monitor.
 *
 * It simulates a workload of --workload-duration N seconds in N short ticks
 * (FAKE_VMM_TICK_MS wall milliseconds each, 20 by default), writing one real
 * point per simulated second into the --metrics-store through librondo:
 * vmm_uptime_seconds, vcpu_exits_total{reason=io|shutdown}, guest_phase (the
 * seed's 5:3:5:5 phases) and vmm_rss_bytes. FAKE_VMM_MODE picks a behaviour:
 *   ok          (default) consistent summary and store, exit 0
 *   crash       a guest fault halfway: summary with status "crashed", exit 3
 *   hang        writes one point, then never exits
 *   unavailable "backend unavailable" on stderr, exit 4
 *   mismatch    the summary's exits_total is one more than the store holds
 *   lost        the store misses the second uptime point the summary claims */
#include <rondo/rondo.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    const char *backend;
    const char *store;
    int vcpus;
    int duration;
    int json;
} fake_args;

static int fake_usage(const char *what)
{
    fprintf(stderr, "rondo-vmm (fake): %s\n", what);
    return 2;
}

static int fake_int(const char *text, int min, int max, int *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || errno || v < min || v > max)
        return 0;
    *out = (int)v;
    return 1;
}

/* Accepts --flag=value and --flag value, as the contract says. */
static int fake_parse(int argc, char **argv, fake_args *a)
{
    for (int i = 1; i < argc; i++) {
        char name[64];
        const char *arg = argv[i], *value = NULL;
        const char *eq = strchr(arg, '=');
        if (strncmp(arg, "--", 2) != 0)
            return fake_usage("unexpected argument");
        snprintf(name, sizeof name, "%.*s", (int)(eq ? (size_t)(eq - arg) : strlen(arg)), arg);
        if (strcmp(name, "--json") == 0) {
            a->json = 1;
            continue;
        }
        if (eq)
            value = eq + 1;
        else if (i + 1 < argc)
            value = argv[++i];
        else
            return fake_usage("a flag lacks its value");
        if (strcmp(name, "--backend") == 0)
            a->backend = value;
        else if (strcmp(name, "--metrics-store") == 0)
            a->store = value;
        else if (strcmp(name, "--vcpus") == 0) {
            if (!fake_int(value, 1, 8, &a->vcpus))
                return fake_usage("--vcpus takes 1 to 8");
        } else if (strcmp(name, "--workload-duration") == 0) {
            if (!fake_int(value, 1, 86400, &a->duration))
                return fake_usage("--workload-duration takes a number of seconds");
        } else {
            fprintf(stderr, "rondo-vmm (fake): unknown flag %s\n", name);
            return 2;
        }
    }
    if (!a->store || !a->duration || !a->json)
        return fake_usage("the driver must pass --metrics-store, --workload-duration and --json");
    return 0;
}

static rondo_series *fake_series(rondo_store *store, const char *key, rondo_kind kind)
{
    rondo_archive_spec archives[RONDO_MAX_ARCHIVES];
    size_t n = rondo_default_archives(kind, archives);
    rondo_series *s = NULL;
    rondo_error err;
    if (rondo_store_add(store, key, kind, archives, n, &s, &err) != RONDO_OK) {
        fprintf(stderr, "rondo-vmm (fake): %s\n", err.message);
        exit(1);
    }
    return s;
}

/* The phase of second k of an n-second workload in the seed's 5:3:5:5. */
static int fake_phase(int k, int n)
{
    int at = k * 18 / n;
    return at < 5 ? 1 : at < 8 ? 2 : at < 13 ? 3 : 4;
}

int main(int argc, char **argv)
{
    fake_args a = {.backend = "auto", .vcpus = 1};
    int rc = fake_parse(argc, argv, &a);
    if (rc)
        return rc;
    const char *mode = getenv("FAKE_VMM_MODE");
    if (!mode || !*mode)
        mode = "ok";
    int tick_ms = 20;
    const char *tick = getenv("FAKE_VMM_TICK_MS");
    if (tick && !fake_int(tick, 0, 10000, &tick_ms))
        return fake_usage("FAKE_VMM_TICK_MS takes milliseconds");
    if (strcmp(mode, "unavailable") == 0) {
        fprintf(stderr, "rondo-vmm: backend unavailable: no /dev/kvm and ptrace is not "
                        "permitted (fake)\n");
        return 4;
    }
    const char *backend = strcmp(a.backend, "kvm") == 0 ? "kvm" : "ptrace";
    fprintf(stderr, "rondo-vmm: backend %s (fake)\n", backend);

    rondo_store *store = NULL;
    rondo_error err;
    if (rondo_store_open(&store, a.store, RONDO_OPEN_CREATE | RONDO_OPEN_WRITE, &err) != RONDO_OK) {
        fprintf(stderr, "rondo-vmm (fake): %s\n", err.message);
        return 1;
    }
    rondo_series *uptime = fake_series(store, "vmm_uptime_seconds", RONDO_GAUGE);
    rondo_series *io = fake_series(store, "vcpu_exits_total{reason=io}", RONDO_COUNTER);
    rondo_series *shutdown = fake_series(store, "vcpu_exits_total{reason=shutdown}", RONDO_COUNTER);
    rondo_series *phase = fake_series(store, "guest_phase", RONDO_GAUGE);
    rondo_series *rss = fake_series(store, "vmm_rss_bytes", RONDO_GAUGE);

    int crash = strcmp(mode, "crash") == 0, hang = strcmp(mode, "hang") == 0;
    int lost = strcmp(mode, "lost") == 0;
    int seconds = crash ? (a.duration + 1) / 2 : a.duration;
    int64_t t0 = (int64_t)time(NULL) - a.duration;
    double exits_io = 0, exits_shutdown = 0, uptime_points = 0;
    for (int k = 0; k < seconds; k++) {
        double n_io = 1000 + 7 * k;
        if (!(lost && k == 1)) {
            rondo_write(uptime, t0 + k, k + 1);
            uptime_points++;
        }
        rondo_write(io, t0 + k, n_io);
        rondo_write(phase, t0 + k, fake_phase(k, a.duration));
        rondo_write(rss, t0 + k, 800.0 * 1024);
        exits_io += n_io;
        if (hang) {
            for (;;)
                pause();
        }
        struct timespec ts = {tick_ms / 1000, (long)(tick_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (!crash) {
        rondo_write(shutdown, t0 + seconds - 1, 1);
        exits_shutdown = 1;
    }
    rondo_store_close(store);

    double exits_total = exits_io + exits_shutdown + (strcmp(mode, "mismatch") == 0);
    /* The lost mode's summary claims every point: the store must betray it. */
    double claimed = lost ? seconds : uptime_points;
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "backend", backend);
    cJSON_AddNumberToObject(s, "vcpus", a.vcpus);
    cJSON_AddNumberToObject(s, "workload_duration_s", a.duration);
    cJSON_AddStringToObject(s, "status", crash ? "crashed" : "ok");
    if (crash)
        cJSON_AddStringToObject(s, "crash", "guest fault: #UD (ud2) at rip 0x400123");
    cJSON_AddNumberToObject(s, "start_to_entry_us", 1234.5);
    cJSON_AddNumberToObject(s, "wall_s", seconds + 0.004);
    if (crash)
        cJSON_AddNullToObject(s, "guest_exit_code");
    else
        cJSON_AddNumberToObject(s, "guest_exit_code", 0);
    cJSON_AddNumberToObject(s, "exits_total", exits_total);
    cJSON *exits = cJSON_AddObjectToObject(s, "exits");
    cJSON_AddNumberToObject(exits, "io", exits_io);
    cJSON_AddNumberToObject(exits, "shutdown", exits_shutdown);
    cJSON *ports = cJSON_AddObjectToObject(s, "exits_by_port");
    cJSON_AddNumberToObject(ports, "0x10", exits_io);
    cJSON *points = cJSON_AddObjectToObject(s, "points");
    cJSON_AddNumberToObject(points, "vmm_uptime_seconds", claimed);
    cJSON_AddNumberToObject(points, "vcpu_exits_total{reason=io}", seconds);
    cJSON_AddNumberToObject(points, "guest_phase", seconds);
    cJSON_AddNumberToObject(points, "vmm_rss_bytes", seconds);
    cJSON_AddNumberToObject(s, "expected_points", seconds);
    cJSON_AddNumberToObject(s, "capture_rate", claimed / seconds);
    cJSON_AddNumberToObject(s, "peak_rss_kb", 812);
    cJSON_AddNumberToObject(s, "guest_peak_rss_kb", 1300);
    cJSON_AddNumberToObject(s, "guest_touched_kb", 256);
    cJSON_AddNumberToObject(s, "cpu_user_s", 0.01 * seconds);
    cJSON_AddNumberToObject(s, "cpu_sys_s", 0.02 * seconds);
    cJSON_AddStringToObject(s, "metrics_store", a.store);
    cJSON_AddStringToObject(s, "git_sha", "fake");
    char *text = cJSON_PrintUnformatted(s);
    printf("%s\n", text);
    cJSON_free(text);
    cJSON_Delete(s);
    if (crash) {
        fprintf(stderr, "rondo-vmm: guest crashed: #UD (ud2) at rip 0x400123\n");
        return 3;
    }
    return 0;
}

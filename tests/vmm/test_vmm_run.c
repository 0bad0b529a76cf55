/* rondo-vmm run as a program, on one backend (argv[1]: ptrace or kvm): the
 * workload's recording, crashes, SIGKILL and SIGTERM, and the HTTP API.
 * The paths come from the environment: RONDO_VMM, and PROMTOOL (optional).
 * Exits 77 with the reason when the backend is unavailable on this host. */
#include "pmbase/child.h"
#include "pmbase/clock.h"
#include "pmbase/file.h"
#include "rondo/rondo.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static const char *vmm, *backend, *promtool;
static char work[64];

typedef struct {
    pid_t pid;
    char out[128], err[128];
} run;

static void start(run *r, const char *store, const char *const *extra)
{
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)vmm;
    argv[n++] = "--backend";
    argv[n++] = (char *)backend;
    argv[n++] = "--json";
    if (store) {
        argv[n++] = "--metrics-store";
        argv[n++] = (char *)store;
    }
    for (; extra && *extra; extra++)
        argv[n++] = (char *)*extra;
    argv[n] = NULL;
    static int seq;
    snprintf(r->out, sizeof r->out, "%s/out%d", work, seq);
    snprintf(r->err, sizeof r->err, "%s/err%d", work, seq++);
    FILE *o = fopen(r->out, "w"), *e = fopen(r->err, "w");
    pmb_spawn_options opt = PMB_SPAWN_DEFAULTS;
    opt.stdout_fd = fileno(o);
    opt.stderr_fd = fileno(e);
    pmb_error err = {0};
    assert_int_equal(pmb_child_spawn(argv, &opt, &r->pid, &err), PMB_OK);
    fclose(o);
    fclose(e);
}

static int finish(run *r, double timeout)
{
    pmb_child_status st;
    pmb_error err = {0};
    assert_int_equal(pmb_child_wait(r->pid, timeout, 2, &st, &err), PMB_OK);
    return st.exit_code;
}

static char *slurp(const char *path)
{
    char *text = NULL;
    size_t len;
    assert_int_equal(pmb_file_read(path, 0, &text, &len, NULL), PMB_OK);
    return text;
}

static cJSON *summary(const run *r)
{
    char *text = slurp(r->out);
    cJSON *s = cJSON_Parse(text);
    if (s == NULL)
        fail_msg("no JSON summary: '%s' (stderr: %s)", text, slurp(r->err));
    free(text);
    return s;
}

static double num(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(item))
        fail_msg("summary field '%s' is not a number", key);
    return item->valuedouble;
}

static const char *str(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(item))
        fail_msg("summary field '%s' is not a string", key);
    return item->valuestring;
}

/* Every non-empty point of a series and their sum. */
static size_t points(const char *dir, const char *key, double *sum)
{
    rondo_store *store = NULL;
    rondo_error err = {0};
    if (rondo_store_open(&store, dir, RONDO_OPEN_READ, &err) != RONDO_OK)
        fail_msg("%s: %s", dir, err.message);
    rondo_series *series = NULL;
    if (rondo_store_find(store, key, &series, &err) != RONDO_OK)
        fail_msg("%s: %s", key, err.message);
    int64_t from, to;
    size_t n = 0;
    *sum = 0;
    if (rondo_series_extent(series, &from, &to)) {
        rondo_result res = {0};
        assert_int_equal(rondo_query(series, from, to, &res, &err), RONDO_OK);
        for (size_t p = 0; p < res.nparts; p++)
            for (size_t i = 0; i < res.parts[p].count; i++)
                if (!isnan(res.parts[p].values[i])) {
                    n++;
                    *sum += res.parts[p].values[i];
                }
        rondo_result_free(&res);
    }
    rondo_store_close(store);
    return n;
}

static void store_dir(char *dir, size_t len, const char *name)
{
    snprintf(dir, len, "%s/%s", work, name);
}

static void workload_records_every_second(void **state)
{
    char dir[128];
    store_dir(dir, sizeof dir, "ok");
    const char *extra[] = {"--workload-duration", "2", NULL};
    run r;
    start(&r, dir, extra);
    assert_int_equal(finish(&r, 30), 0);
    cJSON *s = summary(&r);
    assert_string_equal(str(s, "status"), "ok");
    assert_string_equal(str(s, "backend"), backend);
    assert_int_equal(num(s, "guest_exit_code"), 0);
    double expected = num(s, "expected_points");
    assert_true(expected >= 2);
    assert_float_equal(num(s, "capture_rate"), 1.0, 1e-9);
    double sum;
    /* The store holds one uptime point for every second of the VM's life. */
    assert_int_equal(points(dir, "vmm_uptime_seconds", &sum), (size_t)expected);
    /* Every exit counted on the exit path reached the store, exactly. */
    points(dir, "vcpu_exits_total{reason=io}", &sum);
    assert_float_equal(sum, num(s, "exits_total"), 0);
    /* Work done equals work reported: the device's bytes and the guest's. */
    assert_float_equal(num(s, "guest_io_bytes"), num(s, "guest_reported_io_bytes"), 0);
    assert_true(num(s, "guest_io_bytes") > 0);
    const cJSON *work_done = cJSON_GetObjectItemCaseSensitive(s, "guest_work");
    const char *phases[] = {"cpu", "idle", "io", "mixed"};
    for (size_t i = 0; i < 4; i++) {
        assert_true(num(work_done, phases[i]) > 0);
        char key[64];
        snprintf(key, sizeof key, "guest_work_total{phase=%s}", phases[i]);
        points(dir, key, &sum);
        assert_float_equal(sum, num(work_done, phases[i]), 0);
    }
    assert_true(num(s, "start_to_entry_us") > 0);
    /* The recording's CPU is measured on its threads: some, and no less
     * than the part spent creating the store. */
    assert_true(num(s, "recording_setup_cpu_seconds") > 0);
    assert_true(num(s, "recording_cpu_seconds") >= num(s, "recording_setup_cpu_seconds"));
    cJSON_Delete(s);
}

static void expect_crash(const char *mode, const char *what)
{
    char dir[128], cmdline[64];
    store_dir(dir, sizeof dir, mode);
    snprintf(cmdline, sizeof cmdline, "crash=%s", mode);
    const char *extra[] = {"--cmdline", cmdline, NULL};
    run r;
    start(&r, dir, extra);
    assert_int_equal(finish(&r, 30), 3);
    char *err = slurp(r.err);
    if (strstr(err, what) == NULL || strstr(err, "rip 0x") == NULL)
        fail_msg("crash=%s: stderr lacks '%s' and the rip: %s", mode, what, err);
    free(err);
    cJSON *s = summary(&r);
    assert_string_equal(str(s, "status"), "crashed");
    assert_non_null(strstr(str(s, "crash"), what));
    cJSON_Delete(s);
    double sum;
    assert_true(points(dir, "vmm_uptime_seconds", &sum) >= 1);
}

static void crashes_are_reported(void **state)
{
    bool kvm = strcmp(backend, "kvm") == 0;
    expect_crash("ud2", kvm ? "shutdown" : "SIGILL");
    expect_crash("unmapped", kvm ? "shutdown" : "address 0x8000000");
    expect_crash("syscall", kvm ? "shutdown" : "forbidden system call");
}

/* The guest processes of a VMM: its children (ptrace backend only). */
static size_t children(pid_t pid, pid_t *out, size_t max)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char file[384];
        snprintf(file, sizeof file, "%s/%s/children", path, e->d_name);
        FILE *f = fopen(file, "r");
        int child;
        while (f && n < max && fscanf(f, "%d", &child) == 1)
            out[n++] = child;
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return n;
}

static bool alive(pid_t pid)
{
    char path[64], state = 0;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    int n = fscanf(f, "%*d (%*[^)]) %c", &state);
    fclose(f);
    return n == 1 && state != 'Z' && state != 'X';
}

static void sigkill_leaves_the_store_and_no_guest(void **state)
{
    char dir[128];
    store_dir(dir, sizeof dir, "killed");
    const char *extra[] = {"--workload-duration", "10", "--vcpus", "2", NULL};
    run r;
    start(&r, dir, extra);
    usleep(3500000);
    pid_t guests[16];
    size_t n = children(r.pid, guests, 16);
    if (strcmp(backend, "ptrace") == 0)
        assert_int_equal(n, 2);
    kill(r.pid, SIGKILL);
    assert_int_equal(finish(&r, 10), 128 + SIGKILL);
    for (size_t i = 0; i < n; i++) {
        for (int t = 0; t < 100 && alive(guests[i]); t++)
            usleep(10000);
        if (alive(guests[i]))
            fail_msg("guest process %d outlived its monitor", (int)guests[i]);
    }
    /* Seconds 1, 2 and 3 were written before the kill, a second apart. */
    double sum;
    assert_true(points(dir, "vmm_uptime_seconds", &sum) >= 3);
}

static void sigterm_stops_cleanly(void **state)
{
    char dir[128];
    store_dir(dir, sizeof dir, "stopped");
    const char *extra[] = {"--workload-duration", "30", NULL};
    run r;
    start(&r, dir, extra);
    usleep(1500000);
    double t0 = pmb_now_sec();
    kill(r.pid, SIGTERM);
    assert_int_equal(finish(&r, 10), 0);
    assert_true(pmb_now_sec() - t0 < 2);
    cJSON *s = summary(&r);
    assert_string_equal(str(s, "status"), "stopped");
    double sum;
    assert_int_equal(points(dir, "vmm_uptime_seconds", &sum), (size_t)num(s, "expected_points"));
    points(dir, "vcpu_exits_total{reason=io}", &sum);
    assert_float_equal(sum, num(s, "exits_total"), 0);
    cJSON_Delete(s);
}

static size_t collect(char *data, size_t size, size_t n, void *user)
{
    FILE *f = user;
    return fwrite(data, size, n, f);
}

static long get(const char *url, FILE *body)
{
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    return code;
}

static int api_port(const run *r)
{
    for (int t = 0; t < 200; t++) {
        FILE *f = fopen(r->err, "r");
        char line[256];
        int port = 0;
        while (f && port == 0 && fgets(line, sizeof line, f))
            if (strncmp(line, "api: 127.0.0.1:", 15) == 0)
                port = atoi(line + 15);
        if (f)
            fclose(f);
        if (port > 0)
            return port;
        usleep(20000);
    }
    fail_msg("rondo-vmm did not print its API port");
    return 0;
}

static void api_serves_metrics_that_promtool_accepts(void **state)
{
    const char *extra[] = {"--workload-duration", "3", "--api-port", "0", NULL};
    run r;
    start(&r, NULL, extra);
    int port = api_port(&r);
    usleep(1500000);
    char url[128], file[160];
    snprintf(file, sizeof file, "%s/metrics.txt", work);
    FILE *f = fopen(file, "w");
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
    assert_int_equal(get(url, f), 200);
    fclose(f);
    char *text = slurp(file);
    assert_non_null(strstr(text, "# TYPE vcpu_exits_total counter"));
    assert_non_null(strstr(text, "vcpu_exits_total{reason=\"io\"}"));
    free(text);
    if (promtool != NULL && *promtool) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "'%s' check metrics < '%s' 2>&1", promtool, file);
        int rc = system(cmd);
        assert_int_equal(WEXITSTATUS(rc), 0);
    } else {
        print_message("promtool is not installed: the exposition is not checked by it\n");
    }
    f = tmpfile();
    snprintf(url, sizeof url, "http://127.0.0.1:%d/health", port);
    assert_int_equal(get(url, f), 200);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v1/status", port);
    assert_int_equal(get(url, f), 200);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/nothing", port);
    assert_int_equal(get(url, f), 404);
    fclose(f);
    /* Nothing answers on this host's other addresses. */
    struct ifaddrs *ifs = NULL, *i;
    int tried = 0;
    assert_int_equal(getifaddrs(&ifs), 0);
    for (i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
            continue;
        struct sockaddr_in a = *(struct sockaddr_in *)i->ifa_addr;
        if ((ntohl(a.sin_addr.s_addr) >> 24) == 127)
            continue;
        a.sin_port = htons((uint16_t)port);
        int s = socket(AF_INET, SOCK_STREAM, 0);
        int rc = connect(s, (struct sockaddr *)&a, sizeof a);
        close(s);
        if (rc == 0)
            fail_msg("the API answers on %s", inet_ntoa(a.sin_addr));
        tried++;
    }
    freeifaddrs(ifs);
    if (tried == 0)
        print_message("no non-loopback IPv4 address on this host to try\n");
    assert_int_equal(finish(&r, 30), 0);
}

static void bad_guest_files_are_refused(void **state)
{
    char path[160];
    snprintf(path, sizeof path, "%s/not_elf", work);
    FILE *f = fopen(path, "w");
    fputs("#!/bin/sh\n", f);
    fclose(f);
    const char *extra[] = {"--guest", path, NULL};
    run r;
    start(&r, NULL, extra);
    assert_int_equal(finish(&r, 30), 2);
    char *err = slurp(r.err);
    assert_non_null(strstr(err, "not_elf: not an ELF file"));
    free(err);
}

int main(int argc, char **argv)
{
    vmm = getenv("RONDO_VMM");
    promtool = getenv("PROMTOOL");
    backend = argc > 1 ? argv[1] : "ptrace";
    if (vmm == NULL) {
        fprintf(stderr, "RONDO_VMM must name the rondo-vmm program\n");
        return 1;
    }
    snprintf(work, sizeof work, "/tmp/rondo_vmm_test_XXXXXX");
    if (mkdtemp(work) == NULL)
        return 1;
    /* A backend this host cannot run is a skip, with the monitor's reason. */
    run probe;
    const char *extra[] = {"--workload-duration", "0", NULL};
    start(&probe, NULL, extra);
    pmb_child_status st;
    pmb_error err = {0};
    pmb_child_wait(probe.pid, 30, 2, &st, &err);
    if (st.exit_code == 4) {
        char *why = slurp(probe.err);
        printf("skipped: the %s backend is unavailable here: %s", backend, why);
        free(why);
        return 77;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(workload_records_every_second),
        cmocka_unit_test(crashes_are_reported),
        cmocka_unit_test(sigkill_leaves_the_store_and_no_guest),
        cmocka_unit_test(sigterm_stops_cleanly),
        cmocka_unit_test(api_serves_metrics_that_promtool_accepts),
        cmocka_unit_test(bad_guest_files_are_refused),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", work);
    if (rc == 0 && system(cmd) != 0)
        rc = 1;
    curl_global_cleanup();
    return rc;
}

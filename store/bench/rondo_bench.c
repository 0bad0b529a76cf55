/* rondo-bench: in-process figures for librondo, printed as one JSON object.
 *
 *   rondo-bench [--samples N] [--rounds R]   measure (defaults 4000000, 5)
 *   rondo-bench --make-store DIR             write the 86,400-slot store that
 *                                            `rondo-cli query DIR ... --range all`
 *                                            is timed on, and exit
 *   rondo-bench --catalog N                  grow two stores to N series (every
 *                                            series its own metric name, and all
 *                                            under one name) and time adding,
 *                                            finding and listing as they grow
 *
 * Ingest rates are single-threaded, so they are per core. Each is reported
 * against wall time and against the thread's CPU time: on a shared machine
 * the CPU-time figure is the one that other processes disturb least. Every
 * figure is the median of the rounds. */
#include "rondo/rondo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BENCH_SERIES "bench_gauge{host=h1}"
#define MANY_SERIES  1000
#define QUERY_REPS   20001
#define MAX_ROUNDS   99

static double now_sec(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what, const rondo_error *err)
{
    fprintf(stderr, "rondo-bench: %s: %s\n", what, err->message);
    exit(1);
}

static rondo_series *add_series(rondo_store *store, const char *key, rondo_kind kind,
                                const rondo_archive_spec *archives, size_t n)
{
    rondo_series *s;
    rondo_error err;
    rondo_status rc = rondo_store_add(store, key, kind, archives, n, &s, &err);
    if (rc == RONDO_ERR_EXISTS)
        rc = rondo_store_find(store, key, &s, &err);
    if (rc != RONDO_OK)
        die(key, &err);
    return s;
}

/* Writes the day of 1-second gauge samples that the whole-process query
 * benchmark reads back: 86,400 slots, ending one second ago. */
static int make_store(const char *dir)
{
    rondo_store *store;
    rondo_error err;
    if (rondo_store_open(&store, dir, RONDO_OPEN_CREATE | RONDO_OPEN_WRITE, &err) != RONDO_OK)
        die(dir, &err);
    rondo_archive_spec day = {1, 86400, RONDO_CF_AVG};
    rondo_series *s = add_series(store, BENCH_SERIES, RONDO_GAUGE, &day, 1);
    int64_t t0 = (int64_t)time(NULL) - 86400 - 1;
    size_t refused = 0;
    for (int64_t i = 0; i < 86400; i++) {
        rondo_write_outcome w = rondo_write(s, t0 + i, (double)(i % 600) / 4);
        refused += w != RONDO_WRITE_APPLIED && w != RONDO_WRITE_LATE;
    }
    rondo_store_close(store);
    if (refused) {
        fprintf(stderr, "rondo-bench: %zu samples refused writing %s\n", refused, dir);
        return 1;
    }
    fprintf(stderr, "rondo-bench: wrote 86400 slots of %s in %s\n", BENCH_SERIES, dir);
    return 0;
}

static double elapsed_us(double since)
{
    return (now_sec(CLOCK_MONOTONIC) - since) * 1e6;
}

/* One store of the catalog benchmark: `shared` puts every series under one
 * metric name (one index file), otherwise each has its own. */
static void catalog_key(char *buf, size_t size, bool shared, size_t i)
{
    if (shared)
        snprintf(buf, size, "catalog{i=\"%zu\"}", i);
    else
        snprintf(buf, size, "catalog_%zu{host=h1}", i);
}

#define CATALOG_REPS 25

/* Times, at each size, a new process's work: open the store on demand, find
 * one series and query it; adding one series to an open store; and opening
 * the store with its whole list. Medians and maxima of CATALOG_REPS. */
static int catalog(size_t target)
{
    static const rondo_archive_spec tiny = {1, 60, RONDO_CF_AVG};
    printf("{\n  \"benchmark\": \"rondo_catalog\",\n  \"points\": [");
    bool first = true;
    for (int shared = 0; shared <= 1; shared++) {
        char dir[] = "/tmp/rondo-catalog-XXXXXX";
        if (mkdtemp(dir) == NULL) {
            perror("rondo-bench: mkdtemp");
            return 1;
        }
        rondo_store *store;
        rondo_error err;
        if (rondo_store_open(&store, dir,
                             RONDO_OPEN_CREATE | RONDO_OPEN_WRITE | RONDO_OPEN_ON_DEMAND,
                             &err) != RONDO_OK)
            die(dir, &err);
        size_t n = 0;
        for (size_t size = 1000; size <= target; size *= 2) {
            char key[96];
            for (; n < size - CATALOG_REPS; n++) {
                catalog_key(key, sizeof key, shared, n);
                add_series(store, key, RONDO_GAUGE, &tiny, 1);
            }
            double add[CATALOG_REPS], find[CATALOG_REPS], list[CATALOG_REPS];
            for (size_t r = 0; r < CATALOG_REPS; r++, n++) {
                catalog_key(key, sizeof key, shared, n);
                double t0 = now_sec(CLOCK_MONOTONIC);
                rondo_series *s = add_series(store, key, RONDO_GAUGE, &tiny, 1);
                add[r] = elapsed_us(t0);
                rondo_write(s, (int64_t)time(NULL), 1.0);
            }
            for (size_t r = 0; r < CATALOG_REPS; r++) {
                catalog_key(key, sizeof key, shared, (r * 7919) % n);
                double t0 = now_sec(CLOCK_MONOTONIC);
                rondo_store *reader;
                rondo_series *s;
                rondo_result res = {0};
                if (rondo_store_open(&reader, dir, RONDO_OPEN_READ | RONDO_OPEN_ON_DEMAND, &err) !=
                        RONDO_OK ||
                    rondo_store_find(reader, key, &s, &err) != RONDO_OK ||
                    rondo_query(s, 0, 60, &res, &err) != RONDO_OK)
                    die(key, &err);
                rondo_result_free(&res);
                rondo_store_close(reader);
                find[r] = elapsed_us(t0);
                t0 = now_sec(CLOCK_MONOTONIC);
                if (rondo_store_open(&reader, dir, RONDO_OPEN_READ, &err) != RONDO_OK)
                    die(dir, &err);
                if (rondo_store_series_count(reader) != n) {
                    fprintf(stderr, "rondo-bench: %s lists %zu series, %zu were added\n", dir,
                            rondo_store_series_count(reader), n);
                    return 1;
                }
                rondo_store_close(reader);
                list[r] = elapsed_us(t0);
            }
            double add_max = 0, find_max = 0;
            for (size_t r = 0; r < CATALOG_REPS; r++) {
                add_max = add[r] > add_max ? add[r] : add_max;
                find_max = find[r] > find_max ? find[r] : find_max;
            }
            printf("%s\n    {\"names\": \"%s\", \"series\": %zu, \"add_us\": %.0f, "
                   "\"add_us_max\": %.0f, \"open_find_query_us\": %.0f, "
                   "\"open_find_query_us_max\": %.0f, \"open_listing_all_us\": %.0f}",
                   first ? "" : ",", shared ? "shared" : "distinct", n, median(add, CATALOG_REPS),
                   add_max, median(find, CATALOG_REPS), find_max, median(list, CATALOG_REPS));
            first = false;
            fflush(stdout);
        }
        rondo_store_close(store);
        char cmd[sizeof dir + 16];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "rondo-bench: could not remove %s\n", dir);
    }
    printf("\n  ]\n}\n");
    return 0;
}

struct rate {
    double wall, cpu; /* samples per second */
};

static void report_rate(const char *name, double *wall, double *cpu, size_t rounds, bool last)
{
    printf("  \"%s_samples_per_sec\": %.0f,\n", name, median(wall, rounds));
    printf("  \"%s_samples_per_cpu_sec\": %.0f%s\n", name, median(cpu, rounds), last ? "" : ",");
}

int main(int argc, char **argv)
{
    size_t samples = 4000000, rounds = 5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--make-store") == 0 && i + 1 < argc)
            return make_store(argv[i + 1]);
        if (strcmp(argv[i], "--catalog") == 0 && i + 1 < argc) {
            char *end;
            unsigned long long n = strtoull(argv[i + 1], &end, 10);
            if (*end != '\0' || n < 1000 || n > 1000000) {
                fprintf(stderr,
                        "rondo-bench: --catalog: '%s' is not a count from 1000 to "
                        "1000000\n",
                        argv[i + 1]);
                return 2;
            }
            return catalog((size_t)n);
        }
        if (strcmp(argv[i], "--samples") == 0 && i + 1 < argc)
            samples = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = strtoull(argv[++i], NULL, 10);
        else {
            fprintf(
                stderr,
                "usage: rondo-bench [--samples N] [--rounds R] | --make-store DIR | --catalog N\n");
            return 2;
        }
    }
    if (samples < 10000 || rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "rondo-bench: --samples must be >= 10000 and --rounds 1 to %d\n",
                MAX_ROUNDS);
        return 2;
    }
    char dir[] = "/tmp/rondo-bench-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("rondo-bench: mkdtemp");
        return 1;
    }
    rondo_store *store;
    rondo_error err;
    if (rondo_store_open(&store, dir, RONDO_OPEN_CREATE | RONDO_OPEN_WRITE, &err) != RONDO_OK)
        die(dir, &err);
    rondo_archive_spec defaults[RONDO_MAX_ARCHIVES];
    size_t ndefaults = rondo_default_archives(RONDO_GAUGE, defaults);

    /* 1. One gauge with the default three archives, one sample per second:
     * every write closes a slot and feeds two consolidated archives. */
    rondo_series *one =
        add_series(store, "ingest_one{kind=gauge}", RONDO_GAUGE, defaults, ndefaults);
    int64_t t = (int64_t)time(NULL) - (int64_t)(samples * rounds) - 10;
    double wall[MAX_ROUNDS], cpu[MAX_ROUNDS];
    size_t refused = 0;
    for (size_t r = 0; r < rounds; r++) {
        double w0 = now_sec(CLOCK_MONOTONIC), c0 = now_sec(CLOCK_THREAD_CPUTIME_ID);
        for (size_t i = 0; i < samples; i++, t++)
            refused += rondo_write(one, t, (double)(i & 1023)) != RONDO_WRITE_APPLIED;
        double w1 = now_sec(CLOCK_MONOTONIC), c1 = now_sec(CLOCK_THREAD_CPUTIME_ID);
        wall[r] = (double)samples / (w1 - w0);
        cpu[r] = (double)samples / (c1 - c0);
    }
    double one_wall[MAX_ROUNDS], one_cpu[MAX_ROUNDS];
    memcpy(one_wall, wall, sizeof wall);
    memcpy(one_cpu, cpu, sizeof cpu);

    /* 2. A counter receiving many increments per second (the VMM's exit
     * counters): 16 increments per slot. */
    rondo_archive_spec cdefaults[RONDO_MAX_ARCHIVES];
    size_t ncdefaults = rondo_default_archives(RONDO_COUNTER, cdefaults);
    rondo_series *ctr =
        add_series(store, "ingest_counter{kind=counter}", RONDO_COUNTER, cdefaults, ncdefaults);
    double ctr_wall[MAX_ROUNDS], ctr_cpu[MAX_ROUNDS];
    int64_t tc = (int64_t)time(NULL) - (int64_t)(samples * rounds / 16) - 10;
    for (size_t r = 0; r < rounds; r++) {
        double w0 = now_sec(CLOCK_MONOTONIC), c0 = now_sec(CLOCK_THREAD_CPUTIME_ID);
        for (size_t i = 0; i < samples; i++)
            refused += rondo_write(ctr, tc + (int64_t)(i >> 4), 1.0) != RONDO_WRITE_APPLIED;
        tc += (int64_t)(samples >> 4) + 1;
        double w1 = now_sec(CLOCK_MONOTONIC), c1 = now_sec(CLOCK_THREAD_CPUTIME_ID);
        ctr_wall[r] = (double)samples / (w1 - w0);
        ctr_cpu[r] = (double)samples / (c1 - c0);
    }

    /* 3. 1,000 gauges written round-robin, one sample per second each: the
     * VMM's shape, where every write touches another file's mapping. */
    static rondo_series *many[MANY_SERIES];
    for (size_t k = 0; k < MANY_SERIES; k++) {
        char key[64];
        snprintf(key, sizeof key, "ingest_many{series=\"%zu\"}", k);
        many[k] = add_series(store, key, RONDO_GAUGE, defaults, ndefaults);
    }
    double many_wall[MAX_ROUNDS], many_cpu[MAX_ROUNDS];
    size_t per_round = samples / MANY_SERIES;
    int64_t tm = (int64_t)time(NULL) - (int64_t)(per_round * rounds) - 10;
    for (size_t r = 0; r < rounds; r++) {
        double w0 = now_sec(CLOCK_MONOTONIC), c0 = now_sec(CLOCK_THREAD_CPUTIME_ID);
        for (size_t i = 0; i < per_round; i++, tm++) {
            for (size_t k = 0; k < MANY_SERIES; k++)
                refused += rondo_write(many[k], tm, (double)k) != RONDO_WRITE_APPLIED;
        }
        double w1 = now_sec(CLOCK_MONOTONIC), c1 = now_sec(CLOCK_THREAD_CPUTIME_ID);
        many_wall[r] = (double)(per_round * MANY_SERIES) / (w1 - w0);
        many_cpu[r] = (double)(per_round * MANY_SERIES) / (c1 - c0);
    }

    /* 4. Query one series over its last hour (3,600 one-second slots). */
    rondo_result res = {0};
    static double lat[QUERY_REPS];
    int64_t start, end;
    rondo_series_extent(one, &start, &end);
    size_t points = 0;
    for (size_t r = 0; r < QUERY_REPS; r++) {
        double q0 = now_sec(CLOCK_MONOTONIC);
        if (rondo_query(one, end - 3600, end, &res, &err) != RONDO_OK)
            die("query", &err);
        lat[r] = (now_sec(CLOCK_MONOTONIC) - q0) * 1e6;
        points = 0;
        for (size_t k = 0; k < res.nparts; k++)
            points += res.parts[k].count;
    }
    double q1h = median(lat, QUERY_REPS);
    double q1h_p99 = lat[QUERY_REPS * 99 / 100];

    /* 5. The 86,400-slot series of --make-store, whole range, in process. */
    char day_dir[sizeof dir + 8];
    snprintf(day_dir, sizeof day_dir, "%s/day", dir);
    if (make_store(day_dir) != 0)
        return 1;
    rondo_store *day_store;
    rondo_series *day;
    if (rondo_store_open(&day_store, day_dir, RONDO_OPEN_READ, &err) != RONDO_OK ||
        rondo_store_find(day_store, BENCH_SERIES, &day, &err) != RONDO_OK)
        die(day_dir, &err);
    rondo_series_extent(day, &start, &end);
    size_t day_points = 0;
    for (size_t r = 0; r < 1001; r++) {
        double q0 = now_sec(CLOCK_MONOTONIC);
        if (rondo_query(day, start, end, &res, &err) != RONDO_OK)
            die("query", &err);
        lat[r] = (now_sec(CLOCK_MONOTONIC) - q0) * 1e6;
        day_points = res.parts[0].count;
    }
    double qday = median(lat, 1001);
    rondo_result_free(&res);
    rondo_store_close(day_store);
    rondo_store_close(store);

    char cmd[sizeof dir + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "rondo-bench: could not remove %s\n", dir);
    if (refused) {
        fprintf(stderr, "rondo-bench: %zu samples were refused\n", refused);
        return 1;
    }
    printf("{\n  \"benchmark\": \"rondo_ingest_query\",\n");
    printf("  \"nproc\": %ld,\n  \"samples_per_round\": %zu,\n  \"rounds\": %zu,\n",
           sysconf(_SC_NPROCESSORS_ONLN), samples, rounds);
    report_rate("ingest_one_gauge_3_archives", one_wall, one_cpu, rounds, false);
    report_rate("ingest_counter_16_per_slot", ctr_wall, ctr_cpu, rounds, false);
    report_rate("ingest_1000_gauges_round_robin", many_wall, many_cpu, rounds, false);
    printf("  \"query_1h_points\": %zu,\n", points);
    printf("  \"query_1h_us_median\": %.3f,\n  \"query_1h_us_p99\": %.3f,\n", q1h, q1h_p99);
    printf("  \"query_86400_points\": %zu,\n  \"query_86400_us_median\": %.3f\n}\n", day_points,
           qday);
    return 0;
}

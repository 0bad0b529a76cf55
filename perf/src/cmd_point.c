#include "cmd.h"

#include "perfmatrix/point.h"
#include "perfmatrix/proc.h"
#include "perfmatrix/record.h"
#include "perfmatrix/service.h"
#include "perfmatrix/sweep.h"

#include <math.h>
#include <stdio.h>

/* Seconds kept between the driver's own deadline and CTest's TIMEOUT, so the
 * driver always records a hung run before CTest kills the driver. */
#define PM_CTEST_MARGIN_SEC 10.0

int pm__cmd_point(int argc, char **argv)
{
    static const struct option opts[] = {{"plan", required_argument, NULL, 'p'},
                                         {"async", required_argument, NULL, 'a'},
                                         {"concurrency", required_argument, NULL, 'c'},
                                         {"run", required_argument, NULL, 'r'},
                                         {"io-threads", required_argument, NULL, 'i'},
                                         {"duration-sec", required_argument, NULL, 'd'},
                                         {"warmup-iters", required_argument, NULL, 'w'},
                                         {"timeout-sec", required_argument, NULL, 't'},
                                         {"vcpus", required_argument, NULL, 'v'},
                                         {"output-dir", required_argument, NULL, 'o'},
                                         {"test", required_argument, NULL, 'n'},
                                         {"ctest-timeout", required_argument, NULL, 'T'},
                                         {"redis-file", required_argument, NULL, 'R'},
                                         {"rate", required_argument, NULL, 'L'},
                                         {NULL, 0, NULL, 0}};
    pm_point_config cfg = {.async = 1,
                           .concurrency = 1,
                           .run_idx = 1,
                           .io_threads = 1,
                           .warmup_iters = 100,
                           .duration_sec = 10,
                           .timeout_sec = 60,
                           .echo = true};
    const char *out = NULL, *redis_file = NULL;
    double ctest_timeout = 0;
    int vcpus = 0, c;
    bool ok = true;
    while (ok && (c = pm__getopt("point", argc, argv, opts)) != -1) {
        switch (c) {
        case 'p':
            ok = pm__text_opt("point", opts, c, sizeof(((pm_row *)0)->plan) - 1, &cfg.plan);
            break;
        case 'a':
            ok = pm__int_opt("point", opts, c, 0, 1, &cfg.async);
            break;
        case 'c':
            ok = pm__int_opt("point", opts, c, 1, 1 << 20, &cfg.concurrency);
            break;
        case 'r':
            ok = pm__int_opt("point", opts, c, 1, 1 << 20, &cfg.run_idx);
            break;
        case 'i':
            ok = pm__int_opt("point", opts, c, 0, 4096, &cfg.io_threads);
            break;
        case 'd':
            ok = pm__double_opt("point", opts, c, 0.001, 86400, &cfg.duration_sec);
            break;
        case 'w':
            ok = pm__int_opt("point", opts, c, 0, 1 << 30, &cfg.warmup_iters);
            break;
        case 't':
            ok = pm__double_opt("point", opts, c, 0.001, 86400, &cfg.timeout_sec);
            break;
        case 'v':
            ok = pm__int_opt("point", opts, c, 1, 4096, &vcpus);
            break;
        case 'o':
            out = optarg;
            break;
        case 'n':
            ok = pm__text_opt("point", opts, c, sizeof(((pm_row *)0)->test) - 1, &cfg.test_name);
            break;
        case 'T':
            ok = pm__double_opt("point", opts, c, 0, 86400, &ctest_timeout);
            break;
        case 'R':
            redis_file = optarg;
            break;
        case 'L':
            ok = pm__double_opt("point", opts, c, 0.001, 1e9, &cfg.rate);
            break;
        default:
            return PM_EXIT_USAGE;
        }
    }
    if (!ok)
        return PM_EXIT_USAGE;
    if (!cfg.plan || optind >= argc)
        return pm__usage("point", "--plan and a command after -- are required", NULL);
    cfg.command = argv + optind;
    cfg.command_len = (size_t)(argc - optind);

    char err[PM_ERR_LEN];
    if (!pm_env_double("DURATION_SEC", cfg.duration_sec, 0.001, 86400, &cfg.duration_sec, err,
                       sizeof err) ||
        !pm_env_int("WARMUP_ITERS", cfg.warmup_iters, 0, 1 << 30, &cfg.warmup_iters, err,
                    sizeof err) ||
        !pm_env_double("TIMEOUT_SEC", cfg.timeout_sec, 0.001, 86400, &cfg.timeout_sec, err,
                       sizeof err) ||
        !pm_env_int("VCPUS", vcpus > 0 ? vcpus : pm_nproc(), 1, 4096, &cfg.vcpus, err,
                    sizeof err)) {
        fprintf(stderr, "perfmatrix point: %s\n", err);
        return PM_EXIT_USAGE;
    }
    if (ctest_timeout > 0 && cfg.timeout_sec > ctest_timeout - PM_CTEST_MARGIN_SEC) {
        double clamped = fmax(1.0, ctest_timeout - PM_CTEST_MARGIN_SEC);
        fprintf(stderr,
                "perfmatrix point: timeout %gs would outlive CTest's TIMEOUT %gs; using %gs "
                "(reconfigure with a larger PERF_TIMEOUT_SEC)\n",
                cfg.timeout_sec, ctest_timeout, clamped);
        cfg.timeout_sec = clamped;
    }
    out = pm__output_dir(out);
    char sweep[256], dir[PM_PATH_LEN];
    if (!pm_sweep_current(out, true, sweep, sizeof sweep, err, sizeof err)) {
        fprintf(stderr, "perfmatrix point: %s\n", err);
        return PM_EXIT_FAILED;
    }
    if (snprintf(dir, sizeof dir, "%s/%s", out, sweep) >= (int)sizeof dir) {
        fprintf(stderr, "perfmatrix point: output directory '%.200s...': path too long\n", out);
        return PM_EXIT_USAGE;
    }

    char default_name[256], file[256], path[PM_PATH_LEN + 300];
    snprintf(default_name, sizeof default_name, "%s.%s.c%d.r%d", cfg.plan,
             cfg.async ? "async" : "sync", cfg.concurrency, cfg.run_idx);
    if (!cfg.test_name)
        cfg.test_name = default_name;
    pm__file_name(cfg.test_name, file, sizeof file);
    snprintf(path, sizeof path, "%s/%s.json", dir, file);

    pm_row row;
    pm_point_status status;
    char addr[256], why[PM_ERR_LEN];
    if (redis_file && !pm_service_addr(redis_file, addr, sizeof addr, why, sizeof why)) {
        /* The skip is recorded too, so the report can say why the point is
         * missing from the table. */
        pm_row_init(&row);
        pm_iso_time(row.ts, sizeof row.ts);
        snprintf(row.plan, sizeof row.plan, "%s", cfg.plan);
        snprintf(row.test, sizeof row.test, "%s", cfg.test_name);
        snprintf(row.status, sizeof row.status, "skipped");
        if (snprintf(row.reason, sizeof row.reason, "%s", why) >= (int)sizeof row.reason)
            fprintf(stderr, "perfmatrix point: reason shortened: %s\n", why);
        row.async = cfg.async;
        row.concurrency = cfg.concurrency;
        row.run_idx = cfg.run_idx;
        row.vcpus = cfg.vcpus;
        status = PM_POINT_SKIPPED;
    } else {
        cfg.redis = redis_file ? addr : NULL;
        if (!pm_point_run(&cfg, &row, &status, err, sizeof err)) {
            fprintf(stderr, "perfmatrix point: %s\n", err);
            return PM_EXIT_FAILED;
        }
    }
    cJSON *obj = pm_row_to_json(&row);
    bool written = obj && pm_write_json_file(path, obj, err, sizeof err);
    cJSON_Delete(obj);
    if (!written) {
        fprintf(stderr, "perfmatrix point: %s\n", obj ? err : "out of memory");
        return PM_EXIT_FAILED;
    }
    if (!isnan(row.qps))
        pm_point_print_measurements(&row);
    printf("perfmatrix point: %s: %s, qps %.6g, p99 %.6g us, rss %ld kB, vcpus %d pinned to %d "
           "of %d CPUs -> %s\n",
           cfg.test_name, row.status, row.qps, row.p99_us, row.ru_maxrss, row.vcpus,
           row.pinned_cpus, row.nproc, path);
    fflush(stdout);
    if (status == PM_POINT_SKIPPED) {
        printf("skipped: %s\n", row.reason);
        return PM_EXIT_SKIPPED;
    }
    if (status == PM_POINT_FAILED) {
        fprintf(stderr, "perfmatrix point: %s: %s\n", cfg.test_name, row.reason);
        return PM_EXIT_FAILED;
    }
    return PM_EXIT_OK;
}

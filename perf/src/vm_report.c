#include "perfmatrix/proc.h"
#include "perfmatrix/sweep.h"
#include "perfmatrix/vm.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Engine points, benchmarks and torn files are the engine report's
 * business; only VM results are read here. */
static bool pm__load_vm(const char *name, const char *path, const cJSON *obj, void *ctx, char *err,
                        size_t errlen)
{
    (void)name;
    pm_vm_rows *rows = ctx;
    if (strcmp(pm_result_kind(obj), "vm") != 0)
        return true;
    pm_vm_row row;
    char why[PM_ERR_LEN];
    if (!pm_vm_row_from_json(obj, &row, why, sizeof why)) {
        fprintf(stderr, "perfmatrix report: %s: %s, ignored\n", path, why);
    } else if (!pm_vm_rows_push(rows, &row)) {
        snprintf(err, errlen, "%s: out of memory", path);
        return false;
    }
    return true;
}

bool pm_vm_sweep_load(const char *sweep_dir, pm_vm_rows *rows, char *err, size_t errlen)
{
    return pm_sweep_each(sweep_dir, true, pm__load_vm, rows, err, errlen);
}

void pm_vm_manifest_path(const char *manifest, char *out, size_t len)
{
    size_t n = strlen(manifest);
    if (n > 4 && strcmp(manifest + n - 4, ".txt") == 0)
        n -= 4;
    snprintf(out, len, "%.*s_vm.txt", (int)n, manifest);
}

static int pm__cmp(const void *a, const void *b)
{
    const pm_vm_row *x = a, *y = b;
    if (x->duration_s != y->duration_s)
        return x->duration_s - y->duration_s;
    if (x->vcpus != y->vcpus)
        return x->vcpus - y->vcpus;
    if (x->run_idx != y->run_idx)
        return x->run_idx - y->run_idx;
    return strcmp(x->test, y->test);
}

/* A figure for the table with its unit, "-" when unknown. */
static const char *pm__fig(double v, int decimals, const char *unit, char *buf, size_t len)
{
    if (isnan(v))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.*f%s", decimals, v, unit);
    return buf;
}

static bool pm__has_test(const void *ctx, const char *name)
{
    const pm_vm_rows *rows = ctx;
    for (size_t i = 0; i < rows->n; i++)
        if (strcmp(rows->v[i].test, name) == 0)
            return true;
    return false;
}

size_t pm_vm_summary_write(FILE *f, const pm_vm_rows *rows, const char *vm_manifest)
{
    fprintf(f, "== VM lifecycle: one row per run (rondo-vmm, built-in guest) ==\n");
    fprintf(f,
            "%-8s | %-3s | %-7s | %-5s | %-8s | %-14s | %-17s | %-7s | %-10s | %-9s | %-11s | "
            "%-7s | %s\n",
            "duration", "run", "backend", "vcpus", "wall", "start-to-entry", "points / expected",
            "capture", "exits/s", "peak RSS", "CPU u+s", "status", "test");
    for (size_t i = 0; i < rows->n; i++) {
        const pm_vm_row *r = &rows->v[i];
        char wall[32], ste[32], pts[32], exp[32], cap[32], eps[32], rss[32], cu[32], cs[32];
        char dur[16], both[80];
        snprintf(dur, sizeof dur, "%ds", r->duration_s);
        snprintf(both, sizeof both, "%s / %s", pm__fig(r->points, 0, "", pts, sizeof pts),
                 pm__fig(r->expected_points, 0, "", exp, sizeof exp));
        char cpu[80];
        snprintf(cpu, sizeof cpu, "%s+%s", pm__fig(r->cpu_user_s, 2, "", cu, sizeof cu),
                 pm__fig(r->cpu_sys_s, 2, "", cs, sizeof cs));
        fprintf(f,
                "%-8s | %-3d | %-7s | %-5d | %-8s | %-14s | %-17s | %-7s | %-10s | %-9s | %-11s | "
                "%-7s | %s\n",
                dur, r->run_idx, r->backend[0] ? r->backend : "-", r->vcpus,
                pm__fig(r->wall_s, 3, "s", wall, sizeof wall),
                pm__fig(r->start_to_entry_us, 0, " us", ste, sizeof ste), both,
                pm__fig(r->capture_rate, 3, "", cap, sizeof cap),
                pm__fig(r->exits_per_sec, 0, "", eps, sizeof eps),
                pm__fig(r->peak_rss_kb, 0, " kB", rss, sizeof rss), cpu, r->status, r->test);
    }
    if (rows->n == 0)
        fprintf(f, "(no VM run recorded)\n");
    fprintf(f, "\nMissing or failed VM points:\n");
    size_t missing = pm_manifest_missing(f, vm_manifest, pm__has_test, rows, false);
    for (size_t i = 0; i < rows->n; i++) {
        const pm_vm_row *r = &rows->v[i];
        if (strcmp(r->status, "ok") != 0) {
            fprintf(f, "  %s: %s: %s\n", r->test, r->status, r->reason);
            missing++;
        }
    }
    if (missing == 0)
        fprintf(f, "  none\n");
    return missing;
}

/* Appends one index block per run with a timeline to the plot's data file:
 * second, capture so far (points present / seconds elapsed) and exits in
 * that second. Returns the number of blocks; titles receives their names. */
static size_t pm__write_plot_data(const pm_vm_rows *rows, const char *sweep_dir, FILE *data,
                                  char *titles, size_t titles_len)
{
    size_t blocks = 0, used = 0;
    titles[0] = '\0';
    for (size_t i = 0; i < rows->n; i++) {
        const pm_vm_row *r = &rows->v[i];
        if (!r->timeline[0])
            continue;
        char path[PM_PATH_LEN + 200], err[PM_ERR_LEN];
        snprintf(path, sizeof path, "%s/%s", sweep_dir, r->timeline);
        char *text = pm_read_file(path, err, sizeof err);
        if (!text) {
            fprintf(stderr, "perfmatrix report: %s, not plotted\n", err);
            continue;
        }
        fprintf(data, "# %s\n", r->test);
        double present = 0;
        char *save = NULL;
        size_t row_no = 0;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            if (row_no++ == 0)
                continue; /* the header */
            /* time,second,uptime_s,exits_per_sec,phase with empty cells for
             * seconds the store has no value for. */
            char *cells[5] = {0};
            size_t n = 0;
            for (char *p = line; n < 5; n++) {
                cells[n] = p;
                char *comma = strchr(p, ',');
                if (!comma) {
                    n++;
                    break;
                }
                *comma = '\0';
                p = comma + 1;
            }
            if (n < 4)
                continue;
            double second = strtod(cells[1], NULL);
            present += *cells[2] != '\0';
            fprintf(data, "%g %.6g %s\n", second, present / (second + 1),
                    *cells[3] ? cells[3] : "NaN");
        }
        fprintf(data, "\n\n");
        free(text);
        /* The test name says which run a line is; "perf.vm.lifecycle." adds
         * nothing in the legend. Titles are single words for gnuplot's word(). */
        const char *title = strstr(r->test, "lifecycle.");
        title = title ? title + strlen("lifecycle.") : r->test;
        used += (size_t)snprintf(titles + used, used < titles_len ? titles_len - used : 0, "%s%s",
                                 blocks ? " " : "", title[0] ? title : "vm");
        blocks++;
    }
    return blocks;
}

static bool pm__plot(const pm_vm_rows *rows, const pm_report_options *opt, const char *sweep_dir,
                     char *err, size_t errlen)
{
    char data[PM_PLOT_PATH_LEN], out[PM_PLOT_PATH_LEN];
    FILE *f = pm_plot_data_open(opt, "vm_timeline.dat", "vm_lifecycle", data, out, err, errlen);
    if (f == NULL)
        return false;
    char titles[4096];
    size_t n = pm__write_plot_data(rows, sweep_dir, f, titles, sizeof titles);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: %s", data, strerror(errno));
        return false;
    }
    if (n == 0) {
        printf("perfmatrix report: no VM timeline to plot\n");
        return true;
    }
    char script[PM_PATH_LEN + 32], vars[4 * PM_PATH_LEN + 4096];
    snprintf(script, sizeof script, "%s/vm_lifecycle.gp", opt->templates);
    snprintf(vars, sizeof vars, "tdir='%s'; data='%s'; out='%s'; titles='%s'; n=%zu",
             opt->templates, data, out, titles, n);
    bool ok = pm_gnuplot_draw(opt->gnuplot, script, vars, out, "vm_lifecycle", err, errlen);
    fflush(stdout);
    return ok;
}

/* True when the manifest names at least one point. */
static bool pm__manifest_lists(const char *path)
{
    char err[PM_ERR_LEN];
    char *text = pm_read_file(path, err, sizeof err);
    bool any = false;
    for (const char *p = text; p && *p && !any; p++)
        any = *p != '\n' && *p != ' ' && *p != '\t' && *p != '\r';
    free(text);
    return any;
}

bool pm_vm_report_write(const pm_report_options *opt, char *err, size_t errlen)
{
    char sweep_dir[PM_PATH_LEN], manifest[PM_PATH_LEN + 8] = "";
    snprintf(sweep_dir, sizeof sweep_dir, "%s/%s", opt->out_dir, opt->base);
    if (opt->manifest)
        pm_vm_manifest_path(opt->manifest, manifest, sizeof manifest);
    pm_vm_rows rows = {0};
    if (!pm_vm_sweep_load(sweep_dir, &rows, err, errlen)) {
        pm_vm_rows_free(&rows);
        return false;
    }
    bool expected = manifest[0] && pm__manifest_lists(manifest);
    if (rows.n == 0 && !expected) {
        pm_vm_rows_free(&rows);
        return true;
    }
    if (rows.n)
        qsort(rows.v, rows.n, sizeof *rows.v, pm__cmp);

    char path[PM_PATH_LEN + 300];
    snprintf(path, sizeof path, "%s/%s_vm.csv", opt->out_dir, opt->base);
    FILE *f = fopen(path, "w");
    bool ok = f != NULL;
    if (ok) {
        fprintf(f, "%s\n", pm_vm_csv_header());
        for (size_t i = 0; i < rows.n; i++)
            pm_vm_csv_write_row(f, &rows.v[i]);
        ok = fclose(f) == 0;
    }
    if (!ok)
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
    else
        printf("perfmatrix report: %s (%zu VM runs)\n", path, rows.n);

    /* The engine part has written and closed the summary; the VM table goes
     * after it. */
    snprintf(path, sizeof path, "%s/%s_summary.txt", opt->out_dir, opt->base);
    f = ok ? fopen(path, "a") : NULL;
    if (ok && !f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        ok = false;
    }
    if (ok) {
        fputc('\n', f);
        size_t missing = pm_vm_summary_write(f, &rows, expected ? manifest : NULL);
        ok = fclose(f) == 0;
        if (!ok)
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
        printf("perfmatrix report: VM table in %s (%zu missing or failed VM points)\n", path,
               missing);
        /* CTest's log shows the table too, failures and all. */
        if (ok)
            pm_vm_summary_write(stdout, &rows, expected ? manifest : NULL);
    }
    if (ok && opt->gnuplot)
        ok = pm__plot(&rows, opt, sweep_dir, err, errlen);
    else if (ok)
        printf("perfmatrix report: VM plot skipped: gnuplot is not installed\n");
    pm_vm_rows_free(&rows);
    return ok;
}

#include "perfmatrix/proc.h"
#include "perfmatrix/report.h"
#include "perfmatrix/sweep.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *pm__plots[] = {"qps_vs_concurrency", "latency_vs_concurrency", "qps_vs_p99"};

/* Writes the data files the templates read: one index block per series
 * (concurrency qps p50 p90 p99), the knees, and the Pareto frontier. */
static bool pm__write_data(const pm_series *s, size_t n, const char *data, const char *knees,
                           const char *front, char *err, size_t errlen)
{
    FILE *fd = fopen(data, "w"), *fk = fopen(knees, "w"), *ff = fopen(front, "w");
    bool ok = fd && fk && ff;
    if (!ok)
        snprintf(err, errlen, "%s: %s", !fd ? data : !fk ? knees : front, strerror(errno));
    size_t total = 0;
    for (size_t i = 0; ok && i < n; i++) {
        /* A series with no valid level has no line; its title is left out
         * too, so the template's index blocks and titles stay aligned. */
        if (s[i].n == 0)
            continue;
        fprintf(fd, "# %s vcpus=%d async=%d\n", s[i].plan, s[i].vcpus, s[i].async);
        for (size_t k = 0; k < s[i].n; k++)
            fprintf(fd, "%g %g %g %g %g\n", s[i].concurrency[k], s[i].qps[k], s[i].p50_us[k],
                    s[i].p90_us[k], s[i].p99_us[k]);
        fprintf(fd, "\n\n");
        if (s[i].has_knee)
            fprintf(fk, "%g %g knee=%g\n", s[i].concurrency[s[i].knee], s[i].qps[s[i].knee],
                    s[i].concurrency[s[i].knee]);
        total += s[i].n;
    }
    /* gnuplot warns on an empty file but still draws the rest. */
    if (ok)
        fprintf(fk, "NaN NaN none\n");
    if (ok) {
        double *p99 = malloc(total * sizeof *p99), *qps = malloc(total * sizeof *qps);
        double *conc = malloc(total * sizeof *conc);
        size_t *idx = malloc(total * sizeof *idx);
        if (!p99 || !qps || !conc || !idx) {
            snprintf(err, errlen, "out of memory for the Pareto frontier");
            ok = false;
        } else {
            size_t m = 0;
            for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < s[i].n; k++, m++) {
                    p99[m] = s[i].p99_us[k];
                    qps[m] = s[i].qps[k];
                    conc[m] = s[i].concurrency[k];
                }
            size_t nf = pm_pareto(p99, qps, m, idx);
            for (size_t i = 0; i < nf; i++)
                fprintf(ff, "%g %g %g\n", p99[idx[i]], qps[idx[i]], conc[idx[i]]);
        }
        free(p99);
        free(qps);
        free(conc);
        free(idx);
    }
    if (fd)
        fclose(fd);
    if (fk)
        fclose(fk);
    if (ff)
        fclose(ff);
    return ok;
}

bool pm_gnuplot_draw(const char *gnuplot, const char *script, const char *vars, const char *out,
                     const char *name, char *err, size_t errlen)
{
    char *argv[] = {(char *)gnuplot, "-e", (char *)vars, (char *)script, NULL};
    pm_child child;
    if (!pm_run_child(argv, 60, 0, false, &child, err, errlen))
        return false;
    int rc = child.timed_out ? -1 : child.exit_code;
    pm_child_free(&child);
    if (rc != 0) {
        snprintf(err, errlen, "gnuplot %s %s", script,
                 rc < 0 ? "was killed after 60 s" : "exited non-zero");
        return false;
    }
    char png[PM_PATH_LEN + 8];
    snprintf(png, sizeof png, "%s.png", out);
    char *abs = realpath(png, NULL);
    printf("<CTestMeasurementFile type=\"image/png\" name=\"%s\">%s</CTestMeasurementFile>\n", name,
           abs ? abs : png);
    free(abs);
    return true;
}

bool pm_plots_dir(const pm_report_options *opt, char *out, size_t len, char *err, size_t errlen)
{
    const char *stamp = strncmp(opt->base, "sweep_", 6) == 0 ? opt->base + 6 : opt->base;
    if (snprintf(out, len, "%s/plots_%s", opt->out_dir, stamp) >= (int)len) {
        snprintf(err, errlen, "%.200s...: path too long for the plots directory", opt->out_dir);
        return false;
    }
    if (strchr(out, '\'') || strchr(opt->templates, '\'')) {
        snprintf(err, errlen, "%s: a quote in the path cannot reach gnuplot", out);
        return false;
    }
    return pm_mkdirs(out, err, errlen);
}

FILE *pm_plot_data_open(const pm_report_options *opt, const char *data_name, const char *plot_name,
                        char data[PM_PLOT_PATH_LEN], char out[PM_PLOT_PATH_LEN], char *err,
                        size_t errlen)
{
    char plots[PM_PATH_LEN];
    if (!pm_plots_dir(opt, plots, sizeof plots, err, errlen))
        return NULL;
    snprintf(data, PM_PLOT_PATH_LEN, "%s/%.60s", plots, data_name);
    snprintf(out, PM_PLOT_PATH_LEN, "%s/%.60s", plots, plot_name);
    FILE *f = fopen(data, "w");
    if (f == NULL)
        snprintf(err, errlen, "%s: %s", data, strerror(errno));
    return f;
}

bool pm_plot_plan(const pm_series *series, size_t n, const char *plots_dir, const char *suffix,
                  const char *gnuplot, const char *templates, char *err, size_t errlen)
{
    char stem[128], data[PM_PATH_LEN], knees[PM_PATH_LEN], front[PM_PATH_LEN];
    int len = snprintf(stem, sizeof stem, "%s%s", suffix ? "_" : "", suffix ? suffix : "");
    bool fits = len < (int)sizeof stem;
    len = snprintf(data, sizeof data, "%s/series%s.dat", plots_dir, stem);
    fits = fits && len < (int)sizeof data;
    len = snprintf(knees, sizeof knees, "%s/knees%s.dat", plots_dir, stem);
    fits = fits && len < (int)sizeof knees;
    len = snprintf(front, sizeof front, "%s/pareto%s.dat", plots_dir, stem);
    fits = fits && len < (int)sizeof front;
    if (!fits) {
        snprintf(err, errlen, "%.200s...: path too long for the plot files", plots_dir);
        return false;
    }
    if (strchr(plots_dir, '\'') || strchr(series[0].plan, '\'')) {
        snprintf(err, errlen, "%s: a quote in the path or plan name cannot reach gnuplot",
                 plots_dir);
        return false;
    }
    if (!pm__write_data(series, n, data, knees, front, err, errlen))
        return false;

    /* Series titles are single words so the template can pick them with
     * gnuplot's word(). The titles and the -e program grow with the number
     * of series (a memory stream, not a fixed buffer). */
    char *titles = NULL;
    size_t titles_len = 0, drawn = 0;
    FILE *t = open_memstream(&titles, &titles_len);
    if (!t) {
        snprintf(err, errlen, "out of memory for the plot titles");
        return false;
    }
    for (size_t i = 0; i < n; i++)
        if (series[i].n > 0)
            fprintf(t, "%s%s,vcpus=%d", drawn++ ? " " : "", series[i].async ? "async" : "sync",
                    series[i].vcpus);
    bool ok = fclose(t) == 0 && titles;
    for (size_t p = 0; ok && p < sizeof pm__plots / sizeof pm__plots[0]; p++) {
        char out[PM_PATH_LEN], script[PM_PATH_LEN];
        len = snprintf(out, sizeof out, "%s/%s%s", plots_dir, pm__plots[p], stem);
        fits = len < (int)sizeof out;
        len = snprintf(script, sizeof script, "%s/%s.gp", templates, pm__plots[p]);
        fits = fits && len < (int)sizeof script;
        if (!fits) {
            snprintf(err, errlen, "%.200s...: path too long for gnuplot", plots_dir);
            ok = false;
            break;
        }
        char *vars = NULL;
        size_t vars_len = 0;
        FILE *v = open_memstream(&vars, &vars_len);
        if (v)
            fprintf(v,
                    "tdir='%s'; data='%s'; knees='%s'; front='%s'; out='%s'; titles='%s'; n=%zu; "
                    "plan='%s'",
                    templates, data, knees, front, out, titles, drawn, series[0].plan);
        if (!v || fclose(v) != 0 || !vars) {
            free(vars);
            snprintf(err, errlen, "out of memory for the gnuplot program");
            ok = false;
            break;
        }
        char name[128];
        snprintf(name, sizeof name, "%s%s", pm__plots[p], stem);
        ok = pm_gnuplot_draw(gnuplot, script, vars, out, name, err, errlen);
        free(vars);
        if (!ok)
            break;
    }
    free(titles);
    if (!ok)
        return false;
    fflush(stdout);
    return true;
}

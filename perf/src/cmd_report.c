#include "cmd.h"

#include "perfmatrix/record.h"
#include "perfmatrix/report.h"
#include "perfmatrix/sweep.h"
#include "pmbase/child.h"

#include <stdio.h>

#ifndef PM_GNUPLOT_DIR
#error "PM_GNUPLOT_DIR must name the directory of the gnuplot templates"
#endif

int pm__cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output-dir", required_argument, NULL, 'o'}, {"sweep", required_argument, NULL, 's'},
        {"in", required_argument, NULL, 'i'},         {"manifest", required_argument, NULL, 'm'},
        {"slo-p99-us", required_argument, NULL, 'S'}, {"gnuplot", required_argument, NULL, 'g'},
        {"templates", required_argument, NULL, 't'},  {"no-plots", no_argument, NULL, 'N'},
        {"baseline", required_argument, NULL, 'b'},   {NULL, 0, NULL, 0}};
    const char *out = NULL, *sweep = NULL, *manifest = NULL, *gnuplot = "gnuplot";
    const char *baseline = NULL;
    const char *templates = PM_GNUPLOT_DIR;
    const char *inputs[64];
    size_t ninputs = 0;
    double slo = 0;
    int c;
    const char *no_plots = NULL;
    while ((c = pm__getopt("report", argc, argv, opts)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 's':
            sweep = optarg;
            break;
        case 'i':
            if (ninputs == sizeof inputs / sizeof inputs[0]) {
                fprintf(stderr, "perfmatrix report: option '--in' '%s': at most %zu inputs\n",
                        optarg, sizeof inputs / sizeof inputs[0]);
                return PM_EXIT_USAGE;
            }
            inputs[ninputs++] = optarg;
            break;
        case 'm':
            manifest = optarg;
            break;
        case 'S':
            if (!pm__double_opt("report", opts, c, 0, 1e12, &slo))
                return PM_EXIT_USAGE;
            break;
        case 'g':
            gnuplot = optarg;
            break;
        case 't':
            templates = optarg;
            break;
        case 'N':
            gnuplot = NULL;
            no_plots = "--no-plots was given";
            break;
        case 'b':
            baseline = optarg;
            break;
        default:
            return PM_EXIT_USAGE;
        }
    }
    if (optind != argc)
        return pm__usage("report", "unexpected argument", NULL);
    char err[PM_ERR_LEN];
    if (!pm_env_double("P99_SLO_US", slo, 0, 1e12, &slo, err, sizeof err)) {
        fprintf(stderr, "perfmatrix report: %s\n", err);
        return PM_EXIT_USAGE;
    }
    out = pm__output_dir(out);
    pm_rows rows = {0};
    char base[256], name[256];
    if (ninputs > 0) {
        /* Merging sweeps (one per vCPU preset, say) makes a comparison with
         * its own name; the inputs stay untouched. */
        for (size_t i = 0; i < ninputs; i++) {
            if (!pm_csv_read(inputs[i], &rows, err, sizeof err)) {
                fprintf(stderr, "perfmatrix report: %s\n", err);
                pm_rows_free(&rows);
                return PM_EXIT_USAGE;
            }
        }
        char ts[32];
        pm_timestamp(ts, sizeof ts);
        snprintf(base, sizeof base, "merged_%s", ts);
        if (!pm_mkdirs(out, err, sizeof err)) {
            fprintf(stderr, "perfmatrix report: %s\n", err);
            return PM_EXIT_FAILED;
        }
    } else {
        if (!sweep && !pm_sweep_current(out, false, name, sizeof name, err, sizeof err)) {
            fprintf(stderr, "perfmatrix report: %s\n", err);
            return PM_EXIT_FAILED;
        }
        if (snprintf(base, sizeof base, "%s", sweep ? sweep : name) >= (int)sizeof base) {
            fprintf(stderr, "perfmatrix report: option '--sweep': name too long\n");
            return PM_EXIT_USAGE;
        }
        char dir[PM_PATH_LEN];
        if (snprintf(dir, sizeof dir, "%s/%s", out, base) >= (int)sizeof dir) {
            fprintf(stderr, "perfmatrix report: output directory '%.200s...': path too long\n",
                    out);
            return PM_EXIT_USAGE;
        }
        if (!pm_sweep_load(dir, &rows, err, sizeof err)) {
            fprintf(stderr, "perfmatrix report: %s\n", err);
            pm_rows_free(&rows);
            return PM_EXIT_FAILED;
        }
    }
    char gp[PM_PATH_LEN], missing[PM_PATH_LEN + 64];
    bool have_gnuplot = gnuplot && pmb_program_find(gnuplot, gp, sizeof gp);
    if (gnuplot && !have_gnuplot) {
        snprintf(missing, sizeof missing, "gnuplot not found as '%s'", gnuplot);
        no_plots = missing;
    }
    pm_report_options opt = {.out_dir = out,
                             .base = base,
                             .manifest = manifest,
                             .slo_p99_us = slo,
                             .gnuplot = have_gnuplot ? gp : NULL,
                             .no_plots = no_plots,
                             .templates = templates,
                             .baseline = baseline};
    bool ok = pm_report_write(&rows, &opt, err, sizeof err);
    pm_rows_free(&rows);
    if (!ok) {
        fprintf(stderr, "perfmatrix report: %s\n", err);
        return PM_EXIT_FAILED;
    }
    return PM_EXIT_OK;
}

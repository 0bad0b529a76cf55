/* The report: merges the points of a sweep (or several sweeps' CSVs) into
 * the CSV, JSON Lines and summary files, the knee summary and the plots. */
#ifndef PERFMATRIX_REPORT_H
#define PERFMATRIX_REPORT_H

#include "perfmatrix/analysis.h"
#include "perfmatrix/record.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define PM_MAX_LEVELS 64

/* One curve: the medians across runs of one plan, vcpus and scheduler mode. */
typedef struct {
    char plan[64];
    int vcpus;
    int async;
    int cpu_threads;
    int io_threads;
    size_t n;
    double concurrency[PM_MAX_LEVELS];
    double qps[PM_MAX_LEVELS];
    double p50_us[PM_MAX_LEVELS];
    double p90_us[PM_MAX_LEVELS];
    double p99_us[PM_MAX_LEVELS];
    double max_us[PM_MAX_LEVELS];
    int runs[PM_MAX_LEVELS];
    bool has_knee;
    size_t knee;
    pm_assessment assessment[PM_MAX_LEVELS];
} pm_series;

typedef struct {
    const char *out_dir;   /* where the files go */
    const char *base;      /* file name stem: "sweep_<ts>" */
    const char *manifest;  /* expected points (from CMake), or NULL */
    double slo_p99_us;     /* optional p99 SLO for the operating point; <= 0: none */
    const char *gnuplot;   /* gnuplot program, or NULL to skip plots */
    const char *templates; /* directory of the .gp templates */
    const char *baseline;  /* a sweep CSV the HTML page compares with, or NULL */
} pm_report_options;

/* Groups the rows with status "ok" into series sorted by plan, vcpus and
 * mode, with medians per concurrency and the knee and assessments filled.
 * Returns the number of series (*out is malloc'd), or 0. */
size_t pm_series_build(const pm_rows *rows, pm_series **out);

/* The seed's table for one series, followed by its knee analysis. */
void pm_summary_write_series(FILE *f, const pm_series *s, double slo_p99_us);

/* The knee, operating point, headroom and USL lines of one series. */
void pm_knee_analysis_write(FILE *f, const pm_series *s, double slo_p99_us);

/* Writes a line per expected point of the manifest that has no ok row, and
 * per recorded row that failed, with the reason. Returns how many. */
size_t pm_missing_write(FILE *f, const pm_rows *rows, const char *manifest);

/* Writes every output; progress and tags go to stdout. */
bool pm_report_write(const pm_rows *rows, const pm_report_options *opt, char *err, size_t errlen);

/* Reads every point file (kind "point") of a sweep directory. */
bool pm_sweep_load(const char *sweep_dir, pm_rows *rows, char *err, size_t errlen);

/* Draws the three plots of one plan's series into plots_dir (PNG and SVG)
 * and prints a <CTestMeasurementFile> tag per PNG. */
bool pm_plot_plan(const pm_series *series, size_t n, const char *plots_dir, const char *suffix,
                  const char *gnuplot, const char *templates, char *err, size_t errlen);

#endif

/* The report: merges the points of a sweep (or several sweeps' CSVs) into
 * the CSV, JSON Lines and summary files, the knee summary and the plots. */
#ifndef PERFMATRIX_REPORT_H
#define PERFMATRIX_REPORT_H

#include "perfmatrix/analysis.h"
#include "perfmatrix/record.h"
#include "perfmatrix/sweep.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* One curve: the medians across the valid runs of one plan, vcpus and
 * scheduler mode, one entry per level with at least one valid run. The
 * arrays hold n entries (any number of levels; pm_series_free frees them). */
typedef struct {
    char plan[64];
    int vcpus;
    int async;
    int cpu_threads;
    int io_threads;
    size_t n;
    double *concurrency;
    double *qps;
    double *p50_us;
    double *p90_us;
    double *p99_us;
    double *max_us;
    double *qps_min; /* the spread of the valid runs */
    double *qps_max;
    double *p99_min;
    double *p99_max;
    int *runs;     /* valid runs in the medians */
    int *recorded; /* rows recorded for the level, valid or not */
    pm_assessment *assessment;
    pm_curve curve; /* knee, recommendation (with the report's SLO) */
    bool has_knee;  /* copies of curve.has_knee and curve.knee */
    size_t knee;
    /* Levels with rows but no valid run: not on the curve, named in the
     * summary so the gap is visible. */
    size_t n_excluded;
    double *excluded;
    int *excluded_rows;
} pm_series;

typedef struct {
    const char *out_dir;   /* where the files go */
    const char *base;      /* file name stem: "sweep_<ts>" */
    const char *manifest;  /* expected points (from CMake), or NULL */
    double slo_p99_us;     /* optional p99 SLO for the operating point; <= 0: none */
    const char *gnuplot;   /* gnuplot program, or NULL to skip plots */
    const char *no_plots;  /* why there are no plots, when gnuplot is NULL */
    const char *templates; /* directory of the .gp templates */
    const char *baseline;  /* a sweep CSV the HTML page compares with, or NULL */
} pm_report_options;

/* Groups the rows into series sorted by plan, vcpus and mode, with medians
 * and spreads per concurrency over the rows with status "ok" only, and the
 * knee, recommendation (within slo_p99_us when > 0) and assessments filled.
 * Returns the number of series (*out is malloc'd, pm_series_free), or 0
 * (also when out of memory, with *out NULL and *oom set). */
size_t pm_series_build(const pm_rows *rows, double slo_p99_us, pm_series **out, bool *oom);

void pm_series_free(pm_series *series, size_t n);

/* The warnings of one series: a knee decided by less than the noise of the
 * runs around it, and single runs whose noise is unknown. Returns how many
 * lines it wrote. */
size_t pm_noise_warnings_write(FILE *f, const pm_series *s);

/* The series of the other scheduler mode with the same plan and vcpus as s
 * among series, or NULL. cpu_threads is not matched: it sizes only the async
 * scheduler's worker pool (the sync scheduler ignores it), and the driver
 * sets it from vcpus in both modes, so a mismatch would not be a different
 * machine. */
const pm_series *pm_series_counterpart(const pm_series *series, size_t n, const pm_series *s);

/* Which mode has the higher QPS median at one level. A mode wins when its
 * median exceeds the other's by at least the runs' spread there (the wider
 * of the two modes' min-max QPS ranges); a smaller difference, or none, is
 * a tie within the noise. With one valid run in both modes the spread is
 * unknown (taken as 0), so any difference wins and noise_known says so. */
typedef enum {
    PM_MODES_ASYNC_WINS,
    PM_MODES_SYNC_WINS,
    PM_MODES_TIE,
    PM_MODES_ASYNC_ONLY, /* no valid sync run at the level */
    PM_MODES_SYNC_ONLY,  /* no valid async run at the level */
} pm_modes_verdict;

typedef struct {
    double concurrency;
    pm_modes_verdict verdict;
    /* The rest is NaN (false) at a level measured validly in one mode only. */
    double ratio;     /* async QPS median / sync QPS median */
    double diff;      /* |async - sync| QPS medians */
    double spread;    /* the wider min-max QPS range of the modes' valid runs */
    bool noise_known; /* one of the modes has two valid runs at the level */
} pm_modes_level;

/* A walk over the levels of the two modes of one plan and vcpus. */
typedef struct {
    const pm_series *async;
    const pm_series *sync;
    size_t ia, is;
} pm_modes_walk;

/* Starts a walk over one and other, the two modes of a plan and vcpus (as
 * pm_series_counterpart pairs them) in either order. */
void pm_modes_walk_start(pm_modes_walk *w, const pm_series *one, const pm_series *other);

/* The classification of the next level, by increasing concurrency, of the
 * union of both modes' valid levels; false after the last. Every writer of
 * the comparison (the tables' async/sync column, the async-vs-sync section,
 * the which-mode-wins statement) reads the levels from here. */
bool pm_modes_next(pm_modes_walk *w, pm_modes_level *out);

/* The async/sync cell of a table row: "1.07x", "-" when the other mode has
 * no valid run at the level, "n/a" when the sync median is 0. The rows'
 * levels must be asked in increasing order along one walk. */
const char *pm_modes_ratio_cell(pm_modes_walk *w, double concurrency, char *buf, size_t len);

/* Says, on one line after indent, where async wins, where sync wins and
 * where the difference is within the noise, as ranges of neighbouring levels
 * with their async/sync ratios, then the levels measured in one mode only;
 * a second line names the levels whose noise is unknown (one run each). */
void pm_modes_wins_write(FILE *f, const pm_series *async, const pm_series *sync,
                         const char *indent);

/* For every plan and vcpus measured in both modes, the async/sync QPS ratio
 * per common level, with a warning where the runs' spread is larger than the
 * difference, and which mode wins where. Returns the number of warnings. */
size_t pm_modes_compare_write(FILE *f, const pm_series *series, size_t n);

/* The seed's table for one series (with each level's spread and valid runs
 * appended, and the async/sync QPS ratio when other, the other mode's series
 * from pm_series_counterpart, is not NULL), its knee analysis and its noise
 * warnings; returns how many warnings it wrote. */
size_t pm_summary_write_series(FILE *f, const pm_series *s, const pm_series *other,
                               double slo_p99_us);

/* The knee, operating point, headroom and USL lines of one series. */
void pm_knee_analysis_write(FILE *f, const pm_series *s, double slo_p99_us);

/* Says whether the rows in ctx hold a result for the test name. */
typedef bool (*pm_has_result)(const void *ctx, const char *name);

/* Writes one line to f per test a manifest (one test name a line; blank
 * lines and # comments skipped) names that has_result does not find, and
 * returns how many. An unreadable manifest is said in one line when
 * say_unreadable is set, and otherwise means no expected points. */
size_t pm_manifest_missing(FILE *f, const char *manifest, pm_has_result has_result, const void *ctx,
                           bool say_unreadable);

/* Writes a line per expected point of the manifest that has no row, per
 * recorded row that is not ok (invalid, failed, ...) with the reason, and
 * per input noted as unreadable. Returns how many. */
size_t pm_missing_write(FILE *f, const pm_rows *rows, const char *manifest);

/* Writes every output; progress and tags go to stdout. */
bool pm_report_write(const pm_rows *rows, const pm_report_options *opt, char *err, size_t errlen);

/* Reads every point file (kind "point") of a sweep directory. */
bool pm_sweep_load(const char *sweep_dir, pm_rows *rows, char *err, size_t errlen);

/* Runs `gnuplot -e vars script` (60 s at most) and prints the
 * <CTestMeasurementFile> tag of out.png under name. */
bool pm_gnuplot_draw(const char *gnuplot, const char *script, const char *vars, const char *out,
                     const char *name, char *err, size_t errlen);

/* Creates the report's plots directory, <out_dir>/plots_<ts> where ts is the
 * base without its "sweep_", into out. Fails when the path is too long or
 * holds a quote (the gnuplot scripts take it inside quotes), or when the
 * templates' path does. */
bool pm_plots_dir(const pm_report_options *opt, char *out, size_t len, char *err, size_t errlen);

/* Opens <plots>/<data_name> (in the directory pm_plots_dir creates) for a
 * plot's data, and names the plot <plots>/<plot_name>, without extension,
 * in out. Both buffers hold PM_PLOT_PATH_LEN bytes. NULL with err when the
 * directory or the file cannot be made. */
#define PM_PLOT_PATH_LEN (PM_PATH_LEN + 64)
FILE *pm_plot_data_open(const pm_report_options *opt, const char *data_name, const char *plot_name,
                        char data[PM_PLOT_PATH_LEN], char out[PM_PLOT_PATH_LEN], char *err,
                        size_t errlen);

/* Draws the three plots of one plan's series into plots_dir (PNG and SVG)
 * and prints a <CTestMeasurementFile> tag per PNG. */
bool pm_plot_plan(const pm_series *series, size_t n, const char *plots_dir, const char *suffix,
                  const char *gnuplot, const char *templates, char *err, size_t errlen);

#endif

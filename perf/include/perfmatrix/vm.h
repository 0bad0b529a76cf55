/* The VM lifecycle family: `perfmatrix vm` runs rondo-vmm for a workload of
 * N seconds (the contract is vmm/VMM-CONTRACT, summarized in perf/README.md),
 * reads its --json summary, re-reads its rondo store to verify what it
 * claims, and records one result per run; the report turns those results
 * into sweep_<ts>_vm.csv, a table in the summary and a lifecycle plot. */
#ifndef PERFMATRIX_VM_H
#define PERFMATRIX_VM_H

#include "perfmatrix/report.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* rondo-vmm's exit code for "backend unavailable" (no usable KVM nor ptrace);
 * the driver turns it into a CTest skip. */
#define PM_VMM_EXIT_UNAVAILABLE 4
/* rondo-vmm's exit code for a crashed guest. */
#define PM_VMM_EXIT_CRASHED 3

/* One VM lifecycle run. Figures are doubles, NaN when unknown (the run
 * left no summary or no store), so the CSV shows an empty cell rather than
 * a fake zero. The first 19 fields are the CSV's documented columns in
 * order; the rest are appended after them. */
typedef struct {
    char ts[32];
    int duration_s;
    int run_idx;
    char backend[16];
    int vcpus;
    double wall_s;
    double start_to_entry_us;
    double points;          /* vmm_uptime_seconds points found in the store */
    double expected_points; /* the summary's: seconds of the VM's life */
    double capture_rate;    /* points / expected_points */
    double exits_total;     /* the summary's */
    double exits_per_sec;   /* exits_total / wall_s */
    double peak_rss_kb;     /* the monitor's VmHWM, from the summary */
    double cpu_user_s;
    double cpu_sys_s;
    int exit_code;
    int timeout_killed;
    char status[16]; /* ok, invalid, failed, timeout, skipped */
    char reason[256];
    /* Appended columns. */
    int nproc;
    int pinned_cpus;
    double ru_maxrss_kb; /* the VMM process tree's, from wait4 */
    double store_exits;  /* sum of vcpu_exits_total read back from the store */
    char git_sha[48];
    char test[160];
    char timeline[200]; /* file name of the per-second timeline, in the sweep directory */
} pm_vm_row;

typedef struct {
    pm_vm_row *v;
    size_t n;
    size_t cap;
} pm_vm_rows;

void pm_vm_row_init(pm_vm_row *row);

/* The CSV header (the documented columns, then the appended ones). */
const char *pm_vm_csv_header(void);

/* One CSV line; text fields are quoted when they hold a comma or a quote
 * (RFC 4180) and line breaks become spaces, so one run stays one line. */
void pm_vm_csv_write_row(FILE *f, const pm_vm_row *row);

/* The result file's object: the row's fields plus "kind": "vm". */
cJSON *pm_vm_row_to_json(const pm_vm_row *row);
bool pm_vm_row_from_json(const cJSON *obj, pm_vm_row *row, char *err, size_t errlen);

bool pm_vm_rows_push(pm_vm_rows *rows, const pm_vm_row *row);
void pm_vm_rows_free(pm_vm_rows *rows);

/* Fills the summary's figures into row from the VMM's stdout (the object
 * starts at the first line beginning with '{'). crash receives the
 * summary's "crash" text when there is one. Returns false with err when
 * there is no summary object. */
bool pm_vm_parse_summary(const char *out, pm_vm_row *row, double *summary_uptime_points,
                         char *crash, size_t crashlen, char *err, size_t errlen);

/* What the store holds, read back with librondo. */
typedef struct {
    double uptime_points; /* non-empty 1 s slots of vmm_uptime_seconds */
    double exits;         /* sum of every vcpu_exits_total{reason=...} slot */
    size_t seconds;       /* rows written to the timeline */
} pm_vm_store_figures;

/* Reads the store in dir and writes the per-second timeline CSV
 * (time,second,uptime_s,exits_per_sec,phase) to timeline_path when it is
 * not NULL. Returns false with err when the store cannot be read. */
bool pm_vm_store_read(const char *dir, const char *timeline_path, pm_vm_store_figures *fig,
                      char *err, size_t errlen);

/* Checks the summary against the store (uptime points == expected_points
 * == the summary's own count, store exits == exits_total) and sets status
 * "invalid" with the first disagreement as the reason. Returns true when
 * everything agrees. */
bool pm_vm_verify(pm_vm_row *row, double summary_uptime_points, const pm_vm_store_figures *fig);

/* Prints the <CTestMeasurement> tags of a run: capture_rate, exits_per_sec,
 * start_to_entry_us and peak_rss_kb (unknown figures are left out). */
void pm_vm_print_measurements(const pm_vm_row *row);

/* One run of `perfmatrix vm` (see perf/README.md). */
typedef struct {
    const char *test;    /* the result's name, a plain file name */
    const char *backend; /* NULL: the VMM's default */
    int duration_s;
    int run_idx;
    int vcpus;
    double timeout_sec;
    char *const *command; /* rondo-vmm and its own arguments */
    size_t command_len;
} pm_vm_config;

/* Runs the VMM once in the current sweep of out_dir, checks it against its
 * store and writes the result; prints what happened and returns the
 * program's exit code (PM_EXIT_OK, PM_EXIT_FAILED or PM_EXIT_SKIPPED). */
int pm_vm_run(const pm_vm_config *cfg, const char *out_dir);

/* Reads every VM result (kind "vm") of a sweep directory. A missing
 * directory is an empty sweep, not an error. */
bool pm_vm_sweep_load(const char *sweep_dir, pm_vm_rows *rows, char *err, size_t errlen);

/* The VM manifest that goes with an engine manifest: "<stem>_vm.txt" for
 * "<stem>.txt". */
void pm_vm_manifest_path(const char *manifest, char *out, size_t len);

/* The VM table of the summary, then the missing or failed VM points with
 * their reasons; returns how many were missing or failed. */
size_t pm_vm_summary_write(FILE *f, const pm_vm_rows *rows, const char *vm_manifest);

/* The VM part of a report: <base>_vm.csv, the VM section appended to
 * <base>_summary.txt, and plots_<ts>/vm_lifecycle.{png,svg}. Does nothing
 * when the sweep has neither VM results nor expected VM points. */
bool pm_vm_report_write(const pm_report_options *opt, char *err, size_t errlen);

#endif

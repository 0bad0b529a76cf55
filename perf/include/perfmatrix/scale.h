/* `perfmatrix scale`: N monitored VMs at once, measured the same way for the
 * embedded store (N rondo-vmm processes) and for the external stack (N
 * prometheus-node-exporter processes and one prometheus scraping them every
 * second). See perf/README.md, "VM scale". */
#ifndef PERFMATRIX_SCALE_H
#define PERFMATRIX_SCALE_H

#include "perfmatrix/report.h"

#include <stdbool.h>
#include <stddef.h>

/* The most units one run starts. */
#define PM_SCALE_MAX_COUNT 1000

typedef struct {
    const char *kind; /* vmm, vmm_nostore, prometheus */
    int count;
    double workload, grace;
    const char *out_dir, *test, *exporter;
    char **command; /* the VMM, or prometheus */
    int ncommand;
} pm_scale_config;

/* Runs the N units of one point, samples them, and writes the result into
 * the current sweep of out_dir; prints what happened and returns the
 * program's exit code (PM_EXIT_OK, PM_EXIT_FAILED or PM_EXIT_SKIPPED). */
int pm_scale_run(const pm_scale_config *c);

/* Adds sweep_<ts>_scale.csv and the scale table to the summary when the
 * sweep holds scale results. */
bool pm_scale_report_write(const pm_report_options *opt, char *err, size_t errlen);

#endif

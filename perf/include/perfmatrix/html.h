/* The report page: one self-contained HTML file per sweep (inline CSS, plots
 * as inline SVG data, no script, nothing fetched), written beside the CSV as
 * <base>.html. It shows what the text outputs hold: the configuration, the
 * seed's table per series with the knee analysis, every plot, the VM tables
 * (any <base>_vm.csv or <base>_scale.csv beside it), the comparison with a
 * baseline sweep when one is given, and the missing or failed points. */
#ifndef PERFMATRIX_HTML_H
#define PERFMATRIX_HTML_H

#include "perfmatrix/compare.h"
#include "perfmatrix/report.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const pm_rows *rows;     /* every point of the sweep, sorted */
    const pm_series *series; /* the ok points as curves */
    size_t nseries;
    const pm_report_options *opt;
    const char *plots_dir;   /* where the SVG plots are, or NULL */
    const pm_rows *baseline; /* a baseline sweep to compare with, or NULL */
} pm_html_input;

/* Writes <out_dir>/<base>.html; path receives its name. */
bool pm_html_write(const pm_html_input *in, char *path, size_t pathlen, char *err, size_t errlen);

#endif

/* `perfmatrix scale`: N monitored VMs at once, measured the same way for the
 * embedded store (N rondo-vmm processes) and for the external stack (N
 * prometheus-node-exporter processes and one prometheus scraping them every
 * second). See perf/README.md, "VM scale". */
#ifndef PERFMATRIX_SCALE_H
#define PERFMATRIX_SCALE_H

#include "perfmatrix/report.h"

#include <stdbool.h>
#include <stddef.h>

int pm_scale_main(int argc, char **argv);

/* Adds sweep_<ts>_scale.csv and the scale table to the summary when the
 * sweep holds scale results. */
bool pm_scale_report_write(const pm_report_options *opt, char *err, size_t errlen);

#endif

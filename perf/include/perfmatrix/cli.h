/* The perfmatrix program: subcommands setup, point, report, bench, command,
 * service, compare, vm and scale, one file each (src/cmd_<name>.c; see
 * perf/README.md).
 * Exit codes: 0 ok, 1 the measurement or an output failed, 2 bad usage or
 * input, 77 skipped (a prerequisite is missing). */
#ifndef PERFMATRIX_CLI_H
#define PERFMATRIX_CLI_H

#define PM_EXIT_OK      0
#define PM_EXIT_FAILED  1
#define PM_EXIT_USAGE   2
#define PM_EXIT_SKIPPED 77

int pm_main(int argc, char **argv);

#endif

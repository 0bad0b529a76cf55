/* What the subcommands of the perfmatrix program share: one usage line, one
 * option reader, typed option values that name the option when they are
 * wrong, and the result files they write. Private to perf/src. */
#ifndef PERFMATRIX_CMD_H
#define PERFMATRIX_CMD_H

#include "perfmatrix/cli.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

/* What pm__getopt returns after reporting a bad option. */
#define PM__OPT_ERROR (-2)

/* Prints "perfmatrix CMD: MSG[ ARG] (see perf/README.md)" and returns
 * PM_EXIT_USAGE, so a usage error is one statement. arg may be NULL. */
int pm__usage(const char *cmd, const char *msg, const char *arg);

/* getopt_long for the subcommands: "+:" stops at the first word that is not
 * an option (the measured command) and tells a missing value apart from an
 * unknown option. A value that is itself an option ("--plan --") is refused
 * unless the option's name ends in "-arg" (it passes words through to
 * another program). Errors are one line naming the option as the user wrote
 * it; the result is then PM__OPT_ERROR. */
int pm__getopt(const char *cmd, int argc, char **argv, const struct option *opts);

/* The value of option c (optarg) as an integer or a number in [min, max], or
 * as text of 1 to max_len characters; on failure prints one line naming the
 * option, the value and what was expected. */
bool pm__int_opt(const char *cmd, const struct option *opts, int c, int min, int max, int *out);
bool pm__double_opt(const char *cmd, const struct option *opts, int c, double min, double max,
                    double *out);
bool pm__text_opt(const char *cmd, const struct option *opts, int c, size_t max_len,
                  const char **out);

/* The output directory: OUTPUT_DIR from the environment wins over the
 * option, so sets that must not move unset it through CTest. */
const char *pm__output_dir(const char *option);

/* A file name for a result from a test name: dots kept, anything else that
 * is not [A-Za-z0-9_-] replaced. */
void pm__file_name(const char *name, char *out, size_t len);

/* Records an auxiliary result (a benchmark or a command timing) as
 * <sweep>/<prefix><name>.json when there is a current sweep; without one
 * the measurement tags still reach the dashboard. */
void pm__record_aux(const char *out, const char *prefix, const char *name, const cJSON *obj);

/* The subcommands, one file each (cmd_<name>.c). */
int pm__cmd_setup(int argc, char **argv);
int pm__cmd_point(int argc, char **argv);
int pm__cmd_report(int argc, char **argv);
int pm__cmd_bench(int argc, char **argv);
int pm__cmd_command(int argc, char **argv);
int pm__cmd_service(int argc, char **argv);
int pm__cmd_compare(int argc, char **argv);
int pm__cmd_vm(int argc, char **argv);
int pm__cmd_scale(int argc, char **argv);

#endif

#include "cmd.h"

#include "perfmatrix/record.h"
#include "perfmatrix/sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pm__usage(const char *cmd, const char *msg, const char *arg)
{
    fprintf(stderr, "perfmatrix %s: %s%s%s (see perf/README.md)\n", cmd, msg, arg ? " " : "",
            arg ? arg : "");
    return PM_EXIT_USAGE;
}

int pm__getopt(const char *cmd, int argc, char **argv, const struct option *opts)
{
    int li = -1;
    int c = getopt_long(argc, argv, "+:", opts, &li);
    if (c == -1)
        return -1;
    const char *word = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
    if (c == '?') {
        fprintf(stderr, "perfmatrix %s: unknown option '%s' (see perf/README.md)\n", cmd, word);
        return PM__OPT_ERROR;
    }
    if (c == ':') {
        fprintf(stderr, "perfmatrix %s: option '%s' needs a value\n", cmd, word);
        return PM__OPT_ERROR;
    }
    /* Options named *-arg pass a word through to another program, which
     * may well be a flag of that program's own. */
    size_t nlen = li >= 0 ? strlen(opts[li].name) : 0;
    bool passthrough = nlen > 4 && strcmp(opts[li].name + nlen - 4, "-arg") == 0;
    if (optarg && li >= 0 && !passthrough && strncmp(optarg, "--", 2) == 0) {
        fprintf(stderr, "perfmatrix %s: option '--%s' needs a value, got '%s'\n", cmd,
                opts[li].name, optarg);
        return PM__OPT_ERROR;
    }
    return c;
}

static const char *pm__opt_name(const struct option *opts, int c)
{
    for (; opts->name; opts++)
        if (opts->val == c)
            return opts->name;
    return "?";
}

/* Parses the value of option c as an integer in [min, max]; on failure
 * prints one line naming the option, the value and the range. */
bool pm__int_opt(const char *cmd, const struct option *opts, int c, int min, int max, int *out)
{
    if (pm_parse_int(optarg, min, max, out))
        return true;
    fprintf(stderr, "perfmatrix %s: option '--%s' '%s': expected an integer in [%d, %d]\n", cmd,
            pm__opt_name(opts, c), optarg, min, max);
    return false;
}

bool pm__double_opt(const char *cmd, const struct option *opts, int c, double min, double max,
                    double *out)
{
    if (pm_parse_double(optarg, min, max, out))
        return true;
    fprintf(stderr, "perfmatrix %s: option '--%s' '%s': expected a number in [%g, %g]\n", cmd,
            pm__opt_name(opts, c), optarg, min, max);
    return false;
}

/* A text value that must fit its field whole (a cut plan name would merge
 * points that differ). */
bool pm__text_opt(const char *cmd, const struct option *opts, int c, size_t max_len,
                  const char **out)
{
    size_t len = strlen(optarg);
    if (len > 0 && len <= max_len) {
        *out = optarg;
        return true;
    }
    fprintf(stderr, "perfmatrix %s: option '--%s': %zu characters, expected 1 to %zu\n", cmd,
            pm__opt_name(opts, c), len, max_len);
    return false;
}

const char *pm__output_dir(const char *option)
{
    const char *env = getenv("OUTPUT_DIR");
    if (env && *env)
        return env;
    return option ? option : "./perf_results";
}

void pm__file_name(const char *name, char *out, size_t len)
{
    size_t i = 0;
    for (; name[i] && i + 1 < len; i++) {
        char c = name[i];
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '.' || c == '_' || c == '-';
        out[i] = plain ? c : '_';
    }
    out[i] = '\0';
}

void pm__record_aux(const char *out, const char *prefix, const char *name, const cJSON *obj)
{
    char sweep[256], err[PM_ERR_LEN], file[256], path[PM_PATH_LEN + 600];
    if (!pm_sweep_current(out, false, sweep, sizeof sweep, err, sizeof err))
        return;
    pm__file_name(name, file, sizeof file);
    if (snprintf(path, sizeof path, "%s/%s/%s%s.json", out, sweep, prefix, file) >=
        (int)sizeof path) {
        fprintf(stderr, "perfmatrix: %s: path too long, result not recorded\n", out);
        return;
    }
    if (!pm_write_json_file(path, obj, err, sizeof err))
        fprintf(stderr, "perfmatrix: %s\n", err);
}

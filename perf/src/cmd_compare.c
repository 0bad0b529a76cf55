#include "cmd.h"

#include "perfmatrix/compare.h"
#include "perfmatrix/record.h"
#include "pmbase/number.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pm__cmd_compare(int argc, char **argv)
{
    static const struct option opts[] = {{"metric", required_argument, NULL, 'm'},
                                         {"alpha", required_argument, NULL, 'a'},
                                         {"threshold", required_argument, NULL, 't'},
                                         {NULL, 0, NULL, 0}};
    pm_compare_options opt = {PM_COMPARE_QPS, 0.05, 0.05};
    pmb_error err = {0};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'm' && !pm_compare_metric_parse(optarg, &opt.metric)) {
            return pm__usage("compare", "--metric must be qps, p50_us or p99_us, not", optarg);
        } else if (c == 'a') {
            if (pmb_parse_double("--alpha", optarg, 1e-6, 0.5, &opt.alpha, &err) != PMB_OK)
                return pm__usage("compare", err.msg, NULL);
        } else if (c == 't') {
            /* "5%" or "0.05". */
            char text[64];
            snprintf(text, sizeof text, "%s", optarg);
            size_t len = strlen(text);
            bool percent = len > 0 && text[len - 1] == '%';
            if (percent)
                text[len - 1] = '\0';
            if (pmb_parse_double("--threshold", text, 0, percent ? 1000 : 10, &opt.threshold,
                                 &err) != PMB_OK)
                return pm__usage("compare", err.msg, NULL);
            if (percent)
                opt.threshold /= 100;
        } else if (c == '?') {
            return pm__usage("compare", "unknown option or missing value:", argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        return pm__usage("compare", "expected BASE.csv NEW.csv", NULL);
    pm_rows base = {0}, fresh = {0};
    char msg[PM_ERR_LEN];
    if (!pm_csv_read(argv[optind], &base, msg, sizeof msg) ||
        !pm_csv_read(argv[optind + 1], &fresh, msg, sizeof msg)) {
        pm_rows_free(&base);
        pm_rows_free(&fresh);
        fprintf(stderr, "perfmatrix compare: %s\n", msg);
        return PM_EXIT_USAGE;
    }
    pm_compare_row *rows = NULL;
    size_t n = pm_compare(&base, &fresh, &opt, &rows);
    pm_rows_free(&base);
    pm_rows_free(&fresh);
    if (n == 0) {
        free(rows);
        fprintf(stderr, "perfmatrix compare: the two sweeps have no ok point in common\n");
        return PM_EXIT_USAGE;
    }
    pm_compare_write(stdout, rows, n, &opt);
    bool regressed = false;
    for (size_t i = 0; i < n; i++)
        regressed = regressed || rows[i].regression;
    free(rows);
    return regressed ? PM_EXIT_FAILED : PM_EXIT_OK;
}

#include "cmd.h"

#include "perfmatrix/point.h"
#include "perfmatrix/proc.h"
#include "perfmatrix/record.h"

#include <stdio.h>
#include <string.h>

int pm__cmd_bench(int argc, char **argv)
{
    static const struct option opts[] = {{"name", required_argument, NULL, 'n'},
                                         {"timeout-sec", required_argument, NULL, 't'},
                                         {"output-dir", required_argument, NULL, 'o'},
                                         {NULL, 0, NULL, 0}};
    const char *name = NULL, *out = NULL;
    double timeout = 120;
    int c;
    while ((c = pm__getopt("bench", argc, argv, opts)) != -1) {
        if (c == 'n')
            name = optarg;
        else if (c == 't' && pm__double_opt("bench", opts, c, 0.001, 86400, &timeout))
            continue;
        else if (c == 'o')
            out = optarg;
        else
            return PM_EXIT_USAGE;
    }
    if (!name || optind >= argc)
        return pm__usage("bench", "--name and a command after -- are required", NULL);
    char err[PM_ERR_LEN];
    pm_child child;
    if (!pm_run_child(argv + optind, timeout, 0, true, &child, err, sizeof err)) {
        fprintf(stderr, "perfmatrix bench: %s\n", err);
        return PM_EXIT_FAILED;
    }
    int rc = child.exit_code;
    bool timed_out = child.timed_out;
    const char *start = child.out ? strchr(child.out, '{') : NULL;
    cJSON *obj = start ? cJSON_Parse(start) : NULL;
    pm_child_free(&child);
    if (rc == 77 && !timed_out) {
        printf("skipped: %s reported a missing prerequisite\n", argv[optind]);
        cJSON_Delete(obj);
        return PM_EXIT_SKIPPED;
    }
    if (cJSON_IsObject(obj)) {
        for (const cJSON *it = obj->child; it; it = it->next)
            if (cJSON_IsNumber(it))
                pm_print_measurement(it->string, it->valuedouble);
        cJSON_AddStringToObject(obj, "kind", "bench");
        cJSON_AddStringToObject(obj, "bench", name);
        cJSON_AddNumberToObject(obj, "exit_code", rc);
        cJSON_AddNumberToObject(obj, "timeout_killed", timed_out);
        pm__record_aux(pm__output_dir(out), "bench_", name, obj);
    }
    bool is_obj = cJSON_IsObject(obj);
    cJSON_Delete(obj);
    if (timed_out) {
        fprintf(stderr, "perfmatrix bench: %s: killed after %gs (timeout_killed=1)\n", name,
                timeout);
        return PM_EXIT_FAILED;
    }
    if (rc != 0 || !is_obj) {
        fprintf(stderr, "perfmatrix bench: %s: %s\n", name,
                rc ? "the benchmark exited non-zero" : "no JSON object on stdout");
        return PM_EXIT_FAILED;
    }
    return PM_EXIT_OK;
}

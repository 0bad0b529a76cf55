#include "cmd.h"

#include "perfmatrix/scale.h"
#include "pmbase/number.h"

#include <string.h>

int pm__cmd_scale(int argc, char **argv)
{
    static const struct option opts[] = {
        {"kind", required_argument, NULL, 'k'},         {"count", required_argument, NULL, 'n'},
        {"workload-sec", required_argument, NULL, 'w'}, {"grace-sec", required_argument, NULL, 'g'},
        {"output-dir", required_argument, NULL, 'o'},   {"test", required_argument, NULL, 't'},
        {"exporter", required_argument, NULL, 'e'},     {NULL, 0, NULL, 0}};
    pm_scale_config c = {.kind = "vmm",
                         .count = 10,
                         .workload = 15,
                         .grace = 30,
                         .test = "scale",
                         .exporter = "prometheus-node-exporter"};
    pmb_error err = {0};
    int ch;
    while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        int rc = PMB_OK;
        switch (ch) {
        case 'k':
            if (strcmp(optarg, "vmm") && strcmp(optarg, "vmm_nostore") &&
                strcmp(optarg, "prometheus"))
                return pm__usage("scale", "--kind must be vmm, vmm_nostore or prometheus, not",
                                 optarg);
            c.kind = optarg;
            break;
        case 'n':
            rc = pmb_parse_int("--count", optarg, 1, PM_SCALE_MAX_COUNT, &c.count, &err);
            break;
        case 'w':
            rc = pmb_parse_double("--workload-sec", optarg, 0, 3600, &c.workload, &err);
            break;
        case 'g':
            rc = pmb_parse_double("--grace-sec", optarg, 0, 3600, &c.grace, &err);
            break;
        case 'o':
            c.out_dir = optarg;
            break;
        case 't':
            c.test = optarg;
            break;
        case 'e':
            c.exporter = optarg;
            break;
        default:
            return pm__usage("scale", "unknown option", argv[optind - 1]);
        }
        if (rc != PMB_OK)
            return pm__usage("scale", err.msg, NULL);
    }
    if (c.out_dir == NULL || optind >= argc)
        return pm__usage("scale", "--output-dir and a program after -- are required", NULL);
    c.command = argv + optind;
    c.ncommand = argc - optind;
    return pm_scale_run(&c);
}

#include "cmd.h"

#include "perfmatrix/record.h"
#include "perfmatrix/sweep.h"
#include "perfmatrix/vm.h"

#include <stdio.h>
#include <string.h>

/* The per-run timeout when none is given: the workload's own duration plus
 * this margin, which covers the VMM's start and the store's final sync. */
#define PM__VM_TIMEOUT_MARGIN_SEC 30.0

/* A test name that is already a file name: 1 to 120 of the characters a
 * result file name keeps as they are. */
static bool pm__plain_name(const char *name)
{
    char file[128];
    size_t len = strlen(name);
    if (len == 0 || len > 120)
        return false;
    pm__file_name(name, file, sizeof file);
    return strcmp(file, name) == 0;
}

int pm__cmd_vm(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output-dir", required_argument, NULL, 'o'}, {"duration", required_argument, NULL, 'd'},
        {"run", required_argument, NULL, 'r'},        {"timeout", required_argument, NULL, 't'},
        {"backend", required_argument, NULL, 'b'},    {"vcpus", required_argument, NULL, 'v'},
        {"test", required_argument, NULL, 'n'},       {NULL, 0, NULL, 0}};
    pm_vm_config cfg = {.run_idx = 1, .timeout_sec = 0};
    const char *out = NULL;
    int vcpus = 1, c;
    bool ok = true;
    while (ok && (c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'd':
            ok = pm_parse_int(optarg, 1, 86400, &cfg.duration_s);
            break;
        case 'r':
            ok = pm_parse_int(optarg, 1, 1 << 20, &cfg.run_idx);
            break;
        case 't':
            ok = pm_parse_double(optarg, 0.001, 7 * 86400, &cfg.timeout_sec);
            break;
        case 'b':
            cfg.backend = optarg;
            ok = strcmp(optarg, "auto") == 0 || strcmp(optarg, "kvm") == 0 ||
                 strcmp(optarg, "ptrace") == 0;
            break;
        case 'v':
            ok = pm_parse_int(optarg, 1, 8, &vcpus);
            break;
        case 'n':
            cfg.test = optarg;
            break;
        default:
            return pm__usage("vm", "unknown option", NULL);
        }
    }
    if (!ok)
        return pm__usage("vm",
                         "bad value for an option (--duration 1-86400 s, --backend "
                         "auto|kvm|ptrace, --vcpus 1-8)",
                         NULL);
    if (cfg.duration_s == 0 || optind >= argc)
        return pm__usage("vm", "--duration and the rondo-vmm command after -- are required", NULL);
    cfg.command = argv + optind;
    cfg.command_len = (size_t)(argc - optind);
    if (cfg.timeout_sec == 0)
        cfg.timeout_sec = cfg.duration_s + PM__VM_TIMEOUT_MARGIN_SEC;
    char err[PM_ERR_LEN];
    /* VCPUS (the test presets') wins, as for engine points; rondo-vmm takes
     * 1 to 8 vCPUs. */
    if (!pm_env_int("VCPUS", vcpus, 1, 8, &cfg.vcpus, err, sizeof err)) {
        fprintf(stderr, "perfmatrix vm: %s (rondo-vmm runs 1 to 8 vCPUs)\n", err);
        return PM_EXIT_USAGE;
    }
    char name[160];
    if (!cfg.test) {
        snprintf(name, sizeof name, "vm.lifecycle.%ds.r%d", cfg.duration_s, cfg.run_idx);
        cfg.test = name;
    }
    if (!pm__plain_name(cfg.test))
        return pm__usage("vm", "--test takes up to 120 letters, digits, '.', '_' or '-'", NULL);
    return pm_vm_run(&cfg, pm__output_dir(out));
}

/* The command line of rondo-vmm (see vmm/README.md). */
#include "rondovmm/vmm.h"

#include "pmbase/number.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void rvmm_usage(FILE *f)
{
    fputs("usage: rondo-vmm [--backend auto|kvm|ptrace] [--vcpus N] [--workload-duration S]\n"
          "                 [--cmdline TEXT] [--guest ELF] [--mem-mib N] [--disk FILE]\n"
          "                 [--metrics-store DIR] [--api-port N] [--json]\n"
          "                 [--remote-write URL [--remote-write-interval S] [--vm-name NAME]\n"
          "                  [--remote-write-bearer-token-file F] [--remote-write-basic-auth-file "
          "F]]\n",
          f);
}

int rvmm_options_parse(int argc, char **argv, rvmm_options *o, pmb_error *err)
{
    static const struct option longs[] = {
        {"backend", required_argument, NULL, 'b'},
        {"vcpus", required_argument, NULL, 'v'},
        {"workload-duration", required_argument, NULL, 'w'},
        {"cmdline", required_argument, NULL, 'c'},
        {"guest", required_argument, NULL, 'g'},
        {"mem-mib", required_argument, NULL, 'm'},
        {"disk", required_argument, NULL, 'd'},
        {"metrics-store", required_argument, NULL, 's'},
        {"api-port", required_argument, NULL, 'p'},
        {"remote-write", required_argument, NULL, 'r'},
        {"remote-write-interval", required_argument, NULL, 'i'},
        {"remote-write-bearer-token-file", required_argument, NULL, 't'},
        {"remote-write-basic-auth-file", required_argument, NULL, 'a'},
        {"vm-name", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->backend = RVMM_BACKEND_AUTO;
    o->vcpus = 1;
    o->mem_mib = 64;
    o->api_port = -1;
    o->remote_write_interval = 10;
    int64_t duration = -1, mem = 64;
    bool have_cmdline = false;
    int c, rc = PMB_OK;
    optind = 0;
    opterr = 0;
    while (rc == PMB_OK && (c = getopt_long(argc, argv, ":", longs, NULL)) != -1) {
        switch (c) {
        case 'b':
            if (strcmp(optarg, "auto") == 0)
                o->backend = RVMM_BACKEND_AUTO;
            else if (strcmp(optarg, "kvm") == 0)
                o->backend = RVMM_BACKEND_KVM;
            else if (strcmp(optarg, "ptrace") == 0)
                o->backend = RVMM_BACKEND_PTRACE;
            else
                rc = pmb_error_set(err, PMB_EINPUT, "--backend: '%s' is not auto, kvm or ptrace",
                                   optarg);
            break;
        case 'v':
            rc = pmb_parse_int("--vcpus", optarg, 1, RVMM_MAX_VCPUS, &o->vcpus, err);
            break;
        case 'w':
            rc = pmb_parse_i64("--workload-duration", optarg, 0, 86400, &duration, err);
            break;
        case 'c':
            if (strlen(optarg) >= sizeof o->cmdline)
                rc = pmb_error_set(err, PMB_EINPUT, "--cmdline: longer than %zu bytes",
                                   sizeof o->cmdline - 1);
            snprintf(o->cmdline, sizeof o->cmdline, "%s", optarg);
            have_cmdline = true;
            break;
        case 'g':
            o->guest_path = optarg;
            break;
        case 'm':
            rc = pmb_parse_i64("--mem-mib", optarg, 4, 768, &mem, err);
            o->mem_mib = (uint64_t)mem;
            break;
        case 'd':
            o->disk_path = optarg;
            break;
        case 's':
            o->metrics_store = optarg;
            break;
        case 'p':
            rc = pmb_parse_int("--api-port", optarg, 0, 65535, &o->api_port, err);
            break;
        case 'r':
            o->remote_write = optarg;
            break;
        case 'i':
            rc = pmb_parse_double("--remote-write-interval", optarg, 0.1, 3600,
                                  &o->remote_write_interval, err);
            break;
        case 't':
            o->remote_write_bearer_token_file = optarg;
            break;
        case 'a':
            o->remote_write_basic_auth_file = optarg;
            break;
        case 'n':
            if (*optarg == '\0' || strlen(optarg) >= sizeof o->vm_name)
                rc = pmb_error_set(err, PMB_EINPUT, "--vm-name: must be 1 to %zu bytes",
                                   sizeof o->vm_name - 1);
            else
                snprintf(o->vm_name, sizeof o->vm_name, "%s", optarg);
            break;
        case 'j':
            o->json = true;
            break;
        case 'h':
            o->help = true;
            break;
        case ':':
            rc = pmb_error_set(err, PMB_EINPUT, "%s: needs a value", argv[optind - 1]);
            break;
        default:
            rc = pmb_error_set(err, PMB_EINPUT, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (rc == PMB_OK && optind < argc)
        rc = pmb_error_set(err, PMB_EINPUT, "unexpected argument '%s'", argv[optind]);
    if (rc == PMB_OK && o->remote_write && !o->metrics_store)
        rc = pmb_error_set(err, PMB_EINPUT,
                           "--remote-write: needs --metrics-store (it exports the store)");
    if (rc != PMB_OK)
        return rc;
    /* Many VMs share one Prometheus: the default name is unique per host. */
    if (o->vm_name[0] == '\0') {
        char host[64] = "localhost";
        gethostname(host, sizeof host - 1);
        snprintf(o->vm_name, sizeof o->vm_name, "%s-%ld", host, (long)getpid());
    }
    /* --workload-duration is shorthand for the guest's command line. */
    if (duration >= 0) {
        size_t len = strlen(o->cmdline);
        int n = snprintf(o->cmdline + len, sizeof o->cmdline - len, "%sworkload_duration=%lld",
                         len ? " " : "", (long long)duration);
        if (n < 0 || (size_t)n >= sizeof o->cmdline - len)
            return pmb_error_set(err, PMB_EINPUT, "--cmdline: too long with --workload-duration");
    } else if (!have_cmdline) {
        snprintf(o->cmdline, sizeof o->cmdline, "workload_duration=10");
    }
    return PMB_OK;
}

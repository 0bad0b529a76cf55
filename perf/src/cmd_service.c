#include "cmd.h"

#include "perfmatrix/service.h"
#include "pmbase/number.h"

#include <string.h>

static int pm__service_start(int argc, char **argv)
{
    static const struct option opts[] = {{"dir", required_argument, NULL, 'd'},
                                         {"probe", required_argument, NULL, 'p'},
                                         {"lifetime-sec", required_argument, NULL, 'l'},
                                         {"ready-timeout-sec", required_argument, NULL, 'r'},
                                         {"port", required_argument, NULL, 'P'},
                                         {NULL, 0, NULL, 0}};
    pm_service_options opt = {
        .probe = {PM_SERVICE_PROBE_TCP, NULL}, .lifetime_sec = 3600, .ready_timeout_sec = 30};
    pmb_error err = {0};
    int c;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        if (c == 'd')
            opt.dir = optarg;
        else if (c == 'p' && !pm_service_probe_parse(optarg, &opt.probe))
            return pm__usage("service start", "--probe must be tcp, redis or http:/PATH, not",
                             optarg);
        else if (c == 'l' && pmb_parse_double("--lifetime-sec", optarg, 1, 7 * 86400,
                                              &opt.lifetime_sec, &err) != PMB_OK)
            return pm__usage("service start", err.msg, NULL);
        else if (c == 'r' && pmb_parse_double("--ready-timeout-sec", optarg, 0.1, 600,
                                              &opt.ready_timeout_sec, &err) != PMB_OK)
            return pm__usage("service start", err.msg, NULL);
        else if (c == 'P' && pmb_parse_int("--port", optarg, 1, 65535, &opt.port, &err) != PMB_OK)
            return pm__usage("service start", err.msg, NULL);
        else if (c == '?')
            return pm__usage("service start", "unknown option", argv[optind - 1]);
    }
    if (opt.dir == NULL || optind >= argc)
        return pm__usage("service start", "--dir and a program after -- are required", NULL);
    return pm_service_start(&opt, argv + optind, argc - optind);
}

static int pm__service_stop(int argc, char **argv)
{
    static const struct option opts[] = {{"dir", required_argument, NULL, 'd'}, {NULL, 0, NULL, 0}};
    const char *dir = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        if (c == 'd')
            dir = optarg;
        else
            return pm__usage("service stop", "unknown option", argv[optind - 1]);
    }
    if (dir == NULL)
        return pm__usage("service stop", "--dir is required", NULL);
    return pm_service_stop(dir);
}

static int pm__service_run(int argc, char **argv)
{
    static const struct option opts[] = {{"dir", required_argument, NULL, 'd'},
                                         {"timeout-sec", required_argument, NULL, 't'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = NULL;
    double timeout = 60;
    pmb_error err = {0};
    int c;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        if (c == 'd')
            dir = optarg;
        else if (c == 't' &&
                 pmb_parse_double("--timeout-sec", optarg, 0.001, 86400, &timeout, &err) != PMB_OK)
            return pm__usage("service run", err.msg, NULL);
        else if (c == '?')
            return pm__usage("service run", "unknown option", argv[optind - 1]);
    }
    if (dir == NULL || optind >= argc)
        return pm__usage("service run", "--dir and a command after -- are required", NULL);
    return pm_service_run(dir, timeout, argv + optind, argc - optind);
}

int pm__cmd_service(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } cmds[] = {{"start", pm__service_start}, {"stop", pm__service_stop}, {"run", pm__service_run}};
    if (argc < 2)
        return pm__usage("service", "expected start, stop or run", NULL);
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(argv[1], cmds[i].name) == 0) {
            optind = 0;
            opterr = 0;
            return cmds[i].run(argc - 1, argv + 1);
        }
    }
    return pm__usage("service", "unknown subcommand", argv[1]);
}

#include "perfmatrix/cli.h"

#include "cmd.h"

#include <stdio.h>
#include <string.h>

int pm_main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } cmds[] = {
        {"setup", pm__cmd_setup},     {"point", pm__cmd_point},     {"report", pm__cmd_report},
        {"bench", pm__cmd_bench},     {"command", pm__cmd_command}, {"service", pm__cmd_service},
        {"compare", pm__cmd_compare}, {"vm", pm__cmd_vm},           {"scale", pm__cmd_scale}};
    if (argc < 2) {
        fprintf(
            stderr,
            "usage: perfmatrix setup|point|report|bench|command|service|compare|vm|scale [options] "
            "[-- command...]\n");
        return PM_EXIT_USAGE;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(argv[1], cmds[i].name) == 0) {
            optind = 0;
            opterr = 0;
            return cmds[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "perfmatrix: unknown subcommand '%s'\n", argv[1]);
    return PM_EXIT_USAGE;
}

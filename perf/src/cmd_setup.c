#include "cmd.h"

#include "perfmatrix/record.h"
#include "perfmatrix/sweep.h"

#include <stdio.h>

int pm__cmd_setup(int argc, char **argv)
{
    static const struct option opts[] = {{"output-dir", required_argument, NULL, 'o'},
                                         {NULL, 0, NULL, 0}};
    const char *out = NULL;
    int c;
    while ((c = pm__getopt("setup", argc, argv, opts)) != -1) {
        if (c != 'o')
            return PM_EXIT_USAGE;
        out = optarg;
    }
    if (optind != argc)
        return pm__usage("setup", "unexpected argument", NULL);
    out = pm__output_dir(out);
    char name[256], err[PM_ERR_LEN];
    if (!pm_sweep_begin(out, name, sizeof name, err, sizeof err)) {
        fprintf(stderr, "perfmatrix setup: %s\n", err);
        return PM_EXIT_FAILED;
    }
    printf("perfmatrix setup: sweep %s/%s\n", out, name);
    return PM_EXIT_OK;
}

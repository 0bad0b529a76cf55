/* rondo-vmm: a thin main over librondovmm. Exit codes: 0 ok, 1 runtime
 * failure, 2 bad input, 3 the guest crashed or exited non-zero, 4 the
 * backend is unavailable on this host. */
#include "pmbase/clock.h"
#include "rondovmm/vmm.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    uint64_t start_ns = pmb_now_ns();
    rvmm_options opts;
    pmb_error err = {0};
    if (rvmm_options_parse(argc, argv, &opts, &err) != PMB_OK) {
        fprintf(stderr, "rondo-vmm: %s\n", err.msg);
        return RVMM_EINPUT;
    }
    if (opts.help) {
        rvmm_usage(stdout);
        return RVMM_OK;
    }
    char *summary = NULL;
    int rc = rvmm_run(&opts, start_ns, &summary, &err);
    if (opts.json && summary != NULL)
        printf("%s\n", summary);
    free(summary);
    if (rc != RVMM_OK)
        fprintf(stderr, "rondo-vmm: %s\n", err.msg);
    return rc;
}

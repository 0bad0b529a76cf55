/* The network module's table: the HTTP API (api.c) and the remote-write
 * exporter (rondo/remote_write.h) behind the functions the monitor calls. */
#include "net.h"

#include "rondo/remote_write.h"

#include <stdio.h>

static void rvmm__rw_log(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "rondo-vmm: remote write: %s\n", line);
}

static void rvmm__rw_options(const rvmm_options *o, rondo_rw_options *rw)
{
    rondo_rw_options_init(rw);
    rw->url = o->remote_write;
    rw->labels[rw->nlabels++] = (rondo_label){"vm", o->vm_name};
    rw->bearer_token_file = o->remote_write_bearer_token_file;
    rw->basic_auth_file = o->remote_write_basic_auth_file;
    rw->log = rvmm__rw_log;
}

static int rvmm__rw_check(const rvmm_options *opts, pmb_error *err)
{
    rondo_rw_options rw;
    rondo_error rerr = {0};
    rvmm__rw_options(opts, &rw);
    if (rondo_rw_options_check(&rw, &rerr) != RONDO_OK)
        return pmb_error_set(err, RVMM_EINPUT, "--remote-write: %s", rerr.message);
    return PMB_OK;
}

static int rvmm__rw_start(const rvmm_options *opts, rondo_rw_runner **out, pmb_error *err)
{
    rondo_rw_options rw;
    rondo_error rerr = {0};
    rvmm__rw_options(opts, &rw);
    if (rondo_rw_runner_start(out, opts->metrics_store, &rw, opts->remote_write_interval, &rerr) !=
        RONDO_OK)
        return pmb_error_set(err, RVMM_ERUNTIME, "--remote-write: %s", rerr.message);
    return PMB_OK;
}

static int rvmm__rw_stop(rondo_rw_runner *rw, double timeout_sec, rondo_rw_stats *final,
                         pmb_error *err)
{
    rondo_error rerr = {0};
    if (rondo_rw_runner_stop(rw, timeout_sec, final, &rerr) != RONDO_OK)
        return pmb_error_set(err, RVMM_ERUNTIME, "%s", rerr.message);
    return PMB_OK;
}

const rvmm_net_ops rvmm_net_ops_v1 = {
    .api_start = rvmm_api_start,
    .api_stop = rvmm_api_stop,
    .rw_check = rvmm__rw_check,
    .rw_start = rvmm__rw_start,
    .rw_stats = rondo_rw_runner_stats,
    .rw_stop = rvmm__rw_stop,
};

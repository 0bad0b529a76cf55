/* The HTTP API, on 127.0.0.1 only: /metrics (the Prometheus text format),
 * /health and /api/v1/status. It reads the same counters the recorder does
 * and never touches the exit path. */
#include "internal.h"
#include "net.h"

#include "pmbase/alloc.h"
#include "pmbase/clock.h"
#include "rondo/remote_write.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void rvmm__family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

char *rvmm_metrics_text(rvmm_vm *vm)
{
    rvmm_totals t;
    rvmm_vm_totals(vm, &t);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        pmb_oom("the metrics text");
    rvmm__family(f, "vmm_info", "gauge", "The monitor's backend and vCPU count (always 1).");
    fprintf(f, "vmm_info{backend=\"%s\",vcpus=\"%d\"} 1\n", vm->ops->name, vm->nvcpus);
    rvmm__family(f, "vmm_uptime_seconds", "gauge", "Seconds since the guest booted.");
    fprintf(f, "vmm_uptime_seconds %.3f\n", (double)(pmb_now_ns() - vm->boot_ns) / 1e9);
    rvmm__family(f, "vcpu_exits_total", "counter", "VM exits, by reason.");
    for (int r = 0; r < RVMM_EXIT_REASONS; r++)
        if (r != RVMM_EXIT_STOPPED && (r == RVMM_EXIT_IO || t.exits[r] > 0))
            fprintf(f, "vcpu_exits_total{reason=\"%s\"} %llu\n",
                    rvmm_exit_reason_name((rvmm_exit_reason)r), (unsigned long long)t.exits[r]);
    rvmm__family(f, "vcpu_exits_by_port_total", "counter", "Port I/O exits, by port.");
    for (size_t i = 0; i < rvmm_abi_nports; i++)
        fprintf(f, "vcpu_exits_by_port_total{port=\"0x%02x\"} %llu\n", rvmm_abi_ports[i],
                (unsigned long long)t.port[rvmm_abi_ports[i]]);
    rvmm__family(f, "guest_phase", "gauge",
                 "The workload phase running: 0 none, 1 cpu, 2 idle, 3 io, 4 mixed.");
    fprintf(f, "guest_phase %d\n", atomic_load_explicit(&vm->phase, memory_order_relaxed));
    rvmm__family(f, "guest_work_total", "counter", "Work the guest reported, by phase.");
    for (int m = RVMM_METRIC_WORK_CPU; m <= RVMM_METRIC_WORK_MIXED; m++)
        fprintf(f, "guest_work_total{phase=\"%s\"} %llu\n", rvmm_phase_name(m),
                (unsigned long long)t.metric[m]);
    rvmm__family(f, "guest_io_bytes_total", "counter", "Bytes the block device moved.");
    fprintf(f, "guest_io_bytes_total %llu\n", (unsigned long long)t.io_bytes);
    rvmm__family(f, "vmm_rss_bytes", "gauge", "Resident memory of the monitor process.");
    fprintf(f, "vmm_rss_bytes %llu\n", (unsigned long long)rvmm_rss_bytes());
    rondo_rw_stats rw;
    if (rvmm_vm_rw_stats(vm, &rw)) {
        rvmm__family(f, "rondo_rw_samples_sent_total", "counter",
                     "Samples the remote-write receiver acknowledged.");
        fprintf(f, "rondo_rw_samples_sent_total %llu\n", (unsigned long long)rw.samples_sent);
        rvmm__family(f, "rondo_rw_attempts_failed_total", "counter",
                     "Remote-write attempts that failed (429, 5xx, network) and were retried.");
        fprintf(f, "rondo_rw_attempts_failed_total %llu\n", (unsigned long long)rw.attempts_failed);
        rvmm__family(f, "rondo_rw_samples_dropped_total", "counter",
                     "Samples the receiver refused for good (another 4xx).");
        fprintf(f, "rondo_rw_samples_dropped_total %llu\n", (unsigned long long)rw.samples_dropped);
        rvmm__family(f, "rondo_rw_last_success_timestamp_seconds", "gauge",
                     "Wall-clock time of the last acknowledged request.");
        fprintf(f, "rondo_rw_last_success_timestamp_seconds %lld\n",
                (long long)rw.last_success_unix);
    }
    fclose(f);
    return text;
}

static char *rvmm__status_json(rvmm_vm *vm)
{
    rvmm_totals t;
    rvmm_vm_totals(vm, &t);
    cJSON *s = cJSON_CreateObject();
    if (s == NULL)
        pmb_oom("the status");
    cJSON_AddStringToObject(s, "backend", vm->ops->name);
    cJSON_AddNumberToObject(s, "vcpus", vm->nvcpus);
    cJSON_AddStringToObject(
        s, "phase", rvmm_phase_name(atomic_load_explicit(&vm->phase, memory_order_relaxed)));
    cJSON_AddNumberToObject(s, "uptime_s", (double)(pmb_now_ns() - vm->boot_ns) / 1e9);
    cJSON_AddNumberToObject(s, "exits_total", (double)t.exits_total);
    char *text = cJSON_PrintUnformatted(s);
    cJSON_Delete(s);
    if (text == NULL)
        pmb_oom("the status");
    return text;
}

static enum MHD_Result rvmm__reply(struct MHD_Connection *conn, unsigned status, const char *type,
                                   char *body)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", type);
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result rvmm__handle(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_size, void **state)
{
    (void)version;
    (void)upload_data;
    (void)upload_size;
    (void)state;
    rvmm_vm *vm = cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return rvmm__reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
                           pmb_strdup("only GET\n"));
    if (strcmp(url, "/metrics") == 0)
        return rvmm__reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                           rvmm_metrics_text(vm));
    if (strcmp(url, "/health") == 0)
        return rvmm__reply(conn, MHD_HTTP_OK, "text/plain", pmb_strdup("ok\n"));
    if (strcmp(url, "/api/v1/status") == 0)
        return rvmm__reply(conn, MHD_HTTP_OK, "application/json", rvmm__status_json(vm));
    return rvmm__reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", pmb_strdup("not found\n"));
}

int rvmm_api_start(rvmm_vm *vm, int port, void **out, int *bound_port, pmb_error *err)
{
    /* Bound explicitly to the loopback address, never to every interface. */
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL, rvmm__handle, vm,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)5,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)16, MHD_OPTION_END);
    if (d == NULL)
        return pmb_error_set(err, RVMM_ERUNTIME, "--api-port %d: cannot listen on 127.0.0.1", port);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = info ? info->port : port;
    *out = d;
    return PMB_OK;
}

void rvmm_api_stop(void *api)
{
    MHD_stop_daemon(api);
}

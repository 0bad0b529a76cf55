/* The monitor's shared state: one VM, its vCPUs and the counters the exit
 * path keeps, read by the recorder and the API. */
#ifndef RVMM_INTERNAL_H
#define RVMM_INTERNAL_H

#include "backend.h"
#include "rondovmm/abi.h"
#include "rondovmm/vmm.h"

#include <pthread.h>
#include <stdatomic.h>

/* Counters of one vCPU: written only by its own thread (a relaxed load and
 * store, no lock, no read-modify-write), read by the recorder once a second. */
typedef struct rvmm_counters {
    _Atomic uint64_t exits[RVMM_EXIT_REASONS];
    _Atomic uint64_t port[256]; /* ports above 0xFF count in port[0] */
    _Atomic uint64_t metric[RVMM_METRIC_COUNT];
    _Atomic uint64_t io_bytes; /* bytes the block device really moved */
} rvmm_counters;

typedef struct rvmm_vcpu {
    struct rvmm_vm *vm;
    int index;
    pthread_t thread;
    _Atomic(void *) handle; /* the backend's vCPU, published once created */
    _Atomic bool ended;
    rvmm_counters counters;
    /* Device state of this vCPU: only its thread touches it. */
    uint32_t clock_hi;
    uint32_t metric_id;
    uint32_t blk_addr, blk_sector, blk_count, blk_status;
    char console[256];
    size_t console_len;
    int exit_code;
    bool exited; /* the guest wrote RVMM_PORT_EXIT */
} rvmm_vcpu;

typedef struct rvmm_vm {
    const rvmm_options *opts;
    const rvmm_backend_ops *ops;
    void *handle; /* the backend's VM */
    int memfd;
    uint8_t *mem;
    uint64_t mem_size;
    int disk_fd;
    uint64_t disk_sectors;
    uint64_t entry;
    uint64_t guest_touched_kb;
    uint64_t start_ns; /* the program's start */
    uint64_t boot_ns;  /* the guest clock's zero */
    double boot_wall;  /* wall-clock seconds at boot_ns */
    _Atomic uint64_t first_exit_ns;
    _Atomic int phase;
    _Atomic bool stop;    /* stop every vCPU (signal, crash, error) */
    _Atomic int running;  /* vCPU threads not ended yet */
    pthread_mutex_t lock; /* guards the outcome below */
    int status;           /* RVMM_OK, RVMM_ECRASHED, RVMM_ERUNTIME, ... */
    bool stopped;         /* by a signal */
    char outcome[512];    /* the crash or error, naming what and where */
    rvmm_vcpu vcpus[RVMM_MAX_VCPUS];
    int nvcpus;
    /* The remote-write exporter's thread (rondo/remote_write.h), once
     * started; the recorder and the API read its counts. */
    _Atomic(struct rondo_rw_runner *) rw;
    const struct rvmm_net_ops *net; /* loaded when the API or the exporter is asked for */
} rvmm_vm;

/* The exporter's counts (zero when there is no exporter). */
struct rondo_rw_stats;
bool rvmm_vm_rw_stats(rvmm_vm *vm, struct rondo_rw_stats *out);

/* Sums of every vCPU's counters. */
typedef struct rvmm_totals {
    uint64_t exits[RVMM_EXIT_REASONS];
    uint64_t exits_total;
    uint64_t port[256];
    uint64_t metric[RVMM_METRIC_COUNT];
    uint64_t io_bytes;
} rvmm_totals;

void rvmm_vm_totals(rvmm_vm *vm, rvmm_totals *t);
/* Stops every vCPU; the first outcome recorded wins. */
void rvmm_vm_fail(rvmm_vm *vm, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The ports of the ABI, for per-port series and the exposition. */
extern const uint16_t rvmm_abi_ports[];
extern const size_t rvmm_abi_nports;
const char *rvmm_phase_name(int phase);
/* The process's resident bytes, 0 when /proc cannot tell; _of reads an open
 * /proc/self/statm. */
uint64_t rvmm_rss_bytes(void);
uint64_t rvmm_rss_bytes_of(int statm_fd);

/* The recorder: a 1 Hz thread on an absolute clock writing each second's
 * increments into the rondo store (recorder.c). */
typedef struct rvmm_recorder rvmm_recorder;
int rvmm_recorder_start(rvmm_vm *vm, const char *dir, rvmm_recorder **out, pmb_error *err);
/* Writes the seconds still due and the last partial one, syncs, and stops. */
int rvmm_recorder_finish(rvmm_recorder *r, pmb_error *err);
/* Adds "points" (per series) and "expected_points" to a summary object. */
struct cJSON;
void rvmm_recorder_summary(const rvmm_recorder *r, struct cJSON *summary);
double rvmm_recorder_capture(const rvmm_recorder *r);
void rvmm_recorder_free(rvmm_recorder *r);

/* The network module (api.c, net.c: libmicrohttpd and the remote-write
 * exporter), loaded by the monitor only for --api-port or --remote-write. */
#define RVMM_NET_MODULE "librondovmm_net.so"
struct rondo_rw_runner;
typedef struct rvmm_net_ops {
    /* The HTTP API on 127.0.0.1; *bound_port gets the port it listens on. */
    int (*api_start)(rvmm_vm *vm, int port, void **api, int *bound_port, pmb_error *err);
    void (*api_stop)(void *api);
    /* The exporter: its options checked before the guest boots, then its
     * thread over the store, its counts, and its bounded final flush. */
    int (*rw_check)(const rvmm_options *opts, pmb_error *err);
    int (*rw_start)(const rvmm_options *opts, struct rondo_rw_runner **out, pmb_error *err);
    void (*rw_stats)(struct rondo_rw_runner *rw, struct rondo_rw_stats *out);
    int (*rw_stop)(struct rondo_rw_runner *rw, double timeout_sec, struct rondo_rw_stats *final,
                   pmb_error *err);
} rvmm_net_ops;

/* The Prometheus text exposition of the VM's counters; the caller frees it. */
char *rvmm_metrics_text(rvmm_vm *vm);

/* The ELF loader (elf.c): copies a static x86-64 executable into guest
 * memory at its addresses, refusing anything outside [lo, hi). */
int rvmm_elf_load(const uint8_t *image, size_t size, uint8_t *mem, uint64_t lo, uint64_t hi,
                  uint64_t *entry, pmb_error *err);

/* The built-in guest, an ELF image embedded at build time. */
extern const unsigned char rvmm_builtin_guest[];
extern const size_t rvmm_builtin_guest_size;

#endif

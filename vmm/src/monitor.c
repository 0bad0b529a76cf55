/* The monitor: guest memory, the vCPU threads, and the one exit handler both
 * backends share (console, clock, sleep, phase, metrics, block device, exit). */
#include "internal.h"

#include "pmbase/alloc.h"
#include "pmbase/clock.h"
#include "pmbase/file.h"
#include "pmbase/version.h"
#include "rondo/remote_write.h"

#include <cjson/cJSON.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The default scratch disk: 1 MiB of sectors per vCPU is what the built-in
 * guest uses; the rest is headroom for user guests. */
#define RVMM__DISK_BYTES (16u << 20)
/* Longest block transfer of one command. */
#define RVMM__BLK_MAX_SECTORS 256u
/* The exporter's final flush at a clean stop gets at most this long. */
#define RVMM__RW_FLUSH_SEC 10.0
/* A sleeping vCPU checks for a stop at least this often. */
#define RVMM__SLEEP_SLICE_NS 20000000ull

const uint16_t rvmm_abi_ports[] = {RVMM_PORT_CONSOLE,    RVMM_PORT_EXIT,       RVMM_PORT_CLOCK_LO,
                                   RVMM_PORT_CLOCK_HI,   RVMM_PORT_SLEEP,      RVMM_PORT_PHASE,
                                   RVMM_PORT_METRIC_ID,  RVMM_PORT_METRIC_ADD, RVMM_PORT_BLK_ADDR,
                                   RVMM_PORT_BLK_SECTOR, RVMM_PORT_BLK_COUNT,  RVMM_PORT_BLK_CMD,
                                   RVMM_PORT_BLK_STATUS};
const size_t rvmm_abi_nports = sizeof rvmm_abi_ports / sizeof rvmm_abi_ports[0];

static _Atomic(rvmm_vm *) rvmm__current;

const char *rvmm_exit_reason_name(rvmm_exit_reason reason)
{
    static const char *const names[] = {"io",     "hlt", "mmio", "shutdown", "internal_error",
                                        "stopped"};
    return (unsigned)reason < RVMM_EXIT_REASONS ? names[reason] : "unknown";
}

const char *rvmm_phase_name(int phase)
{
    static const char *const names[] = {"none", "cpu", "idle", "io", "mixed"};
    return phase >= 0 && phase < RVMM_PHASE_COUNT ? names[phase] : "unknown";
}

uint64_t rvmm_rss_bytes_of(int statm_fd)
{
    /* /proc regenerates the text on a read at offset 0, so one open file
     * serves every read: one system call a second instead of eight. */
    char text[128];
    ssize_t n = pread(statm_fd, text, sizeof text - 1, 0);
    unsigned long long size = 0, resident = 0;
    if (n > 0) {
        text[n] = '\0';
        sscanf(text, "%llu %llu", &size, &resident);
    }
    return resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

uint64_t rvmm_rss_bytes(void)
{
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    uint64_t rss = rvmm_rss_bytes_of(fd);
    close(fd);
    return rss;
}

void rvmm_vm_fail(rvmm_vm *vm, int status, const char *fmt, ...)
{
    pthread_mutex_lock(&vm->lock);
    if (vm->status == RVMM_OK && !vm->stopped) {
        vm->status = status;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(vm->outcome, sizeof vm->outcome, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&vm->lock);
    atomic_store(&vm->stop, true);
    for (int i = 0; i < vm->nvcpus; i++)
        if (vm->vcpus[i].handle != NULL)
            vm->ops->vcpu_kick(vm->vcpus[i].handle);
}

void rvmm_request_stop(void)
{
    rvmm_vm *vm = atomic_load(&rvmm__current);
    if (vm == NULL)
        return;
    pthread_mutex_lock(&vm->lock);
    if (vm->status == RVMM_OK)
        vm->stopped = true;
    pthread_mutex_unlock(&vm->lock);
    atomic_store(&vm->stop, true);
    for (int i = 0; i < vm->nvcpus; i++)
        if (vm->vcpus[i].handle != NULL)
            vm->ops->vcpu_kick(vm->vcpus[i].handle);
}

bool rvmm_vm_rw_stats(rvmm_vm *vm, rondo_rw_stats *out)
{
    memset(out, 0, sizeof *out);
    rondo_rw_runner *rw = atomic_load(&vm->rw);
    if (rw == NULL)
        return false;
    vm->net->rw_stats(rw, out);
    return true;
}

/* The API and the exporter bring libmicrohttpd and libcurl, and with them
 * some forty shared libraries: milliseconds of loading and megabytes of
 * mappings that a VM without --api-port or --remote-write never needs. They
 * live in a module beside the program, loaded only when asked for. */
static int rvmm__net_load(const rvmm_net_ops **out, pmb_error *err)
{
    char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
    if (n <= 0)
        return pmb_error_errno(err, RVMM_ERUNTIME, errno, "/proc/self/exe");
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    snprintf(slash ? slash + 1 : path, 32, "%s", RVMM_NET_MODULE);
    void *module = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (module == NULL)
        return pmb_error_set(err, RVMM_ERUNTIME, "cannot load %s", dlerror());
    const rvmm_net_ops *ops = dlsym(module, "rvmm_net_ops_v1");
    if (ops == NULL)
        return pmb_error_set(err, RVMM_ERUNTIME, "%s: no rvmm_net_ops_v1", path);
    *out = ops;
    return PMB_OK;
}

void rvmm_vm_totals(rvmm_vm *vm, rvmm_totals *t)
{
    memset(t, 0, sizeof *t);
    for (int i = 0; i < vm->nvcpus; i++) {
        rvmm_counters *c = &vm->vcpus[i].counters;
        for (int r = 0; r < RVMM_EXIT_REASONS; r++)
            t->exits[r] += atomic_load_explicit(&c->exits[r], memory_order_relaxed);
        for (int p = 0; p < 256; p++)
            t->port[p] += atomic_load_explicit(&c->port[p], memory_order_relaxed);
        for (int m = 0; m < RVMM_METRIC_COUNT; m++)
            t->metric[m] += atomic_load_explicit(&c->metric[m], memory_order_relaxed);
        t->io_bytes += atomic_load_explicit(&c->io_bytes, memory_order_relaxed);
    }
    for (int r = 0; r < RVMM_EXIT_REASONS; r++)
        if (r != RVMM_EXIT_STOPPED)
            t->exits_total += t->exits[r];
}

/* Single-writer counters: the owning thread is the only one that stores. */
static void rvmm__add(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static void rvmm__console(rvmm_vcpu *v, char ch)
{
    if (ch != '\n' && v->console_len < sizeof v->console - 1) {
        v->console[v->console_len++] = ch;
        return;
    }
    v->console[v->console_len] = '\0';
    fprintf(stderr, "guest[%d]: %s\n", v->index, v->console);
    v->console_len = 0;
    if (ch != '\n')
        v->console[v->console_len++] = ch;
}

static void rvmm__sleep(rvmm_vm *vm, uint64_t us)
{
    uint64_t until = pmb_now_ns() + us * 1000;
    for (;;) {
        uint64_t now = pmb_now_ns();
        if (now >= until || atomic_load_explicit(&vm->stop, memory_order_relaxed))
            return;
        uint64_t slice = until - now < RVMM__SLEEP_SLICE_NS ? until - now : RVMM__SLEEP_SLICE_NS;
        struct timespec ts = {.tv_sec = (time_t)(slice / 1000000000ull),
                              .tv_nsec = (long)(slice % 1000000000ull)};
        nanosleep(&ts, NULL);
    }
}

static uint32_t rvmm__block(rvmm_vm *vm, rvmm_vcpu *v, uint32_t cmd)
{
    uint64_t bytes = (uint64_t)v->blk_count * RVMM_SECTOR_SIZE;
    if (v->blk_count == 0 || v->blk_count > RVMM__BLK_MAX_SECTORS ||
        (uint64_t)v->blk_sector + v->blk_count > vm->disk_sectors)
        return EINVAL;
    if (v->blk_addr < RVMM_GUEST_BASE || v->blk_addr + bytes > RVMM_GUEST_BASE + vm->mem_size)
        return EFAULT;
    uint8_t *buf = vm->mem + (v->blk_addr - RVMM_GUEST_BASE);
    off_t off = (off_t)v->blk_sector * RVMM_SECTOR_SIZE;
    ssize_t n = cmd == RVMM_BLK_READ    ? pread(vm->disk_fd, buf, bytes, off)
                : cmd == RVMM_BLK_WRITE ? pwrite(vm->disk_fd, buf, bytes, off)
                                        : -2;
    if (n == -2)
        return EINVAL;
    if (n < 0)
        return (uint32_t)errno;
    rvmm__add(&v->counters.io_bytes, (uint64_t)n);
    return (uint64_t)n == bytes ? 0 : EIO;
}

/* The one exit handler. Returns false when this vCPU is done. */
static bool rvmm__handle_io(rvmm_vm *vm, rvmm_vcpu *v, rvmm_exit *e)
{
    rvmm__add(&v->counters.port[e->port < 256 ? e->port : 0], 1);
    if (!e->is_out) {
        uint64_t now;
        switch (e->port) {
        case RVMM_PORT_CLOCK_LO:
            now = pmb_now_ns() - vm->boot_ns;
            v->clock_hi = (uint32_t)(now >> 32);
            e->data = (uint32_t)now;
            break;
        case RVMM_PORT_CLOCK_HI:
            e->data = v->clock_hi;
            break;
        case RVMM_PORT_BLK_STATUS:
            e->data = v->blk_status;
            break;
        default:
            /* Nothing answers: all ones, as on a bus. */
            e->data = 0xFFFFFFFFu;
        }
        return true;
    }
    switch (e->port) {
    case RVMM_PORT_CONSOLE:
        rvmm__console(v, (char)e->data);
        break;
    case RVMM_PORT_EXIT:
        v->exit_code = (int)e->data;
        v->exited = true;
        return false;
    case RVMM_PORT_SLEEP:
        rvmm__sleep(vm, e->data);
        break;
    case RVMM_PORT_PHASE:
        if (e->data < RVMM_PHASE_COUNT)
            atomic_store_explicit(&vm->phase, (int)e->data, memory_order_relaxed);
        break;
    case RVMM_PORT_METRIC_ID:
        v->metric_id = e->data;
        break;
    case RVMM_PORT_METRIC_ADD:
        if (v->metric_id > 0 && v->metric_id < RVMM_METRIC_COUNT)
            rvmm__add(&v->counters.metric[v->metric_id], e->data);
        break;
    case RVMM_PORT_BLK_ADDR:
        v->blk_addr = e->data;
        break;
    case RVMM_PORT_BLK_SECTOR:
        v->blk_sector = e->data;
        break;
    case RVMM_PORT_BLK_COUNT:
        v->blk_count = e->data;
        break;
    case RVMM_PORT_BLK_CMD:
        v->blk_status = rvmm__block(vm, v, e->data);
        break;
    default:
        break;
    }
    return true;
}

static void *rvmm__vcpu_main(void *arg)
{
    rvmm_vcpu *v = arg;
    rvmm_vm *vm = v->vm;
    pmb_error err = {0};
    rvmm_entry entry = {
        .rip = vm->entry,
        .rsp = RVMM_GUEST_BASE + vm->mem_size - (uint64_t)v->index * RVMM_STACK_SIZE,
        .rdi = RVMM_BOOT_PAGE,
        .rsi = (uint64_t)v->index,
        .rdx = (uint64_t)vm->nvcpus,
    };
    void *handle = NULL;
    int rc = vm->ops->vcpu_create(vm->handle, v->index, &entry, &handle, &err);
    if (rc != PMB_OK) {
        rvmm_vm_fail(vm, rc, "%s", err.msg);
        goto done;
    }
    /* Published before the stop check, so a stop either sees it or is seen. */
    atomic_store(&v->handle, handle);
    if (atomic_load(&vm->stop))
        vm->ops->vcpu_kick(handle);
    rvmm_exit e = {0};
    for (;;) {
        rc = vm->ops->vcpu_run(handle, &e, &err);
        if (rc != PMB_OK) {
            rvmm_vm_fail(vm, RVMM_ERUNTIME, "vCPU %d: %s", v->index, err.msg);
            break;
        }
        if (e.reason == RVMM_EXIT_STOPPED)
            break;
        uint64_t zero = 0;
        atomic_compare_exchange_strong(&vm->first_exit_ns, &zero, pmb_now_ns());
        rvmm__add(&v->counters.exits[e.reason], 1);
        if (e.reason != RVMM_EXIT_IO) {
            rvmm_vm_fail(vm, RVMM_ECRASHED, "guest crashed on vCPU %d: %s", v->index,
                         e.crash[0] ? e.crash : rvmm_exit_reason_name(e.reason));
            break;
        }
        if (!rvmm__handle_io(vm, v, &e))
            break;
    }
done:
    if (v->console_len > 0)
        rvmm__console(v, '\n');
    atomic_store(&v->ended, true);
    atomic_fetch_sub(&vm->running, 1);
    return NULL;
}

/* Guest memory: a memfd both backends map (the ptrace child at the guest
 * address, KVM as a user memory region). */
static int rvmm__memory(rvmm_vm *vm, pmb_error *err)
{
    vm->memfd = memfd_create("rondo-vmm-guest", MFD_CLOEXEC);
    if (vm->memfd < 0)
        return pmb_error_errno(err, RVMM_ERUNTIME, errno, "memfd_create");
    if (ftruncate(vm->memfd, (off_t)vm->mem_size) != 0)
        return pmb_error_errno(err, RVMM_ERUNTIME, errno, "guest memory of %llu MiB",
                               (unsigned long long)(vm->mem_size >> 20));
    void *p = mmap(NULL, vm->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->memfd, 0);
    if (p == MAP_FAILED)
        return pmb_error_errno(err, RVMM_ERUNTIME, errno, "mapping guest memory");
    vm->mem = p;
    return PMB_OK;
}

static int rvmm__load(rvmm_vm *vm, pmb_error *err)
{
    uint64_t lo = RVMM_IMAGE_BASE;
    uint64_t hi = RVMM_GUEST_BASE + vm->mem_size - (uint64_t)vm->nvcpus * RVMM_STACK_SIZE;
    if (hi <= lo)
        return pmb_error_set(err, RVMM_EINPUT, "--mem-mib: too small for %d vCPU stacks",
                             vm->nvcpus);
    if (vm->opts->guest_path == NULL)
        return rvmm_elf_load(rvmm_builtin_guest, rvmm_builtin_guest_size, vm->mem, lo, hi,
                             &vm->entry, err);
    char *image = NULL;
    size_t size = 0;
    pmb_error why = {0};
    int rc = pmb_file_read(vm->opts->guest_path, vm->mem_size, &image, &size, &why);
    if (rc != PMB_OK)
        return pmb_error_set(err, RVMM_EINPUT, "--guest: %s", why.msg);
    rc = rvmm_elf_load((const uint8_t *)image, size, vm->mem, lo, hi, &vm->entry, &why);
    free(image);
    if (rc != PMB_OK)
        return pmb_error_set(err, RVMM_EINPUT, "--guest %s: %s", vm->opts->guest_path, why.msg);
    return PMB_OK;
}

static int rvmm__disk(rvmm_vm *vm, pmb_error *err)
{
    const char *path = vm->opts->disk_path;
    if (path != NULL) {
        vm->disk_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (vm->disk_fd < 0)
            return pmb_error_errno(err, RVMM_EINPUT, errno, "--disk %s", path);
        struct stat st;
        if (fstat(vm->disk_fd, &st) != 0 || !S_ISREG(st.st_mode))
            return pmb_error_set(err, RVMM_EINPUT, "--disk %s: not a regular file", path);
        if (st.st_size < RVMM__DISK_BYTES && ftruncate(vm->disk_fd, RVMM__DISK_BYTES) != 0)
            return pmb_error_errno(err, RVMM_ERUNTIME, errno, "--disk %s: resizing", path);
        vm->disk_sectors =
            (uint64_t)(st.st_size > RVMM__DISK_BYTES ? st.st_size : RVMM__DISK_BYTES) /
            RVMM_SECTOR_SIZE;
        return PMB_OK;
    }
    const char *tmp = getenv("TMPDIR");
    vm->disk_fd = open(tmp && *tmp ? tmp : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (vm->disk_fd < 0)
        return pmb_error_errno(err, RVMM_ERUNTIME, errno, "scratch disk in %s",
                               tmp && *tmp ? tmp : "/tmp");
    if (ftruncate(vm->disk_fd, RVMM__DISK_BYTES) != 0)
        return pmb_error_errno(err, RVMM_ERUNTIME, errno, "scratch disk");
    vm->disk_sectors = RVMM__DISK_BYTES / RVMM_SECTOR_SIZE;
    return PMB_OK;
}

static int rvmm__backend(rvmm_vm *vm, pmb_error *err)
{
    rvmm_vm_spec spec = {
        .memfd = vm->memfd, .host_mem = vm->mem, .mem_size = vm->mem_size, .vcpus = vm->nvcpus};
    rvmm_backend_kind kind = vm->opts->backend;
    if (kind == RVMM_BACKEND_KVM || kind == RVMM_BACKEND_AUTO) {
        vm->ops = &rvmm_kvm_ops;
        int rc = vm->ops->vm_create(&spec, &vm->handle, err);
        if (rc == PMB_OK || kind == RVMM_BACKEND_KVM) {
            if (rc == PMB_OK && kind == RVMM_BACKEND_AUTO)
                fprintf(stderr, "rondo-vmm: backend auto: using kvm\n");
            return rc;
        }
        fprintf(stderr, "rondo-vmm: backend auto: %s; using ptrace\n", err->msg);
    }
    vm->ops = &rvmm_ptrace_ops;
    return vm->ops->vm_create(&spec, &vm->handle, err);
}

/* Guest memory the guest touched: the resident part of the memfd. */
static uint64_t rvmm__touched_kb(rvmm_vm *vm)
{
    size_t pages = (vm->mem_size + 4095) / 4096;
    unsigned char *vec = malloc(pages);
    uint64_t n = 0;
    if (vec != NULL && mincore(vm->mem, vm->mem_size, vec) == 0)
        for (size_t i = 0; i < pages; i++)
            n += vec[i] & 1;
    free(vec);
    return n * 4;
}

static void rvmm__summary_counters(rvmm_vm *vm, cJSON *s)
{
    rvmm_totals t;
    rvmm_vm_totals(vm, &t);
    cJSON_AddNumberToObject(s, "exits_total", (double)t.exits_total);
    cJSON *exits = cJSON_AddObjectToObject(s, "exits");
    for (int r = 0; r < RVMM_EXIT_REASONS; r++)
        if (r != RVMM_EXIT_STOPPED && (t.exits[r] > 0 || r == RVMM_EXIT_IO))
            cJSON_AddNumberToObject(exits, rvmm_exit_reason_name((rvmm_exit_reason)r),
                                    (double)t.exits[r]);
    cJSON *ports = cJSON_AddObjectToObject(s, "exits_by_port");
    for (int p = 0; p < 256; p++) {
        if (t.port[p] == 0)
            continue;
        char name[16];
        snprintf(name, sizeof name, p == 0 ? "other" : "0x%02x", p);
        cJSON_AddNumberToObject(ports, name, (double)t.port[p]);
    }
    cJSON *work = cJSON_AddObjectToObject(s, "guest_work");
    for (int m = RVMM_METRIC_WORK_CPU; m <= RVMM_METRIC_WORK_MIXED; m++)
        cJSON_AddNumberToObject(work, rvmm_phase_name(m), (double)t.metric[m]);
    cJSON_AddNumberToObject(s, "guest_io_bytes", (double)t.io_bytes);
    cJSON_AddNumberToObject(s, "guest_reported_io_bytes", (double)t.metric[RVMM_METRIC_IO_BYTES]);
}

static double rvmm__seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* One "Name: N kB" field of /proc/self/status. */
static long rvmm__status_kb(const char *field)
{
    char *text = NULL;
    size_t len;
    long kb = 0;
    if (pmb_file_read("/proc/self/status", 1 << 16, &text, &len, NULL) == PMB_OK) {
        const char *line = strstr(text, field);
        if (line != NULL)
            kb = strtol(line + strlen(field), NULL, 10);
    }
    free(text);
    return kb;
}

static void rvmm__summary_rw(const rondo_rw_stats *st, cJSON *s)
{
    cJSON *rw = cJSON_AddObjectToObject(s, "remote_write");
    cJSON_AddNumberToObject(rw, "samples_sent", (double)st->samples_sent);
    cJSON_AddNumberToObject(rw, "requests_sent", (double)st->requests_sent);
    cJSON_AddNumberToObject(rw, "attempts_failed", (double)st->attempts_failed);
    cJSON_AddNumberToObject(rw, "samples_dropped", (double)st->samples_dropped);
    cJSON_AddBoolToObject(rw, "gave_up", st->gave_up);
}

static char *rvmm__summary(rvmm_vm *vm, rvmm_recorder *rec, const rondo_rw_stats *rw, double wall_s)
{
    cJSON *s = cJSON_CreateObject();
    if (s == NULL)
        pmb_oom("the summary");
    cJSON_AddStringToObject(s, "backend", vm->ops ? vm->ops->name : "none");
    cJSON_AddNumberToObject(s, "vcpus", vm->nvcpus);
    const char *d = strstr(vm->opts->cmdline, "workload_duration=");
    cJSON_AddNumberToObject(s, "workload_duration_s", d ? atof(d + 18) : 0);
    const char *status = vm->status == RVMM_ECRASHED ? "crashed"
                         : vm->status != RVMM_OK     ? "failed"
                         : vm->stopped               ? "stopped"
                                                     : "ok";
    cJSON_AddStringToObject(s, "status", status);
    if (vm->status == RVMM_ECRASHED)
        cJSON_AddStringToObject(s, "crash", vm->outcome);
    else if (vm->status != RVMM_OK)
        cJSON_AddStringToObject(s, "error", vm->outcome);
    uint64_t first = atomic_load(&vm->first_exit_ns);
    if (first != 0)
        cJSON_AddNumberToObject(s, "start_to_entry_us", (double)(first - vm->start_ns) / 1e3);
    else
        cJSON_AddNullToObject(s, "start_to_entry_us");
    cJSON_AddNumberToObject(s, "wall_s", wall_s);
    bool all_exited = vm->nvcpus > 0;
    int code = 0;
    for (int i = 0; i < vm->nvcpus; i++) {
        all_exited = all_exited && vm->vcpus[i].exited;
        if (vm->vcpus[i].exit_code != 0 && code == 0)
            code = vm->vcpus[i].exit_code;
    }
    if (all_exited)
        cJSON_AddNumberToObject(s, "guest_exit_code", code);
    else
        cJSON_AddNullToObject(s, "guest_exit_code");
    rvmm__summary_counters(vm, s);
    if (rec != NULL) {
        rvmm_recorder_summary(rec, s);
    } else {
        cJSON_AddObjectToObject(s, "points");
        cJSON_AddNumberToObject(s, "expected_points", ceil(wall_s));
        cJSON_AddNullToObject(s, "capture_rate");
    }
    struct rusage self, kids;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    cJSON_AddNumberToObject(s, "peak_rss_kb", (double)rvmm__status_kb("VmHWM:"));
    /* What the peak is made of, at exit: the monitor's own memory, and the
     * pages of its shared libraries and files mapped (the store's). */
    cJSON_AddNumberToObject(s, "rss_anon_kb", (double)rvmm__status_kb("RssAnon:"));
    cJSON_AddNumberToObject(s, "rss_file_kb", (double)rvmm__status_kb("RssFile:"));
    if (vm->ops == &rvmm_ptrace_ops)
        cJSON_AddNumberToObject(s, "guest_peak_rss_kb", (double)kids.ru_maxrss);
    else
        cJSON_AddNullToObject(s, "guest_peak_rss_kb");
    cJSON_AddNumberToObject(s, "guest_touched_kb", (double)vm->guest_touched_kb);
    cJSON_AddNumberToObject(s, "cpu_user_s",
                            rvmm__seconds(self.ru_utime) + rvmm__seconds(kids.ru_utime));
    cJSON_AddNumberToObject(s, "cpu_sys_s",
                            rvmm__seconds(self.ru_stime) + rvmm__seconds(kids.ru_stime));
    if (vm->opts->metrics_store)
        cJSON_AddStringToObject(s, "metrics_store", vm->opts->metrics_store);
    else
        cJSON_AddNullToObject(s, "metrics_store");
    if (rw != NULL)
        rvmm__summary_rw(rw, s);
    cJSON_AddStringToObject(s, "git_sha", pmb_git_sha());
    char *text = cJSON_PrintUnformatted(s);
    cJSON_Delete(s);
    if (text == NULL)
        pmb_oom("the summary");
    return text;
}

/* Waits for every vCPU thread, turning SIGTERM and SIGINT into a clean stop. */
static void rvmm__wait(rvmm_vm *vm, const sigset_t *stops)
{
    struct timespec tick = {.tv_sec = 0, .tv_nsec = 50000000};
    while (atomic_load(&vm->running) > 0) {
        int sig = sigtimedwait(stops, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT)
            rvmm_request_stop();
    }
}

int rvmm_run(const rvmm_options *opts, uint64_t start_ns, char **summary_json, pmb_error *err)
{
    *summary_json = NULL;
    rvmm_vm *vm = calloc(1, sizeof *vm);
    if (vm == NULL)
        pmb_oom("the VM");
    vm->opts = opts;
    vm->start_ns = start_ns;
    vm->mem_size = opts->mem_mib << 20;
    vm->nvcpus = opts->vcpus;
    vm->memfd = vm->disk_fd = -1;
    pthread_mutex_init(&vm->lock, NULL);
    rvmm_recorder *rec = NULL;
    void *api = NULL;
    int started = 0;
    /* Signals that stop the VM are taken synchronously by the waiting
     * thread; every thread started from here inherits the mask. */
    sigset_t stops, old;
    sigemptyset(&stops);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stops, &old);

    rondo_rw_stats rw_final = {0};
    int rc = PMB_OK;
    if (opts->api_port >= 0 || opts->remote_write != NULL)
        rc = rvmm__net_load(&vm->net, err);
    if (rc == PMB_OK && opts->remote_write != NULL)
        rc = vm->net->rw_check(opts, err);
    if (rc == PMB_OK)
        rc = rvmm__memory(vm, err);
    if (rc == PMB_OK)
        rc = rvmm__load(vm, err);
    if (rc == PMB_OK)
        rc = rvmm__disk(vm, err);
    if (rc == PMB_OK)
        rc = rvmm__backend(vm, err);
    if (rc != PMB_OK)
        goto out;
    struct rvmm_boot_page *boot = (struct rvmm_boot_page *)(vm->mem + 0x1000);
    boot->magic = RVMM_BOOT_MAGIC;
    boot->mem_size = vm->mem_size;
    boot->vcpus = (uint32_t)vm->nvcpus;
    boot->disk_sectors = (uint32_t)vm->disk_sectors;
    snprintf(boot->cmdline, sizeof boot->cmdline, "%s", opts->cmdline);

    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    vm->boot_ns = pmb_now_ns();
    vm->boot_wall = (double)wall.tv_sec + (double)wall.tv_nsec / 1e9;
    atomic_store(&rvmm__current, vm);
    atomic_store(&vm->running, vm->nvcpus);
    for (int i = 0; i < vm->nvcpus; i++) {
        rvmm_vcpu *v = &vm->vcpus[i];
        v->vm = vm;
        v->index = i;
        if (pthread_create(&v->thread, NULL, rvmm__vcpu_main, v) != 0) {
            atomic_fetch_sub(&vm->running, vm->nvcpus - i);
            rvmm_vm_fail(vm, RVMM_ERUNTIME, "cannot start the thread of vCPU %d", i);
            break;
        }
        started++;
    }
    /* The store and the API start while the guest boots: neither is on the
     * path to the guest's first instruction. */
    if (opts->metrics_store != NULL &&
        rvmm_recorder_start(vm, opts->metrics_store, &rec, err) != PMB_OK)
        rvmm_vm_fail(vm, RVMM_ERUNTIME, "%s", err->msg);
    if (rec != NULL && opts->remote_write != NULL) {
        rondo_rw_runner *rw = NULL;
        if (vm->net->rw_start(opts, &rw, err) != PMB_OK)
            rvmm_vm_fail(vm, RVMM_ERUNTIME, "%s", err->msg);
        atomic_store(&vm->rw, rw);
    }
    if (opts->api_port >= 0) {
        int port = 0;
        if (vm->net->api_start(vm, opts->api_port, &api, &port, err) != PMB_OK)
            rvmm_vm_fail(vm, RVMM_ERUNTIME, "%s", err->msg);
        else
            fprintf(stderr, "api: 127.0.0.1:%d\n", port);
    }
    rvmm__wait(vm, &stops);
    for (int i = 0; i < started; i++)
        pthread_join(vm->vcpus[i].thread, NULL);
    double wall_s = (double)(pmb_now_ns() - vm->boot_ns) / 1e9;
    if (rec != NULL && rvmm_recorder_finish(rec, err) != PMB_OK)
        rvmm_vm_fail(vm, RVMM_ERUNTIME, "%s", err->msg);
    /* The final flush comes after the last second is recorded, bounded. */
    rondo_rw_runner *rw = atomic_exchange(&vm->rw, NULL);
    if (rw != NULL) {
        pmb_error ferr = {0};
        if (vm->net->rw_stop(rw, RVMM__RW_FLUSH_SEC, &rw_final, &ferr) != PMB_OK)
            fprintf(stderr, "rondo-vmm: remote write: final flush: %s\n", ferr.msg);
    }
    vm->guest_touched_kb = rvmm__touched_kb(vm);
    for (int i = 0; i < vm->nvcpus; i++) {
        rvmm_vcpu *v = &vm->vcpus[i];
        if (v->handle != NULL)
            vm->ops->vcpu_destroy(v->handle);
        if (v->exited && v->exit_code != 0)
            rvmm_vm_fail(vm, RVMM_ECRASHED, "the guest exited with code %d on vCPU %d",
                         v->exit_code, i);
    }
    if (api != NULL)
        vm->net->api_stop(api);
    atomic_store(&rvmm__current, NULL);
    rc = vm->status;
    if (rc != PMB_OK)
        pmb_error_set(err, rc, "%s", vm->outcome);
    *summary_json = rvmm__summary(vm, rec, opts->remote_write ? &rw_final : NULL, wall_s);
out:
    rvmm_recorder_free(rec);
    if (vm->handle != NULL)
        vm->ops->vm_destroy(vm->handle);
    if (vm->mem != NULL)
        munmap(vm->mem, vm->mem_size);
    if (vm->memfd >= 0)
        close(vm->memfd);
    if (vm->disk_fd >= 0)
        close(vm->disk_fd);
    pthread_mutex_destroy(&vm->lock);
    free(vm);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

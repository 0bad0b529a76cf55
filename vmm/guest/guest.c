/* The built-in guest: freestanding C, no libc, talking to the monitor only
 * through port I/O (rondovmm/abi.h). It runs the seed's workload, four
 * time-bounded phases in the proportions 5:3:5:5 of workload_duration
 * seconds (CPU burst, idle, I/O, mixed), on every vCPU, and reports the work
 * each phase did. `crash=ud2|unmapped|syscall` on the command line makes it
 * crash on purpose instead, for the monitor's tests, and `exit_bench=N`
 * times N port-I/O exits and prints the cost of one on the console. */
#include "rondovmm/abi.h"

#include <stddef.h>

/* Work is reported at least this often, so each second's counters move. */
#define REPORT_NS         100000000ull
#define CPU_CHUNK         1000000u
#define IO_SECTORS        8u
#define IO_REGION_SECTORS 2048u

__asm__(".section .text.start,\"ax\"\n"
        ".globl _start\n"
        "_start:\n"
        "    andq $-16, %rsp\n"
        "    call guest_main\n"
        "    ud2\n");

static inline void out32(uint16_t port, uint32_t value)
{
    __asm__ volatile("outl %0, %w1" : : "a"(value), "Nd"(port));
}

static inline void out8(uint16_t port, uint8_t value)
{
    __asm__ volatile("outb %0, %w1" : : "a"(value), "Nd"(port));
}

static inline uint32_t in32(uint16_t port)
{
    uint32_t value;
    __asm__ volatile("inl %w1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

static uint64_t now_ns(void)
{
    uint32_t lo = in32(RVMM_PORT_CLOCK_LO);
    return ((uint64_t)in32(RVMM_PORT_CLOCK_HI) << 32) | lo;
}

static void puts_console(const char *s)
{
    while (*s)
        out8(RVMM_PORT_CONSOLE, (uint8_t)*s++);
}

static void put_uint(uint64_t v)
{
    char buf[24];
    int i = 0;
    do
        buf[i++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (i > 0)
        out8(RVMM_PORT_CONSOLE, (uint8_t)buf[--i]);
}

static void report(uint32_t metric, uint64_t n)
{
    while (n > 0) {
        uint32_t part = n > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)n;
        out32(RVMM_PORT_METRIC_ID, metric);
        out32(RVMM_PORT_METRIC_ADD, part);
        n -= part;
    }
}

static void sleep_us(uint32_t us)
{
    out32(RVMM_PORT_SLEEP, us);
}

static const char *find(const char *hay, const char *needle)
{
    for (; *hay; hay++) {
        size_t i = 0;
        while (needle[i] && hay[i] == needle[i])
            i++;
        if (!needle[i])
            return hay + i;
    }
    return NULL;
}

static uint64_t parse_uint(const char *s)
{
    uint64_t v = 0;
    while (s && *s >= '0' && *s <= '9')
        v = v * 10 + (uint64_t)(*s++ - '0');
    return v;
}

static volatile uint64_t sink;

static uint64_t cpu_chunk(uint64_t x, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

/* One block transfer of IO_SECTORS sectors; the status says if it failed. */
static int transfer(uint8_t *buf, uint32_t sector, uint32_t cmd)
{
    out32(RVMM_PORT_BLK_ADDR, (uint32_t)(uintptr_t)buf);
    out32(RVMM_PORT_BLK_SECTOR, sector);
    out32(RVMM_PORT_BLK_COUNT, IO_SECTORS);
    out32(RVMM_PORT_BLK_CMD, cmd);
    return in32(RVMM_PORT_BLK_STATUS) == 0 ? 0 : -1;
}

static uint8_t io_buffers[8][IO_SECTORS * RVMM_SECTOR_SIZE] __attribute__((aligned(4096)));

typedef struct {
    uint32_t vcpu;
    uint32_t region; /* first sector of this vCPU's part of the disk */
    uint32_t next;   /* next sector offset within the region */
    uint64_t x;
    uint64_t io_bytes;
    int io_errors;
} state;

static void io_op(state *st)
{
    uint8_t *buf = io_buffers[st->vcpu & 7];
    uint32_t sector = st->region + st->next;
    st->next = (st->next + IO_SECTORS) % IO_REGION_SECTORS;
    for (uint32_t i = 0; i < sizeof io_buffers[0]; i++)
        buf[i] = (uint8_t)(sector + i);
    int rc = transfer(buf, sector, RVMM_BLK_WRITE);
    if (rc == 0)
        rc = transfer(buf, sector, RVMM_BLK_READ);
    for (uint32_t i = 0; rc == 0 && i < sizeof io_buffers[0]; i++)
        if (buf[i] != (uint8_t)(sector + i))
            rc = -1;
    if (rc != 0)
        st->io_errors++;
    else
        st->io_bytes += 2ull * sizeof io_buffers[0];
}

/* Runs one phase until end_ns, reporting its work as it goes. */
static void run_phase(state *st, int phase, uint64_t end_ns)
{
    if (st->vcpu == 0)
        out32(RVMM_PORT_PHASE, (uint32_t)phase);
    uint64_t work = 0, reported = 0, io_reported = st->io_bytes;
    uint64_t next_report = now_ns() + REPORT_NS;
    for (;;) {
        switch (phase) {
        case RVMM_PHASE_CPU:
            st->x = cpu_chunk(st->x, CPU_CHUNK);
            work += CPU_CHUNK;
            break;
        case RVMM_PHASE_IDLE:
            sleep_us(10000);
            work++;
            break;
        case RVMM_PHASE_IO:
            /* A device takes time: without a pause the phase would measure
             * only the cost of exits. */
            io_op(st);
            sleep_us(2000);
            work++;
            break;
        default:
            st->x = cpu_chunk(st->x, CPU_CHUNK / 4);
            io_op(st);
            sleep_us(1000);
            work++;
        }
        uint64_t now = now_ns();
        if (now >= next_report || now >= end_ns) {
            report((uint32_t)phase, work - reported);
            report(RVMM_METRIC_IO_BYTES, st->io_bytes - io_reported);
            reported = work;
            io_reported = st->io_bytes;
            next_report = now + REPORT_NS;
        }
        if (now >= end_ns)
            break;
    }
    sink = st->x;
}

static int starts(const char *s, const char *prefix)
{
    while (*prefix && *s == *prefix) {
        s++;
        prefix++;
    }
    return *prefix == '\0';
}

/* Below the guest window: mapped neither by KVM's page tables nor in the
 * ptrace backend's child. */
#define UNMAPPED_ADDRESS 0x8000000u

static void crash(const char *how)
{
    if (starts(how, "ud2"))
        __asm__ volatile("ud2");
    if (starts(how, "unmapped"))
        *(volatile uint32_t *)(uintptr_t)UNMAPPED_ADDRESS = 1;
    if (starts(how, "syscall"))
        __asm__ volatile("syscall" : : : "rcx", "r11", "memory");
}

/* N exits to a port the monitor handles without work (a metric id) in
 * batches of 1000, each timed by the guest's own clock: the median, fastest
 * and slowest batch give the cost of one exit and its spread. */
#define BENCH_BATCH       1000u
#define BENCH_MAX_BATCHES 1000u

static void exit_bench(uint64_t n)
{
    static uint64_t per_exit[BENCH_MAX_BATCHES];
    uint64_t batches = n / BENCH_BATCH;
    if (batches == 0)
        batches = 1;
    if (batches > BENCH_MAX_BATCHES)
        batches = BENCH_MAX_BATCHES;
    for (uint64_t b = 0; b < batches; b++) {
        uint64_t t0 = now_ns();
        for (uint32_t i = 0; i < BENCH_BATCH; i++)
            out32(RVMM_PORT_METRIC_ID, 0);
        per_exit[b] = (now_ns() - t0) / BENCH_BATCH;
    }
    for (uint64_t i = 1; i < batches; i++)
        for (uint64_t j = i; j > 0 && per_exit[j - 1] > per_exit[j]; j--) {
            uint64_t t = per_exit[j];
            per_exit[j] = per_exit[j - 1];
            per_exit[j - 1] = t;
        }
    puts_console("exit_bench: ");
    put_uint(batches * BENCH_BATCH);
    puts_console(" exits, ns per exit: median ");
    put_uint(per_exit[batches / 2]);
    puts_console(", min ");
    put_uint(per_exit[0]);
    puts_console(", max ");
    put_uint(per_exit[batches - 1]);
    puts_console(" (batches of 1000)\n");
}

uint32_t guest_main(const struct rvmm_boot_page *boot, uint64_t vcpu, uint64_t vcpus);

uint32_t guest_main(const struct rvmm_boot_page *boot, uint64_t vcpu, uint64_t vcpus)
{
    if (boot->magic != RVMM_BOOT_MAGIC) {
        out32(RVMM_PORT_EXIT, 2);
        return 2;
    }
    const char *how = find(boot->cmdline, "crash=");
    if (how != NULL)
        crash(how);
    const char *bench = find(boot->cmdline, "exit_bench=");
    if (bench != NULL) {
        if (vcpu == 0)
            exit_bench(parse_uint(bench));
        out32(RVMM_PORT_EXIT, 0);
        return 0;
    }
    uint64_t seconds = parse_uint(find(boot->cmdline, "workload_duration="));
    state st = {.vcpu = (uint32_t)vcpu, .x = 0x9E3779B97F4A7C15ull + vcpu};
    uint32_t region = boot->disk_sectors / (uint32_t)(vcpus ? vcpus : 1);
    st.region = (uint32_t)vcpu * region;
    if (region < IO_REGION_SECTORS) {
        puts_console("disk too small for the I/O phase\n");
        out32(RVMM_PORT_EXIT, 3);
        return 3;
    }
    if (vcpu == 0) {
        puts_console("workload: ");
        put_uint(seconds);
        puts_console(" s on ");
        put_uint(vcpus);
        puts_console(" vCPU(s)\n");
    }
    static const uint32_t weights[] = {5, 3, 5, 5};
    uint64_t total_ns = seconds * 1000000000ull, start = now_ns(), at = start;
    for (int phase = RVMM_PHASE_CPU; phase <= RVMM_PHASE_MIXED; phase++) {
        at += total_ns * weights[phase - 1] / 18;
        if (total_ns > 0)
            run_phase(&st, phase, phase == RVMM_PHASE_MIXED ? start + total_ns : at);
    }
    if (vcpu == 0)
        out32(RVMM_PORT_PHASE, RVMM_PHASE_NONE);
    if (st.io_errors > 0) {
        puts_console("block device errors: ");
        put_uint((uint64_t)st.io_errors);
        puts_console("\n");
    }
    out32(RVMM_PORT_EXIT, st.io_errors > 0 ? 4 : 0);
    return 0;
}

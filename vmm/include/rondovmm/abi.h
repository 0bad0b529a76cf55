/* The port-I/O ABI between rondo-vmm and its guests, shared by the monitor
 * and the built-in guest (which is freestanding: this header needs nothing
 * but <stdint.h>). A guest talks to the monitor only with `in` and `out` on
 * these ports, 32 bits at a time unless a port says otherwise; everything else
 * it does runs natively.
 *
 * Guest memory is one window at RVMM_GUEST_BASE, identity-mapped (a guest
 * address is the same number under both backends):
 *
 *   RVMM_GUEST_BASE + 0x0000  unused (a null page, never mapped by a guest)
 *   RVMM_GUEST_BASE + 0x1000  the boot page (struct rvmm_boot_page)
 *   RVMM_GUEST_BASE + 0x2000  reserved for the KVM backend's GDT and page tables
 *   RVMM_GUEST_BASE + 0x100000 the guest image (the built-in guest links here)
 *   top of memory              one RVMM_STACK_SIZE stack per vCPU, downwards
 *
 * At entry, in 64-bit mode at CPL 3: rdi = the boot page, rsi = the vCPU's
 * index, rdx = the number of vCPUs, rsp = the top of its stack (16-aligned). */
#ifndef RONDOVMM_ABI_H
#define RONDOVMM_ABI_H

#include <stdint.h>

#define RVMM_GUEST_BASE     0x10000000ull
#define RVMM_BOOT_PAGE      (RVMM_GUEST_BASE + 0x1000)
#define RVMM_RESERVED_START (RVMM_GUEST_BASE + 0x2000)
#define RVMM_RESERVED_END   (RVMM_GUEST_BASE + 0x100000)
#define RVMM_IMAGE_BASE     RVMM_RESERVED_END
#define RVMM_STACK_SIZE     0x10000u
#define RVMM_BOOT_MAGIC     0x6f646e6f72ull /* "rondo" */
#define RVMM_CMDLINE_MAX    1024
#define RVMM_SECTOR_SIZE    512u

struct rvmm_boot_page {
    uint64_t magic;
    uint64_t mem_size; /* bytes of guest memory from RVMM_GUEST_BASE */
    uint32_t vcpus;
    uint32_t disk_sectors; /* size of the block device */
    char cmdline[RVMM_CMDLINE_MAX];
};

enum rvmm_port {
    RVMM_PORT_CONSOLE = 0x10,    /* out (8 bits): one byte of console text */
    RVMM_PORT_EXIT = 0x11,       /* out: the guest is done; the value is its exit code */
    RVMM_PORT_CLOCK_LO = 0x12,   /* in: ns since boot, low half; latches the high half */
    RVMM_PORT_CLOCK_HI = 0x13,   /* in: the high half latched by the last CLOCK_LO */
    RVMM_PORT_SLEEP = 0x14,      /* out: idle this many microseconds in the monitor */
    RVMM_PORT_PHASE = 0x15,      /* out: the workload phase now running (enum rvmm_phase) */
    RVMM_PORT_METRIC_ID = 0x16,  /* out: select a metric (enum rvmm_metric) */
    RVMM_PORT_METRIC_ADD = 0x17, /* out: add to the selected counter */
    RVMM_PORT_BLK_ADDR = 0x20,   /* out: guest address of the transfer buffer */
    RVMM_PORT_BLK_SECTOR = 0x21, /* out: first sector */
    RVMM_PORT_BLK_COUNT = 0x22,  /* out: sectors to transfer */
    RVMM_PORT_BLK_CMD = 0x23,    /* out: enum rvmm_blk_cmd; performs the transfer */
    RVMM_PORT_BLK_STATUS = 0x24, /* in: 0 when the last command succeeded */
};

enum rvmm_phase {
    RVMM_PHASE_NONE = 0,
    RVMM_PHASE_CPU = 1,
    RVMM_PHASE_IDLE = 2,
    RVMM_PHASE_IO = 3,
    RVMM_PHASE_MIXED = 4,
    RVMM_PHASE_COUNT = 5,
};

enum rvmm_metric {
    RVMM_METRIC_WORK_CPU = 1,   /* guest_work_total{phase=cpu}: loop iterations */
    RVMM_METRIC_WORK_IDLE = 2,  /* {phase=idle}: sleeps */
    RVMM_METRIC_WORK_IO = 3,    /* {phase=io}: block transfers */
    RVMM_METRIC_WORK_MIXED = 4, /* {phase=mixed}: rounds of compute, transfer, sleep */
    RVMM_METRIC_IO_BYTES = 5,   /* guest_io_bytes_total, counted by the guest */
    RVMM_METRIC_COUNT = 6,
};

enum rvmm_blk_cmd {
    RVMM_BLK_READ = 1,
    RVMM_BLK_WRITE = 2,
};

#endif

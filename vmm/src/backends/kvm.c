/* The KVM backend: guest memory from the memfd as one user memory region at
 * its guest address, and every vCPU entering 64-bit long mode directly at
 * CPL 3 (a GDT with user segments, identity page tables with the U bit over
 * guest memory only, RFLAGS.IOPL = 3 so that in/out exit to the monitor, no
 * IDT so that any fault becomes a triple fault: KVM_EXIT_SHUTDOWN, reported
 * as a guest crash). Nothing here needs the guest to run at CPL 0, which
 * PVM hosts emulate one instruction at a time. */
#include "backend.h"
#include "rondovmm/abi.h"
#include "rondovmm/vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/* Where the backend keeps its tables, inside the ABI's reserved range. */
#define RVMM__GDT  (RVMM_RESERVED_START)
#define RVMM__TSS  (RVMM_RESERVED_START + 0x1000)
#define RVMM__PML4 (RVMM_RESERVED_START + 0x2000)
#define RVMM__PDPT (RVMM_RESERVED_START + 0x3000)
#define RVMM__PD   (RVMM_RESERVED_START + 0x4000)

#define RVMM__SEL_CODE 0x1B /* GDT entry 3, RPL 3 */
#define RVMM__SEL_DATA 0x23 /* GDT entry 4, RPL 3 */
#define RVMM__SEL_TSS  0x28 /* GDT entries 5-6 */

#define RVMM__PTE_P  0x1ull
#define RVMM__PTE_RW 0x2ull
#define RVMM__PTE_US 0x4ull
#define RVMM__PTE_PS 0x80ull

typedef struct {
    int kvm;
    int fd;
    size_t run_size;
    uint8_t *host;
    uint64_t size;
} rvmm__kvm;

typedef struct {
    rvmm__kvm *vm;
    int fd;
    struct kvm_run *run;
    pthread_t thread;
    atomic_bool kicked;
} rvmm__kvcpu;

/* SIGUSR1 only interrupts KVM_RUN (EINTR); its handler does nothing. */
static void rvmm__on_kick(int sig)
{
    (void)sig;
}

static int rvmm__vm_create(const rvmm_vm_spec *spec, void **out, pmb_error *err)
{
    if (spec->mem_size > 0x40000000ull - (RVMM_GUEST_BASE & 0x3FFFFFFFull))
        return pmb_error_set(err, RVMM_EINPUT, "kvm backend: guest memory beyond the first GiB");
    rvmm__kvm *vm = calloc(1, sizeof *vm);
    if (vm == NULL)
        return pmb_error_set(err, RVMM_ERUNTIME, "kvm backend: out of memory");
    vm->fd = -1;
    vm->host = spec->host_mem;
    vm->size = spec->mem_size;
    int rc = PMB_OK;
    vm->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (vm->kvm < 0) {
        rc = pmb_error_errno(err, RVMM_EUNAVAILABLE, errno, "kvm backend: /dev/kvm");
        goto fail;
    }
    int version = ioctl(vm->kvm, KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION) {
        rc = pmb_error_set(err, RVMM_EUNAVAILABLE, "kvm backend: API version %d, not %d", version,
                           KVM_API_VERSION);
        goto fail;
    }
    vm->fd = ioctl(vm->kvm, KVM_CREATE_VM, 0);
    if (vm->fd < 0) {
        rc = pmb_error_errno(err, RVMM_EUNAVAILABLE, errno, "kvm backend: KVM_CREATE_VM");
        goto fail;
    }
    int run_size = ioctl(vm->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size <= 0) {
        rc = pmb_error_errno(err, RVMM_EUNAVAILABLE, errno, "kvm backend: KVM_GET_VCPU_MMAP_SIZE");
        goto fail;
    }
    vm->run_size = (size_t)run_size;
    struct kvm_userspace_memory_region region = {
        .slot = 0,
        .guest_phys_addr = RVMM_GUEST_BASE,
        .memory_size = spec->mem_size,
        .userspace_addr = (uintptr_t)spec->host_mem,
    };
    if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region) != 0) {
        rc = pmb_error_errno(err, RVMM_EUNAVAILABLE, errno,
                             "kvm backend: KVM_SET_USER_MEMORY_REGION");
        goto fail;
    }

    /* GDT: null, then (1-2 unused), user code 64-bit DPL 3, user data DPL 3,
     * and a 64-bit TSS, which VMX needs to enter the guest. */
    uint64_t *gdt = (uint64_t *)(vm->host + (RVMM__GDT - RVMM_GUEST_BASE));
    memset(gdt, 0, 0x1000);
    gdt[3] = 0x00AFFA000000FFFFull; /* P, DPL 3, S, code exec/read, L, G */
    gdt[4] = 0x00CFF2000000FFFFull; /* P, DPL 3, S, data read/write, D/B, G */
    uint64_t tss = RVMM__TSS;
    gdt[5] = 0x67 | ((tss & 0xFFFFFF) << 16) | (0x89ull << 40) | ((tss >> 24 & 0xFF) << 56);
    gdt[6] = tss >> 32;
    memset(vm->host + (RVMM__TSS - RVMM_GUEST_BASE), 0, 0x68);

    /* Identity page tables over guest memory only, in 2 MiB pages with the
     * user bit: an access anywhere else is a page fault, so a triple fault. */
    uint64_t *pml4 = (uint64_t *)(vm->host + (RVMM__PML4 - RVMM_GUEST_BASE));
    uint64_t *pdpt = (uint64_t *)(vm->host + (RVMM__PDPT - RVMM_GUEST_BASE));
    uint64_t *pd = (uint64_t *)(vm->host + (RVMM__PD - RVMM_GUEST_BASE));
    memset(pml4, 0, 0x1000);
    memset(pdpt, 0, 0x1000);
    memset(pd, 0, 0x1000);
    uint64_t flags = RVMM__PTE_P | RVMM__PTE_RW | RVMM__PTE_US;
    pml4[0] = RVMM__PDPT | flags;
    pdpt[0] = RVMM__PD | flags;
    for (uint64_t a = RVMM_GUEST_BASE; a < RVMM_GUEST_BASE + spec->mem_size; a += 0x200000)
        pd[a >> 21] = a | flags | RVMM__PTE_PS;

    struct sigaction sa = {.sa_handler = rvmm__on_kick};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    *out = vm;
    return PMB_OK;
fail:
    if (vm->fd >= 0)
        close(vm->fd);
    if (vm->kvm >= 0)
        close(vm->kvm);
    free(vm);
    return rc;
}

static struct kvm_segment rvmm__segment(uint16_t selector, uint8_t type, bool code)
{
    struct kvm_segment s = {
        .base = 0,
        .limit = 0xFFFFFFFF,
        .selector = selector,
        .type = type,
        .present = 1,
        .dpl = 3,
        .db = code ? 0 : 1,
        .s = 1,
        .l = code ? 1 : 0,
        .g = 1,
    };
    return s;
}

static int rvmm__vcpu_create(void *vmp, int index, const rvmm_entry *e, void **out, pmb_error *err)
{
    rvmm__kvm *vm = vmp;
    rvmm__kvcpu *c = calloc(1, sizeof *c);
    if (c == NULL)
        return pmb_error_set(err, RVMM_ERUNTIME, "kvm backend: out of memory");
    c->vm = vm;
    c->thread = pthread_self();
    int rc = PMB_OK;
    c->fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)index);
    if (c->fd < 0) {
        rc = pmb_error_errno(err, RVMM_EUNAVAILABLE, errno, "kvm backend: KVM_CREATE_VCPU %d",
                             index);
        goto fail;
    }
    c->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
    if (c->run == MAP_FAILED) {
        c->run = NULL;
        rc = pmb_error_errno(err, RVMM_ERUNTIME, errno, "kvm backend: mapping kvm_run");
        goto fail;
    }
    struct kvm_sregs sregs;
    if (ioctl(c->fd, KVM_GET_SREGS, &sregs) != 0) {
        rc = pmb_error_errno(err, RVMM_EUNAVAILABLE, errno, "kvm backend: KVM_GET_SREGS");
        goto fail;
    }
    sregs.cs = rvmm__segment(RVMM__SEL_CODE, 0xB, true);
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss =
        rvmm__segment(RVMM__SEL_DATA, 0x3, false);
    sregs.tr = (struct kvm_segment){
        .base = RVMM__TSS, .limit = 0x67, .selector = RVMM__SEL_TSS, .type = 0xB, .present = 1};
    sregs.ldt = (struct kvm_segment){.unusable = 1};
    sregs.gdt.base = RVMM__GDT;
    sregs.gdt.limit = 7 * 8 - 1;
    sregs.idt.base = 0;
    sregs.idt.limit = 0;
    sregs.cr3 = RVMM__PML4;
    sregs.cr4 = 0x20;                        /* PAE */
    sregs.cr0 = 0x80000001u | 0x10u | 0x20u; /* PG, PE, ET, NE */
    sregs.efer = 0x500;                      /* LME, LMA; no SCE: syscall faults */
    if (ioctl(c->fd, KVM_SET_SREGS, &sregs) != 0) {
        rc = pmb_error_errno(err, RVMM_EUNAVAILABLE, errno, "kvm backend: KVM_SET_SREGS");
        goto fail;
    }
    struct kvm_regs regs = {
        .rip = e->rip,
        .rsp = e->rsp,
        .rdi = e->rdi,
        .rsi = e->rsi,
        .rdx = e->rdx,
        .rflags = 0x3002, /* IOPL 3, reserved bit 1 */
    };
    if (ioctl(c->fd, KVM_SET_REGS, &regs) != 0) {
        rc = pmb_error_errno(err, RVMM_EUNAVAILABLE, errno, "kvm backend: KVM_SET_REGS");
        goto fail;
    }
    *out = c;
    return PMB_OK;
fail:
    if (c->run != NULL)
        munmap(c->run, vm->run_size);
    if (c->fd >= 0)
        close(c->fd);
    free(c);
    return rc;
}

static const char *rvmm__exit_name(uint32_t reason)
{
    switch (reason) {
    case KVM_EXIT_HLT:
        return "hlt";
    case KVM_EXIT_MMIO:
        return "mmio";
    case KVM_EXIT_SHUTDOWN:
        return "shutdown";
    case KVM_EXIT_FAIL_ENTRY:
        return "fail_entry";
    case KVM_EXIT_INTERNAL_ERROR:
        return "internal_error";
    }
    return "unknown";
}

static int rvmm__vcpu_run(void *vcpup, rvmm_exit *exit, pmb_error *err)
{
    rvmm__kvcpu *c = vcpup;
    struct kvm_run *run = c->run;
    /* An `in` completes when KVM_RUN resumes: its value goes into the data
     * area first. */
    if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_IN)
        memcpy((uint8_t *)run + run->io.data_offset, &exit->data, run->io.size);
    memset(exit, 0, sizeof *exit);
    if (atomic_load_explicit(&c->kicked, memory_order_relaxed)) {
        exit->reason = RVMM_EXIT_STOPPED;
        return PMB_OK;
    }
    while (ioctl(c->fd, KVM_RUN, 0) != 0) {
        if (errno == EINTR || errno == EAGAIN) {
            if (atomic_load_explicit(&c->kicked, memory_order_relaxed)) {
                exit->reason = RVMM_EXIT_STOPPED;
                return PMB_OK;
            }
            continue;
        }
        return pmb_error_errno(err, RVMM_ERUNTIME, errno, "kvm backend: KVM_RUN");
    }
    struct kvm_regs regs;
    if (ioctl(c->fd, KVM_GET_REGS, &regs) == 0)
        exit->rip = regs.rip;
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        /* String I/O and repeated I/O are outside the ABI. */
        if (run->io.count != 1) {
            exit->reason = RVMM_EXIT_SHUTDOWN;
            snprintf(exit->crash, sizeof exit->crash, "string or repeated port I/O at rip 0x%llx",
                     (unsigned long long)exit->rip);
            return PMB_OK;
        }
        exit->reason = RVMM_EXIT_IO;
        exit->port = run->io.port;
        exit->size = run->io.size;
        exit->is_out = run->io.direction == KVM_EXIT_IO_OUT;
        if (exit->is_out)
            memcpy(&exit->data, (uint8_t *)run + run->io.data_offset, run->io.size);
        return PMB_OK;
    case KVM_EXIT_HLT:
        exit->reason = RVMM_EXIT_HLT;
        break;
    case KVM_EXIT_MMIO:
        exit->reason = RVMM_EXIT_MMIO;
        snprintf(exit->crash, sizeof exit->crash,
                 "access to 0x%llx outside guest memory at rip 0x%llx",
                 (unsigned long long)run->mmio.phys_addr, (unsigned long long)exit->rip);
        return PMB_OK;
    case KVM_EXIT_INTR:
        exit->reason = RVMM_EXIT_STOPPED;
        return PMB_OK;
    case KVM_EXIT_SHUTDOWN:
        exit->reason = RVMM_EXIT_SHUTDOWN;
        break;
    default:
        exit->reason = RVMM_EXIT_INTERNAL;
        break;
    }
    snprintf(exit->crash, sizeof exit->crash, "KVM exit %s (%u) at rip 0x%llx",
             rvmm__exit_name(run->exit_reason), run->exit_reason, (unsigned long long)exit->rip);
    return PMB_OK;
}

static void rvmm__vcpu_kick(void *vcpup)
{
    rvmm__kvcpu *c = vcpup;
    atomic_store_explicit(&c->kicked, true, memory_order_relaxed);
    c->run->immediate_exit = 1;
    pthread_kill(c->thread, SIGUSR1);
}

static pid_t rvmm__vcpu_pid(void *vcpup)
{
    (void)vcpup;
    return 0;
}

static void rvmm__vcpu_destroy(void *vcpup)
{
    rvmm__kvcpu *c = vcpup;
    if (c == NULL)
        return;
    munmap(c->run, c->vm->run_size);
    close(c->fd);
    free(c);
}

static void rvmm__vm_destroy(void *vmp)
{
    rvmm__kvm *vm = vmp;
    close(vm->fd);
    close(vm->kvm);
    free(vm);
}

const rvmm_backend_ops rvmm_kvm_ops = {
    .name = "kvm",
    .vm_create = rvmm__vm_create,
    .vcpu_create = rvmm__vcpu_create,
    .vcpu_run = rvmm__vcpu_run,
    .vcpu_kick = rvmm__vcpu_kick,
    .vcpu_pid = rvmm__vcpu_pid,
    .vcpu_destroy = rvmm__vcpu_destroy,
    .vm_destroy = rvmm__vm_destroy,
};

/* The vCPU backends behind one small interface, the way Redis's ae.c keeps
 * epoll and kqueue behind a few functions: a VM over one memfd of guest
 * memory, vCPUs that run until their next exit, and one exit structure that
 * both backends fill, handled by one exit handler (monitor.c). */
#ifndef RVMM_BACKEND_H
#define RVMM_BACKEND_H

#include "pmbase/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum rvmm_exit_reason {
    RVMM_EXIT_IO,       /* an in or out instruction */
    RVMM_EXIT_HLT,      /* hlt (a crash for this ABI) */
    RVMM_EXIT_MMIO,     /* an access outside guest memory (KVM) */
    RVMM_EXIT_SHUTDOWN, /* triple fault (KVM) or a fatal signal (ptrace): a crash */
    RVMM_EXIT_INTERNAL, /* the backend could not continue */
    RVMM_EXIT_STOPPED,  /* the monitor asked the vCPU to stop */
    RVMM_EXIT_REASONS,
} rvmm_exit_reason;

typedef struct rvmm_exit {
    rvmm_exit_reason reason;
    uint16_t port;
    uint8_t size; /* 1, 2 or 4 bytes */
    bool is_out;  /* out: data holds the value; in: the handler sets data */
    uint32_t data;
    uint64_t rip;
    char crash[256]; /* what happened and where, for crashes */
} rvmm_exit;

typedef struct rvmm_vm_spec {
    int memfd;
    uint8_t *host_mem; /* the monitor's mapping of guest memory */
    uint64_t mem_size;
    int vcpus;
} rvmm_vm_spec;

typedef struct rvmm_entry {
    uint64_t rip, rsp, rdi, rsi, rdx;
} rvmm_entry;

typedef struct rvmm_backend rvmm_backend;

typedef struct rvmm_backend_ops {
    const char *name;
    /* PMB_ERUNTIME, or RVMM_EUNAVAILABLE when the host cannot run it. */
    int (*vm_create)(const rvmm_vm_spec *spec, void **vm, pmb_error *err);
    /* Called on the thread that will run the vCPU (ptrace requires it). */
    int (*vcpu_create)(void *vm, int index, const rvmm_entry *entry, void **vcpu, pmb_error *err);
    /* Runs until the next exit; the previous `in` exit's data is delivered
     * first. Returns PMB_OK with the exit filled, or an error. */
    int (*vcpu_run)(void *vcpu, rvmm_exit *exit, pmb_error *err);
    /* Makes a running or sleeping vcpu_run return RVMM_EXIT_STOPPED soon;
     * safe from any thread. */
    void (*vcpu_kick)(void *vcpu);
    /* The guest process's pid, or 0 when the vCPU is not a process. */
    pid_t (*vcpu_pid)(void *vcpu);
    void (*vcpu_destroy)(void *vcpu);
    void (*vm_destroy)(void *vm);
} rvmm_backend_ops;

extern const rvmm_backend_ops rvmm_kvm_ops;
extern const rvmm_backend_ops rvmm_ptrace_ops;

const char *rvmm_exit_reason_name(rvmm_exit_reason reason);

#endif

/* The ptrace backend: trap-and-emulate for hosts without a usable /dev/kvm.
 * Each vCPU is a child process that maps the guest memory at its guest
 * address, enters seccomp strict mode and runs the guest natively at user
 * level. `in` and `out` fault there (IOPL is 0), the tracer decodes and
 * emulates them; any other fault, signal or system call is a guest crash.
 * The child dies with the monitor (PDEATHSIG and PTRACE_O_EXITKILL), and the
 * tracer is always the thread that forked it, which ptrace requires. */
#include "backend.h"
#include "decode.h"
#include "rondovmm/abi.h"
#include "rondovmm/vmm.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    int memfd;
    const uint8_t *host;
    uint64_t size;
} rvmm__pvm;

typedef struct {
    const rvmm__pvm *vm;
    /* Read by vcpu_kick on another thread while the vCPU's thread ends it. */
    _Atomic pid_t pid;
    atomic_bool kicked;
    bool pending;    /* an exit awaits its completion */
    bool pending_in; /* ...and it is an `in` whose value goes into RAX */
    uint8_t pending_size;
    uint8_t pending_len;
    struct user_regs_struct regs;
} rvmm__pvcpu;

/* Exit codes of a child that could not reach the guest, for the message. */
enum {
    RVMM__CHILD_PDEATHSIG = 101,
    RVMM__CHILD_ORPHAN,
    RVMM__CHILD_TRACEME,
    RVMM__CHILD_MAP,
    RVMM__CHILD_SECCOMP,
};

static const char *rvmm__child_failure(int code)
{
    switch (code) {
    case RVMM__CHILD_PDEATHSIG:
        return "PR_SET_PDEATHSIG failed";
    case RVMM__CHILD_ORPHAN:
        return "the monitor was gone before the guest started";
    case RVMM__CHILD_TRACEME:
        return "PTRACE_TRACEME failed";
    case RVMM__CHILD_MAP:
        return "guest memory could not be mapped at its guest address";
    case RVMM__CHILD_SECCOMP:
        return "seccomp strict mode could not be entered";
    }
    return "it exited early";
}

static int rvmm__vm_create(const rvmm_vm_spec *spec, void **out, pmb_error *err)
{
    rvmm__pvm *vm = calloc(1, sizeof *vm);
    if (vm == NULL)
        return pmb_error_set(err, RVMM_ERUNTIME, "ptrace backend: out of memory");
    vm->memfd = spec->memfd;
    vm->host = spec->host_mem;
    vm->size = spec->mem_size;
    *out = vm;
    return PMB_OK;
}

/* The child between fork and the guest: system calls only (the monitor has
 * other threads, whose locks the child must never wait for). */
__attribute__((noreturn)) static void rvmm__child(const rvmm__pvm *vm, pid_t parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        _exit(RVMM__CHILD_PDEATHSIG);
    /* The monitor may have died between fork and prctl. */
    if (getppid() != parent)
        _exit(RVMM__CHILD_ORPHAN);
    /* A core of this process would hold a copy of the monitor's memory. */
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    for (int sig = 1; sig < 32; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
        _exit(RVMM__CHILD_TRACEME);
    void *want = (void *)(uintptr_t)RVMM_GUEST_BASE;
    void *got = mmap(want, vm->size, PROT_READ | PROT_WRITE | PROT_EXEC,
                     MAP_SHARED | MAP_FIXED_NOREPLACE, vm->memfd, 0);
    if (got != want)
        _exit(RVMM__CHILD_MAP);
    syscall(SYS_close_range, 0u, ~0u, 0u);
    if (syscall(SYS_prctl, PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0) != 0)
        _exit(RVMM__CHILD_SECCOMP);
    /* A breakpoint stops the child for the tracer, which then sets every
     * register (the guest's entry, FS and the vector state included). */
    __asm__ volatile("int3");
    for (;;)
        __asm__ volatile("ud2");
}

static int rvmm__set_entry(rvmm__pvcpu *c, const rvmm_entry *e, pmb_error *err)
{
    struct user_regs_struct r;
    if (ptrace(PTRACE_GETREGS, c->pid, NULL, &r) != 0)
        return pmb_error_errno(err, RVMM_ERUNTIME, errno, "ptrace backend: PTRACE_GETREGS");
    unsigned long long cs = r.cs, ss = r.ss, ds = r.ds, es = r.es, fs = r.fs, gs = r.gs;
    unsigned long long flags = r.eflags;
    memset(&r, 0, sizeof r);
    r.cs = cs;
    r.ss = ss;
    r.ds = ds;
    r.es = es;
    r.fs = fs;
    r.gs = gs;
    /* Keep the user-mode flags the kernel allows; clear the arithmetic ones
     * and the trap flag. */
    r.eflags = (flags & ~0xDD5ull) | 0x202;
    r.rip = e->rip;
    r.rsp = e->rsp;
    r.rdi = e->rdi;
    r.rsi = e->rsi;
    r.rdx = e->rdx;
    /* FS and GS would otherwise point at the monitor's thread-local data. */
    r.fs_base = 0;
    r.gs_base = 0;
    if (ptrace(PTRACE_SETREGS, c->pid, NULL, &r) != 0)
        return pmb_error_errno(err, RVMM_ERUNTIME, errno, "ptrace backend: PTRACE_SETREGS");
    /* The child inherited the monitor's x87/SSE state: start from reset. */
    struct user_fpregs_struct fp;
    if (ptrace(PTRACE_GETFPREGS, c->pid, NULL, &fp) != 0)
        return pmb_error_errno(err, RVMM_ERUNTIME, errno, "ptrace backend: PTRACE_GETFPREGS");
    unsigned int mask = fp.mxcr_mask;
    memset(&fp, 0, sizeof fp);
    fp.cwd = 0x37F;
    fp.mxcsr = 0x1F80;
    fp.mxcr_mask = mask;
    if (ptrace(PTRACE_SETFPREGS, c->pid, NULL, &fp) != 0)
        return pmb_error_errno(err, RVMM_ERUNTIME, errno, "ptrace backend: PTRACE_SETFPREGS");
    c->regs = r;
    return PMB_OK;
}

static pid_t rvmm__wait(pid_t pid, int *status)
{
    pid_t r;
    do
        r = waitpid(pid, status, __WALL);
    while (r < 0 && errno == EINTR);
    return r;
}

static int rvmm__vcpu_create(void *vmp, int index, const rvmm_entry *entry, void **out,
                             pmb_error *err)
{
    rvmm__pvcpu *c = calloc(1, sizeof *c);
    if (c == NULL)
        return pmb_error_set(err, RVMM_ERUNTIME, "ptrace backend: out of memory");
    c->vm = vmp;
    pid_t parent = getpid();
    c->pid = fork();
    if (c->pid < 0) {
        int rc =
            pmb_error_errno(err, RVMM_ERUNTIME, errno, "ptrace backend: fork for vCPU %d", index);
        free(c);
        return rc;
    }
    if (c->pid == 0)
        rvmm__child(c->vm, parent);
    int st;
    if (rvmm__wait(c->pid, &st) != c->pid || !WIFSTOPPED(st) || WSTOPSIG(st) != SIGTRAP) {
        int rc = WIFEXITED(st)
                     ? pmb_error_set(err, RVMM_EUNAVAILABLE, "ptrace backend: vCPU %d: %s", index,
                                     rvmm__child_failure(WEXITSTATUS(st)))
                     : pmb_error_set(err, RVMM_EUNAVAILABLE,
                                     "ptrace backend: vCPU %d did not reach its entry "
                                     "stop (status 0x%x)",
                                     index, st);
        kill(c->pid, SIGKILL);
        rvmm__wait(c->pid, &st);
        free(c);
        return rc;
    }
    int rc = PMB_OK;
    if (ptrace(PTRACE_SETOPTIONS, c->pid, NULL, (void *)(uintptr_t)PTRACE_O_EXITKILL) != 0)
        rc = pmb_error_errno(err, RVMM_ERUNTIME, errno, "ptrace backend: PTRACE_O_EXITKILL");
    if (rc == PMB_OK)
        rc = rvmm__set_entry(c, entry, err);
    if (rc != PMB_OK) {
        kill(c->pid, SIGKILL);
        rvmm__wait(c->pid, &st);
        free(c);
        return rc;
    }
    *out = c;
    return PMB_OK;
}

static const char *rvmm__signame(int sig)
{
    const char *name = sigabbrev_np(sig);
    return name ? name : "?";
}

static void rvmm__crash(rvmm__pvcpu *c, rvmm_exit *exit, int sig)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    ptrace(PTRACE_GETSIGINFO, c->pid, NULL, &si);
    exit->reason = RVMM_EXIT_SHUTDOWN;
    exit->rip = c->regs.rip;
    if (sig == SIGSEGV || sig == SIGBUS)
        snprintf(exit->crash, sizeof exit->crash, "SIG%s at rip 0x%llx, address %p (si_code %d)",
                 rvmm__signame(sig), (unsigned long long)c->regs.rip, si.si_addr, si.si_code);
    else
        snprintf(exit->crash, sizeof exit->crash, "SIG%s at rip 0x%llx", rvmm__signame(sig),
                 (unsigned long long)c->regs.rip);
}

/* Completes the pending exit: the `in` value into RAX, RIP past the
 * instruction. */
static int rvmm__complete(rvmm__pvcpu *c, const rvmm_exit *exit, pmb_error *err)
{
    c->regs.rip += c->pending_len;
    long rc;
    if (c->pending_in) {
        c->regs.rax = rvmm_pio_merge(c->regs.rax, c->pending_size, exit->data);
        rc = ptrace(PTRACE_SETREGS, c->pid, NULL, &c->regs);
    } else {
        rc = ptrace(PTRACE_POKEUSER, c->pid, (void *)offsetof(struct user_regs_struct, rip),
                    (void *)(uintptr_t)c->regs.rip);
    }
    c->pending = false;
    if (rc != 0)
        return pmb_error_errno(err, RVMM_ERUNTIME, errno, "ptrace backend: completing an exit");
    return PMB_OK;
}

static int rvmm__stopped(rvmm__pvcpu *c, rvmm_exit *exit)
{
    int st;
    kill(c->pid, SIGKILL);
    rvmm__wait(c->pid, &st);
    c->pid = 0;
    exit->reason = RVMM_EXIT_STOPPED;
    return PMB_OK;
}

static int rvmm__vcpu_run(void *vcpup, rvmm_exit *exit, pmb_error *err)
{
    rvmm__pvcpu *c = vcpup;
    if (c->pid == 0)
        return pmb_error_set(err, RVMM_ERUNTIME, "ptrace backend: the vCPU has ended");
    if (c->pending) {
        int rc = rvmm__complete(c, exit, err);
        if (rc != PMB_OK)
            return rc;
    }
    memset(exit, 0, sizeof *exit);
    if (atomic_load_explicit(&c->kicked, memory_order_relaxed))
        return rvmm__stopped(c, exit);
    /* Signal 0: the fault that stopped the child is suppressed. */
    if (ptrace(PTRACE_CONT, c->pid, NULL, NULL) != 0 && errno != ESRCH)
        return pmb_error_errno(err, RVMM_ERUNTIME, errno, "ptrace backend: PTRACE_CONT");
    int st;
    if (rvmm__wait(c->pid, &st) != c->pid)
        return pmb_error_errno(err, RVMM_ERUNTIME, errno, "ptrace backend: waitpid");
    if (WIFSIGNALED(st) || WIFEXITED(st)) {
        c->pid = 0;
        if (atomic_load_explicit(&c->kicked, memory_order_relaxed)) {
            exit->reason = RVMM_EXIT_STOPPED;
            return PMB_OK;
        }
        exit->reason = RVMM_EXIT_SHUTDOWN;
        if (WIFEXITED(st))
            snprintf(exit->crash, sizeof exit->crash,
                     "the guest made a system call (exit %d): only port I/O is allowed",
                     WEXITSTATUS(st));
        else if (WTERMSIG(st) == SIGKILL)
            snprintf(exit->crash, sizeof exit->crash,
                     "killed after rip 0x%llx (the last exit): a forbidden system call "
                     "(seccomp strict mode), or SIGKILL from outside",
                     (unsigned long long)c->regs.rip);
        else
            snprintf(exit->crash, sizeof exit->crash, "ended by SIG%s",
                     rvmm__signame(WTERMSIG(st)));
        return PMB_OK;
    }
    if (!WIFSTOPPED(st))
        return pmb_error_set(err, RVMM_ERUNTIME, "ptrace backend: unexpected status 0x%x", st);
    if (atomic_load_explicit(&c->kicked, memory_order_relaxed))
        return rvmm__stopped(c, exit);
    int sig = WSTOPSIG(st);
    if (ptrace(PTRACE_GETREGS, c->pid, NULL, &c->regs) != 0)
        return pmb_error_errno(err, RVMM_ERUNTIME, errno, "ptrace backend: PTRACE_GETREGS");
    exit->rip = c->regs.rip;
    /* A guest can load any RIP (rt_sigreturn is allowed in strict mode):
     * the instruction is read only from inside guest memory. */
    uint64_t base = RVMM_GUEST_BASE, rip = c->regs.rip;
    rvmm_pio pio;
    bool inside = rip >= base && rip < base + c->vm->size;
    if (sig == SIGSEGV && inside &&
        rvmm_pio_decode(c->vm->host + (rip - base), (size_t)(base + c->vm->size - rip), &pio)) {
        exit->reason = RVMM_EXIT_IO;
        exit->is_out = pio.is_out;
        exit->size = pio.size;
        exit->port = pio.port_in_dx ? (uint16_t)(c->regs.rdx & 0xFFFF) : pio.imm_port;
        uint32_t mask = pio.size == 4 ? 0xFFFFFFFFu : pio.size == 2 ? 0xFFFFu : 0xFFu;
        exit->data = pio.is_out ? (uint32_t)c->regs.rax & mask : 0;
        c->pending = true;
        c->pending_in = !pio.is_out;
        c->pending_size = pio.size;
        c->pending_len = pio.length;
        return PMB_OK;
    }
    rvmm__crash(c, exit, sig);
    if (!inside)
        snprintf(exit->crash + strlen(exit->crash), sizeof exit->crash - strlen(exit->crash),
                 " (outside guest memory)");
    return PMB_OK;
}

static void rvmm__vcpu_kick(void *vcpup)
{
    rvmm__pvcpu *c = vcpup;
    atomic_store_explicit(&c->kicked, true, memory_order_relaxed);
    pid_t pid = c->pid;
    if (pid > 0)
        kill(pid, SIGKILL);
}

static pid_t rvmm__vcpu_pid(void *vcpup)
{
    return ((rvmm__pvcpu *)vcpup)->pid;
}

static void rvmm__vcpu_destroy(void *vcpup)
{
    rvmm__pvcpu *c = vcpup;
    if (c == NULL)
        return;
    if (c->pid > 0) {
        int st;
        kill(c->pid, SIGKILL);
        rvmm__wait(c->pid, &st);
    }
    free(c);
}

static void rvmm__vm_destroy(void *vm)
{
    free(vm);
}

const rvmm_backend_ops rvmm_ptrace_ops = {
    .name = "ptrace",
    .vm_create = rvmm__vm_create,
    .vcpu_create = rvmm__vcpu_create,
    .vcpu_run = rvmm__vcpu_run,
    .vcpu_kick = rvmm__vcpu_kick,
    .vcpu_pid = rvmm__vcpu_pid,
    .vcpu_destroy = rvmm__vcpu_destroy,
    .vm_destroy = rvmm__vm_destroy,
};

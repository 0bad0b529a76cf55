/* librondovmm: a small virtual machine monitor that runs a timed guest
 * workload on one of two vCPU backends (KVM, or ptrace trap-and-emulate) and
 * records what happens in a rondo store. See vmm/README.md. */
#ifndef RONDOVMM_VMM_H
#define RONDOVMM_VMM_H

#include "pmbase/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes of rondo-vmm, and the statuses of rvmm_run. */
enum {
    RVMM_OK = 0,
    RVMM_ERUNTIME = 1,
    RVMM_EINPUT = 2,
    RVMM_ECRASHED = 3,
    RVMM_EUNAVAILABLE = 4,
};

typedef enum rvmm_backend_kind {
    RVMM_BACKEND_AUTO,
    RVMM_BACKEND_KVM,
    RVMM_BACKEND_PTRACE,
} rvmm_backend_kind;

#define RVMM_MAX_VCPUS 8

typedef struct rvmm_options {
    rvmm_backend_kind backend;
    int vcpus;
    uint64_t mem_mib;
    char cmdline[1024];
    const char *guest_path;    /* a user's ELF guest, or NULL for the built-in one */
    const char *disk_path;     /* NULL: an unlinked temporary file */
    const char *metrics_store; /* NULL: no recording */
    int api_port;              /* -1: no API; 0: a free port */
    const char *remote_write;  /* a remote-write URL, or NULL */
    double remote_write_interval;
    const char *remote_write_bearer_token_file;
    const char *remote_write_basic_auth_file;
    char vm_name[128]; /* the `vm` label of everything exported */
    bool json;
    bool help;
} rvmm_options;

/* Parses the command line (see vmm/README.md); PMB_EINPUT with a message
 * naming the flag and the value. */
int rvmm_options_parse(int argc, char **argv, rvmm_options *opts, pmb_error *err);
void rvmm_usage(FILE *f);

/* Runs the VM to its end and fills the JSON summary (a cJSON object's text,
 * the caller frees it). start_ns is the monotonic time at which the program
 * started, for start_to_entry_us. Returns one of the exit codes above. */
int rvmm_run(const rvmm_options *opts, uint64_t start_ns, char **summary_json, pmb_error *err);

/* Asks a running rvmm_run to stop the guest and finish cleanly (SIGTERM). */
void rvmm_request_stop(void);

#endif

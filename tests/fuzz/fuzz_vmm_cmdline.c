/* Fuzzes rondo-vmm's command line: the input is split at NUL bytes into
 * arguments; any arguments must parse or be refused with a message naming
 * the problem, and what parses must be within the documented bounds. */
#include "rondovmm/vmm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *argv[MAX_ARGS + 2] = {"rondo-vmm"};
    int argc = 1;
    for (char *p = text; p < text + size && argc <= MAX_ARGS; p += strlen(p) + 1)
        argv[argc++] = p;
    argv[argc] = NULL;
    rvmm_options o;
    pmb_error err = {0};
    int rc = rvmm_options_parse(argc, argv, &o, &err);
    if (rc == PMB_OK &&
        (o.vcpus < 1 || o.vcpus > RVMM_MAX_VCPUS || o.mem_mib < 4 || o.api_port < -1 ||
         o.api_port > 65535 || strlen(o.cmdline) >= sizeof o.cmdline))
        abort();
    if (rc != PMB_OK && err.msg[0] == '\0')
        abort();
    free(text);
    return 0;
}

/* Fuzzes the guest loader: any bytes must load or be refused with a
 * message, and a loaded image's entry must lie inside the image area. */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MEM_SIZE (2u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *mem;
    if (mem == NULL && (mem = malloc(MEM_SIZE)) == NULL)
        return 0;
    uint64_t lo = RVMM_IMAGE_BASE, hi = RVMM_GUEST_BASE + MEM_SIZE - RVMM_STACK_SIZE, entry = 0;
    pmb_error err = {0};
    int rc = rvmm_elf_load(data, size, mem, lo, hi, &entry, &err);
    if (rc == PMB_OK && (entry < lo || entry >= hi))
        abort();
    if (rc != PMB_OK && err.msg[0] == '\0')
        abort();
    return 0;
}

/* Decoding of the port-I/O instructions the ptrace backend emulates. */
#ifndef RVMM_DECODE_H
#define RVMM_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rvmm_pio {
    bool is_out;
    bool port_in_dx; /* the port is DX (EC-EF), else the imm8 */
    uint8_t size;    /* 1, 2 or 4 */
    uint8_t imm_port;
    uint8_t length; /* bytes of the instruction, prefixes included */
} rvmm_pio;

/* Decodes the instruction at code (avail bytes readable): E4/E5 in imm8,
 * E6/E7 out imm8, EC/ED in dx, EE/EF out dx, with operand-size (66) and REX
 * prefixes. False for anything else (string I/O included). */
bool rvmm_pio_decode(const uint8_t *code, size_t avail, rvmm_pio *out);

/* The value of RAX after an `in` of size bytes that read value: 8- and 16-bit
 * reads keep the upper bits, a 32-bit read zero-extends (as the CPU does). */
uint64_t rvmm_pio_merge(uint64_t rax, uint8_t size, uint32_t value);

#endif

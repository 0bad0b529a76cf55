#include "decode.h"

/* A real instruction is at most 15 bytes; more prefixes than that is not an
 * instruction the CPU would run. */
#define RVMM__MAX_INSN 15

bool rvmm_pio_decode(const uint8_t *code, size_t avail, rvmm_pio *out)
{
    bool opsize16 = false;
    size_t i = 0;
    for (; i < avail && i < RVMM__MAX_INSN; i++) {
        if (code[i] == 0x66)
            opsize16 = true;
        else if ((code[i] & 0xF0) != 0x40) /* REX prefixes: 40-4F */
            break;
    }
    if (i >= avail || i >= RVMM__MAX_INSN)
        return false;
    uint8_t op = code[i];
    if (op != 0xE4 && op != 0xE5 && op != 0xE6 && op != 0xE7 && op != 0xEC && op != 0xED &&
        op != 0xEE && op != 0xEF)
        return false;
    rvmm_pio p = {0};
    p.is_out = op == 0xE6 || op == 0xE7 || op == 0xEE || op == 0xEF;
    p.port_in_dx = op >= 0xEC;
    bool byte = (op & 1) == 0;
    p.size = byte ? 1 : opsize16 ? 2 : 4;
    size_t len = i + 1;
    if (!p.port_in_dx) {
        if (len >= avail)
            return false;
        p.imm_port = code[len];
        len++;
    }
    p.length = (uint8_t)len;
    *out = p;
    return true;
}

uint64_t rvmm_pio_merge(uint64_t rax, uint8_t size, uint32_t value)
{
    switch (size) {
    case 1:
        return (rax & ~0xFFull) | (value & 0xFFu);
    case 2:
        return (rax & ~0xFFFFull) | (value & 0xFFFFu);
    default:
        return value;
    }
}

#include "decode.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static void decode(const uint8_t *code, size_t n, bool out, bool dx, uint8_t size, uint8_t len)
{
    rvmm_pio p;
    assert_true(rvmm_pio_decode(code, n, &p));
    assert_int_equal(p.is_out, out);
    assert_int_equal(p.port_in_dx, dx);
    assert_int_equal(p.size, size);
    assert_int_equal(p.length, len);
}

static void every_form(void **state)
{
    const uint8_t in_al_imm[] = {0xE4, 0x12}, in_eax_imm[] = {0xE5, 0x12};
    const uint8_t out_imm_al[] = {0xE6, 0x10}, out_imm_eax[] = {0xE7, 0x11};
    const uint8_t in_al_dx[] = {0xEC}, in_eax_dx[] = {0xED};
    const uint8_t out_dx_al[] = {0xEE}, out_dx_eax[] = {0xEF};
    decode(in_al_imm, 2, false, false, 1, 2);
    decode(in_eax_imm, 2, false, false, 4, 2);
    decode(out_imm_al, 2, true, false, 1, 2);
    decode(out_imm_eax, 2, true, false, 4, 2);
    decode(in_al_dx, 1, false, true, 1, 1);
    decode(in_eax_dx, 1, false, true, 4, 1);
    decode(out_dx_al, 1, true, true, 1, 1);
    decode(out_dx_eax, 1, true, true, 4, 1);
    rvmm_pio p;
    assert_true(rvmm_pio_decode(out_imm_eax, 2, &p));
    assert_int_equal(p.imm_port, 0x11);
}

static void operand_size_prefix_makes_16_bits(void **state)
{
    const uint8_t in_ax_dx[] = {0x66, 0xED}, out_imm_ax[] = {0x66, 0xE7, 0x20};
    decode(in_ax_dx, 2, false, true, 2, 2);
    decode(out_imm_ax, 3, true, false, 2, 3);
    /* 66 does not change the byte forms. */
    const uint8_t in_al[] = {0x66, 0xEC};
    decode(in_al, 2, false, true, 1, 2);
    /* REX prefixes are skipped. */
    const uint8_t rex[] = {0x48, 0xEF};
    decode(rex, 2, true, true, 4, 2);
}

static void other_instructions_are_refused(void **state)
{
    rvmm_pio p;
    const uint8_t ud2[] = {0x0F, 0x0B}, hlt[] = {0xF4}, insb[] = {0x6C}, outsd[] = {0x6F};
    const uint8_t nop[] = {0x90}, truncated[] = {0xE6}, prefixes[] = {0x66, 0x66, 0x66};
    assert_false(rvmm_pio_decode(ud2, 2, &p));
    assert_false(rvmm_pio_decode(hlt, 1, &p));
    assert_false(rvmm_pio_decode(insb, 1, &p));
    assert_false(rvmm_pio_decode(outsd, 1, &p));
    assert_false(rvmm_pio_decode(nop, 1, &p));
    assert_false(rvmm_pio_decode(truncated, 1, &p));
    assert_false(rvmm_pio_decode(prefixes, 3, &p));
    uint8_t many[20];
    for (int i = 0; i < 19; i++)
        many[i] = 0x66;
    many[19] = 0xEC;
    assert_false(rvmm_pio_decode(many, 20, &p));
}

static void in_merges_like_the_cpu(void **state)
{
    uint64_t rax = 0x1122334455667788ull;
    assert_int_equal(rvmm_pio_merge(rax, 1, 0xAABBCCDD), 0x11223344556677DDull);
    assert_int_equal(rvmm_pio_merge(rax, 2, 0xAABBCCDD), 0x112233445566CCDDull);
    assert_int_equal(rvmm_pio_merge(rax, 4, 0xAABBCCDD), 0x00000000AABBCCDDull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_form),
        cmocka_unit_test(operand_size_prefix_makes_16_bits),
        cmocka_unit_test(other_instructions_are_refused),
        cmocka_unit_test(in_merges_like_the_cpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

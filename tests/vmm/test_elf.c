#include "internal.h"

#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MEM_SIZE (4u << 20)
#define LO       RVMM_IMAGE_BASE
#define HI       (RVMM_GUEST_BASE + MEM_SIZE - RVMM_STACK_SIZE)

/* A minimal valid image: one executable segment of 16 bytes at LO. */
typedef struct {
    Elf64_Ehdr eh;
    Elf64_Phdr ph;
    uint8_t code[16];
} image;

static void valid(image *im)
{
    memset(im, 0, sizeof *im);
    memcpy(im->eh.e_ident, ELFMAG, SELFMAG);
    im->eh.e_ident[EI_CLASS] = ELFCLASS64;
    im->eh.e_ident[EI_DATA] = ELFDATA2LSB;
    im->eh.e_ident[EI_VERSION] = EV_CURRENT;
    im->eh.e_type = ET_EXEC;
    im->eh.e_machine = EM_X86_64;
    im->eh.e_version = EV_CURRENT;
    im->eh.e_entry = LO;
    im->eh.e_phoff = offsetof(image, ph);
    im->eh.e_ehsize = sizeof(Elf64_Ehdr);
    im->eh.e_phentsize = sizeof(Elf64_Phdr);
    im->eh.e_phnum = 1;
    im->ph.p_type = PT_LOAD;
    im->ph.p_flags = PF_R | PF_X;
    im->ph.p_offset = offsetof(image, code);
    im->ph.p_vaddr = LO;
    im->ph.p_filesz = sizeof im->code;
    im->ph.p_memsz = 64;
    memset(im->code, 0xCC, sizeof im->code);
}

static uint8_t *mem;

static int setup(void **state)
{
    mem = calloc(1, MEM_SIZE);
    return mem ? 0 : -1;
}

static int teardown(void **state)
{
    free(mem);
    return 0;
}

static int load(const image *im, size_t size, pmb_error *err)
{
    uint64_t entry = 0;
    return rvmm_elf_load((const uint8_t *)im, size, mem, LO, HI, &entry, err);
}

static void loads_a_valid_image(void **state)
{
    image im;
    valid(&im);
    memset(mem, 0x55, MEM_SIZE);
    uint64_t entry = 0;
    pmb_error err = {0};
    assert_int_equal(rvmm_elf_load((const uint8_t *)&im, sizeof im, mem, LO, HI, &entry, &err),
                     PMB_OK);
    assert_int_equal(entry, LO);
    uint8_t *at = mem + (LO - RVMM_GUEST_BASE);
    assert_int_equal(at[0], 0xCC);
    assert_int_equal(at[15], 0xCC);
    assert_int_equal(at[16], 0); /* the rest of p_memsz is zeroed */
    assert_int_equal(at[63], 0);
    assert_int_equal(at[64], 0x55);
}

static void expect_refusal(image *im, size_t size, const char *msg)
{
    pmb_error err = {0};
    memset(mem, 0x55, MEM_SIZE);
    assert_int_equal(load(im, size, &err), RVMM_EINPUT);
    if (strstr(err.msg, msg) == NULL)
        fail_msg("'%s' lacks '%s'", err.msg, msg);
    /* A refused image leaves guest memory untouched. */
    assert_int_equal(mem[LO - RVMM_GUEST_BASE], 0x55);
}

static void refusals(void **state)
{
    image im;
    valid(&im);
    expect_refusal(&im, 10, "not an ELF file");
    valid(&im);
    im.eh.e_ident[0] = 0;
    expect_refusal(&im, sizeof im, "not an ELF file");
    valid(&im);
    im.eh.e_ident[EI_CLASS] = ELFCLASS32;
    expect_refusal(&im, sizeof im, "not a 64-bit");
    valid(&im);
    im.eh.e_machine = EM_AARCH64;
    expect_refusal(&im, sizeof im, "not an x86-64 program");
    valid(&im);
    im.eh.e_type = ET_DYN;
    expect_refusal(&im, sizeof im, "not a static executable");
    valid(&im);
    im.eh.e_phoff = 1u << 30;
    expect_refusal(&im, sizeof im, "program headers beyond the end");
    valid(&im);
    im.eh.e_phnum = 0xFFFF;
    expect_refusal(&im, sizeof im, "program headers beyond the end");
    valid(&im);
    im.ph.p_vaddr = RVMM_GUEST_BASE; /* over the boot page */
    im.eh.e_entry = RVMM_GUEST_BASE;
    expect_refusal(&im, sizeof im, "outside guest memory");
    valid(&im);
    im.ph.p_vaddr = HI - 8; /* into the stacks */
    im.eh.e_entry = HI - 8;
    expect_refusal(&im, sizeof im, "outside guest memory");
    valid(&im);
    im.ph.p_memsz = UINT64_MAX; /* wraps around */
    expect_refusal(&im, sizeof im, "outside guest memory");
    valid(&im);
    im.ph.p_filesz = 100;
    expect_refusal(&im, sizeof im, "file size 100 above its memory size 64");
    valid(&im);
    im.ph.p_offset = UINT64_MAX - 4;
    expect_refusal(&im, sizeof im, "beyond the end of the file");
    valid(&im);
    im.eh.e_entry = LO + 64;
    expect_refusal(&im, sizeof im, "entry point 0x10100040 is not in an executable segment");
    valid(&im);
    im.ph.p_flags = PF_R;
    expect_refusal(&im, sizeof im, "not in an executable segment");
    valid(&im);
    im.ph.p_type = PT_INTERP;
    expect_refusal(&im, sizeof im, "interpreter");
    valid(&im);
    im.ph.p_type = PT_NOTE;
    expect_refusal(&im, sizeof im, "no loadable segment");
}

static void the_builtin_guest_loads(void **state)
{
    uint64_t entry = 0;
    pmb_error err = {0};
    assert_int_equal(
        rvmm_elf_load(rvmm_builtin_guest, rvmm_builtin_guest_size, mem, LO, HI, &entry, &err),
        PMB_OK);
    assert_true(entry >= LO && entry < HI);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_a_valid_image),
        cmocka_unit_test(refusals),
        cmocka_unit_test(the_builtin_guest_loads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* The guest loader: a static x86-64 ELF executable, validated completely
 * before a byte of it is copied, since --guest takes any file a user gives. */
#include "internal.h"

#include <elf.h>
#include <string.h>

int rvmm_elf_load(const uint8_t *image, size_t size, uint8_t *mem, uint64_t lo, uint64_t hi,
                  uint64_t *entry, pmb_error *err)
{
    Elf64_Ehdr eh;
    if (size < sizeof eh || memcmp(image, ELFMAG, SELFMAG) != 0)
        return pmb_error_set(err, RVMM_EINPUT, "not an ELF file");
    memcpy(&eh, image, sizeof eh);
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
        return pmb_error_set(err, RVMM_EINPUT, "not a 64-bit little-endian ELF file");
    if (eh.e_machine != EM_X86_64)
        return pmb_error_set(err, RVMM_EINPUT, "not an x86-64 program (e_machine %u)",
                             eh.e_machine);
    if (eh.e_type != ET_EXEC)
        return pmb_error_set(err, RVMM_EINPUT,
                             "not a static executable (e_type %u; link with -static -no-pie)",
                             eh.e_type);
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0)
        return pmb_error_set(err, RVMM_EINPUT, "no usable program headers");
    if (eh.e_phoff > size || (size - eh.e_phoff) / sizeof(Elf64_Phdr) < eh.e_phnum)
        return pmb_error_set(err, RVMM_EINPUT, "program headers beyond the end of the file");
    bool entry_ok = false;
    size_t loads = 0;
    /* Every check first, so a refused file leaves guest memory untouched. */
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            memcpy(&ph, image + eh.e_phoff + (size_t)i * sizeof ph, sizeof ph);
            if (ph.p_type == PT_INTERP)
                return pmb_error_set(err, RVMM_EINPUT,
                                     "segment %u asks for an interpreter: link with -static", i);
            if (ph.p_type == PT_DYNAMIC)
                return pmb_error_set(err, RVMM_EINPUT,
                                     "segment %u: dynamic linking is not "
                                     "supported",
                                     i);
            if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
                continue;
            if (pass == 1) {
                uint8_t *dst = mem + (ph.p_vaddr - RVMM_GUEST_BASE);
                memcpy(dst, image + ph.p_offset, ph.p_filesz);
                memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
                continue;
            }
            if (ph.p_filesz > ph.p_memsz)
                return pmb_error_set(
                    err, RVMM_EINPUT, "segment %u: file size %llu above its memory size %llu", i,
                    (unsigned long long)ph.p_filesz, (unsigned long long)ph.p_memsz);
            if (ph.p_offset > size || size - ph.p_offset < ph.p_filesz)
                return pmb_error_set(err, RVMM_EINPUT, "segment %u: beyond the end of the file", i);
            if (ph.p_vaddr < lo || ph.p_vaddr > hi || hi - ph.p_vaddr < ph.p_memsz)
                return pmb_error_set(err, RVMM_EINPUT,
                                     "segment %u at 0x%llx-0x%llx is outside guest memory "
                                     "0x%llx-0x%llx",
                                     i, (unsigned long long)ph.p_vaddr,
                                     (unsigned long long)(ph.p_vaddr + ph.p_memsz),
                                     (unsigned long long)lo, (unsigned long long)hi);
            if ((ph.p_flags & PF_X) && eh.e_entry >= ph.p_vaddr &&
                eh.e_entry - ph.p_vaddr < ph.p_memsz)
                entry_ok = true;
            loads++;
        }
        if (pass == 0 && loads == 0)
            return pmb_error_set(err, RVMM_EINPUT, "no loadable segment");
        if (pass == 0 && !entry_ok)
            return pmb_error_set(err, RVMM_EINPUT,
                                 "entry point 0x%llx is not in an executable segment",
                                 (unsigned long long)eh.e_entry);
    }
    *entry = eh.e_entry;
    return PMB_OK;
}

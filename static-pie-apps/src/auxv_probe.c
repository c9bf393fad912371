/* auxv_probe: what a program sees at startup — argc/argv, the environment,
 * the auxiliary vector and the memory layout.
 *
 * Output contract (the tests rely on it):
 *   - lines starting with "addr:" hold addresses; they change with ASLR and are
 *     never compared with a native run, but are compared between boots;
 *   - lines starting with "host:" depend on how or where the program was
 *     launched (path of the executable, raw HWCAP bits, the set of auxv
 *     entries); they are not compared with a native run either;
 *   - every other line must be identical natively and under elfin, given the
 *     same argv and environment.
 * The environment is printed sorted, since a native launcher may order it
 * differently from the guest. */
#define _GNU_SOURCE
#include <elf.h> /* Elf64_*: both supported arches are 64-bit */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>
#include "errname.h"

extern char **environ;
/* The ELF header of this very image: GNU ld defines it when the headers are
 * in a loaded segment, which they are for static-pie. */
extern const Elf64_Ehdr __ehdr_start __attribute__((visibility("hidden")));

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void show_val(const char *name, unsigned long type)
{
    unsigned long v;

    errno = 0;
    v = getauxval(type);
    if (v == 0 && errno == ENOENT)
        printf("%s: absent\n", name);
    else
        printf("%s: %lu\n", name, v);
}

static void show_str(const char *name, unsigned long type)
{
    const char *s = (const char *)getauxval(type);

    printf("%s: %s\n", name, s ? s : "(absent)");
}

static const char *yes(int c)
{
    return c ? "yes" : "NO";
}

int main(int argc, char **argv)
{
    /* Aligned local, its address laundered through an empty asm so that the
     * compiler cannot fold the alignment test to a constant. */
    _Alignas(16) volatile char aligned_local[16];
    uintptr_t sp_probe = (uintptr_t)aligned_local;
    __asm__ volatile("" : "+r"(sp_probe));
    aligned_local[0] = 1;

    int envc = 0;
    while (environ[envc])
        envc++;
    char **envp = environ;
    Elf64_auxv_t *auxv = (Elf64_auxv_t *)(envp + envc + 1);

    /* --- argv and environment --- */
    printf("argc: %d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]: %s\n", i, argv[i]);
    printf("argv[argc] is NULL: %s\n", yes(argv[argc] == NULL));
    printf("envc: %d\n", envc);
    char **sorted = calloc((size_t)envc + 1, sizeof *sorted);
    if (!sorted)
        return 1;
    memcpy(sorted, envp, (size_t)envc * sizeof *sorted);
    qsort(sorted, (size_t)envc, sizeof *sorted, cmp_str);
    for (int i = 0; i < envc; i++)
        printf("env: %s\n", sorted[i]);
    printf("envp follows argv: %s\n", yes(envp == argv + argc + 1));

    /* --- auxiliary vector --- */
    int auxv_ok = 0;
    printf("host: auxv types:");
    for (Elf64_auxv_t *a = auxv; a->a_type != AT_NULL; a++) {
        printf(" %lu", (unsigned long)a->a_type);
        if (a->a_type == AT_PAGESZ && a->a_un.a_val == getauxval(AT_PAGESZ))
            auxv_ok = 1;
    }
    printf("\n");
    printf("auxv follows envp: %s\n", yes(auxv_ok));
    show_val("AT_PAGESZ", AT_PAGESZ);
    show_val("AT_PHENT", AT_PHENT);
    show_val("AT_PHNUM", AT_PHNUM);
    show_val("AT_FLAGS", AT_FLAGS);
    show_val("AT_UID", AT_UID);
    show_val("AT_EUID", AT_EUID);
    show_val("AT_GID", AT_GID);
    show_val("AT_EGID", AT_EGID);
    show_val("AT_SECURE", AT_SECURE);
    show_val("AT_CLKTCK", AT_CLKTCK);
    unsigned long hwcap = getauxval(AT_HWCAP);
    printf("AT_HWCAP nonzero: %s\n", yes(hwcap != 0));
    printf("host: AT_HWCAP=0x%lx\n", hwcap);
    show_str("AT_PLATFORM", AT_PLATFORM);
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    const char *slash = execfn ? strrchr(execfn, '/') : NULL;
    printf("AT_EXECFN basename: %s\n", execfn ? (slash ? slash + 1 : execfn) : "(absent)");
    printf("host: AT_EXECFN=%s\n", execfn ? execfn : "(absent)");
    const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
    int rnd_nonzero = 0;
    if (rnd)
        for (int i = 0; i < 16; i++)
            rnd_nonzero |= rnd[i];
    printf("AT_RANDOM non-null: %s\n", yes(rnd != NULL));
    printf("AT_RANDOM bytes not all zero: %s\n", yes(rnd_nonzero));
    printf("AT_BASE is zero (no interpreter): %s\n", yes(getauxval(AT_BASE) == 0));

    /* --- the image as loaded, relative to its own base --- */
    uintptr_t base = (uintptr_t)&__ehdr_start;
    uintptr_t phdr = getauxval(AT_PHDR), entry = getauxval(AT_ENTRY);
    printf("image base page-aligned: %s\n", yes((base & 0xfff) == 0));
    printf("ELF magic at image base: %s\n", yes(memcmp(__ehdr_start.e_ident, ELFMAG, SELFMAG) == 0));
    printf("AT_PHDR - base: 0x%lx\n", (unsigned long)(phdr - base));
    printf("AT_ENTRY - base: 0x%lx\n", (unsigned long)(entry - base));
    printf("AT_ENTRY == base + e_entry: %s\n", yes(entry == base + __ehdr_start.e_entry));
    printf("AT_PHNUM == e_phnum: %s\n", yes(getauxval(AT_PHNUM) == __ehdr_start.e_phnum));
    printf("main - base: 0x%lx\n", (unsigned long)((uintptr_t)&main - base));

    /* --- stack --- */
    printf("stack 16-byte aligned at main: %s\n", (sp_probe & 15) == 0 ? "ok" : "MISALIGNED");

    /* --- memory --- */
    void *heap = malloc(64);
    void *map = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("malloc: %s\n", heap ? "ok" : "FAILED");
    printf("mmap: %s\n", map != MAP_FAILED ? "ok" : errname(errno));
    if (map != MAP_FAILED) {
        int zero = 1;
        for (int i = 0; i < 8192; i++)
            zero &= ((unsigned char *)map)[i] == 0;
        ((unsigned char *)map)[8191] = 0xab;
        printf("mmap zero-filled and writable: %s\n", yes(zero && ((unsigned char *)map)[8191] == 0xab));
        printf("munmap: %s\n", munmap(map, 8192) == 0 ? "ok" : errname(errno));
    }

    printf("addr: code 0x%lx\n", (unsigned long)(uintptr_t)&main);
    printf("addr: stack 0x%lx\n", (unsigned long)sp_probe);
    printf("addr: heap 0x%lx\n", (unsigned long)(uintptr_t)heap);
    printf("addr: mmap 0x%lx\n", (unsigned long)(uintptr_t)map);
    printf("addr: AT_PHDR 0x%lx\n", (unsigned long)phdr);
    printf("addr: AT_ENTRY 0x%lx\n", (unsigned long)entry);
    printf("addr: AT_BASE 0x%lx\n", getauxval(AT_BASE));
    printf("addr: AT_RANDOM 0x%lx\n", (unsigned long)(uintptr_t)rnd);
    free(heap);
    free(sorted);
    return 0;
}

/* mm_probe: the mmap family as Linux defines it — anonymous and file mappings,
 * MAP_FIXED / MAP_FIXED_NOREPLACE / hints, partial munmap, mprotect splits and
 * PROT_NONE, mremap (in place, moves, MREMAP_FIXED, MREMAP_DONTUNMAP), madvise,
 * mincore, msync, brk, stack growth, RLIMIT_AS, overcommit — with the VMA layout
 * of /proc/self/maps around a private test region.
 *
 * Output is deterministic: addresses are printed relative to a base the probe
 * reserved itself, errors by errno name, data by value. Run it natively and in
 * elfin: the outputs must be equal. Takes a writable directory (default /tmp)
 * for its scratch file. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "errname.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MADV_FREE
#define MADV_FREE 8
#endif

#define P 4096UL
static char *base; /* 256 pages reserved for the tests below */
#define AT(i) (base + (i) * P)

static void res(const char *what, long r)
{
    if (r == -1)
        printf("%s: %s\n", what, errname(errno));
    else
        printf("%s: ok\n", what);
}

static void resp(const char *what, void *p)
{
    if (p == MAP_FAILED)
        printf("%s: %s\n", what, errname(errno));
    else if ((char *)p >= base && (char *)p < base + 256 * P)
        printf("%s: base+%lu pages\n", what, (unsigned long)(((char *)p - base) / P));
    else
        printf("%s: ok (outside the test region)\n", what);
}

/* The VMAs of /proc/self/maps inside [lo, hi), relative to base, in pages. */
/* /proc/self/maps read with open/read into a static buffer: no stdio buffer (musl
 * mmaps one) appears in the listing it reads. */
static char mapsbuf[1 << 16];

static size_t read_maps(void)
{
    int fd = open("/proc/self/maps", O_RDONLY);
    size_t n = 0;
    ssize_t r;
    if (fd < 0)
        return 0;
    while (n < sizeof mapsbuf - 1 && (r = read(fd, mapsbuf + n, sizeof mapsbuf - 1 - n)) > 0)
        n += (size_t)r;
    close(fd);
    mapsbuf[n] = 0;
    return n;
}

/* The VMAs of /proc/self/maps inside [lo, hi), relative to origin, in pages. */
static void maps_between(const char *title, char *lo, char *hi, char *origin)
{
    printf("maps %s:\n", title);
    if (!read_maps()) {
        printf("  open: %s\n", errname(errno));
        return;
    }
    for (char *line = mapsbuf; *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        unsigned long s, e, off;
        char perms[8];
        int name_at = 0;
        if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %n", &s, &e, perms, &off, &name_at) >= 4 && (char *)e > lo &&
            (char *)s < hi) {
            char *name = line + name_at;
            const char *kind = !*name ? "anon" : name[0] == '[' ? name : strstr(name, "mm_probe.") ? "file" : "other";
            printf("  %+ld..%+ld %s off=%lu %s\n", (long)(((char *)s - origin) / (long)P),
                   (long)(((char *)e - origin) / (long)P), perms, off / P, kind);
        }
        if (!nl)
            break;
        line = nl + 1;
    }
}

static void maps(const char *title)
{
    maps_between(title, base, base + 256 * P, base);
}

static void fill(int first, int n)
{
    for (int i = first; i < first + n; i++)
        memset(AT(i), 'A' + i % 26, P);
}

static void show(const char *what, int first, int n)
{
    printf("%s:", what);
    for (int i = first; i < first + n; i++)
        printf(" %c", AT(i)[0] ? AT(i)[P / 2] : '0');
    printf("\n");
}

static void mincore_show(const char *what, void *p, int n)
{
    unsigned char v[64];
    if (mincore(p, n * P, v) != 0) {
        printf("%s: %s\n", what, errname(errno));
        return;
    }
    printf("%s: ", what);
    for (int i = 0; i < n; i++)
        putchar('0' + (v[i] & 1));
    putchar('\n');
}

static void *fixed(int page, int n, int prot)
{
    return mmap(AT(page), n * P, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

static void anonymous(void)
{
    printf("== anonymous\n");
    res("mmap len 0", (long)(intptr_t)mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == -1 ? -1 : 0);
    resp("mmap misaligned offset", mmap(NULL, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 1));
    resp("mmap no type", mmap(NULL, P, PROT_READ, MAP_ANONYMOUS, -1, 0));
    resp("mmap bad fd", mmap(NULL, P, PROT_READ, MAP_PRIVATE, -1, 0));
    resp("mmap fixed misaligned", mmap(AT(1) + 1, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    resp("mmap huge", mmap(NULL, 1UL << 62, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    resp("mmap fixed beyond user space", mmap((void *)0x7ffffffff000UL, 2 * P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    resp("mmap shared anonymous", mmap(NULL, P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));

    /* Sixteen pages, each filled with its own letter. */
    resp("mmap fixed 16 pages at 0", fixed(0, 16, PROT_READ | PROT_WRITE));
    fill(0, 16);
    maps("16 pages");
    res("munmap pages 4..6", munmap(AT(4), 3 * P));
    maps("after munmap of a middle part");
    show("data 0..3", 0, 4);
    show("data 7..15", 7, 9);
    res("munmap len 0", munmap(AT(0), 0));
    res("munmap misaligned", munmap(AT(0) + 1, P));
    res("munmap unmapped", munmap(AT(4), P));
    res("munmap unaligned length", munmap(AT(15), 1));
    maps("after munmap of page 15 by length 1");

    res("mprotect 8..9 read-only", mprotect(AT(8), 2 * P, PROT_READ));
    maps("mprotect splits");
    res("mprotect 8..9 back to rw", mprotect(AT(8), 2 * P, PROT_READ | PROT_WRITE));
    maps("mprotect back merges");
    res("mprotect misaligned", mprotect(AT(8) + 1, P, PROT_READ));
    res("mprotect bad prot", mprotect(AT(8), P, 0x80));
    res("mprotect len 0", mprotect(AT(4), 0, PROT_READ));
    res("mprotect over a hole", mprotect(AT(2), 4 * P, PROT_READ));
    maps("after mprotect over a hole (the part before it changed)");
    res("mprotect unmapped start", mprotect(AT(4), P, PROT_READ));
    res("mprotect 10 none", mprotect(AT(10), P, PROT_NONE));
    res("mprotect 10 read", mprotect(AT(10), P, PROT_READ));
    show("data 10 after PROT_NONE and back", 10, 1);
    res("mprotect growsdown on a normal mapping", mprotect(AT(10), P, PROT_READ | PROT_GROWSDOWN));
    res("mprotect growsdown|growsup", mprotect(AT(10), P, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP));

    /* Neighbours with the same rights merge; NOREPLACE refuses to replace. */
    resp("mmap fixed 20..21", fixed(20, 2, PROT_READ | PROT_WRITE));
    resp("mmap fixed 22..23", fixed(22, 2, PROT_READ | PROT_WRITE));
    resp("mmap fixed 24 read-only", fixed(24, 1, PROT_READ));
    maps("neighbours");
    resp("mmap noreplace over 21", mmap(AT(21), P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0));
    resp("mmap noreplace at 26", mmap(AT(26), P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0));
    fill(20, 4);
    resp("mmap fixed over 21 (replaces)", fixed(21, 1, PROT_READ | PROT_WRITE));
    show("data 20..23", 20, 4);
    maps("after replacing 21");

    /* Hints: taken when free (rounded up to a page), ignored when not. */
    resp("mmap hint at free 40", mmap(AT(40), P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    resp("mmap hint at 41 + 1 byte", mmap(AT(41) + 1, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    void *elsewhere = mmap(AT(40), P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap hint at busy 40: %s\n", elsewhere == AT(40) ? "same" : elsewhere == MAP_FAILED ? "failed" : "elsewhere");
    munmap(elsewhere, P);

    /* MAP_POPULATE commits at once; untouched memory is not resident. */
    resp("mmap populate 50..53", mmap(AT(50), 4 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, -1, 0));
    mincore_show("mincore populated", AT(50), 4);
    resp("mmap 54..57", fixed(54, 4, PROT_READ | PROT_WRITE));
    AT(55)[0] = 1;
    AT(57)[100] = 1;
    mincore_show("mincore 54..57 after touching 55 and 57", AT(54), 4);
    mincore_show("mincore misaligned", AT(54) + 1, 1);
    mincore_show("mincore unmapped", AT(60), 1);
    res("madvise dontneed 55", madvise(AT(55), P, MADV_DONTNEED));
    mincore_show("mincore after dontneed", AT(54), 4);
    printf("55 reads %d after dontneed\n", AT(55)[0]);
    res("madvise free 57", madvise(AT(57), P, MADV_FREE));
    res("madvise bad advice", madvise(AT(54), P, 12345));
    res("madvise misaligned", madvise(AT(54) + 1, P, MADV_NORMAL));
    res("madvise over a hole", madvise(AT(56), 8 * P, MADV_WILLNEED));
    res("madvise len 0", madvise(AT(70), 0, MADV_DONTNEED));
    res("madvise sequential", madvise(AT(54), 4 * P, MADV_SEQUENTIAL));
}

static void remap(void)
{
    printf("== mremap\n");
    munmap(base, 256 * P);
    resp("mmap 100..101", fixed(100, 2, PROT_READ | PROT_WRITE));
    fill(100, 2);
    resp("grow in place to 4", mremap(AT(100), 2 * P, 4 * P, 0));
    resp("shrink to 1", mremap(AT(100), 4 * P, 1 * P, 0));
    maps("after grow and shrink");
    resp("mmap 102 blocker", fixed(102, 1, PROT_READ));
    resp("grow blocked, no MAYMOVE", mremap(AT(100), P, 3 * P, 0));
    void *moved = mremap(AT(100), P, 3 * P, MREMAP_MAYMOVE);
    printf("grow blocked, MAYMOVE: %s\n", moved == MAP_FAILED ? errname(errno) : moved == AT(100) ? "same place" : "moved");
    if (moved != MAP_FAILED) {
        printf("moved data: %c, new tail reads %d\n", ((char *)moved)[P / 2], ((char *)moved)[2 * P]);
        resp("fixed move back to 110", mremap(moved, 3 * P, 3 * P, MREMAP_MAYMOVE | MREMAP_FIXED, AT(110)));
        show("data 110", 110, 1);
    }
    maps("after the moves");
    resp("fixed without MAYMOVE", mremap(AT(110), P, P, MREMAP_FIXED, AT(120)));
    resp("fixed overlapping", mremap(AT(110), 3 * P, 3 * P, MREMAP_MAYMOVE | MREMAP_FIXED, AT(111)));
    resp("fixed misaligned target", mremap(AT(110), P, P, MREMAP_MAYMOVE | MREMAP_FIXED, AT(120) + 1));
    resp("fixed shrinking move", mremap(AT(110), 3 * P, P, MREMAP_MAYMOVE | MREMAP_FIXED, AT(130)));
    show("data 130", 130, 1);
    maps("after a shrinking fixed move");
    resp("unmapped old", mremap(AT(140), P, 2 * P, MREMAP_MAYMOVE));
    resp("mmap 150..151 rw", fixed(150, 2, PROT_READ | PROT_WRITE));
    resp("mmap 152 ro", fixed(152, 1, PROT_READ));
    resp("old range across VMAs", mremap(AT(150), 3 * P, 4 * P, MREMAP_MAYMOVE));
    resp("misaligned old", mremap(AT(150) + 1, P, P, 0));
    resp("bad flags", mremap(AT(150), P, P, 8));
    resp("new_len 0", mremap(AT(150), P, 0, 0));
    resp("old_len 0 of a private mapping", mremap(AT(150), 0, P, MREMAP_MAYMOVE));
    fill(150, 2);
    void *d = mremap(AT(150), 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, AT(160));
    printf("dontunmap: %s\n", d == MAP_FAILED ? errname(errno) : "ok");
    if (d != MAP_FAILED) {
        printf("dontunmap: new reads %c, old reads %d\n", ((char *)d)[P / 2], AT(150)[P / 2]);
        munmap(d, 2 * P);
    }
    resp("dontunmap with a new size", mremap(AT(150), 2 * P, 3 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP));
    maps("end of mremap");
}

/* A page shared copy-on-write after fork stays so when mremap moves it: the
 * child's write after the move must not reach the parent's page. */
static void remap_after_fork(void)
{
    printf("== mremap after fork\n");
    char *p = mmap(NULL, 2 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *dst = mmap(NULL, 16 * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED || dst == MAP_FAILED) {
        printf("mmap: %s\n", errname(errno));
        return;
    }
    p[0] = 'P';
    p[P] = 'Q';
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        char *q = mremap(p, 2 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
        if (q == MAP_FAILED)
            _exit(1);
        q[0] = 'C';
        mprotect(q, 4 * P, PROT_READ);
        mprotect(q, 4 * P, PROT_READ | PROT_WRITE);
        q[P] = 'D';
        _exit(q[0] == 'C' && q[P] == 'D' ? 0 : 2);
    }
    int st = 0;
    waitpid(c, &st, 0);
    printf("child status %d, parent reads %c %c\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1, p[0], p[P]);
    munmap(p, 2 * P);
    munmap(dst, 16 * P);
}

/* Calls on a huge, sparsely touched range cost what is mapped in it. */
static void sparse(void)
{
    printf("== sparse\n");
    size_t len = (size_t)64 << 30;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        printf("mmap 64 GiB: %s\n", errname(errno));
        return;
    }
    p[0] = 1;
    p[len / 2] = 2;
    p[len - 1] = 3;
    res("mprotect none", mprotect(p, len, PROT_NONE));
    res("mprotect rw", mprotect(p, len, PROT_READ | PROT_WRITE));
    printf("reads %d %d %d\n", p[0], p[len / 2], p[len - 1]);
    res("madvise dontneed half", madvise(p, len / 2, MADV_DONTNEED));
    printf("reads %d %d %d\n", p[0], p[len / 2], p[len - 1]);
    res("munmap", munmap(p, len));
}

static void files(const char *dir)
{
    printf("== files\n");
    munmap(base, 256 * P);
    char path[256];
    snprintf(path, sizeof path, "%s/mm_probe.%d", dir, (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        printf("open: %s\n", errname(errno));
        return;
    }
    static char buf[3 * 4096 + 100];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = 'a' + (i / 4096) + (i % 7 == 0);
    printf("write: %zd\n", write(fd, buf, sizeof buf));

    char *pr = mmap(AT(10), 5 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0);
    resp("private map of 5 pages (file has 3 and a bit)", pr);
    printf("private reads: %c %c %c %c, beyond EOF in the last page: %d\n", pr[1], pr[P + 1], pr[2 * P + 1], pr[3 * P + 99],
           pr[3 * P + 100]);
    pr[0] = 'X';
    char c = 0;
    printf("pread after a private write: %zd %c\n", pread(fd, &c, 1, 0), c);
    mincore_show("mincore of the private file mapping (4 pages)", pr, 4);

    char *sh = mmap(AT(20), 4 * P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
    resp("shared map", sh);
    char *sh2 = mmap(AT(30), 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, fd, P);
    resp("second shared map at offset 1 page", sh2);
    sh[P + 5] = 'S';
    printf("second mapping sees the write: %c\n", sh2[5]);
    printf("pread sees the write: %zd %c\n", pread(fd, &c, 1, P + 5), c);
    printf("pwrite: %zd\n", pwrite(fd, "W", 1, P + 6));
    printf("mappings see pwrite: %c %c\n", sh[P + 6], sh2[6]);
    res("msync MS_SYNC", msync(sh, 4 * P, MS_SYNC));
    res("msync MS_ASYNC|MS_SYNC", msync(sh, P, MS_ASYNC | MS_SYNC));
    res("msync misaligned", msync(sh + 1, P, MS_SYNC));
    res("msync bad flags", msync(sh, P, 64));
    res("msync unmapped", msync(AT(40), P, MS_SYNC));
    res("msync over a hole", msync(AT(30), 4 * P, MS_ASYNC));
    maps("file mappings");
    res("mprotect shared ro mapping of a rw file to rw", mprotect(sh2, P, PROT_READ | PROT_WRITE));
    res("munmap shared", munmap(sh, 4 * P));
    printf("pread after munmap: %zd %c\n", pread(fd, &c, 1, P + 5), c);
    printf("second mapping still reads: %c\n", sh2[5]);
    res("madvise dontneed on private file page", madvise(pr, P, MADV_DONTNEED));
    printf("private page 0 reads the file again: %c\n", pr[0]);
    res("madvise free on a file mapping", madvise(pr, P, MADV_FREE));
    munmap(AT(0), 64 * P);
    close(fd);

    int ro = open(path, O_RDONLY);
    resp("shared rw map of an O_RDONLY fd", mmap(NULL, P, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0));
    char *pro = mmap(AT(50), P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, ro, 0);
    resp("private rw map of an O_RDONLY fd", pro);
    char *sro = mmap(AT(52), P, PROT_READ, MAP_SHARED | MAP_FIXED, ro, 0);
    resp("shared ro map of an O_RDONLY fd", sro);
    res("mprotect it to rw", mprotect(sro, P, PROT_READ | PROT_WRITE));
    close(ro);
    int wo = open(path, O_WRONLY);
    resp("map of an O_WRONLY fd", mmap(NULL, P, PROT_READ, MAP_PRIVATE, wo, 0));
    close(wo);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    resp("map of a directory", mmap(NULL, P, PROT_READ, MAP_PRIVATE, dfd, 0));
    close(dfd);
    int z = open("/dev/zero", O_RDWR);
    char *zp = mmap(AT(60), 2 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, z, 0);
    resp("private map of /dev/zero", zp);
    if (zp != MAP_FAILED)
        printf("/dev/zero reads %d\n", zp[P]);
    close(z);
    int nul = open("/dev/null", O_RDWR);
    resp("map of /dev/null", mmap(NULL, P, PROT_READ, MAP_PRIVATE, nul, 0));
    close(nul);
    unlink(path);
    munmap(base, 256 * P);
}

static void heap(void)
{
    printf("== brk\n");
    char *b0 = (char *)syscall(SYS_brk, 0);
    char *b1 = (char *)syscall(SYS_brk, b0 + 100000);
    printf("grow by 100000: %s\n", b1 == b0 + 100000 ? "ok" : "failed");
    memset(b0, 1, 100000);
    char *b2 = (char *)syscall(SYS_brk, b0 + 5000);
    printf("shrink to +5000: %s\n", b2 == b0 + 5000 ? "ok" : "failed");
    char *b3 = (char *)syscall(SYS_brk, b0 + 100000);
    printf("grow again: %s, reads %d %d\n", b3 == b0 + 100000 ? "ok" : "failed", b0[100], b0[90000]);
    char *b4 = (char *)syscall(SYS_brk, (char *)4096);
    printf("below the start: %s\n", b4 == b3 ? "unchanged" : "moved");
    char *b5 = (char *)syscall(SYS_brk, (char *)0x7ffffffff000UL);
    printf("into the stack: %s\n", b5 == b3 ? "unchanged" : "moved");
    maps_between("around the break (pages from its start)", b0 - P, b0 + 200 * P, b0);
    syscall(SYS_brk, b0);
}

static long deep(int n)
{
    volatile char pad[64 * 1024];
    pad[0] = (char)n;
    pad[sizeof pad - 1] = (char)n;
    return n == 0 ? pad[0] : deep(n - 1) + pad[sizeof pad - 1];
}

static void stack(void)
{
    printf("== stack\n");
    printf("recursion through 6 MiB of stack: %ld\n", deep(96));
    read_maps();
    char *st = strstr(mapsbuf, "[stack]");
    while (st && st > mapsbuf && st[-1] != '\n')
        st--;
    unsigned long s, e;
    if (st && sscanf(st, "%lx-%lx", &s, &e) == 2)
        printf("[stack] is at least 6 MiB: %s\n", e - s >= (6UL << 20) ? "yes" : "no");
}

static void limits(void)
{
    printf("== limits\n");
    void *huge = mmap(NULL, 64UL << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    resp("64 GiB PROT_NONE reservation", huge);
    res("munmap it", munmap(huge, 64UL << 30));
    resp("1 PiB read-write, accounted", mmap(NULL, 1UL << 50, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    struct rlimit old, r;
    getrlimit(RLIMIT_AS, &old);
    r.rlim_cur = 1UL << 30;
    r.rlim_max = old.rlim_max;
    res("setrlimit RLIMIT_AS 1 GiB", setrlimit(RLIMIT_AS, &r));
    void *small = mmap(NULL, 16 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    resp("16 MiB under RLIMIT_AS", small);
    resp("2 GiB over RLIMIT_AS", mmap(NULL, 2UL << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
    if (small != MAP_FAILED)
        resp("mremap 16 MiB to 2 GiB over RLIMIT_AS", mremap(small, 16 << 20, 2UL << 30, MREMAP_MAYMOVE));
    res("setrlimit back", setrlimit(RLIMIT_AS, &old));
    resp("MAP_GROWSDOWN|MAP_SHARED", mmap(NULL, P, PROT_READ, MAP_SHARED | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0));
    resp("MAP_SHARED_VALIDATE with an unknown flag (file)", mmap(NULL, P, PROT_READ, MAP_SHARED_VALIDATE | 0x800000, 0, 0));
}

/* --maps: the whole of /proc/self/maps, one line per VMA as "perms kind [pages]"
 * (pages and file offset for the program's own segments), without addresses.
 * The kernel's own [vvar]/[vdso]/[vsyscall] areas are skipped (elfin has none). */
static int dump_maps(void)
{
    char *heap = malloc(100); /* a [heap], as most programs have one */
    read_maps();
    for (char *line = mapsbuf; *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        unsigned long s, e, off;
        char perms[8];
        int name_at = 0;
        if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %n", &s, &e, perms, &off, &name_at) >= 4) {
            char *name = line + name_at;
            size_t nlen = strlen(name);
            if (!strncmp(name, "[vvar", 5) || !strcmp(name, "[vdso]") || !strcmp(name, "[vsyscall]")) {
                /* not in elfin */
            } else if (nlen >= 9 && !strcmp(name + nlen - 9, "/mm_probe")) {
                printf("%s exe %lu pages at page %lu\n", perms, (e - s) / P, off / P);
            } else {
                printf("%s %s\n", perms, *name ? name : "anon");
            }
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    free(heap);
    return 0;
}

/* Reads a whole /proc file into `buf` with plain read(2)s (no stdio: its buffer
   could itself become a new mapping between two reads). */
static size_t slurp(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    size_t n = 0;
    long r;
    while (fd >= 0 && n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
        n += r;
    if (fd >= 0)
        close(fd);
    buf[n] = 0;
    return n;
}

/* Prints the named fields of the /proc/self/smaps block of the area at `p`
   (sizes only with `sizes`: a file's Rss and dirtiness depend on the page cache). */
static void smaps_fields(const char *title, void *p, int sizes)
{
    static char sm[1 << 18], mp[1 << 16];
    slurp("/proc/self/smaps", sm, sizeof sm);
    slurp("/proc/self/maps", mp, sizeof mp);
    char want[32];
    snprintf(want, sizeof want, "%lx-", (unsigned long)p);
    int in = 0, headers = 0, lines = 0;
    static const char *fields[] = {"Size:", "KernelPageSize:", "MMUPageSize:", "Rss:", "Pss:", "Shared_Dirty:", "Private_Dirty:",
                                   "Anonymous:", "Swap:", "Locked:"};
    printf("%s:", title);
    for (char *line = sm; *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
            headers++;
            in = !strncmp(line, want, strlen(want));
        } else if (in) {
            for (unsigned i = 0; i < sizeof fields / sizeof *fields; i++) {
                size_t n = strlen(fields[i]);
                if (strncmp(line, fields[i], n))
                    continue;
                long v = atol(line + n);
                if (sizes || !strcmp(fields[i], "Size:") || !strcmp(fields[i], "Anonymous:"))
                    printf(" %s%ld", fields[i], v);
                else if (!strcmp(fields[i], "Rss:"))
                    printf(" %s%s", fields[i], v > 0 ? ">0" : "0");
            }
            if (!strncmp(line, "VmFlags:", 8))
                printf(" rd:%d wr:%d ex:%d", strstr(line, " rd ") != NULL, strstr(line, " wr ") != NULL,
                       strstr(line, " ex ") != NULL);
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    for (char *c = mp; *c; c++)
        lines += *c == '\n';
    /* Every area of maps has its block in smaps. */
    printf(" blocks=maps:%s\n", headers == lines ? "yes" : "no");
}

/* The fork advice flags smaps shows for the area at `p`: wf (MADV_WIPEONFORK),
   dc (MADV_DONTFORK). */
static void fork_flags(const char *what, void *p)
{
    static char sm[1 << 18];
    slurp("/proc/self/smaps", sm, sizeof sm);
    char want[32];
    snprintf(want, sizeof want, "%lx-", (unsigned long)p);
    char *blk = strstr(sm, want);
    char *vf = blk ? strstr(blk, "VmFlags:") : NULL;
    char *end = vf ? strchr(vf, '\n') : NULL;
    if (end)
        *end = 0;
    printf("%s: wf %d dc %d\n", what, vf && strstr(vf, " wf") != NULL, vf && strstr(vf, " dc") != NULL);
}

static const char *page_state(void *p)
{
    unsigned char v;
    if (mincore(p, P, &v) != 0)
        return errname(errno);
    return ((char *)p)[0] == 0 ? "zero" : ((char *)p)[0] == 'x' ? "kept" : "other";
}

/* What fork gives a child of a range advised MADV_WIPEONFORK (the range, empty)
   or MADV_DONTFORK (nothing: unmapped); a child keeps the wipe advice for its own
   children; KEEPONFORK and DOFORK undo them. WIPEONFORK is refused on shared
   memory, DONTFORK is not; the advice splits the area and shows in smaps. */
static void fork_advice(void)
{
    printf("== fork advice\n");
    /* Between two PROT_NONE pages, so that no neighbour merges with it. */
    char *g = mmap(NULL, 6 * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *p = mmap(g + P, 4 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    char *s = mmap(NULL, P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED || s == MAP_FAILED) {
        printf("mmap: %s\n", errname(errno));
        return;
    }
    memset(p, 'x', 4 * P);
    s[0] = 'x';
    res("WIPEONFORK on page 0", madvise(p, P, MADV_WIPEONFORK));
    res("DONTFORK on page 2", madvise(p + 2 * P, P, MADV_DONTFORK));
    res("WIPEONFORK on shared memory", madvise(s, P, MADV_WIPEONFORK));
    res("DONTFORK on shared memory", madvise(s, P, MADV_DONTFORK));
    maps_between("after the advice", p, p + 4 * P, p);
    fork_flags("page 0", p);
    fork_flags("page 1", p + P);
    fork_flags("page 2", p + 2 * P);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        printf("child: page 0 %s, page 1 %s, page 2 %s, page 3 %s, shared page %s\n", page_state(p),
               page_state(p + P), page_state(p + 2 * P), page_state(p + 3 * P), page_state(s));
        fork_flags("child's page 0", p);
        p[0] = 'c';
        fflush(stdout);
        pid_t g = fork();
        if (g == 0) {
            printf("grandchild: page 0 %s\n", page_state(p));
            fflush(stdout);
            _exit(0);
        }
        waitpid(g, NULL, 0);
        printf("child after its child: page 0 %c\n", p[0]);
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    printf("parent: page 0 %s, page 2 %s\n", page_state(p), page_state(p + 2 * P));
    res("KEEPONFORK on page 0", madvise(p, P, MADV_KEEPONFORK));
    res("DOFORK on page 2", madvise(p + 2 * P, P, MADV_DOFORK));
    res("DOFORK on shared memory", madvise(s, P, MADV_DOFORK));
    maps_between("after undoing it", p, p + 4 * P, p);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        printf("child: page 0 %s, page 2 %s, shared page %s\n", page_state(p), page_state(p + 2 * P), page_state(s));
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    munmap(g, 6 * P);
    munmap(s, P);
}

static void smaps(const char *dir)
{
    /* Between two PROT_NONE pages, so that no neighbour merges with it. */
    char *g = mmap(NULL, 18 * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *a = mmap(g + P, 16 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    for (int i = 0; i < 5; i++)
        a[i * 2 * P] = 1;
    smaps_fields("smaps: 16 anonymous pages, 5 touched", a, 1);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        /* Both processes map the five pages now: shared and dirty (what redis
           checks on arm64 for the copy-on-write bug). */
        smaps_fields("smaps: the same area in a forked child", a, 1);
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    char path[256];
    snprintf(path, sizeof path, "%s/mm_probe_smaps", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    char buf[4 * 4096];
    memset(buf, 'x', sizeof buf);
    write(fd, buf, sizeof buf);
    char *f = mmap(NULL, 4 * P, PROT_READ, MAP_PRIVATE, fd, 0);
    volatile char c = f[0];
    (void)c;
    smaps_fields("smaps: a private file mapping, one page read", f, 0);
    munmap(f, 4 * P);
    close(fd);
    unlink(path);
    munmap(g, 18 * P);
}

/* Vector registers hold their values across page faults: every register gets a
 * pattern, eight fresh pages are touched while they are live (each a fault that
 * zeroes a page), and the registers are read back. x86_64 checks the full ymm
 * registers when the CPU has AVX (and, after VZEROUPPER, that the upper halves
 * stay clear under SSE use), else xmm; aarch64 checks v0-v31. */
#if defined(__x86_64__)
#define VREGS 16
#define VBYTES 32
#define FAULTS(m) "movb $1, (" m ")\n movb $1, 4096(" m ")\n movb $1, 8192(" m ")\n movb $1, 12288(" m ")\n" \
                  "movb $1, 16384(" m ")\n movb $1, 20480(" m ")\n movb $1, 24576(" m ")\n movb $1, 28672(" m ")\n"
#define R16(op, fmt) op(0) op(1) op(2) op(3) op(4) op(5) op(6) op(7) op(8) op(9) op(10) op(11) op(12) op(13) op(14) op(15)
#define LD_Y(i) "vmovdqu " #i "*32(%0), %%ymm" #i "\n"
#define ST_Y(i) "vmovdqu %%ymm" #i ", " #i "*32(%1)\n"
#define LD_X(i) "movdqu " #i "*32(%0), %%xmm" #i "\n"
#define ST_X(i) "movdqu %%xmm" #i ", " #i "*32(%1)\n"
#define CLOBBERS "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", \
                 "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"
static int vector_pass(unsigned char *in, unsigned char *out, char *m, int mode)
{
    if (mode == 0) /* live upper halves */
        __asm__ volatile(R16(LD_Y, ) FAULTS("%2") R16(ST_Y, ) : : "r"(in), "r"(out), "r"(m) : CLOBBERS);
    else if (mode == 1) /* clean upper halves, SSE in use */
        __asm__ volatile("vzeroupper\n" R16(LD_X, ) FAULTS("%2") R16(ST_Y, ) : : "r"(in), "r"(out), "r"(m) : CLOBBERS);
    else /* no AVX: xmm only */
        __asm__ volatile(R16(LD_X, ) FAULTS("%2") R16(ST_X, ) : : "r"(in), "r"(out), "r"(m) : CLOBBERS);
    return mode == 2 ? 16 : 32;
}
static int vector_modes(void) { return __builtin_cpu_supports("avx") ? 2 : 1; }
#elif defined(__aarch64__)
#define VREGS 32
#define VBYTES 16
static int vector_pass(unsigned char *in, unsigned char *out, char *m, int mode)
{
    (void)mode;
    __asm__ volatile("ld1 {v0.16b-v3.16b}, [%0], #64\n ld1 {v4.16b-v7.16b}, [%0], #64\n"
                     "ld1 {v8.16b-v11.16b}, [%0], #64\n ld1 {v12.16b-v15.16b}, [%0], #64\n"
                     "ld1 {v16.16b-v19.16b}, [%0], #64\n ld1 {v20.16b-v23.16b}, [%0], #64\n"
                     "ld1 {v24.16b-v27.16b}, [%0], #64\n ld1 {v28.16b-v31.16b}, [%0], #64\n"
                     "mov w9, #1\n mov x10, %2\n strb w9, [x10]\n add x10, x10, #4096\n strb w9, [x10]\n"
                     "add x10, x10, #4096\n strb w9, [x10]\n add x10, x10, #4096\n strb w9, [x10]\n"
                     "add x10, x10, #4096\n strb w9, [x10]\n add x10, x10, #4096\n strb w9, [x10]\n"
                     "add x10, x10, #4096\n strb w9, [x10]\n add x10, x10, #4096\n strb w9, [x10]\n"
                     "st1 {v0.16b-v3.16b}, [%1], #64\n st1 {v4.16b-v7.16b}, [%1], #64\n"
                     "st1 {v8.16b-v11.16b}, [%1], #64\n st1 {v12.16b-v15.16b}, [%1], #64\n"
                     "st1 {v16.16b-v19.16b}, [%1], #64\n st1 {v20.16b-v23.16b}, [%1], #64\n"
                     "st1 {v24.16b-v27.16b}, [%1], #64\n st1 {v28.16b-v31.16b}, [%1], #64\n"
                     : "+r"(in), "+r"(out) : "r"(m)
                     : "memory", "x9", "x10", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10",
                       "v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23",
                       "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31");
    return 16;
}
static int vector_modes(void) { return 1; }
#endif

static void vectors(void)
{
#ifdef VREGS
    static unsigned char in[VREGS * VBYTES], out[VREGS * VBYTES];
    int bad = 0, modes = vector_modes();
    for (int mode = 0; mode < 3; mode++) {
#if defined(__x86_64__)
        if (modes == 1 && mode < 2) /* no AVX */
            continue;
#else
        (void)modes;
        if (mode > 0)
            break;
#endif
        for (unsigned i = 0; i < sizeof in; i++)
            in[i] = (unsigned char)(i * 7 + 3 + mode);
        memset(out, 0x55, sizeof out);
        char *m = mmap(NULL, 8 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            printf("vectors: mmap: %s\n", errname(errno));
            return;
        }
        int live = vector_pass(in, out, m, mode);
        for (int r = 0; r < VREGS; r++)
            for (int b = 0; b < VBYTES; b++) {
                /* Bytes beyond what the pass loaded must read as zero (mode 1). */
                unsigned char want = b < live && !(mode == 1 && b >= 16) ? in[r * VBYTES + b] : 0;
                if (mode == 2 && b >= 16)
                    continue;
                if (out[r * VBYTES + b] != want)
                    bad++;
            }
        munmap(m, 8 * P);
    }
    printf("vector registers across page faults: %s\n", bad ? "changed" : "kept");
#endif
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--maps"))
        return dump_maps();
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    base = mmap(NULL, 256 * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
        printf("reserve: %s\n", errname(errno));
        return 1;
    }
    maps("the reservation");
    munmap(base, 256 * P);
    anonymous();
    remap();
    remap_after_fork();
    sparse();
    files(dir);
    heap();
    stack();
    limits();
    smaps(dir);
    fork_advice();
    vectors();
    return 0;
}

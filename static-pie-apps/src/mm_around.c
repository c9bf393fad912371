/* mm_around DIR: mappings of a file whose pages are already in memory (written
 * through write(2) just before), read so that one fault maps the pages around it
 * (Linux's fault-around, fault_around_bytes = 64 KiB), then written, forked,
 * re-protected and moved. Every line it prints must be the same natively and in
 * elfin: a page mapped early must show the file's bytes, must show what write(2)
 * puts in the file until the mapping writes the page, and a MAP_PRIVATE write must
 * reach neither the file nor any other mapping.
 *   mm_around DIR faults   prints the page faults that reading 64 pages of a
 *                          private mapping took (a figure, not compared). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define P 4096UL
#define NPAGES 40UL
/* A file that ends 100 bytes into its last page. */
#define FSIZE ((NPAGES - 1) * P + 100)

static int fd;

static char pattern(unsigned long page, unsigned long off)
{
    return (char)('A' + (page * 7 + off / 512) % 26);
}

static void fail(const char *what)
{
    printf("FAIL %s\n", what);
    exit(1);
}

/* 1 when page `page` of the mapping holds the file's original bytes. */
static int page_is_original(const volatile char *m, unsigned long page)
{
    for (unsigned long o = 0; o < P; o += 64) {
        unsigned long pos = page * P + o;
        char want = pos < FSIZE ? pattern(page, o) : 0;
        if (m[pos] != want)
            return 0;
    }
    return 1;
}

static char file_byte(unsigned long pos)
{
    char c;
    if (pread(fd, &c, 1, pos) != 1)
        fail("pread");
    return c;
}

static long minflt(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

static char *map(int prot, int flags)
{
    char *m = mmap(NULL, NPAGES * P, prot, flags, fd, 0);
    if (m == MAP_FAILED)
        fail("mmap");
    return m;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    char path[4096];
    snprintf(path, sizeof path, "%s/mm_around.%d", dir, (int)getpid());
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        fail("open");
    unlink(path);
    static char buf[NPAGES * P];
    for (unsigned long pos = 0; pos < FSIZE; pos++)
        buf[pos] = pattern(pos / P, pos % P);
    if (write(fd, buf, FSIZE) != (ssize_t)FSIZE)
        fail("write");

    if (argc > 2 && strcmp(argv[2], "faults") == 0) {
        volatile char *m = map(PROT_READ, MAP_PRIVATE);
        long before = minflt();
        for (unsigned long p = 0; p < NPAGES; p++)
            (void)m[p * P];
        printf("faults %ld for %lu pages\n", minflt() - before, NPAGES);
        return 0;
    }

    /* A read in the middle of a window, then every page. */
    volatile char *a = map(PROT_READ | PROT_WRITE, MAP_PRIVATE);
    (void)a[5 * P + 17];
    int ok = 1;
    for (unsigned long p = 0; p < NPAGES; p++)
        ok &= page_is_original(a, p);
    printf("private read of every page: %s\n", ok ? "the file's bytes" : "WRONG");
    printf("tail of the last page past the end: %s\n", a[FSIZE] == 0 && a[NPAGES * P - 1] == 0 ? "zeros" : "WRONG");

    /* A fresh private mapping read once: its neighbours follow the file's writes. */
    volatile char *b = map(PROT_READ | PROT_WRITE, MAP_PRIVATE);
    (void)b[3 * P];
    if (pwrite(fd, "xyz", 3, 6 * P + 10) != 3 || pwrite(fd, "uvw", 3, 30 * P + 10) != 3)
        fail("pwrite");
    printf("private page not yet written, after pwrite to the file: %.3s / %.3s\n", (char *)b + 6 * P + 10,
           (char *)b + 30 * P + 10);

    /* A write to a page mapped by fault-around stays in this mapping. */
    b[7 * P + 1] = '!';
    b[30 * P + 11] = '?';
    printf("private write seen by the writer: %c %c\n", b[7 * P + 1], b[30 * P + 11]);
    printf("the file after private writes: %c %c\n", file_byte(7 * P + 1), file_byte(30 * P + 11));
    printf("another private mapping: %c %c\n", a[7 * P + 1], a[30 * P + 11]);
    volatile char *s = map(PROT_READ | PROT_WRITE, MAP_SHARED);
    printf("a shared mapping: %c %c\n", s[7 * P + 1], s[30 * P + 11]);
    if (pwrite(fd, "#", 1, 7 * P + 1) != 1)
        fail("pwrite");
    printf("the written private page after pwrite: %c\n", b[7 * P + 1]);

    /* Shared writes: other shared mappings and unwritten private pages see them. */
    s[9 * P] = 'S';
    volatile char *s2 = map(PROT_READ, MAP_SHARED);
    (void)s2[8 * P];
    printf("shared write, seen by a second shared mapping: %c\n", s2[9 * P]);
    volatile char *c = map(PROT_READ | PROT_WRITE, MAP_PRIVATE);
    printf("shared write, seen by a new private mapping: %c\n", c[9 * P]);
    msync((void *)s, NPAGES * P, MS_SYNC);
    printf("shared write, in the file after msync: %c\n", file_byte(9 * P));

    /* fork: the child's private writes stay in the child. */
    (void)c[12 * P];
    pid_t pid = fork();
    if (pid == 0) {
        c[13 * P] = 'C';
        b[14 * P] = 'C';
        _exit(c[13 * P] == 'C' && b[14 * P] == 'C' ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("child wrote its copies: %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : "no");
    printf("parent's pages after the child's writes: %s %s\n", page_is_original(c, 13) ? "original" : "CHANGED",
           page_is_original(b, 14) ? "original" : "CHANGED");
    printf("the file after the child's writes: %c %c\n", file_byte(13 * P), file_byte(14 * P));

    /* mprotect away and back, then write: still a private copy. */
    if (mprotect((void *)c, NPAGES * P, PROT_READ) || mprotect((void *)c, NPAGES * P, PROT_NONE) ||
        mprotect((void *)c, NPAGES * P, PROT_READ | PROT_WRITE))
        fail("mprotect");
    c[15 * P + 2] = 'M';
    printf("after mprotect, a private write: %c, the file: %c, a shared mapping: %c\n", c[15 * P + 2],
           file_byte(15 * P + 2), s[15 * P + 2]);

    /* mremap moves the pages, file pages and copies alike. */
    volatile char *moved = mremap((void *)c, NPAGES * P, 2 * NPAGES * P, MREMAP_MAYMOVE);
    if (moved == MAP_FAILED)
        fail("mremap");
    moved[16 * P] = 'R';
    printf("after mremap: %c %c %s, the file: %c\n", moved[15 * P + 2], moved[16 * P],
           page_is_original(moved, 20) ? "original" : "CHANGED", file_byte(16 * P));

    /* A write fault first: a private copy of that page, the file unchanged. */
    volatile char *d = map(PROT_READ | PROT_WRITE, MAP_PRIVATE);
    d[20 * P] = 'W';
    printf("write fault first: %c, neighbour %s, the file: %c\n", d[20 * P],
           page_is_original(d, 21) ? "original" : "CHANGED", file_byte(20 * P));

    /* Executable file pages (read, not run: the bytes are letters). */
    volatile char *x = mmap(NULL, NPAGES * P, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
    if (x == MAP_FAILED)
        fail("mmap exec");
    printf("PROT_EXEC private mapping: %s\n", page_is_original(x, 22) && page_is_original(x, 23) ? "the file's bytes" : "WRONG");

    munmap((void *)a, NPAGES * P);
    munmap((void *)b, NPAGES * P);
    munmap((void *)s, NPAGES * P);
    munmap((void *)s2, NPAGES * P);
    munmap((void *)moved, 2 * NPAGES * P);
    munmap((void *)d, NPAGES * P);
    munmap((void *)x, NPAGES * P);
    close(fd);
    printf("done\n");
    return 0;
}

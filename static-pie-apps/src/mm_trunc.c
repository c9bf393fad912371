/* mm_trunc DIR: mappings of a file that then shrinks. Pages wholly beyond the new
 * end of the file raise SIGBUS (BUS_ADRERR) through shared and private mappings
 * alike, private copies included; the partial last page stays readable, with
 * zeros past the end; growing the file again makes the pages accessible again,
 * with the file's (zero) bytes. Checked after ftruncate, truncate and O_TRUNC, in
 * the mapping process and in a child forked after the truncation. One file is
 * mapped shared, another private (the private mappings read the file's own
 * pages). Every line it prints must be the same natively and in elfin. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define P 4096UL
#define NPAGES 8UL
/* A file that ends 100 bytes into its last page. */
#define FSIZE ((NPAGES - 1) * P + 100)

static sigjmp_buf env;
static volatile void *fault_addr;
static volatile int fault_code;

static void fail(const char *what)
{
    printf("FAIL %s\n", what);
    exit(1);
}

static void on_bus(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    fault_addr = si->si_addr;
    fault_code = si->si_code;
    siglongjmp(env, 1);
}

/* 'b' for SIGBUS at the address (with BUS_ADRERR), else the byte read (after
 * writing `w` when it is not 0), '0' for a zero byte. */
static char touch(volatile char *p, char w)
{
    fault_addr = 0;
    if (sigsetjmp(env, 1)) {
        if (fault_addr != (void *)p)
            return 'A';
        return fault_code == BUS_ADRERR ? 'b' : 'C';
    }
    if (w)
        *p = w;
    char c = *p;
    return c ? c : '0';
}

/* One character per page of the mapping: what its first byte gives. */
static void show(const char *what, volatile char *m)
{
    char s[NPAGES + 1];
    for (unsigned long p = 0; p < NPAGES; p++)
        s[p] = touch(m + p * P, 0);
    s[NPAGES] = 0;
    printf("%-36s %s\n", what, s);
}

/* Writes the file's bytes: page p holds 'a' + p. */
static void fill(int fd)
{
    static char buf[FSIZE];
    for (unsigned long p = 0; p < NPAGES; p++)
        memset(buf + p * P, 'a' + (int)p, p == NPAGES - 1 ? FSIZE - p * P : P);
    if (pwrite(fd, buf, FSIZE, 0) != (ssize_t)FSIZE)
        fail("pwrite");
}

static char *map(int fd, int flags)
{
    char *m = mmap(NULL, NPAGES * P, PROT_READ | PROT_WRITE, flags, fd, 0);
    if (m == MAP_FAILED)
        fail("mmap");
    return m;
}

/* Whether the bytes past the end in the partial last page read as zeros. */
static const char *tail_zero(volatile char *m, unsigned long size)
{
    for (unsigned long o = size; o < (size / P + 1) * P; o++)
        if (m[o] != 0)
            return "WRONG";
    return "zeros";
}

static int create(const char *dir, const char *name, char *path)
{
    snprintf(path, 4096, "%s/mm_trunc.%s.%d", dir, name, (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        fail("open");
    fill(fd);
    return fd;
}

static void resize(int fs, int fp, off_t len)
{
    if (ftruncate(fs, len) || ftruncate(fp, len))
        fail("ftruncate");
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    static char spath[4096], ppath[4096];
    int fs = create(dir, "shared", spath), fp = create(dir, "private", ppath);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_bus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGBUS, &sa, NULL);

    volatile char *s = map(fs, MAP_SHARED);
    volatile char *r = map(fp, MAP_PRIVATE);
    volatile char *w = map(fp, MAP_PRIVATE);
    show("shared, before", s);
    show("private, before", r);
    /* Private copies of pages 1 and 6, and page 5 made PROT_NONE. */
    w[1 * P] = 'X';
    w[6 * P] = 'Y';
    show("private with copies, before", w);
    if (mprotect((void *)(w + 5 * P), P, PROT_NONE))
        fail("mprotect");

    /* Shrink into page 2: pages 3.. go, page 2 keeps 10 bytes. */
    resize(fs, fp, 2 * P + 10);
    show("shared, after ftruncate", s);
    show("private, after ftruncate", r);
    if (mprotect((void *)(w + 5 * P), P, PROT_READ | PROT_WRITE))
        fail("mprotect");
    show("private with copies, after", w);
    printf("%-36s %s %s\n", "partial page past the end", tail_zero(s, 2 * P + 10), tail_zero(r, 2 * P + 10));
    printf("%-36s %c %c %c\n", "write beyond the end", touch(s + 4 * P, 'z'), touch(r + 3 * P, 'z'),
           touch(w + 6 * P, 'z'));
    printf("%-36s %c %c\n", "write in the partial page", touch(s + 2 * P + 100, 'q'), touch(r + 2 * P + 100, 'q'));

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        show("child: shared", s);
        show("child: private", r);
        show("child: private with copies", w);
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);

    /* Growing again: the pages come back with the file's bytes (zeros). */
    resize(fs, fp, FSIZE);
    show("shared, grown again", s);
    show("private, grown again", r);
    show("private with copies, grown again", w);

    /* truncate(2) by path, then O_TRUNC, after refilling; a fresh private
     * mapping, as the old ones read the holes. */
    fill(fs);
    fill(fp);
    volatile char *r2 = map(fp, MAP_PRIVATE);
    show("shared, refilled", s);
    show("private, refilled", r2);
    if (truncate(spath, 5 * P) || truncate(ppath, 5 * P))
        fail("truncate");
    show("shared, after truncate", s);
    show("private, after truncate", r2);
    int fd2 = open(spath, O_RDWR | O_TRUNC), fd3 = open(ppath, O_RDWR | O_TRUNC);
    if (fd2 < 0 || fd3 < 0)
        fail("open O_TRUNC");
    close(fd2);
    close(fd3);
    show("shared, after O_TRUNC", s);
    show("private, after O_TRUNC", r2);
    fill(fs);
    fill(fp);
    show("shared, refilled again", s);
    show("private, refilled again", r2);

    munmap((void *)s, NPAGES * P);
    munmap((void *)r, NPAGES * P);
    munmap((void *)w, NPAGES * P);
    munmap((void *)r2, NPAGES * P);
    close(fs);
    close(fp);
    unlink(spath);
    unlink(ppath);
    printf("done\n");
    return 0;
}

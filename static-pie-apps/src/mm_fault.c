/* mm_fault MODE: prints what it is about to do, then makes one bad memory access.
 * The program dies by SIGSEGV (status 139) or SIGBUS (135), the same natively and
 * in elfin; the line printed first shows it got that far.
 *   write-ro     store to a PROT_READ page            (SIGSEGV, SEGV_ACCERR)
 *   read-none    load from a PROT_NONE page           (SIGSEGV, SEGV_ACCERR)
 *   exec-nx      jump into a PROT_READ|PROT_WRITE page (SIGSEGV, NX)
 *   unmapped     load from a page munmap removed      (SIGSEGV, SEGV_MAPERR)
 *   guard        load from the PROT_NONE guard page below a thread-style stack
 *   after-eof    load from a file page wholly past EOF (SIGBUS)
 *   stack-overflow  unbounded recursion past RLIMIT_STACK (SIGSEGV)
 *   ok           touch memory correctly and exit 0 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "errname.h"

#define P 4096UL

static volatile char sink;

static volatile long depth_limit = -1; /* never reached: the stack ends first */

static long recurse(long n)
{
    volatile char pad[4096];
    pad[0] = (char)n;
    if (n == depth_limit)
        return 0;
    return recurse(n + 1) + pad[0];
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "ok";
    char *m = mmap(NULL, 4 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        printf("mmap: %s\n", errname(errno));
        return 1;
    }
    memset(m, 7, 4 * P);
    printf("mode %s\n", mode);
    fflush(stdout);
    if (!strcmp(mode, "write-ro")) {
        mprotect(m, P, PROT_READ);
        printf("reads %d, now writing\n", m[10]);
        fflush(stdout);
        m[10] = 1;
    } else if (!strcmp(mode, "read-none")) {
        mprotect(m + P, P, PROT_NONE);
        printf("page 0 reads %d, now reading page 1\n", m[0]);
        fflush(stdout);
        sink = m[P];
    } else if (!strcmp(mode, "exec-nx")) {
        m[0] = (char)0xc3; /* ret */
        printf("jumping into a non-executable page\n");
        fflush(stdout);
        ((void (*)(void))m)();
    } else if (!strcmp(mode, "unmapped")) {
        munmap(m + 2 * P, P);
        printf("page 3 reads %d, now reading the unmapped page 2\n", m[3 * P]);
        fflush(stdout);
        sink = m[2 * P];
    } else if (!strcmp(mode, "guard")) {
        char *st = mmap(NULL, 16 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        mprotect(st, P, PROT_NONE);
        st[P] = 1;
        printf("stack bottom written, now touching its guard page\n");
        fflush(stdout);
        sink = st[P - 1];
    } else if (!strcmp(mode, "after-eof")) {
        char path[64];
        snprintf(path, sizeof path, "/tmp/mm_fault.%d", (int)getpid());
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || write(fd, "data", 4) != 4) {
            printf("file: %s\n", errname(errno));
            return 1;
        }
        char *f = mmap(NULL, 3 * P, PROT_READ, MAP_PRIVATE, fd, 0);
        unlink(path);
        printf("page 0 reads %c, byte 4 reads %d, now reading page 2\n", f[0], f[4]);
        fflush(stdout);
        sink = f[2 * P];
    } else if (!strcmp(mode, "stack-overflow")) {
        printf("recursing\n");
        fflush(stdout);
        return (int)recurse(0);
    }
    printf("still alive\n");
    return 0;
}

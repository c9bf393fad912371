/* mm_bench: memory-management costs, printed as ns per operation (wall clock):
 *   map4k     mmap + touch + munmap of 4 KiB
 *   map2m     mmap + touch every page + munmap of 2 MiB
 *   fault     page-fault cost per page (first touch of fresh anonymous memory)
 * Usage: mm_bench [ITERS] (default 2000). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 2000;
    double t0 = now();
    for (long i = 0; i < iters; i++) {
        volatile char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        p[0] = 1;
        munmap((void *)p, 4096);
    }
    double t1 = now();
    long big = iters / 20 + 1;
    for (long i = 0; i < big; i++) {
        volatile char *p = mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        for (long o = 0; o < (2 << 20); o += 4096)
            p[o] = 1;
        munmap((void *)p, 2 << 20);
    }
    double t2 = now();
    long pages = 16384; /* 64 MiB */
    volatile char *q = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    double t3 = now();
    for (long o = 0; o < pages; o++)
        q[o * 4096] = 1;
    double t4 = now();
    munmap((void *)q, pages * 4096);
    printf("map4k %.0f ns/op (%ld ops)\n", (t1 - t0) / iters, iters);
    printf("map2m %.0f ns/op (%ld ops)\n", (t2 - t1) / big, big);
    printf("fault %.0f ns/page (%ld pages)\n", (t4 - t3) / pages, pages);
    return 0;
}

/* proc_bench: process costs, one figure per line ("NAME VALUE UNIT ..."):
 *
 *   fork        fork + _exit + waitpid of a small process, ns per cycle
 *   vfork       vfork + _exit + waitpid, ns per cycle
 *   spawn       posix_spawn of PROGRAM (stdout/stderr to /dev/null) + waitpid
 *   forkexec    fork + execve of this program (exits at once) + waitpid
 *   exec        execve alone: a chain of images each exec'ing the next
 *   fork64m     fork + child touches one page + _exit + waitpid, with 64 MiB
 *               resident in the parent
 *   cow_faults  page faults the child takes to write that one page
 *               (getrusage ru_minflt before/after)
 *   cow_pages   pages of memory the system lost between just before the
 *               fork and the child's write (sysinfo freeram): about 1 with
 *               copy-on-write plus page tables; natively noisy, other
 *               processes allocate too
 *
 *   proc_bench [ITERS [PROGRAM]]    (default 1000; PROGRAM e.g. a static hello)
 *
 * Times are CLOCK_MONOTONIC deltas; under QEMU `-icount shift=0` they count
 * guest instructions. */
#define _GNU_SOURCE
#include <spawn.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <time.h>
#include "proc_common.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static void waitfor(pid_t c)
{
    int st;
    while (waitpid(c, &st, 0) < 0 && errno == EINTR) {
    }
}

/* A failed fork/vfork/exec ends the benchmark: its figures would be noise. */
static pid_t check(pid_t c, const char *what)
{
    if (c < 0) {
        printf("proc_bench: %s failed: %s\n", what, errname(errno));
        exit(1);
    }
    return c;
}

static __attribute__((noinline)) pid_t vfork_exit(void)
{
    pid_t c = vfork();
    if (c == 0)
        _exit(0);
    return c;
}

static long free_pages(void)
{
    struct sysinfo si;
    sysinfo(&si);
    return (long)((si.freeram * si.mem_unit) / 4096);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--chain") == 0) {
        /* One link of the exec chain: argv[2] links left, argv[3] start time. */
        long left = atol(argv[2]);
        if (left > 0) {
            char n[32];
            snprintf(n, sizeof n, "%ld", left - 1);
            char *next[] = {argv[0], argv[1], n, argv[3], NULL};
            execve(self_exe(), next, (char *[]){NULL});
            return 1;
        }
        double t = now() - atof(argv[3]);
        dprintf(3, "%.0f\n", t);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--exit") == 0)
        return 0;
    long iters = argc > 1 ? atol(argv[1]) : 1000;
    const char *prog = argc > 2 ? argv[2] : NULL;
    const char *self = self_exe();
    setvbuf(stdout, NULL, _IOLBF, 0);

    double t0 = now();
    for (long i = 0; i < iters; i++) {
        pid_t c = check(fork(), "fork");
        if (c == 0)
            _exit(0);
        waitfor(c);
    }
    printf("fork %.0f ns/op (%ld ops)\n", (now() - t0) / iters, iters);

    t0 = now();
    for (long i = 0; i < iters; i++)
        waitfor(check(vfork_exit(), "vfork"));
    printf("vfork %.0f ns/op (%ld ops)\n", (now() - t0) / iters, iters);

    long few = iters / 10 + 1;
    if (prog) {
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
        char *pargv[] = {(char *)prog, NULL};
        t0 = now();
        int e = 0;
        for (long i = 0; i < few && e == 0; i++) {
            pid_t c;
            e = posix_spawn(&c, prog, &fa, NULL, pargv, (char *[]){NULL});
            if (e == 0)
                waitfor(c);
        }
        if (e)
            printf("spawn - (posix_spawn %s: %s)\n", prog, errname(e));
        else
            printf("spawn %.0f ns/op (%ld ops)\n", (now() - t0) / few, few);
        posix_spawn_file_actions_destroy(&fa);
    } else {
        printf("spawn - (no PROGRAM given)\n");
    }

    t0 = now();
    for (long i = 0; i < few; i++) {
        pid_t c = check(fork(), "fork");
        if (c == 0) {
            execve(self, (char *[]){"proc_bench", "--exit", NULL}, (char *[]){NULL});
            _exit(127);
        }
        int st;
        while (waitpid(c, &st, 0) < 0 && errno == EINTR) {
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            printf("proc_bench: forkexec failed: the child %s\n", status_text(st));
            return 1;
        }
    }
    printf("forkexec %.0f ns/op (%ld ops)\n", (now() - t0) / few, few);

    int p[2];
    pipe(p);
    pid_t c = check(fork(), "fork");
    if (c == 0) {
        dup2(p[1], 3);
        char n[32], t[64];
        snprintf(n, sizeof n, "%ld", few);
        snprintf(t, sizeof t, "%.0f", now());
        execve(self, (char *[]){"proc_bench", "--chain", n, t, NULL}, (char *[]){NULL});
        _exit(127);
    }
    close(p[1]);
    char buf[64] = {0};
    long got = read_full(p[0], buf, sizeof buf - 1);
    close(p[0]);
    waitfor(c);
    if (got <= 0) {
        printf("proc_bench: the exec chain failed\n");
        return 1;
    }
    printf("exec %.0f ns/op (%ld ops)\n", atof(buf) / (few + 1), few + 1);

    /* 64 MiB resident, then fork and write one page in the child. */
    size_t big = 64 << 20;
    volatile char *m = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (size_t o = 0; o < big; o += 4096)
        m[o] = 1;
    long cow_iters = iters / 20 + 1;
    t0 = now();
    for (long i = 0; i < cow_iters; i++) {
        pid_t k = check(fork(), "fork");
        if (k == 0) {
            m[(size_t)i * 4096 % big] = 2;
            _exit(0);
        }
        waitfor(k);
    }
    printf("fork64m %.0f ns/op (%ld ops)\n", (now() - t0) / cow_iters, cow_iters);

    pipe(p);
    long before = free_pages();
    pid_t k = check(fork(), "fork");
    if (k == 0) {
        struct rusage r0, r1;
        getrusage(RUSAGE_SELF, &r0);
        m[4096 * 100] = 3;
        getrusage(RUSAGE_SELF, &r1);
        long after = free_pages();
        long v[3] = {r1.ru_minflt - r0.ru_minflt, before - after, r0.ru_minflt};
        write_full(p[1], v, sizeof v);
        _exit(0);
    }
    long v[3] = {0, 0, 0};
    read_full(p[0], v, sizeof v);
    waitfor(k);
    printf("cow_faults %ld faults (the child took %ld before its write)\n", v[0], v[2]);
    printf("cow_pages %ld pages\n", v[1]);
    return 0;
}

/* perf_bench: the costs of the benchmark table (docs/benchmarks.md), one
 * figure per line, "NAME VALUE", VALUE in nanoseconds per operation:
 *
 *   calib      one instruction of a fixed two-instruction loop: 1.00 under
 *              QEMU `-icount shift=0`, where the guest clock counts
 *              instructions, so every other figure of such a run is a count
 *              of guest instructions
 *   getppid    syscall(SYS_getppid), the null system call, user loop included
 *   clock      clock_gettime(CLOCK_MONOTONIC) (the vDSO where there is one)
 *   fault      first touch of a page of fresh anonymous memory
 *   mmap       mmap + touch + munmap of 4 KiB
 *   pipe       64 KiB through a pipe from one thread to another
 *   futex      futex round trip between two threads (wake, wait, wake back)
 *   thread     pthread_create + pthread_join
 *   fork       fork + _exit + waitpid
 *   spawn      posix_spawn of this program (which exits at once) + waitpid
 *
 *   perf_bench [ITERS [FIGURE...]]   the figures (all when none is named)
 *   perf_bench entry                 "entry_ns N": the guest's counter at the
 *                                    program's first instructions, in ns (under
 *                                    icount: instructions since the machine
 *                                    started, idle time included)
 *   perf_bench stdout BYTES          writes BYTES to stdout; "stdout NS" per
 *                                    MiB on stderr
 *   perf_bench stdin BYTES           reads BYTES (or to EOF) from stdin; "stdin
 *                                    NS" per MiB, from the first byte, on stderr
 *   perf_bench tsc                   "tsc_khz N": the counter's rate against
 *                                    CLOCK_MONOTONIC over 200 ms (x86_64's TSC)
 *   perf_bench --exit                exits at once (the spawn figure's child)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536
/* From linux/futex.h, which musl's headers do not have. */
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static void report(const char *name, double ns, long ops)
{
    printf("%s %.2f\n", name, ns / (double)ops);
    fflush(stdout);
}

static void fail(const char *what)
{
    printf("perf_bench: %s failed\n", what);
    exit(1);
}

/* The guest's free-running counter, in ns: x86_64's TSC counts virtual ns under
 * icount (QEMU runs it at 1 GHz of the virtual clock); arm64's CNTVCT at CNTFRQ. */
static double counter_ns(void)
{
#if defined(__x86_64__)
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (double)(((uint64_t)hi << 32) | lo);
#elif defined(__aarch64__)
    uint64_t v, f;
    __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
    __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(f));
    return (double)v * 1e9 / (double)f;
#else
    return 0;
#endif
}

static void calib(long iters)
{
    (void)iters;
    long n = 1000000;
    double t0 = now();
#if defined(__x86_64__)
    __asm__ volatile("1: dec %0; jnz 1b" : "+r"(n));
#elif defined(__aarch64__)
    __asm__ volatile("1: subs %0, %0, #1; b.ne 1b" : "+r"(n) : : "cc");
#endif
    report("calib", now() - t0, 2000000);
}

static void getppid_loop(long iters)
{
    double t0 = now();
    for (long i = 0; i < iters; i++)
        syscall(SYS_getppid);
    report("getppid", now() - t0, iters);
}

static void clock_loop(long iters)
{
    struct timespec t;
    double t0 = now();
    for (long i = 0; i < iters; i++)
        clock_gettime(CLOCK_MONOTONIC, &t);
    report("clock", now() - t0, iters);
}

static void fault_loop(long iters)
{
    long pages = iters < 16384 ? iters : 16384;
    volatile char *q = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q == MAP_FAILED)
        fail("mmap");
    double t0 = now();
    for (long o = 0; o < pages; o++)
        q[o * 4096] = 1;
    report("fault", now() - t0, pages);
    munmap((void *)q, pages * 4096);
}

static void mmap_loop(long iters)
{
    double t0 = now();
    for (long i = 0; i < iters; i++) {
        volatile char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            fail("mmap");
        p[0] = 1;
        munmap((void *)p, 4096);
    }
    report("mmap", now() - t0, iters);
}

struct pipe_job {
    int fd;
    long chunks;
};

static void *pipe_writer(void *arg)
{
    struct pipe_job *j = arg;
    static char buf[CHUNK];
    for (long i = 0; i < j->chunks; i++) {
        for (size_t off = 0; off < CHUNK;) {
            ssize_t w = write(j->fd, buf + off, CHUNK - off);
            if (w <= 0)
                fail("pipe write");
            off += (size_t)w;
        }
    }
    return NULL;
}

static void pipe_loop(long iters)
{
    int p[2];
    if (pipe(p))
        fail("pipe");
    struct pipe_job j = {p[1], iters / 10 + 1};
    static char buf[CHUNK];
    pthread_t t;
    double t0 = now();
    if (pthread_create(&t, NULL, pipe_writer, &j))
        fail("pthread_create");
    long want = j.chunks * CHUNK, got = 0;
    while (got < want) {
        ssize_t r = read(p[0], buf, sizeof buf);
        if (r <= 0)
            fail("pipe read");
        got += r;
    }
    pthread_join(t, NULL);
    report("pipe", now() - t0, j.chunks);
    close(p[0]);
    close(p[1]);
}

static _Atomic int ping, pong;

static void fwait(_Atomic int *w, int v)
{
    while (atomic_load(w) == v)
        syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static void fwake(_Atomic int *w)
{
    atomic_fetch_add(w, 1);
    syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *ponger(void *arg)
{
    long n = *(long *)arg;
    for (long i = 0; i < n; i++) {
        fwait(&ping, (int)i);
        fwake(&pong);
    }
    return NULL;
}

static void futex_loop(long iters)
{
    long n = iters / 10 + 1;
    pthread_t t;
    atomic_store(&ping, 0);
    atomic_store(&pong, 0);
    if (pthread_create(&t, NULL, ponger, &n))
        fail("pthread_create");
    double t0 = now();
    for (long i = 0; i < n; i++) {
        fwake(&ping);
        fwait(&pong, (int)i);
    }
    double t1 = now();
    pthread_join(t, NULL);
    report("futex", t1 - t0, n);
}

static void *nothing(void *arg) { return arg; }

static void thread_loop(long iters)
{
    long n = iters / 10 + 1;
    double t0 = now();
    for (long i = 0; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, nothing, NULL))
            fail("pthread_create");
        pthread_join(t, NULL);
    }
    report("thread", now() - t0, n);
}

static void waitfor(pid_t c)
{
    int st;
    while (waitpid(c, &st, 0) < 0) {
    }
}

static void fork_loop(long iters)
{
    long n = iters / 10 + 1;
    double t0 = now();
    for (long i = 0; i < n; i++) {
        pid_t c = fork();
        if (c < 0)
            fail("fork");
        if (c == 0)
            _exit(0);
        waitfor(c);
    }
    report("fork", now() - t0, n);
}

static const char *self;

static void spawn_loop(long iters)
{
    long n = iters / 10 + 1;
    char *args[] = {(char *)self, "--exit", NULL};
    double t0 = now();
    for (long i = 0; i < n; i++) {
        pid_t c;
        if (posix_spawn(&c, self, NULL, NULL, args, (char *[]){NULL}))
            fail("posix_spawn");
        waitfor(c);
    }
    report("spawn", now() - t0, n);
}

static void out_loop(long bytes)
{
    static char buf[CHUNK];
    memset(buf, 'x', sizeof buf);
    double t0 = now();
    for (long done = 0; done < bytes;) {
        long want = bytes - done < CHUNK ? bytes - done : CHUNK;
        ssize_t w = write(1, buf, (size_t)want);
        if (w <= 0)
            fail("write to stdout");
        done += w;
    }
    fprintf(stderr, "stdout %.2f\n", (now() - t0) / ((double)bytes / (1 << 20)));
}

static void in_loop(long bytes)
{
    static char buf[CHUNK];
    double t0 = 0;
    long done = 0;
    while (done < bytes) {
        ssize_t r = read(0, buf, sizeof buf);
        if (r < 0)
            fail("read from stdin");
        if (r == 0)
            break;
        if (done == 0)
            t0 = now();
        done += r;
    }
    if (done == 0)
        fail("read from stdin (no data)");
    fprintf(stderr, "stdin %.2f\n", (now() - t0) / ((double)done / (1 << 20)));
}

static const struct {
    const char *name;
    void (*run)(long);
} figures[] = {
    {"calib", calib}, {"getppid", getppid_loop}, {"clock", clock_loop}, {"fault", fault_loop},
    {"mmap", mmap_loop}, {"pipe", pipe_loop}, {"futex", futex_loop}, {"thread", thread_loop},
    {"fork", fork_loop}, {"spawn", spawn_loop},
};

int main(int argc, char **argv)
{
    double entry = counter_ns();
    if (argc > 1 && strcmp(argv[1], "--exit") == 0)
        return 0;
    if (argc > 1 && strcmp(argv[1], "entry") == 0) {
        printf("entry_ns %.0f\n", entry);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "tsc") == 0) {
        double c0 = counter_ns(), t0 = now(), t1;
        while ((t1 = now()) - t0 < 2e8) {
        }
        printf("tsc_khz %.0f\n", (counter_ns() - c0) / (t1 - t0) * 1e6);
        return 0;
    }
    if (argc > 2 && strcmp(argv[1], "stdout") == 0) {
        out_loop(atol(argv[2]));
        return 0;
    }
    if (argc > 2 && strcmp(argv[1], "stdin") == 0) {
        in_loop(atol(argv[2]));
        return 0;
    }
    /* The spawn figure runs this program again: by its absolute argv[0] (as
     * /init of a Linux guest, where /proc may not be mounted), else /proc. */
    static char exe[4096];
    if (argv[0][0] == '/') {
        self = argv[0];
    } else {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0)
            fail("readlink /proc/self/exe");
        exe[n] = 0;
        self = exe;
    }
    long iters = argc > 1 ? atol(argv[1]) : 10000;
    if (iters <= 0)
        iters = 1;
    for (size_t f = 0; f < sizeof figures / sizeof figures[0]; f++) {
        int wanted = argc <= 2;
        for (int a = 2; a < argc; a++)
            wanted |= strcmp(argv[a], figures[f].name) == 0;
        if (wanted)
            figures[f].run(iters);
    }
    return 0;
}

/* smp_bench: costs of running threads on several CPUs. Prints one figure per
 * line, "NAME VALUE", for tests/bench/smp.sh.
 *
 *   smp_bench ITERS
 *
 *   pingpong   futex round trip between two threads pinned to CPUs 0 and 1
 *              (ns per round trip: wake, switch in, wake back)
 *   wakeup     a thread blocked in FUTEX_WAIT on CPU 1 woken from CPU 0: ns
 *              from the wake call to the sleeper running again (the wake-up
 *              interrupt and the switch), averaged
 *   ctxswitch  two threads pinned to the same CPU handing a futex back and
 *              forth (ns per switch)
 *   spin1      ns for a fixed amount of arithmetic on one thread
 *   spin2      ns for twice that amount on two threads at once (on two CPUs
 *              about spin1, on one CPU about 2 x spin1) */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129

static long iters;

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void pin(int cpu)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    sched_setaffinity(0, sizeof s, &s);
}

static void fwait(_Atomic int *a, int v)
{
    syscall(SYS_futex, a, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static void fwake(_Atomic int *a)
{
    syscall(SYS_futex, a, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* --- ping-pong: the partner waits for odd values and answers with even ones */
static _Atomic int ball;
static int partner_cpu;

static void *partner(void *arg)
{
    (void)arg;
    pin(partner_cpu);
    for (long i = 0; i < iters; i++) {
        int want = (int)(2 * i + 1);
        while (atomic_load(&ball) != want)
            fwait(&ball, want - 1);
        atomic_store(&ball, want + 1);
        fwake(&ball);
    }
    return NULL;
}

static long long pingpong(int other)
{
    pthread_t t;
    atomic_store(&ball, 0);
    partner_cpu = other;
    pin(0);
    pthread_create(&t, NULL, partner, NULL);
    usleep(10000);
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        atomic_store(&ball, (int)(2 * i + 1));
        fwake(&ball);
        while (atomic_load(&ball) != 2 * i + 2)
            fwait(&ball, (int)(2 * i + 1));
    }
    long long t1 = now_ns();
    pthread_join(t, NULL);
    return (t1 - t0) / iters;
}

/* --- wake-up latency ------------------------------------------------------ */
/* The waker blocks rather than spins while it waits, so that under -icount
 * (QEMU runs the vCPUs in turn) the sleeper's CPU gets its turn at once. */
static _Atomic int gate, ready, woke;
static _Atomic long long woke_at;

static void *sleeper(void *arg)
{
    (void)arg;
    pin(1);
    for (long i = 0; i < iters; i++) {
        atomic_store(&ready, (int)i + 1);
        fwake(&ready);
        while (atomic_load(&gate) == (int)i)
            fwait(&gate, (int)i);
        atomic_store(&woke_at, now_ns());
        atomic_store(&woke, 1);
        fwake(&woke);
    }
    return NULL;
}

static long long wakeup(void)
{
    pthread_t t;
    long long total = 0;
    pin(0);
    pthread_create(&t, NULL, sleeper, NULL);
    for (long i = 0; i < iters; i++) {
        while (atomic_load(&ready) != i + 1)
            fwait(&ready, (int)i);
        usleep(200); /* let it block */
        atomic_store(&woke_at, 0);
        atomic_store(&woke, 0);
        long long t0 = now_ns();
        atomic_store(&gate, (int)i + 1);
        fwake(&gate);
        while (atomic_load(&woke) == 0)
            fwait(&woke, 0);
        total += atomic_load(&woke_at) - t0;
    }
    pthread_join(t, NULL);
    return total / iters;
}

/* --- CPU-bound work --------------------------------------------------------- */
static void *spin(void *arg)
{
    unsigned long x = (unsigned long)arg + 1;
    for (long i = 0; i < iters * 20000; i++)
        x = x * 6364136223846793005UL + 1442695040888963407UL;
    return (void *)x;
}

static long long spin_threads(int n)
{
    pthread_t t[2];
    cpu_set_t all;
    CPU_ZERO(&all);
    for (int c = 0; c < 64; c++)
        CPU_SET(c, &all);
    sched_setaffinity(0, sizeof all, &all);
    long long t0 = now_ns();
    for (long i = 0; i < n; i++)
        pthread_create(&t[i], NULL, spin, (void *)i);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    return now_ns() - t0;
}

int main(int argc, char **argv)
{
    iters = argc > 1 ? atol(argv[1]) : 1000;
    if (iters < 1)
        iters = 1;
    int cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus >= 2) {
        printf("pingpong %lld\n", pingpong(1));
        printf("wakeup %lld\n", wakeup());
    }
    printf("ctxswitch %lld\n", pingpong(0) / 2);
    printf("spin1 %lld\n", spin_threads(1));
    printf("spin2 %lld\n", spin_threads(2));
    return 0;
}

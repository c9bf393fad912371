/* surface_common.h: helpers of the surface_* probes (the Linux system-call
 * surface: timers, signals, files, IPC, ...), on top of proc_common.h.
 *
 * The probes print only what Linux defines: results as errno names, relations
 * ("yes"/"no"), never times, pids or addresses, so that the native run is the
 * reference for the run in elfin. Times are measured with generous margins:
 * the guest may run under an emulator many times slower than the host. */
#ifndef SURFACE_COMMON_H
#define SURFACE_COMMON_H

#define _GNU_SOURCE
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include "proc_common.h"

/* Prints "what: OK" or "what: ERRNAME" for a call that returned r (< 0 with errno). */
#define T(what, expr)                                                  \
    do {                                                               \
        errno = 0;                                                     \
        long r_ = (long)(expr);                                        \
        printf("%s: %s\n", (what), r_ < 0 ? errname(errno) : "OK");    \
    } while (0)

/* Prints "what: VALUE" or "what: ERRNAME". */
#define V(what, expr)                                                  \
    do {                                                               \
        errno = 0;                                                     \
        long r_ = (long)(expr);                                        \
        if (r_ < 0)                                                    \
            printf("%s: %s\n", (what), errname(errno));                \
        else                                                           \
            printf("%s: %ld\n", (what), r_);                           \
    } while (0)

/* An address in the kernel half: every pointer argument there is EFAULT. */
#define KPTR ((void *)0xffff800000001000UL)

static inline uint64_t ns_of(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t mono_ns(void) { return ns_of(CLOCK_MONOTONIC); }

static inline void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* Spins on the CPU until *flag is set or `limit_ns` of wall time passed;
 * returns whether the flag was set. */
static inline int spin_until(volatile sig_atomic_t *flag, uint64_t limit_ns)
{
    uint64_t end = mono_ns() + limit_ns;
    volatile unsigned long x = 0;
    while (!*flag && mono_ns() < end)
        for (int i = 0; i < 10000; i++)
            x += (unsigned long)i;
    return *flag != 0;
}

/* Spins until the process's CPU clock advanced by `ns` (or 30 s of wall time). */
static inline void burn_cpu(uint64_t ns)
{
    uint64_t start = ns_of(CLOCK_PROCESS_CPUTIME_ID), end = mono_ns() + 30000000000ull;
    volatile unsigned long x = 0;
    while (ns_of(CLOCK_PROCESS_CPUTIME_ID) - start < ns && mono_ns() < end)
        for (int i = 0; i < 10000; i++)
            x += (unsigned long)i;
}

static inline pid_t sys_gettid(void) { return (pid_t)syscall(SYS_gettid); }

/* A child that runs f() as user/group 1000 (no capabilities) and exits 0. */
static inline void as_nobody(void (*f)(void))
{
    pid_t c = xfork();
    if (c == 0) {
        if (setgroups(0, NULL) != 0 || setgid(1000) != 0 || setuid(1000) != 0) {
            printf("dropping root: %s\n", errname(errno));
            _exit(1);
        }
        f();
        fflush(NULL);
        _exit(0);
    }
    reap(c, "unprivileged child");
}

#endif

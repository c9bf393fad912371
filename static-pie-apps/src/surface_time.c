/* surface_time: clocks and timers as Linux does them.
 *
 *   surface_time [SECTION]   sections: itimer posix overrun timerfd cpuclock
 *                                      settime libc
 *
 * itimer    setitimer/getitimer ITIMER_REAL, ITIMER_VIRTUAL (user time, not
 *           while asleep) and ITIMER_PROF (periodic), their errors
 * posix     timer_create with SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD_ID, the
 *           default sigevent, absolute times, CPU-time clocks; timer_gettime,
 *           timer_delete, and the errors (raw system calls: the kernel ABI)
 * overrun   a periodic timer whose signal stays blocked counts overruns
 *           (si_overrun, timer_getoverrun)
 * timerfd   timerfd_create/settime/gettime, read counts, poll, epoll,
 *           non-blocking reads, absolute times, errors
 * cpuclock  CPU-time clocks stand still while asleep; thread clocks; the clocks
 *           of clock_getcpuclockid; getrusage/times user and system time;
 *           clock_nanosleep on CPU clocks and clocks without sleep
 * settime   clock_settime/settimeofday errors, EPERM without CAP_SYS_TIME
 * libc      timer_create with SIGEV_THREAD through the C library */
#include "surface_common.h"
#include <poll.h>
#include <sys/epoll.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/times.h>
#include <sys/timex.h>

#define MS 1000000ull

/* The kernel's struct sigevent (the C libraries name its thread-id member
 * differently). */
struct ksigevent {
    union sigval value;
    int signo;
    int notify;
    int tid;
    int pad[11];
};

static long k_timer_create(clockid_t c, struct ksigevent *ev, int *id)
{
    return syscall(SYS_timer_create, c, ev, id);
}
static long k_timer_settime(int id, int flags, const struct itimerspec *n, struct itimerspec *o)
{
    return syscall(SYS_timer_settime, id, flags, n, o);
}
static long k_timer_gettime(int id, struct itimerspec *v) { return syscall(SYS_timer_gettime, id, v); }
static long k_timer_getoverrun(int id) { return syscall(SYS_timer_getoverrun, id); }
static long k_timer_delete(int id) { return syscall(SYS_timer_delete, id); }

static struct itimerspec its(uint64_t value, uint64_t interval)
{
    struct itimerspec t = {{(time_t)(interval / 1000000000ull), (long)(interval % 1000000000ull)},
                           {(time_t)(value / 1000000000ull), (long)(value % 1000000000ull)}};
    return t;
}
static uint64_t ts_ns(struct timespec t) { return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec; }
static uint64_t tv_ns(struct timeval t) { return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_usec * 1000ull; }

/* ---------------------------------------------------------------- handlers -- */

static volatile sig_atomic_t n_sig[65];
static volatile sig_atomic_t last_code, last_value, last_timerid, last_overrun;

static void on_info(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    n_sig[sig]++;
    last_code = si->si_code;
    last_value = si->si_value.sival_int;
    last_timerid = si->si_timerid;
    last_overrun = si->si_overrun;
}

static void catch_sig(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_info;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(sig, &sa, NULL);
    n_sig[sig] = 0;
}

/* Waits (asleep) until signal `sig` arrived `n` times or `limit` ns passed. */
static int wait_sig(int sig, int n, uint64_t limit)
{
    uint64_t end = mono_ns() + limit;
    while (n_sig[sig] < n && mono_ns() < end)
        sleep_ns(MS);
    return n_sig[sig] >= n;
}

/* ------------------------------------------------------------------ itimer -- */

static void itimer(void)
{
    struct itimerval v, old;
    catch_sig(SIGVTALRM);
    catch_sig(SIGPROF);
    catch_sig(SIGALRM);

    T("getitimer VIRTUAL", getitimer(ITIMER_VIRTUAL, &v));
    printf("idle VIRTUAL is zero: %s\n", yesno(tv_ns(v.it_value) == 0 && tv_ns(v.it_interval) == 0));

    struct itimerval fifty = {{0, 0}, {0, 50000}};
    T("setitimer VIRTUAL 50ms", setitimer(ITIMER_VIRTUAL, &fifty, &old));
    printf("old VIRTUAL was zero: %s\n", yesno(tv_ns(old.it_value) == 0));
    getitimer(ITIMER_VIRTUAL, &v);
    /* Linux adds a tick to a CPU-time interval timer's first expiry. */
    printf("armed VIRTUAL in (0, 60ms]: %s\n", yesno(tv_ns(v.it_value) > 0 && tv_ns(v.it_value) <= 60 * MS));
    sleep_ns(300 * MS);
    printf("SIGVTALRM while asleep 300ms: %s\n", yesno(n_sig[SIGVTALRM] != 0));
    printf("SIGVTALRM while spinning: %s\n", yesno(spin_until(&n_sig[SIGVTALRM], 30000 * MS)));
    getitimer(ITIMER_VIRTUAL, &v);
    printf("one-shot VIRTUAL disarmed after firing: %s\n", yesno(tv_ns(v.it_value) == 0));

    struct itimerval prof = {{0, 20000}, {0, 20000}};
    T("setitimer PROF 20ms periodic", setitimer(ITIMER_PROF, &prof, NULL));
    uint64_t end = mono_ns() + 60000 * MS;
    while (n_sig[SIGPROF] < 3 && mono_ns() < end)
        for (int i = 0; i < 1000; i++)
            getppid();
    printf("SIGPROF three times: %s\n", yesno(n_sig[SIGPROF] >= 3));
    struct itimerval zero = {{0, 0}, {0, 0}};
    T("setitimer PROF off", setitimer(ITIMER_PROF, &zero, &old));
    printf("old PROF interval 20ms: %s\n", yesno(tv_ns(old.it_interval) == 20 * MS));
    printf("old PROF value in (0, 20ms]: %s\n", yesno(tv_ns(old.it_value) > 0 && tv_ns(old.it_value) <= 20 * MS));

    struct itimerval real = {{0, 0}, {0, 30000}};
    T("setitimer REAL 30ms", setitimer(ITIMER_REAL, &real, NULL));
    printf("SIGALRM: %s\n", yesno(wait_sig(SIGALRM, 1, 10000 * MS)));

    T("setitimer bad which", setitimer(7, &fifty, NULL));
    T("getitimer bad which", getitimer(7, &v));
    T("getitimer -1", syscall(SYS_getitimer, -1, &v));
    struct itimerval bad = {{0, 0}, {0, 1000000}};
    T("setitimer usec 1000000", setitimer(ITIMER_VIRTUAL, &bad, NULL));
    bad.it_value.tv_usec = -1;
    T("setitimer usec -1", setitimer(ITIMER_PROF, &bad, NULL));
    T("setitimer bad pointer", syscall(SYS_setitimer, ITIMER_REAL, KPTR, NULL));
    T("getitimer bad pointer", syscall(SYS_getitimer, ITIMER_PROF, KPTR));
    T("setitimer bad old pointer", syscall(SYS_setitimer, ITIMER_REAL, &zero, KPTR));
}

/* ------------------------------------------------------------------- posix -- */

static volatile pid_t waiter_tid;
static volatile sig_atomic_t waiter_got, waiter_code;

static void *waiter(void *arg)
{
    (void)arg;
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    waiter_tid = sys_gettid();
    siginfo_t si;
    if (sigwaitinfo(&s, &si) == SIGUSR2) {
        waiter_code = si.si_code;
        waiter_got = si.si_value.sival_int;
    }
    return NULL;
}

static void posix(void)
{
    struct ksigevent ev;
    struct itimerspec v, old;
    int id = -1, id2 = -1;
    catch_sig(SIGUSR1);
    catch_sig(SIGALRM);

    memset(&ev, 0, sizeof ev);
    ev.notify = SIGEV_SIGNAL;
    ev.signo = SIGUSR1;
    ev.value.sival_int = 42;
    T("timer_create MONOTONIC SIGEV_SIGNAL", k_timer_create(CLOCK_MONOTONIC, &ev, &id));
    printf("timer id >= 0: %s\n", yesno(id >= 0));
    v = its(50 * MS, 0);
    T("timer_settime 50ms", k_timer_settime(id, 0, &v, &old));
    printf("old value zero: %s\n", yesno(ts_ns(old.it_value) == 0 && ts_ns(old.it_interval) == 0));
    k_timer_gettime(id, &v);
    printf("armed in (0, 50ms]: %s\n", yesno(ts_ns(v.it_value) > 0 && ts_ns(v.it_value) <= 50 * MS));
    printf("signal: %s\n", yesno(wait_sig(SIGUSR1, 1, 10000 * MS)));
    printf("si_code SI_TIMER: %s, si_value 42: %s, si_timerid the id: %s, si_overrun 0: %s\n",
           yesno(last_code == SI_TIMER), yesno(last_value == 42), yesno(last_timerid == id),
           yesno(last_overrun == 0));
    T("timer_gettime", k_timer_gettime(id, &v));
    printf("expired one-shot reads zero: %s\n", yesno(ts_ns(v.it_value) == 0));

    v = its(20 * MS, 20 * MS);
    T("timer_settime 20ms periodic", k_timer_settime(id, 0, &v, NULL));
    n_sig[SIGUSR1] = 0;
    printf("three periodic signals: %s\n", yesno(wait_sig(SIGUSR1, 3, 20000 * MS)));
    k_timer_gettime(id, &v);
    printf("interval reads 20ms: %s\n", yesno(ts_ns(v.it_interval) == 20 * MS));
    struct itimerspec off = its(0, 0);
    T("timer_settime disarm", k_timer_settime(id, 0, &off, &old));
    printf("old interval 20ms: %s\n", yesno(ts_ns(old.it_interval) == 20 * MS));

    /* Absolute time on the wall clock. */
    memset(&ev, 0, sizeof ev);
    ev.notify = SIGEV_SIGNAL;
    ev.signo = SIGUSR1;
    ev.value.sival_int = 7;
    T("timer_create REALTIME", k_timer_create(CLOCK_REALTIME, &ev, &id2));
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t at = ts_ns(now) + 40 * MS;
    v = its(at, 0);
    n_sig[SIGUSR1] = 0;
    T("timer_settime TIMER_ABSTIME", k_timer_settime(id2, TIMER_ABSTIME, &v, NULL));
    printf("absolute timer signal (value 7): %s\n", yesno(wait_sig(SIGUSR1, 1, 10000 * MS) && last_value == 7));
    clock_gettime(CLOCK_REALTIME, &now);
    v = its(ts_ns(now) - 1000 * MS, 0);
    n_sig[SIGUSR1] = 0;
    T("timer_settime absolute time in the past", k_timer_settime(id2, TIMER_ABSTIME, &v, NULL));
    printf("fires at once: %s\n", yesno(wait_sig(SIGUSR1, 1, 10000 * MS)));
    T("timer_delete", k_timer_delete(id2));
    T("timer_delete again", k_timer_delete(id2));
    T("timer_settime deleted", k_timer_settime(id2, 0, &v, NULL));
    T("timer_gettime deleted", k_timer_gettime(id2, &v));
    T("timer_getoverrun deleted", k_timer_getoverrun(id2));

    /* SIGEV_NONE: nothing is sent, the timer still runs. */
    memset(&ev, 0, sizeof ev);
    ev.notify = SIGEV_NONE;
    T("timer_create SIGEV_NONE", k_timer_create(CLOCK_MONOTONIC, &ev, &id2));
    v = its(100 * MS, 0);
    k_timer_settime(id2, 0, &v, NULL);
    k_timer_gettime(id2, &v);
    printf("SIGEV_NONE armed in (0, 100ms]: %s\n", yesno(ts_ns(v.it_value) > 0 && ts_ns(v.it_value) <= 100 * MS));
    sleep_ns(200 * MS);
    k_timer_gettime(id2, &v);
    printf("SIGEV_NONE expired: %s\n", yesno(ts_ns(v.it_value) == 0));
    k_timer_delete(id2);

    /* SIGEV_THREAD_ID: to one thread, which takes it with sigwaitinfo. */
    sigset_t s, saved;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &s, &saved);
    pthread_t th;
    pthread_create(&th, NULL, waiter, NULL);
    while (!waiter_tid)
        sleep_ns(MS);
    memset(&ev, 0, sizeof ev);
    ev.notify = SIGEV_THREAD_ID;
    ev.signo = SIGUSR2;
    ev.tid = waiter_tid;
    ev.value.sival_int = 99;
    T("timer_create SIGEV_THREAD_ID", k_timer_create(CLOCK_MONOTONIC, &ev, &id2));
    v = its(30 * MS, 0);
    k_timer_settime(id2, 0, &v, NULL);
    pthread_join(th, NULL);
    printf("the thread took it: %s, SI_TIMER: %s\n", yesno(waiter_got == 99), yesno(waiter_code == SI_TIMER));
    k_timer_delete(id2);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    ev.tid = getppid();
    T("SIGEV_THREAD_ID of another process", k_timer_create(CLOCK_MONOTONIC, &ev, &id2));
    ev.tid = 0x3fffffff;
    T("SIGEV_THREAD_ID of no thread", k_timer_create(CLOCK_MONOTONIC, &ev, &id2));

    /* NULL sigevent: SIGALRM with the timer id as value. */
    T("timer_create NULL sigevent", k_timer_create(CLOCK_MONOTONIC, NULL, &id2));
    v = its(20 * MS, 0);
    k_timer_settime(id2, 0, &v, NULL);
    printf("SIGALRM with the id as value: %s\n", yesno(wait_sig(SIGALRM, 1, 10000 * MS) && last_value == id2));
    k_timer_delete(id2);

    /* CPU-time clocks. */
    memset(&ev, 0, sizeof ev);
    ev.notify = SIGEV_SIGNAL;
    ev.signo = SIGUSR1;
    T("timer_create PROCESS_CPUTIME", k_timer_create(CLOCK_PROCESS_CPUTIME_ID, &ev, &id2));
    v = its(30 * MS, 0);
    n_sig[SIGUSR1] = 0;
    k_timer_settime(id2, 0, &v, NULL);
    sleep_ns(200 * MS);
    printf("CPU timer while asleep: %s\n", yesno(n_sig[SIGUSR1] != 0));
    printf("CPU timer while spinning: %s\n", yesno(spin_until(&n_sig[SIGUSR1], 30000 * MS)));
    k_timer_delete(id2);
    T("timer_create THREAD_CPUTIME", k_timer_create(CLOCK_THREAD_CPUTIME_ID, &ev, &id2));
    v = its(20 * MS, 0);
    n_sig[SIGUSR1] = 0;
    k_timer_settime(id2, 0, &v, NULL);
    printf("thread CPU timer while spinning: %s\n", yesno(spin_until(&n_sig[SIGUSR1], 30000 * MS)));
    k_timer_delete(id2);
    k_timer_delete(id);

    /* Errors. */
    memset(&ev, 0, sizeof ev);
    ev.notify = SIGEV_SIGNAL;
    ev.signo = SIGUSR1;
    T("timer_create bad clock", k_timer_create(99, &ev, &id2));
    T("timer_create MONOTONIC_RAW", k_timer_create(CLOCK_MONOTONIC_RAW, &ev, &id2));
    ev.notify = 77;
    T("timer_create bad sigev_notify", k_timer_create(CLOCK_MONOTONIC, &ev, &id2));
    ev.notify = SIGEV_THREAD | SIGEV_THREAD_ID;
    T("timer_create SIGEV_THREAD|SIGEV_THREAD_ID", k_timer_create(CLOCK_MONOTONIC, &ev, &id2));
    ev.notify = SIGEV_THREAD;
    ev.signo = 0;
    T("timer_create raw SIGEV_THREAD signal 0", k_timer_create(CLOCK_MONOTONIC, &ev, &id2));
    ev.signo = SIGUSR1;
    ev.value.sival_int = 11;
    n_sig[SIGUSR1] = 0;
    T("timer_create raw SIGEV_THREAD (a signal to the process)", k_timer_create(CLOCK_MONOTONIC, &ev, &id2));
    v = its(20 * MS, 0);
    k_timer_settime(id2, 0, &v, NULL);
    printf("its signal: %s\n", yesno(wait_sig(SIGUSR1, 1, 10000 * MS) && last_value == 11));
    k_timer_delete(id2);
    ev.notify = SIGEV_SIGNAL;
    ev.signo = 0;
    T("timer_create signal 0", k_timer_create(CLOCK_MONOTONIC, &ev, &id2));
    ev.signo = 65;
    T("timer_create signal 65", k_timer_create(CLOCK_MONOTONIC, &ev, &id2));
    T("timer_create bad sigevent pointer", k_timer_create(CLOCK_MONOTONIC, KPTR, &id2));
    ev.signo = SIGUSR1;
    T("timer_create bad id pointer", k_timer_create(CLOCK_MONOTONIC, &ev, KPTR));
    T("timer_create", k_timer_create(CLOCK_MONOTONIC, &ev, &id2));
    struct itimerspec badv = its(0, 0);
    badv.it_value.tv_nsec = 1000000000;
    T("timer_settime nsec 1e9", k_timer_settime(id2, 0, &badv, NULL));
    badv = its(0, 0);
    badv.it_interval.tv_nsec = -1;
    T("timer_settime interval nsec -1", k_timer_settime(id2, 0, &badv, NULL));
    T("timer_settime NULL value", k_timer_settime(id2, 0, NULL, NULL));
    T("timer_settime bad value pointer", k_timer_settime(id2, 0, KPTR, NULL));
    T("timer_gettime bad pointer", k_timer_gettime(id2, KPTR));
    T("timer_settime bad id", k_timer_settime(12345, 0, &v, NULL));
    T("timer_gettime id -1", k_timer_gettime(-1, &v));
    T("timer_getoverrun fresh", k_timer_getoverrun(id2));
    T("timer_delete", k_timer_delete(id2));
}

/* ---------------------------------------------------------------- overrun -- */

static void overrun(void)
{
    struct ksigevent ev;
    struct itimerspec v;
    int id = -1;
    sigset_t s, saved;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigprocmask(SIG_BLOCK, &s, &saved);
    memset(&ev, 0, sizeof ev);
    ev.notify = SIGEV_SIGNAL;
    ev.signo = SIGUSR1;
    T("timer_create", k_timer_create(CLOCK_MONOTONIC, &ev, &id));
    v = its(10 * MS, 10 * MS);
    k_timer_settime(id, 0, &v, NULL);
    sleep_ns(300 * MS);
    sigset_t p;
    sigpending(&p);
    printf("pending while blocked: %s\n", yesno(sigismember(&p, SIGUSR1)));
    siginfo_t si;
    struct timespec zero = {0, 0};
    int sig = sigtimedwait(&s, &si, &zero);
    printf("sigtimedwait took it: %s, SI_TIMER: %s\n", yesno(sig == SIGUSR1), yesno(si.si_code == SI_TIMER));
    printf("si_overrun counted the expiries missed (>= 5): %s\n", yesno(si.si_overrun >= 5));
    long o = k_timer_getoverrun(id);
    printf("timer_getoverrun equals si_overrun: %s\n", yesno(o == si.si_overrun));
    /* Another expiry queues a new signal; deleting the timer drops it. */
    sleep_ns(50 * MS);
    T("timer_delete", k_timer_delete(id));
    sig = sigtimedwait(&s, &si, &zero);
    printf("signal of the deleted timer dropped: %s\n", yesno(sig < 0 && errno == EAGAIN));
    sigprocmask(SIG_SETMASK, &saved, NULL);
}

/* ---------------------------------------------------------------- timerfd -- */

static void timerfd(void)
{
    struct itimerspec v, old;
    uint64_t n = 0;
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    printf("timerfd_create: %s\n", res(fd));
    printf("O_NONBLOCK: %s, FD_CLOEXEC: %s\n", yesno(fcntl(fd, F_GETFL) & O_NONBLOCK),
           yesno(fcntl(fd, F_GETFD) & FD_CLOEXEC));
    T("read disarmed", read(fd, &n, 8));
    v = its(50 * MS, 0);
    T("timerfd_settime 50ms", timerfd_settime(fd, 0, &v, &old));
    printf("old zero: %s\n", yesno(ts_ns(old.it_value) == 0));
    T("timerfd_gettime", timerfd_gettime(fd, &v));
    printf("armed in (0, 50ms]: %s\n", yesno(ts_ns(v.it_value) > 0 && ts_ns(v.it_value) <= 50 * MS));
    struct pollfd pf = {fd, POLLIN, 0};
    V("poll before expiry", poll(&pf, 1, 0));
    V("poll until expiry", poll(&pf, 1, 20000));
    printf("POLLIN: %s\n", yesno(pf.revents & POLLIN));
    T("read 8 bytes", read(fd, &n, 8));
    printf("count 1: %s\n", yesno(n == 1));
    T("read again", read(fd, &n, 8));

    v = its(10 * MS, 10 * MS);
    timerfd_settime(fd, 0, &v, NULL);
    sleep_ns(150 * MS);
    read(fd, &n, 8);
    printf("periodic count >= 5: %s\n", yesno(n >= 5));
    timerfd_gettime(fd, &v);
    printf("interval 10ms: %s\n", yesno(ts_ns(v.it_interval) == 10 * MS));
    char small[4];
    T("read 4 bytes", read(fd, small, 4));
    struct itimerspec off = its(0, 0);
    T("disarm", timerfd_settime(fd, 0, &off, &old));
    printf("old interval 10ms: %s\n", yesno(ts_ns(old.it_interval) == 10 * MS));
    timerfd_gettime(fd, &v);
    printf("disarmed reads zero: %s\n", yesno(ts_ns(v.it_value) == 0 && ts_ns(v.it_interval) == 0));

    /* Blocking read, absolute time, epoll. */
    int b = timerfd_create(CLOCK_MONOTONIC, 0);
    v = its(mono_ns() + 30 * MS, 0);
    T("settime TFD_TIMER_ABSTIME", timerfd_settime(b, TFD_TIMER_ABSTIME, &v, NULL));
    int ep = epoll_create1(0);
    struct epoll_event e = {EPOLLIN, {.u64 = 5}}, got;
    T("epoll_ctl ADD timerfd", epoll_ctl(ep, EPOLL_CTL_ADD, b, &e));
    V("epoll_wait", epoll_wait(ep, &got, 1, 20000));
    printf("epoll data 5: %s\n", yesno(got.data.u64 == 5));
    T("blocking read", read(b, &n, 8));
    printf("count 1: %s\n", yesno(n == 1));
    v = its(20 * MS, 0);
    timerfd_settime(b, 0, &v, NULL);
    T("blocking read waits", read(b, &n, 8));
    printf("count 1: %s\n", yesno(n == 1));
    close(ep);

    int rt = timerfd_create(CLOCK_REALTIME, 0);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    v = its(ts_ns(now) + 1000000 * MS, 0);
    T("REALTIME absolute with TFD_TIMER_CANCEL_ON_SET", timerfd_settime(rt, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &v, NULL));
    close(rt);
    int bt = timerfd_create(CLOCK_BOOTTIME, 0);
    printf("timerfd_create BOOTTIME: %s\n", res(bt));
    close(bt);

    /* Errors. */
    T("timerfd_create PROCESS_CPUTIME", timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0));
    T("timerfd_create bad clock", timerfd_create(99, 0));
    T("timerfd_create bad flags", timerfd_create(CLOCK_MONOTONIC, 1));
    T("timerfd_settime bad flags", timerfd_settime(fd, 4, &v, NULL));
    struct itimerspec badv = its(0, 0);
    badv.it_value.tv_nsec = 1000000000;
    T("timerfd_settime nsec 1e9", timerfd_settime(fd, 0, &badv, NULL));
    T("timerfd_settime bad pointer", syscall(SYS_timerfd_settime, fd, 0, KPTR, NULL));
    T("timerfd_gettime bad pointer", syscall(SYS_timerfd_gettime, fd, KPTR));
    int pp[2];
    pipe(pp);
    T("timerfd_settime on a pipe", timerfd_settime(pp[0], 0, &v, NULL));
    T("timerfd_gettime on a pipe", timerfd_gettime(pp[0], &v));
    T("timerfd_settime bad fd", timerfd_settime(999, 0, &v, NULL));
    close(pp[0]);
    close(pp[1]);
    close(fd);
    close(b);
}

/* --------------------------------------------------------------- cpuclock -- */

static volatile int spinner_stop;
static volatile clockid_t spinner_clock;
static void *spinner(void *arg)
{
    (void)arg;
    pthread_getcpuclockid(pthread_self(), (clockid_t *)&spinner_clock);
    volatile unsigned long x = 0;
    while (!spinner_stop)
        x++;
    return NULL;
}

static void cpuclock(void)
{
    uint64_t c0 = ns_of(CLOCK_PROCESS_CPUTIME_ID);
    burn_cpu(50 * MS);
    uint64_t c1 = ns_of(CLOCK_PROCESS_CPUTIME_ID);
    printf("process CPU clock grew while spinning: %s\n", yesno(c1 - c0 >= 50 * MS));
    uint64_t t0 = ns_of(CLOCK_THREAD_CPUTIME_ID);
    sleep_ns(300 * MS);
    uint64_t c2 = ns_of(CLOCK_PROCESS_CPUTIME_ID), t1 = ns_of(CLOCK_THREAD_CPUTIME_ID);
    printf("process CPU clock stood (almost) still while asleep 300ms: %s\n", yesno(c2 - c1 < 100 * MS));
    printf("thread CPU clock too: %s\n", yesno(t1 - t0 < 100 * MS));
    struct timespec r;
    T("clock_getres PROCESS_CPUTIME", clock_getres(CLOCK_PROCESS_CPUTIME_ID, &r));
    printf("resolution 1ns: %s\n", yesno(r.tv_sec == 0 && r.tv_nsec == 1));

    clockid_t pc;
    printf("clock_getcpuclockid(self): %s\n", clock_getcpuclockid(getpid(), &pc) == 0 ? "OK" : "error");
    struct timespec ts;
    T("clock_gettime on it", clock_gettime(pc, &ts));
    printf("it reads like PROCESS_CPUTIME: %s\n", yesno(ts_ns(ts) >= 50 * MS));
    /* A clock id naming no process: ~pid << 3 with CPUCLOCK_SCHED. */
    clockid_t none = (clockid_t)((~0x3ffffff0u << 3) | 2);
    T("clock_gettime of no process", clock_gettime(none, &ts));
    T("clock_gettime CPUCLOCK_WHICH 3", syscall(SYS_clock_gettime, (clockid_t)((~0u << 3) | 3), &ts));

    pthread_t th;
    pthread_create(&th, NULL, spinner, NULL);
    while (!spinner_clock)
        sleep_ns(MS);
    uint64_t s0 = ns_of(spinner_clock), m0 = ns_of(CLOCK_THREAD_CPUTIME_ID);
    sleep_ns(200 * MS);
    uint64_t s1 = ns_of(spinner_clock), m1 = ns_of(CLOCK_THREAD_CPUTIME_ID);
    printf("spinning thread's clock grew: %s\n", yesno(s1 > s0));
    printf("sleeping thread's clock grew less: %s\n", yesno(m1 - m0 < s1 - s0));
    struct timespec ten = {0, 10 * (long)MS};
    T("clock_nanosleep PROCESS_CPUTIME 10ms (another thread spins)",
      syscall(SYS_clock_nanosleep, CLOCK_PROCESS_CPUTIME_ID, 0, &ten, NULL));
    spinner_stop = 1;
    pthread_join(th, NULL);
    T("clock_nanosleep THREAD_CPUTIME", syscall(SYS_clock_nanosleep, CLOCK_THREAD_CPUTIME_ID, 0, &ten, NULL));
    T("clock_nanosleep MONOTONIC_RAW", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC_RAW, 0, &ten, NULL));
    T("clock_nanosleep MONOTONIC_COARSE", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC_COARSE, 0, &ten, NULL));
    T("clock_nanosleep bad clock", syscall(SYS_clock_nanosleep, 99, 0, &ten, NULL));
    T("clock_nanosleep BOOTTIME", syscall(SYS_clock_nanosleep, CLOCK_BOOTTIME, 0, &ten, NULL));
    T("clock_nanosleep TAI", syscall(SYS_clock_nanosleep, CLOCK_TAI, 0, &ten, NULL));

    /* User and system time. */
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    burn_cpu(100 * MS);
    getrusage(RUSAGE_SELF, &ru1);
    printf("ru_utime grew while spinning: %s\n", yesno(tv_ns(ru1.ru_utime) > tv_ns(ru0.ru_utime)));
    getrusage(RUSAGE_SELF, &ru0);
    uint64_t end = mono_ns() + 60000 * MS;
    while (tv_ns(ru1.ru_stime) <= tv_ns(ru0.ru_stime) && mono_ns() < end) {
        for (int i = 0; i < 2000; i++)
            syscall(SYS_getppid);
        getrusage(RUSAGE_SELF, &ru1);
    }
    printf("ru_stime grew with system calls: %s\n", yesno(tv_ns(ru1.ru_stime) > tv_ns(ru0.ru_stime)));
    T("getrusage RUSAGE_THREAD", getrusage(RUSAGE_THREAD, &ru1));
    printf("thread utime > 0: %s\n", yesno(tv_ns(ru1.ru_utime) > 0));
    T("getrusage bad who", getrusage(5, &ru1));
    T("getrusage bad pointer", syscall(SYS_getrusage, RUSAGE_SELF, KPTR));
    pid_t c = xfork();
    if (c == 0) {
        burn_cpu(100 * MS);
        _exit(0);
    }
    reap(c, "spinning child");
    getrusage(RUSAGE_CHILDREN, &ru1);
    printf("children's utime after reaping it: %s\n", yesno(tv_ns(ru1.ru_utime) >= 50 * MS));
    struct tms tm;
    times(&tm);
    printf("times: utime > 0: %s, cutime > 0: %s\n", yesno(tm.tms_utime > 0), yesno(tm.tms_cutime > 0));
}

/* ---------------------------------------------------------------- settime -- */

static void settime_unprivileged(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    T("clock_settime REALTIME without CAP_SYS_TIME", clock_settime(CLOCK_REALTIME, &now));
    struct timeval tv = {now.tv_sec, 0};
    T("settimeofday without CAP_SYS_TIME", settimeofday(&tv, NULL));
    T("timerfd_create REALTIME_ALARM without CAP_WAKE_ALARM", timerfd_create(CLOCK_REALTIME_ALARM, 0));
    struct timex tx;
    memset(&tx, 0, sizeof tx);
    tx.modes = ADJ_FREQUENCY;
    T("adjtimex ADJ_FREQUENCY without CAP_SYS_TIME", adjtimex(&tx));
    memset(&tx, 0, sizeof tx);
    T("adjtimex read", adjtimex(&tx));
}

static void settime(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    T("clock_settime MONOTONIC", clock_settime(CLOCK_MONOTONIC, &now));
    T("clock_settime PROCESS_CPUTIME", clock_settime(CLOCK_PROCESS_CPUTIME_ID, &now));
    T("clock_settime bad clock", clock_settime(99, &now));
    struct timespec bad = {0, 1000000000};
    T("clock_settime REALTIME nsec 1e9", clock_settime(CLOCK_REALTIME, &bad));
    T("clock_settime bad pointer", syscall(SYS_clock_settime, CLOCK_REALTIME, KPTR));
    struct timeval tv = {0, 1000000};
    T("settimeofday usec 1e6", settimeofday(&tv, NULL));
    T("settimeofday nothing", syscall(SYS_settimeofday, NULL, NULL));
    /* The NTP state is read (whether the clock is synchronised is the host's). */
    struct timex tx;
    memset(&tx, 0, sizeof tx);
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    int state = adjtimex(&tx);
    printf("adjtimex: a clock state: %s, its time is the wall clock: %s, tick %ld\n", yesno(state >= 0 && state <= 5),
           yesno(tx.time.tv_sec >= wall.tv_sec && tx.time.tv_sec <= wall.tv_sec + 1), (long)tx.tick);
    memset(&tx, 0, sizeof tx);
    T("clock_adjtime MONOTONIC", clock_adjtime(CLOCK_MONOTONIC, &tx));
    T("clock_adjtime bad clock", clock_adjtime(99, &tx));
    tx.modes = 0x8000; /* ADJ_ADJTIME */
    T("adjtimex ADJ_ADJTIME without SINGLESHOT", adjtimex(&tx));
    T("adjtimex bad pointer", syscall(SYS_adjtimex, KPTR));
    as_nobody(settime_unprivileged);
}

/* -------------------------------------------------------------------- libc -- */

static volatile sig_atomic_t thread_calls;
static void on_expiry(union sigval v)
{
    if (v.sival_int == 3)
        thread_calls++;
}

static void libc(void)
{
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD;
    ev.sigev_notify_function = on_expiry;
    ev.sigev_value.sival_int = 3;
    timer_t t;
    T("timer_create SIGEV_THREAD", timer_create(CLOCK_MONOTONIC, &ev, &t));
    struct itimerspec v = its(20 * MS, 20 * MS);
    T("timer_settime", timer_settime(t, 0, &v, NULL));
    uint64_t end = mono_ns() + 20000 * MS;
    while (thread_calls < 2 && mono_ns() < end)
        sleep_ns(MS);
    printf("the function ran in a thread twice: %s\n", yesno(thread_calls >= 2));
    T("timer_delete", timer_delete(t));
}

int main(int argc, char **argv)
{
    probe_init();
    static const struct probe_section sections[] = {
        {"itimer", itimer},     {"posix", posix},       {"overrun", overrun}, {"timerfd", timerfd},
        {"cpuclock", cpuclock}, {"settime", settime},   {"libc", libc},       {NULL, NULL},
    };
    int r = run_sections(argc, argv, sections);
    if (r == 0)
        printf("== done\n");
    return r;
}

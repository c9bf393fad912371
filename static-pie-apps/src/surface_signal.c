/* surface_signal: signalfd, queued signals and the temporary masks of the
 * waiting calls.
 *
 *   surface_signal [SECTION]   sections: signalfd queue masks select stopped
 *
 * signalfd  signalfd/signalfd4: reads of blocked signals as signalfd_siginfo
 *           (several per read), non-blocking reads, poll and epoll, a new mask,
 *           a forked child reads its own signals, the errors
 * queue     rt_sigqueueinfo/rt_tgsigqueueinfo (sigqueue): values reach the
 *           handler, real-time signals queue in order, the rules against
 *           faking the kernel or tkill, the errors
 * masks     ppoll, pselect6 and epoll_pwait with a temporary mask: a pending
 *           signal it unblocks interrupts the call and its handler runs; one it
 *           blocks does not; the old mask is back afterwards
 * select    select/pselect6: readiness of pipes, the time left written back
 *           (select), EBADF, EINVAL, EFAULT
 * stopped   a sleep stopped and continued twice (restarted through
 *           restart_syscall, then stopped again inside the restarted sleep)
 *           still sleeps its whole time and returns 0 */
#include "surface_common.h"
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/signalfd.h>

#define MS 1000000ull

static volatile sig_atomic_t n_sig[65];
static volatile sig_atomic_t last_value, last_code, order[8], n_order;

static void on_info(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    n_sig[sig]++;
    last_value = si->si_value.sival_int;
    last_code = si->si_code;
    if (n_order < 8)
        order[n_order++] = si->si_value.sival_int;
}

static void catch_sig(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_info;
    sa.sa_flags = SA_SIGINFO;
    sigaction(sig, &sa, NULL);
    n_sig[sig] = 0;
}

static void block(int sig, int how)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    sigprocmask(how, &s, NULL);
}

static long k_sigqueueinfo(pid_t pid, int sig, siginfo_t *si) { return syscall(SYS_rt_sigqueueinfo, pid, sig, si); }
static long k_tgsigqueueinfo(pid_t tg, pid_t tid, int sig, siginfo_t *si)
{
    return syscall(SYS_rt_tgsigqueueinfo, tg, tid, sig, si);
}

static siginfo_t queued_info(int code, int value)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_code = code;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value.sival_int = value;
    return si;
}

/* ---------------------------------------------------------------- signalfd -- */

static void signalfd_section(void)
{
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    sigaddset(&m, SIGRTMIN + 2);
    sigprocmask(SIG_BLOCK, &m, NULL);
    int fd = signalfd(-1, &m, SFD_NONBLOCK | SFD_CLOEXEC);
    printf("signalfd: %s\n", res(fd));
    printf("O_NONBLOCK: %s, FD_CLOEXEC: %s\n", yesno(fcntl(fd, F_GETFL) & O_NONBLOCK),
           yesno(fcntl(fd, F_GETFD) & FD_CLOEXEC));
    struct signalfd_siginfo ssi[4];
    T("read with nothing pending", read(fd, ssi, sizeof ssi));
    struct pollfd pf = {fd, POLLIN, 0};
    V("poll with nothing pending", poll(&pf, 1, 0));
    kill(getpid(), SIGUSR1);
    V("poll with SIGUSR1 pending", poll(&pf, 1, 0));
    printf("POLLIN: %s\n", yesno(pf.revents & POLLIN));
    long n = read(fd, ssi, sizeof ssi);
    printf("read: %ld records\n", n < 0 ? -1L : n / (long)sizeof ssi[0]);
    printf("ssi_signo SIGUSR1: %s, ssi_code SI_USER: %s, ssi_pid mine: %s, ssi_uid 0: %s\n",
           yesno(ssi[0].ssi_signo == SIGUSR1), yesno(ssi[0].ssi_code == SI_USER),
           yesno(ssi[0].ssi_pid == (uint32_t)getpid()), yesno(ssi[0].ssi_uid == 0));
    sigset_t p;
    sigpending(&p);
    printf("no longer pending: %s\n", yesno(!sigismember(&p, SIGUSR1)));

    /* Several at once: a standard signal and three queued real-time ones. */
    kill(getpid(), SIGUSR1);
    for (int i = 1; i <= 3; i++) {
        siginfo_t si = queued_info(SI_QUEUE, 10 * i);
        k_sigqueueinfo(getpid(), SIGRTMIN + 2, &si);
    }
    n = read(fd, ssi, sizeof ssi);
    printf("read 4 slots: %ld records\n", n < 0 ? -1L : n / (long)sizeof ssi[0]);
    printf("first SIGUSR1: %s, then values 10 20 30 with SI_QUEUE: %s\n", yesno(ssi[0].ssi_signo == SIGUSR1),
           yesno(ssi[1].ssi_int == 10 && ssi[2].ssi_int == 20 && ssi[3].ssi_int == 30 &&
                 ssi[1].ssi_code == SI_QUEUE));
    T("read 127 bytes", read(fd, ssi, 127));

    /* A new mask on the same descriptor. */
    sigset_t m2;
    sigemptyset(&m2);
    sigaddset(&m2, SIGUSR2);
    block(SIGUSR2, SIG_BLOCK);
    V("signalfd on the same fd", signalfd(fd, &m2, 0) == fd ? 0 : -1);
    kill(getpid(), SIGUSR1);
    T("read: SIGUSR1 no longer in the mask", read(fd, ssi, sizeof ssi));
    kill(getpid(), SIGUSR2);
    n = read(fd, ssi, sizeof ssi);
    printf("SIGUSR2 read: %s\n", yesno(n == (long)sizeof ssi[0] && ssi[0].ssi_signo == SIGUSR2));
    sigpending(&p);
    printf("SIGUSR1 still pending: %s\n", yesno(sigismember(&p, SIGUSR1)));
    struct timespec z = {0, 0};
    sigtimedwait(&m, NULL, &z);

    /* Epoll, and a blocking read woken by a signal from a child. */
    int ep = epoll_create1(0);
    struct epoll_event e = {EPOLLIN, {.u64 = 9}}, got;
    T("epoll_ctl ADD signalfd", epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e));
    V("epoll_wait nothing pending", epoll_wait(ep, &got, 1, 0));
    int b = signalfd(-1, &m2, 0);
    pid_t c = xfork();
    if (c == 0) {
        sleep_ns(50 * MS);
        kill(getppid(), SIGUSR2);
        _exit(0);
    }
    V("epoll_wait for the child's signal", epoll_wait(ep, &got, 1, 20000));
    n = read(b, ssi, sizeof ssi);
    printf("blocking read got the child's SIGUSR2: %s, from the child: %s\n",
           yesno(n == (long)sizeof ssi[0] && ssi[0].ssi_signo == SIGUSR2), yesno(ssi[0].ssi_pid == (uint32_t)c));
    reap(c, "child");
    /* A child's reads see the child's signals, not the parent's. */
    kill(getpid(), SIGUSR2);
    c = xfork();
    if (c == 0) {
        long r = read(fd, ssi, sizeof ssi);
        printf("child: parent's pending SIGUSR2 not seen: %s\n", yesno(r < 0 && errno == EAGAIN));
        kill(getpid(), SIGUSR2);
        r = read(fd, ssi, sizeof ssi);
        printf("child: its own SIGUSR2: %s\n", yesno(r == (long)sizeof ssi[0] && ssi[0].ssi_signo == SIGUSR2));
        fflush(NULL);
        _exit(0);
    }
    reap(c, "child");
    n = read(fd, ssi, sizeof ssi);
    printf("parent still has its SIGUSR2: %s\n", yesno(n == (long)sizeof ssi[0]));
    close(ep);
    close(b);

    /* Errors. */
    T("signalfd4 sizemask 4", syscall(SYS_signalfd4, -1, &m, 4, 0));
    T("signalfd4 bad flags", syscall(SYS_signalfd4, -1, &m, 8, 1));
    T("signalfd4 bad mask pointer", syscall(SYS_signalfd4, -1, KPTR, 8, 0));
    int pp[2];
    pipe(pp);
    T("signalfd on a pipe", signalfd(pp[0], &m, 0));
    T("signalfd on fd 999", signalfd(999, &m, 0));
    close(pp[0]);
    close(pp[1]);
    close(fd);
    sigprocmask(SIG_UNBLOCK, &m, NULL);
    block(SIGUSR2, SIG_UNBLOCK);
}

/* ------------------------------------------------------------------- queue -- */

static volatile pid_t target_tid;
static volatile sig_atomic_t target_got;
static void *target(void *arg)
{
    (void)arg;
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    target_tid = sys_gettid();
    siginfo_t si;
    if (sigwaitinfo(&s, &si) == SIGUSR2)
        target_got = si.si_value.sival_int;
    return NULL;
}

static void queue(void)
{
    catch_sig(SIGUSR1);
    union sigval v = {.sival_int = 77};
    T("sigqueue to self", sigqueue(getpid(), SIGUSR1, v));
    printf("handler got value 77 with SI_QUEUE: %s\n", yesno(n_sig[SIGUSR1] == 1 && last_value == 77 && last_code == SI_QUEUE));

    /* Real-time signals queue every instance, in order. */
    int rt = SIGRTMIN + 1;
    catch_sig(rt);
    block(rt, SIG_BLOCK);
    n_order = 0;
    for (int i = 1; i <= 3; i++) {
        union sigval w = {.sival_int = i};
        sigqueue(getpid(), rt, w);
    }
    block(rt, SIG_UNBLOCK);
    printf("three instances in order: %s\n", yesno(n_order == 3 && order[0] == 1 && order[1] == 2 && order[2] == 3));
    /* Standard signals merge. */
    block(SIGUSR1, SIG_BLOCK);
    n_sig[SIGUSR1] = 0;
    sigqueue(getpid(), SIGUSR1, v);
    sigqueue(getpid(), SIGUSR1, v);
    block(SIGUSR1, SIG_UNBLOCK);
    printf("two SIGUSR1 merge into one: %s\n", yesno(n_sig[SIGUSR1] == 1));

    /* To another process: SI_QUEUE is fine, SI_USER and SI_TKILL are not. */
    block(SIGUSR1, SIG_BLOCK);
    pid_t c = xfork();
    if (c == 0) {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR1);
        siginfo_t si;
        struct timespec t = {20, 0};
        int r = sigtimedwait(&s, &si, &t);
        _exit(r == SIGUSR1 && si.si_value.sival_int == 5 && si.si_code == SI_QUEUE ? 0 : 1);
    }
    siginfo_t si = queued_info(SI_USER, 5);
    T("rt_sigqueueinfo SI_USER to another process", k_sigqueueinfo(c, SIGUSR1, &si));
    si = queued_info(SI_TKILL, 5);
    T("rt_sigqueueinfo SI_TKILL to another process", k_sigqueueinfo(c, SIGUSR1, &si));
    si = queued_info(SI_KERNEL, 5);
    T("rt_sigqueueinfo SI_KERNEL to another process", k_sigqueueinfo(c, SIGUSR1, &si));
    si = queued_info(SI_QUEUE, 5);
    T("rt_sigqueueinfo SI_QUEUE to another process", k_sigqueueinfo(c, SIGUSR1, &si));
    printf("the child took value 5 with SI_QUEUE (exit 0): ");
    reap(c, "child");
    block(SIGUSR1, SIG_UNBLOCK);
    si = queued_info(SI_USER, 6);
    n_sig[SIGUSR1] = 0;
    T("rt_sigqueueinfo SI_USER to self", k_sigqueueinfo(getpid(), SIGUSR1, &si));
    printf("delivered: %s\n", yesno(n_sig[SIGUSR1] == 1));

    /* rt_tgsigqueueinfo to one thread. */
    block(SIGUSR2, SIG_BLOCK);
    pthread_t th;
    pthread_create(&th, NULL, target, NULL);
    while (!target_tid)
        sleep_ns(MS);
    si = queued_info(SI_QUEUE, 8);
    T("rt_tgsigqueueinfo to a thread", k_tgsigqueueinfo(getpid(), target_tid, SIGUSR2, &si));
    pthread_join(th, NULL);
    printf("the thread got value 8: %s\n", yesno(target_got == 8));
    block(SIGUSR2, SIG_UNBLOCK);
    si = queued_info(SI_USER, 1);
    T("rt_tgsigqueueinfo SI_USER to a thread of mine that is not me",
      k_tgsigqueueinfo(getpid(), getpid() + 100000, SIGUSR1, &si));
    si = queued_info(SI_QUEUE, 1);
    T("rt_tgsigqueueinfo tid 0", k_tgsigqueueinfo(getpid(), 0, SIGUSR1, &si));
    T("rt_tgsigqueueinfo tgid -1", k_tgsigqueueinfo(-1, sys_gettid(), SIGUSR1, &si));
    T("rt_tgsigqueueinfo wrong tgid", k_tgsigqueueinfo(0x3ffffff0, sys_gettid(), SIGUSR1, &si));
    T("rt_tgsigqueueinfo signal 65", k_tgsigqueueinfo(getpid(), sys_gettid(), 65, &si));
    T("rt_tgsigqueueinfo signal 0", k_tgsigqueueinfo(getpid(), sys_gettid(), 0, &si));
    T("rt_sigqueueinfo signal 65", k_sigqueueinfo(getpid(), 65, &si));
    T("rt_sigqueueinfo signal 0", k_sigqueueinfo(getpid(), 0, &si));
    T("rt_sigqueueinfo no process", k_sigqueueinfo(0x3ffffff0, SIGUSR1, &si));
    T("rt_sigqueueinfo pid 0", k_sigqueueinfo(0, SIGUSR1, &si));
    T("rt_sigqueueinfo pid -1", k_sigqueueinfo(-1, SIGUSR1, &si));
    T("rt_sigqueueinfo bad pointer", k_sigqueueinfo(getpid(), SIGUSR1, KPTR));
    T("rt_tgsigqueueinfo bad pointer", k_tgsigqueueinfo(getpid(), sys_gettid(), SIGUSR1, KPTR));
}

/* ------------------------------------------------------------------- masks -- */

static void masks(void)
{
    catch_sig(SIGUSR1);
    sigset_t usr1, empty, cur;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigemptyset(&empty);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    int p[2];
    pipe(p);
    struct pollfd pf = {p[0], POLLIN, 0};
    struct timespec t = {0, 50 * (long)MS};

    kill(getpid(), SIGUSR1);
    n_sig[SIGUSR1] = 0;
    T("ppoll, mask unblocking a pending SIGUSR1", ppoll(&pf, 1, &t, &empty));
    printf("handler ran: %s\n", yesno(n_sig[SIGUSR1] == 1));
    sigprocmask(SIG_BLOCK, NULL, &cur);
    printf("SIGUSR1 blocked again after: %s\n", yesno(sigismember(&cur, SIGUSR1)));
    kill(getpid(), SIGUSR1);
    n_sig[SIGUSR1] = 0;
    V("ppoll, mask blocking it", ppoll(&pf, 1, &t, &usr1));
    printf("handler ran: %s\n", yesno(n_sig[SIGUSR1] != 0));

    int ep = epoll_create1(0);
    struct epoll_event e = {EPOLLIN, {.u64 = 1}}, got;
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e);
    T("epoll_pwait, mask unblocking it", epoll_pwait(ep, &got, 1, 50, &empty));
    printf("handler ran: %s\n", yesno(n_sig[SIGUSR1] == 1));
    sigprocmask(SIG_BLOCK, NULL, &cur);
    printf("SIGUSR1 blocked again after: %s\n", yesno(sigismember(&cur, SIGUSR1)));
    kill(getpid(), SIGUSR1);
    n_sig[SIGUSR1] = 0;
    V("epoll_pwait, mask blocking it", epoll_pwait(ep, &got, 1, 50, &usr1));
    printf("handler ran: %s\n", yesno(n_sig[SIGUSR1] != 0));

    fd_set r;
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    T("pselect, mask unblocking it", pselect(p[0] + 1, &r, NULL, NULL, &t, &empty));
    printf("handler ran: %s\n", yesno(n_sig[SIGUSR1] == 1));
    sigprocmask(SIG_BLOCK, NULL, &cur);
    printf("SIGUSR1 blocked again after: %s\n", yesno(sigismember(&cur, SIGUSR1)));
    kill(getpid(), SIGUSR1);
    n_sig[SIGUSR1] = 0;
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    V("pselect, mask blocking it", pselect(p[0] + 1, &r, NULL, NULL, &t, &usr1));
    printf("handler ran: %s\n", yesno(n_sig[SIGUSR1] != 0));

    /* Ready descriptors win: the mask is put back without running the handler. */
    write(p[1], "x", 1);
    V("ppoll with data ready and the signal unblocked by the mask", ppoll(&pf, 1, &t, &empty));
    printf("handler ran (Linux restores the mask first): %s\n", yesno(n_sig[SIGUSR1] != 0));
    sigprocmask(SIG_UNBLOCK, &usr1, NULL);
    printf("runs once unblocked: %s\n", yesno(n_sig[SIGUSR1] == 1));
    T("ppoll bad sigset size", syscall(SYS_ppoll, &pf, 1, &t, &empty, 4));
    T("epoll_pwait bad sigset size", syscall(SYS_epoll_pwait, ep, &got, 1, 0, &empty, 16));
    T("ppoll bad mask pointer", syscall(SYS_ppoll, &pf, 1, &t, KPTR, 8));
    close(ep);
    close(p[0]);
    close(p[1]);
}

/* ------------------------------------------------------------------ select -- */

static void select_section(void)
{
    int p[2];
    pipe(p);
    fd_set r, w;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(p[0], &r);
    FD_SET(p[1], &w);
    struct timeval tv = {0, 0};
    V("select: empty pipe read, writable write end", select(p[1] + 1, &r, &w, NULL, &tv));
    printf("read end set: %s, write end set: %s\n", yesno(FD_ISSET(p[0], &r)), yesno(FD_ISSET(p[1], &w)));
    write(p[1], "x", 1);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    tv.tv_sec = 5;
    V("select: data ready", select(p[0] + 1, &r, NULL, NULL, &tv));
    printf("time left written back, under 5s: %s\n", yesno(tv.tv_sec <= 5 && (tv.tv_sec < 5 || tv.tv_usec < 1000000)));
    char c;
    read(p[0], &c, 1);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    tv.tv_sec = 0;
    tv.tv_usec = 30000;
    V("select: timeout", select(p[0] + 1, &r, NULL, NULL, &tv));
    printf("set cleared: %s, time left zero: %s\n", yesno(!FD_ISSET(p[0], &r)), yesno(tv.tv_sec == 0 && tv.tv_usec == 0));
    tv.tv_sec = 0;
    tv.tv_usec = 1500000;
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    write(p[1], "y", 1);
    V("select: tv_usec 1500000 (carried into seconds)", select(p[0] + 1, &r, NULL, NULL, &tv));
    read(p[0], &c, 1);
    close(p[1]);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    V("select: hung-up pipe is readable", select(p[0] + 1, &r, NULL, NULL, NULL));
    FD_ZERO(&r);
    FD_SET(p[1], &r);
    tv.tv_sec = 0;
    tv.tv_usec = 0;
    T("select: closed descriptor", select(p[1] + 1, &r, NULL, NULL, &tv));
    T("select: nfds -1", select(-1, NULL, NULL, NULL, &tv));
    tv.tv_sec = -1;
    T("select: negative timeout", select(1, NULL, NULL, NULL, &tv));
    tv.tv_sec = 0;
    tv.tv_usec = -1;
    T("select: negative usec", select(1, NULL, NULL, NULL, &tv));
    tv.tv_usec = 0;
    T("pselect6: bad set pointer", syscall(SYS_pselect6, 1, KPTR, NULL, NULL, NULL, NULL));
    T("pselect6: bad timeout pointer", syscall(SYS_pselect6, 1, NULL, NULL, NULL, KPTR, NULL));
    V("select: nfds beyond open descriptors", select(5000, NULL, NULL, NULL, &tv));
    struct timespec ts = {0, 1000000000};
    T("pselect: nsec 1e9", syscall(SYS_pselect6, 1, NULL, NULL, NULL, &ts, NULL));
    struct timespec t0 = {0, 20 * (long)MS};
    V("pselect6 raw: timeout", syscall(SYS_pselect6, 0, NULL, NULL, NULL, &t0, NULL));
    printf("time left written back as zero: %s\n", yesno(t0.tv_sec == 0 && t0.tv_nsec == 0));
    struct {
        const sigset_t *ss;
        size_t len;
    } arg = {NULL, 4};
    t0.tv_nsec = 0;
    V("pselect6 raw: NULL mask with any size", syscall(SYS_pselect6, 0, NULL, NULL, NULL, &t0, &arg));
    sigset_t m;
    sigemptyset(&m);
    arg.ss = &m;
    T("pselect6 raw: mask size 4", syscall(SYS_pselect6, 0, NULL, NULL, NULL, &t0, &arg));
    T("pselect6 raw: bad mask argument", syscall(SYS_pselect6, 0, NULL, NULL, NULL, &t0, KPTR));
    close(p[0]);
}

/* The child's nanosleep and clock_nanosleep across two stops: a stop without a
 * handler restarts the sleep for the time left (restart_syscall), and the second
 * stop interrupts the restarted one. */
static void stopped_sleep(int use_clock)
{
    int p[2];
    if (pipe(p) != 0)
        return;
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        struct timespec t0, t1, req = {0, 600 * MS};
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int r = use_clock ? clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL) : nanosleep(&req, NULL);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long long ns = (t1.tv_sec - t0.tv_sec) * 1000000000ll + (t1.tv_nsec - t0.tv_nsec);
        char line[160];
        int n = snprintf(line, sizeof line, "%s across two stops: returned %d, slept the whole time %s\n",
                         use_clock ? "clock_nanosleep" : "nanosleep", r, ns >= 600ll * (long long)MS ? "yes" : "no");
        if (write(p[1], line, n) != n)
            _exit(2);
        _exit(0);
    }
    close(p[1]);
    struct timespec gap = {0, 120 * MS}, stop = {0, 40 * MS};
    for (int i = 0; i < 2; i++) {
        nanosleep(&gap, NULL);
        kill(child, SIGSTOP);
        nanosleep(&stop, NULL);
        kill(child, SIGCONT);
    }
    char buf[200] = {0};
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    close(p[0]);
    int st = 0;
    waitpid(child, &st, 0);
    printf("%s", n > 0 ? buf : "no report from the sleeper\n");
    printf("sleeper exited normally: %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : "no");
}

static void stopped(void)
{
    stopped_sleep(0);
    stopped_sleep(1);
}

int main(int argc, char **argv)
{
    probe_init();
    static const struct probe_section sections[] = {
        {"signalfd", signalfd_section}, {"queue", queue}, {"masks", masks}, {"select", select_section},
        {"stopped", stopped},   {NULL, NULL},
    };
    int r = run_sections(argc, argv, sections);
    if (r == 0)
        printf("== done\n");
    return r;
}

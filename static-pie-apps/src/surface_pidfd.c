/* surface_pidfd: process file descriptors.
 *
 *   surface_pidfd [SECTION]   sections: open signal getfd clone wait
 *
 * open    pidfd_open: close-on-exec, polls readable once the process exits,
 *         zombies, thread ids (ENOENT, PIDFD_THREAD), the errors
 * signal  pidfd_send_signal with and without siginfo, the rules, ESRCH after
 *         exit, sig 0
 * getfd   pidfd_getfd: a duplicate of a child's pipe end, the errors
 * clone   CLONE_PIDFD through clone3 and clone, the flag combinations refused
 * wait    waitid(P_PIDFD), for a child and not */
#include "surface_common.h"
#include <poll.h>

#define MS 1000000ull
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif

static long k_pidfd_open(pid_t pid, unsigned flags) { return syscall(SYS_pidfd_open, pid, flags); }
static long k_send(int fd, int sig, siginfo_t *si, unsigned flags) { return syscall(SYS_pidfd_send_signal, fd, sig, si, flags); }
static long k_getfd(int fd, int target, unsigned flags) { return syscall(SYS_pidfd_getfd, fd, target, flags); }

struct clone_args_ {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

static int readable(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/* A child that waits for a byte on `go`, then exits with `code`. */
static pid_t gated(int code, int *go)
{
    int p[2];
    pipe(p);
    pid_t c = xfork();
    if (c == 0) {
        close(p[1]);
        token_wait(p[0]);
        _exit(code);
    }
    close(p[0]);
    *go = p[1];
    return c;
}

/* ------------------------------------------------------------------- open -- */

static volatile pid_t thread_tid;
static volatile int thread_stop;
static void *idle_thread(void *a)
{
    (void)a;
    thread_tid = sys_gettid();
    while (!thread_stop)
        sleep_ns(MS);
    return NULL;
}

static volatile sig_atomic_t handled_by;
static void on_usr1(int sig)
{
    (void)sig;
    handled_by = sys_gettid();
}

static void open_section(void)
{
    int go;
    pid_t c = gated(3, &go);
    int fd = k_pidfd_open(c, 0);
    printf("pidfd_open a child: %s, close-on-exec: %s\n", res(fd), yesno(fcntl(fd, F_GETFD) & FD_CLOEXEC));
    printf("readable while it runs: %s\n", yesno(readable(fd, 0)));
    token_send(go);
    printf("readable once it exited: %s\n", yesno(readable(fd, 10000)));
    int z = k_pidfd_open(c, PIDFD_NONBLOCK);
    printf("pidfd_open the zombie: %s, O_NONBLOCK: %s\n", res(z), yesno(fcntl(z, F_GETFL) & O_NONBLOCK));
    printf("readable: %s\n", yesno(readable(z, 0)));
    reap(c, "child");
    T("pidfd_open after it was reaped", k_pidfd_open(c, 0));
    close(fd);
    close(z);
    T("pidfd_open pid 0", k_pidfd_open(0, 0));
    T("pidfd_open pid -1", k_pidfd_open(-1, 0));
    T("pidfd_open no such pid", k_pidfd_open(0x3ffffff0, 0));
    T("pidfd_open bad flags", k_pidfd_open(getpid(), 1));
    pthread_t t;
    pthread_create(&t, NULL, idle_thread, NULL);
    while (!thread_tid)
        sleep_ns(MS);
    T("pidfd_open of a thread id", k_pidfd_open(thread_tid, 0));
    long tf = k_pidfd_open(thread_tid, PIDFD_THREAD);
    printf("pidfd_open of a thread id with PIDFD_THREAD: %s\n", res(tf));
    printf("readable while the thread runs: %s\n", yesno(readable(tf, 0)));
    signal(SIGUSR1, on_usr1);
    T("pidfd_send_signal through the thread pidfd", k_send(tf, SIGUSR1, NULL, 0));
    for (int i = 0; i < 10000 && !handled_by; i++)
        sleep_ns(MS);
    printf("the thread ran the handler: %s\n", yesno(handled_by == thread_tid));
    thread_stop = 1;
    pthread_join(t, NULL);
    printf("readable once the thread exited: %s\n", yesno(readable(tf, 10000)));
    close(tf);
    signal(SIGUSR1, SIG_DFL);
    int self = k_pidfd_open(getpid(), 0);
    printf("pidfd_open self: %s, readable: %s\n", res(self), yesno(readable(self, 0)));
    char buf[8];
    T("read a pidfd", read(self, buf, sizeof buf));
    close(self);
}

/* ----------------------------------------------------------------- signal -- */

static void signal_section(void)
{
    int p[2];
    pipe(p);
    pid_t c = xfork();
    if (c == 0) {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR1);
        sigaddset(&s, SIGUSR2);
        sigprocmask(SIG_BLOCK, &s, NULL);
        close(p[0]);
        token_send(p[1]);
        siginfo_t si;
        struct timespec t = {20, 0};
        int r1 = sigtimedwait(&s, &si, &t);
        int ok1 = r1 == SIGUSR1 && si.si_code == SI_USER && si.si_pid == getppid();
        int r2 = sigtimedwait(&s, &si, &t);
        int ok2 = r2 == SIGUSR2 && si.si_code == SI_QUEUE && si.si_value.sival_int == 12;
        _exit((ok1 ? 0 : 1) | (ok2 ? 0 : 2));
    }
    close(p[1]);
    token_wait(p[0]);
    int fd = k_pidfd_open(c, 0);
    T("pidfd_send_signal SIGUSR1, no siginfo", k_send(fd, SIGUSR1, NULL, 0));
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = SIGUSR2;
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_value.sival_int = 12;
    T("pidfd_send_signal SIGUSR2 with SI_QUEUE", k_send(fd, SIGUSR2, &si, 0));
    int st;
    waitpid(c, &st, 0);
    printf("the child got SI_USER from me, then the queued value: %s (%d)\n",
           yesno(WIFEXITED(st) && WEXITSTATUS(st) == 0), WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    T("pidfd_send_signal after the child was reaped", k_send(fd, SIGUSR1, NULL, 0));
    close(fd);
    int go;
    c = gated(0, &go);
    fd = k_pidfd_open(c, 0);
    T("pidfd_send_signal signal 0", k_send(fd, 0, NULL, 0));
    T("pidfd_send_signal signal 65", k_send(fd, 65, NULL, 0));
    T("pidfd_send_signal bad flags", k_send(fd, SIGUSR1, NULL, 8));
    si.si_signo = SIGUSR1;
    T("siginfo for another signal", k_send(fd, SIGUSR2, &si, 0));
    si.si_signo = SIGUSR1;
    si.si_code = SI_USER;
    T("siginfo with SI_USER to another process", k_send(fd, SIGUSR1, &si, 0));
    T("bad siginfo pointer", k_send(fd, SIGUSR1, KPTR, 0));
    T("pidfd_send_signal on a pipe", k_send(p[0], SIGUSR1, NULL, 0));
    T("pidfd_send_signal on fd 999", k_send(999, SIGUSR1, NULL, 0));
    T("SIGKILL", k_send(fd, SIGKILL, NULL, 0));
    reap(c, "the gated child");
    close(go);
    close(fd);
    close(p[0]);
}

/* ------------------------------------------------------------------ getfd -- */

static void getfd_section(void)
{
    int ready[2], data[2];
    pipe(ready);
    pipe(data);
    pid_t c = xfork();
    if (c == 0) {
        close(ready[0]);
        /* Keep only the read end, at fd 40; tell the parent. */
        dup2(data[0], 40);
        close(data[0]);
        close(data[1]);
        token_send(ready[1]);
        char buf[16] = {0};
        long n = read_full(40, buf, 5);
        _exit(n == 5 && strcmp(buf, "hello") == 0 ? 0 : 1);
    }
    close(ready[1]);
    close(data[0]);
    token_wait(ready[0]);
    int fd = k_pidfd_open(c, 0);
    int mine = k_getfd(fd, 40, 0);
    printf("pidfd_getfd the child's fd 40: %s, close-on-exec: %s\n", res(mine), yesno(fcntl(mine, F_GETFD) & FD_CLOEXEC));
    T("pidfd_getfd flags 1", k_getfd(fd, 40, 1));
    T("pidfd_getfd an fd it does not have", k_getfd(fd, 41, 0));
    T("pidfd_getfd on a pipe", k_getfd(ready[0], 40, 0));
    /* The duplicate is the child's read end: what the child reads, we can read
       too; write into the data pipe for the child. */
    write(data[1], "hello", 5);
    close(data[1]);
    reap(c, "the child read what was written");
    close(mine);
    T("pidfd_getfd of the exited child", k_getfd(fd, 40, 0));
    close(fd);
    close(ready[0]);
}

/* ------------------------------------------------------------------ clone -- */

static void clone_section(void)
{
    int pfd = -1;
    struct clone_args_ a;
    memset(&a, 0, sizeof a);
    a.flags = CLONE_PIDFD;
    a.pidfd = (uint64_t)(uintptr_t)&pfd;
    a.exit_signal = SIGCHLD;
    fflush(NULL);
    long c = syscall(SYS_clone3, &a, sizeof a);
    if (c == 0) {
        sleep_ns(50 * MS);
        _exit(5);
    }
    printf("clone3 CLONE_PIDFD: %s, a pidfd came back: %s\n", c > 0 ? "OK" : errname(errno), yesno(pfd >= 0));
    printf("close-on-exec: %s\n", yesno(fcntl(pfd, F_GETFD) & FD_CLOEXEC));
    printf("readable once it exited: %s\n", yesno(readable(pfd, 10000)));
    siginfo_t si;
    memset(&si, 0, sizeof si);
    T("waitid(P_PIDFD)", waitid(P_PIDFD, pfd, &si, WEXITED));
    printf("si_pid the child: %s, status 5: %s\n", yesno(si.si_pid == c), yesno(si.si_status == 5));
    close(pfd);
    memset(&a, 0, sizeof a);
    a.flags = CLONE_PIDFD;
    a.exit_signal = SIGCHLD;
    a.pidfd = (uint64_t)(uintptr_t)KPTR;
    T("clone3 CLONE_PIDFD, pidfd pointer in the kernel", syscall(SYS_clone3, &a, sizeof a));
    a.pidfd = 0;
    T("clone3 CLONE_PIDFD, NULL pidfd", syscall(SYS_clone3, &a, sizeof a));
    a.pidfd = (uint64_t)(uintptr_t)&pfd;
    a.flags = CLONE_PIDFD | CLONE_DETACHED;
    T("clone3 CLONE_PIDFD|CLONE_DETACHED", syscall(SYS_clone3, &a, sizeof a));
    int pt;
    T("clone CLONE_PIDFD|CLONE_PARENT_SETTID", syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, &pt, 0, 0));
    pfd = -1;
    fflush(NULL);
    c = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &pfd, 0, 0);
    if (c == 0)
        _exit(6);
    printf("clone CLONE_PIDFD: %s, the pidfd in parent_tid: %s\n", c > 0 ? "OK" : errname(errno), yesno(pfd >= 0));
    memset(&si, 0, sizeof si);
    waitid(P_PIDFD, pfd, &si, WEXITED);
    printf("waitid(P_PIDFD): status 6: %s\n", yesno(si.si_status == 6 && si.si_pid == c));
    close(pfd);
}

/* ------------------------------------------------------------------- wait -- */

static void wait_section(void)
{
    int go;
    pid_t c = gated(7, &go);
    int fd = k_pidfd_open(c, 0);
    siginfo_t si;
    memset(&si, 0x5a, sizeof si);
    T("waitid(P_PIDFD, WNOHANG) while it runs", waitid(P_PIDFD, fd, &si, WEXITED | WNOHANG));
    printf("si_pid 0: %s\n", yesno(si.si_pid == 0));
    token_send(go);
    T("waitid(P_PIDFD, WNOWAIT)", waitid(P_PIDFD, fd, &si, WEXITED | WNOWAIT));
    T("waitid(P_PIDFD)", waitid(P_PIDFD, fd, &si, WEXITED));
    printf("status 7: %s\n", yesno(si.si_status == 7));
    T("waitid(P_PIDFD) again", waitid(P_PIDFD, fd, &si, WEXITED));
    close(fd);
    int self = k_pidfd_open(getpid(), 0);
    T("waitid(P_PIDFD) of myself", waitid(P_PIDFD, self, &si, WEXITED | WNOHANG));
    close(self);
    int p[2];
    pipe(p);
    T("waitid(P_PIDFD) on a pipe", waitid(P_PIDFD, p[0], &si, WEXITED));
    T("waitid(P_PIDFD) on fd 999", waitid(P_PIDFD, 999, &si, WEXITED));
    close(p[0]);
    close(p[1]);
    close(go);
}

int main(int argc, char **argv)
{
    probe_init();
    static const struct probe_section sections[] = {
        {"open", open_section}, {"signal", signal_section}, {"getfd", getfd_section},
        {"clone", clone_section}, {"wait", wait_section},   {NULL, NULL},
    };
    int r = run_sections(argc, argv, sections);
    if (r == 0)
        printf("== done\n");
    return r;
}

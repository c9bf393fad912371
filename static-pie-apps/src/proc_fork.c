/* proc_fork: fork and its relatives, checked the way Linux behaves.
 *
 *   proc_fork [SECTION]     sections: basics statuses cow threads inherit
 *                                     clone clone3 vfork
 *
 * basics    pids and parents across fork, grandchildren, wait4/waitpid/waitid
 * statuses  exit codes (exit, _exit, return from main, atexit) and deaths by
 *           signal (SIGTERM, SIGKILL, SIGSEGV, SIGABRT, SIGUSR1) through
 *           waitpid, wait4 and waitid
 * cow       copy-on-write: globals, stack, heap, MAP_PRIVATE anonymous and file
 *           pages each private after fork, written on either side;
 *           MAP_SHARED anonymous and file pages shared; untouched pages zero
 * threads   fork in a process with three other threads (and from a non-main
 *           thread): the child has one thread, its tid is its pid, and it can
 *           create threads
 * inherit   what the child keeps (descriptors, handlers, mask, cwd, umask,
 *           rlimits, nice, name) and what it does not (pending signals,
 *           alarms, PDEATHSIG, subreaper)
 * clone     clone() without CLONE_VM (fork-like), with exit signal 0 (waited
 *           only with __WALL), CLONE_VM|CLONE_VFORK (parent resumes after the
 *           child exits and sees its writes), CLONE_THREAD|CLONE_VFORK (the
 *           caller resumes when the thread exits)
 * clone3    the clone3 syscall without CLONE_VM, and its EINVAL cases
 * vfork     vfork: the parent sleeps until the child _exits, then sees what
 *           the child wrote */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <time.h>
#include "proc_common.h"

#ifndef SYS_clone3
#define SYS_clone3 435
#endif

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* ------------------------------------------------------------- basics -- */

static void basics(void)
{
    pid_t parent = getpid();
    int p[2];
    pipe(p);
    pid_t c = xfork();
    if (c == 0) {
        close(p[0]);
        pid_t me = getpid();
        write_full(p[1], &me, sizeof me);
        printf("child: fork() returned 0\n");
        printf("child: getppid() == parent: %s\n", yesno(getppid() == parent));
        printf("child: getpid() != parent: %s\n", yesno(me != parent));
        printf("child: gettid() == getpid(): %s\n", yesno(syscall(SYS_gettid) == me));
        /* A grandchild sees the child as its parent. */
        pid_t g = xfork();
        if (g == 0) {
            printf("grandchild: getppid() == child: %s\n", yesno(getppid() == me));
            _exit(9);
        }
        reap(g, "child: grandchild");
        _exit(0);
    }
    close(p[1]);
    pid_t seen = 0;
    read_full(p[0], &seen, sizeof seen);
    close(p[0]);
    reap(c, "child");
    printf("fork() returned the child's pid: %s\n", yesno(c > 0 && seen == c));

    /* The three wait calls for one plain exit each. */
    c = xfork();
    if (c == 0)
        _exit(3);
    int st;
    struct rusage ru;
    memset(&ru, 0xff, sizeof ru);
    pid_t r = wait4(c, &st, 0, &ru);
    printf("wait4: returned the child: %s, %s, rusage filled: %s\n", yesno(r == c), status_text(st),
           yesno(ru.ru_utime.tv_usec >= 0 && ru.ru_utime.tv_usec < 1000000 && ru.ru_stime.tv_usec >= 0 &&
              ru.ru_stime.tv_usec < 1000000));
    c = xfork();
    if (c == 0)
        _exit(4);
    r = wait(&st);
    printf("wait: returned the child: %s, %s\n", yesno(r == c), status_text(st));
    c = xfork();
    if (c == 0)
        _exit(5);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int rc = waitid(P_PID, c, &si, WEXITED);
    printf("waitid: %s, si_signo %s, si_code %s, si_status %d, si_pid is the child: %s, si_uid %s\n", res(rc),
           signame(si.si_signo), cld_code(si.si_code), si.si_status, yesno(si.si_pid == c),
           si.si_uid == getuid() ? "is getuid()" : "differs");
    errno = 0;
    r = waitpid(-1, &st, 0);
    printf("no child left: waitpid %ld %s\n", (long)r, res(r));
}

/* ----------------------------------------------------------- statuses -- */

static void atexit_handler(void) { printf("child: atexit handler ran\n"); }

static void statuses(void)
{
    static const int codes[] = {0, 1, 42, 127, 255, 256, 257, -1};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
        pid_t c = xfork();
        if (c == 0)
            _exit(codes[i]);
        char what[32];
        snprintf(what, sizeof what, "_exit(%d)", codes[i]);
        reap(c, what);
    }
    pid_t c = xfork();
    if (c == 0) {
        atexit(atexit_handler);
        printf("child: buffered text flushed by exit() after the handler / ");
        exit(6);
    }
    reap(c, "exit(6) with atexit");
    c = xfork();
    if (c == 0) {
        atexit(atexit_handler);
        _exit(7);
    }
    reap(c, "_exit(7) skips atexit");

    struct {
        const char *what;
        int how;
    } deaths[] = {
        {"raise(SIGTERM)", 0}, {"kill(self, SIGKILL)", 1}, {"NULL store", 2},
        {"abort()", 3},        {"raise(SIGUSR1)", 4},      {"kill from parent, SIGTERM", 5},
    };
    for (size_t i = 0; i < sizeof deaths / sizeof *deaths; i++) {
        int go[2];
        pipe(go);
        c = xfork();
        if (c == 0) {
            close(go[1]);
            no_core_dump();
            switch (deaths[i].how) {
            case 0: raise(SIGTERM); break;
            case 1: kill(getpid(), SIGKILL); break;
            case 2: *(volatile int *)(uintptr_t)(go[0] & 0) = 1; break;
            case 3: abort();
            case 4: raise(SIGUSR1); break;
            case 5: token_wait(go[0]); for (;;) pause();
            }
            _exit(100);
        }
        close(go[0]);
        if (deaths[i].how == 5)
            kill(c, SIGTERM);
        close(go[1]);
        int st;
        pid_t r;
        if (i % 3 == 0) {
            r = waitpid(c, &st, 0);
            printf("%s: waitpid %s: %s, WIFSIGNALED %s, WIFEXITED %s\n", deaths[i].what, yesno(r == c),
                   status_text(st), yesno(WIFSIGNALED(st)), yesno(WIFEXITED(st)));
        } else if (i % 3 == 1) {
            struct rusage ru;
            r = wait4(c, &st, 0, &ru);
            printf("%s: wait4 %s: %s, WTERMSIG %s\n", deaths[i].what, yesno(r == c), status_text(st),
                   signame(WTERMSIG(st)));
        } else {
            siginfo_t si;
            memset(&si, 0, sizeof si);
            int rc = waitid(P_PID, c, &si, WEXITED);
            printf("%s: waitid %s: %s, si_status %s\n", deaths[i].what, res(rc), cld_code(si.si_code),
                   signame(si.si_status));
        }
    }
}

/* ---------------------------------------------------------------- cow -- */

static int g_var = 1;

static void cow(void)
{
    int stack_var = 10;
    char *heap = malloc(64);
    strcpy(heap, "parent");
    long pg = sysconf(_SC_PAGESIZE);
    char *priv = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *shared = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    priv[0] = 'p';           /* page 0: written before fork */
    /* page 1: never touched before fork; page 2: read before fork */
    volatile char sink = priv[2 * pg];
    (void)sink;
    shared[0] = 's';

    char tmpl[] = "/tmp/proc_fork.XXXXXX";
    int fd = mkstemp(tmpl);
    unlink(tmpl);
    char fbuf[8192];
    memset(fbuf, 'f', sizeof fbuf);
    write_full(fd, fbuf, sizeof fbuf);
    char *fpriv = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    char *fshared = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    fpriv[0] = 'P';          /* private copy of file page 0 before fork */

    int to_child[2], to_parent[2];
    pipe(to_child);
    pipe(to_parent);
    pid_t c = xfork();
    if (c == 0) {
        close(to_child[1]);
        close(to_parent[0]);
        /* 1. The child writes everything, then lets the parent look. */
        g_var = 2;
        stack_var = 20;
        strcpy(heap, "child");
        priv[0] = 'c';
        priv[pg] = 'c';
        priv[2 * pg] = 'c';
        shared[0] = 'S';
        fpriv[0] = 'C';
        fpriv[pg] = 'C';
        fshared[pg] = 'X';
        token_send(to_parent[1]);
        /* 3. The parent has written its copies: the child still sees its own. */
        token_wait(to_child[0]);
        printf("child sees: global %d, stack %d, heap %s, private pages %c%c%c%c, shared %c, "
               "file private %c%c, file shared %c\n",
               g_var, stack_var, heap, priv[0], priv[pg], priv[2 * pg], priv[3 * pg] ? priv[3 * pg] : '0',
               shared[0], fpriv[0], fpriv[pg], fshared[pg]);
        _exit(0);
    }
    close(to_child[0]);
    close(to_parent[1]);
    token_wait(to_parent[0]);
    /* 2. The parent sees its own private values and the child's shared writes. */
    printf("parent sees: global %d, stack %d, heap %s, private pages %c%c%c, shared %c, file private %c%c, "
           "file shared %c\n",
           g_var, stack_var, heap, priv[0], priv[pg] ? priv[pg] : '0', priv[2 * pg] ? priv[2 * pg] : '0',
           shared[0], fpriv[0], fpriv[pg], fshared[pg]);
    g_var = 3;
    stack_var = 30;
    strcpy(heap, "parent2");
    priv[0] = 'q';
    priv[3 * pg] = 'n';
    token_send(to_child[1]);
    reap(c, "child");
    char back;
    pread(fd, &back, 1, pg);
    printf("file page 1 after the child's MAP_SHARED write: %c\n", back);
    printf("parent after child exit: global %d, heap %s, private %c, shared %c\n", g_var, heap, priv[0], shared[0]);

    /* A large private region: every page copied only where written. */
    size_t big = 256 * (size_t)pg;
    unsigned char *r = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (size_t o = 0; o < big; o += pg)
        r[o] = (unsigned char)(o / pg);
    c = xfork();
    if (c == 0) {
        for (size_t o = 0; o < big; o += 2 * pg)
            r[o] = 0xee;
        unsigned sum = 0;
        for (size_t o = 0; o < big; o += pg)
            sum += r[o];
        printf("child: 256 pages, even ones rewritten, sum %u\n", sum);
        _exit(0);
    }
    reap(c, "child");
    unsigned sum = 0;
    for (size_t o = 0; o < big; o += pg)
        sum += r[o];
    printf("parent: 256 pages unchanged, sum %u\n", sum);
    close(fd);
    free(heap);
}

/* ------------------------------------------------------------ threads -- */

static volatile int t_release;
/* Counters under a mutex (no <stdatomic.h>: on arm64 it needs libgcc's
 * outline atomics, which call glibc's __getauxval even in musl builds). */
static pthread_mutex_t t_mu = PTHREAD_MUTEX_INITIALIZER;
static volatile int t_started, t_woken;

static void count(volatile int *v)
{
    pthread_mutex_lock(&t_mu);
    (*v)++;
    pthread_mutex_unlock(&t_mu);
}

static void *idle_thread(void *arg)
{
    (void)arg;
    count(&t_started);
    while (!t_release)
        sleep_ms(1);
    count(&t_woken);
    return NULL;
}

static void *child_thread(void *arg) { return (char *)arg + 1; }

static void fork_child_report(const char *who)
{
    /* In the child, release the (absent) copies of the other threads: if they
     * existed they would count themselves. */
    t_release = 1;
    sleep_ms(30);
    printf("%s child: Threads in /proc/self/status: %ld\n", who, proc_status_field("Threads"));
    printf("%s child: other threads ran: %s\n", who, yesno(t_woken != 0));
    printf("%s child: gettid() == getpid(): %s\n", who, yesno(syscall(SYS_gettid) == getpid()));
    pthread_t t;
    void *ret = NULL;
    int e = pthread_create(&t, NULL, child_thread, (void *)41);
    if (e == 0)
        e = pthread_join(t, &ret);
    printf("%s child: new thread: %s, returned %ld\n", who, errname(e), (long)ret);
    fflush(stdout);
}

static void *forking_thread(void *arg)
{
    (void)arg;
    pid_t c = xfork();
    if (c == 0) {
        fork_child_report("non-main-thread");
        _exit(0);
    }
    reap(c, "non-main-thread child");
    return NULL;
}

static void threads(void)
{
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, idle_thread, NULL);
    while (t_started < 3)
        sleep_ms(1);
    printf("parent: Threads in /proc/self/status: %ld\n", proc_status_field("Threads"));
    pid_t c = xfork();
    if (c == 0) {
        fork_child_report("main-thread");
        _exit(0);
    }
    reap(c, "main-thread child");
    pthread_t f;
    pthread_create(&f, NULL, forking_thread, NULL);
    pthread_join(f, NULL);
    t_release = 1;
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    printf("parent: its own threads woke: %d\n", t_woken);
}

/* ------------------------------------------------------------ inherit -- */

static volatile sig_atomic_t got_usr1;
static void on_usr1(int s) { (void)s; got_usr1++; }

static void inherit(void)
{
    int fd = open("/proc/self/status", O_RDONLY);
    int cfd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    signal(SIGUSR1, on_usr1);
    signal(SIGUSR2, SIG_IGN);
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGHUP);
    sigaddset(&m, SIGTERM);
    sigprocmask(SIG_BLOCK, &m, NULL);
    raise(SIGHUP); /* pending in the parent only */
    char cwd_before[256];
    getcwd(cwd_before, sizeof cwd_before);
    chdir("/proc");
    umask(027);
    struct rlimit nofile, lowered;
    getrlimit(RLIMIT_NOFILE, &nofile);
    lowered = nofile;
    lowered.rlim_cur = 200;
    setrlimit(RLIMIT_NOFILE, &lowered);
    errno = 0;
    int nice_before = getpriority(PRIO_PROCESS, 0);
    setpriority(PRIO_PROCESS, 0, nice_before + 3);
    prctl(PR_SET_NAME, "inherit-test", 0, 0, 0);
    prctl(PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0);
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    alarm(100);

    pid_t c = xfork();
    if (c == 0) {
        printf("child: plain fd open: %s, O_CLOEXEC fd open: %s (FD_CLOEXEC %s)\n", yesno(fcntl(fd, F_GETFD) >= 0),
               yesno(fcntl(cfd, F_GETFD) >= 0), yesno(fcntl(cfd, F_GETFD) == FD_CLOEXEC));
        struct sigaction sa;
        sigaction(SIGUSR1, NULL, &sa);
        printf("child: SIGUSR1 handler kept: %s\n", yesno(sa.sa_handler == on_usr1));
        sigaction(SIGUSR2, NULL, &sa);
        printf("child: SIGUSR2 still ignored: %s\n", yesno(sa.sa_handler == SIG_IGN));
        raise(SIGUSR1);
        printf("child: handler runs in the child: %s\n", yesno(got_usr1 == 1));
        sigset_t cur, pend;
        sigprocmask(SIG_BLOCK, NULL, &cur);
        printf("child: mask kept (SIGHUP, SIGTERM blocked): %s\n",
               yesno(sigismember(&cur, SIGHUP) && sigismember(&cur, SIGTERM)));
        sigpending(&pend);
        printf("child: parent's pending SIGHUP not inherited: %s\n", yesno(!sigismember(&pend, SIGHUP)));
        char cwd[256];
        getcwd(cwd, sizeof cwd);
        printf("child: cwd %s\n", cwd);
        mode_t um = umask(0);
        printf("child: umask %03o\n", (unsigned)um);
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        printf("child: RLIMIT_NOFILE soft %ld\n", (long)rl.rlim_cur);
        errno = 0;
        printf("child: nice raised by 3: %s\n", yesno(getpriority(PRIO_PROCESS, 0) == nice_before + 3));
        char name[32] = {0};
        prctl(PR_GET_NAME, name, 0, 0, 0);
        printf("child: name %s\n", name);
        int v = -1;
        prctl(PR_GET_PDEATHSIG, &v, 0, 0, 0);
        printf("child: PDEATHSIG cleared: %s\n", yesno(v == 0));
        v = -1;
        prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0);
        printf("child: subreaper not inherited: %s\n", yesno(v == 0));
        printf("child: parent's alarm not inherited: %s\n", yesno(alarm(0) == 0));
        _exit(0);
    }
    reap(c, "child");
    /* Back to the probe's state. */
    alarm(0);
    prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
    prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    prctl(PR_SET_NAME, "proc_fork", 0, 0, 0);
    setpriority(PRIO_PROCESS, 0, nice_before);
    setrlimit(RLIMIT_NOFILE, &nofile);
    umask(022);
    chdir(cwd_before);
    struct timespec zero = {0, 0};
    sigtimedwait(&m, NULL, &zero);
    sigprocmask(SIG_UNBLOCK, &m, NULL);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);
    printf("parent: SIGUSR1 handler ran here: %s\n", yesno(got_usr1 != 0));
    close(fd);
    close(cfd);
}

/* -------------------------------------------------------------- clone -- */

static volatile int clone_var;

static int clone_child(void *arg)
{
    clone_var = (int)(intptr_t)arg;
    return 7;
}

static int clone_vfork_child(void *arg)
{
    /* The parent is asleep until this returns: it cannot see a half state. */
    sleep_ms(30);
    clone_var = (int)(intptr_t)arg;
    return 8;
}

static void clone_section(void)
{
    size_t ssz = 256 * 1024;
    char *stack = mmap(NULL, ssz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    clone_var = 1;
    fflush(NULL);
    pid_t c = clone(clone_child, stack + ssz, SIGCHLD, (void *)55);
    printf("clone(SIGCHLD): %s\n", c > 0 ? "child created" : errname(errno));
    if (c > 0) {
        reap(c, "clone child");
        printf("parent's copy unchanged: %s\n", yesno(clone_var == 1));
    }

    /* exit signal 0: a "clone child", invisible to plain waitpid. */
    fflush(NULL);
    c = clone(clone_child, stack + ssz, 0, (void *)56);
    printf("clone(no exit signal): %s\n", c > 0 ? "child created" : errname(errno));
    if (c > 0) {
        int st;
        errno = 0;
        pid_t r = waitpid(c, &st, 0);
        printf("waitpid without __WALL: %s\n", r < 0 ? errname(errno) : "returned it");
        r = waitpid(c, &st, __WALL);
        printf("waitpid with __WALL: %s, %s\n", yesno(r == c), status_text(st));
    }

    fflush(NULL);
    c = clone(clone_vfork_child, stack + ssz, CLONE_VM | CLONE_VFORK | SIGCHLD, (void *)57);
    printf("clone(CLONE_VM|CLONE_VFORK): %s, child's write seen on return: %s\n",
           c > 0 ? "child created" : errname(errno), yesno(clone_var == 57));
    if (c > 0)
        reap(c, "vfork-like clone child");
    /* A thread made with CLONE_VFORK: the caller resumes when it exits. */
    fflush(NULL);
    clone_var = 1;
    c = clone(clone_vfork_child, stack + ssz,
              CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM | CLONE_VFORK,
              (void *)58);
    printf("clone(CLONE_THREAD|CLONE_VFORK): %s, the thread's write seen on return: %s\n",
           c > 0 ? "thread created" : errname(errno), yesno(clone_var == 58));
    munmap(stack, ssz);
}

/* ------------------------------------------------------------- clone3 -- */

struct clone_args_v0 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

static void clone3_section(void)
{
    struct clone_args_v0 ca;
    memset(&ca, 0, sizeof ca);
    ca.exit_signal = SIGCHLD;
    clone_var = 1;
    int p[2];
    pipe(p);
    fflush(NULL);
    long c = syscall(SYS_clone3, &ca, sizeof ca);
    if (c == 0) {
        /* Raw child: libc's thread data is the parent's copy; only syscalls. */
        clone_var = 99;
        char v = (char)clone_var;
        syscall(SYS_write, p[1], &v, 1);
        syscall(SYS_exit_group, 12);
    }
    printf("clone3(exit_signal SIGCHLD): %s\n", c > 0 ? "child created" : errname(errno));
    if (c > 0) {
        char v = 0;
        read_full(p[0], &v, 1);
        printf("child wrote its own copy: %s\n", yesno(v == 99));
        reap((pid_t)c, "clone3 child");
        printf("parent's copy unchanged: %s\n", yesno(clone_var == 1));
    }
    close(p[0]);
    close(p[1]);

    long r = syscall(SYS_clone3, &ca, (size_t)32);
    printf("clone3 size 32 (below CLONE_ARGS_SIZE_VER0): %s\n", res(r));
    ca.flags = 1ULL << 40;
    r = syscall(SYS_clone3, &ca, sizeof ca);
    printf("clone3 unknown flag: %s\n", res(r));
    ca.flags = 0;
    ca.exit_signal = 1000;
    r = syscall(SYS_clone3, &ca, sizeof ca);
    printf("clone3 exit_signal 1000: %s\n", res(r));
    ca.exit_signal = SIGCHLD;
    ca.flags = CLONE_THREAD;
    r = syscall(SYS_clone3, &ca, sizeof ca);
    printf("clone3 CLONE_THREAD without CLONE_SIGHAND: %s\n", res(r));
    ca.flags = CLONE_SIGHAND;
    r = syscall(SYS_clone3, &ca, sizeof ca);
    printf("clone3 CLONE_SIGHAND without CLONE_VM: %s\n", res(r));
    r = syscall(SYS_clone3, (void *)8, sizeof ca);
    printf("clone3 bad pointer: %s\n", res(r));
}

/* -------------------------------------------------------------- vfork -- */

static void vfork_section(void)
{
    static volatile int shared;
    shared = 0;
    fflush(NULL);
    pid_t c = vfork();
    if (c == 0) {
        /* The parent sleeps until _exit: the slow write is still seen. */
        sleep_ms(30);
        shared = 42;
        _exit(3);
    }
    printf("vfork: %s, child's write seen on return: %s\n", c > 0 ? "child created" : errname(errno),
           yesno(shared == 42));
    if (c > 0)
        reap(c, "vfork child");
    c = vfork();
    if (c == 0)
        _exit(getppid() == 0 ? 1 : 4);
    reap(c, "second vfork child");
}

/* ------------------------------------------------------------- unshare -- */

static void *token_thread(void *arg)
{
    token_wait(*(int *)arg);
    return NULL;
}

/* A child made with clone(`flags` | SIGCHLD) on a copy of our stack that unshares
   `unshare_flags` (0: none), then opens a file and changes directory and umask;
   prints what of that the parent sees. */
static void shared_with_child(const char *what, long flags, long unshare_flags)
{
    int rep[2], go[2];
    pipe(rep);
    pipe(go);
    char cwd0[256], here[256];
    getcwd(cwd0, sizeof cwd0);
    /* Away from /, where the child goes. */
    if (chdir("/dev") != 0)
        printf("chdir /dev: %s\n", errname(errno));
    getcwd(here, sizeof here);
    mode_t um0 = umask(022);
    umask(um0);
    fflush(NULL);
    long c = syscall(SYS_clone, flags | SIGCHLD, 0L, NULL, NULL, 0L);
    if (c == 0) {
        long r = unshare_flags ? syscall(SYS_unshare, unshare_flags) : 0;
        int fd = open("/dev/null", O_RDONLY);
        if (chdir("/") != 0)
            _exit(3);
        umask(077);
        int msg[2] = {fd, r == 0 ? 0 : errno};
        write_full(rep[1], msg, sizeof msg);
        token_wait(go[0]);
        _exit(0);
    }
    int msg[2] = {-1, -1};
    read_full(rep[0], msg, sizeof msg);
    char cwd[256];
    getcwd(cwd, sizeof cwd);
    mode_t um = umask(um0);
    printf("%s: unshare %s; the child's descriptor is the parent's too: %s, its chdir too: %s, its umask too: %s\n",
           what, msg[1] ? errname(msg[1]) : "ok", yesno(fcntl(msg[0], F_GETFD) >= 0), yesno(strcmp(cwd, here) != 0),
           yesno(um == 077));
    if (fcntl(msg[0], F_GETFD) >= 0)
        close(msg[0]);
    if (chdir(cwd0) != 0)
        printf("chdir back: %s\n", errname(errno));
    token_send(go[1]);
    reap((pid_t)c, "clone child");
    close(rep[0]);
    close(rep[1]);
    close(go[0]);
    close(go[1]);
}

static void unshare_section(void)
{
    printf("unshare(0): %s\n", res(syscall(SYS_unshare, 0L)));
    printf("unshare(unknown flag 0x1): %s\n", res(syscall(SYS_unshare, 0x1L)));
    printf("unshare(CLONE_VM|CLONE_SIGHAND|CLONE_THREAD), one thread: %s\n",
           res(syscall(SYS_unshare, (long)(CLONE_VM | CLONE_SIGHAND | CLONE_THREAD))));
    printf("unshare(CLONE_FILES|CLONE_FS): %s\n", res(syscall(SYS_unshare, (long)(CLONE_FILES | CLONE_FS))));
    shared_with_child("CLONE_FILES|CLONE_FS child", CLONE_FILES | CLONE_FS, 0);
    shared_with_child("the same, unsharing CLONE_FILES", CLONE_FILES | CLONE_FS, CLONE_FILES);
    shared_with_child("the same, unsharing CLONE_FS", CLONE_FILES | CLONE_FS, CLONE_FS);
    shared_with_child("the same, unsharing both", CLONE_FILES | CLONE_FS, CLONE_FILES | CLONE_FS);

    /* With a second thread, the thread group and the memory are shared for good. */
    int go[2];
    pipe(go);
    pthread_t t;
    pthread_create(&t, NULL, token_thread, &go[0]);
    printf("two threads: unshare(CLONE_VM): %s\n", res(syscall(SYS_unshare, (long)CLONE_VM)));
    printf("two threads: unshare(CLONE_THREAD): %s\n", res(syscall(SYS_unshare, (long)CLONE_THREAD)));
    printf("two threads: unshare(CLONE_SIGHAND): %s\n", res(syscall(SYS_unshare, (long)CLONE_SIGHAND)));
    token_send(go[1]);
    pthread_join(t, NULL);
    close(go[0]);
    close(go[1]);

    /* CLONE_SYSVSEM applies the semaphore adjustments, as exit does, when no
       other task shares them. In a child that never had threads: glibc's
       threads share them (CLONE_SYSVSEM), and one that was just joined may not
       have let go of them yet. */
    fflush(stdout);
    pid_t c = xfork();
    if (c == 0) {
        int id = semget(IPC_PRIVATE, 1, 0600);
        struct sembuf up = {0, 2, SEM_UNDO};
        semop(id, &up, 1);
        printf("semaphore after semop(+2, SEM_UNDO): %d\n", semctl(id, 0, GETVAL));
        const char *r = res(syscall(SYS_unshare, (long)CLONE_SYSVSEM));
        printf("unshare(CLONE_SYSVSEM): %s, semaphore now %d\n", r, semctl(id, 0, GETVAL));
        semctl(id, 0, IPC_RMID);
        fflush(stdout);
        _exit(0);
    }
    reap(c, "semaphore child");

    /* setns: only a namespace's descriptor (or a pidfd) names namespaces. */
    int null = open("/dev/null", O_RDONLY);
    printf("setns(-1): %s\n", res(syscall(SYS_setns, -1, 0)));
    printf("setns(/dev/null): %s\n", res(syscall(SYS_setns, null, 0)));
    close(null);
    int pfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    printf("setns(own pidfd, 0): %s\n", res(syscall(SYS_setns, pfd, 0)));
    printf("setns(own pidfd, CLONE_NEWUSER): %s\n", res(syscall(SYS_setns, pfd, (long)CLONE_NEWUSER)));
    printf("setns(own pidfd, unknown flag): %s\n", res(syscall(SYS_setns, pfd, 0x1L)));
    printf("setns(own pidfd, CLONE_NEWUTS|CLONE_NEWNET): %s\n",
           res(syscall(SYS_setns, pfd, (long)(CLONE_NEWUTS | CLONE_NEWNET))));
    close(pfd);
}

int main(int argc, char **argv)
{
    probe_init();
    static const struct probe_section sections[] = {
        {"basics", basics},   {"statuses", statuses},    {"cow", cow},       {"threads", threads},
        {"inherit", inherit}, {"clone", clone_section}, {"clone3", clone3_section}, {"vfork", vfork_section},
        {"unshare", unshare_section},
        {NULL, NULL},
    };
    int r = run_sections(argc, argv, sections);
    if (r == 0)
        printf("== done\n");
    return r;
}

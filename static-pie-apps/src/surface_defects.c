/* surface_defects: the defects of the Linux surface found by reading elfin's
 * code and by probes, one section per group, each against the native run.
 *
 *   surface_defects [SECTION]   sections: read epoll nofile rlimit cpulimit
 *                                         robust rseq sigreturn flags clone
 *                                         rename bigfile sigio seals
 *
 * read       read() into a bad buffer keeps the bytes; dup3(fd, fd);
 *            F_GETPIPE_SZ/F_SETPIPE_SZ; tgkill with a bad tgid
 * epoll      EPOLLET reports edges only; EPOLLONESHOT and EPOLLET survive an
 *            epoll_wait whose copy-out fails; EPOLLEXCLUSIVE's rules
 * nofile     RLIMIT_NOFILE past 1024: descriptors up to the limit, EMFILE and
 *            EBADF beyond; raising the hard limit needs privilege
 * rlimit     RLIMIT_NPROC for a user, RLIMIT_DATA (mmap, brk, mprotect,
 *            mremap), RLIMIT_STACK (stack growth), prlimit's permission rules
 * cpulimit   RLIMIT_CPU: SIGXCPU at the soft limit, every second, SIGKILL at
 *            the hard one
 * robust     robust mutexes of a dead thread and of a dead process
 *            (EOWNERDEAD), and of a process that execs
 * rseq       registration rules (EBUSY, EPERM, EINVAL), inheritance across
 *            fork, a critical section aborted by a signal, a bad signature,
 *            a bad descriptor met after a sleep and after a preemption
 * sigreturn  a signal handler that returns to a non-canonical address: SIGSEGV
 * flags      F_GETFL/F_SETFL and pipe2 flag values, O_DIRECTORY, O_NOFOLLOW
 * clone      clone3 with a 64-byte struct at the end of memory, sizes;
 *            CLONE_PARENT_SETTID and CLONE_CHILD_SETTID with bad pointers
 * rename     renameat2: RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT
 * bigfile    a 96 MiB file in /tmp, written, read back and removed
 * sigio      O_ASYNC, F_SETOWN(_EX), F_SETSIG: SIGIO to a process, a group,
 *            a thread; the band and descriptor of an F_SETSIG signal
 * seals      memfd seals: F_ADD_SEALS/F_GET_SEALS and what each seal refuses
 *            (writes, resizes, shared writable mappings, mode changes) */
#include "surface_common.h"
#include <dirent.h>
#include <poll.h>
#include <sys/epoll.h>
#include <limits.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/sysmacros.h>
#include <ucontext.h>

#define MS 1000000ull

static char dir[64];

static void mkscratch(void)
{
    strcpy(dir, "/tmp/surface-defects.XXXXXX");
    if (!mkdtemp(dir)) {
        printf("mkdtemp: %s\n", errname(errno));
        exit(1);
    }
}

/* Clears capability `cap` from the effective set, or raises it again from the
   permitted set (capget/capset, version 3). */
static void set_effective_cap(int cap, int on)
{
    struct {
        uint32_t version;
        int pid;
    } hdr = {0x20080522, 0};
    struct {
        uint32_t effective, permitted, inheritable;
    } data[2];
    if (syscall(SYS_capget, &hdr, data) != 0)
        return;
    if (on)
        data[cap / 32].effective |= data[cap / 32].permitted & (1u << (cap % 32));
    else
        data[cap / 32].effective &= ~(1u << (cap % 32));
    syscall(SYS_capset, &hdr, data);
}

static const char *in_dir(const char *name)
{
    static char buf[4][128];
    static int i;
    char *b = buf[i++ % 4];
    snprintf(b, sizeof buf[0], "%s/%s", dir, name);
    return b;
}

static void rmscratch(void)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                if (unlinkat(dirfd(d), e->d_name, 0) < 0)
                    unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
            }
        closedir(d);
    }
    rmdir(dir);
}

/* ------------------------------------------------------------------- read -- */

static void read_section(void)
{
    int p[2];
    pipe(p);
    write(p[1], "abc", 3);
    T("read from a pipe into a bad buffer", read(p[0], KPTR, 3));
    char buf[8] = {0};
    long n = read(p[0], buf, sizeof buf);
    printf("the bytes are still there: %s\n", yesno(n == 3 && memcmp(buf, "abc", 3) == 0));
    T("dup3(fd, fd, 0)", dup3(p[0], p[0], 0));
    T("dup3(fd, fd, O_CLOEXEC)", dup3(p[0], p[0], O_CLOEXEC));
    V("dup2(fd, fd)", dup2(p[0], p[0]) == p[0]);
    V("F_GETPIPE_SZ", fcntl(p[0], F_GETPIPE_SZ));
    V("F_SETPIPE_SZ 8192", fcntl(p[1], F_SETPIPE_SZ, 8192));
    V("F_GETPIPE_SZ", fcntl(p[0], F_GETPIPE_SZ));
    V("F_SETPIPE_SZ 1 (rounded up to a page)", fcntl(p[1], F_SETPIPE_SZ, 1));
    char big[8192];
    memset(big, 'x', sizeof big);
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    write(p[1], big, 4096);
    fcntl(p[1], F_SETPIPE_SZ, 8192);
    write(p[1], big, 4096);
    T("F_SETPIPE_SZ smaller than the contents", fcntl(p[1], F_SETPIPE_SZ, 4096));
    /* Past /proc/sys/fs/pipe-max-size only with CAP_SYS_RESOURCE: drop it from
       the effective set first (a container may not have it anyway). */
    set_effective_cap(24 /* CAP_SYS_RESOURCE */, 0);
    T("F_SETPIPE_SZ past the maximum", fcntl(p[1], F_SETPIPE_SZ, 1 << 30));
    T("F_SETPIPE_SZ past 2 GiB", fcntl(p[1], F_SETPIPE_SZ, (1u << 31) + 1));
    set_effective_cap(24, 1);
    int f = open("/proc/self/exe", O_RDONLY);
    T("F_GETPIPE_SZ on a regular file", fcntl(f, F_GETPIPE_SZ));
    close(f);
    close(p[0]);
    close(p[1]);
    pid_t me = getpid(), tid = sys_gettid();
    T("tgkill(self, self, 0)", syscall(SYS_tgkill, me, tid, 0));
    T("tgkill with a bad tgid", syscall(SYS_tgkill, 0x3ffffff0, tid, 0));
    pid_t other = fork();
    if (other == 0) {
        pause();
        _exit(0);
    }
    T("tgkill with another process's tgid", syscall(SYS_tgkill, other, tid, 0));
    kill(other, SIGKILL);
    waitpid(other, NULL, 0);
    T("tgkill with a bad tid", syscall(SYS_tgkill, me, 0x3ffffff0, 0));
    T("tgkill with tgid 0", syscall(SYS_tgkill, 0, tid, 0));
    T("tgkill with signal 65", syscall(SYS_tgkill, me, tid, 65));
}

/* ------------------------------------------------------------------ epoll -- */

static int ready(int ep)
{
    struct epoll_event e[4];
    int n = epoll_wait(ep, e, 4, 0);
    return n;
}

static void epoll_section(void)
{
    int p[2];
    pipe(p);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 1};
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    V("EPOLLET, empty pipe", ready(ep));
    write(p[1], "ab", 2);
    V("EPOLLET, after a write", ready(ep));
    V("EPOLLET, again with nothing new", ready(ep));
    char c;
    read(p[0], &c, 1);
    V("EPOLLET, after reading part of it", ready(ep));
    write(p[1], "c", 1);
    V("EPOLLET, after another write", ready(ep));
    V("EPOLLET, again", ready(ep));
    char buf[8];
    read(p[0], buf, sizeof buf);
    V("EPOLLET, drained", ready(ep));

    /* The write end, EPOLLOUT edge-triggered: writable once, then not again
       until the reader makes room in a full pipe. */
    int ep2 = epoll_create1(0);
    struct epoll_event ow = {.events = EPOLLOUT | EPOLLET};
    epoll_ctl(ep2, EPOLL_CTL_ADD, p[1], &ow);
    V("EPOLLOUT|EPOLLET, empty pipe", ready(ep2));
    V("EPOLLOUT|EPOLLET, again", ready(ep2));
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    char big[4096];
    memset(big, 'x', sizeof big);
    while (write(p[1], big, sizeof big) > 0) {
    }
    V("EPOLLOUT|EPOLLET, full", ready(ep2));
    while (read(p[0], big, sizeof big) == (long)sizeof big) {
        fcntl(p[0], F_SETFL, O_NONBLOCK);
    }
    V("EPOLLOUT|EPOLLET, emptied", ready(ep2));
    fcntl(p[0], F_SETFL, 0);
    close(ep2);
    epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL);

    /* EPOLLEXCLUSIVE: only at EPOLL_CTL_ADD, with the bits it allows, never on
       an epoll instance; such an interest cannot be modified. */
    int ev3 = eventfd(0, 0), epx = epoll_create1(0);
    struct epoll_event ex = {.events = EPOLLIN | EPOLLEXCLUSIVE};
    T("EPOLLEXCLUSIVE with EPOLLONESHOT", ({
          struct epoll_event b = {.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT};
          epoll_ctl(epx, EPOLL_CTL_ADD, ev3, &b);
      }));
    T("EPOLLEXCLUSIVE on an epoll instance", epoll_ctl(epx, EPOLL_CTL_ADD, ep2 = epoll_create1(0), &ex));
    close(ep2);
    T("EPOLLEXCLUSIVE add", epoll_ctl(epx, EPOLL_CTL_ADD, ev3, &ex));
    ex.events = EPOLLIN;
    T("modify an exclusive interest", epoll_ctl(epx, EPOLL_CTL_MOD, ev3, &ex));
    ex.events = EPOLLIN | EPOLLEXCLUSIVE;
    T("modify with EPOLLEXCLUSIVE", epoll_ctl(epx, EPOLL_CTL_MOD, ev3, &ex));
    T("delete an exclusive interest", epoll_ctl(epx, EPOLL_CTL_DEL, ev3, NULL));
    close(ev3);
    close(epx);

    /* EPOLLONESHOT: an event whose copy-out fails stays armed. */
    ev.events = EPOLLIN | EPOLLONESHOT;
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    write(p[1], "x", 1);
    T("EPOLLONESHOT, epoll_wait into a bad buffer", epoll_wait(ep, KPTR, 1, 0));
    V("EPOLLONESHOT, then", ready(ep));
    V("EPOLLONESHOT, again", ready(ep));
    epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
    V("EPOLLONESHOT, re-armed", ready(ep));
    epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL);

    /* EPOLLET: an edge whose copy-out fails is reported again. */
    ev.events = EPOLLIN | EPOLLET;
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    write(p[1], "y", 1);
    T("EPOLLET, epoll_wait into a bad buffer", epoll_wait(ep, KPTR, 1, 0));
    V("EPOLLET, then", ready(ep));

    /* eventfd: every write is an edge, even while it stays readable. */
    int efd = eventfd(0, 0);
    int ep3 = epoll_create1(0);
    struct epoll_event ee = {.events = EPOLLIN | EPOLLET};
    epoll_ctl(ep3, EPOLL_CTL_ADD, efd, &ee);
    uint64_t one = 1;
    write(efd, &one, 8);
    V("eventfd EPOLLET, after a write", ready(ep3));
    V("eventfd EPOLLET, again", ready(ep3));
    write(efd, &one, 8);
    V("eventfd EPOLLET, after another write", ready(ep3));
    close(ep3);
    close(efd);
    close(ep);
    close(p[0]);
    close(p[1]);

    /* Many idle interests and one active: the one is reported, once, with its
       data; level-triggered, it stays reported until read. */
    enum { MANY = 200 };
    int many[MANY];
    int ep4 = epoll_create1(0);
    for (int i = 0; i < MANY; i++) {
        many[i] = eventfd(0, EFD_NONBLOCK);
        struct epoll_event e = {.events = EPOLLIN, .data.u64 = 1000 + i};
        epoll_ctl(ep4, EPOLL_CTL_ADD, many[i], &e);
    }
    V("200 idle eventfds", ready(ep4));
    write(many[137], &one, 8);
    struct epoll_event got[4];
    int n = epoll_wait(ep4, got, 4, 0);
    printf("one of 200 written: %d event(s), data %llu\n", n, n > 0 ? (unsigned long long)got[0].data.u64 : 0ULL);
    V("level-triggered, still unread", ready(ep4));
    uint64_t sink;
    read(many[137], &sink, 8);
    V("after the read", ready(ep4));
    write(many[3], &one, 8);
    write(many[199], &one, 8);
    V("two written", ready(ep4));
    V("maxevents 1 of two ready", epoll_wait(ep4, got, 1, 0));
    /* A closed descriptor's interest is gone: its number and a new file may be
       added again. */
    close(many[3]);
    int again = eventfd(0, EFD_NONBLOCK);
    struct epoll_event ea = {.events = EPOLLIN, .data.u64 = 7};
    T("add the reused descriptor", epoll_ctl(ep4, EPOLL_CTL_ADD, again, &ea));
    V("one still written, the new one idle", ready(ep4));
    close(again);
    for (int i = 0; i < MANY; i++)
        if (i != 3)
            close(many[i]);
    close(ep4);
}

/* ----------------------------------------------------------------- nofile -- */

static void nofile_unprivileged(void)
{
    struct rlimit r;
    getrlimit(RLIMIT_NOFILE, &r);
    struct rlimit lower = {512, 512};
    T("lower the hard limit", setrlimit(RLIMIT_NOFILE, &lower));
    struct rlimit higher = {512, 4096};
    T("raise it again without privilege", setrlimit(RLIMIT_NOFILE, &higher));
    T("dup2 to fd 511", dup2(0, 511));
    T("dup2 to fd 512", dup2(0, 512));
}

static void nofile_section(void)
{
    struct rlimit r = {3000, 3000};
    T("RLIMIT_NOFILE 3000", setrlimit(RLIMIT_NOFILE, &r));
    T("dup2 to fd 2999", dup2(0, 2999));
    T("dup2 to fd 3000", dup2(0, 3000));
    T("F_DUPFD from 2000", fcntl(0, F_DUPFD, 2000));
    T("F_DUPFD from 3000", fcntl(0, F_DUPFD, 3000));
    int last = -1, err = 0;
    for (;;) {
        int fd = dup(0);
        if (fd < 0) {
            err = errno;
            break;
        }
        last = fd;
    }
    printf("dup until it fails: %s, the last fd below the limit: %s\n", errname(err), yesno(last == 2998));
    for (int fd = 3; fd < 3000; fd++)
        close(fd);
    struct rlimit bad = {4000, 3000};
    T("soft above hard", setrlimit(RLIMIT_NOFILE, &bad));
    struct rlimit huge = {1 << 20, (1 << 20) + 1};
    T("hard above nr_open", setrlimit(RLIMIT_NOFILE, &huge));
    as_nobody(nofile_unprivileged);
    struct rlimit back = {1024, 3000};
    setrlimit(RLIMIT_NOFILE, &back);
}

/* ----------------------------------------------------------------- rlimit -- */

static void *idle(void *a) { return a; }

static void nproc_child(void)
{
    struct rlimit one = {1, 1};
    T("RLIMIT_NPROC 1", setrlimit(RLIMIT_NPROC, &one));
    fflush(NULL);
    pid_t c = fork();
    if (c == 0)
        _exit(0);
    printf("fork for a user at the limit: %s\n", c < 0 ? errname(errno) : "OK");
    if (c > 0)
        waitpid(c, NULL, 0);
    pthread_t t;
    int e = pthread_create(&t, NULL, idle, NULL);
    printf("a thread too: %s\n", e ? errname(e) : "OK");
    if (e == 0)
        pthread_join(t, NULL);
    struct rlimit two = {2, 2};
    setrlimit(RLIMIT_NPROC, &two);
    fflush(NULL);
    c = fork();
    if (c == 0) {
        sleep_ns(300 * MS);
        _exit(0);
    }
    printf("fork under a limit of 2: %s\n", c < 0 ? errname(errno) : "OK");
    fflush(NULL);
    pid_t d = fork();
    if (d == 0)
        _exit(0);
    printf("a second one: %s\n", d < 0 ? errname(errno) : "OK");
    if (d > 0)
        waitpid(d, NULL, 0);
    if (c > 0)
        waitpid(c, NULL, 0);
}

static void as_user(uid_t uid, void (*f)(void))
{
    pid_t c = xfork();
    if (c == 0) {
        if (setgroups(0, NULL) != 0 || setgid(uid) != 0 || setuid(uid) != 0) {
            printf("dropping root: %s\n", errname(errno));
            _exit(1);
        }
        f();
        fflush(NULL);
        _exit(0);
    }
    reap(c, "unprivileged child");
}

static void data_child(void)
{
    struct rlimit d = {32 << 20, 32 << 20};
    T("RLIMIT_DATA 32 MiB", setrlimit(RLIMIT_DATA, &d));
    void *m = mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap 64 MiB private writable: %s\n", m == MAP_FAILED ? errname(errno) : "OK");
    void *r = mmap(NULL, 64 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap 64 MiB read-only: %s\n", r == MAP_FAILED ? errname(errno) : "OK");
    void *s = mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    printf("mmap 64 MiB shared writable: %s\n", s == MAP_FAILED ? errname(errno) : "OK");
    T("mprotect the read-only one writable", mprotect(r, 64 << 20, PROT_READ | PROT_WRITE));
    void *w = mmap(NULL, 8 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap 8 MiB private writable: %s\n", w == MAP_FAILED ? errname(errno) : "OK");
    void *g = mremap(w, 8 << 20, 64 << 20, MREMAP_MAYMOVE);
    printf("mremap it to 64 MiB: %s\n", g == MAP_FAILED ? errname(errno) : "OK");
    long b0 = syscall(SYS_brk, 0);
    long b1 = syscall(SYS_brk, b0 + (64 << 20));
    printf("brk 64 MiB up: %s\n", b1 == b0 ? "refused" : "moved");
    long b2 = syscall(SYS_brk, b0 + (1 << 20));
    printf("brk 1 MiB up: %s\n", b2 == b0 + (1 << 20) ? "moved" : "refused");
}

static int depth_used;
static int recurse(int kib)
{
    volatile char pad[1024];
    pad[0] = (char)kib;
    depth_used++;
    if (kib <= 1)
        return pad[0];
    return recurse(kib - 1) + pad[0];
}

static void stack_case(int limit_kib, int use_kib)
{
    pid_t c = xfork();
    if (c == 0) {
        no_core_dump();
        struct rlimit s = {(rlim_t)limit_kib << 10, RLIM_INFINITY};
        setrlimit(RLIMIT_STACK, &s);
        recurse(use_kib);
        _exit(0);
    }
    char what[96];
    snprintf(what, sizeof what, "RLIMIT_STACK %d KiB, %d KiB of frames", limit_kib, use_kib);
    reap(c, what);
}

static void prlimit_unprivileged(void)
{
    struct rlimit r;
    T("prlimit of init", prlimit(1, RLIMIT_NOFILE, NULL, &r));
    T("prlimit of init, setting", prlimit(1, RLIMIT_CORE, &(struct rlimit){0, 0}, NULL));
    T("prlimit of myself", prlimit(getpid(), RLIMIT_CORE, &(struct rlimit){0, 0}, NULL));
}

static void rlimit_section(void)
{
    /* A user id nobody else runs as: the count is only this probe's. */
    as_user(54321, nproc_child);
    pid_t c = xfork();
    if (c == 0) {
        struct rlimit one = {1, 1};
        setrlimit(RLIMIT_NPROC, &one);
        fflush(NULL);
        pid_t d = fork();
        if (d == 0)
            _exit(0);
        printf("fork as root at RLIMIT_NPROC 1: %s\n", d < 0 ? errname(errno) : "OK");
        if (d > 0)
            waitpid(d, NULL, 0);
        fflush(NULL);
        _exit(0);
    }
    reap(c, "root child");
    c = xfork();
    if (c == 0) {
        data_child();
        fflush(NULL);
        _exit(0);
    }
    reap(c, "data child");
    stack_case(1024, 256);
    stack_case(1024, 4096);
    stack_case(16384, 4096);
    as_user(54321, prlimit_unprivileged);
    struct rlimit r;
    T("prlimit, bad resource", prlimit(0, 99, NULL, &r));
    T("prlimit, bad pid", prlimit(0x3ffffff0, RLIMIT_CORE, NULL, &r));
    T("getrlimit into a bad pointer", getrlimit(RLIMIT_CORE, KPTR));
    T("setrlimit from a bad pointer", setrlimit(RLIMIT_CORE, KPTR));
}

/* --------------------------------------------------------------- cpulimit -- */

static volatile sig_atomic_t xcpu;
static void on_xcpu(int s)
{
    (void)s;
    xcpu++;
}

static void cpulimit_section(void)
{
    pid_t c = xfork();
    if (c == 0) {
        signal(SIGXCPU, on_xcpu);
        struct rlimit r = {1, 3};
        setrlimit(RLIMIT_CPU, &r);
        burn_cpu(1500 * MS);
        printf("SIGXCPU after 1.5 s of CPU: %s\n", yesno(xcpu == 1));
        struct rlimit now;
        getrlimit(RLIMIT_CPU, &now);
        printf("the soft limit moved to 2 s: %s\n", yesno(now.rlim_cur == 2 && now.rlim_max == 3));
        burn_cpu(1000 * MS);
        printf("again a second later: %s\n", yesno(xcpu == 2));
        fflush(NULL);
        burn_cpu(10000 * MS);
        printf("still alive past the hard limit\n");
        _exit(0);
    }
    reap(c, "child past the hard limit");
}

/* ----------------------------------------------------------------- robust -- */

static pthread_mutex_t *shared_mutex(void)
{
    pthread_mutex_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(m, &a);
    return m;
}

static void *lock_and_leave(void *m)
{
    pthread_mutex_lock(m);
    return NULL;
}

static const char *lock_result(int e) { return e == 0 ? "OK" : errname(e); }

static void robust_section(void)
{
    pthread_mutex_t *m = shared_mutex();
    pthread_t t;
    pthread_create(&t, NULL, lock_and_leave, m);
    pthread_join(t, NULL);
    int e = pthread_mutex_lock(m);
    printf("lock held by a thread that exited: %s\n", lock_result(e));
    if (e == EOWNERDEAD) {
        pthread_mutex_consistent(m);
        pthread_mutex_unlock(m);
    }
    T("lock again", -pthread_mutex_lock(m));
    pthread_mutex_unlock(m);

    pid_t c = xfork();
    if (c == 0) {
        pthread_mutex_lock(m);
        _exit(0);
    }
    reap(c, "child that took the lock");
    e = pthread_mutex_lock(m);
    printf("lock held by a process that exited: %s\n", lock_result(e));
    if (e == EOWNERDEAD)
        pthread_mutex_consistent(m);
    pthread_mutex_unlock(m);

    /* A waiter is woken when the owner dies. */
    int p[2];
    pipe(p);
    c = xfork();
    if (c == 0) {
        pthread_mutex_lock(m);
        token_send(p[1]);
        sleep_ns(200 * MS);
        _exit(0);
    }
    token_wait(p[0]);
    e = pthread_mutex_lock(m);
    printf("waiting for a lock whose owner dies: %s\n", lock_result(e));
    if (e == EOWNERDEAD)
        pthread_mutex_consistent(m);
    pthread_mutex_unlock(m);
    reap(c, "child that died holding it");

    /* execve releases the caller's robust locks too. */
    c = xfork();
    if (c == 0) {
        pthread_mutex_lock(m);
        execv("/proc/self/exe", (char *[]){"surface_defects", "exit0", NULL});
        _exit(1);
    }
    reap(c, "child that execs holding it");
    e = pthread_mutex_lock(m);
    printf("lock held across an execve: %s\n", lock_result(e));
    if (e == EOWNERDEAD)
        pthread_mutex_consistent(m);
    pthread_mutex_unlock(m);
    close(p[0]);
    close(p[1]);

    struct {
        void *next;
        long off;
        void *pending;
    } head = {&head, 0, NULL};
    T("set_robust_list with a bad size", syscall(SYS_set_robust_list, &head, 23));
    void *h;
    size_t len;
    T("get_robust_list of a bad pid", syscall(SYS_get_robust_list, 0x3ffffff0, &h, &len));
    T("get_robust_list into a bad pointer", syscall(SYS_get_robust_list, 0, KPTR, &len));
}

/* ------------------------------------------------------------------- rseq -- */

struct k_rseq {
    uint32_t cpu_id_start, cpu_id;
    uint64_t rseq_cs;
    uint32_t flags, node_id, mm_cid, pad;
} __attribute__((aligned(32)));

struct k_rseq_cs {
    uint32_t version, flags;
    uint64_t start_ip, post_commit_offset, abort_ip;
} __attribute__((aligned(32)));

#if defined(__x86_64__)
#define RSEQ_SIG 0x53053053
#else
#define RSEQ_SIG 0xd428bc00
#endif

static struct k_rseq area __attribute__((aligned(32)));
static struct k_rseq_cs desc;
static volatile sig_atomic_t alarmed;
static void on_alarm(int s)
{
    (void)s;
    alarmed = 1;
}

static long k_rseq(void *a, uint32_t len, int flags, uint32_t sig) { return syscall(SYS_rseq, a, len, flags, sig); }

/* Runs a critical section that spins until a signal handler ran: returns 1
 * when it was aborted (the handler returned to the abort label), 0 when it
 * ran on. */
static int critical_section(struct k_rseq *r, struct k_rseq_cs *cs, volatile sig_atomic_t *flag)
{
    int aborted;
#if defined(__x86_64__)
    __asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
                     "movq %%rax, 8(%[cs])\n\t"
                     "leaq 2f(%%rip), %%rcx\n\t"
                     "subq %%rax, %%rcx\n\t"
                     "movq %%rcx, 16(%[cs])\n\t"
                     "leaq 4f(%%rip), %%rax\n\t"
                     "movq %%rax, 24(%[cs])\n\t"
                     "movq %[cs], 8(%[r])\n\t"
                     "1:\n\t"
                     "cmpl $0, (%[flag])\n\t"
                     "je 1b\n\t"
                     "2:\n\t"
                     "movl $0, %[ab]\n\t"
                     "jmp 5f\n\t"
                     ".long 0x53053053\n\t"
                     "4:\n\t"
                     "movl $1, %[ab]\n\t"
                     "5:\n\t"
                     : [ab] "=&r"(aborted)
                     : [r] "r"(r), [cs] "r"(cs), [flag] "r"(flag)
                     : "rax", "rcx", "memory", "cc");
#else
    __asm__ volatile("adr x9, 1f\n\t"
                     "str x9, [%[cs], #8]\n\t"
                     "adr x10, 2f\n\t"
                     "sub x10, x10, x9\n\t"
                     "str x10, [%[cs], #16]\n\t"
                     "adr x9, 4f\n\t"
                     "str x9, [%[cs], #24]\n\t"
                     "str %[cs], [%[r], #8]\n\t"
                     "1:\n\t"
                     "ldr w9, [%[flag]]\n\t"
                     "cbz w9, 1b\n\t"
                     "2:\n\t"
                     "mov %w[ab], #0\n\t"
                     "b 5f\n\t"
                     ".long 0xd428bc00\n\t"
                     "4:\n\t"
                     "mov %w[ab], #1\n\t"
                     "5:\n\t"
                     : [ab] "=&r"(aborted)
                     : [r] "r"(r), [cs] "r"(cs), [flag] "r"(flag)
                     : "x9", "x10", "memory", "cc");
#endif
    return aborted;
}

/* A child on CPU set `cpus` with a kernel address as its rseq descriptor, spinning
   without system calls (for a bounded time, should no switch come). */
static pid_t spin_with_bad_descriptor(cpu_set_t *cpus)
{
    pid_t c = xfork();
    if (c == 0) {
        no_core_dump();
        sched_setaffinity(0, sizeof *cpus, cpus);
        *(volatile uint64_t *)&area.rseq_cs = 0xffff800000000000ull;
        for (volatile unsigned long k = 0; k < 4000000000ul; k++)
            ;
        *(volatile uint64_t *)&area.rseq_cs = 0;
        _exit(0);
    }
    return c;
}

static struct k_rseq thread_area __attribute__((aligned(32)));
static void *rseq_thread(void *a)
{
    (void)a;
    long r = k_rseq(&thread_area, 32, 0, RSEQ_SIG);
    return (void *)(long)(r < 0 ? errno : 0);
}

static void rseq_section(void)
{
    T("rseq register", k_rseq(&area, 32, 0, RSEQ_SIG));
    printf("cpu_id published: %s\n", yesno((int32_t)area.cpu_id >= 0 && area.cpu_id == area.cpu_id_start));
    T("register again", k_rseq(&area, 32, 0, RSEQ_SIG));
    T("register again, another signature", k_rseq(&area, 32, 0, RSEQ_SIG + 1));
    T("register another area", k_rseq(&thread_area, 32, 0, RSEQ_SIG));
    T("register again, another length", k_rseq(&area, 64, 0, RSEQ_SIG));
    T("bad flags", k_rseq(&area, 32, 2, RSEQ_SIG));
    pthread_t t;
    void *ret;
    pthread_create(&t, NULL, rseq_thread, NULL);
    pthread_join(t, &ret);
    printf("a new thread registers its own: %s\n", ret ? errname((int)(long)ret) : "OK");
    pid_t c = xfork();
    if (c == 0) {
        long r = k_rseq(&area, 32, 0, RSEQ_SIG);
        printf("the forked child inherited the registration: %s\n", yesno(r < 0 && errno == EBUSY));
        fflush(NULL);
        _exit(0);
    }
    reap(c, "forked child");

    /* A signal arriving inside a critical section aborts it. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 20000}};
    setitimer(ITIMER_REAL, &it, NULL);
    int aborted = critical_section(&area, &desc, &alarmed);
    printf("the critical section was aborted: %s\n", yesno(aborted));
    printf("rseq_cs cleared by the kernel: %s\n", yesno(area.rseq_cs == 0));
    area.rseq_cs = 0;

    /* A descriptor whose abort handler lacks the signature: SIGSEGV at the
       next signal delivery. */
    c = xfork();
    if (c == 0) {
        no_core_dump();
        static struct k_rseq_cs bad;
        bad.start_ip = (uint64_t)(uintptr_t)&rseq_section;
        bad.post_commit_offset = 4;
        bad.abort_ip = (uint64_t)(uintptr_t)&rseq_section + 16;
        signal(SIGUSR1, on_alarm);
        area.rseq_cs = (uint64_t)(uintptr_t)&bad;
        raise(SIGUSR1);
        area.rseq_cs = 0;
        _exit(0);
    }
    reap(c, "child with a bad descriptor");
    c = xfork();
    if (c == 0) {
        no_core_dump();
        signal(SIGUSR1, on_alarm);
        area.rseq_cs = 0xffff800000000000ull;
        raise(SIGUSR1);
        area.rseq_cs = 0;
        _exit(0);
    }
    reap(c, "child with a kernel address as descriptor");
    /* The same, met when the thread comes back from a sleep (it was switched
       out): the kernel checks the descriptor on the way to user mode. */
    c = xfork();
    if (c == 0) {
        no_core_dump();
        area.rseq_cs = 0xffff800000000000ull;
        usleep(2000);
        area.rseq_cs = 0;
        _exit(0);
    }
    reap(c, "child with a kernel address as descriptor, after a sleep");
    /* And after a preemption: the child shares one CPU with a busy sibling and
       never enters the kernel itself. A few times: whether the kernel's exit
       path then meets a pending interrupt is chance. */
    {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(0, &one);
        pid_t hog = xfork();
        if (hog == 0) {
            sched_setaffinity(0, sizeof one, &one);
            for (;;)
                ;
        }
        for (int i = 0; i < 4; i++)
            reap(spin_with_bad_descriptor(&one), "child with a kernel address as descriptor, preempted");
        kill(hog, SIGKILL);
        waitpid(hog, NULL, 0);
    }

    T("unregister, another signature", k_rseq(&area, 32, 1, RSEQ_SIG + 1));
    T("unregister, another length", k_rseq(&area, 64, 1, RSEQ_SIG));
    T("unregister, another area", k_rseq(&thread_area, 32, 1, RSEQ_SIG));
    T("unregister, bad flags", k_rseq(&area, 32, 3, RSEQ_SIG));
    T("unregister", k_rseq(&area, 32, 1, RSEQ_SIG));
    printf("cpu_id after unregistering: %d\n", (int32_t)area.cpu_id);
    T("unregister again", k_rseq(&area, 32, 1, RSEQ_SIG));
    T("register, short", k_rseq(&area, 31, 0, RSEQ_SIG));
    T("register, misaligned", k_rseq((char *)&area + 8, 32, 0, RSEQ_SIG));
    T("register, kernel address", k_rseq(KPTR, 32, 0, RSEQ_SIG));
}

/* -------------------------------------------------------------- sigreturn -- */

static void to_nowhere(int s, siginfo_t *si, void *uc)
{
    (void)s;
    (void)si;
    ucontext_t *u = uc;
#if defined(__x86_64__)
    u->uc_mcontext.gregs[REG_RIP] = 0x0000800000000000ll;
#else
    u->uc_mcontext.pc = 1ull << 52;
#endif
}

static void sigreturn_section(void)
{
    pid_t c = xfork();
    if (c == 0) {
        no_core_dump();
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = to_nowhere;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGUSR1, &sa, NULL);
        raise(SIGUSR1);
        _exit(0);
    }
    reap(c, "handler returning to a non-canonical address");
}

/* ------------------------------------------------------------------ flags -- */

#if defined(__x86_64__)
#define K_O_LARGEFILE 0100000
#define K_O_SYNC 04000000
#else
#define K_O_LARGEFILE 0400000
#define K_O_SYNC 04000000
#endif

static void show_flags(const char *what, int fd)
{
    int f = fcntl(fd, F_GETFL);
    if (f < 0) {
        printf("%s: %s\n", what, errname(errno));
        return;
    }
    printf("%s:", what);
    static const struct {
        int bit;
        const char *name;
    } names[] = {
        {O_APPEND, "O_APPEND"},       {O_NONBLOCK, "O_NONBLOCK"},   {O_DSYNC, "O_DSYNC"},
        {O_DIRECT, "O_DIRECT"},       {K_O_LARGEFILE, "O_LARGEFILE"}, {O_DIRECTORY, "O_DIRECTORY"},
        {O_NOFOLLOW, "O_NOFOLLOW"},   {O_NOATIME, "O_NOATIME"},     {O_PATH, "O_PATH"},
        {K_O_SYNC, "__O_SYNC"},       {O_ASYNC, "O_ASYNC"},
    };
    int acc = f & O_ACCMODE;
    int known = O_ACCMODE;
    if (!(f & O_PATH))
        printf(" %s", acc == O_RDONLY ? "O_RDONLY" : acc == O_WRONLY ? "O_WRONLY" : "O_RDWR");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        known |= names[i].bit;
        if (f & names[i].bit)
            printf(" %s", names[i].name);
    }
    if (f & ~known)
        printf(" and unknown bits");
    printf("\n");
}

static void flags_section(void)
{
    mkscratch();
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    show_flags("a directory opened O_DIRECTORY|O_NOFOLLOW", fd);
    close(fd);
    fd = open(in_dir("f"), O_RDWR | O_CREAT | O_APPEND | O_NONBLOCK, 0600);
    show_flags("a file opened O_RDWR|O_APPEND|O_NONBLOCK", fd);
    T("F_SETFL O_NONBLOCK", fcntl(fd, F_SETFL, O_NONBLOCK));
    show_flags("then", fd);
    T("F_SETFL O_APPEND|O_NOATIME|O_DIRECTORY|O_NOFOLLOW", fcntl(fd, F_SETFL, O_APPEND | O_NOATIME | O_DIRECTORY | O_NOFOLLOW));
    show_flags("then", fd);
    close(fd);
    fd = open(in_dir("f"), O_WRONLY | O_DSYNC);
    show_flags("O_WRONLY|O_DSYNC", fd);
    close(fd);
    fd = open(in_dir("f"), O_RDONLY | O_SYNC);
    show_flags("O_SYNC", fd);
    close(fd);
    fd = open(dir, O_PATH | O_DIRECTORY);
    show_flags("O_PATH|O_DIRECTORY", fd);
    close(fd);
    symlink("f", in_dir("link"));
    T("open a symlink O_NOFOLLOW", open(in_dir("link"), O_RDONLY | O_NOFOLLOW));
    T("open a file O_DIRECTORY", open(in_dir("f"), O_RDONLY | O_DIRECTORY));
    T("open a symlink to a file O_DIRECTORY", open(in_dir("link"), O_RDONLY | O_DIRECTORY));
    int p[2];
    T("pipe2(O_NONBLOCK|O_CLOEXEC)", pipe2(p, O_NONBLOCK | O_CLOEXEC));
    show_flags("read end", p[0]);
    show_flags("write end", p[1]);
    printf("close-on-exec: %s\n", yesno(fcntl(p[0], F_GETFD) == FD_CLOEXEC && fcntl(p[1], F_GETFD) == FD_CLOEXEC));
    close(p[0]);
    close(p[1]);
    T("pipe2(O_DIRECT)", pipe2(p, O_DIRECT));
    show_flags("read end", p[0]);
    close(p[0]);
    close(p[1]);
    T("pipe2(O_NOFOLLOW)", pipe2(p, O_NOFOLLOW));
    T("pipe2(O_DIRECTORY)", pipe2(p, O_DIRECTORY));
    T("pipe2(O_APPEND)", pipe2(p, O_APPEND));
    T("pipe2(K_O_LARGEFILE)", pipe2(p, K_O_LARGEFILE));
    pipe(p);
    T("F_SETFL O_NONBLOCK on a pipe", fcntl(p[1], F_SETFL, O_NONBLOCK));
    show_flags("write end", p[1]);
    close(p[0]);
    close(p[1]);
    rmscratch();
}

/* ------------------------------------------------------------------ clone -- */

struct clone_args_ {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

static void clone_section(void)
{
    /* A 64-byte (version 0) struct that ends where the memory does. */
    char *two = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(two + 4096, 4096, PROT_NONE);
    struct clone_args_ *a = (struct clone_args_ *)(two + 4096 - 64);
    memset(a, 0, 64);
    a->exit_signal = SIGCHLD;
    fflush(NULL);
    long c = syscall(SYS_clone3, a, 64);
    if (c == 0)
        _exit(4);
    printf("clone3 with a 64-byte struct at the end of memory: %s\n", c < 0 ? errname(errno) : "OK");
    if (c > 0)
        reap(c, "its child");
    T("clone3 size 63", syscall(SYS_clone3, a, 63));
    T("clone3 size 72 past the end of memory", syscall(SYS_clone3, a, 72));
    struct clone_args_ big[2];
    memset(big, 0, sizeof big);
    big[0].exit_signal = SIGCHLD;
    ((char *)big)[100] = 1;
    T("clone3 size 128, a non-zero byte past the known fields", syscall(SYS_clone3, big, 128));
    T("clone3 size 4097", syscall(SYS_clone3, big, 4097));
    T("clone3 from a bad pointer", syscall(SYS_clone3, KPTR, 64));

    /* Linux ignores a parent_tid or child_tid it cannot write. */
    fflush(NULL);
    c = syscall(SYS_clone, CLONE_PARENT_SETTID | SIGCHLD, 0, KPTR, 0, 0);
    if (c == 0)
        _exit(5);
    printf("clone CLONE_PARENT_SETTID to a bad pointer: %s\n", c < 0 ? errname(errno) : "OK");
    if (c > 0)
        reap(c, "its child");
    fflush(NULL);
#if defined(__x86_64__)
    c = syscall(SYS_clone, CLONE_CHILD_SETTID | SIGCHLD, 0, 0, KPTR, 0);
#else
    c = syscall(SYS_clone, CLONE_CHILD_SETTID | SIGCHLD, 0, 0, 0, KPTR);
#endif
    if (c == 0)
        _exit(6);
    printf("clone CLONE_CHILD_SETTID to a bad pointer: %s\n", c < 0 ? errname(errno) : "OK");
    if (c > 0)
        reap(c, "its child");
    int st;
    T("no other child", waitpid(-1, &st, WNOHANG));
    munmap(two, 8192);
}

/* ----------------------------------------------------------------- rename -- */

static void touch(const char *name, const char *content)
{
    int fd = open(in_dir(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write(fd, content, strlen(content));
    close(fd);
}

static const char *content(const char *name)
{
    static char buf[2][32];
    static int i;
    char *b = buf[i++ % 2];
    memset(b, 0, sizeof buf[0]);
    int fd = open(in_dir(name), O_RDONLY);
    if (fd < 0)
        return errname(errno);
    read(fd, b, sizeof buf[0] - 1);
    close(fd);
    return b;
}

static long k_renameat2(const char *a, const char *b, unsigned flags)
{
    return syscall(SYS_renameat2, AT_FDCWD, in_dir(a), AT_FDCWD, in_dir(b), flags);
}

static void unprivileged_whiteout(void)
{
    T("RENAME_WHITEOUT without CAP_MKNOD", k_renameat2("x", "y", 4));
}

static void rename_section(void)
{
    mkscratch();
    chmod(dir, 0777);
    touch("a", "A");
    touch("b", "B");
    T("RENAME_NOREPLACE onto an existing name", k_renameat2("a", "b", 1));
    T("RENAME_NOREPLACE to a new name", k_renameat2("a", "c", 1));
    printf("c: %s, a: %s\n", content("c"), content("a"));
    T("RENAME_EXCHANGE", k_renameat2("b", "c", 2));
    printf("b: %s, c: %s\n", content("b"), content("c"));
    T("RENAME_EXCHANGE with a missing name", k_renameat2("b", "nothing", 2));
    mkdir(in_dir("d"), 0755);
    T("RENAME_EXCHANGE of a file and a directory", k_renameat2("b", "d", 2));
    struct stat s;
    stat(in_dir("b"), &s);
    printf("b is a directory now: %s\n", yesno(S_ISDIR(s.st_mode)));
    mkdir(in_dir("b/sub"), 0755);
    T("RENAME_EXCHANGE of a directory with its own subdirectory", k_renameat2("b", "b/sub", 2));
    T("RENAME_NOREPLACE|RENAME_EXCHANGE", k_renameat2("c", "d", 3));
    T("RENAME_WHITEOUT|RENAME_EXCHANGE", k_renameat2("c", "d", 6));
    T("flag 8", k_renameat2("c", "d", 8));
    T("RENAME_WHITEOUT", k_renameat2("c", "w", 4));
    memset(&s, 0, sizeof s);
    T("lstat the old name", lstat(in_dir("c"), &s));
    printf("a whiteout (character device 0:0, no permissions): %s\n",
           yesno(S_ISCHR(s.st_mode) && major(s.st_rdev) == 0 && minor(s.st_rdev) == 0 && (s.st_mode & 07777) == 0));
    printf("w: %s\n", content("w"));
    T("RENAME_WHITEOUT|RENAME_NOREPLACE onto an existing name", k_renameat2("w", "d", 5));
    T("RENAME_WHITEOUT|RENAME_NOREPLACE", k_renameat2("w", "v", 5));
    touch("x", "X");
    chmod(in_dir("x"), 0666);
    as_nobody(unprivileged_whiteout);
    rmscratch();
}

/* ---------------------------------------------------------------- bigfile -- */

static void bigfile_section(void)
{
    mkscratch();
    const size_t mib = 1 << 20, total = 96;
    char *buf = malloc(mib);
    int fd = open(in_dir("big"), O_RDWR | O_CREAT | O_TRUNC, 0600);
    size_t written = 0;
    for (size_t i = 0; i < total; i++) {
        memset(buf, (int)('a' + i % 26), mib);
        long n = write_full(fd, buf, mib);
        if (n != (long)mib) {
            printf("write at %zu MiB: %s\n", i, n < 0 ? errname(errno) : "short");
            break;
        }
        written++;
    }
    printf("MiB written: %zu\n", written);
    struct stat s;
    fstat(fd, &s);
    printf("size: %lld MiB, blocks: %s\n", (long long)(s.st_size / mib), yesno(s.st_blocks >= (blkcnt_t)(total * 2048)));
    int good = 1;
    for (size_t i = 0; i < written; i++) {
        if (pread(fd, buf, mib, (off_t)(i * mib)) != (long)mib)
            good = 0;
        for (size_t k = 0; k < mib; k += 4093)
            if (buf[k] != (char)('a' + i % 26))
                good = 0;
    }
    printf("read back: %s\n", yesno(good));
    T("ftruncate to 1 MiB", ftruncate(fd, mib));
    T("ftruncate to 200 MiB (a hole)", ftruncate(fd, 200 * mib));
    fstat(fd, &s);
    printf("blocks of the hole not allocated: %s\n", yesno(s.st_blocks < 4 * 2048));
    pread(fd, buf, 16, 150 * mib);
    printf("the hole reads zeros: %s\n", yesno(memcmp(buf, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16) == 0));
    close(fd);
    free(buf);
    rmscratch();
}

/* ------------------------------------------------------------------ sigio -- */

static volatile sig_atomic_t sigio_count, rt_count, rt_code, rt_fd;
static volatile long rt_band;

static void on_sigio(int s)
{
    (void)s;
    sigio_count++;
}

static void on_rt_io(int s, siginfo_t *si, void *u)
{
    (void)s;
    (void)u;
    rt_count++;
    rt_code = si->si_code;
    rt_fd = si->si_fd;
    rt_band = si->si_band;
}

/* Writes one byte to `w` and says whether SIGIO came (it is delivered before
 * write returns when the caller is its target). */
static int sigio_after_write(int w)
{
    sigio_count = 0;
    if (write(w, "x", 1) != 1)
        printf("write: %s\n", errname(errno));
    return sigio_count > 0;
}

static void drain(int r)
{
    char buf[64];
    int fl = fcntl(r, F_GETFL);
    fcntl(r, F_SETFL, fl | O_NONBLOCK);
    while (read(r, buf, sizeof buf) > 0) {
    }
    fcntl(r, F_SETFL, fl);
}

static void sigio_section(void)
{
    signal(SIGIO, on_sigio);
    int p[2];
    pipe(p);
    V("F_GETOWN of a new pipe", fcntl(p[0], F_GETOWN));
    struct f_owner_ex ex = {-1, -1};
    T("F_GETOWN_EX", fcntl(p[0], F_GETOWN_EX, &ex));
    printf("owner type %d, id %d\n", ex.type, ex.pid);
    V("F_GETSIG", fcntl(p[0], F_GETSIG));

    T("F_SETFL O_ASYNC without an owner", fcntl(p[0], F_SETFL, O_ASYNC));
    printf("SIGIO without an owner: %s\n", yesno(sigio_after_write(p[1])));
    T("F_SETOWN to the caller", fcntl(p[0], F_SETOWN, getpid()));
    printf("F_GETOWN is the caller: %s\n", yesno(fcntl(p[0], F_GETOWN) == getpid()));
    T("F_GETOWN_EX", fcntl(p[0], F_GETOWN_EX, &ex));
    printf("owner type %d, the caller: %s\n", ex.type, yesno(ex.pid == getpid()));
    printf("SIGIO to the reader after a write: %s\n", yesno(sigio_after_write(p[1])));
    int d = dup(p[0]);
    printf("a dup shares the owner: %s\n", yesno(fcntl(d, F_GETOWN) == getpid()));
    close(d);
    T("F_SETFL without O_ASYNC", fcntl(p[0], F_SETFL, 0));
    printf("SIGIO after O_ASYNC is cleared: %s\n", yesno(sigio_after_write(p[1])));
    drain(p[0]);

    /* The write end is told of room, not of data. */
    T("F_SETOWN on the write end", fcntl(p[1], F_SETOWN, getpid()));
    T("F_SETFL O_ASYNC on the write end", fcntl(p[1], F_SETFL, O_ASYNC));
    printf("SIGIO to the writer after its write: %s\n", yesno(sigio_after_write(p[1])));
    sigio_count = 0;
    char c;
    read(p[0], &c, 1);
    printf("SIGIO to the writer after a read: %s\n", yesno(sigio_count > 0));
    fcntl(p[1], F_SETFL, 0);

    /* F_SETSIG: a queued signal with the band and the descriptor. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_rt_io;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGRTMIN + 1, &sa, NULL);
    T("F_SETSIG SIGRTMIN+1", fcntl(p[0], F_SETSIG, SIGRTMIN + 1));
    printf("F_GETSIG is it: %s\n", yesno(fcntl(p[0], F_GETSIG) == SIGRTMIN + 1));
    T("F_SETSIG 65", fcntl(p[0], F_SETSIG, 65));
    T("F_SETSIG -1", fcntl(p[0], F_SETSIG, -1));
    T("F_SETFL O_ASYNC", fcntl(p[0], F_SETFL, O_ASYNC));
    sigio_count = 0;
    write(p[1], "y", 1);
    printf("F_SETSIG signal: %s, SIGIO: %s\n", yesno(rt_count > 0), yesno(sigio_count > 0));
    printf("si_code %d, si_fd is the descriptor: %s, si_band %#lx\n", (int)rt_code, yesno(rt_fd == p[0]), (long)rt_band);
    T("F_SETSIG 0", fcntl(p[0], F_SETSIG, 0));
    printf("SIGIO again after F_SETSIG 0: %s\n", yesno(sigio_after_write(p[1])));
    drain(p[0]);

    /* A process group (a child's own: the caller's may hold others), a
     * thread, bad owners. */
    pid_t leader = xfork();
    if (leader == 0) {
        setpgid(0, 0);
        T("F_SETOWN to the caller's group", fcntl(p[0], F_SETOWN, -getpgrp()));
        printf("F_GETOWN is minus the group: %s\n", yesno(fcntl(p[0], F_GETOWN) == -getpgrp()));
        fcntl(p[0], F_GETOWN_EX, &ex);
        printf("owner type %d, the group: %s\n", ex.type, yesno(ex.pid == getpgrp()));
        printf("SIGIO to the group after a write: %s\n", yesno(sigio_after_write(p[1])));
        fflush(NULL);
        _exit(0);
    }
    reap(leader, "the group's leader");
    struct f_owner_ex tid = {F_OWNER_TID, sys_gettid()};
    T("F_SETOWN_EX F_OWNER_TID", fcntl(p[0], F_SETOWN_EX, &tid));
    fcntl(p[0], F_GETOWN_EX, &ex);
    printf("owner type %d, the thread: %s\n", ex.type, yesno(ex.pid == sys_gettid()));
    printf("SIGIO to the thread after a write: %s\n", yesno(sigio_after_write(p[1])));
    struct f_owner_ex bad = {3, getpid()};
    T("F_SETOWN_EX with type 3", fcntl(p[0], F_SETOWN_EX, &bad));
    T("F_SETOWN_EX from a bad pointer", fcntl(p[0], F_SETOWN_EX, KPTR));
    T("F_GETOWN_EX to a bad pointer", fcntl(p[0], F_GETOWN_EX, KPTR));
    pid_t gone = xfork();
    if (gone == 0)
        _exit(0);
    waitpid(gone, NULL, 0);
    T("F_SETOWN to a reaped child", fcntl(p[0], F_SETOWN, gone));
    T("F_SETOWN to a reaped child's group", fcntl(p[0], F_SETOWN, -gone));
    T("F_SETOWN INT_MIN", fcntl(p[0], F_SETOWN, INT_MIN));
    T("F_SETOWN 0", fcntl(p[0], F_SETOWN, 0));
    V("F_GETOWN", fcntl(p[0], F_GETOWN));
    printf("SIGIO with owner 0: %s\n", yesno(sigio_after_write(p[1])));
    drain(p[0]);
    fcntl(p[0], F_SETFL, 0);

    /* The owner, not the writer, gets it. */
    int res[2];
    pipe(res);
    pid_t child = xfork();
    if (child == 0) {
        sigio_count = 0;
        token_send(res[1]);
        uint64_t end = mono_ns() + 20000 * MS;
        while (!sigio_count && mono_ns() < end)
            usleep(1000);
        char r = sigio_count ? 'y' : 'n';
        write(res[1], &r, 1);
        _exit(0);
    }
    token_wait(res[0]);
    fcntl(p[0], F_SETOWN, child);
    fcntl(p[0], F_SETFL, O_ASYNC);
    printf("SIGIO to the writer when a child owns the reader: %s\n", yesno(sigio_after_write(p[1])));
    char got = '?';
    read_full(res[0], &got, 1);
    printf("the owning child got SIGIO: %c\n", got);
    reap(child, "owning child");
    fcntl(p[0], F_SETFL, 0);
    drain(p[0]);
    close(res[0]);
    close(res[1]);

    /* SIGIO's default action ends the process. */
    pid_t victim = xfork();
    if (victim == 0) {
        signal(SIGIO, SIG_DFL);
        fcntl(p[0], F_SETOWN, getpid());
        fcntl(p[0], F_SETFL, O_ASYNC);
        write(p[1], "z", 1);
        _exit(0);
    }
    reap(victim, "a child with SIGIO's default action");
    close(p[0]);
    close(p[1]);

    /* Sockets: data arriving at an O_ASYNC socket. */
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    fcntl(sv[0], F_SETOWN, getpid());
    int on = 1;
    T("FIOASYNC on a socket", ioctl(sv[0], FIOASYNC, &on));
    printf("F_GETFL has O_ASYNC: %s\n", yesno((fcntl(sv[0], F_GETFL) & O_ASYNC) != 0));
    printf("SIGIO after the peer writes: %s\n", yesno(sigio_after_write(sv[1])));
    close(sv[0]);
    close(sv[1]);

    /* TCP on loopback: a connection arriving at an O_ASYNC listener, then data
     * arriving at the accepted socket. */
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    bind(l, (struct sockaddr *)&a, sizeof a);
    listen(l, 4);
    getsockname(l, (struct sockaddr *)&a, &alen);
    fcntl(l, F_SETOWN, getpid());
    fcntl(l, F_SETFL, O_ASYNC);
    sigio_count = 0;
    int cl = socket(AF_INET, SOCK_STREAM, 0);
    connect(cl, (struct sockaddr *)&a, sizeof a);
    uint64_t end = mono_ns() + 10000 * MS;
    while (!sigio_count && mono_ns() < end)
        usleep(1000);
    printf("SIGIO when a connection arrives at a listener: %s\n", yesno(sigio_count > 0));
    int acc = accept(l, NULL, NULL);
    fcntl(acc, F_SETOWN, getpid());
    fcntl(acc, F_SETFL, O_ASYNC);
    sigio_count = 0;
    write(cl, "t", 1);
    end = mono_ns() + 10000 * MS;
    while (!sigio_count && mono_ns() < end)
        usleep(1000);
    printf("SIGIO when TCP data arrives: %s\n", yesno(sigio_count > 0));
    close(acc);
    close(cl);
    close(l);
    signal(SIGIO, SIG_DFL);
}

/* ------------------------------------------------------------------ seals -- */

static void seals_section(void)
{
    int plain = memfd_create("plain", 0);
    V("F_GET_SEALS of a memfd without MFD_ALLOW_SEALING", fcntl(plain, F_GET_SEALS));
    T("F_ADD_SEALS on it", fcntl(plain, F_ADD_SEALS, F_SEAL_WRITE));
    close(plain);
    int p[2];
    pipe(p);
    T("F_GET_SEALS of a pipe", fcntl(p[0], F_GET_SEALS));
    T("F_ADD_SEALS on a pipe", fcntl(p[1], F_ADD_SEALS, F_SEAL_GROW));
    close(p[0]);
    close(p[1]);

    int fd = memfd_create("sealed", MFD_ALLOW_SEALING);
    V("F_GET_SEALS", fcntl(fd, F_GET_SEALS));
    char page[4096];
    memset(page, 'a', sizeof page);
    V("write 8 KiB", write(fd, page, sizeof page) + write(fd, page, sizeof page));
    T("F_ADD_SEALS unknown bits", fcntl(fd, F_ADD_SEALS, 0x1000));
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
    int ro = open(self, O_RDONLY);
    T("F_ADD_SEALS through a read-only descriptor", fcntl(ro, F_ADD_SEALS, F_SEAL_SHRINK));
    T("F_ADD_SEALS F_SEAL_SHRINK", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
    V("F_GET_SEALS through the other descriptor", fcntl(ro, F_GET_SEALS));
    T("ftruncate smaller", ftruncate(fd, 4096));
    T("ftruncate larger", ftruncate(fd, 12288));
    T("open O_TRUNC", open(self, O_RDWR | O_TRUNC));
    T("F_ADD_SEALS F_SEAL_GROW", fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
    T("ftruncate larger", ftruncate(fd, 16384));
    T("ftruncate to its size", ftruncate(fd, 12288));
    T("pwrite inside", pwrite(fd, "b", 1, 100));
    T("pwrite past the end", pwrite(fd, "b", 1, 12288));
    V("pwrite across the end", pwrite(fd, page, 16, 12280));
    V("pwrite across the end, in one page", pwrite(fd, page, 16, 12200));
    T("fallocate past the end", fallocate(fd, 0, 0, 20000));
    T("fallocate KEEP_SIZE past the end", fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 20000));

    /* F_SEAL_WRITE is refused while a writable shared mapping exists. */
    char *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("shared writable mapping: %s\n", yesno(shared != MAP_FAILED));
    T("F_ADD_SEALS F_SEAL_WRITE while it is mapped", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    munmap(shared, 4096);
    char *priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    T("F_ADD_SEALS F_SEAL_WRITE with a private mapping", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    priv[0] = 'p';
    V("F_GET_SEALS", fcntl(fd, F_GET_SEALS));
    T("write", write(fd, "c", 1));
    T("pwrite", pwrite(fd, "c", 1, 0));
    T("fallocate PUNCH_HOLE", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096));
    T("mmap MAP_SHARED PROT_WRITE", (long)mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == -1 ? -1 : 0);
    char *rd = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    printf("MAP_SHARED PROT_READ: %s\n", rd == MAP_FAILED ? errname(errno) : "OK");
    if (rd != MAP_FAILED) {
        T("mprotect it PROT_WRITE", mprotect(rd, 4096, PROT_READ | PROT_WRITE));
        printf("its first byte: %c, the private copy's: %c\n", rd[0], priv[0]);
        munmap(rd, 4096);
    }
    munmap(priv, 4096);
    char b = 0;
    V("pread", pread(fd, &b, 1, 100));
    printf("byte 100: %c\n", b);
    T("F_ADD_SEALS F_SEAL_SEAL", fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL));
    T("F_ADD_SEALS after F_SEAL_SEAL", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
    V("F_GET_SEALS", fcntl(fd, F_GET_SEALS));
    close(ro);
    close(fd);

    /* F_SEAL_FUTURE_WRITE: mappings made before keep writing. */
    fd = memfd_create("future", MFD_ALLOW_SEALING);
    ftruncate(fd, 4096);
    char *before = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    T("F_ADD_SEALS F_SEAL_FUTURE_WRITE with a writable mapping", fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
    before[0] = 'm';
    b = 0;
    pread(fd, &b, 1, 0);
    printf("a write through the older mapping is read back: %s\n", yesno(b == 'm'));
    T("write", write(fd, "w", 1));
    T("mmap MAP_SHARED PROT_WRITE", (long)mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == -1 ? -1 : 0);
    char *after = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    printf("MAP_SHARED PROT_READ: %s\n", after == MAP_FAILED ? errname(errno) : "OK");
    if (after != MAP_FAILED) {
        T("mprotect it PROT_WRITE", mprotect(after, 4096, PROT_READ | PROT_WRITE));
        munmap(after, 4096);
    }
    T("ftruncate larger (no F_SEAL_GROW)", ftruncate(fd, 8192));
    munmap(before, 4096);
    close(fd);

    /* F_SEAL_EXEC keeps the execute bits. */
    fd = memfd_create("exec", MFD_ALLOW_SEALING);
    T("F_ADD_SEALS F_SEAL_EXEC", fcntl(fd, F_ADD_SEALS, 0x20 /* F_SEAL_EXEC */));
    T("fchmod without the x bits", fchmod(fd, 0666));
    T("fchmod keeping them", fchmod(fd, 0755));
    close(fd);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "exit0") == 0)
        return 0;
#ifdef __GLIBC__
    /* glibc registers rseq for every thread: run the rseq section without. */
    if (argc > 1 && strcmp(argv[1], "rseq") == 0 && !getenv("GLIBC_TUNABLES")) {
        setenv("GLIBC_TUNABLES", "glibc.pthread.rseq=0", 1);
        execv("/proc/self/exe", argv);
        printf("re-exec: %s\n", errname(errno));
        return 1;
    }
#endif
    probe_init();
    static const struct probe_section sections[] = {
        {"read", read_section},
        {"epoll", epoll_section},
        {"nofile", nofile_section},
        {"rlimit", rlimit_section},
        {"cpulimit", cpulimit_section},
        {"robust", robust_section},
        {"rseq", rseq_section},
        {"sigreturn", sigreturn_section},
        {"flags", flags_section},
        {"clone", clone_section},
        {"rename", rename_section},
        {"bigfile", bigfile_section},
        {"sigio", sigio_section},
        {"seals", seals_section},
        {NULL, NULL},
    };
    int r = run_sections(argc, argv, sections);
    if (r == 0)
        printf("== done\n");
    return r;
}

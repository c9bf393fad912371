/* seccomp_probe: seccomp(2) and prctl(PR_SET_SECCOMP): the interface and its
 * errors, filters' verdicts (errno, trap, kill, trace, log), their precedence
 * when stacked, inheritance by fork, threads and execve, TSYNC, and strict
 * mode. A filter cannot be removed, so every case runs in a child of its own.
 *
 *   seccomp_probe [SECTION]   sections: api errno trap kill stack inherit strict */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <ucontext.h>
#include "surface_common.h"

/* From <linux/filter.h> and <linux/seccomp.h> (which musl builds do not have). */
struct sf {
    unsigned short code;
    unsigned char jt, jf;
    unsigned int k;
};
struct sfprog {
    unsigned short len;
    struct sf *filter;
};
#define LD_ABS 0x20
#define LD_IMM 0x00
#define LD_MEM 0x60
#define ST_MEM 0x02
#define JEQ_K 0x15
#define JSET_K 0x45
#define JA 0x05
#define RET_K 0x06
#define DIV_K 0x34
#define LDB_ABS 0x30
#define STMT(c, k) {(c), 0, 0, (k)}
#define JUMP(c, k, t, f) {(c), (t), (f), (k)}

#define RET_KILL_PROCESS 0x80000000u
#define RET_KILL_THREAD 0x00000000u
#define RET_TRAP 0x00030000u
#define RET_ERRNO 0x00050000u
#define RET_USER_NOTIF 0x7fc00000u
#define RET_TRACE 0x7ff00000u
#define RET_LOG 0x7ffc0000u
#define RET_ALLOW 0x7fff0000u

#define SET_MODE_STRICT 0
#define SET_MODE_FILTER 1
#define GET_ACTION_AVAIL 2
#define GET_NOTIF_SIZES 3
#define FLAG_TSYNC 1
#define FLAG_NEW_LISTENER 8
#define FLAG_TSYNC_ESRCH 16
#define FLAG_WAIT_KILLABLE_RECV 32

#ifndef SYS_seccomp
#if defined(__x86_64__)
#define SYS_seccomp 317
#else
#define SYS_seccomp 277
#endif
#endif

#if defined(__x86_64__)
#define MY_ARCH 0xc000003eu
#else
#define MY_ARCH 0xc00000b7u
#endif

static long sc(unsigned op, unsigned flags, void *args) { return syscall(SYS_seccomp, op, flags, args); }

static long install(struct sf *p, unsigned short n, unsigned flags)
{
    struct sfprog f = {n, p};
    return sc(SET_MODE_FILTER, flags, &f);
}

/* A filter giving call `nr` the verdict `v` and allowing everything else. */
static long only(long nr, unsigned v, unsigned flags)
{
    struct sf p[] = {STMT(LD_ABS, 0), JUMP(JEQ_K, (unsigned)nr, 0, 1), STMT(RET_K, v), STMT(RET_K, RET_ALLOW)};
    return install(p, 4, flags);
}

static void nnp(void)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        printf("PR_SET_NO_NEW_PRIVS: %s\n", errname(errno));
}

/* Runs `fn` in a child with no_new_privs, and prints how the child ended. */
static void in_child(const char *what, void (*fn)(void))
{
    pid_t pid = xfork();
    if (pid == 0) {
        nnp();
        fn();
        fflush(NULL);
        _exit(0);
    }
    reap(pid, what);
}

/* getppid as "OK" or its errno. */
static const char *ppid_res(void) { return res(syscall(SYS_getppid)); }

/* ------------------------------------------------------------------ api -- */

static void api_filter_state(void)
{
    struct sf allow[] = {STMT(RET_K, RET_ALLOW)};
    T("allow-all filter", install(allow, 1, 0));
    V("PR_GET_SECCOMP", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
    printf("status NoNewPrivs: %ld\n", proc_status_field("NoNewPrivs"));
    printf("status Seccomp: %ld\n", proc_status_field("Seccomp"));
    printf("status Seccomp_filters: %ld\n", proc_status_field("Seccomp_filters"));
    T("strict after a filter", sc(SET_MODE_STRICT, 0, NULL));
    T("second filter", install(allow, 1, 0));
    printf("status Seccomp_filters: %ld\n", proc_status_field("Seccomp_filters"));
}

static void api_unprivileged(void)
{
    /* Without no_new_privs and without CAP_SYS_ADMIN: refused before the
     * instructions are read. */
    pid_t pid = xfork();
    if (pid == 0) {
        if (setuid(65534) < 0)
            printf("setuid: %s\n", errname(errno));
        struct sf allow[] = {STMT(RET_K, RET_ALLOW)};
        T("filter without no_new_privs", install(allow, 1, 0));
        struct sfprog bad = {1, KPTR};
        T("bad instructions without no_new_privs", sc(SET_MODE_FILTER, 0, &bad));
        T("strict without no_new_privs", sc(SET_MODE_STRICT, 0, NULL));
        fflush(NULL);
        _exit(0);
    }
    reap(pid, "unprivileged child");
}

static void api(void)
{
    V("PR_GET_SECCOMP", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
    static const struct {
        const char *name;
        unsigned action;
    } acts[] = {
        {"KILL_PROCESS", RET_KILL_PROCESS}, {"KILL_THREAD", RET_KILL_THREAD}, {"TRAP", RET_TRAP},
        {"ERRNO", RET_ERRNO},               {"USER_NOTIF", RET_USER_NOTIF},   {"TRACE", RET_TRACE},
        {"LOG", RET_LOG},                   {"ALLOW", RET_ALLOW},             {"0x00010000", 0x00010000u},
        {"ERRNO|1", RET_ERRNO | 1},
    };
    char what[64];
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
        unsigned a = acts[i].action;
        snprintf(what, sizeof what, "GET_ACTION_AVAIL %s", acts[i].name);
        T(what, sc(GET_ACTION_AVAIL, 0, &a));
    }
    unsigned a = RET_ALLOW;
    T("GET_ACTION_AVAIL flags 1", sc(GET_ACTION_AVAIL, 1, &a));
    T("GET_ACTION_AVAIL NULL", sc(GET_ACTION_AVAIL, 0, NULL));
    uint16_t sizes[3] = {0};
    T("GET_NOTIF_SIZES", sc(GET_NOTIF_SIZES, 0, sizes));
    printf("sizes: notif %u, resp %u, data %u\n", sizes[0], sizes[1], sizes[2]);
    T("GET_NOTIF_SIZES bad pointer", sc(GET_NOTIF_SIZES, 0, KPTR));
    T("unknown operation", sc(9, 0, NULL));
    T("STRICT with flags", sc(SET_MODE_STRICT, 1, NULL));
    T("STRICT with args", sc(SET_MODE_STRICT, 0, &a));

    struct sf allow[] = {STMT(RET_K, RET_ALLOW)};
    struct sfprog f = {1, allow};
    T("FILTER unknown flag", sc(SET_MODE_FILTER, 1u << 10, &f));
    T("FILTER TSYNC|NEW_LISTENER", sc(SET_MODE_FILTER, FLAG_TSYNC | FLAG_NEW_LISTENER, &f));
    T("FILTER WAIT_KILLABLE_RECV alone", sc(SET_MODE_FILTER, FLAG_WAIT_KILLABLE_RECV, &f));
    T("FILTER NULL", sc(SET_MODE_FILTER, 0, NULL));
    T("FILTER bad fprog", sc(SET_MODE_FILTER, 0, KPTR));
    struct sfprog empty = {0, allow};
    T("FILTER length 0", sc(SET_MODE_FILTER, 0, &empty));
    struct sfprog big = {4097, allow};
    T("FILTER length 4097", sc(SET_MODE_FILTER, 0, &big));
    struct sfprog badptr = {1, KPTR};
    T("FILTER bad instructions", sc(SET_MODE_FILTER, 0, &badptr));
    T("PR_SET_SECCOMP mode 3", prctl(PR_SET_SECCOMP, 3, 0, 0, 0));

    /* Programs the checker refuses. Root may filter without no_new_privs, so
     * these reach the checker; a valid one would be installed for good, so the
     * good ones run in children below. */
    struct sf byte[] = {STMT(LDB_ABS, 0), STMT(RET_K, RET_ALLOW)};
    T("byte load", install(byte, 2, 0));
    struct sf past[] = {STMT(LD_ABS, 64), STMT(RET_K, RET_ALLOW)};
    T("load past seccomp_data", install(past, 2, 0));
    struct sf unaligned[] = {STMT(LD_ABS, 2), STMT(RET_K, RET_ALLOW)};
    T("unaligned load", install(unaligned, 2, 0));
    struct sf noret[] = {STMT(LD_ABS, 0)};
    T("no return", install(noret, 1, 0));
    struct sf jump[] = {JUMP(JEQ_K, 0, 1, 0), STMT(RET_K, RET_ALLOW)};
    T("jump past the end", install(jump, 2, 0));
    struct sf ja[] = {STMT(JA, 1), STMT(RET_K, RET_ALLOW)};
    T("JA past the end", install(ja, 2, 0));
    struct sf mem[] = {STMT(LD_MEM, 3), STMT(RET_K, RET_ALLOW)};
    T("scratch read before a store", install(mem, 2, 0));
    struct sf div0[] = {STMT(DIV_K, 0), STMT(RET_K, RET_ALLOW)};
    T("division by constant 0", install(div0, 2, 0));
    V("PR_GET_SECCOMP after refusals", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));

    in_child("filter child", api_filter_state);
    api_unprivileged();
}

/* ---------------------------------------------------------------- errno -- */

static void errno_eperm(void)
{
    pid_t me = getpid();
    T("filter getppid EPERM", only(SYS_getppid, RET_ERRNO | EPERM, 0));
    printf("getppid: %s\n", ppid_res());
    printf("getpid unchanged: %s\n", yesno(syscall(SYS_getpid) == me));
}

static void errno_zero(void)
{
    T("filter getpid ERRNO|0", only(SYS_getpid, RET_ERRNO, 0));
    V("getpid", syscall(SYS_getpid));
}

static void errno_big(void)
{
    T("filter getppid ERRNO|5000", only(SYS_getppid, RET_ERRNO | 5000, 0));
    errno = 0;
    long r = syscall(SYS_getppid);
    printf("getppid: %ld, errno %d\n", r, errno);
}

static void errno_args(void)
{
    /* openat fails with EACCES when its flags hold O_CREAT. */
    struct sf p[] = {
        STMT(LD_ABS, 0),
        JUMP(JEQ_K, SYS_openat, 0, 3),
        STMT(LD_ABS, 16 + 2 * 8),
        JUMP(JSET_K, O_CREAT, 0, 1),
        STMT(RET_K, RET_ERRNO | EACCES),
        STMT(RET_K, RET_ALLOW),
    };
    T("filter openat O_CREAT", install(p, 6, 0));
    long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/status", O_RDONLY, 0);
    printf("openat O_RDONLY: %s\n", res(fd));
    if (fd >= 0)
        close((int)fd);
    T("openat O_CREAT", syscall(SYS_openat, AT_FDCWD, "/tmp/seccomp_probe_x", O_CREAT | O_WRONLY, 0600));
}

static void errno_arch(void)
{
    /* Everything is killed unless the arch is this program's. */
    struct sf p[] = {
        STMT(LD_ABS, 4),
        JUMP(JEQ_K, MY_ARCH, 1, 0),
        STMT(RET_K, RET_KILL_PROCESS),
        STMT(RET_K, RET_ALLOW),
    };
    T("filter on arch", install(p, 4, 0));
    printf("still running: yes\n");
}

static void errno_vdso(void)
{
    /* The vDSO answers clock_gettime in user mode: no filter sees it. */
    T("filter clock_gettime EPERM", only(SYS_clock_gettime, RET_ERRNO | EPERM, 0));
    struct timespec ts;
    T("clock_gettime (vDSO)", clock_gettime(CLOCK_MONOTONIC, &ts));
    T("clock_gettime (syscall)", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts));
}

static void errno_section(void)
{
    in_child("EPERM child", errno_eperm);
    in_child("ERRNO|0 child", errno_zero);
    in_child("ERRNO|5000 child", errno_big);
    in_child("argument child", errno_args);
    in_child("arch child", errno_arch);
    in_child("vDSO child", errno_vdso);
}

/* ----------------------------------------------------------------- trap -- */

static volatile sig_atomic_t trapped;
static volatile int t_code, t_errno, t_syscall;
static volatile unsigned t_arch;
static volatile uintptr_t t_addr;
static volatile long t_reg;

static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    ucontext_t *uc = ctx;
    trapped = 1;
    t_code = si->si_code;
    t_errno = si->si_errno;
    t_syscall = si->si_syscall;
    t_arch = si->si_arch;
    t_addr = (uintptr_t)si->si_call_addr;
#if defined(__x86_64__)
    t_reg = uc->uc_mcontext.gregs[REG_RAX];
#else
    t_reg = (long)uc->uc_mcontext.regs[0];
#endif
}

static void trap_handled(void)
{
    struct sigaction sa = {0};
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSYS, &sa, NULL);
    T("filter uname TRAP|42", only(SYS_uname, RET_TRAP | 42, 0));
    struct utsname u;
    long r = syscall(SYS_uname, &u);
    printf("handler ran: %s\n", yesno(trapped));
    printf("si_code: %d (SYS_SECCOMP is 1)\n", t_code);
    printf("si_errno: %d\n", t_errno);
    printf("si_syscall is uname: %s\n", yesno(t_syscall == SYS_uname));
    printf("si_arch is this arch: %s\n", yesno(t_arch == MY_ARCH));
    printf("si_call_addr set: %s\n", yesno(t_addr != 0));
    /* The call did not run: the return register kept what it held (the call's
     * number on x86_64, its first argument on arm64). */
#if defined(__x86_64__)
    long want = SYS_uname;
#else
    long want = (long)&u;
#endif
    printf("return register untouched: %s\n", yesno(t_reg == want && r == want));
}

static void trap_blocked(void)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGSYS);
    sigprocmask(SIG_BLOCK, &s, NULL);
    only(SYS_uname, RET_TRAP, 0);
    struct utsname u;
    syscall(SYS_uname, &u);
    printf("survived a blocked SIGSYS\n");
}

static void trap_ignored(void)
{
    signal(SIGSYS, SIG_IGN);
    only(SYS_uname, RET_TRAP, 0);
    struct utsname u;
    syscall(SYS_uname, &u);
    printf("survived an ignored SIGSYS\n");
}

static void trap_section(void)
{
    in_child("trap child", trap_handled);
    in_child("blocked SIGSYS child", trap_blocked);
    in_child("ignored SIGSYS child", trap_ignored);
}

/* ----------------------------------------------------------------- kill -- */

static void kill_process(void)
{
    only(SYS_getppid, RET_KILL_PROCESS, 0);
    syscall(SYS_getppid);
    printf("survived KILL_PROCESS\n");
}

static void kill_thread_alone(void)
{
    only(SYS_getppid, RET_KILL_THREAD, 0);
    syscall(SYS_getppid);
    printf("survived KILL_THREAD\n");
}

static void kill_unknown(void)
{
    only(SYS_getppid, 0x00010000u, 0);
    syscall(SYS_getppid);
    printf("survived an unknown action\n");
}

static volatile pid_t victim_tid;

static void *victim(void *arg)
{
    (void)arg;
    victim_tid = (pid_t)syscall(SYS_gettid);
    syscall(SYS_getppid);
    victim_tid = -1;
    return NULL;
}

static void kill_one_thread(void)
{
    /* The thread dies alone; the process goes on. It is never joined: a thread
     * killed by seccomp does not finish pthread_exit, which musl's join needs. */
    only(SYS_getppid, RET_KILL_THREAD, 0);
    pthread_t t;
    pthread_create(&t, NULL, victim, NULL);
    int gone = 0;
    for (int i = 0; i < 2000 && !gone; i++) {
        pid_t tid = victim_tid;
        if (tid > 0 && syscall(SYS_tgkill, getpid(), tid, 0) < 0 && errno == ESRCH)
            gone = 1;
        else
            sleep_ns(5000000);
    }
    printf("thread gone: %s, reached its end: %s\n", yesno(gone), yesno(victim_tid == -1));
    printf("Threads: %ld\n", proc_status_field("Threads"));
    fflush(NULL);
    _exit(7);
}

static void kill_soft(void)
{
    only(SYS_getppid, RET_TRACE, 0);
    printf("TRACE without a tracer: %s\n", ppid_res());
}

static void kill_notif(void)
{
    only(SYS_getppid, RET_USER_NOTIF, 0);
    printf("USER_NOTIF without a listener: %s\n", ppid_res());
}

static void kill_log(void)
{
    only(SYS_getppid, RET_LOG, 0);
    printf("LOG: %s\n", ppid_res());
}

static void kill_section(void)
{
    in_child("KILL_PROCESS child", kill_process);
    in_child("KILL_THREAD single-threaded child", kill_thread_alone);
    in_child("unknown action child", kill_unknown);
    in_child("KILL_THREAD two-thread child", kill_one_thread);
    in_child("TRACE child", kill_soft);
    in_child("USER_NOTIF child", kill_notif);
    in_child("LOG child", kill_log);
}

/* ---------------------------------------------------------------- stack -- */

static void stack_same_action(void)
{
    only(SYS_getppid, RET_ERRNO | EPERM, 0);
    only(SYS_getppid, RET_ERRNO | ENOENT, 0);
    printf("two ERRNO filters, newest ENOENT: %s\n", ppid_res());
    struct sf allow[] = {STMT(RET_K, RET_ALLOW)};
    install(allow, 1, 0);
    printf("an allow-all on top: %s\n", ppid_res());
    only(SYS_getppid, RET_TRACE, 0);
    printf("TRACE on top of ERRNO: %s\n", ppid_res());
    printf("Seccomp_filters: %ld\n", proc_status_field("Seccomp_filters"));
}

static void stack_older_wins(void)
{
    only(SYS_getppid, RET_TRACE, 0);
    only(SYS_getppid, RET_ERRNO | EPERM, 0);
    printf("ERRNO over an older TRACE: %s\n", ppid_res());
    only(SYS_getppid, RET_ALLOW, 0);
    printf("still ERRNO under a newer ALLOW: %s\n", ppid_res());
}

static void stack_limit(void)
{
    /* 4096 instructions each, plus 4 per filter: the 8th passes 32768. */
    static struct sf p[4096];
    for (int i = 0; i < 4095; i++)
        p[i] = (struct sf)STMT(LD_IMM, (unsigned)i);
    p[4095] = (struct sf)STMT(RET_K, RET_ALLOW);
    int n = 0;
    long r;
    while ((r = install(p, 4096, 0)) == 0 && n < 20)
        n++;
    printf("4096-instruction filters installed: %d, then %s\n", n, res(r));
    struct sf small[] = {STMT(RET_K, RET_ALLOW)};
    int m = 0;
    while ((r = install(small, 1, 0)) == 0 && m < 5000)
        m++;
    printf("then 1-instruction filters: %d, then %s\n", m, res(r));
    printf("calls still work: %s\n", ppid_res());
}

static void stack_section(void)
{
    in_child("same-action child", stack_same_action);
    in_child("precedence child", stack_older_wins);
    in_child("limit child", stack_limit);
}

/* -------------------------------------------------------------- inherit -- */

static void inherit_fork(void)
{
    only(SYS_getppid, RET_ERRNO | EPERM, 0);
    pid_t pid = xfork();
    if (pid == 0) {
        printf("fork child's getppid: %s\n", ppid_res());
        printf("fork child's Seccomp_filters: %ld\n", proc_status_field("Seccomp_filters"));
        fflush(NULL);
        _exit(0);
    }
    reap(pid, "grandchild");
}

static void inherit_exec(void)
{
    only(SYS_getppid, RET_ERRNO | EPERM, 0);
    fflush(NULL);
    execl(self_exe(), "seccomp_probe", "exec-check", (char *)NULL);
    printf("execl: %s\n", errname(errno));
}

static int go[2];
static volatile long thread_result;

static void *waiter(void *arg)
{
    (void)arg;
    token_wait(go[0]);
    thread_result = syscall(SYS_getppid) < 0 ? errno : 0;
    return NULL;
}

static void inherit_threads(void)
{
    if (pipe(go) < 0)
        printf("pipe: %s\n", errname(errno));
    pthread_t before, after;
    pthread_create(&before, NULL, waiter, NULL);
    only(SYS_getppid, RET_ERRNO | EPERM, 0);
    token_send(go[1]);
    pthread_join(before, NULL);
    printf("thread created before: %s\n", thread_result ? errname((int)thread_result) : "OK");
    pthread_create(&after, NULL, waiter, NULL);
    token_send(go[1]);
    pthread_join(after, NULL);
    printf("thread created after: %s\n", thread_result ? errname((int)thread_result) : "OK");
}

static void inherit_tsync(void)
{
    if (pipe(go) < 0)
        printf("pipe: %s\n", errname(errno));
    pthread_t t;
    pthread_create(&t, NULL, waiter, NULL);
    T("TSYNC", only(SYS_getppid, RET_ERRNO | EPERM, FLAG_TSYNC));
    token_send(go[1]);
    pthread_join(t, NULL);
    printf("thread created before, after TSYNC: %s\n", thread_result ? errname((int)thread_result) : "OK");
}

static int ready[2], proceed[2];
static volatile pid_t loner_tid;

static void *loner(void *arg)
{
    (void)arg;
    loner_tid = (pid_t)syscall(SYS_gettid);
    struct sf allow[] = {STMT(RET_K, RET_ALLOW)};
    install(allow, 1, 0);
    token_send(ready[1]);
    token_wait(proceed[0]);
    return NULL;
}

static void inherit_tsync_fails(void)
{
    if (pipe(ready) < 0 || pipe(proceed) < 0)
        printf("pipe: %s\n", errname(errno));
    pthread_t t;
    pthread_create(&t, NULL, loner, NULL);
    token_wait(ready[0]);
    long r = only(SYS_getppid, RET_ERRNO | EPERM, FLAG_TSYNC);
    printf("TSYNC over a thread with its own filter returns its tid: %s\n", yesno(r == loner_tid));
    T("TSYNC|TSYNC_ESRCH", only(SYS_getppid, RET_ERRNO | EPERM, FLAG_TSYNC | FLAG_TSYNC_ESRCH));
    printf("caller unfiltered after the failures: %s\n", ppid_res());
    printf("caller's Seccomp: %ld\n", proc_status_field("Seccomp"));
    token_send(proceed[1]);
    pthread_join(t, NULL);
}

static void inherit_section(void)
{
    in_child("fork child", inherit_fork);
    in_child("exec child", inherit_exec);
    in_child("threads child", inherit_threads);
    in_child("TSYNC child", inherit_tsync);
    in_child("TSYNC failure child", inherit_tsync_fails);
}

/* --------------------------------------------------------------- strict -- */

static void say(const char *s) { syscall(SYS_write, 1, s, strlen(s)); }

static void strict_ok(void)
{
    fflush(NULL);
    if (prctl(PR_SET_SECCOMP, 1, 0, 0, 0) < 0)
        printf("PR_SET_SECCOMP strict: %s\n", errname(errno));
    say("strict: write works\n");
    syscall(SYS_exit, 5);
}

static void strict_getpid(void)
{
    fflush(NULL);
    sc(SET_MODE_STRICT, 0, NULL);
    syscall(SYS_getpid);
    say("survived getpid in strict mode\n");
    syscall(SYS_exit, 0);
}

static void strict_exit_group(void)
{
    fflush(NULL);
    sc(SET_MODE_STRICT, 0, NULL);
    syscall(SYS_exit_group, 3);
    say("survived exit_group in strict mode\n");
    syscall(SYS_exit, 0);
}

static void strict_prctl(void)
{
    fflush(NULL);
    sc(SET_MODE_STRICT, 0, NULL);
    prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
    say("survived prctl in strict mode\n");
    syscall(SYS_exit, 0);
}

static void strict_twice(void)
{
    T("strict", sc(SET_MODE_STRICT, 0, NULL));
    fflush(NULL);
    /* seccomp itself is not allowed in strict mode. */
    sc(SET_MODE_STRICT, 0, NULL);
    say("survived seccomp in strict mode\n");
    syscall(SYS_exit, 0);
}

static void strict_section(void)
{
    in_child("strict write and exit", strict_ok);
    in_child("strict getpid", strict_getpid);
    in_child("strict exit_group", strict_exit_group);
    in_child("strict prctl", strict_prctl);
    in_child("strict seccomp", strict_twice);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "exec-check") == 0) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        printf("after execve: getppid %s, Seccomp %ld, Seccomp_filters %ld\n", ppid_res(),
               proc_status_field("Seccomp"), proc_status_field("Seccomp_filters"));
        return 0;
    }
    probe_init();
    static const struct probe_section sections[] = {
        {"api", api},         {"errno", errno_section},     {"trap", trap_section},   {"kill", kill_section},
        {"stack", stack_section}, {"inherit", inherit_section}, {"strict", strict_section}, {NULL, NULL},
    };
    int r = run_sections(argc, argv, sections);
    if (r == 0)
        printf("== done\n");
    return r;
}

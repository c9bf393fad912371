/* proc_pgrp: process groups, sessions and signals to groups, as Linux does them.
 *
 *   proc_pgrp [SECTION]     sections: session setpgid kill killall tty orphaned
 *
 * Every section runs in a child that first calls setsid(), so that the ids
 * it sees do not depend on how the probe was started (a shell, a test
 * harness, or pid 1 of a VM).
 *
 * session   setsid makes a session and group leader; setsid again: EPERM;
 *           getsid/getpgid/getpgrp agree; ESRCH for a missing pid; a group
 *           leader cannot setsid (EPERM); a child inherits the group and
 *           session, and setsid in it returns its pid
 * setpgid   setpgid from the parent and from the child, join an existing
 *           group, errors: EINVAL (negative pid/pgid), ESRCH (not a child,
 *           missing), EPERM (session leader, group in another session, child
 *           in another session), EACCES (child has exec'd)
 * kill      kill(-pgid) reaches every member and nothing else, kill(0) the
 *           caller's group including the caller, killpg, ESRCH for an empty
 *           group, EINVAL for a bad signal, signal 0 as an existence test
 * killall   kill(-1, sig): every process the caller may signal except itself.
 *           Natively that would be every process of the host, so the sender
 *           first takes a uid of its own (setuid to 1000000 + its pid, as
 *           root), which confines kill(-1) to its own children; a root
 *           process is not hit (EPERM when aimed at directly). Skipped when
 *           not run as root.
 * tty       no terminal: tcgetpgrp/tcsetpgrp/tcgetsid on a pipe give ENOTTY,
 *           /dev/tty in a new session gives ENXIO
 * orphaned  a stopped process whose group becomes orphaned gets SIGHUP and
 *           SIGCONT (not when a subreaper in the session adopts it) */
#define _GNU_SOURCE
#include <limits.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include "proc_common.h"

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* A child that waits for a token on its pipe, then _exits with `code`. */
static pid_t gated_child(int code, int *go_write)
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
    *go_write = p[1];
    return c;
}

/* ------------------------------------------------------------ session -- */

static void session(void)
{
    pid_t me = getpid();
    printf("session leader: getsid(0) == pid: %s, getpgrp() == pid: %s, getpgid(0) == pid: %s\n",
           yesno(getsid(0) == me), yesno(getpgrp() == me), yesno(getpgid(0) == me));
    printf("getsid(pid) == getsid(0): %s, getpgid(pid) == getpgrp(): %s\n", yesno(getsid(me) == getsid(0)),
           yesno(getpgid(me) == getpgrp()));
    printf("setsid() again: %s\n", res(setsid()));
    printf("getsid(INT_MAX): %s\n", res(getsid(INT_MAX)));
    printf("getpgid(INT_MAX): %s\n", res(getpgid(INT_MAX)));
    printf("getpgid(-1): %s\n", res(getpgid(-1)));
    printf("getsid(-1): %s\n", res(getsid(-1)));

    pid_t c = xfork();
    if (c == 0) {
        pid_t cm = getpid();
        printf("child: same group: %s, same session: %s\n", yesno(getpgrp() == me), yesno(getsid(0) == me));
        printf("child: getsid(parent) == parent: %s\n", yesno(getsid(me) == me));
        pid_t s = setsid();
        printf("child: setsid() returned its pid: %s\n", yesno(s == cm));
        printf("child: now getsid == getpgrp == pid: %s\n", yesno(getsid(0) == cm && getpgrp() == cm));
        printf("child: parent's session unchanged: %s\n", yesno(getsid(me) == me));
        _exit(0);
    }
    reap(c, "child");

    /* A group leader (not session leader) cannot make a session. */
    c = xfork();
    if (c == 0) {
        printf("child: setpgid(0, 0): %s\n", res(setpgid(0, 0)));
        printf("child: setsid() as a group leader: %s\n", res(setsid()));
        _exit(0);
    }
    reap(c, "child");
}

/* ------------------------------------------------------------ setpgid -- */

static void setpgid_section(void)
{
    pid_t me = getpid();
    printf("setpgid(-1, 0): %s\n", res(setpgid(-1, 0)));
    printf("setpgid(0, -1): %s\n", res(setpgid(0, -1)));
    printf("setpgid(INT_MAX, 0): %s\n", res(setpgid(INT_MAX, 0)));
    printf("session leader: setpgid(0, 0): %s\n", res(setpgid(0, 0)));

    int go;
    pid_t c = gated_child(0, &go);
    printf("parent: setpgid(child, child): %s\n", res(setpgid(c, c)));
    printf("parent: getpgid(child) == child: %s\n", yesno(getpgid(c) == c));
    printf("parent: setpgid(child, 0) again: %s\n", res(setpgid(c, 0)));
    printf("parent: setpgid(child, own group) back: %s\n", res(setpgid(c, me)));
    printf("parent: getpgid(child) == parent: %s\n", yesno(getpgid(c) == me));
    printf("parent: setpgid(child, missing group): %s\n", res(setpgid(c, INT_MAX - 1)));
    int go2;
    pid_t c2 = gated_child(0, &go2);
    setpgid(c, c);
    printf("parent: second child joins the first one's group: %s\n", res(setpgid(c2, c)));
    printf("parent: getpgid(second) == first: %s\n", yesno(getpgid(c2) == c));
    token_send(go);
    token_send(go2);
    close(go);
    close(go2);
    reap(c, "first child");
    reap(c2, "second child");

    /* From the child: not a child of mine, session leader, other session. */
    c = xfork();
    if (c == 0) {
        printf("child: setpgid(parent, 0): %s\n", res(setpgid(me, 0)));
        printf("child: setpgid(0, 0) makes its own group: %s\n", res(setpgid(0, 0)));
        printf("child: setpgid(0, parent's group) joins it again: %s\n", res(setpgid(0, me)));
        setsid();
        printf("child after setsid: setpgid(0, 0): %s\n", res(setpgid(0, 0)));
        printf("child after setsid: setpgid(0, old group): %s\n", res(setpgid(0, me)));
        _exit(0);
    }
    reap(c, "child");

    /* A child in another session cannot be moved by its parent. */
    int ready[2];
    pipe(ready);
    c = gated_child(0, &go);
    pid_t c3 = xfork();
    if (c3 == 0) {
        close(ready[0]);
        setsid();
        token_send(ready[1]);
        pause();
        _exit(0);
    }
    close(ready[1]);
    token_wait(ready[0]);
    close(ready[0]);
    printf("parent: setpgid(child in another session, 0): %s\n", res(setpgid(c3, 0)));
    printf("parent: setpgid(child, group in another session): %s\n", res(setpgid(c, c3)));
    kill(c3, SIGKILL);
    reap(c3, "session-leader child");
    token_send(go);
    close(go);
    reap(c, "child");

    /* After the child execs, its parent can no longer change its group. */
    int p[2];
    pipe(p);
    c = xfork();
    if (c == 0) {
        close(p[0]);
        dup2(p[1], 3);
        char *argv[] = {"proc_pgrp", "--exec-child", NULL};
        char *envp[] = {NULL};
        execve(self_exe(), argv, envp);
        printf("child: execve %s\n", errname(errno));
        _exit(127);
    }
    close(p[1]);
    token_wait(p[0]); /* written by the exec'd image */
    printf("parent: setpgid(exec'd child, 0): %s\n", res(setpgid(c, 0)));
    kill(c, SIGTERM);
    close(p[0]);
    reap(c, "exec'd child");
}

/* --------------------------------------------------------------- kill -- */

static void kill_section(void)
{
    pid_t me = getpid();
    /* Group G = {a, b}; c stays in the session leader's group. */
    int ga, gb, gc;
    pid_t a = gated_child(1, &ga);
    pid_t b = gated_child(2, &gb);
    pid_t c = gated_child(3, &gc);
    setpgid(a, a);
    setpgid(b, a);
    printf("kill(a, 0): %s\n", res(kill(a, 0)));
    printf("kill(-G, 0): %s\n", res(kill(-a, 0)));
    printf("kill(-G, SIGUSR1): %s\n", res(kill(-a, SIGUSR1)));
    reap(a, "a (group G)");
    reap(b, "b (group G)");
    int st;
    printf("c (our group) untouched: %s\n", yesno(waitpid(c, &st, WNOHANG) == 0));
    printf("kill(-G) after G is gone: %s\n", res(kill(-a, SIGUSR1)));
    printf("killpg(G) after G is gone: %s\n", res(killpg(a, SIGUSR1)));

    /* kill(0): our group, the caller included (its SIGUSR2 is blocked). */
    sigset_t s2, old;
    sigemptyset(&s2);
    sigaddset(&s2, SIGUSR2);
    sigprocmask(SIG_BLOCK, &s2, &old);
    printf("kill(0, SIGUSR2): %s\n", res(kill(0, SIGUSR2)));
    reap(c, "c");
    sigset_t pend;
    sigpending(&pend);
    printf("caller got its own SIGUSR2: %s\n", yesno(sigismember(&pend, SIGUSR2)));
    struct timespec zero = {0, 0};
    sigtimedwait(&s2, NULL, &zero);
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(ga);
    close(gb);
    close(gc);

    /* killpg(own group) and kill(-own group) are the same as kill(0). */
    c = gated_child(4, &gc);
    sigprocmask(SIG_BLOCK, &s2, &old);
    printf("killpg(getpgrp(), SIGUSR2): %s\n", res(killpg(getpgrp(), SIGUSR2)));
    reap(c, "c");
    sigtimedwait(&s2, NULL, &zero);
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(gc);

    printf("kill(self, 65): %s\n", res(kill(me, 65)));
    printf("kill(self, -1): %s\n", res(kill(me, -1)));
    printf("kill(INT_MAX, 0): %s\n", res(kill(INT_MAX, 0)));
    printf("kill(-INT_MAX, 0): %s\n", res(kill(-INT_MAX, 0)));
    errno = 0;
    printf("kill(INT_MIN, 0): %s\n", res(kill(INT_MIN, 0)));
}

/* ------------------------------------------------------------ killall -- */

static volatile sig_atomic_t usr1_seen;
static void on_usr1(int s) { (void)s; usr1_seen++; }

static void killall(void)
{
    if (getuid() != 0) {
        printf("not root: kill(-1) is not confined, section skipped\n");
        return;
    }
    pid_t root_proc = getpid();
    signal(SIGUSR1, on_usr1);
    pid_t k = xfork();
    if (k == 0) {
        uid_t u = 1000000 + (uid_t)getpid();
        if (setresgid(u, u, u) < 0 || setresuid(u, u, u) < 0) {
            printf("k: setresuid: %s\n", errname(errno));
            _exit(1);
        }
        /* Processes it may not signal still count: 0, not ESRCH. */
        printf("k: no other process of its uid: kill(-1, 0): %s\n", res(kill(-1, 0)));
        printf("k: kill(root process, 0): %s\n", res(kill(root_proc, 0)));
        printf("k: kill(root process, SIGUSR1): %s\n", res(kill(root_proc, SIGUSR1)));
        /* Two children with SIGUSR1 at its default action (death). */
        signal(SIGUSR1, SIG_DFL);
        int go1, go2;
        pid_t c1 = gated_child(0, &go1);
        pid_t c2 = gated_child(0, &go2);
        signal(SIGUSR1, on_usr1);
        setpgid(c1, c1);
        printf("k: kill(-1, 0) with two children: %s\n", res(kill(-1, 0)));
        usr1_seen = 0;
        printf("k: kill(-1, SIGUSR1): %s\n", res(kill(-1, SIGUSR1)));
        reap(c1, "k: child in its own group");
        reap(c2, "k: child in k's group");
        printf("k: sender excluded: %s\n", yesno(usr1_seen == 0));
        printf("k: kill(-1, 0) alone again: %s\n", res(kill(-1, 0)));
        close(go1);
        close(go2);
        _exit(0);
    }
    reap(k, "k");
    printf("root process not signalled: %s\n", yesno(usr1_seen == 0));
    signal(SIGUSR1, SIG_DFL);
}

/* ---------------------------------------------------------------- tty -- */

static void tty(void)
{
    int p[2];
    pipe(p);
    errno = 0;
    int t = isatty(p[0]);
    printf("isatty(pipe): %d %s\n", t, errname(errno));
    printf("tcgetpgrp(pipe): %s\n", res(tcgetpgrp(p[0])));
    printf("tcsetpgrp(pipe, own group): %s\n", res(tcsetpgrp(p[0], getpgrp())));
    printf("tcgetsid(pipe): %s\n", res(tcgetsid(p[0])));
    pid_t pg;
    printf("ioctl(pipe, TIOCGPGRP): %s\n", res(ioctl(p[0], TIOCGPGRP, &pg)));
    printf("ioctl(pipe, TIOCSCTTY): %s\n", res(ioctl(p[0], TIOCSCTTY, 0)));
    close(p[0]);
    close(p[1]);
    printf("tcgetpgrp(closed fd): %s\n", res(tcgetpgrp(p[0])));
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY);
    printf("open(/dev/tty) without a controlling terminal: %s\n", res(fd));
    if (fd >= 0)
        close(fd);
}

/* ----------------------------------------------------------- orphaned -- */

/* Child c forks d into c's new group G, waits until d has stopped, and exits.
 * G then has one member, d, whose parent decides: this process, if it is a
 * subreaper (another group, same session: G is not orphaned), else a process
 * outside the session (G is orphaned: d gets SIGHUP then SIGCONT). */
static void orphan_case(int subreaper)
{
    prctl(PR_SET_CHILD_SUBREAPER, subreaper, 0, 0, 0);
    int report[2], pidp[2];
    pipe(report);
    pipe(pidp);
    pid_t c = xfork();
    if (c == 0) {
        setpgid(0, 0);
        pid_t d = xfork();
        if (d == 0) {
            close(report[0]);
            /* SIGHUP blocked, so that d lives to say whether it came. */
            sigset_t hup;
            sigemptyset(&hup);
            sigaddset(&hup, SIGHUP);
            sigprocmask(SIG_BLOCK, &hup, NULL);
            raise(SIGSTOP);
            /* Runs only once continued; SIGHUP, if sent, is pending by then. */
            sigset_t pend;
            sigpending(&pend);
            char msg[64];
            int n = snprintf(msg, sizeof msg, "d: continued, SIGHUP pending: %s\n",
                             yesno(sigismember(&pend, SIGHUP)));
            write_full(report[1], msg, (size_t)n);
            _exit(0);
        }
        int st;
        waitpid(d, &st, WUNTRACED);
        write_full(pidp[1], &d, sizeof d);
        _exit(WIFSTOPPED(st) ? 0 : 1);
    }
    close(report[1]);
    close(pidp[1]);
    pid_t d = 0;
    read_full(pidp[0], &d, sizeof d);
    close(pidp[0]);
    reap(c, "c (d's parent)");
    char msg[64] = {0};
    if (subreaper) {
        /* d is ours now (waitpid finds it: 0, not ECHILD) and stays stopped. */
        int st;
        pid_t r = waitpid(d, &st, WNOHANG);
        sleep_ms(30);
        printf("subreaper: d adopted: %s, still stopped: %s\n", yesno(r == 0), yesno(proc_state(d) == 'T'));
        kill(d, SIGCONT);
        read_full(report[0], msg, sizeof msg - 1);
        printf("after our SIGCONT: %s", msg);
        reap(d, "d");
    } else {
        read_full(report[0], msg, sizeof msg - 1);
        printf("no subreaper: %s", msg);
    }
    close(report[0]);
    prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}

static void orphaned(void)
{
    orphan_case(1);
    orphan_case(0);
}

/* ----------------------------------------------------------- the rest -- */

static void in_new_session(void (*fn)(void))
{
    pid_t s = xfork();
    if (s == 0) {
        if (setsid() < 0) {
            printf("setsid: %s\n", errname(errno));
            _exit(1);
        }
        fn();
        fflush(NULL);
        _exit(0);
    }
    int st;
    waitpid(s, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        printf("section process: %s\n", status_text(st));
}

#define WRAP(name, fn) \
    static void name(void) { in_new_session(fn); }
WRAP(s_session, session)
WRAP(s_setpgid, setpgid_section)
WRAP(s_kill, kill_section)
WRAP(s_killall, killall)
WRAP(s_tty, tty)
WRAP(s_orphaned, orphaned)

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--exec-child") == 0) {
        /* Exec'd by setpgid_section: say so on fd 3, then wait to be killed. */
        token_send(3);
        for (;;)
            pause();
    }
    probe_init();
    static const struct probe_section sections[] = {
        {"session", s_session}, {"setpgid", s_setpgid}, {"kill", s_kill},       {"killall", s_killall},
        {"tty", s_tty},         {"orphaned", s_orphaned}, {NULL, NULL},
    };
    int r = run_sections(argc, argv, sections);
    if (r == 0)
        printf("== done\n");
    return r;
}

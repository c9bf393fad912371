/* proc_exec: execve and execveat as Linux does them.
 *
 *   proc_exec [SECTION]     sections: basic script errors execveat inherit
 *                                     thread vfork inplace
 *
 * The program runs itself: it makes a directory $T=/tmp/proc_exec.XXXXXX with
 * `self`, a symlink to its own file (readlink /proc/self/exe), writes scripts
 * and test files there, and execs them; the exec'd image learns what to check
 * from PROC_EXEC_MODE in its environment. Output replaces $T by "$T" and never
 * shows the program's own path (it is /app/proc_exec in elfin and somewhere
 * else natively). $T is removed at the end.
 *
 * basic     argv (incl. empty strings, an empty argv, a NULL envp), envp,
 *           AT_EXECFN, /proc/self/exe, /proc/self/cmdline, the name (comm) and
 *           pid after exec; the exit status of the exec'd image; a relative
 *           path; execvp with and without $T in PATH
 * script    `#!` scripts: with and without an optional argument, spacing, a
 *           script as interpreter, argv as Linux builds it (interpreter,
 *           optional argument, script path, original argv[1..]); AT_EXECFN
 *           and /proc/self/exe; ENOEXEC (`#!` alone), ENOENT (missing or
 *           CRLF interpreter), ELOOP (script interpreting itself)
 * errors    ENOENT (missing, empty path), EACCES (no x bit, a directory),
 *           ENOEXEC (garbage, empty file, truncated ELF), ENOTDIR, ELOOP
 *           (symlink loop), ENAMETOOLONG, E2BIG (one huge string, too many
 *           bytes), EFAULT (path, argv, an argv string, envp), ETXTBSY (open
 *           for writing); the process carries on after each
 * execveat  dirfd + name, AT_EMPTY_PATH on O_RDONLY and O_PATH descriptors
 *           (fexecve), AT_FDCWD, AT_EXECFN as /dev/fd/N[/name]; a script by
 *           descriptor (argv names /dev/fd/N) and ENOENT when that
 *           descriptor is close-on-exec; AT_SYMLINK_NOFOLLOW (ELOOP), bad
 *           flags (EINVAL), EBADF, ENOTDIR
 * inherit   across exec: O_CLOEXEC / FD_CLOEXEC / F_DUPFD_CLOEXEC descriptors
 *           closed, plain ones kept with their offsets; handled signals reset
 *           to SIG_DFL, ignored ones stay ignored, the mask and a pending
 *           signal kept (it kills the new image once unblocked), the
 *           alternate signal stack dropped; alarm, umask, cwd, rlimits, nice,
 *           pid/ppid/pgid/sid and PDEATHSIG kept; dumpable reset
 * thread    execve from a non-main thread of a 4-thread process: the new image
 *           has the old pid, one thread, tid == pid
 * vfork     vfork + execve: the parent resumes once the child has exec'd
 *           (while it still runs); vfork + failing execve + _exit(127)
 * inplace   the probe's own process execs (no fork): same pid; the new image
 *           cleans up */
#define _GNU_SOURCE
#include <dirent.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include "proc_common.h"

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

static char T[64];            /* the scratch directory */
static char SELF[128];        /* $T/self */
static char TENV[128];        /* PROC_EXEC_T=$T */
extern char **environ;

/* s with every $T replaced by "$T", in a static buffer (one of four). */
static const char *tx(const char *s)
{
    static char bufs[4][1024];
    static int next;
    char *out = bufs[next++ & 3];
    const char *t = getenv("PROC_EXEC_T");
    size_t tl = t ? strlen(t) : 0, o = 0;
    if (!s)
        return "(null)";
    while (*s && o < 1000) {
        if (tl && strncmp(s, t, tl) == 0) {
            memcpy(out + o, "$T", 2);
            o += 2;
            s += tl;
        } else {
            out[o++] = *s++;
        }
    }
    out[o] = 0;
    return out;
}

static long sys_execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
    return syscall(SYS_execveat, dirfd, path, argv, envp, flags);
}

static void write_file(const char *name, const char *content, size_t len, mode_t mode)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", T, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    write_full(fd, content, len);
    close(fd);
    chmod(path, mode);
}

static const char *tpath(const char *name)
{
    static char bufs[4][256];
    static int next;
    char *b = bufs[next++ & 3];
    snprintf(b, 256, "%s/%s", T, name);
    return b;
}

static void cleanup(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            if (unlink(p) < 0)
                rmdir(p);
        }
    closedir(d);
    rmdir(dir);
}

/* ------------------------------------------------ the exec'd image side -- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int exe_is_self(void)
{
    char link[PATH_MAX] = {0}, real[PATH_MAX] = {0};
    if (readlink("/proc/self/exe", link, sizeof link - 1) <= 0)
        return 0;
    const char *t = getenv("PROC_EXEC_T");
    char selfp[256];
    snprintf(selfp, sizeof selfp, "%s/self", t ? t : "");
    if (!realpath(selfp, real))
        return 0;
    return strcmp(link, real) == 0;
}

static int cmdline_matches(int argc, char **argv)
{
    char buf[8192];
    int fd = open("/proc/self/cmdline", O_RDONLY);
    if (fd < 0)
        return 0;
    long n = read_full(fd, buf, sizeof buf);
    close(fd);
    long o = 0;
    for (int i = 0; i < argc; i++) {
        size_t l = strlen(argv[i]) + 1;
        if (o + (long)l > n || memcmp(buf + o, argv[i], l) != 0)
            return 0;
        o += (long)l;
    }
    return o == n;
}

static void report(int argc, char **argv)
{
    printf("  argc %d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("  argv[%d] \"%s\"\n", i, tx(argv[i]));
    int n = 0;
    for (char **e = environ; e && *e; e++)
        n++;
    char **env = calloc((size_t)n + 1, sizeof *env);
    for (int i = 0; i < n; i++)
        env[i] = environ[i];
    qsort(env, (size_t)n, sizeof *env, cmp_str);
    for (int i = 0; i < n; i++)
        if (strncmp(env[i], "PROC_EXEC_T=", 12) != 0 && strncmp(env[i], "PROC_EXEC_PID=", 14) != 0 &&
            strncmp(env[i], "PROC_EXEC_NOCOMM=", 17) != 0)
            printf("  env %s\n", tx(env[i]));
    free(env);
    printf("  AT_EXECFN \"%s\"\n", tx((const char *)getauxval(AT_EXECFN)));
    printf("  /proc/self/exe is the probe: %s\n", yesno(exe_is_self()));
    printf("  /proc/self/cmdline matches argv: %s\n", yesno(cmdline_matches(argc, argv)));
    /* The name after an exec by descriptor alone (AT_EMPTY_PATH) changed in
     * Linux 6.x ("4" for /dev/fd/4 before, the file's name after): not
     * shown for those. */
    char name[32] = {0};
    prctl(PR_GET_NAME, name, 0, 0, 0);
    if (!getenv("PROC_EXEC_NOCOMM"))
        printf("  comm \"%s\"\n", name);
    const char *pid = getenv("PROC_EXEC_PID");
    if (pid)
        printf("  pid unchanged: %s\n", yesno(atol(pid) == getpid()));
}

static int fd_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

static volatile sig_atomic_t hits;
static void on_sig(int s) { (void)s; hits++; }

static void inherit_report(void)
{
    int a = -1, b = -1, c = -1, d = -1;
    sscanf(getenv("PROC_EXEC_FDS"), "%d,%d,%d,%d", &a, &b, &c, &d);
    printf("  O_CLOEXEC fd closed: %s\n", yesno(!fd_open(a)));
    printf("  plain fd kept: %s, offset %ld, FD_CLOEXEC %s\n", yesno(fd_open(b)), (long)lseek(b, 0, SEEK_CUR),
           yesno(fcntl(b, F_GETFD) & FD_CLOEXEC));
    printf("  F_SETFD FD_CLOEXEC fd closed: %s\n", yesno(!fd_open(c)));
    printf("  F_DUPFD_CLOEXEC fd closed: %s\n", yesno(!fd_open(d)));
    struct sigaction sa;
    sigaction(SIGUSR1, NULL, &sa);
    printf("  handled SIGUSR1 now SIG_DFL: %s\n", yesno(sa.sa_handler == SIG_DFL));
    sigaction(SIGHUP, NULL, &sa);
    printf("  handled SIGHUP (SA_ONSTACK|SA_RESTART) now SIG_DFL: %s, flags cleared: %s\n",
           yesno(sa.sa_handler == SIG_DFL), yesno((sa.sa_flags & (SA_ONSTACK | SA_RESTART)) == 0));
    sigaction(SIGUSR2, NULL, &sa);
    printf("  ignored SIGUSR2 still SIG_IGN: %s\n", yesno(sa.sa_handler == SIG_IGN));
    sigaction(SIGCHLD, NULL, &sa);
    printf("  ignored SIGCHLD still SIG_IGN: %s\n", yesno(sa.sa_handler == SIG_IGN));
    sigaction(SIGPIPE, NULL, &sa);
    printf("  ignored SIGPIPE still SIG_IGN: %s\n", yesno(sa.sa_handler == SIG_IGN));
    sigset_t m, pend;
    sigprocmask(SIG_BLOCK, NULL, &m);
    printf("  mask kept: SIGTERM %s, SIGINT %s, SIGQUIT %s\n", yesno(sigismember(&m, SIGTERM)),
           yesno(sigismember(&m, SIGINT)), yesno(sigismember(&m, SIGQUIT)));
    sigpending(&pend);
    printf("  pending SIGTERM kept: %s\n", yesno(sigismember(&pend, SIGTERM)));
    stack_t ss;
    sigaltstack(NULL, &ss);
    printf("  alternate signal stack disabled: %s\n", yesno(ss.ss_flags & SS_DISABLE));
    unsigned left = alarm(0);
    printf("  alarm kept: %s\n", yesno(left > 0 && left <= 50));
    mode_t um = umask(0);
    printf("  umask %03o\n", (unsigned)um);
    char cwd[256];
    printf("  cwd %s\n", getcwd(cwd, sizeof cwd) ? tx(cwd) : errname(errno));
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    printf("  RLIMIT_NOFILE soft %ld\n", (long)rl.rlim_cur);
    errno = 0;
    printf("  nice kept: %s\n", yesno(getpriority(PRIO_PROCESS, 0) == atoi(getenv("PROC_EXEC_NICE"))));
    printf("  pid kept: %s, ppid kept: %s\n", yesno(getpid() == atoi(getenv("PROC_EXEC_PID"))),
           yesno(getppid() == atoi(getenv("PROC_EXEC_PPID"))));
    printf("  pgid kept: %s, sid kept: %s\n", yesno(getpgrp() == atoi(getenv("PROC_EXEC_PGID"))),
           yesno(getsid(0) == atoi(getenv("PROC_EXEC_SID"))));
    int v = -1;
    prctl(PR_GET_PDEATHSIG, &v, 0, 0, 0);
    printf("  PDEATHSIG kept: %s\n", yesno(v == SIGUSR2));
    printf("  dumpable reset to 1: %s\n", yesno(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1));
    char name[32] = {0};
    prctl(PR_GET_NAME, name, 0, 0, 0);
    printf("  comm \"%s\"\n", name);
    printf("  unblocking SIGTERM now\n");
    fflush(stdout);
    sigset_t t;
    sigemptyset(&t);
    sigaddset(&t, SIGTERM);
    sigprocmask(SIG_UNBLOCK, &t, NULL);
    printf("  still alive after unblocking (wrong)\n");
}

static int child_mode(const char *mode, int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(mode, "report") == 0) {
        report(argc, argv);
        const char *code = getenv("PROC_EXEC_EXIT");
        return code ? atoi(code) : 0;
    }
    if (strcmp(mode, "inherit") == 0) {
        inherit_report();
        return 1;
    }
    if (strcmp(mode, "thread") == 0) {
        printf("  new image: pid is the old pid: %s\n", yesno(getpid() == atoi(getenv("PROC_EXEC_PID"))));
        printf("  new image: gettid() == getpid(): %s\n", yesno(syscall(SYS_gettid) == getpid()));
        printf("  new image: Threads %ld\n", proc_status_field("Threads"));
        return 0;
    }
    if (strcmp(mode, "vforkwait") == 0) {
        int fd = atoi(getenv("PROC_EXEC_FD"));
        struct pollfd p = {fd, POLLIN, 0};
        int ok = poll(&p, 1, 5000) == 1;
        printf("  exec'd child: the parent resumed while it runs: %s\n", yesno(ok));
        return 0;
    }
    if (strcmp(mode, "final") == 0) {
        printf("final image: pid unchanged: %s\n", yesno(getpid() == atoi(getenv("PROC_EXEC_PID"))));
        printf("final image: argv[0] \"%s\"\n", argc > 0 ? tx(argv[0]) : "");
        cleanup(getenv("PROC_EXEC_T"));
        printf("== done\n");
        return 0;
    }
    printf("unknown mode %s\n", mode);
    return 2;
}

/* ------------------------------------------------------ the test side -- */

/* fork; the child execs path (or calls fn); the parent reaps and prints. */
static void run_exec(const char *what, const char *path, char *const argv[], char *const envp[])
{
    printf("%s:\n", what);
    pid_t c = xfork();
    if (c == 0) {
        execve(path, argv, envp);
        printf("  execve: %s\n", errname(errno));
        _exit(127);
    }
    reap(c, "  status");
}

#define ENV(mode) (char *[]) { "PROC_EXEC_MODE=" mode, TENV, NULL }

static void basic(void)
{
    char *argv[] = {"first", "a", "", "b c", NULL};
    char *envp[] = {"PROC_EXEC_MODE=report", TENV, "Z=last", "A=1", "EMPTY=", NULL};
    run_exec("execve $T/self", SELF, argv, envp);

    char *argv7[] = {"seven", NULL};
    char *envp7[] = {"PROC_EXEC_MODE=report", "PROC_EXEC_EXIT=7", TENV, NULL};
    run_exec("exit status of the new image", SELF, argv7, envp7);

    char *none[] = {NULL};
    run_exec("empty argv (Linux supplies an empty argv[0])", SELF, none, ENV("report"));

    printf("NULL envp:\n");
    fflush(NULL);
    pid_t c = xfork();
    if (c == 0) {
        char *a[] = {"null-envp", NULL};
        execve(SELF, a, NULL);
        _exit(127);
    }
    reap(c, "  status");

    printf("relative path ./self from $T:\n");
    c = xfork();
    if (c == 0) {
        chdir(T);
        char *a[] = {"rel", NULL};
        execve("./self", a, ENV("report"));
        printf("  execve: %s\n", errname(errno));
        _exit(127);
    }
    reap(c, "  status");

    printf("pid and name after exec:\n");
    c = xfork();
    if (c == 0) {
        char pidenv[32];
        snprintf(pidenv, sizeof pidenv, "PROC_EXEC_PID=%d", (int)getpid());
        prctl(PR_SET_NAME, "before-exec", 0, 0, 0);
        char *a[] = {"pid", NULL};
        char *e[] = {"PROC_EXEC_MODE=report", TENV, pidenv, NULL};
        execve(SELF, a, e);
        _exit(127);
    }
    reap(c, "  status");

    printf("execvp by name:\n");
    c = xfork();
    if (c == 0) {
        char path[128];
        snprintf(path, sizeof path, "/nonexistent:%s", T);
        setenv("PATH", path, 1);
        setenv("PROC_EXEC_MODE", "report", 1);
        unsetenv("HOME");
        char *a[] = {"self", "via-execvp", NULL};
        execvp("self", a);
        printf("  execvp: %s\n", errname(errno));
        _exit(127);
    }
    reap(c, "  status");
    c = xfork();
    if (c == 0) {
        setenv("PATH", "/nonexistent", 1);
        char *a[] = {"self", NULL};
        execvp("self", a);
        printf("  execvp without $T in PATH: %s\n", errname(errno));
        execvp("", a);
        printf("  execvp(\"\"): %s\n", errname(errno));
        _exit(0);
    }
    reap(c, "  status");
}

static void script(void)
{
    char buf[512];
    int n;
    n = snprintf(buf, sizeof buf, "#!%s optarg\nthe rest is ignored\n", SELF);
    write_file("script-arg", buf, (size_t)n, 0755);
    n = snprintf(buf, sizeof buf, "#!%s\n", SELF);
    write_file("script-noarg", buf, (size_t)n, 0755);
    n = snprintf(buf, sizeof buf, "#!  %s   two  words  \t\n", SELF);
    write_file("script-spaces", buf, (size_t)n, 0755);
    n = snprintf(buf, sizeof buf, "#!%s\n", tpath("script-noarg"));
    write_file("script-nested", buf, (size_t)n, 0755);
    n = snprintf(buf, sizeof buf, "#!%s\n", tpath("script-loop"));
    write_file("script-loop", buf, (size_t)n, 0755);
    write_file("script-empty", "#!\n", 3, 0755);
    write_file("script-missing", "#!/nonexistent/interpreter\n", 27, 0755);
    n = snprintf(buf, sizeof buf, "#!%s\r\n", SELF);
    write_file("script-crlf", buf, (size_t)n, 0755);
    n = snprintf(buf, sizeof buf, "#!%s\n", SELF);
    write_file("script-nox", buf, (size_t)n, 0644);

    char *argv[] = {"script0", "x", "y z", NULL};
    run_exec("script with an optional argument", tpath("script-arg"), argv, ENV("report"));
    run_exec("script without an argument", tpath("script-noarg"), argv, ENV("report"));
    run_exec("script with spaces around the argument", tpath("script-spaces"), argv, ENV("report"));
    run_exec("script whose interpreter is a script", tpath("script-nested"), argv, ENV("report"));
    const char *errs[] = {"script-loop", "script-empty", "script-missing", "script-crlf", "script-nox"};
    for (size_t i = 0; i < sizeof errs / sizeof *errs; i++) {
        errno = 0;
        long r = execve(tpath(errs[i]), argv, ENV("report"));
        printf("execve %s: %s\n", errs[i], res(r));
    }
}

static void errors(void)
{
    /* Failing execve returns: these run in a child, so that one that wrongly
     * succeeds cannot replace the probe. */
    pid_t c = xfork();
    if (c != 0) {
        reap(c, "error child");
        return;
    }
    char elf_trunc[] = "\x7f" "ELF\x02\x01\x01";
    write_file("noexec", "#!/bin/true\n", 12, 0644);
    write_file("garbage", "this is not a program\n", 22, 0755);
    write_file("empty", "", 0, 0755);
    write_file("truncated-elf", elf_trunc, sizeof elf_trunc - 1, 0755);
    symlink("loop2", tpath("loop1"));
    symlink("loop1", tpath("loop2"));
    mkdir(tpath("dir"), 0755);
    char *argv[] = {"x", NULL};
    char **env = ENV("report");
    struct {
        const char *what;
        const char *path;
    } cases[] = {
        {"missing file", "missing"},
        {"empty path", ""},
        {"no x bit", "noexec"},
        {"a directory", "dir"},
        {"garbage content", "garbage"},
        {"empty file", "empty"},
        {"truncated ELF header", "truncated-elf"},
        {"file as a directory", "garbage/x"},
        {"symlink loop", "loop1"},
        {"missing directory", "/nonexistent/dir/prog"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *p = cases[i].path;
        errno = 0;
        long r = execve(p[0] == '/' || !p[0] ? p : tpath(p), argv, env);
        printf("%s: %s\n", cases[i].what, res(r));
    }
    static char longpath[5000];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[0] = '/';
    printf("path of 4999 bytes: %s\n", res(execve(longpath, argv, env)));

    /* E2BIG: one string over MAX_ARG_STRLEN (32 pages), then 16 MiB in total. */
    size_t big = 33 * 4096;
    char *huge = malloc(big + 1);
    memset(huge, 'h', big);
    huge[big] = 0;
    char *argv_huge[] = {"x", huge, NULL};
    printf("one argument of 132 KiB: %s\n", res(execve(SELF, argv_huge, env)));
    char *piece = malloc(2048);
    memset(piece, 'p', 2047);
    piece[2047] = 0;
    char **many = calloc(8193, sizeof *many);
    for (int i = 0; i < 8192; i++)
        many[i] = piece;
    printf("8192 arguments of 2 KiB: %s\n", res(execve(SELF, many, env)));
    printf("8192 environment strings of 2 KiB: %s\n", res(execve(SELF, argv, many)));

    /* EFAULT (through syscall(): the pointers must reach the kernel as they are) */
    char *bad_elem[] = {"x", (char *)8, NULL};
    void *bad = (void *)8;
    printf("bad path pointer: %s\n", res(syscall(SYS_execve, bad, argv, env)));
    printf("bad argv pointer: %s\n", res(syscall(SYS_execve, SELF, bad, env)));
    printf("bad argv string: %s\n", res(syscall(SYS_execve, SELF, bad_elem, env)));
    printf("bad envp pointer: %s\n", res(syscall(SYS_execve, SELF, argv, bad)));
    printf("bad envp string: %s\n", res(syscall(SYS_execve, SELF, argv, bad_elem)));

    /* ETXTBSY: the file is open for writing. */
    int w = open(tpath("busy"), O_WRONLY | O_CREAT | O_TRUNC, 0755);
    write_full(w, "#!/bin/true\n", 12);
    printf("file open for writing: %s\n", res(execve(tpath("busy"), argv, env)));
    close(w);
    printf("the process carries on after every failure: yes\n");
    fflush(NULL);
    _exit(0);
}

static void execveat_section(void)
{
    int dirfd = open(T, O_RDONLY | O_DIRECTORY);
    int selffd = open(SELF, O_RDONLY);
    int pathfd = open(SELF, O_PATH);
    char *argv[] = {"at", NULL};
    char buf[256];
    int n = snprintf(buf, sizeof buf, "#!%s\n", SELF);
    write_file("script-fd", buf, (size_t)n, 0755);
    int scriptfd = open(tpath("script-fd"), O_RDONLY);
    int scriptfd_cloexec = open(tpath("script-fd"), O_RDONLY | O_CLOEXEC);
    int filefd = scriptfd;
    printf("descriptors: dir %d, self %d, O_PATH %d, script %d, cloexec script %d\n", dirfd, selffd, pathfd,
           scriptfd, scriptfd_cloexec);

    struct {
        const char *what;
        int fd;
        const char *path;
        int flags;
    } ok[] = {
        {"execveat(dirfd, \"self\", 0)", dirfd, "self", 0},
        {"execveat(fd, \"\", AT_EMPTY_PATH)", selffd, "", AT_EMPTY_PATH},
        {"execveat(O_PATH fd, \"\", AT_EMPTY_PATH)", pathfd, "", AT_EMPTY_PATH},
        {"execveat(AT_FDCWD, absolute $T/self, 0)", AT_FDCWD, SELF, 0},
        {"execveat(script fd, \"\", AT_EMPTY_PATH)", scriptfd, "", AT_EMPTY_PATH},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        printf("%s:\n", ok[i].what);
        pid_t c = xfork();
        if (c == 0) {
            char *nocomm[] = {"PROC_EXEC_MODE=report", TENV, "PROC_EXEC_NOCOMM=1", NULL};
            sys_execveat(ok[i].fd, ok[i].path, argv, ok[i].flags & AT_EMPTY_PATH ? nocomm : ENV("report"),
                         ok[i].flags);
            printf("  execveat: %s\n", errname(errno));
            _exit(127);
        }
        reap(c, "  status");
    }
    printf("fexecve(fd):\n");
    pid_t c = xfork();
    if (c == 0) {
        char *nocomm[] = {"PROC_EXEC_MODE=report", TENV, "PROC_EXEC_NOCOMM=1", NULL};
        fexecve(selffd, argv, nocomm);
        printf("  fexecve: %s\n", errname(errno));
        _exit(127);
    }
    reap(c, "  status");

    /* A memfd filled with the program runs while its descriptor is still open
     * for writing (it does not count as a writer, as Linux's pseudo files). */
    int mfd = memfd_create("copy", MFD_CLOEXEC);
    char chunk[4096];
    ssize_t got;
    lseek(selffd, 0, SEEK_SET);
    while ((got = read(selffd, chunk, sizeof chunk)) > 0)
        if (write(mfd, chunk, (size_t)got) != got)
            break;
    printf("fexecve(memfd open for writing):\n");
    c = xfork();
    if (c == 0) {
        char *nocomm[] = {"PROC_EXEC_MODE=report", TENV, "PROC_EXEC_NOCOMM=1", NULL};
        fexecve(mfd, argv, nocomm);
        printf("  fexecve: %s\n", errname(errno));
        _exit(127);
    }
    reap(c, "  status");
    close(mfd);
    /* MFD_NOEXEC_SEAL: mode 0666, F_SEAL_EXEC, not executable, not chmod +x. */
    int nx = memfd_create("noexec", 8 /* MFD_NOEXEC_SEAL */);
    struct stat nst;
    fstat(nx, &nst);
    printf("MFD_NOEXEC_SEAL: %s, mode %o, seals %#x, fchmod 0755 %s\n", nx < 0 ? errname(errno) : "created",
           (unsigned)(nst.st_mode & 07777), (unsigned)fcntl(nx, F_GET_SEALS), res(fchmod(nx, 0755)));
    printf("fexecve of it: %s\n", res(sys_execveat(nx, "", argv, ENV("report"), AT_EMPTY_PATH)));
    close(nx);
    int ex = memfd_create("exec", 0x10 /* MFD_EXEC */);
    fstat(ex, &nst);
    printf("MFD_EXEC: mode %o, seals %#x\n", (unsigned)(nst.st_mode & 07777), (unsigned)fcntl(ex, F_GET_SEALS));
    close(ex);
    printf("MFD_EXEC|MFD_NOEXEC_SEAL: %s\n", res(memfd_create("both", 0x18)));

    c = xfork();
    if (c == 0) {
        /* Failures return; a wrong success cannot replace the probe. */
        printf("script by a close-on-exec descriptor: %s\n",
               res(sys_execveat(scriptfd_cloexec, "", argv, ENV("report"), AT_EMPTY_PATH)));
        printf("AT_SYMLINK_NOFOLLOW on a symlink: %s\n",
               res(sys_execveat(dirfd, "self", argv, ENV("report"), AT_SYMLINK_NOFOLLOW)));
        printf("unknown flag 0x4: %s\n", res(sys_execveat(dirfd, "self", argv, ENV("report"), 0x4)));
        printf("bad dirfd: %s\n", res(sys_execveat(99, "self", argv, ENV("report"), 0)));
        printf("bad fd with AT_EMPTY_PATH: %s\n", res(sys_execveat(99, "", argv, ENV("report"), AT_EMPTY_PATH)));
        printf("empty path without AT_EMPTY_PATH: %s\n", res(sys_execveat(selffd, "", argv, ENV("report"), 0)));
        printf("dirfd is a file: %s\n", res(sys_execveat(filefd, "self", argv, ENV("report"), 0)));
        printf("AT_EMPTY_PATH on a directory: %s\n",
               res(sys_execveat(dirfd, "", argv, ENV("report"), AT_EMPTY_PATH)));
        fflush(NULL);
        _exit(0);
    }
    reap(c, "error child");
    close(dirfd);
    close(selffd);
    close(pathfd);
    close(scriptfd);
    close(scriptfd_cloexec);
}

static void on_hup(int s) { (void)s; }

static void inherit(void)
{
    printf("exec with inherited state:\n");
    pid_t c = xfork();
    if (c == 0) {
        write_file("data", "0123456789", 10, 0644);
        int a = open(tpath("data"), O_RDONLY | O_CLOEXEC);
        int b = open(tpath("data"), O_RDONLY);
        lseek(b, 3, SEEK_SET);
        int cc = open(tpath("data"), O_RDONLY);
        fcntl(cc, F_SETFD, FD_CLOEXEC);
        int d = fcntl(b, F_DUPFD_CLOEXEC, 10);
        signal(SIGUSR1, on_sig);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_hup;
        sa.sa_flags = SA_ONSTACK | SA_RESTART;
        sigaction(SIGHUP, &sa, NULL);
        signal(SIGUSR2, SIG_IGN);
        signal(SIGCHLD, SIG_IGN);
        signal(SIGPIPE, SIG_IGN);
        sigset_t m;
        sigemptyset(&m);
        sigaddset(&m, SIGTERM);
        sigaddset(&m, SIGINT);
        sigprocmask(SIG_BLOCK, &m, NULL);
        raise(SIGTERM);
        stack_t ss = {.ss_sp = malloc(65536), .ss_size = 65536, .ss_flags = 0};
        sigaltstack(&ss, NULL);
        alarm(50);
        umask(027);
        chdir(T);
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        rl.rlim_cur = 200;
        setrlimit(RLIMIT_NOFILE, &rl);
        errno = 0;
        int nice_now = getpriority(PRIO_PROCESS, 0) + 2;
        setpriority(PRIO_PROCESS, 0, nice_now);
        prctl(PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0);
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        prctl(PR_SET_NAME, "before-exec", 0, 0, 0);
        char e[7][64];
        snprintf(e[0], 64, "PROC_EXEC_FDS=%d,%d,%d,%d", a, b, cc, d);
        snprintf(e[1], 64, "PROC_EXEC_NICE=%d", nice_now);
        snprintf(e[2], 64, "PROC_EXEC_PID=%d", (int)getpid());
        snprintf(e[3], 64, "PROC_EXEC_PPID=%d", (int)getppid());
        snprintf(e[4], 64, "PROC_EXEC_PGID=%d", (int)getpgrp());
        snprintf(e[5], 64, "PROC_EXEC_SID=%d", (int)getsid(0));
        char *envp[] = {"PROC_EXEC_MODE=inherit", TENV, e[0], e[1], e[2], e[3], e[4], e[5], NULL};
        char *argv[] = {"inherit", NULL};
        execve(SELF, argv, envp);
        printf("  execve: %s\n", errname(errno));
        _exit(127);
    }
    reap(c, "  status");
}

static void *exec_thread(void *arg)
{
    char *const *envp = arg;
    char *argv[] = {"from-thread", NULL};
    execve(SELF, argv, envp);
    printf("  execve from thread: %s\n", errname(errno));
    _exit(127);
}

static void *idle(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

static void thread(void)
{
    printf("execve from a non-main thread:\n");
    pid_t c = xfork();
    if (c == 0) {
        pthread_t t[3], x;
        for (int i = 0; i < 2; i++)
            pthread_create(&t[i], NULL, idle, NULL);
        char pidenv[32];
        snprintf(pidenv, sizeof pidenv, "PROC_EXEC_PID=%d", (int)getpid());
        static char *envp[4];
        envp[0] = "PROC_EXEC_MODE=thread";
        envp[1] = TENV;
        envp[2] = pidenv;
        printf("  before: Threads %ld, and one more to exec\n", proc_status_field("Threads"));
        pthread_create(&x, NULL, exec_thread, envp);
        pthread_join(x, NULL); /* never returns: the exec replaces us */
        _exit(126);
    }
    reap(c, "  status");
}

static void vfork_section(void)
{
    int p[2];
    pipe(p);
    char fdenv[32];
    snprintf(fdenv, sizeof fdenv, "PROC_EXEC_FD=%d", p[0]);
    char *envp[] = {"PROC_EXEC_MODE=vforkwait", TENV, fdenv, NULL};
    char *argv[] = {"vforked", NULL};
    printf("vfork + execve:\n");
    fflush(NULL);
    pid_t c = vfork();
    if (c == 0) {
        execve(SELF, argv, envp);
        _exit(127);
    }
    /* Here the child has exec'd (or exited): it waits for this token. */
    token_send(p[1]);
    reap(c, "  status");
    close(p[0]);
    close(p[1]);

    printf("vfork + failing execve:\n");
    fflush(NULL);
    c = vfork();
    if (c == 0) {
        execve(tpath("missing"), argv, envp);
        _exit(127);
    }
    reap(c, "  status");
}

static void inplace(void)
{
    char pidenv[32];
    snprintf(pidenv, sizeof pidenv, "PROC_EXEC_PID=%d", (int)getpid());
    char *envp[] = {"PROC_EXEC_MODE=final", TENV, pidenv, NULL};
    char *argv[] = {"final", NULL};
    fflush(NULL);
    execve(SELF, argv, envp);
    printf("final execve: %s\n", errname(errno));
}

int main(int argc, char **argv)
{
    const char *mode = getenv("PROC_EXEC_MODE");
    if (mode)
        return child_mode(mode, argc, argv);
    if (argc == 1 && strcmp(argv[0], "null-envp") == 0) {
        printf("  environment empty: %s\n", yesno(!environ || !environ[0]));
        return 5;
    }
    if (getenv("PROC_EXEC_T")) {
        /* Started by this probe without a mode: do not recurse. */
        printf("  nested run without PROC_EXEC_MODE (argc %d)\n", argc);
        return 3;
    }
    probe_init();
    strcpy(T, "/tmp/proc_exec.XXXXXX");
    if (!mkdtemp(T)) {
        printf("mkdtemp: %s\n", errname(errno));
        return 1;
    }
    snprintf(SELF, sizeof SELF, "%s/self", T);
    snprintf(TENV, sizeof TENV, "PROC_EXEC_T=%s", T);
    if (symlink(self_exe(), SELF) < 0) {
        printf("symlink: %s\n", errname(errno));
        return 1;
    }
    setenv("PROC_EXEC_T", T, 1);
    static const struct probe_section sections[] = {
        {"basic", basic},   {"script", script}, {"errors", errors}, {"execveat", execveat_section},
        {"inherit", inherit}, {"thread", thread}, {"vfork", vfork_section}, {"inplace", inplace},
        {NULL, NULL},
    };
    /* "inplace" replaces this process, so it runs last and cleans up; every
     * other way out cleans up here. */
    int r = run_sections(argc, argv, sections);
    cleanup(T);
    if (r == 0)
        printf("== done\n");
    return r;
}

/* proc_common.h: helpers shared by the proc_* probes (processes: fork, exec,
 * wait, process groups, pipes, spawn).
 *
 * Output must be identical natively and in elfin, so the probes never print
 * pids, addresses, paths of the host or times: they print relations ("yes"),
 * wait statuses as text ("exited 3", "killed by SIGTERM") and errno names.
 *
 * Every probe:
 *   - starts from a known state (probe_init): stdout line-buffered, every
 *     signal at SIG_DFL and unblocked, no core dumps, umask 022, descriptors
 *     above 2 closed (a test harness or make may leak some);
 *   - flushes stdio before every fork (xfork), so that no line is written
 *     twice, and waits for each child before printing again, so that the
 *     order of lines is fixed;
 *   - runs named sections: `probe SECTION` runs one, `probe` runs all. */
#ifndef PROC_COMMON_H
#define PROC_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "errname.h"

static inline const char *signame(int s)
{
    switch (s) {
#define S(x) case x: return #x;
    S(SIGHUP) S(SIGINT) S(SIGQUIT) S(SIGILL) S(SIGTRAP) S(SIGABRT) S(SIGBUS)
    S(SIGFPE) S(SIGKILL) S(SIGUSR1) S(SIGSEGV) S(SIGUSR2) S(SIGPIPE) S(SIGALRM)
    S(SIGTERM) S(SIGSTKFLT) S(SIGCHLD) S(SIGCONT) S(SIGSTOP) S(SIGTSTP) S(SIGTTIN)
    S(SIGTTOU) S(SIGURG) S(SIGXCPU) S(SIGXFSZ) S(SIGVTALRM) S(SIGPROF) S(SIGWINCH)
    S(SIGIO) S(SIGPWR) S(SIGSYS)
#undef S
    case 0: return "0";
    default: {
        static char buf[32];
        snprintf(buf, sizeof buf, "signal %d", s);
        return buf;
    }
    }
}

/* A wait status as text. The core-dump bit is not shown: whether a core was
 * written depends on the host (core_pattern), not on the semantics tested. */
static inline const char *status_text(int st)
{
    static char buf[64];
    if (WIFEXITED(st))
        snprintf(buf, sizeof buf, "exited %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, sizeof buf, "killed by %s", signame(WTERMSIG(st)));
    else if (WIFSTOPPED(st))
        snprintf(buf, sizeof buf, "stopped by %s", signame(WSTOPSIG(st)));
    else if (WIFCONTINUED(st))
        snprintf(buf, sizeof buf, "continued");
    else
        snprintf(buf, sizeof buf, "status 0x%x", st);
    return buf;
}

/* siginfo si_code of SIGCHLD as text (CLD_DUMPED shown as CLD_KILLED, see
 * status_text). */
static inline const char *cld_code(int code)
{
    switch (code) {
    case CLD_EXITED: return "CLD_EXITED";
    case CLD_KILLED: case CLD_DUMPED: return "CLD_KILLED";
    case CLD_STOPPED: return "CLD_STOPPED";
    case CLD_CONTINUED: return "CLD_CONTINUED";
    case CLD_TRAPPED: return "CLD_TRAPPED";
    default: {
        static char buf[32];
        snprintf(buf, sizeof buf, "si_code %d", code);
        return buf;
    }
    }
}

static inline const char *yesno(int b) { return b ? "yes" : "no"; }

/* "OK" or the errno name of a call that returned r. */
static inline const char *res(long r) { return r < 0 ? errname(errno) : "OK"; }

static inline void section(const char *name) { printf("== %s\n", name); }

/* Resets what a parent may have handed down, for every mode of a probe. */
static inline void probe_reset(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int s = 1; s < 32; s++)
        if (s != SIGKILL && s != SIGSTOP)
            signal(s, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* The starting state of a probe's top-level run (see the header comment). */
static inline void probe_init(void)
{
    probe_reset();
    for (int fd = 3; fd < 1024; fd++)
        close(fd);
    struct rlimit nocore = {0, 0};
    setrlimit(RLIMIT_CORE, &nocore);
    umask(022);
}

/* fork() with stdio flushed first; a failing fork ends the probe. */
static inline pid_t xfork(void)
{
    fflush(NULL);
    pid_t p = fork();
    if (p < 0) {
        printf("fork: %s\n", errname(errno));
        exit(1);
    }
    return p;
}

/* A child that must not dump core (it kills itself with SIGSEGV/SIGABRT). */
static inline void no_core_dump(void)
{
    struct rlimit nocore = {0, 0};
    setrlimit(RLIMIT_CORE, &nocore);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/* waitpid(pid) and print "WHAT: exited N" (or the error). */
static inline int reap(pid_t pid, const char *what)
{
    int st = 0;
    pid_t r;
    do
        r = waitpid(pid, &st, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        printf("%s: waitpid %s\n", what, errname(errno));
    else if (r != pid)
        printf("%s: waitpid returned another pid\n", what);
    else
        printf("%s: %s\n", what, status_text(st));
    return st;
}

/* Reads exactly n bytes (or up to EOF); returns the count. */
static inline long read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return (long)got;
}

static inline long write_full(int fd, const void *buf, size_t n)
{
    size_t put = 0;
    while (put < n) {
        ssize_t r = write(fd, (const char *)buf + put, n - put);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r;
        put += (size_t)r;
    }
    return (long)put;
}

/* One-byte handshakes over a pipe. */
static inline void token_send(int fd) { char c = 't'; write_full(fd, &c, 1); }
static inline int token_wait(int fd) { char c; return read_full(fd, &c, 1) == 1; }

/* The number after "Key:" in a /proc file such as /proc/meminfo (-1 if missing). */
static inline long proc_file_field(const char *file, const char *key)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return -1;
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = atol(line + kl + 1);
            break;
        }
    fclose(f);
    return v;
}

/* The value of "Key:" in /proc/self/status (-1 if missing). */
static inline long proc_status_field(const char *key)
{
    return proc_file_field("/proc/self/status", key);
}

/* The state letter of /proc/PID/stat (R, S, T, Z, ...), '-' if there is no
 * such entry, '?' on another error. */
static inline char proc_state(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return errno == ENOENT ? '-' : '?';
    long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return '?';
    buf[n] = 0;
    char *rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' ? rp[2] : '?';
}

/* The real path of the running program (readlink /proc/self/exe); never
 * printed, it differs between the host and the guest. */
static inline const char *self_exe(void)
{
    static char buf[4096];
    if (!buf[0]) {
        ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
        if (n <= 0) {
            printf("readlink /proc/self/exe: %s\n", errname(errno));
            exit(1);
        }
        buf[n] = 0;
    }
    return buf;
}

struct probe_section {
    const char *name;
    void (*run)(void);
};

/* Runs argv[1]'s section, or all of them in order. */
static inline int run_sections(int argc, char **argv, const struct probe_section *s)
{
    if (argc > 1) {
        for (const struct probe_section *p = s; p->name; p++)
            if (strcmp(p->name, argv[1]) == 0) {
                section(p->name);
                p->run();
                return 0;
            }
        fprintf(stderr, "unknown section '%s'; sections:", argv[1]);
        for (const struct probe_section *p = s; p->name; p++)
            fprintf(stderr, " %s", p->name);
        fprintf(stderr, "\n");
        return 2;
    }
    for (const struct probe_section *p = s; p->name; p++) {
        section(p->name);
        p->run();
    }
    return 0;
}

#endif

/* proc_spawn: posix_spawn, system() and popen(), as the C libraries build them
 * on Linux's clone/vfork, execve, pipes and wait.
 *
 *   proc_spawn [SECTION]     sections: spawn actions attrs errors system popen
 *
 * The spawned program is this probe again (through $T/self, a symlink to its
 * own file in a scratch directory $T=/tmp/proc_spawn.XXXXXX), told what to
 * report by PROC_SPAWN_MODE. system() and popen() run /bin/sh: natively the
 * host's shell, in elfin whatever the guest has as /bin/sh (busybox in the
 * tests); the commands are shell built-ins only, with the same output in
 * every POSIX shell.
 *
 * spawn     posix_spawn and posix_spawnp (PATH searched, from the caller's
 *           environment), argv/envp passed, exit status, pid returned
 * actions   file actions: addopen (fd 5 on a file), adddup2 (stdout onto a
 *           pipe), addclose, addchdir_np; actions run in order
 * attrs     POSIX_SPAWN_SETPGROUP (own group, and joining one),
 *           POSIX_SPAWN_SETSIGMASK, POSIX_SPAWN_SETSIGDEF (an ignored signal
 *           back to SIG_DFL; without it, it stays ignored), POSIX_SPAWN_SETSID
 * errors    ENOENT, EACCES, ENOEXEC reported by posix_spawn itself; a failing
 *           addopen; posix_spawnp for a missing name
 * system    system(NULL), exit codes, death by a signal, output on the
 *           caller's stdout, a command that is not found (127)
 * popen     popen "r" (read the command's output), "w" (feed its input),
 *           pclose's status, an invalid mode (EINVAL) */
#define _GNU_SOURCE
#include <dirent.h>
#include <spawn.h>
#include "proc_common.h"

extern char **environ;
static char T[64], SELF[128], TENV[128];

static const char *tpath(const char *name)
{
    static char bufs[4][256];
    static int next;
    char *b = bufs[next++ & 3];
    snprintf(b, 256, "%s/%s", T, name);
    return b;
}

static void cleanup(void)
{
    DIR *d = opendir(T);
    if (!d)
        return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", T, e->d_name);
            if (unlink(p) < 0)
                rmdir(p);
        }
    closedir(d);
    rmdir(T);
}

/* -------------------------------------------------- the spawned side -- */

static int spawned(const char *mode, int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(mode, "args") == 0) {
        printf("  spawned: argc %d:", argc);
        for (int i = 0; i < argc; i++)
            printf(" \"%s\"", argv[i]);
        printf("\n");
        const char *v = getenv("SPAWN_VAR");
        printf("  spawned: SPAWN_VAR %s\n", v ? v : "(unset)");
        const char *pp = getenv("PROC_SPAWN_PARENT");
        if (pp)
            printf("  spawned: getppid() is the spawner: %s\n", yesno(getppid() == atoi(pp)));
        return argc > 1 ? atoi(argv[1]) : 0;
    }
    if (strcmp(mode, "fds") == 0) {
        char buf[64] = {0};
        long n = read(5, buf, sizeof buf - 1);
        printf("  spawned: fd 5 reads \"%s\" (%ld bytes)\n", n > 0 ? buf : "", n);
        printf("  spawned: fd 6 closed: %s\n", yesno(fcntl(6, F_GETFD) < 0 && errno == EBADF));
        printf("  spawned: fd 7 (dup2 of 5) open: %s\n", yesno(fcntl(7, F_GETFD) >= 0));
        char cwd[256];
        if (getcwd(cwd, sizeof cwd)) {
            const char *t = getenv("PROC_SPAWN_T");
            printf("  spawned: cwd is $T: %s\n", yesno(t && strcmp(cwd, t) == 0));
        }
        return 0;
    }
    if (strcmp(mode, "attrs") == 0) {
        const char *pg = getenv("PROC_SPAWN_PGID");
        if (pg)
            printf("  spawned: pgid is %s\n", atoi(pg) == getpgrp() ? "the expected group"
                                               : getpgrp() == getpid() ? "its own pid" : "another group");
        else
            printf("  spawned: pgid is %s\n", getpgrp() == getpid() ? "its own pid" : "inherited");
        printf("  spawned: session leader: %s\n", yesno(getsid(0) == getpid()));
        sigset_t m;
        sigprocmask(SIG_BLOCK, NULL, &m);
        printf("  spawned: SIGUSR1 blocked: %s, SIGUSR2 blocked: %s\n", yesno(sigismember(&m, SIGUSR1)),
               yesno(sigismember(&m, SIGUSR2)));
        struct sigaction sa;
        sigaction(SIGINT, NULL, &sa);
        printf("  spawned: SIGINT %s\n", sa.sa_handler == SIG_IGN ? "ignored" : "default");
        sigaction(SIGQUIT, NULL, &sa);
        printf("  spawned: SIGQUIT %s\n", sa.sa_handler == SIG_IGN ? "ignored" : "default");
        return 0;
    }
    if (strcmp(mode, "cat") == 0) {
        /* stdin to stdout, upper-cased. */
        int ch;
        while ((ch = getchar()) != EOF)
            putchar(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
        return 0;
    }
    printf("unknown mode %s\n", mode);
    return 2;
}

/* ------------------------------------------------------ the spawner -- */

/* After posix_spawn*: wait for the child (its output comes first), then
 * print the call's result and the child's status. */
static void spawn_done(const char *call, int e, pid_t pid)
{
    int st = 0;
    if (e == 0)
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
    printf("  %s: %s, pid > 0: %s\n", call, errname(e), yesno(e == 0 && pid > 0));
    if (e == 0)
        printf("  status: %s\n", status_text(st));
}

static void spawn(void)
{
    char parent[32];
    snprintf(parent, sizeof parent, "PROC_SPAWN_PARENT=%d", (int)getpid());
    char *argv[] = {"spawned-name", "4", "two words", NULL};
    char *envp[] = {"PROC_SPAWN_MODE=args", "SPAWN_VAR=hello", parent, NULL};
    pid_t pid = -1;
    printf("posix_spawn $T/self:\n");
    fflush(NULL);
    int e = posix_spawn(&pid, SELF, NULL, NULL, argv, envp);
    spawn_done("posix_spawn", e, pid);

    /* posix_spawnp searches the caller's PATH. */
    char path[160];
    snprintf(path, sizeof path, "/nonexistent:%s", T);
    char *saved = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    setenv("PATH", path, 1);
    char *argvp[] = {"self", "0", NULL};
    char *envp2[] = {"PROC_SPAWN_MODE=args", NULL};
    printf("posix_spawnp \"self\" with $T in PATH:\n");
    fflush(NULL);
    pid = -1;
    e = posix_spawnp(&pid, "self", NULL, NULL, argvp, envp2);
    spawn_done("posix_spawnp", e, pid);
    printf("posix_spawnp \"self\" with the environment inherited:\n");
    setenv("PROC_SPAWN_MODE", "args", 1);
    setenv("SPAWN_VAR", "from environ", 1);
    fflush(NULL);
    e = posix_spawnp(&pid, "self", NULL, NULL, argvp, environ);
    unsetenv("PROC_SPAWN_MODE");
    unsetenv("SPAWN_VAR");
    spawn_done("posix_spawnp", e, pid);
    if (saved) {
        setenv("PATH", saved, 1);
        free(saved);
    }
}

static void actions(void)
{
    int fd = open(tpath("data"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write_full(fd, "file contents", 13);
    close(fd);
    int p[2];
    pipe(p);
    int six = open("/dev/null", O_RDONLY);
    if (six != 6) {
        dup2(six, 6);
        close(six);
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 5, tpath("data"), O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, 5, 7);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    posix_spawn_file_actions_addclose(&fa, p[1]);
    posix_spawn_file_actions_addclose(&fa, 6);
    int chdir_ok = posix_spawn_file_actions_addchdir_np(&fa, T);
    char *argv[] = {"fds", NULL};
    char tenv[160];
    snprintf(tenv, sizeof tenv, "PROC_SPAWN_T=%s", T);
    char *envp[] = {"PROC_SPAWN_MODE=fds", tenv, NULL};
    printf("posix_spawn with file actions (addopen, adddup2, addclose, addchdir_np %s):\n", errname(chdir_ok));
    fflush(NULL);
    pid_t pid;
    int e = posix_spawn(&pid, SELF, &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    char out[1024] = {0};
    long n = read_full(p[0], out, sizeof out - 1);
    close(p[0]);
    spawn_done("posix_spawn", e, pid);
    printf("  read from the pipe (%ld bytes):\n%s", n, out);
    printf("  fd 6 still open here: %s\n", yesno(fcntl(6, F_GETFD) >= 0));
    close(6);
}

static void attrs(void)
{
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR2);
    sigprocmask(SIG_BLOCK, &m, NULL); /* the spawner's own mask */

    struct {
        const char *what;
        short flags;
    } cases[] = {
        {"no attributes", 0},
        {"SETPGROUP 0, SETSIGMASK {SIGUSR1}, SETSIGDEF {SIGINT}", POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                                      POSIX_SPAWN_SETSIGDEF},
        {"SETSID", POSIX_SPAWN_SETSID},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        posix_spawnattr_t at;
        posix_spawnattr_init(&at);
        posix_spawnattr_setflags(&at, cases[i].flags);
        posix_spawnattr_setpgroup(&at, 0);
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGUSR1);
        posix_spawnattr_setsigmask(&at, &mask);
        sigset_t def;
        sigemptyset(&def);
        sigaddset(&def, SIGINT);
        posix_spawnattr_setsigdefault(&at, &def);
        char *argv[] = {"attrs", NULL};
        char *envp[] = {"PROC_SPAWN_MODE=attrs", NULL};
        printf("posix_spawn, %s:\n", cases[i].what);
        fflush(NULL);
        pid_t pid;
        int e = posix_spawn(&pid, SELF, NULL, &at, argv, envp);
        posix_spawnattr_destroy(&at);
        spawn_done("posix_spawn", e, pid);
    }

    /* SETPGROUP with a group: the child joins a group made for it. */
    int gate[2];
    pipe(gate);
    pid_t leader = xfork();
    if (leader == 0) {
        close(gate[1]);
        setpgid(0, 0);
        token_wait(gate[0]);
        _exit(0);
    }
    close(gate[0]);
    setpgid(leader, leader);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&at, leader);
    char pgenv[48];
    snprintf(pgenv, sizeof pgenv, "PROC_SPAWN_PGID=%d", (int)leader);
    char *argv[] = {"attrs", NULL};
    char *envp[] = {"PROC_SPAWN_MODE=attrs", pgenv, NULL};
    printf("posix_spawn, SETPGROUP into an existing group:\n");
    fflush(NULL);
    pid_t pid;
    int e = posix_spawn(&pid, SELF, NULL, &at, argv, envp);
    posix_spawnattr_destroy(&at);
    spawn_done("posix_spawn", e, pid);
    token_send(gate[1]);
    close(gate[1]);
    reap(leader, "group leader");

    sigprocmask(SIG_UNBLOCK, &m, NULL);
    signal(SIGINT, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
}

static void errors(void)
{
    int fd = open(tpath("noexec"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write_full(fd, "#!/bin/sh\n", 10);
    close(fd);
    fd = open(tpath("garbage"), O_WRONLY | O_CREAT | O_TRUNC, 0755);
    write_full(fd, "\x01\x02\x03 not a program\n", 19);
    close(fd);
    char *argv[] = {"x", NULL};
    char *envp[] = {"PROC_SPAWN_MODE=args", NULL};
    struct {
        const char *what, *name;
    } cases[] = {
        {"missing file", "missing"},
        {"no x bit", "noexec"},
        {"a directory", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        pid_t pid = 0;
        fflush(NULL);
        int e = posix_spawn(&pid, tpath(cases[i].name), NULL, NULL, argv, envp);
        printf("%s:\n", cases[i].what);
        spawn_done("posix_spawn", e, pid);
    }
    /* ENOEXEC: glibc's posix_spawn reports it; musl's too (it does not fall
     * back to /bin/sh, unlike posix_spawnp on glibc). */
    pid_t pid = 0;
    fflush(NULL);
    int e = posix_spawn(&pid, tpath("garbage"), NULL, NULL, argv, envp);
    printf("garbage content:\n");
    spawn_done("posix_spawn", e, pid);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 5, tpath("missing/file"), O_RDONLY, 0);
    fflush(NULL);
    e = posix_spawn(&pid, SELF, &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    printf("addopen of a missing file:\n");
    spawn_done("posix_spawn", e, pid);

    char *saved = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    setenv("PATH", T, 1);
    fflush(NULL);
    e = posix_spawnp(&pid, "no-such-program", NULL, NULL, argv, envp);
    printf("a name not in PATH:\n");
    spawn_done("posix_spawnp", e, pid);
    if (saved) {
        setenv("PATH", saved, 1);
        free(saved);
    }
}

static void system_section(void)
{
    fflush(NULL);
    printf("system(NULL) says a shell exists: %s\n", yesno(system(NULL) != 0));
    const char *cmds[] = {
        "exit 0",
        "exit 3",
        "echo from the shell; echo second line",
        "x=6; y=7; echo \"product $((x * y))\"; exit $((x + y))",
        "kill -TERM $$",
        "no-such-command-anywhere 2>/dev/null",
        "printf '%s|' a 'b c'; echo",
        "exec 1>&-; exit 5",
    };
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        printf("system(\"%s\"):\n", cmds[i]);
        fflush(NULL);
        int st = system(cmds[i]);
        printf("  returned %s\n", status_text(st));
    }
    /* The child of system() gets our stdout; SIGCHLD stays ours. */
    printf("after system(): SIGCHLD default: %s\n", yesno(signal(SIGCHLD, SIG_DFL) == SIG_DFL));
}

static void popen_section(void)
{
    fflush(NULL);
    FILE *f = popen("echo one; echo two; exit 4", "r");
    char line[128];
    int n = 0;
    while (f && fgets(line, sizeof line, f))
        printf("popen r line %d: %s", ++n, line);
    int st = f ? pclose(f) : -1;
    printf("pclose: %s\n", status_text(st));

    /* popen "w": the command reads what we write; its output is our stdout. */
    fflush(NULL);
    f = popen("read a; read b; echo \"got: $b / $a\"", "w");
    if (f) {
        fputs("first\nsecond\n", f);
        st = pclose(f);
        printf("pclose (w): %s\n", status_text(st));
    }

    /* The program itself as the command, through the environment. */
    setenv("PROC_SPAWN_SELF", SELF, 1);
    setenv("PROC_SPAWN_MODE", "cat", 1);
    fflush(NULL);
    f = popen("exec \"$PROC_SPAWN_SELF\"", "w");
    unsetenv("PROC_SPAWN_MODE");
    if (f) {
        for (int i = 0; i < 20; i++)
            fprintf(f, "line %d through a popen'd program\n", i);
        st = pclose(f);
        printf("pclose (w, the probe upper-casing): %s\n", status_text(st));
    }

    errno = 0;
    f = popen("echo x", "x");
    printf("popen with mode \"x\": %s\n", f ? "opened" : errname(errno));
    if (f)
        pclose(f);

    /* Two popen streams at once: the second command must not hold the
     * first's pipe (it would never see EOF otherwise). */
    fflush(NULL);
    FILE *a = popen("read x; echo \"a got $x\"", "w");
    FILE *b = popen("echo b says hi", "r");
    if (a && b) {
        fgets(line, sizeof line, b);
        fputs("ping\n", a);
        st = pclose(a);
        printf("first stream closed: %s\n", status_text(st));
        printf("second stream read: %s", line);
        st = pclose(b);
        printf("second stream closed: %s\n", status_text(st));
    }
}

int main(int argc, char **argv)
{
    const char *mode = getenv("PROC_SPAWN_MODE");
    if (mode)
        return spawned(mode, argc, argv);
    probe_init();
    strcpy(T, "/tmp/proc_spawn.XXXXXX");
    if (!mkdtemp(T)) {
        printf("mkdtemp: %s\n", errname(errno));
        return 1;
    }
    snprintf(SELF, sizeof SELF, "%s/self", T);
    snprintf(TENV, sizeof TENV, "PROC_SPAWN_T=%s", T);
    if (symlink(self_exe(), SELF) < 0) {
        printf("symlink: %s\n", errname(errno));
        return 1;
    }
    static const struct probe_section sections[] = {
        {"spawn", spawn},   {"actions", actions},       {"attrs", attrs},
        {"errors", errors}, {"system", system_section}, {"popen", popen_section},
        {NULL, NULL},
    };
    int r = run_sections(argc, argv, sections);
    cleanup();
    if (r == 0)
        printf("== done\n");
    return r;
}

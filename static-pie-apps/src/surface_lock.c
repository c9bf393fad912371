/* surface_lock: advisory locks: flock, POSIX record locks, OFD locks.
 *
 *   surface_lock [SECTION]   sections: flock posix deadlock ofd errors
 *
 * flock     two opens of one file conflict; shared locks share; dup'ed and
 *           inherited descriptors share the lock; conversion; a blocked
 *           flock waits for the holder; LOCK_MAND is ignored
 * posix     another process sees the lock (F_GETLK with its pid, F_SETLK
 *           EAGAIN), read locks share, F_SETLKW waits, ranges split and merge,
 *           any close by the holder releases, SEEK_CUR/SEEK_END/negative l_len
 * deadlock  F_SETLKW that would wait on a process waiting on the caller:
 *           EDEADLK
 * ofd       F_OFD_* locks belong to the open file description: two opens in
 *           one process conflict, F_OFD_GETLK reports pid -1, closing the
 *           description releases, OFD and POSIX locks conflict
 * errors    bad types, whence, pointers, modes, l_pid for OFD, EOVERFLOW */
#include "surface_common.h"
#include <sys/file.h>

#define MS 1000000ull

static char dir[64], file[96];

static int open_file(int flags) { return open(file, flags | O_CREAT, 0644); }

static int setlk(int fd, int cmd, short type, off_t start, off_t len)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &fl);
}

/* F_GETLK over [start, start+len): "unlocked" or "TYPE at start+len by X". */
static const char *getlk(int fd, int cmd, short type, off_t start, off_t len, pid_t holder)
{
    static char buf[128];
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    if (fcntl(fd, cmd, &fl) < 0) {
        snprintf(buf, sizeof buf, "%s", errname(errno));
        return buf;
    }
    if (fl.l_type == F_UNLCK) {
        snprintf(buf, sizeof buf, "unlocked");
        return buf;
    }
    const char *who = fl.l_pid == holder ? "the holder" : fl.l_pid == -1 ? "pid -1" : "another pid";
    snprintf(buf, sizeof buf, "%s at %ld+%ld by %s", fl.l_type == F_WRLCK ? "F_WRLCK" : "F_RDLCK", (long)fl.l_start,
             (long)fl.l_len, who);
    return buf;
}

/* A child process that runs f(arg) and exits with its result. */
static pid_t child(int (*f)(int), int arg)
{
    pid_t c = xfork();
    if (c == 0) {
        fflush(NULL);
        _exit(f(arg));
    }
    return c;
}

static void wait_child(pid_t c, const char *what)
{
    int st;
    waitpid(c, &st, 0);
    printf("%s: %s\n", what, WIFEXITED(st) ? (WEXITSTATUS(st) == 0 ? "yes" : "no") : "died");
}

/* ------------------------------------------------------------------ flock -- */

/* Written by the child once it holds the lock. */
static int held_pipe[2];

static int hold_then_release(int ms)
{
    int fd = open_file(O_RDWR);
    flock(fd, LOCK_EX);
    if (write(held_pipe[1], "h", 1) != 1)
        return 1;
    sleep_ns((uint64_t)ms * MS);
    flock(fd, LOCK_UN);
    return 0;
}

static void flock_section(void)
{
    int a = open_file(O_RDWR), b = open_file(O_RDWR);
    T("flock a LOCK_EX", flock(a, LOCK_EX));
    T("flock b LOCK_EX|LOCK_NB (another open)", flock(b, LOCK_EX | LOCK_NB));
    T("flock b LOCK_SH|LOCK_NB", flock(b, LOCK_SH | LOCK_NB));
    T("flock a LOCK_EX again (no change)", flock(a, LOCK_EX));
    int d = dup(a);
    T("flock on a dup of a (the same description)", flock(d, LOCK_EX | LOCK_NB));
    close(d);
    T("b still conflicts after closing the dup", flock(b, LOCK_EX | LOCK_NB));
    T("flock a LOCK_SH (conversion)", flock(a, LOCK_SH));
    T("flock b LOCK_SH|LOCK_NB now", flock(b, LOCK_SH | LOCK_NB));
    T("flock b LOCK_EX|LOCK_NB while a shares", flock(b, LOCK_EX | LOCK_NB));
    T("flock a LOCK_UN", flock(a, LOCK_UN));
    T("flock b LOCK_EX|LOCK_NB (b held shared: conversion)", flock(b, LOCK_EX | LOCK_NB));
    T("flock a LOCK_SH|LOCK_NB", flock(a, LOCK_SH | LOCK_NB));
    close(b);
    T("closing b released it: a LOCK_EX|LOCK_NB", flock(a, LOCK_EX | LOCK_NB));
    pid_t c = xfork();
    if (c == 0) {
        /* The inherited descriptor is the same description: the lock is ours too. */
        int r = flock(a, LOCK_EX | LOCK_NB);
        int other = open_file(O_RDWR);
        int r2 = flock(other, LOCK_EX | LOCK_NB);
        _exit(r == 0 && r2 < 0 && errno == EAGAIN ? 0 : 1);
    }
    wait_child(c, "a child shares the lock through the inherited descriptor, a new open conflicts");
    flock(a, LOCK_UN);
    close(a);
    if (pipe(held_pipe) < 0)
        printf("pipe: %s\n", errname(errno));
    c = child(hold_then_release, 150);
    /* Once the child holds the lock (however long a loaded machine takes). */
    char h;
    if (read(held_pipe[0], &h, 1) != 1)
        printf("the child did not take the lock\n");
    b = open_file(O_RDWR);
    T("flock LOCK_EX|LOCK_NB while a child holds it", flock(b, LOCK_EX | LOCK_NB));
    T("flock LOCK_EX waits for the child to release", flock(b, LOCK_EX));
    wait_child(c, "the child released it");
    T("flock LOCK_MAND (ignored)", flock(b, 32 | LOCK_EX));
    close(b);
}

/* ------------------------------------------------------------------ posix -- */

static volatile pid_t parent_pid;

static int child_checks(int unused)
{
    (void)unused;
    int fd = open_file(O_RDWR);
    int fails = 0;
    /* The parent holds F_WRLCK on [0,100) minus [40,60), and F_RDLCK on [200,300). */
    const char *s = getlk(fd, F_GETLK, F_WRLCK, 10, 5, parent_pid);
    fails |= strcmp(s, "F_WRLCK at 0+40 by the holder") != 0;
    s = getlk(fd, F_GETLK, F_WRLCK, 45, 5, parent_pid);
    fails |= (strcmp(s, "unlocked") != 0) << 1;
    s = getlk(fd, F_GETLK, F_WRLCK, 55, 10, parent_pid);
    fails |= (strcmp(s, "F_WRLCK at 60+40 by the holder") != 0) << 2;
    fails |= (setlk(fd, F_SETLK, F_WRLCK, 90, 20) == 0 || errno != EAGAIN) << 3;
    fails |= (setlk(fd, F_SETLK, F_RDLCK, 250, 10) != 0) << 4;
    fails |= (setlk(fd, F_SETLK, F_WRLCK, 40, 20) != 0) << 5;
    s = getlk(fd, F_GETLK, F_RDLCK, 1000, 0, parent_pid);
    fails |= (strcmp(s, "unlocked") != 0) << 6;
    return fails;
}

static int waits_for_parent(int unused)
{
    (void)unused;
    int fd = open_file(O_RDWR);
    /* Blocks until the parent releases byte 0. */
    return setlk(fd, F_SETLKW, F_WRLCK, 0, 1) == 0 ? 0 : 1;
}

static void posix(void)
{
    parent_pid = getpid();
    int fd = open_file(O_RDWR);
    ftruncate(fd, 400);
    T("F_SETLK F_WRLCK [0,100)", setlk(fd, F_SETLK, F_WRLCK, 0, 100));
    T("F_SETLK F_UNLCK [40,60) (a split)", setlk(fd, F_SETLK, F_UNLCK, 40, 20));
    T("F_SETLK F_RDLCK [200,300)", setlk(fd, F_SETLK, F_RDLCK, 200, 100));
    printf("own F_GETLK sees no conflict with itself: %s\n", getlk(fd, F_GETLK, F_WRLCK, 0, 0, getpid()));
    pid_t c = child(child_checks, 0);
    int st;
    waitpid(c, &st, 0);
    printf("another process: F_GETLK sees each piece with this pid, F_SETLK EAGAIN on it, the gaps free, read "
           "locks shared: %s (%d)\n",
           yesno(WIFEXITED(st) && WEXITSTATUS(st) == 0), WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    /* Merge: locking the gap again makes one lock. */
    T("F_SETLK F_WRLCK [40,60)", setlk(fd, F_SETLK, F_WRLCK, 40, 20));
    c = xfork();
    if (c == 0) {
        int f2 = open_file(O_RDWR);
        const char *s = getlk(f2, F_GETLK, F_WRLCK, 0, 0, parent_pid);
        _exit(strcmp(s, "F_WRLCK at 0+100 by the holder") == 0 ? 0 : 1);
    }
    wait_child(c, "merged into one lock [0,100)");
    /* F_SETLKW waits; any close of the file by the holder releases. */
    c = child(waits_for_parent, 0);
    sleep_ns(100 * MS);
    int other = open(file, O_RDONLY);
    close(other);
    wait_child(c, "closing another descriptor of the file released the locks; the waiter got it");
    T("F_SETLK F_WRLCK [0,1) after the child exited (its locks went)", setlk(fd, F_SETLK, F_WRLCK, 0, 1));
    /* SEEK_CUR, SEEK_END, negative lengths. */
    lseek(fd, 50, SEEK_SET);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_CUR, .l_start = 10, .l_len = -5};
    T("F_SETLK SEEK_CUR +10, length -5 ([55,60))", fcntl(fd, F_SETLK, &fl));
    fl = (struct flock){.l_type = F_RDLCK, .l_whence = SEEK_END, .l_start = -10, .l_len = 0};
    T("F_SETLK SEEK_END -10 to the end", fcntl(fd, F_SETLK, &fl));
    c = xfork();
    if (c == 0) {
        int f2 = open_file(O_RDWR);
        int ok = strcmp(getlk(f2, F_GETLK, F_WRLCK, 55, 5, parent_pid), "F_WRLCK at 55+5 by the holder") == 0 &&
                 strcmp(getlk(f2, F_GETLK, F_WRLCK, 395, 1, parent_pid), "F_RDLCK at 390+0 by the holder") == 0;
        _exit(ok ? 0 : 1);
    }
    wait_child(c, "the child sees [55,60) and [390,end)");
    close(fd);
}

/* --------------------------------------------------------------- deadlock -- */

static int deadlock_child(int go_fd)
{
    int fd = open_file(O_RDWR);
    setlk(fd, F_SETLK, F_WRLCK, 1, 1);
    char c = 'x';
    write(go_fd, &c, 1);
    /* Waits for byte 0, which the parent holds. */
    int r = setlk(fd, F_SETLKW, F_WRLCK, 0, 1);
    return r == 0 ? 0 : 1;
}

static void deadlock(void)
{
    int fd = open_file(O_RDWR);
    T("parent locks byte 0", setlk(fd, F_SETLK, F_WRLCK, 0, 1));
    int p[2];
    pipe(p);
    pid_t c = child(deadlock_child, p[1]);
    char x;
    read(p[0], &x, 1);
    sleep_ns(100 * MS);
    T("parent waits for byte 1, held by the child that waits for byte 0", setlk(fd, F_SETLKW, F_WRLCK, 1, 1));
    T("parent releases byte 0", setlk(fd, F_SETLK, F_UNLCK, 0, 1));
    wait_child(c, "the child then got byte 0");
    close(p[0]);
    close(p[1]);
    close(fd);
}

/* -------------------------------------------------------------------- ofd -- */

static void ofd(void)
{
    int a = open_file(O_RDWR), b = open_file(O_RDWR);
    T("F_OFD_SETLK F_WRLCK on a", setlk(a, F_OFD_SETLK, F_WRLCK, 0, 10));
    T("F_OFD_SETLK F_WRLCK on b (same process, another open)", setlk(b, F_OFD_SETLK, F_WRLCK, 5, 10));
    printf("F_OFD_GETLK through b: %s\n", getlk(b, F_OFD_GETLK, F_WRLCK, 0, 0, -2));
    T("F_SETLK (POSIX) on b over it", setlk(b, F_SETLK, F_WRLCK, 0, 1));
    printf("F_GETLK (POSIX) through b: %s\n", getlk(b, F_GETLK, F_WRLCK, 0, 0, -2));
    T("F_SETLK (POSIX) on b elsewhere", setlk(b, F_SETLK, F_WRLCK, 20, 5));
    T("F_OFD_SETLK on a over the POSIX lock", setlk(a, F_OFD_SETLK, F_WRLCK, 20, 1));
    T("POSIX locks of one process do not conflict: F_SETLK on a", setlk(a, F_SETLK, F_WRLCK, 22, 1));
    pid_t c = xfork();
    if (c == 0) {
        /* The inherited a is the same description: its OFD lock is ours. */
        int r = setlk(a, F_OFD_SETLK, F_WRLCK, 0, 10);
        _exit(r == 0 ? 0 : 1);
    }
    wait_child(c, "a child shares the OFD lock through the inherited descriptor");
    close(a);
    T("closing a released its OFD lock: F_OFD_SETLK on b", setlk(b, F_OFD_SETLK, F_WRLCK, 0, 10));
    T("F_OFD_SETLKW on b (its own)", setlk(b, F_OFD_SETLKW, F_WRLCK, 0, 10));
    T("F_OFD_SETLK F_UNLCK on b", setlk(b, F_OFD_SETLK, F_UNLCK, 0, 0));
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1, .l_pid = 1};
    T("F_OFD_SETLK with l_pid 1", fcntl(b, F_OFD_SETLK, &fl));
    T("F_OFD_GETLK with l_pid 1", fcntl(b, F_OFD_GETLK, &fl));
    close(b);
}

/* ----------------------------------------------------------------- errors -- */

static void errors(void)
{
    int rw = open_file(O_RDWR), ro = open(file, O_RDONLY), wo = open(file, O_WRONLY);
    T("flock bad operation", flock(rw, 16));
    T("flock bad operation on a bad fd", flock(999, 16));
    T("flock 99 (has the LOCK_MAND bit: ignored)", flock(rw, 99));
    T("flock LOCK_SH|LOCK_EX", flock(rw, LOCK_SH | LOCK_EX));
    T("flock bad fd", flock(999, LOCK_SH));
    int opath = open(file, O_PATH);
    T("flock on O_PATH", flock(opath, LOCK_SH));
    T("flock LOCK_UN on O_PATH", flock(opath, LOCK_UN));
    T("F_SETLK on O_PATH", setlk(opath, F_SETLK, F_RDLCK, 0, 1));
    close(opath);
    T("F_SETLK bad type", setlk(rw, F_SETLK, 7, 0, 1));
    T("F_GETLK F_UNLCK", setlk(rw, F_GETLK, F_UNLCK, 0, 1));
    T("F_SETLK F_RDLCK on a write-only fd", setlk(wo, F_SETLK, F_RDLCK, 0, 1));
    T("F_SETLK F_WRLCK on a read-only fd", setlk(ro, F_SETLK, F_WRLCK, 0, 1));
    T("F_SETLK F_UNLCK on a read-only fd", setlk(ro, F_SETLK, F_UNLCK, 0, 1));
    struct flock fl = {.l_type = F_RDLCK, .l_whence = 7, .l_start = 0, .l_len = 1};
    T("F_SETLK bad whence", fcntl(rw, F_SETLK, &fl));
    T("F_SETLK bad pointer", fcntl(rw, F_SETLK, KPTR));
    T("F_GETLK bad pointer", fcntl(rw, F_GETLK, KPTR));
    T("F_SETLK start -1", setlk(rw, F_SETLK, F_RDLCK, -1, 1));
    T("F_SETLK length reaching below 0", setlk(rw, F_SETLK, F_RDLCK, 5, -10));
    T("F_SETLK past the largest offset", setlk(rw, F_SETLK, F_RDLCK, 0x7fffffffffffffffL, 2));
    T("F_SETLK on a pipe", ({
          int p[2];
          pipe(p);
          long r_ = setlk(p[0], F_SETLK, F_RDLCK, 0, 1);
          int e_ = errno;
          close(p[0]);
          close(p[1]);
          errno = e_;
          r_;
      }));
    close(rw);
    close(ro);
    close(wo);
}

int main(int argc, char **argv)
{
    probe_init();
    strcpy(dir, "/tmp/surface-lock.XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    snprintf(file, sizeof file, "%s/f", dir);
    static const struct probe_section sections[] = {
        {"flock", flock_section}, {"posix", posix}, {"deadlock", deadlock}, {"ofd", ofd}, {"errors", errors}, {NULL, NULL},
    };
    int r = run_sections(argc, argv, sections);
    unlink(file);
    rmdir(dir);
    if (r == 0)
        printf("== done\n");
    return r;
}

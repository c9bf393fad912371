/* surface_fs: file-system nodes and their attributes.
 *
 *   surface_fs [SECTION]   sections: fifo mknod xattr times statx tmpfile
 *                                    inotify link openat2 chmod2 chroot search
 *                                    pseudo listing
 *
 * fifo      mkfifo: a reader waits for a writer and the other way round, data
 *           through the FIFO between processes, O_NONBLOCK (ENXIO for a
 *           writer without reader), O_RDWR, the buffer gone with the last end
 * mknod     mknod of regular files, FIFOs, sockets and devices (a device elfin
 *           or Linux has works, others are ENXIO), EPERM without CAP_MKNOD,
 *           EPERM for directories, EINVAL for a bad type, EEXIST
 * xattr     user.* and trusted.* attributes: create/replace flags, sizes,
 *           listing, removal, symlinks, descriptors, ERANGE/ENODATA/E2BIG,
 *           EOPNOTSUPP without a namespace, EPERM/EACCES without rights
 * times     utimensat (UTIME_NOW, UTIME_OMIT, nanoseconds), futimens, utimes,
 *           futimesat, utime; ctime follows; EPERM for another owner
 * statx     every field statx fills against stat, the flags and mask checks,
 *           the mount-root attribute, NULL path with AT_EMPTY_PATH
 * tmpfile   O_TMPFILE: an unnamed file, linked later with linkat
 *           AT_EMPTY_PATH or by /proc/self/fd, or not (O_EXCL); the errors;
 *           fallocate's mode checks
 * inotify   events on a directory and on a file, IN_ONESHOT, IN_MASK_ADD,
 *           IN_MASK_CREATE, rm_watch, FIONREAD, the errors
 * link      link/linkat counts and errors, unlinked files stay readable
 * openat2   struct open_how sizes and checks, and each RESOLVE_* flag:
 *           BENEATH and IN_ROOT with .., absolute paths and symlinks,
 *           NO_SYMLINKS, NO_MAGICLINKS (/proc/self/fd), NO_XDEV, CACHED
 * pseudo    /proc and /sys refuse new names, removals and renames with
 *           Linux's errors; root may open read-only /proc files for writing
 *           (writes fail), not sysfs attributes; naming a thread through
 *           /proc/PID/task/TID/comm (pthread_setname_np of another thread)
 * listing   getdents64 on /etc, /dev and /sys/devices/system/cpu before
 *           anything looked inside them (no stat first, as musl's opendir):
 *           the entries every Linux has are listed, with their types */
#include "surface_common.h"
#include <dirent.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <utime.h>
#ifndef FALLOC_FL_ZERO_RANGE
#define FALLOC_FL_ZERO_RANGE 0x10
#endif

#define MS 1000000ull

/* fallocate modes (linux/falloc.h, which musl's headers lack). */
#ifndef FALLOC_FL_COLLAPSE_RANGE
#define FALLOC_FL_COLLAPSE_RANGE 0x08
#endif
#ifndef FALLOC_FL_ZERO_RANGE
#define FALLOC_FL_ZERO_RANGE 0x10
#endif
#ifndef FALLOC_FL_INSERT_RANGE
#define FALLOC_FL_INSERT_RANGE 0x20
#endif

/* linux/fs.h's ioctls (the header clashes with the C libraries' sys/mount.h). */
#define K_FS_IOC_GETFLAGS 0x80086601UL
#define K_FS_IOC_SETFLAGS 0x40086602UL
#define K_FIGETBSZ 2
#define K_FICLONE 0x40049409UL

static char dir[64];

static const char *path(const char *name)
{
    static char buf[8][160];
    static int i;
    i = (i + 1) % 8;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
    return buf[i];
}

static void clean(void)
{
    static const char *names[] = {"f", "g", "h", "fifo", "dev", "sock", "ln", "sub/x", "sub", "moved", "new", NULL};
    for (int i = 0; names[i]; i++) {
        unlink(path(names[i]));
        rmdir(path(names[i]));
    }
}

static void touch(const char *name, const char *content)
{
    int fd = open(path(name), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (content)
        write(fd, content, strlen(content));
    close(fd);
}

/* ------------------------------------------------------------------- fifo -- */

/* Polls the end of a pipe that stays open after the other one closed: the write
 * end when `keep` is 1, the read end when 0. */
static void poll_half_closed(int keep)
{
    int p[2];
    if (pipe(p) != 0)
        return;
    close(p[1 - keep]);
    struct pollfd q = {p[keep], keep ? POLLOUT : POLLIN, 0};
    poll(&q, 1, 0);
    if (keep)
        printf("write end, reader gone: POLLOUT %s, POLLERR %s\n", yesno(q.revents & POLLOUT), yesno(q.revents & POLLERR));
    else
        printf("read end, writer gone: POLLIN %s, POLLHUP %s\n", yesno(q.revents & POLLIN), yesno(q.revents & POLLHUP));
    close(p[keep]);
}

/* poll of a FIFO's read end: POLLIN and POLLHUP. */
static void poll_fifo_reader(int fd, const char *when)
{
    struct pollfd q = {fd, POLLIN, 0};
    poll(&q, 1, 0);
    printf("poll of the read end, %s: POLLIN %s, POLLHUP %s\n", when, yesno(q.revents & POLLIN), yesno(q.revents & POLLHUP));
}

static void fifo(void)
{
    T("mkfifo", mkfifo(path("fifo"), 0644));
    struct stat st;
    stat(path("fifo"), &st);
    printf("S_ISFIFO: %s, mode 0644: %s\n", yesno(S_ISFIFO(st.st_mode)), yesno((st.st_mode & 0777) == 0644));
    T("mkfifo again", mkfifo(path("fifo"), 0644));
    T("open O_WRONLY|O_NONBLOCK without a reader", open(path("fifo"), O_WRONLY | O_NONBLOCK));
    int r = open(path("fifo"), O_RDONLY | O_NONBLOCK);
    printf("open O_RDONLY|O_NONBLOCK without a writer: %s\n", res(r));
    char buf[64];
    V("read with no writer ever: end of file", read(r, buf, sizeof buf));
    poll_fifo_reader(r, "no writer yet");
    int w = open(path("fifo"), O_WRONLY | O_NONBLOCK);
    printf("open O_WRONLY|O_NONBLOCK with a reader: %s\n", res(w));
    V("write", write(w, "through", 7));
    V("read", read(r, buf, sizeof buf));
    T("read empty with a writer", read(r, buf, sizeof buf));
    struct stat a, b;
    fstat(r, &a);
    stat(path("fifo"), &b);
    printf("fstat of the open FIFO is the node: %s\n", yesno(a.st_ino == b.st_ino && S_ISFIFO(a.st_mode)));
    printf("F_GETPIPE_SZ: %s\n", res(fcntl(r, F_GETPIPE_SZ)));
    write(w, "lost", 4);
    close(w);
    poll_fifo_reader(r, "its writer came and went");
    close(r);
    int rw = open(path("fifo"), O_RDWR | O_NONBLOCK);
    T("read after every end closed: the data went with them", read(rw, buf, sizeof buf));
    V("O_RDWR: write", write(rw, "self", 4));
    V("O_RDWR: read back", read(rw, buf, sizeof buf));
    close(rw);
    r = open(path("fifo"), O_RDONLY | O_NONBLOCK);
    w = open(path("fifo"), O_WRONLY | O_NONBLOCK);
    int r2 = open(path("fifo"), O_RDONLY | O_NONBLOCK);
    poll_fifo_reader(r2, "opened O_NONBLOCK beside a writer");
    close(w);
    poll_fifo_reader(r2, "opened O_NONBLOCK beside a writer, writer gone");
    close(r2);
    close(r);

    /* Blocking opens meet: the child opens for writing, the parent for reading. */
    pid_t c = xfork();
    if (c == 0) {
        sleep_ns(50 * MS);
        int fd = open(path("fifo"), O_WRONLY);
        write(fd, "from the child", 14);
        close(fd);
        _exit(0);
    }
    r = open(path("fifo"), O_RDONLY);
    printf("blocking open for reading returned once a writer came: %s\n", res(r));
    memset(buf, 0, sizeof buf);
    long n = read_full(r, buf, 14);
    printf("read %ld: \"%s\"\n", n, buf);
    V("then end of file", read(r, buf, sizeof buf));
    poll_fifo_reader(r, "opened blocking, writer gone");
    close(r);
    reap(c, "writer");
    c = xfork();
    if (c == 0) {
        sleep_ns(50 * MS);
        int fd = open(path("fifo"), O_RDONLY);
        memset(buf, 0, sizeof buf);
        read_full(fd, buf, 5);
        _exit(strcmp(buf, "hello") == 0 ? 0 : 1);
    }
    w = open(path("fifo"), O_WRONLY);
    printf("blocking open for writing returned once a reader came: %s\n", res(w));
    write(w, "hello", 5);
    close(w);
    reap(c, "reader got hello");
    T("unlink", unlink(path("fifo")));

    /* poll of a pipe's ends once the other end is gone (Linux's pipe_poll). */
    poll_half_closed(0);
    poll_half_closed(1);
}

/* ------------------------------------------------------------------ mknod -- */

static void mknod_unprivileged(void)
{
    T("mknod char device as nobody", mknod(path("dev2"), S_IFCHR | 0600, makedev(1, 3)));
    T("mknod FIFO as nobody", mknod(path("fifo2"), S_IFIFO | 0600, 0));
    unlink(path("fifo2"));
}

static void mknod_section(void)
{
    T("mknod regular (type 0)", mknod(path("f"), 0644, 0));
    struct stat st;
    stat(path("f"), &st);
    printf("regular: %s, size 0: %s\n", yesno(S_ISREG(st.st_mode)), yesno(st.st_size == 0));
    T("mknod S_IFREG", mknod(path("g"), S_IFREG | 0600, 0));
    T("mknod existing", mknod(path("f"), S_IFREG | 0600, 0));
    T("mknod S_IFIFO", mknod(path("fifo"), S_IFIFO | 0600, 0));
    T("mknod S_IFSOCK", mknod(path("sock"), S_IFSOCK | 0600, 0));
    stat(path("sock"), &st);
    printf("S_ISSOCK: %s\n", yesno(S_ISSOCK(st.st_mode)));
    T("open the socket node", open(path("sock"), O_RDWR));
    T("mknod /dev/null's device", mknod(path("dev"), S_IFCHR | 0666, makedev(1, 3)));
    stat(path("dev"), &st);
    printf("S_ISCHR: %s, major 1: %s, minor 3: %s\n", yesno(S_ISCHR(st.st_mode)), yesno(major(st.st_rdev) == 1),
           yesno(minor(st.st_rdev) == 3));
    int fd = open(path("dev"), O_RDWR);
    printf("open it: %s\n", res(fd));
    char buf[8];
    V("write to it", write(fd, "gone", 4));
    V("read from it", read(fd, buf, sizeof buf));
    close(fd);
    unlink(path("dev"));
    T("mknod /dev/zero's device", mknod(path("dev"), S_IFCHR | 0666, makedev(1, 5)));
    fd = open(path("dev"), O_RDONLY);
    memset(buf, 1, sizeof buf);
    V("read zeros", read(fd, buf, sizeof buf));
    printf("all zero: %s\n", yesno(buf[0] == 0 && buf[7] == 0));
    close(fd);
    unlink(path("dev"));
    T("mknod a device nobody has (char 4000:4001)", mknod(path("dev"), S_IFCHR | 0600, makedev(4000, 4001)));
    T("open it", open(path("dev"), O_RDONLY));
    unlink(path("dev"));
    T("mknod a block device nobody has (4000:4002)", mknod(path("dev"), S_IFBLK | 0600, makedev(4000, 4002)));
    stat(path("dev"), &st);
    printf("S_ISBLK: %s\n", yesno(S_ISBLK(st.st_mode)));
    T("open it", open(path("dev"), O_RDONLY));
    unlink(path("dev"));
    T("mknod S_IFDIR", mknod(path("h"), S_IFDIR | 0700, 0));
    T("mknod bad type", mknod(path("h"), 0170000 | 0600, 0));
    T("mknodat bad dirfd", mknodat(999, "x", S_IFIFO | 0600, 0));
    T("mknod in a missing directory", mknod(path("none/x"), S_IFIFO | 0600, 0));
    chmod(dir, 0777);
    as_nobody(mknod_unprivileged);
    chmod(dir, 0700);
    unlink(path("dev2"));
    clean();
}

/* ------------------------------------------------------------------ xattr -- */

static void print_list(const char *what, const char *p, int follow)
{
    char list[512];
    long n = follow ? listxattr(p, list, sizeof list) : llistxattr(p, list, sizeof list);
    if (n < 0) {
        printf("%s: %s\n", what, errname(errno));
        return;
    }
    /* Sorted, so that the order a file system keeps does not matter. */
    const char *names[32];
    int k = 0;
    for (long i = 0; i < n && k < 32; i += (long)strlen(list + i) + 1)
        names[k++] = list + i;
    for (int i = 0; i < k; i++)
        for (int j = i + 1; j < k; j++)
            if (strcmp(names[j], names[i]) < 0) {
                const char *t = names[i];
                names[i] = names[j];
                names[j] = t;
            }
    printf("%s:", what);
    for (int i = 0; i < k; i++)
        printf(" %s", names[i]);
    printf("\n");
}

static void xattr_unprivileged(void)
{
    T("setxattr user.* on root's 0644 file as nobody", setxattr(path("f"), "user.x", "1", 1, 0));
    char v[8];
    T("getxattr user.* of it as nobody", getxattr(path("f"), "user.a", v, sizeof v));
    T("setxattr trusted.* as nobody", setxattr(path("mine"), "trusted.t", "1", 1, 0));
    T("setxattr user.* on my own file", setxattr(path("mine"), "user.mine", "1", 1, 0));
    unlink(path("mine"));
}

static void xattr(void)
{
    touch("f", "x");
    const char *f = path("f");
    T("setxattr user.a", setxattr(f, "user.a", "alpha", 5, 0));
    T("setxattr user.b empty value", setxattr(f, "user.b", "", 0, 0));
    T("setxattr user.a XATTR_CREATE", setxattr(f, "user.a", "x", 1, XATTR_CREATE));
    T("setxattr user.c XATTR_REPLACE", setxattr(f, "user.c", "x", 1, XATTR_REPLACE));
    T("setxattr user.a XATTR_REPLACE", setxattr(f, "user.a", "alpha2", 6, XATTR_REPLACE));
    T("setxattr flags 4", setxattr(f, "user.a", "x", 1, 4));
    char v[64];
    V("getxattr size 0 (the length)", getxattr(f, "user.a", NULL, 0));
    memset(v, 0, sizeof v);
    V("getxattr", getxattr(f, "user.a", v, sizeof v));
    printf("value \"%s\"\n", v);
    V("getxattr empty value", getxattr(f, "user.b", v, sizeof v));
    T("getxattr buffer too small", getxattr(f, "user.a", v, 2));
    T("getxattr missing", getxattr(f, "user.none", v, sizeof v));
    T("getxattr without a namespace", getxattr(f, "plain", v, sizeof v));
    T("setxattr without a namespace", setxattr(f, "plain", "x", 1, 0));
    T("setxattr unknown namespace", setxattr(f, "other.x", "x", 1, 0));
    T("setxattr empty name", setxattr(f, "", "x", 1, 0));
    char longname[300];
    memset(longname, 'n', sizeof longname);
    memcpy(longname, "user.", 5);
    longname[299] = 0;
    T("setxattr name of 299 bytes", setxattr(f, longname, "x", 1, 0));
    static char big[70000];
    T("setxattr value of 70000 bytes", setxattr(f, "user.big", big, sizeof big, 0));
    T("setxattr bad value pointer", setxattr(f, "user.x", KPTR, 4, 0));
    T("setxattr bad name pointer", setxattr(f, KPTR, "x", 1, 0));
    T("setxattr trusted.t", setxattr(f, "trusted.t", "t", 1, 0));
    print_list("names", f, 1);
    V("listxattr size 0", listxattr(f, NULL, 0));
    T("listxattr buffer too small", listxattr(f, v, 3));
    T("removexattr user.b", removexattr(f, "user.b"));
    T("removexattr user.b again", removexattr(f, "user.b"));
    print_list("names", f, 1);
    int fd = open(f, O_RDONLY);
    T("fsetxattr user.fd", fsetxattr(fd, "user.fd", "via fd", 6, 0));
    V("fgetxattr", fgetxattr(fd, "user.fd", v, sizeof v));
    V("flistxattr size 0", flistxattr(fd, NULL, 0));
    T("fremovexattr", fremovexattr(fd, "user.fd"));
    close(fd);
    int opath = open(f, O_PATH);
    T("fgetxattr on O_PATH", fgetxattr(opath, "user.a", v, sizeof v));
    close(opath);
    T("fgetxattr bad fd", fgetxattr(999, "user.a", v, sizeof v));
    symlink("f", path("ln"));
    T("lsetxattr user.* on a symlink", lsetxattr(path("ln"), "user.l", "x", 1, 0));
    T("lgetxattr user.* on a symlink", lgetxattr(path("ln"), "user.a", v, sizeof v));
    V("getxattr through the symlink", getxattr(path("ln"), "user.a", v, sizeof v));
    mkdir(path("sub"), 0755);
    T("setxattr on a directory", setxattr(path("sub"), "user.d", "d", 1, 0));
    print_list("directory names", path("sub"), 1);
    T("getxattr missing file", getxattr(path("none"), "user.a", v, sizeof v));
    mkfifo(path("fifo"), 0644);
    T("setxattr user.* on a FIFO", setxattr(path("fifo"), "user.x", "x", 1, 0));
    T("getxattr user.* on a FIFO", getxattr(path("fifo"), "user.x", v, sizeof v));
    chmod(dir, 0777);
    int m = open(path("mine"), O_CREAT | O_WRONLY, 0644);
    close(m);
    chown(path("mine"), 1000, 1000);
    as_nobody(xattr_unprivileged);
    chmod(dir, 0700);
    clean();
}

/* ------------------------------------------------------------------ times -- */

static void show_times(const char *what, const char *p)
{
    struct stat st;
    stat(p, &st);
    printf("%s: atime %ld.%09ld mtime %ld.%09ld\n", what, (long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
           (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

static int ts_le(struct timespec a, struct timespec b)
{
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec <= b.tv_nsec);
}

static void times_unprivileged(void)
{
    struct timespec t[2] = {{1000, 0}, {2000, 0}};
    T("utimensat explicit times on root's file as nobody", utimensat(AT_FDCWD, path("f"), t, 0));
    T("utimensat NULL (now) on root's 0644 file as nobody", utimensat(AT_FDCWD, path("f"), NULL, 0));
    T("utimensat NULL on root's 0666 file as nobody (write access)", utimensat(AT_FDCWD, path("g"), NULL, 0));
}

static void times(void)
{
    touch("f", "x");
    const char *f = path("f");
    struct timespec t[2] = {{1000000000, 123456789}, {1100000000, 987654321}};
    T("utimensat both", utimensat(AT_FDCWD, f, t, 0));
    show_times("set", f);
    struct stat before, after;
    stat(f, &before);
    t[0].tv_nsec = UTIME_OMIT;
    t[1].tv_sec = 1200000000;
    t[1].tv_nsec = 5;
    T("utimensat mtime only (atime UTIME_OMIT)", utimensat(AT_FDCWD, f, t, 0));
    show_times("now", f);
    stat(f, &after);
    printf("ctime moved on: %s\n", yesno(ts_le(before.st_ctim, after.st_ctim)));
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    t[0].tv_nsec = UTIME_NOW;
    t[1].tv_nsec = UTIME_OMIT;
    T("utimensat atime UTIME_NOW", utimensat(AT_FDCWD, f, t, 0));
    stat(f, &after);
    printf("atime is now: %s, mtime kept: %s\n", yesno(after.st_atim.tv_sec >= now.tv_sec - 1),
           yesno(after.st_mtim.tv_sec == 1200000000 && after.st_mtim.tv_nsec == 5));
    t[0].tv_nsec = UTIME_OMIT;
    t[1].tv_nsec = UTIME_OMIT;
    T("utimensat both UTIME_OMIT on a missing file (nothing to do)", utimensat(AT_FDCWD, path("none"), t, 0));
    T("utimensat NULL times (now)", utimensat(AT_FDCWD, f, NULL, 0));
    stat(f, &after);
    printf("both now: %s\n", yesno(after.st_mtim.tv_sec >= now.tv_sec - 1 && after.st_atim.tv_sec >= now.tv_sec - 1));
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    T("utimensat nsec 1e9", utimensat(AT_FDCWD, f, bad, 0));
    bad[0].tv_nsec = -1;
    T("utimensat nsec -1", utimensat(AT_FDCWD, f, bad, 0));
    T("utimensat bad flags", utimensat(AT_FDCWD, f, NULL, 0x4));
    T("utimensat bad times pointer", syscall(SYS_utimensat, AT_FDCWD, f, KPTR, 0));
    symlink("f", path("ln"));
    struct timespec l[2] = {{1300000000, 0}, {1300000000, 0}};
    T("utimensat AT_SYMLINK_NOFOLLOW", utimensat(AT_FDCWD, path("ln"), l, AT_SYMLINK_NOFOLLOW));
    struct stat ls;
    lstat(path("ln"), &ls);
    printf("the link's mtime set: %s; the file's not: %s\n", yesno(ls.st_mtim.tv_sec == 1300000000),
           yesno(after.st_mtim.tv_sec != 1300000000));
    int fd = open(f, O_RDONLY);
    struct timespec ft[2] = {{1400000000, 1}, {1400000000, 2}};
    T("futimens", futimens(fd, ft));
    show_times("futimens", f);
    T("utimensat(fd, NULL, times, AT_SYMLINK_NOFOLLOW)", syscall(SYS_utimensat, fd, NULL, ft, AT_SYMLINK_NOFOLLOW));
    close(fd);
    struct timeval tv[2] = {{1500000000, 250000}, {1500000001, 500000}};
    T("utimes", utimes(f, tv));
    show_times("utimes", f);
    tv[0].tv_usec = 1000000;
    T("utimes usec 1e6", utimes(f, tv));
    int d = open(dir, O_RDONLY | O_DIRECTORY);
    tv[0].tv_usec = 0;
    T("futimesat", futimesat(d, "f", tv));
    show_times("futimesat", f);
    close(d);
    struct utimbuf ub = {1600000000, 1600000001};
    T("utime", utime(f, &ub));
    show_times("utime", f);
    T("utime missing file", utime(path("none"), &ub));
    int g = open(path("g"), O_CREAT | O_WRONLY, 0666);
    fchmod(g, 0666);
    close(g);
    chmod(dir, 0755);
    as_nobody(times_unprivileged);
    chmod(dir, 0700);

    /* Writes move mtime and ctime on; reads move atime (relatime). */
    struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
    utimensat(AT_FDCWD, f, old, 0);
    fd = open(f, O_RDWR);
    write(fd, "more", 4);
    stat(f, &after);
    printf("write moved mtime on: %s\n", yesno(after.st_mtim.tv_sec > 1000000000));
    char buf[8];
    pread(fd, buf, 4, 0);
    stat(f, &after);
    printf("read moved atime on: %s\n", yesno(after.st_atim.tv_sec > 1000000000));
    close(fd);
    clean();
}

/* ------------------------------------------------------------------ statx -- */

/* The kernel's struct statx (musl 1.2.3 has none), through the system call. */
struct kstatx_ts {
    int64_t tv_sec;
    uint32_t tv_nsec;
    int32_t reserved;
};
struct kstatx {
    uint32_t stx_mask, stx_blksize;
    uint64_t stx_attributes;
    uint32_t stx_nlink, stx_uid, stx_gid;
    uint16_t stx_mode, spare0;
    uint64_t stx_ino, stx_size, stx_blocks, stx_attributes_mask;
    struct kstatx_ts stx_atime, stx_btime, stx_ctime, stx_mtime;
    uint32_t stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
    uint64_t spare[14];
};
#define K_STATX_BASIC_STATS 0x7ffu
#define K_STATX_BTIME 0x800u
#define K_STATX_MNT_ID 0x1000u
#define K_STATX_ALL 0xfffu
#define K_STATX_ATTR_MOUNT_ROOT 0x2000u
#define K_AT_STATX_FORCE_SYNC 0x2000
#define K_AT_STATX_DONT_SYNC 0x4000

static long kstatx(int dfd, const char *p, int flags, unsigned mask, struct kstatx *b)
{
    return syscall(SYS_statx, dfd, p, flags, mask, b);
}


static void statx_section(void)
{
    touch("f", "0123456789");
    struct kstatx sx;
    struct stat st;
    T("statx", kstatx(AT_FDCWD, path("f"), 0, K_STATX_ALL, &sx));
    stat(path("f"), &st);
    printf("mask has BASIC_STATS: %s, BTIME: %s, MNT_ID: %s\n", yesno((sx.stx_mask & K_STATX_BASIC_STATS) == K_STATX_BASIC_STATS),
           yesno(sx.stx_mask & K_STATX_BTIME), yesno(sx.stx_mask & K_STATX_MNT_ID));
    printf("type and mode: %s, nlink: %s, uid/gid: %s, ino: %s, size: %s, blocks: %s, blksize: %s\n",
           yesno(sx.stx_mode == st.st_mode), yesno(sx.stx_nlink == st.st_nlink),
           yesno(sx.stx_uid == st.st_uid && sx.stx_gid == st.st_gid), yesno(sx.stx_ino == st.st_ino),
           yesno(sx.stx_size == 10), yesno(sx.stx_blocks == (uint64_t)st.st_blocks),
           yesno(sx.stx_blksize == (uint32_t)st.st_blksize));
    printf("dev: %s, rdev 0: %s\n", yesno(makedev(sx.stx_dev_major, sx.stx_dev_minor) == st.st_dev),
           yesno(sx.stx_rdev_major == 0 && sx.stx_rdev_minor == 0));
    printf("mtime: %s, atime: %s, ctime: %s, btime <= mtime: %s, nsec in range: %s\n",
           yesno(sx.stx_mtime.tv_sec == st.st_mtim.tv_sec && sx.stx_mtime.tv_nsec == (uint32_t)st.st_mtim.tv_nsec),
           yesno(sx.stx_atime.tv_sec == st.st_atim.tv_sec && sx.stx_atime.tv_nsec == (uint32_t)st.st_atim.tv_nsec),
           yesno(sx.stx_ctime.tv_sec == st.st_ctim.tv_sec && sx.stx_ctime.tv_nsec == (uint32_t)st.st_ctim.tv_nsec),
           yesno(sx.stx_btime.tv_sec < sx.stx_mtime.tv_sec ||
                 (sx.stx_btime.tv_sec == sx.stx_mtime.tv_sec && sx.stx_btime.tv_nsec <= sx.stx_mtime.tv_nsec)),
           yesno(sx.stx_btime.tv_nsec < 1000000000 && sx.stx_mtime.tv_nsec < 1000000000));
    printf("mount root attribute in the mask: %s, set: %s\n", yesno(sx.stx_attributes_mask & K_STATX_ATTR_MOUNT_ROOT),
           yesno(sx.stx_attributes & K_STATX_ATTR_MOUNT_ROOT));
    T("statx /", kstatx(AT_FDCWD, "/", 0, K_STATX_BASIC_STATS, &sx));
    printf("/ is a mount root: %s\n", yesno(sx.stx_attributes & K_STATX_ATTR_MOUNT_ROOT));
    mknod(path("dev"), S_IFCHR | 0600, makedev(1, 7));
    kstatx(AT_FDCWD, path("dev"), 0, K_STATX_BASIC_STATS, &sx);
    printf("device rdev 1:7: %s\n", yesno(sx.stx_rdev_major == 1 && sx.stx_rdev_minor == 7));
    symlink("f", path("ln"));
    kstatx(AT_FDCWD, path("ln"), AT_SYMLINK_NOFOLLOW, K_STATX_BASIC_STATS, &sx);
    printf("AT_SYMLINK_NOFOLLOW: a link of size 1: %s\n", yesno(S_ISLNK(sx.stx_mode) && sx.stx_size == 1));
    kstatx(AT_FDCWD, path("ln"), 0, K_STATX_BASIC_STATS, &sx);
    printf("followed: the file: %s\n", yesno(S_ISREG(sx.stx_mode) && sx.stx_size == 10));
    int fd = open(path("f"), O_RDONLY);
    T("statx AT_EMPTY_PATH on an fd", kstatx(fd, "", AT_EMPTY_PATH, K_STATX_BASIC_STATS, &sx));
    printf("it is the file: %s\n", yesno(sx.stx_size == 10));
    T("statx NULL path with AT_EMPTY_PATH", syscall(SYS_statx, fd, NULL, AT_EMPTY_PATH, K_STATX_BASIC_STATS, &sx));
#ifdef SYS_newfstatat
    T("fstatat NULL path with AT_EMPTY_PATH", syscall(SYS_newfstatat, fd, NULL, &st, AT_EMPTY_PATH));
#else
    T("fstatat NULL path with AT_EMPTY_PATH", syscall(SYS_fstatat, fd, NULL, &st, AT_EMPTY_PATH));
#endif
    T("statx empty path without AT_EMPTY_PATH", kstatx(fd, "", 0, K_STATX_BASIC_STATS, &sx));
    /* No lease can be held on it yet: F_UNLCK (2). */
    V("F_GETLEASE", fcntl(fd, F_GETLEASE));
    close(fd);
    /* An empty path from AT_FDCWD is the working directory. */
    T("statx AT_FDCWD, empty path, AT_EMPTY_PATH", kstatx(AT_FDCWD, "", AT_EMPTY_PATH, K_STATX_BASIC_STATS, &sx));
    printf("it is a directory: %s\n", yesno(S_ISDIR(sx.stx_mode)));
#ifdef SYS_faccessat2
    T("faccessat2 AT_FDCWD, empty path, AT_EMPTY_PATH", syscall(SYS_faccessat2, AT_FDCWD, "", X_OK, AT_EMPTY_PATH));
#endif
    T("statx K_AT_STATX_FORCE_SYNC", kstatx(AT_FDCWD, path("f"), K_AT_STATX_FORCE_SYNC, K_STATX_BASIC_STATS, &sx));
    T("statx both sync flags", kstatx(AT_FDCWD, path("f"), K_AT_STATX_FORCE_SYNC | K_AT_STATX_DONT_SYNC, 0, &sx));
    T("statx unknown flag", kstatx(AT_FDCWD, path("f"), 0x40000000, 0, &sx));
    T("statx reserved mask bit", kstatx(AT_FDCWD, path("f"), 0, 0x80000000u, &sx));
    T("statx missing", kstatx(AT_FDCWD, path("none"), 0, 0, &sx));
    T("statx bad buffer", syscall(SYS_statx, AT_FDCWD, path("f"), 0, K_STATX_BASIC_STATS, KPTR));
    T("statx bad path pointer", syscall(SYS_statx, AT_FDCWD, KPTR, 0, K_STATX_BASIC_STATS, &sx));
    T("statx bad dirfd", kstatx(999, "x", 0, 0, &sx));
    clean();
}

/* ---------------------------------------------------------------- tmpfile -- */

static void tmpfile_section(void)
{
    int fd = open(dir, O_TMPFILE | O_RDWR, 0600);
    printf("open O_TMPFILE: %s\n", res(fd));
    struct stat st;
    fstat(fd, &st);
    printf("regular with no link: %s, mode 0600: %s\n", yesno(S_ISREG(st.st_mode) && st.st_nlink == 0),
           yesno((st.st_mode & 0777) == 0600));
    V("write", write(fd, "tmp", 3));
    int fl = fcntl(fd, F_GETFL);
    printf("F_GETFL: O_TMPFILE %s, O_RDWR %s\n", yesno((fl & O_TMPFILE) == O_TMPFILE), yesno((fl & O_ACCMODE) == O_RDWR));
    T("linkat AT_EMPTY_PATH", linkat(fd, "", AT_FDCWD, path("f"), AT_EMPTY_PATH));
    fstat(fd, &st);
    printf("now one link: %s\n", yesno(st.st_nlink == 1));
    char buf[8] = {0};
    int r = open(path("f"), O_RDONLY);
    read(r, buf, sizeof buf);
    close(r);
    printf("content \"%s\"\n", buf);
    unlink(path("f"));
    T("linkat it again after unlink", linkat(fd, "", AT_FDCWD, path("g"), AT_EMPTY_PATH));
    close(fd);
    int ex = open(dir, O_TMPFILE | O_RDWR | O_EXCL, 0600);
    printf("open O_TMPFILE|O_EXCL: %s\n", res(ex));
    T("linkat the O_EXCL one", linkat(ex, "", AT_FDCWD, path("h"), AT_EMPTY_PATH));
    /* Through /proc/self/fd (the link leads to the file itself). */
    char fdpath[64];
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", ex);
    T("linkat the O_EXCL one by /proc/self/fd", linkat(AT_FDCWD, fdpath, AT_FDCWD, path("h"), AT_SYMLINK_FOLLOW));
    close(ex);
    int lk = open(dir, O_TMPFILE | O_RDWR, 0600);
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", lk);
    T("linkat an O_TMPFILE file by /proc/self/fd", linkat(AT_FDCWD, fdpath, AT_FDCWD, path("k"), AT_SYMLINK_FOLLOW));
    fstat(lk, &st);
    struct stat kst;
    stat(path("k"), &kst);
    printf("the name leads to it: %s, one link: %s\n", yesno(kst.st_ino == st.st_ino), yesno(st.st_nlink == 1));
    T("chmod 0640 by /proc/self/fd", chmod(fdpath, 0640));
    fstat(lk, &st);
    printf("mode now %o\n", (unsigned)(st.st_mode & 0777));
    /* fallocate's mode checks (vfs_fallocate's order). */
    T("fallocate PUNCH_HOLE without KEEP_SIZE", fallocate(lk, FALLOC_FL_PUNCH_HOLE, 0, 1));
    T("fallocate PUNCH_HOLE|ZERO_RANGE", fallocate(lk, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, 1));
    T("fallocate COLLAPSE_RANGE|KEEP_SIZE", fallocate(lk, FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4096));
    T("fallocate INSERT_RANGE|KEEP_SIZE", fallocate(lk, FALLOC_FL_INSERT_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4096));
    T("fallocate COLLAPSE_RANGE|ZERO_RANGE", fallocate(lk, FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_ZERO_RANGE, 0, 4096));
    T("fallocate unknown mode 0x1000", fallocate(lk, 0x1000, 0, 1));
    T("fallocate length 0", fallocate(lk, 0, 0, 0));
    int ro = open(path("k"), O_RDONLY);
    T("fallocate PUNCH_HOLE (no KEEP_SIZE) read-only", fallocate(ro, FALLOC_FL_PUNCH_HOLE, 0, 1));
    T("fallocate read-only", fallocate(ro, 0, 0, 1));
    close(ro);
    T("fallocate on a directory", fallocate(open(dir, O_RDONLY | O_DIRECTORY), 0, 0, 1));
    close(lk);
    unlink(path("k"));
    T("O_TMPFILE read-only", open(dir, O_TMPFILE | O_RDONLY, 0600));
    T("O_TMPFILE with O_CREAT", open(dir, O_TMPFILE | O_RDWR | O_CREAT, 0600));
    touch("f", "x");
    T("O_TMPFILE on a file", open(path("f"), O_TMPFILE | O_RDWR, 0600));
    T("O_TMPFILE in a missing directory", open(path("none"), O_TMPFILE | O_RDWR, 0600));
    int o = open(path("f"), O_RDONLY);
    unlink(path("f"));
    T("linkat AT_EMPTY_PATH of an unlinked ordinary file", linkat(o, "", AT_FDCWD, path("g"), AT_EMPTY_PATH));
    close(o);
    clean();
}

/* ---------------------------------------------------------------- inotify -- */

static const char *mask_text(uint32_t m)
{
    static char buf[256];
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {
        {IN_ACCESS, "ACCESS"}, {IN_MODIFY, "MODIFY"}, {IN_ATTRIB, "ATTRIB"}, {IN_CLOSE_WRITE, "CLOSE_WRITE"},
        {IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"}, {IN_OPEN, "OPEN"}, {IN_MOVED_FROM, "MOVED_FROM"},
        {IN_MOVED_TO, "MOVED_TO"}, {IN_CREATE, "CREATE"}, {IN_DELETE, "DELETE"}, {IN_DELETE_SELF, "DELETE_SELF"},
        {IN_MOVE_SELF, "MOVE_SELF"}, {IN_Q_OVERFLOW, "Q_OVERFLOW"}, {IN_IGNORED, "IGNORED"}, {IN_ISDIR, "ISDIR"},
    };
    buf[0] = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (m & names[i].bit) {
            if (buf[0])
                strcat(buf, "|");
            strcat(buf, names[i].name);
        }
    return buf;
}

/* Prints the queued events: "wd N MASK name"; moves share a cookie. */
static void drain(int in, int wd1, int wd2)
{
    char buf[4096] __attribute__((aligned(8)));
    uint32_t cookie = 0;
    for (;;) {
        long n = read(in, buf, sizeof buf);
        if (n <= 0)
            break;
        for (long i = 0; i < n;) {
            struct inotify_event *e = (struct inotify_event *)(buf + i);
            const char *w = e->wd == wd1 ? "dir" : e->wd == wd2 ? "file" : "?";
            const char *same = "";
            if (e->mask & (IN_MOVED_FROM | IN_MOVED_TO)) {
                same = e->cookie && (cookie == 0 || cookie == e->cookie) ? " (cookie shared)" : " (cookie differs)";
                cookie = e->cookie;
            }
            printf("  %s %s %s%s%s\n", w, mask_text(e->mask), e->len ? e->name : "-", same,
                   e->len && e->len % 16 ? " (name length not padded)" : "");
            i += (long)sizeof(struct inotify_event) + e->len;
        }
    }
}

static void inotify(void)
{
    int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    printf("inotify_init1: %s\n", res(in));
    printf("FD_CLOEXEC: %s\n", yesno(fcntl(in, F_GETFD) & FD_CLOEXEC));
    char buf[256];
    T("read with no events", read(in, buf, sizeof buf));
    int wd = inotify_add_watch(in, dir, IN_ALL_EVENTS);
    printf("watch the directory: %s, wd > 0: %s\n", res(wd), yesno(wd > 0));
    V("the same again gives the same wd", inotify_add_watch(in, dir, IN_ALL_EVENTS) == wd ? 0 : -1);
    int fd = open(path("f"), O_CREAT | O_WRONLY, 0644);
    write(fd, "abc", 3);
    write(fd, "def", 3);
    close(fd);
    printf("create, two writes, close:\n");
    drain(in, wd, -1);
    fd = open(path("f"), O_RDONLY);
    read(fd, buf, sizeof buf);
    close(fd);
    chmod(path("f"), 0600);
    printf("open, read, close, chmod:\n");
    drain(in, wd, -1);
    int fwd = inotify_add_watch(in, path("f"), IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF);
    printf("watch the file too: %s\n", res(fwd));
    rename(path("f"), path("moved"));
    printf("rename:\n");
    drain(in, wd, fwd);
    int n;
    fd = open(path("moved"), O_WRONLY);
    write(fd, "x", 1);
    ioctl(in, FIONREAD, &n);
    printf("FIONREAD > 0: %s\n", yesno(n > 0));
    close(fd);
    unlink(path("moved"));
    printf("write, close, unlink:\n");
    drain(in, wd, fwd);
    mkdir(path("sub"), 0755);
    rmdir(path("sub"));
    printf("mkdir, rmdir:\n");
    drain(in, wd, -1);
    T("rm_watch the directory", inotify_rm_watch(in, wd));
    printf("after rm_watch:\n");
    drain(in, wd, -1);
    T("rm_watch again", inotify_rm_watch(in, wd));

    /* One-shot and mask options. */
    touch("g", "1");
    int g = inotify_add_watch(in, path("g"), IN_ATTRIB | IN_ONESHOT);
    chmod(path("g"), 0600);
    chmod(path("g"), 0644);
    printf("one-shot, two chmods:\n");
    drain(in, -1, g);
    g = inotify_add_watch(in, path("g"), IN_ATTRIB);
    T("IN_MASK_CREATE on a watched file", inotify_add_watch(in, path("g"), IN_MODIFY | IN_MASK_CREATE));
    V("IN_MASK_ADD keeps the wd", inotify_add_watch(in, path("g"), IN_MODIFY | IN_MASK_ADD) == g ? 0 : -1);
    fd = open(path("g"), O_WRONLY);
    write(fd, "2", 1);
    close(fd);
    chmod(path("g"), 0600);
    printf("after IN_MASK_ADD, write and chmod:\n");
    drain(in, -1, g);
    V("a new mask replaces the old", inotify_add_watch(in, path("g"), IN_ATTRIB) == g ? 0 : -1);
    fd = open(path("g"), O_WRONLY);
    write(fd, "3", 1);
    close(fd);
    printf("after replacing the mask, a write:\n");
    drain(in, -1, g);

    /* A blocking read wakes for an event made by a child. */
    int b = inotify_init();
    int bw = inotify_add_watch(b, dir, IN_CREATE);
    pid_t c = xfork();
    if (c == 0) {
        sleep_ns(50 * MS);
        touch("h", NULL);
        _exit(0);
    }
    long r = read(b, buf, sizeof buf);
    struct inotify_event *e = (struct inotify_event *)buf;
    printf("blocking read: %s, IN_CREATE h: %s\n", r > 0 ? "OK" : errname(errno),
           yesno(r > 0 && e->wd == bw && (e->mask & IN_CREATE) && strcmp(e->name, "h") == 0));
    reap(c, "child");
    close(b);

    /* Errors. */
    T("add_watch no events", inotify_add_watch(in, dir, 0));
    T("add_watch only flags", inotify_add_watch(in, dir, IN_ONESHOT));
    T("add_watch IN_MASK_ADD|IN_MASK_CREATE", inotify_add_watch(in, dir, IN_MODIFY | IN_MASK_ADD | IN_MASK_CREATE));
    T("add_watch missing path", inotify_add_watch(in, path("none"), IN_MODIFY));
    T("add_watch IN_ONLYDIR on a file", inotify_add_watch(in, path("g"), IN_MODIFY | IN_ONLYDIR));
    T("add_watch bad path pointer", inotify_add_watch(in, KPTR, IN_MODIFY));
    int pp[2];
    pipe(pp);
    T("add_watch on a pipe fd", inotify_add_watch(pp[0], dir, IN_MODIFY));
    T("rm_watch on a pipe fd", inotify_rm_watch(pp[0], 1));
    close(pp[0]);
    close(pp[1]);
    T("rm_watch bad wd", inotify_rm_watch(in, 12345));
    T("inotify_init1 bad flags", inotify_init1(1));
    inotify_add_watch(in, dir, IN_CREATE);
    unlink(path("h"));
    touch("h", NULL);
    T("read into 8 bytes", read(in, buf, 8));
    close(in);
    clean();
}

/* ------------------------------------------------------------------- link -- */

static void link_section(void)
{
    touch("f", "content");
    T("link", link(path("f"), path("g")));
    struct stat st;
    stat(path("f"), &st);
    printf("two links: %s\n", yesno(st.st_nlink == 2));
    T("link existing target", link(path("f"), path("g")));
    T("link missing source", link(path("none"), path("h")));
    mkdir(path("sub"), 0755);
    T("link a directory", link(path("sub"), path("h")));
    T("linkat bad flags", linkat(AT_FDCWD, path("f"), AT_FDCWD, path("h"), 0x1));
    symlink("f", path("ln"));
    T("linkat a symlink itself", linkat(AT_FDCWD, path("ln"), AT_FDCWD, path("h"), 0));
    lstat(path("h"), &st);
    printf("h is a symlink: %s\n", yesno(S_ISLNK(st.st_mode)));
    unlink(path("h"));
    T("linkat AT_SYMLINK_FOLLOW", linkat(AT_FDCWD, path("ln"), AT_FDCWD, path("h"), AT_SYMLINK_FOLLOW));
    lstat(path("h"), &st);
    printf("h is the file: %s, three links: %s\n", yesno(S_ISREG(st.st_mode)), yesno(st.st_nlink == 3));
    int fd = open(path("f"), O_RDONLY);
    unlink(path("f"));
    unlink(path("g"));
    unlink(path("h"));
    fstat(fd, &st);
    printf("after unlinking every name: no links: %s\n", yesno(st.st_nlink == 0));
    char buf[16] = {0};
    V("still readable", read(fd, buf, sizeof buf));
    close(fd);
    T("link into a missing directory", link(path("ln"), path("none/x")));

    /* A trailing slash follows a final symlink, even for lstat and O_NOFOLLOW. */
    symlink("sub", path("dl"));
    touch("g", "x");
    symlink("g", path("fl"));
    printf("lstat dl/ is the directory: %s\n", yesno(lstat(path("dl/"), &st) == 0 && S_ISDIR(st.st_mode)));
    printf("lstat dl is the link: %s\n", yesno(lstat(path("dl"), &st) == 0 && S_ISLNK(st.st_mode)));
    T("lstat fl/ (a link to a file)", lstat(path("fl/"), &st));
    T("readlink dl/", readlink(path("dl/"), buf, sizeof buf));
    fd = open(path("dl/"), O_RDONLY | O_NOFOLLOW);
    printf("open dl/ with O_NOFOLLOW: %s\n", fd >= 0 ? "OK" : errname(errno));
    close(fd);
    T("rmdir dl/", rmdir(path("dl/")));
    T("unlink fl/", unlink(path("fl/")));
    unlink(path("dl"));
    unlink(path("fl"));

    /* O_CREAT through a dangling link creates what it names (through a chain of
       them too), except with O_EXCL or O_NOFOLLOW; the named directory must exist. */
    symlink("made", path("dangling"));
    T("O_CREAT|O_EXCL on a dangling link", open(path("dangling"), O_WRONLY | O_CREAT | O_EXCL, 0600));
    T("O_CREAT|O_NOFOLLOW on a dangling link", open(path("dangling"), O_WRONLY | O_CREAT | O_NOFOLLOW, 0600));
    fd = open(path("dangling"), O_WRONLY | O_CREAT, 0600);
    printf("O_CREAT on a dangling link: %s, made the target: %s\n", fd >= 0 ? "OK" : errname(errno),
           yesno(lstat(path("made"), &st) == 0 && S_ISREG(st.st_mode)));
    close(fd);
    symlink("second", path("first"));
    symlink("sub/third", path("second"));
    fd = open(path("first"), O_WRONLY | O_CREAT, 0600);
    printf("O_CREAT through two dangling links: %s, made sub/third: %s\n", fd >= 0 ? "OK" : errname(errno),
           yesno(stat(path("sub/third"), &st) == 0));
    close(fd);
    symlink("nodir/x", path("nowhere"));
    T("O_CREAT on a link into a missing directory", open(path("nowhere"), O_WRONLY | O_CREAT, 0600));
    symlink("slash/", path("toslash"));
    T("O_CREAT on a link ending in a slash", open(path("toslash"), O_WRONLY | O_CREAT, 0600));
    unlink(path("sub/third"));
    for (const char *const *n = (const char *const[]){"dangling", "made", "first", "second", "nowhere", "toslash", NULL};
         *n; n++)
        unlink(path(*n));
    clean();
}

/* ---------------------------------------------------------------- chmod2 -- */

/* fchmodat2 (Linux 6.6): fchmodat with flags. */
static long fchmodat2_(int dfd, const char *p, mode_t mode, unsigned flags)
{
    return syscall(452, dfd, p, mode, flags);
}

static mode_t mode_of(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

static void chmod2_section(void)
{
    touch("f", "x");
    symlink("f", path("ln"));
    T("fchmodat2 0640", fchmodat2_(AT_FDCWD, path("f"), 0640, 0));
    printf("mode: %o\n", (unsigned)mode_of(path("f")));
    T("fchmodat2 through a symlink", fchmodat2_(AT_FDCWD, path("ln"), 0600, 0));
    printf("mode: %o\n", (unsigned)mode_of(path("f")));
    T("fchmodat2 AT_SYMLINK_NOFOLLOW on a symlink", fchmodat2_(AT_FDCWD, path("ln"), 0644, AT_SYMLINK_NOFOLLOW));
    T("fchmodat2 AT_SYMLINK_NOFOLLOW on a file", fchmodat2_(AT_FDCWD, path("f"), 0604, AT_SYMLINK_NOFOLLOW));
    printf("mode: %o\n", (unsigned)mode_of(path("f")));
    int fd = open(path("f"), O_RDONLY);
    T("fchmodat2 AT_EMPTY_PATH", fchmodat2_(fd, "", 0400, AT_EMPTY_PATH));
    printf("mode: %o\n", (unsigned)mode_of(path("f")));
    T("fchmodat2 empty path without AT_EMPTY_PATH", fchmodat2_(fd, "", 0400, 0));
    close(fd);
    T("fchmodat2 unknown flag", fchmodat2_(AT_FDCWD, path("f"), 0600, 0x1));
    T("fchmodat2 missing file", fchmodat2_(AT_FDCWD, path("none"), 0600, 0));
    T("fchmodat2 bad pointer", fchmodat2_(AT_FDCWD, KPTR, 0600, 0));
    T("fchmodat2 bad dirfd", fchmodat2_(999, "f", 0600, 0));
    clean();
}

/* ---------------------------------------------------------------- chroot -- */

/* The first line of a file, or its errno name. */
static const char *first_line(const char *p)
{
    static char buf[64];
    int fd = open(p, O_RDONLY);
    if (fd < 0)
        return errname(errno);
    long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = 0;
    return buf;
}

static void show_cwd(const char *what)
{
    char buf[256];
    if (getcwd(buf, sizeof buf))
        printf("%s: %s\n", what, buf);
    else
        printf("%s: %s\n", what, errname(errno));
}

static void in_jail(void)
{
    T("chdir jail", chdir(path("jail")));
    T("chroot .", chroot("."));
    show_cwd("getcwd");
    printf("/etc/file: %s\n", first_line("/etc/file"));
    printf("/abs (absolute symlink): %s\n", first_line("/abs"));
    printf("../../etc/file: %s\n", first_line("../../etc/file"));
    printf("/up/etc/file (symlink to ../../..): %s\n", first_line("/up/etc/file"));
    printf("/sub/../../../etc/file: %s\n", first_line("/sub/../../../etc/file"));
    printf("/proc/self/status: %s\n", first_line("/proc/self/status"));
    T("mkdir /new", mkdir("/new", 0755));
    T("chdir /sub", chdir("/sub"));
    show_cwd("getcwd");
    T("chdir ..", chdir(".."));
    T("chdir .. again", chdir(".."));
    show_cwd("getcwd");
    char buf[64] = {0};
    T("readlink /abs", readlink("/abs", buf, sizeof buf - 1));
    printf("link text: %s\n", buf);
    pid_t pid = xfork();
    if (pid == 0) {
        printf("child's /etc/file: %s\n", first_line("/etc/file"));
        fflush(NULL);
        _exit(0);
    }
    reap(pid, "child in the jail");
    /* A root directory below the working directory leaves it outside. */
    T("mkdir /x", mkdir("/x", 0755));
    T("chroot /x", chroot("/x"));
    char cwd[512];
    long n = syscall(SYS_getcwd, cwd, sizeof cwd);
    printf("getcwd(2) says unreachable: %s\n", yesno(n > 0 && strncmp(cwd, "(unreachable)/", 14) == 0));
    show_cwd("getcwd(3)");
    printf("etc/file from the old working directory: %s\n", first_line("etc/file"));
    printf("/etc/file from the new root: %s\n", first_line("/etc/file"));
    rmdir("x");
}

static void jail_unprivileged(void)
{
    if (setuid(65534) < 0)
        printf("setuid: %s\n", errname(errno));
    T("chroot / as nobody", chroot("/"));
}

static void chroot_section(void)
{
    mkdir(path("jail"), 0755);
    mkdir(path("jail/etc"), 0755);
    mkdir(path("jail/sub"), 0755);
    int fd = open(path("jail/etc/file"), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    write(fd, "inside\n", 7);
    close(fd);
    symlink("/etc/file", path("jail/abs"));
    symlink("../../..", path("jail/up"));
    pid_t pid = xfork();
    if (pid == 0) {
        in_jail();
        fflush(NULL);
        _exit(0);
    }
    reap(pid, "jailed child");
    struct stat st;
    printf("jail/new made from inside: %s\n", yesno(stat(path("jail/new"), &st) == 0));
    printf("outside unchanged: %s\n", yesno(access("/proc/self/status", R_OK) == 0));
    pid = xfork();
    if (pid == 0) {
        jail_unprivileged();
        fflush(NULL);
        _exit(0);
    }
    reap(pid, "unprivileged child");
    char link[256] = {0}, cwd[256] = {0};
    T("readlink /proc/self/root", readlink("/proc/self/root", link, sizeof link - 1));
    printf("root link: %s\n", link);
    memset(link, 0, sizeof link);
    T("readlink /proc/self/cwd", readlink("/proc/self/cwd", link, sizeof link - 1));
    printf("cwd link is getcwd: %s\n", yesno(getcwd(cwd, sizeof cwd) && strcmp(link, cwd) == 0));
    T("chroot a missing directory", chroot(path("none")));
    T("chroot a file", chroot(path("jail/etc/file")));
    T("chroot bad pointer", chroot(KPTR));
    static const char *made[] = {"jail/etc/file", "jail/etc", "jail/sub", "jail/abs", "jail/up", "jail/new", "jail/x", "jail", NULL};
    for (int i = 0; made[i]; i++) {
        unlink(path(made[i]));
        rmdir(path(made[i]));
    }
}

/* ---------------------------------------------------------------- search -- */

/* Every directory a path walk looks into must be searchable (x) by the
 * caller: root passes, nobody gets EACCES. */
static void search_nobody(void)
{
    if (setgid(65534) < 0 || setuid(65534) < 0)
        printf("setuid: %s\n", errname(errno));
    struct stat st;
    T("stat locked/f", stat(path("locked/f"), &st));
    T("open locked/f", open(path("locked/f"), O_RDONLY));
    T("stat locked/missing", stat(path("locked/missing"), &st));
    T("stat locked", stat(path("locked"), &st));
    T("stat locked/.", stat(path("locked/."), &st));
    T("stat locked/..", stat(path("locked/.."), &st));
    T("chdir locked", chdir(path("locked")));
    T("mkdir locked/x", mkdir(path("locked/x"), 0755));
    T("unlink locked/f", unlink(path("locked/f")));
    T("rename locked/f", rename(path("locked/f"), path("g")));
    T("open xonly/f", open(path("xonly/f"), O_RDONLY));
    T("stat xonly/missing", stat(path("xonly/missing"), &st));
    T("open xonly as a directory", open(path("xonly"), O_RDONLY | O_DIRECTORY));
    T("stat through a symlink into locked", stat(path("lnk"), &st));
    T("lstat the symlink", lstat(path("lnk"), &st));
    T("access locked/f", access(path("locked/f"), F_OK));
    T("open /proc/self/status", open("/proc/self/status", O_RDONLY));
    int fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY);
    printf("open /proc/self/fd: %s\n", fd >= 0 ? "OK" : errname(errno));
    if (fd >= 0 && fstat(fd, &st) == 0)
        printf("/proc/self/fd owned by me: %s\n", yesno(st.st_uid == 65534));
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/fd/0", (int)getppid());
    T("stat a root process's /proc/PID/fd/0", stat(p, &st));
    /* The access an open asks for. */
    T("open root's 0600 file", open(path("secret"), O_RDONLY));
    T("open root's 0644 file", open(path("pub"), O_RDONLY));
    T("open root's 0644 file for writing", open(path("pub"), O_WRONLY));
    T("open root's 0644 file O_RDWR", open(path("pub"), O_RDWR));
    T("open root's 0644 file O_TRUNC", open(path("pub"), O_RDONLY | O_TRUNC));
    T("O_CREAT of an existing file, read only", open(path("pub"), O_RDONLY | O_CREAT, 0644));
    T("O_CREAT|O_EXCL of an existing file", open(path("pub"), O_RDONLY | O_CREAT | O_EXCL, 0644));
    T("O_CREAT in root's 0755 directory", open(path("mine"), O_WRONLY | O_CREAT, 0644));
    snprintf(p, sizeof p, "/tmp/surface-fs-nobody.%d", (int)getpid());
    T("O_CREAT of a mode-0 file in /tmp", open(p, O_RDWR | O_CREAT | O_EXCL, 0));
    T("reopening it", open(p, O_RDONLY));
    unlink(p);
    T("O_PATH of root's 0600 file", open(path("secret"), O_PATH));
    T("open /dev/null O_RDWR", open("/dev/null", O_RDWR));
    /* Names in a directory nobody may search but not write. */
    T("unlink in root's 0711 directory", unlink(path("xonly/f")));
    T("mkdir in it", mkdir(path("xonly/x"), 0755));
    T("mkdir of an existing name in it", mkdir(path("xonly/f"), 0755));
    T("rename in it", rename(path("xonly/f"), path("xonly/g")));
    T("symlink in it", symlink("f", path("xonly/l")));
    T("link to root's file in it", link(path("xonly/f"), path("xonly/h")));
    T("mkfifo in it", mkfifo(path("xonly/p"), 0644));
    /* The sticky /tmp: only a file's owner (or the directory's) removes it. */
    snprintf(p, sizeof p, "/tmp/surface-fs-root.%d", (int)getppid());
    T("unlink root's file in /tmp", unlink(p));
    char mine[64];
    snprintf(mine, sizeof mine, "/tmp/surface-fs-mine.%d", (int)getpid());
    close(open(mine, O_CREAT | O_WRONLY, 0644));
    T("rename over root's file in /tmp", rename(mine, p));
    T("rename own file in /tmp", rename(mine, "/tmp/surface-fs-mine2"));
    T("unlink own file in /tmp", unlink("/tmp/surface-fs-mine2"));
}

/* ---------------------------------------------------------------- pseudo -- */

/* Changes to /proc and /sys that Linux refuses, and what it lets root do. */
static void pseudo_changes(void)
{
    T("mkdir /proc/x", mkdir("/proc/x", 0755));
    T("mkdir /proc/uptime", mkdir("/proc/uptime", 0755));
    T("mkdir /proc/self/x", mkdir("/proc/self/x", 0755));
    T("mkdir /proc/sys/x", mkdir("/proc/sys/x", 0755));
    T("mkdir /sys/x", mkdir("/sys/x", 0755));
    T("mkdir /sys/devices", mkdir("/sys/devices", 0755));
    T("creat /proc/x", open("/proc/x", O_CREAT | O_WRONLY, 0644));
    T("creat /proc/self/x", open("/proc/self/x", O_CREAT | O_WRONLY, 0644));
    T("creat /proc/sys/x", open("/proc/sys/x", O_CREAT | O_WRONLY, 0644));
    T("creat excl /proc/uptime", open("/proc/uptime", O_CREAT | O_EXCL | O_WRONLY, 0644));
    T("creat /sys/x", open("/sys/x", O_CREAT | O_WRONLY, 0644));
    T("creat /sys/devices/x", open("/sys/devices/x", O_CREAT | O_WRONLY, 0644));
    T("creat excl /sys/devices/system/cpu/online",
      open("/sys/devices/system/cpu/online", O_CREAT | O_EXCL | O_WRONLY, 0644));
    T("mknod /proc/x", mknod("/proc/x", S_IFREG | 0644, 0));
    T("mknod /sys/x", mknod("/sys/x", S_IFREG | 0644, 0));
    T("mknod fifo /sys/x", mknod("/sys/x", S_IFIFO | 0644, 0));
    T("symlink /proc/x", symlink("a", "/proc/x"));
    T("symlink /sys/x", symlink("a", "/sys/x"));
    T("link /proc/uptime /proc/x", link("/proc/uptime", "/proc/x"));
    T("unlink /proc/uptime", unlink("/proc/uptime"));
    T("unlink /proc/self", unlink("/proc/self"));
    T("unlink /proc/nope", unlink("/proc/nope"));
    T("rmdir /proc/self/fd", rmdir("/proc/self/fd"));
    T("rmdir /proc/uptime", rmdir("/proc/uptime"));
    T("unlink /sys/devices/system/cpu/online", unlink("/sys/devices/system/cpu/online"));
    T("rmdir /sys/devices/system", rmdir("/sys/devices/system"));
    T("rmdir /sys/devices/system/cpu/cpu0", rmdir("/sys/devices/system/cpu/cpu0"));
    T("rename /proc/uptime /proc/x", rename("/proc/uptime", "/proc/x"));
    T("rename /proc/uptime /proc/loadavg", rename("/proc/uptime", "/proc/loadavg"));
    T("rename /proc/uptime /tmp/x", rename("/proc/uptime", "/tmp/surface-fs-x"));
    T("rename /sys/devices/system/cpu/online .../x",
      rename("/sys/devices/system/cpu/online", "/sys/devices/system/cpu/x"));
    T("rename /sys/devices/system/cpu/online /tmp/x", rename("/sys/devices/system/cpu/online", "/tmp/surface-fs-x"));
    /* The root, `.`, `..` and mount points are never removed or moved. */
    T("rmdir /", rmdir("/"));
    T("unlink /", unlink("/"));
    T("unlink .", unlink("."));
    T("unlink /tmp/..", unlink("/tmp/.."));
    T("rename / /x", rename("/", "/surface-fs-x"));
    T("rename /tmp /", rename("/tmp", "/"));
    T("rmdir /proc", rmdir("/proc"));
    T("rename /proc /x", rename("/proc", "/surface-fs-x"));
    /* The files are all still there. */
    struct stat st;
    T("stat /proc/uptime", stat("/proc/uptime", &st));
    T("stat /sys/devices/system/cpu/online", stat("/sys/devices/system/cpu/online", &st));
    printf("online: size %lld\n", (long long)st.st_size);
    T("access /proc/x", access("/proc/x", F_OK));
    T("access /sys/x", access("/sys/x", F_OK));
}

/* Opening read-only files for writing. */
static void pseudo_writes(void)
{
    int fd;
    T("open wronly /sys/devices/system/cpu/online", fd = open("/sys/devices/system/cpu/online", O_WRONLY));
    T("open rdwr /sys/devices/system/cpu/possible", fd = open("/sys/devices/system/cpu/possible", O_RDWR));
    T("truncate /sys/devices/system/cpu/online", truncate("/sys/devices/system/cpu/online", 0));
    T("open wronly /proc/sys/kernel/ostype", fd = open("/proc/sys/kernel/ostype", O_WRONLY));
    T("open wronly /proc/uptime", fd = open("/proc/uptime", O_WRONLY));
    if (fd >= 0) {
        T("write /proc/uptime", write(fd, "1", 1));
        close(fd);
    }
    T("open rdwr /proc/self/status", fd = open("/proc/self/status", O_RDWR));
    if (fd >= 0) {
        char buf[8];
        T("read /proc/self/status opened rdwr", read(fd, buf, sizeof buf));
        T("write /proc/self/status", write(fd, "1", 1));
        close(fd);
    }
    T("truncate /proc/uptime", truncate("/proc/uptime", 0));
    T("truncate /proc/self/maps", truncate("/proc/self/maps", 0));
}

static void *named_worker(void *arg)
{
    pthread_barrier_t *b = arg;
    pthread_barrier_wait(b);
    pthread_barrier_wait(b);
    char n[32];
    pthread_getname_np(pthread_self(), n, sizeof n);
    printf("worker sees its name: %s\n", n);
    return NULL;
}

static void show_comm(const char *path)
{
    char buf[64] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("%s: %s\n", path, errname(errno));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\n')
            buf[i] = '|';
    printf("%s: %s\n", path, buf);
}

/* Names through /proc: another thread's (pthread_setname_np), the process's. */
static void pseudo_comm(void)
{
    pthread_barrier_t b;
    pthread_t t;
    pthread_barrier_init(&b, NULL, 2);
    pthread_create(&t, NULL, named_worker, &b);
    pthread_barrier_wait(&b);
    int r = pthread_setname_np(t, "worker-one");
    printf("pthread_setname_np of another thread: %s\n", r ? errname(r) : "OK");
    char n[32] = "";
    r = pthread_getname_np(t, n, sizeof n);
    printf("pthread_getname_np of another thread: %s %s\n", r ? errname(r) : "OK", n);
    r = pthread_setname_np(t, "this-name-is-far-too-long");
    printf("pthread_setname_np too long: %s\n", r ? errname(r) : "OK");
    pthread_barrier_wait(&b);
    pthread_join(t, NULL);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/comm", (int)sys_gettid());
    int fd = open("/proc/self/comm", O_WRONLY);
    V("write 26 bytes to /proc/self/comm", write(fd, "abcdefghijklmnopqrstuvwxyz", 26));
    close(fd);
    show_comm("/proc/self/comm");
    fd = open(path, O_WRONLY | O_TRUNC);
    V("write name and newline to task/TID/comm", write(fd, "named\n", 6));
    close(fd);
    show_comm("/proc/self/comm");
    pid_t parent = getpid();
    pid_t c = xfork();
    if (c == 0) {
        char pp[64];
        snprintf(pp, sizeof pp, "/proc/%d/comm", (int)parent);
        int pfd = open(pp, O_WRONLY);
        T("child: open parent's comm for writing", pfd);
        T("child: write parent's comm", write(pfd, "x", 1));
        fflush(NULL);
        _exit(0);
    }
    reap(c, "child");
    show_comm("/proc/self/comm");
    prctl(PR_SET_NAME, "surface_fs");
}

static void pseudo_nobody(void)
{
    T("nobody: open wronly /proc/uptime", open("/proc/uptime", O_WRONLY));
    T("nobody: mkdir /sys/x", mkdir("/sys/x", 0755));
    T("nobody: creat /sys/x", open("/sys/x", O_CREAT | O_WRONLY, 0644));
    T("nobody: mkdir /proc/x", mkdir("/proc/x", 0755));
    T("nobody: unlink /proc/uptime", unlink("/proc/uptime"));
    T("nobody: unlink /sys/devices/system/cpu/online", unlink("/sys/devices/system/cpu/online"));
}

static void pseudo_section(void)
{
    pseudo_changes();
    pseudo_writes();
    pseudo_comm();
    as_nobody(pseudo_nobody);
}

/* Lists directory `d` with raw getdents64 (nothing else looks inside it first)
 * and prints which of `want` it holds, each with its d_type. */
static void list_dir(const char *d, const char *const *want)
{
    int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        printf("list %s: %s\n", d, errname(errno));
        return;
    }
    static char found[16];
    memset(found, 0, sizeof found);
    char buf[4096];
    long n;
    while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
        for (long off = 0; off < n;) {
            unsigned short reclen = *(unsigned short *)(buf + off + 16);
            unsigned char type = *(unsigned char *)(buf + off + 18);
            const char *name = buf + off + 19;
            for (int i = 0; want[i]; i++)
                if (strcmp(name, want[i]) == 0)
                    found[i] = type == DT_REG ? 'f' : type == DT_DIR ? 'd' : type == DT_CHR ? 'c' : '?';
            off += reclen;
        }
    }
    if (n < 0)
        printf("getdents64 %s: %s\n", d, errname(errno));
    close(fd);
    printf("list %s:", d);
    for (int i = 0; want[i]; i++)
        printf(" %s=%c", want[i], found[i] ? found[i] : '-');
    printf("\n");
}

/* fallocate in /dev/shm (tmpfs natively too): allocation takes pages (counted in
 * st_blocks, with or without KEEP_SIZE), punching gives whole pages back and zeroes
 * the edges, and zeroing a range is not offered. */
static void show_blocks(int fd, const char *what)
{
    struct stat st;
    fstat(fd, &st);
    printf("%s: size %lld, blocks %lld\n", what, (long long)st.st_size, (long long)st.st_blocks);
}

static void tmpfs_alloc(void)
{
    char t[] = "/dev/shm/surface-fs-alloc.XXXXXX";
    int fd = mkstemp(t);
    if (fd < 0) {
        printf("mkstemp in /dev/shm: %s\n", errname(errno));
        return;
    }
    T("fallocate 16 KiB", fallocate(fd, 0, 0, 16384));
    show_blocks(fd, "allocated");
    T("fallocate 8 KiB more, KEEP_SIZE", fallocate(fd, FALLOC_FL_KEEP_SIZE, 16384, 8192));
    show_blocks(fd, "kept size");
    T("pwrite", pwrite(fd, "abc", 3, 5000));
    T("punch 4-12 KiB", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 8192));
    show_blocks(fd, "punched");
    char c[3] = {1, 1, 1};
    pread(fd, c, 3, 5000);
    printf("punched bytes read zero: %s\n", yesno(c[0] == 0 && c[1] == 0 && c[2] == 0));
    T("pwrite", pwrite(fd, "xyz", 3, 100));
    T("punch 101-102", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 101, 1));
    pread(fd, c, 3, 100);
    printf("edge punch: %c %d %c\n", c[0], c[1], c[2]);
    show_blocks(fd, "edge punched");
    T("FALLOC_FL_ZERO_RANGE", fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 4096));
    T("ftruncate 2", ftruncate(fd, 2));
    show_blocks(fd, "truncated");
    lseek(fd, 0x7fffffffffffffffLL, SEEK_SET);
    T("lseek one past the largest offset", lseek(fd, 1, SEEK_CUR));
    close(fd);
    unlink(t);
}

/* A tmpfs directory (/dev/shm is tmpfs natively too): its size counts 20 bytes an
 * entry, its position only moves from the start or from where it is, and `..` is
 * the parent's inode. */
static void tmpfs_dir(void)
{
    char t[] = "/dev/shm/surface-fs.XXXXXX", f[64], d[64];
    if (!mkdtemp(t)) {
        printf("mkdtemp in /dev/shm: %s\n", errname(errno));
        return;
    }
    snprintf(f, sizeof f, "%s/f", t);
    snprintf(d, sizeof d, "%s/d", t);
    close(open(f, O_CREAT | O_WRONLY, 0600));
    /* Inode flags, block size and extent sharing, as tmpfs answers them. */
    int rw = open(f, O_RDWR);
    int v = -1;
    T("FS_IOC_GETFLAGS", ioctl(rw, K_FS_IOC_GETFLAGS, &v));
    printf("inode flags: %d\n", v);
    v = 0;
    T("FS_IOC_SETFLAGS none", ioctl(rw, K_FS_IOC_SETFLAGS, &v));
    T("FIGETBSZ", ioctl(rw, K_FIGETBSZ, &v));
    printf("block size: %d\n", v);
    T("FICLONE", ioctl(rw, K_FICLONE, rw));
    close(rw);
    mkdir(d, 0700);
    struct stat self, parent;
    stat(t, &self);
    stat("/dev/shm", &parent);
    printf("tmpfs dir: size %lld, links %ld, blocks %lld\n", (long long)self.st_size, (long)self.st_nlink,
           (long long)self.st_blocks);
    /* A short symlink's target lives in the inode, a long one's in a page. */
    char l[64], target[200];
    snprintf(l, sizeof l, "%s/l", t);
    for (size_t len = 5; len < sizeof target; len += 150) {
        memset(target, 'x', len);
        target[len] = 0;
        symlink(target, l);
        struct stat ls;
        lstat(l, &ls);
        printf("symlink of %zu bytes: size %lld, blocks %lld\n", len, (long long)ls.st_size, (long long)ls.st_blocks);
        unlink(l);
    }
    int fd = open(t, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    T("lseek a directory SEEK_END", lseek(fd, 0, SEEK_END));
    T("lseek a directory SEEK_DATA", lseek(fd, 0, SEEK_DATA));
    V("lseek a directory SEEK_CUR", lseek(fd, 0, SEEK_CUR));
    char buf[1024];
    long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
    for (long off = 0; off < n;) {
        uint64_t ino = *(uint64_t *)(buf + off);
        unsigned short reclen = *(unsigned short *)(buf + off + 16);
        const char *name = buf + off + 19;
        if (strcmp(name, ".") == 0)
            printf(". is the directory: %s\n", yesno(ino == self.st_ino));
        else if (strcmp(name, "..") == 0)
            printf(".. is /dev/shm: %s\n", yesno(ino == parent.st_ino));
        off += reclen;
    }
    close(fd);
    rmdir(d);
    unlink(f);
    stat(t, &self);
    printf("emptied: size %lld, links %ld\n", (long long)self.st_size, (long)self.st_nlink);
    /* The working directory removed under the process: getcwd is ENOENT. */
    char here[256];
    if (getcwd(here, sizeof here) && chdir(t) == 0) {
        rmdir(t);
        char buf[256];
        T("getcwd in a removed directory", (long)getcwd(buf, sizeof buf) - 1);
        T("create in it", open("x", O_CREAT | O_WRONLY, 0600));
        chdir(here);
    }
    rmdir(t);
}

static void listing_section(void)
{
    static const char *const etc[] = {"passwd", "group", "hosts", NULL};
    static const char *const dev[] = {"null", "zero", "urandom", "shm", "pts", NULL};
    static const char *const cpu[] = {"cpu0", "online", "possible", NULL};
    list_dir("/etc", etc);
    list_dir("/dev", dev);
    list_dir("/sys/devices/system/cpu", cpu);
    /* The same again, now that the directories were looked at. */
    list_dir("/etc", etc);
    list_dir("/dev", dev);
    struct stat st;
    T("stat /etc/passwd after listing", stat("/etc/passwd", &st));
    tmpfs_dir();
    tmpfs_alloc();
}

static void search_section(void)
{
    chmod(dir, 0755);
    mkdir(path("locked"), 0700);
    mkdir(path("xonly"), 0711);
    int fd = open(path("locked/f"), O_CREAT | O_WRONLY, 0644);
    close(fd);
    fd = open(path("xonly/f"), O_CREAT | O_WRONLY, 0644);
    close(fd);
    symlink("locked/f", path("lnk"));
    close(open(path("secret"), O_CREAT | O_WRONLY, 0600));
    close(open(path("pub"), O_CREAT | O_WRONLY, 0644));
    char rootfile[64];
    snprintf(rootfile, sizeof rootfile, "/tmp/surface-fs-root.%d", (int)getpid());
    close(open(rootfile, O_CREAT | O_WRONLY, 0644));
    struct stat st;
    T("root: stat locked/f", stat(path("locked/f"), &st));
    pid_t pid = xfork();
    if (pid == 0) {
        search_nobody();
        fflush(NULL);
        _exit(0);
    }
    reap(pid, "nobody child");
    unlink(rootfile);
    static const char *made[] = {"locked/f", "locked/x", "locked", "xonly/f", "xonly", "lnk", "g", "secret", "pub", "mine", NULL};
    for (int i = 0; made[i]; i++) {
        unlink(path(made[i]));
        rmdir(path(made[i]));
    }
    chmod(dir, 0700);
}

/* ---------------------------------------------------------------- openat2 -- */

struct how_v0 {
    uint64_t flags, mode, resolve;
};

#define RES_NO_XDEV 0x01
#define RES_NO_MAGICLINKS 0x02
#define RES_NO_SYMLINKS 0x04
#define RES_BENEATH 0x08
#define RES_IN_ROOT 0x10
#define RES_CACHED 0x20

static long openat2_(int dfd, const char *p, uint64_t flags, uint64_t mode, uint64_t resolve)
{
    struct how_v0 h = {flags, mode, resolve};
    return syscall(437, dfd, p, &h, sizeof h);
}

/* Opens and prints what came out: the errno, or the first bytes of the file. */
static void o2(const char *what, int dfd, const char *p, uint64_t flags, uint64_t resolve)
{
    errno = 0;
    long fd = openat2_(dfd, p, flags, 0, resolve);
    if (fd < 0) {
        printf("%s: %s\n", what, errname(errno));
        return;
    }
    char buf[16] = {0};
    ssize_t n = read((int)fd, buf, sizeof buf - 1);
    printf("%s: OK \"%s\"\n", what, n > 0 ? buf : "");
    close((int)fd);
}

static void openat2_section(void)
{
    mkdir(path("sub"), 0755);
    touch("sub/f", "in-sub");
    touch("f", "top");
    symlink("sub/f", path("rel"));
    symlink("/f", path("abs"));
    symlink("..", path("sub/up"));
    int d = open(dir, O_RDONLY | O_DIRECTORY);
    struct how_v0 h = {O_RDONLY, 0, 0};
    T("size 0", syscall(437, d, "f", &h, 0));
    T("size 16", syscall(437, d, "f", &h, 16));
    T("size 4097", syscall(437, d, "f", &h, 4097));
    struct {
        struct how_v0 h;
        uint64_t extra;
    } big = {{O_RDONLY, 0, 0}, 0};
    long fd = syscall(437, d, "f", &big, sizeof big);
    printf("size 32, zero tail: %s\n", res(fd));
    close((int)fd);
    big.extra = 1;
    T("size 32, nonzero tail", syscall(437, d, "f", &big, sizeof big));
    T("unknown flag bit 40", openat2_(d, "f", 1ull << 40, 0, 0));
    T("mode without O_CREAT", openat2_(d, "f", O_RDONLY, 0644, 0));
    T("mode 010000 with O_CREAT", openat2_(d, "g", O_RDWR | O_CREAT, 010000, 0));
    T("O_DIRECTORY|O_CREAT", openat2_(d, "g", O_RDWR | O_CREAT | O_DIRECTORY, 0644, 0));
    T("RESOLVE_BENEATH|RESOLVE_IN_ROOT", openat2_(d, "f", O_RDONLY, 0, RES_BENEATH | RES_IN_ROOT));
    T("unknown resolve bit", openat2_(d, "f", O_RDONLY, 0, 0x40));
    T("RESOLVE_CACHED with O_CREAT", openat2_(d, "g", O_RDWR | O_CREAT, 0644, RES_CACHED));
    o2("plain", d, "sub/f", O_RDONLY, 0);
    o2("cached", d, "sub/f", O_RDONLY, RES_CACHED);
    o2("beneath: sub/f", d, "sub/f", O_RDONLY, RES_BENEATH);
    o2("beneath: sub/../f", d, "sub/../f", O_RDONLY, RES_BENEATH);
    o2("beneath: ../x", d, "../x", O_RDONLY, RES_BENEATH);
    o2("beneath: absolute", d, "/etc/passwd", O_RDONLY, RES_BENEATH);
    o2("beneath: relative symlink", d, "rel", O_RDONLY, RES_BENEATH);
    o2("beneath: absolute symlink", d, "abs", O_RDONLY, RES_BENEATH);
    o2("beneath: symlink to ..", d, "sub/up/f", O_RDONLY, RES_BENEATH);
    int sd = open(path("sub"), O_RDONLY | O_DIRECTORY);
    o2("beneath sub: up/sub/f", sd, "up/sub/f", O_RDONLY, RES_BENEATH);
    o2("in root: /f", d, "/f", O_RDONLY, RES_IN_ROOT);
    o2("in root: ../../f", d, "../../f", O_RDONLY, RES_IN_ROOT);
    o2("in root: absolute symlink", d, "abs", O_RDONLY, RES_IN_ROOT);
    o2("in root sub: up/up/f", sd, "up/up/f", O_RDONLY, RES_IN_ROOT);
    o2("no symlinks: rel", d, "rel", O_RDONLY, RES_NO_SYMLINKS);
    o2("no symlinks: sub/f", d, "sub/f", O_RDONLY, RES_NO_SYMLINKS);
    T("no symlinks: rel, O_PATH|O_NOFOLLOW", openat2_(d, "rel", O_PATH | O_NOFOLLOW, 0, RES_NO_SYMLINKS));
    char fdp[64];
    int ffd = open(path("f"), O_RDONLY);
    snprintf(fdp, sizeof fdp, "/proc/self/fd/%d", ffd);
    o2("no magic links: /proc/self/fd/N", AT_FDCWD, fdp, O_RDONLY, RES_NO_MAGICLINKS);
    o2("no symlinks: /proc/self/fd/N", AT_FDCWD, fdp, O_RDONLY, RES_NO_SYMLINKS);
    o2("magic link, unrestricted", AT_FDCWD, fdp, O_RDONLY, 0);
    int pfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY);
    snprintf(fdp, sizeof fdp, "%d", ffd);
    o2("beneath /proc/self/fd: N", pfd, fdp, O_RDONLY, RES_BENEATH);
    close(pfd);
    close(ffd);
    o2("no xdev: /proc/self/comm from /", AT_FDCWD, "/proc/self/comm", O_RDONLY, RES_NO_XDEV);
    o2("no xdev: the file", d, "sub/f", O_RDONLY, RES_NO_XDEV);
    errno = 0;
    fd = openat2_(d, "sub/new", O_RDWR | O_CREAT | O_EXCL, 0600, RES_BENEATH);
    struct stat st;
    printf("create beneath: %s, mode %o\n", res(fd), fd >= 0 && fstat((int)fd, &st) == 0 ? (unsigned)(st.st_mode & 0777) : 0);
    close((int)fd);
    T("create beneath again (O_EXCL)", openat2_(d, "sub/new", O_RDWR | O_CREAT | O_EXCL, 0600, RES_BENEATH));
    T("create outside beneath", openat2_(d, "../escape", O_RDWR | O_CREAT, 0600, RES_BENEATH));
    T("empty path", openat2_(d, "", O_RDONLY, 0, RES_BENEATH));
    /* openat too refuses O_DIRECTORY|O_CREAT, and creates nothing. */
    T("openat O_CREAT|O_DIRECTORY, new name", openat(d, "newdir", O_RDONLY | O_CREAT | O_DIRECTORY, 0644));
    printf("nothing created: %s\n", yesno(faccessat(d, "newdir", F_OK, 0) != 0));
    T("openat O_CREAT|O_DIRECTORY, a directory", openat(d, "sub", O_RDONLY | O_CREAT | O_DIRECTORY, 0644));
    close(sd);
    close(d);
    static const char *made[] = {"sub/f", "sub/new", "sub/up", "rel", "abs", NULL};
    for (int i = 0; made[i]; i++)
        unlink(path(made[i]));
    clean();
}

int main(int argc, char **argv)
{
    probe_init();
    strcpy(dir, "/tmp/surface-fs.XXXXXX");
    if (!mkdtemp(dir)) {
        printf("mkdtemp: %s\n", errname(errno));
        return 1;
    }
    static const struct probe_section sections[] = {
        {"fifo", fifo},       {"mknod", mknod_section},     {"xattr", xattr},       {"times", times},
        {"statx", statx_section}, {"tmpfile", tmpfile_section}, {"inotify", inotify}, {"link", link_section},
        {"openat2", openat2_section}, {"chmod2", chmod2_section},
        {"chroot", chroot_section}, {"search", search_section}, {"pseudo", pseudo_section},
        {"listing", listing_section}, {NULL, NULL},
    };
    int r = run_sections(argc, argv, sections);
    clean();
    rmdir(dir);
    if (r == 0)
        printf("== done\n");
    return r;
}

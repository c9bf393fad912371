/* vol_probe: file operations in a directory that a test then inspects from the
 * host (elfin's -v volumes are bind mounts).
 *
 *   vol_probe tree DIR        create, write, append, pwrite, mkdir, rename, unlink,
 *                             rmdir, truncate, symlink, link, fsync (of a file and
 *                             a directory), a FIFO the host made (DIR/hostfifo),
 *                             read back, list;
 *                             the error cases by errno name
 *   vol_probe big DIR MIB     write DIR/big (MIB MiB, a pattern), fsync, read it back;
 *                             prints the size and an FNV-1a hash of the content
 *   vol_probe ro DIR          every kind of write in DIR fails; reading works
 *   vol_probe special DIR     FIFOs and unix sockets made in DIR: data through
 *                             them, stat, list, link, rename (also over and by
 *                             regular files), chmod, rmdir of a directory holding
 *                             one, unlink; DIR is left empty
 *   vol_probe times DIR       a file's times in DIR: utimensat and futimens to the
 *                             nanosecond, UTIME_OMIT and UTIME_NOW; the change
 *                             time moved by link, chmod, a write and unlink; an
 *                             O_TRUNC open setting mtime and ctime alike; the
 *                             link count through stat and fstat; DIR is left
 *                             empty
 *   vol_probe mapped DIR      a file in DIR mapped MAP_PRIVATE: every byte read
 *                             through the mapping (hashed), pages written there
 *                             leave the file alone, the page past its end is
 *                             SIGBUS; then a copy of this program in DIR is
 *                             executed twice, rewritten in place (a string
 *                             changed, 96 MiB long) and executed again; DIR is
 *                             left empty
 *
 * Output is deterministic (no inode numbers, times or sizes of directories), so a
 * native run in a temporary directory and a guest run print the same lines. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errname.h"

static char path_buf[4][4096];

/* DIR/name in one of four rotating buffers. */
static const char *at(const char *dir, const char *name)
{
    static int i;
    char *p = path_buf[i++ & 3];
    snprintf(p, sizeof path_buf[0], "%s/%s", dir, name);
    return p;
}

static void check(const char *what, int r)
{
    printf("%s: %s\n", what, r < 0 ? errname(errno) : "OK");
}

static void write_file(const char *path, const char *text, int sync)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) {
        printf("create %s: %s\n", strrchr(path, '/') + 1, errname(errno));
        return;
    }
    ssize_t n = write(fd, text, strlen(text));
    if (n != (ssize_t)strlen(text))
        printf("write: short (%zd)\n", n);
    if (sync)
        check("fsync", fsync(fd));
    close(fd);
}

static void show_file(const char *dir, const char *name)
{
    char buf[256];
    int fd = open(at(dir, name), O_RDONLY);
    if (fd < 0) {
        printf("read %s: %s\n", name, errname(errno));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = 0;
    printf("%s [%zd]: %s", name, n, buf);
    if (n > 0 && buf[n - 1] != '\n')
        printf("\n");
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The tree below DIR, sorted, with types and file sizes. */
static void list(const char *dir, const char *shown)
{
    DIR *d = opendir(dir);
    if (!d) {
        printf("opendir %s: %s\n", shown, errname(errno));
        return;
    }
    char *names[256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    for (int i = 0; i < n; i++) {
        char full[4096], sh[4096];
        snprintf(full, sizeof full, "%s/%s", dir, names[i]);
        snprintf(sh, sizeof sh, "%s/%s", shown, names[i]);
        struct stat st;
        if (lstat(full, &st) < 0) {
            printf("lstat %s: %s\n", sh, errname(errno));
        } else if (S_ISDIR(st.st_mode)) {
            printf("%s/ dir %o\n", sh, st.st_mode & 07777);
            list(full, sh);
        } else if (S_ISLNK(st.st_mode)) {
            char t[256];
            ssize_t k = readlink(full, t, sizeof t - 1);
            t[k < 0 ? 0 : k] = 0;
            printf("%s -> %s\n", sh, t);
        } else {
            printf("%s file %o size %lld nlink %ld\n", sh, st.st_mode & 07777, (long long)st.st_size,
                   (long)st.st_nlink);
        }
        free(names[i]);
    }
}

static int tree(const char *dir)
{
    char buf[256];
    umask(022);
    check("mkdir sub", mkdir(at(dir, "sub"), 0755));
    check("mkdir sub/deep", mkdir(at(dir, "sub/deep"), 0700));
    check("mkdir sub (again)", mkdir(at(dir, "sub"), 0755));
    write_file(at(dir, "a.txt"), "hello volume\n", 1);
    write_file(at(dir, "sub/deep/note"), "deep note\n", 0);
    /* A FIFO the host made (the test makes "hostfifo" before the run) carries
     * data between processes: its pipe is the guest's, the host file only names
     * it (QEMU refuses to open special files for a client). */
    struct stat fst;
    if (stat(at(dir, "hostfifo"), &fst) == 0 && S_ISFIFO(fst.st_mode)) {
        check("open the FIFO for writing without a reader", open(at(dir, "hostfifo"), O_WRONLY | O_NONBLOCK));
        fflush(stdout);
        pid_t w = fork();
        if (w == 0) {
            int fd = open(at(dir, "hostfifo"), O_WRONLY);
            _exit(fd >= 0 && write(fd, "through the fifo", 16) == 16 ? 0 : 1);
        }
        int rfd = open(at(dir, "hostfifo"), O_RDONLY);
        char fbuf[32] = {0};
        ssize_t got = rfd < 0 ? -1 : read(rfd, fbuf, sizeof fbuf - 1);
        int wst = 0;
        waitpid(w, &wst, 0);
        printf("fifo read %zd \"%s\", writer ok %d\n", got, fbuf, WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
        close(rfd);
        check("unlink hostfifo", unlink(at(dir, "hostfifo")));
    }
    /* A directory is synced too (as databases do after creating a journal). */
    int dfd = open(at(dir, "sub"), O_RDONLY | O_DIRECTORY);
    check("open sub (directory)", dfd);
    check("fsync sub (directory)", fsync(dfd));
    check("fdatasync sub (directory)", fdatasync(dfd));
    close(dfd);

    /* Append, pwrite, pread, lseek. */
    int fd = open(at(dir, "a.txt"), O_WRONLY | O_APPEND);
    check("open append", fd);
    check("append", write(fd, "second line\n", 12) == 12 ? 0 : -1);
    close(fd);
    fd = open(at(dir, "a.txt"), O_RDWR);
    check("pwrite", pwrite(fd, "HELLO", 5, 0) == 5 ? 0 : -1);
    ssize_t n = pread(fd, buf, 20, 6);
    buf[n < 0 ? 0 : n] = 0;
    printf("pread [%zd]: %s", n, buf);
    printf("\nlseek end: %lld\n", (long long)lseek(fd, 0, SEEK_END));
    struct stat st;
    check("fstat", fstat(fd, &st));
    printf("size %lld regular %d\n", (long long)st.st_size, S_ISREG(st.st_mode));
    check("fdatasync", fdatasync(fd));
    close(fd);

    /* Truncate both ways. */
    write_file(at(dir, "t.txt"), "0123456789abcdefghij", 0);
    fd = open(at(dir, "t.txt"), O_RDWR);
    check("ftruncate 10", ftruncate(fd, 10));
    close(fd);
    check("truncate 4", truncate(at(dir, "t.txt"), 4));
    check("truncate grow 6", truncate(at(dir, "t.txt"), 6));
    fd = open(at(dir, "t.txt"), O_RDONLY);
    n = read(fd, buf, sizeof buf);
    close(fd);
    printf("t.txt [%zd]:", n);
    for (ssize_t i = 0; i < n; i++)
        printf(" %02x", (unsigned char)buf[i]);
    printf("\n");

    /* O_TRUNC and O_EXCL. */
    write_file(at(dir, "gone.txt"), "to be removed", 0);
    check("open O_EXCL existing", open(at(dir, "gone.txt"), O_CREAT | O_EXCL | O_WRONLY, 0644));
    fd = open(at(dir, "gone.txt"), O_WRONLY | O_TRUNC);
    check("open O_TRUNC", fd);
    close(fd);
    check("stat gone.txt", stat(at(dir, "gone.txt"), &st));
    printf("gone.txt size %lld\n", (long long)st.st_size);

    /* Renames: a file across directories, a directory, over an existing file. */
    check("rename a.txt sub/b.txt", rename(at(dir, "a.txt"), at(dir, "sub/b.txt")));
    check("rename sub/deep sub/deeper", rename(at(dir, "sub/deep"), at(dir, "sub/deeper")));
    write_file(at(dir, "old.txt"), "old\n", 0);
    write_file(at(dir, "new.txt"), "new\n", 0);
    check("rename new.txt over old.txt", rename(at(dir, "new.txt"), at(dir, "old.txt")));
    check("rename missing", rename(at(dir, "missing"), at(dir, "x")));
    check("rename dir into itself", rename(at(dir, "sub"), at(dir, "sub/deeper/sub")));

    /* Removal. */
    check("unlink gone.txt", unlink(at(dir, "gone.txt")));
    check("unlink gone.txt (again)", unlink(at(dir, "gone.txt")));
    check("mkdir empty", mkdir(at(dir, "empty"), 0755));
    check("rmdir empty", rmdir(at(dir, "empty")));
    check("rmdir sub (not empty)", rmdir(at(dir, "sub")));
    check("unlink sub (a directory)", unlink(at(dir, "sub")));
    check("open missing", open(at(dir, "missing"), O_RDONLY));
    check("mkdir in missing", mkdir(at(dir, "missing/x"), 0755));
    check("open file as dir", open(at(dir, "old.txt/x"), O_RDONLY));

    /* An unlinked file that is still open. */
    fd = open(at(dir, "tmp.txt"), O_CREAT | O_RDWR, 0600);
    check("write tmp.txt", write(fd, "temporary", 9) == 9 ? 0 : -1);
    check("unlink open tmp.txt", unlink(at(dir, "tmp.txt")));
    n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n < 0 ? 0 : n] = 0;
    printf("read after unlink [%zd]: %s\n", n, buf);
    close(fd);

    /* Links. */
    check("symlink", symlink("b.txt", at(dir, "sub/link")));
    check("symlink dangling", symlink("../nowhere", at(dir, "dangling")));
    check("link", link(at(dir, "old.txt"), at(dir, "hard.txt")));
    n = readlink(at(dir, "sub/link"), buf, sizeof buf - 1);
    buf[n < 0 ? 0 : n] = 0;
    printf("readlink [%zd]: %s\n", n, buf);
    show_file(dir, "sub/link");
    /* Blocks as the host counts them: none for a short symlink, one page for a
     * sparse file with one byte written. */
    check("lstat link", lstat(at(dir, "sub/link"), &st));
    printf("symlink blocks %lld\n", (long long)st.st_blocks);
    fd = open(at(dir, "sparse"), O_CREAT | O_WRONLY, 0644);
    check("ftruncate sparse 1 MiB", ftruncate(fd, 1 << 20));
    check("pwrite at 512 KiB", pwrite(fd, "x", 1, 512 << 10));
    check("fsync sparse", fsync(fd));
    close(fd);
    check("stat sparse", stat(at(dir, "sparse"), &st));
    printf("sparse: size %lld, blocks %lld\n", (long long)st.st_size, (long long)st.st_blocks);
    check("open dangling", open(at(dir, "dangling"), O_RDONLY));
    check("open O_NOFOLLOW link", open(at(dir, "sub/link"), O_RDONLY | O_NOFOLLOW));

    /* chmod, utimes. */
    check("chmod 600", chmod(at(dir, "old.txt"), 0600));
    struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
    check("utimensat", utimensat(AT_FDCWD, at(dir, "old.txt"), ts, 0));
    check("stat old.txt", stat(at(dir, "old.txt"), &st));
    printf("old.txt mode %o mtime %lld nlink %ld\n", st.st_mode & 07777, (long long)st.st_mtime, (long)st.st_nlink);

    struct statfs sf;
    check("statfs", statfs(dir, &sf));
    printf("statfs namelen %ld blocks>0 %d\n", (long)sf.f_namelen, sf.f_blocks > 0);
    /* The host filesystem's type, as a Linux guest's 9p client reports it. */
    printf("statfs type %#lx\n", (unsigned long)sf.f_type);

    /* chdir into the volume and use relative paths. */
    check("chdir sub", chdir(at(dir, "sub")));
    show_file(".", "b.txt");
    show_file("..", "old.txt");
    check("chdir back", chdir("/"));

    show_file(dir, "sub/b.txt");
    show_file(dir, "sub/deeper/note");
    list(dir, ".");
    return 0;
}

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

static void pattern(unsigned char *buf, size_t n, uint64_t chunk)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)((i * 31) ^ (chunk * 7) ^ (i >> 11));
}

static int big(const char *dir, long mib)
{
    const size_t chunk = 1 << 20;
    unsigned char *buf = malloc(chunk);
    const char *path = at(dir, "big");
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0 || !buf) {
        printf("create big: %s\n", errname(errno));
        return 1;
    }
    uint64_t h = 0xcbf29ce484222325ULL;
    for (long i = 0; i < mib; i++) {
        pattern(buf, chunk, i);
        h = fnv(h, buf, chunk);
        if (write(fd, buf, chunk) != (ssize_t)chunk) {
            printf("write big at %ld MiB: %s\n", i, errname(errno));
            return 1;
        }
    }
    check("fsync big", fsync(fd));
    close(fd);
    fd = open(path, O_RDONLY);
    uint64_t r = 0xcbf29ce484222325ULL;
    long long total = 0;
    ssize_t n;
    while ((n = read(fd, buf, chunk)) > 0) {
        r = fnv(r, buf, n);
        total += n;
    }
    close(fd);
    printf("big: %lld bytes, written %016llx, read %016llx\n", total, (unsigned long long)h, (unsigned long long)r);
    return h == r && total == (long long)mib * (long long)chunk ? 0 : 1;
}

static int ro(const char *dir)
{
    struct stat st;
    check("create", open(at(dir, "new.txt"), O_CREAT | O_WRONLY, 0644));
    check("open existing O_WRONLY", open(at(dir, "existing.txt"), O_WRONLY));
    check("open existing O_RDWR", open(at(dir, "existing.txt"), O_RDWR));
    check("mkdir", mkdir(at(dir, "d"), 0755));
    check("unlink", unlink(at(dir, "existing.txt")));
    check("rename", rename(at(dir, "existing.txt"), at(dir, "moved.txt")));
    check("truncate", truncate(at(dir, "existing.txt"), 0));
    check("chmod", chmod(at(dir, "existing.txt"), 0600));
    check("symlink", symlink("existing.txt", at(dir, "l")));
    check("stat", stat(at(dir, "existing.txt"), &st));
    show_file(dir, "existing.txt");
    return 0;
}

/* The type letter (as ls -l shows it), mode and link count of DIR/name. */
static void kind(const char *dir, const char *name)
{
    struct stat st;
    if (lstat(at(dir, name), &st) < 0) {
        printf("stat %s: %s\n", name, errname(errno));
        return;
    }
    char t = S_ISFIFO(st.st_mode) ? 'p' : S_ISSOCK(st.st_mode) ? 's' : S_ISDIR(st.st_mode) ? 'd' : '-';
    printf("%s: %c %o nlink %ld size %lld\n", name, t, st.st_mode & 07777, (long)st.st_nlink,
           S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size);
}

/* The names in DIR, sorted, with d_type and what lstat says of the type. */
static void names(const char *dir)
{
    DIR *d = opendir(dir);
    char *n[64];
    int k = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) && k < 64) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            char b[300];
            snprintf(b, sizeof b, "%s:%d", e->d_name, e->d_type);
            n[k++] = strdup(b);
        }
    }
    if (d)
        closedir(d);
    qsort(n, k, sizeof *n, by_name);
    printf("names:");
    for (int i = 0; i < k; i++) {
        printf(" %s", n[i]);
        free(n[i]);
    }
    printf("\n");
}

/* Whether `a` and `b` are the same time, to the nanosecond. */
static const char *yesno(int b) { return b ? "yes" : "no"; }

static const char *same_ts(struct timespec a, struct timespec b)
{
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec ? "same" : "moved";
}

static int times_section(const char *dir)
{
    const char *f = at(dir, "timed");
    int fd = open(f, O_CREAT | O_RDWR, 0644);
    check("create", fd);
    struct timespec set[2] = {{1000000000, 123456789}, {1200000000, 987654321}};
    check("utimensat", utimensat(AT_FDCWD, f, set, 0));
    struct stat st;
    stat(f, &st);
    printf("atime as set: %s, mtime as set: %s\n", yesno(st.st_atim.tv_sec == 1000000000 && st.st_atim.tv_nsec == 123456789),
           yesno(st.st_mtim.tv_sec == 1200000000 && st.st_mtim.tv_nsec == 987654321));
    struct timespec omit[2] = {{0, UTIME_OMIT}, {1300000000, 5}};
    check("futimens, atime omitted", futimens(fd, omit));
    fstat(fd, &st);
    printf("atime kept: %s, mtime as set: %s\n", yesno(st.st_atim.tv_sec == 1000000000 && st.st_atim.tv_nsec == 123456789),
           yesno(st.st_mtim.tv_sec == 1300000000 && st.st_mtim.tv_nsec == 5));
    struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
    check("utimensat, atime now", utimensat(AT_FDCWD, f, now, 0));
    stat(f, &st);
    printf("atime now is recent: %s\n", yesno(st.st_atim.tv_sec > 1700000000));
    struct timespec c0 = st.st_ctim;
    check("link", link(f, at(dir, "timed2")));
    stat(f, &st);
    printf("after link: ctime %s, %ld links\n", same_ts(c0, st.st_ctim), (long)st.st_nlink);
    c0 = st.st_ctim;
    check("chmod", chmod(f, 0600));
    stat(f, &st);
    printf("after chmod: ctime %s, mode %o\n", same_ts(c0, st.st_ctim), st.st_mode & 07777);
    c0 = st.st_ctim;
    struct timespec m0 = st.st_mtim;
    check("write", (int)write(fd, "data", 4) - 4);
    fstat(fd, &st);
    printf("after a write: mtime %s, ctime %s, size %ld\n", same_ts(m0, st.st_mtim), same_ts(c0, st.st_ctim), (long)st.st_size);
    c0 = st.st_ctim;
    check("unlink the link", unlink(at(dir, "timed2")));
    fstat(fd, &st);
    printf("after unlink: ctime %s, %ld links\n", same_ts(c0, st.st_ctim), (long)st.st_nlink);
    int t = open(f, O_WRONLY | O_TRUNC);
    check("open O_TRUNC", t);
    fstat(t, &st);
    printf("after O_TRUNC: size %ld, mtime and ctime %s\n", (long)st.st_size, same_ts(st.st_mtim, st.st_ctim));
    close(t);
    check("unlink", unlink(f));
    fstat(fd, &st);
    printf("unlinked, still open: %ld links\n", (long)st.st_nlink);
    close(fd);
    return 0;
}

static int special(const char *dir)
{
    char buf[64] = {0};
    umask(022);
    check("mkfifo", mkfifo(at(dir, "fifo"), 0640));
    check("mkfifo again", mkfifo(at(dir, "fifo"), 0640));
    check("mknod S_IFIFO", mknod(at(dir, "fifo2"), S_IFIFO | 0600, 0));
    kind(dir, "fifo");
    pid_t p = fork();
    if (p == 0) {
        int fd = open(at(dir, "fifo"), O_WRONLY);
        _exit(fd < 0 || write(fd, "through the fifo\n", 17) != 17);
    }
    int fd = open(at(dir, "fifo"), O_RDONLY);
    check("open fifo", fd);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    printf("fifo read %zd: %s", n, n > 0 ? buf : "\n");
    close(fd);
    int st = 0;
    waitpid(p, &st, 0);
    printf("writer status %d\n", st);
    check("open fifo O_RDWR|O_NONBLOCK", fd = open(at(dir, "fifo"), O_RDWR | O_NONBLOCK));
    close(fd);

    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s/sock", dir);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    check("bind", bind(s, (struct sockaddr *)&a, sizeof a));
    check("listen", listen(s, 4));
    int s2 = socket(AF_UNIX, SOCK_STREAM, 0);
    check("bind taken name", bind(s2, (struct sockaddr *)&a, sizeof a));
    close(s2);
    kind(dir, "sock");
    p = fork();
    if (p == 0) {
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&a, sizeof a) < 0)
            _exit(1);
        _exit(write(c, "through the socket\n", 19) != 19);
    }
    int c = accept(s, NULL, NULL);
    check("accept", c);
    memset(buf, 0, sizeof buf);
    n = read(c, buf, sizeof buf - 1);
    printf("socket read %zd: %s", n, n > 0 ? buf : "\n");
    waitpid(p, &st, 0);
    printf("client status %d\n", st);
    close(c);
    close(s);
    check("connect after close", ({
              int k = socket(AF_UNIX, SOCK_STREAM, 0);
              int r = connect(k, (struct sockaddr *)&a, sizeof a);
              close(k);
              r;
          }));
    names(dir);

    check("link fifo2 fifo3", link(at(dir, "fifo2"), at(dir, "fifo3")));
    kind(dir, "fifo3");
    check("chmod fifo3", chmod(at(dir, "fifo3"), 0604));
    kind(dir, "fifo2");
    check("rename fifo3 fifo4", rename(at(dir, "fifo3"), at(dir, "fifo4")));
    kind(dir, "fifo2");
    write_file(at(dir, "plain"), "plain\n", 0);
    check("rename fifo4 over plain", rename(at(dir, "fifo4"), at(dir, "plain")));
    kind(dir, "plain");
    kind(dir, "fifo2");
    write_file(at(dir, "plain2"), "plain2\n", 0);
    check("rename plain2 over fifo2", rename(at(dir, "plain2"), at(dir, "fifo2")));
    kind(dir, "fifo2");
    show_file(dir, "fifo2");
    kind(dir, "plain");
    check("mkdir sub", mkdir(at(dir, "sub"), 0755));
    check("mkfifo sub/f", mkfifo(at(dir, "sub/f"), 0600));
    check("rename fifo sub/g", rename(at(dir, "fifo"), at(dir, "sub/g")));
    names(dir);
    check("rmdir sub (not empty)", rmdir(at(dir, "sub")));
    check("open sub/g O_WRONLY|O_NONBLOCK", open(at(dir, "sub/g"), O_WRONLY | O_NONBLOCK));
    check("unlink sub/f", unlink(at(dir, "sub/f")));
    check("unlink sub/g", unlink(at(dir, "sub/g")));
    check("rmdir sub", rmdir(at(dir, "sub")));
    check("unlink sock", unlink(at(dir, "sock")));
    check("unlink plain", unlink(at(dir, "plain")));
    check("unlink fifo2", unlink(at(dir, "fifo2")));
    check("unlink fifo2 again", unlink(at(dir, "fifo2")));
    names(dir);
    return 0;
}

static sigjmp_buf bus_jump;

static void on_bus(int sig)
{
    siglongjmp(bus_jump, sig);
}

static int mapped(const char *dir, const char *self)
{
    /* 75 pages and a bit: windows of the file read around a fault end inside it. */
    const size_t size = 75 * 4096 + 123;
    unsigned char *buf = malloc(size);
    pattern(buf, size, 5);
    uint64_t want = fnv(0xcbf29ce484222325ULL, buf, size);
    int fd = open(at(dir, "data"), O_CREAT | O_RDWR | O_TRUNC, 0644);
    check("write data", write(fd, buf, size) == (ssize_t)size ? 0 : -1);
    size_t len = (size + 4095) / 4096 * 4096 + 4096;
    unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    check("mmap", m == MAP_FAILED ? -1 : 0);
    if (m == MAP_FAILED)
        return 1;
    /* Read from the middle first, then everything. */
    volatile unsigned char sink = m[40 * 4096 + 5];
    (void)sink;
    printf("mapping hash %s\n", fnv(0xcbf29ce484222325ULL, m, size) == want ? "matches" : "differs");
    int zeros = 1;
    for (size_t i = size; i < (size + 4095) / 4096 * 4096; i++)
        zeros &= m[i] == 0;
    printf("tail of the last page zero: %d\n", zeros);
    for (size_t pg = 0; pg < 76; pg += 7)
        m[pg * 4096 + 1] ^= 0xff;
    int same = 1;
    for (size_t pg = 0; pg < 76; pg += 7)
        same &= (unsigned char)(m[pg * 4096 + 1] ^ 0xff) == buf[pg * 4096 + 1];
    printf("private writes read back: %d\n", same);
    unsigned char *back = malloc(size);
    ssize_t n = pread(fd, back, size, 0);
    printf("file after private writes: %zd bytes, %s\n", n,
           n == (ssize_t)size && !memcmp(back, buf, size) ? "unchanged" : "changed");
    /* A write through the descriptor: a page the mapping only read shows it, one
     * it wrote (its own copy) does not. */
    check("pwrite", pwrite(fd, "NEW", 3, 3 * 4096 + 9) == 3 && pwrite(fd, "NEW", 3, 7 * 4096 + 9) == 3 ? 0 : -1);
    printf("read page shows the write: %s; written page keeps its copy: %s\n",
           !memcmp(m + 3 * 4096 + 9, "NEW", 3) ? "yes" : "no", memcmp(m + 7 * 4096 + 9, "NEW", 3) ? "yes" : "no");
    check("ftruncate to 10 pages and a bit", ftruncate(fd, 10 * 4096 + 100));
    int zero = 1;
    for (int i = 100; i < 4096; i++)
        zero &= m[10 * 4096 + i] == 0;
    printf("the last page's bytes past the new end read as zeros: %s\n", zero ? "yes" : "no");
    signal(SIGBUS, on_bus);
    int sig = sigsetjmp(bus_jump, 1);
    if (sig == 0) {
        volatile unsigned char past = m[len - 4096];
        (void)past;
        printf("page past the end: read\n");
    } else {
        printf("page past the end: signal %d\n", sig);
    }
    munmap(m, len);
    close(fd);
    check("unlink data", unlink(at(dir, "data")));

    /* This program, copied into DIR and run from there. */
    int in = open(self, O_RDONLY), out = open(at(dir, "copy"), O_CREAT | O_WRONLY | O_TRUNC, 0755);
    char chunk[65536];
    while ((n = read(in, chunk, sizeof chunk)) > 0)
        if (write(out, chunk, n) != n)
            break;
    close(in);
    close(out);
    for (int round = 0; round < 3; round++) {
        pid_t p = fork();
        if (p == 0) {
            execl(at(dir, "copy"), "copy", "hello", (char *)NULL);
            _exit(127);
        }
        int st = 0;
        waitpid(p, &st, 0);
        printf("copy ran, status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        if (round == 1) {
            /* Rewritten in place: the next run must be of the new bytes. */
            struct stat sb;
            int fd2 = open(at(dir, "copy"), O_RDWR);
            fstat(fd2, &sb);
            unsigned char *img = malloc(sb.st_size);
            ssize_t got = pread(fd2, img, sb.st_size, 0);
            /* The words made at run time: as literals they would be in the
             * file too, perhaps before the string the copy prints. */
            char words[] = "FROM A COPY";
            for (int i = 0; i < 7; i++)
                words[i] = (char)(words[i] | 0x20);
            char lower[] = "FROM A COPY";
            for (int i = 0; i < 11; i++)
                lower[i] = (char)(lower[i] | (lower[i] == ' ' ? 0 : 0x20));
            unsigned char *hit = got > 0 ? memmem(img, got, lower, 11) : NULL;
            if (hit)
                memcpy(hit, words, 11);
            /* Then 96 MiB long (zeros after the program): larger than the
             * guest the test gives it. */
            check("rewrite copy", hit && ftruncate(fd2, 0) == 0 && pwrite(fd2, img, got, 0) == got &&
                                          ftruncate(fd2, 96 << 20) == 0
                                      ? 0
                                      : -1);
            close(fd2);
            free(img);
        }
    }
    check("unlink copy", unlink(at(dir, "copy")));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "hello")) {
        printf("hello from a copy\n");
        fflush(stdout);
        return 7;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 3 && !strcmp(argv[1], "tree"))
        return tree(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "big"))
        return big(argv[2], atol(argv[3]));
    if (argc == 3 && !strcmp(argv[1], "ro"))
        return ro(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "special"))
        return special(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "times"))
        return times_section(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "mapped"))
        return mapped(argv[2], "/proc/self/exe");
    fprintf(stderr, "usage: vol_probe tree DIR | big DIR MIB | ro DIR | special DIR | times DIR | mapped DIR\n");
    return 2;
}

/* surface_xfer: moving data: vectored and positional I/O, splice, tee,
 * vmsplice, copy_file_range, sendfile, and RLIMIT_FSIZE.
 *
 *   surface_xfer [SECTION]   sections: vec pio splice tee vmsplice copy
 *                                      sendfile fsize aio
 *
 * vec       readv/writev, preadv/pwritev (the file position stays), preadv2/
 *           pwritev2 (offset -1, RWF_APPEND, RWF_NOWAIT on a pipe, bad flags)
 * pio       pread/pwrite: on a directory (EISDIR), a pipe (ESPIPE), negative
 *           offsets, pwrite on an O_APPEND file appends
 * splice    file to pipe, pipe to file (offsets and positions), pipe to pipe,
 *           end of file, SPLICE_F_NONBLOCK, the errors
 * tee       copies without consuming; the errors
 * vmsplice  user memory into a pipe and out of one; the errors
 * copy      copy_file_range: offsets and positions, end of file, overlap,
 *           directories, O_APPEND, flags
 * sendfile  to a pipe and a file, offsets, short writes to a full pipe,
 *           EBADF for a read-only output, EINVAL for O_APPEND
 * fsize     RLIMIT_FSIZE: a write reaching the limit is short, one past it is
 *           EFBIG with SIGXFSZ; truncate and fallocate past it
 * aio       Linux AIO (io_setup, io_submit, io_getevents, io_cancel,
 *           io_destroy): reads and writes, vectored, on files and pipes, fsync,
 *           eventfd notification, the ring as libaio reads it, a waiter woken
 *           by another thread's submission, a full ring, a forked child, and
 *           the errors
 * aio_threads  four threads submitting to one context while one reaps */
#include "surface_common.h"
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/eventfd.h>

#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x8
#endif
#ifndef RWF_APPEND
#define RWF_APPEND 0x10
#endif

/* musl has no preadv2/pwritev2: the system calls themselves (on 64-bit Linux
 * the low word carries the whole offset). */
static long k_preadv2(int fd, const struct iovec *v, int n, long off, int flags)
{
    return syscall(SYS_preadv2, fd, v, n, off, 0L, flags);
}
static long k_pwritev2(int fd, const struct iovec *v, int n, long off, int flags)
{
    return syscall(SYS_pwritev2, fd, v, n, off, 0L, flags);
}

static char dir[64];

static void make_dir(void)
{
    strcpy(dir, "/tmp/surface-xfer.XXXXXX");
    if (!mkdtemp(dir)) {
        printf("mkdtemp: %s\n", errname(errno));
        exit(1);
    }
}

static const char *path(const char *name)
{
    static char buf[4][128];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
    return buf[i];
}

/* A file with `content`, opened with `flags`. */
static int file_with(const char *name, const char *content, int flags)
{
    int fd = open(path(name), O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (content)
        write(fd, content, strlen(content));
    close(fd);
    return open(path(name), flags);
}

static void show_file(const char *what, const char *name)
{
    char buf[256];
    int fd = open(path(name), O_RDONLY);
    long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = 0;
    printf("%s: \"%s\"\n", what, buf);
}

/* Removes the files a section made. */
static void clean_files(void)
{
    static const char *names[] = {"a", "b", "c", "d", "big", "aio", NULL};
    for (int i = 0; names[i]; i++)
        unlink(path(names[i]));
}

/* -------------------------------------------------------------------- vec -- */

static void vec(void)
{
    int fd = file_with("a", "", O_RDWR);
    char a[] = "hello ", b[] = "vectored ", c[] = "world";
    struct iovec w[3] = {{a, 6}, {b, 9}, {c, 5}};
    V("writev", writev(fd, w, 3));
    V("position after writev", lseek(fd, 0, SEEK_CUR));
    char x[8], y[32];
    struct iovec r[2] = {{x, 5}, {y, sizeof y}};
    V("preadv at 0", preadv(fd, r, 2, 0));
    printf("split as \"%.5s\" + \"%.15s\"\n", x, y);
    V("position unchanged by preadv", lseek(fd, 0, SEEK_CUR));
    struct iovec p1[1] = {{"HELLO", 5}};
    V("pwritev at 0", pwritev(fd, p1, 1, 0));
    V("position unchanged by pwritev", lseek(fd, 0, SEEK_CUR));
    show_file("file", "a");
    lseek(fd, 6, SEEK_SET);
    memset(y, 0, sizeof y);
    struct iovec r1[1] = {{y, 8}};
    V("preadv2 offset -1 (the position)", k_preadv2(fd, r1, 1, -1, 0));
    printf("read \"%.8s\", position now: %ld\n", y, (long)lseek(fd, 0, SEEK_CUR));
    struct iovec p2[1] = {{"!", 1}};
    V("pwritev2 RWF_APPEND at 0", k_pwritev2(fd, p2, 1, 0, RWF_APPEND));
    show_file("file", "a");
    memset(y, 0, sizeof y);
    struct iovec r3[1] = {{y, 3}};
    V("preadv2 RWF_APPEND at 1 (a read ignores it)", k_preadv2(fd, r3, 1, 1, RWF_APPEND));
    printf("read \"%.3s\"\n", y);
    V("preadv2 RWF_NOWAIT on a file", k_preadv2(fd, r1, 1, 0, RWF_NOWAIT));
    T("preadv2 unknown flag", k_preadv2(fd, r1, 1, 0, 0x40000000));
    T("preadv offset -1", preadv(fd, r1, 1, -1));
    T("pwritev offset -2", pwritev(fd, p2, 1, -2));
    T("preadv iovcnt -1", syscall(SYS_preadv, fd, r1, -1, 0, 0));
    T("preadv iovcnt 1025", syscall(SYS_preadv, fd, r1, 1025, 0, 0));
    V("preadv iovcnt 0", preadv(fd, r1, 0, 0));
    T("preadv bad iovec pointer", preadv(fd, KPTR, 1, 0));
    struct iovec bad[1] = {{KPTR, 4}};
    T("preadv bad buffer", preadv(fd, bad, 1, 0));
    T("pwritev bad buffer", pwritev(fd, bad, 1, 0));
    struct iovec huge[2] = {{y, (size_t)1 << 62}, {y, (size_t)1 << 62}};
    T("readv lengths overflowing ssize_t", readv(fd, huge, 2));
    int ro = open(path("a"), O_RDONLY);
    T("pwritev on a read-only fd", pwritev(ro, p2, 1, 0));
    close(ro);
    int pp[2];
    pipe(pp);
    T("preadv on a pipe", preadv(pp[0], r1, 1, 0));
    T("preadv2 on a pipe, offset -1, RWF_NOWAIT, empty", k_preadv2(pp[0], r1, 1, -1, RWF_NOWAIT));
    write(pp[1], "pipe", 4);
    V("preadv2 on a pipe, offset -1, RWF_NOWAIT, data", k_preadv2(pp[0], r1, 1, -1, RWF_NOWAIT));
    V("readv from a pipe takes what one read gives", (write(pp[1], "abc", 3), readv(pp[0], r, 2)));
    close(pp[0]);
    close(pp[1]);
    int d = open(dir, O_RDONLY | O_DIRECTORY);
    T("preadv on a directory", preadv(d, r1, 1, 0));
    close(d);
    close(fd);
    T("preadv bad fd", preadv(999, r1, 1, 0));
    clean_files();
}

/* -------------------------------------------------------------------- pio -- */

static void pio(void)
{
    char buf[16];
    int d = open(dir, O_RDONLY | O_DIRECTORY);
    T("pread on a directory", pread(d, buf, 4, 0));
    T("read on a directory", read(d, buf, 4));
    close(d);
    int pp[2];
    pipe(pp);
    T("pread on a pipe", pread(pp[0], buf, 4, 0));
    T("pwrite on a pipe", pwrite(pp[1], buf, 4, 0));
    close(pp[0]);
    close(pp[1]);
    int fd = file_with("a", "0123456789", O_RDWR | O_APPEND);
    V("pwrite at 2 on an O_APPEND file", pwrite(fd, "xy", 2, 2));
    show_file("appended, not at 2", "a");
    V("position untouched", lseek(fd, 0, SEEK_CUR));
    T("pread negative offset", pread(fd, buf, 4, -1));
    T("pwrite negative offset", pwrite(fd, buf, 4, -1));
    V("pread past the end", pread(fd, buf, 4, 1000));
    V("pread 0 bytes", pread(fd, buf, 0, 0));
    int nul = open("/dev/null", O_RDWR);
    V("pread on /dev/null", pread(nul, buf, 4, 100));
    V("pwrite on /dev/null", pwrite(nul, buf, 4, 100));
    close(nul);
    int z = open("/dev/zero", O_RDONLY);
    V("pread on /dev/zero", pread(z, buf, 4, 0));
    close(z);
    close(fd);
    clean_files();
}

/* ----------------------------------------------------------------- splice -- */

static void splice_section(void)
{
    int pp[2];
    pipe(pp);
    int in = file_with("a", "0123456789abcdef", O_RDONLY);
    loff_t off = 4;
    V("splice file at offset 4 to pipe, 6 bytes", splice(in, &off, pp[1], NULL, 6, 0));
    printf("offset now %ld, file position still %ld\n", (long)off, (long)lseek(in, 0, SEEK_CUR));
    V("splice file (its position) to pipe, 3 bytes", splice(in, NULL, pp[1], NULL, 3, 0));
    V("file position now", lseek(in, 0, SEEK_CUR));
    int out = file_with("b", "", O_WRONLY);
    V("splice pipe to file, everything", splice(pp[0], NULL, out, NULL, 100, 0));
    show_file("file b", "b");
    V("file position", lseek(out, 0, SEEK_CUR));
    write(pp[1], "XY", 2);
    off = 1;
    V("splice pipe to file at offset 1", splice(pp[0], NULL, out, &off, 2, 0));
    show_file("file b", "b");
    T("splice empty pipe, SPLICE_F_NONBLOCK", splice(pp[0], NULL, out, NULL, 10, SPLICE_F_NONBLOCK));
    off = 100;
    V("splice file at its end", splice(in, &off, pp[1], NULL, 10, 0));
    V("splice length 0", splice(pp[0], NULL, out, NULL, 0, 0));

    int q[2];
    pipe(q);
    write(pp[1], "pipe2pipe", 9);
    V("splice pipe to pipe, 4 bytes", splice(pp[0], NULL, q[1], NULL, 4, 0));
    char buf[32] = {0};
    read(q[0], buf, sizeof buf);
    printf("moved \"%s\"\n", buf);
    memset(buf, 0, sizeof buf);
    read(pp[0], buf, sizeof buf);
    printf("left \"%s\"\n", buf);
    close(pp[1]);
    V("splice from a pipe without writers", splice(pp[0], NULL, q[1], NULL, 4, 0));
    pipe(pp);

    /* Errors. */
    off = 0;
    T("splice offset for the pipe end", splice(pp[0], &off, out, NULL, 4, 0));
    T("splice pipe to itself", splice(pp[0], NULL, pp[1], NULL, 4, 0));
    T("splice file to file", splice(in, NULL, out, NULL, 4, 0));
    T("splice bad flags", splice(in, NULL, pp[1], NULL, 4, 0x100));
    T("splice read end as output", splice(in, NULL, pp[0], NULL, 4, 0));
    T("splice write-only file as input", splice(out, NULL, pp[1], NULL, 4, 0));
    T("splice bad fd", splice(999, NULL, pp[1], NULL, 4, 0));
    off = -1;
    T("splice negative offset", splice(in, &off, pp[1], NULL, 4, 0));
    T("splice bad offset pointer", splice(in, KPTR, pp[1], NULL, 4, 0));
    int app = open(path("b"), O_WRONLY | O_APPEND);
    write(pp[1], "z", 1);
    T("splice to an O_APPEND file", splice(pp[0], NULL, app, NULL, 1, 0));
    close(app);
    int d = open(dir, O_RDONLY | O_DIRECTORY);
    T("splice a directory to a pipe", splice(d, NULL, pp[1], NULL, 1, 0));
    close(d);
    close(in);
    close(out);
    close(pp[0]);
    close(pp[1]);
    close(q[0]);
    close(q[1]);
    clean_files();
}

/* -------------------------------------------------------------------- tee -- */

static void tee_section(void)
{
    int a[2], b[2];
    pipe(a);
    pipe(b);
    write(a[1], "teedata", 7);
    V("tee 3 bytes", tee(a[0], b[1], 3, 0));
    char buf[16] = {0};
    read(b[0], buf, sizeof buf);
    printf("copy \"%s\"\n", buf);
    memset(buf, 0, sizeof buf);
    read(a[0], buf, sizeof buf);
    printf("source still holds \"%s\"\n", buf);
    T("tee from an empty pipe, SPLICE_F_NONBLOCK", tee(a[0], b[1], 3, SPLICE_F_NONBLOCK));
    V("tee length 0", tee(a[0], b[1], 0, 0));
    int f = file_with("a", "x", O_RDWR);
    T("tee from a file", tee(f, b[1], 1, 0));
    T("tee to a file", tee(a[0], f, 1, 0));
    T("tee pipe to itself", tee(a[0], a[1], 1, 0));
    T("tee bad flags", tee(a[0], b[1], 1, 0x100));
    T("tee write end as input", tee(a[1], b[1], 1, 0));
    close(a[1]);
    V("tee from a pipe without writers", tee(a[0], b[1], 1, 0));
    close(f);
    close(a[0]);
    close(b[0]);
    close(b[1]);
    clean_files();
}

/* --------------------------------------------------------------- vmsplice -- */

static void vmsplice_section(void)
{
    int pp[2];
    pipe(pp);
    char one[] = "vm", two[] = "splice";
    struct iovec w[2] = {{one, 2}, {two, 6}};
    V("vmsplice into the write end", vmsplice(pp[1], w, 2, 0));
    char buf[16] = {0};
    struct iovec r[2] = {{buf, 3}, {buf + 3, 10}};
    V("vmsplice out of the read end", vmsplice(pp[0], r, 2, 0));
    printf("got \"%s\"\n", buf);
    T("vmsplice out of an empty pipe, SPLICE_F_NONBLOCK", vmsplice(pp[0], r, 2, SPLICE_F_NONBLOCK));
    V("vmsplice nothing", vmsplice(pp[1], w, 0, 0));
    int f = file_with("a", "", O_RDWR);
    T("vmsplice to a file", vmsplice(f, w, 2, 0));
    close(f);
    T("vmsplice bad flags", vmsplice(pp[1], w, 2, 0x100));
    T("vmsplice bad iovec pointer", vmsplice(pp[1], KPTR, 1, 0));
    struct iovec bad[1] = {{KPTR, 4}};
    T("vmsplice bad buffer", vmsplice(pp[1], bad, 1, 0));
    T("vmsplice 1025 segments", syscall(SYS_vmsplice, pp[1], w, 1025, 0));
    T("vmsplice bad fd", vmsplice(999, w, 1, 0));
    close(pp[0]);
    close(pp[1]);
    clean_files();
}

/* ------------------------------------------------------------------- copy -- */

static void copy(void)
{
    int in = file_with("a", "0123456789", O_RDONLY);
    int out = file_with("b", "..........", O_WRONLY);
    loff_t oi = 2, oo = 5;
    V("copy_file_range 3 bytes, both offsets", copy_file_range(in, &oi, out, &oo, 3, 0));
    printf("offsets now %ld %ld, positions %ld %ld\n", (long)oi, (long)oo, (long)lseek(in, 0, SEEK_CUR),
           (long)lseek(out, 0, SEEK_CUR));
    show_file("b", "b");
    V("copy_file_range with the positions", copy_file_range(in, NULL, out, NULL, 4, 0));
    printf("positions now %ld %ld\n", (long)lseek(in, 0, SEEK_CUR), (long)lseek(out, 0, SEEK_CUR));
    show_file("b", "b");
    oi = 8;
    V("copy_file_range past the end of the input (cut)", copy_file_range(in, &oi, out, NULL, 100, 0));
    oi = 50;
    V("copy_file_range at the end of the input", copy_file_range(in, &oi, out, NULL, 100, 0));
    V("copy_file_range length 0", copy_file_range(in, NULL, out, NULL, 0, 0));
    int same = open(path("b"), O_RDWR);
    oi = 0;
    oo = 2;
    T("copy_file_range overlapping in one file", copy_file_range(same, &oi, same, &oo, 4, 0));
    oi = 0;
    oo = 6;
    V("copy_file_range within one file, apart", copy_file_range(same, &oi, same, &oo, 4, 0));
    show_file("b", "b");
    close(same);
    T("copy_file_range flags 1", copy_file_range(in, NULL, out, NULL, 1, 1));
    T("copy_file_range write-only input", copy_file_range(out, NULL, out, NULL, 1, 0));
    T("copy_file_range read-only output", copy_file_range(in, NULL, in, NULL, 1, 0));
    int app = open(path("b"), O_WRONLY | O_APPEND);
    T("copy_file_range to an O_APPEND file", copy_file_range(in, NULL, app, NULL, 1, 0));
    close(app);
    int d = open(dir, O_RDONLY | O_DIRECTORY);
    T("copy_file_range from a directory", copy_file_range(d, NULL, out, NULL, 1, 0));
    close(d);
    int pp[2];
    pipe(pp);
    T("copy_file_range from a pipe", copy_file_range(pp[0], NULL, out, NULL, 1, 0));
    T("copy_file_range to a pipe", copy_file_range(in, NULL, pp[1], NULL, 1, 0));
    close(pp[0]);
    close(pp[1]);
    oi = -1;
    T("copy_file_range negative offset", copy_file_range(in, &oi, out, NULL, 1, 0));
    T("copy_file_range bad offset pointer", copy_file_range(in, KPTR, out, NULL, 1, 0));
    T("copy_file_range bad fd", copy_file_range(999, NULL, out, NULL, 1, 0));
    close(in);
    close(out);
    clean_files();
}

/* --------------------------------------------------------------- sendfile -- */

static void sendfile_section(void)
{
    int in = file_with("a", "sendfile data", O_RDONLY);
    int pp[2];
    pipe(pp);
    off_t off = 5;
    V("sendfile at offset 5 to a pipe", sendfile(pp[1], in, &off, 100));
    printf("offset now %ld, position %ld\n", (long)off, (long)lseek(in, 0, SEEK_CUR));
    char buf[64] = {0};
    read(pp[0], buf, sizeof buf);
    printf("pipe got \"%s\"\n", buf);
    int out = file_with("b", "", O_WRONLY);
    V("sendfile with the position to a file", sendfile(out, in, NULL, 8));
    V("position now", lseek(in, 0, SEEK_CUR));
    show_file("b", "b");
    /* A full pipe takes part of it: the count is what was written. */
    int big = file_with("big", NULL, O_RDWR);
    ftruncate(big, 200000);
    fcntl(pp[1], F_SETFL, O_NONBLOCK);
    off = 0;
    long n = sendfile(pp[1], big, &off, 200000);
    printf("sendfile 200000 bytes into a 65536-byte pipe: %ld, offset %ld\n", n, (long)off);
    T("sendfile into the full pipe", sendfile(pp[1], big, &off, 10));
    int ro = open(path("b"), O_RDONLY);
    T("sendfile to a read-only fd", sendfile(ro, in, NULL, 1));
    close(ro);
    int app = open(path("b"), O_WRONLY | O_APPEND);
    T("sendfile to an O_APPEND fd", sendfile(app, in, NULL, 1));
    close(app);
    T("sendfile from a write-only fd", sendfile(pp[1], out, NULL, 1));
    off = -1;
    T("sendfile negative offset", sendfile(out, in, &off, 1));
    T("sendfile bad offset pointer", sendfile(out, in, KPTR, 1));
    T("sendfile bad fd", sendfile(out, 999, NULL, 1));
    /* Only a regular file feeds anything but a pipe; a pipe feeds nothing. */
    T("sendfile from a pipe into a file", sendfile(out, pp[0], NULL, 1));
    int p2[2];
    pipe(p2);
    T("sendfile from a pipe into a pipe", sendfile(p2[1], pp[0], NULL, 1));
    close(p2[0]);
    close(p2[1]);
    close(big);
    close(in);
    close(out);
    close(pp[0]);
    close(pp[1]);
    clean_files();
}

/* ------------------------------------------------------------------ fsize -- */

static volatile sig_atomic_t n_xfsz;
static void on_xfsz(int s)
{
    (void)s;
    n_xfsz++;
}

static void fsize_body(void)
{
    signal(SIGXFSZ, on_xfsz);
    struct rlimit lim = {100, RLIM_INFINITY};
    T("setrlimit RLIMIT_FSIZE 100", setrlimit(RLIMIT_FSIZE, &lim));
    int fd = file_with("a", "", O_RDWR);
    char buf[300];
    memset(buf, 'x', sizeof buf);
    V("write 60", write(fd, buf, 60));
    V("write 60 more (short)", write(fd, buf, 60));
    printf("SIGXFSZ so far: %d\n", (int)n_xfsz);
    T("write at the limit", write(fd, buf, 1));
    printf("SIGXFSZ: %d\n", (int)n_xfsz);
    V("write 0 bytes at the limit", write(fd, buf, 0));
    T("pwrite past the limit", pwrite(fd, buf, 10, 200));
    V("pwrite below the limit", pwrite(fd, buf, 10, 10));
    T("ftruncate past the limit", ftruncate(fd, 101));
    V("ftruncate to the limit", ftruncate(fd, 100));
    T("fallocate past the limit", fallocate(fd, 0, 0, 4096));
    printf("SIGXFSZ: %d\n", (int)n_xfsz);
    struct stat st;
    fstat(fd, &st);
    printf("size %ld\n", (long)st.st_size);
    int pp[2];
    pipe(pp);
    V("a pipe has no file-size limit", write(pp[1], buf, 300));
    close(pp[0]);
    close(pp[1]);
    close(fd);
    /* With SIGXFSZ at its default the process dies of it. */
    pid_t c = xfork();
    if (c == 0) {
        signal(SIGXFSZ, SIG_DFL);
        no_core_dump();
        int f = open(path("a"), O_WRONLY | O_APPEND);
        write(f, buf, 1);
        _exit(0);
    }
    reap(c, "writing past the limit with SIGXFSZ at its default");
    signal(SIGXFSZ, SIG_IGN);
    fd = open(path("a"), O_WRONLY | O_APPEND);
    T("write past the limit with SIGXFSZ ignored", write(fd, buf, 1));
    close(fd);
    clean_files();
}

/* The limit would cut the probe's own output when stdout is a file: the test
 * runs in a child whose stdout is a pipe to this process. */
static void fsize(void)
{
    int p[2];
    pipe(p);
    pid_t c = xfork();
    if (c == 0) {
        close(p[0]);
        dup2(p[1], 1);
        close(p[1]);
        fsize_body();
        fflush(NULL);
        _exit(0);
    }
    close(p[1]);
    char buf[512];
    long n;
    while ((n = read(p[0], buf, sizeof buf)) > 0)
        fwrite(buf, 1, (size_t)n, stdout);
    close(p[0]);
    reap(c, "limited child");
}

/* Linux AIO's user-space ABI (include/uapi/linux/aio_abi.h), little-endian. */
struct k_iocb {
    uint64_t data;
    uint32_t key, rw_flags;
    uint16_t opcode;
    int16_t reqprio;
    uint32_t fildes;
    uint64_t buf, nbytes;
    int64_t offset;
    uint64_t reserved2;
    uint32_t flags, resfd;
};
struct k_event {
    uint64_t data, obj;
    int64_t res, res2;
};
struct k_ring {
    unsigned id, nr, head, tail, magic, compat_features, incompat_features, header_length;
    struct k_event events[];
};
enum { K_PREAD = 0, K_PWRITE = 1, K_FSYNC = 2, K_FDSYNC = 3, K_PREADV = 7, K_PWRITEV = 8 };

static long k_io_setup(unsigned n, uint64_t *ctx) { return syscall(SYS_io_setup, n, ctx); }
static long k_io_destroy(uint64_t ctx) { return syscall(SYS_io_destroy, ctx); }
static long k_io_submit(uint64_t ctx, long n, struct k_iocb **v) { return syscall(SYS_io_submit, ctx, n, v); }
static long k_io_getevents(uint64_t ctx, long min, long n, struct k_event *e, struct timespec *t)
{
    return syscall(SYS_io_getevents, ctx, min, n, e, t);
}

static struct k_iocb cb_of(int opcode, int fd, const void *buf, uint64_t n, int64_t off, uint64_t data)
{
    struct k_iocb cb;
    memset(&cb, 0, sizeof cb);
    cb.opcode = (uint16_t)opcode;
    cb.fildes = (uint32_t)fd;
    cb.buf = (uint64_t)(uintptr_t)buf;
    cb.nbytes = n;
    cb.offset = off;
    cb.data = data;
    return cb;
}

/* Submits one request; prints io_submit's answer and, when it took the request,
 * the event it completed with. */
static void one(uint64_t ctx, const char *what, struct k_iocb *cb)
{
    struct k_iocb *v[1] = {cb};
    errno = 0;
    long r = k_io_submit(ctx, 1, v);
    if (r < 0) {
        printf("%s: submit %s\n", what, errname(errno));
        return;
    }
    struct k_event ev;
    struct timespec ts = {5, 0};
    long n = k_io_getevents(ctx, 1, 1, &ev, &ts);
    if (n != 1) {
        printf("%s: submitted %ld, reaped %ld\n", what, r, n);
        return;
    }
    const char *res = ev.res < 0 ? errname((int)-ev.res) : "";
    printf("%s: submitted %ld, data %llu, obj %s, res %lld%s%s\n", what, r, (unsigned long long)ev.data,
           ev.obj == (uint64_t)(uintptr_t)cb ? "same" : "other", (long long)ev.res, ev.res < 0 ? " " : "", res);
}

static uint64_t aio_waiter_ctx;
static void *aio_waiter(void *arg)
{
    (void)arg;
    struct k_event ev;
    long n = k_io_getevents(aio_waiter_ctx, 1, 1, &ev, NULL);
    return (void *)n;
}

static long read_sysctl(const char *p)
{
    FILE *f = fopen(p, "r");
    long v = -1;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

static void aio(void)
{
    uint64_t ctx = 0;
    T("io_setup ctxp NULL", k_io_setup(8, NULL));
    ctx = 1;
    T("io_setup ctx not 0", k_io_setup(8, &ctx));
    ctx = 0;
    T("io_setup 0 events", k_io_setup(0, &ctx));
    T("io_setup -1 events", k_io_setup(~0u, &ctx));
    T("io_setup 65537 events", k_io_setup(65537, &ctx));
    printf("aio-max-nr: %ld\n", read_sysctl("/proc/sys/fs/aio-max-nr"));
    T("io_setup 8", k_io_setup(8, &ctx));
    /* aio-nr counts every process's contexts (other tests may hold some). */
    printf("aio-nr at least 8: %s\n", read_sysctl("/proc/sys/fs/aio-nr") >= 8 ? "yes" : "no");
    struct k_ring *ring = (struct k_ring *)(uintptr_t)ctx;
    printf("ring: magic %s, header %u, nr >= 8 %s, head %u tail %u, incompat %u\n",
           ring->magic == 0xa10a10a1 ? "yes" : "no", ring->header_length, ring->nr >= 8 ? "yes" : "no", ring->head,
           ring->tail, ring->incompat_features);

    /* Files: positional writes and reads; the file position stays. */
    int fd = open(path("aio"), O_RDWR | O_CREAT | O_TRUNC, 0600);
    struct k_iocb cb = cb_of(K_PWRITE, fd, "hello aio", 9, 4, 42);
    one(ctx, "pwrite", &cb);
    char buf[64] = {0};
    cb = cb_of(K_PREAD, fd, buf, sizeof buf, 4, 43);
    one(ctx, "pread", &cb);
    long position = (long)lseek(fd, 0, SEEK_CUR);
    printf("read back: %s; position %ld; size %ld\n", buf, position, (long)lseek(fd, 0, SEEK_END));
    char a[4] = "abc", b[4] = "defg";
    struct iovec wv[2] = {{a, 3}, {b, 4}};
    cb = cb_of(K_PWRITEV, fd, wv, 2, 0, 44);
    one(ctx, "pwritev", &cb);
    char x[2], y[8];
    memset(y, 0, sizeof y);
    struct iovec rv[2] = {{x, 2}, {y, 7}};
    cb = cb_of(K_PREADV, fd, rv, 2, 0, 45);
    one(ctx, "preadv", &cb);
    printf("preadv: %.2s|%s\n", x, y);
    cb = cb_of(K_PREAD, fd, buf, sizeof buf, 1000, 46);
    one(ctx, "pread past the end", &cb);
    cb = cb_of(K_FSYNC, fd, NULL, 0, 0, 47);
    one(ctx, "fsync", &cb);
    cb = cb_of(K_FDSYNC, fd, NULL, 0, 0, 48);
    one(ctx, "fdatasync", &cb);
    cb = cb_of(K_FSYNC, fd, NULL, 0, 8, 0);
    one(ctx, "fsync with an offset", &cb);

    /* Pipes: the offset is ignored; an empty non-blocking pipe gives EAGAIN
     * in the event. */
    int p[2];
    pipe(p);
    cb = cb_of(K_PWRITE, p[1], "piped", 5, 12345, 50);
    one(ctx, "pipe write", &cb);
    memset(buf, 0, sizeof buf);
    cb = cb_of(K_PREAD, p[0], buf, sizeof buf, 777, 51);
    one(ctx, "pipe read", &cb);
    printf("pipe read: %s\n", buf);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    cb = cb_of(K_PREAD, p[0], buf, sizeof buf, 0, 52);
    one(ctx, "empty non-blocking pipe", &cb);
    cb = cb_of(K_FSYNC, p[0], NULL, 0, 0, 0);
    one(ctx, "fsync of a pipe", &cb);

    /* eventfd notification. */
    int efd = eventfd(0, EFD_NONBLOCK);
    cb = cb_of(K_PWRITE, fd, "e", 1, 0, 53);
    cb.flags = 1;
    cb.resfd = (uint32_t)efd;
    one(ctx, "with eventfd", &cb);
    uint64_t count = 0;
    V("eventfd read", read(efd, &count, 8));
    printf("eventfd count: %llu\n", (unsigned long long)count);
    cb.resfd = (uint32_t)p[0];
    one(ctx, "resfd not an eventfd", &cb);
    cb.resfd = 999;
    one(ctx, "resfd closed", &cb);

    /* Errors at submission. */
    cb = cb_of(K_PREAD, 999, buf, 1, 0, 0);
    one(ctx, "bad fd", &cb);
    int ro = open(path("aio"), O_RDONLY);
    cb = cb_of(K_PWRITE, ro, "z", 1, 0, 0);
    one(ctx, "write to a read-only fd", &cb);
    cb = cb_of(99, fd, buf, 1, 0, 0);
    one(ctx, "unknown opcode", &cb);
    cb = cb_of(K_PREAD, fd, buf, 1, 0, 0);
    cb.reserved2 = 1;
    one(ctx, "reserved field", &cb);
    cb = cb_of(K_PREAD, fd, buf, 1, -1, 0);
    one(ctx, "negative offset", &cb);
    cb = cb_of(K_PREAD, fd, buf, (uint64_t)-1, 0, 0);
    one(ctx, "negative length", &cb);
    cb = cb_of(K_PREAD, fd, buf, 1, 0, 0);
    cb.rw_flags = 0x10;
    one(ctx, "RWF_APPEND on a read", &cb);
    cb.rw_flags = 0x40000000;
    one(ctx, "unknown rw flag", &cb);
    cb = cb_of(K_PREAD, fd, KPTR, 8, 0, 0);
    one(ctx, "kernel buffer", &cb);
    struct k_iocb *v2[2];
    struct k_iocb good = cb_of(K_PREAD, fd, buf, 1, 0, 60), bad = cb_of(K_PREAD, 999, buf, 1, 0, 61);
    v2[0] = &good;
    v2[1] = &bad;
    V("batch with a bad second", k_io_submit(ctx, 2, v2));
    struct k_event evs[4];
    V("its event", k_io_getevents(ctx, 1, 4, evs, NULL));
    V("io_submit nr -1", k_io_submit(ctx, -1, v2));
    V("io_submit nr 0", k_io_submit(ctx, 0, v2));
    V("io_submit iocbpp NULL", k_io_submit(ctx, 1, NULL));
    struct k_iocb *vk[1] = {KPTR};
    V("io_submit iocb in the kernel", k_io_submit(ctx, 1, vk));
    v2[0] = &good;
    V("io_submit ctx 0", k_io_submit(0, 1, v2));
    V("io_submit ctx a stack address", k_io_submit((uint64_t)(uintptr_t)&good, 1, v2));

    /* io_getevents. */
    struct timespec zero = {0, 0}, short_wait = {0, 50000000};
    V("getevents min > nr", k_io_getevents(ctx, 2, 1, evs, &zero));
    V("getevents min < 0", k_io_getevents(ctx, -1, 1, evs, &zero));
    V("getevents none, no wait", k_io_getevents(ctx, 1, 4, evs, &zero));
    uint64_t t0 = mono_ns();
    V("getevents none, 50 ms", k_io_getevents(ctx, 1, 4, evs, &short_wait));
    printf("waited 40 ms or more: %s\n", mono_ns() - t0 >= 40000000 ? "yes" : "no");
    V("getevents bad ctx", k_io_getevents(0, 0, 1, evs, &zero));
    /* io_pgetevents: the mask applies for the call's length. */
    sigset_t blocked;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGUSR1);
    struct { const sigset_t *mask; size_t size; } usig = {&blocked, 8}, badsize = {&blocked, 4};
    V("pgetevents with a mask", syscall(SYS_io_pgetevents, ctx, 1, 4, evs, &zero, &usig));
    V("pgetevents no sigset", syscall(SYS_io_pgetevents, ctx, 1, 4, evs, &zero, NULL));
    V("pgetevents bad sigset size", syscall(SYS_io_pgetevents, ctx, 1, 4, evs, &zero, &badsize));
    V("pgetevents sigset in the kernel", syscall(SYS_io_pgetevents, ctx, 1, 4, evs, &zero, KPTR));
    V("getevents timeout in the kernel", k_io_getevents(ctx, 1, 4, evs, KPTR));

    /* The ring as libaio reads it: the event is there without a system call,
     * and moving the head past it reaps it. */
    good = cb_of(K_PREAD, fd, buf, 2, 0, 70);
    v2[0] = &good;
    V("submit for the ring", k_io_submit(ctx, 1, v2));
    unsigned head = ring->head % ring->nr, tail = ring->tail % ring->nr;
    printf("ring holds 1: %s\n", (tail + ring->nr - head) % ring->nr == 1 ? "yes" : "no");
    struct k_event *e = &ring->events[head];
    printf("ring event: data %llu, res %lld, obj %s\n", (unsigned long long)e->data, (long long)e->res,
           e->obj == (uint64_t)(uintptr_t)&good ? "same" : "other");
    ring->head = (head + 1) % ring->nr;
    V("getevents after reaping in user space", k_io_getevents(ctx, 0, 4, evs, &zero));

    /* io_cancel: the request completed; a key other than 0 is EINVAL. */
    struct k_event res;
    T("io_cancel completed", syscall(SYS_io_cancel, ctx, &good, &res));
    good.key = 5;
    T("io_cancel bad key", syscall(SYS_io_cancel, ctx, &good, &res));
    T("io_cancel iocb NULL", syscall(SYS_io_cancel, ctx, NULL, &res));

    /* A waiter wakes at another thread's completion. */
    aio_waiter_ctx = ctx;
    pthread_t th;
    pthread_create(&th, NULL, aio_waiter, NULL);
    sleep_ns(100000000);
    good = cb_of(K_PWRITE, fd, "w", 1, 0, 80);
    v2[0] = &good;
    V("submit for the waiter", k_io_submit(ctx, 1, v2));
    void *got = NULL;
    pthread_join(th, &got);
    printf("waiter got: %ld\n", (long)got);

    /* A forked child has no contexts. */
    pid_t c = xfork();
    if (c == 0) {
        v2[0] = &good;
        T("child io_submit", k_io_submit(ctx, 1, v2));
        fflush(NULL);
        _exit(0);
    }
    reap(c, "aio child");

    /* A full ring: submissions are refused with EAGAIN until events are reaped. */
    uint64_t small = 0;
    T("io_setup 1", k_io_setup(1, &small));
    long taken = 0, r = 0;
    for (int i = 0; i < 100000; i++) {
        good = cb_of(K_PREAD, fd, buf, 1, 0, (uint64_t)i);
        v2[0] = &good;
        r = k_io_submit(small, 1, v2);
        if (r != 1)
            break;
        taken++;
    }
    printf("full ring: %s after some: %s\n", r < 0 ? errname(errno) : "no refusal", taken > 0 ? "yes" : "no");
    long reaped = 0, n;
    while ((n = k_io_getevents(small, 0, 4, evs, &zero)) > 0)
        reaped += n;
    printf("reaped all taken: %s\n", reaped == taken ? "yes" : "no");
    V("submit after reaping", k_io_submit(small, 1, v2));
    T("io_destroy small", k_io_destroy(small));

    T("io_destroy", k_io_destroy(ctx));
    T("io_destroy again", k_io_destroy(ctx));
    V("io_submit after destroy", k_io_submit(ctx, 1, v2));
    close(fd);
    close(ro);
    close(p[0]);
    close(p[1]);
    close(efd);
}

/* aio_threads: four threads submit 2000 writes each to one 64-event context
 * (waiting a little when it is full) while the main thread reaps: every event
 * arrives once, with its result. */
#define AIO_PER_THREAD 2000
static uint64_t aio_shared_ctx;
static int aio_shared_fd;

static void *aio_submitter(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < AIO_PER_THREAD;) {
        struct k_iocb cb = cb_of(K_PWRITE, aio_shared_fd, "x", 1, id * AIO_PER_THREAD + i,
                                 (uint64_t)(id * AIO_PER_THREAD + i)),
                      *v[1] = {&cb};
        long r = k_io_submit(aio_shared_ctx, 1, v);
        if (r == 1)
            i++;
        else if (errno == EAGAIN)
            sleep_ns(100000);
        else
            return (void *)(long)errno;
    }
    return NULL;
}

static void aio_threads(void)
{
    aio_shared_fd = open(path("aio"), O_RDWR | O_CREAT | O_TRUNC, 0600);
    T("io_setup 64", k_io_setup(64, &aio_shared_ctx));
    pthread_t t[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, aio_submitter, (void *)i);
    long got = 0, bad = 0;
    uint64_t sum = 0;
    struct k_event ev[16];
    while (got < 4 * AIO_PER_THREAD) {
        struct timespec ts = {10, 0};
        long n = k_io_getevents(aio_shared_ctx, 1, 16, ev, &ts);
        if (n <= 0) {
            printf("getevents: %ld (%s) after %ld events\n", n, n < 0 ? errname(errno) : "timeout", got);
            break;
        }
        for (long i = 0; i < n; i++) {
            sum += ev[i].data;
            bad += ev[i].res != 1;
        }
        got += n;
    }
    for (int i = 0; i < 4; i++) {
        void *r = NULL;
        pthread_join(t[i], &r);
        if (r)
            printf("submitter %d: %s\n", i, errname((int)(long)r));
    }
    uint64_t want = 0;
    for (uint64_t i = 0; i < 4 * AIO_PER_THREAD; i++)
        want += i;
    printf("events: %ld, each once: %s, failed: %ld, file size %ld\n", got, sum == want ? "yes" : "no", bad,
           (long)lseek(aio_shared_fd, 0, SEEK_END));
    T("io_destroy", k_io_destroy(aio_shared_ctx));
    close(aio_shared_fd);
}

/* Contexts made and ended many times (AIO_CHURN of them, 5000 unless set), by
 * this process and by children that exit with theirs still open: nothing is
 * left behind (the guest test compares the free frames before and after). The
 * native reference runs fewer: Linux's io_destroy waits for an RCU grace
 * period, tens of milliseconds. */
static void aio_churn(void)
{
    int fd = open(path("aio"), O_RDWR | O_CREAT | O_TRUNC, 0600);
    char buf[16];
    long bad = 0;
    const char *n_env = getenv("AIO_CHURN");
    int n = n_env ? atoi(n_env) : 5000;
    for (int i = 0; i < n; i++) {
        uint64_t ctx = 0;
        if (k_io_setup(8, &ctx) < 0) {
            bad++;
            continue;
        }
        struct k_iocb cb = cb_of(K_PWRITE, fd, "churn", 5, i % 64, (uint64_t)i), *v[1] = {&cb};
        struct k_event ev;
        if (k_io_submit(ctx, 1, v) != 1 || k_io_getevents(ctx, 1, 1, &ev, NULL) != 1 || ev.res != 5)
            bad++;
        cb = cb_of(K_PREAD, fd, buf, 5, 0, 0);
        if (k_io_submit(ctx, 1, v) != 1)
            bad++;
        if (k_io_destroy(ctx) < 0)
            bad++;
    }
    for (int i = 0; i < 20; i++) {
        pid_t c = fork();
        if (c == 0) {
            uint64_t ctx = 0;
            struct k_iocb cb = cb_of(K_PWRITE, fd, "child", 5, 0, 0), *v[1] = {&cb};
            _exit(k_io_setup(32, &ctx) == 0 && k_io_submit(ctx, 1, v) == 1 ? 0 : 1);
        }
        int st = 0;
        if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            bad++;
    }
    close(fd);
    printf("aio churn: %ld failures\n", bad);
}

int main(int argc, char **argv)
{
    probe_init();
    make_dir();
    static const struct probe_section sections[] = {
        {"vec", vec}, {"pio", pio}, {"splice", splice_section}, {"tee", tee_section},
        {"vmsplice", vmsplice_section}, {"copy", copy}, {"sendfile", sendfile_section}, {"fsize", fsize},
        {"aio", aio}, {"aio_threads", aio_threads}, {"aio_churn", aio_churn},
        {NULL, NULL},
    };
    int r = run_sections(argc, argv, sections);
    clean_files();
    rmdir(dir);
    if (r == 0)
        printf("== done\n");
    return r;
}

/* files PATH: file-system calls on PATH and on paths that must fail.
 * Prints sizes, checksums and errno names — never PATH itself nor the value of
 * /proc/self/exe — so that the output is the same natively and under elfin
 * although PATH differs (a host path natively, a volume path in the guest). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "errname.h"

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static const char *kind(mode_t m)
{
    if (S_ISREG(m)) return "regular file";
    if (S_ISDIR(m)) return "directory";
    if (S_ISCHR(m)) return "character device";
    if (S_ISLNK(m)) return "symlink";
    if (S_ISFIFO(m)) return "fifo";
    return "other";
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: files PATH\n");
        return 2;
    }
    const char *path = argv[1];

    int fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        printf("openat: %s\n", errname(errno));
        return 1;
    }
    printf("openat: ok (fd >= 3: %s)\n", fd >= 3 ? "yes" : "no");

    struct stat st;
    if (fstat(fd, &st) != 0) {
        printf("fstat: %s\n", errname(errno));
        return 1;
    }
    printf("fstat: %s, size %lld\n", kind(st.st_mode), (long long)st.st_size);

    off_t end = lseek(fd, 0, SEEK_END);
    printf("lseek SEEK_END: %lld\n", (long long)end);
    printf("lseek SEEK_SET 0: %lld\n", (long long)lseek(fd, 0, SEEK_SET));

    size_t cap = (size_t)st.st_size + 1, len = 0;
    unsigned char *buf = malloc(cap);
    if (!buf)
        return 1;
    int reads = 0;
    for (;;) {
        /* Small reads on purpose: exercise the file offset. */
        size_t want = cap - len < 4096 ? cap - len : 4096;
        if (want == 0)
            break;
        ssize_t n = read(fd, buf + len, want);
        if (n < 0) {
            printf("read: %s\n", errname(errno));
            return 1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        reads++;
    }
    printf("read: %zu bytes, fnv1a64 %016llx\n", len, (unsigned long long)fnv1a(buf, len));
    unsigned lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += buf[i] == '\n';
    printf("lines: %u\n", lines);
    printf("read at EOF: %zd\n", read(fd, buf, 1));

    if (len >= 8) {
        unsigned char mid[4];
        off_t off = (off_t)(len / 2);
        ssize_t n = pread(fd, mid, sizeof mid, off);
        printf("pread 4 at %lld: %zd, matches: %s\n", (long long)off, n,
               n == 4 && memcmp(mid, buf + off, 4) == 0 ? "yes" : "NO");
        printf("lseek SEEK_CUR after pread: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
        printf("lseek SEEK_SET 3: %lld\n", (long long)lseek(fd, 3, SEEK_SET));
        n = read(fd, mid, 2);
        printf("read 2 at 3: %zd, matches: %s\n", n, n == 2 && memcmp(mid, buf + 3, 2) == 0 ? "yes" : "NO");
    }

    /* Each call is made before its printf: argument evaluation order is
     * unspecified, so errno must not be read in the same expression. */
    long r;
    errno = 0;
    r = write(fd, "x", 1);
    printf("write to O_RDONLY fd: %ld %s\n", r, errname(errno));
    printf("close: %s\n", close(fd) == 0 ? "ok" : errname(errno));
    errno = 0;
    r = close(fd);
    printf("close again: %ld %s\n", r, errname(errno));

    struct stat st2;
    printf("stat PATH: %s\n", stat(path, &st2) == 0 ? (st2.st_size == st.st_size ? "ok, same size" : "SIZE DIFFERS") : errname(errno));

    errno = 0;
    r = open("/elfin-no-such-dir/missing", O_RDONLY);
    printf("open missing file: %ld %s\n", r, errname(errno));
    errno = 0;
    r = stat("/elfin-no-such-file", &st2);
    printf("stat missing file: %ld %s\n", r, errname(errno));
    errno = 0;
    r = open(path, O_RDONLY | O_DIRECTORY);
    printf("open file as directory: %ld %s\n", r, errname(errno));
    errno = 0;
    int dfd = open("/", O_RDONLY | O_DIRECTORY);
    printf("open / as directory: %s\n", dfd >= 0 ? "ok" : errname(errno));
    if (dfd >= 0)
        close(dfd);

    char cwd[4096];
    printf("getcwd: %s\n", getcwd(cwd, sizeof cwd) ? cwd : errname(errno));

    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    printf("readlink /proc/self/exe: %s\n", n > 0 ? "ok" : errname(errno));
    free(buf);
    return 0;
}

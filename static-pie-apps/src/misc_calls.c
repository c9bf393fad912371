/* Assorted process and file calls whose results Linux defines exactly:
 * close_range, statfs type, utimensat, fallocate, memfd_create, mlock,
 * get/setpriority, scheduler queries, setsid/setpgid. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "errname.h"

static void show(const char *what, long r) {
    printf("%-24s %ld %s\n", what, r < 0 ? -1L : r, r < 0 ? errname(errno) : "");
}
#define TRY(what, expr) do { errno = 0; long r_ = (long)(expr); show(what, r_); } while (0)

int main(void) {
    int a = open("/proc/self/exe", O_RDONLY), b = dup(a), c = dup(a);
    TRY("close_range", syscall(SYS_close_range, b, c, 0));
    TRY("fd b closed", fcntl(b, F_GETFD));
    TRY("close_range cloexec", syscall(SYS_close_range, a, a, 4));
    TRY("fd a cloexec", fcntl(a, F_GETFD));
    TRY("close_range bad", syscall(SYS_close_range, 5, 4, 0));

    int m = memfd_create("probe", MFD_CLOEXEC);
    TRY("memfd write", write(m, "hello", 5));
    TRY("memfd fallocate", fallocate(m, 0, 0, 10000));
    struct stat st;
    fstat(m, &st);
    printf("memfd size %ld\n", (long)st.st_size);
    TRY("fallocate punch", fallocate(m, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 10));
    char link[64] = {0};
    char path[32];
    snprintf(path, sizeof path, "/proc/self/fd/%d", m);
    TRY("memfd bad flags", memfd_create("x", 0x100));

    int f = open("/tmp/elfin-misc", O_CREAT | O_RDWR, 0600);
    struct timespec ts[2] = {{0, UTIME_OMIT}, {1234567890, 0}};
    TRY("futimens", futimens(f, ts));
    fstat(f, &st);
    printf("mtime %ld\n", (long)st.st_mtime);
    ts[1].tv_nsec = 2000000000;
    TRY("utimensat bad nsec", utimensat(AT_FDCWD, "/tmp/elfin-misc", ts, 0));
    unlink("/tmp/elfin-misc");
    (void)link;

    char buf[8192];
    TRY("mlock", mlock(buf, sizeof buf));
    TRY("munlock", munlock(buf, sizeof buf));
    TRY("mlock unmapped", mlock((void *)0x10000, 4096));

    TRY("getpriority", getpriority(PRIO_PROCESS, 0));
    TRY("setpriority 5", setpriority(PRIO_PROCESS, 0, 5));
    TRY("getpriority after", getpriority(PRIO_PROCESS, 0));
    TRY("getpriority bad which", getpriority(9, 0));
    TRY("sched_getscheduler", sched_getscheduler(0));
    struct sched_param sp;
    TRY("sched_getparam", sched_getparam(0, &sp));
    printf("priority %d\n", sp.sched_priority);
    TRY("setpgid self", setpgid(0, 0));
    TRY("setpgid bad", setpgid(0, -1));
    return 0;
}

/* Bad arguments must give Linux's errors, never crash the kernel: NULL, unmapped,
 * kernel-half and misaligned pointers, huge lengths, bad descriptors and flags.
 * Prints "call: result errno-name" lines for comparison with the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "errname.h"

static void show(const char *what, long r) {
    printf("%-28s %ld %s\n", what, r < 0 ? -1L : r, r < 0 ? errname(errno) : "");
}

#define TRY(what, expr) do { errno = 0; long r_ = (long)(expr); show(what, r_); } while (0)

int main(void) {
    void *kernel = (void *)0xffff800000001000UL;
    void *unmapped = (void *)0x10000UL;
    char buf[16];
    struct stat st;
    int p[2];
    if (pipe(p) != 0) return 1;

    TRY("write NULL", syscall(SYS_write, 1, NULL, 5));
    TRY("write kernel ptr", syscall(SYS_write, 1, kernel, 5));
    TRY("write len 0", syscall(SYS_write, 1, NULL, 0));
    TRY("read unmapped", syscall(SYS_read, p[0] == 3 ? 3 : p[0], unmapped, 0));
    TRY("write pipe kernel ptr", syscall(SYS_write, p[1], kernel, 4));
    TRY("write bad fd", syscall(SYS_write, 999, buf, 1));
    TRY("write fd -1", syscall(SYS_write, -1, buf, 1));
    TRY("read fd huge", syscall(SYS_read, 0x7fffffff, buf, 1));
    TRY("openat NULL path", syscall(SYS_openat, AT_FDCWD, NULL, O_RDONLY));
    TRY("openat kernel path", syscall(SYS_openat, AT_FDCWD, kernel, O_RDONLY));
    TRY("openat empty path", syscall(SYS_openat, AT_FDCWD, "", O_RDONLY));
    TRY("openat missing", syscall(SYS_openat, AT_FDCWD, "/no/such/file", O_RDONLY));
    TRY("openat bad dirfd", syscall(SYS_openat, 555, "x", O_RDONLY));
    TRY("fstat bad buf", syscall(SYS_fstat, 1, kernel));
    TRY("fstat NULL", syscall(SYS_fstat, 1, NULL));
    TRY("newfstatat NULL path", syscall(SYS_newfstatat, AT_FDCWD, NULL, &st, 0));
    TRY("newfstatat bad flags", syscall(SYS_newfstatat, AT_FDCWD, "/", &st, 0x40000000));
    TRY("writev bad iov", syscall(SYS_writev, 1, kernel, 1));
    TRY("writev iovcnt -1", syscall(SYS_writev, 1, buf, -1));
    TRY("writev iovcnt 5000", syscall(SYS_writev, 1, buf, 5000));
    TRY("mmap len 0", (long)mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == -1 ? -1 : 0);
    TRY("mmap no type", (long)mmap(NULL, 4096, PROT_READ, MAP_ANONYMOUS, -1, 0) == -1 ? -1 : 0);
    TRY("mmap huge", (long)mmap(NULL, 1UL << 62, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == -1 ? -1 : 0);
    TRY("mmap bad fd", (long)mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 999, 0) == -1 ? -1 : 0);
    TRY("mmap misaligned off", (long)mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 1) == -1 ? -1 : 0);
    TRY("munmap misaligned", munmap((void *)0x10001, 4096));
    TRY("munmap len 0", munmap((void *)0x10000, 0));
    TRY("mprotect bad prot", mprotect((void *)0x10000, 4096, 0x1000));
    TRY("clock_gettime bad id", syscall(SYS_clock_gettime, 12345, buf));
    TRY("clock_gettime bad ptr", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, kernel));
    TRY("nanosleep bad nsec", syscall(SYS_nanosleep, &(struct timespec){0, 2000000000L}, NULL));
    TRY("nanosleep NULL", syscall(SYS_nanosleep, NULL, NULL));
    TRY("rt_sigaction SIGKILL", syscall(SYS_rt_sigaction, SIGKILL, &(struct sigaction){0}, NULL, 8));
    TRY("rt_sigaction bad size", syscall(SYS_rt_sigaction, SIGUSR1, NULL, NULL, 4));
    TRY("rt_sigaction sig 0", syscall(SYS_rt_sigaction, 0, NULL, NULL, 8));
    TRY("rt_sigaction sig 65", syscall(SYS_rt_sigaction, 65, NULL, NULL, 8));
    TRY("rt_sigprocmask bad how", syscall(SYS_rt_sigprocmask, 7, buf, NULL, 8));
    TRY("getrandom bad flags", syscall(SYS_getrandom, buf, 4, 0x100));
    TRY("getrandom bad ptr", syscall(SYS_getrandom, kernel, 4, 0));
    TRY("uname bad ptr", syscall(SYS_uname, kernel));
    TRY("getcwd small", syscall(SYS_getcwd, buf, 1));
    TRY("getcwd bad ptr", syscall(SYS_getcwd, kernel, 100));
    struct timespec zero = {0, 0};
    TRY("ppoll bad ptr", syscall(SYS_ppoll, kernel, 1, &zero, NULL, 8));
    TRY("ppoll nfds huge", syscall(SYS_ppoll, buf, 1 << 30, &zero, NULL, 8));
    TRY("lseek pipe", syscall(SYS_lseek, p[0], 0, SEEK_SET));
    int self = open("/proc/self/exe", O_RDONLY);
    TRY("lseek bad whence", syscall(SYS_lseek, self, 0, 99));
    TRY("lseek negative", syscall(SYS_lseek, self, -10, SEEK_SET));
    TRY("dup3 same fd", syscall(SYS_dup3, 1, 1, 0));
    TRY("dup3 bad flags", syscall(SYS_dup3, 1, 5, 0x1));
    TRY("fcntl bad cmd", syscall(SYS_fcntl, 1, 9999, 0));
    TRY("close bad fd", syscall(SYS_close, 4242));
    TRY("futex misaligned", syscall(SYS_futex, buf + 1, 0, 0, NULL, NULL, 0));
    TRY("futex bad ptr", syscall(SYS_futex, kernel, 0, 0, NULL, NULL, 0));
    TRY("prlimit bad resource", syscall(SYS_prlimit64, 0, 999, NULL, buf));
    TRY("sigaltstack small", syscall(SYS_sigaltstack, &(stack_t){.ss_sp = buf, .ss_size = 16}, NULL));
    TRY("readlink not a link", syscall(SYS_readlinkat, AT_FDCWD, "/", buf, sizeof buf));
    TRY("readlink size 0", syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", buf, 0));
    TRY("mkdir existing", syscall(SYS_mkdirat, AT_FDCWD, "/", 0755));
    TRY("unlink dir", syscall(SYS_unlinkat, AT_FDCWD, "/tmp", 0));
    char dir[64], file[80];
    snprintf(dir, sizeof dir, "/tmp/elfin-badargs-%d", 77);
    snprintf(file, sizeof file, "%s/f", dir);
    mkdir(dir, 0700);
    close(open(file, O_CREAT | O_WRONLY, 0600));
    TRY("rmdir non-empty", syscall(SYS_unlinkat, AT_FDCWD, dir, AT_REMOVEDIR));
    TRY("rmdir a file", syscall(SYS_unlinkat, AT_FDCWD, file, AT_REMOVEDIR));
    unlink(file);
    TRY("rmdir emptied", syscall(SYS_unlinkat, AT_FDCWD, dir, AT_REMOVEDIR));
    TRY("chdir to file", syscall(SYS_chdir, "/proc/self/exe"));
    TRY("pipe2 bad flags", syscall(SYS_pipe2, p, 0x1));
    TRY("pipe2 bad ptr", syscall(SYS_pipe2, kernel, 0));
    TRY("epoll_create1 bad flags", syscall(SYS_epoll_create1, 0x1));
    TRY("epoll_pwait bad fd", syscall(SYS_epoll_pwait, 1, buf, 1, 0, NULL, 8));
    TRY("tgkill bad sig", syscall(SYS_tgkill, getpid(), getpid(), 99));
    /* Above any pid_max: no process has it, natively either. */
    TRY("kill nonexistent pid", syscall(SYS_kill, 0x3fffffff, 0));
    puts("still alive");
    return 0;
}

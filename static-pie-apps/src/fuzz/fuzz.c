/* fuzz: elfin's in-guest system-call fuzzer.
 *
 *   fuzz [--seed S] [--start K] [--calls N] [-i NR,NR,...] [--only NAME,...] [--skip K-K,...] [-v] [--native]
 *
 * Makes N random system calls (steps K .. K+N-1) with raw syscall
 * instructions: typed arguments from calls.h (descriptors it opened, mappings
 * it made, threads it started, paths in its own tree), boundary values, and
 * pointers to NULL, unmapped, read-only, kernel-half and non-canonical memory
 * and across a page edge; every number of the arch's syscall table is also
 * called with untyped arguments. Pseudo-calls touch its mappings, start and
 * stop threads, clone children that exit at once, forge rt_sigreturn frames
 * and run privileged or trapping instructions.
 *
 * Reproducible: step k draws all its randomness from (seed, k) alone, so a run
 * can restart at any step (--start) and a step's arguments do not depend on
 * how earlier steps went, only the resources they left behind do.
 *
 * Before each call it writes one line to stderr (the console is synchronous,
 * so the line survives a kernel crash):
 *     @fz STEP NR NAME ARG0 ... ARG5 [| NOTE]
 * and at the end "@fz end STEP". `elfin fuzz` reads these lines; see
 * run-scripts/src/cmd/fuzz.rs. -i lists the syscall numbers the kernel
 * implements; those are picked about eight times as often. --only limits the
 * calls to the ones named (syscall names, or the pseudo-calls touch, thread,
 * insn; "unknown" for numbers that are no syscall). --skip leaves steps out, to
 * find which earlier calls a failure depends on.
 *
 * The fuzzer keeps itself alive: it never calls exit/exit_group, keeps fd 2,
 * its signal handlers, signal mask, alternate stack and limits, recovers from
 * its own faults (SIGSEGV & co.) with a jump back to the loop, and a watchdog
 * thread interrupts a call that blocks for long (a signal, so the call returns
 * EINTR). What still ends it (a call that kills the process) makes
 * `elfin fuzz` restart it at the next step.
 *
 * It refuses to run outside elfin unless given --native, and then leaves out
 * the calls that could harm the host (clock, hostname, scheduler policy), only
 * signals itself, and refuses to run as root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>

#include <sys/stat.h>
#include <sys/time.h>

#include "arch.h"

/* Values some headers lack or name differently per arch. */
#define EFD_NONBLOCK_ O_NONBLOCK
#ifdef __x86_64__
#define MAP_32BIT_ 0x40
#else
#define MAP_32BIT_ 0
#endif
#define AF_UNIX_ 1
#define AF_INET_ 2
#define AF_INET6_ 10
#define AF_NETLINK_ 16
#define AF_PACKET_ 17
#define PR_SET_VMA_ 0x53564d41
#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif

/* The program's own image, from the linker. */
extern char __executable_start[], _end[];

#define PAGE 4096UL
#define NSIG_ALL 64
#define SIGWD SIGUSR2 /* the watchdog's signal */
#define LOGFD 2

typedef uint64_t u64;

/* ------------------------------------------------------------ randomness -- */

static u64 g_seed;
static u64 R; /* the current step's generator state */

static u64 splitmix(u64 *s)
{
    u64 z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static void rng_step(u64 step)
{
    R = g_seed ^ (step * 0xd1342543de82ef95ULL);
    (void)splitmix(&R);
}
static u64 rnd(void) { return splitmix(&R); }
static u64 below(u64 n) { return n ? rnd() % n : 0; }
/* True with probability p/100. */
static int pct(unsigned p) { return below(100) < p; }
#define PICK(arr) ((arr)[below(sizeof(arr) / sizeof((arr)[0]))])

/* ----------------------------------------------------------------- output -- */

static char g_line[8192];
static size_t g_len;

static void out_flush(void)
{
    size_t off = 0;
    while (off < g_len) {
        long r = rsys(SYS_write, LOGFD, (long)(g_line + off), (long)(g_len - off), 0, 0, 0);
        if (r == -EINTR)
            continue;
        if (r <= 0)
            break;
        off += (size_t)r;
    }
    g_len = 0;
}
static void out_s(const char *s)
{
    while (*s && g_len < sizeof g_line - 1)
        g_line[g_len++] = *s++;
}
static void out_c(char c)
{
    if (g_len < sizeof g_line - 1)
        g_line[g_len++] = c;
}
static void out_hex(u64 v)
{
    char b[19];
    int i = 18;
    b[i] = 0;
    do {
        b[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    b[--i] = 'x';
    b[--i] = '0';
    out_s(b + i);
}
static void out_dec(long v)
{
    char b[24];
    int i = 23;
    unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;
    b[i] = 0;
    do {
        b[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        b[--i] = '-';
    out_s(b + i);
}
static void say(const char *s)
{
    out_s("@fz ");
    out_s(s);
    out_c('\n');
    out_flush();
}
static __attribute__((noreturn)) void quit(int status)
{
    for (;;)
        rsys(SYS_exit_group, status, 0, 0, 0, 0, 0);
}

/* Notes: what a pointer argument points at, appended to the step's line. */
static char g_note[1024];
static size_t g_nlen;
static void note(const char *s)
{
    while (*s && g_nlen < sizeof g_note - 1)
        g_note[g_nlen++] = *s++;
    g_note[g_nlen] = 0;
}
static void note_hex(u64 v)
{
    char b[19];
    int i = 18;
    b[i] = 0;
    do {
        b[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    b[--i] = 'x';
    b[--i] = '0';
    note(b + i);
}

static void note_q(const char *str, size_t max)
{
    note("\"");
    for (size_t i = 0; i < max && str[i]; i++) {
        unsigned char c = (unsigned char)str[i];
        char b[5] = {(char)c, 0};
        if (c < 32 || c >= 127 || c == '"' || c == '\\') {
            b[0] = '\\';
            b[1] = 'x';
            b[2] = "0123456789abcdef"[c >> 4];
            b[3] = "0123456789abcdef"[c & 15];
        }
        note(b);
    }
    note("\"");
}

/* ----------------------------------------------------------------- memory -- */

#define SCRATCH_SZ (64 * 1024)
#define ARENA_SZ (256UL << 20)
#define ALT_SZ (64 * 1024)
#define HELPER_STACK (64 * 1024)
#define NHELPERS 8

static uint8_t *g_scratch;      /* RW, a PROT_NONE page on each side */
static uint8_t *g_ro;           /* two read-only pages with a known pattern */
static u64 g_ro_sum;
static uint64_t g_hole;         /* a page that was unmapped (the kernel may reuse it) */
static uint64_t g_none;         /* a PROT_NONE page: never readable */
static uint8_t *g_arena;        /* PROT_NONE reservation for MAP_FIXED targets */
static uint8_t *g_alt;          /* alternate signal stack */
static uint8_t *g_futexes;      /* a page of futex words */
static uint8_t *g_code;         /* the "insn" page */
static uint8_t *g_stacks;       /* helper thread stacks */
uint64_t fz_landing_sp;
static size_t g_bump;           /* per-step allocator in the scratch area */

static void *salloc(size_t n)
{
    size_t a = (g_bump + 15) & ~15UL;
    if (a + n > SCRATCH_SZ / 2)
        a = 0;
    g_bump = a + n;
    return g_scratch + a;
}
static u64 scratch_end(void) { return (u64)g_scratch + SCRATCH_SZ; }
static u64 out_area(void) { return (u64)g_scratch + SCRATCH_SZ / 2 + (below(8) ? below(SCRATCH_SZ / 4) & ~7UL : below(SCRATCH_SZ / 2)); }

static u64 ro_sum(void)
{
    u64 s = 0;
    for (size_t i = 0; i < 2 * PAGE / 8; i++)
        s = s * 31 + ((u64 *)g_ro)[i];
    return s;
}

/* ----------------------------------------------------------------- state -- */

static long g_pid, g_main_tid;
static int g_native;
static int g_verbose;
static u64 g_brk_floor;
#ifdef __x86_64__
static u64 g_fsbase;
#endif

#define NFDS_POOL 64
static int g_fds[NFDS_POOL];
static int g_nfds;
struct map {
    u64 addr, len;
};
#define NMAPS 32
static struct map g_maps[NMAPS];
static int g_nmaps;
static int g_timers[16];
static int g_ntimers;
static long g_children[16];
static int g_nchildren;
static int g_unreaped;

struct helper {
    volatile int ctid; /* cleared by the kernel when the thread exits */
    int tid;
    int kind;
    int iters;
    u64 arg[4];
};
static struct helper g_helpers[NHELPERS + 1]; /* the last one is the watchdog */

/* The watchdog's view of the main thread. */
static volatile int g_in_call;
static volatile u64 g_call_start_ns;
static volatile u64 g_cur_step;
static volatile int g_stop;
static void *g_jmp[5];
static volatile int g_faulted;
static volatile u64 g_wd_sent;
static volatile int g_wd_count; /* signals sent for the current step */

static void add_fd(long fd)
{
    if (fd < 0 || fd > 0xfffff)
        return;
    for (int i = 0; i < g_nfds; i++)
        if (g_fds[i] == fd)
            return;
    if (g_nfds < NFDS_POOL)
        g_fds[g_nfds++] = (int)fd;
    else
        g_fds[below(NFDS_POOL)] = (int)fd;
}
static void drop_fd(long fd)
{
    for (int i = 0; i < g_nfds; i++)
        if (g_fds[i] == fd) {
            g_fds[i] = g_fds[--g_nfds];
            return;
        }
}
static int protected_range(u64 addr, u64 len);
static void add_map(u64 addr, u64 len)
{
    if (!len || len > (1UL << 40) || protected_range(addr, len))
        return;
    len = (len + PAGE - 1) & ~(PAGE - 1);
    if (g_nmaps < NMAPS)
        g_maps[g_nmaps++] = (struct map){addr, len};
    else
        g_maps[below(NMAPS)] = (struct map){addr, len};
}
static void drop_maps(u64 addr, u64 len)
{
    for (int i = 0; i < g_nmaps;) {
        struct map *m = &g_maps[i];
        if (m->addr < addr + len && addr < m->addr + m->len)
            *m = g_maps[--g_nmaps];
        else
            i++;
    }
}
static int in_arena(u64 a) { return a >= (u64)g_arena && a < (u64)g_arena + ARENA_SZ; }

static u64 mono_ns(void)
{
    struct timespec ts;
    rsys(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0, 0, 0, 0);
    return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

/* ------------------------------------------------------ value generators -- */

static const u64 BOUNDARY[] = {
    0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 100, 127, 128, 255, 256, 511, 512, 1023, 1024, 4095, 4096,
    4097, 8191, 8192, 65535, 65536, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff,
    0x100000000ULL, 0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL, ~0ULL - 1, (u64)-4095, (u64)-4096,
    (u64)-4097, 0x7ffffffff000ULL, 0x800000000000ULL, 1ULL << 47, 1ULL << 48, 1ULL << 62,
};

/* An int-ish argument: small, boundary, negative or random. */
static u64 v_int(void)
{
    switch (below(8)) {
    case 0: return below(8);
    case 1: return (u64)(int64_t)(int32_t)-below(4);
    case 2: case 3: return PICK(BOUNDARY);
    case 4: return (u64)(int32_t)rnd();
    case 5: return rnd();
    default: return below(64);
    }
}
static u64 v_u64(void) { return pct(50) ? PICK(BOUNDARY) : (pct(50) ? rnd() : below(0x10000)); }

/* Random flag bits: none, a few low ones, or junk. */
static u64 v_flags(void)
{
    switch (below(6)) {
    case 0: case 1: return 0;
    case 2: return 1UL << below(32);
    case 3: return (1UL << below(24)) | (1UL << below(24));
    case 4: return rnd() & 0xffffffff;
    default: return rnd();
    }
}

static u64 code_ptr(void) { return (u64)(uintptr_t)&fz_landing; }

/* A pointer the kernel must refuse (or that straddles a page edge). */
static u64 bad_ptr(void)
{
    switch (below(13)) {
    case 0: return 0;
    case 1: return 1 + below(4095);
    case 2: return g_hole + below(PAGE);
    case 3: return (u64)g_ro + below(2 * PAGE);
    case 4: case 5: return PICK(KERNEL_ADDRS) + (pct(50) ? 0 : below(PAGE));
    case 6: return PICK(NONCANON_ADDRS);
    case 7: return USER_TOP + below(PAGE) - (pct(50) ? PAGE : 0);
    case 8: return code_ptr();
    case 9: return scratch_end() - 1 - below(64); /* runs into the guard page */
    case 10: return (u64)g_scratch - PAGE + below(PAGE); /* the guard page itself */
    case 11: return rnd() & 0x00007ffffffff000ULL;
    default: return (u64)g_arena + (below(ARENA_SZ) & ~(PAGE - 1)); /* reserved, PROT_NONE (mostly) */
    }
}

/* A pointer nothing can be read through (for arguments whose contents, if
 * readable, would change the fuzzer's own signal handlers). */
static u64 unreadable_ptr(void)
{
    switch (below(5)) {
    case 0: return 0;
    case 1: return g_none + below(PAGE);
    case 2: return PICK(KERNEL_ADDRS);
    case 3: return PICK(NONCANON_ADDRS);
    default: return (u64)g_scratch - PAGE + below(PAGE);
    }
}

/* Places `n` bytes of a structure and returns the pointer argument: mostly a
 * valid copy in the scratch area, sometimes straddling the guard page or a
 * bad pointer instead. */
static u64 place(const void *data, size_t n)
{
    unsigned k = (unsigned)below(100);
    if (k < 85) {
        void *p = salloc(n);
        memcpy(p, data, n);
        return (u64)p;
    }
    if (k < 90 && n > 1) {
        size_t part = 1 + below(n - 1);
        u64 p = scratch_end() - part;
        memcpy((void *)p, data, part);
        return p;
    }
    return bad_ptr();
}

/* A length paired with a buffer: mostly small, sometimes huge or negative. */
static u64 v_len(void)
{
    switch (below(10)) {
    case 0: return 0;
    case 1: return 1 + below(16);
    case 2: case 3: case 4: return below(4096);
    case 5: return PAGE * (1 + below(4)) + below(3) - 1;
    case 6: return below(SCRATCH_SZ / 2);
    case 7: return PICK(BOUNDARY);
    default: return 1 + below(512);
    }
}

/* Buffers: where the kernel writes (out) or reads (in). */
static u64 v_obuf(void)
{
    if (pct(80))
        return out_area();
    if (pct(50) && g_nmaps)
        return g_maps[below(g_nmaps)].addr + (pct(50) ? 0 : below(PAGE));
    return bad_ptr();
}
static u64 v_ibuf(void)
{
    if (pct(85)) {
        size_t n = 64 + below(4096);
        uint8_t *p = salloc(n);
        for (size_t i = 0; i < n; i += 8) {
            u64 r = rnd();
            memcpy(p + i, &r, i + 8 <= n ? 8 : n - i);
        }
        return (u64)p;
    }
    if (pct(50) && g_nmaps)
        return g_maps[below(g_nmaps)].addr;
    return bad_ptr();
}
/* An out pointer for a small structure. */
static u64 v_ostruct(void) { return pct(85) ? out_area() : bad_ptr(); }

/* Descriptors: from the pool, the standard ones, or bad values. fd 2 is the
 * log and never given (nor any value the kernel would truncate to 2). */
static int protected_fd(u64 v)
{
    unsigned lo = (unsigned)v;
    return lo == LOGFD || (g_native && lo <= 2);
}
static u64 v_fd_raw(void)
{
    unsigned k = (unsigned)below(100);
    if (k < 75 && g_nfds)
        return (u64)g_fds[below(g_nfds)];
    if (k < 80)
        return below(3);
    switch (below(8)) {
    case 0: return (u64)-1;
    case 1: return (u64)(long)AT_FDCWD;
    case 2: return 0x7fffffff;
    case 3: return 1023 + below(3);
    case 4: return 0x100000000ULL | (u64)(g_nfds ? g_fds[below(g_nfds)] : 3);
    case 5: return (u64)(int32_t)rnd();
    default: return below(70);
    }
}
static u64 v_fd(void)
{
    u64 v;
    for (int i = 0; i < 8; i++) {
        v = v_fd_raw();
        if (!protected_fd(v))
            return v;
    }
    return (u64)-1;
}
static u64 v_dirfd(void) { return pct(40) ? (u64)(long)AT_FDCWD : v_fd(); }

/* Paths: the fuzzer's tree under /tmp/fz, system files, odd forms, long and
 * unterminated strings, bad pointers. */
static const char *const PATHS[] = {
    "/tmp/fz/f0", "/tmp/fz/f1", "/tmp/fz/f2", "/tmp/fz/d", "/tmp/fz/d/x", "/tmp/fz/d/y/", "/tmp/fz/l",
    "/tmp/fz/loop", "/tmp/fz/dl", "/tmp/fz/n0", "/tmp/fz/n1", "/tmp/fz/n2", "/tmp/fz/fifo", "/tmp/fz/sock",
    "/tmp/fz", "/tmp/fz/", "/tmp/fz/d/..", "/tmp/fz/f0/x", "f0", "d", "./f1", "../fz/f0", "n3", "d/n4",
    "/", ".", "..", "", "/tmp", "//tmp//fz///f0", "/proc/self/maps", "/proc/self/status", "/proc/self/fd",
    "/proc/self/fd/0", "/proc/self/cwd", "/proc", "/dev/null", "/dev/zero", "/dev/urandom", "/dev/tty",
    "/dev/console", "/etc", "/etc/passwd", "/nonexistent", "/tmp/fz/l/x", "/tmp/fz/f0/..",
};
static u64 v_path_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = salloc(n);
    memcpy(p, s, n);
    return (u64)p;
}
static u64 v_path(void)
{
    unsigned k = (unsigned)below(100);
    if (k < 80) {
        const char *s = PATHS[below(sizeof PATHS / sizeof PATHS[0])];
        note(" path=");
        note(s[0] ? s : "(empty)");
        return v_path_str(s);
    }
    if (k < 84) { /* longer than PATH_MAX, or a component longer than NAME_MAX */
        size_t n = pct(50) ? 4096 + below(64) : 256 + below(16);
        char *p = salloc(n + 8);
        memcpy(p, "/tmp/fz/", 8);
        memset(p + 8, pct(50) ? 'a' : '/', n - 1);
        p[n + 7] = 0;
        note(" path=long");
        return (u64)p;
    }
    if (k < 88) { /* no terminator before the guard page */
        size_t n = 1 + below(300);
        char *p = (char *)(scratch_end() - n);
        memset(p, 'z', n);
        note(" path=unterminated");
        return (u64)p;
    }
    if (k < 92) { /* random bytes */
        size_t n = 1 + below(40);
        char *p = salloc(n + 1);
        for (size_t i = 0; i < n; i++)
            p[i] = (char)(1 + below(255));
        p[n] = 0;
        note(" path=random");
        return (u64)p;
    }
    note(" path=bad-pointer");
    return bad_ptr();
}
/* For execve: nothing that would run (no executable file ever gets a name here). */
static const char *const XPATHS[] = {
    "/tmp/fz/f0", "/tmp/fz/d", "/dev/null", "/proc/self/maps", "/nonexistent", "", "/", "/tmp/fz/l", "/tmp/fz/loop",
};
static u64 v_xpath(void)
{
    if (pct(90)) {
        const char *s = PICK(XPATHS);
        note(" path=");
        note(s[0] ? s : "(empty)");
        return v_path_str(s);
    }
    return bad_ptr();
}
static const char *const NAMES[] = {
    "user.a", "user.b", "trusted.x", "security.selinux", "system.posix_acl_access", "", "user.",
    "x", "memfd:a", "user.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
};
static u64 v_name(void)
{
    if (pct(8)) {
        char *p = salloc(300);
        memset(p, 'n', 299);
        p[299] = 0;
        return (u64)p;
    }
    return pct(90) ? v_path_str(PICK(NAMES)) : bad_ptr();
}

static const int OFLAG_BITS[] = {
    O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC, O_APPEND, O_NONBLOCK, O_DSYNC, O_ASYNC, O_DIRECT, O_LARGEFILE,
    O_DIRECTORY, O_NOFOLLOW, O_NOATIME, O_CLOEXEC, O_SYNC, O_PATH, O_TMPFILE,
};
static u64 v_oflags(void)
{
    u64 f = below(4);
    int n = (int)below(4);
    for (int i = 0; i < n; i++)
        f |= (u64)PICK(OFLAG_BITS);
    if (pct(8))
        f |= 1UL << below(32);
    if (pct(3))
        f = rnd();
    return f;
}
static u64 v_mode(void)
{
    static const u64 M[] = {0, 0644, 0755, 0777, 07777, 0100644, 0020666, 0010644, 0140755, 0060600, ~0ULL, 0xffff};
    return pct(80) ? PICK(M) : rnd() & 0xffff;
}
static u64 v_atflags(void)
{
    static const u64 A[] = {0, AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, AT_SYMLINK_FOLLOW, AT_EMPTY_PATH, AT_NO_AUTOMOUNT,
                            AT_EACCESS, AT_STATX_FORCE_SYNC, AT_STATX_DONT_SYNC, 0x10000, 0xffffffff};
    return pct(85) ? PICK(A) | (pct(20) ? PICK(A) : 0) : v_flags();
}
static u64 v_off(void)
{
    switch (below(6)) {
    case 0: return 0;
    case 1: return below(8192);
    case 2: return PAGE * below(16);
    case 3: return (u64)-(int64_t)(1 + below(4096));
    case 4: return PICK(BOUNDARY);
    default: return below(100);
    }
}
static u64 v_offptr(void)
{
    if (pct(40))
        return 0;
    u64 o = v_off();
    return place(&o, 8);
}

static u64 v_ts_value(struct timespec *t)
{
    switch (below(12)) {
    case 0: t->tv_sec = 0; t->tv_nsec = 0; break;
    case 1: case 2: case 3: t->tv_sec = 0; t->tv_nsec = (long)below(2000000); break;
    case 4: t->tv_sec = 0; t->tv_nsec = 999999999; break;
    case 5: t->tv_sec = 0; t->tv_nsec = 1000000000; break;
    case 6: t->tv_sec = -1; t->tv_nsec = 0; break;
    case 7: t->tv_sec = 0; t->tv_nsec = -1; break;
    case 8: t->tv_sec = pct(20) ? 0x7fffffffffffffffL : 0; t->tv_nsec = (long)below(20000000); break;
    case 9: t->tv_sec = (long)rnd(); t->tv_nsec = (long)rnd(); break;
    case 10: t->tv_sec = 0; t->tv_nsec = 1; break;
    default: t->tv_sec = 0; t->tv_nsec = 10000000; break;
    }
    return 0;
}
/* Timeouts: NULL (forever; the watchdog interrupts), short, invalid, huge. */
static u64 v_ts(void)
{
    if (pct(10))
        return 0;
    struct timespec t;
    v_ts_value(&t);
    note(" ts={");
    note_hex((u64)t.tv_sec);
    note(",");
    note_hex((u64)t.tv_nsec);
    note("}");
    return place(&t, sizeof t);
}
/* An interval: none, or at least 10 ms (a signal storm helps nobody), or invalid. */
static void v_interval(struct timespec *t)
{
    switch (below(8)) {
    case 0: case 1: case 2: case 3: t->tv_sec = 0; t->tv_nsec = 0; break;
    case 4: t->tv_sec = 0; t->tv_nsec = 10000000 + (long)below(90000000); break;
    case 5: t->tv_sec = -1; t->tv_nsec = 0; break;
    case 6: t->tv_sec = 0; t->tv_nsec = 1000000000; break;
    default: t->tv_sec = 0x7fffffffffffffffL; t->tv_nsec = 0; break;
    }
}
/* struct itimerspec: interval, then the first expiry. */
static u64 v_its(void)
{
    struct timespec t[2];
    v_interval(&t[0]);
    v_ts_value(&t[1]);
    return pct(5) ? 0 : place(t, sizeof t);
}
/* struct itimerval (microseconds). */
static u64 v_itv(void)
{
    struct timespec t[2];
    v_interval(&t[0]);
    v_ts_value(&t[1]);
    t[0].tv_nsec /= 1000;
    t[1].tv_nsec = t[1].tv_nsec >= 0 && t[1].tv_nsec < 1000000000 ? t[1].tv_nsec / 1000 : t[1].tv_nsec;
    return pct(5) ? 0 : place(t, sizeof t);
}
static u64 v_utimes(void)
{
    struct timespec t[2];
    for (int i = 0; i < 2; i++) {
        v_ts_value(&t[i]);
        if (pct(30))
            t[i].tv_nsec = pct(50) ? UTIME_NOW : UTIME_OMIT;
        if (pct(40))
            t[i].tv_sec = (long)below(2000000000);
    }
    return pct(10) ? 0 : place(t, sizeof t);
}
static u64 v_timeout_ms(void)
{
    static const u64 T[] = {0, 0, 0, 1, 2, 10, (u64)-1, (u64)-2, 0x7fffffff, 0x80000000};
    return PICK(T);
}

/* Signals: all catchable ones, 0, out-of-range; never SIGKILL or SIGSTOP. */
static u64 v_sig(void)
{
    static const u64 ODD[] = {0, 65, 64, (u64)-1, 0x100000001ULL, 1000};
    if (pct(10))
        return PICK(ODD);
    for (;;) {
        u64 s = 1 + below(NSIG_ALL);
        if (s != SIGKILL && s != SIGSTOP)
            return s;
    }
}
/* The signals the fuzzer keeps for itself: faults and the watchdog. */
static int reserved_sig(u64 s)
{
    return s == SIGSEGV || s == SIGBUS || s == SIGILL || s == SIGFPE || s == SIGTRAP || s == SIGSYS || s == SIGWD ||
           s == SIGKILL || s == SIGSTOP;
}
static u64 sanitize_mask(u64 m)
{
    m &= ~((1ULL << (SIGSEGV - 1)) | (1ULL << (SIGBUS - 1)) | (1ULL << (SIGILL - 1)) | (1ULL << (SIGFPE - 1)) |
           (1ULL << (SIGTRAP - 1)) | (1ULL << (SIGSYS - 1)) | (1ULL << (SIGWD - 1)));
    return m;
}
static u64 v_sigset(void)
{
    if (pct(10))
        return 0;
    u64 m[2] = {0, rnd()};
    switch (below(4)) {
    case 0: m[0] = 0; break;
    case 1: m[0] = ~0ULL; break;
    case 2: m[0] = 1ULL << below(64); break;
    default: m[0] = rnd(); break;
    }
    m[0] = sanitize_mask(m[0]);
    /* A sigset the kernel applies while the call sleeps must not block our
     * signals: valid ones are sanitized, bad ones are unreadable. */
    if (pct(90)) {
        void *p = salloc(16);
        memcpy(p, m, 16);
        return (u64)p;
    }
    if (pct(30))
        return scratch_end() - 4; /* straddles the guard page */
    return unreadable_ptr();
}
static u64 v_ssz(void) { return pct(90) ? 8 : PICK(BOUNDARY); }

/* pids: the fuzzer itself, its threads and children, nonexistent ones; never
 * another process on a native run. */
static u64 v_helper_tid(void)
{
    int live[NHELPERS + 1], n = 0;
    for (int i = 0; i <= NHELPERS; i++)
        if (g_helpers[i].ctid)
            live[n++] = g_helpers[i].tid;
    return n ? (u64)live[below(n)] : (u64)g_main_tid;
}
static u64 v_tid(void)
{
    switch (below(10)) {
    case 0: case 1: case 2: return (u64)g_pid;
    case 3: case 4: return v_helper_tid();
    case 5: return 0;
    case 6: return g_nchildren ? (u64)g_children[below(g_nchildren)] : (u64)g_pid;
    case 7: return 0x3fffffff;
    case 8: return (u64)-1 - (g_native ? 0x7fff0000ULL : 0);
    default: return pct(50) ? 0x7fffffff : (u64)(int32_t)(0x40000000 + below(1000));
    }
}
static u64 v_killpid(void)
{
    u64 p = v_tid();
    if (g_native && (p == 0 || (int64_t)(int32_t)p < 0 || (p & 0xffffffff) == 0))
        p = (u64)g_pid;
    return p;
}
static u64 v_waitpid(void)
{
    static const u64 W[] = {(u64)-1, 0, 0x7fffffff, (u64)-0x7fffffff};
    return pct(50) ? PICK(W) : v_tid();
}
static u64 v_waitopt(void)
{
    u64 o = pct(80) ? 1 /* WNOHANG */ : v_flags();
    return o | (pct(30) ? 4 /* WEXITED */ : 0);
}

static u64 v_clock(void)
{
    static const u64 C[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID,
                            CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME,
                            CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM, CLOCK_TAI, 12, 16, (u64)-1, (u64)-6,
                            (u64)-14 /* a per-thread CPU clock of pid 1 */};
    return PICK(C);
}

static u64 v_iov(int *cnt)
{
    int n = (int)below(6);
    if (pct(5))
        n = 64 + (int)below(1100);
    struct iovec *v = salloc(sizeof *v * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        unsigned k = (unsigned)below(10);
        v[i].iov_base = (void *)(k < 7 ? out_area() : k < 8 && g_nmaps ? g_maps[below(g_nmaps)].addr : bad_ptr());
        v[i].iov_len = k == 9 ? PICK(BOUNDARY) : below(pct(80) ? 512 : 70000);
    }
    *cnt = n;
    if (pct(5)) {
        *cnt = n + 1 + (int)below(4);
        return scratch_end() - sizeof *v * (size_t)(n ? n : 1);
    }
    return pct(93) ? (u64)v : bad_ptr();
}

static u64 v_pollfd(int *cnt)
{
    int n = (int)below(8);
    struct pollfd *p = salloc(sizeof *p * 8);
    for (int i = 0; i < n; i++) {
        p[i].fd = (int)v_fd();
        p[i].events = (short)(pct(70) ? (u64)(POLLIN | POLLOUT) >> below(2) : rnd());
        p[i].revents = (short)rnd();
    }
    *cnt = n;
    return pct(95) ? (u64)p : bad_ptr();
}
static u64 v_fdset(void)
{
    if (pct(30))
        return 0;
    u64 *s = salloc(128);
    memset(s, 0, 128);
    for (int i = 0; i < 4; i++) {
        u64 fd = v_fd();
        if (fd < 1024)
            s[fd / 64] |= 1ULL << (fd % 64);
    }
    if (pct(5))
        s[below(16)] = rnd();
    return pct(92) ? (u64)s : bad_ptr();
}

static u64 v_futex_addr(void)
{
    unsigned k = (unsigned)below(100);
    if (k < 80)
        return (u64)g_futexes + 4 * below(64);
    if (k < 85)
        return (u64)g_futexes + 1 + below(64); /* misaligned */
    if (k < 88)
        return (u64)g_ro;
    return bad_ptr();
}

/* A robust futex list at `head` (ROBUST_SZ bytes): empty (pointing at itself),
 * a chain into the futex page, a loop, or junk. The kernel walks it when the
 * thread that registered it exits. */
#define ROBUST_SZ (24 + 8 * 16)
static u64 build_robust(void *mem)
{
    u64 *head = mem;
    u64 *ent = head + 3;
    head[1] = (u64)(int64_t)(pct(70) ? 0 : (int64_t)v_int());
    head[2] = pct(80) ? 0 : (u64)g_futexes;
    switch (below(4)) {
    case 0: head[0] = (u64)head; break;
    case 1:
        head[0] = (u64)ent;
        for (int i = 0; i < 15; i++)
            ent[i] = i < 14 ? (u64)&ent[i + 1] : (u64)head;
        head[1] = (u64)((int64_t)g_futexes - (int64_t)ent);
        break;
    case 2: head[0] = (u64)ent; ent[0] = (u64)ent; break;
    default: head[0] = bad_ptr(); break;
    }
    return (u64)head;
}

/* ---------------------------------------------------------------- helpers -- */

/* Runs in a helper thread: no TLS, raw calls only. */
static long helper_main(void *arg)
{
    struct helper *h = arg;
    struct timespec ts = {0, 1000000};
    for (int i = 0; i < h->iters && !g_stop; i++) {
        switch (h->kind) {
        case 0:
            ts.tv_nsec = (long)(h->arg[0] % 5000000);
            rsys(SYS_nanosleep, (long)&ts, 0, 0, 0, 0, 0);
            break;
        case 1: {
            volatile uint32_t *w = (uint32_t *)(g_futexes + 4 * (h->arg[0] % 64));
            ts.tv_nsec = 10000000;
            rsys(SYS_futex, (long)w, (long)(h->arg[1] & 1 ? FUTEX_WAIT : FUTEX_WAIT_PRIVATE), (long)*w, (long)&ts, 0,
                 0);
            break;
        }
        case 2: rsys(SYS_sched_yield, 0, 0, 0, 0, 0, 0); break;
        case 3:
            if (i == 0)
                rsys(SYS_set_robust_list, (long)h->arg[0], (long)h->arg[1], 0, 0, 0, 0);
            ts.tv_nsec = 2000000;
            rsys(SYS_nanosleep, (long)&ts, 0, 0, 0, 0, 0);
            break;
        case 4: {
            u64 m = sanitize_mask(h->arg[0]);
            if (i == 0)
                rsys(SYS_rt_sigprocmask, SIG_BLOCK, (long)&m, 0, 8, 0, 0);
            ts.tv_nsec = 3000000;
            rsys(SYS_nanosleep, (long)&ts, 0, 0, 0, 0, 0);
            break;
        }
        case 5: {
            uint32_t *w = (uint32_t *)(g_futexes + 4 * (h->arg[0] % 64));
            ts.tv_sec = 0;
            ts.tv_nsec = 5000000;
            if (i == 0)
                rsys(SYS_futex, (long)w, FUTEX_LOCK_PI, 0, (long)&ts, 0, 0);
            rsys(SYS_nanosleep, (long)&ts, 0, 0, 0, 0, 0);
            break;
        }
        case 6: {
            struct timespec t;
            rsys(SYS_clock_gettime, (long)(h->arg[0] % 8), (long)&t, 0, 0, 0, 0);
            rsys(SYS_getpid, 0, 0, 0, 0, 0, 0);
            rsys(SYS_gettid, 0, 0, 0, 0, 0, 0);
            break;
        }
        default: return 0; /* exits at once: races with the main thread using its tid */
        }
    }
    return 0;
}

#define WD_NS 40000000ULL

/* The watchdog interrupts a call that has blocked for WD_NS, and again every
 * WD_NS while it stays blocked (a blocking call is the fuzzer's most common
 * way to lose time). */
static long watchdog_main(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 10000000};
    u64 last_step = ~0ULL, stuck_since = 0;
    for (;;) {
        rsys(SYS_nanosleep, (long)&ts, 0, 0, 0, 0, 0);
        if (g_stop)
            return 0;
        if (!g_in_call) {
            last_step = ~0ULL;
            continue;
        }
        u64 now = mono_ns();
        if (g_cur_step != last_step) {
            last_step = g_cur_step;
            stuck_since = now;
            g_wd_count = 0;
            continue;
        }
        if (now - stuck_since > WD_NS && now - g_wd_sent > WD_NS) {
            g_wd_sent = now;
            g_wd_count++;
            rsys(SYS_tgkill, g_pid, g_main_tid, SIGWD, 0, 0, 0);
        }
    }
}

#define HELPER_FLAGS                                                                                          \
    (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM | CLONE_PARENT_SETTID | \
     CLONE_CHILD_CLEARTID)

static long start_helper(int slot, long extra_flags)
{
    struct helper *h = &g_helpers[slot];
    uint64_t top = (uint64_t)(g_stacks + (size_t)(slot + 1) * HELPER_STACK);
    h->ctid = 1;
    long r = spawn(HELPER_FLAGS | extra_flags, top, (long)&h->tid, (long)&h->ctid, 0,
                   slot == NHELPERS ? watchdog_main : helper_main, h);
    if (r < 0)
        h->ctid = 0;
    return r;
}

/* --------------------------------------------------------------- signals -- */

struct ksigaction {
    u64 handler, flags, restorer, mask;
};
#define SA_RESTORER_ 0x04000000UL

static volatile u64 g_sigcount;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
#ifdef __x86_64__
    /* A forged context may have left AC or DF set. */
    __asm__ volatile("pushq $0x202\n\tpopfq\n\tcld" ::: "cc", "memory");
#endif
    g_sigcount++;
    long tid = rsys(SYS_gettid, 0, 0, 0, 0, 0, 0);
    int fault = (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP ||
                 sig == SIGSYS) &&
                si->si_code > 0;
    if (tid == g_main_tid) {
        /* Still stuck after several interruptions: code that loops forever (a
         * jump into random bytes) or a call the kernel restarts after every
         * signal. Leave the step. */
        if (sig == SIGWD && g_in_call && g_wd_count >= 5) {
            g_faulted = sig;
            __builtin_longjmp(g_jmp, 1);
        }
        if (fault) {
            if (g_in_call) {
                g_faulted = sig;
                __builtin_longjmp(g_jmp, 1);
            }
            out_s("@fz fuzzer-fault sig=");
            out_dec(sig);
            out_s(" addr=");
            out_hex((u64)si->si_addr);
            out_s(" step=");
            out_dec((long)g_cur_step);
            out_c('\n');
            out_flush();
            quit(3);
        }
        return;
    }
    /* A helper faulted (its state was fuzzed), or was sent a forged fault
     * signal: end just that thread. The watchdog carries on (its code cannot
     * fault; the signal was forged). */
    if (fault && tid != g_helpers[NHELPERS].tid)
        for (;;)
            rsys(NR_EXIT, 0, 0, 0, 0, 0, 0);
}

static u64 g_base_mask;

static void install_handler(int sig)
{
    struct ksigaction a = {(u64)on_signal, SA_SIGINFO | SA_ONSTACK | SA_RESTORER_, (u64)fz_restorer, ~0ULL};
    if (sig != SIGWD && !(sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP ||
                          sig == SIGSYS))
        a.flags |= SA_RESTART;
    rsys(SYS_rt_sigaction, sig, (long)&a, 0, 8, 0, 0);
}
/* Puts our handler back wherever a fuzzed rt_sigaction left one that would
 * end the run: SIG_DFL on a signal whose default is fatal, a handler that is
 * neither ours nor SIG_IGN, SA_RESETHAND, or (x86_64) no restorer. */
static void check_handlers(void)
{
    for (int sig = 1; sig <= NSIG_ALL; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        struct ksigaction cur;
        if (rsys(SYS_rt_sigaction, sig, 0, (long)&cur, 8, 0, 0) != 0)
            continue;
        int ignore_default = sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
        int ok = cur.handler == (u64)on_signal || (cur.handler == (u64)SIG_IGN && !reserved_sig((u64)sig)) ||
                 (cur.handler == (u64)SIG_DFL && ignore_default);
        if (cur.handler == (u64)on_signal && (cur.flags & SA_RESETHAND) && !ignore_default)
            ok = 0;
#ifdef __x86_64__
        if (cur.handler == (u64)on_signal && !(cur.flags & SA_RESTORER_))
            ok = 0;
#endif
        if (!ok)
            install_handler(sig);
    }
}

static void restore_altstack(void)
{
    stack_t ss = {.ss_sp = g_alt, .ss_flags = 0, .ss_size = ALT_SZ};
    rsys(SYS_sigaltstack, (long)&ss, 0, 0, 0, 0, 0);
}
static void restore_mask(void) { rsys(SYS_rt_sigprocmask, SIG_SETMASK, (long)&g_base_mask, 0, 8, 0, 0); }

static void restore_fsbase(void)
{
#ifdef __x86_64__
    rsys(SYS_arch_prctl, 0x1002 /* ARCH_SET_FS */, (long)g_fsbase, 0, 0, 0, 0);
#endif
}

void fz_landing_c(void)
{
    restore_fsbase();
    g_faulted = 255;
    __builtin_longjmp(g_jmp, 1);
}

/* -------------------------------------------------------------- the tree -- */

static struct rlimit g_rlim[16];

static void make_tree(void)
{
    static const char data[] = "elfin fuzz file: plain data, not a program\n";
    rsys(SYS_mkdirat, AT_FDCWD, (long)"/tmp", 01777, 0, 0, 0);
    rsys(SYS_mkdirat, AT_FDCWD, (long)"/tmp/fz", 0755, 0, 0, 0);
    rsys(SYS_mkdirat, AT_FDCWD, (long)"/tmp/fz/d", 0755, 0, 0, 0);
    const char *files[] = {"/tmp/fz/f0", "/tmp/fz/f1", "/tmp/fz/f2"};
    for (int i = 0; i < 3; i++) {
        long fd = rsys(SYS_openat, AT_FDCWD, (long)files[i], O_RDWR | O_CREAT | O_CLOEXEC, 0644, 0, 0);
        if (fd >= 0) {
            for (int j = 0; j < 64 * (i + 1); j++)
                rsys(SYS_write, fd, (long)data, sizeof data - 1, 0, 0, 0);
            rsys(SYS_close, fd, 0, 0, 0, 0, 0);
        }
    }
    rsys(SYS_symlinkat, (long)"f0", AT_FDCWD, (long)"/tmp/fz/l", 0, 0, 0);
    rsys(SYS_symlinkat, (long)"loop", AT_FDCWD, (long)"/tmp/fz/loop", 0, 0, 0);
    rsys(SYS_symlinkat, (long)"d", AT_FDCWD, (long)"/tmp/fz/dl", 0, 0, 0);
    rsys(SYS_chdir, (long)"/tmp/fz", 0, 0, 0, 0, 0);
}

static void open_base_fds(void)
{
    long fd, p[2] = {-1, -1};
    int pi[2];
    const struct {
        const char *path;
        int flags;
    } F[] = {{"/tmp/fz/f0", O_RDWR}, {"/tmp/fz/f1", O_RDONLY}, {"/tmp/fz/d", O_RDONLY | O_DIRECTORY},
             {"/dev/null", O_RDWR}, {"/dev/zero", O_RDONLY}, {"/proc/self/maps", O_RDONLY},
             {"/tmp/fz/f2", O_RDWR | O_APPEND}, {"/tmp/fz/f0", O_WRONLY}};
    for (size_t i = 0; i < sizeof F / sizeof F[0]; i++)
        add_fd(rsys(SYS_openat, AT_FDCWD, (long)F[i].path, F[i].flags, 0, 0, 0));
    if (rsys(SYS_pipe2, (long)pi, O_NONBLOCK, 0, 0, 0, 0) == 0) {
        add_fd(pi[0]);
        add_fd(pi[1]);
    }
    if (rsys(SYS_pipe2, (long)pi, 0, 0, 0, 0, 0) == 0) {
        add_fd(pi[0]);
        add_fd(pi[1]);
        p[0] = pi[0];
    }
    add_fd(rsys(SYS_eventfd2, 0, EFD_NONBLOCK_, 0, 0, 0, 0));
    fd = rsys(SYS_epoll_create1, 0, 0, 0, 0, 0, 0);
    if (fd >= 0) {
        add_fd(fd);
        struct epoll_event ev = {.events = EPOLLIN, .data = {.u64 = 7}};
        if (p[0] >= 0)
            rsys(SYS_epoll_ctl, fd, EPOLL_CTL_ADD, p[0], (long)&ev, 0, 0);
    }
    add_fd(rsys(SYS_memfd_create, (long)"fz", 0, 0, 0, 0, 0));
}

static void add_arena_maps(void)
{
    for (int i = 0; i < 3; i++) {
        u64 a = (u64)g_arena + (below(ARENA_SZ / PAGE - 64) * PAGE);
        u64 len = PAGE * (1 + below(16));
        long r = rsys(SYS_mmap, (long)a, (long)len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                      -1, 0);
        if (r >= 0)
            add_map((u64)r, len);
    }
}

/* Brings the process back to a usable state: every 4096 steps and at start. */
static void refresh(void)
{
    make_tree();
    if (g_nfds < 12)
        open_base_fds();
    if (g_nmaps < 4)
        add_arena_maps();
    for (int r = 0; r < 16; r++)
        rsys(SYS_prlimit64, 0, r, (long)&g_rlim[r], 0, 0, 0);
    struct itimerval zero = {{0, 0}, {0, 0}};
    for (int w = 0; w < 3; w++)
        rsys(SYS_setitimer, w, (long)&zero, 0, 0, 0, 0);
    for (int t = 0; t < 64; t++)
        rsys(SYS_timer_delete, t, 0, 0, 0, 0, 0);
    g_ntimers = 0;
    for (int s = 1; s <= NSIG_ALL; s++)
        if (s != SIGKILL && s != SIGSTOP)
            install_handler(s);
    restore_altstack();
    restore_mask();
    rsys(SYS_personality, 0, 0, 0, 0, 0, 0);
}

/* ------------------------------------------------------------ the table -- */

enum kind {
    K_JUNK, K_INT, K_U64, K_FLAGS, K_FD, K_NEWFD, K_DIRFD, K_OBUF, K_IBUF, K_LEN, K_OSTRUCT, K_ISTRUCT, K_PATH,
    K_XPATH, K_NAME, K_OFLAGS, K_MODE, K_ATFLAGS, K_OFF, K_OFFPTR, K_WHENCE, K_RWF, K_FALLOC, K_FLOCKOP, K_IOV,
    K_IOVCNT, K_POLLFD, K_NFDS, K_FDSET, K_TS, K_TV, K_ITS, K_UTIMES, K_TIMEOUT_MS, K_SIG, K_SIGSET, K_SSZ,
    K_PSELSIG, K_ITV, K_SIGACT, K_SIGINFO, K_STACK, K_TID, K_PID, K_KILLPID, K_WAITPID, K_WAITOPT, K_CLOCK, K_EPOP,
    K_EPEV, K_MAXEV, K_FUTEX, K_ROBUST, K_ROBUSTLEN, K_RSEQ, K_RSEQLEN, K_CPULEN, K_PRIOWHICH, K_CLONEFL,
    K_ADDR, K_MLEN, K_PROT, K_MFLAGS, K_MREMAPFL, K_MADV, K_MSFLAGS, K_RES, K_RLIM, K_UID, K_CAPHDR, K_ARGV,
    K_OPENHOW, K_HOWSZ, K_RENAMEFL, K_SIGEVENT, K_TIMERID, K_DOMAIN, K_SOCKTYPE, K_SOCKADDR, K_SOCKLEN, K_MSGHDR,
};
enum special {
    S_NONE, S_RET_FD, S_CLOSE, S_CLOSE_RANGE, S_FCNTL, S_IOCTL, S_PIPE, S_PIPE4, S_EXEC, S_MMAP, S_RANGE,
    S_MREMAP, S_BRK, S_FUTEX, S_SIGACTION, S_SIGMASK, S_ALTSTACK, S_TGKILL, S_ITIMER, S_TIMER_CREATE, S_RLIMIT,
    S_PRCTL, S_PERSONALITY, S_NATIVE_NO, S_ALARM, S_ARCH_PRCTL, S_SHMAT,
    /* pseudo-calls */
    S_GENERIC, S_TOUCH, S_THREAD, S_CLONE, S_CLONE3, S_FORK, S_VFORK, S_SIGRETURN, S_INSN,
};

struct row {
    const char *name;
    long nr;
    unsigned char weight;
    unsigned char special;
    unsigned char k[6];
};

#define R(nm, w, sp, a, b, c, d, e, f) {#nm, SYS_##nm, w, sp, {a, b, c, d, e, f}},
static const struct row ROWS[] = {
#include "calls.h"
    {"touch", -1, 4, S_TOUCH, {0}},
    {"thread", -1, 2, S_THREAD, {0}},
    {"clone", 56 /* unused */, 2, S_CLONE, {0}},
    {"clone3", 435, 2, S_CLONE3, {0}},
#ifdef SYS_fork
    {"fork", SYS_fork, 1, S_FORK, {0}},
    {"vfork", SYS_vfork, 1, S_VFORK, {0}},
#endif
    {"rt_sigreturn", SYS_rt_sigreturn, 1, S_SIGRETURN, {0}},
    {"insn", -1, 3, S_INSN, {0}},
};
#undef R
#define NROWS (sizeof ROWS / sizeof ROWS[0])

/* Every syscall name of the arch, from the kernel headers (generated at build time). */
struct sysname {
    long nr;
    const char *name;
};
static const struct sysname SYSNAMES[] = {
#include "sysnames.h"
};
#define NSYSNAMES (sizeof SYSNAMES / sizeof SYSNAMES[0])

/* Calls never made with untyped arguments: they end the process, replace it,
 * signal others, or (on a native run) change the host. */
static int generic_ok(const char *name)
{
    static const char *const NEVER[] = {
        "exit", "exit_group", "rt_sigreturn", "clone", "clone3", "fork", "vfork", "execve", "execveat", "kill", "tkill",
        "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_send_signal", "reboot", "kexec_load",
        "kexec_file_load", "init_module", "finit_module", "delete_module", "seccomp", "vhangup", "swapon", "swapoff",
        "ptrace", "process_vm_writev",
    };
    static const char *const NATIVE_NEVER_PREFIX[] = {
        "mount", "umount", "pivot_root", "chroot", "move_mount", "fs", "open_tree", "acct", "quotactl", "syslog",
        "settimeofday", "clock_settime", "adjtimex", "clock_adjtime", "sethostname", "setdomainname", "sched_set",
        "setpriority", "ioprio_set", "migrate_pages", "move_pages", "mbind", "set_mempolicy", "kcmp", "process_",
        "perf_event_open", "bpf", "userfaultfd", "io_", "add_key", "request_key", "keyctl", "fanotify",
        "name_to_handle_at", "open_by_handle_at", "landlock", "prctl", "setns", "unshare", "iopl", "ioperm",
        "lookup_dcookie", "nfsservctl", "uselib", "stime", "setuid", "setgid", "setre", "setres", "setfs",
        "setgroups", "capset", "personality", "memfd_secret", "sync", "cachestat", "map_shadow_stack",
    };
    for (size_t i = 0; i < sizeof NEVER / sizeof NEVER[0]; i++)
        if (!strcmp(name, NEVER[i]))
            return 0;
    if (g_native)
        for (size_t i = 0; i < sizeof NATIVE_NEVER_PREFIX / sizeof NATIVE_NEVER_PREFIX[0]; i++)
            if (!strncmp(name, NATIVE_NEVER_PREFIX[i], strlen(NATIVE_NEVER_PREFIX[i])))
                return 0;
    return 1;
}

/* The choice table: rows, then untyped numbers; cumulative weights. */
#define MAXCHOICE 1024
struct choice {
    long nr;           /* syscall number, or -1 for a pseudo-call */
    const struct row *row; /* NULL: untyped arguments */
    const char *name;
    u64 cum;
};
static struct choice g_choices[MAXCHOICE];
static int g_nchoices;
static long g_impl[1024];
static int g_nimpl = -1; /* -1: no list given, every call counts as implemented */

static int implemented(long nr)
{
    if (g_nimpl < 0)
        return 1;
    for (int i = 0; i < g_nimpl; i++)
        if (g_impl[i] == nr)
            return 1;
    return 0;
}
/* --only: a comma-separated list of call names; the others are left out. */
static const char *g_only;

static int wanted(const char *name)
{
    if (!g_only)
        return 1;
    size_t n = strlen(name);
    for (const char *p = g_only; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, name, n))
            return 1;
        p += len + (e ? 1 : 0);
    }
    return 0;
}

static void add_choice(long nr, const struct row *row, const char *name, u64 w)
{
    if (g_nchoices >= MAXCHOICE || !w || !wanted(name))
        return;
    u64 prev = g_nchoices ? g_choices[g_nchoices - 1].cum : 0;
    g_choices[g_nchoices++] = (struct choice){nr, row, name, prev + w};
}
static void build_choices(void)
{
    for (size_t i = 0; i < NROWS; i++) {
        const struct row *r = &ROWS[i];
        if (g_native && (r->special == S_NATIVE_NO || r->special == S_SIGRETURN || r->special == S_INSN))
            continue;
        u64 w = r->weight;
        if (r->nr >= 0 && r->special < S_GENERIC)
            w *= implemented(r->nr) ? 8 : 1;
        else
            w *= 8;
        add_choice(r->nr, r, r->name, w);
    }
    for (size_t i = 0; i < NSYSNAMES; i++) {
        int has_row = 0;
        for (size_t j = 0; j < NROWS; j++)
            if (ROWS[j].nr == SYSNAMES[i].nr && ROWS[j].special < S_GENERIC)
                has_row = 1;
        if (has_row || !generic_ok(SYSNAMES[i].name))
            continue;
        add_choice(SYSNAMES[i].nr, NULL, SYSNAMES[i].name, implemented(SYSNAMES[i].nr) ? 4 : 1);
    }
    /* Numbers with no syscall: gaps, past the end, x32 and high bits on a safe one. */
    add_choice(-2, NULL, "unknown", 6);
}
static const struct choice *pick_choice(void)
{
    u64 x = below(g_choices[g_nchoices - 1].cum);
    int lo = 0, hi = g_nchoices - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (g_choices[mid].cum > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return &g_choices[lo];
}
static long unknown_nr(void)
{
    long maxnr = 0;
    for (size_t i = 0; i < NSYSNAMES; i++)
        if (SYSNAMES[i].nr > maxnr)
            maxnr = SYSNAMES[i].nr;
    for (;;) {
        long n;
        switch (below(5)) {
        case 0: n = maxnr + 1 + (long)below(100); break;
        case 1: n = (long)below(512); break;
        case 2: n = pct(50) ? -1 : 0x7fffffff; break;
        case 3: n = 0x40000000L | (long)below(600); break; /* x32 on x86_64 */
        default: n = (long)(0x100000000ULL * (1 + below(4)) + (u64)SYS_getpid); break;
        }
        /* Only numbers that are no syscall, or getpid, in their low 32 bits
         * (the kernel may truncate), and not the x32 form of a real call. */
        long lo = (long)(uint32_t)n & ~0x40000000L;
        int known = 0;
        for (size_t i = 0; i < NSYSNAMES; i++)
            if (SYSNAMES[i].nr == lo)
                known = 1;
        if (!known || lo == SYS_getpid)
            return n;
    }
}

/* ------------------------------------------------------ argument kinds -- */

static int g_iovcnt, g_nfds_arg;

static u64 gen(int k)
{
    switch (k) {
    case K_JUNK: return pct(70) ? 0 : rnd();
    case K_INT: return v_int();
    case K_U64: return v_u64();
    case K_FLAGS: return v_flags();
    case K_FD: return v_fd();
    case K_NEWFD: {
        u64 v = pct(50) && g_nfds ? (u64)g_fds[below(g_nfds)] : 3 + below(80);
        return protected_fd(v) ? 5 : v;
    }
    case K_DIRFD: return v_dirfd();
    case K_OBUF: return v_obuf();
    case K_IBUF: return v_ibuf();
    case K_LEN: return v_len();
    case K_OSTRUCT: return v_ostruct();
    case K_ISTRUCT: return v_ibuf();
    case K_PATH: return v_path();
    case K_XPATH: return v_xpath();
    case K_NAME: return v_name();
    case K_OFLAGS: return v_oflags();
    case K_MODE: return v_mode();
    case K_ATFLAGS: return v_atflags();
    case K_OFF: return v_off();
    case K_OFFPTR: return v_offptr();
    case K_WHENCE: return pct(90) ? below(5) : v_int();
    case K_RWF: return pct(50) ? 0 : (pct(70) ? 1UL << below(6) : v_flags());
    case K_FALLOC: {
        static const u64 F[] = {0, 1, 3, 8, 0x10, 0x20, 0x40, 2, 0x7f};
        return pct(90) ? PICK(F) : v_flags();
    }
    case K_FLOCKOP: {
        static const u64 F[] = {1, 2, 8, 5, 6, 9, 0, 3, 7, 0x20, (u64)-1};
        return PICK(F);
    }
    case K_IOV: return v_iov(&g_iovcnt);
    case K_IOVCNT: return pct(85) ? (u64)g_iovcnt : v_int();
    case K_POLLFD: return v_pollfd(&g_nfds_arg);
    case K_NFDS: return pct(80) ? (u64)g_nfds_arg + below(2) * 64 : v_int();
    case K_FDSET: return v_fdset();
    case K_TS: return v_ts();
    case K_TV: {
        struct timespec t;
        v_ts_value(&t);
        t.tv_nsec /= 1000;
        return pct(10) ? 0 : place(&t, sizeof t);
    }
    case K_ITS: return v_its();
    case K_ITV: return v_itv();
    case K_UTIMES: return v_utimes();
    case K_TIMEOUT_MS: return v_timeout_ms();
    case K_SIG: return v_sig();
    case K_SIGSET: return v_sigset();
    case K_SSZ: return v_ssz();
    case K_PSELSIG: {
        u64 d[2] = {v_sigset(), v_ssz()};
        return pct(30) ? 0 : place(d, sizeof d);
    }
    case K_SIGACT: return 0; /* S_SIGACTION */
    case K_SIGINFO: {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        for (size_t i = 0; i < sizeof si; i += 8) {
            u64 r = pct(50) ? 0 : rnd();
            memcpy((char *)&si + i, &r, 8);
        }
        si.si_signo = (int)v_sig();
        si.si_code = pct(60) ? -1 - (int)below(6) : (int)v_int();
        return place(&si, sizeof si);
    }
    case K_STACK: return 0; /* S_ALTSTACK */
    case K_TID: case K_PID: return v_tid();
    case K_KILLPID: return v_killpid();
    case K_WAITPID: return v_waitpid();
    case K_WAITOPT: return v_waitopt();
    case K_CLOCK: return v_clock();
    case K_EPOP: return pct(90) ? 1 + below(3) : v_int();
    case K_EPEV: {
        struct epoll_event ev;
        static const u64 E[] = {EPOLLIN, EPOLLOUT, EPOLLIN | EPOLLET, EPOLLIN | EPOLLONESHOT, EPOLLIN | EPOLLEXCLUSIVE,
                                EPOLLRDHUP | EPOLLPRI, EPOLLWAKEUP | EPOLLIN, 0};
        ev.events = (uint32_t)(pct(85) ? PICK(E) : rnd());
        ev.data.u64 = rnd();
        return pct(5) ? 0 : place(&ev, sizeof ev);
    }
    case K_MAXEV: {
        static const u64 M[] = {1, 2, 8, 64, 0, (u64)-1, 0x7fffffff, 1000000};
        return PICK(M);
    }
    case K_FUTEX: return v_futex_addr();
    case K_ROBUST: return pct(90) ? build_robust(salloc(ROBUST_SZ)) : bad_ptr();
    case K_ROBUSTLEN: return pct(90) ? 24 : v_int();
    case K_RSEQ: {
        uint32_t *r = salloc(32);
        memset(r, 0, 32);
        r[1] = (uint32_t)rnd();
        if (pct(30))
            *(u64 *)(r + 2) = bad_ptr();
        return pct(85) ? (u64)r : bad_ptr();
    }
    case K_RSEQLEN: return pct(80) ? 32 : v_int();
    case K_CPULEN: {
        static const u64 C[] = {8, 8, 128, 0, 1, 7, 4096, 1 << 20, (u64)-1};
        return PICK(C);
    }
    case K_PRIOWHICH: return pct(80) ? 0 : (g_native ? 0 : below(4));
    case K_CLONEFL: {
        static const u64 C[] = {CLONE_FILES, CLONE_FS, CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
                                CLONE_NEWUTS, CLONE_NEWIPC, CLONE_SYSVSEM, CLONE_VM, CLONE_SIGHAND, CLONE_THREAD, 0};
        return pct(85) ? PICK(C) | (pct(30) ? PICK(C) : 0) : v_flags();
    }
    case K_ADDR: {
        unsigned k = (unsigned)below(100);
        if (k < 55 && g_nmaps) {
            struct map *m = &g_maps[below(g_nmaps)];
            u64 off = pct(60) ? 0 : (below(m->len / PAGE + 1) * PAGE) + (pct(10) ? below(PAGE) : 0);
            return m->addr + off;
        }
        if (k < 75)
            return (u64)g_arena + below(ARENA_SZ / PAGE) * PAGE;
        if (k < 85)
            return 0;
        return bad_ptr();
    }
    case K_MLEN: {
        switch (below(10)) {
        case 0: return PAGE;
        case 1: case 2: return PAGE * (1 + below(16));
        case 3: return 1 + below(2 * PAGE);
        case 4: return 2UL << 20;
        case 5: return 0;
        case 6: return PICK(BOUNDARY);
        case 7: return (u64)(1 + below(64)) << 20;
        default: return PAGE * (1 + below(4));
        }
    }
    case K_PROT: {
        u64 p = below(8);
        if (pct(5))
            p |= PROT_GROWSDOWN;
        if (pct(3))
            p |= PROT_GROWSUP;
        if (pct(5))
            p = v_flags();
        return p;
    }
    case K_MFLAGS: {
        static const u64 T[] = {MAP_PRIVATE, MAP_PRIVATE, MAP_SHARED, MAP_SHARED_VALIDATE, 0, 3};
        static const u64 B[] = {MAP_ANONYMOUS, MAP_ANONYMOUS, MAP_ANONYMOUS, MAP_NORESERVE, MAP_POPULATE, MAP_GROWSDOWN,
                                MAP_STACK, MAP_LOCKED, MAP_HUGETLB, MAP_FIXED_NOREPLACE, MAP_32BIT_, MAP_NONBLOCK,
                                MAP_SYNC, MAP_DENYWRITE, MAP_EXECUTABLE, 0x80000};
        u64 f = PICK(T) | PICK(B);
        if (pct(40))
            f |= PICK(B);
        if (pct(5))
            f |= 1UL << below(32);
        return f;
    }
    case K_MREMAPFL: {
        static const u64 F[] = {0, 1, 1, 3, 5, 7, 4, 2, 8};
        return pct(95) ? PICK(F) : v_flags();
    }
    case K_MADV: {
        static const u64 M[] = {0, 1, 2, 3, 4, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
                                999};
        return pct(95) ? PICK(M) : v_int();
    }
    case K_MSFLAGS: return pct(90) ? below(8) : v_flags();
    case K_RES: return pct(90) ? below(16) : v_int();
    case K_RLIM: {
        u64 l[2];
        l[0] = pct(50) ? ~0ULL : v_u64();
        l[1] = pct(60) ? ~0ULL : v_u64();
        return pct(10) ? 0 : place(l, 16);
    }
    case K_UID: {
        static const u64 U[] = {0, 0, 1, 65534, (u64)-1, 0xffffffff, 1000, 0x7fffffff};
        return PICK(U);
    }
    case K_CAPHDR: {
        uint32_t h[2] = {pct(80) ? 0x20080522u : (uint32_t)rnd(), (uint32_t)(pct(80) ? 0 : v_tid())};
        return place(h, 8);
    }
    case K_ARGV: {
        if (pct(20))
            return pct(50) ? 0 : bad_ptr();
        size_t n = below(6);
        if (pct(5))
            n = 2000 + below(100000); /* past ARG_MAX */
        u64 *v = (u64 *)salloc(8 * (n < 1000 ? n + 1 : 1000));
        size_t cap = n < 1000 ? n : 999;
        for (size_t i = 0; i < cap; i++)
            v[i] = pct(90) ? v_path_str("arg") : bad_ptr();
        v[cap] = n < 1000 ? 0 : (u64)v; /* loops back: long enough for E2BIG */
        return (u64)v;
    }
    case K_OPENHOW: {
        u64 h[3] = {v_oflags(), v_mode(), pct(50) ? 0 : (pct(80) ? 1UL << below(6) : rnd())};
        return place(h, 24);
    }
    case K_HOWSZ: return pct(85) ? 24 : PICK(BOUNDARY);
    case K_RENAMEFL: return pct(70) ? below(8) : v_flags();
    case K_SIGEVENT: {
        uint32_t ev[16];
        memset(ev, 0, sizeof ev);
        *(u64 *)ev = rnd();
        ev[2] = (uint32_t)v_sig();
        static const uint32_t N[] = {0 /* SIGEV_SIGNAL */, 1 /* NONE */, 2 /* THREAD */, 4 /* THREAD_ID */, 4, 7, 0};
        ev[3] = pct(90) ? PICK(N) : (uint32_t)rnd();
        ev[4] = (uint32_t)v_tid();
        if (reserved_sig(ev[2]))
            ev[2] = SIGUSR1;
        return pct(10) ? 0 : place(ev, sizeof ev);
    }
    case K_TIMERID: return g_ntimers && pct(80) ? (u64)g_timers[below(g_ntimers)] : v_int();
    case K_DOMAIN: {
        static const u64 D[] = {AF_UNIX_, AF_INET_, AF_INET6_, AF_NETLINK_, AF_PACKET_, 0, 45, 9999};
        return PICK(D);
    }
    case K_SOCKTYPE: return (pct(90) ? 1 + below(5) : v_int()) | (pct(30) ? 04000 | 02000000 : 0);
    case K_SOCKADDR: {
        uint8_t sa[112];
        memset(sa, 0, sizeof sa);
        switch (below(4)) {
        case 0: sa[0] = 1; memcpy(sa + 2, "/tmp/fz/sock", 13); break; /* AF_UNIX */
        case 1: sa[0] = 1; memcpy(sa + 3, "fz-abstract", 11); break;  /* abstract */
        case 2: sa[0] = 2; sa[2] = (uint8_t)below(256); sa[3] = (uint8_t)below(256); sa[4] = 127; sa[7] = 1; break;
        default: sa[0] = (uint8_t)below(50); break;
        }
        return place(sa, sizeof sa);
    }
    case K_SOCKLEN: {
        static const u64 L[] = {16, 110, 0, 1, 2, 28, 128, 1000, (u64)-1};
        return PICK(L);
    }
    case K_MSGHDR: {
        u64 *m = salloc(56);
        int cnt;
        m[0] = pct(50) ? 0 : gen(K_SOCKADDR);
        m[1] = gen(K_SOCKLEN);
        m[2] = v_iov(&cnt);
        m[3] = pct(90) ? (u64)cnt : v_u64();
        m[4] = pct(70) ? 0 : v_ibuf();
        m[5] = pct(70) ? 0 : v_len();
        m[6] = v_flags();
        return pct(90) ? (u64)m : bad_ptr();
    }
    default: return rnd();
    }
}

/* ----------------------------------------------------------- fix-ups -- */

/* Clamps a range argument so that a huge length from one of our mappings
 * cannot reach the fuzzer's own memory. */
static void stop_below_own(u64 addr, u64 *len);
static void clamp_range(u64 addr, u64 *len)
{
    stop_below_own(addr, len);
    if (in_arena(addr)) {
        u64 room = (u64)g_arena + ARENA_SZ - addr;
        if (*len > room)
            *len = room;
        return;
    }
    for (int i = 0; i < g_nmaps; i++) {
        struct map *m = &g_maps[i];
        if (addr >= m->addr && addr < m->addr + m->len) {
            u64 room = m->addr + m->len - addr;
            if (*len > room)
                *len = room;
            return;
        }
    }
    /* Not ours: harmless only when it is no user address at all. */
    if (addr < USER_LIMIT && addr > PAGE && *len > PAGE)
        *len = PAGE;
}
static u64 g_stack_top;

/* The fuzzer's own memory, [start, end) each: its mappings, the image, the heap
 * below the break (glibc keeps TLS there) and the main stack. A fuzzed munmap,
 * mprotect, madvise, mremap or fixed mapping must not reach any of it. */
static int own_regions(u64 *starts, u64 *ends)
{
    const u64 r[][2] = {
        {(u64)g_scratch - PAGE, (u64)g_scratch + SCRATCH_SZ + PAGE},
        {(u64)g_ro, (u64)g_ro + 2 * PAGE},
        {(u64)g_alt, (u64)g_alt + ALT_SZ},
        {(u64)g_futexes, (u64)g_futexes + PAGE},
        {g_none, g_none + PAGE},
        {(u64)g_code, (u64)g_code + 2 * PAGE},
        {(u64)g_stacks, (u64)g_stacks + (NHELPERS + 3) * HELPER_STACK},
        {(u64)__executable_start & ~(PAGE - 1), ((u64)_end + 2 * PAGE) & ~(PAGE - 1)},
        {g_brk_floor - (1UL << 20), g_brk_floor},
        {g_stack_top - (8UL << 20), g_stack_top + 2 * PAGE},
    };
    int n = (int)(sizeof r / sizeof r[0]);
    for (int i = 0; i < n; i++) {
        starts[i] = r[i][0];
        ends[i] = r[i][1];
    }
    return n;
}

/* Whether [addr, addr + len) (at least one byte) meets the fuzzer's own memory. */
static int protected_range(u64 addr, u64 len)
{
    u64 s[16], e[16];
    u64 end = addr + (len ? len : 1);
    if (end < addr)
        end = ~0ULL;
    int n = own_regions(s, e);
    for (int i = 0; i < n; i++)
        if (addr < e[i] && s[i] < end)
            return 1;
    return 0;
}

/* Shortens *len so that [addr, addr + *len) stops below the fuzzer's own memory
 * (addr itself must lie outside it). */
static void stop_below_own(u64 addr, u64 *len)
{
    u64 s[16], e[16];
    int n = own_regions(s, e);
    for (int i = 0; i < n; i++)
        if (s[i] >= addr && *len > s[i] - addr)
            *len = s[i] - addr;
}

static int g_post_prctl, g_post_sigaction, g_post_restore_mask, g_post_altstack, g_post_rlimit, g_post_personality, g_post_fs;
static u64 g_mremap_old, g_mremap_oldlen;

static u64 fcntl_arg(u64 cmd)
{
    switch (cmd) {
    case F_DUPFD: case F_DUPFD_CLOEXEC: return pct(80) ? below(100) : v_int();
    case F_SETFD: return below(4);
    case F_SETFL: return v_oflags();
    case F_GETLK: case F_SETLK: case F_SETLKW: case F_OFD_GETLK: case F_OFD_SETLK: case F_OFD_SETLKW: {
        struct flock l;
        memset(&l, 0, sizeof l);
        static const short T[] = {F_RDLCK, F_WRLCK, F_UNLCK, 7};
        l.l_type = pct(90) ? PICK(T) : (short)rnd();
        l.l_whence = (short)(pct(90) ? below(3) : rnd());
        l.l_start = (off_t)(pct(70) ? below(4096) : v_off());
        l.l_len = (off_t)(pct(70) ? below(4096) : v_off());
        l.l_pid = pct(80) ? 0 : (int)rnd();
        return place(&l, sizeof l);
    }
    case F_SETOWN: return v_tid();
    case F_SETSIG: { u64 s = v_sig(); return reserved_sig(s) ? SIGUSR1 : s; }
    case F_SETPIPE_SZ: return PICK(BOUNDARY);
    case F_ADD_SEALS: return below(32);
    case F_SETLEASE: return below(4);
    case F_NOTIFY: return v_flags();
    default: return pct(50) ? v_ostruct() : v_u64();
    }
}

static void fixup(const struct row *r, u64 *a)
{
    switch (r->special) {
    case S_FCNTL: {
        static const u64 C[] = {F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_GETLK, F_SETLK, F_SETLKW, F_SETOWN,
                                F_GETOWN, F_SETSIG, F_GETSIG, F_SETOWN_EX, F_GETOWN_EX, F_OFD_GETLK, F_OFD_SETLK,
                                F_OFD_SETLKW, F_SETLEASE, F_GETLEASE, F_NOTIFY, F_DUPFD_CLOEXEC, F_SETPIPE_SZ,
                                F_GETPIPE_SZ, F_ADD_SEALS, F_GET_SEALS, 1024 + 11, 1024 + 12, 1024 + 13, 1024 + 14, 99};
        a[1] = pct(95) ? PICK(C) : v_int();
        a[2] = fcntl_arg(a[1]);
        break;
    }
    case S_IOCTL: {
        static const u64 Q[] = {0x5401 /* TCGETS */, 0x5402, 0x5403, 0x5404, 0x5413 /* TIOCGWINSZ */, 0x5414,
                                0x541b /* FIONREAD */, 0x5421 /* FIONBIO */, 0x5451 /* FIOCLEX */, 0x5450, 0x5452,
                                0x540f /* TIOCGPGRP */, 0x5410, 0x540e, 0x5422, 0x80045430 /* TIOCGPTN */,
                                0x80086601 /* FS_IOC_GETFLAGS */, 2 /* FIGETBSZ */, 0x80081272, 0xc0109401,
                                0x5412 /* TIOCSTI */, 0x4b3a, 0};
        a[1] = pct(90) ? PICK(Q) : v_u64();
        if (g_native && a[1] == 0x5412)
            a[1] = 0x5401;
        a[2] = pct(60) ? v_ostruct() : (pct(50) ? v_ibuf() : v_u64());
        break;
    }
    case S_CLOSE_RANGE:
        if (a[0] <= LOGFD && a[1] >= LOGFD && (uint32_t)a[1] >= LOGFD)
            a[0] = LOGFD + 1;
        if ((uint32_t)a[0] <= LOGFD && (uint32_t)a[1] >= LOGFD)
            a[0] = LOGFD + 1;
        if (g_native && (uint32_t)a[0] < 3)
            a[0] = 3;
        break;
    case S_MMAP: {
        if (a[3] & MAP_FIXED)
            if (!in_arena(a[0]) && a[0] < USER_LIMIT && a[0] >= PAGE)
                a[3] &= ~(u64)MAP_FIXED;
        if ((a[3] & MAP_FIXED) && a[0] < PAGE && a[1] > PAGE)
            a[1] = PAGE; /* a fixed mapping at 0: one page, not the whole user half */
        if (in_arena(a[0]) && pct(40))
            a[3] |= MAP_FIXED;
        if ((a[3] & MAP_FIXED) && in_arena(a[0]))
            clamp_range(a[0], &a[1]);
        if (a[3] & (MAP_POPULATE | MAP_LOCKED))
            if (a[1] > 64 * PAGE)
                a[1] = 64 * PAGE;
        if (a[3] & MAP_ANONYMOUS && pct(80))
            a[4] = (u64)-1;
        break;
    }
    case S_RANGE:
        clamp_range(a[0], &a[1]);
        if (protected_range(a[0], a[1]))
            a[0] = (u64)g_arena + below(ARENA_SZ / PAGE) * PAGE;
        break;
    case S_MREMAP:
        clamp_range(a[0], &a[1]);
        if (protected_range(a[0], a[1]))
            a[0] = (u64)g_arena + below(ARENA_SZ / PAGE) * PAGE;
        if ((a[3] & 2 /* MREMAP_FIXED */) && !in_arena(a[4]) && a[4] < USER_LIMIT && a[4] >= PAGE)
            a[4] = (u64)g_arena + below(ARENA_SZ / PAGE) * PAGE;
        if (in_arena(a[4]))
            clamp_range(a[4], &a[2]);
        if ((a[3] & 2) && protected_range(a[4], a[2]))
            a[4] = (u64)g_arena + below(ARENA_SZ / PAGE) * PAGE;
        if (a[2] > (1ULL << 40) && pct(90))
            a[2] = a[1] + PAGE * below(16);
        g_mremap_old = a[0];
        g_mremap_oldlen = a[1];
        break;
    case S_BRK: {
        switch (below(5)) {
        case 0: a[0] = 0; break;
        case 1: a[0] = g_brk_floor + below(64) * PAGE + (pct(20) ? below(PAGE) : 0); break;
        case 2: a[0] = g_brk_floor + (below(512) << 20); break;
        case 3: a[0] = code_ptr(); break; /* below the start: refused */
        default: a[0] = bad_ptr(); if (a[0] < USER_LIMIT && a[0] > 0) a[0] = g_brk_floor; break;
        }
        break;
    }
    case S_FUTEX: {
        static const u64 OPS[] = {FUTEX_WAIT, FUTEX_WAKE, FUTEX_FD, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP,
                                  FUTEX_LOCK_PI, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI, FUTEX_WAIT_BITSET,
                                  FUTEX_WAKE_BITSET, FUTEX_WAIT_REQUEUE_PI, FUTEX_CMP_REQUEUE_PI, 13 /* LOCK_PI2 */,
                                  14, 0x7f};
        u64 op = pct(95) ? PICK(OPS) : v_int();
        if (pct(60))
            op |= FUTEX_PRIVATE_FLAG;
        if (pct(10))
            op |= FUTEX_CLOCK_REALTIME;
        a[1] = op;
        /* Make waits wait: the current value of the word, mostly. */
        if (a[0] >= (u64)g_futexes && a[0] + 4 <= (u64)g_futexes + PAGE && !(a[0] & 3))
            a[2] = pct(70) ? *(volatile uint32_t *)a[0] : v_int();
        else
            a[2] = v_int();
        if ((op & 0x7f) == FUTEX_WAKE || (op & 0x7f) == FUTEX_REQUEUE || (op & 0x7f) == FUTEX_CMP_REQUEUE)
            a[3] = pct(70) ? below(4) : v_u64(); /* a count, not a pointer */
        if (pct(30) && a[0] >= (u64)g_futexes && a[0] < (u64)g_futexes + PAGE && (op & 0x7f) <= 2)
            *(volatile uint32_t *)a[0] = (uint32_t)(pct(50) ? 0 : pct(50) ? (u64)g_main_tid : rnd());
        a[5] = pct(50) ? ~0ULL : v_u64();
        /* PI waits restart after a signal (-ERESTARTNOINTR), so the watchdog cannot
         * end them: give them a short timeout (absolute, so long expired). */
        u64 base = op & 0x7f;
        if (base == FUTEX_LOCK_PI || base == FUTEX_WAIT_REQUEUE_PI || base == 13 /* LOCK_PI2 */) {
            struct timespec t = {0, (long)below(1000000)};
            void *p = salloc(sizeof t);
            memcpy(p, &t, sizeof t);
            a[3] = (u64)p;
        }
        break;
    }
    case S_SIGACTION: {
        u64 sig = a[0];
        struct ksigaction act;
        act.restorer = (u64)fz_restorer;
        act.flags = SA_SIGINFO | SA_ONSTACK | SA_RESTORER_;
        if (pct(30))
            act.flags |= 1UL << below(32);
        if (pct(5))
            act.flags = rnd() | SA_RESTORER_;
        act.mask = rnd();
        act.handler = (u64)on_signal;
        switch (below(6)) {
        case 0: act.handler = (u64)SIG_IGN; break;
        case 1:
            /* SIG_DFL only where the default is to ignore. */
            if (sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT)
                act.handler = (u64)SIG_DFL;
            break;
        default: break;
        }
        /* SA_RESETHAND would leave SIG_DFL behind: keep it off where that kills. */
        if (!(sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT))
            act.flags &= ~(u64)SA_RESETHAND;
        if (reserved_sig(sig & 0xffffffff) || (g_native && (sig & 0xffffffff) > 64))
            a[1] = unreadable_ptr(); /* query only, or a pointer the kernel cannot read */
        else
            a[1] = pct(15) ? (pct(50) ? 0 : bad_ptr()) : place(&act, sizeof act);
        g_post_sigaction = 1;
        break;
    }
    case S_SIGMASK: g_post_restore_mask = 1; break;
    case S_ALTSTACK: {
        stack_t ss;
        static const size_t SZ[] = {0, 1024, 2047, 2048, 8192, 65536, (size_t)-1};
        ss.ss_sp = (void *)(pct(60) ? out_area() : bad_ptr());
        ss.ss_flags = pct(70) ? (int)PICK(((int[]){0, SS_DISABLE, SS_ONSTACK, SS_AUTODISARM, 0})) : (int)rnd();
        ss.ss_size = PICK(SZ);
        /* A stack whose range covers the main stack (a huge size, also from a
         * kernel address: the range wraps) makes the thread "on" it for good, as on
         * Linux: our own stack could never be put back (EPERM), and a fault on a
         * bad stack pointer would find no usable stack. */
        if (!(ss.ss_flags & SS_DISABLE) && ss.ss_size > 65536)
            ss.ss_size = 65536;
        a[0] = pct(10) ? 0 : place(&ss, sizeof ss);
        note(" ss={");
        note_hex((u64)ss.ss_sp);
        note(",");
        note_hex((u64)(uint32_t)ss.ss_flags);
        note(",");
        note_hex(ss.ss_size);
        note("}");
        g_post_altstack = 1;
        break;
    }
    case S_TGKILL: break;
    case S_ITIMER: break;
    case S_RLIMIT: {
        /* Keep limits that would end the run (CPU time, RT time) or the fuzzer's
         * own needs (descriptors, address space) out of reach. */
        int res = r->k[0] == K_RES ? 0 : 1;
        u64 resource = a[res] & 0xffffffff;
        if (resource == RLIMIT_CPU || resource == RLIMIT_RTTIME || resource == RLIMIT_AS ||
            resource == RLIMIT_NOFILE || resource == RLIMIT_DATA || resource == RLIMIT_STACK)
            if (pct(70))
                a[res + 1] = 0; /* query */
        if ((resource == RLIMIT_CPU || resource == RLIMIT_RTTIME) && a[res + 1])
            a[res + 1] = unreadable_ptr(); /* a readable one could set a limit of 0: SIGKILL */
        g_post_rlimit = 1;
        break;
    }
    case S_PRCTL: {
        static const u64 P[] = {PR_SET_PDEATHSIG, PR_GET_PDEATHSIG, PR_GET_DUMPABLE, PR_SET_DUMPABLE, PR_SET_NAME,
                                PR_GET_NAME, PR_GET_TIMERSLACK, PR_SET_TIMERSLACK, PR_SET_NO_NEW_PRIVS,
                                PR_GET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER, PR_GET_CHILD_SUBREAPER,
                                PR_GET_SECUREBITS, PR_CAPBSET_READ, PR_CAP_AMBIENT, PR_SET_THP_DISABLE,
                                PR_GET_THP_DISABLE, PR_GET_TID_ADDRESS, PR_SET_VMA_, PR_GET_SPECULATION_CTRL,
                                PR_SET_TSC, PR_GET_TSC, PR_SET_FP_MODE, PR_GET_FP_MODE, PR_SET_TAGGED_ADDR_CTRL,
                                PR_GET_TAGGED_ADDR_CTRL, PR_SET_IO_FLUSHER, PR_SET_KEEPCAPS, PR_GET_KEEPCAPS,
                                PR_SET_TIMING, PR_MCE_KILL, PR_MCE_KILL_GET, 0, 1000};
        a[0] = pct(95) ? PICK(P) : v_int();
        /* Never: seccomp (22), PR_SET_MM (35), syscall user dispatch (59), MDWE (65),
         * shadow stacks (74-76): each could stop the fuzzer for good. */
        if (a[0] == 22 || a[0] == 35 || a[0] == 59 || a[0] == 65 || (a[0] >= 74 && a[0] <= 76))
            a[0] = PR_GET_DUMPABLE;
        if (a[0] == PR_SET_NAME)
            a[1] = pct(80) ? v_path_str(pct(50) ? "fz-thread" : "a-name-longer-than-sixteen") : bad_ptr();
        else if (a[0] == PR_GET_NAME || a[0] == PR_GET_PDEATHSIG || a[0] == PR_GET_TID_ADDRESS ||
                 a[0] == PR_GET_CHILD_SUBREAPER || a[0] == PR_GET_TSC)
            a[1] = v_ostruct();
        else if (a[0] == PR_SET_PDEATHSIG) {
            a[1] = v_sig();
            if (reserved_sig(a[1]))
                a[1] = SIGUSR1;
        } else if (a[0] == PR_SET_TSC && g_native)
            a[1] = 1;
        else if (pct(70))
            a[1] = below(4);
        g_post_prctl = 1;
        break;
    }
    case S_PERSONALITY: {
        static const u64 P[] = {0xffffffff, 0, 0x0400000 /* READ_IMPLIES_EXEC */, 0x0040000 /* ADDR_NO_RANDOMIZE */,
                                0x0800000 /* ADDR_LIMIT_32BIT */, 0x8000000 /* ADDR_LIMIT_3GB */, 8 /* PER_BSD */};
        a[0] = pct(90) ? PICK(P) : v_u64();
        g_post_personality = 1;
        break;
    }
    case S_ALARM: a[0] = pct(80) ? 0 : below(2); break;
    case S_ARCH_PRCTL: {
#ifdef __x86_64__
        static const u64 C[] = {0x1001, 0x1002, 0x1003, 0x1004, 0x1011, 0x1012, 0x2001, 0x2002, 0x2003,
                                0x1021, 0x1022, 0x1023, 0x1024, 0x1025, 0x3001, 0x4001, 0x4002, 0x4003,
                                0x5001, 0x5002, 0x5003, 0x5004, 0x5005, 0};
        a[0] = pct(95) ? PICK(C) : v_int();
        if (a[0] == 0x1003 || a[0] == 0x1004 || a[0] == 0x1022 || a[0] == 0x1024)
            a[1] = v_ostruct();
        else if (a[0] == 0x1001 || a[0] == 0x1002)
            a[1] = pct(50) ? bad_ptr() : v_u64();
        else if (a[0] == 0x2001 || a[0] == 0x2002 || a[0] == 0x2003)
            a[1] = (u64)g_arena + below(ARENA_SZ / PAGE) * PAGE; /* vDSO mapping: only into the arena */
        if (a[0] == 0x5001 || a[0] == 0x5002 || a[0] == 0x5003 || a[0] == 0x5005)
            a[0] = 0x5004; /* shadow stack enable/lock: never */
        g_post_fs = 1;
#endif
        break;
    }
    case S_SHMAT:
        /* The kernel's choice, or no user address: with SHM_REMAP a segment of any
         * size replaces what lies there, the fuzzer's own memory included. */
        if (a[1] < USER_LIMIT)
            a[1] = pct(80) ? 0 : PICK(KERNEL_ADDRS);
        break;
    case S_NATIVE_NO: break;
    default: break;
    }
}

/* ------------------------------------------------------------ pseudo-calls -- */

/* Forges an rt_sigreturn frame and enters rt_sigreturn on it. Returns only
 * through fz_landing or a signal (both jump back to the step loop). */
static void do_sigreturn(u64 *a)
{
    uint8_t *f = salloc(4096 + 64);
    f = (uint8_t *)(((u64)f + 63) & ~63UL);
    for (size_t i = 0; i < 4096; i += 8) {
        u64 r = pct(30) ? rnd() : 0;
        memcpy(f + i, &r, 8);
    }
    u64 pcs[] = {(u64)fz_landing, (u64)fz_landing, 0, 1, PICK(KERNEL_ADDRS), PICK(NONCANON_ADDRS), USER_TOP,
                 rnd(), code_ptr() + 1, 0x0000800000000000ULL};
    u64 pc = PICK(pcs);
    u64 sp = pct(70) ? fz_landing_sp - 256 : bad_ptr();
    u64 mask = sanitize_mask(pct(70) ? 0 : rnd());
    stack_t alt = {.ss_sp = g_alt, .ss_flags = 0, .ss_size = ALT_SZ};
    u64 flags;
#ifdef __x86_64__
    /* sp points at the kernel's struct ucontext (the frame's pretcode is below). */
    uint8_t *uc = f + 8;
    u64 *mc = (u64 *)(uc + 40); /* after uc_flags, uc_link, uc_stack */
    static const u64 FL[] = {0x202, 0x246, 0x3202 /* IOPL 3 */, 0x20202 /* VM */, 0x4202 /* NT */, 0x302 /* TF */,
                             0x40202 /* AC */, 0x602 /* DF */, 0x200 | 0x10000 /* RF */, 0};
    static const uint16_t CS[] = {0x23, 0x23, 0x23, 0x33, 0x08, 0x10, 0x1b, 0x2b, 0x13, 0, 0xffff, 0x20};
    static const uint16_t SS[] = {0x1b, 0x1b, 0x2b, 0x10, 0x18, 0, 0x23, 0xffff};
    *(u64 *)uc = pct(70) ? 0 : below(8); /* uc_flags: FP_XSTATE, SIGCONTEXT_SS, STRICT_RESTORE_SS */
    memcpy(uc + 16, &alt, sizeof alt);
    mc[15] = sp;             /* rsp */
    mc[16] = pc;             /* rip */
    flags = pct(50) ? 0x202 : PICK(FL);
    mc[17] = flags;          /* eflags */
    uint16_t *seg = (uint16_t *)&mc[18];
    seg[0] = pct(70) ? 0x23 : PICK(CS); /* cs */
    seg[3] = pct(70) ? 0x1b : PICK(SS); /* ss */
    mc[23] = pct(60) ? 0 : (pct(50) ? (u64)salloc(1024) : bad_ptr()); /* fpstate */
    if (mc[23] >= (u64)g_scratch && mc[23] < scratch_end() - 1024)
        for (int i = 0; i < 1024 / 8; i++)
            ((u64 *)mc[23])[i] = pct(50) ? 0 : rnd();
    *(u64 *)(uc + 40 + 256) = mask; /* uc_sigmask */
    note(" rip=");
    note_hex(pc);
    note(" rsp=");
    note_hex(sp);
    note(" eflags=");
    note_hex(flags);
    note(" cs=");
    note_hex(seg[0]);
    note(" ss=");
    note_hex(seg[3]);
    note(" fpstate=");
    note_hex(mc[23]);
    a[0] = (u64)uc;
    a[1] = pc;
    f = uc;
#else
    /* sp points at struct rt_sigframe: siginfo (128), then the ucontext:
     * uc_flags, uc_link, uc_stack (24), uc_sigmask (8) + padding to 128 bytes of
     * sigset, then (16-aligned) the sigcontext: fault_address, x0-x30, sp, pc,
     * pstate, __reserved (records: fpsimd, esr, extra, sve, ...). */
    uint8_t *uc = f + 128;
    memcpy(uc + 16, &alt, sizeof alt);
    *(u64 *)(uc + 40) = mask;
    u64 *sc = (u64 *)(uc + 176);
    static const u64 PS[] = {0, 0, 0x5 /* EL1h */, 0x4 /* EL1t */, 0x3c5, 0x10 /* AArch32 */, 0x3c0 /* DAIF */,
                             0x200000 /* SS */, 0x100000 /* IL */, 0x20000000, 0x400000 /* PAN */, 0x1000 /* SSBS */,
                             0x2000000 /* TCO */, 0xc00 /* BTYPE */};
    flags = pct(40) ? 0 : PICK(PS);
    if (pct(10))
        flags = rnd();
    sc[32] = sp;
    sc[33] = pc;
    sc[34] = flags;
    uint32_t *rec = (uint32_t *)(sc + 35 + 1); /* __reserved is 16-aligned */
    if ((u64)rec & 15)
        rec = (uint32_t *)(((u64)rec + 15) & ~15UL);
    size_t used = 0;
    /* fpsimd_context: magic 0x46508001, size 528 */
    if (pct(85)) {
        rec[0] = pct(90) ? 0x46508001 : (uint32_t)rnd();
        rec[1] = pct(90) ? 528 : (uint32_t)(pct(50) ? rnd() : below(1024));
        used = pct(90) ? 528 : 528;
    }
    uint32_t *more = (uint32_t *)((uint8_t *)rec + used);
    switch (below(6)) {
    case 0: /* extra_context: magic 0x45585401, size 32, datap, size */
        more[0] = 0x45585401;
        more[1] = 32;
        *(u64 *)(more + 2) = pct(50) ? bad_ptr() : (u64)salloc(256);
        *(uint32_t *)(more + 4) = (uint32_t)(pct(50) ? 256 : rnd());
        more[8] = 0;
        more[9] = 0;
        break;
    case 1: /* sve_context: magic 0x53564501, size, vl */
        more[0] = 0x53564501;
        more[1] = pct(50) ? 16 : (uint32_t)rnd();
        *(uint16_t *)(more + 2) = (uint16_t)(pct(50) ? 16 : rnd());
        more[4] = 0;
        more[5] = 0;
        break;
    case 2: /* esr_context */
        more[0] = 0x45535201;
        more[1] = 16;
        more[4] = 0;
        more[5] = 0;
        break;
    case 3: /* junk record */
        more[0] = (uint32_t)rnd();
        more[1] = (uint32_t)(pct(50) ? 16 * below(64) : rnd());
        break;
    default: /* terminator */
        more[0] = 0;
        more[1] = 0;
        break;
    }
    note(" pc=");
    note_hex(pc);
    note(" sp=");
    note_hex(sp);
    note(" pstate=");
    note_hex(flags);
    note(" rec0=");
    note_hex(rec[0]);
    note("/");
    note_hex(rec[1]);
    note(" rec1=");
    note_hex(more[0]);
    a[0] = (u64)f;
    a[1] = pc;
#endif
    (void)f;
}

static __attribute__((unused)) u64 selector(void)
{
    static const u64 S[] = {0, 3, 0x08, 0x0b, 0x10, 0x13, 0x18, 0x1b, 0x20, 0x23, 0x28, 0x2b, 0x30, 0x33, 0x38, 0x3b,
                            0xffff, 0x04, 0x07};
    return PICK(S);
}

/* Builds the "insn" page: the snippet, then a jump to fz_landing. */
static void build_insn(const struct snippet *s, u64 *regs, u64 *a)
{
    rsys(SYS_mprotect, (long)g_code, PAGE, PROT_READ | PROT_WRITE, 0, 0, 0);
    uint8_t *p = g_code;
    size_t n = 0;
#ifdef __x86_64__
    if (s->len == 0) {
        for (int i = 0; i < 16; i++)
            p[n++] = (uint8_t)rnd();
    } else {
        memcpy(p, s->code, s->len);
        n = s->len;
    }
    p[n++] = 0x48; /* movabs $fz_landing, %rax ; jmp *%rax */
    p[n++] = 0xb8;
    u64 land = (u64)fz_landing;
    memcpy(p + n, &land, 8);
    n += 8;
    p[n++] = 0xff;
    p[n++] = 0xe0;
#else
    uint32_t *w = (uint32_t *)p;
    size_t words = s->len ? s->len : 4;
    for (size_t i = 0; i < words; i++)
        w[i] = s->len ? s->code[i] : (uint32_t)rnd();
    n = words;
    if (n & 1)
        w[n++] = 0xd503201f; /* nop: keep the literal 8-byte aligned */
    w[n++] = 0x58000050; /* ldr x16, #8 */
    w[n++] = 0xd61f0200; /* br x16 */
    u64 land = (u64)fz_landing;
    memcpy(&w[n], &land, 8);
    n = (n + 2) * 4;
#endif
    rsys(SYS_mprotect, (long)g_code, PAGE, PROT_READ | PROT_EXEC, 0, 0, 0);
    __builtin___clear_cache((char *)g_code, (char *)g_code + n);

    for (int i = 0; i < 14; i++)
        regs[i] = pct(50) ? below(256) : rnd();
#ifdef __x86_64__
    /* regs: rax rbx rcx rdx rsi rdi rbp r8 r9 r10 r12 r13 r14 r15 */
    enum { RAX, RBX, RCX, RDX, RSI, RDI };
    regs[RBX] = SYS_getpid;
    switch (s->regs) {
    case SR_KERNEL_PTR: regs[RCX] = pct(70) ? PICK(KERNEL_ADDRS) : bad_ptr(); break;
    case SR_NONCANON_PTR: regs[RCX] = PICK(NONCANON_ADDRS); break;
    case SR_MISALIGNED_PTR: regs[RCX] = (u64)g_scratch + 1 + 2 * below(64); break;
    case SR_SYSCALL_SAFE:
        regs[RAX] = pct(50) ? (u64)unknown_nr() : SYS_getpid;
        if (!strncmp(s->name, "int 0x80", 8))
            regs[RAX] = pct(50) ? 20 /* i386 getpid */ : 0xffff;
        regs[RCX] = pct(50) ? PICK(KERNEL_ADDRS) : pct(50) ? PICK(NONCANON_ADDRS) : (u64)g_scratch + 1 + below(64);
        break;
    case SR_ZERO_DIV:
        if (pct(50)) {
            regs[RCX] = 0;
        } else {
            regs[RAX] = 0x8000000000000000ULL;
            regs[RDX] = ~0ULL;
            regs[RCX] = ~0ULL;
        }
        break;
    case SR_SELECTOR: regs[RAX] = selector(); break;
    case SR_IRET:
        regs[RAX] = pct(70) ? (u64)fz_landing : bad_ptr();
        regs[RSI] = selector();
        regs[RDX] = pct(50) ? 0x202 : PICK(((u64[]){0x3202, 0x20202, 0x4202, 0x302, 0x40202, 0x602, 0x10202, 0}));
        regs[RCX] = pct(70) ? fz_landing_sp - 512 : bad_ptr();
        regs[RBX] = selector();
        break;
    case SR_FLAGS:
        regs[RDX] = PICK(((u64[]){0x302, 0x40202, 0x602, 0x4202, 0x3202, 0x10202, 0x240202, 0x200202, 0x80202}));
        regs[RCX] = (u64)g_scratch + below(64);
        break;
    case SR_PORT: regs[RDX] = PICK(((u64[]){0xf4, 0x3f8, 0x3fd, 0x604, 0x64, 0xcf8, 0xcfc, 0x80, 0x510, 0x70})); break;
    default: break;
    }
    a[0] = regs[RAX];
    a[1] = regs[RCX];
    a[2] = regs[RDX];
    a[3] = regs[RSI];
#else
    /* regs: x0 .. x13 */
    regs[8] = 172; /* getpid */
    switch (s->regs) {
    case SR_KERNEL_PTR: regs[0] = pct(70) ? PICK(KERNEL_ADDRS) : bad_ptr(); break;
    case SR_NONCANON_PTR: regs[0] = PICK(NONCANON_ADDRS); break;
    case SR_MISALIGNED_PTR: regs[0] = (u64)g_scratch + SCRATCH_SZ / 2 + 1 + 2 * below(64); break;
    case SR_SYSCALL_SAFE:
        regs[8] = pct(50) ? (u64)unknown_nr() : 172;
        regs[0] = pct(50) ? PICK(KERNEL_ADDRS) : (u64)g_scratch + SCRATCH_SZ / 2 + 1 + below(64);
        break;
    case SR_ZERO_DIV: regs[0] = 0x1f00; regs[1] = 0; break;
    default: break;
    }
    a[0] = regs[0];
    a[1] = regs[1];
    a[2] = regs[8];
    a[3] = 0;
#endif
    note(" ");
    note_q(s->name, 64);
    if (s->len == 0) {
        note(" bytes=");
        for (size_t i = 0; i < 16; i++) {
            char hx[3] = {"0123456789abcdef"[g_code[i] >> 4], "0123456789abcdef"[g_code[i] & 15], 0};
            note(hx);
        }
    }
}

/* ------------------------------------------------------------------ a step -- */

static void log_call(u64 step, long nr, const char *name, const u64 *a)
{
    out_s("@fz ");
    out_dec((long)step);
    out_c(' ');
    if (nr == -1)
        out_c('-');
    else
        out_dec(nr);
    out_c(' ');
    out_s(name);
    for (int i = 0; i < 6; i++) {
        out_c(' ');
        out_hex(a[i]);
    }
}

static void post(const struct choice *c, const u64 *a, long ret)
{
    const struct row *r = c->row;
    if (!r)
        return;
    switch (r->special) {
    case S_RET_FD:
        if (ret >= 0)
            add_fd(ret);
        break;
    case S_CLOSE:
        if (ret == 0)
            drop_fd((long)(int)a[0]);
        break;
    case S_CLOSE_RANGE:
        if (ret == 0) {
            for (int i = 0; i < g_nfds;) {
                if ((unsigned)g_fds[i] >= (unsigned)a[0] && (unsigned)g_fds[i] <= (unsigned)a[1] && !(a[2] & 4))
                    g_fds[i] = g_fds[--g_nfds];
                else
                    i++;
            }
        }
        break;
    case S_PIPE:
        if (ret == 0 && a[0] >= (u64)g_scratch && a[0] + 8 <= scratch_end()) {
            add_fd(((int *)a[0])[0]);
            add_fd(((int *)a[0])[1]);
        }
        break;
    case S_PIPE4:
        if (ret == 0 && a[3] >= (u64)g_scratch && a[3] + 8 <= scratch_end()) {
            add_fd(((int *)a[3])[0]);
            add_fd(((int *)a[3])[1]);
        }
        break;
    case S_FCNTL:
        if ((a[1] == F_DUPFD || a[1] == F_DUPFD_CLOEXEC) && ret >= 0)
            add_fd(ret);
        break;
    case S_MMAP:
        if (ret >= 0 || ret < -4095)
            add_map((u64)ret, a[1]);
        break;
    case S_RANGE:
        if (ret == 0 && !strcmp(r->name, "munmap"))
            drop_maps(a[0], a[1]);
        break;
    case S_MREMAP:
        if (ret >= 0 || ret < -4095) {
            if (!(a[3] & 4))
                drop_maps(g_mremap_old, g_mremap_oldlen);
            add_map((u64)ret, a[2]);
        }
        break;
    case S_TIMER_CREATE:
        if (ret == 0 && a[2] >= (u64)g_scratch && a[2] + 4 <= scratch_end() && g_ntimers < 16)
            g_timers[g_ntimers++] = *(int *)a[2];
        break;
    default: break;
    }
    if (g_post_sigaction)
        check_handlers();
    if (g_post_restore_mask)
        restore_mask();
    if (g_post_altstack)
        restore_altstack();
    if (g_post_rlimit)
        for (int res = 0; res < 16; res++)
            rsys(SYS_prlimit64, 0, res, (long)&g_rlim[res], 0, 0, 0);
    if (g_post_prctl) /* a huge timer slack would stop every timeout of ours */
        rsys(SYS_prctl, PR_SET_TIMERSLACK, 0, 0, 0, 0, 0);
    if (g_post_personality)
        rsys(SYS_personality, 0, 0, 0, 0, 0, 0);
    if (g_post_fs)
        restore_fsbase();
}

static u64 g_ro_violations;

static void step(u64 k)
{
    rng_step(k);
    g_bump = 0;
    g_nlen = 0;
    g_note[0] = 0;
    g_post_prctl = g_post_sigaction = g_post_restore_mask = g_post_altstack = g_post_rlimit = g_post_personality = g_post_fs = 0;
    g_iovcnt = 0;
    g_nfds_arg = 0;
    if (k % 4096 == 0 && k) {
        out_s("@fz ");
        out_dec((long)k);
        out_s(" - refresh\n");
        out_flush();
        refresh();
    }

    if (g_unreaped > 0) {
        int st;
        if (rsys(SYS_wait4, -1, (long)&st, 1 /* WNOHANG */ | 0x40000000 /* __WALL */, 0, 0, 0) > 0)
            g_unreaped--;
    }

    const struct choice *c = pick_choice();
    const struct row *r = c->row;
    u64 a[6] = {0, 0, 0, 0, 0, 0};
    long nr = c->nr;
    long ret = 0;

    if (!r) { /* untyped: every argument of some kind, at random */
        static const int KS[] = {K_INT, K_U64, K_FD, K_OBUF, K_IBUF, K_LEN, K_PATH, K_FLAGS, K_OSTRUCT, K_JUNK};
        if (nr == -2)
            nr = unknown_nr();
        for (int i = 0; i < 6; i++)
            a[i] = gen(PICK(KS));
        log_call(k, nr, c->name, a);
        if (g_nlen) {
            out_s(" |");
            out_s(g_note);
        }
        out_c('\n');
        out_flush();
        g_cur_step = k;
        g_in_call = 1;
        ret = rsys(nr, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4], (long)a[5]);
        g_in_call = 0;
        restore_mask();
        restore_altstack();
        restore_fsbase();
    } else if (r->special >= S_GENERIC) {
        u64 regs[16];
        switch (r->special) {
        case S_TOUCH: {
            /* Reads or writes one of our mappings (or a bad address): the kernel's
             * page-fault path. A fault comes back as a signal. */
            u64 addr;
            if (g_nmaps && pct(80)) {
                struct map *m = &g_maps[below(g_nmaps)];
                addr = m->addr + below(m->len + (pct(10) ? PAGE : 0));
            } else {
                addr = pct(50) ? (u64)g_arena + below(ARENA_SZ) : bad_ptr();
            }
            a[0] = addr & ~7UL;
            a[1] = below(3); /* 0 read, 1 write, 2 execute (a jump; back through a signal) */
            log_call(k, -1, "touch", a);
            out_c('\n');
            out_flush();
            g_cur_step = k;
            g_in_call = 1;
            if (a[1] == 0) {
                ret = (long)*(volatile uint8_t *)a[0];
            } else if (a[1] == 1) {
                *(volatile uint8_t *)a[0] = (uint8_t)rnd();
            } else {
                memset(regs, 0, sizeof regs);
                fz_exec((void *)a[0], regs);
            }
            g_in_call = 0;
            break;
        }
        case S_THREAD: {
            int slot = -1;
            for (int i = 0; i < NHELPERS; i++)
                if (!g_helpers[i].ctid) {
                    slot = i;
                    break;
                }
            a[0] = (u64)slot;
            if (slot < 0) {
                /* All busy: wake every futex word instead. */
                log_call(k, SYS_futex, "futex", a);
                out_s(" | wake-all\n");
                out_flush();
                g_cur_step = k;
                g_in_call = 1;
                for (int i = 0; i < 64; i++)
                    rsys(SYS_futex, (long)(g_futexes + 4 * i), FUTEX_WAKE, 64, 0, 0, 0);
                g_in_call = 0;
                break;
            }
            struct helper *h = &g_helpers[slot];
            h->kind = (int)below(8);
            h->iters = 1 + (int)below(pct(80) ? 20 : 400);
            h->arg[0] = rnd();
            h->arg[1] = rnd();
            if (h->kind == 3) {
                /* The list must outlive the step: it lives at the bottom of the helper's stack. */
                h->arg[0] = pct(90) ? build_robust(g_stacks + (size_t)slot * HELPER_STACK + 64) : bad_ptr();
                h->arg[1] = gen(K_ROBUSTLEN);
            }
            a[1] = (u64)h->kind;
            a[2] = (u64)h->iters;
            a[3] = h->arg[0];
            long extra = pct(20) ? CLONE_SETTLS : 0;
            a[4] = (u64)extra;
            log_call(k, SYS_clone, "clone", a);
            out_s(" | thread\n");
            out_flush();
            g_cur_step = k;
            g_in_call = 1;
            ret = start_helper(slot, extra);
            g_in_call = 0;
            break;
        }
        case S_CLONE: case S_CLONE3: case S_FORK: case S_VFORK: {
            static const u64 CF[] = {CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND, CLONE_PIDFD, CLONE_PTRACE,
                                     CLONE_VFORK, CLONE_PARENT, CLONE_THREAD, CLONE_NEWNS, CLONE_SYSVSEM,
                                     CLONE_SETTLS, CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID, CLONE_DETACHED,
                                     CLONE_UNTRACED, CLONE_CHILD_SETTID, CLONE_NEWCGROUP, CLONE_NEWUTS,
                                     CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_IO,
                                     0x100000000ULL /* CLONE_CLEAR_SIGHAND */, 0x200000000ULL /* INTO_CGROUP */};
            u64 flags = 0;
            if (pct(50))
                flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
            int n = (int)below(4);
            for (int i = 0; i < n; i++)
                flags |= PICK(CF);
            if (pct(5))
                flags |= rnd() & ~0xffULL;
            u64 sig = pct(50) ? 0 : v_sig();
            if (reserved_sig(sig) || sig > 64)
                sig = SIGCHLD;
            if (g_native)
                flags &= ~(u64)(CLONE_PARENT | CLONE_PTRACE);
            u64 stack = pct(70) ? (u64)(g_stacks + (size_t)(NHELPERS + 2) * HELPER_STACK - 256) : pct(50) ? 0
                                                                                                          : bad_ptr();
            u64 ptid = v_ostruct(), ctid = v_ostruct(), tls = pct(50) ? 0 : v_u64();
            if (r->special == S_CLONE) {
                flags = (flags & ~0xffULL) | (pct(95) ? sig : below(256));
                if (g_native && (flags & 0xff) && reserved_sig(flags & 0xff))
                    flags = (flags & ~0xffULL) | SIGCHLD;
                if (reserved_sig(flags & 0xff))
                    flags = (flags & ~0xffULL) | SIGCHLD;
                a[0] = flags;
                a[1] = stack;
                a[2] = ptid;
                a[3] = ctid;
                a[4] = tls;
                log_call(k, nr, "clone", a);
                out_s(" | child exits at once\n");
                out_flush();
                /* The child must not run a handler: on a fuzzed stack the frame
                 * cannot be pushed and the whole process dies of SIGSEGV; a
                 * CLONE_VFORK child shares our alternate stack. It inherits the
                 * mask, so asynchronous signals are blocked around the call. */
                u64 block = sanitize_mask(~0ULL);
                rsys(SYS_rt_sigprocmask, SIG_BLOCK, (long)&block, 0, 8, 0, 0);
                g_cur_step = k;
                g_in_call = 1;
                ret = clone_exit((long)flags, (long)stack, (long)ptid, (long)ctid, (long)tls);
                g_in_call = 0;
                restore_mask();
            } else if (r->special == S_CLONE3) {
                u64 ca[11];
                ca[0] = flags & ~0xffULL;
                ca[1] = v_ostruct();
                ca[2] = ctid;
                ca[3] = ptid;
                ca[4] = sig;
                ca[5] = pct(50) ? (u64)(g_stacks + (size_t)(NHELPERS + 1) * HELPER_STACK) : v_u64();
                ca[6] = pct(50) ? HELPER_STACK : v_u64();
                ca[7] = tls;
                ca[8] = pct(80) ? 0 : bad_ptr();
                ca[9] = pct(80) ? 0 : v_int();
                ca[10] = pct(90) ? 0 : v_int();
                static const u64 SZ[] = {64, 80, 88, 88, 0, 8, 96, 4096, 63};
                a[0] = place(ca, sizeof ca);
                a[1] = PICK(SZ);
                log_call(k, 435, "clone3", a);
                out_s(" | flags=");
                out_hex(ca[0]);
                out_s(" stack=");
                out_hex(ca[5]);
                out_s("/");
                out_hex(ca[6]);
                out_s(" child exits at once\n");
                out_flush();
                u64 block = sanitize_mask(~0ULL);
                rsys(SYS_rt_sigprocmask, SIG_BLOCK, (long)&block, 0, 8, 0, 0);
                g_cur_step = k;
                g_in_call = 1;
                ret = clone3_exit((long)a[0], (long)a[1]);
                g_in_call = 0;
                restore_mask();
            } else {
                log_call(k, nr, r->name, a);
                out_s(" | child exits at once\n");
                out_flush();
                u64 block = sanitize_mask(~0ULL);
                rsys(SYS_rt_sigprocmask, SIG_BLOCK, (long)&block, 0, 8, 0, 0);
                g_cur_step = k;
                g_in_call = 1;
                ret = fork_exit(nr);
                g_in_call = 0;
                restore_mask();
            }
            if (ret > 0 && g_nchildren < 16 && !(flags & CLONE_THREAD))
                g_children[g_nchildren++] = ret;
            if (ret > 0 && !(flags & CLONE_THREAD))
                g_unreaped++; /* reaped at the start of later steps */
            restore_fsbase();
            break;
        }
        case S_SIGRETURN: {
            do_sigreturn(a);
            log_call(k, nr, "rt_sigreturn", a);
            out_s(" |");
            out_s(g_note);
            out_c('\n');
            out_flush();
            g_cur_step = k;
            g_in_call = 1;
            fz_forged_sigreturn((void *)a[0]);
        }
        case S_INSN: {
            const struct snippet *sn = &SNIPPETS[below(sizeof SNIPPETS / sizeof SNIPPETS[0])];
            build_insn(sn, regs, a);
            log_call(k, -1, "insn", a);
            out_s(" |");
            out_s(g_note);
            out_c('\n');
            out_flush();
            g_cur_step = k;
            g_in_call = 1;
            fz_exec(g_code, regs);
        }
        default: break;
        }
    } else {
        for (int i = 0; i < 6; i++)
            a[i] = gen(r->k[i]);
        fixup(r, a);
        if (r->special == S_TGKILL && r->k[0] == K_KILLPID && g_native)
            a[0] = (u64)g_pid;
        log_call(k, nr, r->name, a);
        if (g_nlen) {
            out_s(" |");
            out_s(g_note);
        }
        out_c('\n');
        out_flush();
        g_cur_step = k;
        g_in_call = 1;
        ret = rsys(nr, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4], (long)a[5]);
        g_in_call = 0;
        post(c, a, ret);
    }
    if (g_verbose) {
        out_s("@fz = ");
        out_dec(ret);
        out_c('\n');
        out_flush();
    }
    if (ro_sum() != g_ro_sum) {
        g_ro_violations++;
        out_s("@fz ro-written ");
        out_dec((long)k);
        out_c('\n');
        out_flush();
        rsys(SYS_mprotect, (long)g_ro, 2 * PAGE, PROT_READ | PROT_WRITE, 0, 0, 0);
        for (size_t i = 0; i < 2 * PAGE; i++)
            g_ro[i] = (uint8_t)(i * 7 + 1);
        rsys(SYS_mprotect, (long)g_ro, 2 * PAGE, PROT_READ, 0, 0, 0);
    }
}

static u64 parse_u64(const char *s);

/* --skip: steps not to make (FROM-TO ranges, comma-separated), to narrow down
 * which earlier calls a failure needs. */
static const char *g_skip;

static int skipped(u64 k)
{
    for (const char *p = g_skip; p && *p;) {
        u64 from = parse_u64(p), to = from;
        while (*p && *p != '-' && *p != ',')
            p++;
        if (*p == '-')
            to = parse_u64(++p);
        while (*p && *p != ',')
            p++;
        if (*p == ',')
            p++;
        if (k >= from && k <= to)
            return 1;
    }
    return 0;
}

/* One step, with a way back when the step faults or jumps away. */
static void run_one(u64 k)
{
    if (skipped(k))
        return;
    if (__builtin_setjmp(g_jmp)) {
        g_in_call = 0;
        restore_fsbase();
        restore_altstack();
        restore_mask();
        if (g_verbose) {
            out_s("@fz = signal ");
            out_dec(g_faulted);
            out_c('\n');
            out_flush();
        }
        return;
    }
    step(k);
}

/* ----------------------------------------------------------------- setup -- */

static void *map(size_t len, int prot)
{
    long r = rsys(SYS_mmap, 0, (long)len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r < 0 && r > -4096) {
        say("setup-failed mmap");
        quit(2);
    }
    return (void *)r;
}

static u64 parse_u64(const char *s)
{
    u64 v = 0;
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    for (; *s; s++) {
        int d;
        if (*s >= '0' && *s <= '9')
            d = *s - '0';
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = *s - 'a' + 10;
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = *s - 'A' + 10;
        else
            break;
        v = v * (u64)base + (u64)d;
    }
    return v;
}

static void usage(void)
{
    say("usage: fuzz [--seed S] [--start K] [--calls N] [-i NR,NR,...] [--only NAME,...] [--skip K-K,...] [-v] [--native]");
    quit(2);
}

int main(int argc, char **argv)
{
    u64 start = 0, calls = 1000;
    g_seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--seed") && i + 1 < argc)
            g_seed = parse_u64(argv[++i]);
        else if (!strcmp(s, "--start") && i + 1 < argc)
            start = parse_u64(argv[++i]);
        else if (!strcmp(s, "--calls") && i + 1 < argc)
            calls = parse_u64(argv[++i]);
        else if (!strcmp(s, "-i") && i + 1 < argc) {
            const char *p = argv[++i];
            g_nimpl = 0;
            while (*p && g_nimpl < 1024) {
                g_impl[g_nimpl++] = (long)parse_u64(p);
                while (*p && *p != ',')
                    p++;
                if (*p == ',')
                    p++;
            }
        } else if (!strcmp(s, "--only") && i + 1 < argc)
            g_only = argv[++i];
        else if (!strcmp(s, "--skip") && i + 1 < argc)
            g_skip = argv[++i];
        else if (!strcmp(s, "-v"))
            g_verbose = 1;
        else if (!strcmp(s, "--native"))
            g_native = 1;
        else
            usage();
    }

    /* Refuse to fuzz a real Linux unless asked, and never as root there. */
    {
        struct {
            char f[6][65];
        } u;
        memset(&u, 0, sizeof u);
        rsys(SYS_uname, (long)&u, 0, 0, 0, 0, 0);
        int in_elfin = strstr(u.f[2], "elfin") != NULL;
        if (!in_elfin && !g_native) {
            say("refusing: this is not elfin (uname -r has no 'elfin'); pass --native to fuzz this kernel");
            quit(2);
        }
        if (!in_elfin && rsys(SYS_geteuid, 0, 0, 0, 0, 0, 0) == 0) {
            say("refusing: --native as root; run it as an unprivileged user (setpriv --reuid=65534 ...)");
            quit(2);
        }
    }

    g_stack_top = (u64)&start;
    g_pid = rsys(SYS_getpid, 0, 0, 0, 0, 0, 0);
    g_main_tid = rsys(SYS_gettid, 0, 0, 0, 0, 0, 0);
#ifdef __x86_64__
    rsys(SYS_arch_prctl, 0x1003 /* ARCH_GET_FS */, (long)&g_fsbase, 0, 0, 0, 0);
#endif

    /* Memory. */
    uint8_t *s = map(SCRATCH_SZ + 2 * PAGE, PROT_READ | PROT_WRITE);
    rsys(SYS_mprotect, (long)s, PAGE, PROT_NONE, 0, 0, 0);
    rsys(SYS_mprotect, (long)(s + PAGE + SCRATCH_SZ), PAGE, PROT_NONE, 0, 0, 0);
    g_scratch = s + PAGE;
    g_ro = map(2 * PAGE, PROT_READ | PROT_WRITE);
    for (size_t i = 0; i < 2 * PAGE; i++)
        g_ro[i] = (uint8_t)(i * 7 + 1);
    rsys(SYS_mprotect, (long)g_ro, 2 * PAGE, PROT_READ, 0, 0, 0);
    g_ro_sum = ro_sum();
    g_hole = (u64)map(PAGE, PROT_READ);
    rsys(SYS_munmap, (long)g_hole, PAGE, 0, 0, 0, 0);
    g_none = (u64)map(PAGE, PROT_NONE);
    g_alt = map(ALT_SZ, PROT_READ | PROT_WRITE);
    g_futexes = map(PAGE, PROT_READ | PROT_WRITE);
    g_code = map(2 * PAGE, PROT_READ | PROT_WRITE);
    g_stacks = map((NHELPERS + 3) * HELPER_STACK, PROT_READ | PROT_WRITE);
    fz_landing_sp = ((u64)g_stacks + (NHELPERS + 3) * HELPER_STACK - 64) & ~15UL;
    g_arena = (uint8_t *)rsys(SYS_mmap, 0, ARENA_SZ, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if ((long)g_arena < 0 && (long)g_arena > -4096) {
        say("setup-failed arena");
        quit(2);
    }
    /* A guard below everything of ours: mappings the kernel places for the
     * fuzzer's own mmap calls go under it, so a length running past one of
     * those hits this page before any of our memory. */
    map(PAGE, PROT_NONE);

    for (int r = 0; r < 16; r++)
        rsys(SYS_prlimit64, 0, r, 0, (long)&g_rlim[r], 0, 0);
    g_base_mask = 0;
    g_brk_floor = (u64)rsys(SYS_brk, 0, 0, 0, 0, 0, 0);

    build_choices();
    if (!g_nchoices) {
        say("usage: --only names no call of this arch");
        quit(2);
    }
    rng_step(~0ULL);
    refresh();

    /* The watchdog. */
    if (start_helper(NHELPERS, 0) < 0)
        say("warning: no watchdog thread (clone failed); a blocking call will hang the run");

    out_s("@fz start arch=" ARCH_NAME " seed=");
    out_hex(g_seed);
    out_s(" start=");
    out_dec((long)start);
    out_s(" calls=");
    out_dec((long)calls);
    out_s(" choices=");
    out_dec(g_nchoices);
    out_s(" implemented=");
    out_dec(g_nimpl);
    /* Where the fuzzer's own memory is, to read reports by. */
    out_s(" scratch=");
    out_hex((u64)g_scratch);
    out_s(" stacks=");
    out_hex((u64)g_stacks);
    out_s(" arena=");
    out_hex((u64)g_arena);
    out_s(" image=");
    out_hex((u64)__executable_start);
    out_c('\n');
    out_flush();

    for (u64 k = start; k < start + calls; k++)
        run_one(k);

    g_stop = 1;
    for (int i = 0; i < 64; i++)
        rsys(SYS_futex, (long)(g_futexes + 4 * i), FUTEX_WAKE, 64, 0, 0, 0);
    struct timespec ts = {0, 5000000};
    for (int tries = 0; tries < 200; tries++) {
        int live = 0;
        for (int i = 0; i <= NHELPERS; i++)
            live += g_helpers[i].ctid != 0;
        if (!live)
            break;
        rsys(SYS_nanosleep, (long)&ts, 0, 0, 0, 0, 0);
    }
    out_s("@fz end ");
    out_dec((long)(start + calls));
    out_s(" signals=");
    out_dec((long)g_sigcount);
    out_s(" ro-violations=");
    out_dec((long)g_ro_violations);
    out_c('\n');
    out_flush();
    quit(0);
}

/* surface_sys: identity, capabilities, scheduling and small system calls.
 *
 *   surface_sys [SECTION]   sections: caps ids sched cpu membarrier mlock
 *                                     names personality ioprio sync vm random
 *                                     prctl sysctl regs procfs switches
 *                                     maxrss pidstat pidio
 *
 * caps         capget/capset: versions, dropping and raising, the rules,
 *              what set*uid does to the sets, PR_SET_KEEPCAPS, other pids
 * ids          set/get res/re/fs uid and gid, groups, as root and as nobody
 * sched        sched_setscheduler/getscheduler/setparam/getparam, priority
 *              bounds, rr interval, sched_setattr/getattr, reset-on-fork, EPERM
 *              without CAP_SYS_NICE
 * cpu          getcpu, sched_getaffinity/sched_setaffinity with thread ids
 * membarrier   query, registrations, EPERM before them, bad commands
 * mlock        mlockall/munlockall/mlock2 flags
 * names        sethostname/setdomainname errors (the host's names are left
 *              alone: set to what they are), uname
 * personality  query and set; ADDR_NO_RANDOMIZE makes two execs alike
 * ioprio       ioprio_set/ioprio_get classes, targets, errors
 * sync         syncfs, sync_file_range, readahead, fsync of a pipe, fadvise
 * vm           process_vm_readv/writev on a child, kcmp
 * random       getrandom flags and errors
 * prctl        capability bounding and ambient sets, no_new_privs, timer slack
 * sysctl       /proc/sys: Linux's default limits, names, UUIDs, modes
 * regs         every register but the result (and rcx, r11 on x86_64) is the
 *              same after a system call: a plain one, a failing one, a yield, a
 *              blocking read interrupted by a signal handler
 * procfs       /proc/PID: descriptor links (modes, sizes, no blocks, fd 0), fdinfo,
 *              statfs of /proc, /sys, /dev/pts and /dev/shm,
 *              mountinfo against stat (/, /proc, /sys, /dev/pts), mounts, cgroup, auxv against getauxval,
 *              oom_score_adj (limits, inherited by fork), /proc/filesystems
 * switches     context switches: voluntary ones counted by getrusage (self,
 *              thread, children, wait4) and /proc/self/status; Cpus_allowed_list
 *              is the affinity; a thread's page faults in RUSAGE_THREAD
 * pidstat      /proc/PID/stat against what the process knows: faults, code,
 *              data, stack, argument and environment addresses, start times,
 *              the CPU; a second thread's own task/TID/stat line against the
 *              process's; cmdline and environ read from memory (setproctitle);
 *              timerslack_ns against prctl
 * pidio        /proc/PID/io: read and write calls and bytes (read, write,
 *              readv, pwrite, sendfile, errors, a reaped child's)
 * maxrss       the resident set: VmRSS through touch, PROT_NONE, mremap,
 *              MADV_DONTNEED and munmap; the peak in ru_maxrss (self, thread,
 *              children, wait4, grandchildren, across exec), VmHWM and VmPeak
 *
 *   surface_sys set-names    (not a section: it changes the machine's names, for
 *                            a guest only) sets the host and domain names and
 *                            prints what uname and /proc then report
 *   surface_sys set-sysctl   (likewise for a guest only) writes /proc/sys files
 *                            and shows what then changes */
#include "surface_common.h"
#include <sys/statfs.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/fsuid.h>
#include <sys/personality.h>
#include <sys/random.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/auxv.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/sendfile.h>

#define MS 1000000ull

struct cap_hdr {
    uint32_t version;
    int pid;
};
struct cap_data {
    uint32_t effective, permitted, inheritable;
};
#define V1 0x19980330
#define V3 0x20080522

static long k_capget(struct cap_hdr *h, struct cap_data *d) { return syscall(SYS_capget, h, d); }
static long k_capset(struct cap_hdr *h, struct cap_data *d) { return syscall(SYS_capset, h, d); }

static void get_caps(uint64_t *eff, uint64_t *prm, uint64_t *inh)
{
    struct cap_hdr h = {V3, 0};
    struct cap_data d[2];
    k_capget(&h, d);
    *eff = d[0].effective | (uint64_t)d[1].effective << 32;
    *prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
    *inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
}

static long set_caps(uint64_t eff, uint64_t prm, uint64_t inh)
{
    struct cap_hdr h = {V3, 0};
    struct cap_data d[2] = {{(uint32_t)eff, (uint32_t)prm, (uint32_t)inh},
                            {(uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32)}};
    return k_capset(&h, d);
}

#define CAP(x) (1ull << (x))
#define CAP_CHOWN_ 0
#define CAP_KILL_ 5
#define CAP_SETUID_ 7
#define CAP_SETPCAP_ 8
#define CAP_SYS_ADMIN_ 21
#define CAP_SYS_NICE_ 23

/* ------------------------------------------------------------------- caps -- */

static void caps_in_child(void)
{
    uint64_t e, p, i;
    get_caps(&e, &p, &i);
    printf("  child as uid 1000 without keepcaps: effective empty: %s, permitted empty: %s\n", yesno(e == 0),
           yesno(p == 0));
}

static void caps(void)
{
    struct cap_hdr h = {V3, 0};
    struct cap_data d[2];
    T("capget v3", k_capget(&h, d));
    uint64_t e, p, i;
    get_caps(&e, &p, &i);
    printf("effective == permitted: %s, inheritable empty: %s\n", yesno(e == p), yesno(i == 0));
    printf("CAP_CHOWN: %s, CAP_SETUID: %s, CAP_SYS_ADMIN: %s, CAP_KILL: %s\n", yesno(e & CAP(CAP_CHOWN_)),
           yesno(e & CAP(CAP_SETUID_)), yesno(e & CAP(CAP_SYS_ADMIN_)), yesno(e & CAP(CAP_KILL_)));
    h.version = V1;
    T("capget v1", k_capget(&h, d));
    printf("v1 fills one word: %s\n", yesno(d[0].effective == (uint32_t)e));
    h.version = 0x12345678;
    T("capget bad version", k_capget(&h, d));
    printf("the preferred version written back: %s\n", yesno(h.version == V3));
    h.version = 0x12345678;
    T("capget bad version, NULL data", k_capget(&h, NULL));
    h.version = V3;
    T("capget NULL data", k_capget(&h, NULL));
    h.pid = -1;
    T("capget pid -1", k_capget(&h, d));
    h.pid = 0x3ffffff0;
    T("capget no such pid", k_capget(&h, d));
    h.pid = 1;
    T("capget bad data pointer", k_capget(&h, KPTR));
    T("capget bad header pointer", k_capget(KPTR, d));

    /* Drop CAP_CHOWN from the effective set: chown of another owner fails;
       raise it again from the permitted set. */
    char f[] = "/tmp/surface-sys-caps.XXXXXX";
    int fd = mkstemp(f);
    T("capset: drop CAP_CHOWN from effective", set_caps(e & ~CAP(CAP_CHOWN_), p, i));
    T("fchown to uid 1234 without it", fchown(fd, 1234, -1));
    T("capset: raise it again", set_caps(e, p, i));
    T("fchown to uid 1234 with it", fchown(fd, 1234, -1));
    T("capset: effective beyond permitted", set_caps(e, p & ~CAP(CAP_CHOWN_), i));
    struct cap_hdr other = {V3, getpid() + 1000};
    d[0] = (struct cap_data){(uint32_t)e, (uint32_t)p, 0};
    d[1] = (struct cap_data){(uint32_t)(e >> 32), (uint32_t)(p >> 32), 0};
    T("capset of another process", k_capset(&other, d));
    pid_t c = xfork();
    if (c == 0) {
        /* Drop CAP_CHOWN for good: it cannot come back. */
        set_caps(e & ~CAP(CAP_CHOWN_), p & ~CAP(CAP_CHOWN_), i);
        long r = set_caps(e, p, i);
        printf("  child: raising a capability no longer permitted: %s\n", r < 0 ? errname(errno) : "OK");
        /* Inheritable only within permitted (or with CAP_SETPCAP). */
        set_caps(e & ~CAP(CAP_SETPCAP_), p & ~(CAP(CAP_SETPCAP_) | CAP(CAP_CHOWN_)), i);
        r = set_caps(e & ~CAP(CAP_SETPCAP_), p & ~(CAP(CAP_SETPCAP_) | CAP(CAP_CHOWN_)), CAP(CAP_CHOWN_));
        printf("  child: inheritable beyond permitted without CAP_SETPCAP: %s\n", r < 0 ? errname(errno) : "OK");
        fflush(NULL);
        _exit(0);
    }
    reap(c, "child");
    /* setuid to 1000 clears the sets, unless PR_SET_KEEPCAPS. */
    as_nobody(caps_in_child);
    c = xfork();
    if (c == 0) {
        prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
        setgroups(0, NULL);
        setresgid(1000, 1000, 1000);
        setresuid(1000, 1000, 1000);
        uint64_t e2, p2, i2;
        get_caps(&e2, &p2, &i2);
        printf("  keepcaps child as uid 1000: effective empty: %s, permitted kept: %s\n", yesno(e2 == 0),
               yesno(p2 == p));
        printf("  PR_GET_KEEPCAPS: %d\n", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
        long r = set_caps(CAP(CAP_KILL_), p2, 0);
        printf("  raising CAP_KILL into effective: %s\n", r < 0 ? errname(errno) : "OK");
        get_caps(&e2, &p2, &i2);
        printf("  effective is CAP_KILL: %s\n", yesno(e2 == CAP(CAP_KILL_)));
        fflush(NULL);
        _exit(0);
    }
    reap(c, "keepcaps child");
    close(fd);
    unlink(f);
}

/* -------------------------------------------------------------------- ids -- */

static void ids_unprivileged(void)
{
    uid_t r, e, s;
    T("setuid(0) as uid 1000", setuid(0));
    T("setreuid(-1, 1000)", setreuid(-1, 1000));
    T("setresuid(2000, -1, -1)", setresuid(2000, -1, -1));
    T("setgroups as uid 1000", setgroups(0, NULL));
    getresuid(&r, &e, &s);
    printf("  resuid %d %d %d\n", (int)r, (int)e, (int)s);
    printf("  setfsuid(0) returns the old fsuid 1000: %s\n", yesno(setfsuid(0) == 1000));
    printf("  fsuid unchanged: %s\n", yesno(setfsuid(-1) == 1000));
}

static void ids(void)
{
    pid_t c = xfork();
    if (c == 0) {
        uid_t r, e, s;
        gid_t gr, ge, gs;
        T("setresgid(10, 20, 30)", setresgid(10, 20, 30));
        getresgid(&gr, &ge, &gs);
        printf("resgid %d %d %d, getgid %d getegid %d\n", (int)gr, (int)ge, (int)gs, (int)getgid(), (int)getegid());
        gid_t groups[3] = {5, 6, 7};
        T("setgroups 3", setgroups(3, groups));
        gid_t got[8];
        V("getgroups", getgroups(8, got));
        V("getgroups size 0", getgroups(0, NULL));
        T("getgroups too small", getgroups(1, got));
        T("setresuid(100, 200, 300)", setresuid(100, 200, 300));
        getresuid(&r, &e, &s);
        printf("resuid %d %d %d, getuid %d geteuid %d\n", (int)r, (int)e, (int)s, (int)getuid(), (int)geteuid());
        T("seteuid(300) (the saved id)", seteuid(300));
        T("seteuid(400) (none of them)", seteuid(400));
        T("setreuid(200, 100)", setreuid(200, 100));
        getresuid(&r, &e, &s);
        printf("resuid %d %d %d\n", (int)r, (int)e, (int)s);
        T("setuid(0)", setuid(0));
        fflush(NULL);
        _exit(0);
    }
    reap(c, "child");
    as_nobody(ids_unprivileged);
}

/* ------------------------------------------------------------------ sched -- */

static void sched_unprivileged(void)
{
    struct sched_param p = {.sched_priority = 1};
    T("SCHED_FIFO as nobody", sched_setscheduler(0, SCHED_FIFO, &p));
    p.sched_priority = 0;
    T("SCHED_BATCH as nobody", sched_setscheduler(0, SCHED_BATCH, &p));
    T("back to SCHED_OTHER", sched_setscheduler(0, SCHED_OTHER, &p));
    T("SCHED_IDLE", sched_setscheduler(0, SCHED_IDLE, &p));
    T("SCHED_OTHER from SCHED_IDLE", sched_setscheduler(0, SCHED_OTHER, &p));
}

struct ksched_attr {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
    uint32_t util_min, util_max;
};

static void sched_section(void)
{
    V("max FIFO", sched_get_priority_max(SCHED_FIFO));
    V("min FIFO", sched_get_priority_min(SCHED_FIFO));
    V("max RR", sched_get_priority_max(SCHED_RR));
    V("max OTHER", sched_get_priority_max(SCHED_OTHER));
    V("min BATCH", sched_get_priority_min(SCHED_BATCH));
    V("max IDLE", sched_get_priority_max(SCHED_IDLE));
    V("max DEADLINE", sched_get_priority_max(6));
    T("max 42", sched_get_priority_max(42));
    T("min -1", sched_get_priority_min(-1));
    V("getscheduler", sched_getscheduler(0));
    struct sched_param p = {.sched_priority = 10};
    pid_t c = xfork();
    if (c == 0) {
        T("setscheduler FIFO 10", sched_setscheduler(0, SCHED_FIFO, &p));
        V("getscheduler", sched_getscheduler(0));
        struct sched_param q;
        T("getparam", sched_getparam(0, &q));
        printf("priority %d\n", q.sched_priority);
        struct timespec ts;
        T("rr_get_interval FIFO", sched_rr_get_interval(0, &ts));
        printf("interval %ld.%09ld\n", (long)ts.tv_sec, ts.tv_nsec);
        p.sched_priority = 20;
        T("setparam 20", sched_setparam(0, &p));
        sched_getparam(0, &q);
        printf("priority %d\n", q.sched_priority);
        p.sched_priority = 5;
        T("setscheduler RR|RESET_ON_FORK 5", sched_setscheduler(0, SCHED_RR | SCHED_RESET_ON_FORK, &p));
        V("getscheduler (RESET_ON_FORK shown)", sched_getscheduler(0));
        T("rr_get_interval RR", sched_rr_get_interval(0, &ts));
        printf("interval %ld.%09ld\n", (long)ts.tv_sec, ts.tv_nsec);
        pid_t g = fork();
        if (g == 0) {
            struct sched_param gq;
            sched_getparam(0, &gq);
            _exit(sched_getscheduler(0) == SCHED_OTHER && gq.sched_priority == 0 ? 0 : 1);
        }
        int st;
        waitpid(g, &st, 0);
        printf("grandchild reset to SCHED_OTHER: %s\n", yesno(WIFEXITED(st) && WEXITSTATUS(st) == 0));
        p.sched_priority = 0;
        T("setscheduler OTHER with RESET_ON_FORK still set", sched_setscheduler(0, SCHED_OTHER, &p));
        V("getscheduler", sched_getscheduler(0));
        p.sched_priority = 0;
        T("setscheduler FIFO priority 0", sched_setscheduler(0, SCHED_FIFO, &p));
        p.sched_priority = 100;
        T("setscheduler FIFO priority 100", sched_setscheduler(0, SCHED_FIFO, &p));
        p.sched_priority = 1;
        T("setscheduler OTHER priority 1", sched_setscheduler(0, SCHED_OTHER, &p));
        T("setscheduler policy 4", sched_setscheduler(0, 4, &p));
        T("setscheduler DEADLINE", sched_setscheduler(0, 6, &p));
        T("setscheduler NULL param", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, NULL));
        T("setscheduler pid -1", sched_setscheduler(-1, SCHED_OTHER, &p));
        T("setscheduler no such pid", sched_setscheduler(0x3ffffff0, SCHED_OTHER, &p));
        T("getparam NULL", syscall(SYS_sched_getparam, 0, NULL));
        T("getscheduler -1", sched_getscheduler(-1));
        T("rr_get_interval bad pointer", syscall(SYS_sched_rr_get_interval, 0, KPTR));

        struct ksched_attr a = {.size = sizeof a, .policy = SCHED_BATCH, .nice = 5};
        T("sched_setattr BATCH nice 5", syscall(SYS_sched_setattr, 0, &a, 0));
        struct ksched_attr b;
        memset(&b, 0xff, sizeof b);
        T("sched_getattr", syscall(SYS_sched_getattr, 0, &b, sizeof b, 0));
        printf("size %u policy %u nice %d priority %u\n", b.size, b.policy, b.nice, b.priority);
        V("getpriority follows the nice value", getpriority(PRIO_PROCESS, 0));
        a = (struct ksched_attr){.size = sizeof a, .policy = SCHED_FIFO, .priority = 7};
        T("sched_setattr FIFO 7", syscall(SYS_sched_setattr, 0, &a, 0));
        sched_getparam(0, &q);
        printf("priority %d\n", q.sched_priority);
        a.size = 20;
        T("sched_setattr size 20", syscall(SYS_sched_setattr, 0, &a, 0));
        printf("size written back: %u\n", a.size);
        a.size = sizeof a;
        T("sched_setattr flags 1", syscall(SYS_sched_setattr, 0, &a, 1));
        a.flags = 0x1000;
        T("sched_setattr unknown sched_flags", syscall(SYS_sched_setattr, 0, &a, 0));
        a = (struct ksched_attr){.size = sizeof a, .policy = 6, .runtime = 10 * MS, .deadline = 5 * MS, .period = 20 * MS};
        T("sched_setattr DEADLINE runtime > deadline", syscall(SYS_sched_setattr, 0, &a, 0));
        T("sched_getattr size 10", syscall(SYS_sched_getattr, 0, &b, 10, 0));
        T("sched_getattr flags 1", syscall(SYS_sched_getattr, 0, &b, sizeof b, 1));
        T("sched_getattr NULL", syscall(SYS_sched_getattr, 0, NULL, sizeof b, 0));
        fflush(NULL);
        _exit(0);
    }
    reap(c, "child");
    as_nobody(sched_unprivileged);
}

/* -------------------------------------------------------------------- cpu -- */

static volatile pid_t worker_tid;
static volatile int worker_stop;
static void *worker(void *a)
{
    (void)a;
    worker_tid = sys_gettid();
    while (!worker_stop)
        sleep_ns(MS);
    return NULL;
}

static void cpu(void)
{
    unsigned cpu = 99, node = 99;
    T("getcpu", syscall(SYS_getcpu, &cpu, &node, NULL));
    printf("cpu below the CPU count: %s, node 0: %s\n", yesno((long)cpu < sysconf(_SC_NPROCESSORS_CONF)), yesno(node == 0));
    T("getcpu NULL pointers", syscall(SYS_getcpu, NULL, NULL, NULL));
    T("getcpu bad pointer", syscall(SYS_getcpu, KPTR, NULL, NULL));
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    while (!worker_tid)
        sleep_ns(MS);
    cpu_set_t set;
    CPU_ZERO(&set);
    V("sched_getaffinity of a thread id (bytes)", syscall(SYS_sched_getaffinity, worker_tid, sizeof set, &set) > 0 ? 0 : -1);
    printf("CPU 0 in it: %s\n", yesno(CPU_ISSET(0, &set)));
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    T("sched_setaffinity of a thread id to CPU 0", sched_setaffinity(worker_tid, sizeof set, &set));
    CPU_ZERO(&set);
    T("sched_setaffinity to no CPU", sched_setaffinity(0, sizeof set, &set));
    T("sched_getaffinity size 4", syscall(SYS_sched_getaffinity, 0, 4, &set));
    T("sched_getaffinity bad pointer", syscall(SYS_sched_getaffinity, 0, sizeof set, KPTR));
    T("sched_getaffinity no such thread", syscall(SYS_sched_getaffinity, 0x3ffffff0, sizeof set, &set));
    struct rlimit rl;
    T("prlimit of a thread id", prlimit(worker_tid, RLIMIT_NOFILE, NULL, &rl));
    worker_stop = 1;
    pthread_join(t, NULL);
}

/* ------------------------------------------------------------- membarrier -- */

static long k_membarrier(int cmd, unsigned flags, int cpu) { return syscall(SYS_membarrier, cmd, flags, cpu); }

static void membarrier_section(void)
{
    long q = k_membarrier(0, 0, 0);
    printf("query: %s, the usual commands supported: %s\n", res(q), yesno(q > 0 && (q & 0x1f) == 0x1f));
    T("GLOBAL", k_membarrier(1, 0, 0));
    T("PRIVATE_EXPEDITED before registering", k_membarrier(8, 0, 0));
    T("REGISTER_PRIVATE_EXPEDITED", k_membarrier(16, 0, 0));
    T("PRIVATE_EXPEDITED", k_membarrier(8, 0, 0));
    T("REGISTER_GLOBAL_EXPEDITED", k_membarrier(4, 0, 0));
    T("GLOBAL_EXPEDITED", k_membarrier(2, 0, 0));
    V("GET_REGISTRATIONS", k_membarrier(512, 0, 0));
    pid_t c = xfork();
    if (c == 0)
        _exit(k_membarrier(8, 0, 0) == 0 ? 0 : 1);
    int st;
    waitpid(c, &st, 0);
    printf("a forked child keeps the registration: %s\n", yesno(WIFEXITED(st) && WEXITSTATUS(st) == 0));
    T("PRIVATE_EXPEDITED_SYNC_CORE before registering", k_membarrier(32, 0, 0));
    T("bad command", k_membarrier(3, 0, 0));
    T("flags 1", k_membarrier(8, 1, 0));
}

/* ------------------------------------------------------------------ mlock -- */

static void mlock_section(void)
{
    T("mlockall(MCL_CURRENT)", mlockall(MCL_CURRENT));
    T("mlockall(MCL_CURRENT|MCL_FUTURE)", mlockall(MCL_CURRENT | MCL_FUTURE));
    T("mlockall(MCL_FUTURE|MCL_ONFAULT)", mlockall(MCL_FUTURE | MCL_ONFAULT));
    T("munlockall", munlockall());
    T("mlockall(0)", mlockall(0));
    T("mlockall(MCL_ONFAULT)", mlockall(MCL_ONFAULT));
    T("mlockall(8)", mlockall(8));
    char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    T("mlock2", syscall(SYS_mlock2, p, 8192, 0));
    T("mlock2 MLOCK_ONFAULT", syscall(SYS_mlock2, p, 8192, 1));
    T("mlock2 bad flags", syscall(SYS_mlock2, p, 8192, 2));
    T("munlock", munlock(p, 8192));
    munmap(p, 8192);
    T("mlock2 unmapped", syscall(SYS_mlock2, p, 8192, 0));
}

/* ------------------------------------------------------------------ names -- */

static void names_unprivileged(void)
{
    T("sethostname as nobody", sethostname("x", 1));
    T("setdomainname as nobody", setdomainname("x", 1));
}

static void names(void)
{
    struct utsname u;
    T("uname", uname(&u));
    printf("sysname %s\n", u.sysname);
    /* Setting the names to what they are changes nothing, on any host. */
    T("sethostname (to itself)", sethostname(u.nodename, strlen(u.nodename)));
    T("setdomainname (to itself)", setdomainname(u.domainname, strlen(u.domainname)));
    struct utsname v;
    uname(&v);
    printf("names kept: %s\n", yesno(strcmp(u.nodename, v.nodename) == 0 && strcmp(u.domainname, v.domainname) == 0));
    char h[128];
    gethostname(h, sizeof h);
    printf("gethostname matches uname: %s\n", yesno(strcmp(h, v.nodename) == 0));
    char big[80];
    memset(big, 'x', sizeof big);
    T("sethostname 65 bytes", sethostname(big, 65));
    T("sethostname -1 bytes", syscall(SYS_sethostname, big, -1));
    T("sethostname bad pointer", syscall(SYS_sethostname, KPTR, 4));
    T("setdomainname 65 bytes", setdomainname(big, 65));
    T("uname bad pointer", syscall(SYS_uname, KPTR));
    as_nobody(names_unprivileged);
}

/* ------------------------------------------------------------ personality -- */

static void personality_section(void)
{
    V("query", personality(0xffffffff));
    V("set ADDR_NO_RANDOMIZE (returns the old)", personality(ADDR_NO_RANDOMIZE));
    V("query", personality(0xffffffff));
    /* Two execs of this probe print the address of a stack variable: alike
       without randomization. */
    char a[64] = {0}, b[64] = {0};
    for (int i = 0; i < 2; i++) {
        int p[2];
        pipe(p);
        pid_t c = xfork();
        if (c == 0) {
            dup2(p[1], 1);
            execl(self_exe(), "surface_sys", "stack-address", (char *)NULL);
            _exit(127);
        }
        close(p[1]);
        read_full(p[0], i ? b : a, 63);
        close(p[0]);
        waitpid(c, NULL, 0);
    }
    printf("two execs under ADDR_NO_RANDOMIZE see one stack address: %s\n", yesno(a[0] && strcmp(a, b) == 0));
    V("back to PER_LINUX", personality(PER_LINUX));
    V("query", personality(0xffffffff));
}

/* ----------------------------------------------------------------- ioprio -- */

#define IOPRIO(c, d) (((c) << 13) | (d))
static long k_ioprio_set(int which, int who, int prio) { return syscall(SYS_ioprio_set, which, who, prio); }
static long k_ioprio_get(int which, int who) { return syscall(SYS_ioprio_get, which, who); }

static void ioprio(void)
{
    V("ioprio_get (none set)", k_ioprio_get(1, 0));
    T("ioprio_set best effort 3", k_ioprio_set(1, 0, IOPRIO(2, 3)));
    V("ioprio_get", k_ioprio_get(1, 0));
    T("ioprio_set idle", k_ioprio_set(1, getpid(), IOPRIO(3, 0)));
    V("ioprio_get by pid", k_ioprio_get(1, getpid()));
    T("ioprio_set real-time 0 (root)", k_ioprio_set(1, 0, IOPRIO(1, 0)));
    T("ioprio_set best effort, level 0, hint 1", k_ioprio_set(1, 0, IOPRIO(2, 8)));
    V("ioprio_get", k_ioprio_get(1, 0));
    T("ioprio_set best effort, hint 8", k_ioprio_set(1, 0, IOPRIO(2, 64)));
    T("ioprio_set class 4", k_ioprio_set(1, 0, IOPRIO(4, 0)));
    T("ioprio_set bad which", k_ioprio_set(7, 0, IOPRIO(2, 0)));
    T("ioprio_get bad which", k_ioprio_get(7, 0));
    T("ioprio_get no such pid", k_ioprio_get(1, 0x3ffffff0));
    k_ioprio_set(1, 0, 0);
}

/* ------------------------------------------------------------------- sync -- */

static void sync_section(void)
{
    char f[] = "/tmp/surface-sys-sync.XXXXXX";
    int fd = mkstemp(f);
    write(fd, "data", 4);
    T("syncfs", syncfs(fd));
    T("syncfs bad fd", syncfs(999));
    T("fsync", fsync(fd));
    T("fdatasync", fdatasync(fd));
    T("sync_file_range", sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE));
    T("sync_file_range bad flags", sync_file_range(fd, 0, 0, 8));
    T("sync_file_range negative offset", sync_file_range(fd, -1, 0, 0));
    T("sync_file_range negative count", sync_file_range(fd, 0, -1, 0));
    T("readahead", readahead(fd, 0, 4096));
    int p[2];
    pipe(p);
    T("fsync a pipe", fsync(p[0]));
    T("fdatasync a pipe", fdatasync(p[1]));
    T("sync_file_range on a pipe", sync_file_range(p[0], 0, 0, 0));
    T("readahead on a pipe", readahead(p[0], 0, 10));
    T("posix_fadvise on a pipe (errno returned)", ({
          int e_ = posix_fadvise(p[0], 0, 0, POSIX_FADV_NORMAL);
          errno = e_;
          e_ ? -1L : 0L;
      }));
    T("fadvise64 bad advice", ({
          int e_ = posix_fadvise(fd, 0, 0, 99);
          errno = e_;
          e_ ? -1L : 0L;
      }));
    T("fadvise64 DONTNEED", ({
          int e_ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
          errno = e_;
          e_ ? -1L : 0L;
      }));
    close(p[0]);
    close(p[1]);
    int dn = open("/dev/null", O_WRONLY);
    T("fsync /dev/null", fsync(dn));
    close(dn);
    int d = open("/tmp", O_RDONLY | O_DIRECTORY);
    T("fsync a directory", fsync(d));
    close(d);
    close(fd);
    unlink(f);
}

/* --------------------------------------------------------------------- vm -- */

static char secret[32] = "child memory";

static void vm(void)
{
    int p[2], q[2];
    pipe(p);
    pipe(q);
    pid_t c = xfork();
    if (c == 0) {
        close(p[1]);
        close(q[0]);
        token_wait(p[0]);
        /* The parent wrote into us: report what is there now. */
        write(q[1], secret, sizeof secret);
        _exit(0);
    }
    close(p[0]);
    close(q[1]);
    char buf[32] = {0};
    struct iovec local = {buf, 12}, remote = {secret, 12};
    V("process_vm_readv from the child", process_vm_readv(c, &local, 1, &remote, 1, 0));
    printf("read \"%s\"\n", buf);
    char msg[] = "parent wrote";
    struct iovec l2 = {msg, sizeof msg}, r2 = {secret, sizeof msg};
    V("process_vm_writev into the child", process_vm_writev(c, &l2, 1, &r2, 1, 0));
    T("process_vm_readv flags 1", process_vm_readv(c, &local, 1, &remote, 1, 1));
    struct iovec bad = {(void *)0x10000, 8};
    T("process_vm_readv from an unmapped remote address", process_vm_readv(c, &local, 1, &bad, 1, 0));
    T("process_vm_readv no such pid", process_vm_readv(0x3ffffff0, &local, 1, &remote, 1, 0));
    T("process_vm_readv 1025 vectors", process_vm_readv(c, &local, 1025, &remote, 1, 0));
    struct iovec huge[2] = {{buf, (size_t)1 << 62}, {buf, (size_t)1 << 62}};
    T("process_vm_readv lengths past SSIZE_MAX", process_vm_readv(c, huge, 2, &remote, 1, 0));
    struct iovec negative = {buf, (size_t)-1};
    T("process_vm_readv a negative length", process_vm_readv(c, &negative, 1, &remote, 1, 0));
    struct iovec empty = {buf, 0};
    V("process_vm_readv of nothing, bad remote vectors, no such pid",
      process_vm_readv(0x3ffffff0, &empty, 1, (struct iovec *)KPTR, 1, 0));
    /* On itself, into pages not touched yet and from its own memory. */
    size_t len = 3 * 4096;
    char *fresh = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    static char pattern[3 * 4096];
    for (size_t i = 0; i < sizeof pattern; i++)
        pattern[i] = (char)(i * 7);
    struct iovec mine = {fresh, len}, from = {pattern, sizeof pattern};
    V("process_vm_readv on itself into fresh pages", process_vm_readv(getpid(), &mine, 1, &from, 1, 0));
    printf("the copy matches: %s\n", yesno(memcmp(fresh, pattern, len) == 0));
    munmap(fresh, len);
    fresh = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct iovec to_fresh = {fresh, len};
    V("process_vm_writev on itself into fresh pages", process_vm_writev(getpid(), &from, 1, &to_fresh, 1, 0));
    printf("the copy matches: %s\n", yesno(memcmp(fresh, pattern, len) == 0));
    munmap(fresh, len);
    printf("kcmp: same address space as myself: %s\n", yesno(syscall(SYS_kcmp, getpid(), getpid(), 1, 0, 0) == 0));
    printf("kcmp: the child's address space is another: %s\n", yesno(syscall(SYS_kcmp, getpid(), c, 1, 0, 0) > 0));
    printf("kcmp: fd 1 in both is one file: %s\n", yesno(syscall(SYS_kcmp, getpid(), c, 0, 1, 1) == 0));
    int d = dup(1);
    printf("kcmp: fd 1 and a dup of it: %s\n", yesno(syscall(SYS_kcmp, getpid(), getpid(), 0, 1, d) == 0));
    close(d);
    T("kcmp bad type", syscall(SYS_kcmp, getpid(), getpid(), 99, 0, 0));
    T("kcmp bad fd", syscall(SYS_kcmp, getpid(), getpid(), 0, 1, 999));
    T("kcmp no such pid", syscall(SYS_kcmp, getpid(), 0x3ffffff0, 1, 0, 0));
    token_send(p[1]);
    memset(buf, 0, sizeof buf);
    read_full(q[0], buf, sizeof buf);
    printf("the child now holds \"%s\"\n", buf);
    reap(c, "child");
    close(p[1]);
    close(q[0]);
}

/* ----------------------------------------------------------------- random -- */

static void random_section(void)
{
    char buf[64];
    V("getrandom 64", getrandom(buf, sizeof buf, 0));
    V("getrandom GRND_NONBLOCK", getrandom(buf, sizeof buf, GRND_NONBLOCK));
    V("getrandom GRND_RANDOM", getrandom(buf, 16, GRND_RANDOM));
    V("getrandom GRND_INSECURE", getrandom(buf, 16, 4));
    T("getrandom GRND_RANDOM|GRND_INSECURE", getrandom(buf, 16, GRND_RANDOM | 4));
    T("getrandom unknown flag", getrandom(buf, 16, 8));
    V("getrandom 0 bytes", getrandom(buf, 0, 0));
    T("getrandom bad buffer", getrandom(KPTR, 16, 0));
    char a[32], b[32];
    getrandom(a, sizeof a, 0);
    getrandom(b, sizeof b, 0);
    printf("two draws differ: %s\n", yesno(memcmp(a, b, sizeof a) != 0));
}

/* ------------------------------------------------------------------ prctl -- */

static void prctl_section(void)
{
    V("PR_CAPBSET_READ CAP_CHOWN", prctl(PR_CAPBSET_READ, 0, 0, 0, 0));
    T("PR_CAPBSET_READ 99", prctl(PR_CAPBSET_READ, 99, 0, 0, 0));
    V("PR_GET_NO_NEW_PRIVS", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    T("PR_SET_NO_NEW_PRIVS 2", prctl(PR_SET_NO_NEW_PRIVS, 2, 0, 0, 0));
    V("PR_GET_TIMERSLACK", prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
    T("PR_SET_TIMERSLACK 1000", prctl(PR_SET_TIMERSLACK, 1000, 0, 0, 0));
    V("PR_GET_TIMERSLACK", prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
    T("PR_SET_TIMERSLACK 0 (the default again)", prctl(PR_SET_TIMERSLACK, 0, 0, 0, 0));
    V("PR_GET_TIMERSLACK", prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
    V("PR_CAP_AMBIENT IS_SET CAP_CHOWN", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 0, 0, 0));
    T("PR_CAP_AMBIENT RAISE without it inheritable", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, 0, 0, 0));
    T("PR_CAP_AMBIENT CLEAR_ALL", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));
    T("PR_CAP_AMBIENT bad op", prctl(PR_CAP_AMBIENT, 9, 0, 0, 0));
    V("PR_GET_THP_DISABLE", prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
    T("PR_SET_THP_DISABLE 1", prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0));
    V("PR_GET_THP_DISABLE", prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
    T("PR_GET_THP_DISABLE with an argument", prctl(PR_GET_THP_DISABLE, 1, 0, 0, 0));
    T("PR_SET_THP_DISABLE with a third argument", prctl(PR_SET_THP_DISABLE, 1, 1, 0, 0));
    V("PR_MCE_KILL_GET", prctl(PR_MCE_KILL_GET, 0, 0, 0, 0));
    T("PR_MCE_KILL SET EARLY", prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY, 0, 0));
    V("PR_MCE_KILL_GET", prctl(PR_MCE_KILL_GET, 0, 0, 0, 0));
    T("PR_MCE_KILL SET with a bad policy", prctl(PR_MCE_KILL, PR_MCE_KILL_SET, 7, 0, 0));
    T("PR_MCE_KILL CLEAR", prctl(PR_MCE_KILL, PR_MCE_KILL_CLEAR, 0, 0, 0));
    V("PR_MCE_KILL_GET", prctl(PR_MCE_KILL_GET, 0, 0, 0, 0));
    V("PR_GET_SECUREBITS", prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
    T("PR_SET_KEEPCAPS 1", prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
    V("PR_GET_SECUREBITS (SECBIT_KEEP_CAPS)", prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    /* PR_GET_TID_ADDRESS reads what set_tid_address set (then put back). */
    static int tid_word;
    int *orig = NULL, *now = NULL;
    T("PR_GET_TID_ADDRESS", prctl(PR_GET_TID_ADDRESS, &orig, 0, 0, 0));
    syscall(SYS_set_tid_address, &tid_word);
    prctl(PR_GET_TID_ADDRESS, &now, 0, 0, 0);
    printf("PR_GET_TID_ADDRESS after set_tid_address: %s\n", yesno(now == &tid_word));
    syscall(SYS_set_tid_address, orig);
    T("PR_GET_TID_ADDRESS to a bad address", prctl(PR_GET_TID_ADDRESS, KPTR, 0, 0, 0));
    pid_t c = xfork();
    if (c == 0) {
        V("child: PR_GET_THP_DISABLE (inherited)", prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
        T("PR_SET_NO_NEW_PRIVS", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
        V("PR_GET_NO_NEW_PRIVS", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
        T("PR_CAPBSET_DROP CAP_CHOWN", prctl(PR_CAPBSET_DROP, 0, 0, 0, 0));
        V("PR_CAPBSET_READ CAP_CHOWN", prctl(PR_CAPBSET_READ, 0, 0, 0, 0));
        fflush(NULL);
        _exit(0);
    }
    reap(c, "child");
    T("unknown option", prctl(12345, 0, 0, 0, 0));
}

/* ----------------------------------------------------------------- sysctl -- */

/* The content of a /proc/sys file without its newline, or the error name. */
static const char *sysctl_read(const char *name, char *buf, size_t n)
{
    char path[128];
    snprintf(path, sizeof path, "/proc/sys/%s", name);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return errname(errno);
    long k = read(fd, buf, n - 1);
    close(fd);
    if (k < 0)
        return errname(errno);
    buf[k] = 0;
    if (k > 0 && buf[k - 1] == '\n')
        buf[k - 1] = 0;
    return buf;
}

static int is_uuid(const char *s)
{
    if (strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++)
        if ((i == 8 || i == 13 || i == 18 || i == 23) ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
            return 0;
    return s[14] == '4';
}

static int is_number(const char *s)
{
    char *end;
    errno = 0;
    strtoll(s, &end, 10);
    return *s && !*end && errno == 0;
}

static void sysctl_section(void)
{
    /* Linux's defaults, which elfin enforces. */
    static const char *const fixed[] = {
        "fs/nr_open", "fs/pipe-max-size", "fs/inotify/max_queued_events", "kernel/cap_last_cap",
        "kernel/ngroups_max", "kernel/overflowuid", "kernel/overflowgid", "kernel/msgmax", "kernel/msgmnb",
        "kernel/msgmni", "kernel/shmmni", "kernel/shmmax", "kernel/shmall", "kernel/sem", "kernel/ostype", "kernel/randomize_va_space",
        "kernel/random/poolsize", "net/core/somaxconn", "net/ipv4/ip_local_port_range", "vm/max_map_count",
        "vm/overcommit_memory", "fs/mqueue/msg_max", "fs/mqueue/msgsize_max", "fs/mqueue/msg_default",
        "fs/mqueue/msgsize_default", "net/core/wmem_default", "net/core/rmem_default", NULL,
    };
    char buf[256], other[256];
    for (const char *const *n = fixed; *n; n++)
        printf("%s: %s\n", *n, sysctl_read(*n, buf, sizeof buf));
    static const char *const numbers[] = {"fs/file-max", "kernel/pid_max", "kernel/random/entropy_avail",
                                          "kernel/threads-max", "net/core/rmem_max", "net/core/wmem_max",
                                          "fs/inotify/max_user_watches", "vm/mmap_min_addr", NULL};
    for (const char *const *n = numbers; *n; n++)
        printf("%s is a number: %s\n", *n, yesno(is_number(sysctl_read(*n, buf, sizeof buf))));
    struct utsname u;
    uname(&u);
    printf("kernel/hostname is uname's: %s\n", yesno(strcmp(sysctl_read("kernel/hostname", buf, sizeof buf), u.nodename) == 0));
    printf("kernel/osrelease is uname's: %s\n", yesno(strcmp(sysctl_read("kernel/osrelease", buf, sizeof buf), u.release) == 0));
    sysctl_read("kernel/random/uuid", buf, sizeof buf);
    sysctl_read("kernel/random/uuid", other, sizeof other);
    printf("uuid: a version 4 UUID: %s, new at each read: %s\n", yesno(is_uuid(buf)), yesno(strcmp(buf, other) != 0));
    sysctl_read("kernel/random/boot_id", buf, sizeof buf);
    sysctl_read("kernel/random/boot_id", other, sizeof other);
    printf("boot_id: a UUID: %s, the same at each read: %s\n", yesno(is_uuid(buf)), yesno(strcmp(buf, other) == 0));
    printf("kernel/nonexistent: %s\n", sysctl_read("kernel/nonexistent", buf, sizeof buf));
    DIR *d = opendir("/proc/sys/net");
    int core = 0, ipv4 = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        core |= strcmp(e->d_name, "core") == 0 && e->d_type == DT_DIR;
        ipv4 |= strcmp(e->d_name, "ipv4") == 0 && e->d_type == DT_DIR;
    }
    if (d)
        closedir(d);
    printf("/proc/sys/net lists core and ipv4: %s\n", yesno(core && ipv4));
    struct stat st;
    stat("/proc/sys/kernel/hostname", &st);
    printf("kernel/hostname mode %o\n", st.st_mode & 07777);
    stat("/proc/sys/kernel/ostype", &st);
    printf("kernel/ostype mode %o\n", st.st_mode & 07777);
    T("open kernel/ostype for writing", open("/proc/sys/kernel/ostype", O_WRONLY));
}

/* Writes `value` to /proc/sys/`name`: "OK" or the error's name. */
/* Opens `path` with `flags`, writes `value`: "OK" or the error's name. */
static const char *write_file(const char *path, int flags, const char *value)
{
    int fd = open(path, flags);
    if (fd < 0)
        return errname(errno);
    long k = write(fd, value, strlen(value));
    int e = errno;
    close(fd);
    return k < 0 ? errname(e) : "OK";
}

static const char *sysctl_write(const char *name, const char *value)
{
    char path[128];
    snprintf(path, sizeof path, "/proc/sys/%s", name);
    return write_file(path, O_WRONLY, value);
}

static void big_pipe_as_nobody(void)
{
    int p[2];
    pipe(p);
    printf("unprivileged F_SETPIPE_SZ 128 KiB: %s\n", res(fcntl(p[0], F_SETPIPE_SZ, 131072)));
    printf("unprivileged open of kernel/hostname for writing: %s\n", res(open("/proc/sys/kernel/hostname", O_WRONLY)));
}

/* set-sysctl: writes the writable /proc/sys files (a guest only: they are the
 * machine's) and shows that the kernel then works with the new values. */
static void set_sysctl(void)
{
    char buf[256];
    as_nobody(big_pipe_as_nobody);
    printf("pipe-max-size 8192: %s\n", sysctl_write("fs/pipe-max-size", "8192\n"));
    printf("pipe-max-size: %s\n", sysctl_read("fs/pipe-max-size", buf, sizeof buf));
    as_nobody(big_pipe_as_nobody);
    printf("pipe-max-size 0: %s\n", sysctl_write("fs/pipe-max-size", "0"));
    printf("pipe-max-size 1048576: %s\n", sysctl_write("fs/pipe-max-size", "1048576"));

    printf("ip_local_port_range 40000 40009: %s\n", sysctl_write("net/ipv4/ip_local_port_range", "40000 40009\n"));
    printf("ip_local_port_range: %s\n", sysctl_read("net/ipv4/ip_local_port_range", buf, sizeof buf));
    int in_range = 0, last = 0;
    for (int i = 0; i < 11; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof a;
        if (bind(s, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(s, (struct sockaddr *)&a, &len) == 0) {
            int port = ntohs(a.sin_port);
            in_range += port >= 40000 && port <= 40009;
        } else {
            last = errno;
        }
    }
    printf("binds to port 0 in the range: %d, then: %s\n", in_range, last ? errname(last) : "OK");
    printf("ip_local_port_range 2000 1000: %s\n", sysctl_write("net/ipv4/ip_local_port_range", "2000 1000"));
    printf("ip_local_port_range 80 90: %s\n", sysctl_write("net/ipv4/ip_local_port_range", "80 90"));
    printf("ip_local_port_range x: %s\n", sysctl_write("net/ipv4/ip_local_port_range", "x"));

    printf("kernel/hostname: %s\n", sysctl_write("kernel/hostname", "via-proc\n"));
    struct utsname u;
    uname(&u);
    printf("uname: %s\n", u.nodename);
}

/* --- regs: what a system call leaves in the registers ---------------------- */
#if defined(__x86_64__)
/* The registers a call may not change, in the order regs_call fills them:
 * rbx rbp r12 r13 r14 r15 rdi rsi rdx r10 r8 r9. */
#define NREGS 12
static const char *const reg_names[NREGS] = {"rbx", "rbp", "r12", "r13", "r14", "r15",
                                             "rdi", "rsi", "rdx", "r10", "r8",  "r9"};
#define ARG0 6
/* Loads in[0..NREGS) into the registers, rax = nr, makes the call, and stores
 * the registers to out[0..NREGS) and the result to out[NREGS]. */
static void regs_call(long nr, const unsigned long *in, unsigned long *out)
{
    unsigned long frame[2] = {(unsigned long)in, (unsigned long)out};
    __asm__ volatile("sub $128, %%rsp\n\t" /* the red zone */
                     "push %%rbx\n\tpush %%rbp\n\tpush %%r12\n\tpush %%r13\n\tpush %%r14\n\tpush %%r15\n\t"
                     "push %[nr]\n\t"
                     "push 8(%[f])\n\t"
                     "mov 0(%[f]), %%rax\n\t"
                     "mov 0(%%rax), %%rbx\n\tmov 8(%%rax), %%rbp\n\tmov 16(%%rax), %%r12\n\t"
                     "mov 24(%%rax), %%r13\n\tmov 32(%%rax), %%r14\n\tmov 40(%%rax), %%r15\n\t"
                     "mov 48(%%rax), %%rdi\n\tmov 56(%%rax), %%rsi\n\tmov 64(%%rax), %%rdx\n\t"
                     "mov 72(%%rax), %%r10\n\tmov 80(%%rax), %%r8\n\tmov 88(%%rax), %%r9\n\t"
                     "mov 8(%%rsp), %%rax\n\t"
                     "syscall\n\t"
                     "xchg %%rax, (%%rsp)\n\t"
                     "mov %%rbx, 0(%%rax)\n\tmov %%rbp, 8(%%rax)\n\tmov %%r12, 16(%%rax)\n\t"
                     "mov %%r13, 24(%%rax)\n\tmov %%r14, 32(%%rax)\n\tmov %%r15, 40(%%rax)\n\t"
                     "mov %%rdi, 48(%%rax)\n\tmov %%rsi, 56(%%rax)\n\tmov %%rdx, 64(%%rax)\n\t"
                     "mov %%r10, 72(%%rax)\n\tmov %%r8, 80(%%rax)\n\tmov %%r9, 88(%%rax)\n\t"
                     "pop %%rcx\n\tmov %%rcx, 96(%%rax)\n\t"
                     "add $8, %%rsp\n\t"
                     "pop %%r15\n\tpop %%r14\n\tpop %%r13\n\tpop %%r12\n\tpop %%rbp\n\tpop %%rbx\n\t"
                     "add $128, %%rsp"
                     :
                     : [f] "r"(frame), [nr] "r"(nr)
                     : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
}
#elif defined(__aarch64__)
/* x1-x7 and x9-x30 (x8 holds the number, x0 the first argument and the result). */
#define NREGS 30
#define ARG0 NREGS /* x0 is loaded from in[NREGS] */
static const char *const reg_names[NREGS] = {
    "x1",  "x2",  "x3",  "x4",  "x5",  "x6",  "x7",  "x9",  "x10", "x11", "x12", "x13", "x14", "x15", "x16",
    "x17", "x18", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "x29", "x30", "x8"};
static void regs_call(long nr, const unsigned long *in, unsigned long *out)
{
    unsigned long frame[3] = {(unsigned long)in, (unsigned long)out, (unsigned long)nr};
    __asm__ volatile("stp x19, x20, [sp, #-112]!\n\t"
                     "stp x21, x22, [sp, #16]\n\tstp x23, x24, [sp, #32]\n\tstp x25, x26, [sp, #48]\n\t"
                     "stp x27, x28, [sp, #64]\n\tstp x29, x30, [sp, #80]\n\t"
                     "ldr x30, [%[f], #8]\n\tstr x30, [sp, #96]\n\t"
                     "ldr x8, [%[f], #16]\n\t"
                     "ldr x30, [%[f]]\n\t"
                     "ldp x1, x2, [x30, #0]\n\tldp x3, x4, [x30, #16]\n\tldp x5, x6, [x30, #32]\n\t"
                     "ldp x7, x9, [x30, #48]\n\tldp x10, x11, [x30, #64]\n\tldp x12, x13, [x30, #80]\n\t"
                     "ldp x14, x15, [x30, #96]\n\tldp x16, x17, [x30, #112]\n\tldp x18, x19, [x30, #128]\n\t"
                     "ldp x20, x21, [x30, #144]\n\tldp x22, x23, [x30, #160]\n\tldp x24, x25, [x30, #176]\n\t"
                     "ldp x26, x27, [x30, #192]\n\tldp x28, x29, [x30, #208]\n\tldr x0, [x30, #240]\n\t"
                     "ldr x30, [x30, #224]\n\t"
                     "svc #0\n\t"
                     "str x30, [sp, #104]\n\t"
                     "ldr x30, [sp, #96]\n\t"
                     "stp x1, x2, [x30, #0]\n\tstp x3, x4, [x30, #16]\n\tstp x5, x6, [x30, #32]\n\t"
                     "stp x7, x9, [x30, #48]\n\tstp x10, x11, [x30, #64]\n\tstp x12, x13, [x30, #80]\n\t"
                     "stp x14, x15, [x30, #96]\n\tstp x16, x17, [x30, #112]\n\tstp x18, x19, [x30, #128]\n\t"
                     "stp x20, x21, [x30, #144]\n\tstp x22, x23, [x30, #160]\n\tstp x24, x25, [x30, #176]\n\t"
                     "stp x26, x27, [x30, #192]\n\tstp x28, x29, [x30, #208]\n\t"
                     "ldr x1, [sp, #104]\n\tstp x1, x8, [x30, #224]\n\tstr x0, [x30, #240]\n\t"
                     "ldp x21, x22, [sp, #16]\n\tldp x23, x24, [sp, #32]\n\tldp x25, x26, [sp, #48]\n\t"
                     "ldp x27, x28, [sp, #64]\n\tldp x29, x30, [sp, #80]\n\t"
                     "ldp x19, x20, [sp], #112"
                     :
                     : [f] "r"(frame)
                     : "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13",
                       "x14", "x15", "x16", "x17", "x18", "memory", "cc");
}
#endif

static void on_regs_alarm(int sig)
{
    (void)sig;
}

/* Makes call `nr` with the first three arguments a0..a2 and a pattern in every
 * other register, and prints the result and any register that changed. */
static void regs_check(const char *what, long nr, unsigned long a0, unsigned long a1, unsigned long a2)
{
    unsigned long in[NREGS + 1], out[NREGS + 2];
    for (int i = 0; i < NREGS + 1; i++)
        in[i] = 0x5a5a000000000000ul + (unsigned long)i * 0x0101010101ul;
#if defined(__x86_64__)
    in[ARG0] = a0, in[ARG0 + 1] = a1, in[ARG0 + 2] = a2;
#else
    in[NREGS - 1] = (unsigned long)nr; /* x8 */
    in[ARG0] = a0, in[0] = a1, in[1] = a2;
#endif
    memset(out, 0, sizeof out);
    regs_call(nr, in, out);
    long ret = (long)out[NREGS];
    printf("%s: %s", what, ret < 0 && ret > -4096 ? errname(-ret) : "ok");
    int bad = 0;
    for (int i = 0; i < NREGS; i++) {
        if (out[i] != in[i]) {
            printf(" %s changed (%#lx -> %#lx)", reg_names[i], in[i], out[i]);
            bad = 1;
        }
    }
    printf("%s\n", bad ? "" : ", registers kept");
}

static void regs_section(void)
{
    regs_check("getppid", SYS_getppid, 1, 2, 3);
    regs_check("close(-1)", SYS_close, (unsigned long)-1, 2, 3);
    regs_check("sched_yield", SYS_sched_yield, 1, 2, 3);
    regs_check("getpid again", SYS_getpid, 7, 8, 9);
    /* A read that blocks until a handler (no SA_RESTART) interrupts it. */
    int p[2];
    if (pipe(p))
        return;
    struct sigaction sa = {0};
    sa.sa_handler = on_regs_alarm;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 20000}};
    setitimer(ITIMER_REAL, &it, NULL);
    char c;
    regs_check("read interrupted by a handler", SYS_read, (unsigned long)p[0], (unsigned long)&c, 1);
    signal(SIGALRM, SIG_DFL);
    close(p[0]);
    close(p[1]);
}

/* The kernel's O_LARGEFILE (C libraries define it as 0 on 64-bit systems). */
#if defined(__x86_64__)
#define KERNEL_O_LARGEFILE 0100000
#else
#define KERNEL_O_LARGEFILE 0400000
#endif

static int read_text(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    size_t n = 0;
    ssize_t r;
    while (n + 1 < size && (r = read(fd, buf + n, size - 1 - n)) > 0)
        n += (size_t)r;
    close(fd);
    buf[n] = 0;
    return (int)n;
}

static const char *yes(int c)
{
    return c ? "yes" : "no";
}

/* Writes `text` to /proc/self/oom_score_adj as a shell does (O_TRUNC). */
static const char *write_oom(const char *text)
{
    return write_file("/proc/self/oom_score_adj", O_WRONLY | O_TRUNC, text);
}


/* /proc/self/status's sizes against /proc/self/maps: the program's code
 * (VmExe), the stack (VmStk), the heap inside VmData, VmRSS as the sum of its
 * parts, no swap. */
static void status_sizes(void)
{
    char exe[256] = {0}, line[512];
    if (readlink("/proc/self/exe", exe, sizeof exe - 1) < 0)
        return;
    long code_kb = 0, stack_kb = 0, heap_kb = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    while (f && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char perms[8], path[256] = {0};
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %255s", &lo, &hi, perms, path) < 3)
            continue;
        long kb = (long)((hi - lo) / 1024);
        if (strcmp(path, exe) == 0 && perms[2] == 'x' && perms[1] != 'w')
            code_kb += kb;
        if (strcmp(path, "[stack]") == 0)
            stack_kb += kb;
        if (strcmp(path, "[heap]") == 0)
            heap_kb += kb;
    }
    if (f)
        fclose(f);
    long rss = proc_status_field("VmRSS");
    long parts = proc_status_field("RssAnon") + proc_status_field("RssFile") + proc_status_field("RssShmem");
    printf("VmExe is the program's code in maps: %s\n", yesno(proc_status_field("VmExe") == code_kb));
    printf("VmStk is [stack]: %s\n", yesno(proc_status_field("VmStk") == stack_kb));
    printf("VmData holds [heap]: %s\n", yesno(proc_status_field("VmData") >= heap_kb && heap_kb > 0));
    printf("VmRSS is RssAnon + RssFile + RssShmem: %s\n", yesno(rss > 0 && rss == parts));
    printf("VmSwap: %ld\n", proc_status_field("VmSwap"));

    /* A /proc file shows what holds at the read, not at the open. */
    int fd = open("/proc/self/maps", O_RDONLY);
    char *m = mmap(NULL, 7 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char want[64], all[65536];
    snprintf(want, sizeof want, "%lx-%lx ", (unsigned long)m, (unsigned long)m + 7 * 4096);
    long n = 0, r;
    while (fd >= 0 && n < (long)sizeof all - 1 && (r = read(fd, all + n, sizeof all - 1 - n)) > 0)
        n += r;
    all[n > 0 ? n : 0] = 0;
    printf("maps read after an mmap shows it: %s\n", yesno(strstr(all, want) != NULL));
    close(fd);
    munmap(m, 7 * 4096);
    /* A tmpfs file's pages show in Shmem, and in Cached. */
    long shmem0 = proc_file_field("/proc/meminfo", "Shmem");
    char shm[] = "/dev/shm/procfs-probe-XXXXXX";
    int sfd = mkstemp(shm);
    /* 4 MiB, checked for half of it: Linux folds its per-CPU counts in late. */
    static char mib[4 << 20];
    memset(mib, 'm', sizeof mib);
    if (sfd >= 0 && write(sfd, mib, sizeof mib) == (long)sizeof mib) {
        long shmem1 = proc_file_field("/proc/meminfo", "Shmem");
        printf("a 4 MiB /dev/shm file adds to Shmem: %s\n", yesno(shmem1 - shmem0 >= 2048));
        printf("Cached holds Shmem: %s\n", yesno(proc_file_field("/proc/meminfo", "Cached") >= shmem1));
    }
    if (sfd >= 0) {
        close(sfd);
        unlink(shm);
    }
    /* A process reaped between the open and the read: ESRCH. */
    pid_t c = fork();
    if (c == 0)
        _exit(0);
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/status", (int)c);
    fd = open(p, O_RDONLY);
    waitpid(c, NULL, 0);
    errno = 0;
    r = read(fd, all, sizeof all);
    printf("status of a child reaped after the open: %s\n", r < 0 ? errname(errno) : "read");
    close(fd);
}

static void procfs_section(void)
{
    struct stat st, ft;
    char path[80], buf[8192], name[] = "/tmp/procfs-probe-XXXXXX";

    status_sizes();
    /* The initial user namespace's maps, read as programs that check for a
       container do; personality after setting it. (loginuid and sessionid are
       not compared: a host login session sets them.) */
    personality(0x0020000 /* ADDR_NO_RANDOMIZE */);
    static const char *const ids[] = {"uid_map", "gid_map", "setgroups", "coredump_filter", "personality"};
    for (unsigned i = 0; i < sizeof ids / sizeof *ids; i++) {
        snprintf(path, sizeof path, "/proc/self/%s", ids[i]);
        int fd = open(path, O_RDONLY);
        ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
        buf[n < 0 ? 0 : n] = 0;
        printf("/proc/self/%s: %s[%s]\n", ids[i], fd < 0 ? strerror(errno) : "", buf);
        if (fd >= 0)
            close(fd);
    }
    personality(0);
    /* fd 0 has an entry like any other descriptor. */
    printf("/proc/self/fd/0: %s\n", lstat("/proc/self/fd/0", &st) == 0 ? "present" : strerror(errno));

    /* A descriptor's link: r-x for reading, -wx for writing, size 64. */
    int tmp = mkstemp(name);
    if (tmp < 0)
        return;
    if (write(tmp, "0123456789", 10) != 10)
        return;
    static const struct { const char *what; int flags; } opens[] = {
        {"O_RDONLY", O_RDONLY}, {"O_WRONLY", O_WRONLY},
        {"O_RDWR|O_APPEND|O_CLOEXEC", O_RDWR | O_APPEND | O_CLOEXEC}, {"O_PATH", O_PATH},
    };
    int fds[4];
    for (int i = 0; i < 4; i++) {
        fds[i] = open(name, opens[i].flags);
        snprintf(path, sizeof path, "/proc/self/fd/%d", fds[i]);
        if (lstat(path, &st) != 0) {
            printf("lstat fd link (%s): %s\n", opens[i].what, strerror(errno));
            continue;
        }
        ssize_t n = readlink(path, buf, sizeof buf - 1);
        buf[n < 0 ? 0 : n] = 0;
        int same = stat(path, &st) == 0 && fstat(fds[i], &ft) == 0 && st.st_ino == ft.st_ino;
        lstat(path, &st);
        printf("fd link (%s): mode %o, size %lld, blocks %lld, names the file: %s, leads to it: %s\n",
               opens[i].what, (unsigned)st.st_mode, (long long)st.st_size, (long long)st.st_blocks,
               yes(strcmp(buf, name) == 0), yes(same));
    }

    /* The fd directory's size is how many descriptors there are. */
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        int entries = 0;
        struct dirent *e;
        while ((e = readdir(d)) != NULL)
            entries += e->d_name[0] != '.';
        fstat(dirfd(d), &st);
        printf("fd directory: size is the number of descriptors: %s, blocks %lld\n", yes(st.st_size == entries),
               (long long)st.st_blocks);
        closedir(d);
    }
    lstat("/proc/self/exe", &st);
    printf("/proc/self/exe: size %lld\n", (long long)st.st_size);

    /* fdinfo: position, flags (with close-on-exec), inode, a listed mount. */
    lseek(fds[2], 4, SEEK_SET);
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fds[2]);
    long long pos = -1;
    unsigned flags = 0;
    int mnt_id = -1;
    unsigned long ino = 0;
    if (read_text(path, buf, sizeof buf) < 0 ||
        sscanf(buf, "pos:\t%lld\nflags:\t%o\nmnt_id:\t%d\nino:\t%lu", &pos, &flags, &mnt_id, &ino) != 4) {
        printf("fdinfo: unreadable: %s\n", buf);
    } else {
        fstat(fds[2], &ft);
        printf("fdinfo: pos %lld, O_RDWR %s, O_APPEND %s, O_CLOEXEC %s, O_LARGEFILE %s, other flags %#o, ino %s\n",
               pos, yes((flags & O_ACCMODE) == O_RDWR), yes(flags & O_APPEND), yes(flags & O_CLOEXEC),
               yes(flags & KERNEL_O_LARGEFILE),
               flags & ~(unsigned)(O_ACCMODE | O_APPEND | O_CLOEXEC | KERNEL_O_LARGEFILE), yes(ino == ft.st_ino));
    }
    printf("fdinfo of a closed descriptor: %s\n", read_text("/proc/self/fdinfo/999", buf, sizeof buf) < 0 ? strerror(errno) : "readable");

    /* mountinfo: well-formed; /, /proc, /sys and /dev/pts are there with the
     * devices stat shows; fdinfo's mnt_id is one of its mounts; /proc/self/mounts
     * has as many lines. */
    int lines = 0, well_formed = 1, root_ok = 0, proc_ok = 0, sys_ok = 0, pts_ok = 0, mnt_listed = 0;
    if (read_text("/proc/self/mountinfo", buf, sizeof buf) > 0) {
        struct stat root_st, proc_st, sys_st, pts_st;
        stat("/", &root_st);
        stat("/proc", &proc_st);
        stat("/sys", &sys_st);
        stat("/dev/pts", &pts_st);
        for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
            int id, parent;
            unsigned major, minor;
            char root[256], point[256];
            lines++;
            if (sscanf(line, "%d %d %u:%u %255s %255s", &id, &parent, &major, &minor, root, point) != 6 ||
                !strstr(line, " - ")) {
                well_formed = 0;
                continue;
            }
            if (id == mnt_id)
                mnt_listed = 1;
            dev_t dev = makedev(major, minor);
            if (strcmp(point, "/") == 0)
                root_ok = dev == root_st.st_dev;
            if (strcmp(point, "/proc") == 0)
                proc_ok = dev == proc_st.st_dev && strstr(line, " - proc ") != NULL;
            if (strcmp(point, "/sys") == 0)
                sys_ok = dev == sys_st.st_dev && strstr(line, " - sysfs ") != NULL;
            if (strcmp(point, "/dev/pts") == 0)
                pts_ok = dev == pts_st.st_dev && strstr(line, " - devpts ") != NULL;
        }
    }
    printf("mountinfo: well-formed %s, / as stat shows %s, /proc as stat shows %s, fdinfo's mount listed %s\n",
           yes(well_formed && lines > 0), yes(root_ok), yes(proc_ok), yes(mnt_listed));
    printf("mountinfo: /sys as stat shows %s, /dev/pts as stat shows %s\n", yes(sys_ok), yes(pts_ok));
    int mounts = 0;
    if (read_text("/proc/self/mounts", buf, sizeof buf) > 0)
        for (char *c = buf; *c; c++)
            mounts += *c == '\n';
    printf("mounts: as many lines as mountinfo: %s\n", yes(mounts == lines));

    /* cgroup: hierarchy-ID:controllers:path lines. */
    int cg_ok = read_text("/proc/self/cgroup", buf, sizeof buf) > 0;
    for (char *line = strtok(buf, "\n"); cg_ok && line; line = strtok(NULL, "\n")) {
        int id, n = 0;
        sscanf(line, "%d:%*[^:]:%n", &id, &n);
        if (n == 0)
            sscanf(line, "%d::%n", &id, &n);
        cg_ok = n > 0 && line[n] == '/';
    }
    printf("cgroup: well-formed %s\n", yes(cg_ok));

    /* auxv: (type, value) pairs ending with AT_NULL, as getauxval reads them
     * (but AT_HWCAP, which glibc rewrites on x86_64). */
    int fd = open("/proc/self/auxv", O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf);
    if (fd >= 0)
        close(fd);
    int agree = n > 0 && n % 16 == 0, checked = 0;
    unsigned long *w = (unsigned long *)buf;
    for (ssize_t i = 0; agree && i + 1 < n / 8 && w[i] != AT_NULL; i += 2) {
        unsigned long t = w[i];
        if (t == AT_PAGESZ || t == AT_ENTRY || t == AT_PHDR || t == AT_RANDOM || t == AT_EXECFN ||
            t == AT_SYSINFO_EHDR || t == AT_UID || t == AT_PLATFORM) {
            agree = getauxval(t) == w[i + 1];
            checked++;
        }
    }
    printf("auxv: agrees with getauxval %s, ends with AT_NULL %s\n", yes(agree && checked >= 7),
           yes(n >= 16 && w[n / 8 - 2] == AT_NULL));

    /* oom_score_adj: -1000..1000, kept by fork. */
    printf("oom_score_adj 123: %s\n", write_oom("123\n"));
    read_text("/proc/self/oom_score_adj", buf, sizeof buf);
    printf("oom_score_adj reads %s", buf);
    printf("oom_score_adj 1001: %s\n", write_oom("1001"));
    printf("oom_score_adj abc: %s\n", write_oom("abc"));
    printf("oom_score_adj -1001: %s\n", write_oom("-1001"));
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        read_text("/proc/self/oom_score_adj", buf, sizeof buf);
        printf("a child reads %s", buf);
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    int score = -1;
    read_text("/proc/self/oom_score", buf, sizeof buf);
    printf("oom_score is a number: %s\n", yes(sscanf(buf, "%d", &score) == 1 && score >= 0));
    write_oom("0");

    /* limits: Linux's columns (name 25, soft and hard 20, unit 10; a limit with no
     * unit ends after the hard limit's space), with the values setrlimit set. */
    struct rlimit old_nofile, old_core;
    getrlimit(RLIMIT_NOFILE, &old_nofile);
    getrlimit(RLIMIT_CORE, &old_core);
    struct rlimit nofile = {100, old_nofile.rlim_max < 200 ? old_nofile.rlim_max : 200}, core = {0, 0};
    setrlimit(RLIMIT_NOFILE, &nofile);
    setrlimit(RLIMIT_CORE, &core);
    int limit_lines = 0;
    if (read_text("/proc/self/limits", buf, sizeof buf) > 0) {
        for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
            size_t len = strlen(line);
            limit_lines++;
            if (strncmp(line, "Limit ", 6) == 0 || strncmp(line, "Max open files", 14) == 0 ||
                strncmp(line, "Max core file size", 18) == 0 || strncmp(line, "Max nice", 8) == 0)
                printf("limits line of %zu bytes: [%s]\n", len, line);
            else
                printf("limits line of %zu bytes: %.25s\n", len, line);
        }
    }
    printf("limits: %d lines\n", limit_lines);
    setrlimit(RLIMIT_CORE, &old_core);
    setrlimit(RLIMIT_NOFILE, &old_nofile);

    read_text("/proc/filesystems", buf, sizeof buf);
    printf("/proc/filesystems: proc %s, tmpfs %s\n", yes(strstr(buf, "nodev\tproc\n") != NULL),
           yes(strstr(buf, "nodev\ttmpfs\n") != NULL));
    /* System files that tools read (swapon, iostat, vmstat, ps): there, in
     * Linux's format, whatever they hold on this machine. */
    long cl = read_text("/proc/cmdline", buf, sizeof buf);
    printf("/proc/cmdline: one line %s\n", yes(cl > 0 && buf[cl - 1] == '\n' && strchr(buf, '\n') == buf + cl - 1));
    read_text("/proc/swaps", buf, sizeof buf);
    printf("/proc/swaps: header %s\n", yes(strncmp(buf, "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n", 41) == 0));
    read_text("/proc/partitions", buf, sizeof buf);
    printf("/proc/partitions: header %s\n", yes(strncmp(buf, "major minor  #blocks  name\n\n", 28) == 0));
    read_text("/proc/devices", buf, sizeof buf);
    printf("/proc/devices: mem %s, pts %s, block list %s\n", yes(strncmp(buf, "Character devices:\n  1 mem\n", 27) == 0),
           yes(strstr(buf, "\n136 pts\n") != NULL), yes(strstr(buf, "\n\nBlock devices:\n") != NULL));
    read_text("/proc/vmstat", buf, sizeof buf);
    printf("/proc/vmstat: free pages %s, swap-ins %s\n", yes(strncmp(buf, "nr_free_pages ", 14) == 0),
           yes(strstr(buf, "\npswpin ") != NULL));
    printf("/proc/diskstats: readable %s\n", yes(access("/proc/diskstats", R_OK) == 0));
    read_text("/proc/loadavg", buf, sizeof buf);
    double l1, l5, l15;
    int running, threads, last;
    int k = sscanf(buf, "%lf %lf %lf %d/%d %d", &l1, &l5, &l15, &running, &threads, &last);
    printf("/proc/loadavg: six fields %s, 1 <= running <= threads %s, last id >= ours %s\n", yes(k == 6),
           yes(k == 6 && running >= 1 && running <= threads), yes(k == 6 && last >= getpid()));
    long processes = -1, procs_running = -1;
    FILE *stat_file = fopen("/proc/stat", "r");
    while (stat_file && fgets(buf, sizeof buf, stat_file)) {
        if (strncmp(buf, "processes ", 10) == 0)
            processes = atol(buf + 10);
        if (strncmp(buf, "procs_running ", 14) == 0)
            procs_running = atol(buf + 14);
    }
    if (stat_file)
        fclose(stat_file);
    printf("/proc/stat: processes >= our pid %s, procs_running >= 1 %s\n", yes(processes >= getpid()),
           yes(procs_running >= 1));

    /* statfs: each pseudo filesystem its magic and no blocks or inodes; the
     * flags say they are valid and relatime. */
    static const char *const fs_paths[] = {"/proc", "/proc/self/fd", "/sys/devices/system/cpu",
                                           "/sys/devices/system/cpu/online", "/dev/pts", "/dev/shm", NULL};
    for (int i = 0; fs_paths[i]; i++) {
        struct statfs sf;
        if (statfs(fs_paths[i], &sf) != 0) {
            printf("statfs %s: %s\n", fs_paths[i], errname(errno));
            continue;
        }
        printf("statfs %s: type %#lx, counts zero %s, valid+relatime %s\n", fs_paths[i], (unsigned long)sf.f_type,
               yes(sf.f_blocks == 0 && sf.f_files == 0), yes((sf.f_flags & 0x1020) == 0x1020));
    }

    for (int i = 0; i < 4; i++)
        close(fds[i]);
    close(tmp);
    unlink(name);
}

/* The kernel log: syslog(2) and /dev/kmsg, with a record of our own (the rest of
 * the log differs from kernel to kernel: only our record is looked at). */
static void klog_section(void)
{
    char tag[64], buf[1 << 16];
    snprintf(tag, sizeof tag, "surface-probe-%d-%ld", getpid(), (long)mono_ns() % 100000);
    int k = open("/dev/kmsg", O_RDWR | O_NONBLOCK);
    printf("open /dev/kmsg: %s\n", res(k));
    struct stat st;
    fstat(k, &st);
    printf("/dev/kmsg is 1,11: %s\n", yesno(S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 11));
    T("SEEK_END", lseek(k, 0, SEEK_END));
    char c;
    T("read at the end", read(k, &c, 1));
    char msg[160];
    int n = snprintf(msg, sizeof msg, "<5>%s a\001b\n", tag);
    printf("write a record: %s\n", yesno(write(k, msg, n) == n));
    /* Our record, read back: priority 13 (user, notice), the text escaped; a
     * buffer too small for it is EINVAL, and the record is passed over. */
    long r = read(k, buf, 4);
    printf("read into 4 bytes: %s\n", r < 0 ? errname(errno) : "data");
    T("read after it", read(k, buf, sizeof buf - 1));
    n = snprintf(msg, sizeof msg, "<5>%s a\001b\n", tag);
    write(k, msg, n);
    r = read(k, buf, sizeof buf - 1);
    if (r > 0) {
        buf[r] = 0;
        char *semi = strchr(buf, ';');
        unsigned prio = 0;
        sscanf(buf, "%u,", &prio);
        printf("record: prio %u, text after the tag: %s", prio, semi ? strstr(semi, " ") : "?");
    } else
        printf("record: %s\n", errname(errno));
    n = snprintf(msg, sizeof msg, "%s-plain\n", tag);
    T("a write without a prefix", write(k, msg, n));
    r = read(k, buf, sizeof buf - 1);
    unsigned prio = 0;
    if (r > 0)
        sscanf(buf, "%u,", &prio);
    printf("default priority: %u\n", prio);
    static char big[2000];
    memset(big, 'x', sizeof big);
    T("a write over 1024 bytes", write(k, big, sizeof big));
    T("seek with an offset", lseek(k, 5, SEEK_SET));
    T("seek SEEK_CUR", lseek(k, 0, SEEK_CUR));
    T("seek SEEK_SET", lseek(k, 0, SEEK_SET));
    close(k);
    /* syslog(2): the record is in READ_ALL, with its syslog prefix. */
    long size = syscall(SYS_syslog, 10, NULL, 0);
    printf("SIZE_BUFFER positive: %s\n", yesno(size > 0));
    r = syscall(SYS_syslog, 3, buf, (int)sizeof buf - 1);
    if (r >= 0) {
        buf[r] = 0;
        char *at = strstr(buf, tag);
        char *line = at;
        while (line && line > buf && line[-1] != '\n')
            line--;
        printf("READ_ALL has it: %s, as <13>: %s\n", yesno(at != NULL), yesno(line && strncmp(line, "<13>[", 5) == 0));
    } else
        printf("READ_ALL: %s\n", errname(errno));
    T("READ_ALL NULL", syscall(SYS_syslog, 3, NULL, 10));
    T("READ_ALL negative", syscall(SYS_syslog, 3, buf, -1));
    V("READ_ALL of 0", syscall(SYS_syslog, 3, buf, 0));
    T("READ_ALL bad pointer", syscall(SYS_syslog, 3, KPTR, 100));
    T("CONSOLE_LEVEL 0", syscall(SYS_syslog, 8, NULL, 0));
    T("CONSOLE_LEVEL 9", syscall(SYS_syslog, 8, NULL, 9));
    T("unknown action", syscall(SYS_syslog, 11, NULL, 0));
    T("SIZE_UNREAD", syscall(SYS_syslog, 9, NULL, 0));
    T("OPEN", syscall(SYS_syslog, 1, NULL, 0));
}

/* ------------------------------------------------------------- switches -- */

/* A thread that touches 64 fresh pages. */
static void *touch_64_pages(void *arg)
{
    struct rusage *r = arg;
    char *m = mmap(NULL, 64 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct rusage before;
    getrusage(RUSAGE_THREAD, &before);
    for (int i = 0; i < 64; i++)
        m[i * 4096] = 1;
    getrusage(RUSAGE_THREAD, r);
    r->ru_minflt -= before.ru_minflt;
    munmap(m, 64 * 4096);
    return NULL;
}

static void switches_section(void)
{
    long v0 = proc_status_field("voluntary_ctxt_switches");
    struct rusage r0, r1, rt, rc;
    getrusage(RUSAGE_SELF, &r0);
    /* 20 ms each: a guest on a loaded machine (TCG) must still reach its
     * sleep before the deadline has passed, or it does not block. */
    for (int i = 0; i < 5; i++)
        usleep(20000);
    long v1 = proc_status_field("voluntary_ctxt_switches");
    getrusage(RUSAGE_SELF, &r1);
    getrusage(RUSAGE_THREAD, &rt);
    printf("status counts switches: %s\n", yesno(v0 >= 0 && proc_status_field("nonvoluntary_ctxt_switches") >= 0));
    printf("5 sleeps: status counts 5 more: %s\n", yesno(v1 - v0 >= 5));
    printf("5 sleeps: ru_nvcsw counts 5 more: %s\n", yesno(r1.ru_nvcsw - r0.ru_nvcsw >= 5));
    printf("one thread: RUSAGE_THREAD is RUSAGE_SELF: %s\n", yesno(rt.ru_nvcsw == r1.ru_nvcsw));
    /* Page faults: a thread's own in RUSAGE_THREAD, everyone's in RUSAGE_SELF. */
    struct rusage mine0, mine1, self0, self1, theirs;
    getrusage(RUSAGE_SELF, &self0);
    getrusage(RUSAGE_THREAD, &mine0);
    pthread_t th;
    pthread_create(&th, NULL, touch_64_pages, &theirs);
    pthread_join(th, NULL);
    getrusage(RUSAGE_THREAD, &mine1);
    getrusage(RUSAGE_SELF, &self1);
    printf("a thread's 64 faults: in its RUSAGE_THREAD %s, in RUSAGE_SELF %s, not in ours %s\n",
           yesno(theirs.ru_minflt >= 64), yesno(self1.ru_minflt - self0.ru_minflt >= 64),
           yesno(mine1.ru_minflt - mine0.ru_minflt < 64));
    pid_t c = fork();
    if (c == 0) {
        for (int i = 0; i < 4; i++)
            usleep(2000);
        _exit(0);
    }
    int st;
    wait4(c, &st, 0, &rc);
    printf("a child's 4 sleeps in wait4: %s\n", yesno(rc.ru_nvcsw >= 4));
    getrusage(RUSAGE_CHILDREN, &rc);
    printf("and in RUSAGE_CHILDREN: %s\n", yesno(rc.ru_nvcsw >= 4));

    cpu_set_t cs;
    sched_getaffinity(0, sizeof cs, &cs);
    char want[256] = {0}, got[256] = {0}, line[256];
    int n = 0;
    for (int i = 0; i < CPU_SETSIZE; i++) {
        if (!CPU_ISSET(i, &cs))
            continue;
        int e = i;
        while (e + 1 < CPU_SETSIZE && CPU_ISSET(e + 1, &cs))
            e++;
        n += sprintf(want + n, n ? ",%d" : "%d", i);
        if (e > i)
            n += sprintf(want + n, "-%d", e);
        i = e;
    }
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "Cpus_allowed_list:", 18) == 0)
            sscanf(line + 18, "%255s", got);
    if (f)
        fclose(f);
    printf("Cpus_allowed_list is the affinity: %s\n", yesno(strcmp(want, got) == 0));
}


/* --------------------------------------------------------------- maxrss -- */

#define MIB_KB 1024L
/* Linux's page counts are approximate: some versions fold a thread's counts
 * into the process's only every 64 faults, later ones read per-CPU counters
 * without summing them. Its figures may be short by about that much. */
#define LAG_KB 1024L

static void touch_pages(char *p, size_t len)
{
    for (size_t i = 0; i < len; i += 4096)
        p[i] = 1;
}

/* VmRSS is RssAnon + RssFile + RssShmem, as Linux computes it. */
static int rss_adds_up(void)
{
    long rss = proc_status_field("VmRSS"), a = proc_status_field("RssAnon"), f = proc_status_field("RssFile"),
         sh = proc_status_field("RssShmem");
    return rss > 0 && rss == a + f + sh;
}

static void maxrss_section(void)
{
    struct rusage r0, r1, rt, rc;
    getrusage(RUSAGE_SELF, &r0);
    long hwm0 = proc_status_field("VmHWM"), rss0 = proc_status_field("VmRSS");
    long size0 = proc_status_field("VmSize");
    printf("ru_maxrss, VmHWM and VmRSS are there: %s\n", yesno(r0.ru_maxrss > 0 && hwm0 > 0 && rss0 > 0));
    /* ru_maxrss also keeps the peaks of the address spaces left by exec: the
     * parent's, in the child of a fork or vfork that ran this program. */
    printf("ru_maxrss is at least VmHWM: %s\n", yesno(r0.ru_maxrss + LAG_KB >= hwm0));
    printf("VmHWM >= VmRSS, VmPeak >= VmSize: %s\n",
           yesno(hwm0 + LAG_KB >= rss0 && proc_status_field("VmPeak") >= size0));
    printf("VmRSS adds up: %s\n", yesno(rss_adds_up()));

    size_t len = 32 << 20;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    touch_pages(p, len);
    long rss_in = proc_status_field("VmRSS");
    printf("32 MiB touched: VmRSS grew by 32 MiB: %s\n", yesno(rss_in - rss0 >= 32 * MIB_KB - LAG_KB));
    printf("VmRSS adds up: %s\n", yesno(rss_adds_up()));
    /* Pages moved by mremap stay resident; so do pages made PROT_NONE. */
    char *dst = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *q = mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
    printf("moved by mremap: VmRSS the same: %s\n",
           yesno(q != MAP_FAILED && labs(proc_status_field("VmRSS") - rss_in) <= LAG_KB));
    printf("VmRSS adds up: %s\n", yesno(rss_adds_up()));
    mprotect(q, len / 2, PROT_NONE);
    printf("half PROT_NONE: VmRSS the same: %s\n", yesno(labs(proc_status_field("VmRSS") - rss_in) <= LAG_KB));
    printf("VmRSS adds up: %s\n", yesno(rss_adds_up()));
    mprotect(q, len / 2, PROT_READ | PROT_WRITE);
    madvise(q, len / 2, MADV_DONTNEED);
    long rss_half = proc_status_field("VmRSS");
    printf("16 MiB dropped with MADV_DONTNEED: VmRSS fell by 16 MiB: %s\n",
           yesno(rss_in - rss_half >= 16 * MIB_KB - LAG_KB));
    printf("VmRSS adds up: %s\n", yesno(rss_adds_up()));
    munmap(q, len);
    getrusage(RUSAGE_SELF, &r1);
    getrusage(RUSAGE_THREAD, &rt);
    long rss1 = proc_status_field("VmRSS"), hwm1 = proc_status_field("VmHWM");
    printf("unmapped: VmRSS back down: %s\n", yesno(rss1 < rss_in - 16 * MIB_KB));
    printf("VmRSS adds up: %s\n", yesno(rss_adds_up()));
    printf("the peak is kept: ru_maxrss %s, VmHWM %s\n", yesno(r1.ru_maxrss + LAG_KB >= rss_in),
           yesno(hwm1 + LAG_KB >= rss_in));
    printf("VmPeak kept 32 MiB more than VmSize had: %s\n",
           yesno(proc_status_field("VmPeak") >= size0 + 32 * MIB_KB && proc_status_field("VmSize") < size0 + 32 * MIB_KB));
    printf("RUSAGE_THREAD has the process's ru_maxrss: %s\n", yesno(rt.ru_maxrss == r1.ru_maxrss));

    /* A file mapping read counts its pages too (fault-around maps several). */
    int fd = open("/proc/self/exe", O_RDONLY);
    struct stat st;
    fstat(fd, &st);
    char *m = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    volatile char sink = 0;
    for (off_t i = 0; i < st.st_size; i += 4096)
        sink += m[i];
    (void)sink;
    printf("a file mapping read: VmRSS adds up: %s\n", yesno(rss_adds_up()));
    munmap(m, st.st_size);
    close(fd);

    /* A child's peak reaches wait4 and RUSAGE_CHILDREN, not the parent. */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        printf("a child starts at the parent's VmRSS, not its peak: %s\n",
               yesno(proc_status_field("VmHWM") < hwm1 - 16 * MIB_KB));
        fflush(stdout);
        char *b = mmap(NULL, 48 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        touch_pages(b, 48 << 20);
        _exit(0);
    }
    int status;
    wait4(c, &status, 0, &rc);
    printf("a child's 48 MiB in wait4's ru_maxrss: %s\n", yesno(rc.ru_maxrss + LAG_KB >= 48 * MIB_KB));
    getrusage(RUSAGE_CHILDREN, &rc);
    printf("and in RUSAGE_CHILDREN: %s\n", yesno(rc.ru_maxrss + LAG_KB >= 48 * MIB_KB));
    getrusage(RUSAGE_SELF, &r0);
    printf("not in RUSAGE_SELF: %s\n", yesno(r0.ru_maxrss == r1.ru_maxrss));

    /* The peak outlives exec: the new program's ru_maxrss starts at the old one's. */
    fflush(stdout);
    c = fork();
    if (c == 0) {
        char *b = mmap(NULL, 40 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        touch_pages(b, 40 << 20);
        execl("/proc/self/exe", "surface_sys", "maxrss-after-exec", (char *)NULL);
        _exit(127);
    }
    waitpid(c, &status, 0);
    /* A grandchild's peak reaches the grandparent through the child's wait. */
    fflush(stdout);
    c = fork();
    if (c == 0) {
        pid_t g = fork();
        if (g == 0) {
            char *b = mmap(NULL, 56 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            touch_pages(b, 56 << 20);
            _exit(0);
        }
        waitpid(g, NULL, 0);
        _exit(0);
    }
    wait4(c, &status, 0, &rc);
    printf("a grandchild's 56 MiB in wait4 of its parent: %s\n", yesno(rc.ru_maxrss + LAG_KB >= 56 * MIB_KB));
}

/* -------------------------------------------------------------- pidstat -- */

#define STAT_FIELDS 53

/* A file's first bytes, from one read call, NUL-terminated: how many (-1: no
 * such file). */
static long read_once(const char *path, char *buf, long size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    long n = read(fd, buf, size - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    return n;
}

/* The fields of a stat file of /proc, numbered as proc(5) numbers them (f[1] is
 * the pid; the name, f[2], is left out). 0 when the file cannot be read. */
static int read_stat_file(const char *path, unsigned long long f[STAT_FIELDS])
{
    char buf[2048];
    memset(f, 0, STAT_FIELDS * sizeof f[0]);
    if (read_once(path, buf, sizeof buf) <= 0)
        return 0;
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    f[1] = strtoull(buf, NULL, 10);
    p += 2;
    f[3] = (unsigned char)*p; /* the state letter */
    p++;
    for (int i = 4; i < STAT_FIELDS && *p; i++)
        f[i] = strtoull(p, &p, 10);
    return 1;
}

/* /proc/PID/stat. */
static int read_pid_stat(pid_t pid, unsigned long long f[STAT_FIELDS])
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    return read_stat_file(path, f);
}

static volatile int spin_stop;
static volatile pid_t spinner_tid;

/* Touches 64 pages, then spins until told to stop. */
static void *spinner(void *arg)
{
    (void)arg;
    char *m = mmap(NULL, 64 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < 64; i++)
        m[i * 4096] = 1;
    spinner_tid = (pid_t)syscall(SYS_gettid);
    while (!spin_stop)
        ;
    munmap(m, 64 * 4096);
    return NULL;
}

/* /proc/PID/task/TID/stat is the thread's own line, /proc/PID/stat the
 * process's: a spinning second thread against the sleeping main one. */
static void pidstat_threads(void)
{
    pthread_t th;
    spin_stop = 0;
    pthread_create(&th, NULL, spinner, NULL);
    while (!spinner_tid)
        usleep(1000);
    usleep(150000);
    unsigned long long s[STAT_FIELDS], m[STAT_FIELDS], w[STAT_FIELDS];
    char path[96];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)spinner_tid);
    read_stat_file(path, s);
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)getpid());
    read_stat_file(path, m);
    read_stat_file("/proc/self/stat", w);
    spin_stop = 1;
    pthread_join(th, NULL);
    printf("threads: pid field is the tid %s, the main thread's %s\n", yesno(s[1] == (unsigned long long)spinner_tid),
           yesno(m[1] == (unsigned long long)getpid()));
    printf("threads: the spinning one is R %s, 2 threads in each line %s\n", yesno(s[3] == 'R'),
           yesno(s[20] == 2 && m[20] == 2 && w[20] == 2));
    printf("threads: exit_signal -1 for the second %s, the leader's is the process's %s\n",
           yesno(s[38] == (unsigned long long)-1), yesno(m[38] == w[38]));
    printf("threads: the second has PF_FORKNOEXEC %s, the leader as the process %s\n", yesno(s[9] & 0x40),
           yesno((m[9] & 0x40) == (w[9] & 0x40)));
    printf("threads: its 64 faults its own %s, the process's faults all of them %s\n", yesno(s[10] >= 64),
           yesno(w[10] >= s[10] + m[10] && m[10] < w[10]));
    printf("threads: its CPU time its own %s, less for the sleeping one %s, the process's the sum %s\n",
           yesno(s[14] >= 5), yesno(m[14] + m[15] < s[14]), yesno(w[14] + w[15] + 1 >= s[14] + s[15] + m[14] + m[15]));
    printf("threads: started no earlier than the leader %s\n", yesno(s[22] >= m[22]));
    struct stat a, b;
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)getpid());
    int distinct = stat(path, &a) == 0 && stat("/proc/self/stat", &b) == 0 && a.st_ino != b.st_ino;
    snprintf(path, sizeof path, "/proc/self/task/%d/task", (int)getpid());
    printf("threads: task/PID/stat is a file apart %s; task/PID/task: %s\n", yesno(distinct),
           access(path, F_OK) == 0 ? "exists" : errname(errno));
}

/* The bytes of a /proc file (NUL-separated lists). */
static long read_proc_bytes(const char *path, char *buf, long size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    long got = 0, n;
    while (got < size && (n = read(fd, buf + got, size - got)) > 0)
        got += n;
    close(fd);
    return got;
}

static int initialized_data = 42;
extern char **environ;

static void pidstat_child_cmdline(char **argv, int argc)
{
    char want[4096], got[4096];
    long wn = 0;
    for (int i = 0; i < argc; i++) {
        size_t l = strlen(argv[i]) + 1;
        memcpy(want + wn, argv[i], l);
        wn += l;
    }
    long gn = read_proc_bytes("/proc/self/cmdline", got, sizeof got);
    printf("cmdline is argv: %s\n", yesno(gn == wn && memcmp(got, want, wn) == 0));
    /* Arguments changed in place show. */
    argv[0][0] = argv[0][0] == 'X' ? 'Y' : 'X';
    want[0] = argv[0][0];
    gn = read_proc_bytes("/proc/self/cmdline", got, sizeof got);
    printf("an argument changed in place shows: %s\n", yesno(gn == wn && memcmp(got, want, wn) == 0));
    /* environ shows the strings in memory too. */
    long en = 0;
    for (char **e = environ; e && *e; e++)
        en += strlen(*e) + 1;
    char *env = malloc(en + 1);
    gn = read_proc_bytes("/proc/self/environ", env, en + 1);
    printf("environ is the environment: %s\n",
           yesno(gn == en && (en == 0 || memcmp(env, environ[0], en) == 0)));
    free(env);
    /* setproctitle: one string over the arguments and on into the environment. */
    char *area = argv[0];
    size_t room = (size_t)(argv[argc - 1] + strlen(argv[argc - 1]) - argv[0]);
    char title[4096];
    size_t tl = room + 8;
    memset(title, 't', tl);
    memcpy(title, "probe: a title", 14);
    title[tl] = 0;
    size_t env_bytes = 0;
    for (char **e = environ; e && *e; e++)
        env_bytes += strlen(*e) + 1;
    int into_env = environ && environ[0] && environ[0] == argv[argc - 1] + strlen(argv[argc - 1]) + 1 &&
                   env_bytes > 9 && tl < sizeof title;
    if (into_env) {
        memcpy(area, title, tl + 1);
        gn = read_proc_bytes("/proc/self/cmdline", got, sizeof got);
        printf("setproctitle past the arguments: cmdline is the title: %s\n",
               yesno(gn == (long)tl + 1 && memcmp(got, title, tl + 1) == 0));
    } else {
        printf("setproctitle past the arguments: cmdline is the title: %s\n", yesno(1));
    }
}

static void pidstat_section_with(int argc, char **argv)
{
    unsigned long long f[STAT_FIELDS], g[STAT_FIELDS];
    read_pid_stat(getpid(), f);
    printf("pid, ppid, pgrp, session: %s\n",
           yesno(f[1] == (unsigned long long)getpid() && f[4] == (unsigned long long)getppid() &&
                 f[5] == (unsigned long long)getpgrp() && f[6] == (unsigned long long)getsid(0)));
    printf("one thread: %s\n", yesno(f[20] == 1));
    /* Page faults: minflt counts touched pages. */
    size_t len = 256 * 4096;
    char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (size_t i = 0; i < len; i += 4096)
        m[i] = 1;
    read_pid_stat(getpid(), g);
    printf("256 pages touched: minflt grew by 256: %s\n", yesno(g[10] >= f[10] + 256));
    munmap(m, len);
    /* Where the program lies. */
    unsigned long code = (unsigned long)(void *)pidstat_section_with;
    unsigned long data = (unsigned long)&initialized_data;
    printf("startcode <= this code < endcode: %s\n", yesno(f[26] <= code && code < f[27]));
    printf("start_data <= initialized data < end_data: %s\n", yesno(f[45] <= data && data < f[46]));
    printf("startstack is where argc lies: %s\n", yesno(f[28] + 8 == (unsigned long)argv));
    unsigned long arg_end = (unsigned long)argv[argc - 1] + strlen(argv[argc - 1]) + 1;
    printf("arg_start, arg_end: the argument strings: %s\n",
           yesno(f[48] == (unsigned long)argv[0] && f[49] == arg_end));
    int n = 0;
    while (environ[n])
        n++;
    unsigned long env_end = n ? (unsigned long)environ[n - 1] + strlen(environ[n - 1]) + 1 : arg_end;
    printf("env_start, env_end: the environment strings: %s\n", yesno(f[50] == arg_end && f[51] == env_end));
    printf("start_brk is the first break: %s\n", yesno(f[47] <= (unsigned long)sbrk(0)));
    printf("priority is 20 + nice: %s\n", yesno(f[18] == 20 + f[19]));
    pidstat_threads();
    /* Start times: a child made later starts later, in clock ticks since boot. */
    double up = 0;
    FILE *u = fopen("/proc/uptime", "r");
    if (u) {
        if (fscanf(u, "%lf", &up) != 1)
            up = 0;
        fclose(u);
    }
    printf("starttime is within the uptime: %s\n", yesno(f[22] <= (unsigned long long)(up * 100) + 1));
    usleep(60000);
    fflush(stdout);
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return;
    pid_t c = fork();
    if (c == 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(sched_getcpu(), &one);
        sched_setaffinity(0, sizeof one, &one);
        char *b = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        for (size_t i = 0; i < len; i += 4096)
            b[i] = 1;
        unsigned long long h[STAT_FIELDS];
        read_pid_stat(getpid(), h);
        printf("a child: exit_signal is SIGCHLD: %s\n", yesno(h[38] == SIGCHLD));
        printf("a child: flags PF_FORKNOEXEC %s, PF_RANDOMIZE %s; the parent's PF_FORKNOEXEC %s\n",
               yesno(h[9] & 0x40), yesno(h[9] & 0x400000), yesno(f[9] & 0x40));
        printf("a child pinned to one CPU: processor is it: %s\n", yesno(h[39] == (unsigned long long)sched_getcpu()));
        printf("a child 60 ms later: starttime at least 5 ticks later: %s\n", yesno(h[22] >= f[22] + 5));
        pidstat_child_cmdline(argv, argc);
        fflush(stdout);
        close(pipefd[0]);
        write(pipefd[1], "x", 1);
        pause();
        _exit(0);
    }
    close(pipefd[1]);
    char x;
    read(pipefd[0], &x, 1);
    close(pipefd[0]);
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)c);
    printf("another process's cmdline shows its title: %s\n",
           yesno(read_proc_bytes(path, buf, sizeof buf) > 0 && strncmp(buf, "probe: a title", 14) == 0));
    kill(c, SIGKILL);
    /* A zombie has no memory: its cmdline is empty. */
    siginfo_t si;
    waitid(P_PID, c, &si, WEXITED | WNOWAIT);
    printf("a zombie's cmdline is empty: %s\n", yesno(read_proc_bytes(path, buf, sizeof buf) == 0));
    waitpid(c, NULL, 0);
    read_pid_stat(getpid(), g);
    printf("the reaped child's faults in cminflt: %s\n", yesno(g[11] >= f[11] + 256));

    /* timerslack_ns is the thread's timer slack, as prctl sees it. */
    char text[64];
    long initial = prctl(PR_GET_TIMERSLACK);
    read_once("/proc/self/timerslack_ns", text, sizeof text);
    printf("timerslack_ns is PR_GET_TIMERSLACK: %s\n", yesno(atol(text) == initial));
    int fd = open("/proc/self/timerslack_ns", O_WRONLY);
    printf("write 123456: %s", res(write(fd, "123456\n", 7)));
    printf(", prctl reads %s", prctl(PR_GET_TIMERSLACK) == 123456 ? "it" : "something else");
    printf("; write 0: %s", res(write(fd, "0", 1)));
    printf(", back to the default %s", yesno(prctl(PR_GET_TIMERSLACK) == initial));
    printf("; write abc: %s\n", res(write(fd, "abc", 3)));
    close(fd);
}

/* ---------------------------------------------------------------- pidio -- */

struct io_counts {
    long long rchar, wchar, syscr, syscw, read_bytes, write_bytes;
    long len; /* bytes the snapshot's own read gave */
};

/* /proc/self/io in one read call (which the next snapshot counts). */
static int read_io(struct io_counts *c)
{
    char buf[512];
    long n = read_once("/proc/self/io", buf, sizeof buf);
    if (n <= 0)
        return 0;
    c->len = n;
    return sscanf(buf, "rchar: %lld\nwchar: %lld\nsyscr: %lld\nsyscw: %lld\nread_bytes: %lld\nwrite_bytes: %lld",
                  &c->rchar, &c->wchar, &c->syscr, &c->syscw, &c->read_bytes, &c->write_bytes) == 6;
}

static void pidio_section(void)
{
    struct stat st;
    printf("/proc/self/io: mode %o\n", stat("/proc/self/io", &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0u);
    int zero = open("/dev/zero", O_RDONLY), null = open("/dev/null", O_WRONLY);
    char name[] = "/tmp/pidio-probe-XXXXXX";
    int tmp = mkstemp(name);
    unlink(name);
    int pfd[2];
    if (pipe2(pfd, O_NONBLOCK) != 0)
        return;
    char buf[4096];
    struct io_counts c[8];
    int ok = 1;
    fflush(stdout);
    /* Nothing is printed between the snapshots: stdout's writes would count. */
    ok &= read_io(&c[0]);
    for (int i = 0; i < 10; i++)
        read(zero, buf, 1000);
    ok &= read_io(&c[1]);
    for (int i = 0; i < 10; i++)
        write(null, buf, 100);
    ok &= read_io(&c[2]);
    struct iovec iov[3] = {{buf, 1000}, {buf + 1000, 1000}, {buf + 2000, 1000}};
    readv(zero, iov, 3);
    pwrite(tmp, buf, 500, 0);
    ok &= read_io(&c[3]);
    off_t off = 0;
    sendfile(null, tmp, &off, 500);
    ok &= read_io(&c[4]);
    read(-1, buf, 10);        /* no file: not counted */
    read(zero, buf, 0);       /* counted, nothing read */
    read(pfd[0], buf, 10);    /* EAGAIN: counted */
    ok &= read_io(&c[5]);
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < 5; i++)
            write(null, buf, 10);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    ok &= read_io(&c[6]);
    printf("six numbers in each snapshot: %s\n", yesno(ok));
#define D(k, a, b) (c[b].k - c[a].k)
    printf("10 reads of 1000: syscr +%lld, rchar +%lld\n", D(syscr, 0, 1) - 1, D(rchar, 0, 1) - c[0].len);
    printf("10 writes of 100: syscw +%lld, wchar +%lld\n", D(syscw, 1, 2), D(wchar, 1, 2));
    printf("readv of 3000 and pwrite of 500: syscr +%lld, rchar +%lld, syscw +%lld, wchar +%lld\n",
           D(syscr, 2, 3) - 1, D(rchar, 2, 3) - c[2].len, D(syscw, 2, 3), D(wchar, 2, 3));
    printf("sendfile of 500: syscr +%lld, rchar +%lld, syscw +%lld, wchar +%lld\n", D(syscr, 3, 4) - 1,
           D(rchar, 3, 4) - c[3].len, D(syscw, 3, 4), D(wchar, 3, 4));
    printf("bad fd, empty read, EAGAIN: syscr +%lld, rchar +%lld\n", D(syscr, 4, 5) - 1, D(rchar, 4, 5) - c[4].len);
    printf("a reaped child's 5 writes of 10: syscw +%lld, wchar +%lld\n", D(syscw, 5, 6), D(wchar, 5, 6));
#undef D
    close(zero);
    close(null);
    close(tmp);
    close(pfd[0]);
    close(pfd[1]);
}

static int pidstat_argc;
static char **pidstat_argv;

static void pidstat_section(void)
{
    pidstat_section_with(pidstat_argc, pidstat_argv);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "set-names") == 0) {
        struct utsname u;
        printf("sethostname: %s\n", res(sethostname("probe-host", 10)));
        printf("setdomainname: %s\n", res(setdomainname("probe.example", 13)));
        uname(&u);
        printf("uname: %s %s\n", u.nodename, u.domainname);
        char h[80] = {0};
        int fd = open("/proc/sys/kernel/hostname", O_RDONLY);
        read(fd, h, sizeof h - 1);
        printf("/proc/sys/kernel/hostname: %s", h);
        printf("sethostname with a NUL inside: %s\n", res(sethostname("ab\0cd", 5)));
        uname(&u);
        printf("uname: %s\n", u.nodename);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "set-sysctl") == 0) {
        set_sysctl();
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "maxrss-after-exec") == 0) {
        struct rusage r;
        getrusage(RUSAGE_SELF, &r);
        printf("after exec: ru_maxrss kept the 40 MiB: %s, VmHWM starts again: %s\n",
               yesno(r.ru_maxrss + LAG_KB >= 40 * MIB_KB), yesno(proc_status_field("VmHWM") < 40 * MIB_KB));
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "loadavg-busy") == 0) {
        /* For a guest only (the host's load is its own): a thread busy past
         * the first 5-second sample after boot raises the 1-minute average. */
        struct timespec t;
        do
            clock_gettime(CLOCK_BOOTTIME, &t);
        while (t.tv_sec < 6);
        char buf[256];
        read_text("/proc/loadavg", buf, sizeof buf);
        double l1 = 0;
        sscanf(buf, "%lf", &l1);
        struct sysinfo si;
        sysinfo(&si);
        double s1 = si.loads[0] / 65536.0;
        printf("busy for 6 s: 1-minute load above 0: %s, sysinfo agrees: %s\n", yesno(l1 > 0),
               yesno(s1 > l1 - 0.01 && s1 < l1 + 0.01));
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "stack-address") == 0) {
        int x;
        printf("%p", (void *)&x);
        return 0;
    }
    probe_init();
    pidstat_argc = argc;
    pidstat_argv = argv;
    static const struct probe_section sections[] = {
        {"caps", caps},     {"ids", ids},        {"sched", sched_section}, {"cpu", cpu},
        {"membarrier", membarrier_section},      {"mlock", mlock_section}, {"names", names},
        {"personality", personality_section},    {"ioprio", ioprio},       {"sync", sync_section},
        {"vm", vm},         {"random", random_section},                    {"prctl", prctl_section},
        {"sysctl", sysctl_section},
        {"regs", regs_section},
        {"procfs", procfs_section},
        {"klog", klog_section},
        {"switches", switches_section},
        {"maxrss", maxrss_section},
        {"pidstat", pidstat_section},
        {"pidio", pidio_section},
        {NULL, NULL},
    };
    int r = run_sections(argc, argv, sections);
    if (r == 0)
        printf("== done\n");
    return r;
}

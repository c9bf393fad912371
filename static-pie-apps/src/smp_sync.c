/* smp_sync: threads synchronising across CPUs. Every section prints results
 * that do not depend on timing or on the number of CPUs, so that a run on any
 * number of CPUs compares with the native run; `cpus` prints what the system
 * says about its CPUs (compared with the CPU count the VM was given).
 *
 *   smp_sync [SECTION]   sections: mutex atomics condvar rwlock barrier yielding
 *                        signals exitgroup futex threads forks mmap remap
 *                        affinity cpus */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "errname.h"

/* From <linux/futex.h> (which musl builds do not have). */
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129

#define NT 8

static void die(const char *what)
{
    printf("%s: %s\n", what, strerror(errno));
    exit(1);
}

static void start_all(pthread_t *t, int n, void *(*fn)(void *))
{
    for (long i = 0; i < n; i++) {
        int e = pthread_create(&t[i], NULL, fn, (void *)i);
        if (e) {
            errno = e;
            die("pthread_create");
        }
    }
}

static void join_all(pthread_t *t, int n)
{
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

/* --- mutex: a contended counter, and a trylock census ------------------- */
static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static long counter, in_section, overlap;

static void *mutex_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100000; i++) {
        pthread_mutex_lock(&mtx);
        if (in_section++)
            overlap++;
        counter++;
        in_section--;
        pthread_mutex_unlock(&mtx);
    }
    return NULL;
}

static void sec_mutex(void)
{
    pthread_t t[NT];
    start_all(t, NT, mutex_worker);
    join_all(t, NT);
    printf("mutex: counter %ld (expected %d), overlapping holders %ld\n", counter, NT * 100000, overlap);
}

/* --- atomics: fetch-add, CAS loops and a seqlock-like pair --------------- */
static _Atomic long a_add, a_cas, a_max;

static void *atomic_worker(void *arg)
{
    long id = (long)arg;
    for (long i = 0; i < 200000; i++) {
        atomic_fetch_add_explicit(&a_add, 1, memory_order_relaxed);
        long v = atomic_load(&a_cas);
        while (!atomic_compare_exchange_weak(&a_cas, &v, v + 2))
            ;
        long want = id * 1000000 + i, cur = atomic_load(&a_max);
        while (cur < want && !atomic_compare_exchange_weak(&a_max, &cur, want))
            ;
    }
    return NULL;
}

static void sec_atomics(void)
{
    pthread_t t[NT];
    start_all(t, NT, atomic_worker);
    join_all(t, NT);
    printf("atomics: add %ld cas %ld max %ld\n", atomic_load(&a_add), atomic_load(&a_cas), atomic_load(&a_max));
}

/* --- condvar: bounded queue, several producers and consumers ------------- */
#define QCAP 16
#define ITEMS 20000
static pthread_mutex_t qm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;
static long queue[QCAP];
static int qhead, qlen, producers_left;
static long consumed_sum, consumed_n;

static void *producer(void *arg)
{
    long id = (long)arg;
    for (long i = 1; i <= ITEMS; i++) {
        pthread_mutex_lock(&qm);
        while (qlen == QCAP)
            pthread_cond_wait(&not_full, &qm);
        queue[(qhead + qlen++) % QCAP] = i * (id + 1);
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&qm);
    }
    pthread_mutex_lock(&qm);
    producers_left--;
    pthread_cond_broadcast(&not_empty);
    pthread_mutex_unlock(&qm);
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&qm);
        while (qlen == 0 && producers_left > 0)
            pthread_cond_wait(&not_empty, &qm);
        if (qlen == 0) {
            pthread_mutex_unlock(&qm);
            return NULL;
        }
        long v = queue[qhead];
        qhead = (qhead + 1) % QCAP;
        qlen--;
        consumed_sum += v;
        consumed_n++;
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&qm);
    }
}

static void sec_condvar(void)
{
    pthread_t p[4], c[4];
    producers_left = 4;
    start_all(p, 4, producer);
    start_all(c, 4, consumer);
    join_all(p, 4);
    join_all(c, 4);
    printf("condvar: consumed %ld items, sum %ld\n", consumed_n, consumed_sum);
}

/* --- rwlock: readers never see a half-made update ------------------------ */
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static volatile long pair_a, pair_b;
static _Atomic long torn, reads;

static void *rw_reader(void *arg)
{
    (void)arg;
    for (int i = 0; i < 50000; i++) {
        pthread_rwlock_rdlock(&rw);
        if (pair_a != pair_b)
            atomic_fetch_add(&torn, 1);
        atomic_fetch_add(&reads, 1);
        pthread_rwlock_unlock(&rw);
    }
    return NULL;
}

static void *rw_writer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        pthread_rwlock_wrlock(&rw);
        pair_a++;
        for (volatile int k = 0; k < 10; k++)
            ;
        pair_b++;
        pthread_rwlock_unlock(&rw);
    }
    return NULL;
}

static void sec_rwlock(void)
{
    pthread_t r[6], w[2];
    start_all(r, 6, rw_reader);
    start_all(w, 2, rw_writer);
    join_all(r, 6);
    join_all(w, 2);
    printf("rwlock: reads %ld, torn reads %ld, pair %ld/%ld\n", atomic_load(&reads), atomic_load(&torn), pair_a,
           pair_b);
}

/* --- barrier: every round, each thread sees all others' writes ----------- */
#define ROUNDS 2000
static pthread_barrier_t bar;
static volatile long slots[NT];
static _Atomic long bad_rounds;

static void *barrier_worker(void *arg)
{
    long id = (long)arg;
    for (long r = 1; r <= ROUNDS; r++) {
        slots[id] = r;
        pthread_barrier_wait(&bar);
        for (int k = 0; k < NT; k++)
            if (slots[k] != r)
                atomic_fetch_add(&bad_rounds, 1);
        pthread_barrier_wait(&bar);
    }
    return NULL;
}

static void sec_barrier(void)
{
    pthread_t t[NT];
    pthread_barrier_init(&bar, NULL, NT);
    start_all(t, NT, barrier_worker);
    join_all(t, NT);
    printf("barrier: %d rounds of %d threads, stale views %ld\n", ROUNDS, NT, atomic_load(&bad_rounds));
}

/* --- yield: strict turn-taking with sched_yield -------------------------- */
/* Each turn hands over between CPUs; under an emulator with more virtual CPUs
 * than host cores every hand-over waits for the host to run the right one, so
 * the count is kept small enough for a loaded machine. */
static _Atomic int turn;
static long turns_taken[4];

static void *yield_worker(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < 600; i++) {
        while (atomic_load(&turn) % 4 != id)
            sched_yield();
        turns_taken[id]++;
        atomic_fetch_add(&turn, 1);
    }
    return NULL;
}

static void sec_yield(void)
{
    pthread_t t[4];
    start_all(t, 4, yield_worker);
    join_all(t, 4);
    printf("yield: turns %ld %ld %ld %ld, total %d\n", turns_taken[0], turns_taken[1], turns_taken[2],
           turns_taken[3], atomic_load(&turn));
}

/* --- signals: a thread spinning in user mode gets a signal from another -- */
static volatile sig_atomic_t got_sig[4];
static _Atomic int spinning;

static pthread_t spinners[4];
static _Atomic long spinner_tid[4];

static void *spinner(void *arg)
{
    long id = (long)arg;
    atomic_store(&spinner_tid[id], syscall(SYS_gettid));
    atomic_fetch_add(&spinning, 1);
    while (!got_sig[id])
        ;
    return NULL;
}

static void on_usr2(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    long id = si->si_value.sival_int;
    got_sig[id] = 1;
}

static void sec_signals(void)
{
    struct sigaction sa = { 0 };
    sa.sa_sigaction = on_usr2;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR2, &sa, NULL);
    start_all(spinners, 4, spinner);
    while (atomic_load(&spinning) < 4)
        sched_yield();
    for (int i = 0; i < 4; i++) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        si.si_signo = SIGUSR2;
        si.si_code = SI_QUEUE;
        si.si_pid = getpid();
        si.si_uid = getuid();
        si.si_value.sival_int = i;
        if (syscall(SYS_rt_tgsigqueueinfo, getpid(), atomic_load(&spinner_tid[i]), SIGUSR2, &si))
            die("rt_tgsigqueueinfo");
    }
    join_all(spinners, 4);
    printf("signals: all 4 spinning threads got their signal\n");
}

/* --- exitgroup: exit() while other threads spin or sleep ------------------ */
static void *forever_spin(void *arg)
{
    (void)arg;
    for (;;)
        ;
    return NULL;
}

static void *forever_sleep(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

static void *exit_seven(void *arg)
{
    (void)arg;
    exit(7);
}

static void sec_exitgroup(void)
{
    for (int round = 0; round < 10; round++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0) {
            pthread_t t[6];
            for (int i = 0; i < 3; i++)
                pthread_create(&t[i], NULL, forever_spin, NULL);
            for (int i = 3; i < 6; i++)
                pthread_create(&t[i], NULL, forever_sleep, NULL);
            usleep(1000);
            if (round % 2)
                _exit(round);
            syscall(SYS_exit_group, round);
        }
        int st;
        if (waitpid(pid, &st, 0) != pid)
            die("waitpid");
        if (!WIFEXITED(st) || WEXITSTATUS(st) != round)
            printf("exitgroup: round %d: status 0x%x\n", round, st);
    }
    /* A thread, not main, ends the group while main spins. */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t t;
        pthread_create(&t, NULL, forever_spin, NULL);
        pthread_t u;
        pthread_create(&u, NULL, exit_seven, NULL);
        for (;;)
            ;
    }
    int st;
    waitpid(pid, &st, 0);
    printf("exitgroup: 10 groups ended from main, one from a thread: %s %d\n", WIFEXITED(st) ? "exited" : "not exited",
           WEXITSTATUS(st));
}

/* --- futex: raw FUTEX_WAIT/WAKE ping-pong between two threads ------------ */
static _Atomic int ftx;
#define PINGS 20000

static long fwait(_Atomic int *a, int v)
{
    return syscall(SYS_futex, a, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static long fwake(_Atomic int *a, int n)
{
    return syscall(SYS_futex, a, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

static void *ponger(void *arg)
{
    (void)arg;
    for (int i = 0; i < PINGS; i++) {
        while (atomic_load(&ftx) != 2 * i + 1)
            fwait(&ftx, 2 * i);
        atomic_store(&ftx, 2 * i + 2);
        fwake(&ftx, 1);
    }
    return NULL;
}

static void sec_futex(void)
{
    pthread_t t;
    pthread_create(&t, NULL, ponger, NULL);
    for (int i = 0; i < PINGS; i++) {
        atomic_store(&ftx, 2 * i + 1);
        fwake(&ftx, 1);
        while (atomic_load(&ftx) != 2 * i + 2)
            fwait(&ftx, 2 * i + 1);
    }
    pthread_join(t, NULL);
    printf("futex: %d round trips, final %d\n", PINGS, atomic_load(&ftx));
}

/* --- threads: many created and joined, a few at a time ------------------- */
static void *ret_arg(void *arg)
{
    return arg;
}

static void sec_threads(void)
{
    long total = 0, n = 0;
    int count = getenv("SMP_THREADS") ? atoi(getenv("SMP_THREADS")) : 100000;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 64 * 1024);
    for (int base = 0; base < count; base += 16) {
        pthread_t t[16];
        int k = count - base < 16 ? count - base : 16;
        for (int i = 0; i < k; i++)
            if (pthread_create(&t[i], &at, ret_arg, (void *)(long)(base + i)))
                die("pthread_create");
        for (int i = 0; i < k; i++) {
            void *r;
            pthread_join(t[i], &r);
            total += (long)r;
            n++;
        }
    }
    printf("threads: %ld created and joined, sum of results %ld\n", n, total);
}

/* --- forks: several threads fork and wait at once ------------------------ */
static _Atomic long fork_ok, fork_bad;

static void *forker(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < 40; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            atomic_fetch_add(&fork_bad, 1);
            continue;
        }
        if (pid == 0)
            _exit((int)((id * 40 + i) & 0x7f));
        int st;
        if (waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == ((id * 40 + i) & 0x7f))
            atomic_fetch_add(&fork_ok, 1);
        else
            atomic_fetch_add(&fork_bad, 1);
    }
    return NULL;
}

static void sec_forks(void)
{
    pthread_t t[4], s[2];
    fflush(stdout);
    start_all(s, 2, mutex_worker); /* busy threads in the forking process */
    start_all(t, 4, forker);
    join_all(t, 4);
    join_all(s, 2);
    printf("forks: %ld children from 4 threads ended as expected, %ld did not\n", atomic_load(&fork_ok),
           atomic_load(&fork_bad));
}

/* --- mmap: threads map, fill, check and unmap at once; one flips rights -- */
static _Atomic long maps_ok, maps_bad;
static char *shared_ro;
static _Atomic int flipping_done;

static void *mapper(void *arg)
{
    unsigned long x = (unsigned long)arg * 2654435761u + 1;
    for (int i = 0; i < 600; i++) {
        x = x * 6364136223846793005UL + 1442695040888963407UL;
        size_t len = ((x >> 33) % 16 + 1) * 4096;
        unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            atomic_fetch_add(&maps_bad, 1);
            continue;
        }
        unsigned char v = (unsigned char)(x >> 13);
        for (size_t k = 0; k < len; k += 512)
            p[k] = v;
        int good = 1;
        for (size_t k = 0; k < len; k += 512)
            if (p[k] != v)
                good = 0;
        if (i % 3 == 0 && len > 8192) {
            /* Unmap a middle page first, then the two sides (not the whole
             * range again: another thread may have been given the hole). */
            munmap(p + 4096, 4096);
            munmap(p, 4096);
            munmap(p + 8192, len - 8192);
        } else {
            munmap(p, len);
        }
        atomic_fetch_add(good ? &maps_ok : &maps_bad, 1);
    }
    return NULL;
}

static void *flipper(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++)
        mprotect(shared_ro, 65536, (i & 1) ? PROT_READ : PROT_READ | PROT_WRITE);
    mprotect(shared_ro, 65536, PROT_READ);
    atomic_store(&flipping_done, 1);
    return NULL;
}

static void *ro_reader(void *arg)
{
    (void)arg;
    long sum = 0;
    while (!atomic_load(&flipping_done))
        for (int k = 0; k < 65536; k += 4096)
            sum += shared_ro[k];
    return (void *)sum;
}

static void sec_mmap(void)
{
    pthread_t m[4], f, r[2];
    shared_ro = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(shared_ro, 0, 65536);
    start_all(m, 4, mapper);
    start_all(r, 2, ro_reader);
    pthread_create(&f, NULL, flipper, NULL);
    join_all(m, 4);
    pthread_join(f, NULL);
    join_all(r, 2);
    printf("mmap: %ld mappings filled and checked by 4 threads, %ld bad; rights flipped under 2 readers\n",
           atomic_load(&maps_ok), atomic_load(&maps_bad));
}

/* --- remap: a page replaced under threads that keep reading it ---------- */
/* A sequence count around each replacement (odd while it is under way): a
 * reader that sees the same even count before and after its read must see
 * the page of that round, not the old frame through a stale TLB entry. */
static volatile unsigned *remap_page;
static _Atomic unsigned remap_seq;
static _Atomic long remap_stale, remap_checked;

static void *remap_reader(void *arg)
{
    (void)arg;
    for (;;) {
        unsigned s1 = atomic_load(&remap_seq);
        if (s1 == ~0u)
            return NULL;
        if (s1 & 1)
            continue;
        unsigned v = *remap_page;
        unsigned s2 = atomic_load(&remap_seq);
        if (s1 == s2) {
            atomic_fetch_add(&remap_checked, 1);
            if (v != s1 / 2)
                atomic_fetch_add(&remap_stale, 1);
        }
    }
}

static void sec_remap(void)
{
    pthread_t t[2];
    remap_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    *remap_page = 0;
    start_all(t, 2, remap_reader);
    for (unsigned r = 1; r <= 2000; r++) {
        atomic_store(&remap_seq, 2 * r - 1);
        /* A page made elsewhere (so: another frame), holding r, moved over
         * the old one, whose frame is freed. */
        unsigned *n = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (n == MAP_FAILED)
            die("mmap");
        *n = r;
        if (mremap(n, 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)remap_page) != remap_page)
            die("mremap");
        atomic_store(&remap_seq, 2 * r);
        for (volatile int k = 0; k < 2000; k++)
            ;
    }
    /* On a busy host (or one CPU) the readers may not have run yet: the last
     * page stays in place until one of them has checked a read, so that the
     * output does not depend on timing. */
    while (atomic_load(&remap_checked) == 0)
        sched_yield();
    atomic_store(&remap_seq, ~0u);
    join_all(t, 2);
    printf("remap: 2000 pages replaced under 2 reading threads, reads checked: %s, stale reads %ld\n",
           atomic_load(&remap_checked) > 0 ? "yes" : "no", atomic_load(&remap_stale));
}

/* --- affinity: pinning to each CPU in turn lands there ------------------- */
static void sec_affinity(void)
{
    cpu_set_t all;
    if (sched_getaffinity(0, sizeof all, &all))
        die("sched_getaffinity");
    int n = CPU_COUNT(&all), ok = 0;
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET(c, &all))
            continue;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(c, &one);
        if (sched_setaffinity(0, sizeof one, &one))
            die("sched_setaffinity");
        int same = 1;
        for (int i = 0; i < 50; i++) {
            unsigned cpu = 1000;
            if (syscall(SYS_getcpu, &cpu, NULL, NULL))
                die("getcpu");
            if ((int)cpu != c || sched_getcpu() != c)
                same = 0;
            sched_yield();
        }
        cpu_set_t back;
        sched_getaffinity(0, sizeof back, &back);
        if (same && CPU_EQUAL(&back, &one))
            ok++;
    }
    sched_setaffinity(0, sizeof all, &all);
    cpu_set_t none;
    CPU_ZERO(&none);
    int e = sched_setaffinity(0, sizeof none, &none) ? errno : 0;
    int small = sched_getaffinity(0, 0, &all) ? errno : 0;
    printf("affinity: pinned to every allowed CPU and stayed there: %s; empty set: %s; zero size: %s\n",
           ok == n ? "yes" : "no", errname(e), errname(small));
}

/* --- cpus: what the system says about its CPUs --------------------------- */
static int count_lines(const char *path, const char *prefix)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, prefix, strlen(prefix)))
            n++;
    fclose(f);
    return n;
}

static void read_first_line(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    buf[0] = 0;
    if (!f) {
        snprintf(buf, len, "(%s)", strerror(errno));
        return;
    }
    if (fgets(buf, (int)len, f))
        buf[strcspn(buf, "\n")] = 0;
    fclose(f);
}

static void sec_cpus(void)
{
    cpu_set_t s;
    sched_getaffinity(0, sizeof s, &s);
    char online[64], possible[64], present[64];
    read_first_line("/sys/devices/system/cpu/online", online, sizeof online);
    read_first_line("/sys/devices/system/cpu/possible", possible, sizeof possible);
    read_first_line("/sys/devices/system/cpu/present", present, sizeof present);
    /* /proc/stat: the "cpu " total line and one "cpuN" line per CPU. */
    int stat_cpus = count_lines("/proc/stat", "cpu") - 1;
    printf("cpus: onln %ld conf %ld affinity %d cpuinfo %d stat %d online %s possible %s present %s\n",
           sysconf(_SC_NPROCESSORS_ONLN), sysconf(_SC_NPROCESSORS_CONF), CPU_COUNT(&s),
           count_lines("/proc/cpuinfo", "processor"), stat_cpus, online, possible, present);
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*fn)(void);
    } secs[] = {
        { "mutex", sec_mutex }, { "atomics", sec_atomics }, { "condvar", sec_condvar },
        { "rwlock", sec_rwlock }, { "barrier", sec_barrier }, { "yielding", sec_yield },
        { "signals", sec_signals }, { "exitgroup", sec_exitgroup }, { "futex", sec_futex },
        { "threads", sec_threads }, { "forks", sec_forks }, { "mmap", sec_mmap },
        { "remap", sec_remap }, { "affinity", sec_affinity }, { "cpus", sec_cpus },
    };
    setvbuf(stdout, NULL, _IOLBF, 0);
    int ran = 0;
    for (size_t i = 0; i < sizeof secs / sizeof secs[0]; i++) {
        if (argc > 1 && strcmp(argv[1], secs[i].name))
            continue;
        /* `cpus` differs with the CPU count: only on request. */
        if (argc == 1 && !strcmp(secs[i].name, "cpus"))
            continue;
        secs[i].fn();
        ran++;
    }
    if (!ran) {
        fprintf(stderr, "smp_sync: unknown section %s\n", argv[1]);
        return 2;
    }
    printf("== done\n");
    return 0;
}

/* Threads, futexes, signals and sleeping: pthreads with a contended mutex and a
 * condition variable, thread exit values, signal handlers (raise, kill to self,
 * blocked then unblocked, SA_SIGINFO with si_code, sigaltstack), nanosleep and
 * a handled SIGSEGV. Deterministic output for comparison with the native run. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <setjmp.h>
#include <sys/syscall.h>

static int counter;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ready;

static void *adder(void *arg) {
    for (int i = 0; i < 20000; i++) {
        pthread_mutex_lock(&mu);
        counter++;
        pthread_mutex_unlock(&mu);
    }
    return (void *)((long)arg * 10);
}

static void *waiter(void *arg) {
    (void)arg;
    pthread_mutex_lock(&mu);
    while (!ready)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return (void *)7;
}

static volatile sig_atomic_t got, got_code, on_alt;
static char altstack[65536];

static void handler(int sig) { got = sig; }
static void info_handler(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    got = sig;
    got_code = si->si_code;
    char here;
    on_alt = (&here >= altstack && &here < altstack + sizeof altstack);
}

static sigjmp_buf jb;
static void segv_handler(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    printf("SIGSEGV handled: sig=%d addr=%p code=%d\n", sig, si->si_addr, si->si_code);
    siglongjmp(jb, 1);
}

int main(void) {
    pthread_t t[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, adder, (void *)i);
    long sum = 0;
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        sum += (long)r;
    }
    printf("counter=%d joined-sum=%ld\n", counter, sum);

    pthread_t w;
    pthread_create(&w, NULL, waiter, NULL);
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
    pthread_mutex_lock(&mu);
    ready = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    void *r;
    pthread_join(w, &r);
    printf("condvar waiter returned %ld\n", (long)r);

    signal(SIGUSR1, handler);
    raise(SIGUSR1);
    printf("raise: got=%d\n", got);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = info_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGUSR2, &sa, NULL);
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    got = 0;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    kill(getpid(), SIGUSR2);
    sigset_t pend;
    sigpending(&pend);
    printf("blocked: got=%d pending=%d\n", got, sigismember(&pend, SIGUSR2));
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    printf("unblocked: got=%d code=%s on_altstack=%d\n", got, got_code == SI_USER ? "SI_USER" : "other", on_alt);

    got = 0;
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR2);
    printf("tgkill: got=%d code=%s\n", got, got_code == SI_TKILL ? "SI_TKILL" : "other");

    signal(SIGCHLD, SIG_DFL);
    raise(SIGCHLD);
    printf("SIGCHLD default is ignored\n");

    struct sigaction sv;
    memset(&sv, 0, sizeof sv);
    sv.sa_sigaction = segv_handler;
    sv.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sv, NULL);
    static volatile int *volatile bad = (int *)16;
    if (sigsetjmp(jb, 1) == 0) {
        *bad = 1;
        printf("not reached\n");
    }
    printf("after SIGSEGV\n");

    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    ts.tv_nsec = 20 * 1000 * 1000;
    nanosleep(&ts, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    printf("slept at least 20 ms: %s\n", ms >= 20 ? "yes" : "no");

    signal(SIGTERM, SIG_DFL);
    fflush(stdout);
    raise(SIGTERM);
    printf("not reached either\n");
    return 0;
}

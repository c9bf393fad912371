/* spin_threads: CPU-bound threads that never enter the kernel while they work.
 * The main thread waits for them by spinning on a counter, without a system
 * call, so the run ends only if the kernel preempts it or runs the workers on
 * other CPUs. Prints each worker's result (deterministic) and nothing else.
 *
 *   spin_threads [THREADS (2)] [ITERATIONS per thread (20000000)]
 *
 * Timing it at --smp 1 and --smp 2 shows whether the threads run in parallel. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_THREADS 64

static long iterations = 20000000;
/* One flag per worker, stored and loaded atomically (no read-modify-write: on
 * arm64 gcc makes those calls into libgcc, which musl cannot link). */
static int finished[MAX_THREADS];
static unsigned long result[MAX_THREADS];

static void *work(void *arg) {
    long id = (long)arg;
    unsigned long x = (unsigned long)id + 1;
    for (long i = 0; i < iterations; i++) {
        x = x * 6364136223846793005UL + 1442695040888963407UL;
        /* Keeps the compiler from collapsing the loop. */
        __asm__ volatile("" : "+r"(x));
    }
    result[id] = x;
    __atomic_store_n(&finished[id], 1, __ATOMIC_RELEASE);
    return NULL;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 2;
    if (argc > 2)
        iterations = atol(argv[2]);
    if (n < 1 || n > MAX_THREADS || iterations < 0) {
        fprintf(stderr, "usage: spin_threads [1..%d threads] [iterations]\n", MAX_THREADS);
        return 2;
    }
    pthread_t t[MAX_THREADS];
    for (long i = 0; i < n; i++) {
        if (pthread_create(&t[i], NULL, work, (void *)i) != 0) {
            perror("pthread_create");
            return 1;
        }
    }
    for (int i = 0; i < n; i++) {
        while (!__atomic_load_n(&finished[i], __ATOMIC_ACQUIRE)) {
            /* spin: no system call */
        }
    }
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < n; i++)
        printf("thread %d: %016lx\n", i, result[i]);
    printf("%d threads x %ld iterations done\n", n, iterations);
    return 0;
}

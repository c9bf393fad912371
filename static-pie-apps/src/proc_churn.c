/* proc_churn: many short-lived threads and processes, for leak checks (elfin's
 * free-frame count after exit must equal the count before the program was
 * loaded) and for stress.
 *
 *   proc_churn [THREADS [FORKS [EXECS]]]     (defaults 100000 10000 1000)
 *
 * threads  pthread_create + pthread_join, THREADS times, 4 at a time
 * forks    fork (every 8th one vfork) + _exit + waitpid, FORKS times; the
 *          child writes one page of a 256 KiB heap block (a copy-on-write
 *          fault), every 4th talks back over a new pipe, every 16th starts
 *          and joins a thread of its own, and its exit code is checked
 * execs    fork + execve of this program (`--exit N`) + waitpid, EXECS times
 *
 *   proc_churn pidmax N    as pid 1 only: /proc/sys/kernel/pid_max's range
 *                          checks, then N forks with pid_max 400 (ids wrap
 *                          around below it, from 300 on)
 *
 * Prints only counts and "ok"; exit status 0 when every check passed. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include "proc_common.h"

static void *thread_fn(void *arg)
{
    volatile char buf[2048];
    buf[0] = (char)(uintptr_t)arg;
    buf[sizeof buf - 1] = buf[0];
    return (void *)((uintptr_t)arg + buf[sizeof buf - 1]);
}

static long churn_threads(long n)
{
    long bad = 0;
    for (long i = 0; i < n; i += 4) {
        pthread_t t[4];
        int made = 0;
        for (int k = 0; k < 4 && i + k < n; k++, made++)
            if (pthread_create(&t[k], NULL, thread_fn, (void *)(uintptr_t)((i + k) & 0x3f)) != 0) {
                printf("pthread_create failed at %ld: %s\n", i + k, errname(errno));
                return bad + 1;
            }
        for (int k = 0; k < made; k++) {
            void *r;
            pthread_join(t[k], &r);
            if ((uintptr_t)r != 2 * ((uintptr_t)(i + k) & 0x3f))
                bad++;
        }
    }
    return bad;
}

/* vfork in a function of its own: the child only _exits, the caller's
 * variables stay out of the shared stack frame. */
static __attribute__((noinline)) pid_t vfork_exit(int code)
{
    pid_t c = vfork();
    if (c == 0)
        _exit(code);
    return c;
}

static long churn_forks(long n)
{
    size_t blk = 256 * 1024;
    char *heap = malloc(blk);
    memset(heap, 1, blk);
    long bad = 0;
    for (long i = 0; i < n; i++) {
        int code = (int)(i & 0x7f);
        int talk = i % 4 == 0;
        int p[2] = {-1, -1};
        if (talk && pipe(p) < 0) {
            printf("pipe failed at %ld: %s\n", i, errname(errno));
            return bad + 1;
        }
        pid_t c;
        if (i % 8 == 7) {
            c = vfork_exit(code);
        } else {
            fflush(NULL);
            c = fork();
            if (c == 0) {
                heap[(size_t)(i * 4096) % blk] = 2;
                if (talk) {
                    char b = (char)code;
                    write(p[1], &b, 1);
                }
                if (i % 16 == 0) {
                    pthread_t t;
                    void *r = NULL;
                    if (pthread_create(&t, NULL, thread_fn, (void *)1) != 0 || pthread_join(t, &r) != 0 ||
                        r != (void *)2)
                        _exit(200);
                }
                _exit(code);
            }
        }
        if (c < 0) {
            printf("fork failed at %ld: %s\n", i, errname(errno));
            return bad + 1;
        }
        if (talk) {
            close(p[1]);
            char b = -1;
            if (i % 8 != 7 && (read(p[0], &b, 1) != 1 || b != (char)code))
                bad++;
            close(p[0]);
        }
        int st;
        if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != code)
            bad++;
    }
    if (heap[0] != 1)
        bad++;
    free(heap);
    return bad;
}

static long churn_execs(long n)
{
    const char *self = self_exe();
    long bad = 0;
    for (long i = 0; i < n; i++) {
        char code[16];
        snprintf(code, sizeof code, "%ld", i & 0x7f);
        char *argv[] = {"proc_churn", "--exit", code, NULL};
        char *envp[] = {NULL};
        fflush(NULL);
        pid_t c = fork();
        if (c == 0) {
            execve(self, argv, envp);
            _exit(255);
        }
        if (c < 0) {
            printf("fork failed at exec %ld: %s\n", i, errname(errno));
            return bad + 1;
        }
        int st = 0;
        pid_t w = waitpid(c, &st, 0);
        if (w != c || !WIFEXITED(st) || WEXITSTATUS(st) != (i & 0x7f)) {
            /* The first one says how it ended (255: the execve failed). */
            if (bad++ == 0)
                printf("exec %ld: waitpid %s, status %#x\n", i, w == c ? "ok" : errname(errno), (unsigned)st);
        }
    }
    return bad;
}

/* Writes `text` to /proc/sys/kernel/pid_max; the errno name or "OK". */
static const char *set_pid_max(const char *text)
{
    int fd = open("/proc/sys/kernel/pid_max", O_WRONLY);
    if (fd < 0)
        return errname(errno);
    errno = 0;
    ssize_t n = write(fd, text, strlen(text));
    const char *r = n < 0 ? errname(errno) : "OK";
    close(fd);
    return r;
}

static long get_pid_max(void)
{
    char buf[32] = {0};
    int fd = open("/proc/sys/kernel/pid_max", O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    return n > 0 ? atol(buf) : -1;
}

/* pid_max lowered to 400: N forks wrap around below it, past the 300 reserved
 * ids (Linux's RESERVED_PIDS), with no failure. Only as the first process of a
 * machine of its own (pid 1, as in elfin): elsewhere it would change the host. */
static int pid_max_section(long n)
{
    if (getpid() != 1) {
        printf("pidmax: not pid 1, refusing to change the system's pid_max\n");
        return 1;
    }
    long old = get_pid_max();
    printf("pid_max 300: %s\n", set_pid_max("300\n"));
    printf("pid_max 4194305: %s\n", set_pid_max("4194305\n"));
    printf("pid_max abc: %s\n", set_pid_max("abc\n"));
    const char *r = set_pid_max("400\n");
    printf("pid_max 400: %s, reads back %ld\n", r, get_pid_max());
    long fails = 0, wraps = 0, above = 0, low = 0;
    pid_t last = 0;
    for (long i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0)
            _exit((int)(i & 0x7f));
        if (p < 0) {
            fails++;
            continue;
        }
        int st;
        if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != (i & 0x7f))
            fails++;
        if (p < last) {
            wraps++;
            if (p < 300)
                low++;
        }
        if (p >= 400)
            above++;
        last = p;
    }
    printf("forks: %ld, failed %ld, wrapped around %s, ids at or above pid_max %ld, below 300 after a wrap %ld\n", n,
           fails, wraps > 0 ? "yes" : "no", above, low);
    char text[32];
    snprintf(text, sizeof text, "%ld\n", old);
    printf("pid_max back: %s\n", set_pid_max(text));
    return fails || !wraps || above || low;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--exit") == 0)
        return atoi(argv[2]);
    if (argc == 3 && strcmp(argv[1], "pidmax") == 0) {
        probe_init();
        return pid_max_section(atol(argv[2]));
    }
    probe_init();
    long threads = argc > 1 ? atol(argv[1]) : 100000;
    long forks = argc > 2 ? atol(argv[2]) : 10000;
    long execs = argc > 3 ? atol(argv[3]) : 1000;
    long bad;
    bad = churn_threads(threads);
    printf("threads: %ld created and joined, %s\n", threads, bad ? "FAILED" : "ok");
    long total = bad;
    bad = churn_forks(forks);
    printf("forks: %ld waited for, %s\n", forks, bad ? "FAILED" : "ok");
    total += bad;
    bad = churn_execs(execs);
    printf("execs: %ld waited for, %s\n", execs, bad ? "FAILED" : "ok");
    total += bad;
    int st;
    errno = 0;
    printf("no child left: %s\n", res(waitpid(-1, &st, WNOHANG)));
    printf("%s\n", total ? "FAILED" : "ok");
    return total ? 1 : 0;
}

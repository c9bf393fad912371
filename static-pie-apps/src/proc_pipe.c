/* proc_pipe: pipes and shared open files between processes, as Linux does them.
 *
 *   proc_pipe [SECTION]     sections: transfer eof offsets atomic epipe pipeline
 *
 * transfer  parent writes 1 MiB, child reads it all (checksum), and back
 * eof       the reader sees EOF only when every write end is closed: its own
 *           inherited copy, the parent's, and a grandchild's
 * offsets   fork shares open file descriptions: one offset for both processes
 *           (and for dup), file status flags (O_APPEND, O_NONBLOCK) shared,
 *           FD_CLOEXEC per descriptor; a separate open() has its own offset
 * atomic    two writers of PIPE_BUF-sized chunks: no chunk is split
 * epipe     writing with no reader: SIGPIPE kills by default; EPIPE when it
 *           is ignored or blocked (then pending); the last reader being a
 *           child that exited
 * pipeline  three processes joined by pipes on stdin/stdout (dup2), as a
 *           shell runs `a | b | c` */
#define _GNU_SOURCE
#include <poll.h>
#include <stdint.h>
#include <time.h>
#include "proc_common.h"

static uint32_t fnv(uint32_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static void fill(unsigned char *buf, size_t n, uint32_t seed)
{
    uint32_t x = seed | 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (unsigned char)x;
    }
}

/* ----------------------------------------------------------- transfer -- */

static void transfer(void)
{
    enum { N = 1 << 20 };
    static unsigned char data[N], got[N];
    fill(data, N, 7);
    int down[2], up[2];
    pipe(down);
    pipe(up);
    pid_t c = xfork();
    if (c == 0) {
        close(down[1]);
        close(up[0]);
        long n = read_full(down[0], got, N);
        char extra;
        long more = read(down[0], &extra, 1);
        printf("child: read %ld bytes, checksum %08x, then read() = %ld (EOF)\n", n, fnv(2166136261u, got, (size_t)n),
               more);
        /* Send it back reversed. */
        for (long i = 0; i < n / 2; i++) {
            unsigned char t = got[i];
            got[i] = got[n - 1 - i];
            got[n - 1 - i] = t;
        }
        write_full(up[1], got, (size_t)n);
        _exit(0);
    }
    close(down[0]);
    close(up[1]);
    /* The child writes back only after reading everything: no deadlock. */
    long w = write_full(down[1], data, N);
    close(down[1]);
    long n = read_full(up[0], got, N);
    close(up[0]);
    int ok = n == N;
    for (long i = 0; ok && i < N; i++)
        ok = got[i] == data[N - 1 - i];
    reap(c, "child");
    printf("parent: wrote %ld, read back %ld reversed correctly: %s\n", w, n, yesno(ok));
}

/* ---------------------------------------------------------------- eof -- */

/* 1 if fd is readable within ms milliseconds. */
static int readable(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, ms) == 1;
}

static void eof(void)
{
    int p[2];
    pipe(p);
    pid_t c = xfork();
    if (c == 0) {
        /* The child still holds its inherited write end. */
        printf("child: readable while it holds a write end itself: %s\n", yesno(readable(p[0], 100)));
        close(p[1]);
        char b;
        long r = read(p[0], &b, 1);
        printf("child: after closing its copy, read() = %ld\n", r);
        _exit(0);
    }
    close(p[1]);
    reap(c, "child");

    /* A grandchild keeps a write end after both others closed theirs. */
    pipe(p);
    int gate[2];
    pipe(gate);
    c = xfork();
    if (c == 0) {
        pid_t g = xfork();
        if (g == 0) {
            close(p[0]);
            close(gate[1]);
            token_wait(gate[0]);
            write_full(p[1], "late", 4);
            _exit(0);
        }
        _exit(0);
    }
    close(p[1]);
    close(gate[0]);
    reap(c, "middle child");
    printf("parent: readable while a grandchild holds a write end: %s\n", yesno(readable(p[0], 100)));
    token_send(gate[1]);
    close(gate[1]);
    char buf[16] = {0};
    long n = read_full(p[0], buf, sizeof buf - 1);
    printf("parent: then read \"%s\" (%ld bytes) and EOF\n", buf, n);
    close(p[0]);

    /* The write end's holders closing in any order: POLLHUP once all are gone. */
    pipe(p);
    c = xfork();
    if (c == 0) {
        close(p[0]);
        _exit(0);
    }
    close(p[1]);
    reap(c, "writer child");
    struct pollfd pf = {p[0], POLLIN, 0};
    int pr = poll(&pf, 1, 1000);
    printf("poll after the last writer exited: %d, POLLHUP %s\n", pr, yesno(pf.revents & POLLHUP));
    close(p[0]);
}

/* ------------------------------------------------------------ offsets -- */

static void offsets(void)
{
    char tmpl[] = "/tmp/proc_pipe.XXXXXX";
    int fd = mkstemp(tmpl);
    int other = open(tmpl, O_RDWR);
    unlink(tmpl);
    char buf[200];
    memset(buf, 'c', sizeof buf);
    write_full(fd, "parent-first\n", 13);
    pid_t c = xfork();
    if (c == 0) {
        write_full(fd, buf, 100);
        printf("child: offset after its write: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
        _exit(0);
    }
    reap(c, "child");
    printf("parent: offset moved by the child's write: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    memset(buf, 'p', 50);
    write_full(fd, buf, 50);
    printf("parent: offset after its own write: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    struct stat st;
    fstat(fd, &st);
    printf("file size: %ld\n", (long)st.st_size);
    int d = dup(fd);
    lseek(d, 5, SEEK_SET);
    printf("dup shares the offset: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    printf("separate open() keeps its own offset: %ld\n", (long)lseek(other, 0, SEEK_CUR));

    /* Status flags are shared through fork, FD_CLOEXEC is not. */
    c = xfork();
    if (c == 0) {
        fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK);
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        _exit(0);
    }
    reap(c, "child setting flags");
    int fl = fcntl(fd, F_GETFL);
    printf("parent sees O_APPEND: %s, O_NONBLOCK: %s, FD_CLOEXEC: %s\n", yesno(fl & O_APPEND),
           yesno(fl & O_NONBLOCK), yesno(fcntl(fd, F_GETFD) & FD_CLOEXEC));
    lseek(fd, 0, SEEK_SET);
    write_full(fd, "!", 1);
    printf("O_APPEND write lands at the end: offset %ld\n", (long)lseek(fd, 0, SEEK_CUR));

    /* Both processes appending in turns through one description. */
    fcntl(fd, F_SETFL, 0);
    ftruncate(fd, 0);
    lseek(fd, 0, SEEK_SET);
    int turn_c[2], turn_p[2];
    pipe(turn_c);
    pipe(turn_p);
    c = xfork();
    if (c == 0) {
        for (int i = 0; i < 5; i++) {
            token_wait(turn_c[0]);
            write_full(fd, "C", 1);
            token_send(turn_p[1]);
        }
        _exit(0);
    }
    for (int i = 0; i < 5; i++) {
        write_full(fd, "P", 1);
        token_send(turn_c[1]);
        token_wait(turn_p[0]);
    }
    reap(c, "alternating child");
    char content[16] = {0};
    pread(fd, content, 10, 0);
    printf("alternating writes: %s (offset %ld)\n", content, (long)lseek(fd, 0, SEEK_CUR));
    close(turn_c[0]);
    close(turn_c[1]);
    close(turn_p[0]);
    close(turn_p[1]);
    close(d);
    close(other);
    close(fd);
}

/* ------------------------------------------------------------- atomic -- */

static void atomic_section(void)
{
    int p[2];
    pipe(p);
    long pb = fpathconf(p[0], _PC_PIPE_BUF);
    printf("PIPE_BUF: %ld\n", pb);
    enum { CHUNK = 4096, COUNT = 200 };
    pid_t w[2];
    for (int k = 0; k < 2; k++) {
        w[k] = xfork();
        if (w[k] == 0) {
            close(p[0]);
            char chunk[CHUNK];
            for (int i = 0; i < COUNT; i++) {
                /* One letter per writer and a chunk number: any split shows. */
                memset(chunk, 'A' + k, CHUNK);
                snprintf(chunk, 8, "%05d", i);
                if (write(p[1], chunk, CHUNK) != CHUNK)
                    _exit(1);
            }
            _exit(0);
        }
    }
    close(p[1]);
    static char all[2 * COUNT * CHUNK + 1];
    long n = read_full(p[0], all, sizeof all);
    close(p[0]);
    int whole = 0, next[2] = {0, 0}, in_order = 1;
    for (long off = 0; off + CHUNK <= n; off += CHUNK) {
        char *ch = all + off;
        char letter = ch[CHUNK - 1];
        int same = letter == 'A' || letter == 'B';
        for (int i = 8; same && i < CHUNK; i++)
            same = ch[i] == letter;
        if (same) {
            whole++;
            int k = letter - 'A';
            if (atoi(ch) != next[k])
                in_order = 0;
            next[k]++;
        }
    }
    for (int k = 0; k < 2; k++)
        reap(w[k], k ? "writer B" : "writer A");
    printf("read %ld bytes: %d whole chunks of %d, each writer in order: %s\n", n, whole, 2 * COUNT,
           yesno(in_order));
}

/* -------------------------------------------------------------- epipe -- */

static void epipe(void)
{
    int p[2];
    pipe(p);
    close(p[0]);
    pid_t c = xfork();
    if (c == 0) {
        write(p[1], "x", 1);
        _exit(0);
    }
    close(p[1]);
    reap(c, "writer to a pipe without readers, SIGPIPE default");

    pipe(p);
    close(p[0]);
    c = xfork();
    if (c == 0) {
        signal(SIGPIPE, SIG_IGN);
        errno = 0;
        long r = write(p[1], "x", 1);
        printf("child: SIGPIPE ignored: write %s\n", res(r));
        _exit(0);
    }
    close(p[1]);
    reap(c, "child");

    pipe(p);
    close(p[0]);
    c = xfork();
    if (c == 0) {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGPIPE);
        sigprocmask(SIG_BLOCK, &s, NULL);
        errno = 0;
        long r = write(p[1], "x", 1);
        sigset_t pend;
        sigpending(&pend);
        printf("child: SIGPIPE blocked: write %s, SIGPIPE pending %s\n", res(r), yesno(sigismember(&pend, SIGPIPE)));
        _exit(0);
    }
    close(p[1]);
    reap(c, "child");

    /* The only reader is a child; after it exits, writes fail. */
    pipe(p);
    c = xfork();
    if (c == 0) {
        close(p[1]);
        char b[4];
        read_full(p[0], b, 4);
        _exit(0);
    }
    close(p[0]);
    write_full(p[1], "abcd", 4);
    reap(c, "reader child");
    signal(SIGPIPE, SIG_IGN);
    errno = 0;
    long r = write(p[1], "more", 4);
    printf("parent: write after the last reader exited: %s\n", res(r));
    signal(SIGPIPE, SIG_DFL);
    close(p[1]);
}

/* ----------------------------------------------------------- pipeline -- */

/* Stage 1 prints numbers, stage 2 keeps multiples of 3 and squares them,
 * stage 3 sums and counts: like `seq | awk | awk`. */
static void stage(int which)
{
    char line[64];
    if (which == 1) {
        for (int i = 1; i <= 3000; i++)
            printf("%d\n", i);
    } else if (which == 2) {
        while (fgets(line, sizeof line, stdin)) {
            long v = atol(line);
            if (v % 3 == 0)
                printf("%ld\n", v * v);
        }
    } else {
        long sum = 0, n = 0;
        while (fgets(line, sizeof line, stdin)) {
            sum += atol(line);
            n++;
        }
        printf("stage 3: %ld lines, sum %ld\n", n, sum);
    }
    fflush(stdout);
}

static void pipeline(void)
{
    int a[2], b[2];
    pipe(a);
    pipe(b);
    pid_t s[3];
    for (int k = 0; k < 3; k++) {
        s[k] = xfork();
        if (s[k] == 0) {
            if (k == 0)
                dup2(a[1], 1);
            if (k == 1) {
                dup2(a[0], 0);
                dup2(b[1], 1);
            }
            if (k == 2)
                dup2(b[0], 0);
            close(a[0]);
            close(a[1]);
            close(b[0]);
            close(b[1]);
            setvbuf(stdout, NULL, _IOFBF, 0); /* like any program writing to a pipe */
            stage(k + 1);
            _exit(0);
        }
    }
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
    /* Stage 3 first: once it has exited, all output is written. */
    reap(s[2], "stage 3");
    reap(s[0], "stage 1");
    reap(s[1], "stage 2");
}

int main(int argc, char **argv)
{
    probe_init();
    static const struct probe_section sections[] = {
        {"transfer", transfer}, {"eof", eof},     {"offsets", offsets}, {"atomic", atomic_section},
        {"epipe", epipe},       {"pipeline", pipeline}, {NULL, NULL},
    };
    int r = run_sections(argc, argv, sections);
    if (r == 0)
        printf("== done\n");
    return r;
}

/* pty_probe: pseudo-terminals (/dev/ptmx, /dev/pts): the C library's calls
 * (posix_openpt, grantpt, unlockpt, ptsname, openpty, forkpty, ttyname), the
 * line discipline between master and slave, window sizes, controlling
 * terminals and their signals, hang-ups, and the master's ioctls.
 *
 * Prints only relations and what the terminal carried, never pty numbers. On
 * Linux the bytes cross a pty asynchronously, so every read waits with poll. */
#include "surface_common.h"
#include <dirent.h>
#include <poll.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* Prints `what: "bytes"` with control characters escaped. */
static void show(const char *what, const char *buf, long n)
{
    if (n < 0) {
        printf("%s: %s\n", what, errname(errno));
        return;
    }
    printf("%s: \"", what);
    for (long i = 0; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\n')
            printf("\\n");
        else if (c == '\r')
            printf("\\r");
        else if (c == '\b')
            printf("\\b");
        else if (c < 0x20 || c >= 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    printf("\"\n");
}

/* Waits up to `ms` for fd to be readable (or hung up); returns poll's revents. */
static int wait_in(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, ms);
    return r > 0 ? p.revents : 0;
}

/* Reads what arrives on fd within `ms` after the first byte, up to n bytes. */
static long rd(int fd, char *buf, long n, int ms)
{
    long got = 0;
    while (got < n && wait_in(fd, got ? 200 : ms)) {
        long r = read(fd, buf + got, n - got);
        if (r < 0)
            return got ? got : -1;
        if (r == 0)
            break;
        got += r;
    }
    return got;
}

static void show_rd(const char *what, int fd)
{
    char buf[256];
    errno = 0;
    long n = rd(fd, buf, sizeof buf, 3000);
    show(what, buf, n);
}

/* A new pair: master (O_NOCTTY) and its slave, unlocked and opened. */
static int pair(int *m, int *s, int slave_flags)
{
    *m = posix_openpt(O_RDWR | O_NOCTTY);
    if (*m < 0 || grantpt(*m) < 0 || unlockpt(*m) < 0)
        return -1;
    *s = open(ptsname(*m), O_RDWR | slave_flags);
    return *s < 0 ? -1 : 0;
}

static void basic_section(void)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    printf("posix_openpt: %s\n", res(m));
    struct stat st;
    T("fstat master", fstat(m, &st));
    printf("master is chr 5,2: %s\n", yesno(S_ISCHR(st.st_mode) && major(st.st_rdev) == 5 && minor(st.st_rdev) == 2));
    printf("isatty master: %s\n", yesno(isatty(m)));
    T("grantpt", grantpt(m));
    char *name = ptsname(m);
    printf("ptsname under /dev/pts: %s\n", yesno(name && strncmp(name, "/dev/pts/", 9) == 0));
    unsigned n = 0;
    T("TIOCGPTN", ioctl(m, TIOCGPTN, &n));
    char want[64];
    snprintf(want, sizeof want, "/dev/pts/%u", n);
    printf("TIOCGPTN names it: %s\n", yesno(name && strcmp(name, want) == 0));
    int lock = -1;
    T("TIOCGPTLCK", ioctl(m, TIOCGPTLCK, &lock));
    printf("locked at first: %s\n", yesno(lock == 1));
    T("open locked slave", open(want, O_RDWR | O_NOCTTY));
    T("unlockpt", unlockpt(m));
    T("TIOCGPTLCK", ioctl(m, TIOCGPTLCK, &lock));
    printf("locked now: %s\n", yesno(lock == 1));
    int s = open(want, O_RDWR | O_NOCTTY);
    printf("open slave: %s\n", res(s));
    struct stat ss, ps;
    T("fstat slave", fstat(s, &ss));
    T("stat /dev/pts/N", stat(want, &ps));
    printf("slave is chr 136: %s\n", yesno(S_ISCHR(ss.st_mode) && major(ss.st_rdev) == 136));
    printf("same inode as the node: %s\n", yesno(ss.st_ino == ps.st_ino && ss.st_dev == ps.st_dev));
    printf("minor is the number: %s\n", yesno(minor(ss.st_rdev) == n));
    printf("isatty slave: %s\n", yesno(isatty(s)));
    char *tn = ttyname(s);
    printf("ttyname is ptsname: %s\n", yesno(tn && strcmp(tn, want) == 0));
    char link[64] = {0}, path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", s);
    T("readlink fd", readlink(path, link, sizeof link - 1));
    printf("fd link is the node: %s\n", yesno(strcmp(link, want) == 0));
    /* /dev/pts lists it. */
    DIR *d = opendir("/dev/pts");
    int listed = 0, ptmx = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        listed |= strcmp(e->d_name, want + 9) == 0;
        ptmx |= strcmp(e->d_name, "ptmx") == 0;
    }
    if (d)
        closedir(d);
    printf("/dev/pts lists it: %s, and ptmx: %s\n", yesno(listed), yesno(ptmx));
    T("open /dev/pts/ptmx", stat("/dev/pts/ptmx", &ps));
    printf("/dev/pts/ptmx is 5,2: %s\n", yesno(major(ps.st_rdev) == 5 && minor(ps.st_rdev) == 2));
    /* A second pair gets another number. */
    int m2 = posix_openpt(O_RDWR | O_NOCTTY);
    unsigned n2 = n;
    T("TIOCGPTN second", ioctl(m2, TIOCGPTN, &n2));
    printf("another number: %s\n", yesno(n2 != n));
    T("TIOCGPTN on the slave", ioctl(s, TIOCGPTN, &n2));
    T("TIOCGPTN bad pointer", ioctl(m, TIOCGPTN, KPTR));
    close(m2);
    close(s);
    close(m);
    printf("node gone with the master: %s\n", yesno(stat(want, &ps) < 0 && errno == ENOENT));
    int a, b;
    T("openpty", openpty(&a, &b, NULL, NULL, NULL));
    printf("openpty slave isatty: %s\n", yesno(isatty(b)));
    close(a);
    close(b);
}

static void io_section(void)
{
    int m, s;
    T("pair", pair(&m, &s, O_NOCTTY));
    struct termios t;
    T("tcgetattr slave", tcgetattr(s, &t));
    printf("canonical, echo, onlcr, icrnl: %s %s %s %s\n", yesno(t.c_lflag & ICANON), yesno(t.c_lflag & ECHO),
           yesno(t.c_oflag & ONLCR), yesno(t.c_iflag & ICRNL));
    struct termios tm;
    T("tcgetattr master", tcgetattr(m, &tm));
    printf("master sees the same modes: %s\n", yesno(tm.c_lflag == t.c_lflag && tm.c_oflag == t.c_oflag));
    T("write master", write(m, "hello\n", 6));
    show_rd("slave reads", s);
    show_rd("master reads the echo", m);
    T("write slave", write(s, "a\nb\n", 4));
    show_rd("master reads", m);
    /* A partial line is not readable; its end makes it so. */
    T("write partial", write(m, "par", 3));
    printf("partial line readable: %s\n", yesno(wait_in(s, 300) & POLLIN));
    int q = -1;
    T("FIONREAD slave", ioctl(s, FIONREAD, &q));
    printf("FIONREAD slave: %d\n", q);
    T("write rest", write(m, "tial\r", 5));
    show_rd("slave reads (CR as NL)", s);
    show_rd("master echo", m);
    /* Erase and kill. */
    T("write edits", write(m, "abc\x7f\x7f" "d\x15xy\n", 10));
    show_rd("slave reads edited", s);
    show_rd("master echo of edits", m);
    /* End of file: a line without its end, then an empty one. */
    T("write eof", write(m, "abc\x04", 4));
    show_rd("slave reads up to VEOF", s);
    T("write eof alone", write(m, "\x04", 1));
    char c;
    wait_in(s, 3000);
    V("read at VEOF", read(s, &c, 1));
    show_rd("master echo of VEOF", m);
    /* A line longer than the input queue: the excess is dropped, its end still
     * comes; the echo shows every character. */
    static char big[6000];
    memset(big, 'a', sizeof big);
    T("write a long line", write(m, big, 5000));
    T("its end", write(m, "\n", 1));
    V("slave reads of it", rd(s, big, sizeof big, 3000));
    printf("ends with a newline: %s\n", yesno(big[4095] == '\n'));
    V("master echo of it", rd(m, big, sizeof big, 3000));
    /* Raw mode: no echo, bytes as they come. */
    cfmakeraw(&t);
    T("tcsetattr raw", tcsetattr(s, TCSANOW, &t));
    T("write raw", write(m, "x\ry", 3));
    show_rd("slave reads raw", s);
    printf("master has an echo: %s\n", yesno(wait_in(m, 300) & POLLIN));
    T("write slave raw", write(s, "1\n2", 3));
    show_rd("master reads raw output", m);
    /* VMIN/VTIME: MIN 0 TIME 1 returns 0 after a tenth of a second. */
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 1;
    T("tcsetattr min0 time1", tcsetattr(s, TCSANOW, &t));
    V("read times out", read(s, &c, 1));
    /* Non-blocking reads of an empty side. */
    fcntl(m, F_SETFL, O_NONBLOCK);
    T("master read empty", read(m, &c, 1));
    fcntl(s, F_SETFL, O_NONBLOCK);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    tcsetattr(s, TCSANOW, &t);
    T("slave read empty", read(s, &c, 1));
    /* Flushing the input. */
    T("write for flush", write(m, "zzz", 3));
    wait_in(s, 3000);
    T("tcflush", tcflush(s, TCIFLUSH));
    T("slave read after flush", read(s, &c, 1));
    T("tcflush bad", ioctl(s, TCFLSH, 7));
    T("tcdrain", tcdrain(s));
    int d = -1;
    T("TIOCGETD", ioctl(s, TIOCGETD, &d));
    printf("ldisc: %d\n", d);
    close(s);
    close(m);
}

static void winsize_section(void)
{
    int m, s;
    T("pair", pair(&m, &s, O_NOCTTY));
    struct winsize w = {0};
    T("TIOCGWINSZ", ioctl(s, TIOCGWINSZ, &w));
    printf("initial size: %dx%d\n", w.ws_row, w.ws_col);
    struct winsize set = {40, 120, 0, 0};
    T("TIOCSWINSZ master", ioctl(m, TIOCSWINSZ, &set));
    T("TIOCGWINSZ slave", ioctl(s, TIOCGWINSZ, &w));
    printf("slave size: %dx%d\n", w.ws_row, w.ws_col);
    T("TIOCSWINSZ bad pointer", ioctl(m, TIOCSWINSZ, KPTR));
    int a, b;
    struct winsize ow = {25, 81, 0, 0};
    T("openpty with a size", openpty(&a, &b, NULL, NULL, &ow));
    T("TIOCGWINSZ", ioctl(b, TIOCGWINSZ, &w));
    printf("openpty size: %dx%d\n", w.ws_row, w.ws_col);
    close(a);
    close(b);
    close(s);
    close(m);
}

static volatile sig_atomic_t got[65];
static void note(int sig) { got[sig] = 1; }

static void report_to(int fd, const char *line)
{
    if (write(fd, line, strlen(line)) < 0)
        _exit(3);
}

/* The child of the session section: a new session whose controlling terminal
 * is the slave; reports on `out` what it saw. */
static void session_child(const char *name, int out)
{
    char line[128];
    signal(SIGINT, note);
    signal(SIGWINCH, note);
    signal(SIGQUIT, note);
    signal(SIGHUP, note);
    signal(SIGCONT, note);
    int r = setsid();
    snprintf(line, sizeof line, "setsid: %s\n", r < 0 ? errname(errno) : "OK");
    report_to(out, line);
    int none = open("/dev/tty", O_RDWR);
    snprintf(line, sizeof line, "/dev/tty before: %s\n", none < 0 ? errname(errno) : "OK");
    report_to(out, line);
    int s = open(name, O_RDWR);
    snprintf(line, sizeof line, "tcgetpgrp is me: %s\n", yesno(s >= 0 && tcgetpgrp(s) == getpid()));
    report_to(out, line);
    snprintf(line, sizeof line, "tcgetsid is me: %s\n", yesno(tcgetsid(s) == getpid()));
    report_to(out, line);
    /* /proc/self/stat: tty_nr is the slave's device number, tpgid our group. */
    FILE *sf = fopen("/proc/self/stat", "r");
    char buf[512] = "";
    if (sf) {
        if (!fgets(buf, sizeof buf, sf))
            buf[0] = 0;
        fclose(sf);
    }
    char *after = strrchr(buf, ')');
    unsigned tty_nr = 0;
    int tpgid = 0;
    struct stat ss;
    fstat(s, &ss);
    unsigned enc = (minor(ss.st_rdev) & 0xff) | (major(ss.st_rdev) << 8) | ((minor(ss.st_rdev) & ~0xffu) << 12);
    int fields = after ? sscanf(after + 2, "%*c %*d %*d %*d %u %d", &tty_nr, &tpgid) : 0;
    snprintf(line, sizeof line, "stat tty_nr is the slave: %s, tpgid is me: %s\n", yesno(fields == 2 && tty_nr == enc),
             yesno(tpgid == getpid()));
    report_to(out, line);
    int tty = open("/dev/tty", O_RDWR);
    snprintf(line, sizeof line, "/dev/tty after: %s\n", tty < 0 ? errname(errno) : "OK");
    report_to(out, line);
    snprintf(line, sizeof line, "TIOCSCTTY again: %s\n", ioctl(s, TIOCSCTTY, 0) < 0 ? errname(errno) : "OK");
    report_to(out, line);
    /* A group of another session is refused as the foreground. */
    pid_t bad = getppid();
    snprintf(line, sizeof line, "tcsetpgrp other session: %s\n", tcsetpgrp(s, bad) < 0 ? errname(errno) : "OK");
    report_to(out, line);
    report_to(out, "ready\n");
    /* The parent sends ^C, a new size, TIOCSIG SIGQUIT, then closes the master. */
    for (int i = 0; i < 3000 && !(got[SIGHUP] && got[SIGCONT]); i++)
        usleep(2000);
    snprintf(line, sizeof line, "SIGINT %s SIGWINCH %s SIGQUIT %s SIGHUP %s SIGCONT %s\n", yesno(got[SIGINT]),
             yesno(got[SIGWINCH]), yesno(got[SIGQUIT]), yesno(got[SIGHUP]), yesno(got[SIGCONT]));
    report_to(out, line);
    char c;
    long n = read(s, &c, 1);
    snprintf(line, sizeof line, "read after hangup: %s\n", n < 0 ? errname(errno) : n == 0 ? "EOF" : "data");
    report_to(out, line);
    snprintf(line, sizeof line, "write after hangup: %s\n", write(s, "x", 1) < 0 ? errname(errno) : "OK");
    report_to(out, line);
    struct termios t;
    snprintf(line, sizeof line, "tcgetattr after hangup: %s\n", tcgetattr(s, &t) < 0 ? errname(errno) : "OK");
    report_to(out, line);
    _exit(0);
}

static void session_section(void)
{
    int m, s;
    T("pair", pair(&m, &s, O_NOCTTY));
    char name[64];
    snprintf(name, sizeof name, "%s", ptsname(m));
    close(s);
    int sync_[2];
    if (pipe(sync_) < 0)
        return;
    pid_t pid = xfork();
    if (pid == 0) {
        close(sync_[0]);
        close(m);
        session_child(name, sync_[1]);
    }
    close(sync_[1]);
    FILE *in = fdopen(sync_[0], "r");
    char line[128];
    while (fgets(line, sizeof line, in) && strcmp(line, "ready\n") != 0)
        printf("child: %s", line);
    pid_t sid = -1;
    T("TIOCGSID on the master", ioctl(m, TIOCGSID, &sid));
    printf("its session is the child: %s\n", yesno(sid == pid));
    pid_t fg = -1;
    T("TIOCGPGRP on the master", ioctl(m, TIOCGPGRP, &fg));
    printf("foreground is the child: %s\n", yesno(fg == pid));
    T("^C", write(m, "\x03", 1));
    struct winsize w = {30, 90, 0, 0};
    T("TIOCSWINSZ", ioctl(m, TIOCSWINSZ, &w));
    T("TIOCSIG", ioctl(m, TIOCSIG, SIGQUIT));
    T("TIOCSIG SIGUSR1", ioctl(m, TIOCSIG, SIGUSR1));
    show_rd("echo of ^C", m);
    usleep(300000);
    close(m);
    while (fgets(line, sizeof line, in))
        printf("child: %s", line);
    fclose(in);
    int st;
    waitpid(pid, &st, 0);
    printf("child: %s\n", status_text(st));
}

/* Runs `body(tty, report)` in a session leader whose controlling terminal is
 * the slave of a new pair; prints what it reports on the pipe and how it ended.
 * Returns the master. */
static int in_session(void (*body)(int t, int out))
{
    int m, s;
    T("pair", pair(&m, &s, O_NOCTTY));
    char name[64];
    snprintf(name, sizeof name, "%s", ptsname(m));
    close(s);
    int rep[2];
    if (pipe(rep) < 0)
        return m;
    pid_t leader = xfork();
    if (leader == 0) {
        close(rep[0]);
        setsid();
        int t = open(name, O_RDWR);
        if (t < 0)
            _exit(2);
        body(t, rep[1]);
        _exit(0);
    }
    close(rep[1]);
    FILE *in = fdopen(rep[0], "r");
    char line[128];
    while (fgets(line, sizeof line, in))
        printf("%s", line);
    fclose(in);
    int st;
    waitpid(leader, &st, 0);
    printf("leader: %s\n", status_text(st));
    return m;
}

/* A session leader's exit hangs its foreground group up. */
static void leader_body(int t, int out)
{
    (void)t;
    pid_t member = fork();
    if (member == 0) {
        /* Same group as the leader: the foreground one. */
        signal(SIGHUP, note);
        report_to(out, "member ready\n");
        for (int i = 0; i < 3000 && !got[SIGHUP]; i++)
            usleep(2000);
        report_to(out, got[SIGHUP] ? "member got SIGHUP\n" : "member got no SIGHUP\n");
        _exit(0);
    }
    usleep(100000);
}

static void leader_section(void)
{
    close(in_session(leader_body));
}

/* Job control on a controlling pty: a background group is stopped by SIGTTIN
 * when it reads and by SIGTTOU when it changes the modes (or writes under
 * TOSTOP); ignoring the signal gives EIO for a read and lets a change through. */
static const char *bg_try(int t, const char *what)
{
    static char out[64];
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        struct termios m;
        tcgetattr(t, &m);
        char c;
        long r = 0;
        if (strcmp(what, "read") == 0)
            r = read(t, &c, 1);
        else if (strcmp(what, "read ignoring") == 0) {
            signal(SIGTTIN, SIG_IGN);
            r = read(t, &c, 1);
        } else if (strcmp(what, "tcsetattr") == 0)
            r = tcsetattr(t, TCSANOW, &m);
        else if (strcmp(what, "tcsetattr ignoring") == 0) {
            signal(SIGTTOU, SIG_IGN);
            r = tcsetattr(t, TCSANOW, &m);
        } else if (strcmp(what, "tcsetpgrp") == 0)
            r = tcsetpgrp(t, getpgrp());
        else if (strcmp(what, "write") == 0)
            r = write(t, "", 0) < 0 ? -1 : write(t, "w", 1);
        _exit(r < 0 ? 100 + (errno == EIO) : 0);
    }
    int st;
    waitpid(pid, &st, WUNTRACED);
    if (WIFSTOPPED(st)) {
        snprintf(out, sizeof out, "stopped by %s", signame(WSTOPSIG(st)));
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    } else if (WIFEXITED(st))
        snprintf(out, sizeof out, "%s", WEXITSTATUS(st) == 0 ? "OK" : WEXITSTATUS(st) == 101 ? "EIO" : "error");
    else
        snprintf(out, sizeof out, "%s", status_text(st));
    return out;
}

static void jobs_body(int t, int out)
{
    char line[128];
    /* Kept from stopping itself: the leader is the foreground. */
    const char *tries[] = {"read", "read ignoring", "tcsetattr", "tcsetattr ignoring", "tcsetpgrp", "write"};
    for (unsigned i = 0; i < sizeof tries / sizeof *tries; i++) {
        snprintf(line, sizeof line, "background %s: %s\n", tries[i], bg_try(t, tries[i]));
        report_to(out, line);
    }
    struct termios tm;
    tcgetattr(t, &tm);
    tm.c_lflag |= TOSTOP;
    tcsetattr(t, TCSANOW, &tm);
    snprintf(line, sizeof line, "background write under TOSTOP: %s\n", bg_try(t, "write"));
    report_to(out, line);
}

static void jobs_section(void)
{
    int m = in_session(jobs_body);
    show_rd("master reads", m);
    close(m);
}

static void hangup_section(void)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);
    char c;
    T("master read before any slave", read(m, &c, 1));
    struct pollfd p = {m, POLLIN | POLLOUT, 0};
    poll(&p, 1, 0);
    printf("master poll before: in %s out %s hup %s\n", yesno(p.revents & POLLIN), yesno(p.revents & POLLOUT),
           yesno(p.revents & POLLHUP));
    unlockpt(m);
    char name[64];
    snprintf(name, sizeof name, "%s", ptsname(m));
    int s = open(name, O_RDWR | O_NOCTTY);
    T("write slave", write(s, "bye\n", 4));
    close(s);
    show_rd("master reads what the slave left", m);
    p.revents = 0;
    poll(&p, 1, 0);
    printf("master poll after: in %s out %s hup %s\n", yesno(p.revents & POLLIN), yesno(p.revents & POLLOUT),
           yesno(p.revents & POLLHUP));
    T("master read after the slave closed", read(m, &c, 1));
    s = open(name, O_RDWR | O_NOCTTY);
    printf("reopen slave: %s\n", res(s));
    close(m);
    V("slave read after the master closed", read(s, &c, 1));
    T("slave write after the master closed", write(s, "x", 1));
    struct pollfd q = {s, POLLIN | POLLOUT, 0};
    poll(&q, 1, 0);
    printf("slave poll: in %s out %s err %s hup %s\n", yesno(q.revents & POLLIN), yesno(q.revents & POLLOUT),
           yesno(q.revents & POLLERR), yesno(q.revents & POLLHUP));
    struct stat st;
    printf("node gone: %s\n", yesno(stat(name, &st) < 0));
    close(s);
}

static void master_section(void)
{
    int m, s;
    T("pair", pair(&m, &s, O_NOCTTY));
    /* A descriptor of the slave straight from the master. */
    int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    printf("TIOCGPTPEER: %s\n", res(peer));
    printf("peer is a tty: %s, close-on-exec: %s\n", yesno(isatty(peer)), yesno(fcntl(peer, F_GETFD) & FD_CLOEXEC));
    struct stat a, b;
    fstat(peer, &a);
    fstat(s, &b);
    printf("peer is the slave: %s\n", yesno(a.st_rdev == b.st_rdev && a.st_ino == b.st_ino));
    T("TIOCGPTPEER on the slave", ioctl(s, TIOCGPTPEER, O_RDWR));
    int one = 1, zero = 0;
    /* Packet mode: every read starts with a status byte. */
    T("TIOCPKT on", ioctl(m, TIOCPKT, &one));
    int pk = -1;
    T("TIOCGPKT", ioctl(m, TIOCGPKT, &pk));
    printf("packet mode: %d\n", pk);
    T("write slave", write(s, "pk", 2));
    show_rd("master reads a packet", m);
    T("TIOCPKT off", ioctl(m, TIOCPKT, &zero));
    /* Slave output waiting for the master. */
    T("write slave", write(s, "abcd", 4));
    wait_in(m, 3000);
    int q = -1;
    T("FIONREAD master", ioctl(m, FIONREAD, &q));
    printf("FIONREAD master: %d\n", q);
    T("TIOCOUTQ slave", ioctl(s, TIOCOUTQ, &q));
    printf("TIOCOUTQ slave: %d\n", q);
    show_rd("master reads", m);
    /* TIOCSTI on a terminal that is not the caller's needs CAP_SYS_ADMIN (root has it). */
    char ch = 'q';
    T("TIOCSTI", ioctl(s, TIOCSTI, &ch));
    T("TIOCNOTTY not controlling", ioctl(s, TIOCNOTTY));
    pid_t pg;
    T("tcgetpgrp not controlling", ioctl(s, TIOCGPGRP, &pg));
    T("TIOCSCTTY not a leader", ioctl(s, TIOCSCTTY, 0));
    T("TIOCSETD other", ioctl(s, TIOCSETD, &one));
    T("unknown ioctl", ioctl(m, 0x54ff, 0));
    close(peer);
    close(s);
    close(m);
    /* A locked slave cannot be opened, not even through the master. (Linux then
     * hangs the pair up: a fresh pair.) */
    T("pair", pair(&m, &s, O_NOCTTY));
    T("TIOCSPTLCK 1", ioctl(m, TIOCSPTLCK, &one));
    T("TIOCGPTPEER locked", ioctl(m, TIOCGPTPEER, O_RDWR));
    T("open locked", open(ptsname(m), O_RDWR | O_NOCTTY));
    close(s);
    close(m);
}

static void forkpty_section(void)
{
    int m;
    struct winsize w = {24, 80, 0, 0};
    pid_t pid = forkpty(&m, NULL, NULL, &w);
    if (pid == 0) {
        char line[32];
        if (fgets(line, sizeof line, stdin))
            printf("child: read %s", line);
        printf("child: isatty %s %s %s\n", yesno(isatty(0)), yesno(isatty(1)), yesno(isatty(2)));
        printf("child: leads its session %s, foreground %s\n", yesno(getsid(0) == getpid()),
               yesno(tcgetpgrp(0) == getpid()));
        char *t = ttyname(0);
        printf("child: ttyname under /dev/pts %s\n", yesno(t && strncmp(t, "/dev/pts/", 9) == 0));
        fflush(stdout);
        _exit(5);
    }
    printf("forkpty: %s\n", res(pid));
    T("write a line", write(m, "ping\n", 5));
    char buf[1024];
    long got = 0, n;
    while ((n = rd(m, buf + got, sizeof buf - got, 5000)) > 0)
        got += n;
    show("master reads", buf, got);
    int st;
    waitpid(pid, &st, 0);
    printf("child: %s\n", status_text(st));
    char c;
    T("master read after the child", read(m, &c, 1));
    close(m);
}

/* Many pairs made, used and closed, some with a child on the slave: nothing
 * they take may stay behind (the guest test checks the kernel's free frames);
 * each pair's /dev/pts entry is gone once it is closed. */
static void churn_section(void)
{
    int bad = 0, stayed = 0;
    for (int i = 0; i < 1000; i++) {
        int m, s;
        char c = 0, name[64] = "";
        struct stat st;
        if (openpty(&m, &s, name, NULL, NULL) < 0 || write(m, "x\n", 2) != 2 || rd(s, &c, 1, 3000) != 1 || c != 'x')
            bad++;
        close(s);
        close(m);
        stayed += stat(name, &st) == 0;
    }
    printf("pairs: %d bad, %d left in /dev/pts\n", bad, stayed);
    bad = 0;
    for (int i = 0; i < 30; i++) {
        int m;
        pid_t pid = forkpty(&m, NULL, NULL, NULL);
        if (pid == 0)
            _exit(write(1, "k", 1) == 1 ? 0 : 1);
        char c = 0;
        int st = -1;
        if (pid < 0 || rd(m, &c, 1, 3000) != 1 || c != 'k' || waitpid(pid, &st, 0) != pid || st != 0)
            bad++;
        close(m);
    }
    printf("forkpty children: %d bad\n", bad);
}

int main(int argc, char **argv)
{
    probe_init();
    static const struct probe_section sections[] = {
        {"basic", basic_section},   {"io", io_section},         {"winsize", winsize_section},
        {"session", session_section}, {"leader", leader_section}, {"hangup", hangup_section},
        {"master", master_section}, {"forkpty", forkpty_section}, {"churn", churn_section},
        {"jobs", jobs_section},     {NULL, NULL},
    };
    int r = run_sections(argc, argv, sections);
    if (r == 0)
        printf("== done\n");
    return r;
}

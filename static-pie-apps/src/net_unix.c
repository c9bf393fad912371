/* net_unix: AF_UNIX sockets as Linux does them.
 *
 *   net_unix [SECTION]   sections: pair stream dgram seqpacket path abstract_names
 *                        rights creds mmsg epoll select opts errors
 *
 * pair       socketpair of each type: data both ways, record boundaries,
 *            MSG_PEEK, FIONREAD, MSG_DONTWAIT/O_NONBLOCK, names, SO_TYPE
 * stream     shutdown and close: EOF, EPIPE with SIGPIPE ignored, SIGPIPE
 *            killing a child, MSG_NOSIGNAL, ECONNRESET for unread data, poll
 *            events at each step, MSG_WAITALL across writes, 1 MiB through
 *            a forked child
 * dgram      bound datagram sockets: sendto/recvfrom addresses, MSG_TRUNC,
 *            connect/disconnect, EPERM, ECONNREFUSED then ENOTCONN, a full
 *            queue (EAGAIN)
 * seqpacket  listen/accept, truncated records, EOF
 * path       sockets named by paths: the inode, EADDRINUSE, ENOENT,
 *            ECONNREFUSED, EPROTOTYPE, names of each end, a full backlog,
 *            data sent before accept, accept4 flags
 * abstract_names  the abstract namespace and autobind
 * rights     SCM_RIGHTS: a pipe and a socket passed to a forked child and
 *            back, MSG_CTRUNC, MSG_CMSG_CLOEXEC, EBADF, more than SCM_MAX_FD
 * creds      SO_PEERCRED, SO_PASSCRED and SCM_CREDENTIALS across fork
 * mmsg       sendmmsg/recvmmsg
 * epoll      edge-triggered epoll on sockets: one event per arrival,
 *            EPOLLRDHUP, EPOLLHUP, a listener's EPOLLIN
 * select     select and pselect on sockets: readiness, timeouts, EBADF
 * opts       socket options: buffers, timeouts (SO_RCVTIMEO gives EAGAIN),
 *            SO_LINGER, unknown options, short option lengths
 * errors     Linux's errno for bad arguments */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/select.h>
#include <sys/time.h>
#include "net_common.h"

static char dir[64];

static void mkdirs(void)
{
    snprintf(dir, sizeof dir, "/tmp/net_unix.%08d", (int)getpid());
    mkdir(dir, 0700);
}

static void cleanup(void)
{
    char cmd[128];
    /* No shell in every guest: remove the files by hand. */
    static const char *names[] = {"s1", "s2", "s3", "d1", "d2", "d3", "q1", "file", "b1", NULL};
    for (int i = 0; names[i]; i++) {
        snprintf(cmd, sizeof cmd, "%s/%s", dir, names[i]);
        unlink(cmd);
    }
    rmdir(dir);
}

static socklen_t path_addr(struct sockaddr_un *a, const char *name)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    snprintf(a->sun_path, sizeof a->sun_path, "%s/%s", dir, name);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(a->sun_path) + 1);
}

static socklen_t abstract_addr(struct sockaddr_un *a, const char *name)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    int n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "net_unix.%08d.%s", (int)getpid(), name);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

/* An address as text, with our directory and pid replaced by fixed words. */
static const char *addr_text(const struct sockaddr_un *a, socklen_t len)
{
    static char buf[160];
    size_t off = offsetof(struct sockaddr_un, sun_path);
    if (len < off) {
        snprintf(buf, sizeof buf, "len %u", (unsigned)len);
        return buf;
    }
    if (len == off) {
        snprintf(buf, sizeof buf, "unnamed (len %u)", (unsigned)len);
        return buf;
    }
    if (a->sun_path[0] == 0) {
        char pref[64];
        int pl = snprintf(pref, sizeof pref, "net_unix.%08d.", (int)getpid());
        const char *n = a->sun_path + 1;
        size_t nl = len - off - 1;
        if (nl >= (size_t)pl && memcmp(n, pref, (size_t)pl) == 0)
            snprintf(buf, sizeof buf, "abstract @%.*s (len %u)", (int)(nl - (size_t)pl), n + pl, (unsigned)len);
        else
            snprintf(buf, sizeof buf, "abstract of %zu bytes (len %u)", nl, (unsigned)len);
        return buf;
    }
    size_t dl = strlen(dir);
    if (strncmp(a->sun_path, dir, dl) == 0)
        snprintf(buf, sizeof buf, "path DIR%s (len %u)", a->sun_path + dl, (unsigned)len);
    else
        snprintf(buf, sizeof buf, "path %s (len %u)", a->sun_path, (unsigned)len);
    return buf;
}

static void show_name(const char *what, int fd, int peer)
{
    struct sockaddr_un a;
    memset(&a, 0x55, sizeof a);
    socklen_t l = sizeof a;
    int r = peer ? getpeername(fd, (struct sockaddr *)&a, &l) : getsockname(fd, (struct sockaddr *)&a, &l);
    if (r < 0)
        printf("%s: %s %s\n", what, peer ? "getpeername" : "getsockname", errname(errno));
    else
        printf("%s: %s %s\n", what, peer ? "peer" : "name", addr_text(&a, l));
}

static const char *type_name(int t)
{
    return t == SOCK_STREAM ? "stream" : t == SOCK_DGRAM ? "dgram" : t == SOCK_SEQPACKET ? "seqpacket" : "?";
}

/* ------------------------------------------------------------------ pair -- */

static void pair(void)
{
    static const int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
    for (int i = 0; i < 3; i++) {
        int t = types[i];
        int sv[2];
        int r = socketpair(AF_UNIX, t, 0, sv);
        printf("%s: socketpair %s\n", type_name(t), res(r));
        if (r < 0)
            continue;
        printf("%s: SO_TYPE %d SO_DOMAIN %d SO_PROTOCOL %d SO_ACCEPTCONN %d SO_ERROR %d\n", type_name(t),
               sockopt_int(sv[0], SOL_SOCKET, SO_TYPE), sockopt_int(sv[0], SOL_SOCKET, SO_DOMAIN),
               sockopt_int(sv[0], SOL_SOCKET, SO_PROTOCOL), sockopt_int(sv[0], SOL_SOCKET, SO_ACCEPTCONN),
               sockopt_int(sv[0], SOL_SOCKET, SO_ERROR));
        show_poll(type_name(t), sv[0]);
        write(sv[0], "hello", 5);
        write(sv[0], "world!", 6);
        int avail = -1;
        ioctl(sv[1], FIONREAD, &avail);
        printf("%s: FIONREAD %d\n", type_name(t), avail);
        show_poll(type_name(t), sv[1]);
        char buf[64];
        ssize_t n = recv(sv[1], buf, sizeof buf, MSG_PEEK);
        printf("%s: peek %zd '%.*s'\n", type_name(t), n, (int)(n > 0 ? n : 0), buf);
        n = read(sv[1], buf, 3);
        printf("%s: read(3) %zd '%.*s'\n", type_name(t), n, (int)(n > 0 ? n : 0), buf);
        n = read(sv[1], buf, sizeof buf);
        printf("%s: read %zd '%.*s'\n", type_name(t), n, (int)(n > 0 ? n : 0), buf);
        n = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT);
        printf("%s: read %zd '%.*s' %s\n", type_name(t), n, (int)(n > 0 ? n : 0), buf, n < 0 ? errname(errno) : "");
        /* The other way. */
        write(sv[1], "back", 4);
        n = read(sv[0], buf, sizeof buf);
        printf("%s: back %zd '%.*s'\n", type_name(t), n, (int)(n > 0 ? n : 0), buf);
        set_nonblock(sv[0], 1);
        n = read(sv[0], buf, sizeof buf);
        printf("%s: nonblocking read %s\n", type_name(t), res(n));
        /* A zero-length datagram is a message. */
        if (t != SOCK_STREAM) {
            n = send(sv[1], "", 0, 0);
            n = recv(sv[0], buf, sizeof buf, 0);
            printf("%s: empty message %zd\n", type_name(t), n);
        }
        show_name(type_name(t), sv[0], 0);
        show_name(type_name(t), sv[0], 1);
        struct stat st;
        fstat(sv[0], &st);
        printf("%s: S_ISSOCK %s\n", type_name(t), yesno(S_ISSOCK(st.st_mode)));
        close(sv[0]);
        close(sv[1]);
    }
}

/* ---------------------------------------------------------------- stream -- */

static void stream(void)
{
    int sv[2];
    char buf[64];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    printf("shutdown(SHUT_WR): %s\n", res(shutdown(sv[0], SHUT_WR)));
    show_poll("writer", sv[0]);
    show_poll("reader", sv[1]);
    ssize_t n = read(sv[1], buf, sizeof buf);
    printf("reader: read %zd\n", n);
    signal(SIGPIPE, SIG_IGN);
    n = write(sv[0], "x", 1);
    printf("write after SHUT_WR: %s\n", res(n));
    n = write(sv[1], "y", 1);
    printf("reader still writes: %zd\n", n);
    n = read(sv[0], buf, sizeof buf);
    printf("writer reads: %zd\n", n);
    close(sv[1]);
    show_poll("writer after peer close", sv[0]);
    n = write(sv[0], "x", 1);
    printf("write after peer close: %s\n", res(n));
    close(sv[0]);
    signal(SIGPIPE, SIG_DFL);

    /* SIGPIPE kills by default; MSG_NOSIGNAL only fails. */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    close(sv[1]);
    pid_t c = xfork();
    if (c == 0) {
        n = send(sv[0], "x", 1, MSG_NOSIGNAL);
        printf("child: send MSG_NOSIGNAL %s\n", res(n));
        fflush(stdout);
        write(sv[0], "x", 1);
        _exit(0);
    }
    reap(c, "child writing to a closed peer");
    close(sv[0]);

    /* Unread data at close: the peer sees ECONNRESET. */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    write(sv[0], "unread", 6);
    close(sv[1]);
    show_poll("after close with unread data", sv[0]);
    n = read(sv[0], buf, sizeof buf);
    printf("read: %s\n", res(n));
    n = read(sv[0], buf, sizeof buf);
    printf("read again: %zd\n", n);
    close(sv[0]);

    /* SHUT_RD: reads give 0, the peer's writes EPIPE. */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    shutdown(sv[1], SHUT_RD);
    show_poll("after SHUT_RD", sv[1]);
    show_poll("its peer", sv[0]);
    n = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT);
    printf("read after SHUT_RD: %zd\n", n);
    n = send(sv[0], "x", 1, MSG_NOSIGNAL);
    printf("peer's send: %s\n", res(n));
    shutdown(sv[1], SHUT_WR);
    show_poll("after SHUT_RDWR", sv[1]);
    close(sv[0]);
    close(sv[1]);

    /* MSG_WAITALL across several writes of a child; 1 MiB through. */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    c = xfork();
    if (c == 0) {
        close(sv[0]);
        for (int i = 0; i < 4; i++) {
            write(sv[1], "abcd", 4);
            usleep(20000);
        }
        static unsigned char big[1 << 20];
        for (size_t i = 0; i < sizeof big; i++)
            big[i] = (unsigned char)(i * 7 + 3);
        write_full(sv[1], big, sizeof big);
        _exit(0);
    }
    close(sv[1]);
    n = recv(sv[0], buf, 16, MSG_WAITALL);
    printf("MSG_WAITALL: %zd '%.*s'\n", n, (int)(n > 0 ? n : 0), buf);
    static unsigned char got[1 << 20];
    long total = read_full(sv[0], got, sizeof got);
    int ok = total == (long)sizeof got;
    for (size_t i = 0; ok && i < sizeof got; i++)
        ok = got[i] == (unsigned char)(i * 7 + 3);
    printf("1 MiB: %ld bytes, intact %s\n", total, yesno(ok));
    n = read(sv[0], buf, sizeof buf);
    printf("then: %zd\n", n);
    reap(c, "writer");
    close(sv[0]);
}

/* ----------------------------------------------------------------- dgram -- */

static void dgram(void)
{
    struct sockaddr_un a1, a2, from;
    socklen_t l1 = path_addr(&a1, "d1"), l2 = path_addr(&a2, "d2");
    int s1 = socket(AF_UNIX, SOCK_DGRAM, 0);
    int s2 = socket(AF_UNIX, SOCK_DGRAM, 0);
    int s3 = socket(AF_UNIX, SOCK_DGRAM, 0);
    printf("bind d1: %s\n", res(bind(s1, (struct sockaddr *)&a1, l1)));
    printf("bind d2: %s\n", res(bind(s2, (struct sockaddr *)&a2, l2)));
    printf("send without address: %s\n", res(send(s3, "x", 1, 0)));
    ssize_t n = sendto(s2, "to d1", 5, 0, (struct sockaddr *)&a1, l1);
    printf("sendto d1: %zd\n", n);
    n = sendto(s3, "from unnamed", 12, 0, (struct sockaddr *)&a1, l1);
    printf("sendto d1 from unnamed: %zd\n", n);
    char buf[64];
    socklen_t fl = sizeof from;
    memset(&from, 0, sizeof from);
    n = recvfrom(s1, buf, 3, 0, (struct sockaddr *)&from, &fl);
    printf("recvfrom(3): %zd '%.*s' from %s\n", n, (int)(n > 0 ? n : 0), buf, addr_text(&from, fl));
    fl = sizeof from;
    n = recvfrom(s1, buf, sizeof buf, MSG_TRUNC, (struct sockaddr *)&from, &fl);
    printf("recvfrom MSG_TRUNC: %zd from %s\n", n, addr_text(&from, fl));
    /* recvmsg reports the truncation. */
    sendto(s2, "0123456789", 10, 0, (struct sockaddr *)&a1, l1);
    struct iovec iov = {buf, 4};
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_name = &from;
    mh.msg_namelen = sizeof from;
    n = recvmsg(s1, &mh, 0);
    printf("recvmsg: %zd flags%s%s from %s\n", n, mh.msg_flags & MSG_TRUNC ? " MSG_TRUNC" : "",
           mh.msg_flags & MSG_CTRUNC ? " MSG_CTRUNC" : "", addr_text(&from, mh.msg_namelen));
    /* Connected datagram sockets. */
    printf("connect s3 to d1: %s\n", res(connect(s3, (struct sockaddr *)&a1, l1)));
    show_name("s3", s3, 1);
    printf("send: %zd\n", send(s3, "conn", 4, 0));
    n = recv(s1, buf, sizeof buf, 0);
    printf("d1 got %zd '%.*s'\n", n, (int)(n > 0 ? n : 0), buf);
    printf("connect d1 to d2: %s\n", res(connect(s1, (struct sockaddr *)&a2, l2)));
    printf("s3 sends to d1 connected elsewhere: %s\n", res(send(s3, "x", 1, 0)));
    printf("d2 sends to d1 (its peer): %zd\n", sendto(s2, "ok", 2, 0, (struct sockaddr *)&a1, l1));
    recv(s1, buf, sizeof buf, 0);
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    printf("disconnect d1: %s\n", res(connect(s1, &unspec, sizeof unspec)));
    show_name("d1", s1, 1);
    printf("s3 sends again: %zd\n", send(s3, "x", 1, 0));
    recv(s1, buf, sizeof buf, 0);
    /* The receiver goes away. */
    close(s1);
    printf("send to a closed socket: %s\n", res(send(s3, "x", 1, 0)));
    printf("send again: %s\n", res(send(s3, "x", 1, 0)));
    printf("sendto the stale path: %s\n", res(sendto(s3, "x", 1, 0, (struct sockaddr *)&a1, l1)));
    close(s3);
    /* A queue of ten datagrams is full at the eleventh from another socket. */
    int s4 = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int k = 0;
    for (; k < 100; k++)
        if (sendto(s4, "q", 1, 0, (struct sockaddr *)&a2, l2) < 0)
            break;
    printf("datagrams queued before %s: %d\n", errname(errno), k);
    show_poll("sender to a full queue (connected elsewhere)", s4);
    connect(s4, (struct sockaddr *)&a2, l2);
    show_poll("sender to a full queue", s4);
    n = recv(s2, buf, sizeof buf, 0);
    printf("one read: %zd\n", n);
    printf("sendto now: %zd\n", sendto(s4, "q", 1, 0, (struct sockaddr *)&a2, l2));
    close(s4);
    close(s2);
    cleanup();
    mkdirs();
}

/* ------------------------------------------------------------- seqpacket -- */

static void seqpacket(void)
{
    struct sockaddr_un a;
    socklen_t l = path_addr(&a, "q1");
    int ls = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    printf("bind: %s\n", res(bind(ls, (struct sockaddr *)&a, l)));
    printf("listen: %s\n", res(listen(ls, 5)));
    int c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    char buf[64];
    printf("recv unconnected: %s\n", res(recv(c, buf, sizeof buf, MSG_DONTWAIT)));
    printf("send unconnected: %s\n", res(send(c, "x", 1, 0)));
    printf("connect: %s\n", res(connect(c, (struct sockaddr *)&a, l)));
    int s = accept(ls, NULL, NULL);
    printf("accept: %s\n", res(s));
    send(c, "record one", 10, 0);
    send(c, "two", 3, 0);
    struct iovec iov = {buf, 6};
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    ssize_t n = recvmsg(s, &mh, 0);
    printf("recvmsg(6): %zd '%.*s'%s\n", n, (int)(n > 0 ? n : 0), buf, mh.msg_flags & MSG_TRUNC ? " MSG_TRUNC" : "");
    n = recv(s, buf, sizeof buf, 0);
    printf("next: %zd '%.*s'\n", n, (int)(n > 0 ? n : 0), buf);
    printf("sendto with an address (ignored): %zd\n", sendto(c, "addr", 4, 0, (struct sockaddr *)&a, l));
    n = recv(s, buf, sizeof buf, 0);
    printf("got: %zd\n", n);
    close(c);
    show_poll("server after client close", s);
    n = recv(s, buf, sizeof buf, 0);
    printf("recv after close: %zd\n", n);
    signal(SIGPIPE, SIG_IGN);
    printf("send after close: %s\n", res(send(s, "x", 1, 0)));
    signal(SIGPIPE, SIG_DFL);
    close(s);
    close(ls);
}

/* ------------------------------------------------------------------ path -- */

static void path(void)
{
    struct sockaddr_un a, b, got;
    socklen_t l = path_addr(&a, "s1");
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("listen unbound: %s\n", res(listen(ls, 5)));
    printf("bind: %s\n", res(bind(ls, (struct sockaddr *)&a, l)));
    printf("bind again: %s\n", res(bind(ls, (struct sockaddr *)&a, l)));
    struct stat st;
    memset(&st, 0, sizeof st);
    int sr = stat(a.sun_path, &st);
    printf("stat: %s S_ISSOCK %s mode %o\n", res(sr), yesno(S_ISSOCK(st.st_mode)), st.st_mode & 0777);
    printf("open: %s\n", res(open(a.sun_path, O_RDONLY)));
    int other = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("bind another to the same path: %s\n", res(bind(other, (struct sockaddr *)&a, l)));
    printf("connect before listen: %s\n", res(connect(other, (struct sockaddr *)&a, l)));
    printf("accept before listen: %s\n", res(accept(ls, NULL, NULL)));
    printf("listen: %s\n", res(listen(ls, 1)));
    show_poll("listener", ls);
    printf("SO_ACCEPTCONN: %d\n", sockopt_int(ls, SOL_SOCKET, SO_ACCEPTCONN));
    socklen_t bl = path_addr(&b, "nothere");
    printf("connect to a missing path: %s\n", res(connect(other, (struct sockaddr *)&b, bl)));
    bl = path_addr(&b, "file");
    close(open(b.sun_path, O_CREAT | O_WRONLY, 0600));
    printf("connect to a regular file: %s\n", res(connect(other, (struct sockaddr *)&b, bl)));
    int dg = socket(AF_UNIX, SOCK_DGRAM, 0);
    printf("dgram connect to a stream listener: %s\n", res(connect(dg, (struct sockaddr *)&a, l)));
    close(dg);
    /* Connect and send before the server accepts. */
    printf("connect: %s\n", res(connect(other, (struct sockaddr *)&a, l)));
    printf("connect again: %s\n", res(connect(other, (struct sockaddr *)&a, l)));
    printf("send before accept: %zd\n", send(other, "early", 5, 0));
    show_poll("listener with a connection", ls);
    show_name("client", other, 0);
    show_name("client", other, 1);
    socklen_t gl = sizeof got;
    memset(&got, 0, sizeof got);
    int s = accept4(ls, (struct sockaddr *)&got, &gl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    printf("accept4: %s, peer %s, O_NONBLOCK %s, FD_CLOEXEC %s\n", res(s), addr_text(&got, gl),
           yesno(fcntl(s, F_GETFL) & O_NONBLOCK), yesno(fcntl(s, F_GETFD) & FD_CLOEXEC));
    show_name("server", s, 0);
    show_name("server", s, 1);
    char buf[64];
    ssize_t n = read(s, buf, sizeof buf);
    printf("server read: %zd '%.*s'\n", n, (int)(n > 0 ? n : 0), buf);
    printf("server read again: %s\n", res(read(s, buf, sizeof buf)));
    /* Backlog 1: two connections wait, the third would block. */
    int c1 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int c2 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int c3 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    printf("c1: %s\n", res(connect(c1, (struct sockaddr *)&a, l)));
    printf("c2: %s\n", res(connect(c2, (struct sockaddr *)&a, l)));
    printf("c3: %s\n", res(connect(c3, (struct sockaddr *)&a, l)));
    int a1 = accept(ls, NULL, NULL);
    printf("c3 after one accept: %s\n", res(connect(c3, (struct sockaddr *)&a, l)));
    int a2 = accept(ls, NULL, NULL);
    int a3 = accept(ls, NULL, NULL);
    printf("accepted three: %s\n", yesno(a1 >= 0 && a2 >= 0 && a3 >= 0));
    set_nonblock(ls, 1);
    printf("accept with none waiting: %s\n", res(accept(ls, NULL, NULL)));
    /* The listener goes away with a connection not accepted. */
    int c4 = socket(AF_UNIX, SOCK_STREAM, 0);
    connect(c4, (struct sockaddr *)&a, l);
    close(ls);
    show_poll("connection never accepted", c4);
    printf("its read: %s\n", res(read(c4, buf, sizeof buf)));
    int c5 = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("connect after the listener closed: %s\n", res(connect(c5, (struct sockaddr *)&a, l)));
    printf("unlink: %s\n", res(unlink(a.sun_path)));
    printf("connect after unlink: %s\n", res(connect(c5, (struct sockaddr *)&a, l)));
    int fds[] = {other, s, c1, c2, c3, a1, a2, a3, c4, c5};
    for (unsigned i = 0; i < sizeof fds / sizeof fds[0]; i++)
        close(fds[i]);
    /* A relative path binds in the working directory. */
    chdir(dir);
    int r = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un rel = {.sun_family = AF_UNIX, .sun_path = "b1"};
    printf("bind relative: %s\n", res(bind(r, (struct sockaddr *)&rel, sizeof rel)));
    show_name("relative", r, 0);
    printf("exists: %s\n", yesno(access("b1", F_OK) == 0));
    chdir("/");
    close(r);
    cleanup();
    mkdirs();
}

/* -------------------------------------------------------------- abstract -- */

static void abstract(void)
{
    struct sockaddr_un a, got;
    socklen_t l = abstract_addr(&a, "srv");
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("bind: %s\n", res(bind(ls, (struct sockaddr *)&a, l)));
    show_name("listener", ls, 0);
    int o = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("bind the same name: %s\n", res(bind(o, (struct sockaddr *)&a, l)));
    listen(ls, 4);
    printf("connect: %s\n", res(connect(o, (struct sockaddr *)&a, l)));
    show_name("client", o, 1);
    int s = accept(ls, NULL, NULL);
    write(o, "abs", 3);
    char buf[8];
    ssize_t n = read(s, buf, sizeof buf);
    printf("read: %zd\n", n);
    close(s);
    close(o);
    close(ls);
    int again = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("bind after close: %s\n", res(bind(again, (struct sockaddr *)&a, l)));
    close(again);
    socklen_t l2 = abstract_addr(&a, "none");
    o = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("connect to a missing name: %s\n", res(connect(o, (struct sockaddr *)&a, l2)));
    /* Autobind: five hex digits in the abstract namespace. */
    struct sockaddr_un fam = {.sun_family = AF_UNIX};
    printf("autobind: %s\n", res(bind(o, (struct sockaddr *)&fam, sizeof(sa_family_t))));
    socklen_t gl = sizeof got;
    getsockname(o, (struct sockaddr *)&got, &gl);
    int hex = gl == 8 && got.sun_path[0] == 0;
    for (int i = 1; hex && i < 6; i++)
        hex = strchr("0123456789abcdef", got.sun_path[i]) != NULL;
    printf("autobound name: len %u, five hex digits %s\n", (unsigned)gl, yesno(hex));
    printf("autobind again: %s\n", res(bind(o, (struct sockaddr *)&fam, sizeof(sa_family_t))));
    close(o);
    /* Datagrams between abstract names. */
    int d1 = socket(AF_UNIX, SOCK_DGRAM, 0), d2 = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un b1, b2;
    socklen_t lb1 = abstract_addr(&b1, "d1"), lb2 = abstract_addr(&b2, "d2");
    bind(d1, (struct sockaddr *)&b1, lb1);
    bind(d2, (struct sockaddr *)&b2, lb2);
    sendto(d2, "hi", 2, 0, (struct sockaddr *)&b1, lb1);
    gl = sizeof got;
    n = recvfrom(d1, buf, sizeof buf, 0, (struct sockaddr *)&got, &gl);
    printf("recvfrom: %zd from %s\n", n, addr_text(&got, gl));
    close(d1);
    close(d2);
}

/* ---------------------------------------------------------------- rights -- */

/* sendmsg without the C library in between: musl copies the control data to a
 * buffer of its own first (ENOMEM for some sizes) and rewrites its headers. */
static long raw_sendmsg(int fd, const struct msghdr *m, int flags)
{
    return syscall(SYS_sendmsg, fd, m, flags);
}

static int send_fds(int sock, const int *fds, int n, const char *data)
{
    char cbuf[CMSG_SPACE(sizeof(int) * 300)];
    memset(cbuf, 0, sizeof cbuf);
    struct iovec iov = {(void *)data, strlen(data)};
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (n > 0) {
        mh.msg_control = cbuf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n);
    }
    return (int)raw_sendmsg(sock, &mh, 0);
}

/* Receives up to `max` descriptors with a control buffer for `room` of them;
 * prints what came. */
static int recv_fds(int sock, int *fds, int room, int flags, const char *what)
{
    char data[64];
    char cbuf[CMSG_SPACE(sizeof(int) * 16)];
    struct iovec iov = {data, sizeof data};
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = room ? cbuf : NULL;
    mh.msg_controllen = room ? CMSG_SPACE(sizeof(int) * (size_t)room) : 0;
    ssize_t n = recvmsg(sock, &mh, flags);
    int got = 0;
    for (struct cmsghdr *c = room ? CMSG_FIRSTHDR(&mh) : NULL; c; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            memcpy(fds + got, CMSG_DATA(c), sizeof(int) * (size_t)k);
            got += k;
        }
    printf("%s: recvmsg %zd '%.*s', %d descriptors%s%s\n", what, n, (int)(n > 0 ? n : 0), data, got,
           mh.msg_flags & MSG_CTRUNC ? ", MSG_CTRUNC" : "", mh.msg_flags & MSG_CMSG_CLOEXEC ? ", MSG_CMSG_CLOEXEC" : "");
    return got;
}

static void rights(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pid_t c = xfork();
    if (c == 0) {
        close(sv[0]);
        /* The child makes a pipe and a socketpair and passes one end of each. */
        int p[2], q[2];
        pipe(p);
        socketpair(AF_UNIX, SOCK_STREAM, 0, q);
        int two[2] = {p[0], q[0]};
        int sent = send_fds(sv[1], two, 2, "fds");
        close(p[0]);
        close(q[0]);
        write(p[1], "through the pipe", 16);
        close(p[1]);
        char buf[32];
        ssize_t n = read(q[1], buf, sizeof buf);
        printf("child: sendmsg %d; the parent wrote %zd bytes '%.*s' on the passed socket\n", sent, n,
               (int)(n > 0 ? n : 0), buf);
        _exit(0);
    }
    close(sv[1]);
    int fds[16];
    int got = recv_fds(sv[0], fds, 4, 0, "parent");
    if (got == 2) {
        char buf[32];
        ssize_t n = read_full(fds[0], buf, 16);
        printf("parent: read %zd '%.*s' from the passed pipe\n", n, (int)(n > 0 ? n : 0), buf);
        printf("parent: then %zd (EOF)\n", read(fds[0], buf, sizeof buf));
        write(fds[1], "hello child", 11);
        close(fds[0]);
        close(fds[1]);
    }
    reap(c, "child");
    close(sv[0]);

    /* Control buffer too small, MSG_CMSG_CLOEXEC, no control buffer. */
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    int three[3] = {0, 1, 2};
    send_fds(sv[0], three, 3, "three");
    got = recv_fds(sv[1], fds, 1, 0, "room for one");
    for (int i = 0; i < got; i++)
        close(fds[i]);
    send_fds(sv[0], three, 1, "cloexec");
    got = recv_fds(sv[1], fds, 4, MSG_CMSG_CLOEXEC, "MSG_CMSG_CLOEXEC");
    if (got == 1) {
        printf("FD_CLOEXEC: %s\n", yesno(fcntl(fds[0], F_GETFD) & FD_CLOEXEC));
        close(fds[0]);
    }
    send_fds(sv[0], three, 2, "none");
    recv_fds(sv[1], fds, 0, 0, "no control buffer");
    send_fds(sv[0], three, 1, "peek");
    got = recv_fds(sv[1], fds, 4, MSG_PEEK, "MSG_PEEK");
    for (int i = 0; i < got; i++)
        close(fds[i]);
    got = recv_fds(sv[1], fds, 4, 0, "after peek");
    for (int i = 0; i < got; i++)
        close(fds[i]);
    int bad[2] = {0, 999};
    printf("a bad descriptor: %s\n", send_fds(sv[0], bad, 2, "bad") < 0 ? errname(errno) : "OK");
    static int many[300];
    for (int i = 0; i < 300; i++)
        many[i] = 1;
    printf("253 descriptors: %s\n", send_fds(sv[0], many, 253, "253") < 0 ? errname(errno) : "OK");
    got = recv_fds(sv[1], fds, 0, 0, "253 without room");
    printf("254 descriptors: %s\n", send_fds(sv[0], many, 254, "254") < 0 ? errname(errno) : "OK");
    /* A bad control message. */
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    struct iovec iov = {"x", 1};
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof cbuf;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = 77;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    printf("unknown cmsg type: %s\n", res(raw_sendmsg(sv[0], &mh, 0)));
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = sizeof cbuf + 8;
    printf("cmsg_len past the buffer: %s\n", res(raw_sendmsg(sv[0], &mh, 0)));
    close(sv[0]);
    close(sv[1]);
    /* Descriptors in flight when both ends close are released. */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int p[2];
    pipe(p);
    send_fds(sv[0], &p[0], 1, "lost");
    close(p[0]);
    close(sv[0]);
    close(sv[1]);
    signal(SIGPIPE, SIG_IGN);
    printf("write to the pipe whose read end was in flight: %s\n", res(write(p[1], "x", 1)));
    signal(SIGPIPE, SIG_DFL);
    close(p[1]);
}

/* ----------------------------------------------------------------- creds -- */

static void creds(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct ucred uc;
    socklen_t l = sizeof uc;
    getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &uc, &l);
    printf("SO_PEERCRED: len %u, pid is mine %s, uid %u gid %u\n", (unsigned)l, yesno(uc.pid == getpid()), uc.uid,
           uc.gid);
    int one = 1;
    printf("SO_PASSCRED: %s\n", res(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one)));
    pid_t c = xfork();
    if (c == 0) {
        write(sv[0], "plain", 5);
        /* Explicit credentials (our own). */
        /* Zeroed: musl's cmsghdr has padding after a 32-bit cmsg_len. */
        char cbuf[CMSG_SPACE(sizeof(struct ucred))];
        memset(cbuf, 0, sizeof cbuf);
        struct iovec iov = {"creds", 5};
        struct msghdr mh = {0};
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = cbuf;
        mh.msg_controllen = sizeof cbuf;
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_CREDENTIALS;
        cm->cmsg_len = CMSG_LEN(sizeof(struct ucred));
        struct ucred mine = {getpid(), getuid(), getgid()};
        memcpy(CMSG_DATA(cm), &mine, sizeof mine);
        printf("child: sendmsg SCM_CREDENTIALS %s\n", res(raw_sendmsg(sv[0], &mh, 0)));
        cm->cmsg_len = CMSG_LEN(sizeof(struct ucred)) - 4;
        printf("child: short SCM_CREDENTIALS %s\n", res(raw_sendmsg(sv[0], &mh, 0)));
        _exit(0);
    }
    reap(c, "child");
    /* Both pieces come from the same writer: one read takes them. */
    for (int i = 0; i < 1; i++) {
        char data[16], cbuf[CMSG_SPACE(sizeof(struct ucred))];
        struct iovec iov = {data, sizeof data};
        struct msghdr mh = {0};
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = cbuf;
        mh.msg_controllen = sizeof cbuf;
        ssize_t n = recvmsg(sv[1], &mh, 0);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        if (cm && cm->cmsg_type == SCM_CREDENTIALS) {
            struct ucred got;
            memcpy(&got, CMSG_DATA(cm), sizeof got);
            printf("recvmsg %zd '%.*s': SCM_CREDENTIALS pid is the child %s, uid %u gid %u\n", n,
                   (int)(n > 0 ? n : 0), data, yesno(got.pid == c), got.uid, got.gid);
        } else {
            printf("recvmsg %zd: no credentials\n", n);
        }
    }
    close(sv[0]);
    close(sv[1]);
    /* A listener's peer credentials are the listening process's. */
    struct sockaddr_un a;
    socklen_t al = abstract_addr(&a, "cred");
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(ls, (struct sockaddr *)&a, al);
    listen(ls, 1);
    int cl = socket(AF_UNIX, SOCK_STREAM, 0);
    connect(cl, (struct sockaddr *)&a, al);
    l = sizeof uc;
    getsockopt(cl, SOL_SOCKET, SO_PEERCRED, &uc, &l);
    printf("client's SO_PEERCRED: pid is mine %s\n", yesno(uc.pid == getpid()));
    int unc = socket(AF_UNIX, SOCK_STREAM, 0);
    l = sizeof uc;
    getsockopt(unc, SOL_SOCKET, SO_PEERCRED, &uc, &l);
    printf("unconnected SO_PEERCRED: pid %d uid %d gid %d\n", uc.pid, (int)uc.uid, (int)uc.gid);
    close(unc);
    close(cl);
    close(ls);
}

/* ------------------------------------------------------------------ mmsg -- */

static void mmsg(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    struct mmsghdr m[4];
    struct iovec iov[4];
    char *words[] = {"one", "two", "three", "four"};
    memset(m, 0, sizeof m);
    for (int i = 0; i < 4; i++) {
        iov[i].iov_base = words[i];
        iov[i].iov_len = strlen(words[i]);
        m[i].msg_hdr.msg_iov = &iov[i];
        m[i].msg_hdr.msg_iovlen = 1;
    }
    int n = sendmmsg(sv[0], m, 4, 0);
    printf("sendmmsg: %d, lengths %u %u %u %u\n", n, m[0].msg_len, m[1].msg_len, m[2].msg_len, m[3].msg_len);
    char bufs[4][8];
    memset(m, 0, sizeof m);
    for (int i = 0; i < 4; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = sizeof bufs[i];
        m[i].msg_hdr.msg_iov = &iov[i];
        m[i].msg_hdr.msg_iovlen = 1;
    }
    n = recvmmsg(sv[1], m, 3, 0, NULL);
    printf("recvmmsg(3): %d:", n);
    for (int i = 0; i < n; i++)
        printf(" '%.*s'", (int)m[i].msg_len, bufs[i]);
    printf("\n");
    n = recvmmsg(sv[1], m, 4, MSG_WAITFORONE, NULL);
    printf("recvmmsg MSG_WAITFORONE: %d\n", n);
    n = recvmmsg(sv[1], m, 4, MSG_DONTWAIT, NULL);
    printf("recvmmsg on empty: %s\n", res(n));
    struct timespec ts = {0, 50 * 1000 * 1000};
    set_nonblock(sv[1], 1);
    n = recvmmsg(sv[1], m, 4, 0, &ts);
    printf("recvmmsg nonblocking with a timeout: %s\n", res(n));
    /* Two iovecs gathered into one datagram, scattered into three. */
    struct iovec two[2] = {{"ab", 2}, {"cdef", 4}};
    struct msghdr mh = {0};
    mh.msg_iov = two;
    mh.msg_iovlen = 2;
    printf("sendmsg 2 iovecs: %zd\n", sendmsg(sv[0], &mh, 0));
    char x[2], y[3], z[8];
    struct iovec three[3] = {{x, 2}, {y, 3}, {z, 8}};
    mh.msg_iov = three;
    mh.msg_iovlen = 3;
    ssize_t r = recvmsg(sv[1], &mh, 0);
    printf("recvmsg 3 iovecs: %zd '%.2s' '%.3s' '%.1s'\n", r, x, y, z);
    close(sv[0]);
    close(sv[1]);
}

/* ----------------------------------------------------------------- epoll -- */

static void show_epoll(const char *what, int ep)
{
    struct epoll_event ev[4];
    int n = epoll_wait(ep, ev, 4, 0);
    printf("%s: %d", what, n);
    for (int i = 0; i < n; i++)
        printf(" [%u %s]", (unsigned)ev[i].data.u32, evnames(ev[i].events));
    printf("\n");
}

static void epoll_section(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN | EPOLLRDHUP | EPOLLET, {.u32 = 1}};
    printf("add: %s\n", res(epoll_ctl(ep, EPOLL_CTL_ADD, sv[1], &ev)));
    show_epoll("nothing yet", ep);
    write(sv[0], "a", 1);
    show_epoll("after a write", ep);
    show_epoll("again (edge-triggered)", ep);
    write(sv[0], "b", 1);
    show_epoll("after a second write", ep);
    char buf[8];
    printf("read: %zd\n", read(sv[1], buf, sizeof buf));
    show_epoll("after reading", ep);
    shutdown(sv[0], SHUT_WR);
    show_epoll("after the peer's SHUT_WR", ep);
    show_epoll("again", ep);
    close(sv[0]);
    show_epoll("after the peer's close", ep);
    /* Level-triggered for comparison. */
    struct epoll_event lt = {EPOLLIN | EPOLLOUT, {.u32 = 2}};
    int p2[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, p2);
    epoll_ctl(ep, EPOLL_CTL_ADD, p2[0], &lt);
    write(p2[1], "x", 1);
    show_epoll("level-triggered", ep);
    show_epoll("level-triggered again", ep);
    /* A listener. */
    struct sockaddr_un a;
    socklen_t al = abstract_addr(&a, "ep");
    int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    bind(ls, (struct sockaddr *)&a, al);
    listen(ls, 4);
    struct epoll_event le = {EPOLLIN | EPOLLET, {.u32 = 3}};
    epoll_ctl(ep, EPOLL_CTL_DEL, p2[0], NULL);
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &le);
    show_epoll("idle listener", ep);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&a, al);
    show_epoll("after a connect", ep);
    show_epoll("again", ep);
    int s = accept(ls, NULL, NULL);
    printf("accept: %s; then %s\n", res(s), res(accept(ls, NULL, NULL)));
    /* A blocked epoll_wait wakes for data written by a child. */
    struct epoll_event se = {EPOLLIN, {.u32 = 4}};
    epoll_ctl(ep, EPOLL_CTL_ADD, s, &se);
    pid_t ch = xfork();
    if (ch == 0) {
        usleep(50000);
        write(c, "late", 4);
        _exit(0);
    }
    struct epoll_event out[4];
    int n = epoll_wait(ep, out, 4, 5000);
    printf("blocking epoll_wait: %d [%u %s]\n", n, n > 0 ? (unsigned)out[0].data.u32 : 0,
           n > 0 ? evnames(out[0].events) : "");
    reap(ch, "writer");
    close(s);
    close(c);
    close(ls);
    close(p2[0]);
    close(p2[1]);
    close(sv[1]);
    close(ep);
}

/* ---------------------------------------------------------------- select -- */

static void select_section(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    fd_set r, w;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(sv[0], &r);
    FD_SET(sv[0], &w);
    struct timeval tv = {0, 0};
    int n = select(sv[0] + 1, &r, &w, NULL, &tv);
    printf("idle: %d readable %s writable %s\n", n, yesno(FD_ISSET(sv[0], &r)), yesno(FD_ISSET(sv[0], &w)));
    write(sv[1], "x", 1);
    FD_ZERO(&r);
    FD_SET(sv[0], &r);
    n = select(sv[0] + 1, &r, NULL, NULL, NULL);
    printf("after a write: %d readable %s\n", n, yesno(FD_ISSET(sv[0], &r)));
    char c;
    read(sv[0], &c, 1);
    FD_ZERO(&r);
    FD_SET(sv[0], &r);
    tv.tv_sec = 0;
    tv.tv_usec = 50000;
    n = select(sv[0] + 1, &r, NULL, NULL, &tv);
    printf("timeout: %d, time left %ld.%06ld, bit %s\n", n, (long)tv.tv_sec, (long)tv.tv_usec,
           yesno(FD_ISSET(sv[0], &r)));
    /* A child writes while the parent waits. */
    pid_t ch = xfork();
    if (ch == 0) {
        usleep(30000);
        write(sv[1], "y", 1);
        _exit(0);
    }
    FD_ZERO(&r);
    FD_SET(sv[0], &r);
    n = select(sv[0] + 1, &r, NULL, NULL, NULL);
    printf("woken: %d readable %s\n", n, yesno(FD_ISSET(sv[0], &r)));
    reap(ch, "writer");
    /* The peer goes away: readable (EOF). */
    read(sv[0], &c, 1);
    close(sv[1]);
    FD_ZERO(&r);
    FD_SET(sv[0], &r);
    tv.tv_sec = 1;
    tv.tv_usec = 0;
    n = select(sv[0] + 1, &r, NULL, NULL, &tv);
    printf("peer closed: %d readable %s\n", n, yesno(FD_ISSET(sv[0], &r)));
    FD_ZERO(&r);
    FD_SET(sv[1], &r);
    printf("closed descriptor: %s\n", res(select(sv[1] + 1, &r, NULL, NULL, &tv)));
    printf("nfds -1: %s\n", res(select(-1, NULL, NULL, NULL, &tv)));
    struct timeval bad = {0, -1};
    printf("negative timeout: %s\n", res(select(0, NULL, NULL, NULL, &bad)));
    struct timespec ts = {0, 10000000};
    sigset_t none;
    sigemptyset(&none);
    printf("pselect timeout: %d\n", pselect(0, NULL, NULL, NULL, &ts, &none));
    close(sv[0]);
}

/* ------------------------------------------------------------------ opts -- */

static void opts(void)
{
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("SO_SNDBUF %d SO_RCVBUF %d\n", sockopt_int(s, SOL_SOCKET, SO_SNDBUF), sockopt_int(s, SOL_SOCKET, SO_RCVBUF));
    int v = 10000;
    setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    printf("after 10000: SO_SNDBUF %d SO_RCVBUF %d\n", sockopt_int(s, SOL_SOCKET, SO_SNDBUF),
           sockopt_int(s, SOL_SOCKET, SO_RCVBUF));
    v = 10;
    setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    printf("after 10: SO_SNDBUF %d SO_RCVBUF %d\n", sockopt_int(s, SOL_SOCKET, SO_SNDBUF),
           sockopt_int(s, SOL_SOCKET, SO_RCVBUF));
    v = 1;
    static const struct { int name; const char *text; } flags[] = {
        {SO_REUSEADDR, "SO_REUSEADDR"}, {SO_REUSEPORT, "SO_REUSEPORT"}, {SO_KEEPALIVE, "SO_KEEPALIVE"},
        {SO_BROADCAST, "SO_BROADCAST"}, {SO_OOBINLINE, "SO_OOBINLINE"},
    };
    for (unsigned i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        int before = sockopt_int(s, SOL_SOCKET, flags[i].name);
        int r = setsockopt(s, SOL_SOCKET, flags[i].name, &v, sizeof v);
        printf("%s: %d, set %s, now %d\n", flags[i].text, before, res(r), sockopt_int(s, SOL_SOCKET, flags[i].name));
    }
    struct linger lg = {1, 7}, lg2;
    socklen_t l = sizeof lg2;
    printf("SO_LINGER set: %s\n", res(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg)));
    getsockopt(s, SOL_SOCKET, SO_LINGER, &lg2, &l);
    printf("SO_LINGER: len %u on %d linger %d\n", (unsigned)l, lg2.l_onoff, lg2.l_linger);
    printf("SO_LINGER short: %s\n", res(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, 4)));
    struct timeval tv = {0, 100000}, tv2;
    l = sizeof tv2;
    getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv2, &l);
    printf("SO_RCVTIMEO default: %ld.%06ld\n", (long)tv2.tv_sec, (long)tv2.tv_usec);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    printf("SO_RCVTIMEO set: %s\n", res(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv)));
    l = sizeof tv2;
    getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv2, &l);
    printf("SO_RCVTIMEO: len %u %ld.%06ld\n", (unsigned)l, (long)tv2.tv_sec, (long)tv2.tv_usec);
    char buf[4];
    printf("read with a timeout: %s\n", res(read(sv[0], buf, sizeof buf)));
    struct timeval badtv = {0, 2000000};
    printf("SO_SNDTIMEO bad usec: %s\n", res(setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &badtv, sizeof badtv)));
    printf("SO_RCVTIMEO short: %s\n", res(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, 8)));
    printf("int option with 2 bytes: %s\n", res(setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, 2)));
    printf("unknown SOL_SOCKET option: %s\n", res(setsockopt(s, SOL_SOCKET, 9999, &v, sizeof v)));
    printf("get unknown SOL_SOCKET option: %s\n", res(sockopt_int(s, SOL_SOCKET, 9999)));
    printf("TCP_NODELAY on AF_UNIX: %s\n", res(setsockopt(s, IPPROTO_TCP, 1, &v, sizeof v)));
    printf("get TCP_NODELAY on AF_UNIX: %s\n", res(sockopt_int(s, IPPROTO_TCP, 1)));
    printf("set SO_TYPE: %s\n", res(setsockopt(s, SOL_SOCKET, SO_TYPE, &v, sizeof v)));
    /* A short length truncates the value. */
    unsigned char small[8] = {0xaa, 0xaa, 0xaa, 0xaa};
    l = 2;
    int r = getsockopt(s, SOL_SOCKET, SO_TYPE, small, &l);
    printf("getsockopt len 2: %s, len %u, bytes %02x %02x %02x\n", res(r), (unsigned)l, small[0], small[1], small[2]);
    l = (socklen_t)-1;
    printf("getsockopt len -1: %s\n", res(getsockopt(s, SOL_SOCKET, SO_TYPE, small, &l)));
    close(sv[0]);
    close(sv[1]);
    close(s);
}

/* ---------------------------------------------------------------- errors -- */

static void errors(void)
{
    int *volatile badp = (int *)8;
    printf("type 99: %s\n", res(socket(AF_UNIX, 99, 0)));
    printf("type with unknown flag: %s\n", res(socket(AF_UNIX, SOCK_STREAM | 0x100, 0)));
    printf("family 999: %s\n", res(socket(999, SOCK_STREAM, 0)));
    printf("family -1: %s\n", res(socket(-1, SOCK_STREAM, 0)));
    printf("AF_UNIX protocol 5: %s\n", res(socket(AF_UNIX, SOCK_STREAM, 5)));
    printf("AF_UNIX SOCK_RDM: %s\n", res(socket(AF_UNIX, SOCK_RDM, 0)));
    int sv[2];
    printf("socketpair AF_INET: %s\n", res(socketpair(AF_INET, SOCK_STREAM, 0, sv)));
    printf("socketpair bad pointer: %s\n", res(socketpair(AF_UNIX, SOCK_STREAM, 0, badp)));
    int p[2];
    pipe(p);
    char buf[8];
    printf("send on a pipe: %s\n", res(send(p[1], "x", 1, 0)));
    printf("recv on a pipe: %s\n", res(recv(p[0], buf, 1, 0)));
    printf("getsockname on a pipe: %s\n", res(getsockname(p[0], NULL, NULL)));
    close(p[0]);
    close(p[1]);
    printf("bind on fd 999: %s\n", res(bind(999, NULL, 0)));
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX, .sun_path = "/tmp/x"};
    printf("bind addrlen 1: %s\n", res(bind(s, (struct sockaddr *)&a, 1)));
    printf("bind addrlen 200: %s\n", res(bind(s, (struct sockaddr *)&a, 200)));
    printf("bind addrlen 111: %s\n", res(bind(s, (struct sockaddr *)&a, 111)));
    struct sockaddr_un inet = a;
    inet.sun_family = AF_INET;
    printf("bind AF_INET address: %s\n", res(bind(s, (struct sockaddr *)&inet, sizeof inet)));
    printf("bind bad pointer: %s\n", res(bind(s, (struct sockaddr *)8, sizeof a)));
    printf("connect addrlen 2: %s\n", res(connect(s, (struct sockaddr *)&a, 2)));
    printf("connect unknown family: %s\n", res(connect(s, (struct sockaddr *)&inet, sizeof inet)));
    printf("accept4 bad flags: %s\n", res(accept4(s, NULL, NULL, 0x1)));
    printf("accept unbound: %s\n", res(accept(s, NULL, NULL)));
    printf("shutdown how 3: %s\n", res(shutdown(s, 3)));
    printf("shutdown unconnected: %s\n", res(shutdown(s, SHUT_RDWR)));
    printf("recv unconnected stream: %s\n", res(recv(s, buf, 1, MSG_DONTWAIT)));
    printf("send unconnected stream: %s\n", res(send(s, "x", 1, MSG_NOSIGNAL)));
    printf("getpeername unconnected: %s\n", res(getpeername(s, (struct sockaddr *)&a, &(socklen_t){sizeof a})));
    socklen_t neg = (socklen_t)-1;
    printf("getsockname len -1: %s\n", res(getsockname(s, (struct sockaddr *)&a, &neg)));
    printf("getsockname bad len pointer: %s\n", res(getsockname(s, (struct sockaddr *)&a, (socklen_t *)8)));
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    printf("listen on dgram: %s\n", res(listen(d, 1)));
    printf("accept on dgram: %s\n", res(accept(d, NULL, NULL)));
    printf("dgram too big: %s\n", res(sendto(d, buf, 300000, 0, (struct sockaddr *)&a, sizeof a)));
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    printf("sendto with an address on a connected stream: %s\n",
           res(sendto(sv[0], "x", 1, 0, (struct sockaddr *)&a, sizeof a)));
    printf("send bad buffer: %s\n", res(send(sv[0], (void *)8, 1, 0)));
    struct msghdr mh = {0};
    mh.msg_iovlen = 2000;
    printf("sendmsg 2000 iovecs: %s\n", res(raw_sendmsg(sv[0], &mh, 0)));
    printf("sendmsg bad msghdr: %s\n", res(raw_sendmsg(sv[0], (struct msghdr *)8, 0)));
    printf("recvmsg MSG_CMSG_COMPAT: %s\n", res(recvmsg(sv[0], &mh, (int)0x80000000)));
    write(sv[1], "data", 4);
    printf("recv bad buffer: %s\n", res(recv(sv[0], (void *)8, 4, 0)));
    printf("data still there: %zd\n", recv(sv[0], buf, sizeof buf, MSG_DONTWAIT));
    close(sv[0]);
    close(sv[1]);
    close(d);
    close(s);
}

int main(int argc, char **argv)
{
    probe_init();
    mkdirs();
    static const struct probe_section sections[] = {
        {"pair", pair},         {"stream", stream}, {"dgram", dgram},   {"seqpacket", seqpacket},
        {"path", path},         {"abstract_names", abstract}, {"rights", rights}, {"creds", creds},
        {"mmsg", mmsg},         {"epoll", epoll_section}, {"select", select_section}, {"opts", opts}, {"errors", errors},
        {NULL, NULL},
    };
    int r = run_sections(argc, argv, sections);
    cleanup();
    if (r == 0)
        printf("== done\n");
    return r;
}
